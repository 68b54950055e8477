//! The projection (docs/FORMAT.md section 4), implemented independently of
//! the generator: events are applied in replay order into a fresh in-memory
//! v13 database built from [`thrum_schemas::sql::V13`] with foreign keys on
//! (minus the named secondary indexes, which hold no constraint; see
//! [`fresh_v13_for_replay`]).
//!
//! Over 600 lines with its unit tests: the code is about 520 lines, the
//! rest tests the projection of each event type.
//!
//! Rules, per event type (`nz(x)` = `x` with empty/absent mapped to NULL):
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
//!
//! Every event at which the daemon's own rebuild would stop (an apply that
//! fails, an edit of a missing message, a member added to a missing group, a
//! work context of a missing session) is recorded as a
//! [`crate::rebuild::Candidate`]; the earliest is kept in [`Replay::abort`].
//!
//! Each event is atomic (a savepoint where a later statement could fail
//! after an earlier one succeeded): an event the database rejects (e.g. a
//! duplicate `message.create`) is rolled back entirely and reported as
//! `replay_event_rejected`.

use crate::findings::{Finding, Findings, Kind};
use crate::gojson::work_context;
use crate::rebuild::{Candidate, Rule};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use thrum_schemas::events::{AgentUpdate, Event, Payload, WorkContext};

/// A fresh in-memory v13 database with foreign keys on.
pub fn fresh_v13() -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    conn.execute_batch(thrum_schemas::sql::V13)?;
    Ok(conn)
}

/// [`fresh_v13`] without the 24 named secondary indexes (`idx_*`). They
/// only speed up the daemon's queries: they hold no constraint (primary
/// keys, UNIQUE constraints and foreign keys all stay), so projecting into
/// this database gives exactly the same rows, about a third faster.
pub fn fresh_v13_for_replay() -> rusqlite::Result<Connection> {
    let conn = fresh_v13()?;
    for (name, _) in thrum_schemas::sql::v13_index_names() {
        conn.execute_batch(&format!("DROP INDEX {name}"))?;
    }
    Ok(conn)
}

/// [`fresh_v13_for_replay`] in a new file at `path`, for inputs too large to
/// project in memory: SQLite keeps at most `cache_bytes` of it in memory.
/// The rollback journal is kept in memory (events are rolled back to
/// savepoints, which needs a journal) and nothing is synced: the file is
/// scratch space, deleted by the caller.
pub fn fresh_v13_on_disk(path: &std::path::Path, cache_bytes: i64) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; \
            PRAGMA temp_store=MEMORY; PRAGMA cache_size=-{};",
        (cache_bytes / 1024).max(1)
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    conn.execute_batch(thrum_schemas::sql::V13)?;
    for (name, _) in thrum_schemas::sql::v13_index_names() {
        conn.execute_batch(&format!("DROP INDEX {name}"))?;
    }
    Ok(conn)
}

/// Drops the `threads` table from a replay database: a database migrated from
/// v5 has none (step 11→12), so a rebuild there fails at `thread.create`.
pub fn without_threads(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DROP TABLE threads")
}

/// Result of a replay.
pub struct Replay {
    /// The replay database.
    pub conn: Connection,
    /// Events applied.
    pub applied: usize,
    /// Events of types the projection ignores.
    pub ignored: usize,
    /// Events whose application failed.
    pub rejected: usize,
    /// Agents removed by `agent.cleanup` (their local rows may legitimately remain).
    pub cleaned_agents: HashSet<String>,
    /// The first event in replay order at which the daemon's rebuild would stop.
    pub abort: Option<Candidate>,
    /// The directory of an on-disk replay database (see [`fresh_v13_on_disk`]),
    /// removed when the replay is dropped, after `conn` is closed.
    _dir: Option<crate::cleanup::TempDir>,
}

impl Replay {
    /// Keeps `dir` (holding the database file of `conn`) until the replay is dropped.
    pub fn keep_dir(&mut self, dir: crate::cleanup::TempDir) {
        self._dir = Some(dir);
    }
}

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
        Payload::MessageCreate(m) => {
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
        }
        Payload::MessageEdit(m) => {
            let old: Option<(String, Option<String>, String)> = conn
                .prepare_cached(
                    "SELECT body_content, body_structured, session_id FROM messages \
                    WHERE message_id = ?1",
                )?
                .query_row([&m.message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            match old {
                Some((old_content, old_structured, session_id)) => {
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
                    .execute(params![
                        m.body.content,
                        nz(m.body.structured.as_deref()),
                        ts,
                        m.message_id
                    ])?;
                }
                None => {
                    out.missing.push(format!("message {}", m.message_id));
                    out.fails = Some(Rule::EditOfMissingMessage);
                }
            }
        }
        Payload::MessageDelete(m) => {
            let n = conn
                .prepare_cached(
                    "UPDATE messages SET deleted = 1, deleted_at = ?1, delete_reason \
                    = ?2 WHERE message_id = ?3",
                )?
                .execute(params![ts, nz(m.reason.as_deref()), m.message_id])?;
            if n == 0 {
                out.missing.push(format!("message {}", m.message_id));
            }
        }
        Payload::AgentRegister(a) => {
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
        }
        Payload::SessionStart(s) => {
            conn.prepare_cached(
                "INSERT INTO sessions (session_id, agent_id, started_at, \
                last_seen_at) VALUES (?1, ?2, ?3, ?3)",
            )?
            .execute(params![s.session_id, s.agent_id, ts])?;
        }
        Payload::SessionEnd(s) => {
            let n = conn
                .prepare_cached(
                    "UPDATE sessions SET ended_at = ?1, end_reason = ?2 WHERE session_id = ?3",
                )?
                .execute(params![ts, nz(s.reason.as_deref()), s.session_id])?;
            if n == 0 {
                out.missing.push(format!("session {}", s.session_id));
            }
        }
        Payload::AgentUpdate(u) => agent_update(conn, u, &mut out)?,
        Payload::AgentCleanup(c) => {
            let n = conn
                .prepare_cached("DELETE FROM agents WHERE agent_id = ?1")?
                .execute([&c.agent_id])?;
            if n == 0 {
                out.missing.push(format!("agent {}", c.agent_id));
            }
        }
        Payload::GroupCreate(g) => {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO groups (group_id, name, description, created_at, \
                    created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                g.group_id,
                g.name,
                nz(g.description.as_deref()),
                ts,
                g.created_by
            ])?;
        }
        Payload::GroupMemberAdd(g) => {
            if group_exists(conn, &g.group_id)? {
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
            } else {
                out.missing.push(format!("group {}", g.group_id));
                out.fails = Some(Rule::MemberAddToMissingGroup);
            }
        }
        Payload::GroupMemberRemove(g) => {
            let n = conn
                .prepare_cached(
                    "DELETE FROM group_members WHERE group_id = ?1 AND member_type = \
                    ?2 AND member_value = ?3",
                )?
                .execute(params![g.group_id, g.member_type, g.member_value])?;
            if n == 0 {
                out.missing.push(format!(
                    "member {}:{} of group {}",
                    g.member_type, g.member_value, g.group_id
                ));
            }
        }
        Payload::GroupUpdate(g) => {
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
                conn.prepare_cached(
                    "UPDATE groups SET name = ?1, updated_at = ?2 WHERE group_id = ?3",
                )?
                .execute(params![n, ts, g.group_id])?;
            }
        }
        Payload::GroupDelete(g) => {
            let n = conn
                .prepare_cached("DELETE FROM groups WHERE group_id = ?1")?
                .execute([&g.group_id])?;
            if n == 0 {
                out.missing.push(format!("group {}", g.group_id));
            }
        }
        Payload::ThreadCreate(t) => {
            conn.prepare_cached(
                "INSERT INTO threads (thread_id, title, created_at, created_by) \
                VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![t.thread_id, t.title, ts, t.created_by])?;
        }
        Payload::Unknown => out.ignored = true,
    }
    Ok(out)
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

fn has_duplicates(list: Option<&[thrum_schemas::events::TypedValue]>) -> bool {
    let Some(l) = list else { return false };
    let mut seen = HashSet::with_capacity(l.len());
    l.iter().any(|tv| !seen.insert((tv.kind.as_str(), tv.value.as_str())))
}

/// Whether an event can fail after a first statement already changed
/// something, so that it needs a savepoint to be rolled back as a whole.
/// A single statement that fails is undone by SQLite itself (ABORT), and a
/// `message.create` whose scope and ref lists hold no duplicate pair cannot
/// fail after its `messages` insert succeeded (the id is new, so its
/// scope/ref keys are too). Savepoints for every event would double the
/// replay time.
fn needs_savepoint(p: &Payload) -> bool {
    match p {
        Payload::MessageCreate(m) => {
            has_duplicates(m.scopes.as_deref()) || has_duplicates(m.refs.as_deref())
        }
        Payload::MessageEdit(_) | Payload::AgentUpdate(_) | Payload::GroupUpdate(_) => true,
        _ => false,
    }
}

/// The rule of section 4b an apply that the database rejected breaks.
fn failed_rule(p: &Payload, err: &rusqlite::Error) -> Rule {
    match p {
        Payload::MessageCreate(_) => Rule::MessageCreateDuplicate,
        Payload::SessionStart(_) => Rule::SessionStartDuplicate,
        Payload::ThreadCreate(_) if err.to_string().contains("no such table") => {
            Rule::ThreadCreateNoTable
        }
        Payload::ThreadCreate(_) => Rule::ThreadCreateDuplicate,
        Payload::GroupMemberAdd(_) => Rule::MemberAddToMissingGroup,
        Payload::AgentUpdate(_) => Rule::WorkContextOfMissingSession,
        _ => Rule::OtherConstraint,
    }
}

impl Replay {
    /// Records the event as where the daemon's rebuild stops, unless an
    /// earlier one already is (events arrive in replay order).
    fn note_abort(&mut self, ev: &Event, rel: &str, line: u64, rule: Rule, detail: String) {
        if self.abort.is_none() {
            self.abort = Some(Candidate {
                timestamp: ev.envelope.timestamp.clone(),
                event_id: ev.envelope.event_id.clone().unwrap_or_default(),
                rel: rel.to_owned(),
                line,
                event_type: ev.envelope.event_type.clone(),
                rule,
                detail,
            });
        }
    }
}

/// Applies events one at a time, in replay order, inside one transaction;
/// each event is atomic: it applies entirely or not at all.
pub struct Replayer {
    r: Replay,
}

impl Replayer {
    /// Starts replaying into `conn`, a fresh database (see [`fresh_v13_for_replay`]).
    pub fn new(conn: Connection) -> rusqlite::Result<Replayer> {
        conn.execute_batch("BEGIN")?;
        Ok(Replayer {
            r: Replay {
                conn,
                applied: 0,
                ignored: 0,
                rejected: 0,
                cleaned_agents: HashSet::new(),
                abort: None,
                _dir: None,
            },
        })
    }

    /// Applies one event read at `rel:line`; what it could not do is reported there.
    pub fn apply(
        &mut self,
        ev: &Event,
        rel: &str,
        line: u64,
        findings: &mut Findings,
    ) -> rusqlite::Result<()> {
        let r = &mut self.r;
        let at = |f: Finding| {
            f.at(rel, line)
                .key(format!("event_id={}", ev.envelope.event_id.as_deref().unwrap_or("")))
        };
        let sp = needs_savepoint(&ev.payload);
        if sp {
            r.conn.prepare_cached("SAVEPOINT ev")?.execute([])?;
        }
        match apply(&r.conn, ev) {
            Ok(out) => {
                if sp {
                    r.conn.prepare_cached("RELEASE ev")?.execute([])?;
                }
                if out.ignored {
                    r.ignored += 1;
                } else {
                    r.applied += 1;
                }
                if let Payload::AgentCleanup(c) = &ev.payload {
                    r.cleaned_agents.insert(c.agent_id.clone());
                }
                if let Some(rule) = out.fails {
                    let detail = out.missing.join("; ");
                    r.note_abort(ev, rel, line, rule, format!("{detail} does not exist"));
                }
                for m in out.missing {
                    findings.push(at(Finding::new(
                        Kind::EventTargetMissing,
                        format!(
                            "{} refers to {m}, which does not exist at this point of the replay",
                            ev.envelope.event_type
                        ),
                    )));
                }
            }
            Err(err) => {
                if sp {
                    r.conn.execute_batch("ROLLBACK TO ev; RELEASE ev;")?;
                }
                let rule = failed_rule(&ev.payload, &err);
                r.note_abort(ev, rel, line, rule, err.to_string());
                if rule == Rule::ThreadCreateNoTable {
                    // a database migrated from v5: the documented consequence
                    // of step 11→12, not a defect of this event
                    r.ignored += 1;
                } else {
                    r.rejected += 1;
                    findings.push(at(Finding::new(
                        Kind::ReplayEventRejected,
                        format!(
                            "{} rejected by the projection and rolled back: {err}",
                            ev.envelope.event_type
                        ),
                    )));
                }
            }
        }
        Ok(())
    }

    /// Commits the transaction.
    pub fn finish(self) -> rusqlite::Result<Replay> {
        self.r.conn.execute_batch("COMMIT")?;
        Ok(self.r)
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
