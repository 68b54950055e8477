//! The row pass: derives every row of the plan once, in sink order (the
//! small tables, then the message tables, then the `events` rows with their
//! rendered JSONL lines), into reusable batches that every sink reads.
//!
//! With two or more jobs the pass runs on its own thread and each batch is
//! shared (read-only) by the SQLite/JSONL writer and the Parquet writer, so
//! neither derives or renders anything itself; a batch goes back to a pool
//! when the last reader is done with it, so the hot loop does not allocate
//! once the pool is warm and memory stays bounded by the channel depth.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use thrum_gen::render::{self, Scratch};
use thrum_gen::rows::{self, MESSAGE_TABLES};
use thrum_gen::Plan;
use thrum_gen::{slice_messages, PlanEvent, Timeline, TimelineEvent};
use thrum_schemas::catalogue::{Cell, Table, EVENTS, TABLES};

/// Rows per batch before it is handed on.
const BATCH_ROWS: usize = 8192;
/// Batches waiting per reader before the pass blocks.
const DEPTH: usize = 4;

#[derive(Debug, Clone, Copy)]
enum Slot {
    Null,
    Int(i64),
    /// Byte range in [`Batch::text`].
    Text(u32, u32),
}

#[derive(Debug, Clone, Copy)]
struct RowRef {
    table: u8,
    /// First slot in [`Batch::slots`]; the table says how many.
    start: u32,
    /// For `events` rows: the JSONL file of the line (`u32::MAX` for
    /// events.jsonl, else the agent whose shard holds it).
    file: u32,
}

/// A run of rows in sink order, with their text in one buffer.
#[derive(Debug, Default)]
pub struct Batch {
    text: String,
    slots: Vec<Slot>,
    rows: Vec<RowRef>,
    /// `messages` rows in this batch (progress).
    pub messages: u64,
}

/// JSONL file of an `events` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    /// events.jsonl
    Events,
    /// messages/{agent}.jsonl
    Shard(u32),
}

/// One row of a batch as the sinks see it.
pub struct Row<'b> {
    pub table: &'static Table,
    /// Position of `table` in the catalogue's `TABLES`.
    pub table_index: usize,
    pub cells: &'b [Cell<'b>],
    /// `Some` for `events` rows: the file its line (cell `event_json`) goes to.
    pub file: Option<File>,
}

impl Batch {
    fn clear(&mut self) {
        self.text.clear();
        self.slots.clear();
        self.rows.clear();
        self.messages = 0;
    }

    fn push(&mut self, table: &'static Table, cells: &[Cell], file: Option<File>) {
        let t = match self.rows.last() {
            Some(r) if TABLES[r.table as usize].name == table.name => r.table as usize,
            _ => TABLES.iter().position(|x| x.name == table.name).expect("a catalogue table"),
        };
        self.rows.push(RowRef {
            table: t as u8,
            start: self.slots.len() as u32,
            file: match file {
                None => u32::MAX - 1,
                Some(File::Events) => u32::MAX,
                Some(File::Shard(a)) => a,
            },
        });
        for c in cells {
            self.slots.push(match c {
                Cell::Null => Slot::Null,
                Cell::Int(i) => Slot::Int(*i),
                Cell::Text(s) => {
                    let start = self.text.len() as u32;
                    self.text.push_str(s);
                    Slot::Text(start, self.text.len() as u32)
                }
            });
        }
        if table.name == "messages" {
            self.messages += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Calls `f` with every row in order; `buf` is reused between rows.
    pub fn for_each<'b, E>(
        &'b self,
        buf: &mut Vec<Cell<'b>>,
        mut f: impl FnMut(Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        for r in &self.rows {
            let table = &TABLES[r.table as usize];
            let start = r.start as usize;
            buf.clear();
            buf.extend(self.slots[start..start + table.columns.len()].iter().map(|s| match *s {
                Slot::Null => Cell::Null,
                Slot::Int(i) => Cell::Int(i),
                Slot::Text(a, b) => Cell::text(&self.text[a as usize..b as usize]),
            }));
            let file = match r.file {
                u32::MAX => Some(File::Events),
                x if x == u32::MAX - 1 => None,
                a => Some(File::Shard(a)),
            };
            f(Row { table, table_index: r.table as usize, cells: buf, file })?;
        }
        Ok(())
    }
}

/// Where the pass puts full batches.
pub trait Emit {
    /// A batch to fill (from the pool when one is free).
    fn fresh(&mut self) -> Batch;
    /// Hands a full batch on; an error stops the pass.
    fn emit(&mut self, batch: Batch) -> Result<(), Stopped>;
}

/// A reader stopped (it failed and will report why).
#[derive(Debug)]
pub struct Stopped;

fn shard_of(plan: &Plan, e: &TimelineEvent) -> File {
    match e.ev {
        PlanEvent::Create(m) => File::Shard(m.agent),
        PlanEvent::Fate(f) => File::Shard(plan.message(f.message).agent),
        PlanEvent::Other(_) => File::Events,
    }
}

/// Fills batches and hands each on when full.
struct Filler<'o, O: Emit> {
    batch: Batch,
    out: &'o mut O,
}

impl<O: Emit> Filler<'_, O> {
    fn push(
        &mut self,
        table: &'static Table,
        cells: &[Cell],
        file: Option<File>,
    ) -> Result<(), Stopped> {
        self.batch.push(table, cells, file);
        if self.batch.len() >= BATCH_ROWS {
            let full = std::mem::replace(&mut self.batch, self.out.fresh());
            self.out.emit(full)?;
        }
        Ok(())
    }
}

/// Derives every row of `plan` (the whole fixture) in sink order: slice 0
/// of 1 of [`run_slice`].
#[cfg(test)]
pub fn run(plan: &Plan, out: &mut impl Emit) -> Result<(), Stopped> {
    run_slice(plan, 0, 1, out)
}

/// Derives the rows of slice `i` of `n` in sink order: the small tables
/// (slice 0 only), the message tables' rows of the slice's messages
/// ([`slice_messages`]) and the `events` rows of its part of the timeline
/// ([`Timeline::slice`]). The slices' rows, concatenated in order, are the
/// rows of the whole fixture.
pub fn run_slice(plan: &Plan, i: u64, n: u64, out: &mut impl Emit) -> Result<(), Stopped> {
    let batch = out.fresh();
    let mut f = Filler { batch, out };
    if i == 0 {
        for t in TABLES {
            if MESSAGE_TABLES.iter().any(|m| m.name == t.name) || t.name == EVENTS.name {
                continue;
            }
            rows::small_rows(plan, t, |row| f.push(t, row, None))?;
        }
    }
    rows::message_rows(plan, slice_messages(plan.profile.messages, i, n.max(1)), |t, row| {
        f.push(t, row, None)
    })?;
    let mut sc = Scratch::default();
    let mut line = String::with_capacity(1 << 14);
    for e in Timeline::slice(plan, i, n) {
        line.clear();
        render::line(plan, &e, &mut line, &mut sc);
        f.push(
            &EVENTS,
            &rows::event_row(plan, &e, rows::event_type(&e), &line),
            Some(shard_of(plan, &e)),
        )?;
    }
    if !f.batch.is_empty() {
        f.out.emit(f.batch)?;
    }
    Ok(())
}

/// A batch shared by several readers; the last one to drop it returns it
/// to the pool.
pub struct Shared {
    batch: Option<Arc<Batch>>,
    pool: SyncSender<Batch>,
}

impl std::ops::Deref for Shared {
    type Target = Batch;
    fn deref(&self) -> &Batch {
        self.batch.as_deref().expect("present until dropped")
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(b) = self.batch.take().and_then(Arc::into_inner) {
            let _ = self.pool.try_send(b);
        }
    }
}

/// Sends every batch to each reader's channel.
pub struct Fanout {
    readers: Vec<SyncSender<Shared>>,
    pool_tx: SyncSender<Batch>,
    pool_rx: Receiver<Batch>,
}

impl Fanout {
    /// A fan-out to `n` readers and their receiving ends.
    pub fn new(n: usize) -> (Fanout, Vec<Receiver<Shared>>) {
        let (pool_tx, pool_rx) = std::sync::mpsc::sync_channel((DEPTH + 2) * n.max(1));
        let (readers, rxs) = (0..n).map(|_| std::sync::mpsc::sync_channel(DEPTH)).unzip();
        (Fanout { readers, pool_tx, pool_rx }, rxs)
    }
}

impl Emit for Fanout {
    fn fresh(&mut self) -> Batch {
        let mut b = self.pool_rx.try_recv().unwrap_or_default();
        b.clear();
        b
    }
    fn emit(&mut self, batch: Batch) -> Result<(), Stopped> {
        let arc = Arc::new(batch);
        for r in &self.readers {
            r.send(Shared { batch: Some(arc.clone()), pool: self.pool_tx.clone() })
                .map_err(|_| Stopped)?;
        }
        // our own reference goes without returning the batch to the pool
        // unless every reader is already done with it
        drop(Shared { batch: Some(arc), pool: self.pool_tx.clone() });
        Ok(())
    }
}

/// A reader of batches on the pass's own thread.
pub type Reader<'a> = &'a mut dyn FnMut(&Batch) -> Result<(), Stopped>;

/// Calls the readers in turn on each batch, on the current thread.
pub struct Inline<'a> {
    readers: Vec<Reader<'a>>,
    spare: Option<Batch>,
}

impl<'a> Inline<'a> {
    pub fn new(readers: Vec<Reader<'a>>) -> Inline<'a> {
        Inline { readers, spare: None }
    }
}

impl Emit for Inline<'_> {
    fn fresh(&mut self) -> Batch {
        let mut b = self.spare.take().unwrap_or_default();
        b.clear();
        b
    }
    fn emit(&mut self, batch: Batch) -> Result<(), Stopped> {
        for r in self.readers.iter_mut() {
            r(&batch)?;
        }
        self.spare = Some(batch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thrum_gen::Profile;

    fn rendered(b: &Batch, out: &mut Vec<String>) {
        let mut buf = Vec::new();
        b.for_each(&mut buf, |r| -> Result<(), ()> {
            out.push(format!("{}:{:?}:{:?}", r.table.name, r.file, r.cells));
            Ok(())
        })
        .unwrap();
    }

    /// Every row the sinks used to derive themselves, in the same order,
    /// with each event line's file; the same through the threaded fan-out.
    #[test]
    fn batches_carry_exactly_the_plan_rows_in_sink_order() {
        let plan =
            Plan::new(5, Profile { messages: 6000, window_days: 4, ..Profile::small() }).unwrap();
        let mut want = Vec::new();
        for t in TABLES {
            if MESSAGE_TABLES.iter().any(|m| m.name == t.name) || t.name == EVENTS.name {
                continue;
            }
            rows::small_rows(&plan, t, |r| -> Result<(), ()> {
                want.push(format!("{}:None:{r:?}", t.name));
                Ok(())
            })
            .unwrap();
        }
        rows::message_rows(&plan, 0..plan.profile.messages, |t, r| -> Result<(), ()> {
            want.push(format!("{}:None:{r:?}", t.name));
            Ok(())
        })
        .unwrap();
        let mut sc = Scratch::default();
        for e in Timeline::new(&plan) {
            let mut line = String::new();
            render::line(&plan, &e, &mut line, &mut sc);
            let row = rows::event_row(&plan, &e, rows::event_type(&e), &line);
            want.push(format!("events:{:?}:{row:?}", Some(shard_of(&plan, &e))));
        }
        assert!(want.len() > 3 * BATCH_ROWS / 2, "several batches: {}", want.len());

        let mut inline = Vec::new();
        let mut reader = |b: &Batch| -> Result<(), Stopped> {
            rendered(b, &mut inline);
            Ok(())
        };
        run(&plan, &mut Inline::new(vec![&mut reader])).unwrap();
        assert_eq!(inline, want);

        let (mut fan, rxs) = Fanout::new(2);
        let got: Vec<Vec<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = rxs
                .into_iter()
                .map(|rx| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        for b in rx.iter() {
                            rendered(&b, &mut out);
                        }
                        out
                    })
                })
                .collect();
            run(&plan, &mut fan).unwrap();
            drop(fan);
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(got[0], want);
        assert_eq!(got[1], want);
    }

    /// Rows by table, each table's rows in order.
    fn by_table(rows: Vec<String>) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for r in rows {
            out.entry(r.split(':').next().unwrap_or_default().to_string()).or_default().push(r);
        }
        out
    }

    /// Each table's rows of the slices, concatenated in slice order, are
    /// the whole pass's rows of it, with more slices than messages too
    /// (most slices then empty).
    #[test]
    fn slices_concatenate_to_the_whole_pass() {
        let collect = |plan: &Plan, i: u64, n: u64| {
            let mut out = Vec::new();
            let mut reader = |b: &Batch| -> Result<(), Stopped> {
                rendered(b, &mut out);
                Ok(())
            };
            run_slice(plan, i, n, &mut Inline::new(vec![&mut reader])).unwrap();
            out
        };
        for (messages, n) in [(3000, 3), (3, 8)] {
            let plan = Plan::new(9, Profile { messages, ..Profile::small() }).unwrap();
            let whole = collect(&plan, 0, 1);
            let slices: Vec<Vec<String>> = (0..n).map(|i| collect(&plan, i, n)).collect();
            assert!(
                by_table(slices.concat()) == by_table(whole),
                "{messages} messages in {n} slices"
            );
            assert!(
                slices.iter().skip(1).all(|s| s.iter().all(|r| !r.starts_with("agents:"))),
                "small tables only in slice 0"
            );
            if messages < n {
                // every slice without a message but slice 0 (the small tables) is empty
                assert_eq!(
                    slices.iter().filter(|s| s.is_empty()).count() as u64,
                    n - messages - 1,
                    "empty slices"
                );
            }
        }
    }

    /// A reader that goes away stops the pass instead of blocking it.
    #[test]
    fn a_stopped_reader_stops_the_pass() {
        let plan = Plan::new(5, Profile::small()).unwrap();
        let (mut fan, mut rxs) = Fanout::new(2);
        drop(rxs.pop());
        let first = rxs.pop().unwrap();
        assert!(run(&plan, &mut fan).is_err());
        drop(first);
    }
}
