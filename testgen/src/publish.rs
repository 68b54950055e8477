//! Atomic publication: a run builds everything in a temporary directory
//! beside the destination, then swaps it into place in one step, so the
//! destination is always either the previous complete output or the new one.

use crate::error::{IoContext, Result};
use std::path::{Path, PathBuf};

/// A temporary directory beside `dest`, removed on drop unless published.
pub struct Staging {
    pub dir: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl Staging {
    pub fn new(dest: &Path) -> Result<Staging> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).ctx("create directory", &parent)?;
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        remove_stale(&parent, &name);
        let dir = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).ctx("remove stale", &dir)?;
        }
        std::fs::create_dir(&dir).ctx("create directory", &dir)?;
        Ok(Staging { dir, dest: dest.to_path_buf(), done: false })
    }

    /// Swaps the staged directory into place and removes the previous one.
    pub fn publish(mut self) -> Result<()> {
        sync_dir(&self.dir);
        swap_into_place(&self.dir, &self.dest)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Moves `src` to `dest` atomically: exchanged with an existing `dest` (then
/// the old one is deleted), or renamed when `dest` does not exist. When
/// another run publishes `dest` between the check and the rename (the rename
/// then fails: the directory is not empty), the exchange is used instead, so
/// concurrent runs all succeed and the last one's output stays.
pub fn swap_into_place(src: &Path, dest: &Path) -> Result<()> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        if dest.exists() {
            return exchange(src, dest);
        }
        match std::fs::rename(src, dest) {
            Ok(()) => return Ok(()),
            Err(e)
                if attempts < 8
                    && dest.exists()
                    && matches!(e.kind(), std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists) => {}
            Err(e) => return Err(e).ctx("rename into place", dest),
        }
    }
}

/// Exchanges `src` with the existing `dest`, then deletes the previous output.
fn exchange(src: &Path, dest: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, src, CWD, dest, RenameFlags::EXCHANGE) {
            Ok(()) => {
                // `src` now holds the previous output.
                std::fs::remove_dir_all(src).ctx("remove previous output", src)?;
                return Ok(());
            }
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(std::io::Error::from(e)).ctx("swap into place", dest),
        }
    }
    // Portable fallback: two renames (a short window without `dest`).
    let old = src.with_extension("old");
    std::fs::rename(dest, &old).ctx("move aside", dest)?;
    std::fs::rename(src, dest).ctx("rename into place", dest)?;
    std::fs::remove_dir_all(&old).ctx("remove previous output", &old)?;
    Ok(())
}

/// Removes temporaries of runs that died (their process no longer exists).
fn remove_stale(parent: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return; // cannot tell live runs from dead ones here
    }
    let prefix = format!(".{name}.tmp-");
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let fname = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = fname.strip_prefix(&prefix).and_then(|p| p.split('.').next()).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}
