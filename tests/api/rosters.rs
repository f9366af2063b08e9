//! Offline rosters: a trainer's device downloads the coming days, works
//! without a connection, syncs, and downloads only what changed, missing
//! nothing that others wrote meanwhile.

use std::collections::BTreeMap;

use actix_web::http::Method;
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;

/// What a device holds, kept as PRODUCT.md's client would: each session
/// listed whole replaces the one held, every other place listed replaces
/// its own (a cancelled one is dropped), removed sessions go.
#[derive(Debug, Default, PartialEq)]
struct Device {
    sessions: BTreeMap<String, Value>,
    /// By enrolment id: session, status, waitlist position, mark status.
    places: BTreeMap<String, (String, String, Value, Value)>,
}

impl Device {
    fn apply(&mut self, download: &Value) {
        for session in download["sessions"].as_array().unwrap() {
            let id = session["id"].as_str().unwrap().to_owned();
            self.places.retain(|_, (held_in, ..)| *held_in != id);
            self.sessions.insert(id, session.clone());
        }
        for place in download["places"].as_array().unwrap() {
            let id = place["enrolment_id"].as_str().unwrap().to_owned();
            if place["status"] == "cancelled" {
                self.places.remove(&id);
            } else {
                let session = place["session_id"].as_str().unwrap().to_owned();
                let status = place["status"].as_str().unwrap().to_owned();
                let mark = place["mark"]["status"].clone();
                self.places.insert(id, (session, status, place["waitlist_position"].clone(), mark));
            }
        }
        for id in download["removed_session_ids"].as_array().unwrap() {
            let id = id.as_str().unwrap();
            self.sessions.remove(id);
            self.places.retain(|_, (held_in, ..)| held_in != id);
        }
    }

    fn place_of(&self, enrolment_id: &str) -> Option<(&str, &Value)> {
        self.places.get(enrolment_id).map(|(_, status, _, mark)| (status.as_str(), mark))
    }
}

impl TestApp {
    async fn rosters(&self, token: &str, since: Option<&str>) -> Value {
        let path = match since {
            Some(since) => format!("/api/v1/me/rosters?days=7&since={since}"),
            None => "/api/v1/me/rosters?days=7".to_owned(),
        };
        let reply = self.get(&path, Some(token)).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        reply.body
    }
}

/// Whether downloads of changes bring exactly what changed. On PostgreSQL
/// a token is the oldest transaction running anywhere in the cluster, so
/// while other tests write to databases of their own, a download may bring
/// again what an earlier one brought (never less): there the tests check
/// that what changed comes and that the changes add up, not that nothing
/// else comes.
fn exact(app: &TestApp) -> bool {
    !app.db().is_postgres()
}

fn sizes(download: &Value) -> (usize, usize) {
    let len = |field: &str| download[field].as_array().unwrap().len();
    (len("sessions"), len("places"))
}

/// The places of a download in one session.
fn places_in<'a>(download: &'a Value, session: &str) -> Vec<&'a Value> {
    download["places"].as_array().unwrap().iter().filter(|p| p["session_id"] == session).collect()
}

fn token_of(download: &Value) -> String {
    download["sync_token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_device_works_a_whole_day_offline_and_downloads_only_what_changed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let colleague = app.user_with_role(&admin, "gv2@example.vn", "trainer").await;
    let trainer_id = id(&trainer.user);
    let today = app.running_session(&admin, &[&trainer_id], Duration::minutes(5), 30).await;
    let tomorrow = app.open_session(&admin, 1, 9, 30, true).await;
    let session_path = format!("/api/v1/sessions/{tomorrow}");
    let assign = json!({"trainer_ids": [trainer_id]});
    assert_eq!(app.patch(&session_path, Some(&admin), &assign).await.status, 200);
    let elsewhere =
        app.running_session(&admin, &[&id(&colleague.user)], Duration::minutes(5), 30).await;
    let unit = app.create_organization(&admin, "Trường THCS Đồng Tâm").await;
    let people = app.people(&admin, 6).await;
    let mut places = Vec::new();
    for person in &people[..3] {
        let place = app.enrol(&admin, &today, person).await;
        places.push(id(&place.body));
    }
    let body = json!({"organization_id": unit});
    let person = format!("/api/v1/participants/{}", people[0]);
    assert_eq!(app.patch(&person, Some(&admin), &body).await.status, 200);
    app.enrol(&admin, &tomorrow, &people[3]).await;
    app.enrol(&admin, &elsewhere, &people[4]).await;
    let (device_id, device) = app.paired_device(&trainer.access).await;

    // Morning, in the office: the whole week.
    let first = app.rosters(&device, None).await;
    let mut held = Device::default();
    held.apply(&first);
    assert_eq!(held.sessions.keys().cloned().collect::<Vec<_>>().len(), 2, "{first:#}");
    assert!(held.sessions.contains_key(&today) && held.sessions.contains_key(&tomorrow));
    assert_eq!(held.places.len(), 4, "three today, one tomorrow: {first:#}");
    assert_eq!(first["sessions"][0]["id"], today.as_str(), "by start time");
    assert_eq!(first["sessions"][0]["course_title"], "Điểm danh");
    assert_eq!(first["units"], json!([{"id": unit, "name": "Trường THCS Đồng Tâm"}]));
    let place = &first["places"][0];
    assert_eq!(place["row_code"].as_str().unwrap().len(), 6);
    assert_eq!(place["mark"], Value::Null);
    let shown: Vec<&str> =
        place["participant"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(shown, ["category", "full_name", "id", "organization_id"], "no contact details");

    // Nothing changed: nothing comes.
    let quiet = app.rosters(&device, Some(&token_of(&first))).await;
    if exact(&app) {
        assert_eq!(sizes(&quiet), (0, 0), "{quiet:#}");
    }

    // In the hall, offline: the device marks two people and keeps them.
    // Meanwhile, at the centre: a person enrols, one cancels, an admin
    // marks a third.
    let now = chrono::Utc::now();
    let added = app.enrol(&admin, &today, &people[5]).await;
    assert_eq!(added.status, 201, "{:#}", added.body);
    assert_eq!(app.cancel(&admin, &places[1]).await.status, 200);
    let marked =
        app.put_marks(&admin, &today, json!([{"participant_id": people[2], "status": "late"}]));
    assert_eq!(marked.await.status, 200);

    // Back online: the marks taken offline, and a walk-in.
    let offline = json!({"marks": [
        {"client_mark_id": "m-1", "session_id": today, "participant_id": people[0],
         "status": "present", "recorded_at": now},
        {"client_mark_id": "m-2", "session_id": today, "participant_id": people[1],
         "status": "absent", "recorded_at": now},
    ]});
    let synced = app.post("/api/v1/attendance/sync", Some(&device), &offline).await;
    let outcomes: Vec<&Value> =
        synced.body["results"].as_array().unwrap().iter().map(|r| &r["outcome"]).collect();
    assert_eq!(outcomes, [&json!("applied"), &json!("refused")], "{:#}", synced.body);
    let walk_in = json!({"full_name": "Phạm Văn Khách", "category": "worker"});
    let walked =
        app.post(&format!("/api/v1/sessions/{today}/walk-ins"), Some(&device), &walk_in).await;
    assert_eq!(walked.status, 201, "{:#}", walked.body);

    let changes = app.rosters(&device, Some(&token_of(&first))).await;
    if exact(&app) {
        assert_eq!(changes["sessions"], json!([]), "no session changed: {changes:#}");
    }
    let changed: Vec<&str> = changes["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["enrolment_id"].as_str().unwrap())
        .collect();
    let walked_in = id(&walked.body);
    for expected in [&places[0], &places[1], &places[2], &id(&added.body), &walked_in] {
        assert!(changed.contains(&expected.as_str()), "{expected} in {changes:#}");
    }
    if exact(&app) {
        assert_eq!(changed.len(), 5, "only what changed: {changes:#}");
    }
    held.apply(&changes);
    assert_eq!(held.place_of(&places[0]), Some(("enrolled", &json!("present"))));
    assert_eq!(held.place_of(&places[1]), None, "the cancelled place is dropped");
    assert_eq!(held.place_of(&places[2]), Some(("enrolled", &json!("late"))));
    assert_eq!(held.place_of(&id(&added.body)), Some(("enrolled", &Value::Null)));
    assert_eq!(held.place_of(&walked_in), Some(("enrolled", &json!("present"))));
    let mine = changes["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["enrolment_id"] == places[0].as_str());
    assert_eq!(mine.unwrap()["mark"]["device_id"], device_id.as_str());

    // Tomorrow's class moves to another hall: it comes whole; then the
    // trainer is taken off it, and it goes.
    let venue = json!({"venue": "Nhà văn hoá xóm Bắc"});
    assert_eq!(app.patch(&session_path, Some(&admin), &venue).await.status, 200);
    let renewed = app.rosters(&device, Some(&token_of(&changes))).await;
    let moved: Vec<&Value> = renewed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"] == tomorrow.as_str())
        .collect();
    assert_eq!(moved.len(), 1, "{renewed:#}");
    assert_eq!(moved[0]["venue"], "Nhà văn hoá xóm Bắc");
    assert_eq!(places_in(&renewed, &tomorrow).len(), 1, "its whole roster");
    if exact(&app) {
        assert_eq!(sizes(&renewed), (1, 1), "{renewed:#}");
    }
    held.apply(&renewed);
    let off = json!({"trainer_ids": [id(&colleague.user)]});
    assert_eq!(app.patch(&session_path, Some(&admin), &off).await.status, 200);
    let gone = app.rosters(&device, Some(&token_of(&renewed))).await;
    assert_eq!(gone["removed_session_ids"], json!([tomorrow]), "{gone:#}");
    held.apply(&gone);

    // What the device holds now is what a fresh download gives.
    let mut fresh = Device::default();
    fresh.apply(&app.rosters(&device, None).await);
    assert_eq!(held, fresh);
}

#[actix_web::test]
async fn changes_written_while_a_device_polls_all_reach_it() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    // Few seats, so that cancellations promote people from the waitlist.
    let session = app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 6).await;
    let people = app.people(&admin, 16).await;
    let (_, device) = app.paired_device(&trainer.access).await;
    let mut held = Device::default();
    let first = app.rosters(&device, None).await;
    held.apply(&first);
    let mut token = token_of(&first);

    let writers = async {
        let places = futures_util::future::join_all(
            people.iter().map(|person| app.enrol(&admin, &session, person)),
        )
        .await;
        let ids: Vec<String> = places.iter().map(|p| id(&p.body)).collect();
        let cancels = ids.iter().step_by(3).map(|place| app.cancel(&admin, place));
        let marks = people.iter().map(|person| {
            app.put_marks(
                &trainer.access,
                &session,
                json!([{"participant_id": person, "status": "present"}]),
            )
        });
        futures_util::future::join(
            futures_util::future::join_all(cancels),
            futures_util::future::join_all(marks),
        )
        .await;
    };
    let poller = async {
        let mut downloads = Vec::new();
        for _ in 0..12 {
            let path = format!(
                "/api/v1/me/rosters?since={}",
                downloads.last().map_or(token.clone(), token_of)
            );
            let reply = app.get(&path, Some(&device)).await;
            assert_eq!(reply.status, 200, "{:#}", reply.body);
            downloads.push(reply.body);
        }
        downloads
    };
    let ((), downloads) = futures_util::future::join(writers, poller).await;
    for download in &downloads {
        held.apply(download);
        token = token_of(download);
    }
    held.apply(&app.rosters(&device, Some(&token)).await);

    let mut fresh = Device::default();
    fresh.apply(&app.rosters(&device, None).await);
    assert_eq!(held, fresh, "the changes add up to a fresh download");
    let enrolled = fresh.places.values().filter(|(_, status, ..)| status == "enrolled").count();
    assert_eq!(enrolled, 6, "{fresh:#?}");
}

#[actix_web::test]
async fn rosters_are_for_those_who_mark_and_their_parameters_are_checked() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for role in ["participant", "coordinator"] {
        let other = app.user_with_role(&admin, &format!("{role}@example.vn"), role).await;
        let reply = app.get("/api/v1/me/rosters", Some(&other.access)).await;
        reply.assert_problem(403, "forbidden");
    }
    app.get("/api/v1/me/rosters", None).await.assert_problem(401, "missing_token");
    for query in ["days=0", "days=32", "since=", "since=abc", "since=1.2", "since=-5.9.3"] {
        let reply = app.get(&format!("/api/v1/me/rosters?{query}"), Some(&admin)).await;
        reply.assert_problem(400, "invalid_parameter");
    }
    // A position this database never reached (a token from before a
    // restore): the rosters come whole.
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let session =
        app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 30).await;
    let first = app.rosters(&trainer.access, None).await;
    let parts: Vec<&str> = first["sync_token"].as_str().unwrap().split('.').collect();
    let ahead = format!("999999999999999999.{}.{}", parts[1], parts[2]);
    let again = app.rosters(&trainer.access, Some(&ahead)).await;
    assert_eq!(again["sessions"][0]["id"], session.as_str(), "{again:#}");
    // An admin teaches nothing here: an empty week, not every session.
    let reply = app.request(Method::GET, "/api/v1/me/rosters", Some(&admin), &[], None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["sessions"], json!([]));
}

/// A write that began before a download and commits after it: invisible
/// to that download, so the next one must bring it, even when later
/// writes committed first (PostgreSQL; SQLite lets one writer in at a
/// time, so there none can).
#[actix_web::test]
async fn a_write_that_commits_after_a_download_comes_with_the_next() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let session =
        app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 30).await;
    let people = app.people(&admin, 2).await;
    let place = id(&app.enrol(&admin, &session, &people[0]).await.body);
    let first = app.rosters(&trainer.access, None).await;

    let url = lophoc::db::DatabaseUrl::parse(&app.db().url());
    let db = lophoc::db::Db::connect(&url, 1).expect("open the test database");
    let mut slow = db.get().expect("a connection");
    let begin = if app.db().is_postgres() { "BEGIN" } else { "BEGIN IMMEDIATE" };
    diesel::connection::SimpleConnection::batch_execute(
        &mut *slow,
        &format!(
            "{begin}; UPDATE participants SET full_name = 'Trần Thị Muộn' WHERE id = '{}'",
            people[0]
        ),
    )
    .unwrap();
    if app.db().is_postgres() {
        // A later write that commits first.
        assert_eq!(app.enrol(&admin, &session, &people[1]).await.status, 201);
    }
    let during = app.rosters(&trainer.access, Some(&token_of(&first))).await;
    let seen = |download: &Value| {
        download["places"].as_array().unwrap().iter().any(|p| {
            p["enrolment_id"] == place.as_str() && p["participant"]["full_name"] == "Trần Thị Muộn"
        })
    };
    assert!(!seen(&during), "not committed yet: {during:#}");
    diesel::connection::SimpleConnection::batch_execute(&mut *slow, "COMMIT").unwrap();

    let after = app.rosters(&trainer.access, Some(&token_of(&during))).await;
    assert!(seen(&after), "the late commit comes now: {after:#}");
}

/// What a roster shows of a course and a unit: a renamed course brings its
/// sessions whole, a renamed unit its new name, and nothing else.
#[actix_web::test]
async fn renamed_courses_and_units_reach_the_device() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let session =
        app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 30).await;
    let unit = app.create_organization(&admin, "Xóm Đông").await;
    let body = json!({"full_name": "Lê Văn Sáu", "category": "worker", "organization_id": unit});
    let person = app.create_participant(&admin, body).await;
    assert_eq!(app.enrol(&admin, &session, &id(&person)).await.status, 201);
    let first = app.rosters(&trainer.access, None).await;

    let rename = json!({"name": "Xóm Đông Hưng"});
    let path = format!("/api/v1/organizations/{unit}");
    assert_eq!(app.patch(&path, Some(&admin), &rename).await.status, 200);
    let changes = app.rosters(&trainer.access, Some(&token_of(&first))).await;
    assert_eq!(changes["units"], json!([{"id": unit, "name": "Xóm Đông Hưng"}]), "{changes:#}");
    if exact(&app) {
        assert_eq!(sizes(&changes), (0, 0), "{changes:#}");
    }

    let course = first["sessions"][0]["course_id"].as_str().unwrap();
    let retitle = json!({"title": "Tìm kiếm thông tin an toàn"});
    let path = format!("/api/v1/courses/{course}");
    assert_eq!(app.patch(&path, Some(&admin), &retitle).await.status, 200);
    let changes = app.rosters(&trainer.access, Some(&token_of(&changes))).await;
    assert_eq!(changes["sessions"][0]["course_title"], "Tìm kiếm thông tin an toàn", "{changes:#}");
    assert_eq!(places_in(&changes, &session).len(), 1, "its whole roster");
}
