//! `--profile resilience`: the fixture of Thrum's own resilience suite
//! (`tests/resilience/` in the Thrum repository; docs/RESILIENCE-SUITE.md
//! lists what it assumes). The command of the issue writes
//! `thrum-fixture.tar.gz`, read back here with a plain gzip + tar reader as
//! the suite's `extractTarGz` reads it (not with our extractor): the agent
//! names and roles of its `fixtureAgentName(i)`, the counts it asserts, what
//! its RPC and CLI calls need; `verify replay` proves it consistent; two
//! runs give the same bytes.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The suite's `fixtureRoles`.
const ROLES: [&str; 5] = ["coordinator", "implementer", "reviewer", "planner", "tester"];

/// The suite's `fixtureAgentName(i)`: `fmt.Sprintf("%s_%04d", roles[i%5], i)`.
fn fixture_agent_name(i: usize) -> String {
    format!("{}_{i:04}", ROLES[i % 5])
}

/// Runs `testgen --profile resilience --compression gzip ARGS --out OUT`.
fn drop_in(out: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args(["--quiet", "--profile", "resilience", "--compression", "gzip"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// The suite's testdata directory inside a fresh temporary "repository".
fn testdata(tmp: &Path, name: &str) -> PathBuf {
    let dir = tmp.join(name).join("tests/resilience/testdata");
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    dir
}

/// One entry of the archive, as a plain tar reader sees it.
struct Entry {
    kind: tar::EntryType,
    mode: u32,
    data: Vec<u8>,
}

/// Every entry of a .tar.gz by path, read with flate2 + tar only.
fn read_tar_gz(path: &Path) -> BTreeMap<String, Entry> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let (kind, mode) = (e.header().entry_type(), e.header().mode().unwrap());
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        assert!(
            out.insert(name.clone(), Entry { kind, mode, data }).is_none(),
            "{name} twice in the archive"
        );
    }
    out
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Types of the JSON lines of one JSONL file.
fn line_types(bytes: &[u8]) -> Vec<serde_json::Value> {
    bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(json).collect()
}

#[test]
fn the_drop_in_archive_holds_what_the_suite_expects() {
    let tmp = tempfile::tempdir().unwrap();
    let out = testdata(tmp.path(), "repo");
    // the command, verbatim but for --quiet
    let r = drop_in(&out, &[]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // fixture_test.go: fixturePath = "testdata/thrum-fixture.tar.gz"
    let archive = out.join("thrum-fixture.tar.gz");
    let entries = read_tar_gz(&archive);

    // extractTarGz writes TypeDir and TypeReg entries below the temporary
    // directory and uses its .thrum; anything else would be skipped
    for (name, e) in &entries {
        assert!(name == ".thrum/" || name.starts_with(".thrum/"), "{name} outside .thrum/");
        assert!(
            matches!(e.kind, tar::EntryType::Directory | tar::EntryType::Regular),
            "{name}: {:?}",
            e.kind
        );
        // files are opened with the header's mode and later written by the
        // daemon (database, JSONL) and the tests (an appended line)
        if e.kind == tar::EntryType::Regular {
            assert_eq!(e.mode & 0o600, 0o600, "{name}: mode {:o}", e.mode);
        }
    }
    let file = |p: &str| {
        &entries.get(&format!(".thrum/{p}")).unwrap_or_else(|| panic!(".thrum/{p} missing")).data
    };
    for absent in ["var/messages.db-wal", "var/messages.db-shm"] {
        assert!(!entries.contains_key(&format!(".thrum/{absent}")), "{absent}");
    }

    // identities/{name}.json and context/{name}.md for fixtureAgentName(0..49), nothing else
    let names: Vec<String> = (0..50).map(fixture_agent_name).collect();
    let under = |dir: &str, ext: &str| -> BTreeSet<String> {
        entries
            .keys()
            .filter_map(|k| k.strip_prefix(&format!(".thrum/{dir}/")))
            .filter_map(|f| f.strip_suffix(ext))
            .map(str::to_string)
            .collect()
    };
    let all: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(under("identities", ".json"), all);
    assert_eq!(under("context", ".md"), all);
    let mut modules = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let id = json(file(&format!("identities/{name}.json")));
        assert_eq!(id["agent"]["Name"], name.as_str(), "{name}");
        assert_eq!(id["agent"]["Kind"], "agent", "{name}");
        assert_eq!(id["agent"]["Role"], ROLES[i % 5], "{name}");
        assert_eq!(id["context_file"], format!("context/{name}.md"), "{name}");
        assert!(!file(&format!("context/{name}.md")).is_empty(), "{name}");
        modules.insert(id["agent"]["Module"].as_str().unwrap().to_string());
    }
    assert_eq!(modules.len(), 8, "modules {modules:?}");

    // recovery_test.go rebuilds from events.jsonl and messages/*.jsonl
    // (syncDir = the .thrum directory) and expects the counts of the
    // database: 50 registered agents, 10,000 created messages
    let registered: BTreeSet<String> = line_types(file("events.jsonl"))
        .iter()
        .filter(|l| l["type"] == "agent.register")
        .map(|l| l["agent_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(registered, all);
    let shards: Vec<&String> = entries
        .keys()
        .filter(|k| k.starts_with(".thrum/messages/") && k.ends_with(".jsonl"))
        .collect();
    assert!(!shards.is_empty(), "recovery_test.go appends a line to the first file of messages/");
    let created: usize = shards
        .iter()
        .map(|k| {
            line_types(&entries[*k].data).iter().filter(|l| l["type"] == "message.create").count()
        })
        .sum();
    assert_eq!(created, 10_000);

    // var/messages.db: what rpc_direct_test.go and the RPC/CLI calls ask of it
    let db_path = tmp.path().join("messages.db");
    std::fs::write(&db_path, file("var/messages.db")).unwrap();
    let db = rusqlite::Connection::open(&db_path).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM agents"), 50);
    assert_eq!(count("SELECT COUNT(*) FROM messages"), 10_000);
    assert_eq!(count("SELECT COUNT(*) FROM sessions"), 100);
    assert_eq!(count("SELECT COUNT(*) FROM groups"), 20);
    assert!(count("SELECT COUNT(*) FROM message_reads") > 0);
    assert_eq!(count("SELECT COUNT(*) FROM groups WHERE name = 'coordinators'"), 1);
    let mut st = db.prepare("SELECT agent_id, kind, role FROM agents ORDER BY agent_id").unwrap();
    let rows: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut expected: Vec<(String, String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), "agent".to_string(), ROLES[i % 5].to_string()))
        .collect();
    expected.sort();
    assert_eq!(rows, expected);
    // message.send resolves the caller's running session (coordinator_0000
    // and implementer_0001 send without session.start): every agent has
    // exactly one; team.list (agents with one) shows the 5 roles
    let mut st = db
        .prepare("SELECT agent_id, COUNT(*) FROM sessions WHERE ended_at IS NULL GROUP BY agent_id")
        .unwrap();
    let active: BTreeMap<String, i64> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(active, names.iter().map(|n| (n.clone(), 1)).collect::<BTreeMap<_, _>>());
    assert_eq!(
        count(
            "SELECT COUNT(DISTINCT a.role) FROM agents a JOIN sessions s ON s.agent_id = \
        a.agent_id WHERE s.ended_at IS NULL"
        ),
        5
    );

    // verify replay: exit 0 (the manifest and SHA256SUMS beside the archive)
    let report = verify::verify_path(&archive, &verify::Options::default()).expect("usable");
    assert_eq!(report.verdict().exit_code, 0, "{}", report.render_text());
    assert!(report.consistent && report.errors == 0, "{}", report.render_text());
}

#[test]
fn the_drop_in_is_byte_reproducible_and_replaces_only_its_own_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (testdata(tmp.path(), "a"), testdata(tmp.path(), "b"));
    let r = drop_in(&a, &["--jobs", "1"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = drop_in(&b, &["--jobs", "2"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let (fa, fb) = (read_all(&a), read_all(&b));
    assert_eq!(
        thrum_io::hash::sha256_hex(&fa["thrum-fixture.tar.gz"]),
        thrum_io::hash::sha256_hex(&fb["thrum-fixture.tar.gz"]),
        "two runs, two archives"
    );
    assert!(fa == fb, "two runs wrote different outputs");
    let m = json(&fa["manifest.json"]);
    assert_eq!(
        (m["profile"].as_str(), m["archive"]["path"].as_str()),
        (Some("resilience"), Some("thrum-fixture.tar.gz"))
    );

    // the old generator's archive in testdata/ is not testgen's: refused
    // until it is removed (once), as the document says
    let old = testdata(tmp.path(), "old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("thrum-fixture.tar.gz"), b"written by another generator").unwrap();
    let r = drop_in(&old, &["--no-v5"]);
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("thrum-fixture.tar.gz"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(
        std::fs::read(old.join("thrum-fixture.tar.gz")).unwrap(),
        b"written by another generator"
    );
    std::fs::remove_file(old.join("thrum-fixture.tar.gz")).unwrap();
    // the recommended line (--no-v5): the same archive, no v5 files; run
    // again, it replaces its own output
    for _ in 0..2 {
        let r = drop_in(&old, &["--no-v5"]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let f = read_all(&old);
    assert!(f["thrum-fixture.tar.gz"] == fa["thrum-fixture.tar.gz"], "--no-v5 changed the archive");
    assert!(!f.contains_key("thrum-fixture-v5.tar.gz") && !f.contains_key("manifest-v5.json"));
    assert!(
        fa.contains_key("thrum-fixture-v5.tar.gz"),
        "without --no-v5 the v5 fixture is written"
    );
}
