//! The generation plan: pure data derived from (seed, profile).
//!
//! Small entities (agents, sessions, groups, members, work-context updates,
//! subscriptions, edits and deletes) are materialised when the plan is built.
//! Messages are not: message `i` is a pure function of (seed, i) through
//! [`Plan::message`], so writers can stream, split and parallelise them
//! without changing a byte.
//!
//! This module holds the [`Plan`] itself, its construction (agents'
//! sessions, then every other part in order) and the clock every part draws
//! its times on. The parts live in their own modules:
//!
//! * `entities`: the event key and the materialised entities;
//! * `agents`: agents, their names and hosts;
//! * `segments`: the sessions' time, cut where the live set changes;
//! * `groups`: groups and their members;
//! * `work_contexts`: `agent.update` events and the merged work contexts;
//! * `messages`: messages, their edits, deletes and read receipts;
//! * `local`: local-only state (subscriptions, session tags, checkpoints
//!   and the peers they name);
//! * `start`: what the daemon writes when it first starts, and pairing.

mod agents;
mod entities;
mod groups;
mod local;
mod messages;
mod segments;
mod sessions;
mod start;
mod work_contexts;

pub use entities::{
    Agent, Checkpoint, EventKey, Group, GroupKind, Member, Other, OtherEvent, Session, SessionTag,
    Subscription, Update,
};
pub use groups::{member_count, GROUPS};
pub use local::SUBSCRIPTION_SHAPES;
pub use messages::{Addressing, Fate, FateKind, Message, MessageState, MsgKind, Read};
pub use start::{
    everyone_keys, Peer, EVERYONE, EVERYONE_DESCRIPTION, EVERYONE_GROUP_ID, EVERYONE_MEMBER,
    SYNC_PORT, SYSTEM,
};
pub use work_contexts::MAX_UNMERGED_COMMITS;

use crate::profile::{Profile, ProfileError};
use crate::rng::{Kind, Stream};
use agents::{build_agents, daemon_host};
use groups::build_groups;
use segments::{build_segments, Segments};
use sessions::build_sessions;
use thrum_schemas::events::WorkContext;
use thrum_schemas::ids;
use thrum_schemas::time::Micros;
use work_contexts::build_updates;

const SEC: Micros = 1_000_000;
const MIN: Micros = 60 * SEC;
const HOUR: Micros = 60 * MIN;
const DAY: Micros = 24 * HOUR;
/// Plan times are multiples of this tick plus a digit 1..=9, so every
/// timestamp has six fractional digits and none ends in zero.
const TICK: Micros = 10;

/// A time with a non-zero last microsecond digit, drawn in `[lo, hi)` ticks.
fn instant(r: &mut Stream, lo: Micros, hi: Micros) -> Micros {
    let (lo_t, hi_t) = (lo.div_euclid(TICK) + 1, hi.div_euclid(TICK));
    let t = if hi_t > lo_t { r.range(lo_t, hi_t - 1) } else { lo_t };
    t * TICK + r.range(1, 9)
}

fn tick_of(t: Micros) -> Micros {
    t.div_euclid(TICK)
}

/// The plan of one fixture: its materialised entities, and the rules that
/// derive each message from (seed, index).
#[derive(Debug)]
pub struct Plan {
    /// The seed everything derives from.
    pub seed: u64,
    /// The volumes it was built for.
    pub profile: Profile,
    /// The fixture daemon's id (from the host most agents report).
    pub origin_daemon: String,
    /// The repository's `r_` id.
    pub repo_id: String,
    /// The moment the fixture is taken: the end of the profile's window.
    pub snapshot: Micros,
    /// Agents and humans, in roster order.
    pub agents: Vec<Agent>,
    /// Sessions, in `session_id` order.
    pub sessions: Vec<Session>,
    /// Groups, in roster order (role, module, nested, ad-hoc, `everyone`).
    pub groups: Vec<Group>,
    /// Group members, in replay order.
    pub members: Vec<Member>,
    /// `agent.update` events, in replay order.
    pub updates: Vec<Update>,
    /// Final agent_work_contexts rows (merge rule applied), by session index.
    pub work_contexts: Vec<(u32, WorkContext)>,
    /// Subscriptions, in id order.
    pub subscriptions: Vec<Subscription>,
    /// `session_scopes` rows: the module of every session.
    pub session_scopes: Vec<SessionTag>,
    /// `session_refs` rows: the worktree of every active session.
    pub session_refs: Vec<SessionTag>,
    /// Sync checkpoints, in peer order.
    pub checkpoints: Vec<Checkpoint>,
    /// The peers of the checkpoints, as `var/peers.json` lists them, in
    /// the checkpoints' order.
    pub peers: Vec<Peer>,
    /// events.jsonl, in replay order.
    pub others: Vec<OtherEvent>,
    /// Edits and deletes, in replay order.
    pub fates: Vec<Fate>,
    /// (message index, position in `fates`), sorted.
    fate_index: Vec<(u64, u32)>,
    segments: Segments,
    covered: Micros,
    /// Groups in creation order: (created time, group index).
    groups_by_time: Vec<(Micros, u32)>,
    /// Agents by role, for role mentions.
    by_role: Vec<(&'static str, Vec<u32>)>,
}

/// Why a plan cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Consecutive messages need `2 × live + 2` ticks between them, where
    /// `live` is the most sessions live at once: the sessions' time holds
    /// at most `max` messages.
    #[error(
        "--messages {messages} do not fit in the sessions' time: at most {max} over {days} \
        days with these sessions (two ticks per live session between consecutive messages); lower \
        --messages or raise --days"
    )]
    MessagesDoNotFit {
        /// Messages asked for.
        messages: u64,
        /// Most messages that fit.
        max: u64,
        /// Days of the window.
        days: u32,
    },
}

/// Every event other than messages, in key order.
fn collect_others(
    agents: &[Agent],
    sessions: &[Session],
    groups: &[Group],
    members: &[Member],
    updates: &[Update],
) -> Vec<OtherEvent> {
    let mut others: Vec<OtherEvent> = Vec::with_capacity(
        agents.len() + 2 * sessions.len() + groups.len() + members.len() + updates.len(),
    );
    for (i, a) in agents.iter().enumerate() {
        others.push(OtherEvent { key: a.registered, what: Other::Register(i as u32) });
    }
    for (i, s) in sessions.iter().enumerate() {
        others.push(OtherEvent { key: s.start, what: Other::SessionStart(i as u32) });
        if let Some(e) = s.end {
            others.push(OtherEvent { key: e, what: Other::SessionEnd(i as u32) });
        }
    }
    for (i, g) in groups.iter().enumerate() {
        others.push(OtherEvent { key: g.created, what: Other::GroupCreate(i as u32) });
    }
    for (i, m) in members.iter().enumerate() {
        others.push(OtherEvent { key: m.added, what: Other::MemberAdd(i as u32) });
    }
    for (i, u) in updates.iter().enumerate() {
        others.push(OtherEvent { key: u.key, what: Other::Update(i as u32) });
    }
    others.sort_by_key(|e| e.key);
    others
}

/// Agents grouped by role, roles in order of first appearance.
fn agents_by_role(agents: &[Agent]) -> Vec<(&'static str, Vec<u32>)> {
    let mut by_role: Vec<(&'static str, Vec<u32>)> = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        match by_role.iter_mut().find(|(r, _)| *r == a.role) {
            Some((_, v)) => v.push(i as u32),
            None => by_role.push((a.role, vec![i as u32])),
        }
    }
    by_role
}

/// Most ended sessions of one agent (they share the window in slots).
pub const MAX_ENDED_PER_AGENT: u32 = 6;

impl Plan {
    /// The plan for `seed` and `profile`, or why the profile cannot be
    /// planned.
    pub fn new(seed: u64, profile: Profile) -> Result<Plan, PlanError> {
        profile.validate()?;
        let w1 = profile.window_end();
        let mut ids_rng = Stream::new(seed, Kind::Ids, 0);
        let _ = ids_rng.bits(60); // (kept: the repository id stays where it was)
        let repo_id = ids::short_id("r_", ids_rng.bits(60), 12);

        let mut agents = build_agents(seed, &profile);
        // The fixture's daemon runs on the host of its local agents: its id
        // is derived from the hostname most of them report.
        let origin_daemon = ids::daemon_id(&daemon_host(&agents));
        let n_agents = agents.len() as u32;

        let sessions = build_sessions(seed, &profile, &mut agents);

        // --- time segments for messages.
        let (segments, covered) = build_segments(&sessions, w1);
        // Consecutive messages must land on distinct ticks (times strictly increase).
        let max_live = segments.segs.iter().map(|s| s.weight).max().unwrap_or(1) as Micros;
        if covered / (profile.messages as Micros) < 2 * max_live + 2 {
            let max = (covered / (2 * max_live + 2)).max(0) as u64;
            return Err(PlanError::MessagesDoNotFit {
                messages: profile.messages,
                max,
                days: profile.window_days,
            });
        }

        // --- groups and members.
        let (groups, members) = build_groups(seed, &profile, &agents, &sessions, w1)?;
        let mut groups_by_time: Vec<(Micros, u32)> =
            groups.iter().enumerate().map(|(i, g)| (g.created.time, i as u32)).collect();
        groups_by_time.sort();

        // --- work-context updates fill events.jsonl to its exact size.
        let fixed = n_agents
            + profile.sessions
            + (profile.sessions - profile.active_sessions)
            + groups.len() as u32
            + members.len() as u32;
        if profile.events < fixed + profile.active_sessions {
            // `Profile::validate` counts the same events; this is its guard.
            let reason = format!(
                "events ({}) must be at least {} (one agent.update per active session)",
                profile.events,
                fixed + profile.active_sessions
            );
            return Err(ProfileError::Invalid { name: profile.name.clone(), reason }.into());
        }
        let (updates, work_contexts) =
            build_updates(seed, &agents, &sessions, profile.events - fixed, w1);

        let others = collect_others(&agents, &sessions, &groups, &members, &updates);
        let by_role = agents_by_role(&agents);

        let mut plan = Plan {
            seed,
            origin_daemon,
            repo_id,
            snapshot: w1,
            agents,
            sessions,
            groups,
            members,
            updates,
            work_contexts,
            subscriptions: Vec::new(),
            session_scopes: Vec::new(),
            session_refs: Vec::new(),
            checkpoints: Vec::new(),
            peers: Vec::new(),
            others,
            fates: Vec::new(),
            fate_index: Vec::new(),
            segments,
            covered,
            groups_by_time,
            by_role,
            profile,
        };
        plan.build_fates();
        plan.build_local();
        Ok(plan)
    }

    /// Elements held by the plan's materialised collections (entities,
    /// list entries, tree nodes): what building it costs in memory, and a
    /// measure of its work. It grows linearly with the volumes (messages
    /// themselves are not held; their edits and deletes are).
    pub fn footprint(&self) -> u64 {
        let len = |n: usize| n as u64;
        let context = |c: &WorkContext| {
            1 + c
                .unmerged_commits
                .as_ref()
                .map_or(0, |v| v.iter().map(|c| 1 + len(c.files.len())).sum::<u64>())
                + c.uncommitted_files.as_ref().map_or(0, |v| len(v.len()))
                + c.changed_files.as_ref().map_or(0, |v| len(v.len()))
                + c.file_changes.as_ref().map_or(0, |v| len(v.len()))
        };
        len(self.agents.len())
            + self.agents.iter().map(|a| len(a.sessions.len())).sum::<u64>()
            + len(self.sessions.len())
            + len(self.groups.len())
            + len(self.members.len())
            + self
                .updates
                .iter()
                .map(|u| 1 + u.contexts.iter().map(context).sum::<u64>())
                .sum::<u64>()
            + self.work_contexts.iter().map(|(_, c)| context(c)).sum::<u64>()
            + len(self.subscriptions.len())
            + len(self.session_scopes.len())
            + len(self.session_refs.len())
            + len(self.checkpoints.len())
            + len(self.peers.len())
            + len(self.others.len())
            + len(self.fates.len())
            + len(self.fate_index.len())
            + len(self.segments.segs.len())
            + len(self.segments.live.nodes.len())
            + len(self.groups_by_time.len())
            + self.by_role.iter().map(|(_, v)| 1 + len(v.len())).sum::<u64>()
    }

    /// The `agent_id` of agent `by`, or `system` for the daemon itself
    /// (`None`).
    pub fn actor(&self, by: Option<u32>) -> &str {
        by.map_or(SYSTEM, |a| &self.agents[a as usize].agent_id)
    }

    /// Total events across all files (events.jsonl + message shards).
    pub fn total_events(&self) -> u64 {
        self.others.len() as u64 + self.profile.messages + self.fates.len() as u64
    }
}

/// Which daemon generation writes the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Schema v5: one messages.jsonl, no event ids, threads table.
    V5,
    /// Schema v13: sharded JSONL, full envelope.
    V13,
}
