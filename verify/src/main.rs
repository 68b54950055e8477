//! `verify`: proves Thrum fixtures consistent.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use thrum_io::cleanup;
use thrum_io::cli::LimitArgs;
use verify::{escape, Mode, EXIT_CONSISTENT, EXIT_UNUSABLE};

/// The most findings `--max-diffs` lists per kind and table (the ceiling
/// of every report: [`verify::LIST_CEILING`]).
const MAX_DIFFS: i64 = verify::LIST_CEILING as i64;

/// The values of `--max-diffs`: 0 to [`MAX_DIFFS`].
fn max_diffs() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(0..=MAX_DIFFS)
}

/// The values of `bench --runs`: 1 to 1000.
fn bench_runs() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=1000)
}

const EXIT_CODES: &str = "Exit codes:\n  0  consistent\n  1  inconsistent (findings listed; every \
    finding has a stable `kind`), or the disk filled (\"disk full while writing PATH\")\n  2  \
    unusable input (the message names the file and what was expected), or bad arguments\n  130, \
    143, 129  interrupted by SIGINT, SIGTERM, SIGHUP (its temporaries removed)";

#[derive(Parser)]
#[command(name = "verify", version, about = "Proves Thrum test fixtures consistent: JSONL replay \
    vs SQLite, v5 migration, safe extraction", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// No progress on stderr (it is drawn only when stderr is a terminal).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verifies a v13 fixture: JSONL replay vs its SQLite database, plus every other check.
    ///
    /// Replays the JSONL event logs into a fresh v13 database and compares it, row by
    /// row and column by column, with the fixture's var/messages.db; also checks the
    /// events table, local-only tables, identities/context, schema, integrity, and the
    /// manifest / SHA256SUMS beside an archive.
    #[command(
        after_help = "PATH is a .tar.zst or .tar.gz archive (extracted safely into a temporary \
            directory), a directory containing .thrum/, a .thrum directory, or a directory that \
            `testgen --out` wrote (its thrum-fixture.tar.zst or .tar.gz is verified, with the \
            manifest, SHA256SUMS and parquet/ beside it).\n\nManifest lookup: for an archive \
            DIR/X.tar.zst, the DIR/manifest*.json whose archive.path is X.tar.zst, and \
            DIR/SHA256SUMS; for a directory input, BASE/manifest.json beside .thrum/.\n\nExit \
            codes:\n  0  consistent\n  1  inconsistent (findings listed; every finding has a \
            stable `kind`)\n  2  unusable input: PATH missing, not an archive or .thrum tree, a \
            refused archive entry, no or corrupt var/messages.db (or one holding a view, a \
            virtual table, a trigger or a generated column: verify runs no SQL an input defines), \
            or a v5 layout (use `verify migrate`)"
    )]
    Replay {
        /// Archive or directory to verify.
        path: PathBuf,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Findings listed in detail per kind and table, 0 to 10000 (all are counted);
        /// 0 lists the most, 10000.
        #[arg(long, default_value_t = 20, value_name = "N", value_parser = max_diffs())]
        max_diffs: u32,
        /// Treat the tree as migrated from v5 (`verify migrate --out`): envelopes without
        /// origin_daemon/sequence, events table not compared, documented schema differences
        /// accepted.
        #[arg(long)]
        migrated: bool,
        /// Skip the manifest and SHA256SUMS checks.
        #[arg(long)]
        no_manifest: bool,
        /// Skip comparing a `parquet/` directory beside a thrum-fixture.tar.zst archive
        /// with its database (done by default when it exists).
        #[arg(long)]
        no_parquet: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Migrates a v5 fixture to v13 on a copy and proves the migration lost nothing.
    ///
    /// Migrates a v5 fixture to v13 (the daemon's steps in one transaction, then the v7
    /// JSONL sharding and event-id backfill) and proves the result: no v5 row lost or
    /// altered beyond the documented changes, the migrated JSONL replays into the migrated
    /// database, only the known schema differences from a fresh v13 database, and a second
    /// run changes nothing.
    #[command(after_help = "PATH is a v5 fixture: a .tar.zst/.tar.gz archive, a directory with \
            .thrum/messages.jsonl and var/messages.db at schema 5, or a directory that `testgen \
            --out` wrote (its thrum-fixture-v5.tar.zst or .tar.gz is migrated). The input is \
            never modified; the migration runs on a copy.\n\nExit codes:\n  0  migrated and \
            proven consistent\n  1  findings (listed with stable kinds); the tree is still \
            written to --out\n  2  unusable input: not a v5 layout, no or corrupt database, \
            refused archive, --out already exists, or --out is, holds or lies in PATH; a database \
            holding a view, a virtual table, a trigger or a generated column")]
    Migrate {
        /// The v5 archive or directory.
        path: PathBuf,
        /// Write the migrated tree here (DIR/.thrum/...); DIR must not exist, nor be, hold or
        /// lie in PATH (compared by device and inode). It is
        /// written through a temporary directory beside DIR and renamed into place.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Findings listed in detail per kind and table, 0 to 10000 (all are counted);
        /// 0 lists the most, 10000.
        #[arg(long, default_value_t = 20, value_name = "N", value_parser = max_diffs())]
        max_diffs: u32,
        /// Skip the manifest and SHA256SUMS checks of the v5 input.
        #[arg(long)]
        no_manifest: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Verifies a mesh of daemons that synced with each other (`testgen mesh`).
    ///
    /// Each daemon's fixture is verified as `verify replay` does (its findings are
    /// prefixed with the daemon); then, across the daemons: ids derived from hostnames,
    /// origins, the same JSON for an event on every daemon that holds it (but its
    /// sequence), checkpoints against the peers' logs, var/peers.json, that every remote
    /// event could have been pulled, and, for a converged mesh, the same events and the
    /// same projected rows everywhere except AUTOINCREMENT ids, heartbeats and the
    /// conflicts mesh.json declares (each reported with the daemons' values).
    #[command(after_help = "DIR holds mesh.json and, for each daemon K, DIR/daemon-K/ with \
            thrum-fixture.tar.zst (or .tar.gz) and manifest.json, or an expanded \
            DIR/daemon-K/.thrum tree (exactly one of them); DIR/SHA256SUMS is checked when \
            present.\n\nExamples:\n  testgen mesh --out /tmp/mesh --profile small --seed 7\n  \
            verify mesh /tmp/mesh\n  verify mesh /tmp/mesh --json --max-diffs 0\n\nExit codes:\n  \
            0  consistent (warnings and notes, such as the declared conflicts, do not count)\n  \
            1  inconsistent (findings listed; every finding has a stable `kind`)\n  2  unusable \
            input: no or malformed mesh.json, a daemon's fixture missing or unreadable")]
    Mesh {
        /// The mesh directory (holding mesh.json).
        dir: PathBuf,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Findings listed in detail per kind and table, 0 to 10000 (all are counted);
        /// 0 lists the most, 10000.
        #[arg(long, default_value_t = 20, value_name = "N", value_parser = max_diffs())]
        max_diffs: u32,
        /// Skip the manifest and SHA256SUMS checks.
        #[arg(long)]
        no_manifest: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Extracts a .tar.zst / .tar.gz archive safely.
    ///
    /// Refuses absolute paths, '..', symlinks, hard links,
    /// devices, FIFOs, duplicate paths, oversize entries, GNU long-name/long-link and PAX
    /// headers over 64 KiB, and total expansion over the limits (checked against what each
    /// header declares, before its data is read). DEST is complete or absent.
    #[command(
        after_help = "ARCHIVE is a .tar.zst or .tar.gz (detected by magic bytes). DEST must not \
            exist, nor be or lie in ARCHIVE (compared by device and inode, not by name); \
            extraction goes to a temporary directory beside DEST which is renamed into \
            place.\n\nExit codes:\n  0  extracted\n  1  the disk filled (\"disk full while \
            writing PATH\"); DEST is absent\n  2  refused (the message names the offending entry) \
            or unreadable archive, or DEST exists"
    )]
    Extract {
        /// The archive.
        archive: PathBuf,
        /// Destination directory (must not exist).
        dest: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Checks the Parquet snapshots against the fixture's SQLite database, value for value.
    ///
    /// Reads every dataset under parquet/ and compares it with the database in key order,
    /// after inverting the documented type mapping: rows missing, extra or differing, rows
    /// under the wrong date= partition, rows out of key order, layout and schema problems;
    /// and each dataset's Delta log (_delta_log/) against its files.
    #[command(
        after_help = "PATH is a fixtures directory holding parquet/ and thrum-fixture.tar.zst or \
            thrum-fixture.tar.gz (extracted safely), or with --db a parquet/ directory or its \
            parent (the way to check a merged or sliced output of testgen, or a lake committed by \
            `testgen commit`, which have no archive: --db names the database, such as the \
            .thrum/var/messages.db of an unsharded run).\n\nExit codes:\n  0  every table \
            equal\n  1  differences (listed per table with key and column), or a Parquet file \
            that cannot be read\n  2  unusable input: no parquet/ directory, no archive (without \
            --db) or database\n\nA Parquet file that cannot be read is the finding \
            parquet_unreadable (exit 1), as in `verify replay`."
    )]
    Parquet {
        /// Fixtures directory (or parquet/ directory with --db).
        path: PathBuf,
        /// Compare with this SQLite database instead of the archive's .thrum/var/messages.db.
        #[arg(long, value_name = "DB")]
        db: Option<PathBuf>,
        /// Print the report as JSON instead of text (the report shape of `replay`).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Times the verification of an input: runs, min, median, p95.
    ///
    /// Times the full verification (replay + diff + all checks) of an input over several
    /// runs and prints runs, min, median and p95 (extraction happens once, before timing).
    #[command(
        after_help = "PATH is what `verify replay` takes: an archive, a directory containing \
            .thrum/, a .thrum directory, or a directory that `testgen --out` wrote.\n\nExit \
            codes:\n  0  timed (the verdict of the fixture is printed but does not change the \
            exit code)\n  2  unusable input"
    )]
    Bench {
        /// Archive or directory to verify.
        path: PathBuf,
        /// Timed runs (after one warm-up run), 1 to 1000.
        #[arg(long, default_value_t = 10, value_name = "N", value_parser = bench_runs())]
        runs: u32,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
        /// Skip the manifest and SHA256SUMS checks.
        #[arg(long)]
        no_manifest: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // temporaries are removed on SIGINT/SIGTERM/SIGHUP (exit 128 + signal),
    // and those of runs that were killed are removed now
    if let Err(e) = cleanup::install_signal_handlers() {
        eprintln!(
            "verify: warning: cannot install the signal handlers ({e}); an interrupted run \
            may leave temporaries"
        );
    }
    verify::collect_stale_temporaries();
    verify::enable_progress(!cli.quiet);
    let named = cli.cmd.paths();
    let result = run(cli);
    // an error caused by an interrupt being handled is not reported: the
    // handler exits with 128 + signal
    cleanup::checkpoint();
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("verify: error: {}", escape(&render_error(&e, &named)));
            ExitCode::from(if disk_full(&e) { EXIT_DISK_FULL } else { EXIT_UNUSABLE as u8 })
        }
    }
}

/// Exit code of a run stopped by a full disk: the machine, not the input,
/// is at fault.
const EXIT_DISK_FULL: u8 = 1;

/// Whether the disk (or quota) filled: an error of verify's or of the
/// extractor that says so, or the system's error anywhere in the chain.
fn disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<verify::InputError>().is_some_and(verify::InputError::is_disk_full)
            || matches!(
                c.downcast_ref::<verify::ExtractError>(),
                Some(verify::ExtractError::DiskFull { .. })
            )
            || c.downcast_ref::<std::io::Error>().is_some_and(thrum_io::regular::is_disk_full)
    })
}

impl Cmd {
    /// The paths the command names in its error context.
    fn paths(&self) -> Vec<PathBuf> {
        match self {
            Cmd::Replay { path, .. }
            | Cmd::Migrate { path, .. }
            | Cmd::Parquet { path, .. }
            | Cmd::Bench { path, .. } => {
                vec![path.clone()]
            }
            Cmd::Extract { archive, .. } => vec![archive.clone()],
            Cmd::Mesh { dir, .. } => vec![dir.clone()],
        }
    }
}

/// The error chain on one line, each cause once: a cause whose text an
/// earlier one already contains (an error that prints its source) is left
/// out, and a cause that starts with a path the context already names
/// (`PATH: …`, `PATH is …`) continues the context without repeating it.
fn render_error(e: &anyhow::Error, named: &[PathBuf]) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let mut msg = cause.to_string();
        if msg.is_empty() || out.contains(&msg) {
            continue;
        }
        for p in named {
            let p = p.display().to_string();
            if p.is_empty() || !out.ends_with(&p) {
                continue;
            }
            if let Some(rest) =
                msg.strip_prefix(&format!("{p}: ")).or_else(|| msg.strip_prefix(&format!("{p} ")))
            {
                msg = rest.to_string();
                break;
            }
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

/// Prints `report` (as JSON when `json`), once the temporaries are gone, and
/// returns its exit code.
fn emit(report: &verify::Report, json: bool) -> i32 {
    cleanup::checkpoint();
    print!("{}", if json { report.to_json() + "\n" } else { report.render_text() });
    report.verdict().exit_code
}

/// `verify extract`: ARCHIVE extracted into DEST, what was written summed up.
fn extract(archive: &Path, dest: &Path, limits: &LimitArgs) -> anyhow::Result<i32> {
    // every extraction error names the archive (or DEST) itself
    let entries = verify::extract_to(archive, dest, &limits.limits())?;
    let bytes: u64 = entries.iter().map(|e| e.size).sum();
    let count = verify::ExtractError::entries_text(entries.len() as u64);
    let unit = if bytes == 1 { "byte" } else { "bytes" };
    println!("extracted {count} ({bytes} {unit}) to {}", escape(&dest.display().to_string()));
    Ok(EXIT_CONSISTENT)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.cmd {
        Cmd::Replay { path, json, max_diffs, migrated, no_manifest, no_parquet, limits } => {
            // a directory `testgen --out` wrote: its archive (the Parquet
            // snapshots and manifest beside it are then checked too)
            let path = verify::resolve(&path, verify::Generation::V13)
                .with_context(|| format!("cannot verify {}", path.display()))?;
            let opts = verify::Options {
                max_diffs: max_diffs as usize,
                limits: limits.limits(),
                mode: if migrated { Mode::Migrated } else { Mode::Fixture },
                check_manifest: !no_manifest,
            };
            // Parquet snapshots beside a v13 archive are checked against its
            // database, read from the tree being verified; their findings
            // count in the one verdict
            let (mut report, tree, snapshots) = verify::verify_replay(&path, &opts, !no_parquet)
                .with_context(|| format!("cannot verify {}", path.display()))?;
            let snapshots = snapshots.with_context(|| {
                format!("cannot check the Parquet snapshots beside {}", path.display())
            })?;
            if let Some(s) = snapshots {
                s.add_to(&mut report);
            }
            drop(tree);
            Ok(emit(&report, json))
        }
        Cmd::Migrate { path, out, json, max_diffs, no_manifest, limits } => {
            let opts = verify::MigrateOptions {
                out,
                max_diffs: max_diffs as usize,
                limits: limits.limits(),
                check_manifest: !no_manifest,
            };
            let report = verify::migrate_path(&path, &opts)
                .with_context(|| format!("cannot migrate {}", path.display()))?;
            Ok(emit(&report, json))
        }
        Cmd::Mesh { dir, json, max_diffs, no_manifest, limits } => {
            let opts = verify::MeshOptions {
                max_diffs: max_diffs as usize,
                limits: limits.limits(),
                check_manifest: !no_manifest,
            };
            let report = verify::verify_mesh(&dir, &opts)
                .with_context(|| format!("cannot verify the mesh {}", dir.display()))?;
            Ok(emit(&report, json))
        }
        Cmd::Extract { archive, dest, limits } => extract(&archive, &dest, &limits),
        Cmd::Parquet { path, db, json, limits } => {
            let checked = verify::parquet::check_fixture(&path, db.as_deref(), &limits.limits())
                .with_context(|| {
                    format!("cannot check the Parquet snapshots in {}", path.display())
                })?;
            let report = verify::parquet::report(&path, &checked);
            cleanup::checkpoint();
            print!(
                "{}",
                if json {
                    report.to_json() + "\n"
                } else {
                    verify::parquet::render_text(&checked, &report)
                }
            );
            Ok(report.verdict().exit_code)
        }
        Cmd::Bench { path, runs, json, no_manifest, limits } => {
            let opts = verify::Options {
                limits: limits.limits(),
                check_manifest: !no_manifest,
                ..verify::Options::default()
            };
            let b = verify::bench(&path, &opts, runs as usize)
                .with_context(|| format!("cannot benchmark {}", path.display()))?;
            print!("{}", if json { b.to_json() + "\n" } else { b.render_text() });
            Ok(EXIT_CONSISTENT)
        }
    }
}
