//! A producer: reads its files, merges them in replay order with a heap,
//! and sends the events in batches to the merging thread ([`Incoming`]).

use super::reader::*;
use super::records::*;
use super::*;
use crate::findings::Findings;
use crate::jsonl::EventFile;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::mpsc::{Receiver, SyncSender};

/// What a producer hands back when its files are done.
pub(super) struct Produced {
    pub(super) infos: Vec<EventFile>,
    pub(super) findings: Vec<Findings>,
    pub(super) rec: Records,
    /// Per file of the producer: whether it is out of time order.
    pub(super) time_unsorted: Vec<bool>,
}

pub(super) enum Msg {
    Batch(Vec<PlacedEvent>),
    End,
}

/// `a` comes before `b` in replay order (ties to the earlier file).
pub(super) fn before(order: Order, a: &PlacedEvent, b: &PlacedEvent) -> bool {
    match key_of(order, &a.event).cmp(&key_of(order, &b.event)) {
        std::cmp::Ordering::Equal => a.pos < b.pos,
        o => o.is_lt(),
    }
}

/// Reads files `range` (those with `in_memory` set whole, then sorted) and
/// sends their events, merged in replay order, to `tx`.
pub(super) fn produce(
    ctx: &Shared<'_>,
    range: std::ops::Range<usize>,
    in_memory: &[bool],
    tx: SyncSender<Msg>,
) -> Result<Produced, Stop> {
    let mut rec = Recorder {
        ctx,
        cache: HashMap::new(),
        scratch: Vec::new(),
        rec: Records::default(),
        origin: None,
    };
    let order = ctx.order;
    let mut files: Vec<FileState> = Vec::with_capacity(range.len());
    // each file's next event, the earliest in replay order on top
    let mut heap: BinaryHeap<Reverse<Next>> = BinaryHeap::with_capacity(range.len());
    for idx in range {
        let mut f = FileState::open(idx, in_memory[idx], &mut rec)?;
        if let Some(ev) = f.advance(&mut rec)? {
            heap.push(Reverse(Next { ev, file: files.len(), order }));
        }
        files.push(f);
    }
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(Reverse(Next { ev, file, .. })) = heap.pop() {
        if let Some(next) = files[file].advance(&mut rec)? {
            heap.push(Reverse(Next { ev: next, file, order }));
        }
        batch.push(ev);
        if batch.len() == BATCH {
            if ctx.cancel.load(AtomicOrdering::Relaxed) || ctx.abort.load(AtomicOrdering::Relaxed) {
                return Err(Stop::Cancelled);
            }
            tx.send(Msg::Batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))))
                .map_err(|_| Stop::Cancelled)?;
        }
    }
    if !batch.is_empty() {
        tx.send(Msg::Batch(batch)).map_err(|_| Stop::Cancelled)?;
    }
    tx.send(Msg::End).map_err(|_| Stop::Cancelled)?;
    let time_unsorted = files.iter().map(|f| f.time_unsorted).collect();
    let (infos, findings) = files.into_iter().map(|f| (f.reader.info, f.reader.findings)).unzip();
    let mut rec = rec.rec;
    flush(&mut rec.ids, ctx.ids);
    flush(&mut rec.creates, ctx.creates);
    Ok(Produced { infos, findings, rec, time_unsorted })
}

/// A file's next event in the heap of [`produce`], ordered as the replay
/// orders events (see [`before`]; positions are distinct, so two entries
/// are never equal).
pub(super) struct Next {
    ev: PlacedEvent,
    /// Index of the file in the producer's list.
    file: usize,
    order: Order,
}

impl Ord for Next {
    fn cmp(&self, other: &Next) -> std::cmp::Ordering {
        key_of(self.order, &self.ev.event)
            .cmp(&key_of(self.order, &other.ev.event))
            .then(self.ev.pos.cmp(&other.ev.pos))
    }
}

impl PartialOrd for Next {
    fn partial_cmp(&self, other: &Next) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Next {
    fn eq(&self, other: &Next) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Next {}

/// The merging thread's end of one producer.
pub(super) struct Incoming {
    pub(super) rx: Receiver<Msg>,
    pub(super) batch: std::vec::IntoIter<PlacedEvent>,
    pub(super) head: Option<PlacedEvent>,
    pub(super) ended: bool,
}

impl Incoming {
    pub(super) fn new(rx: Receiver<Msg>) -> Incoming {
        Incoming { rx, batch: Vec::new().into_iter(), head: None, ended: false }
    }
    /// The next event, or `None` when the producer is done; `Cancelled` when it gave up.
    pub(super) fn head(&mut self) -> Result<Option<&PlacedEvent>, Stop> {
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
