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

mod projection;

use crate::archive::{self, FileEntry};
use crate::error::{Error, IoContext, Result};
use crate::events::JsonlFiles;
use crate::{manifest, recognise, sqlite, tree, Compression, GENERATOR};
use projection::DaemonWriter;
use serde::Serialize;
use std::path::{Path, PathBuf};
use thrum_gen::mesh::{Mesh, Scenario};
use thrum_gen::Profile;
use thrum_io::publish;
use thrum_schemas::time::date;

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
    let mut w = DaemonWriter::new(mesh, d as u32, &db);
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
