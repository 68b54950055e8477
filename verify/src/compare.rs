//! Row-by-row, column-by-column comparison of the fixture database with the
//! replayed one, for every projected table of the catalogue.
//!
//! Over 600 lines with its unit tests: the code is about 440 lines, the rest
//! are the tests of the merge join and the heartbeat rules, kept beside them.
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
use crate::value::{cmp_keys, cmp_ref, eq_ref, key_text, load_rows, quote_ident, Val};
use rusqlite::Connection;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::HashMap;
use thrum_schemas::catalogue::{self, Table};

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
/// cursors are merged, one row of each side at a time (`merge_table`).
/// When a side cannot be read that way, or its keys do not come strictly
/// increasing in `cmp_keys` order (duplicate or NULL keys, a collation or
/// text encoding that orders otherwise), the table is compared by loading
/// and sorting both sides (`compare_rows`), with the same result.
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
        if !(in_db && in_replay) {
            out.push(compare_table_loaded(t, db, replayed, &spans, findings)?);
            continue;
        }
        if let Some((st, found)) = merge_table(t, db, replayed, &spans) {
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

/// Compares one table by loading both sides whole and sorting them.
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
    let rep = if has_table(replayed, t.name)? {
        load_rows(replayed, t.name, &cols, &pk)?
    } else {
        Vec::new()
    };
    Ok(match load_rows(db, t.name, &cols, &pk) {
        Ok(db_rows) => compare_rows(t, &db_rows, &rep, spans, findings),
        Err(e) => {
            findings.push(
                Finding::new(
                    Kind::TableUnreadable,
                    format!("cannot read the catalogue's columns: {e}"),
                )
                .table(t.name),
            );
            let mut st = TableStats::new(t.name, "replay");
            st.rows_expected = Some(rep.len() as u64);
            st.missing = rep.len() as u64;
            st.other = 1;
            st
        }
    })
}

/// One side of a merge: a cursor in primary-key order that checks the
/// keys come strictly increasing.
struct Side<'s> {
    rows: rusqlite::Rows<'s>,
    pk: &'s [usize],
    last: Vec<Val>,
    n: u64,
}

impl<'s> Side<'s> {
    /// The next row, `Err` when it cannot be read or is out of order.
    fn next(&mut self) -> Result<Option<&rusqlite::Row<'s>>, ()> {
        let Some(r) = self.rows.next().map_err(|_| ())? else { return Ok(None) };
        let mut key = Vec::with_capacity(self.pk.len());
        for &i in self.pk {
            key.push(Val::from_ref(r.get_ref(i).map_err(|_| ())?));
        }
        if self.n > 0
            && self.last.iter().zip(&key).map(|(a, b)| a.cmp_sqlite(b)).find(|o| o.is_ne())
                != Some(Ordering::Less)
        {
            return Err(());
        }
        self.last = key;
        self.n += 1;
        Ok(Some(r))
    }
}

fn row_vals(r: &rusqlite::Row<'_>, n: usize) -> Result<Vec<Val>, ()> {
    (0..n).map(|i| r.get_ref(i).map(Val::from_ref).map_err(|_| ())).collect()
}

/// `compare_rows` of a table read through two cursors in key order: the
/// table's stats and findings, or `None` when a side cannot be read in a
/// strictly increasing key order, or the database side did not yield every
/// row of its table (the caller then loads both sides).
pub fn merge_table(
    t: &Table,
    db: &Connection,
    rep: &Connection,
    spans: &SessionSpan,
) -> Option<(TableStats, Findings)> {
    let cols = col_names(t);
    let pk = idx(t, t.primary_key);
    let local = idx(t, t.local_columns);
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
        quote_ident(t.name),
        pk.iter()
            .map(|&i| format!("{} COLLATE BINARY", quote_ident(cols[i])))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut sa = db.prepare(&sql).ok()?;
    let mut sb = rep.prepare(&sql).ok()?;
    let n = cols.len();
    let mut a = Side { rows: sa.query([]).ok()?, pk: &pk, last: Vec::new(), n: 0 };
    let mut b = Side { rows: sb.query([]).ok()?, pk: &pk, last: Vec::new(), n: 0 };
    let mut st = TableStats::new(t.name, "replay");
    // bounded: the first ones kept, every one counted
    let mut found = Findings::new(0);
    let mut x = a.next().ok()?;
    let mut y = b.next().ok()?;
    loop {
        let ord = match (x, y) {
            (Some(r), Some(s)) => {
                let mut o = Ordering::Equal;
                for &i in &pk {
                    o = cmp_ref(r.get_ref(i).ok()?, s.get_ref(i).ok()?);
                    if o != Ordering::Equal {
                        break;
                    }
                }
                o
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match ord {
            Ordering::Less => {
                st.extra += 1;
                found.push(row_extra(t, &row_vals(x?, n).ok()?));
                x = a.next().ok()?;
            }
            Ordering::Greater => {
                st.missing += 1;
                found.push(row_missing(t, &row_vals(y?, n).ok()?));
                y = b.next().ok()?;
            }
            Ordering::Equal => {
                let (r, s) = (x?, y?);
                // rows are copied only when they differ or a local column is checked
                let mut copy = !local.is_empty();
                for ci in 0..n {
                    if copy {
                        break;
                    }
                    copy =
                        !local.contains(&ci) && !eq_ref(r.get_ref(ci).ok()?, s.get_ref(ci).ok()?);
                }
                if copy {
                    let (av, bv) = (row_vals(r, n).ok()?, row_vals(s, n).ok()?);
                    compare_pair(t, &local, &av, &bv, spans, &mut st, &mut |f| found.push(f));
                }
                x = a.next().ok()?;
                y = b.next().ok()?;
            }
        }
    }
    // The key order came from an index: the rows seen must be the table's
    // (an index that disagrees with its table is left to the loading path).
    let in_table: i64 = db
        .query_row(&format!("SELECT count(*) FROM {} NOT INDEXED", quote_ident(t.name)), [], |r| {
            r.get(0)
        })
        .ok()?;
    if u64::try_from(in_table).ok()? != a.n {
        return None;
    }
    st.rows_db = a.n;
    st.rows_expected = Some(b.n);
    Some((st, found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use thrum_schemas::catalogue::{table, SESSIONS};

    fn t(s: &str) -> Val {
        Val::text(s)
    }

    #[test]
    fn reports_missing_extra_and_cells() {
        let tbl = table("message_scopes").unwrap();
        let db = vec![vec![t("m1"), t("g"), t("a")], vec![t("m2"), t("g"), t("b")]];
        let rep = vec![vec![t("m1"), t("g"), t("a")], vec![t("m3"), t("g"), t("c")]];
        let mut f = Findings::new(0);
        let st = compare_rows(tbl, &db, &rep, &SessionSpan::default(), &mut f);
        assert_eq!(
            (st.rows_db, st.rows_expected, st.missing, st.extra, st.differing),
            (2, Some(2), 1, 1, 0)
        );
        assert_eq!(f.list()[0].kind, Kind::RowExtra);
        assert_eq!(f.list()[0].key.as_deref(), Some("message_id=m2, scope_type=g, scope_value=b"));
        assert_eq!(f.list()[1].kind, Kind::RowMissing);

        let tbl = table("group_members").unwrap();
        let db = vec![vec![Val::Int(1), t("g"), t("agent"), t("x"), t("T"), Val::Null]];
        let rep = vec![vec![Val::Int(1), t("g"), t("agent"), t("x"), t("T"), t("a")]];
        let mut f = Findings::new(0);
        let st = compare_rows(tbl, &db, &rep, &SessionSpan::default(), &mut f);
        assert_eq!(st.differing, 1);
        let c = &f.list()[0];
        assert_eq!((c.kind, c.column.as_deref()), (Kind::CellDiffers, Some("added_by")));
        assert_eq!(c.key.as_deref(), Some("id=1 (group_id=g, member_type=agent, member_value=x)"));
        assert_eq!((c.expected.as_deref(), c.actual.as_deref()), (Some("\"a\""), Some("NULL")));
    }

    fn table_db(rows: &[(&'static str, Vec<Val>)]) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(thrum_schemas::sql::V13).unwrap();
        for (table, row) in rows {
            let t = table_of(table);
            let ph = (1..=row.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let vals: Vec<rusqlite::types::Value> = row
                .iter()
                .map(|v| match v {
                    Val::Null => rusqlite::types::Value::Null,
                    Val::Int(i) => rusqlite::types::Value::Integer(*i),
                    Val::Real(f) => rusqlite::types::Value::Real(*f),
                    Val::Text(s) => rusqlite::types::Value::Text(s.clone()),
                    Val::BadText(b) | Val::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
                })
                .collect();
            let _ = c.execute(
                &format!(
                    "INSERT OR IGNORE INTO {} ({}) VALUES ({ph})",
                    t.name,
                    col_names(t).join(", ")
                ),
                rusqlite::params_from_iter(vals),
            );
        }
        c
    }

    fn table_of(name: &str) -> &'static Table {
        table(name).unwrap()
    }

    fn cell() -> impl proptest::strategy::Strategy<Value = Val> {
        use proptest::prelude::*;
        prop_oneof![
            4 => prop::sample::select(vec!["a", "b", "c", "2026-03-02T09:00:00Z", "2026-03-02T10:0\
                0:00Z"]).prop_map(Val::text),
            1 => (1i64..4).prop_map(Val::Int),
            1 => Just(Val::Real(1.5)),
            1 => Just(Val::Null),
            1 => Just(Val::Blob(vec![b'a'])),
        ]
    }

    fn rows() -> impl proptest::strategy::Strategy<Value = Vec<(&'static str, Vec<Val>)>> {
        use proptest::prelude::*;
        let names: Vec<&'static str> = catalogue::projected().map(|t| t.name).collect();
        prop::collection::vec(
            (prop::sample::select(names), prop::collection::vec(cell(), 14)),
            0..40,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(t, mut r)| {
                    (t, {
                        r.truncate(table_of(t).columns.len());
                        r
                    })
                })
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 300,
            failure_persistence: None,
            ..Default::default()
        })]
        /// The merge of two key-ordered cursors reports what loading and
        /// sorting both sides reports (or declines, and the caller loads).
        #[test]
        fn merge_join_equals_loading(a in rows(), b in rows()) {
            let (db, rep) = (table_db(&a), table_db(&b));
            let spans = SessionSpan::load(&db).unwrap();
            for t in catalogue::projected() {
                let mut f = Findings::new(0);
                let loaded = compare_table_loaded(t, &db, &rep, &spans, &mut f).unwrap();
                if let Some((st, found)) = merge_table(t, &db, &rep, &spans) {
                    proptest::prop_assert_eq!(&st, &loaded);
                    proptest::prop_assert_eq!(found.list(), f.list());
                }
            }
            let mut f1 = Findings::new(0);
            let mut f2 = Findings::new(0);
            let merged = compare_projected(&db, &rep, &mut f1).unwrap();
            let loaded: Vec<TableStats> = catalogue::projected()
                .map(|t| compare_table_loaded(t, &db, &rep, &spans, &mut f2).unwrap())
                .collect();
            proptest::prop_assert_eq!(merged, loaded);
            proptest::prop_assert_eq!(f1.list(), f2.list());
        }
    }

    fn message(id: Val, body: &str) -> (&'static str, Vec<Val>) {
        let n = Val::Null;
        (
            "messages",
            vec![
                id,
                n.clone(),
                t("a"),
                t("s"),
                t("T"),
                n.clone(),
                t("f"),
                t(body),
                n.clone(),
                Val::Int(0),
                n.clone(),
                n.clone(),
                n,
                Val::Int(0),
            ],
        )
    }

    #[test]
    fn merge_join_declines_duplicate_and_null_keys() {
        let db = table_db(&[message(Val::Null, "a"), message(Val::Null, "b")]);
        assert_eq!(
            db.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0)).unwrap(),
            2
        );
        let rep = table_db(&[]);
        let spans = SessionSpan::default();
        assert!(merge_table(table_of("messages"), &db, &rep, &spans).is_none());
        let clean = table_db(&[message(t("m1"), "a")]);
        let (st, found) = merge_table(table_of("messages"), &clean, &rep, &spans).unwrap();
        assert_eq!((st.rows_db, st.extra, found.total()), (1, 1, 1));
    }

    #[test]
    fn last_seen_is_checked_for_plausibility_not_equality() {
        let start = "2026-01-01T00:00:00.000001Z";
        let end = "2026-01-01T01:00:00.000001Z";
        let rep = vec![vec![t("s1"), t("a"), t(start), t(end), Val::Null, t(start)]];
        let mut f = Findings::new(0);
        let ok = vec![vec![
            t("s1"),
            t("a"),
            t(start),
            t(end),
            Val::Null,
            t("2026-01-01T00:30:00.000001Z"),
        ]];
        assert!(compare_rows(&SESSIONS, &ok, &rep, &SessionSpan::default(), &mut f).clean());
        assert_eq!(f.total(), 0);
        let late = vec![vec![
            t("s1"),
            t("a"),
            t(start),
            t(end),
            Val::Null,
            t("2026-01-01T02:00:00.000001Z"),
        ]];
        let st = compare_rows(&SESSIONS, &late, &rep, &SessionSpan::default(), &mut f);
        assert_eq!((st.differing, st.other), (0, 1));
        assert_eq!(f.list()[0].kind, Kind::LastSeenImplausible);

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(thrum_schemas::sql::V13).unwrap();
        conn.execute("INSERT INTO sessions VALUES ('s1','a',?1,NULL,NULL,?2)", [start, end])
            .unwrap();
        let spans = SessionSpan::load(&conn).unwrap();
        let agents = table("agents").unwrap();
        let rep = vec![vec![t("a"), t("agent"), t("r"), t("m"), t(""), t(""), t(start), t("")]];
        let mut f = Findings::new(0);
        for (seen, ok) in [
            ("", true),
            ("2026-01-01T00:10:00Z", true),
            (end, true),
            ("2026-01-01T01:00:01Z", false),
            ("2025-12-31T00:00:00Z", false),
            ("junk", false),
        ] {
            let db =
                vec![vec![t("a"), t("agent"), t("r"), t("m"), t(""), t(""), t(start), t(seen)]];
            assert_eq!(compare_rows(agents, &db, &rep, &spans, &mut f).clean(), ok, "{seen}");
        }
    }
}
