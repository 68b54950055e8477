//! The `events` sync log: one row per distinct event id, equal to the
//! first line holding that id.

use super::first_difference;
use crate::compare::TableStats;
use crate::findings::{Finding, Findings, Kind, LIST_CEILING};
use crate::index::Pos;
use crate::value::{plain, Val};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use thrum_schemas::events::{is_message_event, Envelope};
use thrum_schemas::ids::shard_name;

/// The `events` table must hold exactly the JSONL events: one row per
/// distinct event id, equal to its first line. Each row is matched with its id's first line
/// by id and compared by signature (`stream::row_signature`); the
/// lines of rows that differ, and of events without a row, are read again
/// to report the details, one line and one row at a time.
///
/// Memory does not grow with the rows the lines do not explain: of the rows
/// without a line, the first [`LIST_CEILING`] are kept for the findings
/// list and the others only counted; of the rows that differ and the events
/// without a row, only their place and row id are kept (at most one per
/// event id of the index).
pub fn check_event_log(
    db: &Connection,
    idx: &crate::stream::Index,
    findings: &mut Findings,
) -> Result<TableStats, crate::error::InputError> {
    let mut st = TableStats::new("events", "event_log");
    let rows = match read_rows(db, idx) {
        Ok(rows) => rows,
        Err(e) => {
            findings.push(unreadable(&e));
            st.other = 1;
            return Ok(st);
        }
    };
    st.rows_db = rows.n;
    st.rows_expected = Some((idx.noid.len() + idx.ids.len()) as u64);
    let mut entries: Vec<(Pos, Entry)> = idx.noid.iter().map(|&p| (p, Entry::NoId)).collect();
    let missing = (0..idx.ids.len()).filter(|&i| !rows.matched[i]);
    entries.extend(missing.map(|i| (idx.ids[i].pos, Entry::Missing(i))));
    entries
        .extend(rows.differs.iter().map(|&(i, rowid)| (idx.ids[i].pos, Entry::Differs(i, rowid))));
    entries.sort_by_key(|(p, _)| *p);
    report_entries(db, idx, &entries, &mut st, findings)?;
    st.extra += rows.extras_total;
    let unlisted = rows.extras_total - rows.extras.len() as u64;
    report_extras(idx, rows.extras, findings)?;
    findings.count_unlisted(Kind::EventLogExtra, unlisted as usize);
    Ok(st)
}

fn unreadable(e: &rusqlite::Error) -> Finding {
    Finding::new(Kind::TableUnreadable, format!("cannot read the events table: {e}"))
        .table("events")
}

/// What a line without its row, or with a row that differs, is.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// An event without an event_id.
    NoId,
    /// The first line of id `ids[i]` has no row.
    Missing(usize),
    /// The row (by rowid) of id `ids[i]` differs from its first line.
    Differs(usize, i64),
}

/// Reports `entries` (sorted by place) in place order: the lines they need
/// are read again in that order ([`crate::stream::fetch_each`]) and the row
/// of each line that differs is read by its rowid when its line is.
fn report_entries(
    db: &Connection,
    idx: &crate::stream::Index,
    entries: &[(Pos, Entry)],
    st: &mut TableStats,
    findings: &mut Findings,
) -> Result<(), crate::error::InputError> {
    let sql =
        "SELECT event_json, type, timestamp, origin_daemon, sequence FROM events WHERE rowid = ?1";
    let (stmt, failed) = match db.prepare(sql) {
        Ok(stmt) => (Some(stmt), None),
        Err(e) => (None, Some(e)),
    };
    let mut r = Reporter { idx, stmt, failed, st, findings };
    let mut next = 0;
    let want = entries.iter().filter(|(_, e)| !matches!(e, Entry::NoId)).map(|(p, _)| *p);
    crate::stream::fetch_each(&idx.sources, want, |p, text, e| {
        while let Some(&(q, entry)) = entries.get(next).filter(|(q, _)| *q <= p) {
            next += 1;
            r.entry(q, entry, (q == p).then_some((text, &e.envelope)));
        }
        Ok(())
    })?;
    for &(q, entry) in &entries[next..] {
        r.entry(q, entry, None);
    }
    if let Some(e) = r.failed {
        r.st.other += 1;
        r.findings.push(unreadable(&e));
    }
    Ok(())
}

/// What reports the entries one at a time.
struct Reporter<'a, 'c> {
    idx: &'a crate::stream::Index,
    /// The statement reading a row by rowid (`None` when it cannot be prepared).
    stmt: Option<rusqlite::Statement<'c>>,
    /// Why a row could not be read again (the first reason).
    failed: Option<rusqlite::Error>,
    st: &'a mut TableStats,
    findings: &'a mut Findings,
}

impl Reporter<'_, '_> {
    /// The findings of `entry` at `p`, whose line (its text and envelope)
    /// is `line` when it could be read again.
    fn entry(&mut self, p: Pos, entry: Entry, line: Option<(&str, &Envelope)>) {
        let (idx, st) = (self.idx, &mut *self.st);
        let (rel, no) = (idx.rel(p), p.line());
        match entry {
            Entry::NoId => {
                st.missing += 1;
                self.findings.push(
                    Finding::new(
                        Kind::EventLogMissing,
                        "event without event_id cannot have an events row",
                    )
                    .table("events")
                    .at(rel, no),
                );
            }
            Entry::Missing(i) => {
                st.missing += 1;
                let ty = line.map_or("", |(_, env)| env.event_type.as_str());
                self.findings.push(
                    Finding::new(
                        Kind::EventLogMissing,
                        format!("{ty} has no row in the events table"),
                    )
                    .table("events")
                    .key(format!("event_id={}", idx.ids[i].key.text()))
                    .at(rel, no),
                );
            }
            Entry::Differs(i, rowid) => {
                let Some(stmt) = &mut self.stmt else { return };
                let row = stmt.query_row([rowid], |r| {
                    let v =
                        |k: usize| -> rusqlite::Result<Val> { Ok(Val::from_ref(r.get_ref(k)?)) };
                    Ok([v(0)?, v(1)?, v(2)?, v(3)?, v(4)?])
                });
                let row = match row {
                    Ok(row) => row,
                    Err(e) => {
                        self.failed.get_or_insert(e);
                        return;
                    }
                };
                let empty = Envelope::default();
                let (text, env) = line.unwrap_or(("", &empty));
                let diffs = row_diffs(text, env, row);
                if !diffs.is_empty() {
                    st.differing += 1;
                }
                let key = format!("event_id={}", idx.ids[i].key.text());
                for (col, exp, act) in diffs {
                    self.findings.push(
                        Finding::new(
                            Kind::EventLogDiffers,
                            "events row differs from its JSONL line",
                        )
                        .table("events")
                        .key(key.clone())
                        .column(col)
                        .values(exp, act)
                        .at(rel, no),
                    );
                }
            }
        }
    }
}

/// An `events` row with no line, as its finding shows it: its event_id,
/// its sequence and type as shown, and the file its line would belong in
/// with its sequence (when its event_json names them).
struct Extra {
    id: String,
    seq: String,
    ty: String,
    place: Option<(String, i64)>,
}

/// What reading the `events` table by id found: the rows read, which ids
/// have their row, the rows whose signature differs from their line's
/// (first line, rowid), the first [`LIST_CEILING`] rows with no line and
/// the number of those.
struct Rows {
    n: u64,
    matched: Vec<bool>,
    differs: Vec<(usize, i64)>,
    extras: Vec<Extra>,
    extras_total: u64,
}

/// Reads the `events` table in id order against the index of the lines;
/// returns the rows read and what they matched.
fn read_rows(db: &Connection, idx: &crate::stream::Index) -> rusqlite::Result<Rows> {
    use crate::index::{find, EventKey};
    let mut out = Rows {
        n: 0,
        matched: vec![false; idx.ids.len()],
        differs: Vec::new(),
        extras: Vec::new(),
        extras_total: 0,
    };
    let sql = "SELECT event_id, sequence, type, timestamp, origin_daemon, event_json, rowid FROM \
        events ORDER BY event_id";
    let mut stmt = db.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        out.n += 1;
        let hit = match r.get_ref(0)? {
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|id| find(&idx.ids, &EventKey::new(id), |x| &x.key)),
            _ => None,
        }
        .filter(|&i| !out.matched[i]);
        let v = |k: usize| -> rusqlite::Result<Val> { Ok(Val::from_ref(r.get_ref(k)?)) };
        let Some(i) = hit else {
            out.extras_total += 1;
            if out.extras.len() < LIST_CEILING {
                let seq = v(1)?;
                let json = match r.get_ref(5)? {
                    ValueRef::Text(t) => std::str::from_utf8(t).ok(),
                    _ => None,
                };
                let place =
                    seq.as_int().and_then(|s| Some((json.and_then(|j| rel_of(idx, j))?, s)));
                out.extras.push(Extra {
                    id: plain(&v(0)?),
                    seq: seq.to_string(),
                    ty: v(2)?.to_string(),
                    place,
                });
            }
            continue;
        };
        out.matched[i] = true;
        let sig = crate::stream::row_signature(
            &idx.hasher,
            [r.get_ref(5)?, r.get_ref(2)?, r.get_ref(3)?, r.get_ref(4)?, r.get_ref(1)?],
        );
        if sig != idx.ids[i].sig {
            out.differs.push((i, r.get(6)?));
        }
    }
    Ok(out)
}

/// How a row ([event_json, type, timestamp, origin_daemon, sequence])
/// differs from its line `text` with envelope `env`: (column, expected, found).
fn row_diffs(
    text: &str,
    env: &Envelope,
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
        diffs.push((
            "sequence",
            env.sequence.map_or("absent".into(), |s| s.to_string()),
            seq.to_string(),
        ));
    }
    diffs
}

/// Each `events` row with no line (of those kept), with where its line would belong.
fn report_extras(
    idx: &crate::stream::Index,
    extras: Vec<Extra>,
    findings: &mut Findings,
) -> Result<(), crate::error::InputError> {
    let places = positions(idx, &extras)?;
    for (Extra { id, seq, ty, place }, at) in extras.into_iter().zip(places) {
        let mut f = Finding::new(
            Kind::EventLogExtra,
            format!("events row (sequence {seq}, type {ty}) has no JSONL line"),
        )
        .table("events")
        .key(format!("event_id={id}"));
        if let (Some((rel, _)), Some((line, after))) = (place, at) {
            f.message.push_str(&format!("; it belongs in {rel} at line {line} ({after})"));
            f = f.file(rel).line(line);
        }
        findings.push(f);
    }
    Ok(())
}

/// The file the line of an `events` row with `event_json` would be in:
/// the author's shard for message events, else `events.jsonl` (`None` when
/// the JSON does not name them).
fn rel_of(idx: &crate::stream::Index, event_json: &str) -> Option<String> {
    let v = serde_json::from_str::<Value>(event_json).ok()?;
    let ty = v.get("type").and_then(Value::as_str)?;
    if !is_message_event(ty) {
        return Some(".thrum/events.jsonl".to_string());
    }
    let mid = v.get("message_id").and_then(Value::as_str).unwrap_or("");
    let shard = if ty == "message.create" {
        v.get("agent_id").and_then(Value::as_str).map(shard_name)
    } else {
        idx.first_create(mid).map(|c| idx.names[c.own as usize].clone())
    }?;
    Some(format!(".thrum/messages/{shard}.jsonl"))
}

/// Where the line of each `events` row of `extras` with a place would be:
/// in its file (the author's shard for message events, else `events.jsonl`),
/// the line after the last event of that file with a smaller sequence
/// (the one with the highest line among those of that sequence), or line 1.
///
/// Each file the rows name is read once, its events streamed against the
/// sorted sequences of its rows: what is held grows with the rows (at
/// most [`LIST_CEILING`]), never with the lines of a file.
fn positions(
    idx: &crate::stream::Index,
    extras: &[Extra],
) -> Result<Vec<Option<(u64, String)>>, crate::error::InputError> {
    let mut by_rel: HashMap<&str, usize> = HashMap::new();
    for (i, s) in idx.sources.iter().enumerate() {
        by_rel.entry(s.rel.as_str()).or_insert(i);
    }
    // per file the rows name: (sequence, row) of those rows
    let mut wanted: BTreeMap<&str, Vec<(i64, usize)>> = BTreeMap::new();
    for (k, e) in extras.iter().enumerate() {
        if let Some((rel, seq)) = &e.place {
            wanted.entry(rel.as_str()).or_default().push((*seq, k));
        }
    }
    let mut out: Vec<Option<(u64, String)>> = vec![None; extras.len()];
    for (rel, mut rows) in wanted {
        rows.sort_unstable();
        // best[k]: the greatest (sequence, line) of the lines whose
        // sequence is below rows[k]'s and not below rows[k - 1]'s
        let mut best: Vec<Option<(i64, u64)>> = vec![None; rows.len()];
        if let Some(&fi) = by_rel.get(rel) {
            let src = &idx.sources[fi];
            let mut r = crate::stream::EventReader::open(src)?;
            while let Some((line, _, e)) = r.next(&src.path)? {
                let Some(s) = e.envelope.sequence else { continue };
                let k = rows.partition_point(|&(seq, _)| seq <= s);
                if let Some(b) = best.get_mut(k) {
                    *b = (*b).max(Some((s, line)));
                }
            }
        }
        let mut before: Option<(i64, u64)> = None;
        for (&(_, row), b) in rows.iter().zip(best) {
            before = before.max(b);
            out[row] = Some(match before {
                Some((s, line)) => (line + 1, format!("after line {line} with sequence {s}")),
                None => (1, "before every other event of the file".to_string()),
            });
        }
    }
    Ok(out)
}
