//! The requests of `testgen corrupt`, `crash`, `merge`, `commit` and
//! `bench`: their defaults, checks and summaries.

use super::{jobs, profile, Finish, Outcome};
use crate::bench::{baseline, BenchOptions};
use crate::crash::{CrashOptions, State};
use crate::merge::MergeOptions;
use crate::progress::count;
use crate::{Compression, Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use thrum_chaos::Fault;
use thrum_io::extract::Limits;
use thrum_io::text::{shown_name, shown_path};

/// The request of `testgen corrupt`.
#[derive(Debug, Clone)]
pub struct CorruptRequest {
    /// Only describe the faults.
    pub list: bool,
    /// The fault's name.
    pub fault: Option<String>,
    /// The fixture.
    pub input: Option<PathBuf>,
    /// Output directory.
    pub out: Option<PathBuf>,
    /// Seed of the target choice.
    pub seed: u64,
    /// Bounds of the input's extraction.
    pub limits: Limits,
}

/// `testgen corrupt`: a copy of a fixture with one fault, or the catalogue.
pub fn corrupt(req: &CorruptRequest) -> Result<Outcome> {
    if req.list {
        return Ok(Outcome::listing(thrum_chaos::render_list()));
    }
    let (Some(name), Some(input), Some(out)) = (&req.fault, &req.input, &req.out) else {
        return Err(Error::Usage("--fault, --in and --out are required".into()));
    };
    let fault =
        Fault::from_name(name).ok_or_else(|| Error::Usage(format!("unknown fault {name}")))?;
    let started = Instant::now();
    let a = thrum_chaos::corrupt_with(input, fault, req.seed, out, &req.limits)?;
    let phases = vec![("corrupt", started.elapsed())];
    let mut at = shown_name(a.file.as_deref().unwrap_or_default());
    if let Some(l) = a.line {
        at.push_str(&format!(":{l}"));
    }
    if let (Some(t), Some(k)) = (&a.table, &a.key) {
        at.push_str(&format!(" {} {{{}}}", shown_name(t), shown_name(k)));
    }
    let line = format!(
        "wrote {} with {} at {at} ({}); verify reports {} (exit {})",
        shown_path(out),
        a.fault,
        shown_name(&a.detail),
        a.finding,
        a.exit_code
    );
    Ok(Outcome::new(phases, vec![line]))
}

/// The request of `testgen crash`.
#[derive(Debug, Clone)]
pub struct CrashRequest {
    /// Only describe the states.
    pub list: bool,
    /// The state's name.
    pub state: Option<String>,
    /// The fixture (without it, one generated from the profile).
    pub input: Option<PathBuf>,
    /// Output directory.
    pub out: Option<PathBuf>,
    /// K: the events the daemon was writing.
    pub events: u64,
    /// Seed of the new events, the WAL's salts and a generated fixture.
    pub seed: u64,
    /// Pack the tree as the fixture's archive.
    pub compression: Option<Compression>,
    /// The profile of a generated fixture.
    pub profile: String,
    /// Its volumes on top of the profile.
    pub overrides: thrum_gen::Overrides,
    /// Bounds of the input's extraction.
    pub limits: Limits,
}

/// `testgen crash`: what a killed daemon leaves, or the states.
pub fn crash(req: &CrashRequest) -> Result<Outcome> {
    if req.list {
        return Ok(Outcome::listing(crate::crash::render_states()));
    }
    let (Some(name), Some(out)) = (req.state.as_deref(), req.out.as_deref()) else {
        return Err(Error::Usage("--state and --out are required".into()));
    };
    let state =
        State::from_name(name).ok_or_else(|| Error::Usage(format!("unknown state {name}")))?;
    let started = Instant::now();
    // without --in, the fixture of the generation options, in a temporary directory
    let generated = match &req.input {
        Some(_) => None,
        None => Some(crate::crash::generate_input(
            req.seed,
            profile(&req.profile, &req.overrides)?,
            jobs(None),
        )?),
    };
    let input =
        req.input.as_deref().or(generated.as_ref().map(|g| g.archive.as_path())).unwrap_or(out);
    let pack = req.compression.map(crate::crash::packer);
    let o = CrashOptions {
        state,
        seed: req.seed,
        events: req.events,
        limits: req.limits,
        pack: pack
            .as_ref()
            .map(|p| p as &dyn Fn(&Path, &Path, u64) -> std::result::Result<(), String>),
    };
    let a = crate::crash::crash(input, out, &o)?;
    let phases = vec![("crash", started.elapsed())];
    let line = format!(
        "wrote {} in state {} ({} event(s), MAX(events.sequence) {}); verify reports {} (exit {})",
        shown_path(out),
        a.state,
        a.events,
        a.max_events_sequence,
        a.finding,
        a.exit_code
    );
    Ok(Outcome::new(phases, vec![line]))
}

/// `testgen merge`.
pub fn merge(opts: &MergeOptions) -> Result<Outcome> {
    let started = Instant::now();
    let r = crate::merge::merge(opts)?;
    let wall = started.elapsed();
    let line = format!(
        "merged {} shards into {} ({} JSONL files, {} Parquet files copied, {} linked, {:.1} MB) \
            in {:.2}s",
        count(r.shards),
        shown_path(&opts.out),
        count(r.jsonl_files as u64),
        count(r.copied as u64),
        count(r.linked as u64),
        r.bytes as f64 / 1e6,
        wall.as_secs_f64()
    );
    Ok(Outcome::new(vec![("merge", wall)], vec![line]))
}

/// `testgen commit`: the Delta logs of a lake of slices.
pub fn commit(lake: &Path) -> Result<Outcome> {
    let started = Instant::now();
    let r = crate::lake::commit(lake)?;
    let wall = started.elapsed();
    let line = format!(
        "committed {} slices in {}: {} tables ({} logs written, {} already there, {:.1} kB), {} \
            files, {} rows, \
         {:.1} MB not copied, in {:.2}s",
        count(r.slices),
        shown_path(lake),
        r.written + r.present,
        r.written,
        r.present,
        r.log_bytes as f64 / 1e3,
        count(r.files as u64),
        count(r.rows),
        r.data_bytes as f64 / 1e6,
        wall.as_secs_f64()
    );
    Ok(Outcome::new(vec![("commit", wall)], vec![line]))
}

/// The request of `testgen bench`.
#[derive(Debug, Clone)]
pub struct BenchRequest {
    /// The testgen binary the runs start (`verify` is looked for beside it).
    pub exe: PathBuf,
    /// Profiles to time.
    pub profiles: Vec<String>,
    /// Repeats per scenario.
    pub runs: usize,
    /// Worker threads (default: every core).
    pub jobs: Option<usize>,
    /// Seed of the generated fixtures.
    pub seed: u64,
    /// Where to work (default: the system's temporary directory).
    pub work: Option<PathBuf>,
    /// Time the sqlite3/zstd floors.
    pub floors: bool,
    /// Time `verify` too, when it is found beside `exe`.
    pub verify: bool,
    /// Also time a mesh of N daemons.
    pub mesh: Option<u32>,
    /// Volumes on top of each profile.
    pub overrides: thrum_gen::Overrides,
    /// No bar of the runs.
    pub quiet: bool,
    /// JSON instead of the table.
    pub json: bool,
    /// The baseline to compare with.
    pub baseline: Option<PathBuf>,
    /// The change in percent beyond which a gated figure fails.
    pub max_regression: u16,
    /// Draw the comparison as SVG.
    pub plot: Option<PathBuf>,
}

/// `testgen bench`: the report on stdout (table and JSON, or JSON), the
/// comparison with a baseline (on stderr with `json`), and its verdict
/// from [`Outcome::finish`].
pub fn bench(req: &BenchRequest) -> Result<Outcome> {
    let verify = req.exe.with_file_name("verify");
    let o = BenchOptions {
        profiles: req.profiles.clone(),
        runs: req.runs,
        jobs: jobs(req.jobs),
        work: req.work.clone().unwrap_or_else(std::env::temp_dir),
        floors: req.floors,
        verify: (req.verify && verify.exists()).then_some(verify),
        seed: req.seed,
        mesh: req.mesh,
        overrides: req.overrides,
        progress: !req.quiet,
    };
    let started = Instant::now();
    // the baseline is read and matched before any run
    let base = match &req.baseline {
        Some(path) => {
            let base = baseline::load(path)?;
            baseline::check_settings(path, &base.settings, &o.settings())?;
            Some((path, base))
        }
        None => None,
    };
    let r = crate::bench::run(&req.exe, &o)?;
    let render = |what| move |source| Error::Render { what, source };
    let mut outcome = Outcome::new(vec![("bench", started.elapsed())], Vec::new());
    if req.json {
        outcome.stdout =
            serde_json::to_string_pretty(&r).map_err(render("rendering the report"))? + "\n";
    } else {
        let json = serde_json::to_string(&r).map_err(render("rendering the report"))?;
        outcome.stdout = format!("{}\n{json}\n", crate::bench::render(&r));
    }
    let Some((path, base)) = base else { return Ok(outcome) };
    let comparison = baseline::compare(&base, &r, f64::from(req.max_regression));
    let text = baseline::render(&comparison, path);
    if req.json {
        outcome.stderr = text;
    } else {
        outcome.stdout.push_str(&text);
    }
    outcome.finish = Finish::Bench {
        plot: req.plot.clone(),
        comparison: Box::new(comparison),
        baseline: path.clone(),
        max_regression: req.max_regression,
    };
    Ok(outcome)
}
