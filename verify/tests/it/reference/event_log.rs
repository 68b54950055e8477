//! The `events` table against the lines (docs/FORMAT.md section 5), and the
//! shards that database messages without a line point to.

use super::{Loaded, LoadedEvent};
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use thrum_schemas::events::{is_message_event, Payload};
use thrum_schemas::ids::shard_name;
use verify::internals::{first_difference, plain, Val};
use verify::TableStats;
use verify::Tree;
use verify::{Finding, Findings, Kind};

/// The `events` table must hold exactly the JSONL events (section 5: one
/// row per event, its `event_json` the line's text): every row is read,
/// each event id's first line in file order is looked up among them, and
/// what is left over is extra.
pub fn check_event_log(db: &Connection, loaded: &Loaded, findings: &mut Findings) -> TableStats {
    let mut st = TableStats::new("events", "event_log");
    let rows = match read_event_rows(db) {
        Ok(rows) => rows,
        Err(e) => {
            findings.push(
                Finding::new(Kind::TableUnreadable, format!("cannot read the events table: {e}"))
                    .table("events"),
            );
            st.other = 1;
            return st;
        }
    };
    st.rows_db = rows.len() as u64;
    // each event id's row: the first row (in key order) of that text id
    let mut row_of: HashMap<&str, usize> = HashMap::new();
    for (r, row) in rows.iter().enumerate() {
        if let Val::Text(id) = &row[0] {
            row_of.entry(id.as_str()).or_insert(r);
        }
    }
    let mut used = vec![false; rows.len()];
    let mut seen: HashSet<&str> = HashSet::new();
    let mut expected = 0u64;
    for e in &loaded.events {
        let Some(id) = e.event.envelope.event_id.as_deref() else {
            expected += 1;
            st.missing += 1;
            let f = Finding::new(
                Kind::EventLogMissing,
                "event without event_id cannot have an events row",
            )
            .table("events");
            findings.push(loaded.at(e, f));
            continue;
        };
        if !seen.insert(id) {
            continue; // a repeated line, reported as event_id_duplicate
        }
        expected += 1;
        let key = format!("event_id={id}");
        let Some(&r) = row_of.get(id) else {
            st.missing += 1;
            let f = Finding::new(
                Kind::EventLogMissing,
                format!("{} has no row in the events table", e.event_type()),
            )
            .table("events")
            .key(key);
            findings.push(loaded.at(e, f));
            continue;
        };
        used[r] = true;
        let diffs = row_differences(e, &rows[r]);
        st.differing += u64::from(!diffs.is_empty());
        for (col, want, have) in diffs {
            let f = Finding::new(Kind::EventLogDiffers, "events row differs from its JSONL line")
                .table("events");
            findings.push(loaded.at(e, f.key(key.clone()).column(col).values(want, have)));
        }
    }
    st.rows_expected = Some(expected);
    for (row, _) in rows.iter().zip(&used).filter(|(_, u)| !**u) {
        st.extra += 1;
        let [id, seq, ty, _, _, json] = row;
        let mut f = Finding::new(
            Kind::EventLogExtra,
            format!("events row (sequence {seq}, type {ty}) has no JSONL line"),
        )
        .table("events")
        .key(format!("event_id={}", plain(id)));
        let json = match json {
            Val::Text(t) => Some(t.as_str()),
            _ => None,
        };
        if let Some((rel, line, after)) =
            json.and_then(|j| expected_position(loaded, j, seq.as_int()))
        {
            f.message.push_str(&format!("; it belongs in {rel} at line {line} ({after})"));
            f = f.file(rel).line(line);
        }
        findings.push(f);
    }
    st
}

/// Every row of the `events` table in key order: event_id, sequence, type,
/// timestamp, origin_daemon, event_json.
fn read_event_rows(db: &Connection) -> rusqlite::Result<Vec<[Val; 6]>> {
    let mut stmt = db.prepare(
        "SELECT event_id, sequence, type, timestamp, origin_daemon, \
        event_json FROM events ORDER BY event_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let v = |k: usize| -> rusqlite::Result<Val> { Ok(Val::from_ref(r.get_ref(k)?)) };
        Ok([v(0)?, v(1)?, v(2)?, v(3)?, v(4)?, v(5)?])
    })?;
    rows.collect()
}

/// The columns of `row` that are not what the line says: (column, expected,
/// found). `event_json` is the line byte for byte; `type`, `timestamp` and
/// `origin_daemon` (empty when the line has none) its envelope's text;
/// `sequence` its integer.
fn row_differences(e: &LoadedEvent, row: &[Val; 6]) -> Vec<(&'static str, String, String)> {
    let env = &e.event.envelope;
    let bytes = |v: &Val| -> Option<Vec<u8>> {
        match v {
            Val::Text(t) => Some(t.as_bytes().to_vec()),
            Val::BadText(b) => Some(b.clone()),
            _ => None,
        }
    };
    let mut out = Vec::new();
    let json = bytes(&row[5]);
    if json.as_deref() != Some(e.text.as_bytes()) {
        let have = match &json {
            Some(b) => {
                first_difference(&e.text, &String::from_utf8_lossy(b), ("line", "event_json"))
            }
            None => row[5].to_string(),
        };
        out.push(("event_json", "the JSONL line byte for byte".to_string(), have));
    }
    let origin = env.origin_daemon.as_deref().unwrap_or("");
    for (col, k, want) in [
        ("type", 2, env.event_type.as_str()),
        ("timestamp", 3, env.timestamp.as_str()),
        ("origin_daemon", 4, origin),
    ] {
        if bytes(&row[k]).as_deref() != Some(want.as_bytes()) {
            out.push((col, format!("{want:?}"), row[k].to_string()));
        }
    }
    if !matches!((env.sequence, &row[1]), (Some(s), Val::Int(x)) if s == *x) {
        out.push((
            "sequence",
            env.sequence.map_or("absent".into(), |s| s.to_string()),
            row[1].to_string(),
        ));
    }
    out
}

/// Where the line of an `events` row would be: its file (the author's shard
/// for message events, else `events.jsonl`) and the line after the last
/// event of that file with a smaller sequence.
fn expected_position(
    loaded: &Loaded,
    event_json: &str,
    seq: Option<i64>,
) -> Option<(String, u64, String)> {
    let v: Value = serde_json::from_str(event_json).ok()?;
    let ty = v.get("type").and_then(Value::as_str)?;
    let rel = if is_message_event(ty) {
        let mid = v.get("message_id").and_then(Value::as_str).unwrap_or("");
        let author = if ty == "message.create" {
            v.get("agent_id").and_then(Value::as_str).map(str::to_owned)
        } else {
            loaded.events.iter().find_map(|e| match &e.event.payload {
                Payload::MessageCreate(m) if m.message_id == mid => Some(m.agent_id.clone()),
                _ => None,
            })
        }?;
        format!(".thrum/messages/{}.jsonl", shard_name(&author))
    } else {
        ".thrum/events.jsonl".to_string()
    };
    let seq = seq?;
    let file = loaded.files.iter().position(|f| f.rel == rel);
    let before = file.and_then(|fi| {
        loaded
            .events
            .iter()
            .filter(|e| e.file == fi && e.event.envelope.sequence.is_some_and(|s| s < seq))
            .max_by_key(|e| e.event.envelope.sequence)
    });
    Some(match before {
        Some(e) => (
            rel,
            e.line + 1,
            format!(
                "after line {} with sequence {}",
                e.line,
                e.event.envelope.sequence.unwrap_or(0)
            ),
        ),
        None => (rel, 1, "before every other event of the file".to_string()),
    })
}

/// Database messages whose `message.create` is in no JSONL file and whose
/// author's shard (`messages/{shard_name(agent_id)}.jsonl`, or the one of
/// `authored_by`) does not exist: one `shard_missing` per absent shard file,
/// naming it and the agent, with the number of messages it should hold.
pub fn check_shards(tree: &Tree, db: &Connection, loaded: &Loaded, findings: &mut Findings) {
    let created: HashSet<&str> = loaded
        .events
        .iter()
        .filter_map(|e| match &e.event.payload {
            Payload::MessageCreate(m) => Some(m.message_id.as_str()),
            _ => None,
        })
        .collect();
    verify::internals::shards_missing(tree, db, |mid| created.contains(mid), findings);
}
