//! The proof of the database migration: the v5 input is a v5 database,
//! and every v5 row is in the migrated database with equal values, up to
//! the documented changes.

use crate::compare::TableStats;
use crate::findings::{Finding, Findings, Kind};
use crate::schema;
use crate::value::{cmp_keys, key_text, load_rows, quote_ident, Val};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use thrum_schemas::sql;

/// Checks that the v5 database is a v5 database.
pub(super) fn check_v5_db(v5: &Connection, findings: &mut Findings) -> Option<i64> {
    let rows = match crate::value::query_all(v5, "SELECT version FROM schema_version") {
        Ok(rows) => rows,
        Err(e) => {
            findings.push(
                Finding::new(
                    Kind::TableUnreadable,
                    format!("v5 input: cannot read the schema version: {e}"),
                )
                .table("schema_version"),
            );
            return None;
        }
    };
    let version = rows.first().and_then(|r| r[0].as_int());
    let rows = rows.len();
    if version != Some(thrum_schemas::LEGACY_SCHEMA_VERSION) || rows != 1 {
        findings.push(
            Finding::new(
                Kind::SchemaVersionWrong,
                "the v5 database must hold exactly one schema_version row, 5",
            )
            .table("schema_version")
            .values("5", format!("{version:?} ({rows} rows)")),
        );
    }
    match (schema::fresh(sql::V5), schema::snapshot(v5)) {
        (Ok(f), Ok(a)) => {
            for d in schema::diff(&f, &a) {
                findings.push(
                    Finding::new(
                        Kind::SchemaDiffers,
                        format!(
                            "v5 input: {} {} differs from a fresh v5 database",
                            d.object, d.attribute
                        ),
                    )
                    .key(d.object.clone())
                    .column(d.attribute.clone())
                    .values(d.expected, d.actual),
                );
            }
        }
        (_, Err(e)) | (Err(e), _) => findings
            .push(Finding::new(Kind::SchemaDiffers, format!("cannot read the v5 schema: {e}"))),
    }
    version
}

fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?;
    let cols = st.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))?;
    cols.collect()
}

/// Documented changes seen: (table, column, change) -> rows.
type Changes = BTreeMap<(String, String, String), u64>;

/// Proves every v5 row is in the migrated database with equal values, up to
/// the documented changes; reports the dropped threads.
pub fn check_preserved(
    v5: &Connection,
    migrated: &Connection,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) -> Vec<TableStats> {
    let mut out = Vec::new();
    let mut expected_changes = Changes::new();
    for t in list_tables(v5, findings) {
        let mut st = TableStats::new(&t, "v5_preserved");
        let cols = match table_columns(v5, &t) {
            Ok(c) => c,
            Err(e) => {
                findings.push(
                    Finding::new(
                        Kind::TableUnreadable,
                        format!("v5 input: cannot read the columns: {e}"),
                    )
                    .table(&t),
                );
                continue;
            }
        };
        let (names, key) = key_columns(&cols);
        let v5_rows = match load_rows(v5, &t, &names, &key) {
            Ok(r) => r,
            Err(e) => {
                findings.push(
                    Finding::new(Kind::TableUnreadable, format!("cannot read the v5 table: {e}"))
                        .table(t.clone()),
                );
                continue;
            }
        };
        st.rows_expected = Some(v5_rows.len() as u64);
        if t == "threads" {
            check_threads(migrated, &names, &key, &v5_rows, findings, summary);
            out.push(st);
            continue;
        }
        let mcols = match table_columns(migrated, &t) {
            Ok(c) if !c.is_empty() => c,
            _ => {
                st.missing = v5_rows.len() as u64;
                findings.push(
                    Finding::new(
                        Kind::V5RowLost,
                        format!(
                            "table {t} is gone from the migrated database ({} rows lost)",
                            v5_rows.len()
                        ),
                    )
                    .table(t.clone()),
                );
                out.push(st);
                continue;
            }
        };
        // v5 columns first (same positions), then the columns the migration added
        let added: Vec<String> =
            mcols.iter().map(|(n, _)| n.clone()).filter(|n| !names.contains(&n.as_str())).collect();
        let mut mnames: Vec<&str> = names.clone();
        mnames.extend(added.iter().map(String::as_str));
        let m_rows = match load_rows(migrated, &t, &mnames, &key) {
            Ok(r) => r,
            Err(e) => {
                findings.push(
                    Finding::new(
                        Kind::TableUnreadable,
                        format!("cannot read the migrated table: {e}"),
                    )
                    .table(t.clone()),
                );
                continue;
            }
        };
        st.rows_db = m_rows.len() as u64;
        let cmp = TableCmp { t: &t, names: &names, mnames: &mnames, added: &added, key: &key };
        cmp.merge(&v5_rows, &m_rows, &mut st, findings, &mut expected_changes);
        out.push(st);
    }
    for ((t, c, change), n) in expected_changes {
        findings.push(
            Finding::new(Kind::V5ExpectedChange, format!("{n} rows: {change} (documented)"))
                .table(t)
                .column(c),
        );
    }
    out
}

/// The v5 database's tables, by name.
fn list_tables(v5: &Connection, findings: &mut Findings) -> Vec<String> {
    match v5
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
    {
        Ok(t) => t,
        Err(e) => {
            findings.push(
                Finding::new(
                    Kind::TableUnreadable,
                    format!("v5 input: cannot list the tables: {e}"),
                )
                .table("sqlite_master"),
            );
            Vec::new()
        }
    }
}

/// The column names to load and the positions of the key among them: the
/// primary key in its order, or `rowid` added where there is none.
fn key_columns(cols: &[(String, i64)]) -> (Vec<&str>, Vec<usize>) {
    let mut names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let mut pk: Vec<(i64, usize)> =
        cols.iter().enumerate().filter(|(_, (_, p))| *p > 0).map(|(i, (_, p))| (*p, i)).collect();
    pk.sort();
    let mut key: Vec<usize> = pk.into_iter().map(|(_, i)| i).collect();
    if key.is_empty() {
        names.push("rowid");
        key.push(names.len() - 1);
    }
    (names, key)
}

/// The `threads` table is dropped at 11→12: each thread id no message
/// carries is named, and the drop is reported.
fn check_threads(
    migrated: &Connection,
    names: &[&str],
    key: &[usize],
    v5_rows: &[Vec<Val>],
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) {
    let mut carried = 0u64;
    let col = |n: &str| names.iter().position(|c| *c == n);
    let (id_i, title_i, by_i) = (col("thread_id"), col("title"), col("created_by"));
    let cell =
        |r: &Vec<Val>, i: Option<usize>| i.map_or_else(|| "?".to_string(), |i| r[i].to_string());
    for r in v5_rows {
        let id = id_i.and_then(|i| r[i].as_str()).unwrap_or("");
        let has = migrated
            .query_row("SELECT 1 FROM messages WHERE thread_id = ?1 LIMIT 1", [id], |_| Ok(()))
            .is_ok();
        if has {
            carried += 1;
        } else {
            findings.push(
                Finding::new(
                    Kind::ThreadNotCarried,
                    "dropped thread whose id no message carries; its title and creator are gone",
                )
                .table("threads")
                .key(key_text(names, r, key))
                .actual(format!(
                    "title={}, created_by={}",
                    cell(r, title_i),
                    cell(r, by_i)
                )),
            );
        }
    }
    let n = v5_rows.len();
    let what = format!(
        "threads table dropped at 11→12 with {n} rows ({carried} ids still carried \
        by messages.thread_id)"
    );
    findings.push(Finding::new(Kind::ThreadDropped, what).table("threads"));
    let line = format!(
        "{n} dropped (documented); {carried} ids carried by messages.thread_id; {} not carried",
        n as u64 - carried
    );
    summary.insert("threads".into(), json!(line));
}

/// One table of both databases: the v5 columns, the migrated columns (the
/// v5 ones, then those the migration `added`) and the key positions.
struct TableCmp<'a> {
    t: &'a str,
    names: &'a [&'a str],
    mnames: &'a [&'a str],
    added: &'a [String],
    key: &'a [usize],
}

impl TableCmp<'_> {
    /// Merge-joins the rows of both (each in key order).
    fn merge(
        &self,
        v5_rows: &[Vec<Val>],
        m_rows: &[Vec<Val>],
        st: &mut TableStats,
        findings: &mut Findings,
        changes: &mut Changes,
    ) {
        let (t, key) = (self.t, self.key);
        let (mut i, mut j) = (0, 0);
        while i < v5_rows.len() || j < m_rows.len() {
            let ord = match (v5_rows.get(i), m_rows.get(j)) {
                (Some(a), Some(b)) => cmp_keys(a, b, key),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Less => {
                    st.missing += 1;
                    let k = key_text(self.names, &v5_rows[i], key);
                    findings.push(
                        Finding::new(Kind::V5RowLost, "v5 row absent from the migrated database")
                            .table(t)
                            .key(k),
                    );
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    st.extra += 1;
                    let k = key_text(self.mnames, &m_rows[j], key);
                    findings.push(
                        Finding::new(
                            Kind::V5RowAltered,
                            "row added by the migration to a v5 table",
                        )
                        .table(t)
                        .key(k),
                    );
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    if self.row(&v5_rows[i], &m_rows[j], findings, changes) {
                        st.differing += 1;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
    }

    /// One row of both: true when it differs beyond the documented changes.
    fn row(&self, a: &[Val], b: &[Val], findings: &mut Findings, changes: &mut Changes) -> bool {
        let t = self.t;
        let k = key_text(self.names, a, self.key);
        let mut altered = false;
        for (ci, c) in self.names.iter().enumerate() {
            if a[ci] == b[ci] {
                continue;
            }
            let documented = (t == "agents"
                && matches!(*c, "display" | "last_seen_at")
                && a[ci].is_null()
                && b[ci] == Val::text(""))
                || (t == "schema_version"
                    && *c == "version"
                    && a[ci] == Val::Int(5)
                    && b[ci] == Val::Int(13));
            if documented {
                *changes
                    .entry((t.to_string(), c.to_string(), format!("{} → {}", a[ci], b[ci])))
                    .or_default() += 1;
            } else {
                altered = true;
                findings.push(
                    Finding::new(
                        Kind::V5RowAltered,
                        "value changed by the migration beyond the documented changes",
                    )
                    .table(t)
                    .key(k.clone())
                    .column(c.to_string())
                    .values(a[ci].to_string(), b[ci].to_string()),
                );
            }
        }
        for (ai, c) in self.added.iter().enumerate() {
            let v = &b[self.names.len() + ai];
            let ok = match (t, c.as_str()) {
                ("agents", "hostname") => *v == Val::text(""),
                _ => true,
            };
            if ok {
                *changes.entry((t.to_string(), c.clone(), format!("added = {v}"))).or_default() +=
                    1;
            } else {
                altered = true;
                findings.push(
                    Finding::new(
                        Kind::V5RowAltered,
                        "column added by the migration has an unexpected value",
                    )
                    .table(t)
                    .key(k.clone())
                    .column(c.clone())
                    .values("\"\"", v.to_string()),
                );
            }
        }
        altered
    }
}
