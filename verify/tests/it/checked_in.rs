//! The checked-in fixtures (`fixtures/` at the workspace root, committed by
//! the generator) must verify and migrate cleanly, through the binary.
//! They are part of the repository, so their absence is a failure.

use crate::common::verify;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn need(name: &str) -> PathBuf {
    let p = fixtures().join(name);
    assert!(
        p.is_file(),
        "{} is missing: the generated fixtures are checked in at fixtures/ (run `just regen`)",
        p.display()
    );
    p
}

#[test]
fn checked_in_v13_fixture_replays_consistently() {
    let a = need("thrum-fixture.tar.zst");
    let (code, out, err) = verify(&["replay", a.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["consistent"], true);
    assert_eq!(r["errors"], 0);
    // the manifest and the checksums beside it were found and checked
    assert!(r["summary"]["manifest"].as_str().unwrap().contains("manifest.json"), "{out}");
    assert!(r["summary"]["sha256sums"].as_str().unwrap().ends_with("SHA256SUMS"), "{out}");
    let messages =
        r["tables"].as_array().unwrap().iter().find(|t| t["table"] == "messages").unwrap();
    assert_eq!(messages["rows_db"], messages["rows_expected"]);
    assert!(messages["rows_db"].as_u64().unwrap() > 0);
}

#[test]
fn checked_in_v5_fixture_migrates_consistently() {
    let a = need("thrum-fixture-v5.tar.zst");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("migrated");
    let (code, out, err) =
        verify(&["migrate", a.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("idempotent: yes"), "{out}");
    assert!(out.contains("manifest-v5.json"), "{out}");
    // the written tree verifies as a migrated tree
    let (code, out, err) = verify(&["replay", "--migrated", out_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn exit_codes_and_help() {
    let (code, _, err) = verify(&["replay", "/nonexistent/fixture.tar.zst"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/fixture.tar.zst") && err.contains("does not exist"),
        "{err}"
    );
    let (code, _, err) = verify(&["replay", need("thrum-fixture-v5.tar.zst").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("verify migrate"), "{err}");
    let (code, _, err) = verify(&["migrate", need("thrum-fixture.tar.zst").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("expected a v5 layout"), "{err}");
    for sub in ["replay", "migrate", "extract", "bench"] {
        let (code, out, _) = verify(&[sub, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Exit codes:"), "{sub} --help must explain exit codes:\n{out}");
    }
    let (code, out, _) = verify(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes:"));
}

#[test]
fn tampered_copy_exits_one_and_extract_refuses_existing_destination() {
    let a = need("thrum-fixture.tar.zst");
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x");
    let (code, out, err) = verify(&["extract", a.to_str().unwrap(), x.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = verify(&["extract", a.to_str().unwrap(), x.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
    let db = rusqlite::Connection::open(x.join(".thrum/var/messages.db")).unwrap();
    db.execute("UPDATE messages SET deleted = 1 - deleted WHERE rowid = 7", []).unwrap();
    drop(db);
    let (code, out, _) = verify(&["replay", x.to_str().unwrap(), "--json", "--no-manifest"]);
    assert_eq!(code, 1);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["finding_counts"]["cell_differs"], 1, "{out}");
    let f = &r["findings"].as_array().unwrap()[0];
    assert_eq!(
        (f["kind"].as_str(), f["table"].as_str(), f["column"].as_str()),
        (Some("cell_differs"), Some("messages"), Some("deleted"))
    );
}
