//! The reference reader the streaming verifier is tested against: every
//! event of every file decoded and held in memory, sorted by a stable sort,
//! then checked and replayed with plain loops over the whole list. It is
//! slow and memory-hungry on purpose — each check is the straightforward
//! reading of its rule — and it is test code only: the shipped verifier
//! has one reading path, the streamed one.
//!
//! [`report`] verifies a fixture exactly as `verify replay` does, except
//! that the event logs are read here; everything that does not depend on
//! how they are read (database, schema, manifest, identities, local tables,
//! comparison of the projection, the rules of one line) is the library's.
//! The rules that do depend on it are written here from the format
//! (docs/FORMAT.md), not from the library's code: the replay order and its
//! ties, the sequence checks (duplicates, order, the numbers a counter
//! starting at 1 skipped) and the `events` table against the lines.

#![allow(dead_code)]

use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use thrum_schemas::events::{is_message_event, Event, Payload};
use thrum_schemas::ids::shard_name;
use verify::internals::{
    allowed_shards, duplicate_id, first_difference, line_checks, shard_mismatch, SLOT_ENVELOPE,
    SLOT_REST,
};
use verify::internals::{decode_line, split_lines, EventFile, RawLine, MAX_LINE_BYTES};
use verify::internals::{plain, Val};
use verify::internals::{Replay, Replayer};
use verify::InputError;
use verify::Mode;
use verify::Report;
use verify::TableStats;
use verify::Tree;
use verify::{Finding, Findings, Kind};

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

/// Every event of every file, and the replay order.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub files: Vec<EventFile>,
    pub events: Vec<LoadedEvent>,
    /// Indexes into `events` in replay order: sorted by (timestamp, event_id)
    /// as byte strings, ties keeping file order (events.jsonl first, then the
    /// shards by file name, each in line order).
    pub order: Vec<usize>,
    /// The events have more than one origin: `order` is by sequence
    /// (events without one last), ties keeping file order.
    pub arrival: bool,
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

/// Decodes one event file's bytes: its counts, events and findings (the
/// rules of each line are the library's `decode_line`).
pub fn parse_file(
    bytes: &[u8],
    file: usize,
    rel: &str,
    shard: Option<String>,
) -> (EventFile, Vec<LoadedEvent>, Vec<Finding>) {
    let mut info = EventFile {
        rel: rel.to_owned(),
        shard,
        lines: 0,
        events: 0,
        blank: 0,
        unparsable: 0,
        undecodable: None,
    };
    let mut events = Vec::new();
    let mut findings = Vec::new();
    for (no, raw, terminated) in split_lines(bytes) {
        let line = if raw.len() > MAX_LINE_BYTES {
            RawLine::Long {
                len: raw.len() as u64,
                blank: std::str::from_utf8(raw).is_ok_and(|t| t.trim().is_empty()),
            }
        } else {
            RawLine::Held(raw)
        };
        if let Some((text, event)) = decode_line(no, line, terminated, &mut info, &mut findings) {
            events.push(LoadedEvent { file, line: no, text: text.into_owned(), event });
        }
    }
    (info, events, findings)
}

/// Reads one event file into `loaded`.
pub fn read_file(
    loaded: &mut Loaded,
    path: &Path,
    rel: String,
    shard: Option<String>,
    findings: &mut Findings,
) -> Result<(), InputError> {
    let bytes = verify::internals::read_regular(path)?;
    let (info, events, found) = parse_file(&bytes, loaded.files.len(), &rel, shard);
    loaded.files.push(info);
    loaded.events.extend(events);
    for f in found {
        findings.push(f);
    }
    Ok(())
}

/// Loads `events.jsonl` and `messages/*.jsonl` (sorted by name) and computes
/// the replay order.
pub fn load(tree: &Tree, findings: &mut Findings) -> Result<Loaded, InputError> {
    let mut loaded = Loaded::default();
    for s in verify::internals::event_files(tree, findings)? {
        read_file(&mut loaded, &s.path, s.rel, s.shard, findings)?;
    }
    sort(&mut loaded);
    Ok(loaded)
}

/// Computes the replay order (a stable sort).
pub fn sort(loaded: &mut Loaded) {
    let mut order: Vec<usize> = (0..loaded.events.len()).collect();
    let ev = &loaded.events;
    order.sort_by(|&a, &b| {
        let (x, y) = (&ev[a], &ev[b]);
        x.timestamp()
            .as_bytes()
            .cmp(y.timestamp().as_bytes())
            .then_with(|| x.event_id().as_bytes().cmp(y.event_id().as_bytes()))
    });
    loaded.order = order;
}

/// A v13 fixture whose events have more than one `origin_daemon`: the
/// replay order becomes sequence order (a stable sort, events without a
/// sequence last).
pub fn sort_arrival(loaded: &mut Loaded) {
    let origins: HashSet<&str> = loaded
        .events
        .iter()
        .filter_map(|e| e.event.envelope.origin_daemon.as_deref())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.len() < 2 {
        return;
    }
    let mut order: Vec<usize> = (0..loaded.events.len()).collect();
    let ev = &loaded.events;
    order.sort_by_key(|&i| {
        let s = ev[i].event.envelope.sequence;
        (s.is_none(), s.unwrap_or(0))
    });
    loaded.order = order;
    loaded.arrival = true;
}

/// Replays every loaded event, in replay order, into a fresh database
/// (shaped like a migrated one, without `threads`, when `migrated`).
pub fn replay_as(
    loaded: &Loaded,
    migrated: bool,
    findings: &mut Findings,
) -> rusqlite::Result<Replay> {
    let conn = verify::internals::fresh_v13_for_replay()?;
    if migrated {
        verify::internals::without_threads(&conn)?;
    }
    let mut r = Replayer::new(conn)?;
    for &i in &loaded.order {
        let e = &loaded.events[i];
        r.apply(&e.event, loaded.file_of(e), e.line, findings)?;
    }
    r.finish()
}

/// Envelope, canonical form, duplicate ids, file placement, shard ownership
/// and (in [`Mode::Fixture`]) sequence order, uniqueness and gaps.
pub fn check_lines(loaded: &Loaded, mode: Mode, findings: &mut Findings) {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    // message_id -> shard names allowed (agent_id's and authored_by's)
    let mut authors: HashMap<&str, Vec<String>> = HashMap::new();
    for e in &loaded.events {
        if let Payload::MessageCreate(m) = &e.event.payload {
            authors.entry(m.message_id.as_str()).or_insert_with(|| allowed_shards(m));
        }
    }
    let mut local = Vec::new();
    for (i, e) in loaded.events.iter().enumerate() {
        let rel = loaded.file_of(e);
        let shard = loaded.files[e.file].shard.as_deref();
        local.clear();
        line_checks(rel, e.line, shard, &e.text, &e.event, mode, &mut local);
        for (_, f) in local.iter().filter(|(s, _)| *s == SLOT_ENVELOPE) {
            findings.push(f.clone());
        }
        if let Some(id) = e.event.envelope.event_id.as_deref() {
            if let Some(&j) = first_seen.get(id) {
                let first = &loaded.events[j];
                findings.push(loaded.at(e, duplicate_id(id, loaded.file_of(first), first.line)));
            } else {
                first_seen.insert(id, i);
            }
        }
        for (_, f) in local.drain(..).filter(|(s, _)| *s == SLOT_REST) {
            findings.push(f);
        }
        if let (Some(s), true) = (shard, is_message_event(&e.event.envelope.event_type)) {
            let mid = e.event.raw.get("message_id").and_then(Value::as_str).unwrap_or("");
            if let Some(allowed) = authors.get(mid) {
                if !allowed.iter().any(|a| a == s) {
                    findings.push(loaded.at(e, shard_mismatch(mid, allowed, s, e.event_id())));
                }
            }
        }
    }
    if mode == Mode::Fixture {
        check_sequences(loaded, findings);
    }
}

fn check_sequences(loaded: &Loaded, findings: &mut Findings) {
    if loaded.arrival {
        return check_sequences_arrival(loaded, findings);
    }
    let mut by_seq: HashMap<i64, usize> = HashMap::new();
    let mut last: HashMap<&str, (i64, usize)> = HashMap::new();
    let mut per_daemon: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for &i in &loaded.order {
        let e = &loaded.events[i];
        let Some(seq) = e.event.envelope.sequence else { continue };
        let daemon = e.event.envelope.origin_daemon.as_deref().unwrap_or("");
        let key = || format!("event_id={}", e.event_id());
        if let Some(&j) = by_seq.get(&seq) {
            let o = &loaded.events[j];
            findings.push(
                loaded.at(
                    e,
                    Finding::new(
                        Kind::SequenceDuplicate,
                        format!(
                            "sequence {seq} already used by {} at {}:{}",
                            o.event_id(),
                            loaded.file_of(o),
                            o.line
                        ),
                    )
                    .key(key()),
                ),
            );
        } else {
            by_seq.insert(seq, i);
        }
        if let Some(&(prev, j)) = last.get(daemon) {
            if seq <= prev {
                let o = &loaded.events[j];
                findings.push(
                    loaded.at(
                        e,
                        Finding::new(
                            Kind::SequenceOrder,
                            format!(
                                "sequence {seq} of daemon {daemon} does not increase in replay \
                            order: the previous event {} ({}:{}) has {prev}",
                                o.event_id(),
                                loaded.file_of(o),
                                o.line
                            ),
                        )
                        .key(key())
                        .values(format!("> {prev}"), seq.to_string()),
                    ),
                );
            }
        }
        if last.get(daemon).is_none_or(|&(p, _)| seq > p) {
            last.insert(daemon, (seq, i));
        }
        per_daemon.entry(daemon).or_default().push(seq);
    }
    for (daemon, seqs) in per_daemon {
        for range in missing(&seqs) {
            findings.push(
                Finding::new(
                    Kind::SequenceGap,
                    format!(
                        "daemon {daemon}: sequence {range} \
                    missing from the JSONL (an event was lost)"
                    ),
                )
                .key(format!("origin_daemon={daemon}"))
                .values(range.clone(), "absent"),
            );
        }
    }
}

/// The numbers a counter starting at 1 skipped (section 3: `sequence` is
/// strictly increasing per daemon, starting at 1): between each two
/// neighbours of the sorted numbers held, with 0 in front, every number in
/// between, as `N` or `A..=B`. Numbers below 1 skip nothing.
fn missing(held: &[i64]) -> Vec<String> {
    let set: std::collections::BTreeSet<i64> = held.iter().copied().filter(|&s| s >= 1).collect();
    let with_start: Vec<i64> = std::iter::once(0).chain(set).collect();
    with_start
        .windows(2)
        .filter(|w| w[1] - w[0] >= 2)
        .map(|w| {
            if w[1] - w[0] == 2 {
                (w[0] + 1).to_string()
            } else {
                format!("{}..={}", w[0] + 1, w[1] - 1)
            }
        })
        .collect()
}

/// The sequences of a daemon holding events of several origins: one
/// counter for all of them (no duplicate, no gap), and each file in
/// sequence order.
fn check_sequences_arrival(loaded: &Loaded, findings: &mut Findings) {
    let mut by_seq: HashMap<i64, usize> = HashMap::new();
    let mut file_last: HashMap<usize, usize> = HashMap::new();
    let mut all: Vec<i64> = Vec::new();
    for &i in &loaded.order {
        let e = &loaded.events[i];
        let Some(seq) = e.event.envelope.sequence else { continue };
        let key = || format!("event_id={}", e.event_id());
        if let Some(&j) = by_seq.get(&seq) {
            let o = &loaded.events[j];
            findings.push(
                loaded.at(
                    e,
                    Finding::new(
                        Kind::SequenceDuplicate,
                        format!(
                            "sequence {seq} already used by {} at {}:{}",
                            o.event_id(),
                            loaded.file_of(o),
                            o.line
                        ),
                    )
                    .key(key()),
                ),
            );
        } else {
            by_seq.insert(seq, i);
        }
        match file_last.get(&e.file).map(|&j| &loaded.events[j]) {
            Some(l) if e.line < l.line => {
                let lseq = l.event.envelope.sequence.unwrap_or(0);
                findings.push(
                    loaded.at(
                        e,
                        Finding::new(
                            Kind::SequenceOrder,
                            format!(
                                "the file is not in sequence (append) order: line {} has sequence \
                                {seq}, above the sequence {lseq} of the later line {} ({})",
                                e.line,
                                l.line,
                                l.event_id()
                            ),
                        )
                        .key(key())
                        .values(format!("< {lseq}"), seq.to_string()),
                    ),
                );
            }
            _ => {
                file_last.insert(e.file, i);
            }
        }
        all.push(seq);
    }
    for range in missing(&all) {
        let why = "an event was lost; the daemon numbers the events of every origin it holds";
        findings.push(
            Finding::new(
                Kind::SequenceGap,
                format!("sequence {range} missing from the JSONL ({why})"),
            )
            .values(range.clone(), "absent"),
        );
    }
}

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

/// Verifies PATH as `verify replay` does, with the event logs read by this
/// reference reader.
pub fn report(path: &Path, opts: &verify::Options) -> Result<Report, InputError> {
    let tree = verify::internals::open(path, &opts.limits)?;
    if tree.is_v5_layout() {
        return Err(InputError::V5Layout { path: path.to_path_buf() });
    }
    let mut findings = Findings::new(opts.max_diffs);
    let mut summary: BTreeMap<String, Value> = BTreeMap::new();
    let (tables, version) = verify_into(&tree, opts, &mut findings, &mut summary)?;
    Ok(Report::new("replay", tree.display(), version, summary, tables, findings))
}

fn unreadable(tree: &Tree, reason: String) -> InputError {
    InputError::Unreadable { path: tree.thrum.clone(), reason }
}

fn verify_into(
    tree: &Tree,
    opts: &verify::Options,
    findings: &mut Findings,
    summary: &mut BTreeMap<String, Value>,
) -> Result<(Vec<TableStats>, Option<i64>), InputError> {
    let db_src = tree.database()?;
    let wal = verify::internals::check_wal(
        &db_src,
        ".thrum/var/messages.db",
        findings,
        opts.mode == Mode::Migrated,
    );
    if opts.mode == Mode::Fixture {
        verify::internals::check_wal_mode(&db_src, ".thrum/var/messages.db", findings);
    }
    let fixture_db = verify::internals::FixtureDb::prepare_with(&db_src, &wal)?;
    let db = fixture_db.open(&tree.shown("var/messages.db"))?;

    // schema, integrity and manifest: merged after the event-log findings
    let mut aux = Findings::new(0);
    let (version, _) =
        verify::internals::check_db(&db, thrum_schemas::SCHEMA_VERSION, opts.mode, &mut aux);
    if opts.mode == Mode::Fixture {
        verify::internals::check_origin_daemon(&db, &mut aux);
    }
    let manifest = opts
        .check_manifest
        .then(|| verify::internals::check_manifest(tree, &db, version, &mut aux));

    verify::internals::check_layout(tree, findings);
    let mut loaded = load(tree, findings)?;
    if opts.mode == Mode::Fixture {
        sort_arrival(&mut loaded);
    }
    let mut lines_f = Findings::new(0);
    check_lines(&loaded, opts.mode, &mut lines_f);
    let mut main_f = Findings::new(0);
    let rep = replay_as(&loaded, opts.mode == Mode::Migrated, &mut main_f)
        .map_err(|e| unreadable(tree, format!("replay database failed: {e}")))?;
    let mut tables = verify::internals::compare_projected(&db, &rep.conn, &mut main_f)
        .map_err(|e| unreadable(tree, format!("reading the replayed database failed: {e}")))?;
    match opts.mode {
        Mode::Fixture => tables.push(check_event_log(&db, &loaded, &mut main_f)),
        Mode::Migrated => match db
            .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
        {
            Ok(n) => {
                summary.insert(
                    "events_table".into(),
                    json!(format!("{n} rows (not backfilled by the migration; not compared)")),
                );
            }
            Err(e) => findings.push(
                Finding::new(Kind::TableUnreadable, format!("cannot count the events table: {e}"))
                    .table("events"),
            ),
        },
    }
    tables.extend(verify::internals::check_local(&db, &rep.cleaned_agents, &mut main_f));
    verify::internals::check_identities(tree, &db, &mut main_f);
    check_shards(tree, &db, &loaded, &mut main_f);
    for part in [lines_f, main_f] {
        for f in part.into_parts().0 {
            findings.push(f);
        }
    }
    // arrival order: the rebuild's own replay in time order
    let rebuild = if loaded.arrival {
        let mut timed = loaded.clone();
        sort(&mut timed);
        let rb = replay_as(&timed, false, &mut Findings::new(1))
            .map_err(|e| unreadable(tree, format!("replay database failed: {e}")))?;
        let n = verify::internals::rebuild_order_differs(&rep.conn, &rb.conn, findings)
            .map_err(|e| unreadable(tree, format!("comparing the replays failed: {e}")))?;
        summary.insert(
            "replay_order".into(),
            json!(format!(
                "sequence (arrival order: the events have more than one origin_daemon); a rebuild \
                    in (timestamp, event_id) order projects {n} value(s) otherwise"
            )),
        );
        Some(rb)
    } else {
        None
    };
    let abort = match &rebuild {
        Some(rb) => rb.abort.as_ref(),
        None => rep.abort.as_ref(),
    };
    if let Some(f) = verify::internals::rebuild_finding(abort, &loaded.files, &tree.base)? {
        findings.push(f);
    }
    for f in aux.into_parts().0 {
        findings.push(f);
    }
    if opts.mode == Mode::Fixture {
        verify::internals::classify_crash(tree, &db, &wal, findings);
    }
    if let Some(m) = &manifest {
        if let Some(p) = &m.manifest {
            summary.insert(
                "manifest".into(),
                json!(format!("{} ({} files checked)", p.display(), m.files_checked)),
            );
        }
        if let Some(p) = &m.checksums {
            summary.insert("sha256sums".into(), json!(p.display().to_string()));
        }
    }
    let files = &loaded.files;
    summary.insert("jsonl_files".into(), json!(files.len()));
    summary.insert("jsonl_lines".into(), json!(files.iter().map(|f| f.lines).sum::<u64>()));
    summary.insert("jsonl_events".into(), json!(loaded.events.len()));
    summary.insert("jsonl_blank_lines".into(), json!(files.iter().map(|f| f.blank).sum::<u64>()));
    summary.insert(
        "jsonl_unparsable_lines".into(),
        json!(files.iter().map(|f| f.unparsable).sum::<u64>()),
    );
    summary.insert(
        "replay".into(),
        json!(format!(
            "{} applied, {} ignored (unknown type or thread.create), {} rejected",
            rep.applied, rep.ignored, rep.rejected
        )),
    );
    summary.insert(
        "mode".into(),
        json!(match opts.mode {
            Mode::Fixture => "v13 fixture",
            Mode::Migrated => "migrated from v5",
        }),
    );
    Ok((tables, version))
}
