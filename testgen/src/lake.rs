//! A lake of Delta tables written by the slices of one run, then committed
//! without a copy.
//!
//! - `testgen --lake DIR [--shard I/N | --shards N]` ([`write_slice`]):
//!   the slice's Parquet parts go straight into the table directories under
//!   `DIR` (`DIR/<table>/[date=YYYY-MM-DD/]part-0000I.parquet`, names no
//!   other slice writes), each written in a temporary directory of the
//!   slice inside `DIR/_slices/` and moved into place by a rename that
//!   never replaces ([`thrum_io::place`]); then the slice's record,
//!   `DIR/_slices/slice-0000I-of-0000N.json` ([`SliceRecord`]). Nothing in
//!   `DIR` is ever deleted or replaced: a file already there with the same
//!   bytes is accepted (a retried slice is idempotent), with other bytes it
//!   is refused (exit 2). Slices may run at once on a shared filesystem.
//! - `testgen commit DIR` ([`commit`]): checks that the N records of one
//!   run are all there and agree, that every file they list exists with its
//!   size, and writes each table's version-0 Delta log
//!   ([`thrum_parquet::delta`]) from what the records say, not one data
//!   byte read or copied. An identical log already there is left as is; a
//!   different one, a missing slice or a missing file is refused (exit 2)
//!   before any log is written.

use crate::error::{IoContext, Result};
use crate::{parquet, progress, Error, Options, Phases, Report, GENERATOR};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thrum_gen::Plan;
use thrum_io::place::{self, PlaceError, Placed};
use thrum_io::text::{shown_name, shown_path};
use thrum_parquet::delta::{self, LogFile, LogParams, SLICES_DIR};
use thrum_schemas::catalogue::TABLES;

/// Prefix of slice I of N's temporary directory in `DIR/_slices/`: only
/// this slice's leftovers are ever collected there (the slices of other
/// hosts share the directory, and their processes look dead from here).
fn stage_prefix(i: u64, n: u64) -> String {
    format!(".slice-{i:05}-of-{n:05}-")
}
/// Largest slice record read.
const MAX_RECORD: u64 = 256 << 20;
/// Missing slices named in a refusal.
const NAMED: usize = 20;

/// `_slices/slice-0000I-of-0000N.json`.
pub fn record_path(i: u64, n: u64) -> String {
    format!("{SLICES_DIR}/slice-{i:05}-of-{n:05}.json")
}

/// (I, N) of a record's file name.
fn parse_record_name(name: &str) -> Option<(u64, u64)> {
    let (i, n) = name.strip_prefix("slice-")?.strip_suffix(".json")?.split_once("-of-")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(i) && digits(n)).then_some((i.parse().ok()?, n.parse().ok()?))
}

/// A Parquet file a slice placed in the lake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceFile {
    /// Relative to the lake, with `/` (`messages/date=2026-03-02/part-00003.parquet`).
    pub path: String,
    /// Its rows.
    pub rows: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its Delta statistics (the `stats` of its `add`).
    pub stats: String,
    /// Its table.
    pub table: String,
}

/// `DIR/_slices/slice-0000I-of-0000N.json`. Fields in key order: the JSON is canonical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceRecord {
    /// Every file of the slice, by path.
    pub files: Vec<SliceFile>,
    /// `testgen <version>`.
    pub generator: String,
    /// N.
    pub of: u64,
    /// The profile's name.
    pub profile: String,
    /// The run's identity: 16 hex digits of the SHA-256 of the generator,
    /// the seed and every volume of the profile (slices of other volumes
    /// under the same profile name differ here).
    pub run: String,
    /// The schema version.
    pub schema_version: i64,
    /// The seed.
    pub seed: u64,
    /// I (0-based).
    pub slice: u64,
    /// The plan's snapshot in milliseconds (the logs' fixed times).
    pub snapshot_ms: i64,
}

/// Why a lake or its slices were refused (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// What is in the lake may not be replaced or used.
    #[error("{path}: {reason}")]
    Refused {
        /// The path (escaped).
        path: String,
        /// Why.
        reason: String,
    },
    /// Slices of the run are not all there.
    #[error(
        "{lake}: {count} of the {of} slice records are missing: {list} (each slice writes {})",
        record_path(0, *.of).replace("00000-", "I-")
    )]
    Missing {
        /// The lake (escaped).
        lake: String,
        /// N.
        of: u64,
        /// How many are missing.
        count: u64,
        /// The first missing ones, as paths.
        list: String,
    },
}

fn refused(path: &Path, reason: impl Into<String>) -> Error {
    Error::Lake(Box::new(LakeError::Refused { path: shown_path(path), reason: reason.into() }))
}

fn placed(r: std::result::Result<Placed, PlaceError>, path: &Path) -> Result<Placed> {
    r.map_err(|e| match e {
        PlaceError::Io { op, path, source } => Error::Io { action: op, path, source },
        PlaceError::Differs { .. } => {
            refused(path, "already there with other bytes (it is never replaced)")
        }
        PlaceError::NotRegular { kind, .. } => refused(
            path,
            format!("already there as {kind}, not a regular file (it is never replaced)"),
        ),
    })
}

/// The run identity of a plan's slices.
fn run_id(plan: &Plan) -> String {
    let text = format!("{GENERATOR}\0{}\0{:?}", plan.seed, plan.profile);
    thrum_io::hash::sha256_hex(text.as_bytes())[..16].to_string()
}

/// The lake directory, created if absent; refused when it is something else.
fn lake_dir(lake: &Path, create: bool) -> Result<PathBuf> {
    match std::fs::symlink_metadata(lake) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            let what = thrum_io::regular::describe(lake).unwrap_or_default();
            return Err(refused(lake, format!("it is {what}, not a lake directory")));
        }
        Err(_) if create => std::fs::create_dir_all(lake).ctx("create directory", lake)?,
        Err(_) => return Err(refused(lake, "no such lake directory")),
    }
    Ok(lake.to_path_buf())
}

/// Reads a slice record (a regular file); the error says why not.
pub fn read_record(p: &Path) -> std::result::Result<SliceRecord, String> {
    let bytes =
        thrum_io::regular::read_regular_at_most(p, MAX_RECORD).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("it is not a slice record of testgen ({e})"))
}

/// A record found: its path, (I, N) of its name, its content.
type Found = (PathBuf, (u64, u64), SliceRecord);

/// The records in `DIR/_slices/` by file name (temporaries, dot-names, skipped).
fn records(lake: &Path) -> Result<Vec<Found>> {
    let dir = lake.join(SLICES_DIR);
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).ctx("read directory", &dir),
    };
    let mut names = Vec::new();
    for e in entries {
        names.push(e.ctx("read directory", &dir)?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    for name in names.into_iter().filter(|n| !n.starts_with('.')) {
        let p = dir.join(&name);
        let Some(index) = parse_record_name(&name) else {
            return Err(refused(&p, "not a slice record (slice-I-of-N.json)"));
        };
        let r = read_record(&p).map_err(|why| refused(&p, why))?;
        if (r.slice, r.of) != index || r.of == 0 || r.slice >= r.of {
            return Err(refused(&p, format!("it describes slice {} of {}", r.slice, r.of)));
        }
        out.push((p, index, r));
    }
    Ok(out)
}

/// The first field in which `r` is not of the same run as `first`.
fn disagreement(r: &SliceRecord, first: &SliceRecord) -> Option<String> {
    let fields = [
        ("run", r.run.clone(), first.run.clone()),
        ("seed", r.seed.to_string(), first.seed.to_string()),
        ("profile", r.profile.clone(), first.profile.clone()),
        ("generator", r.generator.clone(), first.generator.clone()),
        ("N (number of slices)", r.of.to_string(), first.of.to_string()),
        ("schema_version", r.schema_version.to_string(), first.schema_version.to_string()),
        ("snapshot_ms", r.snapshot_ms.to_string(), first.snapshot_ms.to_string()),
    ];
    let (field, a, b) = fields.into_iter().find(|(_, a, b)| a != b)?;
    Some(format!(
        "another run's slice: its {field} is {}, where {} is {}",
        shown_name(&a),
        shown_name(&first.run),
        shown_name(&b)
    ))
}

/// Writes slice `i` of `n` of `opts`' run into the lake `lake` (module docs).
pub fn write_slice(opts: &Options, lake: &Path, i: u64, n: u64) -> Result<Report> {
    if n == 0 || i >= n {
        return Err(Error::Usage(format!("--shard {i}/{n}: need 0 <= I < N")));
    }
    let lake = lake_dir(lake, true)?;
    let bars = progress::Bars::new(opts.progress);
    let mut ph = Phases::new();
    let plan = Plan::new(opts.seed, opts.profile.clone())?;
    let run = run_id(&plan);
    // slices of another run are refused before any work
    for (p, _, r) in records(&lake)? {
        if r.run != run || r.of != n {
            let why = if r.run != run {
                "it is a slice of another run (seed, profile or generator)"
            } else {
                "it is a slice of another N"
            };
            return Err(refused(&p, format!("{why}; a lake holds the slices of one run")));
        }
    }
    ph.done("plan");
    let slices = lake.join(SLICES_DIR);
    std::fs::create_dir_all(&slices).ctx("create directory", &slices)?;
    let prefix = stage_prefix(i, n);
    let _ = thrum_io::cleanup::collect_stale(&slices, &prefix);
    let stage = thrum_io::cleanup::temp_dir_in(&slices, &prefix)
        .ctx("create a temporary directory in", &slices)?;
    let pq_dir = stage.path().join("parquet");
    let written = std::thread::scope(|s| -> Result<_> {
        let parquet = crate::feed_rows(s, &plan, (i, n), |_| Ok(()), &pq_dir, &bars, opts.jobs)?;
        Ok(parquet()?.0)
    })?;
    ph.done("rows");
    let mut files = Vec::with_capacity(written.len());
    for h in written {
        let dest = lake.join(&h.file.rel_path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).ctx("create directory", parent)?;
        }
        placed(place::move_new(&pq_dir.join(&h.file.rel_path), &dest), &dest)?;
        let f = h.file;
        files.push(SliceFile {
            path: f.rel_path,
            rows: f.rows,
            sha256: h.entry.sha256,
            size: f.bytes,
            stats: f.stats,
            table: f.table.into(),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    ph.done("place");
    let record = SliceRecord {
        files,
        generator: GENERATOR.into(),
        of: n,
        profile: plan.profile.name.clone(),
        run,
        schema_version: thrum_schemas::SCHEMA_VERSION,
        seed: plan.seed,
        slice: i,
        snapshot_ms: parquet::log_params(&plan).time_ms,
    };
    let p = lake.join(record_path(i, n));
    let text =
        serde_json::to_string_pretty(&record).map_err(std::io::Error::other).ctx("encode", &p)?
            + "\n";
    placed(place::write_new(&p, text.as_bytes()), &p)?;
    stage.close().ctx("remove", &slices)?;
    ph.done("record");
    let range = thrum_gen::slice_messages(plan.profile.messages, i, n);
    let bytes = record.files.iter().map(|f| f.size).sum::<u64>() + text.len() as u64;
    Ok(Report {
        out: lake,
        table_counts: Vec::new(),
        total_events: 0,
        messages: range.end - range.start,
        files: record.files.len() as u64 + 1,
        phases: ph.list,
        bytes,
    })
}

/// What `testgen commit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReport {
    /// N: the slices committed.
    pub slices: u64,
    /// Tables whose log was written now.
    pub written: usize,
    /// Tables whose identical log was already there.
    pub present: usize,
    /// Data files the logs add.
    pub files: usize,
    /// Rows of those files.
    pub rows: u64,
    /// Bytes of those files (none copied).
    pub data_bytes: u64,
    /// Bytes of the logs.
    pub log_bytes: u64,
}

/// Commits the lake `lake`: writes each table's version-0 log from the
/// slice records (module docs).
pub fn commit(lake: &Path) -> Result<CommitReport> {
    let lake = lake_dir(lake, false)?;
    let found = records(&lake)?;
    let Some((first_path, _, first)) = found.first() else {
        return Err(refused(
            &lake.join(SLICES_DIR),
            "no slice record: write the slices with testgen --lake DIR first",
        ));
    };
    let mut by_index: BTreeMap<u64, &SliceRecord> = BTreeMap::new();
    for (p, (i, _), r) in &found {
        if let Some(why) = disagreement(r, first) {
            return Err(refused(p, format!("{why} ({})", shown_path(first_path))));
        }
        if by_index.insert(*i, r).is_some() {
            return Err(refused(p, format!("slice {i} has two records")));
        }
    }
    let n = first.of;
    if by_index.len() as u64 != n {
        let missing: Vec<String> = (0..n)
            .filter(|i| !by_index.contains_key(i))
            .take(NAMED)
            .map(|i| record_path(i, n))
            .collect();
        let count = n - by_index.len() as u64;
        let mut list = missing.join(", ");
        if count > missing.len() as u64 {
            list.push_str(&format!(", … ({count} in all)"));
        }
        return Err(Error::Lake(Box::new(LakeError::Missing {
            lake: shown_path(&lake),
            of: n,
            count,
            list,
        })));
    }
    let mut tables: BTreeMap<&str, Vec<LogFile>> =
        TABLES.iter().map(|t| (t.name, Vec::new())).collect();
    let mut owner: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut files, mut rows, mut data_bytes) = (0, 0, 0);
    for (i, r) in &by_index {
        for f in &r.files {
            let in_table = check_listed(&lake, *i, n, f)?;
            if let Some(prev) = owner.insert(&f.path, *i) {
                return Err(refused(
                    &lake.join(&f.path),
                    format!("listed by slices {prev} and {i}"),
                ));
            }
            let Some(list) = tables.get_mut(f.table.as_str()) else {
                return Err(refused(
                    &lake.join(&f.path),
                    format!("slice {i} lists it for an unknown table"),
                ));
            };
            list.push(LogFile { path: in_table, size: f.size, stats: f.stats.clone() });
            (files, rows, data_bytes) = (files + 1, rows + f.rows, data_bytes + f.size);
        }
    }
    let params = LogParams { seed: first.seed, time_ms: first.snapshot_ms };
    let mut logs = Vec::new();
    for t in TABLES {
        let mut list = tables.remove(t.name).unwrap_or_default();
        list.sort_by(|a, b| a.path.cmp(&b.path));
        logs.push((lake.join(delta::log_path(t.name)), delta::table_log(t, &list, params)));
    }
    // every existing log judged before one is written
    for (p, text) in &logs {
        judge_log(p, text)?;
    }
    let (mut written, mut present, mut log_bytes) = (0, 0, 0);
    for (p, text) in &logs {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).ctx("create directory", parent)?;
        }
        match placed(place::write_new(p, text.as_bytes()), p)? {
            Placed::New => written += 1,
            Placed::Same => present += 1,
        }
        log_bytes += text.len() as u64;
    }
    Ok(CommitReport { slices: n, written, present, files, rows, data_bytes, log_bytes })
}

/// Refuses a log already at `p` with other bytes than `text` (or not a file).
fn judge_log(p: &Path, text: &str) -> Result<()> {
    match thrum_io::regular::describe(p) {
        None => Ok(()),
        Some(_) => match thrum_io::regular::read_regular_at_most(p, text.len() as u64 + 1) {
            Ok(b) if b == text.as_bytes() => Ok(()),
            Ok(_) => Err(refused(
                p,
                "a Delta log with other content is already there (it is never replaced)",
            )),
            Err(e) => Err(refused(p, format!("a Delta log cannot be written there: {e}"))),
        },
    }
}

/// Checks a file a record lists: a plain path of its table's dataset, a
/// regular file of the recorded size. Returns its path in the table.
fn check_listed(lake: &Path, i: u64, n: u64, f: &SliceFile) -> Result<String> {
    let p = lake.join(&f.path);
    let plain = !f.path.contains('\0')
        && f.path.split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.starts_with('_'));
    let part = format!("/{}", thrum_parquet::part_file_name(i as u32));
    let in_table = f.path.strip_prefix(&f.table).and_then(|r| r.strip_prefix('/'));
    let Some(in_table) =
        in_table.filter(|_| plain && f.path.ends_with(&part) && u32::try_from(i).is_ok())
    else {
        let why = format!(
            "slice {i} of {n} lists it, but its files are \
            <table>/[date=YYYY-MM-DD/]part-{i:05}.parquet"
        );
        return Err(refused(&p, why));
    };
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_file() && m.len() == f.size => Ok(in_table.to_string()),
        Ok(m) if m.is_file() => Err(refused(
            &p,
            format!(
                "{} bytes, slice {i} recorded {} (changed after it was written)",
                m.len(),
                f.size
            ),
        )),
        Ok(_) => Err(refused(&p, format!("not a regular file (slice {i} wrote one)"))),
        Err(_) => Err(refused(&p, format!("missing: slice {i} of {n} wrote it"))),
    }
}
