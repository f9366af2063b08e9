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
