-- Thrum SQLite schema, version 5 (the layout migration starts from).
-- See docs/FORMAT.md section 7.

CREATE TABLE schema_version (
    version    INTEGER NOT NULL,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE messages (
    message_id      TEXT PRIMARY KEY,
    thread_id       TEXT,
    agent_id        TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT,
    body_format     TEXT NOT NULL,
    body_content    TEXT NOT NULL,
    body_structured TEXT,
    deleted         INTEGER DEFAULT 0,
    deleted_at      TEXT,
    delete_reason   TEXT,
    authored_by     TEXT,
    disclosed       INTEGER DEFAULT 0
);

CREATE TABLE message_scopes (
    message_id  TEXT NOT NULL,
    scope_type  TEXT NOT NULL,
    scope_value TEXT NOT NULL,
    PRIMARY KEY (message_id, scope_type, scope_value)
);

CREATE TABLE message_refs (
    message_id TEXT NOT NULL,
    ref_type   TEXT NOT NULL,
    ref_value  TEXT NOT NULL,
    PRIMARY KEY (message_id, ref_type, ref_value)
);

CREATE TABLE threads (
    thread_id  TEXT PRIMARY KEY,
    title      TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE agents (
    agent_id      TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    role          TEXT NOT NULL,
    module        TEXT NOT NULL,
    display       TEXT,
    registered_at TEXT NOT NULL,
    last_seen_at  TEXT
);

CREATE TABLE sessions (
    session_id   TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    ended_at     TEXT,
    end_reason   TEXT,
    last_seen_at TEXT NOT NULL
);

CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id   TEXT NOT NULL,
    scope_type   TEXT,
    scope_value  TEXT,
    mention_role TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (session_id, scope_type, scope_value, mention_role)
);

CREATE TABLE message_reads (
    message_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    read_at    TEXT NOT NULL,
    PRIMARY KEY (message_id, session_id),
    FOREIGN KEY (message_id) REFERENCES messages(message_id) ON DELETE CASCADE
);

CREATE TABLE message_edits (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id     TEXT NOT NULL,
    edited_at      TEXT NOT NULL,
    edited_by      TEXT NOT NULL,
    old_content    TEXT,
    new_content    TEXT,
    old_structured TEXT,
    new_structured TEXT
);

CREATE TABLE session_scopes (
    session_id  TEXT NOT NULL,
    scope_type  TEXT NOT NULL,
    scope_value TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    PRIMARY KEY (session_id, scope_type, scope_value)
);

CREATE TABLE session_refs (
    session_id TEXT NOT NULL,
    ref_type   TEXT NOT NULL,
    ref_value  TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    PRIMARY KEY (session_id, ref_type, ref_value)
);

CREATE INDEX idx_messages_thread ON messages(thread_id);

CREATE INDEX idx_messages_time ON messages(created_at);

CREATE INDEX idx_messages_agent ON messages(agent_id);

CREATE INDEX idx_messages_session ON messages(session_id);

CREATE INDEX idx_messages_not_deleted ON messages(deleted) WHERE deleted = 0;

CREATE INDEX idx_scopes_lookup ON message_scopes(scope_type, scope_value);

CREATE INDEX idx_refs_lookup ON message_refs(ref_type, ref_value);

CREATE INDEX idx_sessions_agent ON sessions(agent_id, started_at);

CREATE INDEX idx_subscriptions_session ON subscriptions(session_id);

CREATE INDEX idx_subscriptions_scope ON subscriptions(scope_type, scope_value);

CREATE INDEX idx_subscriptions_mention ON subscriptions(mention_role);

CREATE INDEX idx_edits_message ON message_edits(message_id, edited_at);

CREATE INDEX idx_session_scopes_lookup ON session_scopes(scope_type, scope_value);

CREATE INDEX idx_session_refs_lookup ON session_refs(ref_type, ref_value);

CREATE INDEX idx_message_reads_agent ON message_reads(agent_id, message_id);

CREATE INDEX idx_message_reads_message ON message_reads(message_id);
