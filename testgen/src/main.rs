//! `testgen`: regenerate the Thrum fixtures (thin CLI over the library).

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
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
/// mesh`). The same seed and options give identical bytes on any machine at
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

/// The end of `testgen --help`.
const GEN_EXAMPLES: &str = "Examples:
  # regenerate fixtures/ (from the repository root)
  testgen
  # a small fixture for a quick test, and its expanded tree
  testgen --profile small --out /tmp/fx --tree /tmp/fx-tree
  # the default profile with 200 agents and 50,000 messages, another seed
  testgen --agents 200 --messages 50000 --seed 7 --out /tmp/fx
  # check what was written
  verify replay /tmp/fx
  # the fixture of Thrum's resilience suite (run from the Thrum repository)
  testgen --profile resilience --compression gzip --no-v5 --out tests/resilience/testdata";

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Time generation per phase against the sqlite3 and zstd floors.
    ///
    /// Times generation per phase over repeated runs and compares it with the
    /// sqlite3 and zstd floors; prints a table (or JSON with --json).
    Bench(BenchArgs),
    /// Write a corrupted copy of a fixture with one fault (`--list`: the faults).
    ///
    /// Writes a corrupted copy of a fixture with one fault from the catalogue
    /// (chaos fixtures for `verify`); `--list` describes every fault.
    Corrupt(CorruptArgs),
    /// Assemble the N slices of one run (`--shard`, `--shards`) into one output.
    ///
    /// Assembles the outputs of the N slices of one run (`--shard I/N` or
    /// `--shards N`) into one output: the JSONL files concatenated, the
    /// Parquet datasets, one manifest.json and one SHA256SUMS.
    Merge(MergeArgs),
    /// Simulate a mesh of N daemons that pulled each other's events.
    ///
    /// Simulates a mesh of N daemons on N hosts that paired and pulled each
    /// other's events (docs/FORMAT.md section 8): DIR/daemon-K/ holds each
    /// daemon's fixture (archive + manifest, a complete .thrum/ with
    /// var/peers.json and its sync checkpoints), DIR/mesh.json the daemons
    /// and the declared conflicts, DIR/SHA256SUMS every file.
    Mesh(MeshArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Every agent lives on one host; its events are written by that host's daemon (origin_daemon = the id derived from the hostname) with that daemon's sequence. Daemons pull each other every few minutes, 1000 events a batch in the peer's sequence order, so events also travel through intermediaries. Two conflicts are declared in mesh.json: an agent registering from a second host, and a group updated on two daemons in the same minute.

Examples:
  # three converged daemons of the small profile
  testgen mesh --profile small --out /tmp/mesh
  # five daemons, snapshot taken while pulls are behind
  testgen mesh --daemons 5 --sync lagging --out /tmp/mesh-lag
  # check what was written
  verify mesh /tmp/mesh"
)]
struct MeshArgs {
    /// Number of daemons (hosts), 2 to 64 and no more than the agents.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=64), help_heading = "Generation")]
    daemons: u32,
    /// Output directory, replaced atomically, only when absent, empty or a
    /// previous mesh written by testgen; anything else is refused (exit 2).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    out: PathBuf,
    /// Volumes (see `testgen --help`).
    #[arg(long, default_value = "default", help_heading = "Generation",
        value_parser = clap::builder::PossibleValuesParser::new(Profile::NAMES))]
    profile: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42, help_heading = "Generation")]
    seed: u64,
    /// converged: after the last write every daemon pulled from every peer
    /// until nothing was new. lagging: the snapshot is taken while pulls are
    /// behind (daemon 1 stopped pulling before daemon 2's last writes).
    #[arg(long, value_enum, default_value_t = SyncArg::Converged, help_heading = "Generation")]
    sync: SyncArg,
    /// Worker threads (default: all cores). Never changes the output.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..=1024), help_heading = "Generation")]
    jobs: Option<u16>,
    /// Compression of each daemon's archive.
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd, help_heading = "Output")]
    compression: CompressionArg,
    #[command(flatten)]
    overrides: Overrides,
    #[command(flatten)]
    display: Display,
    /// Write wall time, bytes and peak RSS as JSON to FILE (used by `bench --mesh`).
    #[arg(long, value_name = "FILE", hide = true)]
    report_json: Option<PathBuf>,
}

/// `--sync`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SyncArg {
    /// Every daemon holds every event.
    Converged,
    /// Some pulls are behind at the snapshot.
    Lagging,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Every slice 0..N of the same seed, profile and generator version must be given exactly once, each file intact (its size and SHA-256 as its shard manifest records); anything else is refused (exit 2) before DIR is touched. The inputs are read, never moved or changed.

Examples:
  # four slices, one after another (a job array runs them side by side)
  for i in 0 1 2 3; do testgen --profile large --shard $i/4 --out shards/$i; done
  testgen merge --out merged shards/*
  # in a Kubernetes Indexed Job each task runs: testgen --shards 4 --out /data/shard-$JOB_COMPLETION_INDEX
  testgen merge --link --out /data/merged /data/shard-*"
)]
struct MergeArgs {
    /// Output directory, replaced atomically, only when absent, empty or a
    /// previous output of testgen; anything else is refused (exit 2).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Hard-link the Parquet files instead of copying them (copied where a
    /// link is not possible). The links share the inputs' data: do not
    /// change them.
    #[arg(long)]
    link: bool,
    /// Directories holding slice outputs (each with a shards/ directory;
    /// one directory may hold several slices copied together).
    #[arg(value_name = "SHARD_DIR", required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    display: Display,
}

#[derive(Debug, Args)]
struct CorruptArgs {
    /// Print the fault catalogue (name, finding verify reports, exit code, what it does).
    #[arg(long)]
    list: bool,
    /// The fault to inject.
    #[arg(long, required_unless_present = "list", value_parser = clap::builder::PossibleValuesParser::new(testgen::corrupt::CATALOGUE.iter().map(|f| f.name)))]
    fault: Option<String>,
    /// The fixture: a .tar.zst archive, or a directory containing .thrum/.
    #[arg(long = "in", value_name = "FIXTURE", required_unless_present = "list")]
    input: Option<PathBuf>,
    /// Output directory: DIR/.thrum (corrupted), DIR/FAULT.json, DIR/SHA256SUMS
    /// for checksum-mismatch, and the ownership record DIR/.testgen-corrupt.json.
    /// Replaced atomically, only when absent, empty or a previous corrupted
    /// copy (exactly the files its record lists); anything else is refused (exit 2).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    out: Option<PathBuf>,
    /// Seed of the target choice (file, line, row); same input, fault and seed give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    limits: thrum_io::cli::LimitArgs,
    #[command(flatten)]
    display: Display,
}

#[derive(Debug, Args)]
struct GenArgs {
    /// Seed of every random choice; another seed gives another fixture.
    #[arg(long, default_value_t = 42, help_heading = "Generation")]
    seed: u64,
    #[arg(long, default_value = "default", help_heading = "Generation",
        help = "Volumes of the fixture (--help says what each profile holds)", long_help = PROFILE_HELP,
        value_parser = clap::builder::PossibleValuesParser::new(Profile::NAMES))]
    profile: String,
    #[command(flatten)]
    overrides: Overrides,
    /// Directory that receives the artifacts (default: fixtures, with fixtures/mesh).
    ///
    /// Directory that receives the artifacts, replaced atomically. Only an
    /// absent or empty directory, or a previous output of testgen with
    /// nothing else in it, is replaced; anything else is refused (exit 2).
    /// Without --out (and without --shard/--shards): fixtures, and then
    /// fixtures/mesh, a 3-daemon converged mesh of the small profile
    /// (`testgen mesh`) with its own SHA256SUMS. An explicit --out writes no
    /// mesh: a mesh/ that an earlier run left in DIR goes with the rest.
    #[arg(long, help_heading = "Output")]
    out: Option<PathBuf>,
    /// Also write the expanded tree as TREE/.thrum.
    ///
    /// Also write the expanded tree as TREE/.thrum, with its ownership record
    /// TREE/.thrum.testgen.json (an existing TREE/.thrum is replaced only
    /// when that record lists exactly the files in it; TREE may hold anything else).
    #[arg(long, value_name = "TREE", help_heading = "Output")]
    tree: Option<PathBuf>,
    /// Worker threads (default: all cores). Never changes the output.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..=1024), help_heading = "Generation")]
    jobs: Option<u16>,
    /// Compression of the archives (gzip: for readers without zstd).
    ///
    /// Compression of the archives. zstd (thrum-fixture.tar.zst,
    /// thrum-fixture-v5.tar.zst) is smaller and faster; each frame carries
    /// its content size and checksum. gzip (thrum-fixture.tar.gz,
    /// thrum-fixture-v5.tar.gz, fixed header: no name, mtime 0) is for
    /// readers without zstd: Go's standard library (archive/tar with
    /// compress/gzip) and Python's tarfile before 3.14. SHA256SUMS and the
    /// manifests name the archives written; the output stays byte-reproducible.
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd, help_heading = "Output")]
    compression: CompressionArg,
    /// Skip the v5-era fixture (thrum-fixture-v5.tar.zst or .tar.gz, manifest-v5.json).
    /// By default it is written for profiles up to 100,000 messages.
    #[arg(long, conflicts_with = "v5", help_heading = "Output")]
    no_v5: bool,
    /// Write the v5-era fixture for any profile.
    #[arg(long, help_heading = "Output")]
    v5: bool,
    /// Write only slice I of N (0-based), for job arrays; `testgen merge` joins them.
    ///
    /// Write only slice I of N (0-based, N at most 65536), for job arrays: its JSONL lines
    /// and Parquet parts, under names no other slice writes, and its shard
    /// manifest (no database, no archive); `testgen merge` assembles the N
    /// slices into the whole.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, help_heading = "Generation")]
    shard: Option<(u64, u64)>,
    /// Write one slice of N, its index I taken from the job runner's environment.
    ///
    /// Write one slice of N, its index I taken from the job runner's
    /// environment: JOB_COMPLETION_INDEX (Kubernetes Indexed Job), else
    /// SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN (Slurm), else
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch). Refused (exit 2) when none is
    /// set or the index is not a number below N. Same bytes as --shard I/N.
    /// N is 1 to 65536.
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "shard",
        requires = "out",
        value_parser = clap::value_parser!(u64).range(1..=MAX_SHARDS),
        help_heading = "Generation"
    )]
    shards: Option<u64>,
    /// Write phase timings, bytes and peak RSS as JSON to FILE (used by `bench`).
    #[arg(long, value_name = "FILE", hide = true)]
    report_json: Option<PathBuf>,
    #[command(flatten)]
    display: Display,
}

/// The volumes of each profile (`testgen --help`; `-h` says less).
const PROFILE_HELP: &str = "Volumes of the fixture; every count of agents is \
all of them. small (fast tests): 12 agents (8 core, 4 of other roles, 2 of \
them humans), 24 sessions (10 active), 600 messages, 150 lines of \
events.jsonl, 30 subscriptions over 2 days. default: 50 agents (40 core, 10 \
of other roles, 3 of them humans), 100 sessions (50 active), 10,000 \
messages, 500 lines of events.jsonl, 150 subscriptions over 5 days. large: \
500 agents (400 core, 100 of other roles, 20 of them humans), 1,000 \
sessions (500 active), 1,000,000 messages over 30 days; huge: large with \
10,000,000 messages over 120 days. resilience: the fixture of Thrum's \
resilience suite (tests/resilience, docs/RESILIENCE-SUITE.md), default but \
its 50 agents all core agents, named as the suite's fixtureAgentName(i) = \
{role}_{i:04} (coordinator_0000, implementer_0001, ... tester_0049; role \
i % 5, module i % 8), no agents of other roles and no humans; with \
--compression gzip it writes the suite's thrum-fixture.tar.gz.";

/// What a run shows: the same options on every subcommand that runs long.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Display")]
struct Display {
    /// Print the wall time of each phase to stderr (phases that run side
    /// by side overlap; the summary line gives the run's wall time).
    #[arg(long)]
    timings: bool,
    /// No progress and no summary line ("testgen: wrote ..."); errors and
    /// --timings are still printed.
    #[arg(long, short = 'q')]
    quiet: bool,
}

impl Display {
    /// Prints each phase's wall time (`--timings`).
    fn timings(&self, phases: &[(&str, std::time::Duration)]) {
        if self.timings {
            for (phase, d) in phases {
                eprintln!("{phase:>12} {:>9.1} ms", d.as_secs_f64() * 1e3);
            }
        }
    }
    /// Prints a summary line unless `--quiet`.
    fn say(&self, line: std::fmt::Arguments) {
        if !self.quiet {
            eprintln!("testgen: {line}");
        }
    }
}

/// `--compression`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CompressionArg {
    /// .tar.zst
    Zstd,
    /// .tar.gz
    Gzip,
}

impl From<CompressionArg> for testgen::Compression {
    fn from(c: CompressionArg) -> testgen::Compression {
        match c {
            CompressionArg::Zstd => testgen::Compression::Zstd,
            CompressionArg::Gzip => testgen::Compression::Gzip,
        }
    }
}

/// Explicit volumes on top of --profile (recorded in the manifest's profile
/// name). Each is checked before any work against the caps below and
/// against the other volumes; one beyond its limit is refused (exit 2).
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Volumes (override --profile; beyond a limit: refused, exit 2)")]
struct Overrides {
    /// Number of agents in all, 2 to 10,000 (`--agents 50` is the default's
    /// 50); those of other roles, humans, sessions, active sessions, events
    /// and subscriptions scale with it unless given too.
    #[arg(long, value_name = "N")]
    agents: Option<u64>,
    /// Number of messages, 1 to 1,000,000,000, as many as fit in the
    /// sessions' time (edits, deletes and reads follow the profile's rates).
    #[arg(long, value_name = "N")]
    messages: Option<u64>,
    /// Number of sessions: at least one per agent, at most
    /// active-sessions + 6 × agents (6 ended sessions per agent).
    #[arg(long, value_name = "N")]
    sessions: Option<u64>,
    /// Sessions still running at the snapshot: 1 to one per agent.
    #[arg(long, value_name = "N")]
    active_sessions: Option<u64>,
    /// Lines of events.jsonl (agent.update fills what the other events
    /// leave): at least one agent.update per active session, at most
    /// 10,000 per active session and 200,000 lines in all.
    #[arg(long, value_name = "N")]
    events: Option<u64>,
    /// Number of subscriptions: at most 24 per session (its module, each of
    /// the 20 groups, its role, its name, everything) and 1,000,000 in all.
    #[arg(long, value_name = "N")]
    subscriptions: Option<u64>,
    /// Length of the activity window in days, 1 to 36,500.
    #[arg(long, value_name = "N")]
    days: Option<u64>,
}

impl Overrides {
    fn volumes(&self) -> thrum_gen::Overrides {
        thrum_gen::Overrides {
            agents: self.agents,
            messages: self.messages,
            sessions: self.sessions,
            active_sessions: self.active_sessions,
            events: self.events,
            subscriptions: self.subscriptions,
            days: self.days,
        }
    }
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Profiles to time (repeat the flag for several scenarios).
    #[arg(long = "profile", default_values_t = vec!["default".to_string()], value_parser = clap::builder::PossibleValuesParser::new(Profile::NAMES))]
    profiles: Vec<String>,
    /// Repeats per scenario (medians and percentiles are over these).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    runs: u16,
    /// Worker threads for the timed runs (default: all cores).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Seed of the generated fixtures (same seed as a `testgen --seed` run
    /// gives the same fixture, so timings compare).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where to work: a fresh subdirectory DIR/testgen-bench-PID is created
    /// (DIR too, when absent) and removed at the end; nothing else in DIR
    /// is touched (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    work: Option<PathBuf>,
    /// Skip the sqlite3/zstd floors.
    #[arg(long)]
    no_floors: bool,
    /// Skip timing `verify replay`, `verify parquet` and `verify mesh`
    /// (found next to this binary).
    #[arg(long)]
    no_verify: bool,
    /// Also time `testgen mesh --daemons N` of each profile (wall time,
    /// events written by all daemons, peak RSS) and `verify mesh` of it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=64))]
    mesh: Option<u32>,
    /// Print JSON instead of the table (with --baseline the comparison
    /// goes to stderr).
    #[arg(long)]
    json: bool,
    /// Compare with FILE, the JSON of an earlier `testgen bench --json` of
    /// the same seed and options (else refused, exit 2): per profile, each
    /// phase's ratio to its floor and the peak RSS, side by side with the
    /// change; exit 1 when a gated figure is worse by more than
    /// --max-regression (BENCHMARKS.md says which figures gate).
    #[arg(long, value_name = "FILE", conflicts_with = "no_floors")]
    baseline: Option<PathBuf>,
    /// With --baseline: the change, in percent, beyond which a gated figure
    /// fails the comparison.
    #[arg(long, value_name = "PCT", default_value_t = testgen::bench::baseline::DEFAULT_MAX_REGRESSION_PCT,
        requires = "baseline", value_parser = clap::value_parser!(u16).range(1..=1000))]
    max_regression: u16,
    /// With --baseline: draw each phase's ratio to its floor, baseline
    /// against this run, with the threshold, as an SVG file.
    #[arg(long, value_name = "OUT.svg", requires = "baseline")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    overrides: Overrides,
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
        Some(Cmd::Merge(m)) => merge(m),
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

impl From<testgen::corrupt::CorruptError> for Failure {
    fn from(e: testgen::corrupt::CorruptError) -> Failure {
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
    let default_run = cli.out.is_none() && cli.shard.is_none() && cli.shards.is_none();
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
    let report = match shard {
        Some((i, n)) => testgen::generate_shard(&opts, i, n),
        None => testgen::generate(&opts),
    }
    .map_err(|e| {
        // a refusal names the destination and what is there already
        let refused = matches!(&e, testgen::Error::Publish(p) if p.is_refusal());
        let f = Failure::from(e);
        if refused {
            f
        } else {
            f.context(format!("generating the fixture into {}", shown_path(&out)))
        }
    })?;
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
    let wall = started.elapsed();
    cli.display.timings(&report.phases);
    if let Some(path) = &cli.report_json {
        let r = testgen::bench::RunReport::from_report(&report, &name, messages);
        let json = serde_json::to_string(&r).context("rendering the run report")?;
        write_report(path, &json)?;
    }
    let what = match shard {
        Some((i, n)) => format!("slice {i} of {n} to {}", shown_path(&report.out)),
        None => shown_path(&report.out),
    };
    cli.display.say(format_args!("wrote {what} ({}) in {:.2}s", volumes(&report), wall.as_secs_f64()));
    // the v5 fixture is left out by the rule, not by --no-v5: say so
    if shard.is_none() && !opts.v5 && !cli.no_v5 {
        cli.display.say(format_args!("v5 fixture skipped: above {} messages; --v5 writes it", count(testgen::V5_DEFAULT_MAX_MESSAGES)));
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
    };
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
    use testgen::corrupt::{self, Fault};
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
