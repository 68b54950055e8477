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
                Finding::new(Kind::TableUnreadable, format!("v5 input: cannot read the schema version: {e}")).table("schema_version"),
            );
            return None;
        }
    };
    let version = rows.first().and_then(|r| r[0].as_int());
    let rows = rows.len();
    if version != Some(thrum_schemas::LEGACY_SCHEMA_VERSION) || rows != 1 {
        findings.push(
            Finding::new(Kind::SchemaVersionWrong, "the v5 database must hold exactly one schema_version row, 5")
                .table("schema_version")
                .values("5", format!("{version:?} ({rows} rows)")),
        );
    }
    match (schema::fresh(sql::V5), schema::snapshot(v5)) {
        (Ok(f), Ok(a)) => {
            for d in schema::diff(&f, &a) {
                findings.push(
                    Finding::new(Kind::SchemaDiffers, format!("v5 input: {} {} differs from a fresh v5 database", d.object, d.attribute))
                        .key(d.object.clone())
                        .column(d.attribute.clone())
                        .values(d.expected, d.actual),
                );
            }
        }
        (_, Err(e)) | (Err(e), _) => findings.push(Finding::new(Kind::SchemaDiffers, format!("cannot read the v5 schema: {e}"))),
    }
    version
}

fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?;
    let cols = st.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))?;
    cols.collect()
}

/// Proves every v5 row is in the migrated database with equal values, up to
/// the documented changes; reports the dropped threads.
pub fn check_preserved(
    v5: &Connection,
    migrated: &Connection,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) -> Vec<TableStats> {
    let mut out = Vec::new();
    let tables: Vec<String> = match v5
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
    {
        Ok(t) => t,
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("v5 input: cannot list the tables: {e}")).table("sqlite_master"));
            Vec::new()
        }
    };
    let mut expected_changes: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for t in tables {
        let mut st = TableStats::new(&t, "v5_preserved");
        let cols = match table_columns(v5, &t) {
            Ok(c) => c,
            Err(e) => {
                findings.push(Finding::new(Kind::TableUnreadable, format!("v5 input: cannot read the columns: {e}")).table(&t));
                continue;
            }
        };
        let mut names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        let mut pk: Vec<(i64, usize)> = cols.iter().enumerate().filter(|(_, (_, p))| *p > 0).map(|(i, (_, p))| (*p, i)).collect();
        pk.sort();
        let mut key: Vec<usize> = pk.into_iter().map(|(_, i)| i).collect();
        if key.is_empty() {
            names.push("rowid");
            key.push(names.len() - 1);
        }
        let v5_rows = match load_rows(v5, &t, &names, &key) {
            Ok(r) => r,
            Err(e) => {
                findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the v5 table: {e}")).table(t.clone()));
                continue;
            }
        };
        st.rows_expected = Some(v5_rows.len() as u64);
        if t == "threads" {
            let mut carried = 0u64;
            let col = |n: &str| names.iter().position(|c| *c == n);
            let (id_i, title_i, by_i) = (col("thread_id"), col("title"), col("created_by"));
            let cell = |r: &Vec<Val>, i: Option<usize>| i.map_or_else(|| "?".to_string(), |i| r[i].to_string());
            for r in &v5_rows {
                let id = id_i.and_then(|i| r[i].as_str()).unwrap_or("");
                let has = migrated.query_row("SELECT 1 FROM messages WHERE thread_id = ?1 LIMIT 1", [id], |_| Ok(())).is_ok();
                if has {
                    carried += 1;
                } else {
                    findings.push(
                        Finding::new(Kind::ThreadNotCarried, "dropped thread whose id no message carries; its title and creator are gone")
                            .table("threads")
                            .key(key_text(&names, r, &key))
                            .actual(format!("title={}, created_by={}", cell(r, title_i), cell(r, by_i))),
                    );
                }
            }
            findings.push(
                Finding::new(
                    Kind::ThreadDropped,
                    format!(
                        "threads table dropped at 11→12 with {} rows ({} ids still carried by messages.thread_id)",
                        v5_rows.len(),
                        carried
                    ),
                )
                .table("threads"),
            );
            summary.insert(
                "threads".into(),
                json!(format!(
                    "{} dropped (documented); {} ids carried by messages.thread_id; {} not carried",
                    v5_rows.len(),
                    carried,
                    v5_rows.len() as u64 - carried
                )),
            );
            out.push(st);
            continue;
        }
        let mcols = match table_columns(migrated, &t) {
            Ok(c) if !c.is_empty() => c,
            _ => {
                st.missing = v5_rows.len() as u64;
                findings.push(
                    Finding::new(Kind::V5RowLost, format!("table {t} is gone from the migrated database ({} rows lost)", v5_rows.len()))
                        .table(t.clone()),
                );
                out.push(st);
                continue;
            }
        };
        // v5 columns first (same positions), then the columns the migration added
        let added: Vec<String> = mcols.iter().map(|(n, _)| n.clone()).filter(|n| !names.contains(&n.as_str())).collect();
        let mut mnames: Vec<&str> = names.clone();
        mnames.extend(added.iter().map(String::as_str));
        let m_rows = match load_rows(migrated, &t, &mnames, &key) {
            Ok(r) => r,
            Err(e) => {
                findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the migrated table: {e}")).table(t.clone()));
                continue;
            }
        };
        st.rows_db = m_rows.len() as u64;
        let (mut i, mut j) = (0, 0);
        while i < v5_rows.len() || j < m_rows.len() {
            let ord = match (v5_rows.get(i), m_rows.get(j)) {
                (Some(a), Some(b)) => cmp_keys(a, b, &key),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Less => {
                    st.missing += 1;
                    findings.push(
                        Finding::new(Kind::V5RowLost, "v5 row absent from the migrated database").table(t.clone()).key(key_text(
                            &names,
                            &v5_rows[i],
                            &key,
                        )),
                    );
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    st.extra += 1;
                    findings.push(
                        Finding::new(Kind::V5RowAltered, "row added by the migration to a v5 table")
                            .table(t.clone())
                            .key(key_text(&mnames, &m_rows[j], &key)),
                    );
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    let (a, b) = (&v5_rows[i], &m_rows[j]);
                    let k = key_text(&names, a, &key);
                    let mut altered = false;
                    for (ci, c) in names.iter().enumerate() {
                        if a[ci] == b[ci] {
                            continue;
                        }
                        let documented =
                            (t == "agents" && matches!(*c, "display" | "last_seen_at") && a[ci].is_null() && b[ci] == Val::text(""))
                                || (t == "schema_version" && *c == "version" && a[ci] == Val::Int(5) && b[ci] == Val::Int(13));
                        if documented {
                            *expected_changes.entry((t.clone(), c.to_string(), format!("{} → {}", a[ci], b[ci]))).or_default() += 1;
                        } else {
                            altered = true;
                            findings.push(
                                Finding::new(Kind::V5RowAltered, "value changed by the migration beyond the documented changes")
                                    .table(t.clone())
                                    .key(k.clone())
                                    .column(c.to_string())
                                    .values(a[ci].to_string(), b[ci].to_string()),
                            );
                        }
                    }
                    for (ai, c) in added.iter().enumerate() {
                        let v = &b[names.len() + ai];
                        let ok = match (t.as_str(), c.as_str()) {
                            ("agents", "hostname") => *v == Val::text(""),
                            _ => true,
                        };
                        if ok {
                            *expected_changes.entry((t.clone(), c.clone(), format!("added = {v}"))).or_default() += 1;
                        } else {
                            altered = true;
                            findings.push(
                                Finding::new(Kind::V5RowAltered, "column added by the migration has an unexpected value")
                                    .table(t.clone())
                                    .key(k.clone())
                                    .column(c.clone())
                                    .values("\"\"", v.to_string()),
                            );
                        }
                    }
                    if altered {
                        st.differing += 1;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        out.push(st);
    }
    for ((t, c, change), n) in expected_changes {
        findings.push(Finding::new(Kind::V5ExpectedChange, format!("{n} rows: {change} (documented)")).table(t).column(c));
    }
    out
}
