//! Counts with ranges and structures built in linear time: out-of-range
//! counts are refused by the argument parser at once (each range stated in
//! the help), a mesh.json of 300,000 daemons is refused or checked quickly,
//! and a shard set that names a file or a slice twice is refused. Counts
//! from the input stay bounded: millions of findings are listed up to a
//! ceiling and counted exactly, in bounded memory.

use super::base::{base, copy};
use super::lab::{step, step_report, Bin, Expect, Lab, Row};
use crate::common::{build, build_from, msg_id, pack, ses_id, standard_events};
use serde_json::{json, Value};
use std::io::Write as _;
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
        // clap names the flag, or a negative number as an unexpected argument
        let says = [if runs == "-1" { "'-1'" } else { "--runs" }];
        all.push(step(
            &lab,
            CLASS,
            &case,
            Bin::Verify,
            &args!["bench", "o/thrum-fixture.tar.zst", "--runs", runs],
            refused(&says),
        ));
        let case = format!("testgen bench --runs {runs}");
        all.push(step(
            &lab,
            CLASS,
            &case,
            Bin::Testgen,
            &args!["bench", "--profile", "small", "--runs", runs],
            refused(&says),
        ));
    }
    let exact: &[(&[&str], &str)] = &[
        (
            &["bench", "o", "--runs", "0"],
            "invalid value '0' for '--runs <N>': 0 is not in 1..=1000",
        ),
        (&["bench", "o", "--runs", "1001"], "1001 is not in 1..=1000"),
        (&["bench", "o", "--runs", "4000000000"], "invalid value '4000000000' for '--runs <N>'"),
        (
            &["bench", "o", "--runs", "18446744073709551615"],
            "invalid value '18446744073709551615' for '--runs <N>'",
        ),
        (&["replay", "o", "--max-diffs", "10001"], "10001 is not in 0..=10000"),
        (
            &["mesh", "o", "--max-diffs", "99999999999"],
            "invalid value '99999999999' for '--max-diffs <N>'",
        ),
    ];
    for (a, what) in exact {
        let case = format!("verify {}", a.join(" "));
        let args: Vec<std::ffi::OsString> = a.iter().map(Into::into).collect();
        let nothing_run =
            |out: &str| if out.is_empty() { Ok(()) } else { Err(format!("something ran: {out}")) };
        all.push(step_report(
            &lab,
            CLASS,
            &case,
            Bin::Verify,
            &args,
            refused(&[what]),
            nothing_run,
        ));
    }
    // the help states each range (its words, whatever the wrapping)
    let states = |text: &'static str| {
        move |out: &str| {
            let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
            if words.contains(text) {
                Ok(())
            } else {
                Err(format!("the help does not say {text:?}: {words}"))
            }
        }
    };
    let ok = || Expect { code: 0, says: &[], dest: None };
    let runs = states("Timed runs (after one warm-up run), 1 to 1000");
    all.push(step_report(
        &lab,
        CLASS,
        "verify bench --help",
        Bin::Verify,
        &args!["bench", "--help"],
        ok(),
        runs,
    ));
    for cmd in ["replay", "migrate", "mesh"] {
        let diffs = states("Findings listed in detail per kind and table, 0 to 10000");
        let case = format!("verify {cmd} --help");
        all.push(step_report(&lab, CLASS, &case, Bin::Verify, &args![cmd, "--help"], ok(), diffs));
    }
    for (flag, v) in [("--jobs", "0"), ("--jobs", "100000"), ("--messages", "18446744073709551615")]
    {
        let case = format!("testgen {flag} {v}");
        all.push(step(
            &lab,
            CLASS,
            &case,
            Bin::Testgen,
            &args![flag, v, "--out", "g"],
            refused(&[flag]),
        ));
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
        refused(&["'-1'"]),
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
    let says = ["mesh.json: 300000 daemon(s); a mesh has 2 to 64"];
    let r = step(
        &lab,
        CLASS,
        "verify mesh: a mesh.json of 300,000 daemons",
        Bin::Verify,
        &args!["mesh", "mesh"],
        refused(&says),
    );
    all.push(r.and_then(|row| {
        if row.wall < Duration::from_secs(10) {
            Ok(row)
        } else {
            Err(format!(
                "[{CLASS}] verify mesh of 300,000 daemons took {:?} (linear work expected)",
                row.wall
            ))
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

#[test]
fn findings_are_listed_up_to_a_ceiling_and_counted_exactly() {
    let mut all = Vec::new();
    junk_lines(&mut all);
    creates_in_the_wrong_shard(&mut all);
    per_event_findings(&mut all);
    super::finish(CLASS, all);
}

/// `Ok` when `got == want`, else the complaint naming `what`.
fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got:?}, expected {want:?}"))
    }
}

/// The JSON report on stdout.
fn report(out: &str) -> Result<Value, String> {
    serde_json::from_str(out).map_err(|e| format!("stdout is no JSON report ({e}): {out}"))
}

/// (file, line) of every listed finding of `kind`, in report order.
fn places(r: &Value, kind: &str) -> Vec<(String, u64)> {
    let all = r["findings"].as_array().map(Vec::as_slice).unwrap_or_default();
    all.iter()
        .filter(|f| f["kind"] == kind)
        .map(|f| (f["file"].as_str().unwrap_or("").to_string(), f["line"].as_u64().unwrap_or(0)))
        .collect()
}

const JUNK_LINES: usize = 3_000_000;

/// Millions of junk lines in a small archive: counted exactly, the first
/// 20 (`--max-diffs`' default) listed in line order, the rest counted.
fn junk_lines(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    let fx = build();
    let first_junk = fx.lines("events.jsonl").len() as u64 + 1;
    let mut f = std::fs::OpenOptions::new().append(true).open(fx.file("events.jsonl")).unwrap();
    f.write_all(&b"junk\n".repeat(JUNK_LINES)).unwrap();
    drop(f);
    std::fs::create_dir(lab.at("j")).unwrap();
    let archive = pack(&fx, &lab.at("j"), "thrum-fixture.tar.zst", "manifest.json", 13);
    assert!(std::fs::metadata(&archive).unwrap().len() < 1 << 20, "compressed, the junk is small");
    let check = |out: &str| {
        let r = report(out)?;
        same("jsonl_unparsable", &r["finding_counts"]["jsonl_unparsable"], &json!(JUNK_LINES))?;
        same("errors", &r["errors"], &json!(JUNK_LINES))?;
        same("exit_code", &r["exit_code"], &json!(1))?;
        let want: Vec<(String, u64)> =
            (0..20).map(|i| (".thrum/events.jsonl".to_string(), first_junk + i)).collect();
        same("listed", places(&r, "jsonl_unparsable"), want)?;
        same("findings_omitted", &r["findings_omitted"], &json!(JUNK_LINES - 20))
    };
    let args = args!["replay", "j/thrum-fixture.tar.zst", "--json", "--no-parquet"];
    all.push(step_report(
        &lab,
        CLASS,
        "3,000,000 junk lines",
        Bin::Verify,
        &args,
        Expect { code: 1, says: &[], dest: None },
        check,
    ));
}

/// Messages created in another author's shard, past the listing ceiling:
/// the first ceiling listed in line order, each naming its message, shard
/// and event id; all counted.
fn creates_in_the_wrong_shard(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    let ceiling = verify::LIST_CEILING;
    let n = ceiling + 2_500;
    let mut b = standard_events();
    let first = b.events.iter().filter(|e| e.file == "messages/bob.jsonl").count() as u64 + 1;
    let ids: Vec<String> = (0..n)
        .map(|i| {
            let body = json!({"format": "markdown", "content": "misplaced"});
            let payload = json!({
                "message_id": msg_id(1000 + i as u128), "agent_id": "alice",
                "session_id": ses_id(1), "body": body
            });
            b.ev("messages/bob.jsonl", "message.create", payload)
        })
        .collect();
    let fx = build_from(b);
    copy(&fx.root, &lab.at("w"));
    let check = |out: &str| {
        let r = report(out)?;
        same("shard_mismatch", &r["finding_counts"]["shard_mismatch"], &json!(n))?;
        let want: Vec<(String, u64)> = (0..ceiling as u64)
            .map(|i| (".thrum/messages/bob.jsonl".to_string(), first + i))
            .collect();
        same("listed", places(&r, "shard_mismatch"), want)?;
        let listed: Vec<&Value> = r["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["kind"] == "shard_mismatch")
            .collect();
        for i in [0, ceiling - 1] {
            let mid = msg_id(1000 + i as u128);
            let said = format!("message {mid} is authored by alice, but the event is in shard bob");
            same("message", &listed[i]["message"], &json!(said))?;
            same("key", &listed[i]["key"], &json!(format!("event_id={}", ids[i])))?;
        }
        Ok(())
    };
    let args = args!["replay", "w", "--no-manifest", "--json", "--max-diffs", "0"];
    let want = Expect { code: 1, says: &[], dest: None };
    all.push(step_report(
        &lab,
        CLASS,
        "creates in the wrong shard past the ceiling",
        Bin::Verify,
        &args,
        want,
        check,
    ));
}

/// One event repeated 25,000 times: each copy a duplicate event id and a
/// duplicate sequence, the first ceiling of each listed in line order.
fn per_event_findings(all: &mut Vec<Result<Row, String>>) {
    const COPIES: usize = 25_000;
    let lab = Lab::new();
    let fx = build();
    let lines = fx.lines("events.jsonl");
    let first_copy = lines.len() as u64 + 1;
    let mut every = lines.clone();
    every.extend(std::iter::repeat_n(lines[0].clone(), COPIES));
    fx.write_lines("events.jsonl", &every);
    copy(&fx.root, &lab.at("w"));
    let check = |out: &str| {
        let r = report(out)?;
        let ceiling = verify::LIST_CEILING as u64;
        for kind in ["event_id_duplicate", "sequence_duplicate"] {
            same(kind, &r["finding_counts"][kind], &json!(COPIES))?;
            let want: Vec<(String, u64)> =
                (0..ceiling).map(|i| (".thrum/events.jsonl".to_string(), first_copy + i)).collect();
            same(kind, places(&r, kind), want)?;
        }
        Ok(())
    };
    let args = args!["replay", "w", "--no-manifest", "--json", "--max-diffs", "0"];
    let want = Expect { code: 1, says: &[], dest: None };
    all.push(step_report(
        &lab,
        CLASS,
        "one event repeated 25,000 times",
        Bin::Verify,
        &args,
        want,
        check,
    ));
}
