//! The files of a table's dataset: its layout and each file's schema.

use crate::delta::LOG_DIR;
use crate::error::{IoContext, Result};
use crate::mapping;
use crate::time_fmt::parse_day;
use arrow_schema::Schema;
use std::path::{Path, PathBuf};
use thrum_schemas::catalogue::Table;

/// One file of a dataset, with the day its `date=` directory names.
pub(super) struct PartFile {
    /// The file.
    pub(super) path: PathBuf,
    /// Its path in the dataset directory (`TABLE/...`).
    pub(super) rel: String,
    /// The day of its partition.
    pub(super) day: Option<i64>,
}

/// The `.parquet` files directly in `dir` (`rel` in the dataset), with the day of its partition;
/// anything else there is a problem.
fn list_parquet(
    dir: &Path,
    rel: &str,
    day: Option<i64>,
    out: &mut Vec<PartFile>,
    problems: &mut Vec<String>,
) -> Result<()> {
    for (name, is_dir) in sorted_entries(dir)? {
        if is_dir && day.is_none() && name == LOG_DIR {
            // the Delta log: checked by `delta::check`
        } else if is_dir {
            problems.push(format!("unexpected directory {rel}/{name}"));
        } else if name.ends_with(".parquet") {
            out.push(PartFile { path: dir.join(&name), rel: format!("{rel}/{name}"), day });
        } else {
            problems.push(format!("unexpected file {rel}/{name}"));
        }
    }
    Ok(())
}

/// The names in `dir`, sorted, each with whether it is a directory.
fn sorted_entries(dir: &Path) -> Result<Vec<(String, bool)>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).io("read directory", dir)? {
        let e = e.io("read directory", dir)?;
        let ft = e.file_type().io("stat", e.path())?;
        names.push((e.file_name().to_string_lossy().into_owned(), ft.is_dir()));
    }
    names.sort();
    Ok(names)
}

/// The files of a table's dataset in key order, and layout problems.
pub(super) fn dataset_files(
    parquet_dir: &Path,
    t: &Table,
    problems: &mut Vec<String>,
) -> Result<Vec<PartFile>> {
    let dir = parquet_dir.join(t.name);
    let mut files = Vec::new();
    if !dir.is_dir() {
        problems.push(format!("no dataset directory {}/", t.name));
        return Ok(files);
    }
    if mapping::partition_source(t).is_none() {
        list_parquet(&dir, t.name, None, &mut files, problems)?;
        return Ok(files);
    }
    let names = sorted_entries(&dir)?;
    let mut partitions = 0;
    let mut loose = Vec::new();
    for (name, is_dir) in names {
        let rel = format!("{}/{name}", t.name);
        let day = name.strip_prefix(&format!("{}=", mapping::PARTITION_COLUMN)).and_then(parse_day);
        match (is_dir, day) {
            (true, None) if name == LOG_DIR => {}
            (true, Some(day)) => {
                partitions += 1;
                list_parquet(&dir.join(&name), &rel, Some(day), &mut files, problems)?;
            }
            (true, None) => problems.push(format!(
                "unexpected directory {rel} (expected {}=YYYY-MM-DD)",
                mapping::PARTITION_COLUMN
            )),
            (false, _) if name.ends_with(".parquet") => {
                loose.push(PartFile { path: dir.join(&name), rel, day: None })
            }
            (false, _) => problems.push(format!("unexpected file {rel}")),
        }
    }
    // `date=YYYY-MM-DD` names sort in day order, so `files` is in key order.
    if !loose.is_empty() {
        if partitions > 0 {
            problems.push(format!("{}: files outside date= partitions next to partitions", t.name));
        }
        files.extend(loose);
    }
    Ok(files)
}

pub(super) fn fields_problems(rel: &str, expected: &Schema, found: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    if expected.fields().len() != found.fields().len() {
        out.push(format!(
            "{rel}: {} columns ({}), expected {} ({})",
            found.fields().len(),
            found.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", "),
            expected.fields().len(),
            expected.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
        ));
        return out;
    }
    for (e, f) in expected.fields().iter().zip(found.fields()) {
        if e.name() != f.name()
            || e.data_type() != f.data_type()
            || e.is_nullable() != f.is_nullable()
        {
            out.push(format!(
                "{rel}: column {} {:?} nullable={}, expected {} {:?} nullable={}",
                f.name(),
                f.data_type(),
                f.is_nullable(),
                e.name(),
                e.data_type(),
                e.is_nullable()
            ));
        } else if e.metadata() != f.metadata() {
            out.push(format!(
                "{rel}: column {} metadata {:?}, expected {:?}",
                f.name(),
                f.metadata(),
                e.metadata()
            ));
        }
    }
    if found.metadata().get(mapping::keys::TABLE).map(String::as_str)
        != expected.metadata().get(mapping::keys::TABLE).map(String::as_str)
    {
        out.push(format!(
            "{rel}: {} metadata is {:?}",
            mapping::keys::TABLE,
            found.metadata().get(mapping::keys::TABLE)
        ));
    }
    out
}
