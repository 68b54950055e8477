//! Profiles: the volumes of a fixture. Everything else is derived from the
//! seed; a profile only says how much.

use thrum_schemas::time::{days_from_civil, Micros};

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// Agents built from every (core role × module) combination, repeated
    /// until `agents - extra_agents` are placed.
    pub agents: u32,
    /// Agents with other roles (researcher, documenter, …); `humans` of them
    /// are human users.
    pub extra_agents: u32,
    pub humans: u32,
    pub sessions: u32,
    /// Sessions still running at the snapshot; at most one per agent.
    pub active_sessions: u32,
    pub messages: u64,
    /// Shares of the message kinds per block of ten: broadcast, directed, reply.
    pub kind_block: [u8; 3],
    /// Exact number of group_members rows (ad-hoc groups take the remainder);
    /// `None` sizes ad-hoc groups by a fixed rule.
    pub group_members: Option<u32>,
    /// Exact number of events in events.jsonl (agent.update fills the rest).
    pub events: u32,
    pub subscriptions: u32,
    /// Reads per block of ten messages.
    pub reads_per_10: u8,
    /// Per-mille of messages edited / deleted.
    pub edit_permille: u32,
    pub delete_permille: u32,
    pub peers: u32,
    /// First instant of the window (µs since epoch) and its length in days.
    pub window_start: Micros,
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

    pub fn by_name(name: &str) -> Option<Profile> {
        match name {
            "default" => Some(Self::default_profile()),
            "small" => Some(Self::small()),
            "large" => Some(Self::large()),
            "huge" => Some(Self::huge()),
            _ => None,
        }
    }

    /// This profile with `agents` agents and the agent-related volumes
    /// (extra agents, humans, sessions, active sessions, events,
    /// subscriptions) scaled in the same proportion, rounded; ad-hoc group
    /// membership then follows the fixed rule.
    pub fn with_agents(&self, agents: u32) -> Profile {
        if agents == self.agents {
            return self.clone();
        }
        let base = self.agents.max(1) as u64;
        let scale = |v: u32| -> u32 { ((v as u64 * agents as u64 + base / 2) / base).min(u32::MAX as u64) as u32 };
        let extra_agents = scale(self.extra_agents).clamp(1, agents.saturating_sub(1).max(1));
        let active_sessions = scale(self.active_sessions).clamp(1, agents.max(1));
        Profile {
            agents,
            extra_agents,
            humans: scale(self.humans).min(extra_agents),
            active_sessions,
            // at least one session per agent, and an ended one for every agent without an active one
            sessions: scale(self.sessions).max(agents + agents.saturating_sub(active_sessions)),
            group_members: None,
            // events.jsonl needs room for every registration, session and
            // group event plus one agent.update per active session
            events: scale(self.events).max(6 * agents + 200),
            subscriptions: scale(self.subscriptions),
            ..self.clone()
        }
    }

    pub const NAMES: &'static [&'static str] = &["default", "small", "large", "huge"];

    /// Checks the invariants the plan relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.agents < 2 {
            return Err("at least 2 agents are needed".into());
        }
        if self.extra_agents >= self.agents {
            return Err(format!("extra_agents ({}) must be fewer than agents ({})", self.extra_agents, self.agents));
        }
        if self.humans > self.extra_agents {
            return Err(format!("humans ({}) must be among the extra agents ({})", self.humans, self.extra_agents));
        }
        if self.active_sessions < 1 || self.active_sessions > self.agents {
            return Err(format!("active sessions ({}) must be between 1 and the number of agents ({})", self.active_sessions, self.agents));
        }
        if self.sessions < self.agents {
            return Err(format!("sessions ({}) must be at least the number of agents ({})", self.sessions, self.agents));
        }
        let ended = self.sessions - self.active_sessions;
        let agents_without_active = self.agents - self.active_sessions;
        if ended < agents_without_active {
            return Err("every agent without an active session needs an ended one: raise sessions".into());
        }
        if self.messages < 1 {
            return Err("at least one message is needed".into());
        }
        if self.kind_block.iter().map(|&k| k as u32).sum::<u32>() != 10 || self.kind_block[0] == 10 {
            return Err("kind_block must add up to 10".into());
        }
        if self.reads_per_10 > 10 {
            return Err("reads_per_10 must be at most 10".into());
        }
        if self.window_days < 1 {
            return Err("the window must last at least one day".into());
        }
        Ok(())
    }

    pub fn window_end(&self) -> Micros {
        self.window_start + self.window_days as i64 * 86_400_000_000
    }
}
