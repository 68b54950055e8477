//! `testgen bench --work DIR` works in a subdirectory of its own and removes it, on error too.

use super::{assert_ok, stderr, write, BIN};
use crate::common::snapshot;
use std::path::Path;
use std::process::Command;

#[test]
fn bench_works_in_a_subdirectory_of_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(&p.join("work/keep.txt"), "keep");
    write(&p.join("work/testgen-bench-1/keep.txt"), "not the bench's");
    let before = snapshot(p);
    let o = Command::new(BIN)
        .current_dir(p)
        .args([
            "bench",
            "--profile",
            "small",
            "--runs",
            "1",
            "--no-floors",
            "--no-verify",
            "--json",
            "--work",
            "work",
        ])
        .output()
        .unwrap();
    assert_ok(&o);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["scenarios"][0]["profile"], "small");
    assert_eq!(snapshot(p), before, "only the bench's own subdirectory was removed");
    // an absent --work is created, and removed again when left empty
    let o = Command::new(BIN)
        .current_dir(p)
        .args([
            "bench",
            "--profile",
            "small",
            "--runs",
            "1",
            "--no-floors",
            "--no-verify",
            "--json",
            "--work",
            "new/work",
        ])
        .output()
        .unwrap();
    assert_ok(&o);
    let mut after = snapshot(p);
    assert!(
        after.remove("new").is_some_and(|d| d.starts_with("dir ")),
        "new/ is left, a directory"
    );
    assert_eq!(after, before);
    // a file as --work
    let o = Command::new(BIN)
        .current_dir(p)
        .args([
            "bench",
            "--profile",
            "small",
            "--runs",
            "1",
            "--no-floors",
            "--no-verify",
            "--work",
            "work/keep.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "testgen: error: invalid option: --work work/keep.txt is not a directory\n"
    );
}

#[test]
fn bench_removes_its_subdirectory_on_error_too() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    write(&work.join("keep.txt"), "keep");
    let before = snapshot(tmp.path());
    let o = testgen::bench::BenchOptions {
        profiles: vec!["small".into()],
        runs: 1,
        jobs: 1,
        work: work.clone(),
        floors: false,
        verify: None,
        seed: 1,
        mesh: None,
        overrides: Default::default(),
        progress: false,
    };
    // a "generator" that fails at once
    let e = testgen::bench::run(Path::new("false"), &o).unwrap_err();
    assert!(e.to_string().contains("testgen failed"), "{e}");
    assert_eq!(snapshot(tmp.path()), before);
}
