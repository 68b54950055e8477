//! Properties over random seeds and small sizes: a plan either builds or
//! says why (never panics); the same seed renders identical lines; lines are
//! canonical and in strict replay order; slices concatenate to the whole.

use crate::common;
use proptest::prelude::*;
use thrum_gen::rows;
use thrum_gen::Timeline;
use thrum_gen::{Plan, Profile};

fn small_profile() -> impl Strategy<Value = Profile> {
    (3u32..16, 0u32..4, 1u32..3, 20u64..400, 60u32..200, 1u32..30).prop_map(
        |(agents, extra, sessions_per, messages, events, subs)| {
            let extra = extra.min(agents - 1);
            let active = (agents / 2).max(1);
            Profile {
                name: "prop".into(),
                agents,
                extra_agents: extra,
                humans: extra.min(1),
                sessions: agents * sessions_per + 1,
                active_sessions: active,
                messages,
                group_members: None,
                // enough for registers, starts, ends, groups and members, plus updates
                events: events + agents * (3 * sessions_per + 4) + 100,
                subscriptions: subs,
                window_days: 2,
                ..Profile::small()
            }
        },
    )
}

fn all_rows(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for t in thrum_schemas::catalogue::TABLES {
        let _ = rows::small_rows(plan, t, |r| -> Result<(), ()> {
            out.push(format!("{}:{r:?}", t.name));
            Ok(())
        });
    }
    let _ = rows::message_rows(plan, 0..plan.profile.messages, |t, r| -> Result<(), ()> {
        out.push(format!("{}:{r:?}", t.name));
        Ok(())
    });
    out
}

#[test]
fn impossible_profiles_are_refused_with_a_reason() {
    for p in [
        Profile { agents: 1, ..Profile::small() },
        Profile { active_sessions: 0, ..Profile::small() },
        Profile { sessions: 3, ..Profile::small() },
        Profile { events: 10, ..Profile::small() },
        Profile { group_members: Some(3), ..Profile::small() },
        Profile { messages: 1_000_000_000_000, window_days: 1, ..Profile::small() },
    ] {
        let e = Plan::new(1, p).unwrap_err();
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn with_agents_keeps_the_profile_when_the_count_is_unchanged() {
    for name in Profile::NAMES {
        let p = Profile::by_name(name).unwrap();
        assert_eq!(p.with_agents(p.agents), p, "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// `--agents N` on any profile gives a plan that builds, with exactly N
    /// agents, at least one session each, and the profile's other volumes.
    #[test]
    fn scaled_agent_counts_always_build(agents in 2u32..400, base in 0usize..2) {
        let base = [Profile::small(), Profile::default_profile()][base].clone();
        let p = Profile { messages: 200, ..base.with_agents(agents) };
        let plan = Plan::new(7, p.clone()).map_err(|e| TestCaseError::fail(format!("{p:?}: {e}")))?;
        prop_assert_eq!(plan.agents.len(), agents as usize);
        prop_assert_eq!(plan.sessions.len(), p.sessions as usize);
        for a in 0..agents {
            prop_assert!(plan.sessions.iter().any(|s| s.agent == a), "agent {} has no session", a);
        }
        prop_assert_eq!(p.messages, 200);
        prop_assert_eq!(p.window_days, base.window_days);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_deterministic_and_canonical(seed in any::<u64>(), profile in small_profile()) {
        let a = match Plan::new(seed, profile.clone()) {
            Ok(p) => p,
            Err(e) => { prop_assert!(false, "valid profile refused: {}", e); unreachable!() }
        };
        let b = Plan::new(seed, profile).unwrap();
        let (la, lb) = (common::render_all(&a), common::render_all(&b));
        prop_assert_eq!(&la, &lb);
        prop_assert_eq!(all_rows(&a), all_rows(&b));
        let mut prev: Option<(String, String)> = None;
        for (i, l) in la.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            prop_assert_eq!(&thrum_schemas::gojson::to_string(&v), l);
            prop_assert_eq!(v["sequence"].as_u64(), Some(i as u64 + 1));
            let text = |field: &str| v[field].as_str().unwrap().to_string();
            let key = (text("timestamp"), text("event_id"));
            if let Some(p) = &prev { prop_assert!(p < &key); }
            prev = Some(key);
        }
        let n = 3;
        let slice = |i| Timeline::slice(&a, i, n).map(|e| e.sequence).collect::<Vec<_>>();
        let joined: Vec<u64> = (0..n).flat_map(slice).collect();
        prop_assert_eq!(joined, (1..=la.len() as u64).collect::<Vec<_>>());
    }
}
