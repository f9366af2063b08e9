//! The paper sign-in sheet: who may print it, what it shows and what it
//! keeps out.

use actix_web::http::Method;
use chrono::Duration;
use serde_json::json;

use crate::helpers::*;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name(name).expect("the part"), &mut text).unwrap();
    text
}

#[actix_web::test]
async fn trainers_print_their_sessions_sheet_in_their_language_without_contact_details() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let trainer_id = id(&trainer.user);
    let session = app.running_session(&admin, &[&trainer_id], Duration::minutes(5), 30).await;
    let unit = app.create_organization(&admin, "Trường THCS Đồng Tâm").await;
    let people = [
        json!({"full_name": "Trần Văn Bình", "category": "worker", "phone": "0912345678"}),
        json!({"full_name": "Nguyễn Thị An", "category": "official", "organization_id": unit,
               "email": "an@example.vn"}),
        json!({"full_name": "Lê Huy", "category": "learner", "birth_date": "1987-06-05"}),
    ];
    let mut ids = Vec::new();
    for body in people {
        let person = app.create_participant(&admin, body).await;
        assert_eq!(app.enrol(&admin, &session, &id(&person)).await.status, 201);
        ids.push(id(&person));
    }
    // A cancelled place is not on the sheet.
    let gone =
        app.create_participant(&admin, json!({"full_name": "Đã Hủy", "category": "learner"})).await;
    let place = app.enrol(&admin, &session, &id(&gone)).await;
    assert_eq!(app.cancel(&admin, &id(&place.body)).await.status, 200);

    let path = format!("/api/v1/sessions/{session}/sign-in-sheet");
    let reply = app
        .request(Method::GET, &path, Some(&trainer.access), &[("Accept-Language", "vi")], None)
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(reply.header("content-type"), Some(XLSX));
    assert!(reply.header("content-disposition").unwrap().contains("danh-sach-diem-danh-"));
    let sheet = part(&reply.bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"paperSize="9""#), "an A4 page");
    for words in [
        "Danh sách điểm danh",
        "Địa điểm: Nhà văn hoá",
        "(UTC+07:00)",
        "Giảng viên: ",
        "Họ và tên",
        "Ký tên",
        "Cán bộ, công chức, viên chức",
        "Trường THCS Đồng Tâm",
    ] {
        assert!(sheet.contains(words), "{words} in {sheet}");
    }
    assert!(!sheet.contains("Đã Hủy"));
    assert!(!sheet.contains("0912345678") && !sheet.contains("an@example.vn"));
    assert!(!sheet.contains("1987") && !sheet.contains("05/06"), "no birth date");
    // Three people, then ten rows for walk-ins, numbered on.
    assert!(sheet.contains("<v>13</v>") && !sheet.contains("<v>14</v>"));
    // By given name: An, Bình, Huy.
    let at = |name: &str| sheet.find(name).unwrap_or_else(|| panic!("{name} on the sheet"));
    assert!(at("Nguyễn Thị An") < at("Trần Văn Bình") && at("Trần Văn Bình") < at("Lê Huy"));
    // The table's header repeats on every printed page.
    assert!(part(&reply.bytes, "xl/workbook.xml").contains("_xlnm.Print_Titles"));

    // Each row's code is the place's code on the roll-call, for keying in.
    let roll =
        app.get(&format!("/api/v1/sessions/{session}/attendance"), Some(&trainer.access)).await;
    assert_eq!(items(&roll).len(), 3);
    for entry in items(&roll) {
        let code = entry["row_code"].as_str().unwrap();
        assert_eq!(code.len(), 6);
        assert!(sheet.contains(&format!(">{code}<")), "{code} on the sheet");
    }

    // English for an English reader, and `?lang=vi` for a link.
    let english = app.get(&path, Some(&admin)).await;
    assert_eq!(english.status, 200);
    let text = part(&english.bytes, "xl/worksheets/sheet1.xml");
    assert!(text.contains("Sign-in sheet") && text.contains("Official"));
    let link = app.get(&format!("{path}?lang=vi"), Some(&admin)).await;
    assert!(part(&link.bytes, "xl/worksheets/sheet1.xml").contains("Họ và tên"));
    app.get(&format!("{path}?lang=fr"), Some(&admin))
        .await
        .assert_problem(400, "invalid_parameter");
    assert!(!text.contains("CANCELLED"));

    // A sheet printed for a cancelled session says so on top.
    let cancel = json!({"status": "cancelled"});
    let reply = app.patch(&format!("/api/v1/sessions/{session}"), Some(&admin), &cancel).await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    let vi = [("Accept-Language", "vi")];
    let cancelled = app.request(Method::GET, &path, Some(&admin), &vi, None).await;
    assert!(part(&cancelled.bytes, "xl/worksheets/sheet1.xml").contains("BUỔI HỌC NÀY ĐÃ HỦY"));
}

#[actix_web::test]
async fn only_admins_and_the_sessions_trainers_print_its_sheet() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let trainer = app.user_with_role(&admin, "gv@example.vn", "trainer").await;
    let other_trainer = app.user_with_role(&admin, "gv2@example.vn", "trainer").await;
    let unit = app.create_organization(&admin, "Xóm Đông").await;
    let coordinator = app.coordinator_of(&admin, "dm@example.vn", &unit).await;
    app.register("hv@example.vn").await;
    let learner = app.login("hv@example.vn", PASSWORD).await;
    let session =
        app.running_session(&admin, &[&id(&trainer.user)], Duration::minutes(5), 30).await;
    let path = format!("/api/v1/sessions/{session}/sign-in-sheet");
    for token in [&other_trainer.access, &coordinator.access, &learner.access] {
        app.get(&path, Some(token)).await.assert_problem(403, "forbidden");
    }
    assert_eq!(app.get(&path, None).await.status, 401);
    let unknown = format!("/api/v1/sessions/{}/sign-in-sheet", uuid::Uuid::now_v7());
    app.get(&unknown, Some(&admin)).await.assert_problem(404, "not_found");
    assert_eq!(app.get(&path, Some(&trainer.access)).await.status, 200);
}
