use std::path::PathBuf;

/// Everything that can stop a generation run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Plan(#[from] thrum_gen::plan::PlanError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("SQLite database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path} failed its check: {detail}")]
    Integrity { path: PathBuf, detail: String },
    #[error("Parquet: {0}")]
    Parquet(String),
    #[error("invalid option: {0}")]
    Usage(String),
    /// The destination may not be replaced, or publishing failed.
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    /// `testgen merge` refused its shard directories (boxed: it is large).
    #[error(transparent)]
    Merge(Box<crate::merge::MergeError>),
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
            Error::Plan(_) | Error::Usage(_) | Error::Merge(_) => 2,
            Error::Publish(e) => e.exit_code(),
            _ => 1,
        }
    }
}

impl From<crate::merge::MergeError> for Error {
    fn from(e: crate::merge::MergeError) -> Error {
        Error::Merge(Box::new(e))
    }
}

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
