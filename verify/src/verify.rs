//! `verify replay`: the whole consistency proof of a v13 fixture.

use crate::checks::{self, Mode};
use crate::compare::{self, TableStats};
use crate::dbfile;
pub use crate::dbfile::{copy_db, copy_db_with, copy_regular, open_db, FixtureDb};
use crate::error::ExtractError;
use crate::error::InputError;
use crate::extract::{Entry, Limits};
use crate::findings::{Finding, Findings, Kind};
use crate::input::{self, Tree};
use crate::jsonl;
use crate::manifest;
use crate::parquet::{self, Snapshots};
use crate::replay;
use crate::report::Report;
use crate::stream::{self, Stop};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

/// What `verify replay` checks and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Findings listed in detail per (kind, table); 0 = all.
    pub max_diffs: usize,
    /// Limits of the archive extraction.
    pub limits: Limits,
    /// A v13 fixture, or a tree migrated from v5.
    pub mode: Mode,
    /// Look for a manifest and SHA256SUMS.
    pub check_manifest: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_diffs: 20,
            limits: Limits::default(),
            mode: Mode::Fixture,
            check_manifest: true,
        }
    }
}

/// Phase timings of one verification.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Each phase's name and duration, in order (parallel phases last).
    pub phases: Vec<(&'static str, Duration)>,
}

impl Timings {
    fn mark(&mut self, name: &'static str, since: &mut Instant) {
        let now = Instant::now();
        self.phases.push((name, now - *since));
        *since = now;
    }
}

/// Opens PATH and verifies it.
///
/// An archive is extracted on a second
/// thread, and the event logs are read and replayed as soon as they are
/// extracted (they come before `var/` in the archive), while the database
/// is still being written. Should an event file come after `var/`, they are
/// read again once the extraction is complete, so the report never depends
/// on the order of the entries.
pub fn verify_path(path: &Path, opts: &Options) -> Result<Report, InputError> {
    Ok(verify_path_kept(path, opts)?.0)
}

/// [`verify_path`], returning the tree it verified too: an archive's stays
/// extracted until the tree is dropped, so that what is checked next (the
/// Parquet snapshots beside it, [`crate::parquet::add_snapshots_in`])
/// reads the same files without extracting them again.
pub fn verify_path_kept(path: &Path, opts: &Options) -> Result<(Report, Tree), InputError> {
    let (report, tree, _) = verify_replay(path, opts, false)?;
    Ok((report, tree))
}

/// The Parquet check beside an archive ([`crate::parquet::check_snapshots_in`]):
/// `None` when there was nothing to check (or it was not asked for); an
/// error for an unusable archive or database.
pub type SnapshotsOutcome = Result<Option<Snapshots>, InputError>;

/// What `verify replay` runs: [`verify_path_kept`] and, with `snapshots`,
/// the check of the Parquet snapshots beside an archive against the
/// database of the tree just verified. Of an archive, that check reads the
/// extracted database on a thread of its own, started once the event logs
/// are replayed: beside the comparison and the checks that follow it. Its
/// outcome is returned apart, to be added to the report
/// ([`Snapshots::add_to`]) after everything else, as when it ran after the
/// replay; it counts only when the verification succeeded.
pub fn verify_replay(
    path: &Path,
    opts: &Options,
    snapshots: bool,
) -> Result<(Report, Tree, SnapshotsOutcome), InputError> {
    let resolved = input::resolve(path, input::Generation::V13)?;
    let path = resolved.as_path();
    let is_archive = std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && crate::extract::looks_like_archive(path);
    if is_archive {
        return verify_archive(path, opts, snapshots, |tree, early| {
            Ok(verify_tree_early(tree, opts, early)?.0)
        });
    }
    let tree = input::open(path, &opts.limits)?;
    if tree.is_v5_layout() {
        return Err(InputError::V5Layout { path: path.to_path_buf() });
    }
    let report = verify_tree(&tree, opts)?.0;
    let pq = match snapshots {
        true => parquet::check_snapshots_in(path, Some(&tree), &opts.limits),
        false => Ok(None),
    };
    Ok((report, tree, pq))
}

/// The event logs of a tree, read and replayed ahead of the other checks.
type Early = (Findings, Result<stream::Streamed, Stop>);

/// What hands the verification of an archive's tree its event logs,
/// streamed while the archive was extracted.
type EarlyLogs<'a> = Box<dyn FnOnce() -> Option<Early> + Send + 'a>;

/// [`verify_into`] of the fixture at `path` (as [`input::resolve`] found
/// it): an archive is extracted while its event logs are replayed, as
/// [`verify_replay`] does. Returns the tree too (an archive's stays
/// extracted until it is dropped).
pub(crate) fn verify_into_at(
    path: &Path,
    opts: &Options,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) -> Result<(Vec<TableStats>, Option<i64>, Tree), InputError> {
    let is_archive = std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && crate::extract::looks_like_archive(path);
    if is_archive {
        let ((tables, v, _), tree, _) = verify_archive(path, opts, false, |tree, early| {
            verify_into_early(tree, opts, findings, summary, early)
        })?;
        return Ok((tables, v, tree));
    }
    let tree = input::open(path, &opts.limits)?;
    if tree.is_v5_layout() {
        return Err(InputError::V5Layout { path: path.to_path_buf() });
    }
    let (tables, v, _) = verify_into(&tree, opts, findings, summary)?;
    Ok((tables, v, tree))
}

/// Lists and streams the event logs of the tree at `thrum`.
fn stream_tree(thrum: &Path, base: &Path, mode: Mode, abort: &AtomicBool) -> Early {
    let t = Tree {
        thrum: thrum.to_path_buf(),
        base: base.to_path_buf(),
        archive: None,
        entries: None,
        _tmp: None,
    };
    let mut listing = Findings::new(0);
    let streamed = match jsonl::event_files(&t, &mut listing) {
        Ok(sources) => stream::run(sources, mode, stream::ON_DISK_ABOVE, abort),
        Err(e) => Err(Stop::Input(e)),
    };
    (listing, streamed)
}

/// Extracts `archive` into `base`: `ready` is told once the extraction
/// reaches `var/` (the event files before it are then complete), and `late`
/// is set when an event file comes after `var/`.
fn extract_telling(
    archive: &Path,
    base: &Path,
    limits: &Limits,
    ready: std::sync::mpsc::Sender<()>,
    late: &AtomicBool,
) -> Result<Vec<Entry>, ExtractError> {
    let mut ready = Some(ready);
    crate::extract::unpack_with(archive, base, limits, &mut |p: &str| {
        // no entry is written once an interrupt is being handled
        crate::cleanup::checkpoint();
        let event_file = p == ".thrum"
            || p == ".thrum/events.jsonl"
            || p == ".thrum/messages"
            || p.starts_with(".thrum/messages/");
        match &ready {
            None if event_file => late.store(true, AtomicOrdering::Relaxed),
            None => {}
            Some(_) if p.starts_with(".thrum/var/") => {
                let _ = ready.take().map(|t| t.send(()));
            }
            Some(_) => {}
        }
    })
}

/// The tree `archive` was extracted to, once the extraction ended: the
/// error that stopped it, a tree without `.thrum` or one of the v5 layout
/// are refused.
fn extracted_tree(
    joined: std::thread::Result<Result<Vec<Entry>, ExtractError>>,
    archive: &Path,
    base: &Path,
) -> Result<Tree, InputError> {
    let entries = match joined {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => {
            return Err(InputError::Unreadable {
                path: archive.to_path_buf(),
                reason: "extraction thread panicked".into(),
            })
        }
    };
    let thrum = base.join(".thrum");
    if !thrum.is_dir() {
        return Err(InputError::NoThrumRoot { path: archive.to_path_buf() });
    }
    let tree = Tree {
        thrum,
        base: base.to_path_buf(),
        archive: Some(archive.to_path_buf()),
        entries: Some(entries),
        _tmp: None,
    };
    if tree.is_v5_layout() {
        return Err(InputError::V5Layout { path: archive.to_path_buf() });
    }
    Ok(tree)
}

/// [`verify_replay`] of an archive: extraction and the event logs overlap,
/// and so do the replay (`run` of the tree) and the Parquet check. The tree
/// returned keeps the extraction directory.
fn verify_archive<R>(
    path: &Path,
    opts: &Options,
    snapshots: bool,
    run: impl FnOnce(&Tree, EarlyLogs<'_>) -> Result<R, InputError>,
) -> Result<(R, Tree, SnapshotsOutcome), InputError> {
    let tmp = input::temp_dir("verify-")?;
    let base = tmp.path().to_path_buf();
    let thrum = base.join(".thrum");
    let abort = AtomicBool::new(false);
    let late = AtomicBool::new(false);
    let out = std::thread::scope(|s| -> Result<(R, Tree, SnapshotsOutcome), InputError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let extraction = s.spawn(|| extract_telling(path, &base, &opts.limits, ready_tx, &late));
        // the event files are complete when the extraction reaches var/
        let early = match ready_rx.recv() {
            Ok(()) if thrum.is_dir() => {
                Some(s.spawn(|| stream_tree(&thrum, &base, opts.mode, &abort)))
            }
            _ => None,
        };
        let stop = || abort.store(true, AtomicOrdering::Relaxed);
        let tree = extracted_tree(extraction.join(), path, &base).inspect_err(|_| stop())?;
        let early = if late.load(AtomicOrdering::Relaxed) {
            stop();
            None
        } else {
            early
        };
        // the Parquet check starts once the event logs are replayed: beside
        // the comparison and the checks that follow, not slowing the replay
        let (replayed, replay_done) = std::sync::mpsc::channel::<()>();
        let early = move || -> Option<Early> {
            let e = early
                .map(|h| h.join().unwrap_or_else(|_| (Findings::new(0), Err(Stop::Cancelled))));
            let _ = replayed.send(());
            e
        };
        let (r, pq) = std::thread::scope(|inner| {
            let extracted = &tree;
            let pq = snapshots.then(|| {
                inner.spawn(move || match replay_done.recv() {
                    Ok(()) => parquet::check_snapshots(path, Some(extracted), &opts.limits, false),
                    // no replay: the verification failed, and its error is the outcome
                    Err(_) => Ok(None),
                })
            });
            let r = run(&tree, Box::new(early));
            stop();
            let pq = pq.map_or(Ok(None), |h| {
                h.join().unwrap_or_else(|_| {
                    Err(InputError::Unreadable {
                        path: path.to_path_buf(),
                        reason: "Parquet check thread panicked".into(),
                    })
                })
            });
            (r, pq)
        });
        Ok((r?, tree, pq))
    });
    let (report, mut tree, pq) = out?;
    tree._tmp = Some(tmp);
    Ok((report, tree, pq))
}

/// Verifies an opened tree; returns the report and phase timings.
pub fn verify_tree(tree: &Tree, opts: &Options) -> Result<(Report, Timings), InputError> {
    verify_tree_early(tree, opts, || None)
}

fn verify_tree_early(
    tree: &Tree,
    opts: &Options,
    early: impl FnOnce() -> Option<Early> + Send,
) -> Result<(Report, Timings), InputError> {
    let mut findings = Findings::new(opts.max_diffs);
    let mut summary: BTreeMap<String, Value> = BTreeMap::new();
    let (tables, version, timings) =
        verify_into_early(tree, opts, &mut findings, &mut summary, early)?;
    Ok((Report::new("replay", tree.display(), version, summary, tables, findings), timings))
}

/// The verification itself, collecting into `findings` and `summary`;
/// returns the per-table counts, the schema version and phase timings.
pub fn verify_into(
    tree: &Tree,
    opts: &Options,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) -> Result<(Vec<TableStats>, Option<i64>, Timings), InputError> {
    verify_into_early(tree, opts, findings, summary, || None)
}

/// The fixture being verified: its tree, options and database.
struct Fixture<'a> {
    tree: &'a Tree,
    opts: &'a Options,
    /// The database file in the tree.
    db_src: PathBuf,
    /// How its connections are opened.
    db: FixtureDb,
}

/// [`verify_into`]; `early` gives the event logs when they were already
/// streamed (see [`verify_path`]).
fn verify_into_early(
    tree: &Tree,
    opts: &Options,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
    early: impl FnOnce() -> Option<Early> + Send,
) -> Result<(Vec<TableStats>, Option<i64>, Timings), InputError> {
    let mut t = Timings::default();
    let mut clock = Instant::now();

    let db_src = tree.database()?;
    let wal =
        dbfile::check(&db_src, ".thrum/var/messages.db", findings, opts.mode == Mode::Migrated);
    if opts.mode == Mode::Fixture {
        dbfile::check_wal_mode(&db_src, ".thrum/var/messages.db", findings);
    }
    let fx = Fixture { tree, opts, db: FixtureDb::prepare_with(&db_src, &wal)?, db_src };
    let db = fx.db.open(&tree.shown("var/messages.db"))?;
    t.mark("open", &mut clock);

    // Schema, integrity and manifest checks need nothing from the replay:
    // they run on a second connection in a second thread. Their findings are
    // merged at a fixed point, so the report does not depend on timing.
    let out = std::thread::scope(
        |scope| -> Result<(Vec<TableStats>, Option<i64>, Timings), InputError> {
            let aux = scope.spawn(|| aux_checks(&fx));
            checks::check_layout(tree, findings);
            let mut s = streamed(tree, opts, early, findings)?;
            t.mark("read_and_replay", &mut clock);
            let mut main_f = Findings::new(0);
            main_f.append(std::mem::replace(&mut s.replay_findings, Findings::new(0)));
            let (mut tables, side) = compare_beside(&fx, &db, &s, &mut main_f, &mut t, &mut clock)?;
            if opts.mode == Mode::Migrated {
                events_not_compared(&db, summary, findings);
            }
            t.mark("wait_checks", &mut clock);
            t.phases.push(("event_log + local_checks (parallel)", side.2));
            tables.extend(side.0);
            findings.append(s.line_findings);
            findings.append(main_f);
            findings.append(side.1);
            let (files, events, rep) = (s.files, s.events as usize, s.replay);
            rebuild_stop(tree, &rep, s.rebuild.as_ref(), &files, findings, summary)?;
            add_summary(summary, &files, events, &rep, opts.mode);
            // the replay's database and the index are removed while the
            // checks of the second connection may still run
            drop((rep, s.rebuild, s.index));
            let aux = aux.join().map_err(|_| InputError::Unreadable {
                path: fx.db_src.clone(),
                reason: "schema/manifest check thread panicked".into(),
            })??;
            t.mark("wait_parallel", &mut clock);
            t.phases.push(("schema_integrity (parallel)", aux.schema));
            t.phases.push(("manifest (parallel)", aux.manifest_time));
            findings.append(aux.findings);
            add_manifest_summary(summary, aux.manifest.as_ref());
            if opts.mode == Mode::Fixture {
                crate::crash::classify(tree, &db, &wal, findings);
            }
            Ok((tables, aux.version, t))
        },
    );
    // an interrupted read proves nothing, whatever it reported
    fx.db.settle(&tree.shown("var/messages.db"))?;
    out
}

/// The schema, integrity and manifest checks, on a connection of their own.
fn aux_checks(fx: &Fixture) -> Result<AuxOutcome, InputError> {
    let db2 = fx.db.open(&fx.db_src)?;
    let mut f = Findings::new(0);
    let t0 = Instant::now();
    let (version, _) = checks::check_db(&db2, thrum_schemas::SCHEMA_VERSION, fx.opts.mode, &mut f);
    if fx.opts.mode == Mode::Fixture {
        checks::check_origin_daemon(&db2, &mut f);
    }
    let schema = t0.elapsed();
    let t1 = Instant::now();
    let manifest = fx.opts.check_manifest.then(|| manifest::check(fx.tree, &db2, version, &mut f));
    Ok(AuxOutcome { findings: f, version, manifest, schema, manifest_time: t1.elapsed() })
}

/// The event logs read and replayed (by `early`, or here); the findings of
/// their listing and reading appended to `findings`.
fn streamed(
    tree: &Tree,
    opts: &Options,
    early: impl FnOnce() -> Option<Early>,
    findings: &mut Findings,
) -> Result<stream::Streamed, InputError> {
    let (listing, result) = match early() {
        Some(e) => e,
        None => stream_tree(&tree.thrum, &tree.base, opts.mode, &AtomicBool::new(false)),
    };
    let mut s = match result {
        Ok(s) => s,
        Err(Stop::Input(e)) => return Err(e),
        Err(Stop::Replay(e)) => {
            return Err(InputError::Unreadable {
                path: tree.thrum.clone(),
                reason: format!("replay database failed: {e}"),
            })
        }
        Err(Stop::Unsorted | Stop::Cancelled | Stop::MultiOrigin) => {
            return Err(InputError::Unreadable {
                path: tree.thrum.clone(),
                reason: "reading the event logs stopped unexpectedly".into(),
            })
        }
    };
    findings.append(listing);
    findings.append(std::mem::replace(&mut s.read_findings, Findings::new(0)));
    Ok(s)
}

/// What the checks beside the comparison found: their table counts,
/// findings and time.
type Side = (Vec<TableStats>, Findings, Duration);

/// The comparison of the replayed tables with the fixture's, and beside it
/// (on a third thread: they read only the fixture's database) the event
/// log, local, peer, identity and shard checks. Returns the compared
/// tables (their findings appended to `main_f`) and the side checks'.
fn compare_beside(
    fx: &Fixture,
    db: &Connection,
    s: &stream::Streamed,
    main_f: &mut Findings,
    t: &mut Timings,
    clock: &mut Instant,
) -> Result<(Vec<TableStats>, Side), InputError> {
    let (compared, side) = std::thread::scope(|inner| {
        let (index, cleaned) = (&s.index, &s.replay.cleaned_agents);
        let side = inner.spawn(|| side_checks(fx, index, cleaned));
        let compared = compare::compare_projected(db, &s.replay.conn, main_f).map_err(|e| {
            InputError::Unreadable {
                path: fx.tree.thrum.clone(),
                reason: format!("reading the replayed database failed: {e}"),
            }
        });
        t.mark("compare", clock);
        (compared, side.join())
    });
    let side = side.map_err(|_| InputError::Unreadable {
        path: fx.tree.thrum.clone(),
        reason: "check thread panicked".into(),
    });
    let tables = compared?;
    Ok((tables, side??))
}

/// The checks that read only the fixture's database and the index of the
/// events, on a connection of their own.
fn side_checks(
    fx: &Fixture,
    index: &stream::Index,
    cleaned_agents: &std::collections::HashSet<String>,
) -> Result<Side, InputError> {
    let t0 = Instant::now();
    let db3 = fx.db.open(&fx.db_src)?;
    let mut f = Findings::new(0);
    let mut tables = Vec::new();
    if fx.opts.mode == Mode::Fixture {
        tables.push(checks::check_event_log(&db3, index, &mut f)?);
    }
    tables.extend(checks::check_local(&db3, cleaned_agents, &mut f));
    checks::check_peers(fx.tree, &db3, &mut f);
    checks::check_identities(fx.tree, &db3, &mut f);
    checks::check_shards(fx.tree, &db3, index, &mut f);
    Ok((tables, f, t0.elapsed()))
}

/// Where the daemon's rebuild stops, if it does: for a daemon that pulled
/// events (`rebuild`: the replay in time order), what that rebuild projects
/// otherwise than the arrival order `rep`, and where it (not the arrival
/// order) stops.
fn rebuild_stop(
    tree: &Tree,
    rep: &replay::Replay,
    rebuild: Option<&replay::Replay>,
    files: &[jsonl::EventFile],
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) -> Result<(), InputError> {
    let abort = match rebuild {
        Some(rb) => {
            let n = rebuild_order_differs(&rep.conn, &rb.conn, findings).map_err(|e| {
                InputError::Unreadable {
                    path: tree.thrum.clone(),
                    reason: format!(
                        "comparing the replays in arrival and rebuild order failed: {e}"
                    ),
                }
            })?;
            summary.insert(
                "replay_order".into(),
                json!(format!(
                    "sequence (arrival order: the events have more than one origin_daemon); a \
                        rebuild in (timestamp, event_id) order projects {n} value(s) otherwise"
                )),
            );
            rb.abort.as_ref()
        }
        None => rep.abort.as_ref(),
    };
    if let Some(f) = crate::rebuild::report(abort, files, &tree.base)? {
        findings.push(f);
    }
    Ok(())
}

/// The `manifest` and `sha256sums` summary lines (replay and migrate).
pub(crate) fn add_manifest_summary(
    summary: &mut BTreeMap<String, Value>,
    manifest: Option<&manifest::ManifestOutcome>,
) {
    let Some(m) = manifest else { return };
    if let Some(p) = &m.manifest {
        summary.insert(
            "manifest".into(),
            json!(format!("{} ({} files checked)", p.display(), m.files_checked)),
        );
    }
    if let Some(p) = &m.checksums {
        summary.insert("sha256sums".into(), json!(p.display().to_string()));
    }
}

/// `rebuild_order_differs` warnings: every difference between the replay in
/// arrival order and the one in rebuild order; returns their number.
pub fn rebuild_order_differs(
    arrival: &Connection,
    rebuild: &Connection,
    findings: &mut Findings,
) -> rusqlite::Result<usize> {
    use crate::rowdiff::RowDiff;
    let mut n = 0;
    for t in thrum_schemas::catalogue::projected() {
        crate::rowdiff::diff_table(t, arrival, rebuild, &[], &mut |d| {
            n += 1;
            let f = match d {
                RowDiff::OnlyA { key, row, .. } => Finding::new(
                    Kind::RebuildOrderDiffers,
                    format!(
                        "row projected in arrival order that a rebuild in (timestamp, \
                        event_id) order does not produce: {row}"
                    ),
                )
                .key(key),
                RowDiff::OnlyB { key, row, .. } => Finding::new(
                    Kind::RebuildOrderDiffers,
                    format!(
                        "row a rebuild in (timestamp, event_id) order produces that arrival \
                        order does not: {row}"
                    ),
                )
                .key(key),
                RowDiff::Cell { key, column, a, b, .. } => Finding::new(
                    Kind::RebuildOrderDiffers,
                    "a rebuild in (timestamp, event_id) order projects another value (expected: \
                        arrival order, found: rebuild order)",
                )
                .key(key)
                .column(column)
                .values(a.to_string(), b.to_string()),
            };
            findings.push(f.table(t.name));
        })?;
    }
    Ok(n)
}

struct AuxOutcome {
    findings: Findings,
    version: Option<i64>,
    manifest: Option<manifest::ManifestOutcome>,
    schema: Duration,
    manifest_time: Duration,
}

/// The summary line of a migrated tree's `events` table, which is not compared.
fn events_not_compared(
    db: &Connection,
    summary: &mut BTreeMap<String, Value>,
    findings: &mut Findings,
) {
    match db.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0)) {
        Ok(n) => {
            summary.insert(
                "events_table".into(),
                json!(format!("{n} rows (not backfilled by the migration; not compared)")),
            );
        }
        Err(e) => findings.push(
            Finding::new(Kind::TableUnreadable, format!("cannot count the events table: {e}"))
                .table("events"),
        ),
    }
}

fn add_summary(
    summary: &mut BTreeMap<String, Value>,
    files: &[jsonl::EventFile],
    events: usize,
    rep: &replay::Replay,
    mode: Mode,
) {
    let lines: u64 = files.iter().map(|f| f.lines).sum();
    summary.insert("jsonl_files".into(), json!(files.len()));
    summary.insert("jsonl_lines".into(), json!(lines));
    summary.insert("jsonl_events".into(), json!(events));
    summary.insert("jsonl_blank_lines".into(), json!(files.iter().map(|f| f.blank).sum::<u64>()));
    summary.insert(
        "jsonl_unparsable_lines".into(),
        json!(files.iter().map(|f| f.unparsable).sum::<u64>()),
    );
    summary.insert(
        "replay".into(),
        json!(format!(
            "{} applied, {} ignored (unknown type or thread.create), {} rejected",
            rep.applied, rep.ignored, rep.rejected
        )),
    );
    summary.insert(
        "mode".into(),
        json!(match mode {
            Mode::Fixture => "v13 fixture",
            Mode::Migrated => "migrated from v5",
        }),
    );
}
