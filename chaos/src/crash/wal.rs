//! A real WAL for the crash states: SQLite writes it (WAL mode, no
//! automatic checkpoint) on a scratch copy of the database, its bytes are
//! read while the connection is still open (so no checkpoint has run), and
//! it is resealed with salts from the seed ([`thrum_io::wal::reseal`]):
//! SQLite picks salts at random, so only a resealed WAL is reproducible.
//! No `-shm` is written: its content depends on the process that wrote it
//! (SQLite rebuilds it from the WAL when it is missing).

use super::daemon::{insert_row, project};
use super::events::NewEvent;
use crate::error::{sql, CorruptContext, CorruptError, Result};
use crate::rng::Rng;
use std::path::Path;
use thrum_io::untrusted::{budget_for, file_bytes, Spent};
use thrum_io::wal::{reseal, Resealed};

/// The WAL of one crash state, resealed.
pub(crate) struct Wal {
    pub bytes: Vec<u8>,
    pub sealed: Resealed,
    pub salt: (u32, u32),
}

/// The salts of the crash states' WAL under `seed`.
pub(crate) fn salts(seed: u64) -> (u32, u32) {
    let mut r = Rng::keyed(seed, "crash-wal-salt", 0);
    let v = r.next();
    ((v >> 32) as u32, v as u32)
}

/// The WAL SQLite writes when the `events` rows and projections of `evs`
/// are committed to the database `db` (not changed: the work is done on a
/// copy in `scratch`, removed afterwards), resealed with the seed's salts.
pub(crate) fn committed(
    db: &Path,
    scratch: &Path,
    shown: &Path,
    evs: &[NewEvent],
    seed: u64,
) -> Result<Wal> {
    std::fs::create_dir(scratch).ctx("create", scratch)?;
    let copy = scratch.join("messages.db");
    std::fs::copy(db, &copy).ctx("copy", db)?;
    let spent = Spent::default();
    let budget = budget_for(file_bytes(&copy));
    let bytes = {
        let mut c = thrum_io::untrusted::open_writable(&copy, shown, budget, &spent)?;
        let mode: String = sql(c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)), &copy)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CorruptError::NotV13 {
                path: shown.to_path_buf(),
                reason: format!("its database cannot run in WAL mode ({mode})"),
            });
        }
        sql(c.execute_batch("PRAGMA wal_autocheckpoint=0; PRAGMA foreign_keys=ON;"), &copy)?;
        for e in evs {
            insert_row(&c, &copy, e)?;
            if let Err(why) = project(&mut c, &copy, e)? {
                return Err(CorruptError::NoTarget {
                    path: shown.to_path_buf(),
                    fault: "crash",
                    reason: why,
                });
            }
        }
        // read while the connection is open: closing it would checkpoint
        let wal = thrum_io::uri::wal_path(&copy);
        std::fs::read(&wal).ctx("read", &wal)?
    };
    thrum_io::tree::remove_dir_all(scratch).ctx("remove", scratch)?;
    spent.settle(shown, budget)?;
    seal(bytes, seed)
}

/// `bytes` resealed with the seed's salts.
pub(crate) fn seal(mut bytes: Vec<u8>, seed: u64) -> Result<Wal> {
    let salt = salts(seed);
    let sealed =
        reseal(&mut bytes, salt).map_err(|e| CorruptError::Pack { reason: e.to_string() })?;
    Ok(Wal { bytes, sealed, salt })
}
