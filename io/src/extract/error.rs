//! Why an archive was not extracted.

use crate::size::format_bytes;
use std::fmt;
use std::path::PathBuf;

/// One of the three limits of [`super::Limits`]. Every refusal over a limit
/// says which, and names the command-line flag that raises it (the same in
/// `verify` and `testgen corrupt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`super::Limits::max_entry_bytes`]
    EntryBytes,
    /// [`super::Limits::max_total_bytes`]
    TotalBytes,
    /// [`super::Limits::max_entries`]
    Entries,
}

impl Limit {
    /// The command-line flag that sets this limit.
    pub const fn flag(self) -> &'static str {
        match self {
            Limit::EntryBytes => "--max-entry-bytes",
            Limit::TotalBytes => "--max-total-bytes",
            Limit::Entries => "--max-entries",
        }
    }

    /// The default, as written on the command line (parsed by
    /// [`crate::size::parse_bytes`] or [`crate::size::parse_count`], it is
    /// the value of [`super::Limits::default`]).
    pub const fn default_text(self) -> &'static str {
        match self {
            Limit::EntryBytes => "1G",
            Limit::TotalBytes => "4G",
            Limit::Entries => "1M",
        }
    }
}

/// The kind of a tar extension header, which describes the entry after it
/// (or, for a global header, every entry after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    /// GNU `L`: the next entry's path.
    LongName,
    /// GNU `K`: the next entry's link target.
    LongLink,
    /// PAX `x`: records for the next entry.
    Pax,
    /// PAX `g`: records for every later entry (ignored, but counted).
    PaxGlobal,
}

impl fmt::Display for HeaderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderKind::LongName => "GNU long-name header",
            HeaderKind::LongLink => "GNU long-link header",
            HeaderKind::Pax => "PAX header",
            HeaderKind::PaxGlobal => "PAX global header",
        })
    }
}

/// What a refusal over a limit is about: an entry (by name) or an extension
/// header (by kind and byte offset in the uncompressed tar stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An entry, by its name (shown).
    Entry(String),
    /// An extension header.
    Header {
        /// What it is.
        kind: HeaderKind,
        /// Byte offset of its header in the uncompressed tar stream.
        offset: u64,
    },
    /// The zero padding after the end-of-archive marker.
    Padding {
        /// Byte offset of the end-of-archive marker in the uncompressed tar stream.
        offset: u64,
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Entry(e) => write!(f, "entry \"{e}\""),
            Subject::Header { kind, offset } => write!(f, "the {kind} at byte {offset}"),
            Subject::Padding { offset } => {
                write!(f, "the zero padding after the end-of-archive marker at byte {offset}")
            }
        }
    }
}

/// Where in the archive a decode or format error was met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The header at `offset` (bytes into the uncompressed tar stream);
    /// `after` names the previous entry, `None` when no entry came before.
    Header {
        /// Byte offset of its header in the uncompressed tar stream.
        offset: u64,
        /// The entry before it, if any.
        after: Option<String>,
    },
    /// The data of `entry`, whose header is at `offset`.
    Data {
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// Byte offset of its header in the uncompressed tar stream.
        offset: u64,
    },
    /// After the end-of-archive marker at `offset`: its padding, or the
    /// end of the compressed stream (trailers, checksums, trailing bytes).
    End {
        /// Byte offset of the end-of-archive marker in the uncompressed tar stream.
        offset: u64,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Header { offset: 0, after: None } => write!(f, "at the first header (byte 0)"),
            Place::Header { offset, after: None } => {
                write!(f, "in the header at byte {offset}, before the first entry")
            }
            Place::Header { offset, after: Some(e) } => {
                write!(f, "in the header at byte {offset}, after entry \"{e}\"")
            }
            Place::Data { entry, offset } => {
                write!(f, "in the data of entry \"{entry}\" (header at byte {offset})")
            }
            Place::End { offset } => {
                write!(f, "after the end-of-archive marker (at byte {offset})")
            }
        }
    }
}

/// Why an archive was not extracted. Every refusal names the entry; entry
/// names and link targets are stored escaped and cut to 200 bytes
/// ([`crate::text::shown`]), so no message repeats unbounded input. Limit
/// refusals name the flag that raises the limit.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Neither zstd nor gzip.
    #[error(
        "{archive}: not a .tar.zst or .tar.gz archive (expected zstd magic 28 b5 2f fd or \
        gzip magic 1f 8b)"
    )]
    UnsupportedFormat {
        /// The archive.
        archive: PathBuf,
    },
    /// An entry with an absolute path.
    #[error("{archive}: entry \"{entry}\" has an absolute path")]
    AbsolutePath {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
    },
    /// An entry with a `..` component.
    #[error("{archive}: entry \"{entry}\" contains a '..' component")]
    ParentComponent {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
    },
    /// An entry whose path cannot be written safely.
    #[error("{archive}: entry \"{entry}\" has {reason}")]
    InvalidPath {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// Why.
        reason: &'static str,
    },
    /// A symbolic link entry.
    #[error("{archive}: entry \"{entry}\" is a symlink (to \"{target}\"); links are refused")]
    Symlink {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// The link's target, shown.
        target: String,
    },
    /// A hard link entry.
    #[error("{archive}: entry \"{entry}\" is a hard link (to \"{target}\"); links are refused")]
    Hardlink {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// The link's target, shown.
        target: String,
    },
    /// A device, FIFO or other special entry.
    #[error(
        "{archive}: entry \"{entry}\" is {}; only regular files and directories are allowed",
        with_article(kind)
    )]
    SpecialFile {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// What it is.
        kind: String,
    },
    /// An entry that appears twice.
    #[error("{archive}: entry \"{entry}\" appears twice")]
    Duplicate {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
    },
    /// An entry over the per-entry limit.
    #[error("{archive}: entry \"{entry}\" is {size} bytes, over the per-entry limit of {} (raise \
        with {})", format_bytes(*limit), Limit::EntryBytes.flag())]
    EntryTooLarge {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// Its declared size in bytes.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The expanded size over the total limit.
    #[error("{archive}: {subject} brings the expanded size to {total} bytes, over the limit of {} \
        (raise with {})", format_bytes(*limit), Limit::TotalBytes.flag())]
    TotalTooLarge {
        /// The archive.
        archive: PathBuf,
        /// The entry or header that went over.
        subject: Subject,
        /// The expanded size it would bring, in bytes.
        total: u64,
        /// The limit in force.
        limit: u64,
    },
    /// More entries than the limit.
    #[error(
        "{archive}: more than {} (at {subject}; raise with {})",
        entries(*limit),
        Limit::Entries.flag()
    )]
    TooManyEntries {
        /// The archive.
        archive: PathBuf,
        /// The entry or header that went over.
        subject: Subject,
        /// The limit in force.
        limit: u64,
    },
    /// An extension header over its fixed cap.
    #[error("{archive}: the {kind} at byte {offset} declares {size} bytes, over the fixed cap of \
        {} for extension headers", format_bytes(*limit))]
    HeaderTooLarge {
        /// The archive.
        archive: PathBuf,
        /// What it is.
        kind: HeaderKind,
        /// Byte offset of its header in the uncompressed tar stream.
        offset: u64,
        /// Its declared size in bytes.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A file where a directory is needed, or the reverse.
    #[error(
        "{archive}: entry \"{entry}\" conflicts with an earlier entry (a file where a \
        directory is needed, or the reverse)"
    )]
    PathConflict {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
    },
    /// An entry the caller's check refused.
    #[error("{archive}: entry \"{entry}\" is not allowed: {reason}")]
    NotAllowed {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// Why.
        reason: &'static str,
    },
    /// The destination exists already.
    #[error("destination {dest} already exists")]
    DestinationExists {
        /// The destination.
        dest: PathBuf,
    },
    /// The archive cannot be decoded.
    #[error("{archive}: corrupt or truncated archive {at}: {reason}")]
    Corrupt {
        /// The archive.
        archive: PathBuf,
        /// Where in the archive.
        at: Place,
        /// Why.
        reason: String,
    },
    /// The disk filled while writing.
    #[error("disk full while writing {path} (extracting {archive}): {error}")]
    DiskFull {
        /// The archive.
        archive: PathBuf,
        /// The file written or read.
        path: String,
        /// The system's error.
        error: std::io::Error,
    },
    /// An entry could not be written.
    #[error("{archive}: cannot write entry \"{entry}\" to {dir}: {error}")]
    Write {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, shown (escaped, cut to 200 bytes).
        entry: String,
        /// The destination directory.
        dir: PathBuf,
        /// The system's error.
        error: std::io::Error,
    },
    /// The archive could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file written or read.
        path: PathBuf,
        /// The system's error.
        error: std::io::Error,
    },
}

/// `kind` with its indefinite article: "a FIFO", "an entry of unknown type 'Z'".
fn with_article(kind: &str) -> String {
    let an = kind.chars().next().is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {kind}", if an { "an" } else { "a" })
}

/// "1 entry", "N entries".
pub fn entries(n: u64) -> String {
    if n == 1 {
        "1 entry".into()
    } else {
        format!("{n} entries")
    }
}

impl ExtractError {
    /// "1 entry", "N entries" (for messages about extracted archives).
    pub fn entries_text(n: u64) -> String {
        entries(n)
    }

    /// The entry the error names, if any (escaped and cut as stored).
    pub fn entry(&self) -> Option<&str> {
        use ExtractError::*;
        match self {
            AbsolutePath { entry, .. }
            | ParentComponent { entry, .. }
            | InvalidPath { entry, .. }
            | Symlink { entry, .. }
            | Hardlink { entry, .. }
            | SpecialFile { entry, .. }
            | Duplicate { entry, .. }
            | EntryTooLarge { entry, .. }
            | PathConflict { entry, .. }
            | NotAllowed { entry, .. }
            | Write { entry, .. }
            | Corrupt { at: Place::Data { entry, .. }, .. } => Some(entry),
            TotalTooLarge { subject: Subject::Entry(entry), .. }
            | TooManyEntries { subject: Subject::Entry(entry), .. } => Some(entry),
            Corrupt { at: Place::Header { after, .. }, .. } => after.as_deref(),
            _ => None,
        }
    }

    /// The limit a refusal is over, if it is one of the three of
    /// [`super::Limits`].
    pub fn limit(&self) -> Option<Limit> {
        match self {
            ExtractError::EntryTooLarge { .. } => Some(Limit::EntryBytes),
            ExtractError::TotalTooLarge { .. } => Some(Limit::TotalBytes),
            ExtractError::TooManyEntries { .. } => Some(Limit::Entries),
            _ => None,
        }
    }

    /// True when the archive (or the destination given) is at fault rather
    /// than the machine: everything but a full disk and other I/O errors.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            ExtractError::DiskFull { .. } | ExtractError::Write { .. } | ExtractError::Io { .. }
        )
    }
}
