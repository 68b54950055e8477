//! The projection of one event (docs/FORMAT.md section 4). Rules, per
//! event type (`nz(x)` = `x` with empty/absent mapped to NULL):
//!
//! * `message.create`: `INSERT INTO messages (message_id, thread_id,
//!   agent_id, session_id, created_at, body_format, body_content,
//!   body_structured, authored_by, disclosed)` with `created_at` = timestamp,
//!   `nz(thread_id)`, `nz(body.structured)`, `nz(authored_by)`, disclosed 0/1;
//!   one `message_scopes` / `message_refs` row per scope / ref (plain INSERT).
//! * `message.edit`: reads the message's `body_content`, `body_structured`,
//!   `session_id`; inserts `message_edits (message_id, edited_at = timestamp,
//!   edited_by = the message's session_id, old_content = stored content,
//!   new_content = body.content, old_structured = stored structured,
//!   new_structured = nz(body.structured))`, then sets `body_content`,
//!   `body_structured = nz(..)`, `updated_at`. An edit of an unknown message
//!   changes nothing (reported `event_target_missing`).
//! * `message.delete`: `deleted = 1, deleted_at, delete_reason = nz(reason)`.
//! * `agent.register`: `INSERT OR REPLACE INTO agents (agent_id, kind, role,
//!   module, display, hostname, registered_at)` with `nz(display)`,
//!   `nz(hostname)` (OR REPLACE turns those NULLs into the column default
//!   `''`); `last_seen_at` is left to its default `''`.
//! * `agent.session.start`: `INSERT INTO sessions (session_id, agent_id,
//!   started_at, last_seen_at)` with both times = timestamp.
//! * `agent.session.end`: `ended_at` = timestamp, `end_reason = nz(reason)`.
//! * `agent.update`: the agent's stored contexts (`ORDER BY rowid`) are merged
//!   with the event's `work_contexts` by `session_id`: an incoming context
//!   replaces a stored one *in place* only when its `git_updated_at` is
//!   greater (byte-string comparison, NULL = ""; ties keep the stored one);
//!   new session ids are appended in event order. All of the agent's rows are
//!   deleted and the merged list re-inserted **in that order** (stored order
//!   with replacements in place, then new session ids in event order).
//!   Columns: `nz()` for branch, worktree_path, git_updated_at, current_task,
//!   task_updated_at, intent, intent_updated_at; the list fields through
//!   [`crate::gojson::work_context`] (absent list → `null`); `file_changes`
//!   is not written (default `'[]'`). A context whose session does not exist
//!   is skipped (reported `event_target_missing`), as the daemon does to
//!   avoid a foreign-key failure.
//! * `agent.cleanup`: `DELETE FROM agents WHERE agent_id = ?`.
//! * `group.create`: `INSERT OR IGNORE INTO groups (group_id, name,
//!   description, created_at, created_by)` with `nz(description)`.
//! * `group.member.add`: skipped when the group does not exist, else `INSERT
//!   OR IGNORE INTO group_members (group_id, member_type, member_value,
//!   added_at, added_by)` with `nz(added_by)`. (The daemon's foreign key
//!   fails there and its rebuild stops: see [`crate::rebuild`].)
//! * `group.member.remove`: delete that member row.
//! * `group.update`: for each field present, `description = nz(..)` /
//!   `name = ..`, with `updated_at` = timestamp.
//! * `group.delete`: delete the group (members cascade).
//! * `thread.create`: `INSERT INTO threads (thread_id, title, created_at,
//!   created_by)` with `created_at` = timestamp. A database migrated from v5
//!   has no `threads` table: there the insert fails, and the event is counted
//!   as ignored.
//! * unknown types: ignored.

use crate::gojson::work_context;
use crate::rebuild::Rule;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use thrum_schemas::events::{
    AgentCleanup, AgentRegister, AgentUpdate, Event, GroupCreate, GroupDelete, GroupMember,
    GroupUpdate, MessageCreate, MessageDelete, MessageEdit, Payload, SessionEnd, SessionStart,
    ThreadCreate, WorkContext,
};

/// What applying one event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The event type is not projected (unknown type).
    pub ignored: bool,
    /// Entities the event refers to that do not exist.
    pub missing: Vec<String>,
    /// The daemon's apply of this event fails this way (its rebuild stops).
    pub fails: Option<Rule>,
}

fn nz(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

fn nzs(s: &str) -> Option<&str> {
    nz(Some(s))
}

/// Applies one event. Statements run on `conn` as they are; callers wrap
/// the call in a savepoint to make it atomic.
pub fn apply(conn: &Connection, ev: &Event) -> rusqlite::Result<Outcome> {
    let ts = ev.envelope.timestamp.as_str();
    let mut out = Outcome::default();
    match &ev.payload {
        Payload::MessageCreate(m) => message_create(conn, m, ts)?,
        Payload::MessageEdit(m) => message_edit(conn, m, ts, &mut out)?,
        Payload::MessageDelete(m) => message_delete(conn, m, ts, &mut out)?,
        Payload::AgentRegister(a) => agent_register(conn, a, ts)?,
        Payload::SessionStart(s) => session_start(conn, s, ts)?,
        Payload::SessionEnd(s) => session_end(conn, s, ts, &mut out)?,
        Payload::AgentUpdate(u) => agent_update(conn, u, &mut out)?,
        Payload::AgentCleanup(c) => agent_cleanup(conn, c, &mut out)?,
        Payload::GroupCreate(g) => group_create(conn, g, ts)?,
        Payload::GroupMemberAdd(g) => member_add(conn, g, ts, &mut out)?,
        Payload::GroupMemberRemove(g) => member_remove(conn, g, &mut out)?,
        Payload::GroupUpdate(g) => group_update(conn, g, ts, &mut out)?,
        Payload::GroupDelete(g) => group_delete(conn, g, &mut out)?,
        Payload::ThreadCreate(t) => thread_create(conn, t, ts)?,
        Payload::Unknown => out.ignored = true,
    }
    Ok(out)
}

/// `message.create`: the message, then its scopes and refs.
fn message_create(conn: &Connection, m: &MessageCreate, ts: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO messages (message_id, thread_id, agent_id, session_id, created_at, \
            body_format, body_content, body_structured, authored_by, disclosed) VALUES \
            (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        m.message_id,
        nz(m.thread_id.as_deref()),
        m.agent_id,
        m.session_id,
        ts,
        m.body.format,
        m.body.content,
        nz(m.body.structured.as_deref()),
        nz(m.authored_by.as_deref()),
        m.disclosed.unwrap_or(false) as i64,
    ])?;
    for s in m.scopes.iter().flatten() {
        conn.prepare_cached(
            "INSERT INTO message_scopes (message_id, scope_type, \
            scope_value) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![m.message_id, s.kind, s.value])?;
    }
    for r in m.refs.iter().flatten() {
        conn.prepare_cached(
            "INSERT INTO message_refs (message_id, ref_type, ref_value) \
            VALUES (?1, ?2, ?3)",
        )?
        .execute(params![m.message_id, r.kind, r.value])?;
    }
    Ok(())
}

/// `message.edit`: the edit recorded with the stored body, then the body replaced.
fn message_edit(
    conn: &Connection,
    m: &MessageEdit,
    ts: &str,
    out: &mut Outcome,
) -> rusqlite::Result<()> {
    let old: Option<(String, Option<String>, String)> = conn
        .prepare_cached(
            "SELECT body_content, body_structured, session_id FROM messages \
            WHERE message_id = ?1",
        )?
        .query_row([&m.message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((old_content, old_structured, session_id)) = old else {
        out.missing.push(format!("message {}", m.message_id));
        out.fails = Some(Rule::EditOfMissingMessage);
        return Ok(());
    };
    conn.prepare_cached(
        "INSERT INTO message_edits (message_id, edited_at, edited_by, \
            old_content, new_content, old_structured, new_structured) VALUES (?1, \
            ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        m.message_id,
        ts,
        session_id,
        old_content,
        m.body.content,
        old_structured,
        nz(m.body.structured.as_deref())
    ])?;
    conn.prepare_cached(
        "UPDATE messages SET body_content = ?1, body_structured = ?2, updated_at \
            = ?3 WHERE message_id = ?4",
    )?
    .execute(params![m.body.content, nz(m.body.structured.as_deref()), ts, m.message_id])?;
    Ok(())
}

/// `message.delete`: the message flagged deleted.
fn message_delete(
    conn: &Connection,
    m: &MessageDelete,
    ts: &str,
    out: &mut Outcome,
) -> rusqlite::Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE messages SET deleted = 1, deleted_at = ?1, delete_reason \
            = ?2 WHERE message_id = ?3",
        )?
        .execute(params![ts, nz(m.reason.as_deref()), m.message_id])?;
    if n == 0 {
        out.missing.push(format!("message {}", m.message_id));
    }
    Ok(())
}

/// `agent.register`: the agent inserted or replaced.
fn agent_register(conn: &Connection, a: &AgentRegister, ts: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO agents (agent_id, kind, role, module, display, hostname, \
            registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        a.agent_id,
        a.kind,
        a.role,
        a.module,
        nz(a.display.as_deref()),
        nz(a.hostname.as_deref()),
        ts
    ])?;
    Ok(())
}

/// `agent.session.start`: the session, last seen when it started.
fn session_start(conn: &Connection, s: &SessionStart, ts: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (session_id, agent_id, started_at, \
        last_seen_at) VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![s.session_id, s.agent_id, ts])?;
    Ok(())
}

/// `agent.session.end`: the session's end and its reason.
fn session_end(
    conn: &Connection,
    s: &SessionEnd,
    ts: &str,
    out: &mut Outcome,
) -> rusqlite::Result<()> {
    let n = conn
        .prepare_cached("UPDATE sessions SET ended_at = ?1, end_reason = ?2 WHERE session_id = ?3")?
        .execute(params![ts, nz(s.reason.as_deref()), s.session_id])?;
    if n == 0 {
        out.missing.push(format!("session {}", s.session_id));
    }
    Ok(())
}

/// `agent.cleanup`: the agent deleted.
fn agent_cleanup(conn: &Connection, c: &AgentCleanup, out: &mut Outcome) -> rusqlite::Result<()> {
    let n =
        conn.prepare_cached("DELETE FROM agents WHERE agent_id = ?1")?.execute([&c.agent_id])?;
    if n == 0 {
        out.missing.push(format!("agent {}", c.agent_id));
    }
    Ok(())
}

/// `group.create`: the group, unless its id or name is taken.
fn group_create(conn: &Connection, g: &GroupCreate, ts: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO groups (group_id, name, description, created_at, \
            created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![g.group_id, g.name, nz(g.description.as_deref()), ts, g.created_by])?;
    Ok(())
}

/// `group.member.add`: the member, when the group exists.
fn member_add(
    conn: &Connection,
    g: &GroupMember,
    ts: &str,
    out: &mut Outcome,
) -> rusqlite::Result<()> {
    if !group_exists(conn, &g.group_id)? {
        out.missing.push(format!("group {}", g.group_id));
        out.fails = Some(Rule::MemberAddToMissingGroup);
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT OR IGNORE INTO group_members (group_id, member_type, member_value, \
            added_at, added_by) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        g.group_id,
        g.member_type,
        g.member_value,
        ts,
        nz(g.added_by.as_deref())
    ])?;
    Ok(())
}

/// `group.member.remove`: the member row deleted.
fn member_remove(conn: &Connection, g: &GroupMember, out: &mut Outcome) -> rusqlite::Result<()> {
    let n = conn
        .prepare_cached(
            "DELETE FROM group_members WHERE group_id = ?1 AND member_type = \
            ?2 AND member_value = ?3",
        )?
        .execute(params![g.group_id, g.member_type, g.member_value])?;
    if n == 0 {
        out.missing
            .push(format!("member {}:{} of group {}", g.member_type, g.member_value, g.group_id));
    }
    Ok(())
}

/// `group.update`: each field present set, with the time of the update.
fn group_update(
    conn: &Connection,
    g: &GroupUpdate,
    ts: &str,
    out: &mut Outcome,
) -> rusqlite::Result<()> {
    if !group_exists(conn, &g.group_id)? {
        out.missing.push(format!("group {}", g.group_id));
    }
    if let Some(d) = &g.fields.description {
        conn.prepare_cached(
            "UPDATE groups SET description = ?1, updated_at = ?2 WHERE group_id = ?3",
        )?
        .execute(params![nzs(d), ts, g.group_id])?;
    }
    if let Some(n) = &g.fields.name {
        conn.prepare_cached("UPDATE groups SET name = ?1, updated_at = ?2 WHERE group_id = ?3")?
            .execute(params![n, ts, g.group_id])?;
    }
    Ok(())
}

/// `group.delete`: the group deleted (its members cascade).
fn group_delete(conn: &Connection, g: &GroupDelete, out: &mut Outcome) -> rusqlite::Result<()> {
    let n =
        conn.prepare_cached("DELETE FROM groups WHERE group_id = ?1")?.execute([&g.group_id])?;
    if n == 0 {
        out.missing.push(format!("group {}", g.group_id));
    }
    Ok(())
}

/// `thread.create`: the thread (a repeated id fails, as in the daemon).
fn thread_create(conn: &Connection, t: &ThreadCreate, ts: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO threads (thread_id, title, created_at, created_by) \
        VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![t.thread_id, t.title, ts, t.created_by])?;
    Ok(())
}

fn group_exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM groups WHERE group_id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A context in the merged list: a stored row (11 columns as stored:
/// session_id, branch, worktree_path, unmerged_commits, uncommitted_files,
/// changed_files, git_updated_at, current_task, task_updated_at, intent,
/// intent_updated_at) or an incoming one.
enum WorkContextRow<'a> {
    Stored(Vec<Value>),
    New(&'a WorkContext),
}

impl WorkContextRow<'_> {
    fn session_id(&self) -> &str {
        match self {
            WorkContextRow::Stored(v) => text_of(&v[0]),
            WorkContextRow::New(w) => &w.session_id,
        }
    }
    fn git_updated_at(&self) -> &str {
        match self {
            WorkContextRow::Stored(v) => text_of(&v[6]),
            WorkContextRow::New(w) => &w.git_updated_at,
        }
    }
}

fn text_of(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        _ => "",
    }
}

/// Merges incoming contexts into stored ones (see the module docs for the order).
fn merge<'a>(stored: Vec<Vec<Value>>, incoming: &'a [WorkContext]) -> Vec<WorkContextRow<'a>> {
    let mut merged: Vec<WorkContextRow<'a>> =
        stored.into_iter().map(WorkContextRow::Stored).collect();
    for w in incoming {
        match merged.iter().position(|c| c.session_id() == w.session_id) {
            Some(i) => {
                if w.git_updated_at.as_bytes() > merged[i].git_updated_at().as_bytes() {
                    merged[i] = WorkContextRow::New(w);
                }
            }
            None => merged.push(WorkContextRow::New(w)),
        }
    }
    merged
}

fn agent_update(conn: &Connection, u: &AgentUpdate, out: &mut Outcome) -> rusqlite::Result<()> {
    let stored: Vec<Vec<Value>> = {
        let mut st = conn.prepare_cached(
            "SELECT session_id, branch, worktree_path, unmerged_commits, uncommitted_files, \
                changed_files, git_updated_at, current_task, task_updated_at, intent, \
                intent_updated_at FROM agent_work_contexts WHERE agent_id = ?1 ORDER BY rowid",
        )?;
        let rows = st.query_map([&u.agent_id], |r| {
            (0..11).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<Value>>>()
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let merged = merge(stored, &u.work_contexts);
    conn.prepare_cached("DELETE FROM agent_work_contexts WHERE agent_id = ?1")?
        .execute([&u.agent_id])?;
    let mut exists = conn.prepare_cached("SELECT 1 FROM sessions WHERE session_id = ?1")?;
    let mut ins = conn.prepare_cached(
        "INSERT INTO agent_work_contexts (session_id, agent_id, branch, worktree_path, \
            unmerged_commits, uncommitted_files, changed_files, git_updated_at, current_task, \
            task_updated_at, intent, intent_updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
            ?9, ?10, ?11, ?12)",
    )?;
    for c in &merged {
        if exists.query_row([c.session_id()], |_| Ok(())).optional()?.is_none() {
            out.missing.push(format!(
                "session {} (work context of agent {})",
                c.session_id(),
                u.agent_id
            ));
            out.fails = Some(Rule::WorkContextOfMissingSession);
            continue;
        }
        match c {
            WorkContextRow::Stored(v) => {
                ins.execute(params![
                    v[0], u.agent_id, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]
                ])?;
            }
            WorkContextRow::New(w) => {
                ins.execute(params![
                    w.session_id,
                    u.agent_id,
                    nzs(&w.branch),
                    nzs(&w.worktree_path),
                    work_context::commits(w.unmerged_commits.as_deref()),
                    work_context::strings(w.uncommitted_files.as_deref()),
                    work_context::strings(w.changed_files.as_deref()),
                    nzs(&w.git_updated_at),
                    nzs(&w.current_task),
                    nzs(&w.task_updated_at),
                    nzs(&w.intent),
                    nzs(&w.intent_updated_at),
                ])?;
            }
        }
    }
    Ok(())
}
