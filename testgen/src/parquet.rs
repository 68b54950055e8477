//! The Parquet datasets: one per v13 table, under `parquet/`, each file
//! with its SHA-256 (never by reading SQLite back).
//!
//! In a whole run, [`BatchWriter`] is fed the row pass's batches
//! ([`crate::pass`]) on its own thread, the same rows the tree writer puts
//! in SQLite. A `--shard` slice has no row pass: [`write_hashed`] derives
//! the slice's rows from the plan itself (the tables not split by message
//! belong to slice 0) and renders its events' lines.

use crate::error::{Error, Result};
use std::path::Path;
use thrum_gen::render::{self, Scratch};
use thrum_gen::rows::{self, MESSAGE_TABLES};
use thrum_gen::timeline::{slice_messages, Timeline};
use thrum_gen::Plan;
use thrum_parquet::{ParquetOptions, ParquetSink, WrittenFile};
use thrum_schemas::catalogue::{EVENTS, TABLES};

/// Directory of the datasets inside an output directory.
pub const DIR: &str = "parquet";

fn pq(e: thrum_parquet::Error) -> Error {
    Error::Parquet(e.to_string())
}

/// Writes slice `i` of `n` of every table (the whole fixture for 0/1) into
/// `dir`. Tables that are not split by message (agents, sessions, …) belong
/// to slice 0.
pub fn write(plan: &Plan, dir: &Path, i: u64, n: u64, mut progress: impl FnMut(u64)) -> Result<Vec<WrittenFile>> {
    let opts = ParquetOptions { part: i as u32, ..ParquetOptions::default() };
    let mut sink = ParquetSink::create(dir, opts).map_err(pq)?;
    for t in TABLES {
        if MESSAGE_TABLES.iter().any(|m| m.name == t.name) || t.name == EVENTS.name {
            continue;
        }
        if i == 0 {
            rows::small_rows(plan, t, |row| sink.push(t, row)).map_err(pq)?;
        }
    }
    let mut done = 0u64;
    rows::message_rows(plan, slice_messages(plan.profile.messages, i, n), |t, row| {
        if t.name == "messages" {
            done += 1;
            if done % 4096 == 0 {
                progress(done);
            }
        }
        sink.push(t, row)
    })
    .map_err(pq)?;
    let mut sc = Scratch::default();
    let mut line = String::with_capacity(8192);
    for e in Timeline::slice(plan, i, n) {
        line.clear();
        render::line(plan, &e, &mut line, &mut sc);
        sink.push(&EVENTS, &rows::event_row(plan, &e, rows::event_type(&e), &line)).map_err(pq)?;
    }
    sink.finish().map_err(pq)
}

/// A written dataset file with its checksum, computed on the thread that
/// wrote it (the manifest and SHA256SUMS reuse it instead of re-reading).
#[derive(Debug, Clone)]
pub struct Hashed {
    pub file: WrittenFile,
    /// Path relative to the output directory (`parquet/...`), SHA-256, size.
    pub entry: crate::archive::FileEntry,
}

/// [`write`], then the SHA-256 of every file it wrote.
pub fn write_hashed(plan: &Plan, dir: &Path, i: u64, n: u64, progress: impl FnMut(u64)) -> Result<Vec<Hashed>> {
    let files = write(plan, dir, i, n, progress)?;
    hash_all(dir, files)
}

/// The Parquet writer of the whole fixture, fed batch by batch from the
/// row pass (it derives nothing itself).
pub struct BatchWriter {
    sink: ParquetSink,
    dir: std::path::PathBuf,
    /// `messages` rows written (progress).
    pub messages: u64,
}

impl BatchWriter {
    pub fn create(dir: &Path) -> Result<BatchWriter> {
        Ok(BatchWriter { sink: ParquetSink::create(dir, ParquetOptions::default()).map_err(pq)?, dir: dir.to_path_buf(), messages: 0 })
    }

    pub fn push(&mut self, batch: &crate::pass::Batch) -> Result<()> {
        let mut buf = Vec::with_capacity(16);
        batch.for_each(&mut buf, |row| self.sink.push(row.table, row.cells)).map_err(pq)?;
        self.messages += batch.messages;
        Ok(())
    }

    /// Closes every file; returns them with their checksums.
    pub fn finish(self) -> Result<Vec<Hashed>> {
        let files = self.sink.finish().map_err(pq)?;
        hash_all(&self.dir, files)
    }
}

fn hash_all(dir: &Path, files: Vec<WrittenFile>) -> Result<Vec<Hashed>> {
    files
        .into_iter()
        .map(|file| {
            let (sha256, size) = crate::archive::hash_file(&dir.join(&file.rel_path))?;
            let entry = crate::archive::FileEntry { path: format!("{DIR}/{}", file.rel_path), sha256, size };
            Ok(Hashed { file, entry })
        })
        .collect()
}
