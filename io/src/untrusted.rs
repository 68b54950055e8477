//! Every input database is untrusted: the one way a crate opens one.
//!
//! A SQLite file carries SQL of its own: a view, a virtual table, a trigger
//! or a generated column runs whatever its author wrote when the object is
//! read (a recursive view never ends, or fills the memory). A Thrum
//! database holds only tables and indexes, so before any query the schema
//! is read and any such object is refused, named ([`UntrustedError::Unsafe`]).
//! The connection is then defensive (`SQLITE_DBCONFIG_DEFENSIVE`), with
//! `trusted_schema=OFF`, views and triggers disabled, and two bounds on
//! what is left (index expressions, CHECK constraints):
//!
//! * a work budget: SQLite's progress handler interrupts the connection
//!   once it has run more virtual-machine instructions than a database of
//!   its size needs ([`budget_for`]); the [`Spent`] flag then turns the
//!   whole command into a refusal ([`Spent::settle`]);
//! * a heap limit: SQLite's hard heap limit ([`HEAP_LIMIT`]), process-wide.
//!
//! [`open`] reads an input read-only; [`open_writable`] opens a private copy
//! of one that is to be changed (a corrupted copy, a migration). Databases a
//! crate builds itself are trusted: they are not opened here, but share the
//! process-wide heap limit once any input was opened.
//!
//! Behind the `sqlite` feature (it needs rusqlite with its `hooks`).

use crate::text::{shown, shown_path};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

/// SQLite's hard heap limit, for the whole process (every connection, the
/// trusted ones included). Verifying the `large` profile peaks at 70 MiB
/// of SQLite heap (277 MiB resident in all); `verify mesh` verifies its
/// daemons one after the other.
pub const HEAP_LIMIT: i64 = 512 << 20;
/// Virtual-machine instructions between two calls of the progress handler.
const STEP: i32 = 10_000;
/// Instructions a connection may run, whatever the size of its file.
pub const MIN_BUDGET: u64 = 2_000_000_000;
/// And per byte of the file (reading a table in key order takes a few
/// instructions per byte; every check of verify together stays far below).
pub const BUDGET_PER_BYTE: u64 = 1_000;

/// An input database refused, or one SQLite cannot read. Each names the
/// database as the caller shows it.
#[derive(Debug, thiserror::Error)]
pub enum UntrustedError {
    /// The schema holds an object that runs SQL of its own (a view, a
    /// virtual table, a trigger, a generated column): refused before any
    /// query.
    #[error("{}: {object} is {found}; expected {expected} (SQL an input database defines is not \
        run)", shown_path(.path))]
    Unsafe {
        /// The database, as shown.
        path: PathBuf,
        /// The object, named as the schema names it (escaped, cut).
        object: String,
        /// What it is.
        found: &'static str,
        /// What a Thrum database holds there.
        expected: &'static str,
    },
    /// Reading the database took more work than its size explains.
    #[error(
        "{}: reading it took more than {budget} SQLite instructions, more than a database of its \
            size needs; refused",
        shown_path(.path)
    )]
    TooCostly {
        /// The database, as shown.
        path: PathBuf,
        /// The instruction budget it exceeded.
        budget: u64,
    },
    /// SQLite could not open, harden or read the schema of the database.
    #[error("{}: expected a SQLite database: {source}", shown_path(.path))]
    Sqlite {
        /// The database, as shown.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

impl UntrustedError {
    /// True when the database, not the machine, is at fault: a refused
    /// object, work beyond the budget, or a file that is not a readable
    /// database (not one, or corrupt).
    pub fn is_input_error(&self) -> bool {
        match self {
            UntrustedError::Unsafe { .. } | UntrustedError::TooCostly { .. } => true,
            UntrustedError::Sqlite { source, .. } => {
                matches!(
                    source.sqlite_error_code(),
                    Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
                )
            }
        }
    }

    fn sqlite(path: &Path, source: rusqlite::Error) -> UntrustedError {
        UntrustedError::Sqlite { path: path.to_path_buf(), source }
    }
}

/// The instruction budget of a connection to a database of `bytes` bytes.
pub fn budget_for(bytes: u64) -> u64 {
    MIN_BUDGET.saturating_add(bytes.saturating_mul(BUDGET_PER_BYTE))
}

/// The size of the database at `path` and its `-wal`, for [`budget_for`].
pub fn file_bytes(path: &Path) -> u64 {
    let len = |p: &Path| std::fs::symlink_metadata(p).map_or(0, |m| m.len());
    len(path).saturating_add(len(&crate::uri::wal_path(path)))
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
    /// [`UntrustedError::TooCostly`] when the budget was exceeded: what the
    /// interrupted connection reported does not stand.
    pub fn settle(&self, shown: &Path, budget: u64) -> Result<(), UntrustedError> {
        if self.exceeded() {
            return Err(UntrustedError::TooCostly { path: shown.to_path_buf(), budget });
        }
        Ok(())
    }
}

/// Opens `target` (a path, or a `file:` URI when `uri`) read-only, hardened
/// ([`harden`]) and with its objects checked ([`check_objects`]); `shown`
/// names it in errors.
pub fn open(
    target: impl AsRef<Path>,
    uri: bool,
    shown: &Path,
    budget: u64,
    spent: &Spent,
) -> Result<Connection, UntrustedError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if uri {
        flags |= OpenFlags::SQLITE_OPEN_URI;
    }
    opened(Connection::open_with_flags(target, flags), shown, budget, spent)
}

/// Opens the existing database file `path` (a private copy of an input)
/// read-write, never creating it, hardened ([`harden`]) and with its
/// objects checked ([`check_objects`]) before any other query.
pub fn open_writable(
    path: &Path,
    shown: &Path,
    budget: u64,
    spent: &Spent,
) -> Result<Connection, UntrustedError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    opened(Connection::open_with_flags(path, flags), shown, budget, spent)
}

fn opened(
    conn: rusqlite::Result<Connection>,
    shown: &Path,
    budget: u64,
    spent: &Spent,
) -> Result<Connection, UntrustedError> {
    let mut conn = conn.map_err(|e| UntrustedError::sqlite(shown, e))?;
    harden(&mut conn, budget, spent).map_err(|e| UntrustedError::sqlite(shown, e))?;
    check_objects(&conn, shown)?;
    Ok(conn)
}

/// Defensive mode, no trusted schema, no views or triggers, the work
/// budget and the process-wide heap limit, on a connection to an input
/// database or a copy of one.
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
pub fn check_objects(conn: &Connection, shown_as: &Path) -> Result<(), UntrustedError> {
    let objects: Vec<(String, String, Option<String>)> = (|| {
        let mut st = conn.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY rowid")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })()
    .map_err(|e| UntrustedError::sqlite(shown_as, e))?;
    let refuse = |object: String, found: &'static str, expected: &'static str| {
        UntrustedError::Unsafe { path: shown_as.to_path_buf(), object, found, expected }
    };
    for (ty, name, sql) in &objects {
        let name = display_name(name);
        match ty.as_str() {
            "view" => return Err(refuse(name, "a view", "a table")),
            "trigger" => {
                return Err(refuse(
                    format!("trigger {name}"),
                    "a trigger",
                    "tables and indexes only",
                ))
            }
            "table" if is_virtual(sql.as_deref()) => {
                return Err(refuse(name, "a virtual table", "a table"))
            }
            _ => {}
        }
    }
    for (_, name, _) in objects.iter().filter(|(ty, _, _)| ty == "table") {
        let hidden: Option<String> = conn
            .query_row(
                "SELECT name FROM pragma_table_xinfo(?1) WHERE hidden <> 0 LIMIT 1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| UntrustedError::sqlite(shown_as, e))?;
        if let Some(col) = hidden {
            let object = format!("{}.{}", display_name(name), display_name(&col));
            return Err(refuse(object, "a generated column", "a stored column"));
        }
    }
    Ok(())
}

/// A name from the input database as a message shows it (escaped, cut).
fn display_name(name: &str) -> String {
    shown(name.as_bytes(), 128)
}

/// `CREATE VIRTUAL TABLE …`, in any case and spacing.
fn is_virtual(sql: Option<&str>) -> bool {
    let words: Vec<String> =
        sql.unwrap_or("").split_whitespace().take(3).map(str::to_ascii_uppercase).collect();
    words == ["CREATE", "VIRTUAL", "TABLE"]
}

#[cfg(test)]
mod tests;
