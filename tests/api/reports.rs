//! Statistics and exports: the figures of a small seeded commune, worked
//! out by hand, on every grouping and filter; the files parsed back.

use std::io::Read;

use actix_web::http::Method;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, id, spawn_app, spawn_app_with, start};

/// The seeded commune. Units: A (a hamlet), B (a school); p6 has no unit.
///
/// | person | category | gender      | unit |
/// |--------|----------|-------------|------|
/// | p1     | student  | female      | A    |
/// | p2     | student  | male        | A    |
/// | p3     | parent   | female      | A    |
/// | p4     | official | male        | B    |
/// | p5     | worker   | female      | B    |
/// | p6     | learner  | unspecified | —    |
///
/// Courses: C1 "Tìm kiếm…" and C2 "An toàn…" in programme P; C3 "Kỹ
/// năng số…" in none. Sessions (local time, Viet Nam):
///
/// | session | course | starts            | places (status, mark)                                     |
/// |---------|--------|-------------------|-----------------------------------------------------------|
/// | S1      | C1     | 2023-10-02 08:00  | p1 E present, p2 E late, p3 E absent, p4 E –, p5 cancelled |
/// | S2      | C1     | 2023-10-03 06:30  | p1 E excused, p4 E present, p6 E present, p5 waitlisted    |
/// | S3      | C2     | 2023-10-04 08:00  | p2 E present, p3 cancelled (mark present kept), p5 E present |
/// | S4      | C3     | 2099-10-05 08:00  | p1 E –, p4 E present, p6 waitlisted                         |
///
/// S2 starts on 2 October in UTC: its day is the local 3 October. S4 has
/// not taken place, so it counts in `attended` but not in the rate.
struct Commune {
    admin: String,
    unit_a: String,
    unit_b: String,
    programme: String,
    courses: [String; 3],
    sessions: [String; 4],
    people: [String; 6],
}

async fn seed(app: &TestApp) -> Commune {
    let admin = app.admin_token().await;
    let org = |name: &str, kind: &str| json!({"name": name, "kind": kind});
    let unit_a =
        app.post("/api/v1/organizations", Some(&admin), &org("Xóm Đồng Tâm", "hamlet")).await;
    let unit_b = app
        .post("/api/v1/organizations", Some(&admin), &org("Trường THCS Trung Hội", "school"))
        .await;
    let (unit_a, unit_b) = (created_id(&unit_a), created_id(&unit_b));
    let programme = app.create_programme(&admin).await;

    let mut courses = Vec::new();
    for (title, programme) in [
        ("Tìm kiếm thông tin hiệu quả", Some(&programme)),
        ("An toàn trên mạng", Some(&programme)),
        ("Kỹ năng số cơ bản", None),
    ] {
        let body = json!({"title": title, "duration_minutes": 90, "programme_id": programme});
        courses.push(created_id(&app.post("/api/v1/courses", Some(&admin), &body).await));
    }
    let mut sessions = Vec::new();
    for (course, starts, ends) in [
        (0, "2023-10-02T08:00:00+07:00", "2023-10-02T09:30:00+07:00"),
        (0, "2023-10-03T06:30:00+07:00", "2023-10-03T08:00:00+07:00"),
        (1, "2023-10-04T08:00:00+07:00", "2023-10-04T09:30:00+07:00"),
        (2, "2099-10-05T08:00:00+07:00", "2099-10-05T09:30:00+07:00"),
    ] {
        let body = json!({"course_id": courses[course], "starts_at": starts, "ends_at": ends,
            "venue": "Nhà văn hoá", "capacity": 30, "trainer_ids": []});
        sessions.push(created_id(&app.post("/api/v1/sessions", Some(&admin), &body).await));
    }
    let mut people = Vec::new();
    for (name, category, gender, unit) in [
        ("Nguyễn Thị Lan", "student", "female", Some(&unit_a)),
        ("Trần Văn Nam", "student", "male", Some(&unit_a)),
        ("Lê Thị Hoa", "parent", "female", Some(&unit_a)),
        ("Phạm Văn Đức", "official", "male", Some(&unit_b)),
        ("Hoàng Thị Mai", "worker", "female", Some(&unit_b)),
        ("Vũ An", "learner", "unspecified", None),
    ] {
        let body = json!({"full_name": name, "category": category, "gender": gender,
            "organization_id": unit, "birth_date": "2008-05-01"});
        people.push(app.create_participant(&admin, body).await["id"].as_str().unwrap().to_owned());
    }
    let places = [
        (0, 0, "enrolled", Some("present")),
        (0, 1, "enrolled", Some("late")),
        (0, 2, "enrolled", Some("absent")),
        (0, 3, "enrolled", None),
        (0, 4, "cancelled", None),
        (1, 0, "enrolled", Some("excused")),
        (1, 3, "enrolled", Some("present")),
        (1, 5, "enrolled", Some("present")),
        (1, 4, "waitlisted", None),
        (2, 1, "enrolled", Some("present")),
        (2, 2, "cancelled", Some("present")),
        (2, 4, "enrolled", Some("present")),
        (3, 0, "enrolled", None),
        (3, 3, "enrolled", Some("present")),
        (3, 5, "waitlisted", None),
    ];
    let mut sql = String::new();
    for (session, person, status, mark) in places {
        let (session, person) = (&sessions[session], &people[person]);
        let enrolment = uuid::Uuid::now_v7();
        let position = if status == "waitlisted" { "1" } else { "NULL" };
        sql.push_str(&format!(
            "INSERT INTO enrolments (id, session_id, participant_id, status, waitlist_position,
                 source, created_at, updated_at)
             VALUES ('{enrolment}', '{session}', '{person}', '{status}', {position}, 'admin',
                 '2023-09-01 00:00:00', '2023-09-01 00:00:00');"
        ));
        if let Some(mark) = mark {
            sql.push_str(&format!(
                "INSERT INTO attendance_marks (enrolment_id, session_id, participant_id, status,
                     source, recorded_at, marked_at)
                 VALUES ('{enrolment}', '{session}', '{person}', '{mark}', 'trainer',
                     '2023-10-02 02:00:00', '2023-10-02 02:00:00');"
            ));
        }
    }
    app.execute_sql(&sql);
    Commune {
        admin,
        unit_a,
        unit_b,
        programme,
        courses: courses.try_into().unwrap(),
        sessions: sessions.try_into().unwrap(),
        people: people.try_into().unwrap(),
    }
}

/// The id of what a `201` reply created.
fn created_id(reply: &Reply) -> String {
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    id(&reply.body)
}

/// The counts of a row or of the totals, in the order of
/// [`COUNTS`]: enrolled, waitlisted, cancelled, attended, people,
/// people_attended, and the rate (`null` before any session ended).
fn counts(row: &Value) -> (i64, i64, i64, i64, i64, i64, Value) {
    let n = |key: &str| row[key].as_i64().unwrap_or_else(|| panic!("{key} in {row:#}"));
    (
        n("enrolled"),
        n("waitlisted"),
        n("cancelled"),
        n("attended"),
        n("people"),
        n("people_attended"),
        row["attendance_rate"].clone(),
    )
}

async fn stats(app: &TestApp, token: &str, query: &str) -> Value {
    let reply = app.get(&format!("/api/v1/stats/enrolments?{query}"), Some(token)).await;
    assert_eq!(reply.status, 200, "{query}: {:#}", reply.body);
    reply.body
}

fn rows(body: &Value) -> &Vec<Value> {
    body["rows"].as_array().unwrap_or_else(|| panic!("rows in {body:#}"))
}

/// The whole commune: 11 places held (4 + 3 + 2 + 2), 2 waitlisted, 2
/// cancelled; 7 attended (2 + 2 + 2 + 1); people p1–p6 all hold a place,
/// p3 never attended; 6 of the 9 places of ended sessions attended.
const ALL: (i64, i64, i64, i64, i64, i64) = (11, 2, 2, 7, 6, 5);

fn rate(value: f64) -> Value {
    json!(value)
}

#[actix_web::test]
async fn totals_and_each_single_grouping_match_the_hand_count() {
    let app = spawn_app().await;
    let c = seed(&app).await;

    let body = stats(&app, &c.admin, "").await;
    let (e, w, x, a, p, pa, r) = counts(&body["totals"]);
    assert_eq!((e, w, x, a, p, pa), ALL);
    assert_eq!(r, rate(0.6667));
    assert_eq!(body["group_by"], json!([]));
    assert_eq!(rows(&body).len(), 1, "without keys the one row is the totals");
    assert_eq!(rows(&body)[0], body["totals"]);

    // By category, in byte order of the spelling.
    let body = stats(&app, &c.admin, "group_by=category").await;
    assert_eq!(body["group_by"], json!(["category"]));
    let expected = [
        ("learner", (1, 1, 0, 1, 1, 1), json!(1.0)),
        ("official", (3, 0, 0, 2, 1, 1), rate(0.5)),
        ("parent", (1, 0, 1, 0, 1, 0), rate(0.0)),
        ("student", (5, 0, 0, 3, 2, 2), rate(0.75)),
        ("worker", (1, 1, 1, 1, 1, 1), json!(1.0)),
    ];
    assert_eq!(rows(&body).len(), expected.len(), "{body:#}");
    for (row, (category, figures, r)) in rows(&body).iter().zip(expected) {
        assert_eq!(row["category"], category);
        let (e, w, x, a, p, pa, got) = counts(row);
        assert_eq!((e, w, x, a, p, pa), figures, "{category}");
        assert_eq!(got, r, "{category}");
        assert!(row.get("organization_id").is_none(), "only the keys asked for: {row:#}");
    }
    assert_eq!(body["totals"]["people"], 6, "computed, not summed (7 by rows would be wrong)");

    // By unit: names in byte order ("Trường" before "Xóm"), no unit last.
    let body = stats(&app, &c.admin, "group_by=organization").await;
    let expected = [
        (json!(c.unit_b), json!("Trường THCS Trung Hội"), (4, 1, 1, 3, 2, 2), rate(0.6667)),
        (json!(c.unit_a), json!("Xóm Đồng Tâm"), (6, 0, 1, 3, 3, 2), rate(0.6)),
        (Value::Null, Value::Null, (1, 1, 0, 1, 1, 1), json!(1.0)),
    ];
    assert_eq!(rows(&body).len(), 3, "{body:#}");
    for (row, (unit, name, figures, r)) in rows(&body).iter().zip(expected) {
        assert_eq!((&row["organization_id"], &row["organization_name"]), (&unit, &name));
        let (e, w, x, a, p, pa, got) = counts(row);
        assert_eq!(((e, w, x, a, p, pa), got), (figures, r), "{name}");
    }
    assert!(
        rows(&body)[2].as_object().unwrap().contains_key("organization_id"),
        "null, not absent"
    );

    let body = stats(&app, &c.admin, "group_by=gender").await;
    let expected = [
        ("female", (5, 1, 2, 2, 3, 2), rate(0.5)),
        ("male", (5, 0, 0, 4, 2, 2), rate(0.75)),
        ("unspecified", (1, 1, 0, 1, 1, 1), json!(1.0)),
    ];
    assert_eq!(rows(&body).len(), 3, "{body:#}");
    for (row, (gender, figures, r)) in rows(&body).iter().zip(expected) {
        assert_eq!(row["gender"], gender);
        let (e, w, x, a, p, pa, got) = counts(row);
        assert_eq!(((e, w, x, a, p, pa), got), (figures, r), "{gender}");
    }

    // By course, titles in byte order: "An…", "Kỹ…", "Tìm…". C3's only
    // session has not taken place: no rate yet.
    let body = stats(&app, &c.admin, "group_by=course").await;
    let expected = [
        (&c.courses[1], "An toàn trên mạng", (2, 0, 1, 2, 2, 2), json!(1.0)),
        (&c.courses[2], "Kỹ năng số cơ bản", (2, 1, 0, 1, 2, 1), Value::Null),
        (&c.courses[0], "Tìm kiếm thông tin hiệu quả", (7, 1, 1, 4, 5, 4), rate(0.5714)),
    ];
    assert_eq!(rows(&body).len(), 3, "{body:#}");
    for (row, (course, title, figures, r)) in rows(&body).iter().zip(expected) {
        assert_eq!(
            (row["course_id"].as_str(), row["course_title"].as_str()),
            (Some(course.as_str()), Some(title))
        );
        let (e, w, x, a, p, pa, got) = counts(row);
        assert_eq!(((e, w, x, a, p, pa), got), (figures, r), "{title}");
    }

    // By session, in time order, with its start in the local zone.
    let body = stats(&app, &c.admin, "group_by=session").await;
    let expected = [
        ("2023-10-02T08:00:00+07:00", (4, 0, 1, 2, 4, 2), rate(0.5)),
        ("2023-10-03T06:30:00+07:00", (3, 1, 0, 2, 3, 2), rate(0.6667)),
        ("2023-10-04T08:00:00+07:00", (2, 0, 1, 2, 2, 2), json!(1.0)),
        ("2099-10-05T08:00:00+07:00", (2, 1, 0, 1, 2, 1), Value::Null),
    ];
    assert_eq!(rows(&body).len(), 4, "{body:#}");
    for ((row, session), (starts, figures, r)) in rows(&body).iter().zip(&c.sessions).zip(expected)
    {
        assert_eq!(row["session_id"], session.as_str());
        assert_eq!(row["session_starts_at"], starts);
        assert_eq!(row["session_venue"], "Nhà văn hoá");
        let (e, w, x, a, p, pa, got) = counts(row);
        assert_eq!(((e, w, x, a, p, pa), got), (figures, r), "{starts}");
    }

    let body = stats(&app, &c.admin, "group_by=programme").await;
    assert_eq!(rows(&body).len(), 2, "{body:#}");
    assert_eq!(rows(&body)[0]["programme_id"], c.programme.as_str());
    assert_eq!(rows(&body)[0]["programme_name"], "Tuần lễ học tập suốt đời 2023");
    let (e, w, x, a, p, pa, r) = counts(&rows(&body)[0]);
    assert_eq!(((e, w, x, a, p, pa), r), ((9, 1, 2, 6, 6, 5), rate(0.6667)));
    assert_eq!(rows(&body)[1]["programme_id"], Value::Null, "C3 is in no programme");
    let (e, w, x, a, p, pa, r) = counts(&rows(&body)[1]);
    assert_eq!(((e, w, x, a, p, pa), r), ((2, 1, 0, 1, 2, 1), Value::Null));

    // By local day: S2 (06:30 on 3 October in Viet Nam, still 2 October in
    // UTC) has a day of its own.
    let body = stats(&app, &c.admin, "group_by=day").await;
    let days: Vec<&str> = rows(&body).iter().map(|r| r["day"].as_str().unwrap()).collect();
    assert_eq!(days, ["2023-10-02", "2023-10-03", "2023-10-04", "2099-10-05"]);
    let enrolled: Vec<i64> = rows(&body).iter().map(|r| r["enrolled"].as_i64().unwrap()).collect();
    assert_eq!(enrolled, [4, 3, 2, 2]);
}

#[actix_web::test]
async fn groupings_combine_and_filters_narrow_the_totals() {
    let app = spawn_app().await;
    let c = seed(&app).await;

    // Each category lives in one unit here, so the rows are the
    // categories' with their unit beside them.
    let body = stats(&app, &c.admin, "group_by=category,organization").await;
    // The list may also come as the parameter repeated, as generated
    // clients send arrays.
    let repeated = stats(&app, &c.admin, "group_by=category&group_by=organization").await;
    assert_eq!(repeated, body);
    let pairs: Vec<(&str, Option<&str>, i64)> = rows(&body)
        .iter()
        .map(|r| {
            (
                r["category"].as_str().unwrap(),
                r["organization_name"].as_str(),
                r["enrolled"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("learner", None, 1),
            ("official", Some("Trường THCS Trung Hội"), 3),
            ("parent", Some("Xóm Đồng Tâm"), 1),
            ("student", Some("Xóm Đồng Tâm"), 5),
            ("worker", Some("Trường THCS Trung Hội"), 1),
        ]
    );
    let body = stats(&app, &c.admin, "group_by=programme,day").await;
    let pairs: Vec<(Option<&str>, &str, i64)> = rows(&body)
        .iter()
        .map(|r| {
            (
                r["programme_name"].as_str(),
                r["day"].as_str().unwrap(),
                r["people"].as_i64().unwrap(),
            )
        })
        .collect();
    let p = Some("Tuần lễ học tập suốt đời 2023");
    assert_eq!(
        pairs,
        [(p, "2023-10-02", 4), (p, "2023-10-03", 3), (p, "2023-10-04", 2), (None, "2099-10-05", 2)]
    );

    // Filters: each narrows the totals to what the hand count gives.
    for (query, figures, r) in [
        (format!("programme_id={}", c.programme), (9, 1, 2, 6, 6, 5), rate(0.6667)),
        (format!("course_id={}", c.courses[0]), (7, 1, 1, 4, 5, 4), rate(0.5714)),
        // S2 and S3 by their local days; S2 starts on 2 October in UTC.
        ("from=2023-10-03&to=2023-10-04".to_owned(), (5, 1, 1, 4, 5, 4), rate(0.8)),
        ("from=2023-10-05".to_owned(), (2, 1, 0, 1, 2, 1), Value::Null),
        ("to=2023-10-02".to_owned(), (4, 0, 1, 2, 4, 2), rate(0.5)),
        (format!("organization_id={}", c.unit_a), (6, 0, 1, 3, 3, 2), rate(0.6)),
        (
            format!("programme_id={}&organization_id={}&from=2023-10-03", c.programme, c.unit_b),
            (2, 1, 0, 2, 2, 2),
            json!(1.0),
        ),
    ] {
        let body = stats(&app, &c.admin, &query).await;
        let (e, w, x, a, p, pa, got) = counts(&body["totals"]);
        assert_eq!(((e, w, x, a, p, pa), got), (figures, r), "{query}");
    }
}

#[actix_web::test]
async fn coordinators_see_their_unit_and_other_roles_no_reports() {
    let app = spawn_app().await;
    let c = seed(&app).await;
    let coordinator = app.coordinator_of(&c.admin, "dieuphoi@trunghoi.vn", &c.unit_a).await.access;

    let body = stats(&app, &coordinator, "group_by=organization").await;
    assert_eq!(rows(&body).len(), 1, "their unit only: {body:#}");
    assert_eq!(rows(&body)[0]["organization_id"], c.unit_a.as_str());
    let (e, w, x, a, p, pa, r) = counts(&body["totals"]);
    assert_eq!(((e, w, x, a, p, pa), r), ((6, 0, 1, 3, 3, 2), rate(0.6)));
    // Naming their own unit is the same; another unit is refused.
    let own = stats(&app, &coordinator, &format!("organization_id={}", c.unit_a)).await;
    assert_eq!(own["totals"], body["totals"]);
    for path in ["stats", "exports"] {
        let other = format!("/api/v1/{path}/enrolments?organization_id={}", c.unit_b);
        app.get(&other, Some(&coordinator)).await.assert_problem(403, "forbidden");
    }
    let export = app.get("/api/v1/exports/enrolments", Some(&coordinator)).await;
    assert_eq!(export.status, 200);
    let lines = csv_lines(&export);
    assert_eq!(lines.len(), 1 + 6 + 1, "header, p1–p3's places and their cancelled one");
    assert!(lines[1..].iter().all(|l| l.contains(",Xóm Đồng Tâm,")), "{lines:#?}");

    let trainer = app.user_with_role(&c.admin, "gv@trunghoi.vn", "trainer").await.access;
    let participant = app.user_with_role(&c.admin, "hv@trunghoi.vn", "participant").await.access;
    for token in [&trainer, &participant] {
        for path in ["/api/v1/stats/enrolments", "/api/v1/exports/enrolments?format=xlsx"] {
            app.get(path, Some(token)).await.assert_problem(403, "forbidden");
        }
    }
    app.get("/api/v1/stats/enrolments", None).await.assert_problem(401, "missing_token");
}

#[actix_web::test]
async fn bad_parameters_are_named_in_a_problem() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (query, field) in [
        ("group_by=category,unit", "group_by"),
        ("group_by=day,day", "group_by"),
        ("group_by=day&group_by=day", "group_by"),
        ("from=2023-13-01", "from"),
        ("to=yesterday", "to"),
        ("format=pdf", "format"),
        ("programme_id=42", "programme_id"),
        ("organization_id=", "organization_id"),
    ] {
        let reply = app.get(&format!("/api/v1/stats/enrolments?{query}"), Some(&admin)).await;
        reply.assert_problem(400, "invalid_parameter");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
    let reply = app.get("/api/v1/exports/enrolments?format=json", Some(&admin)).await;
    reply.assert_problem(400, "invalid_parameter");
    assert_eq!(reply.error_fields(), ["format"]);
}

/// The lines of a CSV reply, after checking its type and byte-order mark.
fn csv_lines(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = std::str::from_utf8(&reply.bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark first");
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    text.trim_end_matches("\r\n").split("\r\n").map(str::to_owned).collect()
}

#[actix_web::test]
async fn statistics_download_as_csv_and_xlsx() {
    let app = spawn_app().await;
    let c = seed(&app).await;

    let reply =
        app.get("/api/v1/stats/enrolments?group_by=category&format=csv", Some(&c.admin)).await;
    assert_eq!(reply.status, 200);
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"lophoc-enrolment-stats-{today}.csv\"").as_str())
    );
    assert_eq!(
        csv_lines(&reply),
        [
            "Category,Enrolled,Waitlisted,Cancelled,Attended,People,People attended,Attendance rate",
            "Learner,1,1,0,1,1,1,1.0000",
            "Official,3,0,0,2,1,1,0.5000",
            "Parent,1,0,1,0,1,0,0.0000",
            "Student,5,0,0,3,2,2,0.7500",
            "Worker,1,1,1,1,1,1,1.0000",
            "Total,11,2,2,7,6,5,0.6667",
        ]
    );
    // In Vietnamese when asked, by header or, for a link opened in a
    // browser, by `lang`; the file's own path gives the same file.
    let vietnamese = [
        "Đối tượng,Đã ghi danh,Danh sách chờ,Đã hủy,Lượt tham dự,Số người,Số người tham dự,Tỷ lệ tham dự",
        "Người học,1,1,0,1,1,1,1.0000",
        "\"Cán bộ, công chức, viên chức\",3,0,0,2,1,1,0.5000",
        "Phụ huynh,1,0,1,0,1,0,0.0000",
        "Học sinh,5,0,0,3,2,2,0.7500",
        "Người lao động,1,1,1,1,1,1,1.0000",
        "Tổng cộng,11,2,2,7,6,5,0.6667",
    ];
    let path = "/api/v1/stats/enrolments?group_by=category&format=csv";
    let vi = [("Accept-Language", "vi-VN,vi;q=0.9,en;q=0.5")];
    let by_header = app.request(Method::GET, path, Some(&c.admin), &vi, None).await;
    assert_eq!(csv_lines(&by_header), vietnamese);
    let by_link = app.get(&format!("{path}&lang=vi"), Some(&c.admin)).await;
    assert_eq!(csv_lines(&by_link), vietnamese);
    let in_english = format!("{path}&lang=en");
    let english = app.request(Method::GET, &in_english, Some(&c.admin), &vi, None).await;
    assert_eq!(csv_lines(&english)[0], csv_lines(&reply)[0], "`lang` wins");
    let own_path = "/api/v1/stats/enrolments.csv?group_by=category&lang=vi";
    assert_eq!(csv_lines(&app.get(own_path, Some(&c.admin)).await), vietnamese);
    // With ids in the last columns, the totals line is as wide as the rest.
    let by_unit = "/api/v1/stats/enrolments.csv?group_by=organization,course";
    let lines = csv_lines(&app.get(by_unit, Some(&c.admin)).await);
    assert!(lines.last().unwrap().starts_with("Total,,"), "{lines:#?}");
    let fields = |line: &String| line.matches(',').count();
    assert!(lines.iter().all(|line| fields(line) == fields(&lines[0])), "{lines:#?}");

    let reply = app
        .get("/api/v1/stats/enrolments?group_by=organization,session&format=xlsx", Some(&c.admin))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert!(reply.header("content-disposition").unwrap().ends_with(".xlsx\""));
    let book = Workbook::read(&reply.bytes);
    assert_eq!(book.sheet_name, "Enrolments by unit, session");
    let header: Vec<&str> = book.rows[0].iter().map(Cell::text).collect();
    assert_eq!(
        header,
        [
            "Unit",
            "Session starts (Asia/Ho_Chi_Minh time)",
            "Venue",
            "Enrolled",
            "Waitlisted",
            "Cancelled",
            "Attended",
            "People",
            "People attended",
            "Attendance rate",
            "Unit id",
            "Session id",
        ]
    );
    // Unit B in S1: p4 held a place and was not marked, p5 cancelled.
    let first = &book.rows[1];
    assert_eq!(first[0], Cell::Text("Trường THCS Trung Hội".into()));
    // 08:00 on 2 October 2023 on the local clock, as a typed date-time.
    assert_eq!(first[1], Cell::Number(45201.0 + 8.0 / 24.0, Some(2)));
    assert_eq!(&first[3..7], [1.0, 0.0, 1.0, 0.0].map(|n| Cell::Number(n, None)));
    assert_eq!(first[9], Cell::Number(0.0, Some(4)), "a percentage");
    assert_eq!(first[10], Cell::Text(c.unit_b.clone()));
    let last = book.rows.last().unwrap();
    assert_eq!(last[0], Cell::Text("Total".into()));
    assert_eq!(last[3], Cell::Number(11.0, None));
    assert_eq!(last[9], Cell::Number(0.6667, Some(4)));
    let of_unit_a = book.rows.iter().filter(|r| r.get(10) == Some(&Cell::Text(c.unit_a.clone())));
    assert_eq!(of_unit_a.count(), 4, "unit A has places in all four sessions");
    assert_eq!(book.rows.len(), 1 + 4 + 4 + 2 + 1, "header, units B, A and none, totals");
    let no_unit = &book.rows[book.rows.len() - 2];
    assert_eq!(no_unit[0], Cell::Text("(no unit)".into()), "said, not left blank");
    // Laid out for reading: bold frozen header, an autofilter over the
    // table, and each column as wide as its widest value.
    assert!(book.header_is_bold_and_frozen);
    // The totals row stays out of the filter: sorting leaves it last.
    assert_eq!(book.autofilter.as_deref(), Some("A1:L11"));
    assert_eq!(book.widths.len(), 12);
    for (i, width) in book.widths.iter().enumerate() {
        let widest = book.rows.iter().filter_map(|r| r.get(i)).map(Cell::shown_chars).max();
        assert!(*width >= widest.unwrap_or(0) as f64, "column {i}: {width} < {widest:?}");
        assert!(*width <= 62.0, "column {i}: {width}");
    }
    let vi = "/api/v1/stats/enrolments.xlsx?group_by=organization,session&lang=vi";
    let book = Workbook::read(&app.get(vi, Some(&c.admin)).await.bytes);
    assert_eq!(book.sheet_name, "Ghi danh theo đơn vị, buổi học");
    assert_eq!(book.rows[0][0], Cell::Text("Đơn vị".into()));
    assert_eq!(book.rows[0][1], Cell::Text("Giờ bắt đầu buổi học (giờ Asia/Ho_Chi_Minh)".into()));
    assert_eq!(book.rows.last().unwrap()[0], Cell::Text("Tổng cộng".into()));
}

#[actix_web::test]
async fn the_export_lists_every_enrolment_in_session_order() {
    let app = spawn_app().await;
    let c = seed(&app).await;
    // A name a spreadsheet would run as a formula, and one with a comma.
    let path = format!("/api/v1/participants/{}", c.people[5]);
    let rename = json!({"full_name": "=HYPERLINK(\"http://x\",\"Vũ, An\")"});
    assert_eq!(app.patch(&path, Some(&c.admin), &rename).await.status, 200);
    // And one with nothing to quote.
    let path = format!("/api/v1/participants/{}", c.people[4]);
    assert_eq!(app.patch(&path, Some(&c.admin), &json!({"full_name": "@Hoa"})).await.status, 200);

    let reply = app.get("/api/v1/exports/enrolments", Some(&c.admin)).await;
    assert_eq!(reply.status, 200);
    let disposition = reply.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment; filename=\"lophoc-enrolments-"), "{disposition}");
    let lines = csv_lines(&reply);
    assert_eq!(
        lines[0],
        "Full name,Category,Gender,Unit,Programme,Course,Starts (Asia/Ho_Chi_Minh time),Venue,\
         Enrolment,Waitlist position,Enrolled by,Attendance,Enrolment id,Participant id,Session id"
    );
    assert_eq!(lines.len(), 1 + 15, "every place, cancelled and waitlisted too");
    // Sessions in time order: S1's five places first, S4's three last.
    let sessions: Vec<usize> = lines[1..]
        .iter()
        .map(|line| c.sessions.iter().position(|s| line.contains(s.as_str())).unwrap())
        .collect();
    assert_eq!(sessions, [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    let line_of = |session: usize, person: usize| {
        lines[1..]
            .iter()
            .find(|l| l.contains(&c.sessions[session]) && l.contains(&c.people[person]))
            .unwrap_or_else(|| panic!("S{} p{}", session + 1, person + 1))
            .clone()
    };
    let (p1, s2) = (&c.people[0], &c.sessions[1]);
    let lan = line_of(1, 0);
    assert!(
        lan.starts_with(
            "Nguyễn Thị Lan,Student,Female,Xóm Đồng Tâm,Tuần lễ học tập suốt đời 2023,\
             Tìm kiếm thông tin hiệu quả,2023-10-03 06:30,Nhà văn hoá,Enrolled,,Administrator,\
             Excused,"
        ) && lan.ends_with(&format!(",{p1},{s2}")),
        "people first, ids last: {lan}"
    );
    let waiting = line_of(1, 4);
    assert!(waiting.starts_with("'@Hoa,"), "a formula is text: {waiting}");
    assert!(waiting.contains(",Waitlisted,1,Administrator,,"), "no mark: {waiting}");
    assert!(line_of(2, 2).contains(",Cancelled,,Administrator,Present,"), "the mark stays");
    assert!(
        line_of(1, 5)
            .starts_with("\"'=HYPERLINK(\"\"http://x\"\",\"\"Vũ, An\"\")\",Learner,Unspecified,,"),
        "a formula is text, quoted: {}",
        line_of(1, 5)
    );

    // Each export is in the audit trail, with its filters.
    let trail = app.get("/api/v1/audit-events?action=export", Some(&c.admin)).await;
    let events = trail.body["items"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{:#}", trail.body);
    assert_eq!(events[0]["entity_type"], "user");
    assert_eq!(events[0]["actor_id"], events[0]["entity_id"]);
    assert_eq!(
        events[0]["changes"],
        json!([{"field": "format", "from": null, "to": "csv", "redacted": false}])
    );

    // Anonymising p3 empties their name; the counts stay.
    let before = stats(&app, &c.admin, "group_by=category").await;
    let path = format!("/api/v1/participants/{}/anonymize", c.people[2]);
    assert_eq!(app.post(&path, Some(&c.admin), &json!({})).await.status, 200);
    assert_eq!(stats(&app, &c.admin, "group_by=category").await, before);
    let reply = app.get("/api/v1/exports/enrolments", Some(&c.admin)).await;
    let anonymous = csv_lines(&reply).into_iter().find(|l| l.contains(&c.people[2])).unwrap();
    assert!(anonymous.starts_with(",Parent,Female,Xóm Đồng Tâm,"), "{anonymous}");

    // The same rows as a workbook, filtered to one course.
    let query = format!("/api/v1/exports/enrolments?format=xlsx&course_id={}", c.courses[1]);
    let reply = app.get(&query, Some(&c.admin)).await;
    assert_eq!(reply.status, 200);
    let trail = app.get("/api/v1/audit-events?action=export", Some(&c.admin)).await;
    let last = trail.body["items"].as_array().unwrap().last().unwrap().clone();
    let fields: Vec<&str> =
        last["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["course_id", "format"], "only the filters given");
    let book = Workbook::read(&reply.bytes);
    assert_eq!(book.sheet_name, "Enrolments");
    assert_eq!(book.rows.len(), 1 + 3, "S3's three places");
    assert_eq!(book.rows[0][0], Cell::Text("Full name".into()));
    let p2 = book.rows.iter().find(|r| r[13] == Cell::Text(c.people[1].clone())).unwrap();
    assert_eq!(p2[0], Cell::Text("Trần Văn Nam".into()));
    assert_eq!(p2[6], Cell::Number(45203.0 + 8.0 / 24.0, Some(2)), "08:00 on 4 October, typed");
    assert_eq!(p2[11], Cell::Text("Present".into()));
    assert!(book.header_is_bold_and_frozen);
    assert_eq!(book.autofilter.as_deref(), Some("A1:O4"));
    assert!(book.widths.iter().all(|w| *w >= 8.0), "{:?}", book.widths);
    assert!(book.widths[6] >= 16.0, "a date and time fits: {:?}", book.widths);

    // In Vietnamese, at the file's own path.
    let vi = app.get("/api/v1/exports/enrolments.csv?lang=vi", Some(&c.admin)).await;
    let vi = csv_lines(&vi);
    assert!(
        vi[0].starts_with(
            "Họ và tên,Đối tượng,Giới tính,Đơn vị,Chương trình,Khóa học,\
             Giờ bắt đầu (giờ Asia/Ho_Chi_Minh),Địa điểm,Ghi danh,"
        ),
        "{}",
        vi[0]
    );
    let lan = vi.iter().find(|l| l.contains(p1.as_str()) && l.contains(s2.as_str())).unwrap();
    assert!(lan.starts_with("Nguyễn Thị Lan,Học sinh,Nữ,Xóm Đồng Tâm,"), "{lan}");
    assert!(lan.contains(",Đã ghi danh,,Quản trị viên,Vắng có phép,"), "{lan}");
}

#[actix_web::test]
async fn a_long_export_arrives_whole_in_many_chunks() {
    let app = spawn_app().await;
    let c = seed(&app).await;
    // 3,000 more places in S2, enough for tens of chunks.
    let mut sql = String::new();
    for n in 0..3000 {
        let person = uuid::Uuid::now_v7();
        sql.push_str(&format!(
            "INSERT INTO participants (id, full_name, search_name, category, gender, created_at, updated_at)
             VALUES ('{person}', 'Người Học {n}', 'nguoi hoc {n}', 'learner', 'male',
                 '2023-09-01 00:00:00', '2023-09-01 00:00:00');
             INSERT INTO enrolments (id, session_id, participant_id, status, source, created_at, updated_at)
             VALUES ('{}', '{}', '{person}', 'enrolled', 'import', '2023-09-01 00:00:00', '2023-09-01 00:00:00');",
            uuid::Uuid::now_v7(),
            c.sessions[1]
        ));
    }
    app.execute_sql(&format!("BEGIN; {sql} COMMIT;"));

    let reply = app.get("/api/v1/exports/enrolments", Some(&c.admin)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.bytes.len() > 10 * 64 * 1024, "{} bytes", reply.bytes.len());
    let lines = csv_lines(&reply);
    assert_eq!(lines.len(), 1 + 15 + 3000);
    assert!(lines.last().unwrap().contains(&c.sessions[3]), "S4 still last");

    let reply = app.get("/api/v1/exports/enrolments?format=xlsx", Some(&c.admin)).await;
    let book = Workbook::read(&reply.bytes);
    assert_eq!(book.rows.len(), 1 + 15 + 3000);
    let body = stats(&app, &c.admin, "").await;
    assert_eq!(body["totals"]["people"], 6 + 3000);
}

#[actix_web::test]
async fn exports_beyond_the_slots_are_turned_away_until_one_ends() {
    // A pool of four connections allows one export at a time; a client
    // that stops reading is given a second.
    let app = spawn_app_with(|config| {
        config.db_pool_size = 4;
        config.export_stall = std::time::Duration::from_secs(1);
    })
    .await;
    let admin = app.admin_token().await;
    let other_admin = app.user_with_role(&admin, "qtv2@example.vn", "admin").await.access;
    let course = app.create_course(&admin, None).await;
    let session = id(&app.create_session(&admin, &course, 2, &[]).await);
    // 60,000 places: some 15 MB of CSV, more than the chunks in flight and
    // the sockets' buffers hold, so that an unread export stays open.
    let (series, id) = if app.db().is_postgres() {
        (
            "WITH n(i) AS (SELECT generate_series(1, 60000))",
            "'00000000-0000-7000-9000-' || lpad(i::text, 12, '0')",
        )
    } else {
        (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)",
            "printf('00000000-0000-7000-9000-%012d', i)",
        )
    };
    let t = "'2023-09-01 00:00:00'";
    app.execute_sql(&format!(
        "{series} INSERT INTO participants (id, full_name, search_name, category, gender, created_at, updated_at)
             SELECT {id}, 'Người Học Số ' || i, 'nguoi hoc so ' || i, 'learner', 'female', {t}, {t} FROM n;
         INSERT INTO enrolments (id, session_id, participant_id, status, source, created_at, updated_at)
             SELECT replace(id, '-9000-', '-a000-'), '{session}', id, 'enrolled', 'import', {t}, {t}
             FROM participants WHERE id LIKE '00000000-0000-7000-9000-%';"
    ));

    let client = awc::Client::default();
    let url = format!("{}/api/v1/exports/enrolments", app.address);
    let unread = client.get(&url).bearer_auth(&admin).send().await.expect("the export starts");
    assert_eq!(unread.status(), 200);
    // One export at a time per caller…
    let again = app.get("/api/v1/exports/enrolments?format=xlsx", Some(&admin)).await;
    again.assert_problem(429, "too_many_requests");
    assert_eq!(again.header("retry-after"), Some("30"));
    // …and as many at once as the server has slots.
    let busy = app.get("/api/v1/exports/enrolments?format=xlsx", Some(&other_admin)).await;
    busy.assert_problem(503, "service_unavailable");
    assert_eq!(busy.header("retry-after"), Some("30"));
    assert_eq!(stats(&app, &admin, "").await["totals"]["enrolled"], 60_000, "the API still serves");

    // Its client stops reading without leaving: after the stall, the
    // export ends and frees its slot and its caller's turn.
    let mut waited = 0;
    let reply = loop {
        let reply = app.get("/api/v1/exports/enrolments", Some(&other_admin)).await;
        if reply.status != 503 || waited >= 100 {
            break reply;
        }
        waited += 1;
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(reply.status, 200, "the slot came back");
    assert_eq!(csv_lines(&reply).len(), 1 + 60_000);
    let own = app.get("/api/v1/exports/enrolments", Some(&admin)).await;
    assert_eq!(own.status, 200, "the caller's turn came back");
    drop(unread);

    // What a stalled client reads at last is a broken download (no final
    // chunk), never a short file that looks whole. awc takes a closed
    // connection for the end, so the bytes are read as they come, once the
    // server has given the export up (its slot is free again: `/metrics`).
    let address = app.address.trim_start_matches("http://").to_owned();
    let (given_up, read_now) = std::sync::mpsc::channel::<()>();
    let reader = actix_web::rt::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let request = format!(
            "GET /api/v1/exports/enrolments HTTP/1.1\r\nHost: lophoc\r\nAuthorization: Bearer {admin}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        read_now.recv().unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    });
    let exporting = || async {
        let metrics = app.get("/metrics", Some(&other_admin)).await;
        let text = String::from_utf8_lossy(&metrics.bytes).into_owned();
        text.lines().any(|line| line == "lophoc_exports_in_progress 1")
    };
    for wanted in [true, false] {
        let mut waited = 0;
        while exporting().await != wanted {
            waited += 1;
            assert!(waited < 600, "the export never {}", if wanted { "began" } else { "ended" });
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    given_up.send(()).unwrap();
    let raw = reader.await.unwrap();
    assert!(raw.starts_with(b"HTTP/1.1 200"));
    assert!(!raw.ends_with(b"\r\n0\r\n\r\n"), "the stalled download ended as if whole");
}

#[actix_web::test]
async fn local_days_follow_a_change_of_zone_at_start_up() {
    let app = spawn_app().await;
    let c = seed(&app).await;
    let days = |body: &Value| -> Vec<String> {
        rows(body).iter().map(|r| r["day"].as_str().unwrap().to_owned()).collect()
    };
    let body = stats(&app, &c.admin, "group_by=day").await;
    assert_eq!(days(&body), ["2023-10-02", "2023-10-03", "2023-10-04", "2099-10-05"]);

    // Restarted in UTC, S2 (23:30 UTC on 2 October) moves to 2 October.
    let db = app.stop();
    let mut config = db.config();
    config.timezone = chrono_tz::UTC;
    let app = start(db, config).await;
    let admin = app.admin_token().await;
    let body = stats(&app, &admin, "group_by=day").await;
    assert_eq!(days(&body), ["2023-10-02", "2023-10-04", "2099-10-05"]);
    assert_eq!(rows(&body)[0]["enrolled"], 4 + 3);
    let body = stats(&app, &admin, "group_by=session").await;
    assert_eq!(rows(&body)[1]["session_starts_at"], "2023-10-02T23:30:00Z");
}

/// A cell of a sheet as the file holds it: text, or a number with its
/// style index (dates, times and percentages are styled numbers), or
/// nothing (a column the row skips).
#[derive(Debug, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Number(f64, Option<u32>),
}

impl Cell {
    fn text(&self) -> &str {
        match self {
            Cell::Text(text) => text,
            other => panic!("{other:?} where text was expected"),
        }
    }

    /// How many characters a spreadsheet shows for the cell, by its style
    /// (2 a date and time, 3 a day, 4 a percentage).
    fn shown_chars(&self) -> usize {
        match self {
            Cell::Empty => 0,
            Cell::Text(text) => text.chars().count(),
            Cell::Number(_, Some(2)) => "2023-10-02 08:00".len(),
            Cell::Number(_, Some(3)) => "2023-10-02".len(),
            Cell::Number(_, Some(4)) => "100.00%".len(),
            Cell::Number(n, _) => n.to_string().len(),
        }
    }
}

/// The one sheet of an XLSX file, read with the zip crate and a reader of
/// just the SpreadsheetML that lophoc writes (inline strings, `<v>`
/// numbers), so that the test does not trust lophoc's own writer.
struct Workbook {
    sheet_name: String,
    rows: Vec<Vec<Cell>>,
    /// The first sheet's column widths, in characters.
    widths: Vec<f64>,
    /// The first sheet's autofilter range, with its defined name checked.
    autofilter: Option<String>,
    header_is_bold_and_frozen: bool,
}

impl Workbook {
    fn read(bytes: &[u8]) -> Self {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
        let mut part = |name: &str| {
            let mut text = String::new();
            archive
                .by_name(name)
                .unwrap_or_else(|_| panic!("{name}"))
                .read_to_string(&mut text)
                .unwrap();
            text
        };
        for required in
            ["[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/styles.xml"]
        {
            assert!(part(required).starts_with("<?xml"), "{required}");
        }
        let workbook = part("xl/workbook.xml");
        let sheet_name = between(&workbook, "<sheet name=\"", "\"").to_owned();
        let sheet = part("xl/worksheets/sheet1.xml");
        let widths = sheet
            .split("<col ")
            .skip(1)
            .map(|col| between(col, "width=\"", "\"").parse().unwrap())
            .collect();
        let autofilter = sheet.contains("<autoFilter ").then(|| {
            let range = between(&sheet, "<autoFilter ref=\"", "\"").to_owned();
            let name = between(&workbook, "name=\"_xlnm._FilterDatabase\"", "</definedName>");
            assert!(name.ends_with(&absolute(&range)), "{name} names {range}");
            range
        });
        let frozen = sheet.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#,
        );
        let header = between(&sheet, "<row r=\"1\">", "</row>");
        let bold = header.split("<c ").skip(1).all(|cell| cell.contains(" s=\"1\""));
        let mut rows = Vec::new();
        for (r, row) in sheet.split("<row ").skip(1).enumerate() {
            assert!(row.starts_with(&format!("r=\"{}\"", r + 1)), "rows numbered from 1");
            let mut cells = Vec::new();
            for cell in row.split("<c ").skip(1) {
                // Cells name their place (`r="C2"`); skipped ones are empty.
                let place = between(cell, "r=\"", "\"");
                let letters = place.trim_end_matches(|c: char| c.is_ascii_digit());
                let column = letters.bytes().fold(0, |n, b| n * 26 + usize::from(b - b'A' + 1)) - 1;
                assert!(column >= cells.len(), "cells in column order");
                cells.resize_with(column, || Cell::Empty);
                let style = cell
                    .split_once(" s=\"")
                    .filter(|(attributes, _)| !attributes.contains('>'))
                    .map(|(_, rest)| rest[..rest.find('"').unwrap()].parse().unwrap());
                if cell.contains("t=\"inlineStr\"") {
                    let text = between(cell, "<t xml:space=\"preserve\">", "</t>");
                    let text =
                        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"");
                    cells.push(Cell::Text(text.replace("&amp;", "&")));
                } else {
                    cells.push(Cell::Number(between(cell, "<v>", "</v>").parse().unwrap(), style));
                }
            }
            rows.push(cells);
        }
        Self { sheet_name, rows, widths, autofilter, header_is_bold_and_frozen: frozen && bold }
    }
}

/// `A1:L12` as `$A$1:$L$12`.
fn absolute(range: &str) -> String {
    let cell = |at: &str| {
        let digits = at.find(|c: char| c.is_ascii_digit()).unwrap();
        format!("${}${}", &at[..digits], &at[digits..])
    };
    range.split(':').map(cell).collect::<Vec<_>>().join(":")
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("{start} in {text}")) + start.len();
    &text[from..from + text[from..].find(end).unwrap()]
}

/// Statistics are kept between requests while nothing changes, but never
/// served past a commit (from any connection) or past the end of a session,
/// which moves the attendance rate.
#[actix_web::test]
async fn kept_statistics_follow_every_commit_and_every_session_that_ends() {
    let app = spawn_app().await;
    let c = seed(&app).await;
    let totals = |body: &Value| counts(&body["totals"]);

    let first = stats(&app, &c.admin, "group_by=category").await;
    assert_eq!(totals(&first).0, 11);
    assert_eq!(totals(&first).6, rate(0.6667));
    assert_eq!(stats(&app, &c.admin, "group_by=category").await, first, "nothing changed");

    // A place committed by another connection shows at once.
    app.enrol_directly(&c.sessions[2], &c.people[0]);
    let enrolled = stats(&app, &c.admin, "group_by=category").await;
    assert_eq!(totals(&enrolled).0, 12);
    assert_eq!(totals(&enrolled).6, rate(0.6), "6 of the 10 places of ended sessions");

    // The 2099 session (2 places, 1 attended) now ends a few seconds from
    // now: its places join the rate once it has ended, with no commit.
    let ends = chrono::Utc::now() + chrono::Duration::seconds(4);
    app.move_session(&c.sessions[3], ends - chrono::Duration::hours(1), chrono::Duration::hours(1));
    let before_end = stats(&app, &c.admin, "group_by=category").await;
    if chrono::Utc::now() < ends {
        assert_eq!(totals(&before_end).6, rate(0.6), "not ended yet");
    }
    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default()).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let after_end = stats(&app, &c.admin, "group_by=category").await;
    assert_eq!(totals(&after_end).6, rate(0.5833), "7 of the 12 places of ended sessions");
}

#[actix_web::test]
async fn exports_show_summer_time_in_a_zone_postgres_takes_for_an_abbreviation() {
    // PostgreSQL reads `CET` as a fixed UTC+1; the time zone database, and
    // so lophoc, has summer time at UTC+2.
    let app = spawn_app_with(|config| config.timezone = chrono_tz::CET).await;
    let admin = app.admin_token().await;
    let course = app.create_course(&admin, None).await;
    // 3 October 2023, 08:00 in Hanoi: 01:00 UTC, 03:00 in Paris.
    let session = id(&app.create_session(&admin, &course, 3, &[]).await);
    let person = app.create_participant(&admin, json!({"full_name": "Lan", "category": "learner"}));
    app.enrol_directly(&session, &id(&person.await));

    let lines = csv_lines(&app.get("/api/v1/exports/enrolments.csv", Some(&admin)).await);
    assert!(lines[0].contains("(CET time)"), "{}", lines[0]);
    assert!(lines[1].contains(",2023-10-03 03:00,"), "{}", lines[1]);
}

#[actix_web::test]
async fn a_callers_export_on_another_server_holds_their_turn_until_its_lease_lapses() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    // Another server runs an export of this caller's: its turn is in the
    // database, with a lease it renews.
    app.execute_sql(&format!(
        "INSERT INTO export_turns (caller_id, claim, expires_at)
         VALUES ('{me}', '{}', '2999-01-01 00:00:00')",
        uuid::Uuid::now_v7()
    ));
    let refused = app.get("/api/v1/exports/enrolments", Some(&admin)).await;
    refused.assert_problem(429, "too_many_requests");
    // That server died: once the lease has lapsed, the turn is free.
    app.execute_sql(&format!(
        "UPDATE export_turns SET expires_at = '2000-01-01 00:00:00' WHERE caller_id = '{me}'"
    ));
    for _ in 0..2 {
        let export = app.get("/api/v1/exports/enrolments", Some(&admin)).await;
        assert_eq!(export.status, 200, "an export ends its turn: {:?}", export.body);
    }
}

#[actix_web::test]
async fn a_running_export_renews_its_turn_and_its_end_frees_it() {
    use lophoc::reports::export_turns::ExportTurns;
    let app = spawn_app().await;
    let url = lophoc::db::DatabaseUrl::parse(&app.db().url());
    let db = lophoc::db::Db::connect(&url, 2).unwrap();
    let (this_server, other_server) = (ExportTurns::default(), ExportTurns::default());
    let caller: lophoc::id::Id = uuid::Uuid::now_v7().into();
    let mut conn = db.get().unwrap();
    let turn = this_server.begin(&db, &mut conn, caller).unwrap().expect("a free turn");
    assert!(other_server.begin(&db, &mut conn, caller).unwrap().is_none(), "one at a time");
    // A lease about to lapse is renewed by the server that runs the export.
    app.execute_sql(&format!(
        "UPDATE export_turns SET expires_at = '2000-01-01 00:00:00' WHERE caller_id = '{caller}'"
    ));
    this_server.renew(&mut conn);
    assert!(other_server.begin(&db, &mut conn, caller).unwrap().is_none(), "renewed");
    turn.end(&mut conn);
    assert!(this_server.is_empty());
    let next = other_server.begin(&db, &mut conn, caller).unwrap();
    assert!(next.is_some(), "free once ended");
    // A turn dropped without its end (a refusal, a client gone) is freed
    // too, off the request's thread.
    drop(next);
    let mut freed = None;
    for _ in 0..50 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        freed = this_server.begin(&db, &mut conn, caller).unwrap();
        if freed.is_some() {
            break;
        }
    }
    assert!(freed.is_some(), "a dropped turn was freed");
}
