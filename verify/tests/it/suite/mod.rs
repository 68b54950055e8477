//! The hostile suite: a directory of hostile inputs built by the tests
//! (archives, databases, JSON documents, shard sets, path tricks), and
//! every subcommand of both binaries that takes such an input run on it
//! under an address-space limit of 512 MiB and a wall-clock limit. Every
//! step asserts its exit code and message, that nothing was written
//! outside DEST (nothing at all when refused), that no temporary was left,
//! that every input is byte-identical afterwards, and, for `verify`, a peak
//! RSS under 256 MiB.
//!
//! Each class prints a table (case, command, exit code, peak RSS, time);
//! with `HOSTILE_REPORT=FILE` the rows are also appended to FILE.

#[macro_use]
mod lab;
mod base;

mod counts;
mod databases;
mod findings;
mod growth;
mod messages;
mod paths;
mod streams;

use lab::Row;
use std::io::Write;

/// Prints the class's table and fails with every broken promise.
fn finish(class: &str, results: Vec<Result<Row, String>>) {
    let mut table = String::new();
    let mut broken = Vec::new();
    for r in results {
        match r {
            Ok(row) => table.push_str(&format!(
                "| {} | {} | `{}` | {:?} | {:.1} MiB | {:.2} s |\n",
                row.class,
                row.case,
                row.command,
                row.code,
                row.peak_rss_kib as f64 / 1024.0,
                row.wall.as_secs_f64()
            )),
            Err(e) => broken.push(e),
        }
    }
    eprint!("{table}");
    if let Some(f) = std::env::var_os("HOSTILE_REPORT") {
        let mut f =
            std::fs::OpenOptions::new().create(true).append(true).open(f).expect("HOSTILE_REPORT");
        f.write_all(table.as_bytes()).expect("HOSTILE_REPORT");
    }
    assert!(broken.is_empty(), "{class}: {} broken:\n{}", broken.len(), broken.join("\n"));
}
