//! What a run says when it is done: the summary line counts what this run
//! wrote (a slice its own slice), with thousands separators; a v5 fixture
//! left out by the rule is said to be; every command that runs long takes
//! `-q/--quiet` and `--timings` alike.

use std::path::Path;
use std::process::{Command, Output};

const VARS: [&str; 4] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

fn testgen(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_testgen"));
    cmd.args(args);
    for v in VARS {
        cmd.env_remove(v);
    }
    let o = cmd.envs(env.iter().copied()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// The figures of a summary `... (E events, M messages, F files, B MB) in ...`,
/// separators removed.
fn figures(line: &str) -> (u64, u64, u64) {
    let inside = &line[line.rfind('(').unwrap() + 1..line.rfind(')').unwrap()];
    let parts: Vec<&str> = inside.split(", ").collect();
    let number = |part: &str, unit: &str| -> u64 {
        let n =
            part.strip_suffix(unit).unwrap_or_else(|| panic!("{part:?} is not N{unit}: {line}"));
        n.replace(',', "").parse().unwrap_or_else(|_| panic!("{n:?}: {line}"))
    };
    (number(parts[0], " events"), number(parts[1], " messages"), number(parts[2], " files"))
}

/// Every regular file below `dir`.
fn files_in(dir: &Path) -> u64 {
    crate::common::read_all(dir).len() as u64
}

#[test]
fn a_slice_summary_counts_its_own_slice() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("slice-1");
    let args =
        ["--profile", "small", "--jobs", "1", "--shards", "4", "--out", out.to_str().unwrap()];
    let err = stderr(&testgen(&args, &[("JOB_COMPLETION_INDEX", "1")]));
    let line =
        err.lines().find(|l| l.starts_with("testgen: wrote ")).unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.starts_with(&format!("testgen: wrote slice 1 of 4 to {} (", out.display())),
        "{line}"
    );
    let (events, messages, files) = figures(line);
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("shards/shard-00001-of-00004.json")).unwrap(),
    )
    .unwrap();
    let span = m["messages"][1].as_u64().unwrap() - m["messages"][0].as_u64().unwrap();
    let lines: u64 = m["lines"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(messages, span, "{line}");
    assert_eq!(messages, 150, "a quarter of the 600 messages of small: {line}");
    assert_eq!(events, lines, "{line}");
    assert_eq!(files, files_in(&out), "{line}");
    assert_eq!(files, m["files"].as_array().unwrap().len() as u64 + 1, "{line}");
}

#[test]
fn a_whole_run_summary_groups_thousands_and_counts_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = [
        "--profile",
        "small",
        "--messages",
        "1500",
        "--no-v5",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let err = stderr(&testgen(&args, &[]));
    let line =
        err.lines().find(|l| l.starts_with("testgen: wrote ")).unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains(" 1,500 messages, "), "{line}");
    let (events, messages, files) = figures(line);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let lines: u64 =
        m["counts"]["files"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!((events, messages), (lines, 1500), "{line}");
    assert_eq!(files, files_in(&out), "{line}");
    assert!(!err.contains("v5 fixture skipped"), "--no-v5 was asked for: {err}");
}

#[test]
fn a_v5_fixture_left_out_by_the_rule_is_said_to_be() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = [
        "--profile",
        "small",
        "--messages",
        "100001",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let err = stderr(&testgen(&args, &[]));
    assert!(
        err.contains("testgen: v5 fixture skipped: above 100,000 messages; --v5 writes it\n"),
        "{err}"
    );
    assert!(
        !out.join("thrum-fixture-v5.tar.zst").exists() && !out.join("manifest-v5.json").exists()
    );
}

#[test]
fn long_commands_take_quiet_and_timings_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let small = ["--profile", "small", "--messages", "40", "--jobs", "1"];
    for i in 0..2 {
        let shard = format!("{i}/2");
        testgen(
            &[&small[..], &["-q", "--shard", &shard, "--out", &d(&format!("s{i}"))]].concat(),
            &[],
        );
    }
    let runs: [(Vec<String>, &str); 5] = [
        (
            [
                "bench",
                "-q",
                "--timings",
                "--profile",
                "small",
                "--messages",
                "40",
                "--runs",
                "1",
                "--no-floors",
                "--no-verify",
                "--work",
            ]
            .map(String::from)
            .into_iter()
            .chain([tmp.path().to_str().unwrap().to_string()])
            .collect(),
            "bench",
        ),
        (
            vec![
                "merge".into(),
                "-q".into(),
                "--timings".into(),
                "--out".into(),
                d("merged"),
                d("s0"),
                d("s1"),
            ],
            "merge",
        ),
        (
            ["mesh", "--quiet", "--timings", "--profile", "small", "--messages", "40", "--out"]
                .map(String::from)
                .into_iter()
                .chain([d("mesh")])
                .collect(),
            "mesh",
        ),
        (
            ["-q", "--timings", "--no-v5"]
                .iter()
                .map(|s| s.to_string())
                .chain(small.map(String::from))
                .chain(["--out".into(), d("whole")])
                .collect(),
            "publish",
        ),
        (
            ["corrupt", "-q", "--timings", "--fault", "malformed-json", "--in"]
                .map(String::from)
                .into_iter()
                .chain([d("whole") + "/thrum-fixture.tar.zst", "--out".into(), d("bad")])
                .collect(),
            "corrupt",
        ),
    ];
    for (args, phase) in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = stderr(&testgen(&args, &[]));
        assert!(!err.contains("testgen: "), "{args:?}: --quiet prints no summary: {err}");
        let timed = err.lines().any(|l| {
            l.split_whitespace().collect::<Vec<_>>().first() == Some(&phase)
                && l.trim_end().ends_with(" ms")
        });
        assert!(timed, "{args:?}: --timings prints the {phase} time: {err:?}");
    }
}
