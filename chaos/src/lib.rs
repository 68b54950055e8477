//! `thrum-chaos`: deterministic corrupted copies of a Thrum fixture, the
//! chaos fixtures of `testgen corrupt`.
//!
//! [`corrupt`] reads a v13 fixture (a `.tar.zst` archive, extracted safely,
//! or a directory holding `.thrum/`), injects exactly one [`Fault`] and
//! writes the result as an expanded tree:
//!
//! ```text
//! DIR/.thrum/...      the corrupted tree
//! DIR/FAULT.json      what was injected and where (the `Applied` record)
//! DIR/SHA256SUMS      only for `checksum-mismatch`: every file of the tree,
//!                     `sha256sum -c` format relative to DIR, one digest wrong
//! DIR/.testgen-corrupt.json   the ownership record: every other file of DIR
//!                     with its size ([`CORRUPT`])
//! ```
//!
//! No manifest is written: each corrupted copy differs from its source in
//! one place, so `verify replay DIR` names that place and its consequences
//! and nothing else. The targets (file, line, row) are chosen by a
//! SplitMix64 stream seeded from `--seed` and the fault's name,
//! so the same input, fault and seed give the same bytes. DIR is built in a
//! temporary directory beside it and swapped into place
//! ([`thrum_io::publish::Staging`]); a failed run leaves DIR as it was, and a
//! DIR that is not empty nor a previous corrupted copy (exactly the files
//! its record lists) is never replaced.
//!
//! The copy's database is opened as the untrusted input it is
//! ([`thrum_io::untrusted::open_writable`]): a view, a virtual table, a
//! trigger or a generated column is refused ([`CorruptError::Untrusted`],
//! exit 2), named, before any query, and nothing is written.
//!
//! `docs/FAULTS.md` maps every fault to the finding `verify` reports.
//!
//! Modules by concern: the [`Fault`] catalogue and the [`Applied`] record,
//! the seeded choice of targets, the input (extracted with thrum-io's
//! bounded extractor, or copied), the injection of each fault (JSONL,
//! SQLite, other files), and the output (staged and published with
//! thrum-io). No plan is involved: the input is any v13 fixture.

#![deny(missing_docs)]

mod catalogue;
pub mod crash;
mod error;
mod inject;
mod input;
mod output;
mod rng;

pub use catalogue::{render_list, Applied, Fault, FaultInfo, CATALOGUE};
pub use error::{CorruptError, Result};
pub use input::{extract, FIXTURE_ARCHIVE};
pub use output::{corrupt, corrupt_with, corrupted, CORRUPT, CORRUPT_RECORD, KIND_CORRUPT};

/// The line limit `verify` enforces (bytes without the newline).
pub const LINE_LIMIT: usize = 1 << 20;
