//! `testgen mesh`: a mesh of daemons that synced with each other
//! (docs/FORMAT.md sections 3, 4b and 8), one complete fixture per daemon.
//!
//! [`thrum_gen::mesh::Mesh`] decides, without I/O, what each daemon holds
//! and in which order it received it; this module writes each daemon's
//! `.thrum/` as that daemon left it:
//! - the JSONL files list the daemon's events in arrival order, each line
//!   rendered with the daemon's own `sequence` and its writer's
//!   `origin_daemon`, and the `events` table holds the same lines;
//! - the database is the projection in arrival order: each event is
//!   applied by typed SQL when it arrives, as a running daemon does (never
//!   by reading the JSON back);
//! - local-only state (reads, subscriptions, session scopes and refs,
//!   heartbeats) exists only on the daemon where the session runs, and a
//!   read only for a message the daemon holds;
//! - `sync_checkpoints` and `var/peers.json` (mode 0600) list the other
//!   daemons; identities and context notes are those of the agents the
//!   daemon knows (whose registration it holds: every agent once converged).
//!
//! Each daemon gets its archive and manifest; `mesh.json` describes the
//! mesh and one `SHA256SUMS` lists every file. Output is staged and
//! swapped into place like every testgen output.

use crate::archive::{self, FileEntry};
use crate::error::{Error, IoContext, Result};
use crate::events::JsonlFiles;
use crate::pass::File as JsonlFile;
use crate::{manifest, recognise, sqlite, tree, Compression, GENERATOR};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thrum_gen::mesh::{Extra, ExtraKind, Mesh, MeshEv, MeshEvent, Scenario};
use thrum_gen::render::Scratch;
use thrum_gen::{FateKind, Other, PlanEvent, Profile};
use thrum_io::publish;
use thrum_schemas::time::{date, rfc3339_nano, sqlite_datetime, Micros};

/// File name of the mesh's description.
pub const MESH_JSON: &str = "mesh.json";
/// Directory of daemon `k` (1-based).
pub fn daemon_dir(k: usize) -> String {
    format!("daemon-{k}")
}

/// What `testgen mesh` generates and where.
#[derive(Debug, Clone)]
pub struct MeshOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Volumes (a named profile, possibly with overrides).
    pub profile: Profile,
    /// Number of daemons (2 or more).
    pub daemons: u32,
    /// What the snapshot shows.
    pub scenario: Scenario,
    /// Directory that receives the mesh (replaced atomically, only when
    /// absent, empty or a previous mesh: [`recognise::MESH`]).
    pub out: PathBuf,
    /// Worker threads; never changes a byte.
    pub jobs: usize,
    /// Compression of the archives.
    pub compression: Compression,
}

impl MeshOptions {
    /// Three converged daemons of the default profile, seed 42, into `out`.
    pub fn new(out: impl Into<PathBuf>) -> MeshOptions {
        MeshOptions {
            seed: 42,
            profile: Profile::default_profile(),
            daemons: 3,
            scenario: Scenario::Converged,
            out: out.into(),
            jobs: 1,
            compression: Compression::Zstd,
        }
    }
}

/// What a mesh run produced.
#[derive(Debug, Clone)]
pub struct MeshReport {
    /// Where the mesh is.
    pub out: PathBuf,
    /// Events of the mesh (every daemon's own and the conflicts').
    pub total_events: u64,
    /// Events each daemon holds.
    pub held: Vec<u64>,
    /// Pulls simulated.
    pub pulls: u64,
    /// Bytes of every file written.
    pub bytes: u64,
}

/// Generates the mesh into `opts.out`, atomically.
pub fn generate_mesh(opts: &MeshOptions) -> Result<MeshReport> {
    publish::check(&opts.out, &recognise::MESH)?;
    let mesh = Mesh::new(opts.seed, opts.profile.clone(), opts.daemons, opts.scenario).map_err(
        |e| match e {
            thrum_gen::mesh::MeshError::Plan(p) => Error::Plan(p),
            other => Error::Usage(other.to_string()),
        },
    )?;
    let staging = publish::Staging::new(&opts.out, recognise::MESH)?;
    let n = mesh.daemons.len();
    // One thread per daemon up to --jobs; each archive may use every job
    // (zstd's output does not depend on its workers), so a daemon left
    // alone at the end still uses every core.
    let threads = opts.jobs.clamp(1, n);
    let workers = opts.jobs.max(1);
    let results: Vec<Result<Vec<FileEntry>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (mesh, dir, compression) = (&mesh, &staging.dir, opts.compression);
                std::thread::Builder::new().name(format!("daemon-{t}")).spawn_scoped(
                    s,
                    move || -> Result<Vec<FileEntry>> {
                        let mut known = Vec::new();
                        for d in (t..n).step_by(threads) {
                            known.extend(write_daemon(mesh, d, dir, compression, workers)?);
                        }
                        Ok(known)
                    },
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(e) => Err(e).ctx("start a thread for", &staging.dir),
            })
            .collect()
    });
    let mut known = Vec::new();
    for r in results {
        known.extend(r?);
    }
    write_mesh_json(&mesh, &staging.dir.join(MESH_JSON), opts.compression)?;
    let bytes = manifest::write_sums(&staging.dir, &known)?;
    staging.publish()?;
    Ok(MeshReport {
        out: opts.out.clone(),
        total_events: mesh.total_events(),
        held: mesh.daemons.iter().map(|d| d.arrivals.len() as u64).collect(),
        pulls: mesh.pulls,
        bytes,
    })
}

#[derive(Serialize)]
struct MeshJson<'a> {
    generator: &'a str,
    kind: &'a str,
    seed: u64,
    profile: &'a str,
    scenario: &'a str,
    daemons: Vec<DaemonJson>,
    conflicts: Vec<ConflictJson<'a>>,
}

#[derive(Serialize)]
struct DaemonJson {
    index: usize,
    hostname: String,
    daemon_id: String,
    dir: String,
    archive: String,
}

#[derive(Serialize)]
struct ConflictJson<'a> {
    kind: &'a str,
    table: &'a str,
    key: &'a [String],
    columns: &'a [&'static str],
    event_ids: &'a [String],
    daemons: Vec<u32>,
}

fn write_mesh_json(mesh: &Mesh, path: &Path, compression: Compression) -> Result<()> {
    let j = MeshJson {
        generator: GENERATOR,
        kind: "mesh",
        seed: mesh.plan.seed,
        profile: &mesh.plan.profile.name,
        scenario: mesh.scenario.as_str(),
        daemons: mesh
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| DaemonJson {
                index: i + 1,
                hostname: h.hostname.clone(),
                daemon_id: h.daemon_id.clone(),
                dir: daemon_dir(i + 1),
                archive: format!("{}/{}", daemon_dir(i + 1), archive::archive_name(compression)),
            })
            .collect(),
        conflicts: mesh
            .conflicts
            .iter()
            .map(|c| ConflictJson {
                kind: c.kind,
                table: c.table,
                key: &c.key,
                columns: &c.columns,
                event_ids: &c.event_ids,
                daemons: c.daemons.iter().map(|d| d + 1).collect(),
            })
            .collect(),
    };
    let mut s =
        serde_json::to_string_pretty(&j).map_err(std::io::Error::other).ctx("encode", path)?;
    s.push('\n');
    std::fs::write(path, s).ctx("write", path)
}

/// Writes daemon `d` (0-based) under `dir/daemon-K/`: its tree is staged
/// in `daemon-K/.stage`, archived, described by its manifest and removed.
/// Returns the archive's entry (path relative to `dir`) for SHA256SUMS.
fn write_daemon(
    mesh: &Mesh,
    d: usize,
    dir: &Path,
    compression: Compression,
    workers: usize,
) -> Result<Vec<FileEntry>> {
    let ddir = dir.join(daemon_dir(d + 1));
    let stage = ddir.join(".stage");
    let thrum = stage.join(".thrum");
    std::fs::create_dir_all(&thrum).ctx("create directory", &thrum)?;
    tree::write_layout(&thrum, thrum_gen::Era::V13)?;
    tree::write_peers(&thrum.join("var").join("peers.json"), &mesh.peers(d as u32))?;
    let db = sqlite::Db::create(&thrum.join("var").join("messages.db"))?;
    db.conn().set_prepared_statement_cache_capacity(64);
    let mut jsonl = JsonlFiles::create(&mesh.plan, &thrum)?;
    let mut w = DaemonWriter {
        mesh,
        d: d as u32,
        conn: db.conn(),
        path: db.path(),
        sc: Scratch::default(),
        per_day: BTreeMap::new(),
    };
    let mut line = String::with_capacity(1 << 14);
    for (i, &r) in mesh.daemons[d].arrivals.iter().enumerate() {
        let e = mesh.event(r);
        line.clear();
        mesh.line(&e, i as u64 + 1, &mut line, &mut w.sc);
        jsonl.write(w.file_of(&e), &line)?;
        w.apply(&e, i as u64 + 1, &line)?;
    }
    w.local()?;
    // identities and context notes of the agents this daemon knows: every
    // agent whose registration it holds (all of them once converged)
    let known = w.registered()?;
    tree::write_agent_files(&mesh.plan, &thrum, |a| known.contains(&a.agent_id))?;
    let tables = w.counts()?;
    let per_day = std::mem::take(&mut w.per_day);
    drop(w);
    let lines = jsonl.finish()?;
    let (_, check) = db.close_unchecked()?;
    check.run()?;
    let mtime = (mesh.snapshot.div_euclid(1_000_000)) as u64;
    let archive_path = ddir.join(archive::archive_name(compression));
    let (files, whole) = archive::write(&thrum, &archive_path, mtime, workers, compression)?;
    let m = manifest::Manifest {
        archive: manifest::ArchiveRef {
            path: archive::archive_name(compression).into(),
            sha256: whole.sha256.clone(),
            size: whole.size,
        },
        counts: manifest::Counts {
            files: lines.iter().map(|(k, v)| (format!(".thrum/{k}"), *v)).collect(),
            messages_per_day: per_day
                .into_iter()
                .map(|(day, n)| (date(day * 86_400_000_000), n))
                .collect(),
            tables: tables.into_iter().collect(),
        },
        files,
        generator: GENERATOR.into(),
        profile: mesh.plan.profile.name.clone(),
        schema_version: thrum_schemas::SCHEMA_VERSION,
        seed: mesh.plan.seed,
    };
    manifest::write_json(&ddir.join(crate::MANIFEST), &m)?;
    thrum_io::tree::remove_dir_all(&stage).ctx("remove", &stage)?;
    Ok(vec![FileEntry {
        path: format!("{}/{}", daemon_dir(d + 1), archive::archive_name(compression)),
        sha256: whole.sha256,
        size: whole.size,
    }])
}

/// Applies daemon `d`'s arrivals to its database, as the daemon projects
/// each event when it writes or pulls it (section 4 in arrival order).
struct DaemonWriter<'m, 'c> {
    mesh: &'m Mesh,
    d: u32,
    conn: &'c Connection,
    path: &'c Path,
    sc: Scratch,
    /// Messages held per UTC day (days since the epoch).
    per_day: BTreeMap<i64, u64>,
}

fn ts(t: Micros) -> String {
    rfc3339_nano(t)
}

/// NULL for an empty string, as the projector stores empty optional text.
fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
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
    fn file_of(&self, e: &MeshEvent) -> JsonlFile {
        match e.ev {
            MeshEv::Plan(PlanEvent::Create(m)) => JsonlFile::Shard(m.agent),
            MeshEv::Plan(PlanEvent::Fate(f)) => {
                JsonlFile::Shard(self.mesh.plan.message(f.message).agent)
            }
            _ => JsonlFile::Events,
        }
    }

    /// Projects one arriving event and records it in `events`.
    fn apply(&mut self, e: &MeshEvent, sequence: u64, line: &str) -> Result<()> {
        let mesh = self.mesh;
        let p = &mesh.plan;
        let at = ts(e.key.time);
        match e.ev {
            MeshEv::Plan(PlanEvent::Create(m)) => {
                let format = p.content_after(&m, 0, &mut self.sc);
                let id = p.message_id(&m);
                let thread = p.thread_of(&m);
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
                let tags = p.tags(&m);
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
                let arrived = mesh.daemons[self.d as usize].arrived_at(
                    sequence,
                    m.key.time,
                    e.writer == self.d,
                );
                if let Some(r) = p
                    .read(&m)
                    .filter(|r| mesh.session_is_local(r.session, self.d) && r.at >= arrived)
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
            }
            MeshEv::Plan(PlanEvent::Fate(f)) => {
                let m = p.message(f.message);
                let id = p.message_id(&m);
                match f.kind {
                    FateKind::Edit { n, .. } => {
                        p.content_after(&m, n, &mut self.sc);
                        let (old, old_structured) =
                            (self.sc.content.clone(), self.sc.structured.clone());
                        let mut tmp = String::new();
                        p.apply_edit(
                            &m,
                            n,
                            &mut self.sc.content,
                            &mut self.sc.structured,
                            &mut tmp,
                        );
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
            }
            MeshEv::Plan(PlanEvent::Other(o)) => self.other(o.what, &at)?,
            // another daemon's `everyone` pair: the plan's event, its time
            MeshEv::Extra(Extra { what: ExtraKind::Start { what }, .. }) => {
                self.other(*what, &at)?
            }
            MeshEv::Extra(x) => match &x.what {
                ExtraKind::Start { .. } => {}
                ExtraKind::Reregister { agent } => {
                    self.register(*agent, &mesh.hosts[x.host as usize].hostname, &at)?
                }
                ExtraKind::GroupUpdate { group, description, .. } => {
                    self.exec(
                        "UPDATE groups SET description = ?1, updated_at = ?2 WHERE group_id = ?3",
                        params![description, at, p.groups[*group as usize].group_id],
                    )?;
                }
            },
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
    fn local(&self) -> Result<()> {
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
    fn registered(&self) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT agent_id FROM agents").map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Rows per table, tables by name.
    fn counts(&self) -> Result<Vec<(String, u64)>> {
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
