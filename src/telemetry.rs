//! Logging. Requests are logged by their route pattern, never their actual
//! path or query, so that ids, names and tokens stay out of the logs. Every
//! line logged while a request is served carries its request id, which the
//! answer carries too (`X-Request-Id`), so that a user's report can be
//! matched with the server's lines.

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a client.
const MAX_REQUEST_ID_CHARS: usize = 128;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text or,
/// with `LOPHOC_LOG_FORMAT=json`, one JSON object a line for a log
/// collector.
pub fn init() -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match std::env::var("LOPHOC_LOG_FORMAT").ok().as_deref() {
        None | Some("" | "text") => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        Some("json") => logs.json().with_current_span(true).with_span_list(false).init(),
        Some(other) => {
            return Err(format!("LOPHOC_LOG_FORMAT must be text or json, not {other:?}"));
        }
    }
    Ok(())
}

/// The client's request id when it is a sane one (visible ASCII letters,
/// digits and `-_.:`, as proxies and apps generate them), else a new one.
/// Anything else is replaced, so that no client can write into the logs.
fn request_id(req: &ServiceRequest) -> String {
    let sent = req.headers().get(&REQUEST_ID).and_then(|value| value.to_str().ok());
    let sane = |id: &&str| {
        (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    };
    match sent.filter(sane) {
        Some(id) => id.to_owned(),
        None => uuid::Uuid::now_v7().to_string(),
    }
}

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id);
    let method = req.method().clone();
    let mut response = next.call(req).instrument(span.clone()).await?;
    // Known once the router has run, inside.
    let route = response.request().match_pattern().unwrap_or_else(|| "(no route)".into());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let _entered = span.enter();
    if status >= 500 {
        tracing::error!(%method, %route, status, millis, "request");
    } else {
        tracing::info!(%method, %route, status, millis, "request");
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::middleware::from_fn;
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::{App, HttpResponse, web};

    use super::*;

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_of_a_request_names_its_id() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        let sent_and_answered = tracing::subscriber::with_default(subscriber, || {
            actix_web::rt::System::new().block_on(async {
                let app = App::new().wrap(from_fn(log_request)).route(
                    "/sessions/{id}",
                    web::get().to(|| async {
                        tracing::info!("inside the handler");
                        HttpResponse::Ok().finish()
                    }),
                );
                let app = init_service(app).await;
                let request = TestRequest::get()
                    .uri("/sessions/42?q=Nguy%E1%BB%85n")
                    .insert_header(("X-Request-Id", "hall-7"))
                    .to_request();
                let answer = call_service(&app, request).await;
                answer.headers().get(&REQUEST_ID).cloned()
            })
        });
        assert_eq!(sent_and_answered, Some(HeaderValue::from_static("hall-7")));
        let lines = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines.iter().all(|line| line.contains("request_id=hall-7")), "{lines:#?}");
        // The route's pattern, never the path or the query it was called with.
        assert!(lines[1].contains("route=/sessions/{id}"), "{lines:#?}");
        assert!(!lines.iter().any(|line| line.contains("/sessions/42")), "{lines:#?}");
        assert!(!lines.iter().any(|line| line.contains("Nguy")), "{lines:#?}");
    }
}
