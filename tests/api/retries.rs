//! `Idempotency-Key`: a retried `POST` gets the first answer again and acts
//! once, per caller, across servers, and under concurrent retries.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const PARTICIPANTS: &str = "/api/v1/participants";

impl TestApp {
    /// A `POST` of `body` as JSON with `headers` besides.
    async fn post_with(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Reply {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        self.request(Method::POST, path, Some(token), &all, Some(body.to_string().into_bytes()))
            .await
    }

    /// How many profiles an admin finds under `name`.
    async fn profiles_named(&self, admin: &str, name: &str) -> usize {
        let reply = self.get(&format!("{PARTICIPANTS}?q={}", urlencode(name)), Some(admin)).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        items(&reply).len()
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn person(name: &str) -> Value {
    json!({"full_name": name, "category": "learner"})
}

#[actix_web::test]
async fn a_retried_post_gets_the_first_answer_and_acts_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = [("Idempotency-Key", "phone-7f3a-0001")];

    let first = app.post_with(PARTICIPANTS, &admin, &key, &person("Lò Văn Một")).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app.post_with(PARTICIPANTS, &admin, &key, &person("Lò Văn Một")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_eq!(app.profiles_named(&admin, "Lò Văn Một").await, 1);

    // The same key for another body, or another path, is refused and does
    // nothing.
    let other_body = app.post_with(PARTICIPANTS, &admin, &key, &person("Lò Văn Hai")).await;
    other_body.assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.profiles_named(&admin, "Lò Văn Hai").await, 0);
    let unit = json!({"name": "Trường Tiểu học Lò", "kind": "school"});
    let other_path = app.post_with("/api/v1/organizations", &admin, &key, &unit).await;
    other_path.assert_problem(422, "idempotency_key_reused");

    // Keys are the caller's own: another admin's same key acts for them.
    let other_admin = app.user_with_role(&admin, "qtv2@example.vn", "admin").await;
    let theirs =
        app.post_with(PARTICIPANTS, &other_admin.access, &key, &person("Lò Văn Một")).await;
    assert_eq!(theirs.status, 201);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_ne!(theirs.body["id"], first.body["id"]);

    // Without a key, nothing is replayed.
    for _ in 0..2 {
        assert_eq!(app.post(PARTICIPANTS, Some(&admin), &person("Lò Văn Ba")).await.status, 201);
    }
    assert_eq!(app.profiles_named(&admin, "Lò Văn Ba").await, 2);
}

#[actix_web::test]
async fn a_refusal_is_replayed_as_given_and_a_bad_key_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let vi = [("Idempotency-Key", "k-refused"), ("Accept-Language", "vi")];
    let nameless = json!({"full_name": "", "category": "learner"});
    let first = app.post_with(PARTICIPANTS, &admin, &vi, &nameless).await;
    first.assert_problem(422, "validation_failed");
    let again = app.post_with(PARTICIPANTS, &admin, &vi, &nameless).await;
    again.assert_problem(422, "validation_failed");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.bytes, first.bytes, "the same words, in the caller's language");

    for bad in ["", "has a space", &"k".repeat(256)] {
        let reply = app
            .post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", bad)], &person("Cà Thị Khoá"))
            .await;
        reply.assert_problem(400, "invalid_parameter");
        assert_eq!(reply.error_fields(), ["Idempotency-Key"]);
    }
    assert_eq!(app.profiles_named(&admin, "Cà Thị Khoá").await, 0);

    // Logins take no key: the header is ignored there.
    for _ in 0..2 {
        let login = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
        let reply = app
            .request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                &[("Content-Type", "application/json"), ("Idempotency-Key", "login-1")],
                Some(login.to_string().into_bytes()),
            )
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("idempotent-replayed"), None);
    }
}

#[actix_web::test]
async fn a_walk_in_retried_after_its_answer_was_lost_reaches_any_server() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let session =
        app.running_session(&admin, &[&trainer_id], chrono::Duration::minutes(5), 10).await;
    let path = format!("/api/v1/sessions/{session}/walk-ins");
    let key = [("Idempotency-Key", "hall-tablet-42")];
    let newcomer = json!({"full_name": "Vừa Đến Lần Đầu", "category": "worker"});

    let first = app.post_with(&path, &trainer.access, &key, &newcomer).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    // The phone never saw that answer; it retries, and the request reaches
    // a server started afresh on the same database.
    let config = app.db().config();
    let db = app.stop();
    let app = start(db, config).await;
    let again = app.post_with(&path, &trainer.access, &key, &newcomer).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(app.profiles_named(&admin, "Vừa Đến Lần Đầu").await, 1);
    let roster = app.get(&format!("/api/v1/sessions/{session}/enrolments"), Some(&admin)).await;
    assert_eq!(roster.status, 200, "{:#}", roster.body);
    assert_eq!(items(&roster).len(), 1);
}

#[actix_web::test]
async fn identical_requests_at_the_same_moment_act_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for round in 0..5 {
        let name = format!("Đồng Thời {}", ["Một", "Hai", "Ba", "Bốn", "Năm"][round]);
        let key = format!("same-moment-{round}");
        let headers = [("Idempotency-Key", key.as_str())];
        let body = person(&name);
        let (a, b) = futures_util::future::join(
            app.post_with(PARTICIPANTS, &admin, &headers, &body),
            app.post_with(PARTICIPANTS, &admin, &headers, &body),
        )
        .await;
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        // Either the second met the first still running, or it came after
        // and was given the first answer.
        match statuses {
            [201, 409] => {
                let busy = if a.status == 409 { &a } else { &b };
                busy.assert_problem(409, "idempotency_key_in_flight");
            }
            [201, 201] => {
                assert_eq!(a.body["id"], b.body["id"]);
                assert!([&a, &b].iter().any(|r| r.header("idempotent-replayed") == Some("true")));
            }
            other => panic!("unexpected answers {other:?}"),
        }
        assert_eq!(app.profiles_named(&admin, &name).await, 1);
    }
}

#[actix_web::test]
async fn a_key_in_flight_waits_and_one_abandoned_or_a_day_old_is_free() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    let body = person("Chờ Đợi Khoá");
    // Digests as the server makes them, under the test servers' secret.
    let secret = lophoc::idempotency::digest_key(JWT_SECRET.as_bytes());
    let of = |text: &str| lophoc::idempotency::digest(&secret, text.as_bytes());
    let same_body = of(&body.to_string());
    let claim = |key: &str, path: &str, digest: &str, age: &str, status: &str| {
        let path = of(&format!("{path}?"));
        let at = if app.db().is_postgres() {
            format!("now() - interval '{age}'")
        } else {
            format!("datetime('now', '-{age}')")
        };
        app.execute_sql(&format!(
            "INSERT INTO idempotency_keys (caller_id, key, method, target_digest, body_digest, status, headers, created_at)
             VALUES ('{me}', '{key}', 'POST', '{path}', '{digest}', {status}, '', {at})"
        ));
    };

    // Another server is running the first request.
    claim("running", PARTICIPANTS, &same_body, "1 second", "NULL");
    let reply = app.post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", "running")], &body).await;
    reply.assert_problem(409, "idempotency_key_in_flight");
    // A server that died mid-request left its claim ten minutes ago.
    claim("abandoned", PARTICIPANTS, &same_body, "11 minutes", "NULL");
    let reply =
        app.post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", "abandoned")], &body).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    // A key used yesterday for something else is free again.
    claim("yesterday", "/api/v1/organizations", "another body", "25 hours", "201");
    let reply =
        app.post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", "yesterday")], &body).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.header("idempotent-replayed"), None);
    assert_eq!(app.profiles_named(&admin, "Chờ Đợi Khoá").await, 2);
}

#[actix_web::test]
async fn an_answer_about_the_token_is_not_kept() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let key = [("Idempotency-Key", "after-logout")];
    let logout = json!({"refresh_token": admin.refresh});
    assert_eq!(app.post("/api/v1/auth/logout", None, &logout).await.status, 204);
    let refused = app.post_with(PARTICIPANTS, &admin.access, &key, &person("Sau Đăng Xuất")).await;
    refused.assert_problem(401, "invalid_token");
    // Signed in again, the same retry runs instead of replaying the 401.
    let fresh = app.admin_token().await;
    let reply = app.post_with(PARTICIPANTS, &fresh, &key, &person("Sau Đăng Xuất")).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.header("idempotent-replayed"), None);
}

#[actix_web::test]
async fn a_kept_answer_goes_to_a_live_login_only() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let key = [("Idempotency-Key", "before-logout")];
    let first = app.post_with(PARTICIPANTS, &admin.access, &key, &person("Trước Đăng Xuất")).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    let logout = json!({"refresh_token": admin.refresh});
    assert_eq!(app.post("/api/v1/auth/logout", None, &logout).await.status, 204);
    // The token still verifies for minutes, but its login has ended.
    let replay = app.post_with(PARTICIPANTS, &admin.access, &key, &person("Trước Đăng Xuất")).await;
    replay.assert_problem(401, "invalid_token");
    // Nor does it learn that the key was used for something else.
    let other = app.post_with(PARTICIPANTS, &admin.access, &key, &person("Người Khác")).await;
    other.assert_problem(401, "invalid_token");
    // Signed in again, the retry gets the first answer.
    let fresh = app.admin_token().await;
    let replay = app.post_with(PARTICIPANTS, &fresh, &key, &person("Trước Đăng Xuất")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.bytes, first.bytes);
}

#[actix_web::test]
async fn anonymising_a_person_forgets_the_answers_that_name_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let name = "Người Sẽ Bị Xoá";
    let created = app
        .post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", "erase-me")], &person(name))
        .await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    let kept = app
        .post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", "keep-me")], &person("Người Khác"))
        .await;
    let erase = format!("{PARTICIPANTS}/{}/anonymize", id(&created.body));
    let erased = app.request(Method::POST, &erase, Some(&admin), &[], None).await;
    assert_eq!(erased.status, 200, "{:#}", erased.body);
    // The answer that held the name is gone: a retry runs again rather
    // than hand the erased name back.
    let retry = app
        .post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", "erase-me")], &person(name))
        .await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_ne!(retry.body["id"], created.body["id"]);
    // Answers about other people are kept.
    let other = app
        .post_with(PARTICIPANTS, &admin, &[("Idempotency-Key", "keep-me")], &person("Người Khác"))
        .await;
    assert_eq!(other.header("idempotent-replayed"), Some("true"));
    assert_eq!(other.bytes, kept.bytes);
}
