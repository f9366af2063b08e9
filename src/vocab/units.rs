//! The kinds of unit people belong to (schools, hamlets, agencies, …).

use super::text_enum::text_enum;

text_enum! {
    pub enum OrganizationKind {
        School => "school",
        Hamlet => "hamlet",
        Agency => "agency",
        Association => "association",
        Enterprise => "enterprise",
        Other => "other",
    }
}
