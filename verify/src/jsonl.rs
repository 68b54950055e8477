//! Reading the v13 event logs: `events.jsonl` and every `messages/*.jsonl`.
//!
//! Blank lines are skipped silently. Lines that do not decode (not JSON, not
//! an object, payload of the wrong shape) are skipped as the daemon skips
//! them, and each is reported as `jsonl_unparsable` with its file and 1-based
//! line number; lines over 1 MiB ([`MAX_LINE_BYTES`]) and lines that are not
//! UTF-8 are skipped too, reported as `jsonl_line_too_long` and
//! `jsonl_invalid_utf8`. See [`parse_file`].

use crate::error::InputError;
use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use thrum_schemas::events::{Event, Payload};

/// One decoded line.
#[derive(Debug, Clone)]
pub struct LoadedEvent {
    /// Index into [`Loaded::files`].
    pub file: usize,
    /// 1-based line number.
    pub line: u64,
    /// The line without its newline.
    pub text: String,
    pub event: Event,
}

impl LoadedEvent {
    pub fn event_id(&self) -> &str {
        self.event.envelope.event_id.as_deref().unwrap_or("")
    }
    pub fn event_type(&self) -> &str {
        &self.event.envelope.event_type
    }
    pub fn timestamp(&self) -> &str {
        &self.event.envelope.timestamp
    }
}

/// One event file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFile {
    /// Path relative to the directory holding `.thrum` (e.g. `.thrum/events.jsonl`).
    pub rel: String,
    /// The shard name for `messages/{name}.jsonl`, `None` for `events.jsonl`.
    pub shard: Option<String>,
    pub lines: u64,
    pub events: u64,
    pub blank: u64,
    pub unparsable: u64,
    /// The earliest line (in replay order) whose payload does not decode:
    /// where the daemon's rebuild would stop ([`crate::rebuild`], rule 1).
    pub undecodable: Option<crate::rebuild::Candidate>,
}

#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub files: Vec<EventFile>,
    pub events: Vec<LoadedEvent>,
    /// Indexes into `events` in replay order: sorted by (timestamp, event_id)
    /// as byte strings, ties keeping file order (events.jsonl first, then the
    /// shards by file name, each in line order).
    pub order: Vec<usize>,
}

impl Loaded {
    pub fn file_of(&self, e: &LoadedEvent) -> &str {
        &self.files[e.file].rel
    }
    /// A finding located at an event's line.
    pub fn at(&self, e: &LoadedEvent, f: Finding) -> Finding {
        f.at(self.files[e.file].rel.clone(), e.line)
    }
}

/// Splits file bytes into `(line_no, bytes, terminated)` without newlines.
pub fn split_lines(bytes: &[u8]) -> Vec<(u64, &[u8], bool)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            n += 1;
            out.push((n, &bytes[start..i], true));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push((n + 1, &bytes[start..], false));
    }
    out
}

/// The longest line the reader accepts, without its newline: 1 MiB. The
/// daemon reads the logs line by line with a bounded buffer; a longer line is
/// reported as `jsonl_line_too_long` and skipped, never parsed.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Decodes one event file's bytes: its counts, events and findings.
///
/// Per line, in this order: an unterminated last line is reported (and still
/// read); a line over [`MAX_LINE_BYTES`] is reported and skipped; invalid
/// UTF-8 is reported (with the byte offset) and skipped; blank lines are
/// skipped silently; a line that does not decode is reported and skipped; an
/// event of a type the format does not define is kept (the projection
/// ignores it) and reported as the warning `event_type_unknown`.
pub fn parse_file(bytes: &[u8], file: usize, rel: &str, shard: Option<String>) -> (EventFile, Vec<LoadedEvent>, Vec<Finding>) {
    let mut info = EventFile { rel: rel.to_owned(), shard, lines: 0, events: 0, blank: 0, unparsable: 0, undecodable: None };
    let mut events = Vec::new();
    let mut findings = Vec::new();
    for (no, raw, terminated) in split_lines(bytes) {
        let line = if raw.len() > MAX_LINE_BYTES {
            RawLine::Long { len: raw.len() as u64, blank: std::str::from_utf8(raw).is_ok_and(|t| t.trim().is_empty()) }
        } else {
            RawLine::Held(raw)
        };
        if let Some((text, event)) = decode_line(no, line, terminated, &mut info, &mut findings) {
            events.push(LoadedEvent { file, line: no, text: text.to_owned(), event });
        }
    }
    (info, events, findings)
}

/// One line as read: its bytes, or only its length and whether it is blank
/// when it is longer than [`MAX_LINE_BYTES`].
pub(crate) enum RawLine<'a> {
    Held(&'a [u8]),
    Long { len: u64, blank: bool },
}

/// Decodes line `no` of the file `info` describes (see [`parse_file`] for
/// the rules), counting it in `info` and reporting what is wrong with it in
/// `findings`. Returns the line's text and event when it is one.
pub(crate) fn decode_line<'a>(no: u64, line: RawLine<'a>, terminated: bool, info: &mut EventFile, findings: &mut Vec<Finding>) -> Option<(&'a str, Event)> {
    let rel = info.rel.as_str();
    info.lines = no;
    let raw = match line {
        RawLine::Long { len, blank } => {
            if !terminated && !blank {
                findings.push(Finding::new(Kind::JsonlUnterminatedLine, "last line has no terminating newline").at(rel, no));
            }
            info.unparsable += 1;
            findings.push(
                Finding::new(Kind::JsonlLineTooLong, format!("line skipped: {len} bytes, over the reader's limit of {MAX_LINE_BYTES} bytes (1 MiB)"))
                    .at(rel, no)
                    .values(format!("at most {MAX_LINE_BYTES} bytes"), format!("{len} bytes")),
            );
            return None;
        }
        RawLine::Held(raw) => raw,
    };
    let decoded = std::str::from_utf8(raw);
    let blank = decoded.as_ref().is_ok_and(|t| t.trim().is_empty());
    if !terminated && !blank {
        findings.push(Finding::new(Kind::JsonlUnterminatedLine, "last line has no terminating newline").at(rel, no));
    }
    let text = match decoded {
        Ok(t) => t,
        Err(e) => {
            info.unparsable += 1;
            findings.push(
                Finding::new(Kind::JsonlInvalidUtf8, format!("line skipped: invalid UTF-8 at byte {} of the line ({e})", e.valid_up_to()))
                    .at(rel, no)
                    .actual(format!("byte offset {}", e.valid_up_to())),
            );
            return None;
        }
    };
    if blank {
        info.blank += 1;
        return None;
    }
    match Event::parse(text) {
        Ok(event) => {
            info.events += 1;
            if matches!(event.payload, Payload::Unknown) && !event.envelope.event_type.is_empty() {
                findings.push(
                    Finding::new(Kind::EventTypeUnknown, format!("event type {:?} is not defined by the format; the projection ignores it", event.envelope.event_type))
                        .at(rel, no)
                        .key(format!("event_id={}", event.envelope.event_id.as_deref().unwrap_or("")))
                        .column("type")
                        .actual(event.envelope.event_type.clone()),
                );
            }
            Some((text, event))
        }
        Err(e) => {
            info.unparsable += 1;
            if let thrum_schemas::events::DecodeError::Payload(detail) = &e {
                if let Some(c) = crate::rebuild::undecodable(raw, rel, no, detail.clone()) {
                    crate::rebuild::keep_earliest(&mut info.undecodable, c, &[rel]);
                }
            }
            findings.push(Finding::new(Kind::JsonlUnparsable, format!("line skipped: {e}")).at(rel, no));
            None
        }
    }
}

/// Reads one event file into `loaded`, reporting unparsable and unterminated lines.
pub fn read_file(loaded: &mut Loaded, path: &std::path::Path, rel: String, shard: Option<String>, findings: &mut Findings) -> Result<(), InputError> {
    let bytes = read_regular(path)?;
    let (info, events, found) = parse_file(&bytes, loaded.files.len(), &rel, shard);
    loaded.files.push(info);
    loaded.events.extend(events);
    for f in found {
        findings.push(f);
    }
    Ok(())
}

/// The bytes of an event file, read only when it is a regular file.
pub fn read_regular(path: &std::path::Path) -> Result<Vec<u8>, InputError> {
    thrum_io::regular::read_regular(path).map_err(|e| match thrum_io::regular::not_regular(&e) {
        Some(nr) => InputError::WrongKind { path: path.to_path_buf(), found: nr.found.clone(), expected: "a regular file" },
        None => InputError::io(path, e),
    })
}

/// The finding for a file of the tree that exists but is not a regular
/// file: what it is, and the consequence.
pub fn not_regular_finding(rel: &str, found: &str, consequence: &str) -> Finding {
    Finding::new(Kind::FileNotRegular, format!("{found}; expected a regular file ({consequence})")).file(rel)
}

/// An event file to read.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: std::path::PathBuf,
    /// Path relative to the directory holding `.thrum`.
    pub rel: String,
    /// The shard name for `messages/{name}.jsonl`, `None` for `events.jsonl`.
    pub shard: Option<String>,
}

/// The event files in file order: `events.jsonl` (reported `file_missing`
/// when absent), then every `messages/*.jsonl` sorted by name.
pub fn event_files(tree: &Tree, findings: &mut Findings) -> Result<Vec<Source>, InputError> {
    let mut files = Vec::new();
    let events = tree.path("events.jsonl");
    if events.metadata().is_ok_and(|m| m.is_file()) {
        files.push(Source { path: events, rel: ".thrum/events.jsonl".into(), shard: None });
    } else if let Some(found) = crate::input::describe(&events) {
        findings.push(not_regular_finding(".thrum/events.jsonl", &found, "every non-message event is lost"));
    } else {
        findings.push(Finding::new(Kind::FileMissing, "events.jsonl is missing; every non-message event is lost").file(".thrum/events.jsonl"));
    }
    let dir = tree.path("messages");
    if dir.is_dir() {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| InputError::io(&dir, e))? {
            let entry = entry.map_err(|e| InputError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if is_file && name.ends_with(".jsonl") {
                names.push(name);
            } else if !is_file && !entry.file_type().is_ok_and(|t| t.is_dir()) {
                // a FIFO, device, socket or link is never opened, but reported
                let found = crate::input::describe(&entry.path()).unwrap_or_else(|| "not a regular file".into());
                findings.push(not_regular_finding(&format!(".thrum/messages/{name}"), &found, "not read as an event log"));
            }
        }
        names.sort();
        for name in names {
            let shard = name.trim_end_matches(".jsonl").to_owned();
            files.push(Source { path: dir.join(&name), rel: format!(".thrum/messages/{name}"), shard: Some(shard) });
        }
    }
    Ok(files)
}

/// Loads `events.jsonl` and `messages/*.jsonl` (sorted by name) and computes
/// the replay order. Files are decoded on two threads; results are merged in
/// file order, so the outcome does not depend on timing.
pub fn load(tree: &Tree, findings: &mut Findings) -> Result<Loaded, InputError> {
    let files: Vec<(std::path::PathBuf, String, Option<String>)> = event_files(tree, findings)?.into_iter().map(|f| (f.path, f.rel, f.shard)).collect();
    let mut contents = Vec::with_capacity(files.len());
    for (path, _, _) in &files {
        contents.push(read_regular(path)?);
    }
    // split the files into two halves of about equal size
    let total: usize = contents.iter().map(Vec::len).sum();
    let mut acc = 0;
    let split = contents.iter().position(|c| {
        acc += c.len();
        acc * 2 >= total
    });
    let split = split.map_or(files.len(), |i| i + 1).min(files.len());
    type Parsed = Vec<(EventFile, Vec<LoadedEvent>, Vec<Finding>)>;
    let parse_range = |range: std::ops::Range<usize>| -> Parsed {
        range.map(|i| parse_file(&contents[i], i, &files[i].1, files[i].2.clone())).collect()
    };
    let (a, b): (Parsed, Parsed) = std::thread::scope(|s| {
        let h = s.spawn(|| parse_range(split..files.len()));
        let a = parse_range(0..split);
        (a, h.join().unwrap_or_default())
    });
    let mut loaded = Loaded::default();
    for (info, evs, found) in a.into_iter().chain(b) {
        loaded.files.push(info);
        loaded.events.extend(evs);
        for f in found {
            findings.push(f);
        }
    }
    if loaded.files.len() != files.len() {
        return Err(InputError::Unreadable { path: tree.thrum.clone(), reason: "JSONL decoding thread panicked".into() });
    }
    sort(&mut loaded);
    Ok(loaded)
}

/// Computes the replay order (stable).
pub fn sort(loaded: &mut Loaded) {
    let mut order: Vec<usize> = (0..loaded.events.len()).collect();
    let ev = &loaded.events;
    order.sort_by(|&a, &b| {
        let (x, y) = (&ev[a], &ev[b]);
        x.timestamp().as_bytes().cmp(y.timestamp().as_bytes()).then_with(|| x.event_id().as_bytes().cmp(y.event_id().as_bytes()))
    });
    loaded.order = order;
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn splits_lines_with_numbers() {
        let l = split_lines(b"a\n\nb");
        assert_eq!(l, vec![(1, &b"a"[..], true), (2, &b""[..], true), (3, &b"b"[..], false)]);
        assert!(split_lines(b"").is_empty());
    }
    #[test]
    fn reports_unparsable_lines_and_sorts_stably() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.jsonl");
        std::fs::write(
            &p,
            b"{\"type\":\"x\",\"timestamp\":\"2\",\"event_id\":\"b\"}\n\n{broken\n{\"type\":\"x\",\"timestamp\":\"1\",\"event_id\":\"z\"}\n{\"type\":\"x\",\"timestamp\":\"2\",\"event_id\":\"a\"}\n\xff\n[1]",
        )
        .unwrap();
        let mut loaded = Loaded::default();
        let mut f = Findings::new(0);
        read_file(&mut loaded, &p, "e.jsonl".into(), None, &mut f).unwrap();
        sort(&mut loaded);
        let lines: Vec<(Kind, Option<u64>)> = f.list().iter().map(|x| (x.kind, x.line)).collect();
        assert_eq!(
            lines,
            vec![
                // type "x" is not a type of the format: a warning, the event is kept
                (Kind::EventTypeUnknown, Some(1)),
                (Kind::JsonlUnparsable, Some(3)),
                (Kind::EventTypeUnknown, Some(4)),
                (Kind::EventTypeUnknown, Some(5)),
                (Kind::JsonlInvalidUtf8, Some(6)),
                (Kind::JsonlUnterminatedLine, Some(7)),
                (Kind::JsonlUnparsable, Some(7))
            ]
        );
        assert_eq!(loaded.files[0].blank, 1);
        assert_eq!(loaded.files[0].events, 3);
        let ids: Vec<&str> = loaded.order.iter().map(|&i| loaded.events[i].event_id()).collect();
        assert_eq!(ids, vec!["z", "a", "b"]);
    }
}
