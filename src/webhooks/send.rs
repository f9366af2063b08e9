//! Sending one delivery: a signed JSON `POST` with a deadline, through a
//! connector that refuses inside addresses ([`address::GuardedResolver`]).

use std::fmt::Write as _;
use std::time::Duration;

use actix_tls::connect::{Connector as TcpConnector, Resolver};
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Host;

use super::address::{self, GuardedResolver, UrlProblem};
use super::model::{Attempt, Delivery, Webhook};

/// How much of a refusing receiver's answer the deliveries log keeps.
const ANSWER_KEPT_CHARS: usize = 200;
/// The largest answer body read from a receiver.
const ANSWER_READ_BYTES: usize = 4096;

/// The `Lophoc-Signature` of a body sent at `timestamp` (Unix seconds):
/// `v1=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with the
/// webhook's secret. The timestamp is signed with the body, so that a
/// receiver that refuses old timestamps refuses replays too.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let mut hex = String::from("v1=");
    for byte in mac.finalize().into_bytes() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The webhook client of one dispatcher.
pub struct Sender {
    client: awc::Client,
    allow_private: bool,
}

impl Sender {
    /// A client whose answers must come within `timeout`, that follows no
    /// redirect (a redirect could point inside), and connects only to
    /// allowed addresses.
    pub fn new(allow_private: bool, timeout: Duration) -> Self {
        let tcp = TcpConnector::new(Resolver::custom(GuardedResolver { allow_private })).service();
        let connector = awc::Connector::new().connector(tcp).timeout(timeout);
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(timeout)
            .disable_redirects()
            .add_default_header(("User-Agent", concat!("lophoc/", env!("CARGO_PKG_VERSION"))))
            .finish();
        Self { client, allow_private }
    }

    /// Tries `delivery` once.
    pub async fn send(&self, delivery: &Delivery, webhook: &Webhook) -> Attempt {
        let failed = |error: String| Attempt::Failed { status_code: None, error };
        let url = match address::parse(&webhook.url) {
            Ok(url) => url,
            Err(problem) => return failed(problem.to_string()),
        };
        // Names are checked by the resolver as they connect; an address
        // written in the URL never reaches it.
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(ip.into()),
            Some(Host::Ipv6(ip)) => Some(ip.into()),
            _ => None,
        };
        if literal.is_some_and(|ip| !self.allow_private && !address::is_public(ip)) {
            return failed(UrlProblem::NotPublic.to_string());
        }
        let timestamp = Utc::now().timestamp();
        let sent = self
            .client
            .post(url.as_str())
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("Lophoc-Event-Id", delivery.event_id.to_string()))
            .insert_header(("Lophoc-Timestamp", timestamp.to_string()))
            .insert_header((
                "Lophoc-Signature",
                signature(&webhook.secret, timestamp, &delivery.body),
            ))
            .send_body(delivery.body.clone())
            .await;
        let mut answer = match sent {
            Ok(answer) => answer,
            Err(err) => return failed(err.to_string()),
        };
        let status_code = answer.status().as_u16();
        if answer.status().is_success() {
            return Attempt::Delivered { status_code };
        }
        let body = answer.body().limit(ANSWER_READ_BYTES).await.unwrap_or_default();
        let said: String = String::from_utf8_lossy(&body).chars().take(ANSWER_KEPT_CHARS).collect();
        let error = match said.trim() {
            "" => format!("answered {status_code}"),
            said => format!("answered {status_code}: {said}"),
        };
        Attempt::Failed { status_code: Some(status_code), error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_timestamp_and_body() {
        // Computed apart from this code, as a receiver would:
        // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature("whsec_test", 1_700_000_000, r#"{"a":1}"#),
            "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }
}
