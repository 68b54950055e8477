//! The volume space: any combination of volumes within its limits builds a
//! plan with exactly those volumes, at a cost (the plan's footprint)
//! linear in them; anything else is refused with the volume, its limit and
//! why, before any work. The limits are restated here from the plan's
//! rules, not taken from `Profile::validate`.

use proptest::prelude::*;
use thrum_gen::{
    Bound, Naming, Overrides, Plan, PlanError, PlanEvent, Profile, ProfileError, Timeline, Volume,
    MAX_EVENTS, MAX_UNMERGED_COMMITS,
};

/// What `base` + `o` asks for: the profile before any check.
fn requested(base: &Profile, o: &Overrides) -> Profile {
    let mut p = match o.agents {
        Some(n) => base.with_agents(n.min(u32::MAX as u64) as u32),
        None => base.clone(),
    };
    let to32 = |v: u64| v.min(u32::MAX as u64) as u32;
    p.messages = o.messages.unwrap_or(p.messages);
    p.sessions = o.sessions.map_or(p.sessions, to32);
    p.active_sessions = o.active_sessions.map_or(p.active_sessions, to32);
    p.events = o.events.map_or(p.events, to32);
    p.subscriptions = o.subscriptions.map_or(p.subscriptions, to32);
    p.window_days = o.days.map_or(p.window_days, to32);
    p
}

/// group_members rows: the profile's exact total, or one role member per
/// role group (5), every agent in its module's group, 9 nested parts, the
/// role `*` of `everyone` and 6 per ad-hoc group (3, never more than there
/// are agents).
fn members(p: &Profile) -> u64 {
    p.group_members.map_or(15 + p.agents as u64 + 3 * (p.agents as u64).min(6), |n| n as u64)
}

/// The volumes whose limit `p` (from `o`) breaks, each with its limit.
fn broken(o: &Overrides, p: &Profile) -> Vec<(Volume, u64)> {
    let mut out = Vec::new();
    let caps = [
        (Volume::Agents, 2, 10_000),
        (Volume::Messages, 1, 1_000_000_000),
        (Volume::Sessions, 1, 70_000),
        (Volume::ActiveSessions, 1, 10_000),
        (Volume::Events, 1, 200_000),
        (Volume::Subscriptions, 0, 1_000_000),
        (Volume::Days, 1, 36_500),
    ];
    for (v, lo, hi) in caps {
        if let Some(n) = o.get(v) {
            if n < lo {
                out.push((v, lo));
            }
            if n > hi {
                out.push((v, hi));
            }
        }
    }
    if !out.is_empty() {
        return out;
    }
    let (a, s, act, e, subs) = (
        p.agents as u64,
        p.sessions as u64,
        p.active_sessions as u64,
        p.events as u64,
        p.subscriptions as u64,
    );
    if act > a {
        out.push((Volume::ActiveSessions, a));
    }
    if s < a {
        out.push((Volume::Sessions, a));
    }
    if s > act + 6 * a {
        out.push((Volume::Sessions, act + 6 * a));
    }
    let others = a + s + s.saturating_sub(act) + 20 + members(p);
    if e < others + act {
        out.push((Volume::Events, others + act));
    }
    if e > others + 10_000 * act {
        out.push((Volume::Events, others + 10_000 * act));
    }
    if subs > 24 * s {
        out.push((Volume::Subscriptions, 24 * s));
    }
    out
}

/// The plan's volumes are the profile's, and its footprint is within a
/// constant of them (sessions: times their logarithm).
fn check_plan(plan: &Plan, p: &Profile) -> Result<(), TestCaseError> {
    prop_assert_eq!(plan.agents.len() as u64, p.agents as u64);
    prop_assert_eq!(plan.sessions.len() as u64, p.sessions as u64);
    prop_assert_eq!(
        plan.sessions.iter().filter(|s| s.end.is_none()).count() as u64,
        p.active_sessions as u64
    );
    prop_assert_eq!(plan.others.len() as u64, p.events as u64);
    prop_assert_eq!(plan.subscriptions.len() as u64, p.subscriptions as u64);
    prop_assert_eq!(plan.members.len() as u64, members(p));
    prop_assert_eq!((plan.snapshot - p.window_start) / 86_400_000_000, p.window_days as i64);
    let created =
        Timeline::new(plan).filter(|e| matches!(e.ev, PlanEvent::Create(_))).count() as u64;
    prop_assert_eq!(created, p.messages);
    for u in &plan.updates {
        for c in &u.contexts {
            prop_assert!(
                c.unmerged_commits.as_ref().map_or(0, |v| v.len()) <= MAX_UNMERGED_COMMITS
            );
        }
    }
    let (a, s, e) = (p.agents as u64, p.sessions as u64, p.events as u64);
    let log = 64 - u64::from(s.leading_zeros());
    // per update: the event, its context, 32 commits of up to 4 files, 3
    // uncommitted files, 24 changed files (every file there is), 4 changes
    let per_update = 2 + 5 * MAX_UNMERGED_COMMITS as u64 + 3 + 24 + 4;
    let bound = 4 * a
        + s * (8 + 2 * (log + 1))
        + (per_update + 1) * e
        + per_update * p.active_sessions as u64
        + 2 * p.subscriptions as u64
        + members(p)
        + p.messages / 4
        + 200;
    prop_assert!(
        plan.footprint() <= bound,
        "footprint {} > {} for {:?}",
        plan.footprint(),
        bound,
        p
    );
    Ok(())
}

/// No value, a cheap one in `lo..=hi`, one above the tool's `cap`, or an
/// extreme. (Nothing between `hi` and `cap`: those are valid and can cost
/// minutes, e.g. a billion messages.)
fn volume(lo: u64, hi: u64, cap: u64) -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        6 => (lo..=hi).prop_map(Some),
        1 => (cap + 1..=2 * cap).prop_map(Some),
        1 => prop_oneof![Just(0u64), Just(u32::MAX as u64), Just(u64::MAX)].prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_volumes_build_exactly_or_are_refused(
        seed in any::<u64>(),
        base in 0usize..2,
        agents in volume(2, 30, 10_000),
        messages in volume(1, 2_000, 1_000_000_000),
        sessions in volume(1, 200, 70_000),
        active_sessions in volume(1, 30, 10_000),
        events in volume(100, 1_500, 200_000),
        subscriptions in volume(0, 1_500, 1_000_000),
        days in volume(1, 6, 36_500),
    ) {
        let base = [Profile::small(), Profile::default_profile()][base].clone();
        let o =
            Overrides { agents, messages, sessions, active_sessions, events, subscriptions, days };
        let p = requested(&base, &o);
        let broken = broken(&o, &p);
        match Profile::with_overrides(base.clone(), &o) {
            Ok(q) => {
                prop_assert!(
                    broken.is_empty(),
                    "accepted {:?} although {:?} break their limits",
                    o,
                    broken
                );
                prop_assert_eq!(Profile { name: p.name.clone(), ..q.clone() }, p);
                match Plan::new(seed, q.clone()) {
                    Ok(plan) => check_plan(&plan, &q)?,
                    Err(PlanError::MessagesDoNotFit { messages, max, .. }) => {
                        prop_assert!(messages > max)
                    }
                    Err(e) => prop_assert!(false, "{:?} accepted, then refused: {}", q, e),
                }
            }
            Err(ProfileError::Limit { volume, value, limit, .. }) => {
                prop_assert!(broken.contains(&(volume, limit)), "{:?}: refused {} {} (limit {}), \
                    broken: {:?}", o, volume, value, limit, broken);
                let e = Profile::with_overrides(base, &o).unwrap_err().to_string();
                let names = e.starts_with(&format!("{volume} {value}"));
                prop_assert!(names && e.contains(&limit.to_string()), "{}", e);
            }
            Err(e) => prop_assert!(false, "{:?}: unexpected refusal {}", o, e),
        }
    }
}

/// A value in `lo..=hi`: the least, the most, or any.
fn within(lo: u64, hi: u64, (edge, any): (u8, u64)) -> u64 {
    match edge {
        0 => lo,
        1 => hi,
        _ => lo + any % (hi - lo + 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Combinations drawn inside the limits (often on them): every one is
    /// accepted and built with exactly its volumes.
    #[test]
    fn volumes_within_their_limits_build_exactly(
        seed in any::<u64>(),
        base in 0usize..2,
        agents in proptest::option::of(2u64..=40),
        picks in proptest::array::uniform4((0u8..4, any::<u64>())),
        messages in 1u64..=2_000,
        days in 1u64..=6,
    ) {
        let base = [Profile::small(), Profile::default_profile()][base].clone();
        let a = agents.unwrap_or(base.agents as u64);
        let active = within(1, a, picks[0]);
        let sessions = within(a, active + 6 * a, picks[1]);
        let members = if agents.is_some() { 14 + a + 4 * a.min(6) } else { members(&base) };
        let others = a + sessions + (sessions - active) + 20 + members;
        // the most events are tried once below (they cost 10,000 per active session)
        let events = within(others + active, others + active + 3_000, picks[2]);
        let subscriptions = within(0, 24 * sessions, picks[3]);
        let o = Overrides {
            agents,
            messages: Some(messages),
            sessions: Some(sessions),
            active_sessions: Some(active),
            events: Some(events),
            subscriptions: Some(subscriptions),
            days: Some(days),
        };
        let p = Profile::with_overrides(base, &o).map_err(|e| TestCaseError::fail(format!("{o:?} \
            refused: {e}")))?;
        let plan = Plan::new(seed, p.clone()).map_err(|e| TestCaseError::fail(format!("{p:?} \
            refused: {e}")))?;
        check_plan(&plan, &p)?;
    }
}

/// The caps agree with each other: the most agents, with the most sessions
/// they can hold, fit in the most events; any profile scales to them.
#[test]
fn the_caps_hold_each_other() {
    use thrum_gen::{MAX_AGENTS, MAX_SESSIONS};
    let most = Overrides {
        agents: Some(MAX_AGENTS),
        active_sessions: Some(MAX_AGENTS),
        sessions: Some(MAX_SESSIONS),
        events: Some(MAX_EVENTS),
        ..Overrides::default()
    };
    let p = Profile::with_overrides(Profile::default_profile(), &most).unwrap();
    assert_eq!(
        (p.agents as u64, p.sessions as u64, p.events as u64),
        (MAX_AGENTS, MAX_SESSIONS, MAX_EVENTS)
    );
    for name in Profile::NAMES {
        for agents in [2, 3, 100, 999, MAX_AGENTS] {
            let o = Overrides { agents: Some(agents), ..Overrides::default() };
            assert!(
                Profile::with_overrides(Profile::named(name).unwrap(), &o).is_ok(),
                "{name} --agents {agents}"
            );
        }
    }
}

#[test]
fn the_most_events_build() {
    let p = Profile::with_overrides(
        Profile::small(),
        &Overrides { active_sessions: Some(1), events: Some(119 + 10_000), ..Overrides::default() },
    )
    .unwrap();
    let plan = Plan::new(4, p).unwrap();
    assert_eq!(plan.others.len(), 10_119);
    assert_eq!(plan.updates.len(), 10_000);
    let e = Profile::with_overrides(
        Profile::small(),
        &Overrides { active_sessions: Some(1), events: Some(119 + 10_001), ..Overrides::default() },
    )
    .unwrap_err();
    assert_eq!(limit_of(&e), (Volume::Events, Bound::AtMost, 10_119));
}

fn limit_of(e: &ProfileError) -> (Volume, Bound, u64) {
    match e {
        ProfileError::Limit { volume, bound, limit, .. } => (*volume, *bound, *limit),
        e => panic!("not a volume limit: {e}"),
    }
}

#[test]
fn sessions_beyond_what_the_agents_hold_are_refused_not_looped_on() {
    let o = Overrides { sessions: Some(100), ..Overrides::default() };
    let e = Profile::with_overrides(Profile::small(), &o).unwrap_err();
    assert_eq!(limit_of(&e), (Volume::Sessions, Bound::AtMost, 82));
    assert_eq!(
        e.to_string(),
        "--sessions 100 is more than the small profile's 12 agents can \
        hold: at most active-sessions + 6 × agents = 82; lower --sessions or raise --agents"
    );
    // a hand-built profile is refused by the plan too (it used to loop)
    let e = Plan::new(1, Profile { sessions: 100, ..Profile::small() }).unwrap_err();
    assert!(
        matches!(
            e,
            PlanError::Profile(ProfileError::Limit { volume: Volume::Sessions, limit: 82, .. })
        ),
        "{e}"
    );
    // the limit itself builds: six ended sessions for every agent
    let p = Profile::with_overrides(
        Profile::small(),
        &Overrides { sessions: Some(82), events: Some(400), ..Overrides::default() },
    )
    .unwrap();
    let plan = Plan::new(1, p).unwrap();
    assert_eq!(plan.sessions.len(), 82);
    for a in 0..12 {
        assert_eq!(
            plan.sessions.iter().filter(|s| s.agent == a && s.end.is_some()).count(),
            6,
            "agent {a}"
        );
    }
}

#[test]
fn events_beyond_the_caps_are_refused_before_any_allocation() {
    let o = Overrides { events: Some(u32::MAX as u64), ..Overrides::default() };
    let e = Profile::with_overrides(Profile::default_profile(), &o).unwrap_err();
    assert_eq!(limit_of(&e), (Volume::Events, Bound::AtMost, MAX_EVENTS));
    assert_eq!(
        e.to_string(),
        "--events 4294967295 is more than this tool generates (see --help): \
        at most 200000; lower --events"
    );
    let e = Plan::new(1, Profile { events: u32::MAX, ..Profile::default_profile() }).unwrap_err();
    assert!(
        matches!(e, PlanError::Profile(ProfileError::Limit { volume: Volume::Events, .. })),
        "{e}"
    );
    // within the cap, the active sessions bound it: 10,000 updates each
    let o = Overrides { events: Some(200_000), active_sessions: Some(2), ..Overrides::default() };
    let e = Profile::with_overrides(Profile::small(), &o).unwrap_err();
    // 12 registrations + 24 starts + 22 ends + 20 groups + 40 members
    assert_eq!(limit_of(&e), (Volume::Events, Bound::AtMost, 118 + 20_000));
    assert!(
        e.to_string()
            .contains("118 other events + 10000 agent.update per active session × 2 = 20118"),
        "{e}"
    );
}

#[test]
fn too_few_events_name_what_events_jsonl_must_hold() {
    let o = Overrides { events: Some(50), ..Overrides::default() };
    let e = Profile::with_overrides(Profile::small(), &o).unwrap_err();
    assert_eq!(limit_of(&e), (Volume::Events, Bound::AtLeast, 120));
    assert_eq!(
        e.to_string(),
        "--events 50 is fewer than events.jsonl holds with these volumes: at least 12 \
            registrations + 24 session starts + 14 session ends + 20 groups + 40 group members + \
            10 agent.update (one per active session) = 120; raise --events, or lower --sessions \
            or --agents"
    );
}

/// The cost of agent.update grows with the events, not with their square:
/// commit lists are capped (the default fixture's never reach the cap).
#[test]
fn more_events_cost_proportionally_more() {
    let mut per_event = Vec::new();
    for events in [500u64, 2_000, 8_000] {
        let p = Profile::with_overrides(
            Profile::small(),
            &Overrides { events: Some(events), ..Overrides::default() },
        )
        .unwrap();
        let plan = Plan::new(3, p).unwrap();
        assert_eq!(plan.others.len() as u64, events);
        let longest = plan
            .updates
            .iter()
            .flat_map(|u| &u.contexts)
            .map(|c| c.unmerged_commits.as_ref().map_or(0, |v| v.len()))
            .max()
            .unwrap();
        assert!(longest <= MAX_UNMERGED_COMMITS, "{longest} commits");
        per_event.push(plan.footprint() as f64 / events as f64);
    }
    assert!(per_event[2] < 1.5 * per_event[1], "footprint per event grows: {per_event:?}");
    let default = Plan::new(42, Profile::default_profile()).unwrap();
    let longest = default
        .updates
        .iter()
        .flat_map(|u| &u.contexts)
        .map(|c| c.unmerged_commits.as_ref().map_or(0, |v| v.len()))
        .max()
        .unwrap();
    assert!(longest < MAX_UNMERGED_COMMITS, "the default fixture would change: {longest} commits");
}

#[test]
fn subscriptions_are_exact_up_to_every_shape_of_every_session() {
    let o = Overrides { subscriptions: Some(1_000_000), ..Overrides::default() };
    let e = Profile::with_overrides(Profile::default_profile(), &o).unwrap_err();
    assert_eq!(limit_of(&e), (Volume::Subscriptions, Bound::AtMost, 2400));
    assert!(
        e.to_string().starts_with(
            "--subscriptions 1000000 is more than the default profile's \
        100 sessions can hold: at most 24 distinct subscriptions per session"
        ),
        "{e}"
    );
    for n in [0, 1, 500, 24 * 24 - 1, 24 * 24] {
        let p = Profile::with_overrides(
            Profile::small(),
            &Overrides { subscriptions: Some(n), ..Overrides::default() },
        )
        .unwrap();
        let plan = Plan::new(9, p).unwrap();
        assert_eq!(plan.subscriptions.len() as u64, n);
        let mut shapes: Vec<_> = plan
            .subscriptions
            .iter()
            .map(|s| (s.session, s.scope_type, s.scope_value.clone(), s.mention_role.clone()))
            .collect();
        shapes.sort();
        shapes.dedup();
        assert_eq!(shapes.len() as u64, n, "every subscription distinct");
    }
    let e = Profile::with_overrides(
        Profile::small(),
        &Overrides { subscriptions: Some(24 * 24 + 1), ..Overrides::default() },
    )
    .unwrap_err();
    assert_eq!(limit_of(&e), (Volume::Subscriptions, Bound::AtMost, 576));
}

#[test]
fn many_messages_fit_in_the_smallest_window() {
    // Sessions still running at the snapshot started over the whole window,
    // so even two agents over one day have room for tens of millions of
    // messages (10 µs ticks: about 8.6e9 per day and live session). Message
    // times strictly increase and stay in the window.
    for seed in 0..2 {
        let o = Overrides {
            agents: Some(2),
            days: Some(1),
            messages: Some(20_000_000),
            ..Overrides::default()
        };
        let p = Profile::with_overrides(Profile::small(), &o).unwrap();
        let plan = Plan::new(seed, p).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let (w0, w1) = (plan.profile.window_start, plan.profile.window_end());
        for i in [0u64, 1, 9_999_999, 10_000_000, 19_999_998] {
            let (a, b) = (plan.message_time(i), plan.message_time(i + 1));
            assert!(w0 < a && a < b && b < w1, "seed {seed}, message {i}: {a} {b}");
        }
    }
}

#[test]
fn overrides_are_named_as_before() {
    let o = Overrides {
        agents: Some(9),
        messages: Some(777),
        subscriptions: Some(11),
        days: Some(3),
        ..Overrides::default()
    };
    let p = Profile::with_overrides(Profile::small(), &o).unwrap();
    assert_eq!(p.name, "small+agents=9,messages=777,subscriptions=11,days=3");
    assert_eq!((p.agents, p.messages, p.subscriptions, p.window_days), (9, 777, 11, 3));
    // --agents scales what is not given
    let scaled = Profile::small().with_agents(9);
    assert_eq!(
        (p.sessions, p.active_sessions, p.events),
        (scaled.sessions, scaled.active_sessions, scaled.events)
    );
    assert_eq!(
        Profile::with_overrides(Profile::small(), &Overrides::default()).unwrap(),
        Profile::small()
    );
    assert_eq!(Profile::named("nope").unwrap_err(), ProfileError::Unknown("nope".into()));
    for name in Profile::NAMES {
        assert!(Profile::named(name).unwrap().validate().is_ok(), "{name}");
    }
}

/// The name Thrum's resilience suite gives agent `i` (its `fixtureAgentName`).
fn fixture_agent_name(i: usize) -> String {
    const ROLES: [&str; 5] = ["coordinator", "implementer", "reviewer", "planner", "tester"];
    format!("{}_{i:04}", ROLES[i % 5])
}

#[test]
fn the_resilience_profile_is_default_with_the_suites_agent_names() {
    let r = Profile::named("resilience").unwrap();
    assert!(Profile::NAMES.contains(&"resilience"));
    // the default volumes and distributions, no extra agents, no humans
    let d = Profile::default_profile();
    assert_eq!(
        r,
        Profile {
            name: "resilience".into(),
            naming: Naming::Indexed,
            extra_agents: 0,
            humans: 0,
            ..d.clone()
        }
    );
    assert_eq!(d.naming, Naming::RoleModule);
    let plan = Plan::new(42, r).unwrap();
    assert_eq!(plan.agents.len(), 50);
    let modules = ["main", "daemon", "relay", "sync", "cli", "ui", "auth", "groups"];
    for (i, a) in plan.agents.iter().enumerate() {
        let name = fixture_agent_name(i);
        assert_eq!(
            (a.agent_id.as_str(), a.name.as_str(), a.kind),
            (name.as_str(), name.as_str(), "agent"),
            "agent {i}"
        );
        assert_eq!(a.role, name.split('_').next().unwrap(), "{name}");
        assert_eq!(a.module, modules[i % 8], "{name}");
    }
    // every agent has a session running at the snapshot (the suite sends
    // as coordinator_0000 and implementer_0001 without starting one)
    for a in 0..50u32 {
        assert_eq!(
            plan.sessions.iter().filter(|s| s.agent == a && s.end.is_none()).count(),
            1,
            "{}",
            fixture_agent_name(a as usize)
        );
    }
    // the default profile keeps its role_module roster
    let plan = Plan::new(42, d).unwrap();
    assert_eq!(plan.agents[0].agent_id, "coordinator_main");
    assert_eq!(plan.agents.iter().filter(|a| a.kind == "human").count(), 3);
}

#[test]
fn the_resilience_profile_scaled_keeps_its_naming_and_no_extra_agents() {
    for agents in [2u32, 7, 120] {
        let p = Profile::with_overrides(
            Profile::resilience(),
            &Overrides { agents: Some(agents.into()), ..Overrides::default() },
        )
        .unwrap();
        assert_eq!(
            (p.extra_agents, p.humans, p.naming),
            (0, 0, Naming::Indexed),
            "--agents {agents}"
        );
        let plan = Plan::new(3, Profile { messages: 300, ..p }).unwrap();
        let names: Vec<String> = plan.agents.iter().map(|a| a.agent_id.clone()).collect();
        assert_eq!(
            names,
            (0..agents as usize).map(fixture_agent_name).collect::<Vec<_>>(),
            "--agents {agents}"
        );
    }
    // a profile with extra agents keeps at least one when scaled down
    assert_eq!(Profile::default_profile().with_agents(2).extra_agents, 1);
}
