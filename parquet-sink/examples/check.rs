//! Compares a Parquet dataset directory with a SQLite database:
//!
//! ```text
//! cargo run -p thrum-parquet --example check -- PARQUET_DIR DB
//! ```
//!
//! Prints the per-table report; exits 1 on any difference.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [dir, db] = args.as_slice() else {
        eprintln!("usage: check PARQUET_DIR DB");
        return ExitCode::from(2);
    };
    let t = std::time::Instant::now();
    match thrum_parquet::check::check(dir, db) {
        Ok(report) => {
            print!("{report}");
            println!(
                "checked in {:.2}s: {}",
                t.elapsed().as_secs_f64(),
                if report.is_clean() { "clean" } else { "DIFFERENCES" }
            );
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("check: {e}");
            ExitCode::from(2)
        }
    }
}
