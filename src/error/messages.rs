//! Every message of an error, in English and Vietnamese: the one file a
//! translator works in. Codes and statuses are in `error/mod.rs`.

use super::{AppError, AuthFailure, Conflict, FieldIssue, Refusal};
use crate::lang::Lang;

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
            (Self::DirectionControls, Lang::En) => {
                "must not contain characters that change the direction of text".into()
            }
            (Self::DirectionControls, Lang::Vi) => {
                "không được chứa ký tự đổi chiều hiển thị văn bản".into()
            }
            (Self::NoLetter, Lang::En) => "must contain at least one letter".into(),
            (Self::NoLetter, Lang::Vi) => "phải có ít nhất một chữ cái".into(),
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
            (Self::NotIdempotencyKey, Lang::En) => {
                "must be 1 to 255 visible ASCII characters".into()
            }
            (Self::NotSyncToken, Lang::En) => {
                "must be a sync_token as GET /me/rosters gave it".into()
            }
            (Self::NotSyncToken, Lang::Vi) => {
                "phải là một sync_token đúng như GET /me/rosters đã trả về".into()
            }
            (Self::NotAChild, Lang::En) => "must be a child's: under 18 today".into(),
            (Self::NotAChild, Lang::Vi) => {
                "phải là của trẻ em: dưới 18 tuổi tính đến hôm nay".into()
            }
            (Self::NotIdempotencyKey, Lang::Vi) => {
                "phải gồm 1 đến 255 ký tự ASCII nhìn thấy được".into()
            }
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
            (Self::NotAList, Lang::En) => {
                "must be a CSV file (UTF-8) or an Excel workbook (.xlsx)".into()
            }
            (Self::NotAList, Lang::Vi) => {
                "phải là tệp CSV (UTF-8) hoặc bảng tính Excel (.xlsx)".into()
            }
            (Self::NotUtf8List, Lang::En) => {
                "must be saved as CSV UTF-8 (in Excel: Save As, \"CSV UTF-8\")".into()
            }
            (Self::NotUtf8List, Lang::Vi) => {
                "phải được lưu dạng CSV UTF-8 (trong Excel: Lưu thành, \"CSV UTF-8\")".into()
            }
            (Self::NoNameColumn, Lang::En) => {
                "has no column headed \"Họ và tên\" or \"full_name\" in its first row".into()
            }
            (Self::NoNameColumn, Lang::Vi) => {
                "không có cột \"Họ và tên\" hoặc \"full_name\" ở dòng đầu tiên".into()
            }
            (Self::NotADay, Lang::En) => "must be a date as YYYY-MM-DD or DD/MM/YYYY".into(),
            (Self::NotADay, Lang::Vi) => "phải là ngày dạng YYYY-MM-DD hoặc DD/MM/YYYY".into(),
            (Self::UnknownValue, Lang::En) => "is not one of the values this column takes".into(),
            (Self::UnknownValue, Lang::Vi) => "không phải là một giá trị của cột này".into(),
            (Self::NotWebhookUrl, Lang::En) => {
                "must be an absolute http or https URL, without a user name or password".into()
            }
            (Self::NotWebhookUrl, Lang::Vi) => {
                "phải là một địa chỉ http hoặc https đầy đủ, không kèm tên đăng nhập hay mật khẩu"
                    .into()
            }
            (Self::NotPublicAddress, Lang::En) => {
                "points to a private, loopback or link-local address".into()
            }
            (Self::NotPublicAddress, Lang::Vi) => {
                "trỏ tới một địa chỉ nội bộ, loopback hoặc link-local".into()
            }
            (Self::Unresolvable, Lang::En) => "has a host name that does not resolve".into(),
            (Self::Unresolvable, Lang::Vi) => "có tên máy chủ không phân giải được".into(),
        }
    }
}

impl Conflict {
    pub(super) fn detail(self, lang: Lang) -> &'static str {
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
            Self::TooManyDependants => lang.pick(
                "You have added as many dependants as allowed; ask your unit's coordinator to add more.",
                "Bạn đã thêm đủ số người phụ thuộc được phép; hãy nhờ điều phối viên của đơn vị thêm.",
            ),
            Self::IdempotencyKeyInFlight => lang.pick(
                "The first request with this Idempotency-Key is still running; retry in a moment.",
                "Yêu cầu đầu tiên với Idempotency-Key này vẫn đang được xử lý; hãy thử lại sau giây lát.",
            ),
        }
    }
}

impl Refusal {
    pub(super) fn detail(self, lang: Lang) -> &'static str {
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
            Self::ConsentRequired => lang.pick(
                "A student under 16 needs their guardian's consent on file before enrolling.",
                "Học sinh dưới 16 tuổi cần có sự đồng ý của người giám hộ trong hồ sơ trước khi ghi danh.",
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
            Self::InvalidPairingCode => lang.pick(
                "The pairing code is wrong, has expired or has been used. Ask for a new one.",
                "Mã ghép nối thiết bị không đúng, đã hết hạn hoặc đã được dùng. Hãy tạo mã mới.",
            ),
            Self::OutsideMarkingWindow => lang.pick(
                "Attendance is taken from 30 minutes before the start until 7 days after the end; later corrections are for administrators.",
                "Chỉ điểm danh từ 30 phút trước giờ học đến 7 ngày sau khi kết thúc; sửa sau đó do quản trị viên thực hiện.",
            ),
        }
    }
}

impl AppError {
    pub(super) fn title(&self, lang: Lang) -> &'static str {
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
            Self::PayloadTooLarge { .. } | Self::ListTooLong { .. } => {
                lang.pick("Payload too large", "Dữ liệu quá lớn")
            }
            Self::UnsupportedMediaType => {
                lang.pick("Unsupported media type", "Kiểu nội dung không được hỗ trợ")
            }
            Self::PreconditionFailed => {
                lang.pick("Precondition failed", "Điều kiện không còn đúng")
            }
            Self::IdempotencyKeyReused => {
                lang.pick("Idempotency-Key reused", "Idempotency-Key đã được dùng")
            }
            Self::MalformedRequest => lang.pick("Malformed request", "Yêu cầu không hợp lệ"),
            Self::HeadersTooLarge => {
                lang.pick("Request headers too large", "Phần đầu yêu cầu quá lớn")
            }
            Self::RequestTimeout => lang.pick("Request timeout", "Hết thời gian gửi yêu cầu"),
            Self::TooManyRequests { .. } => lang.pick("Too many requests", "Quá nhiều yêu cầu"),
            Self::ServiceUnavailable { .. } => {
                lang.pick("Service unavailable", "Dịch vụ tạm thời không khả dụng")
            }
            Self::Internal => lang.pick("Internal server error", "Lỗi máy chủ"),
        }
    }

    pub(super) fn detail(&self, lang: Lang) -> String {
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
            Self::ListTooLong { max_rows } => match lang {
                Lang::En => format!(
                    "The list has more than {max_rows} rows; split it into files of at most {max_rows}."
                ),
                Lang::Vi => format!(
                    "Danh sách có hơn {max_rows} dòng; hãy chia thành các tệp có tối đa {max_rows} dòng."
                ),
            },
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
            Self::IdempotencyKeyReused => lang
                .pick(
                    "This Idempotency-Key was used in the last 24 hours for a request with another path or body; send a new key for a new request.",
                    "Idempotency-Key này đã được dùng trong 24 giờ qua cho một yêu cầu có đường dẫn hoặc nội dung khác; hãy dùng khoá mới cho yêu cầu mới.",
                )
                .into(),
            Self::MalformedRequest => lang
                .pick(
                    "The request line or a header is not valid HTTP/1.1. A path or query must be ASCII, with any other character percent-encoded as UTF-8 (`%C4%91` for `đ`); a header name takes no spaces.",
                    "Dòng yêu cầu hoặc một phần đầu (header) không đúng HTTP/1.1. Đường dẫn và truy vấn chỉ gồm ký tự ASCII, ký tự khác phải mã hoá phần trăm theo UTF-8 (`%C4%91` cho `đ`); tên header không có dấu cách.",
                )
                .into(),
            Self::HeadersTooLarge => lang
                .pick(
                    "The request line and headers are too large; send a shorter query or fewer headers.",
                    "Dòng yêu cầu và các header quá lớn; hãy gửi truy vấn ngắn hơn hoặc ít header hơn.",
                )
                .into(),
            Self::RequestTimeout => lang
                .pick(
                    "The request did not arrive in time; send it again.",
                    "Yêu cầu không đến kịp thời hạn; hãy gửi lại.",
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
}
