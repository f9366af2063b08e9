//! Configuration from the environment, read once at start-up.

use std::time::Duration;

use crate::db::DatabaseUrl;

/// Shortest accepted `LOPHOC_JWT_SECRET`, in bytes: HS256 keys shorter than
/// its 256-bit output weaken it.
const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    /// `host:port`; port 0 picks a free port (tests).
    pub listen: String,
    /// Required on PostgreSQL; on SQLite one is generated and stored.
    pub jwt_secret: Option<Secret>,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub body_limit_bytes: usize,
    /// How long a client has to send a request body (`408` after).
    pub body_deadline: Duration,
    /// How long an export waits for a client that has stopped reading
    /// before it ends, freeing its slot and connection.
    pub export_stall: Duration,
    /// HTTP worker threads; actix's default (one per core) when `None`.
    pub workers: Option<usize>,
    pub db_pool_size: u32,
    /// How many Argon2 hashes may run at once; the rest wait their turn.
    pub hash_concurrency: usize,
    /// How long a request waits for a hashing slot before answering 503.
    pub hash_slot_wait: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub login_throttle: LoginThrottle,
    /// The local zone of the people taking part: days (a session's day,
    /// day groups in statistics) are counted in it.
    pub timezone: chrono_tz::Tz,
    /// Browser origins (`https://app.example.vn`) allowed to call the API
    /// across origins; empty means CORS is off.
    pub cors_origins: Vec<String>,
    /// A bearer token that reads `/metrics` without an account.
    pub metrics_token: Option<Secret>,
    /// How many dependants (children) a participant may add themselves.
    pub max_dependants: i64,
    /// Whether a student under 16 needs a guardian's consent on file to be
    /// enrolled (`LOPHOC_REQUIRE_CONSENT`; off by default, so that clients
    /// written before consent existed keep working).
    pub require_consent: bool,
    /// How events reach people and other systems (`notify`).
    pub notify: NotifyConfig,
}

/// Webhooks and email (`notify`).
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// `LOPHOC_SMTP_URL` (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host`); without it no email is written or sent.
    pub smtp_url: Option<Secret>,
    /// `LOPHOC_MAIL_FROM`: the sender of every email.
    pub mail_from: String,
    /// `LOPHOC_WEBHOOK_ALLOW_PRIVATE`: webhooks may point at private,
    /// loopback and link-local addresses (receivers inside the network).
    pub webhook_allow_private: bool,
    /// How often a dispatcher looks for due events and deliveries.
    pub poll_interval: Duration,
    /// The wait before the first retry; each next one waits twice as long,
    /// up to an hour.
    pub first_retry_after: Duration,
    /// How long a delivery or an email is retried before it is given up.
    pub give_up_after: Duration,
    /// How long a receiver has to answer.
    pub answer_timeout: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            mail_from: "Lớp học kỹ năng số <no-reply@localhost>".into(),
            webhook_allow_private: false,
            poll_interval: Duration::from_secs(1),
            first_retry_after: Duration::from_secs(10),
            give_up_after: Duration::from_secs(24 * 60 * 60),
            answer_timeout: Duration::from_secs(10),
        }
    }
}

/// Failed-login limits (see `auth::throttle`): beyond
/// `per_account_and_address` failures of one email from one client
/// address, or `per_address` from one address, within `window`, logins
/// answer `429` until the oldest failure leaves the window. An account
/// with `account_under_attack` failures from anywhere takes attempts from
/// addresses that failed on it only every few seconds. One address may
/// sign up `signups_per_address` accounts within `window`.
#[derive(Clone, Copy, Debug)]
pub struct LoginThrottle {
    pub per_account_and_address: i64,
    pub per_address: i64,
    pub account_under_attack: i64,
    pub signups_per_address: i64,
    pub window: Duration,
}

/// A string that never shows in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Config {
    /// The defaults of PRODUCT.md for a given database.
    pub fn with_database(database_url: &str) -> Self {
        Self {
            database_url: DatabaseUrl::parse(database_url),
            listen: "127.0.0.1:8080".into(),
            jwt_secret: None,
            admin_email: None,
            admin_password: None,
            body_limit_bytes: 1024 * 1024,
            body_deadline: Duration::from_secs(10),
            export_stall: Duration::from_secs(20),
            workers: None,
            db_pool_size: 10,
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            hash_slot_wait: Duration::from_secs(10),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            login_throttle: LoginThrottle {
                per_account_and_address: 5,
                // A school or commune office behind one address: a few
                // people's mistakes must not lock the others out.
                per_address: 100,
                account_under_attack: 20,
                signups_per_address: 20,
                window: Duration::from_secs(15 * 60),
            },
            timezone: chrono_tz::Asia::Ho_Chi_Minh,
            cors_origins: Vec::new(),
            max_dependants: 10,
            metrics_token: None,
            require_consent: false,
            notify: NotifyConfig::default(),
        }
    }

    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the variables through `var`, so that tests need not touch the
    /// process environment.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut config =
            Self::with_database(&var("DATABASE_URL").unwrap_or_else(|| "lophoc.db".into()));
        if let Some(listen) = var("LOPHOC_LISTEN") {
            config.listen = listen;
        }
        if let Some(secret) = var("LOPHOC_JWT_SECRET") {
            if secret.len() < MIN_JWT_SECRET_BYTES {
                return Err(format!(
                    "LOPHOC_JWT_SECRET is {} bytes long; it must be at least {MIN_JWT_SECRET_BYTES}",
                    secret.len()
                ));
            }
            config.jwt_secret = Some(Secret::new(secret));
        }
        config.admin_email = var("LOPHOC_ADMIN_EMAIL");
        config.admin_password = var("LOPHOC_ADMIN_PASSWORD").map(Secret::new);
        if config.admin_password.is_some() != config.admin_email.is_some() {
            return Err(
                "set LOPHOC_ADMIN_EMAIL and LOPHOC_ADMIN_PASSWORD together, or neither".into()
            );
        }
        if let Some(limit) = parse_var(&var, "LOPHOC_BODY_LIMIT_BYTES")? {
            config.body_limit_bytes = limit;
        }
        if let Some(seconds) = parse_var(&var, "LOPHOC_BODY_DEADLINE_SECS")? {
            config.body_deadline = Duration::from_secs(seconds);
        }
        if let Some(seconds) = parse_var(&var, "LOPHOC_EXPORT_STALL_SECS")? {
            config.export_stall = Duration::from_secs(seconds);
        }
        config.workers = parse_var(&var, "LOPHOC_WORKERS")?;
        if let Some(size) = parse_var(&var, "LOPHOC_DB_POOL_SIZE")? {
            config.db_pool_size = size;
        }
        if let Some(permits) = parse_var(&var, "LOPHOC_HASH_CONCURRENCY")? {
            config.hash_concurrency = permits;
        }
        if let Some(zone) = var("LOPHOC_TIMEZONE") {
            config.timezone = zone.parse().map_err(|_| {
                format!("LOPHOC_TIMEZONE must be an IANA time zone such as Asia/Ho_Chi_Minh, not {zone:?}")
            })?;
        }
        config.metrics_token = var("LOPHOC_METRICS_TOKEN").map(Secret::new);
        if let Some(limit) = parse_var(&var, "LOPHOC_MAX_DEPENDANTS")? {
            config.max_dependants = limit;
        }
        if let Some(origins) = var("LOPHOC_CORS_ORIGINS") {
            config.cors_origins = parse_origins(&origins)?;
        }
        if let Some(flag) = parse_flag(&var, "LOPHOC_REQUIRE_CONSENT")? {
            config.require_consent = flag;
        }
        if let Some(flag) = parse_flag(&var, "LOPHOC_WEBHOOK_ALLOW_PRIVATE")? {
            config.notify.webhook_allow_private = flag;
        }
        if let Some(url) = var("LOPHOC_SMTP_URL") {
            if !["smtp://", "smtps://"].iter().any(|scheme| url.starts_with(scheme)) {
                return Err("LOPHOC_SMTP_URL must start with smtp:// or smtps://".into());
            }
            config.notify.smtp_url = Some(Secret::new(url));
        }
        if let Some(from) = var("LOPHOC_MAIL_FROM") {
            if from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(format!(
                    "LOPHOC_MAIL_FROM must be an address such as \"Trung tâm học tập cộng đồng <lophoc@xa.example.vn>\", not {from:?}"
                ));
            }
            config.notify.mail_from = from;
        }
        Ok(config)
    }
}

/// `LOPHOC_CORS_ORIGINS`: origins separated by commas, each a scheme and a
/// host with an optional port, spelt as browsers send them in `Origin`
/// (lower case, no trailing slash).
fn parse_origins(list: &str) -> Result<Vec<String>, String> {
    let origins: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
        .collect();
    for origin in &origins {
        let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        let (host, port) = match authority.and_then(|a| a.rsplit_once(':')) {
            Some((host, port)) => (host, Some(port)),
            None => (authority.unwrap_or(""), None),
        };
        let host_is_sane = !host.is_empty()
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
        let port_is_sane = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|p| p > 0));
        if authority.is_none() || !host_is_sane || !port_is_sane {
            return Err(format!(
                "LOPHOC_CORS_ORIGINS lists origins such as https://app.example.vn, not {origin:?}"
            ));
        }
    }
    Ok(origins)
}

/// `true` or `false` (also `1`/`0`, `yes`/`no`) from the environment.
fn parse_flag(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<bool>, String> {
    match var(name).map(|flag| flag.to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(flag) => Err(format!("{name} must be true or false, not {flag:?}")),
    }
}

/// A positive number from the environment, or a message naming the variable.
fn parse_var<T: std::str::FromStr + PartialOrd + Default>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>, String> {
    match var(name) {
        None => Ok(None),
        Some(raw) => match raw.parse::<T>() {
            Ok(value) if value > T::default() => Ok(Some(value)),
            _ => Err(format!("{name} must be a positive whole number, not {raw:?}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_vars(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_are_the_embedded_sqlite_file() {
        let config = from(&[]).unwrap();
        assert_eq!(config.database_url.backend(), Backend::Sqlite);
        assert_eq!(config.database_url.to_string(), "sqlite://lophoc.db");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.body_limit_bytes, 1 << 20);
    }

    #[test]
    fn consent_is_required_only_when_asked_for() {
        assert!(!from(&[]).unwrap().require_consent);
        assert!(from(&[("LOPHOC_REQUIRE_CONSENT", "true")]).unwrap().require_consent);
        assert!(!from(&[("LOPHOC_REQUIRE_CONSENT", "false")]).unwrap().require_consent);
        let err = from(&[("LOPHOC_REQUIRE_CONSENT", "maybe")]).unwrap_err();
        assert!(err.contains("LOPHOC_REQUIRE_CONSENT"), "{err}");
    }

    #[test]
    fn notifications_are_configured_from_the_environment() {
        let config = from(&[]).unwrap();
        assert!(config.notify.smtp_url.is_none() && !config.notify.webhook_allow_private);
        let config = from(&[
            ("LOPHOC_SMTP_URL", "smtp://relay.xa.example.vn:25"),
            ("LOPHOC_MAIL_FROM", "Trung tâm học tập cộng đồng <lophoc@xa.example.vn>"),
            ("LOPHOC_WEBHOOK_ALLOW_PRIVATE", "true"),
        ])
        .unwrap();
        assert_eq!(
            config.notify.smtp_url.as_ref().map(Secret::expose),
            Some("smtp://relay.xa.example.vn:25")
        );
        assert!(config.notify.mail_from.ends_with("<lophoc@xa.example.vn>"));
        assert!(config.notify.webhook_allow_private);
        for (name, bad) in [
            ("LOPHOC_SMTP_URL", "http://relay:25"),
            ("LOPHOC_MAIL_FROM", "not an address"),
            ("LOPHOC_WEBHOOK_ALLOW_PRIVATE", "perhaps"),
        ] {
            let err = from(&[(name, bad)]).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn short_jwt_secrets_are_refused() {
        let err = from(&[("LOPHOC_JWT_SECRET", "too-short")]).unwrap_err();
        assert!(err.contains("at least 32"), "{err}");
        let long = "x".repeat(32);
        assert!(from(&[("LOPHOC_JWT_SECRET", &long)]).unwrap().jwt_secret.is_some());
    }

    #[test]
    fn bad_numbers_are_refused_by_name() {
        let err = from(&[("LOPHOC_BODY_LIMIT_BYTES", "lots")]).unwrap_err();
        assert!(err.contains("LOPHOC_BODY_LIMIT_BYTES"));
        assert!(from(&[("LOPHOC_WORKERS", "0")]).is_err());
    }

    #[test]
    fn the_zone_is_viet_nams_unless_named() {
        assert_eq!(from(&[]).unwrap().timezone, chrono_tz::Asia::Ho_Chi_Minh);
        let bangkok = from(&[("LOPHOC_TIMEZONE", "Asia/Bangkok")]).unwrap();
        assert_eq!(bangkok.timezone, chrono_tz::Asia::Bangkok);
        let err = from(&[("LOPHOC_TIMEZONE", "Hanoi")]).unwrap_err();
        assert!(err.contains("LOPHOC_TIMEZONE"), "{err}");
    }

    #[test]
    fn cors_origins_are_origins() {
        assert!(from(&[]).unwrap().cors_origins.is_empty());
        let two = from(&[("LOPHOC_CORS_ORIGINS", "https://A.vn/, http://localhost:5173")]).unwrap();
        assert_eq!(two.cors_origins, ["https://a.vn", "http://localhost:5173"]);
        for bad in
            ["*", "a.vn", "https://a.vn/app", "ftp://a.vn", "https://a.vn:99999", "https://a b"]
        {
            assert!(from(&[("LOPHOC_CORS_ORIGINS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn admin_credentials_come_in_pairs() {
        assert!(from(&[("LOPHOC_ADMIN_EMAIL", "a@b.vn")]).is_err());
    }

    #[test]
    fn postgres_urls_hide_their_password() {
        let url = DatabaseUrl::parse("postgres://lophoc:hunter2@db:5432/lophoc");
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(url.to_string(), "postgres://***@db:5432/lophoc");
        let in_query = DatabaseUrl::parse("postgres://db/lophoc?user=lophoc&password=hunter2");
        assert_eq!(in_query.to_string(), "postgres://db/lophoc");
        assert_eq!(DatabaseUrl::parse("sqlite:///tmp/x.db").to_string(), "sqlite:///tmp/x.db");
    }
}
