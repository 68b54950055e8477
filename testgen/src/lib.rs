//! `testgen`: writes a complete, byte-reproducible Thrum fixture.
//!
//! All sinks consume one [`thrum_gen::Plan`]: the row pass (module `pass`)
//! derives every row and renders every JSONL line once, into batches that
//! the tree writer (SQLite + JSONL files) and the Parquet writer both read;
//! the archive compresses the tree while SQLite builds its indexes. Output
//! is staged beside the destination and swapped into place atomically
//! ([`thrum_io::publish`]).
//!
//! The public surface: [`generate`] and [`generate_shard`] with their
//! [`Options`], [`Report`] and [`Error`]; the artifact names ([`ARCHIVE`],
//! [`MANIFEST`], [`SUMS`], ...); [`run`] (the command line's policy: each
//! command's request, defaults and summary; the binary only parses and
//! prints); [`recognise`] (what testgen may replace);
//! [`mod@bench`] (the `testgen bench` subcommand); [`shard`] (slices of one
//! run for job arrays) and [`mod@merge`] (`testgen merge`, which assembles
//! them into one output); [`lake`] (slices written straight into one lake
//! of Delta tables, `--lake`, and `testgen commit`); and [`corrupt`], the chaos
//! catalogue of `testgen corrupt`, re-exported from `thrum-chaos`. Every
//! other module is private.

#![deny(missing_docs)]

mod archive;
pub mod bench;
pub mod contract;
pub mod crash;
mod error;
mod events;
pub mod lake;
mod manifest;
pub mod merge;
pub mod mesh;
mod parquet;
mod pass;
mod priority;
pub mod progress;
pub mod recognise;
pub mod run;
pub mod shard;
mod sqlite;
mod tree;
mod v5;

pub use archive::Compression;
pub use error::{Error, Result};
pub use shard::generate_shard;

use error::IoContext;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thrum_gen::{Plan, Profile};
use thrum_io::publish;
use thrum_schemas::catalogue::EVENTS;

/// File name of the v13 archive.
pub const ARCHIVE: &str = "thrum-fixture.tar.zst";
/// File name of the v13 manifest.
pub const MANIFEST: &str = "manifest.json";
/// File names of the v5-era fixture (input of `verify migrate`).
pub const ARCHIVE_V5: &str = "thrum-fixture-v5.tar.zst";
/// File name of the v13 archive with `--compression gzip`.
pub const ARCHIVE_GZ: &str = "thrum-fixture.tar.gz";
/// File name of the v5-era archive with `--compression gzip`.
pub const ARCHIVE_V5_GZ: &str = "thrum-fixture-v5.tar.gz";
/// File name of the v5-era manifest.
pub const MANIFEST_V5: &str = "manifest-v5.json";
/// File name of the checksums of every artifact (`sha256sum -c` format).
pub const SUMS: &str = "SHA256SUMS";
/// Up to this many messages the v5-era fixture is written by default.
pub const V5_DEFAULT_MAX_MESSAGES: u64 = 100_000;
/// Generator name and version as the manifest records it.
pub const GENERATOR: &str = concat!("testgen ", env!("CARGO_PKG_VERSION"));

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of every random choice.
    pub seed: u64,
    /// Volumes (a named profile, possibly with overrides).
    pub profile: Profile,
    /// Directory that receives the artifacts (replaced atomically, only
    /// when absent, empty or a previous output: see [`recognise`]).
    pub out: PathBuf,
    /// Also write the expanded tree as `TREE/.thrum`, with its ownership
    /// record `TREE/.thrum.testgen.json` ([`recognise::TREE`]).
    pub tree: Option<PathBuf>,
    /// Worker threads; never changes a byte.
    pub jobs: usize,
    /// Progress bars on stderr (only drawn on a terminal).
    pub progress: bool,
    /// Also write the v5-era fixture.
    pub v5: bool,
    /// Compression of the archives (their file names follow).
    pub compression: Compression,
}

impl Options {
    /// The default fixture (seed 42, default profile, one job, v5 too) into `out`.
    pub fn new(out: impl Into<PathBuf>) -> Options {
        Options {
            seed: 42,
            profile: Profile::default_profile(),
            out: out.into(),
            tree: None,
            jobs: 1,
            progress: false,
            v5: true,
            compression: Compression::Zstd,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where the artifacts are.
    pub out: PathBuf,
    /// Rows per table of the v13 database (none for a slice).
    pub table_counts: Vec<(String, u64)>,
    /// Lines of every JSONL file together (of the slice, for a slice).
    pub total_events: u64,
    /// Messages written (of the slice, for a slice).
    pub messages: u64,
    /// Files written (every artifact and, for a slice, every part and its
    /// shard manifest).
    pub files: u64,
    /// (phase, wall time).
    pub phases: Vec<(&'static str, Duration)>,
    /// Bytes of every artifact written.
    pub bytes: u64,
}

struct Phases {
    list: Vec<(&'static str, Duration)>,
    at: Instant,
}

impl Phases {
    fn new() -> Self {
        Phases { list: Vec::new(), at: Instant::now() }
    }
    /// Ends a phase at `at` (earlier than now). The benchmark's testing
    /// hook ([`bench::slow_phase_extra`]) may lengthen it by a sleep, which
    /// the next phase, begun at `at`, is not charged with.
    fn done_at(&mut self, name: &'static str, at: Instant) {
        let took = at - self.at;
        let extra = bench::slow_phase_extra(name, took);
        if !extra.is_zero() {
            std::thread::sleep(extra);
        }
        self.list.push((name, took + extra));
        self.at = at + extra;
    }
    fn done(&mut self, name: &'static str) {
        self.done_at(name, Instant::now());
    }
}

/// Path of the database inside the archive: the last file in path order,
/// so the rest of the tree is compressed while the database is finished.
const DB_REL: &str = ".thrum/var/messages.db";

/// The writer of the `.thrum/` tree's rows: every batch of the row pass
/// goes into the database, and the `events` rows' lines into the JSONL files.
struct TreeWriter<'d> {
    ins: sqlite::Inserter<'d>,
    jsonl: events::JsonlFiles,
    json_col: usize,
    tables_bar: progress::Bar,
    events_bar: progress::Bar,
    messages: u64,
    /// When the first `events` row arrived (end of the table phase).
    events_from: Option<Instant>,
}

impl<'d> TreeWriter<'d> {
    fn new(
        db: &'d sqlite::Db,
        plan: &Plan,
        thrum_dir: &Path,
        bars: &progress::Bars,
    ) -> Result<TreeWriter<'d>> {
        Ok(TreeWriter {
            ins: db.inserter()?,
            jsonl: events::JsonlFiles::create(plan, thrum_dir)?,
            json_col: EVENTS
                .column_index("event_json")
                .ok_or_else(|| Error::Aborted("catalogue: events has no event_json".into()))?,
            tables_bar: bars.bar("tables", plan.profile.messages, "messages"),
            events_bar: bars.bar("events", plan.total_events(), "lines"),
            messages: 0,
            events_from: None,
        })
    }

    fn push(&mut self, batch: &pass::Batch) -> Result<()> {
        let mut buf = Vec::with_capacity(16);
        let mut events = 0;
        batch.for_each(&mut buf, |row| -> Result<()> {
            if let Some(file) = row.file {
                if self.events_from.is_none() {
                    self.events_from = Some(Instant::now());
                    self.tables_bar.finish();
                }
                let line = row.cells[self.json_col]
                    .as_str()
                    .ok_or_else(|| Error::Aborted("events row without event_json".into()))?;
                self.jsonl.write(file, line)?;
                events += 1;
            }
            self.ins.insert_at(row.table_index, row.cells)
        })?;
        self.messages += batch.messages;
        if batch.messages > 0 {
            self.tables_bar.set(self.messages);
        }
        self.events_bar.inc(events);
        Ok(())
    }

    /// Flushes the JSONL files; returns the lines per file and when the
    /// events started.
    fn finish(self) -> Result<(events::LineCounts, Option<Instant>)> {
        self.tables_bar.finish();
        self.events_bar.finish();
        drop(self.ins);
        Ok((self.jsonl.finish()?, self.events_from))
    }
}

/// The Parquet datasets with their checksums and the writer's wall time,
/// once the writer is done.
type ParquetDone<'s> = Box<dyn FnOnce() -> Result<(Vec<parquet::Hashed>, Duration)> + 's>;

/// Creates the database of the tree after the tree's small files.
fn create_db(plan: &Plan, thrum_dir: &Path) -> Result<sqlite::Db> {
    tree::write_small_files(plan, thrum_dir, thrum_gen::Era::V13)?;
    sqlite::Db::create(&thrum_dir.join("var").join("messages.db"))
}

/// Runs slice `i` of `n` of the row pass ([`pass::run_slice`]; the whole
/// fixture is slice 0 of 1) into `rows` and the Parquet writer: with two or
/// more jobs on three threads (the pass, the Parquet writer, and `rows` on
/// the caller's thread), else inline. Returns the Parquet result (the
/// Parquet writer may still be finishing its last files).
fn feed_rows<'s, 'e: 's>(
    s: &'s std::thread::Scope<'s, 'e>,
    plan: &'e Plan,
    (i, n): (u64, u64),
    mut rows: impl FnMut(&pass::Batch) -> Result<()>,
    pq_dir: &'e Path,
    bars: &'e progress::Bars,
    jobs: usize,
) -> Result<ParquetDone<'s>> {
    let stopped = || Error::Aborted("the row pass stopped before the end".into());
    if jobs > 1 {
        let (mut fan, rxs) = pass::Fanout::new(2);
        let [tree_rx, pq_rx]: [_; 2] =
            rxs.try_into().map_err(|_| Error::Aborted("fan-out readers".into()))?;
        let producer = spawn(s, "rows", move || pass::run_slice(plan, i, n, &mut fan));
        let pq_writer = spawn(s, "parquet", move || -> Result<(Vec<parquet::Hashed>, Duration)> {
            let t0 = Instant::now();
            let bar = bars.bar("parquet", plan.profile.messages, "messages");
            let mut w = parquet::BatchWriter::create_part(pq_dir, i, n)?;
            for b in pq_rx.iter() {
                w.push(&b)?;
                bar.set(w.messages);
            }
            bar.finish();
            let step = bars.step("parquet", "closing the files");
            let files = w.finish()?;
            step.finish();
            Ok((files, t0.elapsed()))
        });
        let fed = tree_rx.iter().try_for_each(|b| rows(&b));
        // On an error the receiver must go before the join: that is what
        // stops a pass blocked on a full channel.
        drop(tree_rx);
        let produced = producer.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        fed?;
        if produced.is_err() {
            // the Parquet writer stopped: it says why
            pq_writer.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
            return Err(stopped());
        }
        Ok(Box::new(move || pq_writer.join().unwrap_or_else(|p| std::panic::resume_unwind(p))))
    } else {
        let t0 = Instant::now();
        let bar = bars.bar("parquet", plan.profile.messages, "messages");
        let mut pq = parquet::BatchWriter::create_part(pq_dir, i, n)?;
        let (mut tree_err, mut pq_err) = (None, None);
        let mut to_tree =
            |b: &pass::Batch| rows(b).map_err(|e| tree_err = Some(e)).map_err(|()| pass::Stopped);
        let mut to_pq =
            |b: &pass::Batch| pq.push(b).map_err(|e| pq_err = Some(e)).map_err(|()| pass::Stopped);
        let produced =
            pass::run_slice(plan, i, n, &mut pass::Inline::new(vec![&mut to_tree, &mut to_pq]));
        if let Some(e) = tree_err.or(pq_err) {
            return Err(e);
        }
        produced.map_err(|_| stopped())?;
        bar.set(pq.messages);
        bar.finish();
        let step = bars.step("parquet", "closing the files");
        let files = pq.finish()?;
        step.finish();
        Ok(Box::new(move || Ok((files, t0.elapsed()))))
    }
}

/// Row counts per table, the archive's files and the archive itself.
type Archived = (Vec<(String, u64)>, Vec<archive::FileEntry>, archive::FileEntry);

/// Finishes the database and archives the tree at the same time: every
/// file but the database is compressed while SQLite builds its indexes; the
/// database goes last, once it is closed, and is checked (integrity and
/// foreign keys, read-only) while it is being compressed. The database is
/// compressed in the `turn` of archives (see [`Stage::turn`]); when the
/// v5-era archive holds the turn, the check runs while waiting for it.
fn finish_and_archive(
    db: sqlite::Db,
    thrum_dir: &Path,
    archive_path: &Path,
    (mtime, workers, compression): (u64, usize, Compression),
    (ph, db_step, turn): (&mut Phases, &progress::Bar, &std::sync::Mutex<()>),
) -> Result<Archived> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let archiver = spawn(s, "archive", move || {
            // SQLite on this thread is the critical path until the database
            // is closed: the archive yields to it until then (see the Gate)
            archive::write_gated(
                thrum_dir,
                archive_path,
                mtime,
                workers,
                compression,
                Some(archive::Gate { rel: DB_REL, ready: rx }),
            )
        });
        let closed = db.close_unchecked();
        ph.done("db-finish");
        let check = || match &closed {
            Ok((_, check)) => check.run(),
            Err(_) => Ok(()),
        };
        // The database is checked while it is compressed; when the v5-era
        // archive holds the turn, it is checked while waiting for it.
        let mut checked = None;
        let my_turn = closed.is_ok().then(|| match turn.try_lock() {
            Ok(t) => t,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                checked = Some(check());
                turn.lock().unwrap_or_else(|p| p.into_inner())
            }
        });
        if my_turn.is_some() {
            let _ = tx.send(());
        }
        drop(tx);
        let checked = checked.unwrap_or_else(check);
        ph.done("db-check");
        db_step.finish();
        let archived = archiver.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        drop(my_turn);
        // A database failure explains an abandoned archive: report it first.
        let (counts, _) = closed?;
        checked?;
        let (files, whole) = archived?;
        Ok((counts, files, whole))
    })
}

/// Spawns a named scoped thread (the name shows in profilers and panics).
fn spawn<'s, 'e, T: Send + 's>(
    s: &'s std::thread::Scope<'s, 'e>,
    name: &str,
    f: impl FnOnce() -> T + Send + 's,
) -> std::thread::ScopedJoinHandle<'s, T> {
    match std::thread::Builder::new().name(name.to_string()).spawn_scoped(s, f) {
        Ok(h) => h,
        // the system refused a thread: fail as std::thread::scope's spawn does
        Err(e) => panic!("cannot spawn the {name} thread: {e}"),
    }
}

/// What `--out` must stay apart from (by device and inode, never by
/// text): the tree's `TREE/.thrum` and its record beside it. `TREE` itself
/// may hold `--out`.
fn tree_destinations(opts: &Options) -> Vec<thrum_io::Named> {
    let Some(tree) = &opts.tree else { return Vec::new() };
    vec![
        thrum_io::Named::new(recognise::TREE.flag, tree.join(".thrum")),
        thrum_io::Named::new("the record of --tree", tree.join(recognise::TREE_RECORD)),
    ]
}

/// `--out` must not be, hold or lie in `TREE/.thrum` (publishing one
/// would replace or fill the other).
fn check_tree(opts: &Options) -> Result<()> {
    let out = thrum_io::Named::new(recognise::ARTIFACTS.flag, &opts.out);
    thrum_io::apart(&out, &tree_destinations(opts)).map_err(|e| Error::Publish(e.into()))
}

/// Refuses, before any work, destinations that may not be replaced
/// ([`publish::check`]); they are checked again right before the swap.
fn check_destinations(opts: &Options) -> Result<()> {
    publish::check(&opts.out, &recognise::ARTIFACTS)?;
    if let Some(tree) = &opts.tree {
        publish::check(&tree.join(".thrum"), &recognise::TREE)?;
        recognise::check_tree_record(tree)?;
    }
    Ok(())
}

/// Generates every artifact into `opts.out`, atomically.
pub fn generate(opts: &Options) -> Result<Report> {
    check_tree(opts)?;
    check_destinations(opts)?;
    let bars = progress::Bars::new(opts.progress);
    let mut ph = Phases::new();
    let plan = Plan::new(opts.seed, opts.profile.clone())?;
    ph.done("plan");
    let staging =
        publish::Staging::apart_from(&opts.out, recognise::ARTIFACTS, &tree_destinations(opts))?;
    let st = Stage {
        opts,
        plan: &plan,
        bars: &bars,
        dir: &staging.dir,
        mtime: (plan.snapshot / 1_000_000) as u64,
        known: std::sync::Mutex::new(Vec::new()),
        turn: std::sync::Mutex::new(()),
    };
    let thrum_dir = st.dir.join(".stage").join(".thrum");
    std::fs::create_dir_all(&thrum_dir).ctx("create directory", &thrum_dir)?;
    let built = build(&st, &thrum_dir, &mut ph)?;
    // Time spent waiting for the side tasks after the v13 archive.
    ph.done("wait");
    let closing = bars.step("output", "writing the manifests and SHA256SUMS, publishing");
    ph.list.push(("parquet-total", built.parquet.1));
    add_datasets(&st, &built.parquet.0, &built.schema_files)?;
    if let Some(t) = built.v5_time {
        ph.list.push(("v5-total", t));
    }
    if let Some(tree_dir) = &opts.tree {
        publish_tree(opts, tree_dir, &thrum_dir)?;
    }
    let stage_root = st.dir.join(".stage");
    thrum_io::tree::remove_dir_all(&stage_root).ctx("remove", &stage_root)?;
    let known = st.known.into_inner().unwrap_or_else(|p| p.into_inner());
    let (bytes, files) = manifest::write_sums_counted(&staging.dir, &known)?;
    ph.done("manifest");
    staging.publish()?;
    ph.done("publish");
    closing.finish();
    Ok(Report {
        out: opts.out.clone(),
        table_counts: built.table_counts,
        total_events: plan.total_events(),
        messages: plan.profile.messages,
        files,
        phases: ph.list,
        bytes,
    })
}

/// One run of [`generate`]: what it writes and where it stages it.
struct Stage<'a> {
    opts: &'a Options,
    plan: &'a Plan,
    bars: &'a progress::Bars,
    /// The staging directory of the artifacts.
    dir: &'a Path,
    /// Modification time of every archive entry (the plan's snapshot).
    mtime: u64,
    /// Checksums computed while writing the artifacts, reused by SHA256SUMS.
    known: std::sync::Mutex<Vec<archive::FileEntry>>,
    /// Held by the archive that compresses its bulk (the v5-era archive,
    /// the v13 database): one at a time, so that their buffers (each
    /// zstd's input ring, up to 32 MiB) never add up in the peak memory.
    turn: std::sync::Mutex<()>,
}

impl Stage<'_> {
    fn record(&self, entries: impl IntoIterator<Item = archive::FileEntry>) {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).extend(entries);
    }
}

/// What [`build`] made: the v13 database's row counts, the wall time of
/// the v5-era fixture (when written), the Parquet datasets with the
/// writer's wall time, and the schema files.
struct Built {
    table_counts: Vec<(String, u64)>,
    v5_time: Option<Duration>,
    parquet: (Vec<parquet::Hashed>, Duration),
    schema_files: Vec<archive::FileEntry>,
}

/// Builds the v13 tree (archived, with its manifest), the v5-era fixture
/// and the Parquet datasets: independent outputs of the same plan, built
/// side by side with two or more jobs (the v13 tree on this thread).
fn build(st: &Stage, thrum_dir: &Path, ph: &mut Phases) -> Result<Built> {
    let opts = st.opts;
    let pq_dir = st.dir.join(parquet::DIR);
    let parallel_v5 = opts.v5 && opts.jobs > 1;
    std::thread::scope(|s| -> Result<_> {
        let v5_handle = parallel_v5.then(|| spawn(s, "v5", || write_v5(st)));
        let db = create_db(st.plan, thrum_dir)?;
        ph.done("files");
        let rows_from = Instant::now();
        let mut tree = TreeWriter::new(&db, st.plan, thrum_dir, st.bars)?;
        let parquet = feed_rows(s, st.plan, (0, 1), |b| tree.push(b), &pq_dir, st.bars, opts.jobs)?;
        let (lines, events_from) = tree.finish()?;
        ph.done_at("tables", events_from.unwrap_or(rows_from).max(rows_from));
        ph.done("events");
        let table_counts = archive_v13(st, db, thrum_dir, lines, ph)?;
        let schema_files = contract::write(st.dir, &thrum_dir.join("var").join("messages.db"))?;
        st.record(schema_files.iter().cloned());
        let v5_time = match v5_handle {
            Some(h) => Some(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?),
            None if opts.v5 => Some(write_v5(st)?),
            None => None,
        };
        Ok(Built { table_counts, v5_time, parquet: parquet()?, schema_files })
    })
}

/// Finishes the v13 database while archiving the tree
/// ([`finish_and_archive`]) and writes the archive's manifest; returns
/// the row counts per table.
fn archive_v13(
    st: &Stage,
    db: sqlite::Db,
    thrum_dir: &Path,
    lines: events::LineCounts,
    ph: &mut Phases,
) -> Result<Vec<(String, u64)>> {
    let steps = [
        st.bars.step("database", "building the indexes, checking"),
        st.bars.step("archive", "compressing the tree"),
    ];
    let c = st.opts.compression;
    let archive = st.dir.join(archive::archive_name(c));
    // zstd's workers (the bytes do not depend on their number): as many as
    // jobs, so that the database, compressed at the end of the run, has
    // every core (the turn keeps the v5-era archive's buffers apart)
    let workers = st.opts.jobs;
    let (table_counts, files, whole) = finish_and_archive(
        db,
        thrum_dir,
        &archive,
        (st.mtime, workers, c),
        (ph, &steps[0], &st.turn),
    )?;
    steps[1].finish();
    ph.done("archive");
    let file_counts = lines.iter().map(|(k, v)| (format!(".thrum/{k}"), *v)).collect();
    let spec = ManifestSpec {
        archive_name: archive::archive_name(c),
        manifest_name: MANIFEST,
        schema_version: thrum_schemas::SCHEMA_VERSION,
        table_counts: &table_counts,
        file_counts,
    };
    write_manifest(st, spec, files, whole)?;
    Ok(table_counts)
}

/// Writes, archives and removes the v5-era tree, and writes its manifest;
/// returns the wall time it took.
fn write_v5(st: &Stage) -> Result<Duration> {
    let t0 = Instant::now();
    let v5_stage = st.dir.join(".stage-v5");
    let v5_root = v5_stage.join(".thrum");
    std::fs::create_dir_all(&v5_root).ctx("create directory", &v5_root)?;
    let bar = st.bars.bar("v5", st.plan.total_events(), "events");
    let (counts, lines) = v5::write_tree(st.plan, &v5_root, |n| bar.inc(n))?;
    bar.finish();
    let step = st.bars.step("v5", "archiving the v5-era tree");
    let file_counts = [(".thrum/messages.jsonl".to_string(), lines)].into_iter().collect();
    let spec = ManifestSpec {
        archive_name: archive::archive_v5_name(st.opts.compression),
        manifest_name: MANIFEST_V5,
        schema_version: thrum_schemas::LEGACY_SCHEMA_VERSION,
        table_counts: &counts,
        file_counts,
    };
    let dest = st.dir.join(spec.archive_name);
    let turn = st.turn.lock().unwrap_or_else(|p| p.into_inner());
    // as many zstd workers as jobs (the bytes do not depend on their number):
    // the v13 database waits for this archive's turn when it is ready first
    let (files, whole) =
        archive::write(&v5_root, &dest, st.mtime, st.opts.jobs, st.opts.compression)?;
    drop(turn);
    write_manifest(st, spec, files, whole)?;
    thrum_io::tree::remove_dir_all(&v5_stage).ctx("remove", &v5_stage)?;
    step.finish();
    Ok(t0.elapsed())
}

/// Writes the Parquet datasets' Delta logs and adds the datasets, their
/// logs and the schema files to the manifest and to the known checksums.
fn add_datasets(
    st: &Stage,
    parquet_files: &[parquet::Hashed],
    schema_files: &[archive::FileEntry],
) -> Result<()> {
    let pq_dir = st.dir.join(parquet::DIR);
    let logs = parquet::write_logs(&pq_dir, parquet_files, st.plan)?;
    let manifest = st.dir.join(MANIFEST);
    manifest::add_parquet(&manifest, parquet_files)?;
    manifest::add_delta(&manifest, &logs)?;
    st.record(logs.iter().map(manifest::DeltaEntry::file));
    manifest::add_schema(&manifest, schema_files)?;
    st.record(parquet_files.iter().map(|h| h.entry.clone()));
    Ok(())
}

/// Publishes the staged tree `thrum_dir` as `TREE/.thrum` with its
/// ownership record.
///
/// Staged and swapped like the artifacts; temporaries of killed runs are
/// removed by the next one. The ownership record beside it is replaced
/// after the swap (the previous record is what identifies the tree the
/// swap moved aside); a run stopped in between leaves the previous record,
/// which the next run finds does not describe this tree (unless it has the
/// same files and sizes), so it refuses.
fn publish_tree(opts: &Options, tree_dir: &Path, thrum_dir: &Path) -> Result<()> {
    let out = [thrum_io::Named::new(recognise::ARTIFACTS.flag, &opts.out)];
    let tree = publish::Staging::apart_from(&tree_dir.join(".thrum"), recognise::TREE, &out)?;
    std::fs::remove_dir(&tree.dir).ctx("prepare", &tree.dir)?;
    if std::fs::rename(thrum_dir, &tree.dir).is_err() {
        thrum_io::tree::copy_tree(thrum_dir, &tree.dir)?;
    }
    let record = recognise::new_record(
        recognise::KIND_TREE,
        recognise::file_sizes(&tree.dir).ctx("read", &tree.dir)?,
    );
    recognise::check_tree_record(tree_dir)?;
    tree.publish()?;
    recognise::write_tree_record(tree_dir, &record)
        .ctx("write", tree_dir.join(recognise::TREE_RECORD))
}

/// What an archive's manifest says besides the archive's files.
struct ManifestSpec<'a> {
    archive_name: &'a str,
    manifest_name: &'a str,
    schema_version: i64,
    /// Rows per table.
    table_counts: &'a [(String, u64)],
    /// Lines per JSONL file.
    file_counts: std::collections::BTreeMap<String, u64>,
}

/// Writes the manifest of an archive and records the archive's checksum.
fn write_manifest(
    st: &Stage,
    spec: ManifestSpec,
    files: Vec<archive::FileEntry>,
    whole: archive::FileEntry,
) -> Result<()> {
    let (sha256, size) = (whole.sha256.clone(), whole.size);
    st.record([whole]);
    let plan = st.plan;
    let m = manifest::Manifest {
        archive: manifest::ArchiveRef { path: spec.archive_name.into(), sha256, size },
        counts: manifest::Counts {
            files: spec.file_counts,
            messages_per_day: plan.messages_per_day(0..plan.profile.messages),
            tables: spec.table_counts.iter().cloned().collect(),
        },
        files,
        generator: GENERATOR.into(),
        profile: plan.profile.name.clone(),
        schema_version: spec.schema_version,
        seed: plan.seed,
    };
    manifest::write_json(&st.dir.join(spec.manifest_name), &m)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_chaos_catalogue_looks_for_the_archive_testgen_writes() {
        assert_eq!(thrum_chaos::FIXTURE_ARCHIVE, super::ARCHIVE);
    }
}
