-- Thrum SQLite schema, version 13 (fresh database).
-- Source of truth for the data contract; see docs/FORMAT.md section 5.
-- Every table statement is the daemon's own text, whitespace included
-- (tab-indented, as SQLite keeps it in sqlite_master).

CREATE TABLE schema_version (
			version INTEGER NOT NULL,
			applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
		);

CREATE TABLE messages (
			message_id   TEXT PRIMARY KEY,
			thread_id    TEXT,
			agent_id     TEXT NOT NULL,
			session_id   TEXT NOT NULL,
			created_at   TEXT NOT NULL,
			updated_at   TEXT,
			body_format  TEXT NOT NULL,
			body_content TEXT NOT NULL,
			body_structured TEXT,
			deleted      INTEGER DEFAULT 0,
			deleted_at   TEXT,
			delete_reason TEXT,
			authored_by  TEXT,
			disclosed    INTEGER DEFAULT 0
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
			agent_id   TEXT PRIMARY KEY,
			kind       TEXT NOT NULL,
			role       TEXT NOT NULL,
			module     TEXT NOT NULL,
			display    TEXT NOT NULL DEFAULT '',
			hostname   TEXT NOT NULL DEFAULT '',
			registered_at TEXT NOT NULL,
			last_seen_at TEXT NOT NULL DEFAULT ''
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
			UNIQUE(session_id, scope_type, scope_value, mention_role)
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

CREATE TABLE groups (
			group_id    TEXT PRIMARY KEY,
			name        TEXT UNIQUE NOT NULL,
			description TEXT,
			created_at  TEXT NOT NULL,
			created_by  TEXT NOT NULL,
			updated_at  TEXT,
			metadata    TEXT
		);

CREATE TABLE group_members (
			id           INTEGER PRIMARY KEY AUTOINCREMENT,
			group_id     TEXT NOT NULL,
			member_type  TEXT NOT NULL,
			member_value TEXT NOT NULL,
			added_at     TEXT NOT NULL,
			added_by     TEXT,
			UNIQUE(group_id, member_type, member_value),
			FOREIGN KEY (group_id) REFERENCES groups(group_id) ON DELETE CASCADE
		);

CREATE TABLE events (
			event_id TEXT PRIMARY KEY,
			sequence INTEGER UNIQUE NOT NULL,
			type TEXT NOT NULL,
			timestamp TEXT NOT NULL,
			origin_daemon TEXT NOT NULL,
			event_json TEXT NOT NULL
		);

CREATE TABLE sync_checkpoints (
			peer_daemon_id TEXT PRIMARY KEY,
			last_synced_sequence INTEGER NOT NULL DEFAULT 0,
			last_sync_timestamp INTEGER NOT NULL,
			sync_status TEXT NOT NULL DEFAULT 'idle'
		);

CREATE TABLE agent_work_contexts (
			session_id        TEXT PRIMARY KEY,
			agent_id          TEXT NOT NULL,
			branch            TEXT,
			worktree_path     TEXT,
			unmerged_commits  TEXT,
			uncommitted_files TEXT,
			changed_files     TEXT,
			file_changes      TEXT DEFAULT '[]',
			git_updated_at    TEXT,
			current_task      TEXT,
			task_updated_at   TEXT,
			intent            TEXT,
			intent_updated_at TEXT,
			FOREIGN KEY (session_id) REFERENCES sessions(session_id) ON DELETE CASCADE
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
CREATE INDEX idx_groups_name ON groups(name);
CREATE INDEX idx_group_members_group ON group_members(group_id);
CREATE INDEX idx_group_members_lookup ON group_members(member_type, member_value);
CREATE INDEX idx_events_sequence ON events(sequence);
CREATE INDEX idx_events_type ON events(type);
CREATE INDEX idx_events_origin ON events(origin_daemon);
CREATE INDEX idx_work_contexts_agent ON agent_work_contexts(agent_id);
CREATE INDEX idx_work_contexts_branch ON agent_work_contexts(branch);
