//! The `events` sync log: one row per distinct event id, equal to the
//! first line holding that id.

use super::first_difference;
use crate::compare::TableStats;
use crate::findings::{Finding, Findings, Kind};
use crate::value::{plain, Val};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::HashMap;
use thrum_schemas::events::is_message_event;
use thrum_schemas::ids::shard_name;

/// The `events` table must hold exactly the JSONL events: one row per
/// distinct event id, equal to its first line. Each row is matched with its id's first line
/// by id and compared by signature ([`crate::stream::row_signature`]); the
/// lines of rows that differ, and of events without a row, are read again
/// to report the details.
pub fn check_event_log(
    db: &Connection,
    idx: &crate::stream::Index,
    findings: &mut Findings,
) -> Result<TableStats, crate::error::InputError> {
    use crate::index::Pos;
    let mut st = TableStats::new("events", "event_log");
    let streamed = read_rows(db, idx);
    let Rows { matched, differs, extras } = match streamed {
        Ok((n, rows)) => {
            st.rows_db = n;
            rows
        }
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the events table: {e}")).table("events"));
            st.other = 1;
            return Ok(st);
        }
    };
    let missing: Vec<usize> = (0..idx.ids.len()).filter(|&i| !matched[i]).collect();
    // the type of events without a row; the line and envelope of those whose row differs
    let types = crate::stream::fetch(&idx.sources, missing.iter().map(|&i| idx.ids[i].pos), |_, e| e.envelope.event_type)?;
    let lines = crate::stream::fetch(&idx.sources, differs.iter().map(|(i, _)| idx.ids[*i].pos), |t, e| (t.to_owned(), e.envelope))?;
    enum Entry {
        NoId,
        Missing(usize),
        Differs(usize, [Val; 5]),
    }
    let mut entries: Vec<(Pos, Entry)> = idx.noid.iter().map(|&p| (p, Entry::NoId)).collect();
    entries.extend(missing.into_iter().map(|i| (idx.ids[i].pos, Entry::Missing(i))));
    entries.extend(differs.into_iter().map(|(i, v)| (idx.ids[i].pos, Entry::Differs(i, v))));
    entries.sort_by_key(|(p, _)| *p);
    st.rows_expected = Some((idx.noid.len() + idx.ids.len()) as u64);
    let empty = (String::new(), thrum_schemas::events::Envelope::default());
    for (p, entry) in entries {
        let (rel, line) = (idx.rel(p), p.line());
        match entry {
            Entry::NoId => {
                st.missing += 1;
                findings.push(
                    Finding::new(Kind::EventLogMissing, "event without event_id cannot have an events row").table("events").at(rel, line),
                );
            }
            Entry::Missing(i) => {
                st.missing += 1;
                let ty = types.get(&p).map_or("", String::as_str);
                findings.push(
                    Finding::new(Kind::EventLogMissing, format!("{ty} has no row in the events table"))
                        .table("events")
                        .key(format!("event_id={}", idx.ids[i].key.text()))
                        .at(rel, line),
                );
            }
            Entry::Differs(i, row) => {
                let (text, env) = lines.get(&p).unwrap_or(&empty);
                let diffs = row_diffs(text, env, row);
                if !diffs.is_empty() {
                    st.differing += 1;
                }
                let key = format!("event_id={}", idx.ids[i].key.text());
                for (col, exp, act) in diffs {
                    findings.push(
                        Finding::new(Kind::EventLogDiffers, "events row differs from its JSONL line")
                            .table("events")
                            .key(key.clone())
                            .column(col)
                            .values(exp, act)
                            .at(rel, line),
                    );
                }
            }
        }
    }
    st.extra += extras.len() as u64;
    report_extras(idx, extras, findings)?;
    Ok(st)
}

/// An `events` row with no line: (event_id, sequence, type, event_json).
type Extra = (String, Val, Val, Option<String>);

/// What reading the `events` table by id found: which ids have their row,
/// the rows whose signature differs from their line's (first line,
/// [event_json, type, timestamp, origin_daemon, sequence]) and the rows
/// with no line.
struct Rows {
    matched: Vec<bool>,
    differs: Vec<(usize, [Val; 5])>,
    extras: Vec<Extra>,
}

/// Reads the `events` table in id order against the index of the lines;
/// returns the rows read and what they matched.
fn read_rows(db: &Connection, idx: &crate::stream::Index) -> rusqlite::Result<(u64, Rows)> {
    use crate::index::{find, EventKey};
    let mut out = Rows { matched: vec![false; idx.ids.len()], differs: Vec::new(), extras: Vec::new() };
    let mut stmt = db.prepare("SELECT event_id, sequence, type, timestamp, origin_daemon, event_json FROM events ORDER BY event_id")?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        n += 1;
        let hit = match r.get_ref(0)? {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|id| find(&idx.ids, &EventKey::new(id), |x| &x.key)),
            _ => None,
        }
        .filter(|&i| !out.matched[i]);
        let v = |k: usize| -> rusqlite::Result<Val> { Ok(Val::from_ref(r.get_ref(k)?)) };
        let Some(i) = hit else {
            out.extras.push((plain(&v(0)?), v(1)?, v(2)?, v(5)?.as_str().map(str::to_owned)));
            continue;
        };
        out.matched[i] = true;
        let sig = crate::stream::row_signature(&idx.hasher, [r.get_ref(5)?, r.get_ref(2)?, r.get_ref(3)?, r.get_ref(4)?, r.get_ref(1)?]);
        if sig != idx.ids[i].sig {
            out.differs.push((i, [v(5)?, v(2)?, v(3)?, v(4)?, v(1)?]));
        }
    }
    Ok((n, out))
}

/// How a row ([event_json, type, timestamp, origin_daemon, sequence])
/// differs from its line `text` with envelope `env`: (column, expected, found).
fn row_diffs(
    text: &str,
    env: &thrum_schemas::events::Envelope,
    [json, ty, time, origin, seq]: [Val; 5],
) -> Vec<(&'static str, String, String)> {
    let bytes = |v: &Val| -> Option<Vec<u8>> {
        match v {
            Val::Text(s) => Some(s.as_bytes().to_vec()),
            Val::BadText(b) => Some(b.clone()),
            _ => None,
        }
    };
    let mut diffs: Vec<(&'static str, String, String)> = Vec::new();
    match bytes(&json) {
        Some(b) if b == text.as_bytes() => {}
        Some(b) => diffs.push((
            "event_json",
            "the JSONL line byte for byte".into(),
            first_difference(text, &String::from_utf8_lossy(&b), ("line", "event_json")),
        )),
        None => diffs.push(("event_json", "the JSONL line byte for byte".into(), json.to_string())),
    }
    if bytes(&ty).as_deref() != Some(env.event_type.as_bytes()) {
        diffs.push(("type", format!("{:?}", env.event_type), ty.to_string()));
    }
    if bytes(&time).as_deref() != Some(env.timestamp.as_bytes()) {
        diffs.push(("timestamp", format!("{:?}", env.timestamp), time.to_string()));
    }
    let o = env.origin_daemon.as_deref().unwrap_or("");
    if bytes(&origin).as_deref() != Some(o.as_bytes()) {
        diffs.push(("origin_daemon", format!("{o:?}"), origin.to_string()));
    }
    let seq_ok = matches!((env.sequence, &seq), (Some(s), Val::Int(x)) if s == *x);
    if !seq_ok {
        diffs.push(("sequence", env.sequence.map_or("absent".into(), |s| s.to_string()), seq.to_string()));
    }
    diffs
}

/// Each `events` row with no line, with where its line would belong.
fn report_extras(idx: &crate::stream::Index, extras: Vec<Extra>, findings: &mut Findings) -> Result<(), crate::error::InputError> {
    let mut positions = Positions::new(idx);
    for (id, seq, ty, json) in extras {
        let mut f = Finding::new(Kind::EventLogExtra, format!("events row (sequence {seq}, type {ty}) has no JSONL line"))
            .table("events")
            .key(format!("event_id={id}"));
        let place = match json.as_deref() {
            Some(j) => positions.expected(j, seq.as_int())?,
            None => None,
        };
        if let Some((rel, line, after)) = place {
            f.message.push_str(&format!("; it belongs in {rel} at line {line} ({after})"));
            f = f.file(rel).line(line);
        }
        findings.push(f);
    }
    Ok(())
}

/// Where the line of an `events` row would be: its file (the author's shard
/// for message events, else `events.jsonl`) and the line after the last
/// event of that file with a smaller sequence. Each file's sequences are
/// read (once) when a row needs them.
struct Positions<'a> {
    idx: &'a crate::stream::Index,
    by_rel: HashMap<&'a str, usize>,
    /// Per file: (sequence, line) of its events, sorted.
    seqs: HashMap<usize, Vec<(i64, u64)>>,
}

impl<'a> Positions<'a> {
    fn new(idx: &'a crate::stream::Index) -> Positions<'a> {
        let mut by_rel = HashMap::new();
        for (i, s) in idx.sources.iter().enumerate() {
            by_rel.entry(s.rel.as_str()).or_insert(i);
        }
        Positions { idx, by_rel, seqs: HashMap::new() }
    }

    fn expected(&mut self, event_json: &str, seq: Option<i64>) -> Result<Option<(String, u64, String)>, crate::error::InputError> {
        let Ok(v) = serde_json::from_str::<Value>(event_json) else { return Ok(None) };
        let Some(ty) = v.get("type").and_then(Value::as_str) else { return Ok(None) };
        let rel = if is_message_event(ty) {
            let mid = v.get("message_id").and_then(Value::as_str).unwrap_or("");
            let shard = if ty == "message.create" {
                v.get("agent_id").and_then(Value::as_str).map(shard_name)
            } else {
                self.idx.first_create(mid).map(|c| self.idx.names[c.own as usize].clone())
            };
            let Some(shard) = shard else { return Ok(None) };
            format!(".thrum/messages/{shard}.jsonl")
        } else {
            ".thrum/events.jsonl".to_string()
        };
        let Some(seq) = seq else { return Ok(None) };
        let before = match self.by_rel.get(rel.as_str()) {
            None => None,
            Some(&fi) => {
                if !self.seqs.contains_key(&fi) {
                    let src = &self.idx.sources[fi];
                    let mut r = crate::stream::EventReader::open(src)?;
                    let mut list = Vec::new();
                    while let Some((line, _, e)) = r.next(&src.path)? {
                        if let Some(s) = e.envelope.sequence {
                            list.push((s, line));
                        }
                    }
                    list.sort_unstable();
                    self.seqs.insert(fi, list);
                }
                let list = &self.seqs[&fi];
                let n = list.partition_point(|&(s, _)| s < seq);
                (n > 0).then(|| list[n - 1])
            }
        };
        Ok(Some(match before {
            Some((s, line)) => (rel, line + 1, format!("after line {line} with sequence {s}")),
            None => (rel, 1, "before every other event of the file".to_string()),
        }))
    }
}
