//! Bad input of every kind answers a problem document and changes nothing.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::*;

const REGISTER: &str = "/api/v1/auth/register";

fn sign_up() -> Vec<u8> {
    json!({"email": "x@example.vn", "password": PASSWORD, "full_name": "X", "category": "worker"})
        .to_string()
        .into_bytes()
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in [&b"{\"email\": "[..], b"not json", b"", b"{} trailing"] {
        let reply = app
            .request(
                Method::POST,
                REGISTER,
                None,
                &[("Content-Type", "application/json")],
                Some(body.to_vec()),
            )
            .await;
        reply.assert_problem(400, "malformed_json");
    }
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let headers: Vec<(&str, &str)> =
            content_type.map(|c| ("Content-Type", c)).into_iter().collect();
        let reply = app.request(Method::POST, REGISTER, None, &headers, Some(sign_up())).await;
        reply.assert_problem(415, "unsupported_media_type");
    }
    app.login_reply("x@example.vn", PASSWORD).await.assert_problem(401, "invalid_credentials");
    let with_charset = [("Content-Type", "application/json; charset=utf-8")];
    assert_eq!(
        app.request(Method::POST, REGISTER, None, &with_charset, Some(sign_up())).await.status,
        201
    );
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with(|config| config.body_limit_bytes = 4096).await;
    let padding = "x".repeat(5000);
    let body = json!({"email": "x@example.vn", "password": PASSWORD, "full_name": padding, "category": "worker"});
    let reply = app.post(REGISTER, None, &body).await;
    reply.assert_problem(413, "payload_too_large");
    assert!(reply.body["detail"].as_str().unwrap().contains("4096"));
    app.login_reply("x@example.vn", PASSWORD).await.assert_problem(401, "invalid_credentials");
}

#[actix_web::test]
async fn the_default_body_limit_is_one_mebibyte() {
    let app = spawn_app().await;
    let sized = |name_len: usize| json!({"email": "x@example.vn", "password": PASSWORD, "full_name": "x".repeat(name_len), "category": "worker"});
    app.post(REGISTER, None, &sized(1 << 20)).await.assert_problem(413, "payload_too_large");
    // Just under the limit the body is read, and refused for its content.
    let under = app.post(REGISTER, None, &sized((1 << 20) - 200)).await;
    under.assert_problem(422, "validation_failed");
    assert_eq!(under.error_fields(), ["full_name"]);
}

#[actix_web::test]
async fn wrong_shapes_are_422_naming_the_field() {
    let app = spawn_app().await;
    let missing = app
        .post(
            REGISTER,
            None,
            &json!({"password": PASSWORD, "full_name": "X", "category": "worker"}),
        )
        .await;
    missing.assert_problem(422, "validation_failed");
    assert_eq!(missing.error_fields(), ["email"]);
    assert_eq!(missing.body["errors"][0]["message"], "is required");

    let wrong_type = app
        .post(
            REGISTER,
            None,
            &json!({"email": 42, "password": PASSWORD, "full_name": "X", "category": "worker"}),
        )
        .await;
    assert_eq!(wrong_type.error_fields(), ["email"]);

    let not_an_object = app.post(REGISTER, None, &json!([1, 2])).await;
    not_an_object.assert_problem(422, "validation_failed");

    // serde would read an update struct from an array of its fields; an
    // array body is refused and changes nothing.
    let admin = app.admin_token().await;
    let unit = app.create_organization(&admin, "Xóm Đồng Tâm").await;
    let path = format!("/api/v1/organizations/{unit}");
    let before = app.get(&path, None).await.body;
    let array = app.patch(&path, Some(&admin), &json!([null, null])).await;
    array.assert_problem(422, "validation_failed");
    assert_eq!(array.body["errors"][0]["message"], "must be a JSON object");
    assert_eq!(app.get(&path, None).await.body, before);
}

#[actix_web::test]
async fn bad_path_and_query_parameters_are_400() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let path = app.get("/api/v1/users/not-a-uuid", Some(&admin)).await;
    path.assert_problem(400, "invalid_parameter");
    assert_eq!(path.error_fields(), ["id"]);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("cursor=%21%21", "cursor"),
    ] {
        let reply = app.get(&format!("/api/v1/users?{query}"), Some(&admin)).await;
        reply.assert_problem(400, "invalid_parameter");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
    for (query, field) in [("role=king", "role"), ("active=maybe", "active")] {
        let reply = app.get(&format!("/api/v1/users?{query}"), Some(&admin)).await;
        reply.assert_problem(400, "invalid_parameter");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
    let reply = app.get("/api/v1/organizations?kind=castle", None).await;
    reply.assert_problem(400, "invalid_parameter");
    assert_eq!(reply.error_fields(), ["kind"]);
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = spawn_app().await;
    app.get("/api/v1/nothing-here", None).await.assert_problem(404, "not_found");
    app.get("/nothing", None).await.assert_problem(404, "not_found");
    // Answered by Swagger UI's own handler, not ours: still a problem.
    app.get("/docs/no-such-file.js", None).await.assert_problem(404, "not_found");

    let reply = app.request(Method::DELETE, "/api/v1/auth/login", None, &[], None).await;
    reply.assert_problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("POST"));

    let reply = app
        .request(Method::PUT, "/api/v1/users/0193b6a0-0000-7000-8000-000000000000", None, &[], None)
        .await;
    reply.assert_problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, HEAD, PATCH"));

    let reply = app.request(Method::DELETE, "/api/v1/users", None, &[], None).await;
    assert_eq!(reply.header("allow"), Some("GET, HEAD, POST"));
}

#[actix_web::test]
async fn messages_are_vietnamese_when_asked_for() {
    let app = spawn_app().await;
    let vi = [("Accept-Language", "vi-VN,vi;q=0.9,en;q=0.8"), ("Content-Type", "application/json")];
    let body =
        json!({"email": "bad", "password": PASSWORD, "full_name": "X", "category": "worker"});
    let reply =
        app.request(Method::POST, REGISTER, None, &vi, Some(body.to_string().into_bytes())).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.body["title"], "Dữ liệu không hợp lệ");
    assert_eq!(reply.body["errors"][0]["message"], "không phải là địa chỉ email hợp lệ");

    let not_found =
        app.request(Method::GET, "/nothing", None, &[("Accept-Language", "vi")], None).await;
    assert_eq!(not_found.body["title"], "Không tìm thấy");
    let wrong_method =
        app.request(Method::DELETE, "/health/live", None, &[("Accept-Language", "vi")], None).await;
    assert_eq!(wrong_method.body["title"], "Phương thức không được hỗ trợ");

    let english = app
        .request(Method::GET, "/nothing", None, &[("Accept-Language", "en-US,vi;q=0.5")], None)
        .await;
    assert_eq!(english.body["title"], "Not found");
}

#[actix_web::test]
async fn text_the_database_cannot_store_is_refused_not_a_500() {
    let app = spawn_app().await;
    let nul_name = json!({"email": "nul@example.vn", "password": PASSWORD, "full_name": "Lan\u{0}", "category": "worker"});
    let reply = app.post(REGISTER, None, &nul_name).await;
    reply.assert_problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), ["full_name"]);
    let nul_email = json!({"email": "nul\u{0}@example.vn", "password": PASSWORD, "full_name": "Lan", "category": "worker"});
    assert_eq!(app.post(REGISTER, None, &nul_email).await.error_fields(), ["email"]);
    app.login_reply("a\u{0}@example.vn", PASSWORD).await.assert_problem(401, "invalid_credentials");
    let ancient = json!({"email": "old@example.vn", "password": PASSWORD, "full_name": "Cụ", "category": "learner", "birth_date": "1000-01-01"});
    let reply = app.post(REGISTER, None, &ancient).await;
    assert_eq!(reply.error_fields(), ["birth_date"]);
    let admin = app.admin_token().await;
    let unit = json!({"kind": "hamlet", "name": "Xóm\u{7}"});
    let reply = app.post("/api/v1/organizations", Some(&admin), &unit).await;
    assert_eq!(reply.error_fields(), ["name"]);
}

/// Sends `head` and the start of a body, then stops; the answer as text.
fn stalled_request(address: &str, head: &str) -> String {
    use std::io::{Read, Write};
    let host = address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    stream.write_all(format!("{head}\r\n{{\"full_na").as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[actix_web::test]
async fn a_body_that_stops_arriving_is_refused_with_408() {
    let app =
        spawn_app_with(|config| config.body_deadline = std::time::Duration::from_secs(1)).await;
    let admin = app.admin_token().await;
    let address = app.address.clone();
    for key in ["", "Idempotency-Key: slow-1\r\n"] {
        let head = format!(
            "POST /api/v1/participants HTTP/1.1\r\nHost: lophoc\r\nAuthorization: Bearer {admin}\r\n\
             Content-Type: application/json\r\nContent-Length: 200\r\n{key}"
        );
        let address = address.clone();
        let started = std::time::Instant::now();
        let answer = actix_web::rt::task::spawn_blocking(move || stalled_request(&address, &head))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
    let list = app.get("/api/v1/participants", Some(&admin)).await;
    assert_eq!(items(&list).len(), 0, "nothing was made");
}

/// Sends `request` as raw bytes; the whole answer until the server closes.
fn raw_exchange(address: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[actix_web::test]
async fn what_the_http_layer_refuses_is_a_problem_too() {
    let app = spawn_app().await;
    let malformed: [&[u8]; 4] = [
        // A byte outside ASCII in the query, not percent-encoded.
        b"GET /api/v1/sessions?from=\xff HTTP/1.1\r\nHost: lophoc\r\n\r\n",
        // A header name with a space.
        b"GET /api/v1/sessions HTTP/1.1\r\nHost: lophoc\r\nBad Header: x\r\n\r\n",
        // A control character in the path.
        b"GET /api/v1/\x01 HTTP/1.1\r\nHost: lophoc\r\n\r\n",
        // Pipelined behind a request answered first.
        b"GET /health/live HTTP/1.1\r\nHost: lophoc\r\n\r\nGET /x\x01 HTTP/1.1\r\n\r\n",
    ];
    for request in malformed {
        let address = app.address.clone();
        let answer = actix_web::rt::task::spawn_blocking(move || raw_exchange(&address, request))
            .await
            .unwrap();
        let refusal = &answer[answer.rfind("HTTP/1.1 ").unwrap()..];
        let (head, body) = refusal.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["code"], "malformed_request");
        assert_eq!(problem["status"], 400);
    }
    // The same query, percent-encoded, reaches the route and is read there.
    let address = app.address.clone();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        raw_exchange(
            &address,
            b"GET /api/v1/sessions?from=%FF HTTP/1.1\r\nHost: lophoc\r\nConnection: close\r\n\r\n",
        )
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

#[actix_web::test]
async fn a_request_head_that_stops_arriving_is_a_problem_408() {
    let app = spawn_app().await;
    let address = app.address.clone();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        raw_exchange(&address, b"GET /api/v1/sessions HTTP/1.1\r\nHo")
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
}
