//! The limits of a profile's volumes: the tool's caps and the invariants
//! the plan relies on, and how a volume beyond its limit is worded.

use super::{Bound, Overrides, Profile, ProfileError, Volume, MAX_UPDATES_PER_ACTIVE_SESSION};
use crate::plan::{member_count, GROUPS, MAX_ENDED_PER_AGENT, SUBSCRIPTION_SHAPES};

#[allow(clippy::too_many_arguments)]
pub(super) fn limit_text(
    volume: Volume,
    value: u64,
    given: bool,
    bound: Bound,
    limit: u64,
    context: &str,
    rule: Option<&str>,
    remedy: &str,
) -> String {
    let what = if given {
        format!("{volume} {value}")
    } else {
        format!("{volume} {value} (from the profile)")
    };
    let (cmp, at) = match bound {
        Bound::AtMost => ("more than", "at most"),
        Bound::AtLeast => ("fewer than", "at least"),
    };
    let rule = match rule {
        Some(r) => format!("{r} = {limit}"),
        None => limit.to_string(),
    };
    format!("{what} is {cmp} {context}: {at} {rule}; {remedy}")
}

/// A volume against the tool's caps.
pub(super) fn check_range(volume: Volume, value: u64, given: bool) -> Result<(), ProfileError> {
    let (lo, hi) = volume.range();
    let flag = volume.flag();
    let (bound, limit, context, remedy) = if value > hi {
        (Bound::AtMost, hi, "this tool generates (see --help)", format!("lower {flag}"))
    } else if value < lo {
        (Bound::AtLeast, lo, "a fixture needs", format!("raise {flag}"))
    } else {
        return Ok(());
    };
    Err(ProfileError::Limit {
        volume,
        value,
        given,
        bound,
        limit,
        context: context.to_string(),
        rule: None,
        remedy,
    })
}

impl Profile {
    /// [`Profile::validate`], naming the volumes of `given` as given.
    pub(super) fn check(&self, label: &str, given: &Overrides) -> Result<(), ProfileError> {
        for volume in Volume::ALL {
            check_range(volume, self.volume(volume), given.get(volume).is_some())?;
        }
        let c = Checker { p: self, label, given };
        if self.extra_agents >= self.agents {
            return Err(c.invalid(format!(
                "extra_agents ({}) must be fewer than agents ({})",
                self.extra_agents, self.agents
            )));
        }
        if self.humans > self.extra_agents {
            return Err(c.invalid(format!(
                "humans ({}) must be among the extra agents ({})",
                self.humans, self.extra_agents
            )));
        }
        c.sessions()?;
        let members = member_count(self).map_err(|r| c.invalid(r))?;
        c.events(members)?;
        c.subscriptions()?;
        if self.kind_block.iter().map(|&k| k as u32).sum::<u32>() != 10 || self.kind_block[0] == 10
        {
            return Err(c.invalid("kind_block must add up to 10".into()));
        }
        if self.reads_per_10 > 10 {
            return Err(c.invalid("reads_per_10 must be at most 10".into()));
        }
        Ok(())
    }
}

/// The checks of [`Profile::validate`] that relate volumes, worded for the
/// volumes the user gave (`given`) and those of the profile (`label`).
struct Checker<'a> {
    p: &'a Profile,
    label: &'a str,
    given: &'a Overrides,
}

impl Checker<'_> {
    fn is_given(&self, v: Volume) -> bool {
        self.given.get(v).is_some()
    }

    fn invalid(&self, reason: String) -> ProfileError {
        ProfileError::Invalid { name: self.p.name.clone(), reason }
    }

    fn limit(
        &self,
        volume: Volume,
        bound: Bound,
        limit: u64,
        context: String,
        rule: Option<String>,
        remedy: &str,
    ) -> ProfileError {
        let (value, given, remedy) =
            (self.p.volume(volume), self.is_given(volume), remedy.to_string());
        ProfileError::Limit { volume, value, given, bound, limit, context, rule, remedy }
    }

    /// "the small profile's 12 agents", or "9 agents" when --agents is given.
    fn of_agents(&self) -> String {
        let agents = self.p.agents;
        if self.is_given(Volume::Agents) {
            format!("{agents} agents")
        } else {
            format!("the {} profile's {agents} agents", self.label)
        }
    }

    fn of_sessions(&self) -> String {
        let sessions = self.p.sessions;
        if self.is_given(Volume::Sessions) || self.is_given(Volume::Agents) {
            format!("{sessions} sessions")
        } else {
            format!("the {} profile's {sessions} sessions", self.label)
        }
    }

    /// Every agent has a session; an agent without an active one has an
    /// ended one (the plan's first pass), and the others are spread over
    /// the agents, at most MAX_ENDED_PER_AGENT ended sessions each.
    fn sessions(&self) -> Result<(), ProfileError> {
        let (agents, active, sessions) =
            (self.p.agents as u64, self.p.active_sessions as u64, self.p.sessions as u64);
        if active > agents {
            let rule = Some("one per agent".to_string());
            let remedy = "lower --active-sessions or raise --agents";
            return Err(self.limit(
                Volume::ActiveSessions,
                Bound::AtMost,
                agents,
                format!("{} can hold", self.of_agents()),
                rule,
                remedy,
            ));
        }
        if sessions < agents {
            let rule = Some("one per agent".to_string());
            let remedy = "raise --sessions or lower --agents";
            return Err(self.limit(
                Volume::Sessions,
                Bound::AtLeast,
                agents,
                format!("{} need", self.of_agents()),
                rule,
                remedy,
            ));
        }
        let max_sessions = active + MAX_ENDED_PER_AGENT as u64 * agents;
        if sessions > max_sessions {
            let rule = Some(format!("active-sessions + {MAX_ENDED_PER_AGENT} × agents"));
            let remedy = "lower --sessions or raise --agents";
            let context = format!("{} can hold", self.of_agents());
            return Err(self.limit(
                Volume::Sessions,
                Bound::AtMost,
                max_sessions,
                context,
                rule,
                remedy,
            ));
        }
        Ok(())
    }

    /// events.jsonl: a registration per agent, a start per session, an end
    /// per ended session, the groups and their `members`, then agent.update
    /// events (at least one per active session, at most
    /// MAX_UPDATES_PER_ACTIVE_SESSION).
    fn events(&self, members: u64) -> Result<(), ProfileError> {
        let (agents, active, sessions) =
            (self.p.agents as u64, self.p.active_sessions as u64, self.p.sessions as u64);
        let events = self.p.events as u64;
        let ended = sessions - active;
        let others = agents + sessions + ended + GROUPS as u64 + members;
        let min_events = others + active;
        if events < min_events {
            let rule = Some(format!(
                "{agents} registrations + {sessions} session starts + {ended} session ends + \
                    {GROUPS} groups + {members} group members + {active} agent.update (one per \
                    active session)"
            ));
            let context = "events.jsonl holds with these volumes".to_string();
            let remedy = "raise --events, or lower --sessions or --agents";
            return Err(self.limit(
                Volume::Events,
                Bound::AtLeast,
                min_events,
                context,
                rule,
                remedy,
            ));
        }
        let per_session = others + MAX_UPDATES_PER_ACTIVE_SESSION as u64 * active;
        if events > per_session {
            let rule = Some(format!(
                "{others} other events + {MAX_UPDATES_PER_ACTIVE_SESSION} \
                agent.update per active session × {active}"
            ));
            let context = if self.is_given(Volume::ActiveSessions) || self.is_given(Volume::Agents)
            {
                format!("{active} active sessions can hold")
            } else {
                format!("the {} profile's {active} active sessions can hold", self.label)
            };
            return Err(self.limit(
                Volume::Events,
                Bound::AtMost,
                per_session,
                context,
                rule,
                "lower --events or raise --active-sessions",
            ));
        }
        Ok(())
    }

    fn subscriptions(&self) -> Result<(), ProfileError> {
        let sessions = self.p.sessions as u64;
        let max_subscriptions = SUBSCRIPTION_SHAPES as u64 * sessions;
        if self.p.subscriptions as u64 > max_subscriptions {
            let rule = Some(format!(
                "{SUBSCRIPTION_SHAPES} distinct subscriptions per session \
                (its module, each of the {GROUPS} groups, its role, its name, everything) × \
                {sessions}"
            ));
            let context = format!("{} can hold", self.of_sessions());
            let remedy = "lower --subscriptions or raise --sessions";
            return Err(self.limit(
                Volume::Subscriptions,
                Bound::AtMost,
                max_subscriptions,
                context,
                rule,
                remedy,
            ));
        }
        Ok(())
    }
}
