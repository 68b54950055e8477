//! Crash states: what a killed v13 daemon leaves on disk (docs/FORMAT.md
//! section 9), named from what the other checks found and from the files
//! only a crash leaves (`<file>.tmp`, a `-wal`), with what follows from it:
//! what the restarting daemon does (it takes `MAX(events.sequence)` as its
//! counter and replays nothing), what a rebuild from the JSONL recovers (the
//! projected tables, never `events` rows) and which events are lost.
//!
//! The rules, first match: a WAL with an incomplete last transaction; a
//! line without `events` row whose sequence a later line reuses (a restart);
//! a `<file>.tmp` (before or after the append); the last lines without
//! `events` rows, with a header-only `-wal` (power loss) or none (a copy
//! without its WAL); an event with its row whose apply fails; the last
//! `events` row without its projection. A valid WAL of committed
//! transactions is reported as information in every case: it was applied on
//! a private copy, the input untouched.

use crate::dbfile::WalStatus;
use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use thrum_io::wal::{FRAME_HEADER, HEADER};

/// The largest `<file>.tmp` read (a temporary holds one line).
const TMP_MAX: u64 = 1 << 20;

/// A line of a JSONL file: where it is and its envelope.
#[derive(Debug, Clone)]
struct At {
    file: String,
    line: Option<u64>,
    id: String,
    seq: Option<i64>,
    value: Value,
}

impl At {
    fn of(file: String, line: Option<u64>, text: &str) -> At {
        let v: Value = serde_json::from_str(text).unwrap_or_default();
        let id = v.get("event_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        At { file, line, id, seq: v.get("sequence").and_then(Value::as_i64), value: v }
    }
    fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }
    fn seq(&self) -> String {
        self.seq.map_or_else(|| "?".into(), |s| s.to_string())
    }
    fn finding(&self, kind: Kind, message: String) -> Finding {
        let f = Finding::new(kind, message)
            .key(format!("event_id={}", self.id))
            .file(self.file.clone());
        match self.line {
            Some(l) => f.line(l),
            None => f,
        }
    }
}

/// The most findings of one kind whose lines are read (the first, in
/// report order): a crash leaves few; a broken log is named by its own
/// findings.
const LOOKED_AT: usize = 1000;

/// The JSONL lines the listed findings of `kind` point at, each file read
/// once, ordered by sequence.
fn lines_of(tree: &Tree, findings: &Findings, kind: Kind) -> Vec<At> {
    let mut wanted: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for f in findings.list().iter().filter(|f| f.kind == kind).take(LOOKED_AT) {
        if let (Some(file), Some(line)) = (&f.file, f.line) {
            wanted.entry(file.clone()).or_default().insert(line);
        }
    }
    let mut v = Vec::new();
    for (file, lines) in wanted {
        let Ok(f) = thrum_io::regular::open_regular(&tree.base.join(&file)) else { continue };
        let last = lines.last().copied().unwrap_or(0);
        let mut rd = std::io::BufReader::new(f);
        let mut text = Vec::new();
        for n in 1..=last {
            // a line is held only up to TMP_MAX bytes: a longer one is
            // skipped to its end, never read whole into memory
            match bounded_line(&mut rd, &mut text, TMP_MAX) {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
            if lines.contains(&n) && text.len() as u64 <= TMP_MAX {
                v.push(At::of(file.clone(), Some(n), &String::from_utf8_lossy(&text)));
            }
        }
    }
    v.sort_by_key(|a| a.seq);
    v.dedup_by(|a, b| a.id == b.id);
    v
}

/// Reads the next line of `rd` into `out` (without its newline), keeping at
/// most `max + 1` bytes of it (a longer line is consumed to its end, `out`
/// then longer than `max`); false at the end of the input.
fn bounded_line(
    rd: &mut impl std::io::BufRead,
    out: &mut Vec<u8>,
    max: u64,
) -> std::io::Result<bool> {
    use std::io::{BufRead as _, Read as _};
    out.clear();
    let got = rd.by_ref().take(max + 1).read_until(b'\n', out)?;
    if got == 0 {
        return Ok(false);
    }
    if out.last() == Some(&b'\n') {
        out.pop();
        return Ok(true);
    }
    // cut at max + 1 bytes (or the end): skip the rest of the line
    loop {
        let buf = rd.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(p) => {
                rd.consume(p + 1);
                return Ok(true);
            }
            None => {
                let l = buf.len();
                rd.consume(l);
            }
        }
    }
}

/// A temporary beside a JSONL file, and whether its line is the last line
/// of that file.
struct Tmp {
    at: At,
    appended: bool,
}

fn temporaries(tree: &Tree) -> Vec<Tmp> {
    let mut rels = vec!["events.jsonl".to_string()];
    if let Ok(rd) = std::fs::read_dir(tree.thrum.join("messages")) {
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".jsonl"))
            .collect();
        names.sort();
        rels.extend(names.into_iter().map(|n| format!("messages/{n}")));
    }
    let mut out = Vec::new();
    for rel in rels {
        let tmp = tree.thrum.join(format!("{rel}.tmp"));
        let Ok(meta) = thrum_io::regular::regular_metadata(&tmp) else { continue };
        if meta.len() > TMP_MAX {
            continue;
        }
        let Ok(bytes) = thrum_io::regular::read_regular(&tmp) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        let line = text.strip_suffix('\n').unwrap_or(&text).to_owned();
        // the JSONL file streamed (a regular file only): its last line, if
        // it is no longer than the temporary's, and that line's number
        let last = thrum_io::regular::open_regular(&tree.thrum.join(&rel))
            .ok()
            .and_then(|f| last_line(f, TMP_MAX).ok());
        let appended =
            last.as_ref().and_then(|(_, l)| l.as_deref()).is_some_and(|l| l == line.as_bytes());
        let at = At::of(format!(".thrum/{rel}.tmp"), None, &line);
        let at = match last {
            Some((n, _)) if appended => At { file: format!(".thrum/{rel}"), line: Some(n), ..at },
            _ => at,
        };
        out.push(Tmp { at, appended });
    }
    out
}

/// The number of the last non-empty line of `r` and that line, unless it
/// is longer than `max` bytes; read in chunks, so memory stays at one chunk
/// and one line of at most `max` bytes whatever the file's size.
fn last_line(mut r: impl std::io::Read, max: u64) -> std::io::Result<(u64, Option<Vec<u8>>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut no, mut last_no) = (1u64, 0u64);
    let mut cur: Option<Vec<u8>> = Some(Vec::new());
    let mut last: Option<Vec<u8>> = None;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for piece in buf[..n].split_inclusive(|&b| b == b'\n') {
            let (body, ends) = match piece.strip_suffix(b"\n") {
                Some(b) => (b, true),
                None => (piece, false),
            };
            if let Some(c) = cur.as_mut() {
                if (c.len() + body.len()) as u64 > max {
                    cur = None;
                } else {
                    c.extend_from_slice(body);
                }
            }
            if ends {
                let held = cur.replace(Vec::new());
                if held.as_ref().is_none_or(|c| !c.is_empty()) {
                    (last_no, last) = (no, held);
                }
                no += 1;
            }
        }
    }
    if cur.as_ref().is_none_or(|c| !c.is_empty()) {
        (last_no, last) = (no, cur);
    }
    Ok((last_no, last))
}

/// `MAX(events.sequence)` of the database as read (with its WAL).
fn max_sequence(db: &Connection) -> Option<i64> {
    db.query_row("SELECT MAX(sequence) FROM events", [], |r| r.get(0)).ok().flatten()
}

/// What a restarting daemon does, with the database's counter; `again`
/// when its next sequence is a line's already.
fn restart_text(max: Option<i64>, again: bool) -> String {
    let again = if again { " again" } else { "" };
    match max {
        Some(m) => format!(
            "a restarting v13 daemon takes MAX(events.sequence) = {m} as its counter and replays \
                nothing, so its next event gets sequence {}{again}",
            m + 1
        ),
        None => "a restarting v13 daemon takes MAX(events.sequence) as its counter and replays \
            nothing"
            .into(),
    }
}

const REBUILD: &str = "a rebuild from the JSONL projects it (it writes no events row)";

/// Names the crash state of the tree, if any, from the findings so far,
/// the database as read `db` and the `-wal` status.
pub fn classify(tree: &Tree, db: &Connection, wal: &WalStatus, findings: &mut Findings) {
    let max = max_sequence(db);
    if let Some(f) = wal_finding(wal) {
        let torn = f.kind == Kind::CrashWalTornFrame;
        findings.push(f);
        if torn {
            return;
        }
    }
    let missing = lines_of(tree, findings, Kind::EventLogMissing);
    let dups = lines_of(tree, findings, Kind::SequenceDuplicate);
    if let Some(f) = restarted(&missing, &dups, max) {
        findings.push(f);
        return;
    }
    let tmps = temporaries(tree);
    if let Some(t) = tmps.first() {
        findings.push(temporary(t, &missing, max));
        return;
    }
    // the projections agree but for what the lines without rows lack
    let only_missing =
        findings.count(Kind::RowExtra) == 0 && findings.count(Kind::EventIdDuplicate) == 0;
    let agree = only_missing
        && findings.count(Kind::RowMissing) == 0
        && findings.count(Kind::CellDiffers) == 0;
    let tail = !missing.is_empty()
        && missing.iter().all(|m| m.seq.is_some_and(|s| max.is_none_or(|x| s > x)));
    if tail
        && only_missing
        && findings.count(Kind::RowMissing) > 0
        && findings.count(Kind::RebuildAborts) == 0
    {
        if let Some(f) = unsynced(&missing, wal, max) {
            findings.push(f);
            return;
        }
    }
    // an apply that fails in the replay too (not a line the scanner cannot hold)
    let mut failed = lines_of(tree, findings, Kind::EventTargetMissing);
    failed.extend(lines_of(tree, findings, Kind::ReplayEventRejected));
    let aborts = lines_of(tree, findings, Kind::RebuildAborts);
    let failing = |a: &&At| failed.iter().any(|f| f.id == a.id) && written_alike(db, a);
    if let Some(a) = aborts.iter().filter(|_| agree && missing.is_empty()).find(failing) {
        findings.push(a.finding(
            Kind::ApplyFailed,
            format!(
                "the event at {} (sequence {}) has its events row but its apply fails: the daemon \
                    wrote it, projected nothing and reported the error; a rebuild from the JSONL \
                    stops at it (rebuild_aborts); {}; no event is lost (the JSONL has it)",
                a.place(),
                a.seq(),
                restart_text(max, false)
            ),
        ));
        return;
    }
    let rows_only = only_missing
        && findings.count(Kind::CellDiffers) == 0
        && findings.count(Kind::RebuildAborts) == 0;
    if findings.count(Kind::RowMissing) > 0 && missing.is_empty() && rows_only {
        if let Some(f) = after_events_row(db, max) {
            findings.push(f);
        }
    }
}

/// Whether the `events` row of the line `a` holds that very line (the
/// daemon wrote both).
fn written_alike(db: &Connection, a: &At) -> bool {
    let row: Option<String> = db
        .query_row("SELECT event_json FROM events WHERE event_id = ?1", [&a.id], |r| r.get(0))
        .ok();
    row.is_some_and(|r| serde_json::from_str::<Value>(&r).ok() == Some(a.value.clone()))
}

fn wal_finding(wal: &WalStatus) -> Option<Finding> {
    let WalStatus::Valid { bytes, page_size, frames, committed } = *wal else { return None };
    let frame = (FRAME_HEADER as u64) + u64::from(page_size);
    let whole = HEADER as u64 + committed * frame;
    let file = ".thrum/var/messages.db-wal";
    if bytes > whole {
        let tail = bytes - whole;
        return Some(
            Finding::new(
                Kind::CrashWalTornFrame,
                format!(
                    "the WAL's last transaction is incomplete ({tail} bytes after its last commit \
                        frame, {} whole frame(s) of them uncommitted): SQLite discards it and \
                        applies the {committed} committed frame(s); the database was read with \
                        its WAL on a private copy (the input is not modified); a rebuild from the \
                        JSONL projects what the lost transaction held; no event is lost (the \
                        JSONL has every line)",
                    frames - committed
                ),
            )
            .file(file)
            .values(
                format!("{whole} bytes ({committed} committed frames)"),
                format!(
                    "{bytes} \
                bytes"
                ),
            ),
        );
    }
    (committed > 0).then(|| {
        Finding::new(
            Kind::CrashWalUncheckpointed,
            format!(
                "a killed daemon's WAL: {committed} committed frame(s) not checkpointed; the \
                    database was read with its WAL on a private copy ({committed} frame(s) \
                    applied, the input not modified); a copy of messages.db without this file \
                    lacks those transactions"
            ),
        )
        .file(file)
        .actual(format!("{committed} frames applied"))
    })
}

fn restarted(missing: &[At], dups: &[At], max: Option<i64>) -> Option<Finding> {
    let lost = missing
        .iter()
        .find(|m| m.seq.is_some() && dups.iter().any(|d| d.seq == m.seq && d.id != m.id))?;
    let again = dups.iter().find(|d| d.seq == lost.seq && d.id != lost.id)?;
    Some(lost.finding(
        Kind::CrashRestarted,
        format!(
            "the line at {} (sequence {}) reached the JSONL but not the database (no events row, \
                never projected), then the daemon restarted: its counter was MAX(events.sequence) \
                = {}, so its next event ({}) reused sequence {}; nothing replays the lost line; \
                {REBUILD}; no event is lost (the JSONL has both); now {}",
            lost.place(),
            lost.seq(),
            lost.seq.map_or_else(|| "?".into(), |s| (s - 1).to_string()),
            again.place(),
            lost.seq(),
            restart_text(max, false)
        ),
    ))
}

fn temporary(t: &Tmp, missing: &[At], max: Option<i64>) -> Finding {
    let tmp = if t.appended { format!("{}.tmp", t.at.file) } else { t.at.file.clone() };
    if t.appended && missing.iter().any(|m| m.id == t.at.id) {
        return t.at.finding(
            Kind::CrashAfterAppend,
            format!(
                "the line at {} (sequence {}) was appended (its {tmp} is still there) but has no \
                    events row and is not projected: the daemon was killed after the append; {} \
                    (two lines will share it); {REBUILD}; no event is lost (the JSONL has it)",
                t.at.place(),
                t.at.seq(),
                restart_text(max, true)
            ),
        );
    }
    let f = if t.appended {
        Finding::new(
            Kind::CrashBeforeAppend,
            format!(
                "{tmp} is left beside a JSONL file whose \
            last line it already is, with its events row: the write completed but its temporary \
            was not removed; nothing is lost; {}",
                restart_text(max, false)
            ),
        )
    } else {
        Finding::new(
            Kind::CrashBeforeAppend,
            format!(
                "the line of event {} (sequence {}) is only in {tmp}, not in its JSONL file: the \
                    daemon was killed before the append, so its write never completed and the \
                    logs and database agree without it; {} (sequence {} is used again); a rebuild \
                    cannot recover it: it is lost unless appended by hand",
                t.at.id,
                t.at.seq(),
                restart_text(max, false),
                t.at.seq()
            ),
        )
    };
    f.key(format!("event_id={}", t.at.id)).file(tmp)
}

fn unsynced(missing: &[At], wal: &WalStatus, max: Option<i64>) -> Option<Finding> {
    let (first, last) = (missing.first()?, missing.last()?);
    let span = format!(
        "{} line(s), sequences {} to {}, from {}",
        missing.len(),
        first.seq(),
        last.seq(),
        first.place()
    );
    let recovery = format!(
        "{}; a rebuild from the JSONL projects them (their events rows are \
        lost for good: a rebuild writes none); no event is lost (the JSONL has them)",
        restart_text(max, true)
    );
    let f = match wal {
        WalStatus::Valid { committed: 0, .. } => first.finding(
            Kind::CrashPowerLoss,
            format!(
                "{span}: appended and synced to the JSONL, but their events rows and \
                projection are gone and the -wal holds its header only: the power was lost before \
                the WAL frames were synced (synchronous=NORMAL syncs no commit); {recovery}"
            ),
        ),
        WalStatus::Absent => first.finding(
            Kind::CrashBackupWithoutWal,
            format!(
                "{span}: in the JSONL without events rows or projection, no .tmp and no -wal: \
                the database was copied without its -wal (a naive backup); restore the -wal with \
                it if it still exists, else {recovery}"
            ),
        ),
        _ => return None,
    };
    Some(f)
}

fn after_events_row(db: &Connection, max: Option<i64>) -> Option<Finding> {
    let (id, ty): (String, String) = db
        .query_row("SELECT event_id, type FROM events ORDER BY sequence DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ok()?;
    let m = max?;
    // named only when its projection is seen to be missing: a message.create
    // whose message is not in the database (another row missing is a
    // row_missing like any other)
    if ty != "message.create" {
        return None;
    }
    let projected: Option<i64> = db
        .query_row(
            "SELECT 1 FROM messages WHERE message_id = (SELECT json_extract(event_json, \
                '$.message_id') FROM events WHERE event_id = ?1)",
            [&id],
            |r| r.get(0),
        )
        .ok();
    if projected.is_some() {
        return None;
    }
    Some(
        Finding::new(
            Kind::CrashAfterEventsRow,
            format!(
                "the last events row ({ty}, sequence {m}) is written but its projection is not \
                    (row_missing): the daemon was killed between the events row and the \
                    projection; a restarting v13 daemon takes {m} as its counter and replays \
                    nothing, so its next event gets sequence {} (none reused) and this event \
                    stays unprojected; {REBUILD}; no event is lost",
                m + 1
            ),
        )
        .table("events")
        .key(format!("event_id={id}")),
    )
}

#[cfg(test)]
mod tests {
    use super::last_line;

    /// A reader that gives at most 3 bytes a call, so lines span chunks.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(3).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn of(text: &[u8], max: u64) -> (u64, Option<Vec<u8>>) {
        let whole = last_line(text, max).unwrap();
        assert_eq!(last_line(Trickle(text), max).unwrap(), whole, "chunking changes nothing");
        whole
    }

    #[test]
    fn the_last_non_empty_line_with_its_physical_number() {
        assert_eq!(of(b"a\nbb\nccc\n", 10), (3, Some(b"ccc".to_vec())));
        assert_eq!(of(b"a\nbb\nccc", 10), (3, Some(b"ccc".to_vec())));
        assert_eq!(of(b"a\n\nbb\n\n\n", 10), (3, Some(b"bb".to_vec())));
        assert_eq!(of(b"", 10), (0, None));
        assert_eq!(of(b"\n\n", 10), (0, None));
    }

    #[test]
    fn bounded_lines_skip_the_rest_of_a_long_line() {
        let mut rd = std::io::BufReader::with_capacity(4, &b"ab\nmuch too long\ncd"[..]);
        let mut out = Vec::new();
        let mut seen = Vec::new();
        while super::bounded_line(&mut rd, &mut out, 5).unwrap() {
            seen.push(out.clone());
        }
        assert_eq!(seen, [b"ab".to_vec(), b"much t".to_vec(), b"cd".to_vec()]);
    }

    #[test]
    fn a_last_line_longer_than_the_bound_is_numbered_but_not_kept() {
        assert_eq!(of(b"short\nmuch too long\n", 8), (2, None));
        assert_eq!(of(b"much too long\nshort\n", 8), (2, Some(b"short".to_vec())));
    }
}
