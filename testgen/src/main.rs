//! `testgen`: regenerate the Thrum fixtures (thin CLI over the library).

mod args;

use anyhow::Context;
use args::{BenchArgs, Cmd, CommitArgs, CorruptArgs, CrashArgs, GenArgs, MergeArgs, MeshArgs, SyncArg, GEN_EXAMPLES};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use testgen::progress::count;
use thrum_gen::Profile;
use thrum_io::text::shown_path;

/// Generates a complete, byte-reproducible Thrum `.thrum/` fixture: JSONL
/// event logs, a schema-v13 SQLite database, identities and context files,
/// packed as a tar.zst (or, with --compression gzip, tar.gz) archive with a
/// manifest and SHA256SUMS, plus the same data as a v5-era fixture.
///
/// With no arguments it regenerates `fixtures/` (run it from the repository
/// root), with a mesh of three synced daemons in `fixtures/mesh/` (`testgen
/// mesh`) and one crash state of each kind in `fixtures/crash/` (`testgen
/// crash`). The same seed and options give identical bytes on any machine at
/// any --jobs. Exit codes: 0 success, 1 failure (I/O, database), 2 bad
/// arguments (an --out that holds anything but a previous output included).
#[derive(Debug, Parser)]
#[command(
    name = "testgen",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true,
    after_help = GEN_EXAMPLES,
    after_long_help = GEN_EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    gen: GenArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C or SIGTERM removes the staging directories (exit 130 / 143);
    // what a killed run leaves is collected by the next run
    if let Err(e) = thrum_io::cleanup::install_signal_handlers() {
        eprintln!(
            "testgen: warning: cannot install signal handlers ({e}); an interrupted run leaves its temporary directory to the next run"
        );
    }
    let res = match cli.command {
        Some(Cmd::Bench(b)) => bench(b),
        Some(Cmd::Corrupt(c)) => corrupt(c),
        Some(Cmd::Crash(c)) => crash(c),
        Some(Cmd::Merge(m)) => merge(m),
        Some(Cmd::Commit(c)) => commit(c),
        Some(Cmd::Mesh(m)) => mesh(m),
        None => generate(cli.gen),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // paths are escaped where they are named; this catches any
            // the libraries name raw (escaping is idempotent)
            eprintln!("testgen: error: {}", thrum_io::text::shown_name(&chain(&f.error)));
            ExitCode::from(f.code)
        }
    }
}

/// A failed command: the error with its context, and the exit code the
/// library's error chose (2: the request is at fault, such as an invalid
/// option or a destination that may not be replaced; 1: anything else).
struct Failure {
    error: anyhow::Error,
    code: u8,
}

impl Failure {
    /// Adds context to the error; the exit code stays.
    fn context(self, what: String) -> Failure {
        Failure { error: self.error.context(what), code: self.code }
    }
}

impl From<testgen::Error> for Failure {
    fn from(e: testgen::Error) -> Failure {
        Failure { code: e.exit_code(), error: e.into() }
    }
}

impl From<thrum_chaos::CorruptError> for Failure {
    fn from(e: thrum_chaos::CorruptError) -> Failure {
        Failure { code: e.exit_code(), error: e.into() }
    }
}

/// Failures of the command line itself (writing a report, locating the
/// binary): exit 1.
impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure { error, code: 1 }
    }
}

type CmdResult = Result<(), Failure>;

/// The error and its causes joined by ": ", skipping a cause whose text
/// its parent's message already ends with (the library's errors name their
/// source in their own message).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Writes a run report (`--report-json`): a full disk is named as such.
fn write_report(path: &Path, json: &str) -> anyhow::Result<()> {
    std::fs::write(path, json).map_err(|e| anyhow::Error::new(thrum_io::regular::write_error(path, e)))
}

/// The most slices a run is split into (`--shard I/N`, `--shards N`).
const MAX_SHARDS: u64 = 65_536;

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("expected I/N such as 0/4, got {s:?}"))?;
    let i: u64 = i.trim().parse().map_err(|_| format!("I in {s:?} is not a number"))?;
    let n: u64 = n.trim().parse().map_err(|_| format!("N in {s:?} is not a number"))?;
    if n == 0 || i >= n || n > MAX_SHARDS {
        return Err(format!("need 0 <= I < N <= {MAX_SHARDS}, got {i}/{n}"));
    }
    Ok((i, n))
}

fn jobs(j: Option<u16>) -> usize {
    j.map(usize::from).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

fn generate(cli: GenArgs) -> CmdResult {
    // the summary reports the run's wall time (phases run side by side:
    // their sum is more)
    let started = std::time::Instant::now();
    let plan_error = |e: thrum_gen::ProfileError| testgen::Error::Plan(e.into());
    let profile = Profile::named(&cli.profile).map_err(plan_error)?;
    let profile = Profile::with_overrides(profile, &cli.overrides.volumes()).map_err(plan_error)?;
    let (messages, name) = (profile.messages, profile.name.clone());
    if cli.shards.is_some() && cli.out.is_none() && cli.lake.is_none() {
        return Err(testgen::Error::Usage("--shards N writes a slice: give --out DIR or --lake DIR".into()).into());
    }
    let default_run = cli.out.is_none() && cli.lake.is_none() && cli.shard.is_none() && cli.shards.is_none();
    let out = cli.out.clone().unwrap_or_else(|| PathBuf::from("fixtures"));
    let opts = testgen::Options {
        seed: cli.seed,
        profile,
        out: out.clone(),
        tree: cli.tree,
        jobs: jobs(cli.jobs),
        progress: !cli.display.quiet,
        v5: cli.v5 || (!cli.no_v5 && messages <= testgen::V5_DEFAULT_MAX_MESSAGES),
        compression: cli.compression.into(),
    };
    let shard = match (cli.shard, cli.shards) {
        (None, Some(n)) => Some((testgen::shard::index_from_env(n, |k| std::env::var_os(k))?, n)),
        (s, _) => s,
    };
    // a refusal names the destination (or lake file) and what is there already
    let failure = |e: testgen::Error, what: &str| {
        let refused = matches!(&e, testgen::Error::Publish(p) if p.is_refusal()) || matches!(e, testgen::Error::Lake(_));
        let f = Failure::from(e);
        if refused {
            f
        } else {
            f.context(what.to_string())
        }
    };
    let report = match (&cli.lake, shard) {
        (Some(lake), s) => {
            let (i, n) = s.unwrap_or((0, 1));
            let what = format!("writing slice {i} of {n} into the lake {}", shown_path(lake));
            Ok(testgen::lake::write_slice(&opts, lake, i, n).map_err(|e| failure(e, &what))?)
        }
        (None, Some((i, n))) => testgen::generate_shard(&opts, i, n),
        (None, None) => testgen::generate(&opts),
    }
    .map_err(|e| failure(e, &format!("generating the fixture into {}", shown_path(&out))))?;
    // the default regeneration also writes the mesh fixture, a
    // self-contained output inside fixtures/ (not in its SHA256SUMS)
    let mesh = if default_run {
        let mesh = testgen::mesh::MeshOptions {
            seed: cli.seed,
            profile: Profile::small(),
            daemons: 3,
            scenario: thrum_gen::mesh::Scenario::Converged,
            out: out.join(testgen::recognise::MESH_SUBDIR),
            jobs: opts.jobs,
            compression: opts.compression,
        };
        Some(write_mesh(&mesh)?)
    } else {
        None
    };
    // and one crash state of each kind (fixtures/crash/<state>/), each
    // self-contained with its record
    let crashed = if default_run {
        testgen::crash::write_fixtures(&out, cli.seed, opts.jobs)
            .map_err(|e| Failure::from(e).context(format!("writing the crash states into {}", shown_path(&out))))?
            .len()
    } else {
        0
    };
    let wall = started.elapsed();
    cli.display.timings(&report.phases);
    if let Some(path) = &cli.report_json {
        let r = testgen::bench::RunReport::from_report(&report, &name, messages);
        let json = serde_json::to_string(&r).context("rendering the run report")?;
        write_report(path, &json)?;
    }
    let what = match (shard, &cli.lake) {
        (Some((i, n)), None) => format!("slice {i} of {n} to {}", shown_path(&report.out)),
        (s, Some(_)) => {
            let (i, n) = s.unwrap_or((0, 1));
            format!("slice {i} of {n} into the lake {} (`testgen commit` writes its logs)", shown_path(&report.out))
        }
        (None, None) => shown_path(&report.out),
    };
    cli.display.say(format_args!("wrote {what} ({}) in {:.2}s", volumes(&report), wall.as_secs_f64()));
    // the v5 fixture is left out by the rule, not by --no-v5: say so
    if shard.is_none() && cli.lake.is_none() && !opts.v5 && !cli.no_v5 {
        cli.display.say(format_args!("v5 fixture skipped: above {} messages; --v5 writes it", count(testgen::V5_DEFAULT_MAX_MESSAGES)));
    }
    if crashed > 0 {
        cli.display.say(format_args!("wrote {crashed} crash states into {}", shown_path(&out.join(testgen::crash::CRASH_SUBDIR))));
    }
    if let Some(m) = mesh {
        cli.display.say(format_args!("wrote the mesh {} ({} daemons, {} events)", shown_path(&m.out), m.held.len(), count(m.total_events)));
    }
    Ok(())
}

/// What a run wrote, as its summary line says it: `10,540 events, 10,000
/// messages, 14 files, 12.3 MB` (of the slice, for a slice).
fn volumes(r: &testgen::Report) -> String {
    format!("{} events, {} messages, {} files, {:.1} MB", count(r.total_events), count(r.messages), count(r.files), r.bytes as f64 / 1e6)
}

fn bench(b: BenchArgs) -> CmdResult {
    use testgen::bench::baseline;
    let exe = std::env::current_exe().context("locating the testgen binary")?;
    let verify = exe.with_file_name("verify");
    let work = b.work.unwrap_or_else(std::env::temp_dir);
    let o = testgen::bench::BenchOptions {
        profiles: b.profiles,
        runs: b.runs as usize,
        jobs: jobs(b.jobs),
        work,
        floors: !b.no_floors,
        verify: (!b.no_verify && verify.exists()).then_some(verify),
        seed: b.seed,
        mesh: b.mesh,
        overrides: b.overrides.volumes(),
        progress: !b.display.quiet,
    };
    let started = std::time::Instant::now();
    // the baseline is read and matched before any run
    let base = match &b.baseline {
        Some(path) => {
            let base = baseline::load(path).map_err(testgen::Error::from)?;
            baseline::check_settings(path, &base.settings, &o.settings()).map_err(testgen::Error::from)?;
            Some((path, base))
        }
        None => None,
    };
    let r = testgen::bench::run(&exe, &o)?;
    b.display.timings(&[("bench", started.elapsed())]);
    if b.json {
        println!("{}", serde_json::to_string_pretty(&r).context("rendering the report")?);
    } else {
        print!("{}", testgen::bench::render(&r));
        println!("\n{}", serde_json::to_string(&r).context("rendering the report")?);
    }
    let Some((path, base)) = base else { return Ok(()) };
    let c = baseline::compare(&base, &r, f64::from(b.max_regression));
    let text = baseline::render(&c, path);
    if b.json {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    if let Some(svg) = &b.plot {
        testgen::bench::plot::write(svg, &c).with_context(|| format!("writing the plot {}", thrum_io::text::shown_path(svg)))?;
    }
    if c.regressions().is_empty() {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "{} gated figure(s) worse than the baseline {} by more than {} %: {}",
        c.regressions().len(),
        thrum_io::text::shown_path(path),
        b.max_regression,
        c.regression_summary()
    )
    .into())
}

fn corrupt(c: CorruptArgs) -> CmdResult {
    use thrum_chaos::{self as corrupt, Fault};
    if c.list {
        print!("{}", corrupt::render_list());
        return Ok(());
    }
    let (Some(name), Some(input), Some(out)) = (c.fault, c.input, c.out) else {
        return Err(testgen::Error::Usage("--fault, --in and --out are required".into()).into());
    };
    let fault = Fault::from_name(&name).ok_or_else(|| testgen::Error::Usage(format!("unknown fault {name}")))?;
    let limits = c.limits.limits();
    let started = std::time::Instant::now();
    let a = corrupt::corrupt_with(&input, fault, c.seed, &out, &limits)?;
    c.display.timings(&[("corrupt", started.elapsed())]);
    let mut at = thrum_io::text::shown_name(a.file.as_deref().unwrap_or_default());
    if let Some(l) = a.line {
        at.push_str(&format!(":{l}"));
    }
    if let (Some(t), Some(k)) = (&a.table, &a.key) {
        at.push_str(&format!(" {} {{{}}}", thrum_io::text::shown_name(t), thrum_io::text::shown_name(k)));
    }
    c.display.say(format_args!(
        "wrote {} with {} at {at} ({}); verify reports {} (exit {})",
        shown_path(&out),
        a.fault,
        thrum_io::text::shown_name(&a.detail),
        a.finding,
        a.exit_code
    ));
    Ok(())
}

fn crash(c: CrashArgs) -> CmdResult {
    use testgen::crash::{self, State};
    if c.list {
        print!("{}", crash::render_states());
        return Ok(());
    }
    let (Some(name), Some(out)) = (c.state.as_deref(), c.out.as_deref()) else {
        return Err(testgen::Error::Usage("--state and --out are required".into()).into());
    };
    let state = State::from_name(name).ok_or_else(|| testgen::Error::Usage(format!("unknown state {name}")))?;
    let started = std::time::Instant::now();
    // without --in, the fixture of the generation options, in a temporary directory
    let generated = match &c.input {
        Some(_) => None,
        None => {
            let plan_error = |e: thrum_gen::ProfileError| testgen::Error::Plan(e.into());
            let profile = Profile::named(&c.profile).map_err(plan_error)?;
            let profile = Profile::with_overrides(profile, &c.volumes()).map_err(plan_error)?;
            Some(crash::generate_input(c.seed, profile, jobs(None))?)
        }
    };
    let input = c.input.as_deref().or(generated.as_ref().map(|g| g.archive.as_path())).unwrap_or(out);
    let pack = c.compression.map(|k| crash::packer(k.into()));
    let o = crash::CrashOptions {
        state,
        seed: c.seed,
        events: c.events,
        limits: c.limits.limits(),
        pack: pack.as_ref().map(|p| p as &dyn Fn(&Path, &Path, u64) -> Result<(), String>),
    };
    let a = crash::crash(input, out, &o).map_err(testgen::Error::from)?;
    c.display.timings(&[("crash", started.elapsed())]);
    c.display.say(format_args!(
        "wrote {} in state {} ({} event(s), MAX(events.sequence) {}); verify reports {} (exit {})",
        shown_path(out),
        a.state,
        a.events,
        a.max_events_sequence,
        a.finding,
        a.exit_code
    ));
    Ok(())
}

fn mesh(m: MeshArgs) -> CmdResult {
    let started = std::time::Instant::now();
    let plan_error = |e: thrum_gen::ProfileError| testgen::Error::Plan(e.into());
    let profile = Profile::named(&m.profile).map_err(plan_error)?;
    let profile = Profile::with_overrides(profile, &m.overrides.volumes()).map_err(plan_error)?;
    let opts = testgen::mesh::MeshOptions {
        seed: m.seed,
        profile,
        daemons: m.daemons,
        scenario: match m.sync {
            SyncArg::Converged => thrum_gen::mesh::Scenario::Converged,
            SyncArg::Lagging => thrum_gen::mesh::Scenario::Lagging,
        },
        out: m.out.clone(),
        jobs: jobs(m.jobs),
        compression: m.compression.into(),
    };
    let r = write_mesh(&opts)?;
    if let Some(path) = &m.report_json {
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let run = testgen::bench::RunReport::from_mesh(&r, &m.profile, opts.profile.messages, ms);
        let json = serde_json::to_string(&run).context("rendering the run report")?;
        write_report(path, &json)?;
    }
    let wall = started.elapsed();
    m.display.timings(&[("mesh", wall)]);
    let held: Vec<String> = r.held.iter().map(|&h| count(h)).collect();
    m.display.say(format_args!(
        "wrote the mesh {} ({} daemons, {} events, held {}, {} pulls, {:.1} MB) in {:.2}s",
        thrum_io::text::shown_path(&r.out),
        r.held.len(),
        count(r.total_events),
        held.join(" / "),
        count(r.pulls),
        r.bytes as f64 / 1e6,
        wall.as_secs_f64()
    ));
    Ok(())
}

/// Generates a mesh; a refusal names the destination and what is there.
fn write_mesh(opts: &testgen::mesh::MeshOptions) -> Result<testgen::mesh::MeshReport, Failure> {
    testgen::mesh::generate_mesh(opts).map_err(|e| {
        let refused = matches!(&e, testgen::Error::Publish(p) if p.is_refusal());
        let f = Failure::from(e);
        if refused {
            f
        } else {
            f.context(format!("generating the mesh into {}", shown_path(&opts.out)))
        }
    })
}

fn commit(c: CommitArgs) -> CmdResult {
    let started = std::time::Instant::now();
    let r = testgen::lake::commit(&c.lake)?;
    let wall = started.elapsed();
    c.display.timings(&[("commit", wall)]);
    c.display.say(format_args!(
        "committed {} slices in {}: {} tables ({} logs written, {} already there, {:.1} kB), {} files, {} rows, {:.1} MB not copied, in {:.2}s",
        count(r.slices),
        shown_path(&c.lake),
        r.written + r.present,
        r.written,
        r.present,
        r.log_bytes as f64 / 1e3,
        count(r.files as u64),
        count(r.rows),
        r.data_bytes as f64 / 1e6,
        wall.as_secs_f64()
    ));
    Ok(())
}

fn merge(m: MergeArgs) -> CmdResult {
    let started = std::time::Instant::now();
    let opts = testgen::merge::MergeOptions { out: m.out.clone(), inputs: m.inputs, link: m.link };
    let r = testgen::merge::merge(&opts)?;
    let wall = started.elapsed();
    m.display.timings(&[("merge", wall)]);
    m.display.say(format_args!(
        "merged {} shards into {} ({} JSONL files, {} Parquet files copied, {} linked, {:.1} MB) in {:.2}s",
        count(r.shards),
        thrum_io::text::shown_path(&m.out),
        count(r.jsonl_files as u64),
        count(r.copied as u64),
        count(r.linked as u64),
        r.bytes as f64 / 1e6,
        wall.as_secs_f64()
    ));
    Ok(())
}
