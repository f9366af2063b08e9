//! Calendar endpoints: a person's secret feed of their sessions, and one
//! session as a calendar file.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::ics::{self, Event, EventStatus};
use super::model::{self, CalendarSession};
use crate::auth::{AuthUser, SignedIn};
use crate::error::AppError;
use crate::http;
use crate::id::Id;
use crate::state::AppState;
use crate::vocab::SessionStatus;

const CALENDAR: &str = "text/calendar; charset=utf-8";
/// What a person's calendar app shows as the feed's name.
const FEED_NAME: &str = "Lịch học lophoc";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct CalendarFeedResponse {
    /// The feed, to subscribe to in a calendar app. Anyone with it reads
    /// the caller's sessions: keep it like a password.
    #[schema(
        example = "https://lophoc.example.vn/api/v1/calendars/3q2-6Yk0w7m7Hh2S2Z1c9m8vVwU0eQ4nY2kB5r8aXyA.ics"
    )]
    pub url: String,
}

fn events(sessions: &[CalendarSession]) -> Vec<Event<'_>> {
    sessions
        .iter()
        .map(|CalendarSession { session, course_title, waiting }| Event {
            uid: format!("{}@lophoc", session.id),
            changed_at: session.updated_at,
            starts_at: session.starts_at,
            ends_at: session.ends_at,
            summary: course_title,
            location: &session.venue,
            status: match (session.status, waiting) {
                (SessionStatus::Cancelled, _) => EventStatus::Cancelled,
                (_, true) => EventStatus::Tentative,
                (_, false) => EventStatus::Confirmed,
            },
        })
        .collect()
}

fn calendar_file() -> HttpResponseBuilder {
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::CONTENT_TYPE, CALENDAR));
    answer
}

/// Make a new calendar feed
///
/// Any signed-in person. Answers `201` with a secret URL of an iCalendar
/// feed (RFC 5545) of the caller's sessions: the places of their own
/// profile and their dependants' (enrolled or waiting), and the sessions
/// they teach, from 90 days back on, with venue and course, times in UTC,
/// cancelled sessions as `STATUS:CANCELLED`, and those the family only
/// waits for a seat in as `STATUS:TENTATIVE`. The feed needs no token:
/// a calendar app reads it as it is. Asking again makes a new URL, and the
/// old one answers `404` from then on.
#[utoipa::path(
    tag = "calendars",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The feed's URL; any earlier one stops working", body = CalendarFeedResponse, headers(("Location" = String, description = "The feed's path"))),
    )
)]
#[post("/me/calendar")]
async fn renew_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
) -> Result<HttpResponse, AppError> {
    let user = caller.id();
    let token = state.db.write(move |conn| Ok(model::renew(conn, user)?)).await?;
    let path = format!("/calendars/{token}.ics");
    let connection = req.connection_info();
    let url = format!("{}://{}/api/v1{path}", connection.scheme(), connection.host());
    Ok(http::created(&path, &CalendarFeedResponse { url }))
}

/// Read a calendar feed
///
/// No token: the URL is the secret (see `POST /me/calendar`). Answers the
/// owner's sessions as an iCalendar file, or `404 not_found` for a URL
/// replaced by a newer one, or of an account no longer active.
#[utoipa::path(
    tag = "calendars",
    params(("token" = String, Path, description = "The feed's secret, from its URL")),
    responses(
        (status = 200, description = "The owner's sessions (RFC 5545)", content((String = "text/calendar"))),
        (status = 404, description = "No such feed: replaced, or its account deactivated"),
    )
)]
#[get("/calendars/{token}.ics")]
async fn read_feed(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let sessions = state
        .db
        .run(move |conn| {
            let owner = model::owner(conn, &token)?.ok_or(AppError::NotFound)?;
            Ok(model::sessions_of(conn, owner)?)
        })
        .await?;
    Ok(calendar_file().body(ics::calendar(FEED_NAME, &events(&sessions))))
}

/// Get one session as a calendar file
///
/// Any signed-in person, as sessions are open to all: an iCalendar file
/// (RFC 5545) with the one event, to add to a calendar. `404 not_found`
/// for an unknown session.
#[utoipa::path(
    tag = "calendars",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The session (RFC 5545), to download", content((String = "text/calendar")),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}/calendar.ics")]
async fn session_calendar(
    state: web::Data<AppState>,
    caller: SignedIn,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let session = caller
        .read(&state.db, move |conn, _| model::session(conn, id)?.ok_or(AppError::NotFound))
        .await?;
    let disposition = format!("attachment; filename=\"{}.ics\"", session.session.id);
    let sessions = [session];
    Ok(calendar_file()
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .body(ics::calendar(&sessions[0].course_title, &events(&sessions))))
}

/// The routes of `calendars`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(renew_feed).service(read_feed).service(session_calendar);
}
