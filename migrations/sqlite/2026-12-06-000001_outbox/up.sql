-- What people should hear about (see src/notify): each event is written in
-- the transaction of the change that causes it, then fanned out by a
-- server's dispatcher into the deliveries and messages below and deleted.
-- A reminder waits here until `due_at`, one per session.
CREATE TABLE outbox_events (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    session_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX outbox_events_by_due ON outbox_events (due_at);
-- A session's reminder is found by its session on every change of it;
-- the partial index below only keeps it to one (a query with the type as
-- a parameter cannot use it).
CREATE INDEX outbox_events_by_session ON outbox_events (session_id, event_type);
CREATE UNIQUE INDEX outbox_one_reminder_per_session
    ON outbox_events (session_id) WHERE event_type = 'session.reminder';

-- Other systems' subscriptions. The secret signs deliveries, so it is kept
-- as it is; `failed_at` is set when a delivery gave up after its retries,
-- and cleared by the next one that arrives.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    failed_at TIMESTAMP
);

-- One event for one webhook: the body as signed, and how its tries went.
-- A server that claims a delivery moves `next_attempt_at` past its try, so
-- that no other server sends it meanwhile.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP
);
-- Not partial: the status comes as a parameter, which a partial index's
-- condition cannot be matched against.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- Emails waiting to be sent. They hold an address and a name, so a row
-- lives only until its message is sent or given up, and goes when the
-- person it is about (`about_id`) or the one whose address it uses
-- (`addressee_id`) is anonymised.
CREATE TABLE mail_messages (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    about_id TEXT NOT NULL,
    addressee_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL
);
CREATE INDEX mail_messages_due ON mail_messages (next_attempt_at);

-- Sessions planned before this migration get their reminder, as a
-- session created now would (none for one starting within a day).
INSERT INTO outbox_events (id, event_type, occurred_at, due_at, session_id, data)
SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-'
             || substr(h, 17, 4) || '-' || substr(h, 21, 12)),
       'session.reminder', due, due, id,
       json_object(
           'session_id', id, 'course_id', course_id, 'status', status,
           'starts_at', strftime('%Y-%m-%dT%H:%M:%SZ', starts_at),
           'ends_at', strftime('%Y-%m-%dT%H:%M:%SZ', ends_at),
           'venue', venue, 'previous', NULL)
FROM (SELECT hex(randomblob(16)) AS h, datetime(starts_at, '-24 hours') AS due, *
      FROM sessions WHERE status = 'scheduled')
WHERE due > datetime('now');
