//! `testgen`: regenerate the Thrum fixtures.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use thrum_gen::Profile;

/// Generates a complete, byte-reproducible Thrum `.thrum/` fixture: JSONL
/// event logs, a schema-v13 SQLite database, identities and context files,
/// packed as a tar.zst archive with a manifest and SHA256SUMS.
///
/// With no arguments it regenerates `fixtures/` (run it from the repository
/// root). The same seed and options give identical bytes on any machine at
/// any --jobs.
#[derive(Debug, Parser)]
#[command(name = "testgen", version, about, long_about)]
struct Cli {
    /// Seed of every random choice; another seed gives another fixture.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Volumes: default (50 agents, 10,000 messages), small (fast tests),
    /// large (1,000,000 messages), huge (10,000,000 messages).
    #[arg(long, default_value = "default", value_parser = clap::builder::PossibleValuesParser::new(Profile::NAMES))]
    profile: String,
    /// Directory that receives the artifacts; it is replaced atomically.
    #[arg(long, default_value = "fixtures")]
    out: PathBuf,
    /// Also write the expanded tree as TREE/.thrum.
    #[arg(long, value_name = "TREE")]
    tree: Option<PathBuf>,
    /// Worker threads (default: all cores). Never changes the output.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Skip the v5-era fixture (thrum-fixture-v5.tar.zst, manifest-v5.json).
    #[arg(long)]
    no_v5: bool,
    /// Print the wall time of each phase to stderr.
    #[arg(long)]
    timings: bool,
    /// No progress bars.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testgen: error: {e:#}");
            if e.downcast_ref::<testgen::Error>().is_some_and(|e| matches!(e, testgen::Error::Plan(_) | testgen::Error::Usage(_))) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let profile = Profile::by_name(&cli.profile).ok_or_else(|| testgen::Error::Usage(format!("unknown profile {}", cli.profile)))?;
    let jobs = cli.jobs.map(usize::from).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let opts = testgen::Options { seed: cli.seed, profile, out: cli.out.clone(), tree: cli.tree, jobs, progress: !cli.quiet, v5: !cli.no_v5 };
    let report = testgen::generate(&opts).with_context(|| format!("generating the fixture into {}", cli.out.display()))?;
    if cli.timings {
        for (phase, d) in &report.phases {
            eprintln!("{phase:>12} {:>9.1} ms", d.as_secs_f64() * 1e3);
        }
    }
    if !cli.quiet {
        let total: f64 = report.phases.iter().map(|(_, d)| d.as_secs_f64()).sum();
        eprintln!(
            "testgen: wrote {} ({} events, {} messages, {:.1} MB) in {:.2}s",
            report.out.display(),
            report.total_events,
            report.table_counts.iter().find(|(t, _)| *t == "messages").map_or(0, |c| c.1),
            report.bytes as f64 / 1e6,
            total
        );
    }
    Ok(())
}
