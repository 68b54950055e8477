use super::*;
use crate::bench::{Floor, FLOOR_SQLITE, FLOOR_ZSTD};

/// A phase with its median, ms.
pub(crate) fn phase(name: &str, ms: f64) -> PhaseStats {
    PhaseStats {
        phase: name.into(),
        rows: 100,
        p50_ms: ms,
        p95_ms: ms,
        p99_ms: ms,
        rows_per_s: 0.0,
        ratio: None,
    }
}

/// A scenario with its phases, the two floors' medians and peak RSS; the
/// floors' ratios as `testgen bench` computes them.
pub(crate) fn scenario(profile: &str, phases: &[(&str, f64)], sqlite: f64, zstd: f64) -> Scenario {
    let sum = |names: &[&str]| {
        phases.iter().filter(|(n, _)| names.contains(n)).map(|(_, v)| v).sum::<f64>()
    };
    let floor = |name: &str, p50_ms, ratio| Floor {
        name: name.into(),
        command: String::new(),
        p50_ms,
        ratio,
        compared_with: String::new(),
    };
    Scenario {
        profile: profile.into(),
        runs: 5,
        jobs: 2,
        phases: phases.iter().map(|(n, v)| phase(n, *v)).collect(),
        peak_rss_mib: 105.3,
        bytes_written: 1,
        floors: vec![
            floor(FLOOR_SQLITE, sqlite, sum(&["tables", "events", "db-finish"]) / sqlite),
            floor(FLOOR_ZSTD, zstd, sum(&["archive"]) / zstd),
        ],
        mesh: None,
    }
}

pub(crate) fn settings(seed: u64) -> BenchSettings {
    BenchSettings { seed, jobs: 2, volumes: Vec::new(), floors: true, verify: false, mesh: None }
}

pub(crate) fn report(scenarios: Vec<Scenario>) -> BenchReport {
    BenchReport { machine: "test".into(), cores: 2, settings: settings(42), scenarios }
}

/// `default` as BENCHMARKS.md measured it (sqlite3 300.3 ms, zstd 65.4 ms).
pub(crate) const DEFAULT: [(&str, f64); 10] = [
    ("plan", 1.3),
    ("files", 27.8),
    ("tables", 88.7),
    ("events", 74.2),
    ("db-finish", 43.5),
    ("db-check", 17.2),
    ("archive", 75.5),
    ("parquet-total", 177.2),
    ("render", 9.3),
    ("wall", 366.4),
];

pub(crate) fn default_report() -> BenchReport {
    report(vec![scenario("default", &DEFAULT, 300.3, 65.4)])
}

fn labels(rows: &[&Row]) -> Vec<String> {
    rows.iter().map(|r| format!("{} {}", r.profile, r.figure.label())).collect()
}

#[test]
fn a_run_against_itself_passes_with_every_figure_unchanged() {
    let r = default_report();
    let c = compare(&r, &r, 50.0);
    assert!(c.regressions().is_empty());
    assert!(c.missing.is_empty());
    // every phase, the two floors and the peak RSS, nothing else
    assert_eq!(c.rows.len(), 10 + 2 + 1);
    assert!(c.rows.iter().all(|row| row.change_pct() == 0.0));
    let tables = c.rows.iter().find(|row| row.figure == Figure::Phase("tables".into())).unwrap();
    assert!((tables.current - 0.29537).abs() < 1e-4, "88.7 ms over the 300.3 ms sqlite3 floor");
    let archive = c.rows.iter().find(|row| row.figure == Figure::Phase("archive".into())).unwrap();
    assert!((archive.current - 1.15443).abs() < 1e-4, "75.5 ms over the 65.4 ms zstd floor");
    // phases of at least a tenth of the wall time (36.6 ms) gate, shorter ones are shown
    let gated: Vec<String> = c.rows.iter().filter(|r| r.gated).map(|r| r.figure.label()).collect();
    assert_eq!(
        gated,
        [
            "tables / sqlite3",
            "events / sqlite3",
            "db-finish / sqlite3",
            "archive / zstd",
            "parquet-total / sqlite3",
            "wall / sqlite3",
            "floor sqlite3 rebuild from .dump",
            "floor zstd -3 of the same tar",
            "peak RSS MiB"
        ]
    );
    let text = render(&c, Path::new("BENCHMARKS.json"));
    assert!(
        text.contains("no gated figure is worse than the baseline by more than 50 %"),
        "{text}"
    );
}

#[test]
fn a_baseline_three_times_faster_fails_naming_each_gated_phase() {
    let cur = default_report();
    let mut base = default_report();
    for p in &mut base.scenarios[0].phases {
        p.p50_ms /= 3.0;
    }
    for f in &mut base.scenarios[0].floors {
        f.ratio /= 3.0;
    }
    let c = compare(&base, &cur, 50.0);
    assert_eq!(
        labels(&c.regressions()),
        [
            "default tables / sqlite3",
            "default events / sqlite3",
            "default db-finish / sqlite3",
            "default archive / zstd",
            "default parquet-total / sqlite3",
            "default wall / sqlite3",
            "default floor sqlite3 rebuild from .dump",
            "default floor zstd -3 of the same tar"
        ]
    );
    let archive =
        c.regressions().into_iter().find(|r| r.figure == Figure::Phase("archive".into())).unwrap();
    assert!((archive.change_pct() - 200.0).abs() < 1e-9);
    let text = render(&c, Path::new("BENCHMARKS.json"));
    assert!(
        text.contains(
            "8 gated figure(s) worse than the baseline by more than 50 %: default \
        tables / sqlite3 +200 %"
        ),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("default")
            && l.contains("archive / zstd")
            && l.ends_with("WORSE")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("plan / sqlite3") && l.trim_end().ends_with('%')),
        "plan is shown, not judged: {text}"
    );
}

#[test]
fn the_threshold_is_a_strict_bound_on_the_change() {
    let cur = default_report();
    let mut base = default_report();
    base.scenarios[0].phases.iter_mut().find(|p| p.phase == "archive").unwrap().p50_ms = 60.0;
    // 75.5 / 60 = +25.8 %
    let names = |pct| labels(&compare(&base, &cur, pct).regressions());
    assert_eq!(names(25.0), ["default archive / zstd"]);
    assert!(names(26.0).is_empty());
}

#[test]
fn a_higher_peak_rss_gates_too() {
    let cur = default_report();
    let mut base = default_report();
    base.scenarios[0].peak_rss_mib = 50.0;
    assert_eq!(labels(&compare(&base, &cur, 50.0).regressions()), ["default peak RSS MiB"]);
}

#[test]
fn phases_and_profiles_on_one_side_only_are_reported() {
    let small: Vec<(&str, f64)> = DEFAULT.iter().map(|(n, v)| (*n, v / 4.0)).collect();
    let mut cur = report(vec![
        scenario("small", &small, 75.0, 16.0),
        scenario("default", &DEFAULT, 300.3, 65.4),
    ]);
    cur.scenarios[1].phases.retain(|p| p.phase != "render");
    let mut base = report(vec![
        scenario("default", &DEFAULT, 300.3, 65.4),
        scenario("large", &DEFAULT, 300.3, 65.4),
    ]);
    base.scenarios[0].phases.retain(|p| p.phase != "parquet-total");
    let c = compare(&base, &cur, 50.0);
    let shown: Vec<String> = c.missing.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "profile small is not in the baseline",
            "profile default: phase parquet-total is not in the baseline",
            "profile default: phase render is not in this run",
            "profile large is not in this run"
        ]
    );
    assert!(c.rows.iter().all(|r| r.profile == "default"));
    assert!(c.regressions().is_empty());
    let text = render(&c, Path::new("b.json"));
    assert!(text.contains("missing: profile large is not in this run"), "{text}");
}

#[test]
fn another_seed_or_other_options_are_refused_with_exit_2() {
    let p = Path::new("BENCHMARKS.json");
    assert!(check_settings(p, &settings(42), &settings(42)).is_ok());
    let e = check_settings(p, &settings(7), &settings(42)).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        "baseline BENCHMARKS.json was measured with other options (--seed 7 in the baseline, 42 \
            here): \
         rerun with its options, or regenerate it"
    );
    let mut other = settings(42);
    other.jobs = 1;
    other.volumes = vec!["--messages=50".into()];
    other.mesh = Some(3);
    let e = check_settings(p, &settings(42), &other).unwrap_err();
    let BaselineError::OtherOptions { differences, .. } = &e else { panic!("{e}") };
    assert_eq!(
        differences,
        &[
            "--jobs 2 in the baseline, 1 here",
            "volumes none in the baseline, --messages=50 here",
            "--mesh none in the baseline, 3 here"
        ]
    );
}

#[test]
fn the_json_of_a_run_reads_back_as_its_baseline() {
    let r = default_report();
    let text = serde_json::to_string_pretty(&r).unwrap();
    let back = parse(Path::new("b.json"), text.as_bytes()).unwrap();
    assert_eq!(back.settings, r.settings);
    assert_eq!(compare(&back, &r, 50.0), compare(&r, &r, 50.0));
}

#[test]
fn malformed_baselines_are_refused_naming_the_file() {
    let p = Path::new("dir/old.json");
    let good = serde_json::to_value(default_report()).unwrap();
    let mut no_settings = good.clone();
    no_settings.as_object_mut().unwrap().remove("settings");
    let mut negative = good.clone();
    negative["scenarios"][0]["phases"][2]["p50_ms"] = serde_json::json!(-1.0);
    let mut twice = good.clone();
    let first = twice["scenarios"][0].clone();
    twice["scenarios"].as_array_mut().unwrap().push(first);
    let mut empty = good.clone();
    empty["scenarios"] = serde_json::json!([]);
    let cases = [
        (b"{\"machine\": ".to_vec(), "EOF while parsing"),
        (b"[1, 2]".to_vec(), "invalid type"),
        (no_settings.to_string().into_bytes(), "missing field `settings`"),
        (negative.to_string().into_bytes(), "profile default: tables is -1"),
        (twice.to_string().into_bytes(), "profile default appears twice"),
        (empty.to_string().into_bytes(), "no profile"),
    ];
    for (bytes, why) in cases {
        let e = parse(p, &bytes).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let text = e.to_string();
        assert!(
            text.starts_with("baseline dir/old.json is not the JSON of `testgen bench --json`: "),
            "{text}"
        );
        assert!(text.contains(why), "{text} should say {why}");
    }
}

#[test]
fn an_oversized_absent_or_irregular_baseline_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; MAX_BASELINE_BYTES as usize + 1]).unwrap();
    let e = load(&big).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let text = e.to_string();
    assert!(
        text.contains("big.json")
            && text.contains(&format!(
                "{} bytes, more than the {MAX_BASELINE_BYTES}",
                MAX_BASELINE_BYTES + 1
            )),
        "{text}"
    );
    let e = load(&dir.path().join("absent.json")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("absent.json"), "{e}");
    let e = load(dir.path()).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let fifo = dir.path().join("fifo.json");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let e = load(&fifo).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let ok = dir.path().join("ok.json");
    std::fs::write(&ok, serde_json::to_string(&default_report()).unwrap()).unwrap();
    assert_eq!(load(&ok).unwrap().scenarios[0].phases.len(), 10);
}

#[test]
fn the_slow_phase_hook_is_parsed_strictly() {
    assert_eq!(crate::bench::parse_slow_phase("archive:2").unwrap(), ("archive".to_string(), 2.0));
    assert_eq!(
        crate::bench::parse_slow_phase("db-finish:1.5").unwrap(),
        ("db-finish".to_string(), 1.5)
    );
    for bad in [
        "archive",
        "archive:",
        ":2",
        "archive:0.5",
        "archive:101",
        "archive:x",
        "archive:NaN",
        "parquet-total:2",
        "wall:2",
    ] {
        let e = crate::bench::parse_slow_phase(bad).unwrap_err();
        assert!(
            e.contains("THRUM_BENCH_SLOW_PHASE") && e.contains("PHASE one of plan, files, tables,"),
            "{bad}: {e}"
        );
    }
    // the sleep asked of a phase the variable does not name is none
    assert_eq!(
        crate::bench::slow_phase_extra("no-such-phase", std::time::Duration::from_secs(1)),
        std::time::Duration::ZERO
    );
}

#[test]
fn the_new_verify_phases_missing_from_a_baseline_are_reported_not_judged() {
    use crate::bench::{MeshScenario, VERIFY_ARCHIVE};
    let mut phases = DEFAULT.to_vec();
    // slower than anything a baseline allows, were they judged
    phases.extend([("verify", 200.0), (VERIFY_ARCHIVE, 9000.0)]);
    let mut cur = report(vec![scenario("default", &phases, 300.3, 65.4)]);
    let mesh = |names: &[(&str, f64)]| MeshScenario {
        daemons: 3,
        phases: names.iter().map(|(n, v)| phase(n, *v)).collect(),
        peak_rss_mib: 100.0,
        bytes_written: 1,
    };
    cur.scenarios[0].mesh =
        Some(mesh(&[("mesh", 800.0), ("verify-mesh", 9000.0), ("verify-daemons", 1500.0)]));
    let mut base = report(vec![scenario("default", &DEFAULT, 300.3, 65.4)]);
    base.scenarios[0].phases.push(phase("verify", 200.0));
    base.scenarios[0].mesh = Some(mesh(&[("mesh", 800.0), ("verify-mesh", 1900.0)]));
    let c = compare(&base, &cur, 50.0);
    let shown: Vec<String> = c.missing.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "profile default: phase verify-archive is not in the baseline",
            "profile default: phase verify-daemons is not in the baseline"
        ]
    );
    // verify-mesh, in both, is judged: 9000 against 1900 ms over one floor
    assert_eq!(labels(&c.regressions()), ["default verify-mesh / sqlite3"]);
}

#[test]
fn each_phase_carries_its_ratio_to_its_floor() {
    let mut sc = scenario("default", &DEFAULT, 300.3, 65.4);
    sc.mesh = Some(crate::bench::MeshScenario {
        daemons: 3,
        phases: vec![phase("verify-mesh", 600.6)],
        peak_rss_mib: 1.0,
        bytes_written: 1,
    });
    crate::bench::set_ratios(&mut sc);
    let ratio = |name: &str| {
        sc.phases
            .iter()
            .chain(sc.mesh.iter().flat_map(|m| m.phases.iter()))
            .find(|p| p.phase == name)?
            .ratio
    };
    assert_eq!(ratio("archive"), Some(75.5 / 65.4));
    assert_eq!(ratio("wall"), Some(366.4 / 300.3));
    assert_eq!(ratio("verify-mesh"), Some(2.0));
    sc.floors.clear();
    crate::bench::set_ratios(&mut sc);
    assert!(sc.phases.iter().all(|p| p.ratio.is_none()), "no floors, no ratios");
}
