//! Field checks shared by every request type. A request is checked whole and
//! all its problems are reported at once, as `422` with one entry per field.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};

use crate::error::{AppError, FieldIssue, InvalidField};

/// The longest name (of a person or a unit) accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// A phone number, spaces and signs included.
pub const MAX_PHONE_CHARS: usize = 20;

/// The longest free text (a theme, a summary) accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Dates and times of classes, programmes and windows fall in these years;
/// anything else is a typing mistake (and some are beyond what
/// PostgreSQL's DATE and TIMESTAMP hold).
const PLANNING_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A day that a filter names, brought into [`PLANNING_YEARS`]: nothing is
/// stored outside them, so a filter beyond their edge selects what one at
/// the edge does, and no database is asked about a year it cannot hold.
pub fn filter_date(date: NaiveDate) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(*PLANNING_YEARS.start(), 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(*PLANNING_YEARS.end(), 12, 31).unwrap_or(NaiveDate::MAX);
    date.clamp(first, last)
}

/// A time that a filter names, as [`filter_date`] brings a day, as stored.
pub fn filter_time(time: DateTime<Utc>) -> NaiveDateTime {
    let day = time.date_naive();
    let kept = filter_date(day);
    match kept.cmp(&day) {
        std::cmp::Ordering::Equal => time.naive_utc().trunc_subsecs(6),
        std::cmp::Ordering::Greater => kept.and_time(chrono::NaiveTime::MIN),
        std::cmp::Ordering::Less => kept.and_hms_micro_opt(23, 59, 59, 999_999).unwrap_or_default(),
    }
}

#[derive(Default)]
pub struct Validator {
    problems: Vec<InvalidField>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, issue: FieldIssue) {
        self.problems.push(InvalidField::new(field, issue));
    }

    /// Trims `value` and checks it is present, at most `max` characters
    /// and on one line.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        self.checked_text(field, value, max, char::is_control)
    }

    /// A person's name: [`Self::text`] of at most [`MAX_NAME_CHARS`], with
    /// at least one letter that shows, so that a roster never shows a
    /// blank line.
    pub fn name(&mut self, field: &str, value: &str) -> String {
        let problems = self.problems.len();
        let name = self.text(field, value, MAX_NAME_CHARS);
        if self.problems.len() == problems && !name.chars().any(is_visible_letter) {
            self.add(field, FieldIssue::NoLetter);
        }
        name
    }

    /// An optional phone number, at most [`MAX_PHONE_CHARS`]. A number has
    /// no direction: the marks that phones wrap a copied number in
    /// (U+202A … U+202C) are dropped rather than refused.
    pub fn phone(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let value = value.map(without_direction_controls);
        self.optional_text(field, value.as_deref(), MAX_PHONE_CHARS)
    }

    /// Like [`Self::optional_text`] for free text that may run over several
    /// lines (a summary, a theme): line breaks and tabs are allowed.
    pub fn optional_paragraphs(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        let forbidden = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
        Some(self.checked_text(field, value, max, forbidden))
    }

    fn checked_text(
        &mut self,
        field: &str,
        value: &str,
        max: usize,
        forbidden: impl Fn(char) -> bool,
    ) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.add(field, FieldIssue::Blank);
        } else if value.chars().count() > max {
            self.add(field, FieldIssue::TooLong { max });
        } else if value.chars().any(forbidden) {
            // NUL in particular: PostgreSQL cannot store it in TEXT.
            self.add(field, FieldIssue::ControlCharacters);
        } else if value.chars().any(is_direction_control) {
            self.add(field, FieldIssue::DirectionControls);
        }
        value.to_owned()
    }

    /// Like [`Self::text`] for an optional field; blank counts as absent.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        Some(self.text(field, value, max))
    }

    /// Lower-cases and checks an email address; the stored form is this one.
    pub fn email(&mut self, field: &str, value: &str) -> String {
        let email = normalize_email(value);
        if !is_plausible_email(&email) {
            self.add(field, FieldIssue::InvalidEmail);
        }
        email
    }

    /// Checks that a date falls in [`PLANNING_YEARS`].
    pub fn planning_date(&mut self, field: &str, date: NaiveDate) -> NaiveDate {
        use chrono::Datelike;
        if !PLANNING_YEARS.contains(&date.year()) {
            self.add(field, FieldIssue::OutsidePlanningYears);
        }
        date
    }

    /// Checks that a time falls in [`PLANNING_YEARS`] and gives it as
    /// stored: UTC, to the microsecond.
    pub fn planning_time(&mut self, field: &str, time: DateTime<Utc>) -> NaiveDateTime {
        self.planning_date(field, time.date_naive());
        time.naive_utc().trunc_subsecs(6)
    }

    /// Checks that a list holds from 1 to `max` items.
    pub fn count(&mut self, field: &str, len: usize, max: usize) {
        if len == 0 || len > max {
            self.add(field, FieldIssue::Range { min: 1, max: max as i64 });
        }
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The problems found, for answers that list them per item (a row of
    /// an imported list) instead of refusing the request.
    pub fn into_problems(self) -> Vec<InvalidField> {
        self.problems
    }

    /// Like [`Self::finish`] for query parameters: 400, not 422.
    pub fn finish_params(self) -> Result<(), AppError> {
        if self.problems.is_empty() { Ok(()) } else { Err(AppError::BadParameter(self.problems)) }
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.problems.is_empty() { Ok(()) } else { Err(AppError::Validation(self.problems)) }
    }
}

/// The stored form of an email address: trimmed and lower-cased, so that
/// one address is one account whatever its spelling.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A deliberately loose check: one `@`, something before it, a dotted domain
/// after it, no spaces or control characters, at most 254 characters.
/// Deliverability is not ours to judge.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The characters that set or override the direction of text (Unicode's
/// Bidi_Control: embeddings, overrides, isolates and marks). Names and
/// titles in Vietnamese or English read correctly without them.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` without direction controls: for values that have no direction
/// (a phone number) or that must not be refused for them (what a device
/// recorded offline, which it cannot take back).
pub fn without_direction_controls(text: &str) -> String {
    text.chars().filter(|&c| !is_direction_control(c)).collect()
}

/// A letter that shows: Unicode counts the Hangul fillers as letters, but
/// they show as nothing.
fn is_visible_letter(c: char) -> bool {
    c.is_alphabetic() && !matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["a@b.vn", "nguyen.van.a@truonghoc.edu.vn"] {
            assert!(is_plausible_email(good), "{good}");
        }
        for bad in ["", "a", "a@b", "@b.vn", "a@.vn", "a@b.", "a b@c.vn", "a@b@c.vn", "a\0@b.vn"] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        let mut v = Validator::new();
        assert_eq!(v.text("name", "  Lan  ", 10), "Lan");
        assert!(!v.has_problems());
        v.text("name", "   ", 10);
        v.text("other", "Nguyễn Thị Lan", 5);
        v.text("third", "Lan\u{0}", 10);
        let Err(AppError::Validation(problems)) = v.finish() else { panic!("expected 422") };
        assert_eq!(problems[0], InvalidField::new("name", FieldIssue::Blank));
        assert_eq!(problems[1], InvalidField::new("other", FieldIssue::TooLong { max: 5 }));
        assert_eq!(problems[2], InvalidField::new("third", FieldIssue::ControlCharacters));
    }

    #[test]
    fn text_never_changes_direction_and_names_have_a_letter() {
        let mut v = Validator::new();
        assert_eq!(v.name("full_name", " Nguyễn Thị Lan "), "Nguyễn Thị Lan");
        assert_eq!(v.name("full_name", "محمد"), "محمد");
        assert!(!v.has_problems());
        v.name("a", "\u{200B}\u{200B}");
        v.name("b", "1234 -");
        v.name("c", "\u{202E}evil\u{202C} txt.exe");
        v.text("d", "Lớp \u{2067}A\u{2069}", 20);
        v.optional_paragraphs("e", Some("Một\u{200F}"), 20);
        v.name("f", "   ");
        v.name("g", "\u{3164}");
        assert_eq!(
            v.phone("phone", Some("\u{202A}+84 912 345 678\u{202C}")).as_deref(),
            Some("+84 912 345 678")
        );
        let Err(AppError::Validation(problems)) = v.finish() else { panic!("expected 422") };
        let issues: Vec<InvalidField> = vec![
            InvalidField::new("a", FieldIssue::NoLetter),
            InvalidField::new("b", FieldIssue::NoLetter),
            InvalidField::new("c", FieldIssue::DirectionControls),
            InvalidField::new("d", FieldIssue::DirectionControls),
            InvalidField::new("e", FieldIssue::DirectionControls),
            InvalidField::new("f", FieldIssue::Blank),
            InvalidField::new("g", FieldIssue::NoLetter),
        ];
        assert_eq!(problems, issues, "one problem per field");
    }

    #[test]
    fn paragraphs_keep_line_breaks_but_no_other_control_characters() {
        let mut v = Validator::new();
        let text = v.optional_paragraphs("summary", Some(" Một.\nHai.\t "), 20);
        assert_eq!(text.as_deref(), Some("Một.\nHai."));
        assert_eq!(v.optional_paragraphs("summary", Some("  "), 20), None);
        assert!(!v.has_problems());
        v.optional_paragraphs("summary", Some("a\u{0}b"), 20);
        assert!(v.has_problems());
    }
}
