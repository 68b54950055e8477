//! `testgen mesh`: a mesh of daemons, read back from its archives (never
//! through the generator's own structures): byte-reproducible at any
//! --jobs; sequences, lines, checkpoints and peers as docs/FORMAT.md
//! section 8 states; local-only state only where its session runs; the
//! declared conflicts really diverge.

mod command;

use crate::common::*;
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use testgen::mesh::{generate_mesh, MeshOptions};
use thrum_gen::mesh::Scenario;
use thrum_gen::Profile;

fn mesh_opts(out: PathBuf, daemons: u32, scenario: Scenario, jobs: usize) -> MeshOptions {
    MeshOptions {
        seed: 42,
        profile: Profile::small(),
        daemons,
        scenario,
        out,
        jobs,
        compression: testgen::Compression::Zstd,
    }
}

fn make(dir: &Path, name: &str, daemons: u32, scenario: Scenario, jobs: usize) -> PathBuf {
    let out = dir.join(name);
    generate_mesh(&mesh_opts(out.clone(), daemons, scenario, jobs)).expect("mesh generated");
    out
}

/// One daemon's fixture as read from its archive.
struct Held {
    index: usize,
    hostname: String,
    daemon_id: String,
    /// event_id → (sequence, line without newline).
    lines: BTreeMap<String, (u64, String)>,
    db: Connection,
    /// peer id → (last_synced_sequence, last_sync_timestamp, status).
    checkpoints: BTreeMap<String, (i64, i64, String)>,
    peers: serde_json::Value,
    peers_mode: u32,
}

impl Held {
    fn field(&self, id: &str, key: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.lines[id].1).unwrap();
        v[key].clone()
    }
    /// The event ids, by this daemon's sequence.
    fn by_sequence(&self) -> Vec<String> {
        let mut v: Vec<(u64, String)> =
            self.lines.iter().map(|(id, (s, _))| (*s, id.clone())).collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }
    fn count(&self, sql: &str) -> i64 {
        self.db.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn read_mesh(out: &Path, work: &Path) -> (serde_json::Value, Vec<Held>) {
    let mesh: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("mesh.json")).unwrap()).unwrap();
    let mut held = Vec::new();
    for d in mesh["daemons"].as_array().unwrap() {
        let index = d["index"].as_u64().unwrap() as usize;
        let archive = out.join(d["archive"].as_str().unwrap());
        let dest = work.join(format!("x-{index}"));
        extract(&archive, &dest);
        let root = dest.join(".thrum");
        let mut files = vec![root.join("events.jsonl")];
        let mut shards: Vec<PathBuf> =
            std::fs::read_dir(root.join("messages")).unwrap().map(|e| e.unwrap().path()).collect();
        shards.sort();
        files.extend(shards);
        let mut lines = BTreeMap::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let mut last = 0;
            for l in text.lines() {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let seq = v["sequence"].as_u64().unwrap();
                assert!(
                    seq > last,
                    "{}: sequences in append order ({last} then {seq})",
                    f.display()
                );
                last = seq;
                assert!(
                    lines
                        .insert(v["event_id"].as_str().unwrap().to_string(), (seq, l.to_string()))
                        .is_none(),
                    "one line per event"
                );
            }
        }
        let db = Connection::open(root.join("var/messages.db")).unwrap();
        let checkpoints = {
            let mut stmt = db.prepare("SELECT * FROM sync_checkpoints").unwrap();
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
                .unwrap();
            rows.map(|r| r.unwrap()).collect()
        };
        let peers =
            serde_json::from_slice(&std::fs::read(root.join("var/peers.json")).unwrap()).unwrap();
        held.push(Held {
            index,
            hostname: d["hostname"].as_str().unwrap().to_string(),
            daemon_id: d["daemon_id"].as_str().unwrap().to_string(),
            lines,
            db,
            checkpoints,
            peers,
            peers_mode: archived_mode(&archive, ".thrum/var/peers.json"),
        });
    }
    (mesh, held)
}

/// A line without its `sequence`.
fn without_sequence(line: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v.as_object_mut().unwrap().remove("sequence");
    v.to_string()
}

/// The checks that hold in every scenario: sequences 1..n in arrival order
/// across files, the `events` table equal to the lines, own events carry
/// the daemon's id, each event the same JSON everywhere but `sequence`,
/// and every event of a peer up to a checkpoint present.
fn check_common(held: &[Held]) {
    for h in held {
        let order = h.by_sequence();
        let seqs: Vec<u64> = order.iter().map(|id| h.lines[id].0).collect();
        assert_eq!(
            seqs,
            (1..=order.len() as u64).collect::<Vec<_>>(),
            "daemon {}: sequences 1..n",
            h.index
        );
        let mut stmt =
            h.db.prepare(
                "SELECT event_id, sequence, origin_daemon, event_json FROM \
            events ORDER BY sequence",
            )
            .unwrap();
        let rows: Vec<(String, i64, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), order.len(), "daemon {}: one events row per line", h.index);
        for (row, id) in rows.iter().zip(&order) {
            assert_eq!(
                (&row.0, row.1 as u64, &row.3),
                (id, h.lines[id].0, &h.lines[id].1),
                "daemon {}: events row = line",
                h.index
            );
            assert_eq!(row.2, h.field(id, "origin_daemon").as_str().unwrap());
        }
        assert_eq!(
            h.daemon_id,
            thrum_schemas::ids::daemon_id(&h.hostname),
            "id derived from the hostname"
        );
        assert!(
            h.lines.keys().any(|id| h.field(id, "origin_daemon") == h.daemon_id.as_str()),
            "daemon {} wrote events",
            h.index
        );
        let others: BTreeSet<&str> =
            held.iter().filter(|o| o.index != h.index).map(|o| o.daemon_id.as_str()).collect();
        assert_eq!(
            h.checkpoints.keys().map(|k| k.as_str()).collect::<BTreeSet<_>>(),
            others,
            "one checkpoint per peer"
        );
        for (peer, (seq, _, status)) in &h.checkpoints {
            assert_eq!(status, "idle");
            let p = held.iter().find(|o| &o.daemon_id == peer).unwrap();
            assert!(*seq as usize <= p.lines.len(), "checkpoint not ahead of the peer's log");
            for id in p.by_sequence().iter().take(*seq as usize) {
                assert!(
                    h.lines.contains_key(id),
                    "daemon {}: {id} of peer {} is at or below the checkpoint {seq}",
                    h.index,
                    p.index
                );
            }
        }
        // peers.json: the other daemons by index, private
        assert_eq!(h.peers_mode, 0o600);
        let names: Vec<&str> =
            h.peers.as_array().unwrap().iter().map(|p| p["daemon_id"].as_str().unwrap()).collect();
        let want: Vec<&str> =
            held.iter().filter(|o| o.index != h.index).map(|o| o.daemon_id.as_str()).collect();
        assert_eq!(names, want);
        for p in h.peers.as_array().unwrap() {
            let keys: Vec<&str> = p.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            assert_eq!(keys.len(), 6);
            assert!(p["address"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}:", p["name"].as_str().unwrap())));
        }
    }
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for h in held {
        for (id, (_, line)) in &h.lines {
            let bare = without_sequence(line);
            if let Some(prev) = seen.insert(id, bare.clone()) {
                assert_eq!(prev, bare, "{id}: the same JSON on every daemon but sequence");
            }
        }
    }
}

#[test]
fn a_mesh_is_byte_reproducible_at_any_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    for scenario in [Scenario::Converged, Scenario::Lagging] {
        let a = read_all(&make(tmp.path(), &format!("{scenario:?}-1"), 3, scenario, 1));
        let b = read_all(&make(tmp.path(), &format!("{scenario:?}-2"), 3, scenario, 2));
        assert_eq!(a, b, "{scenario:?}: --jobs 1 and --jobs 2");
        let again = read_all(&make(tmp.path(), &format!("{scenario:?}-1"), 3, scenario, 3));
        assert_eq!(a, again, "{scenario:?}: regenerated in place");
        let mut names: Vec<&str> = a.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "SHA256SUMS",
                "daemon-1/manifest.json",
                "daemon-1/thrum-fixture.tar.zst",
                "daemon-2/manifest.json",
                "daemon-2/thrum-fixture.tar.zst",
                "daemon-3/manifest.json",
                "daemon-3/thrum-fixture.tar.zst",
                "mesh.json"
            ]
        );
        let sums = String::from_utf8(a["SHA256SUMS"].clone()).unwrap();
        let listed: Vec<&str> = sums.lines().map(|l| l.split_once("  ").unwrap().1).collect();
        assert_eq!(listed, names[1..].to_vec(), "SHA256SUMS lists every other file");
        for l in sums.lines() {
            let (sum, name) = l.split_once("  ").unwrap();
            assert_eq!(sum, thrum_io::hash::sha256_hex(&a[name]), "{name}");
        }
    }
}

#[test]
fn a_converged_mesh_holds_the_same_events_and_rows_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let out = make(tmp.path(), "mesh", 3, Scenario::Converged, 2);
    let (mesh, held) = read_mesh(&out, tmp.path());
    assert_eq!(mesh["kind"], "mesh");
    assert_eq!(mesh["scenario"], "converged");
    check_common(&held);
    let ids: Vec<BTreeSet<&String>> = held.iter().map(|h| h.lines.keys().collect()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "the same event ids on every daemon");
    for h in &held {
        for (peer, (seq, _, _)) in &h.checkpoints {
            let p = held.iter().find(|o| &o.daemon_id == peer).unwrap();
            assert_eq!(
                *seq as usize,
                p.lines.len(),
                "daemon {}: checkpoint = peer {}'s last sequence",
                h.index,
                p.index
            );
        }
    }
    // the orders differ: each daemon numbers its own events first
    assert!(
        held.windows(2).any(|w| w[0].by_sequence() != w[1].by_sequence()),
        "arrival orders differ"
    );
    // projected rows agree except AUTOINCREMENT ids, heartbeats and the
    // declared conflicts
    let rows = |h: &Held, sql: &str| -> Vec<String> {
        let mut stmt = h.db.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        v => format!("{v:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        rows
    };
    let conflict_keys: Vec<String> = mesh["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"][0].as_str().unwrap().to_string())
        .collect();
    for sql in [
        "SELECT * FROM messages ORDER BY message_id",
        "SELECT * FROM message_scopes ORDER BY 1, 2, 3",
        "SELECT * FROM message_refs ORDER BY 1, 2, 3",
        "SELECT message_id, edited_at, edited_by, old_content, new_content, old_structured, \
            new_structured FROM message_edits ORDER BY 1, 2",
        "SELECT session_id, agent_id, started_at, ended_at, end_reason FROM sessions ORDER BY 1",
        "SELECT agent_id, kind, role, module, display, hostname, registered_at FROM agents ORDER \
            BY 1",
        "SELECT group_id, name, description, created_at, created_by, updated_at FROM groups ORDER \
            BY 1",
        "SELECT group_id, member_type, member_value, added_at, added_by FROM group_members ORDER \
            BY 1, 2, 3",
        "SELECT * FROM agent_work_contexts ORDER BY session_id",
    ] {
        let first: Vec<String> = rows(&held[0], sql)
            .into_iter()
            .filter(|r| !conflict_keys.iter().any(|k| r.contains(k.as_str())))
            .collect();
        assert!(!first.is_empty(), "{sql}");
        for h in &held[1..] {
            let other: Vec<String> = rows(h, sql)
                .into_iter()
                .filter(|r| !conflict_keys.iter().any(|k| r.contains(k.as_str())))
                .collect();
            assert!(first == other, "daemon {}: {sql}", h.index);
        }
    }
}

#[test]
fn declared_conflicts_diverge_between_their_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = make(tmp.path(), "mesh", 3, Scenario::Converged, 1);
    let (mesh, held) = read_mesh(&out, tmp.path());
    let conflicts = mesh["conflicts"].as_array().unwrap();
    let kinds: Vec<&str> = conflicts.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["agent_reregister", "group_update", "everyone_start", "everyone_start"]);
    for c in conflicts {
        let key_cols: &[&str] = match c["table"].as_str().unwrap() {
            "agents" => &["agent_id"],
            "groups" => &["group_id"],
            // AUTOINCREMENT ids differ: named by the natural key
            "group_members" => &["group_id", "member_type", "member_value"],
            t => panic!("unexpected table {t}"),
        };
        let table = c["table"].as_str().unwrap();
        let cols: Vec<&str> =
            c["columns"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
        let key: Vec<&str> =
            c["key"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
        assert_eq!(key.len(), key_cols.len());
        let filter: Vec<String> =
            key_cols.iter().enumerate().map(|(i, k)| format!("{k} = ?{}", i + 1)).collect();
        let value = |h: &Held| -> Vec<Option<String>> {
            let sql =
                format!("SELECT {} FROM {table} WHERE {}", cols.join(", "), filter.join(" AND "));
            h.db.query_row(&sql, rusqlite::params_from_iter(&key), |r| {
                (0..cols.len()).map(|i| r.get::<_, Option<String>>(i)).collect()
            })
            .unwrap()
        };
        let events: Vec<&str> =
            c["event_ids"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
        let writers: Vec<&Held> = c["daemons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &held[x.as_u64().unwrap() as usize - 1])
            .collect();
        let want = if c["kind"] == "everyone_start" { held.len() } else { 2 };
        assert_eq!((events.len(), writers.len()), (want, want), "{}", c["kind"]);
        // each writer wrote its own event and received the others later;
        // no two writers hold the same values
        for (i, w) in writers.iter().enumerate() {
            assert_eq!(w.field(events[i], "origin_daemon"), w.daemon_id.as_str());
            for (j, other) in events.iter().enumerate().filter(|&(j, _)| j != i) {
                assert!(
                    w.lines[events[i]].0 < w.lines[*other].0,
                    "daemon {} applies its own {} first",
                    w.index,
                    events[i]
                );
                assert_ne!(
                    value(w),
                    value(writers[j]),
                    "{} {key:?}: the writers disagree on {cols:?}",
                    c["kind"]
                );
            }
        }
    }
}

#[test]
fn a_lagging_mesh_trails_its_peers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = make(tmp.path(), "mesh", 3, Scenario::Lagging, 2);
    let (mesh, held) = read_mesh(&out, tmp.path());
    assert_eq!(mesh["scenario"], "lagging");
    check_common(&held);
    let behind = held.iter().any(|h| {
        h.checkpoints.iter().any(|(peer, (seq, _, _))| {
            (*seq as usize) < held.iter().find(|o| &o.daemon_id == peer).unwrap().lines.len()
        })
    });
    assert!(behind, "some checkpoint trails its peer's log");
    let all: BTreeSet<&String> = held.iter().flat_map(|h| h.lines.keys()).collect();
    let missing: Vec<(usize, &String)> = held
        .iter()
        .flat_map(|h| {
            all.iter().filter(|id| !h.lines.contains_key(**id)).map(move |id| (h.index, *id))
        })
        .collect();
    assert!(!missing.is_empty(), "some remote event is absent somewhere");
    // daemon 1 is the one that stopped pulling: it misses daemon 2's last writes
    let last_of_2 = held[1]
        .lines
        .iter()
        .filter(|(id, _)| held[1].field(id, "origin_daemon") == held[1].daemon_id.as_str())
        .max_by_key(|(_, (s, _))| *s)
        .unwrap()
        .0;
    assert!(!held[0].lines.contains_key(last_of_2), "daemon 1 lacks daemon 2's last event");
}

#[test]
fn local_only_state_stays_on_the_daemon_of_its_session() {
    let tmp = tempfile::tempdir().unwrap();
    let out = make(tmp.path(), "mesh", 3, Scenario::Converged, 2);
    let (_, held) = read_mesh(&out, tmp.path());
    // the host of each agent, from its agent.register event as written by
    // its own daemon (the origin of an agent's session starts)
    let mut session_daemon: BTreeMap<String, String> = BTreeMap::new();
    for (id, (_, line)) in &held[0].lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] == "agent.session.start" {
            session_daemon.insert(
                v["session_id"].as_str().unwrap().to_string(),
                held[0].field(id, "origin_daemon").as_str().unwrap().to_string(),
            );
        }
    }
    let mut totals = [0i64; 4];
    for h in &held {
        for (k, table) in
            ["message_reads", "subscriptions", "session_scopes", "session_refs"].iter().enumerate()
        {
            let mut stmt = h.db.prepare(&format!("SELECT session_id FROM {table}")).unwrap();
            let sessions: Vec<String> =
                stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
            for s in &sessions {
                assert_eq!(
                    session_daemon[s], h.daemon_id,
                    "daemon {}: {table} of session {s} runs elsewhere",
                    h.index
                );
            }
            totals[k] += sessions.len() as i64;
        }
        // heartbeats: a remote session keeps its projected last_seen_at
        let mut stmt =
            h.db.prepare("SELECT session_id, started_at, last_seen_at FROM sessions").unwrap();
        let rows: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut beats = 0;
        for (s, started, seen) in rows {
            if session_daemon[&s] != h.daemon_id {
                assert_eq!(
                    seen, started,
                    "daemon {}: remote session {s} has no heartbeat",
                    h.index
                );
            } else if seen != started {
                beats += 1;
            }
        }
        assert!(beats > 0, "daemon {}: its own sessions have heartbeats", h.index);
        assert!(
            h.count("SELECT count(*) FROM agents WHERE last_seen_at = ''") > 0,
            "remote agents keep ''"
        );
        assert!(
            h.count("SELECT count(*) FROM agents WHERE last_seen_at != ''") > 0,
            "own agents have heartbeats"
        );
    }
    // a read comes after the message arrived on the reader's daemon
    let m = thrum_gen::mesh::Mesh::new(42, Profile::small(), 3, Scenario::Converged).unwrap();
    for (d, h) in held.iter().enumerate() {
        let mut arrived = BTreeMap::new();
        for (p, &r) in m.daemons[d].arrivals.iter().enumerate() {
            let e = m.event(r);
            if let thrum_gen::mesh::MeshEv::Plan(thrum_gen::PlanEvent::Create(msg)) = e.ev {
                let at = m.daemons[d].arrived_at(p as u64 + 1, e.key.time, e.writer == d as u32);
                arrived.insert(m.plan.message_id(&msg), thrum_schemas::time::rfc3339_nano(at));
            }
        }
        let mut stmt = h.db.prepare("SELECT message_id, read_at FROM message_reads").unwrap();
        let reads: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let parse = |s: &str| thrum_schemas::time::parse_rfc3339(s).unwrap();
        for (id, at) in reads {
            assert!(
                parse(&at) >= parse(&arrived[&id]),
                "daemon {}: {id} read at {at}, arrived {}",
                h.index,
                arrived[&id]
            );
        }
    }
    // every session's local state is somewhere, exactly once
    let plan = thrum_gen::Plan::new(42, Profile::small()).unwrap();
    assert_eq!(totals[1], plan.subscriptions.len() as i64);
    assert_eq!(totals[2], plan.session_scopes.len() as i64);
    assert_eq!(totals[3], plan.session_refs.len() as i64);
    assert!(totals[0] > 0, "reads");
}
