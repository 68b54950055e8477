//! A previous output with another file system mounted inside it is never
//! replaced: deleting it would delete what lies on that file system. The
//! same holds for the temporaries of dead runs and for bench's scratch
//! directories. Needs root (bind mounts): as root a mount that fails fails
//! the test; otherwise skipped with a note unless `THRUM_REQUIRE_ROOT_TESTS`
//! is set ([`thrum_io::testing`]).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_testgen");

fn bind(src: &Path, at: &Path) {
    thrum_io::testing::mount(&["--bind".as_ref(), src.as_os_str(), at.as_os_str()]);
}

fn unbind(at: &Path) {
    let _ = Command::new("umount").arg(at).status();
}

#[test]
fn a_previous_output_with_a_mount_inside_is_refused_and_the_mount_untouched() {
    if !thrum_io::testing::privileged("a bind mount") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(BIN)
            .current_dir(d.path())
            .args(["--profile", "small", "--no-v5", "--quiet", "--out", "out"])
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    // an empty directory inside a previous output is allowed; mount an
    // empty file system on it (with files, the recogniser already refuses)
    let other = d.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let at = d.path().join("out/sub");
    std::fs::create_dir(&at).unwrap();
    bind(&other, &at);
    // what lands there later belongs to the other file system
    let o = run();
    std::fs::write(at.join("theirs"), "theirs").unwrap();
    let o2 = run();
    let theirs = std::fs::read(at.join("theirs"));
    let left: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    unbind(&at);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another file system is mounted on") && err.contains("sub"), "{err}");
    assert_eq!(o2.status.code(), Some(2), "{}", String::from_utf8_lossy(&o2.stderr));
    assert_eq!(theirs.unwrap(), b"theirs");
    assert_eq!(std::fs::read(other.join("theirs")).unwrap(), b"theirs");
    let mut left = left;
    left.sort();
    assert_eq!(left, ["other", "out"], "no temporary left");
}

#[test]
fn a_dead_runs_temporary_with_a_mount_inside_is_left_alone() {
    if !thrum_io::testing::privileged("a bind mount") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    // a temporary of a run that no longer exists (pid of a finished child)
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = d.path().join(format!(".out.tmp-{dead}"));
    let at = stale.join("m");
    std::fs::create_dir_all(&at).unwrap();
    let other = d.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("theirs"), "theirs").unwrap();
    bind(&other, &at);
    let o = Command::new(BIN)
        .current_dir(d.path())
        .args(["--profile", "small", "--no-v5", "--quiet", "--out", "out"])
        .output()
        .unwrap();
    let theirs = std::fs::read(at.join("theirs"));
    unbind(&at);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(theirs.unwrap(), b"theirs");
    assert_eq!(std::fs::read(other.join("theirs")).unwrap(), b"theirs");
}
