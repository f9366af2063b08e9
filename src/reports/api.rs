//! `GET /api/v1/stats/enrolments` and `GET /api/v1/exports/enrolments`.
//!
//! Each also answers at a path of its own per file type (`….csv`,
//! `….xlsx`): one media type per operation, which is what client
//! generators need to type an answer as text or bytes. `?format=` keeps
//! working on the plain paths.

use std::future::{Ready, ready};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, web};
use chrono_tz::Tz;
use futures_util::stream;
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::ArrayBuilder;
use utoipa::openapi::{Ref, Required};
use utoipa::{IntoParams, ToSchema};

use super::export::{self, CHUNKS_AHEAD, ChunkSender};
use super::filter::{ReportFilter, ReportQuery};
use super::stats::{GroupKey, Stats};
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::auth::{AuthUser, ReportReader};
use crate::db;
use crate::error::AppError;
use crate::http;
use crate::http::conventions;
use crate::http::query::{LanguageQuery, Query};
use crate::lang::Lang;
use crate::local_time;
use crate::sheets::{FileFormat, Sheet};
use crate::state::AppState;
use utoipa_actix_web::service_config::ServiceConfig;

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsFormat {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// `json` (the default), or the same table as a `csv` or `xlsx` file
    /// with a last row of totals.
    pub format: Option<StatsFormat>,
}

/// `group_by`: the keys rows are grouped by, in order. Read from the raw
/// query, so that both spellings of a list work: `group_by=category,day`
/// (as the document describes it) and `group_by=category&group_by=day` (as
/// many generated clients send arrays).
struct GroupBy(Vec<GroupKey>);

impl FromRequest for GroupBy {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let values = form_urlencoded::parse(req.query_string().as_bytes())
            .filter(|(name, _)| name == "group_by")
            .map(|(_, value)| value.into_owned())
            .collect::<Vec<_>>();
        ready(GroupKey::parse_list(&values.join(",")).map(GroupBy))
    }
}

impl IntoParams for GroupBy {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let keys =
            ArrayBuilder::new().items(Ref::from_schema_name(GroupKey::name())).unique_items(true);
        let parameter = ParameterBuilder::new()
            .name("group_by")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "Keys to group by, each at most once. Rows come sorted by them in this order. \
                 Without keys the one row is the totals.",
            ))
            .style(Some(ParameterStyle::Form))
            .explode(Some(false))
            .schema(Some(keys))
            .example(Some(serde_json::json!(["category", "organization"])))
            .build();
        vec![parameter]
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// `csv` (the default) or `xlsx`.
    pub format: Option<FileFormat>,
}

/// Count enrolments, attendance and people reached
///
/// Admins see everything, coordinators their own unit only; trainers,
/// participants and a coordinator naming another unit get `403 forbidden`.
/// Counts places held, waitlisted and cancelled, attended places, distinct
/// people holding a place and attending, and the attendance rate, grouped
/// by the `group_by` keys and filtered by programme, course, unit and local
/// days; unknown or repeated keys answer `400 invalid_parameter`. Answers
/// JSON, or with `format=csv|xlsx` the same table with a totals row as a
/// file (also at `/stats/enrolments.csv` and `.xlsx`).
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(GroupBy, StatsQuery, ReportQuery, LanguageQuery),
    responses(
        (status = 200, description = "Counts of enrolments and people, per group and in total. \
            `format=csv|xlsx` gives the same table as a file to download; session times there \
            are the local wall clock.",
            content(
                (Stats = "application/json"),
                (String = "text/csv"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(("Content-Disposition" = String, description = "With `csv` and `xlsx`: \
                `attachment` and a file name"))),
        (status = 403, description = "Not an admin or coordinator, or a coordinator naming \
            another unit"),
    )
)]
#[get("/stats/enrolments")]
async fn enrolment_stats(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: ReportReader,
    group_by: GroupBy,
    Query(shape): Query<StatsQuery>,
    Query(query): Query<ReportQuery>,
    Query(language): Query<LanguageQuery>,
) -> Result<HttpResponse, AppError> {
    let format = match shape.format.unwrap_or(StatsFormat::Json) {
        StatsFormat::Json => None,
        StatsFormat::Csv => Some(FileFormat::Csv),
        StatsFormat::Xlsx => Some(FileFormat::Xlsx),
    };
    let lang = language.resolve(&req);
    stats_answer(&state, &caller, group_by, query, format.map(|f| (f, lang))).await
}

/// Count enrolments as a CSV file
///
/// The table of `GET /stats/enrolments` with a totals row, as CSV (UTF-8
/// with a byte-order mark), headers and labels in the caller's language.
/// The same access rules apply.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(GroupBy, ReportQuery, LanguageQuery),
    responses(
        (status = 200, description = "The table as CSV", content((String = "text/csv")),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or coordinator, or a coordinator naming \
            another unit"),
    )
)]
#[get("/stats/enrolments.csv")]
async fn enrolment_stats_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: ReportReader,
    group_by: GroupBy,
    Query(query): Query<ReportQuery>,
    Query(language): Query<LanguageQuery>,
) -> Result<HttpResponse, AppError> {
    let file = (FileFormat::Csv, language.resolve(&req));
    stats_answer(&state, &caller, group_by, query, Some(file)).await
}

/// Count enrolments as an XLSX workbook
///
/// The table of `GET /stats/enrolments` with a totals row, as an Excel
/// workbook with typed cells (rates as percentages), headers and labels in
/// the caller's language. The same access rules apply.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(GroupBy, ReportQuery, LanguageQuery),
    responses(
        (status = 200, description = "The table as a workbook",
            content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or coordinator, or a coordinator naming \
            another unit"),
    )
)]
#[get("/stats/enrolments.xlsx")]
async fn enrolment_stats_xlsx(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: ReportReader,
    group_by: GroupBy,
    Query(query): Query<ReportQuery>,
    Query(language): Query<LanguageQuery>,
) -> Result<HttpResponse, AppError> {
    let file = (FileFormat::Xlsx, language.resolve(&req));
    stats_answer(&state, &caller, group_by, query, Some(file)).await
}

/// The statistics as JSON, or as a file in a language.
async fn stats_answer(
    state: &AppState,
    caller: &AuthUser,
    GroupBy(group_by): GroupBy,
    query: ReportQuery,
    file: Option<(FileFormat, Lang)>,
) -> Result<HttpResponse, AppError> {
    let filter = ReportFilter::for_caller(&caller.user, query)?;
    let zone = state.config.timezone;
    let now = db::now();
    // The file is written on the blocking pool too: deflating a long table
    // would hold up an actix worker.
    let cache = state.stats_cache.clone();
    let (stats, written) = state
        .db
        .run(move |conn| {
            let stats = cache.stats(conn, &filter, group_by, now, zone)?;
            let written = file
                .map(|(format, lang)| stats_file(&stats, format, lang, zone))
                .transpose()
                .map_err(|err| AppError::internal("writing statistics", err))?;
            Ok((stats, written))
        })
        .await?;
    match (file, written) {
        (Some((format, _)), Some(written)) => {
            Ok(file_answer(format, "lophoc-enrolment-stats", zone).body(written))
        }
        _ => Ok(HttpResponse::Ok().json(&*stats)),
    }
}

/// Export every enrolment as a CSV or XLSX file
///
/// Admins see everything, coordinators their own unit only; trainers,
/// participants and a coordinator naming another unit get `403 forbidden`.
/// Streams one row per enrolment the filters select: the person, the
/// course and programme, the session, the place and the attendance mark,
/// then the ids; headers and labels in the caller's language. CSV (the
/// default) starts with a byte-order mark, XLSX continues on further sheets
/// past Excel's row limit (also at `/exports/enrolments.csv` and `.xlsx`).
/// Each export is recorded in the audit trail; when too many run at once
/// the answer is `503 service_unavailable` with `Retry-After`.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(ExportQuery, ReportQuery, LanguageQuery),
    responses(
        (status = 200, description = "Every enrolment the filters select, one per row, in the \
            order of the sessions. Streamed: any number of rows.",
            content(
                (String = "text/csv"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or coordinator, or a coordinator naming \
            another unit"),
        (status = 503, description = "As many exports as the server runs at once are already \
            running; see `Retry-After`"),
        (status = 429, description = "The caller's previous export is still running; one at \
            a time. See `Retry-After`"),
    )
)]
#[get("/exports/enrolments")]
pub async fn export_enrolments(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: ReportReader,
    Query(shape): Query<ExportQuery>,
    Query(query): Query<ReportQuery>,
    Query(language): Query<LanguageQuery>,
) -> Result<HttpResponse, AppError> {
    let format = shape.format.unwrap_or(FileFormat::Csv);
    stream_export(&req, &state, &caller, query, format, language.resolve(&req)).await
}

/// Export every enrolment as a CSV file
///
/// `GET /exports/enrolments` as CSV (UTF-8 with a byte-order mark), with
/// the same filters, access rules and audit record.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(ReportQuery, LanguageQuery),
    responses(
        (status = 200, description = "Every enrolment the filters select, as CSV",
            content((String = "text/csv")),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or coordinator, or a coordinator naming \
            another unit"),
        (status = 503, description = "As many exports as the server runs at once are already \
            running; see `Retry-After`"),
        (status = 429, description = "The caller's previous export is still running; one at \
            a time. See `Retry-After`"),
    )
)]
#[get("/exports/enrolments.csv")]
async fn export_enrolments_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: ReportReader,
    Query(query): Query<ReportQuery>,
    Query(language): Query<LanguageQuery>,
) -> Result<HttpResponse, AppError> {
    stream_export(&req, &state, &caller, query, FileFormat::Csv, language.resolve(&req)).await
}

/// Export every enrolment as an XLSX workbook
///
/// `GET /exports/enrolments` as an Excel workbook with typed cells, with
/// the same filters, access rules and audit record.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(ReportQuery, LanguageQuery),
    responses(
        (status = 200, description = "Every enrolment the filters select, as a workbook",
            content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or coordinator, or a coordinator naming \
            another unit"),
        (status = 503, description = "As many exports as the server runs at once are already \
            running; see `Retry-After`"),
        (status = 429, description = "The caller's previous export is still running; one at \
            a time. See `Retry-After`"),
    )
)]
#[get("/exports/enrolments.xlsx")]
async fn export_enrolments_xlsx(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: ReportReader,
    Query(query): Query<ReportQuery>,
    Query(language): Query<LanguageQuery>,
) -> Result<HttpResponse, AppError> {
    stream_export(&req, &state, &caller, query, FileFormat::Xlsx, language.resolve(&req)).await
}

/// Streams the enrolment export as `format` in `lang`.
async fn stream_export(
    req: &HttpRequest,
    state: &AppState,
    caller: &AuthUser,
    query: ReportQuery,
    format: FileFormat,
    lang: Lang,
) -> Result<HttpResponse, AppError> {
    let filter = ReportFilter::for_caller(&caller.user, query)?;
    let zone = state.config.timezone;
    // A `HEAD` learns what a download would be without making one: no
    // export slot taken, no rows read, nothing in the audit trail.
    if conventions::is_head(req) {
        return Ok(file_answer(format, "lophoc-enrolments", zone).finish());
    }
    // An export holds a database connection for as long as its client
    // takes to read it (a pooled one, or on PostgreSQL for CSV one of its
    // own); a few at a time leave the rest of the pool, and of the
    // server's connections, free.
    // One export at a time per caller, so that one client cannot hold
    // every slot; then one of the server's slots. A refusal after the
    // turn was taken frees it as the turn drops.
    let (turns, db) = (state.export_turns.clone(), state.db.clone());
    let caller_id = caller.id();
    let turn = state
        .db
        .run(move |conn| Ok(turns.begin(&db, conn, caller_id)?))
        .await?
        .ok_or(AppError::TooManyRequests { retry_after_secs: 30 })?;
    let slot = state
        .export_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| AppError::ServiceUnavailable { retry_after_secs: 30 })?;
    let mut conn = state.db.connection().await?;
    let (tx, mut rx) = mpsc::channel(CHUNKS_AHEAD);
    // Exports carry personal data (children's names among them): who took
    // one, and of what, goes into the audit trail.
    let actor = Actor::user(caller.id());
    let mut filters = serde_json::to_value(&filter).unwrap_or_default();
    filters["format"] = serde_json::json!(format);
    let changes = FieldChange::diff(None::<&()>, &filters, &[]);
    let user_id = caller.id();
    // CSV comes from PostgreSQL's own `COPY` where it can, on a connection
    // of its own: the pooled one goes back once the audit record is written.
    let copy_from = match format {
        FileFormat::Csv => state.export_copy_url.clone(),
        FileFormat::Xlsx => None,
    };
    let span = tracing::Span::current();
    let stall = state.config.export_stall;
    let db = state.db.clone();
    // Set once the whole file was handed over: a channel that closes
    // before (a stalled client given up on) must not end the answer as a
    // complete-looking file.
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let _entered = span.enter();
        let _slot = slot;
        let failed = tx.clone();
        let runtime = tokio::runtime::Handle::current();
        let sender = ChunkSender::new(tx, runtime.clone(), stall);
        // A panic must end the response as a failure too, not as a short
        // file that looks complete.
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            audit::record(&mut conn, &actor, Action::Export, EntityType::User, user_id, changes)?;
            match copy_from {
                Some(url) => {
                    drop(conn);
                    export::copy_csv(&url, &filter, (lang, zone), sender)
                }
                None => export::write(&mut conn, &filter, format, (lang, zone), sender),
            }
        }));
        // The turn ends before the answer does (the channel closes when
        // `failed` drops), so that the caller's next export finds it free;
        // the pooled connection of the export has gone back by now.
        if let Ok(mut conn) = db.get() {
            turn.end(&mut conn);
        }
        let failure = match written {
            Ok(Ok(_)) => return done.store(true, Ordering::Release),
            Ok(Err(err)) if err.is_client_gone() => {
                return tracing::info!("export stopped: the client left or stopped reading");
            }
            Ok(Err(err)) => err.to_string(),
            Err(_) => "a panic".to_owned(),
        };
        tracing::error!(error = %failure, "export failed");
        // Ends the response with an error, so that the client sees a
        // broken download rather than a complete-looking file; waiting for
        // room no longer than for any chunk.
        let failure = failed.send(Err(io::Error::other("export failed")));
        let _ = runtime.block_on(tokio::time::timeout(stall, failure));
    });
    // Until the first chunk the answer can still be a problem document.
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(_)) | None => return Err(AppError::Internal),
    };
    let rest = stream::unfold(Some(rx), move |rx| {
        let finished = finished.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(item) => Some((item, Some(rx))),
                None if finished.load(Ordering::Acquire) => None,
                None => Some((Err(io::Error::other("the export stopped before its end")), None)),
            }
        }
    });
    let body = futures_util::StreamExt::chain(stream::once(async { Ok(first) }), rest);
    Ok(file_answer(format, "lophoc-enrolments", zone).streaming::<_, io::Error>(body))
}

/// The statistics as a file: the table, then its totals row.
fn stats_file(stats: &Stats, format: FileFormat, lang: Lang, zone: Tz) -> io::Result<Vec<u8>> {
    let columns = stats.columns(lang, zone);
    let mut sheet = Sheet::start(format, Vec::new(), &stats.title(lang), &columns)?;
    stats.for_each_line(lang, |cells| sheet.row(cells))?;
    if let Some(total) = stats.total_line(lang) {
        sheet.footer(&total)?;
    }
    sheet.finish()
}

/// A `200` for a file download: its type, and a name with today's date.
fn file_answer(format: FileFormat, stem: &str, zone: Tz) -> actix_web::HttpResponseBuilder {
    let today = local_time::local_day(db::now(), zone);
    http::download(format, &format!("{stem}-{today}.{}", format.extension()))
}

/// The routes of `reports`, for [`crate::routes`].
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(enrolment_stats)
        .service(enrolment_stats_csv)
        .service(enrolment_stats_xlsx)
        .service(export_enrolments)
        .service(export_enrolments_csv)
        .service(export_enrolments_xlsx);
}
