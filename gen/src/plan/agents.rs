//! Agents: the core roster (role × module), extra agents and humans, with
//! unique names; and the hosts of the local and peer daemons.

use super::{Agent, EventKey};
use crate::profile::{Naming, Profile};
use crate::rng::{Kind, Stream};
use crate::vocab::*;

/// The hostname of the fixture's daemon: the one most agents report (ties
/// go to the earlier in [`HOSTNAMES`]); the first of the list when no agent
/// reports one.
pub(super) fn daemon_host(agents: &[Agent]) -> String {
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
pub(super) fn peer_hosts(local: &str, n: u32) -> Vec<String> {
    let others = HOSTNAMES.iter().filter(|h| **h != local).map(|h| h.to_string()).collect();
    crate::vocab::hosts(others, n, "peer")
}

pub(super) fn build_agents(seed: u64, p: &Profile) -> Vec<Agent> {
    let mut agents = Vec::with_capacity(p.agents as usize);
    let core = p.agents - p.extra_agents;
    for k in 0..core {
        agents.push(core_agent(seed, p, k));
    }
    for j in 0..p.extra_agents {
        agents.push(extra_agent(seed, p, core, j));
    }
    unique_names(&mut agents);
    agents
}

/// An agent before its sessions are known.
fn agent(name: String, kind: &'static str, role: &'static str, module: &'static str) -> Agent {
    Agent {
        agent_id: name.clone(),
        name,
        kind,
        role,
        module,
        display: String::new(),
        hostname: String::new(),
        worktree: String::new(),
        confirmed_by: String::new(),
        registered: EventKey { time: 0, rand: 0 },
        sessions: Vec::new(),
        last_seen: 0,
    }
}

/// Core agent `k`: one of each role and module in turn.
fn core_agent(seed: u64, p: &Profile, k: u32) -> Agent {
    let mut r = Stream::new(seed, Kind::Agent, k as u64);
    let combo = k % 40;
    let replica = k / 40;
    let role = CORE_ROLES[(combo % 5) as usize];
    let module = MODULES[(combo % 8) as usize];
    let name = match p.naming {
        Naming::RoleModule if replica == 0 => format!("{role}_{module}"),
        Naming::RoleModule => format!("{role}_{module}_{}", replica + 1),
        // role = CORE_ROLES[k % 5]: 40 is a multiple of 5
        Naming::Indexed => format!("{role}_{k:04}"),
    };
    let persona = r.pick(PERSONAS);
    let display = match r.below(10) {
        0 => String::new(),
        1..=4 => format!("{persona} ({role}, {module})"),
        5..=6 => (*persona).to_string(),
        7 => format!("{} bot · {module}", capitalise(role)),
        _ => format!("{persona} — {module} {role}"),
    };
    let hostname = if r.chance(0.15) { String::new() } else { (*r.pick(HOSTNAMES)).to_string() };
    let worktree =
        if r.chance(0.3) { "main".to_string() } else { format!("wt-{module}-{}", r.range(1, 4)) };
    Agent { display, hostname, worktree, ..agent(name, "agent", role, module) }
}

/// Extra agent `j` (after the `core` ones): a human or an extra role.
fn extra_agent(seed: u64, p: &Profile, core: u32, j: u32) -> Agent {
    let mut r = Stream::new(seed, Kind::Agent, (core + j) as u64);
    let role = EXTRA_ROLES[(j % 5) as usize];
    let module = MODULES[((j + j / 5) % 8) as usize];
    if j < p.humans {
        let (user, full) = HUMANS[(j as usize) % HUMANS.len()];
        let user = if (j as usize) < HUMANS.len() {
            user.to_string()
        } else {
            format!("{user}{}", j as usize / HUMANS.len() + 1)
        };
        let hostname = if r.chance(0.5) { format!("mbp-{user}.local") } else { String::new() };
        let base = agent(user.clone(), "human", role, module);
        return Agent {
            agent_id: format!("user:{user}"),
            display: full.to_string(),
            hostname,
            worktree: "main".to_string(),
            ..base
        };
    }
    // Repeats (large profiles) get a numeric suffix below.
    let persona = r.pick(PERSONAS);
    let display = format!("{persona} the {role}");
    let hostname = (*r.pick(HOSTNAMES)).to_string();
    let confirmed_by =
        if p.humans > 0 && r.chance(0.5) { "user:alice".to_string() } else { String::new() };
    let worktree = format!("wt-{role}");
    Agent {
        display,
        hostname,
        worktree,
        confirmed_by,
        ..agent(format!("{role}_{module}"), "agent", role, module)
    }
}

/// Names must be unique: suffix any repeat with the first free _2, _3, …
/// `next` remembers where each name's search stopped (every suffix before
/// it is taken), so a thousand repeats cost a thousand tries.
fn unique_names(agents: &mut [Agent]) {
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
            a.agent_id =
                if a.kind == "human" { format!("user:{}", a.name) } else { a.name.clone() };
            n += 1;
            if seen.insert(a.agent_id.clone()) {
                break;
            }
        }
        next.insert(original, n);
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}
