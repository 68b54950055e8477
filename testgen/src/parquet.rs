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
        let too_many =
            || Error::Usage(format!("{parts} slices: at most {} Parquet parts", u32::MAX));
        let opts = ParquetOptions {
            part: u32::try_from(part).map_err(|_| too_many())?,
            parts: u32::try_from(parts).map_err(|_| too_many())?,
            ..ParquetOptions::default()
        };
        Ok(BatchWriter {
            sink: ParquetSink::create(dir, opts).map_err(pq)?,
            dir: dir.to_path_buf(),
            messages: 0,
        })
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

/// The Delta log values of a run of `plan` ([`thrum_parquet::delta`]): its
/// seed, and its snapshot as every fixed time.
pub fn log_params(plan: &thrum_gen::Plan) -> thrum_parquet::delta::LogParams {
    thrum_parquet::delta::LogParams { seed: plan.seed, time_ms: plan.snapshot.div_euclid(1000) }
}

/// Writes the Delta log of every table of the datasets in `dir` (the
/// whole run's `parquet/`, all of whose files are `files`); returns them as
/// the manifest lists them (paths relative to the output directory).
pub fn write_logs(
    dir: &Path,
    files: &[Hashed],
    plan: &thrum_gen::Plan,
) -> Result<Vec<crate::manifest::DeltaEntry>> {
    let written: Vec<WrittenFile> = files.iter().map(|h| h.file.clone()).collect();
    let logs = thrum_parquet::delta::write_logs(dir, &written, log_params(plan)).map_err(pq)?;
    Ok(logs
        .iter()
        .map(|l| crate::manifest::DeltaEntry::of(l.table, &l.rel_path, &l.text))
        .collect())
}

fn hash_all(dir: &Path, files: Vec<WrittenFile>) -> Result<Vec<Hashed>> {
    files
        .into_iter()
        .map(|file| {
            let (sha256, size) = crate::archive::hash_file(&dir.join(&file.rel_path))?;
            let entry = crate::archive::FileEntry {
                path: format!("{DIR}/{}", file.rel_path),
                sha256,
                size,
            };
            Ok(Hashed { file, entry })
        })
        .collect()
}
