//! How much memory the server needs to stream an export of 1,000,000
//! enrolments, against one of 10,000: the figure PRODUCT.md asks for ("a
//! million rows do not need a million rows of memory"). Then how long the
//! statistics over the same million take.
//!
//! `cargo bench --bench export_enrolments` runs it on a temporary SQLite
//! file; with `BENCH_DATABASE_URL=postgres://…/db` (an empty database it
//! may fill) on PostgreSQL. The server runs in this process and the body is
//! read chunk by chunk and counted, never kept, so the process's peak
//! resident memory (VmHWM, reset before each export) is the server's.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use futures_util::StreamExt;
use lophoc::config::{Config, Secret};
use lophoc::db::{self, Backend, DatabaseUrl, Db};
use lophoc::startup::Application;
use serde_json::json;

const SESSIONS: usize = 100;
const PEOPLE_PER_SESSION: usize = 10_000;
const ADMIN: (&str, &str) = ("admin@bench.vn", "bench-password-1");

fn main() {
    let dir = std::env::temp_dir().join(format!("lophoc-bench-{}", uuid::Uuid::now_v7()));
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir.join("bench.db").display().to_string()
    });
    let database = DatabaseUrl::parse(&url);
    let started = Instant::now();
    fill(&database);
    let rows = SESSIONS * PEOPLE_PER_SESSION;
    println!("{rows} enrolments on {:?}, loaded in {:.1} s", database.backend(), secs(started));

    let mut config = Config::with_database(&url);
    config.listen = "127.0.0.1:0".into();
    config.workers = Some(1);
    config.admin_email = Some(ADMIN.0.into());
    config.admin_password = Some(Secret::new(ADMIN.1));
    config.jwt_secret = Some(Secret::new("bench-secret-bench-secret-bench-secret-01"));
    actix_web::rt::System::new().block_on(async move {
        let application = Application::build(config).await.expect("the server starts");
        let address = format!("http://127.0.0.1:{}", application.port());
        let handle = application.handle();
        actix_web::rt::spawn(application.run_until_stopped());

        let client = awc::Client::builder().timeout(std::time::Duration::from_secs(1800)).finish();
        let login = json!({"email": ADMIN.0, "password": ADMIN.1});
        let mut reply =
            client.post(format!("{address}/api/v1/auth/login")).send_json(&login).await.unwrap();
        let body: serde_json::Value = reply.json().await.expect("a login");
        let token = body["access_token"].as_str().expect("a token").to_owned();

        println!(
            "{:<26} {:>9} {:>8} {:>8} {:>16} {:>15}",
            "export", "lines", "MiB", "seconds", "RSS before (MiB)", "peak RSS (MiB)"
        );
        let one_session = format!("course_id={}", id(0xC, 1));
        for (label, query) in [
            ("CSV, 1 course (10,000)", format!("format=csv&{one_session}")),
            ("CSV, all (1,000,000)", "format=csv".to_owned()),
            ("XLSX, 1 course (10,000)", format!("format=xlsx&{one_session}")),
            ("XLSX, all (1,000,000)", "format=xlsx".to_owned()),
        ] {
            let before = memory_mib("VmRSS:");
            reset_peak_memory();
            let started = Instant::now();
            let mut response = client
                .get(format!("{address}/api/v1/exports/enrolments?{query}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("the export starts");
            assert_eq!(response.status(), 200, "{label}");
            let (mut bytes, mut lines) = (0usize, 0usize);
            while let Some(chunk) = response.next().await {
                let chunk = chunk.expect("the export streams");
                bytes += chunk.len();
                lines += chunk.iter().filter(|b| **b == b'\n').count();
            }
            let lines = if query.contains("csv") { lines.to_string() } else { "-".into() };
            println!(
                "{label:<26} {lines:>9} {:>8.1} {:>8.1} {before:>16.1} {:>15.1}",
                bytes as f64 / (1 << 20) as f64,
                secs(started),
                memory_mib("VmHWM:")
            );
        }

        // The statistics over the same million, computed by the database.
        println!("\n{:<34} {:>6} {:>9}", "statistics (JSON)", "rows", "ms");
        for group_by in ["", "category", "organization,gender", "session,category", "day,course"] {
            let started = Instant::now();
            let mut response = client
                .get(format!("{address}/api/v1/stats/enrolments?group_by={group_by}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("the statistics answer");
            let body: serde_json::Value = response.json().limit(1 << 24).await.expect("JSON");
            let rows = body["rows"].as_array().map_or(0, Vec::len);
            let label = format!("group_by={group_by}");
            println!("{label:<34} {rows:>6} {:>9.0}", secs(started) * 1000.0);
        }
        handle.stop(false).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// A UUID-shaped id from a kind (`0xA` enrolments, `0x9` people, `0x8`
/// sessions, `0xC` courses) and a number.
fn id(kind: u32, n: usize) -> String {
    format!("00000000-0000-7000-{kind:x}000-{n:012}")
}

/// Fills the database with one course (C1) holding one session, another
/// course holding the other 99, 10,000 people, and every person in every
/// session, half of them marked present. Sessions' local days are left
/// for the server's start-up to compute, as after an upgrade.
fn fill(url: &DatabaseUrl) {
    let db = Db::connect(url, 1).expect("the database opens");
    let mut conn = db.get().expect("a connection");
    db::run_migrations(&mut conn).expect("migrations run");
    let t = "'2023-09-01 00:00:00'";
    let (series, people, sessions, enrolments) = match url.backend() {
        Backend::Sqlite => (
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {max}) ",
            "printf('00000000-0000-7000-9000-%012d', {n})",
            "printf('00000000-0000-7000-8000-%012d', {n})",
            "printf('00000000-0000-7000-a000-%012d', {n})",
        ),
        Backend::Postgres => (
            "WITH n(i) AS (SELECT generate_series(0, {max})) ",
            "'00000000-0000-7000-9000-' || lpad(({n})::text, 12, '0')",
            "'00000000-0000-7000-8000-' || lpad(({n})::text, 12, '0')",
            "'00000000-0000-7000-a000-' || lpad(({n})::text, 12, '0')",
        ),
    };
    let series = |max: usize| series.replace("{max}", &max.to_string());
    let (people, sessions, enrolments) = (
        |n: &str| people.replace("{n}", n),
        |n: &str| sessions.replace("{n}", n),
        |n: &str| enrolments.replace("{n}", n),
    );
    let hours_after = |start: &str| match url.backend() {
        Backend::Sqlite => format!("datetime('{start}', '+' || i || ' hours')"),
        Backend::Postgres => format!("TIMESTAMP '{start}' + i * INTERVAL '1 hour'"),
    };
    let (starts, ends) = (hours_after("2023-10-02 01:00:00"), hours_after("2023-10-02 02:30:00"));
    let sql = format!(
        "INSERT INTO organizations (id, kind, name, created_at, updated_at)
             VALUES ('{unit}', 'hamlet', 'Xóm Đồng Tâm', {t}, {t});
         INSERT INTO courses (id, title, topics, target_categories, duration_minutes, created_at, updated_at)
             VALUES ('{c1}', 'Tìm kiếm thông tin hiệu quả', '', '', 90, {t}, {t}),
                    ('{c2}', 'An toàn trên mạng', '', '', 90, {t}, {t});
         {s} INSERT INTO sessions (id, course_id, starts_at, ends_at, venue, capacity, status,
                 waitlist, enrolled_count, waitlisted_count, created_at, updated_at)
             SELECT {session}, CASE WHEN i = 0 THEN '{c1}' ELSE '{c2}' END, {starts}, {ends},
                 'Nhà văn hoá', {per}, 'scheduled', false, {per}, 0, {t}, {t} FROM n;
         {p} INSERT INTO participants (id, full_name, search_name, category, gender,
                 organization_id, created_at, updated_at)
             SELECT {person}, 'Nguyễn Thị Hường ' || i, 'nguyen thi huong ' || i, 'learner',
                 'female', '{unit}', {t}, {t} FROM n;
         {e} INSERT INTO enrolments (id, session_id, participant_id, status, source, created_at, updated_at)
             SELECT {enrolment}, {enrolment_session}, {enrolment_person}, 'enrolled', 'import', {t}, {t} FROM n;
         INSERT INTO attendance_marks (enrolment_id, session_id, participant_id, status, source,
                 recorded_at, marked_at)
             SELECT id, session_id, participant_id, 'present', 'trainer', {t}, {t}
             FROM enrolments WHERE substr(id, 36, 1) IN ('0', '2', '4', '6', '8');
         ANALYZE;",
        unit = id(0xB, 1),
        c1 = id(0xC, 1),
        c2 = id(0xC, 2),
        s = series(SESSIONS - 1),
        session = sessions("i"),
        per = PEOPLE_PER_SESSION,
        p = series(PEOPLE_PER_SESSION - 1),
        person = people("i"),
        e = series(SESSIONS * PEOPLE_PER_SESSION - 1),
        enrolment = enrolments("i"),
        enrolment_session = sessions(&format!("i / {PEOPLE_PER_SESSION}")),
        enrolment_person = people(&format!("i % {PEOPLE_PER_SESSION}")),
    );
    conn.batch_execute(&sql).expect("the enrolments are inserted");
}

/// Starts a new peak: Linux resets VmHWM to the current RSS on "5".
fn reset_peak_memory() {
    std::fs::write("/proc/self/clear_refs", "5").expect("/proc/self/clear_refs is writable");
}

/// A memory figure of this process (`VmRSS:`, `VmHWM:`) in MiB.
fn memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("the field");
    let kib: f64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number");
    kib / 1024.0
}
