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
