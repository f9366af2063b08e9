//! A guardian's consent to processing a child's data: who records and
//! withdraws it, and what it decides under `LOPHOC_REQUIRE_CONSENT`.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// A student of 12, in `unit`, with `guardian` on file when given.
fn a_child(name: &str, unit: &str, guardian: Option<&str>) -> Value {
    let born = chrono::Utc::now().date_naive() - chrono::Duration::days(365 * 12);
    json!({"full_name": name, "category": "student", "organization_id": unit,
        "birth_date": born, "guardian_id": guardian})
}

fn consent_path(profile: &Value) -> String {
    format!("/api/v1/participants/{}/consent", id(profile))
}

async fn give(app: &TestApp, token: &str, profile: &Value, method: &str) -> Reply {
    let body = json!({"method": method});
    app.send_json(Method::PUT, &consent_path(profile), Some(token), &body).await
}

async fn withdraw(app: &TestApp, token: &str, profile: &Value) -> Reply {
    app.request(Method::DELETE, &consent_path(profile), Some(token), &[], None).await
}

#[actix_web::test]
async fn the_guardian_and_the_units_staff_record_and_withdraw_consent_and_no_one_else() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường THCS Đồng Tâm").await;
    let coordinator = app.coordinator_of(&admin, "truong@example.vn", &school).await;
    let (coordinator, coordinator_id) = (coordinator.access, coordinator.user["id"].clone());
    let elsewhere = app.user_with_role(&admin, "xom@example.vn", "coordinator").await.access;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let (trainer, trainer_id) = (trainer.access, trainer.user["id"].as_str().unwrap().to_owned());
    let parent_user = app.register("me@example.vn").await;
    let parent = app.login("me@example.vn", PASSWORD).await.access;
    let parent_profile = parent_user["participant_id"].as_str().unwrap().to_owned();
    let own = app.get(&format!("/api/v1/participants/{parent_profile}"), Some(&parent)).await;

    let child = app.create_participant(&parent, a_child("Nguyễn Bé Na", &school, None)).await;
    assert_eq!(child["guardian_consent"], Value::Null, "none on file yet");

    // The guardian gives it in the app, and only there.
    give(&app, &parent, &child, "paper").await.assert_problem(422, "validation_failed");
    let given = give(&app, &parent, &child, "in_app").await;
    assert_eq!(given.status, 200, "{:#}", given.body);
    assert_eq!(given.body["method"], "in_app");
    assert_eq!(given.body["guardian_id"], parent_profile.as_str());
    assert_eq!(given.body["recorded_by"], parent_user["id"]);
    assert_eq!(given.body["withdrawn_at"], Value::Null);
    let read = app.get(&format!("/api/v1/participants/{}", id(&child)), Some(&parent)).await;
    assert_eq!(read.body["guardian_consent"], given.body);

    // A coordinator of the unit records a form or a message; not in_app.
    give(&app, &coordinator, &child, "in_app").await.assert_problem(422, "validation_failed");
    let form = give(&app, &coordinator, &child, "sms").await;
    assert_eq!(form.status, 200, "{:#}", form.body);
    assert_eq!(form.body["method"], "sms");
    assert_eq!(form.body["recorded_by"], coordinator_id);
    assert_eq!(form.body["guardian_id"], parent_profile.as_str());

    // Others: a coordinator elsewhere and a trainer do not see the child;
    // the parent's own profile is not theirs to consent for.
    give(&app, &elsewhere, &child, "paper").await.assert_problem(404, "not_found");
    give(&app, &trainer, &child, "paper").await.assert_problem(404, "not_found");
    withdraw(&app, &trainer, &child).await.assert_problem(404, "not_found");
    give(&app, &parent, &own.body, "in_app").await.assert_problem(403, "forbidden");
    // A trainer who sees the child on a roster still may not.
    let course = app.create_course(&admin, None).await;
    let session = app.create_session(&admin, &course, 2, &[&trainer_id]).await;
    app.enrol_directly(&id(&session), &id(&child));
    give(&app, &trainer, &child, "paper").await.assert_problem(403, "forbidden");

    // Consent is a guardian's: none on file, none recorded.
    let alone = app.create_participant(&admin, a_child("Bé Một Mình", &school, None)).await;
    let refused = give(&app, &admin, &alone, "paper").await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["guardian_id"]);
    withdraw(&app, &admin, &alone).await.assert_problem(404, "not_found");

    // Withdrawn by the guardian; again changes nothing.
    let withdrawn = withdraw(&app, &parent, &child).await;
    assert_eq!(withdrawn.status, 200, "{:#}", withdrawn.body);
    assert!(withdrawn.body["withdrawn_at"].is_string());
    assert_eq!(withdrawn.body["method"], "sms");
    let again = withdraw(&app, &parent, &child).await;
    assert_eq!(again.body, withdrawn.body);

    // Each change is in the profile's history, the guardian redacted.
    let path = format!("/api/v1/audit-events?entity_type=participant&entity_id={}", id(&child));
    let history = app.get(&path, Some(&admin)).await;
    let changed: Vec<&str> = items(&history)
        .iter()
        .flat_map(|event| event["changes"].as_array().unwrap())
        .filter_map(|change| change["field"].as_str())
        .filter(|field| field.starts_with("consent_"))
        .collect();
    for field in ["consent_method", "consent_withdrawn_at", "consent_guardian_id"] {
        assert!(changed.contains(&field), "{field} in {changed:?}");
    }
    let guardian_change = items(&history)
        .iter()
        .flat_map(|event| event["changes"].as_array().unwrap())
        .find(|change| change["field"] == "consent_guardian_id")
        .unwrap();
    assert_eq!(guardian_change["redacted"], true);
}

#[actix_web::test]
async fn without_the_setting_a_child_with_a_guardian_enrols_without_consent() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường").await;
    let parent =
        app.create_participant(&admin, json!({"full_name": "Mẹ", "category": "parent"})).await;
    let child = app.create_participant(&admin, a_child("Bé", &school, Some(&id(&parent)))).await;
    let session = app.open_session(&admin, 5, 8, 10, false).await;
    assert_eq!(app.enrol(&admin, &session, &id(&child)).await.status, 201);
}

#[actix_web::test]
async fn with_consent_required_a_child_enrols_only_with_it_and_withdrawing_cancels_places_ahead() {
    let app = spawn_app_with(|config| config.require_consent = true).await;
    let admin = app.admin_token().await;
    let school = app.create_organization(&admin, "Trường").await;
    let parent =
        app.create_participant(&admin, json!({"full_name": "Mẹ", "category": "parent"})).await;
    let child = app.create_participant(&admin, a_child("Bé", &school, Some(&id(&parent)))).await;
    let ahead = app.open_session(&admin, 5, 8, 1, true).await;

    app.enrol(&admin, &ahead, &id(&child)).await.assert_problem(409, "consent_required");
    // Only children need it: a student of 16 and an adult do not.
    let born = chrono::Utc::now().date_naive() - chrono::Duration::days(365 * 17);
    let older = json!({"full_name": "Anh", "category": "student", "birth_date": born});
    let older = app.create_participant(&admin, older).await;
    let other_session = app.open_session(&admin, 6, 9, 5, false).await;
    assert_eq!(app.enrol(&admin, &other_session, &id(&older)).await.status, 201);

    assert_eq!(give(&app, &admin, &child, "paper").await.status, 200);
    let place = app.enrol(&admin, &ahead, &id(&child)).await;
    assert_eq!(place.status, 201, "{:#}", place.body);
    assert_eq!(place.body["status"], "enrolled");
    let adult = app.people(&admin, 1).await.remove(0);
    let waiting = app.enrol(&admin, &ahead, &adult).await;
    assert_eq!(waiting.body["status"], "waitlisted");
    // A session already running keeps the child's place.
    let running = app.running_session(&admin, &[], chrono::Duration::minutes(10), 5).await;
    let today = app.enrol(&admin, &running, &id(&child)).await;
    assert_eq!(today.status, 201, "{:#}", today.body);

    assert_eq!(withdraw(&app, &admin, &child).await.status, 200);
    let cancelled = app.get(&format!("/api/v1/enrolments/{}", id(&place.body)), Some(&admin)).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let promoted =
        app.get(&format!("/api/v1/enrolments/{}", id(&waiting.body)), Some(&admin)).await;
    assert_eq!(promoted.body["status"], "enrolled", "the waitlist moves up");
    let kept = app.get(&format!("/api/v1/enrolments/{}", id(&today.body)), Some(&admin)).await;
    assert_eq!(kept.body["status"], "enrolled");
    app.enrol(&admin, &ahead, &id(&child)).await.assert_problem(409, "consent_required");

    // Consent is the guardian's on file: given again, it holds until the
    // child has another guardian.
    assert_eq!(give(&app, &admin, &child, "sms").await.status, 200);
    let later = app.open_session(&admin, 9, 10, 5, false).await;
    let held = app.enrol(&admin, &later, &id(&child)).await;
    assert_eq!(held.status, 201, "{:#}", held.body);
    let other =
        app.create_participant(&admin, json!({"full_name": "Bố", "category": "parent"})).await;
    let path = format!("/api/v1/participants/{}", id(&child));
    let moved = app.patch(&path, Some(&admin), &json!({"guardian_id": other["id"]})).await;
    assert_eq!(moved.status, 200, "{:#}", moved.body);
    let last = app.open_session(&admin, 11, 11, 5, false).await;
    app.enrol(&admin, &last, &id(&child)).await.assert_problem(409, "consent_required");

    // An anonymised child's consent is neither withdrawn nor given again.
    let anonymize = format!("/api/v1/participants/{}/anonymize", id(&child));
    assert_eq!(app.post(&anonymize, Some(&admin), &json!({})).await.status, 200);
    withdraw(&app, &admin, &child).await.assert_problem(409, "participant_anonymized");
    give(&app, &admin, &child, "paper").await.assert_problem(409, "participant_anonymized");
}
