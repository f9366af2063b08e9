//! Starting the application for a test, and talking to it.

use std::path::PathBuf;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::{Method, StatusCode};
use awc::http::header::HeaderMap;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use lophoc::config::{Config, Secret};
use lophoc::startup::Application;
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@trunghoi.vn";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "mat-khau-an-toan";

/// A database of its own for one test, removed when the test ends.
pub enum TestDatabase {
    Sqlite { dir: PathBuf },
    Postgres { server_url: String, name: String },
}

impl TestDatabase {
    pub fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()) {
            Some(server_url) => {
                let name = format!("lophoc_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn = PgConnection::establish(&server_url)
                    .expect("TEST_DATABASE_URL must be reachable");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                TestDatabase::Postgres { server_url, name }
            }
            None => {
                let dir =
                    std::env::temp_dir().join(format!("lophoc-test-{}", uuid::Uuid::now_v7()));
                std::fs::create_dir_all(&dir).expect("create a temporary directory");
                TestDatabase::Sqlite { dir }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDatabase::Postgres { .. })
    }

    pub fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite { dir } => dir.join("lophoc.db").display().to_string(),
            TestDatabase::Postgres { server_url, name } => {
                let (server, _database) =
                    server_url.rsplit_once('/').expect("URL with a database name");
                format!("{server}/{name}")
            }
        }
    }

    /// The configuration a test starts from: this database, a free port,
    /// a known first admin and, where it is required, a JWT secret.
    pub fn config(&self) -> Config {
        let mut config = Config::with_database(&self.url());
        config.listen = "127.0.0.1:0".into();
        config.workers = Some(2);
        config.db_pool_size = 8;
        config.admin_email = Some(ADMIN_EMAIL.into());
        config.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        config.jwt_secret = Some(Secret::new(JWT_SECRET));
        config
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDatabase::Postgres { server_url, name } => {
                if let Ok(mut conn) = PgConnection::establish(server_url) {
                    let _ =
                        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    client: awc::Client,
    server: Option<RunningServer>,
    db: Option<TestDatabase>,
}

/// The application serving on a thread and actix system of its own, so
/// that stopping it does not depend on the test's runtime being polled:
/// every test ends with its workers and hashing threads gone.
struct RunningServer {
    handle: ServerHandle,
    thread: std::thread::JoinHandle<()>,
}

impl RunningServer {
    fn stop(self) {
        // The command is sent at once; the returned future only waits.
        drop(self.handle.stop(false));
        let _ = self.thread.join();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

/// A response, with its body parsed as JSON when it has one.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    /// The body as it came (a CSV or XLSX file).
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem document with this status and `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        assert_eq!(self.body["status"], status, "{:#}", self.body);
        assert_eq!(self.body["code"], code, "{:#}", self.body);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["detail"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(self.body["type"], format!("urn:lophoc:problem:{code}"));
    }

    /// The fields named in a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect()
            })
            .unwrap_or_default()
    }
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub user: Value,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDatabase::create();
    let mut config = db.config();
    customize(&mut config);
    start(db, config).await
}

/// Starts the application on an existing test database.
pub async fn start(db: TestDatabase, config: Config) -> TestApp {
    let (address, server) = serve(config).await;
    let mut app = TestApp::for_address(address, db);
    app.server = Some(server);
    app
}

/// Serves `config` on a thread of its own.
async fn serve(config: Config) -> (String, RunningServer) {
    let (ready, started) = tokio::sync::oneshot::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(config).await {
                Ok(application) => {
                    let _ = ready.send(Ok((application.port(), application.handle())));
                    let _ = application.run_until_stopped().await;
                }
                Err(err) => {
                    let _ = ready.send(Err(err));
                }
            }
        })
    });
    let (port, handle) = started.await.unwrap().expect("the application starts");
    (format!("http://127.0.0.1:{port}"), RunningServer { handle, thread })
}

impl TestApp {
    /// A client for a server already running at `address` on `db`.
    pub fn for_address(address: String, db: TestDatabase) -> Self {
        let client =
            awc::Client::builder().timeout(Duration::from_secs(60)).disable_redirects().finish();
        TestApp { address, client, server: None, db: Some(db) }
    }

    /// A client for another server on the database of an app already
    /// running (the two-server tests).
    pub fn another_server(address: String) -> Self {
        let client =
            awc::Client::builder().timeout(Duration::from_secs(60)).disable_redirects().finish();
        TestApp { address, client, server: None, db: None }
    }

    /// Starts another server with `config` (on this app's database), as
    /// a second server behind a load balancer; it stops when dropped.
    pub async fn second_server(&self, config: Config) -> TestApp {
        let (address, server) = serve(config).await;
        let mut second = TestApp::another_server(address);
        second.server = Some(server);
        second
    }

    pub fn db(&self) -> &TestDatabase {
        self.db.as_ref().expect("the database outlives the app")
    }

    /// Stops the server and hands back its database, to start another on it.
    pub fn stop(mut self) -> TestDatabase {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        self.db.take().expect("the database outlives the app")
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = match body {
            Some(body) => request.send_body(body).await,
            None => request.send().await,
        }
        .expect("the request reaches the application");
        let bytes = response.body().limit(64 << 20).await.expect("a readable body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, &[], None).await
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Reply {
        let json = [("Content-Type", "application/json")];
        self.request(method, path, token, &json, Some(body.to_string().into_bytes())).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send_json(Method::POST, path, token, body).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send_json(Method::PATCH, path, token, body).await
    }

    pub async fn login_reply(&self, email: &str, password: &str) -> Reply {
        self.post("/api/v1/auth/login", None, &json!({"email": email, "password": password})).await
    }

    /// A login sent from another loopback address (`127.0.0.2`, …): another
    /// client address, as the throttle sees it.
    pub async fn login_from(&self, address: &str, email: &str, password: &str) -> Reply {
        let body = json!({"email": email, "password": password});
        self.post_from(address, "/api/v1/auth/login", &body).await
    }

    /// A `POST` without a token from another loopback address.
    pub async fn post_from(&self, address: &str, path: &str, body: &Value) -> Reply {
        let connector = awc::Connector::new().local_address(address.parse().unwrap());
        let client = awc::Client::builder().connector(connector).finish();
        let mut response = client
            .post(format!("{}{path}", self.address))
            .send_json(body)
            .await
            .expect("the request reaches the application");
        let bytes = response.body().await.expect("a readable body");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            bytes: bytes.to_vec(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let reply = self.login_reply(email, password).await;
        assert_eq!(reply.status, 200, "login as {email}: {:#}", reply.body);
        Tokens {
            access: reply.body["access_token"].as_str().unwrap().to_owned(),
            refresh: reply.body["refresh_token"].as_str().unwrap().to_owned(),
            user: reply.body["user"].clone(),
        }
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.access
    }

    /// Self-registers a learner with [`PASSWORD`] and returns the user.
    pub async fn register(&self, email: &str) -> Value {
        let body = json!({"email": email, "password": PASSWORD, "full_name": "Nguyễn Văn An", "category": "learner"});
        let reply = self.post("/api/v1/auth/register", None, &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body
    }

    pub async fn create_organization(&self, admin: &str, name: &str) -> String {
        let reply = self
            .post("/api/v1/organizations", Some(admin), &json!({"kind": "hamlet", "name": name}))
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates an account of `role` (admin-made) with [`PASSWORD`] and logs
    /// in as it.
    pub async fn user_with_role(&self, admin: &str, email: &str, role: &str) -> Tokens {
        let mut body =
            json!({"email": email, "password": PASSWORD, "full_name": "Lê Thị Hoa", "role": role});
        match role {
            "coordinator" => {
                body["organization_id"] = self.create_organization(admin, email).await.into()
            }
            "participant" => body["category"] = "worker".into(),
            _ => {}
        }
        let reply = self.post("/api/v1/users", Some(admin), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        self.login(email, PASSWORD).await
    }
}

/// Building the catalogue and people that the feature tests stand on.
impl TestApp {
    /// Creates a coordinator of `unit` and logs in as them.
    pub async fn coordinator_of(&self, admin: &str, email: &str, unit: &str) -> Tokens {
        let body = json!({"email": email, "password": PASSWORD, "full_name": "Đỗ Văn Minh",
            "role": "coordinator", "organization_id": unit});
        let reply = self.post("/api/v1/users", Some(admin), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        self.login(email, PASSWORD).await
    }

    /// Creates a participant profile as `token` and returns it.
    pub async fn create_participant(&self, token: &str, body: Value) -> Value {
        let reply = self.post("/api/v1/participants", Some(token), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body
    }

    pub async fn create_programme(&self, admin: &str) -> String {
        let body = json!({"name": "Tuần lễ học tập suốt đời 2023", "starts_on": "2023-10-02",
            "ends_on": "2023-10-08"});
        let reply = self.post("/api/v1/programmes", Some(admin), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_course(&self, admin: &str, programme_id: Option<&str>) -> String {
        let body = json!({"title": "Tìm kiếm thông tin an toàn", "duration_minutes": 90,
            "topics": ["Tìm kiếm", "Nhận diện tin giả"], "target_categories": ["student", "parent"],
            "programme_id": programme_id});
        let reply = self.post("/api/v1/courses", Some(admin), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a session of `course_id` on 2023-10-0`day` from 08:00 to
    /// 09:30 in Viet Nam, taught by `trainer_ids`.
    pub async fn create_session(
        &self,
        admin: &str,
        course_id: &str,
        day: u32,
        trainer_ids: &[&str],
    ) -> Value {
        let body = json!({"course_id": course_id, "starts_at": format!("2023-10-0{day}T08:00:00+07:00"),
            "ends_at": format!("2023-10-0{day}T09:30:00+07:00"), "venue": "Nhà văn hoá xóm Đồng Tâm",
            "capacity": 30, "trainer_ids": trainer_ids});
        let reply = self.post("/api/v1/sessions", Some(admin), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body
    }

    /// Runs SQL on the application's database directly, to set up what no
    /// endpoint of this stage writes (enrolments) or to look under the API.
    pub fn execute_sql(&self, sql: &str) {
        let url = lophoc::db::DatabaseUrl::parse(&self.db().url());
        let db = lophoc::db::Db::connect(&url, 1).expect("open the test database");
        db.get().expect("a connection").batch_execute(sql).expect("the SQL runs");
    }

    /// The column `value` (text) of each row `sql` selects, read under the
    /// API.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let url = self.db().url();
        let rows: Vec<Row> = if self.db().is_postgres() {
            let mut conn = PgConnection::establish(&url).expect("open the test database");
            diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut conn).expect("the SQL runs")
        } else {
            let mut conn =
                diesel::SqliteConnection::establish(&url).expect("open the test database");
            diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut conn).expect("the SQL runs")
        };
        rows.into_iter().map(|row| row.value).collect()
    }

    /// Puts a participant on a session's roster, as an enrolment would.
    pub fn enrol_directly(&self, session_id: &str, participant_id: &str) {
        self.execute_sql(&format!(
            "INSERT INTO enrolments (id, session_id, participant_id, status, source, created_at, updated_at)
             VALUES ('{}', '{session_id}', '{participant_id}', 'enrolled', 'admin',
                     '2023-09-01 00:00:00', '2023-09-01 00:00:00');
             UPDATE sessions SET enrolled_count = enrolled_count + 1 WHERE id = '{session_id}';",
            uuid::Uuid::now_v7()
        ));
    }
}

/// Enrolment fixtures: sessions open for enrolment now, and people.
impl TestApp {
    /// A course for every category, and a session of it `days` days from
    /// now (at a time of day of its own, `hour`), open for enrolment.
    pub async fn open_session(
        &self,
        admin: &str,
        days: i64,
        hour: u32,
        capacity: u32,
        waitlist: bool,
    ) -> String {
        let body = json!({"title": "An toàn trên mạng", "duration_minutes": 60});
        let course = self.post("/api/v1/courses", Some(admin), &body).await;
        assert_eq!(course.status, 201, "{:#}", course.body);
        let day = chrono::Utc::now().date_naive() + chrono::Duration::days(days);
        let starts_at = day.and_hms_opt(hour, 0, 0).unwrap().and_utc();
        let body = json!({"course_id": course.body["id"], "starts_at": starts_at,
            "ends_at": starts_at + chrono::Duration::minutes(90), "venue": "Hội trường xã",
            "capacity": capacity, "trainer_ids": [], "waitlist": waitlist});
        let reply = self.post("/api/v1/sessions", Some(admin), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// A session taught by `trainer_ids` that started `started` ago and
    /// ends an hour from now, still open for enrolment.
    pub async fn running_session(
        &self,
        admin: &str,
        trainer_ids: &[&str],
        started: chrono::Duration,
        capacity: u32,
    ) -> String {
        let body = json!({"title": "Điểm danh", "duration_minutes": 60});
        let course = self.post("/api/v1/courses", Some(admin), &body).await;
        let now = chrono::Utc::now();
        let body = json!({"course_id": course.body["id"], "starts_at": now - started,
            "ends_at": now + chrono::Duration::hours(1), "venue": "Nhà văn hoá",
            "capacity": capacity, "trainer_ids": trainer_ids, "waitlist": true,
            "enrolment_closes_at": now + chrono::Duration::minutes(50)});
        let reply = self.post("/api/v1/sessions", Some(admin), &body).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Moves a session in time, keeping its length: it starts at `starts`.
    pub fn move_session(
        &self,
        session_id: &str,
        starts: chrono::DateTime<chrono::Utc>,
        length: chrono::Duration,
    ) {
        let format =
            |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        self.execute_sql(&format!(
            "UPDATE sessions SET starts_at = '{}', ends_at = '{}' WHERE id = '{session_id}'",
            format(starts),
            format(starts + length)
        ));
    }

    pub async fn put_marks(&self, token: &str, session_id: &str, marks: Value) -> Reply {
        let path = format!("/api/v1/sessions/{session_id}/attendance");
        self.send_json(Method::PUT, &path, Some(token), &json!({"marks": marks})).await
    }

    /// Creates `count` adult learners as `token` and returns their ids.
    pub async fn people(&self, token: &str, count: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(count);
        for n in 0..count {
            let body = json!({"full_name": format!("Học Viên {n}"), "category": "learner"});
            ids.push(self.create_participant(token, body).await["id"].as_str().unwrap().to_owned());
        }
        ids
    }

    /// Enrols `participant_id` in `session_id` as `token`.
    pub async fn enrol(&self, token: &str, session_id: &str, participant_id: &str) -> Reply {
        let body = json!({"participant_id": participant_id});
        self.post(&format!("/api/v1/sessions/{session_id}/enrolments"), Some(token), &body).await
    }

    pub async fn cancel(&self, token: &str, enrolment_id: &str) -> Reply {
        let path = format!("/api/v1/enrolments/{enrolment_id}");
        self.request(Method::DELETE, &path, Some(token), &[], None).await
    }

    pub async fn session(&self, token: &str, session_id: &str) -> Value {
        self.get(&format!("/api/v1/sessions/{session_id}"), Some(token)).await.body
    }
}

/// The `id` of a resource in a reply's body.
pub fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("an id in {value:#}")).to_owned()
}

/// The `items` of a page.
pub fn items(reply: &Reply) -> &Vec<Value> {
    reply.body["items"].as_array().unwrap_or_else(|| panic!("a page: {:#}", reply.body))
}

/// The `field` of every item of a page.
pub fn item_field<'a>(reply: &'a Reply, field: &str) -> Vec<&'a str> {
    items(reply).iter().map(|item| item[field].as_str().unwrap_or("")).collect()
}
