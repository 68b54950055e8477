//! Schema snapshots (tables, columns via `PRAGMA table_info`, indexes via
//! `PRAGMA index_list`/`index_info`, foreign keys via
//! `PRAGMA foreign_key_list`) and their differences.

use crate::value::quote_ident;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub ty: String,
    pub notnull: bool,
    pub default: Option<String>,
    pub pk: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableInfo {
    pub columns: Vec<ColumnInfo>,
    /// `parent(from→to) on update X on delete Y match Z`, sorted.
    pub foreign_keys: Vec<String>,
    pub autoincrement: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub table: String,
    pub unique: bool,
    pub origin: String,
    pub partial: bool,
    pub columns: Vec<String>,
    /// `CREATE INDEX` text without whitespace, lowercased (None for automatic indexes).
    pub sql: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub tables: BTreeMap<String, TableInfo>,
    pub indexes: BTreeMap<String, IndexInfo>,
    /// Triggers and views: name → type.
    pub others: BTreeMap<String, String>,
}

/// One difference: `object` (`agents.display`, `index idx_x`, `table threads`),
/// `attribute` (`exists`, `type`, `notnull`, `default`, `pk`, `column order`,
/// `autoincrement`, `foreign keys`, `unique`, `columns`, `sql`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaDiff {
    pub object: String,
    pub attribute: String,
    pub expected: String,
    pub actual: String,
}

impl SchemaDiff {
    fn new(
        object: impl Into<String>,
        attribute: &str,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> SchemaDiff {
        SchemaDiff {
            object: object.into(),
            attribute: attribute.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl std::fmt::Display for SchemaDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: expected {}, found {}",
            self.object, self.attribute, self.expected, self.actual
        )
    }
}

fn squash(sql: &str) -> String {
    sql.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Reads the schema of `conn`.
pub fn snapshot(conn: &Connection) -> rusqlite::Result<Snapshot> {
    let mut snap = Snapshot::default();
    let objects: Vec<(String, String, String, Option<String>)> = {
        let mut st =
            conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (ty, name, _tbl, sql) in &objects {
        match ty.as_str() {
            "table" => {
                let mut info = TableInfo {
                    autoincrement: sql
                        .as_deref()
                        .is_some_and(|s| s.to_ascii_uppercase().contains("AUTOINCREMENT")),
                    ..TableInfo::default()
                };
                let mut st = conn.prepare(&format!("PRAGMA table_info({})", quote_ident(name)))?;
                let cols = st.query_map([], |r| {
                    Ok(ColumnInfo {
                        name: r.get(1)?,
                        ty: r.get(2)?,
                        notnull: r.get::<_, i64>(3)? != 0,
                        default: r.get(4)?,
                        pk: r.get(5)?,
                    })
                })?;
                info.columns = cols.collect::<rusqlite::Result<_>>()?;
                let mut st =
                    conn.prepare(&format!("PRAGMA foreign_key_list({})", quote_ident(name)))?;
                let fks = st.query_map([], |r| {
                    Ok(format!(
                        "{}({}→{}) on update {} on delete {} match {}",
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?
                    ))
                })?;
                info.foreign_keys = fks.collect::<rusqlite::Result<_>>()?;
                info.foreign_keys.sort();
                let mut st = conn.prepare(&format!("PRAGMA index_list({})", quote_ident(name)))?;
                let idx: Vec<(String, bool, String, bool)> = st
                    .query_map([], |r| {
                        Ok((
                            r.get(1)?,
                            r.get::<_, i64>(2)? != 0,
                            r.get(3)?,
                            r.get::<_, i64>(4)? != 0,
                        ))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                for (iname, unique, origin, partial) in idx {
                    let mut st =
                        conn.prepare(&format!("PRAGMA index_info({})", quote_ident(&iname)))?;
                    let columns: Vec<String> = st
                        .query_map([], |r| {
                            Ok(r.get::<_, Option<String>>(2)?.unwrap_or_else(|| "<expr>".into()))
                        })?
                        .collect::<rusqlite::Result<_>>()?;
                    let sql = objects
                        .iter()
                        .find(|o| o.0 == "index" && o.1 == iname)
                        .and_then(|o| o.3.as_deref())
                        .map(squash);
                    snap.indexes.insert(
                        iname,
                        IndexInfo { table: name.clone(), unique, origin, partial, columns, sql },
                    );
                }
                snap.tables.insert(name.clone(), info);
            }
            "index" => {}
            other => {
                snap.others.insert(name.clone(), other.to_owned());
            }
        }
    }
    Ok(snap)
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "NULL".into())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Differences of `actual` from `expected`.
pub fn diff(expected: &Snapshot, actual: &Snapshot) -> Vec<SchemaDiff> {
    let mut out = Vec::new();
    for (name, et) in &expected.tables {
        let Some(at) = actual.tables.get(name) else {
            out.push(SchemaDiff::new(format!("table {name}"), "exists", "yes", "no"));
            continue;
        };
        diff_table(name, et, at, &mut out);
    }
    for name in actual.tables.keys() {
        if !expected.tables.contains_key(name) {
            out.push(SchemaDiff::new(format!("table {name}"), "exists", "no", "yes"));
        }
    }
    for (name, ei) in &expected.indexes {
        let obj = format!("index {name}");
        let Some(ai) = actual.indexes.get(name) else {
            out.push(SchemaDiff::new(obj, "exists", "yes", "no"));
            continue;
        };
        diff_index(&obj, ei, ai, &mut out);
    }
    for name in actual.indexes.keys() {
        if !expected.indexes.contains_key(name) {
            out.push(SchemaDiff::new(format!("index {name}"), "exists", "no", "yes"));
        }
    }
    for (name, ty) in &actual.others {
        if expected.others.get(name) != Some(ty) {
            out.push(SchemaDiff::new(format!("{ty} {name}"), "exists", "no", "yes"));
        }
    }
    for (name, ty) in &expected.others {
        if !actual.others.contains_key(name) {
            out.push(SchemaDiff::new(format!("{ty} {name}"), "exists", "yes", "no"));
        }
    }
    out
}

/// Differences of the table `name` as `at` from `et`: its columns (each
/// one's type, nullability, default and key position, and their order),
/// AUTOINCREMENT and foreign keys.
fn diff_table(name: &str, et: &TableInfo, at: &TableInfo, out: &mut Vec<SchemaDiff>) {
    for ec in &et.columns {
        let obj = format!("{name}.{}", ec.name);
        let Some(ac) = at.columns.iter().find(|c| c.name == ec.name) else {
            out.push(SchemaDiff::new(obj, "exists", "yes", "no"));
            continue;
        };
        if !ec.ty.eq_ignore_ascii_case(&ac.ty) {
            out.push(SchemaDiff::new(&obj, "type", &ec.ty, &ac.ty));
        }
        if ec.notnull != ac.notnull {
            out.push(SchemaDiff::new(
                &obj,
                "notnull",
                (ec.notnull as u8).to_string(),
                (ac.notnull as u8).to_string(),
            ));
        }
        if ec.default != ac.default {
            out.push(SchemaDiff::new(&obj, "default", opt(&ec.default), opt(&ac.default)));
        }
        if ec.pk != ac.pk {
            out.push(SchemaDiff::new(&obj, "pk", ec.pk.to_string(), ac.pk.to_string()));
        }
    }
    for ac in &at.columns {
        if !et.columns.iter().any(|c| c.name == ac.name) {
            out.push(SchemaDiff::new(format!("{name}.{}", ac.name), "exists", "no", "yes"));
        }
    }
    let eo: Vec<&str> = et.columns.iter().map(|c| c.name.as_str()).collect();
    let ao: Vec<&str> = at.columns.iter().map(|c| c.name.as_str()).collect();
    if eo != ao {
        out.push(SchemaDiff::new(name, "column order", eo.join(", "), ao.join(", ")));
    }
    if et.autoincrement != at.autoincrement {
        out.push(SchemaDiff::new(
            name,
            "autoincrement",
            yes(et.autoincrement),
            yes(at.autoincrement),
        ));
    }
    if et.foreign_keys != at.foreign_keys {
        out.push(SchemaDiff::new(
            name,
            "foreign keys",
            et.foreign_keys.join("; "),
            at.foreign_keys.join("; "),
        ));
    }
}

/// Differences of the index `obj` as `ai` from `ei`.
fn diff_index(obj: &str, ei: &IndexInfo, ai: &IndexInfo, out: &mut Vec<SchemaDiff>) {
    if ei.table != ai.table {
        out.push(SchemaDiff::new(obj, "table", &ei.table, &ai.table));
    }
    if ei.unique != ai.unique {
        out.push(SchemaDiff::new(obj, "unique", yes(ei.unique), yes(ai.unique)));
    }
    if ei.origin != ai.origin {
        out.push(SchemaDiff::new(obj, "origin", &ei.origin, &ai.origin));
    }
    if ei.partial != ai.partial {
        out.push(SchemaDiff::new(obj, "partial", yes(ei.partial), yes(ai.partial)));
    }
    if ei.columns != ai.columns {
        out.push(SchemaDiff::new(obj, "columns", ei.columns.join(", "), ai.columns.join(", ")));
    }
    if ei.sql != ai.sql {
        out.push(SchemaDiff::new(obj, "sql", opt(&ei.sql), opt(&ai.sql)));
    }
}

/// Snapshot of a fresh database built from `ddl`.
pub fn fresh(ddl: &str) -> rusqlite::Result<Snapshot> {
    let c = Connection::open_in_memory()?;
    c.execute_batch(ddl)?;
    snapshot(&c)
}

/// The differences a v5→v13 migrated database has from a fresh v13 one
/// (docs/FORMAT.md section 7): agents.display/hostname/last_seen_at nullable
/// without defaults, hostname appended last to agents, file_changes appended
/// last to agent_work_contexts; and no `threads` table (with its automatic
/// index) or `idx_messages_thread`, dropped at 11→12, which a fresh v13
/// database has.
pub fn known_migration_diffs() -> Vec<SchemaDiff> {
    let mut out = vec![
        SchemaDiff::new("table threads", "exists", "yes", "no"),
        SchemaDiff::new("index idx_messages_thread", "exists", "yes", "no"),
        SchemaDiff::new("index sqlite_autoindex_threads_1", "exists", "yes", "no"),
    ];
    for col in ["display", "hostname", "last_seen_at"] {
        out.push(SchemaDiff::new(format!("agents.{col}"), "notnull", "1", "0"));
        out.push(SchemaDiff::new(format!("agents.{col}"), "default", "''", "NULL"));
    }
    out.push(SchemaDiff::new(
        "agents",
        "column order",
        "agent_id, kind, role, module, display, hostname, registered_at, last_seen_at",
        "agent_id, kind, role, module, display, registered_at, last_seen_at, hostname",
    ));
    out.push(SchemaDiff::new(
        "agent_work_contexts",
        "column order",
        "session_id, agent_id, branch, worktree_path, unmerged_commits, uncommitted_files, \
            changed_files, file_changes, git_updated_at, current_task, task_updated_at, intent, \
            intent_updated_at",
        "session_id, agent_id, branch, worktree_path, unmerged_commits, uncommitted_files, \
            changed_files, git_updated_at, current_task, task_updated_at, intent, \
            intent_updated_at, file_changes",
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use thrum_schemas::sql;

    #[test]
    fn fresh_v13_has_no_diff_and_tampering_is_seen() {
        let f = fresh(sql::V13).unwrap();
        assert!(diff(&f, &f).is_empty());
        assert_eq!(f.indexes.iter().filter(|(_, i)| i.origin == "c").count(), 24);
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(sql::V13).unwrap();
        c.execute_batch(
            "DROP INDEX idx_events_type; CREATE INDEX idx_events_type ON \
            events(timestamp); CREATE TABLE legacy(x);",
        )
        .unwrap();
        let d = diff(&f, &snapshot(&c).unwrap());
        let objs: Vec<(&str, &str)> =
            d.iter().map(|d| (d.object.as_str(), d.attribute.as_str())).collect();
        assert_eq!(
            objs,
            vec![
                ("table legacy", "exists"),
                ("index idx_events_type", "columns"),
                ("index idx_events_type", "sql")
            ]
        );
    }

    #[test]
    fn migrated_v5_differs_exactly_by_the_known_list() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(sql::V5).unwrap();
        for m in sql::MIGRATIONS {
            c.execute_batch(m.sql).unwrap();
        }
        c.execute_batch(sql::FINISH).unwrap();
        let d = diff(&fresh(sql::V13).unwrap(), &snapshot(&c).unwrap());
        let mut known = known_migration_diffs();
        let mut got = d.clone();
        known.sort_by(|a, b| (&a.object, &a.attribute).cmp(&(&b.object, &b.attribute)));
        got.sort_by(|a, b| (&a.object, &a.attribute).cmp(&(&b.object, &b.attribute)));
        assert_eq!(got, known);
    }
}
