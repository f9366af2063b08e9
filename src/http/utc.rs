//! Times in JSON answers, written whole. chrono writes a `DateTime<Utc>` a
//! character at a time through `Display`, and serde_json checks each
//! character for what to escape: a page of fifty people carries 150 times,
//! a third of the work of answering it (callgrind). These write exactly
//! what chrono writes (RFC 3339 with `Z`, and as many fractional digits as
//! the value needs: none, 3, 6 or 9) into a buffer, then hand it over at
//! once. Fields opt in with `#[serde(serialize_with = "utc")]`. Dates
//! (`YYYY-MM-DD`, a birth date on each profile) go the same way: chrono
//! writes them through `Debug`, one escaped character at a time.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::Serializer;

/// `serialize_with` for a `DateTime<Utc>`.
pub fn utc<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut text = Text::default();
    match text.write(at) {
        Some(written) => serializer.serialize_str(written),
        // Beyond four-digit years, or a leap second: chrono's own spelling.
        None => serde::Serialize::serialize(at, serializer),
    }
}

/// `serialize_with` for an `Option<DateTime<Utc>>` (`null` when absent).
pub fn utc_or_null<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => utc(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// `serialize_with` for a date that is shown or not, and may be unknown:
/// `Option<Option<NaiveDate>>`, the outer `None` skipped by
/// `skip_serializing_if`, the inner one `null`.
pub fn date_or_null<S: Serializer>(
    date: &Option<Option<NaiveDate>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let Some(Some(date)) = date else {
        return serializer.serialize_none();
    };
    let mut text = Text::default();
    match text.date(date) {
        Some(()) => serializer.serialize_str(text.as_str()),
        // Beyond four-digit years: chrono's own spelling.
        None => serde::Serialize::serialize(date, serializer),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` at its longest.
#[derive(Default)]
struct Text {
    bytes: [u8; 30],
    len: usize,
}

impl Text {
    fn write(&mut self, at: &DateTime<Utc>) -> Option<&str> {
        let nanos = at.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        self.date(&at.date_naive())?;
        self.byte(b'T');
        self.digits(at.hour(), 2);
        self.byte(b':');
        self.digits(at.minute(), 2);
        self.byte(b':');
        self.digits(at.second(), 2);
        let (fraction, width) = match nanos {
            0 => (0, 0),
            n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
            n if n % 1_000 == 0 => (n / 1_000, 6),
            n => (n, 9),
        };
        if width > 0 {
            self.byte(b'.');
            self.digits(fraction, width);
        }
        self.byte(b'Z');
        Some(self.as_str())
    }

    /// `YYYY-MM-DD`, for years of four digits.
    fn date(&mut self, date: &NaiveDate) -> Option<()> {
        if !(0..=9999).contains(&date.year()) {
            return None;
        }
        self.digits(date.year().unsigned_abs(), 4);
        self.byte(b'-');
        self.digits(date.month(), 2);
        self.byte(b'-');
        self.digits(date.day(), 2);
        Some(())
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).expect("ASCII")
    }

    fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value` in exactly `width` decimal digits (it has no more).
    fn digits(&mut self, mut value: u32, width: usize) {
        for slot in self.bytes[self.len..self.len + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeDelta};
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Ours(#[serde(serialize_with = "utc")] DateTime<Utc>);

    #[derive(Serialize)]
    struct OursOrNull(#[serde(serialize_with = "utc_or_null")] Option<DateTime<Utc>>);

    fn at(year: i32, nanos: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(year, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, nanos)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn written_exactly_as_chrono_writes_them() {
        let mut cases = vec![
            at(2026, 0),
            at(2026, 5_000_000),
            at(2026, 123_456_000),
            at(2026, 123_456_789),
            at(2026, 1),
            at(1, 999_999_999),
            at(9999, 100),
            // Beyond what four digits hold, and a leap second: chrono's way.
            at(10_000, 0),
            at(2026, 1_500_000_000),
        ];
        // A spread of ordinary times, with every width of fraction.
        let mut next = at(1990, 0);
        for step in 1..500_i64 {
            next += TimeDelta::nanoseconds(step * step * 7_919_000_003 + step * 1_000);
            cases.push(next);
            cases.push(next.with_nanosecond(next.nanosecond() / 1_000 * 1_000).unwrap());
            cases.push(next.with_nanosecond(next.nanosecond() / 1_000_000 * 1_000_000).unwrap());
        }
        for case in cases {
            let chrono = serde_json::to_string(&case).unwrap();
            assert_eq!(serde_json::to_string(&Ours(case)).unwrap(), chrono);
            assert_eq!(serde_json::to_string(&OursOrNull(Some(case))).unwrap(), chrono);
        }
        assert_eq!(serde_json::to_string(&OursOrNull(None)).unwrap(), "null");
    }

    #[derive(Serialize)]
    struct Birth(#[serde(serialize_with = "date_or_null")] Option<Option<NaiveDate>>);

    #[test]
    fn dates_written_exactly_as_chrono_writes_them() {
        let mut day = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        let mut cases = vec![NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()];
        while day.year() < 9999 {
            cases.push(day);
            day += TimeDelta::days(997);
        }
        // Beyond four digits, and before year 0: chrono's way.
        cases.push(NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap());
        cases.push(NaiveDate::from_ymd_opt(-1, 6, 30).unwrap());
        for case in cases {
            let chrono = serde_json::to_string(&case).unwrap();
            assert_eq!(serde_json::to_string(&Birth(Some(Some(case)))).unwrap(), chrono);
        }
        assert_eq!(serde_json::to_string(&Birth(Some(None))).unwrap(), "null");
    }
}
