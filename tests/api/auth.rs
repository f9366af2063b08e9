use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

fn signed(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[actix_web::test]
async fn register_makes_a_participant_with_a_linked_profile_whatever_the_body_says() {
    let app = spawn_app().await;
    let body = json!({
        "email": "  Lan.Tran@Example.VN ", "password": PASSWORD, "full_name": "Trần Thị Lan",
        "category": "parent", "gender": "female", "phone": "+84 912 345 678",
        "role": "admin", "active": false,
    });
    let reply = app.post("/api/v1/auth/register", None, &body).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["role"], "participant");
    assert_eq!(reply.body["email"], "lan.tran@example.vn");
    assert_eq!(reply.body["active"], true);
    assert!(reply.body["participant_id"].is_string());
    assert!(reply.body.get("password").is_none() && reply.body.get("password_hash").is_none());
    // Ids are UUIDv7 strings; times are RFC 3339 with an offset.
    for id in ["id", "participant_id"] {
        let parsed = uuid::Uuid::parse_str(reply.body[id].as_str().unwrap()).unwrap();
        assert_eq!(parsed.get_version_num(), 7, "{id}");
    }
    let created = reply.body["created_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok(), "{created}");

    let tokens = app.login("LAN.TRAN@example.vn", PASSWORD).await;
    let me = app.get("/api/v1/me", Some(&tokens.access)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["role"], "participant");
    assert_eq!(me.body["participant_id"], reply.body["participant_id"]);
    // The role claimed in the body grants nothing.
    app.get("/api/v1/users", Some(&tokens.access)).await.assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn register_checks_every_field() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "not-an-email", "password": "short", "full_name": "  ", "category": "student",
                    "phone": "call me", "organization_id": uuid::Uuid::now_v7()}),
        )
        .await;
    reply.assert_problem(422, "validation_failed");
    let fields = reply.error_fields();
    for field in ["email", "password", "full_name", "birth_date", "phone"] {
        assert!(fields.contains(&field.to_owned()), "{field} missing from {fields:?}");
    }

    let future_birth = json!({"email": "a@b.vn", "password": PASSWORD, "full_name": "An", "category": "student", "birth_date": "2999-01-01"});
    let reply = app.post("/api/v1/auth/register", None, &future_birth).await;
    assert_eq!(reply.error_fields(), ["birth_date"]);

    let unknown_unit = json!({"email": "a@b.vn", "password": PASSWORD, "full_name": "An", "category": "worker", "organization_id": uuid::Uuid::now_v7()});
    let reply = app.post("/api/v1/auth/register", None, &unknown_unit).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["organization_id"]);

    let bad_category = json!({"email": "a@b.vn", "password": PASSWORD, "full_name": "An", "category": "astronaut"});
    let reply = app.post("/api/v1/auth/register", None, &bad_category).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["category"]);

    // Nothing was created by any refused request.
    app.login_reply("a@b.vn", PASSWORD).await.assert_problem(401, "invalid_credentials");
}

#[actix_web::test]
async fn passwords_must_be_8_to_128_characters() {
    let app = spawn_app().await;
    for (password, status) in
        [("1234567".to_owned(), 422), ("x".repeat(129), 422), ("12345678".to_owned(), 201)]
    {
        let body = json!({"email": "len@b.vn", "password": password, "full_name": "An", "category": "worker"});
        assert_eq!(
            app.post("/api/v1/auth/register", None, &body).await.status,
            status,
            "{}",
            password.len()
        );
    }
    let huge = app.login_reply("len@b.vn", &"x".repeat(100_000)).await;
    huge.assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn an_email_registers_once_whatever_its_case() {
    let app = spawn_app().await;
    app.register("hoa@example.vn").await;
    let again = json!({"email": "HOA@example.vn", "password": PASSWORD, "full_name": "Hoa", "category": "learner"});
    app.post("/api/v1/auth/register", None, &again).await.assert_problem(409, "email_taken");
}

#[actix_web::test]
async fn concurrent_sign_ups_all_succeed_without_lock_errors() {
    let app = spawn_app().await;
    let sign_ups = (0..12).map(|i| {
        let body = json!({"email": format!("p{i}@example.vn"), "password": PASSWORD, "full_name": "An", "category": "worker"});
        let app = &app;
        async move { app.post("/api/v1/auth/register", None, &body).await.status.as_u16() }
    });
    let statuses = futures_util::future::join_all(sign_ups).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
}

#[actix_web::test]
async fn login_answers_with_the_token_shape_clients_rely_on() {
    let app = spawn_app().await;
    let reply = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 900);
    assert_eq!(reply.body["user"]["role"], "admin");
    assert!(reply.body["refresh_token"].as_str().unwrap().len() >= 40);
    let access = reply.body["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 15 * 60);
    assert_eq!(app.get("/api/v1/me", Some(access)).await.body["email"], ADMIN_EMAIL);
}

#[actix_web::test]
async fn unknown_email_and_wrong_password_answer_identically() {
    let app = spawn_app().await;
    let unknown = app.login_reply("nobody@example.vn", PASSWORD).await;
    let wrong = app.login_reply(ADMIN_EMAIL, "not-the-password").await;
    unknown.assert_problem(401, "invalid_credentials");
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.body, wrong.body);
}

#[actix_web::test]
async fn repeated_failures_for_one_account_are_throttled() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.login_reply(ADMIN_EMAIL, "wrong-password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    // Once throttled, even the right password waits: guessing gains nothing.
    let throttled = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    throttled.assert_problem(429, "too_many_requests");
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    // Unknown accounts are throttled the same way, so 429 reveals nothing.
    for _ in 0..5 {
        app.login_reply("ghost@example.vn", "wrong-password").await;
    }
    app.login_reply("ghost@example.vn", "wrong-password")
        .await
        .assert_problem(429, "too_many_requests");
}

#[actix_web::test]
async fn repeated_failures_from_one_address_are_throttled() {
    let app = spawn_app_with(|config| config.login_throttle.per_address = 3).await;
    for i in 0..3 {
        app.login_reply(&format!("guess{i}@example.vn"), "wrong-password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    let throttled = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    throttled.assert_problem(429, "too_many_requests");
    assert!(throttled.header("retry-after").is_some());
}

#[actix_web::test]
async fn the_owner_gets_in_from_elsewhere_while_someone_guesses() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.login_from("127.0.0.2", ADMIN_EMAIL, "wrong-password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    app.login_from("127.0.0.2", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .assert_problem(429, "too_many_requests");
    let owner = app.login_from("127.0.0.3", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(owner.status, 200, "{:#}", owner.body);
}

#[actix_web::test]
async fn a_school_behind_one_address_is_not_locked_out_by_a_few_mistakes() {
    let app = spawn_app().await;
    // Forty pupils mistype once each, behind the school's one address.
    for pupil in 0..40 {
        app.login_from("127.0.0.4", &format!("hocsinh{pupil}@example.vn"), "mistyped")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    let teacher = app.login_from("127.0.0.4", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(teacher.status, 200, "{:#}", teacher.body);
}

#[actix_web::test]
async fn an_account_guessed_at_from_many_addresses_is_slowed_for_them_only() {
    let app = spawn_app_with(|config| config.login_throttle.account_under_attack = 3).await;
    for n in 5..8 {
        app.login_from(&format!("127.0.0.{n}"), ADMIN_EMAIL, "wrong-password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    // A guesser's address waits a few seconds between tries…
    let slowed = app.login_from("127.0.0.5", ADMIN_EMAIL, "wrong-again").await;
    slowed.assert_problem(429, "too_many_requests");
    let wait: u64 = slowed.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=5).contains(&wait), "{wait}");
    // …and the owner, from an address that has not failed, gets in.
    let owner = app.login_from("127.0.0.9", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(owner.status, 200, "{:#}", owner.body);
}

#[actix_web::test]
async fn sign_ups_are_limited_per_address() {
    let app = spawn_app_with(|config| config.login_throttle.signups_per_address = 3).await;
    let sign_up = |n: u32| {
        json!({"email": format!("moi{n}@example.vn"), "password": PASSWORD,
            "full_name": "Người Đăng Ký", "category": "learner"})
    };
    for n in 0..3 {
        let reply = app.post_from("127.0.0.10", "/api/v1/auth/register", &sign_up(n)).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
    }
    let refused = app.post_from("127.0.0.10", "/api/v1/auth/register", &sign_up(3)).await;
    refused.assert_problem(429, "too_many_requests");
    assert!(refused.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)));
    // Nothing was made, and another address is not held up.
    app.login_reply("moi3@example.vn", PASSWORD).await.assert_problem(401, "invalid_credentials");
    let elsewhere = app.post_from("127.0.0.11", "/api/v1/auth/register", &sign_up(3)).await;
    assert_eq!(elsewhere.status, 201, "{:#}", elsewhere.body);
}

#[actix_web::test]
async fn a_successful_login_clears_the_account_failures() {
    let app = spawn_app().await;
    for _ in 0..4 {
        app.login_reply(ADMIN_EMAIL, "wrong-password").await;
    }
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for _ in 0..4 {
        app.login_reply(ADMIN_EMAIL, "wrong-password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_token_ends_the_session() {
    let app = spawn_app().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let rotated =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh})).await;
    assert_eq!(rotated.status, 200, "{:#}", rotated.body);
    assert_eq!(rotated.body["token_type"], "Bearer");
    assert_eq!(rotated.body["user"]["email"], ADMIN_EMAIL);
    let second_refresh = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    let second_access = rotated.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(app.get("/api/v1/me", Some(&second_access)).await.status, 200);

    // The old token was used: presenting it again is theft or a bug, and
    // ends the whole session, including the tokens handed out since.
    let reused =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh})).await;
    reused.assert_problem(401, "invalid_refresh_token");
    let after =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": second_refresh})).await;
    after.assert_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", Some(&second_access)).await.assert_problem(401, "invalid_token");

    // Other sessions of the same user are untouched.
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", Some(&other.access)).await.status, 200);
    let garbage =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": "garbage"})).await;
    garbage.assert_problem(401, "invalid_refresh_token");
}

#[actix_web::test]
async fn concurrent_refreshes_with_one_token_let_exactly_one_through() {
    let app = spawn_app().await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body = json!({"refresh_token": tokens.refresh});
    let attempts = (0..6).map(|_| app.post("/api/v1/auth/refresh", None, &body));
    let replies = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 401));
    // The losers presented a used token: the session is over, the winner's
    // new token included.
    let next = json!({"refresh_token": winners[0].body["refresh_token"]});
    app.post("/api/v1/auth/refresh", None, &next)
        .await
        .assert_problem(401, "invalid_refresh_token");
}

#[actix_web::test]
async fn an_expired_refresh_token_is_refused() {
    let app = spawn_app_with(|config| config.refresh_token_ttl = std::time::Duration::ZERO).await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let reply =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": tokens.refresh})).await;
    reply.assert_problem(401, "invalid_refresh_token");
}

#[actix_web::test]
async fn parallel_guesses_cannot_outrun_the_account_limit() {
    let app = spawn_app().await;
    let guesses = (0..12).map(|_| app.login_reply(ADMIN_EMAIL, "wrong-password"));
    let replies = futures_util::future::join_all(guesses).await;
    let checked = replies.iter().filter(|r| r.status == 401).count();
    let throttled = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((checked, throttled), (5, 7), "only 5 guesses may reach the password check");
}

#[actix_web::test]
async fn logout_ends_the_refresh_token_and_the_access_token() {
    let app = spawn_app().await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let reply =
        app.post("/api/v1/auth/logout", None, &json!({"refresh_token": tokens.refresh})).await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_null());
    let refresh =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": tokens.refresh})).await;
    refresh.assert_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", Some(&tokens.access)).await.assert_problem(401, "invalid_token");
    // Logging out twice is harmless.
    let again =
        app.post("/api/v1/auth/logout", None, &json!({"refresh_token": tokens.refresh})).await;
    assert_eq!(again.status, 204);
}

#[actix_web::test]
async fn forged_expired_and_unsigned_tokens_are_refused() {
    let app = spawn_app().await;
    let real = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.access;
    let mut claims = claims_of(&real);

    let forged = signed(&claims, "another-secret-another-secret-another");
    app.get("/api/v1/me", Some(&forged)).await.assert_problem(401, "invalid_token");

    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now - 3600);
    claims["exp"] = json!(now - 1800);
    app.get("/api/v1/me", Some(&signed(&claims, JWT_SECRET)))
        .await
        .assert_problem(401, "invalid_token");

    claims["exp"] = json!(now + 600);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    app.get("/api/v1/me", Some(&unsigned)).await.assert_problem(401, "invalid_token");

    let mut no_expiry = claims.clone();
    no_expiry.as_object_mut().unwrap().remove("exp");
    app.get("/api/v1/me", Some(&signed(&no_expiry, JWT_SECRET)))
        .await
        .assert_problem(401, "invalid_token");

    // Validly signed, but naming a session that does not exist.
    claims["sid"] = json!(uuid::Uuid::now_v7().to_string());
    app.get("/api/v1/me", Some(&signed(&claims, JWT_SECRET)))
        .await
        .assert_problem(401, "invalid_token");

    let missing = app.get("/api/v1/me", None).await;
    missing.assert_problem(401, "missing_token");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    let malformed = app
        .request(Method::GET, "/api/v1/me", None, &[("Authorization", "Basic YTpi")], None)
        .await;
    malformed.assert_problem(401, "missing_token");
}

#[actix_web::test]
async fn a_deactivated_user_is_locked_out_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "trainer@example.vn", "trainer").await;
    let id = trainer.user["id"].as_str().unwrap();

    let reply =
        app.patch(&format!("/api/v1/users/{id}"), Some(&admin), &json!({"active": false})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["active"], false);

    app.get("/api/v1/me", Some(&trainer.access)).await.assert_problem(401, "invalid_token");
    let refresh =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": trainer.refresh})).await;
    refresh.assert_problem(401, "invalid_refresh_token");
    // The right password answers exactly like a wrong one.
    let login = app.login_reply("trainer@example.vn", PASSWORD).await;
    assert_eq!(login.body, app.login_reply("nobody@example.vn", PASSWORD).await.body);
    login.assert_problem(401, "invalid_credentials");

    // Reactivated, the account can log in again.
    app.patch(&format!("/api/v1/users/{id}"), Some(&admin), &json!({"active": true})).await;
    app.login("trainer@example.vn", PASSWORD).await;
}

#[actix_web::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    app.register("an@example.vn").await;
    let here = app.login("an@example.vn", PASSWORD).await;
    let elsewhere = app.login("an@example.vn", PASSWORD).await;

    let wrong = app
        .post(
            "/api/v1/me/password",
            Some(&here.access),
            &json!({"current_password": "nope-nope", "new_password": "a-new-password"}),
        )
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.error_fields(), ["current_password"]);
    let short = app
        .post(
            "/api/v1/me/password",
            Some(&here.access),
            &json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(short.error_fields(), ["new_password"]);

    let changed = app
        .post(
            "/api/v1/me/password",
            Some(&here.access),
            &json!({"current_password": PASSWORD, "new_password": "a-new-password"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{:#}", changed.body);

    assert_eq!(app.get("/api/v1/me", Some(&here.access)).await.status, 200);
    app.get("/api/v1/me", Some(&elsewhere.access)).await.assert_problem(401, "invalid_token");
    let refresh =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": elsewhere.refresh})).await;
    refresh.assert_problem(401, "invalid_refresh_token");
    app.login_reply("an@example.vn", PASSWORD).await.assert_problem(401, "invalid_credentials");
    app.login("an@example.vn", "a-new-password").await;
}

#[actix_web::test]
async fn guessing_the_current_password_is_throttled_like_a_login() {
    let app = spawn_app().await;
    app.register("guess@example.vn").await;
    let tokens = app.login("guess@example.vn", PASSWORD).await;
    let guess = json!({"current_password": "not-it-at-all", "new_password": "a-new-password"});
    for _ in 0..5 {
        let reply = app.post("/api/v1/me/password", Some(&tokens.access), &guess).await;
        reply.assert_problem(422, "validation_failed");
    }
    let right = json!({"current_password": PASSWORD, "new_password": "a-new-password"});
    let reply = app.post("/api/v1/me/password", Some(&tokens.access), &right).await;
    reply.assert_problem(429, "too_many_requests");
    app.login_reply("guess@example.vn", PASSWORD).await.assert_problem(429, "too_many_requests");
}

#[actix_web::test]
async fn a_role_change_applies_to_tokens_already_issued() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.register("promoted@example.vn").await;
    let tokens = app.login("promoted@example.vn", PASSWORD).await;
    app.get("/api/v1/users", Some(&tokens.access)).await.assert_problem(403, "forbidden");
    let id = user["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/users/{id}"), Some(&admin), &json!({"role": "admin"})).await;
    assert_eq!(app.get("/api/v1/users", Some(&tokens.access)).await.status, 200);
}

#[actix_web::test]
async fn a_new_login_forgets_the_users_ended_sessions() {
    use diesel::prelude::*;
    use lophoc::db::schema::{login_sessions, refresh_tokens};
    use lophoc::db::{DatabaseUrl, Db};

    let app = spawn_app().await;
    let ended = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let live = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let rotated =
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": live.refresh})).await;
    assert_eq!(rotated.status, 200);
    app.post("/api/v1/auth/logout", None, &json!({"refresh_token": ended.refresh})).await;

    let db = Db::connect(&DatabaseUrl::parse(&app.db().url()), 1).unwrap();
    let count = |db: &Db| {
        let mut conn = db.get().unwrap();
        let sessions: i64 = login_sessions::table.count().get_result(&mut conn).unwrap();
        let tokens: i64 = refresh_tokens::table.count().get_result(&mut conn).unwrap();
        (sessions, tokens)
    };
    assert_eq!(count(&db), (2, 3));
    let newest = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // The logged-out session and its token are gone; the live one keeps its
    // used token (for reuse detection) and its current one.
    assert_eq!(count(&db), (2, 3));
    let current = rotated.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": current})).await.status,
        200
    );
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": ended.refresh}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    assert_eq!(app.get("/api/v1/me", Some(&newest.access)).await.status, 200);
}

/// Reads that check the caller's login themselves (`SignedIn`), in the same
/// statement as the data or before it on the same connection: an ended
/// login, or a token naming someone else's login, reads nothing, whether or
/// not what it names exists.
#[actix_web::test]
async fn reads_that_check_the_login_in_their_own_statement_refuse_an_ended_one() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "trainer@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let course = app.create_course(&admin, None).await;
    let session = app.create_session(&admin, &course, 1, &[&trainer_id]).await;
    let path = format!("/api/v1/sessions/{}", id(&session));
    let missing = format!("/api/v1/sessions/{}", uuid::Uuid::now_v7());
    assert_eq!(app.get(&path, Some(&trainer.access)).await.status, 200);
    app.get(&missing, Some(&trainer.access)).await.assert_problem(404, "not_found");

    // The trainer's token, made to name the admin: the login is not theirs.
    let mut claims = claims_of(&trainer.access);
    claims["sub"] = app.get("/api/v1/me", Some(&admin)).await.body["id"].clone();
    let borrowed = signed(&claims, JWT_SECRET);
    for read in [&path, &missing, &"/api/v1/sessions".to_owned()] {
        app.get(read, Some(&borrowed)).await.assert_problem(401, "invalid_token");
    }

    // Reads that check the login on their own connection before reading.
    let programme = app.create_programme(&admin).await;
    let course_of = app.create_course(&admin, Some(&programme)).await;
    let others = [
        "/api/v1/participants".to_owned(),
        "/api/v1/courses".to_owned(),
        format!("/api/v1/courses/{course_of}"),
        "/api/v1/programmes".to_owned(),
        format!("/api/v1/programmes/{programme}"),
    ];
    for read in &others {
        assert_eq!(app.get(read, Some(&trainer.access)).await.status, 200, "{read}");
        app.get(read, Some(&borrowed)).await.assert_problem(401, "invalid_token");
    }

    app.post("/api/v1/auth/logout", None, &json!({"refresh_token": trainer.refresh})).await;
    for read in [&path, &missing, &"/api/v1/sessions".to_owned()].into_iter().chain(&others) {
        app.get(read, Some(&trainer.access)).await.assert_problem(401, "invalid_token");
    }
}
