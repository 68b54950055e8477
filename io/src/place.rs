//! Files placed where others may write too, never replacing anything: a
//! directory shared by independent runs (the slices of a job array
//! writing into one lake) where each file is written once and a retried
//! run writes the same bytes again.
//!
//! * [`rename_new`]: a rename that fails with `AlreadyExists` instead of
//!   replacing (`renameat2(RENAME_NOREPLACE)`; where the filesystem has no
//!   such rename, a hard link then the removal of the source);
//! * [`move_new`]: a finished file moved into place, or, when the
//!   destination exists, accepted if it holds the same bytes
//!   ([`Placed::Same`]) and refused if not ([`PlaceError::Differs`]);
//! * [`write_new`]: bytes written to a registered temporary beside the
//!   destination ([`crate::cleanup`]), synced, then placed the same way.
//!
//! Whatever happens, a file already at the destination is never changed.

use crate::text::shown_path;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What placing a file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// The file is now at the destination.
    New,
    /// The destination already held the same bytes; nothing changed there.
    Same,
}

/// Why a file was not placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// The destination exists with other bytes (a refusal: never replaced).
    #[error("{} already exists with other bytes (it is never replaced)", shown_path(.path))]
    Differs {
        /// The destination.
        path: PathBuf,
    },
    /// The destination exists and is not a regular file (a refusal).
    #[error(
        "{} already exists and is {kind}, not a regular file (it is never replaced)",
        shown_path(.path)
    )]
    NotRegular {
        /// The destination.
        path: PathBuf,
        /// What it is.
        kind: String,
    },
    /// A filesystem operation failed.
    #[error("cannot {op} {}: {source}", shown_path(.path))]
    Io {
        /// What was being done.
        op: &'static str,
        /// Its path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl PlaceError {
    /// A refusal of what is at the destination (not a failure of the disk).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, PlaceError::Io { .. })
    }
}

fn io_err<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> PlaceError + 'p {
    move |source| PlaceError::Io { op, path: path.to_path_buf(), source }
}

/// Renames `src` to `dest` unless `dest` exists (then `AlreadyExists`).
pub fn rename_new(src: &Path, dest: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, src, CWD, dest, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    // no such rename here: a link fails when `dest` exists
    std::fs::hard_link(src, dest)?;
    std::fs::remove_file(src)
}

/// Moves the finished file `src` (the caller's, on the same filesystem) to
/// `dest`, never replacing: when `dest` exists with the same bytes, `src`
/// is removed and [`Placed::Same`] returned; with other bytes (or not a
/// regular file) it is refused and `src` stays.
pub fn move_new(src: &Path, dest: &Path) -> Result<Placed, PlaceError> {
    match rename_new(src, dest) {
        Ok(()) => Ok(Placed::New),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            judge_existing(src, dest)?;
            std::fs::remove_file(src).map_err(io_err("remove", src))?;
            Ok(Placed::Same)
        }
        Err(e) => Err(io_err("move into place", dest)(e)),
    }
}

/// Writes `bytes` as `dest` through a registered temporary beside it
/// (synced before it is placed), never replacing: as [`move_new`].
pub fn write_new(dest: &Path, bytes: &[u8]) -> Result<Placed, PlaceError> {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.tmp-", crate::cleanup::temp_stem(&name));
    let _ = crate::cleanup::collect_stale(dir, &prefix);
    let mut tmp = crate::cleanup::temp_file_in_mode(dir, &prefix, 0o644)
        .map_err(io_err("create a temporary in", dir))?;
    let tmp_path = tmp.path().to_path_buf();
    tmp.write_all(bytes).map_err(io_err("write", &tmp_path))?;
    tmp.as_file().sync_all().map_err(io_err("sync", &tmp_path))?;
    match tmp.persist_new(dest) {
        Ok(_) => {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(Placed::New)
        }
        // the temporary is removed when `tmp` goes
        Err((e, tmp)) if e.kind() == io::ErrorKind::AlreadyExists => {
            judge_existing(tmp.path(), dest)?;
            Ok(Placed::Same)
        }
        Err((e, _)) => Err(io_err("move into place", dest)(e)),
    }
}

/// `Ok` when `dest` is a regular file with the bytes of `ours`.
fn judge_existing(ours: &Path, dest: &Path) -> Result<(), PlaceError> {
    let theirs = match crate::regular::open_regular(dest) {
        Ok(f) => f,
        Err(e) if crate::regular::not_regular(&e).is_some() => {
            let kind =
                crate::regular::describe(dest).unwrap_or_else(|| "not a regular file".into());
            return Err(PlaceError::NotRegular { path: dest.to_path_buf(), kind });
        }
        Err(e) => return Err(io_err("open", dest)(e)),
    };
    let mine = crate::regular::open_regular(ours).map_err(io_err("open", ours))?;
    if same_bytes(mine, theirs).map_err(io_err("read", dest))? {
        Ok(())
    } else {
        Err(PlaceError::Differs { path: dest.to_path_buf() })
    }
}

fn same_bytes(mut a: File, mut b: File) -> io::Result<bool> {
    if a.metadata()?.len() != b.metadata()?.len() {
        return Ok(false);
    }
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn written_once_then_the_same_bytes_accepted_and_others_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("log.json");
        assert_eq!(write_new(&dest, b"one\n").unwrap(), Placed::New);
        assert_eq!(write_new(&dest, b"one\n").unwrap(), Placed::Same);
        let e = write_new(&dest, b"two\n").unwrap_err();
        assert!(matches!(&e, PlaceError::Differs { path } if path == &dest), "{e}");
        assert!(e.is_refusal());
        // a longer file that begins the same is other bytes too
        assert!(matches!(write_new(&dest, b"one\nmore\n"), Err(PlaceError::Differs { .. })));
        assert_eq!(std::fs::read(&dest).unwrap(), b"one\n");
        // no temporary or marker left
        assert_eq!(names(tmp.path()), ["log.json"]);
    }

    #[test]
    fn a_moved_file_replaces_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dest) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::write(&src, "x").unwrap();
        assert_eq!(move_new(&src, &dest).unwrap(), Placed::New);
        assert!(!src.exists());
        std::fs::write(&src, "x").unwrap();
        assert_eq!(move_new(&src, &dest).unwrap(), Placed::Same);
        assert!(!src.exists(), "the identical source is removed");
        std::fs::write(&src, "y").unwrap();
        assert!(matches!(move_new(&src, &dest), Err(PlaceError::Differs { .. })));
        assert_eq!(
            (std::fs::read(&src).unwrap(), std::fs::read(&dest).unwrap()),
            (b"y".to_vec(), b"x".to_vec())
        );
        // a directory in the way is refused, named
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        let e = move_new(&src, &tmp.path().join("d")).unwrap_err();
        assert!(matches!(&e, PlaceError::NotRegular { kind, .. } if kind == "a directory"), "{e}");
    }

    #[test]
    fn rename_new_never_renames_over_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dest) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::write(&src, "x").unwrap();
        std::fs::write(&dest, "old").unwrap();
        let e = rename_new(&src, &dest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
    }
}
