//! Reading and replaying the event logs as streams, in bounded memory.
//!
//! The replay order is the one of [`crate::jsonl::sort`]: every event sorted
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
//! per-event part of [`crate::checks::check_lines`]), record what later
//! checks need (see [`crate::index`]), and merge their files. The calling
//! thread merges the two streams (ties to the first half), checks
//! sequences, and applies each event to the replay database.
//!
//! Findings are the same, in the same order, as reading every event into
//! memory: per-line findings carry their event's position and are sorted by
//! it at the end; what needs knowledge of other lines (duplicate ids, shard
//! ownership) is resolved at the end from the compact records; details of a
//! few events (e.g. the id of the first holder of a duplicate sequence) are
//! read again from the files.

use crate::checks::{self, Mode, SLOT_DUPLICATE, SLOT_SHARD};
use crate::error::InputError;
use crate::findings::{Finding, Kind};
use crate::index::{find, EventKey, MessageKey, Pos};
use crate::jsonl::{decode_line, EventFile, RawLine, Source, MAX_LINE_BYTES};
use crate::lines::{Line, LineReader, Reopen};
use crate::replay::{self, Replay, Replayer};
use serde_json::Value;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use thrum_schemas::events::{is_message_event, Envelope, Event, Payload};
use thrum_schemas::ids::shard_name;

/// Inputs whose event files total more bytes than this are replayed into a
/// database file instead of memory.
pub const ON_DISK_ABOVE: u64 = 64 << 20;
/// SQLite's page cache for an on-disk replay database (a larger one made
/// no measurable difference on `large`).
const REPLAY_CACHE_BYTES: i64 = 64 << 20;
/// Events per message between a producer and the merging thread.
const BATCH: usize = 512;

/// One `events` row's worth of an event: its first line's id, place, and a
/// keyed hash of what the row must hold (see [`row_signature`]).
#[derive(Debug, Clone)]
pub struct IdRec {
    pub key: EventKey,
    pub pos: Pos,
    pub sig: u64,
}

/// A `message.create`: its message id, place, and the shard names it allows
/// (indexes into [`Index::names`]; `other` is [`NO_NAME`] without an author).
#[derive(Debug, Clone)]
pub struct CreateRec {
    pub key: MessageKey,
    pub pos: Pos,
    pub own: u32,
    pub other: u32,
}

pub const NO_NAME: u32 = u32::MAX;

/// What the checks after the replay need to know about the event lines.
pub struct Index {
    pub sources: Vec<Source>,
    /// One record per distinct event id, for its first line in file order; sorted by id.
    pub ids: Vec<IdRec>,
    /// Events without an event_id, in file order.
    pub noid: Vec<Pos>,
    /// Every `message.create`, sorted by (message id, position).
    pub creates: Vec<CreateRec>,
    /// Shard names of [`CreateRec`].
    pub names: Vec<String>,
    /// Key of the row signatures.
    pub hasher: RandomState,
}

impl Index {
    pub fn rel(&self, p: Pos) -> &str {
        &self.sources[p.file()].rel
    }
    /// The first `message.create` of a message in file order.
    pub fn first_create(&self, mid: &str) -> Option<&CreateRec> {
        let k = MessageKey::new(mid);
        find(&self.creates, &k, |c| &c.key).map(|i| &self.creates[i])
    }
}

/// The outcome of streaming the event logs.
pub struct Streamed {
    pub files: Vec<EventFile>,
    /// Findings of the JSONL reader, file by file, in line order.
    pub read_findings: Vec<Finding>,
    /// Findings of [`checks::check_lines`], in its order.
    pub line_findings: Vec<Finding>,
    pub replay: Replay,
    /// Findings of the replay, in replay order.
    pub replay_findings: Vec<Finding>,
    pub events: u64,
    pub index: Index,
}

/// Why an attempt stopped.
pub enum Stop {
    /// A file is not in replay order (streamed files only).
    Unsorted,
    Input(InputError),
    Replay(rusqlite::Error),
    /// The other side of the pipeline gave up.
    Cancelled,
}

impl From<InputError> for Stop {
    fn from(e: InputError) -> Stop {
        Stop::Input(e)
    }
}

/// The keyed hash of what an event's `events` row must hold: `event_json`
/// the line, `type`, `timestamp` and `origin_daemon` (or `''`) its
/// envelope's, and `sequence` its sequence. The encoding of an event
/// without a sequence is one no row has.
pub fn event_signature(hasher: &RandomState, text: &str, env: &Envelope) -> u64 {
    let mut h = hasher.build_hasher();
    for t in [text, &env.event_type, &env.timestamp, env.origin_daemon.as_deref().unwrap_or("")] {
        put_text(&mut h, t.as_bytes());
    }
    match env.sequence {
        Some(s) => {
            h.write_u8(b'I');
            h.write_i64(s);
        }
        None => h.write_u8(b'A'),
    }
    h.finish()
}

/// The same hash of an `events` row (columns event_json, type, timestamp,
/// origin_daemon, sequence). Equal to [`event_signature`] exactly when every
/// column holds what the event requires (up to a 2^-64 chance).
pub fn row_signature(hasher: &RandomState, cols: [rusqlite::types::ValueRef<'_>; 5]) -> u64 {
    use rusqlite::types::ValueRef;
    let mut h = hasher.build_hasher();
    for v in &cols[..4] {
        match v {
            ValueRef::Text(t) => put_text(&mut h, t),
            _ => h.write_u8(b'X'),
        }
    }
    match cols[4] {
        ValueRef::Integer(s) => {
            h.write_u8(b'I');
            h.write_i64(s);
        }
        _ => h.write_u8(b'X'),
    }
    h.finish()
}

fn put_text(h: &mut impl Hasher, t: &[u8]) {
    h.write_u8(b'T');
    h.write_usize(t.len());
    h.write(t);
}

/// Shard names, numbered; shared by the producers (each keeps a cache).
#[derive(Default)]
struct Names(Mutex<(HashMap<String, u32>, Vec<String>)>);

impl Names {
    fn id(&self, cache: &mut HashMap<String, u32>, name: String) -> u32 {
        if let Some(&i) = cache.get(&name) {
            return i;
        }
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (map, list) = &mut *g;
        let i = *map.entry(name.clone()).or_insert_with(|| {
            list.push(name.clone());
            (list.len() - 1) as u32
        });
        cache.insert(name, i);
        i
    }
}

/// An event on its way to the replay.
pub struct Ev {
    pub pos: Pos,
    pub event: Event,
}

fn key_of(e: &Event) -> (&[u8], &[u8]) {
    (e.envelope.timestamp.as_bytes(), e.envelope.event_id.as_deref().unwrap_or("").as_bytes())
}

/// Reads the events of one file in line order, decoding each line as
/// [`crate::jsonl::parse_file`] does.
pub struct EventReader {
    lines: LineReader<Reopen>,
    pub info: EventFile,
    pub findings: Vec<Finding>,
}

impl EventReader {
    pub fn open(src: &Source) -> Result<EventReader, InputError> {
        let lines = LineReader::open(&src.path, MAX_LINE_BYTES).map_err(|e| InputError::io(&src.path, e))?;
        let info = EventFile { rel: src.rel.clone(), shard: src.shard.clone(), lines: 0, events: 0, blank: 0, unparsable: 0, undecodable: None };
        Ok(EventReader { lines, info, findings: Vec::new() })
    }

    /// The next event: its line number and event; its text is [`EventReader::text`].
    pub fn next(&mut self, path: &std::path::Path) -> Result<Option<(u64, std::ops::Range<usize>, Event)>, InputError> {
        loop {
            let Some(l) = self.lines.next_line().map_err(|e| InputError::io(path, e))? else { return Ok(None) };
            let (raw, range) = match l.line {
                Line::Held(r) => (RawLine::Held(self.lines.held(r.clone())), Some(r)),
                Line::Long { len, blank } => (RawLine::Long { len, blank }, None),
            };
            if let Some((_, event)) = decode_line(l.no, raw, l.terminated, &mut self.info, &mut self.findings) {
                return Ok(Some((l.no, range.unwrap_or(0..0), event)));
            }
        }
    }

    pub fn text(&self, r: std::ops::Range<usize>) -> &str {
        std::str::from_utf8(self.lines.held(r)).unwrap_or("")
    }
}

/// Everything a producer records about its files' events.
#[derive(Default)]
struct Records {
    /// Per-event findings of the line checks, with their position and slot.
    tagged: Vec<(Pos, u8, Finding)>,
    ids: Vec<IdRec>,
    noid: Vec<Pos>,
    creates: Vec<CreateRec>,
    /// Shard ownership of each `message.create` in a shard, judged by its
    /// own authors: right unless another create of its message comes first.
    create_mismatch: Vec<(Pos, MessageKey, Finding)>,
    /// Other message events in shards: message id, position, shard file's
    /// name (index), event id.
    shard_events: Vec<(MessageKey, Pos, u32, Box<str>)>,
}

struct Ctx<'a> {
    sources: &'a [Source],
    mode: Mode,
    hasher: &'a RandomState,
    names: &'a Names,
    /// Set when this attempt failed elsewhere.
    cancel: &'a AtomicBool,
    /// Set by the caller to stop reading.
    abort: &'a AtomicBool,
    /// The records of every event id and `message.create`, from both
    /// producers: one list each, grown in place (no copy of one producer's
    /// records into the other's at the end).
    ids: &'a Mutex<Vec<IdRec>>,
    creates: &'a Mutex<Vec<CreateRec>>,
}

/// Records a producer keeps before moving them to the shared lists.
const FLUSH: usize = 4096;

fn flush<T>(local: &mut Vec<T>, shared: &Mutex<Vec<T>>) {
    shared.lock().unwrap_or_else(|e| e.into_inner()).append(local);
}

/// Per-event work of a producer.
struct Recorder<'a> {
    ctx: &'a Ctx<'a>,
    cache: HashMap<String, u32>,
    scratch: Vec<(u8, Finding)>,
    rec: Records,
}

impl Recorder<'_> {
    fn record(&mut self, pos: Pos, text: &str, ev: &mut Event) {
        let src = &self.ctx.sources[pos.file()];
        let (rel, line, shard) = (src.rel.as_str(), pos.line(), src.shard.as_deref());
        self.scratch.clear();
        checks::line_checks(rel, line, shard, text, ev, self.ctx.mode, &mut self.scratch);
        for (slot, f) in self.scratch.drain(..) {
            self.rec.tagged.push((pos, slot, f));
        }
        let env = &ev.envelope;
        match env.event_id.as_deref() {
            Some(id) => {
                let sig = if self.ctx.mode == Mode::Fixture { event_signature(self.ctx.hasher, text, env) } else { 0 };
                self.rec.ids.push(IdRec { key: EventKey::new(id), pos, sig });
                if self.rec.ids.len() >= FLUSH {
                    flush(&mut self.rec.ids, self.ctx.ids);
                }
            }
            None => self.rec.noid.push(pos),
        }
        if let Payload::MessageCreate(m) = &ev.payload {
            let own = self.ctx.names.id(&mut self.cache, shard_name(&m.agent_id));
            let other = match m.authored_by.as_deref().filter(|a| !a.is_empty()) {
                Some(a) => self.ctx.names.id(&mut self.cache, shard_name(a)),
                None => NO_NAME,
            };
            let key = MessageKey::new(&m.message_id);
            if let Some(s) = shard {
                let allowed = checks::allowed_shards(m);
                if !allowed.iter().any(|a| a == s) {
                    let f = checks::shard_mismatch(&m.message_id, &allowed, s, env.event_id.as_deref().unwrap_or("")).at(rel, line);
                    self.rec.create_mismatch.push((pos, key.clone(), f));
                }
            }
            self.rec.creates.push(CreateRec { key, pos, own, other });
            if self.rec.creates.len() >= FLUSH {
                flush(&mut self.rec.creates, self.ctx.creates);
            }
        } else if let (Some(s), true) = (shard, is_message_event(&env.event_type)) {
            let mid = ev.raw.get("message_id").and_then(Value::as_str).unwrap_or("");
            let sid = self.ctx.names.id(&mut self.cache, s.to_owned());
            self.rec.shard_events.push((MessageKey::new(mid), pos, sid, env.event_id.as_deref().unwrap_or("").into()));
        }
        ev.raw = serde_json::Map::new();
    }
}

/// The position of line `line` of file `idx` (`src`), or the input error
/// saying which limit of [`Pos`] it is beyond.
fn position(src: &Source, idx: usize, line: u64) -> Result<Pos, Stop> {
    Pos::new(idx, line).ok_or_else(|| {
        let (path, reason) = if Pos::new(idx, 1).is_none() {
            (src.path.parent().unwrap_or(&src.path).to_path_buf(), format!("more than {} event files; the verifier numbers at most that many (no option raises this limit)", Pos::MAX_FILES))
        } else {
            (src.path.clone(), format!("more than {} lines; the verifier numbers at most that many lines per event file (no option raises this limit)", Pos::MAX_LINE))
        };
        Stop::Input(InputError::TooLarge { path, reason })
    })
}

/// One file of a producer: streamed, or read whole and sorted.
struct FileState {
    idx: usize,
    /// The file's reader; for a sorted file only its counts and findings are left.
    reader: EventReader,
    sorted: Option<std::vec::IntoIter<Ev>>,
    head: Option<Ev>,
    /// Key of the last event streamed (to see that the file is in order).
    last_ts: String,
    last_id: String,
}

impl FileState {
    fn open(idx: usize, in_memory: bool, rec: &mut Recorder<'_>) -> Result<FileState, Stop> {
        let src = &rec.ctx.sources[idx];
        let mut f = FileState { idx, reader: EventReader::open(src)?, sorted: None, head: None, last_ts: String::new(), last_id: String::new() };
        if in_memory {
            let mut evs = Vec::new();
            while let Some((line, range, mut event)) = f.reader.next(&src.path)? {
                let pos = position(src, idx, line)?;
                rec.record(pos, f.reader.text(range), &mut event);
                evs.push(Ev { pos, event });
            }
            evs.sort_by(|a, b| key_of(&a.event).cmp(&key_of(&b.event)));
            f.sorted = Some(evs.into_iter());
        }
        f.head = f.advance(rec)?;
        Ok(f)
    }

    /// The file's next event in replay order.
    fn advance(&mut self, rec: &mut Recorder<'_>) -> Result<Option<Ev>, Stop> {
        if let Some(s) = self.sorted.as_mut() {
            return Ok(s.next());
        }
        let src = &rec.ctx.sources[self.idx];
        let Some((line, range, mut event)) = self.reader.next(&src.path)? else { return Ok(None) };
        let pos = position(src, self.idx, line)?;
        let (ts, id) = key_of(&event);
        if (ts, id) < (self.last_ts.as_bytes(), self.last_id.as_bytes()) {
            return Err(Stop::Unsorted);
        }
        self.last_ts.clear();
        self.last_ts.push_str(&event.envelope.timestamp);
        self.last_id.clear();
        self.last_id.push_str(event.envelope.event_id.as_deref().unwrap_or(""));
        rec.record(pos, self.reader.text(range), &mut event);
        Ok(Some(Ev { pos, event }))
    }
}

/// What a producer hands back when its files are done.
struct Produced {
    infos: Vec<EventFile>,
    findings: Vec<Vec<Finding>>,
    rec: Records,
}

enum Msg {
    Batch(Vec<Ev>),
    End,
}

/// `a` comes before `b` in replay order (ties to the earlier file).
fn before(a: &Ev, b: &Ev) -> bool {
    match key_of(&a.event).cmp(&key_of(&b.event)) {
        std::cmp::Ordering::Equal => a.pos < b.pos,
        o => o.is_lt(),
    }
}

/// Reads files `range` (those with `in_memory` set whole, then sorted) and
/// sends their events, merged in replay order, to `tx`.
fn produce(ctx: &Ctx<'_>, range: std::ops::Range<usize>, in_memory: &[bool], tx: SyncSender<Msg>) -> Result<Produced, Stop> {
    let mut rec = Recorder { ctx, cache: HashMap::new(), scratch: Vec::new(), rec: Records::default() };
    let mut files: Vec<FileState> = Vec::with_capacity(range.len());
    for idx in range {
        files.push(FileState::open(idx, in_memory[idx], &mut rec)?);
    }
    let less = |files: &[FileState], a: usize, b: usize| -> bool {
        match (&files[a].head, &files[b].head) {
            (Some(x), Some(y)) => before(x, y),
            _ => false,
        }
    };
    let mut heap: Vec<usize> = Vec::with_capacity(files.len());
    for i in 0..files.len() {
        if files[i].head.is_some() {
            heap_push(&mut heap, i, |a, b| less(&files, a, b));
        }
    }
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(&i) = heap.first() {
        let next = files[i].advance(&mut rec)?;
        let ev = std::mem::replace(&mut files[i].head, next).expect("the heap holds files with a head");
        if files[i].head.is_some() {
            heap_fix_top(&mut heap, |a, b| less(&files, a, b));
        } else {
            heap_pop(&mut heap, |a, b| less(&files, a, b));
        }
        batch.push(ev);
        if batch.len() == BATCH {
            if ctx.cancel.load(AtomicOrdering::Relaxed) || ctx.abort.load(AtomicOrdering::Relaxed) {
                return Err(Stop::Cancelled);
            }
            tx.send(Msg::Batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).map_err(|_| Stop::Cancelled)?;
        }
    }
    if !batch.is_empty() {
        tx.send(Msg::Batch(batch)).map_err(|_| Stop::Cancelled)?;
    }
    tx.send(Msg::End).map_err(|_| Stop::Cancelled)?;
    let (infos, findings) = files.into_iter().map(|f| (f.reader.info, f.reader.findings)).unzip();
    let mut rec = rec.rec;
    flush(&mut rec.ids, ctx.ids);
    flush(&mut rec.creates, ctx.creates);
    Ok(Produced { infos, findings, rec })
}

fn heap_push(h: &mut Vec<usize>, x: usize, less: impl Fn(usize, usize) -> bool) {
    h.push(x);
    let mut i = h.len() - 1;
    while i > 0 {
        let p = (i - 1) / 2;
        if !less(h[i], h[p]) {
            break;
        }
        h.swap(i, p);
        i = p;
    }
}

fn heap_fix_top(h: &mut [usize], less: impl Fn(usize, usize) -> bool) {
    let mut i = 0;
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut m = i;
        if l < h.len() && less(h[l], h[m]) {
            m = l;
        }
        if r < h.len() && less(h[r], h[m]) {
            m = r;
        }
        if m == i {
            return;
        }
        h.swap(i, m);
        i = m;
    }
}

fn heap_pop(h: &mut Vec<usize>, less: impl Fn(usize, usize) -> bool) {
    let last = h.len() - 1;
    h.swap(0, last);
    h.pop();
    heap_fix_top(h, less);
}

/// The merging thread's end of one producer.
struct Incoming {
    rx: Receiver<Msg>,
    batch: std::vec::IntoIter<Ev>,
    head: Option<Ev>,
    ended: bool,
}

impl Incoming {
    fn new(rx: Receiver<Msg>) -> Incoming {
        Incoming { rx, batch: Vec::new().into_iter(), head: None, ended: false }
    }
    /// The next event, or `None` when the producer is done; `Cancelled` when it gave up.
    fn head(&mut self) -> Result<Option<&Ev>, Stop> {
        while self.head.is_none() && !self.ended {
            if let Some(e) = self.batch.next() {
                self.head = Some(e);
                break;
            }
            match self.rx.recv() {
                Ok(Msg::Batch(b)) => self.batch = b.into_iter(),
                Ok(Msg::End) => self.ended = true,
                Err(_) => return Err(Stop::Cancelled),
            }
        }
        Ok(self.head.as_ref())
    }
}

/// The sequence checks of [`checks::check_lines`] (in replay order), as events pass.
#[derive(Default)]
struct Sequences {
    /// First holder (position + 1) of each sequence: dense for small values, else a map.
    dense: Vec<u64>,
    sparse: HashMap<i64, Pos>,
    held: u64,
    /// Per daemon: the highest sequence so far, its event id and position.
    last: HashMap<String, (i64, String, Pos)>,
    /// Per daemon: the sequences seen, as runs of consecutive values.
    runs: BTreeMap<String, Vec<(i64, i64)>>,
    out: Vec<SeqFinding>,
}

enum SeqFinding {
    Ready(Finding),
    /// `sequence_duplicate`; the first holder's id is read again at the end.
    Duplicate { seq: i64, holder: Pos, at: Pos, event_id: String },
}

impl Sequences {
    fn holder(&self, seq: i64) -> Option<Pos> {
        if seq >= 1 && (seq as u64) < self.dense.len() as u64 && self.dense[seq as usize] != 0 {
            return Some(Pos::from_raw(self.dense[seq as usize] - 1));
        }
        self.sparse.get(&seq).copied()
    }

    fn hold(&mut self, seq: i64, p: Pos) {
        self.held += 1;
        let limit = (self.held * 4).max(1 << 20);
        if seq >= 1 && (seq as u64) < limit {
            let i = seq as usize;
            if i >= self.dense.len() {
                self.dense.resize((i + 1).max(self.dense.len() * 2), 0);
            }
            self.dense[i] = p.raw() + 1;
        } else {
            self.sparse.insert(seq, p);
        }
    }

    fn see(&mut self, e: &Event, p: Pos, sources: &[Source]) {
        let env = &e.envelope;
        let Some(seq) = env.sequence else { return };
        let daemon = env.origin_daemon.as_deref().unwrap_or("");
        let id = env.event_id.as_deref().unwrap_or("");
        match self.holder(seq) {
            Some(holder) => self.out.push(SeqFinding::Duplicate { seq, holder, at: p, event_id: id.to_owned() }),
            None => self.hold(seq, p),
        }
        match self.last.get_mut(daemon) {
            Some((prev, oid, op)) => {
                if seq <= *prev {
                    self.out.push(SeqFinding::Ready(
                        Finding::new(
                            Kind::SequenceOrder,
                            format!(
                                "sequence {seq} of daemon {daemon} does not increase in replay order: the previous event {oid} ({}:{}) has {prev}",
                                sources[op.file()].rel,
                                op.line()
                            ),
                        )
                        .key(format!("event_id={id}"))
                        .values(format!("> {prev}"), seq.to_string())
                        .at(sources[p.file()].rel.clone(), p.line()),
                    ));
                } else {
                    *prev = seq;
                    oid.clear();
                    oid.push_str(id);
                    *op = p;
                }
            }
            None => {
                self.last.insert(daemon.to_owned(), (seq, id.to_owned(), p));
            }
        }
        match self.runs.get_mut(daemon) {
            Some(r) => add_to_runs(r, seq),
            None => add_to_runs(self.runs.entry(daemon.to_owned()).or_default(), seq),
        }
    }

    /// The findings in order: as the events passed, then the gaps by daemon.
    fn finish(self, sources: &[Source], ids: &HashMap<Pos, String>) -> Vec<Finding> {
        let mut out = Vec::with_capacity(self.out.len());
        for f in self.out {
            out.push(match f {
                SeqFinding::Ready(f) => f,
                SeqFinding::Duplicate { seq, holder, at, event_id } => {
                    let hid = ids.get(&holder).map_or("", String::as_str);
                    Finding::new(Kind::SequenceDuplicate, format!("sequence {seq} already used by {hid} at {}:{}", sources[holder.file()].rel, holder.line()))
                        .key(format!("event_id={event_id}"))
                        .at(sources[at.file()].rel.clone(), at.line())
                }
            });
        }
        for (daemon, runs) in self.runs {
            gaps(&daemon, runs, &mut out);
        }
        out
    }

    fn holders_to_fetch(&self) -> impl Iterator<Item = Pos> + '_ {
        self.out.iter().filter_map(|f| match f {
            SeqFinding::Duplicate { holder, .. } => Some(*holder),
            SeqFinding::Ready(_) => None,
        })
    }
}

/// Adds a value to runs of consecutive values (the last run is extended
/// when it can be; a value already in it is dropped).
fn add_to_runs(runs: &mut Vec<(i64, i64)>, s: i64) {
    if let Some(last) = runs.last_mut() {
        if s >= last.0 && s <= last.1 {
            return;
        }
        if last.1 != i64::MAX && s == last.1 + 1 {
            last.1 = s;
            return;
        }
    }
    runs.push((s, s));
}

/// `sequence_gap` findings of one daemon whose sequences are the union of
/// `runs`: what [`checks::check_lines`] reports walking the sorted distinct
/// values (`expect` starts at 1; a value above it leaves a gap; then
/// `expect = max(expect, value + 1)`, the addition wrapping as in a release
/// build).
pub(crate) fn gaps(daemon: &str, mut runs: Vec<(i64, i64)>, out: &mut Vec<Finding>) {
    runs.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(runs.len());
    for (a, b) in runs {
        match merged.last_mut() {
            Some(m) if a <= m.1 || (m.1 != i64::MAX && a == m.1 + 1) => m.1 = m.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut expect = 1i64;
    for (a, b) in merged {
        if a > expect {
            let range = if a - 1 == expect { expect.to_string() } else { format!("{expect}..={}", a - 1) };
            out.push(
                Finding::new(Kind::SequenceGap, format!("daemon {daemon}: sequence {range} missing from the JSONL (an event was lost)"))
                    .key(format!("origin_daemon={daemon}"))
                    .values(range.clone(), "absent"),
            );
        }
        // the largest `v + 1` over the run's values, skipping i64::MAX (wraps to MIN)
        let top = if b < i64::MAX { Some(b + 1) } else if a < i64::MAX { Some(i64::MAX) } else { None };
        if let Some(t) = top {
            expect = expect.max(t);
        }
    }
}

/// Reads again the lines at `want` (lines decoded as events before) and
/// keeps `keep(text, event)` of each.
pub fn fetch<T>(sources: &[Source], want: impl IntoIterator<Item = Pos>, keep: impl Fn(&str, Event) -> T) -> Result<HashMap<Pos, T>, InputError> {
    let mut want: Vec<Pos> = want.into_iter().collect();
    want.sort_unstable();
    want.dedup();
    let mut out = HashMap::with_capacity(want.len());
    let mut i = 0;
    while i < want.len() {
        let file = want[i].file();
        let src = &sources[file];
        let mut lines = LineReader::open(&src.path, MAX_LINE_BYTES).map_err(|e| InputError::io(&src.path, e))?;
        while i < want.len() && want[i].file() == file {
            let Some(l) = lines.next_line().map_err(|e| InputError::io(&src.path, e))? else { break };
            if l.no < want[i].line() {
                continue;
            }
            if let Line::Held(r) = l.line {
                if let Ok(text) = std::str::from_utf8(lines.held(r)) {
                    if let Ok(e) = Event::parse(text) {
                        out.insert(want[i], keep(text, e));
                    }
                }
            }
            i += 1;
        }
        while i < want.len() && want[i].file() == file {
            i += 1;
        }
    }
    Ok(out)
}

/// The event id of each position (see [`fetch`]).
fn fetch_ids(sources: &[Source], want: impl IntoIterator<Item = Pos>) -> Result<HashMap<Pos, String>, InputError> {
    fetch(sources, want, |_, e| e.envelope.event_id.unwrap_or_default())
}

/// Which files are not in replay order (every line decoded, nothing kept).
fn unsorted_files(sources: &[Source]) -> Result<Vec<bool>, InputError> {
    let check = |src: &Source| -> Result<bool, InputError> {
        let mut r = EventReader::open(src)?;
        let (mut ts, mut id) = (Vec::new(), Vec::new());
        while let Some((_, _, e)) = r.next(&src.path)? {
            let k = key_of(&e);
            if k < (ts.as_slice(), id.as_slice()) {
                return Ok(true);
            }
            ts.clear();
            ts.extend_from_slice(k.0);
            id.clear();
            id.extend_from_slice(k.1);
        }
        Ok(false)
    };
    let half = sources.len() / 2;
    let (a, b) = std::thread::scope(|s| {
        let h = s.spawn(|| sources[half..].iter().map(check).collect::<Result<Vec<bool>, InputError>>());
        let a = sources[..half].iter().map(check).collect::<Result<Vec<bool>, InputError>>();
        (a, h.join())
    });
    let b = b.map_err(|_| InputError::Unreadable { path: sources[0].path.clone(), reason: "JSONL decoding thread panicked".into() })?;
    let mut v = a?;
    v.extend(b?);
    Ok(v)
}

/// Index of the first file of the second half (by bytes), as [`crate::jsonl::load`] splits.
fn split_point(sources: &[Source]) -> usize {
    let sizes: Vec<u64> = sources.iter().map(|s| std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0)).collect();
    let total: u64 = sizes.iter().sum();
    let mut acc = 0;
    let split = sizes.iter().position(|c| {
        acc += c;
        acc * 2 >= total
    });
    split.map_or(sources.len(), |i| i + 1).min(sources.len())
}

/// Runs `attempt` with every file streamed; when a file turns out to be out
/// of order, finds every such file and runs it again with those read whole.
fn with_restarts<T>(sources: &[Source], mut attempt: impl FnMut(&[bool]) -> Result<T, Stop>) -> Result<T, Stop> {
    match attempt(&vec![false; sources.len()]) {
        Err(Stop::Unsorted) => {}
        other => return other,
    }
    match attempt(&unsorted_files(sources)?) {
        Err(Stop::Unsorted) => attempt(&vec![true; sources.len()]),
        other => other,
    }
}

/// Streams and replays the event logs (see the module documentation). The
/// replay database is a temporary file when the files hold more than
/// `on_disk_above` bytes. An input with more files or lines than [`Pos`]
/// numbers is [`InputError::TooLarge`].
/// Setting `abort` stops it early (with `Stop::Cancelled`).
pub fn run(sources: Vec<Source>, mode: Mode, on_disk_above: u64, abort: &AtomicBool) -> Result<Streamed, Stop> {
    let total: u64 = sources.iter().map(|s| std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0)).sum();
    let mut s = with_restarts(&sources, |in_memory| attempt_run(&sources, mode, in_memory, total > on_disk_above, abort))?;
    s.index.sources = sources;
    Ok(s)
}

/// The positions of the events in the order [`run`] replays them.
pub fn replay_order(sources: &[Source]) -> Result<Vec<Pos>, Stop> {
    with_restarts(sources, |in_memory| {
        let mut order = Vec::new();
        let (ids, creates) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
        let no = AtomicBool::new(false);
        let ctx = Ctx { sources, mode: Mode::Migrated, hasher: &RandomState::new(), names: &Names::default(), cancel: &no, abort: &no, ids: &ids, creates: &creates };
        pipeline(&ctx, in_memory, |ev| {
            order.push(ev.pos);
            Ok(())
        })?;
        Ok(order)
    })
}

/// The producers and the merge: `sink` gets every event in replay order.
fn pipeline(ctx: &Ctx<'_>, in_memory: &[bool], mut sink: impl FnMut(Ev) -> Result<(), Stop>) -> Result<(Produced, Produced), Stop> {
    let split = split_point(ctx.sources);
    let (ta, ra) = sync_channel(8);
    let (tb, rb) = sync_channel(8);
    let (merged, pa, pb) = std::thread::scope(|s| {
        let ha = s.spawn(|| produce(ctx, 0..split, in_memory, ta));
        let hb = s.spawn(|| produce(ctx, split..ctx.sources.len(), in_memory, tb));
        let merged = (|| -> Result<(), Stop> {
            let (mut a, mut b) = (Incoming::new(ra), Incoming::new(rb));
            loop {
                let take_b = match (a.head()?, b.head()?) {
                    (Some(x), Some(y)) => before(y, x),
                    (None, Some(_)) => true,
                    (Some(_), None) => false,
                    (None, None) => return Ok(()),
                };
                let ev = if take_b { b.head.take() } else { a.head.take() }.expect("a head was seen");
                sink(ev)?;
            }
        })();
        if merged.is_err() {
            ctx.cancel.store(true, AtomicOrdering::Relaxed);
        }
        (merged, ha.join(), hb.join())
    });
    let panicked = || Stop::Input(InputError::Unreadable { path: ctx.sources.first().map(|s| s.path.clone()).unwrap_or_default(), reason: "JSONL decoding thread panicked".into() });
    let (pa, pb) = (pa.map_err(|_| panicked())?, pb.map_err(|_| panicked())?);
    match (pa, pb, merged) {
        (Ok(a), Ok(b), Ok(())) => Ok((a, b)),
        // a producer's own reason first: the merge only sees it as a cancel
        (pa, pb, merged) => {
            let errs: Vec<Stop> = [pa.err(), pb.err(), merged.err()].into_iter().flatten().collect();
            let i = errs.iter().position(|e| !matches!(e, Stop::Cancelled)).unwrap_or(0);
            Err(errs.into_iter().nth(i).unwrap_or(Stop::Cancelled))
        }
    }
}

fn attempt_run(sources: &[Source], mode: Mode, in_memory: &[bool], on_disk: bool, abort: &AtomicBool) -> Result<Streamed, Stop> {
    let (conn, dir) = if on_disk {
        let dir = crate::input::temp_dir("verify-replay-")?;
        (replay::fresh_v13_on_disk(&dir.path().join("replay.db"), REPLAY_CACHE_BYTES).map_err(Stop::Replay)?, Some(dir))
    } else {
        (replay::fresh_v13_for_replay().map_err(Stop::Replay)?, None)
    };
    if mode == Mode::Migrated {
        replay::without_threads(&conn).map_err(Stop::Replay)?;
    }
    let hasher = RandomState::new();
    let names = Names::default();
    let cancel = AtomicBool::new(false);
    let (ids, creates) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let ctx = Ctx { sources, mode, hasher: &hasher, names: &names, cancel: &cancel, abort, ids: &ids, creates: &creates };
    let mut replay_findings_f = crate::findings::Findings::new(0);
    let mut seqs = Sequences::default();
    let mut events = 0u64;
    let mut r = Replayer::new(conn).map_err(Stop::Replay)?;
    let (a, b) = pipeline(&ctx, in_memory, |ev| {
        events += 1;
        if mode == Mode::Fixture {
            seqs.see(&ev.event, ev.pos, sources);
        }
        r.apply(&ev.event, &sources[ev.pos.file()].rel, ev.pos.line(), &mut replay_findings_f).map_err(Stop::Replay)
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
        Mode::Migrated => Vec::new(),
    };
    let mut files = a.infos;
    files.extend(b.infos);
    let read_findings: Vec<Finding> = a.findings.into_iter().chain(b.findings).flatten().collect();
    let mut rec = a.rec;
    let other = b.rec;
    rec.tagged.extend(other.tagged);
    rec.noid.extend(other.noid);
    rec.create_mismatch.extend(other.create_mismatch);
    rec.shard_events.extend(other.shard_events);
    let names = names.0.into_inner().unwrap_or_else(|e| e.into_inner()).1;
    let rel = |p: Pos| sources[p.file()].rel.as_str();
    let mut tagged = rec.tagged;

    // duplicate ids: every line after the first (in file order) of an id
    let mut ids = ids.into_inner().unwrap_or_else(|e| e.into_inner());
    ids.sort_unstable_by(|x, y| x.key.cmp(&y.key).then(x.pos.cmp(&y.pos)));
    let mut i = 0;
    while i < ids.len() {
        let mut j = i + 1;
        while j < ids.len() && ids[j].key == ids[i].key {
            let first = ids[i].pos;
            tagged.push((ids[j].pos, SLOT_DUPLICATE, checks::duplicate_id(&ids[i].key.text(), rel(first), first.line()).at(rel(ids[j].pos), ids[j].pos.line())));
            j += 1;
        }
        i = j;
    }
    ids.dedup_by(|later, first| later.key == first.key);

    // shard ownership: the authors of a message are those of its first create in file order
    let mut creates = creates.into_inner().unwrap_or_else(|e| e.into_inner());
    creates.sort_unstable_by(|x, y| x.key.cmp(&y.key).then(x.pos.cmp(&y.pos)));
    let mut later_creates: HashSet<Pos> = HashSet::new();
    let mut recheck: Vec<(usize, Pos)> = Vec::new();
    let mut i = 0;
    while i < creates.len() {
        let mut j = i + 1;
        while j < creates.len() && creates[j].key == creates[i].key {
            later_creates.insert(creates[j].pos);
            if sources[creates[j].pos.file()].shard.is_some() {
                recheck.push((i, creates[j].pos));
            }
            j += 1;
        }
        i = j;
    }
    let allowed = |c: &CreateRec| -> Vec<String> {
        let mut v = vec![names[c.own as usize].clone()];
        if c.other != NO_NAME {
            v.push(names[c.other as usize].clone());
        }
        v
    };
    for (p, _, f) in rec.create_mismatch {
        if !later_creates.contains(&p) {
            tagged.push((p, SLOT_SHARD, f));
        }
    }
    for (mid, p, sid, eid) in rec.shard_events {
        if let Some(h) = find(&creates, &mid, |c| &c.key) {
            let c = &creates[h];
            if sid != c.own && sid != c.other {
                let f = checks::shard_mismatch(&mid.text(), &allowed(c), &names[sid as usize], &eid).at(rel(p), p.line());
                tagged.push((p, SLOT_SHARD, f));
            }
        }
    }
    let fetched = fetch_ids(sources, recheck.iter().map(|(_, p)| *p))?;
    for (h, p) in recheck {
        let c = &creates[h];
        let s = sources[p.file()].shard.as_deref().unwrap_or("");
        let al = allowed(c);
        if !al.iter().any(|a| a == s) {
            let eid = fetched.get(&p).map_or("", String::as_str);
            tagged.push((p, SLOT_SHARD, checks::shard_mismatch(&c.key.text(), &al, s, eid).at(rel(p), p.line())));
        }
    }
    tagged.sort_by_key(|(p, slot, _)| (*p, *slot));
    let mut line_findings: Vec<Finding> = tagged.into_iter().map(|(_, _, f)| f).collect();
    line_findings.extend(seq_findings);
    let mut noid = rec.noid;
    noid.sort_unstable();
    let index = Index { sources: Vec::new(), ids, noid, creates, names, hasher };
    Ok(Streamed { files, read_findings, line_findings, replay: rep, replay_findings: replay_findings_f.into_parts().0, events, index })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The gap findings of `checks::check_lines` (its loop over sorted, distinct values).
    fn gaps_reference(daemon: &str, values: &[i64]) -> Vec<Finding> {
        let mut seqs = values.to_vec();
        seqs.sort_unstable();
        seqs.dedup();
        let mut out = Vec::new();
        let mut expect = 1i64;
        for s in seqs {
            if s > expect {
                let range = if s - 1 == expect { expect.to_string() } else { format!("{expect}..={}", s - 1) };
                out.push(
                    Finding::new(Kind::SequenceGap, format!("daemon {daemon}: sequence {range} missing from the JSONL (an event was lost)"))
                        .key(format!("origin_daemon={daemon}"))
                        .values(range.clone(), "absent"),
                );
            }
            expect = expect.max(s.wrapping_add(1));
        }
        out
    }

    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![4 => -2i64..30, 1 => Just(i64::MAX), 1 => Just(i64::MAX - 1), 1 => Just(i64::MIN), 1 => any::<i64>()]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn gaps_from_runs_equal_gaps_from_values(values in prop::collection::vec(value(), 0..30)) {
            let mut runs = Vec::new();
            for &v in &values {
                add_to_runs(&mut runs, v);
            }
            let mut got = Vec::new();
            gaps("d", runs, &mut got);
            prop_assert_eq!(got, gaps_reference("d", &values));
        }
    }

    #[test]
    fn replay_on_disk_equals_replay_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = String::new();
        for i in 0..50 {
            lines.push_str(&format!(
                "{{\"agent_id\":\"a{}\",\"event_id\":\"evt_{i:03}\",\"kind\":\"agent\",\"module\":\"m\",\"role\":\"r\",\"timestamp\":\"2026-01-01T00:00:{:02}Z\",\"type\":\"agent.register\"}}\n",
                i % 7,
                50 - i
            ));
        }
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, lines).unwrap();
        let src = || vec![Source { path: path.clone(), rel: ".thrum/events.jsonl".into(), shard: None }];
        let rows = |s: &Streamed| crate::value::query_all(&s.replay.conn, "SELECT * FROM agents ORDER BY agent_id").unwrap();
        let no = AtomicBool::new(false);
        let disk = run(src(), Mode::Migrated, 0, &no).ok().unwrap();
        let mem = run(src(), Mode::Migrated, u64::MAX, &no).ok().unwrap();
        assert_eq!(rows(&disk), rows(&mem));
        assert_eq!(rows(&disk).len(), 7);
        assert_eq!(disk.replay.applied, 50);
    }
}
