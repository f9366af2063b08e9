//! Attendance endpoints: the roll-call and its history, self check-in,
//! walk-ins and offline sync.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{
    self, AttendanceChange, CheckIn, NewMark, RosterRow, SyncOutcome, check_marking_window,
};
use super::views::MarkResponse;
use crate::access::{Marker, ParticipantScope};
use crate::auth::AuthUser;
use crate::db::{self, DbConnection};
use crate::enrolments::views::{EnrolmentResponse, RosterPerson};
use crate::error::{AppError, Conflict, FieldIssue, InvalidField, Refusal};
use crate::http;
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::utc;
use crate::id::Id;
use crate::operations::walk_ins::{self, WalkInPerson, WalkedIn};
use crate::paging::PageRequest;
use crate::participants::model::ProfileFields;
use crate::sessions::model::SessionDetails;
use crate::state::AppState;
use crate::validation::{Validator, without_direction_controls};
use crate::vocab::{AttendanceStatus, Category, Gender, MarkSource};
use utoipa_actix_web::service_config::ServiceConfig;

/// The most marks one request may carry: a whole class, or a phone's day.
const MAX_MARKS: usize = 1000;
const MAX_NOTE_CHARS: usize = 500;
const MAX_CLIENT_MARK_ID_CHARS: usize = 100;

/// One enrolled person on the roll-call: name, category and unit, and
/// their current mark (`null` until marked).
#[derive(Serialize, Deserialize, ToSchema)]
struct RollCallEntry {
    pub enrolment_id: Id,
    /// The place's short code, as the paper sign-in sheet prints it.
    pub row_code: String,
    pub participant: RosterPerson,
    #[schema(required = true)]
    pub mark: Option<MarkResponse>,
}

/// A page of [`RollCallEntry`]s, under its own name in the document.
type RollCallEntryPage = Page<RollCallEntry>;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct MarkInput {
    pub participant_id: Id,
    pub status: AttendanceStatus,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// The marks to set; people not named keep theirs.
#[derive(Debug, Deserialize, ToSchema)]
struct PutAttendanceRequest {
    #[schema(min_items = 1, max_items = 1000)]
    pub marks: Vec<MarkInput>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct PutAttendanceResponse {
    /// The marks of the people named, as stored now.
    pub marks: Vec<MarkResponse>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct HistoryEntry {
    pub id: Id,
    pub enrolment_id: Id,
    pub participant_id: Id,
    /// `null` for a first mark.
    #[schema(required = true)]
    pub from: Option<AttendanceStatus>,
    pub to: AttendanceStatus,
    #[schema(required = true)]
    pub note: Option<String>,
    pub source: MarkSource,
    #[schema(required = true)]
    pub changed_by: Option<Id>,
    /// The paired device the change came from; `null` for anything else.
    #[schema(required = true)]
    pub device_id: Option<Id>,
    #[serde(serialize_with = "utc")]
    pub recorded_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub changed_at: DateTime<Utc>,
    /// An offline mark that arrived after one recorded later: kept here,
    /// not applied.
    pub superseded: bool,
}

/// A page of [`HistoryEntry`]s, under its own name in the document.
type HistoryEntryPage = Page<HistoryEntry>;

impl From<AttendanceChange> for HistoryEntry {
    fn from(c: AttendanceChange) -> Self {
        Self {
            id: c.id,
            enrolment_id: c.enrolment_id,
            participant_id: c.participant_id,
            from: c.from_status,
            to: c.to_status,
            note: c.note,
            source: c.source,
            changed_by: c.changed_by,
            device_id: c.device_id,
            recorded_at: c.recorded_at.and_utc(),
            changed_at: c.changed_at.and_utc(),
            superseded: c.superseded,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct CheckInCodeResponse {
    /// Six digits, for the participants in the room.
    #[schema(example = "042917")]
    pub code: String,
    #[serde(serialize_with = "utc")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct CheckInRequest {
    #[schema(example = "042917")]
    pub code: String,
    /// A dependant of the caller; by default the caller's own profile.
    pub participant_id: Option<Id>,
}

/// Either `participant_id` (someone already known) or a new profile:
/// `full_name`, `category` and the optional fields.
#[derive(Deserialize, ToSchema)]
struct WalkInRequest {
    pub participant_id: Option<Id>,
    #[schema(max_length = 200)]
    pub full_name: Option<String>,
    pub category: Option<Category>,
    pub organization_id: Option<Id>,
    pub gender: Option<Gender>,
    /// Required for students.
    pub birth_date: Option<NaiveDate>,
    #[schema(max_length = 20)]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct WalkInResponse {
    #[serde(flatten)]
    pub enrolment: EnrolmentResponse,
    /// `present`.
    pub attendance: MarkResponse,
}

#[derive(Debug, Deserialize, ToSchema)]
struct SyncMark {
    /// The app's own id for the mark, unique to it (a UUID is best).
    #[schema(min_length = 1, max_length = 100)]
    pub client_mark_id: String,
    pub session_id: Id,
    pub participant_id: Id,
    pub status: AttendanceStatus,
    /// When the trainer took the mark, by the phone's clock.
    pub recorded_at: DateTime<Utc>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// A batch of offline marks. Its shape is checked whole: a mark that does
/// not match [`SyncMark`] (an unknown status, a missing field) refuses the
/// batch with `422`, naming it (`marks[2].status`), and applies nothing; the
/// app mends or drops it and sends again, which repeats nothing already
/// applied. What depends on the stored state (an enrolment, the marking
/// window) is answered mark by mark.
#[derive(Debug, Deserialize, ToSchema)]
struct SyncRequest {
    #[schema(min_items = 1, max_items = 1000)]
    pub marks: Vec<SyncMark>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum SyncResultOutcome {
    Applied,
    Duplicate,
    Superseded,
    Refused,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct SyncResult {
    pub client_mark_id: String,
    pub outcome: SyncResultOutcome,
    /// Why it was refused: `not_enrolled`, `outside_marking_window`,
    /// `forbidden`, `not_found`, `validation_failed`, or
    /// `service_unavailable` (send it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct SyncResponse {
    /// One per mark, in the request's order.
    pub results: Vec<SyncResult>,
}

fn session(conn: &mut DbConnection, id: Id) -> Result<SessionDetails, AppError> {
    crate::sessions::model::find(conn, id)?.ok_or(AppError::NotFound)
}

/// The session, when `marker` takes its roll-call (an admin or one of its
/// trainers, or a device of one of them): `404` for no session, `403` for
/// anyone else.
pub(super) fn marked_session(
    conn: &mut DbConnection,
    id: Id,
    marker: &Marker,
) -> Result<SessionDetails, AppError> {
    let details = session(conn, id)?;
    marker.check(&details)?;
    Ok(details)
}

/// A page of what only a session's markers read (its roll-call, its
/// history): `403` for anyone else, `404` for no session.
async fn markers_page<R: Send + 'static, T: Send + 'static>(
    state: &AppState,
    caller: Marker,
    session_id: Id,
    page: PageQuery,
    load: fn(&mut DbConnection, Id, &PageRequest) -> QueryResult<Vec<R>>,
    id_of: fn(&R) -> Id,
    to_item: fn(R) -> T,
) -> Result<web::Json<Page<T>>, AppError> {
    let page = page.parse()?;
    let result = state
        .db
        .run(move |conn| {
            marked_session(conn, session_id, &caller)?;
            let rows = load(conn, session_id, &page)?;
            Ok(Page::from_rows(rows, &page, id_of, to_item))
        })
        .await?;
    Ok(web::Json(result))
}

/// Get a session's roll-call
///
/// Admins and the session's trainers; others get `403 forbidden`. Lists
/// the people holding an enrolled place (not waitlisted or cancelled), in
/// enrolment order, with name, category and unit, and their current mark
/// (`null` until marked). Answers a page, or `404 not_found` for an
/// unknown session.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id"), PageQuery),
    responses(
        (status = 200, description = "A page of the enrolled people with their current marks, in enrolment order", body = RollCallEntryPage),
        (status = 403, description = "Not an admin or one of the session's trainers"),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}/attendance")]
pub async fn roll_call(
    state: web::Data<AppState>,
    caller: Marker,
    id: web::Path<Id>,
    Query(page): Query<PageQuery>,
) -> Result<web::Json<RollCallEntryPage>, AppError> {
    let to_entry = |(e, p, m): RosterRow| RollCallEntry {
        enrolment_id: e.id,
        row_code: model::row_code(e.id),
        participant: p.into(),
        mark: m.map(Into::into),
    };
    markers_page(&state, caller, id.into_inner(), page, model::roster, |(e, _, _)| e.id, to_entry)
        .await
}

/// Take the roll-call
///
/// Admins at any time, and the session's trainers from 30 minutes before
/// the start until 7 days after the end (else `409 outside_marking_window`);
/// others get `403 forbidden`. Sets the marks of the people named (1 to
/// 1,000, each once); people not named keep theirs, and sending the same
/// marks again changes nothing. If anyone named has no enrolled place,
/// nothing is stored and the answer is `422 not_enrolled`, listing them in
/// `errors`. Answers the stored marks of the people named.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    request_body = PutAttendanceRequest,
    responses(
        (status = 200, description = "Stored. The same marks again change nothing and add no history", body = PutAttendanceResponse),
        (status = 403, description = "Not an admin or one of the session's trainers"),
        (status = 404, description = "No such session"),
        (status = 409, description = "A trainer outside the window, 30 minutes before the start to 7 days after the end (`outside_marking_window`)"),
        (status = 422, description = "Invalid marks, or people without an enrolled place (`not_enrolled`, listed in `errors`); nothing is stored"),
    )
)]
#[put("/sessions/{id}/attendance")]
pub async fn put_attendance(
    state: web::Data<AppState>,
    caller: Marker,
    id: web::Path<Id>,
    Json(body): Json<PutAttendanceRequest>,
) -> Result<web::Json<PutAttendanceResponse>, AppError> {
    let mut v = Validator::new();
    v.count("marks", body.marks.len(), MAX_MARKS);
    let mut marks = Vec::with_capacity(body.marks.len());
    for (i, mark) in body.marks.iter().enumerate() {
        let field = format!("marks[{i}]");
        if body.marks[..i].iter().any(|m| m.participant_id == mark.participant_id) {
            v.add(&format!("{field}.participant_id"), FieldIssue::Duplicate);
        }
        let note = v.optional_text(&format!("{field}.note"), mark.note.as_deref(), MAX_NOTE_CHARS);
        marks.push((mark.participant_id, mark.status, note));
    }
    v.finish()?;
    let session_id = id.into_inner();
    let stored = state
        .db
        .write(move |conn| {
            let details = marked_session(conn, session_id, &caller)?;
            let now = db::now();
            check_marking_window(&details.session, &caller, now)?;
            let actor = caller.actor();
            let mut stored = Vec::with_capacity(marks.len());
            let mut not_enrolled = Vec::new();
            for (i, (participant_id, status, note)) in marks.into_iter().enumerate() {
                let mark = NewMark {
                    participant_id,
                    status,
                    note,
                    source: MarkSource::Trainer,
                    recorded_at: now,
                };
                match model::record_mark(conn, &actor, session_id, mark) {
                    Ok(outcome) => stored.push(outcome.into_mark().into()),
                    Err(AppError::Refused(Refusal::NotEnrolled)) => {
                        not_enrolled.push(InvalidField::new(
                            format!("marks[{i}].participant_id"),
                            FieldIssue::NotEnrolled,
                        ))
                    }
                    Err(err) => return Err(err),
                }
            }
            // All or nothing: the transaction rolls back what was applied.
            if !not_enrolled.is_empty() {
                return Err(AppError::RefusedItems(Refusal::NotEnrolled, not_enrolled));
            }
            Ok(stored)
        })
        .await?;
    Ok(web::Json(PutAttendanceResponse { marks: stored }))
}

/// List every change of a session's marks
///
/// Admins and the session's trainers; others get `403 forbidden`. Every
/// change of every mark, oldest first: who made it, when, from what status
/// to what, the note and how it came (`trainer`, `self_check_in`,
/// `offline_sync`). Answers a page.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id"), PageQuery),
    responses(
        (status = 200, description = "A page of every change of every mark, oldest first: who, when, from what to what, and how", body = HistoryEntryPage),
        (status = 403, description = "Not an admin or one of the session's trainers"),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}/attendance/history")]
pub async fn attendance_history(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
    Query(page): Query<PageQuery>,
) -> Result<web::Json<HistoryEntryPage>, AppError> {
    let id_of = |c: &AttendanceChange| c.id;
    let caller = Marker::person(caller.user);
    markers_page(&state, caller, id.into_inner(), page, model::history, id_of, HistoryEntry::from)
        .await
}

/// Open self check-in for a session
///
/// Admins and the session's trainers; others get `403 forbidden`. Issues a
/// 6-digit code valid for 5 minutes, which replaces the session's previous
/// one. Only from 30 minutes before the start until the end, and not for a
/// cancelled session (`409 outside_marking_window`). Answers `201` with the
/// code and its expiry; the code is shown once and cannot be read back, so
/// the answer has no `Location`.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 201, description = "A new code, valid for five minutes; it replaces the previous one", body = CheckInCodeResponse),
        (status = 403, description = "Not an admin or one of the session's trainers"),
        (status = 404, description = "No such session"),
        (status = 409, description = "Before 30 minutes ahead of the start, after the end, or a cancelled session (`outside_marking_window`)"),
    )
)]
#[post("/sessions/{id}/check-in-code")]
pub async fn open_check_in(
    state: web::Data<AppState>,
    caller: Marker,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let session_id = id.into_inner();
    let (code, expires_at) = state
        .db
        .write(move |conn| {
            let details = marked_session(conn, session_id, &caller)?;
            model::open_check_in(conn, &caller.actor(), &details.session)
        })
        .await?;
    Ok(HttpResponse::Created().json(CheckInCodeResponse { code, expires_at: expires_at.and_utc() }))
}

/// Check in to a session with its code
///
/// Any signed-in user, for themselves (the default) or a dependant
/// (`participant_id`); someone else's profile answers `404 not_found`. With
/// the session's open code, an enrolled person is marked `present`, or
/// `late` after the first 15 minutes. A wrong or expired code is
/// `422 invalid_code`, no enrolled place `422 not_enrolled`; too many wrong
/// codes `429` with `Retry-After`. Answers the mark.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    request_body = CheckInRequest,
    responses(
        (status = 200, description = "Marked `present`, or `late` after the first 15 minutes; someone already present stays so", body = MarkResponse),
        (status = 404, description = "No such session, or a participant who is not the caller or their dependant"),
        (status = 422, description = "Wrong or expired code (`invalid_code`), or no enrolled place (`not_enrolled`)"),
        (status = 429, description = "Too many wrong codes from this user; see `Retry-After`"),
    )
)]
#[post("/sessions/{id}/check-in")]
pub async fn check_in(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
    Json(body): Json<CheckInRequest>,
) -> Result<web::Json<MarkResponse>, AppError> {
    let session_id = id.into_inner();
    let outcome = state
        .db
        .write(move |conn| {
            let details = session(conn, session_id)?;
            // Themselves or a dependant, whatever the caller's role.
            let own = ParticipantScope::own(conn, &caller.user)?;
            let participant_id = match (body.participant_id, &own) {
                (Some(id), _) => id,
                (None, ParticipantScope::SelfAndDependants { profile_id: Some(own), .. }) => *own,
                (None, _) => {
                    return Err(AppError::validation("participant_id", FieldIssue::Required));
                }
            };
            crate::participants::model::find_visible(conn, &own, participant_id)?
                .ok_or(AppError::NotFound)?;
            model::check_in(conn, &caller.user, &details.session, participant_id, body.code.trim())
        })
        .await?;
    match outcome {
        CheckIn::Marked(mark) => Ok(web::Json(mark.into())),
        CheckIn::WrongCode => Err(AppError::Refused(Refusal::InvalidCode)),
        CheckIn::Throttled(retry_after_secs) => Err(AppError::TooManyRequests { retry_after_secs }),
    }
}

/// Add a walk-in to a session
///
/// Admins and the session's trainers (within the marking window); others
/// get `403 forbidden`. Gives a known person (`participant_id`: for a
/// trainer, someone on their rosters; anyone else is `404
/// participant_not_found`) or a person by name and details (`full_name`,
/// `category`, …) a place with `source: walk_in`, even in a full session,
/// and marks them `present`. A person by name who is already on file (the
/// same name, ignoring case and diacritics, with the same phone, national
/// or `+84`, or the same birth date) gets their own profile's place;
/// otherwise a new profile is made. Answers `201` with the new place and
/// mark, or `200` when the person already had one.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    request_body = WalkInRequest,
    responses(
        (status = 201, description = "A new place (`source: walk_in`), even in a full session, marked `present`", body = WalkInResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 200, description = "The person already had a place (a waitlisted one moves up); now marked `present`", body = WalkInResponse),
        (status = 403, description = "Not an admin or one of the session's trainers"),
        (status = 404, description = "No such session or participant (`participant_not_found`)"),
        (status = 409, description = "A cancelled session (`session_cancelled`), or a trainer outside the marking window (`outside_marking_window`)"),
    )
)]
#[post("/sessions/{id}/walk-ins")]
pub async fn add_walk_in(
    state: web::Data<AppState>,
    caller: Marker,
    id: web::Path<Id>,
    Json(body): Json<WalkInRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let person = match (body.participant_id, &body.full_name, body.category) {
        (Some(id), _, _) => WalkInPerson::Known(id),
        (None, Some(name), Some(category)) => {
            let profile = ProfileFields {
                full_name: v.name("full_name", name),
                category,
                organization_id: body.organization_id,
                gender: body.gender,
                birth_date: body.birth_date,
                phone: v.phone("phone", body.phone.as_deref()),
                email: None,
            };
            profile.check(&mut v);
            WalkInPerson::New(profile)
        }
        (None, name, category) => {
            let missing = [("full_name", name.is_none()), ("category", category.is_none())];
            let fields = missing
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(field, _)| InvalidField::new(field, FieldIssue::Required))
                .collect();
            return Err(AppError::Validation(fields));
        }
    };
    v.finish()?;
    let session_id = id.into_inner();
    let WalkedIn { place, created, mark } =
        state.db.write(move |conn| walk_ins::walk_in(conn, &caller, session_id, person)).await?;
    let response = WalkInResponse { enrolment: place.into(), attendance: mark.into() };
    Ok(if created {
        http::created(&format!("/enrolments/{}", response.enrolment.id), &response)
    } else {
        HttpResponse::Ok().json(response)
    })
}

/// Upload offline attendance marks
///
/// Any signed-in user, but each mark is checked as a trainer's mark: only
/// admins and the session's trainers, within the marking window for both
/// when it was recorded and when it arrives. Takes 1 to 1,000 marks; a batch
/// with a mark of the wrong shape is refused whole (`422`, naming the mark).
/// Answers one result per mark, in order: `applied`, `duplicate` (same
/// `client_mark_id` from the same account), `superseded` (recorded before
/// the mark in place; kept in the history) or `refused` with a `reason`
/// such as `not_enrolled` or `outside_marking_window`.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    request_body = SyncRequest,
    responses(
        (status = 200, description = "One result per mark, in order; each was applied or refused on its own. The same `client_mark_id` again is `duplicate`; a mark recorded before the one in place is `superseded` (kept in the history)", body = SyncResponse),
        (status = 422, description = "A mark of the wrong shape, or too many marks; nothing was applied (`validation_failed`, naming each field as `marks[i].field`)"),
    )
)]
#[post("/attendance/sync")]
pub async fn sync(
    state: web::Data<AppState>,
    caller: Marker,
    Json(body): Json<SyncRequest>,
) -> Result<web::Json<SyncResponse>, AppError> {
    let mut v = Validator::new();
    v.count("marks", body.marks.len(), MAX_MARKS);
    let marks: Vec<(SyncMark, String, Option<String>)> = body
        .marks
        .into_iter()
        .enumerate()
        .map(|(i, mark)| {
            let field = |name: &str| format!("marks[{i}].{name}");
            // What a device recorded offline it cannot take back: direction
            // controls are dropped here, never a reason to refuse the batch.
            let id = without_direction_controls(&mark.client_mark_id);
            let id = v.text(&field("client_mark_id"), &id, MAX_CLIENT_MARK_ID_CHARS);
            let note = mark.note.as_deref().map(without_direction_controls);
            let note = v.optional_text(&field("note"), note.as_deref(), MAX_NOTE_CHARS);
            (mark, id, note)
        })
        .collect();
    v.finish()?;
    let mut results = Vec::with_capacity(marks.len());
    for (item, client_mark_id, note) in marks {
        // A time outside the planning years is the app's clock gone wrong:
        // that mark alone is refused.
        let mut v = Validator::new();
        let recorded_at = v.planning_time("recorded_at", item.recorded_at);
        let outcome = match v.finish() {
            Err(err) => Err(err),
            // Each mark in a transaction of its own: one refusal undoes
            // nothing else.
            Ok(()) => {
                let caller = caller.clone();
                let mark = NewMark {
                    participant_id: item.participant_id,
                    status: item.status,
                    note,
                    source: MarkSource::OfflineSync,
                    recorded_at,
                };
                let (mark_id, session_id) = (client_mark_id.clone(), item.session_id);
                state
                    .db
                    .write(move |conn| model::sync_mark(conn, &caller, &mark_id, session_id, mark))
                    .await
            }
        };
        let (outcome, reason) = match outcome {
            Ok(SyncOutcome::Applied) => (SyncResultOutcome::Applied, None),
            Ok(SyncOutcome::Duplicate) => (SyncResultOutcome::Duplicate, None),
            Ok(SyncOutcome::Superseded) => (SyncResultOutcome::Superseded, None),
            Err(AppError::Conflict(Conflict::DuplicateMark)) => {
                (SyncResultOutcome::Duplicate, None)
            }
            Err(err) => (SyncResultOutcome::Refused, Some(err.code().to_owned())),
        };
        results.push(SyncResult { client_mark_id, outcome, reason });
    }
    Ok(web::Json(SyncResponse { results }))
}

/// The routes of `attendance`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(roll_call)
        .service(put_attendance)
        .service(attendance_history)
        .service(open_check_in)
        .service(check_in)
        .service(add_walk_in)
        .service(sync)
        .service(super::sheet::sign_in_sheet);
}
