//! `testgen merge --out DIR SHARD_DIR...`: assembles the outputs of the N
//! slices of one run ([`crate::shard`]) into one output.
//!
//! It reads every shard manifest (`shards/shard-*-of-*.json`) below the
//! given directories (a directory may hold several slices, copied
//! together), and refuses, before writing anything, unless all N slices of
//! the same seed, profile, schema and generator version are there exactly
//! once. It then builds the output beside `DIR` (refused like every output
//! of testgen when `DIR` holds anything but a previous output,
//! [`crate::recognise::ARTIFACTS`]) and swaps it into place:
//! - `.thrum/events.jsonl`, `.thrum/messages/{name}.jsonl`: the slices'
//!   parts concatenated in slice order (byte-identical to the unsharded run's);
//! - `parquet/...`: every slice's Parquet files, copied (or hard-linked with
//!   `--link`); the inputs are never moved or changed;
//! - `parquet/<table>/_delta_log/00000000000000000000.json`: each dataset's
//!   Delta log, from the files and statistics the manifests list
//!   ([`thrum_parquet::delta`]);
//! - `manifest.json` ([`MergedManifest`]) and `SHA256SUMS`.
//!
//! Every input file is checked against its manifest (size, SHA-256, and
//! lines for JSONL) while it is copied; a mismatch stops the merge and
//! names the slice and the file.

use crate::error::{IoContext, Result};
use crate::manifest::ParquetEntry;
use crate::shard::{self, ShardManifest};
use crate::{archive::FileEntry, recognise, Error};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use thrum_io::publish;
use thrum_io::Named;

/// What to merge and where.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// The merged output directory (replaced only under the destination policy of `--out`).
    pub out: PathBuf,
    /// Directories holding slice outputs (each with a `shards/` directory).
    pub inputs: Vec<PathBuf>,
    /// Hard-link the Parquet files instead of copying them (copied anyway
    /// where a link is not possible, e.g. across file systems).
    pub link: bool,
}

/// What a merge produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReport {
    /// N.
    pub shards: u64,
    /// JSONL files written.
    pub jsonl_files: usize,
    /// Parquet files copied.
    pub copied: usize,
    /// Parquet files hard-linked.
    pub linked: usize,
    /// Bytes of every file of the output.
    pub bytes: u64,
}

/// Why the slices cannot be merged (the request is at fault: exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// No shard directory was given.
    #[error("no shard directory given")]
    NoInput,
    #[error("{dir} is not the output of a testgen --shard run: {reason}")]
    /// A directory holds no slice output.
    NotAShard {
        /// The directory (escaped).
        dir: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error("{manifest} is not a shard manifest of testgen: {reason}")]
    /// A shard manifest cannot be read.
    BadManifest {
        /// The manifest (escaped).
        manifest: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error(
        "{manifest} is shard {shard} of {of} with {field} {found}, but {first} has {field} \
            {expected}: they are not slices of the same run"
    )]
    /// A slice of another run (seed, profile, generator, schema or N differ).
    Foreign {
        /// The manifest of the foreign slice.
        manifest: String,
        /// Its I.
        shard: u64,
        /// Its N.
        of: u64,
        /// The field that differs.
        field: &'static str,
        /// Its value in this manifest.
        found: String,
        /// Its value in the first manifest.
        expected: String,
        /// The first manifest.
        first: String,
    },
    #[error("shard {shard} of {of} is given twice: {first} and {second}")]
    /// One slice is given twice.
    Duplicate {
        /// I.
        shard: u64,
        /// N.
        of: u64,
        /// The first manifest of it.
        first: String,
        /// The second.
        second: String,
    },
    #[error(
        "{} of {of} shards missing: {list} (every shard 0 to {} must be given once)",
        missing.len(),
        of - 1
    )]
    /// Slices are missing.
    Missing {
        /// N.
        of: u64,
        /// The indexes missing.
        missing: Vec<u64>,
        /// Them as text (shortened when long).
        list: String,
    },
    #[error("{manifest} lists {path}, which is not a file of shard {shard} (expected {expected})")]
    /// A manifest lists a path its slice does not own.
    BadPath {
        /// The manifest.
        manifest: String,
        /// I.
        shard: u64,
        /// The path listed (escaped).
        path: String,
        /// What a path of this slice looks like.
        expected: String,
    },
    #[error("{file} (shard {shard} of {of}, listed in {manifest}): {detail}")]
    /// A file is missing or differs from its manifest (size, sha256, lines).
    Damaged {
        /// The file.
        file: String,
        /// I.
        shard: u64,
        /// N.
        of: u64,
        /// The manifest that lists it.
        manifest: String,
        /// What differs.
        detail: String,
    },
    #[error("{path} is written by shard {first} and by shard {second}")]
    /// Two slices write one file.
    Overlap {
        /// The file (escaped).
        path: String,
        /// The first slice.
        first: u64,
        /// The second.
        second: u64,
    },
    #[error("{manifest} lists {path} twice (shard {shard})")]
    /// A manifest lists one file twice (it would be merged twice).
    ListedTwice {
        /// The manifest.
        manifest: String,
        /// I.
        shard: u64,
        /// The path listed twice (escaped).
        path: String,
    },
}

/// `manifest.json` of a merged output. Fields are declared in key order so
/// the JSON is canonical.
#[derive(Debug, Clone, Serialize)]
pub struct MergedManifest {
    /// Lines per file and rows per table.
    pub counts: MergedCounts,
    /// The Delta log of every dataset.
    pub delta: Vec<crate::manifest::DeltaEntry>,
    /// The JSONL files (`.thrum/...`).
    pub files: Vec<FileEntry>,
    /// The generator of the slices.
    pub generator: String,
    /// The Parquet files.
    pub parquet: Vec<ParquetEntry>,
    /// The profile of the run.
    pub profile: String,
    /// The schema version of the run.
    pub schema_version: i64,
    /// The seed of the run.
    pub seed: u64,
    /// N: the number of slices merged.
    pub shards: u64,
}

/// The counts of a merged output.
#[derive(Debug, Clone, Serialize)]
pub struct MergedCounts {
    /// Lines per JSONL file.
    pub files: BTreeMap<String, u64>,
    /// Rows per table (of its Parquet dataset).
    pub tables: BTreeMap<String, u64>,
}

/// One slice found in the inputs.
struct Found {
    /// The directory its files are relative to.
    dir: PathBuf,
    manifest: PathBuf,
    m: ShardManifest,
}

fn shown(p: &Path) -> String {
    thrum_io::text::shown_path(p)
}

/// Every shard manifest in `dir/shards/`, by name order.
fn manifests_in(dir: &Path, out: &mut Vec<Found>) -> Result<()> {
    let not = |reason: String| Error::from(MergeError::NotAShard { dir: shown(dir), reason });
    let kind = |p: &Path| thrum_io::regular::describe(p).unwrap_or_else(|| "missing".into());
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(not(format!("it is {}, not a directory", kind(dir)))),
        Err(_) => {
            return Err(not(match thrum_io::regular::describe(dir) {
                Some(k) => format!("it is {k}, not a directory"),
                None => "no such directory".into(),
            }))
        }
    }
    let shards = dir.join(shard::SHARDS_DIR);
    match std::fs::symlink_metadata(&shards) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(not(format!(
                "its {} is {}, not a directory",
                shard::SHARDS_DIR,
                kind(&shards)
            )))
        }
        Err(_) => return Err(not(format!("it has no {}/ directory", shard::SHARDS_DIR))),
    }
    let mut names = Vec::new();
    for e in std::fs::read_dir(&shards).ctx("read directory", &shards)? {
        names.push(e.ctx("read directory", &shards)?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let before = out.len();
    for name in names {
        let path = shards.join(&name);
        let Some((i, n)) = shard::parse_manifest_name(&name) else {
            return Err(MergeError::BadManifest {
                manifest: shown(&path),
                reason: "its name is not shard-I-of-N.json".into(),
            }
            .into());
        };
        let m = shard::read_manifest(&path)
            .map_err(|reason| MergeError::BadManifest { manifest: shown(&path), reason })?;
        if (m.shard, m.of) != (i, n) || m.of == 0 || m.shard >= m.of {
            return Err(MergeError::BadManifest {
                manifest: shown(&path),
                reason: format!("it describes shard {} of {}", m.shard, m.of),
            }
            .into());
        }
        out.push(Found { dir: dir.to_path_buf(), manifest: path, m });
    }
    if out.len() == before {
        return Err(not(format!("its {}/ holds no shard manifest", shard::SHARDS_DIR)));
    }
    Ok(())
}

/// The slices of `found` by index, after checking they are the N slices of
/// one run, each once.
fn complete(found: &[Found]) -> Result<Vec<&Found>> {
    let first = &found[0];
    for f in &found[1..] {
        let fields: [(&'static str, String, String); 6] = [
            ("snapshot_ms", f.m.snapshot_ms.to_string(), first.m.snapshot_ms.to_string()),
            ("seed", f.m.seed.to_string(), first.m.seed.to_string()),
            ("profile", f.m.profile.clone(), first.m.profile.clone()),
            ("generator", f.m.generator.clone(), first.m.generator.clone()),
            ("schema_version", f.m.schema_version.to_string(), first.m.schema_version.to_string()),
            ("N (number of shards)", f.m.of.to_string(), first.m.of.to_string()),
        ];
        if let Some((field, found, expected)) = fields.into_iter().find(|(_, a, b)| a != b) {
            return Err(MergeError::Foreign {
                manifest: shown(&f.manifest),
                shard: f.m.shard,
                of: f.m.of,
                field,
                found: thrum_io::text::shown_name(&format!("{found:?}")),
                expected: thrum_io::text::shown_name(&format!("{expected:?}")),
                first: shown(&first.manifest),
            }
            .into());
        }
    }
    let n = first.m.of;
    let mut by_index: BTreeMap<u64, &Found> = BTreeMap::new();
    for f in found {
        if let Some(prev) = by_index.insert(f.m.shard, f) {
            return Err(MergeError::Duplicate {
                shard: f.m.shard,
                of: n,
                first: shown(&prev.manifest),
                second: shown(&f.manifest),
            }
            .into());
        }
    }
    if by_index.len() as u64 != n {
        let missing: Vec<u64> = (0..n).filter(|i| !by_index.contains_key(i)).take(20).collect();
        let mut list = missing.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let count = n - by_index.len() as u64;
        if count > missing.len() as u64 {
            list.push_str(&format!(", … ({count} in all)"));
        }
        return Err(MergeError::Missing { of: n, missing, list }.into());
    }
    Ok(by_index.into_values().collect())
}

/// Where a slice's file goes in the merged output: `.thrum/...` for a
/// JSONL part (`true`), the same path for a Parquet file (`false`).
fn target(f: &Found, path: &str) -> Result<(String, bool)> {
    let i = f.m.shard;
    let part = shard::jsonl_part_dir(i);
    let plain =
        !path.contains('\0') && path.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if plain {
        if let Some(rest) = path.strip_prefix(&format!("{part}/")) {
            let ok = rest == "events.jsonl"
                || rest
                    .strip_prefix("messages/")
                    .is_some_and(|n| !n.contains('/') && n.ends_with(".jsonl"));
            if ok {
                return Ok((format!(".thrum/{rest}"), true));
            }
        }
        let pq_name = format!("/{}", thrum_parquet::part_file_name(i as u32));
        if path.starts_with(&format!("{}/", crate::parquet::DIR))
            && path.ends_with(&pq_name)
            && u32::try_from(i).is_ok()
        {
            return Ok((path.to_string(), false));
        }
    }
    Err(MergeError::BadPath {
        manifest: shown(&f.manifest),
        shard: i,
        path: thrum_io::text::shown_name(path),
        expected: format!(
            "{part}/events.jsonl, {part}/messages/NAME.jsonl or parquet/.../part-{i:05}.parquet"
        ),
    }
    .into())
}

/// Streams the input file `src` into `dest` (when given), checking it
/// against its manifest entry; returns its newline count. `also` sees
/// every chunk (the hash of a merged file).
fn copy_checked(
    f: &Found,
    entry: &shard::ShardFile,
    src: &Path,
    dest: Option<&mut std::fs::File>,
    dest_path: &Path,
    mut also: impl FnMut(&[u8]),
) -> Result<u64> {
    let damaged = |detail: String| -> Error {
        MergeError::Damaged {
            file: shown(src),
            shard: f.m.shard,
            of: f.m.of,
            manifest: shown(&f.manifest),
            detail,
        }
        .into()
    };
    match std::fs::symlink_metadata(src) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(damaged("not a regular file".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(damaged("missing".into()))
        }
        Err(e) => return Err(e).ctx("stat", src),
    }
    // opened as a regular file only (never a FIFO or device swapped in after the check)
    let mut input = thrum_io::regular::open_regular(src).ctx("open", src)?;
    let mut dest = dest;
    let (mut hash, mut size, mut lines) = (Sha256::new(), 0u64, 0u64);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = input.read(&mut buf).ctx("read", src)?;
        if k == 0 {
            break;
        }
        let chunk = &buf[..k];
        hash.update(chunk);
        size += k as u64;
        // bounded work: a file that grew past its recorded size is refused at once
        if size > entry.size {
            return Err(damaged(format!(
                "more than {} bytes, the size its manifest records (the file changed after the \
                    shard wrote it)",
                entry.size
            )));
        }
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        also(chunk);
        if let Some(d) = dest.as_deref_mut() {
            d.write_all(chunk).ctx("write", dest_path)?;
        }
    }
    if size != entry.size {
        return Err(damaged(format!(
            "{size} bytes, expected {} (the file changed after the shard wrote it)",
            entry.size
        )));
    }
    let sha = thrum_io::hash::hex(&hash.finalize());
    if sha != entry.sha256 {
        return Err(damaged(format!(
            "sha256 {sha}, expected {} (the file changed after the shard wrote it)",
            thrum_io::text::shown_name(&entry.sha256)
        )));
    }
    Ok(lines)
}

/// The shard directories, named for messages.
fn named_inputs(inputs: &[PathBuf]) -> Vec<Named> {
    inputs.iter().map(|i| Named::new("the shard directory", i)).collect()
}

/// Refuses, before anything is written, a path a slice does not own, a
/// file a manifest lists twice, and a Parquet file two slices write.
fn check_paths(slices: &[&Found]) -> Result<()> {
    let mut owner: HashMap<String, u64> = HashMap::new();
    for f in slices {
        let mut listed: HashSet<&str> = HashSet::with_capacity(f.m.files.len());
        for e in &f.m.files {
            if !listed.insert(&e.path) {
                let (manifest, path) = (shown(&f.manifest), thrum_io::text::shown_name(&e.path));
                return Err(MergeError::ListedTwice { manifest, shard: f.m.shard, path }.into());
            }
            let (t, jsonl) = target(f, &e.path)?;
            if !jsonl {
                if let Some(prev) = owner.insert(t.clone(), f.m.shard) {
                    return Err(MergeError::Overlap {
                        path: thrum_io::text::shown_name(&t),
                        first: prev,
                        second: f.m.shard,
                    }
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// Merges the slices in `opts.inputs` into `opts.out`, atomically.
pub fn merge(opts: &MergeOptions) -> Result<MergeReport> {
    if opts.inputs.is_empty() {
        return Err(MergeError::NoInput.into());
    }
    // by device and inode: a link to a shard directory is that directory
    let inputs = named_inputs(&opts.inputs);
    thrum_io::apart(&Named::new(recognise::ARTIFACTS.flag, &opts.out), &inputs)
        .map_err(publish::PublishError::from)?;
    publish::check(&opts.out, &recognise::ARTIFACTS)?;
    let mut found = Vec::new();
    for dir in &opts.inputs {
        manifests_in(dir, &mut found)?;
    }
    let slices = complete(&found)?;
    // every path is checked before anything is written
    check_paths(&slices)?;

    let staging = publish::Staging::apart_from(&opts.out, recognise::ARTIFACTS, &inputs)?;
    let mut acc = Merged::default();
    for f in &slices {
        for e in &f.m.files {
            let (t, is_jsonl) = target(f, &e.path)?;
            let dest = staging.dir.join(&t);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).ctx("create directory", parent)?;
            }
            if is_jsonl {
                acc.append_jsonl(f, e, t, &dest)?;
            } else {
                acc.place_parquet(f, e, t, &dest, opts.link)?;
            }
        }
    }
    let Merged { jsonl, mut parquet, tables, copied, linked, mut logs } = acc;
    parquet.sort_by(|a, b| a.path.cmp(&b.path));
    let mut files = Vec::new();
    let mut counts = BTreeMap::new();
    for (path, (hash, size, lines)) in jsonl {
        files.push(FileEntry {
            path: path.clone(),
            sha256: thrum_io::hash::hex(&hash.finalize()),
            size,
        });
        counts.insert(path, lines);
    }
    let first = &slices[0].m;
    let params = thrum_parquet::delta::LogParams { seed: first.seed, time_ms: first.snapshot_ms };
    let delta = write_logs(&staging.dir.join(crate::parquet::DIR), &mut logs, params)?;
    let m = MergedManifest {
        counts: MergedCounts { files: counts, tables },
        delta,
        files,
        generator: first.generator.clone(),
        parquet,
        profile: first.profile.clone(),
        schema_version: first.schema_version,
        seed: first.seed,
        shards: first.of,
    };
    let p = staging.dir.join(crate::MANIFEST);
    let text =
        serde_json::to_string_pretty(&m).map_err(std::io::Error::other).ctx("encode", &p)? + "\n";
    std::fs::write(&p, text).ctx("write", &p)?;
    let known: Vec<FileEntry> = m
        .files
        .iter()
        .cloned()
        .chain(m.parquet.iter().map(|e| FileEntry {
            path: e.path.clone(),
            sha256: e.sha256.clone(),
            size: e.size,
        }))
        .chain(m.delta.iter().map(crate::manifest::DeltaEntry::file))
        .collect();
    let bytes = crate::manifest::write_sums(&staging.dir, &known)?;
    staging.publish()?;
    Ok(MergeReport { shards: first.of, jsonl_files: m.files.len(), copied, linked, bytes })
}

/// What the merge has written so far.
#[derive(Default)]
struct Merged {
    /// Per JSONL file: its digest, bytes and lines.
    jsonl: BTreeMap<String, (Sha256, u64, u64)>,
    parquet: Vec<ParquetEntry>,
    /// Rows per table.
    tables: BTreeMap<String, u64>,
    copied: usize,
    linked: usize,
    /// The Delta log entries of each table.
    logs: BTreeMap<String, Vec<thrum_parquet::delta::LogFile>>,
}

impl Merged {
    /// Appends slice `f`'s part `e` of a JSONL file to `dest` (`t` in the
    /// output), checked against its manifest.
    fn append_jsonl(
        &mut self,
        f: &Found,
        e: &shard::ShardFile,
        t: String,
        dest: &Path,
    ) -> Result<()> {
        let src = f.dir.join(&e.path);
        let mut out =
            std::fs::OpenOptions::new().create(true).append(true).open(dest).ctx("open", dest)?;
        let acc = self.jsonl.entry(t).or_insert_with(|| (Sha256::new(), 0, 0));
        let lines = copy_checked(f, e, &src, Some(&mut out), dest, |c| {
            acc.0.update(c);
            acc.1 += c.len() as u64;
        })?;
        if lines != e.rows {
            return Err(MergeError::Damaged {
                file: shown(&src),
                shard: f.m.shard,
                of: f.m.of,
                manifest: shown(&f.manifest),
                detail: format!("{lines} lines, expected {}", e.rows),
            }
            .into());
        }
        acc.2 += lines;
        out.flush().ctx("write", dest)
    }

    /// Links (with `link`) or copies slice `f`'s Parquet file `e` to `dest`
    /// (`t` in the output), checked against its manifest; records it for
    /// the manifest and its table's Delta log.
    fn place_parquet(
        &mut self,
        f: &Found,
        e: &shard::ShardFile,
        t: String,
        dest: &Path,
        link: bool,
    ) -> Result<()> {
        let src = f.dir.join(&e.path);
        let was_linked = link && std::fs::hard_link(&src, dest).is_ok();
        if was_linked {
            // the link is the input itself: checked in place
            copy_checked(f, e, dest, None, dest, |_| {})?;
            self.linked += 1;
        } else {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dest)
                .ctx("create", dest)?;
            copy_checked(f, e, &src, Some(&mut out), dest, |_| {})?;
            self.copied += 1;
        }
        let table =
            e.table.clone().unwrap_or_else(|| t.split('/').nth(1).unwrap_or_default().to_string());
        *self.tables.entry(table.clone()).or_default() += e.rows;
        let Some(stats) = e.stats.clone() else {
            let reason =
                format!("it lists {} without its statistics", thrum_io::text::shown_name(&e.path));
            return Err(MergeError::BadManifest { manifest: shown(&f.manifest), reason }.into());
        };
        let in_table = t
            .split_once('/')
            .and_then(|(_, r)| r.strip_prefix(&table))
            .and_then(|r| r.strip_prefix('/'));
        let path = in_table.unwrap_or_default().to_string();
        self.logs.entry(table.clone()).or_default().push(thrum_parquet::delta::LogFile {
            path,
            size: e.size,
            stats,
        });
        self.parquet.push(ParquetEntry {
            path: t,
            rows: e.rows,
            sha256: e.sha256.clone(),
            size: e.size,
            table,
        });
        Ok(())
    }
}

/// Writes the Delta log of every catalogue table into `dir` (the merged
/// `parquet/`), each from the files `logs` lists for it, by path.
fn write_logs(
    dir: &Path,
    logs: &mut BTreeMap<String, Vec<thrum_parquet::delta::LogFile>>,
    params: thrum_parquet::delta::LogParams,
) -> Result<Vec<crate::manifest::DeltaEntry>> {
    let mut out = Vec::new();
    for t in thrum_schemas::catalogue::TABLES {
        let mut files = logs.remove(t.name).unwrap_or_default();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let text = thrum_parquet::delta::table_log(t, &files, params);
        let rel = thrum_parquet::delta::log_path(t.name);
        let path = dir.join(&rel);
        let parent = dir.join(t.name).join(thrum_parquet::delta::LOG_DIR);
        std::fs::create_dir_all(&parent).ctx("create directory", &parent)?;
        std::fs::write(&path, &text).ctx("write", &path)?;
        out.push(crate::manifest::DeltaEntry::of(t.name, &rel, &text));
    }
    Ok(out)
}
