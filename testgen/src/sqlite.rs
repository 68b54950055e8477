//! The SQLite sink: a schema-v13 database filled from the plan's rows (never
//! by replaying the JSONL), with no wall-clock value, in WAL mode as the
//! daemon leaves it, and no -wal/-shm left.

use crate::error::{Error, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};
use std::path::{Path, PathBuf};
use thrum_schemas::catalogue::{Cell, Table, TABLES};

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

/// An open database being filled in one transaction.
pub struct Db {
    conn: Connection,
    path: PathBuf,
    insert_sql: Vec<(&'static str, String)>,
    indexes: String,
    /// Rows inserted per table (manifest counts without re-scanning).
    counts: std::cell::RefCell<std::collections::BTreeMap<String, u64>>,
    /// Leave the file in WAL mode, as a v13 daemon does (see [`Db::close_unchecked`]).
    wal: bool,
}

/// SQLite's page cache while the rows are loaded, KiB: at the end of a
/// `large` run's load it is full while the Parquet writer's row groups are
/// open, the peak of the run (the bytes do not depend on it).
const LOAD_CACHE_KIB: u32 = 32768;
/// SQLite's page cache, and so each index sorter's memory, while the
/// indexes are built, KiB.
const INDEX_CACHE_KIB: u32 = 16384;

/// Splits DDL into (everything but CREATE INDEX, the CREATE INDEX statements).
fn split_indexes(ddl: &str) -> (String, String) {
    let (mut tables, mut indexes) = (String::new(), String::new());
    for line in ddl.lines() {
        if line.starts_with("CREATE INDEX") {
            indexes.push_str(line);
            indexes.push('\n');
        } else {
            tables.push_str(line);
            tables.push('\n');
        }
    }
    (tables, indexes)
}

impl Db {
    /// Creates a fresh v13 database at `path` (which must not exist), left
    /// in WAL mode when closed, as the daemon leaves it.
    pub fn create(path: &Path) -> Result<Db> {
        let mut db = Db::create_with(path, thrum_schemas::sql::V13)?;
        db.wal = true;
        Ok(db)
    }

    /// Creates a database at `path` from `ddl` (left in rollback-journal mode).
    pub fn create_with(path: &Path, ddl: &str) -> Result<Db> {
        let err = |source| Error::Sqlite { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(err)?;
        // Bulk load: no journal while filling (the file is a temporary until
        // the run publishes it), rollback journal mode when done.
        conn.execute_batch(&format!(
            "PRAGMA page_size=4096; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA \
                foreign_keys=ON; PRAGMA cache_size=-{LOAD_CACHE_KIB};",
        ))
        .map_err(err)?;
        // Tables first; secondary indexes are built after the bulk load
        // (one sort each instead of a random B-tree insert per row).
        let (tables, indexes) = split_indexes(ddl);
        conn.execute_batch(&tables).map_err(err)?;
        conn.execute_batch("BEGIN").map_err(err)?;
        let insert_sql = TABLES
            .iter()
            .map(|t| {
                let cols: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
                let marks = vec!["?"; cols.len()].join(", ");
                (
                    t.name,
                    format!("INSERT INTO \"{}\" ({}) VALUES ({marks})", t.name, cols.join(", ")),
                )
            })
            .collect();
        Ok(Db {
            conn,
            path: path.to_path_buf(),
            insert_sql,
            indexes,
            counts: Default::default(),
            wal: false,
        })
    }

    /// The open connection (inside the load's transaction), for writers
    /// that apply their own SQL (the mesh's daemons).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Sqlite { path: self.path.clone(), source }
    }

    /// Prepared INSERT statements for every catalogue table.
    pub fn inserter(&self) -> Result<Inserter<'_>> {
        Ok(Inserter {
            db: self,
            stmts: self.insert_sql.iter().map(|_| None).collect(),
            rows: vec![0; self.insert_sql.len()],
        })
    }

    /// Inserts one row of `table` (a convenience for small tables).
    pub fn insert(&self, table: &Table, row: &[Cell]) -> Result<()> {
        self.inserter()?.insert(table, row)
    }

    /// Inserts one row into `table` (columns given by name), for tables
    /// outside the v13 catalogue (the v5 layout).
    pub fn insert_into(&self, table: &str, columns: &[&str], row: &[Cell]) -> Result<()> {
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!("INSERT INTO \"{table}\" ({}) VALUES ({marks})", columns.join(", "));
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let binds: Vec<Bind> = row.iter().map(Bind).collect();
        stmt.execute(rusqlite::params_from_iter(binds.iter())).map_err(|e| self.err(e))?;
        *self.counts.borrow_mut().entry(table.to_string()).or_insert(0) += 1;
        Ok(())
    }

    /// Builds the indexes, commits, checks the file and closes it; returns
    /// per-table row counts.
    pub fn finish(self) -> Result<Vec<(String, u64)>> {
        let (counts, check) = self.close_unchecked()?;
        check.run()?;
        Ok(counts)
    }

    /// Builds the indexes, commits, switches to WAL mode (v13) or the
    /// rollback journal (v5), closes the file (so no -wal/-shm files are
    /// left) and returns per-table row
    /// counts and the check still to run on the closed file (it only reads,
    /// so it can run beside other readers such as the archive).
    pub fn close_unchecked(self) -> Result<(Vec<(String, u64)>, Check)> {
        // The sorter of each index takes as much memory as the page cache
        // may: both smaller while the indexes are built, beside the
        // archive's buffers (the bytes do not depend on it)
        let index_cache = format!("PRAGMA cache_size=-{INDEX_CACHE_KIB};");
        self.conn.execute_batch(&index_cache).map_err(|e| self.err(e))?;
        self.conn.execute_batch(&self.indexes).map_err(|e| self.err(e))?;
        self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
        let names = table_names(&self.conn).map_err(|e| self.err(e))?;
        let inserted = self.counts.borrow();
        let counts: Vec<(String, u64)> = names
            .into_iter()
            .map(|n| {
                let c = inserted.get(&n).copied().unwrap_or(0);
                (n, c)
            })
            .collect();
        drop(inserted);
        // A v13 daemon opens its database with journal_mode=WAL, which is
        // recorded in the file header (bytes 18 and 19 are 2). Switching to
        // WAL and closing the only connection checkpoints and removes the
        // -wal and -shm files: one file, as a stopped daemon leaves it, and
        // the same bytes every time (no wall-clock value is involved).
        let mode = if self.wal { "WAL" } else { "DELETE" };
        self.conn
            .execute_batch(&format!("PRAGMA journal_mode={mode};"))
            .map_err(|e| self.err(e))?;
        let Db { conn, path, .. } = self;
        conn.close().map_err(|(_, e)| Error::Sqlite { path: path.clone(), source: e })?;
        Ok((counts, Check { path }))
    }
}

/// The checks of a written database: `PRAGMA quick_check` (every page and
/// b-tree well formed, every row well formed and within its constraints)
/// and `PRAGMA foreign_key_check`, on a read-only connection. The full
/// `integrity_check`, which also compares every index with its table, is
/// left to `verify` (which runs it on every fixture it checks) so that it
/// is not done twice.
#[derive(Debug, Clone)]
pub struct Check {
    path: PathBuf,
}

impl Check {
    pub fn run(&self) -> Result<()> {
        let err = |source| Error::Sqlite { path: self.path.clone(), source };
        // immutable: the database is closed and in WAL mode; a plain read-only
        // connection would create -wal/-shm files beside it (while the archive
        // is reading the tree)
        use rusqlite::OpenFlags as F;
        let uri = thrum_io::uri::immutable(&self.path).ok_or_else(|| {
            Error::Usage(format!(
                "{}: the path is not valid UTF-8",
                thrum_io::text::shown_path(&self.path)
            ))
        })?;
        let conn = Connection::open_with_flags(
            uri,
            F::SQLITE_OPEN_READ_ONLY | F::SQLITE_OPEN_URI | F::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(err)?;
        if check != "ok" {
            return Err(Error::Integrity { path: self.path.clone(), detail: check });
        }
        let mut stmt = conn.prepare("PRAGMA foreign_key_check").map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        if let Some(r) = rows.next().map_err(err)? {
            let detail = format!(
                "foreign key violation in table {} row {:?}",
                r.get::<_, String>(0).unwrap_or_default(),
                r.get::<_, i64>(1).ok()
            );
            return Err(Error::Integrity { path: self.path.clone(), detail });
        }
        Ok(())
    }
}

/// Prepared statements of one [`Db`]; binds cells without allocating.
pub struct Inserter<'a> {
    db: &'a Db,
    /// Prepared on first use (a v5 database lacks some v13 tables).
    stmts: Vec<Option<rusqlite::Statement<'a>>>,
    rows: Vec<u64>,
}

impl Drop for Inserter<'_> {
    fn drop(&mut self) {
        let mut counts = self.db.counts.borrow_mut();
        for (i, n) in self.rows.iter().enumerate() {
            if *n > 0 {
                *counts.entry(self.db.insert_sql[i].0.to_string()).or_insert(0) += n;
            }
        }
    }
}

impl Inserter<'_> {
    pub fn insert(&mut self, table: &Table, row: &[Cell]) -> Result<()> {
        let i = TABLES
            .iter()
            .position(|t| t.name == table.name)
            .ok_or_else(|| Error::Usage(format!("unknown table {}", table.name)))?;
        self.insert_at(i, row)
    }

    /// Inserts one row of `TABLES[i]`.
    pub fn insert_at(&mut self, i: usize, row: &[Cell]) -> Result<()> {
        if i >= self.stmts.len() {
            return Err(Error::Usage(format!("no catalogue table number {i}")));
        }
        if self.stmts[i].is_none() {
            self.stmts[i] =
                Some(self.db.conn.prepare(&self.db.insert_sql[i].1).map_err(|e| self.db.err(e))?);
        }
        let Some(stmt) = self.stmts[i].as_mut() else { unreachable!("prepared above") };
        for (k, c) in row.iter().enumerate() {
            stmt.raw_bind_parameter(k + 1, Bind(c)).map_err(|e| self.db.err(e))?;
        }
        stmt.raw_execute().map_err(|e| self.db.err(e))?;
        self.rows[i] += 1;
        Ok(())
    }
}

/// The database's own tables (not SQLite's), by name.
pub(crate) fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT \
        LIKE 'sqlite_%' ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}
