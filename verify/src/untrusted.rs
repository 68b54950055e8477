//! Every input database is untrusted: verify opens one only through
//! [`thrum_io::untrusted`], the one implementation (its objects checked
//! before any query, read-only and defensive, its work and SQLite's heap
//! bounded). These wrappers turn its refusals into verify's
//! [`InputError`] (exit 2): see the `From` conversion in [`crate::error`].
//!
//! Verify's own replay databases are trusted (it builds them): they are not
//! opened here, but share the process-wide heap limit.

use crate::error::InputError;
use rusqlite::Connection;
use std::path::Path;

pub use thrum_io::untrusted::{budget_for, file_bytes, Spent};

/// Opens `target` (a path, or a `file:` URI when `uri`) read-only, hardened
/// and with its objects checked ([`thrum_io::untrusted::open`]).
pub fn open(
    target: impl AsRef<Path>,
    uri: bool,
    shown: &Path,
    budget: u64,
    spent: &Spent,
) -> Result<Connection, InputError> {
    Ok(thrum_io::untrusted::open(target, uri, shown, budget, spent)?)
}

/// Unusable input when a connection to `shown` exceeded its work budget
/// ([`Spent::settle`]).
pub fn settle(spent: &Spent, shown: &Path, budget: u64) -> Result<(), InputError> {
    Ok(spent.settle(shown, budget)?)
}
