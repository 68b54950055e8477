//! `manifest.json` (what the fixture holds) and `SHA256SUMS` (every artifact,
//! in `sha256sum -c` format).

use crate::archive::{hash_file, walk, FileEntry};
use crate::error::{IoContext, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Fields are declared in key order so the JSON is canonical.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub archive: ArchiveRef,
    pub counts: Counts,
    pub files: Vec<FileEntry>,
    pub generator: String,
    pub profile: String,
    pub schema_version: i64,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchiveRef {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    /// Lines per JSONL file.
    pub files: BTreeMap<String, u64>,
    /// Messages per UTC day of `created_at` (`YYYY-MM-DD`).
    pub messages_per_day: BTreeMap<String, u64>,
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
}

/// One Parquet file of `parquet/`, as the manifest lists it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ParquetEntry {
    pub path: String,
    pub rows: u64,
    pub sha256: String,
    pub size: u64,
    pub table: String,
}

/// The Delta log of a table (`parquet/<table>/_delta_log/...json`), as the
/// manifest's `delta` list has it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DeltaEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub table: String,
}

impl DeltaEntry {
    /// The entry of the log `text` of `table`, `rel` relative to `parquet/`.
    pub fn of(table: &str, rel: &str, text: &str) -> DeltaEntry {
        DeltaEntry {
            path: format!("{}/{rel}", crate::parquet::DIR),
            sha256: thrum_io::hash::sha256_hex(text.as_bytes()),
            size: text.len() as u64,
            table: table.to_string(),
        }
    }
    /// Its path, checksum and size for SHA256SUMS.
    pub fn file(&self) -> FileEntry {
        FileEntry { path: self.path.clone(), sha256: self.sha256.clone(), size: self.size }
    }
}

/// Adds the `delta` list (the Delta log of every dataset with size and
/// sha256) to a written manifest, keeping its keys in order.
pub fn add_delta(manifest: &Path, logs: &[DeltaEntry]) -> Result<()> {
    add_key(manifest, "delta", logs)
}

/// Adds the `parquet` list (every dataset file with rows, size and sha256)
/// to a written manifest, keeping its keys in order.
pub fn add_parquet(manifest: &Path, files: &[crate::parquet::Hashed]) -> Result<()> {
    let mut list: Vec<ParquetEntry> = files
        .iter()
        .map(|h| ParquetEntry {
            path: h.entry.path.clone(),
            rows: h.file.rows,
            sha256: h.entry.sha256.clone(),
            size: h.entry.size,
            table: h.file.table.to_string(),
        })
        .collect();
    list.sort_by(|a, b| a.path.cmp(&b.path));
    add_key(manifest, "parquet", &list)
}

/// Adds the `schema` list (the contract files of `schema/` with size and
/// sha256) to a written manifest, keeping its keys in order.
pub fn add_schema(manifest: &Path, files: &[FileEntry]) -> Result<()> {
    add_key(manifest, "schema", files)
}

/// Sets `key` of a written manifest to `value`, keeping its keys in order.
fn add_key(manifest: &Path, key: &str, value: &(impl Serialize + ?Sized)) -> Result<()> {
    let text = std::fs::read_to_string(manifest).ctx("read", manifest)?;
    let mut v: serde_json::Value =
        serde_json::from_str(&text).map_err(std::io::Error::other).ctx("parse", manifest)?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert(
            key.into(),
            serde_json::to_value(value).map_err(std::io::Error::other).ctx("encode", manifest)?,
        );
        // serde_json's map is ordered by key unless another crate enables
        // preserve_order; re-sort explicitly so the file stays canonical.
        let mut entries: Vec<(String, serde_json::Value)> = std::mem::take(m).into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        m.extend(entries);
    }
    let mut s =
        serde_json::to_string_pretty(&v).map_err(std::io::Error::other).ctx("encode", manifest)?;
    s.push('\n');
    std::fs::write(manifest, s).ctx("write", manifest)
}

pub fn write_json(path: &Path, m: &Manifest) -> Result<()> {
    let mut s =
        serde_json::to_string_pretty(m).map_err(std::io::Error::other).ctx("encode", path)?;
    s.push('\n');
    std::fs::write(path, s).ctx("write", path)
}

/// Writes `dir/SHA256SUMS` over every other file below `dir` (reusing the
/// checksums in `known`, by file name); returns the total bytes.
pub fn write_sums(dir: &Path, known: &[FileEntry]) -> Result<u64> {
    Ok(write_sums_counted(dir, known)?.0)
}

/// [`write_sums`], also returning the number of files of `dir`,
/// SHA256SUMS included.
pub fn write_sums_counted(dir: &Path, known: &[FileEntry]) -> Result<(u64, u64)> {
    let mut out = String::new();
    let (mut total, mut files) = (0, 1);
    for (rel, path, is_dir) in walk(dir, "")? {
        let rel = rel.trim_start_matches('/');
        if is_dir || rel == crate::SUMS {
            continue;
        }
        let (sha, size) = match known.iter().find(|k| k.path == rel) {
            Some(k) => (k.sha256.clone(), k.size),
            None => hash_file(&path)?,
        };
        total += size;
        files += 1;
        out.push_str(&format!("{sha}  {rel}\n"));
    }
    let p = dir.join(crate::SUMS);
    std::fs::write(&p, out).ctx("write", &p)?;
    Ok((total, files))
}
