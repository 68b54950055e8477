//! Compares a Parquet dataset directory with a SQLite database, value for
//! value, after inverting the documented mapping (see [`crate::mapping`]).
//!
//! Both sides are streamed in primary-key order and merge-joined, so memory
//! does not grow with the number of rows. Per table the report gives the row
//! counts, the rows missing from Parquet, the extra rows, the rows whose
//! values differ, rows stored under the wrong day partition, Parquet rows out
//! of key order, structural problems (layout, schema) and the first
//! differences with their key and column.

mod files;
mod read;

use crate::delta::check::{DeltaProblem, Found};
use crate::delta::stats::FileStats;
use crate::delta::{self, SLICES_DIR};
use crate::error::{Error, IoContext, PqContext, Result};
use crate::mapping;
use files::{dataset_files, fields_problems, PartFile};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use read::{sqlite_cell, PRow, ParquetRows};
use rusqlite::Connection;
use std::cmp::Ordering;
use std::fmt;
use std::path::Path;
use thrum_schemas::catalogue::{Cell, Table, TABLES};

/// Differences kept per table (the counters cover all of them).
pub const MAX_DIFFERENCES: usize = 20;

/// The kind of a [`Difference`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// In SQLite, not in Parquet.
    Missing,
    /// In Parquet, not in SQLite.
    Extra,
    /// Same key, different value in `column`.
    Differs,
    /// Parquet row not after the previous one in key order.
    Unsorted,
    /// Parquet row under a `date=` partition that is not its day.
    Misplaced,
}

/// One difference, in SQLite terms (the Parquet value is shown inverted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What differs.
    pub kind: DiffKind,
    /// `col=value, …` of the primary key.
    pub key: String,
    /// The differing column ([`DiffKind::Differs`] only).
    pub column: Option<&'static str>,
    /// The Parquet side's value, in SQLite terms, when it has one.
    pub parquet: Option<String>,
    /// The SQLite side's value, when it has one.
    pub sqlite: Option<String>,
}

/// What the comparison found for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Parquet files of its dataset.
    pub files: usize,
    /// Rows read from Parquet.
    pub parquet_rows: u64,
    /// Rows read from SQLite.
    pub sqlite_rows: u64,
    /// Rows in SQLite, not in Parquet.
    pub missing: u64,
    /// Rows in Parquet, not in SQLite.
    pub extra: u64,
    /// Rows present on both sides with at least one differing column.
    pub differing: u64,
    /// Parquet rows under a `date=` partition that is not their day.
    pub misplaced: u64,
    /// Parquet rows not after the previous one in key order.
    pub unsorted: u64,
    /// Layout and schema problems; rows are not compared when the schema is wrong.
    pub problems: Vec<String>,
    /// The first [`MAX_DIFFERENCES`] differences.
    pub differences: Vec<Difference>,
    /// Problems of the table's Delta log counted ([`crate::delta`]).
    pub delta_problems: u64,
    /// The first [`MAX_DIFFERENCES`] of them.
    pub delta: Vec<DeltaProblem>,
}

impl TableReport {
    /// The table's result line: `NAME ok|MISMATCH parquet=N sqlite=N files=N
    /// missing=N extra=N differing=N misplaced=N unsorted=N` (no newline).
    pub fn line(&self) -> String {
        let verdict = if self.is_clean() { "ok" } else { "MISMATCH" };
        format!(
            "{:<20} {verdict:<8} parquet={} sqlite={} files={} missing={} extra={} \
                differing={} misplaced={} unsorted={}",
            self.table,
            self.parquet_rows,
            self.sqlite_rows,
            self.files,
            self.missing,
            self.extra,
            self.differing,
            self.misplaced,
            self.unsorted
        )
    }

    fn new(table: &'static str) -> TableReport {
        TableReport {
            table,
            files: 0,
            parquet_rows: 0,
            sqlite_rows: 0,
            missing: 0,
            extra: 0,
            differing: 0,
            misplaced: 0,
            unsorted: 0,
            problems: Vec::new(),
            differences: Vec::new(),
            delta_problems: 0,
            delta: Vec::new(),
        }
    }
    /// Whether the table's two sides agree entirely.
    pub fn is_clean(&self) -> bool {
        self.missing == 0
            && self.extra == 0
            && self.differing == 0
            && self.misplaced == 0
            && self.unsorted == 0
            && self.problems.is_empty()
            && self.delta_problems == 0
            && self.parquet_rows == self.sqlite_rows
    }
    fn note(&mut self, d: Difference) {
        if self.differences.len() < MAX_DIFFERENCES {
            self.differences.push(d);
        }
    }

    /// A key on one side only: `Extra` (Parquet's) or `Missing` (SQLite's).
    fn unmatched(&mut self, kind: DiffKind, key: String) {
        match kind {
            DiffKind::Extra => self.extra += 1,
            _ => self.missing += 1,
        }
        self.note(Difference { kind, key, column: None, parquet: None, sqlite: None });
    }
}

/// What the comparison of a dataset directory with a database found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// One per catalogue table, in catalogue order.
    pub tables: Vec<TableReport>,
    /// Entries of the dataset directory that are not a catalogue table.
    pub unexpected: Vec<String>,
}

impl Report {
    /// Whether every table agrees and nothing unexpected is present.
    pub fn is_clean(&self) -> bool {
        self.unexpected.is_empty() && self.tables.iter().all(TableReport::is_clean)
    }
    /// The report of table `name`.
    pub fn table(&self, name: &str) -> Option<&TableReport> {
        self.tables.iter().find(|t| t.table == name)
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DiffKind::Missing => "missing from parquet",
            DiffKind::Extra => "extra in parquet",
            DiffKind::Differs => "differs",
            DiffKind::Unsorted => "out of key order",
            DiffKind::Misplaced => "wrong partition",
        };
        write!(f, "{kind}: [{}]", self.key)?;
        if let Some(c) = self.column {
            write!(f, " column {c}")?;
        }
        if let Some(p) = &self.parquet {
            write!(f, " parquet={p}")?;
        }
        if let Some(s) = &self.sqlite {
            write!(f, " sqlite={s}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tables {
            writeln!(f, "{}", t.line())?;
            for p in &t.problems {
                writeln!(f, "    problem: {p}")?;
            }
            for d in &t.differences {
                writeln!(f, "    {d}")?;
            }
            for d in &t.delta {
                writeln!(f, "    delta log: {}", d.text)?;
            }
        }
        for u in &self.unexpected {
            writeln!(f, "unexpected entry: {u}")?;
        }
        Ok(())
    }
}

/// Checks the dataset directory `parquet_dir` against the SQLite database
/// at `sqlite_db`, opened as untrusted input ([`thrum_io::untrusted::open`]:
/// read-only, its objects checked before any query, its work bounded). With
/// no `-wal` file beside it (a database closed cleanly) it is opened
/// immutable, so that nothing is written beside it, not even the `-shm`
/// file a WAL database otherwise gets.
pub fn check(parquet_dir: &Path, sqlite_db: &Path) -> Result<Report> {
    use thrum_io::untrusted::{self, Spent};
    let budget = untrusted::budget_for(untrusted::file_bytes(sqlite_db));
    let spent = Spent::default();
    let conn = match thrum_io::uri::immutable(sqlite_db) {
        Some(uri) if !thrum_io::uri::wal_path(sqlite_db).exists() => {
            untrusted::open(uri, true, sqlite_db, budget, &spent)?
        }
        _ => untrusted::open(sqlite_db, false, sqlite_db, budget, &spent)?,
    };
    let report = check_connection(parquet_dir, &conn, sqlite_db);
    // an interrupted read proves nothing, whatever it reported
    spent.settle(sqlite_db, budget)?;
    report
}

/// [`check`] on an open connection; `db_label` names it in errors.
pub fn check_connection(parquet_dir: &Path, conn: &Connection, db_label: &Path) -> Result<Report> {
    let mut report = Report::default();
    let mut entries: Vec<String> = Vec::new();
    for e in std::fs::read_dir(parquet_dir).io("read directory", parquet_dir)? {
        let e = e.io("read directory", parquet_dir)?;
        entries.push(e.file_name().to_string_lossy().into_owned());
    }
    entries.sort();
    // a lake's records of its slices (testgen --lake) are no dataset
    report.unexpected = entries
        .into_iter()
        .filter(|n| n != SLICES_DIR && !TABLES.iter().any(|t| t.name == *n))
        .collect();
    for t in TABLES {
        report.tables.push(check_table(parquet_dir, conn, db_label, t)?);
    }
    Ok(report)
}

fn cmp_keys(pk: &[usize], a: &[Cell], b: &[Cell]) -> Ordering {
    pk.iter().map(|&i| a[i].cmp(&b[i])).find(|o| *o != Ordering::Equal).unwrap_or(Ordering::Equal)
}

fn check_table(
    parquet_dir: &Path,
    conn: &Connection,
    db_label: &Path,
    t: &'static Table,
) -> Result<TableReport> {
    let mut rep = TableReport::new(t.name);
    let files = dataset_files(parquet_dir, t, &mut rep.problems)?;
    rep.files = files.len();
    let expected = mapping::arrow_schema(t);
    let mut stats: Vec<FileStats> = files.iter().map(|_| FileStats::new(&expected)).collect();
    let read_all = compare_rows(conn, db_label, t, &files, &mut stats, &mut rep)?;
    let dir = parquet_dir.join(t.name);
    if dir.is_dir() {
        let mut found = Vec::with_capacity(files.len());
        for (f, st) in files.iter().zip(&stats) {
            let size = std::fs::symlink_metadata(&f.path).io("stat", &f.path)?.len();
            let path = f
                .rel
                .strip_prefix(t.name)
                .and_then(|r| r.strip_prefix('/'))
                .unwrap_or(&f.rel)
                .to_string();
            found.push(Found { path, size, stats: read_all.then(|| st.to_json()) });
        }
        let problems = delta::check::check_log(&dir, t, &found)?;
        rep.delta_problems = problems.len() as u64;
        rep.delta = problems.into_iter().take(MAX_DIFFERENCES).collect();
    }
    Ok(rep)
}

/// Every file's schema against the table's; whether all match (so rows
/// can be compared) and the rows the files declare.
fn check_schemas(
    t: &'static Table,
    files: &[PartFile],
    rep: &mut TableReport,
) -> Result<(bool, u64)> {
    let expected = mapping::arrow_schema(t);
    let mut comparable = true;
    let mut file_rows = 0u64;
    for f in files {
        let file = thrum_io::regular::open_regular(&f.path).io("open", &f.path)?;
        let b = ParquetRecordBatchReaderBuilder::try_new(file).pq(&f.path)?;
        file_rows += b.metadata().file_metadata().num_rows().max(0) as u64;
        let probs = fields_problems(&f.rel, &expected, b.schema());
        if !probs.is_empty() {
            comparable = false;
            rep.problems.extend(probs);
        }
    }
    Ok((comparable, file_rows))
}

/// A Parquet row is in the partition of its day and after the row before
/// it (`prev`) in key order.
fn check_placement(
    t: &'static Table,
    pk: &[usize],
    prev: Option<&[Cell<'static>]>,
    row: &PRow,
    rep: &mut TableReport,
) {
    let key_of = |cells: &[Cell]| crate::sink::render_key(t, pk, cells);
    if let Some((day, Some(part_day))) = row.days {
        if day != part_day {
            rep.misplaced += 1;
            rep.note(Difference {
                kind: DiffKind::Misplaced,
                key: key_of(&row.cells),
                column: mapping::partition_source(t),
                parquet: Some(format!(
                    "{}={}",
                    mapping::PARTITION_COLUMN,
                    crate::time_fmt::day_name(part_day)
                )),
                sqlite: Some(format!("day {}", crate::time_fmt::day_name(day))),
            });
        }
    }
    if let Some(p) = prev {
        if cmp_keys(pk, p, &row.cells) != Ordering::Less {
            rep.unsorted += 1;
            rep.note(Difference {
                kind: DiffKind::Unsorted,
                key: key_of(&row.cells),
                column: None,
                parquet: Some(format!("after [{}]", key_of(p))),
                sqlite: None,
            });
        }
    }
}

/// The cells of one key in Parquet (`pr`) and SQLite (`sr`), column by column.
fn compare_cells(t: &'static Table, pk: &[usize], pr: &[Cell], sr: &[Cell], rep: &mut TableReport) {
    let mut differs = false;
    for (i, c) in t.columns.iter().enumerate() {
        if pr[i] != sr[i] {
            differs = true;
            rep.note(Difference {
                kind: DiffKind::Differs,
                key: crate::sink::render_key(t, pk, sr),
                column: Some(c.name),
                parquet: Some(pr[i].to_string()),
                sqlite: Some(sr[i].to_string()),
            });
        }
    }
    if differs {
        rep.differing += 1;
    }
}

/// Whether the rows of `t` can be compared: the table exists in SQLite
/// and the files' schemas are `comparable`. When not, the problem and the
/// row counts (`file_rows` the files declare) are in `rep`.
fn comparable_in_sqlite(
    conn: &Connection,
    t: &Table,
    comparable: bool,
    file_rows: u64,
    rep: &mut TableReport,
) -> rusqlite::Result<bool> {
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [t.name],
        |r| r.get(0),
    )?;
    if exists == 0 {
        rep.problems.push(format!("table {} does not exist in the SQLite database", t.name));
        rep.parquet_rows = file_rows;
        return Ok(false);
    }
    if !comparable {
        rep.parquet_rows = file_rows;
        rep.sqlite_rows = conn
            .query_row(&format!("SELECT count(*) FROM \"{}\"", t.name), [], |r| r.get::<_, i64>(0))?
            .max(0) as u64;
        return Ok(false);
    }
    Ok(true)
}

/// Compares the rows of `files` with the table in SQLite into `rep`,
/// adding each file's rows to its `stats`; whether every row was read.
fn compare_rows(
    conn: &Connection,
    db_label: &Path,
    t: &'static Table,
    files: &[PartFile],
    stats: &mut [FileStats],
    rep: &mut TableReport,
) -> Result<bool> {
    let sq_err = |source| Error::Sqlite { path: db_label.to_path_buf(), source };
    let (comparable, file_rows) = check_schemas(t, files, rep)?;
    if !comparable_in_sqlite(conn, t, comparable, file_rows, rep).map_err(sq_err)? {
        return Ok(false);
    }
    let pk: Vec<usize> = t.primary_key.iter().filter_map(|k| t.column_index(k)).collect();
    let key_of = |cells: &[Cell]| crate::sink::render_key(t, &pk, cells);
    let mut stmt = conn.prepare(&t.select_sql()).map_err(sq_err)?;
    let ncols = t.columns.len();
    let mut rows = stmt.query([]).map_err(sq_err)?;
    let mut next_sqlite = || -> Result<Option<Vec<Cell<'static>>>> {
        match rows.next().map_err(sq_err)? {
            None => Ok(None),
            Some(r) => (0..ncols)
                .map(|i| r.get_ref(i).map(sqlite_cell).map_err(sq_err))
                .collect::<Result<Vec<_>>>()
                .map(Some),
        }
    };
    let mut pq = ParquetRows::new(t, files, stats);
    let mut prev: Option<Vec<Cell<'static>>> = None;
    let mut next_parquet = |rep: &mut TableReport| -> Result<Option<Vec<Cell<'static>>>> {
        let Some(row) = pq.next()? else { return Ok(None) };
        rep.parquet_rows += 1;
        check_placement(t, &pk, prev.as_deref(), &row, rep);
        prev = Some(row.cells.clone());
        Ok(Some(row.cells))
    };
    let mut p = next_parquet(rep)?;
    let mut s = next_sqlite()?;
    if s.is_some() {
        rep.sqlite_rows += 1;
    }
    loop {
        let ord = match (&p, &s) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(pr), Some(sr)) => cmp_keys(&pk, pr, sr),
        };
        match ord {
            Ordering::Less => {
                if let Some(pr) = &p {
                    rep.unmatched(DiffKind::Extra, key_of(pr));
                }
                p = next_parquet(rep)?;
            }
            Ordering::Greater => {
                if let Some(sr) = &s {
                    rep.unmatched(DiffKind::Missing, key_of(sr));
                }
                s = next_sqlite()?;
                if s.is_some() {
                    rep.sqlite_rows += 1;
                }
            }
            Ordering::Equal => {
                if let (Some(pr), Some(sr)) = (&p, &s) {
                    compare_cells(t, &pk, pr, sr, rep);
                }
                p = next_parquet(rep)?;
                s = next_sqlite()?;
                if s.is_some() {
                    rep.sqlite_rows += 1;
                }
            }
        }
    }
    Ok(true)
}
