//! What a v13 daemon does when it first starts (docs/FORMAT.md section 10)
//! and how it pairs with peers (section 8), for the fixture's daemon and
//! every daemon of a mesh alike.
//!
//! Daemon `d` (0 for the fixture's daemon and the first daemon of a mesh)
//! first starts in the window's first second: its InitDB creates the
//! database then (`schema_version.applied_at` is that second) and, finding
//! no group named `everyone`, it writes the `everyone` pair with the
//! start's time. Daemons pair after every one of them has started, within
//! the window's first minute; pulls come later.

use super::{EventKey, MIN, SEC, TICK};
use crate::rng::{Kind, Stream};
use thrum_schemas::time::Micros;

/// `group_id` of the group every daemon creates when it starts.
pub const EVERYONE_GROUP_ID: &str = "grp_everyone";
/// Its name.
pub const EVERYONE: &str = "everyone";
/// Its description.
pub const EVERYONE_DESCRIPTION: &str = "All agents";
/// `created_by` and `added_by` of what the daemon writes on its own.
pub const SYSTEM: &str = "system";
/// Its member: `member_type` `role`, `member_value` `*`.
pub const EVERYONE_MEMBER: (&str, &str) = ("role", "*");
/// Port in a peer's address (`host:port`).
pub const SYNC_PORT: u16 = 9473;

/// The keys of daemon `d`'s `everyone` pair: `group.create`, then
/// `group.member.add`, both at the daemon's first start (a moment of the
/// window's first second `w0`), the create's id sorting first.
pub fn everyone_keys(seed: u64, w0: Micros, d: u32) -> (EventKey, EventKey) {
    let mut r = Stream::new(seed, Kind::Start, d as u64);
    let t = w0 + r.range(1, SEC / TICK - 1) * TICK + r.range(1, 9);
    let (a, b) = (EventKey::new(&mut r, t), EventKey::new(&mut r, t));
    let b = if a == b { EventKey { time: t, rand: a.rand ^ 1 } } else { b };
    (a.min(b), a.max(b))
}

/// When daemons `a` and `b` paired: after both started, within the
/// window's first minute (pulls begin after it).
pub fn paired_at(seed: u64, w0: Micros, a: u32, b: u32) -> Micros {
    let (lo, hi) = (a.min(b), a.max(b));
    let mut r = Stream::sub(seed, Kind::Start, 1 << 32, (lo as u64) << 32 | hi as u64);
    w0 + SEC + r.below((MIN / 2 / TICK) as u64) as Micros * TICK + r.range(1, 9)
}

/// The shared token of the pair (`a`, `b`): 32 hex digits.
pub fn token(seed: u64, a: u32, b: u32) -> String {
    let (lo, hi) = (a.min(b), a.max(b));
    let mut r = Stream::sub(seed, Kind::Start, 2 << 32, (lo as u64) << 32 | hi as u64);
    format!("{:032x}", r.bits(128))
}

/// A registered peer, as `var/peers.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its name: the peer's hostname.
    pub name: String,
    /// `hostname:port`.
    pub address: String,
    /// Its daemon id (derived from the hostname).
    pub daemon_id: String,
    /// The pair's token.
    pub token: String,
    /// When the two daemons paired.
    pub paired_at: Micros,
    /// When this daemon last pulled from it; `None` when never.
    pub last_sync: Option<Micros>,
}

impl Peer {
    /// The peer on `hostname`, paired with daemon `local` as daemon
    /// `index` under `seed`.
    pub fn new(
        seed: u64,
        w0: Micros,
        local: u32,
        index: u32,
        hostname: &str,
        last_sync: Option<Micros>,
    ) -> Peer {
        Peer {
            name: hostname.to_string(),
            address: format!("{hostname}:{SYNC_PORT}"),
            daemon_id: thrum_schemas::ids::daemon_id(hostname),
            token: token(seed, local, index),
            paired_at: paired_at(seed, w0, local, index),
            last_sync,
        }
    }
}
