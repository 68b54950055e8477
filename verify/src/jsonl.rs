//! Reading the v13 event logs: `events.jsonl` and every `messages/*.jsonl`.
//!
//! Blank lines are skipped silently. Lines that do not decode (not JSON, not
//! an object, payload of the wrong shape) are skipped as the daemon skips
//! them, and each is reported as `jsonl_unparsable` with its file and 1-based
//! line number; lines over 1 MiB ([`MAX_LINE_BYTES`]) and lines that are not
//! UTF-8 are skipped too, reported as `jsonl_line_too_long` and
//! `jsonl_invalid_utf8`. See [`decode_line`]; [`crate::stream`] reads the
//! files line by line and merges them in replay order.

use crate::error::InputError;
use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use thrum_schemas::events::{Event, Payload};

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

/// One line as read: its bytes, or only its length and whether it is blank
/// when it is longer than [`MAX_LINE_BYTES`].
pub enum RawLine<'a> {
    Held(&'a [u8]),
    Long { len: u64, blank: bool },
}

/// Decodes line `no` of the file `info` describes, counting it in `info`
/// and reporting what is wrong with it in `findings`. Returns the line's
/// text and event when it is one.
///
/// Per line, in this order: an unterminated last line is reported (and still
/// read); a line over [`MAX_LINE_BYTES`] is reported and skipped; invalid
/// UTF-8 is reported (with the byte offset) and skipped; blank lines are
/// skipped silently; a line that does not decode is reported and skipped; an
/// event of a type the format does not define is kept (the projection
/// ignores it) and reported as the warning `event_type_unknown`.
pub fn decode_line<'a>(
    no: u64,
    line: RawLine<'a>,
    terminated: bool,
    info: &mut EventFile,
    findings: &mut Vec<Finding>,
) -> Option<(&'a str, Event)> {
    let rel = info.rel.as_str();
    info.lines = no;
    let raw = match line {
        RawLine::Long { len, blank } => {
            if !terminated && !blank {
                findings.push(Finding::new(Kind::JsonlUnterminatedLine, "last line has no terminating newline").at(rel, no));
            }
            info.unparsable += 1;
            findings.push(
                Finding::new(
                    Kind::JsonlLineTooLong,
                    format!("line skipped: {len} bytes, over the reader's limit of {MAX_LINE_BYTES} bytes (1 MiB)"),
                )
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
                    Finding::new(
                        Kind::EventTypeUnknown,
                        format!("event type {:?} is not defined by the format; the projection ignores it", event.envelope.event_type),
                    )
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
        findings
            .push(Finding::new(Kind::FileMissing, "events.jsonl is missing; every non-message event is lost").file(".thrum/events.jsonl"));
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
        let src = Source { path: p.clone(), rel: "e.jsonl".into(), shard: None };
        let mut r = crate::stream::EventReader::open(&src).unwrap();
        let mut events = Vec::new();
        while let Some((line, _, e)) = r.next(&p).unwrap() {
            events.push((line, e.envelope.event_id.unwrap_or_default()));
        }
        let f = r.findings;
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
        assert_eq!(r.info.blank, 1);
        assert_eq!(r.info.events, 3);
        let order = crate::stream::replay_order(&[src]).ok().unwrap();
        let ids: Vec<&str> = order.iter().map(|p| events.iter().find(|(l, _)| *l == p.line()).map_or("", |(_, id)| id.as_str())).collect();
        assert_eq!(ids, vec!["z", "a", "b"]);
    }
}
