//! `--shard I/N`: slice `I` of `N` of the row pass ([`crate::pass::run_slice`])
//! written into the JSONL and Parquet sinks (no SQLite, no archive), so a
//! job array can produce a dataset too large for one machine and
//! `testgen merge` ([`crate::merge`]) can assemble the slices.
//!
//! Every file a slice writes has a name no other slice writes, so slice
//! outputs can be copied into one directory without overwriting each other:
//! - `jsonl/part-0000I/events.jsonl` and `jsonl/part-0000I/messages/{name}.jsonl`:
//!   the slice's lines of each file (the slices' parts concatenated in
//!   order are the unsharded file); a file the slice has no line of is not
//!   written;
//! - `parquet/{table}/[date=YYYY-MM-DD/]part-0000I.parquet`: its rows of each
//!   table (the tables that are not split by message belong to slice 0; a
//!   slice with no row of a day-partitioned table writes nothing there);
//! - `shards/shard-0000I-of-0000N.json` ([`ShardManifest`]): seed, profile,
//!   generator, and every file above with its rows, size and SHA-256.

use crate::error::{IoContext, Result};
use crate::{
    events, parquet, pass, progress, recognise, Error, Options, Phases, Report, GENERATOR,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use thrum_gen::Plan;
use thrum_io::publish;
use thrum_schemas::catalogue::EVENTS;

/// Directory of the per-slice manifests.
pub const SHARDS_DIR: &str = "shards";
/// Directory of the slices' JSONL parts.
pub const JSONL_DIR: &str = "jsonl";

/// `shards/shard-0000I-of-0000N.json`.
pub fn manifest_path(i: u64, n: u64) -> String {
    format!("{SHARDS_DIR}/shard-{i:05}-of-{n:05}.json")
}

/// `jsonl/part-0000I`: the directory of slice `i`'s JSONL parts.
pub fn jsonl_part_dir(i: u64) -> String {
    format!("{JSONL_DIR}/part-{i:05}")
}

/// (I, N) of a manifest file name `shard-I-of-N.json`.
pub fn parse_manifest_name(name: &str) -> Option<(u64, u64)> {
    let (i, n) = name.strip_prefix("shard-")?.strip_suffix(".json")?.split_once("-of-")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(i) || !digits(n) {
        return None;
    }
    Some((i.parse().ok()?, n.parse().ok()?))
}

/// One file a slice wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardFile {
    /// Relative to the slice's output directory, with `/`.
    pub path: String,
    /// Lines (JSONL) or rows (Parquet).
    pub rows: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The Delta statistics of a Parquet file (the `stats` of its `add`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// The table of a Parquet file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

/// `shards/shard-0000I-of-0000N.json`. Fields are declared in key order
/// so the JSON is canonical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardManifest {
    /// Every data file of the slice, JSONL parts first, in path order.
    pub files: Vec<ShardFile>,
    /// `testgen <version>`.
    pub generator: String,
    /// Lines per JSONL file, by the file's path in a merged output (`.thrum/...`).
    pub lines: BTreeMap<String, u64>,
    /// The slice's messages, `[first, end)` by message index.
    pub messages: [u64; 2],
    /// N.
    pub of: u64,
    /// The profile of the run.
    pub profile: String,
    /// The schema version of the run.
    pub schema_version: i64,
    /// The seed of the run.
    pub seed: u64,
    /// I (0-based).
    pub shard: u64,
    /// The plan's snapshot in milliseconds: the fixed times of the Delta
    /// logs `testgen merge` writes.
    pub snapshot_ms: i64,
}

/// Environment variables job runners give an array task's index in, in the
/// order they are read (the first that is set is used).
pub const INDEX_VARS: [&str; 3] =
    ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX"];

/// The slice index of `--shards N` from a job runner's environment (`var`
/// reads one variable): `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job),
/// else `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` (Slurm), else
/// `AWS_BATCH_JOB_ARRAY_INDEX` (AWS Batch). Refused ([`Error::Usage`]) when
/// none is set, a value is not a number, or the index is not below `n`.
pub fn index_from_env(n: u64, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<u64> {
    let usage = |m: String| Error::Usage(format!("--shards {n}: {m}"));
    let number = |name: &str, v: std::ffi::OsString| -> Result<u64> {
        let text = v.to_string_lossy().into_owned();
        // Debug quotes and escapes the value (control characters included)
        text.parse::<u64>()
            .map_err(|_| usage(format!("{name}={text:?} is not a job index (a number from 0)")))
    };
    let (index, from) = if let Some(v) = var(INDEX_VARS[0]) {
        (number(INDEX_VARS[0], v)?, INDEX_VARS[0].to_string())
    } else if let Some(v) = var(INDEX_VARS[1]) {
        let id = number(INDEX_VARS[1], v)?;
        let min = match var("SLURM_ARRAY_TASK_MIN") {
            Some(m) => number("SLURM_ARRAY_TASK_MIN", m)?,
            None => {
                return Err(usage(
                    "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not".into(),
                ))
            }
        };
        let index = id.checked_sub(min).ok_or_else(|| {
            usage(format!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"))
        })?;
        (index, format!("SLURM_ARRAY_TASK_ID={id} minus SLURM_ARRAY_TASK_MIN={min}"))
    } else if let Some(v) = var(INDEX_VARS[2]) {
        (number(INDEX_VARS[2], v)?, INDEX_VARS[2].to_string())
    } else {
        return Err(usage(format!(
            "no job index in the environment (set {}, SLURM_ARRAY_TASK_ID with \
                SLURM_ARRAY_TASK_MIN, or {}), or give the slice with --shard I/N",
            INDEX_VARS[0], INDEX_VARS[2]
        )));
    };
    if index >= n {
        return Err(usage(format!(
            "index {index} (from {from}) is out of range: need 0 <= index < {n}"
        )));
    }
    Ok(index)
}

/// Writes slice `i` of `n` into `opts.out` (replaced atomically, as a whole
/// run's output is): the layout in the [module docs](self). Slices are
/// independent, so any job runner can produce them.
pub fn generate_shard(opts: &Options, i: u64, n: u64) -> Result<Report> {
    if n == 0 || i >= n {
        return Err(Error::Usage(format!("--shard {i}/{n}: need 0 <= I < N")));
    }
    // a slice writes no tree: only --out is checked
    publish::check(&opts.out, &recognise::ARTIFACTS)?;
    let bars = progress::Bars::new(opts.progress);
    let mut ph = Phases::new();
    let plan = Plan::new(opts.seed, opts.profile.clone())?;
    ph.done("plan");
    let staging = publish::Staging::new(&opts.out, recognise::ARTIFACTS)?;
    let jsonl_rel = jsonl_part_dir(i);
    let jsonl_dir = staging.dir.join(&jsonl_rel);
    std::fs::create_dir_all(jsonl_dir.join("messages"))
        .ctx("create directory", jsonl_dir.join("messages"))?;
    let pq_dir = staging.dir.join(parquet::DIR);
    let json_col = EVENTS
        .column_index("event_json")
        .ok_or_else(|| Error::Aborted("catalogue: events has no event_json".into()))?;
    let bar = bars.bar("events", plan.total_events() / n, "lines");
    let (lines, parquet_files) = std::thread::scope(|s| -> Result<_> {
        let mut files = events::JsonlFiles::create(&plan, &jsonl_dir)?;
        let to_jsonl = |b: &pass::Batch| -> Result<()> {
            let mut buf = Vec::with_capacity(16);
            let mut k = 0;
            b.for_each(&mut buf, |row| -> Result<()> {
                let Some(file) = row.file else { return Ok(()) };
                let line = row.cells[json_col]
                    .as_str()
                    .ok_or_else(|| Error::Aborted("events row without event_json".into()))?;
                k += 1;
                files.write(file, line)
            })?;
            bar.inc(k);
            Ok(())
        };
        let parquet = crate::feed_rows(s, &plan, (i, n), to_jsonl, &pq_dir, &bars, opts.jobs)?;
        let lines = files.finish()?;
        bar.finish();
        Ok((lines, parquet()?.0))
    })?;
    ph.done("rows");
    // nothing outside the layout: no empty part of events.jsonl, no empty directories
    if !lines.contains_key("events.jsonl") {
        let p = jsonl_dir.join("events.jsonl");
        std::fs::remove_file(&p).ctx("remove", &p)?;
    }
    for d in [jsonl_dir.join("messages"), jsonl_dir.clone(), staging.dir.join(JSONL_DIR), pq_dir] {
        remove_if_empty(&d)?;
    }
    let files = shard_files(&jsonl_dir, &jsonl_rel, &lines, parquet_files)?;
    let range = thrum_gen::slice_messages(plan.profile.messages, i, n);
    let total_events = lines.values().sum();
    let m = ShardManifest {
        generator: GENERATOR.into(),
        lines: lines.into_iter().map(|(k, v)| (format!(".thrum/{k}"), v)).collect(),
        messages: [range.start, range.end],
        of: n,
        profile: plan.profile.name.clone(),
        schema_version: thrum_schemas::SCHEMA_VERSION,
        seed: plan.seed,
        shard: i,
        snapshot_ms: parquet::log_params(&plan).time_ms,
        files,
    };
    let p = staging.dir.join(manifest_path(i, n));
    std::fs::create_dir_all(staging.dir.join(SHARDS_DIR))
        .ctx("create directory", staging.dir.join(SHARDS_DIR))?;
    let text =
        serde_json::to_string_pretty(&m).map_err(std::io::Error::other).ctx("encode", &p)? + "\n";
    std::fs::write(&p, &text).ctx("write", &p)?;
    let bytes = m.files.iter().map(|f| f.size).sum::<u64>() + text.len() as u64;
    ph.done("manifest");
    staging.publish()?;
    ph.done("publish");
    Ok(Report {
        out: opts.out.clone(),
        table_counts: Vec::new(),
        total_events,
        messages: m.messages[1] - m.messages[0],
        files: m.files.len() as u64 + 1,
        phases: ph.list,
        bytes,
    })
}

/// Every file of a slice, by path: its JSONL files (in `jsonl_dir`,
/// `jsonl_rel` in the output; `lines` per file) and its Parquet files.
fn shard_files(
    jsonl_dir: &Path,
    jsonl_rel: &str,
    lines: &BTreeMap<String, u64>,
    parquet_files: Vec<parquet::Hashed>,
) -> Result<Vec<ShardFile>> {
    let mut files = Vec::new();
    for (rel, &rows) in lines {
        let (sha256, size) = crate::archive::hash_file(&jsonl_dir.join(rel))?;
        files.push(ShardFile {
            path: format!("{jsonl_rel}/{rel}"),
            rows,
            sha256,
            size,
            stats: None,
            table: None,
        });
    }
    for h in parquet_files {
        files.push(ShardFile {
            path: h.entry.path,
            rows: h.file.rows,
            sha256: h.entry.sha256,
            size: h.entry.size,
            stats: Some(h.file.stats.clone()),
            table: Some(h.file.table.to_string()),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Removes `dir` when it is an empty directory.
fn remove_if_empty(dir: &Path) -> Result<()> {
    let empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(_) => false,
    };
    if empty {
        std::fs::remove_dir(dir).ctx("remove", dir)?;
    }
    Ok(())
}

/// The shard manifest directly in `dir/shards/` when it is the only file
/// there and names testgen as its generator (the recogniser of a slice's
/// output, [`recognise::artifacts`]).
pub fn only_manifest(dir: &Path) -> Option<(String, ShardManifest)> {
    let shards = dir.join(SHARDS_DIR);
    let mut names = Vec::new();
    for e in std::fs::read_dir(&shards).ok()? {
        names.push(e.ok()?.file_name().to_string_lossy().into_owned());
        if names.len() > 1 {
            return None;
        }
    }
    let name = names.pop()?;
    parse_manifest_name(&name)?;
    let rel = format!("{SHARDS_DIR}/{name}");
    let m = read_manifest(&dir.join(&rel)).ok()?;
    (m.generator == "testgen" || m.generator.starts_with("testgen ")).then_some((rel, m))
}

/// Largest shard manifest read.
const MAX_MANIFEST: u64 = 256 << 20;

/// Reads and parses a shard manifest (a regular file, not a link); the
/// error says why not.
pub fn read_manifest(p: &Path) -> std::result::Result<ShardManifest, String> {
    use std::io::Read;
    let meta = std::fs::symlink_metadata(p).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.len() > MAX_MANIFEST {
        return Err(format!(
            "it has {} bytes, more than a shard manifest ({MAX_MANIFEST})",
            meta.len()
        ));
    }
    let mut s = String::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(MAX_MANIFEST).read_to_string(&mut s))
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&s).map_err(|e| format!("it is not a shard manifest of testgen ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
    }

    fn refusal(n: u64, vars: &[(&str, &str)]) -> String {
        match index_from_env(n, env(vars)) {
            Err(Error::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn the_first_job_index_that_is_set_is_used() {
        assert_eq!(
            index_from_env(
                4,
                env(&[
                    ("JOB_COMPLETION_INDEX", "3"),
                    ("SLURM_ARRAY_TASK_ID", "1"),
                    ("SLURM_ARRAY_TASK_MIN", "0")
                ])
            )
            .unwrap(),
            3
        );
        assert_eq!(
            index_from_env(
                4,
                env(&[
                    ("SLURM_ARRAY_TASK_ID", "12"),
                    ("SLURM_ARRAY_TASK_MIN", "10"),
                    ("AWS_BATCH_JOB_ARRAY_INDEX", "0")
                ])
            )
            .unwrap(),
            2
        );
        assert_eq!(index_from_env(4, env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "0")])).unwrap(), 0);
    }

    #[test]
    fn a_missing_unreadable_or_out_of_range_index_is_refused() {
        assert!(refusal(4, &[])
            .starts_with("--shards 4: no job index in the environment (set JOB_COMPLETION_INDEX,"));
        assert_eq!(
            refusal(4, &[("JOB_COMPLETION_INDEX", "4")]),
            "--shards 4: index 4 (from JOB_COMPLETION_INDEX) is out of range: need 0 <= index < 4"
        );
        assert_eq!(
            refusal(4, &[("JOB_COMPLETION_INDEX", "x\u{1b}")]),
            "--shards 4: JOB_COMPLETION_INDEX=\"x\\u{1b}\" is not a job index (a number from 0)"
        );
        assert_eq!(
            refusal(4, &[("JOB_COMPLETION_INDEX", "-1")]),
            "--shards 4: JOB_COMPLETION_INDEX=\"-1\" is not a job index (a number from 0)"
        );
        assert_eq!(
            refusal(4, &[("SLURM_ARRAY_TASK_ID", "3")]),
            "--shards 4: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not"
        );
        assert_eq!(
            refusal(4, &[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "5")]),
            "--shards 4: SLURM_ARRAY_TASK_ID=3 is below SLURM_ARRAY_TASK_MIN=5"
        );
        assert_eq!(
            refusal(2, &[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5")]),
            "--shards 2: index 2 (from SLURM_ARRAY_TASK_ID=7 minus SLURM_ARRAY_TASK_MIN=5) is out \
                of range: need 0 <= index < 2"
        );
        assert_eq!(
            refusal(2, &[("AWS_BATCH_JOB_ARRAY_INDEX", "")]),
            "--shards 2: AWS_BATCH_JOB_ARRAY_INDEX=\"\" is not a job index (a number from 0)"
        );
    }

    #[test]
    fn manifest_names() {
        assert_eq!(manifest_path(3, 8), "shards/shard-00003-of-00008.json");
        assert_eq!(parse_manifest_name("shard-00003-of-00008.json"), Some((3, 8)));
        assert_eq!(parse_manifest_name("shard-3-of-8.json"), Some((3, 8)));
        for bad in [
            "shard-00003-of-00008.jsonx",
            "shard--of-8.json",
            "shard-+3-of-8.json",
            "x-3-of-8.json",
        ] {
            assert_eq!(parse_manifest_name(bad), None, "{bad}");
        }
    }
}
