//! Checks of what replay cannot derive: event envelopes and placement, the
//! `events` sync log, local-only tables, identities and context files, the
//! layout, and the database itself (version, schema, integrity).

use crate::compare::TableStats;
use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use crate::schema::{self, SchemaDiff};
use crate::util::{is_utc_timestamp, ts};
use crate::value::{for_each_row, plain, Val};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use thrum_schemas::events::{is_message_event, Event};
use thrum_schemas::ids::{is_prefixed_ulid, shard_name};

/// What kind of tree is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A v13 fixture as a v13 daemon writes it: full envelopes, an `events`
    /// table holding every event, a schema equal to a fresh v13 database.
    Fixture,
    /// A tree migrated from v5: envelopes have `event_id` and `v` but no
    /// `origin_daemon`/`sequence`, the `events` table is not backfilled, and
    /// the schema may differ from a fresh one by the documented differences.
    Migrated,
}

fn is_daemon_id(s: &str) -> bool {
    s.strip_prefix("d_").is_some_and(|r| r.len() == 12 && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Where two strings first differ, with a little context from each.
pub fn first_difference(expected: &str, actual: &str, labels: (&str, &str)) -> String {
    let pos = expected.bytes().zip(actual.bytes()).position(|(a, b)| a != b).unwrap_or(expected.len().min(actual.len()));
    let ctx = |s: &str| {
        let mut start = pos.saturating_sub(20);
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (pos + 20).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        s[start..end].to_string()
    };
    format!("first difference at byte {pos}: {} …{}…, {} …{}…", labels.0, ctx(expected), labels.1, ctx(actual))
}

/// The canonical Go encoding of a top-level object (keys sorted by bytes).
pub fn canonical_object(map: &serde_json::Map<String, Value>) -> String {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut out = String::with_capacity(256);
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        thrum_schemas::gojson::push_str(&mut out, k);
        out.push(':');
        thrum_schemas::gojson::push_value(&mut out, &map[k]);
    }
    out.push('}');
    out
}

/// Where a per-event finding of [`check_lines`] goes among the findings of
/// its event: envelope checks of `type`, `timestamp` and `event_id` come
/// first, then the duplicate id, then the other envelope fields, the
/// canonical form and the placement, then shard ownership.
pub const SLOT_ENVELOPE: u8 = 0;
pub const SLOT_DUPLICATE: u8 = 1;
pub const SLOT_REST: u8 = 2;
pub const SLOT_SHARD: u8 = 3;

/// The checks of one event line that need nothing but the line itself:
/// envelope, canonical form and placement (everything [`check_lines`] does
/// but duplicate ids, shard ownership and sequences), with their slots.
pub fn line_checks(rel: &str, line: u64, shard: Option<&str>, text: &str, event: &Event, mode: Mode, out: &mut Vec<(u8, Finding)>) {
    let env = &event.envelope;
    let id = env.event_id.as_deref().unwrap_or("");
    let key = || format!("event_id={id}");
    let inv = |col: &str, msg: String, found: String| Finding::new(Kind::EventEnvelopeInvalid, msg).key(key()).column(col).actual(found).at(rel, line);
    if env.event_type.is_empty() {
        out.push((SLOT_ENVELOPE, inv("type", "event has no type".into(), "\"\"".into())));
    }
    if !is_utc_timestamp(&env.timestamp) {
        out.push((SLOT_ENVELOPE, inv("timestamp", "timestamp is not an RFC 3339 UTC time".into(), format!("{:?}", env.timestamp))));
    }
    match env.event_id.as_deref() {
        None => out.push((SLOT_ENVELOPE, inv("event_id", "event has no event_id".into(), "absent".into()))),
        Some(id) => {
            if !is_prefixed_ulid(id, "evt_") {
                out.push((SLOT_ENVELOPE, inv("event_id", "event_id is not evt_ + a 26-character ULID".into(), format!("{id:?}"))));
            }
        }
    }
    if env.v != Some(1) {
        out.push((SLOT_REST, inv("v", "v must be 1".into(), env.v.map_or("absent".into(), |v| v.to_string()))));
    }
    if mode == Mode::Fixture {
        match env.origin_daemon.as_deref() {
            Some(d) if is_daemon_id(d) => {}
            Some(d) => out.push((SLOT_REST, inv("origin_daemon", "origin_daemon is not d_ + 12 lowercase base32 characters".into(), format!("{d:?}")))),
            None => out.push((SLOT_REST, inv("origin_daemon", "event has no origin_daemon".into(), "absent".into()))),
        }
        match env.sequence {
            Some(n) if n >= 1 => {}
            Some(n) => out.push((SLOT_REST, inv("sequence", "sequence must be >= 1".into(), n.to_string()))),
            None => out.push((SLOT_REST, inv("sequence", "event has no sequence".into(), "absent".into()))),
        }
    }
    let canonical = canonical_object(&event.raw);
    if canonical != text {
        out.push((
            SLOT_REST,
            Finding::new(Kind::EventNotCanonical, format!("line is not the daemon's canonical JSON (sorted keys, Go escaping); {}", first_difference(&canonical, text, ("canonical", "line"))))
                .key(key())
                .at(rel, line),
        ));
    }
    match (shard, is_message_event(&env.event_type)) {
        (None, true) => out.push((SLOT_REST, Finding::new(Kind::EventMisplaced, format!("{} belongs in messages/, not events.jsonl", env.event_type)).key(key()).at(rel, line))),
        (Some(_), false) => out.push((
            SLOT_REST,
            Finding::new(Kind::EventMisplaced, format!("{:?} is not a message event and belongs in events.jsonl", env.event_type)).key(key()).at(rel, line),
        )),
        _ => {}
    }
}

/// The shard names a `message.create` allows its message's events in: its
/// agent's, and its real author's when it has one.
pub fn allowed_shards(m: &thrum_schemas::events::MessageCreate) -> Vec<String> {
    let mut allowed = vec![shard_name(&m.agent_id)];
    if let Some(a) = m.authored_by.as_deref().filter(|a| !a.is_empty()) {
        allowed.push(shard_name(a));
    }
    allowed
}

/// A message event in shard `s` whose message `mid` is authored elsewhere.
pub fn shard_mismatch(mid: &str, allowed: &[String], s: &str, event_id: &str) -> Finding {
    Finding::new(Kind::ShardMismatch, format!("message {mid} is authored by {}, but the event is in shard {s}", allowed[0]))
        .key(format!("event_id={event_id}"))
        .values(format!("messages/{}.jsonl", allowed[0]), format!("messages/{s}.jsonl"))
}

/// The `event_id_duplicate` finding of a line whose id `id` is first used at `first_rel:first_line`.
pub fn duplicate_id(id: &str, first_rel: &str, first_line: u64) -> Finding {
    Finding::new(Kind::EventIdDuplicate, format!("event_id already used at {first_rel}:{first_line}")).key(format!("event_id={id}"))
}

/// The `events` table must hold exactly the JSONL events: one row per
/// distinct event id, equal to its first line. Each row is matched with its id's first line
/// by id and compared by signature ([`crate::stream::row_signature`]); the
/// lines of rows that differ, and of events without a row, are read again
/// to report the details.
pub fn check_event_log(db: &Connection, idx: &crate::stream::Index, findings: &mut Findings) -> Result<TableStats, crate::error::InputError> {
    use crate::index::{find, EventKey, Pos};
    let mut st = TableStats::new("events", "event_log");
    let mut matched = vec![false; idx.ids.len()];
    // rows whose signature differs: (first line, event_json, type, timestamp, origin_daemon, sequence)
    let mut differs: Vec<(usize, [Val; 5])> = Vec::new();
    let mut extras: Vec<(String, Val, Val, Option<String>)> = Vec::new();
    let streamed = (|| -> rusqlite::Result<u64> {
        let mut stmt = db.prepare("SELECT event_id, sequence, type, timestamp, origin_daemon, event_json FROM events ORDER BY event_id")?;
        let mut rows = stmt.query([])?;
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            n += 1;
            let hit = match r.get_ref(0)? {
                ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|id| find(&idx.ids, &EventKey::new(id), |x| &x.key)),
                _ => None,
            }
            .filter(|&i| !matched[i]);
            let v = |k: usize| -> rusqlite::Result<Val> { Ok(Val::from_ref(r.get_ref(k)?)) };
            let Some(i) = hit else {
                extras.push((plain(&v(0)?), v(1)?, v(2)?, v(5)?.as_str().map(str::to_owned)));
                continue;
            };
            matched[i] = true;
            let sig = crate::stream::row_signature(&idx.hasher, [r.get_ref(5)?, r.get_ref(2)?, r.get_ref(3)?, r.get_ref(4)?, r.get_ref(1)?]);
            if sig != idx.ids[i].sig {
                differs.push((i, [v(5)?, v(2)?, v(3)?, v(4)?, v(1)?]));
            }
        }
        Ok(n)
    })();
    match streamed {
        Ok(n) => st.rows_db = n,
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the events table: {e}")).table("events"));
            st.other = 1;
            return Ok(st);
        }
    }
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
                findings.push(Finding::new(Kind::EventLogMissing, "event without event_id cannot have an events row").table("events").at(rel, line));
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
            Entry::Differs(i, [json, ty, time, origin, seq]) => {
                let (text, env) = lines.get(&p).unwrap_or(&empty);
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
                    Some(b) => diffs.push(("event_json", "the JSONL line byte for byte".into(), first_difference(text, &String::from_utf8_lossy(&b), ("line", "event_json")))),
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
                if !diffs.is_empty() {
                    st.differing += 1;
                }
                let key = format!("event_id={}", idx.ids[i].key.text());
                for (col, exp, act) in diffs {
                    findings.push(
                        Finding::new(Kind::EventLogDiffers, "events row differs from its JSONL line").table("events").key(key.clone()).column(col).values(exp, act).at(rel, line),
                    );
                }
            }
        }
    }
    let mut positions = Positions::new(idx);
    for (id, seq, ty, json) in extras {
        st.extra += 1;
        let mut f = Finding::new(Kind::EventLogExtra, format!("events row (sequence {seq}, type {ty}) has no JSONL line")).table("events").key(format!("event_id={id}"));
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
    Ok(st)
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

/// Database messages whose `message.create` is in no JSONL file and whose
/// author's shard (`messages/{shard_name(agent_id)}.jsonl`, or the one of
/// `authored_by`) does not exist: one `shard_missing` per absent shard file,
/// naming it and the agent, with the number of messages it should hold.
pub fn check_shards(tree: &Tree, db: &Connection, idx: &crate::stream::Index, findings: &mut Findings) {
    shards_missing(tree, db, |mid| idx.first_create(mid).is_some(), findings);
}

/// `shard_missing` for every database message that `created` says has no
/// `message.create` line, when neither its author's nor its `authored_by`
/// shard file exists. The messages are streamed in key order.
pub fn shards_missing(tree: &Tree, db: &Connection, created: impl Fn(&str) -> bool, findings: &mut Findings) {
    let safe = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']);
    let exists = |name: &str| safe(name) && tree.path(&format!("messages/{name}.jsonl")).is_file();
    // shard name -> (agent_id, messages, first message id)
    let mut missing: BTreeMap<String, (String, u64, String)> = BTreeMap::new();
    let read = for_each_row(db, "SELECT message_id, agent_id, authored_by FROM messages ORDER BY message_id", |r| {
        let (Some(mid), Some(agent)) = (r[0].as_str(), r[1].as_str()) else { return };
        if created(mid) {
            return;
        }
        let own = shard_name(agent);
        let other = r[2].as_str().filter(|a| !a.is_empty()).map(shard_name);
        if !safe(&own) || exists(&own) || other.as_deref().is_some_and(exists) {
            return;
        }
        let e = missing.entry(own).or_insert_with(|| (agent.to_owned(), 0, mid.to_owned()));
        e.1 += 1;
    });
    if read.is_err() {
        return; // reported as table_unreadable by the comparison
    }
    push_shard_missing(missing, findings);
}

fn push_shard_missing(missing: BTreeMap<String, (String, u64, String)>, findings: &mut Findings) {
    for (name, (agent, n, first)) in missing {
        findings.push(
            Finding::new(
                Kind::ShardMissing,
                format!("{n} message(s) of agent {agent} are in the database (the first: {first}), but its shard file is absent and no other file holds their message.create"),
            )
            .file(format!(".thrum/messages/{name}.jsonl"))
            .table("messages")
            .key(format!("agent_id={agent}"))
            .values("present", "absent"),
        );
    }
}

fn query_rows(db: &Connection, sql: &str) -> rusqlite::Result<Vec<Vec<Val>>> {
    crate::value::query_all(db, sql)
}

fn count(db: &Connection, table: &str) -> u64 {
    db.query_row(&format!("SELECT count(*) FROM {}", crate::value::quote_ident(table)), [], |r| r.get::<_, i64>(0)).map(|n| n as u64).unwrap_or(0)
}

/// References and plausibility of the local-only tables. Rows are read one
/// at a time; a table that cannot be read to the end is reported
/// `table_unreadable` instead of its rows' findings.
pub fn check_local(db: &Connection, cleaned_agents: &HashSet<String>, findings: &mut Findings) -> Vec<TableStats> {
    let mut out = Vec::new();
    // A table read to the end gives its findings and stats; one that could
    // not be read gives only `table_unreadable`.
    let close = |findings: &mut Findings, out: &mut Vec<TableStats>, table: &str, read: rusqlite::Result<()>, buf: Vec<Finding>, st: TableStats| match read {
        Ok(()) => {
            for f in buf {
                findings.push(f);
            }
            out.push(st);
        }
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot check references: {e}")).table(table));
            let mut st = TableStats::new(table, "local");
            st.other = 1;
            out.push(st);
        }
    };

    // message_reads
    let mut st = TableStats::new("message_reads", "local");
    st.rows_db = count(db, "message_reads");
    let mut buf: Vec<Finding> = Vec::new();
    let read = for_each_row(
        db,
        "SELECT r.message_id, r.session_id, r.agent_id, r.read_at, m.created_at, s.agent_id, s.started_at, s.ended_at, \
         m.message_id IS NOT NULL, s.session_id IS NOT NULL, EXISTS(SELECT 1 FROM agents a WHERE a.agent_id = r.agent_id) \
         FROM message_reads r LEFT JOIN messages m ON m.message_id = r.message_id LEFT JOIN sessions s ON s.session_id = r.session_id \
         ORDER BY r.message_id, r.session_id",
        |r| {
            let key = || format!("message_id={}, session_id={}", plain(&r[0]), plain(&r[1]));
            let mut bad = false;
            let mut push = |f: Finding| {
                bad = true;
                buf.push(f.table("message_reads").key(key()));
            };
            let has_msg = r[8] == Val::Int(1);
            let has_ses = r[9] == Val::Int(1);
            if !has_msg {
                push(Finding::new(Kind::DanglingReference, "read of a message that does not exist").column("message_id"));
            }
            if !has_ses {
                push(Finding::new(Kind::DanglingReference, "read by a session that does not exist").column("session_id"));
            }
            let agent = plain(&r[2]);
            if r[10] != Val::Int(1) && !cleaned_agents.contains(&agent) {
                push(Finding::new(Kind::DanglingReference, "read by an agent that does not exist").column("agent_id"));
            }
            if has_ses && r[5] != r[2] {
                push(Finding::new(Kind::ReferenceMismatch, "the read's agent is not the reading session's agent").column("agent_id").values(r[5].to_string(), r[2].to_string()));
            }
            let read = r[3].as_str().and_then(ts);
            match read {
                None => push(Finding::new(Kind::TimestampInvalid, "read_at is not an RFC 3339 timestamp").column("read_at").actual(r[3].to_string())),
                Some(read) => {
                    if let Some(created) = r[4].as_str().and_then(ts) {
                        if read < created {
                            push(
                                Finding::new(Kind::ReadBeforeMessage, "message read before it was created")
                                    .column("read_at")
                                    .values(format!(">= created_at {}", r[4]), r[3].to_string()),
                            );
                        }
                    }
                    let started = r[6].as_str().and_then(ts);
                    let ended = r[7].as_str().and_then(ts);
                    if has_ses && (started.is_some_and(|s| read < s) || ended.is_some_and(|e| read > e)) {
                        push(
                            Finding::new(Kind::ReadOutsideSession, "read recorded outside the reading session's lifetime")
                                .column("read_at")
                                .values(format!("between started_at {} and ended_at {}", r[6], r[7]), r[3].to_string()),
                        );
                    }
                }
            }
            if bad {
                st.other += 1;
            }
        },
    );
    close(findings, &mut out, "message_reads", read, buf, st);

    // subscriptions
    let mut st = TableStats::new("subscriptions", "local");
    st.rows_db = count(db, "subscriptions");
    let mut buf: Vec<Finding> = Vec::new();
    let read = for_each_row(
        db,
        "SELECT x.id, x.session_id, x.scope_type, x.scope_value, x.mention_role, x.created_at, \
         EXISTS(SELECT 1 FROM sessions s WHERE s.session_id = x.session_id) FROM subscriptions x ORDER BY x.id",
        |r| {
            let key = || format!("id={} (session_id={})", plain(&r[0]), plain(&r[1]));
            let mut bad = false;
            let mut push = |f: Finding| {
                bad = true;
                buf.push(f.table("subscriptions").key(key()));
            };
            if r[6] != Val::Int(1) {
                push(Finding::new(Kind::DanglingReference, "subscription of a session that does not exist").column("session_id"));
            }
            let set = |v: &Val| !v.is_null();
            let shape_ok = matches!((set(&r[2]), set(&r[3]), set(&r[4])), (true, true, false) | (false, false, true) | (false, false, false));
            if !shape_ok {
                push(
                    Finding::new(Kind::SubscriptionShapeInvalid, "expected scope (type+value), mention (role) or all (all NULL)")
                        .actual(format!("scope_type={}, scope_value={}, mention_role={}", r[2], r[3], r[4])),
                );
            }
            if r[5].as_str().and_then(ts).is_none() {
                push(Finding::new(Kind::TimestampInvalid, "created_at is not an RFC 3339 timestamp").column("created_at").actual(r[5].to_string()));
            }
            if bad {
                st.other += 1;
            }
        },
    );
    close(findings, &mut out, "subscriptions", read, buf, st);

    // session_scopes / session_refs
    for (table, a, b) in [("session_scopes", "scope_type", "scope_value"), ("session_refs", "ref_type", "ref_value")] {
        let mut st = TableStats::new(table, "local");
        st.rows_db = count(db, table);
        let sql = format!(
            "SELECT x.session_id, x.{a}, x.{b}, x.added_at, EXISTS(SELECT 1 FROM sessions s WHERE s.session_id = x.session_id) FROM {table} x ORDER BY 1, 2, 3"
        );
        let mut buf: Vec<Finding> = Vec::new();
        let read = for_each_row(db, &sql, |r| {
            let key = || format!("session_id={}, {a}={}, {b}={}", plain(&r[0]), plain(&r[1]), plain(&r[2]));
            let mut bad = false;
            if r[4] != Val::Int(1) {
                bad = true;
                buf.push(Finding::new(Kind::DanglingReference, "row of a session that does not exist").table(table).key(key()).column("session_id"));
            }
            if r[3].as_str().and_then(ts).is_none() {
                bad = true;
                buf.push(Finding::new(Kind::TimestampInvalid, "added_at is not an RFC 3339 timestamp").table(table).key(key()).column("added_at").actual(r[3].to_string()));
            }
            if bad {
                st.other += 1;
            }
        });
        close(findings, &mut out, table, read, buf, st);
    }

    // sync_checkpoints
    let mut st = TableStats::new("sync_checkpoints", "local");
    st.rows_db = count(db, "sync_checkpoints");
    let max_seq: i64 = db.query_row("SELECT coalesce(max(sequence), 0) FROM events", [], |r| r.get(0)).unwrap_or(0);
    let mut buf: Vec<Finding> = Vec::new();
    let read = for_each_row(db, "SELECT peer_daemon_id, last_synced_sequence, last_sync_timestamp, typeof(last_sync_timestamp) FROM sync_checkpoints ORDER BY 1", |r| {
        let key = || format!("peer_daemon_id={}", plain(&r[0]));
        let mut bad = false;
        match r[1].as_int() {
            Some(n) if n <= max_seq && n >= 0 => {}
            _ => {
                bad = true;
                buf.push(
                    Finding::new(Kind::CheckpointAhead, "last_synced_sequence is beyond the last event sequence")
                        .table("sync_checkpoints")
                        .key(key())
                        .column("last_synced_sequence")
                        .values(format!("0..={max_seq}"), r[1].to_string()),
                );
            }
        }
        if r[3].as_str() != Some("integer") {
            bad = true;
            buf.push(
                Finding::new(Kind::TimestampInvalid, "last_sync_timestamp is not integer unix seconds")
                    .table("sync_checkpoints")
                    .key(key())
                    .column("last_sync_timestamp")
                    .actual(r[2].to_string()),
            );
        }
        if bad {
            st.other += 1;
        }
    });
    close(findings, &mut out, "sync_checkpoints", read, buf, st);
    out
}

/// Identity files (version 2), context files and agents rows correspond.
/// The id a daemon on `hostname` gives itself (docs/FORMAT.md section 3),
/// computed here from the rule, independently of the generator: SHA-256 of
/// the hostname, its first 60 bits as 12 Crockford base32 digits, lowercase.
pub fn daemon_id_of(hostname: &str) -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let d = <sha2::Sha256 as sha2::Digest>::digest(hostname.as_bytes());
    let mut out = String::from("d_");
    let (mut acc, mut have) = (0u32, 0u32);
    for &b in d.iter() {
        acc = (acc << 8) | b as u32;
        have += 8;
        while have >= 5 && out.len() < 14 {
            have -= 5;
            out.push(DIGITS[((acc >> have) & 31) as usize] as char);
        }
        acc &= (1 << have) - 1;
        if out.len() == 14 {
            break;
        }
    }
    out
}

/// The fixture's daemon runs on the host of its local agents, so one of the
/// `origin_daemon` ids in `events` should be derivable from a hostname in
/// `agents`. A warning otherwise: a fixture may come from a daemon whose
/// host has no agent.
pub fn check_origin_daemon(db: &Connection, findings: &mut Findings) {
    let origins: Vec<String> = match crate::value::query_all(db, "SELECT DISTINCT origin_daemon FROM events ORDER BY 1") {
        Ok(rows) => rows.into_iter().filter_map(|r| r.into_iter().next().and_then(|v| v.as_str().map(str::to_owned))).collect(),
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the origin daemons: {e}")).table("events"));
            return;
        }
    };
    let hosts: Vec<String> = match crate::value::query_all(db, "SELECT DISTINCT hostname FROM agents WHERE hostname <> '' ORDER BY 1") {
        Ok(rows) => rows.into_iter().filter_map(|r| r.into_iter().next().and_then(|v| v.as_str().map(str::to_owned))).collect(),
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the agents' hostnames: {e}")).table("agents"));
            return;
        }
    };
    if origins.is_empty() {
        return;
    }
    let derived: Vec<String> = hosts.iter().map(|h| daemon_id_of(h)).collect();
    if !origins.iter().any(|o| derived.contains(o)) {
        findings.push(
            Finding::new(
                Kind::OriginDaemonUnexplained,
                format!("no origin_daemon of the events is the id of an agent's host ({} hostnames checked): the daemon's host has no agent, or the ids were not derived from hostnames", hosts.len()),
            )
            .table("events")
            .column("origin_daemon")
            .actual(origins.join(", ")),
        );
    }
}

pub fn check_identities(tree: &Tree, db: &Connection, findings: &mut Findings) {
    let agents: BTreeMap<String, Vec<Val>> = match query_rows(db, "SELECT agent_id, kind, role, module, display FROM agents") {
        Ok(rows) => rows.into_iter().filter_map(|r| r[0].as_str().map(str::to_owned).map(|id| (id, r))).collect(),
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read agents for the identity check: {e}")).table("agents"));
            return;
        }
    };
    // the regular files named *EXT of DIR; an entry of that name that is
    // not a regular file (nor a directory) is reported, never opened
    let mut list = |dir: &str, ext: &str| -> Vec<String> {
        let mut v = Vec::new();
        let mut odd = Vec::new();
        for e in std::fs::read_dir(tree.path(dir)).into_iter().flatten().filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(ext) {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_file() => v.push(name),
                Ok(t) if t.is_dir() => {}
                _ => odd.push((name, crate::input::describe(&e.path()).unwrap_or_else(|| "not a regular file".into()))),
            }
        }
        v.sort();
        odd.sort();
        for (name, found) in odd {
            findings.push(crate::jsonl::not_regular_finding(&format!(".thrum/{dir}/{name}"), &found, "not read"));
        }
        v
    };
    let contexts: HashSet<String> = list("context", ".md").into_iter().collect();
    let mut covered_agents: HashSet<String> = HashSet::new();
    let mut covered_contexts: HashSet<String> = HashSet::new();
    for file in list("identities", ".json") {
        let rel = format!(".thrum/identities/{file}");
        let stem = file.trim_end_matches(".json").to_owned();
        let invalid = |col: &str, msg: &str| Finding::new(Kind::IdentityInvalid, msg.to_string()).file(rel.clone()).column(col);
        let v: Value = match thrum_io::regular::read_regular(&tree.path(&format!("identities/{file}"))).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            Some(v) => v,
            None => {
                findings.push(Finding::new(Kind::IdentityInvalid, "not valid JSON").file(rel.clone()));
                continue;
            }
        };
        if v.get("version").and_then(Value::as_i64) != Some(2) {
            findings.push(invalid("version", "version must be 2").actual(v.get("version").map_or("absent".into(), |x| x.to_string())));
        }
        for k in ["repo_id", "worktree", "confirmed_by"] {
            if !v.get(k).is_some_and(Value::is_string) {
                findings.push(invalid(k, "missing or not a string"));
            }
        }
        match v.get("updated_at").and_then(Value::as_str) {
            Some(t) if ts(t).is_some() => {}
            other => findings.push(invalid("updated_at", "not an RFC 3339 timestamp").actual(format!("{other:?}"))),
        }
        let Some(agent) = v.get("agent").and_then(Value::as_object) else {
            findings.push(invalid("agent", "missing agent object"));
            continue;
        };
        let field = |k: &str| agent.get(k).and_then(Value::as_str);
        let mut ok = true;
        for k in ["Kind", "Name", "Role", "Module", "Display"] {
            if field(k).is_none() {
                ok = false;
                findings.push(invalid(&format!("agent.{k}"), "missing or not a string (keys are capitalised)"));
            }
        }
        if !ok {
            continue;
        }
        let name = field("Name").unwrap_or_default().to_owned();
        let kind = field("Kind").unwrap_or_default();
        let id = match kind {
            "agent" => name.clone(),
            "human" => format!("user:{name}"),
            other => {
                findings.push(invalid("agent.Kind", "Kind must be agent or human").actual(format!("{other:?}")));
                name.clone()
            }
        };
        // The file name is the agent's {name} as section 1 uses it for shards:
        // shard_name(id) (`user_alice` for `user:alice`); the bare Name is accepted too.
        let file_name = shard_name(&id);
        let stem = if stem == file_name || stem == name {
            stem
        } else {
            findings.push(invalid("agent.Name", "file name must be {name}.json (the agent's shard name)").values(format!("{file_name}.json"), file.clone()));
            file_name
        };
        let ctx_name = format!("{stem}.md");
        match v.get("context_file") {
            None => {}
            Some(Value::String(c)) if *c == format!("context/{ctx_name}") => {}
            Some(other) => findings.push(invalid("context_file", "must be context/{name}.md").values(format!("\"context/{ctx_name}\""), other.to_string())),
        }
        if contexts.contains(&ctx_name) {
            covered_contexts.insert(ctx_name.clone());
        } else {
            findings.push(Finding::new(Kind::ContextMissing, format!("identity {id} has no context/{ctx_name}")).file(format!(".thrum/context/{ctx_name}")));
        }
        match agents.get(&id) {
            None => findings.push(Finding::new(Kind::IdentityOrphan, format!("identity {id} has no agents row")).file(rel.clone()).table("agents").key(format!("agent_id={id}"))),
            Some(row) => {
                covered_agents.insert(id.clone());
                for (col, k, i) in [("kind", "Kind", 1), ("role", "Role", 2), ("module", "Module", 3), ("display", "Display", 4)] {
                    let f = field(k).unwrap_or_default();
                    if row[i].as_str() != Some(f) {
                        findings.push(
                            Finding::new(Kind::IdentityDiffers, format!("identity agent.{k} differs from agents.{col}"))
                                .file(rel.clone())
                                .table("agents")
                                .key(format!("agent_id={id}"))
                                .column(col)
                                .values(format!("{f:?}"), row[i].to_string()),
                        );
                    }
                }
            }
        }
    }
    for id in agents.keys() {
        if !covered_agents.contains(id) {
            findings.push(
                Finding::new(Kind::IdentityMissing, format!("agent {id} has no identity file"))
                    .table("agents")
                    .key(format!("agent_id={id}"))
                    .file(format!(".thrum/identities/{}.json", shard_name(id))),
            );
        }
    }
    let mut orphans: Vec<&String> = contexts.iter().filter(|c| !covered_contexts.contains(*c)).collect();
    orphans.sort();
    for c in orphans {
        findings.push(Finding::new(Kind::ContextOrphan, "context file without an identity").file(format!(".thrum/context/{c}")));
    }
}

/// The finding for `.thrum/REL` that cannot be read: absent
/// (`file_missing`), not a regular file (`file_not_regular`, saying what
/// it is), or unreadable.
fn unreadable_finding(rel: &str, e: &std::io::Error) -> Finding {
    let shown = format!(".thrum/{rel}");
    if let Some(nr) = thrum_io::regular::not_regular(e) {
        return crate::jsonl::not_regular_finding(&shown, &nr.found, "not read");
    }
    let what = if rel == "thrum.db" { "thrum.db placeholder" } else { rel };
    if e.kind() == std::io::ErrorKind::NotFound {
        return Finding::new(Kind::FileMissing, format!("{what} is missing")).file(shown);
    }
    Finding::new(Kind::FileMissing, format!("{what} cannot be read: {e}")).file(shown)
}

/// `config.json`, the `thrum.db` placeholder, and archive entries under `.thrum/`.
pub fn check_layout(tree: &Tree, findings: &mut Findings) {
    let cfg = tree.path("config.json");
    match thrum_io::regular::read_regular(&cfg) {
        Err(e) => findings.push(unreadable_finding("config.json", &e)),
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(Value::Object(m)) => {
                if m.get("version").and_then(Value::as_i64) != Some(1) {
                    findings.push(Finding::new(Kind::ConfigInvalid, "version must be 1").file(".thrum/config.json").column("version"));
                }
                if !m.get("local_only").is_some_and(Value::is_boolean) {
                    findings.push(Finding::new(Kind::ConfigInvalid, "local_only must be a boolean").file(".thrum/config.json").column("local_only"));
                }
            }
            _ => findings.push(Finding::new(Kind::ConfigInvalid, "not a JSON object").file(".thrum/config.json")),
        },
    }
    match thrum_io::regular::regular_metadata(&tree.path("thrum.db")) {
        Err(e) => findings.push(unreadable_finding("thrum.db", &e)),
        Ok(m) if m.len() != 0 => {
            findings.push(Finding::new(Kind::PlaceholderNotEmpty, "thrum.db must be an empty placeholder").file(".thrum/thrum.db").values("0 bytes", format!("{} bytes", m.len())))
        }
        Ok(_) => {}
    }
    if let Some(entries) = &tree.entries {
        for e in entries {
            if e.path != ".thrum" && !e.path.starts_with(".thrum/") {
                findings.push(Finding::new(Kind::ArchiveUnexpectedEntry, "archive entries must be rooted at .thrum/").file(e.path.clone()));
            }
        }
    }
}

/// The table a schema difference is about (`None` for indexes and others).
fn diff_table(object: &str) -> Option<&str> {
    if let Some(t) = object.strip_prefix("table ") {
        return Some(t);
    }
    if object.contains(' ') {
        return None;
    }
    Some(object.split('.').next().unwrap_or(object))
}

/// schema_version, schema against a fresh v13 database, integrity and
/// foreign keys. Returns the schema differences found (known or not).
pub fn check_db(db: &Connection, expected_version: i64, mode: Mode, findings: &mut Findings) -> (Option<i64>, Vec<SchemaDiff>) {
    let versions = query_rows(db, "SELECT version FROM schema_version").unwrap_or_default();
    let version = versions.first().and_then(|r| r[0].as_int());
    if versions.len() != 1 || version != Some(expected_version) {
        let found = versions.iter().map(|r| r[0].to_string()).collect::<Vec<_>>().join(", ");
        findings.push(
            Finding::new(Kind::SchemaVersionWrong, "schema_version must hold exactly one row")
                .table("schema_version")
                .column("version")
                .values(expected_version.to_string(), if found.is_empty() { "no rows".into() } else { found }),
        );
    }
    let diffs = match (schema::fresh(thrum_schemas::sql::V13), schema::snapshot(db)) {
        (Ok(fresh), Ok(actual)) => schema::diff(&fresh, &actual),
        (_, Err(e)) | (Err(e), _) => {
            findings.push(Finding::new(Kind::SchemaDiffers, format!("cannot read the schema: {e}")));
            Vec::new()
        }
    };
    let known = schema::known_migration_diffs();
    for d in &diffs {
        let kind = if mode == Mode::Migrated && known.contains(d) { Kind::SchemaMigrationKnownDiff } else { Kind::SchemaDiffers };
        let mut f = Finding::new(kind, format!("{} {} differs from a fresh v13 database", d.object, d.attribute));
        if let Some(t) = diff_table(&d.object) {
            f = f.table(t);
        }
        findings.push(
            f.key(d.object.clone())
                .column(d.attribute.clone())
                .values(d.expected.clone(), d.actual.clone()),
        );
    }
    match query_rows(db, "PRAGMA integrity_check") {
        Ok(rows) => {
            let lines: Vec<String> = rows.iter().map(|r| plain(&r[0])).collect();
            if lines != ["ok"] {
                for l in lines {
                    findings.push(Finding::new(Kind::IntegrityCheckFailed, l));
                }
            }
        }
        Err(e) => findings.push(Finding::new(Kind::IntegrityCheckFailed, format!("integrity_check failed to run: {e}"))),
    }
    match query_rows(db, "PRAGMA foreign_key_check") {
        Ok(rows) => {
            for r in rows {
                findings.push(
                    Finding::new(Kind::ForeignKeyViolation, format!("row refers to a missing {} row (foreign key {})", plain(&r[2]), r[3]))
                        .table(plain(&r[0]))
                        .key(format!("rowid={}", r[1])),
                );
            }
        }
        Err(e) => findings.push(Finding::new(Kind::ForeignKeyViolation, format!("foreign_key_check failed to run: {e}"))),
    }
    (version, diffs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_ids_are_derived_from_hostnames() {
        // golden values computed from the rule outside this code base
        assert_eq!(daemon_id_of("build-01.ci.internal"), "d_xtkd3cd83rwv");
        assert_eq!(daemon_id_of("mbp-alice.local"), "d_pkd6rjqjr0nf");
        assert_eq!(daemon_id_of(""), "d_werc8gmrzge1");
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE events (origin_daemon TEXT); CREATE TABLE agents (hostname TEXT);").unwrap();
        c.execute_batch("INSERT INTO events VALUES ('d_xtkd3cd83rwv'), ('d_0123456789ab'); INSERT INTO agents VALUES ('build-01.ci.internal'), ('');").unwrap();
        let mut f = Findings::new(0);
        check_origin_daemon(&c, &mut f);
        assert_eq!(f.total(), 0);
        c.execute_batch("DELETE FROM events WHERE origin_daemon = 'd_xtkd3cd83rwv'").unwrap();
        check_origin_daemon(&c, &mut f);
        assert_eq!(f.count(Kind::OriginDaemonUnexplained), 1);
        assert_eq!(f.list()[0].actual.as_deref(), Some("d_0123456789ab"));
    }

    #[test]
    fn canonical_object_equals_gojson() {
        for line in [
            r#"{"b":1,"a":{"z":[1,"<&>"],"B":null},"_":true,"é":"\u2028"}"#,
            r#"{"type":"x","timestamp":"t","body":{"content":"a\nb","format":"markdown"},"v":1}"#,
        ] {
            let v: Value = serde_json::from_str(line).unwrap();
            let Value::Object(m) = &v else { panic!() };
            assert_eq!(canonical_object(m), thrum_schemas::gojson::to_string(&v));
        }
    }

    #[test]
    fn differences_are_located() {
        assert_eq!(first_difference("abcdef", "abXdef", ("a", "b")), "first difference at byte 2: a …abcdef…, b …abXdef…");
        assert!(is_daemon_id("d_0123456789ab"));
        assert!(!is_daemon_id("test-daemon"));
        assert_eq!(diff_table("table threads"), Some("threads"));
        assert_eq!(diff_table("agents.display"), Some("agents"));
        assert_eq!(diff_table("index idx_x"), None);
    }
}
