//! Inputs never destroyed: a destination that is an input, holds one, or
//! lies in one, reached through a symlink, `..` or a plain name, is refused
//! (exit 2) before any work, and every input stays byte-identical.

use super::base::{base, copy};
use super::lab::{step, Bin, Expect, Lab, Row};
use std::os::unix::fs::symlink;

const CLASS: &str = "input destroyed";

fn refused<'a>(says: &'a [&'a str]) -> Expect<'a> {
    Expect { code: 2, says, dest: None }
}

/// Two slices in `work/s0`, `work/s1`.
fn slices(lab: &Lab) {
    copy(&base().shards[0], &lab.at("s0"));
    copy(&base().shards[1], &lab.at("s1"));
}

fn merge_cases() -> Vec<Result<Row, String>> {
    let mut r = Vec::new();
    let lab = Lab::new();
    slices(&lab);
    symlink("s0", lab.at("lnk0")).unwrap();
    std::fs::create_dir(lab.at("sub")).unwrap();
    symlink("../s0", lab.at("sub/l")).unwrap();
    r.push(step(
        &lab,
        CLASS,
        "merge: --out is an input named through a symlink",
        Bin::Testgen,
        &args!["merge", "--out", "s0", "lnk0", "s1"],
        refused(&["s0"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "merge: the same through sub/l -> ../s0",
        Bin::Testgen,
        &args!["merge", "--out", "s0", "sub/l", "s1"],
        refused(&["s0"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "merge --link: the same",
        Bin::Testgen,
        &args!["merge", "--link", "--out", "s0", "lnk0", "s1"],
        refused(&["s0"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "merge: --out through a symlink to an input",
        Bin::Testgen,
        &args!["merge", "--out", "lnk0", "s0", "s1"],
        refused(&["lnk0"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "merge: --out inside an input",
        Bin::Testgen,
        &args!["merge", "--out", "s0/inner", "s0", "s1"],
        refused(&["s0"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "merge: --out through .. onto an input",
        Bin::Testgen,
        &args!["merge", "--out", "sub/../s1", "s0", "s1"],
        refused(&["s1"]),
    ));
    let lab = Lab::new();
    std::fs::create_dir(lab.at("both")).unwrap();
    copy(&base().shards[0], &lab.at("both/s0"));
    copy(&base().shards[1], &lab.at("both/s1"));
    r.push(step(
        &lab,
        CLASS,
        "merge: --out holds the inputs",
        Bin::Testgen,
        &args!["merge", "--out", "both", "both/s0", "both/s1"],
        refused(&["both"]),
    ));
    r
}

fn corrupt_cases() -> Vec<Result<Row, String>> {
    let mut r = Vec::new();
    let lab = Lab::new();
    let a = base().v13.join("thrum-fixture.tar.zst");
    let made = step(
        &lab,
        CLASS,
        "corrupt: a first copy (allowed)",
        Bin::Testgen,
        &args!["corrupt", "--fault", "altered-cell", "--in", &a, "--out", "C"],
        Expect { code: 0, says: &[], dest: Some(lab.at("C")) },
    );
    r.push(made);
    symlink("C", lab.at("LC")).unwrap();
    r.push(step(
        &lab,
        CLASS,
        "corrupt: --in C --out C",
        Bin::Testgen,
        &args!["corrupt", "--fault", "missing-row", "--in", "C", "--out", "C"],
        refused(&["C"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "corrupt: --out a symlink to --in",
        Bin::Testgen,
        &args!["corrupt", "--fault", "missing-row", "--in", "C", "--out", "LC"],
        refused(&["LC"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "corrupt: --out inside --in",
        Bin::Testgen,
        &args!["corrupt", "--fault", "missing-row", "--in", "C", "--out", "C/.thrum/x"],
        refused(&["C"]),
    ));
    r
}

fn generate_cases() -> Vec<Result<Row, String>> {
    let mut r = Vec::new();
    let lab = Lab::new();
    copy(&base().v13, &lab.at("Y"));
    symlink("Y", lab.at("LY")).unwrap();
    let small = ["--quiet", "--seed", "7", "--profile", "small", "--messages=40", "--no-v5"];
    let mut a = args!["--out", "Y", "--tree", "LY"].to_vec();
    a.extend(small.iter().map(std::ffi::OsString::from));
    r.push(step(
        &lab,
        CLASS,
        "testgen: --tree LY -> Y, --out Y",
        Bin::Testgen,
        &a,
        refused(&["LY"]),
    ));
    let mut a = args!["--out", "Z", "--tree", "Z"].to_vec();
    a.extend(small.iter().map(std::ffi::OsString::from));
    r.push(step(&lab, CLASS, "testgen: --tree is --out", Bin::Testgen, &a, refused(&["Z"])));
    r
}

fn verify_cases() -> Vec<Result<Row, String>> {
    let mut r = Vec::new();
    let lab = Lab::new();
    copy(&base().v13, &lab.at("in"));
    copy(&base().v5, &lab.at("in5"));
    symlink("in", lab.at("lin")).unwrap();
    r.push(step(
        &lab,
        CLASS,
        "verify extract: DEST holds the archive",
        Bin::Verify,
        &args!["extract", "in/thrum-fixture.tar.zst", "lin"],
        refused(&["lin"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "verify extract: DEST is the archive",
        Bin::Verify,
        &args!["extract", "in/thrum-fixture.tar.zst", "lin/thrum-fixture.tar.zst"],
        refused(&["thrum-fixture.tar.zst"]),
    ));
    r.push(step(
        &lab,
        CLASS,
        "verify migrate: --out holds the archive",
        Bin::Verify,
        &args!["migrate", "in5/thrum-fixture-v5.tar.zst", "--out", "in5"],
        refused(&["in5"]),
    ));
    r
}

#[test]
fn hostile_paths_never_destroy_an_input() {
    let mut all = merge_cases();
    all.extend(corrupt_cases());
    all.extend(generate_cases());
    all.extend(verify_cases());
    super::finish(CLASS, all);
}
