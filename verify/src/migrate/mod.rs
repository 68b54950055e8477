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
use crate::error::InputError;
use crate::extract::Limits;
use crate::findings::{Finding, Findings, Kind};
use crate::input::{self, Tree};
use crate::jsonl::split_lines;
use crate::report::Report;
use crate::schema;
use crate::util::sha256_hex;
use crate::value::{quote_ident, Val};
use crate::verify::{copy_db, copy_db_with, open_db, verify_into, Options};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use thrum_schemas::events::{is_message_event, Event, Payload};
use thrum_schemas::ids::{backfill_entity, backfill_event_id, shard_name};
use thrum_schemas::sql;

mod preserved;

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

/// What the SQL migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbMigration {
    /// The schema version found.
    pub from: i64,
    /// Migration steps applied.
    pub steps: usize,
}

/// Runs the SQL migration on the database at `path`.
///
/// The database is input (a copy of it): it is opened as an input's
/// writable copy ([`thrum_io::untrusted::open_writable`]), its objects
/// checked again before the migration runs.
pub fn migrate_db(path: &Path) -> Result<DbMigration, String> {
    let spent = crate::untrusted::Spent::default();
    let budget = crate::untrusted::budget_for(crate::untrusted::file_bytes(path));
    let mut conn = thrum_io::untrusted::open_writable(path, path, budget, &spent)
        .map_err(|e| e.to_string())?;
    let out = migrate_on(&mut conn);
    if spent.exceeded() {
        return Err(format!(
            "interrupted after {budget} SQLite instructions, more than a database \
            of its size needs"
        ));
    }
    out
}

fn migrate_on(conn: &mut Connection) -> Result<DbMigration, String> {
    conn.execute_batch("PRAGMA foreign_keys=ON;").map_err(|e| e.to_string())?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| format!("journal_mode=WAL: {e}"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal_mode=WAL left the journal mode {mode:?}"));
    }
    let from: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .map_err(|e| format!("reading schema_version: {e}"))?;
    if from == thrum_schemas::SCHEMA_VERSION {
        return Ok(DbMigration { from, steps: 0 });
    }
    if from != thrum_schemas::LEGACY_SCHEMA_VERSION {
        return Err(format!("schema_version is {from}; expected 5 (or 13, already migrated)"));
    }
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    let mut steps = 0;
    for m in sql::MIGRATIONS.iter().filter(|m| m.from >= from) {
        tx.execute_batch(m.sql).map_err(|e| format!("step {} ({}): {e}", m.file, m.from))?;
        steps += 1;
    }
    tx.execute_batch(sql::FINISH).map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(DbMigration { from, steps })
}

/// What the JSONL migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonlMigration {
    /// Whether `messages.jsonl` was split into per-agent shards.
    pub sharded: bool,
    /// Non-blank lines read from messages.jsonl.
    pub read: u64,
    /// Lines in the written files (re-read from disk).
    pub written: u64,
    /// Events left out by the sharding (their message's author unknown).
    pub dropped: u64,
    /// Lines that are not an event.
    pub unparsable: u64,
    /// Shard files written.
    pub shard_files: usize,
    /// Events given the `event_id` the daemon's backfill derives.
    pub ids_backfilled: u64,
    /// Events given a `v` field.
    pub v_filled: u64,
    /// Files written again.
    pub files_rewritten: usize,
}

impl JsonlMigration {
    /// True when the run changed nothing on disk.
    pub fn is_noop(&self) -> bool {
        !self.sharded && self.files_rewritten == 0
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), InputError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp =
        crate::cleanup::temp_file_in(dir, ".migrate-").map_err(|e| InputError::write(path, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| InputError::write(path, e))?;
    tmp.as_file().sync_data().map_err(|e| InputError::write(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // temporary files are created 0600; a rewritten event log keeps ordinary permissions
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| InputError::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| InputError::io(path, e))?;
    Ok(())
}

/// A file of the tree, read only when it is a regular file.
fn read_input(path: &Path) -> Result<Vec<u8>, InputError> {
    thrum_io::regular::read_regular(path).map_err(|e| match thrum_io::regular::not_regular(&e) {
        Some(nr) => InputError::WrongKind {
            path: path.to_path_buf(),
            found: nr.found.clone(),
            expected: "a regular file",
        },
        None => InputError::io(path, e),
    })
}

/// The mode the daemon creates `messages/` with (docs/FORMAT.md section 7).
pub const MESSAGES_DIR_MODE: u32 = 0o750;

/// Creates `messages/` with [`MESSAGES_DIR_MODE`], whatever the umask.
fn create_messages_dir(dir: &Path) -> Result<(), InputError> {
    std::fs::create_dir(dir).map_err(|e| InputError::write(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(MESSAGES_DIR_MODE))
            .map_err(|e| InputError::io(dir, e))?;
    }
    Ok(())
}

fn safe_shard(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

/// Step 1 and step 2 of the JSONL migration on the `.thrum` directory `thrum`.
pub fn migrate_jsonl(thrum: &Path, findings: &mut Findings) -> Result<JsonlMigration, InputError> {
    let mut st = JsonlMigration::default();
    let src = thrum.join("messages.jsonl");
    if src.is_file() && !thrum.join("events.jsonl").exists() && !thrum.join("messages").exists() {
        st.sharded = true;
        shard_legacy_log(thrum, &mut st, findings)?;
    }
    for (path, rel) in jsonl_files(thrum)? {
        backfill_file(&path, &rel, &mut st, findings)?;
    }
    Ok(st)
}

/// The lines of the legacy `messages.jsonl` that parse as events, with
/// their line numbers; the others are counted and named.
fn parse_legacy<'a>(
    bytes: &'a [u8],
    st: &mut JsonlMigration,
    findings: &mut Findings,
) -> Vec<(u64, &'a str, Event)> {
    let rel = ".thrum/messages.jsonl";
    let mut parsed = Vec::new();
    for (no, raw, _) in split_lines(bytes) {
        let Ok(text) = std::str::from_utf8(raw) else {
            st.read += 1;
            st.unparsable += 1;
            findings.push(
                Finding::new(Kind::JsonlUnparsable, "invalid UTF-8; line dropped by the sharding")
                    .at(rel, no),
            );
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        st.read += 1;
        match Event::parse(text) {
            Ok(e) => parsed.push((no, text, e)),
            Err(e) => {
                st.unparsable += 1;
                findings.push(
                    Finding::new(
                        Kind::JsonlUnparsable,
                        format!("{e}; line dropped by the sharding"),
                    )
                    .at(rel, no),
                );
            }
        }
    }
    parsed
}

/// Step 1: the legacy single `messages.jsonl` split into `events.jsonl`
/// and one shard per message author; the legacy file kept as
/// `messages.jsonl.v6.bak`.
fn shard_legacy_log(
    thrum: &Path,
    st: &mut JsonlMigration,
    findings: &mut Findings,
) -> Result<(), InputError> {
    let src = thrum.join("messages.jsonl");
    let events_path = thrum.join("events.jsonl");
    let msg_dir = thrum.join("messages");
    let rel = ".thrum/messages.jsonl";
    let bytes = read_input(&src)?;
    let parsed = parse_legacy(&bytes, st, findings);
    let mut authors: HashMap<&str, String> = HashMap::new();
    for (_, _, e) in &parsed {
        if let Payload::MessageCreate(m) = &e.payload {
            if !m.agent_id.is_empty() {
                authors.entry(m.message_id.as_str()).or_insert_with(|| shard_name(&m.agent_id));
            }
        }
    }
    let mut events_out = String::new();
    let mut shards: BTreeMap<String, String> = BTreeMap::new();
    for (no, text, e) in &parsed {
        if !is_message_event(&e.envelope.event_type) {
            events_out.push_str(text);
            events_out.push('\n');
            continue;
        }
        let mid = e.raw.get("message_id").and_then(Value::as_str).unwrap_or("");
        let author = match &e.payload {
            Payload::MessageCreate(m) if !m.agent_id.is_empty() => Some(shard_name(&m.agent_id)),
            _ => authors.get(mid).cloned(),
        };
        let why = match author {
            Some(a) if safe_shard(&a) => {
                let f = shards.entry(a).or_default();
                f.push_str(text);
                f.push('\n');
                continue;
            }
            Some(a) => Finding::new(
                Kind::ShardNameInvalid,
                format!("author shard name {a:?} is not a safe file name; event not written"),
            ),
            None => Finding::new(
                Kind::MigrationEventDropped,
                format!(
                    "{} of message {mid:?} whose author is unknown: dropped by the sharding",
                    e.envelope.event_type
                ),
            ),
        };
        st.dropped += 1;
        findings.push(why.at(rel, *no));
    }
    write_atomic(&events_path, events_out.as_bytes())?;
    create_messages_dir(&msg_dir)?;
    for (name, content) in &shards {
        write_atomic(&msg_dir.join(format!("{name}.jsonl")), content.as_bytes())?;
    }
    st.shard_files = shards.len();
    let mut written = 0u64;
    for p in std::iter::once(events_path.clone())
        .chain(shards.keys().map(|n| msg_dir.join(format!("{n}.jsonl"))))
    {
        let b = read_input(&p)?;
        written += split_lines(&b)
            .iter()
            .filter(|(_, l, _)| !l.iter().all(u8::is_ascii_whitespace))
            .count() as u64;
    }
    st.written = written;
    if st.written + st.dropped + st.unparsable != st.read {
        findings.push(
            Finding::new(
                Kind::MigrationCountMismatch,
                "events written + dropped + unparsable differ from lines read",
            )
            .file(rel)
            .values(
                st.read.to_string(),
                format!(
                    "{} written + {} dropped + {} unparsable",
                    st.written, st.dropped, st.unparsable
                ),
            ),
        );
    }
    let bak = thrum.join("messages.jsonl.v6.bak");
    std::fs::rename(&src, &bak).map_err(|e| InputError::io(&src, e))
}

/// The JSONL files step 2 backfills: `events.jsonl` and every shard, with
/// the names findings give them.
fn jsonl_files(thrum: &Path) -> Result<Vec<(PathBuf, String)>, InputError> {
    let events_path = thrum.join("events.jsonl");
    let msg_dir = thrum.join("messages");
    let mut files = Vec::new();
    if events_path.is_file() {
        files.push((events_path, ".thrum/events.jsonl".to_string()));
    }
    if msg_dir.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(&msg_dir)
            .map_err(|e| InputError::io(&msg_dir, e))?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".jsonl"))
            .collect();
        names.sort();
        for n in names {
            files.push((msg_dir.join(&n), format!(".thrum/messages/{n}")));
        }
    }
    Ok(files)
}

/// Step 2 on one file: every event gets an `event_id` (derived as the
/// daemon derives it) and `v`; the file is rewritten only if that changed it.
fn backfill_file(
    path: &Path,
    rel: &str,
    st: &mut JsonlMigration,
    findings: &mut Findings,
) -> Result<(), InputError> {
    let bytes = read_input(path)?;
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for (no, raw, _) in split_lines(&bytes) {
        let text = match std::str::from_utf8(raw) {
            Ok(t) if t.trim().is_empty() => continue,
            Ok(t) => t,
            Err(_) => {
                findings.push(
                    Finding::new(
                        Kind::JsonlUnparsable,
                        "invalid UTF-8; kept verbatim by the backfill",
                    )
                    .at(rel, no),
                );
                out.push_str(&String::from_utf8_lossy(raw));
                out.push('\n');
                continue;
            }
        };
        let mut obj = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => {
                findings.push(
                    Finding::new(
                        Kind::JsonlUnparsable,
                        "not a JSON object; kept verbatim by the backfill",
                    )
                    .at(rel, no),
                );
                out.push_str(text);
                out.push('\n');
                continue;
            }
        };
        let has_id = obj.get("event_id").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
        if !has_id {
            match backfill_id(&obj) {
                Ok(id) => {
                    obj.insert("event_id".into(), Value::String(id));
                    st.ids_backfilled += 1;
                }
                Err(why) => findings.push((*why).at(rel, no)),
            }
        }
        if !obj.contains_key("v") {
            obj.insert("v".into(), Value::from(1));
            st.v_filled += 1;
        }
        crate::gojson::push_value(&mut out, &Value::Object(obj));
        out.push('\n');
    }
    if out.as_bytes() != bytes.as_slice() {
        write_atomic(path, out.as_bytes())?;
        st.files_rewritten += 1;
    }
    Ok(())
}

/// The `event_id` the daemon's backfill gives an event without one, or
/// why it gives none.
fn backfill_id(obj: &serde_json::Map<String, Value>) -> Result<String, Box<Finding>> {
    let ty = obj.get("type").and_then(Value::as_str).filter(|s| !s.is_empty());
    let tsv = obj.get("timestamp").and_then(Value::as_str).filter(|s| !s.is_empty());
    let (Some(ty), Some(tsv)) = (ty, tsv) else {
        return Err(Box::new(Finding::new(
            Kind::MigrationBackfillSkipped,
            "event lacks type or timestamp; it keeps no event_id",
        )));
    };
    let Some(us) = thrum_schemas::time::parse_rfc3339(tsv).filter(|us| *us >= 0) else {
        let why = Finding::new(
            Kind::MigrationBackfillSkipped,
            "timestamp is not RFC 3339; the event keeps no event_id",
        );
        return Err(Box::new(why.actual(tsv.to_string())));
    };
    let entity = backfill_entity(ty, tsv, |f| obj.get(f).and_then(Value::as_str));
    Ok(backfill_event_id(ty, tsv, entity, (us / 1000) as u64))
}

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

fn copy_tree(src: &Path, dst: &Path) -> Result<(), InputError> {
    // nothing is recreated inside a temporary once an interrupt is being handled
    crate::cleanup::checkpoint();
    std::fs::create_dir_all(dst).map_err(|e| InputError::write(dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| InputError::io(src, e))? {
        let entry = entry.map_err(|e| InputError::io(src, e))?;
        let ft = entry.file_type().map_err(|e| InputError::io(entry.path(), e))?;
        let to = dst.join(entry.file_name());
        if ft.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else if ft.is_file() {
            crate::verify::copy_regular(&entry.path(), &to)?;
        } else {
            let found =
                input::describe(&entry.path()).unwrap_or_else(|| "not a regular file".into());
            return Err(InputError::WrongKind {
                path: entry.path(),
                found,
                expected:
                    "a regular file or directory (symbolic links and special files are not copied)",
            });
        }
    }
    Ok(())
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

/// Idempotence: a second run of both migrations changes no byte of the
/// JSONL and no row.
fn check_idempotent(
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
        let m = crate::manifest::check(&tree, &v5, v5_version, &mut findings);
        if let Some(p) = &m.manifest {
            summary.insert(
                "manifest".into(),
                json!(format!("{} ({} files checked)", p.display(), m.files_checked)),
            );
        }
        if let Some(p) = &m.checksums {
            summary.insert("sha256sums".into(), json!(p.display().to_string()));
        }
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
            let j = migrate_jsonl(&wthrum, &mut findings).map_err(at_out)?;
            summary.insert(
                "migration_jsonl".into(),
                json!(format!(
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
                )),
            );

            check_idempotent(&wthrum, &wdb, &mut findings, &mut summary, &at_out)?;

            // no v5 row lost or altered
            let mcopy = copy_db(&wdb)?;
            let (migrated, m_spent) = open_db(&mcopy.path, &wdb)?;
            tables.extend(check_preserved(&v5, &migrated, &mut findings, &mut summary));
            drop(migrated);
            crate::untrusted::settle(
                &m_spent,
                &wdb,
                crate::untrusted::budget_for(crate::untrusted::file_bytes(&mcopy.path)),
            )?;

            // the migrated JSONL replays into the migrated database
            let wtree = Tree {
                thrum: wthrum.clone(),
                base: work.path().to_path_buf(),
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
            let (t, _, _) = verify_into(&wtree, &vopts, &mut findings, &mut summary)?;
            tables.extend(t);
            let known = schema::known_migration_diffs();
            summary.insert(
                "schema_known_differences".into(),
                json!(known.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
            );
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
