//! `verify mesh DIR`: a mesh of daemons that synced with each other
//! (docs/FORMAT.md sections 3, 4b and 8), as `testgen mesh` writes it:
//! `DIR/mesh.json` names the daemons (index, hostname, id, directory) and
//! the declared conflicts; `DIR/daemon-K/` holds each daemon's fixture (its
//! archive, or an expanded `.thrum/`).
//!
//! What is proven, each with its finding kind:
//! * every daemon's fixture is consistent on its own: the checks of `verify
//!   replay`, findings prefixed with the daemon (`daemon-K: `) and their
//!   files with its directory;
//! * each daemon's id derives from its hostname (`mesh_daemon_id_wrong`);
//!   every event's origin is a daemon of the mesh, and an `agent.register`
//!   comes from the daemon of its hostname (`mesh_origin_wrong`); on every
//!   daemon the events of an origin are the first events of that origin's
//!   own log, in its order (`mesh_origin_order`);
//! * an `event_id` has the same JSON on every daemon that holds it, except
//!   `sequence` (`mesh_event_differs`);
//! * checkpoints: one per other daemon, `idle`, its time plausible
//!   (`mesh_checkpoint_invalid`); never ahead of the peer's log
//!   (`mesh_checkpoint_ahead`); every event of peer P up to A's checkpoint
//!   for P is held by A (`mesh_checkpoint_gap`); `var/peers.json` lists
//!   exactly the other daemons (`mesh_peers_invalid`);
//! * every remote event a daemon holds was available from some peer at or
//!   below its checkpoint for that peer (`mesh_event_unexplained`);
//! * `converged`: every daemon holds every event (`mesh_event_missing`), its
//!   checkpoints are at its peers' last sequence (`mesh_checkpoint_invalid`),
//!   and the projected rows are the same on every daemon except
//!   AUTOINCREMENT ids, heartbeat columns and the declared conflicts
//!   (`mesh_rows_differ`); each declared conflict is reported with every
//!   daemon's values (`mesh_conflict`, info).
//!
//! Memory does not grow with the events: the cross-daemon checks are merge
//! joins of cursors over key-ordered queries (the `events` of every daemon
//! by `event_id`, the events of one origin by `sequence`, the projected
//! tables by key) and a few lookups by primary key.

mod checkpoints;
mod conflicts;
mod events;
mod spec;

use checkpoints::{check_checkpoints, check_peers};
use conflicts::{check_conflicts, check_rows};
use events::{check_events, check_origin_order};
pub use spec::{read_spec, DaemonSpec, MeshOptions};

use crate::checks::{daemon_id_of, Mode};
use crate::compare::TableStats;
use crate::error::InputError;
use crate::findings::{Finding, Findings, Kind};
use crate::input::{self, Tree};
use crate::report::Report;
use crate::verify::FixtureDb;
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// One daemon, opened.
struct Daemon {
    spec: DaemonSpec,
    tree: Tree,
    db: FixtureDb,
}

impl Daemon {
    fn label(&self) -> String {
        format!("daemon-{}", self.spec.index)
    }
    fn open(&self) -> Result<Connection, InputError> {
        self.db.open(&self.tree.shown("var/messages.db"))
    }
}

/// A finding of one daemon's own verification, named as the daemon's.
fn prefixed(mut f: Finding, d: &DaemonSpec) -> Finding {
    f.message = format!("daemon-{}: {}", d.index, f.message);
    // paths inside the tree are relative to the directory holding `.thrum`;
    // others (a manifest beside the archive) are shown as they were found
    if let Some(file) = f.file.take() {
        f.file = Some(if file == ".thrum" || file.starts_with(".thrum/") {
            format!("{}/{file}", d.dir)
        } else {
            file
        });
    }
    f
}

/// Verifies the mesh in DIR.
pub fn verify_mesh(dir: &Path, opts: &MeshOptions) -> Result<Report, InputError> {
    let spec = read_spec(dir)?;
    let mut findings = Findings::new(opts.max_diffs);
    let mut summary: BTreeMap<String, Value> = BTreeMap::new();
    let mut tables: Vec<TableStats> = Vec::new();
    summary.insert("scenario".into(), json!(spec.scenario));
    summary.insert("daemons".into(), json!(spec.daemons.len()));
    // DIR/SHA256SUMS covers the daemons' files: none is expected beside their archives
    let mut sums = false;
    if opts.check_manifest {
        if let Some(p) = crate::manifest::check_sums_file(dir, "mesh.json", &mut findings) {
            summary.insert("sha256sums".into(), json!(p.display().to_string()));
            sums = true;
        }
    }
    // every daemon on its own, one at a time
    let mut daemons: Vec<Daemon> = Vec::with_capacity(spec.daemons.len());
    release_freed_memory();
    let mut version = None;
    for d in &spec.daemons {
        let (daemon, v) = verify_daemon(
            dir,
            d,
            opts,
            sums,
            &mut Own { findings: &mut findings, summary: &mut summary, tables: &mut tables },
        )?;
        version = version.or(v);
        daemons.push(daemon);
        release_freed_memory();
    }
    let conns: Vec<Connection> = daemons.iter().map(Daemon::open).collect::<Result<_, _>>()?;
    check_readable(&daemons, &conns)?;
    let unreadable = |what: &str, e: rusqlite::Error| InputError::Unreadable {
        path: dir.to_path_buf(),
        reason: format!("{what}: {e}"),
    };

    check_ids(&daemons, &mut findings);
    let max_seq: Vec<i64> = conns
        .iter()
        .map(|c| {
            c.query_row("SELECT coalesce(max(sequence), 0) FROM events", [], |r| r.get::<_, i64>(0))
        })
        .collect::<rusqlite::Result<_>>()
        .map_err(|e| unreadable("reading the events tables", e))?;
    let cps =
        check_checkpoints(&daemons, &conns, &max_seq, spec.scenario == "converged", &mut findings)
            .map_err(|e| unreadable("reading the sync checkpoints", e))?;
    check_peers(&daemons, &mut findings);
    let held = check_events(&daemons, &conns, &cps, spec.scenario == "converged", &mut findings)
        .map_err(|e| unreadable("reading the events tables", e))?;
    summary.insert(
        "events".into(),
        json!(format!("{} distinct event ids; held per daemon: {:?}", held.0, held.1)),
    );
    check_origin_order(&daemons, &conns, &mut findings)
        .map_err(|e| unreadable("reading the events of each origin", e))?;
    check_conflicts(&spec, &daemons, &conns, &mut findings)
        .map_err(|e| unreadable("reading the rows of the declared conflicts", e))?;
    if spec.scenario == "converged" {
        let n = check_rows(&spec, &daemons, &conns, &mut findings)
            .map_err(|e| unreadable("comparing the daemons' rows", e))?;
        summary.insert(
            "rows".into(),
            json!(format!("projected rows compared with daemon-1's: {n} undeclared difference(s)")),
        );
    }
    drop(conns);
    // an interrupted read proves nothing, whatever it reported
    for d in &daemons {
        d.db.settle(&d.tree.shown("var/messages.db"))?;
    }
    Ok(Report::new("mesh", dir.display().to_string(), version, summary, tables, findings))
}

/// Where one daemon's own verification goes in the mesh's report.
struct Own<'a> {
    findings: &'a mut Findings,
    summary: &'a mut BTreeMap<String, Value>,
    tables: &'a mut Vec<TableStats>,
}

/// Daemon `d` verified on its own (as `verify replay`), its findings
/// prefixed with it; the daemon opened for the cross checks, and its
/// schema version.
fn verify_daemon(
    dir: &Path,
    d: &DaemonSpec,
    opts: &MeshOptions,
    sums: bool,
    into: &mut Own,
) -> Result<(Daemon, Option<i64>), InputError> {
    let ddir = dir.join(&d.dir);
    // one fixture per daemon (refused otherwise), the archive mesh.json names
    let path = input::resolve(&ddir, input::Generation::V13)?;
    let archive = (path != ddir)
        .then(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .flatten();
    if let (Some(name), Some(declared)) = (archive, &d.archive) {
        let found = format!("{}/{name}", d.dir);
        if *declared != found {
            into.findings.push(
                Finding::new(
                    Kind::MeshSpecInvalid,
                    format!(
                        "daemon {}: its archive is {found}, not the {declared} mesh.json names",
                        d.index
                    ),
                )
                .file("mesh.json"),
            );
        }
    }
    let ropts = crate::Options {
        max_diffs: 0,
        limits: opts.limits,
        mode: Mode::Fixture,
        check_manifest: opts.check_manifest,
    };
    let mut own = Findings::new(opts.max_diffs);
    let mut own_summary = BTreeMap::new();
    // an archive is extracted while its event logs are replayed, as `verify replay` does
    let (own_tables, v, tree) =
        crate::verify::verify_into_at(&path, &ropts, &mut own, &mut own_summary)?;
    let errors = own.errors();
    into.findings.absorb(own, |k| !(sums && k == Kind::ChecksumsAbsent), |f| prefixed(f, d));
    for mut t in own_tables {
        t.table = format!("daemon-{}/{}", d.index, t.table);
        into.tables.push(t);
    }
    let events = own_summary.get("jsonl_events").cloned().unwrap_or(Value::Null);
    into.summary.insert(
        format!("daemon-{}", d.index),
        json!(format!(
            "{} ({}, {}): {events} events, {}",
            d.hostname,
            d.daemon_id,
            tree.display(),
            if errors == 0 {
                "consistent on its own".to_string()
            } else {
                format!("{errors} error finding(s) on its own")
            }
        )),
    );
    let db = FixtureDb::prepare(&tree.database()?)?;
    Ok((Daemon { spec: d.clone(), tree, db }, v))
}

/// Gives back to the system the memory a daemon's verification freed. Its
/// threads allocate from arenas of their own, which keep what they free;
/// the next daemon's threads take other arenas, so without this the peak
/// grows with each daemon (a mesh of 3: about twice one daemon's replay).
/// Two arenas at most (one per core of the machines measured), so that
/// what one daemon's threads keep is reused by the next's.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: mallopt and malloc_trim take no pointer; they set a limit of
    // the allocator and return its free pages to the system, whatever
    // threads are running.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// The cross checks read these tables of every daemon.
fn check_readable(daemons: &[Daemon], conns: &[Connection]) -> Result<(), InputError> {
    for (d, c) in daemons.iter().zip(conns) {
        for table in ["events", "sync_checkpoints"] {
            if let Err(e) = c.prepare(&format!("SELECT * FROM {table} LIMIT 0")) {
                return Err(InputError::Unreadable {
                    path: d.tree.shown("var/messages.db"),
                    reason: format!(
                        "{}: the table {table}, which the mesh checks read, cannot be read: {e}",
                        d.label()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Each daemon's id is derived from its hostname.
fn check_ids(daemons: &[Daemon], findings: &mut Findings) {
    for d in daemons {
        let want = daemon_id_of(&d.spec.hostname);
        if d.spec.daemon_id != want {
            findings.push(
                Finding::new(
                    Kind::MeshDaemonIdWrong,
                    format!(
                        "{}: the daemon_id of mesh.json is not derived from its hostname {:?} \
                            (docs/FORMAT.md section 3)",
                        d.label(),
                        d.spec.hostname
                    ),
                )
                .file("mesh.json")
                .key(format!("index={}", d.spec.index))
                .values(want, d.spec.daemon_id.clone()),
            );
        }
    }
}
