//! `Id`: how every resource is named. A UUIDv7 in Rust, so that ids are
//! checked once, where they come in, and copied freely; a `uuid` string in
//! JSON and in the OpenAPI document (`build.rs` tells utoipa so); TEXT in
//! the database, in the canonical lower-case spelling, which sorts by
//! creation time as text on both backends: lists page by id.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Id(Uuid);

// No `Default`: an id that differs at each call is no default value.
#[allow(clippy::new_without_default)]
impl Id {
    /// A new id, later in order than every id made before it.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// The id's last 32 bits: in a UUIDv7, random ones.
    pub fn low_bits(&self) -> u32 {
        self.0.as_u128() as u32
    }
}

impl From<Uuid> for Id {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Id {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, uuid::Error> {
        Uuid::parse_str(text).map(Self)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Handed over whole, not through `Display`, which a JSON writer
        // receives in pieces and checks each for what to escape.
        serializer.serialize_str(self.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Uuid::deserialize(deserializer).map(Self)
    }
}

impl<DB> FromSql<Text, DB> for Id
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        Ok(text.parse()?)
    }
}

// One implementation per backend: the connection enum's own (in `db`)
// hands each value to the backend in use.
impl ToSql<Text, Pg> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        write!(out, "{self}")?;
        Ok(IsNull::No)
    }
}

impl ToSql<Text, Sqlite> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_string());
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelt_canonically_and_ordered_by_creation() {
        let first = Id::new();
        let second = Id::new();
        assert!(first.to_string() < second.to_string());
        let upper: Id = first.to_string().to_uppercase().parse().unwrap();
        assert_eq!(upper.to_string(), first.to_string());
        let json = serde_json::to_value(first).unwrap();
        assert_eq!(json, first.to_string());
        assert_eq!(serde_json::from_value::<Id>(json).unwrap(), first);
        assert!("not-an-id".parse::<Id>().is_err());
    }
}
