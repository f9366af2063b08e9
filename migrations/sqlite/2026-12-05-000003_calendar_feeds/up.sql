-- A person's secret calendar feed: one per account, kept as a digest of
-- its token; a new one replaces the old, whose URL then answers 404.
CREATE TABLE calendar_feeds (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
