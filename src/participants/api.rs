//! `/api/v1/participants`: profiles of the people who attend, scoped to
//! what each caller may see (see [`crate::access`]).

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{
    self, ParticipantFilter, ProfileFields, ProfileLinks, ProfileUpdate, SameBecause,
};
use super::{Participant, consent};
use crate::access::{EligibilityFields, ParticipantScope, Placement};
use crate::audit::Actor;
use crate::auth::{Admin, AuthUser, SignedIn};
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldIssue};
use crate::http;
use crate::http::conditional::{self, IfMatch};
use crate::http::fallback;
use crate::http::json::{Json, nullable};
use crate::http::pagination::{Page, PageQuery};
use crate::http::query::Query;
use crate::http::utc::{date_or_null, utc, utc_or_null};
use crate::id::Id;
use crate::local_time;
use crate::operations;
use crate::state::AppState;
use crate::validation::Validator;
use crate::vocab::{Category, ConsentMethod, Gender};
use utoipa_actix_web::service_config::ServiceConfig;

/// The longest name search accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

// No `Debug`, here or on the other types that hold personal data, so that
// none of it can reach a log by accident.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ParticipantResponse {
    pub id: Id,
    /// Empty once anonymised.
    #[schema(example = "Nguyễn Thị Hường")]
    pub full_name: String,
    pub category: Category,
    #[schema(required = true)]
    pub organization_id: Option<Id>,
    // The fields below are absent (not null) for trainers, who see only
    // name, category and unit: the outer `Option` is "shown at all".
    /// Absent for trainers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Absent for trainers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "date_or_null",
        deserialize_with = "nullable"
    )]
    #[schema(value_type = Option<NaiveDate>)]
    pub birth_date: Option<Option<NaiveDate>>,
    /// Absent for trainers.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Absent for trainers.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// The guardian's participant profile (a parent, for a minor). Absent
    /// for trainers.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable")]
    pub guardian_id: Option<Option<Id>>,
    /// The login account linked to this profile. Absent for trainers.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable")]
    pub user_id: Option<Option<Id>>,
    /// The latest guardian's consent on file for a child's data (see `PUT
    /// /participants/{id}/consent`); `null` if none was ever recorded.
    /// Absent for trainers.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable")]
    pub guardian_consent: Option<Option<GuardianConsent>>,
    /// When an admin erased the personal data; `null` otherwise.
    #[schema(required = true)]
    #[serde(serialize_with = "utc_or_null")]
    pub anonymized_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "utc")]
    pub updated_at: DateTime<Utc>,
}

/// A guardian's consent to processing a child's personal data (Decree
/// 13/2023/NĐ-CP, Art. 20).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct GuardianConsent {
    /// The guardian's profile that gave it: the child's guardian on file
    /// when it was recorded.
    #[schema(required = true)]
    pub guardian_id: Option<Id>,
    pub method: ConsentMethod,
    /// The account that recorded it: the guardian's own for `in_app`, the
    /// coordinator's or admin's who took the paper form or the message;
    /// `null` for consent loaded with the demo.
    #[schema(required = true)]
    pub recorded_by: Option<Id>,
    #[serde(serialize_with = "utc")]
    pub recorded_at: DateTime<Utc>,
    /// When it was withdrawn; `null` while it holds.
    #[schema(required = true)]
    #[serde(serialize_with = "utc_or_null")]
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl GuardianConsent {
    /// The latest consent on a profile, withdrawn or not.
    fn of(row: &Participant) -> Option<Self> {
        Some(Self {
            guardian_id: row.consent_guardian_id,
            method: row.consent_method?,
            recorded_by: row.consent_recorded_by,
            recorded_at: row.consent_recorded_at?.and_utc(),
            withdrawn_at: row.consent_withdrawn_at.map(|at| at.and_utc()),
        })
    }
}

/// How a guardian gave consent.
#[derive(Deserialize, ToSchema)]
struct ConsentRequest {
    /// `paper` (a signed form) or `sms` when a coordinator or an admin
    /// records it; `in_app` when the guardian gives it from their own
    /// account.
    pub method: ConsentMethod,
}

/// A page of [`ParticipantResponse`]s, under its own name in the document.
type ParticipantPage = Page<ParticipantResponse>;

impl ParticipantResponse {
    /// The profile as `scope`'s caller may see it.
    pub fn new(row: Participant, scope: &ParticipantScope) -> Self {
        let shown = scope.shows_personal_fields();
        let guardian_consent = shown.then(|| GuardianConsent::of(&row));
        Self {
            gender: shown.then_some(row.gender),
            birth_date: shown.then_some(row.birth_date),
            phone: shown.then_some(row.phone),
            email: shown.then_some(row.email),
            guardian_id: shown.then_some(row.guardian_id),
            user_id: shown.then_some(row.user_id),
            guardian_consent,
            id: row.id,
            full_name: row.full_name,
            category: row.category,
            organization_id: row.organization_id,
            anonymized_at: row.anonymized_at.map(|at| at.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// A new profile. Coordinators create in their own unit (the default when
/// `organization_id` is absent); a participant creates a dependant, with
/// their own profile as guardian; only admins link an account.
#[derive(Deserialize, ToSchema)]
struct CreateParticipantRequest {
    #[schema(example = "Nguyễn Thị Hường", min_length = 1, max_length = 200)]
    pub full_name: String,
    pub category: Category,
    pub organization_id: Option<Id>,
    pub gender: Option<Gender>,
    /// Required for students.
    pub birth_date: Option<NaiveDate>,
    #[schema(example = "+84 912 345 678", max_length = 20)]
    pub phone: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    pub guardian_id: Option<Id>,
    pub user_id: Option<Id>,
}

/// Any subset of fields; absent ones stay as they are, `null` clears a
/// nullable one.
#[derive(Deserialize, ToSchema)]
struct UpdateParticipantRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: Option<String>,
    pub category: Option<Category>,
    #[serde(default, deserialize_with = "nullable")]
    pub organization_id: Option<Option<Id>>,
    pub gender: Option<Gender>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub birth_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 20)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub guardian_id: Option<Option<Id>>,
    /// Admins only.
    #[serde(default, deserialize_with = "nullable")]
    pub user_id: Option<Option<Id>>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ParticipantListQuery {
    pub organization_id: Option<Id>,
    pub category: Option<Category>,
    pub guardian_id: Option<Id>,
    /// Name search, ignoring case and Vietnamese diacritics: every word
    /// must begin a word of the name ("nguyen huong" finds "Nguyễn Thị
    /// Hường").
    #[param(max_length = 200)]
    pub q: Option<String>,
}

fn optional_email(v: &mut Validator, field: &str, value: Option<&str>) -> Option<String> {
    let email = value.map(str::trim).filter(|e| !e.is_empty())?;
    Some(v.email(field, email))
}

/// Like [`visible`], for a write: the row is locked first, so that the
/// write builds on what is stored when it commits (an anonymisation
/// committed meanwhile is never undone).
fn visible_for_write(
    conn: &mut DbConnection,
    caller: &AuthUser,
    id: Id,
) -> Result<(ParticipantScope, Participant), AppError> {
    db::lock_row(conn, db::Table::Participants, id)?;
    visible(conn, caller, id)
}

/// The caller's scope and the profile `id` if it is in it, else 404.
fn visible(
    conn: &mut DbConnection,
    caller: &AuthUser,
    id: Id,
) -> Result<(ParticipantScope, Participant), AppError> {
    let scope = ParticipantScope::of(conn, &caller.user)?;
    let row = model::find_visible(conn, &scope, id)?.ok_or(AppError::NotFound)?;
    Ok((scope, row))
}

/// Create a participant profile
///
/// Admins create anywhere and may link an account (`user_id`); coordinators
/// create in their own unit (the default); a participant creates a
/// dependant, with their own profile as guardian; trainers may not (all
/// these refusals are `403 forbidden`). A participant's dependant is a
/// child, with a `birth_date` under 18 years ago, and a participant adds
/// at most `LOPHOC_MAX_DEPENDANTS` (10 by default; `409
/// too_many_dependants` beyond). Unknown units, guardians or accounts, an
/// account already linked, a guardian loop, a student without `birth_date`
/// or a participant's dependant who is not a child answer `422
/// validation_failed`. Answers `201` with the profile.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    request_body = CreateParticipantRequest,
    responses(
        (status = 201, description = "Created", body = ParticipantResponse, headers(("Location" = String, description = "The new resource's path"))),
        (status = 403, description = "A trainer; a coordinator creating outside their unit; a participant naming another guardian; a non-admin linking an account"),
        (status = 409, description = "A participant who has added as many dependants as allowed (`too_many_dependants`)"),
    )
)]
#[post("/participants")]
pub async fn create_participant(
    state: web::Data<AppState>,
    caller: AuthUser,
    Json(body): Json<CreateParticipantRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let profile = ProfileFields {
        full_name: v.name("full_name", &body.full_name),
        category: body.category,
        organization_id: body.organization_id,
        gender: body.gender,
        birth_date: body.birth_date,
        phone: v.phone("phone", body.phone.as_deref()),
        email: optional_email(&mut v, "email", body.email.as_deref()),
    };
    profile.check(&mut v);
    v.finish()?;
    let requested =
        Placement { organization_id: profile.organization_id, guardian_id: body.guardian_id };
    let user_id = body.user_id;
    let today = local_time::today(state.config.timezone);
    let max_dependants = state.config.max_dependants;
    let response = state
        .db
        .write(move |conn| {
            let scope = ParticipantScope::of(conn, &caller.user)?;
            let placement = scope.place_new(requested)?;
            scope.check_new_dependant(conn, profile.birth_date, today, max_dependants)?;
            if let Some(guardian) = placement.guardian_id {
                scope.check_guardian(conn, guardian)?;
            }
            if user_id.is_some() && !scope.is_admin() {
                return Err(AppError::Forbidden);
            }
            let links = ProfileLinks {
                guardian_id: placement.guardian_id,
                user_id,
                created_by: Some(caller.id()),
            };
            let new = ProfileFields { organization_id: placement.organization_id, ..profile }
                .into_new(links);
            let row = model::create(conn, &Actor::user(caller.id()), new)?;
            Ok(ParticipantResponse::new(row, &scope))
        })
        .await?;
    Ok(http::created(&format!("/participants/{}", response.id), &response))
}

/// List participant profiles
///
/// Any signed-in user, who sees only the profiles in their reach: admins
/// all, coordinators their unit's, trainers the people on their sessions'
/// rosters (name, category and unit only), participants themselves and
/// their dependants. Filters by unit, category, guardian and a name search
/// `q` that ignores case and diacritics; trainers may not filter by
/// `guardian_id` (`403 forbidden`). Answers a page, oldest first.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(PageQuery, ParticipantListQuery),
    responses(
        (status = 200, description = "A page of the profiles the caller may see, oldest first", body = ParticipantPage),
        (status = 403, description = "A trainer filtering by `guardian_id`"),
    )
)]
#[get("/participants")]
async fn list_participants(
    state: web::Data<AppState>,
    caller: SignedIn,
    Query(page): Query<PageQuery>,
    Query(filter): Query<ParticipantListQuery>,
) -> Result<web::Json<ParticipantPage>, AppError> {
    let page = page.parse()?;
    if filter.q.as_ref().is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        let mut v = Validator::new();
        v.add("q", FieldIssue::TooLong { max: MAX_QUERY_CHARS });
        v.finish_params()?;
    }
    let filter = ParticipantFilter {
        organization_id: filter.organization_id,
        category: filter.category,
        guardian_id: filter.guardian_id,
        q: filter.q,
    };
    let result = state
        .db
        .run(move |conn| {
            // Who is whose guardian is personal: not for trainers.
            let refused = |scope: &ParticipantScope| {
                filter.guardian_id.is_some() && !scope.shows_personal_fields()
            };
            let answer = |rows: Vec<Participant>, scope: &ParticipantScope| {
                Page::from_rows(rows, &page, |p| p.id, |p| ParticipantResponse::new(p, scope))
            };
            // One statement, when the scope that the token's role and unit
            // give still holds: the statement checks them with the login.
            let mut found_none = None;
            if let Some(reach) = caller.claimed()
                && let Ok(Some(scope)) =
                    ParticipantScope::of_role(caller.user_id(), reach.role, reach.unit)
                && !refused(&scope)
            {
                let rows = model::list(conn, &scope, &filter, &page, Some(caller.live_as(reach)))?;
                if !rows.is_empty() {
                    return Ok(answer(rows, &scope));
                }
                found_none = Some((reach, scope));
            }
            // Nothing found, a participant (whose scope starts from their
            // profile), a refusal or an older token: the account as it is now
            // decides.
            let user = caller.confirm(conn)?;
            if let Some((reach, scope)) = found_none
                && reach.is_held_by(&user)
            {
                // The reach held: the page is empty.
                return Ok(answer(Vec::new(), &scope));
            }
            let scope = ParticipantScope::of(conn, &user)?;
            if refused(&scope) {
                return Err(AppError::Forbidden);
            }
            let rows = model::list(conn, &scope, &filter, &page, None)?;
            Ok(answer(rows, &scope))
        })
        .await?;
    Ok(web::Json(result))
}

/// Get a participant profile
///
/// Any signed-in user, for a profile in their reach (see the list); any
/// other answers `404 not_found`, as if it did not exist. Trainers get name,
/// category and unit only; the personal fields are absent from their
/// answer.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The profile's id")),
    responses(
        (status = 200, description = "The profile", body = ParticipantResponse),
        (status = 404, description = "No such profile, or not one the caller may see"),
    )
)]
#[get("/participants/{id}")]
pub async fn get_participant(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let response = state
        .db
        .run(move |conn| {
            let (scope, row) = visible(conn, &caller, id)?;
            Ok(ParticipantResponse::new(row, &scope))
        })
        .await?;
    conditional::read_one(&req, &response)
}

/// Change a participant profile
///
/// Admins, coordinators (their unit's profiles, which must stay in it) and
/// participants (themselves and their dependants, without handing one to
/// another guardian); trainers may not. Absent fields stay, `null` clears.
/// Only admins link or unlink an account. Once a profile has a place, its
/// unit, category and birth date (which decide the sessions it may take and
/// whether a guardian is needed) are changed by a coordinator of the unit
/// or an admin, not by participants; a participant's dependant keeps a
/// child's birth date. Refusals are `403 forbidden`, a
/// profile out of reach `404 not_found`, an anonymised one
/// `409 participant_anonymized`, broken rules `422 validation_failed`.
/// Answers the profile.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The profile's id")),
    request_body = UpdateParticipantRequest,
    responses(
        (status = 200, description = "The changed profile", body = ParticipantResponse),
        (status = 403, description = "A trainer; a coordinator moving the profile out of their unit; a participant changing a guardian, or the unit, category or birth date of a profile with places; a non-admin linking an account"),
        (status = 404, description = "No such profile, or not one the caller may see"),
        (status = 409, description = "The profile was anonymised (`participant_anonymized`)"),
    )
)]
#[patch("/participants/{id}")]
pub async fn update_participant(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
    if_match: IfMatch,
    Json(body): Json<UpdateParticipantRequest>,
) -> Result<HttpResponse, AppError> {
    let mut v = Validator::new();
    let update = ProfileUpdate {
        full_name: body.full_name.as_deref().map(|name| v.name("full_name", name)),
        category: body.category,
        organization_id: body.organization_id,
        gender: body.gender,
        birth_date: body.birth_date,
        phone: body.phone.map(|phone| v.phone("phone", phone.as_deref())),
        email: body.email.map(|email| optional_email(&mut v, "email", email.as_deref())),
        guardian_id: body.guardian_id,
        user_id: body.user_id,
    };
    v.finish()?;
    let id = id.into_inner();
    let today = local_time::today(state.config.timezone);
    let response = state
        .db
        .write(move |conn| {
            let (scope, current) = visible_for_write(conn, &caller, id)?;
            if_match.check(&ParticipantResponse::new(current.clone(), &scope))?;
            scope.check_change(update.organization_id.as_ref(), update.guardian_id.as_ref())?;
            let stored = EligibilityFields {
                id: current.id,
                guardian_id: current.guardian_id,
                organization_id: current.organization_id,
                category: current.category,
                birth_date: current.birth_date,
            };
            let changed = EligibilityFields {
                organization_id: update.organization_id.unwrap_or(stored.organization_id),
                category: update.category.unwrap_or(stored.category),
                birth_date: update.birth_date.unwrap_or(stored.birth_date),
                ..stored
            };
            scope.check_eligibility_change(conn, &stored, &changed, today)?;
            if let Some(Some(guardian)) = update.guardian_id {
                scope.check_guardian(conn, guardian)?;
            }
            if update.user_id.is_some() && !scope.is_admin() {
                return Err(AppError::Forbidden);
            }
            let row = model::update(conn, &Actor::user(caller.id()), current, update)?;
            Ok(ParticipantResponse::new(row, &scope))
        })
        .await?;
    conditional::changed(&response)
}

/// Erase a participant's personal data
///
/// Admins only (others get `403 forbidden`). Erases name, contact details,
/// birth date, attendance notes and the links to a guardian, an account and
/// dependants; keeps category, unit and gender for the figures. A linked
/// participant account is erased and deactivated too. Cannot be undone;
/// repeating it changes nothing. Answers the erased profile.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The profile's id")),
    responses(
        (status = 200, description = "Name, contact details, birth date and links erased; category, unit and gender kept so that statistics stay the same. Doing it again changes nothing", body = ParticipantResponse),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such profile"),
    )
)]
#[post("/participants/{id}/anonymize")]
pub async fn anonymize_participant(
    state: web::Data<AppState>,
    caller: Admin,
    id: web::Path<Id>,
) -> Result<web::Json<ParticipantResponse>, AppError> {
    let id = id.into_inner();
    let response = state
        .db
        .write(move |conn| {
            let (scope, current) = visible_for_write(conn, &caller, id)?;
            let row = operations::people::anonymize(conn, &Actor::user(caller.id()), current)?;
            Ok(ParticipantResponse::new(row, &scope))
        })
        .await?;
    Ok(web::Json(response))
}

/// A profile that looks like another one entered earlier.
#[derive(Serialize, ToSchema)]
struct DuplicateResponse {
    /// The later profile's id (the page's cursor runs over it).
    pub id: Id,
    /// The later profile.
    pub participant: ParticipantResponse,
    /// The oldest earlier profile it matches.
    pub same_as: ParticipantResponse,
    /// Besides the same name (ignoring case, diacritics and spacing): the
    /// same birth date, the same phone (in any spelling), or both.
    pub because: Vec<SameBecause>,
}

/// A page of [`DuplicateResponse`]s, under its own name in the document.
type DuplicatePage = Page<DuplicateResponse>;

/// List likely duplicate profiles
///
/// Profiles that look like one person entered twice, as imports and
/// walk-ins match people: the same name ignoring case, diacritics and
/// spacing, with the same birth date or the same phone in its national or
/// `+84` form. Each later profile is listed once, with the oldest earlier
/// one it matches, oldest first. Admins see every pair; coordinators the
/// pairs within their unit; others `403`. Erased profiles are left out.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of likely duplicates", body = DuplicatePage),
        (status = 403, description = "Not an admin or a coordinator"),
    )
)]
#[get("/participants/duplicates")]
async fn list_duplicates(
    state: web::Data<AppState>,
    caller: AuthUser,
    Query(page): Query<PageQuery>,
) -> Result<web::Json<DuplicatePage>, AppError> {
    let page = page.parse()?;
    let result = state
        .db
        .run(move |conn| {
            let scope = ParticipantScope::of(conn, &caller.user)?;
            if !scope.manages_lists() {
                return Err(AppError::Forbidden);
            }
            let pairs = model::likely_duplicates(conn, &scope, &page)?;
            Ok(Page::from_rows(
                pairs,
                &page,
                |pair| pair.later.id,
                |pair| DuplicateResponse {
                    id: pair.later.id,
                    participant: ParticipantResponse::new(pair.later, &scope),
                    same_as: ParticipantResponse::new(pair.earlier, &scope),
                    because: pair.because,
                },
            ))
        })
        .await?;
    Ok(web::Json(result))
}

/// The profile whose consent the caller records or withdraws, with the
/// scope the caller acts in: an admin's or a coordinator's own, or, for
/// anyone, that of the guardian on file acting from their own account (see
/// `ParticipantScope::check_consent`). `404` for a profile the caller
/// cannot see at all. Locks nothing: callers lock the profile's row first.
fn consent_subject(
    conn: &mut DbConnection,
    caller: &AuthUser,
    id: Id,
) -> Result<(ParticipantScope, Participant), AppError> {
    let scope = ParticipantScope::of(conn, &caller.user)?;
    let seen = model::find_visible(conn, &scope, id)?;
    let own = ParticipantScope::own(conn, &caller.user)?;
    let as_guardian = model::find_visible(conn, &own, id)?
        .filter(|row| own.check_consent(row.guardian_id, None).is_ok());
    match (seen, as_guardian) {
        (Some(row), _) if scope.check_consent(row.guardian_id, None).is_ok() => Ok((scope, row)),
        (_, Some(row)) => Ok((own, row)),
        (Some(row), None) => Ok((scope, row)),
        (None, None) => Err(AppError::NotFound),
    }
}

/// Record a guardian's consent
///
/// Records the consent of a child's guardian on file to processing the
/// child's personal data (Decree 13/2023/NĐ-CP, Art. 20), replacing any
/// earlier one. The guardian gives it from their own account
/// (`in_app`); a coordinator of the child's unit or an admin records a
/// signed paper form (`paper`) or a text message (`sms`). Others, the
/// child included, get `403 forbidden`; a profile out of reach `404`.
/// A profile with no guardian on file, or a method not the caller's to
/// record, is `422 validation_failed`; an anonymised one `409
/// participant_anonymized`. With `LOPHOC_REQUIRE_CONSENT=true` a student
/// under 16 enrols only with consent on file. Answers the consent.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's profile id")),
    request_body = ConsentRequest,
    responses(
        (status = 200, description = "The consent recorded", body = GuardianConsent),
        (status = 403, description = "Neither the guardian on file, nor a coordinator of the unit, nor an admin"),
        (status = 404, description = "No such profile, or not one the caller may see"),
        (status = 409, description = "The profile was anonymised (`participant_anonymized`)"),
    )
)]
#[put("/participants/{id}/consent")]
pub async fn give_consent(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
    Json(body): Json<ConsentRequest>,
) -> Result<web::Json<GuardianConsent>, AppError> {
    let id = id.into_inner();
    let given = state
        .db
        .write(move |conn| {
            db::lock_row(conn, db::Table::Participants, id)?;
            let (scope, current) = consent_subject(conn, &caller, id)?;
            scope.check_consent(current.guardian_id, Some(body.method))?;
            consent::record(conn, &Actor::user(caller.id()), current, body.method)
        })
        .await?;
    GuardianConsent::of(&given).map(web::Json).ok_or(AppError::NotFound)
}

/// Withdraw a guardian's consent
///
/// Marks the consent on file withdrawn and cancels the child's places in
/// sessions that have not started, as cancellations do (the first on a
/// waitlist takes a freed seat). The same callers as recording it; the
/// guardian from their own account, staff for a form or a message.
/// Withdrawing again changes nothing; a profile with no consent ever
/// recorded is `404`, an anonymised profile `409 participant_anonymized`.
/// Answers the withdrawn consent.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's profile id")),
    responses(
        (status = 200, description = "The consent, withdrawn", body = GuardianConsent),
        (status = 403, description = "Neither the guardian on file, nor a coordinator of the unit, nor an admin"),
        (status = 404, description = "No such profile, not one the caller may see, or no consent on file"),
        (status = 409, description = "The profile was anonymised (`participant_anonymized`)"),
    )
)]
#[delete("/participants/{id}/consent")]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
) -> Result<web::Json<GuardianConsent>, AppError> {
    let id = id.into_inner();
    let actor = Actor::user(caller.id());
    let withdrawn = state
        .db
        .write(move |conn| {
            operations::people::withdraw_consent(conn, &actor, id, |conn| {
                let (scope, current) = consent_subject(conn, &caller, id)?;
                scope.check_consent(current.guardian_id, None)?;
                Ok(current)
            })
        })
        .await?;
    GuardianConsent::of(&withdrawn).map(web::Json).ok_or(AppError::NotFound)
}

/// Which profile another is merged into.
#[derive(Deserialize, ToSchema)]
struct MergeRequest {
    /// The profile that stays: the merged one's places, marks, dependants
    /// and account go to it.
    pub into: Id,
}

/// Merge a profile into another
///
/// For one person entered twice (see `GET /participants/duplicates`): the
/// places of this profile move to `into` with their marks and history;
/// where both hold a place in one session, the better place stays
/// (enrolled before waitlisted, then the nearer the front) and the other
/// is cancelled. Dependants, the consents given as their guardian and the
/// linked account move to `into`; this profile is then anonymised, and its
/// audit trail records the merge (`merge`, naming `into`). Admins, and
/// coordinators for two profiles of their unit; others `403`. A profile
/// out of reach is `404`, an `into` out of reach or the same profile `422`,
/// two profiles that both have an account `422` (`into`: already linked),
/// an anonymised one `409 participant_anonymized`. Answers `into`.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The profile merged away")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The profile that stays, as it is after", body = ParticipantResponse),
        (status = 403, description = "Not an admin or a coordinator"),
        (status = 404, description = "No such profile, or not one the caller may see"),
        (status = 409, description = "One of them was anonymised (`participant_anonymized`)"),
    )
)]
#[post("/participants/{id}/merge")]
pub async fn merge_participant(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
    Json(body): Json<MergeRequest>,
) -> Result<web::Json<ParticipantResponse>, AppError> {
    let id = id.into_inner();
    let actor = Actor::user(caller.id());
    let response = state
        .db
        .write(move |conn| {
            let scope = ParticipantScope::of(conn, &caller.user)?;
            if !scope.manages_lists() {
                return Err(AppError::Forbidden);
            }
            let both = |conn: &mut DbConnection| {
                let merged = model::find_visible(conn, &scope, id)?.ok_or(AppError::NotFound)?;
                let into = model::find_visible(conn, &scope, body.into)?
                    .ok_or_else(|| AppError::validation("into", FieldIssue::UnknownReference))?;
                Ok((merged, into))
            };
            let into = operations::people::merge(conn, &actor, both)?;
            Ok(ParticipantResponse::new(into, &scope))
        })
        .await?;
    Ok(web::Json(response))
}

/// The routes of `participants`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_participant)
        .service(list_participants)
        .service(list_duplicates)
        // Any other method here is `405`: `duplicates` is not a profile's id.
        .route("/participants/duplicates", web::route().to(fallback::no_route))
        .service(get_participant)
        .service(update_participant)
        .service(anonymize_participant)
        .service(merge_participant)
        .service(give_consent)
        .service(withdraw_consent);
}
