//! Chaos fixtures: deterministic corrupted copies of a fixture (`testgen corrupt`).
//!
//! [`corrupt`] reads a v13 fixture (a `.tar.zst` archive, extracted safely,
//! or a directory holding `.thrum/`), injects exactly one [`Fault`] and
//! writes the result as an expanded tree:
//!
//! ```text
//! DIR/.thrum/...      the corrupted tree
//! DIR/FAULT.json      what was injected and where (the `Applied` record)
//! DIR/SHA256SUMS      only for `checksum-mismatch`: every file of the tree,
//!                     `sha256sum -c` format relative to DIR, one digest wrong
//! DIR/.testgen-corrupt.json   the ownership record: every other file of DIR
//!                     with its size ([`crate::recognise::CORRUPT`])
//! ```
//!
//! No manifest is written: each corrupted copy differs from its source in
//! one place, so `verify replay DIR` names that place and its consequences
//! and nothing else. The targets (file, line, row) are chosen by a
//! SplitMix64 stream seeded from `--seed` and the fault's name,
//! so the same input, fault and seed give the same bytes. DIR is built in a
//! temporary directory beside it and swapped into place
//! ([`crate::publish::Staging`]); a failed run leaves DIR as it was, and a
//! DIR that is not empty nor a previous corrupted copy (exactly the files
//! its record lists) is never replaced.
//!
//! `docs/FAULTS.md` maps every fault to the finding `verify` reports.

use crate::publish::Staging;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use thrum_io::extract::{ExtractError, Limits};
use thrum_schemas::ids::{prefixed, shard_name};
use thrum_schemas::time::{parse_rfc3339, rfc3339_nano};

const DB_REL: &str = ".thrum/var/messages.db";

/// The line limit `verify` enforces (bytes without the newline).
pub const LINE_LIMIT: usize = 1 << 20;

/// Why a corrupted copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CorruptError {
    #[error("{path}: expected a .tar.zst fixture archive, a directory containing .thrum/ (or thrum-fixture.tar.zst), or a .thrum directory")]
    NotAFixture { path: PathBuf },
    #[error("{path}: not a v13 fixture: {reason}")]
    NotV13 { path: PathBuf, reason: String },
    #[error("{archive}: refused archive entry {entry:?}: {reason}")]
    Refused { archive: PathBuf, entry: String, reason: String },
    /// The archive was refused, or could not be extracted.
    #[error(transparent)]
    Extract(ExtractError),
    #[error("{path}: the fixture has no target for fault {fault}: {reason}")]
    NoTarget { path: PathBuf, fault: &'static str, reason: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("SQLite database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("staging the output: {0}")]
    Staging(#[from] crate::Error),
    /// The output directory may not be replaced, or publishing failed.
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
}

impl CorruptError {
    /// True when the input, not the machine, is at fault (the CLI exits 2).
    pub fn is_input_error(&self) -> bool {
        match self {
            CorruptError::Extract(e) => e.is_input_error(),
            CorruptError::Publish(e) => e.is_refusal(),
            e => matches!(e, CorruptError::NotAFixture { .. } | CorruptError::NotV13 { .. } | CorruptError::Refused { .. } | CorruptError::NoTarget { .. }),
        }
    }

    /// Exit code for the command line: 2 for an input error (a refused
    /// output directory included), else 1.
    pub fn exit_code(&self) -> u8 {
        if self.is_input_error() {
            2
        } else {
            1
        }
    }
}

type Result<T, E = CorruptError> = std::result::Result<T, E>;

trait Ctx<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T>;
}
impl<T> Ctx<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| CorruptError::Io { action, path: path.to_path_buf(), source })
    }
}
fn sql<T>(r: rusqlite::Result<T>, path: &Path) -> Result<T> {
    r.map_err(|source| CorruptError::Sqlite { path: path.to_path_buf(), source })
}

/// One entry of the fault catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultInfo {
    pub fault: Fault,
    /// The `--fault` name.
    pub name: &'static str,
    /// What the fault does to the fixture.
    pub does: &'static str,
    /// The finding kind `verify replay` reports for it, at the injected place.
    pub finding: &'static str,
    /// Other findings that follow from it (not asserted one by one).
    pub consequences: &'static str,
    /// `verify replay` exit code.
    pub exit_code: u8,
}

macro_rules! faults {
    ($( $variant:ident = $name:literal, $finding:literal, $does:literal, $cons:literal; )*) => {
        /// A fault `testgen corrupt` can inject.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fault { $( $variant, )* }
        /// Every fault, in catalogue order.
        pub const CATALOGUE: &[FaultInfo] = &[
            $( FaultInfo { fault: Fault::$variant, name: $name, does: $does, finding: $finding, consequences: $cons, exit_code: 1 }, )*
        ];
    };
}

faults! {
    MalformedJson = "malformed-json", "jsonl_unparsable",
        "deletes the first ':' of a line in a message shard (mid-file, newline kept), so the line is not JSON",
        "its message's rows become row_extra; its events row event_log_extra; sequence_gap";
    TornFinalLine = "torn-final-line", "jsonl_unterminated_line",
        "cuts the last line of a message shard in the middle of the object and drops its newline (a torn append)",
        "jsonl_unparsable on the same line; row_extra, event_log_extra, sequence_gap";
    InvalidUtf8 = "invalid-utf8", "jsonl_invalid_utf8",
        "inserts the byte 0xFF at the start of a message body's content (inside the JSON string)",
        "row_extra, event_log_extra, sequence_gap";
    LineTooLong = "line-too-long", "jsonl_line_too_long",
        "grows a message.create's body content until its line is over 1 MiB (valid, canonical JSON)",
        "row_extra (the line is skipped), event_log_extra, sequence_gap";
    DuplicateEventId = "duplicate-event-id", "event_id_duplicate",
        "writes a line of events.jsonl twice in a row (a retried append)",
        "sequence_duplicate, sequence_order; replay_event_rejected when the event inserts a key";
    UnknownEventType = "unknown-event-type", "event_type_unknown",
        "appends to events.jsonl an event of type agent.hibernate with a full envelope (next sequence, later time) and no events row",
        "event_log_missing (error: the sync log lacks it; the unknown type alone is a warning)";
    EditMissingMessage = "edit-missing-message", "rebuild_aborts",
        "appends to a message shard a message.edit of a message id that exists nowhere (next sequence, later time): the daemon's rebuild stops there",
        "event_target_missing on the same line, event_log_missing";
    SequenceOutOfOrder = "sequence-out-of-order", "sequence_order",
        "swaps the sequence numbers of two events of one file that are consecutive in replay order",
        "event_log_differs (sequence, event_json) for both lines";
    MissingShard = "missing-shard", "shard_missing",
        "deletes one agent's message shard messages/{name}.jsonl",
        "row_extra for its messages, event_log_extra, sequence_gap, event_target_missing for edits elsewhere";
    ReadMissingMessage = "read-missing-message", "dangling_reference",
        "inserts a message_reads row whose message_id is no message (foreign keys off), copied from an existing read",
        "foreign_key_violation";
    AlteredCell = "altered-cell", "cell_differs",
        "appends ' [altered]' to one message's body_content in the database",
        "none";
    MissingRow = "missing-row", "row_missing",
        "deletes one message_refs row from the database",
        "none";
    ExtraRow = "extra-row", "row_extra",
        "inserts a message_scopes row (group 'ghosts') no event produced",
        "none";
    WrongSchemaVersion = "wrong-schema-version", "schema_version_wrong",
        "sets schema_version.version to 14",
        "none";
    TruncatedDb = "truncated-db", "database_truncated",
        "cuts var/messages.db in the middle of its last page (a torn page write)",
        "integrity_check_failed and unreadable rows where the lost page held any";
    GarbageWal = "garbage-wal", "wal_invalid",
        "writes 8,272 seeded random bytes as var/messages.db-wal (not a WAL; SQLite would ignore it silently)",
        "none (it is never applied)";
    IdentityWrongVersion = "identity-wrong-version", "identity_invalid",
        "sets \"version\" of one identities/{name}.json to 3",
        "none";
    ChecksumMismatch = "checksum-mismatch", "checksum_mismatch",
        "writes DIR/SHA256SUMS for every file of the tree with one digest wrong (the tree itself is intact)",
        "none";
}

impl Fault {
    pub fn info(self) -> &'static FaultInfo {
        // CATALOGUE lists every variant once, in declaration order.
        &CATALOGUE[self as usize]
    }
    pub fn name(self) -> &'static str {
        self.info().name
    }
    pub fn from_name(s: &str) -> Option<Fault> {
        CATALOGUE.iter().find(|f| f.name == s).map(|f| f.fault)
    }
    pub fn all() -> impl Iterator<Item = Fault> {
        CATALOGUE.iter().map(|f| f.fault)
    }
}

/// What was injected, and where `verify` must point: `file`, `line`,
/// `table`, `key` and `column` are exactly the location fields of the
/// `finding` it reports (absent fields are absent there too). Paths are
/// relative to the output directory (`.thrum/...`, or `SHA256SUMS`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    pub fault: &'static str,
    pub seed: u64,
    /// The finding kind `verify replay` reports.
    pub finding: &'static str,
    pub exit_code: u8,
    /// The file that was changed, created or deleted (relative to DIR).
    pub changed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What exactly changed.
    pub detail: String,
}

impl Applied {
    fn new(fault: Fault, seed: u64, changed: String, detail: String) -> Applied {
        let i = fault.info();
        Applied { fault: i.name, seed, finding: i.finding, exit_code: i.exit_code, changed, file: None, line: None, table: None, key: None, column: None, detail }
    }
    fn at(mut self, file: impl Into<String>, line: Option<u64>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }
    fn key(mut self, key: String) -> Self {
        self.key = Some(key);
        self
    }
    fn column(mut self, column: &str) -> Self {
        self.column = Some(column.into());
        self
    }
    fn row(mut self, table: &str, key: String, column: Option<&str>) -> Self {
        self.table = Some(table.into());
        self.key = Some(key);
        self.column = column.map(str::to_owned);
        self
    }
}

/// SplitMix64, seeded from the seed and the fault's name.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, fault: Fault) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in fault.name().bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(seed ^ h)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform-enough index below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn entropy80(&mut self) -> u128 {
        ((self.next() as u128) << 16 | (self.next() & 0xffff) as u128) & ((1u128 << 80) - 1)
    }
}

/// Writes `input` with `fault` injected into `out` (replaced atomically,
/// only when absent, empty or a previous corrupted copy: see
/// [`crate::recognise::CORRUPT`]; anything else is refused before any work),
/// extracting an archive input within the default [`Limits`].
pub fn corrupt(input: &Path, fault: Fault, seed: u64, out: &Path) -> Result<Applied> {
    corrupt_with(input, fault, seed, out, &Limits::default())
}

/// [`corrupt`], extracting an archive input within `limits`.
pub fn corrupt_with(input: &Path, fault: Fault, seed: u64, out: &Path, limits: &Limits) -> Result<Applied> {
    let staging = Staging::new(out, crate::recognise::CORRUPT)?;
    let root = staging.dir.clone();
    materialise(input, &root, limits)?;
    let thrum = root.join(".thrum");
    for need in ["events.jsonl", "var/messages.db"] {
        if !thrum.join(need).is_file() {
            return Err(CorruptError::NotV13 { path: input.to_path_buf(), reason: format!(".thrum/{need} is missing") });
        }
    }
    let mut cx = Cx { input: input.to_path_buf(), root: root.clone(), thrum, fault, seed, rng: Rng::new(seed, fault) };
    let applied = cx.apply()?;
    let json = serde_json::to_string_pretty(&applied).unwrap_or_default() + "\n";
    let p = root.join("FAULT.json");
    std::fs::write(&p, json).ctx("write", &p)?;
    // the ownership record, published with the rest in one swap
    let files = crate::recognise::file_sizes(&root).ctx("read", &root)?;
    let p = root.join(crate::recognise::CORRUPT_RECORD);
    std::fs::write(&p, crate::recognise::Record::new(crate::recognise::KIND_CORRUPT, files).to_json()).ctx("write", &p)?;
    staging.publish()?;
    Ok(applied)
}

// ---------------------------------------------------------------------------
// input

/// Puts the input's `.thrum/` tree at `root/.thrum`.
fn materialise(input: &Path, root: &Path, limits: &Limits) -> Result<()> {
    let meta = std::fs::metadata(input).map_err(|_| CorruptError::NotAFixture { path: input.to_path_buf() })?;
    if meta.is_dir() {
        let src = if input.join(".thrum").is_dir() {
            input.join(".thrum")
        } else if input.file_name().is_some_and(|n| n == ".thrum") {
            input.to_path_buf()
        } else if input.join(crate::ARCHIVE).is_file() {
            return extract(&input.join(crate::ARCHIVE), root, limits);
        } else {
            return Err(CorruptError::NotAFixture { path: input.to_path_buf() });
        };
        return copy_tree(&src, &root.join(".thrum"));
    }
    if meta.is_file() {
        return extract(input, root, limits);
    }
    Err(CorruptError::NotAFixture { path: input.to_path_buf() })
}

/// Copies regular files and directories; anything else is refused.
fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).ctx("create directory", dest)?;
    let mut stack = vec![(src.to_path_buf(), dest.to_path_buf())];
    while let Some((s, d)) = stack.pop() {
        for e in std::fs::read_dir(&s).ctx("read directory", &s)? {
            let e = e.ctx("read directory", &s)?;
            let ft = e.file_type().ctx("stat", &e.path())?;
            let target = d.join(e.file_name());
            if ft.is_dir() {
                std::fs::create_dir(&target).ctx("create directory", &target)?;
                stack.push((e.path(), target));
            } else if ft.is_file() {
                std::fs::copy(e.path(), &target).ctx("copy", &e.path())?;
            } else {
                return Err(CorruptError::Refused { archive: src.to_path_buf(), entry: e.path().display().to_string(), reason: "not a regular file or directory".into() });
            }
        }
    }
    Ok(())
}

/// Extracts a `.tar.zst` fixture into `root` (an existing, empty directory)
/// with the shared extractor ([`thrum_io::extract`]): only regular files and
/// directories under `.thrum/`, relative, without `..`, each once, within
/// `limits`; anything else is refused before it is written.
pub fn extract(archive: &Path, root: &Path, limits: &Limits) -> Result<()> {
    match thrum_io::extract::detect(archive) {
        Ok(thrum_io::extract::Compression::Zstd) => {}
        Ok(_) | Err(ExtractError::UnsupportedFormat { .. }) => return Err(CorruptError::NotAFixture { path: archive.to_path_buf() }),
        Err(e) => return Err(CorruptError::Extract(e)),
    }
    thrum_io::extract::unpack_checked(archive, root, limits, &mut |path, _| {
        if path == ".thrum" || path.starts_with(".thrum/") {
            Ok(())
        } else {
            Err("entries must be under .thrum/")
        }
    })
    .map_err(CorruptError::Extract)?;
    if !root.join(".thrum").is_dir() {
        return Err(CorruptError::NotV13 { path: archive.to_path_buf(), reason: "the archive has no .thrum/ directory".into() });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// the faults

struct Cx {
    input: PathBuf,
    root: PathBuf,
    thrum: PathBuf,
    fault: Fault,
    seed: u64,
    rng: Rng,
}

/// One JSONL file split into lines (without newlines).
struct JsonlFile {
    /// Relative to `.thrum`, e.g. `messages/alice.jsonl`.
    rel: String,
    lines: Vec<Vec<u8>>,
}

/// One decoded line.
struct Ev {
    file: usize,
    line: usize,
    ts: String,
    id: String,
    seq: Option<i64>,
    daemon: Option<String>,
    obj: Map<String, Value>,
}

fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if v.last().is_some_and(Vec::is_empty) {
        v.pop();
    }
    v
}

fn canonical(obj: &Map<String, Value>) -> Vec<u8> {
    thrum_schemas::gojson::to_string(&Value::Object(obj.clone())).into_bytes()
}

/// A timestamp after `us` whose six fractional digits do not end in zero.
fn later(us: i64, by: i64) -> String {
    let mut t = us + by;
    if t % 10 == 0 {
        t += 1;
    }
    rfc3339_nano(t)
}

impl Cx {
    fn dbg(&self) -> PathBuf {
        self.thrum.join("var/messages.db")
    }

    fn no_target(&self, reason: &str) -> CorruptError {
        CorruptError::NoTarget { path: self.input.clone(), fault: self.fault.name(), reason: reason.into() }
    }

    /// A record for a change of `changed` (relative to DIR).
    fn applied(&self, changed: impl Into<String>, detail: String) -> Applied {
        Applied::new(self.fault, self.seed, changed.into(), detail)
    }

    fn apply(&mut self) -> Result<Applied> {
        match self.fault {
            Fault::MalformedJson => self.malformed_json(),
            Fault::TornFinalLine => self.torn_final_line(),
            Fault::InvalidUtf8 => self.invalid_utf8(),
            Fault::LineTooLong => self.line_too_long(),
            Fault::DuplicateEventId => self.duplicate_event_id(),
            Fault::UnknownEventType => self.append_event(false),
            Fault::EditMissingMessage => self.append_event(true),
            Fault::SequenceOutOfOrder => self.sequence_out_of_order(),
            Fault::MissingShard => self.missing_shard(),
            Fault::ReadMissingMessage => self.read_missing_message(),
            Fault::AlteredCell => self.altered_cell(),
            Fault::MissingRow => self.missing_row(),
            Fault::ExtraRow => self.extra_row(),
            Fault::WrongSchemaVersion => self.wrong_schema_version(),
            Fault::TruncatedDb => self.truncated_db(),
            Fault::GarbageWal => self.garbage_wal(),
            Fault::IdentityWrongVersion => self.identity_wrong_version(),
            Fault::ChecksumMismatch => self.checksum_mismatch(),
        }
    }

    // --- JSONL ---------------------------------------------------------------

    /// `events.jsonl`, then `messages/*.jsonl` by name (verify's order).
    fn jsonl_files(&self) -> Result<Vec<JsonlFile>> {
        let mut rels = vec!["events.jsonl".to_string()];
        let dir = self.thrum.join("messages");
        if dir.is_dir() {
            let mut names: Vec<String> = Vec::new();
            for e in std::fs::read_dir(&dir).ctx("read directory", &dir)? {
                let e = e.ctx("read directory", &dir)?;
                let name = e.file_name().to_string_lossy().into_owned();
                if e.file_type().ctx("stat", &e.path())?.is_file() && name.ends_with(".jsonl") {
                    names.push(name);
                }
            }
            names.sort();
            rels.extend(names.into_iter().map(|n| format!("messages/{n}")));
        }
        rels.into_iter()
            .map(|rel| {
                let p = self.thrum.join(&rel);
                let bytes = std::fs::read(&p).ctx("read", &p)?;
                Ok(JsonlFile { rel, lines: split(&bytes) })
            })
            .collect()
    }

    fn write_file(&self, f: &JsonlFile, last_terminated: bool) -> Result<()> {
        let mut out = Vec::with_capacity(f.lines.iter().map(|l| l.len() + 1).sum());
        for (i, l) in f.lines.iter().enumerate() {
            out.extend_from_slice(l);
            if i + 1 < f.lines.len() || last_terminated {
                out.push(b'\n');
            }
        }
        let p = self.thrum.join(&f.rel);
        std::fs::write(&p, out).ctx("write", &p)
    }

    fn events(files: &[JsonlFile]) -> Vec<Ev> {
        let mut out = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (li, l) in f.lines.iter().enumerate() {
                let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(l) else { continue };
                let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
                out.push(Ev {
                    file: fi,
                    line: li,
                    ts: s("timestamp").unwrap_or_default(),
                    id: s("event_id").unwrap_or_default(),
                    seq: obj.get("sequence").and_then(Value::as_i64),
                    daemon: s("origin_daemon"),
                    obj,
                });
            }
        }
        out
    }

    /// A message shard (seeded) with at least one line matching `want`;
    /// returns (file index, matching line indexes).
    fn pick_shard_lines(&mut self, files: &[JsonlFile], want: impl Fn(&[u8]) -> bool) -> Result<(usize, Vec<usize>)> {
        let candidates: Vec<(usize, Vec<usize>)> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.rel.starts_with("messages/"))
            .map(|(i, f)| (i, f.lines.iter().enumerate().filter(|(_, l)| want(l)).map(|(j, _)| j).collect::<Vec<_>>()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if candidates.is_empty() {
            return Err(self.no_target("no message shard has a suitable line"));
        }
        Ok(candidates[self.rng.below(candidates.len())].clone())
    }

    fn malformed_json(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let (fi, lines) = self.pick_shard_lines(&files, |l| l.contains(&b':'))?;
        let li = lines[self.rng.below(lines.len())];
        let line = &mut files[fi].lines[li];
        let at = line.iter().position(|&b| b == b':').unwrap_or(0);
        line.remove(at);
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self.applied(rel.clone(), format!("removed the ':' at byte {at} of the line")).at(rel, Some(li as u64 + 1)))
    }

    fn torn_final_line(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let (fi, _) = self.pick_shard_lines(&files, |l| l.len() >= 8)?;
        let li = files[fi].lines.len() - 1;
        let line = &mut files[fi].lines[li];
        if line.len() < 8 {
            return Err(self.no_target("the last line of the shard is too short to tear"));
        }
        let quarter = line.len() / 4;
        let mut cut = quarter + self.rng.below(line.len() / 2);
        // cut between characters: a torn write of this fixture, not an encoding fault
        while cut > 1 && (line[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        let len = line.len();
        line.truncate(cut);
        self.write_file(&files[fi], false)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self.applied(rel.clone(), format!("kept {cut} of {len} bytes of the last line, no newline")).at(rel, Some(li as u64 + 1)))
    }

    fn invalid_utf8(&mut self) -> Result<Applied> {
        const NEEDLE: &[u8] = b"\"content\":\"";
        let find = |l: &[u8]| l.windows(NEEDLE.len()).position(|w| w == NEEDLE);
        let mut files = self.jsonl_files()?;
        let (fi, lines) = self.pick_shard_lines(&files, |l| find(l).is_some())?;
        let li = lines[self.rng.below(lines.len())];
        let line = &mut files[fi].lines[li];
        let at = find(line).map_or(0, |p| p + NEEDLE.len());
        line.insert(at, 0xFF);
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self.applied(rel.clone(), format!("inserted byte 0xFF at byte offset {at}")).at(rel, Some(li as u64 + 1)))
    }

    fn line_too_long(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let (fi, lines) = self.pick_shard_lines(&files, |l| l.windows(16).any(|w| w == b"\"message.create\""))?;
        let li = lines[self.rng.below(lines.len())];
        let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(&files[fi].lines[li]) else {
            return Err(self.no_target("the chosen message.create line is not JSON"));
        };
        let content = obj.get("body").and_then(|b| b.get("content")).and_then(Value::as_str).unwrap_or("").to_owned();
        let old = files[fi].lines[li].len();
        let pad = LINE_LIMIT + 4096 - old.min(LINE_LIMIT);
        let filler: String = "All work and no play makes a very long message. ".chars().cycle().take(pad).collect();
        if let Some(Value::Object(body)) = obj.get_mut("body") {
            body.insert("content".into(), Value::String(format!("{content}\n\n{filler}")));
        }
        let line = canonical(&obj);
        let new = line.len();
        files[fi].lines[li] = line;
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self.applied(rel.clone(), format!("line grown from {old} to {new} bytes (limit {LINE_LIMIT})")).at(rel, Some(li as u64 + 1)))
    }

    fn duplicate_event_id(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let evs = Self::events(&files);
        let cands: Vec<&Ev> = evs.iter().filter(|e| e.file == 0 && !e.id.is_empty()).collect();
        if cands.is_empty() {
            return Err(self.no_target("events.jsonl has no event with an event_id"));
        }
        let e = cands[self.rng.below(cands.len())];
        let (li, id) = (e.line, e.id.clone());
        let copy = files[0].lines[li].clone();
        files[0].lines.insert(li + 1, copy);
        self.write_file(&files[0], true)?;
        Ok(self
            .applied(".thrum/events.jsonl", format!("line {} written again as line {}", li + 1, li + 2))
            .at(".thrum/events.jsonl", Some(li as u64 + 2))
            .key(format!("event_id={id}")))
    }

    /// Appends a new event after every other one: an unknown type to
    /// `events.jsonl`, or an edit of a message that does not exist to a shard.
    fn append_event(&mut self, edit: bool) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let evs = Self::events(&files);
        let max_ts = evs.iter().filter_map(|e| parse_rfc3339(&e.ts)).max().ok_or_else(|| self.no_target("no event has a timestamp"))?;
        let max_seq = evs.iter().filter_map(|e| e.seq).max().unwrap_or(0);
        let daemon = evs.iter().rev().find_map(|e| e.daemon.clone()).ok_or_else(|| self.no_target("no event has an origin_daemon"))?;
        let ts = later(max_ts, 1_000_000 + self.rng.below(1_000_000) as i64);
        let ms = (parse_rfc3339(&ts).unwrap_or(max_ts) / 1000) as u64;
        let event_id = prefixed("evt_", ms, self.rng.entropy80());
        let mut obj = Map::new();
        obj.insert("event_id".into(), Value::String(event_id.clone()));
        obj.insert("origin_daemon".into(), Value::String(daemon));
        obj.insert("sequence".into(), Value::from(max_seq + 1));
        obj.insert("timestamp".into(), Value::String(ts));
        obj.insert("v".into(), Value::from(1));
        let (fi, detail) = if edit {
            let shards: Vec<usize> = files.iter().enumerate().filter(|(_, f)| f.rel.starts_with("messages/")).map(|(i, _)| i).collect();
            if shards.is_empty() {
                return Err(self.no_target("no message shard"));
            }
            let fi = shards[self.rng.below(shards.len())];
            let known: HashSet<&str> = evs.iter().filter_map(|e| e.obj.get("message_id").and_then(Value::as_str)).collect();
            let mid = loop {
                let m = prefixed("msg_", ms, self.rng.entropy80());
                if !known.contains(m.as_str()) {
                    break m;
                }
            };
            let mut body = Map::new();
            body.insert("content".into(), Value::String("Edited after the fact: this message never reached this daemon.".into()));
            body.insert("format".into(), Value::String("markdown".into()));
            obj.insert("body".into(), Value::Object(body));
            obj.insert("message_id".into(), Value::String(mid.clone()));
            obj.insert("type".into(), Value::String("message.edit".into()));
            (fi, format!("message.edit of {mid}, which no file or table holds"))
        } else {
            let agents: Vec<&str> = evs.iter().filter(|e| e.obj.get("type").and_then(Value::as_str) == Some("agent.register")).filter_map(|e| e.obj.get("agent_id").and_then(Value::as_str)).collect();
            if agents.is_empty() {
                return Err(self.no_target("no agent.register event"));
            }
            let agent = agents[self.rng.below(agents.len())].to_owned();
            obj.insert("agent_id".into(), Value::String(agent));
            obj.insert("type".into(), Value::String("agent.hibernate".into()));
            (0, "event of type agent.hibernate appended".to_string())
        };
        files[fi].lines.push(canonical(&obj));
        let line = files[fi].lines.len() as u64;
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        let a = self.applied(rel.clone(), detail).at(rel, Some(line)).key(format!("event_id={event_id}"));
        Ok(if edit { a } else { a.column("type") })
    }

    fn sequence_out_of_order(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let evs = Self::events(&files);
        let mut order: Vec<usize> = (0..evs.len()).collect();
        order.sort_by(|&a, &b| evs[a].ts.as_bytes().cmp(evs[b].ts.as_bytes()).then_with(|| evs[a].id.as_bytes().cmp(evs[b].id.as_bytes())));
        let pairs: Vec<(usize, usize)> = order
            .windows(2)
            .filter(|w| {
                let (a, b) = (&evs[w[0]], &evs[w[1]]);
                // in one file: the fault changes exactly one file
                a.file == b.file && a.daemon == b.daemon && a.seq.is_some() && b.seq == a.seq.map(|s| s + 1) && a.ts != b.ts
            })
            .map(|w| (w[0], w[1]))
            .collect();
        if pairs.is_empty() {
            return Err(self.no_target("no two events of one file are consecutive in both replay order and sequence"));
        }
        let (a, b) = pairs[self.rng.below(pairs.len())];
        let (sa, sb) = (evs[a].seq.unwrap_or(0), evs[b].seq.unwrap_or(0));
        for (e, s) in [(&evs[a], sb), (&evs[b], sa)] {
            let mut obj = e.obj.clone();
            obj.insert("sequence".into(), Value::from(s));
            files[e.file].lines[e.line] = canonical(&obj);
        }
        for fi in [evs[a].file, evs[b].file].into_iter().collect::<std::collections::BTreeSet<_>>() {
            self.write_file(&files[fi], true)?;
        }
        let e = &evs[b];
        let rel = format!(".thrum/{}", files[e.file].rel);
        Ok(self
            .applied(rel.clone(), format!("sequences {sa} and {sb} swapped: {}:{} now has {sb}, {}:{} has {sa}", files[evs[a].file].rel, evs[a].line + 1, files[e.file].rel, e.line + 1))
            .at(rel, Some(e.line as u64 + 1))
            .key(format!("event_id={}", e.id)))
    }

    fn missing_shard(&mut self) -> Result<Applied> {
        let files = self.jsonl_files()?;
        let evs = Self::events(&files);
        // shards holding at least one create by their own agent
        let mut cands: Vec<(usize, String)> = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            let Some(stem) = f.rel.strip_prefix("messages/").and_then(|r| r.strip_suffix(".jsonl")) else { continue };
            let owner = evs.iter().filter(|e| e.file == fi && e.obj.get("type").and_then(Value::as_str) == Some("message.create")).find_map(|e| {
                e.obj.get("agent_id").and_then(Value::as_str).filter(|a| shard_name(a) == stem).map(str::to_owned)
            });
            if let Some(agent) = owner {
                cands.push((fi, agent));
            }
        }
        if cands.is_empty() {
            return Err(self.no_target("no shard holds its own agent's messages"));
        }
        let (fi, agent) = cands[self.rng.below(cands.len())].clone();
        let p = self.thrum.join(&files[fi].rel);
        std::fs::remove_file(&p).ctx("remove", &p)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self
            .applied(rel.clone(), format!("deleted {} ({} lines)", files[fi].rel, files[fi].lines.len()))
            .at(rel, None)
            .row("messages", format!("agent_id={agent}"), None))
    }

    // --- SQLite --------------------------------------------------------------

    fn db(&self) -> Result<Connection> {
        let p = self.dbg();
        let c = sql(Connection::open(&p), &p)?;
        sql(c.execute_batch("PRAGMA foreign_keys=OFF;"), &p)?;
        Ok(c)
    }

    /// The `k`-th (seeded) row of `query` (which must select one row per
    /// candidate, in a fixed order).
    fn pick_row(&mut self, c: &Connection, table: &str, order: &str, cols: &str) -> Result<Vec<String>> {
        let p = self.dbg();
        let n: i64 = sql(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)), &p)?;
        if n == 0 {
            return Err(self.no_target(&format!("table {table} is empty")));
        }
        let k = self.rng.below(n as usize) as i64;
        let ncols = cols.split(',').count();
        let row = sql(
            c.query_row(&format!("SELECT {cols} FROM {table} ORDER BY {order} LIMIT 1 OFFSET ?1"), [k], |r| {
                (0..ncols).map(|i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default)).collect::<rusqlite::Result<Vec<String>>>()
            }),
            &p,
        )?;
        Ok(row)
    }

    fn read_missing_message(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(&c, "message_reads", "message_id, session_id", "message_id, session_id, agent_id, read_at")?;
        let ms = parse_rfc3339(&r[3]).map_or(0, |us| (us / 1000) as u64);
        let mid = loop {
            let m = prefixed("msg_", ms, self.rng.entropy80());
            let exists: Option<i64> = sql(c.query_row("SELECT 1 FROM messages WHERE message_id = ?1", [&m], |r| r.get(0)).optional(), &p)?;
            if exists.is_none() {
                break m;
            }
        };
        sql(c.execute("INSERT INTO message_reads (message_id, session_id, agent_id, read_at) VALUES (?1, ?2, ?3, ?4)", params![mid, r[1], r[2], r[3]]), &p)?;
        drop(c);
        Ok(self
            .applied(DB_REL, format!("read of {mid} by session {} (copied from the read of {})", r[1], r[0]))
            .row("message_reads", format!("message_id={mid}, session_id={}", r[1]), Some("message_id")))
    }

    fn altered_cell(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(&c, "messages", "message_id", "message_id")?;
        sql(c.execute("UPDATE messages SET body_content = body_content || ' [altered]' WHERE message_id = ?1", [&r[0]]), &p)?;
        drop(c);
        Ok(self
            .applied(DB_REL, "appended ' [altered]' to body_content".into())
            .row("messages", format!("message_id={}", r[0]), Some("body_content")))
    }

    fn missing_row(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(&c, "message_refs", "message_id, ref_type, ref_value", "message_id, ref_type, ref_value")?;
        sql(c.execute("DELETE FROM message_refs WHERE message_id = ?1 AND ref_type = ?2 AND ref_value = ?3", params![r[0], r[1], r[2]]), &p)?;
        drop(c);
        Ok(self
            .applied(DB_REL, "deleted one message_refs row".into())
            .row("message_refs", format!("message_id={}, ref_type={}, ref_value={}", r[0], r[1], r[2]), None))
    }

    fn extra_row(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(&c, "messages", "message_id", "message_id")?;
        let n = sql(c.execute("INSERT OR IGNORE INTO message_scopes (message_id, scope_type, scope_value) VALUES (?1, 'group', 'ghosts')", [&r[0]]), &p)?;
        if n != 1 {
            return Err(self.no_target("the chosen message already has the scope"));
        }
        drop(c);
        Ok(self
            .applied(DB_REL, "inserted a message_scopes row".into())
            .row("message_scopes", format!("message_id={}, scope_type=group, scope_value=ghosts", r[0]), None))
    }

    fn wrong_schema_version(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let n = sql(c.execute("UPDATE schema_version SET version = 14", []), &p)?;
        if n == 0 {
            return Err(self.no_target("schema_version has no row"));
        }
        drop(c);
        let mut a = self.applied(DB_REL, "schema_version.version 13 -> 14".into()).column("version");
        a.table = Some("schema_version".into());
        Ok(a)
    }

    fn truncated_db(&mut self) -> Result<Applied> {
        let p = self.dbg();
        let bytes = std::fs::read(&p).ctx("read", &p)?;
        if bytes.len() < 100 || &bytes[..16] != b"SQLite format 3\0" {
            return Err(self.no_target("var/messages.db is not a SQLite database"));
        }
        let raw = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
        let ps = if raw == 1 { 65536 } else { raw };
        if bytes.len() < 2 * ps {
            return Err(self.no_target("the database has a single page"));
        }
        let keep = bytes.len() - ps / 2;
        let f = std::fs::OpenOptions::new().write(true).open(&p).ctx("open", &p)?;
        f.set_len(keep as u64).ctx("truncate", &p)?;
        Ok(self.applied(DB_REL, format!("cut from {} to {keep} bytes: the last {ps}-byte page is torn in half", bytes.len())).at(DB_REL, None))
    }

    fn garbage_wal(&mut self) -> Result<Applied> {
        let p = self.thrum.join("var/messages.db-wal");
        let mut b = Vec::with_capacity(8272);
        while b.len() < 8272 {
            b.extend_from_slice(&self.rng.next().to_le_bytes());
        }
        b.truncate(8272);
        // never a WAL magic (0x377f0682 / 0x377f0683), whatever the seed
        if b[..3] == [0x37, 0x7f, 0x06] {
            b[0] = 0;
        }
        std::fs::write(&p, &b).ctx("write", &p)?;
        Ok(self.applied(".thrum/var/messages.db-wal", "8272 random bytes as the -wal file".into()).at(".thrum/var/messages.db-wal", None))
    }

    // --- other files -----------------------------------------------------------

    fn identity_wrong_version(&mut self) -> Result<Applied> {
        let dir = self.thrum.join("identities");
        let mut names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".json")).collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        if names.is_empty() {
            return Err(self.no_target("no identity file"));
        }
        let name = names[self.rng.below(names.len())].clone();
        let p = dir.join(&name);
        let text = std::fs::read_to_string(&p).ctx("read", &p)?;
        let new = if text.contains("\"version\": 2") {
            text.replacen("\"version\": 2", "\"version\": 3", 1)
        } else {
            let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(&text) else {
                return Err(self.no_target("the identity file is not a JSON object"));
            };
            m.insert("version".into(), Value::from(3));
            serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default()
        };
        std::fs::write(&p, new).ctx("write", &p)?;
        let rel = format!(".thrum/identities/{name}");
        Ok(self.applied(rel.clone(), "\"version\": 2 -> 3".into()).at(rel, None).column("version"))
    }

    fn checksum_mismatch(&mut self) -> Result<Applied> {
        let mut files: Vec<String> = crate::archive::walk(&self.thrum, ".thrum")
            .map_err(|e| CorruptError::Io { action: "list", path: self.thrum.clone(), source: std::io::Error::other(e.to_string()) })?
            .into_iter()
            .filter(|(_, _, is_dir)| !is_dir)
            .map(|(rel, _, _)| rel)
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(self.no_target("the tree has no files"));
        }
        let k = self.rng.below(files.len());
        let mut out = String::new();
        let mut wrong = (String::new(), String::new());
        for (i, rel) in files.iter().enumerate() {
            let p = self.root.join(rel);
            let (mut sha, _) = crate::archive::hash_file(&p).map_err(|e| CorruptError::Io { action: "hash", path: p.clone(), source: std::io::Error::other(e.to_string()) })?;
            if i == k {
                let good = sha.clone();
                let last = sha.pop().unwrap_or('0');
                sha.push(if last == '0' { '1' } else { '0' });
                wrong = (good, sha.clone());
            }
            out.push_str(&format!("{sha}  {rel}\n"));
        }
        let p = self.root.join("SHA256SUMS");
        std::fs::write(&p, out).ctx("write", &p)?;
        Ok(self
            .applied("SHA256SUMS", format!("digest of {} written as {} (it is {})", files[k], wrong.1, wrong.0))
            .at("SHA256SUMS", Some(k as u64 + 1))
            .key(format!("path={}", files[k])))
    }
}

/// The catalogue as a text table (`testgen corrupt --list`).
pub fn render_list() -> String {
    let mut s = String::from("fault                   verify finding            exit  what it does\n");
    for f in CATALOGUE {
        s.push_str(&format!("{:<23} {:<25} {:<5} {}\n", f.name, f.finding, f.exit_code, f.does));
        s.push_str(&format!("{:<23} {:<25} {:<5} also: {}\n", "", "", "", f.consequences));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_in_declaration_order() {
        let mut names = HashSet::new();
        for (i, f) in CATALOGUE.iter().enumerate() {
            assert_eq!(f.fault as usize, i);
            assert_eq!(Fault::from_name(f.name), Some(f.fault));
            assert!(names.insert(f.name));
            assert!(f.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit()));
        }
        assert!(CATALOGUE.len() >= 18);
        assert_eq!(Fault::from_name("nope"), None);
    }

    #[test]
    fn rng_depends_on_seed_and_fault() {
        let a: Vec<u64> = (0..4).map({
            let mut r = Rng::new(42, Fault::AlteredCell);
            move |_| r.next()
        }).collect();
        let b: Vec<u64> = (0..4).map({
            let mut r = Rng::new(42, Fault::AlteredCell);
            move |_| r.next()
        }).collect();
        assert_eq!(a, b);
        assert_ne!(Rng::new(42, Fault::AlteredCell).next(), Rng::new(43, Fault::AlteredCell).next());
        assert_ne!(Rng::new(42, Fault::AlteredCell).next(), Rng::new(42, Fault::MissingRow).next());
        assert!(Rng::new(1, Fault::GarbageWal).entropy80() < 1u128 << 80);
    }

    #[test]
    fn later_keeps_six_digits_without_trailing_zero() {
        let t = later(parse_rfc3339("2026-03-04T06:09:28.397355Z").unwrap(), 1_000_005);
        assert_eq!(t, "2026-03-04T06:09:29.397361Z");
    }
}
