//! Enrolment: who may enrol whom, the refusal reasons, the waitlist, bulk
//! enrolment, and capacity under concurrency.

use chrono::Datelike;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

#[actix_web::test]
async fn participants_enrol_themselves_and_their_children_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 3, 1, 10, false).await;
    let parent = app.register("parent@example.vn").await;
    let parent_token = app.login("parent@example.vn", PASSWORD).await.access;
    let path = format!("/api/v1/sessions/{session}/enrolments");

    let first = app.post(&path, Some(&parent_token), &json!({})).await;
    assert_eq!(first.status, 201, "{:#}", first.body);
    assert_eq!(first.body["participant_id"], parent["participant_id"]);
    assert_eq!(first.body["status"], "enrolled");
    assert_eq!(first.body["source"], "self");
    assert_eq!(first.body["waitlist_position"], Value::Null);
    assert_eq!(first.body["created_by"], parent["id"]);
    let again = app.post(&path, Some(&parent_token), &json!({})).await;
    assert_eq!(again.status, 200, "enrolling twice returns the place");
    assert_eq!(again.body, first.body);

    let child = app
        .create_participant(
            &parent_token,
            json!({"full_name": "Bé Na", "category": "student",
            "birth_date": "2014-03-02"}),
        )
        .await;
    let reply = app.enrol(&parent_token, &session, &id(&child)).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    let seats = app.session(&admin, &session).await;
    assert_eq!(
        (seats["enrolled_count"].as_i64(), seats["seats_left"].as_i64()),
        (Some(2), Some(8))
    );

    let mine = app.get("/api/v1/me/enrolments", Some(&parent_token)).await;
    assert_eq!(mine.status, 200, "{:#}", mine.body);
    let people: Vec<&str> =
        items(&mine).iter().map(|e| e["participant"]["full_name"].as_str().unwrap()).collect();
    assert_eq!(people, ["Nguyễn Văn An", "Bé Na"]);
    assert_eq!(items(&mine)[0]["session"]["id"], session.as_str());
    assert_eq!(items(&mine)[0]["session"]["course_title"], "An toàn trên mạng");

    // Someone else's profile does not exist for them; trainers add walk-ins
    // instead; an account without a profile must say whom.
    let stranger = app.people(&admin, 1).await.remove(0);
    app.enrol(&parent_token, &session, &stranger)
        .await
        .assert_problem(404, "participant_not_found");
    let trainer = app.user_with_role(&admin, "t@example.vn", "trainer").await.access;
    app.enrol(&trainer, &session, &stranger).await.assert_problem(403, "forbidden");
    let reply = app.post(&path, Some(&admin), &json!({})).await;
    assert_eq!(reply.error_fields(), ["participant_id"]);
    let missing = format!("/api/v1/sessions/{}/enrolments", uuid::Uuid::now_v7());
    app.post(&missing, Some(&admin), &json!({"participant_id": stranger}))
        .await
        .assert_problem(404, "not_found");
    let other = app.get("/api/v1/me/enrolments", Some(&admin)).await;
    assert!(items(&other).is_empty());
}

#[actix_web::test]
async fn rosters_show_each_role_what_it_may_see() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let hamlet = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let coordinator = app.coordinator_of(&admin, "c@example.vn", &school).await.access;
    let trainer = app.user_with_role(&admin, "t@example.vn", "trainer").await;
    let other_trainer = app.user_with_role(&admin, "t2@example.vn", "trainer").await.access;
    let participant = app.user_with_role(&admin, "p@example.vn", "participant").await.access;
    let session = app.open_session(&admin, 3, 2, 10, false).await;
    let change = json!({"trainer_ids": [trainer.user["id"]]});
    assert_eq!(
        app.patch(&format!("/api/v1/sessions/{session}"), Some(&admin), &change).await.status,
        200
    );

    let pupil = app
        .create_participant(
            &coordinator,
            json!({"full_name": "Lê Văn Học", "category": "learner", "phone": "0900"}),
        )
        .await;
    let villager = app
        .create_participant(
            &admin,
            json!({"full_name": "Hà Thị Xóm", "category": "learner", "organization_id": hamlet}),
        )
        .await;
    let reply = app.enrol(&coordinator, &session, &id(&pupil)).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["source"], "coordinator");
    app.enrol(&coordinator, &session, &id(&villager))
        .await
        .assert_problem(404, "participant_not_found");
    let villager_place = app.enrol(&admin, &session, &id(&villager)).await.body;
    assert_eq!(villager_place["source"], "admin");

    let path = format!("/api/v1/sessions/{session}/enrolments");
    let names = |reply: &Reply| -> Vec<String> {
        items(reply)
            .iter()
            .map(|e| e["participant"]["full_name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&app.get(&path, Some(&admin)).await), ["Lê Văn Học", "Hà Thị Xóm"]);
    assert_eq!(
        names(&app.get(&path, Some(&coordinator)).await),
        ["Lê Văn Học"],
        "their unit's rows"
    );
    let seen_by_trainer = app.get(&path, Some(&trainer.access)).await;
    assert_eq!(names(&seen_by_trainer), ["Lê Văn Học", "Hà Thị Xóm"]);
    let person = &items(&seen_by_trainer)[0]["participant"];
    assert_eq!(person["category"], "learner");
    assert_eq!(person["organization_id"], school.as_str());
    assert!(person.get("phone").is_none() && person.get("birth_date").is_none());
    app.get(&path, Some(&other_trainer)).await.assert_problem(403, "forbidden");
    app.get(&path, Some(&participant)).await.assert_problem(403, "forbidden");

    // A place is visible to whoever sees its person; trainers cancel none.
    let place = format!("/api/v1/enrolments/{}", id(&villager_place));
    assert_eq!(app.get(&place, Some(&trainer.access)).await.status, 200);
    app.get(&place, Some(&coordinator)).await.assert_problem(404, "not_found");
    app.get(&place, Some(&participant)).await.assert_problem(404, "not_found");
    app.cancel(&trainer.access, &id(&villager_place)).await.assert_problem(403, "forbidden");
    app.cancel(&coordinator, &id(&villager_place)).await.assert_problem(404, "not_found");
    app.cancel(&participant, &id(&villager_place)).await.assert_problem(404, "not_found");
    assert_eq!(app.cancel(&coordinator, &id(&reply.body)).await.status, 200, "their unit's place");

    // The same person in a session the trainer does not teach: not theirs.
    let elsewhere = app.open_session(&admin, 5, 2, 10, false).await;
    let other_place = app.enrol(&admin, &elsewhere, &id(&villager)).await.body;
    let other_path = format!("/api/v1/enrolments/{}", id(&other_place));
    app.get(&other_path, Some(&trainer.access)).await.assert_problem(404, "not_found");
    // Out of reach is not found before the role is forbidden.
    app.cancel(&trainer.access, &id(&other_place)).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn refusals_name_their_reason_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let now = chrono::Utc::now();
    let [person] = <[String; 1]>::try_from(app.people(&admin, 1).await).unwrap();

    let course = json!({"title": "Cho phụ huynh", "duration_minutes": 60, "target_categories": ["parent", "student"]});
    let course = id(&app.post("/api/v1/courses", Some(&admin), &course).await.body);
    let session_at = |days: i64, extra: Value| {
        let starts = now + chrono::Duration::days(days);
        let mut body = json!({"course_id": course, "starts_at": starts, "ends_at": starts + chrono::Duration::hours(1),
            "venue": "Hội trường", "capacity": 1, "trainer_ids": []});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (app, admin) = (&app, &admin);
        async move {
            let reply = app.post("/api/v1/sessions", Some(admin), &body).await;
            assert_eq!(reply.status, 201, "{:#}", reply.body);
            id(&reply.body)
        }
    };
    let parent =
        app.create_participant(&admin, json!({"full_name": "Mẹ", "category": "parent"})).await;
    let parent = id(&parent);

    let cancelled = session_at(5, json!({})).await;
    let change = json!({"status": "cancelled"});
    app.patch(&format!("/api/v1/sessions/{cancelled}"), Some(&admin), &change).await;
    app.enrol(&admin, &cancelled, &parent).await.assert_problem(409, "session_cancelled");

    let past = session_at(-5, json!({})).await;
    app.enrol(&admin, &past, &parent).await.assert_problem(409, "session_over");

    let not_yet =
        session_at(6, json!({"enrolment_opens_at": now + chrono::Duration::days(1)})).await;
    app.enrol(&admin, &not_yet, &parent).await.assert_problem(409, "enrolment_closed");
    let closed =
        session_at(7, json!({"enrolment_closes_at": now - chrono::Duration::hours(1)})).await;
    app.enrol(&admin, &closed, &parent).await.assert_problem(409, "enrolment_closed");

    let open = session_at(8, json!({})).await;
    app.enrol(&admin, &open, &person).await.assert_problem(422, "category_not_eligible");

    let child = json!({"full_name": "Bé", "category": "student", "birth_date": (now - chrono::Duration::days(365 * 12)).date_naive()});
    let child = id(&app.create_participant(&admin, child).await);
    app.enrol(&admin, &open, &child).await.assert_problem(409, "guardian_required");
    let guardian = json!({"guardian_id": parent});
    assert_eq!(
        app.patch(&format!("/api/v1/participants/{child}"), Some(&admin), &guardian).await.status,
        200
    );
    assert_eq!(app.enrol(&admin, &open, &child).await.status, 201, "with a guardian on file");

    // Full without a waitlist; then the same hour elsewhere is a conflict.
    app.enrol(&admin, &open, &parent).await.assert_problem(409, "session_full");
    let vietnamese = app
        .request(
            actix_web::http::Method::POST,
            &format!("/api/v1/sessions/{open}/enrolments"),
            Some(&admin),
            &[("Content-Type", "application/json"), ("Accept-Language", "vi")],
            Some(json!({"participant_id": parent}).to_string().into_bytes()),
        )
        .await;
    vietnamese.assert_problem(409, "session_full");
    assert_eq!(vietnamese.body["detail"], "Buổi học đã đủ chỗ và không có danh sách chờ.");
    let same_time = session_at(8, json!({"venue": "Nhà văn hoá", "capacity": 5})).await;
    app.enrol(&admin, &same_time, &child).await.assert_problem(409, "schedule_conflict");
    assert_eq!(
        app.enrol(&admin, &same_time, &parent).await.status,
        201,
        "no overlap for the parent"
    );

    // No refusal stored anything.
    let held_places =
        [(&cancelled, 0), (&past, 0), (&not_yet, 0), (&closed, 0), (&open, 1), (&same_time, 1)];
    for (session, held) in held_places {
        let read = app.session(&admin, session).await;
        assert_eq!(
            (read["enrolled_count"].as_i64(), read["waitlisted_count"].as_i64()),
            (Some(held), Some(0))
        );
        for status in ["enrolled", "waitlisted", "cancelled"] {
            let path = format!("/api/v1/sessions/{session}/enrolments?status={status}");
            let expected = if status == "enrolled" { held as usize } else { 0 };
            assert_eq!(
                items(&app.get(&path, Some(&admin)).await).len(),
                expected,
                "{status} rows of {session}"
            );
        }
    }
}

#[actix_web::test]
async fn bulk_enrolment_answers_each_person_in_order() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 4, 3, 2, true).await;
    let people = app.people(&admin, 3).await;
    let anonymised = app.people(&admin, 1).await.remove(0);
    let erase = format!("/api/v1/participants/{anonymised}/anonymize");
    app.request(actix_web::http::Method::POST, &erase, Some(&admin), &[], None).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let ids = [&people[0], &people[1], &people[0], &unknown, &people[2], &anonymised];
    let path = format!("/api/v1/sessions/{session}/enrolments/bulk");
    let reply = app.post(&path, Some(&admin), &json!({"participant_ids": ids})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["participant_id"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (people[0].as_str(), "enrolled", ""),
            (people[1].as_str(), "enrolled", ""),
            (people[0].as_str(), "already_enrolled", ""),
            (unknown.as_str(), "refused", "participant_not_found"),
            (people[2].as_str(), "waitlisted", ""),
            (anonymised.as_str(), "refused", "participant_not_found"),
        ]
    );
    assert_eq!(results[4]["enrolment"]["waitlist_position"], 1);
    assert_eq!(results[2]["enrolment"]["id"], results[0]["enrolment"]["id"]);
    assert!(results[3].get("enrolment").is_none());
    let read = app.session(&admin, &session).await;
    assert_eq!(
        (read["enrolled_count"].as_i64(), read["waitlisted_count"].as_i64()),
        (Some(2), Some(1))
    );

    let empty = app.post(&path, Some(&admin), &json!({"participant_ids": []})).await;
    assert_eq!(empty.error_fields(), ["participant_ids"]);
    let trainer = app.user_with_role(&admin, "t@example.vn", "trainer").await.access;
    app.post(&path, Some(&trainer), &json!({"participant_ids": [people[0]]}))
        .await
        .assert_problem(403, "forbidden");
    // A coordinator's bulk request keeps to their unit, item by item.
    let unit = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let coordinator = app.coordinator_of(&admin, "c@example.vn", &unit).await.access;
    let theirs = app.people(&coordinator, 1).await.remove(0);
    let second = app.open_session(&admin, 5, 3, 5, false).await;
    let path_two = format!("/api/v1/sessions/{second}/enrolments/bulk");
    let body = json!({"participant_ids": [people[0], theirs]});
    let reply = app.post(&path_two, Some(&coordinator), &body).await;
    let results = reply.body["results"].as_array().unwrap();
    let outcomes: Vec<&str> = results.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["refused", "enrolled"]);
    assert_eq!(results[0]["reason"], "participant_not_found");
    assert_eq!(results[1]["enrolment"]["source"], "coordinator");

    let missing = format!("/api/v1/sessions/{}/enrolments/bulk", uuid::Uuid::now_v7());
    app.post(&missing, Some(&admin), &json!({"participant_ids": [people[0]]}))
        .await
        .assert_problem(404, "not_found");
}

/// The positions of a session's waitlist, in order.
async fn waitlist_positions(app: &TestApp, admin: &str, session: &str) -> Vec<i64> {
    let path = format!("/api/v1/sessions/{session}/enrolments?status=waitlisted&limit=200");
    let reply = app.get(&path, Some(admin)).await;
    let mut positions: Vec<i64> =
        items(&reply).iter().map(|e| e["waitlist_position"].as_i64().unwrap()).collect();
    positions.sort();
    positions
}

#[actix_web::test]
async fn cancelling_promotes_the_first_in_line_and_keeps_positions_dense() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 4, 4, 2, true).await;
    let people = app.people(&admin, 6).await;
    let mut places = Vec::new();
    for person in &people {
        let reply = app.enrol(&admin, &session, person).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
        places.push(reply.body);
    }
    let statuses: Vec<&str> = places.iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["enrolled", "enrolled", "waitlisted", "waitlisted", "waitlisted", "waitlisted"]
    );
    assert_eq!(waitlist_positions(&app, &admin, &session).await, [1, 2, 3, 4]);

    // An enrolled place goes to the first in line.
    let cancelled = app.cancel(&admin, &id(&places[0])).await;
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert!(cancelled.body["cancelled_at"].is_string());
    let promoted = app.get(&format!("/api/v1/enrolments/{}", id(&places[2])), Some(&admin)).await;
    assert_eq!(promoted.body["status"], "enrolled");
    assert_eq!(promoted.body["waitlist_position"], Value::Null);
    assert_eq!(waitlist_positions(&app, &admin, &session).await, [1, 2, 3]);

    // A waitlisted place in the middle closes its gap.
    assert_eq!(app.cancel(&admin, &id(&places[4])).await.status, 200);
    assert_eq!(waitlist_positions(&app, &admin, &session).await, [1, 2]);
    let last = app.get(&format!("/api/v1/enrolments/{}", id(&places[5])), Some(&admin)).await;
    assert_eq!(last.body["waitlist_position"], 2);

    // Cancelling again changes nothing; the person may enrol anew.
    let again = app.cancel(&admin, &id(&places[0])).await;
    assert_eq!(again.body, cancelled.body);
    let back = app.enrol(&admin, &session, &people[0]).await;
    assert_eq!(back.status, 201);
    assert_eq!(back.body["waitlist_position"], 3);
    let read = app.session(&admin, &session).await;
    assert_eq!(
        (read["enrolled_count"].as_i64(), read["waitlisted_count"].as_i64()),
        (Some(2), Some(3))
    );

    // More seats go to the people waiting; fewer than taken is refused.
    let path = format!("/api/v1/sessions/{session}");
    let grown = app.patch(&path, Some(&admin), &json!({"capacity": 4})).await;
    assert_eq!(
        (grown.body["enrolled_count"].as_i64(), grown.body["waitlisted_count"].as_i64()),
        (Some(4), Some(1))
    );
    assert_eq!(waitlist_positions(&app, &admin, &session).await, [1]);
    app.patch(&path, Some(&admin), &json!({"capacity": 3}))
        .await
        .assert_problem(409, "capacity_below_enrolled");

    // A cancelled session cancels its places.
    let off = app.patch(&path, Some(&admin), &json!({"status": "cancelled"})).await;
    assert_eq!(
        (off.body["enrolled_count"].as_i64(), off.body["waitlisted_count"].as_i64()),
        (Some(0), Some(0))
    );
    let roster = app.get(&format!("{path}/enrolments"), Some(&admin)).await;
    assert!(items(&roster).is_empty());
    let promotions =
        app.get("/api/v1/audit-events?entity_type=enrolment&action=promote", Some(&admin)).await;
    assert_eq!(items(&promotions).len(), 3);
}

#[actix_web::test]
async fn participants_cancel_their_own_places_but_not_after_the_session() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 2, 5, 5, false).await;
    app.register("lan@example.vn").await;
    let lan = app.login("lan@example.vn", PASSWORD).await.access;
    let path = format!("/api/v1/sessions/{session}/enrolments");
    let place = app.post(&path, Some(&lan), &json!({})).await;
    let cancelled = app.cancel(&lan, &id(&place.body)).await;
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.body);
    assert_eq!(app.session(&admin, &session).await["enrolled_count"], 0);

    let again = app.post(&path, Some(&lan), &json!({})).await;
    assert_eq!(again.status, 201);
    app.execute_sql(&format!(
        "UPDATE sessions SET starts_at = '2024-01-01 08:00:00', ends_at = '2024-01-01 09:00:00' WHERE id = '{session}'"
    ));
    app.cancel(&lan, &id(&again.body)).await.assert_problem(409, "session_over");
    let mine = app.get("/api/v1/me/enrolments?status=cancelled", Some(&lan)).await;
    assert_eq!(items(&mine).len(), 1);
}

#[actix_web::test]
async fn two_hundred_people_racing_for_ten_seats_get_exactly_ten() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 3, 6, 10, false).await;
    let people = app.people(&admin, 200).await;
    let replies = join_all(people.iter().map(|person| app.enrol(&admin, &session, person))).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 10);
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.assert_problem(409, "session_full");
    }
    let read = app.session(&admin, &session).await;
    assert_eq!((read["enrolled_count"].as_i64(), read["seats_left"].as_i64()), (Some(10), Some(0)));
    let roster =
        app.get(&format!("/api/v1/sessions/{session}/enrolments?limit=200"), Some(&admin)).await;
    assert_eq!(items(&roster).len(), 10);
}

#[actix_web::test]
async fn one_person_enrolling_thirty_times_at_once_holds_one_place() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 3, 7, 10, false).await;
    let person = app.people(&admin, 1).await.remove(0);
    let replies = join_all((0..30).map(|_| app.enrol(&admin, &session, &person))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert!(
        replies.iter().all(|r| r.status == 201 || r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let ids: std::collections::HashSet<String> = replies.iter().map(|r| id(&r.body)).collect();
    assert_eq!(ids.len(), 1, "every answer names the same place");
    let roster = app.get(&format!("/api/v1/sessions/{session}/enrolments"), Some(&admin)).await;
    assert_eq!(items(&roster).len(), 1);
    assert_eq!(app.session(&admin, &session).await["enrolled_count"], 1);
}

#[actix_web::test]
async fn sixty_onto_five_seats_queue_densely_and_concurrent_cancels_keep_it_so() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 3, 8, 5, true).await;
    let people = app.people(&admin, 60).await;
    let replies = join_all(people.iter().map(|person| app.enrol(&admin, &session, person))).await;
    assert!(
        replies.iter().all(|r| r.status == 201),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let enrolled: Vec<&Reply> = replies.iter().filter(|r| r.body["status"] == "enrolled").collect();
    assert_eq!(enrolled.len(), 5);
    assert_eq!(waitlist_positions(&app, &admin, &session).await, (1..=55).collect::<Vec<_>>());

    // Cancel all five enrolled places and ten waitlisted ones at once.
    let mut waitlisted: Vec<&Reply> =
        replies.iter().filter(|r| r.body["status"] == "waitlisted").collect();
    waitlisted.sort_by_key(|r| r.body["waitlist_position"].as_i64());
    let cancelled_waiting: Vec<&Reply> = waitlisted.iter().copied().step_by(5).take(10).collect();
    let to_cancel: Vec<String> =
        enrolled.iter().chain(&cancelled_waiting).map(|r| id(&r.body)).collect();
    // First come, first served: the five earliest still waiting move up.
    let mut expected_promoted: Vec<String> = waitlisted
        .iter()
        .filter(|r| !cancelled_waiting.iter().any(|c| c.body["id"] == r.body["id"]))
        .take(5)
        .map(|r| id(&r.body))
        .collect();
    expected_promoted.sort();
    let cancels = join_all(to_cancel.iter().map(|place| app.cancel(&admin, place))).await;
    assert!(
        cancels.iter().all(|r| r.status == 200),
        "{:?}",
        cancels.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let read = app.session(&admin, &session).await;
    assert_eq!(read["enrolled_count"], 5, "the seats stay full: {read:#}");
    assert_eq!(read["waitlisted_count"], 40);
    assert_eq!(waitlist_positions(&app, &admin, &session).await, (1..=40).collect::<Vec<_>>());
    let roster = app
        .get(&format!("/api/v1/sessions/{session}/enrolments?status=enrolled"), Some(&admin))
        .await;
    let mut promoted: Vec<String> = items(&roster).iter().map(id).collect();
    promoted.sort();
    assert_eq!(promoted, expected_promoted);
}

#[actix_web::test]
async fn schedule_conflicts_are_overlaps_with_places_still_held() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let course = json!({"title": "Khoá", "duration_minutes": 60});
    let course = id(&app.post("/api/v1/courses", Some(&admin), &course).await.body);
    let base = chrono::Utc::now().date_naive() + chrono::Duration::days(10);
    let at = |hour: u32, minute: u32| base.and_hms_opt(hour, minute, 0).unwrap().and_utc();
    let session = |from: chrono::DateTime<chrono::Utc>,
                   to: chrono::DateTime<chrono::Utc>,
                   capacity: u32| {
        let body = json!({"course_id": course, "starts_at": from, "ends_at": to, "venue": "Hội trường",
            "capacity": capacity, "trainer_ids": [], "waitlist": true});
        let (app, admin) = (&app, &admin);
        async move { id(&app.post("/api/v1/sessions", Some(admin), &body).await.body) }
    };
    let morning = session(at(1, 0), at(3, 0), 1).await;
    let right_after = session(at(3, 0), at(4, 0), 5).await;
    let overlapping = session(at(2, 30), at(5, 0), 5).await;
    let [holder, waiting] = <[String; 2]>::try_from(app.people(&admin, 2).await).unwrap();

    assert_eq!(app.enrol(&admin, &morning, &holder).await.status, 201);
    let queued = app.enrol(&admin, &morning, &waiting).await;
    assert_eq!(queued.body["status"], "waitlisted");
    assert_eq!(
        app.enrol(&admin, &right_after, &holder).await.status,
        201,
        "back to back is no overlap"
    );
    app.enrol(&admin, &overlapping, &holder).await.assert_problem(409, "schedule_conflict");
    app.enrol(&admin, &overlapping, &waiting).await.assert_problem(409, "schedule_conflict");

    // Places given up no longer count.
    assert_eq!(app.cancel(&admin, &id(&queued.body)).await.status, 200);
    assert_eq!(app.enrol(&admin, &overlapping, &waiting).await.status, 201);
}

#[actix_web::test]
async fn one_person_racing_into_two_overlapping_sessions_gets_one() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let first = app.open_session(&admin, 3, 9, 50, false).await;
    let second = app.open_session(&admin, 3, 9, 50, false).await;
    let people = app.people(&admin, 20).await;
    let attempts =
        people.iter().flat_map(|p| [app.enrol(&admin, &first, p), app.enrol(&admin, &second, p)]);
    let replies = join_all(attempts).await;
    for pair in replies.chunks(2) {
        let mut statuses: Vec<u16> = pair.iter().map(|r| r.status.as_u16()).collect();
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{:#} {:#}", pair[0].body, pair[1].body);
        pair.iter().find(|r| r.status == 409).unwrap().assert_problem(409, "schedule_conflict");
    }
    let held = app.session(&admin, &first).await["enrolled_count"].as_i64().unwrap()
        + app.session(&admin, &second).await["enrolled_count"].as_i64().unwrap();
    assert_eq!(held, 20);
}

/// "Under 16 on the session's day" counts the day in Viet Nam: a session at
/// 06:30 there is still the day before in UTC.
#[actix_web::test]
async fn the_guardian_rule_counts_the_local_day() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let course = json!({"title": "Sáng sớm", "duration_minutes": 60});
    let course = id(&app.post("/api/v1/courses", Some(&admin), &course).await.body);
    let local_day = chrono::Utc::now().date_naive() + chrono::Duration::days(20);
    let starts = (local_day - chrono::Duration::days(1)).and_hms_opt(23, 30, 0).unwrap().and_utc();
    let body = json!({"course_id": course, "starts_at": starts, "ends_at": starts + chrono::Duration::hours(1),
        "venue": "Trường", "capacity": 5, "trainer_ids": []});
    let session = id(&app.post("/api/v1/sessions", Some(&admin), &body).await.body);
    let sixteen_that_day = local_day.with_year(local_day.year() - 16).unwrap();
    let birthday =
        json!({"full_name": "Vừa 16", "category": "student", "birth_date": sixteen_that_day});
    let student = id(&app.create_participant(&admin, birthday).await);
    assert_eq!(app.enrol(&admin, &session, &student).await.status, 201, "16 on the local day");
    let younger = json!({"full_name": "Mai 16", "category": "student",
        "birth_date": sixteen_that_day + chrono::Duration::days(1)});
    let younger = id(&app.create_participant(&admin, younger).await);
    app.enrol(&admin, &session, &younger).await.assert_problem(409, "guardian_required");
}
