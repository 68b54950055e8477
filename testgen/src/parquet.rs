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
use thrum_parquet::{ParquetOptions, ParquetSink, WrittenFile};

/// Directory of the datasets inside an output directory.
pub const DIR: &str = "parquet";

fn pq(e: thrum_parquet::Error) -> Error {
    Error::Parquet(e.to_string())
}

/// A written dataset file with its checksum, computed on the thread that
/// wrote it (the manifest and SHA256SUMS reuse it instead of re-reading).
#[derive(Debug, Clone)]
pub struct Hashed {
    pub file: WrittenFile,
    /// Path relative to the output directory (`parquet/...`), SHA-256, size.
    pub entry: crate::archive::FileEntry,
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
    /// The writer of slice `part` of `parts`: its files are named
    /// `part-{part:05}.parquet` ([`ParquetOptions::part`]).
    pub fn create_part(dir: &Path, part: u64, parts: u64) -> Result<BatchWriter> {
        let too_many = || Error::Usage(format!("{parts} slices: at most {} Parquet parts", u32::MAX));
        let opts = ParquetOptions {
            part: u32::try_from(part).map_err(|_| too_many())?,
            parts: u32::try_from(parts).map_err(|_| too_many())?,
            ..ParquetOptions::default()
        };
        Ok(BatchWriter { sink: ParquetSink::create(dir, opts).map_err(pq)?, dir: dir.to_path_buf(), messages: 0 })
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
