//! Every input database is untrusted: the one way verify opens one.
//!
//! A SQLite file carries SQL of its own: a view, a virtual table, a trigger
//! or a generated column runs whatever its author wrote when verify reads
//! the object (a recursive view never ends, or fills the memory). A Thrum
//! database holds only tables and indexes, so before any query the schema
//! is read and any such object is refused as unusable input, named. The
//! connection is then read-only, defensive (`SQLITE_DBCONFIG_DEFENSIVE`),
//! with `trusted_schema=OFF`, views and triggers disabled, and two bounds
//! on what is left (index expressions, CHECK constraints):
//!
//! * a work budget: SQLite's progress handler interrupts the connection
//!   once it has run more virtual-machine instructions than a database of
//!   its size needs ([`budget_for`]); the [`Spent`] flag then turns the
//!   whole command into unusable input ([`Spent::settle`]);
//! * a heap limit: SQLite's hard heap limit ([`HEAP_LIMIT`]), process-wide.
//!
//! Verify's own replay databases are trusted (it builds them): they are not
//! opened here, but share the process-wide heap limit.

use crate::error::InputError;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

/// SQLite's hard heap limit, for the whole process (every connection, the
/// replay databases included). Verifying the `large` profile peaks at
/// 70 MiB of SQLite heap (277 MiB resident in all); `verify mesh` verifies
/// its daemons one after the other.
pub const HEAP_LIMIT: i64 = 512 << 20;
/// Virtual-machine instructions between two calls of the progress handler.
const STEP: i32 = 10_000;
/// Instructions a connection may run, whatever the size of its file.
pub const MIN_BUDGET: u64 = 2_000_000_000;
/// And per byte of the file (reading a table in key order takes a few
/// instructions per byte; every check of verify together stays far below).
pub const BUDGET_PER_BYTE: u64 = 1_000;

/// The instruction budget of a connection to a database of `bytes` bytes.
pub fn budget_for(bytes: u64) -> u64 {
    MIN_BUDGET.saturating_add(bytes.saturating_mul(BUDGET_PER_BYTE))
}

/// Set when a connection exceeded its work budget (shared by the
/// connections to one database).
#[derive(Debug, Clone, Default)]
pub struct Spent(Arc<AtomicBool>);

impl Spent {
    /// True once a connection was interrupted for exceeding its budget.
    pub fn exceeded(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// The unusable-input error when the budget was exceeded.
    pub fn settle(&self, shown: &Path, budget: u64) -> Result<(), InputError> {
        if self.exceeded() {
            return Err(InputError::DatabaseTooCostly { path: shown.to_path_buf(), budget });
        }
        Ok(())
    }
}

/// Opens `target` (a path, or a `file:` URI when `uri`) read-only, hardened
/// ([`harden`]) and with its objects checked ([`check_objects`]).
pub fn open(target: impl AsRef<Path>, uri: bool, shown: &Path, budget: u64, spent: &Spent) -> Result<Connection, InputError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if uri {
        flags |= OpenFlags::SQLITE_OPEN_URI;
    }
    let mut conn = Connection::open_with_flags(target, flags).map_err(|e| InputError::db(shown, e))?;
    harden(&mut conn, budget, spent).map_err(|e| InputError::db(shown, e))?;
    check_objects(&conn, shown)?;
    Ok(conn)
}

/// The size of the database at `path` and its `-wal`, for [`budget_for`].
pub fn file_bytes(path: &Path) -> u64 {
    let len = |p: &Path| std::fs::symlink_metadata(p).map_or(0, |m| m.len());
    len(path).saturating_add(len(&crate::dbfile::wal_path(path)))
}

/// Defensive mode, no trusted schema, no views or triggers, the work
/// budget and the process-wide heap limit, on a connection to an input
/// database (also the writable copy `verify migrate` migrates).
pub fn harden(conn: &mut Connection, budget: u64, spent: &Spent) -> rusqlite::Result<()> {
    static HEAP: Once = Once::new();
    let mut heap = Ok(());
    HEAP.call_once(|| heap = conn.pragma_update(None, "hard_heap_limit", HEAP_LIMIT));
    heap?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    conn.pragma_update(None, "trusted_schema", false)?;
    let calls = budget / STEP as u64 + 1;
    let (mut n, flag) = (0u64, spent.0.clone());
    conn.progress_handler(
        STEP,
        Some(move || {
            n += 1;
            let over = n > calls;
            if over {
                flag.store(true, Ordering::Relaxed);
            }
            over
        }),
    )
}

/// Refuses a database whose schema holds an object that runs SQL of its
/// own: a view, a virtual table, a trigger, a table with a generated (or
/// otherwise hidden) column. The first one, in schema order, is named.
pub fn check_objects(conn: &Connection, shown: &Path) -> Result<(), InputError> {
    let objects: Vec<(String, String, Option<String>)> = (|| {
        let mut st = conn.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY rowid")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })()
    .map_err(|e| InputError::db(shown, e))?;
    let refuse = |object: String, found: &str, expected: &'static str| InputError::UnsafeDatabase {
        path: shown.to_path_buf(),
        object,
        found: found.to_string(),
        expected,
    };
    for (ty, name, sql) in &objects {
        let name = display_name(name);
        match ty.as_str() {
            "view" => return Err(refuse(name, "a view", "a table")),
            "trigger" => return Err(refuse(format!("trigger {name}"), "a trigger", "tables and indexes only")),
            "table" if is_virtual(sql.as_deref()) => return Err(refuse(name, "a virtual table", "a table")),
            _ => {}
        }
    }
    for (_, name, _) in objects.iter().filter(|(ty, _, _)| ty == "table") {
        let hidden: Option<String> = conn
            .query_row("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden <> 0 LIMIT 1", [name], |r| r.get(0))
            .optional()
            .map_err(|e| InputError::db(shown, e))?;
        if let Some(col) = hidden {
            let object = format!("{}.{}", display_name(name), display_name(&col));
            return Err(refuse(object, "a generated column", "a stored column"));
        }
    }
    Ok(())
}

/// A name from the input database as a message shows it (escaped, cut).
fn display_name(name: &str) -> String {
    thrum_io::text::shown(name.as_bytes(), 128)
}

/// `CREATE VIRTUAL TABLE …`, in any case and spacing.
fn is_virtual(sql: Option<&str>) -> bool {
    let words: Vec<String> = sql.unwrap_or("").split_whitespace().take(3).map(str::to_ascii_uppercase).collect();
    words == ["CREATE", "VIRTUAL", "TABLE"]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with(sql: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.db");
        let c = Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE threads (thread_id TEXT PRIMARY KEY, title TEXT);").unwrap();
        c.execute_batch(sql).unwrap();
        drop(c);
        (dir, p)
    }

    fn refused(sql: &str) -> String {
        let (_d, p) = db_with(sql);
        match open(&p, false, Path::new("in.db"), budget_for(0), &Spent::default()) {
            Err(e @ InputError::UnsafeDatabase { .. }) => e.to_string(),
            other => panic!("not refused as unsafe: {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn objects_that_run_sql_are_refused_by_name() {
        let view = "CREATE VIEW sync_checkpoints AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c;";
        assert_eq!(
            refused(view),
            "in.db: sync_checkpoints is a view; expected a table (verify does not run SQL an input database defines)"
        );
        assert!(refused("CREATE VIRTUAL TABLE agents USING fts5(name);").starts_with("in.db: agents is a virtual table; expected a table"));
        let gen = "CREATE TABLE groups (group_id TEXT, n AS (length(group_id) * 2));";
        assert!(refused(gen).starts_with("in.db: groups.n is a generated column; expected a stored column"));
        let trig = "CREATE TRIGGER t_ins AFTER INSERT ON threads BEGIN SELECT 1; END;";
        assert!(refused(trig).starts_with("in.db: trigger t_ins is a trigger; expected tables and indexes only"));
        assert!(is_virtual(Some("  create\n virtual\ttable x USING fts5(a)")));
        assert!(!is_virtual(Some("CREATE TABLE virtual (a)")));
    }

    #[test]
    fn plain_tables_and_indexes_open() {
        let (_d, p) = db_with("CREATE INDEX idx_t ON threads(title); INSERT INTO threads VALUES ('t1', 'x');");
        let c = open(&p, false, Path::new("in.db"), budget_for(0), &Spent::default()).unwrap();
        let n: i64 = c.query_row("SELECT count(*) FROM threads", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
        // read-only: nothing is written
        assert!(c.execute("INSERT INTO threads VALUES ('t2', 'y')", []).is_err());
        // defensive, no trusted schema, no views or triggers
        assert!(c.db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE).unwrap());
        assert!(!c.db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA).unwrap());
        assert!(!c.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW).unwrap());
        assert!(!c.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER).unwrap());
        let trusted: i64 = c.query_row("PRAGMA trusted_schema", [], |r| r.get(0)).unwrap();
        assert_eq!(trusted, 0);
        // SQLite's heap bounded, for the whole process
        let heap: i64 = c.query_row("PRAGMA hard_heap_limit", [], |r| r.get(0)).unwrap();
        assert_eq!(heap, HEAP_LIMIT);
    }

    #[test]
    fn work_beyond_the_budget_is_interrupted_and_flagged() {
        let (_d, p) = db_with("");
        let spent = Spent::default();
        let c = open(&p, false, Path::new("in.db"), 1_000_000, &spent).unwrap();
        assert!(!spent.exceeded());
        let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";
        let e = c.query_row(endless, [], |r| r.get::<_, i64>(0)).unwrap_err();
        assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::OperationInterrupted), "{e}");
        assert!(spent.exceeded());
        let msg = spent.settle(Path::new("in.db"), 1_000_000).unwrap_err().to_string();
        assert!(msg.starts_with("in.db: reading it took more than 1000000 SQLite instructions"), "{msg}");
    }
}
