//! `testgen bench`: wall time per phase over repeated runs, rows/s, peak RSS
//! and bytes written, compared with the floors the generator competes with
//! (the `sqlite3` shell rebuilding the same database from its `.dump`, and
//! `zstd` compressing the same tar).
//!
//! Each run is a separate `testgen` process (so peak RSS is per run); phase
//! times come from the child's `--report-json`. [`baseline`] compares a run
//! with an earlier one, [`plot`] draws that comparison.

pub mod baseline;
mod child;
mod floors;
mod mesh;
pub mod plot;
mod table;
mod work;

use child::{time_cmd, time_verify};
use mesh::time_mesh;
pub use table::render;
pub use work::WorkDir;

use crate::error::{IoContext, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What a generation run reports to a parent (`--report-json`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunReport {
    /// Profile name (with overrides).
    pub profile: String,
    /// Messages generated.
    pub messages: u64,
    /// Event lines written.
    pub events: u64,
    /// (phase, wall time in ms).
    pub phases: Vec<(String, f64)>,
    /// Bytes of every artifact.
    pub bytes: u64,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
}

/// Peak resident set size of this process (Linux `VmHWM`), KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

impl RunReport {
    /// The report a child run wrote (`--report-json`).
    fn read(path: &Path) -> Result<RunReport> {
        let text = std::fs::read_to_string(path).ctx("read", path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other).ctx("parse", path)
    }

    /// The report of a finished `testgen mesh` run of this process: one
    /// phase, `mesh`, of `wall_ms`; `events` counts every daemon's lines.
    pub fn from_mesh(
        r: &crate::mesh::MeshReport,
        profile: &str,
        messages: u64,
        wall_ms: f64,
    ) -> RunReport {
        RunReport {
            profile: profile.to_string(),
            messages,
            events: r.held.iter().sum(),
            phases: vec![("mesh".into(), wall_ms)],
            bytes: r.bytes,
            peak_rss_kib: peak_rss_kib(),
        }
    }

    /// The report of a finished run of this process.
    pub fn from_report(r: &crate::Report, profile: &str, messages: u64) -> RunReport {
        RunReport {
            profile: profile.to_string(),
            messages,
            events: r.total_events,
            phases: r.phases.iter().map(|(n, d)| (n.to_string(), d.as_secs_f64() * 1e3)).collect(),
            bytes: r.bytes,
            peak_rss_kib: peak_rss_kib(),
        }
    }
}

/// One phase's wall times over the runs of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseStats {
    /// Phase name.
    pub phase: String,
    /// Rows the phase handles (0 when not row-based).
    pub rows: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Rows per second at the median.
    pub rows_per_s: f64,
    /// The median over the median of its floor ([`floor_of`]) in the same
    /// scenario; absent without floors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
}

/// A floor: the time an external tool takes for comparable work.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Floor {
    /// Short name (`sqlite3`, `zstd`).
    pub name: String,
    /// The command timed.
    pub command: String,
    /// Median, ms.
    pub p50_ms: f64,
    /// Our comparable phase time divided by the floor.
    pub ratio: f64,
    /// Our phase it is compared with.
    pub compared_with: String,
}

/// One profile timed over repeated runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// Profile name.
    pub profile: String,
    /// Runs timed.
    pub runs: usize,
    /// Worker threads of each run.
    pub jobs: usize,
    /// Per-phase statistics.
    pub phases: Vec<PhaseStats>,
    /// Largest peak RSS of the runs, MiB.
    pub peak_rss_mib: f64,
    /// Bytes of every artifact of one run.
    pub bytes_written: u64,
    /// The external floors.
    pub floors: Vec<Floor>,
    /// `testgen mesh` of the profile, when asked for (`--mesh N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<MeshScenario>,
}

/// A mesh of the profile timed over repeated runs (`testgen bench --mesh N`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeshScenario {
    /// Daemons of the mesh.
    pub daemons: u32,
    /// `mesh` (wall time of `testgen mesh`, rows = lines of every daemon),
    /// `verify-mesh` (wall time of `verify mesh`) and `verify-daemons` (the
    /// sum of `verify replay --no-parquet` of each daemon's archive).
    pub phases: Vec<PhaseStats>,
    /// Largest peak RSS of the `testgen mesh` runs, MiB.
    pub peak_rss_mib: f64,
    /// Bytes of every file of one mesh.
    pub bytes_written: u64,
}

/// What `testgen bench` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    /// CPU model and memory.
    pub machine: String,
    /// Cores available.
    pub cores: usize,
    /// What was measured: a comparison needs the same on both sides.
    pub settings: BenchSettings,
    /// One per profile.
    pub scenarios: Vec<Scenario>,
}

/// The options that change what a benchmark measures; a baseline is
/// compared only with a run of the same ([`baseline::check_settings`]).
/// The number of runs may differ (medians are compared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchSettings {
    /// Seed of the generated fixtures.
    pub seed: u64,
    /// Worker threads of each run.
    pub jobs: usize,
    /// Volumes given on top of each profile, as flags (`--messages=50`).
    pub volumes: Vec<String>,
    /// The sqlite3 and zstd floors were timed.
    pub floors: bool,
    /// `verify` was timed.
    pub verify: bool,
    /// Daemons of the mesh timed, if any.
    pub mesh: Option<u32>,
}

/// The phase timing `verify replay ARCHIVE` as a user runs it: extraction,
/// manifest and checksums, replay, compare, checks and the Parquet
/// snapshots beside the archive, in one process.
pub const VERIFY_ARCHIVE: &str = "verify-archive";

/// Name of the `sqlite3` floor ([`Floor::name`]): every phase but the
/// archive is compared with it.
pub const FLOOR_SQLITE: &str = "sqlite3 rebuild from .dump";
/// Name of the `zstd` floor: the `archive` phase is compared with it.
pub const FLOOR_ZSTD: &str = "zstd -3 of the same tar";

/// The floor a phase is compared with: `zstd` for the archive, `sqlite3`
/// (the machine's speed at comparable database work) for every other one.
pub fn floor_of(phase: &str) -> &'static str {
    if phase == "archive" {
        FLOOR_ZSTD
    } else {
        FLOOR_SQLITE
    }
}

/// A phase's median divided by the median of its floor ([`floor_of`]) in
/// the same scenario; `None` without floors.
pub fn phase_ratio(sc: &Scenario, phase: &PhaseStats) -> Option<f64> {
    let floor = sc.floors.iter().find(|f| f.name == floor_of(&phase.phase))?;
    (floor.p50_ms > 0.0).then(|| phase.p50_ms / floor.p50_ms)
}

/// Sets every phase's [`PhaseStats::ratio`] (the mesh's too) from the
/// floors of the scenario.
pub fn set_ratios(sc: &mut Scenario) {
    let ratios: Vec<Option<f64>> = sc.phases.iter().map(|p| phase_ratio(sc, p)).collect();
    let mesh: Vec<Option<f64>> =
        sc.mesh.iter().flat_map(|m| m.phases.iter()).map(|p| phase_ratio(sc, p)).collect();
    for (p, r) in sc.phases.iter_mut().zip(ratios) {
        p.ratio = r;
    }
    for (p, r) in sc.mesh.iter_mut().flat_map(|m| m.phases.iter_mut()).zip(mesh) {
        p.ratio = r;
    }
}

/// The testing hook of the benchmark's gate: `THRUM_BENCH_SLOW_PHASE=PHASE:FACTOR`
/// in the environment of a generation run makes PHASE take FACTOR times
/// as long (a sleep at its end). Never set it but to test the gate.
pub const SLOW_PHASE_ENV: &str = "THRUM_BENCH_SLOW_PHASE";

/// The phases [`SLOW_PHASE_ENV`] can lengthen: those the generation times
/// one after another (`parquet-total` and `v5-total` run beside them).
pub const SLOW_PHASES: [&str; 10] = [
    "plan",
    "files",
    "tables",
    "events",
    "db-finish",
    "db-check",
    "archive",
    "wait",
    "manifest",
    "publish",
];

/// Parses [`SLOW_PHASE_ENV`]: `PHASE:FACTOR`, PHASE one of [`SLOW_PHASES`],
/// FACTOR from 1 to 100.
pub fn parse_slow_phase(s: &str) -> std::result::Result<(String, f64), String> {
    let bad = || {
        format!(
            "{SLOW_PHASE_ENV}={s:?}: expected PHASE:FACTOR such as archive:2 (FACTOR from 1 to \
                100, PHASE one of {})",
            SLOW_PHASES.join(", ")
        )
    };
    let (phase, factor) = s.rsplit_once(':').ok_or_else(bad)?;
    let factor: f64 = factor.trim().parse().map_err(|_| bad())?;
    if !SLOW_PHASES.contains(&phase) || !(1.0..=100.0).contains(&factor) {
        return Err(bad());
    }
    Ok((phase.to_string(), factor))
}

/// The extra time [`SLOW_PHASE_ENV`] asks of `phase`, which took `took`
/// (zero unless the variable names it; a malformed value is ignored here:
/// `testgen bench` refuses it before starting any run).
pub fn slow_phase_extra(phase: &str, took: std::time::Duration) -> std::time::Duration {
    static SLOW: std::sync::OnceLock<Option<(String, f64)>> = std::sync::OnceLock::new();
    let slow = SLOW
        .get_or_init(|| std::env::var(SLOW_PHASE_ENV).ok().and_then(|v| parse_slow_phase(&v).ok()));
    match slow {
        Some((p, factor)) if p == phase => took.mul_f64(factor - 1.0),
        _ => std::time::Duration::ZERO,
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn stats(phase: &str, rows: u64, mut samples: Vec<f64>) -> PhaseStats {
    samples.sort_by(f64::total_cmp);
    let p50 = percentile(&samples, 50.0);
    PhaseStats {
        phase: phase.into(),
        rows,
        p50_ms: p50,
        p95_ms: percentile(&samples, 95.0),
        p99_ms: percentile(&samples, 99.0),
        rows_per_s: if p50 > 0.0 { rows as f64 / (p50 / 1e3) } else { 0.0 },
        ratio: None,
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(String::new(), |k| format!(", {:.0} GiB", k as f64 / 1048576.0));
    format!("{cpu}{mem}")
}

/// Options of one benchmark invocation.
pub struct BenchOptions {
    /// Profiles to time, one scenario each.
    pub profiles: Vec<String>,
    /// Runs per scenario.
    pub runs: usize,
    /// Worker threads of each run.
    pub jobs: usize,
    /// Where the scratch directory is created ([`WorkDir`]); nothing else
    /// in it is touched.
    pub work: PathBuf,
    /// Time the sqlite3 and zstd floors too.
    pub floors: bool,
    /// The verify binary, to time `verify replay` too.
    pub verify: Option<PathBuf>,
    /// Seed of the runs.
    pub seed: u64,
    /// Also time `testgen mesh` with this many daemons (and `verify mesh`).
    pub mesh: Option<u32>,
    /// Volumes given on top of every profile.
    pub overrides: thrum_gen::Overrides,
    /// A bar of each scenario's runs on stderr (drawn only on a terminal).
    pub progress: bool,
}

impl BenchOptions {
    /// What these options measure ([`BenchSettings`]).
    pub fn settings(&self) -> BenchSettings {
        BenchSettings {
            seed: self.seed,
            jobs: self.jobs,
            volumes: self.overrides.given().map(|(v, n)| format!("{}={n}", v.flag())).collect(),
            floors: self.floors,
            verify: self.verify.is_some(),
            mesh: self.mesh,
        }
    }

    /// The command-line flags of the volumes, for each child run.
    fn volume_args(&self) -> Vec<String> {
        self.overrides.given().flat_map(|(v, n)| [v.flag().to_string(), n.to_string()]).collect()
    }

    /// Every profile with the volumes, checked before any work.
    fn resolved(&self) -> Result<Vec<thrum_gen::Profile>> {
        let plan_error = |e: thrum_gen::ProfileError| crate::Error::Plan(e.into());
        self.profiles
            .iter()
            .map(|p| {
                thrum_gen::Profile::with_overrides(
                    thrum_gen::Profile::named(p).map_err(plan_error)?,
                    &self.overrides,
                )
                .map_err(plan_error)
            })
            .collect()
    }
}

/// Runs every scenario; `exe` is the testgen binary to time. Works in a
/// fresh [`WorkDir`] inside `o.work`, removed at the end (also on error).
pub fn run(exe: &Path, o: &BenchOptions) -> Result<BenchReport> {
    let resolved = o.resolved()?;
    if let Some(v) = std::env::var_os(SLOW_PHASE_ENV) {
        parse_slow_phase(&v.to_string_lossy()).map_err(crate::Error::Usage)?;
    }
    let work = WorkDir::create(&o.work)?;
    let bars = crate::progress::Bars::new(o.progress);
    let mut scenarios = Vec::new();
    for (profile, resolved) in o.profiles.iter().zip(resolved) {
        let bar = bars.bar("bench", o.runs as u64, "runs");
        let dir = work.path().join(profile);
        std::fs::create_dir_all(&dir).ctx("create directory", &dir)?;
        let (reports, walls) = time_generation(exe, o, profile, &dir, &bar)?;
        bar.finish();
        scenarios.push(scenario(exe, o, profile, resolved, &dir, &reports, walls)?);
        let _ = thrum_io::tree::remove_dir_all(&dir);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(BenchReport { machine: machine(), cores, settings: o.settings(), scenarios })
}

/// Times `o.runs` runs of `testgen` of `profile` writing into `dir`
/// (`out/`, `tree/`, `report.json`): each run's report and wall time (ms).
fn time_generation(
    exe: &Path,
    o: &BenchOptions,
    profile: &str,
    dir: &Path,
    bar: &crate::progress::Bar,
) -> Result<(Vec<RunReport>, Vec<f64>)> {
    let volumes = o.volume_args();
    let report_path = dir.join("report.json");
    let mut reports: Vec<RunReport> = Vec::new();
    let mut walls = Vec::new();
    for _ in 0..o.runs {
        let mut c = Command::new(exe);
        c.args([
            "--quiet",
            "--profile",
            profile,
            "--seed",
            &o.seed.to_string(),
            "--jobs",
            &o.jobs.to_string(),
        ])
        .args(&volumes)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--tree")
        .arg(dir.join("tree"))
        .arg("--report-json")
        .arg(&report_path);
        walls.push(time_cmd(&mut c, "testgen")?);
        reports.push(RunReport::read(&report_path)?);
        bar.inc(1);
    }
    Ok((reports, walls))
}

/// The scenario of `profile` from its runs' `reports` and `walls`, with
/// the phases timed here (rendering, verify, the floors, the mesh).
fn scenario(
    exe: &Path,
    o: &BenchOptions,
    profile: &str,
    resolved: thrum_gen::Profile,
    dir: &Path,
    reports: &[RunReport],
    walls: Vec<f64>,
) -> Result<Scenario> {
    let first = &reports[0];
    let mut phases = run_phases(reports);
    // JSONL event generation alone: render every line into memory.
    let plan = thrum_gen::Plan::new(o.seed, resolved)?;
    let samples = (0..o.runs).map(|_| render_all(&plan, o.jobs)).collect();
    phases.push(stats("render", plan.total_events(), samples));
    // Wall time of the whole process (start-up, all phases, the tasks
    // that run side by side, publication).
    phases.push(stats("wall", first.events, walls));
    if let Some(verify) = &o.verify {
        phases.extend(verify_phases(verify, o.runs, &dir.join("out"), first)?);
    }
    let floors = if o.floors { floors::time_floors(o, dir, &phases)? } else { Vec::new() };
    let peak = reports.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let mesh = match o.mesh {
        Some(daemons) => Some(time_mesh(exe, o, profile, daemons, dir)?),
        None => None,
    };
    let mut sc = Scenario {
        profile: profile.to_string(),
        runs: o.runs,
        jobs: o.jobs,
        phases,
        peak_rss_mib: peak,
        bytes_written: first.bytes,
        floors,
        mesh,
    };
    set_ratios(&mut sc);
    Ok(sc)
}

/// The figures of each phase the runs report, in the first run's order.
fn run_phases(reports: &[RunReport]) -> Vec<PhaseStats> {
    let first = &reports[0];
    let mut phases = Vec::new();
    for (name, _) in &first.phases {
        let samples: Vec<f64> = reports
            .iter()
            .filter_map(|r| r.phases.iter().find(|(n, _)| n == name).map(|(_, ms)| *ms))
            .collect();
        let rows = match name.as_str() {
            "events" | "plan" => first.events,
            _ => first.messages,
        };
        phases.push(stats(name, rows, samples));
    }
    phases
}

/// Times `verify` of the output `out` of a run (`first` its report): the
/// replay alone (extraction included), the Parquet check alone, and the
/// command as a user runs it: the manifest, SHA256SUMS and parquet/ beside
/// the archive checked in one process.
fn verify_phases(
    verify: &Path,
    runs: usize,
    out: &Path,
    first: &RunReport,
) -> Result<Vec<PhaseStats>> {
    let archive = out.join(crate::ARCHIVE);
    let replay: [&std::ffi::OsStr; 3] =
        ["replay".as_ref(), "--no-parquet".as_ref(), archive.as_ref()];
    let parquet: [&std::ffi::OsStr; 2] = ["parquet".as_ref(), out.as_ref()];
    let user: [&std::ffi::OsStr; 2] = ["replay".as_ref(), archive.as_ref()];
    Ok(vec![
        stats("verify", first.events, time_verify(verify, runs, &replay)?),
        stats("verify-pq", first.messages, time_verify(verify, runs, &parquet)?),
        stats(VERIFY_ARCHIVE, first.events, time_verify(verify, runs, &user)?),
    ])
}

/// Renders every event line of `plan` into memory (no I/O) on `jobs`
/// threads, one timeline slice each; returns ms.
pub fn render_all(plan: &thrum_gen::Plan, jobs: usize) -> f64 {
    let t0 = Instant::now();
    let n = jobs.max(1) as u64;
    let bytes: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                s.spawn(move || {
                    let mut sc = thrum_gen::render::Scratch::default();
                    let mut line = String::with_capacity(8192);
                    let mut bytes = 0usize;
                    for e in thrum_gen::Timeline::slice(plan, i, n) {
                        line.clear();
                        thrum_gen::render::line(plan, &e, &mut line, &mut sc);
                        bytes += line.len();
                    }
                    bytes
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    std::hint::black_box(bytes);
    t0.elapsed().as_secs_f64() * 1e3
}
