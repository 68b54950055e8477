//! Counts with ranges and structures built in linear time: out-of-range
//! counts are refused by the argument parser at once, a mesh.json of
//! 300,000 daemons is refused or checked quickly, and a shard set that
//! names a file or a slice twice is refused.

use super::base::{base, copy};
use super::lab::{step, Bin, Expect, Lab, Row};
use std::time::Duration;

const CLASS: &str = "counts";

fn refused<'a>(says: &'a [&'a str]) -> Expect<'a> {
    Expect { code: 2, says, dest: None }
}

fn run_counts(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    copy(&base().v13, &lab.at("o"));
    for runs in ["18446744073709551615", "4000000000", "0", "-1", "1001"] {
        let case = format!("verify bench --runs {runs}");
        all.push(step(&lab, CLASS, &case, Bin::Verify, &args!["bench", "o/thrum-fixture.tar.zst", "--runs", runs], refused(&["--runs"])));
        let case = format!("testgen bench --runs {runs}");
        all.push(step(&lab, CLASS, &case, Bin::Testgen, &args!["bench", "--profile", "small", "--runs", runs], refused(&["--runs"])));
    }
    for (flag, v) in [("--jobs", "0"), ("--jobs", "100000"), ("--messages", "18446744073709551615")] {
        let case = format!("testgen {flag} {v}");
        all.push(step(&lab, CLASS, &case, Bin::Testgen, &args![flag, v, "--out", "g"], refused(&[flag])));
    }
    all.push(step(
        &lab,
        CLASS,
        "testgen mesh --daemons 0",
        Bin::Testgen,
        &args!["mesh", "--daemons", "0", "--out", "m"],
        refused(&["--daemons"]),
    ));
    all.push(step(
        &lab,
        CLASS,
        "verify replay --max-diffs -1",
        Bin::Verify,
        &args!["replay", "o", "--max-diffs", "-1"],
        refused(&["--max-diffs"]),
    ));
}

fn mesh_of_300000(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    let mut daemons = Vec::with_capacity(300_000);
    for i in 1..=300_000u32 {
        daemons.push(serde_json::json!({
            "index": i, "hostname": format!("h{i}"), "daemon_id": format!("d_{i:012}"),
            "dir": format!("daemon-{i}"), "archive": format!("daemon-{i}/thrum-fixture.tar.zst"),
        }));
    }
    let doc = serde_json::json!({
        "generator": "testgen 0.1.0", "kind": "mesh", "seed": 7, "profile": "small",
        "scenario": "converged", "daemons": daemons, "conflicts": [],
    });
    std::fs::create_dir(lab.at("mesh")).unwrap();
    std::fs::write(lab.at("mesh/mesh.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
    let r = step(&lab, CLASS, "verify mesh: a mesh.json of 300,000 daemons", Bin::Verify, &args!["mesh", "mesh"], refused(&["mesh.json"]));
    all.push(r.and_then(|row| {
        if row.wall < Duration::from_secs(10) {
            Ok(row)
        } else {
            Err(format!("[{CLASS}] verify mesh of 300,000 daemons took {:?} (linear work expected)", row.wall))
        }
    }));
}

fn shard_sets(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    copy(&base().shards[0], &lab.at("s0"));
    copy(&base().shards[1], &lab.at("s1"));
    all.push(step(
        &lab,
        CLASS,
        "merge: a slice given twice",
        Bin::Testgen,
        &args!["merge", "--out", "m", "s0", "s0", "s1"],
        refused(&["s0"]),
    ));
    let lab = Lab::new();
    copy(&base().shards[0], &lab.at("s0"));
    copy(&base().shards[1], &lab.at("s1"));
    let dir = lab.at("s1/shards");
    let man = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&man).unwrap()).unwrap();
    let files = doc["files"].as_array_mut().unwrap();
    let first = files[0].clone();
    files.push(first);
    std::fs::write(&man, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    all.push(step(
        &lab,
        CLASS,
        "merge: a shard manifest lists one file twice",
        Bin::Testgen,
        &args!["merge", "--out", "m", "s0", "s1"],
        refused(&["twice"]),
    ));
}

#[test]
fn counts_have_ranges_and_input_structures_are_linear() {
    let mut all = Vec::new();
    run_counts(&mut all);
    mesh_of_300000(&mut all);
    shard_sets(&mut all);
    super::finish(CLASS, all);
}
