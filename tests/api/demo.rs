//! `lophoc demo`: the demonstration week loads once, and what it loads can
//! be used through the API.

use lophoc::demo::{self, DemoOutcome};

use crate::helpers::*;

#[actix_web::test]
async fn the_demo_week_loads_once_and_is_usable() {
    let db = TestDatabase::create();
    let config = db.config();
    let password = "demo-password-1".to_owned();
    let DemoOutcome::Loaded { accounts, participants, week, .. } =
        demo::load(&config, Some(password.clone())).expect("the demo loads")
    else {
        panic!("a fresh database has no demo yet");
    };
    assert!(participants >= 300, "{participants}");
    assert!(week.places >= 300 && week.waiting > 0 && week.cancelled > 0, "{week:?}");
    assert!(week.marks > 50 && week.walk_ins >= 6, "three days held: {week:?}");
    assert!(matches!(demo::load(&config, Some(password.clone())), Ok(DemoOutcome::AlreadyLoaded)));

    let app = start(db, config).await;
    // Made-up people hear nothing: the demo leaves no event to deliver,
    // not even a reminder of its sessions to come (which no dispatcher
    // would have taken yet).
    let cast = if app.db().is_postgres() { "::text" } else { "" };
    let events = app.query_strings(&format!("SELECT COUNT(*){cast} AS value FROM outbox_events"));
    assert_eq!(events, ["0"]);
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
    let sessions = app.get("/api/v1/sessions?limit=200", Some(&admin)).await;
    assert_eq!(items(&sessions).len(), 14, "two sessions a day");
    let now = chrono::Utc::now();
    let starts = |s: &&serde_json::Value| {
        s["starts_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap()
    };
    let (held, to_come): (Vec<_>, Vec<_>) = items(&sessions).iter().partition(|s| starts(s) < now);
    assert!(held.len() >= 6 && to_come.len() >= 6, "the week runs from three days ago");
    assert!(to_come.iter().any(|s| s["seats_left"].as_i64() > Some(0)), "places to take");
    assert!(items(&sessions).iter().any(|s| s["waitlisted_count"].as_i64() > Some(0)));

    // Each session's counts are its places, and its waitlist runs 1, 2, 3…
    for session in items(&sessions) {
        let id = session["id"].as_str().unwrap();
        let path = format!("/api/v1/sessions/{id}/enrolments?limit=200");
        let roster = app.get(&path, Some(&admin)).await;
        let places = items(&roster);
        let with = |status: &str| places.iter().filter(|p| p["status"] == status).count();
        assert_eq!(session["enrolled_count"].as_u64(), Some(with("enrolled") as u64), "{id}");
        assert_eq!(session["waitlisted_count"].as_u64(), Some(with("waitlisted") as u64), "{id}");
        let mut positions: Vec<u64> =
            places.iter().filter_map(|p| p["waitlist_position"].as_u64()).collect();
        positions.sort_unstable();
        assert!(positions.iter().copied().eq(1..=positions.len() as u64), "{id}: {positions:?}");
    }

    // The first figures an admin asks for are not empty.
    let stats = app.get("/api/v1/stats/enrolments?group_by=category,organization", Some(&admin));
    let stats = stats.await;
    assert_eq!(stats.status, 200);
    let totals = &stats.body["totals"];
    for count in ["enrolled", "waitlisted", "cancelled", "attended", "people", "people_attended"] {
        assert!(totals[count].as_i64() > Some(0), "{count}: {totals}");
    }
    assert!(totals["attendance_rate"].as_f64().is_some_and(|r| r > 0.5 && r < 1.0), "{totals}");
    let categories = |rows: &serde_json::Value| {
        let mut seen: Vec<&str> =
            rows.as_array().unwrap().iter().filter_map(|r| r["category"].as_str()).collect();
        seen.dedup();
        seen.len()
    };
    assert_eq!(categories(&stats.body["rows"]), 6, "every audience took part");
    let export = app.get("/api/v1/exports/enrolments.csv", Some(&admin)).await;
    let text = String::from_utf8(export.bytes).unwrap();
    assert!(text.contains(",Walk-in,Present,"), "walk-ins marked present");

    // The parent's account sees their two children.
    let parent = accounts.iter().find(|email| email.starts_with("phuhuynh")).unwrap();
    let parent = app.login(parent, &password).await.access;
    let me = app.get("/api/v1/me", Some(&parent)).await;
    assert_eq!(me.body["dependants"].as_array().unwrap().len(), 2);
}
