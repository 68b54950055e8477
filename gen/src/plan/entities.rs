//! The event key that orders every event, and the entities the plan
//! materialises: agents, sessions, groups, members, work-context updates,
//! subscriptions, session tags, sync checkpoints and the events of
//! `events.jsonl`.

use crate::rng::{Kind, Stream};
use thrum_schemas::events::WorkContext;
use thrum_schemas::ids;
use thrum_schemas::time::Micros;

/// The global position of an event: time, then 70 random bits. Event ids
/// are `evt_` + ULID(ms, µs-within-ms ‖ random), so ordering by key, by
/// (timestamp, event_id) and by event_id are all the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    /// The event's timestamp.
    pub time: Micros,
    /// 70 random bits: the ULID's entropy after the microseconds.
    pub rand: u128,
}

impl EventKey {
    /// The key of an event at `time`, its random bits drawn from `r`.
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
        let salt = prefix
            .bytes()
            .fold(0x9E37_79B9_7F4A_7C15u64, |h, b| (h ^ b as u64).wrapping_mul(0x1000_0000_01B3));
        let mut r = Stream::new(salt, Kind::Ids, self.rand as u64 ^ (self.rand >> 64) as u64);
        let k = EventKey { time: self.time, rand: r.bits(70) };
        k.id(prefix)
    }
    /// Appends `prefix` + ULID of this key (what [`EventKey::id`] returns)
    /// to `out`.
    pub fn push_id(&self, out: &mut String, prefix: &str) {
        let ms = self.time.div_euclid(1000) as u64;
        let us = self.time.rem_euclid(1000) as u128;
        out.push_str(prefix);
        ids::push_ulid(out, ms, (us << 70) | self.rand);
    }
}

/// An agent or a human of the roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// `agent_id`: the agent's name, or `user:<username>` for humans.
    pub agent_id: String,
    /// Identity/file name (agent name, or username for humans).
    pub name: String,
    /// `agent` or `human`.
    pub kind: &'static str,
    /// Its role (`coordinator`, `implementer`, …).
    pub role: &'static str,
    /// The module it works on.
    pub module: &'static str,
    /// Display name; may be empty.
    pub display: String,
    /// Host it reports; empty when it reports none.
    pub hostname: String,
    /// Worktree name (`main` or `wt-…`).
    pub worktree: String,
    /// `agent_id` of the human who confirmed it; empty when none did.
    pub confirmed_by: String,
    /// Key of its `agent.register` event.
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

/// A session of an agent: ended, or active at the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// `ses_` id: a ULID of its start.
    pub session_id: String,
    /// Index of its agent.
    pub agent: u32,
    /// Key of its `agent.session.start` event.
    pub start: EventKey,
    /// Key of its `agent.session.end` event; `None` while active.
    pub end: Option<EventKey>,
    /// Why it ended; `None` while active.
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

/// What a group gathers, which decides its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// One role (a `role` member).
    Role,
    /// Every agent of one module (`<module>-team`).
    Module,
    /// Other groups (`group` members).
    Nested,
    /// A share of the agents, drawn at random.
    AdHoc,
    /// `everyone`: what the daemon writes when it first starts (its
    /// member is the role `*`).
    Everyone,
}

/// A group, created by `group.create`.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// `grp_` id: a ULID of its creation.
    pub group_id: String,
    /// Unique name.
    pub name: String,
    /// Description; `None` when it has none.
    pub description: Option<String>,
    /// What it gathers.
    pub kind: GroupKind,
    /// Agent index of the creator; `None` for the daemon itself (`system`).
    pub created_by: Option<u32>,
    /// Key of its `group.create` event.
    pub created: EventKey,
}

/// A member of a group, added by `group.member.add`.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// AUTOINCREMENT id: position in replay order.
    pub id: i64,
    /// Index of the group.
    pub group: u32,
    /// `agent`, `role` or `group`.
    pub member_type: &'static str,
    /// The agent id, role or group name.
    pub member_value: String,
    /// Key of its `group.member.add` event.
    pub added: EventKey,
    /// Agent index of who added it (the group's creator); `None` for the
    /// daemon itself (`system`).
    pub added_by: Option<u32>,
}

/// An `agent.update` event: the work contexts an agent reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Index of the agent.
    pub agent: u32,
    /// Key of the event.
    pub key: EventKey,
    /// The reported work contexts (the daemon merges them per session).
    pub contexts: Vec<WorkContext>,
}

/// A row of `subscriptions` (local-only): a scope, a mention, or
/// everything (all three `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// AUTOINCREMENT id: position in creation order.
    pub id: i64,
    /// Index of the session.
    pub session: u32,
    /// `module` or `group` for a scope subscription.
    pub scope_type: Option<&'static str>,
    /// The module or group name of a scope subscription.
    pub scope_value: Option<String>,
    /// The role or agent name of a mention subscription.
    pub mention_role: Option<String>,
    /// When it was created.
    pub created_at: Micros,
}

/// A row of `session_scopes` or `session_refs` (local-only).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionTag {
    /// Index of the session.
    pub session: u32,
    /// `module` (a scope) or `worktree` (a ref).
    pub tag_type: &'static str,
    /// The module or worktree name.
    pub value: String,
    /// When it was added.
    pub added_at: Micros,
}

/// A row of `sync_checkpoints` (local-only): how far a peer daemon has
/// synced.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The peer's daemon id.
    pub peer: String,
    /// The last sequence it has.
    pub last_synced_sequence: i64,
    /// When it last synced, in Unix seconds.
    pub last_sync_timestamp: i64,
    /// `idle`, `syncing` or `error`.
    pub status: &'static str,
}

/// Non-message events of `events.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Other {
    /// `agent.register` of this agent.
    Register(u32),
    /// `agent.session.start` of this session.
    SessionStart(u32),
    /// `agent.session.end` of this session.
    SessionEnd(u32),
    /// `group.create` of this group.
    GroupCreate(u32),
    /// `group.member.add` of this member (index in [`Plan::members`]).
    ///
    /// [`Plan::members`]: super::Plan::members
    MemberAdd(u32),
    /// `agent.update` of this update (index in [`Plan::updates`]).
    ///
    /// [`Plan::updates`]: super::Plan::updates
    Update(u32),
}

/// An event of `events.jsonl` with its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherEvent {
    /// Its position in the replay order.
    pub key: EventKey,
    /// What it is.
    pub what: Other,
}
