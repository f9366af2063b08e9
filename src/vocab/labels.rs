//! The words people read in files: each code of a closed set (a category,
//! a gender, a status) as an official writes it, in English and in
//! Vietnamese. Files show these words, never the codes that the JSON API
//! carries; lists that people fill in are read back with the same words.

use crate::lang::Lang;
use crate::vocab::{AttendanceStatus, Category, EnrolmentSource, EnrolmentStatus, Gender};

/// A value with a name for people, in each language.
pub trait Label: Copy {
    fn label(self, lang: Lang) -> &'static str;
}

impl Label for Category {
    fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Student => lang.pick("Student", "Học sinh"),
            Self::Learner => lang.pick("Learner", "Người học"),
            Self::Parent => lang.pick("Parent", "Phụ huynh"),
            Self::Official => lang.pick("Official", "Cán bộ, công chức, viên chức"),
            Self::Worker => lang.pick("Worker", "Người lao động"),
            Self::Other => lang.pick("Other", "Khác"),
        }
    }
}

impl Label for Gender {
    fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Female => lang.pick("Female", "Nữ"),
            Self::Male => lang.pick("Male", "Nam"),
            Self::Other => lang.pick("Other", "Khác"),
            Self::Unspecified => lang.pick("Unspecified", "Không rõ"),
        }
    }
}

impl Label for EnrolmentStatus {
    fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Enrolled => lang.pick("Enrolled", "Đã ghi danh"),
            Self::Waitlisted => lang.pick("Waitlisted", "Danh sách chờ"),
            Self::Cancelled => lang.pick("Cancelled", "Đã hủy"),
        }
    }
}

impl Label for EnrolmentSource {
    fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::SelfService => lang.pick("Self", "Tự đăng ký"),
            Self::Coordinator => lang.pick("Coordinator", "Đầu mối đơn vị"),
            Self::Admin => lang.pick("Administrator", "Quản trị viên"),
            Self::WalkIn => lang.pick("Walk-in", "Đến trực tiếp"),
            Self::Import => lang.pick("Import", "Nhập từ danh sách"),
        }
    }
}

impl Label for AttendanceStatus {
    fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Present => lang.pick("Present", "Có mặt"),
            Self::Late => lang.pick("Late", "Đi muộn"),
            Self::Excused => lang.pick("Excused", "Vắng có phép"),
            Self::Absent => lang.pick("Absent", "Vắng không phép"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value has a word of its own in each language: a file never
    /// shows two values the same way within one column.
    #[test]
    fn words_tell_values_apart() {
        fn distinct<T: Label>(values: &[T]) {
            for lang in [Lang::En, Lang::Vi] {
                let mut words: Vec<&str> = values.iter().map(|v| v.label(lang)).collect();
                words.sort_unstable();
                words.dedup();
                assert_eq!(words.len(), values.len(), "{lang:?}");
            }
        }
        distinct(Category::VARIANTS);
        distinct(Gender::VARIANTS);
        distinct(EnrolmentStatus::VARIANTS);
        distinct(EnrolmentSource::VARIANTS);
        distinct(AttendanceStatus::VARIANTS);
    }

    #[test]
    fn the_product_words_are_used() {
        assert_eq!(Category::Official.label(Lang::Vi), "Cán bộ, công chức, viên chức");
        assert_eq!(Gender::Unspecified.label(Lang::Vi), "Không rõ");
        assert_eq!(AttendanceStatus::Absent.label(Lang::Vi), "Vắng không phép");
        assert_eq!(EnrolmentStatus::Waitlisted.label(Lang::Vi), "Danh sách chờ");
    }
}
