//! The scratch directory of a benchmark.

use crate::error::{IoContext, Result};
use std::path::{Path, PathBuf};

/// A scratch directory created fresh inside a given directory (itself
/// created when absent): `DIR/testgen-bench-<pid>-<random>`, registered so
/// that an interrupt removes it ([`thrum_io::cleanup`]); those of runs that
/// no longer exist are removed when the next one starts. Dropping it removes
/// that directory only, and DIR when this created it and it is empty again;
/// nothing else in DIR is touched.
#[derive(Debug)]
pub struct WorkDir {
    dir: thrum_io::cleanup::TempDir,
    created_parent: Option<PathBuf>,
}

const WORK_PREFIX: &str = "testgen-bench-";

impl WorkDir {
    /// Creates the scratch directory in `parent` (see [`WorkDir`]).
    pub fn create(parent: &Path) -> Result<WorkDir> {
        let created_parent = match std::fs::metadata(parent) {
            Ok(m) if m.is_dir() => None,
            Ok(_) => {
                return Err(crate::Error::Usage(format!(
                    "--work {} is not a directory",
                    thrum_io::text::shown_path(parent)
                )))
            }
            Err(_) if std::fs::symlink_metadata(parent).is_ok() => {
                return Err(crate::Error::Usage(format!(
                    "--work {} is a dangling symbolic link",
                    thrum_io::text::shown_path(parent)
                )))
            }
            Err(_) => {
                std::fs::create_dir_all(parent).ctx("create directory", parent)?;
                Some(parent.to_path_buf())
            }
        };
        let _ = thrum_io::cleanup::collect_stale(parent, WORK_PREFIX);
        let dir =
            thrum_io::cleanup::temp_dir_in(parent, WORK_PREFIX).ctx("create directory", parent)?;
        Ok(WorkDir { dir, created_parent })
    }

    /// The scratch directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        // the TempDir removes the scratch directory when it is dropped, right
        // after this; the parent is removed afterwards, if this created it
        if let Some(p) = self.created_parent.take() {
            let dir = self.dir.path().to_path_buf();
            if thrum_io::tree::remove_dir_all(&dir).is_ok() {
                // its ownership marker beside it, only once it is gone
                let _ = thrum_io::cleanup::remove_marker(&dir);
            }
            let _ = std::fs::remove_dir(p);
        }
    }
}
