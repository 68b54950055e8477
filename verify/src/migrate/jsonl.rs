//! The JSONL migration: step 1 (the legacy `messages.jsonl` sharded by
//! message author) and step 2 (the `event_id` and `v` backfill).

use crate::error::InputError;
use crate::findings::{Finding, Findings, Kind};
use crate::jsonl::split_lines;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use thrum_schemas::events::{is_message_event, Event, Payload};
use thrum_schemas::ids::{backfill_entity, backfill_event_id, shard_name};

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

/// Writes `bytes` as `path` in one step, through a registered temporary
/// beside it, synced, renamed over it ([`thrum_io::cleanup::write_replacing`]):
/// an interrupted migration leaves the previous file or the whole new one.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), InputError> {
    thrum_io::cleanup::write_replacing(path, bytes).map_err(|e| InputError::write(path, e))
}

/// A file of the tree, read only when it is a regular file.
pub(super) fn read_input(path: &Path) -> Result<Vec<u8>, InputError> {
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
