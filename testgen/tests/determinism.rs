//! Same seed and options give identical bytes; another seed differs; the
//! number of worker threads never changes a byte; failed runs leave the
//! previous output untouched.

mod common;
use common::*;
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
    let stray: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.contains(".tmp-")).collect();
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
    let opts = testgen::Options { seed: 6, profile: Profile::small(), out: out.clone(), tree: Some(blocker.join("tree")), jobs: 1, progress: false, v5: true };
    let err = testgen::generate(&opts).unwrap_err();
    assert!(err.to_string().contains("tree"), "error names the path: {err}");
    assert_eq!(before, read_all(&out), "previous output changed by a failed run");
    let stray: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.contains(".tmp-")).collect();
    assert!(stray.is_empty(), "stray temporaries: {stray:?}");
}

#[test]
fn cli_rejects_bad_arguments_with_exit_code_2() {
    let bin = env!("CARGO_BIN_EXE_testgen");
    for args in [&["--profile", "nope"][..], &["--jobs", "0"], &["--seed", "-1"], &["--bogus"]] {
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
