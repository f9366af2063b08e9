//! The dispatcher each server runs: it takes due events off the outbox,
//! turns each into webhook deliveries and emails, and sends those, retrying
//! what fails with growing delays until it is given up.
//!
//! Every step is claimed in a short write transaction before anything goes
//! out (see `outbox::model::claim_due` and `webhooks::model::claim_due`), so
//! servers on one PostgreSQL database share the work without two sending
//! one message at once, and a server that stops mid-way leaves its claims
//! to be taken again. Delivery is therefore at least once.

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use futures_util::future::{join, join_all};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::config::NotifyConfig;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::http::utc::utc;
use crate::id::Id;
use crate::mail::compose;
use crate::mail::model::{self as mail, MailOutcome};
use crate::mail::smtp::{Mailer, SEND_DEADLINE, Sending};
use crate::outbox::model::{self as outbox, CLAIM_LEASE, EventData, EventType, OutboxEvent};
use crate::webhooks::model::{self as webhooks, Attempt};
use crate::webhooks::send::Sender;

/// Events fanned out, and deliveries or emails sent, per transaction.
const BATCH: i64 = 50;
/// How many emails are sent at once: a commune's relay may not take
/// fifty connections.
const MAIL_CONNECTIONS: usize = 4;
/// How long the deliveries log keeps a delivery once settled.
const DELIVERIES_KEPT: TimeDelta = TimeDelta::days(30);
/// How often a dispatcher prunes the deliveries log.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
/// The longest wait between two retries.
const LONGEST_RETRY_WAIT: Duration = Duration::from_secs(60 * 60);

/// The body of a webhook delivery: the event, as the outbox recorded it.
#[derive(Serialize, ToSchema)]
pub struct WebhookEvent {
    /// The same in every delivery of this event, and in `Lophoc-Event-Id`.
    pub id: Id,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(serialize_with = "utc")]
    pub occurred_at: chrono::DateTime<Utc>,
    /// `PlaceData` for `enrolment.*`, `SessionData` for `session.*`,
    /// `MarkData` for `attendance.marked`: ids and the facts of the change,
    /// never names or contact details.
    #[schema(value_type = Object)]
    pub data: Value,
}

pub struct Dispatcher {
    db: Db,
    config: NotifyConfig,
    zone: Tz,
    sender: Sender,
    mailer: Option<Mailer>,
    /// When this dispatcher last pruned the deliveries log.
    pruned_at: Cell<Option<Instant>>,
}

impl Dispatcher {
    /// A dispatcher for `db`; fails on an SMTP URL that cannot be used.
    pub fn new(db: Db, config: NotifyConfig, zone: Tz) -> Result<Self, String> {
        // A try must end well within its claim, or another server could
        // claim and send it meanwhile.
        let longest_try = config.answer_timeout.max(SEND_DEADLINE) * 2;
        if TimeDelta::from_std(longest_try).map_or(true, |t| t > CLAIM_LEASE) {
            return Err("a try must take at most half the claim lease".into());
        }
        let mailer = match &config.smtp_url {
            Some(url) => Some(Mailer::new(url.expose(), &config.mail_from, config.answer_timeout)?),
            None => None,
        };
        let sender = Sender::new(config.webhook_allow_private, config.answer_timeout);
        Ok(Self { db, config, zone, sender, mailer, pruned_at: Cell::new(None) })
    }

    /// Works until the server stops, in two loops side by side (a slow
    /// mail server holds up no webhook, a slow receiver no email): each
    /// runs a round at once, then one every `poll_interval`, or straight
    /// away after a round that had more to do.
    pub async fn run(self) {
        let events = self.keep_working("notification", || self.events_round());
        if self.mailer.is_some() {
            join(events, self.keep_working("email", || self.mail_round())).await;
        } else {
            events.await;
        }
    }

    async fn keep_working<F, Round>(&self, what: &str, round: F)
    where
        F: Fn() -> Round,
        Round: Future<Output = Result<bool, AppError>>,
    {
        loop {
            let busy = match round().await {
                Ok(busy) => busy,
                Err(err) => {
                    // The database is away: the next round tries again.
                    tracing::warn!(error = ?err, "{what} round failed");
                    false
                }
            };
            if !busy {
                tokio::time::sleep(self.config.poll_interval).await;
            }
        }
    }

    /// Fans due events out and sends due webhook deliveries; whether either
    /// filled a whole batch. What is due is read first, so that an idle
    /// round writes nothing.
    async fn events_round(&self) -> Result<bool, AppError> {
        let (events, deliveries) =
            self.db.run(|conn| Ok((outbox::any_due(conn)?, webhooks::any_due(conn)?))).await?;
        // Events first: the deliveries they make go out in the same round.
        let fanned = if events { self.fan_out().await? } else { 0 };
        let delivered = if deliveries || fanned > 0 { self.deliver_webhooks().await? } else { 0 };
        self.prune().await?;
        Ok(fanned as i64 >= BATCH || delivered as i64 >= BATCH)
    }

    /// Sends due emails; whether there may be more.
    async fn mail_round(&self) -> Result<bool, AppError> {
        if !self.db.run(|conn| Ok(mail::any_due(conn)?)).await? {
            return Ok(false);
        }
        Ok(self.send_mail().await? == MAIL_CONNECTIONS)
    }

    /// Turns due events into deliveries for the webhooks that take them,
    /// and into emails when SMTP is configured, deleting the events, in
    /// one transaction: with no webhook and no SMTP, events only go.
    async fn fan_out(&self) -> Result<usize, AppError> {
        let writes_mail = self.mailer.is_some();
        let zone = self.zone;
        self.db
            .write(move |conn| {
                let events = outbox::claim_due(conn, BATCH)?;
                if events.is_empty() {
                    return Ok(0);
                }
                let hooks = webhooks::all(conn)?;
                for event in &events {
                    let Some((data, value)) = read(event) else { continue };
                    if event.is_late_reminder(&data) {
                        continue;
                    }
                    let event_body = WebhookEvent {
                        id: event.id,
                        kind: event.event_type,
                        occurred_at: event.occurred_at.and_utc(),
                        data: value,
                    };
                    let takers: Vec<_> =
                        hooks.iter().filter(|hook| hook.takes(event.event_type)).collect();
                    if !takers.is_empty() {
                        let body = serde_json::to_string(&event_body)
                            .map_err(|err| AppError::internal("a webhook body", err))?;
                        for hook in takers {
                            webhooks::enqueue(conn, hook, event.id, event.event_type, &body)?;
                        }
                    }
                    if writes_mail {
                        for letter in compose::letters(conn, event.event_type, &data, zone)? {
                            mail::enqueue(conn, event.id, letter)?;
                        }
                    }
                }
                let ids: Vec<Id> = events.iter().map(|e| e.id).collect();
                let removed = outbox::remove(conn, &ids)?;
                // Rows not written by lophoc (an id spelt otherwise than it
                // spells ids) cannot be matched again: counting only what
                // went keeps such rows from making the loop spin.
                if removed < events.len() {
                    tracing::error!(
                        claimed = events.len(),
                        removed,
                        "outbox events that could not be removed"
                    );
                }
                Ok(removed)
            })
            .await
    }

    /// Keeps the deliveries log to its last month, once an hour.
    async fn prune(&self) -> Result<(), AppError> {
        if self.pruned_at.get().is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return Ok(());
        }
        self.pruned_at.set(Some(Instant::now()));
        let before = db::now() - DELIVERIES_KEPT;
        self.db.write(move |conn| Ok(webhooks::prune(conn, before)?)).await.map(drop)
    }

    async fn deliver_webhooks(&self) -> Result<usize, AppError> {
        let claimed = self.db.write(|conn| Ok(webhooks::claim_due(conn, BATCH)?)).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let attempts =
            join_all(claimed.iter().map(|(delivery, hook)| self.sender.send(delivery, hook))).await;
        let config = self.config.clone();
        let count = claimed.len();
        self.db
            .write(move |conn| {
                for ((delivery, _), attempt) in claimed.iter().zip(&attempts) {
                    let retry_at = match attempt {
                        Attempt::Delivered { .. } => None,
                        Attempt::Failed { status_code, .. } => {
                            let retry_at =
                                retry_at(delivery.created_at, delivery.attempts + 1, &config);
                            // The receiver's answer stays in the deliveries
                            // log, for admins; the log gets its status only.
                            if retry_at.is_none() {
                                tracing::warn!(
                                    delivery = %delivery.id, webhook = %delivery.webhook_id,
                                    status = ?status_code, "webhook delivery given up"
                                );
                            }
                            retry_at
                        }
                    };
                    webhooks::record_attempt(conn, delivery, attempt, retry_at)?;
                }
                Ok(())
            })
            .await?;
        Ok(count)
    }

    async fn send_mail(&self) -> Result<usize, AppError> {
        let Some(mailer) = &self.mailer else { return Ok(0) };
        // As many as go at once: each may take `SEND_DEADLINE`, and all must
        // be done within the claim.
        let batch = MAIL_CONNECTIONS as i64;
        let claimed = self.db.write(move |conn| Ok(mail::claim_due(conn, batch)?)).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let outcomes = join_all(claimed.iter().map(|message| mailer.send(message))).await;
        let config = self.config.clone();
        let count = claimed.len();
        self.db
            .write(move |conn| {
                for (message, sending) in claimed.iter().zip(&outcomes) {
                    // The log names the message, never its address.
                    let outcome = match sending {
                        Sending::Sent => MailOutcome::Done,
                        Sending::Retry(why) => {
                            match retry_at(message.created_at, message.attempts + 1, &config) {
                                Some(at) => MailOutcome::RetryAt(at),
                                None => {
                                    tracing::warn!(message = %message.id, %why, "email given up");
                                    MailOutcome::Done
                                }
                            }
                        }
                        Sending::Refused(why) => {
                            tracing::warn!(message = %message.id, %why, "email refused");
                            MailOutcome::Done
                        }
                    };
                    mail::record_attempt(conn, message, outcome)?;
                }
                Ok(())
            })
            .await?;
        Ok(count)
    }
}

/// An event's data, typed and as JSON; `None` (logged) for a row that
/// cannot be read, which is then dropped rather than retried forever.
fn read(event: &OutboxEvent) -> Option<(EventData, Value)> {
    let typed = EventData::parse(event.event_type, &event.data);
    let value = serde_json::from_str(&event.data);
    match (typed, value) {
        (Ok(typed), Ok(value)) => Some((typed, value)),
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(event = %event.id, error = %err, "unreadable outbox event dropped");
            None
        }
    }
}

/// When to try again after the `attempts`-th failed try of something first
/// queued at `queued_at`: `first_retry_after`, then twice as long each
/// time up to an hour, and never past `give_up_after` from the start;
/// `None` once that has passed.
fn retry_at(
    queued_at: NaiveDateTime,
    attempts: i32,
    config: &NotifyConfig,
) -> Option<NaiveDateTime> {
    let deadline = queued_at + TimeDelta::from_std(config.give_up_after).ok()?;
    let now = db::now();
    if now >= deadline {
        return None;
    }
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(16);
    let wait = config.first_retry_after.saturating_mul(1 << doublings).min(LONGEST_RETRY_WAIT);
    Some((now + TimeDelta::from_std(wait).ok()?).min(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_and_stop_after_a_day() {
        let config = NotifyConfig::default();
        let now = db::now();
        let wait = |attempts| retry_at(now, attempts, &config).map(|at| (at - now).num_seconds());
        assert_eq!(wait(1), Some(10));
        assert_eq!(wait(2), Some(20));
        assert_eq!(wait(5), Some(160));
        // Capped at an hour.
        assert_eq!(wait(30), Some(3600));
        // Never past the day; then given up.
        let late = now - TimeDelta::hours(23) - TimeDelta::minutes(59);
        let at = retry_at(late, 30, &config).unwrap();
        assert!(at <= late + TimeDelta::hours(24));
        assert_eq!(retry_at(now - TimeDelta::hours(24), 30, &config), None);
    }
}
