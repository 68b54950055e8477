//! Row-by-row, column-by-column comparison of the fixture database with the
//! replayed one, for every projected table of the catalogue.
//!
//! Rows are matched by primary key (for AUTOINCREMENT tables that is `id`, so
//! whole rows including ids are compared). Heartbeat columns (the catalogue's
//! `local_columns`: `sessions.last_seen_at`, `agents.last_seen_at`) are
//! checked for plausibility instead of equality:
//! * a session's `last_seen_at` is a valid timestamp, not before its
//!   `started_at` and, when ended, not after its `ended_at`;
//! * an agent's `last_seen_at` is `''`, or a valid timestamp not before the
//!   earliest `started_at` of the agent's sessions and not after the latest
//!   `last_seen_at` among them.

use crate::findings::{Finding, Findings, Kind};
use crate::util::ts;
use crate::value::{cmp_keys, key_text, load_rows_within, quote_ident, Val};
use rusqlite::Connection;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::HashMap;
use thrum_schemas::catalogue::{self, Table};

mod merge;

use merge::merge_table;

/// Per-table counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableStats {
    /// The table (or log) counted.
    pub table: String,
    /// What was checked: `replay`, `event_log`, `local`, `v5_preserved`.
    pub check: String,
    /// Rows in the database under test.
    pub rows_db: u64,
    /// Rows expected: from the replay (`replay`), JSONL events (`event_log`), the v5 database
    /// (`v5_preserved`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_expected: Option<u64>,
    /// Expected rows absent from the database.
    pub missing: u64,
    /// Database rows not expected.
    pub extra: u64,
    /// Rows present on both sides with at least one differing cell.
    pub differing: u64,
    /// Other findings about this table (plausibility, references).
    pub other: u64,
}

impl TableStats {
    /// Zero counts for `table` under `check`.
    pub fn new(table: &str, check: &str) -> TableStats {
        TableStats {
            table: table.into(),
            check: check.into(),
            rows_db: 0,
            rows_expected: None,
            missing: 0,
            extra: 0,
            differing: 0,
            other: 0,
        }
    }
    /// Whether nothing was missing, extra, differing or otherwise wrong.
    pub fn clean(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.differing == 0 && self.other == 0
    }
}

/// Column names of a catalogue table.
pub fn col_names(t: &Table) -> Vec<&'static str> {
    t.columns.iter().map(|c| c.name).collect()
}

/// Column indexes of `names` in `t`.
pub fn idx(t: &Table, names: &[&str]) -> Vec<usize> {
    names.iter().filter_map(|n| t.column_index(n)).collect()
}

/// Key text naming a row; AUTOINCREMENT tables add identifying context.
pub fn describe_key(t: &Table, row: &[Val]) -> String {
    let cols = col_names(t);
    let pk = idx(t, t.primary_key);
    let mut s = key_text(&cols, row, &pk);
    if t.autoincrement {
        let ctx: Vec<usize> = if t.natural_key != t.primary_key {
            idx(t, t.natural_key)
        } else {
            (0..cols.len()).filter(|i| !pk.contains(i)).take(2).collect()
        };
        s.push_str(&format!(" ({})", key_text(&cols, row, &ctx)));
    }
    s
}

fn row_text(t: &Table, row: &[Val]) -> String {
    t.columns
        .iter()
        .zip(row)
        .map(|(c, v)| format!("{}={}", c.name, v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per agent: (earliest started_at, latest last_seen_at) of its sessions, in µs.
#[derive(Debug, Default)]
pub struct SessionSpan {
    map: HashMap<String, (Option<i64>, Option<i64>)>,
    /// The sessions could not be read: the spans are not judged.
    unavailable: bool,
}

impl SessionSpan {
    pub fn load(db: &Connection) -> rusqlite::Result<SessionSpan> {
        let mut st = db.prepare("SELECT agent_id, started_at, last_seen_at FROM sessions")?;
        let mut rows = st.query([])?;
        let mut map: HashMap<String, (Option<i64>, Option<i64>)> = HashMap::new();
        while let Some(r) = rows.next()? {
            let a = Val::from_ref(r.get_ref(0)?);
            let Some(agent) = a.as_str() else { continue };
            let start = Val::from_ref(r.get_ref(1)?).as_str().and_then(ts);
            let seen = Val::from_ref(r.get_ref(2)?).as_str().and_then(ts);
            let e = map.entry(agent.to_owned()).or_insert((None, None));
            if let Some(s) = start {
                e.0 = Some(e.0.map_or(s, |x: i64| x.min(s)));
            }
            if let Some(s) = seen {
                e.1 = Some(e.1.map_or(s, |x: i64| x.max(s)));
            }
        }
        Ok(SessionSpan { map, unavailable: false })
    }
}

fn plausibility(t: &Table, row: &[Val], spans: &SessionSpan) -> Option<(String, String)> {
    let get = |name: &str| t.column_index(name).map(|i| &row[i]);
    match t.name {
        "sessions" => {
            let seen = get("last_seen_at")?;
            let started = get("started_at")?.as_str().and_then(ts);
            let ended_raw = get("ended_at")?;
            let ended = ended_raw.as_str().and_then(ts);
            let Some(s) = seen.as_str().and_then(ts) else {
                return Some(("a valid RFC 3339 timestamp".into(), seen.to_string()));
            };
            let expect = match ended_raw {
                Val::Null => format!("a time >= started_at {}", get("started_at")?),
                _ => format!(
                    "a time between started_at {} and ended_at {}",
                    get("started_at")?,
                    ended_raw
                ),
            };
            if started.is_some_and(|st| s < st) || ended.is_some_and(|en| s > en) {
                return Some((expect, seen.to_string()));
            }
            None
        }
        "agents" => {
            let seen = get("last_seen_at")?;
            if seen.as_str() == Some("") {
                return None;
            }
            let Some(s) = seen.as_str().and_then(ts) else {
                return Some(("'' or a valid RFC 3339 timestamp".into(), seen.to_string()));
            };
            if spans.unavailable {
                return None;
            }
            let agent = get("agent_id")?.as_str().unwrap_or("");
            match spans.map.get(agent) {
                None => Some(("'' (the agent has no sessions)".into(), seen.to_string())),
                Some((first, last)) => {
                    if first.is_some_and(|f| s < f) || last.is_some_and(|l| s > l) {
                        let f = first.map(thrum_schemas::time::rfc3339_nano).unwrap_or_default();
                        let l = last.map(thrum_schemas::time::rfc3339_nano).unwrap_or_default();
                        Some((
                            format!(
                                "'' or a time between its first session start {f} and its \
                                sessions' latest last_seen_at {l}"
                            ),
                            seen.to_string(),
                        ))
                    } else {
                        None
                    }
                }
            }
        }
        _ => None,
    }
}

/// `row_extra`: a database row the replay did not produce.
fn row_extra(t: &Table, r: &[Val]) -> Finding {
    Finding::new(
        Kind::RowExtra,
        format!("database row not produced by the replay: {}", row_text(t, r)),
    )
    .table(t.name)
    .key(describe_key(t, r))
}

/// `row_missing`: a replayed row the database lacks.
fn row_missing(t: &Table, r: &[Val]) -> Finding {
    Finding::new(
        Kind::RowMissing,
        format!("row produced by the replay is missing from the database: {}", row_text(t, r)),
    )
    .table(t.name)
    .key(describe_key(t, r))
}

/// The findings of a database row `a` and the replayed row `b` of the same
/// key: one `cell_differs` per replayed column (not in `local`) that
/// differs, then the plausibility of the heartbeat column when the table
/// has local columns; counted in `st`.
fn compare_pair(
    t: &Table,
    local: &[usize],
    a: &[Val],
    b: &[Val],
    spans: &SessionSpan,
    st: &mut TableStats,
    push: &mut dyn FnMut(Finding),
) {
    let mut differs = false;
    for (ci, c) in t.columns.iter().enumerate() {
        if local.contains(&ci) || a[ci] == b[ci] {
            continue;
        }
        differs = true;
        push(
            Finding::new(Kind::CellDiffers, "database value differs from the replayed value")
                .table(t.name)
                .key(describe_key(t, a))
                .column(c.name)
                .values(b[ci].to_string(), a[ci].to_string()),
        );
    }
    if differs {
        st.differing += 1;
    }
    if !local.is_empty() {
        if let Some((expected, actual)) = plausibility(t, a, spans) {
            st.other += 1;
            push(
                Finding::new(
                    Kind::LastSeenImplausible,
                    "heartbeat column outside its plausible range",
                )
                .table(t.name)
                .key(describe_key(t, a))
                .column("last_seen_at")
                .values(expected, actual),
            );
        }
    }
}

/// Compares one table's rows. `db_rows` and `rep_rows` are sorted by the primary key.
pub fn compare_rows(
    t: &Table,
    db_rows: &[Vec<Val>],
    rep_rows: &[Vec<Val>],
    spans: &SessionSpan,
    findings: &mut Findings,
) -> TableStats {
    let pk = idx(t, t.primary_key);
    let local = idx(t, t.local_columns);
    let mut st = TableStats::new(t.name, "replay");
    st.rows_db = db_rows.len() as u64;
    st.rows_expected = Some(rep_rows.len() as u64);
    let (mut i, mut j) = (0, 0);
    while i < db_rows.len() || j < rep_rows.len() {
        let ord = match (db_rows.get(i), rep_rows.get(j)) {
            (Some(a), Some(b)) => cmp_keys(a, b, &pk),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match ord {
            Ordering::Less => {
                st.extra += 1;
                findings.push(row_extra(t, &db_rows[i]));
                i += 1;
            }
            Ordering::Greater => {
                st.missing += 1;
                findings.push(row_missing(t, &rep_rows[j]));
                j += 1;
            }
            Ordering::Equal => {
                compare_pair(t, &local, &db_rows[i], &rep_rows[j], spans, &mut st, &mut |f| {
                    findings.push(f)
                });
                i += 1;
                j += 1;
            }
        }
    }
    st
}

/// Compares every projected table of `db` with `replayed`.
///
/// Each table is read from both databases in primary-key order and the two
/// cursors are merged, one row of each side at a time (`merge_table`); a
/// table the replay lacks is read the same way, every row of it extra.
/// When a side cannot be read that way, or its keys do not come strictly
/// increasing in `cmp_keys` order (duplicate or NULL keys, a collation or
/// text encoding that orders otherwise), or an index disagrees with its
/// table, the table is compared by loading and sorting both sides
/// (`compare_table_loaded`), with the same result, while they fit in
/// [`LOAD_BUDGET`]; a larger table is not compared but reported.
pub fn compare_projected(
    db: &Connection,
    replayed: &Connection,
    findings: &mut Findings,
) -> rusqlite::Result<Vec<TableStats>> {
    let spans = match SessionSpan::load(db) {
        Ok(s) => s,
        Err(e) => {
            findings.push(
                Finding::new(
                    Kind::TableUnreadable,
                    format!(
                        "cannot read the sessions the agents' last_seen_at is judged against: {e}"
                    ),
                )
                .table("sessions"),
            );
            SessionSpan { map: HashMap::new(), unavailable: true }
        }
    };
    let mut out = Vec::new();
    let bar = crate::progress::Bar::steps("compare", catalogue::projected().count() as u64);
    for t in catalogue::projected() {
        bar.message(t.name);
        bar.inc(1);
        let (in_db, in_replay) = (has_table(db, t.name)?, has_table(replayed, t.name)?);
        if !in_db && !in_replay {
            // absent on both sides (`threads` after a v5 migration): nothing
            // to compare; the schema check reports the table's absence
            continue;
        }
        let merged =
            if in_db { merge_table(t, db, in_replay.then_some(replayed), &spans) } else { None };
        if let Some((st, found)) = merged {
            findings.append(found);
            out.push(st);
            continue;
        }
        out.push(compare_table_loaded(t, db, replayed, &spans, findings)?);
    }
    Ok(out)
}

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// The most bytes of rows (values and their overhead) the comparison by
/// loading holds of each side: a table whose keys cannot be merged in
/// order and whose rows take more is reported, not compared, so memory
/// does not grow with a hostile table.
pub const LOAD_BUDGET: usize = 32 << 20;

/// Compares one table by loading both sides whole and sorting them, while
/// each side fits in [`LOAD_BUDGET`].
pub fn compare_table_loaded(
    t: &Table,
    db: &Connection,
    replayed: &Connection,
    spans: &SessionSpan,
    findings: &mut Findings,
) -> rusqlite::Result<TableStats> {
    let cols = col_names(t);
    let pk = idx(t, t.primary_key);
    // a replay into a migrated-shaped database has no `threads`: no rows
    let in_replay = has_table(replayed, t.name)?;
    let mut st = TableStats::new(t.name, "replay");
    let db_rows = match load_rows_within(db, t.name, &cols, &pk, LOAD_BUDGET) {
        Ok(rows) => rows,
        Err(e) => {
            findings.push(
                Finding::new(
                    Kind::TableUnreadable,
                    format!("cannot read the catalogue's columns: {e}"),
                )
                .table(t.name),
            );
            let rep = if in_replay { count_rows(replayed, t.name)? } else { 0 };
            st.rows_expected = Some(rep);
            st.missing = rep;
            st.other = 1;
            return Ok(st);
        }
    };
    let rep_rows = if in_replay {
        load_rows_within(replayed, t.name, &cols, &pk, LOAD_BUDGET)?
    } else {
        Some(Vec::new())
    };
    if let (Some(a), Some(b)) = (&db_rows, &rep_rows) {
        return Ok(compare_rows(t, a, b, spans, findings));
    }
    drop((db_rows, rep_rows));
    findings.push(
        Finding::new(
            Kind::TableUnreadable,
            format!(
                "the table cannot be read in primary-key order (duplicate or NULL keys, an \
                order or an index that disagrees) and its rows take more than the {} MiB \
                compared otherwise: its rows are not compared",
                LOAD_BUDGET >> 20
            ),
        )
        .table(t.name),
    );
    st.rows_db = count_rows(db, t.name)?;
    st.rows_expected = Some(if in_replay { count_rows(replayed, t.name)? } else { 0 });
    st.other = 1;
    Ok(st)
}

fn count_rows(conn: &Connection, name: &str) -> rusqlite::Result<u64> {
    conn.query_row(&format!("SELECT count(*) FROM {}", quote_ident(name)), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n.max(0) as u64)
}

#[cfg(test)]
mod tests;
