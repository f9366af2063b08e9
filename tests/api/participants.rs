use chrono::Datelike;
use lophoc::access::ParticipantScope;
use lophoc::auth::logins::holds_live_session_as;
use lophoc::db::{DatabaseUrl, Db};
use lophoc::id::Id;
use lophoc::paging::PageRequest;
use lophoc::participants::model::{self, ParticipantFilter};
use lophoc::vocab::Role;
use serde_json::{Value, json};

use crate::helpers::*;
// `id` names the profile under test in several tests here.
use crate::helpers::id as id_of;

const PERSONAL_KEYS: [&str; 7] =
    ["gender", "birth_date", "phone", "email", "guardian_id", "user_id", "guardian_consent"];

fn student(name: &str, unit: &str) -> Value {
    json!({"full_name": name, "category": "student", "organization_id": unit,
        "birth_date": "2011-05-04", "gender": "female", "phone": "0912 345 678"})
}

#[actix_web::test]
async fn admins_create_read_update_and_list_profiles() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS Trung Hội").await;
    let parent = app
        .create_participant(&admin, json!({"full_name": "Trần Văn Bình", "category": "parent"}))
        .await;
    let mut body = student("Trần Thị Mai", &school);
    body["guardian_id"] = parent["id"].clone();
    body["email"] = " Mai@Example.VN ".into();
    let created = app.create_participant(&admin, body).await;
    assert_eq!(created["full_name"], "Trần Thị Mai");
    assert_eq!(created["category"], "student");
    assert_eq!(created["organization_id"], school.as_str());
    assert_eq!(created["gender"], "female");
    assert_eq!(created["birth_date"], "2011-05-04");
    assert_eq!(created["phone"], "0912 345 678");
    assert_eq!(created["email"], "mai@example.vn");
    assert_eq!(created["guardian_id"], parent["id"]);
    assert_eq!(created["user_id"], Value::Null);
    assert_eq!(created["anonymized_at"], Value::Null);
    let id = id_of(&created);

    let path = format!("/api/v1/participants/{id}");
    assert_eq!(app.get(&path, Some(&admin)).await.body, created);
    let change = json!({"full_name": "Trần Thị Hoa Mai", "phone": null, "category": "learner"});
    let changed = app.patch(&path, Some(&admin), &change).await;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    assert_eq!(changed.body["full_name"], "Trần Thị Hoa Mai");
    assert_eq!(changed.body["phone"], Value::Null);
    assert_eq!(changed.body["category"], "learner");
    assert_eq!(changed.body["birth_date"], "2011-05-04", "absent fields stay");

    let all = app.get("/api/v1/participants", Some(&admin)).await;
    assert_eq!(item_field(&all, "id"), [id_of(&parent).as_str(), id.as_str()]);
    let in_school =
        app.get(&format!("/api/v1/participants?organization_id={school}"), Some(&admin)).await;
    assert_eq!(item_field(&in_school, "id"), [id.as_str()]);
    let parents = app.get("/api/v1/participants?category=parent", Some(&admin)).await;
    assert_eq!(item_field(&parents, "id"), [id_of(&parent).as_str()]);
    let children = app
        .get(&format!("/api/v1/participants?guardian_id={}", id_of(&parent)), Some(&admin))
        .await;
    assert_eq!(item_field(&children, "id"), [id.as_str()]);
    let first = app.get("/api/v1/participants?limit=1", Some(&admin)).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second =
        app.get(&format!("/api/v1/participants?limit=1&cursor={cursor}"), Some(&admin)).await;
    assert_eq!(item_field(&second, "id"), [id.as_str()]);
    assert_eq!(second.body["next_cursor"], Value::Null);
}

#[actix_web::test]
async fn profile_rules_are_checked_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let post = |body: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.post("/api/v1/participants", Some(admin), &body).await }
    };
    let no_birth_date = json!({"full_name": "Lò Văn A", "category": "student"});
    assert_eq!(post(no_birth_date).await.error_fields(), ["birth_date"]);
    let reply = post(json!({"full_name": " ", "category": "worker", "phone": "call me",
        "email": "not-an-email", "birth_date": "1850-01-01"}))
    .await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["full_name", "email", "birth_date", "phone"]);
    let unknown = uuid::Uuid::now_v7().to_string();
    let reply = post(json!({"full_name": "A", "category": "worker", "organization_id": unknown,
        "guardian_id": unknown, "user_id": unknown}))
    .await;
    assert_eq!(reply.error_fields(), ["organization_id", "guardian_id", "user_id"]);
    post(json!({"full_name": "A", "category": "pupil"}))
        .await
        .assert_problem(422, "validation_failed");
    let listed = app.get("/api/v1/participants", Some(&admin)).await;
    assert!(items(&listed).is_empty(), "refused creates store nothing");

    // An account is linked to one profile at most.
    let worker = app.user_with_role(&admin, "w@example.vn", "participant").await;
    let taken = worker.user["id"].clone();
    let reply = post(json!({"full_name": "B", "category": "worker", "user_id": taken})).await;
    assert_eq!(reply.error_fields(), ["user_id"]);

    // A student keeps a birth date; a profile is not its own guardian.
    let child = app.create_participant(&admin, student("Lò Thị C", &school)).await;
    let path = format!("/api/v1/participants/{}", id_of(&child));
    let reply = app.patch(&path, Some(&admin), &json!({"birth_date": null})).await;
    assert_eq!(reply.error_fields(), ["birth_date"]);
    let reply = app.patch(&path, Some(&admin), &json!({"guardian_id": child["id"]})).await;
    assert_eq!(reply.error_fields(), ["guardian_id"]);
    assert_eq!(app.get(&path, Some(&admin)).await.body, child, "refused changes change nothing");

    let missing = format!("/api/v1/participants/{}", uuid::Uuid::now_v7());
    app.get(&missing, Some(&admin)).await.assert_problem(404, "not_found");
    app.patch(&missing, Some(&admin), &json!({"full_name": "X"}))
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/participants/not-a-uuid", Some(&admin))
        .await
        .assert_problem(400, "invalid_parameter");
    app.get("/api/v1/participants", None).await.assert_problem(401, "missing_token");
    let long_query = format!("/api/v1/participants?q={}", "a".repeat(201));
    app.get(&long_query, Some(&admin)).await.assert_problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn coordinators_manage_only_their_own_unit() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let hamlet = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let coordinator = app.coordinator_of(&admin, "gv@example.vn", &school).await.access;
    let outsider = app.create_participant(&admin, student("Hà Văn Ngoài", &hamlet)).await;

    // Created in their unit by default; elsewhere is refused.
    let mine = app
        .create_participant(
            &coordinator,
            json!({"full_name": "Hà Thị Trong", "category": "parent"}),
        )
        .await;
    assert_eq!(mine["organization_id"], school.as_str());
    app.post("/api/v1/participants", Some(&coordinator), &student("X", &hamlet))
        .await
        .assert_problem(403, "forbidden");

    // Another unit's profile does not exist for them.
    let theirs = format!("/api/v1/participants/{}", id_of(&outsider));
    app.get(&theirs, Some(&coordinator)).await.assert_problem(404, "not_found");
    app.patch(&theirs, Some(&coordinator), &json!({"full_name": "Y"}))
        .await
        .assert_problem(404, "not_found");
    let listed = app.get("/api/v1/participants", Some(&coordinator)).await;
    assert_eq!(item_field(&listed, "id"), [id_of(&mine).as_str()]);
    let filtered = app
        .get(&format!("/api/v1/participants?organization_id={hamlet}"), Some(&coordinator))
        .await;
    assert!(items(&filtered).is_empty());

    // They update their own, but cannot move a profile out of the unit or
    // link it to an account.
    let path = format!("/api/v1/participants/{}", id_of(&mine));
    let reply = app.patch(&path, Some(&coordinator), &json!({"phone": "0987654321"})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    app.patch(&path, Some(&coordinator), &json!({"organization_id": hamlet}))
        .await
        .assert_problem(403, "forbidden");
    app.patch(&path, Some(&coordinator), &json!({"organization_id": null}))
        .await
        .assert_problem(403, "forbidden");
    let account = app.register("linked@example.vn").await["id"].clone();
    app.patch(&path, Some(&coordinator), &json!({"user_id": account}))
        .await
        .assert_problem(403, "forbidden");
    let anonymize = format!("{path}/anonymize");
    app.request(actix_web::http::Method::POST, &anonymize, Some(&coordinator), &[], None)
        .await
        .assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn participants_see_and_manage_themselves_and_their_dependants() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let parent_user = app.register("me@example.vn").await;
    let parent = app.login("me@example.vn", PASSWORD).await.access;
    let own_profile = parent_user["participant_id"].as_str().unwrap().to_owned();
    let stranger = app.create_participant(&admin, student("Người Lạ", &school)).await;

    // A parent adds a child: their own profile becomes the guardian.
    let child = app.create_participant(&parent, student("Nguyễn Bé Na", &school)).await;
    assert_eq!(child["guardian_id"], own_profile.as_str());
    assert_eq!(child["phone"], "0912 345 678", "a guardian sees every field");

    let me = app.get("/api/v1/me", Some(&parent)).await;
    assert_eq!(me.body["participant_id"], own_profile.as_str());
    assert_eq!(me.body["email"], "me@example.vn");
    let dependants = me.body["dependants"].as_array().unwrap();
    assert_eq!(dependants.iter().map(id_of).collect::<Vec<_>>(), [id_of(&child)]);
    assert_eq!(dependants[0]["birth_date"], "2011-05-04");

    let listed = app.get("/api/v1/participants", Some(&parent)).await;
    assert_eq!(item_field(&listed, "id"), [own_profile.as_str(), id_of(&child).as_str()]);
    let stranger_path = format!("/api/v1/participants/{}", id_of(&stranger));
    app.get(&stranger_path, Some(&parent)).await.assert_problem(404, "not_found");
    app.patch(&stranger_path, Some(&parent), &json!({"full_name": "Z"}))
        .await
        .assert_problem(404, "not_found");

    let child_path = format!("/api/v1/participants/{}", id_of(&child));
    let reply = app.patch(&child_path, Some(&parent), &json!({"full_name": "Nguyễn Bé Nga"})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let own_path = format!("/api/v1/participants/{own_profile}");
    assert_eq!(app.patch(&own_path, Some(&parent), &json!({"phone": "0911"})).await.status, 200);

    // They cannot hand a child to someone else, name another guardian, or
    // link accounts.
    app.patch(&child_path, Some(&parent), &json!({"guardian_id": stranger["id"]}))
        .await
        .assert_problem(403, "forbidden");
    app.patch(&child_path, Some(&parent), &json!({"guardian_id": null}))
        .await
        .assert_problem(403, "forbidden");
    let mut other_guardian = student("Bé Khác", &school);
    other_guardian["guardian_id"] = stranger["id"].clone();
    app.post("/api/v1/participants", Some(&parent), &other_guardian)
        .await
        .assert_problem(403, "forbidden");
    let mut linked = student("Bé Liên Kết", &school);
    linked["user_id"] = parent_user["id"].clone();
    app.post("/api/v1/participants", Some(&parent), &linked).await.assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn trainers_see_only_their_rosters_and_no_personal_fields() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let trainer = app.user_with_role(&admin, "gv1@example.vn", "trainer").await;
    let other_trainer = app.user_with_role(&admin, "gv2@example.vn", "trainer").await;
    let course = app.create_course(&admin, None).await;
    let trainer_id = trainer.user["id"].as_str().unwrap();
    let other_id = other_trainer.user["id"].as_str().unwrap();
    let session = app.create_session(&admin, &course, 3, &[trainer_id]).await;
    let other_session = app.create_session(&admin, &course, 4, &[other_id]).await;
    let on_roster = app.create_participant(&admin, student("Lê Thị Có", &school)).await;
    let elsewhere = app.create_participant(&admin, student("Lê Văn Khác", &school)).await;

    let listed = app.get("/api/v1/participants", Some(&trainer.access)).await;
    assert!(items(&listed).is_empty(), "no roster yet: {:#}", listed.body);
    app.enrol_directly(session["id"].as_str().unwrap(), &id_of(&on_roster));
    app.enrol_directly(other_session["id"].as_str().unwrap(), &id_of(&elsewhere));

    let path = format!("/api/v1/participants/{}", id_of(&on_roster));
    let seen = app.get(&path, Some(&trainer.access)).await;
    assert_eq!(seen.status, 200, "{:#}", seen.body);
    assert_eq!(seen.body["full_name"], "Lê Thị Có");
    assert_eq!(seen.body["category"], "student");
    assert_eq!(seen.body["organization_id"], school.as_str());
    for key in PERSONAL_KEYS {
        assert!(seen.body.get(key).is_none(), "{key} is hidden from trainers: {:#}", seen.body);
    }
    let listed = app.get("/api/v1/participants", Some(&trainer.access)).await;
    assert_eq!(item_field(&listed, "id"), [id_of(&on_roster).as_str()]);
    assert!(items(&listed)[0].get("phone").is_none());

    let elsewhere_path = format!("/api/v1/participants/{}", id_of(&elsewhere));
    app.get(&elsewhere_path, Some(&trainer.access)).await.assert_problem(404, "not_found");
    app.patch(&path, Some(&trainer.access), &json!({"full_name": "X"}))
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/v1/participants", Some(&trainer.access), &student("Mới", &school))
        .await
        .assert_problem(403, "forbidden");

    // A cancelled place takes the person off the roster.
    app.execute_sql("UPDATE enrolments SET status = 'cancelled'");
    app.get(&path, Some(&trainer.access)).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn names_are_found_whatever_the_case_and_diacritics() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let hamlet = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let huong = app.create_participant(&admin, student("Nguyễn Thị Hường", &school)).await;
    let huong_hamlet = app.create_participant(&admin, student("Hoàng Hương", &hamlet)).await;
    let duc = app.create_participant(&admin, student("Đặng Văn Đức", &school)).await;
    let (huong, huong_hamlet, duc) = (id_of(&huong), id_of(&huong_hamlet), id_of(&duc));

    let search = |q: &str| {
        let (app, admin) = (&app, &admin);
        let path = format!("/api/v1/participants?q={}", urlencode(q));
        async move {
            let reply = app.get(&path, Some(admin)).await;
            assert_eq!(reply.status, 200, "{:#}", reply.body);
            item_field(&reply, "id").into_iter().map(str::to_owned).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("nguyen thi huong").await, [huong.as_str()]);
    assert_eq!(search("HUONG").await, [huong.as_str(), huong_hamlet.as_str()]);
    assert_eq!(search("hường").await, [huong.as_str(), huong_hamlet.as_str()]);
    assert_eq!(search("Nguyễn").await, [huong.as_str()]);
    assert_eq!(search("dang duc").await, [duc.as_str()]);
    assert_eq!(search("đức").await, [duc.as_str()]);
    assert_eq!(search("ngu h").await, [huong.as_str()], "word starts match");
    assert!(search("uong").await.is_empty(), "the middle of a word does not match");
    assert!(search("huong duc").await.is_empty(), "every word must match");
    assert_eq!(search("").await.len(), 3, "an empty query filters nothing");

    // The search keeps to what the caller may see.
    let coordinator = app.coordinator_of(&admin, "c@example.vn", &hamlet).await.access;
    let reply = app.get("/api/v1/participants?q=huong", Some(&coordinator)).await;
    assert_eq!(item_field(&reply, "id"), [huong_hamlet.as_str()]);
    let reply = app
        .get(&format!("/api/v1/participants?q=huong&organization_id={school}"), Some(&admin))
        .await;
    assert_eq!(item_field(&reply, "id"), [huong.as_str()]);

    // A renamed profile is found by its new name only.
    let path = format!("/api/v1/participants/{duc}");
    assert_eq!(
        app.patch(&path, Some(&admin), &json!({"full_name": "Phạm Minh Đức"})).await.status,
        200
    );
    assert!(search("dang").await.is_empty());
    assert_eq!(search("pham").await, [duc]);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[actix_web::test]
async fn anonymising_erases_personal_data_and_keeps_what_statistics_need() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let account = app.register("parent@example.vn").await;
    let parent_token = app.login("parent@example.vn", PASSWORD).await.access;
    let parent_id = account["participant_id"].as_str().unwrap().to_owned();
    let child = app.create_participant(&parent_token, student("Vũ Thị Riêng Tư", &school)).await;
    let child_id = id_of(&child);
    let mut grandchild = student("Vũ Bé", &school);
    grandchild["guardian_id"] = child["id"].clone();
    let grandchild = app.create_participant(&admin, grandchild).await;

    let path = format!("/api/v1/participants/{child_id}/anonymize");
    let post = |token: &str| {
        let (app, path, token) = (&app, &path, token.to_owned());
        async move { app.request(actix_web::http::Method::POST, path, Some(&token), &[], None).await }
    };
    post(&parent_token).await.assert_problem(403, "forbidden");
    let reply = post(&admin).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let erased = &reply.body;
    assert_eq!(erased["full_name"], "");
    for key in ["birth_date", "phone", "email", "guardian_id", "user_id"] {
        assert_eq!(erased[key], Value::Null, "{key}");
    }
    assert_eq!(erased["category"], "student");
    assert_eq!(erased["organization_id"], school.as_str());
    assert_eq!(erased["gender"], "female");
    assert!(erased["anonymized_at"].is_string());

    // Links to and from the person are gone.
    let grandchild =
        app.get(&format!("/api/v1/participants/{}", id_of(&grandchild)), Some(&admin)).await;
    assert_eq!(grandchild.body["guardian_id"], Value::Null);
    let me = app.get("/api/v1/me", Some(&parent_token)).await;
    assert_eq!(me.body["dependants"], json!([]));
    assert_eq!(me.body["participant_id"], parent_id.as_str());
    assert!(
        app.get("/api/v1/participants?q=rieng", Some(&admin)).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Again: nothing changes. Changing it: refused.
    assert_eq!(post(&admin).await.body, reply.body);
    let profile = format!("/api/v1/participants/{child_id}");
    app.patch(&profile, Some(&admin), &json!({"full_name": "Back"}))
        .await
        .assert_problem(409, "participant_anonymized");

    // The audit trail never held the personal values.
    let events = app.get(&format!("/api/v1/audit-events?entity_id={child_id}"), Some(&admin)).await;
    let actions: Vec<&str> = item_field(&events, "action");
    assert_eq!(actions, ["create", "anonymize"]);
    let text = events.body.to_string();
    for secret in ["Riêng", "Rieng", "2011-05-04", "0912 345 678", parent_id.as_str()] {
        assert!(!text.contains(secret), "{secret} in the audit trail: {text}");
    }
}

#[actix_web::test]
async fn anonymising_a_participant_with_an_account_erases_the_account_too() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.register("rieng.tu@example.vn").await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let own = app.login("rieng.tu@example.vn", PASSWORD).await;
    let path =
        format!("/api/v1/participants/{}/anonymize", user["participant_id"].as_str().unwrap());
    let reply = app.request(actix_web::http::Method::POST, &path, Some(&admin), &[], None).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);

    let account = app.get(&format!("/api/v1/users/{user_id}"), Some(&admin)).await;
    assert_eq!(account.body["full_name"], "");
    assert_eq!(account.body["email"], format!("erased-{user_id}@lophoc.invalid"));
    assert_eq!(account.body["active"], false);
    assert_eq!(account.body["participant_id"], Value::Null);
    app.get("/api/v1/me", Some(&own.access)).await.assert_problem(401, "invalid_token");
    app.login_reply("rieng.tu@example.vn", PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
    let events = app
        .get(&format!("/api/v1/audit-events?entity_id={user_id}&action=anonymize"), Some(&admin))
        .await;
    assert_eq!(items(&events).len(), 1);
    assert!(!events.body.to_string().contains("rieng.tu"), "{:#}", events.body);

    // A staff account keeps its record; only the link goes.
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let profile = app
        .create_participant(
            &admin,
            json!({"full_name": "Giáo Viên", "category": "official",
            "user_id": trainer.user["id"]}),
        )
        .await;
    let path = format!("/api/v1/participants/{}/anonymize", id_of(&profile));
    assert_eq!(
        app.request(actix_web::http::Method::POST, &path, Some(&admin), &[], None).await.status,
        200
    );
    let staff = app
        .get(&format!("/api/v1/users/{}", trainer.user["id"].as_str().unwrap()), Some(&admin))
        .await;
    assert_eq!(staff.body["active"], true);
    assert_eq!(staff.body["email"], "gv@example.vn");
    assert_eq!(staff.body["participant_id"], Value::Null);
}

#[actix_web::test]
async fn guardians_stay_within_reach_and_never_loop() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let hamlet = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let coordinator = app.coordinator_of(&admin, "c@example.vn", &school).await.access;
    let trainer = app.user_with_role(&admin, "t@example.vn", "trainer").await.access;
    let far_parent = app
        .create_participant(
            &admin,
            json!({"full_name": "Phụ Huynh Xa", "category": "parent", "organization_id": hamlet}),
        )
        .await;
    let near_parent = app
        .create_participant(
            &coordinator,
            json!({"full_name": "Phụ Huynh Gần", "category": "parent"}),
        )
        .await;

    // A coordinator names only guardians they can see; others are unknown.
    let mut child = student("Học Sinh", &school);
    child["guardian_id"] = far_parent["id"].clone();
    let reply = app.post("/api/v1/participants", Some(&coordinator), &child).await;
    assert_eq!(reply.error_fields(), ["guardian_id"]);
    child["guardian_id"] = near_parent["id"].clone();
    let child = app.create_participant(&coordinator, child).await;
    let path = format!("/api/v1/participants/{}", id_of(&child));
    let reply =
        app.patch(&path, Some(&coordinator), &json!({"guardian_id": far_parent["id"]})).await;
    assert_eq!(reply.error_fields(), ["guardian_id"]);

    // No loop, however long: A → B → C → A is refused.
    let a = app.create_participant(&admin, json!({"full_name": "A", "category": "other"})).await;
    let mut b = json!({"full_name": "B", "category": "other", "guardian_id": a["id"]});
    b = app.create_participant(&admin, b).await;
    let c = app
        .create_participant(
            &admin,
            json!({"full_name": "C", "category": "other", "guardian_id": b["id"]}),
        )
        .await;
    let a_path = format!("/api/v1/participants/{}", id_of(&a));
    let reply = app.patch(&a_path, Some(&admin), &json!({"guardian_id": c["id"]})).await;
    assert_eq!(reply.error_fields(), ["guardian_id"]);
    assert_eq!(app.get(&a_path, Some(&admin)).await.body["guardian_id"], Value::Null);

    // Who is whose guardian is not a trainer's business.
    let filter = format!("/api/v1/participants?guardian_id={}", id_of(&near_parent));
    app.get(&filter, Some(&trainer)).await.assert_problem(403, "forbidden");
}

/// An edit that read the profile before an anonymisation committed must not
/// write the personal data back after it.
#[actix_web::test]
async fn concurrent_edits_never_undo_an_anonymisation() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let profile = app
        .create_participant(
            &admin,
            json!({"full_name": "Đào Thị Bí Mật", "category": "worker", "phone": "0900"}),
        )
        .await;
    let path = format!("/api/v1/participants/{}", id_of(&profile));
    let anonymize = format!("{path}/anonymize");
    let edits = (0..20).map(|i| {
        let body = json!({"full_name": format!("Đào Thị Bí Mật {i}"), "phone": "0911"});
        let (app, admin, path) = (&app, &admin, &path);
        async move { app.patch(path, Some(admin), &body).await.status.as_u16() }
    });
    let erase = async {
        app.request(actix_web::http::Method::POST, &anonymize, Some(&admin), &[], None).await.status
    };
    let (statuses, erased) =
        futures_util::future::join(futures_util::future::join_all(edits), erase).await;
    assert_eq!(erased, 200);
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let after = app.get(&path, Some(&admin)).await.body;
    assert_eq!(after["full_name"], "");
    assert_eq!(after["phone"], Value::Null);
    assert!(after["anonymized_at"].is_string());
}

/// A school with its coordinator and a pupil, and a hamlet with a villager.
struct TwoUnits {
    admin: String,
    school: String,
    hamlet: String,
    coordinator: Tokens,
    pupil: String,
    villager: String,
}

async fn two_units(app: &TestApp) -> TwoUnits {
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS").await;
    let hamlet = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let coordinator = app.coordinator_of(&admin, "gv@example.vn", &school).await;
    let pupil = id_of(&app.create_participant(&admin, student("Hà Thị Trong", &school)).await);
    let villager = id_of(&app.create_participant(&admin, student("Hà Văn Ngoài", &hamlet)).await);
    TwoUnits { admin, school, hamlet, coordinator, pupil, villager }
}

#[actix_web::test]
async fn the_list_follows_a_change_of_role_or_unit_at_once() {
    let app = spawn_app().await;
    let TwoUnits { admin, hamlet, coordinator: tokens, pupil, villager, .. } =
        two_units(&app).await;
    let listed = |reply: &Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        item_field(reply, "id").into_iter().map(str::to_owned).collect()
    };
    let list = |token: String| {
        let app = &app;
        async move { app.get("/api/v1/participants", Some(&token)).await }
    };
    // The coordinator's own unit.
    assert_eq!(listed(&list(tokens.access.clone()).await), [pupil.as_str()]);

    // The token was issued for the school: moved to the hamlet, the same
    // token lists the hamlet's people, not the school's.
    let user = format!("/api/v1/users/{}", tokens.user["id"].as_str().unwrap());
    let moved = app.patch(&user, Some(&admin), &json!({"organization_id": hamlet})).await;
    assert_eq!(moved.status, 200, "{:#}", moved.body);
    assert_eq!(listed(&list(tokens.access.clone()).await), [villager]);

    // Now a trainer, with no sessions: nobody, and no guardians.
    let demoted = app.patch(&user, Some(&admin), &json!({"role": "trainer"})).await;
    assert_eq!(demoted.status, 200, "{:#}", demoted.body);
    assert!(listed(&list(tokens.access.clone()).await).is_empty());
    let by_guardian = format!("/api/v1/participants?guardian_id={pupil}");
    app.get(&by_guardian, Some(&tokens.access)).await.assert_problem(403, "forbidden");

    // Deactivated: the token is refused.
    app.patch(&user, Some(&admin), &json!({"active": false})).await;
    list(tokens.access.clone()).await.assert_problem(401, "invalid_token");

    // A second admin made a trainer keeps no unit: the role alone changed.
    let second = app.user_with_role(&admin, "admin2@example.vn", "admin").await;
    assert_eq!(listed(&list(second.access.clone()).await).len(), 2, "everyone");
    let user = format!("/api/v1/users/{}", second.user["id"].as_str().unwrap());
    let demoted = app.patch(&user, Some(&admin), &json!({"role": "trainer"})).await;
    assert_eq!(demoted.status, 200, "{:#}", demoted.body);
    assert!(listed(&list(second.access.clone()).await).is_empty());
}

#[actix_web::test]
async fn tokens_without_a_role_list_by_the_account() {
    let app = spawn_app().await;
    let TwoUnits { school, coordinator: tokens, pupil, .. } = two_units(&app).await;

    // A token as lophoc issued them before they carried the role and unit.
    let claims = claims(&tokens.access);
    assert_eq!(claims["role"], "coordinator");
    assert_eq!(claims["unit"], school.as_str());
    let older = json!({"sub": claims["sub"], "sid": claims["sid"], "iat": claims["iat"],
        "exp": claims["exp"]});
    let older = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &older,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    let reply = app.get("/api/v1/participants", Some(&older)).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(item_field(&reply, "id"), [pupil.as_str()]);
}

/// The claims of an access token.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let payload =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// The user and login session an access token names.
fn claims_of(token: &str) -> (Id, Id) {
    let claims = claims(token);
    let id = |key: &str| claims[key].as_str().unwrap().parse::<Id>().unwrap();
    (id("sub"), id("sid"))
}

#[actix_web::test]
async fn the_one_statement_list_holds_only_while_the_role_unit_and_login_do() {
    let app = spawn_app().await;
    let TwoUnits { admin, school, hamlet, coordinator, .. } = two_units(&app).await;
    let second = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let db = Db::connect(&DatabaseUrl::parse(&app.db().url()), 1).unwrap();
    let found = |scope: ParticipantScope, token: &str, role: Role, unit: Option<&String>| {
        let (user, login) = claims_of(token);
        let unit = unit.map(|unit| unit.parse::<Id>().unwrap());
        let caller = holds_live_session_as(login, user, role, unit);
        let page = PageRequest::first(50);
        let filter = ParticipantFilter::default();
        let mut conn = db.get().unwrap();
        model::list(&mut conn, &scope, &filter, &page, Some(caller)).unwrap().len()
    };
    let unit = |unit: &String| ParticipantScope::Unit(unit.parse().unwrap());

    // Held: an admin without a unit, a coordinator in theirs.
    assert_eq!(found(ParticipantScope::All, &admin, Role::Admin, None), 2);
    assert_eq!(found(unit(&school), &coordinator.access, Role::Coordinator, Some(&school)), 1);
    // Not held: another role, another unit, a unit where there is none,
    // none where there is one.
    assert_eq!(found(ParticipantScope::All, &admin, Role::Coordinator, None), 0);
    assert_eq!(found(ParticipantScope::All, &admin, Role::Admin, Some(&school)), 0);
    assert_eq!(found(unit(&school), &coordinator.access, Role::Coordinator, Some(&hamlet)), 0);
    assert_eq!(found(unit(&school), &coordinator.access, Role::Coordinator, None), 0);
    // Nor a login that ended, nor an account deactivated.
    assert_eq!(found(ParticipantScope::All, &second.access, Role::Admin, None), 2);
    app.post("/api/v1/auth/logout", None, &json!({"refresh_token": second.refresh})).await;
    assert_eq!(found(ParticipantScope::All, &second.access, Role::Admin, None), 0);
    let user = format!("/api/v1/users/{}", coordinator.user["id"].as_str().unwrap());
    let deactivated = app.patch(&user, Some(&admin), &json!({"active": false})).await;
    assert_eq!(deactivated.status, 200, "{:#}", deactivated.body);
    assert_eq!(found(unit(&school), &coordinator.access, Role::Coordinator, Some(&school)), 0);
}

#[actix_web::test]
async fn a_trainer_never_filters_by_guardian_even_on_their_own_rosters() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "trainer@example.vn", "trainer").await;
    let trainer_id = trainer.user["id"].as_str().unwrap().to_owned();
    let course = app.create_course(&admin, None).await;
    let session = id_of(&app.create_session(&admin, &course, 3, &[&trainer_id]).await);
    let parent = app
        .create_participant(
            &admin,
            json!({"full_name": "Lò Văn Bố",
        "category": "parent"}),
        )
        .await;
    let child = app
        .create_participant(
            &admin,
            json!({"full_name": "Lò Thị Con", "category": "student",
            "birth_date": "2013-02-03", "guardian_id": id_of(&parent)}),
        )
        .await;
    app.enrol_directly(&session, &id_of(&child));
    // The child is on the trainer's roster, so the list shows them …
    let listed = app.get("/api/v1/participants", Some(&trainer.access)).await;
    assert_eq!(item_field(&listed, "id"), [id_of(&child).as_str()]);
    // … but not who their guardian is.
    let by_guardian = format!("/api/v1/participants?guardian_id={}", id_of(&parent));
    app.get(&by_guardian, Some(&trainer.access)).await.assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn names_that_would_show_otherwise_than_they_read_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for name in ["\u{200B}\u{200B}", "123", "\u{202E}evil\u{202C} txt.exe", "Lan\u{2066}"] {
        let body = json!({"full_name": name, "category": "learner"});
        let reply = app.post("/api/v1/participants", Some(&admin), &body).await;
        reply.assert_problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), ["full_name"], "{name:?}");
    }
    // Changed later, or given to an account, the rule is the same.
    let lan =
        app.create_participant(&admin, json!({"full_name": "Lan", "category": "learner"})).await;
    let path = format!("/api/v1/participants/{}", id_of(&lan));
    let renamed = app.patch(&path, Some(&admin), &json!({"full_name": "123"})).await;
    assert_eq!(renamed.error_fields(), ["full_name"]);
    let account = json!({"email": "gv@example.vn", "password": PASSWORD, "full_name": "\u{3164}",
        "role": "trainer"});
    assert_eq!(
        app.post("/api/v1/users", Some(&admin), &account).await.error_fields(),
        ["full_name"]
    );
    // A phone number copied with direction marks around it is kept, without them.
    let marked = json!({"phone": "\u{202A}0912 345 678\u{202C}"});
    let reply = app.patch(&path, Some(&admin), &marked).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["phone"], "0912 345 678");
    let register = json!({"email": "lan@example.vn", "password": PASSWORD,
        "full_name": "\u{202E}naL", "category": "learner"});
    let reply = app.post("/api/v1/auth/register", None, &register).await;
    assert_eq!(reply.error_fields(), ["full_name"]);
    // Titles and places people read too.
    let course = json!({"title": "Tìm kiếm \u{202E}an toàn", "duration_minutes": 90,
        "topics": ["Tìm kiếm"], "target_categories": ["learner"]});
    let reply = app.post("/api/v1/courses", Some(&admin), &course).await;
    assert_eq!(reply.error_fields(), ["title"]);

    let listed = app.get("/api/v1/participants", Some(&admin)).await;
    assert_eq!(item_field(&listed, "full_name"), ["Lan"], "nothing else stored");
    let tokens = app.login_reply("lan@example.vn", PASSWORD).await;
    assert_eq!(tokens.status, 401, "no account either");
}

#[actix_web::test]
async fn a_participant_adds_a_few_children_and_no_one_else() {
    let app = spawn_app_with(|config| config.max_dependants = 3).await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS Giới Hạn").await;
    let parent_user = app.register("bo@example.vn").await;
    let parent = app.login("bo@example.vn", PASSWORD).await.access;
    let own_profile = parent_user["participant_id"].as_str().unwrap().to_owned();
    let path = "/api/v1/participants";

    // A dependant is a child: with a birth date, under 18 today.
    let adult =
        json!({"full_name": "Người Lớn Giả", "category": "learner", "birth_date": "1990-01-01"});
    let undated = json!({"full_name": "Không Rõ Tuổi", "category": "learner"});
    for body in [adult, undated] {
        let reply = app.post(path, Some(&parent), &body).await;
        reply.assert_problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), ["birth_date"]);
    }
    let today = chrono::Utc::now().date_naive();
    let seventeen =
        today.with_year(today.year() - 17).unwrap_or(today - chrono::Days::new(17 * 366));
    let nearly_adult = json!({"full_name": "Sắp Lớn", "category": "learner",
        "birth_date": seventeen.to_string()});
    assert_eq!(app.post(path, Some(&parent), &nearly_adult).await.status, 201);

    // Four more at once, with room for two: the limit holds under races.
    let adds = futures_util::future::join_all((0..4).map(|n| {
        let body = student(&format!("Con Thứ {n}"), &school);
        let parent = parent.clone();
        let app = &app;
        async move { app.post(path, Some(&parent), &body).await }
    }))
    .await;
    let created = adds.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 2, "three dependants in all");
    for refused in adds.iter().filter(|r| r.status != 201) {
        refused.assert_problem(409, "too_many_dependants");
    }

    // A coordinator's or admin's entry is not the participant's own.
    let mut fourth = student("Con Do Trường Nhập", &school);
    fourth["guardian_id"] = json!(own_profile);
    assert_eq!(app.post(path, Some(&admin), &fourth).await.status, 201);
    app.post(path, Some(&parent), &student("Con Thêm Nữa", &school))
        .await
        .assert_problem(409, "too_many_dependants");
}

#[actix_web::test]
async fn who_may_take_a_session_is_not_the_participants_to_change_once_they_have_a_place() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS Đủ Điều Kiện").await;
    let other = app.create_organization(&admin, "Trường THCS Khác").await;
    let parent_user = app.register("me2@example.vn").await;
    let parent = app.login("me2@example.vn", PASSWORD).await.access;
    let own = parent_user["participant_id"].as_str().unwrap().to_owned();
    let child = app.create_participant(&parent, student("Con Có Chỗ", &school)).await;
    let own_path = format!("/api/v1/participants/{own}");
    let child_path = format!("/api/v1/participants/{}", id_of(&child));

    // Before any place, their own details are theirs to correct; a
    // dependant stays a child.
    let relabel = json!({"category": "learner"});
    assert_eq!(app.patch(&child_path, Some(&parent), &relabel).await.status, 200);
    assert_eq!(
        app.patch(&child_path, Some(&parent), &json!({"category": "student"})).await.status,
        200
    );
    let grown = app.patch(&child_path, Some(&parent), &json!({"birth_date": "1990-01-01"})).await;
    grown.assert_problem(422, "validation_failed");
    assert_eq!(grown.error_fields(), ["birth_date"]);

    let session = app.open_session(&admin, 3, 8, 10, false).await;
    for person in [own.as_str(), &id_of(&child)] {
        assert_eq!(app.enrol(&parent, &session, person).await.status, 201);
    }
    for (path, change) in [
        (&own_path, json!({"organization_id": other})),
        (&own_path, json!({"category": "official"})),
        (&own_path, json!({"birth_date": "1980-02-02"})),
        (&child_path, json!({"category": "learner"})),
        (&child_path, json!({"birth_date": null})),
    ] {
        app.patch(path, Some(&parent), &change).await.assert_problem(403, "forbidden");
    }
    // Their phone stays theirs to change, and sending a field unchanged is
    // no change; a coordinator of the unit corrects the rest.
    let same = json!({"phone": "0987 654 321", "category": "student"});
    assert_eq!(app.patch(&child_path, Some(&parent), &same).await.status, 200);
    let coordinator = app.coordinator_of(&admin, "dp@example.vn", &school).await.access;
    let fixed =
        app.patch(&child_path, Some(&coordinator), &json!({"birth_date": "2012-06-01"})).await;
    assert_eq!(fixed.status, 200, "{:#}", fixed.body);
    assert_eq!(fixed.body["birth_date"], "2012-06-01");
}
