//! Attendance: roll-call and its window, history, self check-in, walk-ins
//! and offline sync.

use chrono::{Duration, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

/// An admin, a trainer and a running session they teach with `people`
/// enrolled.
struct Class {
    admin: String,
    trainer: Tokens,
    session: String,
    people: Vec<String>,
}

async fn class(app: &TestApp, started: Duration, people: usize) -> Class {
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let session = app.running_session(&admin, &[&trainer_id], started, 100).await;
    let people = app.people(&admin, people).await;
    for person in &people {
        assert_eq!(app.enrol(&admin, &session, person).await.status, 201);
    }
    Class { admin, trainer, session, people }
}

async fn history(app: &TestApp, token: &str, session: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/api/v1/sessions/{session}/attendance/history?limit=200"), Some(token))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    items(&reply).clone()
}

/// Sends an offline batch and gives each mark's outcome and reason.
async fn sync_outcomes(app: &TestApp, token: &str, marks: Value) -> Vec<(String, String)> {
    let reply = app.post("/api/v1/attendance/sync", Some(token), &json!({"marks": marks})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    results
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_owned();
            (text("outcome"), text("reason"))
        })
        .collect()
}

async fn mark_of(app: &TestApp, token: &str, session: &str, person: &str) -> Value {
    let reply =
        app.get(&format!("/api/v1/sessions/{session}/attendance?limit=200"), Some(token)).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    items(&reply).iter().find(|e| e["participant"]["id"] == person).expect("on the roll-call")["mark"].clone()
}

#[actix_web::test]
async fn trainers_take_the_roll_call_idempotently_with_a_history() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 3).await;
    let roll =
        app.get(&format!("/api/v1/sessions/{session}/attendance"), Some(&trainer.access)).await;
    assert_eq!(roll.status, 200, "{:#}", roll.body);
    assert_eq!(items(&roll).len(), 3);
    assert!(items(&roll).iter().all(|e| e["mark"].is_null()));
    assert!(items(&roll)[0]["participant"].get("phone").is_none(), "name, category and unit only");

    let marks = json!([
        {"participant_id": people[0], "status": "present"},
        {"participant_id": people[1], "status": "late", "note": "Đến muộn 10 phút"},
        {"participant_id": people[2], "status": "absent"},
    ]);
    let reply = app.put_marks(&trainer.access, &session, marks.clone()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["marks"][1]["status"], "late");
    assert_eq!(reply.body["marks"][1]["source"], "trainer");
    assert_eq!(reply.body["marks"][1]["marked_by"], trainer.user["id"]);
    assert_eq!(
        mark_of(&app, &trainer.access, &session, &people[1]).await["note"],
        "Đến muộn 10 phút"
    );
    assert_eq!(history(&app, &admin, &session).await.len(), 3);

    // The same PUT again: one state, no new history.
    assert_eq!(app.put_marks(&trainer.access, &session, marks).await.status, 200);
    assert_eq!(history(&app, &admin, &session).await.len(), 3);

    // A correction is a change from one mark to another.
    let fix = json!([{"participant_id": people[2], "status": "excused"}]);
    assert_eq!(app.put_marks(&trainer.access, &session, fix).await.status, 200);
    let changes = history(&app, &trainer.access, &session).await;
    assert_eq!(changes.len(), 4);
    let last = &changes[3];
    assert_eq!((last["from"].as_str(), last["to"].as_str()), (Some("absent"), Some("excused")));
    assert_eq!(last["changed_by"], trainer.user["id"]);
    assert_eq!(last["source"], "trainer");
    assert_eq!(changes[0]["from"], Value::Null);

    // Someone without a place refuses the whole PUT, naming them.
    let stranger = app.people(&admin, 1).await.remove(0);
    let mixed = json!([{"participant_id": people[0], "status": "absent"}, {"participant_id": stranger, "status": "present"}]);
    let reply = app.put_marks(&trainer.access, &session, mixed).await;
    reply.assert_problem(422, "not_enrolled");
    assert_eq!(reply.error_fields(), ["marks[1].participant_id"]);
    assert_eq!(
        mark_of(&app, &admin, &session, &people[0]).await["status"],
        "present",
        "nothing stored"
    );
    let twice = json!([{"participant_id": people[0], "status": "absent"}, {"participant_id": people[0], "status": "late"}]);
    assert_eq!(
        app.put_marks(&trainer.access, &session, twice).await.error_fields(),
        ["marks[1].participant_id"]
    );
    let bad = json!([{"participant_id": people[0], "status": "asleep"}]);
    app.put_marks(&trainer.access, &session, bad).await.assert_problem(422, "validation_failed");

    // Only the session's trainers and admins.
    let other = app.user_with_role(&admin, "gv2@example.vn", "trainer").await.access;
    let coordinator = app.user_with_role(&admin, "c@example.vn", "coordinator").await.access;
    let participant = app.user_with_role(&admin, "p@example.vn", "participant").await.access;
    let one = json!([{"participant_id": people[0], "status": "absent"}]);
    for token in [&other, &coordinator, &participant] {
        app.put_marks(token, &session, one.clone()).await.assert_problem(403, "forbidden");
        app.get(&format!("/api/v1/sessions/{session}/attendance"), Some(token))
            .await
            .assert_problem(403, "forbidden");
        let path = format!("/api/v1/sessions/{session}/attendance/history");
        app.get(&path, Some(token)).await.assert_problem(403, "forbidden");
    }
    assert_eq!(app.put_marks(&admin, &session, one).await.status, 200);
    let missing = uuid::Uuid::now_v7().to_string();
    app.put_marks(&admin, &missing, json!([{"participant_id": people[0], "status": "absent"}]))
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn marks_are_taken_from_half_an_hour_before_until_a_week_after() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 1).await;
    let mark = |status: &str| json!([{"participant_id": people[0], "status": status}]);
    let put = |status: &'static str| {
        let (app, token, session, body) = (&app, &trainer.access, &session, mark(status));
        async move { app.put_marks(token, session, body).await }
    };
    let length = Duration::minutes(90);
    let now = Utc::now();
    app.move_session(&session, now + Duration::minutes(31), length);
    put("present").await.assert_problem(409, "outside_marking_window");
    app.move_session(&session, now + Duration::minutes(29), length);
    assert_eq!(put("present").await.status, 200, "29 minutes before the start");
    app.move_session(&session, now - length - Duration::days(7) + Duration::minutes(1), length);
    assert_eq!(put("late").await.status, 200, "a minute before the week is up");
    app.move_session(&session, now - length - Duration::days(7) - Duration::minutes(1), length);
    put("absent").await.assert_problem(409, "outside_marking_window");
    // Later corrections are for admins.
    assert_eq!(app.put_marks(&admin, &session, mark("absent")).await.status, 200);
    assert_eq!(mark_of(&app, &admin, &session, &people[0]).await["status"], "absent");
}

#[actix_web::test]
async fn participants_check_in_with_the_trainers_code() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, .. } = class(&app, Duration::minutes(5), 0).await;
    let parent = app.register("me@example.vn").await;
    let me = app.login("me@example.vn", PASSWORD).await.access;
    let child = app
        .create_participant(
            &me,
            json!({"full_name": "Bé", "category": "learner", "birth_date": "2016-03-01"}),
        )
        .await;
    for person in [parent["participant_id"].as_str().unwrap(), &id(&child)] {
        assert_eq!(app.enrol(&me, &session, person).await.status, 201);
    }
    let code_path = format!("/api/v1/sessions/{session}/check-in-code");
    let check_in_path = format!("/api/v1/sessions/{session}/check-in");
    let open = |token: &str| {
        let (app, path, token) = (&app, &code_path, token.to_owned());
        async move { app.request(actix_web::http::Method::POST, path, Some(&token), &[], None).await }
    };
    open(&me).await.assert_problem(403, "forbidden");
    let first = open(&trainer.access).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    let old_code = first.body["code"].as_str().unwrap().to_owned();
    assert!(old_code.len() == 6 && old_code.chars().all(|c| c.is_ascii_digit()));
    let code = open(&trainer.access).await.body["code"].as_str().unwrap().to_owned();

    if old_code != code {
        let reply = app.post(&check_in_path, Some(&me), &json!({"code": old_code})).await;
        reply.assert_problem(422, "invalid_code");
    }
    let reply = app.post(&check_in_path, Some(&me), &json!({"code": code})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["status"], "present");
    assert_eq!(reply.body["source"], "self_check_in");
    let for_child = app
        .post(&check_in_path, Some(&me), &json!({"code": code, "participant_id": id(&child)}))
        .await;
    assert_eq!(for_child.body["status"], "present");

    // Checking in again changes nothing; several at once leave one change.
    let again = json!({"code": code});
    let replies = join_all((0..10).map(|_| app.post(&check_in_path, Some(&me), &again))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(history(&app, &admin, &session).await.len(), 2);
    let mine = app.get("/api/v1/me/enrolments", Some(&me)).await;
    assert_eq!(items(&mine)[0]["attendance"]["status"], "present");

    // Someone without a place, or not theirs, or not a dependant.
    app.register("other@example.vn").await;
    let other = app.login("other@example.vn", PASSWORD).await.access;
    app.post(&check_in_path, Some(&other), &json!({"code": code}))
        .await
        .assert_problem(422, "not_enrolled");
    let theirs = json!({"code": code, "participant_id": id(&child)});
    app.post(&check_in_path, Some(&other), &theirs).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn late_check_ins_are_marked_late() {
    let app = spawn_app().await;
    let Class { trainer, session, .. } = class(&app, Duration::minutes(20), 0).await;
    app.register("me@example.vn").await;
    let me = app.login("me@example.vn", PASSWORD).await.access;
    assert_eq!(
        app.post(&format!("/api/v1/sessions/{session}/enrolments"), Some(&me), &json!({}))
            .await
            .status,
        201
    );
    let code_path = format!("/api/v1/sessions/{session}/check-in-code");
    let code = app
        .request(actix_web::http::Method::POST, &code_path, Some(&trainer.access), &[], None)
        .await;
    let body = json!({"code": code.body["code"]});
    let reply = app.post(&format!("/api/v1/sessions/{session}/check-in"), Some(&me), &body).await;
    assert_eq!(reply.body["status"], "late", "{:#}", reply.body);
}

#[actix_web::test]
async fn guessing_check_in_codes_is_limited_per_user_and_locks_no_one_else_out() {
    let app = spawn_app().await;
    let Class { trainer, session, .. } = class(&app, Duration::minutes(5), 0).await;
    let code_path = format!("/api/v1/sessions/{session}/check-in-code");
    let code = app
        .request(actix_web::http::Method::POST, &code_path, Some(&trainer.access), &[], None)
        .await;
    let code = code.body["code"].as_str().unwrap().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let path = format!("/api/v1/sessions/{session}/check-in");
    let mut guessers = Vec::new();
    for n in 0..7 {
        let email = format!("guess{n}@example.vn");
        app.register(&email).await;
        let token = app.login(&email, PASSWORD).await.access;
        assert_eq!(
            app.post(&format!("/api/v1/sessions/{session}/enrolments"), Some(&token), &json!({}))
                .await
                .status,
            201
        );
        guessers.push(token);
    }
    for _ in 0..5 {
        app.post(&path, Some(&guessers[0]), &json!({"code": wrong}))
            .await
            .assert_problem(422, "invalid_code");
    }
    let blocked = app.post(&path, Some(&guessers[0]), &json!({"code": code})).await;
    blocked.assert_problem(429, "too_many_requests");
    assert!(blocked.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)));
    let fine = app.post(&path, Some(&guessers[6]), &json!({"code": code})).await;
    assert_eq!(fine.status, 200, "another user is not blocked: {:#}", fine.body);

    // Thirty wrong codes from six people leave the seventh, with the right
    // code, to check in.
    for guesser in &guessers[1..6] {
        for _ in 0..5 {
            app.post(&path, Some(guesser), &json!({"code": wrong}))
                .await
                .assert_problem(422, "invalid_code");
        }
    }
    let late_comer = app.post(&path, Some(&guessers[6]), &json!({"code": code})).await;
    assert_eq!(late_comer.status, 200, "{:#}", late_comer.body);
}

#[actix_web::test]
async fn walk_ins_get_a_place_even_in_a_full_session() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let session = app.running_session(&admin, &[&trainer_id], Duration::minutes(5), 1).await;
    let people = app.people(&admin, 3).await;
    assert_eq!(app.enrol(&admin, &session, &people[0]).await.body["status"], "enrolled");
    assert_eq!(app.enrol(&admin, &session, &people[1]).await.body["status"], "waitlisted");
    let path = format!("/api/v1/sessions/{session}/walk-ins");

    // By id, a trainer reaches only the people on their rosters: anyone
    // else is as unknown to them. An admin reaches everyone.
    let by_id = json!({"participant_id": people[2]});
    app.post(&path, Some(&trainer.access), &by_id)
        .await
        .assert_problem(404, "participant_not_found");
    let reply = app.post(&path, Some(&admin), &by_id).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["source"], "walk_in");
    assert_eq!(reply.body["status"], "enrolled");
    assert_eq!(reply.body["attendance"]["status"], "present");
    let stranger = json!({"full_name": "Người Mới Đến", "category": "worker"});
    let reply = app.post(&path, Some(&trainer.access), &stranger).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    let newcomer = reply.body["participant_id"].as_str().unwrap().to_owned();
    let profile = app.get(&format!("/api/v1/participants/{newcomer}"), Some(&admin)).await;
    assert_eq!(profile.body["full_name"], "Người Mới Đến");

    // Someone waiting moves up; someone enrolled is just marked.
    let reply = app.post(&path, Some(&trainer.access), &json!({"participant_id": people[1]})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["status"], "enrolled");
    assert_eq!(reply.body["waitlist_position"], Value::Null);
    let reply = app.post(&path, Some(&trainer.access), &json!({"participant_id": people[0]})).await;
    assert_eq!(reply.status, 200);
    let read = app.session(&admin, &session).await;
    assert_eq!(
        (read["enrolled_count"].as_i64(), read["waitlisted_count"].as_i64()),
        (Some(4), Some(0))
    );
    assert_eq!(read["seats_left"], 0);

    let reply = app.post(&path, Some(&trainer.access), &json!({"category": "worker"})).await;
    assert_eq!(reply.error_fields(), ["full_name"]);
    let unknown = json!({"participant_id": uuid::Uuid::now_v7()});
    app.post(&path, Some(&trainer.access), &unknown)
        .await
        .assert_problem(404, "participant_not_found");
    let participant = app.user_with_role(&admin, "p@example.vn", "participant").await.access;
    app.post(&path, Some(&participant), &json!({"participant_id": people[2]}))
        .await
        .assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn offline_batches_apply_once_and_the_later_recording_wins() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 3).await;
    let now = Utc::now();
    let at = |minutes: i64| now - Duration::minutes(minutes);
    let sync = |marks: Value| sync_outcomes(&app, &trainer.access, marks);
    let item = |client: &str, person: &str, status: &str, recorded: chrono::DateTime<Utc>| {
        json!({"client_mark_id": client, "session_id": session, "participant_id": person,
            "status": status, "recorded_at": recorded})
    };
    let other_session = uuid::Uuid::now_v7().to_string();
    let stranger = app.people(&admin, 1).await.remove(0);
    let batch = json!([
        item("m1", &people[0], "absent", at(1)),
        item("m2", &people[1], "present", at(3)),
        {"client_mark_id": "m3", "session_id": other_session, "participant_id": people[2], "status": "present", "recorded_at": at(2)},
        item("m4", &stranger, "present", at(2)),
    ]);
    let outcome = |o: &str, r: &str| (o.to_owned(), r.to_owned());
    assert_eq!(
        sync(batch.clone()).await,
        [
            outcome("applied", ""),
            outcome("applied", ""),
            outcome("refused", "not_found"),
            outcome("refused", "not_enrolled"),
        ]
    );
    let changes = history(&app, &admin, &session).await.len();
    assert_eq!(changes, 2);

    // The same batch again changes nothing.
    let again = sync(batch).await;
    assert_eq!(again[..2], [outcome("duplicate", ""), outcome("duplicate", "")]);
    assert_eq!(history(&app, &admin, &session).await.len(), changes);

    // An older recording arriving late is kept in the history, not applied;
    // a newer one wins whatever the order.
    assert_eq!(
        sync(json!([item("m5", &people[0], "present", at(4))])).await,
        [outcome("superseded", "")]
    );
    assert_eq!(mark_of(&app, &admin, &session, &people[0]).await["status"], "absent");
    let kept = history(&app, &admin, &session).await;
    assert_eq!(kept.len(), changes + 1);
    assert_eq!(kept.last().unwrap()["superseded"], true);
    assert_eq!(
        sync(json!([item("m6", &people[1], "late", at(2))])).await,
        [outcome("applied", "")]
    );
    let mark = mark_of(&app, &admin, &session, &people[1]).await;
    assert_eq!(
        (mark["status"].as_str(), mark["source"].as_str()),
        (Some("late"), Some("offline_sync"))
    );

    // A trainer's mark taken now outranks anything recorded before it.
    let put = json!([{"participant_id": people[2], "status": "excused"}]);
    assert_eq!(app.put_marks(&trainer.access, &session, put).await.status, 200);
    assert_eq!(
        sync(json!([item("m7", &people[2], "absent", at(1))])).await,
        [outcome("superseded", "")]
    );

    // Only the session's trainers; not in the future.
    let other_trainer = app.user_with_role(&admin, "gv2@example.vn", "trainer").await.access;
    let reply = app
        .post(
            "/api/v1/attendance/sync",
            Some(&other_trainer),
            &json!({"marks": [item("m8", &people[0], "late", at(1))]}),
        )
        .await;
    assert_eq!(reply.body["results"][0]["reason"], "forbidden");
    let future = sync(json!([item("m9", &people[0], "late", now + Duration::hours(1))])).await;
    assert_eq!(future, [outcome("refused", "outside_marking_window")]);

    // Direction marks in what a device recorded are dropped, never a reason
    // to refuse its batch; the same mark again is still a duplicate.
    let mut marked = item("m\u{202A}10", &people[0], "late", now);
    marked["note"] = json!("Đến muộn\u{200F}");
    assert_eq!(sync(json!([marked.clone()])).await, [outcome("applied", "")]);
    assert_eq!(sync(json!([marked])).await, [outcome("duplicate", "")]);
}

#[actix_web::test]
async fn a_thousand_offline_marks_in_any_order_leave_the_latest_of_each() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 50).await;
    let statuses = ["present", "late", "excused", "absent"];
    let now = Utc::now();
    // Twenty marks per person, recorded a second apart, sent newest first
    // for even people and oldest first for odd ones.
    let mut marks = Vec::new();
    for (p, person) in people.iter().enumerate() {
        let mut mine: Vec<Value> = (0..20)
            .map(|n| {
                json!({"client_mark_id": format!("{p}-{n}"), "session_id": session, "participant_id": person,
                    "status": statuses[(p + n) % 4], "recorded_at": now - Duration::seconds(100 - n as i64)})
            })
            .collect();
        if p % 2 == 0 {
            mine.reverse();
        }
        marks.extend(mine);
    }
    assert_eq!(marks.len(), 1000);
    let reply =
        app.post("/api/v1/attendance/sync", Some(&trainer.access), &json!({"marks": marks})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    let refused: Vec<&Value> = results
        .iter()
        .filter(|r| r["outcome"] != "applied" && r["outcome"] != "superseded")
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    let roll =
        app.get(&format!("/api/v1/sessions/{session}/attendance?limit=200"), Some(&admin)).await;
    for entry in items(&roll) {
        let p = people.iter().position(|x| entry["participant"]["id"] == x.as_str()).unwrap();
        assert_eq!(entry["mark"]["status"], statuses[(p + 19) % 4], "the last recorded wins");
    }
}

#[actix_web::test]
async fn concurrent_marks_for_one_person_end_in_one_consistent_state() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 1).await;
    let now = Utc::now();
    let syncs = (0..20).map(|n| {
        let mark = json!({"client_mark_id": format!("c{n}"), "session_id": session, "participant_id": people[0],
            "status": if n == 7 { "late" } else { "absent" },
            "recorded_at": now - Duration::seconds(if n == 7 { 1 } else { 30 + n })});
        let (app, token) = (&app, &trainer.access);
        async move { app.post("/api/v1/attendance/sync", Some(token), &json!({"marks": [mark]})).await }
    });
    let replies = join_all(syncs).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let mark = mark_of(&app, &admin, &session, &people[0]).await;
    assert_eq!(mark["status"], "late", "recorded last, whenever it arrived");
    let changes = history(&app, &admin, &session).await;
    let applied: Vec<&Value> = changes.iter().filter(|c| c["superseded"] == false).collect();
    for pair in applied.windows(2) {
        assert_eq!(pair[0]["to"], pair[1]["from"], "each change starts where the last ended");
    }
}

#[actix_web::test]
async fn racing_check_ins_wrong_guesses_and_cancels_stay_consistent() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 4).await;
    app.register("me@example.vn").await;
    let me = app.login("me@example.vn", PASSWORD).await.access;
    let enrol = format!("/api/v1/sessions/{session}/enrolments");
    assert_eq!(app.post(&enrol, Some(&me), &json!({})).await.status, 201);
    let code_path = format!("/api/v1/sessions/{session}/check-in-code");
    let code = app
        .request(actix_web::http::Method::POST, &code_path, Some(&trainer.access), &[], None)
        .await;
    let code = code.body["code"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/sessions/{session}/check-in");

    // Ten check-ins at once of someone not yet marked: one change.
    let body = json!({"code": code});
    let replies = join_all((0..10).map(|_| app.post(&path, Some(&me), &body))).await;
    assert!(replies.iter().all(|r| r.status == 200 && r.body["status"] == "present"));
    assert_eq!(history(&app, &admin, &session).await.len(), 1);

    // Twenty wrong guesses at once: no more than five are even tried.
    let wrong = json!({"code": if code == "000000" { "111111" } else { "000000" }});
    let guesses = join_all((0..20).map(|_| app.post(&path, Some(&me), &wrong))).await;
    let tried = guesses.iter().filter(|r| r.status == 422).count();
    assert_eq!(tried, 5, "{:?}", guesses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(guesses.iter().all(|r| r.status == 422 || r.status == 429));

    // Marks and cancellations of the same places at once: no 5xx, and each
    // place ends either cancelled or marked.
    let marks = json!(
        people
            .iter()
            .map(|p| json!({"participant_id": p, "status": "present"}))
            .collect::<Vec<_>>()
    );
    let roster =
        app.get(&format!("/api/v1/sessions/{session}/enrolments?limit=200"), Some(&admin)).await;
    let places: Vec<String> = items(&roster)
        .iter()
        .filter(|e| people.iter().any(|p| e["participant_id"] == p.as_str()))
        .map(id)
        .collect();
    let put = app.put_marks(&trainer.access, &session, marks);
    let cancels = join_all(places.iter().map(|place| app.cancel(&admin, place)));
    let (put, cancels) = futures_util::future::join(put, cancels).await;
    assert!(put.status == 200 || put.status == 422, "{:#}", put.body);
    assert!(cancels.iter().all(|r| r.status == 200));
    let read = app.session(&admin, &session).await;
    assert_eq!(read["enrolled_count"], 1, "only the checked-in person keeps a place");
}

#[actix_web::test]
async fn offline_marks_compare_with_the_latest_recording_and_a_misshapen_batch_is_refused() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 2).await;
    let now = Utc::now();
    let item = |client: &str, status: &str, minutes_ago: i64| {
        json!({"client_mark_id": client, "session_id": session, "participant_id": people[0],
            "status": status, "recorded_at": now - Duration::minutes(minutes_ago)})
    };
    let sync = async |marks: Value| {
        let outcomes = sync_outcomes(&app, &trainer.access, marks).await;
        outcomes.into_iter().map(|(outcome, _)| outcome).collect::<Vec<_>>()
    };
    // present at -3, present again at -1, then absent at -2 arrives: the
    // latest recording said present.
    assert_eq!(
        sync(json!([item("a", "present", 3), item("b", "present", 1)])).await,
        ["applied", "applied"]
    );
    assert_eq!(sync(json!([item("c", "absent", 2)])).await, ["superseded"]);
    assert_eq!(mark_of(&app, &admin, &session, &people[0]).await["status"], "present");

    // A batch with a mark of the wrong shape is refused whole, naming the
    // mark, and applies nothing: the app mends it and sends again.
    let changes = history(&app, &admin, &session).await.len();
    let sync_batch = async |batch: Value| {
        app.post("/api/v1/attendance/sync", Some(&trainer.access), &json!({"marks": batch})).await
    };
    let good = json!({"client_mark_id": "e", "session_id": session, "participant_id": people[1], "status": "late", "recorded_at": now});
    let mut asleep = good.clone();
    asleep["status"] = json!("asleep");
    let reply = sync_batch(json!([good.clone(), asleep])).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["marks[1].status"]);
    let mut unnamed = good.clone();
    unnamed["client_mark_id"] = json!(" ");
    let reply = sync_batch(json!([unnamed, good.clone()])).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["marks[0].client_mark_id"]);
    assert_eq!(history(&app, &admin, &session).await.len(), changes, "nothing applied");
    assert_eq!(sync(json!([good])).await, ["applied"]);

    // Mark ids belong to the account that sent them.
    let other = app.user_with_role(&admin, "gv2@example.vn", "trainer").await;
    let other_id = other.user["id"].as_str().unwrap().to_owned();
    let theirs = app.running_session(&admin, &[&other_id], Duration::minutes(5), 5).await;
    let person = app.people(&admin, 1).await.remove(0);
    assert_eq!(app.enrol(&admin, &theirs, &person).await.status, 201);
    let same_id = json!({"client_mark_id": "a", "session_id": theirs, "participant_id": person,
        "status": "present", "recorded_at": now});
    let reply = app
        .post("/api/v1/attendance/sync", Some(&other.access), &json!({"marks": [same_id]}))
        .await;
    assert_eq!(reply.body["results"][0]["outcome"], "applied");

    // A code opens only around the session.
    app.move_session(&session, now + Duration::hours(2), Duration::hours(1));
    let code_path = format!("/api/v1/sessions/{session}/check-in-code");
    app.request(actix_web::http::Method::POST, &code_path, Some(&trainer.access), &[], None)
        .await
        .assert_problem(409, "outside_marking_window");
}

#[actix_web::test]
async fn anonymising_a_person_erases_the_notes_on_their_marks() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 1).await;
    let marks = json!([{"participant_id": people[0], "status": "excused", "note": "Ốm, có giấy của trạm y tế"}]);
    assert_eq!(app.put_marks(&trainer.access, &session, marks).await.status, 200);
    let path = format!("/api/v1/participants/{}/anonymize", people[0]);
    assert_eq!(
        app.request(actix_web::http::Method::POST, &path, Some(&admin), &[], None).await.status,
        200
    );
    let mark = mark_of(&app, &admin, &session, &people[0]).await;
    assert_eq!((mark["status"].as_str(), mark["note"].clone()), (Some("excused"), Value::Null));
    let changes = history(&app, &admin, &session).await;
    assert!(changes.iter().all(|c| c["note"].is_null()));
}

#[actix_web::test]
async fn codes_expire_and_every_trainer_action_keeps_to_its_window_and_session() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, people } = class(&app, Duration::minutes(5), 1).await;
    let post = |path: String, token: String, body: Option<Value>| {
        let app = &app;
        async move {
            match body {
                Some(body) => app.post(&path, Some(&token), &body).await,
                None => {
                    app.request(actix_web::http::Method::POST, &path, Some(&token), &[], None).await
                }
            }
        }
    };
    let code_path = format!("/api/v1/sessions/{session}/check-in-code");
    let walk_in_path = format!("/api/v1/sessions/{session}/walk-ins");
    let walk_in = json!({"participant_id": people[0]});

    // Someone who does not teach the session opens nothing and adds no one.
    let other = app.user_with_role(&admin, "gv2@example.vn", "trainer").await.access;
    post(code_path.clone(), other.clone(), None).await.assert_problem(403, "forbidden");
    post(walk_in_path.clone(), other, Some(walk_in.clone())).await.assert_problem(403, "forbidden");

    // An expired code is as wrong as a wrong one.
    app.register("me@example.vn").await;
    let me = app.login("me@example.vn", PASSWORD).await.access;
    assert_eq!(
        app.post(&format!("/api/v1/sessions/{session}/enrolments"), Some(&me), &json!({}))
            .await
            .status,
        201
    );
    let code = post(code_path.clone(), trainer.access.clone(), None).await.body["code"].clone();
    app.execute_sql(&format!(
        "UPDATE check_in_codes SET expires_at = '2001-01-01 00:00:00' WHERE session_id = '{session}'"
    ));
    let check_in = format!("/api/v1/sessions/{session}/check-in");
    app.post(&check_in, Some(&me), &json!({"code": code}))
        .await
        .assert_problem(422, "invalid_code");

    // Offline marks recorded before the window opened are refused.
    let now = Utc::now();
    let early = json!([{"client_mark_id": "early", "session_id": session, "participant_id": people[0],
        "status": "present", "recorded_at": now - Duration::minutes(40)}]);
    assert_eq!(
        sync_outcomes(&app, &trainer.access, early).await,
        [("refused".to_owned(), "outside_marking_window".to_owned())]
    );

    // A week after the end, walk-ins are for admins too.
    let length = Duration::minutes(90);
    app.move_session(&session, now - length - Duration::days(8), length);
    post(walk_in_path.clone(), trainer.access.clone(), Some(walk_in.clone()))
        .await
        .assert_problem(409, "outside_marking_window");
    assert_eq!(post(walk_in_path, admin, Some(walk_in)).await.status, 200);
}

#[actix_web::test]
async fn a_walk_in_already_on_file_is_found_not_made_twice() {
    let app = spawn_app().await;
    let Class { admin, trainer, session, .. } = class(&app, Duration::minutes(5), 0).await;
    let path = format!("/api/v1/sessions/{session}/walk-ins");
    let by_phone = app
        .create_participant(
            &admin,
            json!({"full_name": "Hà Văn Điện Thoại", "category": "worker",
            "phone": "0912 345 678"}),
        )
        .await;
    let by_name = app
        .create_participant(
            &admin,
            json!({"full_name": "Lường Thị Hoà", "category": "learner",
            "birth_date": "1985-04-12"}),
        )
        .await;

    // The same name, spelt without its diacritics, with the same phone in
    // its international form or the same birth date: the same person.
    let same_phone =
        json!({"full_name": "ha van dien thoai", "category": "worker", "phone": "+84 912345678"});
    let reply = app.post(&path, Some(&trainer.access), &same_phone).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["participant_id"], by_phone["id"]);
    let same_name =
        json!({"full_name": "LUONG  thi hoa", "category": "learner", "birth_date": "1985-04-12"});
    let reply = app.post(&path, Some(&trainer.access), &same_name).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["participant_id"], by_name["id"]);
    // The trainer sees them as a roster shows them, nothing more.
    let seen =
        app.get(&format!("/api/v1/participants/{}", id(&by_phone)), Some(&trainer.access)).await;
    assert_eq!(seen.body["full_name"], "Hà Văn Điện Thoại");
    assert!(seen.body.get("phone").is_none(), "{:#}", seen.body);

    // Another name on the same phone (a family shares one) is someone
    // else, and so is another birth date.
    let child = json!({"full_name": "Hà Bé Con", "category": "student", "birth_date": "2015-01-01",
        "phone": "0912 345 678"});
    let reply = app.post(&path, Some(&trainer.access), &child).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_ne!(reply.body["participant_id"], by_phone["id"]);
    let namesake =
        json!({"full_name": "Lường Thị Hoà", "category": "learner", "birth_date": "1999-01-01"});
    let reply = app.post(&path, Some(&trainer.access), &namesake).await;
    assert_eq!(reply.status, 201);
    assert_ne!(reply.body["participant_id"], by_name["id"]);
    let everyone = app.get("/api/v1/participants?q=hoa", Some(&admin)).await;
    assert_eq!(items(&everyone).len(), 2);
}
