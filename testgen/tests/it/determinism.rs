//! Same seed and options give identical bytes; another seed differs; the
//! number of worker threads never changes a byte; failed runs leave the
//! previous output untouched.

use crate::common::*;
use thrum_gen::Profile;

#[test]
fn same_seed_same_bytes_any_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = read_all(&generate(tmp.path(), 42, Profile::default_profile(), 1));
    let b = read_all(&generate(&tmp.path().join("again"), 42, Profile::default_profile(), 2));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between --jobs 1 and --jobs 2");
    }
    // and the expanded trees inside the archives are identical too
    for name in [testgen::ARCHIVE, testgen::ARCHIVE_V5] {
        assert!(a.contains_key(name), "{name} missing");
    }
}

#[test]
fn another_seed_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = read_all(&generate(tmp.path(), 1, Profile::small(), 2));
    let b = read_all(&generate(tmp.path(), 2, Profile::small(), 2));
    for name in [testgen::ARCHIVE, testgen::ARCHIVE_V5, testgen::MANIFEST] {
        assert_ne!(a[name], b[name], "{name} must depend on the seed");
    }
}

#[test]
fn repeated_small_runs_are_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let first = read_all(&generate(tmp.path(), 9, Profile::small(), 3));
    // Regenerate into the same directory: replaced atomically, same bytes.
    let out = generate(tmp.path(), 9, Profile::small(), 1);
    assert_eq!(first, read_all(&out));
    // No temporaries left beside the output.
    let stray: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(stray.is_empty(), "stray temporaries: {stray:?}");
}

#[test]
fn failed_run_leaves_previous_output_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate(tmp.path(), 5, Profile::small(), 1);
    let before = read_all(&out);
    // A --tree path under a regular file cannot be created: the run fails
    // after staging everything else.
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let opts = testgen::Options {
        seed: 6,
        profile: Profile::small(),
        out: out.clone(),
        tree: Some(blocker.join("tree")),
        jobs: 1,
        progress: false,
        v5: true,
        compression: testgen::Compression::Zstd,
    };
    let err = testgen::generate(&opts).unwrap_err();
    assert!(err.to_string().contains("tree"), "error names the path: {err}");
    assert_eq!(before, read_all(&out), "previous output changed by a failed run");
    let stray: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(stray.is_empty(), "stray temporaries: {stray:?}");
}

#[test]
fn cli_rejects_bad_arguments_with_exit_code_2() {
    let bin = env!("CARGO_BIN_EXE_testgen");
    for args in [
        &["--profile", "nope"][..],
        &["--jobs", "0"],
        &["--seed", "-1"],
        &["--bogus"],
        &["--agents", "1"],
        &["--sessions", "3"],
        &["--messages", "0"],
        &["--events", "5"],
    ] {
        let o = std::process::Command::new(bin).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty());
    }
    let o = std::process::Command::new(bin).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in ["--seed", "--profile", "--out", "--tree", "--jobs"] {
        assert!(help.contains(flag), "--help explains {flag}");
    }
}

/// `--agents`/`--messages`/... override the profile: the database holds
/// exactly those volumes and the manifest names them.
#[test]
fn volume_overrides_reach_every_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fx");
    let bin = env!("CARGO_BIN_EXE_testgen");
    let o = std::process::Command::new(bin)
        .args([
            "--profile",
            "small",
            "--agents",
            "9",
            "--messages",
            "777",
            "--subscriptions",
            "11",
            "--days",
            "3",
            "--no-v5",
            "-q",
            "--tree",
        ])
        .arg(dir.path().join("tree"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = rusqlite::Connection::open(dir.path().join("tree/.thrum/var/messages.db")).unwrap();
    let count = |t: &str| -> i64 {
        db.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0)).unwrap()
    };
    assert_eq!(count("agents"), 9);
    assert_eq!(count("messages"), 777);
    assert_eq!(count("subscriptions"), 11);
    let (first, last): (String, String) = db
        .query_row("SELECT min(created_at), max(created_at) FROM messages", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(
        first.as_str() < last.as_str()
            && first[..10] >= *"2026-03-02"
            && last[..10] <= *"2026-03-05",
        "{first} .. {last}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["profile"], "small+agents=9,messages=777,subscriptions=11,days=3");
    assert_eq!(manifest["counts"]["tables"]["messages"], 777);
}
