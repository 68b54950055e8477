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
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("line {i}: {e}: {l}"));
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
        assert!(s.start.time < m.key.time && m.key.time < s.until(plan.snapshot), "message {i} outside its session");
        assert!(m.key.time > last);
        last = m.key.time;
    }
}

#[test]
fn slices_concatenate_to_the_whole_timeline() {
    let plan = Plan::new(11, Profile::small()).unwrap();
    let whole: Vec<(u64, thrum_gen::EventKey)> = Timeline::new(&plan).map(|e| (e.sequence, e.key)).collect();
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
