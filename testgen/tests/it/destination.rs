//! Nothing testgen did not make is ever destroyed: `--out`, `--tree` and
//! `corrupt --out` replace only an absent or empty directory or a previous
//! output of the same kind with nothing else in it (for `--tree` and
//! `corrupt`, exactly what testgen's ownership record lists); anything else is
//! refused with exit 2, a message saying what is there and how to proceed,
//! and every pre-existing byte intact (no temporary left beside it).
//! `bench --work DIR` works in a subdirectory of its own.

mod bench;
mod corrupt;

use crate::common::snapshot;
use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_testgen");

/// Runs testgen in `cwd` with the small profile, no v5 fixture.
fn generate(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(cwd)
        .args(["--profile", "small", "--no-v5", "--quiet", "--jobs", "2"])
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(o));
}

/// Exit 2 with exactly `message` (after `testgen: error: `), and nothing
/// below `root` changed (no temporary left either).
#[track_caller]
fn assert_refused(o: &Output, message: &str, root: &Path, before: &BTreeMap<String, String>) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    assert_eq!(stderr(o), format!("testgen: error: {message}\n"));
    assert_eq!(&snapshot(root), before, "nothing is touched, nothing is left");
}

fn seed_of(out: &Path) -> u64 {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(testgen::MANIFEST)).unwrap()).unwrap();
    m["seed"].as_u64().unwrap()
}

fn write(p: &Path, bytes: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn an_unrelated_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("out/README.md"), "# mine\n");
    write(&tmp.path().join("out/data/a.csv"), "1,2\n");
    for i in 0..3 {
        write(&tmp.path().join(format!("out/notes-{i}.txt")), "n");
    }
    let before = snapshot(tmp.path());
    let o = generate(tmp.path(), &["--out", "out"]);
    assert_refused(
        &o,
        "refusing to replace out: it holds files testgen did not write (README.md, \
        data/, and 3 more); choose another --out or remove it yourself",
        tmp.path(),
        &before,
    );
}

#[test]
fn the_default_fixtures_of_another_project_are_not_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("fixtures/README.md"), "our own fixtures\n");
    write(&tmp.path().join("fixtures/data/users.json"), "[{\"id\": 1}]\n");
    let before = snapshot(tmp.path());
    let o = generate(tmp.path(), &[]);
    assert_refused(
        &o,
        "refusing to replace fixtures: it holds files testgen did not write (README.md, data/); \
            choose another --out or remove it yourself",
        tmp.path(),
        &before,
    );
}

#[test]
fn a_previous_output_is_replaced_and_an_extra_file_makes_it_foreign() {
    let tmp = tempfile::tempdir().unwrap();
    assert_ok(&generate(tmp.path(), &["--out", "out", "--seed", "1"]));
    assert_eq!(seed_of(&tmp.path().join("out")), 1);
    assert_ok(&generate(tmp.path(), &["--out", "out", "--seed", "2"]));
    assert_eq!(seed_of(&tmp.path().join("out")), 2, "the previous output was replaced");
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["out"], "no temporary is left");
    // one extra file, even deep inside: not ours any more
    write(&tmp.path().join("out/parquet/agents/notes.txt"), "mine");
    let before = snapshot(tmp.path());
    let o = generate(tmp.path(), &["--out", "out", "--seed", "3"]);
    assert_refused(
        &o,
        "refusing to replace out: it holds files testgen did not write \
        (parquet/agents/notes.txt); choose another --out or remove it yourself",
        tmp.path(),
        &before,
    );
    // a manifest that names another generator: not ours either
    std::fs::remove_file(tmp.path().join("out/parquet/agents/notes.txt")).unwrap();
    let m = std::fs::read_to_string(tmp.path().join("out/manifest.json"))
        .unwrap()
        .replace("\"generator\": \"testgen ", "\"generator\": \"othergen ");
    std::fs::write(tmp.path().join("out/manifest.json"), m).unwrap();
    let before = snapshot(tmp.path());
    let o = generate(tmp.path(), &["--out", "out"]);
    assert_refused(
        &o,
        "refusing to replace out: it is not an output of testgen: neither \
        manifest.json nor shard.json names testgen as its generator; choose another --out or \
        remove it yourself",
        tmp.path(),
        &before,
    );
}

#[test]
fn an_empty_directory_and_a_sharded_output_are_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("out")).unwrap();
    assert_ok(&generate(tmp.path(), &["--out", "out", "--seed", "5"]));
    assert_eq!(seed_of(&tmp.path().join("out")), 5);
    // a shard's output replaces a whole one and the other way round
    assert_ok(&generate(tmp.path(), &["--out", "out", "--shard", "0/3"]));
    assert!(
        tmp.path().join("out").join(testgen::shard::manifest_path(0, 3)).is_file()
            && !tmp.path().join("out").join(testgen::MANIFEST).exists()
    );
    assert_ok(&generate(tmp.path(), &["--out", "out", "--shard", "2/3"]));
    assert_ok(&generate(tmp.path(), &["--out", "out", "--seed", "6"]));
    assert_eq!(seed_of(&tmp.path().join("out")), 6);
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["out"]);
}

#[test]
fn a_regular_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("out"), "my notes\n");
    let before = snapshot(tmp.path());
    let o = generate(tmp.path(), &["--out", "out"]);
    assert_refused(
        &o,
        "refusing to replace out: it is a regular file (9 bytes), not a directory; choose another \
            --out or remove it yourself",
        tmp.path(),
        &before,
    );
    // nor is anything below a file created
    let o = generate(tmp.path(), &["--out", "out/sub/dir"]);
    assert_refused(
        &o,
        "refusing to replace out/sub/dir: out is not a directory; choose another --out",
        tmp.path(),
        &before,
    );
}

#[test]
fn a_symbolic_link_is_refused_even_to_an_output_of_ours() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("theirs/keep.txt"), "keep");
    assert_ok(&generate(tmp.path(), &["--out", "ours", "--seed", "8"]));
    std::os::unix::fs::symlink("theirs", tmp.path().join("to-dir")).unwrap();
    std::os::unix::fs::symlink("ours", tmp.path().join("to-ours")).unwrap();
    let before = snapshot(tmp.path());
    for (arg, target) in [
        ("to-dir", "theirs"),
        ("to-dir/", "theirs"),
        ("to-ours", "ours"),
        ("to-ours/", "ours"),
        ("to-ours/.", "ours"),
    ] {
        let o = generate(tmp.path(), &["--out", arg]);
        let name = arg.trim_end_matches('.').trim_end_matches('/');
        assert_refused(
            &o,
            &format!(
                "refusing to replace {name}: it is a symbolic link (to {target}); choose \
                another --out (the link's target itself, if it is an output of testgen) or remove \
                the link yourself"
            ),
            tmp.path(),
            &before,
        );
    }
    assert_eq!(seed_of(&tmp.path().join("ours")), 8);
}

#[test]
fn a_fifo_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Command::new("mkfifo").arg(tmp.path().join("out")).status().unwrap();
    assert!(st.success());
    let before = snapshot(tmp.path());
    let o = generate(tmp.path(), &["--out", "out"]);
    assert_refused(
        &o,
        "refusing to replace out: it is a named pipe (FIFO); choose another --out or remove it \
            yourself",
        tmp.path(),
        &before,
    );
}

#[test]
fn a_device_node_is_refused() {
    if !thrum_io::testing::privileged("a device node (mknod)") {
        return;
    }
    // a node made here, never the real /dev/null
    let tmp = tempfile::tempdir().unwrap();
    let made = Command::new("mknod").arg(tmp.path().join("null")).args(["c", "1", "3"]).status();
    assert!(made.is_ok_and(|s| s.success()), "mknod failed as root");
    let before = snapshot(tmp.path());
    let o = generate(tmp.path(), &["--out", "null"]);
    assert_refused(
        &o,
        "refusing to replace null: it is a character device; choose another --out or remove it \
            yourself",
        tmp.path(),
        &before,
    );
    assert!(std::fs::symlink_metadata(tmp.path().join("null"))
        .unwrap()
        .file_type()
        .is_char_device());
}

/// A tmpfs mounted in a private mount namespace (`unshare`: in a user
/// namespace where the system allows one, else as root; skipped with a note
/// otherwise, a failure where root tests are required). The st_dev
/// comparison itself is also unit-tested with an injected parent device
/// (`publish::tests`).
#[test]
fn a_mount_point_is_refused() {
    let userns = ["--user", "--map-root-user", "--mount"];
    let in_userns = Command::new("unshare")
        .args(userns)
        .arg("true")
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !in_userns && !thrum_io::testing::privileged("a tmpfs in a private mount namespace") {
        return;
    }
    let unshare: &[&str] = if in_userns { &userns } else { &["--mount"] };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("mnt")).unwrap();
    let before = snapshot(tmp.path());
    // mount, put a file in it, run testgen, then show the file survived
    let script = r#"mount -t tmpfs thrum-test mnt || exit 99
echo keep > mnt/keep.txt
"$0" --profile small --no-v5 --quiet --out mnt
rc=$?
cat mnt/keep.txt >&2
exit $rc"#;
    let o = Command::new("unshare")
        .args(unshare)
        .args(["sh", "-c", script, BIN])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(99), "cannot mount a tmpfs: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "testgen: error: refusing to replace mnt: it is a mount point (another file system is \
            mounted there); choose another --out (a directory inside the mount point will \
            do)\nkeep\n"
    );
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn stale_temporaries_are_collected_only_when_they_are_ours() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    // above the kernel's pid limit: no such process
    let dead = 4_194_305u32;
    write(&p.join(format!(".out.tmp-{dead}/thrum-fixture.tar.zst")), "partial");
    // the proof that a run of ours made it
    let marker = thrum_io::cleanup::marker_path(&p.join(format!(".out.tmp-{dead}")));
    write(&marker, &thrum_io::cleanup::marker_text(&format!(".out.tmp-{dead}"), dead));
    // the same name without it: the user's, never touched
    write(&p.join(format!(".out.tmp-{}/a", dead + 3)), "mine");
    write(&p.join("precious/keep.txt"), "keep");
    std::os::unix::fs::symlink("precious", p.join(format!(".out.tmp-{}", dead + 1))).unwrap();
    write(&p.join(format!(".out.tmp-{dead}.bak/keep.txt")), "keep");
    write(&p.join(format!(".out.tmp-{}", dead + 2)), "a file");
    assert_ok(&generate(p, &["--out", "out"]));
    let mut names: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want = vec![
        format!(".out.tmp-{}", dead + 1),
        format!(".out.tmp-{}", dead + 2),
        format!(".out.tmp-{dead}.bak"),
        format!(".out.tmp-{}", dead + 3),
        "out".into(),
        "precious".into(),
    ];
    want.sort();
    assert_eq!(names, want, "only the dead run's directory was removed");
    assert_eq!(std::fs::read(p.join("precious/keep.txt")).unwrap(), b"keep");
    assert_eq!(std::fs::read(p.join(format!(".out.tmp-{dead}.bak/keep.txt"))).unwrap(), b"keep");
    assert_eq!(self::names(&p.join(format!(".out.tmp-{}", dead + 3))), ["a"]);
    assert_eq!(std::fs::read(p.join(format!(".out.tmp-{}/a", dead + 3))).unwrap(), b"mine");
}

/// The entries directly in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(p).unwrap().ino()
}

#[test]
fn tree_replaces_only_a_thrum_its_record_describes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    // a project's own .thrum (no record beside it): refused before any work (no --out either)
    write(&p.join("project/.thrum/config.json"), "{\"local_only\": false, \"version\": 1}");
    write(
        &p.join("project/.thrum/identities/me.json"),
        "{\"version\": 2, \"agent\": {\"Name\": \"me\"}}",
    );
    write(
        &p.join("project/.thrum/messages/me.jsonl"),
        "{\"type\":\"message.create\",\"body\":\"mine\"}\n",
    );
    {
        std::fs::create_dir(p.join("project/.thrum/var")).unwrap();
        let db = rusqlite::Connection::open(p.join("project/.thrum/var/messages.db")).unwrap();
        db.execute_batch(
            "CREATE TABLE my_notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO \
            my_notes (text) VALUES ('keep me');",
        )
        .unwrap();
    }
    write(&p.join("project/README.md"), "# project");
    let before = snapshot(p);
    let o = generate(p, &["--out", "out", "--tree", "project"]);
    assert_refused(
        &o,
        "refusing to replace project/.thrum: it is not an output of testgen: no \
            .thrum.testgen.json beside it records it as testgen's, so it is a project's own \
            .thrum or one an older testgen wrote (it holds config.json, identities/, and 2 more); \
            choose another --tree or remove it yourself",
        p,
        &before,
    );
    // the same .thrum alone in its directory: refused all the same
    std::fs::rename(p.join("project/README.md"), p.join("README.md")).unwrap();
    let before = snapshot(p);
    let o = generate(p, &["--out", "out", "--tree", "project"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(snapshot(p), before);
    // a link named .thrum
    std::fs::create_dir(p.join("linked")).unwrap();
    std::os::unix::fs::symlink("../project/.thrum", p.join("linked/.thrum")).unwrap();
    let before = snapshot(p);
    let o = generate(p, &["--out", "out", "--tree", "linked"]);
    assert_refused(
        &o,
        "refusing to replace linked/.thrum: it is a symbolic link (to \
        ../project/.thrum); choose another --tree (the link's target itself, if it is an output \
        of testgen) or remove the link yourself",
        p,
        &before,
    );

    // a new tree, then a previous tree of ours, are written
    assert_ok(&generate(p, &["--out", "out", "--tree", "t", "--seed", "1"]));
    assert_eq!(names(&p.join("t")), [".thrum", ".thrum.testgen.json"]);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("t/.thrum.testgen.json")).unwrap()).unwrap();
    assert_eq!(record["kind"], "tree");
    assert!(record["generator"].as_str().unwrap().starts_with("testgen "));
    let size = |rel: &str| std::fs::metadata(p.join("t/.thrum").join(rel)).unwrap().len();
    assert_eq!(record["files"]["var/messages.db"], size("var/messages.db"));
    assert_eq!(record["files"]["config.json"], size("config.json"));
    let first = std::fs::read(p.join("t/.thrum/var/messages.db")).unwrap();
    assert_ok(&generate(p, &["--out", "out", "--tree", "t", "--seed", "2"]));
    assert_ne!(std::fs::read(p.join("t/.thrum/var/messages.db")).unwrap(), first, "replaced");
    assert_eq!(names(&p.join("t")), [".thrum", ".thrum.testgen.json"], "no temporary is left");
    // files added to a tree of ours make it foreign; every byte is kept
    write(&p.join("t/.thrum/identities/precious.json"), "{\"mine\": true}");
    write(&p.join("t/.thrum/context/my-notes.md"), "# my notes\n");
    let before = snapshot(p);
    let o = generate(p, &["--out", "out", "--tree", "t", "--seed", "3"]);
    assert_refused(
        &o,
        "refusing to replace t/.thrum: it holds files testgen did not write \
        (context/my-notes.md, identities/precious.json); choose another --tree or remove it \
        yourself",
        p,
        &before,
    );
    std::fs::remove_file(p.join("t/.thrum/identities/precious.json")).unwrap();
    std::fs::remove_file(p.join("t/.thrum/context/my-notes.md")).unwrap();
    // a file of ours edited (another size)
    let mut config = std::fs::read_to_string(p.join("t/.thrum/config.json")).unwrap();
    config.push_str("\n// mine\n");
    std::fs::write(p.join("t/.thrum/config.json"), config).unwrap();
    let before = snapshot(p);
    let o = generate(p, &["--out", "out", "--tree", "t", "--seed", "3"]);
    assert_refused(
        &o,
        "refusing to replace t/.thrum: it is not an output of testgen: files \
        differ in size from what testgen wrote (config.json); choose another --tree or remove it \
        yourself",
        p,
        &before,
    );
    // a directory without .thrum may hold anything: nothing is replaced
    write(&p.join("shared/notes.txt"), "mine");
    assert_ok(&generate(p, &["--out", "out", "--tree", "shared"]));
    assert_eq!(std::fs::read(p.join("shared/notes.txt")).unwrap(), b"mine");
    // ... and the .thrum written there is replaced again, the notes kept
    let was = inode(&p.join("shared/.thrum"));
    assert_ok(&generate(p, &["--out", "out", "--tree", "shared"]));
    assert_ne!(inode(&p.join("shared/.thrum")), was, "replaced");
    assert_eq!(std::fs::read(p.join("shared/notes.txt")).unwrap(), b"mine");
    assert_eq!(names(&p.join("shared")), [".thrum", ".thrum.testgen.json", "notes.txt"]);
}

#[test]
fn a_record_testgen_did_not_write_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(&p.join("t/.thrum.testgen.json"), "my notes\n");
    let before = snapshot(p);
    let o = generate(p, &["--out", "out", "--tree", "t"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(
            "testgen: error: refusing to replace t/.thrum.testgen.json: it is \
            not an output of testgen: it is not a record testgen writes ("
        ),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).ends_with("; choose another --tree or remove it yourself\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(p), before);
}

#[test]
fn a_run_with_the_tree_in_the_working_directory_can_be_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    assert_ok(&generate(p, &["--out", "out", "--tree", "."]));
    assert_eq!(names(p), [".thrum", ".thrum.testgen.json", "out"]);
    let (first, was) = (snapshot(&p.join(".thrum")), inode(&p.join(".thrum")));
    assert_ok(&generate(p, &["--out", "out", "--tree", "."]));
    assert_ne!(inode(&p.join(".thrum")), was, "the first run's .thrum was replaced");
    assert_eq!(snapshot(&p.join(".thrum")), first, "by the same bytes");
    assert_eq!(names(p), [".thrum", ".thrum.testgen.json", "out"], "no temporary is left");
    assert_ok(&generate(p, &["--out", "out", "--tree", ".", "--seed", "2"]));
    assert_ne!(snapshot(&p.join(".thrum")), first);
}

/// `--out` and `--tree` are compared by device and inode: a link to
/// `--out` given as `--tree` is refused before anything is written.
#[test]
fn a_tree_that_is_the_output_by_another_name_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::os::unix::fs::symlink("y", p.join("ly")).unwrap();
    let why = "(by device and inode); an output must not be, hold or lie in an input";
    // y does not exist yet
    let before = snapshot(p);
    let o = generate(p, &["--out", "y", "--tree", "ly"]);
    assert_refused(
        &o,
        &format!("refusing --out y: it contains --tree ly/.thrum {why}"),
        p,
        &before,
    );
    // y is a previous output
    assert_ok(&generate(p, &["--out", "y"]));
    let before = snapshot(p);
    let o = generate(p, &["--out", "y", "--tree", "ly"]);
    assert_refused(
        &o,
        &format!("refusing --out y: it contains --tree ly/.thrum {why}"),
        p,
        &before,
    );
    let o = generate(p, &["--out", "ly/.thrum/x", "--tree", "y"]);
    assert_refused(
        &o,
        &format!("refusing --out ly/.thrum/x: it lies inside --tree y/.thrum {why}"),
        p,
        &before,
    );
    let o = generate(p, &["--out", "y/../y", "--tree", "y"]);
    assert_refused(
        &o,
        &format!("refusing --out y/../y: it contains --tree y/.thrum {why}"),
        p,
        &before,
    );
    // the tree's record is a destination too
    let o = generate(p, &["--out", "t/.thrum.testgen.json", "--tree", "t"]);
    assert_refused(
        &o,
        &format!(
            "refusing --out t/.thrum.testgen.json: it is the same as the record of --tree \
            t/.thrum.testgen.json {why}"
        ),
        p,
        &before,
    );
    // --out inside TREE but apart from TREE/.thrum is allowed
    assert_ok(&generate(p, &["--out", "t/out", "--tree", "t"]));
    assert!(
        p.join("t/.thrum/var/messages.db").is_file()
            && p.join("t/out").join(testgen::MANIFEST).is_file()
    );
}

/// A full disk is reported as such, with exit 1 (not a refusal): for a
/// run and for `bench --work` on a small tmpfs.
#[test]
fn a_full_disk_is_named_and_exits_1() {
    if !thrum_io::testing::privileged("a tmpfs of 1 MiB") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    thrum_io::testing::mount(&[
        "-t".as_ref(),
        "tmpfs".as_ref(),
        "-o".as_ref(),
        "size=1M".as_ref(),
        "thrum-test".as_ref(),
        mnt.as_os_str(),
    ]);
    let run = generate(&mnt, &["--out", "out"]);
    let bench = Command::new(BIN)
        .args([
            "bench",
            "--profile",
            "small",
            "--runs",
            "1",
            "--no-floors",
            "--no-verify",
            "--work",
        ])
        .arg(mnt.join("work"))
        .output()
        .unwrap();
    let left = names(&mnt);
    thrum_io::testing::unmount(&mnt);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.starts_with(
            "testgen: error: generating the fixture into out: disk full while writing "
        ),
        "{err}"
    );
    assert_eq!(bench.status.code(), Some(1), "{}", stderr(&bench));
    assert!(stderr(&bench).contains("disk full while writing "), "{}", stderr(&bench));
    assert!(left.is_empty(), "nothing left on the full disk: {left:?}");
}
