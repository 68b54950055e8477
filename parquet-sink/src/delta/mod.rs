//! Every dataset as a Delta Lake table: the version-0 commit of
//! `<table>/_delta_log/00000000000000000000.json`, listing the Parquet files
//! where they are (plain Parquet readers skip `_`-prefixed paths and keep
//! working).
//!
//! The log follows the Delta transaction protocol (`PROTOCOL.md` of
//! delta-io/delta): one JSON action per line, here `commitInfo`, `protocol`
//! (reader 1, writer 2), `metaData` (an id derived from the seed and the
//! table, the table's name, its schema in Delta's JSON form, the partition
//! columns, a fixed `createdTime`) and one `add` per file (the path relative
//! to the table, its partition values, size, a fixed `modificationTime`,
//! `dataChange` and the statistics of [`stats`]).
//!
//! The log is written here with serde_json, not with the `deltalake` crate:
//! that crate pins another arrow/parquet major than ours (so both would be
//! built), brings tokio, object_store and delta_kernel (about 280 crates,
//! minutes of build on two cores), and writes random ids and wall-clock
//! times, where every byte here must follow from the seed. The format of a
//! version-0 commit is small and documented; the independent readers of
//! `scripts/interop_check.py` (deltalake, Polars) prove what is written.

pub mod check;
pub mod stats;

use crate::mapping::{self, PARTITION_COLUMN};
use arrow_schema::DataType;
use serde::Serialize;
use std::collections::BTreeMap;
use thrum_schemas::catalogue::Table;

/// Directory of a lake's slice records (`testgen --lake DIR` writes
/// `DIR/_slices/`); beside the tables, no dataset.
pub const SLICES_DIR: &str = "_slices";
/// Directory of a table's log.
pub const LOG_DIR: &str = "_delta_log";
/// File name of the version-0 commit.
pub const VERSION_ZERO: &str = "00000000000000000000.json";
/// Delta reader and writer versions of the tables (no table feature used).
pub const PROTOCOL: (u32, u32) = (1, 2);

/// `<table>/_delta_log/00000000000000000000.json`, relative to the datasets' directory.
pub fn log_path(table: &str) -> String {
    format!("{table}/{LOG_DIR}/{VERSION_ZERO}")
}

/// One data file of a table's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Relative to the table's directory, `/`-separated
    /// (`date=2026-03-02/part-00000.parquet`).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The `stats` JSON ([`stats::FileStats::to_json`]).
    pub stats: String,
}

impl LogFile {
    /// The day of the `date=` directory the file is in, if any.
    pub fn partition_day(&self) -> Option<&str> {
        partition_of(&self.path)
    }
}

/// The `date=` value of a path relative to a table (`None` outside a partition).
pub fn partition_of(path: &str) -> Option<&str> {
    let (dir, _) = path.split_once('/')?;
    dir.strip_prefix(PARTITION_COLUMN)?.strip_prefix('=')
}

/// What fixes the values that are not taken from the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogParams {
    /// The run's seed (the table id is derived from it and the table).
    pub seed: u64,
    /// `createdTime`, `modificationTime` and the commit's `timestamp`
    /// (milliseconds since the epoch; testgen uses the plan's snapshot).
    pub time_ms: i64,
}

/// The table id of `metaData`: a UUID (version 8, RFC 9562 "custom") of
/// the SHA-256 of the seed and the table name.
pub fn table_id(seed: u64, table: &str) -> String {
    let h = thrum_io::hash::sha256_hex(
        format!("thrum-fixtures delta table\0{seed}\0{table}").as_bytes(),
    );
    let mut b: Vec<u8> =
        (0..16).map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = thrum_io::hash::hex(&b);
    format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

#[derive(Serialize)]
struct Field {
    name: String,
    #[serde(rename = "type")]
    ty: &'static str,
    nullable: bool,
    metadata: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct StructType {
    #[serde(rename = "type")]
    ty: &'static str,
    fields: Vec<Field>,
}

/// The Delta type of an Arrow type of the mapping.
fn delta_type(dt: &DataType) -> &'static str {
    match dt {
        DataType::Int64 => "long",
        DataType::Boolean => "boolean",
        DataType::Timestamp(_, _) => "timestamp",
        _ => "string",
    }
}

/// The `schemaString` of a table: the files' columns with their Delta types
/// and nullability, then `date` (type `date`) for a day-partitioned table.
pub fn schema_string(table: &Table) -> String {
    let schema = mapping::arrow_schema(table);
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field {
            name: f.name().clone(),
            ty: delta_type(f.data_type()),
            nullable: f.is_nullable(),
            metadata: BTreeMap::new(),
        })
        .collect();
    if mapping::partition_source(table).is_some() {
        fields.push(Field {
            name: PARTITION_COLUMN.into(),
            ty: "date",
            nullable: true,
            metadata: BTreeMap::new(),
        });
    }
    serde_json::to_string(&StructType { ty: "struct", fields }).unwrap_or_default()
}

/// The partition columns of a table (`["date"]` or none).
pub fn partition_columns(table: &Table) -> Vec<String> {
    mapping::partition_source(table).map(|_| vec![PARTITION_COLUMN.to_string()]).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommitInfo {
    timestamp: i64,
    operation: &'static str,
    operation_parameters: BTreeMap<&'static str, String>,
    is_blind_append: bool,
    engine_info: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Protocol {
    min_reader_version: u32,
    min_writer_version: u32,
}

#[derive(Serialize)]
struct Format {
    provider: &'static str,
    options: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetaData {
    id: String,
    name: &'static str,
    format: Format,
    schema_string: String,
    partition_columns: Vec<String>,
    configuration: BTreeMap<String, String>,
    created_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Add<'a> {
    path: String,
    partition_values: BTreeMap<&'static str, Option<&'a str>>,
    size: u64,
    modification_time: i64,
    data_change: bool,
    stats: &'a str,
}

fn line(out: &mut String, key: &str, value: &impl Serialize) {
    out.push_str("{\"");
    out.push_str(key);
    out.push_str("\":");
    out.push_str(&serde_json::to_string(value).unwrap_or_default());
    out.push_str("}\n");
}

/// Percent-encodes what a URI path may not hold as is (the protocol's
/// `add.path` is a URI reference); testgen's names need none.
pub fn encode_path(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/=".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The version-0 commit of `table` with `files` (in the order given: the
/// callers list them by path), one action per line.
pub fn table_log(table: &'static Table, files: &[LogFile], p: LogParams) -> String {
    let mut out = String::new();
    let partitioned = mapping::partition_source(table).is_some();
    let mut params = BTreeMap::new();
    params.insert("mode", "ErrorIfExists".to_string());
    params.insert(
        "partitionBy",
        serde_json::to_string(&partition_columns(table)).unwrap_or_default(),
    );
    let info = CommitInfo {
        timestamp: p.time_ms,
        operation: "WRITE",
        operation_parameters: params,
        is_blind_append: true,
        engine_info: concat!("thrum-fixtures ", env!("CARGO_PKG_VERSION")),
    };
    line(&mut out, "commitInfo", &info);
    line(
        &mut out,
        "protocol",
        &Protocol { min_reader_version: PROTOCOL.0, min_writer_version: PROTOCOL.1 },
    );
    let meta = MetaData {
        id: table_id(p.seed, table.name),
        name: table.name,
        format: Format { provider: "parquet", options: BTreeMap::new() },
        schema_string: schema_string(table),
        partition_columns: partition_columns(table),
        configuration: BTreeMap::new(),
        created_time: p.time_ms,
    };
    line(&mut out, "metaData", &meta);
    for f in files {
        let mut partition_values = BTreeMap::new();
        if partitioned {
            partition_values.insert(PARTITION_COLUMN, f.partition_day());
        }
        let add = Add {
            path: encode_path(&f.path),
            partition_values,
            size: f.size,
            modification_time: p.time_ms,
            data_change: true,
            stats: &f.stats,
        };
        line(&mut out, "add", &add);
    }
    out
}

/// A log [`write_logs`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenLog {
    /// The table.
    pub table: &'static str,
    /// Relative to the datasets' directory ([`log_path`]).
    pub rel_path: String,
    /// The log's bytes.
    pub text: String,
}

/// The logs of every catalogue table whose files are `files` (every file
/// of the datasets, of one or several sinks), in catalogue order.
pub fn logs_of(files: &[crate::WrittenFile], p: LogParams) -> Vec<WrittenLog> {
    thrum_schemas::catalogue::TABLES
        .iter()
        .map(|t| {
            let mut mine: Vec<LogFile> = files
                .iter()
                .filter(|f| f.table == t.name)
                .map(crate::WrittenFile::log_file)
                .collect();
            mine.sort_by(|a, b| a.path.cmp(&b.path));
            WrittenLog { table: t.name, rel_path: log_path(t.name), text: table_log(t, &mine, p) }
        })
        .collect()
}

/// Writes [`logs_of`] `files` into `dir`, the datasets' directory of a
/// sink that has finished (a new directory of the writer's own: plain
/// writes, no other process writes there).
pub fn write_logs(
    dir: &std::path::Path,
    files: &[crate::WrittenFile],
    p: LogParams,
) -> crate::Result<Vec<WrittenLog>> {
    use crate::error::IoContext;
    let logs = logs_of(files, p);
    for l in &logs {
        let path = dir.join(&l.rel_path);
        let parent = dir.join(l.table).join(LOG_DIR);
        std::fs::create_dir_all(&parent).io("create directory", &parent)?;
        std::fs::write(&path, &l.text).io("write", &path)?;
    }
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use thrum_schemas::catalogue as cat;

    #[test]
    fn ids_are_uuids_of_the_seed_and_table() {
        let a = table_id(42, "messages");
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_ne!(a, table_id(43, "messages"));
        assert_ne!(a, table_id(42, "events"));
        assert_eq!(a, table_id(42, "messages"));
    }

    #[test]
    fn a_partitioned_log_line_by_line() {
        let files = [LogFile {
            path: "date=2026-03-02/part-00001.parquet".into(),
            size: 7,
            stats: "{\"numRecords\":0}".into(),
        }];
        let log = table_log(&cat::EVENTS, &files, LogParams { seed: 1, time_ms: 5 });
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            concat!(
                r#"{"commitInfo":{"timestamp":5,"operation":"WRITE","#,
                r#""operationParameters":{"mode":"ErrorIfExists","partitionBy":"[\"date\"]"},"#,
                r#""isBlindAppend":true,"engineInfo":"thrum-fixtures 0.1.0"}}"#
            )
        );
        assert_eq!(lines[1], r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#);
        assert!(
            lines[2]
                .contains(r#""partitionColumns":["date"],"configuration":{},"createdTime":5}}"#),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].contains(
                r#"{\"name\":\"date\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}}]}"#
            ),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[3],
            concat!(
                r#"{"add":{"path":"date=2026-03-02/part-00001.parquet","#,
                r#""partitionValues":{"date":"2026-03-02"},"size":7,"modificationTime":5,"#,
                r#""dataChange":true,"stats":"{\"numRecords\":0}"}}"#
            )
        );
        assert_eq!(encode_path("a b/é"), "a%20b/%C3%A9");
    }
}
