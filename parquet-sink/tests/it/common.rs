//! Test support: drives a plan's rows exactly as testgen does (small tables,
//! the message pass, the event pass), and a plain rusqlite v13 database.
//! Also compiled into `examples/write_small.rs`, which uses part of it.
#![allow(dead_code)]

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};
use std::path::Path;
use thrum_gen::render::{self, Scratch};
use thrum_gen::rows::{self, MESSAGE_TABLES};
use thrum_gen::{slice_messages, Timeline};
use thrum_gen::{Plan, Profile};
use thrum_parquet::{ParquetOptions, ParquetSink, WrittenFile};
use thrum_schemas::catalogue::{Cell, Table, EVENTS, TABLES};

pub const SEED: u64 = 42;

pub fn small_plan() -> Plan {
    Plan::new(SEED, Profile::small()).expect("small profile is valid")
}

/// Every row of every table, each table in primary-key order, in the order
/// testgen's `write_tree` produces them.
pub fn each_row<E>(
    plan: &Plan,
    f: impl FnMut(&'static Table, &[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    each_row_of_slice(plan, 0, 1, f)
}

/// The rows of slice `i` of `n` (as `testgen --shard I/N` splits a plan):
/// the small tables in slice 0, messages and events by index range.
pub fn each_row_of_slice<E>(
    plan: &Plan,
    i: u64,
    n: u64,
    mut f: impl FnMut(&'static Table, &[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    for t in TABLES {
        if MESSAGE_TABLES.iter().any(|m| m.name == t.name) || t.name == EVENTS.name || i > 0 {
            continue;
        }
        rows::small_rows(plan, t, |row| f(t, row))?;
    }
    rows::message_rows(plan, slice_messages(plan.profile.messages, i, n), &mut f)?;
    let mut line = String::new();
    let mut sc = Scratch::default();
    for e in Timeline::slice(plan, i, n) {
        line.clear();
        render::line(plan, &e, &mut line, &mut sc);
        f(&EVENTS, &rows::event_row(plan, &e, rows::event_type(&e), &line))?;
    }
    Ok(())
}

struct Bind<'a>(&'a Cell<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Cell::Null => ValueRef::Null,
            Cell::Int(i) => ValueRef::Integer(*i),
            Cell::Text(t) => ValueRef::Text(t.as_bytes()),
        }))
    }
}

/// A fresh v13 database filled in one transaction.
pub struct Db {
    pub conn: Connection,
}

impl Db {
    pub fn create(path: &Path) -> Db {
        let conn = Connection::open(path).expect("open sqlite");
        conn.execute_batch(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON;",
        )
        .expect("pragmas");
        conn.execute_batch(thrum_schemas::sql::V13).expect("v13 ddl");
        conn.execute_batch("BEGIN").expect("begin");
        Db { conn }
    }
    pub fn insert(&self, t: &Table, row: &[Cell]) -> rusqlite::Result<()> {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            t.name,
            cols.join(", "),
            vec!["?"; cols.len()].join(", ")
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        stmt.execute(rusqlite::params_from_iter(row.iter().map(Bind)))?;
        Ok(())
    }
    pub fn finish(self) {
        self.conn.execute_batch("COMMIT; PRAGMA journal_mode=DELETE;").expect("commit");
    }
}

/// Row filter applied to both sinks (e.g. to simulate a pre-heartbeat agent).
pub type Edit = fn(&'static Table, &mut [Cell<'static>]);

/// Writes `plan` both as Parquet under `parquet_dir` and as SQLite at `db_path`.
pub fn write_both(
    plan: &Plan,
    parquet_dir: &Path,
    db_path: &Path,
    opts: ParquetOptions,
    edit: Option<Edit>,
) -> Vec<WrittenFile> {
    let mut sink = ParquetSink::create(parquet_dir, opts).expect("create sink");
    let db = Db::create(db_path);
    each_row(plan, |t, row| -> Result<(), String> {
        match edit {
            Some(edit) => {
                let mut owned: Vec<Cell<'static>> =
                    row.iter().cloned().map(Cell::into_owned).collect();
                edit(t, &mut owned);
                sink.push(t, &owned).map_err(|e| e.to_string())?;
                db.insert(t, &owned).map_err(|e| e.to_string())
            }
            None => {
                sink.push(t, row).map_err(|e| e.to_string())?;
                db.insert(t, row).map_err(|e| e.to_string())
            }
        }
    })
    .expect("feed rows");
    db.finish();
    let files = sink.finish().expect("finish sink");
    thrum_parquet::delta::write_logs(parquet_dir, &files, log_params(plan))
        .expect("write the Delta logs");
    files
}

/// The Delta log values of a plan's datasets (as testgen writes them).
pub fn log_params(plan: &Plan) -> thrum_parquet::delta::LogParams {
    thrum_parquet::delta::LogParams { seed: plan.seed, time_ms: plan.snapshot / 1000 }
}

/// Writes only the Parquet side.
pub fn write_parquet(plan: &Plan, dir: &Path, opts: ParquetOptions) -> Vec<WrittenFile> {
    let mut sink = ParquetSink::create(dir, opts).expect("create sink");
    each_row(plan, |t, row| sink.push(t, row)).expect("feed rows");
    let files = sink.finish().expect("finish sink");
    thrum_parquet::delta::write_logs(dir, &files, log_params(plan)).expect("write the Delta logs");
    files
}

/// Writes `OUT/parquet` and `OUT/thrum-fixture.tar.zst` (holding
/// `.thrum/var/messages.db`), the layout `scripts/interop_check.py` reads.
pub fn write_fixture_dir(
    plan: &Plan,
    out: &Path,
    opts: ParquetOptions,
) -> Result<Vec<WrittenFile>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let stage = tempfile::tempdir_in(out)?;
    let var = stage.path().join(".thrum/var");
    std::fs::create_dir_all(&var)?;
    let files = write_both(plan, &out.join("parquet"), &var.join("messages.db"), opts, None);
    let archive = std::fs::File::create(out.join("thrum-fixture.tar.zst"))?;
    let mut tar = tar::Builder::new(zstd::stream::Encoder::new(archive, 9)?);
    tar.append_dir_all(".thrum", stage.path().join(".thrum"))?;
    tar.into_inner()?.finish()?;
    Ok(files)
}
