//! iCalendar files (RFC 5545): the sessions a person attends or teaches,
//! for the calendar on their phone to subscribe to.

use chrono::NaiveDateTime;

/// One session, as a calendar shows it.
pub struct Event<'a> {
    /// Stable across changes, so that a calendar updates the event in
    /// place instead of adding another.
    pub uid: String,
    /// When the session last changed. With no `METHOD` in the calendar,
    /// RFC 5545 reads `DTSTAMP` as that: which version of the event is
    /// newer.
    pub changed_at: NaiveDateTime,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub summary: &'a str,
    pub location: &'a str,
    pub status: EventStatus,
}

/// Whether an event takes place (RFC 5545 §3.8.1.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    Confirmed,
    /// Not sure yet: the person waits for a seat.
    Tentative,
    Cancelled,
}

impl EventStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Tentative => "TENTATIVE",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// A calendar of `events`, named `name`: UTF-8 text with CRLF line ends and
/// lines folded at 75 octets, as RFC 5545 asks.
pub fn calendar(name: &str, events: &[Event]) -> String {
    let mut out = String::new();
    for (property, value) in [
        ("BEGIN", "VCALENDAR"),
        ("VERSION", "2.0"),
        ("PRODID", "-//lophoc//lophoc//VI"),
        ("CALSCALE", "GREGORIAN"),
    ] {
        line(&mut out, property, value);
    }
    line(&mut out, "X-WR-CALNAME", &text(name));
    for event in events {
        line(&mut out, "BEGIN", "VEVENT");
        line(&mut out, "UID", &text(&event.uid));
        line(&mut out, "DTSTAMP", &utc(event.changed_at));
        line(&mut out, "LAST-MODIFIED", &utc(event.changed_at));
        line(&mut out, "DTSTART", &utc(event.starts_at));
        line(&mut out, "DTEND", &utc(event.ends_at));
        line(&mut out, "SUMMARY", &text(event.summary));
        line(&mut out, "LOCATION", &text(event.location));
        line(&mut out, "STATUS", event.status.as_str());
        line(&mut out, "END", "VEVENT");
    }
    line(&mut out, "END", "VCALENDAR");
    out
}

/// A time in UTC, in the form `19980119T070000Z`.
fn utc(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value: backslashes, commas, semicolons and line breaks escaped;
/// other control characters dropped, as no property may hold them.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | ',' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `NAME:value` and CRLF, folded so that no line passes 75 octets: each
/// further line starts with a space, and no character is split.
fn line(out: &mut String, name: &str, value: &str) {
    const MOST: usize = 75;
    let content = format!("{name}:{value}");
    let mut width = 0;
    for c in content.chars() {
        if width + c.len_utf8() > MOST {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn events_fold_long_vietnamese_lines_and_escape_text() {
        let long = "Tìm kiếm, đánh giá; và sử dụng thông tin trên mạng an toàn ".repeat(3);
        let events = [Event {
            uid: "s-1@lophoc".into(),
            changed_at: at("2023-09-20 10:00"),
            starts_at: at("2023-10-02 01:00"),
            ends_at: at("2023-10-02 02:30"),
            summary: &long,
            location: "Nhà văn hoá xóm Đông\nTầng 2",
            status: EventStatus::Cancelled,
        }];
        let ics = calendar("Lịch học", &events);
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        for physical in ics.split("\r\n") {
            assert!(physical.len() <= 75, "{physical:?}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("DTSTART:20231002T010000Z\r\n"));
        assert!(unfolded.contains("STATUS:CANCELLED\r\n"));
        assert!(unfolded.contains("LOCATION:Nhà văn hoá xóm Đông\\nTầng 2\r\n"));
        assert!(unfolded.contains("SUMMARY:Tìm kiếm\\, đánh giá\\; và"));
        assert_eq!(ics.matches('\n').count(), ics.matches("\r\n").count(), "CRLF only");
    }
}
