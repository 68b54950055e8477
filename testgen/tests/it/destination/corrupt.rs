//! `testgen corrupt --out`: only a previous corrupted copy, exactly as its record lists it, is
//! replaced.

use super::{assert_ok, assert_refused, generate, names, stderr, write, BIN};
use crate::common::snapshot;
use std::process::Command;

#[test]
fn corrupt_replaces_only_a_previous_corrupted_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    assert_ok(&generate(p, &["--out", "fx"]));
    let corrupt = |out: &str, fault: &str| {
        Command::new(BIN)
            .current_dir(p)
            .args(["corrupt", "--fault", fault, "--in", "fx/thrum-fixture.tar.zst", "--out", out])
            .output()
            .unwrap()
    };
    let fault_of = |out: &str| -> String {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join(out).join("FAULT.json")).unwrap())
                .unwrap();
        v["fault"].as_str().unwrap().to_string()
    };
    std::fs::create_dir(p.join("empty")).unwrap();
    assert_ok(&corrupt("empty", "altered-cell"));
    assert_ok(&corrupt("c", "altered-cell"));
    assert_eq!(names(&p.join("c")), [".testgen-corrupt.json", ".thrum", "FAULT.json"]);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("c/.testgen-corrupt.json")).unwrap()).unwrap();
    assert_eq!(record["kind"], "corrupt");
    assert_eq!(
        record["files"]["FAULT.json"],
        std::fs::metadata(p.join("c/FAULT.json")).unwrap().len()
    );
    assert_eq!(
        record["files"][".thrum/var/messages.db"],
        std::fs::metadata(p.join("c/.thrum/var/messages.db")).unwrap().len()
    );
    assert_ok(&corrupt("c", "checksum-mismatch"));
    assert_eq!(fault_of("c"), "checksum-mismatch");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("c/.testgen-corrupt.json")).unwrap()).unwrap();
    assert!(record["files"]["SHA256SUMS"].is_u64());
    assert_ok(&corrupt("c", "missing-row"));
    assert_eq!(fault_of("c"), "missing-row");
    assert!(!p.join("c/SHA256SUMS").exists(), "replaced entirely");
    // an extra file
    write(&p.join("c/notes.txt"), "mine");
    let before = snapshot(p);
    assert_refused(
        &corrupt("c", "altered-cell"),
        "refusing to replace c: it holds files testgen did not write (notes.txt); choose another \
            --out or remove it yourself",
        p,
        &before,
    );
    std::fs::remove_file(p.join("c/notes.txt")).unwrap();
    // extra files inside its .thrum
    write(&p.join("c/.thrum/precious.txt"), "mine");
    write(&p.join("c/.thrum/mywork/a"), "mine too");
    let before = snapshot(p);
    assert_refused(
        &corrupt("c", "altered-cell"),
        "refusing to replace c: it holds files testgen \
        did not write (.thrum/mywork/, .thrum/precious.txt); choose another --out or remove it \
        yourself",
        p,
        &before,
    );
    std::fs::remove_dir_all(p.join("c/.thrum/mywork")).unwrap();
    std::fs::remove_file(p.join("c/.thrum/precious.txt")).unwrap();
    // a FAULT.json edited
    write(&p.join("c/FAULT.json"), "{\"fault\": \"rm-rf\"}");
    let before = snapshot(p);
    assert_refused(
        &corrupt("c", "altered-cell"),
        "refusing to replace c: it is not an output of \
        testgen: files differ in size from what testgen wrote (FAULT.json); choose another --out \
        or remove it yourself",
        p,
        &before,
    );
    // a hand-made FAULT.json beside a database of the user's: no record, not ours
    write(&p.join("hand/FAULT.json"), "{\"fault\":\"altered-cell\"}");
    write(&p.join("hand/.thrum/thrum.db"), "my database");
    let before = snapshot(p);
    assert_refused(
        &corrupt("hand", "altered-cell"),
        "refusing to replace hand: it is not an output of testgen: it has no \
            .testgen-corrupt.json, the record of what testgen wrote there, so it is not a \
            corrupted copy or one an older testgen wrote (it holds .thrum/, FAULT.json); choose \
            another --out or remove it yourself",
        p,
        &before,
    );
    // another kind of output of ours (here also the input's directory), and an unrelated directory
    let before = snapshot(p);
    assert_refused(
        &corrupt("fx", "altered-cell"),
        "refusing --out fx: it contains --in fx/thrum-fixture.tar.zst (by device and inode); an \
            output must not be, hold or lie in an input",
        p,
        &before,
    );
    std::fs::rename(p.join("fx"), p.join("fx2")).unwrap();
    write(&p.join("fx/manifest.json"), "{}");
    let o = Command::new(BIN)
        .current_dir(p)
        .args([
            "corrupt",
            "--fault",
            "altered-cell",
            "--in",
            "fx2/thrum-fixture.tar.zst",
            "--out",
            "fx",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "testgen: error: refusing to replace fx: it is not an output of testgen: it has no \
            .testgen-corrupt.json, the record of what testgen wrote there, so it is not a \
            corrupted copy or one an older testgen wrote (it holds manifest.json); choose another \
            --out or remove it yourself\n"
    );
    std::fs::remove_dir_all(p.join("fx")).unwrap();
    std::fs::rename(p.join("fx2"), p.join("fx")).unwrap();
    write(&p.join("mine/a.txt"), "a");
    let before = snapshot(p);
    assert_refused(
        &corrupt("mine", "altered-cell"),
        "refusing to replace mine: it is not an output of testgen: it has no \
            .testgen-corrupt.json, the record of what testgen wrote there, so it is not a \
            corrupted copy or one an older testgen wrote (it holds a.txt); choose another --out \
            or remove it yourself",
        p,
        &before,
    );
    // and the generator does not replace a corrupted copy
    assert_refused(
        &generate(p, &["--out", "empty"]),
        "refusing to replace empty: it holds files testgen did not write (.testgen-corrupt.json, \
            .thrum/, FAULT.json); choose another --out or remove it yourself",
        p,
        &before,
    );
}
