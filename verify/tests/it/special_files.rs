//! Files that exist but are not regular files (FIFOs, devices, symbolic
//! links to them), through the binary: never opened (no run hangs; each is
//! bounded by a deadline here), and reported as what they are, with what
//! was expected: an input error (exit 2) for the database, a
//! `file_not_regular` finding (exit 1) for the other files of the tree.
//! Also: `verify parquet` and `verify replay` agree on an unreadable Parquet
//! file, errors about archives name the archive and its entry, a full disk
//! is named as such on the path being written.

use crate::checked_in_copy::fixtures;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long one run may take before it is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the binary; kills it and fails when it runs past [`DEADLINE`].
fn verify(args: &[&str]) -> (i32, String, String) {
    crate::common::verify_within(args, DEADLINE)
}

fn mkfifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success(), "mkfifo {}", p.display());
}

fn link_to_dev_zero(p: &Path) {
    let _ = std::fs::remove_file(p);
    std::os::unix::fs::symlink("/dev/zero", p).unwrap();
}

fn copy_fixtures(to: &Path) -> PathBuf {
    crate::checked_in_copy::copy_fixtures(to, "fx")
}

/// The checked-in fixture extracted into `to`/NAME (a directory input).
fn extracted(to: &Path, archive: &str, name: &str) -> PathBuf {
    let d = to.join(name);
    let (code, out, err) = verify(&["extract", s(&fixtures().join(archive)), s(&d)]);
    assert_eq!(code, 0, "{out}{err}");
    d
}

/// The result line agrees with the exit code.
fn assert_result(out: &str, code: i32) {
    let line = out
        .lines()
        .find(|l| l.starts_with("result:"))
        .unwrap_or_else(|| panic!("no result line: {out}"));
    assert_eq!(line.contains("INCONSISTENT"), code == 1, "{line} vs exit {code}");
}

fn restore(p: &Path, from: &Path) {
    std::fs::remove_file(p).unwrap();
    std::fs::rename(from, p).unwrap();
}

#[test]
fn a_fifo_parquet_file_never_blocks_and_is_reported_by_both_commands() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(dir.path());
    let part = fx.join("parquet/agents/part-00000.parquet");
    mkfifo(&part);
    let archive = fx.join("thrum-fixture.tar.zst");
    for args in [
        vec!["parquet", s(&fx)],
        vec!["replay", s(&archive)],
        vec!["replay", s(&archive), "--no-manifest"],
    ] {
        let (code, out, err) = verify(&args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert_result(&out, code);
        assert!(
            out.contains("[parquet_unreadable] parquet/agents/part-00000.parquet"),
            "{args:?}: {out}"
        );
        assert!(out.contains("a FIFO (named pipe); expected a regular file"), "{args:?}: {out}");
    }
}

#[test]
fn a_garbage_parquet_file_is_the_same_finding_in_parquet_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(dir.path());
    std::fs::write(fx.join("parquet/agents/part-00000.parquet"), b"garbage\n").unwrap();
    let (code, out, err) = verify(&["parquet", s(&fx)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_result(&out, code);
    let line =
        out.lines().find(|l| l.contains("[parquet_unreadable]")).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(line.matches("part-00000.parquet").count(), 1, "the file once: {line}");
    assert!(line.contains("Corrupt footer"), "{line}");

    let (jcode, json, _) = verify(&["parquet", s(&fx), "--json"]);
    assert_eq!(jcode, 1);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["command"], "parquet");
    assert_eq!(v["consistent"], false);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["finding_counts"]["parquet_unreadable"], 1);
    assert_eq!(v["findings"][0]["file"], "parquet/agents/part-00000.parquet");

    let (rcode, rjson, _) = verify(&["replay", s(&fx.join("thrum-fixture.tar.zst")), "--json"]);
    assert_eq!(rcode, 1);
    let r: Value = serde_json::from_str(&rjson).unwrap();
    assert_eq!(r["finding_counts"]["parquet_unreadable"], 1);
    let rf = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "parquet_unreadable")
        .unwrap()
        .clone();
    assert_eq!(rf["file"], v["findings"][0]["file"]);
    assert_eq!(rf["message"], v["findings"][0]["message"]);

    // a clean snapshot: consistent, text and JSON alike
    let (code, out, _) = verify(&["parquet", s(&fixtures())]);
    assert_eq!(code, 0, "{out}");
    assert_result(&out, code);
    let (code, json, _) = verify(&["parquet", s(&fixtures()), "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["consistent"].clone(), v["exit_code"].clone()),
        (Value::Bool(true), Value::from(0))
    );
}

#[test]
fn fifos_beside_an_archive_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(dir.path());
    let archive = fx.join("thrum-fixture.tar.zst");
    for name in ["SHA256SUMS", "manifest.json"] {
        let p = fx.join(name);
        let keep = dir.path().join("keep");
        std::fs::rename(&p, &keep).unwrap();
        mkfifo(&p);
        let (code, out, err) = verify(&["replay", s(&archive), "--no-parquet"]);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert_result(&out, code);
        assert!(
            out.contains(&format!(
                "[file_not_regular] {}: a FIFO (named pipe); expected a regular file",
                p.display()
            )),
            "{name}: {out}"
        );
        restore(&p, &keep);
    }
}

#[test]
fn special_files_in_a_directory_input_are_described() {
    let dir = tempfile::tempdir().unwrap();
    let fx = extracted(dir.path(), "thrum-fixture.tar.zst", "fx");
    let thrum = fx.join(".thrum");
    let keep = dir.path().join("keep");

    // the database: an input error saying what is there
    let db = thrum.join("var/messages.db");
    std::fs::rename(&db, &keep).unwrap();
    mkfifo(&db);
    let (code, _, err) = verify(&["replay", s(&fx), "--no-manifest"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "var/messages.db is a FIFO (named pipe); expected a SQLite database (a regular file)"
        ),
        "{err}"
    );
    link_to_dev_zero(&db);
    let (code, _, err) = verify(&["replay", s(&fx), "--no-manifest"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "var/messages.db is a symbolic link to a character device; expected a \
        SQLite database (a regular file)"
        ),
        "{err}"
    );
    assert!(!err.contains("missing"), "{err}");
    restore(&db, &keep);

    // the other files of the tree: findings
    type Case<'a> = (&'a str, fn(&Path), &'a str);
    let cases: [Case; 4] = [
        (
            "config.json",
            mkfifo,
            "[file_not_regular] .thrum/config.json: a FIFO (named pipe); \
            expected a regular file",
        ),
        (
            "events.jsonl",
            link_to_dev_zero,
            "[file_not_regular] .thrum/events.jsonl: a symbolic link to a character device; \
                expected a regular file",
        ),
        (
            "identities/coordinator_auth.json",
            mkfifo,
            "[file_not_regular] .thrum/identities/coordinator_auth.json: a FIFO (named pipe); \
                expected a regular file",
        ),
        (
            "thrum.db",
            mkfifo,
            "[file_not_regular] .thrum/thrum.db: a FIFO (named pipe); expected a \
            regular file",
        ),
    ];
    for (rel, make, expected) in cases {
        let p = thrum.join(rel);
        assert!(p.is_file(), "{rel} is in the fixture");
        std::fs::rename(&p, &keep).unwrap();
        make(&p);
        let (code, out, err) = verify(&["replay", s(&fx), "--no-manifest", "--max-diffs", "0"]);
        assert_eq!(code, 1, "{rel}: {out}{err}");
        assert_result(&out, code);
        assert!(out.contains(expected), "{rel}: {out}");
        assert!(!out.contains(&format!("{rel} is missing")), "{rel}: {out}");
        restore(&p, &keep);
    }

    // a stray FIFO among the shards
    let stray = thrum.join("messages/zz.jsonl");
    mkfifo(&stray);
    let (code, out, err) = verify(&["replay", s(&fx), "--no-manifest"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_result(&out, code);
    assert!(
        out.contains(
            "[file_not_regular] .thrum/messages/zz.jsonl: a FIFO (named pipe); \
        expected a regular file"
        ),
        "{out}"
    );
    std::fs::remove_file(&stray).unwrap();

    // the tree is consistent again
    let (code, out, err) = verify(&["replay", s(&fx), "--no-manifest"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_fifo_manifest_beside_a_directory_input_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let fx = extracted(dir.path(), "thrum-fixture.tar.zst", "fx");
    mkfifo(&fx.join("manifest.json"));
    mkfifo(&fx.join("SHA256SUMS"));
    let (code, out, err) = verify(&["replay", s(&fx)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_result(&out, code);
    assert!(
        out.contains(
            "manifest.json: a FIFO (named pipe); expected a regular file (not read as a manifest)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "SHA256SUMS: a FIFO (named pipe); expected a regular file (not read as SHA256SUMS)"
        ),
        "{out}"
    );
}

#[test]
fn a_v5_log_or_database_that_is_not_a_regular_file_is_described() {
    let dir = tempfile::tempdir().unwrap();
    let v5 = extracted(dir.path(), "thrum-fixture-v5.tar.zst", "v5");
    let keep = dir.path().join("keep");
    let log = v5.join(".thrum/messages.jsonl");
    std::fs::rename(&log, &keep).unwrap();
    mkfifo(&log);
    let (code, _, err) = verify(&["migrate", s(&v5)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(".thrum/messages.jsonl is a FIFO (named pipe); expected a regular file"),
        "{err}"
    );
    restore(&log, &keep);

    let db = v5.join(".thrum/var/messages.db");
    std::fs::rename(&db, &keep).unwrap();
    mkfifo(&db);
    let (code, _, err) = verify(&["migrate", s(&v5), "--no-manifest"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("var/messages.db is a FIFO (named pipe); expected a SQLite database"),
        "{err}"
    );
}

/// A `.tar.zst` holding `files` (path, bytes).
fn archive(path: &Path, files: &[(&str, &[u8])]) {
    let tar = thrum_testkit::tar::regular_files(files.iter().copied());
    std::fs::write(path, zstd::encode_all(&tar[..], 3).unwrap()).unwrap();
}

#[test]
fn errors_about_an_archive_name_the_archive_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.tar.zst");
    archive(
        &names,
        &[
            (".thrum/config.json", b"{\"local_only\":true,\"version\":1}\n"),
            (".thrum/events.jsonl", b""),
        ],
    );
    let (code, _, err) = verify(&["replay", s(&names)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("names.tar.zst: .thrum/var/messages.db is missing from the archive"),
        "{err}"
    );
    assert!(!err.contains("verify-"), "no temporary path: {err}");

    // grammar of the extractor's counts
    let (code, _, err) =
        verify(&["extract", s(&names), s(&dir.path().join("d")), "--max-entries", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("more than 1 entry (at"), "{err}");
    let one = dir.path().join("one.tar.zst");
    archive(&one, &[(".thrum/config.json", b"{}")]);
    let (code, out, err) = verify(&["extract", s(&one), s(&dir.path().join("e"))]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("extracted 1 entry (2 bytes)"), "{out}");
}

#[test]
fn a_full_disk_is_named_on_the_path_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, vec![7u8; 1 << 17]).unwrap();
    // /dev/full (character device 1,7) fails every write with ENOSPC;
    // where /dev has none, root makes one
    let full = if Path::new("/dev/full").exists() {
        PathBuf::from("/dev/full")
    } else {
        if !thrum_io::testing::privileged("a device node like /dev/full") {
            return;
        }
        let p = dir.path().join("full");
        let st = Command::new("mknod").arg(&p).args(["c", "1", "7"]).status().unwrap();
        assert!(st.success(), "mknod {}", p.display());
        p
    };
    let e = verify::internals::copy_regular(&src, &full).unwrap_err();
    assert_eq!(e.to_string(), format!("disk full while writing {}", full.display()));
    // and a FIFO is never copied
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let e = verify::internals::copy_regular(&fifo, &dir.path().join("dest")).unwrap_err();
    assert!(e.to_string().contains("is a FIFO (named pipe); expected"), "{e}");
}

/// DEST is compared with ARCHIVE by device and inode: the archive itself
/// (through a link) or a path inside it is refused, nothing written.
#[test]
fn extract_refuses_a_dest_that_is_or_lies_in_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar.zst");
    archive(&a, &[(".thrum/config.json", b"{}")]);
    std::os::unix::fs::symlink("a.tar.zst", dir.path().join("lnk")).unwrap();
    let why = "(by device and inode); an output must not be, hold or lie in an input";
    let before = crate::common::snapshot(dir.path());
    for (dest, relation) in
        [(dir.path().join("lnk"), "is the same as"), (dir.path().join("lnk/x"), "lies inside")]
    {
        let (code, _, err) = verify(&["extract", s(&a), s(&dest)]);
        assert_eq!(
            (code, err),
            (
                2,
                format!(
                    "verify: error: refusing DEST {}: it {relation} ARCHIVE {} {why}\n",
                    s(&dest),
                    s(&a)
                )
            )
        );
        assert_eq!(crate::common::snapshot(dir.path()), before);
    }
    // a 250-byte name: its temporary's name is bounded
    let long = dir.path().join("d".repeat(250));
    let (code, out, err) = verify(&["extract", s(&a), s(&long)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("extracted 1 entry (2 bytes) to "), "{out}");
    assert_eq!(std::fs::read(long.join(".thrum/config.json")).unwrap(), b"{}");
}

/// A full disk (a tmpfs of 1 MiB) while extracting: named, exit 1, and
/// DEST absent.
#[test]
fn a_full_disk_while_extracting_exits_1() {
    if !thrum_io::testing::privileged("a tmpfs of 1 MiB") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("big.tar.zst");
    archive(&a, &[(".thrum/big.bin", &vec![0u8; 3 << 20])]);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    thrum_io::testing::mount(&[
        "-t".as_ref(),
        "tmpfs".as_ref(),
        "-o".as_ref(),
        "size=1M".as_ref(),
        "thrum-test".as_ref(),
        mnt.as_os_str(),
    ]);
    let (code, _, err) = verify(&["extract", s(&a), s(&mnt.join("dest"))]);
    let left: Vec<_> = std::fs::read_dir(&mnt).unwrap().map(|e| e.unwrap().file_name()).collect();
    thrum_io::testing::unmount(&mnt);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with(&format!("verify: error: disk full while writing {}/", s(&mnt))),
        "{err}"
    );
    assert!(left.is_empty(), "{left:?}");
}
