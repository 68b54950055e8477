//! Where the daemon's own rebuild would stop (docs/FORMAT.md section 4b).
//!
//! The daemon rebuilds its database by applying every event in replay order
//! and stops at the first event whose apply fails: nothing after it is
//! projected. verify's projection keeps going, so that it can name every row
//! difference, but it also records each event the daemon would stop at
//! (a [`Candidate`]), and the report names the earliest one in replay order
//! as a `rebuild_aborts` finding with the rule and the number of events the
//! daemon would then leave unprojected.
//!
//! Candidates come from two places: the replay (an apply that fails or
//! refers to something missing, [`Rule`] 2 to 7) and the JSONL reader (a JSON
//! object whose payload does not decode into its type's fields, rule 1). The
//! number of events after the earliest one is counted by reading the event
//! files once more ([`count_after`]): only when there is a candidate, in
//! bounded memory.

use crate::error::InputError;
use crate::findings::{Finding, Kind};
use crate::jsonl::{EventFile, MAX_LINE_BYTES};
use crate::lines::{Line, LineReader};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why the daemon's apply of an event fails (the cases of section 4b).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// 1: the payload does not decode into the event type's fields.
    PayloadUndecodable,
    /// 2: `message.create` repeats a `message_id` or lists a scope or ref twice.
    MessageCreateDuplicate,
    /// 3: `message.edit` of a message that does not exist.
    EditOfMissingMessage,
    /// 4: `thread.create` repeats a `thread_id`.
    ThreadCreateDuplicate,
    /// 4: `thread.create` into a database without a `threads` table.
    ThreadCreateNoTable,
    /// 5: `agent.session.start` repeats a `session_id`.
    SessionStartDuplicate,
    /// 6: `group.member.add` to a group that does not exist.
    MemberAddToMissingGroup,
    /// 7: `agent.update` with a work context whose session does not exist.
    WorkContextOfMissingSession,
    /// Any other failed apply (a constraint of the schema).
    OtherConstraint,
}

impl Rule {
    /// The rule in words.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::PayloadUndecodable => {
                "its payload does not decode into the fields of its event \
                type (rule 1)"
            }
            Rule::MessageCreateDuplicate => {
                "message.create repeats an existing message_id or \
                lists the same scope or ref twice (rule 2)"
            }
            Rule::EditOfMissingMessage => {
                "message.edit names a message that does not exist (rule \
                3)"
            }
            Rule::ThreadCreateDuplicate => "thread.create repeats an existing thread_id (rule 4)",
            Rule::ThreadCreateNoTable => {
                "thread.create needs the threads table, which a database \
                migrated from v5 does not have (rule 4)"
            }
            Rule::SessionStartDuplicate => {
                "agent.session.start repeats an existing session_id \
                (rule 5)"
            }
            Rule::MemberAddToMissingGroup => {
                "group.member.add names a group that does not exist \
                (rule 6)"
            }
            Rule::WorkContextOfMissingSession => {
                "agent.update carries a work context whose \
                session does not exist (rule 7)"
            }
            Rule::OtherConstraint => "the database rejects the event (a constraint of the schema)",
        }
    }
}

/// An event at which the daemon's rebuild would stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub timestamp: String,
    pub event_id: String,
    /// The event file (relative path, as in findings) and 1-based line.
    pub rel: String,
    pub line: u64,
    pub event_type: String,
    pub rule: Rule,
    /// What exactly failed (the database's or the decoder's message).
    pub detail: String,
}

/// The place of each event file in the reader's order, by relative path:
/// looked up in constant time, so that keeping the earliest of one
/// candidate per file stays linear in the number of files.
#[derive(Debug, Default)]
pub struct FileOrder<'a>(HashMap<&'a str, usize>);

impl<'a> FileOrder<'a> {
    /// The order of `rels`, the relative paths in the reader's order (a
    /// path listed twice keeps its first place).
    pub fn new(rels: impl IntoIterator<Item = &'a str>) -> FileOrder<'a> {
        let mut map = HashMap::new();
        for (i, rel) in rels.into_iter().enumerate() {
            map.entry(rel).or_insert(i);
        }
        FileOrder(map)
    }
    /// The place of `rel`; a file not listed comes after every listed one.
    fn place(&self, rel: &str) -> usize {
        self.0.get(rel).copied().unwrap_or(usize::MAX)
    }
}

impl Candidate {
    /// Replay order: (timestamp, event_id) as byte strings, ties in file
    /// order, then line order.
    fn cmp_in(&self, other: &Candidate, files: &FileOrder) -> Ordering {
        (self.timestamp.as_bytes(), self.event_id.as_bytes(), files.place(&self.rel), self.line)
            .cmp(&(
                other.timestamp.as_bytes(),
                other.event_id.as_bytes(),
                files.place(&other.rel),
                other.line,
            ))
    }
}

/// Keeps the earlier of `slot` and `c` in replay order. Candidates of one
/// file need no listed order (`FileOrder::default()`).
pub fn keep_earliest(slot: &mut Option<Candidate>, c: Candidate, files: &FileOrder) {
    match slot {
        Some(s) if s.cmp_in(&c, files) != Ordering::Greater => {}
        _ => *slot = Some(c),
    }
}

/// The sort key of a line as the daemon reads it for a rebuild: a JSON object
/// whose `timestamp` and `event_id` are strings or absent (absent reads as
/// `""`). Anything else is not an event of the rebuild (it is skipped).
pub fn sort_key(line: &[u8]) -> Option<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let o = v.as_object()?;
    let field = |k: &str| match o.get(k) {
        None => Some(String::new()),
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    };
    Some((field("timestamp")?, field("event_id")?, field("type")?))
}

/// A rule-1 candidate from a line whose payload did not decode, when the line
/// is an event of the rebuild at all (see [`sort_key`]).
pub fn undecodable(line: &[u8], rel: &str, no: u64, detail: String) -> Option<Candidate> {
    let (timestamp, event_id, event_type) = sort_key(line)?;
    Some(Candidate {
        timestamp,
        event_id,
        rel: rel.to_owned(),
        line: no,
        event_type,
        rule: Rule::PayloadUndecodable,
        detail,
    })
}

/// Counts the events of the rebuild that come after `c` in replay order,
/// reading `files` (paths with their relative names, in the reader's order)
/// once more, line by line, each read as the daemon reads it
/// ([`crate::jsonl::daemon_text`]). Lines longer than `limit` are not events
/// (the reader skips them too).
pub fn count_after(files: &[(&Path, &str)], c: &Candidate, limit: usize) -> std::io::Result<u64> {
    let rels: Vec<&str> = files.iter().map(|(_, r)| *r).collect();
    let c_file = rels.iter().position(|r| *r == c.rel).unwrap_or(usize::MAX);
    let mut n = 0u64;
    for (fi, (path, _)) in files.iter().enumerate() {
        let mut reader = LineReader::open(path, limit)?;
        while let Some(l) = reader.next_line()? {
            let Line::Held(range) = l.line else { continue };
            let (text, _) = crate::jsonl::daemon_text(reader.held(range));
            let Some((ts, id, _)) = sort_key(text.as_bytes()) else { continue };
            let later = (ts.as_bytes(), id.as_bytes(), fi, l.no)
                > (c.timestamp.as_bytes(), c.event_id.as_bytes(), c_file, c.line);
            n += later as u64;
        }
    }
    Ok(n)
}

/// The `rebuild_aborts` finding for the earliest candidate. After a
/// migration from v5 the missing `threads` table is a documented
/// consequence of step 11→12: that case is `rebuild_aborts_after_migration`,
/// a warning.
pub fn finding(c: &Candidate, after: u64) -> Finding {
    let kind = if c.rule == Rule::ThreadCreateNoTable {
        Kind::RebuildAbortsAfterMigration
    } else {
        Kind::RebuildAborts
    };
    Finding::new(
        kind,
        format!(
            "the daemon's rebuild stops at this {} event: {}; the {after} event(s) after it in \
                replay order would not be projected ({})",
            c.event_type,
            c.rule.describe(),
            c.detail
        ),
    )
    .at(c.rel.clone(), c.line)
    .key(format!("event_id={}", c.event_id))
    .actual(format!("{after} events not projected"))
}

/// The `rebuild_aborts` finding of one verification, if the daemon's rebuild
/// would stop: the earliest, in replay order, of the replay's first failing
/// event and each file's first undecodable line. `files` are the event files
/// in the reader's order, their `rel` paths relative to `base`.
pub fn report(
    replay_abort: Option<&Candidate>,
    files: &[EventFile],
    base: &Path,
) -> Result<Option<Finding>, InputError> {
    let rels: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
    let order = FileOrder::new(rels.iter().copied());
    let mut first: Option<Candidate> = replay_abort.cloned();
    for f in files {
        if let Some(c) = &f.undecodable {
            keep_earliest(&mut first, c.clone(), &order);
        }
    }
    let Some(c) = first else { return Ok(None) };
    let paths: Vec<PathBuf> = files.iter().map(|f| base.join(&f.rel)).collect();
    let list: Vec<(&Path, &str)> =
        paths.iter().map(PathBuf::as_path).zip(rels.iter().copied()).collect();
    let after = count_after(&list, &c, MAX_LINE_BYTES).map_err(|e| InputError::io(base, e))?;
    Ok(Some(finding(&c, after)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(ts: &str, id: &str, rel: &str, line: u64) -> Candidate {
        Candidate {
            timestamp: ts.into(),
            event_id: id.into(),
            rel: rel.into(),
            line,
            event_type: "x".into(),
            rule: Rule::OtherConstraint,
            detail: String::new(),
        }
    }

    #[test]
    fn earliest_follows_replay_order() {
        let files = FileOrder::new([".thrum/events.jsonl", ".thrum/messages/a.jsonl"]);
        let mut slot = None;
        keep_earliest(&mut slot, cand("2", "a", ".thrum/events.jsonl", 1), &files);
        keep_earliest(&mut slot, cand("1", "z", ".thrum/messages/a.jsonl", 9), &files);
        assert_eq!(slot.as_ref().unwrap().timestamp, "1");
        // same key: file order, then line order
        keep_earliest(&mut slot, cand("1", "z", ".thrum/events.jsonl", 20), &files);
        assert_eq!(slot.as_ref().unwrap().rel, ".thrum/events.jsonl");
        keep_earliest(&mut slot, cand("1", "z", ".thrum/events.jsonl", 3), &files);
        assert_eq!(slot.as_ref().unwrap().line, 3);
        keep_earliest(&mut slot, cand("1", "z", ".thrum/events.jsonl", 4), &files);
        assert_eq!(slot.as_ref().unwrap().line, 3);
        // a file not listed comes after every listed one; a path listed twice keeps its first place
        let files = FileOrder::new(["b", "a", "b"]);
        let mut slot = Some(cand("1", "z", "unlisted", 1));
        keep_earliest(&mut slot, cand("1", "z", "b", 9), &files);
        keep_earliest(&mut slot, cand("1", "z", "a", 2), &files);
        assert_eq!((slot.as_ref().unwrap().rel.as_str(), slot.as_ref().unwrap().line), ("b", 9));
        // one file, no listed order: line order
        let one = FileOrder::default();
        let mut slot = Some(cand("1", "z", "a", 7));
        keep_earliest(&mut slot, cand("1", "z", "a", 5), &one);
        keep_earliest(&mut slot, cand("1", "z", "a", 6), &one);
        assert_eq!(slot.as_ref().unwrap().line, 5);
    }

    #[test]
    fn sort_key_reads_objects_only() {
        assert_eq!(
            sort_key(br#"{"timestamp":"t","event_id":"e","type":"x","n":1}"#),
            Some(("t".into(), "e".into(), "x".into()))
        );
        assert_eq!(sort_key(br#"{"type":"x"}"#), Some((String::new(), String::new(), "x".into())));
        assert_eq!(sort_key(br#"{"timestamp":5}"#), None);
        assert_eq!(sort_key(b"[1]"), None);
        assert_eq!(sort_key(b"{broken"), None);
    }

    #[test]
    fn counts_the_events_after_a_candidate() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.jsonl");
        std::fs::write(
            &a,
            "{\"timestamp\":\"1\",\"event_id\":\"a\"}\n{\"timestamp\":\"3\",\"event\
            _id\":\"c\"}\nnot json\n\n",
        )
        .unwrap();
        std::fs::write(
            &b,
            "{\"timestamp\":\"2\",\"event_id\":\"b\"}\n{\"timestamp\":\"3\",\"event\
            _id\":\"c\"}\n{\"timestamp\":\"4\"}\n",
        )
        .unwrap();
        let files = [(a.as_path(), "a"), (b.as_path(), "b")];
        assert_eq!(count_after(&files, &cand("1", "a", "a", 1), 1 << 20).unwrap(), 4);
        assert_eq!(count_after(&files, &cand("2", "b", "b", 1), 1 << 20).unwrap(), 3);
        // equal keys: the one in the later file comes after
        assert_eq!(count_after(&files, &cand("3", "c", "a", 2), 1 << 20).unwrap(), 2);
        assert_eq!(count_after(&files, &cand("3", "c", "b", 2), 1 << 20).unwrap(), 1);
        assert_eq!(count_after(&files, &cand("4", "", "b", 3), 1 << 20).unwrap(), 0);
    }
}
