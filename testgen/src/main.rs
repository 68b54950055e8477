//! `testgen`: regenerate the Thrum fixtures (thin CLI over the library).

mod args;

use anyhow::Context;
use args::{Cmd, Display, GenArgs, GEN_EXAMPLES};
use clap::Parser;
use std::process::ExitCode;
use testgen::run::Outcome;

/// Lets the allocator keep up to 256 MiB it was given back instead of
/// returning it to the system at once (glibc's trim threshold; setting it
/// also ends glibc's sliding mmap threshold, so large buffers are mapped
/// and unmapped whole). The worker threads free and allocate batch buffers
/// all run long; returned memory is faulted in again page by page. With it
/// a `default` run took 5 to 8 % less CPU, and the peak of a `large` run
/// was 176 MiB instead of 225 (BENCHMARKS.md, "Generation: the
/// allocator's trim threshold"). The bytes written do not depend on it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt takes no pointer; it sets a limit of the allocator,
    // here before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

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

/// Warning when an interrupted run cannot remove its temporaries itself.
const NO_SIGNAL_HANDLERS: &str =
    "an interrupted run leaves its temporary directory to the next run";

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    // Ctrl-C or SIGTERM removes the staging directories (exit 130 / 143);
    // what a killed run leaves is collected by the next run
    if let Err(e) = thrum_io::cleanup::install_signal_handlers() {
        eprintln!("testgen: warning: cannot install signal handlers ({e}); {NO_SIGNAL_HANDLERS}");
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // the library's error chose the code (2: the request is at
            // fault); anything else, such as locating the binary: 1
            let code = e.downcast_ref::<testgen::Error>().map_or(1, testgen::Error::exit_code);
            // paths are escaped where they are named; this catches any
            // the libraries name raw (escaping is idempotent)
            eprintln!("testgen: error: {}", thrum_io::text::shown_name(&chain(&e)));
            ExitCode::from(code)
        }
    }
}

/// Runs the command and shows its outcome.
fn run(cli: Cli) -> anyhow::Result<()> {
    let (outcome, display) = match cli.command {
        Some(Cmd::Bench(b)) => {
            let exe = std::env::current_exe().context("locating the testgen binary")?;
            (testgen::run::bench(&b.request(exe)), b.display)
        }
        Some(Cmd::Corrupt(c)) => (testgen::run::corrupt(&c.request()), c.display),
        Some(Cmd::Crash(c)) => (testgen::run::crash(&c.request()), c.display),
        Some(Cmd::Merge(m)) => (testgen::run::merge(&m.options()), m.display),
        Some(Cmd::Commit(c)) => (testgen::run::commit(&c.lake), c.display),
        Some(Cmd::Mesh(m)) => (testgen::run::mesh(&m.request()), m.display),
        None => (testgen::run::generate(&cli.gen.request()), cli.gen.display),
    };
    show(&outcome?, &display)
}

/// Shows an outcome in the order [`Outcome`] gives.
fn show(o: &Outcome, display: &Display) -> anyhow::Result<()> {
    display.timings(&o.phases);
    print!("{}", o.stdout);
    eprint!("{}", o.stderr);
    o.finish()?;
    for line in &o.lines {
        display.say(format_args!("{line}"));
    }
    Ok(())
}

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
