use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn admins_create_accounts_of_any_role() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unit = app.create_organization(&admin, "Xóm Na Mao").await;

    let coordinator = json!({"email": "coord@example.vn", "password": PASSWORD, "full_name": "Hoàng Văn Bình", "role": "coordinator", "organization_id": unit});
    let reply = app.post("/api/v1/users", Some(&admin), &coordinator).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["role"], "coordinator");
    assert_eq!(reply.body["organization_id"], unit.as_str());
    assert!(reply.body["participant_id"].is_null());

    let participant = json!({"email": "worker@example.vn", "password": PASSWORD, "full_name": "Ma Thị Hạnh", "role": "participant", "category": "worker"});
    let reply = app.post("/api/v1/users", Some(&admin), &participant).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert!(reply.body["participant_id"].is_string());

    for role in ["admin", "trainer"] {
        let body = json!({"email": format!("{role}2@example.vn"), "password": PASSWORD, "full_name": "X", "role": role});
        let reply = app.post("/api/v1/users", Some(&admin), &body).await;
        assert_eq!(reply.status, 201);
        assert_eq!(reply.body["role"], role);
    }
    let fetched = app
        .get(&format!("/api/v1/users/{}", reply.body["id"].as_str().unwrap()), Some(&admin))
        .await;
    assert_eq!(fetched.body, reply.body);
}

#[actix_web::test]
async fn account_rules_are_checked_on_create() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unit = app.create_organization(&admin, "Trường THCS").await;
    let cases = [
        (json!({"role": "coordinator"}), "organization_id"),
        (
            json!({"role": "coordinator", "organization_id": uuid::Uuid::now_v7()}),
            "organization_id",
        ),
        (json!({"role": "trainer", "organization_id": unit}), "organization_id"),
        (json!({"role": "participant"}), "category"),
    ];
    for (extra, field) in cases {
        let mut body = json!({"email": "new@example.vn", "password": PASSWORD, "full_name": "X"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let reply = app.post("/api/v1/users", Some(&admin), &body).await;
        reply.assert_problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
    let taken = json!({"email": ADMIN_EMAIL.to_uppercase(), "password": PASSWORD, "full_name": "X", "role": "trainer"});
    app.post("/api/v1/users", Some(&admin), &taken).await.assert_problem(409, "email_taken");
    let list = app.get("/api/v1/users", Some(&admin)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "refused creates left rows behind");
}

#[actix_web::test]
async fn only_admins_manage_users() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id =
        app.get("/api/v1/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    for role in ["coordinator", "trainer", "participant"] {
        let caller = app.user_with_role(&admin, &format!("{role}@example.vn"), role).await.access;
        let create = json!({"email": "x@example.vn", "password": PASSWORD, "full_name": "X", "role": "admin"});
        app.post("/api/v1/users", Some(&caller), &create).await.assert_problem(403, "forbidden");
        app.get("/api/v1/users", Some(&caller)).await.assert_problem(403, "forbidden");
        app.get(&format!("/api/v1/users/{admin_id}"), Some(&caller))
            .await
            .assert_problem(403, "forbidden");
        let own_id =
            app.get("/api/v1/me", Some(&caller)).await.body["id"].as_str().unwrap().to_owned();
        let promote = app
            .patch(&format!("/api/v1/users/{own_id}"), Some(&caller), &json!({"role": "admin"}))
            .await;
        promote.assert_problem(403, "forbidden");
        assert_eq!(app.get("/api/v1/me", Some(&caller)).await.body["role"], role);
    }
    app.get("/api/v1/users", None).await.assert_problem(401, "missing_token");
}

#[actix_web::test]
async fn users_are_listed_in_pages_with_filters() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for i in 0..4 {
        app.register(&format!("learner{i}@example.vn")).await;
    }
    let first = app.get("/api/v1/users?limit=2", Some(&admin)).await;
    assert_eq!(first.status, 200);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["email"], ADMIN_EMAIL, "oldest first");

    let mut seen: Vec<String> =
        items.iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    while let Some(next) = cursor {
        let page = app.get(&format!("/api/v1/users?limit=2&cursor={next}"), Some(&admin)).await;
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "pages overlap or are out of order");

    let participants = app.get("/api/v1/users?role=participant", Some(&admin)).await;
    assert_eq!(participants.body["items"].as_array().unwrap().len(), 4);
    assert!(participants.body["next_cursor"].is_null());
    let inactive = app.get("/api/v1/users?active=false", Some(&admin)).await;
    assert_eq!(inactive.body["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn unknown_users_are_404() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let id = uuid::Uuid::now_v7();
    app.get(&format!("/api/v1/users/{id}"), Some(&admin)).await.assert_problem(404, "not_found");
    app.patch(&format!("/api/v1/users/{id}"), Some(&admin), &json!({"active": false}))
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn roles_change_with_the_unit_rule_kept() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unit = app.create_organization(&admin, "Hội Khuyến học").await;
    let user = app.register("teacher@example.vn").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());

    let reply = app.patch(&path, Some(&admin), &json!({"role": "coordinator"})).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["organization_id"]);

    let reply = app
        .patch(
            &path,
            Some(&admin),
            &json!({"role": "coordinator", "organization_id": unit, "full_name": "Cô Mai"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(
        (reply.body["role"].as_str(), reply.body["organization_id"].as_str()),
        (Some("coordinator"), Some(unit.as_str()))
    );
    assert_eq!(reply.body["full_name"], "Cô Mai");
    assert_eq!(reply.body["participant_id"], user["participant_id"]);

    let reply = app.patch(&path, Some(&admin), &json!({"organization_id": null})).await;
    assert_eq!(reply.error_fields(), ["organization_id"]);

    // Leaving the coordinator role leaves the unit too.
    let reply = app.patch(&path, Some(&admin), &json!({"role": "trainer"})).await;
    assert_eq!(reply.body["role"], "trainer");
    assert!(reply.body["organization_id"].is_null());
    let reply = app.patch(&path, Some(&admin), &json!({"organization_id": unit})).await;
    assert_eq!(reply.error_fields(), ["organization_id"]);
}

#[actix_web::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{me}");
    app.patch(&path, Some(&admin), &json!({"role": "trainer"}))
        .await
        .assert_problem(409, "last_admin");
    app.patch(&path, Some(&admin), &json!({"active": false}))
        .await
        .assert_problem(409, "last_admin");
    assert_eq!(app.get("/api/v1/me", Some(&admin)).await.body["role"], "admin");

    let second = app.user_with_role(&admin, "admin2@example.vn", "admin").await;
    let reply = app.patch(&path, Some(&second.access), &json!({"role": "trainer"})).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let second_path = format!("/api/v1/users/{}", second.user["id"].as_str().unwrap());
    app.patch(&second_path, Some(&second.access), &json!({"active": false}))
        .await
        .assert_problem(409, "last_admin");
}

#[actix_web::test]
async fn an_admin_password_reset_ends_the_users_sessions() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "reset@example.vn", "trainer").await;
    let path = format!("/api/v1/users/{}", trainer.user["id"].as_str().unwrap());
    let short = app.patch(&path, Some(&admin), &json!({"password": "short"})).await;
    assert_eq!(short.error_fields(), ["password"]);
    let reply = app.patch(&path, Some(&admin), &json!({"password": "freshly-reset"})).await;
    assert_eq!(reply.status, 200);
    app.get("/api/v1/me", Some(&trainer.access)).await.assert_problem(401, "invalid_token");
    app.login_reply("reset@example.vn", PASSWORD).await.assert_problem(401, "invalid_credentials");
    app.login("reset@example.vn", "freshly-reset").await;
}

#[actix_web::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second = app.user_with_role(&first.access, "admin2@example.vn", "admin").await;
    let demote = json!({"role": "trainer"});
    let first_path = format!("/api/v1/users/{}", first.user["id"].as_str().unwrap());
    let second_path = format!("/api/v1/users/{}", second.user["id"].as_str().unwrap());
    let replies = futures_util::future::join_all([
        app.patch(&second_path, Some(&first.access), &demote),
        app.patch(&first_path, Some(&second.access), &demote),
    ])
    .await;
    let mut statuses = [replies[0].status.as_u16(), replies[1].status.as_u16()];
    statuses.sort();
    // Whichever ran second found itself without admin rights (403) or was
    // the last admin (409); never may both succeed.
    assert!(statuses == [200, 403] || statuses == [200, 409], "{statuses:?}");
    let admins = app.get("/api/v1/users?role=admin&active=true", Some(&first.access)).await;
    let remaining = if admins.status == 200 {
        admins
    } else {
        app.get("/api/v1/users?role=admin&active=true", Some(&second.access)).await
    };
    assert_eq!(remaining.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_participant_account_may_belong_to_a_unit_but_a_trainer_not() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unit = app.create_organization(&admin, "Xóm Làng Mới").await;
    let participant = json!({"email": "p@example.vn", "password": PASSWORD, "full_name": "X", "role": "participant", "category": "student", "birth_date": "2012-05-01", "organization_id": unit});
    let reply = app.post("/api/v1/users", Some(&admin), &participant).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert!(
        reply.body["organization_id"].is_null(),
        "the unit is the profile's, not the account's"
    );
    let student_without_birth_date = json!({"email": "q@example.vn", "password": PASSWORD, "full_name": "X", "role": "participant", "category": "student"});
    let reply = app.post("/api/v1/users", Some(&admin), &student_without_birth_date).await;
    assert_eq!(reply.error_fields(), ["birth_date"]);
}
