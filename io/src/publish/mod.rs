//! Atomic publication under one destination policy.
//!
//! A run builds everything in a temporary directory beside the destination,
//! then swaps it into place in one step, so the destination is always either
//! the previous complete output or the new one.
//!
//! A destination may be replaced only when it is absent, an empty
//! directory, or recognisably a previous output of the same kind with
//! nothing else in it (the caller's [`Policy::recognise`] decides).
//! Anything else (a directory holding other files, a regular file, a
//! device, a FIFO, a socket, a symbolic link even to an output of ours, a
//! mount point) is refused with [`PublishError::Refused`]: [`check`] before
//! any work, again right before the swap, and once more on what the swap
//! moved aside before it is deleted (put back when it no longer passes).
//! Nothing the tool did not make is deleted: the only other removals are
//! the tool's own temporaries, directories named exactly `.NAME.tmp-PID`
//! (or `.NAME.tmp-PID.old`) whose process is gone.
//!
//! [`check`] judges a destination, [`Staging`] builds beside it and
//! publishes, [`swap_into_place`] is the swap itself; [`listing`] helps a
//! recogniser find entries a tool did not write.

mod found;
mod judge;
pub mod listing;
mod swap;
#[cfg(test)]
mod tests;

pub use found::{Entries, Found};
pub use judge::check;
pub use swap::{swap_into_place, temporary_pid, Staging};

use crate::text::shown_path;
use std::path::{Path, PathBuf};

/// Why a publication stopped.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The destination holds something the tool may not replace; nothing
    /// was touched.
    #[error("refusing to replace {}: {found}; {advice}", shown_path(.path))]
    Refused {
        /// The destination.
        path: PathBuf,
        /// What is there.
        found: Found,
        /// What to do instead (names the option).
        advice: String,
    },
    /// The destination is, holds or lies in an input of the command
    /// (checked before any work and again right before the swap).
    #[error(transparent)]
    Apart(#[from] crate::identity::ApartError),
    /// An I/O error while staging or publishing ("disk full while writing
    /// PATH" when the disk or quota is full).
    #[error("{}", crate::regular::io_text(.action, .path, .source))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The swap moved aside something that was not an output of the tool
    /// (it changed during the swap) and could not put it back: it is kept,
    /// not deleted, at `now_at`.
    #[error("{} changed while it was being replaced and could not be put back: it is kept at {} \
        ({source})", shown_path(.path), shown_path(.now_at))]
    Displaced {
        /// The destination.
        path: PathBuf,
        /// Where what was there is kept.
        now_at: PathBuf,
        /// Why it could not be put back.
        #[source]
        source: std::io::Error,
    },
}

impl PublishError {
    /// True when the destination was refused (the request, not the
    /// machine, is at fault).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            PublishError::Refused { .. }
                | PublishError::Apart(crate::identity::ApartError::Overlap { .. })
        )
    }

    /// Exit code for a command line: 2 for a refused destination, else 1.
    pub fn exit_code(&self) -> u8 {
        if self.is_refusal() {
            2
        } else {
            1
        }
    }
}

type Result<T, E = PublishError> = std::result::Result<T, E>;

/// Attaches the action and the path to an I/O error of publishing.
trait PublishContext<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T>;
}

impl<T> PublishContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| PublishError::Io { action, path: path.to_path_buf(), source })
    }
}

/// Why a directory is not a previous output of the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrecognised {
    /// It holds entries the tool does not write.
    Foreign(Entries),
    /// It is not (recognisably) an output of the tool.
    Not(String),
}

/// Who publishes, under which option, and what it writes.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The tool's name in messages (`testgen`).
    pub tool: &'static str,
    /// The option that names the destination (`--out`), for the advice.
    pub flag: &'static str,
    /// `Ok` when the directory (a real, non-empty directory, never a link)
    /// holds a previous output of this kind and nothing else. It must not
    /// follow symbolic links, and may be called on the directory after the
    /// swap moved it to a temporary name beside the destination.
    pub recognise: fn(&Path) -> Result<(), Unrecognised>,
}

/// What a destination that may be replaced holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Nothing is there.
    Absent,
    /// An empty directory.
    Empty,
    /// A previous output of the same kind.
    Ours,
}
