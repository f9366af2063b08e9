use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn admins_create_units_that_anyone_can_read() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = json!({"kind": "school", "name": "Trường THCS Trung Hội", "code": "THCS-TH"});
    let reply = app.post("/api/v1/organizations", Some(&admin), &school).await;
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_eq!(reply.body["kind"], "school");
    assert_eq!(reply.body["code"], "THCS-TH");
    let id = reply.body["id"].as_str().unwrap().to_owned();

    let hamlet = json!({"kind": "hamlet", "name": "Xóm Đồng Tâm", "parent_id": id});
    assert_eq!(app.post("/api/v1/organizations", Some(&admin), &hamlet).await.status, 201);

    let fetched = app.get(&format!("/api/v1/organizations/{id}"), None).await;
    assert_eq!(fetched.body, reply.body);
    let all = app.get("/api/v1/organizations", None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let schools = app.get("/api/v1/organizations?kind=school", None).await;
    assert_eq!(schools.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn unit_rules_are_enforced() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let participant = app.user_with_role(&admin, "p@example.vn", "participant").await.access;
    let body = json!({"kind": "agency", "name": "UBND xã", "code": "UB"});
    app.post("/api/v1/organizations", Some(&participant), &body)
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/v1/organizations", None, &body).await.assert_problem(401, "missing_token");
    assert_eq!(app.post("/api/v1/organizations", Some(&admin), &body).await.status, 201);
    let same_code = json!({"kind": "agency", "name": "Other", "code": "UB"});
    app.post("/api/v1/organizations", Some(&admin), &same_code)
        .await
        .assert_problem(409, "code_taken");
    let orphan = json!({"kind": "hamlet", "name": "Xóm", "parent_id": uuid::Uuid::now_v7()});
    let reply = app.post("/api/v1/organizations", Some(&admin), &orphan).await;
    assert_eq!(reply.error_fields(), ["parent_id"]);
    let blank = json!({"kind": "hamlet", "name": " "});
    assert_eq!(
        app.post("/api/v1/organizations", Some(&admin), &blank).await.error_fields(),
        ["name"]
    );
    let unknown = app.get(&format!("/api/v1/organizations/{}", uuid::Uuid::now_v7()), None).await;
    unknown.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn admins_change_units_without_loops_or_shared_codes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let commune = app.create_organization(&admin, "Xã Trung Hội").await;
    let hamlet = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let path = format!("/api/v1/organizations/{hamlet}");
    let change = json!({"parent_id": commune, "code": "XDT", "name": "Xóm Đồng Tâm 2"});
    let reply = app.patch(&path, Some(&admin), &change).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.body["parent_id"], commune.as_str());
    assert_eq!(reply.body["code"], "XDT");
    assert_eq!(reply.body["name"], "Xóm Đồng Tâm 2");
    let children = app.get(&format!("/api/v1/organizations?parent_id={commune}"), None).await;
    assert_eq!(item_field(&children, "id"), [hamlet.as_str()]);

    // Keeping its own code is fine; taking another unit's is not.
    assert_eq!(app.patch(&path, Some(&admin), &json!({"code": "XDT"})).await.status, 200);
    let commune_path = format!("/api/v1/organizations/{commune}");
    app.patch(&commune_path, Some(&admin), &json!({"code": "XDT"}))
        .await
        .assert_problem(409, "code_taken");
    // A unit cannot sit under itself or under its own sub-unit.
    let reply = app.patch(&path, Some(&admin), &json!({"parent_id": hamlet})).await;
    assert_eq!(reply.error_fields(), ["parent_id"]);
    let reply = app.patch(&commune_path, Some(&admin), &json!({"parent_id": hamlet})).await;
    assert_eq!(reply.error_fields(), ["parent_id"]);
    assert_eq!(app.get(&commune_path, None).await.body["parent_id"], serde_json::Value::Null);

    let cleared = app.patch(&path, Some(&admin), &json!({"parent_id": null, "code": null})).await;
    assert_eq!(cleared.body["parent_id"], serde_json::Value::Null);
    assert_eq!(cleared.body["code"], serde_json::Value::Null);
    let coordinator = app.coordinator_of(&admin, "c@example.vn", &hamlet).await.access;
    app.patch(&path, Some(&coordinator), &json!({"name": "X"}))
        .await
        .assert_problem(403, "forbidden");
    let missing = format!("/api/v1/organizations/{}", uuid::Uuid::now_v7());
    app.patch(&missing, Some(&admin), &json!({"name": "X"})).await.assert_problem(404, "not_found");
}
