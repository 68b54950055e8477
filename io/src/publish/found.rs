//! What stands at a destination that may not be replaced, and the refusal
//! that names it.

use super::{Policy, PublishError};
use crate::text::{shown_name, shown_path};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What is at a destination that may not be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The path names no directory entry (`.`, `..`, `/`).
    NoName,
    /// The destination's parent exists and is not a directory.
    ParentNotDirectory(PathBuf),
    /// A symbolic link (never followed).
    Symlink {
        /// Where it points, when readable.
        target: Option<PathBuf>,
    },
    /// A regular file.
    File {
        /// Its size in bytes.
        size: u64,
    },
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A socket.
    Socket,
    /// Some other kind of file.
    Special,
    /// Another file system is mounted there.
    MountPoint,
    /// Another file system is mounted on a directory below it.
    MountBelow(PathBuf),
    /// Entries the tool did not write.
    Foreign {
        /// The tool's name.
        tool: &'static str,
        /// Some of those entries.
        entries: Entries,
    },
    /// Not recognisably an output of the tool, for `reason`.
    NotOurs {
        /// The tool's name.
        tool: &'static str,
        /// Why not.
        reason: String,
    },
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::NoName => write!(f, "it does not name a directory entry"),
            Found::ParentNotDirectory(p) => write!(f, "{} is not a directory", shown_path(p)),
            Found::Symlink { target: Some(t) } => {
                write!(f, "it is a symbolic link (to {})", shown_path(t))
            }
            Found::Symlink { target: None } => write!(f, "it is a symbolic link"),
            Found::File { size } => {
                write!(f, "it is a regular file ({size} bytes), not a directory")
            }
            Found::CharDevice => write!(f, "it is a character device"),
            Found::BlockDevice => write!(f, "it is a block device"),
            Found::Fifo => write!(f, "it is a named pipe (FIFO)"),
            Found::Socket => write!(f, "it is a socket"),
            Found::Special => write!(f, "it is not a regular file, a directory or a link"),
            Found::MountPoint => {
                write!(f, "it is a mount point (another file system is mounted there)")
            }
            Found::MountBelow(p) => {
                write!(f, "another file system is mounted on {} inside it", shown_path(p))
            }
            Found::Foreign { tool, entries } => {
                write!(f, "it holds files {tool} did not write ({entries})")
            }
            Found::NotOurs { tool, reason } => write!(f, "it is not an output of {tool}: {reason}"),
        }
    }
}

/// A sorted, bounded sample of entry names (relative paths; directories
/// end in `/`): the first few in order, and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    first: BTreeSet<String>,
    total: usize,
}

impl Entries {
    /// Names kept for the message.
    const KEEP: usize = 3;

    /// No entries.
    pub fn new() -> Entries {
        Entries::default()
    }
    /// Counts `name`, keeping it when it sorts among the first three.
    pub fn add(&mut self, name: impl Into<String>) {
        self.total += 1;
        self.first.insert(name.into());
        if self.first.len() > Self::KEEP {
            self.first.pop_last();
        }
    }
    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
    /// How many names were added.
    pub fn total(&self) -> usize {
        self.total
    }
    /// The first names in order (at most three).
    pub fn first(&self) -> impl Iterator<Item = &str> {
        self.first.iter().map(String::as_str)
    }
}

impl std::fmt::Display for Entries {
    /// `a, b, c` when there are at most three, else `a, b, and N more`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = if self.total <= Self::KEEP { self.total } else { Self::KEEP - 1 };
        let names: Vec<String> = self.first.iter().take(shown).map(|n| shown_name(n)).collect();
        write!(f, "{}", names.join(", "))?;
        if self.total > shown {
            write!(f, ", and {} more", self.total - shown)?;
        }
        Ok(())
    }
}

pub(super) fn refused(dest: &Path, found: Found, policy: &Policy) -> PublishError {
    let flag = policy.flag;
    let advice = match &found {
        Found::NoName => format!("give {flag} a path that ends in a directory name"),
        Found::ParentNotDirectory(_) => format!("choose another {flag}"),
        Found::Symlink { .. } => {
            format!(
                "choose another {flag} (the link's target itself, if it is an output of {}) \
                or remove the link yourself",
                policy.tool
            )
        }
        Found::MountPoint => {
            format!("choose another {flag} (a directory inside the mount point will do)")
        }
        _ => format!("choose another {flag} or remove it yourself"),
    };
    PublishError::Refused { path: dest.to_path_buf(), found, advice }
}
