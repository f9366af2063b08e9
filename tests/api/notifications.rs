//! Telling people: the outbox's events, as webhooks that a receiver started
//! here gets, and as Vietnamese email that an SMTP receiver started here
//! gets.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::Method;
use chrono::{NaiveDateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use lophoc::config::Config;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::*;
use crate::receivers::{SmtpReceiver, WebhookReceiver, wait_until};

const EVERY_EVENT: [&str; 8] = [
    "enrolment.created",
    "enrolment.waitlisted",
    "enrolment.promoted",
    "enrolment.cancelled",
    "session.changed",
    "session.cancelled",
    "session.reminder",
    "attendance.marked",
];

/// Dispatchers that look often and retry soon, and receivers on loopback.
fn quick(config: &mut Config) {
    config.notify.poll_interval = Duration::from_millis(50);
    config.notify.first_retry_after = Duration::from_millis(200);
    config.notify.webhook_allow_private = true;
}

impl TestApp {
    async fn subscribe(&self, admin: &str, url: &str, events: &[&str]) -> Value {
        let reply = self
            .post("/api/v1/webhooks", Some(admin), &json!({"url": url, "events": events}))
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        reply.body
    }

    async fn deliveries(&self, admin: &str, webhook_id: &str) -> Vec<Value> {
        let reply =
            self.get(&format!("/api/v1/webhooks/{webhook_id}/deliveries"), Some(admin)).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        items(&reply).clone()
    }

    /// When the session's reminder is due, if it has one.
    fn reminder_due(&self, session_id: &str) -> Option<NaiveDateTime> {
        let cast = if self.db().is_postgres() { "due_at::text" } else { "due_at" };
        let rows = self.query_strings(&format!(
            "SELECT {cast} AS value FROM outbox_events
             WHERE event_type = 'session.reminder' AND session_id = '{session_id}'"
        ));
        assert!(rows.len() <= 1, "one reminder per session: {rows:?}");
        rows.first().map(|at| NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S%.f").unwrap())
    }

    fn count(&self, table: &str) -> usize {
        let cast = if self.db().is_postgres() { "::text" } else { "" };
        self.query_strings(&format!("SELECT COUNT(*){cast} AS value FROM {table}"))[0]
            .parse()
            .unwrap()
    }
}

/// An adult with an email, and a child without one whose guardian has one.
struct People {
    adult: Value,
    guardian: Value,
    child: Value,
}

impl TestApp {
    async fn people_with_addresses(&self, admin: &str) -> People {
        let adult = json!({"full_name": "Trần Thị Mai", "category": "learner",
            "email": "mai@example.vn"});
        let adult = self.create_participant(admin, adult).await;
        let guardian = json!({"full_name": "Phạm Văn Hùng", "category": "parent",
            "email": "hung@example.vn"});
        let guardian = self.create_participant(admin, guardian).await;
        let child = json!({"full_name": "Phạm Minh Khang", "category": "student",
            "birth_date": "2015-05-01", "guardian_id": id(&guardian)});
        let child = self.create_participant(admin, child).await;
        People { adult, guardian, child }
    }
}

/// The type and the subject of each delivery: the place's person, or the
/// session, sorted, as arrival order is not promised.
fn summary(received: &[crate::receivers::Received]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = received
        .iter()
        .map(|r| {
            let event = r.json();
            let data = &event["data"];
            let subject = data["participant_id"].as_str().or(data["session_id"].as_str());
            (event["type"].as_str().unwrap().to_owned(), subject.unwrap().to_owned())
        })
        .collect();
    list.sort();
    list
}

fn expected(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut list: Vec<_> = list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    list.sort();
    list
}

#[actix_web::test]
async fn each_change_sends_its_event_once_and_refusals_send_none() {
    let app = spawn_app_with(quick).await;
    let admin = app.admin_token().await;
    let receiver = WebhookReceiver::start();
    let hook = app.subscribe(&admin, &receiver.url(), &EVERY_EVENT).await;
    assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"));

    let one_seat = app.open_session(&admin, 3, 9, 1, true).await;
    let no_waitlist = app.open_session(&admin, 3, 14, 1, false).await;
    let people = app.people(&admin, 3).await;
    let (a, b, c) = (&people[0], &people[1], &people[2]);
    let place_a = app.enrol(&admin, &one_seat, a).await;
    assert_eq!(place_a.status, 201);
    assert_eq!(app.enrol(&admin, &one_seat, b).await.body["status"], "waitlisted");
    // Holding a place already, and a full session: nothing changes, and
    // nothing is told.
    assert_eq!(app.enrol(&admin, &one_seat, a).await.status, 200);
    assert_eq!(app.enrol(&admin, &no_waitlist, c).await.status, 201);
    app.enrol(&admin, &no_waitlist, b).await.assert_problem(409, "session_full");
    // A seat frees: a's place goes, b moves up.
    assert_eq!(app.cancel(&admin, &id(&place_a.body)).await.status, 200);
    // Another hall; then a change that is not of time or place.
    let path = format!("/api/v1/sessions/{one_seat}");
    let moved = app.patch(&path, Some(&admin), &json!({"venue": "Nhà văn hoá thôn Bắc"})).await;
    assert_eq!(moved.status, 200, "{:#}", moved.body);
    assert_eq!(app.patch(&path, Some(&admin), &json!({"capacity": 5})).await.status, 200);
    let marked =
        app.put_marks(&admin, &one_seat, json!([{"participant_id": b, "status": "present"}])).await;
    assert_eq!(marked.status, 200, "{:#}", marked.body);
    let cancelled = app.patch(&path, Some(&admin), &json!({"status": "cancelled"})).await;
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.body);

    let want = expected(&[
        ("enrolment.created", a),
        ("enrolment.waitlisted", b),
        ("enrolment.created", c),
        ("enrolment.cancelled", a),
        ("enrolment.promoted", b),
        ("session.changed", &one_seat),
        ("attendance.marked", b),
        ("session.cancelled", &one_seat),
        ("enrolment.cancelled", b),
    ]);
    receiver.wait_for(want.len(), Duration::from_secs(20)).await;
    // Nothing more comes.
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    assert_eq!(summary(&received), want);

    let by_type = |kind: &str| -> Vec<Value> {
        received.iter().map(|r| r.json()).filter(|e| e["type"] == kind).collect()
    };
    let waitlisted = &by_type("enrolment.waitlisted")[0]["data"];
    assert_eq!(waitlisted["status"], "waitlisted");
    assert_eq!(waitlisted["waitlist_position"], 1);
    assert_eq!(waitlisted["session_id"], one_seat.as_str());
    let changed = &by_type("session.changed")[0]["data"];
    assert_eq!(changed["venue"], "Nhà văn hoá thôn Bắc");
    assert_eq!(changed["previous"]["venue"], "Hội trường xã");
    assert_eq!(changed["starts_at"], changed["previous"]["starts_at"]);
    assert_eq!(by_type("attendance.marked")[0]["data"]["status"], "present");
    // No names or contact details travel.
    for r in &received {
        assert!(!r.body.contains("Học Viên"), "{}", r.body);
    }

    // The log: every delivery delivered at the first try, with its answer.
    let log = app.deliveries(&admin, &id(&hook)).await;
    assert_eq!(log.len(), want.len());
    for delivery in &log {
        assert_eq!(delivery["status"], "delivered", "{delivery:#}");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_status_code"], 200);
        assert_eq!(delivery["next_attempt_at"], Value::Null);
    }
    // Fanned out events leave the outbox (only reminders, not yet due,
    // wait); nothing is written for email without SMTP.
    assert_eq!(app.count("outbox_events WHERE event_type <> 'session.reminder'"), 0);
    assert_eq!(app.count("mail_messages"), 0);
    assert_eq!(app.reminder_due(&one_seat), None, "a cancelled session reminds no one");
    assert!(app.reminder_due(&no_waitlist).is_some());
}

#[actix_web::test]
async fn a_change_that_rolls_back_tells_nothing() {
    use lophoc::access::ParticipantScope;
    use lophoc::audit::Actor;
    use lophoc::enrolments::model::{EnrolmentRules, enrol};
    use lophoc::error::AppError;
    use lophoc::vocab::EnrolmentSource;

    let app = spawn_app_with(quick).await;
    let admin = app.admin_token().await;
    let receiver = WebhookReceiver::start();
    app.subscribe(&admin, &receiver.url(), &EVERY_EVENT).await;
    let session = app.open_session(&admin, 3, 9, 5, true).await;
    let people = app.people(&admin, 2).await;

    // An enrolment inside a transaction that then fails: as a request whose
    // later step is refused would.
    let url = lophoc::db::DatabaseUrl::parse(&app.db().url());
    let db = lophoc::db::Db::connect(&url, 1).unwrap();
    let (session_id, person) = (session.parse().unwrap(), people[0].parse().unwrap());
    let outcome: Result<(), AppError> =
        lophoc::db::write_transaction(&mut db.get().unwrap(), |conn| {
            let rules = EnrolmentRules::of(&Config::with_database(&app.db().url()));
            enrol(
                conn,
                &Actor::system(),
                &ParticipantScope::All,
                session_id,
                person,
                EnrolmentSource::Admin,
                rules,
            )?;
            Err(AppError::Forbidden)
        });
    assert!(outcome.is_err());
    // Then one that commits: its event comes, and only it.
    assert_eq!(app.enrol(&admin, &session, &people[1]).await.status, 201);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(summary(&receiver.received()), expected(&[("enrolment.created", &people[1])]));
}

#[actix_web::test]
async fn deliveries_are_signed_with_the_secret_and_a_timestamp() {
    let app = spawn_app_with(quick).await;
    let admin = app.admin_token().await;
    let receiver = WebhookReceiver::start();
    let hook = app.subscribe(&admin, &receiver.url(), &["enrolment.created"]).await;
    let secret = hook["secret"].as_str().unwrap();
    // The secret is shown once.
    let read = app.get(&format!("/api/v1/webhooks/{}", id(&hook)), Some(&admin)).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["events"], json!(["enrolment.created"]));
    assert!(read.body.get("secret").is_none() && !read.bytes.windows(6).any(|w| w == b"whsec_"));

    let session = app.open_session(&admin, 3, 9, 5, true).await;
    let person = &app.people(&admin, 1).await[0];
    let place = app.enrol(&admin, &session, person).await;
    let delivery = receiver.wait_for(1, Duration::from_secs(10)).await.remove(0);

    assert_eq!(delivery.header("content-type"), "application/json");
    let timestamp: i64 = delivery.header("lophoc-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - timestamp).abs() < 30);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", delivery.body).as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(delivery.header("lophoc-signature"), format!("v1={hex}"));
    // The signature covers the body: another secret does not match.
    let mut other = Hmac::<Sha256>::new_from_slice(b"whsec_other").unwrap();
    other.update(format!("{timestamp}.{}", delivery.body).as_bytes());
    let other: String = other.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_ne!(delivery.header("lophoc-signature"), format!("v1={other}"));

    let event = delivery.json();
    assert_eq!(delivery.header("lophoc-event-id"), event["id"].as_str().unwrap());
    assert_eq!(event["type"], "enrolment.created");
    assert!(event["occurred_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        event["data"],
        json!({"enrolment_id": id(&place.body), "session_id": session, "participant_id": person,
               "status": "enrolled", "waitlist_position": null})
    );
}

#[actix_web::test]
async fn a_receiver_that_is_down_gets_its_deliveries_when_back_even_after_a_restart() {
    let app = spawn_app_with(quick).await;
    let admin = app.admin_token().await;
    let mut receiver = WebhookReceiver::down();
    let hook = app.subscribe(&admin, &receiver.url(), &["enrolment.created"]).await;
    let session = app.open_session(&admin, 3, 9, 5, true).await;
    let people = app.people(&admin, 2).await;
    for person in &people {
        assert_eq!(app.enrol(&admin, &session, person).await.status, 201);
    }
    // Tried, refused, waiting for the next try.
    let mut log = Vec::new();
    for _ in 0..200 {
        log = app.deliveries(&admin, &id(&hook)).await;
        if log.len() == 2 && log.iter().all(|d| d["attempts"].as_i64().unwrap() >= 2) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    for delivery in &log {
        assert_eq!(delivery["status"], "pending", "{delivery:#}");
        assert!(delivery["attempts"].as_i64().unwrap() >= 2, "{delivery:#}");
        assert_eq!(delivery["last_status_code"], Value::Null);
        assert!(delivery["last_error"].as_str().is_some_and(|e| !e.is_empty()));
        assert!(delivery["next_attempt_at"].is_string());
    }
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.body["notifications"]["webhook_deliveries"], 2, "{:#}", ready.body);
    assert!(ready.body["notifications"]["oldest_delivery_at"].is_string());

    // The server stops; the receiver comes back; a new server takes over.
    let db = app.stop();
    receiver.resume();
    let mut config = db.config();
    quick(&mut config);
    let app = start(db, config).await;
    // A try the stop cut short keeps its claim for a minute (CLAIM_LEASE):
    // then the new server takes it.
    let received = receiver.wait_for(2, Duration::from_secs(90)).await;
    let mut ids: Vec<_> =
        received.iter().map(|r| r.json()["data"]["participant_id"].clone()).collect();
    ids.sort_by_key(|v| v.as_str().unwrap().to_owned());
    let mut want: Vec<Value> = people.iter().map(|p| json!(p)).collect();
    want.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(ids, want);
    let admin = app.admin_token().await;
    for _ in 0..100 {
        if app.deliveries(&admin, &id(&hook)).await.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    for delivery in app.deliveries(&admin, &id(&hook)).await {
        assert_eq!(delivery["status"], "delivered", "{delivery:#}");
        assert!(delivery["attempts"].as_i64().unwrap() >= 3, "{delivery:#}");
    }
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.body["notifications"]["webhook_deliveries"], 0, "{:#}", ready.body);
}

#[actix_web::test]
async fn two_servers_on_one_database_deliver_each_event_once() {
    let app = spawn_app_with(quick).await;
    let mut config = app.db().config();
    quick(&mut config);
    let second = app.second_server(config).await;
    let admin = app.admin_token().await;
    let receiver = WebhookReceiver::start();
    app.subscribe(&admin, &receiver.url(), &["enrolment.created"]).await;
    let session = app.open_session(&admin, 3, 9, 60, true).await;
    let people = app.people(&admin, 48).await;
    let replies = futures_util::future::join_all(people.iter().enumerate().map(|(n, person)| {
        let server = if n % 2 == 0 { &app } else { &second };
        server.enrol(&admin, &session, person)
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == 201));
    receiver.wait_for(people.len(), Duration::from_secs(20)).await;
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
    let mut times: HashMap<String, usize> = HashMap::new();
    for delivery in receiver.received() {
        *times.entry(delivery.header("lophoc-event-id").to_owned()).or_default() += 1;
    }
    assert_eq!(times.len(), people.len());
    assert!(times.values().all(|&n| n == 1), "{times:?}");
}

#[actix_web::test]
async fn a_delivery_refused_for_its_whole_window_is_given_up_and_marks_the_webhook() {
    let app = spawn_app_with(|config| {
        quick(config);
        config.notify.give_up_after = Duration::from_secs(2);
    })
    .await;
    let admin = app.admin_token().await;
    let receiver = WebhookReceiver::start();
    receiver.answer_with(500);
    let hook = app.subscribe(&admin, &receiver.url(), &["enrolment.created"]).await;
    assert_eq!(hook["failed_at"], Value::Null);
    let session = app.open_session(&admin, 3, 9, 5, true).await;
    let person = &app.people(&admin, 1).await[0];
    assert_eq!(app.enrol(&admin, &session, person).await.status, 201);
    let mut log = Vec::new();
    for _ in 0..200 {
        log = app.deliveries(&admin, &id(&hook)).await;
        if log.first().is_some_and(|d| d["status"] == "failed") {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let delivery = &log[0];
    assert_eq!(delivery["status"], "failed", "{delivery:#}");
    assert_eq!(delivery["last_status_code"], 500);
    assert_eq!(delivery["last_error"], "answered 500: hết chỗ");
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    let tries = delivery["attempts"].as_i64().unwrap();
    assert!(tries >= 3, "{delivery:#}");
    // Given up: no more tries.
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len() as i64, tries);
    let read = app.get(&format!("/api/v1/webhooks/{}", id(&hook)), Some(&admin)).await;
    assert!(read.body["failed_at"].is_string(), "{:#}", read.body);
}

#[actix_web::test]
async fn webhooks_point_only_at_public_addresses_unless_allowed() {
    let app =
        spawn_app_with(|config| config.notify.poll_interval = Duration::from_millis(50)).await;
    let admin = app.admin_token().await;
    let (app, admin) = (&app, admin.as_str());
    let create = |url: &str, events: Value| {
        let body = json!({"url": url, "events": events});
        async move { app.post("/api/v1/webhooks", Some(admin), &body).await }
    };
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:192.168.1.1]/hook",
    ] {
        let reply = create(url, json!(["enrolment.created"])).await;
        reply.assert_problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), ["url"], "{url}");
    }
    for url in ["ftp://example.vn/hook", "https://user:pass@example.vn/hook", "not a url"] {
        let reply = create(url, json!(["enrolment.created"])).await;
        reply.assert_problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), ["url"], "{url}");
    }
    let reply = create("http://203.113.131.1/hook", json!([])).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["events"]);
    let reply = create("http://203.113.131.1/hook", json!(["enrolment.exploded"])).await;
    assert_eq!(reply.status, 422, "{:#}", reply.body);
    assert_eq!(app.count("webhooks"), 0);

    // A public address is taken; others than admins are turned away.
    let reply =
        create("http://203.113.131.1/hook", json!(["session.changed", "session.changed"])).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["events"], json!(["session.changed"]));
    let coordinator = app.user_with_role(admin, "dieu-phoi@trunghoi.vn", "coordinator").await;
    let trainer = app.user_with_role(admin, "giang-vien@trunghoi.vn", "trainer").await;
    for token in [&coordinator.access, &trainer.access] {
        let body = json!({"url": "http://203.113.131.1/hook", "events": ["session.changed"]});
        app.post("/api/v1/webhooks", Some(token), &body).await.assert_problem(403, "forbidden");
        app.get("/api/v1/webhooks", Some(token)).await.assert_problem(403, "forbidden");
        let path = format!("/api/v1/webhooks/{}/deliveries", id(&reply.body));
        app.get(&path, Some(token)).await.assert_problem(403, "forbidden");
    }
    let listed = app.get("/api/v1/webhooks", Some(admin)).await;
    assert_eq!(item_field(&listed, "id"), [id(&reply.body)]);
    let path = format!("/api/v1/webhooks/{}", id(&reply.body));
    let deleted = app.request(Method::DELETE, &path, Some(admin), &[], None).await;
    assert_eq!(deleted.status, 204);
    app.get(&path, Some(admin)).await.assert_problem(404, "not_found");
    app.request(Method::DELETE, &path, Some(admin), &[], None)
        .await
        .assert_problem(404, "not_found");

    // An address that became inside after the check (here: written under
    // the API) is refused when delivering, by address and by name.
    let receiver = WebhookReceiver::start();
    for url in [receiver.url(), receiver.url().replace("127.0.0.1", "localhost")] {
        app.execute_sql(&format!(
            "INSERT INTO webhooks (id, url, events, secret, created_at)
             VALUES ('{}', '{url}', 'enrolment.created', 'whsec_x', '2026-01-01 00:00:00')",
            uuid::Uuid::now_v7()
        ));
    }
    let session = app.open_session(admin, 3, 9, 5, true).await;
    let person = &app.people(admin, 1).await[0];
    assert_eq!(app.enrol(admin, &session, person).await.status, 201);
    let errors = wait_until(Duration::from_secs(10), || {
        let errors = app.query_strings(
            "SELECT last_error AS value FROM webhook_deliveries WHERE last_error IS NOT NULL",
        );
        (errors.len() == 2).then_some(errors)
    })
    .await
    .expect("both deliveries tried");
    for error in errors {
        assert!(error.contains("not public"), "{error}");
    }
    assert!(receiver.received().is_empty());
}

#[actix_web::test]
async fn email_tells_the_person_or_their_guardian_in_vietnamese() {
    let smtp = SmtpReceiver::start();
    let app = spawn_app_with(|config| {
        quick(config);
        config.notify.smtp_url = Some(lophoc::config::Secret::new(smtp.url()));
        config.notify.mail_from = "Trung tâm học tập cộng đồng <lophoc@trunghoi.vn>".into();
    })
    .await;
    let admin = app.admin_token().await;
    // 02:00 UTC is 09:00 in Viet Nam.
    let session = app.open_session(&admin, 3, 2, 1, true).await;
    let starts = app.session(&admin, &session).await["starts_at"].as_str().unwrap().to_owned();
    let local_day =
        chrono::DateTime::parse_from_rfc3339(&starts).unwrap().format("%d/%m/%Y").to_string();
    let People { adult, child, .. } = app.people_with_addresses(&admin).await;
    let nobody = app
        .create_participant(&admin, json!({"full_name": "Không Thư", "category": "learner"}))
        .await;
    assert_eq!(app.enrol(&admin, &session, &id(&adult)).await.status, 201);
    assert_eq!(app.enrol(&admin, &session, &id(&child)).await.body["status"], "waitlisted");
    assert_eq!(app.enrol(&admin, &session, &id(&nobody)).await.body["status"], "waitlisted");

    // A walk-in with an address, given a place in the hall beyond the one
    // seat: no letter.
    let walk_in = json!({"full_name": "Lò Văn Sơn", "category": "worker",
        "email": "son@example.vn"});
    let walk_in = app.create_participant(&admin, walk_in).await;
    let path = format!("/api/v1/sessions/{session}/walk-ins");
    let reply = app.post(&path, Some(&admin), &json!({"participant_id": id(&walk_in)})).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);

    smtp.wait_for(2, Duration::from_secs(20)).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "none to the walk-in: {mails:#?}");
    let to = |address: &str| {
        mails
            .iter()
            .find(|m| m.recipients == [address])
            .unwrap_or_else(|| panic!("{mails:#?}"))
            .clone()
    };
    let enrolled = to("mai@example.vn");
    assert_eq!(enrolled.subject(), "Đã ghi danh: An toàn trên mạng");
    assert!(enrolled.header("from").contains("lophoc@trunghoi.vn"));
    let text = enrolled.text();
    assert!(text.starts_with("Chào Trần Thị Mai,"), "{text}");
    assert!(
        text.contains("Trần Thị Mai đã được ghi danh vào buổi học “An toàn trên mạng”."),
        "{text}"
    );
    assert!(text.contains("Thời gian: 09:00–10:30, ") && text.contains(&local_day), "{text}");
    assert!(text.contains("Địa điểm: Hội trường xã"), "{text}");
    let waiting = to("hung@example.vn");
    assert_eq!(waiting.subject(), "Đang trong danh sách chờ: An toàn trên mạng");
    let text = waiting.text();
    assert!(text.starts_with("Kính gửi phụ huynh/người giám hộ của Phạm Minh Khang,"), "{text}");
    assert!(text.contains("Phạm Minh Khang đang ở vị trí số 1 trong danh sách chờ"), "{text}");

    // The session moves an hour later (over its capacity with the walk-in,
    // which only a lowered capacity minds): everyone with an address
    // hears, the walk-in too, as they hold a place.
    let later = chrono::DateTime::parse_from_rfc3339(&starts).unwrap() + chrono::Duration::hours(1);
    let reply = app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            Some(&admin),
            &json!({"starts_at": later, "ends_at": later + chrono::Duration::minutes(90)}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let mails = smtp.wait_for(5, Duration::from_secs(20)).await;
    let changed: Vec<_> = mails[2..].iter().collect();
    assert!(changed.iter().all(|m| m.subject() == "Thay đổi lịch học: An toàn trên mạng"));
    let recipients = |mails: &[&crate::receivers::Mail]| {
        let mut to: Vec<_> = mails.iter().map(|m| m.recipients[0].clone()).collect();
        to.sort();
        to
    };
    assert_eq!(recipients(&changed), ["hung@example.vn", "mai@example.vn", "son@example.vn"]);
    let text = changed[0].text();
    assert!(
        text.contains("Trước đây: 09:00–10:30") && text.contains("Thời gian: 10:00–11:30"),
        "{text}"
    );

    // The reminder, when it falls due, goes to those with a seat.
    let due = app.reminder_due(&session).expect("a reminder");
    let starts_now = chrono::DateTime::parse_from_rfc3339(&later.to_rfc3339()).unwrap().naive_utc();
    assert_eq!(due, starts_now - chrono::Duration::hours(24));
    app.execute_sql("UPDATE outbox_events SET due_at = '2000-01-01 00:00:00' WHERE event_type = 'session.reminder'");
    let mails = smtp.wait_for(7, Duration::from_secs(20)).await;
    let reminded: Vec<_> = mails[5..].iter().collect();
    assert_eq!(recipients(&reminded), ["mai@example.vn", "son@example.vn"]);
    for mail in reminded {
        let subject = mail.subject();
        assert!(subject.starts_with("Nhắc lịch học: An toàn trên mạng, 10:00"), "{subject}");
    }

    // Cancelled: one letter per person, saying the session was cancelled.
    let reply = app
        .patch(
            &format!("/api/v1/sessions/{session}"),
            Some(&admin),
            &json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let mails = smtp.wait_for(10, Duration::from_secs(20)).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mails().len(), 10, "{:#?}", smtp.mails());
    let cancelled: Vec<_> = mails[7..].iter().collect();
    assert!(cancelled.iter().all(|m| m.subject() == "Buổi học bị huỷ: An toàn trên mạng"));
    assert_eq!(recipients(&cancelled), ["hung@example.vn", "mai@example.vn", "son@example.vn"]);
    // Sent messages leave no address behind.
    assert!(
        wait_until(Duration::from_secs(5), || (app.count("mail_messages") == 0).then_some(()))
            .await
            .is_some()
    );
}

#[actix_web::test]
async fn email_waiting_for_a_server_that_is_down_goes_when_its_person_is_anonymised() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(|config| {
        quick(config);
        config.notify.smtp_url =
            Some(lophoc::config::Secret::new(format!("smtp://127.0.0.1:{closed}")));
    })
    .await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 3, 2, 5, true).await;
    let People { adult, guardian, child } = app.people_with_addresses(&admin).await;
    for person in [&child, &adult] {
        assert_eq!(app.enrol(&admin, &session, &id(person)).await.status, 201);
    }
    let waiting =
        wait_until(Duration::from_secs(10), || (app.count("mail_messages") == 2).then_some(()));
    assert!(waiting.await.is_some(), "two emails wait for the server");
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.body["notifications"]["emails"], 2, "{:#}", ready.body);
    let metrics = app.get("/metrics", Some(&admin)).await;
    let text = String::from_utf8(metrics.bytes.clone()).unwrap();
    assert!(text.contains(r#"lophoc_notifications_waiting{kind="email"} 2"#), "{text}");
    assert!(text.contains(r#"lophoc_notifications_oldest_seconds{kind="email"}"#), "{text}");
    assert!(!text.contains("example.vn"), "no address in the metrics");

    // The guardian is anonymised: the letter to their address about the
    // child goes; the other stays, to be sent when the server is back.
    let path = format!("/api/v1/participants/{}/anonymize", id(&guardian));
    assert_eq!(app.post(&path, Some(&admin), &json!({})).await.status, 200);
    let left = app.query_strings("SELECT recipient AS value FROM mail_messages");
    assert_eq!(left, ["mai@example.vn"]);
    let path = format!("/api/v1/participants/{}/anonymize", id(&adult));
    assert_eq!(app.post(&path, Some(&admin), &json!({})).await.status, 200);
    assert_eq!(app.count("mail_messages"), 0);
}
