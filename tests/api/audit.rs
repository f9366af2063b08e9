//! The audit trail: every write records who, when, what and what changed.

use serde_json::{Value, json};

use crate::helpers::*;

fn events(reply: &Reply) -> Vec<(String, String, String)> {
    items(reply)
        .iter()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or("").to_owned();
            (text("action"), text("entity_type"), text("entity_id"))
        })
        .collect()
}

#[actix_web::test]
async fn every_write_is_recorded_with_its_actor_and_changes() {
    let app = spawn_app().await;
    let admin_tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = admin_tokens.access.clone();
    let admin_id = admin_tokens.user["id"].as_str().unwrap().to_owned();
    let unit = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let programme = app.create_programme(&admin).await;
    let course = app.create_course(&admin, Some(&programme)).await;
    let session = app.create_session(&admin, &course, 3, &[]).await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/sessions/{session_id}");
    assert_eq!(
        app.patch(&path, Some(&admin), &json!({"capacity": 12, "venue": "Nhà văn hoá"}))
            .await
            .status,
        200
    );
    // A change that changes nothing, and a refused one, leave no event; the
    // first is not even a write.
    let before = app.get(&path, Some(&admin)).await.body;
    let same = app.patch(&path, Some(&admin), &json!({"capacity": 12})).await;
    assert_eq!(same.body, before);
    assert_eq!(app.patch(&path, Some(&admin), &json!({"capacity": 0})).await.status, 422);

    let reply = app.get(&format!("/api/v1/audit-events?actor_id={admin_id}"), Some(&admin)).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let recorded = events(&reply);
    let expected = [
        ("login", "user", admin_id.as_str()),
        ("create", "organization", unit.as_str()),
        ("create", "programme", programme.as_str()),
        ("create", "course", course.as_str()),
        ("create", "session", session_id.as_str()),
        ("update", "session", session_id.as_str()),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(a, t, i)| (a.to_string(), t.to_string(), i.to_string())).collect();
    assert_eq!(recorded, expected);
    for event in items(&reply) {
        assert_eq!(event["actor_id"], admin_id.as_str());
        assert!(event["occurred_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    let update = &items(&reply)[5];
    assert_eq!(
        update["changes"],
        json!([
            {"field": "capacity", "from": 30, "to": 12, "redacted": false},
            {"field": "venue", "from": "Nhà văn hoá xóm Đồng Tâm", "to": "Nhà văn hoá", "redacted": false},
        ])
    );

    // Filters: entity, action, time.
    let by_entity = app
        .get(
            &format!("/api/v1/audit-events?entity_type=session&entity_id={session_id}"),
            Some(&admin),
        )
        .await;
    assert_eq!(item_field(&by_entity, "action"), ["create", "update"]);
    let creates =
        app.get("/api/v1/audit-events?action=create&entity_type=course", Some(&admin)).await;
    assert_eq!(item_field(&creates, "entity_id"), [course.as_str()]);
    let future = app.get("/api/v1/audit-events?from=2099-01-01T00:00:00Z", Some(&admin)).await;
    assert!(items(&future).is_empty());
    let past = app.get("/api/v1/audit-events?to=2001-01-01T00:00:00Z", Some(&admin)).await;
    assert!(items(&past).is_empty());
    let all =
        app.get("/api/v1/audit-events?from=2020-01-01T00:00:00Z&limit=200", Some(&admin)).await;
    assert!(items(&all).len() >= expected.len());
    app.get("/api/v1/audit-events?entity_type=lesson", Some(&admin))
        .await
        .assert_problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn accounts_and_profiles_are_recorded_without_personal_values() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.register("lan@example.vn").await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let profile_id = user["participant_id"].as_str().unwrap().to_owned();
    let tokens = app.login("lan@example.vn", PASSWORD).await;
    let profile = format!("/api/v1/participants/{profile_id}");
    let change = json!({"phone": "0912000111", "gender": "female"});
    assert_eq!(app.patch(&profile, Some(&tokens.access), &change).await.status, 200);
    let new_password = json!({"current_password": PASSWORD, "new_password": "mat-khau-moi-2"});
    assert_eq!(
        app.post("/api/v1/me/password", Some(&tokens.access), &new_password).await.status,
        204
    );
    let reset = json!({"password": "mat-khau-moi-3", "role": "trainer"});
    assert_eq!(
        app.patch(&format!("/api/v1/users/{user_id}"), Some(&admin), &reset).await.status,
        200
    );

    let reply = app.get(&format!("/api/v1/audit-events?entity_id={user_id}"), Some(&admin)).await;
    assert_eq!(item_field(&reply, "action"), ["create", "login", "change_password", "update"]);
    let update = &items(&reply)[3];
    assert_eq!(
        update["changes"],
        json!([
            {"field": "role", "from": "participant", "to": "trainer", "redacted": false},
            {"field": "password", "from": null, "to": null, "redacted": true},
        ])
    );
    let reply =
        app.get(&format!("/api/v1/audit-events?entity_id={profile_id}"), Some(&admin)).await;
    let profile_events = items(&reply);
    assert_eq!(item_field(&reply, "action"), ["create", "update"]);
    assert_eq!(
        profile_events[0]["actor_id"],
        user_id.as_str(),
        "self sign-up is the user's own act"
    );
    let changes = &profile_events[1]["changes"];
    assert_eq!(
        *changes,
        json!([
            {"field": "gender", "from": "unspecified", "to": "female", "redacted": false},
            {"field": "phone", "from": null, "to": null, "redacted": true},
        ])
    );
    let everything = app.get("/api/v1/audit-events?limit=200", Some(&admin)).await.body.to_string();
    for secret in ["lan@example.vn", "Nguyễn Văn An", "0912000111", "mat-khau"] {
        assert!(!everything.contains(secret), "{secret} in the audit trail");
    }
}

#[actix_web::test]
async fn only_admins_read_the_audit_trail() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for role in ["coordinator", "trainer", "participant"] {
        let token = app.user_with_role(&admin, &format!("{role}@example.vn"), role).await.access;
        app.get("/api/v1/audit-events", Some(&token)).await.assert_problem(403, "forbidden");
    }
    app.get("/api/v1/audit-events", None).await.assert_problem(401, "missing_token");
    let first_admin = app.get("/api/v1/audit-events?limit=1", Some(&admin)).await;
    let event = &items(&first_admin)[0];
    assert_eq!(event["action"], "create");
    assert_eq!(event["entity_type"], "user");
    assert_eq!(event["actor_id"], Value::Null, "the first admin is created by lophoc itself");
}
