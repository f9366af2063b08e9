//! The emails an event makes, in Vietnamese: to each person it concerns,
//! at their own address or else their guardian's. Written when the event
//! is fanned out, from the database as it is then.
//!
//! Which events write to whom:
//! - `enrolment.created`, `.waitlisted`, `.promoted`: the person, but for
//!   a walk-in, whose place is marked as it is made;
//! - `enrolment.cancelled`: the person; when the session itself was
//!   cancelled, the letter says so (`session.cancelled` writes none, so
//!   that nobody gets two); none when they still hold a place in it (a
//!   twin place cancelled as two profiles merged);
//! - `session.changed`: everyone enrolled or waiting;
//! - `session.reminder`: everyone enrolled (a reminder taken after its
//!   session started is dropped before it gets here: see
//!   `OutboxEvent::is_late_reminder`);
//! - `attendance.marked`: nobody (it is for other systems).

use chrono::{Datelike, NaiveDateTime, Weekday};
use chrono_tz::Tz;
use diesel::QueryResult;

use super::model::{self, Addressee, Letter};
use crate::db::DbConnection;
use crate::local_time::wall_clock;
use crate::outbox::model::{EventData, EventType, PlaceData, SessionData, SessionPlan};
use crate::vocab::{EnrolmentStatus, SessionStatus};

/// The letters `kind` with `data` makes.
pub fn letters(
    conn: &mut DbConnection,
    kind: EventType,
    data: &EventData,
    zone: Tz,
) -> QueryResult<Vec<Letter>> {
    match data {
        EventData::Place(place) => place_letter(conn, kind, place, zone),
        EventData::Session(session) => session_letters(conn, kind, session, zone),
        EventData::Mark(_) => Ok(Vec::new()),
    }
}

fn place_letter(
    conn: &mut DbConnection,
    kind: EventType,
    place: &PlaceData,
    zone: Tz,
) -> QueryResult<Vec<Letter>> {
    let Some(session) = model::session_note(conn, place.session_id)? else {
        return Ok(Vec::new());
    };
    let Some(to) = model::addressee(conn, place.participant_id)? else {
        return Ok(Vec::new());
    };
    let needless = match kind {
        // Two profiles of one person merged: the place cancelled was a twin
        // of the one they keep.
        EventType::EnrolmentCancelled => {
            model::holds_place(conn, place.session_id, place.participant_id)?
        }
        // A walk-in, given their place (or moved up) in the hall: they know.
        EventType::EnrolmentCreated | EventType::EnrolmentPromoted => {
            model::is_marked(conn, place.enrolment_id)?
        }
        _ => false,
    };
    if needless {
        return Ok(Vec::new());
    }
    let course = &session.course_title;
    let name = &to.name;
    let (subject, lead) = match kind {
        EventType::EnrolmentCreated => (
            format!("Đã ghi danh: {course}"),
            format!("{name} đã được ghi danh vào buổi học “{course}”."),
        ),
        EventType::EnrolmentWaitlisted => (
            format!("Đang trong danh sách chờ: {course}"),
            format!(
                "Buổi học “{course}” đã đủ chỗ. {name} đang ở vị trí số {} trong danh sách chờ; \
                 chúng tôi sẽ báo ngay khi có chỗ.",
                place.waitlist_position.unwrap_or(1)
            ),
        ),
        EventType::EnrolmentPromoted => (
            format!("Đã có chỗ: {course}"),
            format!(
                "Đã có chỗ trống: {name} được chuyển từ danh sách chờ sang danh sách học \
                 của buổi học “{course}”."
            ),
        ),
        EventType::EnrolmentCancelled if session.status == SessionStatus::Cancelled => (
            format!("Buổi học bị huỷ: {course}"),
            format!("Buổi học “{course}” đã bị huỷ. Chỗ của {name} được huỷ theo."),
        ),
        EventType::EnrolmentCancelled => (
            format!("Đã huỷ chỗ: {course}"),
            format!("Chỗ của {name} trong buổi học “{course}” đã được huỷ."),
        ),
        _ => return Ok(Vec::new()),
    };
    Ok(vec![letter(&to, subject, &lead, &session.plan, zone)])
}

fn session_letters(
    conn: &mut DbConnection,
    kind: EventType,
    data: &SessionData,
    zone: Tz,
) -> QueryResult<Vec<Letter>> {
    let statuses: &[EnrolmentStatus] = match kind {
        EventType::SessionChanged => &[EnrolmentStatus::Enrolled, EnrolmentStatus::Waitlisted],
        EventType::SessionReminder => &[EnrolmentStatus::Enrolled],
        _ => return Ok(Vec::new()),
    };
    let Some(session) = model::session_note(conn, data.session_id)? else {
        return Ok(Vec::new());
    };
    // A session cancelled since wrote its own letters, through its places.
    if session.status == SessionStatus::Cancelled {
        return Ok(Vec::new());
    }
    let course = &session.course_title;
    // The time and place as they are now: a later change has its own event.
    let plan = &session.plan;
    let mut letters = Vec::new();
    for participant_id in model::place_holders(conn, data.session_id, statuses)? {
        let Some(to) = model::addressee(conn, participant_id)? else {
            continue;
        };
        let name = &to.name;
        let (subject, lead) = match (kind, &data.previous) {
            (EventType::SessionChanged, Some(before)) => (
                format!("Thay đổi lịch học: {course}"),
                format!(
                    "Buổi học “{course}” của {name} đã thay đổi. Trước đây: {}, tại {}.",
                    when(before.starts_at.naive_utc(), before.ends_at.naive_utc(), zone),
                    before.venue
                ),
            ),
            (EventType::SessionChanged, None) => (
                format!("Thay đổi lịch học: {course}"),
                format!("Buổi học “{course}” của {name} đã thay đổi."),
            ),
            _ => (
                format!(
                    "Nhắc lịch học: {course}, {}",
                    when_short(plan.starts_at.naive_utc(), zone)
                ),
                format!("Nhắc {name}: buổi học “{course}” sẽ bắt đầu sau khoảng 24 giờ nữa."),
            ),
        };
        letters.push(letter(&to, subject, &lead, plan, zone));
    }
    Ok(letters)
}

/// A letter: the lead sentence, then the session's time and place.
fn letter(to: &Addressee, subject: String, lead: &str, plan: &SessionPlan, zone: Tz) -> Letter {
    let greeting = if to.via_guardian {
        format!("Kính gửi phụ huynh/người giám hộ của {},", to.name)
    } else {
        format!("Chào {},", to.name)
    };
    let body = format!(
        "{greeting}\n\n{lead}\n\nThời gian: {}\nĐịa điểm: {}\n\n\
         Nếu không thể tham dự, xin vui lòng báo hoặc huỷ chỗ để nhường cho người khác.\n\n\
         Trung tâm học tập cộng đồng\n\
         (Thư gửi tự động, xin đừng trả lời thư này.)\n",
        when(plan.starts_at.naive_utc(), plan.ends_at.naive_utc(), zone),
        plan.venue
    );
    Letter {
        about_id: to.participant_id,
        addressee_id: to.owner_id,
        recipient: to.address.clone(),
        subject,
        body,
    }
}

/// `08:00–10:00, Thứ Bảy 05/12/2026`, on the wall clock of `zone`.
fn when(starts_at: NaiveDateTime, ends_at: NaiveDateTime, zone: Tz) -> String {
    let (start, end) = (wall_clock(starts_at, zone), wall_clock(ends_at, zone));
    let end = if end.date() == start.date() {
        end.format("%H:%M").to_string()
    } else {
        format!("{} {}", end.format("%H:%M"), end.format("%d/%m/%Y"))
    };
    format!(
        "{}–{end}, {} {}",
        start.format("%H:%M"),
        weekday(start.weekday()),
        start.format("%d/%m/%Y")
    )
}

/// `08:00 Thứ Bảy 05/12`.
fn when_short(starts_at: NaiveDateTime, zone: Tz) -> String {
    let start = wall_clock(starts_at, zone);
    format!("{} {} {}", start.format("%H:%M"), weekday(start.weekday()), start.format("%d/%m"))
}

fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Thứ Hai",
        Weekday::Tue => "Thứ Ba",
        Weekday::Wed => "Thứ Tư",
        Weekday::Thu => "Thứ Năm",
        Weekday::Fri => "Thứ Sáu",
        Weekday::Sat => "Thứ Bảy",
        Weekday::Sun => "Chủ nhật",
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn times_read_in_the_local_zone_with_vietnamese_weekdays() {
        let at = |h| NaiveDate::from_ymd_opt(2026, 12, 5).unwrap().and_hms_opt(h, 0, 0).unwrap();
        let zone = chrono_tz::Asia::Ho_Chi_Minh;
        // 01:00 and 03:00 UTC are 08:00 and 10:00 in Hà Nội, on a Saturday.
        assert_eq!(when(at(1), at(3), zone), "08:00–10:00, Thứ Bảy 05/12/2026");
        assert_eq!(when_short(at(1), zone), "08:00 Thứ Bảy 05/12");
        assert_eq!(when(at(16), at(18), zone), "23:00–01:00 06/12/2026, Thứ Bảy 05/12/2026");
    }
}
