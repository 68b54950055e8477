//! The SQL migration: every step of [`thrum_schemas::sql::MIGRATIONS`] and
//! [`thrum_schemas::sql::FINISH`] in one transaction, on a database opened as
//! the daemon opens it.

use rusqlite::Connection;
use std::path::Path;
use thrum_schemas::sql;

/// What the SQL migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbMigration {
    /// The schema version found.
    pub from: i64,
    /// Migration steps applied.
    pub steps: usize,
}

/// Runs the SQL migration on the database at `path`.
///
/// The database is input (a copy of it): it is opened as an input's
/// writable copy ([`thrum_io::untrusted::open_writable`]), its objects
/// checked again before the migration runs.
pub fn migrate_db(path: &Path) -> Result<DbMigration, String> {
    let spent = crate::untrusted::Spent::default();
    let budget = crate::untrusted::budget_for(crate::untrusted::file_bytes(path));
    let mut conn = thrum_io::untrusted::open_writable(path, path, budget, &spent)
        .map_err(|e| e.to_string())?;
    let out = migrate_on(&mut conn);
    if spent.exceeded() {
        return Err(format!(
            "interrupted after {budget} SQLite instructions, more than a database \
            of its size needs"
        ));
    }
    out
}

fn migrate_on(conn: &mut Connection) -> Result<DbMigration, String> {
    conn.execute_batch("PRAGMA foreign_keys=ON;").map_err(|e| e.to_string())?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| format!("journal_mode=WAL: {e}"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal_mode=WAL left the journal mode {mode:?}"));
    }
    let from: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .map_err(|e| format!("reading schema_version: {e}"))?;
    if from == thrum_schemas::SCHEMA_VERSION {
        return Ok(DbMigration { from, steps: 0 });
    }
    if from != thrum_schemas::LEGACY_SCHEMA_VERSION {
        return Err(format!("schema_version is {from}; expected 5 (or 13, already migrated)"));
    }
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    let mut steps = 0;
    for m in sql::MIGRATIONS.iter().filter(|m| m.from >= from) {
        tx.execute_batch(m.sql).map_err(|e| format!("step {} ({}): {e}", m.file, m.from))?;
        steps += 1;
    }
    tx.execute_batch(sql::FINISH).map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(DbMigration { from, steps })
}
