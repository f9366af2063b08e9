//! `lophoc demo`: the demonstration week loads once, and what it loads can
//! be used through the API.

use lophoc::demo::{self, DemoOutcome};

use crate::helpers::*;

#[actix_web::test]
async fn the_demo_week_loads_once_and_is_usable() {
    let db = TestDatabase::create();
    let config = db.config();
    let password = "demo-password-1".to_owned();
    let DemoOutcome::Loaded { accounts, participants, .. } =
        demo::load(&config, Some(password.clone())).expect("the demo loads")
    else {
        panic!("a fresh database has no demo yet");
    };
    assert!(participants >= 300, "{participants}");
    assert!(matches!(demo::load(&config, Some(password.clone())), Ok(DemoOutcome::AlreadyLoaded)));

    let app = start(db, config).await;
    let admin = app.admin_token().await;
    let programmes = app.get("/api/v1/programmes", Some(&admin)).await;
    assert_eq!(item_field(&programmes, "name"), [demo::PROGRAMME_NAME], "loaded once");
    for category in ["student", "learner", "parent", "official", "worker", "other"] {
        let reply = app
            .get(&format!("/api/v1/participants?category={category}&limit=10"), Some(&admin))
            .await;
        assert_eq!(items(&reply).len(), 10, "{category}");
    }
    let kinds = app.get("/api/v1/organizations?limit=200", None).await;
    for kind in ["school", "hamlet", "agency", "association"] {
        assert!(items(&kinds).iter().any(|unit| unit["kind"] == kind), "{kind}");
    }

    // Every account logs in; a trainer teaches some of the week's sessions.
    for email in &accounts {
        app.login(email, &password).await;
    }
    let trainer = app.login(&accounts[0], &password).await;
    let trainer_id = trainer.user["id"].as_str().unwrap();
    let taught =
        app.get(&format!("/api/v1/sessions?trainer_id={trainer_id}"), Some(&trainer.access)).await;
    assert!(!items(&taught).is_empty());
    let week = app
        .get("/api/v1/sessions?from=2023-10-02T00:00:00%2B07:00&to=2023-10-09T00:00:00%2B07:00&limit=200", Some(&admin))
        .await;
    assert!(items(&week).len() >= 7, "sessions every day of the week");

    // The parent's account sees their two children.
    let parent = accounts.iter().find(|email| email.starts_with("phuhuynh")).unwrap();
    let parent = app.login(parent, &password).await.access;
    let me = app.get("/api/v1/me", Some(&parent)).await;
    assert_eq!(me.body["dependants"].as_array().unwrap().len(), 2);
}
