//! Messages a terminal can trust: a path from the command line is printed
//! escaped wherever it appears (it cannot forge a `result:` line), a full
//! disk names the path being written (exit 1, never the bad-arguments code),
//! a regular file where a directory is expected is named as such, and a
//! long file name is a file name like any other.

use super::base::{base, copy};
use super::lab::{step, Bin, Expect, Lab, Row};
use std::process::Command;

const CLASS: &str = "messages";

const SMALL: [&str; 7] =
    ["--seed", "7", "--profile", "small", "--messages=40", "--no-v5", "--jobs=1"];

fn gen_args(out: &str) -> Vec<std::ffi::OsString> {
    let mut a = args!["--out", out].to_vec();
    a.extend(SMALL.iter().map(std::ffi::OsString::from));
    a
}

fn escaping(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    let forged = "x\n\u{1b}[32mresult: consistent";
    let ok = |dest: &str, says| Expect { code: 0, says, dest: Some(lab.at(dest)) };
    let shown = ["wrote x\\n\\u{1b}[32mresult: consistent"];
    all.push(step(
        &lab,
        CLASS,
        "testgen --out with a newline and ESC",
        Bin::Testgen,
        &gen_args(forged),
        ok(forged, &shown),
    ));
    let c = "c\n\u{1b}[32mresult: consistent";
    let a = lab.at(forged).join("thrum-fixture.tar.zst");
    let shown = ["wrote c\\n\\u{1b}[32mresult: consistent"];
    let corrupt = args!["corrupt", "--fault", "altered-cell", "--in", &a, "--out", c];
    all.push(step(
        &lab,
        CLASS,
        "corrupt --out with a newline and ESC",
        Bin::Testgen,
        &corrupt,
        ok(c, &shown),
    ));
    let long = "n".repeat(250);
    let want = Expect { code: 0, says: &[], dest: Some(lab.at(&long)) };
    all.push(step(
        &lab,
        CLASS,
        "testgen --out a 250-byte name",
        Bin::Testgen,
        &gen_args(&long),
        want,
    ));
    let lab = Lab::new();
    copy(&base().shards[0], &lab.at("s0"));
    copy(&base().shards[1], &lab.at("s1"));
    std::fs::write(lab.at("file"), b"not a directory").unwrap();
    let want = Expect { code: 2, says: &["regular file"], dest: None };
    all.push(step(
        &lab,
        CLASS,
        "merge --out a regular file",
        Bin::Testgen,
        &args!["merge", "--out", "file", "s0", "s1"],
        want,
    ));
    let want = Expect { code: 2, says: &["regular file"], dest: None };
    all.push(step(
        &lab,
        CLASS,
        "merge of a regular file",
        Bin::Testgen,
        &args!["merge", "--out", "m", "file", "s1"],
        want,
    ));
}

/// A 64 KiB tmpfs at `work/full` (the suite runs as root in CI; elsewhere
/// it needs the privilege to mount, and says so when it lacks it).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: std::path::PathBuf) -> Tmpfs {
        std::fs::create_dir(&at).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&at)
            .output()
            .expect("mount");
        assert!(
            o.status.success(),
            "this test mounts a small tmpfs (run it as root, as CI does): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn full_disk(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    let fs = Tmpfs::mount(lab.at("full"));
    let want = Expect { code: 1, says: &["disk full while writing", "full/out"], dest: None };
    all.push(step(
        &lab,
        CLASS,
        "testgen on a full disk",
        Bin::Testgen,
        &gen_args("full/out"),
        want,
    ));
    let want = Expect { code: 1, says: &["disk full while writing", "full"], dest: None };
    all.push(step(
        &lab,
        CLASS,
        "testgen bench --work on a full disk",
        Bin::Testgen,
        &args!["bench", "--profile", "small", "--runs", "1", "--work", "full"],
        want,
    ));
    let a = base().v13.join("thrum-fixture.tar.zst");
    let want = Expect { code: 1, says: &["disk full while writing"], dest: None };
    all.push(step(
        &lab,
        CLASS,
        "verify extract onto a full disk",
        Bin::Verify,
        &args!["extract", &a, "full/x"],
        want,
    ));
    drop(fs);
}

#[test]
fn messages_escape_paths_and_name_what_went_wrong() {
    let mut all = Vec::new();
    escaping(&mut all);
    full_disk(&mut all);
    super::finish(CLASS, all);
}
