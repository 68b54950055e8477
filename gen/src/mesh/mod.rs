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

use crate::plan::{
    everyone_keys, EventKey, FateKind, GroupKind, Other, OtherEvent, Peer, Plan, PlanError,
};
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

mod checkpoints;
mod conflicts;
mod events;
mod spec;

pub use checkpoints::{Daemon, PeerSync};
pub use conflicts::Conflict;
pub use events::{dependency, Extra, ExtraKind, MeshEv, MeshEvent};
pub use spec::{hostnames, Host, MeshError, Scenario};

use checkpoints::Schedule;

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

impl Mesh {
    /// The mesh of `daemons` daemons for `(seed, profile)` in `scenario`.
    pub fn new(
        seed: u64,
        profile: Profile,
        daemons: u32,
        scenario: Scenario,
    ) -> Result<Mesh, MeshError> {
        let mut plan = Plan::new(seed, profile)?;
        let n = daemons;
        if !(2..=MAX_DAEMONS).contains(&n) || n as usize > plan.agents.len() {
            return Err(MeshError::Daemons {
                daemons: n,
                max: MAX_DAEMONS,
                agents: plan.agents.len() as u32,
            });
        }
        let days = plan.profile.window_days;
        let periods = (days as u64 * 86_400 * SEC as u64).div_ceil(PULL_EVERY as u64) + 1;
        let pulls = (n as u64 * (n as u64 - 1)).saturating_mul(periods);
        if pulls > MAX_PULLS {
            return Err(MeshError::TooManyPulls { daemons: n, days, pulls, max: MAX_PULLS });
        }
        let hosts: Vec<Host> = hostnames(seed, n)
            .into_iter()
            .map(|h| Host { daemon_id: ids::daemon_id(&h), hostname: h })
            .collect();
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
                Other::GroupCreate(g) => {
                    p.groups[g as usize].created_by.map_or(0, |a| self.agent_host[a as usize])
                }
                Other::MemberAdd(m) => {
                    p.members[m as usize].added_by.map_or(0, |a| self.agent_host[a as usize])
                }
                Other::Update(u) => self.agent_host[p.updates[u as usize].agent as usize],
            },
        }
    }

    /// Whether the agent of session `s` lives on daemon `d` (local-only
    /// state of the session exists only there).
    pub fn session_is_local(&self, s: u32, d: u32) -> bool {
        self.session_host(s) == d
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
}
