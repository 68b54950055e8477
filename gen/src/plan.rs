//! The generation plan: pure data derived from (seed, profile).
//!
//! Small entities (agents, sessions, groups, members, work-context updates,
//! subscriptions, edits and deletes) are materialised when the plan is built.
//! Messages are not: message `i` is a pure function of (seed, i) through
//! [`Plan::message`], so writers can stream, split and parallelise them
//! without changing a byte.

use crate::profile::{Profile, ProfileError};
use crate::rng::{Kind, Stream};
use crate::text::{self, Format};
use crate::vocab::*;
use thrum_schemas::events::{Commit, FileChange, WorkContext};
use thrum_schemas::ids;
use thrum_schemas::time::{rfc3339_nano, Micros};

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

/// The global position of an event: time, then 70 random bits. Event ids
/// are `evt_` + ULID(ms, µs-within-ms ‖ random), so ordering by key, by
/// (timestamp, event_id) and by event_id are all the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    pub time: Micros,
    pub rand: u128,
}

impl EventKey {
    pub fn new(r: &mut Stream, time: Micros) -> EventKey {
        EventKey { time, rand: r.bits(70) }
    }
    /// `prefix` + ULID of this key.
    pub fn id(&self, prefix: &str) -> String {
        let ms = self.time.div_euclid(1000) as u64;
        let us = self.time.rem_euclid(1000) as u128;
        ids::prefixed(prefix, ms, (us << 70) | self.rand)
    }
    /// Id of the entity this event creates (`ses_`, `grp_`): same time
    /// part as the event id, different entropy.
    pub fn entity_id(&self, prefix: &str) -> String {
        let salt = prefix.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| (h ^ b as u64).wrapping_mul(0x1000_0000_01B3));
        let mut r = Stream::new(salt, Kind::Ids, self.rand as u64 ^ (self.rand >> 64) as u64);
        let k = EventKey { time: self.time, rand: r.bits(70) };
        k.id(prefix)
    }
    pub fn push_id(&self, out: &mut String, prefix: &str) {
        let ms = self.time.div_euclid(1000) as u64;
        let us = self.time.rem_euclid(1000) as u128;
        out.push_str(prefix);
        ids::push_ulid(out, ms, (us << 70) | self.rand);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub agent_id: String,
    /// Identity/file name (agent name, or username for humans).
    pub name: String,
    /// `agent` or `human`.
    pub kind: &'static str,
    pub role: &'static str,
    pub module: &'static str,
    pub display: String,
    pub hostname: String,
    pub worktree: String,
    pub confirmed_by: String,
    pub registered: EventKey,
    /// Session indices, in start order.
    pub sessions: Vec<u32>,
    /// Heartbeat: latest `last_seen_at` of its sessions.
    pub last_seen: Micros,
}

impl Agent {
    /// Name of its JSONL shard / identity / context file.
    pub fn file_name(&self) -> String {
        ids::shard_name(&self.agent_id)
    }
    /// Value used in `mention` refs.
    pub fn mention(&self) -> &str {
        &self.name
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub session_id: String,
    pub agent: u32,
    pub start: EventKey,
    pub end: Option<EventKey>,
    pub end_reason: Option<&'static str>,
    /// Heartbeat (local-only column).
    pub last_seen: Micros,
}

impl Session {
    /// End of the session's life, or the snapshot for active sessions.
    pub fn until(&self, snapshot: Micros) -> Micros {
        self.end.map_or(snapshot, |e| e.time)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Role,
    Module,
    Nested,
    AdHoc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub group_id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: GroupKind,
    /// Agent index of the creator.
    pub created_by: u32,
    pub created: EventKey,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// AUTOINCREMENT id: position in replay order.
    pub id: i64,
    pub group: u32,
    pub member_type: &'static str,
    pub member_value: String,
    pub added: EventKey,
    pub added_by: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub agent: u32,
    pub key: EventKey,
    pub contexts: Vec<WorkContext>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: i64,
    pub session: u32,
    pub scope_type: Option<&'static str>,
    pub scope_value: Option<String>,
    pub mention_role: Option<String>,
    pub created_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionTag {
    pub session: u32,
    pub tag_type: &'static str,
    pub value: String,
    pub added_at: Micros,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub peer: String,
    pub last_synced_sequence: i64,
    pub last_sync_timestamp: i64,
    pub status: &'static str,
}

/// What happens to a message after it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FateKind {
    /// The `n`-th edit (0-based) of the message; `id` is its message_edits id.
    Edit { n: u8, id: i64 },
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fate {
    pub key: EventKey,
    pub message: u64,
    pub kind: FateKind,
}

/// Non-message events of `events.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Other {
    Register(u32),
    SessionStart(u32),
    SessionEnd(u32),
    GroupCreate(u32),
    MemberAdd(u32),
    Update(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherEvent {
    pub key: EventKey,
    pub what: Other,
}

/// One elementary stretch of time in which the same sessions are live.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    /// First tick messages may use (exclusive of the boundary).
    lo_tick: Micros,
    /// Cumulative usable ticks before this segment.
    cum: Micros,
    len: Micros,
    /// Number of live sessions.
    live: u32,
    /// Messages per tick, relative: `live` times the hour's [`rhythm`].
    weight: u32,
    /// The live sessions: a version of `Segments::live`.
    root: u32,
}

/// The segments of the sessions' time, with their live sets.
#[derive(Debug, Default)]
struct Segments {
    segs: Vec<Segment>,
    live: LiveSets,
}

/// Sets of session indices, one version per change, sharing what they have
/// in common (a persistent count tree): `n` changes over `s` sessions cost
/// `O(n log s)` nodes, however many sessions are live at once.
#[derive(Debug, Default)]
struct LiveSets {
    /// (left child, right child, number of members); node 0 is the empty set.
    nodes: Vec<[u32; 3]>,
    /// Members are below this.
    width: u32,
}

impl LiveSets {
    fn new(width: u32) -> LiveSets {
        LiveSets { nodes: vec![[0, 0, 0]], width: width.max(1) }
    }

    /// The version `root` with `member` added (or removed): its new root.
    fn with(&mut self, root: u32, member: u32, add: bool) -> u32 {
        self.change(root, 0, self.width, member, add)
    }

    fn change(&mut self, node: u32, lo: u32, hi: u32, member: u32, add: bool) -> u32 {
        let [mut left, mut right, count] = self.nodes[node as usize];
        let count = if add { count + 1 } else { count - 1 };
        if hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if member < mid {
                left = self.change(left, lo, mid, member, add);
            } else {
                right = self.change(right, mid, hi, member, add);
            }
        }
        self.nodes.push([left, right, count]);
        (self.nodes.len() - 1) as u32
    }

    /// The `k`-th smallest member (0-based) of version `root`.
    fn kth(&self, mut node: u32, mut k: u32) -> u32 {
        let (mut lo, mut hi) = (0, self.width);
        while hi - lo > 1 {
            let [left, right, _] = self.nodes[node as usize];
            let mid = lo + (hi - lo) / 2;
            let in_left = self.nodes[left as usize][2];
            if k < in_left {
                node = left;
                hi = mid;
            } else {
                k -= in_left;
                node = right;
                lo = mid;
            }
        }
        lo
    }
}

/// How a message is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    Broadcast,
    /// Mention of an agent (by name).
    MentionAgent(u32),
    /// Mention of a role.
    MentionRole(&'static str),
    /// Group scope + group ref.
    Group(u32),
    /// Reply to an earlier message; `root` is the conversation's first message.
    Reply { parent: u64, root: u64, mention_parent: bool },
}

/// Message `index`, fully determined by (seed, index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    pub index: u64,
    pub key: EventKey,
    /// Entropy of the `msg_` ULID.
    pub id_rand: u128,
    pub session: u32,
    /// `agent_id`: the agent the message is sent as.
    pub agent: u32,
    /// The real author when impersonating.
    pub authored_by: Option<u32>,
    pub disclosed: Option<bool>,
    pub addressing: Addressing,
}

/// Final state of a message after its edits and delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageState {
    pub updated_at: Option<Micros>,
    pub deleted_at: Option<Micros>,
    pub delete_reason: Option<&'static str>,
    pub edits: u8,
}

/// A read receipt (local-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub session: u32,
    pub agent: u32,
    pub at: Micros,
}

#[derive(Debug)]
pub struct Plan {
    pub seed: u64,
    pub profile: Profile,
    pub origin_daemon: String,
    pub repo_id: String,
    pub snapshot: Micros,
    pub agents: Vec<Agent>,
    pub sessions: Vec<Session>,
    pub groups: Vec<Group>,
    pub members: Vec<Member>,
    pub updates: Vec<Update>,
    /// Final agent_work_contexts rows (merge rule applied), by session index.
    pub work_contexts: Vec<(u32, WorkContext)>,
    pub subscriptions: Vec<Subscription>,
    pub session_scopes: Vec<SessionTag>,
    pub session_refs: Vec<SessionTag>,
    pub checkpoints: Vec<Checkpoint>,
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
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Consecutive messages need `2 × live + 2` ticks between them, where
    /// `live` is the most sessions live at once: the sessions' time holds
    /// at most `max` messages.
    #[error("--messages {messages} do not fit in the sessions' time: at most {max} over {days} days with these sessions (two ticks per live session between consecutive messages); lower --messages or raise --days")]
    MessagesDoNotFit { messages: u64, max: u64, days: u32 },
}

/// Groups every plan creates: role, module, nested and ad-hoc groups.
pub const GROUPS: u32 = (ROLE_GROUP_NAMES.len() + MODULES.len() + NESTED.len() + ADHOC.len()) as u32;
/// Most ended sessions of one agent (they share the window in slots).
pub const MAX_ENDED_PER_AGENT: u32 = 6;
/// Distinct subscriptions a session can hold: its module, each group, its
/// role, its name, and everything.
pub const SUBSCRIPTION_SHAPES: u32 = 1 + GROUPS + 2 + 1;
/// Most unmerged commits of a work context: when a session's list is
/// full, its branch is merged and the list starts over.
pub const MAX_UNMERGED_COMMITS: usize = 32;

/// group_members rows of a plan for `p` (the rule of `build_groups`): one
/// role member per role group, every agent in its module's group, the
/// parts of the nested groups, and the ad-hoc groups' share; or why the
/// profile's exact total cannot be met.
pub fn member_count(p: &Profile) -> Result<u64, String> {
    let agents = p.agents as u64;
    let nested: u64 = NESTED.iter().map(|n| n.2.len() as u64).sum();
    let pending = ROLE_GROUP_NAMES.len() as u64 + agents + nested;
    let adhoc = ADHOC.len() as u64;
    let adhoc_total = match p.group_members {
        Some(total) => {
            let total = total as u64;
            if total < pending + 2 * adhoc {
                return Err(format!("group_members ({total}) is too small for the role, module and nested groups ({pending})"));
            }
            total - pending
        }
        None => adhoc * 6,
    };
    let shares: u64 = (0..adhoc).map(|j| (adhoc_total / adhoc + u64::from(j < adhoc_total % adhoc)).min(agents)).sum();
    Ok(pending + shares)
}

const ROLE_GROUP_NAMES: &[&str] = &["coordinators", "implementers", "reviewers", "planners", "testers"];
const NESTED: &[(&str, &str, &[&str])] = &[
    ("platform", "Daemon, relay and sync teams", &["daemon-team", "relay-team", "sync-team"]),
    ("product", "Everything users touch: CLI, UI and auth", &["cli-team", "ui-team", "auth-team"]),
    ("leads", "Coordinators, planners and the platform group", &["coordinators", "planners", "platform"]),
];
const ADHOC: &[(&str, &str)] = &[
    ("release-2026-03", "March release train"),
    ("incident-relay-flap", "Relay reconnect storm, 2026-03-04"),
    ("perf-taskforce", "Sync throughput & heartbeat latency"),
    ("docs-sprint", ""),
];

impl Plan {
    pub fn new(seed: u64, profile: Profile) -> Result<Plan, PlanError> {
        profile.validate()?;
        let w0 = profile.window_start;
        let w1 = profile.window_end();
        let mut ids_rng = Stream::new(seed, Kind::Ids, 0);
        let _ = ids_rng.bits(60); // (kept: the repository id stays where it was)
        let repo_id = ids::short_id("r_", ids_rng.bits(60), 12);

        let mut agents = build_agents(seed, &profile);
        // The fixture's daemon runs on the host of its local agents: its id
        // is derived from the hostname most of them report.
        let origin_daemon = ids::daemon_id(&daemon_host(&agents));
        let n_agents = agents.len() as u32;

        // --- sessions: each agent's ended sessions in slots before its active one.
        let mut per_agent_ended = vec![0u32; n_agents as usize];
        let has_active = |a: u32| a < profile.active_sessions;
        // Agents are shuffled for the active assignment so humans/extras vary.
        let mut order: Vec<u32> = (0..n_agents).collect();
        Stream::new(seed, Kind::AgentSessions, 0).shuffle(&mut order);
        let mut rank = vec![0u32; n_agents as usize];
        for (i, &a) in order.iter().enumerate() {
            rank[a as usize] = i as u32;
        }
        let active_of = |a: u32| has_active(rank[a as usize]);
        let mut ended_left = profile.sessions - profile.active_sessions;
        for a in 0..n_agents {
            if !active_of(a) {
                per_agent_ended[a as usize] = 1;
                ended_left -= 1;
            }
        }
        let mut r = Stream::new(seed, Kind::AgentSessions, 1);
        while ended_left > 0 {
            let a = r.below(n_agents as u64) as usize;
            if per_agent_ended[a] < MAX_ENDED_PER_AGENT {
                per_agent_ended[a] += 1;
                ended_left -= 1;
            }
        }
        let mut sessions: Vec<Session> = Vec::with_capacity(profile.sessions as usize);
        for a in 0..n_agents {
            let mut r = Stream::new(seed, Kind::Session, a as u64);
            let k = per_agent_ended[a as usize] as i64;
            let region_start = w0 + 20 * MIN;
            // A session still running at the snapshot may have started days
            // ago: starts are drawn as `w0 + span * u^2` (more of them early),
            // so that the number of live sessions, and with it the traffic,
            // is spread over the whole window rather than its last hours.
            // The agent's ended sessions take the time before it (at least
            // 30 minutes each).
            let active_start = if active_of(a) {
                let lo = region_start + k * 30 * MIN + 2 * MIN;
                let hi = w1 - 6 * MIN;
                let u = r.below(1 << 20) as i128;
                let at = lo + ((hi - lo) as i128 * u * u / (1i128 << 40)) as Micros;
                Some(instant(&mut r, at.min(hi - MIN), (at + MIN).min(hi)))
            } else {
                None
            };
            let region_end = active_start.unwrap_or(w1) - 2 * MIN;
            let slot = (region_end - region_start) / k.max(1);
            for s in 0..k {
                let slot_lo = region_start + s * slot;
                let max_dur = (8 * HOUR).min(slot - 2 * MIN).max(5 * MIN + 1000);
                let dur = r.log_range(5 * MIN / SEC, max_dur / SEC) * SEC;
                let start = instant(&mut r, slot_lo, slot_lo + slot - dur - MIN);
                let end = (start + dur) / TICK * TICK + r.range(1, 9);
                let end_reason = Some(*r.pick(END_REASONS));
                let last_seen = instant(&mut r, end - (dur / 4).min(5 * MIN), end);
                sessions.push(Session {
                    session_id: String::new(),
                    agent: a,
                    start: EventKey::new(&mut r, start),
                    end: Some(EventKey::new(&mut r, end)),
                    end_reason,
                    last_seen,
                });
            }
            if let Some(start) = active_start {
                let last_seen = instant(&mut r, (w1 - 10 * MIN).max(start), w1);
                sessions.push(Session { session_id: String::new(), agent: a, start: EventKey::new(&mut r, start), end: None, end_reason: None, last_seen });
            }
        }
        // Session ids are ULIDs of their start; index sessions in id order.
        for s in sessions.iter_mut() {
            s.session_id = s.start.entity_id("ses_");
        }
        sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        for (i, s) in sessions.iter().enumerate() {
            agents[s.agent as usize].sessions.push(i as u32);
        }
        for a in agents.iter_mut() {
            a.sessions.sort_by_key(|&s| sessions[s as usize].start);
            let first = sessions[a.sessions[0] as usize].start.time;
            let mut r = Stream::sub(seed, Kind::Agent, 0, a.sessions[0] as u64);
            let t = instant(&mut r, (first - 15 * MIN).max(w0), first - 5 * SEC);
            a.registered = EventKey::new(&mut r, t);
            a.last_seen = a.sessions.iter().map(|&s| sessions[s as usize].last_seen).max().unwrap_or(first);
        }

        // --- time segments for messages.
        let (segments, covered) = build_segments(&sessions, w1);
        // Consecutive messages must land on distinct ticks (times strictly increase).
        let max_live = segments.segs.iter().map(|s| s.weight).max().unwrap_or(1) as Micros;
        if covered / (profile.messages as Micros) < 2 * max_live + 2 {
            let max = (covered / (2 * max_live + 2)).max(0) as u64;
            return Err(PlanError::MessagesDoNotFit { messages: profile.messages, max, days: profile.window_days });
        }

        // --- groups and members.
        let (groups, members) = build_groups(seed, &profile, &agents, &sessions, w1)?;
        let mut groups_by_time: Vec<(Micros, u32)> = groups.iter().enumerate().map(|(i, g)| (g.created.time, i as u32)).collect();
        groups_by_time.sort();

        // --- work-context updates fill events.jsonl to its exact size.
        let fixed = n_agents + profile.sessions + (profile.sessions - profile.active_sessions) + groups.len() as u32 + members.len() as u32;
        if profile.events < fixed + profile.active_sessions {
            // `Profile::validate` counts the same events; this is its guard.
            let reason = format!("events ({}) must be at least {} (one agent.update per active session)", profile.events, fixed + profile.active_sessions);
            return Err(ProfileError::Invalid { name: profile.name.clone(), reason }.into());
        }
        let (updates, work_contexts) = build_updates(seed, &agents, &sessions, profile.events - fixed, w1);

        let mut others: Vec<OtherEvent> = Vec::with_capacity(profile.events as usize);
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

        let mut by_role: Vec<(&'static str, Vec<u32>)> = Vec::new();
        for (i, a) in agents.iter().enumerate() {
            match by_role.iter_mut().find(|(r, _)| *r == a.role) {
                Some((_, v)) => v.push(i as u32),
                None => by_role.push((a.role, vec![i as u32])),
            }
        }

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
            1 + c.unmerged_commits.as_ref().map_or(0, |v| v.iter().map(|c| 1 + len(c.files.len())).sum::<u64>())
                + c.uncommitted_files.as_ref().map_or(0, |v| len(v.len()))
                + c.changed_files.as_ref().map_or(0, |v| len(v.len()))
                + c.file_changes.as_ref().map_or(0, |v| len(v.len()))
        };
        len(self.agents.len())
            + self.agents.iter().map(|a| len(a.sessions.len())).sum::<u64>()
            + len(self.sessions.len())
            + len(self.groups.len())
            + len(self.members.len())
            + self.updates.iter().map(|u| 1 + u.contexts.iter().map(context).sum::<u64>()).sum::<u64>()
            + self.work_contexts.iter().map(|(_, c)| context(c)).sum::<u64>()
            + len(self.subscriptions.len())
            + len(self.session_scopes.len())
            + len(self.session_refs.len())
            + len(self.checkpoints.len())
            + len(self.others.len())
            + len(self.fates.len())
            + len(self.fate_index.len())
            + len(self.segments.segs.len())
            + len(self.segments.live.nodes.len())
            + len(self.groups_by_time.len())
            + self.by_role.iter().map(|(_, v)| 1 + len(v.len())).sum::<u64>()
    }

    /// Total events across all files (events.jsonl + message shards).
    pub fn total_events(&self) -> u64 {
        self.others.len() as u64 + self.profile.messages + self.fates.len() as u64
    }

    /// Message `index` (0-based). Pure: depends on (seed, index) and the
    /// plan's small entities only.
    pub fn message(&self, index: u64) -> Message {
        let mut r = Stream::new(self.seed, Kind::Message, index);
        let (time, seg) = self.place(index, &mut r);
        let session = self.segments.live.kth(seg.root, r.below(seg.live as u64) as u32);
        let author = self.sessions[session as usize].agent;
        let key = EventKey::new(&mut r, time);
        let id_rand = r.bits(70);

        let addressing = match self.kind_of(index) {
            MsgKind::Broadcast => Addressing::Broadcast,
            MsgKind::Reply => {
                let parent = self.parent_of(index);
                Addressing::Reply { parent, root: self.root_of(parent), mention_parent: r.chance(0.3) }
            }
            MsgKind::Directed => {
                let roll = r.below(100);
                let created = self.groups_by_time.partition_point(|&(t, _)| t < time);
                if roll < 25 && created > 0 {
                    Addressing::Group(self.groups_by_time[r.below(created as u64) as usize].1)
                } else if roll < 50 {
                    let (role, _) = self.by_role[r.below(self.by_role.len() as u64) as usize];
                    Addressing::MentionRole(role)
                } else {
                    let mut target = r.below(self.agents.len() as u64) as u32;
                    if target == author {
                        target = (target + 1) % self.agents.len() as u32;
                    }
                    Addressing::MentionAgent(target)
                }
            }
        };
        // A few messages are sent as another agent (impersonation).
        let (agent, authored_by, disclosed) = if r.chance(0.012) {
            let mut acted = r.below(self.agents.len() as u64) as u32;
            if acted == author {
                acted = (acted + 1) % self.agents.len() as u32;
            }
            (acted, Some(author), Some(r.chance(0.5)))
        } else {
            (author, None, None)
        };
        Message { index, key, id_rand, session, agent, authored_by, disclosed, addressing }
    }

    /// The time of message `index` and its segment: the first draws of its
    /// stream `r` (the rest of [`Plan::message`] continues with it).
    fn place(&self, index: u64, r: &mut Stream) -> (Micros, &Segment) {
        let n = self.profile.messages;
        // Position in the concatenation of usable ticks: slot `index` of n.
        let slot = self.covered / n as Micros;
        let pos = (index as i128 * self.covered as i128 / n as i128) as Micros + r.below((slot / 2).max(1) as u64) as Micros;
        let seg_i = match self.segments.segs.binary_search_by(|s| s.cum.cmp(&pos)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let seg = &self.segments.segs[seg_i];
        // Segments are weighted by their number of live sessions (each
        // session talks at a similar rate, so a session's messages follow
        // its length) and by the hour of the day (working hours are busier).
        let tick = seg.lo_tick + (pos - seg.cum) / seg.weight as Micros;
        (tick * TICK + r.range(1, 9), seg)
    }

    /// The time of message `index` alone (what [`Plan::message`] gives as
    /// its key's time, without deriving the rest).
    pub fn message_time(&self, index: u64) -> Micros {
        self.place(index, &mut Stream::new(self.seed, Kind::Message, index)).0
    }

    /// Messages per UTC day (`YYYY-MM-DD`) of the messages in `range`:
    /// consecutive messages have increasing times, so each day is found
    /// by a binary search, not a walk.
    pub fn messages_per_day(&self, range: std::ops::Range<u64>) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        let mut i = range.start;
        while i < range.end {
            let day = self.message_time(i).div_euclid(DAY);
            let next_day = (day + 1) * DAY;
            // first message at or after the next day
            let (mut lo, mut hi) = (i + 1, range.end);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.message_time(mid) < next_day {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            out.insert(thrum_schemas::time::date(day * DAY), lo - i);
            i = lo;
        }
        out
    }

    /// Kind of message `index`: each block of ten holds exactly
    /// `kind_block` broadcasts, directed messages and replies.
    pub fn kind_of(&self, index: u64) -> MsgKind {
        let block = index / 10;
        let pos = (index % 10) as usize;
        let mut slots = [MsgKind::Broadcast; 10];
        let [b, d, _] = self.profile.kind_block;
        for (i, s) in slots.iter_mut().enumerate() {
            *s = if i < b as usize {
                MsgKind::Broadcast
            } else if i < (b + d) as usize {
                MsgKind::Directed
            } else {
                MsgKind::Reply
            };
        }
        Stream::new(self.seed, Kind::Block, block).shuffle(&mut slots);
        if block == 0 && slots[0] == MsgKind::Reply {
            // The very first message cannot reply to anything.
            let j = slots.iter().position(|&k| k != MsgKind::Reply).unwrap_or(0);
            slots.swap(0, j);
        }
        slots[pos]
    }

    /// The message a reply answers: one of the 120 before it.
    fn parent_of(&self, index: u64) -> u64 {
        let mut r = Stream::sub(self.seed, Kind::Thread, index, 1);
        index - 1 - r.below(index.min(120))
    }

    /// First message of the conversation `index` belongs to.
    pub fn root_of(&self, mut index: u64) -> u64 {
        while self.kind_of(index) == MsgKind::Reply {
            index = self.parent_of(index);
        }
        index
    }

    /// `msg_` id of message `index`.
    pub fn message_id(&self, m: &Message) -> String {
        let ms = m.key.time.div_euclid(1000) as u64;
        let us = m.key.time.rem_euclid(1000) as u128;
        ids::prefixed("msg_", ms, (us << 70) | m.id_rand)
    }

    /// `thr_` id of a conversation rooted at message `root`.
    pub fn thread_id(&self, root: &Message) -> String {
        let mut r = Stream::new(self.seed, Kind::Thread, root.index);
        ids::prefixed("thr_", root.key.time.div_euclid(1000) as u64, r.bits(80))
    }

    /// The body as created. Returns its format; `structured` is left empty
    /// when the message has none.
    pub fn body(&self, m: &Message, content: &mut String, structured: &mut String) -> Format {
        let module = self.agents[m.agent as usize].module;
        let mut r = Stream::new(self.seed, Kind::Body, m.index);
        text::body(&mut r, module, content, structured)
    }

    /// Content and structured value after edit `n` (0-based) of message `m`,
    /// given the previous version in `content`/`structured` (updated in place).
    pub fn apply_edit(&self, m: &Message, n: u8, content: &mut String, structured: &mut String, scratch: &mut String) {
        let module = self.agents[m.agent as usize].module;
        let mut r = Stream::sub(self.seed, Kind::Edit, m.index, n as u64);
        text::edited(&mut r, module, content, scratch);
        std::mem::swap(content, scratch);
        if !structured.is_empty() && structured.ends_with('}') {
            structured.pop();
            use std::fmt::Write as _;
            let _ = write!(structured, ",\"revision\":{}}}", n as u32 + 2);
        }
    }

    /// Edits and deletes of message `index`, in replay order.
    pub fn fates_of(&self, index: u64) -> impl Iterator<Item = &Fate> {
        let start = self.fate_index.partition_point(|&(m, _)| m < index);
        self.fate_index[start..].iter().take_while(move |&&(m, _)| m == index).map(|&(_, f)| &self.fates[f as usize])
    }

    /// Final state of message `index` after its edits and delete.
    pub fn state(&self, index: u64) -> MessageState {
        let mut st = MessageState::default();
        for f in self.fates_of(index) {
            match f.kind {
                FateKind::Edit { .. } => {
                    st.updated_at = Some(f.key.time);
                    st.edits += 1;
                }
                FateKind::Delete => {
                    st.deleted_at = Some(f.key.time);
                    st.delete_reason = Some(self.delete_reason(index));
                }
            }
        }
        st
    }

    pub fn delete_reason(&self, index: u64) -> &'static str {
        let mut r = Stream::sub(self.seed, Kind::Fate, index, 99);
        DELETE_REASONS[r.below(DELETE_REASONS.len() as u64) as usize]
    }

    fn build_fates(&mut self) {
        let mut fates = Vec::new();
        let (edit_pm, del_pm) = (self.profile.edit_permille as u64, self.profile.delete_permille as u64);
        for i in 0..self.profile.messages {
            let mut r = Stream::new(self.seed, Kind::Fate, i);
            let roll = r.below(1000);
            let (edits, delete) = if roll < edit_pm {
                (if r.chance(0.15) { 2 } else { 1 }, r.chance(0.1))
            } else if roll < edit_pm + del_pm {
                (0, true)
            } else {
                continue;
            };
            let m = self.message(i);
            let until = self.sessions[m.session as usize].until(self.snapshot);
            let mut t = m.key.time;
            for n in 0..edits + delete as u8 {
                // Edits happen while the message's session is still live.
                let hi = (t + 30 * MIN).min(until - TICK);
                if tick_of(hi) <= tick_of(t) + 1 {
                    break;
                }
                t = instant(&mut r, t, hi);
                let kind = if n < edits { FateKind::Edit { n, id: 0 } } else { FateKind::Delete };
                fates.push(Fate { key: EventKey::new(&mut r, t), message: i, kind });
            }
        }
        fates.sort_by_key(|f| f.key);
        let mut next_id = 1;
        for f in fates.iter_mut() {
            if let FateKind::Edit { n, .. } = f.kind {
                f.kind = FateKind::Edit { n, id: next_id };
                next_id += 1;
            }
        }
        let mut index: Vec<(u64, u32)> = fates.iter().enumerate().map(|(i, f)| (f.message, i as u32)).collect();
        index.sort();
        self.fates = fates;
        self.fate_index = index;
    }

    /// Who reads message `index`, if anyone: exactly `reads_per_10` of each
    /// block of ten, by a plausible recipient in one of its live sessions.
    pub fn read(&self, m: &Message) -> Option<Read> {
        let block = m.index / 10;
        let mut slots = [false; 10];
        for s in slots.iter_mut().take(self.profile.reads_per_10 as usize) {
            *s = true;
        }
        Stream::sub(self.seed, Kind::Read, block, 0).shuffle(&mut slots);
        if !slots[(m.index % 10) as usize] {
            return None;
        }
        let mut r = Stream::new(self.seed, Kind::Read, m.index);
        let sender = m.agent;
        let real = m.authored_by.unwrap_or(m.agent);
        let preferred: Option<u32> = match m.addressing {
            Addressing::MentionAgent(a) => Some(a),
            Addressing::MentionRole(role) => self.by_role.iter().find(|(x, _)| *x == role).map(|(_, v)| *r.pick(v)),
            Addressing::Reply { parent, .. } => Some(self.message(parent).agent),
            Addressing::Group(_) | Addressing::Broadcast => None,
        };
        let n = self.agents.len() as u32;
        let start = r.below(n as u64) as u32;
        let candidates = preferred.into_iter().chain((0..n).map(|k| (start + k) % n));
        for reader in candidates {
            if reader == sender || reader == real {
                continue;
            }
            for &s in &self.agents[reader as usize].sessions {
                let sess = &self.sessions[s as usize];
                let until = sess.until(self.snapshot);
                let lo = m.key.time.max(sess.start.time);
                let hi = until.min(lo + 2 * HOUR);
                if tick_of(hi) > tick_of(lo) + 1 {
                    return Some(Read { session: s, agent: reader, at: instant(&mut r, lo, hi) });
                }
            }
        }
        None
    }

    fn build_local(&mut self) {
        let seed = self.seed;
        let w1 = self.snapshot;
        // Subscriptions: scope, mention and "all" shapes on existing sessions.
        let mut subs: Vec<Subscription> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut k = 0u64;
        while subs.len() < self.profile.subscriptions as usize && k < self.profile.subscriptions as u64 * 20 {
            let mut r = Stream::new(seed, Kind::Subscription, k);
            k += 1;
            let s = (k as usize - 1) % self.sessions.len();
            let sess = &self.sessions[s];
            let agent = &self.agents[sess.agent as usize];
            let (scope_type, scope_value, mention_role) = match r.below(10) {
                0..=3 => {
                    if self.groups.is_empty() || r.chance(0.4) {
                        (Some("module"), Some(agent.module.to_string()), None)
                    } else {
                        (Some("group"), Some(r.pick(&self.groups).name.clone()), None)
                    }
                }
                4..=7 => (None, None, Some(if r.chance(0.5) { agent.role.to_string() } else { agent.name.clone() })),
                _ => (None, None, None),
            };
            if !seen.insert((s, scope_type, scope_value.clone(), mention_role.clone())) {
                continue;
            }
            let until = sess.until(w1);
            let created_at = instant(&mut r, sess.start.time, (sess.start.time + 10 * MIN).min(until));
            subs.push(Subscription { id: 0, session: s as u32, scope_type, scope_value, mention_role, created_at });
        }
        // Random draws rarely reach every shape of every session: when the
        // profile asks for more than they found, the shapes left are taken
        // in order (shape by shape, session by session), so the count is
        // always exact (`Profile::validate` keeps it within what exists).
        let target = self.profile.subscriptions as usize;
        let groups: Vec<String> = self.groups.iter().map(|g| g.name.clone()).collect();
        'fill: for shape in 0..SUBSCRIPTION_SHAPES as usize {
            for (s, sess) in self.sessions.iter().enumerate() {
                if subs.len() >= target {
                    break 'fill;
                }
                let agent = &self.agents[sess.agent as usize];
                let (scope_type, scope_value, mention_role) = match shape {
                    0 => (Some("module"), Some(agent.module.to_string()), None),
                    g if g <= groups.len() => (Some("group"), Some(groups[g - 1].clone()), None),
                    g if g == groups.len() + 1 => (None, None, Some(agent.role.to_string())),
                    g if g == groups.len() + 2 => (None, None, Some(agent.name.clone())),
                    _ => (None, None, None),
                };
                if !seen.insert((s, scope_type, scope_value.clone(), mention_role.clone())) {
                    continue;
                }
                let mut r = Stream::sub(seed, Kind::Subscription, s as u64, shape as u64 + 1);
                let created_at = instant(&mut r, sess.start.time, (sess.start.time + 10 * MIN).min(sess.until(w1)));
                subs.push(Subscription { id: 0, session: s as u32, scope_type, scope_value, mention_role, created_at });
            }
        }
        subs.sort_by_key(|s| (s.created_at, s.session));
        for (i, s) in subs.iter_mut().enumerate() {
            s.id = i as i64 + 1;
        }
        self.subscriptions = subs;

        // Session scopes (module of every session) and refs (worktree of live ones).
        for (i, s) in self.sessions.iter().enumerate() {
            let a = &self.agents[s.agent as usize];
            let mut r = Stream::sub(seed, Kind::Local, i as u64, 1);
            let at = instant(&mut r, s.start.time, (s.start.time + MIN).min(s.until(w1)));
            self.session_scopes.push(SessionTag { session: i as u32, tag_type: "module", value: a.module.to_string(), added_at: at });
            if s.end.is_none() {
                self.session_refs.push(SessionTag { session: i as u32, tag_type: "worktree", value: a.worktree.clone(), added_at: at });
            }
        }

        // Sync checkpoints: peers behind the last sequence by various amounts.
        let total = self.total_events() as i64;
        let mut r = Stream::new(seed, Kind::Checkpoint, 0);
        let statuses = ["idle", "idle", "syncing", "error"];
        let peer_hosts = peer_hosts(&daemon_host(&self.agents), self.profile.peers);
        for (p, host) in (0..self.profile.peers).zip(&peer_hosts) {
            let behind = match p {
                0 => 0,
                1 => r.range(1, 60),
                _ => r.range(100, (total / 3).max(101)),
            };
            let seq = (total - behind).max(0);
            let at = self.time_of_sequence(seq).unwrap_or(self.profile.window_start);
            let ts = (at / SEC + r.range(1, 30)).min(w1 / SEC);
            self.checkpoints.push(Checkpoint {
                peer: ids::daemon_id(host),
                last_synced_sequence: seq,
                last_sync_timestamp: ts,
                status: statuses[(p as usize).min(statuses.len() - 1)],
            });
        }
        self.checkpoints.sort_by(|a, b| a.peer.cmp(&b.peer));
    }

    /// Time of the event with `sequence` (1-based).
    fn time_of_sequence(&self, seq: i64) -> Option<Micros> {
        crate::timeline::Timeline::event_at(self, u64::try_from(seq).ok()?).map(|e| e.key.time)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    Broadcast,
    Directed,
    Reply,
}

/// The hostname of the fixture's daemon: the one most agents report (ties
/// go to the earlier in [`HOSTNAMES`]); the first of the list when no agent
/// reports one.
fn daemon_host(agents: &[Agent]) -> String {
    let mut best = (0usize, HOSTNAMES[0]);
    for h in HOSTNAMES {
        let n = agents.iter().filter(|a| a.hostname == *h).count();
        if n > best.0 {
            best = (n, h);
        }
    }
    best.1.to_string()
}

/// Hostnames of `n` peer daemons: the other machines of [`HOSTNAMES`], then
/// synthetic ones, never the local daemon's.
fn peer_hosts(local: &str, n: u32) -> Vec<String> {
    let mut hosts: Vec<String> = HOSTNAMES.iter().filter(|h| **h != local).map(|h| h.to_string()).collect();
    let mut k = 1;
    while hosts.len() < n as usize {
        hosts.push(format!("peer-{k:02}.mesh.internal"));
        k += 1;
    }
    hosts.truncate(n as usize);
    hosts
}

fn build_agents(seed: u64, p: &Profile) -> Vec<Agent> {
    let mut agents = Vec::with_capacity(p.agents as usize);
    let core = p.agents - p.extra_agents;
    let blank_key = EventKey { time: 0, rand: 0 };
    for k in 0..core {
        let mut r = Stream::new(seed, Kind::Agent, k as u64);
        let combo = k % 40;
        let replica = k / 40;
        let role = CORE_ROLES[(combo % 5) as usize];
        let module = MODULES[(combo % 8) as usize];
        let name = if replica == 0 { format!("{role}_{module}") } else { format!("{role}_{module}_{}", replica + 1) };
        let persona = r.pick(PERSONAS);
        let display = match r.below(10) {
            0 => String::new(),
            1..=4 => format!("{persona} ({role}, {module})"),
            5..=6 => (*persona).to_string(),
            7 => format!("{} bot · {module}", capitalise(role)),
            _ => format!("{persona} — {module} {role}"),
        };
        let hostname = if r.chance(0.15) { String::new() } else { (*r.pick(HOSTNAMES)).to_string() };
        let worktree = if r.chance(0.3) { "main".to_string() } else { format!("wt-{module}-{}", r.range(1, 4)) };
        agents.push(Agent {
            agent_id: name.clone(),
            name,
            kind: "agent",
            role,
            module,
            display,
            hostname,
            worktree,
            confirmed_by: String::new(),
            registered: blank_key,
            sessions: Vec::new(),
            last_seen: 0,
        });
    }
    for j in 0..p.extra_agents {
        let mut r = Stream::new(seed, Kind::Agent, (core + j) as u64);
        let role = EXTRA_ROLES[(j % 5) as usize];
        let module = MODULES[((j + j / 5) % 8) as usize];
        if j < p.humans {
            let (user, full) = HUMANS[(j as usize) % HUMANS.len()];
            let user = if (j as usize) < HUMANS.len() { user.to_string() } else { format!("{user}{}", j as usize / HUMANS.len() + 1) };
            let hostname = if r.chance(0.5) { format!("mbp-{user}.local") } else { String::new() };
            agents.push(Agent {
                agent_id: format!("user:{user}"),
                name: user,
                kind: "human",
                role,
                module,
                display: full.to_string(),
                hostname,
                worktree: "main".to_string(),
                confirmed_by: String::new(),
                registered: blank_key,
                sessions: Vec::new(),
                last_seen: 0,
            });
        } else {
            // Repeats (large profiles) get a numeric suffix below.
            let name = format!("{role}_{module}");
            let persona = r.pick(PERSONAS);
            agents.push(Agent {
                agent_id: name.clone(),
                name,
                kind: "agent",
                role,
                module,
                display: format!("{persona} the {role}"),
                hostname: (*r.pick(HOSTNAMES)).to_string(),
                worktree: format!("wt-{role}"),
                confirmed_by: if p.humans > 0 && r.chance(0.5) { "user:alice".to_string() } else { String::new() },
                registered: blank_key,
                sessions: Vec::new(),
                last_seen: 0,
            });
        }
    }
    // Names must be unique: suffix any repeat with the first free _2, _3, …
    // `next` remembers where each name's search stopped (every suffix
    // before it is taken), so a thousand repeats cost a thousand tries.
    let mut seen = std::collections::HashSet::new();
    let mut next: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for a in agents.iter_mut() {
        if seen.insert(a.agent_id.clone()) {
            continue;
        }
        let original = a.agent_id.clone();
        let base = a.name.clone();
        let mut n = next.get(&original).copied().unwrap_or(2);
        loop {
            a.name = format!("{base}_{n}");
            a.agent_id = if a.kind == "human" { format!("user:{}", a.name) } else { a.name.clone() };
            n += 1;
            if seen.insert(a.agent_id.clone()) {
                break;
            }
        }
        next.insert(original, n);
    }
    agents
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Relative traffic in the hour of the day of `t` (UTC): working hours,
/// 07:00 to 19:00, carry three times the traffic of the night.
fn rhythm(t: Micros) -> u32 {
    let hour = t.div_euclid(HOUR).rem_euclid(24);
    if (7..19).contains(&hour) {
        3
    } else {
        1
    }
}

fn build_segments(sessions: &[Session], snapshot: Micros) -> (Segments, Micros) {
    let mut bounds: Vec<(Micros, bool, u32)> = Vec::with_capacity(sessions.len() * 2);
    for (i, s) in sessions.iter().enumerate() {
        bounds.push((tick_of(s.start.time), true, i as u32));
        bounds.push((tick_of(s.until(snapshot)), false, i as u32));
    }
    bounds.sort();
    let mut live = LiveSets::new(sessions.len() as u32);
    let mut present = vec![false; sessions.len()];
    let (mut root, mut count) = (0u32, 0u32);
    let mut segs = Vec::new();
    let mut cum = 0;
    let hour_ticks = HOUR / TICK;
    for w in 0..bounds.len() {
        let (t, is_start, s) = bounds[w];
        // A session ending before it starts (never, with sessions of five
        // minutes or more) would stay live: the end finds nothing to remove.
        if is_start != present[s as usize] {
            present[s as usize] = is_start;
            root = live.with(root, s, is_start);
            count = if is_start { count + 1 } else { count - 1 };
        }
        if let Some(&(next, _, _)) = bounds.get(w + 1) {
            // Usable ticks strictly between the boundaries, cut at every
            // hour so that each piece has one weight.
            let (mut lo, hi) = (t + 1, next);
            while lo < hi && count > 0 {
                let cut = ((lo.div_euclid(hour_ticks) + 1) * hour_ticks).min(hi);
                let weight = count * rhythm(lo * TICK);
                let weighted = (cut - lo) * weight as Micros;
                segs.push(Segment { lo_tick: lo, cum, len: weighted, live: count, weight, root });
                cum += weighted;
                lo = cut;
            }
        }
    }
    (Segments { segs, live }, cum)
}

fn build_groups(seed: u64, p: &Profile, agents: &[Agent], sessions: &[Session], snapshot: Micros) -> Result<(Vec<Group>, Vec<Member>), PlanError> {
    let mut groups: Vec<Group> = Vec::new();
    let coordinators: Vec<u32> = (0..agents.len() as u32).filter(|&a| agents[a as usize].role == "coordinator" || agents[a as usize].kind == "human").collect();
    let mut add_group = |name: &str, desc: &str, kind: GroupKind, k: u64| {
        let mut r = Stream::new(seed, Kind::Group, k);
        let creator = *r.pick(&coordinators);
        // Created during the creator's first session.
        let s = &sessions[agents[creator as usize].sessions[0] as usize];
        let t = instant(&mut r, s.start.time, (s.start.time + 20 * MIN).min(s.until(snapshot)));
        groups.push(Group {
            group_id: String::new(),
            name: name.to_string(),
            description: if desc.is_empty() { None } else { Some(desc.to_string()) },
            kind,
            created_by: creator,
            created: EventKey::new(&mut r, t),
        });
    };
    let mut k = 0;
    for (i, name) in ROLE_GROUP_NAMES.iter().enumerate() {
        add_group(name, &format!("Every {} agent", CORE_ROLES[i]), GroupKind::Role, k);
        k += 1;
    }
    for m in MODULES {
        add_group(&format!("{m}-team"), &format!("Owners of the {m} module"), GroupKind::Module, k);
        k += 1;
    }
    for (name, desc, _) in NESTED {
        add_group(name, desc, GroupKind::Nested, k);
        k += 1;
    }
    for (name, desc) in ADHOC {
        add_group(name, desc, GroupKind::AdHoc, k);
        k += 1;
    }
    // Nested groups are created after the groups they contain.
    let find = |groups: &[Group], n: &str| groups.iter().position(|g| g.name == n);
    for (name, _, parts) in NESTED {
        let gi = find(&groups, name).unwrap_or(0);
        let latest = parts.iter().filter_map(|p| find(&groups, p)).map(|i| groups[i].created.time).max().unwrap_or(0);
        if groups[gi].created.time <= latest {
            let mut r = Stream::sub(seed, Kind::Group, gi as u64, 1);
            let t = instant(&mut r, latest, latest + 30 * MIN);
            groups[gi].created = EventKey::new(&mut r, t);
        }
    }
    for g in groups.iter_mut() {
        g.group_id = g.created.entity_id("grp_");
    }

    // Members.
    let mut pending: Vec<(u32, &'static str, String)> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        match g.kind {
            GroupKind::Role => pending.push((gi as u32, "role", CORE_ROLES[gi].to_string())),
            GroupKind::Module => {
                let module = g.name.trim_end_matches("-team");
                for a in agents.iter().filter(|a| a.module == module) {
                    pending.push((gi as u32, "agent", a.agent_id.clone()));
                }
            }
            GroupKind::Nested => {
                let parts = NESTED.iter().find(|(n, _, _)| *n == g.name).map(|x| x.2).unwrap_or(&[]);
                for part in parts {
                    pending.push((gi as u32, "group", part.to_string()));
                }
            }
            GroupKind::AdHoc => {}
        }
    }
    let adhoc: Vec<u32> = groups.iter().enumerate().filter(|(_, g)| g.kind == GroupKind::AdHoc).map(|(i, _)| i as u32).collect();
    let adhoc_total = match p.group_members {
        Some(total) => {
            let left = total as i64 - pending.len() as i64;
            if left < 2 * adhoc.len() as i64 {
                let reason = format!("group_members ({total}) is too small for the role, module and nested groups ({})", pending.len());
                return Err(ProfileError::Invalid { name: p.name.clone(), reason }.into());
            }
            left as usize
        }
        None => adhoc.len() * 6,
    };
    let mut r = Stream::new(seed, Kind::Member, 0);
    for (j, &gi) in adhoc.iter().enumerate() {
        let share = adhoc_total / adhoc.len() + usize::from(j < adhoc_total % adhoc.len());
        let mut pool: Vec<u32> = (0..agents.len() as u32).collect();
        r.shuffle(&mut pool);
        for &a in pool.iter().take(share.min(agents.len())) {
            pending.push((gi, "agent", agents[a as usize].agent_id.clone()));
        }
    }
    let mut members: Vec<Member> = Vec::with_capacity(pending.len());
    for (k, (gi, member_type, value)) in pending.into_iter().enumerate() {
        let mut r = Stream::new(seed, Kind::Member, k as u64 + 1);
        let g = &groups[gi as usize];
        let t = instant(&mut r, g.created.time, g.created.time + 15 * MIN);
        members.push(Member { id: 0, group: gi, member_type, member_value: value, added: EventKey::new(&mut r, t), added_by: g.created_by });
    }
    members.sort_by_key(|m| m.added);
    for (i, m) in members.iter_mut().enumerate() {
        m.id = i as i64 + 1;
    }
    Ok((groups, members))
}

fn sha40(r: &mut Stream) -> String {
    format!("{:032x}{:08x}", r.bits(128), r.bits(32))
}

fn build_updates(seed: u64, agents: &[Agent], sessions: &[Session], total: u32, snapshot: Micros) -> (Vec<Update>, Vec<(u32, WorkContext)>) {
    let active: Vec<u32> = (0..sessions.len() as u32).filter(|&s| sessions[s as usize].end.is_none()).collect();
    let mut counts = vec![1u32; active.len()];
    let mut r = Stream::new(seed, Kind::Update, 0);
    for _ in 0..total.saturating_sub(active.len() as u32) {
        counts[r.below(active.len() as u64) as usize] += 1;
    }
    let mut updates = Vec::with_capacity(total as usize);
    let mut finals = Vec::with_capacity(active.len());
    for (k, &s) in active.iter().enumerate() {
        let sess = &sessions[s as usize];
        let agent = &agents[sess.agent as usize];
        let mut r = Stream::new(seed, Kind::Context, s as u64);
        let topic = r.pick(NOUNS).replace(' ', "-").to_lowercase();
        let branch = format!("{}/{}-{}", r.pick(&["feat", "fix", "chore", "perf", "docs"]), agent.module, topic);
        let worktree_path = if agent.worktree == "main" { "/home/dev/src/thrum".to_string() } else { format!("/home/dev/src/thrum/.worktrees/{}", agent.worktree) };
        let mut times: Vec<Micros> = (0..counts[k]).map(|_| instant(&mut r, sess.start.time + MIN, snapshot - MIN)).collect();
        times.sort();
        let mut stored: Option<WorkContext> = None;
        let mut commits: Vec<Commit> = Vec::new();
        let mut task = format!("{} the {}", r.pick(TASK_PREFIX), r.pick(NOUNS));
        let mut task_at = sess.start.time;
        let mut intent = format!("{} {}", r.pick(VERBS), r.pick(NOUNS));
        let mut intent_at = sess.start.time;
        for (u, &t) in times.iter().enumerate() {
            let mut r = Stream::sub(seed, Kind::Update, s as u64, u as u64 + 1);
            let mut git_at = t - r.range(1, 50) * SEC;
            // Some updates carry stale git state (a late resend): the merge
            // must keep the stored context for those.
            let stale = u > 0 && r.chance(0.15);
            if stale {
                if let Some(prev) = &stored {
                    let prev_t = thrum_schemas::time::parse_rfc3339(&prev.git_updated_at).unwrap_or(git_at);
                    git_at = if r.chance(0.5) { prev_t } else { prev_t - r.range(1, 600) * SEC };
                }
            } else if r.chance(0.6) {
                let files: Vec<String> = (0..r.range(1, 4)).map(|_| (*r.pick(FILES)).to_string()).collect();
                if commits.len() == MAX_UNMERGED_COMMITS {
                    // The branch is merged: its commits leave the list, so
                    // an update costs the same however many came before.
                    commits.clear();
                }
                commits.push(Commit { sha: sha40(&mut r), message: format!("{}: {} {}", agent.module, r.pick(VERBS), r.pick(NOUNS)), files });
            }
            if r.chance(0.2) {
                task = format!("{} the {}", r.pick(TASK_PREFIX), r.pick(NOUNS));
                task_at = t - r.range(1, 30) * SEC;
            }
            if r.chance(0.3) {
                intent = format!("{} {} ({})", r.pick(VERBS), r.pick(NOUNS), r.pick(NON_ASCII));
                intent_at = t - r.range(1, 30) * SEC;
            }
            let uncommitted: Vec<String> = (0..r.range(0, 3)).map(|_| (*r.pick(FILES)).to_string()).collect();
            let mut changed: Vec<String> = commits.iter().flat_map(|c| c.files.iter().cloned()).chain(uncommitted.iter().cloned()).collect();
            changed.sort();
            changed.dedup();
            let file_changes: Vec<FileChange> = changed
                .iter()
                .take(4)
                .map(|p| FileChange {
                    path: p.clone(),
                    last_modified: rfc3339_nano(git_at - r.range(1, 900) * SEC),
                    additions: r.range(0, 240),
                    deletions: r.range(0, 90),
                    status: (*r.pick(&["modified", "modified", "added", "deleted"])).to_string(),
                })
                .collect();
            let wc = WorkContext {
                session_id: sess.session_id.clone(),
                branch: branch.clone(),
                worktree_path: worktree_path.clone(),
                unmerged_commits: Some(commits.clone()),
                uncommitted_files: if r.chance(0.1) { None } else { Some(uncommitted) },
                changed_files: Some(changed),
                file_changes: Some(file_changes),
                git_updated_at: rfc3339_nano(git_at.max(sess.start.time + TICK) / TICK * TICK + 1 + r.range(0, 8)),
                current_task: task.clone(),
                task_updated_at: rfc3339_nano(task_at / TICK * TICK + 3),
                intent: intent.clone(),
                intent_updated_at: rfc3339_nano(intent_at / TICK * TICK + 7),
            };
            // The merge rule: keep the context with the greater git_updated_at
            // (string comparison); ties keep the stored one.
            let replace = match &stored {
                None => true,
                Some(prev) => wc.git_updated_at > prev.git_updated_at,
            };
            if replace {
                stored = Some(wc.clone());
            }
            updates.push(Update { agent: sess.agent, key: EventKey::new(&mut r, t), contexts: vec![wc] });
        }
        if let Some(wc) = stored {
            finals.push((s, wc));
        }
    }
    updates.sort_by_key(|u| u.key);
    finals.sort_by(|a, b| a.1.session_id.cmp(&b.1.session_id));
    (updates, finals)
}
