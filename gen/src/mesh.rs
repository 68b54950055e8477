//! A mesh of daemons (docs/FORMAT.md sections 3 and 8): N daemons on N
//! hosts, every agent living on one of them, pulling each other's events.
//!
//! [`Mesh::new`] builds the plan of `(seed, profile)`, gives every agent a
//! host, draws the pull schedule, places the declared conflicts and then
//! simulates sync: events are written by the daemon of their host at their
//! time, and at each pull the puller takes the peer's events above its
//! checkpoint in the peer's sequence order, 1000 at a time, skipping those
//! it holds. The result per daemon is its arrival log (compact references
//! into the mesh's events, in the order the daemon numbered them), the set
//! it holds and its checkpoints: a few bytes per event and daemon. Lines
//! and rows are derived from those by the sinks.
//!
//! Every draw comes from a counter-based stream ([`crate::rng`]), so the
//! mesh is a pure function of `(seed, profile, daemons, scenario)`.

use crate::plan::{everyone_keys, EventKey, FateKind, GroupKind, Other, OtherEvent, Peer, Plan, PlanError};
use crate::profile::Profile;
use crate::render::{self, Scratch};
use crate::rng::{Kind, Stream};
use crate::timeline::{PlanEvent, Timeline, TimelineEvent};
use crate::vocab::HOSTNAMES;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use thrum_schemas::events::types;
use thrum_schemas::gojson::Obj;
use thrum_schemas::ids;
use thrum_schemas::time::{write_rfc3339_nano, Micros};

const SEC: Micros = 1_000_000;
const MIN: Micros = 60 * SEC;
const HOUR: Micros = 60 * MIN;
/// Plan times are multiples of this tick plus a digit 1..=9; pull times
/// are multiples of it, so a pull never falls on an event's instant.
const TICK: Micros = 10;

/// Each ordered pair of daemons pulls once in every period of this length,
/// at a drawn moment of its first four fifths.
pub const PULL_EVERY: Micros = 5 * MIN;
/// Most events a daemon serves in one batch (section 8).
pub const BATCH: usize = 1000;
/// Most daemons of a mesh.
pub const MAX_DAEMONS: u32 = 64;
/// Most pulls a mesh may schedule (every ordered pair once per
/// [`PULL_EVERY`] over the window): about a minute of simulation. A longer
/// window or more daemons is refused before any work.
pub const MAX_PULLS: u64 = 1 << 30;
/// In a lagging mesh, daemon 1 stops pulling at least this long before
/// the snapshot.
pub const LAG: Micros = 30 * MIN;

/// What the snapshot of the mesh shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// After the last write every daemon pulled from every peer until
    /// nothing was new: all hold the same events.
    Converged,
    /// Taken while pulls are behind: daemon 1 stopped pulling before the
    /// last writes of daemon 2, so some checkpoints trail their peer's log
    /// and some remote events are absent.
    Lagging,
}

impl Scenario {
    /// The name in `mesh.json` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Converged => "converged",
            Scenario::Lagging => "lagging",
        }
    }
}

/// Why a mesh cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeshError {
    /// The plan cannot be built.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Fewer than two daemons, more than [`MAX_DAEMONS`], or more daemons
    /// than agents (every host has at least one agent).
    #[error("--daemons {daemons}: a mesh has 2 to {max} daemons, and no more than the profile's agents ({agents})")]
    Daemons {
        /// Daemons asked for.
        daemons: u32,
        /// Most daemons allowed.
        max: u32,
        /// Agents of the profile.
        agents: u32,
    },
    /// More events than the compact references can name.
    #[error("the mesh has {events} events; at most {max} can be simulated")]
    TooManyEvents {
        /// Events of the mesh.
        events: u64,
        /// Most events.
        max: u64,
    },
    /// More pulls than [`MAX_PULLS`]: the window is too long for this many
    /// daemons.
    #[error("{daemons} daemons over {days} days schedule {pulls} pulls; at most {max} (fewer daemons or --days)")]
    TooManyPulls {
        /// Daemons asked for.
        daemons: u32,
        /// Days of the window.
        days: u32,
        /// Pulls the schedule would hold.
        pulls: u64,
        /// Most pulls.
        max: u64,
    },
    /// No quiet moment between pulls was found for a declared conflict.
    #[error("no moment between pulls for the {0} conflict; try another seed or fewer daemons")]
    NoRoomForConflict(&'static str),
}

/// A daemon of the mesh and its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The machine's hostname.
    pub hostname: String,
    /// The daemon's id, derived from the hostname (section 3).
    pub daemon_id: String,
}

/// An event of the mesh that is not in the plan: the `everyone` pairs of
/// the daemons after the first, and the declared conflicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extra {
    /// Its time and id.
    pub key: EventKey,
    /// The daemon that writes it.
    pub host: u32,
    /// What it is.
    pub what: ExtraKind,
}

/// The kinds of [`Extra`] events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraKind {
    /// The plan's `group.create` or `group.member.add` of `everyone`
    /// (the first daemon's), written again by another daemon when it
    /// first starts: same payload, its own time and id.
    Start {
        /// The plan's event.
        what: Other,
    },
    /// `agent.register` of this agent from a host that is not its own.
    Reregister {
        /// Index of the agent.
        agent: u32,
    },
    /// `group.update` of a group's description.
    GroupUpdate {
        /// Index of the group.
        group: u32,
        /// Index of the agent who updates it.
        by: u32,
        /// The new description.
        description: String,
    },
}

/// A declared conflict: a row whose value on each daemon depends on the
/// order in which the daemon received `event_ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// `agent_reregister`, `group_update` or `everyone_start`.
    pub kind: &'static str,
    /// The table of the row.
    pub table: &'static str,
    /// Its key values: the primary key, or the natural key of a table
    /// with an AUTOINCREMENT id.
    pub key: Vec<String>,
    /// The columns that may differ.
    pub columns: Vec<&'static str>,
    /// The conflicting events, in time order.
    pub event_ids: Vec<String>,
    /// The daemons that wrote them (0-based, in the order of `event_ids`).
    pub daemons: Vec<u32>,
}

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

    fn hold(&mut self, r: u32) -> bool {
        let (w, b) = (r as usize / 64, r % 64);
        let new = self.held[w] >> b & 1 == 0;
        self.held[w] |= 1 << b;
        new
    }
}

/// What an event of the mesh is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MeshEv<'a> {
    /// An event of the plan.
    Plan(PlanEvent<'a>),
    /// A declared conflict's event.
    Extra(&'a Extra),
}

/// An event of the mesh, resolved from its reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshEvent<'a> {
    /// Its time and id.
    pub key: EventKey,
    /// What it is.
    pub ev: MeshEv<'a>,
    /// Index of the daemon that wrote it.
    pub writer: u32,
}

/// A pull of `puller` from `peer` at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pull {
    at: Micros,
    puller: u32,
    peer: u32,
}

/// When pulls happen: every ordered pair once per [`PULL_EVERY`], at a
/// moment drawn from `(seed, pair, period)`, before the window's end (the
/// cut for daemon 1 of a lagging mesh).
#[derive(Debug, Clone, Copy)]
struct Schedule {
    seed: u64,
    w0: Micros,
    w1: Micros,
    cut: Micros,
    n: u32,
}

impl Schedule {
    /// The pull of `puller` from `peer` in period `k`.
    fn at(&self, puller: u32, peer: u32, k: i64) -> Micros {
        let pair = (puller * self.n + peer) as u64;
        let mut r = Stream::sub(self.seed, Kind::Mesh, 100 + pair, k as u64);
        self.w0 + k * PULL_EVERY + r.below((PULL_EVERY * 4 / 5 / TICK) as u64) as Micros * TICK
    }

    fn end(&self, puller: u32) -> Micros {
        if puller == 0 {
            self.cut
        } else {
            self.w1
        }
    }

    /// The pulls at or after `from`, in time order, generated as they are
    /// taken (memory: one pending pull per pair).
    fn clock(&self, from: Micros) -> Clock {
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
struct Clock {
    schedule: Schedule,
    heap: BinaryHeap<Reverse<(Pull, i64)>>,
}

impl Clock {
    fn peek(&self) -> Option<Pull> {
        self.heap.peek().map(|Reverse((p, _))| *p)
    }

    /// The next pull if it comes before `t`.
    fn next_before(&mut self, t: Micros) -> Option<Pull> {
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

/// A simulated mesh of daemons.
#[derive(Debug)]
pub struct Mesh {
    /// The plan, each agent's `hostname` set to its host's.
    pub plan: Plan,
    /// What the snapshot shows.
    pub scenario: Scenario,
    /// The daemons' hosts, by daemon index.
    pub hosts: Vec<Host>,
    /// The host of each agent.
    pub agent_host: Vec<u32>,
    /// The conflicts' events, in key order.
    pub extras: Vec<Extra>,
    /// The declared conflicts.
    pub conflicts: Vec<Conflict>,
    /// What each daemon holds.
    pub daemons: Vec<Daemon>,
    /// The moment of the snapshot (after the last pull).
    pub snapshot: Micros,
    /// Pulls simulated (batches are counted apart).
    pub pulls: u64,
}

/// Hostnames of `n` daemons: the machines of the vocabulary in an order
/// drawn from the seed, then synthetic ones.
pub fn hostnames(seed: u64, n: u32) -> Vec<String> {
    let mut pool: Vec<String> = HOSTNAMES.iter().map(|h| h.to_string()).collect();
    Stream::new(seed, Kind::Mesh, 0).shuffle(&mut pool);
    let mut k = 1;
    while pool.len() < n as usize {
        pool.push(format!("node-{k:02}.mesh.internal"));
        k += 1;
    }
    pool.truncate(n as usize);
    pool
}

impl Mesh {
    /// The mesh of `daemons` daemons for `(seed, profile)` in `scenario`.
    pub fn new(seed: u64, profile: Profile, daemons: u32, scenario: Scenario) -> Result<Mesh, MeshError> {
        let mut plan = Plan::new(seed, profile)?;
        let n = daemons;
        if !(2..=MAX_DAEMONS).contains(&n) || n as usize > plan.agents.len() {
            return Err(MeshError::Daemons { daemons: n, max: MAX_DAEMONS, agents: plan.agents.len() as u32 });
        }
        let days = plan.profile.window_days;
        let periods = (days as u64 * 86_400 * SEC as u64).div_ceil(PULL_EVERY as u64) + 1;
        let pulls = (n as u64 * (n as u64 - 1)).saturating_mul(periods);
        if pulls > MAX_PULLS {
            return Err(MeshError::TooManyPulls { daemons: n, days, pulls, max: MAX_PULLS });
        }
        let hosts: Vec<Host> = hostnames(seed, n).into_iter().map(|h| Host { daemon_id: ids::daemon_id(&h), hostname: h }).collect();
        // Agents are dealt to the hosts in an order drawn from the seed:
        // every host gets agents, about as many each.
        let mut order: Vec<u32> = (0..plan.agents.len() as u32).collect();
        Stream::new(seed, Kind::Mesh, 1).shuffle(&mut order);
        let mut agent_host = vec![0u32; plan.agents.len()];
        for (i, &a) in order.iter().enumerate() {
            agent_host[a as usize] = i as u32 % n;
        }
        for (a, h) in plan.agents.iter_mut().zip(&agent_host) {
            a.hostname = hosts[*h as usize].hostname.clone();
        }
        plan.origin_daemon = hosts[0].daemon_id.clone();
        let mut mesh = Mesh {
            plan,
            scenario,
            hosts,
            agent_host,
            extras: Vec::new(),
            conflicts: Vec::new(),
            daemons: Vec::new(),
            snapshot: 0,
            pulls: 0,
        };
        let pulls = mesh.schedule();
        mesh.place_conflicts(&pulls)?;
        mesh.place_starts();
        let total = mesh.total_events();
        if total >= u32::MAX as u64 {
            return Err(MeshError::TooManyEvents { events: total, max: u32::MAX as u64 - 1 });
        }
        mesh.simulate(&pulls)?;
        Ok(mesh)
    }

    /// Events of the mesh: the plan's and the conflicts'.
    pub fn total_events(&self) -> u64 {
        self.plan.total_events() + self.extras.len() as u64
    }

    fn n(&self) -> u32 {
        self.hosts.len() as u32
    }

    /// Host of the agent whose session is `s`.
    fn session_host(&self, s: u32) -> u32 {
        self.agent_host[self.plan.sessions[s as usize].agent as usize]
    }

    /// The host that writes a plan event: the host of the agent who acts
    /// (a message's session, the group's creator, the session's agent).
    fn plan_writer(&self, ev: &PlanEvent) -> u32 {
        let p = &self.plan;
        match ev {
            PlanEvent::Create(m) => self.session_host(m.session),
            PlanEvent::Fate(f) => self.session_host(p.message(f.message).session),
            PlanEvent::Other(o) => match o.what {
                Other::Register(a) => self.agent_host[a as usize],
                Other::SessionStart(s) | Other::SessionEnd(s) => self.session_host(s),
                // the plan's `everyone` pair is daemon 0's start (system)
                Other::GroupCreate(g) => p.groups[g as usize].created_by.map_or(0, |a| self.agent_host[a as usize]),
                Other::MemberAdd(m) => p.members[m as usize].added_by.map_or(0, |a| self.agent_host[a as usize]),
                Other::Update(u) => self.agent_host[p.updates[u as usize].agent as usize],
            },
        }
    }

    /// Whether the agent of session `s` lives on daemon `d` (local-only
    /// state of the session exists only there).
    pub fn session_is_local(&self, s: u32, d: u32) -> bool {
        self.session_host(s) == d
    }

    /// The event with reference `r` (references: `events.jsonl` events of
    /// the plan, then edits and deletes, then messages, then the extras).
    pub fn event(&self, r: u32) -> MeshEvent<'_> {
        let p = &self.plan;
        let (o, f, m) = (p.others.len() as u64, p.fates.len() as u64, p.profile.messages);
        let r64 = r as u64;
        let (key, ev) = if r64 < o {
            let e = &p.others[r as usize];
            (e.key, MeshEv::Plan(PlanEvent::Other(e)))
        } else if r64 < o + f {
            let e = &p.fates[(r64 - o) as usize];
            (e.key, MeshEv::Plan(PlanEvent::Fate(e)))
        } else if r64 < o + f + m {
            let msg = p.message(r64 - o - f);
            (msg.key, MeshEv::Plan(PlanEvent::Create(msg)))
        } else {
            let x = &self.extras[(r64 - o - f - m) as usize];
            return MeshEvent { key: x.key, ev: MeshEv::Extra(x), writer: x.host };
        };
        let writer = match &ev {
            MeshEv::Plan(pe) => self.plan_writer(pe),
            MeshEv::Extra(x) => x.host,
        };
        MeshEvent { key, ev, writer }
    }

    /// Renders `e` as daemon-held line with `sequence` into `out`.
    pub fn line(&self, e: &MeshEvent, sequence: u64, out: &mut String, sc: &mut Scratch) {
        let origin = &self.hosts[e.writer as usize].daemon_id;
        match e.ev {
            MeshEv::Plan(ev) => render::line_from(&self.plan, &TimelineEvent { sequence, key: e.key, ev }, origin, out, sc),
            MeshEv::Extra(x) => self.extra_line(x, sequence, origin, out, sc),
        }
    }

    fn extra_line(&self, x: &Extra, sequence: u64, od: &str, out: &mut String, sc: &mut Scratch) {
        if let ExtraKind::Start { what } = x.what {
            // the plan's event with this daemon's time and id
            let ev = OtherEvent { key: x.key, what };
            let e = TimelineEvent { sequence, key: x.key, ev: PlanEvent::Other(&ev) };
            return render::line_from(&self.plan, &e, od, out, sc);
        }
        let mut ts = String::new();
        write_rfc3339_nano(&mut ts, x.key.time);
        let eid = x.key.id("evt_");
        let mut o = Obj::new(out);
        match &x.what {
            ExtraKind::Reregister { agent } => {
                let a = &self.plan.agents[*agent as usize];
                render::register_fields(&mut o, a, &self.hosts[x.host as usize].hostname, &eid, od, sequence, &ts);
            }
            ExtraKind::Start { .. } => {}
            ExtraKind::GroupUpdate { group, by, description } => {
                o.str("event_id", &eid);
                o.raw("fields", |w| {
                    let mut f = Obj::new(w);
                    f.str("description", description);
                    f.end();
                });
                o.str("group_id", &self.plan.groups[*group as usize].group_id).str("origin_daemon", od);
                o.int("sequence", sequence as i64).str("timestamp", &ts).str("type", types::GROUP_UPDATE);
                o.str("updated_by", &self.plan.agents[*by as usize].agent_id).int("v", 1);
            }
        }
        o.end();
    }

    /// Event type of `e`.
    pub fn event_type(e: &MeshEvent) -> &'static str {
        match e.ev {
            MeshEv::Plan(ev) => crate::rows::event_type(&TimelineEvent { sequence: 0, key: e.key, ev }),
            MeshEv::Extra(x) => match x.what {
                ExtraKind::Start { what } => {
                    let ev = OtherEvent { key: x.key, what };
                    crate::rows::event_type(&TimelineEvent { sequence: 0, key: x.key, ev: PlanEvent::Other(&ev) })
                }
                ExtraKind::Reregister { .. } => types::AGENT_REGISTER,
                ExtraKind::GroupUpdate { .. } => types::GROUP_UPDATE,
            },
        }
    }

    /// The peers of daemon `d` as its `var/peers.json` lists them: every
    /// other daemon, by index (pairing and tokens as for any daemon:
    /// [`crate::Peer`]).
    pub fn peers(&self, d: u32) -> Vec<Peer> {
        let w0 = self.plan.profile.window_start;
        (0..self.n())
            .filter(|&p| p != d)
            .map(|p| {
                let last = self.daemons[d as usize].peers[p as usize].last_sync;
                Peer::new(self.plan.seed, w0, d, p, &self.hosts[p as usize].hostname, last)
            })
            .collect()
    }

    /// Time of the last event written by daemon `h` (or the window start).
    fn last_write(&self, h: u32) -> Micros {
        let p = &self.plan;
        let mut best = p.profile.window_start;
        for i in (0..p.profile.messages).rev() {
            let m = p.message(i);
            if self.session_host(m.session) == h {
                best = best.max(m.key.time);
                break;
            }
        }
        if let Some(f) = p.fates.iter().rev().find(|f| self.session_host(p.message(f.message).session) == h) {
            best = best.max(f.key.time);
        }
        if let Some(o) = p.others.iter().rev().find(|o| self.plan_writer(&PlanEvent::Other(o)) == h) {
            best = best.max(o.key.time);
        }
        best
    }

    /// The pull schedule: each ordered pair once per [`PULL_EVERY`], at a
    /// drawn moment, until the window's end. In a lagging mesh daemon 1
    /// pulls nothing from the cut on (the earlier of [`LAG`] before the
    /// end and the last write of daemon 2).
    fn schedule(&self) -> Schedule {
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
    fn quiet(schedule: &Schedule, from: Micros, until: Micros, span: Micros) -> Option<Micros> {
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

    /// Places the declared conflicts: an agent registering from a second
    /// host right after its own registration, and a group updated on two
    /// daemons in the same minute, each pair of events with no pull in
    /// between, so each writer applies its own first.
    fn place_conflicts(&mut self, pulls: &Schedule) -> Result<(), MeshError> {
        let seed = self.plan.seed;
        let n = self.n();
        let (w0, w1) = (self.plan.profile.window_start, self.plan.snapshot);
        let instant = |r: &mut Stream, t: Micros| t / TICK * TICK + r.range(1, 9);

        // --- an agent re-registers from a second host.
        let mut r = Stream::new(seed, Kind::Mesh, 4);
        let mut agents: Vec<u32> = (0..self.plan.agents.len() as u32).collect();
        r.shuffle(&mut agents);
        let mut rereg = None;
        for &a in &agents {
            let t_reg = self.plan.agents[a as usize].registered.time;
            // the next pull comes at least 3 s after the registration
            let next = pulls.clock(t_reg).peek().map_or(w1, |p| p.at);
            if next - t_reg > 3 * SEC {
                let home = self.agent_host[a as usize];
                let other = (home + 1 + r.below(n as u64 - 1) as u32) % n;
                let jitter = r.below(SEC as u64) as Micros;
                let t = instant(&mut r, t_reg + SEC + jitter);
                rereg = Some((a, home, other, t));
                break;
            }
        }
        let (a, home, other, t) = rereg.ok_or(MeshError::NoRoomForConflict("agent_reregister"))?;
        let key = EventKey::new(&mut r, t);
        let agent = &self.plan.agents[a as usize];
        self.conflicts.push(Conflict {
            kind: "agent_reregister",
            table: "agents",
            key: vec![agent.agent_id.clone()],
            columns: vec!["hostname", "registered_at"],
            event_ids: vec![agent.registered.id("evt_"), key.id("evt_")],
            daemons: vec![home, other],
        });
        self.extras.push(Extra { key, host: other, what: ExtraKind::Reregister { agent: a } });

        // --- a group updated on two daemons in the same minute.
        let mut r = Stream::new(seed, Kind::Mesh, 5);
        let span = w1 - w0;
        // a group an agent created (each daemon creates `everyone` itself)
        let agents_groups = || (0..self.plan.groups.len() as u32).filter(|&g| self.plan.groups[g as usize].kind != GroupKind::Everyone);
        let early: Vec<u32> = agents_groups().filter(|&g| self.plan.groups[g as usize].created.time < w0 + span / 2).collect();
        let g = if early.is_empty() {
            let mut all: Vec<u32> = agents_groups().collect();
            all.sort_by_key(|&g| self.plan.groups[g as usize].created.time);
            *all.first().ok_or(MeshError::NoRoomForConflict("group_update"))?
        } else {
            *r.pick(&early)
        };
        let x = r.below(n as u64) as u32;
        let y = (x + 1 + r.below(n as u64 - 1) as u32) % n;
        let from = (w0 + span * 3 / 5).max(self.plan.groups[g as usize].created.time + HOUR);
        let mut found = None;
        let mut at = from;
        while let Some(t1) = Mesh::quiet(pulls, at, w1 - MIN, 3 * SEC) {
            let t1 = instant(&mut r, t1);
            let t2 = instant(&mut r, t1 + SEC);
            if t1 / MIN == t2 / MIN {
                found = Some((t1, t2));
                break;
            }
            at = t1 + SEC;
        }
        let (t1, t2) = found.ok_or(MeshError::NoRoomForConflict("group_update"))?;
        let pick_on = |r: &mut Stream, h: u32| {
            let on: Vec<u32> = (0..self.agent_host.len() as u32).filter(|&a| self.agent_host[a as usize] == h).collect();
            *r.pick(&on)
        };
        let (bx, by) = (pick_on(&mut r, x), pick_on(&mut r, y));
        let group = &self.plan.groups[g as usize];
        let base = group.description.clone().unwrap_or_else(|| group.name.clone());
        let (k1, k2) = (EventKey::new(&mut r, t1), EventKey::new(&mut r, t2));
        self.conflicts.push(Conflict {
            kind: "group_update",
            table: "groups",
            key: vec![group.group_id.clone()],
            columns: vec!["description", "updated_at"],
            event_ids: vec![k1.id("evt_"), k2.id("evt_")],
            daemons: vec![x, y],
        });
        let desc = |h: u32| format!("{base} (updated on {})", self.hosts[h as usize].hostname);
        let (d1, d2) = (desc(x), desc(y));
        self.extras.push(Extra { key: k1, host: x, what: ExtraKind::GroupUpdate { group: g, by: bx, description: d1 } });
        self.extras.push(Extra { key: k2, host: y, what: ExtraKind::GroupUpdate { group: g, by, description: d2 } });
        self.extras.sort_by_key(|x| x.key);
        Ok(())
    }

    /// Every daemon after the first writes its own `everyone` pair when it
    /// first starts (the first daemon's is the plan's); the copies pulled
    /// later are no-ops, so each daemon keeps its own `created_at` and
    /// `added_at`: declared as conflicts.
    fn place_starts(&mut self) {
        let p = &self.plan;
        let find = |what: &dyn Fn(Other) -> bool| p.others.iter().find(|e| what(e.what)).copied();
        let create = find(&|o| matches!(o, Other::GroupCreate(g) if p.groups[g as usize].kind == GroupKind::Everyone));
        let add = find(&|o| matches!(o, Other::MemberAdd(m) if p.members[m as usize].added_by.is_none()));
        let (Some(create), Some(add)) = (create, add) else { return };
        let (Other::GroupCreate(g), Other::MemberAdd(m)) = (create.what, add.what) else { return };
        let (group, member) = (&p.groups[g as usize], &p.members[m as usize]);
        // (key, daemon) of each daemon's create and add, in time order
        let mut creates = vec![(create.key, 0)];
        let mut adds = vec![(add.key, 0)];
        for d in 1..self.n() {
            let (kc, ka) = everyone_keys(p.seed, p.profile.window_start, d);
            creates.push((kc, d));
            adds.push((ka, d));
            self.extras.push(Extra { key: kc, host: d, what: ExtraKind::Start { what: create.what } });
            self.extras.push(Extra { key: ka, host: d, what: ExtraKind::Start { what: add.what } });
        }
        creates.sort();
        adds.sort();
        let conflict = |table, key, column, events: Vec<(EventKey, u32)>| Conflict {
            kind: "everyone_start",
            table,
            key,
            columns: vec![column],
            event_ids: events.iter().map(|(k, _)| k.id("evt_")).collect(),
            daemons: events.iter().map(|&(_, d)| d).collect(),
        };
        let member_key = vec![group.group_id.clone(), member.member_type.to_string(), member.member_value.clone()];
        let created = conflict("groups", vec![group.group_id.clone()], "created_at", creates);
        let added = conflict("group_members", member_key, "added_at", adds);
        self.conflicts.push(created);
        self.conflicts.push(added);
        self.extras.sort_by_key(|x| x.key);
    }

    /// Runs the writes and pulls in time order (pulls before an event at
    /// the same instant cannot happen: pull times are whole ticks), then,
    /// for a converged mesh, rounds of pulls of every pair until nothing
    /// moves.
    fn simulate(&mut self, pulls: &Schedule) -> Result<(), MeshError> {
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

    /// The `group.create` a conflict's `group.update` (reference `r`)
    /// depends on.
    fn extra_dependency(&self, r: u32) -> Option<u32> {
        let p = &self.plan;
        let first = p.others.len() as u64 + p.fates.len() as u64 + p.profile.messages;
        let x = self.extras.get((r as u64).checked_sub(first)? as usize)?;
        match x.what {
            ExtraKind::GroupUpdate { group, .. } => p.others.iter().position(|e| e.what == Other::GroupCreate(group)).map(|i| i as u32),
            ExtraKind::Start { what: Other::MemberAdd(_) } => self.own_start_create(x.host),
            ExtraKind::Start { .. } | ExtraKind::Reregister { .. } => None,
        }
    }

    /// Reference of daemon `d`'s own `group.create` of `everyone` among the
    /// extras (daemons after the first).
    fn own_start_create(&self, d: u32) -> Option<u32> {
        let p = &self.plan;
        let first = p.others.len() as u64 + p.fates.len() as u64 + p.profile.messages;
        let i = self.extras.iter().position(|x| x.host == d && matches!(x.what, ExtraKind::Start { what: Other::GroupCreate(_) }))?;
        Some((first + i as u64) as u32)
    }
}

/// One pull: batches of the peer's log above the checkpoint until none is
/// left. Returns whether the checkpoint moved.
fn pull(ds: &mut [Daemon], pl: Pull, buf: &mut Vec<u32>) -> bool {
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

/// Kinds of events whose writer must hold another event first, for the
/// tests: `(dependent, dependency)` references of the mesh.
pub fn dependency(mesh: &Mesh, r: u32) -> Option<u32> {
    let p = &mesh.plan;
    let (o, f) = (p.others.len() as u64, p.fates.len() as u64);
    match mesh.event(r).ev {
        MeshEv::Plan(PlanEvent::Other(e)) => match e.what {
            Other::MemberAdd(m) => {
                let g = p.members[m as usize].group;
                p.others.iter().position(|x| x.what == Other::GroupCreate(g)).map(|i| i as u32)
            }
            Other::SessionEnd(s) => p.others.iter().position(|x| x.what == Other::SessionStart(s)).map(|i| i as u32),
            _ => None,
        },
        MeshEv::Plan(PlanEvent::Fate(fa)) => match fa.kind {
            FateKind::Edit { .. } | FateKind::Delete => Some((o + f + fa.message) as u32),
        },
        MeshEv::Extra(x) => match x.what {
            ExtraKind::GroupUpdate { group, .. } => p.others.iter().position(|e| e.what == Other::GroupCreate(group)).map(|i| i as u32),
            ExtraKind::Start { what: Other::MemberAdd(_) } => mesh.own_start_create(x.host),
            ExtraKind::Start { .. } | ExtraKind::Reregister { .. } => None,
        },
        _ => None,
    }
}
