//! One error type for the whole API, rendered as `application/problem+json`
//! (RFC 9457) in English or Vietnamese.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The language of the messages a client reads, and of the files people
/// open (`?lang=en|vi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    En,
    Vi,
}

impl Lang {
    /// Picks the language from `Accept-Language`: Vietnamese when the client
    /// prefers it to English, English otherwise.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::En;
        };
        let mut best = (Lang::En, 0.0_f32);
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("vi") => Lang::Vi,
                Some("en") | Some("*") => Lang::En,
                _ => continue,
            };
            if quality > best.1 {
                best = (lang, quality);
            }
        }
        best.0
    }

    pub fn pick<'a>(self, en: &'a str, vi: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Vi => vi,
        }
    }
}

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
    /// The field names something (a unit, a person) that does not exist.
    UnknownReference,
    /// Before 1900 or after today.
    BirthDateOutOfRange,
    Incorrect,
    NotAllowedForRole,
    NotUuid,
    NotPhoneNumber,
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
}

impl FieldIssue {
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Required, Lang::En) => "is required".into(),
            (Self::Required, Lang::Vi) => "là bắt buộc".into(),
            (Self::Blank, Lang::En) => "must not be blank".into(),
            (Self::Blank, Lang::Vi) => "không được để trống".into(),
            (Self::TooShort { min }, Lang::En) => format!("must be at least {min} characters"),
            (Self::TooShort { min }, Lang::Vi) => format!("phải có ít nhất {min} ký tự"),
            (Self::TooLong { max }, Lang::En) => format!("must be at most {max} characters"),
            (Self::TooLong { max }, Lang::Vi) => format!("không được quá {max} ký tự"),
            (Self::InvalidEmail, Lang::En) => "is not a valid email address".into(),
            (Self::InvalidEmail, Lang::Vi) => "không phải là địa chỉ email hợp lệ".into(),
            (Self::ControlCharacters, Lang::En) => "must not contain control characters".into(),
            (Self::ControlCharacters, Lang::Vi) => "không được chứa ký tự điều khiển".into(),
            (Self::UnknownReference, Lang::En) => "does not exist".into(),
            (Self::UnknownReference, Lang::Vi) => "không tồn tại".into(),
            (Self::BirthDateOutOfRange, Lang::En) => {
                "must be a date from 1900-01-01 to today".into()
            }
            (Self::BirthDateOutOfRange, Lang::Vi) => {
                "phải là ngày từ 01/01/1900 đến hôm nay".into()
            }
            (Self::Incorrect, Lang::En) => "is not correct".into(),
            (Self::Incorrect, Lang::Vi) => "không đúng".into(),
            (Self::NotAllowedForRole, Lang::En) => "is not allowed for this role".into(),
            (Self::NotAllowedForRole, Lang::Vi) => "không áp dụng cho vai trò này".into(),
            (Self::NotUuid, Lang::En) => "must be a UUID".into(),
            (Self::NotUuid, Lang::Vi) => "phải là một UUID".into(),
            (Self::NotPhoneNumber, Lang::En) => "must be a phone number".into(),
            (Self::NotPhoneNumber, Lang::Vi) => "phải là số điện thoại".into(),
            (Self::CreatesCycle, Lang::En) => "would make a loop".into(),
            (Self::CreatesCycle, Lang::Vi) => "sẽ tạo thành vòng lặp".into(),
            (Self::AlreadyLinked, Lang::En) => {
                "is already linked to another participant profile".into()
            }
            (Self::AlreadyLinked, Lang::Vi) => "đã được liên kết với hồ sơ học viên khác".into(),
            (Self::NotATrainer, Lang::En) => "must be an active trainer's account".into(),
            (Self::NotATrainer, Lang::Vi) => "phải là tài khoản giảng viên đang hoạt động".into(),
            (Self::EmptyList, Lang::En) => "must not be empty".into(),
            (Self::EmptyList, Lang::Vi) => "không được để trống".into(),
            (Self::NotAfter(other), Lang::En) => format!("must be after {other}"),
            (Self::NotAfter(other), Lang::Vi) => format!("phải sau {other}"),
            (Self::Before(other), Lang::En) => format!("must not be before {other}"),
            (Self::Before(other), Lang::Vi) => format!("không được trước {other}"),
            (Self::OutsidePlanningYears, Lang::En) => "must fall in the years 2000 to 2100".into(),
            (Self::OutsidePlanningYears, Lang::Vi) => "phải nằm trong các năm 2000 đến 2100".into(),
            (Self::NotEnrolled, Lang::En) => "has no enrolled place in this session".into(),
            (Self::NotEnrolled, Lang::Vi) => "không có chỗ đã ghi danh trong buổi học này".into(),
            (Self::Duplicate, Lang::En) => "appears more than once".into(),
            (Self::Duplicate, Lang::Vi) => "xuất hiện nhiều lần".into(),
            (Self::NotObject, Lang::En) => "must be a JSON object".into(),
            (Self::NotObject, Lang::Vi) => "phải là một đối tượng JSON".into(),
            (Self::Range { min, max }, Lang::En) => {
                format!("must be a whole number from {min} to {max}")
            }
            (Self::Range { min, max }, Lang::Vi) => format!("phải là số nguyên từ {min} đến {max}"),
            (Self::Invalid(detail), Lang::En) => detail.clone(),
            (Self::Invalid(_), Lang::Vi) => "giá trị không hợp lệ".into(),
        }
    }
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
        }
    }

    fn detail(self, lang: Lang) -> &'static str {
        match self {
            Self::EmailTaken => lang.pick(
                "An account with this email already exists.",
                "Đã có tài khoản với email này.",
            ),
            Self::CodeTaken => lang.pick(
                "Another unit already has this code.",
                "Mã này đã được một đơn vị khác sử dụng.",
            ),
            Self::LastAdmin => lang.pick(
                "This is the last active administrator; appoint another one first.",
                "Đây là quản trị viên cuối cùng đang hoạt động; hãy chỉ định người khác trước.",
            ),
            Self::Anonymized => lang.pick(
                "This participant's personal data was erased; the profile cannot be changed.",
                "Dữ liệu cá nhân của học viên này đã bị xoá; không thể sửa hồ sơ.",
            ),
            Self::CapacityBelowEnrolled => lang.pick(
                "More people are enrolled than this capacity allows; cancel places first.",
                "Số người đã ghi danh nhiều hơn sức chứa này; hãy huỷ bớt trước.",
            ),
            Self::DuplicateMark => lang.pick(
                "This offline mark was already received.",
                "Điểm danh ngoại tuyến này đã được nhận trước đó.",
            ),
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
    /// In a bulk answer: a participant that does not exist or that the
    /// caller may not see (a single request answers 404).
    ParticipantNotFound,
    /// A mark or check-in for someone without an enrolled place.
    NotEnrolled,
    InvalidCode,
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
            Self::ParticipantNotFound => "participant_not_found",
            Self::NotEnrolled => "not_enrolled",
            Self::InvalidCode => "invalid_code",
            Self::OutsideMarkingWindow => "outside_marking_window",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::CategoryNotEligible | Self::NotEnrolled | Self::InvalidCode => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::ParticipantNotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::CONFLICT,
        }
    }

    fn detail(self, lang: Lang) -> &'static str {
        match self {
            Self::SessionFull => lang.pick(
                "The session is full and keeps no waitlist.",
                "Buổi học đã đủ chỗ và không có danh sách chờ.",
            ),
            Self::SessionCancelled => {
                lang.pick("The session was cancelled.", "Buổi học đã bị huỷ.")
            }
            Self::SessionOver => lang.pick("The session is over.", "Buổi học đã kết thúc."),
            Self::EnrolmentClosed => lang.pick(
                "Enrolment for this session is not open now.",
                "Hiện không trong thời gian ghi danh cho buổi học này.",
            ),
            Self::CategoryNotEligible => lang.pick(
                "The session is not open to this participant's category.",
                "Buổi học không dành cho đối tượng của học viên này.",
            ),
            Self::ScheduleConflict => lang.pick(
                "The participant already has a place in a session at an overlapping time.",
                "Học viên đã có chỗ trong một buổi học trùng thời gian.",
            ),
            Self::GuardianRequired => lang.pick(
                "A student under 16 needs a guardian on file before enrolling.",
                "Học sinh dưới 16 tuổi cần có người giám hộ trong hồ sơ trước khi ghi danh.",
            ),
            Self::ParticipantNotFound => {
                lang.pick("No such participant.", "Không tìm thấy học viên.")
            }
            Self::NotEnrolled => lang.pick(
                "The participant has no enrolled place in this session.",
                "Học viên không có chỗ đã ghi danh trong buổi học này.",
            ),
            Self::InvalidCode => lang.pick(
                "The check-in code is wrong or has expired.",
                "Mã điểm danh không đúng hoặc đã hết hạn.",
            ),
            Self::OutsideMarkingWindow => lang.pick(
                "Attendance is taken from 30 minutes before the start until 7 days after the end; later corrections are for administrators.",
                "Chỉ điểm danh từ 30 phút trước giờ học đến 7 ngày sau khi kết thúc; sửa sau đó do quản trị viên thực hiện.",
            ),
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
    UnsupportedMediaType,
    /// `If-Match` names a version of the resource that is no longer stored.
    PreconditionFailed,
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
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PreconditionFailed => "precondition_failed",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::ServiceUnavailable { .. } => "service_unavailable",
            Self::Internal => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::BadParameter(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Refused(refusal) | Self::RefusedItems(refusal, _) => refusal.status(),
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self, lang: Lang) -> &'static str {
        match self {
            Self::MalformedJson(_) => lang.pick("Malformed JSON", "JSON không hợp lệ"),
            Self::BadParameter(_) => lang.pick("Invalid parameter", "Tham số không hợp lệ"),
            Self::Validation(_) => lang.pick("Validation failed", "Dữ liệu không hợp lệ"),
            Self::Unauthenticated(_) => lang.pick("Unauthorized", "Chưa xác thực"),
            Self::Forbidden => lang.pick("Forbidden", "Không có quyền"),
            Self::NotFound => lang.pick("Not found", "Không tìm thấy"),
            Self::MethodNotAllowed { .. } => {
                lang.pick("Method not allowed", "Phương thức không được hỗ trợ")
            }
            Self::Conflict(_) => lang.pick("Conflict", "Xung đột"),
            Self::Refused(_) | Self::RefusedItems(..) => lang.pick("Refused", "Bị từ chối"),
            Self::PayloadTooLarge { .. } => lang.pick("Payload too large", "Dữ liệu quá lớn"),
            Self::UnsupportedMediaType => {
                lang.pick("Unsupported media type", "Kiểu nội dung không được hỗ trợ")
            }
            Self::PreconditionFailed => {
                lang.pick("Precondition failed", "Điều kiện không còn đúng")
            }
            Self::TooManyRequests { .. } => lang.pick("Too many requests", "Quá nhiều yêu cầu"),
            Self::ServiceUnavailable { .. } => {
                lang.pick("Service unavailable", "Dịch vụ tạm thời không khả dụng")
            }
            Self::Internal => lang.pick("Internal server error", "Lỗi máy chủ"),
        }
    }

    fn detail(&self, lang: Lang) -> String {
        match self {
            Self::MalformedJson(parser) => match lang {
                Lang::En => format!("The request body is not valid JSON: {parser}."),
                Lang::Vi => "Nội dung yêu cầu không phải là JSON hợp lệ.".into(),
            },
            Self::BadParameter(_) => lang
                .pick(
                    "A path or query parameter is invalid; see `errors`.",
                    "Tham số đường dẫn hoặc truy vấn không hợp lệ; xem `errors`.",
                )
                .into(),
            Self::Validation(_) => lang
                .pick(
                    "Some fields are invalid; see `errors`.",
                    "Một số trường không hợp lệ; xem `errors`.",
                )
                .into(),
            Self::Unauthenticated(AuthFailure::MissingToken) => lang
                .pick(
                    "Send an access token: `Authorization: Bearer <token>`.",
                    "Cần gửi mã truy cập: `Authorization: Bearer <token>`.",
                )
                .into(),
            Self::Unauthenticated(AuthFailure::InvalidToken) => lang
                .pick(
                    "The access token is invalid or has expired.",
                    "Mã truy cập không hợp lệ hoặc đã hết hạn.",
                )
                .into(),
            Self::Unauthenticated(AuthFailure::InvalidCredentials) => lang
                .pick("Email or password is incorrect.", "Email hoặc mật khẩu không đúng.")
                .into(),
            Self::Unauthenticated(AuthFailure::InvalidRefreshToken) => lang
                .pick(
                    "The refresh token is invalid, expired or already used; log in again.",
                    "Mã làm mới không hợp lệ, đã hết hạn hoặc đã được dùng; hãy đăng nhập lại.",
                )
                .into(),
            Self::Forbidden => lang
                .pick(
                    "Your role does not allow this action.",
                    "Vai trò của bạn không được phép thực hiện thao tác này.",
                )
                .into(),
            Self::NotFound => {
                lang.pick("The resource does not exist.", "Tài nguyên không tồn tại.").into()
            }
            Self::MethodNotAllowed { allow } => match lang {
                Lang::En => format!("This path accepts only: {allow}."),
                Lang::Vi => format!("Đường dẫn này chỉ chấp nhận: {allow}."),
            },
            Self::Conflict(conflict) => conflict.detail(lang).into(),
            Self::Refused(refusal) | Self::RefusedItems(refusal, _) => refusal.detail(lang).into(),
            Self::PayloadTooLarge { limit } => match lang {
                Lang::En => format!("The request body is larger than {limit} bytes."),
                Lang::Vi => format!("Nội dung yêu cầu lớn hơn {limit} byte."),
            },
            Self::UnsupportedMediaType => lang
                .pick(
                    "Send the body as JSON with `Content-Type: application/json`.",
                    "Hãy gửi nội dung dạng JSON với `Content-Type: application/json`.",
                )
                .into(),
            Self::PreconditionFailed => lang
                .pick(
                    "The resource has changed since you read it (its ETag differs from `If-Match`); read it again and reapply your change.",
                    "Bản ghi đã bị thay đổi kể từ lần bạn đọc (ETag khác `If-Match`); hãy tải lại rồi sửa lại.",
                )
                .into(),
            Self::TooManyRequests { retry_after_secs } => match lang {
                Lang::En => format!("Too many attempts; try again in {retry_after_secs} seconds."),
                Lang::Vi => format!("Quá nhiều lần thử; hãy thử lại sau {retry_after_secs} giây."),
            },
            Self::ServiceUnavailable { .. } => lang
                .pick(
                    "The service is busy or cannot reach its database; try again shortly.",
                    "Dịch vụ đang bận hoặc không kết nối được cơ sở dữ liệu; hãy thử lại sau.",
                )
                .into(),
            Self::Internal => lang
                .pick(
                    "Something went wrong on our side; it has been logged.",
                    "Đã có lỗi phía máy chủ; lỗi đã được ghi lại.",
                )
                .into(),
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

    pub fn to_response(&self, lang: Lang) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        match self {
            Self::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            Self::TooManyRequests { retry_after_secs }
            | Self::ServiceUnavailable { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.problem(lang)).unwrap_or_default();
        response.body(body)
    }

    /// The problem to show for an error status that did not come from an
    /// `AppError` (actix's own extractors and payload limits).
    pub fn for_foreign_status(status: StatusCode, body_limit: usize) -> Self {
        match status.as_u16() {
            400 => Self::MalformedJson("unreadable request".into()),
            401 => Self::Unauthenticated(AuthFailure::MissingToken),
            403 => Self::Forbidden,
            404 => Self::NotFound,
            413 => Self::PayloadTooLarge { limit: body_limit },
            415 => Self::UnsupportedMediaType,
            412 => Self::PreconditionFailed,
            429 => Self::TooManyRequests { retry_after_secs: 60 },
            503 => Self::ServiceUnavailable { retry_after_secs: 5 },
            _ => Self::Internal,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.to_response(Lang::En)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        // Contention that outlasted SQLite's busy_timeout, or a PostgreSQL
        // serialisation failure: the request may well succeed if retried.
        let contended = match &err {
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            Error::DatabaseError(_, info) => info.message().contains("database is locked"),
            _ => false,
        };
        if contended {
            tracing::warn!(error = %err, "database contention");
            return AppError::ServiceUnavailable { retry_after_secs: 1 };
        }
        AppError::internal("database error", err)
    }
}
