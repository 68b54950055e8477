//! Profiles: the volumes of a fixture. Everything else is derived from the
//! seed; a profile only says how much.

mod limits;

use crate::plan::MAX_ENDED_PER_AGENT;
use limits::{check_range, limit_text};
use thrum_schemas::time::{days_from_civil, Micros};

/// Most agents a fixture may have.
pub const MAX_AGENTS: u64 = 10_000;
/// Most messages a fixture may have.
pub const MAX_MESSAGES: u64 = 1_000_000_000;
/// Most sessions: every agent's active one and its ended ones.
pub const MAX_SESSIONS: u64 = (1 + MAX_ENDED_PER_AGENT as u64) * MAX_AGENTS;
/// Most lines of events.jsonl: room for every event of the most agents
/// with the most sessions (16 × agents + 58), and a plan of a few GiB at
/// most (an agent.update holds a whole work context).
pub const MAX_EVENTS: u64 = 200_000;
/// Most agent.update events of one active session.
pub const MAX_UPDATES_PER_ACTIVE_SESSION: u32 = 10_000;
/// Most subscriptions.
pub const MAX_SUBSCRIPTIONS: u64 = 1_000_000;
/// Longest activity window, in days (a century).
pub const MAX_DAYS: u64 = 36_500;

/// A volume that can be given on top of a profile (named by its flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volume {
    /// `--agents`: agents and humans.
    Agents,
    /// `--messages`: `message.create` events.
    Messages,
    /// `--sessions`: sessions, ended and active.
    Sessions,
    /// `--active-sessions`: sessions running at the snapshot.
    ActiveSessions,
    /// `--events`: lines of `events.jsonl`.
    Events,
    /// `--subscriptions`: rows of `subscriptions`.
    Subscriptions,
    /// `--days`: length of the activity window.
    Days,
}

impl Volume {
    /// Every volume, in the order of `--help`.
    pub const ALL: [Volume; 7] = [
        Volume::Agents,
        Volume::Messages,
        Volume::Sessions,
        Volume::ActiveSessions,
        Volume::Events,
        Volume::Subscriptions,
        Volume::Days,
    ];

    /// The command-line flag that gives this volume.
    pub fn flag(self) -> &'static str {
        match self {
            Volume::Agents => "--agents",
            Volume::Messages => "--messages",
            Volume::Sessions => "--sessions",
            Volume::ActiveSessions => "--active-sessions",
            Volume::Events => "--events",
            Volume::Subscriptions => "--subscriptions",
            Volume::Days => "--days",
        }
    }

    /// The caps of this tool: (least, most) whatever the rest of the profile.
    pub fn range(self) -> (u64, u64) {
        match self {
            Volume::Agents => (2, MAX_AGENTS),
            Volume::Messages => (1, MAX_MESSAGES),
            Volume::Sessions => (1, MAX_SESSIONS),
            Volume::ActiveSessions => (1, MAX_AGENTS),
            Volume::Events => (1, MAX_EVENTS),
            Volume::Subscriptions => (0, MAX_SUBSCRIPTIONS),
            Volume::Days => (1, MAX_DAYS),
        }
    }
}

impl std::fmt::Display for Volume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.flag())
    }
}

/// Volumes given explicitly on top of a named profile; `None` keeps the
/// profile's (or, with `agents`, scales it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// [`Volume::Agents`].
    pub agents: Option<u64>,
    /// [`Volume::Messages`].
    pub messages: Option<u64>,
    /// [`Volume::Sessions`].
    pub sessions: Option<u64>,
    /// [`Volume::ActiveSessions`].
    pub active_sessions: Option<u64>,
    /// [`Volume::Events`].
    pub events: Option<u64>,
    /// [`Volume::Subscriptions`].
    pub subscriptions: Option<u64>,
    /// [`Volume::Days`].
    pub days: Option<u64>,
}

impl Overrides {
    /// The value given for `v`, if any.
    pub fn get(&self, v: Volume) -> Option<u64> {
        match v {
            Volume::Agents => self.agents,
            Volume::Messages => self.messages,
            Volume::Sessions => self.sessions,
            Volume::ActiveSessions => self.active_sessions,
            Volume::Events => self.events,
            Volume::Subscriptions => self.subscriptions,
            Volume::Days => self.days,
        }
    }

    /// The given volumes and their values.
    pub fn given(&self) -> impl Iterator<Item = (Volume, u64)> + '_ {
        Volume::ALL.into_iter().filter_map(|v| self.get(v).map(|n| (v, n)))
    }
}

/// Which side of a limit a volume is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The volume is above its limit.
    AtMost,
    /// The volume is below its limit.
    AtLeast,
}

/// Why a profile cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// No profile has this name.
    #[error("unknown profile {0:?} (known: default, small, large, huge, resilience)")]
    Unknown(String),
    /// A volume beyond its limit: `limit` is the bound, `rule` how it
    /// follows from the rest of the profile (none for the tool's caps).
    #[error(
        "{}",
        limit_text(
            *.volume, *.value, *.given, *.bound, *.limit, .context, .rule.as_deref(), .remedy
        )
    )]
    Limit {
        /// The volume.
        volume: Volume,
        /// Its value.
        value: u64,
        /// Whether it was given on the command line (else it comes from
        /// the profile).
        given: bool,
        /// Which side of the limit it is on.
        bound: Bound,
        /// The limit it crosses.
        limit: u64,
        /// What the limit is for (`this tool generates`, `a fixture needs`, …).
        context: String,
        /// How the limit follows from the rest of the profile.
        rule: Option<String>,
        /// What to change.
        remedy: String,
    },
    /// A hand-built profile breaks an invariant no flag can reach.
    #[error("invalid profile {name}: {reason}")]
    Invalid {
        /// The profile's name.
        name: String,
        /// The invariant it breaks.
        reason: String,
    },
}

/// How the core agents (see [`Profile::agents`]) are named; the extra agents
/// and humans are named alike under both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Naming {
    /// `{role}_{module}` (`coordinator_auth`), a repeat of the pair with
    /// the first free `_2`, `_3`, ….
    #[default]
    RoleModule,
    /// `{role}_{index:04}` (`coordinator_0000`, `implementer_0001`): the
    /// core agent at roster index `i` is named `format!("{role}_{i:04}")`
    /// with role `CORE_ROLES[i % 5]`, as Thrum's resilience suite expects
    /// (its `fixtureAgentName(i)`); the module is still `MODULES[i % 8]`.
    Indexed,
}

/// The volumes of a fixture and the shape of its traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// `default`, `small`, `large`, `huge`, `resilience`, or a name of the caller's.
    pub name: String,
    /// Agents built from every (core role × module) combination, repeated
    /// until `agents - extra_agents` are placed: core agent `k` has role
    /// `CORE_ROLES[k % 5]` and module `MODULES[k % 8]`.
    pub agents: u32,
    /// How the core agents are named.
    pub naming: Naming,
    /// Agents with other roles (researcher, documenter, …); `humans` of them
    /// are human users.
    pub extra_agents: u32,
    /// Human users among the extra agents.
    pub humans: u32,
    /// Sessions, ended and active.
    pub sessions: u32,
    /// Sessions still running at the snapshot; at most one per agent.
    pub active_sessions: u32,
    /// `message.create` events.
    pub messages: u64,
    /// Shares of the message kinds per block of ten: broadcast, directed, reply.
    pub kind_block: [u8; 3],
    /// Exact number of group_members rows (ad-hoc groups take the remainder);
    /// `None` sizes ad-hoc groups by a fixed rule.
    pub group_members: Option<u32>,
    /// Exact number of events in events.jsonl (agent.update fills the rest).
    pub events: u32,
    /// Exact number of `subscriptions` rows.
    pub subscriptions: u32,
    /// Reads per block of ten messages.
    pub reads_per_10: u8,
    /// Per-mille of messages edited.
    pub edit_permille: u32,
    /// Per-mille of messages deleted (without an edit).
    pub delete_permille: u32,
    /// Peer daemons, one sync checkpoint each.
    pub peers: u32,
    /// First instant of the window (µs since epoch).
    pub window_start: Micros,
    /// Length of the window in days.
    pub window_days: u32,
}

fn at(y: i64, m: u32, d: u32, h: i64) -> Micros {
    (days_from_civil(y, m, d) * 86_400 + h * 3600) * 1_000_000
}

impl Profile {
    /// The design volumes: 50 agents, 100 sessions, 10,000 messages, 500 events.
    pub fn default_profile() -> Profile {
        Profile {
            name: "default".into(),
            agents: 50,
            naming: Naming::RoleModule,
            extra_agents: 10,
            humans: 3,
            sessions: 100,
            active_sessions: 50,
            messages: 10_000,
            kind_block: [6, 3, 1],
            group_members: Some(80),
            events: 500,
            subscriptions: 150,
            reads_per_10: 7,
            edit_permille: 20,
            delete_permille: 10,
            peers: 3,
            window_start: at(2026, 3, 2, 6),
            window_days: 5,
        }
    }

    /// A small fixture for fast tests.
    pub fn small() -> Profile {
        Profile {
            name: "small".into(),
            agents: 12,
            extra_agents: 4,
            humans: 2,
            sessions: 24,
            active_sessions: 10,
            messages: 600,
            group_members: Some(40),
            events: 150,
            subscriptions: 30,
            window_days: 2,
            ..Profile::default_profile()
        }
    }

    /// One million messages, 500 agents, the rest in proportion.
    pub fn large() -> Profile {
        Profile {
            name: "large".into(),
            agents: 500,
            extra_agents: 100,
            humans: 20,
            sessions: 1000,
            active_sessions: 500,
            messages: 1_000_000,
            group_members: None,
            events: 5000,
            subscriptions: 1500,
            window_days: 30,
            ..Profile::default_profile()
        }
    }

    /// Ten million messages.
    pub fn huge() -> Profile {
        Profile { name: "huge".into(), messages: 10_000_000, window_days: 120, ..Profile::large() }
    }

    /// The fixture of Thrum's own resilience suite (`tests/resilience/`,
    /// see docs/RESILIENCE-SUITE.md): the default volumes and distributions,
    /// but the 50 agents are all core agents named by [`Naming::Indexed`]
    /// (`coordinator_0000` … `tester_0049`), with no extra agents and no
    /// humans, since the suite counts exactly 50 rows in `agents`.
    pub fn resilience() -> Profile {
        Profile {
            name: "resilience".into(),
            naming: Naming::Indexed,
            extra_agents: 0,
            humans: 0,
            ..Profile::default_profile()
        }
    }

    /// The named profile (one of [`Profile::NAMES`]), if it exists.
    pub fn by_name(name: &str) -> Option<Profile> {
        match name {
            "default" => Some(Self::default_profile()),
            "small" => Some(Self::small()),
            "large" => Some(Self::large()),
            "huge" => Some(Self::huge()),
            "resilience" => Some(Self::resilience()),
            _ => None,
        }
    }

    /// This profile with `agents` agents and the agent-related volumes
    /// (extra agents, humans, sessions, active sessions, events,
    /// subscriptions) scaled in the same proportion, rounded; ad-hoc group
    /// membership then follows the fixed rule. A profile with extra agents
    /// keeps at least one; one without (`resilience`) keeps none.
    pub fn with_agents(&self, agents: u32) -> Profile {
        if agents == self.agents {
            return self.clone();
        }
        let base = self.agents.max(1) as u64;
        let scale = |v: u32| -> u32 {
            ((v as u64 * agents as u64 + base / 2) / base).min(u32::MAX as u64) as u32
        };
        let extra_agents = if self.extra_agents == 0 {
            0
        } else {
            scale(self.extra_agents).clamp(1, agents.saturating_sub(1).max(1))
        };
        let active_sessions = scale(self.active_sessions).clamp(1, agents.max(1));
        Profile {
            agents,
            extra_agents,
            humans: scale(self.humans).min(extra_agents),
            active_sessions,
            // at least one session per agent, and an ended one for every agent without an
            // active one
            sessions: scale(self.sessions)
                .max(agents.saturating_add(agents.saturating_sub(active_sessions))),
            group_members: None,
            // events.jsonl needs room for every registration, session and
            // group event plus one agent.update per active session
            events: scale(self.events).max(agents.saturating_mul(6).saturating_add(200)),
            subscriptions: scale(self.subscriptions),
            ..self.clone()
        }
    }

    /// Names of the built-in profiles.
    pub const NAMES: &'static [&'static str] = &["default", "small", "large", "huge", "resilience"];

    /// The named profile, or why not.
    pub fn named(name: &str) -> Result<Profile, ProfileError> {
        Profile::by_name(name).ok_or_else(|| ProfileError::Unknown(name.to_string()))
    }

    /// `base` with the explicit volumes of `o`, checked: every volume within
    /// its cap and every combination one the plan can build, or the first
    /// volume that is not, with its limit and why. `--agents` scales the
    /// other agent-related volumes (see [`Profile::with_agents`]) unless
    /// they are given too. The name lists the overrides
    /// (`small+agents=9,messages=777`).
    pub fn with_overrides(base: Profile, o: &Overrides) -> Result<Profile, ProfileError> {
        // The caps first, on the values as given: nothing below computes
        // with an absurd number.
        for (volume, value) in o.given() {
            check_range(volume, value, true)?;
        }
        let label = base.name.clone();
        let mut p = match o.agents {
            Some(n) => base.with_agents(n as u32),
            None => base,
        };
        let mut given = Vec::new();
        if let Some(n) = o.agents {
            given.push(format!("agents={n}"));
        }
        if let Some(n) = o.messages {
            p.messages = n;
            given.push(format!("messages={n}"));
        }
        macro_rules! set {
            ($field:ident) => {
                if let Some(v) = o.$field {
                    p.$field = v as u32;
                    given.push(format!("{}={v}", stringify!($field)));
                }
            };
        }
        set!(sessions);
        set!(active_sessions);
        set!(events);
        set!(subscriptions);
        if let Some(d) = o.days {
            p.window_days = d as u32;
            given.push(format!("days={d}"));
        }
        p.check(&label, o)?;
        if !given.is_empty() {
            p.name = format!("{}+{}", p.name, given.join(","));
        }
        Ok(p)
    }

    /// Checks the caps and the invariants the plan relies on.
    pub fn validate(&self) -> Result<(), ProfileError> {
        self.check(&self.name, &Overrides::default())
    }

    /// The value of one volume.
    pub fn volume(&self, v: Volume) -> u64 {
        match v {
            Volume::Agents => self.agents as u64,
            Volume::Messages => self.messages,
            Volume::Sessions => self.sessions as u64,
            Volume::ActiveSessions => self.active_sessions as u64,
            Volume::Events => self.events as u64,
            Volume::Subscriptions => self.subscriptions as u64,
            Volume::Days => self.window_days as u64,
        }
    }

    /// The end of the window: the fixture's snapshot.
    pub fn window_end(&self) -> Micros {
        self.window_start + self.window_days as i64 * 86_400_000_000
    }
}
