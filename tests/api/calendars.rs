//! Calendars: a person's secret feed of their sessions and their
//! children's, and one session as a file.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The events of an iCalendar text, each as its unfolded properties; the
/// text is also checked against RFC 5545's framing: CRLF line ends, lines
/// of at most 75 octets, the calendar's own properties, balanced blocks.
fn events(ics: &str) -> Vec<Vec<(String, String)>> {
    assert!(ics.ends_with("\r\n"), "{ics}");
    assert_eq!(ics.matches('\n').count(), ics.matches("\r\n").count(), "CRLF only");
    assert!(ics.split("\r\n").all(|line| line.len() <= 75), "{ics}");
    let lines: Vec<String> =
        ics.replace("\r\n ", "").trim_end().split("\r\n").map(String::from).collect();
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert!(
        lines.contains(&"VERSION:2.0".to_owned()) && lines.iter().any(|l| l.starts_with("PRODID:"))
    );
    let mut events = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for line in &lines {
        let (name, value) = line.split_once(':').expect("NAME:value");
        match (name, value, current.as_mut()) {
            ("BEGIN", "VEVENT", None) => current = Some(Vec::new()),
            ("END", "VEVENT", Some(_)) => events.push(current.take().unwrap()),
            (_, _, Some(event)) => event.push((name.to_owned(), value.to_owned())),
            _ => {}
        }
    }
    assert!(current.is_none(), "an unclosed VEVENT");
    events
}

fn property<'a>(event: &'a [(String, String)], name: &str) -> &'a str {
    event
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{name} in {event:?}"))
}

/// The path of a feed's URL, to read it from this test's server.
fn path_of(url: &Value) -> String {
    let url = url.as_str().unwrap();
    url[url.find("/api/v1/").expect("an API path")..].to_owned()
}

#[actix_web::test]
async fn a_feed_shows_a_familys_places_and_a_new_url_ends_the_old() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let own = app.open_session(&admin, 3, 1, 10, false).await;
    let childs = app.open_session(&admin, 4, 2, 10, false).await;
    let dropped = app.open_session(&admin, 5, 3, 10, false).await;
    let elsewhere = app.open_session(&admin, 6, 4, 10, false).await;
    let full = app.open_session(&admin, 7, 5, 1, true).await;
    app.register("parent@example.vn").await;
    let parent = app.login("parent@example.vn", PASSWORD).await.access;
    let path = format!("/api/v1/sessions/{own}/enrolments");
    assert_eq!(app.post(&path, Some(&parent), &json!({})).await.status, 201);
    let child = json!({"full_name": "Bé Na", "category": "student", "birth_date": "2014-03-02"});
    let child = app.create_participant(&parent, child).await;
    assert_eq!(app.enrol(&parent, &childs, &id(&child)).await.status, 201);
    let place = app.enrol(&parent, &dropped, &id(&child)).await;
    assert_eq!(app.cancel(&parent, &id(&place.body)).await.status, 200);
    let strangers = app.people(&admin, 2).await;
    assert_eq!(app.enrol(&admin, &elsewhere, &strangers[0]).await.status, 201);
    assert_eq!(app.enrol(&admin, &full, &strangers[1]).await.status, 201);
    let waiting = app.enrol(&parent, &full, &id(&child)).await;
    assert_eq!(waiting.body["status"], "waitlisted", "{:#}", waiting.body);
    let cancel = json!({"status": "cancelled"});
    let cancelled = app.patch(&format!("/api/v1/sessions/{childs}"), Some(&admin), &cancel).await;
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.body);
    // A place given up before its session was cancelled stays gone.
    let dropped_path = format!("/api/v1/sessions/{dropped}");
    assert_eq!(app.patch(&dropped_path, Some(&admin), &cancel).await.status, 200);

    let feed = app.post("/api/v1/me/calendar", Some(&parent), &json!({})).await;
    assert_eq!(feed.status, 201, "{:#}", feed.body);
    let url = path_of(&feed.body["url"]);
    assert!(url.starts_with("/api/v1/calendars/") && url.ends_with(".ics"), "{url}");
    let read = app.get(&url, None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("content-type"), Some("text/calendar; charset=utf-8"));
    let ics = String::from_utf8(read.bytes.clone()).unwrap();
    let shown = events(&ics);
    let uids: Vec<&str> = shown.iter().map(|e| property(e, "UID")).collect();
    let expected = [own.as_str(), childs.as_str(), full.as_str()].map(|s| format!("{s}@lophoc"));
    assert_eq!(uids, expected, "{ics}");
    assert_eq!(property(&shown[0], "STATUS"), "CONFIRMED");
    assert_eq!(property(&shown[1], "STATUS"), "CANCELLED");
    assert_eq!(property(&shown[2], "STATUS"), "TENTATIVE", "only waiting for a seat");
    assert_eq!(property(&shown[0], "SUMMARY"), "An toàn trên mạng");
    assert_eq!(property(&shown[0], "LOCATION"), "Hội trường xã");
    let session = app.session(&admin, &own).await;
    let starts =
        chrono::DateTime::parse_from_rfc3339(session["starts_at"].as_str().unwrap()).unwrap();
    assert_eq!(property(&shown[0], "DTSTART"), starts.format("%Y%m%dT%H%M%SZ").to_string());

    // Asking again replaces the URL.
    let renewed = app.post("/api/v1/me/calendar", Some(&parent), &json!({})).await;
    assert_eq!(renewed.status, 201);
    app.get(&url, None).await.assert_problem(404, "not_found");
    assert_eq!(app.get(&path_of(&renewed.body["url"]), None).await.status, 200);
    app.get("/api/v1/calendars/not-a-feed.ics", None).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn a_trainers_feed_shows_what_they_teach_and_ends_with_their_account() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let taught = app.open_session(&admin, 2, 1, 10, false).await;
    app.open_session(&admin, 3, 1, 10, false).await;
    let assign = json!({"trainer_ids": [id(&trainer.user)]});
    assert_eq!(
        app.patch(&format!("/api/v1/sessions/{taught}"), Some(&admin), &assign).await.status,
        200
    );
    let feed = app.post("/api/v1/me/calendar", Some(&trainer.access), &json!({})).await;
    let url = path_of(&feed.body["url"]);
    let ics = String::from_utf8(app.get(&url, None).await.bytes).unwrap();
    let shown = events(&ics);
    assert_eq!(shown.len(), 1, "{ics}");
    assert_eq!(property(&shown[0], "UID"), format!("{taught}@lophoc"));

    let user = format!("/api/v1/users/{}", id(&trainer.user));
    assert_eq!(app.patch(&user, Some(&admin), &json!({"active": false})).await.status, 200);
    app.get(&url, None).await.assert_problem(404, "not_found");
    // Ended for good, as logins are: reactivating brings it not back.
    assert_eq!(app.patch(&user, Some(&admin), &json!({"active": true})).await.status, 200);
    app.get(&url, None).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn one_session_comes_as_a_calendar_file_to_anyone_signed_in() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 2, 1, 10, false).await;
    app.register("hv@example.vn").await;
    let learner = app.login("hv@example.vn", PASSWORD).await.access;
    let path = format!("/api/v1/sessions/{session}/calendar.ics");
    let reply = app.get(&path, Some(&learner)).await;
    assert_eq!(reply.status, 200);
    let disposition = reply.header("content-disposition").unwrap();
    assert_eq!(disposition, format!("attachment; filename=\"{session}.ics\""));
    let shown = events(&String::from_utf8(reply.bytes).unwrap());
    assert_eq!(shown.len(), 1);
    assert_eq!(property(&shown[0], "UID"), format!("{session}@lophoc"));
    app.get(&path, None).await.assert_problem(401, "missing_token");
    let unknown = "/api/v1/sessions/0190f2a4-6c1e-7b3a-9d2e-4f5a6b7c8d9e/calendar.ics";
    app.request(Method::GET, unknown, Some(&learner), &[], None)
        .await
        .assert_problem(404, "not_found");
}
