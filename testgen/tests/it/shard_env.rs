//! `--shards N`: the slice index comes from the job runner's environment
//! (Kubernetes, Slurm, AWS Batch), with the same bytes as `--shard I/N`;
//! without a usable index the run is refused (exit 2) and writes nothing.

use crate::common::read_all;
use std::path::Path;
use std::process::{Command, Output};

/// Job-index variables of a child process.
type Env<'a> = &'a [(&'a str, &'a str)];

const VARS: [&str; 4] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// testgen with `args` and exactly the job-index variables in `env`.
fn testgen(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_testgen"));
    cmd.args(["--quiet", "--profile", "small", "--messages", "40", "--no-v5", "--jobs", "1"])
        .args(args);
    for v in VARS {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
}

fn out(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

#[test]
fn the_environment_selects_the_same_slice_as_shard_i_of_n() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for i in 0..3 {
        ok(&testgen(
            &["--shard", &format!("{i}/3"), "--out", &out(d, &format!("explicit-{i}"))],
            &[],
        ));
    }
    let cases: [(&str, Env, u64); 5] = [
        ("k8s", &[("JOB_COMPLETION_INDEX", "2")], 2),
        ("slurm", &[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "4")], 1),
        ("aws", &[("AWS_BATCH_JOB_ARRAY_INDEX", "0")], 0),
        // the first that is set wins: Kubernetes, then Slurm, then AWS Batch
        (
            "k8s-first",
            &[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
                ("JOB_COMPLETION_INDEX", "1"),
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
            ],
            1,
        ),
        (
            "slurm-first",
            &[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
                ("SLURM_ARRAY_TASK_ID", "12"),
                ("SLURM_ARRAY_TASK_MIN", "10"),
            ],
            2,
        ),
    ];
    for (name, env, want) in cases {
        let o = out(d, name);
        ok(&testgen(&["--shards", "3", "--out", &o], env));
        let got = read_all(Path::new(&o));
        assert!(
            got.contains_key(&testgen::shard::manifest_path(want, 3)),
            "{name}: {:?}",
            got.keys().collect::<Vec<_>>()
        );
        assert!(
            got == read_all(&d.join(format!("explicit-{want}"))),
            "{name}: not the bytes of --shard {want}/3"
        );
    }
}

#[test]
fn no_usable_index_is_refused_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = out(tmp.path(), "out");
    let cases: [(Env, &str); 6] = [
        (
            &[],
            "testgen: error: invalid option: --shards 3: no job index in the environment (set \
            JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN, or \
            AWS_BATCH_JOB_ARRAY_INDEX), or give the slice with --shard I/N\n",
        ),
        (
            &[("JOB_COMPLETION_INDEX", "3")],
            "testgen: error: invalid option: --shards 3: index 3 \
            (from JOB_COMPLETION_INDEX) is out of range: need 0 <= index < 3\n",
        ),
        (
            &[("JOB_COMPLETION_INDEX", "one")],
            "testgen: error: invalid option: --shards 3: \
            JOB_COMPLETION_INDEX=\"one\" is not a job index (a number from 0)\n",
        ),
        (
            &[("AWS_BATCH_JOB_ARRAY_INDEX", "1\n2")],
            "testgen: error: invalid option: --shards 3: \
            AWS_BATCH_JOB_ARRAY_INDEX=\"1\\n2\" is not a job index (a number from 0)\n",
        ),
        (
            &[("SLURM_ARRAY_TASK_ID", "7")],
            "testgen: error: invalid option: --shards 3: \
            SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not\n",
        ),
        (
            &[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "4")],
            "testgen: error: invalid \
            option: --shards 3: index 3 (from SLURM_ARRAY_TASK_ID=7 minus SLURM_ARRAY_TASK_MIN=4) \
            is out of range: need 0 <= index < 3\n",
        ),
    ];
    for (env, want) in cases {
        let r = testgen(&["--shards", "3", "--out", &o], env);
        assert_eq!(r.status.code(), Some(2), "{env:?}");
        assert_eq!(String::from_utf8_lossy(&r.stderr), want, "{env:?}");
        assert!(!Path::new(&o).exists(), "{env:?}: nothing is written");
    }
    // --shards needs an explicit --out and excludes --shard; N is at least 1
    for args in [
        &["--shards", "3"][..],
        &["--shards", "3", "--shard", "0/3", "--out", &o],
        &["--shards", "0", "--out", &o],
    ] {
        let r = testgen(args, &[("JOB_COMPLETION_INDEX", "0")]);
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        assert!(!Path::new(&o).exists() && !Path::new("fixtures/shards").exists(), "{args:?}");
    }
}
