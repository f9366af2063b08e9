//! A participant's place in a session. The table exists so that rosters
//! decide what a trainer may see; enrolling itself comes with its own API.

use crate::text_enum::text_enum;

text_enum! {
    pub enum EnrolmentStatus {
        Enrolled => "enrolled",
        Waitlisted => "waitlisted",
        Cancelled => "cancelled",
    }
}
