//! Interrupted runs leave nothing behind: `verify replay`, `extract` and
//! `migrate` are sent SIGTERM or SIGINT once their temporary exists; they
//! exit with 128 + the signal and their temporary directory (TMPDIR) and the
//! destination's parent hold nothing. The next run removes what a killed
//! run left (named with its dead pid), and only that.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use thrum_io::cleanup::{marker_path, marker_text, parse_pid, temp_name};

fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name);
    assert!(p.is_file(), "{} is missing: the generated fixtures are checked in", p.display());
    p
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn send(child: &Child, sig: &str) {
    let ok =
        Command::new("kill").args(["-s", sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -s {sig} failed");
}

/// The outcome of one interrupted run.
struct Interrupted {
    /// None when the run ended before its temporary was seen.
    seen: Option<String>,
    pid: u32,
    code: Option<i32>,
    stderr: String,
}

/// Starts verify with `args` and TMPDIR=`tmp`, waits until an entry named
/// `PREFIX<pid>-<random>` appears in `watch` (and, with `inside`, until that
/// path exists in it), sends `sig`, waits.
fn interrupt(
    args: &[&str],
    tmp: &Path,
    watch: &Path,
    prefix: &str,
    inside: Option<&str>,
    sig: &str,
) -> Interrupted {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = None;
    while seen.is_none() {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        seen = std::fs::read_dir(watch)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| parse_pid(n, prefix).is_some());
        if let (Some(n), Some(inside)) = (&seen, inside) {
            if !watch.join(n).join(inside).exists() {
                seen = None;
            }
        }
        if seen.is_none() {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
    if seen.is_some() {
        send(&child, sig);
    }
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    Interrupted {
        seen,
        pid,
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the interruption until the signal lands during the run (the run can
/// finish first on a fast machine: then it must have exited 0 and left
/// nothing either), at most 8 times; every attempt must leave `clean` empty.
fn interrupted_runs_leave_nothing(
    args: &dyn Fn(&Path) -> Vec<String>,
    watch_in_out: bool,
    prefix: &str,
    sig: &str,
    code: i32,
) {
    interrupted_at(args, watch_in_out, prefix, None, sig, code)
}

/// [`interrupted_runs_leave_nothing`], signalling once `inside` exists in the temporary.
fn interrupted_at(
    args: &dyn Fn(&Path) -> Vec<String>,
    watch_in_out: bool,
    prefix: &str,
    inside: Option<&str>,
    sig: &str,
    code: i32,
) {
    let mut hit = 0;
    for _ in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        let out = dir.path().join("out");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        let a = args(&out);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = interrupt(&a, &tmp, if watch_in_out { &out } else { &tmp }, prefix, inside, sig);
        assert!(
            listing(&tmp).is_empty(),
            "{a:?} {sig}: TMPDIR not empty: {:?}\n{}",
            listing(&tmp),
            r.stderr
        );
        match r.seen {
            Some(name) => {
                // the temporary's name embeds the pid of its process
                assert_eq!(parse_pid(&name, prefix), Some(r.pid), "{name}");
                if r.code == Some(code) {
                    // no partial tree; the destination only when the signal came after its rename
                    let left = listing(&out);
                    assert!(
                        left.is_empty() || (left.len() == 1 && !left[0].starts_with('.')),
                        "{a:?} {sig}: left in the destination's parent: {left:?}"
                    );
                    assert!(
                        r.stderr.is_empty(),
                        "an interrupted run reports no error: {}",
                        r.stderr
                    );
                    hit += 1;
                    if hit == 2 {
                        return;
                    }
                } else {
                    // the run was complete before the signal arrived
                    assert_eq!(r.code, Some(0), "{a:?} {sig}: {}", r.stderr);
                }
            }
            None => assert_eq!(
                r.code,
                Some(0),
                "{a:?}: ended before its temporary was seen: {}",
                r.stderr
            ),
        }
    }
    assert!(hit > 0, "{args:?} never interrupted while running", args = args(Path::new("OUT")));
}

#[test]
fn sigterm_during_replay_removes_its_temporaries_and_exits_143() {
    let a = fixture("thrum-fixture.tar.zst").display().to_string();
    interrupted_runs_leave_nothing(
        &|_| vec!["replay".into(), a.clone()],
        false,
        "verify-",
        "TERM",
        143,
    );
}

#[test]
fn sigint_during_replay_removes_its_temporaries_and_exits_130() {
    let a = fixture("thrum-fixture.tar.zst").display().to_string();
    interrupted_runs_leave_nothing(
        &|_| vec!["replay".into(), a.clone()],
        false,
        "verify-",
        "INT",
        130,
    );
}

#[test]
fn sigterm_in_the_middle_of_an_extraction_removes_what_was_written() {
    let a = fixture("thrum-fixture.tar.zst").display().to_string();
    // the event logs are extracted, the database not yet (or being written)
    interrupted_at(
        &|_| vec!["replay".into(), a.clone()],
        false,
        "verify-",
        Some(".thrum/messages"),
        "TERM",
        143,
    );
    let args =
        |out: &Path| vec!["extract".into(), a.clone(), out.join("dest").display().to_string()];
    interrupted_at(&args, true, ".dest.partial-", Some(".thrum/messages"), "TERM", 143);
}

#[test]
fn sigterm_during_extract_leaves_no_partial_destination() {
    let a = fixture("thrum-fixture.tar.zst").display().to_string();
    let args =
        |out: &Path| vec!["extract".into(), a.clone(), out.join("dest").display().to_string()];
    interrupted_runs_leave_nothing(&args, true, ".dest.partial-", "TERM", 143);
}

#[test]
fn sigint_during_extract_leaves_no_partial_destination() {
    let a = fixture("thrum-fixture.tar.zst").display().to_string();
    let args =
        |out: &Path| vec!["extract".into(), a.clone(), out.join("dest").display().to_string()];
    interrupted_runs_leave_nothing(&args, true, ".dest.partial-", "INT", 130);
}

#[test]
fn sigterm_during_migrate_leaves_neither_work_tree_nor_partial_out() {
    let a = fixture("thrum-fixture-v5.tar.zst").display().to_string();
    // once the work tree beside --out exists, the input's extraction and
    // database copy (in TMPDIR) exist too
    let args = |out: &Path| {
        vec!["migrate".into(), a.clone(), "--out".into(), out.join("m").display().to_string()]
    };
    interrupted_runs_leave_nothing(&args, true, ".m.partial-", "TERM", 143);
    // without --out the work tree is in TMPDIR
    interrupted_runs_leave_nothing(
        &|_| vec!["migrate".into(), a.clone()],
        false,
        "verify-migrate-",
        "INT",
        130,
    );
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn the_next_run_removes_temporaries_of_dead_runs_only() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let dead = dead_pid();
    // what killed runs left: removed
    for (i, p) in ["verify-", "verify-db-", "verify-replay-", "verify-migrate-"].iter().enumerate()
    {
        let d = tmp.join(temp_name(p, dead, i as u64));
        std::fs::create_dir_all(d.join(".thrum/var")).unwrap();
        std::fs::write(d.join(".thrum/var/messages.db"), b"partial").unwrap();
        mark(&d, dead);
    }
    let partial = out.join(temp_name(".dest.partial-", dead, 9));
    std::fs::create_dir_all(partial.join(".thrum")).unwrap();
    mark(&partial, dead);
    // the same names without the marker that proves them ours: the user's, kept untouched
    let lookalike = temp_name("verify-", dead, 0x0123456789abcdef);
    std::fs::create_dir(tmp.join(&lookalike)).unwrap();
    std::fs::write(tmp.join(&lookalike).join("x"), b"mine").unwrap();
    let partial_lookalike = temp_name(".dest.partial-", dead, 8);
    std::fs::create_dir(out.join(&partial_lookalike)).unwrap();
    std::fs::write(out.join(&partial_lookalike).join("x"), b"mine").unwrap();
    // a live run's (pid 1 exists), an old-style name, another tool's: kept
    let live = temp_name("verify-", 1, 1);
    std::fs::create_dir(tmp.join(&live)).unwrap();
    std::fs::create_dir(tmp.join("verify-Xy12ab")).unwrap();
    std::fs::create_dir(tmp.join(temp_name("other-", dead, 1))).unwrap();
    let a = fixture("thrum-fixture.tar.zst");
    let o = Command::new(env!("CARGO_BIN_EXE_verify"))
        .arg("extract")
        .arg(&a)
        .arg(out.join("dest"))
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let mut want =
        vec![live, "verify-Xy12ab".to_string(), temp_name("other-", dead, 1), lookalike.clone()];
    want.sort();
    assert_eq!(listing(&tmp), want);
    let mut want = vec!["dest".to_string(), partial_lookalike.clone()];
    want.sort();
    assert_eq!(listing(&out), want, "the dead run's .dest.partial- is gone, the new dest complete");
    assert!(out.join("dest/.thrum/var/messages.db").is_file());
    for d in [tmp.join(&lookalike), out.join(&partial_lookalike)] {
        assert_eq!(listing(&d), vec!["x".to_string()]);
        assert_eq!(std::fs::read(d.join("x")).unwrap(), b"mine");
    }
}

/// Writes the ownership marker of `path` as process `pid` would have.
fn mark(path: &Path, pid: u32) {
    let name = path.file_name().unwrap().to_str().unwrap();
    std::fs::write(marker_path(path), marker_text(name, pid)).unwrap();
}
