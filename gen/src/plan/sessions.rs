//! Sessions: each agent's ended sessions in slots before its active one,
//! and each agent's registration just before its first session.

use super::entities::{Agent, EventKey, Session};
use super::{instant, HOUR, MAX_ENDED_PER_AGENT, MIN, SEC, TICK};
use crate::profile::Profile;
use crate::rng::{Kind, Stream};
use crate::vocab::END_REASONS;
use thrum_schemas::time::Micros;

/// How many ended sessions each agent has, and whether it has an active one.
fn ended_per_agent(seed: u64, profile: &Profile, n_agents: u32) -> (Vec<u32>, Vec<bool>) {
    let mut per_agent_ended = vec![0u32; n_agents as usize];
    // Agents are shuffled for the active assignment so humans/extras vary.
    let mut order: Vec<u32> = (0..n_agents).collect();
    Stream::new(seed, Kind::AgentSessions, 0).shuffle(&mut order);
    let mut active = vec![false; n_agents as usize];
    for (i, &a) in order.iter().enumerate() {
        active[a as usize] = (i as u32) < profile.active_sessions;
    }
    let mut ended_left = profile.sessions - profile.active_sessions;
    for a in 0..n_agents {
        if !active[a as usize] {
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
    (per_agent_ended, active)
}

/// The sessions of every agent in id order; fills each agent's `sessions`,
/// `registered` and `last_seen`.
pub(super) fn build_sessions(seed: u64, profile: &Profile, agents: &mut [Agent]) -> Vec<Session> {
    let w0 = profile.window_start;
    let w1 = profile.window_end();
    let n_agents = agents.len() as u32;
    let (per_agent_ended, active) = ended_per_agent(seed, profile, n_agents);
    let mut sessions: Vec<Session> = Vec::with_capacity(profile.sessions as usize);
    for a in 0..n_agents {
        let k = per_agent_ended[a as usize] as i64;
        agent_sessions(seed, a, k, active[a as usize], (w0, w1), &mut sessions);
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
        a.last_seen =
            a.sessions.iter().map(|&s| sessions[s as usize].last_seen).max().unwrap_or(first);
    }
    sessions
}

/// Agent `a`'s `k` ended sessions and, if `active`, its running one.
fn agent_sessions(
    seed: u64,
    a: u32,
    k: i64,
    active: bool,
    (w0, w1): (Micros, Micros),
    out: &mut Vec<Session>,
) {
    let mut r = Stream::new(seed, Kind::Session, a as u64);
    let region_start = w0 + 20 * MIN;
    // A session still running at the snapshot may have started days
    // ago: starts are drawn as `w0 + span * u^2` (more of them early),
    // so that the number of live sessions, and with it the traffic,
    // is spread over the whole window rather than its last hours.
    // The agent's ended sessions take the time before it (at least
    // 30 minutes each).
    let active_start = if active {
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
        out.push(Session {
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
        out.push(Session {
            session_id: String::new(),
            agent: a,
            start: EventKey::new(&mut r, start),
            end: None,
            end_reason: None,
            last_seen,
        });
    }
}
