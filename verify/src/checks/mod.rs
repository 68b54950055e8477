//! Checks of what replay cannot derive, one module per concern:
//!
//! * `lines`: each event line on its own (envelope, canonical form,
//!   placement), duplicate ids and shard ownership;
//! * `events`: the `events` sync log against the lines;
//! * `shards`: database messages whose shard file is absent;
//! * `local`: the local-only tables;
//! * `identities`: the daemon id, identity and context files;
//! * `layout`: the other files of the tree;
//! * `database`: schema version, schema, integrity.

mod database;
mod events;
mod identities;
mod layout;
mod lines;
mod local;
mod shards;

pub use database::check_db;
pub use events::check_event_log;
pub use identities::{check_identities, check_origin_daemon, daemon_id_of};
pub use layout::check_layout;
pub use lines::{
    allowed_shards, duplicate_id, first_difference, line_checks, shard_mismatch, SLOT_DUPLICATE,
    SLOT_ENVELOPE, SLOT_REST, SLOT_SHARD,
};
pub use local::{check_local, check_peers, read_peers};
pub use shards::{check_shards, shards_missing};

use crate::value::Val;
use rusqlite::Connection;

/// What kind of tree is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A v13 fixture as a v13 daemon writes it: full envelopes, an `events`
    /// table holding every event, a schema equal to a fresh v13 database.
    Fixture,
    /// A tree migrated from v5: envelopes have `event_id` and `v` but no
    /// `origin_daemon`/`sequence`, the `events` table is not backfilled, and
    /// the schema may differ from a fresh one by the documented differences.
    Migrated,
}

/// Registers the SQL function `name(x)` on `db`: `f` of `x` when it is
/// UTF-8 text, NULL otherwise; deterministic, for ordering a query by it.
pub(crate) fn text_function(
    db: &Connection,
    name: &str,
    f: fn(&str) -> String,
) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    db.create_scalar_function(name, 1, flags, move |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Text(b) => std::str::from_utf8(b).ok().map(f),
            _ => None,
        })
    })
}

pub(crate) fn query_rows(db: &Connection, sql: &str) -> rusqlite::Result<Vec<Vec<Val>>> {
    crate::value::query_all(db, sql)
}

#[cfg(test)]
mod tests {
    use super::database::diff_table;
    use super::lines::is_daemon_id;
    use super::*;

    #[test]
    fn differences_are_located() {
        assert_eq!(
            first_difference("abcdef", "abXdef", ("a", "b")),
            "first difference at byte 2: a …abcdef…, b …abXdef…"
        );
        assert!(is_daemon_id("d_0123456789ab"));
        assert!(!is_daemon_id("test-daemon"));
        assert_eq!(diff_table("table threads"), Some("threads"));
        assert_eq!(diff_table("agents.display"), Some("agents"));
        assert_eq!(diff_table("index idx_x"), None);
    }
}
