//! Logging. Requests are logged by their route pattern, never their actual
//! path or query, so that ids, names and tokens stay out of the logs. Every
//! line logged while a request is served carries its request id, which the
//! answer carries too (`X-Request-Id`), so that a user's report can be
//! matched with the server's lines.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use parking_lot::Mutex;
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
    let metrics = req.app_data::<web::Data<RequestMetrics>>().cloned();
    let mut response = next.call(req).instrument(span.clone()).await?;
    // Known once the router has run, inside.
    let route = response.request().match_pattern().unwrap_or_else(|| "(no route)".into());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.record(method.as_str(), &route, status, seconds);
    }
    let millis = seconds * 1000.0;
    let _entered = span.enter();
    if status >= 500 {
        tracing::error!(%method, %route, status, millis, "request");
    } else {
        tracing::info!(%method, %route, status, millis, "request");
    }
    Ok(response)
}

/// Upper bounds of the duration buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The requests answered so far, for `/metrics` (app data).
#[derive(Default)]
pub struct RequestMetrics {
    requests: Mutex<BTreeMap<RequestKind, Durations>>,
}

/// A method, a route pattern and a status.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKind {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Default)]
struct Durations {
    /// How many took at most each of [`BUCKETS`].
    within: [u64; BUCKETS.len()],
    count: u64,
    seconds: f64,
}

impl RequestMetrics {
    /// Counts one answered request.
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        // A client may send any method name: only the standard ones get a
        // series of their own, so that no client can grow the metrics.
        const STANDARD: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        let method = STANDARD.into_iter().find(|standard| *standard == method).unwrap_or("other");
        let kind = RequestKind { method, route: route.to_owned(), status };
        let mut requests = self.requests.lock();
        let durations = requests.entry(kind).or_default();
        for (bound, within) in BUCKETS.iter().zip(durations.within.iter_mut()) {
            if seconds <= *bound {
                *within += 1;
            }
        }
        durations.count += 1;
        durations.seconds += seconds;
    }

    /// Writes the counts and durations in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let requests = self.requests.lock();
        out.push_str(
            "# HELP lophoc_http_requests_total Requests answered, by method, route and status.\n\
             # TYPE lophoc_http_requests_total counter\n",
        );
        for (kind, durations) in requests.iter() {
            let _ = writeln!(
                out,
                "lophoc_http_requests_total{{{}}} {}",
                kind.labels(),
                durations.count
            );
        }
        out.push_str(
            "# HELP lophoc_http_request_duration_seconds How long requests took to answer.\n\
             # TYPE lophoc_http_request_duration_seconds histogram\n",
        );
        for (kind, durations) in requests.iter() {
            let labels = kind.labels();
            for (bound, within) in BUCKETS.iter().zip(durations.within) {
                let _ = writeln!(
                    out,
                    "lophoc_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {within}"
                );
            }
            let _ = writeln!(
                out,
                "lophoc_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 lophoc_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 lophoc_http_request_duration_seconds_count{{{labels}}} {}",
                durations.count, durations.seconds, durations.count
            );
        }
    }
}

impl RequestKind {
    fn labels(&self) -> String {
        format!(
            "method=\"{}\",route=\"{}\",status=\"{}\"",
            escaped(self.method),
            escaped(&self.route),
            self.status
        )
    }
}

/// A label value as the text format writes it.
fn escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
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
