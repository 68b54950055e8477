//! Slice outputs compose: every slice writes only files no other slice
//! writes (nothing empty outside the partition layout, even with more
//! slices than messages), and `testgen merge` assembles the N slices into
//! the unsharded JSONL bytes and Parquet datasets equal to the unsharded
//! database, refusing a missing, duplicated, foreign or damaged slice.

use crate::common::{read_all, snapshot};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testgen::merge::{merge, MergeError, MergeOptions};
use testgen::shard::{jsonl_part_dir, manifest_path, ShardManifest};

fn testgen(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_testgen"));
    if args.first() != Some(&"merge") {
        cmd.arg("--quiet");
    }
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

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The unsharded run (its expanded tree in `dir/whole-tree`) and the N
/// slices `dir/s{i}` of the same volumes; odd slices with two jobs.
fn run(dir: &Path, seed: u64, volumes: &[&str], n: u64) -> (PathBuf, Vec<PathBuf>) {
    let seed = seed.to_string();
    let base = [&["--seed", &seed, "--profile", "small", "--no-v5"][..], volumes].concat();
    let tree = dir.join("whole-tree");
    ok(&testgen(
        &[&base[..], &["--out", s(&dir.join("whole")), "--tree", s(&tree), "--jobs", "1"]].concat(),
    ));
    let shards = (0..n)
        .map(|i| {
            let out = dir.join(format!("s{i}"));
            let jobs = if i % 2 == 1 { "2" } else { "1" };
            ok(&testgen(
                &[&base[..], &["--shard", &format!("{i}/{n}"), "--out", s(&out), "--jobs", jobs]]
                    .concat(),
            ));
            out
        })
        .collect();
    (tree, shards)
}

fn jsonl(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    read_all(dir).into_iter().filter(|(k, _)| k.ends_with(".jsonl")).collect()
}

fn sha256(bytes: &[u8]) -> String {
    thrum_io::hash::sha256_hex(bytes)
}

/// `verify parquet DIR --db DB` through the verifier's library: the exit code.
fn verify_parquet(dir: &Path, db: &Path) -> i32 {
    let checked = verify::parquet::check_fixture(dir, Some(db), &Default::default()).unwrap();
    let report = verify::parquet::report(dir, &checked);
    if report.verdict().exit_code != 0 {
        eprintln!("{}", verify::parquet::render_text(&checked, &report));
    }
    report.verdict().exit_code
}

#[test]
fn more_shards_than_messages_compose_and_merge_into_the_unsharded_output() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let n = 8;
    let (tree, shards) = run(d, 42, &["--messages", "3"], n);

    // every file's name is its slice's own; nothing empty outside the layout
    let mut names: BTreeMap<String, u64> = BTreeMap::new();
    let mut empty_slices = 0;
    for (i, dir) in shards.iter().enumerate() {
        let i = i as u64;
        let files = read_all(dir);
        let m: ShardManifest = serde_json::from_slice(&files[&manifest_path(i, n)]).unwrap();
        assert_eq!(
            (m.shard, m.of, m.seed, m.profile.as_str(), m.generator.as_str()),
            (i, n, 42, "small+messages=3", testgen::GENERATOR)
        );
        // the manifest lists exactly the other files, with their sizes and checksums
        let listed: BTreeMap<String, (u64, String)> =
            m.files.iter().map(|f| (f.path.clone(), (f.size, f.sha256.clone()))).collect();
        let found: BTreeMap<String, (u64, String)> = files
            .iter()
            .filter(|(k, _)| **k != manifest_path(i, n))
            .map(|(k, v)| (k.clone(), (v.len() as u64, sha256(v))))
            .collect();
        assert_eq!(listed, found, "shard {i}");
        for (rel, bytes) in &files {
            let own = rel == &manifest_path(i, n)
                || rel.starts_with(&format!("{}/", jsonl_part_dir(i)))
                || rel.ends_with(&format!("/part-{i:05}.parquet"));
            assert!(own, "shard {i} writes {rel}, a name that is not its own");
            if let Some(prev) = names.insert(rel.clone(), i) {
                panic!("{rel} is written by shard {prev} and shard {i}");
            }
            if rel.ends_with(".jsonl") {
                assert!(!bytes.is_empty(), "shard {i}: empty {rel}");
            }
            for partitioned in ["parquet/messages/", "parquet/events/"] {
                if let Some(rest) = rel.strip_prefix(partitioned) {
                    assert!(
                        rest.starts_with("date="),
                        "shard {i}: {rel} lies outside the date= partitions"
                    );
                }
            }
        }
        assert!(
            !files.contains_key("SHA256SUMS")
                && !files.contains_key("shard.json")
                && !files.contains_key(testgen::MANIFEST),
            "shard {i}"
        );
        if files.len() == 1 {
            empty_slices += 1;
            assert!(
                m.files.is_empty() && m.lines.is_empty() && m.messages[0] == m.messages[1],
                "shard {i}: {m:?}"
            );
        }
    }
    assert!(empty_slices >= 4, "3 messages in 8 slices leave most of them empty: {empty_slices}");

    let merged = d.join("merged");
    let o = testgen(
        &[&["merge", "--out", s(&merged)][..], &shards.iter().map(|p| s(p)).collect::<Vec<_>>()]
            .concat(),
    );
    ok(&o);
    let said = String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("").to_string();
    let expected = format!(
        "testgen: merged 8 shards into {} (4 JSONL files, 27 Parquet files copied, 0 linked, \
            {:.1} MB) in ",
        s(&merged),
        dir_bytes(&merged) as f64 / 1e6
    );
    // then the wall time, as every summary ends
    let wall = said
        .strip_prefix(&expected)
        .and_then(|t| t.strip_suffix('s'))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(wall.parse::<f64>().is_ok(), "{said:?}");
    let whole = jsonl(&tree.join(".thrum"));
    assert!(whole.len() >= 2);
    assert!(jsonl(&merged.join(".thrum")) == whole, "merged JSONL differ from the unsharded run's");
    let db = tree.join(".thrum/var/messages.db");
    assert_eq!(verify_parquet(&merged, &db), 0);
    // one manifest.json and one SHA256SUMS over everything
    let all = read_all(&merged);
    let sums = String::from_utf8(all["SHA256SUMS"].clone()).unwrap();
    let listed: BTreeMap<&str, &str> =
        sums.lines().map(|l| l.split_once("  ").map(|(h, p)| (p, h)).unwrap()).collect();
    let want: BTreeMap<&str, String> = all
        .iter()
        .filter(|(k, _)| *k != "SHA256SUMS")
        .map(|(k, v)| (k.as_str(), sha256(v)))
        .collect();
    assert_eq!(listed, want.iter().map(|(k, v)| (*k, v.as_str())).collect());
    let manifest: serde_json::Value = serde_json::from_slice(&all[testgen::MANIFEST]).unwrap();
    assert_eq!(
        (
            manifest["seed"].as_u64(),
            manifest["shards"].as_u64(),
            manifest["counts"]["tables"]["messages"].as_u64()
        ),
        (Some(42), Some(8), Some(3))
    );

    // the slices copied into one directory (no name clashes) merge the same
    let together = d.join("together");
    for dir in &shards {
        for (rel, bytes) in read_all(dir) {
            let dest = together.join(&rel);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&dest)
                .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
                .unwrap();
        }
    }
    let merged2 = d.join("merged2");
    let r =
        merge(&MergeOptions { out: merged2.clone(), inputs: vec![together.clone()], link: true })
            .unwrap();
    assert_eq!((r.shards, r.jsonl_files, r.copied, r.linked), (8, 4, 0, 27));
    assert!(read_all(&merged2) == all, "merging one directory of all slices differs");
    // the inputs are untouched
    assert!(shards.iter().all(|s| s.exists()) && read_all(&together).len() == names.len());
}

fn dir_bytes(dir: &Path) -> u64 {
    read_all(dir).iter().filter(|(k, _)| *k != "SHA256SUMS").map(|(_, v)| v.len() as u64).sum()
}

fn refused(out: &Path, inputs: &[&Path]) -> MergeError {
    match merge(&MergeOptions {
        out: out.to_path_buf(),
        inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
        link: false,
    }) {
        Err(testgen::Error::Merge(e)) => {
            assert!(!out.exists(), "a refused merge writes nothing: {e}");
            *e
        }
        other => panic!("expected a merge refusal, got {other:?}"),
    }
}

fn copy_dir(src: &Path, dest: &Path) {
    for (rel, bytes) in read_all(src) {
        let p = dest.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn merge_refuses_missing_duplicated_foreign_and_damaged_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (tree, shards) = run(d, 5, &["--messages", "300"], 3);
    let foreign = d.join("foreign");
    ok(&testgen(&[
        "--seed",
        "6",
        "--profile",
        "small",
        "--messages",
        "300",
        "--shard",
        "1/3",
        "--out",
        s(&foreign),
    ]));
    let out = d.join("merged");
    let [s0, s1, s2] = [&shards[0], &shards[1], &shards[2]].map(|p| p.as_path());
    let m1 = |dir: &Path| dir.join(manifest_path(1, 3)).display().to_string();

    assert_eq!(
        refused(&out, &[s0, s2]),
        MergeError::Missing { of: 3, missing: vec![1], list: "1".into() }
    );
    assert_eq!(
        refused(&out, &[s0, s1, s1, s2]),
        MergeError::Duplicate { shard: 1, of: 3, first: m1(s1), second: m1(s1) }
    );
    assert_eq!(
        refused(&out, &[s0, &foreign, s2]),
        MergeError::Foreign {
            manifest: m1(&foreign),
            shard: 1,
            of: 3,
            field: "seed",
            found: "\"6\"".into(),
            expected: "\"5\"".into(),
            first: s0.join(manifest_path(0, 3)).display().to_string()
        }
    );
    let other_n = d.join("other-n");
    ok(&testgen(&[
        "--seed",
        "5",
        "--profile",
        "small",
        "--messages",
        "300",
        "--shard",
        "1/4",
        "--out",
        s(&other_n),
    ]));
    assert!(matches!(
        refused(&out, &[s0, &other_n, s2]),
        MergeError::Foreign { field: "N (number of shards)", shard: 1, of: 4, .. }
    ));
    assert!(matches!(refused(&out, &[s0, s1, s2, tree.as_path()]), MergeError::NotAShard { .. }));

    // a changed Parquet byte, a truncated JSONL part, a deleted file
    let m: ShardManifest =
        serde_json::from_slice(&std::fs::read(s1.join(manifest_path(1, 3))).unwrap()).unwrap();
    let pq = m.files.iter().find(|f| f.path.ends_with(".parquet")).unwrap();
    let line = m.files.iter().find(|f| f.path.ends_with(".jsonl")).unwrap();
    let bad = d.join("bad1");
    copy_dir(s1, &bad);
    let mut bytes = std::fs::read(bad.join(&pq.path)).unwrap();
    bytes[10] ^= 1;
    std::fs::write(bad.join(&pq.path), &bytes).unwrap();
    let damaged = |file: &str, detail: String| MergeError::Damaged {
        file: bad.join(file).display().to_string(),
        shard: 1,
        of: 3,
        manifest: m1(&bad),
        detail,
    };
    assert_eq!(
        refused(&out, &[s0, &bad, s2]),
        damaged(
            &pq.path,
            format!(
                "sha256 {}, expected {} (the file changed after the shard wrote it)",
                sha256(&bytes),
                pq.sha256
            )
        )
    );
    copy_dir(s1, &bad);
    let text = std::fs::read(bad.join(&line.path)).unwrap();
    std::fs::write(bad.join(&line.path), &text[..text.len() - 1]).unwrap();
    assert_eq!(
        refused(&out, &[s0, &bad, s2]),
        damaged(
            &line.path,
            format!(
                "{} bytes, expected {} (the file changed after the shard wrote it)",
                line.size - 1,
                line.size
            )
        )
    );
    copy_dir(s1, &bad);
    std::fs::remove_file(bad.join(&pq.path)).unwrap();
    assert_eq!(refused(&out, &[s0, &bad, s2]), damaged(&pq.path, "missing".into()));

    // an existing directory that is not an output of testgen is refused, untouched
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = testgen(&["merge", "--out", s(&out), s(s0), s(s1), s(s2)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "testgen: error: refusing to replace \
        {}: it holds files testgen did not write (notes.txt); choose another --out or remove it \
        yourself\n",
            s(&out)
        )
    );
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
    // a missing slice on the command line: exit 2, the message names it
    let o = testgen(&["merge", "--out", s(&d.join("m")), s(s0), s(s2)]);
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned()),
        (
            Some(2),
            "testgen: error: 1 of 3 shards missing: 1 (every shard 0 to 2 must be given once)\n"
                .into()
        )
    );

    // a previous merged output is replaced
    std::fs::remove_dir_all(&out).unwrap();
    merge(&MergeOptions {
        out: out.clone(),
        inputs: vec![s0.into(), s1.into(), s2.into()],
        link: false,
    })
    .unwrap();
    let first = read_all(&out);
    merge(&MergeOptions {
        out: out.clone(),
        inputs: vec![s2.into(), s0.into(), s1.into()],
        link: false,
    })
    .unwrap();
    assert!(read_all(&out) == first, "the order of the inputs changes nothing");
    assert!(jsonl(&out.join(".thrum")) == jsonl(&tree.join(".thrum")));
    assert_eq!(verify_parquet(&out, &tree.join(".thrum/var/messages.db")), 0);
}

/// A slice's output is recognised by its shard manifest: replaced by the
/// next run, but not with a file it does not list.
#[test]
fn a_slice_output_is_replaced_only_with_nothing_else_in_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    let args = |i: &str| {
        ["--profile", "small", "--messages", "20", "--shard", i, "--out", s(&out)]
            .map(str::to_string)
    };
    ok(&testgen(&args("0/2").iter().map(String::as_str).collect::<Vec<_>>()));
    ok(&testgen(&args("1/2").iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(out.join(manifest_path(1, 2)).is_file() && !out.join(manifest_path(0, 2)).exists());
    std::fs::write(out.join("jsonl/notes.txt"), "mine").unwrap();
    let o = testgen(&args("0/2").iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "testgen: error: refusing to replace {}: it holds files testgen did not write \
            (jsonl/notes.txt); choose another --out or remove it yourself\n",
            s(&out)
        )
    );
    assert_eq!(std::fs::read(out.join("jsonl/notes.txt")).unwrap(), b"mine");
}

/// A slice's bytes do not depend on --jobs (the row pass inline or threaded).
#[test]
fn a_slice_is_the_same_bytes_at_any_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<BTreeMap<String, Vec<u8>>> = ["1", "2", "3"]
        .iter()
        .map(|jobs| {
            let out = tmp.path().join(format!("j{jobs}"));
            ok(&testgen(&[
                "--profile",
                "small",
                "--shard",
                "1/3",
                "--jobs",
                jobs,
                "--out",
                s(&out),
            ]));
            read_all(&out)
        })
        .collect();
    assert!(runs[0].len() > 3);
    assert!(runs[1] == runs[0] && runs[2] == runs[0]);
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Two slices of 100 messages in `dir/s0`, `dir/s1`.
fn two_slices(dir: &Path) -> [PathBuf; 2] {
    [0, 1].map(|i| {
        let out = dir.join(format!("s{i}"));
        ok(&testgen(&[
            "--profile",
            "small",
            "--messages",
            "100",
            "--no-v5",
            "--shard",
            &format!("{i}/2"),
            "--out",
            s(&out),
        ]));
        out
    })
}

/// `merge ARGS` exits 2 with exactly `message`, and nothing below `root`
/// changed (the inputs byte-identical, no output, no temporary).
#[track_caller]
fn merge_refused(root: &Path, args: &[&str], message: &str) {
    let before = snapshot(root);
    let o = testgen(&[&["merge"][..], args].concat());
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(2), format!("testgen: error: {message}\n")),
        "merge {args:?}"
    );
    assert_eq!(snapshot(root), before, "merge {args:?} wrote nothing");
}

/// `--out` is compared with each input by device and inode: a link to a
/// slice, a path through `..`, and `--link` change nothing.
#[test]
fn an_output_that_is_holds_or_lies_in_an_input_is_refused_whatever_its_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let [s0, s1] = two_slices(d);
    std::os::unix::fs::symlink("s0", d.join("lnk0")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink("../s0", d.join("sub/l")).unwrap();
    let (lnk0, l) = (d.join("lnk0"), d.join("sub/l"));
    let why = "(by device and inode); an output must not be, hold or lie in an input";
    let same = |out: &Path, input: &Path| {
        format!(
            "refusing --out {}: it is the same as the shard directory {} {why}",
            s(out),
            s(input)
        )
    };
    merge_refused(d, &["--out", s(&s0), s(&lnk0), s(&s1)], &same(&s0, &lnk0));
    merge_refused(d, &["--out", s(&s0), s(&l), s(&s1)], &same(&s0, &l));
    merge_refused(d, &["--link", "--out", s(&s0), s(&l), s(&s1)], &same(&s0, &l));
    merge_refused(d, &["--out", s(&lnk0), s(&s0), s(&s1)], &same(&lnk0, &s0));
    let through = d.join("sub/../s1");
    merge_refused(d, &["--out", s(&through), s(&s0), s(&s1)], &same(&through, &s1));
    let inside = d.join("sub/l/merged");
    merge_refused(
        d,
        &["--out", s(&inside), s(&s1), s(&s0)],
        &format!(
            "refusing --out {}: it lies inside the shard directory {} {why}",
            s(&inside),
            s(&s0)
        ),
    );
    // a directory holding a slice
    let p = d.join("p");
    std::fs::create_dir(&p).unwrap();
    std::fs::rename(&s1, p.join("s1")).unwrap();
    merge_refused(
        d,
        &["--out", s(&p), s(&s0), s(&p.join("s1"))],
        &format!(
            "refusing --out {}: it contains the shard directory {} {why}",
            s(&p),
            s(&p.join("s1"))
        ),
    );
    // apart: merged
    ok(&testgen(&["merge", "--out", s(&d.join("merged")), s(&lnk0), s(&p.join("s1"))]));
}

/// A slice given twice (also through a link) or a manifest that lists a
/// file twice is refused: merged, its events would appear twice.
#[test]
fn a_slice_or_a_file_given_twice_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let [s0, s1] = two_slices(d);
    std::os::unix::fs::symlink("s0", d.join("lnk0")).unwrap();
    let out = d.join("merged");
    let m0 = |dir: &Path| dir.join(manifest_path(0, 2)).display().to_string();
    merge_refused(
        d,
        &["--out", s(&out), s(&s0), s(&d.join("lnk0")), s(&s1)],
        &format!("shard 0 of 2 is given twice: {} and {}", m0(&s0), m0(&d.join("lnk0"))),
    );
    let twice = d.join("twice");
    copy_dir(&s0, &twice);
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(m0(&twice)).unwrap()).unwrap();
    let files = m["files"].as_array_mut().unwrap();
    let events = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("/events.jsonl"))
        .unwrap()
        .clone();
    files.push(events.clone());
    std::fs::write(m0(&twice), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    merge_refused(
        d,
        &["--out", s(&out), s(&twice), s(&s1)],
        &format!("{} lists {} twice (shard 0)", m0(&twice), events["path"].as_str().unwrap()),
    );
}

/// A regular file where a directory is expected is named as such.
#[test]
fn a_regular_file_for_a_directory_is_named_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let [s0, s1] = two_slices(d);
    let file = d.join("file");
    std::fs::write(&file, "notes").unwrap();
    merge_refused(
        d,
        &["--out", s(&d.join("m")), s(&file), s(&s1)],
        &format!(
            "{} is not the output of a testgen --shard run: it is a regular file, not a directory",
            s(&file)
        ),
    );
    merge_refused(
        d,
        &["--out", s(&file), s(&s0), s(&s1)],
        &format!(
            "refusing to replace {}: it is a regular file (5 bytes), not a directory; choose \
                another --out or remove it yourself",
            s(&file)
        ),
    );
    merge_refused(
        d,
        &["--out", s(&d.join("m")), s(&s0), s(&d.join("missing"))],
        &format!(
            "{} is not the output of a testgen --shard run: no such directory",
            s(&d.join("missing"))
        ),
    );
}

/// A 250-byte name is a valid `--out`: its temporary's name is bounded.
#[test]
fn an_output_with_a_250_byte_name_is_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let [s0, s1] = two_slices(d);
    let long = d.join("m".repeat(250));
    let o = testgen(&["merge", "--out", s(&long), s(&s0), s(&s1)]);
    ok(&o);
    assert!(
        stderr(&o).starts_with(&format!("testgen: merged 2 shards into {} (", s(&long))),
        "{}",
        stderr(&o)
    );
    ok(&testgen(&["merge", "--out", s(&d.join("short")), s(&s0), s(&s1)]));
    assert!(read_all(&long) == read_all(&d.join("short")));
    // replaced too (the previous output moved aside under a bounded name)
    ok(&testgen(&["merge", "--out", s(&long), s(&s1), s(&s0)]));
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [&"m".repeat(250), "s0", "s1", "short"]);
}
