//! Properties of the plan itself: canonical lines, replay order, the design
//! volumes of the default profile.

use crate::common;
use std::collections::{BTreeMap, HashSet};
use thrum_gen::MsgKind;
use thrum_gen::Timeline;
use thrum_gen::{Plan, Profile};
use thrum_schemas::events::Event;

#[test]
fn every_line_is_canonical_and_in_replay_order() {
    let plan = Plan::new(7, Profile::small()).unwrap();
    let lines = common::render_all(&plan);
    assert_eq!(lines.len() as u64, plan.total_events());
    let mut prev: Option<(String, String)> = None;
    let mut ids = HashSet::new();
    for (i, l) in lines.iter().enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("line {i}: {e}: {l}"));
        assert_eq!(&thrum_schemas::gojson::to_string(&v), l, "not canonical");
        let e = Event::parse(l).unwrap();
        assert_eq!(e.envelope.sequence, Some(i as i64 + 1));
        assert_eq!(e.envelope.v, Some(1));
        let id = e.envelope.event_id.clone().unwrap();
        assert!(thrum_schemas::ids::is_prefixed_ulid(&id, "evt_"), "{id}");
        // ULID time part is the event time in ms
        let (ms, _) = thrum_schemas::ids::parse_ulid(&id[4..]).unwrap();
        let t = thrum_schemas::time::parse_rfc3339(&e.envelope.timestamp).unwrap();
        assert_eq!(ms as i64, t / 1000);
        assert_eq!(e.envelope.timestamp.len(), "2026-03-02T09:15:04.123456Z".len());
        assert!(ids.insert(id.clone()));
        let key = (e.envelope.timestamp.clone(), id);
        if let Some(p) = &prev {
            assert!(p < &key, "out of order at line {i}");
        }
        prev = Some(key);
        assert!(!matches!(e.payload, thrum_schemas::events::Payload::Unknown));
    }
}

#[test]
fn default_profile_volumes() {
    let plan = Plan::new(42, Profile::default_profile()).unwrap();
    assert_eq!(plan.agents.len(), 50);
    for a in &plan.agents {
        // Names follow the daemon's rule; humans are `user:{name}`.
        assert!(thrum_schemas::ids::is_valid_agent_name(&a.name), "{}", a.name);
        let want = if a.kind == "human" { format!("user:{}", a.name) } else { a.name.clone() };
        assert_eq!(a.agent_id, want);
    }
    assert_eq!(plan.sessions.len(), 100);
    assert_eq!(plan.sessions.iter().filter(|s| s.end.is_none()).count(), 50);
    assert_eq!(plan.others.len(), 500);
    assert_eq!(plan.groups.len(), 20);
    assert_eq!(plan.members.len(), 80);
    assert_eq!(plan.work_contexts.len(), 50);
    assert_eq!(plan.subscriptions.len(), 150);
    let mut kinds = BTreeMap::new();
    for i in 0..plan.profile.messages {
        *kinds.entry(format!("{:?}", plan.kind_of(i))).or_insert(0) += 1;
    }
    assert_eq!(kinds[&format!("{:?}", MsgKind::Broadcast)], 6000);
    assert_eq!(kinds[&format!("{:?}", MsgKind::Directed)], 3000);
    assert_eq!(kinds[&format!("{:?}", MsgKind::Reply)], 1000);
    // every message inside its session, times strictly increasing
    let mut last = i64::MIN;
    for i in 0..plan.profile.messages {
        let m = plan.message(i);
        let s = &plan.sessions[m.session as usize];
        assert!(
            s.start.time < m.key.time && m.key.time < s.until(plan.snapshot),
            "message {i} outside its session"
        );
        assert!(m.key.time > last);
        last = m.key.time;
    }
}

#[test]
fn slices_concatenate_to_the_whole_timeline() {
    let plan = Plan::new(11, Profile::small()).unwrap();
    let whole: Vec<(u64, thrum_gen::EventKey)> =
        Timeline::new(&plan).map(|e| (e.sequence, e.key)).collect();
    for n in [1u64, 2, 3, 7] {
        let mut joined = Vec::new();
        for i in 0..n {
            joined.extend(Timeline::slice(&plan, i, n).map(|e| (e.sequence, e.key)));
        }
        assert_eq!(joined, whole, "{n} slices");
    }
}

#[test]
fn event_at_finds_every_sequence() {
    let plan = Plan::new(12, Profile::small()).unwrap();
    let all: Vec<_> = Timeline::new(&plan).map(|e| (e.sequence, e.key)).collect();
    for &(seq, key) in &all {
        let e = Timeline::event_at(&plan, seq).unwrap();
        assert_eq!((e.sequence, e.key), (seq, key));
    }
    assert!(Timeline::event_at(&plan, 0).is_none());
    assert!(Timeline::event_at(&plan, all.len() as u64 + 1).is_none());
}

/// What the daemon writes when it first starts (docs/FORMAT.md section
/// 10): the `everyone` pair, the first two events of the log, at one
/// moment of the window's first second (the second InitDB created the
/// database in), the create's id first; the group is one of the 20 and the
/// role `*` one of the 80 members, both by `system`.
#[test]
fn the_first_start_writes_the_everyone_pair_first() {
    for (seed, profile) in [(42, Profile::default_profile()), (7, Profile::small())] {
        let plan = Plan::new(seed, profile).unwrap();
        let lines = common::render_all(&plan);
        let first: Vec<serde_json::Value> =
            lines[..2].iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        let (ts, od) =
            (first[0]["timestamp"].clone(), serde_json::Value::from(plan.origin_daemon.clone()));
        let (create, add) = (first[0]["event_id"].clone(), first[1]["event_id"].clone());
        assert_eq!(
            first[0],
            serde_json::json!({"created_by": "system", "description": "All agents",
                "event_id": create, "group_id": "grp_everyone", "name": "everyone",
                "origin_daemon": od, "sequence": 1, "timestamp": ts, "type": "group.create",
                "v": 1})
        );
        assert_eq!(
            first[1],
            serde_json::json!({"added_by": "system", "event_id": add, "group_id": "grp_everyone",
                "member_type": "role", "member_value": "*", "origin_daemon": od, "sequence": 2,
                "timestamp": ts, "type": "group.member.add", "v": 1})
        );
        assert!(create.as_str().unwrap() < add.as_str().unwrap());
        let t = thrum_schemas::time::parse_rfc3339(ts.as_str().unwrap()).unwrap();
        let w0 = plan.profile.window_start;
        assert!(w0 < t && t < w0 + 1_000_000, "{ts}");
        // before anything else the daemon wrote
        let third = Event::parse(&lines[2]).unwrap();
        assert!(
            thrum_schemas::time::parse_rfc3339(&third.envelope.timestamp).unwrap() > t + 60_000_000
        );
        // ids follow the id rules and derive from the seed
        for id in [&create, &add] {
            let id = id.as_str().unwrap();
            assert!(thrum_schemas::ids::is_prefixed_ulid(id, "evt_"), "{id}");
            assert_eq!(thrum_schemas::ids::parse_ulid(&id[4..]).unwrap().0 as i64, t / 1000);
        }
        let again = common::render_all(&Plan::new(seed, plan.profile.clone()).unwrap());
        assert_eq!(again[..2], lines[..2]);
        let other = common::render_all(&Plan::new(seed + 1, plan.profile.clone()).unwrap());
        assert_ne!(other[0], lines[0]);
        // 20 groups and 80 members (default) with `everyone` among them
        let everyone: Vec<_> = plan.groups.iter().filter(|g| g.name == "everyone").collect();
        assert_eq!(everyone.len(), 1);
        assert_eq!((everyone[0].group_id.as_str(), everyone[0].created_by), ("grp_everyone", None));
        let star: Vec<_> = plan.members.iter().filter(|m| m.member_value == "*").collect();
        assert_eq!(star.len(), 1);
        assert_eq!((star[0].id, star[0].member_type, star[0].added_by), (1, "role", None));
    }
    let plan = Plan::new(42, Profile::default_profile()).unwrap();
    assert_eq!((plan.groups.len(), plan.members.len(), plan.others.len()), (20, 80, 500));
}

/// The peers of the sync checkpoints, as `var/peers.json` lists them: one
/// per checkpoint, its id derived from its name (the peer's hostname), at
/// `name:9473`, paired after the daemon started and before the pulls, last
/// pulled in the second its checkpoint records.
#[test]
fn every_checkpointed_peer_is_registered() {
    for seed in [42, 3] {
        let plan = Plan::new(seed, Profile::default_profile()).unwrap();
        assert_eq!(plan.peers.len(), plan.checkpoints.len());
        let start = thrum_gen::everyone_keys(seed, plan.profile.window_start, 0).0.time;
        let mut tokens = HashSet::new();
        for (p, c) in plan.peers.iter().zip(&plan.checkpoints) {
            assert_eq!(p.daemon_id, c.peer);
            assert_eq!(p.daemon_id, thrum_schemas::ids::daemon_id(&p.name));
            assert_eq!(p.address, format!("{}:9473", p.name));
            assert!(
                start < p.paired_at && p.paired_at < plan.profile.window_start + 60_000_000,
                "{p:?}"
            );
            assert_eq!(
                p.last_sync.map(|t| t.div_euclid(1_000_000)),
                Some(c.last_sync_timestamp),
                "{p:?}"
            );
            assert!(p.last_sync.unwrap() < plan.snapshot);
            assert_eq!(p.token.len(), 32);
            assert!(
                p.token.bytes().all(|b| b.is_ascii_hexdigit()) && tokens.insert(p.token.clone()),
                "{p:?}"
            );
        }
    }
}
