//! Importing the lists that schools and hamlets keep in spreadsheets.

use std::io::Write;

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn import(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let path = format!("/api/v1/participants/import{query}");
    app.request(Method::POST, &path, Some(token), &[("Content-Type", content_type)], Some(body))
        .await
}

async fn school(app: &TestApp, admin: &str) -> String {
    let body = json!({"kind": "school", "name": "Trường THCS Đồng Tâm", "code": "THCS-DT"});
    id(&app.post("/api/v1/organizations", Some(admin), &body).await.body)
}

async fn participant_count(app: &TestApp, admin: &str) -> usize {
    items(&app.get("/api/v1/participants?limit=200", Some(admin)).await).len()
}

fn outcomes(reply: &Reply) -> Vec<(u64, String)> {
    reply.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["row"].as_u64().unwrap(), row["outcome"].as_str().unwrap().to_owned()))
        .collect()
}

fn error_fields(row: &Value) -> Vec<&str> {
    row["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect()
}

/// A class list as Excel saves "CSV" where the decimal mark is a comma:
/// a byte-order mark, `;` between cells, Vietnamese headers in an order of
/// its own, a column lophoc does not know (STT, the row's number), filled
/// in one row further than the names.
fn class_list() -> Vec<u8> {
    let rows = [
        "STT;Họ và tên;Ngày sinh;Giới tính;Đối tượng;Đơn vị;Điện thoại người giám hộ;Đồng ý của người giám hộ",
        "1;Nguyễn Văn An;04/05/2013;Nam;Học sinh;THCS-DT;+84 912 345 678;Có",
        "2;Trần Thị Bình;2012-01-02;Nữ;hoc sinh;Trường THCS Đồng Tâm;;",
        "3;;2012-01-02;Nữ;Học sinh;;;",
        "4;Lê Văn Cường;31/02/2012;Nam;Học sinh;;;",
        "5;NGUYEN VAN  AN;04/05/2013;Nam;Học sinh;THCS-DT;;",
        "6;Phạm Đức;01/01/1990;Nam;Người lao động;Xóm Không Có;;",
        // Numbered ahead, left empty: no one.
        "7;;;;;;;",
        ";;;;;;;",
    ];
    let mut file = "\u{feff}".as_bytes().to_vec();
    file.extend(rows.join("\r\n").into_bytes());
    file
}

#[actix_web::test]
async fn a_class_list_saved_by_excel_is_checked_row_by_row_and_imported_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let school = school(&app, &admin).await;
    let parent =
        json!({"full_name": "Nguyễn Thị Mẹ", "category": "parent", "phone": "0912 345 678"});
    let parent = id(&app.create_participant(&admin, parent).await);
    let before = participant_count(&app, &admin).await;

    let dry = import(&app, &admin, "?dry_run=true", "text/csv", class_list()).await;
    assert_eq!(dry.status, 200, "{:#}", dry.body);
    assert_eq!(dry.body["dry_run"], true);
    assert_eq!(
        dry.body["summary"],
        json!({"created": 2, "matched": 1, "enrolled": 0, "refused": 3})
    );
    assert_eq!(participant_count(&app, &admin).await, before, "a dry run writes nothing");

    let done = import(&app, &admin, "", "text/csv", class_list()).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.body["summary"], dry.body["summary"], "a dry run answers what the import does");
    assert_eq!(
        outcomes(&done),
        [
            (2, "created".into()),
            (3, "created".into()),
            (4, "refused".into()),
            (5, "refused".into()),
            (6, "matched".into()),
            (7, "refused".into()),
        ]
    );
    let rows = done.body["rows"].as_array().unwrap();
    assert_eq!(rows[4]["participant_id"], rows[0]["participant_id"], "the same child twice");
    assert_eq!(error_fields(&rows[2]), ["full_name"]);
    assert_eq!(error_fields(&rows[3]), ["birth_date"]);
    assert_eq!(error_fields(&rows[5]), ["unit"]);
    assert_eq!(rows[2]["reason"], "validation_failed");
    assert!(rows[0].get("errors").is_none());
    assert_eq!(participant_count(&app, &admin).await, before + 2);

    // The guardian found by phone, the form's consent, the unit by code and
    // by name, the labels read as codes.
    let an = app
        .get(
            &format!("/api/v1/participants/{}", rows[0]["participant_id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(an.body["guardian_id"], parent.as_str());
    assert_eq!(an.body["guardian_consent"]["method"], "paper");
    assert_eq!(an.body["organization_id"], school.as_str());
    assert_eq!(an.body["birth_date"], "2013-05-04");
    assert_eq!(an.body["gender"], "male");
    assert_eq!(an.body["category"], "student");
    let binh = app
        .get(
            &format!("/api/v1/participants/{}", rows[1]["participant_id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(binh.body["organization_id"], school.as_str());
    assert_eq!(binh.body["guardian_consent"], Value::Null);

    let again = import(&app, &admin, "", "text/csv", class_list()).await;
    assert_eq!(
        again.body["summary"],
        json!({"created": 0, "matched": 3, "enrolled": 0, "refused": 3})
    );
    assert_eq!(
        participant_count(&app, &admin).await,
        before + 2,
        "importing twice creates nothing"
    );

    // Errors in the caller's language.
    let path = "/api/v1/participants/import?dry_run=true";
    let headers = [("Content-Type", "text/csv"), ("Accept-Language", "vi")];
    let vi = app.request(Method::POST, path, Some(&admin), &headers, Some(class_list())).await;
    assert_eq!(vi.body["rows"][2]["errors"][0]["message"], "là bắt buộc");
}

/// A workbook as a spreadsheet program writes it: text in the shared
/// strings, days and a phone as numbers, a row left out, English headers.
fn workbook(rows: &[&[Cell]]) -> Vec<u8> {
    let mut strings: Vec<String> = Vec::new();
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        // Row 2 is left empty, as a spreadsheet leaves a blank row out.
        let number = if r == 0 { 1 } else { r + 2 };
        sheet.push_str(&format!(r#"<row r="{number}">"#));
        for (c, cell) in row.iter().enumerate() {
            let reference = format!("{}{number}", (b'A' + c as u8) as char);
            match cell {
                Cell::S(text) => {
                    let index = strings.iter().position(|s| s == text).unwrap_or_else(|| {
                        strings.push(text.to_string());
                        strings.len() - 1
                    });
                    sheet.push_str(&format!(r#"<c r="{reference}" t="s"><v>{index}</v></c>"#));
                }
                Cell::N(n) => {
                    sheet.push_str(&format!(r#"<c r="{reference}" s="1"><v>{n}</v></c>"#))
                }
                Cell::Blank => {}
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let shared: String =
        strings.iter().map(|s| format!("<si><t>{}</t></si>", s.replace('&', "&amp;"))).collect();
    let parts = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#.to_owned()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr/><sheets><sheet name="Danh sách" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_owned()),
        ("xl/sharedStrings.xml", format!(r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">{shared}</sst>"#, strings.len())),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, xml) in parts {
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(xml.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

enum Cell {
    S(&'static str),
    N(f64),
    Blank,
}

#[actix_web::test]
async fn a_workbook_list_enrols_each_person_with_their_own_outcome() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let session = app.open_session(&admin, 5, 8, 1, true).await;
    // 2 June 1985 and 4 May 2013, as the day numbers Excel stores.
    let (adult, child) = (31_200.0, 41_398.0);
    let list = workbook(&[
        &[Cell::S("full_name"), Cell::S("category"), Cell::S("birth_date"), Cell::S("phone")],
        &[Cell::S("Đỗ Thị Hà"), Cell::S("Người lao động"), Cell::N(adult), Cell::N(912_000_111.0)],
        &[Cell::S("Vũ Văn Hải"), Cell::S("worker"), Cell::N(adult), Cell::Blank],
        &[Cell::S("Bé Không Giám Hộ"), Cell::S("student"), Cell::N(child), Cell::Blank],
    ]);
    let reply = import(&app, &admin, &format!("?session_id={session}"), XLSX, list).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(
        reply.body["summary"],
        json!({"created": 3, "matched": 0, "enrolled": 1, "refused": 0})
    );
    let rows = reply.body["rows"].as_array().unwrap();
    assert_eq!(outcomes(&reply).iter().map(|(n, _)| *n).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(rows[0]["enrolment"]["status"], "enrolled");
    assert_eq!(rows[1]["enrolment"]["status"], "waitlisted");
    assert_eq!(rows[2]["enrolment"], json!({"status": "refused", "reason": "guardian_required"}));
    let ha = app
        .get(
            &format!("/api/v1/participants/{}", rows[0]["participant_id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(ha.body["birth_date"], "1985-06-02");
    assert_eq!(ha.body["phone"], "0912000111", "the leading 0 a number cell lost");
    let roster = app.get(&format!("/api/v1/sessions/{session}/enrolments"), Some(&admin)).await;
    assert_eq!(items(&roster).len(), 2);
    assert_eq!(items(&roster)[0]["source"], "import");
}

#[actix_web::test]
async fn coordinators_import_into_their_unit_and_bad_files_are_refused_whole() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let own = app.create_organization(&admin, "Xóm Đông").await;
    let other = app.create_organization(&admin, "Xóm Tây").await;
    let coordinator = app.coordinator_of(&admin, "xom@example.vn", &own).await.access;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await.access;
    let list = "full_name,category,unit\nNgô Văn Tám,worker,\nĐinh Thị Chín,worker,Xóm Tây\n";

    let reply = import(&app, &coordinator, "", "text/csv", list.into()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(outcomes(&reply), [(2, "created".into()), (3, "refused".into())]);
    assert_eq!(reply.body["rows"][1]["reason"], "forbidden");
    let tam = reply.body["rows"][0]["participant_id"].as_str().unwrap();
    let tam = app.get(&format!("/api/v1/participants/{tam}"), Some(&coordinator)).await;
    assert_eq!(tam.body["organization_id"], own.as_str());

    // A list of names only, sent again: the same people, in the same unit.
    let again = import(&app, &coordinator, "", "text/csv", list.into()).await;
    assert_eq!(outcomes(&again), [(2, "matched".into()), (3, "refused".into())]);
    // A phone in its +84 spelling is the same person's, but only within
    // what the coordinator sees: someone of another unit is not matched.
    let known = json!({"full_name": "Lý Thị Mười", "category": "worker", "organization_id": own,
        "phone": "0913 000 111"});
    let known = id(&app.create_participant(&admin, known).await);
    let stranger = json!({"full_name": "Lý Văn Một", "category": "worker", "organization_id": other,
        "phone": "0913 000 222"});
    app.create_participant(&admin, stranger).await;
    let phones = "full_name,category,phone\nly thi muoi,worker,+84 913 000 111\nLý Văn Một,worker,+84913000222\n";
    let reply = import(&app, &coordinator, "", "text/csv", phones.into()).await;
    assert_eq!(outcomes(&reply), [(2, "matched".into()), (3, "created".into())]);
    assert_eq!(reply.body["rows"][0]["participant_id"], known.as_str());

    let elsewhere = format!("?organization_id={other}");
    import(&app, &coordinator, &elsewhere, "text/csv", list.into())
        .await
        .assert_problem(403, "forbidden");
    import(&app, &trainer, "", "text/csv", list.into()).await.assert_problem(403, "forbidden");
    let participant = app.register("hocvien@example.vn").await;
    assert!(participant["id"].is_string());
    let learner = app.login("hocvien@example.vn", PASSWORD).await.access;
    import(&app, &learner, "", "text/csv", list.into()).await.assert_problem(403, "forbidden");

    // Whole files refused: too long, not a list, no names, not UTF-8.
    let mut long = String::from("full_name,category\n");
    for n in 0..5_001 {
        long.push_str(&format!("Người {n},worker\n"));
    }
    let count = participant_count(&app, &admin).await;
    import(&app, &admin, "", "text/csv", long.into())
        .await
        .assert_problem(413, "payload_too_large");
    let pdf = b"%PDF-1.7\n\x00\x01binary".to_vec();
    let refused = import(&app, &admin, "", "application/pdf", pdf).await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["file"]);
    let no_names =
        import(&app, &admin, "", "text/csv", b"email,phone\na@b.vn,0912\n".to_vec()).await;
    no_names.assert_problem(422, "validation_failed");
    let legacy = b"H\xf4 va t\xean,category\nAn,worker\n".to_vec();
    import(&app, &admin, "", "text/csv", legacy).await.assert_problem(422, "validation_failed");
    let broken_zip = b"PK\x03\x04not really a workbook".to_vec();
    import(&app, &admin, "", XLSX, broken_zip).await.assert_problem(422, "validation_failed");
    assert_eq!(participant_count(&app, &admin).await, count, "a refused file changes nothing");

    // `import` is not a profile's id: other methods are not allowed.
    let patched = app.patch("/api/v1/participants/import", Some(&admin), &json!({})).await;
    patched.assert_problem(405, "method_not_allowed");
    assert_eq!(patched.header("allow"), Some("POST"));
    let read = app.get("/api/v1/participants/import", Some(&admin)).await;
    read.assert_problem(405, "method_not_allowed");
}

#[actix_web::test]
async fn the_template_speaks_the_callers_language_and_imports_as_it_is() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let headers = [("Accept-Language", "vi")];
    let csv = app
        .request(
            Method::GET,
            "/api/v1/participants/import/template?format=csv",
            Some(&admin),
            &headers,
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.bytes.clone()).unwrap();
    let header = text.trim_start_matches('\u{feff}').lines().next().unwrap();
    assert!(header.starts_with("Họ và tên,Đối tượng,Ngày sinh,Giới tính"), "{header}");
    let english = app.get("/api/v1/participants/import/template?format=csv", Some(&admin)).await;
    assert!(String::from_utf8_lossy(&english.bytes).contains("full_name,category,birth_date"));

    let xlsx = app
        .request(Method::GET, "/api/v1/participants/import/template", Some(&admin), &headers, None)
        .await;
    assert_eq!(xlsx.status, 200);
    assert_eq!(xlsx.header("content-type"), Some(XLSX));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert_eq!(sheet.matches(r#"<dataValidation type="list""#).count(), 3, "{sheet}");
    let mut values = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet2.xml").unwrap(),
        &mut values,
    )
    .unwrap();
    assert!(values.contains("Cán bộ, công chức, viên chức"), "{values}");

    // The example row reads back as a person; only its guardian is not on
    // file here (a dry run, so nothing stays).
    let parent = json!({"full_name": "Phụ Huynh", "category": "parent", "phone": "0912 345 678"});
    app.create_participant(&admin, parent).await;
    for file in [xlsx.bytes, csv.bytes] {
        let reply = import(&app, &admin, "?dry_run=true", "application/octet-stream", file).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        assert_eq!(reply.body["summary"]["created"], 1, "{:#}", reply.body);
    }
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await.access;
    app.get("/api/v1/participants/import/template", Some(&trainer))
        .await
        .assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn likely_duplicates_are_listed_within_the_callers_reach() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let east = app.create_organization(&admin, "Xóm Đông").await;
    let west = app.create_organization(&admin, "Xóm Tây").await;
    let coordinator = app.coordinator_of(&admin, "dong@example.vn", &east).await.access;
    let person = |name: &str, unit: &str, born: Option<&str>, phone: Option<&str>| {
        json!({"full_name": name, "category": "worker", "organization_id": unit,
            "birth_date": born, "phone": phone})
    };
    let mut made = Vec::new();
    for body in [
        person("Nguyễn Văn An", &east, Some("1980-01-02"), None),
        person("nguyen van  AN", &east, Some("1980-01-02"), None),
        person("Trần Thị Bình", &east, None, Some("0912 345 678")),
        person("Tran Thi Binh", &west, None, Some("+84 912 345 678")),
        person("Nguyễn Văn An", &east, Some("1990-03-04"), None),
    ] {
        made.push(id(&app.create_participant(&admin, body).await));
    }
    let all = app.get("/api/v1/participants/duplicates", Some(&admin)).await;
    assert_eq!(all.status, 200, "{:#}", all.body);
    let pairs: Vec<(String, String, Value)> = items(&all)
        .iter()
        .map(|item| {
            let same_as = item["same_as"]["id"].as_str().unwrap().to_owned();
            (item["id"].as_str().unwrap().to_owned(), same_as, item["because"].clone())
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (made[1].clone(), made[0].clone(), json!(["birth_date"])),
            (made[3].clone(), made[2].clone(), json!(["phone"])),
        ]
    );
    let first_page = app.get("/api/v1/participants/duplicates?limit=1", Some(&admin)).await;
    let cursor = first_page.body["next_cursor"].as_str().unwrap().to_owned();
    let next =
        app.get(&format!("/api/v1/participants/duplicates?cursor={cursor}"), Some(&admin)).await;
    assert_eq!(item_field(&next, "id"), [made[3].as_str()]);

    // A coordinator sees only the pair within their unit.
    let own = app.get("/api/v1/participants/duplicates", Some(&coordinator)).await;
    assert_eq!(item_field(&own, "id"), [made[1].as_str()]);
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await.access;
    app.get("/api/v1/participants/duplicates", Some(&trainer))
        .await
        .assert_problem(403, "forbidden");
    let patched = app.patch("/api/v1/participants/duplicates", Some(&admin), &json!({})).await;
    patched.assert_problem(405, "method_not_allowed");
}

#[actix_web::test]
async fn a_person_entered_twice_is_merged_into_one_keeping_the_better_places() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let east = app.create_organization(&admin, "Xóm Đông").await;
    let elsewhere = app.create_organization(&admin, "Xóm Tây").await;
    let stays = json!({"full_name": "Nguyễn Văn An", "category": "learner", "organization_id": east,
        "birth_date": "1980-01-02"});
    let stays = id(&app.create_participant(&admin, stays).await);
    // The same man signed up himself: his profile comes with his account.
    let account = app.register("an@example.vn").await;
    let twice = account["participant_id"].as_str().unwrap().to_owned();
    let place_in_unit = json!({"organization_id": east, "birth_date": "1980-01-02"});
    let path = format!("/api/v1/participants/{twice}");
    assert_eq!(app.patch(&path, Some(&admin), &place_in_unit).await.status, 200);
    let child = json!({"full_name": "Nguyễn Bé", "category": "learner", "organization_id": east,
        "guardian_id": twice});
    let child = id(&app.create_participant(&admin, child).await);

    let place = |reply: &Reply| id(&reply.body);
    let only_his = app.open_session(&admin, 5, 8, 5, true).await;
    let his = place(&app.enrol(&admin, &only_his, &twice).await);
    let full = app.open_session(&admin, 6, 8, 1, true).await;
    let kept = place(&app.enrol(&admin, &full, &stays).await);
    let dropped = place(&app.enrol(&admin, &full, &twice).await);
    let other_full = app.open_session(&admin, 7, 8, 1, true).await;
    let better = place(&app.enrol(&admin, &other_full, &twice).await);
    let worse = place(&app.enrol(&admin, &other_full, &stays).await);
    // Both enrolled in a class under way, marked present on the later
    // place: that one stays, with its mark and its note.
    let running = app.running_session(&admin, &[], chrono::Duration::minutes(10), 5).await;
    let unmarked = place(&app.enrol(&admin, &running, &stays).await);
    let marked = place(&app.enrol(&admin, &running, &twice).await);
    let mark = json!([{"participant_id": twice, "status": "present", "note": "Ngồi bàn đầu"}]);
    assert_eq!(app.put_marks(&admin, &running, mark).await.status, 200);

    let merge = format!("/api/v1/participants/{twice}/merge");
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await.access;
    app.post(&merge, Some(&trainer), &json!({"into": stays}))
        .await
        .assert_problem(403, "forbidden");
    let stranger = app.coordinator_of(&admin, "tay@example.vn", &elsewhere).await.access;
    app.post(&merge, Some(&stranger), &json!({"into": stays}))
        .await
        .assert_problem(404, "not_found");
    app.post(&merge, Some(&admin), &json!({"into": twice}))
        .await
        .assert_problem(422, "validation_failed");

    let merged = app.post(&merge, Some(&admin), &json!({"into": stays})).await;
    assert_eq!(merged.status, 200, "{:#}", merged.body);
    assert_eq!(merged.body["id"], stays.as_str());
    assert_eq!(merged.body["user_id"], account["id"], "the account goes along");

    let status = |place: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let reply = app.get(&format!("/api/v1/enrolments/{place}"), Some(admin)).await;
            (
                reply.body["participant_id"].as_str().unwrap().to_owned(),
                reply.body["status"].as_str().unwrap().to_owned(),
            )
        }
    };
    assert_eq!(status(his).await, (stays.clone(), "enrolled".into()));
    assert_eq!(status(kept).await, (stays.clone(), "enrolled".into()));
    assert_eq!(
        status(dropped).await,
        (stays.clone(), "cancelled".into()),
        "the waitlisted one goes"
    );
    assert_eq!(
        status(better).await,
        (stays.clone(), "enrolled".into()),
        "his enrolled place stays"
    );
    assert_eq!(status(worse).await, (stays.clone(), "cancelled".into()));
    assert_eq!(status(marked).await, (stays.clone(), "enrolled".into()), "where he was marked");
    assert_eq!(status(unmarked).await, (stays.clone(), "cancelled".into()));
    let roll = app.get(&format!("/api/v1/sessions/{running}/attendance"), Some(&admin)).await;
    let his: Vec<&Value> = items(&roll).iter().filter(|e| e["mark"].is_object()).collect();
    assert_eq!(his.len(), 1, "{:#}", roll.body);
    assert_eq!(his[0]["participant"]["id"], stays.as_str());
    assert_eq!(his[0]["mark"]["note"], "Ngồi bàn đầu", "the anonymisation leaves the moved mark");
    assert_eq!(app.session(&admin, &running).await["enrolled_count"], 1);
    assert_eq!(app.session(&admin, &full).await["enrolled_count"], 1);
    assert_eq!(app.session(&admin, &full).await["waitlisted_count"], 0);

    let child = app.get(&format!("/api/v1/participants/{child}"), Some(&admin)).await;
    assert_eq!(child.body["guardian_id"], stays.as_str());
    let me = app.login("an@example.vn", PASSWORD).await.access;
    let me = app.get("/api/v1/me", Some(&me)).await;
    assert_eq!(me.body["participant_id"], stays.as_str());
    let gone = app.get(&path, Some(&admin)).await;
    assert!(gone.body["anonymized_at"].is_string());
    let history = app
        .get(
            &format!("/api/v1/audit-events?entity_type=participant&entity_id={twice}&action=merge"),
            Some(&admin),
        )
        .await;
    assert_eq!(items(&history).len(), 1, "{:#}", history.body);
    assert_eq!(items(&history)[0]["changes"][0]["to"], stays.as_str());

    app.post(&merge, Some(&admin), &json!({"into": stays}))
        .await
        .assert_problem(409, "participant_anonymized");
}
