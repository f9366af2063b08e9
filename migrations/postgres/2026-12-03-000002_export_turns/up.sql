-- Who is exporting now, across every server: one export at a time per
-- caller. The server running an export renews its lease; a turn whose
-- server died is free once the lease has run out. claim tells this
-- export's turn from a later one of the same caller.
CREATE TABLE export_turns (
    caller_id TEXT PRIMARY KEY NOT NULL,
    claim TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
