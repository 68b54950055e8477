//! What the producers record about each event for the checks after the
//! replay (see [`Index`]), and the keyed row signatures of the `events` table.

use super::{Order, Stop};
use crate::checks::{self, Mode};
use crate::findings::{Finding, Ranked, LIST_CEILING};
use crate::index::{find, EventKey, MessageKey, Pos};
use crate::jsonl::Source;
use serde_json::Value;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use thrum_schemas::events::{is_message_event, Envelope, Event, Payload};
use thrum_schemas::ids::shard_name;

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

pub(super) fn put_text(h: &mut impl Hasher, t: &[u8]) {
    h.write_u8(b'T');
    h.write_usize(t.len());
    h.write(t);
}

/// Shard names, numbered; shared by the producers (each keeps a cache).
#[derive(Default)]
pub(super) struct Names(pub(super) Mutex<(HashMap<String, u32>, Vec<String>)>);

impl Names {
    pub(super) fn id(&self, cache: &mut HashMap<String, u32>, name: String) -> u32 {
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

/// Everything a producer records about its files' events.
#[derive(Default)]
pub(super) struct Records {
    /// Per-event findings of the line checks, with their position and slot.
    pub(super) tagged: Ranked<(Pos, u8)>,
    pub(super) ids: Vec<IdRec>,
    pub(super) noid: Vec<Pos>,
    pub(super) creates: Vec<CreateRec>,
    /// Other message events in shards: message id, position, shard file's
    /// name (index), event id.
    pub(super) shard_events: Vec<(MessageKey, Pos, u32, Box<str>)>,
}

pub(super) struct Shared<'a> {
    pub(super) sources: &'a [Source],
    pub(super) mode: Mode,
    pub(super) order: Order,
    /// Per source: read only the events of this origin (`Some(None)`: of
    /// none); empty or `None`: every event.
    pub(super) only: &'a [Option<Option<String>>],
    pub(super) hasher: &'a RandomState,
    pub(super) names: &'a Names,
    /// Set when this attempt failed elsewhere.
    pub(super) cancel: &'a AtomicBool,
    /// Set by the caller to stop reading.
    pub(super) abort: &'a AtomicBool,
    /// The records of every event id and `message.create`, from both
    /// producers: one list each, grown in place (no copy of one producer's
    /// records into the other's at the end).
    pub(super) ids: &'a Mutex<Vec<IdRec>>,
    pub(super) creates: &'a Mutex<Vec<CreateRec>>,
    /// Whether each event is checked and recorded ([`Recorder::record`]);
    /// not when the events are only projected or placed (the rebuild order,
    /// [`super::replay_order`]), so that nothing kept grows with them.
    pub(super) record: bool,
}

/// [`Stop::MultiOrigin`] when `ev` has an `origin_daemon` other than the
/// first one seen (kept in `first`).
pub(super) fn see_origin(first: &mut Option<String>, ev: &Event) -> Result<(), Stop> {
    match (ev.envelope.origin_daemon.as_deref().filter(|o| !o.is_empty()), first.as_deref()) {
        (Some(o), Some(f)) if o != f => Err(Stop::MultiOrigin),
        (Some(o), None) => {
            *first = Some(o.to_owned());
            Ok(())
        }
        _ => Ok(()),
    }
}

impl Shared<'_> {
    /// The file index of the positions of source `idx`: a file read once per
    /// origin (consecutive copies filtered by [`Shared::only`]) is placed at
    /// its first copy, so its events are ordered among themselves by line,
    /// ties of the replay key included, as those of any one file are.
    pub(super) fn place(&self, idx: usize) -> usize {
        if self.only.is_empty() {
            return idx;
        }
        let path = &self.sources[idx].path;
        (0..idx).rev().take_while(|&j| self.sources[j].path == *path).last().unwrap_or(idx)
    }

    /// Whether source `idx` reads `ev` (see [`Shared::only`]).
    pub(super) fn wanted(&self, idx: usize, ev: &Event) -> bool {
        match self.only.get(idx) {
            Some(Some(o)) => ev.envelope.origin_daemon.as_deref() == o.as_deref(),
            _ => true,
        }
    }
}

/// Records a producer keeps before moving them to the shared lists.
pub(super) const FLUSH: usize = 4096;

pub(super) fn flush<T>(local: &mut Vec<T>, shared: &Mutex<Vec<T>>) {
    shared.lock().unwrap_or_else(|e| e.into_inner()).append(local);
}

/// Per-event work of a producer.
pub(super) struct Recorder<'a> {
    pub(super) ctx: &'a Shared<'a>,
    pub(super) cache: HashMap<String, u32>,
    pub(super) scratch: Vec<(u8, Finding)>,
    pub(super) rec: Records,
    /// The first `origin_daemon` seen (see [`Recorder::see_origin`]).
    pub(super) origin: Option<String>,
}

impl Recorder<'_> {
    /// In a v13 fixture read in time order: [`Stop::MultiOrigin`] at the
    /// first event whose `origin_daemon` differs from the first one seen
    /// (events without one do not count).
    pub(super) fn see_origin(&mut self, ev: &Event) -> Result<(), Stop> {
        if self.ctx.mode != Mode::Fixture || self.ctx.order != Order::Time {
            return Ok(());
        }
        see_origin(&mut self.origin, ev)
    }

    pub(super) fn record(&mut self, pos: Pos, text: &str, ev: &mut Event) {
        if !self.ctx.record {
            // the replay reads the decoded event, never its `raw` map (dropped below too)
            ev.raw = serde_json::Map::new();
            return;
        }
        let src = &self.ctx.sources[pos.file()];
        let (rel, line, shard) = (src.rel.as_str(), pos.line(), src.shard.as_deref());
        self.scratch.clear();
        checks::line_checks(rel, line, shard, text, ev, self.ctx.mode, &mut self.scratch);
        for (slot, f) in self.scratch.drain(..) {
            self.rec.tagged.push((pos, slot), f);
        }
        let env = &ev.envelope;
        match env.event_id.as_deref() {
            Some(id) => {
                let sig = if self.ctx.mode == Mode::Fixture {
                    event_signature(self.ctx.hasher, text, env)
                } else {
                    0
                };
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
            self.rec.creates.push(CreateRec { key, pos, own, other });
            if self.rec.creates.len() >= FLUSH {
                flush(&mut self.rec.creates, self.ctx.creates);
            }
        } else if let (Some(s), true) = (shard, is_message_event(&env.event_type)) {
            let mid = message_id(ev);
            let sid = self.ctx.names.id(&mut self.cache, s.to_owned());
            self.rec.shard_events.push((
                MessageKey::new(mid),
                pos,
                sid,
                env.event_id.as_deref().unwrap_or("").into(),
            ));
        }
        ev.raw = serde_json::Map::new();
    }
}

/// The `message_id` of a message event: its payload's, or for a type the
/// format does not define, the field's text (`""` when absent or not a string).
pub fn message_id(ev: &Event) -> &str {
    match &ev.payload {
        Payload::MessageCreate(m) => &m.message_id,
        Payload::MessageEdit(m) => &m.message_id,
        Payload::MessageDelete(m) => &m.message_id,
        _ => ev.raw.get("message_id").and_then(Value::as_str).unwrap_or(""),
    }
}

/// Shard ownership of every `message.create` in a shard: the authors of a
/// message are those of its first create in file order, and each create of
/// it in a shard (the first included) must be in one of their shards.
/// `creates` is sorted by (message id, position). Bounded like the findings
/// it becomes: the first [`LIST_CEILING`] misplaced creates in position
/// order, each with the index of its message's first create, and the
/// number of all of them.
pub(super) fn misplaced_creates(
    creates: &[CreateRec],
    names: &[String],
    sources: &[Source],
) -> (Vec<(Pos, usize)>, usize) {
    let owns = |c: &CreateRec, s: &str| {
        names[c.own as usize] == s || (c.other != NO_NAME && names[c.other as usize] == s)
    };
    let mut first: BinaryHeap<(Pos, usize)> = BinaryHeap::new();
    let mut all = 0usize;
    let mut i = 0;
    while i < creates.len() {
        let mut j = i;
        while j < creates.len() && creates[j].key == creates[i].key {
            let p = creates[j].pos;
            if sources[p.file()].shard.as_deref().is_some_and(|s| !owns(&creates[i], s)) {
                all += 1;
                first.push((p, i));
                if first.len() > LIST_CEILING {
                    first.pop();
                }
            }
            j += 1;
        }
        i = j;
    }
    (first.into_sorted_vec(), all)
}
