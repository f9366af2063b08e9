//! One error type for the whole API: what went wrong, its stable `code` and
//! its status. The words people read are in `messages.rs` (in English and
//! Vietnamese, one file for a translator); the problem+json answer and its
//! middleware are in `http::problems`.

mod messages;

use std::fmt;

use actix_web::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::lang::Lang;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// What is wrong with one field of a request, independent of language.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldIssue {
    Required,
    Blank,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    InvalidEmail,
    ControlCharacters,
    /// Characters that change the direction text is shown in, which can
    /// make it show otherwise than it reads (`\u{202E}evil\u{202C} txt.exe`).
    DirectionControls,
    /// A person's name with no letter to show: digits, signs or invisible
    /// characters only.
    NoLetter,
    /// The field names something (a unit, a person) that does not exist.
    UnknownReference,
    /// Before 1900 or after today.
    BirthDateOutOfRange,
    Incorrect,
    NotAllowedForRole,
    NotUuid,
    NotPhoneNumber,
    /// An `Idempotency-Key` that is not 1–255 visible ASCII characters.
    NotIdempotencyKey,
    /// A `since` that no `GET /me/rosters` gave.
    NotSyncToken,
    /// A participant's own dependant who is not a child.
    NotAChild,
    /// A guardian or parent that would make a loop (itself, or its own
    /// dependant or descendant).
    CreatesCycle,
    /// An account already linked to another participant profile.
    AlreadyLinked,
    NotATrainer,
    /// A list that must hold at least one item.
    EmptyList,
    /// A time or date that must come after another field's.
    NotAfter(&'static str),
    /// A date that must not come before another field's.
    Before(&'static str),
    /// A date or time outside the years classes are planned in.
    OutsidePlanningYears,
    /// A request body that is not a JSON object.
    NotObject,
    /// A person without an enrolled place in the session.
    NotEnrolled,
    /// The same item twice in one request.
    Duplicate,
    Range {
        min: i64,
        max: i64,
    },
    /// A parser's own message, in English only.
    Invalid(String),
    /// A day in an imported list that is neither `YYYY-MM-DD` nor
    /// `DD/MM/YYYY` (nor a spreadsheet's day).
    NotADay,
    /// An uploaded list that is neither a CSV nor an XLSX workbook.
    NotAList,
    /// A CSV list in another encoding than UTF-8.
    NotUtf8List,
    /// A list whose header names no column of names.
    NoNameColumn,
    /// A value of an imported list outside the closed set of its column
    /// (a category, a gender, a way of consenting).
    UnknownValue,
    /// A webhook URL that is not an absolute `http(s)` URL with a host (or
    /// that carries a user name or password).
    NotWebhookUrl,
    /// A webhook URL whose host is, or resolves to, a private, loopback,
    /// link-local or other non-public address.
    NotPublicAddress,
    /// A webhook URL whose host name does not resolve.
    Unresolvable,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InvalidField {
    pub field: String,
    pub issue: FieldIssue,
}

impl InvalidField {
    pub fn new(field: impl Into<String>, issue: FieldIssue) -> Self {
        Self { field: field.into(), issue }
    }
}

/// Why a request without valid credentials was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    MissingToken,
    /// Forged, expired, malformed, or of a user or login no longer active.
    InvalidToken,
    /// Unknown email, wrong password or inactive account: one answer for
    /// all, so that nobody can learn which accounts exist.
    InvalidCredentials,
    InvalidRefreshToken,
}

/// A request that conflicts with the current state, each with the
/// machine-readable `code` that clients switch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    EmailTaken,
    CodeTaken,
    LastAdmin,
    /// The profile's personal data was erased; it cannot be changed.
    Anonymized,
    /// A session's capacity below the places already taken.
    CapacityBelowEnrolled,
    /// An offline mark already received (answered per item, as `duplicate`).
    DuplicateMark,
    /// The first request with this `Idempotency-Key` is still running.
    IdempotencyKeyInFlight,
    /// A participant who has added as many dependants as allowed.
    TooManyDependants,
}

impl Conflict {
    pub fn code(self) -> &'static str {
        match self {
            Self::EmailTaken => "email_taken",
            Self::CodeTaken => "code_taken",
            Self::LastAdmin => "last_admin",
            Self::Anonymized => "participant_anonymized",
            Self::CapacityBelowEnrolled => "capacity_below_enrolled",
            Self::DuplicateMark => "duplicate",
            Self::IdempotencyKeyInFlight => "idempotency_key_in_flight",
            Self::TooManyDependants => "too_many_dependants",
        }
    }
}

/// Why an enrolment, a mark or a check-in was refused: the `code` that
/// clients switch on, also the `reason` of a refused item in a batch.
/// A state that may change (a seat, a window, a guardian on file) is `409`;
/// a session that is not meant for this person's audience is `422`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    SessionFull,
    SessionCancelled,
    SessionOver,
    EnrolmentClosed,
    CategoryNotEligible,
    ScheduleConflict,
    GuardianRequired,
    /// A child's place where consent is required and no guardian's
    /// consent is on file.
    ConsentRequired,
    /// In a bulk answer: a participant that does not exist or that the
    /// caller may not see (a single request answers 404).
    ParticipantNotFound,
    /// A mark or check-in for someone without an enrolled place.
    NotEnrolled,
    InvalidCode,
    /// A device pairing code that is wrong, expired or already used.
    InvalidPairingCode,
    /// A trainer's mark too early or too late; admins may still correct.
    OutsideMarkingWindow,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::SessionFull => "session_full",
            Self::SessionCancelled => "session_cancelled",
            Self::SessionOver => "session_over",
            Self::EnrolmentClosed => "enrolment_closed",
            Self::CategoryNotEligible => "category_not_eligible",
            Self::ScheduleConflict => "schedule_conflict",
            Self::GuardianRequired => "guardian_required",
            Self::ConsentRequired => "consent_required",
            Self::ParticipantNotFound => "participant_not_found",
            Self::NotEnrolled => "not_enrolled",
            Self::InvalidCode => "invalid_code",
            Self::InvalidPairingCode => "invalid_pairing_code",
            Self::OutsideMarkingWindow => "outside_marking_window",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::CategoryNotEligible
            | Self::NotEnrolled
            | Self::InvalidCode
            | Self::InvalidPairingCode => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ParticipantNotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::CONFLICT,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum AppError {
    /// The body is not valid JSON (400).
    MalformedJson(String),
    /// A path or query parameter cannot be read (400).
    BadParameter(Vec<InvalidField>),
    /// The request is well-formed but its values break a rule (422).
    Validation(Vec<InvalidField>),
    Unauthenticated(AuthFailure),
    Forbidden,
    NotFound,
    MethodNotAllowed {
        allow: String,
    },
    Conflict(Conflict),
    Refused(Refusal),
    /// A refusal caused by some items of the request, listed in `errors`.
    RefusedItems(Refusal, Vec<InvalidField>),
    PayloadTooLarge {
        limit: usize,
    },
    /// An imported list with more rows under its header than allowed (413).
    ListTooLong {
        max_rows: usize,
    },
    UnsupportedMediaType,
    /// `If-Match` names a version of the resource that is no longer stored.
    PreconditionFailed,
    /// An `Idempotency-Key` already used for another request (422).
    IdempotencyKeyReused,
    /// The request line or a header is not HTTP/1.1 (400), refused by
    /// the HTTP layer before any route (see `http::wire`).
    MalformedRequest,
    /// The request line and headers together are too large (431).
    HeadersTooLarge,
    /// The request did not arrive within its deadline (408).
    RequestTimeout,
    TooManyRequests {
        retry_after_secs: u64,
    },
    ServiceUnavailable {
        retry_after_secs: u64,
    },
    /// A fault of ours; its cause has been logged, never shown.
    Internal,
}

/// The problem document of RFC 9457, plus `code` (machine-readable) and
/// `errors` (one entry per invalid field).
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "urn:lophoc:problem:validation_failed")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Machine-readable reason, stable across languages.
    #[schema(example = "validation_failed")]
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ProblemField {
    /// The field's path in the request, such as `email` or `marks[2].status`.
    pub field: String,
    pub message: String,
}

impl AppError {
    /// Logs `cause` (never shown to the client) and answers 500.
    pub fn internal(context: &str, cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        AppError::Internal
    }

    pub fn validation(field: impl Into<String>, issue: FieldIssue) -> Self {
        AppError::Validation(vec![InvalidField::new(field, issue)])
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::BadParameter(_) => "invalid_parameter",
            Self::Validation(_) => "validation_failed",
            Self::Unauthenticated(AuthFailure::MissingToken) => "missing_token",
            Self::Unauthenticated(AuthFailure::InvalidToken) => "invalid_token",
            Self::Unauthenticated(AuthFailure::InvalidCredentials) => "invalid_credentials",
            Self::Unauthenticated(AuthFailure::InvalidRefreshToken) => "invalid_refresh_token",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Conflict(conflict) => conflict.code(),
            Self::Refused(refusal) | Self::RefusedItems(refusal, _) => refusal.code(),
            Self::PayloadTooLarge { .. } | Self::ListTooLong { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PreconditionFailed => "precondition_failed",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::MalformedRequest => "malformed_request",
            Self::HeadersTooLarge => "headers_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::ServiceUnavailable { .. } => "service_unavailable",
            Self::Internal => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::BadParameter(_) | Self::MalformedRequest => {
                StatusCode::BAD_REQUEST
            }
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Refused(refusal) | Self::RefusedItems(refusal, _) => refusal.status(),
            Self::PayloadTooLarge { .. } | Self::ListTooLong { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn problem(&self, lang: Lang) -> Problem {
        let fields = match self {
            Self::BadParameter(fields)
            | Self::Validation(fields)
            | Self::RefusedItems(_, fields) => fields.as_slice(),
            _ => &[],
        };
        Problem {
            problem_type: format!("urn:lophoc:problem:{}", self.code()),
            title: self.title(lang).to_owned(),
            status: self.status().as_u16(),
            detail: self.detail(lang),
            code: self.code().to_owned(),
            errors: fields
                .iter()
                .map(|f| ProblemField { field: f.field.clone(), message: f.issue.message(lang) })
                .collect(),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Whether the database connection was lost (the server restarted, or
/// ended it) rather than the statement failing.
pub fn is_connection_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        err,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        // Contention that outlasted SQLite's busy_timeout, or a PostgreSQL
        // serialisation failure: the request may well succeed if retried.
        // A connection lost (the server restarted or ended it): diesel marks
        // it broken, so the pool drops it and a retry gets another.
        if is_connection_lost(&err) {
            tracing::warn!(error = %err, "database connection lost");
            return AppError::ServiceUnavailable { retry_after_secs: 1 };
        }
        let contended = match &err {
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            // PostgreSQL ends one of two transactions that wait on each
            // other; sent again, it goes through.
            Error::DatabaseError(_, info) => {
                info.message().contains("database is locked")
                    || info.message().contains("deadlock detected")
            }
            _ => false,
        };
        if contended {
            tracing::warn!(error = %err, "database contention");
            return AppError::ServiceUnavailable { retry_after_secs: 1 };
        }
        AppError::internal("database error", err)
    }
}
