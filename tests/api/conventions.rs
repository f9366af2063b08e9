//! The HTTP conventions every client relies on: `Location`, ETags and
//! preconditions, `HEAD`, CORS, gzip, request ids and cache headers.

use std::io::Read;

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with};

const SOME_ORIGIN: &str = "https://app.trunghoi.vn";

/// Every kind of resource a `PATCH` changes: where to create one, the body,
/// and a change to make to it.
fn editable() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "/api/v1/organizations",
            json!({"kind": "hamlet", "name": "Xóm Đồng Tâm"}),
            json!({"name": "Xóm Đồng Tâm 2"}),
        ),
        (
            "/api/v1/programmes",
            json!({"name": "Tuần lễ học tập", "starts_on": "2023-10-02", "ends_on": "2023-10-08"}),
            json!({"theme": "Tự học"}),
        ),
        (
            "/api/v1/courses",
            json!({"title": "Tìm kiếm an toàn", "duration_minutes": 90}),
            json!({"duration_minutes": 60}),
        ),
        (
            "/api/v1/participants",
            json!({"full_name": "Hoàng Văn Nam", "category": "worker"}),
            json!({"full_name": "Hoàng Văn Bắc"}),
        ),
        (
            "/api/v1/users",
            json!({"email": "gv@trunghoi.vn", "password": "mat-khau-an-toan",
                "full_name": "Lý Thị Mai", "role": "trainer"}),
            json!({"full_name": "Lý Thị Lan"}),
        ),
    ]
}

async fn session_of(app: &TestApp, admin: &str) -> String {
    app.open_session(admin, 3, 8, 10, true).await
}

async fn get_if_none_match(app: &TestApp, path: &str, token: &str, etag: &str) -> Reply {
    let headers = [("If-None-Match", etag)];
    app.request(Method::GET, path, Some(token), &headers, None).await
}

/// A `PATCH` with an `If-Match` header.
async fn patch_if(app: &TestApp, path: &str, token: &str, etag: &str, body: &Value) -> Reply {
    let headers = [("Content-Type", "application/json"), ("If-Match", etag)];
    let body = Some(body.to_string().into_bytes());
    app.request(Method::PATCH, path, Some(token), &headers, body).await
}

#[actix_web::test]
async fn creates_answer_201_with_the_new_resources_location() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (collection, body, _) in editable() {
        let created = app.post(collection, Some(&admin), &body).await;
        assert_eq!(created.status, 201, "{:#}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let location = created.header("location").expect("Location on 201");
        assert_eq!(location, format!("{collection}/{id}"));
        assert_eq!(app.get(location, Some(&admin)).await.body, created.body);
    }

    let session = session_of(&app, &admin).await;
    let person = app.people(&admin, 1).await.remove(0);
    let place = app.enrol(&admin, &session, &person).await;
    let location = place.header("location").expect("Location on a new place");
    assert_eq!(location, format!("/api/v1/enrolments/{}", place.body["id"].as_str().unwrap()));
    assert_eq!(app.get(location, Some(&admin)).await.status, 200);
    // Enrolling again finds the place: 200, nothing created, no Location.
    let again = app.enrol(&admin, &session, &person).await;
    assert_eq!((again.status.as_u16(), again.header("location")), (200, None));

    // A session, and a walk-in's new place.
    let course = app.create_course(&admin, None).await;
    let body = json!({"course_id": course, "starts_at": "2023-10-02T08:00:00+07:00",
        "ends_at": "2023-10-02T09:30:00+07:00", "venue": "Hội trường", "capacity": 30,
        "trainer_ids": []});
    let session = app.post("/api/v1/sessions", Some(&admin), &body).await;
    let id = session.body["id"].as_str().unwrap();
    assert_eq!(session.header("location"), Some(format!("/api/v1/sessions/{id}").as_str()));
    let running = app.running_session(&admin, &[], chrono::Duration::minutes(5), 5).await;
    let walk_in = json!({"full_name": "Đinh Văn Tú", "category": "worker"});
    let path = format!("/api/v1/sessions/{running}/walk-ins");
    let place = app.post(&path, Some(&admin), &walk_in).await;
    assert_eq!(place.status, 201, "{:#}", place.body);
    let id = place.body["id"].as_str().unwrap();
    assert_eq!(place.header("location"), Some(format!("/api/v1/enrolments/{id}").as_str()));

    let signed_up = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "lan@example.vn", "password": "mat-khau-an-toan",
                "full_name": "Lò Thị Lan", "category": "learner"}),
        )
        .await;
    assert_eq!(signed_up.status, 201, "{:#}", signed_up.body);
    // The new participant reads their account at /me, not /users/{id}.
    assert_eq!(signed_up.header("location"), Some("/api/v1/me"));
}

#[actix_web::test]
async fn reads_carry_an_etag_that_if_none_match_turns_into_304() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = session_of(&app, &admin).await;
    let path = format!("/api/v1/sessions/{session}");
    let read = app.get(&path, Some(&admin)).await;
    let etag = read.header("etag").expect("an ETag").to_owned();

    let cached = get_if_none_match(&app, &path, &admin, &etag).await;
    assert_eq!(cached.status, 304);
    assert!(cached.bytes.is_empty(), "304 has no body");
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    let weak = format!("W/{etag}");
    let listed = format!("\"other\", {weak}");
    let cached = get_if_none_match(&app, &path, &admin, &listed).await;
    assert_eq!(cached.status, 304, "weak comparison, any tag of a list");

    // A new place changes the seat counts, so the copy is stale.
    let person = app.people(&admin, 1).await.remove(0);
    assert_eq!(app.enrol(&admin, &session, &person).await.status, 201);
    let fresh = get_if_none_match(&app, &path, &admin, &etag).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body["enrolled_count"], 1);
    assert_ne!(fresh.header("etag"), Some(etag.as_str()));

    // Every read of one resource has one.
    let place = app.enrol(&admin, &session, &person).await.body["id"].as_str().unwrap().to_owned();
    let mut paths = vec![path, format!("/api/v1/enrolments/{place}")];
    for (collection, body, _) in editable() {
        let created = app.post(collection, Some(&admin), &body).await;
        paths.push(created.header("location").unwrap().to_owned());
    }
    for path in paths {
        let read = app.get(&path, Some(&admin)).await;
        assert_eq!(read.status, 200, "{path}");
        let etag = read.header("etag").unwrap_or_else(|| panic!("{path}: no ETag"));
        let again = get_if_none_match(&app, &path, &admin, etag).await;
        assert_eq!(again.status, 304, "{path}");
    }
}

#[actix_web::test]
async fn every_patch_with_a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = session_of(&app, &admin).await;
    let mut resources: Vec<(String, Value)> = Vec::new();
    for (collection, body, change) in editable() {
        let created = app.post(collection, Some(&admin), &body).await;
        resources.push((created.header("location").unwrap().to_owned(), change));
    }
    resources.push((format!("/api/v1/sessions/{session}"), json!({"venue": "Hội trường B"})));

    for (path, change) in resources {
        let read = app.get(&path, Some(&admin)).await;
        let seen = read.header("etag").unwrap().to_owned();
        // Someone else changes it meanwhile, without a precondition.
        let other = app.patch(&path, Some(&admin), &change).await;
        assert_eq!(other.status, 200, "{path}: {:#}", other.body);
        let now = app.get(&path, Some(&admin)).await;

        let mut late = change.clone();
        for value in late.as_object_mut().unwrap().values_mut() {
            let changed = match &*value {
                Value::String(text) => json!(format!("{text} (late)")),
                Value::Number(_) => json!(45),
                other => other.clone(),
            };
            *value = changed;
        }
        let refused = patch_if(&app, &path, &admin, &seen, &late).await;
        refused.assert_problem(412, "precondition_failed");
        assert_eq!(app.get(&path, Some(&admin)).await.body, now.body, "{path}: unchanged");

        // With the current tag the change goes through, and its answer
        // carries the tag of what is now stored.
        let current = now.header("etag").unwrap();
        let applied = patch_if(&app, &path, &admin, current, &late).await;
        assert_eq!(applied.status, 200, "{path}: {:#}", applied.body);
        let stored = app.get(&path, Some(&admin)).await;
        assert_eq!(applied.header("etag"), stored.header("etag"), "{path}");
        assert_ne!(stored.body, now.body, "{path}");
        let any = patch_if(&app, &path, &admin, "*", &change).await;
        assert_eq!(any.status, 200, "{path}: `*` matches what exists");
    }
}

#[actix_web::test]
async fn two_edits_from_one_reading_never_both_land() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unit = json!({"kind": "hamlet", "name": "Xóm Đồng Tâm"});
    let created = app.post("/api/v1/organizations", Some(&admin), &unit).await;
    let path = created.header("location").unwrap().to_owned();
    // Two officials read the same version and save at the same moment:
    // one change lands, the other is told the record moved on.
    for round in 0..10 {
        let seen = app.get(&path, Some(&admin)).await.header("etag").unwrap().to_owned();
        let (first, second) =
            (json!({"name": format!("A{round}")}), json!({"name": format!("B{round}")}));
        let (a, b) = futures_util::future::join(
            patch_if(&app, &path, &admin, &seen, &first),
            patch_if(&app, &path, &admin, &seen, &second),
        )
        .await;
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
        let winner = if a.status == 200 { &first } else { &second };
        assert_eq!(app.get(&path, Some(&admin)).await.body["name"], winner["name"]);
    }
}

#[actix_web::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = session_of(&app, &admin).await;
    for path in [
        format!("/api/v1/sessions/{session}"),
        "/api/v1/sessions".to_owned(),
        "/openapi.json".to_owned(),
        "/health/live".to_owned(),
    ] {
        let get = app.get(&path, Some(&admin)).await;
        let head = app.request(Method::HEAD, &path, Some(&admin), &[], None).await;
        assert_eq!(head.status, 200, "{path}");
        assert!(head.bytes.is_empty(), "{path}: HEAD has no body");
        assert_eq!(head.header("content-type"), get.header("content-type"), "{path}");
        assert_eq!(head.header("etag"), get.header("etag"), "{path}");
        let length = head.header("content-length").map(str::to_owned);
        assert_eq!(length, Some(get.bytes.len().to_string()), "{path}");
    }
    let unknown = app.request(Method::HEAD, "/api/v1/nothing", None, &[], None).await;
    assert_eq!(unknown.status, 404);

    // An export's HEAD tells what the download would be, without making it.
    let export = "/api/v1/exports/enrolments.xlsx";
    let head = app.request(Method::HEAD, export, Some(&admin), &[], None).await;
    assert_eq!(head.status, 200);
    assert!(head.header("content-disposition").is_some_and(|d| d.ends_with(".xlsx\"")));
    let trail = app.get("/api/v1/audit-events?action=export", Some(&admin)).await;
    assert!(trail.body["items"].as_array().unwrap().is_empty(), "no export was made");
    let refused = app.request(Method::HEAD, export, None, &[], None).await;
    assert_eq!(refused.status, 401, "access is checked all the same");
}

#[actix_web::test]
async fn cors_is_off_unless_origins_are_configured() {
    let app = spawn_app().await;
    let preflight = [
        ("Origin", SOME_ORIGIN),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "authorization, content-type"),
    ];
    let reply = app.request(Method::OPTIONS, "/api/v1/auth/login", None, &preflight, None).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let reply = app.request(Method::GET, "/health/live", None, &[("Origin", SOME_ORIGIN)], None);
    let reply = reply.await;
    assert_eq!(reply.status, 200, "same answer, no CORS header");
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[actix_web::test]
async fn configured_origins_get_cors_with_preflight() {
    let app = spawn_app_with(|config| {
        config.cors_origins = vec![SOME_ORIGIN.into(), "http://localhost:5173".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        [
            ("Origin", origin),
            ("Access-Control-Request-Method", "PATCH"),
            ("Access-Control-Request-Headers", "authorization, content-type, if-match"),
        ]
    };
    let path = "/api/v1/sessions/0193b6a0-0000-7000-8000-000000000000";
    let allowed = app.request(Method::OPTIONS, path, None, &preflight(SOME_ORIGIN), None).await;
    assert!(allowed.status.is_success(), "{:?}", allowed.status);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(SOME_ORIGIN));
    let methods = allowed.header("access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("PATCH"), "{methods}");
    let headers = allowed.header("access-control-allow-headers").unwrap_or_default();
    assert!(headers.contains("if-match"), "{headers}");

    let stranger = "https://elsewhere.example";
    let refused = app.request(Method::OPTIONS, path, None, &preflight(stranger), None).await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(refused.header("content-type"), Some("application/problem+json"));

    // A real request from an allowed origin may read the answer and the
    // headers a client needs, errors included.
    let origin = [("Origin", SOME_ORIGIN), ("Accept-Language", "vi")];
    let denied = app.request(Method::GET, "/api/v1/me", None, &origin, None).await;
    denied.assert_problem(401, "missing_token");
    assert_eq!(denied.header("access-control-allow-origin"), Some(SOME_ORIGIN));
    let exposed = denied.header("access-control-expose-headers").unwrap_or_default();
    for header in ["etag", "location", "x-request-id", "content-disposition"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut plain).expect("a gzip body");
    plain
}

#[actix_web::test]
async fn gzip_compresses_json_documents_and_files_when_asked() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let gzip = [("Accept-Encoding", "gzip")];
    let document = app.request(Method::GET, "/openapi.json", None, &gzip, None).await;
    assert_eq!(document.header("content-encoding"), Some("gzip"));
    let plain = app.get("/openapi.json", None).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(gunzip(&document.bytes), plain.bytes);
    assert!(document.bytes.len() * 3 < plain.bytes.len(), "JSON compresses well");

    let list = app.request(Method::GET, "/api/v1/organizations", Some(&admin), &gzip, None).await;
    assert_eq!(list.header("content-encoding"), Some("gzip"));
    let items: Value = serde_json::from_slice(&gunzip(&list.bytes)).unwrap();
    assert!(items["items"].is_array());

    let csv = "/api/v1/exports/enrolments?format=csv";
    let file = app.request(Method::GET, csv, Some(&admin), &gzip, None).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&file.bytes).starts_with("\u{feff}".as_bytes()), "the CSV, whole");
    // A workbook is a zip archive already: sent as it is.
    let xlsx = "/api/v1/exports/enrolments.xlsx";
    let book = app.request(Method::GET, xlsx, Some(&admin), &gzip, None).await;
    assert_eq!(book.header("content-encoding"), Some("identity"));
    assert!(book.bytes.starts_with(b"PK"));
}

#[actix_web::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let fresh = app.get("/health/live", None).await;
    let id = fresh.header("x-request-id").expect("an id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let other = app.get("/api/v1/nothing", None).await;
    assert_ne!(other.header("x-request-id"), Some(id), "one id a request");

    let sent = [("X-Request-Id", "hall-tablet-42.7:a_b")];
    let kept = app.request(Method::GET, "/api/v1/me", None, &sent, None).await;
    assert_eq!(kept.status, 401);
    assert_eq!(kept.header("x-request-id"), Some("hall-tablet-42.7:a_b"));
    let long = "x".repeat(129);
    for insane in ["two words", "<script>", long.as_str()] {
        let sent = [("X-Request-Id", insane)];
        let replaced = app.request(Method::GET, "/health/live", None, &sent, None).await;
        let id = replaced.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{insane:?} was replaced, not {id}");
    }
}

#[actix_web::test]
async fn answers_are_never_stored_sniffed_framed_or_referred() {
    let app = spawn_app().await;
    let login = app.login_reply(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(login.status, 200);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let token = login.body["access_token"].as_str().unwrap();
    for reply in [
        app.get("/api/v1/me", Some(token)).await,
        app.get("/api/v1/me", None).await,
        app.get("/api/v1/exports/enrolments", Some(token)).await,
    ] {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{:?}", reply.status);
    }
    let paths = [
        "/health/live",
        "/openapi.json",
        "/docs/",
        "/api/v1/nothing",
        "/api/v1/me",
        "/%61pi/v1/me",
    ];
    for path in paths {
        let reply = app.get(path, None).await;
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{path}");
        let api = path.starts_with("/api/") || path.starts_with("/%61pi/");
        let policy = reply.header("content-security-policy");
        if api {
            assert_eq!(policy, Some("default-src 'none'; frame-ancestors 'none'"), "{path}");
        } else if path.starts_with("/docs/") {
            assert!(policy.unwrap().starts_with("default-src 'none'; script-src 'self';"));
        } else {
            assert_eq!(policy, None, "{path}");
        }
    }
}

#[actix_web::test]
async fn the_docs_page_contacts_no_third_party() {
    let app = spawn_app().await;
    let initializer = app.get("/docs/swagger-initializer.js", None).await;
    assert_eq!(initializer.status, 200);
    let script = String::from_utf8_lossy(&initializer.bytes);
    assert!(script.contains(r#""validatorUrl": "none""#), "{script}");
    let page = app.get("/docs/", None).await;
    let html = String::from_utf8_lossy(&page.bytes);
    for tag in html.split('<').filter(|t| t.starts_with("script") || t.starts_with("link")) {
        assert!(!tag.contains("http://") && !tag.contains("https://"), "{tag}");
    }
}
