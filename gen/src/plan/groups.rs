//! Groups (role, module, nested and ad-hoc) and their members.

use super::start::{
    everyone_keys, EVERYONE, EVERYONE_DESCRIPTION, EVERYONE_GROUP_ID, EVERYONE_MEMBER,
};
use super::{instant, Agent, EventKey, Group, GroupKind, Member, PlanError, Session, MIN};
use crate::profile::{Profile, ProfileError};
use crate::rng::{Kind, Stream};
use crate::vocab::*;
use thrum_schemas::time::Micros;

/// Groups every plan creates: role, module, nested and ad-hoc groups, and
/// `everyone`, which the daemon creates when it first starts.
pub const GROUPS: u32 =
    (ROLE_GROUP_NAMES.len() + MODULES.len() + NESTED.len() + ADHOC.len() + 1) as u32;

/// group_members rows of a plan for `p` (the rule of `build_groups`): one
/// role member per role group, every agent in its module's group, the
/// parts of the nested groups, the role `*` of `everyone`, and the ad-hoc
/// groups' share; or why the
/// profile's exact total cannot be met.
pub fn member_count(p: &Profile) -> Result<u64, String> {
    let agents = p.agents as u64;
    let nested: u64 = NESTED.iter().map(|n| n.2.len() as u64).sum();
    let pending = ROLE_GROUP_NAMES.len() as u64 + agents + nested + 1;
    let adhoc = ADHOC.len() as u64;
    let adhoc_total = match p.group_members {
        Some(total) => {
            let total = total as u64;
            if total < pending + 2 * adhoc {
                return Err(format!(
                    "group_members ({total}) is too small for the role, module and \
                    nested groups ({pending})"
                ));
            }
            total - pending
        }
        None => adhoc * 6,
    };
    let shares: u64 = (0..adhoc)
        .map(|j| (adhoc_total / adhoc + u64::from(j < adhoc_total % adhoc)).min(agents))
        .sum();
    Ok(pending + shares)
}

const ROLE_GROUP_NAMES: &[&str] =
    &["coordinators", "implementers", "reviewers", "planners", "testers"];
const NESTED: &[(&str, &str, &[&str])] = &[
    ("platform", "Daemon, relay and sync teams", &["daemon-team", "relay-team", "sync-team"]),
    ("product", "Everything users touch: CLI, UI and auth", &["cli-team", "ui-team", "auth-team"]),
    (
        "leads",
        "Coordinators, planners and the platform group",
        &["coordinators", "planners", "platform"],
    ),
];
const ADHOC: &[(&str, &str)] = &[
    ("incident-relay-flap", "Relay reconnect storm, 2026-03-04"),
    ("perf-taskforce", "Sync throughput & heartbeat latency"),
    ("docs-sprint", ""),
];

pub(super) fn build_groups(
    seed: u64,
    p: &Profile,
    agents: &[Agent],
    sessions: &[Session],
    snapshot: Micros,
) -> Result<(Vec<Group>, Vec<Member>), PlanError> {
    let groups = create_groups(seed, p, agents, sessions, snapshot);
    let members = build_members(seed, p, agents, &groups)?;
    Ok((groups, members))
}

/// The groups, with their creators and creation keys.
fn create_groups(
    seed: u64,
    p: &Profile,
    agents: &[Agent],
    sessions: &[Session],
    snapshot: Micros,
) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let coordinators: Vec<u32> = (0..agents.len() as u32)
        .filter(|&a| agents[a as usize].role == "coordinator" || agents[a as usize].kind == "human")
        .collect();
    let mut add_group = |name: &str, desc: &str, kind: GroupKind, k: u64| {
        let mut r = Stream::new(seed, Kind::Group, k);
        let creator = *r.pick(&coordinators);
        // Created during the creator's first session.
        let s = &sessions[agents[creator as usize].sessions[0] as usize];
        let t = instant(&mut r, s.start.time, (s.start.time + 20 * MIN).min(s.until(snapshot)));
        groups.push(Group {
            group_id: String::new(),
            name: name.to_string(),
            description: if desc.is_empty() { None } else { Some(desc.to_string()) },
            kind,
            created_by: Some(creator),
            created: EventKey::new(&mut r, t),
        });
    };
    let mut k = 0;
    for (i, name) in ROLE_GROUP_NAMES.iter().enumerate() {
        add_group(name, &format!("Every {} agent", CORE_ROLES[i]), GroupKind::Role, k);
        k += 1;
    }
    for m in MODULES {
        add_group(&format!("{m}-team"), &format!("Owners of the {m} module"), GroupKind::Module, k);
        k += 1;
    }
    for (name, desc, _) in NESTED {
        add_group(name, desc, GroupKind::Nested, k);
        k += 1;
    }
    for (name, desc) in ADHOC {
        add_group(name, desc, GroupKind::AdHoc, k);
        k += 1;
    }
    // `everyone`, from the daemon's first start (it takes no draw of the
    // agents' groups).
    let (create, _) = everyone_keys(seed, p.window_start, 0);
    groups.push(Group {
        group_id: EVERYONE_GROUP_ID.to_string(),
        name: EVERYONE.to_string(),
        description: Some(EVERYONE_DESCRIPTION.to_string()),
        kind: GroupKind::Everyone,
        created_by: None,
        created: create,
    });
    // Nested groups are created after the groups they contain.
    let find = |groups: &[Group], n: &str| groups.iter().position(|g| g.name == n);
    for (name, _, parts) in NESTED {
        let gi = find(&groups, name).unwrap_or(0);
        let latest = parts
            .iter()
            .filter_map(|p| find(&groups, p))
            .map(|i| groups[i].created.time)
            .max()
            .unwrap_or(0);
        if groups[gi].created.time <= latest {
            let mut r = Stream::sub(seed, Kind::Group, gi as u64, 1);
            let t = instant(&mut r, latest, latest + 30 * MIN);
            groups[gi].created = EventKey::new(&mut r, t);
        }
    }
    for g in groups.iter_mut().filter(|g| g.kind != GroupKind::Everyone) {
        g.group_id = g.created.entity_id("grp_");
    }
    groups
}

/// The members of every group, in the order they were added.
fn build_members(
    seed: u64,
    p: &Profile,
    agents: &[Agent],
    groups: &[Group],
) -> Result<Vec<Member>, PlanError> {
    let mut pending = fixed_members(agents, groups);
    adhoc_members(seed, p, agents, groups, &mut pending)?;
    let mut members: Vec<Member> = Vec::with_capacity(pending.len() + 1);
    let everyone = groups.iter().position(|g| g.kind == GroupKind::Everyone).unwrap_or(0) as u32;
    let (_, add) = everyone_keys(seed, p.window_start, 0);
    members.push(Member {
        id: 0,
        group: everyone,
        member_type: EVERYONE_MEMBER.0,
        member_value: EVERYONE_MEMBER.1.to_string(),
        added: add,
        added_by: None,
    });
    for (k, (gi, member_type, value)) in pending.into_iter().enumerate() {
        let mut r = Stream::new(seed, Kind::Member, k as u64 + 1);
        let g = &groups[gi as usize];
        let t = instant(&mut r, g.created.time, g.created.time + 15 * MIN);
        members.push(Member {
            id: 0,
            group: gi,
            member_type,
            member_value: value,
            added: EventKey::new(&mut r, t),
            added_by: g.created_by,
        });
    }
    members.sort_by_key(|m| m.added);
    for (i, m) in members.iter_mut().enumerate() {
        m.id = i as i64 + 1;
    }
    Ok(members)
}

/// A member to add: (group index, member type, member value).
type Pending = (u32, &'static str, String);

/// The members the role, module and nested groups have by construction.
fn fixed_members(agents: &[Agent], groups: &[Group]) -> Vec<Pending> {
    let mut pending: Vec<Pending> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        match g.kind {
            GroupKind::Role => pending.push((gi as u32, "role", CORE_ROLES[gi].to_string())),
            GroupKind::Module => {
                let module = g.name.trim_end_matches("-team");
                for a in agents.iter().filter(|a| a.module == module) {
                    pending.push((gi as u32, "agent", a.agent_id.clone()));
                }
            }
            GroupKind::Nested => {
                let parts =
                    NESTED.iter().find(|(n, _, _)| *n == g.name).map(|x| x.2).unwrap_or(&[]);
                for part in parts {
                    pending.push((gi as u32, "group", part.to_string()));
                }
            }
            GroupKind::AdHoc | GroupKind::Everyone => {}
        }
    }
    pending
}

/// The ad-hoc groups' agents, drawn so the profile's member count is met.
fn adhoc_members(
    seed: u64,
    p: &Profile,
    agents: &[Agent],
    groups: &[Group],
    pending: &mut Vec<Pending>,
) -> Result<(), PlanError> {
    let adhoc: Vec<u32> = groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.kind == GroupKind::AdHoc)
        .map(|(i, _)| i as u32)
        .collect();
    let adhoc_total = match p.group_members {
        Some(total) => {
            // the role `*` of `everyone` counts with them
            let fixed = pending.len() + 1;
            let left = total as i64 - fixed as i64;
            if left < 2 * adhoc.len() as i64 {
                let reason = format!(
                    "group_members ({total}) is too small for the role, module \
                    and nested groups ({fixed})"
                );
                return Err(ProfileError::Invalid { name: p.name.clone(), reason }.into());
            }
            left as usize
        }
        None => adhoc.len() * 6,
    };
    let mut r = Stream::new(seed, Kind::Member, 0);
    for (j, &gi) in adhoc.iter().enumerate() {
        let share = adhoc_total / adhoc.len() + usize::from(j < adhoc_total % adhoc.len());
        let mut pool: Vec<u32> = (0..agents.len() as u32).collect();
        r.shuffle(&mut pool);
        for &a in pool.iter().take(share.min(agents.len())) {
            pending.push((gi, "agent", agents[a as usize].agent_id.clone()));
        }
    }
    Ok(())
}
