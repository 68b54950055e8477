//! `verify migrate`: the v5 → v13 migration (docs/FORMAT.md section 7) on a
//! copy of a v5 fixture, and the proof that it lost nothing.
//!
//! Database: opened as the daemon opens it, `PRAGMA foreign_keys=ON` and
//! `journal_mode=WAL` (persistent: the migrated file's header says WAL, bytes
//! 18 and 19 are 2, and closing removes the `-wal` and `-shm` files), then in
//! one transaction every step of [`thrum_schemas::sql::MIGRATIONS`] and
//! [`thrum_schemas::sql::FINISH`]. A database already at 13 is left alone
//! (that is what makes a second run a no-op).
//!
//! JSONL, step 1 (sharding), only when `messages.jsonl` exists and neither
//! `events.jsonl` nor `messages/` does: a first pass maps each
//! `message.create`'s `message_id` to `shard_name(agent_id)`; a second pass
//! sends `message.*` events to `messages/{author}.jsonl` (edits, deletes and
//! other message events go to the author of the `message_id` they touch and
//! are dropped — reported `migration_event_dropped` — when it is unknown) and
//! everything else to `events.jsonl`, each file in original order, lines
//! verbatim; `messages/` is created with mode 0750, as the daemon creates it.
//! Blank lines are dropped; unparsable lines are dropped and
//! reported. The count check re-reads the written files:
//! `written + dropped + unparsable == non-blank lines read`. Then
//! `messages.jsonl` is renamed `messages.jsonl.v6.bak`.
//!
//! JSONL, step 2 (backfill), for `events.jsonl` and every
//! `messages/*.jsonl`: an event without `event_id` (absent or `""`) gets
//! [`thrum_schemas::ids::backfill_event_id`] (ULID time = the timestamp in
//! ms, entity from [`thrum_schemas::ids::backfill_entity`]); events missing
//! `type` or `timestamp` (or with an unparsable timestamp) keep no id
//! (`migration_backfill_skipped`); a missing `v` becomes 1. Every parsable
//! line is re-encoded canonically with [`crate::gojson`]; a file is
//! rewritten (temporary file + rename) only when its bytes change.

use crate::checks::Mode;
use crate::compare::TableStats;
use crate::error::InputError;
use crate::extract::Limits;
use crate::findings::{Finding, Findings, Kind};
use crate::input::{self, Tree};
use crate::report::Report;
use crate::schema;
use crate::verify::{add_manifest_summary, copy_db, copy_db_with, open_db, verify_into, Options};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod db;
mod idempotent;
mod jsonl;
mod preserved;

pub use db::migrate_db;
use idempotent::check_idempotent;
pub use idempotent::digest;
pub use jsonl::migrate_jsonl;
use jsonl::JsonlMigration;
pub use preserved::check_preserved;
use preserved::check_v5_db;

/// How `verify migrate` runs.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Where the migrated tree is written (`--out`); `None`: a temporary one.
    pub out: Option<PathBuf>,
    /// Findings listed in detail per kind and table.
    pub max_diffs: usize,
    /// The extraction limits.
    pub limits: Limits,
    /// Whether the manifest and `SHA256SUMS` beside the input are checked.
    pub check_manifest: bool,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions { out: None, max_diffs: 20, limits: Limits::default(), check_manifest: true }
    }
}

/// Copies the tree with thrum-io's copy (regular files and directories
/// only, each file synced), its errors in verify's words: a write error is
/// the copy's (a full disk named as such), any other the input's.
fn copy_tree(src: &Path, dst: &Path) -> Result<(), InputError> {
    use thrum_io::tree::CopyError;
    thrum_io::tree::copy_tree(src, dst).map_err(|e| match e {
        CopyError::Io { action: "create directory" | "create" | "write", path, source } => {
            InputError::write(path, source)
        }
        CopyError::Io { path, source, .. } => InputError::io(path, source),
        CopyError::NotRegular { path } => InputError::WrongKind {
            found: input::describe(&path).unwrap_or_else(|| "not a regular file".into()),
            path,
            expected:
                "a regular file or directory (symbolic links and special files are not copied)",
        },
    })
}

/// `tree` must hold a v5 layout, and `--out` must not exist yet.
fn check_layout(tree: &Tree, path: &Path, opts: &MigrateOptions) -> Result<(), InputError> {
    if !tree.is_v5_layout() {
        let v5_log = tree.path("messages.jsonl");
        let reason = if tree.path("events.jsonl").symlink_metadata().is_ok()
            || tree.path("messages").symlink_metadata().is_ok()
        {
            "events.jsonl or messages/ already exist (a v13 layout; use `verify replay`)"
                .to_string()
        } else if let Some(found) = input::describe(&v5_log) {
            format!(".thrum/messages.jsonl is {found}; expected a regular file")
        } else {
            ".thrum/messages.jsonl is missing".to_string()
        };
        return Err(InputError::NotV5 { path: path.to_path_buf(), reason });
    }
    if let Some(out) = &opts.out {
        if out.symlink_metadata().is_ok() {
            let found = input::describe(out).unwrap_or_default();
            return Err(InputError::Unreadable {
                path: out.clone(),
                reason: format!("already exists ({found}); --out must name a new directory"),
            });
        }
    }
    Ok(())
}

/// The manifest and `SHA256SUMS` beside the input, checked against the v5
/// database `v5`, and what was checked in the summary.
fn check_manifest(
    tree: &Tree,
    v5: &rusqlite::Connection,
    v5_version: Option<i64>,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) {
    let m = crate::manifest::check(tree, v5, v5_version, findings);
    add_manifest_summary(summary, Some(&m));
}

/// The summary line of the JSONL migration.
fn jsonl_summary(j: &JsonlMigration) -> String {
    format!(
        "{} lines read, {} written to events.jsonl + {} shards, {} dropped, {} \
            unparsable; {} event ids backfilled, {} v filled, {} files rewritten",
        j.read,
        j.written,
        j.shard_files,
        j.dropped,
        j.unparsable,
        j.ids_backfilled,
        j.v_filled,
        j.files_rewritten
    )
}

/// After the SQL migration of the work tree `work`: the JSONL migration,
/// then the proof: a second run of both changes nothing, no row of `v5` is
/// lost or altered, and the migrated JSONL replays into the migrated
/// database.
fn prove(
    work: &Path,
    v5: &rusqlite::Connection,
    opts: &MigrateOptions,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
    at_out: &dyn Fn(InputError) -> InputError,
) -> Result<Vec<TableStats>, InputError> {
    let wthrum = work.join(".thrum");
    let wdb = wthrum.join("var/messages.db");
    let j = migrate_jsonl(&wthrum, findings).map_err(at_out)?;
    summary.insert("migration_jsonl".into(), json!(jsonl_summary(&j)));

    check_idempotent(&wthrum, &wdb, findings, summary, at_out)?;

    // no v5 row lost or altered
    let mcopy = copy_db(&wdb)?;
    let (migrated, m_spent) = open_db(&mcopy.path, &wdb)?;
    let mut tables = check_preserved(v5, &migrated, findings, summary);
    drop(migrated);
    crate::untrusted::settle(
        &m_spent,
        &wdb,
        crate::untrusted::budget_for(crate::untrusted::file_bytes(&mcopy.path)),
    )?;

    // the migrated JSONL replays into the migrated database
    let wtree = Tree {
        thrum: wthrum.clone(),
        base: work.to_path_buf(),
        archive: None,
        entries: None,
        _tmp: None,
    };
    let vopts = Options {
        max_diffs: opts.max_diffs,
        limits: opts.limits,
        mode: Mode::Migrated,
        check_manifest: false,
    };
    let (t, _, _) = verify_into(&wtree, &vopts, findings, summary)?;
    tables.extend(t);
    let known = schema::known_migration_diffs();
    summary.insert(
        "schema_known_differences".into(),
        json!(known.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
    );
    Ok(tables)
}

/// Migrates a v5 fixture (on a copy) and proves the result.
pub fn migrate_path(path: &Path, opts: &MigrateOptions) -> Result<Report, InputError> {
    // by device and inode, before any work and again before the rename
    // into place: --out may not be, hold or lie in PATH
    let apart = |out: &Path| {
        thrum_io::apart(&thrum_io::Named::new("--out", out), &[thrum_io::Named::new("PATH", path)])
    };
    if let Some(out) = &opts.out {
        apart(out)?;
    }
    let resolved = input::resolve(path, input::Generation::V5)?;
    let path = resolved.as_path();
    let tree = input::open(path, &opts.limits)?;
    check_layout(&tree, path, opts)?;
    let mut findings = Findings::new(opts.max_diffs);
    let mut summary: BTreeMap<String, Value> = BTreeMap::new();

    // the v5 input, read-only via a private copy
    let v5_src = tree.database()?;
    // a -wal beside it is reported, and applied only when it is a valid WAL
    let wal = crate::dbfile::check(&v5_src, ".thrum/var/messages.db", &mut findings, true);
    let v5_copy = copy_db_with(&v5_src, matches!(wal, crate::dbfile::WalStatus::Valid { .. }))?;
    let v5_shown = tree.shown("var/messages.db");
    let (v5, v5_spent) = open_db(&v5_copy.path, &v5_shown)?;
    let v5_version = check_v5_db(&v5, &mut findings);
    if opts.check_manifest {
        check_manifest(&tree, &v5, v5_version, &mut findings, &mut summary);
    }

    // the work tree: beside --out (renamed at the end) or temporary
    let work = match &opts.out {
        Some(out) => input::partial_dir(out)?,
        None => input::temp_dir("verify-migrate-")?,
    };
    let wthrum = work.path().join(".thrum");
    // a write error in the work tree beside --out names the file under --out
    let at_out = |e: InputError| match (e, &opts.out) {
        (InputError::DiskFull { path }, Some(out)) => match path.strip_prefix(work.path()) {
            Ok(rel) => InputError::DiskFull { path: out.join(rel) },
            Err(_) => InputError::DiskFull { path },
        },
        (e, _) => e,
    };
    copy_tree(&tree.thrum, &wthrum).map_err(at_out)?;
    let wdb = wthrum.join("var/messages.db");

    let mut tables = Vec::new();
    match migrate_db(&wdb) {
        Err(e) => {
            findings.push(
                Finding::new(
                    Kind::MigrationFailed,
                    format!("the SQL migration failed and was rolled back: {e}"),
                )
                .file(".thrum/var/messages.db"),
            );
        }
        Ok(m) => {
            summary.insert(
                "migration_sql".into(),
                json!(format!(
                    "schema {} → 13 in one transaction ({} steps + FINISH)",
                    m.from, m.steps
                )),
            );
            tables = prove(work.path(), &v5, opts, &mut findings, &mut summary, &at_out)?;
        }
    }

    // an interrupted read of the v5 input proves nothing, whatever it reported
    crate::untrusted::settle(
        &v5_spent,
        &v5_shown,
        crate::untrusted::budget_for(crate::untrusted::file_bytes(&v5_copy.path)),
    )?;
    if let Some(out) = &opts.out {
        apart(out)?;
        // renamed while registered: an interrupt leaves the partial tree (removed) or OUT
        work.persist(out).map_err(|e| InputError::write(out, e))?;
        summary.insert("written_to".into(), json!(out.display().to_string()));
    }
    Ok(Report::new(
        "migrate",
        tree.display(),
        Some(thrum_schemas::SCHEMA_VERSION),
        summary,
        tables,
        findings,
    ))
}
