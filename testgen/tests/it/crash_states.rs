//! `testgen crash`: the bytes each crash state leaves, read back
//! independently of the writer (lines split and parsed here, the database
//! and its WAL opened with SQLite, the WAL's frames counted from its bytes):
//! the temporary and its mode, the `events` rows and projection of each
//! step, the reused sequence, the WAL that SQLite applies or discards, and
//! the same bytes for the same seed. (That `verify` names each state is
//! `verify/tests/it/crash_states.rs`.)

use crate::common::*;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use testgen::crash::{self, CrashApplied, CrashOptions, State, STATES};
use thrum_gen::Profile;

fn fixture(dir: &Path) -> PathBuf {
    generate(dir, 42, Profile::small(), 1).join(testgen::ARCHIVE)
}

fn write(input: &Path, out: &Path, state: State, events: u64, seed: u64) -> CrashApplied {
    let o = CrashOptions { state, seed, events, limits: Default::default(), pack: None };
    crash::crash(input, out, &o).unwrap()
}

/// The lines of a file, without their newlines.
fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap().lines().map(str::to_owned).collect()
}

/// Every JSONL line of the tree at `out` as JSON.
fn all_events(out: &Path) -> Vec<Value> {
    let t = out.join(".thrum");
    let mut files = vec![t.join("events.jsonl")];
    for e in std::fs::read_dir(t.join("messages")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            files.push(p);
        }
    }
    files.iter().flat_map(|f| lines(f)).map(|l| serde_json::from_str(&l).unwrap()).collect()
}

/// The database of `out` as SQLite reads it: a private copy of the main
/// file, with its `-wal` when `with_wal`.
fn open_copy(out: &Path, with_wal: bool, scratch: &Path) -> Connection {
    std::fs::create_dir_all(scratch).unwrap();
    let db = out.join(".thrum/var/messages.db");
    std::fs::copy(&db, scratch.join("messages.db")).unwrap();
    let wal = out.join(".thrum/var/messages.db-wal");
    if with_wal && wal.exists() {
        std::fs::copy(&wal, scratch.join("messages.db-wal")).unwrap();
    }
    Connection::open_with_flags(scratch.join("messages.db"), OpenFlags::SQLITE_OPEN_READ_WRITE)
        .unwrap()
}

fn has_row(c: &Connection, sql: &str, key: &str) -> bool {
    c.query_row(sql, [key], |_| Ok(())).is_ok()
}

fn event_row(c: &Connection, id: &str) -> bool {
    has_row(c, "SELECT 1 FROM events WHERE event_id = ?1", id)
}

fn message_of(e: &Value) -> String {
    e["message_id"].as_str().unwrap().to_owned()
}

fn line_of(out: &Path, w: &crash::Written) -> Value {
    let l = &lines(&out.join(&w.file))[w.line.unwrap() as usize - 1];
    serde_json::from_str(l).unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn same_input_state_and_seed_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture(tmp.path());
    for s in STATES {
        let (a, b, c) = (
            tmp.path().join(format!("{}-a", s.name)),
            tmp.path().join(format!("{}-b", s.name)),
            tmp.path().join(format!("{}-c", s.name)),
        );
        let ra = write(&input, &a, s.state, 2, 9);
        assert_eq!(ra, write(&input, &b, s.state, 2, 9));
        assert_eq!(read_all(&a), read_all(&b), "{}", s.name);
        // another seed writes other events (and other salts)
        let rc = write(&input, &c, s.state, 2, 10);
        assert_ne!(ra.written[0].event_id, rc.written[0].event_id, "{}", s.name);
        assert_ne!(read_all(&a), read_all(&c), "{}", s.name);
    }
}

#[test]
fn the_steps_of_one_write_leave_the_temporary_and_rows_of_their_step() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture(tmp.path());
    let base = tmp.path().join("base");
    extract(&input, &base);
    let base_db = open_copy(&base, false, &tmp.path().join("sb"));
    let max0: i64 =
        base_db.query_row("SELECT MAX(sequence) FROM events", [], |r| r.get(0)).unwrap();
    for state in
        [State::BeforeAppend, State::AfterAppend, State::AfterEventsRow, State::ApplyFailed]
    {
        let out = tmp.path().join(state.name());
        let a = write(&input, &out, state, 3, 5);
        let db = open_copy(&out, false, &tmp.path().join(format!("s-{}", state.name())));
        let (done, last) = a.written.split_at(2);
        // the first K-1 are complete: line, events row, projection; no temporary
        for w in done {
            let e = line_of(&out, w);
            assert!(event_row(&db, &w.event_id), "{}", state.name());
            assert!(has_row(&db, "SELECT 1 FROM messages WHERE message_id = ?1", &message_of(&e)));
        }
        assert_eq!(done.iter().map(|w| w.sequence).collect::<Vec<_>>(), [max0 + 1, max0 + 2]);
        let w = &last[0];
        assert_eq!(w.sequence, max0 + 3);
        let jsonl = out.join(&w.file);
        let tmp_file = PathBuf::from(format!("{}.tmp", jsonl.display()));
        // the record names the temporary it left
        assert_eq!(
            a.tmp.as_ref().map(|t| out.join(t)),
            matches!(state, State::BeforeAppend | State::AfterAppend).then(|| tmp_file.clone())
        );
        match state {
            State::BeforeAppend => {
                // only in the temporary: 0600, exactly the line and its newline,
                // and in no JSONL file
                assert_eq!(w.line, None);
                assert_eq!(mode(&tmp_file), 0o600);
                let text = std::fs::read_to_string(&tmp_file).unwrap();
                assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
                let e: Value = serde_json::from_str(text.trim_end()).unwrap();
                assert_eq!(e["sequence"], max0 + 3);
                assert!(!all_events(&out).iter().any(|x| x["event_id"] == e["event_id"]));
                assert!(!event_row(&db, &w.event_id));
            }
            State::AfterAppend => {
                // the last line of its file, the temporary (0600) still holding it
                let file_lines = lines(&jsonl);
                assert_eq!(w.line, Some(file_lines.len() as u64));
                assert_eq!(mode(&tmp_file), 0o600);
                assert_eq!(
                    std::fs::read_to_string(&tmp_file).unwrap(),
                    format!("{}\n", file_lines.last().unwrap())
                );
                assert!(!event_row(&db, &w.event_id));
                assert!(!has_row(
                    &db,
                    "SELECT 1 FROM messages WHERE message_id = ?1",
                    &message_of(&line_of(&out, w))
                ));
            }
            State::AfterEventsRow => {
                assert!(!tmp_file.exists());
                let row: String = db
                    .query_row(
                        "SELECT event_json FROM events WHERE event_id = ?1",
                        [&w.event_id],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(row, lines(&jsonl)[w.line.unwrap() as usize - 1]);
                assert!(!has_row(
                    &db,
                    "SELECT 1 FROM messages WHERE message_id = ?1",
                    &message_of(&line_of(&out, w))
                ));
            }
            _ => {
                // apply-failed: a member add of a group nobody created, its line
                // and events row kept, nothing projected, the error reported
                let e = line_of(&out, w);
                assert_eq!(
                    (w.file.as_str(), e["type"].as_str()),
                    (".thrum/events.jsonl", Some("group.member.add"))
                );
                assert!(event_row(&db, &w.event_id));
                let group = e["group_id"].as_str().unwrap();
                assert!(!has_row(&db, "SELECT 1 FROM groups WHERE group_id = ?1", group));
                assert!(!has_row(&db, "SELECT 1 FROM group_members WHERE group_id = ?1", group));
                assert!(
                    a.apply_error.as_deref().is_some_and(|t| t.contains("FOREIGN KEY")),
                    "{:?}",
                    a.apply_error
                );
                assert!(!tmp_file.exists());
            }
        }
        // nothing of the write path is left where it does not belong
        assert!(
            !out.join(".thrum/var/messages.db-wal").exists()
                && !out.join(".thrum/var/messages.db-shm").exists()
        );
    }
}

#[test]
fn a_restart_after_the_append_reuses_the_lost_sequence() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture(tmp.path());
    let out = tmp.path().join("restarted");
    let a = write(&input, &out, State::Restarted, 2, 3);
    let db = open_copy(&out, false, &tmp.path().join("s"));
    let lost = &a.written[1];
    assert_eq!(lost.reached, "jsonl");
    assert_eq!(a.reused_sequence, Some(lost.sequence));
    // two lines of the logs carry the lost line's sequence
    let events = all_events(&out);
    let same: Vec<&Value> = events.iter().filter(|e| e["sequence"] == lost.sequence).collect();
    assert_eq!(same.len(), 2, "{same:?}");
    let again = same.iter().find(|e| e["event_id"] != lost.event_id.as_str()).unwrap();
    // the lost one: no events row, never projected; the restarted one both
    assert!(!event_row(&db, &lost.event_id));
    assert!(!has_row(
        &db,
        "SELECT 1 FROM messages WHERE message_id = ?1",
        &message_of(&line_of(&out, lost))
    ));
    assert!(event_row(&db, again["event_id"].as_str().unwrap()));
    assert!(has_row(&db, "SELECT 1 FROM messages WHERE message_id = ?1", &message_of(again)));
    let max: i64 = db.query_row("SELECT MAX(sequence) FROM events", [], |r| r.get(0)).unwrap();
    assert_eq!((max, a.max_events_sequence), (lost.sequence + 1, lost.sequence + 1));
    // the lost line's temporary stays unless a restarted write went to its file
    let tmp_file = out.join(format!("{}.tmp", lost.file));
    assert_eq!(tmp_file.exists(), a.tmp.is_some());
    assert_eq!(a.written.len(), 4);
}

/// (page size, whole frames, bytes after them, salts) of WAL bytes.
fn frames(wal: &[u8]) -> (u32, u64, u64, (u32, u32)) {
    let be = |at: usize| u32::from_be_bytes([wal[at], wal[at + 1], wal[at + 2], wal[at + 3]]);
    let ps = be(8);
    let frame = 24 + u64::from(ps);
    let body = wal.len() as u64 - 32;
    (ps, body / frame, body % frame, (be(16), be(20)))
}

#[test]
fn the_wal_states_hold_real_frames_that_sqlite_applies_or_discards() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture(tmp.path());
    let k = 3;
    let mut salts = Vec::new();
    for state in
        [State::WalUncheckpointed, State::WalTornFrame, State::BackupWithoutWal, State::PowerLoss]
    {
        let out = tmp.path().join(state.name());
        let a = write(&input, &out, state, k, 11);
        let ids: Vec<&str> = a.written.iter().map(|w| w.event_id.as_str()).collect();
        let msgs: Vec<String> = a.written.iter().map(|w| message_of(&line_of(&out, w))).collect();
        // every line reached the JSONL, synced: no temporary anywhere
        assert!(a.written.iter().all(|w| w.line.is_some()));
        assert!(!read_all(&out).keys().any(|k| k.ends_with(".tmp")));
        // the main file alone lacks them
        let alone = open_copy(&out, false, &tmp.path().join(format!("a-{}", state.name())));
        assert!(ids.iter().all(|id| !event_row(&alone, id)), "{}", state.name());
        drop(alone);
        let wal_path = out.join(".thrum/var/messages.db-wal");
        if state == State::BackupWithoutWal {
            assert!(!wal_path.exists());
            continue;
        }
        let wal = std::fs::read(&wal_path).unwrap();
        let (ps, whole, rest, salt) = frames(&wal);
        let rec = a.wal.clone().unwrap();
        salts.push(salt);
        assert_eq!(
            (salt, ps, rec.bytes),
            ((rec.salt1, rec.salt2), rec.page_size, wal.len() as u64)
        );
        let with = open_copy(&out, true, &tmp.path().join(format!("w-{}", state.name())));
        let seen = |id: &str| event_row(&with, id);
        let projected = |m: &str| has_row(&with, "SELECT 1 FROM messages WHERE message_id = ?1", m);
        match state {
            State::WalUncheckpointed => {
                // whole frames only, every one counted; SQLite applies them all
                assert_eq!((whole, rest), (rec.frames, 0));
                assert!(
                    whole >= 2 * k && rec.commits == 2 * k,
                    "{whole} frames, {} commits",
                    rec.commits
                );
                assert!(ids.iter().all(|id| seen(id)) && msgs.iter().all(|m| projected(m)));
            }
            State::WalTornFrame => {
                // the last frame cut in half: its transaction (the K-th
                // projection) is discarded, everything before it applied
                assert_eq!(rec.cut, Some((24 + u64::from(ps)) / 2));
                assert_eq!(
                    (whole, rest),
                    (rec.frames - 1, (24 + u64::from(ps)) - rec.cut.unwrap())
                );
                assert!(ids.iter().all(|id| seen(id)));
                assert!(msgs[..2].iter().all(|m| projected(m)) && !projected(&msgs[2]));
            }
            _ => {
                // power loss: the header synced when the WAL was created, no frame
                assert_eq!((wal.len(), whole, rest), (32, 0, 0));
                assert!(ids.iter().all(|id| !seen(id)));
            }
        }
        let ok: String = with.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
    }
    // one seed, one pair of salts
    assert!(salts.windows(2).all(|w| w[0] == w[1]), "{salts:?}");
}

#[test]
fn a_packed_state_archives_the_temporary_with_mode_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture(tmp.path());
    let out = tmp.path().join("packed");
    let pack = crash::packer(testgen::Compression::Zstd);
    let o = CrashOptions {
        state: State::AfterAppend,
        seed: 1,
        events: 1,
        limits: Default::default(),
        pack: Some(&pack),
    };
    let a = crash::crash(&input, &out, &o).unwrap();
    let mut names: Vec<String> = read_all(&out).into_keys().collect();
    names.sort();
    assert_eq!(names, [".testgen-crash.json", "CRASH.json", testgen::ARCHIVE]);
    let tmp_rel = a.tmp.unwrap();
    assert_eq!(archived_mode(&out.join(testgen::ARCHIVE), &tmp_rel), 0o600);
    assert_eq!(archived_mode(&out.join(testgen::ARCHIVE), &a.written[0].file), 0o644);
}

#[test]
fn the_command_lists_the_states_and_refuses_bad_requests() {
    let list =
        Command::new(env!("CARGO_BIN_EXE_testgen")).args(["crash", "--list"]).output().unwrap();
    assert!(list.status.success());
    let text = String::from_utf8(list.stdout).unwrap();
    for s in STATES {
        assert!(
            text.lines().any(|l| l.starts_with(s.name) && l.contains(s.finding)),
            "{} missing from:\n{text}",
            s.name
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    for args in [
        &["--state", "after-append", "--events", "0"][..],
        &["--state", "nope"][..],
        &["--state", "restarted", "--events", "1001"][..],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_testgen"))
            .arg("crash")
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!out.exists());
    }
    // without --in, a fixture of the generation options is the input
    let o = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args([
            "crash",
            "-q",
            "--state",
            "before-append",
            "--profile",
            "small",
            "--messages",
            "30",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c: Value = serde_json::from_slice(&std::fs::read(out.join("CRASH.json")).unwrap()).unwrap();
    assert_eq!(
        (c["state"].as_str(), c["finding"].as_str(), c["exit_code"].as_u64()),
        (Some("before-append"), Some("crash_before_append"), Some(0))
    );
    assert_eq!(mode(&out.join(c["tmp"].as_str().unwrap())), 0o600);
}

#[test]
fn a_previous_state_is_replaced_and_anything_else_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture(tmp.path());
    let out = tmp.path().join("state");
    write(&input, &out, State::AfterAppend, 1, 2);
    // a previous crash state is replaced whole: its temporary goes, the WAL comes
    write(&input, &out, State::PowerLoss, 1, 2);
    let files = read_all(&out);
    assert!(!files.keys().any(|k| k.ends_with(".tmp")), "{:?}", files.keys());
    assert_eq!(files[".thrum/var/messages.db-wal"].len(), 32);
    // a file testgen did not write: refused (exit 2), nothing touched
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let before = read_all(&out);
    let o = CrashOptions {
        state: State::Restarted,
        seed: 2,
        events: 1,
        limits: Default::default(),
        pack: None,
    };
    let e = crash::crash(&input, &out, &o).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("notes.txt"), "{e}");
    assert_eq!(read_all(&out), before);
}

#[test]
fn every_recorded_line_holds_its_own_event_when_events_share_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixture(tmp.path());
    // more events than the small profile has message shards: files repeat
    let k = 40;
    for info in STATES {
        let out = tmp.path().join(info.name);
        let a = write(&input, &out, info.state, k, 3);
        let mut files: Vec<&str> = a.written.iter().map(|w| w.file.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        assert!(files.len() < a.written.len(), "{}: no file took two events", info.name);
        for w in a.written.iter().filter(|w| w.line.is_some()) {
            let e = line_of(&out, w);
            assert_eq!(
                (e["event_id"].as_str(), e["sequence"].as_i64()),
                (Some(w.event_id.as_str()), Some(w.sequence)),
                "{}: {} line {:?}",
                info.name,
                w.file,
                w.line
            );
        }
    }
}
