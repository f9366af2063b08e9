//! `GET /api/v1/stats/enrolments` and `GET /api/v1/exports/enrolments`.

use std::io;

use actix_web::http::header::ContentDisposition;
use actix_web::{HttpResponse, get, web};
use chrono_tz::Tz;
use futures_util::stream;
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

use super::export::{self, CHUNKS_AHEAD, ChunkSender, SEND_DEADLINE};
use super::filter::{ReportFilter, ReportQuery};
use super::stats::{GroupKey, Stats};
use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::auth::AuthUser;
use crate::db;
use crate::error::AppError;
use crate::http::query::Query;
use crate::local_time;
use crate::sheets::{FileFormat, Sheet};
use crate::startup::AppState;

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsFormat {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Keys to group by, separated by commas, each at most once: any of
    /// `category`, `organization`, `gender`, `course`, `session`,
    /// `programme`, `day`. Rows come sorted by them in this order. Without
    /// keys the one row is the totals.
    #[param(example = "category,organization")]
    pub group_by: Option<String>,
    /// `json` (the default), or the same table as a `csv` or `xlsx` file
    /// with a last row of totals.
    pub format: Option<StatsFormat>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (the default) or `xlsx`.
    pub format: Option<FileFormat>,
}

#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(StatsQuery, ReportQuery),
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
pub async fn enrolment_stats(
    state: web::Data<AppState>,
    caller: AuthUser,
    Query(shape): Query<StatsQuery>,
    Query(query): Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = ReportFilter::for_caller(&caller.user, query)?;
    let group_by = GroupKey::parse_list(shape.group_by.as_deref().unwrap_or(""))?;
    let zone = state.config.timezone;
    let now = db::now();
    let format = match shape.format.unwrap_or(StatsFormat::Json) {
        StatsFormat::Json => None,
        StatsFormat::Csv => Some(FileFormat::Csv),
        StatsFormat::Xlsx => Some(FileFormat::Xlsx),
    };
    // The file is written on the blocking pool too: deflating a long table
    // would hold up an actix worker.
    let (stats, written) = state
        .db
        .run(move |conn| {
            let stats = Stats::compute(conn, &filter, group_by, now, zone)?;
            let written = format
                .map(|format| stats_file(&stats, format))
                .transpose()
                .map_err(|err| AppError::internal("writing statistics", err))?;
            Ok((stats, written))
        })
        .await?;
    let (Some(format), Some(written)) = (format, written) else {
        return Ok(HttpResponse::Ok().json(stats));
    };
    Ok(file(format, "lophoc-enrolment-stats", zone).body(written))
}

#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(ExportQuery, ReportQuery),
    responses(
        (status = 200, description = "Every enrolment the filters select, one per row, in the \
            order of the sessions: the person (name, category, gender, unit), the course and \
            programme, the session (its start on the local wall clock, its venue), the place \
            (status, waitlist position, source) and the attendance mark. Streamed: any number \
            of rows.",
            content(
                (String = "text/csv"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(("Content-Disposition" = String, description = "`attachment` and a file name"))),
        (status = 403, description = "Not an admin or coordinator, or a coordinator naming \
            another unit"),
        (status = 503, description = "As many exports as the server runs at once are already \
            running; see `Retry-After`"),
    )
)]
#[get("/exports/enrolments")]
pub async fn export_enrolments(
    state: web::Data<AppState>,
    caller: AuthUser,
    Query(shape): Query<ExportQuery>,
    Query(query): Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = ReportFilter::for_caller(&caller.user, query)?;
    let format = shape.format.unwrap_or(FileFormat::Csv);
    let zone = state.config.timezone;
    // An export holds a database connection for as long as its client
    // takes to read it; a few at a time leave the rest of the pool free.
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
    let user_id = caller.id().to_owned();
    actix_web::rt::task::spawn_blocking(move || {
        let _slot = slot;
        let failed = tx.clone();
        let runtime = tokio::runtime::Handle::current();
        let sender = ChunkSender::new(tx, runtime.clone());
        // A panic must end the response as a failure too, not as a short
        // file that looks complete.
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            audit::record(&mut conn, &actor, Action::Export, EntityType::User, &user_id, changes)?;
            export::write(&mut conn, &filter, format, zone, sender)
        }));
        let failure = match written {
            Ok(Ok(_)) => return,
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
        let _ = runtime.block_on(tokio::time::timeout(SEND_DEADLINE, failure));
    });
    // Until the first chunk the answer can still be a problem document.
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(_)) | None => return Err(AppError::Internal),
    };
    let rest = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let body = futures_util::StreamExt::chain(stream::once(async { Ok(first) }), rest);
    Ok(file(format, "lophoc-enrolments", zone).streaming::<_, io::Error>(body))
}

/// The statistics as a file: the table, then its totals row.
fn stats_file(stats: &Stats, format: FileFormat) -> io::Result<Vec<u8>> {
    let mut sheet = Sheet::start(format, Vec::new(), &stats.title(), &stats.header())?;
    stats.for_each_line(|cells| sheet.row(cells))?;
    sheet.finish()
}

/// A `200` for a file download: its type, and a name with today's date.
fn file(format: FileFormat, stem: &str, zone: Tz) -> actix_web::HttpResponseBuilder {
    let today = local_time::local_day(db::now(), zone);
    let name = format!("{stem}-{today}.{}", format.extension());
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.content_type())
        .insert_header(ContentDisposition::attachment(name));
    response
}
