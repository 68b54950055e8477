//! A producer: reads its files, merges them in replay order with a heap,
//! and sends the events in batches to the merging thread ([`Incoming`]).

use crate::findings::Finding;
use crate::jsonl::EventFile;
use std::collections::HashMap;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::mpsc::{Receiver, SyncSender};
use super::reader::*;
use super::records::*;
use super::*;

/// What a producer hands back when its files are done.
pub(super) struct Produced {
    pub(super) infos: Vec<EventFile>,
    pub(super) findings: Vec<Vec<Finding>>,
    pub(super) rec: Records,
}

pub(super) enum Msg {
    Batch(Vec<PlacedEvent>),
    End,
}

/// `a` comes before `b` in replay order (ties to the earlier file).
pub(super) fn before(a: &PlacedEvent, b: &PlacedEvent) -> bool {
    match key_of(&a.event).cmp(&key_of(&b.event)) {
        std::cmp::Ordering::Equal => a.pos < b.pos,
        o => o.is_lt(),
    }
}

/// Reads files `range` (those with `in_memory` set whole, then sorted) and
/// sends their events, merged in replay order, to `tx`.
pub(super) fn produce(ctx: &Shared<'_>, range: std::ops::Range<usize>, in_memory: &[bool], tx: SyncSender<Msg>) -> Result<Produced, Stop> {
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

pub(super) fn heap_push(h: &mut Vec<usize>, x: usize, less: impl Fn(usize, usize) -> bool) {
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

pub(super) fn heap_fix_top(h: &mut [usize], less: impl Fn(usize, usize) -> bool) {
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

pub(super) fn heap_pop(h: &mut Vec<usize>, less: impl Fn(usize, usize) -> bool) {
    let last = h.len() - 1;
    h.swap(0, last);
    h.pop();
    heap_fix_top(h, less);
}

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
