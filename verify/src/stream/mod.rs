//! Reading and replaying the event logs as streams, in bounded memory.
//!
//! The replay order is a stable sort of every event
//! by (timestamp, event_id) as byte strings, ties keeping file order
//! (`events.jsonl` first, then the shards by file name, each in line order).
//! A stable sort of the concatenated files equals a merge of the files, each
//! stably sorted on its own, that takes ties from the earlier file; and a
//! file whose events are already in order (as the daemon and the generator
//! write them) is its own stable sort. So each file is read as a stream and
//! the streams are merged: only the next event of each file is held.
//!
//! A file found out of order while streaming makes the attempt start over:
//! every file is then checked (decoded in full, nothing kept) and the files
//! out of order are read into memory and sorted there, the others streamed.
//!
//! Two producer threads each read half of the files (by size; contiguous
//! file indexes), decode the lines, run the checks of each line (the
//! per-event [`crate::checks::line_checks`]), record what later
//! checks need (see [`crate::index`]), and merge their files. The calling
//! thread merges the two streams (ties to the first half), checks
//! sequences, and applies each event to the replay database.
//!
//! A v13 fixture whose events have more than one `origin_daemon` is a
//! daemon that pulled events from peers: its database follows arrival
//! order, `sequence` (docs/FORMAT.md section 4b). The first reader to see a
//! second origin stops the attempt ([`Stop::MultiOrigin`]), and the logs are
//! replayed again in sequence order, the same way (each file is in sequence
//! order as appended; a file that is not is read whole and sorted). The
//! daemon's rebuild order is then replayed too, into a second database
//! ([`Streamed::rebuild`]), to name what a rebuild would project otherwise.
//!
//! Findings are the same, in the same order, as reading every event into
//! memory: per-line findings carry their event's position and are sorted by
//! it at the end; what needs knowledge of other lines (duplicate ids, shard
//! ownership) is resolved at the end from the compact records; details of a
//! few events (e.g. the id of the first holder of a duplicate sequence) are
//! read again from the files.

use crate::checks::{self, Mode, SLOT_DUPLICATE, SLOT_SHARD};
use crate::error::InputError;
use crate::findings::{Findings, Kind, Ranked};
use crate::index::{find, MessageKey, Pos};
use crate::jsonl::{EventFile, Source};
use crate::replay::{self, Replay, Replayer};
use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

mod merge;
mod reader;
#[cfg(test)]
mod record_tests;
mod records;
mod sequences;

use merge::*;
use reader::*;
pub use reader::{fetch_each, EventReader, Order, PlacedEvent};
pub use records::{row_signature, CreateRec, Index, NO_NAME};
use records::{IdRec, Names, Records, Shared};
use sequences::*;

/// Inputs whose event files total more bytes than this are replayed into a
/// database file instead of memory.
pub const ON_DISK_ABOVE: u64 = 64 << 20;
/// SQLite's page cache for an on-disk replay database (a larger one made
/// no measurable difference on `large`).
const REPLAY_CACHE_BYTES: i64 = 64 << 20;
/// Events per message between a producer and the merging thread.
const BATCH: usize = 512;

/// The outcome of streaming the event logs.
pub struct Streamed {
    /// Every event file read, with its counts.
    pub files: Vec<EventFile>,
    /// Findings of the JSONL reader, file by file, in line order (bounded:
    /// see [`crate::findings::LIST_CEILING`]).
    pub read_findings: Findings,
    /// Findings of the line checks, sequences last, in the order of the
    /// reference reader (per event in file order: envelope, duplicate id,
    /// the rest, shard ownership).
    pub line_findings: Findings,
    /// The replay in arrival order.
    pub replay: Replay,
    /// Findings of the replay, in replay order.
    pub replay_findings: Findings,
    /// Events read.
    pub events: u64,
    /// The compact index of the events.
    pub index: Index,
    /// The order of the replay: `Order::Sequence` when the events have
    /// more than one origin.
    pub order: Order,
    /// With `Order::Sequence`: the replay in the daemon's rebuild order
    /// (time order), into a second database.
    pub rebuild: Option<Replay>,
    /// Per source: whether the file is out of time order.
    time_unsorted: Vec<bool>,
    /// The origins of the events (`None`: events without one), sorted.
    origins: Vec<Option<String>>,
}

/// Why an attempt stopped.
pub enum Stop {
    /// A file is not in replay order (streamed files only).
    Unsorted,
    /// The input cannot be read.
    Input(InputError),
    /// The replay database failed.
    Replay(rusqlite::Error),
    /// The other side of the pipeline gave up.
    Cancelled,
    /// A v13 fixture read in time order has events of a second origin: it
    /// is replayed in sequence order instead.
    MultiOrigin,
}

impl From<InputError> for Stop {
    fn from(e: InputError) -> Stop {
        Stop::Input(e)
    }
}

/// Runs `attempt` with every file streamed; when a file turns out to be out
/// of order, finds every such file and runs it again with those read whole.
fn with_restarts<T>(
    sources: &[Source],
    order: Order,
    mut attempt: impl FnMut(&[bool]) -> Result<T, Stop>,
) -> Result<T, Stop> {
    match attempt(&vec![false; sources.len()]) {
        Err(Stop::Unsorted) => {}
        other => return other,
    }
    match attempt(&unsorted_files(sources, order)?) {
        Err(Stop::Unsorted) => attempt(&vec![true; sources.len()]),
        other => other,
    }
}

/// Streams and replays the event logs (see the module documentation). The
/// replay database is a temporary file when the files hold more than
/// `on_disk_above` bytes. An input with more files or lines than `Pos`
/// numbers is [`InputError::TooLarge`].
/// Setting `abort` stops it early (with `Stop::Cancelled`).
pub fn run(
    sources: Vec<Source>,
    mode: Mode,
    on_disk_above: u64,
    abort: &AtomicBool,
) -> Result<Streamed, Stop> {
    let total: u64 =
        sources.iter().map(|s| std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0)).sum();
    let on_disk = total > on_disk_above;
    let time = with_restarts(&sources, Order::Time, |in_memory| {
        attempt_run(&sources, mode, Order::Time, in_memory, on_disk, abort)
    });
    let mut s = match time {
        Err(Stop::MultiOrigin) => {
            let mut s = with_restarts(&sources, Order::Sequence, |in_memory| {
                attempt_run(&sources, mode, Order::Sequence, in_memory, on_disk, abort)
            })?;
            // the arrival order's page cache is not read while the rebuild runs
            if on_disk {
                s.replay.shrink_cache().map_err(Stop::Replay)?;
            }
            s.rebuild =
                Some(rebuild_replay(&sources, &s.time_unsorted, &s.origins, on_disk, abort)?);
            s
        }
        other => other?,
    };
    s.index.sources = sources;
    Ok(s)
}

/// The events replayed in time order (the daemon's rebuild) into a fresh
/// database, nothing else checked. A file out of time order (`time_unsorted`;
/// `events.jsonl`, where every origin's events arrive) is read as one
/// stream per origin: a daemon writes its own events in time order and
/// pulls keep that order, so each of those streams is in time order. Should
/// one not be, the files out of time order are read whole and sorted.
fn rebuild_replay(
    sources: &[Source],
    time_unsorted: &[bool],
    origins: &[Option<String>],
    on_disk: bool,
    abort: &AtomicBool,
) -> Result<Replay, Stop> {
    let mut split: Vec<Source> = Vec::new();
    let mut only: Vec<Option<Option<String>>> = Vec::new();
    for (src, unsorted) in sources.iter().zip(time_unsorted) {
        if *unsorted {
            for o in origins {
                split.push(src.clone());
                only.push(Some(o.clone()));
            }
        } else {
            split.push(src.clone());
            only.push(None);
        }
    }
    match rebuild_attempt(&split, &only, &vec![false; split.len()], on_disk, abort) {
        Err(Stop::Unsorted) => {}
        other => return other,
    }
    match rebuild_attempt(sources, &[], time_unsorted, on_disk, abort) {
        Err(Stop::Unsorted) => {
            rebuild_attempt(sources, &[], &vec![true; sources.len()], on_disk, abort)
        }
        other => other,
    }
}

/// One attempt of [`rebuild_replay`]: `only` filters the sources by origin,
/// those with `in_memory` set are read whole and sorted.
fn rebuild_attempt(
    sources: &[Source],
    only: &[Option<Option<String>>],
    in_memory: &[bool],
    on_disk: bool,
    abort: &AtomicBool,
) -> Result<Replay, Stop> {
    let (conn, dir) = fresh_replay_db(on_disk)?;
    let (ids, creates) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let cancel = AtomicBool::new(false);
    let ctx = Shared {
        sources,
        // no checks of the lines (they were checked in arrival order)
        mode: Mode::Migrated,
        order: Order::Time,
        only,
        hasher: &RandomState::new(),
        names: &Names::default(),
        cancel: &cancel,
        abort,
        ids: &ids,
        creates: &creates,
        // the rebuild only projects: its lines were checked and recorded in
        // arrival order
        record: false,
    };
    let mut r = Replayer::new(conn).map_err(Stop::Replay)?;
    // what the replay reports was reported by the replay in arrival order
    let mut ignored = crate::findings::Findings::new(1);
    let bar = crate::progress::Bar::counter("rebuild", "events replayed in rebuild order");
    pipeline(&ctx, in_memory, |ev| {
        bar.inc(1);
        r.apply(&ev.event, &sources[ev.pos.file()].rel, ev.pos.line(), &mut ignored)
            .map_err(Stop::Replay)
    })?;
    let mut rep = r.finish().map_err(Stop::Replay)?;
    if let Some(d) = dir {
        // only read from now on, beside the replay in arrival order
        rep.shrink_cache().map_err(Stop::Replay)?;
        rep.keep_dir(d);
    }
    Ok(rep)
}

/// A fresh replay database: in memory, or in a temporary file when `on_disk`.
fn fresh_replay_db(
    on_disk: bool,
) -> Result<(rusqlite::Connection, Option<crate::cleanup::TempDir>), Stop> {
    Ok(if on_disk {
        let dir = crate::input::temp_dir("verify-replay-")?;
        (
            replay::fresh_v13_on_disk(&dir.path().join("replay.db"), REPLAY_CACHE_BYTES)
                .map_err(Stop::Replay)?,
            Some(dir),
        )
    } else {
        (replay::fresh_v13_for_replay().map_err(Stop::Replay)?, None)
    })
}

/// The positions of the events in the order [`run`] replays them.
pub fn replay_order(sources: &[Source]) -> Result<Vec<Pos>, Stop> {
    with_restarts(sources, Order::Time, |in_memory| {
        let mut order = Vec::new();
        let (ids, creates) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
        let no = AtomicBool::new(false);
        let ctx = Shared {
            sources,
            mode: Mode::Migrated,
            order: Order::Time,
            only: &[],
            hasher: &RandomState::new(),
            names: &Names::default(),
            cancel: &no,
            abort: &no,
            ids: &ids,
            creates: &creates,
            record: false,
        };
        pipeline(&ctx, in_memory, |ev| {
            order.push(ev.pos);
            Ok(())
        })?;
        Ok(order)
    })
}

/// The producers and the merge: `sink` gets every event in replay order.
fn pipeline(
    ctx: &Shared<'_>,
    in_memory: &[bool],
    mut sink: impl FnMut(PlacedEvent) -> Result<(), Stop>,
) -> Result<(Produced, Produced), Stop> {
    let split = split_point(ctx.sources);
    let (ta, ra) = sync_channel(8);
    let (tb, rb) = sync_channel(8);
    let (merged, pa, pb) = std::thread::scope(|s| {
        let ha = s.spawn(|| produce(ctx, 0..split, in_memory, ta));
        let hb = s.spawn(|| produce(ctx, split..ctx.sources.len(), in_memory, tb));
        let merged = (|| -> Result<(), Stop> {
            let (mut a, mut b) = (Incoming::new(ra), Incoming::new(rb));
            // a second origin across the two producers
            let mut origin = None;
            let see = ctx.mode == Mode::Fixture && ctx.order == Order::Time;
            loop {
                let take_b = match (a.head()?, b.head()?) {
                    (Some(x), Some(y)) => before(ctx.order, y, x),
                    (None, Some(_)) => true,
                    (Some(_), None) => false,
                    (None, None) => return Ok(()),
                };
                let ev =
                    if take_b { b.head.take() } else { a.head.take() }.expect("a head was seen");
                if see {
                    records::see_origin(&mut origin, &ev.event)?;
                }
                sink(ev)?;
            }
        })();
        if merged.is_err() {
            ctx.cancel.store(true, AtomicOrdering::Relaxed);
        }
        (merged, ha.join(), hb.join())
    });
    let panicked = || {
        Stop::Input(InputError::Unreadable {
            path: ctx.sources.first().map(|s| s.path.clone()).unwrap_or_default(),
            reason: "JSONL decoding thread panicked".into(),
        })
    };
    let (pa, pb) = (pa.map_err(|_| panicked())?, pb.map_err(|_| panicked())?);
    match (pa, pb, merged) {
        (Ok(a), Ok(b), Ok(())) => Ok((a, b)),
        // a producer's own reason first: the merge only sees it as a cancel
        (pa, pb, merged) => {
            let errs: Vec<Stop> =
                [pa.err(), pb.err(), merged.err()].into_iter().flatten().collect();
            // a second origin first: the attempt is made again in sequence order anyway
            let i = errs
                .iter()
                .position(|e| matches!(e, Stop::MultiOrigin))
                .or_else(|| errs.iter().position(|e| !matches!(e, Stop::Cancelled)))
                .unwrap_or(0);
            Err(errs.into_iter().nth(i).unwrap_or(Stop::Cancelled))
        }
    }
}

fn attempt_run(
    sources: &[Source],
    mode: Mode,
    order: Order,
    in_memory: &[bool],
    on_disk: bool,
    abort: &AtomicBool,
) -> Result<Streamed, Stop> {
    let (conn, dir) = fresh_replay_db(on_disk)?;
    if mode == Mode::Migrated {
        replay::without_threads(&conn).map_err(Stop::Replay)?;
    }
    let hasher = RandomState::new();
    let names = Names::default();
    let cancel = AtomicBool::new(false);
    let (ids, creates) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let ctx = Shared {
        sources,
        mode,
        order,
        only: &[],
        hasher: &hasher,
        names: &names,
        cancel: &cancel,
        abort,
        ids: &ids,
        creates: &creates,
        record: true,
    };
    let mut replay_findings_f = crate::findings::Findings::new(0);
    let mut seqs = Sequences { arrival: order == Order::Sequence, ..Sequences::default() };
    let (mut origins, mut no_origin) = (HashSet::new(), false);
    let mut events = 0u64;
    let mut r = Replayer::new(conn).map_err(Stop::Replay)?;
    let bar = crate::progress::Bar::counter("replay", "events read and replayed");
    let (a, b) = pipeline(&ctx, in_memory, |ev| {
        events += 1;
        bar.inc(1);
        if mode == Mode::Fixture {
            seqs.see(&ev.event, ev.pos, sources);
        }
        if order == Order::Sequence {
            match ev.event.envelope.origin_daemon.as_deref() {
                Some(o) if !origins.contains(o) => {
                    origins.insert(o.to_owned());
                }
                Some(_) => {}
                None => no_origin = true,
            }
        }
        r.apply(&ev.event, &sources[ev.pos.file()].rel, ev.pos.line(), &mut replay_findings_f)
            .map_err(Stop::Replay)
    })?;
    let mut rep = r.finish().map_err(Stop::Replay)?;
    if let Some(d) = dir {
        rep.keep_dir(d);
    }
    // sequences first, to free their map before the records are sorted
    let seq_findings = match mode {
        Mode::Fixture => {
            let holders = fetch_ids(sources, seqs.holders_to_fetch())?;
            seqs.finish(sources, &holders)
        }
        Mode::Migrated => Findings::new(0),
    };
    let mut origins: Vec<Option<String>> = origins.into_iter().map(Some).collect();
    if no_origin {
        origins.push(None);
    }
    origins.sort();
    let (files, time_unsorted, read_findings, rec) = join_produced(a, b);
    let names = names.0.into_inner().unwrap_or_else(|e| e.into_inner()).1;
    let mut tagged = rec.tagged;
    let mut ids = ids.into_inner().unwrap_or_else(|e| e.into_inner());
    tag_duplicate_ids(&mut ids, sources, &mut tagged);
    let mut creates = creates.into_inner().unwrap_or_else(|e| e.into_inner());
    tag_shard_mismatches(&mut creates, rec.shard_events, &names, sources, &mut tagged)?;
    // in position order, the first of each kind kept (bounded), every one counted
    let mut line_findings = tagged.into_findings(0);
    line_findings.append(seq_findings);
    let mut noid = rec.noid;
    noid.sort_unstable();
    let index = Index { sources: Vec::new(), ids, noid, creates, names, hasher };
    Ok(Streamed {
        files,
        read_findings,
        line_findings,
        replay: rep,
        replay_findings: replay_findings_f,
        events,
        index,
        order,
        rebuild: None,
        time_unsorted,
        origins,
    })
}

/// What the two producers read, put together: every file with its counts,
/// per file whether it is out of time order, the reader's findings (file by
/// file) and the records.
fn join_produced(a: Produced, b: Produced) -> (Vec<EventFile>, Vec<bool>, Findings, Records) {
    let mut files = a.infos;
    files.extend(b.infos);
    let mut time_unsorted = a.time_unsorted;
    time_unsorted.extend(b.time_unsorted);
    let mut read_findings = Findings::new(0);
    for f in a.findings.into_iter().chain(b.findings) {
        read_findings.append(f);
    }
    let mut rec = a.rec;
    let other = b.rec;
    rec.tagged.merge(other.tagged);
    rec.noid.extend(other.noid);
    rec.shard_events.extend(other.shard_events);
    (files, time_unsorted, read_findings, rec)
}

/// Duplicate ids: every line after the first (in file order) of an id is
/// tagged; `ids` is left sorted, one record per id.
fn tag_duplicate_ids(ids: &mut Vec<IdRec>, sources: &[Source], tagged: &mut Ranked<(Pos, u8)>) {
    let rel = |p: Pos| sources[p.file()].rel.as_str();
    ids.sort_unstable_by(|x, y| x.key.cmp(&y.key).then(x.pos.cmp(&y.pos)));
    let mut i = 0;
    while i < ids.len() {
        let mut j = i + 1;
        while j < ids.len() && ids[j].key == ids[i].key {
            let first = ids[i].pos;
            tagged.push(
                (ids[j].pos, SLOT_DUPLICATE),
                checks::duplicate_id(&ids[i].key.text(), rel(first), first.line())
                    .at(rel(ids[j].pos), ids[j].pos.line()),
            );
            j += 1;
        }
        i = j;
    }
    ids.dedup_by(|later, first| later.key == first.key);
}

/// Shard ownership: the authors of a message are those of its first create
/// in file order (`creates` is left sorted by message); every other message
/// event in another shard is tagged, and of the creates in a shard not
/// their own the first ones are listed (their ids read back), every one
/// counted.
fn tag_shard_mismatches(
    creates: &mut [CreateRec],
    shard_events: Vec<(MessageKey, Pos, u32, Box<str>)>,
    names: &[String],
    sources: &[Source],
    tagged: &mut Ranked<(Pos, u8)>,
) -> Result<(), Stop> {
    let rel = |p: Pos| sources[p.file()].rel.as_str();
    creates.sort_unstable_by(|x, y| x.key.cmp(&y.key).then(x.pos.cmp(&y.pos)));
    let allowed = |c: &CreateRec| -> Vec<String> {
        let mut v = vec![names[c.own as usize].clone()];
        if c.other != NO_NAME {
            v.push(names[c.other as usize].clone());
        }
        v
    };
    for (mid, p, sid, eid) in shard_events {
        if let Some(h) = find(creates, &mid, |c| &c.key) {
            let c = &creates[h];
            if sid != c.own && sid != c.other {
                let f =
                    checks::shard_mismatch(&mid.text(), &allowed(c), &names[sid as usize], &eid)
                        .at(rel(p), p.line());
                tagged.push((p, SLOT_SHARD), f);
            }
        }
    }
    let (misplaced, all) = records::misplaced_creates(creates, names, sources);
    let fetched = fetch_ids(sources, misplaced.iter().map(|(p, _)| *p))?;
    for &(p, h) in &misplaced {
        let c = &creates[h];
        let s = sources[p.file()].shard.as_deref().unwrap_or("");
        let eid = fetched.get(&p).map_or("", String::as_str);
        tagged.push(
            (p, SLOT_SHARD),
            checks::shard_mismatch(&c.key.text(), &allowed(c), s, eid).at(rel(p), p.line()),
        );
    }
    tagged.count_unlisted(Kind::ShardMismatch, all - misplaced.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_on_disk_equals_replay_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = String::new();
        for i in 0..50 {
            lines.push_str(&format!(
                "{{\"agent_id\":\"a{}\",\"event_id\":\"evt_{i:03}\",\"kind\":\"agent\",\"module\"\
                    :\"m\",\"role\":\"r\",\"timestamp\":\"2026-01-01T00:00:{:02}Z\",\"type\":\"age\
                    nt.register\"}}\n",
                i % 7,
                50 - i
            ));
        }
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, lines).unwrap();
        let src =
            || vec![Source { path: path.clone(), rel: ".thrum/events.jsonl".into(), shard: None }];
        let rows = |s: &Streamed| {
            crate::value::query_all(&s.replay.conn, "SELECT * FROM agents ORDER BY agent_id")
                .unwrap()
        };
        let no = AtomicBool::new(false);
        let disk = run(src(), Mode::Migrated, 0, &no).ok().unwrap();
        let mem = run(src(), Mode::Migrated, u64::MAX, &no).ok().unwrap();
        assert_eq!(rows(&disk), rows(&mem));
        assert_eq!(rows(&disk).len(), 7);
        assert_eq!(disk.replay.applied, 50);
    }

    /// A daemon's `events.jsonl` with two origins interleaved as they
    /// arrived (`(origin, second)` per line, in line order), and its source.
    fn arrived(dir: &std::path::Path, lines: &[(&str, u32)]) -> Source {
        let mut text = String::new();
        for (i, (o, sec)) in lines.iter().enumerate() {
            text.push_str(&format!(
                "{{\"agent_id\":\"a\",\"event_id\":\"evt_{sec:03}\",\"kind\":\"agent\",\"module\"\
                    :\"m\",\"origin_daemon\":\"{o}\",\"role\":\"r{sec}\",\"sequence\":{},\"timesta\
                    mp\":\"2026-01-01T00:00:{sec:02}Z\",\"type\":\"agent.register\",\"v\":1}}\n",
                i + 1
            ));
        }
        let path = dir.join("events.jsonl");
        std::fs::write(&path, text).unwrap();
        Source { path, rel: ".thrum/events.jsonl".into(), shard: None }
    }

    #[test]
    fn arrival_order_is_sequence_order_and_the_rebuild_streams_each_origin() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = ("d_aaaaaaaaaaaa", "d_bbbbbbbbbbbb");
        // arrival: a1 a3 b2 a5 b4; each origin's events in time order
        let src = arrived(dir.path(), &[(a, 1), (a, 3), (b, 2), (a, 5), (b, 4)]);
        let no = AtomicBool::new(false);
        let s = run(vec![src.clone()], Mode::Fixture, u64::MAX, &no).ok().unwrap();
        assert_eq!(s.order, Order::Sequence);
        assert_eq!(s.origins, vec![Some(a.to_string()), Some(b.to_string())]);
        assert_eq!(s.time_unsorted, vec![true]);
        let role = |r: &Replay| {
            crate::value::query_all(&r.conn, "SELECT role FROM agents").unwrap()[0][0]
                .as_str()
                .unwrap()
                .to_string()
        };
        // arrival order: the last to arrive wins; a rebuild: the latest in time
        assert_eq!(role(&s.replay), "r4");
        assert_eq!(role(s.rebuild.as_ref().unwrap()), "r5");
        // the rebuild reads the file once per origin, streamed
        let only = vec![Some(Some(a.to_string())), Some(Some(b.to_string()))];
        let split =
            rebuild_attempt(&[src.clone(), src.clone()], &only, &[false, false], false, &no)
                .ok()
                .unwrap();
        assert_eq!((role(&split), split.applied), ("r5".to_string(), 5));
        // an origin whose own events are not in time order cannot be streamed
        let src = arrived(dir.path(), &[(a, 3), (a, 1), (b, 2)]);
        assert!(matches!(
            rebuild_attempt(&[src.clone(), src.clone()], &only, &[false, false], false, &no),
            Err(Stop::Unsorted)
        ));
        let s = run(vec![src], Mode::Fixture, u64::MAX, &no).ok().unwrap();
        assert_eq!(role(s.rebuild.as_ref().unwrap()), "r3");
        // one origin: time order, as before
        let src = arrived(dir.path(), &[(a, 1), (a, 3)]);
        let s = run(vec![src], Mode::Fixture, u64::MAX, &no).ok().unwrap();
        assert_eq!((s.order, s.rebuild.is_none()), (Order::Time, true));
    }
}
