//! The paper sign-in sheet, for halls without a device: printed before
//! the class, signed by each person, keyed in afterwards through the
//! roll-call or an offline batch, where each row's code finds the person.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono_tz::Tz;

use super::api::marked_session;
use super::model::{self, SheetHeading, SheetLine, row_code};
use crate::access::Marker;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::http;
use crate::http::query::{LanguageQuery, Query};
use crate::id::Id;
use crate::lang::Lang;
use crate::local_time;
use crate::sessions::Session;
use crate::sheets::form::Form;
use crate::sheets::{Column, FileFormat};
use crate::state::AppState;
use crate::vocab::{Label, SessionStatus};

/// Empty numbered rows under the list, for people who come without a
/// place (walk-ins, added afterwards as such).
const ROWS_FOR_WALK_INS: usize = 10;

/// Print a session's sign-in sheet
///
/// Admins and the session's trainers; others get `403 forbidden`, and an
/// unknown session `404 not_found`. An XLSX laid out for an A4 page, in the
/// caller's language (`Accept-Language`, or `?lang=` for a link opened in
/// a browser): the course, venue, local time and trainers at the top, then
/// one numbered row per person holding an enrolled place, by given name,
/// with a short row code (the `row_code` of the roll-call), name, category
/// and unit, and empty columns to sign and note in; ten blank rows follow
/// for walk-ins. No phone, email or birth date is printed. The table's
/// header repeats on every page.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id"), LanguageQuery),
    responses(
        (status = 200, description = "The sheet, to print",
            content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or one of the session's trainers"),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}/sign-in-sheet")]
pub async fn sign_in_sheet(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<Id>,
    Query(language): Query<LanguageQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = language.resolve(&req);
    let zone = state.config.timezone;
    let session_id = id.into_inner();
    let (session, heading, lines) = state
        .db
        .run(move |conn| {
            let details = marked_session(conn, session_id, &Marker::person(caller.user))?;
            let heading =
                model::sheet_heading(conn, details.session.course_id, &details.trainer_ids)?;
            let lines = model::sign_in_lines(conn, session_id)?;
            Ok((details.session, heading, lines))
        })
        .await?;
    let file = sheet(&session, &heading, &lines, lang, zone)
        .map_err(|err| AppError::internal("writing a sign-in sheet", err))?;
    let day = local_time::local_day(session.starts_at, zone);
    let name = format!("{}-{day}.xlsx", lang.pick("sign-in-sheet", "danh-sach-diem-danh"));
    Ok(http::download(FileFormat::Xlsx, &name).body(file))
}

fn sheet(
    session: &Session,
    heading: &SheetHeading,
    lines: &[SheetLine],
    lang: Lang,
    zone: Tz,
) -> std::io::Result<Vec<u8>> {
    let starts = local_time::with_offset(session.starts_at, zone);
    let ends = local_time::with_offset(session.ends_at, zone);
    // On paper the zone is its offset, which an official reads at once.
    let ends_shown = if ends.date_naive() == starts.date_naive() {
        ends.format("%H:%M")
    } else {
        ends.format("%d/%m/%Y, %H:%M")
    };
    let trainers = match heading.trainer_names.as_slice() {
        [] => "—".to_owned(),
        names => names.join(", "),
    };
    let cancelled = session.status == SessionStatus::Cancelled;
    let mut top = vec![
        format!("{}: {}", lang.pick("Course", "Khóa học"), heading.course_title),
        format!("{}: {}", lang.pick("Venue", "Địa điểm"), session.venue),
        format!(
            "{}: {}–{ends_shown} (UTC{})",
            lang.pick("Time", "Thời gian"),
            starts.format("%d/%m/%Y, %H:%M"),
            starts.format("%:z"),
        ),
        format!("{}: {trainers}", lang.pick("Trainers", "Giảng viên")),
    ];
    if cancelled {
        top.push(lang.pick("THIS SESSION IS CANCELLED", "BUỔI HỌC NÀY ĐÃ HỦY").to_owned());
    }
    let columns = [
        Column::new(lang.pick("No.", "STT"), 4),
        Column::new(lang.pick("Code", "Mã"), 7),
        Column::new(lang.pick("Full name", "Họ và tên"), 26),
        Column::new(lang.pick("Category", "Đối tượng"), 14),
        Column::new(lang.pick("Unit", "Đơn vị"), 20),
        Column::new(lang.pick("Signature", "Ký tên"), 16),
        Column::new(lang.pick("Note", "Ghi chú"), 12),
    ];
    let codes: Vec<String> = lines.iter().map(|line| row_code(line.enrolment_id)).collect();
    let rows: Vec<Vec<Option<&str>>> = lines
        .iter()
        .zip(&codes)
        .map(|(line, code)| {
            let (name, category) = (line.full_name.as_str(), line.category.label(lang));
            vec![Some(code.as_str()), Some(name), Some(category), line.unit.as_deref(), None, None]
        })
        .collect();
    let form = Form {
        title: lang.pick("Sign-in sheet", "Danh sách điểm danh"),
        lines: &top,
        columns: &columns,
        rows: &rows,
        blank_rows: ROWS_FOR_WALK_INS,
    };
    form.to_xlsx()
}
