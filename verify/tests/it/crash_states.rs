//! Every crash state of `testgen crash`, end to end: the `verify` binary
//! names it by its finding kind, at the line (or file) the state's record
//! names, with the recovery facts (what the restarting daemon does, what a
//! rebuild recovers, what is lost), exits with the catalogue's code, and
//! leaves every input byte as it was (the WAL included).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use testgen::crash::{self, CrashApplied, CrashOptions, State, STATES};
use thrum_gen::Profile;

/// One small fixture for every test of this file, in a directory of this
/// process (see `chaos.rs`).
fn base() -> &'static Path {
    static BASE: OnceLock<(PathBuf, thrum_io::cleanup::TempDir)> = OnceLock::new();
    let (archive, _) = BASE.get_or_init(|| {
        let dir = crate::common::scratch("crash-base-");
        let out = dir.path().join("fx");
        let mut opts = testgen::Options::new(&out);
        opts.profile = Profile::small();
        opts.v5 = false;
        testgen::generate(&opts).unwrap();
        (out.join(testgen::ARCHIVE), dir)
    });
    archive
}

fn run_verify(path: &Path) -> (i32, Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(["replay", "--json", "--max-diffs", "0"])
        .arg(path)
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), serde_json::from_slice(&o.stdout).unwrap_or(Value::Null))
}

/// Every file below `dir`: relative path -> bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(
                    e.path().strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                );
            }
        }
    }
    out
}

fn state(dir: &Path, s: State, events: u64) -> CrashApplied {
    let o = CrashOptions { state: s, seed: 4, events, limits: Default::default(), pack: None };
    crash::crash(base(), dir, &o).unwrap()
}

fn of_kind<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == kind).collect()
}

#[test]
fn verify_names_every_state_with_its_recovery_and_leaves_the_input_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    for info in STATES {
        let dir = tmp.path().join(info.name);
        let a = state(&dir, info.state, 2);
        let before = files(&dir);
        let (code, report) = run_verify(&dir);
        assert_eq!(files(&dir), before, "{}: verify changed its input", info.name);
        assert_eq!(code, i32::from(info.exit_code), "{}: {report}", info.name);
        let found = of_kind(&report, info.finding);
        assert_eq!(found.len(), 1, "{}: {report}", info.name);
        let f = found[0];
        let msg = f["message"].as_str().unwrap();
        let severity = match info.exit_code {
            _ if info.state == State::BeforeAppend => "warning",
            0 => "info",
            _ => "error",
        };
        assert_eq!(f["severity"], severity, "{}", info.name);
        // no other state is named
        let others: Vec<&str> = STATES
            .iter()
            .filter(|s| s.name != info.name && !of_kind(&report, s.finding).is_empty())
            .map(|s| s.name)
            .collect();
        assert!(others.is_empty(), "{}: also {others:?}", info.name);
        let lost = a.written.iter().find(|w| w.reached != "projected").unwrap();
        let max = a.max_events_sequence;
        match info.state {
            State::WalUncheckpointed | State::WalTornFrame => {
                let wal = a.wal.clone().unwrap();
                assert_eq!(f["file"], ".thrum/var/messages.db-wal");
                assert!(
                    msg.contains("read with its WAL on a private copy")
                        && msg.contains("not modified"),
                    "{msg}"
                );
                if info.state == State::WalUncheckpointed {
                    assert_eq!(
                        f["actual"].as_str(),
                        Some(format!("{} frames applied", wal.frames).as_str())
                    );
                } else {
                    assert!(msg.contains("SQLite discards it"), "{msg}");
                    assert_eq!(f["actual"].as_str(), Some(format!("{} bytes", wal.bytes).as_str()));
                }
            }
            State::AfterEventsRow => {
                assert_eq!(f["key"].as_str(), Some(format!("event_id={}", lost.event_id).as_str()));
                assert!(
                    msg.contains(&format!("takes {max} as its counter"))
                        && msg.contains("none reused"),
                    "{msg}"
                );
            }
            State::BeforeAppend => {
                assert_eq!(f["file"].as_str(), a.tmp.as_deref());
                assert!(
                    msg.contains(&format!("MAX(events.sequence) = {max}"))
                        && msg.contains(&format!("sequence {} is used again", lost.sequence))
                );
                assert!(msg.contains("lost"), "{msg}");
            }
            _ => {
                // the first line without its row, where the record has it
                let first =
                    a.written.iter().find(|w| !matches!(w.reached, "projected" | "tmp")).unwrap();
                assert_eq!(f["file"].as_str(), Some(first.file.as_str()), "{}", info.name);
                assert_eq!(f["line"].as_u64(), first.line, "{}", info.name);
                assert_eq!(
                    f["key"].as_str(),
                    Some(format!("event_id={}", first.event_id).as_str())
                );
                assert!(msg.contains("replays nothing"), "{}: {msg}", info.name);
                if info.state != State::ApplyFailed {
                    assert!(
                        msg.contains("writes no events row")
                            || msg.contains("a rebuild writes none"),
                        "{msg}"
                    );
                    assert!(msg.contains(&format!("sequence {}", first.sequence)), "{msg}");
                }
            }
        }
        if info.state == State::Restarted {
            assert_eq!(a.reused_sequence, Some(lost.sequence));
            assert!(msg.contains(&format!("reused sequence {}", lost.sequence)), "{msg}");
        }
    }
}

#[test]
fn a_killed_daemons_wal_read_with_the_database_is_consistent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let a = state(&dir, State::WalUncheckpointed, 5);
    let (code, report) = run_verify(&dir);
    assert_eq!(code, 0, "{report}");
    let errors: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // the five events were read through the WAL: their rows compared equal
    let events =
        report["tables"].as_array().unwrap().iter().find(|t| t["table"] == "events").unwrap();
    assert_eq!(events["rows_db"], events["rows_expected"], "{events}");
    assert_eq!(events["missing"], 0, "{events}");
    assert_eq!(a.written.len(), 5);
    // the same database without its WAL lacks them: named as such
    std::fs::remove_file(dir.join(".thrum/var/messages.db-wal")).unwrap();
    let (code, report) = run_verify(&dir);
    assert_eq!(code, 1);
    let f = of_kind(&report, "crash_backup_without_wal");
    assert_eq!(f.len(), 1, "{report}");
    assert!(f[0]["message"].as_str().unwrap().starts_with("5 line(s)"), "{}", f[0]);
}
