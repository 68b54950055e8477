//! `--shard I/N`: N independently generated slices, concatenated in order,
//! equal the unsharded JSONL byte for byte.

use crate::common::*;
use std::collections::BTreeMap;
use thrum_gen::Profile;

#[test]
fn shards_concatenate_to_the_unsharded_jsonl() {
    let tmp = tempfile::tempdir().unwrap();
    let whole_out = generate(tmp.path(), 77, Profile::small(), 1);
    let tree = tmp.path().join("tree");
    extract(&whole_out.join(testgen::ARCHIVE), &tree);
    let whole: BTreeMap<String, Vec<u8>> =
        read_all(&tree.join(".thrum")).into_iter().filter(|(k, _)| k.ends_with(".jsonl")).collect();
    assert!(whole.len() > 5);
    for n in [2u64, 3] {
        let mut joined: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for i in 0..n {
            let out = tmp.path().join(format!("shard-{i}-of-{n}"));
            let opts = testgen::Options {
                seed: 77,
                profile: Profile::small(),
                out: out.clone(),
                tree: None,
                jobs: 2,
                progress: false,
                v5: false,
                compression: testgen::Compression::Zstd,
            };
            testgen::generate_shard(&opts, i, n).unwrap();
            let files = read_all(&out.join(testgen::shard::jsonl_part_dir(i)));
            let shard: serde_json::Value = serde_json::from_slice(
                &std::fs::read(out.join(testgen::shard::manifest_path(i, n))).unwrap(),
            )
            .unwrap();
            for (k, v) in files {
                let lines = v.iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(
                    shard["lines"][format!(".thrum/{k}")].as_u64(),
                    Some(lines),
                    "shard.json counts {k}"
                );
                joined.entry(k).or_default().extend(v);
            }
        }
        assert_eq!(
            joined.keys().collect::<Vec<_>>(),
            whole.keys().collect::<Vec<_>>(),
            "{n} slices cover the same files"
        );
        for (k, v) in &whole {
            assert!(&joined[k] == v, "{k}: {n} slices concatenated differ from the whole");
        }
    }
}

#[test]
fn shard_argument_is_validated() {
    let bin = env!("CARGO_BIN_EXE_testgen");
    for bad in ["3/3", "1", "a/2", "0/0"] {
        let o = std::process::Command::new(bin)
            .args(["--shard", bad, "--out", "/nonexistent/never"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
}

/// The slices' Parquet part files, merged into one tree, equal the unsharded
/// fixture's database table for table (checked value for value).
#[test]
fn shard_parquet_parts_union_equals_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let whole_out = generate(tmp.path(), 78, Profile::small(), 1);
    let tree = tmp.path().join("tree");
    extract(&whole_out.join(testgen::ARCHIVE), &tree);
    let merged = tmp.path().join("merged");
    let n = 3u64;
    let mut logged: Vec<(String, thrum_parquet::delta::LogFile)> = Vec::new();
    for i in 0..n {
        let out = tmp.path().join(format!("shard-{i}"));
        let opts = testgen::Options {
            seed: 78,
            profile: Profile::small(),
            out: out.clone(),
            tree: None,
            jobs: 1,
            progress: false,
            v5: false,
            compression: testgen::Compression::Zstd,
        };
        testgen::generate_shard(&opts, i, n).unwrap();
        let m =
            testgen::shard::read_manifest(&out.join(testgen::shard::manifest_path(i, n))).unwrap();
        for f in m.files.iter().filter(|f| f.table.is_some()) {
            let table = f.table.clone().unwrap();
            let path = f.path.strip_prefix(&format!("parquet/{table}/")).unwrap().to_string();
            logged.push((
                table,
                thrum_parquet::delta::LogFile {
                    path,
                    size: f.size,
                    stats: f.stats.clone().unwrap(),
                },
            ));
        }
        for (rel, bytes) in read_all(&out.join("parquet")) {
            let dest = merged.join(&rel);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            assert!(!dest.exists(), "{rel} written by two slices");
            std::fs::write(dest, bytes).unwrap();
        }
    }
    // the rows agree; only the Delta logs are missing (a slice writes none)
    let report =
        thrum_parquet::check::check(&merged, &tree.join(".thrum/var/messages.db")).unwrap();
    for t in &report.tables {
        assert_eq!(
            (t.missing, t.extra, t.differing, t.parquet_rows),
            (0, 0, 0, t.sqlite_rows),
            "{report}"
        );
        assert_eq!(
            t.delta.iter().map(|p| p.kind).collect::<Vec<_>>(),
            [thrum_parquet::delta::check::DeltaKind::Missing],
            "{report}"
        );
    }
    // with the logs of the files and statistics the shard manifests list, all is clean
    logged.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    let params = thrum_parquet::delta::LogParams { seed: 78, time_ms: 0 };
    for t in thrum_schemas::catalogue::TABLES {
        let files: Vec<_> =
            logged.iter().filter(|(table, _)| table == t.name).map(|(_, f)| f.clone()).collect();
        let log = merged.join(thrum_parquet::delta::log_path(t.name));
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        std::fs::write(log, thrum_parquet::delta::table_log(t, &files, params)).unwrap();
    }
    let report =
        thrum_parquet::check::check(&merged, &tree.join(".thrum/var/messages.db")).unwrap();
    assert!(report.is_clean(), "{report}");
    // and the unsharded datasets hold the same rows
    let whole = thrum_parquet::check::check(
        &whole_out.join("parquet"),
        &tree.join(".thrum/var/messages.db"),
    )
    .unwrap();
    assert!(whole.is_clean(), "{whole}");
}
