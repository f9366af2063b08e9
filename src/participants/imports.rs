//! `/api/v1/participants/import`: the lists that schools and hamlets keep
//! in spreadsheets, read into profiles (see [`crate::operations::imports`]).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::{ParticipantScope, Placement};
use crate::audit::Actor;
use crate::auth::AuthUser;
use crate::enrolments::model::EnrolmentRules;
use crate::error::{AppError, FieldIssue, InvalidField};
use crate::http::query::Query;
use crate::http::upload::file_body;
use crate::http::{self, fallback};
use crate::id::Id;
use crate::lang::Lang;
use crate::operations::imports::{
    self, ImportReport, ImportRequest, ListColumn, ListRefusal, MAX_ROWS,
};
use crate::organizations;
use crate::sheets::read::{ReadError, read_table};
use crate::sheets::{Cell, Column, FileFormat, Sheet};
use crate::state::AppState;
use crate::vocab::{Category, Gender, Label, Role};
use utoipa_actix_web::service_config::ServiceConfig;

/// The largest list accepted, in bytes: 5,000 rows of a CSV with long
/// names and addresses fit several times over.
const MAX_LIST_BYTES: usize = 8 << 20;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// Check the list and answer what importing it would do, writing
    /// nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The unit of rows that name none; a coordinator's own unit by
    /// default.
    pub organization_id: Option<Id>,
    /// Enrol every person of the list in this session as well.
    pub session_id: Option<Id>,
}

/// Import people from a spreadsheet
///
/// The body is a CSV (`text/csv`, UTF-8, `,` or `;` between cells, as
/// Excel saves it) or an XLSX workbook (its first sheet). The first row
/// names the columns, in Vietnamese or English, in any order: `Họ và tên` /
/// `full_name` (required), `Đối tượng` / `category`, `Ngày sinh` /
/// `birth_date` (`YYYY-MM-DD` or `DD/MM/YYYY`), `Giới tính` / `gender`,
/// `Điện thoại` / `phone`, `Email`, `Đơn vị` / `unit` (a unit's code or
/// exact name), `Điện thoại người giám hộ` / `guardian_phone` (a profile on
/// file with that phone becomes the guardian) and `Đồng ý của người giám
/// hộ` / `guardian_consent` (`paper`, `sms`, or `có` for a signed form).
/// Categories and genders are codes or Vietnamese labels; other columns are
/// left aside.
///
/// Each row is `created`, `matched` (the same name ignoring case,
/// diacritics and spacing with the same birth date or phone, already on
/// file or earlier in the list: nothing created, so importing a list twice
/// creates nothing the second time) or `refused` with its errors; one bad
/// row refuses only itself. With `session_id`, each person is enrolled
/// too, each row with its own outcome (`enrolled`, `waitlisted`, or
/// `refused` with the enrolment's reason). `dry_run=true` answers the same
/// and writes nothing.
///
/// Admins import anywhere, coordinators into their own unit only; others
/// `403`. More than 5,000 rows, or 8 MiB, is `413`; a file that is neither
/// CSV nor XLSX, or has no column of names, `422`.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(
        description = "The list: a CSV or an XLSX workbook",
        content(
            (Vec<u8> = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
    ),
    responses(
        (status = 200, description = "What happened to each row (or would have, in a dry run)", body = ImportReport),
        (status = 403, description = "Not an admin or a coordinator; a coordinator naming another unit"),
        (status = 413, description = "More than 5,000 rows, or a file over 8 MiB"),
        (status = 422, description = "Not a CSV or XLSX file, no column of names, or an unknown `organization_id` or `session_id`"),
    )
)]
#[post("/participants/import")]
async fn import_participants(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    Query(query): Query<ImportQuery>,
    payload: web::Payload,
) -> Result<web::Json<ImportReport>, AppError> {
    // Checked again with the account as it is now, below; this spares
    // reading a file from anyone who could not import it.
    if !may_import(&caller) {
        return Err(AppError::Forbidden);
    }
    let lang = Lang::from_headers(req.headers());
    let body = file_body(&req, payload, MAX_LIST_BYTES).await?;
    // Read before the write transaction, on a blocking thread: on SQLite
    // every other writer waits while one holds it.
    let table = web::block(move || read_table(&body, MAX_ROWS))
        .await
        .map_err(|err| AppError::internal("reading a list", err))?
        .map_err(|err| match err {
            ReadError::TooManyRows => AppError::ListTooLong { max_rows: MAX_ROWS },
            ReadError::NotATable => invalid_file(FieldIssue::NotAList),
            ReadError::NotUtf8 => invalid_file(FieldIssue::NotUtf8List),
        })?;
    let rules = EnrolmentRules::of(&state.config);
    let actor = Actor::user(caller.id());
    let report = state
        .db
        .write(move |conn| {
            let scope = ParticipantScope::of(conn, &caller.user)?;
            if !scope.manages_lists() {
                return Err(AppError::Forbidden);
            }
            let requested = Placement { organization_id: query.organization_id, guardian_id: None };
            let default_unit = scope.place_new(requested)?.organization_id;
            if let Some(unit) = default_unit
                && !organizations::model::exists(conn, unit)?
            {
                return Err(AppError::validation("organization_id", FieldIssue::UnknownReference));
            }
            let request = ImportRequest {
                table,
                default_unit,
                session_id: query.session_id,
                dry_run: query.dry_run,
                rules,
                lang,
            };
            imports::import(conn, &actor, &scope, &request)?.map_err(|refusal| match refusal {
                ListRefusal::NoNameColumn => invalid_file(FieldIssue::NoNameColumn),
            })
        })
        .await?;
    Ok(web::Json(report))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TemplateQuery {
    /// `xlsx` (the default) or `csv`.
    pub format: Option<FileFormat>,
}

/// Get the template of a list to import
///
/// An empty list with the columns of `POST /participants/import`, headed
/// in the caller's language (`Accept-Language: vi` gives the Vietnamese
/// headers), and one example row to replace. In XLSX, the category,
/// gender and consent columns offer their values as drop-down lists, from
/// a second sheet. Admins and coordinators; others `403`.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(TemplateQuery),
    responses(
        (status = 200, description = "The template",
            content(
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "text/csv"),
            ),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or a coordinator"),
    )
)]
#[get("/participants/import/template")]
async fn import_template(
    req: HttpRequest,
    caller: AuthUser,
    Query(query): Query<TemplateQuery>,
) -> Result<HttpResponse, AppError> {
    if !may_import(&caller) {
        return Err(AppError::Forbidden);
    }
    let lang = Lang::from_headers(req.headers());
    let format = query.format.unwrap_or(FileFormat::Xlsx);
    let file =
        template(format, lang).map_err(|err| AppError::internal("writing a template", err))?;
    let name = format!("{}.{}", lang.pick("lophoc-list", "lophoc-danh-sach"), format.extension());
    Ok(http::download(format, &name).body(file))
}

/// The template's file: the header, an example row, and in XLSX the
/// closed sets offered as lists.
fn template(format: FileFormat, lang: Lang) -> std::io::Result<Vec<u8>> {
    let columns: Vec<Column> = ListColumn::ALL
        .iter()
        .map(|column| Column { header: column.header(lang).to_owned(), width: 22 })
        .collect();
    let title = lang.pick("People", "Danh sách");
    let mut sheet = Sheet::start(format, Vec::new(), title, &columns)?;
    let categories: Vec<&str> = Category::VARIANTS.iter().map(|c| c.label(lang)).collect();
    let genders: Vec<&str> = Gender::VARIANTS.iter().map(|g| g.label(lang)).collect();
    let consents = [lang.pick("paper", "Có"), "sms", lang.pick("no", "Không")];
    let values = lang.pick("Values", "Giá trị");
    let rows = MAX_ROWS as u32;
    let column = |wanted: ListColumn| ListColumn::ALL.iter().position(|c| *c == wanted);
    for (wanted, offered) in [
        (ListColumn::Category, &categories[..]),
        (ListColumn::Gender, &genders[..]),
        (ListColumn::GuardianConsent, &consents[..]),
    ] {
        if let Some(index) = column(wanted) {
            sheet.offer_choices(values, index, offered, rows);
        }
    }
    let example: Vec<Cell<'_>> = ListColumn::ALL
        .iter()
        .map(|column| match column {
            ListColumn::FullName => Cell::Text("Nguyễn Văn An"),
            ListColumn::Category => Cell::Text(Category::Student.label(lang)),
            ListColumn::BirthDate => Cell::Day(EXAMPLE_BIRTH_DATE),
            ListColumn::Gender => Cell::Text(Gender::Male.label(lang)),
            ListColumn::Phone | ListColumn::Email | ListColumn::Unit => Cell::Empty,
            ListColumn::GuardianPhone => Cell::Text("0912 345 678"),
            ListColumn::GuardianConsent => Cell::Text(consents[0]),
        })
        .collect();
    sheet.row(&example)?;
    sheet.finish()
}

/// The example row's child: twelve in 2025.
const EXAMPLE_BIRTH_DATE: NaiveDate = NaiveDate::from_ymd_opt(2013, 5, 4).unwrap();

/// Admins and coordinators import lists; the scope they import in is
/// `access::ParticipantScope`'s.
fn may_import(caller: &AuthUser) -> bool {
    matches!(caller.user.role, Role::Admin | Role::Coordinator)
}

fn invalid_file(issue: FieldIssue) -> AppError {
    AppError::Validation(vec![InvalidField::new("file", issue)])
}

/// The routes of the imports, for [`crate::routes`]. Any other method on
/// the import's path answers `405`: `import` is not a profile's id.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(import_participants)
        .service(import_template)
        .route("/participants/import", web::route().to(fallback::no_route));
}
