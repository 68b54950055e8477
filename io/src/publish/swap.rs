//! Staging beside the destination and the swap into place.

use super::found::refused;
use super::judge::{check, name_of, normalise, parent_of};
use super::{Accepted, Policy, PublishContext, PublishError, Result};
use crate::identity::Named;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Name of the temporary of process `pid` beside `NAME` (a long `NAME`
/// shortened: [`crate::cleanup::temp_stem`]).
pub(super) fn temporary_name(name: &str, pid: u32) -> String {
    format!(".{}.tmp-{pid}", crate::cleanup::temp_stem(name))
}

/// The pid of a temporary beside `name`, when `entry` is named exactly
/// `.NAME.tmp-PID` or `.NAME.tmp-PID.old`.
pub fn temporary_pid(entry: &str, name: &str) -> Option<u32> {
    let rest = entry
        .strip_prefix('.')?
        .strip_prefix(crate::cleanup::temp_stem(name).as_str())?
        .strip_prefix(".tmp-")?;
    let digits = rest.strip_suffix(".old").unwrap_or(rest);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// A temporary directory beside `dest`, removed on drop unless published.
pub struct Staging {
    /// The staging directory: build the output here.
    pub dir: PathBuf,
    dest: PathBuf,
    policy: Policy,
    done: bool,
    /// Removes the staging directory on SIGINT/SIGTERM/SIGHUP (when the
    /// binary installed [`crate::cleanup::install_signal_handlers`]);
    /// released just before the swap.
    interrupt: Option<crate::cleanup::Registration>,
    /// The inputs `dest` must stay apart from, checked again right before
    /// the swap ([`Staging::apart_from`]).
    inputs: Vec<Named>,
}

impl Staging {
    /// Checks `dest` under `policy` (a refusal touches nothing), removes
    /// the temporaries of dead runs beside it, and creates the staging
    /// directory.
    pub fn new(dest: &Path, policy: Policy) -> Result<Staging> {
        Staging::apart_from(dest, policy, &[])
    }

    /// [`Staging::new`] for a command that reads `inputs`: `dest` (named
    /// by the policy's flag) is refused, before anything is written and
    /// again right before the swap, when it is the same as, inside or
    /// holding any of them ([`crate::identity::apart`]).
    pub fn apart_from(dest: &Path, policy: Policy, inputs: &[Named]) -> Result<Staging> {
        let dest = &normalise(dest);
        crate::identity::apart(&Named::new(policy.flag, dest), inputs)?;
        check(dest, &policy)?;
        let parent = parent_of(dest);
        std::fs::create_dir_all(&parent).ctx("create directory", &parent)?;
        let name = name_of(dest);
        remove_stale(&parent, &name);
        let pid = std::process::id();
        let dir = parent.join(temporary_name(&name, pid));
        if crate::cleanup::is_marked(&dir, pid) {
            // left by a dead process that had our pid (and proved it)
            remove_marked(&dir).ctx("remove stale", &dir)?;
        }
        if std::fs::symlink_metadata(&dir).is_ok() {
            // not ours: never touched
            return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
                .ctx("create directory", &dir);
        }
        // the marker first: a crash leaves no directory without it
        crate::cleanup::write_marker(&dir)
            .ctx("create directory", &crate::cleanup::marker_path(&dir))?;
        if let Err(e) = std::fs::create_dir(&dir) {
            let _ = crate::cleanup::remove_marker(&dir);
            return Err(e).ctx("create directory", &dir);
        }
        let interrupt = Some(crate::cleanup::register_dir(&dir));
        Ok(Staging {
            dir,
            dest: dest.to_path_buf(),
            policy,
            done: false,
            interrupt,
            inputs: inputs.to_vec(),
        })
    }

    /// Swaps the staged directory into place and removes the previous
    /// output (checked again first: refused if it changed into something
    /// that may not be replaced).
    pub fn publish(mut self) -> Result<()> {
        // an input may have been moved or linked into place meanwhile
        crate::identity::apart(&Named::new(self.policy.flag, &self.dest), &self.inputs)?;
        sync_dir(&self.dir);
        // from here the staging path may hold the previous output: an
        // interrupt must not remove it (a dead run's is collected by the next)
        self.interrupt = None;
        let r = swap_into_place(&self.dir, &self.dest, &self.policy);
        if r.is_ok() || matches!(r, Err(PublishError::Displaced { .. })) {
            // published, or the staging directory now holds what was at
            // the destination: never delete that, and let no later run
            // collect it (its marker goes)
            self.done = true;
            let _ = crate::cleanup::remove_marker(&self.dir);
        }
        r
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            // the marker only once the directory is gone
            if crate::tree::remove_dir_all(&self.dir).is_ok()
                || std::fs::symlink_metadata(&self.dir).is_err()
            {
                let _ = crate::cleanup::remove_marker(&self.dir);
            }
        }
    }
}

/// Removes a marked staging directory, the `.old` beside it, then the marker.
fn remove_marked(dir: &Path) -> std::io::Result<()> {
    for d in [dir.to_path_buf(), old_of(dir)] {
        match std::fs::symlink_metadata(&d) {
            Ok(m) if m.is_dir() => crate::tree::remove_dir_all(&d)?,
            // a file or link in its place is not ours
            Ok(_) => return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists)),
            Err(_) => {}
        }
    }
    crate::cleanup::remove_marker(dir)
}

fn old_of(src: &Path) -> PathBuf {
    let mut old = OsString::from(src.as_os_str());
    old.push(".old");
    PathBuf::from(old)
}

/// Moves `src` to `dest` atomically when `policy` allows replacing `dest`:
/// renamed when `dest` does not exist, else exchanged with it (then the
/// previous output is deleted). When another run publishes `dest` between
/// the check and the rename (the rename then fails: the directory is not
/// empty), the exchange is used instead, so concurrent runs all succeed and
/// the last one's output stays.
pub fn swap_into_place(src: &Path, dest: &Path, policy: &Policy) -> Result<()> {
    let dest = &normalise(dest);
    let mut attempts = 0;
    loop {
        attempts += 1;
        if check(dest, policy)? != Accepted::Absent {
            return exchange(src, dest, policy);
        }
        match std::fs::rename(src, dest) {
            Ok(()) => return Ok(()),
            Err(e)
                if attempts < 8
                    && std::fs::symlink_metadata(dest).is_ok()
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
                    ) => {}
            Err(e) => return Err(e).ctx("rename into place", dest),
        }
    }
}

/// Exchanges `src` with the existing `dest`, then deletes the previous
/// output once it passes the policy again (else puts it back).
pub(super) fn exchange(src: &Path, dest: &Path, policy: &Policy) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, src, CWD, dest, RenameFlags::EXCHANGE) {
            // `src` now holds the previous output.
            Ok(()) => {
                return remove_previous(src, dest, policy, || {
                    renameat_with(CWD, src, CWD, dest, RenameFlags::EXCHANGE)
                        .map_err(std::io::Error::from)
                });
            }
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(std::io::Error::from(e)).ctx("swap into place", dest),
        }
    }
    // Portable fallback: two renames (a short window without `dest`).
    let old = old_of(src);
    std::fs::rename(dest, &old).ctx("move aside", dest)?;
    if let Err(e) = std::fs::rename(src, dest) {
        let _ = std::fs::rename(&old, dest);
        return Err(e).ctx("rename into place", dest);
    }
    remove_previous(&old, dest, policy, || {
        std::fs::rename(dest, src)?;
        std::fs::rename(&old, dest)
    })
}

/// Deletes `prev`, what the swap moved aside from `dest`, when it is still
/// empty or recognised; otherwise runs `put_back` and refuses. What cannot
/// be put back is kept under a name the stale-temporary sweep never matches.
pub(super) fn remove_previous(
    prev: &Path,
    dest: &Path,
    policy: &Policy,
    put_back: impl FnOnce() -> std::io::Result<()>,
) -> Result<()> {
    let mut attempts = 0;
    let failed = loop {
        attempts += 1;
        match check(prev, policy) {
            Ok(Accepted::Absent) => return Ok(()),
            Ok(Accepted::Empty) => match std::fs::remove_dir(prev) {
                // something appeared in it meanwhile: judge it again
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty && attempts < 4 => {
                    continue
                }
                r => return r.ctx("remove previous output", prev),
            },
            Ok(Accepted::Ours) => {
                return crate::tree::remove_dir_all(prev).ctx("remove previous output", prev)
            }
            Err(PublishError::Refused { found, .. }) => break refused(dest, found, policy),
            Err(e) => break e,
        }
    };
    match put_back() {
        Ok(()) => Err(failed),
        Err(source) => Err(PublishError::Displaced {
            path: dest.to_path_buf(),
            now_at: keep(prev, dest),
            source,
        }),
    }
}

/// Renames `prev` beside `dest` as `NAME.kept-PID` (not a temporary's
/// name, so no later run removes it); returns where it is.
fn keep(prev: &Path, dest: &Path) -> PathBuf {
    let kept = parent_of(dest).join(format!(
        "{}.kept-{}",
        crate::cleanup::temp_stem(&name_of(dest)),
        std::process::id()
    ));
    if std::fs::symlink_metadata(&kept).is_err() && std::fs::rename(prev, &kept).is_ok() {
        kept
    } else {
        prev.to_path_buf()
    }
}

/// Removes temporaries of runs that died (their process no longer exists)
/// and proved they made them: directories (never links) named exactly
/// `.NAME.tmp-PID` or `.NAME.tmp-PID.old` whose marker
/// `.NAME.tmp-PID.thrum-io-owner` names them and PID (see
/// [`crate::cleanup::is_marked`]); then the marker. Look-alikes without
/// the marker are left untouched.
pub(super) fn remove_stale(parent: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return; // cannot tell live runs from dead ones here
    }
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let file = e.file_name();
        let Some(temp) = file.to_str().and_then(|f| f.strip_suffix(crate::cleanup::MARKER_SUFFIX))
        else {
            continue;
        };
        let Some(pid) = temporary_pid(temp, name) else { continue };
        if temp.ends_with(".old")
            || pid == std::process::id()
            || Path::new(&format!("/proc/{pid}")).exists()
        {
            continue;
        }
        let dir = parent.join(temp);
        if crate::cleanup::is_marked(&dir, pid) {
            let _ = remove_marked(&dir);
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}
