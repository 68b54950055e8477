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

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use thrum_schemas::events::Event;
use verify::internals::{decode_line, split_lines, EventFile, RawLine, MAX_LINE_BYTES};
use verify::internals::{Replay, Replayer};
use verify::InputError;
use verify::Mode;
use verify::Report;
use verify::TableStats;
use verify::Tree;
use verify::{Finding, Findings, Kind};

mod event_log;
mod lines;

pub use event_log::{check_event_log, check_shards};
pub use lines::check_lines;

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
