//! Typed errors. [`ExtractError`] is a refused or failed archive extraction;
//! [`InputError`] is input the verifier cannot use at all (exit code 2).
//! Problems *inside* a usable fixture are findings, not errors.

use std::path::PathBuf;

pub use thrum_io::extract::ExtractError;
use thrum_io::untrusted::UntrustedError;

/// Input that cannot be verified at all (exit code 2). Each names the file
/// and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// PATH does not exist.
    #[error("{path} does not exist")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// PATH exists but is not an archive or a fixture tree; `found` says
    /// what it is (see [`crate::input::describe`]).
    #[error(
        "{path} is {found}; expected a .tar.zst / .tar.gz archive, a directory containing \
        .thrum/, or a .thrum directory"
    )]
    NotAFixture {
        /// The path given.
        path: PathBuf,
        /// What it is.
        found: String,
    },
    /// A path of the wrong kind: `found` says what it is, `expected` what the
    /// command needs there.
    #[error("{path} is {found}; expected {expected}")]
    WrongKind {
        /// The path.
        path: PathBuf,
        /// What it is.
        found: String,
        /// What is needed there.
        expected: &'static str,
    },
    /// An archive without `.thrum/` at its root.
    #[error("{path}: the archive has no .thrum/ directory at its root")]
    NoThrumRoot {
        /// The archive.
        path: PathBuf,
    },
    /// The archive was refused or could not be extracted.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// An entry the archive should hold and does not.
    #[error("{archive}: {entry} is missing from the archive; expected {expected}")]
    MissingEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry's path in the archive.
        entry: String,
        /// What the entry should be.
        expected: &'static str,
    },
    /// The tree has no `var/messages.db`.
    #[error("{path}: missing; expected the SQLite database var/messages.db")]
    MissingDatabase {
        /// Where the database should be.
        path: PathBuf,
    },
    /// A file that SQLite cannot open or read as a database.
    #[error("{path}: expected a SQLite database: {reason}")]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        reason: String,
    },
    /// An input database whose schema holds an object that runs SQL of its
    /// own (a view, a virtual table, a trigger, a generated column): refused
    /// before any query (see [`thrum_io::untrusted`]).
    #[error(
        "{path}: {object} is {found}; expected {expected} (verify does not run SQL an input \
        database defines)"
    )]
    UnsafeDatabase {
        /// The database.
        path: PathBuf,
        /// The object, named as the schema names it.
        object: String,
        /// What it is.
        found: String,
        /// What a Thrum database holds there.
        expected: &'static str,
    },
    /// Reading an input database took more work than its size explains
    /// (see [`thrum_io::untrusted::budget_for`]).
    #[error(
        "{path}: reading it took more than {budget} SQLite instructions, more than a database \
        of its size needs; refused"
    )]
    DatabaseTooCostly {
        /// The database.
        path: PathBuf,
        /// The instruction budget it exceeded.
        budget: u64,
    },
    /// A v5 tree given to `verify replay`.
    #[error(
        "{path}: this is a v5 layout (messages.jsonl, no events.jsonl); expected a v13 .thrum/ — \
            use `verify migrate` for v5 fixtures"
    )]
    V5Layout {
        /// The input.
        path: PathBuf,
    },
    /// Input to `verify migrate` that is not a v5 tree.
    #[error(
        "{path}: expected a v5 layout (.thrum/messages.jsonl without events.jsonl or \
        messages/): {reason}"
    )]
    NotV5 {
        /// The input.
        path: PathBuf,
        /// What is not v5 about it.
        reason: String,
    },
    /// Input beyond what the verifier can index (more event files or lines
    /// than `crate::index::Pos` numbers); `reason` says which limit and
    /// whether an option raises it.
    #[error("{path}: too large to verify: {reason}")]
    TooLarge {
        /// The file (or the directory holding too many files).
        path: PathBuf,
        /// The limit exceeded.
        reason: String,
    },
    /// Input that could not be read to the end; `reason` says why.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The input.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An I/O error on `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// An output that is, holds or lies in the command's input (compared by
    /// device and inode): refused before anything is written.
    #[error(transparent)]
    Apart(#[from] thrum_io::ApartError),
    /// A write failed because the disk or quota is full; `path` is the file
    /// being written.
    #[error("disk full while writing {path}")]
    DiskFull {
        /// The file being written.
        path: PathBuf,
    },
}

impl InputError {
    /// The binary's exit code for this error: every input error means the
    /// input is unusable ([`crate::report::EXIT_UNUSABLE`]).
    pub fn exit_code(&self) -> u8 {
        crate::report::EXIT_UNUSABLE as u8
    }
    /// True when the disk (or quota) filled: the machine, not the input, is
    /// at fault (the binary exits 1).
    pub fn is_disk_full(&self) -> bool {
        match self {
            InputError::DiskFull { .. } | InputError::Extract(ExtractError::DiskFull { .. }) => {
                true
            }
            InputError::Io { source, .. } => thrum_io::regular::is_disk_full(source),
            _ => false,
        }
    }
    /// A failed read (or other I/O) of `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> InputError {
        InputError::Io { path: path.into(), source }
    }
    /// An error writing `path`: [`InputError::DiskFull`] when the disk or
    /// quota is full.
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> InputError {
        if thrum_io::regular::is_disk_full(&source) {
            return InputError::DiskFull { path: path.into() };
        }
        InputError::Io { path: path.into(), source }
    }
    /// `path` is not a database SQLite can read; `e` says why.
    pub fn db(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> InputError {
        InputError::NotADatabase { path: path.into(), reason: e.to_string() }
    }
}

/// An input database refused by [`thrum_io::untrusted`], in verify's words.
impl From<UntrustedError> for InputError {
    fn from(e: UntrustedError) -> InputError {
        match e {
            UntrustedError::Unsafe { path, object, found, expected } => {
                InputError::UnsafeDatabase { path, object, found: found.to_string(), expected }
            }
            UntrustedError::TooCostly { path, budget } => {
                InputError::DatabaseTooCostly { path, budget }
            }
            UntrustedError::Sqlite { path, source } => InputError::db(path, source),
        }
    }
}
