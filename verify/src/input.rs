//! Opening an input: an archive (extracted safely into a temporary
//! directory) or a directory tree.

use crate::cleanup::{self, TempDir};
use crate::error::{ExtractError, InputError};
use crate::extract::{self, Entry, Limits};
use std::path::{Path, PathBuf};
use thrum_io::Named;

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
    let name =
        dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    format!(".{}.partial-", thrum_io::cleanup::temp_stem(&name))
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

pub use thrum_io::regular::describe;

/// Checks that `path` is a regular file holding an archive (by magic
/// bytes), without opening anything else (a FIFO would block).
pub fn require_archive(path: &Path) -> Result<(), InputError> {
    const EXPECTED: &str = "a .tar.zst or .tar.gz archive";
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match describe(path) {
            Some(found) => {
                Err(InputError::WrongKind { path: path.to_path_buf(), found, expected: EXPECTED })
            }
            None => Err(InputError::NotFound { path: path.to_path_buf() }),
        },
        Err(e) => Err(InputError::io(path, e)),
        Ok(m) if !m.is_file() => Err(InputError::WrongKind {
            path: path.to_path_buf(),
            found: describe(path).unwrap_or_default(),
            expected: EXPECTED,
        }),
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
    // by device and inode: DEST may not be the archive or lie in it (a DEST
    // that holds it exists, and is refused below; the rename into place
    // never replaces an existing entry)
    thrum_io::apart(&Named::new("DEST", dest), &[Named::new("ARCHIVE", archive)])?;
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
        self.path("messages.jsonl").is_file()
            && !self.path("events.jsonl").exists()
            && !self.path("messages").exists()
    }
    /// How a path inside `.thrum` is named in messages: `ARCHIVE: .thrum/REL`
    /// for an extracted archive (its temporary directory is gone by the time
    /// the message is read), else the path itself.
    pub fn shown(&self, rel: &str) -> PathBuf {
        match &self.archive {
            Some(a) => PathBuf::from(format!("{}: .thrum/{rel}", a.display())),
            None => self.path(rel),
        }
    }
    /// `var/messages.db`, checked to be a regular file: an error naming the
    /// archive and its entry, or the path, and what is there instead.
    pub fn database(&self) -> Result<PathBuf, InputError> {
        const REL: &str = "var/messages.db";
        let p = self.path(REL);
        match thrum_io::regular::regular_metadata(&p) {
            Ok(_) => Ok(p),
            Err(e) => Err(match (&self.archive, e.kind()) {
                (Some(a), std::io::ErrorKind::NotFound) => InputError::MissingEntry {
                    archive: a.clone(),
                    entry: format!(".thrum/{REL}"),
                    expected: "the SQLite database",
                },
                _ => db_file_error(&self.shown(REL), &p, e),
            }),
        }
    }
    /// Display name of the input.
    pub fn display(&self) -> String {
        self.archive.as_deref().unwrap_or(&self.base).display().to_string()
    }
}

/// Which fixture of a `testgen --out` directory a command reads: the v13
/// one (`replay`, `parquet`, `bench`) or the v5-era one (`migrate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// `thrum-fixture.tar.zst` (or `.tar.gz`).
    V13,
    /// `thrum-fixture-v5.tar.zst` (or `.tar.gz`).
    V5,
}

impl Generation {
    /// The archive names `testgen --out` gives this fixture, in the order
    /// they are looked for.
    pub fn archive_names(self) -> &'static [&'static str] {
        match self {
            Generation::V13 => &["thrum-fixture.tar.zst", "thrum-fixture.tar.gz"],
            Generation::V5 => &["thrum-fixture-v5.tar.zst", "thrum-fixture-v5.tar.gz"],
        }
    }
}

/// The input a command reads for PATH: for a directory that `testgen --out`
/// wrote (no `.thrum/` in it, not a `.thrum` directory itself, holding the
/// archive of `generation` as a regular file), that archive, so its manifest
/// and SHA256SUMS beside it are checked as for the archive named directly;
/// anything else is PATH itself (and [`open`] says what is wrong with it).
/// A directory holding more than one fixture (`.thrum/` beside an archive,
/// or both archives) is refused: which one its checksums vouch for would
/// be a guess.
pub fn resolve(path: &Path, generation: Generation) -> Result<PathBuf, InputError> {
    let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
    if !is_dir || path.file_name().is_some_and(|n| n == ".thrum") {
        return Ok(path.to_path_buf());
    }
    let found: Vec<&str> = std::iter::once(".thrum")
        .chain(generation.archive_names().iter().copied())
        .filter(|n| thrum_io::regular::exists_at_all(&path.join(n)))
        .collect();
    match found.as_slice() {
        [] | [".thrum"] => Ok(path.to_path_buf()),
        [one] => Ok(path.join(one)),
        _ => Err(InputError::WrongKind {
            path: path.to_path_buf(),
            found: format!("a directory holding {}", found.join(" and ")),
            expected: "exactly one fixture: .thrum/ or one archive",
        }),
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
            return Ok(Tree {
                thrum: path.join(".thrum"),
                base: path.to_path_buf(),
                archive: None,
                entries: None,
                _tmp: None,
            });
        }
        if path.file_name().is_some_and(|n| n == ".thrum") {
            let abs = std::fs::canonicalize(path).map_err(|e| InputError::io(path, e))?;
            let base = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| abs.clone());
            return Ok(Tree { thrum: abs, base, archive: None, entries: None, _tmp: None });
        }
        return Err(InputError::NotAFixture {
            path: path.to_path_buf(),
            found: "a directory without .thrum/".into(),
        });
    }
    if !meta.is_file() {
        return Err(InputError::NotAFixture {
            path: path.to_path_buf(),
            found: describe(path).unwrap_or_default(),
        });
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
    Ok(Tree {
        thrum,
        base: tmp.path().to_path_buf(),
        archive: Some(path.to_path_buf()),
        entries: Some(entries),
        _tmp: Some(tmp),
    })
}

/// The error for a database file `path` (named `shown`) that cannot be
/// used: missing, not a regular file (saying what it is), or unreadable.
pub fn db_file_error(shown: &Path, path: &Path, e: std::io::Error) -> InputError {
    if let Some(nr) = thrum_io::regular::not_regular(&e) {
        return InputError::WrongKind {
            path: shown.to_path_buf(),
            found: nr.found.clone(),
            expected: "a SQLite database (a regular file)",
        };
    }
    if e.kind() == std::io::ErrorKind::NotFound && !thrum_io::regular::exists_at_all(path) {
        return InputError::MissingDatabase { path: shown.to_path_buf() };
    }
    InputError::io(shown, e)
}
