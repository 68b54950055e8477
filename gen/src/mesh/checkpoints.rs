//! The sync of a mesh: when pulls happen, and the simulation of writes
//! and pulls that leaves each daemon its arrival log, what it holds and its
//! checkpoints (section 8).

use super::*;

/// What one daemon pulled from one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerSync {
    /// The highest peer sequence pulled (0 when never pulled).
    pub last_synced_sequence: u64,
    /// When that sequence was pulled; `None` when never.
    pub last_sync: Option<Micros>,
}

/// What one daemon holds at the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    /// References of the events it holds, in arrival order: the event
    /// with sequence `s` is `arrivals[s - 1]`.
    pub arrivals: Vec<u32>,
    held: Vec<u64>,
    /// Sync state per peer, by daemon index (its own entry stays empty).
    pub peers: Vec<PeerSync>,
    /// Every batch that brought events: (sequence of its first new event,
    /// time of the pull), in sequence order.
    pub batches: Vec<(u64, Micros)>,
}

impl Daemon {
    /// Whether it holds the event `r`.
    pub fn holds(&self, r: u32) -> bool {
        self.held.get(r as usize / 64).is_some_and(|w| w >> (r % 64) & 1 == 1)
    }
    /// When the event with `sequence` arrived: its own time for an event
    /// the daemon wrote itself (`own`), else the time of the pull that
    /// brought it.
    pub fn arrived_at(&self, sequence: u64, key_time: Micros, own: bool) -> Micros {
        if own {
            return key_time;
        }
        let i = self.batches.partition_point(|&(first, _)| first <= sequence);
        i.checked_sub(1).map_or(key_time, |i| self.batches[i].1)
    }

    pub(super) fn hold(&mut self, r: u32) -> bool {
        let (w, b) = (r as usize / 64, r % 64);
        let new = self.held[w] >> b & 1 == 0;
        self.held[w] |= 1 << b;
        new
    }
}

/// A pull of `puller` from `peer` at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pull {
    pub(super) at: Micros,
    pub(super) puller: u32,
    pub(super) peer: u32,
}

/// When pulls happen: every ordered pair once per [`PULL_EVERY`], at a
/// moment drawn from `(seed, pair, period)`, before the window's end (the
/// cut for daemon 1 of a lagging mesh).
#[derive(Debug, Clone, Copy)]
pub(super) struct Schedule {
    pub(super) seed: u64,
    pub(super) w0: Micros,
    pub(super) w1: Micros,
    pub(super) cut: Micros,
    pub(super) n: u32,
}

impl Schedule {
    /// The pull of `puller` from `peer` in period `k`.
    pub(super) fn at(&self, puller: u32, peer: u32, k: i64) -> Micros {
        let pair = (puller * self.n + peer) as u64;
        let mut r = Stream::sub(self.seed, Kind::Mesh, 100 + pair, k as u64);
        self.w0 + k * PULL_EVERY + r.below((PULL_EVERY * 4 / 5 / TICK) as u64) as Micros * TICK
    }

    pub(super) fn end(&self, puller: u32) -> Micros {
        if puller == 0 {
            self.cut
        } else {
            self.w1
        }
    }

    /// The pulls at or after `from`, in time order, generated as they are
    /// taken (memory: one pending pull per pair).
    pub(super) fn clock(&self, from: Micros) -> Clock {
        let mut heap = BinaryHeap::new();
        for a in 0..self.n {
            for b in (0..self.n).filter(|&b| b != a) {
                let mut k = if from <= self.w0 { 0 } else { (from - self.w0) / PULL_EVERY };
                while self.at(a, b, k) < from {
                    k += 1;
                }
                let at = self.at(a, b, k);
                if at < self.end(a) {
                    heap.push(Reverse((Pull { at, puller: a, peer: b }, k)));
                }
            }
        }
        Clock { schedule: *self, heap }
    }
}

/// Pulls in time order (ties by puller, then peer).
pub(super) struct Clock {
    pub(super) schedule: Schedule,
    pub(super) heap: BinaryHeap<Reverse<(Pull, i64)>>,
}

impl Clock {
    pub(super) fn peek(&self) -> Option<Pull> {
        self.heap.peek().map(|Reverse((p, _))| *p)
    }

    /// The next pull if it comes before `t`.
    pub(super) fn next_before(&mut self, t: Micros) -> Option<Pull> {
        if self.peek()?.at < t {
            self.next()
        } else {
            None
        }
    }
}

impl Iterator for Clock {
    type Item = Pull;

    fn next(&mut self) -> Option<Pull> {
        let Reverse((p, k)) = self.heap.pop()?;
        let s = &self.schedule;
        let at = s.at(p.puller, p.peer, k + 1);
        if at < s.end(p.puller) {
            self.heap.push(Reverse((Pull { at, ..p }, k + 1)));
        }
        Some(p)
    }
}

impl Mesh {
    /// Time of the last event written by daemon `h` (or the window start).
    pub(super) fn last_write(&self, h: u32) -> Micros {
        let p = &self.plan;
        let mut best = p.profile.window_start;
        for i in (0..p.profile.messages).rev() {
            let m = p.message(i);
            if self.session_host(m.session) == h {
                best = best.max(m.key.time);
                break;
            }
        }
        if let Some(f) =
            p.fates.iter().rev().find(|f| self.session_host(p.message(f.message).session) == h)
        {
            best = best.max(f.key.time);
        }
        if let Some(o) = p.others.iter().rev().find(|o| self.plan_writer(&PlanEvent::Other(o)) == h)
        {
            best = best.max(o.key.time);
        }
        best
    }

    /// The pull schedule: each ordered pair once per [`PULL_EVERY`], at a
    /// drawn moment, until the window's end. In a lagging mesh daemon 1
    /// pulls nothing from the cut on (the earlier of [`LAG`] before the
    /// end and the last write of daemon 2).
    pub(super) fn schedule(&self) -> Schedule {
        let p = &self.plan;
        let w1 = p.snapshot;
        let cut = match self.scenario {
            Scenario::Converged => w1,
            Scenario::Lagging => (w1 - LAG).min(self.last_write(1)),
        };
        // pulls begin a minute into the window: every daemon has started
        // and paired by then
        Schedule { seed: p.seed, w0: p.profile.window_start + MIN, w1, cut, n: self.n() }
    }

    /// A moment at or after `from` and before `until` with no pull in
    /// `[t, t + span]`: `t` is one second after a pull (or after `from`).
    pub(super) fn quiet(
        schedule: &Schedule,
        from: Micros,
        until: Micros,
        span: Micros,
    ) -> Option<Micros> {
        let mut clock = schedule.clock(from);
        let mut prev = from;
        loop {
            let next = clock.peek().map_or(until, |p| p.at);
            let t = prev + SEC;
            if t + span + SEC < next && t + span < until {
                return Some(t);
            }
            if next >= until || clock.next().is_none() {
                return None;
            }
            prev = next;
        }
    }

    /// Runs the writes and pulls in time order (pulls before an event at
    /// the same instant cannot happen: pull times are whole ticks), then,
    /// for a converged mesh, rounds of pulls of every pair until nothing
    /// moves.
    pub(super) fn simulate(&mut self, pulls: &Schedule) -> Result<(), MeshError> {
        let n = self.n() as usize;
        let total = self.total_events() as usize;
        let mut ds: Vec<Daemon> = (0..n)
            .map(|_| Daemon {
                arrivals: Vec::new(),
                held: vec![0; total.div_ceil(64)],
                peers: vec![PeerSync::default(); n],
                batches: Vec::new(),
            })
            .collect();
        let p = &self.plan;
        let (o, f, m) = (p.others.len() as u32, p.fates.len() as u32, p.profile.messages as u32);
        let mut counters = (0u32, 0u32, 0u32);
        let mut tl = Timeline::new(p).peekable();
        let mut xi = 0;
        let mut clock = pulls.clock(Micros::MIN);
        let mut last_pull = p.snapshot;
        let mut buf = Vec::with_capacity(BATCH);
        let mut pulled = 0u64;
        let mut last_write = p.snapshot;
        loop {
            let next_plan = tl.peek().map(|e| e.key);
            let next_extra = self.extras.get(xi).map(|x| x.key);
            let (key, r, writer) = match (next_plan, next_extra) {
                (None, None) => break,
                (Some(k), x) if x.is_none_or(|x| k < x) => {
                    let Some(e) = tl.next() else { break };
                    let r = match e.ev {
                        PlanEvent::Other(_) => {
                            counters.0 += 1;
                            counters.0 - 1
                        }
                        PlanEvent::Fate(_) => {
                            counters.1 += 1;
                            o + counters.1 - 1
                        }
                        PlanEvent::Create(_) => {
                            counters.2 += 1;
                            o + f + counters.2 - 1
                        }
                    };
                    (k, r, self.plan_writer(&e.ev))
                }
                (_, Some(k)) => {
                    xi += 1;
                    (k, o + f + m + xi as u32 - 1, self.extras[xi - 1].host)
                }
                (Some(_), None) => break,
            };
            last_write = last_write.max(key.time);
            while let Some(pl) = clock.next_before(key.time) {
                pull(&mut ds, pl, &mut buf);
                last_pull = pl.at;
                pulled += 1;
            }
            if let Some(dep) = self.extra_dependency(r) {
                // the writer of a group update or member add holds the group
                if !ds[writer as usize].holds(dep) {
                    return Err(MeshError::NoRoomForConflict("group_update"));
                }
            }
            let d = &mut ds[writer as usize];
            if d.hold(r) {
                d.arrivals.push(r);
            }
        }
        for pl in clock {
            pull(&mut ds, pl, &mut buf);
            last_pull = pl.at;
            pulled += 1;
        }
        // the snapshot comes after every write (a plan may place a few
        // events, such as members of a group created late, past its end)
        let mut at = last_pull.max(last_write);
        if self.scenario == Scenario::Converged {
            loop {
                let mut moved = false;
                for a in 0..n as u32 {
                    for b in (0..n as u32).filter(|&b| b != a) {
                        at += 100 * TICK;
                        moved |= pull(&mut ds, Pull { at, puller: a, peer: b }, &mut buf);
                        pulled += 1;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        self.snapshot = at;
        self.pulls = pulled;
        self.daemons = ds;
        Ok(())
    }
}

/// One pull: batches of the peer's log above the checkpoint until none is
/// left. Returns whether the checkpoint moved.
pub(super) fn pull(ds: &mut [Daemon], pl: Pull, buf: &mut Vec<u32>) -> bool {
    let (a, b) = (pl.puller as usize, pl.peer as usize);
    let mut moved = false;
    loop {
        let start = ds[a].peers[b].last_synced_sequence as usize;
        let end = (start + BATCH).min(ds[b].arrivals.len());
        if start >= end {
            return moved;
        }
        buf.clear();
        buf.extend_from_slice(&ds[b].arrivals[start..end]);
        let d = &mut ds[a];
        let first = d.arrivals.len() as u64 + 1;
        for &r in buf.iter() {
            if d.hold(r) {
                d.arrivals.push(r);
            }
        }
        if d.arrivals.len() as u64 >= first {
            d.batches.push((first, pl.at));
        }
        d.peers[b] = PeerSync { last_synced_sequence: end as u64, last_sync: Some(pl.at) };
        moved = true;
    }
}
