//! The projection of one daemon of a mesh: its arrivals applied to its
//! database in arrival order, and its local-only rows.

use crate::error::{Error, Result};
use crate::pass::File as JsonlFile;
use crate::sqlite;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::path::Path;
use thrum_gen::mesh::{Extra, ExtraKind, Mesh, MeshEv, MeshEvent};
use thrum_gen::render::Scratch;
use thrum_gen::{Fate, FateKind, Message, Other, PlanEvent};
use thrum_schemas::time::{rfc3339_nano, sqlite_datetime, Micros};

/// Applies daemon `d`'s arrivals to its database, as the daemon projects
/// each event when it writes or pulls it (section 4 in arrival order).
pub(super) struct DaemonWriter<'m, 'c> {
    mesh: &'m Mesh,
    d: u32,
    conn: &'c Connection,
    path: &'c Path,
    pub(super) sc: Scratch,
    /// Messages held per UTC day (days since the epoch).
    pub(super) per_day: BTreeMap<i64, u64>,
}

fn ts(t: Micros) -> String {
    rfc3339_nano(t)
}

/// NULL for an empty string, as the projector stores empty optional text.
fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl<'m, 'c> DaemonWriter<'m, 'c> {
    /// The writer of daemon `d` (0-based) into its database `db`.
    pub(super) fn new(mesh: &'m Mesh, d: u32, db: &'c sqlite::Db) -> DaemonWriter<'m, 'c> {
        DaemonWriter {
            mesh,
            d,
            conn: db.conn(),
            path: db.path(),
            sc: Scratch::default(),
            per_day: BTreeMap::new(),
        }
    }
}

impl DaemonWriter<'_, '_> {
    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Sqlite { path: self.path.to_path_buf(), source }
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        stmt.execute(p).map_err(|e| self.err(e))
    }

    /// The JSONL file of an event: message events in the file of the
    /// message's agent, the rest in events.jsonl.
    pub(super) fn file_of(&self, e: &MeshEvent) -> JsonlFile {
        match e.ev {
            MeshEv::Plan(PlanEvent::Create(m)) => JsonlFile::Shard(m.agent),
            MeshEv::Plan(PlanEvent::Fate(f)) => {
                JsonlFile::Shard(self.mesh.plan.message(f.message).agent)
            }
            _ => JsonlFile::Events,
        }
    }

    /// Projects one arriving event and records it in `events`.
    pub(super) fn apply(&mut self, e: &MeshEvent, sequence: u64, line: &str) -> Result<()> {
        let mesh = self.mesh;
        let at = ts(e.key.time);
        match e.ev {
            MeshEv::Plan(PlanEvent::Create(m)) => self.create(e, &m, sequence, &at)?,
            MeshEv::Plan(PlanEvent::Fate(f)) => self.fate(f, &at)?,
            MeshEv::Plan(PlanEvent::Other(o)) => self.other(o.what, &at)?,
            // another daemon's `everyone` pair: the plan's event, its time
            MeshEv::Extra(Extra { what: ExtraKind::Start { what }, .. }) => {
                self.other(*what, &at)?
            }
            MeshEv::Extra(x) => self.extra(x, &at)?,
        }
        self.exec(
            "INSERT INTO events (event_id, sequence, type, timestamp, origin_daemon, event_json) \
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                e.key.id("evt_"),
                sequence as i64,
                Mesh::event_type(e),
                at,
                mesh.hosts[e.writer as usize].daemon_id,
                line
            ],
        )?;
        Ok(())
    }

    /// `message.create` of `m` (arriving as `e`, the daemon's `sequence`th
    /// event): the message, its scopes and refs, and its read receipt
    /// where the reader's session runs.
    fn create(&mut self, e: &MeshEvent, m: &Message, sequence: u64, at: &str) -> Result<()> {
        let mesh = self.mesh;
        let p = &mesh.plan;
        let format = p.content_after(m, 0, &mut self.sc);
        let id = p.message_id(m);
        let thread = p.thread_of(m);
        self.exec(
            "INSERT INTO messages (message_id, thread_id, agent_id, session_id, \
                created_at, updated_at, body_format, body_content, \
             body_structured, deleted, deleted_at, delete_reason, authored_by, disclosed) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8, 0, NULL, NULL, ?9, ?10)",
            params![
                id,
                thread,
                p.agents[m.agent as usize].agent_id,
                p.sessions[m.session as usize].session_id,
                at,
                format.as_str(),
                self.sc.content,
                nonempty(&self.sc.structured),
                m.authored_by.map(|a| p.agents[a as usize].agent_id.as_str()),
                m.disclosed.unwrap_or(false) as i64,
            ],
        )?;
        let tags = p.tags(m);
        for (t, v) in &tags.scopes {
            self.exec(
                "INSERT INTO message_scopes (message_id, scope_type, scope_value) \
                VALUES (?1, ?2, ?3)",
                params![id, t, v],
            )?;
        }
        for (t, v) in &tags.refs {
            self.exec(
                "INSERT INTO message_refs (message_id, ref_type, ref_value) VALUES \
                (?1, ?2, ?3)",
                params![id, t, v],
            )?;
        }
        // a read receipt exists where the reader's session runs,
        // for a message that daemon holds, read after it arrived
        // (a read the plan places before is not made)
        let arrived =
            mesh.daemons[self.d as usize].arrived_at(sequence, m.key.time, e.writer == self.d);
        if let Some(r) =
            p.read(m).filter(|r| mesh.session_is_local(r.session, self.d) && r.at >= arrived)
        {
            self.exec(
                "INSERT INTO message_reads (message_id, session_id, agent_id, read_at) \
                    VALUES (?1, ?2, ?3, ?4)",
                params![
                    id,
                    p.sessions[r.session as usize].session_id,
                    p.agents[r.agent as usize].agent_id,
                    ts(r.at)
                ],
            )?;
        }
        *self.per_day.entry(m.key.time.div_euclid(86_400_000_000)).or_insert(0) += 1;
        Ok(())
    }

    /// `message.edit` or `message.delete`.
    fn fate(&mut self, f: &Fate, at: &str) -> Result<()> {
        let p = &self.mesh.plan;
        let m = p.message(f.message);
        let id = p.message_id(&m);
        match f.kind {
            FateKind::Edit { n, .. } => {
                p.content_after(&m, n, &mut self.sc);
                let (old, old_structured) = (self.sc.content.clone(), self.sc.structured.clone());
                let mut tmp = String::new();
                p.apply_edit(&m, n, &mut self.sc.content, &mut self.sc.structured, &mut tmp);
                self.exec(
                    "INSERT INTO message_edits (message_id, edited_at, edited_by, \
                        old_content, new_content, old_structured, \
                     new_structured) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        id,
                        at,
                        p.sessions[m.session as usize].session_id,
                        old,
                        self.sc.content,
                        nonempty(&old_structured),
                        nonempty(&self.sc.structured)
                    ],
                )?;
                self.exec(
                    "UPDATE messages SET body_content = ?1, body_structured = ?2, \
                        updated_at = ?3 WHERE message_id = ?4",
                    params![self.sc.content, nonempty(&self.sc.structured), at, id],
                )?;
            }
            FateKind::Delete => {
                self.exec(
                    "UPDATE messages SET deleted = 1, deleted_at = ?1, delete_reason = ?2 \
                        WHERE message_id = ?3",
                    params![at, nonempty(p.delete_reason(f.message)), id],
                )?;
            }
        }
        Ok(())
    }

    /// An event only a mesh has: a re-registration on another host, a
    /// group's description updated.
    fn extra(&self, x: &Extra, at: &str) -> Result<()> {
        let mesh = self.mesh;
        let p = &mesh.plan;
        match &x.what {
            ExtraKind::Start { .. } => {}
            ExtraKind::Reregister { agent } => {
                self.register(*agent, &mesh.hosts[x.host as usize].hostname, at)?
            }
            ExtraKind::GroupUpdate { group, description, .. } => {
                self.exec(
                    "UPDATE groups SET description = ?1, updated_at = ?2 WHERE group_id = ?3",
                    params![description, at, p.groups[*group as usize].group_id],
                )?;
            }
        }
        Ok(())
    }

    /// Projects an event of `events.jsonl` of the plan at `at`.
    fn other(&self, what: Other, at: &str) -> Result<()> {
        let p = &self.mesh.plan;
        match what {
            Other::Register(a) => self.register(a, &p.agents[a as usize].hostname, at)?,
            Other::SessionStart(s) => {
                let s = &p.sessions[s as usize];
                self.exec(
                    "INSERT INTO sessions (session_id, agent_id, started_at, ended_at, \
                        end_reason, last_seen_at) \
                 VALUES (?1, ?2, ?3, NULL, NULL, ?3)",
                    params![s.session_id, p.agents[s.agent as usize].agent_id, at],
                )?;
            }
            Other::SessionEnd(s) => {
                let s = &p.sessions[s as usize];
                self.exec(
                    "UPDATE sessions SET ended_at = ?1, end_reason = ?2 WHERE session_id = ?3",
                    params![at, s.end_reason, s.session_id],
                )?;
            }
            Other::GroupCreate(g) => {
                let g = &p.groups[g as usize];
                self.exec(
                    "INSERT OR IGNORE INTO groups (group_id, name, description, created_at, \
                        created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![g.group_id, g.name, g.description, at, p.actor(g.created_by)],
                )?;
            }
            Other::MemberAdd(mi) => {
                let m = &p.members[mi as usize];
                self.exec(
                    "INSERT OR IGNORE INTO group_members (group_id, member_type, member_value, \
                        added_at, added_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        p.groups[m.group as usize].group_id,
                        m.member_type,
                        m.member_value,
                        at,
                        p.actor(m.added_by)
                    ],
                )?;
            }
            Other::Update(u) => self.update(u)?,
        }
        Ok(())
    }

    /// `agent.register`: INSERT OR REPLACE (last_seen_at back to '').
    fn register(&self, a: u32, hostname: &str, at: &str) -> Result<()> {
        let a = &self.mesh.plan.agents[a as usize];
        self.exec(
            "INSERT OR REPLACE INTO agents (agent_id, kind, role, module, display, hostname, \
                registered_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![a.agent_id, a.kind, a.role, a.module, a.display, hostname, at],
        )?;
        Ok(())
    }

    /// `agent.update`: each reported context replaces the stored one of
    /// its session when its `git_updated_at` is greater (as strings; on a
    /// tie the stored one stays).
    fn update(&self, u: u32) -> Result<()> {
        use thrum_schemas::events::columns;
        let p = &self.mesh.plan;
        let u = &p.updates[u as usize];
        let agent = &p.agents[u.agent as usize].agent_id;
        for wc in &u.contexts {
            let stored: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT git_updated_at FROM agent_work_contexts WHERE session_id = ?1",
                )
                .and_then(|mut s| {
                    s.query_row(params![wc.session_id], |r| r.get::<_, Option<String>>(0))
                        .optional()
                })
                .map_err(|e| self.err(e))?
                .map(|g| g.unwrap_or_default());
            if stored.is_some_and(|s| s.as_str() >= wc.git_updated_at.as_str()) {
                continue;
            }
            self.exec(
                "INSERT OR REPLACE INTO agent_work_contexts (session_id, agent_id, branch, \
                    worktree_path, unmerged_commits, \
                 uncommitted_files, changed_files, git_updated_at, current_task, task_updated_at, \
                 intent, intent_updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    wc.session_id,
                    agent,
                    wc.branch,
                    wc.worktree_path,
                    columns::commits(wc.unmerged_commits.as_deref()),
                    columns::strings(wc.uncommitted_files.as_deref()),
                    columns::strings(wc.changed_files.as_deref()),
                    wc.git_updated_at,
                    wc.current_task,
                    wc.task_updated_at,
                    wc.intent,
                    wc.intent_updated_at
                ],
            )?;
        }
        Ok(())
    }

    /// The daemon's local-only rows: schema version, heartbeats,
    /// subscriptions, session scopes and refs of its own sessions, and its
    /// checkpoints.
    pub(super) fn local(&self) -> Result<()> {
        let mesh = self.mesh;
        let p = &mesh.plan;
        let d = self.d;
        self.exec(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![thrum_schemas::SCHEMA_VERSION, sqlite_datetime(p.profile.window_start)],
        )?;
        for (i, s) in p.sessions.iter().enumerate() {
            if mesh.session_is_local(i as u32, d) {
                self.exec(
                    "UPDATE sessions SET last_seen_at = ?1 WHERE session_id = ?2",
                    params![ts(s.last_seen), s.session_id],
                )?;
            }
        }
        for (i, a) in p.agents.iter().enumerate() {
            if mesh.agent_host[i] == d {
                self.exec(
                    "UPDATE agents SET last_seen_at = ?1 WHERE agent_id = ?2",
                    params![ts(a.last_seen), a.agent_id],
                )?;
            }
        }
        for s in p.subscriptions.iter().filter(|s| mesh.session_is_local(s.session, d)) {
            self.exec(
                "INSERT INTO subscriptions (session_id, scope_type, scope_value, mention_role, \
                    created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.sessions[s.session as usize].session_id,
                    s.scope_type,
                    s.scope_value,
                    s.mention_role,
                    ts(s.created_at)
                ],
            )?;
        }
        for (table, col, tags) in [
            ("session_scopes", "scope", &p.session_scopes),
            ("session_refs", "ref", &p.session_refs),
        ] {
            let sql = format!(
                "INSERT INTO {table} (session_id, {col}_type, {col}_value, \
                added_at) VALUES (?1, ?2, ?3, ?4)"
            );
            for t in tags.iter().filter(|t| mesh.session_is_local(t.session, d)) {
                self.exec(
                    &sql,
                    params![
                        p.sessions[t.session as usize].session_id,
                        t.tag_type,
                        t.value,
                        ts(t.added_at)
                    ],
                )?;
            }
        }
        for (k, peer) in mesh.daemons[d as usize].peers.iter().enumerate() {
            if k as u32 == d {
                continue;
            }
            self.exec(
                "INSERT INTO sync_checkpoints (peer_daemon_id, last_synced_sequence, \
                    last_sync_timestamp, sync_status) \
                 VALUES (?1, ?2, ?3, 'idle')",
                params![
                    mesh.hosts[k].daemon_id,
                    peer.last_synced_sequence as i64,
                    peer.last_sync.map_or(0, |t| t.div_euclid(1_000_000))
                ],
            )?;
        }
        Ok(())
    }

    /// The agents registered in this daemon's database.
    pub(super) fn registered(&self) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT agent_id FROM agents").map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Rows per table, tables by name.
    pub(super) fn counts(&self) -> Result<Vec<(String, u64)>> {
        let names = crate::sqlite::table_names(self.conn).map_err(|e| self.err(e))?;
        names
            .into_iter()
            .map(|n| {
                let c: i64 = self
                    .conn
                    .query_row(&format!("SELECT count(*) FROM \"{n}\""), [], |r| r.get(0))
                    .map_err(|e| self.err(e))?;
                Ok((n, c as u64))
            })
            .collect()
    }
}
