//! Running lophoc: probes, docs, the OpenAPI document, start-up rules, the
//! binary's life cycle and the container files.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use actix_web::http::Method;
use lophoc::config::Secret;
use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

use crate::helpers::*;

#[actix_web::test]
async fn probes_answer() {
    let app = spawn_app().await;
    let live = app.get("/health/live", None).await;
    assert_eq!((live.status.as_u16(), live.body["status"].as_str()), (200, Some("ok")));
    let ready = app.get("/health/ready", None).await;
    assert_eq!((ready.status.as_u16(), ready.body["status"].as_str()), (200, Some("ok")));
    assert_eq!(ready.header("x-content-type-options"), Some("nosniff"));
}

#[actix_web::test]
async fn the_served_document_is_the_committed_one() {
    let app = spawn_app().await;
    let served = app.get("/openapi.json", None).await;
    assert_eq!(served.status, 200);
    let generated = lophoc::openapi::to_json();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
    assert_eq!(served.body, serde_json::from_str::<Value>(&generated).unwrap());
}

#[test]
fn the_document_describes_auth_and_errors_for_every_operation() {
    let document: Value = serde_json::from_str(&lophoc::openapi::to_json()).unwrap();
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(document["components"]["schemas"]["Problem"].is_object());
    let spellings = |schema: &str| document["components"]["schemas"][schema]["enum"].clone();
    assert_eq!(spellings("Role"), serde_json::json!(lophoc::vocab::Role::ALL));
    assert_eq!(spellings("Category"), serde_json::json!(lophoc::vocab::Category::ALL));
    assert_eq!(spellings("Gender"), serde_json::json!(lophoc::vocab::Gender::ALL));
    assert_eq!(
        spellings("OrganizationKind"),
        serde_json::json!(lophoc::vocab::OrganizationKind::ALL)
    );
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/organizations",
        "/health/live",
        "/health/ready",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no success response"
            );
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with(['4', '5'])) {
                let problem = &response["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} {status}");
            }
            assert!(responses.contains_key("500"), "{method} {path}: no 500");
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "422"] {
                    assert!(responses.contains_key(status), "{method} {path}: no {status}");
                }
                // A JSON body is refused in any other media type; a file
                // upload reads what it is given.
                let json = operation["requestBody"]["content"].get("application/json").is_some();
                assert_eq!(responses.contains_key("415"), json, "{method} {path}: 415");
                let contents = operation["requestBody"]["content"].as_object().unwrap();
                assert!(!contents.is_empty(), "{method} {path}: a body of no media type");
                for (media_type, content) in contents {
                    assert!(content["schema"].is_object(), "{method} {path} {media_type}");
                }
            }
            // `security: []` marks a public operation; the others name bearer.
            let security = operation["security"].as_array();
            let security = security.unwrap_or_else(|| panic!("{method} {path}: no security"));
            if !security.is_empty() {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
        }
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_offline() {
    let app = spawn_app().await;
    let redirect = app.get("/docs", None).await;
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.header("location"), Some("/docs/"));
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.as_str().unwrap().contains("swagger"), "{}", page.body);
    let script = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(script.status, 200);
    // Scripts and styles from this server only, none inline (contract/check
    // opens the page in Chromium under this policy).
    let policy = page.header("content-security-policy").unwrap();
    for directive in ["default-src 'none'", "script-src 'self';", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
}

#[actix_web::test]
async fn the_jwt_secret_is_kept_in_sqlite_and_required_on_postgres() {
    let db = TestDatabase::create();
    let mut config = db.config();
    config.jwt_secret = None;
    if db.is_postgres() {
        let err = lophoc::startup::Application::build(config)
            .await
            .err()
            .expect("refused without a secret");
        assert!(err.contains("LOPHOC_JWT_SECRET"), "{err}");
        return;
    }
    let first = start(db, config.clone()).await;
    let token = first.admin_token().await;
    // A restart on the same file keeps the secret, so tokens stay valid.
    let db = first.stop();
    let second = start(db, config).await;
    assert_eq!(second.get("/api/v1/me", Some(&token)).await.status, 200);
    let mut other_secret = second.db().config();
    other_secret.jwt_secret = Some(Secret::new("a-different-secret-a-different-secret"));
    let db = second.stop();
    let third = start(db, other_secret).await;
    third.get("/api/v1/me", Some(&token)).await.assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn the_sqlite_file_is_the_servers_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDatabase::create();
    if db.is_postgres() {
        return; // PostgreSQL keeps its own files.
    }
    let mode = |path: &str| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let path = db.url();
    let config = db.config();
    let app = start(db, config.clone()).await;
    app.admin_token().await;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&format!("{path}-wal")), 0o600, "SQLite's WAL file takes the file's mode");
    // A file that others could read (an earlier version made it so) is
    // narrowed at the next start.
    let db = app.stop();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let app = start(db, config).await;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(app.get("/health/ready", None).await.status, 200);
}

#[actix_web::test]
async fn lophoc_backup_copies_a_live_sqlite_database() {
    use std::os::unix::fs::PermissionsExt;
    let backup = |url: &str, target: &str| {
        Command::new(env!("CARGO_BIN_EXE_lophoc"))
            .args(["backup", target])
            .env("DATABASE_URL", url)
            .output()
            .unwrap()
    };
    let app = spawn_app().await;
    if app.db().is_postgres() {
        let refused = backup(&app.db().url(), "/tmp/never-written.db");
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));
        assert!(!std::path::Path::new("/tmp/never-written.db").exists());
        return;
    }
    let admin = app.admin_token().await;
    let kept = app
        .create_participant(&admin, json!({"full_name": "Sao Lưu Một", "category": "learner"}))
        .await;
    // Writes go on while the copy is taken.
    let copy = TestDatabase::create();
    let target = copy.url();
    let writes = futures_util::future::join_all((0..20).map(|n| {
        let body = json!({"full_name": format!("Đang Ghi {n}"), "category": "worker"});
        let admin = admin.clone();
        let app = &app;
        async move { app.post("/api/v1/participants", Some(&admin), &body).await.status }
    }));
    let source = app.db().url();
    let (statuses, copied) = futures_util::future::join(writes, async {
        actix_web::rt::task::spawn_blocking(move || backup(&source, &target)).await.unwrap()
    })
    .await;
    assert!(copied.status.success(), "{}", String::from_utf8_lossy(&copied.stderr));
    assert!(statuses.iter().all(|s| *s == 201));
    let mode = std::fs::metadata(copy.url()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A backup never overwrites a file.
    let again = backup(&app.db().url(), &copy.url());
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("cannot create"));

    // The copy serves, with what was there before it was taken.
    let config = copy.config();
    let restored = start(copy, config).await;
    let admin = restored.admin_token().await;
    let path = format!("/api/v1/participants/{}", id(&kept));
    assert_eq!(restored.get(&path, Some(&admin)).await.body["full_name"], "Sao Lưu Một");
}

#[actix_web::test]
async fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
    use diesel::connection::SimpleConnection;
    use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt, sql_types::Text};
    use lophoc::db::{DatabaseUrl, Db, DbConnection};

    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    #[derive(QueryableByName)]
    struct Flag {
        #[diesel(sql_type = BigInt)]
        foreign_keys: i64,
    }
    #[derive(QueryableByName)]
    struct Timeout {
        #[diesel(sql_type = BigInt)]
        timeout: i64,
    }

    let app = spawn_app().await;
    let db = Db::connect(&DatabaseUrl::parse(&app.db().url()), 1).unwrap();
    let mut conn = db.get().unwrap();
    match &mut *conn {
        DbConnection::Sqlite(inner) => {
            let mode: Mode = sql_query("PRAGMA journal_mode").get_result(inner).unwrap();
            assert_eq!(mode.journal_mode, "wal");
            let flag: Flag = sql_query("PRAGMA foreign_keys").get_result(inner).unwrap();
            assert_eq!(flag.foreign_keys, 1);
            let timeout: Timeout = sql_query("PRAGMA busy_timeout").get_result(inner).unwrap();
            assert!(timeout.timeout >= 5000);
            let orphan = inner.batch_execute(
                "INSERT INTO participants (id, full_name, category, gender, organization_id, created_at, updated_at)
                 VALUES ('p', 'x', 'other', 'other', 'no-such-unit', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            );
            assert!(orphan.is_err(), "foreign keys are not enforced");
        }
        DbConnection::Postgresql(_) => assert!(app.db().is_postgres()),
    }
}

#[actix_web::test]
async fn write_transactions_nest_alike_on_both_backends() {
    use diesel::result::Error;
    use lophoc::db::{DatabaseUrl, Db, write_transaction};

    let app = spawn_app().await;
    let db = Db::connect(&DatabaseUrl::parse(&app.db().url()), 1).unwrap();
    let mut conn = db.get().unwrap();
    let nested = write_transaction(&mut conn, |conn| {
        write_transaction(conn, |conn| {
            lophoc::db::settings::get_or_insert(conn, "probe", || "1".into())
        })
    });
    assert_eq!(nested, Ok::<_, Error>("1".to_owned()));
    // An error inside rolls the whole outer transaction back.
    let failed: Result<(), Error> = write_transaction(&mut conn, |conn| {
        lophoc::db::settings::get_or_insert(conn, "rolled-back", || "x".into())?;
        write_transaction(conn, |_| Err(Error::RollbackTransaction))
    });
    assert!(failed.is_err());
    let kept = lophoc::db::settings::get_or_insert(&mut conn, "rolled-back", || "fresh".into());
    assert_eq!(kept, Ok("fresh".to_owned()));
}

#[actix_web::test]
async fn a_bad_first_admin_configuration_stops_start_up() {
    let db = TestDatabase::create();
    let mut config = db.config();
    config.admin_email = Some("not an email".into());
    let err = lophoc::startup::Application::build(config).await.err().expect("refused");
    assert!(err.contains("LOPHOC_ADMIN_EMAIL"), "{err}");
    let mut config = db.config();
    config.admin_password = Some(Secret::new("short"));
    assert!(lophoc::startup::Application::build(config).await.is_err());
}

/// The real binary, started as an operator would.
struct Server {
    child: Child,
    port: u16,
    stdout: mpsc::Receiver<String>,
    /// Every line the server logged.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// A test that fails midway leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(db: &TestDatabase, admin_from_env: bool) -> Server {
        Self::start_with(db, admin_from_env, &[])
    }

    fn start_with(db: &TestDatabase, admin_from_env: bool, env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lophoc"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.url())
            .env("LOPHOC_LISTEN", "127.0.0.1:0")
            .env("LOPHOC_WORKERS", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if db.is_postgres() {
            command.env("LOPHOC_JWT_SECRET", JWT_SECRET);
        }
        if admin_from_env {
            command
                .env("LOPHOC_ADMIN_EMAIL", ADMIN_EMAIL)
                .env("LOPHOC_ADMIN_PASSWORD", ADMIN_PASSWORD);
        }
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("the binary starts");
        let (port_tx, port_rx) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                // `port=8080` in text, `"port":8080` in JSON.
                let port = line.split("port=").nth(1).or_else(|| line.split("\"port\":").nth(1));
                if let Some(port) = port {
                    let digits: String = port.chars().take_while(char::is_ascii_digit).collect();
                    let _ = port_tx.send(digits.parse::<u16>().unwrap());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let (line_tx, stdout) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = line_tx.send(line);
            }
        });
        let port =
            port_rx.recv_timeout(Duration::from_secs(60)).expect("the server reports its port");
        Server { child, port, stdout, log }
    }

    fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn healthcheck(&self) -> bool {
        Command::new(env!("CARGO_BIN_EXE_lophoc"))
            .arg("healthcheck")
            .env("LOPHOC_LISTEN", format!("127.0.0.1:{}", self.port))
            .status()
            .unwrap()
            .success()
    }

    /// Sends SIGTERM and returns whether it exited cleanly in time.
    fn terminate(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(40);
        let exited = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (exited, self.stdout.try_iter().collect())
    }
}

#[actix_web::test]
async fn the_binary_prints_a_generated_admin_password_once_and_stops_on_sigterm() {
    let db = TestDatabase::create();
    let server = Server::start(&db, false);
    assert!(server.healthcheck(), "healthcheck should pass while serving");
    let printed: Vec<String> = {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = Vec::new();
        while Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains("password:")) {
            if let Ok(line) = server.stdout.recv_timeout(Duration::from_millis(200)) {
                lines.push(line);
            }
        }
        lines
    };
    let password = printed
        .iter()
        .find_map(|line| line.trim().strip_prefix("password:"))
        .expect("a generated password is printed")
        .trim()
        .to_owned();
    let app = TestApp::for_address(format!("http://127.0.0.1:{}", server.port), db);
    let tokens = app.login(lophoc::bootstrap::DEFAULT_ADMIN_EMAIL, &password).await;
    assert_eq!(tokens.user["role"], "admin");

    let port = server.port;
    let (clean, _) = server.terminate();
    assert!(clean, "the server did not exit cleanly on SIGTERM");
    let after = Command::new(env!("CARGO_BIN_EXE_lophoc"))
        .arg("healthcheck")
        .env("LOPHOC_LISTEN", format!("127.0.0.1:{port}"))
        .status()
        .unwrap();
    assert!(!after.success(), "healthcheck should fail once stopped");

    let db = app.stop();
    let again = Server::start(&db, false);
    assert!(again.healthcheck());
    let (clean, stdout) = again.terminate();
    assert!(clean);
    assert!(!stdout.iter().any(|line| line.contains("password")), "printed again: {stdout:?}");
}

#[actix_web::test]
async fn the_first_admin_comes_from_the_environment_when_set() {
    let db = TestDatabase::create();
    let server = Server::start(&db, true);
    let app = TestApp::for_address(format!("http://127.0.0.1:{}", server.port), db);
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(server.healthcheck());
    let (clean, stdout) = server.terminate();
    assert!(clean);
    assert!(!stdout.iter().any(|line| line.contains("password")), "{stdout:?}");
}

fn yaml(path: &str) -> Yaml {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

#[test]
fn docker_compose_runs_postgres_and_the_api_with_health_checks() {
    let compose = yaml("docker-compose.yml");
    let services = &compose["services"];
    let db = &services["db"];
    assert!(db["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(format!("{:?}", db["healthcheck"]["test"]).contains("pg_isready"));

    let api = &services["api"];
    assert_eq!(api["build"]["context"].as_str(), Some("."));
    assert_eq!(api["build"]["dockerfile"].as_str(), Some("Dockerfile"));
    assert_eq!(api["depends_on"]["db"]["condition"].as_str(), Some("service_healthy"));
    let env = &api["environment"];
    assert!(env["DATABASE_URL"].as_str().unwrap().starts_with("postgres://"));
    assert!(env["DATABASE_URL"].as_str().unwrap().contains("@db:5432/"));
    // No secret or admin password has a default that would ship to production.
    for required in ["LOPHOC_JWT_SECRET", "LOPHOC_ADMIN_PASSWORD", "POSTGRES_PASSWORD"] {
        let text = format!("{:?}", compose);
        assert!(text.contains(&format!("${{{required}:?")), "{required} must be required");
    }
    assert_eq!(env["LOPHOC_LISTEN"].as_str(), Some("0.0.0.0:8080"));
    assert!(format!("{:?}", api["healthcheck"]["test"]).contains("healthcheck"));
    assert!(format!("{:?}", api["ports"]).contains("8080:8080"));
}

#[test]
fn the_dockerfile_builds_what_the_readme_builds() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("cargo run --release") && readme.contains("cargo test"));
    assert!(dockerfile.contains("cargo build --release --locked"));
    for copied in ["Cargo.toml", "Cargo.lock", "build.rs", "src", "migrations"] {
        assert!(
            dockerfile.lines().any(|l| l.starts_with("COPY") && l.contains(copied)),
            "{copied} not copied"
        );
    }
    assert!(dockerfile.contains("target/release/lophoc"));
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("healthcheck"));
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let rust_version =
        manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    let image = dockerfile.lines().find_map(|l| l.strip_prefix("FROM rust:")).unwrap();
    let image_version = image.split('-').next().unwrap();
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u32>().unwrap()).collect::<Vec<_>>();
    assert!(
        parse(image_version) >= parse(rust_version),
        "rust:{image_version} is older than {rust_version}"
    );
}

/// PostgreSQL ends the server's connections (a restart, an operator): each
/// request that draws a dead one is answered `503` with `Retry-After`, never
/// `500`, and the dead connection leaves the pool, so that service comes
/// back without a restart. (SQLite's connections are files: nothing ends
/// them from outside.)
#[actix_web::test]
async fn a_database_outage_answers_503_quickly_and_passes_without_a_restart() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};
    let app = spawn_app().await;
    let TestDatabase::Postgres { server_url, name } = app.db() else {
        return; // SQLite is a file of the server's own: it cannot go away.
    };
    let admin = app.admin_token().await;
    let course = app.create_course(&admin, None).await;
    let session = app.create_session(&admin, &course, 1, &[]).await;
    let path = format!("/api/v1/sessions/{}", id(&session));
    assert_eq!(app.get(&path, Some(&admin)).await.status, 200);

    // The database refuses connections and ends those it had.
    let mut server = PgConnection::establish(server_url).unwrap();
    server
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        ))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Twenty requests at once, from a pool of eight: each answered, none
    // hanging for the ten seconds a request may queue for its turn.
    let started = Instant::now();
    let replies =
        futures_util::future::join_all((0..20).map(|_| app.get(&path, Some(&admin)))).await;
    for reply in &replies {
        reply.assert_problem(503, "service_unavailable");
        assert!(reply.header("retry-after").is_some());
    }
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(app.get("/health/ready", None).await.status, 503);

    // It comes back, and so does the service, with no restart.
    server.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.get("/health/ready", None).await.status != 200 {
        assert!(Instant::now() < deadline, "the service did not come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get(&path, Some(&admin)).await.status, 200);
}

#[actix_web::test]
async fn connections_the_database_ended_are_replaced_not_reused() {
    let app = spawn_app().await;
    if !app.db().is_postgres() {
        return;
    }
    let admin = app.admin_token().await;
    let course = app.create_course(&admin, None).await;
    let session = app.create_session(&admin, &course, 1, &[]).await;
    let path = format!("/api/v1/sessions/{}", id(&session));
    assert_eq!(app.get(&path, Some(&admin)).await.status, 200);

    app.execute_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    // Terminating is a signal: let the backends exit.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = 0;
    loop {
        let reply = app.get(&path, Some(&admin)).await;
        if reply.status == 200 {
            break;
        }
        reply.assert_problem(503, "service_unavailable");
        assert!(reply.header("retry-after").is_some());
        refused += 1;
        // Each dead connection fails one request and leaves the pool, which
        // opens new ones meanwhile; dead ones going back would fail on.
        assert!(refused <= 100, "the service did not come back: {:#}", reply.body);
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused > 0, "no request met a dead connection");
    for _ in 0..8 {
        assert_eq!(app.get(&path, Some(&admin)).await.status, 200, "a dead connection came back");
    }
}

#[actix_web::test]
async fn two_servers_on_one_database_share_seats_logins_limits_and_retries() {
    let db = TestDatabase::create();
    let (first, second) = (Server::start(&db, true), Server::start(&db, true));
    let a = TestApp::for_address(first.address(), db);
    let b = TestApp::another_server(second.address());
    let admin = a.admin_token().await;

    // Thirty people for ten seats, half through each server: ten places.
    let session = a.open_session(&admin, 5, 9, 10, false).await;
    let people = a.people(&admin, 30).await;
    let replies = futures_util::future::join_all(people.iter().enumerate().map(|(n, person)| {
        let server = if n % 2 == 0 { &a } else { &b };
        server.enrol(&admin, &session, person)
    }))
    .await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 10);
    for refused in replies.iter().filter(|r| r.status != 201) {
        refused.assert_problem(409, "session_full");
    }
    assert_eq!(b.session(&admin, &session).await["enrolled_count"], 10);

    // A logout on one ends the login on the other.
    let tokens = a.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let logout = json!({"refresh_token": tokens.refresh});
    assert_eq!(b.post("/api/v1/auth/logout", None, &logout).await.status, 204);
    a.get("/api/v1/me", Some(&tokens.access)).await.assert_problem(401, "invalid_token");

    // Limits are shared: guesses on one count on the other.
    for _ in 0..5 {
        a.login_reply("dp@example.vn", "wrong-password").await;
    }
    b.login_reply("dp@example.vn", "wrong-password").await.assert_problem(429, "too_many_requests");

    // A retry that reaches the other server gets the first answer.
    let key = [("Content-Type", "application/json"), ("Idempotency-Key", "two-servers-1")];
    let body = json!({"full_name": "Hai Máy Chủ", "category": "worker"}).to_string().into_bytes();
    let first_answer = a
        .request(Method::POST, "/api/v1/participants", Some(&admin), &key, Some(body.clone()))
        .await;
    assert_eq!(first_answer.status, 201);
    let replayed =
        b.request(Method::POST, "/api/v1/participants", Some(&admin), &key, Some(body)).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body["id"], first_answer.body["id"]);
}

/// A write the server answered with success, before it was killed.
#[derive(Clone, Debug)]
enum Acknowledged {
    Place(String),
    Cancellation(String),
    Mark(String),
}

/// Sends, eight at a time, for each person of `queue`: an enrolment, then a
/// mark (`present`) or, for every third, a cancellation; until the queue is
/// empty or the server stops answering. What it answered lands in `log`.
async fn write_stream(
    address: String,
    admin: String,
    session: String,
    queue: Arc<Mutex<Vec<(usize, String)>>>,
    log: Arc<Mutex<Vec<Acknowledged>>>,
) {
    let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
    let senders = (0..8).map(|_| {
        let (client, address, admin, session) =
            (client.clone(), address.clone(), admin.clone(), session.clone());
        let (queue, log) = (queue.clone(), log.clone());
        async move {
            loop {
                let Some((n, person)) = queue.lock().unwrap().pop() else { break };
                let enrolled = client
                    .post(format!("{address}/api/v1/sessions/{session}/enrolments"))
                    .bearer_auth(&admin)
                    .send_json(&json!({"participant_id": person}))
                    .await;
                let place = match enrolled {
                    Ok(mut answer) if answer.status() == 201 => {
                        let body: Value = answer.json().await.unwrap();
                        body["id"].as_str().unwrap().to_owned()
                    }
                    // Refused or cut off by the kill: not acknowledged.
                    _ => break,
                };
                log.lock().unwrap().push(Acknowledged::Place(place.clone()));
                let (then, acknowledged) = if n % 3 == 0 {
                    let sent = client
                        .delete(format!("{address}/api/v1/enrolments/{place}"))
                        .bearer_auth(&admin)
                        .send()
                        .await;
                    (sent.map(|answer| answer.status()), Acknowledged::Cancellation(place))
                } else {
                    let marks = json!({"marks": [{"participant_id": person, "status": "present"}]});
                    let sent = client
                        .put(format!("{address}/api/v1/sessions/{session}/attendance"))
                        .bearer_auth(&admin)
                        .send_json(&marks)
                        .await;
                    (sent.map(|answer| answer.status()), Acknowledged::Mark(person))
                };
                match then {
                    Ok(status) if status.is_success() => log.lock().unwrap().push(acknowledged),
                    _ => break,
                }
            }
        }
    });
    futures_util::future::join_all(senders).await;
}

#[actix_web::test]
async fn writes_answered_before_a_kill_9_are_all_there_after_it() {
    let db = TestDatabase::create();
    let server = Server::start(&db, true);
    let app = TestApp::for_address(server.address(), db);
    let admin = app.admin_token().await;
    let session = app.running_session(&admin, &[], chrono::Duration::minutes(10), 1000).await;
    let people = app.people(&admin, 150).await;
    let queue = Arc::new(Mutex::new(people.into_iter().enumerate().collect::<Vec<_>>()));
    let log = Arc::new(Mutex::new(Vec::new()));

    // Three rounds: writes stream in, the server is killed mid-stream and
    // started again on the same database.
    let db = app.stop();
    let mut server = server;
    for _ in 0..3 {
        let before = log.lock().unwrap().len();
        let stream = write_stream(
            server.address(),
            admin.clone(),
            session.clone(),
            queue.clone(),
            log.clone(),
        );
        let streaming = std::sync::atomic::AtomicBool::new(true);
        let stream = async {
            stream.await;
            streaming.store(false, std::sync::atomic::Ordering::Release);
        };
        let kill = async {
            let deadline = Instant::now() + Duration::from_secs(60);
            while log.lock().unwrap().len() < before + 30 {
                assert!(
                    streaming.load(std::sync::atomic::Ordering::Acquire),
                    "the writes stopped before the kill: {:?}",
                    &log.lock().unwrap()[before..]
                );
                assert!(Instant::now() < deadline, "the writes are too slow");
                actix_web::rt::time::sleep(Duration::from_millis(5)).await;
            }
            let pid = server.child.id().to_string();
            assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
            server.child.wait().unwrap();
        };
        futures_util::future::join(stream, kill).await;
        server = Server::start(&db, true);
    }
    assert!(!queue.lock().unwrap().is_empty(), "every kill came mid-stream");

    // Every acknowledged write is there after the last restart.
    let app = TestApp::for_address(server.address(), db);
    let log = log.lock().unwrap().clone();
    let kinds = |wanted: fn(&Acknowledged) -> bool| log.iter().filter(|w| wanted(w)).count();
    assert!(kinds(|w| matches!(w, Acknowledged::Place(_))) >= 30, "{log:?}");
    assert!(kinds(|w| matches!(w, Acknowledged::Cancellation(_))) >= 5, "{log:?}");
    assert!(kinds(|w| matches!(w, Acknowledged::Mark(_))) >= 10, "{log:?}");
    let roll =
        app.get(&format!("/api/v1/sessions/{session}/attendance?limit=200"), Some(&admin)).await;
    assert_eq!(roll.status, 200, "{:#}", roll.body);
    let present: Vec<&str> = items(&roll)
        .iter()
        .filter(|entry| entry["mark"]["status"] == "present")
        .map(|entry| entry["participant"]["id"].as_str().unwrap())
        .collect();
    // The session's stored count agrees with its places after the kills.
    let counted = app.session(&admin, &session).await["enrolled_count"].as_u64().unwrap();
    assert_eq!(counted as usize, items(&roll).len(), "enrolled_count against the roster");
    for write in &log {
        match write {
            Acknowledged::Place(place) => {
                let reply = app.get(&format!("/api/v1/enrolments/{place}"), Some(&admin)).await;
                assert_eq!(reply.status, 200, "an acknowledged place was lost: {place}");
            }
            Acknowledged::Cancellation(place) => {
                let reply = app.get(&format!("/api/v1/enrolments/{place}"), Some(&admin)).await;
                assert_eq!(reply.body["status"], "cancelled", "a cancellation was lost: {place}");
            }
            Acknowledged::Mark(person) => {
                assert!(present.contains(&person.as_str()), "a mark was lost: {person}");
            }
        }
    }
}

#[actix_web::test]
async fn the_most_verbose_log_holds_no_secret_and_no_personal_data() {
    let db = TestDatabase::create();
    let server =
        Server::start_with(&db, true, &[("RUST_LOG", "trace"), ("LOPHOC_LOG_FORMAT", "json")]);
    let app = TestApp::for_address(server.address(), db);
    let admin_login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = admin_login.access.clone();

    // A parent signs up with their details, logs in (once wrongly) and
    // enrols; a trainer opens a check-in code that the parent uses; an
    // admin exports the places.
    let (name, email, phone, password) =
        ("Phạm Thị Riêng Tư", "rieng.tu@example.vn", "0912 777 888", "mat-khau-bi-mat-9");
    let sign_up = json!({"email": email, "password": password, "full_name": name,
        "category": "parent", "phone": phone});
    assert_eq!(app.post("/api/v1/auth/register", None, &sign_up).await.status, 201);
    app.login_reply(email, "sai-mat-khau-1").await.assert_problem(401, "invalid_credentials");
    let parent = app.login(email, password).await;
    let trainer = app.user_with_role(&admin, "gv.log@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let session =
        app.running_session(&admin, &[&trainer_id], chrono::Duration::minutes(5), 10).await;
    let enrol = format!("/api/v1/sessions/{session}/enrolments");
    assert_eq!(app.post(&enrol, Some(&parent.access), &json!({})).await.status, 201);
    let code = app
        .request(
            Method::POST,
            &format!("/api/v1/sessions/{session}/check-in-code"),
            Some(&trainer.access),
            &[],
            None,
        )
        .await;
    let code = code.body["code"].as_str().unwrap().to_owned();
    let check_in = format!("/api/v1/sessions/{session}/check-in");
    assert_eq!(app.post(&check_in, Some(&parent.access), &json!({"code": code})).await.status, 200);
    let refresh = json!({"refresh_token": parent.refresh});
    assert_eq!(app.post("/api/v1/auth/refresh", None, &refresh).await.status, 200);
    let export = app.get("/api/v1/exports/enrolments", Some(&admin)).await;
    assert_eq!(export.status, 200);
    assert!(String::from_utf8_lossy(&export.bytes).contains(name), "the export has the name");
    // The last lines reach the pipe a moment after the answers.
    std::thread::sleep(Duration::from_millis(300));
    let lines = server.log.lock().unwrap().clone();
    assert!(lines.len() > 50, "the trace was logged: {} lines", lines.len());
    for line in &lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not one JSON object: {line}");
    }
    let text = lines.join("\n");
    let secrets = [
        name,
        email,
        phone,
        "0912777888",
        password,
        "sai-mat-khau-1",
        ADMIN_PASSWORD,
        ADMIN_EMAIL,
        &admin_login.access,
        &admin_login.refresh,
        &parent.access,
        &parent.refresh,
        &trainer.access,
    ];
    for secret in secrets {
        assert!(!text.contains(secret), "the log shows {secret:?}");
    }
    // The six-digit code, as a number of its own anywhere in the log.
    let numbers = text.split(|c: char| !c.is_ascii_digit());
    assert!(!numbers.into_iter().any(|n| n == code), "the log shows the check-in code");
}

#[actix_web::test]
async fn metrics_count_requests_for_admins_and_the_operators_token() {
    let app = spawn_app_with(|config| {
        config.metrics_token = Some(Secret::new("scraper-token-scraper-token"));
    })
    .await;
    let admin = app.admin_token().await;
    let course = app.create_course(&admin, None).await;
    let session = app.create_session(&admin, &course, 1, &[]).await;
    for _ in 0..3 {
        assert_eq!(
            app.get(&format!("/api/v1/sessions/{}", id(&session)), Some(&admin)).await.status,
            200
        );
    }

    let reply = app.get("/metrics", Some(&admin)).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert!(reply.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(reply.bytes.clone()).unwrap();
    let reads =
        r#"lophoc_http_requests_total{method="GET",route="/api/v1/sessions/{id}",status="200"} 3"#;
    assert!(text.contains(reads), "{text}");
    assert!(text.contains(r#"lophoc_http_request_duration_seconds_count{method="GET",route="/api/v1/sessions/{id}",status="200"} 3"#));
    assert!(text.contains(r#"le="+Inf"} 3"#));
    assert!(text.contains("lophoc_db_connections{state=\"in_use\"}"));
    assert!(text.contains("lophoc_db_connections_max 8"));
    assert!(text.contains("lophoc_exports_in_progress 0"));
    assert!(!text.contains(&id(&session)), "ids never reach the metrics");

    // The operator's token reads them without an account; others do not.
    let scraper = app.get("/metrics", Some("scraper-token-scraper-token")).await;
    assert_eq!(scraper.status, 200);
    app.get("/metrics", Some("a-wrong-token")).await.assert_problem(401, "invalid_token");
    app.get("/metrics", None).await.assert_problem(401, "missing_token");
    let trainer = app.user_with_role(&admin, "gv.metrics@example.vn", "trainer").await;
    app.get("/metrics", Some(&trainer.access)).await.assert_problem(403, "forbidden");
}
