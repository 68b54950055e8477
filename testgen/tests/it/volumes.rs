//! Volumes on the command line: a volume beyond its limit is refused at
//! once (exit 2, the volume, its limit and why, nothing written); any other
//! is produced exactly, and the manifest says what the database holds.

use crate::common::grouped;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use thrum_gen::{
    MAX_AGENTS, MAX_DAYS, MAX_EVENTS, MAX_MESSAGES, MAX_SUBSCRIPTIONS,
    MAX_UPDATES_PER_ACTIVE_SESSION,
};

/// Runs testgen with `args`; a run still going after a minute is killed and
/// fails the test (a refusal must not loop).
fn testgen(args: &[&str], out: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args(args)
        .args(["--quiet", "--no-v5", "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("testgen {args:?} still running after a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn refused(args: &[&str], message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fx");
    let o = testgen(args, &out);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("testgen: error: {message}\n"),
        "{args:?}"
    );
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{args:?} left something behind");
}

#[test]
fn sessions_beyond_what_the_agents_hold_are_refused_at_once() {
    refused(
        &["--profile", "small", "--sessions", "100"],
        "--sessions 100 is more than the small profile's 12 agents can hold: at most \
            active-sessions + 6 × agents = 82; lower --sessions or raise --agents",
    );
    refused(
        &["--profile", "small", "--agents", "4", "--sessions", "40"],
        "--sessions 40 is more than 4 agents can hold: at most active-sessions + 6 × agents = 27; \
            lower --sessions or raise --agents",
    );
}

#[test]
fn events_beyond_the_cap_are_refused_at_once() {
    refused(
        &["--events", "4294967295"],
        "--events 4294967295 is more than this tool generates (see --help): at most 200000; lower \
            --events",
    );
    refused(
        &["--events", "99999999999999"],
        "--events 99999999999999 is more than this tool generates (see --help): at most 200000; \
            lower --events",
    );
    refused(
        &["--profile", "small", "--active-sessions", "1", "--events", "20000"],
        "--events 20000 is more than 1 active sessions can hold: at most 119 other events + 10000 \
            agent.update per active session × 1 = 10119; lower --events or raise --active-sessions",
    );
}

#[test]
fn subscriptions_beyond_the_sessions_are_refused() {
    refused(
        &["--subscriptions", "1000000"],
        "--subscriptions 1000000 is more than the default profile's 100 sessions can hold: at \
            most 24 distinct subscriptions per session (its module, each of the 20 groups, its \
            role, its name, everything) × 100 = 2400; lower --subscriptions or raise --sessions",
    );
}

#[test]
fn other_caps_are_refused_with_the_flag_that_lowers_them() {
    refused(
        &["--agents", "20000"],
        "--agents 20000 is more than this tool generates (see \
        --help): at most 10000; lower --agents",
    );
    refused(
        &["--messages", "0"],
        "--messages 0 is fewer than a fixture needs: at least 1; raise --messages",
    );
    refused(&["--days", "0"], "--days 0 is fewer than a fixture needs: at least 1; raise --days");
    refused(
        &["--active-sessions", "51"],
        "--active-sessions 51 is more than the default \
        profile's 50 agents can hold: at most one per agent = 50; lower --active-sessions or \
        raise --agents",
    );
}

fn count(db: &rusqlite::Connection, sql: &str) -> u64 {
    db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

/// Generates with `args` and checks the manifest against the database and
/// the JSONL files of the tree; returns the database.
fn generate_and_compare(dir: &Path, args: &[&str], name: &str) -> rusqlite::Connection {
    let out = dir.join("fx");
    let tree = dir.join("tree");
    let mut all = args.to_vec();
    all.extend(["--tree", tree.to_str().unwrap()]);
    let o = testgen(&all, &out);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["profile"], name);
    let db = rusqlite::Connection::open(tree.join(".thrum/var/messages.db")).unwrap();
    let tables = manifest["counts"]["tables"].as_object().unwrap();
    assert!(tables.len() > 10);
    for (table, n) in tables {
        assert_eq!(
            Some(count(&db, &format!("SELECT count(*) FROM {table}"))),
            n.as_u64(),
            "{args:?}: table {table}"
        );
    }
    for (file, n) in manifest["counts"]["files"].as_object().unwrap() {
        let text = std::fs::read_to_string(tree.join(file)).unwrap();
        assert_eq!(Some(text.lines().count() as u64), n.as_u64(), "{args:?}: {file}");
    }
    db
}

#[test]
fn the_manifest_records_exactly_what_was_produced() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--profile",
        "small",
        "--agents",
        "9",
        "--sessions",
        "40",
        "--active-sessions",
        "4",
        "--events",
        "700",
        "--subscriptions",
        "500",
        "--messages",
        "777",
        "--days",
        "3",
    ];
    let db = generate_and_compare(
        dir.path(),
        &args,
        "small+agents=9,messages=777,sessions=40,active_sessions=4,events=700,subscriptions=500,\
            days=3",
    );
    assert_eq!(count(&db, "SELECT count(*) FROM agents"), 9);
    assert_eq!(count(&db, "SELECT count(*) FROM sessions"), 40);
    assert_eq!(count(&db, "SELECT count(*) FROM sessions WHERE ended_at IS NULL"), 4);
    assert_eq!(count(&db, "SELECT count(*) FROM subscriptions"), 500);
    assert_eq!(count(&db, "SELECT count(*) FROM messages"), 777);
    let events = std::fs::read_to_string(dir.path().join("tree/.thrum/events.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 700);

    // every shape of every session: the most subscriptions there are, all made
    let dir = tempfile::tempdir().unwrap();
    let db = generate_and_compare(
        dir.path(),
        &["--profile", "small", "--subscriptions", "576"],
        "small+subscriptions=576",
    );
    assert_eq!(count(&db, "SELECT count(*) FROM subscriptions"), 576);
}

#[test]
fn help_states_the_caps() {
    let o = Command::new(env!("CARGO_BIN_EXE_testgen")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    for cap in [
        MAX_AGENTS,
        MAX_MESSAGES,
        MAX_EVENTS,
        MAX_UPDATES_PER_ACTIVE_SESSION as u64,
        MAX_SUBSCRIPTIONS,
        MAX_DAYS,
    ] {
        assert!(help.contains(&grouped(cap)), "--help does not state {}", grouped(cap));
    }
    for rule in ["active-sessions + 6 × agents", "at most 24 per session", "1 to one per agent"] {
        assert!(help.contains(rule), "--help does not state {rule:?}");
    }
}
