//! The policy of the `testgen` command line: what each command writes given
//! its request (defaults included), how a failure names the step it stopped
//! and what the command reports. The binary parses its arguments into one of
//! the requests here, calls one function and prints the [`Outcome`].
//!
//! The default run ([`GenRequest`] without `--out`, `--lake` or a slice)
//! writes `fixtures/`, then a mesh of three converged daemons in
//! `fixtures/mesh/` and one crash state of each kind in `fixtures/crash/`.
//! The v5-era fixture is written up to [`crate::V5_DEFAULT_MAX_MESSAGES`]
//! messages unless asked for or refused ([`V5`]).

mod tools;

pub use tools::{bench, commit, corrupt, crash, merge, BenchRequest, CorruptRequest, CrashRequest};

use crate::bench::baseline::Comparison;
use crate::bench::RunReport;
use crate::mesh::{MeshOptions, MeshReport};
use crate::progress::count;
use crate::{Compression, Error, Options, Report, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thrum_gen::mesh::Scenario;
use thrum_gen::Profile;
use thrum_io::text::shown_path;

/// Where the default run writes (run from the repository root).
pub const DEFAULT_OUT: &str = "fixtures";
/// Daemons of the mesh the default run writes (small profile, converged).
pub const DEFAULT_MESH_DAEMONS: u32 = 3;

/// What a command did, for the binary to show in this order: each phase's
/// wall time (`--timings`), `stdout` and `stderr` as they are, then
/// [`Outcome::finish`] (whose failure is the command's), then each summary
/// line (`testgen: LINE`, unless `--quiet`).
#[derive(Debug)]
pub struct Outcome {
    /// (phase, wall time).
    pub phases: Vec<(&'static str, Duration)>,
    /// Text for standard output.
    pub stdout: String,
    /// Text for standard error (besides the summary lines).
    pub stderr: String,
    /// Summary lines, without the `testgen: ` prefix.
    pub lines: Vec<String>,
    finish: Finish,
}

/// What remains to be done once the phases and texts are shown.
#[derive(Debug)]
enum Finish {
    Nothing,
    /// `--report-json FILE`.
    Report(PathBuf, Box<RunReport>),
    /// `bench --plot` and the verdict of `bench --baseline`.
    Bench {
        plot: Option<PathBuf>,
        comparison: Box<Comparison>,
        baseline: PathBuf,
        max_regression: u16,
    },
}

impl Outcome {
    fn new(phases: Vec<(&'static str, Duration)>, lines: Vec<String>) -> Outcome {
        Outcome {
            phases,
            stdout: String::new(),
            stderr: String::new(),
            lines,
            finish: Finish::Nothing,
        }
    }

    /// Only text for standard output (a `--list`).
    fn listing(stdout: String) -> Outcome {
        Outcome { stdout, ..Outcome::new(Vec::new(), Vec::new()) }
    }

    /// Writes the run report (`--report-json`) or the bench's plot, and
    /// gives the bench's verdict: a gated figure worse than its baseline
    /// is an error ([`Error::Regressed`]).
    pub fn finish(&self) -> Result<()> {
        match &self.finish {
            Finish::Nothing => Ok(()),
            Finish::Report(path, report) => write_report(path, report),
            Finish::Bench { plot, comparison, baseline, max_regression } => {
                if let Some(svg) = plot {
                    crate::bench::plot::write(svg, comparison)
                        .map_err(|source| Error::Plot { path: svg.clone(), source })?;
                }
                let regressions = comparison.regressions();
                if regressions.is_empty() {
                    return Ok(());
                }
                Err(Error::Regressed(format!(
                    "{} gated figure(s) worse than the baseline {} by more than {} %: {}",
                    regressions.len(),
                    shown_path(baseline),
                    max_regression,
                    comparison.regression_summary()
                )))
            }
        }
    }
}

/// Writes a run report (`--report-json`): a full disk is named as such.
fn write_report(path: &Path, report: &RunReport) -> Result<()> {
    let json = serde_json::to_string(report)
        .map_err(|source| Error::Render { what: "rendering the run report", source })?;
    std::fs::write(path, json).map_err(|e| Error::Report(thrum_io::regular::write_error(path, e)))
}

/// The volumes of the profile `name` with explicit overrides; a volume
/// beyond its cap is refused ([`Error::Plan`], exit 2).
pub fn profile(name: &str, overrides: &thrum_gen::Overrides) -> Result<Profile> {
    let plan_error = |e: thrum_gen::ProfileError| Error::Plan(e.into());
    let profile = Profile::named(name).map_err(plan_error)?;
    Profile::with_overrides(profile, overrides).map_err(plan_error)
}

/// Worker threads: as asked, else every core.
pub fn jobs(asked: Option<usize>) -> usize {
    asked.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// A failed step named (`WHAT: cause`), unless the cause is a refusal of
/// the destination or the lake, which names them itself.
fn step(e: Error, what: String) -> Error {
    let refused = matches!(&e, Error::Publish(p) if p.is_refusal()) || matches!(e, Error::Lake(_));
    if refused {
        e
    } else {
        Error::Step { what, source: Box::new(e) }
    }
}

/// Whether the v5-era fixture is written (`--v5`, `--no-v5`, neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V5 {
    /// Up to [`crate::V5_DEFAULT_MAX_MESSAGES`] messages.
    Auto,
    /// For any profile.
    Always,
    /// Never.
    Never,
}

impl V5 {
    /// Whether a run of `messages` messages writes it.
    pub fn wanted(self, messages: u64) -> bool {
        match self {
            V5::Auto => messages <= crate::V5_DEFAULT_MAX_MESSAGES,
            V5::Always => true,
            V5::Never => false,
        }
    }
}

/// The request of `testgen` without a subcommand.
#[derive(Debug, Clone)]
pub struct GenRequest {
    /// Seed of every random choice.
    pub seed: u64,
    /// The profile's name.
    pub profile: String,
    /// Volumes given on top of it.
    pub overrides: thrum_gen::Overrides,
    /// `--out` (default: [`DEFAULT_OUT`]).
    pub out: Option<PathBuf>,
    /// `--tree`.
    pub tree: Option<PathBuf>,
    /// `--lake`.
    pub lake: Option<PathBuf>,
    /// Worker threads (default: every core).
    pub jobs: Option<usize>,
    /// No progress.
    pub quiet: bool,
    /// The v5-era fixture.
    pub v5: V5,
    /// Compression of the archives.
    pub compression: Compression,
    /// `--shard I/N`.
    pub shard: Option<(u64, u64)>,
    /// `--shards N` (I from the job runner's environment).
    pub shards: Option<u64>,
    /// `--report-json`.
    pub report_json: Option<PathBuf>,
}

/// What a run writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The whole output.
    Whole,
    /// Slice I of N (`--shard`, `--shards`).
    Slice(u64, u64),
    /// Slice I of N (alone: 0 of 1) into a lake (`--lake`).
    Lake(PathBuf, u64, u64),
}

/// Every decision of a run, taken before any work.
#[derive(Debug, Clone)]
pub struct GenPlan {
    /// The generation options.
    pub opts: Options,
    /// What is written.
    pub target: Target,
    /// The mesh the default run writes too.
    pub mesh: Option<MeshOptions>,
    /// The default run writes the crash states too.
    pub crash: bool,
    /// The v5 fixture is left out by the message count (said in the summary).
    pub v5_skipped: bool,
    /// The profile's name (the run report's).
    pub profile: String,
    /// `--report-json`.
    pub report_json: Option<PathBuf>,
}

impl GenRequest {
    /// The decisions of this request; `env` reads the job runner's
    /// environment (`--shards N`).
    pub fn plan(&self, env: impl Fn(&str) -> Option<OsString>) -> Result<GenPlan> {
        let profile = profile(&self.profile, &self.overrides)?;
        if self.shards.is_some() && self.out.is_none() && self.lake.is_none() {
            return Err(Error::Usage(
                "--shards N writes a slice: give --out DIR or --lake DIR".into(),
            ));
        }
        let default_run = self.out.is_none()
            && self.lake.is_none()
            && self.shard.is_none()
            && self.shards.is_none();
        let out = self.out.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
        let v5 = self.v5.wanted(profile.messages);
        let opts = Options {
            seed: self.seed,
            profile,
            out: out.clone(),
            tree: self.tree.clone(),
            jobs: jobs(self.jobs),
            progress: !self.quiet,
            v5,
            compression: self.compression,
        };
        let shard = match (self.shard, self.shards) {
            (None, Some(n)) => Some((crate::shard::index_from_env(n, env)?, n)),
            (s, _) => s,
        };
        let target = match (&self.lake, shard) {
            (Some(lake), s) => {
                let (i, n) = s.unwrap_or((0, 1));
                Target::Lake(lake.clone(), i, n)
            }
            (None, Some((i, n))) => Target::Slice(i, n),
            (None, None) => Target::Whole,
        };
        let mesh = default_run.then(|| default_mesh(&out, self.seed, opts.jobs, opts.compression));
        Ok(GenPlan {
            v5_skipped: target == Target::Whole && !v5 && self.v5 == V5::Auto,
            opts,
            target,
            mesh,
            crash: default_run,
            profile: self.profile.clone(),
            report_json: self.report_json.clone(),
        })
    }
}

/// The mesh the default run writes into `out/mesh`: three converged
/// daemons of the small profile, a self-contained output (not in the
/// fixture's SHA256SUMS).
pub fn default_mesh(out: &Path, seed: u64, jobs: usize, compression: Compression) -> MeshOptions {
    MeshOptions {
        seed,
        profile: Profile::small(),
        daemons: DEFAULT_MESH_DAEMONS,
        scenario: Scenario::Converged,
        out: out.join(crate::recognise::MESH_SUBDIR),
        jobs,
        compression,
    }
}

/// `testgen` without a subcommand: the fixture, a slice or a lake slice,
/// and for the default run the mesh and the crash states.
pub fn generate(req: &GenRequest) -> Result<Outcome> {
    // the summary reports the run's wall time (phases run side by side:
    // their sum is more)
    let started = Instant::now();
    let plan = req.plan(|k| std::env::var_os(k))?;
    execute(&plan, started)
}

/// Carries out a [`GenPlan`]; `started` is when the run began.
pub fn execute(plan: &GenPlan, started: Instant) -> Result<Outcome> {
    let opts = &plan.opts;
    let out = &opts.out;
    let report = match &plan.target {
        Target::Lake(lake, i, n) => crate::lake::write_slice(opts, lake, *i, *n).map_err(|e| {
            step(e, format!("writing slice {i} of {n} into the lake {}", shown_path(lake)))
        })?,
        Target::Slice(i, n) => crate::generate_shard(opts, *i, *n)
            .map_err(|e| step(e, format!("generating the fixture into {}", shown_path(out))))?,
        Target::Whole => crate::generate(opts)
            .map_err(|e| step(e, format!("generating the fixture into {}", shown_path(out))))?,
    };
    let mesh = plan.mesh.as_ref().map(write_mesh).transpose()?;
    // one crash state of each kind (fixtures/crash/<state>/), each
    // self-contained with its record
    let crashed = if plan.crash {
        crate::crash::write_fixtures(out, opts.seed, opts.jobs)
            .map_err(|e| Error::Step {
                what: format!("writing the crash states into {}", shown_path(out)),
                source: Box::new(e),
            })?
            .len()
    } else {
        0
    };
    let wall = started.elapsed();
    let mut lines = vec![format!(
        "wrote {} ({}) in {:.2}s",
        written(&plan.target, &report),
        volumes(&report),
        wall.as_secs_f64()
    )];
    // the v5 fixture is left out by the rule, not by --no-v5: say so
    if plan.v5_skipped {
        lines.push(format!(
            "v5 fixture skipped: above {} messages; --v5 writes it",
            count(crate::V5_DEFAULT_MAX_MESSAGES)
        ));
    }
    if crashed > 0 {
        lines.push(format!(
            "wrote {crashed} crash states into {}",
            shown_path(&out.join(crate::crash::CRASH_SUBDIR))
        ));
    }
    if let Some(m) = mesh {
        lines.push(format!(
            "wrote the mesh {} ({} daemons, {} events)",
            shown_path(&m.out),
            m.held.len(),
            count(m.total_events)
        ));
    }
    let mut outcome = Outcome::new(report.phases.clone(), lines);
    if let Some(path) = &plan.report_json {
        let r = RunReport::from_report(&report, &plan.profile, opts.profile.messages);
        outcome.finish = Finish::Report(path.clone(), Box::new(r));
    }
    Ok(outcome)
}

/// What the summary line says was written.
fn written(target: &Target, report: &Report) -> String {
    match target {
        Target::Slice(i, n) => format!("slice {i} of {n} to {}", shown_path(&report.out)),
        Target::Lake(_, i, n) => {
            format!(
                "slice {i} of {n} into the lake {} (`testgen commit` writes its logs)",
                shown_path(&report.out)
            )
        }
        Target::Whole => shown_path(&report.out),
    }
}

/// What a run wrote, as its summary line says it: `10,540 events, 10,000
/// messages, 14 files, 12.3 MB` (of the slice, for a slice).
pub fn volumes(r: &Report) -> String {
    format!(
        "{} events, {} messages, {} files, {:.1} MB",
        count(r.total_events),
        count(r.messages),
        count(r.files),
        r.bytes as f64 / 1e6
    )
}

/// Generates a mesh; a refusal names the destination and what is there.
fn write_mesh(opts: &MeshOptions) -> Result<MeshReport> {
    crate::mesh::generate_mesh(opts)
        .map_err(|e| step(e, format!("generating the mesh into {}", shown_path(&opts.out))))
}

/// The request of `testgen mesh`.
#[derive(Debug, Clone)]
pub struct MeshRequest {
    /// Seed of every random choice.
    pub seed: u64,
    /// The profile's name.
    pub profile: String,
    /// Volumes given on top of it.
    pub overrides: thrum_gen::Overrides,
    /// Daemons (hosts).
    pub daemons: u32,
    /// Converged or lagging.
    pub scenario: Scenario,
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads (default: every core).
    pub jobs: Option<usize>,
    /// Compression of each daemon's archive.
    pub compression: Compression,
    /// `--report-json`.
    pub report_json: Option<PathBuf>,
}

/// `testgen mesh`.
pub fn mesh(req: &MeshRequest) -> Result<Outcome> {
    let started = Instant::now();
    let opts = MeshOptions {
        seed: req.seed,
        profile: profile(&req.profile, &req.overrides)?,
        daemons: req.daemons,
        scenario: req.scenario,
        out: req.out.clone(),
        jobs: jobs(req.jobs),
        compression: req.compression,
    };
    let r = write_mesh(&opts)?;
    if let Some(path) = &req.report_json {
        let ms = started.elapsed().as_secs_f64() * 1e3;
        write_report(path, &RunReport::from_mesh(&r, &req.profile, opts.profile.messages, ms))?;
    }
    let wall = started.elapsed();
    let held: Vec<String> = r.held.iter().map(|&h| count(h)).collect();
    let line = format!(
        "wrote the mesh {} ({} daemons, {} events, held {}, {} pulls, {:.1} MB) in {:.2}s",
        shown_path(&r.out),
        r.held.len(),
        count(r.total_events),
        held.join(" / "),
        count(r.pulls),
        r.bytes as f64 / 1e6,
        wall.as_secs_f64()
    );
    Ok(Outcome::new(vec![("mesh", wall)], vec![line]))
}
