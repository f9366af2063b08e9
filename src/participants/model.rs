use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::participants;
use crate::db::{self, DbConnection};
use crate::error::FieldIssue;
use crate::text_enum::text_enum;
use crate::validation::Validator;

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

text_enum! {
    pub enum Gender {
        Female => "female",
        Male => "male",
        Other => "other",
        Unspecified => "unspecified",
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = participants, treat_none_as_default_value = false)]
pub struct NewParticipant {
    pub id: String,
    pub full_name: String,
    pub category: Category,
    pub organization_id: Option<String>,
    pub gender: Gender,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub guardian_id: Option<String>,
    pub user_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The personal fields of a profile as a client sends them.
#[derive(Debug)]
pub struct ProfileFields {
    pub full_name: String,
    pub category: Category,
    pub organization_id: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub const MAX_PHONE_CHARS: usize = 20;

/// Earlier dates are typing mistakes (and some are beyond what PostgreSQL's
/// DATE holds).
const EARLIEST_BIRTH_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();

impl ProfileFields {
    /// The rules on a profile's own fields: students need a birth date
    /// (the guardian rule for minors depends on it), from 1900 to today; a phone number is digits, spaces, dots and dashes with an
    /// optional leading `+` (its length is checked where it is read, with
    /// [`MAX_PHONE_CHARS`]).
    pub fn check(&self, v: &mut Validator) {
        match self.birth_date {
            None if self.category == Category::Student => v.add("birth_date", FieldIssue::Required),
            Some(date) if date < EARLIEST_BIRTH_DATE || date > latest_birth_date() => {
                v.add("birth_date", FieldIssue::BirthDateOutOfRange)
            }
            _ => {}
        }
        if let Some(phone) = &self.phone {
            let digits = phone.strip_prefix('+').unwrap_or(phone);
            let plausible = digits.chars().any(|c| c.is_ascii_digit())
                && digits.chars().all(|c| c.is_ascii_digit() || " .-".contains(c));
            if !plausible {
                v.add("phone", FieldIssue::NotPhoneNumber);
            }
        }
    }

    pub fn into_new(self, user_id: Option<String>, created_by: Option<String>) -> NewParticipant {
        let now = db::now();
        NewParticipant {
            id: db::new_id(),
            full_name: self.full_name,
            category: self.category,
            organization_id: self.organization_id,
            gender: self.gender.unwrap_or(Gender::Unspecified),
            birth_date: self.birth_date,
            phone: self.phone,
            email: self.email,
            guardian_id: None,
            user_id,
            created_by,
            created_at: now,
            updated_at: now,
        }
    }
}

pub fn insert(conn: &mut DbConnection, new: &NewParticipant) -> QueryResult<()> {
    diesel::insert_into(participants::table).values(new).execute(conn).map(drop)
}

/// The latest birth date accepted: tomorrow in UTC, so that a child born
/// today in any time zone (Viet Nam is UTC+7) is not refused.
fn latest_birth_date() -> NaiveDate {
    let today = chrono::Utc::now().date_naive();
    today.succ_opt().unwrap_or(today)
}
