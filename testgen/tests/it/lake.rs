//! Slices written straight into one lake (`--lake`), then committed
//! (`testgen commit`): the committed tables equal the database, the logs
//! are those `testgen merge` writes for the same slices, no data file is
//! rewritten by the commit, a retried slice or commit changes nothing, and
//! whatever is refused (exit 2) is named and left as it was.

use crate::common::read_all;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn testgen(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_testgen"));
    cmd.args(args);
    for v in [
        "JOB_COMPLETION_INDEX",
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "AWS_BATCH_JOB_ARRAY_INDEX",
    ] {
        cmd.env_remove(v);
    }
    cmd.output().unwrap()
}

fn code(o: &Output) -> (Option<i32>, String) {
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const BASE: [&str; 7] = ["--quiet", "--seed", "9", "--profile", "small", "--messages", "40"];

fn slice(lake: &Path, i: u64, n: u64, jobs: &str) -> Output {
    testgen(
        &[
            &BASE[..],
            &["--no-v5", "--shard", &format!("{i}/{n}"), "--lake", s(lake), "--jobs", jobs],
        ]
        .concat(),
    )
}

/// (inode, mtime in ns) of every Parquet file below `dir`.
fn identities(dir: &Path) -> BTreeMap<String, (u64, i64)> {
    read_all(dir)
        .into_keys()
        .filter(|k| k.ends_with(".parquet"))
        .map(|k| {
            let m = std::fs::metadata(dir.join(&k)).unwrap();
            (k, (m.ino(), m.mtime() * 1_000_000_000 + m.mtime_nsec()))
        })
        .collect()
}

fn logs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    read_all(dir).into_iter().filter(|(k, _)| k.contains("/_delta_log/")).collect()
}

#[test]
fn eight_slices_commit_into_tables_equal_to_the_database_without_a_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let tree = d.join("tree");
    ok(&testgen(
        &[&BASE[..], &["--no-v5", "--out", s(&d.join("whole")), "--tree", s(&tree)]].concat(),
    ));
    let lake = d.join("lake");
    for i in 0..8 {
        ok(&slice(&lake, i, 8, if i % 2 == 1 { "2" } else { "1" }));
    }
    // the records and nothing else in _slices (no temporary left)
    let records: Vec<String> = std::fs::read_dir(lake.join("_slices"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut sorted = records.clone();
    sorted.sort();
    assert_eq!(sorted, (0..8).map(|i| format!("slice-{i:05}-of-00008.json")).collect::<Vec<_>>());
    assert!(logs(&lake).is_empty(), "a slice writes no log");
    let before = identities(&lake);
    let data: BTreeMap<String, Vec<u8>> =
        read_all(&lake).into_iter().filter(|(k, _)| k.ends_with(".parquet")).collect();

    let (c, err) = code(&testgen(&["commit", s(&lake)]));
    assert_eq!(c, Some(0), "{err}");
    let data_bytes: u64 = data.values().map(|v| v.len() as u64).sum();
    let expected = format!("{:.1} MB not copied", data_bytes as f64 / 1e6);
    assert!(
        err.starts_with(&format!(
            "testgen: committed 8 slices in {}: 17 tables (17 logs written, 0 already there,",
            s(&lake)
        )),
        "{err}"
    );
    assert!(err.contains(&expected), "{err}");
    // not one data file rewritten, moved or added
    assert_eq!(identities(&lake), before);
    let after: BTreeMap<String, Vec<u8>> =
        read_all(&lake).into_iter().filter(|(k, _)| k.ends_with(".parquet")).collect();
    assert!(after == data);
    let db = tree.join(".thrum/var/messages.db");
    let checked = verify::parquet::check_fixture(&lake, Some(&db), &Default::default()).unwrap();
    let report = verify::parquet::report(&lake, &checked);
    assert_eq!(
        report.verdict().exit_code,
        0,
        "{}",
        verify::parquet::render_text(&checked, &report)
    );

    // a retried commit is a no-op
    let committed = logs(&lake);
    assert_eq!(committed.len(), 17);
    let (c, err) = code(&testgen(&["commit", "-q", s(&lake)]));
    assert_eq!((c, err.as_str()), (Some(0), ""));
    assert!(logs(&lake) == committed);

    // the same slices through --out and `testgen merge`: the same logs
    let mut shard_dirs = Vec::new();
    for i in 0..8 {
        let out = d.join(format!("s{i}"));
        ok(&testgen(
            &[&BASE[..], &["--no-v5", "--shard", &format!("{i}/8"), "--out", s(&out)]].concat(),
        ));
        shard_dirs.push(out);
    }
    let merged = d.join("merged");
    ok(&testgen(
        &[
            &["merge", "-q", "--out", s(&merged)][..],
            &shard_dirs.iter().map(|p| s(p)).collect::<Vec<_>>(),
        ]
        .concat(),
    ));
    let merged_logs: BTreeMap<String, Vec<u8>> =
        logs(&merged.join("parquet")).into_iter().collect();
    assert!(merged_logs == committed, "the merged output's logs differ from the committed lake's");
    // ... listed in its manifest and SHA256SUMS
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(merged.join(testgen::MANIFEST)).unwrap()).unwrap();
    let listed: Vec<&str> =
        manifest["delta"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 17);
    let sums = std::fs::read_to_string(merged.join("SHA256SUMS")).unwrap();
    for p in listed {
        let sha = thrum_io::hash::sha256_hex(&std::fs::read(merged.join(p)).unwrap());
        assert!(sums.contains(&format!("{sha}  {p}\n")), "{p}");
    }
}

#[test]
fn a_retried_slice_is_idempotent_and_other_bytes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    ok(&slice(&lake, 0, 2, "1"));
    let first = read_all(&lake);
    ok(&slice(&lake, 0, 2, "2"));
    assert!(read_all(&lake) == first, "a retried slice changed the lake");

    // a part changed on disk: the retried slice refuses it and leaves it
    let part = lake.join("agents/part-00000.parquet");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes.push(0);
    std::fs::write(&part, &bytes).unwrap();
    let (c, err) = code(&slice(&lake, 0, 2, "1"));
    assert_eq!(c, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: already there with other bytes (it is never replaced)",
            s(&part)
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(&part).unwrap(), bytes);

    // a slice of another run is refused before any work, naming the record
    let (c, err) = code(&testgen(&[
        "-q",
        "--seed",
        "10",
        "--profile",
        "small",
        "--messages",
        "40",
        "--shard",
        "1/2",
        "--lake",
        s(&lake),
    ]));
    assert_eq!(c, Some(2), "{err}");
    let record = lake.join("_slices/slice-00000-of-00002.json");
    assert!(err.contains(&format!("{}: it is a slice of another run", s(&record))), "{err}");
    assert!(!lake.join("_slices/slice-00001-of-00002.json").exists());
    // --shards without a destination, a lake that is a file
    let (c, err) = code(&testgen(&["-q", "--shards", "2"]));
    assert_eq!((c, err.contains("give --out DIR or --lake DIR")), (Some(2), true), "{err}");
    let (c, err) = code(&testgen(&["-q", "--lake", s(&record)]));
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("not a lake directory"), "{err}");
}

#[test]
fn commit_refuses_a_missing_slice_file_or_other_log_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let lake: PathBuf = tmp.path().join("lake");
    ok(&slice(&lake, 0, 3, "1"));
    ok(&slice(&lake, 2, 3, "1"));
    let (c, err) = code(&testgen(&["commit", s(&lake)]));
    assert_eq!(c, Some(2), "{err}");
    assert!(
        err.contains("1 of the 3 slice records are missing: _slices/slice-00001-of-00003.json"),
        "{err}"
    );
    assert!(logs(&lake).is_empty());

    ok(&slice(&lake, 1, 3, "1"));
    // a listed file gone: refused, named
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(lake.join("_slices/slice-00001-of-00003.json")).unwrap(),
    )
    .unwrap();
    let gone = lake.join(record["files"][0]["path"].as_str().unwrap());
    let kept = std::fs::read(&gone).unwrap();
    std::fs::remove_file(&gone).unwrap();
    let (c, err) = code(&testgen(&["commit", s(&lake)]));
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains(&format!("{}: missing: slice 1 of 3 wrote it", s(&gone))), "{err}");
    assert!(logs(&lake).is_empty());
    std::fs::write(&gone, kept).unwrap();

    // another log of one table already there: refused, nothing written, it stays
    let other = lake.join("groups/_delta_log/00000000000000000000.json");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, "{}\n").unwrap();
    let (c, err) = code(&testgen(&["commit", s(&lake)]));
    assert_eq!(c, Some(2), "{err}");
    assert!(
        err.contains(&format!("{}: a Delta log with other content is already there", s(&other))),
        "{err}"
    );
    assert_eq!(logs(&lake).len(), 1);
    assert_eq!(std::fs::read(&other).unwrap(), b"{}\n");
    std::fs::remove_file(&other).unwrap();
    ok(&testgen(&["commit", "-q", s(&lake)]));
    assert_eq!(logs(&lake).len(), 17);
}
