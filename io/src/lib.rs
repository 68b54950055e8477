//! Filesystem mechanisms shared by the thrum-fixtures crates.
//!
//! * [`cleanup`]: temporaries that do not outlive their process (removed on
//!   drop, on SIGINT/SIGTERM/SIGHUP, and by the next run when a run died);
//! * [`mod@extract`]: safe extraction of `.tar.zst` / `.tar.gz` archives, in
//!   bounded memory and bounded work whatever the archive declares;
//! * [`publish`]: building beside a destination and swapping it into
//!   place atomically, under a policy that says what may be replaced;
//! * [`place`]: a file placed in a directory others write to, never
//!   replacing (the same bytes already there are accepted);
//! * [`record`]: ownership records (what a tool wrote below a directory);
//! * [`size`]: parsing and printing of limits (`64M`, `8G`, `1k`);
//! * [`hash`]: hex and SHA-256 helpers;
//! * [`regular`]: input opened only when it is a regular file (never a FIFO or device);
//! * [`uri`]: `file:` URIs for SQLite (an immutable read-only open), the
//!   `-wal` file's name;
//! * `untrusted` (feature `sqlite`): every input database opened as
//!   untrusted: its objects checked before any query, defensive, its work
//!   and SQLite's heap bounded;
//! * [`wal`]: the SQLite WAL format: its checksum, and a WAL resealed with
//!   chosen salts;
//! * [`tree`]: copying a directory tree, and removing one without crossing
//!   a mount point;
//! * [`text`]: input text (entry names) escaped and truncated for messages;
//! * [`identity`]: whether one path is the same as, inside or holding
//!   another, by device and inode (never by text);
//! * [`testing`]: whether the tests that need root run here.
//!
//! Each module is one mechanism and is public as its namespace (callers
//! import by module path: `thrum_io::publish::Staging`); the items most
//! callers need are re-exported at the root. Submodules that implement a
//! mechanism (the tar reader, the publish steps) are private.

#![deny(missing_docs)]

pub mod cleanup;
#[cfg(feature = "cli")]
pub mod cli;
pub mod extract;
pub mod hash;
pub mod identity;
pub mod place;
pub mod publish;
pub mod record;
pub mod regular;
pub mod size;
pub mod testing;
pub mod text;
pub mod tree;
#[cfg(feature = "sqlite")]
pub mod untrusted;
pub mod uri;
pub mod wal;

pub use extract::{extract, Compression, ExtractError, Limit, Limits};
pub use hash::{hex, sha256_file, sha256_hex};
pub use identity::{apart, relation, ApartError, Named, Relation};
pub use publish::{Policy, PublishError, Staging};
pub use record::Record;
pub use size::{parse_bytes, parse_count, SizeError};
pub use tree::{copy_tree, CopyError};
