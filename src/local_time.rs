//! Times as the people taking part read them. Times are stored in UTC; days
//! (a session's day, a report's date range) and the times in exported files
//! are in the configured zone (`LOPHOC_TIMEZONE`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

/// Today in `zone`.
pub fn today(zone: Tz) -> NaiveDate {
    chrono::Utc::now().with_timezone(&zone).date_naive()
}

/// The day a stored (UTC) time falls on in `zone`.
pub fn local_day(at: NaiveDateTime, zone: Tz) -> NaiveDate {
    at.and_utc().with_timezone(&zone).date_naive()
}

/// A stored (UTC) time as the wall clock in `zone` shows it.
pub fn wall_clock(at: NaiveDateTime, zone: Tz) -> NaiveDateTime {
    at.and_utc().with_timezone(&zone).naive_local()
}

/// A stored (UTC) time in RFC 3339 with `zone`'s offset at that moment.
pub fn with_offset(at: NaiveDateTime, zone: Tz) -> DateTime<FixedOffset> {
    at.and_utc().with_timezone(&zone).fixed_offset()
}

/// A wall-clock time in `zone` as stored (UTC). A time that the clock
/// shows twice (when it is set back) is taken at its first; one that it
/// skips (when it is set forward) an hour later, when the clock shows it.
pub fn to_stored(wall_clock: NaiveDateTime, zone: Tz) -> NaiveDateTime {
    use chrono::TimeZone;
    let at = |wall: NaiveDateTime| zone.from_local_datetime(&wall).earliest();
    at(wall_clock)
        .or_else(|| at(wall_clock + chrono::Duration::hours(1)))
        .map_or(wall_clock, |at| at.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_early_morning_class_in_viet_nam_is_on_the_local_day() {
        let zone = chrono_tz::Asia::Ho_Chi_Minh;
        // 23:30 UTC on 1 October is 06:30 on 2 October in Viet Nam.
        let at = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap().and_hms_opt(23, 30, 0).unwrap();
        assert_eq!(local_day(at, zone), NaiveDate::from_ymd_opt(2023, 10, 2).unwrap());
        assert_eq!(wall_clock(at, zone).to_string(), "2023-10-02 06:30:00");
        assert_eq!(with_offset(at, zone).to_rfc3339(), "2023-10-02T06:30:00+07:00");
        assert_eq!(to_stored(wall_clock(at, zone), zone), at);
    }
}
