//! The table catalogue: one description of every v13 table that the DDL
//! checks, the Arrow schemas and the verifier's row diff all use.

/// Storage class in SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// `TEXT`.
    Text,
    /// `INTEGER`.
    Integer,
}

impl SqlType {
    /// The type as the DDL spells it.
    pub fn as_sql(self) -> &'static str {
        match self {
            SqlType::Text => "TEXT",
            SqlType::Integer => "INTEGER",
        }
    }
}

/// What a column means, beyond its storage class. Drives the Arrow type
/// mapping and value comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    /// Plain text.
    Text,
    /// Plain integer.
    Int,
    /// RFC 3339 text (UTC) → `Timestamp(Microsecond, UTC)`.
    Timestamp,
    /// SQLite `CURRENT_TIMESTAMP` text (`YYYY-MM-DD HH:MM:SS`, UTC) → timestamp.
    SqlDateTime,
    /// Integer seconds since the Unix epoch → timestamp.
    UnixSeconds,
    /// 0/1 integer → boolean.
    Flag,
    /// Text holding JSON; stays UTF-8 with metadata saying so.
    Json,
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its storage class.
    pub sql: SqlType,
    /// Whether the DDL says `NOT NULL`.
    pub not_null: bool,
    /// The DDL default as SQL text, e.g. `'[]'`, `0`, `CURRENT_TIMESTAMP`.
    pub default: Option<&'static str>,
    /// What its values mean.
    pub semantic: Semantic,
}

/// Where a table's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Projected from JSONL events.
    Projected,
    /// The sync log: one row per event written.
    EventLog,
    /// Local-only state, never in JSONL.
    Local,
    /// Database metadata (`schema_version`).
    Meta,
}

/// One table of the v13 schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: &'static str,
    /// Its columns, in DDL order.
    pub columns: &'static [Column],
    /// Primary key columns in key order; for AUTOINCREMENT tables this is `id`.
    pub primary_key: &'static [&'static str],
    /// The natural key used to name a row in reports (equals the primary key
    /// except for AUTOINCREMENT tables and `schema_version`).
    pub natural_key: &'static [&'static str],
    /// Whether its key is an `INTEGER PRIMARY KEY AUTOINCREMENT` `id`.
    pub autoincrement: bool,
    /// Where its rows come from.
    pub origin: Origin,
    /// Columns a replay cannot reproduce (heartbeat-maintained).
    pub local_columns: &'static [&'static str],
}

impl Table {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// The position of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
    /// `SELECT` of all columns ordered by primary key.
    pub fn select_sql(&self) -> String {
        let cols: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        format!(
            "SELECT {} FROM \"{}\" ORDER BY {}",
            cols.join(", "),
            self.name,
            self.primary_key.join(", ")
        )
    }
}

const fn col(
    name: &'static str,
    sql: SqlType,
    not_null: bool,
    default: Option<&'static str>,
    semantic: Semantic,
) -> Column {
    Column { name, sql, not_null, default, semantic }
}

use Semantic as S;
use SqlType::{Integer as I, Text as T};

const fn text(name: &'static str) -> Column {
    col(name, T, false, None, S::Text)
}
const fn text_nn(name: &'static str) -> Column {
    col(name, T, true, None, S::Text)
}
const fn ts(name: &'static str) -> Column {
    col(name, T, false, None, S::Timestamp)
}
const fn ts_nn(name: &'static str) -> Column {
    col(name, T, true, None, S::Timestamp)
}
const fn json(name: &'static str) -> Column {
    col(name, T, false, None, S::Json)
}

/// `schema_version`: the schema versions applied.
pub const SCHEMA_VERSION: Table = Table {
    name: "schema_version",
    columns: &[
        col("version", I, true, None, S::Int),
        col("applied_at", T, true, Some("CURRENT_TIMESTAMP"), S::SqlDateTime),
    ],
    primary_key: &["version"],
    natural_key: &["version"],
    autoincrement: false,
    origin: Origin::Meta,
    local_columns: &[],
};

/// `messages`: every message in its final state.
pub const MESSAGES: Table = Table {
    name: "messages",
    columns: &[
        text("message_id"),
        text("thread_id"),
        text_nn("agent_id"),
        text_nn("session_id"),
        ts_nn("created_at"),
        ts("updated_at"),
        text_nn("body_format"),
        text_nn("body_content"),
        json("body_structured"),
        col("deleted", I, false, Some("0"), S::Flag),
        ts("deleted_at"),
        text("delete_reason"),
        text("authored_by"),
        col("disclosed", I, false, Some("0"), S::Flag),
    ],
    primary_key: &["message_id"],
    natural_key: &["message_id"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &[],
};

/// `message_scopes`: the scopes of each message.
pub const MESSAGE_SCOPES: Table = Table {
    name: "message_scopes",
    columns: &[text_nn("message_id"), text_nn("scope_type"), text_nn("scope_value")],
    primary_key: &["message_id", "scope_type", "scope_value"],
    natural_key: &["message_id", "scope_type", "scope_value"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &[],
};

/// `message_refs`: the refs of each message.
pub const MESSAGE_REFS: Table = Table {
    name: "message_refs",
    columns: &[text_nn("message_id"), text_nn("ref_type"), text_nn("ref_value")],
    primary_key: &["message_id", "ref_type", "ref_value"],
    natural_key: &["message_id", "ref_type", "ref_value"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &[],
};

/// Threads (created by `thread.create`, which a v13 daemon still replays
/// but no longer writes, so the table is empty in a fresh fixture).
pub const THREADS: Table = Table {
    name: "threads",
    columns: &[text("thread_id"), text("title"), ts_nn("created_at"), text_nn("created_by")],
    primary_key: &["thread_id"],
    natural_key: &["thread_id"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &[],
};

/// `agents`: registered agents and humans.
pub const AGENTS: Table = Table {
    name: "agents",
    columns: &[
        text("agent_id"),
        text_nn("kind"),
        text_nn("role"),
        text_nn("module"),
        col("display", T, true, Some("''"), S::Text),
        col("hostname", T, true, Some("''"), S::Text),
        ts_nn("registered_at"),
        col("last_seen_at", T, true, Some("''"), S::Timestamp),
    ],
    primary_key: &["agent_id"],
    natural_key: &["agent_id"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &["last_seen_at"],
};

/// `sessions`: agent sessions.
pub const SESSIONS: Table = Table {
    name: "sessions",
    columns: &[
        text("session_id"),
        text_nn("agent_id"),
        ts_nn("started_at"),
        ts("ended_at"),
        text("end_reason"),
        ts_nn("last_seen_at"),
    ],
    primary_key: &["session_id"],
    natural_key: &["session_id"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &["last_seen_at"],
};

/// `subscriptions` (local-only).
pub const SUBSCRIPTIONS: Table = Table {
    name: "subscriptions",
    columns: &[
        col("id", I, false, None, S::Int),
        text_nn("session_id"),
        text("scope_type"),
        text("scope_value"),
        text("mention_role"),
        ts_nn("created_at"),
    ],
    primary_key: &["id"],
    natural_key: &["id"],
    autoincrement: true,
    origin: Origin::Local,
    local_columns: &[],
};

/// `message_reads`: read receipts (local-only).
pub const MESSAGE_READS: Table = Table {
    name: "message_reads",
    columns: &[text_nn("message_id"), text_nn("session_id"), text_nn("agent_id"), ts_nn("read_at")],
    primary_key: &["message_id", "session_id"],
    natural_key: &["message_id", "session_id"],
    autoincrement: false,
    origin: Origin::Local,
    local_columns: &[],
};

/// `message_edits`: the edit history of messages.
pub const MESSAGE_EDITS: Table = Table {
    name: "message_edits",
    columns: &[
        col("id", I, false, None, S::Int),
        text_nn("message_id"),
        ts_nn("edited_at"),
        text_nn("edited_by"),
        text("old_content"),
        text("new_content"),
        json("old_structured"),
        json("new_structured"),
    ],
    primary_key: &["id"],
    natural_key: &["id"],
    autoincrement: true,
    origin: Origin::Projected,
    local_columns: &[],
};

/// `session_scopes` (local-only).
pub const SESSION_SCOPES: Table = Table {
    name: "session_scopes",
    columns: &[
        text_nn("session_id"),
        text_nn("scope_type"),
        text_nn("scope_value"),
        ts_nn("added_at"),
    ],
    primary_key: &["session_id", "scope_type", "scope_value"],
    natural_key: &["session_id", "scope_type", "scope_value"],
    autoincrement: false,
    origin: Origin::Local,
    local_columns: &[],
};

/// `session_refs` (local-only).
pub const SESSION_REFS: Table = Table {
    name: "session_refs",
    columns: &[text_nn("session_id"), text_nn("ref_type"), text_nn("ref_value"), ts_nn("added_at")],
    primary_key: &["session_id", "ref_type", "ref_value"],
    natural_key: &["session_id", "ref_type", "ref_value"],
    autoincrement: false,
    origin: Origin::Local,
    local_columns: &[],
};

/// `groups`.
pub const GROUPS: Table = Table {
    name: "groups",
    columns: &[
        text("group_id"),
        text_nn("name"),
        text("description"),
        ts_nn("created_at"),
        text_nn("created_by"),
        ts("updated_at"),
        json("metadata"),
    ],
    primary_key: &["group_id"],
    natural_key: &["group_id"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &[],
};

/// `group_members`.
pub const GROUP_MEMBERS: Table = Table {
    name: "group_members",
    columns: &[
        col("id", I, false, None, S::Int),
        text_nn("group_id"),
        text_nn("member_type"),
        text_nn("member_value"),
        ts_nn("added_at"),
        text("added_by"),
    ],
    primary_key: &["id"],
    natural_key: &["group_id", "member_type", "member_value"],
    autoincrement: true,
    origin: Origin::Projected,
    local_columns: &[],
};

/// `events`: the sync log, one row per event written.
pub const EVENTS: Table = Table {
    name: "events",
    columns: &[
        text("event_id"),
        col("sequence", I, true, None, S::Int),
        text_nn("type"),
        ts_nn("timestamp"),
        text_nn("origin_daemon"),
        col("event_json", T, true, None, S::Json),
    ],
    primary_key: &["event_id"],
    natural_key: &["event_id"],
    autoincrement: false,
    origin: Origin::EventLog,
    local_columns: &[],
};

/// `sync_checkpoints`: how far each peer has synced (local-only).
pub const SYNC_CHECKPOINTS: Table = Table {
    name: "sync_checkpoints",
    columns: &[
        text("peer_daemon_id"),
        col("last_synced_sequence", I, true, Some("0"), S::Int),
        col("last_sync_timestamp", I, true, None, S::UnixSeconds),
        col("sync_status", T, true, Some("'idle'"), S::Text),
    ],
    primary_key: &["peer_daemon_id"],
    natural_key: &["peer_daemon_id"],
    autoincrement: false,
    origin: Origin::Local,
    local_columns: &[],
};

/// `agent_work_contexts`: the merged work context of each session.
pub const AGENT_WORK_CONTEXTS: Table = Table {
    name: "agent_work_contexts",
    columns: &[
        text("session_id"),
        text_nn("agent_id"),
        text("branch"),
        text("worktree_path"),
        json("unmerged_commits"),
        json("uncommitted_files"),
        json("changed_files"),
        col("file_changes", T, false, Some("'[]'"), S::Json),
        ts("git_updated_at"),
        text("current_task"),
        ts("task_updated_at"),
        text("intent"),
        ts("intent_updated_at"),
    ],
    primary_key: &["session_id"],
    natural_key: &["session_id"],
    autoincrement: false,
    origin: Origin::Projected,
    local_columns: &[],
};

/// Every v13 table, in DDL order.
pub const TABLES: &[Table] = &[
    SCHEMA_VERSION,
    MESSAGES,
    MESSAGE_SCOPES,
    MESSAGE_REFS,
    THREADS,
    AGENTS,
    SESSIONS,
    SUBSCRIPTIONS,
    MESSAGE_READS,
    MESSAGE_EDITS,
    SESSION_SCOPES,
    SESSION_REFS,
    GROUPS,
    GROUP_MEMBERS,
    EVENTS,
    SYNC_CHECKPOINTS,
    AGENT_WORK_CONTEXTS,
];

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Tables whose rows a JSONL replay reproduces.
pub fn projected() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(|t| t.origin == Origin::Projected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue must describe exactly the tables and columns of v13.sql.
    #[test]
    fn catalogue_matches_v13_ddl() {
        let ddl = crate::sql::V13;
        for t in TABLES {
            let start = ddl
                .find(&format!("CREATE TABLE {} (", t.name))
                .unwrap_or_else(|| panic!("{} missing", t.name));
            let body = &ddl[start..];
            // the daemon's text: columns indented by three tabs, `)` by two
            let body = &body[..body.find("\n\t\t);").unwrap()];
            let cols: Vec<&str> = body
                .lines()
                .skip(1)
                .map(str::trim)
                .filter(|l| {
                    !l.starts_with("PRIMARY KEY")
                        && !l.starts_with("UNIQUE")
                        && !l.starts_with("FOREIGN KEY")
                })
                .collect();
            assert_eq!(cols.len(), t.columns.len(), "{}", t.name);
            for (line, c) in cols.iter().zip(t.columns) {
                let mut words = line.trim_end_matches(',').split_whitespace();
                assert_eq!(words.next(), Some(c.name), "{}", t.name);
                assert_eq!(words.next(), Some(c.sql.as_sql()), "{}.{}", t.name, c.name);
                let rest: Vec<&str> = words.collect();
                let rest = rest.join(" ");
                assert_eq!(rest.contains("NOT NULL"), c.not_null, "{}.{}", t.name, c.name);
                assert_eq!(rest.split("DEFAULT ").nth(1), c.default, "{}.{}", t.name, c.name);
            }
        }
        let n = ddl.matches("CREATE TABLE").count();
        assert_eq!(n, TABLES.len());
    }
}

/// One cell of a row, as every sink (SQLite, Parquet, diff) sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cell<'a> {
    /// SQL `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text, borrowed or owned.
    Text(std::borrow::Cow<'a, str>),
}

impl<'a> Cell<'a> {
    /// Borrowed text.
    pub fn text(s: &'a str) -> Cell<'a> {
        Cell::Text(std::borrow::Cow::Borrowed(s))
    }
    /// Borrowed text, or `NULL` for `None`.
    pub fn opt_text(s: Option<&'a str>) -> Cell<'a> {
        s.map_or(Cell::Null, Cell::text)
    }
    /// Owned text.
    pub fn owned(s: String) -> Cell<'a> {
        Cell::Text(std::borrow::Cow::Owned(s))
    }
    /// The same cell, owning its text.
    pub fn into_owned(self) -> Cell<'static> {
        match self {
            Cell::Null => Cell::Null,
            Cell::Int(i) => Cell::Int(i),
            Cell::Text(t) => Cell::Text(std::borrow::Cow::Owned(t.into_owned())),
        }
    }
    /// The text, if a text cell.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl std::fmt::Display for Cell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Text(t) => write!(f, "{t:?}"),
        }
    }
}
