//! The mesh simulation (section 8): what each daemon holds is a causally
//! closed set of events in an order its peers' logs allow, checkpoints
//! never run ahead, converged daemons hold everything, lagging ones do not,
//! and the mesh is a pure function of its inputs.

use proptest::prelude::*;
use std::collections::HashMap;
use thrum_gen::mesh::{self, Mesh, MeshError, Scenario};
use thrum_gen::render::Scratch;
use thrum_gen::Profile;

fn build(seed: u64, daemons: u32, scenario: Scenario) -> Mesh {
    Mesh::new(seed, Profile::small(), daemons, scenario).expect("a mesh")
}

/// The invariants of any mesh: each daemon holds each event once, in an
/// order where what an event depends on comes first, with arrival times
/// that never go back; checkpoints never run ahead of the peer's log and
/// everything of the peer up to them is held; converged daemons hold
/// everything, and in a lagging mesh daemon 1 trails daemon 2.
fn check_mesh(m: &Mesh, what: &str) {
    let total = m.total_events() as usize;
    let scenario = m.scenario;
    for (i, d) in m.daemons.iter().enumerate() {
        let pos: HashMap<u32, usize> =
            d.arrivals.iter().enumerate().map(|(p, &r)| (r, p)).collect();
        assert_eq!(pos.len(), d.arrivals.len(), "{what}: daemon {i} holds each event once");
        assert!(
            (0..total as u32).all(|r| d.holds(r) == pos.contains_key(&r)),
            "{what}: held set = arrivals"
        );
        // arrival times never go back and never precede the event
        let mut last = i64::MIN;
        for (p, &r) in d.arrivals.iter().enumerate() {
            let e = m.event(r);
            let at = d.arrived_at(p as u64 + 1, e.key.time, e.writer == i as u32);
            assert!(
                at >= e.key.time && at >= last && at <= m.snapshot,
                "{what}: daemon {i} arrival {p}"
            );
            last = at;
        }
        for (&r, &p) in &pos {
            if let Some(dep) = mesh::dependency(m, r) {
                assert!(
                    pos.get(&dep).is_some_and(|&q| q < p),
                    "{what}: daemon {i} holds {dep} before {r}"
                );
            }
            let e = m.event(r);
            assert!(m.daemons[e.writer as usize].holds(r), "{what}: the writer holds {r}");
        }
        for (k, peer) in d.peers.iter().enumerate() {
            if k == i {
                assert_eq!(*peer, mesh::PeerSync::default());
                continue;
            }
            let log = &m.daemons[k].arrivals;
            let c = peer.last_synced_sequence as usize;
            assert!(c <= log.len(), "{what}: checkpoint {c} of daemon {i} not ahead of daemon {k}");
            assert!(
                log[..c].iter().all(|&r| d.holds(r)),
                "{what}: daemon {i} holds daemon {k}'s log up to {c}"
            );
            if scenario == Scenario::Converged {
                assert_eq!(c, log.len(), "{what}: converged checkpoint of {i} for {k}");
            }
        }
        if scenario == Scenario::Converged {
            assert_eq!(d.arrivals.len(), total, "{what}: daemon {i} holds everything");
        }
    }
    if scenario == Scenario::Lagging {
        let (d0, d1) = (&m.daemons[0], &m.daemons[1]);
        assert!(
            (d0.peers[1].last_synced_sequence as usize) < d1.arrivals.len(),
            "{what}: daemon 1 trails daemon 2"
        );
        assert!(
            d1.arrivals.iter().any(|&r| !d0.holds(r)),
            "{what}: daemon 1 misses some of daemon 2's events"
        );
    }
    // each declared conflict: one event per writer, on two daemons or more
    // (every daemon's own `everyone` pair)
    for c in &m.conflicts {
        assert_eq!(c.event_ids.len(), c.daemons.len());
        let mut writers = c.daemons.clone();
        writers.sort();
        writers.dedup();
        let want = if c.kind == "everyone_start" { m.daemons.len() } else { 2 };
        assert_eq!(writers.len(), want, "{what}: {} written on {want} daemons", c.kind);
    }
}

#[test]
fn every_daemon_holds_a_causally_closed_prefix_of_its_peers() {
    for seed in [1, 7, 42] {
        for daemons in [2, 3, 5] {
            for scenario in [Scenario::Converged, Scenario::Lagging] {
                let m = build(seed, daemons, scenario);
                check_mesh(&m, &format!("seed {seed}, {daemons} daemons, {scenario:?}"));
                assert!(
                    m.daemons.iter().enumerate().all(|(i, d)| d
                        .peers
                        .iter()
                        .enumerate()
                        .all(|(k, p)| k == i || p.last_sync.is_some())),
                    "every pair pulled"
                );
            }
        }
    }
}

/// A plan may place a few events past its window (members of a group
/// created late): the mesh's last pulls and its snapshot come after them.
#[test]
fn events_past_the_window_arrive_before_the_snapshot() {
    let profile = Profile { messages: 50, window_days: 1, ..Profile::small() };
    let m = Mesh::new(4801231574067310159, profile, 2, Scenario::Converged).unwrap();
    let last = m.plan.others.iter().map(|o| o.key.time).max().unwrap();
    assert!(last > m.plan.snapshot, "this seed has an event past the window");
    assert!(m.snapshot > last);
    check_mesh(&m, "events past the window");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Over random seeds, sizes and daemon counts a mesh either builds
    /// with every invariant or says why (too many daemons for the agents,
    /// a plan that cannot be built, no quiet moment for a conflict).
    #[test]
    fn any_mesh_keeps_the_invariants(
        seed in any::<u64>(),
        daemons in 2u32..6,
        lagging in any::<bool>(),
        messages in 50u64..1500,
        days in 1u32..4,
    ) {
        let scenario = if lagging { Scenario::Lagging } else { Scenario::Converged };
        let profile = Profile { messages, window_days: days, ..Profile::small() };
        match Mesh::new(seed, profile, daemons, scenario) {
            Ok(m) => check_mesh(&m, &format!("seed {seed}, {daemons} daemons, {scenario:?}, \
                {messages} messages, {days} days")),
            Err(
                MeshError::Plan(_) | MeshError::Daemons { .. } | MeshError::NoRoomForConflict(_),
            ) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

#[test]
fn lines_carry_their_writer_and_the_holder_s_sequence() {
    let m = build(3, 3, Scenario::Converged);
    let mut sc = Scratch::default();
    for (i, d) in m.daemons.iter().enumerate() {
        for (p, &r) in d.arrivals.iter().enumerate() {
            let e = m.event(r);
            let mut line = String::new();
            m.line(&e, p as u64 + 1, &mut line, &mut sc);
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["sequence"], p as u64 + 1, "daemon {i}");
            assert_eq!(v["origin_daemon"], m.hosts[e.writer as usize].daemon_id.as_str());
            assert_eq!(v["event_id"], e.key.id("evt_").as_str());
            assert_eq!(v["type"], Mesh::event_type(&e));
            if v["type"] == "agent.register" {
                assert_eq!(
                    v["hostname"],
                    m.hosts[e.writer as usize].hostname.as_str(),
                    "registered from its writer's host"
                );
            }
        }
    }
    // every agent's register by its own host, the one extra by another
    let rereg: Vec<_> =
        m.extras.iter().filter(|x| matches!(x.what, mesh::ExtraKind::Reregister { .. })).collect();
    assert_eq!(rereg.len(), 1);
    if let mesh::ExtraKind::Reregister { agent } = rereg[0].what {
        assert_ne!(m.agent_host[agent as usize], rereg[0].host);
    }
}

#[test]
fn hosts_are_distinct_and_every_host_has_agents() {
    for daemons in [2, 6, 9] {
        let m = build(5, daemons, Scenario::Converged);
        let names: std::collections::BTreeSet<&str> =
            m.hosts.iter().map(|h| h.hostname.as_str()).collect();
        assert_eq!(names.len(), daemons as usize);
        for (k, h) in m.hosts.iter().enumerate() {
            assert_eq!(h.daemon_id, thrum_schemas::ids::daemon_id(&h.hostname));
            assert!(m.agent_host.contains(&(k as u32)), "host {k} has agents");
        }
        for (a, agent) in m.plan.agents.iter().enumerate() {
            assert_eq!(agent.hostname, m.hosts[m.agent_host[a] as usize].hostname);
        }
    }
}

#[test]
fn a_mesh_is_a_pure_function_of_its_inputs() {
    let (a, b) = (build(11, 4, Scenario::Lagging), build(11, 4, Scenario::Lagging));
    assert_eq!(a.daemons, b.daemons);
    assert_eq!(a.conflicts, b.conflicts);
    assert_ne!(a.daemons, build(12, 4, Scenario::Lagging).daemons);
}

#[test]
fn daemons_outside_the_bounds_are_refused() {
    for daemons in [0, 1, mesh::MAX_DAEMONS + 1] {
        let e = Mesh::new(1, Profile::small(), daemons, Scenario::Converged).unwrap_err();
        assert!(matches!(e, MeshError::Daemons { daemons: d, .. } if d == daemons), "{e}");
    }
    // more daemons than agents (every host has at least one)
    let agents = Profile::small().agents;
    let e = Mesh::new(1, Profile::small(), agents + 1, Scenario::Converged).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "--daemons {}: a mesh has 2 to {} daemons, and no more than the profile's agents \
                ({agents})",
            agents + 1,
            mesh::MAX_DAEMONS
        )
    );
}

#[test]
fn a_schedule_beyond_its_cap_is_refused_before_any_work() {
    // 64 daemons over a century: 4,032 pairs pulling every 5 minutes
    let o = thrum_gen::Overrides { agents: Some(64), days: Some(36_500), ..Default::default() };
    let p = Profile::with_overrides(Profile::small(), &o).unwrap();
    match Mesh::new(1, p, 64, Scenario::Converged) {
        Err(MeshError::TooManyPulls { daemons: 64, days: 36_500, pulls, max }) => {
            assert_eq!(max, mesh::MAX_PULLS);
            assert_eq!(pulls, 64 * 63 * (36_500 * 288 + 1));
        }
        other => panic!("{:?}", other.map(|m| m.pulls)),
    }
}
