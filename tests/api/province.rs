//! `lophoc demo --scale province`, at a small scale: the rows it writes in
//! bulk keep the rules the API keeps, and the API reads them.

use lophoc::demo::province::{self, Scale};
use serde_json::Value;

use crate::helpers::*;

const SMALL: Scale =
    Scale { communes: 2, people_per_commune: 40, sessions_per_commune: 6, places_per_person: 4 };

#[actix_web::test]
async fn a_small_province_keeps_the_rules_and_fills_only_an_empty_database() {
    let db = TestDatabase::create();
    let config = db.config();
    let password = Some("province-password-1".to_owned());
    let (made, password) = province::load(&config, SMALL, password).expect("the province loads");
    assert_eq!((made.people, made.sessions, made.places), (80, 12, 320), "{made:?}");
    assert_eq!(made.units, 1 + 2 * 5, "the province, and per commune itself, a school, 3 hamlets");
    assert!(made.waiting > 0 && made.cancelled > 0 && made.marks > 0, "{made:?}");
    let again = province::load(&config, SMALL, None).unwrap_err();
    assert!(again.contains("empty database"), "{again}");

    let app = start(db, config).await;
    let admin = app.admin_token().await;
    let sessions = app.get("/api/v1/sessions?limit=200", Some(&admin)).await;
    assert_eq!(items(&sessions).len(), 12);
    let (mut enrolled, mut waiting) = (0, 0);
    let mut reached = std::collections::HashSet::new();
    for session in items(&sessions) {
        let id = session["id"].as_str().unwrap();
        let path = format!("/api/v1/sessions/{id}/enrolments?limit=200");
        let places = app.get(&path, Some(&admin)).await;
        let status_of = |status: &str| -> Vec<&Value> {
            items(&places).iter().filter(|p| p["status"] == status).collect()
        };
        let held = status_of("enrolled").len() as i64;
        let queue: Vec<i64> = status_of("waitlisted")
            .iter()
            .map(|p| p["waitlist_position"].as_i64().unwrap())
            .collect();
        assert_eq!(session["enrolled_count"].as_i64(), Some(held), "counts are the places");
        assert_eq!(session["waitlisted_count"].as_i64(), Some(queue.len() as i64));
        assert_eq!(queue, (1..=queue.len() as i64).collect::<Vec<_>>(), "positions run 1, 2, 3…");
        assert!(queue.is_empty() || held == session["capacity"].as_i64().unwrap(), "seats first");
        enrolled += held;
        reached.extend(status_of("enrolled").iter().map(|p| p["participant_id"].to_string()));
        waiting += queue.len() as i64;
    }
    assert_eq!(waiting, made.waiting as i64);
    assert_eq!(enrolled + waiting + made.cancelled as i64, made.places as i64);

    // The statistics count the same places, and the accounts log in.
    let stats = app.get("/api/v1/stats/enrolments?group_by=category", Some(&admin)).await;
    assert_eq!(stats.status, 200, "{:#}", stats.body);
    let totals = &stats.body["totals"];
    assert_eq!(totals["enrolled"].as_i64(), Some(enrolled));
    assert_eq!(totals["waitlisted"].as_i64(), Some(waiting));
    assert_eq!(totals["cancelled"].as_i64(), Some(made.cancelled as i64));
    assert_eq!(totals["people"].as_i64(), Some(reached.len() as i64), "the people reached");
    assert!(totals["attended"].as_i64() > Some(0));
    let trainer = app.login("giangvien.xa1@province.lophoc.local", &password).await;
    let taught = app
        .get(
            &format!("/api/v1/sessions?trainer_id={}", trainer.user["id"].as_str().unwrap()),
            Some(&trainer.access),
        )
        .await;
    assert_eq!(items(&taught).len(), 6, "a commune's sessions");
    let held = items(&taught)
        .iter()
        .find(|s| s["starts_at"].as_str() < Some(&chrono::Utc::now().to_rfc3339()));
    let held = held.expect("sessions already held");
    let roll = app
        .get(
            &format!("/api/v1/sessions/{}/attendance", held["id"].as_str().unwrap()),
            Some(&trainer.access),
        )
        .await;
    assert_eq!(roll.status, 200);
    assert!(
        items(&roll).iter().all(|entry| entry["mark"]["status"].is_string()),
        "every held place is marked"
    );
}
