//! The command line's policy in the library (`testgen::run`): what a
//! request writes besides its fixture, when the v5-era fixture is written,
//! how a failure names its step and what the summary says.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use testgen::run::{self, GenRequest, Target, V5};
use testgen::{Compression, Error};
use thrum_gen::mesh::Scenario;

fn request() -> GenRequest {
    GenRequest {
        seed: 7,
        profile: "default".into(),
        overrides: Default::default(),
        out: None,
        tree: None,
        lake: None,
        jobs: Some(2),
        quiet: true,
        v5: V5::Auto,
        compression: Compression::Gzip,
        shard: None,
        shards: None,
        report_json: None,
    }
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

fn messages(n: u64) -> thrum_gen::Overrides {
    thrum_gen::Overrides { messages: Some(n), ..Default::default() }
}

#[test]
fn the_default_run_writes_fixtures_then_the_mesh_and_the_crash_states() {
    let p = request().plan(no_env).unwrap();
    assert_eq!(p.opts.out, PathBuf::from("fixtures"));
    assert_eq!(p.target, Target::Whole);
    assert!(p.crash);
    assert!(p.opts.v5 && !p.v5_skipped);
    assert_eq!((p.opts.seed, p.opts.jobs, p.opts.progress), (7, 2, false));
    let m = p.mesh.expect("the default run writes the mesh");
    assert_eq!(m.out, Path::new("fixtures").join("mesh"));
    assert_eq!((m.daemons, m.seed, m.jobs, m.compression), (3, 7, 2, Compression::Gzip));
    assert!(matches!(m.scenario, Scenario::Converged));
    assert_eq!((m.profile.name.as_str(), m.profile.messages), ("small", 600));
}

#[test]
fn an_explicit_destination_a_slice_or_a_lake_writes_no_mesh_and_no_crash_states() {
    let out = Some(PathBuf::from("/tmp/x"));
    let cases = [
        GenRequest { out: out.clone(), ..request() },
        GenRequest { out: out.clone(), shard: Some((1, 4)), ..request() },
        GenRequest { lake: out.clone(), ..request() },
    ];
    let targets = [Target::Whole, Target::Slice(1, 4), Target::Lake(PathBuf::from("/tmp/x"), 0, 1)];
    for (r, target) in cases.iter().zip(targets) {
        let p = r.plan(no_env).unwrap();
        assert_eq!(p.target, target, "{r:?}");
        assert!(p.mesh.is_none() && !p.crash, "{r:?}");
    }
}

#[test]
fn v5_is_written_up_to_the_message_limit_unless_asked_or_refused() {
    let limit = testgen::V5_DEFAULT_MAX_MESSAGES;
    let plan = |v5: V5, n: u64| {
        let p = GenRequest { v5, overrides: messages(n), ..request() }.plan(no_env).unwrap();
        (p.opts.v5, p.v5_skipped)
    };
    assert_eq!(plan(V5::Auto, limit), (true, false));
    assert_eq!(plan(V5::Auto, limit + 1), (false, true), "left out by the rule: said");
    assert_eq!(plan(V5::Always, limit + 1), (true, false));
    assert_eq!(plan(V5::Never, 600), (false, false), "left out by --no-v5: not said");
    // a slice writes no v5 fixture to speak of
    let slice = GenRequest {
        overrides: messages(limit + 1),
        out: Some("/tmp/s".into()),
        shard: Some((0, 2)),
        ..request()
    };
    assert!(!slice.plan(no_env).unwrap().v5_skipped);
}

#[test]
fn shards_take_their_index_from_the_job_runner_and_need_a_destination() {
    let r = GenRequest { shards: Some(4), out: Some("/tmp/s".into()), ..request() };
    let env = |k: &str| (k == "JOB_COMPLETION_INDEX").then(|| OsString::from("2"));
    assert_eq!(r.plan(env).unwrap().target, Target::Slice(2, 4));
    let e = r.plan(no_env).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let e = GenRequest { shards: Some(4), ..request() }.plan(env).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid option: --shards N writes a slice: give --out DIR or --lake DIR"
    );
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn a_volume_beyond_its_cap_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = GenRequest { out: Some(out.clone()), overrides: messages(0), ..request() };
    let e = run::generate(&r).unwrap_err();
    assert!(matches!(e, Error::Plan(_)), "{e}");
    assert_eq!(e.exit_code(), 2);
    assert!(!out.exists());
}

#[test]
fn a_run_says_what_it_wrote_and_writes_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fx");
    let json = tmp.path().join("run.json");
    let r = GenRequest {
        profile: "small".into(),
        out: Some(out.clone()),
        v5: V5::Never,
        report_json: Some(json.clone()),
        ..request()
    };
    let o = run::generate(&r).unwrap();
    assert_eq!(o.lines.len(), 1, "{:?}", o.lines);
    let head = format!("wrote {} (", out.display());
    assert!(o.lines[0].starts_with(&head), "{:?}", o.lines);
    assert!(o.lines[0].contains(" events, 600 messages, "), "{:?}", o.lines);
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
    let phases: Vec<&str> = o.phases.iter().map(|(p, _)| *p).collect();
    assert!(!json.exists(), "the report is written by finish, after the timings");
    o.finish().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["profile"], "small");
    assert_eq!(report["messages"], 600);
    let reported: Vec<&str> =
        report["phases"].as_array().unwrap().iter().map(|p| p[0].as_str().unwrap()).collect();
    assert_eq!(reported, phases);
    assert!(out.join("thrum-fixture.tar.gz").is_file());
    assert!(!out.join("mesh").exists() && !out.join("crash").exists());
}

#[test]
fn a_report_that_cannot_be_written_names_its_file_and_fails_with_1() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("absent").join("run.json");
    let r = GenRequest {
        profile: "small".into(),
        out: Some(tmp.path().join("fx")),
        report_json: Some(json.clone()),
        ..request()
    };
    let e = run::generate(&r).unwrap().finish().unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().starts_with(&format!("writing {}: ", json.display())), "{e}");
}

#[test]
fn a_refused_destination_is_named_by_the_refusal_itself_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("taken");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let r = GenRequest { profile: "small".into(), out: Some(out.clone()), ..request() };
    let e = run::generate(&r).unwrap_err();
    assert!(matches!(e, Error::Publish(_)), "a refusal is not wrapped: {e:?}");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
}

/// Needs root (CI runs as root): a mount that fails is a failure, not a skip.
#[test]
fn a_failure_that_is_no_refusal_names_the_step_and_keeps_its_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let args = ["-t", "tmpfs", "-o", "size=256k", "thrum-test", mnt.to_str().unwrap()];
    thrum_io::testing::mount(&args.map(std::ffi::OsStr::new));
    let out = mnt.join("fx");
    let r = GenRequest { profile: "small".into(), out: Some(out.clone()), ..request() };
    let e = run::generate(&r);
    thrum_io::testing::unmount(&mnt);
    let e = e.unwrap_err();
    let Error::Step { what, source } = &e else { panic!("{e:?}") };
    assert_eq!(what, &format!("generating the fixture into {}", out.display()));
    assert!(source.to_string().starts_with("disk full while writing "), "{source}");
    assert_eq!((e.exit_code(), source.exit_code()), (1, 1));
}

#[test]
fn corrupt_and_crash_refuse_a_missing_or_unknown_name_with_2() {
    let corrupt = run::CorruptRequest {
        list: false,
        fault: None,
        input: None,
        out: None,
        seed: 1,
        limits: Default::default(),
    };
    let e = run::corrupt(&corrupt).unwrap_err();
    assert_eq!(
        (e.to_string().as_str(), e.exit_code()),
        ("invalid option: --fault, --in and --out are required", 2)
    );
    let crash = run::CrashRequest {
        list: false,
        state: Some("no-such-state".into()),
        input: None,
        out: Some("/tmp/c".into()),
        events: 1,
        seed: 1,
        compression: None,
        profile: "small".into(),
        overrides: Default::default(),
        limits: Default::default(),
    };
    let e = run::crash(&crash).unwrap_err();
    assert_eq!(
        (e.to_string().as_str(), e.exit_code()),
        ("invalid option: unknown state no-such-state", 2)
    );
    let listed = run::crash(&run::CrashRequest { list: true, ..crash }).unwrap();
    assert_eq!(listed.stdout, testgen::crash::render_states());
    assert!(listed.lines.is_empty() && listed.phases.is_empty());
}
