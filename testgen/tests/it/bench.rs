//! `testgen bench --baseline`: the comparison with an earlier run, through
//! the binary, on a tiny profile; the slow-phase testing hook.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_testgen");
const SLOW: &str = "THRUM_BENCH_SLOW_PHASE";
const TINY: [&str; 13] = [
    "bench",
    "--profile",
    "small",
    "--messages",
    "50",
    "--runs",
    "3",
    "--jobs",
    "1",
    "--no-verify",
    "--json",
    "--work",
    "work",
];

fn bench(dir: &Path, extra: &[&str]) -> Output {
    Command::new(BIN).current_dir(dir).env_remove(SLOW).args(TINY).args(extra).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every phase of the JSON of a bench run (profile `small`).
fn phases(report: &serde_json::Value) -> Vec<String> {
    report["scenarios"][0]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_run_passes_against_itself_and_fails_against_a_baseline_three_times_faster() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = bench(dir, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(dir.join("base.json"), &o.stdout).unwrap();
    let base: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(base["settings"]["volumes"], serde_json::json!(["--messages=50"]));
    let names = phases(&base);
    assert!(names.iter().any(|p| p == "archive") && names.iter().any(|p| p == "wall"), "{names:?}");
    // each phase's ratio to its floor, in the JSON: its median over the
    // floor's (the archive over zstd, every other phase over sqlite3)
    let floor_p50 = |name: &str| {
        let floors = base["scenarios"][0]["floors"].as_array().unwrap();
        floors.iter().find(|f| f["name"].as_str().unwrap().starts_with(name)).unwrap()["p50_ms"]
            .as_f64()
            .unwrap()
    };
    for p in base["scenarios"][0]["phases"].as_array().unwrap() {
        let floor = if p["phase"] == "archive" { floor_p50("zstd") } else { floor_p50("sqlite3") };
        let want = p["p50_ms"].as_f64().unwrap() / floor;
        let got = p["ratio"].as_f64().unwrap_or_else(|| panic!("no ratio in {p}"));
        assert!((got - want).abs() <= 1e-9 * want.max(1.0), "{p}: ratio {got}, expected {want}");
    }

    // against itself: every phase side by side, nothing missing, exit 0
    // (the largest threshold: beside the other tests a tiny run's ratios
    // move by up to 3× from one run to the next)
    let o = bench(dir, &["--baseline", "base.json", "--max-regression", "1000"]);
    let text = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("stdout stays the JSON report");
    assert!(text.contains("compared with base.json"), "{text}");
    for p in &names {
        let floor = if p == "archive" { "zstd" } else { "sqlite3" };
        assert!(
            text.lines().any(|l| l.starts_with("small") && l.contains(&format!(" {p} / {floor} "))),
            "{p} in {text}"
        );
    }
    assert!(!text.contains("missing:"), "{text}");
    assert!(
        text.contains("no gated figure is worse than the baseline by more than 1000 %"),
        "{text}"
    );

    // a doctored baseline where every phase took a third of the time and a
    // third of the memory (the memory is what no load can hide)
    let mut fast = base.clone();
    fast["scenarios"][0]["peak_rss_mib"] =
        serde_json::json!(base["scenarios"][0]["peak_rss_mib"].as_f64().unwrap() / 3.0);
    for p in fast["scenarios"][0]["phases"].as_array_mut().unwrap() {
        for k in ["p50_ms", "p95_ms", "p99_ms"] {
            p[k] = serde_json::json!(p[k].as_f64().unwrap() / 3.0);
        }
    }
    for f in fast["scenarios"][0]["floors"].as_array_mut().unwrap() {
        f["ratio"] = serde_json::json!(f["ratio"].as_f64().unwrap() / 3.0);
    }
    std::fs::write(dir.join("fast.json"), fast.to_string()).unwrap();
    let o = bench(dir, &["--baseline", "fast.json", "--plot", "cmp.svg"]);
    let text = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let error = text.lines().find(|l| l.starts_with("testgen: error: ")).expect("an error line");
    assert!(error.contains("worse than the baseline fast.json by more than 50 %: "), "{error}");
    assert!(error.contains("small peak RSS MiB +"), "{error}");
    let row =
        text.lines().find(|l| l.starts_with("small") && l.contains(" peak RSS MiB ")).unwrap();
    assert!(row.ends_with("WORSE"), "{row}");
    // the baseline's wall ratio is the doctored one: a third of the wall
    // time over the same floor
    let sqlite = base["scenarios"][0]["floors"][0]["p50_ms"].as_f64().unwrap();
    let wall = base["scenarios"][0]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "wall")
        .unwrap()["p50_ms"]
        .as_f64()
        .unwrap();
    let row =
        text.lines().find(|l| l.starts_with("small") && l.contains(" wall / sqlite3 ")).unwrap();
    assert_eq!(
        row.split_whitespace().nth(4),
        Some(format!("{:.3}", wall / 3.0 / sqlite).as_str()),
        "{row}"
    );
    // the plot: a pair of bars per phase, every phase labelled
    let svg = std::fs::read_to_string(dir.join("cmp.svg")).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.ends_with("</svg>\n")
    );
    assert!(svg.contains(">profile small</text>"));
    assert_eq!(svg.matches("<title>").count(), 2 * names.len());
    for p in &names {
        assert!(svg.contains(&format!("<title>{p} / ")), "{p} in the plot");
    }
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(
        left,
        ["base.json", "cmp.svg", "fast.json"],
        "no temporary and no work directory left"
    );
}

/// A baseline as `testgen bench --json --profile small --messages 50
/// --jobs 1 --no-verify` writes it (figures made up).
fn baseline_json(seed: u64) -> String {
    serde_json::json!({
        "machine": "test", "cores": 2,
        "settings": {"seed": seed, "jobs": 1, "volumes": ["--messages=50"], "floors": true,
            "verify": false, "mesh": null},
        "scenarios": [{
            "profile": "small", "runs": 3, "jobs": 1, "peak_rss_mib": 20.0, "bytes_written": 1000,
            "phases": [{"phase": "wall", "rows": 1, "p50_ms": 90.0, "p95_ms": 90.0,
                "p99_ms": 90.0, "rows_per_s": 1.0}],
            "floors": [{"name": "sqlite3 rebuild from .dump", "command": "", "p50_ms": 10.0,
                "ratio": 0.5, "compared_with": ""}]
        }]
    })
    .to_string()
}

#[test]
fn bad_baselines_and_arguments_are_refused_before_any_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("seed7.json"), baseline_json(7)).unwrap();
    std::fs::write(dir.join("bad.json"), "{\"machine\": \"x\",").unwrap();
    std::fs::write(dir.join("big.json"), vec![b' '; (1 << 20) + 1]).unwrap();
    let refused = |extra: &[&str], expected: &str| {
        let o = bench(dir, extra);
        let text = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {text}");
        assert!(text.contains(expected), "{extra:?}: {text} should say {expected}");
        assert!(o.stdout.is_empty(), "{extra:?}: nothing measured");
        assert!(!dir.join("work").exists(), "{extra:?}: no run started");
    };
    refused(
        &["--baseline", "seed7.json"],
        "testgen: error: baseline seed7.json was measured with other options (--seed 7 in the \
            baseline, 42 here): \
         rerun with its options, or regenerate it\n",
    );
    refused(
        &["--baseline", "seed7.json", "--seed", "7", "--days", "3"],
        "(volumes --messages=50 in the baseline, --messages=50 --days=3 here)",
    );
    refused(
        &["--baseline", "bad.json"],
        "testgen: error: baseline bad.json is not the JSON of \
        `testgen bench --json`: EOF while parsing",
    );
    refused(
        &["--baseline", "big.json"],
        &format!(
            "testgen: error: baseline big.json: big.json is {} bytes, more than the",
            (1 << 20) + 1
        ),
    );
    refused(&["--baseline", "absent.json"], "testgen: error: baseline absent.json: ");
    refused(&["--baseline", "."], "testgen: error: baseline .: ");
    refused(&["--baseline", "seed7.json", "--no-floors"], "cannot be used with");
    refused(&["--plot", "x.svg"], "--baseline <FILE>");
    refused(&["--max-regression", "30"], "--baseline <FILE>");
    refused(&["--baseline", "seed7.json", "--max-regression", "0"], "0 is not in 1..=1000");
    refused(&["--baseline", "seed7.json", "--max-regression", "1001"], "1001 is not in 1..=1000");
    let o = Command::new(BIN).current_dir(dir).env(SLOW, "archive").args(TINY).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "testgen: error: invalid option: THRUM_BENCH_SLOW_PHASE=\"archive\": expected \
            PHASE:FACTOR such as archive:2 \
         (FACTOR from 1 to 100, PHASE one of plan, files, tables, events, db-finish, db-check, \
         archive, wait, manifest, publish)\n"
    );
    assert!(!dir.join("work").exists());
}

/// Runs one generation with `--report-json` and returns its phases (ms).
fn generation(dir: &Path, name: &str, slow: Option<&str>) -> Vec<(String, f64)> {
    let mut c = Command::new(BIN);
    c.current_dir(dir).env_remove(SLOW);
    if let Some(s) = slow {
        c.env(SLOW, s);
    }
    let report = format!("{name}.json");
    let args = [
        "--quiet",
        "--profile",
        "small",
        "--messages",
        "50",
        "--jobs",
        "1",
        "--no-v5",
        "--out",
        name,
        "--report-json",
        &report,
    ];
    let o = c.args(args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(&report)).unwrap()).unwrap();
    r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_f64().unwrap()))
        .collect()
}

#[test]
fn the_slow_phase_hook_lengthens_the_phase_it_names() {
    let tmp = tempfile::tempdir().unwrap();
    let ms = |v: &[(String, f64)], p: &str| v.iter().find(|(n, _)| n == p).unwrap().1;
    // the least of three plain runs: the phase's own time, the least disturbed
    let plain: Vec<_> =
        (0..3).map(|i| generation(tmp.path(), &format!("plain{i}"), None)).collect();
    let least = plain.iter().map(|r| ms(r, "tables")).fold(f64::INFINITY, f64::min);
    let started = std::time::Instant::now();
    let slow = generation(tmp.path(), "slow", Some("tables:100"));
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    let names = |v: &[(String, f64)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&plain[0]), names(&slow));
    // 100 times its own run's time: far beyond what separates two runs
    assert!(ms(&slow, "tables") > 20.0 * least, "{plain:?} {slow:?}");
    // the sleep is real: the process took at least the lengthened phase
    assert!(elapsed_ms >= ms(&slow, "tables"), "{elapsed_ms} ms for {slow:?}");
}
