//! Closed sets of values (roles, categories, kinds) that travel as lowercase
//! strings in JSON and are stored as TEXT on both backends.

/// Declares an enum with its wire/database spelling for each variant, serde
/// and OpenAPI derives, and diesel conversions from and to TEXT.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::deserialize::FromSqlRow, diesel::expression::AsExpression,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        // Per-variant `rename = $text` would be lost on utoipa (it does not
        // see literals passed through a macro); `spelling_is_consistent`
        // checks that snake_case gives exactly the spellings listed.
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        $crate::vocab::text_enum::text_conversions!($name { $($variant => $text),+ });
    };
}

/// The spellings and diesel conversions of an enum declared by hand: for a
/// spelling that cannot be a variant's snake_case name (`self`), written
/// with `#[serde(rename)]` on the enum itself, where utoipa sees it.
macro_rules! text_conversions {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every spelling, for error messages.
            pub const ALL: &'static [&'static str] = &[$($text),+];
            pub const VARIANTS: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        // Generic over the backend: MultiConnection dispatches each value to
        // the SQLite or PostgreSQL implementation, so both must exist.
        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Self::parse(&text)
                    .ok_or_else(|| format!("unknown {} {text:?}", stringify!($name)).into())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }
    };
}

pub(crate) use {text_conversions, text_enum};

#[cfg(test)]
mod tests {
    use crate::reports::stats::GroupKey;
    use crate::vocab::{
        AttendanceStatus, Category, EnrolmentSource, EnrolmentStatus, Gender, MarkSource,
        OrganizationKind, Role, SessionStatus,
    };

    macro_rules! assert_consistent {
        ($($name:ty),+) => {$(
            for variant in <$name>::VARIANTS {
                let json = serde_json::to_value(variant).unwrap();
                assert_eq!(json, variant.as_str(), "{}", stringify!($name));
                assert_eq!(<$name>::parse(variant.as_str()), Some(*variant));
            }
            assert_eq!(<$name>::VARIANTS.len(), <$name>::ALL.len());
        )+};
    }

    #[test]
    fn spelling_is_consistent() {
        assert_consistent!(Role, OrganizationKind, Category, Gender, GroupKey);
        assert_consistent!(SessionStatus, EnrolmentStatus, AttendanceStatus, MarkSource);
        // Declared by hand, for its `self`.
        assert_consistent!(EnrolmentSource);
    }
}
