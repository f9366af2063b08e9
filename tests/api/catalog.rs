//! Programmes, courses and sessions: readable by every signed-in user,
//! written by admins.

use serde_json::{Value, json};

use crate::helpers::*;

#[actix_web::test]
async fn programmes_are_created_read_updated_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let participant = app.user_with_role(&admin, "p@example.vn", "participant").await.access;
    let body = json!({"name": "Tuần lễ học tập suốt đời 2023", "theme": "Tự học trong kỷ nguyên số",
        "starts_on": "2023-10-02", "ends_on": "2023-10-08"});
    app.post("/api/v1/programmes", Some(&participant), &body)
        .await
        .assert_problem(403, "forbidden");
    let created = app.post("/api/v1/programmes", Some(&admin), &body).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    assert_eq!(created.body["starts_on"], "2023-10-02");
    assert_eq!(created.body["theme"], "Tự học trong kỷ nguyên số");
    let path = format!("/api/v1/programmes/{}", created.body["id"].as_str().unwrap());

    assert_eq!(app.get(&path, Some(&participant)).await.body, created.body);
    app.get(&path, None).await.assert_problem(401, "missing_token");
    let listed = app.get("/api/v1/programmes", Some(&participant)).await;
    assert_eq!(items(&listed).len(), 1);
    assert_eq!(items(&app.get("/api/v1/programmes?on=2023-10-05", Some(&admin)).await).len(), 1);
    assert!(items(&app.get("/api/v1/programmes?on=2023-10-09", Some(&admin)).await).is_empty());
    // A day beyond the years anything is planned in finds nothing.
    let long_ago = app.get("/api/v1/programmes?on=1500-01-01", Some(&admin)).await;
    assert_eq!(long_ago.status, 200);
    assert!(items(&long_ago).is_empty());

    let reply =
        app.patch(&path, Some(&admin), &json!({"ends_on": "2023-10-09", "theme": null})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["ends_on"], "2023-10-09");
    assert_eq!(reply.body["theme"], Value::Null);
    app.patch(&path, Some(&participant), &json!({"name": "X"}))
        .await
        .assert_problem(403, "forbidden");

    // The end is not before the start, on create and on change.
    let backwards = json!({"name": "X", "starts_on": "2023-10-08", "ends_on": "2023-10-02"});
    assert_eq!(
        app.post("/api/v1/programmes", Some(&admin), &backwards).await.error_fields(),
        ["ends_on"]
    );
    let reply = app.patch(&path, Some(&admin), &json!({"starts_on": "2023-10-10"})).await;
    assert_eq!(reply.error_fields(), ["ends_on"]);
    let far = json!({"name": "X", "starts_on": "0001-01-01", "ends_on": "9999-01-01"});
    assert_eq!(
        app.post("/api/v1/programmes", Some(&admin), &far).await.error_fields(),
        ["starts_on", "ends_on"]
    );
    let one_day = json!({"name": "Khai mạc", "starts_on": "2023-10-02", "ends_on": "2023-10-02"});
    assert_eq!(app.post("/api/v1/programmes", Some(&admin), &one_day).await.status, 201);
    let missing = format!("/api/v1/programmes/{}", uuid::Uuid::now_v7());
    app.get(&missing, Some(&admin)).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn courses_are_created_read_updated_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "t@example.vn", "trainer").await.access;
    let programme = app.create_programme(&admin).await;
    let body =
        json!({"title": "An toàn trên mạng", "duration_minutes": 120, "programme_id": programme});
    app.post("/api/v1/courses", Some(&trainer), &body).await.assert_problem(403, "forbidden");
    let created = app.post("/api/v1/courses", Some(&admin), &body).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    assert_eq!(created.body["topics"], json!([]));
    assert_eq!(
        created.body["target_categories"],
        json!(["student", "learner", "parent", "official", "worker", "other"]),
        "every audience by default"
    );
    let path = format!("/api/v1/courses/{}", created.body["id"].as_str().unwrap());
    assert_eq!(app.get(&path, Some(&trainer)).await.body, created.body);

    let change = json!({"topics": ["Mật khẩu mạnh", "Lừa đảo trực tuyến"], "summary": "Cơ bản.\nHai buổi.",
        "target_categories": ["worker", "official", "worker"], "programme_id": null});
    let reply = app.patch(&path, Some(&admin), &change).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["topics"], json!(["Mật khẩu mạnh", "Lừa đảo trực tuyến"]));
    assert_eq!(reply.body["summary"], "Cơ bản.\nHai buổi.", "a summary may run over lines");
    assert_eq!(reply.body["target_categories"], json!(["official", "worker"]));
    assert_eq!(reply.body["programme_id"], Value::Null);

    let other = app.create_course(&admin, Some(&programme)).await;
    let listed =
        app.get(&format!("/api/v1/courses?programme_id={programme}"), Some(&trainer)).await;
    assert_eq!(item_field(&listed, "id"), [other.as_str()]);
    assert_eq!(items(&app.get("/api/v1/courses", Some(&trainer)).await).len(), 2);

    let bad = json!({"title": "", "duration_minutes": 0, "target_categories": [],
        "topics": ["ok", "bad\u{7}"], "programme_id": uuid::Uuid::now_v7()});
    let reply = app.post("/api/v1/courses", Some(&admin), &bad).await;
    assert_eq!(
        reply.error_fields(),
        ["title", "topics[1]", "target_categories", "duration_minutes"]
    );
    let unknown_programme =
        json!({"title": "X", "duration_minutes": 60, "programme_id": uuid::Uuid::now_v7()});
    let reply = app.post("/api/v1/courses", Some(&admin), &unknown_programme).await;
    assert_eq!(reply.error_fields(), ["programme_id"]);
    assert_eq!(items(&app.get("/api/v1/courses", Some(&admin)).await).len(), 2);
}

#[actix_web::test]
async fn sessions_carry_trainers_defaults_and_seat_counts() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "t@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let programme = app.create_programme(&admin).await;
    let course = app.create_course(&admin, Some(&programme)).await;
    let body = json!({"course_id": course, "starts_at": "2023-10-03T08:00:00+07:00",
        "ends_at": "2023-10-03T09:30:00+07:00", "venue": "Trường THCS Trung Hội", "capacity": 25,
        "trainer_ids": [trainer_id, trainer_id]});
    app.post("/api/v1/sessions", Some(&trainer.access), &body)
        .await
        .assert_problem(403, "forbidden");
    let created = app.post("/api/v1/sessions", Some(&admin), &body).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    let session = &created.body;
    assert_eq!(session["starts_at"], "2023-10-03T01:00:00Z", "stored and shown in UTC");
    assert_eq!(session["trainer_ids"], json!([trainer_id]));
    assert_eq!(session["status"], "scheduled");
    assert_eq!(session["waitlist"], false);
    assert_eq!(session["eligible_categories"], json!(["student", "parent"]), "the course's");
    assert_eq!(session["programme_id"], programme.as_str());
    assert_eq!(session["enrolled_count"], 0);
    assert_eq!(session["waitlisted_count"], 0);
    assert_eq!(session["seats_left"], 25);
    assert_eq!(session["enrolment_opens_at"], Value::Null);
    let id = session["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/sessions/{id}");
    assert_eq!(app.get(&path, Some(&trainer.access)).await.body, created.body);

    // Several trainers come back in the order of their ids, however given.
    let other = app.user_with_role(&admin, "t2@example.vn", "trainer").await;
    let mut both = vec![trainer_id.clone(), other.user["id"].as_str().unwrap().to_owned()];
    both.sort();
    let reversed: Vec<&String> = both.iter().rev().collect();
    let reply = app.patch(&path, Some(&admin), &json!({"trainer_ids": reversed})).await;
    assert_eq!(reply.body["trainer_ids"], json!(both), "{:#}", reply.body);
    assert_eq!(app.get(&path, Some(&admin)).await.body["trainer_ids"], json!(both));
    let listed = app.get("/api/v1/sessions", Some(&admin)).await;
    assert_eq!(items(&listed)[0]["trainer_ids"], json!(both));
    // Stored in the other order, they still come back in order.
    app.execute_sql(&format!(
        "DELETE FROM session_trainers WHERE session_id = '{id}';
         INSERT INTO session_trainers (session_id, user_id) VALUES ('{id}', '{}');
         INSERT INTO session_trainers (session_id, user_id) VALUES ('{id}', '{}');",
        both[1], both[0]
    ));
    assert_eq!(app.get(&path, Some(&admin)).await.body["trainer_ids"], json!(both));

    let change = json!({"capacity": 40, "waitlist": true, "eligible_categories": ["worker"],
        "enrolment_opens_at": "2023-09-20T00:00:00Z", "enrolment_closes_at": "2023-10-02T00:00:00Z",
        "trainer_ids": [], "venue": "Hội trường xã"});
    let reply = app.patch(&path, Some(&admin), &change).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["capacity"], 40);
    assert_eq!(reply.body["seats_left"], 40);
    assert_eq!(reply.body["eligible_categories"], json!(["worker"]));
    assert_eq!(reply.body["trainer_ids"], json!([]));
    assert_eq!(reply.body["enrolment_closes_at"], "2023-10-02T00:00:00Z");
    let reply = app
        .patch(&path, Some(&admin), &json!({"eligible_categories": null, "status": "completed"}))
        .await;
    assert_eq!(
        reply.body["eligible_categories"],
        json!(["student", "parent"]),
        "back to the course's"
    );
    assert_eq!(reply.body["status"], "completed");
    app.patch(&path, Some(&trainer.access), &json!({"capacity": 5}))
        .await
        .assert_problem(403, "forbidden");

    // Seats taken show in the counts, and capacity cannot drop below them.
    for _ in 0..3 {
        let participant =
            app.create_participant(&admin, json!({"full_name": "Lan", "category": "parent"})).await;
        app.enrol_directly(&id, participant["id"].as_str().unwrap());
    }
    let read = app.get(&path, Some(&admin)).await;
    assert_eq!(read.body["enrolled_count"], 3);
    assert_eq!(read.body["seats_left"], 37);
    app.patch(&path, Some(&admin), &json!({"capacity": 2}))
        .await
        .assert_problem(409, "capacity_below_enrolled");
    assert_eq!(
        app.get(&path, Some(&admin)).await.body["capacity"],
        40,
        "a refused change changes nothing"
    );
    assert_eq!(app.patch(&path, Some(&admin), &json!({"capacity": 3})).await.body["seats_left"], 0);
}

#[actix_web::test]
async fn session_rules_are_checked() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let coordinator = app.user_with_role(&admin, "c@example.vn", "coordinator").await;
    let course = app.create_course(&admin, None).await;
    let post = |body: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.post("/api/v1/sessions", Some(admin), &body).await }
    };
    let base = json!({"course_id": course, "starts_at": "2023-10-03T08:00:00+07:00",
        "ends_at": "2023-10-03T09:30:00+07:00", "venue": "Hall", "capacity": 10, "trainer_ids": []});
    let with = |changes: Value| {
        let mut body = base.clone();
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let reply =
        post(with(json!({"ends_at": "2023-10-03T08:00:00+07:00", "capacity": 0, "venue": ""})))
            .await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["venue", "capacity"], "field checks come first");
    let reply = post(with(json!({"ends_at": "2023-10-03T08:00:00+07:00"}))).await;
    assert_eq!(reply.error_fields(), ["ends_at"]);
    let reply = post(with(json!({"enrolment_opens_at": "2023-10-01T00:00:00Z",
        "enrolment_closes_at": "2023-09-01T00:00:00Z"})))
    .await;
    assert_eq!(reply.error_fields(), ["enrolment_closes_at"]);
    let reply = post(with(json!({"course_id": uuid::Uuid::now_v7()}))).await;
    assert_eq!(reply.error_fields(), ["course_id"]);
    let not_a_trainer = coordinator.user["id"].clone();
    let reply = post(with(json!({"trainer_ids": [uuid::Uuid::now_v7(), not_a_trainer]}))).await;
    assert_eq!(reply.error_fields(), ["trainer_ids[0]", "trainer_ids[1]"]);
    let reply =
        post(with(json!({"eligible_categories": [], "starts_at": "1999-12-31T00:00:00Z"}))).await;
    assert_eq!(reply.error_fields(), ["starts_at", "eligible_categories"]);
    let reply = post(with(json!({"status": "cancelled", "capacity": "ten"}))).await;
    assert_eq!(reply.error_fields(), ["capacity"]);
    assert!(items(&app.get("/api/v1/sessions", Some(&admin)).await).is_empty(), "nothing stored");
    let missing = format!("/api/v1/sessions/{}", uuid::Uuid::now_v7());
    app.get(&missing, Some(&admin)).await.assert_problem(404, "not_found");
    app.patch(&missing, Some(&admin), &json!({"capacity": 5}))
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn sessions_are_filtered_by_time_course_programme_trainer_status_and_seats() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "t@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let programme = app.create_programme(&admin).await;
    let in_programme = app.create_course(&admin, Some(&programme)).await;
    let standalone = app.create_course(&admin, None).await;
    let first = app.create_session(&admin, &in_programme, 2, &[&trainer_id]).await;
    let second = app.create_session(&admin, &in_programme, 5, &[]).await;
    let third = app.create_session(&admin, &standalone, 7, &[&trainer_id]).await;
    let [first, second, third] =
        [&first, &second, &third].map(|s| s["id"].as_str().unwrap().to_owned());
    app.execute_sql(&format!("UPDATE sessions SET enrolled_count = capacity WHERE id = '{third}'"));
    let cancelled = json!({"status": "cancelled"});
    assert_eq!(
        app.patch(&format!("/api/v1/sessions/{second}"), Some(&admin), &cancelled).await.status,
        200
    );

    let ids = |query: &str| {
        let (app, token) = (&app, &trainer.access);
        let path = format!("/api/v1/sessions?{query}");
        async move {
            let reply = app.get(&path, Some(token)).await;
            assert_eq!(reply.status, 200, "{path}: {:#}", reply.body);
            item_field(&reply, "id").into_iter().map(str::to_owned).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("").await, [first.as_str(), second.as_str(), third.as_str()]);
    assert_eq!(ids("from=2023-10-05T00:00:00%2B07:00").await, [second.as_str(), third.as_str()]);
    assert_eq!(ids("from=2023-10-02T02:00:00Z&to=2023-10-06T00:00:00Z").await, [second.as_str()]);
    assert_eq!(ids(&format!("course_id={standalone}")).await, [third.as_str()]);
    assert_eq!(ids(&format!("programme_id={programme}")).await, [first.as_str(), second.as_str()]);
    assert_eq!(ids(&format!("trainer_id={trainer_id}")).await, [first.as_str(), third.as_str()]);
    assert_eq!(ids("status=cancelled").await, [second.as_str()]);
    assert_eq!(ids("has_seats=true").await, [first.as_str(), second.as_str()]);
    assert_eq!(ids("has_seats=false").await, [third.as_str()]);
    assert_eq!(
        ids(&format!("has_seats=true&trainer_id={trainer_id}&status=scheduled")).await,
        [first]
    );
    let bad = app.get("/api/v1/sessions?from=yesterday", Some(&admin)).await;
    bad.assert_problem(400, "invalid_parameter");
    assert_eq!(bad.error_fields(), ["from"]);
    app.get("/api/v1/sessions?status=done", Some(&admin))
        .await
        .assert_problem(400, "invalid_parameter");
    app.get("/api/v1/sessions", None).await.assert_problem(401, "missing_token");
}

#[actix_web::test]
async fn every_role_reads_the_catalogue_and_only_admins_write_it() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unit = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let programme = app.create_programme(&admin).await;
    let course = app.create_course(&admin, Some(&programme)).await;
    let session = app.create_session(&admin, &course, 3, &[]).await;
    let session = session["id"].as_str().unwrap();
    let reads = [
        "/api/v1/organizations".to_owned(),
        format!("/api/v1/organizations/{unit}"),
        "/api/v1/programmes".to_owned(),
        format!("/api/v1/programmes/{programme}"),
        "/api/v1/courses".to_owned(),
        format!("/api/v1/courses/{course}"),
        "/api/v1/sessions".to_owned(),
        format!("/api/v1/sessions/{session}"),
    ];
    let creates = [
        ("/api/v1/organizations", json!({"kind": "hamlet", "name": "Xóm Mới"})),
        (
            "/api/v1/programmes",
            json!({"name": "X", "starts_on": "2024-01-01", "ends_on": "2024-01-02"}),
        ),
        ("/api/v1/courses", json!({"title": "X", "duration_minutes": 60})),
        (
            "/api/v1/sessions",
            json!({"course_id": course, "starts_at": "2024-01-01T08:00:00Z",
            "ends_at": "2024-01-01T09:00:00Z", "venue": "X", "capacity": 5, "trainer_ids": []}),
        ),
    ];
    let changes = [
        (format!("/api/v1/organizations/{unit}"), json!({"name": "Đổi"})),
        (format!("/api/v1/programmes/{programme}"), json!({"name": "Đổi"})),
        (format!("/api/v1/courses/{course}"), json!({"title": "Đổi"})),
        (format!("/api/v1/sessions/{session}"), json!({"venue": "Đổi"})),
    ];
    for role in ["coordinator", "trainer", "participant"] {
        let token = app.user_with_role(&admin, &format!("{role}@example.vn"), role).await.access;
        for path in &reads {
            let reply = app.get(path, Some(&token)).await;
            assert_eq!(reply.status, 200, "{role} reads {path}: {:#}", reply.body);
        }
        for (path, body) in &creates {
            app.post(path, Some(&token), body).await.assert_problem(403, "forbidden");
        }
        for (path, body) in &changes {
            app.patch(path, Some(&token), body).await.assert_problem(403, "forbidden");
        }
    }
    // Units are public (sign-up forms list them); the rest needs a token.
    for path in &reads {
        let reply = app.get(path, None).await;
        match path.starts_with("/api/v1/organizations") {
            true => assert_eq!(reply.status, 200, "{path}"),
            false => reply.assert_problem(401, "missing_token"),
        }
    }
    // Nothing a refused caller sent was stored.
    for (path, _) in &creates {
        let count = items(&app.get(path, Some(&admin)).await).len();
        // The coordinator's own unit is the second one.
        let expected = if *path == "/api/v1/organizations" { 2 } else { 1 };
        assert_eq!(count, expected, "{path}");
    }
    assert_eq!(app.get(&changes[0].0, Some(&admin)).await.body["name"], "Xóm Đồng Tâm");
}
