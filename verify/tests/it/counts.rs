//! Counts from the input and from the arguments stay bounded: findings are
//! listed up to a ceiling and counted exactly (memory does not grow with
//! their number), a mesh.json declaring too many daemons is refused at once,
//! and every count argument has a range clap checks.

use crate::common::{build, build_from, msg_id, pack, ses_id, standard_events};
use crate::untrusted::bounded;
use serde_json::{json, Value};
use std::io::Write as _;
use std::process::Command;
use std::time::Duration;

const JUNK_LINES: usize = 3_000_000;

#[test]
fn millions_of_junk_lines_are_counted_exactly_in_bounded_memory() {
    let fx = build();
    let events = fx.file("events.jsonl");
    let first_junk = fx.lines("events.jsonl").len() as u64 + 1;
    {
        let mut f = std::fs::OpenOptions::new().append(true).open(&events).unwrap();
        let mut junk = Vec::with_capacity(JUNK_LINES * 5);
        for _ in 0..JUNK_LINES {
            junk.extend_from_slice(b"junk\n");
        }
        f.write_all(&junk).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = pack(&fx, dir.path(), "thrum-fixture.tar.zst", "manifest.json", 13);
    assert!(std::fs::metadata(&archive).unwrap().len() < 1 << 20, "compressed, the junk is small");
    drop(fx);

    let r = bounded(&["replay", archive.to_str().unwrap(), "--json", "--no-parquet"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.peak_kib < 256 * 1024, "peak RSS {} KiB", r.peak_kib);
    assert!(r.elapsed < Duration::from_secs(120));
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["finding_counts"]["jsonl_unparsable"], json!(JUNK_LINES));
    assert_eq!(report["errors"], json!(JUNK_LINES), "{}", report["finding_counts"]);
    assert_eq!(report["exit_code"], json!(1));
    // the first 20 (--max-diffs' default) are listed, in line order; the rest counted
    let listed: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "jsonl_unparsable")
        .map(|f| (f["file"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(String, u64)> = (0..20).map(|i| (".thrum/events.jsonl".to_string(), first_junk + i)).collect();
    assert_eq!(listed, expected);
    assert_eq!(report["findings_omitted"], json!(JUNK_LINES - 20));
}

#[test]
fn creates_in_the_wrong_shard_are_listed_up_to_the_ceiling_and_counted_exactly() {
    // messages by alice, each created once, in bob's shard
    let ceiling = verify::findings::LIST_CEILING;
    let n = ceiling + 2_500;
    let mut b = standard_events();
    let first = b.events.iter().filter(|e| e.file == "messages/bob.jsonl").count() as u64 + 1;
    let ids: Vec<String> = (0..n)
        .map(|i| {
            let body = json!({"format": "markdown", "content": "misplaced"});
            let payload = json!({"message_id": msg_id(1000 + i as u128), "agent_id": "alice", "session_id": ses_id(1), "body": body});
            b.ev("messages/bob.jsonl", "message.create", payload)
        })
        .collect();
    let fx = build_from(b);
    let r = bounded(&["replay", fx.root.to_str().unwrap(), "--no-manifest", "--json", "--max-diffs", "0"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.peak_kib < 256 * 1024, "peak RSS {} KiB", r.peak_kib);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["finding_counts"]["shard_mismatch"], json!(n), "{}", report["finding_counts"]);
    let listed: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == "shard_mismatch").collect();
    let places: Vec<(&str, u64)> = listed.iter().map(|f| (f["file"].as_str().unwrap(), f["line"].as_u64().unwrap())).collect();
    let expected: Vec<(&str, u64)> = (0..ceiling as u64).map(|i| (".thrum/messages/bob.jsonl", first + i)).collect();
    assert_eq!(places, expected, "the first {ceiling}, in line order");
    // each names its message, its authors' shard and its event id (read back)
    for (i, f) in [(0, listed[0]), (ceiling - 1, listed[ceiling - 1])] {
        let mid = msg_id(1000 + i as u128);
        assert_eq!(f["message"], json!(format!("message {mid} is authored by alice, but the event is in shard bob")), "{f}");
        assert_eq!(f["key"], json!(format!("event_id={}", ids[i])), "{f}");
    }
}

#[test]
fn a_mesh_json_with_300000_daemons_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let daemons: Vec<Value> = (1..=300_000u32)
        .map(|k| json!({"index": k, "hostname": format!("h{k}"), "daemon_id": format!("d_{k:012}"), "dir": format!("daemon-{k}")}))
        .collect();
    let spec = json!({"kind": "mesh", "scenario": "converged", "daemons": daemons, "conflicts": []});
    std::fs::write(dir.path().join("mesh.json"), serde_json::to_vec(&spec).unwrap()).unwrap();
    let r = bounded(&["mesh", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("mesh.json: 300000 daemon(s); a mesh has 2 to 64"), "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(30), "{:?}", r.elapsed);

    // within the range, a repeated id is still found (by a set, not by pairs)
    let mut daemons: Vec<Value> = daemons.into_iter().take(64).collect();
    daemons[63]["daemon_id"] = daemons[10]["daemon_id"].clone();
    let spec = json!({"kind": "mesh", "scenario": "converged", "daemons": daemons, "conflicts": []});
    std::fs::write(dir.path().join("mesh.json"), serde_json::to_vec(&spec).unwrap()).unwrap();
    let e = verify::mesh::read_spec(dir.path()).unwrap_err().to_string();
    assert!(e.ends_with("mesh.json: daemon 64: its daemon_id or dir is another daemon's"), "{e}");
}

fn verify(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_verify")).args(args).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn count_arguments_out_of_their_range_are_refused_before_any_work() {
    let fx = crate::checked_in_copy::fixtures();
    let fx = fx.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["bench", fx, "--runs", "0"], "invalid value '0' for '--runs <N>': 0 is not in 1..=1000"),
        (&["bench", fx, "--runs", "1001"], "1001 is not in 1..=1000"),
        (&["bench", fx, "--runs", "4000000000"], "invalid value '4000000000' for '--runs <N>'"),
        (&["bench", fx, "--runs", "18446744073709551615"], "invalid value '18446744073709551615' for '--runs <N>'"),
        (&["replay", fx, "--max-diffs", "10001"], "10001 is not in 0..=10000"),
        (&["mesh", fx, "--max-diffs", "99999999999"], "invalid value '99999999999' for '--max-diffs <N>'"),
    ];
    for (args, what) in cases {
        let (code, out, err) = verify(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(what), "{args:?}: expected {what:?} in {err}");
        assert!(out.is_empty(), "{args:?}: nothing is run: {out}");
    }
    // the help states each range
    let words = |cmd: &str| verify(&[cmd, "--help"]).1.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words("bench").contains("Timed runs (after one warm-up run), 1 to 1000"), "{}", words("bench"));
    for cmd in ["replay", "migrate", "mesh"] {
        let help = words(cmd);
        assert!(help.contains("Findings listed in detail per kind and table, 0 to 10000"), "{cmd}: {help}");
    }
}

#[test]
fn per_event_findings_are_listed_up_to_the_ceiling_and_counted_exactly() {
    // one event repeated: each copy is a duplicate event id (line checks)
    // and a duplicate sequence (sequence checks)
    const COPIES: usize = 25_000;
    let fx = build();
    let lines = fx.lines("events.jsonl");
    let first_copy = lines.len() as u64 + 1;
    let mut all = lines.clone();
    all.extend(std::iter::repeat_n(lines[0].clone(), COPIES));
    fx.write_lines("events.jsonl", &all);
    let r = bounded(&["replay", fx.root.to_str().unwrap(), "--no-manifest", "--json", "--max-diffs", "0"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let ceiling = verify::findings::LIST_CEILING;
    for kind in ["event_id_duplicate", "sequence_duplicate"] {
        assert_eq!(report["finding_counts"][kind], json!(COPIES), "{kind}");
        let listed: Vec<u64> =
            report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == kind).map(|f| f["line"].as_u64().unwrap()).collect();
        let expected: Vec<u64> = (0..ceiling as u64).map(|i| first_copy + i).collect();
        assert_eq!(listed, expected, "{kind}: the first {ceiling}, in line order");
    }
}
