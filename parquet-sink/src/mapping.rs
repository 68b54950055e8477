//! The documented SQLite → Arrow type mapping, derived from the catalogue
//! only, and its exact inverse.
//!
//! | catalogue `Semantic` | Arrow type | value |
//! |---|---|---|
//! | `Text` | `Utf8` | as is |
//! | `Int` | `Int64` | as is |
//! | `Timestamp` (RFC 3339 text) | `Timestamp(Microsecond, "UTC")` | parsed; canonical only (1) |
//! | `SqlDateTime` (`YYYY-MM-DD HH:MM:SS`) | `Timestamp(Microsecond, "UTC")` | parsed as UTC |
//! | `UnixSeconds` (integer) | `Timestamp(Microsecond, "UTC")` | seconds × 10⁶ |
//! | `Flag` (0/1 integer) | `Boolean` | 0 → false, 1 → true; anything else is rejected |
//! | `Json` (text) | `Utf8` + `ARROW:extension:name = arrow.json` | as is |
//!
//! (1) The text must be canonical Go RFC3339Nano UTC, so that the inverse
//! restores the exact text.
//!
//! Nullability is `!not_null`, with the exceptions listed by [`exceptions`]:
//! primary-key columns are never null, and a `NOT NULL DEFAULT ''` timestamp
//! column stores `''` as null.

use crate::time_fmt;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use std::borrow::Cow;
use thrum_schemas::catalogue::{Cell, Column, Semantic, SqlType, Table};

/// Name of the Hive partition column of day-partitioned tables. It is not
/// stored inside the files: readers derive it from the directory name.
pub const PARTITION_COLUMN: &str = "date";
/// Time zone of every Arrow timestamp.
pub const TZ: &str = "UTC";

/// Schema-level metadata keys.
pub mod keys {
    /// Table name.
    pub const TABLE: &str = "thrum.table";
    /// JSON array of the primary-key column names, in key order; rows are
    /// sorted by it.
    pub const PRIMARY_KEY: &str = "thrum.primary_key";
    /// `13`.
    pub const SCHEMA_VERSION: &str = "thrum.schema_version";
    /// JSON array of `{name, sqlite_type, semantic, sqlite_not_null, empty_as_null}`,
    /// one per column: enough for any reader to invert the mapping.
    pub const COLUMNS: &str = "thrum.columns";
    /// Day-partitioned tables only: JSON
    /// `{"column":"date","source":…,"granularity":"day","time_zone":"UTC"}`.
    pub const PARTITIONING: &str = "thrum.partitioning";
    /// Per file of a partitioned table (file metadata only): `date=YYYY-MM-DD`.
    pub const PARTITION: &str = "thrum.partition";
    /// Field-level: the SQLite storage class (`TEXT`, `INTEGER`).
    pub const FIELD_SQLITE_TYPE: &str = "thrum.sqlite_type";
    /// Field-level: the catalogue semantic (see [`super::semantic_name`]).
    pub const FIELD_SEMANTIC: &str = "thrum.semantic";
    /// Field-level, present only on the `''`-as-null exception columns: `true`.
    pub const FIELD_EMPTY_AS_NULL: &str = "thrum.empty_as_null";
    /// Canonical Arrow extension key: the extension's name.
    pub const EXTENSION_NAME: &str = "ARROW:extension:name";
    /// Canonical Arrow extension key: the extension's metadata.
    pub const EXTENSION_METADATA: &str = "ARROW:extension:metadata";
    /// Canonical JSON extension type name.
    pub const JSON_EXTENSION: &str = "arrow.json";
}

/// Stable lower-case name of a semantic, as written into metadata.
pub fn semantic_name(s: Semantic) -> &'static str {
    match s {
        Semantic::Text => "text",
        Semantic::Int => "int",
        Semantic::Timestamp => "rfc3339",
        Semantic::SqlDateTime => "sql_datetime",
        Semantic::UnixSeconds => "unix_seconds",
        Semantic::Flag => "flag",
        Semantic::Json => "json",
    }
}

/// The column whose UTC day names the Hive partition, for the two
/// day-partitioned tables (`messages` by `created_at`, `events` by
/// `timestamp`); `None` for single-file tables.
pub fn partition_source(table: &Table) -> Option<&'static str> {
    match table.name {
        "messages" => Some("created_at"),
        "events" => Some("timestamp"),
        _ => None,
    }
}

fn is_timestamp_text(c: &Column) -> bool {
    c.sql == SqlType::Text && matches!(c.semantic, Semantic::Timestamp | Semantic::SqlDateTime)
}

/// True for a `NOT NULL DEFAULT ''` text timestamp column (v13:
/// `agents.last_seen_at`): SQLite holds `''` until the first heartbeat, which
/// is not a timestamp, so Parquet stores it as null and the field is nullable.
pub fn empty_as_null(c: &Column) -> bool {
    is_timestamp_text(c) && c.not_null && c.default == Some("''")
}

fn is_key(table: &Table, c: &Column) -> bool {
    table.primary_key.contains(&c.name)
}

/// Arrow nullability of a column: `!not_null`, except primary-key columns
/// (never null) and [`empty_as_null`] columns (nullable).
pub fn nullable(table: &Table, c: &Column) -> bool {
    if is_key(table, c) {
        false
    } else if empty_as_null(c) {
        true
    } else {
        !c.not_null
    }
}

/// Free-text columns whose values are nearly all distinct (message bodies
/// and edit contents), written without dictionary encoding; see
/// [`dictionary_encoded`].
pub const DISTINCT_TEXT: &[(&str, &str)] = &[
    ("messages", "body_content"),
    ("message_edits", "old_content"),
    ("message_edits", "new_content"),
];

/// Whether a column is written with dictionary encoding. Off where values are
/// nearly all distinct, so that a dictionary only costs bytes and, once it
/// outgrows its page limit, makes the column chunk switch from dictionary to
/// plain pages part-way (which some readers mishandle): every `Json` column
/// (payloads), the [`DISTINCT_TEXT`] columns, and a single-column text
/// primary key (unique by definition: `messages.message_id`,
/// `events.event_id`, …). `Flag` columns (Parquet `BOOLEAN`) have no
/// dictionary in any case. On everywhere else, where values repeat
/// (`agent_id`, `session_id`, enums such as `type` or `body_format`,
/// timestamps, integers).
pub fn dictionary_encoded(table: &Table, c: &Column) -> bool {
    let distinct_text = DISTINCT_TEXT.contains(&(table.name, c.name));
    let unique_text_key = c.semantic == Semantic::Text && table.primary_key == [c.name];
    !matches!(c.semantic, Semantic::Json | Semantic::Flag) && !distinct_text && !unique_text_key
}

/// Arrow type of a column.
pub fn arrow_type(c: &Column) -> DataType {
    match c.semantic {
        Semantic::Text | Semantic::Json => DataType::Utf8,
        Semantic::Int => DataType::Int64,
        Semantic::Timestamp | Semantic::SqlDateTime | Semantic::UnixSeconds => {
            DataType::Timestamp(TimeUnit::Microsecond, Some(TZ.into()))
        }
        Semantic::Flag => DataType::Boolean,
    }
}

/// Arrow field of a column, with its metadata.
pub fn arrow_field(table: &Table, c: &Column) -> Field {
    let mut md: Vec<(&str, &str)> = vec![
        (keys::FIELD_SQLITE_TYPE, c.sql.as_sql()),
        (keys::FIELD_SEMANTIC, semantic_name(c.semantic)),
    ];
    if c.semantic == Semantic::Json {
        md.push((keys::EXTENSION_NAME, keys::JSON_EXTENSION));
        md.push((keys::EXTENSION_METADATA, ""));
    }
    if empty_as_null(c) {
        md.push((keys::FIELD_EMPTY_AS_NULL, "true"));
    }
    Field::new(c.name, arrow_type(c), nullable(table, c))
        .with_metadata(md.into_iter().collect::<arrow_schema::Metadata>())
}

/// Schema-level key/value metadata of a table, sorted by key.
pub fn table_metadata(table: &Table) -> Vec<(&'static str, String)> {
    let quoted = |names: &mut dyn Iterator<Item = &str>| {
        names.map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(",")
    };
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            format!(
                "{{\"name\":\"{}\",\"sqlite_type\":\"{}\",\"semantic\":\"{}\",\"sqlite_not_null\":\
                    {},\"empty_as_null\":{}}}",
                c.name,
                c.sql.as_sql(),
                semantic_name(c.semantic),
                c.not_null,
                empty_as_null(c)
            )
        })
        .collect();
    let mut md = vec![
        (keys::COLUMNS, format!("[{}]", columns.join(","))),
        (keys::PRIMARY_KEY, format!("[{}]", quoted(&mut table.primary_key.iter().copied()))),
        (keys::SCHEMA_VERSION, thrum_schemas::SCHEMA_VERSION.to_string()),
        (keys::TABLE, table.name.to_string()),
    ];
    if let Some(src) = partition_source(table) {
        md.push((
            keys::PARTITIONING,
            format!(
                "{{\"column\":\"{PARTITION_COLUMN}\",\"source\":\"{src}\",\
                \"granularity\":\"day\",\"time_zone\":\"{TZ}\"}}"
            ),
        ));
    }
    md.sort_by(|a, b| a.0.cmp(b.0));
    md
}

/// The Arrow schema of a table's Parquet files, from the catalogue only.
/// Day-partitioned tables do not carry the `date` partition column in their
/// files (Hive convention: it lives in the directory name).
pub fn arrow_schema(table: &Table) -> Schema {
    let fields: Vec<Field> = table.columns.iter().map(|c| arrow_field(table, c)).collect();
    Schema::new(fields)
        .with_metadata(table_metadata(table).into_iter().collect::<arrow_schema::Metadata>())
}

/// A column whose Arrow nullability differs from the catalogue's `!not_null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// Nullability in Arrow.
    pub nullable: bool,
    /// Why it differs.
    pub reason: &'static str,
}

/// Every exception to "nullable = !not_null", over the whole catalogue.
pub fn exceptions() -> Vec<Exception> {
    let mut out = Vec::new();
    for t in thrum_schemas::catalogue::TABLES {
        for c in t.columns {
            let n = nullable(t, c);
            if n == c.not_null {
                let reason = if is_key(t, c) {
                    "primary-key column: SQLite tolerates NULL in a non-INTEGER PRIMARY KEY \
                        (legacy quirk); the sink rejects NULL keys"
                } else {
                    "NOT NULL DEFAULT '' timestamp: '' (no heartbeat yet) is stored as null"
                };
                out.push(Exception { table: t.name, column: c.name, nullable: n, reason });
            }
        }
    }
    out
}

/// One mapped value, borrowed from the row it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Val<'a> {
    Null,
    Int(i64),
    Bool(bool),
    /// Microseconds since the epoch, UTC.
    Ts(i64),
    Text(&'a str),
}

const US: i64 = 1_000_000;
/// Microseconds per day.
pub(crate) const US_PER_DAY: i64 = 86_400 * US;

/// Maps one SQLite cell to its Arrow value. `Err` carries the problem; the
/// mapping is strict so that [`decode`] restores the exact SQLite value.
pub(crate) fn encode<'a>(
    c: &Column,
    nullable: bool,
    cell: &'a Cell<'_>,
    scratch: &mut String,
) -> Result<Val<'a>, String> {
    let kind = |cell: &Cell| match cell {
        Cell::Null => "NULL",
        Cell::Int(_) => "an INTEGER",
        Cell::Text(_) => "a TEXT value",
    };
    let v = match (c.semantic, cell) {
        // A real NULL in a NOT NULL column (even a '' → null one) is refused:
        // its Arrow null would decode as ''.
        (_, Cell::Null) if c.not_null => return Err("NULL in a NOT NULL column".into()),
        (_, Cell::Null) => Val::Null,
        (Semantic::Text | Semantic::Json, Cell::Text(t)) => Val::Text(t),
        (Semantic::Int, Cell::Int(i)) => Val::Int(*i),
        (Semantic::Flag, Cell::Int(0)) => Val::Bool(false),
        (Semantic::Flag, Cell::Int(1)) => Val::Bool(true),
        (Semantic::Flag, Cell::Int(i)) => return Err(format!("flag value {i} is neither 0 nor 1")),
        (Semantic::UnixSeconds, Cell::Int(s)) => Val::Ts(
            s.checked_mul(US).ok_or_else(|| format!("{s} unix seconds overflow microseconds"))?,
        ),
        (Semantic::Timestamp | Semantic::SqlDateTime, Cell::Text(t))
            if t.is_empty() && empty_as_null(c) =>
        {
            Val::Null
        }
        (Semantic::Timestamp, Cell::Text(t)) => {
            let us = thrum_schemas::time::parse_rfc3339(t)
                .ok_or_else(|| format!("{t:?} is not an RFC 3339 timestamp"))?;
            scratch.clear();
            thrum_schemas::time::write_rfc3339_nano(scratch, us);
            if scratch != t.as_ref() {
                return Err(format!(
                    "{t:?} is not canonical RFC 3339 (UTC, 'Z', trailing fractional zeros \
                        trimmed: expected {scratch:?}); the mapping would not be lossless"
                ));
            }
            Val::Ts(us)
        }
        (Semantic::SqlDateTime, Cell::Text(t)) => {
            let us = time_fmt::parse_sql_datetime(t, scratch)
                .ok_or_else(|| format!("{t:?} is not a 'YYYY-MM-DD HH:MM:SS' datetime"))?;
            Val::Ts(us)
        }
        (s, other) => {
            return Err(format!(
                "{} in a {} column ({})",
                kind(other),
                c.sql.as_sql(),
                semantic_name(s)
            ))
        }
    };
    if v == Val::Null && !nullable {
        return Err(if matches!(cell, Cell::Text(_)) {
            "empty timestamp in a NOT NULL column".into()
        } else {
            "NULL in a non-nullable column".into()
        });
    }
    Ok(v)
}

/// The exact inverse of [`encode`]: the SQLite value an Arrow value stands for.
pub(crate) fn decode(c: &Column, v: Val<'_>) -> Cell<'static> {
    match (c.semantic, v) {
        (_, Val::Null) if empty_as_null(c) => Cell::Text(Cow::Borrowed("")),
        (_, Val::Null) => Cell::Null,
        (_, Val::Text(t)) => Cell::owned(t.to_owned()),
        (_, Val::Int(i)) => Cell::Int(i),
        (_, Val::Bool(b)) => Cell::Int(b as i64),
        (Semantic::SqlDateTime, Val::Ts(us)) => {
            Cell::owned(thrum_schemas::time::sqlite_datetime(us))
        }
        (Semantic::UnixSeconds, Val::Ts(us)) if us % US == 0 => Cell::Int(us / US),
        (Semantic::UnixSeconds, Val::Ts(us)) => {
            Cell::owned(format!("<{us} µs: not whole unix seconds>"))
        }
        (_, Val::Ts(us)) => Cell::owned(thrum_schemas::time::rfc3339_nano(us)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thrum_schemas::catalogue as cat;

    fn enc(t: &Table, col: &str, cell: Cell) -> Result<Val<'static>, String> {
        let c = t.column(col).expect("column");
        let mut s = String::new();
        let cell = Box::leak(Box::new(cell.into_owned()));
        encode(c, nullable(t, c), cell, &mut s)
    }

    #[test]
    fn strict_values_and_exact_inverse() {
        let ts = "2026-03-02T09:15:04.123457Z";
        let v = enc(&cat::MESSAGES, "created_at", Cell::text(ts)).unwrap();
        assert_eq!(decode(cat::MESSAGES.column("created_at").unwrap(), v), Cell::text(ts));
        // Non-canonical forms would not round-trip: rejected.
        let refused = |text| enc(&cat::MESSAGES, "created_at", Cell::text(text)).is_err();
        assert!(refused("2026-03-02T09:15:04.120Z"));
        assert!(refused("2026-03-02T10:15:04+01:00"));
        assert!(refused("yesterday"));
        assert!(enc(&cat::MESSAGES, "created_at", Cell::Null).is_err());
        assert!(enc(&cat::MESSAGES, "created_at", Cell::Int(5)).is_err());
        assert_eq!(enc(&cat::MESSAGES, "updated_at", Cell::Null), Ok(Val::Null));
        // '' is only null on the listed exception column.
        assert_eq!(enc(&cat::AGENTS, "last_seen_at", Cell::text("")), Ok(Val::Null));
        assert_eq!(decode(cat::AGENTS.column("last_seen_at").unwrap(), Val::Null), Cell::text(""));
        assert!(enc(&cat::AGENTS, "last_seen_at", Cell::Null).is_err());
        assert!(enc(&cat::MESSAGES, "updated_at", Cell::text("")).is_err());
        assert!(enc(&cat::SESSIONS, "last_seen_at", Cell::text("")).is_err());
        // Flags.
        assert_eq!(enc(&cat::MESSAGES, "deleted", Cell::Int(1)), Ok(Val::Bool(true)));
        assert!(enc(&cat::MESSAGES, "deleted", Cell::Int(2)).is_err());
        // Keys are never null.
        assert!(enc(&cat::MESSAGES, "message_id", Cell::Null).is_err());
        // SQLite datetime and unix seconds.
        let v = enc(&cat::SCHEMA_VERSION, "applied_at", Cell::text("2026-03-02 06:00:00")).unwrap();
        assert_eq!(v, Val::Ts(thrum_schemas::time::parse_rfc3339("2026-03-02T06:00:00Z").unwrap()));
        assert_eq!(
            decode(cat::SCHEMA_VERSION.column("applied_at").unwrap(), v),
            Cell::text("2026-03-02 06:00:00")
        );
        let rfc3339 = Cell::text("2026-03-02T06:00:00");
        assert!(enc(&cat::SCHEMA_VERSION, "applied_at", rfc3339).is_err());
        let v =
            enc(&cat::SYNC_CHECKPOINTS, "last_sync_timestamp", Cell::Int(1_772_431_200)).unwrap();
        assert_eq!(v, Val::Ts(1_772_431_200_000_000));
        assert_eq!(
            decode(cat::SYNC_CHECKPOINTS.column("last_sync_timestamp").unwrap(), v),
            Cell::Int(1_772_431_200)
        );
        assert!(enc(&cat::SYNC_CHECKPOINTS, "last_sync_timestamp", Cell::Int(i64::MAX)).is_err());
        assert!(enc(&cat::MESSAGES, "body_content", Cell::Int(3)).is_err());
    }

    #[test]
    fn exceptions_are_exactly_keys_and_last_seen() {
        let ex = exceptions();
        let nullable_now: Vec<String> =
            ex.iter().filter(|e| e.nullable).map(|e| format!("{}.{}", e.table, e.column)).collect();
        assert_eq!(nullable_now, ["agents.last_seen_at"]);
        let keys: Vec<String> = ex
            .iter()
            .filter(|e| !e.nullable)
            .map(|e| format!("{}.{}", e.table, e.column))
            .collect();
        assert_eq!(
            keys,
            [
                "messages.message_id",
                "threads.thread_id",
                "agents.agent_id",
                "sessions.session_id",
                "subscriptions.id",
                "message_edits.id",
                "groups.group_id",
                "group_members.id",
                "events.event_id",
                "sync_checkpoints.peer_daemon_id",
                "agent_work_contexts.session_id"
            ]
        );
    }
}
