//! Filesystem mechanisms shared by the thrum-fixtures crates.
//!
//! * [`cleanup`]: temporaries that do not outlive their process (removed on
//!   drop, on SIGINT/SIGTERM/SIGHUP, and by the next run when a run died);
//! * [`extract`]: safe extraction of `.tar.zst` / `.tar.gz` archives, in
//!   bounded memory and bounded work whatever the archive declares;
//! * [`publish`]: building beside a destination and swapping it into
//!   place atomically, under a policy that says what may be replaced;
//! * [`record`]: ownership records (what a tool wrote below a directory);
//! * [`size`]: parsing and printing of limits (`64M`, `8G`, `1k`);
//! * [`hash`]: hex and SHA-256 helpers;
//! * [`regular`]: input opened only when it is a regular file (never a FIFO or device);
//! * [`uri`]: `file:` URIs for SQLite (an immutable read-only open);
//! * [`tree`]: copying a directory tree, and removing one without crossing
//!   a mount point;
//! * [`text`]: input text (entry names) escaped and truncated for messages.

pub mod cleanup;
#[cfg(feature = "cli")]
pub mod cli;
pub mod extract;
pub mod hash;
pub mod publish;
pub mod record;
pub mod regular;
pub mod size;
pub mod text;
pub mod tree;
pub mod uri;

pub use extract::{extract, ExtractError, Limit, Limits};
pub use size::{parse_bytes, parse_count, SizeError};
