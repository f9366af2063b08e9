//! `GET /me/rosters`: what a trainer's app needs to take the coming days'
//! roll-calls without a connection.

use actix_web::{get, web};
use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{self, Held, RosterSession, Rosters, Window};
use crate::access::{self, Marker};
use crate::attendance::model::row_code;
use crate::attendance::views::MarkResponse;
use crate::db;
use crate::enrolments::views::RosterPerson;
use crate::error::{AppError, FieldIssue};
use crate::http::query::Query;
use crate::id::Id;
use crate::sessions::model::{SessionDetails, SessionOutline};
use crate::sessions::views::SessionSummary;
use crate::state::AppState;
use crate::validation::Validator;
use crate::vocab::EnrolmentStatus;

const DEFAULT_DAYS: i64 = 7;
const MAX_DAYS: i64 = 31;
/// Sessions that ended this long ago are still held: marks are taken after
/// the class too, and a phone that was offline all day syncs in the
/// evening.
const HELD_AFTER_END: Duration = Duration::days(1);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RostersQuery {
    /// How many days ahead, 1 to 31; 7 by default.
    #[param(minimum = 1, maximum = 31)]
    pub days: Option<i64>,
    /// The `sync_token` of the last download: only what changed since.
    #[param(
        pattern = r"^[0-9]{1,18}\.[0-9]{1,12}\.[0-9]{1,12}$",
        example = "81234.1759370400.1759975200"
    )]
    pub since: Option<String>,
}

/// A session on the rosters.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct RosterSessionResponse {
    #[serde(flatten)]
    pub session: SessionSummary,
    pub capacity: i32,
    pub trainer_ids: Vec<Id>,
}

/// A place on a roster, with its person as a trainer sees them and the
/// current mark.
#[derive(Serialize, Deserialize, ToSchema)]
struct RosterPlace {
    pub enrolment_id: Id,
    /// The place's short code, as the paper sign-in sheet prints it.
    pub row_code: String,
    pub session_id: Id,
    pub participant: RosterPerson,
    /// `cancelled` only in changes: the place leaves the roster.
    pub status: EnrolmentStatus,
    #[schema(required = true)]
    pub waitlist_position: Option<i32>,
    #[schema(required = true)]
    pub mark: Option<MarkResponse>,
}

/// A unit's name, for the people of the rosters.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct UnitName {
    pub id: Id,
    pub name: String,
}

/// The rosters, whole or as changes. A device applies them so: each
/// session in `sessions` replaces the one it holds, with exactly the
/// places listed for it; every other place listed replaces the one it
/// holds (a `cancelled` one is dropped); the sessions of
/// `removed_session_ids` are dropped.
#[derive(Serialize, Deserialize, ToSchema)]
struct RostersResponse {
    /// Sent back as `since` for the changes after this download.
    pub sync_token: String,
    /// Sessions to take whole: in a first download all of them, later the
    /// ones that changed, are new to the trainer or came into the days.
    pub sessions: Vec<RosterSessionResponse>,
    pub places: Vec<RosterPlace>,
    /// Sessions to drop: the trainer was taken off them, or they left the
    /// days asked for. Ids the device does not hold may come; it ignores
    /// them.
    pub removed_session_ids: Vec<Id>,
    pub units: Vec<UnitName>,
}

/// A `sync_token`: the change position and the window of a download, so
/// that the next one knows what the device holds. A window that ends
/// before it starts holds nothing: its sessions come whole.
fn sync_token(held: Held) -> String {
    let seconds = |t: NaiveDateTime| t.and_utc().timestamp();
    format!("{}.{}.{}", held.position, seconds(held.window.from), seconds(held.window.to))
}

/// A `sync_token` read back, or `None` for anything that does not have
/// its shape (the pattern the document gives `since`).
fn parse_sync_token(token: &str) -> Option<Held> {
    // Digits only, as many as the pattern allows: `parse` would also take
    // a sign, and more digits could overflow.
    let number = |part: Option<&str>, most: usize| {
        let part = part.filter(|p| (1..=most).contains(&p.len()))?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse::<i64>().ok())?
    };
    let mut parts = token.split('.');
    let position = number(parts.next(), 18)?;
    let (from, to) = (number(parts.next(), 12)?, number(parts.next(), 12)?);
    if parts.next().is_some() {
        return None;
    }
    let time = |seconds| DateTime::from_timestamp(seconds, 0).map(|t| t.naive_utc());
    Some(Held { position, window: Window { from: time(from)?, to: time(to)? } })
}

/// Download the rosters of the coming days
///
/// Trainers and admins, in person or on a paired device; others get
/// `403 forbidden`. The sessions the caller teaches that end after
/// yesterday at this time and start within `days` days (7 by default), by
/// start time, with every place (enrolled or waitlisted; a person as a
/// trainer sees them: name, category and unit) and its current mark, and
/// a `sync_token`. With `since`, only what changed after the download that
/// gave it: places enrolled, promoted or cancelled, marks taken elsewhere,
/// sessions that changed or came into the days (whole), and sessions to
/// drop. Nothing written between two downloads is missed, whatever was
/// running at the time; a change may come twice.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(RostersQuery),
    responses(
        (status = 200, description = "The rosters, or their changes since `since`, with the `sync_token` to ask for the next changes", body = RostersResponse),
        (status = 400, description = "`days` out of 1–31, or a `since` that is no `sync_token`"),
        (status = 403, description = "Not a trainer or an admin"),
    )
)]
#[get("/me/rosters")]
async fn my_rosters(
    state: web::Data<AppState>,
    caller: Marker,
    Query(query): Query<RostersQuery>,
) -> Result<web::Json<RostersResponse>, AppError> {
    if !access::takes_roll_calls(&caller.user) {
        return Err(AppError::Forbidden);
    }
    let mut v = Validator::new();
    let days = query.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        v.add("days", FieldIssue::Range { min: 1, max: MAX_DAYS });
    }
    let held = query.since.as_deref().and_then(parse_sync_token);
    if query.since.is_some() && held.is_none() {
        v.add("since", FieldIssue::NotSyncToken);
    }
    v.finish_params()?;
    let now = db::now().trunc_subsecs(0);
    let window = Window { from: now - HELD_AFTER_END, to: now + Duration::days(days) };
    let trainer = caller.user.id;
    let rosters =
        state.db.snapshot(move |conn| Ok(model::rosters(conn, trainer, window, held)?)).await?;
    Ok(web::Json(response(rosters, window)))
}

fn response(rosters: Rosters, window: Window) -> RostersResponse {
    let Rosters { position, sessions, places, removed_session_ids, units } = rosters;
    let sessions = sessions
        .into_iter()
        .map(|RosterSession { details, course_title }| {
            let SessionDetails { session, trainer_ids, .. } = details;
            let outline = SessionOutline {
                id: session.id,
                course_id: session.course_id,
                course_title,
                starts_at: session.starts_at,
                ends_at: session.ends_at,
                venue: session.venue,
                status: session.status,
            };
            RosterSessionResponse {
                session: outline.into(),
                capacity: session.capacity,
                trainer_ids,
            }
        })
        .collect();
    let places = places
        .into_iter()
        .map(|(place, person, mark)| RosterPlace {
            enrolment_id: place.id,
            row_code: row_code(place.id),
            session_id: place.session_id,
            participant: person.into(),
            status: place.status,
            waitlist_position: place.waitlist_position,
            mark: mark.map(Into::into),
        })
        .collect();
    let units = units.into_iter().map(|(id, name)| UnitName { id, name }).collect();
    RostersResponse {
        sync_token: sync_token(Held { position, window }),
        sessions,
        places,
        removed_session_ids,
        units,
    }
}

/// The routes of `rosters`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(my_rosters);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_token_reads_back_as_it_was_written_and_nothing_else_reads() {
        let at = |s| DateTime::from_timestamp(s, 0).unwrap().naive_utc();
        let held = Held {
            position: 8123,
            window: Window { from: at(1_700_000_000), to: at(1_700_600_000) },
        };
        assert_eq!(parse_sync_token(&sync_token(held)), Some(held));
        let long = format!("{}.1.2", "9".repeat(19));
        for bad in ["", "1.2", "1.2.3.4", "-1.5.6", "+1.5.6", "a.b.c", "1.2.x", "1..2", &long] {
            assert_eq!(parse_sync_token(bad), None, "{bad}");
        }
    }
}
