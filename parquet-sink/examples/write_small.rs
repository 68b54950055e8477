//! Writes a plan both as Parquet datasets and as a SQLite database packed
//! like testgen's archive, so that `scripts/interop_check.py` and the README
//! queries can be tried without the full generator:
//!
//! ```text
//! cargo run -p thrum-parquet --example write_small -- OUT
//!     [--profile small|default|large|huge] [--seed N]
//!     [--row-group-rows N] [--parquet-only | --dry]
//! python3 scripts/interop_check.py OUT
//! ```
//!
//! Produces `OUT/parquet/…` and `OUT/thrum-fixture.tar.zst` holding
//! `.thrum/var/messages.db`.

#[path = "../tests/it/common.rs"]
mod common;

use std::path::PathBuf;
use std::time::Instant;
use thrum_parquet::{ParquetOptions, ParquetSink};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let mut profile = "small".to_string();
    let mut seed = common::SEED;
    let mut parquet_only = false;
    let mut dry = false;
    let mut opts = ParquetOptions::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--profile" => profile = args.next().ok_or("--profile needs a value")?,
            "--seed" => seed = args.next().ok_or("--seed needs a value")?.parse()?,
            "--parquet-only" => parquet_only = true,
            "--row-group-rows" => {
                opts.row_group_rows =
                    args.next().ok_or("--row-group-rows needs a value")?.parse()?
            }
            // Generate the rows but write nothing: the baseline for memory/time.
            "--dry" => dry = true,
            _ if out.is_none() => out = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let out = out.ok_or(
        "usage: write_small OUT [--profile NAME] [--seed N] [--row-group-rows N] \
        [--parquet-only | --dry]",
    )?;
    let profile = thrum_gen::Profile::by_name(&profile).ok_or("unknown profile")?;
    let t0 = Instant::now();
    let plan = thrum_gen::Plan::new(seed, profile)?;
    let t_plan = t0.elapsed();

    if dry {
        let t1 = Instant::now();
        let mut n = 0u64;
        common::each_row(&plan, |_, _| -> Result<(), ()> {
            n += 1;
            Ok(())
        })
        .map_err(|_| "unreachable")?;
        println!(
            "{n} rows generated; plan {:.2}s, rows {:.2}s",
            t_plan.as_secs_f64(),
            t1.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if parquet_only {
        let t1 = Instant::now();
        let mut sink = ParquetSink::create(&out.join("parquet"), opts)?;
        // Peak of what the sink holds (rows, estimated bytes), sampled.
        let (mut n, mut peak) = (0u64, (0, 0));
        common::each_row(&plan, |t, row| {
            sink.push(t, row)?;
            n += 1;
            if n % 1024 == 0 {
                let (r, b) = sink.buffered();
                peak = (peak.0.max(r), peak.1.max(b));
            }
            Ok::<(), thrum_parquet::Error>(())
        })?;
        let files = sink.finish()?;
        thrum_parquet::delta::write_logs(&out.join("parquet"), &files, common::log_params(&plan))?;
        report(&files, t_plan.as_secs_f64(), t1.elapsed().as_secs_f64());
        println!(
            "peak buffered in the sink: {} rows, {:.1} MB (estimate)",
            peak.0,
            peak.1 as f64 / 1e6
        );
        return Ok(());
    }
    let t1 = Instant::now();
    let files = common::write_fixture_dir(&plan, &out, opts)?;
    report(&files, t_plan.as_secs_f64(), t1.elapsed().as_secs_f64());
    Ok(())
}

fn report(files: &[thrum_parquet::WrittenFile], plan_s: f64, write_s: f64) {
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    for f in files {
        println!("{:>10} rows {:>10} bytes  parquet/{}", f.rows, f.bytes, f.rel_path);
    }
    println!("{} files, {total} bytes; plan {plan_s:.2}s, write {write_s:.2}s", files.len());
}
