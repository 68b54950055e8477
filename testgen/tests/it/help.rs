//! `testgen --help`: every option under its heading, the profiles' volumes
//! stated, examples at the end.

use crate::common::grouped;
use std::process::Command;
use thrum_gen::Profile;

/// Each option of `testgen --help` and the heading it must appear under.
const HEADINGS: &[(&str, &str)] = &[
    ("--help", "Options"),
    ("--version", "Options"),
    ("--seed", "Generation"),
    ("--profile", "Generation"),
    ("--jobs", "Generation"),
    ("--shard", "Generation"),
    ("--shards", "Generation"),
    ("--agents", "Volumes"),
    ("--messages", "Volumes"),
    ("--sessions", "Volumes"),
    ("--active-sessions", "Volumes"),
    ("--events", "Volumes"),
    ("--subscriptions", "Volumes"),
    ("--days", "Volumes"),
    ("--out", "Output"),
    ("--tree", "Output"),
    ("--lake", "Output"),
    ("--compression", "Output"),
    ("--no-v5", "Output"),
    ("--v5", "Output"),
    ("--timings", "Display"),
    ("--quiet", "Display"),
];

fn help(flag: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_testgen")).arg(flag).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    String::from_utf8(o.stdout).unwrap()
}

/// (option, heading) for every option line of a help text: a heading is an
/// unindented line ending with ':' (its first word is kept), an option line
/// an indented one starting with `-x, --name` or `--name`.
fn options_by_heading(help: &str) -> Vec<(String, String)> {
    let mut heading = String::new();
    let mut out = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line
                .trim_end_matches(':')
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            continue;
        }
        let t = line.trim_start();
        // an option line is indented by 2 or 6; wrapped text by more
        if line.len() == t.len() || line.len() - t.len() > 6 {
            continue;
        }
        let t = t
            .strip_prefix(|c: char| c == '-')
            .filter(|r| r.chars().nth(1) == Some(','))
            .map(|r| r[2..].trim_start())
            .unwrap_or(t);
        if let Some(name) = t.strip_prefix("--") {
            let name: String =
                name.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            out.push((format!("--{name}"), heading.clone()));
        }
    }
    out
}

#[test]
fn every_option_is_under_its_heading() {
    for flag in ["--help", "-h"] {
        let found = options_by_heading(&help(flag));
        let mut expected: Vec<(String, String)> =
            HEADINGS.iter().map(|(o, h)| (o.to_string(), h.to_string())).collect();
        let mut found_sorted = found.clone();
        found_sorted.sort();
        expected.sort();
        assert_eq!(found_sorted, expected, "testgen {flag}: options and their headings");
    }
}

#[test]
fn help_states_what_each_profile_contains() {
    let text = help("--help").split_whitespace().collect::<Vec<_>>().join(" ");
    let at = |from: &str, to: &str| {
        let start = text.find(from).unwrap_or_else(|| panic!("{from:?} missing from {text}"));
        let end = start
            + text[start..].find(to).unwrap_or_else(|| panic!("{to:?} missing after {from:?}"));
        text[start..end].to_string()
    };
    let cases = [
        (at("small (fast tests):", "default:"), Profile::small()),
        (at("default:", "large:"), Profile::default_profile()),
        (at("large:", "huge:"), Profile::large()),
    ];
    for (said, p) in cases {
        // every count of agents is all of them: --agents N reproduces the profile
        let figures = [
            format!(
                "{} agents ({} core, {} of other roles, {} of them humans)",
                grouped(p.agents.into()),
                grouped((p.agents - p.extra_agents).into()),
                grouped(p.extra_agents.into()),
                grouped(p.humans.into())
            ),
            format!(
                "{} sessions ({} active)",
                grouped(p.sessions.into()),
                grouped(p.active_sessions.into())
            ),
            format!("{} messages", grouped(p.messages)),
        ];
        for figure in figures {
            assert!(
                said.contains(&figure),
                "--help on profile {}: {figure:?} missing from {said:?}",
                p.name
            );
        }
        if p.name != "large" {
            for figure in [
                format!("{} lines of events.jsonl", grouped(p.events.into())),
                format!(
                    "{} subscriptions over {} days",
                    grouped(p.subscriptions.into()),
                    p.window_days
                ),
            ] {
                assert!(
                    said.contains(&figure),
                    "--help on profile {}: {figure:?} missing from {said:?}",
                    p.name
                );
            }
        }
    }
    let huge = Profile::huge();
    assert!(
        text.contains(&format!(
            "huge: large with {} messages over {} days",
            grouped(huge.messages),
            huge.window_days
        )),
        "{text}"
    );
}

/// The help `args` print, as a terminal-less caller sees it.
fn help_text(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn short_help_is_short_and_long_help_has_the_detail() {
    for sub in [&[][..], &["mesh"], &["merge"], &["corrupt"], &["crash"], &["bench"]] {
        let args: Vec<&str> = sub.iter().copied().chain(["-h"]).collect();
        let text = help_text(&args);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "testgen {args:?}: a line of {} columns: {line:?}",
                line.chars().count()
            );
        }
    }
    let short = help_text(&["-h"]);
    let profile: Vec<&str> =
        short.lines().skip_while(|l| !l.trim_start().starts_with("--profile")).take(2).collect();
    let profile = profile.join(" ");
    assert!(
        profile.contains("Volumes of the fixture (--help says what each profile holds)"),
        "{short}"
    );
    assert!(
        !short.contains("fixtureAgentName") && !short.contains("subscriptions over"),
        "-h holds the profiles' detail: {short}"
    );
    let long = help_text(&["--help"]);
    assert!(long.contains("fixtureAgentName") && long.contains("subscriptions over"), "{long}");
}

#[test]
fn mesh_options_are_under_their_headings() {
    let found = options_by_heading(&help_text(&["mesh", "--help"]));
    let heading = |o: &str| {
        found
            .iter()
            .find(|(name, _)| name == o)
            .map(|(_, h)| h.as_str())
            .unwrap_or_else(|| panic!("{o}: {found:?}"))
    };
    for (option, expected) in [
        ("--seed", "Generation"),
        ("--daemons", "Generation"),
        ("--profile", "Generation"),
        ("--sync", "Generation"),
        ("--jobs", "Generation"),
        ("--out", "Output"),
        ("--compression", "Output"),
        ("--agents", "Volumes"),
        ("--days", "Volumes"),
        ("--quiet", "Display"),
        ("--timings", "Display"),
    ] {
        assert_eq!(heading(option), expected, "testgen mesh --help: {option}");
    }
}

#[test]
fn help_ends_with_examples() {
    for flag in ["--help", "-h"] {
        let text = help(flag);
        let examples =
            text.rfind("\nExamples:\n").unwrap_or_else(|| panic!("testgen {flag} has no examples"));
        assert!(
            text[examples..].contains("\n  testgen --profile small --out "),
            "{}",
            &text[examples..]
        );
        assert!(!text[examples..].contains("\n      --"), "examples come last");
    }
}

#[test]
fn bench_options_all_have_a_description() {
    // the short help: one line per option, its description after two spaces
    let text = help_of(&["bench", "-h"]);
    let mut options = 0;
    // option lines (indented by 2 or 6), not their wrapped descriptions
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with('-') && l.len() - l.trim_start().len() <= 6)
    {
        options += 1;
        let description =
            line.trim_start().split_once("  ").map(|(_, d)| d.trim()).unwrap_or_default();
        assert!(
            !description.is_empty() && !description.starts_with('['),
            "testgen bench -h: {line:?} has no description"
        );
    }
    // 13 of its own, -q and --timings, and the 7 volumes
    assert_eq!(options, 22, "{text}");
    let seed = text.lines().map(str::trim_start).find(|l| l.starts_with("--seed <SEED>")).unwrap();
    assert!(
        seed.split_once("  ").unwrap().1.trim_start().starts_with("Seed of the generated fixtures"),
        "{text}"
    );
}

fn help_of(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_testgen")).args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn help_describes_the_resilience_profile() {
    let text = help("--help").split_whitespace().collect::<Vec<_>>().join(" ");
    let said = &text[text.find("resilience: ").expect("no resilience profile in --help")..];
    for figure in [
        "fixtureAgentName(i) = {role}_{i:04}",
        "coordinator_0000, implementer_0001, ... tester_0049",
        "no agents of other roles and no humans",
        "thrum-fixture.tar.gz",
    ] {
        assert!(
            said.contains(figure),
            "--help on profile resilience: {figure:?} missing from {said:?}"
        );
    }
    assert!(text.contains("[possible values: default, small, large, huge, resilience]"), "{text}");
    assert!(help("--help").contains(
        "\n  testgen --profile resilience --compression gzip --no-v5 \
        --out tests/resilience/testdata"
    ));
}

#[test]
fn count_arguments_out_of_their_range_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--out", out, "--shards", "0"],
            "invalid value '0' for '--shards <N>': 0 is not in 1..=65536",
        ),
        (&["--out", out, "--shards", "65537"], "65537 is not in 1..=65536"),
        (&["--out", out, "--shard", "0/65537"], "need 0 <= I < N <= 65536, got 0/65537"),
        (&["--out", out, "-j", "0"], "0 is not in 1..=1024"),
        (&["bench", "--runs", "0"], "invalid value '0' for '--runs <RUNS>': 0 is not in 1..=1000"),
        (
            &["bench", "--runs", "18446744073709551615"],
            "invalid value '18446744073709551615' for '--runs <RUNS>'",
        ),
        (&["mesh", "--out", out, "--daemons", "65"], "65 is not in 2..=64"),
    ];
    for (args, what) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_testgen")).args(*args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(what), "{args:?}: expected {what:?} in {err}");
        assert!(!std::path::Path::new(out).exists(), "{args:?}: nothing is written");
    }
    let words = help("--help").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("N is 1 to 65536") && words.contains("(0-based, N at most 65536)"),
        "{words}"
    );
}

#[test]
fn agents_as_the_help_counts_them_reproduce_each_profile() {
    // --help counts every agent (core, other roles, humans): --agents with
    // that number gives the profile's volumes back
    let volumes = |p: &Profile| {
        (
            p.agents,
            p.extra_agents,
            p.humans,
            p.sessions,
            p.active_sessions,
            p.events,
            p.subscriptions,
        )
    };
    for p in [Profile::small(), Profile::default_profile(), Profile::large()] {
        let o = thrum_gen::Overrides { agents: Some(p.agents.into()), ..Default::default() };
        let again = Profile::with_overrides(p.clone(), &o).unwrap();
        assert_eq!(volumes(&again), volumes(&p), "--agents {} on profile {}", p.agents, p.name);
    }
    let words = help("--help").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("Number of agents in all, 2 to 10,000 (`--agents 50` is the default's 50)"),
        "{words}"
    );
}
