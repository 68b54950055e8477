//! Reading the v13 event logs: `events.jsonl` and every `messages/*.jsonl`.
//!
//! Each line is read as the v13 daemon reads it (docs/FORMAT.md section 4b):
//! one trailing `\r` is dropped, and invalid UTF-8 is decoded as Go's JSON
//! decoder does, each invalid byte read as U+FFFD ([`daemon_text`]); such a
//! line is applied with that text and reported as the warning
//! `jsonl_invalid_utf8` with its byte offset. Blank lines are skipped
//! silently. Lines that do not decode (not JSON, not an object, payload of
//! the wrong shape) are skipped as the daemon skips them, and each is
//! reported as `jsonl_unparsable` with its file and 1-based line number. A
//! line that does not fit the daemon's scanner ([`DAEMON_SCAN_BYTES`]) makes
//! its rebuild fail before it applies anything: `rebuild_aborts`. Lines over
//! verify's own bound of 1 MiB ([`MAX_LINE_BYTES`]) are skipped, reported as
//! `jsonl_line_too_long`. See [`decode_line`]; [`crate::stream`] reads the
//! files line by line and merges them in replay order.

use crate::error::InputError;
use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use std::borrow::Cow;
use thrum_schemas::events::{DecodeError, Event, Payload};

/// One event file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFile {
    /// Path relative to the directory holding `.thrum` (e.g. `.thrum/events.jsonl`).
    pub rel: String,
    /// The shard name for `messages/{name}.jsonl`, `None` for `events.jsonl`.
    pub shard: Option<String>,
    /// Lines read.
    pub lines: u64,
    /// Lines that hold an event.
    pub events: u64,
    /// Empty or whitespace-only lines.
    pub blank: u64,
    /// Lines that are not an event.
    pub unparsable: u64,
    /// The earliest line (in replay order) whose payload does not decode:
    /// where the daemon's rebuild would stop (`crate::rebuild`, rule 1).
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

/// The longest line the reader accepts, without its newline: 1 MiB, a
/// bound of verify's own memory. A longer line is reported as
/// `jsonl_line_too_long` and skipped, never parsed.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What the v13 daemon's line scanner holds: 64 KiB, a line with its newline
/// (docs/FORMAT.md section 4b). A line of this many bytes or more, without
/// its newline (a trailing `\r` counts), makes reading its file fail, and
/// the daemon's rebuild fails before it applies any event.
pub const DAEMON_SCAN_BYTES: usize = 64 << 10;

/// One line as read: its bytes, or only its length and whether it is blank
/// when it is longer than [`MAX_LINE_BYTES`].
pub enum RawLine<'a> {
    /// A line of at most [`MAX_LINE_BYTES`], held.
    Held(&'a [u8]),
    /// A longer line: only its length and whether it is blank.
    Long {
        /// Its length in bytes.
        len: u64,
        /// Whether it holds only whitespace.
        blank: bool,
    },
}

/// A line as the daemon's reader hands it to its JSON decoder: one trailing
/// `\r` dropped, and each byte that is not part of valid UTF-8 read as
/// U+FFFD, one replacement per byte, as Go's decoder does (a truncated
/// three-byte sequence is two replacements, not one as in
/// [`String::from_utf8_lossy`]). Also returns the byte offset of the first
/// invalid byte, if any.
pub fn daemon_text(raw: &[u8]) -> (Cow<'_, str>, Option<usize>) {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let first = match std::str::from_utf8(raw) {
        Ok(t) => return (Cow::Borrowed(t), None),
        Err(e) => e.valid_up_to(),
    };
    let mut out = String::with_capacity(raw.len() + 8);
    let mut rest = raw;
    loop {
        match std::str::from_utf8(rest) {
            Ok(t) => {
                out.push_str(t);
                break;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                // the prefix was just checked: it is valid UTF-8
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push(char::REPLACEMENT_CHARACTER);
                rest = &bad[1..];
            }
        }
    }
    (Cow::Owned(out), Some(first))
}

/// The `rebuild_aborts` finding of a line that does not fit the daemon's
/// scanner ([`DAEMON_SCAN_BYTES`]); `len` is its length without the newline.
pub fn scan_abort(rel: &str, no: u64, len: u64) -> Finding {
    let max = DAEMON_SCAN_BYTES - 1;
    Finding::new(
        Kind::RebuildAborts,
        format!(
            "line of {len} bytes (without its newline): the daemon's scanner holds at most \
                {DAEMON_SCAN_BYTES} bytes \
             with the newline, so reading this file fails and the daemon's rebuild fails before \
             it applies any event"
        ),
    )
    .at(rel, no)
    .values(format!("at most {max} bytes"), format!("{len} bytes"))
}

/// Decodes line `no` of the file `info` describes, counting it in `info`
/// and reporting what is wrong with it in `findings`. Returns the line's
/// text and event when it is one.
///
/// Per line, in this order: an unterminated last line is reported (and still
/// read); a line the daemon's scanner cannot hold is reported
/// (`rebuild_aborts`); a line over [`MAX_LINE_BYTES`] is reported and
/// skipped; the line is read as the daemon reads it (`daemon_text`), and
/// invalid UTF-8 is reported as a warning with its byte offset; blank lines
/// are skipped silently; a line that does not decode is reported and
/// skipped; an event of a type the format does not define is kept (the
/// projection ignores it) and reported as the warning `event_type_unknown`.
pub fn decode_line<'a>(
    no: u64,
    line: RawLine<'a>,
    terminated: bool,
    info: &mut EventFile,
    findings: &mut Vec<Finding>,
) -> Option<(Cow<'a, str>, Event)> {
    let rel = info.rel.as_str();
    info.lines = no;
    let raw = match line {
        RawLine::Long { len, blank } => {
            long_line(no, len, blank, terminated, info, findings);
            return None;
        }
        RawLine::Held(raw) => raw,
    };
    let (text, invalid) = daemon_text(raw);
    let blank = text.trim().is_empty();
    if !terminated && !blank {
        findings.push(
            Finding::new(Kind::JsonlUnterminatedLine, "last line has no terminating newline")
                .at(rel, no),
        );
    }
    if raw.len() >= DAEMON_SCAN_BYTES {
        findings.push(scan_abort(rel, no, raw.len() as u64));
    }
    if let Some(at) = invalid {
        findings.push(
            Finding::new(
                Kind::JsonlInvalidUtf8,
                format!(
                    "invalid UTF-8 at byte {at} of the line; read as the daemon reads it, \
                    each invalid byte as U+FFFD"
                ),
            )
            .at(rel, no)
            .actual(format!("byte offset {at}")),
        );
    }
    if blank {
        info.blank += 1;
        return None;
    }
    let event = parsed(no, &text, info, findings)?;
    Some((text, event))
}

/// A line over [`MAX_LINE_BYTES`] (`len` bytes, `blank` when it holds only
/// whitespace): reported and skipped, never parsed.
fn long_line(
    no: u64,
    len: u64,
    blank: bool,
    terminated: bool,
    info: &mut EventFile,
    findings: &mut Vec<Finding>,
) {
    let rel = info.rel.as_str();
    if !terminated && !blank {
        findings.push(
            Finding::new(Kind::JsonlUnterminatedLine, "last line has no terminating newline")
                .at(rel, no),
        );
    }
    findings.push(scan_abort(rel, no, len));
    info.unparsable += 1;
    findings.push(
        Finding::new(
            Kind::JsonlLineTooLong,
            format!(
                "line skipped: {len} bytes, over the reader's limit of \
                {MAX_LINE_BYTES} bytes (1 MiB)"
            ),
        )
        .at(rel, no)
        .values(format!("at most {MAX_LINE_BYTES} bytes"), format!("{len} bytes")),
    );
}

/// The event of the non-blank line `no` (`text`, as the daemon reads it),
/// counted in `info`; a line that does not decode is reported and skipped,
/// an event of a type the format does not define is reported and kept.
fn parsed(no: u64, text: &str, info: &mut EventFile, findings: &mut Vec<Finding>) -> Option<Event> {
    let rel = info.rel.as_str();
    match decode_event(text) {
        Ok(event) => {
            info.events += 1;
            if matches!(event.payload, Payload::Unknown) && !event.envelope.event_type.is_empty() {
                findings.push(
                    Finding::new(
                        Kind::EventTypeUnknown,
                        format!(
                            "event type {:?} is not defined by the format; the projection \
                        ignores it",
                            event.envelope.event_type
                        ),
                    )
                    .at(rel, no)
                    .key(format!("event_id={}", event.envelope.event_id.as_deref().unwrap_or("")))
                    .column("type")
                    .actual(event.envelope.event_type.clone()),
                );
            }
            Some(event)
        }
        Err(e) => {
            info.unparsable += 1;
            if let thrum_schemas::events::DecodeError::Payload(detail) = &e {
                if let Some(c) =
                    crate::rebuild::undecodable(text.as_bytes(), rel, no, detail.clone())
                {
                    // one file: only line order breaks a tie
                    crate::rebuild::keep_earliest(
                        &mut info.undecodable,
                        c,
                        &crate::rebuild::FileOrder::default(),
                    );
                }
            }
            findings.push(
                Finding::new(Kind::JsonlUnparsable, format!("line skipped: {e}")).at(rel, no),
            );
            None
        }
    }
}

/// The event of a line's `text`, or why it is not one, as
/// [`Event::parse`] decodes it. A line [`plainly_canonical`] accepts, of a
/// type the format defines, is decoded straight from its text, its `raw`
/// map left empty (such a line has no duplicate key and only integers of
/// the `i64` range, where both decodings agree); any other line, and any
/// line that does not decode that way, is decoded by `Event::parse`, which
/// words the error and keeps the whole object in `raw` (a known type's
/// object holds at least `type`). So an event of a type the format defines
/// with an empty `raw` map is one of a line `plainly_canonical` accepted:
/// [`crate::checks::line_checks`] does not check its form again.
///
/// [`plainly_canonical`]: crate::canonical::plainly_canonical
pub fn decode_event(text: &str) -> Result<Event, DecodeError> {
    if let Some(top) = crate::canonical::canonical_top(text) {
        // the envelope read in the scan's pass when its fields are plain
        let event = match crate::canonical::envelope(text, &top) {
            Some(envelope) => Event::parse_payload(envelope, text),
            None => Event::parse_fields(text),
        };
        if let Ok(event) = event {
            if !matches!(event.payload, Payload::Unknown) {
                return Ok(event);
            }
        }
    }
    Event::parse(text)
}

/// The bytes of an event file, read only when it is a regular file.
pub fn read_regular(path: &std::path::Path) -> Result<Vec<u8>, InputError> {
    thrum_io::regular::read_regular(path).map_err(|e| match thrum_io::regular::not_regular(&e) {
        Some(nr) => InputError::WrongKind {
            path: path.to_path_buf(),
            found: nr.found.clone(),
            expected: "a regular file",
        },
        None => InputError::io(path, e),
    })
}

/// The finding for a file of the tree that exists but is not a regular
/// file: what it is, and the consequence.
pub fn not_regular_finding(rel: &str, found: &str, consequence: &str) -> Finding {
    Finding::new(Kind::FileNotRegular, format!("{found}; expected a regular file ({consequence})"))
        .file(rel)
}

/// An event file to read.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where the file is.
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
        findings.push(not_regular_finding(
            ".thrum/events.jsonl",
            &found,
            "every non-message event is lost",
        ));
    } else {
        findings.push(
            Finding::new(
                Kind::FileMissing,
                "events.jsonl is missing; every non-message event is lost",
            )
            .file(".thrum/events.jsonl"),
        );
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
                let found = crate::input::describe(&entry.path())
                    .unwrap_or_else(|| "not a regular file".into());
                findings.push(not_regular_finding(
                    &format!(".thrum/messages/{name}"),
                    &found,
                    "not read as an event log",
                ));
            }
        }
        names.sort();
        for name in names {
            let shard = name.trim_end_matches(".jsonl").to_owned();
            files.push(Source {
                path: dir.join(&name),
                rel: format!(".thrum/messages/{name}"),
                shard: Some(shard),
            });
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
    fn lines_read_as_the_daemon_reads_them() {
        let text = |raw: &[u8]| {
            let (t, at) = daemon_text(raw);
            (t.into_owned(), at)
        };
        assert_eq!(text(b"{\"a\":1}\r"), ("{\"a\":1}".into(), None));
        // one `\r` only
        assert_eq!(text(b"x\r\r"), ("x\r".into(), None));
        assert_eq!(text("é\r".as_bytes()), ("é".into(), None));
        // one U+FFFD per invalid byte, as Go's decoder reads them
        assert_eq!(text(b"ok\xff"), ("ok\u{FFFD}".into(), Some(2)));
        assert_eq!(text(b"a\xe3\x80b"), ("a\u{FFFD}\u{FFFD}b".into(), Some(1)));
        assert_eq!(
            text(b"\xed\xa0\x80|\xc0\x80"),
            ("\u{FFFD}\u{FFFD}\u{FFFD}|\u{FFFD}\u{FFFD}".into(), Some(0))
        );
        assert_eq!(text(b"\"\xf0\x9f\x98\"\r"), ("\"\u{FFFD}\u{FFFD}\u{FFFD}\"".into(), Some(1)));
    }

    #[test]
    fn a_line_must_fit_the_daemons_scanner_with_its_newline() {
        let stops = |line: &[u8], terminated: bool| {
            let mut info = EventFile {
                rel: "e.jsonl".into(),
                shard: None,
                lines: 0,
                events: 0,
                blank: 0,
                unparsable: 0,
                undecodable: None,
            };
            let mut found = Vec::new();
            decode_line(4, RawLine::Held(line), terminated, &mut info, &mut found);
            found
                .into_iter()
                .filter(|f| f.kind == Kind::RebuildAborts)
                .map(|f| (f.line, f.actual))
                .collect::<Vec<_>>()
        };
        let mut line = vec![b' '; 65_535];
        assert_eq!(stops(&line, true), vec![]);
        assert_eq!(stops(&line, false), vec![]);
        line.push(b'\r');
        assert_eq!(stops(&line, true), vec![(Some(4), Some("65536 bytes".to_string()))]);
        assert_eq!(stops(&line, false), vec![(Some(4), Some("65536 bytes".to_string()))]);
        let long = RawLine::Long { len: (MAX_LINE_BYTES + 1) as u64, blank: false };
        let mut info = EventFile {
            rel: "e.jsonl".into(),
            shard: None,
            lines: 0,
            events: 0,
            blank: 0,
            unparsable: 0,
            undecodable: None,
        };
        let mut found = Vec::new();
        decode_line(9, long, true, &mut info, &mut found);
        let kinds: Vec<(Kind, Option<u64>)> = found.iter().map(|f| (f.kind, f.line)).collect();
        assert_eq!(kinds, vec![(Kind::RebuildAborts, Some(9)), (Kind::JsonlLineTooLong, Some(9))]);
    }

    #[test]
    fn reports_unparsable_lines_and_sorts_stably() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.jsonl");
        std::fs::write(
            &p,
            b"{\"type\":\"x\",\"timestamp\":\"2\",\"event_id\":\"b\"}\n\n{broken\n{\"type\":\"x\"\
                ,\"timestamp\":\"1\",\"event_id\":\"z\"}\n{\"type\":\"x\",\"timestamp\":\"2\",\"ev\
                ent_id\":\"a\"}\n\xff\n[1]",
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
                // read as U+FFFD, which is not JSON
                (Kind::JsonlInvalidUtf8, Some(6)),
                (Kind::JsonlUnparsable, Some(6)),
                (Kind::JsonlUnterminatedLine, Some(7)),
                (Kind::JsonlUnparsable, Some(7))
            ]
        );
        assert_eq!(r.info.blank, 1);
        assert_eq!(r.info.events, 3);
        let order = crate::stream::replay_order(&[src]).ok().unwrap();
        let ids: Vec<&str> = order
            .iter()
            .map(|p| events.iter().find(|(l, _)| *l == p.line()).map_or("", |(_, id)| id.as_str()))
            .collect();
        assert_eq!(ids, vec!["z", "a", "b"]);
    }
}
