//! `verify replay`: the whole consistency proof of a v13 fixture.

use crate::checks::{self, Mode};
use crate::compare::{self, TableStats};
use crate::dbfile::{self, WalStatus};
use crate::error::InputError;
use crate::extract::Limits;
use crate::findings::{Finding, Findings, Kind};
use crate::input::{self, Tree};
use crate::jsonl;
use crate::manifest;
use crate::replay;
use crate::report::Report;
use crate::stream::{self, Stop};
use crate::untrusted;
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

/// A private copy of the fixture database (plus its `-wal`, if any), so
/// verification never touches the input and never adds files to the tree.
pub struct DbCopy {
    _dir: crate::cleanup::TempDir,
    /// The copy of the database.
    pub path: PathBuf,
}

/// A private copy of the database `src` and its `-wal`.
pub fn copy_db(src: &Path) -> Result<DbCopy, InputError> {
    copy_db_with(src, true)
}

/// Like [`copy_db`]; the `-wal` is copied only when `with_wal`.
pub fn copy_db_with(src: &Path, with_wal: bool) -> Result<DbCopy, InputError> {
    let dir = input::temp_dir("verify-db-")?;
    let path = dir.path().join("messages.db");
    copy_regular(src, &path)?;
    let wal = dbfile::wal_path(src);
    if with_wal && std::fs::symlink_metadata(&wal).is_ok_and(|m| m.is_file()) {
        copy_regular(&wal, &dir.path().join("messages.db-wal"))?;
    }
    Ok(DbCopy { _dir: dir, path })
}

/// Copies the regular file `src` to `dest` (created): never opens a FIFO
/// or device; an error names the file it is about, and a full disk is
/// "disk full while writing DEST".
pub fn copy_regular(src: &Path, dest: &Path) -> Result<u64, InputError> {
    let mut from =
        thrum_io::regular::open_regular(src).map_err(|e| input::db_file_error(src, src, e))?;
    let mut to = std::fs::File::create(dest).map_err(|e| InputError::write(dest, e))?;
    let n = copy_stream(&mut from, &mut to, src, dest)?;
    to.sync_data().map_err(|e| InputError::write(dest, e))?;
    Ok(n)
}

/// Copies `from` (read as `src`) into `to` (written as `dest`), telling
/// read errors from write errors.
fn copy_stream(
    from: &mut std::fs::File,
    to: &mut std::fs::File,
    src: &Path,
    dest: &Path,
) -> Result<u64, InputError> {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = match from.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InputError::io(src, e)),
        };
        to.write_all(&buf[..k]).map_err(|e| InputError::write(dest, e))?;
        n += k as u64;
    }
}

/// Opens an input database file (untrusted: see [`crate::untrusted`]) and
/// checks that it is one; the flag says whether a connection exceeded its
/// work budget (see [`crate::untrusted::settle`]).
pub fn open_db(path: &Path, shown_as: &Path) -> Result<(Connection, untrusted::Spent), InputError> {
    let spent = untrusted::Spent::default();
    let conn = untrusted::open(
        path,
        false,
        shown_as,
        untrusted::budget_for(untrusted::file_bytes(path)),
        &spent,
    )?;
    Ok((conn, spent))
}

/// How the fixture database is read: in place, read-only and immutable
/// (nothing is written, not even a lock or `-shm` file), or — when a `-wal`
/// file sits beside it, whose content SQLite must apply — through a private
/// copy. Every connection is opened as untrusted input
/// (`crate::untrusted::open`), under one work budget per connection.
pub struct FixtureDb {
    at: DbAt,
    budget: u64,
    spent: untrusted::Spent,
}

enum DbAt {
    /// Read where it is.
    InPlace(PathBuf),
    /// Read from a private copy.
    Copy(DbCopy),
}

impl FixtureDb {
    /// How the database `src` is to be read, judging its `-wal`.
    pub fn prepare(src: &Path) -> Result<FixtureDb, InputError> {
        FixtureDb::prepare_with(src, &dbfile::inspect_wal(src))
    }

    /// A valid `-wal` is applied on a private copy; an invalid one is never
    /// applied (the database is copied without it); with none the database
    /// is read in place.
    pub fn prepare_with(src: &Path, wal: &WalStatus) -> Result<FixtureDb, InputError> {
        // SQLite would block on a FIFO and read a device
        thrum_io::regular::regular_metadata(src).map_err(|e| input::db_file_error(src, src, e))?;
        let budget = untrusted::budget_for(untrusted::file_bytes(src));
        let at = match wal {
            WalStatus::Absent => DbAt::InPlace(src.to_path_buf()),
            WalStatus::Valid { .. } => DbAt::Copy(copy_db_with(src, true)?),
            WalStatus::Invalid { .. } => DbAt::Copy(copy_db_with(src, false)?),
        };
        Ok(FixtureDb { at, budget, spent: untrusted::Spent::default() })
    }

    /// A read-only connection, its objects checked before any query.
    pub fn open(&self, shown_as: &Path) -> Result<Connection, InputError> {
        let conn = match &self.at {
            DbAt::InPlace(p) => {
                let uri = thrum_io::uri::immutable(p)
                    .ok_or_else(|| InputError::db(shown_as, "path is not valid UTF-8"))?;
                untrusted::open(uri, true, shown_as, self.budget, &self.spent)?
            }
            DbAt::Copy(c) => untrusted::open(&c.path, false, shown_as, self.budget, &self.spent)?,
        };
        // No memory map: pages mapped by the three connections count in the
        // resident size (up to the map size each), and reads through the
        // page cache measured as fast on `large`.
        let _ = conn.pragma_update(None, "mmap_size", 0i64);
        Ok(conn)
    }

    /// Unusable input when a connection exceeded its work budget: what it
    /// reported before it was interrupted does not stand.
    pub fn settle(&self, shown_as: &Path) -> Result<(), InputError> {
        untrusted::settle(&self.spent, shown_as, self.budget)
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
    let resolved = input::resolve(path, input::Generation::V13)?;
    let path = resolved.as_path();
    let is_archive = std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && crate::extract::looks_like_archive(path);
    if is_archive {
        return verify_archive(path, opts);
    }
    let tree = input::open(path, &opts.limits)?;
    if tree.is_v5_layout() {
        return Err(InputError::V5Layout { path: path.to_path_buf() });
    }
    let report = verify_tree(&tree, opts)?.0;
    Ok((report, tree))
}

/// The event logs of a tree, read and replayed ahead of the other checks.
type Early = (Findings, Result<stream::Streamed, Stop>);

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

/// [`verify_path`] of an archive: extraction and the event logs overlap.
/// The tree returned keeps the extraction directory.
fn verify_archive(path: &Path, opts: &Options) -> Result<(Report, Tree), InputError> {
    let tmp = input::temp_dir("verify-")?;
    let base = tmp.path().to_path_buf();
    let thrum = base.join(".thrum");
    let abort = AtomicBool::new(false);
    let late = AtomicBool::new(false);
    let out = std::thread::scope(|s| -> Result<(Report, Tree), InputError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let extraction = s.spawn(|| {
            let mut ready = Some(ready_tx);
            crate::extract::unpack_with(path, &base, &opts.limits, &mut |p: &str| {
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
        });
        // the event files are complete when the extraction reaches var/
        let early = match ready_rx.recv() {
            Ok(()) if thrum.is_dir() => {
                Some(s.spawn(|| stream_tree(&thrum, &base, opts.mode, &abort)))
            }
            _ => None,
        };
        let stop = || abort.store(true, AtomicOrdering::Relaxed);
        let entries = match extraction.join() {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                stop();
                return Err(e.into());
            }
            Err(_) => {
                stop();
                return Err(InputError::Unreadable {
                    path: path.to_path_buf(),
                    reason: "extraction thread panicked".into(),
                });
            }
        };
        if !thrum.is_dir() {
            stop();
            return Err(InputError::NoThrumRoot { path: path.to_path_buf() });
        }
        let tree = Tree {
            thrum: thrum.clone(),
            base: base.clone(),
            archive: Some(path.to_path_buf()),
            entries: Some(entries),
            _tmp: None,
        };
        if tree.is_v5_layout() {
            stop();
            return Err(InputError::V5Layout { path: path.to_path_buf() });
        }
        let early = if late.load(AtomicOrdering::Relaxed) {
            stop();
            None
        } else {
            early
        };
        let early = move || -> Option<Early> {
            early.map(|h| h.join().unwrap_or_else(|_| (Findings::new(0), Err(Stop::Cancelled))))
        };
        let r = verify_tree_early(&tree, opts, early);
        stop();
        Ok((r?.0, tree))
    });
    let (report, mut tree) = out?;
    tree._tmp = Some(tmp);
    Ok((report, tree))
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
    let fixture_db = FixtureDb::prepare_with(&db_src, &wal)?;
    let db = fixture_db.open(&tree.shown("var/messages.db"))?;
    t.mark("open", &mut clock);

    // Schema, integrity and manifest checks need nothing from the replay:
    // they run on a second connection in a second thread. Their findings are
    // merged at a fixed point, so the report does not depend on timing.
    let out = std::thread::scope(
        |scope| -> Result<(Vec<TableStats>, Option<i64>, Timings), InputError> {
            let aux = scope.spawn(|| -> Result<AuxOutcome, InputError> {
                let db2 = fixture_db.open(&db_src)?;
                let mut f = Findings::new(0);
                let t0 = Instant::now();
                let (version, _) =
                    checks::check_db(&db2, thrum_schemas::SCHEMA_VERSION, opts.mode, &mut f);
                if opts.mode == Mode::Fixture {
                    checks::check_origin_daemon(&db2, &mut f);
                }
                let schema = t0.elapsed();
                let t1 = Instant::now();
                let manifest =
                    opts.check_manifest.then(|| manifest::check(tree, &db2, version, &mut f));
                Ok(AuxOutcome {
                    findings: f,
                    version,
                    manifest,
                    schema,
                    manifest_time: t1.elapsed(),
                })
            });

            checks::check_layout(tree, findings);
            let (listing, result) = match early() {
                Some(e) => e,
                None => stream_tree(&tree.thrum, &tree.base, opts.mode, &AtomicBool::new(false)),
            };
            let s = match result {
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
            findings.append(s.read_findings);
            t.mark("read_and_replay", &mut clock);
            // The comparison reads the replayed database; the other checks read
            // only the fixture's: a third thread, merged in order.
            let mut main_f = Findings::new(0);
            main_f.append(s.replay_findings);
            let (compared, side) = std::thread::scope(|inner| {
                let side =
                    inner.spawn(|| -> Result<(Vec<TableStats>, Findings, Duration), InputError> {
                        let t0 = Instant::now();
                        let db3 = fixture_db.open(&db_src)?;
                        let mut f = Findings::new(0);
                        let mut tables = Vec::new();
                        if opts.mode == Mode::Fixture {
                            tables.push(checks::check_event_log(&db3, &s.index, &mut f)?);
                        }
                        tables.extend(checks::check_local(&db3, &s.replay.cleaned_agents, &mut f));
                        checks::check_peers(tree, &db3, &mut f);
                        checks::check_identities(tree, &db3, &mut f);
                        checks::check_shards(tree, &db3, &s.index, &mut f);
                        Ok((tables, f, t0.elapsed()))
                    });
                let compared = compare::compare_projected(&db, &s.replay.conn, &mut main_f)
                    .map_err(|e| InputError::Unreadable {
                        path: tree.thrum.clone(),
                        reason: format!("reading the replayed database failed: {e}"),
                    });
                t.mark("compare", &mut clock);
                (compared, side.join())
            });
            let side = side.map_err(|_| InputError::Unreadable {
                path: tree.thrum.clone(),
                reason: "check thread panicked".into(),
            });
            let mut tables = compared?;
            let (side_tables, side_f, side_time) = side??;
            if opts.mode == Mode::Migrated {
                events_not_compared(&db, summary, findings);
            }
            t.mark("wait_checks", &mut clock);
            t.phases.push(("event_log + local_checks (parallel)", side_time));
            tables.extend(side_tables);
            findings.append(s.line_findings);
            findings.append(main_f);
            findings.append(side_f);
            let (files, events, rep) = (s.files, s.events as usize, s.replay);
            // a daemon that pulled events: what a rebuild in time order projects
            // otherwise, and where that rebuild (not the arrival order) stops
            let rebuild_abort = match &s.rebuild {
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
            if let Some(f) = crate::rebuild::report(rebuild_abort, &files, &tree.base)? {
                findings.push(f);
            }
            let aux = aux.join().map_err(|_| InputError::Unreadable {
                path: db_src.clone(),
                reason: "schema/manifest check thread panicked".into(),
            })??;
            t.mark("wait_parallel", &mut clock);
            t.phases.push(("schema_integrity (parallel)", aux.schema));
            t.phases.push(("manifest (parallel)", aux.manifest_time));
            findings.append(aux.findings);
            if let Some(m) = &aux.manifest {
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
            if opts.mode == Mode::Fixture {
                crate::crash::classify(tree, &db, &wal, findings);
            }
            add_summary(summary, &files, events, &rep, opts.mode);
            drop(rep);
            Ok((tables, aux.version, t))
        },
    );
    // an interrupted read proves nothing, whatever it reported
    fixture_db.settle(&tree.shown("var/messages.db"))?;
    out
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
