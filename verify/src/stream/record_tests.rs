//! What the replays keep while they run and once they are done: a replay
//! that only projects records nothing per event, and a replay database kept
//! beside another is read with a small cache.

use super::*;
use std::collections::BTreeMap;

/// An `events.jsonl` of `n` registrations from two origins, as a daemon
/// holds them after pulls (every third line spaced, not canonical).
fn two_origins(dir: &std::path::Path, n: u32) -> Source {
    let mut text = String::new();
    for i in 0..n {
        let o = if i % 2 == 0 { "d_aaaaaaaaaaaa" } else { "d_bbbbbbbbbbbb" };
        let sp = if i % 3 == 0 { " " } else { "" };
        text.push_str(&format!(
            "{{\"agent_id\":\"a{}\",\"event_id\":\"evt_{i:05}\",\"kind\":\"agent\",\"module\":\
                \"m\",\"origin_daemon\":\"{o}\",\"role\":\"r{i}\",\"sequence\":{},\"timestamp\":\
                {sp}\"2026-01-01T{:02}:{:02}:{:02}Z\",\"type\":\"agent.register\"}}\n",
            i % 5,
            i + 1,
            i / 3600,
            (i / 60) % 60,
            i % 60
        ));
    }
    let path = dir.join("events.jsonl");
    std::fs::write(&path, text).unwrap();
    Source { path, rel: ".thrum/events.jsonl".into(), shard: None }
}

/// The events `pipeline` hands on (position, id, whether `raw` is empty),
/// what the producers recorded (ids of the records, the counts of the
/// findings of the line checks by kind) and the records left with them.
type Seen = (Vec<(Pos, String, bool)>, Vec<String>, BTreeMap<Kind, usize>, usize);

fn piped(sources: &[Source], record: bool) -> Seen {
    let (ids, creates) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let no = AtomicBool::new(false);
    let ctx = Shared {
        sources,
        mode: Mode::Fixture,
        order: Order::Sequence,
        only: &[],
        hasher: &RandomState::new(),
        names: &Names::default(),
        cancel: &no,
        abort: &no,
        ids: &ids,
        creates: &creates,
        record,
    };
    let mut events = Vec::new();
    let (a, b) = pipeline(&ctx, &vec![false; sources.len()], |ev| {
        let id = ev.event.envelope.event_id.clone().unwrap_or_default();
        events.push((ev.pos, id, ev.event.raw.is_empty()));
        Ok(())
    })
    .ok()
    .unwrap();
    let shared = ids.into_inner().unwrap();
    let recorded = shared.iter().map(|r| r.key.text()).collect();
    let mut tagged = a.rec.tagged.into_findings(0);
    tagged.append(b.rec.tagged.into_findings(0));
    let tagged = tagged.counts().clone();
    let left = a.rec.ids.len() + b.rec.ids.len() + creates.into_inner().unwrap().len();
    (events, recorded, tagged, left)
}

#[test]
fn a_replay_that_only_projects_records_nothing_whatever_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let src = vec![two_origins(dir.path(), 3000)];
    let (events, recorded, tagged, left) = piped(&src, true);
    let ids: Vec<String> = (0..3000).map(|i| format!("evt_{i:05}")).collect();
    assert_eq!(events.iter().map(|e| e.1.clone()).collect::<Vec<_>>(), ids);
    // the checks of the lines: one record per event, the spaced lines tagged
    let mut sorted = recorded;
    sorted.sort();
    assert_eq!(sorted, ids);
    assert_eq!(tagged.get(&Kind::EventNotCanonical), Some(&1000));
    assert_eq!(left, 0);
    // only projecting: the same events in the same order, nothing kept
    let (same, recorded, tagged, left) = piped(&src, false);
    assert_eq!(same, events);
    assert!(events.iter().all(|e| e.2), "raw maps are dropped before the replay");
    assert_eq!((recorded, tagged, left), (Vec::<String>::new(), BTreeMap::new(), 0));
}

#[test]
fn replays_kept_side_by_side_are_read_with_a_small_cache() {
    let dir = tempfile::tempdir().unwrap();
    let src = two_origins(dir.path(), 300);
    let no = AtomicBool::new(false);
    let setting = |r: &Replay| -> (i64, i64) {
        let get = |p: &str| r.conn.query_row(&format!("PRAGMA {p}"), [], |x| x.get(0)).unwrap();
        (get("cache_size"), get("temp_store"))
    };
    // on disk: both replays of a daemon with two origins give back their cache
    let s = run(vec![src.clone()], Mode::Fixture, 0, &no).ok().unwrap();
    let rebuild = s.rebuild.as_ref().unwrap();
    assert_eq!(setting(&s.replay), (-replay::READ_CACHE_KIB, 1));
    assert_eq!(setting(rebuild), (-replay::READ_CACHE_KIB, 1));
    // ... and project what they project in memory
    let mem = run(vec![src], Mode::Fixture, u64::MAX, &no).ok().unwrap();
    let rows = |r: &Replay| {
        crate::value::query_all(&r.conn, "SELECT * FROM agents ORDER BY agent_id").unwrap()
    };
    assert_eq!(rows(&s.replay), rows(&mem.replay));
    assert_eq!(rows(rebuild), rows(mem.rebuild.as_ref().unwrap()));
    assert_eq!(rows(rebuild).len(), 5);
}
