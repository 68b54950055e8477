//! The Delta log of a dataset against its files: every `add` names a file
//! of the dataset with its size, its partition values and the statistics of
//! its rows; every Parquet file of the dataset is added; the protocol, the
//! table name, the partition columns and the schema are the ones written by
//! [`super::table_log`] for the table.

use super::{partition_columns, partition_of, schema_string, LOG_DIR, PROTOCOL, VERSION_ZERO};
use crate::error::{IoContext, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use thrum_schemas::catalogue::Table;

/// Largest log read (a version-0 commit lists one line per file).
const MAX_LOG: u64 = 256 << 20;

/// What is wrong with a table's Delta log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    /// No version-0 commit.
    Missing,
    /// The log disagrees with the files (or is not a log).
    Differs,
}

/// One problem of a table's Delta log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaProblem {
    /// Its kind.
    pub kind: DeltaKind,
    /// What is wrong, naming the file or action.
    pub text: String,
}

/// A Parquet file of the dataset as the check found it.
pub(crate) struct Found {
    /// Relative to the table's directory.
    pub path: String,
    pub size: u64,
    /// The statistics of its rows, when they were read.
    pub stats: Option<String>,
}

/// The problems of `table`'s log in `table_dir` against `files`.
pub(crate) fn check_log(
    table_dir: &Path,
    table: &Table,
    files: &[Found],
) -> Result<Vec<DeltaProblem>> {
    let mut out = Vec::new();
    let differs = |text: String| DeltaProblem { kind: DeltaKind::Differs, text };
    let log_dir = table_dir.join(LOG_DIR);
    let rel_log = format!("{}/{LOG_DIR}/{VERSION_ZERO}", table.name);
    if !log_dir.is_dir() {
        out.push(DeltaProblem {
            kind: DeltaKind::Missing,
            text: format!("no Delta log {rel_log}"),
        });
        return Ok(out);
    }
    for e in std::fs::read_dir(&log_dir).io("read directory", &log_dir)? {
        let name = e.io("read directory", &log_dir)?.file_name().to_string_lossy().into_owned();
        if name != VERSION_ZERO {
            out.push(differs(format!(
                "{}/{LOG_DIR}/{name}: only the version-0 commit is expected",
                table.name
            )));
        }
    }
    let path = log_dir.join(VERSION_ZERO);
    let text = match thrum_io::regular::read_regular_at_most(&path, MAX_LOG) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(DeltaProblem {
                kind: DeltaKind::Missing,
                text: format!("no Delta log {rel_log}"),
            });
            return Ok(out);
        }
        Err(e) => return Err(e).io("read", &path),
    };
    let text = String::from_utf8_lossy(&text);
    let mut adds: BTreeMap<String, Value> = BTreeMap::new();
    let (mut protocol, mut meta) = (None, None);
    for (n, line) in text.lines().enumerate() {
        let Ok(Value::Object(action)) = serde_json::from_str::<Value>(line) else {
            out.push(differs(format!("{rel_log} line {}: not a JSON object", n + 1)));
            continue;
        };
        for (key, v) in action {
            match key.as_str() {
                "protocol" => protocol = Some(v),
                "metaData" => meta = Some(v),
                "add" => {
                    let p = v.get("path").and_then(Value::as_str).unwrap_or_default().to_string();
                    if adds.insert(p.clone(), v).is_some() {
                        out.push(differs(format!("{rel_log}: {p} is added twice")));
                    }
                }
                "commitInfo" => {}
                other => out
                    .push(differs(format!("{rel_log} line {}: unexpected action {other}", n + 1))),
            }
        }
    }
    check_header(&rel_log, table, protocol.as_ref(), meta.as_ref(), &mut out);
    check_adds(&rel_log, table, files, &adds, &mut out);
    Ok(out)
}

fn check_header(
    rel_log: &str,
    table: &Table,
    protocol: Option<&Value>,
    meta: Option<&Value>,
    out: &mut Vec<DeltaProblem>,
) {
    let mut differs = |text: String| out.push(DeltaProblem { kind: DeltaKind::Differs, text });
    let version = |k: &str| protocol.and_then(|p| p.get(k)).and_then(Value::as_u64);
    if (version("minReaderVersion"), version("minWriterVersion"))
        != (Some(PROTOCOL.0.into()), Some(PROTOCOL.1.into()))
    {
        differs(format!(
            "{rel_log}: protocol {}, expected reader {} and writer {}",
            show(protocol),
            PROTOCOL.0,
            PROTOCOL.1
        ));
    }
    let Some(meta) = meta else {
        differs(format!("{rel_log}: no metaData action"));
        return;
    };
    if meta.get("name").and_then(Value::as_str) != Some(table.name) {
        differs(format!(
            "{rel_log}: metaData name {}, expected {:?}",
            show(meta.get("name")),
            table.name
        ));
    }
    let partitions = serde_json::to_value(partition_columns(table)).unwrap_or_default();
    if meta.get("partitionColumns") != Some(&partitions) {
        differs(format!(
            "{rel_log}: partitionColumns {}, expected {partitions}",
            show(meta.get("partitionColumns"))
        ));
    }
    let expected: Value = serde_json::from_str(&schema_string(table)).unwrap_or_default();
    let found: Option<Value> =
        meta.get("schemaString").and_then(Value::as_str).and_then(|s| serde_json::from_str(s).ok());
    if found.as_ref() != Some(&expected) {
        differs(format!("{rel_log}: the schema is not the files' (expected {expected})"));
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "absent".into(), |v| thrum_io::text::shown_name(&v.to_string()))
}

fn check_adds(
    rel_log: &str,
    table: &Table,
    files: &[Found],
    adds: &BTreeMap<String, Value>,
    out: &mut Vec<DeltaProblem>,
) {
    let mut differs = |text: String| out.push(DeltaProblem { kind: DeltaKind::Differs, text });
    let partitioned = crate::mapping::partition_source(table).is_some();
    for f in files {
        let encoded = super::encode_path(&f.path);
        let Some(add) = adds.get(&encoded) else {
            differs(format!(
                "{}/{}: a Parquet file of the table that {rel_log} does not add",
                table.name, f.path
            ));
            continue;
        };
        let file = format!("{}/{}", table.name, f.path);
        let size = add.get("size").and_then(Value::as_u64);
        if size != Some(f.size) {
            differs(format!(
                "{file}: the log says {} bytes, the file has {}",
                show(add.get("size")),
                f.size
            ));
        }
        let mut values = serde_json::Map::new();
        if partitioned {
            values.insert(
                crate::mapping::PARTITION_COLUMN.into(),
                partition_of(&f.path).map_or(Value::Null, Value::from),
            );
        }
        if add.get("partitionValues") != Some(&Value::Object(values.clone())) {
            differs(format!(
                "{file}: partitionValues {}, the path says {}",
                show(add.get("partitionValues")),
                Value::Object(values)
            ));
        }
        if let Some(stats) = &f.stats {
            let found: Option<Value> =
                add.get("stats").and_then(Value::as_str).and_then(|s| serde_json::from_str(s).ok());
            let expected: Value = serde_json::from_str(stats).unwrap_or_default();
            if found.as_ref() != Some(&expected) {
                differs(format!(
                    "{file}: stats {}, the rows give {expected}",
                    show(add.get("stats"))
                ));
            }
        }
    }
    for p in adds.keys() {
        if !files.iter().any(|f| super::encode_path(&f.path) == *p) {
            differs(format!(
                "{rel_log} adds {}: no such Parquet file in the table",
                thrum_io::text::shown_name(p)
            ));
        }
    }
}
