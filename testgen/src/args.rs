//! The command line of `testgen`: every subcommand's options (clap).

use clap::builder::{PossibleValuesParser, RangedI64ValueParser, RangedU64ValueParser};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use testgen::run::{BenchRequest, CorruptRequest, CrashRequest, GenRequest, MeshRequest, V5};
use thrum_gen::Profile;

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

/// `--profile`: one of the profile names.
fn profile_names() -> PossibleValuesParser {
    PossibleValuesParser::new(Profile::NAMES)
}

/// `testgen corrupt --fault`: one of the catalogue's names.
fn fault_names() -> PossibleValuesParser {
    PossibleValuesParser::new(thrum_chaos::CATALOGUE.iter().map(|f| f.name))
}

/// `testgen crash --state`: one of the crash states' names.
fn state_names() -> PossibleValuesParser {
    PossibleValuesParser::new(testgen::crash::STATES.iter().map(|s| s.name))
}

/// `--jobs`: 1 to 1024 worker threads.
fn jobs() -> RangedI64ValueParser<u16> {
    clap::value_parser!(u16).range(1..=1024)
}

/// `--daemons`: 2 to 64 daemons of a mesh.
fn daemons() -> RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(2..=64)
}

/// `testgen crash --events`: 1 to the most events a crash state writes.
fn crash_events() -> RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=testgen::crash::MAX_EVENTS)
}

/// The end of `testgen --help`.
pub(crate) const GEN_EXAMPLES: &str = "Examples:
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
pub(crate) enum Cmd {
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
    /// Write what a killed daemon leaves on disk (`--list`: the states).
    ///
    /// Writes the exact bytes a v13 daemon leaves when it is killed at one
    /// point of its write path while writing its next K events, from a
    /// consistent fixture (`--in`, or one generated with the usual options);
    /// `--list` describes every state and what `verify` reports for it.
    Crash(CrashArgs),
    /// Assemble the N slices of one run (`--shard`, `--shards`) into one output.
    ///
    /// Assembles the outputs of the N slices of one run (`--shard I/N` or
    /// `--shards N`) into one output: the JSONL files concatenated, the
    /// Parquet datasets, one manifest.json and one SHA256SUMS.
    Merge(MergeArgs),
    /// Commit a lake of slices (`--lake`): each table's Delta log, no copy.
    ///
    /// Commits the lake DIR that the N slices of one run wrote with `--lake
    /// DIR`: checks that every slice record is there and agrees (seed,
    /// profile, N), that every file they list exists with its size, and
    /// writes each table's version-0 Delta log. Not one data byte is copied.
    Commit(CommitArgs),
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
    after_help = "Every agent lives on one host; its events are written by that host's daemon \
        (origin_daemon = the id derived from the hostname) with that daemon's sequence. Daemons \
        pull each other every few minutes, 1000 events a batch in the peer's sequence order, so \
        events also travel through intermediaries. Two conflicts are declared in mesh.json: an \
        agent registering from a second host, and a group updated on two daemons in the same minute.

Examples:
  # three converged daemons of the small profile
  testgen mesh --profile small --out /tmp/mesh
  # five daemons, snapshot taken while pulls are behind
  testgen mesh --daemons 5 --sync lagging --out /tmp/mesh-lag
  # check what was written
  verify mesh /tmp/mesh"
)]
pub(crate) struct MeshArgs {
    /// Number of daemons (hosts), 2 to 64 and no more than the agents.
    #[arg(long, default_value_t = 3, value_parser = daemons(), help_heading = "Generation")]
    pub(crate) daemons: u32,
    /// Output directory, replaced atomically, only when absent, empty or a
    /// previous mesh written by testgen; anything else is refused (exit 2).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub(crate) out: PathBuf,
    /// Volumes (see `testgen --help`).
    #[arg(long, default_value = "default", help_heading = "Generation",
        value_parser = profile_names())]
    pub(crate) profile: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42, help_heading = "Generation")]
    pub(crate) seed: u64,
    /// converged: after the last write every daemon pulled from every peer
    /// until nothing was new. lagging: the snapshot is taken while pulls are
    /// behind (daemon 1 stopped pulling before daemon 2's last writes).
    #[arg(long, value_enum, default_value_t = SyncArg::Converged, help_heading = "Generation")]
    pub(crate) sync: SyncArg,
    /// Worker threads (default: all cores). Never changes the output.
    #[arg(long, short = 'j', value_parser = jobs(), help_heading = "Generation")]
    pub(crate) jobs: Option<u16>,
    /// Compression of each daemon's archive.
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd, help_heading = "Output")]
    pub(crate) compression: CompressionArg,
    #[command(flatten)]
    pub(crate) overrides: Overrides,
    #[command(flatten)]
    pub(crate) display: Display,
    /// Write wall time, bytes and peak RSS as JSON to FILE (used by `bench --mesh`).
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) report_json: Option<PathBuf>,
}

/// `--sync`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SyncArg {
    /// Every daemon holds every event.
    Converged,
    /// Some pulls are behind at the snapshot.
    Lagging,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Every slice 0..N of the same seed, profile and generator version must be given \
        exactly once, each file intact (its size and SHA-256 as its shard manifest records); \
        anything else is refused (exit 2) before DIR is touched. The inputs are read, never moved \
        or changed.

Examples:
  # four slices, one after another (a job array runs them side by side)
  for i in 0 1 2 3; do testgen --profile large --shard $i/4 --out shards/$i; done
  testgen merge --out merged shards/*
  # in a Kubernetes Indexed Job each task runs: testgen --shards 4 --out \
  /data/shard-$JOB_COMPLETION_INDEX
  testgen merge --link --out /data/merged /data/shard-*"
)]
pub(crate) struct MergeArgs {
    /// Output directory, replaced atomically, only when absent, empty or a
    /// previous output of testgen; anything else is refused (exit 2).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Hard-link the Parquet files instead of copying them (copied where a
    /// link is not possible). The links share the inputs' data: do not
    /// change them.
    #[arg(long)]
    pub(crate) link: bool,
    /// Directories holding slice outputs (each with a shards/ directory;
    /// one directory may hold several slices copied together).
    #[arg(value_name = "SHARD_DIR", required = true)]
    pub(crate) inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) display: Display,
}

#[derive(Debug, Args)]
#[command(
    after_help = "An identical log already there is left as is (exit 0: a retried commit); a \
        different one, a missing slice record, a record of another run or a listed file that is \
        missing or of another size is refused (exit 2) before any log is written. Nothing in DIR \
        is deleted or replaced.

Examples:
  # eight slices into one lake (a job array runs them side by side), then the commit
  for i in 0 1 2 3 4 5 6 7; do testgen --profile large --shard $i/8 --lake /data/lake; done
  testgen commit /data/lake
  # read it: python3 -c 'import polars; print(polars.read_delta(\"/data/lake/messages\").shape)'"
)]
pub(crate) struct CommitArgs {
    /// The lake the slices wrote (`testgen --lake DIR`).
    #[arg(value_name = "DIR")]
    pub(crate) lake: PathBuf,
    #[command(flatten)]
    pub(crate) display: Display,
}

#[derive(Debug, Args)]
pub(crate) struct CorruptArgs {
    /// Print the fault catalogue (name, finding verify reports, exit code, what it does).
    #[arg(long)]
    pub(crate) list: bool,
    /// The fault to inject.
    #[arg(long, required_unless_present = "list", value_parser = fault_names())]
    pub(crate) fault: Option<String>,
    /// The fixture: a .tar.zst archive, or a directory containing .thrum/.
    #[arg(long = "in", value_name = "FIXTURE", required_unless_present = "list")]
    pub(crate) input: Option<PathBuf>,
    /// Output directory: DIR/.thrum (corrupted), DIR/FAULT.json, DIR/SHA256SUMS
    /// for checksum-mismatch, and the ownership record DIR/.testgen-corrupt.json.
    /// Replaced atomically, only when absent, empty or a previous corrupted
    /// copy (exactly the files its record lists); anything else is refused (exit 2).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub(crate) out: Option<PathBuf>,
    /// Seed of the target choice (file, line, row); same input, fault and seed give the same bytes.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) limits: thrum_io::cli::LimitArgs,
    #[command(flatten)]
    pub(crate) display: Display,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  # the states, what each leaves and what verify reports
  testgen crash --list
  # a killed daemon's WAL beside the database of an existing fixture
  testgen crash --state wal-uncheckpointed --in fixtures/thrum-fixture.tar.zst --out /tmp/wal
  # three events, the last interrupted after its append, as the suite's archive
  testgen crash --state after-append --events 3 --profile resilience --compression gzip --out \
  /tmp/crash
  verify replay /tmp/wal")]
pub(crate) struct CrashArgs {
    /// Print the states (name, finding verify reports, exit code, what it leaves).
    #[arg(long)]
    pub(crate) list: bool,
    /// The state to write.
    #[arg(long, required_unless_present = "list", value_parser = state_names())]
    pub(crate) state: Option<String>,
    /// The fixture: a .tar.zst or .tar.gz archive, or a directory containing
    /// .thrum/. Without it, a fixture is generated with --profile, --seed and
    /// the volume options.
    #[arg(long = "in", value_name = "FIXTURE")]
    pub(crate) input: Option<PathBuf>,
    /// Output directory: DIR/.thrum (or, with --compression, the archive),
    /// DIR/CRASH.json and the ownership record DIR/.testgen-crash.json.
    /// Replaced atomically, only when absent, empty or a previous crash state
    /// (exactly the files its record lists); anything else is refused (exit 2).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub(crate) out: Option<PathBuf>,
    /// K: the events the daemon was writing (the last one is interrupted).
    #[arg(long, default_value_t = 1, value_parser = crash_events())]
    pub(crate) events: u64,
    /// Seed of the new events and of the WAL's salts (and of the generated
    /// fixture without --in); the same input, state and seed give the same bytes.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Write the tree as the fixture's archive (thrum-fixture.tar.zst or
    /// .tar.gz) instead of DIR/.thrum.
    #[arg(long, value_enum)]
    pub(crate) compression: Option<CompressionArg>,
    /// Volumes of a generated fixture (without --in).
    #[arg(long, default_value = "small", conflicts_with = "input",
        value_parser = profile_names())]
    pub(crate) profile: String,
    /// Agents of a generated fixture (see `testgen --help`).
    #[arg(long, value_name = "N", conflicts_with = "input")]
    pub(crate) agents: Option<u64>,
    /// Messages of a generated fixture (see `testgen --help`).
    #[arg(long, value_name = "N", conflicts_with = "input")]
    pub(crate) messages: Option<u64>,
    #[command(flatten)]
    pub(crate) limits: thrum_io::cli::LimitArgs,
    #[command(flatten)]
    pub(crate) display: Display,
}

#[derive(Debug, Args)]
pub(crate) struct GenArgs {
    /// Seed of every random choice; another seed gives another fixture.
    #[arg(long, default_value_t = 42, help_heading = "Generation")]
    pub(crate) seed: u64,
    #[arg(long, default_value = "default", help_heading = "Generation",
        help = "Volumes of the fixture (--help says what each profile holds)",
        long_help = PROFILE_HELP, value_parser = profile_names())]
    pub(crate) profile: String,
    #[command(flatten)]
    pub(crate) overrides: Overrides,
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
    pub(crate) out: Option<PathBuf>,
    /// Also write the expanded tree as TREE/.thrum.
    ///
    /// Also write the expanded tree as TREE/.thrum, with its ownership record
    /// TREE/.thrum.testgen.json (an existing TREE/.thrum is replaced only
    /// when that record lists exactly the files in it; TREE may hold anything else).
    #[arg(long, value_name = "TREE", help_heading = "Output")]
    pub(crate) tree: Option<PathBuf>,
    /// Write the slice's Parquet parts straight into the Delta tables under DIR.
    ///
    /// Write the slice (--shard I/N or --shards N; alone: slice 0 of 1) as
    /// Parquet parts straight into the table directories under DIR, each
    /// file through a temporary name and a rename, then its record
    /// DIR/_slices/slice-I-of-N.json; no JSONL, database or archive. Nothing
    /// in DIR is deleted or replaced: a file already there with the same
    /// bytes is accepted (a retried slice), with other bytes refused (exit
    /// 2). Slices may run at once on a shared filesystem; `testgen commit
    /// DIR` then writes the tables' Delta logs.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "tree"], help_heading = "Output")]
    pub(crate) lake: Option<PathBuf>,
    /// Worker threads (default: all cores). Never changes the output.
    #[arg(long, short = 'j', value_parser = jobs(), help_heading = "Generation")]
    pub(crate) jobs: Option<u16>,
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
    pub(crate) compression: CompressionArg,
    /// Skip the v5-era fixture (thrum-fixture-v5.tar.zst or .tar.gz, manifest-v5.json).
    /// By default it is written for profiles up to 100,000 messages.
    #[arg(long, conflicts_with = "v5", help_heading = "Output")]
    pub(crate) no_v5: bool,
    /// Write the v5-era fixture for any profile.
    #[arg(long, help_heading = "Output")]
    pub(crate) v5: bool,
    /// Write only slice I of N (0-based), for job arrays; `testgen merge` joins them.
    ///
    /// Write only slice I of N (0-based, N at most 65536), for job arrays: its JSONL lines
    /// and Parquet parts, under names no other slice writes, and its shard
    /// manifest (no database, no archive); `testgen merge` assembles the N
    /// slices into the whole.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, help_heading = "Generation")]
    pub(crate) shard: Option<(u64, u64)>,
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
        value_parser = clap::value_parser!(u64).range(1..=MAX_SHARDS),
        help_heading = "Generation"
    )]
    pub(crate) shards: Option<u64>,
    /// Write phase timings, bytes and peak RSS as JSON to FILE (used by `bench`).
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) report_json: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) display: Display,
}

/// The volumes of each profile (`testgen --help`; `-h` says less).
pub(crate) const PROFILE_HELP: &str = "Volumes of the fixture; every count of agents is \
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
pub(crate) struct Display {
    /// Print the wall time of each phase to stderr (phases that run side
    /// by side overlap; the summary line gives the run's wall time).
    #[arg(long)]
    pub(crate) timings: bool,
    /// No progress and no summary line ("testgen: wrote ..."); errors and
    /// --timings are still printed.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

impl Display {
    /// Prints each phase's wall time (`--timings`).
    pub(crate) fn timings(&self, phases: &[(&str, std::time::Duration)]) {
        if self.timings {
            for (phase, d) in phases {
                eprintln!("{phase:>12} {:>9.1} ms", d.as_secs_f64() * 1e3);
            }
        }
    }
    /// Prints a summary line unless `--quiet`.
    pub(crate) fn say(&self, line: std::fmt::Arguments) {
        if !self.quiet {
            eprintln!("testgen: {line}");
        }
    }
}

/// `--compression`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CompressionArg {
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
pub(crate) struct Overrides {
    /// Number of agents in all, 2 to 10,000 (`--agents 50` is the default's
    /// 50); those of other roles, humans, sessions, active sessions, events
    /// and subscriptions scale with it unless given too.
    #[arg(long, value_name = "N")]
    pub(crate) agents: Option<u64>,
    /// Number of messages, 1 to 1,000,000,000, as many as fit in the
    /// sessions' time (edits, deletes and reads follow the profile's rates).
    #[arg(long, value_name = "N")]
    pub(crate) messages: Option<u64>,
    /// Number of sessions: at least one per agent, at most
    /// active-sessions + 6 × agents (6 ended sessions per agent).
    #[arg(long, value_name = "N")]
    pub(crate) sessions: Option<u64>,
    /// Sessions still running at the snapshot: 1 to one per agent.
    #[arg(long, value_name = "N")]
    pub(crate) active_sessions: Option<u64>,
    /// Lines of events.jsonl (agent.update fills what the other events
    /// leave): at least one agent.update per active session, at most
    /// 10,000 per active session and 200,000 lines in all.
    #[arg(long, value_name = "N")]
    pub(crate) events: Option<u64>,
    /// Number of subscriptions: at most 24 per session (its module, each of
    /// the 20 groups, its role, its name, everything) and 1,000,000 in all.
    #[arg(long, value_name = "N")]
    pub(crate) subscriptions: Option<u64>,
    /// Length of the activity window in days, 1 to 36,500.
    #[arg(long, value_name = "N")]
    pub(crate) days: Option<u64>,
}

impl CrashArgs {
    /// The volumes of a generated fixture.
    pub(crate) fn volumes(&self) -> thrum_gen::Overrides {
        thrum_gen::Overrides { agents: self.agents, messages: self.messages, ..Default::default() }
    }
}

impl Overrides {
    pub(crate) fn volumes(&self) -> thrum_gen::Overrides {
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
pub(crate) struct BenchArgs {
    /// `-q`: no bar of the runs; `--timings`: the bench's own wall time.
    #[command(flatten)]
    pub(crate) display: Display,
    /// Profiles to time (repeat the flag for several scenarios).
    #[arg(long = "profile", default_values_t = vec!["default".to_string()],
        value_parser = profile_names())]
    pub(crate) profiles: Vec<String>,
    /// Repeats per scenario (medians and percentiles are over these).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) runs: u16,
    /// Worker threads for the timed runs (default: all cores).
    #[arg(long, short = 'j', value_parser = jobs())]
    pub(crate) jobs: Option<u16>,
    /// Seed of the generated fixtures (same seed as a `testgen --seed` run
    /// gives the same fixture, so timings compare).
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Where to work: a fresh subdirectory DIR/testgen-bench-PID is created
    /// (DIR too, when absent) and removed at the end; nothing else in DIR
    /// is touched (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) work: Option<PathBuf>,
    /// Skip the sqlite3/zstd floors.
    #[arg(long)]
    pub(crate) no_floors: bool,
    /// Skip timing `verify replay`, `verify parquet` and `verify mesh`
    /// (found next to this binary).
    #[arg(long)]
    pub(crate) no_verify: bool,
    /// Also time `testgen mesh --daemons N` of each profile (wall time,
    /// events written by all daemons, peak RSS) and `verify mesh` of it.
    #[arg(long, value_name = "N", value_parser = daemons())]
    pub(crate) mesh: Option<u32>,
    /// Print JSON instead of the table (with --baseline the comparison
    /// goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,
    /// Compare with FILE, the JSON of an earlier `testgen bench --json` of
    /// the same seed and options (else refused, exit 2): per profile, each
    /// phase's ratio to its floor and the peak RSS, side by side with the
    /// change; exit 1 when a gated figure is worse by more than
    /// --max-regression (BENCHMARKS.md says which figures gate).
    #[arg(long, value_name = "FILE", conflicts_with = "no_floors")]
    pub(crate) baseline: Option<PathBuf>,
    /// With --baseline: the change, in percent, beyond which a gated figure
    /// fails the comparison.
    #[arg(long, value_name = "PCT", requires = "baseline",
        default_value_t = testgen::bench::baseline::DEFAULT_MAX_REGRESSION_PCT,
        value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) max_regression: u16,
    /// With --baseline: draw each phase's ratio to its floor, baseline
    /// against this run, with the threshold, as an SVG file.
    #[arg(long, value_name = "OUT.svg", requires = "baseline")]
    pub(crate) plot: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) overrides: Overrides,
}

impl GenArgs {
    /// The library's request.
    pub(crate) fn request(&self) -> GenRequest {
        GenRequest {
            seed: self.seed,
            profile: self.profile.clone(),
            overrides: self.overrides.volumes(),
            out: self.out.clone(),
            tree: self.tree.clone(),
            lake: self.lake.clone(),
            jobs: self.jobs.map(usize::from),
            quiet: self.display.quiet,
            v5: match (self.v5, self.no_v5) {
                (true, _) => V5::Always,
                (false, true) => V5::Never,
                (false, false) => V5::Auto,
            },
            compression: self.compression.into(),
            shard: self.shard,
            shards: self.shards,
            report_json: self.report_json.clone(),
        }
    }
}

impl MeshArgs {
    /// The library's request.
    pub(crate) fn request(&self) -> MeshRequest {
        MeshRequest {
            seed: self.seed,
            profile: self.profile.clone(),
            overrides: self.overrides.volumes(),
            daemons: self.daemons,
            scenario: match self.sync {
                SyncArg::Converged => thrum_gen::mesh::Scenario::Converged,
                SyncArg::Lagging => thrum_gen::mesh::Scenario::Lagging,
            },
            out: self.out.clone(),
            jobs: self.jobs.map(usize::from),
            compression: self.compression.into(),
            report_json: self.report_json.clone(),
        }
    }
}

impl CorruptArgs {
    /// The library's request.
    pub(crate) fn request(&self) -> CorruptRequest {
        CorruptRequest {
            list: self.list,
            fault: self.fault.clone(),
            input: self.input.clone(),
            out: self.out.clone(),
            seed: self.seed,
            limits: self.limits.limits(),
        }
    }
}

impl CrashArgs {
    /// The library's request.
    pub(crate) fn request(&self) -> CrashRequest {
        CrashRequest {
            list: self.list,
            state: self.state.clone(),
            input: self.input.clone(),
            out: self.out.clone(),
            events: self.events,
            seed: self.seed,
            compression: self.compression.map(Into::into),
            profile: self.profile.clone(),
            overrides: self.volumes(),
            limits: self.limits.limits(),
        }
    }
}

impl MergeArgs {
    /// The library's options.
    pub(crate) fn options(&self) -> testgen::merge::MergeOptions {
        testgen::merge::MergeOptions {
            out: self.out.clone(),
            inputs: self.inputs.clone(),
            link: self.link,
        }
    }
}

impl BenchArgs {
    /// The library's request; `exe` is this binary.
    pub(crate) fn request(&self, exe: PathBuf) -> BenchRequest {
        BenchRequest {
            exe,
            profiles: self.profiles.clone(),
            runs: usize::from(self.runs),
            jobs: self.jobs.map(usize::from),
            seed: self.seed,
            work: self.work.clone(),
            floors: !self.no_floors,
            verify: !self.no_verify,
            mesh: self.mesh,
            overrides: self.overrides.volumes(),
            quiet: self.display.quiet,
            json: self.json,
            baseline: self.baseline.clone(),
            max_regression: self.max_regression,
            plot: self.plot.clone(),
        }
    }
}
