use std::path::{Path, PathBuf};
use thrum_io::text::shown_path;

/// Everything that can stop a generation run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The seed and profile give no plan (an invalid volume).
    #[error("{0}")]
    Plan(#[from] thrum_gen::PlanError),
    /// Reading or writing a file failed ("disk full while writing PATH"
    /// when the disk or quota is full).
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
    /// SQLite refused a statement.
    #[error("{}", sqlite_text(.path, .source))]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The finished database failed its integrity or foreign-key check.
    #[error("database {} failed its check: {detail}", shown_path(.path))]
    Integrity {
        /// The database.
        path: PathBuf,
        /// What the check reported.
        detail: String,
    },
    /// The Parquet writer failed.
    #[error("Parquet: {0}")]
    Parquet(String),
    /// A catalogue column has no meaning in the data dictionary's table.
    #[error("the data dictionary has no meaning for column {table}.{column}")]
    NoMeaning {
        /// Its table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// An invalid option or combination of options.
    #[error("invalid option: {0}")]
    Usage(String),
    /// The destination may not be replaced, or publishing failed.
    #[error(transparent)]
    Publish(#[from] thrum_io::publish::PublishError),
    /// A tree could not be copied.
    #[error(transparent)]
    Copy(#[from] thrum_io::tree::CopyError),
    /// `testgen merge` refused its shard directories (boxed: it is large).
    #[error(transparent)]
    Merge(Box<crate::merge::MergeError>),
    /// `testgen --lake` or `testgen commit` refused the lake (boxed: it is large).
    #[error(transparent)]
    Lake(Box<crate::lake::LakeError>),
    /// A crash state could not be written (`testgen crash`, and the crash
    /// fixtures of the default regeneration).
    #[error(transparent)]
    Crash(#[from] thrum_chaos::CorruptError),
    /// `testgen bench --baseline` refused its baseline.
    #[error(transparent)]
    Baseline(#[from] crate::bench::baseline::BaselineError),
    /// A command run by `testgen bench` failed (its own message is above
    /// it on stderr).
    #[error("{0}")]
    Child(String),
    /// A step of a command failed: what was being done, then the cause.
    #[error("{what}")]
    Step {
        /// The step, with the path it wrote to.
        what: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },
    /// A report could not be rendered as JSON.
    #[error("{what}")]
    Render {
        /// Which report.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The run report (`--report-json`) could not be written (the error
    /// names the file; "disk full while writing PATH" on a full disk).
    #[error(transparent)]
    Report(std::io::Error),
    /// `testgen bench --plot` could not write its SVG file.
    #[error("writing the plot {}", shown_path(.path))]
    Plot {
        /// The SVG file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// `testgen bench --baseline`: gated figures worse than the baseline.
    #[error("{0}")]
    Regressed(String),
    /// A step could not go on because another one failed or broke an
    /// invariant of the run (the first failure is reported too).
    #[error("{0}")]
    Aborted(String),
}

impl Error {
    /// Exit code for the command line: 2 when the request is at fault (an
    /// invalid option or volume, a destination that may not be replaced),
    /// 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Plan(_) | Error::Usage(_) | Error::Merge(_) | Error::Lake(_) => 2,
            Error::Publish(e) => e.exit_code(),
            Error::Baseline(e) => e.exit_code(),
            Error::Crash(e) => e.exit_code(),
            Error::Step { source, .. } => source.exit_code(),
            _ => 1,
        }
    }
}

/// SQLite's error on the database `path`: "disk full while writing PATH"
/// when SQLite reports a full disk.
fn sqlite_text(path: &Path, e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
            format!("disk full while writing {}", shown_path(path))
        }
        e => format!("SQLite database {}: {e}", shown_path(path)),
    }
}

impl From<crate::merge::MergeError> for Error {
    fn from(e: crate::merge::MergeError) -> Error {
        Error::Merge(Box::new(e))
    }
}

/// The result of testgen's steps.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches the action and path to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io { action, path: path.into(), source })
    }
}
