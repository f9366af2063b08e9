//! Trainers' devices: pairing with a one-time code, what a device token may
//! do and for whom, and how it stops.

use actix_web::http::Method;
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;

/// What a device token may call; everything else is `403`.
const MARKING_WORK: [(&str, &str); 6] = [
    ("get", "/api/v1/sessions/{id}/attendance"),
    ("put", "/api/v1/sessions/{id}/attendance"),
    ("post", "/api/v1/sessions/{id}/check-in-code"),
    ("post", "/api/v1/sessions/{id}/walk-ins"),
    ("post", "/api/v1/attendance/sync"),
    ("get", "/api/v1/me/rosters"),
];

impl TestApp {
    /// Creates a device as `token` and answers the reply.
    async fn new_device(&self, token: &str, name: &str) -> Reply {
        self.post("/api/v1/devices", Some(token), &json!({"name": name})).await
    }

    async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), &[], None).await
    }

    async fn pair(&self, code: &str) -> Reply {
        self.post("/api/v1/devices/pair", None, &json!({"pairing_code": code})).await
    }

    /// A device paired by `token`: its id and its token.
    pub(crate) async fn paired_device(&self, token: &str) -> (String, String) {
        let created = self.new_device(token, "Máy tính bảng xóm Đông").await;
        assert_eq!(created.status, 201, "{:#}", created.body);
        let paired = self.pair(created.body["pairing_code"].as_str().unwrap()).await;
        assert_eq!(paired.status, 200, "{:#}", paired.body);
        (id(&created.body), paired.body["device_token"].as_str().unwrap().to_owned())
    }
}

#[actix_web::test]
async fn a_code_pairs_one_device_once_and_only_trainers_and_admins_make_codes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    for role in ["participant", "coordinator"] {
        let other = app.user_with_role(&admin, &format!("{role}@example.vn"), role).await;
        app.new_device(&other.access, "Điện thoại").await.assert_problem(403, "forbidden");
    }
    app.new_device(&trainer.access, " ").await.assert_problem(422, "validation_failed");

    let created = app.new_device(&trainer.access, "Máy tính bảng xóm Đông").await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    let code = created.body["pairing_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8, "{code}");
    assert!(code.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{code}");
    let uri = created.body["pairing_uri"].as_str().unwrap();
    assert!(uri.starts_with("lophoc://pair?server=http%3A%2F%2F127.0.0.1"), "{uri}");
    assert!(uri.ends_with(&format!("&code={code}")), "{uri}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(created.body["expires_at"].as_str().unwrap()).unwrap();
    let left = expires.signed_duration_since(chrono::Utc::now());
    assert!(left > Duration::minutes(9) && left <= Duration::minutes(10), "{left}");
    let location = created.header("location").unwrap();
    assert_eq!(location, format!("/api/v1/devices/{}", id(&created.body)));

    // Typed loosely: small letters and a dash.
    let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
    let paired = app.pair(&typed).await;
    assert_eq!(paired.status, 200, "{:#}", paired.body);
    let token = paired.body["device_token"].as_str().unwrap();
    assert!(token.starts_with("lhd_") && token.len() > 40, "{token}");
    assert_eq!(paired.body["device"]["id"], created.body["id"]);
    assert_eq!(paired.body["device"]["user_id"], trainer.user["id"]);
    assert!(paired.body["device"]["paired_at"].is_string());
    assert_eq!(paired.body["device"]["pairing_expires_at"], Value::Null);

    app.pair(&code).await.assert_problem(422, "invalid_pairing_code");
    // `pair` is no device's id.
    let other = app.delete("/api/v1/devices/pair", &trainer.access).await;
    other.assert_problem(405, "method_not_allowed");

    // Neither the code nor the token is kept in clear.
    let stored = app.query_strings(
        "SELECT coalesce(token_hash, '') || ' ' || coalesce(pairing_code_hash, '') AS value \
         FROM devices",
    );
    assert!(stored.iter().all(|row| !row.contains(&code) && !row.contains(token)), "{stored:?}");
}

#[actix_web::test]
async fn two_devices_sending_one_code_at_once_pair_one() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app.new_device(&admin, "Máy quản trị").await;
    let code = created.body["pairing_code"].as_str().unwrap();
    let replies = futures_util::future::join_all((0..8).map(|_| app.pair(code))).await;
    let paired = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(paired, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_problem(422, "invalid_pairing_code");
    }
}

#[actix_web::test]
async fn guessing_codes_meets_429_for_that_address_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app.new_device(&admin, "Máy quản trị").await;
    let code = created.body["pairing_code"].as_str().unwrap();
    let guess = json!({"pairing_code": "00000000"});
    for _ in 0..10 {
        let reply = app.post_from("127.0.0.2", "/api/v1/devices/pair", &guess).await;
        assert_eq!(reply.status, 422, "{:#}", reply.body);
    }
    let refused = app.post_from("127.0.0.2", "/api/v1/devices/pair", &guess).await;
    assert_eq!(refused.status, 429, "{:#}", refused.body);
    assert!(refused.header("retry-after").is_some());
    // The right code from that address waits too: guessing is not helped
    // by a lucky try.
    let right = json!({"pairing_code": code});
    let held = app.post_from("127.0.0.2", "/api/v1/devices/pair", &right).await;
    assert_eq!(held.status, 429, "{:#}", held.body);
    // Another address is not held up.
    let elsewhere = app.post_from("127.0.0.3", "/api/v1/devices/pair", &right).await;
    assert_eq!(elsewhere.status, 200, "{:#}", elsewhere.body);
}

#[actix_web::test]
async fn a_device_marks_its_trainers_sessions_and_is_named_in_the_history_and_the_trail() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let colleague = app.user_with_role(&admin, "gv2@example.vn", "trainer").await;
    let own = app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 30).await;
    let theirs =
        app.running_session(&admin, &[&id(&colleague.user)], Duration::minutes(5), 30).await;
    let people = app.people(&admin, 2).await;
    let (person, stranger) = (&people[0], &people[1]);
    assert_eq!(app.enrol(&admin, &own, person).await.status, 201);
    assert_eq!(app.enrol(&admin, &theirs, stranger).await.status, 201);
    let (device_id, device) = app.paired_device(&trainer.access).await;

    let roll_call = app.get(&format!("/api/v1/sessions/{own}/attendance"), Some(&device)).await;
    assert_eq!(roll_call.status, 200, "{:#}", roll_call.body);
    assert_eq!(items(&roll_call).len(), 1);
    let marks = json!([{"participant_id": person, "status": "present"}]);
    let marked = app.put_marks(&device, &own, marks).await;
    assert_eq!(marked.status, 200, "{:#}", marked.body);
    assert_eq!(marked.body["marks"][0]["device_id"], device_id.as_str());
    assert_eq!(marked.body["marks"][0]["marked_by"], trainer.user["id"]);
    let path = format!("/api/v1/sessions/{own}/check-in-code");
    assert_eq!(app.post(&path, Some(&device), &json!({})).await.status, 201);
    let walk_in = json!({"full_name": "Phạm Văn Khách", "category": "worker"});
    let walked =
        app.post(&format!("/api/v1/sessions/{own}/walk-ins"), Some(&device), &walk_in).await;
    assert_eq!(walked.status, 201, "{:#}", walked.body);
    assert_eq!(walked.body["attendance"]["device_id"], device_id.as_str());

    // Not the colleague's session.
    let path = format!("/api/v1/sessions/{theirs}/attendance");
    app.get(&path, Some(&device)).await.assert_problem(403, "forbidden");
    let marks = json!([{"participant_id": stranger, "status": "present"}]);
    app.put_marks(&device, &theirs, marks).await.assert_problem(403, "forbidden");
    let sync = json!({"marks": [{"client_mark_id": "m-1", "session_id": theirs,
        "participant_id": stranger, "status": "late", "recorded_at": chrono::Utc::now()}]});
    let synced = app.post("/api/v1/attendance/sync", Some(&device), &sync).await;
    assert_eq!(synced.body["results"][0]["outcome"], "refused", "{:#}", synced.body);
    assert_eq!(synced.body["results"][0]["reason"], "forbidden");

    let history =
        app.get(&format!("/api/v1/sessions/{own}/attendance/history"), Some(&trainer.access)).await;
    assert!(items(&history).iter().all(|c| c["device_id"] == device_id.as_str()), "{history:?}");
    let trail = app.get("/api/v1/audit-events?action=mark", Some(&admin)).await;
    assert_eq!(items(&trail).len(), 2, "the mark and the walk-in's mark");
    assert!(items(&trail).iter().all(|e| e["device_id"] == device_id.as_str()), "{trail:?}");
    let pairing = app.get("/api/v1/audit-events?entity_type=device", Some(&admin)).await;
    let actions: Vec<_> = items(&pairing).iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "pair"]);

    let listed = app.get("/api/v1/devices", Some(&trainer.access)).await;
    assert_eq!(items(&listed).len(), 1);
    assert!(items(&listed)[0]["last_seen_at"].is_string(), "{:#}", listed.body);
    let none = app.get("/api/v1/devices", Some(&colleague.access)).await;
    assert!(items(&none).is_empty(), "a trainer sees only their own devices");
    let all = app.get("/api/v1/devices", Some(&admin)).await;
    assert_eq!(items(&all).len(), 1, "an admin sees everyone's");
}

/// Every operation of the document that needs a token, with a device's:
/// marking work gets past the door (a 404 or 422 for the made-up ids and
/// empty bodies), everything else is `403`.
#[actix_web::test]
async fn a_device_token_is_refused_everywhere_outside_marking_work() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let (_, device) = app.paired_device(&trainer.access).await;
    let document = app.get("/openapi.json", None).await.body;
    let some_id = "0190f2a4-6c1e-7b3a-9d2e-4f5a6b7c8d9e";
    let (mut checked, mut wrong) = (0, Vec::new());
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let public = operation["security"].as_array().is_some_and(|s| s.is_empty());
            if public || !path.starts_with("/api/v1") {
                continue;
            }
            let url = path.replace("{id}", some_id);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = Some(b"{}".to_vec());
            let json = [("Content-Type", "application/json")];
            let reply = app.request(method.clone(), &url, Some(&device), &json, body).await;
            let status = reply.status.as_u16();
            let work = MARKING_WORK.contains(&(method.as_str().to_lowercase().as_str(), path));
            if (work && [401, 403].contains(&status)) || (!work && status != 403) {
                wrong.push(format!("{method} {path}: {status} {}", reply.body["code"]));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(checked > 50, "only {checked} operations");
}

#[actix_web::test]
async fn a_revoked_device_or_one_whose_trainer_is_deactivated_stops_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let colleague = app.user_with_role(&admin, "gv2@example.vn", "trainer").await;
    let session =
        app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 30).await;
    let roll_call = format!("/api/v1/sessions/{session}/attendance");
    let (device_id, device) = app.paired_device(&trainer.access).await;
    let (_, second) = app.paired_device(&trainer.access).await;
    assert_eq!(app.get(&roll_call, Some(&device)).await.status, 200);

    let path = format!("/api/v1/devices/{device_id}");
    app.delete(&path, &colleague.access).await.assert_problem(404, "not_found");
    app.delete(&path, &device).await.assert_problem(403, "forbidden");
    let revoked = app.delete(&path, &trainer.access).await;
    assert_eq!(revoked.status, 200, "{:#}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    app.get(&roll_call, Some(&device)).await.assert_problem(401, "invalid_token");
    app.get("/api/v1/me", Some(&device)).await.assert_problem(401, "invalid_token");
    let again = app.delete(&path, &trainer.access).await;
    assert_eq!(
        again.body["revoked_at"], revoked.body["revoked_at"],
        "revoking again changes nothing"
    );
    assert_eq!(app.get(&roll_call, Some(&second)).await.status, 200, "the other device works on");

    // Deactivating the trainer ends their devices for good, as it ends
    // their logins, and a code they made before pairs nothing.
    let waiting = app.new_device(&trainer.access, "Điện thoại").await;
    let user = format!("/api/v1/users/{}", id(&trainer.user));
    let deactivated = app.patch(&user, Some(&admin), &json!({"active": false})).await;
    assert_eq!(deactivated.status, 200, "{:#}", deactivated.body);
    app.get(&roll_call, Some(&second)).await.assert_problem(401, "invalid_token");
    let code = waiting.body["pairing_code"].as_str().unwrap();
    app.pair(code).await.assert_problem(422, "invalid_pairing_code");
    let reactivated = app.patch(&user, Some(&admin), &json!({"active": true})).await;
    assert_eq!(reactivated.status, 200);
    app.get(&roll_call, Some(&second)).await.assert_problem(401, "invalid_token");
    let trail = app.get("/api/v1/audit-events?action=revoke", Some(&admin)).await;
    assert_eq!(items(&trail).len(), 3, "the one revoked by hand, then the other two");

    // No longer a trainer: the device paired since stops too.
    let trainer = app.login("gv@example.vn", PASSWORD).await;
    let (_, third) = app.paired_device(&trainer.access).await;
    assert_eq!(app.get(&roll_call, Some(&third)).await.status, 200);
    let demotion = json!({"role": "participant", "category": "worker"});
    assert_eq!(app.patch(&user, Some(&admin), &demotion).await.status, 200);
    app.get(&roll_call, Some(&third)).await.assert_problem(401, "invalid_token");
}

/// A tablet on a weak connection sends a walk-in again with the same key:
/// one person, one place, and the first answer again.
#[actix_web::test]
async fn a_devices_retried_walk_in_with_its_key_acts_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let session =
        app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 30).await;
    let (_, device) = app.paired_device(&trainer.access).await;
    let (_, other) = app.paired_device(&trainer.access).await;
    let path = format!("/api/v1/sessions/{session}/walk-ins");
    let body = json!({"full_name": "Phạm Văn Khách", "category": "worker", "phone": "0912345678"});
    let body = body.to_string();
    let app = &app;
    let send = |token: String| {
        let (path, body) = (path.clone(), body.clone().into_bytes());
        let headers = [("Content-Type", "application/json"), ("Idempotency-Key", "walk-in-1")];
        async move { app.request(Method::POST, &path, Some(&token), &headers, Some(body)).await }
    };
    let first = send(device.clone()).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    let again = send(device.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    // Another device's key is its own: the same key there runs, and finds
    // the person now on the roster.
    let elsewhere = send(other).await;
    assert_eq!(elsewhere.status, 200, "{:#}", elsewhere.body);
    assert_eq!(elsewhere.header("idempotent-replayed"), None);
    let roll_call = app.get(&format!("/api/v1/sessions/{session}/attendance"), Some(&admin)).await;
    assert_eq!(items(&roll_call).len(), 1, "{:#}", roll_call.body);
}
