//! The data contract written beside the archives in every `--out` (not by
//! `--shard` slices, which have no database, nor by `testgen merge`):
//! `schema/v13.sql`, the `sqlite_master` SQL of the fixture's database in
//! creation order (rowid order; internal indexes, which have no SQL, are
//! left out), each statement followed by `;` and a newline; and
//! `schema/DATA-DICTIONARY.md`, every table and column with its meaning
//! ([`MEANINGS`]), origin, Parquet type and an example value; and
//! `schema/events.schema.json`, the JSON Schema of an event line.

use crate::archive::{hash_file, FileEntry};
use crate::error::{Error, IoContext, Result};
use arrow_schema::DataType;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use thrum_schemas::catalogue::{Column, Origin, Semantic, Table, TABLES};

/// Directory of the contract files, relative to the output directory.
pub const DIR: &str = "schema";
/// The v13 schema, relative to the output directory.
pub const V13_SQL: &str = "schema/v13.sql";

/// The `sqlite_master` SQL of the closed database `db`, in creation order.
pub fn sqlite_master_sql(db: &Path) -> Result<String> {
    let conn = open(db)?;
    let err = |source| Error::Sqlite { path: db.to_path_buf(), source };
    let mut stmt = conn
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
        .map_err(err)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
    let mut out = String::new();
    for sql in rows {
        out.push_str(&sql.map_err(err)?);
        out.push_str(";\n");
    }
    Ok(out)
}

/// Writes the contract files of the database `db` into `out`; returns
/// their entries (path relative to `out`, sha256, size), sorted by path.
pub fn write(out: &Path, db: &Path) -> Result<Vec<FileEntry>> {
    let dir = out.join(DIR);
    std::fs::create_dir_all(&dir).ctx("create directory", &dir)?;
    let sql_path = out.join(V13_SQL);
    std::fs::write(&sql_path, sqlite_master_sql(db)?).ctx("write", &sql_path)?;
    let events_path = out.join(EVENTS_SCHEMA);
    std::fs::write(&events_path, EVENTS_SCHEMA_JSON).ctx("write", &events_path)?;
    let dict_path = out.join(DICTIONARY);
    std::fs::write(&dict_path, dictionary(db)?).ctx("write", &dict_path)?;
    let mut entries = Vec::new();
    for rel in [V13_SQL, DICTIONARY, EVENTS_SCHEMA] {
        let (sha256, size) = hash_file(&out.join(rel))?;
        entries.push(FileEntry { path: rel.to_string(), sha256, size });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// The JSON Schema (2020-12) of an event line, relative to the output directory.
pub const EVENTS_SCHEMA: &str = "schema/events.schema.json";
/// Its text: the envelope and every event type (docs/FORMAT.md, sections 3 and 4).
pub const EVENTS_SCHEMA_JSON: &str = include_str!("../schema/events.schema.json");

/// The data dictionary, relative to the output directory.
pub const DICTIONARY: &str = "schema/DATA-DICTIONARY.md";

/// What every column of every v13 table means (docs/FORMAT.md, sections
/// 4 and 5): (table, column, meaning). [`dictionary`] refuses a catalogue
/// column missing here.
pub const MEANINGS: &[(&str, &str, &str)] = &[
    ("schema_version", "version", "Schema version applied (13)."),
    ("schema_version", "applied_at", "When it was applied (SQLite CURRENT_TIMESTAMP text, UTC)."),
    ("messages", "message_id", "Message id (`msg_` + ULID), from `message.create`."),
    ("messages", "thread_id", "Conversation the message belongs to; NULL when none."),
    (
        "messages",
        "agent_id",
        "Agent the message is sent as (the one spoken for when impersonated).",
    ),
    ("messages", "session_id", "Session that sent it."),
    ("messages", "created_at", "Time of the `message.create` event (RFC 3339, UTC)."),
    ("messages", "updated_at", "Time of the last `message.edit`; NULL when never edited."),
    ("messages", "body_format", "Body format: `markdown` (default), `plain` or `json`."),
    ("messages", "body_content", "Body text, as last edited."),
    ("messages", "body_structured", "Structured body (JSON text); NULL when none."),
    ("messages", "deleted", "1 once a `message.delete` applied, else 0."),
    ("messages", "deleted_at", "Time of the `message.delete` event; NULL when not deleted."),
    ("messages", "delete_reason", "Reason given in `message.delete`; NULL when none."),
    ("messages", "authored_by", "Real author when impersonating; NULL otherwise."),
    ("messages", "disclosed", "1 when the UI shows the impersonation, else 0."),
    ("message_scopes", "message_id", "Message the scope belongs to."),
    ("message_scopes", "scope_type", "Scope type (e.g. `group`)."),
    ("message_scopes", "scope_value", "Scope value (e.g. the group's name)."),
    ("message_refs", "message_id", "Message the ref belongs to."),
    (
        "message_refs",
        "ref_type",
        "Ref type: `mention` (addressee), `group`, `reply_to` (parent \
        message), ...",
    ),
    (
        "message_refs",
        "ref_value",
        "Ref value: agent name or role, group name, or parent \
        `message_id`.",
    ),
    ("threads", "thread_id", "Thread id, from `thread.create`."),
    ("threads", "title", "Thread title."),
    ("threads", "created_at", "Time of the `thread.create` event."),
    ("threads", "created_by", "Who created the thread."),
    ("agents", "agent_id", "Agent id, from `agent.register` (`INSERT OR REPLACE`)."),
    ("agents", "kind", "Agent kind (e.g. `agent` or `human`)."),
    ("agents", "role", "Role the agent plays (addressable in mentions)."),
    ("agents", "module", "Module the agent works on."),
    ("agents", "display", "Display name; `''` when none."),
    ("agents", "hostname", "Host the agent registered from; `''` when none."),
    ("agents", "registered_at", "Time of the last `agent.register` event."),
    (
        "agents",
        "last_seen_at",
        "Last heartbeat (written by the daemon directly); `''` until the \
        first one (null in Parquet).",
    ),
    ("sessions", "session_id", "Session id, from `agent.session.start`."),
    ("sessions", "agent_id", "Agent the session belongs to."),
    ("sessions", "started_at", "Time of the `agent.session.start` event."),
    ("sessions", "ended_at", "Time of the `agent.session.end` event; NULL while active."),
    ("sessions", "end_reason", "Reason given in `agent.session.end`; NULL when none."),
    ("sessions", "last_seen_at", "Last heartbeat; a replay reproduces only `started_at`."),
    ("subscriptions", "id", "AUTOINCREMENT id."),
    ("subscriptions", "session_id", "Subscribing session."),
    (
        "subscriptions",
        "scope_type",
        "Scope type subscribed to; NULL for a mention or \"all\" \
        subscription.",
    ),
    (
        "subscriptions",
        "scope_value",
        "Scope value subscribed to; NULL for a mention or \"all\" \
        subscription.",
    ),
    ("subscriptions", "mention_role", "Role whose mentions are subscribed to; NULL otherwise."),
    ("subscriptions", "created_at", "When the subscription was made (RFC 3339, UTC)."),
    ("message_reads", "message_id", "Message read."),
    ("message_reads", "session_id", "Session that read it."),
    ("message_reads", "agent_id", "Agent of that session."),
    ("message_reads", "read_at", "When it was read."),
    ("message_edits", "id", "AUTOINCREMENT id."),
    ("message_edits", "message_id", "Message edited, from `message.edit`."),
    ("message_edits", "edited_at", "Time of the `message.edit` event."),
    ("message_edits", "edited_by", "The message's `session_id`."),
    ("message_edits", "old_content", "Body text before the edit."),
    ("message_edits", "new_content", "Body text after the edit."),
    ("message_edits", "old_structured", "Structured body (JSON text) before the edit."),
    ("message_edits", "new_structured", "Structured body (JSON text) after the edit."),
    ("session_scopes", "session_id", "Session the scope is attached to."),
    ("session_scopes", "scope_type", "Scope type."),
    ("session_scopes", "scope_value", "Scope value."),
    ("session_scopes", "added_at", "When it was attached."),
    ("session_refs", "session_id", "Session the ref is attached to."),
    ("session_refs", "ref_type", "Ref type."),
    ("session_refs", "ref_value", "Ref value."),
    ("session_refs", "added_at", "When it was attached."),
    (
        "groups",
        "group_id",
        "Group id, from `group.create` (`INSERT OR IGNORE`); `grp_everyone` for the group the \
            daemon creates when it first starts.",
    ),
    ("groups", "name", "Group name (used in `group` scopes and refs); changed by `group.update`."),
    ("groups", "description", "Description; changed by `group.update`."),
    ("groups", "created_at", "Time of the `group.create` event."),
    (
        "groups",
        "created_by",
        "Who created the group: an agent, or `system` (the daemon, for \
        `everyone`).",
    ),
    ("groups", "updated_at", "Time of the last `group.update`; NULL when never updated."),
    ("groups", "metadata", "Group metadata (JSON text)."),
    ("group_members", "id", "AUTOINCREMENT id."),
    ("group_members", "group_id", "Group, from `group.member.add`."),
    ("group_members", "member_type", "Member kind: `agent`, `role` or `group`."),
    ("group_members", "member_value", "The agent, role or group added."),
    ("group_members", "added_at", "Time of the `group.member.add` event."),
    (
        "group_members",
        "added_by",
        "Who added the member: an agent, or `system` (the daemon, for \
        the role `*` of `everyone`).",
    ),
    ("events", "event_id", "Event id (`evt_` + ULID) of the JSONL line."),
    ("events", "sequence", "The daemon's sync sequence number (unique)."),
    ("events", "type", "Event type, e.g. `message.create`."),
    ("events", "timestamp", "Event time (RFC 3339, UTC)."),
    ("events", "origin_daemon", "Daemon that wrote the event."),
    ("events", "event_json", "Exactly the event's JSONL line, without the newline."),
    ("sync_checkpoints", "peer_daemon_id", "Peer daemon pulled from."),
    ("sync_checkpoints", "last_synced_sequence", "Last sequence pulled from it."),
    ("sync_checkpoints", "last_sync_timestamp", "When it was pulled (unix seconds)."),
    ("sync_checkpoints", "sync_status", "Sync status, e.g. `idle`."),
    ("agent_work_contexts", "session_id", "Session the context describes, from `agent.update`."),
    ("agent_work_contexts", "agent_id", "Agent of that session."),
    ("agent_work_contexts", "branch", "Git branch."),
    ("agent_work_contexts", "worktree_path", "Path of the worktree."),
    (
        "agent_work_contexts",
        "unmerged_commits",
        "Unmerged commits [{sha, message, files}] (JSON \
        text).",
    ),
    ("agent_work_contexts", "uncommitted_files", "Uncommitted files (JSON list)."),
    ("agent_work_contexts", "changed_files", "Changed files (JSON list)."),
    (
        "agent_work_contexts",
        "file_changes",
        "File changes (JSON list); the projector never writes \
        it, so it keeps `'[]'`.",
    ),
    (
        "agent_work_contexts",
        "git_updated_at",
        "When the git state was read; the greater wins on \
        merge.",
    ),
    ("agent_work_contexts", "current_task", "Current task."),
    ("agent_work_contexts", "task_updated_at", "When the task was set."),
    ("agent_work_contexts", "intent", "Stated intent."),
    ("agent_work_contexts", "intent_updated_at", "When the intent was set."),
];

/// Opens the closed database `db` read-only (immutable: a plain read-only
/// connection would create -wal/-shm files beside it).
fn open(db: &Path) -> Result<Connection> {
    let uri = thrum_io::uri::immutable(db).ok_or_else(|| {
        Error::Usage(format!("{}: the path is not valid UTF-8", thrum_io::text::shown_path(db)))
    })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(uri, flags)
        .map_err(|source| Error::Sqlite { path: db.to_path_buf(), source })
}

/// The meaning of `table.column` in [`MEANINGS`].
pub fn meaning(table: &'static str, column: &'static str) -> Result<&'static str> {
    MEANINGS
        .iter()
        .find(|m| m.0 == table && m.1 == column)
        .map(|m| m.2)
        .ok_or(Error::NoMeaning { table, column })
}

/// Where a column's values come from.
fn origin(t: &Table, c: &Column) -> &'static str {
    match t.origin {
        _ if t.local_columns.contains(&c.name) => "local-only (heartbeat)",
        Origin::Projected => "projected",
        Origin::EventLog => "sync log (one row per event)",
        Origin::Local => "local-only",
        Origin::Meta => "local-only (metadata)",
    }
}

/// The Parquet type of a column as `thrum_parquet`'s mapping writes it.
fn parquet_type(t: &Table, c: &Column) -> String {
    let field = thrum_parquet::mapping::arrow_field(t, c);
    let physical = match (field.data_type(), c.semantic) {
        (DataType::Utf8, Semantic::Json) => "BYTE_ARRAY (JSON)".to_string(),
        (DataType::Utf8, _) => "BYTE_ARRAY (STRING)".to_string(),
        (DataType::Int64, _) => "INT64".to_string(),
        (DataType::Boolean, _) => "BOOLEAN".to_string(),
        (DataType::Timestamp(_, _), _) => "INT64 (TIMESTAMP(MICROS, UTC))".to_string(),
        (other, _) => other.to_string(),
    };
    format!("{}{physical}", if field.is_nullable() { "optional " } else { "required " })
}

/// Longest example shown, in characters.
const EXAMPLE_CHARS: usize = 48;

/// The first non-null, non-empty value of a column in primary-key order,
/// as a Markdown code span; `-` when the table has none.
fn example(conn: &Connection, t: &Table, c: &Column, db: &Path) -> Result<String> {
    let err = |source| Error::Sqlite { path: db.to_path_buf(), source };
    let sql = format!(
        "SELECT \"{c}\" FROM \"{t}\" WHERE \"{c}\" IS NOT NULL AND CAST(\"{c}\" AS TEXT) != '' \
            ORDER BY {k} LIMIT 1",
        c = c.name,
        t = t.name,
        k = t.primary_key.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
    );
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    let v: Option<Value> = stmt.query_row([], |r| r.get(0)).map(Some).or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(err(e)),
    })?;
    let text = match v {
        None => return Ok("-".to_string()),
        Some(Value::Integer(i)) => i.to_string(),
        Some(Value::Text(s)) => s,
        Some(Value::Real(f)) => f.to_string(),
        Some(Value::Blob(b)) => format!("<{} bytes>", b.len()),
        Some(Value::Null) => return Ok("-".to_string()),
    };
    let mut shown: String =
        text.chars().take(EXAMPLE_CHARS).map(|ch| if ch.is_control() { ' ' } else { ch }).collect();
    if text.chars().count() > EXAMPLE_CHARS {
        shown.push('…');
    }
    Ok(format!("`{}`", shown.replace('`', "'").replace('|', "\\|")))
}

/// Every column of table `t` as the database's DDL declares it: (name,
/// `TYPE[ key][ UNIQUE][ NOT NULL][ DEFAULT value]`). `key` marks the
/// columns of the DDL's PRIMARY KEY, `UNIQUE` a single-column UNIQUE
/// constraint. Read from the database itself (not from the catalogue, whose
/// `primary_key` is also the sort key of tables without one).
fn declared_columns(conn: &Connection, t: &Table, db: &Path) -> Result<Vec<(String, String)>> {
    let err = |source| Error::Sqlite { path: db.to_path_buf(), source };
    let mut unique = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT min(ii.name) FROM pragma_index_list(?1) il JOIN pragma_index_info(il.name) ii \
             WHERE il.\"unique\" AND il.origin = 'u' GROUP BY il.name HAVING count(*) = 1",
        )
        .map_err(err)?;
    for name in stmt.query_map([t.name], |r| r.get::<_, String>(0)).map_err(err)? {
        unique.push(name.map_err(err)?);
    }
    let mut stmt = conn
        .prepare(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM \
        pragma_table_info(?1) ORDER BY cid",
        )
        .map_err(err)?;
    let rows = stmt.query_map([t.name], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, i64>(4)?,
        ))
    });
    let mut out = Vec::new();
    for row in rows.map_err(err)? {
        let (name, ty, not_null, default, pk) = row.map_err(err)?;
        let mut sql = ty;
        if pk > 0 {
            sql.push_str(" key");
        }
        if unique.contains(&name) {
            sql.push_str(" UNIQUE");
        }
        if not_null {
            sql.push_str(" NOT NULL");
        }
        if let Some(d) = default {
            sql.push_str(&format!(" DEFAULT {d}"));
        }
        out.push((name, sql));
    }
    Ok(out)
}

/// The data dictionary of the database `db`: every catalogue table and
/// column with its SQLite type, meaning, origin, Parquet type and an
/// example value from `db`.
pub fn dictionary(db: &Path) -> Result<String> {
    let conn = open(db)?;
    let mut out = String::from(
        "# Data dictionary: Thrum SQLite schema 13\n\n\
         Every table and column of `.thrum/var/messages.db` in the archive (DDL: `v13.sql` beside \
         this file) and of\n\
         the Parquet datasets in `parquet/<table>/`. SQLite type: as `v13.sql` declares the \
         column (`key`: part\n\
         of the PRIMARY KEY; `UNIQUE`: a one-column UNIQUE constraint). Origin: *projected* \
         values are rebuilt\n\
         by replaying the JSONL logs; *local-only* values exist only in the database (never in a \
         log). Examples\n\
         are the first non-empty value in primary-key order of this fixture's database. Event \
         lines:\n\
         `events.schema.json` beside this file (the daemon's line format; this fixture's lines \
         are narrower,\n\
         as its description says) and docs/FORMAT.md.\n",
    );
    for t in TABLES {
        out.push_str(&format!("\n## `{}`\n\n", t.name));
        if let Some(p) = thrum_parquet::mapping::partition_source(t) {
            out.push_str(&format!(
                "Parquet: `parquet/{}/date=YYYY-MM-DD/`, partitioned by the UTC day of `{p}`.\n\n",
                t.name
            ));
        } else {
            out.push_str(&format!("Parquet: `parquet/{}/`.\n\n", t.name));
        }
        out.push_str(
            "| column | SQLite type | meaning | origin | Parquet type | example \
            |\n|---|---|---|---|---|---|\n",
        );
        let declared = declared_columns(&conn, t, db)?;
        for c in t.columns {
            let sql =
                declared.iter().find(|(name, _)| name == c.name).map(|(_, sql)| sql).ok_or_else(
                    || Error::Integrity {
                        path: db.to_path_buf(),
                        detail: format!("no column {}.{} in the database", t.name, c.name),
                    },
                )?;
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                c.name,
                sql,
                meaning(t.name, c.name)?,
                origin(t, c),
                parquet_type(t, c),
                example(&conn, t, c, db)?
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_column_has_exactly_one_meaning_and_no_meaning_is_stray() {
        for t in TABLES {
            for c in t.columns {
                let n = MEANINGS.iter().filter(|m| m.0 == t.name && m.1 == c.name).count();
                assert_eq!(n, 1, "{}.{}", t.name, c.name);
                assert!(!meaning(t.name, c.name).unwrap().is_empty());
            }
        }
        let columns: usize = TABLES.iter().map(|t| t.columns.len()).sum();
        assert_eq!(MEANINGS.len(), columns);
    }

    #[test]
    fn a_column_without_a_meaning_is_refused() {
        let e = meaning("messages", "no_such_column").unwrap_err();
        assert!(matches!(e, Error::NoMeaning { table: "messages", column: "no_such_column" }));
        assert_eq!(
            e.to_string(),
            "the data dictionary has no meaning for column messages.no_such_column"
        );
    }
}
