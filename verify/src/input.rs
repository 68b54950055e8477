//! Opening an input: an archive (extracted safely into a temporary
//! directory) or a directory tree.

use crate::cleanup::{self, TempDir};
use crate::error::{ExtractError, InputError};
use crate::extract::{self, Entry, Limits};
use std::path::{Path, PathBuf};

/// Prefixes of the temporaries verify creates in the system temporary
/// directory, each followed by `<pid>-<random>` ([`cleanup::temp_name`]):
/// archive extraction, database copies, on-disk replay databases,
/// migration work trees.
pub const TEMP_PREFIXES: [&str; 4] = ["verify-", "verify-db-", "verify-replay-", "verify-migrate-"];

/// Removes the temporaries that runs which no longer exist left in the
/// system temporary directory (killed runs; an interrupted run removes its
/// own). Returns the removed paths; a directory that cannot be read is skipped.
pub fn collect_stale_temporaries() -> Vec<PathBuf> {
    let tmp = std::env::temp_dir();
    TEMP_PREFIXES.iter().flat_map(|p| cleanup::collect_stale(&tmp, p).unwrap_or_default()).collect()
}

/// The prefix of the temporary directory written beside `dest` and renamed
/// into place: `.NAME.partial-`.
pub fn partial_prefix(dest: &Path) -> String {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    format!(".{name}.partial-")
}

/// Creates the registered temporary directory beside `dest` (in `dest`'s
/// parent, created if needed) that is renamed into place when complete;
/// first removes the partial directories of dead runs for the same `dest`.
pub fn partial_dir(dest: &Path) -> Result<TempDir, InputError> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| InputError::io(&parent, e))?;
    let prefix = partial_prefix(dest);
    let _ = cleanup::collect_stale(&parent, &prefix);
    cleanup::temp_dir_in(&parent, &prefix).map_err(|e| InputError::io(&parent, e))
}

/// A registered temporary directory `PREFIX<pid>-<random>` in the system
/// temporary directory.
pub fn temp_dir(prefix: &str) -> Result<TempDir, InputError> {
    cleanup::temp_dir(prefix).map_err(|e| InputError::io(std::env::temp_dir(), e))
}

/// What is at `path`, for messages ("a regular file", "a directory", "a
/// FIFO (named pipe)", "a symbolic link to a directory", ...); `None` when
/// nothing is there. Never opens the path.
pub fn describe(path: &Path) -> Option<String> {
    let m = std::fs::symlink_metadata(path).ok()?;
    if m.file_type().is_symlink() {
        return Some(match std::fs::metadata(path) {
            Ok(t) => format!("a symbolic link to {}", kind_of(&t)),
            Err(_) => "a dangling symbolic link".into(),
        });
    }
    Some(kind_of(&m).into())
}

fn kind_of(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_file() {
        return if m.len() == 0 { "an empty regular file" } else { "a regular file" };
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_char_device() {
            return "a character device";
        }
    }
    "a special file"
}

/// Checks that `path` is a regular file holding an archive (by magic
/// bytes), without opening anything else (a FIFO would block).
pub fn require_archive(path: &Path) -> Result<(), InputError> {
    const EXPECTED: &str = "a .tar.zst or .tar.gz archive";
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match describe(path) {
            Some(found) => Err(InputError::WrongKind { path: path.to_path_buf(), found, expected: EXPECTED }),
            None => Err(InputError::NotFound { path: path.to_path_buf() }),
        },
        Err(e) => Err(InputError::io(path, e)),
        Ok(m) if !m.is_file() => Err(InputError::WrongKind { path: path.to_path_buf(), found: describe(path).unwrap_or_default(), expected: EXPECTED }),
        Ok(_) if !extract::looks_like_archive(path) => Err(InputError::WrongKind {
            path: path.to_path_buf(),
            found: format!("{} without a zstd or gzip header", describe(path).unwrap_or_default()),
            expected: EXPECTED,
        }),
        Ok(_) => Ok(()),
    }
}

/// `verify extract`: extracts `archive` to `dest`, which must not exist,
/// through a registered `.DEST.partial-<pid>-<random>` directory beside it
/// that is renamed into place, so `dest` is complete or absent, also when
/// the run is interrupted (see [`crate::cleanup`]).
pub fn extract_to(archive: &Path, dest: &Path, limits: &Limits) -> Result<Vec<Entry>, InputError> {
    if dest.symlink_metadata().is_ok() {
        return Err(ExtractError::DestinationExists { dest: dest.to_path_buf() }.into());
    }
    require_archive(archive)?;
    Ok(extract::extract(archive, dest, limits)?)
}

/// [`extract::unpack`] (which stops writing once an interrupt is being
/// handled: [`cleanup::checkpoint`] before each entry).
pub fn unpack(archive: &Path, root: &Path, limits: &Limits) -> Result<Vec<Entry>, ExtractError> {
    extract::unpack(archive, root, limits)
}

/// An opened fixture tree.
#[derive(Debug)]
pub struct Tree {
    /// The `.thrum` directory.
    pub thrum: PathBuf,
    /// The directory holding `.thrum` (paths in manifests are relative to it).
    pub base: PathBuf,
    /// The archive this tree was extracted from.
    pub archive: Option<PathBuf>,
    /// The archive's entries, when extracted.
    pub entries: Option<Vec<Entry>>,
    /// Keeps the extraction directory alive.
    pub _tmp: Option<TempDir>,
}

impl Tree {
    /// A path inside `.thrum`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.thrum.join(rel)
    }
    /// Whether the tree has the v5 layout (`messages.jsonl`, no `events.jsonl`, no `messages/`).
    pub fn is_v5_layout(&self) -> bool {
        self.path("messages.jsonl").is_file() && !self.path("events.jsonl").exists() && !self.path("messages").exists()
    }
    /// Display name of the input.
    pub fn display(&self) -> String {
        self.archive.as_deref().unwrap_or(&self.base).display().to_string()
    }
}

/// Opens PATH: a `.tar.zst`/`.tar.gz` archive (by magic bytes), a directory
/// containing `.thrum/`, or a `.thrum` directory itself.
pub fn open(path: &Path, limits: &Limits) -> Result<Tree, InputError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(match describe(path) {
                Some(found) => InputError::NotAFixture { path: path.to_path_buf(), found },
                None => InputError::NotFound { path: path.to_path_buf() },
            })
        }
        Err(e) => return Err(InputError::io(path, e)),
    };
    if meta.is_dir() {
        if path.join(".thrum").is_dir() {
            return Ok(Tree { thrum: path.join(".thrum"), base: path.to_path_buf(), archive: None, entries: None, _tmp: None });
        }
        if path.file_name().is_some_and(|n| n == ".thrum") {
            let abs = std::fs::canonicalize(path).map_err(|e| InputError::io(path, e))?;
            let base = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| abs.clone());
            return Ok(Tree { thrum: abs, base, archive: None, entries: None, _tmp: None });
        }
        return Err(InputError::NotAFixture { path: path.to_path_buf(), found: "a directory without .thrum/".into() });
    }
    if !meta.is_file() {
        return Err(InputError::NotAFixture { path: path.to_path_buf(), found: describe(path).unwrap_or_default() });
    }
    if !extract::looks_like_archive(path) {
        let found = format!("{} without a zstd or gzip header", describe(path).unwrap_or_default());
        return Err(InputError::NotAFixture { path: path.to_path_buf(), found });
    }
    let tmp = temp_dir("verify-")?;
    let entries = unpack(path, tmp.path(), limits)?;
    let thrum = tmp.path().join(".thrum");
    if !thrum.is_dir() {
        return Err(InputError::NoThrumRoot { path: path.to_path_buf() });
    }
    Ok(Tree { thrum, base: tmp.path().to_path_buf(), archive: Some(path.to_path_buf()), entries: Some(entries), _tmp: Some(tmp) })
}
