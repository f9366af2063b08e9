//! Enrolment endpoints: enrol (one or many), the roster, cancel, and the
//! caller's own places.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Enrolment;
use super::model::{self, EnrolOutcome, EnrolmentRules, RosterFilter};
use super::views::{EnrolmentResponse, RosterPerson};
use crate::access::{self, ParticipantScope};
use crate::attendance::AttendanceMark;
use crate::attendance::views::MarkResponse;
use crate::audit::Actor;
use crate::auth::{AuthUser, Enroller};
use crate::db::DbConnection;
use crate::error::{AppError, FieldIssue};
use crate::http;
use crate::http::conditional;
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::id::Id;
use crate::participants::Participant;
use crate::sessions::views::SessionSummary;
use crate::state::AppState;
use crate::validation::Validator;
use crate::vocab::EnrolmentStatus;
use utoipa_actix_web::service_config::ServiceConfig;

/// The most people one bulk request may enrol.
const MAX_BULK: usize = 500;

#[derive(Serialize, Deserialize, ToSchema)]
struct RosterEntry {
    #[serde(flatten)]
    pub enrolment: EnrolmentResponse,
    pub participant: RosterPerson,
}

/// A page of [`RosterEntry`]s, under its own name in the document.
type RosterEntryPage = Page<RosterEntry>;

#[derive(Serialize, Deserialize, ToSchema)]
struct MyEnrolment {
    #[serde(flatten)]
    pub enrolment: EnrolmentResponse,
    /// The caller or one of their dependants.
    pub participant: RosterPerson,
    pub session: SessionSummary,
    /// The attendance mark, once taken.
    #[schema(required = true)]
    pub attendance: Option<MarkResponse>,
}

/// A page of [`MyEnrolment`]s, under its own name in the document.
type MyEnrolmentPage = Page<MyEnrolment>;

/// `{}` enrols the caller's own participant profile.
#[derive(Debug, Deserialize, ToSchema)]
struct EnrolRequest {
    pub participant_id: Option<Id>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct BulkEnrolRequest {
    /// 1 to 500 people, answered in this order.
    #[schema(min_items = 1, max_items = 500)]
    pub participant_ids: Vec<Id>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum BulkOutcome {
    Enrolled,
    Waitlisted,
    AlreadyEnrolled,
    Refused,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct BulkResult {
    pub participant_id: Id,
    pub outcome: BulkOutcome,
    /// The place, unless refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<EnrolmentResponse>,
    /// Why it was refused: a refusal `code` such as `session_full`, or
    /// `participant_not_found`; `service_unavailable` when the item could
    /// not be tried (send it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
struct BulkEnrolResponse {
    pub results: Vec<BulkResult>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EnrolmentListQuery {
    /// Only places of this status; by default enrolled and waitlisted.
    pub status: Option<EnrolmentStatus>,
}

/// Enrols one person as `enroller` may: a profile outside their scope
/// is not found.
fn enrol_as(
    conn: &mut DbConnection,
    enroller: &Enroller,
    scope: &ParticipantScope,
    session_id: Id,
    participant_id: Id,
    rules: EnrolmentRules,
) -> Result<EnrolOutcome, AppError> {
    let actor = Actor::user(enroller.id());
    model::enrol(conn, &actor, scope, session_id, participant_id, enroller.source, rules)
}

/// Enrol a participant in a session
///
/// Participants enrol themselves (`{}`) and their dependants, coordinators
/// their unit's people, admins anyone; trainers may not (`403 forbidden`;
/// they add walk-ins). A full session waitlists the person when it keeps a
/// waitlist, else answers `409 session_full`; other refusals are
/// `session_cancelled`, `session_over`, `enrolment_closed`,
/// `schedule_conflict`, `guardian_required`, `consent_required` (a student
/// under 16 with no guardian's consent on file, with
/// `LOPHOC_REQUIRE_CONSENT=true`; 409) and `category_not_eligible` (422). A person out of reach answers
/// `404 participant_not_found`. Answers `201` with the new place, or `200`
/// with the place the person already holds.
#[utoipa::path(
    tag = "enrolments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    request_body = EnrolRequest,
    responses(
        (status = 201, description = "A new place: `enrolled`, or `waitlisted` with its position", body = EnrolmentResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 200, description = "The person already had a place: that one, unchanged", body = EnrolmentResponse),
        (status = 403, description = "A trainer (trainers add walk-ins)"),
        (status = 404, description = "No such session, or no participant the caller may enrol (`participant_not_found`)"),
        (status = 409, description = "`session_full`, `session_cancelled`, `session_over`, `enrolment_closed`, `schedule_conflict`, `guardian_required` or `consent_required`"),
        (status = 422, description = "`category_not_eligible`, or no `participant_id` for a caller without a profile"),
    )
)]
#[post("/sessions/{id}/enrolments")]
pub async fn enrol(
    state: web::Data<AppState>,
    enroller: Enroller,
    id: web::Path<Id>,
    Json(body): Json<EnrolRequest>,
) -> Result<HttpResponse, AppError> {
    let session_id = id.into_inner();
    let rules = EnrolmentRules::of(&state.config);
    let enrolled = state
        .db
        .write(move |conn| {
            let scope = ParticipantScope::of(conn, &enroller.user)?;
            let participant_id = match body.participant_id {
                Some(id) => id,
                None => access::linked_profile(conn, enroller.id())?
                    .ok_or_else(|| AppError::validation("participant_id", FieldIssue::Required))?,
            };
            enrol_as(conn, &enroller, &scope, session_id, participant_id, rules)
        })
        .await?;
    Ok(match enrolled {
        EnrolOutcome::Created(e) => {
            http::created(&format!("/enrolments/{}", e.id), &EnrolmentResponse::from(e))
        }
        EnrolOutcome::AlreadyHeld(e) => HttpResponse::Ok().json(EnrolmentResponse::from(e)),
    })
}

/// Enrol many participants in a session
///
/// Admins, coordinators and participants, each within the reach they have
/// for a single enrolment; trainers may not (`403 forbidden`). Takes 1 to
/// 500 participant ids and tries each on its own, in order: one refusal
/// undoes nothing else. Answers `200` with one result per id: `enrolled`,
/// `waitlisted`, `already_enrolled` (with the place) or `refused` with the
/// refusal `code` as `reason`. An unknown session answers `404 not_found`.
#[utoipa::path(
    tag = "enrolments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    request_body = BulkEnrolRequest,
    responses(
        (status = 200, description = "One result per person, in the request's order; each was enrolled or refused on its own", body = BulkEnrolResponse),
        (status = 403, description = "A trainer"),
        (status = 404, description = "No such session"),
    )
)]
#[post("/sessions/{id}/enrolments/bulk")]
pub async fn enrol_many(
    state: web::Data<AppState>,
    enroller: Enroller,
    id: web::Path<Id>,
    Json(body): Json<BulkEnrolRequest>,
) -> Result<web::Json<BulkEnrolResponse>, AppError> {
    let mut v = Validator::new();
    v.count("participant_ids", body.participant_ids.len(), MAX_BULK);
    v.finish()?;
    let session_id = id.into_inner();
    let rules = EnrolmentRules::of(&state.config);
    // A missing session answers the whole request; the caller's reach is the
    // same for every item.
    let scope = {
        let (session_id, user) = (session_id, enroller.user.clone());
        state
            .db
            .run(move |conn| {
                crate::sessions::model::find(conn, session_id)?.ok_or(AppError::NotFound)?;
                ParticipantScope::of(conn, &user)
            })
            .await?
    };
    let mut results = Vec::with_capacity(body.participant_ids.len());
    for participant_id in body.participant_ids {
        // Each person in a transaction of their own: one refusal undoes
        // nothing else.
        let outcome = {
            let (enroller, scope) = (enroller.clone(), scope.clone());
            state
                .db
                .write(move |conn| {
                    enrol_as(conn, &enroller, &scope, session_id, participant_id, rules)
                })
                .await
        };
        results.push(match outcome {
            Ok(EnrolOutcome::Created(e)) => {
                let outcome = match e.status {
                    EnrolmentStatus::Waitlisted => BulkOutcome::Waitlisted,
                    _ => BulkOutcome::Enrolled,
                };
                BulkResult { participant_id, outcome, enrolment: Some(e.into()), reason: None }
            }
            Ok(EnrolOutcome::AlreadyHeld(e)) => BulkResult {
                participant_id,
                outcome: BulkOutcome::AlreadyEnrolled,
                enrolment: Some(e.into()),
                reason: None,
            },
            // Anything else (a busy database) is this item's answer too:
            // the items before it are committed and must be reported.
            Err(err) => BulkResult {
                participant_id,
                outcome: BulkOutcome::Refused,
                enrolment: None,
                reason: Some(err.code().to_owned()),
            },
        });
    }
    Ok(web::Json(BulkEnrolResponse { results }))
}

/// List a session's places
///
/// Admins and the session's trainers see every place; coordinators see
/// their unit's people only; participants and other trainers get
/// `403 forbidden`. By default enrolled and waitlisted places, or those of
/// one `status`. Answers a page of places, oldest first, each with the
/// person's name, category and unit.
#[utoipa::path(
    tag = "enrolments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id"), PageQuery, EnrolmentListQuery),
    responses(
        (status = 200, description = "A page of the session's places, oldest first: every place for admins and the session's trainers, the unit's for a coordinator", body = RosterEntryPage),
        (status = 403, description = "A participant, or a trainer who does not teach the session"),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}/enrolments")]
pub async fn roster(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
    Query(page): Query<PageQuery>,
    Query(query): Query<EnrolmentListQuery>,
) -> Result<web::Json<RosterEntryPage>, AppError> {
    let page = page.parse()?;
    let session_id = id.into_inner();
    let result = state
        .db
        .run(move |conn| {
            let session =
                crate::sessions::model::find(conn, session_id)?.ok_or(AppError::NotFound)?;
            let organization_id = access::roster_unit(&session, &caller.user)?;
            let filter = RosterFilter { status: query.status, organization_id };
            let rows = model::roster(conn, session_id, &filter, &page)?;
            Ok(Page::from_rows(
                rows,
                &page,
                |(e, _)| e.id,
                |(e, p)| RosterEntry { enrolment: e.into(), participant: p.into() },
            ))
        })
        .await?;
    Ok(web::Json(result))
}

/// The enrolment `id` if the caller may see its person (a trainer: on a
/// session they teach), else 404.
fn visible_enrolment(
    conn: &mut DbConnection,
    caller: &AuthUser,
    id: Id,
) -> Result<Enrolment, AppError> {
    let scope = ParticipantScope::of(conn, &caller.user)?;
    let enrolment = model::find(conn, id)?.ok_or(AppError::NotFound)?;
    crate::participants::model::find_visible(conn, &scope, enrolment.participant_id)?
        .ok_or(AppError::NotFound)?;
    // Only a trainer's view depends on the session: read it for them alone.
    if matches!(scope, ParticipantScope::Rosters { .. }) {
        let session =
            crate::sessions::model::find(conn, enrolment.session_id)?.ok_or(AppError::NotFound)?;
        if !access::sees_place_in(&session, &caller.user) {
            return Err(AppError::NotFound);
        }
    }
    Ok(enrolment)
}

/// Get an enrolment
///
/// Any signed-in user, for a place whose person is in their reach (for a
/// trainer, also in a session they teach); any other answers
/// `404 not_found`. Answers the place in any status.
#[utoipa::path(
    tag = "enrolments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The enrolment's id")),
    responses(
        (status = 200, description = "The place", body = EnrolmentResponse),
        (status = 404, description = "No such enrolment, or not one the caller may see"),
    )
)]
#[get("/enrolments/{id}")]
pub async fn get_enrolment(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let enrolment = state.db.run(move |conn| visible_enrolment(conn, &caller, id)).await?;
    conditional::read_one(&req, &EnrolmentResponse::from(enrolment))
}

/// Cancel an enrolment
///
/// Admins, coordinators (their unit's people) and participants (themselves
/// and their dependants); trainers get `403 forbidden`, a place out of
/// reach `404 not_found`. The place stays, `cancelled`; an enrolled place
/// goes to the first person waiting, a waitlisted one closes its gap.
/// A session that is over keeps its places (`409 session_over`). Answers
/// the cancelled place; cancelling again changes nothing.
#[utoipa::path(
    tag = "enrolments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The enrolment's id")),
    responses(
        (status = 200, description = "Cancelled (the row stays). An enrolled place went to the first person waiting. Cancelling again changes nothing", body = EnrolmentResponse),
        (status = 403, description = "A trainer"),
        (status = 404, description = "No such enrolment, or not one the caller may see"),
        (status = 409, description = "The session is over (`session_over`)"),
    )
)]
#[delete("/enrolments/{id}")]
pub async fn cancel_enrolment(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
) -> Result<web::Json<EnrolmentResponse>, AppError> {
    let id = id.into_inner();
    let cancelled = state
        .db
        .write(move |conn| {
            // A place out of reach is not found, whoever asks; only then
            // does the role matter (no `Enroller` extractor here, which
            // would answer 403 first).
            visible_enrolment(conn, &caller, id)?;
            access::enrolment_source(caller.user.role)?;
            model::cancel(conn, &Actor::user(caller.id()), id)
        })
        .await?;
    Ok(web::Json(cancelled.into()))
}

/// List the caller's and their dependants' places
///
/// Any signed-in user. Lists the places of the caller's own participant
/// profile and of their dependants, optionally of one `status`, oldest
/// first, each with the person, an outline of the session and the
/// attendance mark (`null` until taken). A caller without a profile gets
/// an empty page.
#[utoipa::path(
    tag = "enrolments",
    security(("bearer" = [])),
    params(PageQuery, EnrolmentListQuery),
    responses((status = 200, description = "A page of the places of the caller and their dependants, oldest first, with each session", body = MyEnrolmentPage))
)]
#[get("/me/enrolments")]
async fn my_enrolments(
    state: web::Data<AppState>,
    caller: AuthUser,
    Query(page): Query<PageQuery>,
    Query(query): Query<EnrolmentListQuery>,
) -> Result<web::Json<MyEnrolmentPage>, AppError> {
    let page = page.parse()?;
    let result = state
        .db
        .run(move |conn| {
            let Some(own) = crate::access::linked_profile(conn, caller.id())? else {
                return Ok(Page { items: Vec::new(), next_cursor: None });
            };
            let mut people: HashMap<Id, Participant> =
                crate::participants::model::dependants(conn, own)?
                    .into_iter()
                    .map(|p| (p.id, p))
                    .collect();
            if let Some(profile) = crate::participants::model::find(conn, own)? {
                people.insert(own, profile);
            }
            let ids: Vec<Id> = people.keys().copied().collect();
            let rows = model::of_participants(conn, &ids, query.status, &page)?;
            let session_ids: Vec<Id> = rows.iter().map(|e| e.session_id).collect();
            let sessions = crate::sessions::model::outlines(conn, &session_ids)?;
            let place_ids: Vec<Id> = rows.iter().map(|e| e.id).collect();
            let mut marks: HashMap<Id, AttendanceMark> =
                crate::attendance::model::marks_of(conn, &place_ids)?
                    .into_iter()
                    .map(|m| (m.enrolment_id, m))
                    .collect();
            Ok(Page::from_rows(
                rows,
                &page,
                |e| e.id,
                |e| {
                    let person = people.get(&e.participant_id).cloned();
                    let session = sessions.get(&e.session_id).cloned();
                    MyEnrolment {
                        attendance: marks.remove(&e.id).map(Into::into),
                        participant: person
                            .map(RosterPerson::from)
                            .expect("one of the people asked for"),
                        session: session
                            .map(SessionSummary::from)
                            .expect("every place has a session"),
                        enrolment: e.into(),
                    }
                },
            ))
        })
        .await?;
    Ok(web::Json(result))
}

/// The routes of `enrolments`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(enrol)
        .service(enrol_many)
        .service(roster)
        .service(get_enrolment)
        .service(cancel_enrolment)
        .service(my_enrolments);
}
