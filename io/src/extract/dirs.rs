//! The modes of extracted directories, narrowed once every entry is written.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The modes of the directories extracted, applied once every entry is
/// written. A directory is created with its archive bits plus the owner's
/// `rwx` (so entries can be written below it whatever its mode), narrowed
/// by the umask; at the end it gets what it was created with, intersected
/// with the archive's bits: the archive's bits narrowed by the umask, never
/// more. An implicit parent (no entry of its own) keeps the default mode.
#[derive(Default)]
pub(super) struct DirModes {
    /// (directory, its final mode, its entry as shown) for those whose
    /// mode must still narrow.
    pending: Vec<(PathBuf, u32, String)>,
}

impl DirModes {
    /// Creates the directory `dir` (or finds it, when an earlier entry
    /// created it as a parent) and records its final mode.
    pub(super) fn create(&mut self, dir: &Path, perm: u32, entry: &str) -> io::Result<()> {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent)?;
        }
        match fs::DirBuilder::new().mode(perm | 0o700).create(dir) {
            Ok(()) => {}
            Err(e)
                if e.kind() == io::ErrorKind::AlreadyExists && dir.symlink_metadata()?.is_dir() => {
            }
            Err(e) => return Err(e),
        }
        let now = dir.symlink_metadata()?.permissions().mode() & 0o777;
        if now & perm != now {
            self.pending.push((dir.to_path_buf(), now & perm, entry.to_owned()));
        }
        Ok(())
    }

    /// Narrows every recorded directory, deepest first (so a directory
    /// without search permission is narrowed after what is below it).
    pub(super) fn apply(mut self) -> Result<(), (String, io::Error)> {
        self.pending.sort_by_key(|(dir, _, _)| std::cmp::Reverse(dir.components().count()));
        for (dir, mode, entry) in self.pending {
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(|e| (entry, e))?;
        }
        Ok(())
    }
}
