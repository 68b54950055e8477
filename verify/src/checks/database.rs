//! The database itself: schema version, schema against a fresh v13
//! database, integrity and foreign keys.

use super::{query_rows, Mode};
use crate::findings::{Finding, Findings, Kind};
use crate::schema::{self, SchemaDiff};
use crate::value::{for_each_row, plain};
use rusqlite::Connection;

/// The table a schema difference is about (`None` for indexes and others).
pub(super) fn diff_table(object: &str) -> Option<&str> {
    if let Some(t) = object.strip_prefix("table ") {
        return Some(t);
    }
    if object.contains(' ') {
        return None;
    }
    Some(object.split('.').next().unwrap_or(object))
}

/// schema_version, schema against a fresh v13 database, integrity and
/// foreign keys. Returns the schema differences found (known or not).
pub fn check_db(
    db: &Connection,
    expected_version: i64,
    mode: Mode,
    findings: &mut Findings,
) -> (Option<i64>, Vec<SchemaDiff>) {
    let versions = match query_rows(db, "SELECT version FROM schema_version") {
        Ok(v) => Some(v),
        Err(e) => {
            findings.push(
                Finding::new(Kind::TableUnreadable, format!("cannot read the schema version: {e}"))
                    .table("schema_version"),
            );
            None
        }
    };
    let version = versions.as_ref().and_then(|v| v.first()).and_then(|r| r[0].as_int());
    if let Some(versions) = versions.filter(|v| v.len() != 1 || version != Some(expected_version)) {
        let found = versions.iter().map(|r| r[0].to_string()).collect::<Vec<_>>().join(", ");
        findings.push(
            Finding::new(Kind::SchemaVersionWrong, "schema_version must hold exactly one row")
                .table("schema_version")
                .column("version")
                .values(
                    expected_version.to_string(),
                    if found.is_empty() { "no rows".into() } else { found },
                ),
        );
    }
    let diffs = match (schema::fresh(thrum_schemas::sql::V13), schema::snapshot(db)) {
        (Ok(fresh), Ok(actual)) => schema::diff(&fresh, &actual),
        (_, Err(e)) | (Err(e), _) => {
            findings
                .push(Finding::new(Kind::SchemaDiffers, format!("cannot read the schema: {e}")));
            Vec::new()
        }
    };
    let known = schema::known_migration_diffs();
    for d in &diffs {
        let kind = if mode == Mode::Migrated && known.contains(d) {
            Kind::SchemaMigrationKnownDiff
        } else {
            Kind::SchemaDiffers
        };
        let mut f = Finding::new(
            kind,
            format!("{} {} differs from a fresh v13 database", d.object, d.attribute),
        );
        if let Some(t) = diff_table(&d.object) {
            f = f.table(t);
        }
        findings.push(
            f.key(d.object.clone())
                .column(d.attribute.clone())
                .values(d.expected.clone(), d.actual.clone()),
        );
    }
    match query_rows(db, "PRAGMA integrity_check") {
        Ok(rows) => {
            let lines: Vec<String> = rows.iter().map(|r| plain(&r[0])).collect();
            if lines != ["ok"] {
                for l in lines {
                    findings.push(Finding::new(Kind::IntegrityCheckFailed, l));
                }
            }
        }
        Err(e) => findings.push(Finding::new(
            Kind::IntegrityCheckFailed,
            format!("integrity_check failed to run: {e}"),
        )),
    }
    // one row per violating row: streamed, never collected
    let fk = for_each_row(db, "PRAGMA foreign_key_check", |r| {
        findings.push(
            Finding::new(
                Kind::ForeignKeyViolation,
                format!("row refers to a missing {} row (foreign key {})", plain(&r[2]), r[3]),
            )
            .table(plain(&r[0]))
            .key(format!("rowid={}", r[1])),
        );
    });
    if let Err(e) = fk {
        findings.push(Finding::new(
            Kind::ForeignKeyViolation,
            format!("foreign_key_check failed to run: {e}"),
        ));
    }
    (version, diffs)
}
