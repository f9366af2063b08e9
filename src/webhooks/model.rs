//! Webhooks and their deliveries.
//!
//! Each event a webhook subscribes to becomes one delivery row, written by
//! the dispatcher in the transaction that takes the event off the outbox.
//! A server claims due deliveries by moving their `next_attempt_at` past the
//! time its try can take ([`CLAIM_LEASE`](crate::outbox::model::CLAIM_LEASE)), commits, and only then sends:
//! no transaction stays open across a network call, no other server sends
//! the same delivery meanwhile, and a server that dies mid-try leaves the
//! delivery to be tried again when the lease runs out.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Action, Actor, EntityType, FieldChange};
use crate::crypto::random_token;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::{self, DbConnection};
use crate::id::Id;
use crate::outbox::model::{CLAIM_LEASE, EventType};
use crate::paging::{PageRequest, Paged};
use crate::vocab::text_enum::text_enum;

text_enum! {
    /// `pending` until a receiver answers `2xx` (`delivered`), or until
    /// retries give up (`failed`).
    pub enum DeliveryStatus {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: Id,
    pub url: String,
    /// The event types it takes, one per line.
    pub events: String,
    /// The key deliveries are signed with. Kept as it is: signing needs it.
    pub secret: String,
    pub created_by: Option<Id>,
    pub created_at: NaiveDateTime,
    /// When a delivery last gave up; cleared when one arrives.
    pub failed_at: Option<NaiveDateTime>,
}

impl Webhook {
    pub fn event_types(&self) -> Vec<EventType> {
        db::split_lines(&self.events).into_iter().filter_map(EventType::parse).collect()
    }

    pub fn takes(&self, kind: EventType) -> bool {
        db::split_lines(&self.events).contains(&kind.as_str())
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: Id,
    pub webhook_id: Id,
    pub event_id: Id,
    pub event_type: EventType,
    /// The JSON body, as sent and signed.
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    /// The status of the receiver's last answer, if it answered.
    pub last_status_code: Option<i32>,
    /// Why the last try failed, if it did.
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
}

/// Adds a webhook with a new secret. Call inside a write transaction.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    url: String,
    events: &[EventType],
) -> QueryResult<Webhook> {
    let webhook = Webhook {
        id: Id::new(),
        url,
        events: db::join_lines(&events.iter().map(|e| e.as_str()).collect::<Vec<_>>()),
        secret: format!("whsec_{}", random_token()),
        created_by: actor.id(),
        created_at: db::now(),
        failed_at: None,
    };
    diesel::insert_into(webhooks::table).values(&webhook).execute(conn)?;
    // A receiver's URL may carry a token in its query: the trail keeps
    // where it points, not what it says.
    let place = webhook.url.split(['?', '#']).next().unwrap_or_default();
    let changes = vec![
        FieldChange {
            field: "url".into(),
            from: serde_json::Value::Null,
            to: place.into(),
            redacted: false,
        },
        FieldChange {
            field: "events".into(),
            from: serde_json::Value::Null,
            to: serde_json::json!(events),
            redacted: false,
        },
        FieldChange::redacted("secret"),
    ];
    audit::record(conn, actor, Action::Create, EntityType::Webhook, webhook.id, changes)?;
    Ok(webhook)
}

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<Webhook>> {
    webhooks::table.find(id).select(Webhook::as_select()).first(conn).optional()
}

pub fn list(conn: &mut DbConnection, page: &PageRequest) -> QueryResult<Vec<Webhook>> {
    webhooks::table.select(Webhook::as_select()).into_boxed().page(webhooks::id, page).load(conn)
}

/// Every webhook, for the dispatcher to match events against.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Webhook>> {
    webhooks::table.select(Webhook::as_select()).order(webhooks::id.asc()).load(conn)
}

/// Deletes a webhook with its deliveries log; those not yet sent are not
/// sent. Returns whether it existed. Call inside a write transaction.
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: Id) -> QueryResult<bool> {
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
        .execute(conn)?;
    let deleted = diesel::delete(webhooks::table.find(id)).execute(conn)? == 1;
    if deleted {
        audit::record(conn, actor, Action::Delete, EntityType::Webhook, id, Vec::new())?;
    }
    Ok(deleted)
}

/// Queues `body` (an event) for `webhook`, due at once.
pub fn enqueue(
    conn: &mut DbConnection,
    webhook: &Webhook,
    event_id: Id,
    event_type: EventType,
    body: &str,
) -> QueryResult<()> {
    let now = db::now();
    let delivery = Delivery {
        id: Id::new(),
        webhook_id: webhook.id,
        event_id,
        event_type,
        body: body.to_owned(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        created_at: now,
        next_attempt_at: now,
        last_attempt_at: None,
        last_status_code: None,
        last_error: None,
        delivered_at: None,
    };
    diesel::insert_into(webhook_deliveries::table).values(&delivery).execute(conn).map(drop)
}

/// Up to `limit` due deliveries, each with its webhook, claimed for this
/// server for [`CLAIM_LEASE`] (see the module documentation). Call inside a
/// write transaction, and send after it commits.
pub fn claim_due(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<(Delivery, Webhook)>> {
    let now = db::now();
    let due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::next_attempt_at.asc())
        .limit(limit)
        .select(webhook_deliveries::id);
    let ids: Vec<Id> = match conn {
        DbConnection::Sqlite(inner) => due.load(inner)?,
        // Rows another server is claiming are skipped, not waited for.
        DbConnection::Postgresql(inner) => due.for_update().skip_locked().load(inner)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set(webhook_deliveries::next_attempt_at.eq(now + CLAIM_LEASE))
        .execute(conn)?;
    webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order(webhook_deliveries::id.asc())
        .select((Delivery::as_select(), Webhook::as_select()))
        .load(conn)
}

/// Whether any delivery is due (a read: see `outbox::model::any_due`).
pub fn any_due(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
            .filter(webhook_deliveries::next_attempt_at.le(db::now())),
    ))
    .get_result(conn)
}

/// How a try went.
#[derive(Debug)]
pub enum Attempt {
    /// The receiver answered `2xx`.
    Delivered { status_code: u16 },
    /// No answer in time, no connection, or an answer that is not `2xx`.
    Failed { status_code: Option<u16>, error: String },
}

/// Records a try of `delivery` as claimed: delivered; or failed, to be
/// tried again at `retry_at`, or given up when that is `None`, which marks
/// its webhook failed. A claim that another server has taken over since
/// (its lease ran out) records nothing: that server's try counts.
pub fn record_attempt(
    conn: &mut DbConnection,
    delivery: &Delivery,
    attempt: &Attempt,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    let now = db::now();
    // The claim set `next_attempt_at` to the end of its lease.
    let row = webhook_deliveries::table
        .find(delivery.id)
        .filter(webhook_deliveries::next_attempt_at.eq(delivery.next_attempt_at));
    let attempts = webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1);
    let tried = webhook_deliveries::last_attempt_at.eq(Some(now));
    match attempt {
        Attempt::Delivered { status_code } => {
            let recorded = diesel::update(row)
                .set((
                    attempts,
                    tried,
                    webhook_deliveries::status.eq(DeliveryStatus::Delivered),
                    webhook_deliveries::last_status_code.eq(Some(i32::from(*status_code))),
                    webhook_deliveries::last_error.eq(None::<String>),
                    webhook_deliveries::delivered_at.eq(Some(now)),
                ))
                .execute(conn)?;
            if recorded == 0 {
                return Ok(());
            }
            diesel::update(webhooks::table.find(delivery.webhook_id))
                .set(webhooks::failed_at.eq(None::<NaiveDateTime>))
                .execute(conn)?;
        }
        Attempt::Failed { status_code, error } => {
            let status = match retry_at {
                Some(_) => DeliveryStatus::Pending,
                None => DeliveryStatus::Failed,
            };
            let recorded = diesel::update(row)
                .set((
                    attempts,
                    tried,
                    webhook_deliveries::status.eq(status),
                    webhook_deliveries::next_attempt_at.eq(retry_at.unwrap_or(now)),
                    webhook_deliveries::last_status_code.eq(status_code.map(i32::from)),
                    webhook_deliveries::last_error.eq(Some(error)),
                ))
                .execute(conn)?;
            if recorded == 1 && retry_at.is_none() {
                diesel::update(webhooks::table.find(delivery.webhook_id))
                    .set(webhooks::failed_at.eq(Some(now)))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// A webhook's deliveries, oldest first.
pub fn deliveries(
    conn: &mut DbConnection,
    webhook_id: Id,
    page: &PageRequest,
) -> QueryResult<Vec<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select(Delivery::as_select())
        .into_boxed()
        .page(webhook_deliveries::id, page)
        .load(conn)
}

/// Deletes the deliveries settled (delivered or given up) before `before`.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending))
            .filter(webhook_deliveries::created_at.lt(before)),
    )
    .execute(conn)
}

/// Deliveries waiting to be sent, and since when the oldest has waited.
pub fn backlog(conn: &mut DbConnection) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .select((diesel::dsl::count_star(), diesel::dsl::min(webhook_deliveries::created_at)))
        .first(conn)
}
