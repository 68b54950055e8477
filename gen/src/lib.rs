//! The Thrum fixture generation plan: pure data derived from (seed, profile),
//! with no I/O. Every sink (JSONL, SQLite, Parquet, tree, archive) consumes
//! the same [`Plan`]:
//!
//! * [`Profile`] holds the volumes (named profiles, overrides, their bounds);
//!   [`Plan::new`] builds the plan's small entities from it and a seed, and
//!   derives message `i` on demand ([`Plan::message`]);
//! * [`Timeline`] yields every event in replay order with its `sequence`
//!   ([`TimelineEvent`], [`PlanEvent`]); [`render::line`] turns one into its
//!   JSONL text;
//! * [`rows`] yields every table's rows as catalogue cells in key order;
//! * [`v5`] gives the same plan as the legacy (schema v5) daemon wrote it;
//! * [`mesh`] spreads the plan over N daemons on N hosts that pull each
//!   other's events (peer sync): what each daemon holds, in which order.
//!
//! Randomness comes from per-entity counter-based streams ([`rng`]), so
//! generation can be split and parallelised without changing a byte.
//!
//! # Surface
//!
//! The plan, its entities, the profile and the timeline are re-exported
//! here; the modules that build them are private. Six modules stay public
//! because each is a family of functions whose names read with the module
//! and would collide or mislead at the root: [`render`] (`render::line`,
//! the JSONL renderer), [`rows`] (table rows for the database and Parquet
//! sinks), [`v5`] (`v5::timeline`, `v5::line`: the legacy era), [`rng`]
//! (`rng::Stream`, `rng::Kind`: the streams a sink draws its own values
//! from), [`text`] (`text::body`, `text::edited`: generated prose) and
//! [`mesh`] (`mesh::Mesh`, `mesh::Scenario`: a mesh of syncing daemons).

#![deny(missing_docs)]

pub mod mesh;
mod plan;
mod profile;
pub mod render;
pub mod rng;
pub mod rows;
pub mod text;
mod timeline;
pub mod v5;
mod vocab;

pub use plan::{
    everyone_keys, member_count, Addressing, Agent, Checkpoint, Era, EventKey, Fate, FateKind,
    Group, GroupKind, Member, Message, MessageState, MsgKind, Other, OtherEvent, Peer, Plan,
    PlanError, Read, Session, SessionTag, Subscription, Update, EVERYONE, EVERYONE_DESCRIPTION,
    EVERYONE_GROUP_ID, EVERYONE_MEMBER, GROUPS, MAX_ENDED_PER_AGENT, MAX_UNMERGED_COMMITS,
    SUBSCRIPTION_SHAPES, SYNC_PORT, SYSTEM,
};
pub use profile::{
    Bound, Naming, Overrides, Profile, ProfileError, Volume, MAX_AGENTS, MAX_DAYS, MAX_EVENTS,
    MAX_MESSAGES, MAX_SESSIONS, MAX_SUBSCRIPTIONS, MAX_UPDATES_PER_ACTIVE_SESSION,
};
pub use timeline::{slice_messages, PlanEvent, Timeline, TimelineEvent};
