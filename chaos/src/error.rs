//! Why a corrupted copy could not be made.

use std::path::{Path, PathBuf};
use thrum_io::extract::ExtractError;
use thrum_io::publish::PublishError;
use thrum_io::text::shown_path;
use thrum_io::untrusted::UntrustedError;

/// Why a corrupted copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CorruptError {
    /// The input is neither a fixture archive nor a directory holding one.
    #[error(
        "{}: expected a .tar.zst fixture archive, a directory containing .thrum/ (or \
            thrum-fixture.tar.zst), or a .thrum directory",
        shown_path(.path)
    )]
    NotAFixture {
        /// The input.
        path: PathBuf,
    },
    /// The input is a fixture, but not a v13 one.
    #[error("{}: not a v13 fixture: {reason}", shown_path(.path))]
    NotV13 {
        /// The input.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// An entry of the input tree may not be copied.
    #[error("{}: refused archive entry {entry:?}: {reason}", shown_path(.archive))]
    Refused {
        /// The input tree.
        archive: PathBuf,
        /// The entry refused.
        entry: String,
        /// Why.
        reason: String,
    },
    /// The archive was refused, or could not be extracted.
    #[error(transparent)]
    Extract(ExtractError),
    /// The fixture holds nothing the fault could change.
    #[error("{}: the fixture has no target for fault {fault}: {reason}", shown_path(.path))]
    NoTarget {
        /// The input.
        path: PathBuf,
        /// The fault's name.
        fault: &'static str,
        /// What the fixture lacks.
        reason: String,
    },
    /// Reading the input or writing the copy failed.
    #[error("{}", thrum_io::regular::io_text(.action, .path, .source))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The copy's database could not be read or changed.
    #[error("SQLite database {}: {source}", shown_path(.path))]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A request the catalogue cannot meet (`--events` out of range).
    #[error("{0}")]
    Invalid(String),
    /// The output could not be packed (a crash state written as an
    /// archive), or a WAL could not be resealed.
    #[error("packing the output: {reason}")]
    Pack {
        /// Why.
        reason: String,
    },
    /// The output directory may not be replaced, or publishing failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The input's database was refused before any query (a view, a
    /// virtual table, a trigger, a generated column), took more work than
    /// its size explains, or is not a database SQLite can open
    /// ([`thrum_io::untrusted`]).
    #[error(transparent)]
    Untrusted(#[from] UntrustedError),
}

impl CorruptError {
    /// True when the input, not the machine, is at fault (the CLI exits 2).
    pub fn is_input_error(&self) -> bool {
        match self {
            CorruptError::Extract(e) => e.is_input_error(),
            CorruptError::Publish(e) => e.is_refusal(),
            CorruptError::Untrusted(e) => e.is_input_error(),
            e => matches!(
                e,
                CorruptError::NotAFixture { .. }
                    | CorruptError::NotV13 { .. }
                    | CorruptError::Refused { .. }
                    | CorruptError::NoTarget { .. }
                    | CorruptError::Invalid(_)
            ),
        }
    }

    /// Exit code for the command line: 2 for an input error (a refused
    /// output directory included), else 1.
    pub fn exit_code(&self) -> u8 {
        if self.is_input_error() {
            2
        } else {
            1
        }
    }
}

/// The result of the chaos catalogue's steps.
pub type Result<T, E = CorruptError> = std::result::Result<T, E>;

/// Attaches the action and the path to an I/O error of a corruption.
pub(crate) trait CorruptContext<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T>;
}

impl<T> CorruptContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| CorruptError::Io { action, path: path.to_path_buf(), source })
    }
}

/// Attaches the database's path to a SQLite error.
pub(crate) fn sql<T>(r: rusqlite::Result<T>, path: &Path) -> Result<T> {
    r.map_err(|source| CorruptError::Sqlite { path: path.to_path_buf(), source })
}
