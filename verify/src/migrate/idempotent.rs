//! Idempotence: both migrations run a second time on the migrated tree
//! change no byte of the JSONL and no row, compared by digest.

use super::db::migrate_db;
use super::jsonl::{migrate_jsonl, read_input};
use crate::error::InputError;
use crate::findings::{Finding, Findings, Kind};
use crate::util::sha256_hex;
use crate::value::{quote_ident, Val};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Digest of every JSONL-ish file (relative path → sha256) and of the
/// database content (schema objects and every table's rows by rowid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeDigest {
    /// Relative path → sha256 of each JSONL-ish file.
    pub files: BTreeMap<String, String>,
    /// Schema object or table → sha256 of its definition or rows.
    pub db: BTreeMap<String, String>,
}

/// The `TreeDigest` of the tree at `thrum`.
pub fn digest(thrum: &Path) -> Result<TreeDigest, InputError> {
    let mut files = BTreeMap::new();
    let (all, _) = crate::util::walk_files(thrum, thrum).map_err(|e| InputError::io(thrum, e))?;
    for rel in all {
        if rel.ends_with(".jsonl") || rel.ends_with(".bak") {
            let b = read_input(&thrum.join(&rel))?;
            files.insert(rel, sha256_hex(&b));
        }
    }
    let dbp = thrum.join("var/messages.db");
    // immutable: a plain read-only connection to a WAL database would leave -shm and -wal files
    let uri = thrum_io::uri::immutable(&dbp)
        .ok_or_else(|| InputError::db(&dbp, "path is not valid UTF-8"))?;
    let spent = crate::untrusted::Spent::default();
    let budget = crate::untrusted::budget_for(crate::untrusted::file_bytes(&dbp));
    let conn = crate::untrusted::open(uri, true, &dbp, budget, &spent)?;
    let mut db = BTreeMap::new();
    let objects: Vec<(String, String, Option<String>)> = {
        let mut st = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .map_err(|e| InputError::db(&dbp, e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| InputError::db(&dbp, e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| InputError::db(&dbp, e))?
    };
    for (ty, name, sqltext) in objects {
        db.insert(format!("{ty} {name} (sql)"), sha256_hex(sqltext.unwrap_or_default().as_bytes()));
        if ty == "table" {
            let mut st = conn
                .prepare(&format!("SELECT * FROM {} ORDER BY rowid", quote_ident(&name)))
                .map_err(|e| InputError::db(&dbp, e))?;
            let n = st.column_count();
            let mut rows = st.query([]).map_err(|e| InputError::db(&dbp, e))?;
            let mut text = String::new();
            while let Some(r) = rows.next().map_err(|e| InputError::db(&dbp, e))? {
                for i in 0..n {
                    let v = Val::from_ref(r.get_ref(i).map_err(|e| InputError::db(&dbp, e))?);
                    text.push_str(&format!("{v:?}\u{1f}"));
                }
                text.push('\u{1e}');
            }
            db.insert(format!("table {name} (rows)"), sha256_hex(text.as_bytes()));
        }
    }
    spent.settle(&dbp, budget)?;
    Ok(TreeDigest { files, db })
}

/// Idempotence: a second run of both migrations changes no byte of the
/// JSONL and no row.
pub(super) fn check_idempotent(
    wthrum: &Path,
    wdb: &Path,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
    at_out: &dyn Fn(InputError) -> InputError,
) -> Result<(), InputError> {
    let before = digest(wthrum)?;
    let mut scratch = Findings::new(1);
    let again_db = migrate_db(wdb);
    let again = migrate_jsonl(wthrum, &mut scratch).map_err(at_out)?;
    let after = digest(wthrum)?;
    let mut idem = true;
    if again_db.as_ref().map(|m| m.steps) != Ok(0) {
        idem = false;
        findings.push(
            Finding::new(
                Kind::MigrationNotIdempotent,
                format!("second SQL run was not a no-op: {again_db:?}"),
            )
            .file(".thrum/var/messages.db"),
        );
    }
    if !again.is_noop() {
        idem = false;
        findings.push(Finding::new(
            Kind::MigrationNotIdempotent,
            format!("second JSONL run changed files: {again:?}"),
        ));
    }
    for (k, v) in &before.files {
        if after.files.get(k) != Some(v) {
            idem = false;
            findings.push(
                Finding::new(Kind::MigrationNotIdempotent, "file bytes changed on the second run")
                    .file(format!(".thrum/{k}"))
                    .values(
                        v.clone(),
                        after.files.get(k).cloned().unwrap_or_else(|| "absent".into()),
                    ),
            );
        }
    }
    for k in after.files.keys().filter(|k| !before.files.contains_key(*k)) {
        idem = false;
        findings.push(
            Finding::new(Kind::MigrationNotIdempotent, "file created by the second run")
                .file(format!(".thrum/{k}")),
        );
    }
    for (k, v) in &before.db {
        if after.db.get(k) != Some(v) {
            idem = false;
            findings.push(
                Finding::new(
                    Kind::MigrationNotIdempotent,
                    format!("database {k} changed on the second run"),
                )
                .file(".thrum/var/messages.db"),
            );
        }
    }
    summary.insert(
        "idempotent".into(),
        json!(if idem {
            format!(
                "yes: second run left {} JSONL files and {} database objects unchanged",
                before.files.len(),
                before.db.len()
            )
        } else {
            "NO".into()
        }),
    );
    Ok(())
}
