//! What a mesh is made of: its scenario, its hosts, and why one cannot
//! be built.

use super::*;

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
    #[error(
        "--daemons {daemons}: a mesh has 2 to {max} daemons, and no more than the profile's \
        agents ({agents})"
    )]
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
    #[error(
        "{daemons} daemons over {days} days schedule {pulls} pulls; at most {max} (fewer \
        daemons or --days)"
    )]
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

/// Hostnames of `n` daemons: the machines of the vocabulary in an order
/// drawn from the seed, then synthetic ones.
pub fn hostnames(seed: u64, n: u32) -> Vec<String> {
    let mut pool: Vec<String> = HOSTNAMES.iter().map(|h| h.to_string()).collect();
    Stream::new(seed, Kind::Mesh, 0).shuffle(&mut pool);
    crate::vocab::hosts(pool, n, "node")
}
