//! Who people are to the centre: the role of an account, the audience a
//! participant belongs to, and their gender.

use super::text_enum::text_enum;
use crate::db;

text_enum! {
    /// What an account may do; see PRODUCT.md, "People and roles".
    pub enum Role {
        Admin => "admin",
        Coordinator => "coordinator",
        Trainer => "trainer",
        Participant => "participant",
    }
}

text_enum! {
    /// The audiences of the commune's plan.
    pub enum Category {
        Student => "student",
        Learner => "learner",
        Parent => "parent",
        Official => "official",
        Worker => "worker",
        Other => "other",
    }
}

impl Category {
    /// A set of categories as stored: one per line, in canonical order.
    pub fn join(categories: &[Category]) -> String {
        let set: Vec<&str> = Self::ALL
            .iter()
            .copied()
            .filter(|c| categories.iter().any(|x| x.as_str() == *c))
            .collect();
        db::join_lines(&set)
    }

    /// The categories of a set stored by [`Category::join`].
    pub fn split(text: &str) -> Vec<Category> {
        db::split_lines(text).into_iter().filter_map(Self::parse).collect()
    }
}

text_enum! {
    /// How a guardian gave consent to processing a child's data: a signed
    /// paper form, a text message, or in the app from their own account.
    pub enum ConsentMethod {
        Paper => "paper",
        Sms => "sms",
        InApp => "in_app",
    }
}

text_enum! {
    pub enum Gender {
        Female => "female",
        Male => "male",
        Other => "other",
        Unspecified => "unspecified",
    }
}
