//! `verify parquet PATH`: the fixture's Parquet snapshots (`parquet/`)
//! against its SQLite database, value for value (thrum_parquet::check).

use crate::error::InputError;
use crate::extract::Limits;
use crate::verify::FixtureDb;
use std::path::{Path, PathBuf};

/// Archive whose `.thrum/var/messages.db` is the reference.
pub const ARCHIVE: &str = "thrum-fixture.tar.zst";

/// PATH is a fixtures directory holding `parquet/` and `thrum-fixture.tar.zst`
/// (extracted safely into a temporary directory), or, with `db`, a `parquet/`
/// directory (or its parent) and the database to compare with.
pub fn check_fixture(path: &Path, db: Option<&Path>, limits: &Limits) -> Result<thrum_parquet::check::Report, InputError> {
    let parquet_dir = if path.join("parquet").is_dir() { path.join("parquet") } else { path.to_path_buf() };
    if !parquet_dir.is_dir() {
        return Err(InputError::NotFound { path: parquet_dir });
    }
    let _tree; // keeps the extracted archive alive until the check is done
    let db_path: PathBuf = match db {
        Some(db) => db.to_path_buf(),
        None => {
            let tree = crate::input::open(&path.join(ARCHIVE), limits)?;
            let p = tree.path("var/messages.db");
            _tree = tree;
            p
        }
    };
    let fdb = FixtureDb::prepare(&db_path)?;
    let conn = fdb.open(&db_path)?;
    thrum_parquet::check::check_connection(&parquet_dir, &conn, &db_path).map_err(|e| InputError::Unreadable { path: parquet_dir.clone(), reason: e.to_string() })
}
