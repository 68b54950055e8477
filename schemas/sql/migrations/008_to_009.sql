-- 8 -> 9: the sync log, its three indexes, then the per-peer checkpoints
-- (in this order, which is their order in sqlite_master).
CREATE TABLE events (
    event_id      TEXT PRIMARY KEY,
    sequence      INTEGER UNIQUE NOT NULL,
    type          TEXT NOT NULL,
    timestamp     TEXT NOT NULL,
    origin_daemon TEXT NOT NULL,
    event_json    TEXT NOT NULL
);

CREATE INDEX idx_events_sequence ON events(sequence);
CREATE INDEX idx_events_type ON events(type);
CREATE INDEX idx_events_origin ON events(origin_daemon);

CREATE TABLE sync_checkpoints (
    peer_daemon_id       TEXT PRIMARY KEY,
    last_synced_sequence INTEGER NOT NULL DEFAULT 0,
    last_sync_timestamp  INTEGER NOT NULL,
    sync_status          TEXT NOT NULL DEFAULT 'idle'
);
