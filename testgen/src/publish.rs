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

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Why a publication stopped.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The destination holds something the tool may not replace; nothing
    /// was touched.
    #[error("refusing to replace {}: {found}; {advice}", shown_path(.path))]
    Refused { path: PathBuf, found: Found, advice: String },
    #[error("{action} {}: {source}", shown_path(.path))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The swap moved aside something that was not an output of the tool
    /// (it changed during the swap) and could not put it back: it is kept,
    /// not deleted, at `now_at`.
    #[error("{} changed while it was being replaced and could not be put back: it is kept at {} ({source})", shown_path(.path), shown_path(.now_at))]
    Displaced {
        path: PathBuf,
        now_at: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PublishError {
    /// True when the destination was refused (the request, not the
    /// machine, is at fault).
    pub fn is_refusal(&self) -> bool {
        matches!(self, PublishError::Refused { .. })
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

trait Ctx<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T>;
}

impl<T> Ctx<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| PublishError::Io { action, path: path.to_path_buf(), source })
    }
}

/// What is at a destination that may not be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The path names no directory entry (`.`, `..`, `/`).
    NoName,
    /// The destination's parent exists and is not a directory.
    ParentNotDirectory(PathBuf),
    Symlink { target: Option<PathBuf> },
    File { size: u64 },
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    /// Some other kind of file.
    Special,
    /// Another file system is mounted there.
    MountPoint,
    /// Another file system is mounted on a directory below it.
    MountBelow(PathBuf),
    /// Entries the tool did not write.
    Foreign { tool: &'static str, entries: Entries },
    /// Not recognisably an output of the tool, for `reason`.
    NotOurs { tool: &'static str, reason: String },
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::NoName => write!(f, "it does not name a directory entry"),
            Found::ParentNotDirectory(p) => write!(f, "{} is not a directory", shown_path(p)),
            Found::Symlink { target: Some(t) } => write!(f, "it is a symbolic link (to {})", shown_path(t)),
            Found::Symlink { target: None } => write!(f, "it is a symbolic link"),
            Found::File { size } => write!(f, "it is a regular file ({size} bytes)"),
            Found::CharDevice => write!(f, "it is a character device"),
            Found::BlockDevice => write!(f, "it is a block device"),
            Found::Fifo => write!(f, "it is a named pipe (FIFO)"),
            Found::Socket => write!(f, "it is a socket"),
            Found::Special => write!(f, "it is not a regular file, a directory or a link"),
            Found::MountPoint => write!(f, "it is a mount point (another file system is mounted there)"),
            Found::MountBelow(p) => write!(f, "another file system is mounted on {} inside it", shown_path(p)),
            Found::Foreign { tool, entries } => write!(f, "it holds files {tool} did not write ({entries})"),
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

    pub fn new() -> Entries {
        Entries::default()
    }
    pub fn add(&mut self, name: impl Into<String>) {
        self.total += 1;
        self.first.insert(name.into());
        if self.first.len() > Self::KEEP {
            self.first.pop_last();
        }
    }
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
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
    Absent,
    Empty,
    /// A previous output of the same kind.
    Ours,
}

/// Decides whether `dest` may be replaced under `policy`; touches nothing.
pub fn check(dest: &Path, policy: &Policy) -> Result<Accepted> {
    judge(&normalise(dest), policy, &|p: &Path| device_of(p))
}

/// `dest` without a trailing `/` or `/.` (with one, the system would
/// follow a link where the destination's own entry is meant).
fn normalise(dest: &Path) -> PathBuf {
    dest.components().collect()
}

/// The device of the directory `p` resolves to.
fn device_of(p: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).map(|m| m.dev())
}

/// [`check`] with the parent's device given by `parent_dev` (tests inject
/// another device to see a mount point). A refusal stands only when the
/// destination is still the same entry afterwards: when another run swapped
/// it meanwhile, what was read may have been the previous directory being
/// deleted, so the judgment is made again.
fn judge(dest: &Path, policy: &Policy, parent_dev: &dyn Fn(&Path) -> std::io::Result<u64>) -> Result<Accepted> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let before = identity(dest);
        let r = no_mount_below(dest, policy, judge_once(dest, policy, parent_dev));
        if r.is_ok() || attempts >= 8 || identity(dest) == before {
            return r;
        }
    }
}

/// Device and inode of the entry `p` itself, if any.
fn identity(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

fn judge_once(dest: &Path, policy: &Policy, parent_dev: &dyn Fn(&Path) -> std::io::Result<u64>) -> Result<Accepted> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let refuse = |found: Found| Err(refused(dest, found, policy));
    if dest.file_name().is_none() {
        return refuse(Found::NoName);
    }
    let parent = parent_of(dest);
    let meta = match std::fs::symlink_metadata(dest) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match non_directory_ancestor(dest) {
                Some(a) => refuse(Found::ParentNotDirectory(a)),
                None => Ok(Accepted::Absent),
            };
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return refuse(Found::ParentNotDirectory(non_directory_ancestor(dest).unwrap_or(parent))),
        Err(e) => return Err(e).ctx("inspect", dest),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        return refuse(Found::Symlink { target: std::fs::read_link(dest).ok() });
    }
    if !ft.is_dir() {
        return refuse(if ft.is_file() {
            Found::File { size: meta.len() }
        } else if ft.is_char_device() {
            Found::CharDevice
        } else if ft.is_block_device() {
            Found::BlockDevice
        } else if ft.is_fifo() {
            Found::Fifo
        } else if ft.is_socket() {
            Found::Socket
        } else {
            Found::Special
        });
    }
    let pdev = parent_dev(&parent).ctx("inspect", &parent)?;
    if is_mount_point(meta.dev(), pdev, thrum_io::tree::mount_root(dest)) {
        return refuse(Found::MountPoint);
    }
    let mut rd = std::fs::read_dir(dest).ctx("read directory", dest)?;
    if rd.next().is_none() {
        return Ok(Accepted::Empty);
    }
    match (policy.recognise)(dest) {
        Ok(()) => Ok(Accepted::Ours),
        Err(Unrecognised::Foreign(entries)) => refuse(Found::Foreign { tool: policy.tool, entries }),
        Err(Unrecognised::Not(reason)) => refuse(Found::NotOurs { tool: policy.tool, reason }),
    }
}

/// A previous output may be replaced only when nothing is mounted inside
/// it: deleting it would delete what lies on the other file system.
fn no_mount_below(dest: &Path, policy: &Policy, found: Result<Accepted>) -> Result<Accepted> {
    if let Ok(Accepted::Ours) = found {
        if let Some(m) = thrum_io::tree::mount_point_below(dest).ctx("inspect", dest)? {
            return Err(refused(dest, Found::MountBelow(m), policy));
        }
    }
    found
}

/// The nearest existing ancestor of `dest` when it is not a directory.
fn non_directory_ancestor(dest: &Path) -> Option<PathBuf> {
    dest.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).find_map(|a| std::fs::metadata(a).ok().map(|m| (a, m))).and_then(|(a, m)| (!m.is_dir()).then(|| a.to_path_buf()))
}

/// A directory is a mount point when its device differs from its parent's,
/// or when the kernel says so (`mount_root`: bind mounts of the same file
/// system share the device).
fn is_mount_point(dev: u64, parent_dev: u64, mount_root: Option<bool>) -> bool {
    dev != parent_dev || mount_root == Some(true)
}

fn refused(dest: &Path, found: Found, policy: &Policy) -> PublishError {
    let flag = policy.flag;
    let advice = match &found {
        Found::NoName => format!("give {flag} a path that ends in a directory name"),
        Found::ParentNotDirectory(_) => format!("choose another {flag}"),
        Found::Symlink { .. } => format!("choose another {flag} (the link's target itself, if it is an output of {}) or remove the link yourself", policy.tool),
        Found::MountPoint => format!("choose another {flag} (a directory inside the mount point will do)"),
        _ => format!("choose another {flag} or remove it yourself"),
    };
    PublishError::Refused { path: dest.to_path_buf(), found, advice }
}

/// The directory that holds `dest`'s entry.
fn parent_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `dest`'s entry name, for the temporaries beside it.
fn name_of(dest: &Path) -> String {
    dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into())
}

/// Name of the temporary of process `pid` beside `NAME`.
fn temporary_name(name: &str, pid: u32) -> String {
    format!(".{name}.tmp-{pid}")
}

/// The pid of a temporary beside `name`, when `entry` is named exactly
/// `.NAME.tmp-PID` or `.NAME.tmp-PID.old`.
pub fn temporary_pid(entry: &str, name: &str) -> Option<u32> {
    let rest = entry.strip_prefix('.')?.strip_prefix(name)?.strip_prefix(".tmp-")?;
    let digits = rest.strip_suffix(".old").unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    digits.parse().ok()
}

/// A temporary directory beside `dest`, removed on drop unless published.
pub struct Staging {
    pub dir: PathBuf,
    dest: PathBuf,
    policy: Policy,
    done: bool,
    /// Removes the staging directory on SIGINT/SIGTERM/SIGHUP (when the
    /// binary installed [`thrum_io::cleanup::install_signal_handlers`]);
    /// released just before the swap.
    interrupt: Option<thrum_io::cleanup::Registration>,
}

impl Staging {
    /// Checks `dest` under `policy` (a refusal touches nothing), removes
    /// the temporaries of dead runs beside it, and creates the staging
    /// directory.
    pub fn new(dest: &Path, policy: Policy) -> Result<Staging> {
        let dest = &normalise(dest);
        check(dest, &policy)?;
        let parent = parent_of(dest);
        std::fs::create_dir_all(&parent).ctx("create directory", &parent)?;
        let name = name_of(dest);
        remove_stale(&parent, &name);
        let dir = parent.join(temporary_name(&name, std::process::id()));
        match std::fs::symlink_metadata(&dir) {
            // left by a dead process that had our pid
            Ok(m) if m.is_dir() => thrum_io::tree::remove_dir_all(&dir).ctx("remove stale", &dir)?,
            Ok(_) => return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists)).ctx("create directory", &dir),
            Err(_) => {}
        }
        std::fs::create_dir(&dir).ctx("create directory", &dir)?;
        let interrupt = Some(thrum_io::cleanup::register_dir(&dir));
        Ok(Staging { dir, dest: dest.to_path_buf(), policy, done: false, interrupt })
    }

    /// Swaps the staged directory into place and removes the previous
    /// output (checked again first: refused if it changed into something
    /// that may not be replaced).
    pub fn publish(mut self) -> Result<()> {
        sync_dir(&self.dir);
        // from here the staging path may hold the previous output: an
        // interrupt must not remove it (a dead run's is collected by the next)
        self.interrupt = None;
        let r = swap_into_place(&self.dir, &self.dest, &self.policy);
        if r.is_ok() || matches!(r, Err(PublishError::Displaced { .. })) {
            // published, or the staging directory now holds what was at
            // the destination: never delete that
            self.done = true;
        }
        r
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = thrum_io::tree::remove_dir_all(&self.dir);
        }
    }
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
                    && matches!(e.kind(), std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists) => {}
            Err(e) => return Err(e).ctx("rename into place", dest),
        }
    }
}

/// Exchanges `src` with the existing `dest`, then deletes the previous
/// output once it passes the policy again (else puts it back).
fn exchange(src: &Path, dest: &Path, policy: &Policy) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, src, CWD, dest, RenameFlags::EXCHANGE) {
            // `src` now holds the previous output.
            Ok(()) => {
                return remove_previous(src, dest, policy, || renameat_with(CWD, src, CWD, dest, RenameFlags::EXCHANGE).map_err(std::io::Error::from));
            }
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(std::io::Error::from(e)).ctx("swap into place", dest),
        }
    }
    // Portable fallback: two renames (a short window without `dest`).
    let mut old = OsString::from(src.as_os_str());
    old.push(".old");
    let old = PathBuf::from(old);
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
fn remove_previous(prev: &Path, dest: &Path, policy: &Policy, put_back: impl FnOnce() -> std::io::Result<()>) -> Result<()> {
    let mut attempts = 0;
    let failed = loop {
        attempts += 1;
        match check(prev, policy) {
            Ok(Accepted::Absent) => return Ok(()),
            Ok(Accepted::Empty) => match std::fs::remove_dir(prev) {
                // something appeared in it meanwhile: judge it again
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty && attempts < 4 => continue,
                r => return r.ctx("remove previous output", prev),
            },
            Ok(Accepted::Ours) => return thrum_io::tree::remove_dir_all(prev).ctx("remove previous output", prev),
            Err(PublishError::Refused { found, .. }) => break refused(dest, found, policy),
            Err(e) => break e,
        }
    };
    match put_back() {
        Ok(()) => Err(failed),
        Err(source) => Err(PublishError::Displaced { path: dest.to_path_buf(), now_at: keep(prev, dest), source }),
    }
}

/// Renames `prev` beside `dest` as `NAME.kept-PID` (not a temporary's
/// name, so no later run removes it); returns where it is.
fn keep(prev: &Path, dest: &Path) -> PathBuf {
    let kept = parent_of(dest).join(format!("{}.kept-{}", name_of(dest), std::process::id()));
    if std::fs::symlink_metadata(&kept).is_err() && std::fs::rename(prev, &kept).is_ok() {
        kept
    } else {
        prev.to_path_buf()
    }
}

/// Removes temporaries of runs that died (their process no longer exists):
/// only directories (never links) named exactly `.NAME.tmp-PID` or
/// `.NAME.tmp-PID.old`.
fn remove_stale(parent: &Path, name: &str) {
    sweep(parent, name, true)
}

/// [`remove_stale`] for temporary files: only regular files (never links)
/// named exactly `.NAME.tmp-PID` (or `.NAME.tmp-PID.old`) of dead runs.
pub fn remove_stale_files(parent: &Path, name: &str) {
    sweep(parent, name, false)
}

fn sweep(parent: &Path, name: &str, dirs: bool) {
    if !Path::new("/proc/self").exists() {
        return; // cannot tell live runs from dead ones here
    }
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|f| temporary_pid(f, name)) else { continue };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        match e.file_type() {
            Ok(t) if dirs && t.is_dir() => {
                let _ = thrum_io::tree::remove_dir_all(&e.path());
            }
            Ok(t) if !dirs && t.is_file() => {
                let _ = std::fs::remove_file(e.path());
            }
            _ => {}
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// A name from the file system as it may be printed: control characters
/// escaped (a name with a newline or an ANSI escape cannot forge output).
pub fn shown_name(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    s
}

/// A path as it may be printed (see [`shown_name`]).
pub fn shown_path(p: &Path) -> String {
    shown_name(&p.to_string_lossy())
}

/// Helpers for recognisers: which entries of a directory tree are not in
/// the set of files a tool writes.
pub mod listing {
    use super::{Entries, HashSet};
    use std::path::Path;

    /// Walks `dir` without following links and adds to `foreign` every
    /// entry that is not a regular file in `files` (relative paths with
    /// `/`): a directory is entered when some file of `files` lies below
    /// it, passes when empty, and is reported whole (`name/`) otherwise.
    /// An unreadable directory is an error (the caller refuses).
    pub fn foreign_entries(dir: &Path, files: &HashSet<String>, foreign: &mut Entries) -> Result<(), String> {
        let mut dirs = HashSet::new();
        for f in files {
            let mut at = f.as_str();
            while let Some((d, _)) = at.rsplit_once('/') {
                if !dirs.insert(d.to_string()) {
                    break;
                }
                at = d;
            }
        }
        walk(dir, "", files, &dirs, foreign)
    }

    fn walk(dir: &Path, rel: &str, files: &HashSet<String>, dirs: &HashSet<String>, foreign: &mut Entries) -> Result<(), String> {
        let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", super::shown_path(dir)))?;
        for e in rd {
            let e = e.map_err(|e| format!("cannot read {}: {e}", super::shown_path(dir)))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let ft = e.file_type().map_err(|err| format!("cannot inspect {}: {err}", super::shown_path(&e.path())))?;
            if ft.is_dir() {
                if dirs.contains(&path) {
                    walk(&e.path(), &path, files, dirs, foreign)?;
                } else if !is_empty_dir(&e.path()) {
                    foreign.add(format!("{path}/"));
                }
            } else if !(ft.is_file() && e.file_name().to_str().is_some() && files.contains(&path)) {
                foreign.add(path);
            }
        }
        Ok(())
    }

    /// True for a directory with no entries at all.
    pub fn is_empty_dir(p: &Path) -> bool {
        std::fs::read_dir(p).is_ok_and(|mut rd| rd.next().is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_ok(dir: &Path) -> Result<(), Unrecognised> {
        let mut foreign = Entries::new();
        let files: HashSet<String> = ["ok".to_string()].into();
        listing::foreign_entries(dir, &files, &mut foreign).map_err(Unrecognised::Not)?;
        if foreign.is_empty() {
            Ok(())
        } else {
            Err(Unrecognised::Foreign(foreign))
        }
    }

    const POLICY: Policy = Policy { tool: "tool", flag: "--out", recognise: only_ok };

    #[test]
    fn a_directory_on_another_device_than_its_parent_is_a_mount_point() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("ok"), "x").unwrap();
        assert_eq!(judge(&dest, &POLICY, &|p: &Path| device_of(p)).unwrap(), Accepted::Ours);
        let real = device_of(tmp.path()).unwrap();
        let e = judge(&dest, &POLICY, &|_: &Path| Ok(real + 1)).unwrap_err();
        match &e {
            PublishError::Refused { found: Found::MountPoint, path, .. } => assert_eq!(path, &dest),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().ends_with("it is a mount point (another file system is mounted there); choose another --out (a directory inside the mount point will do)"), "{e}");
        assert!(is_mount_point(5, 5, Some(true)));
        assert!(!is_mount_point(5, 5, Some(false)));
        assert!(!is_mount_point(5, 5, None));
        assert_eq!(std::fs::read(dest.join("ok")).unwrap(), b"x");
    }

    #[test]
    fn temporaries_match_the_naming_pattern_exactly() {
        assert_eq!(temporary_pid(".out.tmp-123", "out"), Some(123));
        assert_eq!(temporary_pid(".out.tmp-123.old", "out"), Some(123));
        for other in [".out.tmp-", ".out.tmp-12a", ".out.tmp-123.x", ".out.tmp-123.old.old", "out.tmp-1", ".outx.tmp-1", ".out.tmp-+1", ".out.tmp-01", ".out.tmp-99999999999"] {
            assert_eq!(temporary_pid(other, "out"), None, "{other}");
        }
        assert_eq!(temporary_pid("..thrum.tmp-7", ".thrum"), Some(7));
    }

    #[test]
    fn stale_temporaries_are_removed_only_when_they_are_directories_of_dead_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        // a pid that does not exist: above the kernel's limit
        let dead = 4_194_305u32;
        std::fs::create_dir(p.join(format!(".out.tmp-{dead}"))).unwrap();
        std::fs::write(p.join(format!(".out.tmp-{dead}/f")), "x").unwrap();
        std::fs::create_dir(p.join(format!(".out.tmp-{dead}.old"))).unwrap();
        std::fs::write(p.join(format!(".out.tmp-{}", dead + 1)), "a file").unwrap();
        let target = p.join("keep");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("precious"), "y").unwrap();
        std::os::unix::fs::symlink(&target, p.join(format!(".out.tmp-{}", dead + 2))).unwrap();
        std::fs::create_dir(p.join(format!(".out.tmp-{dead}x"))).unwrap();
        let live = std::process::id();
        std::fs::create_dir(p.join(format!(".out.tmp-{live}"))).unwrap();
        remove_stale(p, "out");
        let mut left: Vec<String> = std::fs::read_dir(p).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let mut want = vec![format!(".out.tmp-{}", dead + 1), format!(".out.tmp-{}", dead + 2), format!(".out.tmp-{dead}x"), format!(".out.tmp-{live}"), "keep".to_string()];
        want.sort();
        assert_eq!(left, want);
        assert_eq!(std::fs::read(target.join("precious")).unwrap(), b"y");
    }

    #[test]
    fn entries_show_three_names_or_two_and_a_count() {
        let mut e = Entries::new();
        for n in ["c", "a", "b"] {
            e.add(n);
        }
        assert_eq!(e.to_string(), "a, b, c");
        e.add("data/");
        e.add("README.md");
        assert_eq!(e.to_string(), "README.md, a, and 3 more");
        let mut e = Entries::new();
        e.add("bad\nname\u{1b}[0m");
        assert_eq!(e.to_string(), "bad\\nname\\u{1b}[0m");
    }

    #[test]
    fn a_destination_that_changed_during_the_run_is_refused_at_the_swap() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        let staging = Staging::new(&dest, POLICY).unwrap();
        std::fs::write(staging.dir.join("ok"), "new").unwrap();
        let staged = staging.dir.clone();
        // absent at the start; someone else's directory appears meanwhile
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("theirs"), "keep me").unwrap();
        let e = staging.publish().unwrap_err();
        assert_eq!(e.to_string(), format!("refusing to replace {}: it holds files tool did not write (theirs); choose another --out or remove it yourself", dest.display()));
        assert_eq!(e.exit_code(), 2);
        assert_eq!(std::fs::read(dest.join("theirs")).unwrap(), b"keep me");
        assert!(!staged.exists(), "the staging directory is removed");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["dest"]);
    }

    #[test]
    fn a_refused_destination_gets_no_staging_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("sub").join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join("theirs"), "keep me").unwrap();
        assert!(Staging::new(&dest, POLICY).is_err());
        let left: Vec<_> = std::fs::read_dir(tmp.path().join("sub")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["dest"]);
        // a path through a file: refused, and no directory is created
        let file = tmp.path().join("file");
        std::fs::write(&file, "f").unwrap();
        let e = Staging::new(&file.join("a").join("b"), POLICY).err().unwrap();
        assert!(matches!(&e, PublishError::Refused { found: Found::ParentNotDirectory(p), .. } if *p == file), "{e:?}");
        assert_eq!(std::fs::read(&file).unwrap(), b"f");
    }

    #[test]
    fn what_cannot_be_put_back_is_kept_under_a_name_no_run_removes() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        let prev = tmp.path().join(temporary_name("dest", std::process::id()));
        std::fs::create_dir(&prev).unwrap();
        std::fs::write(prev.join("theirs"), "keep me").unwrap();
        let e = remove_previous(&prev, &dest, &POLICY, || Err(std::io::Error::other("no way back"))).unwrap_err();
        let kept = tmp.path().join(format!("dest.kept-{}", std::process::id()));
        match &e {
            PublishError::Displaced { now_at, .. } => assert_eq!(now_at, &kept),
            other => panic!("{other:?}"),
        }
        assert_eq!(e.exit_code(), 1);
        assert_eq!(std::fs::read(kept.join("theirs")).unwrap(), b"keep me");
        remove_stale(tmp.path(), "dest");
        assert_eq!(std::fs::read(kept.join("theirs")).unwrap(), b"keep me");
    }

    #[test]
    fn what_the_swap_moved_aside_is_put_back_when_it_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dest) = (tmp.path().join("src"), tmp.path().join("dest"));
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("ok"), "new").unwrap();
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("ok"), "old").unwrap();
        // the destination changes after the check: a foreign file appears
        assert_eq!(check(&dest, &POLICY).unwrap(), Accepted::Ours);
        std::fs::write(dest.join("theirs"), "keep me").unwrap();
        let e = exchange(&src, &dest, &POLICY).unwrap_err();
        assert!(matches!(&e, PublishError::Refused { found: Found::Foreign { .. }, .. }), "{e:?}");
        assert_eq!(std::fs::read(dest.join("theirs")).unwrap(), b"keep me");
        assert_eq!(std::fs::read(dest.join("ok")).unwrap(), b"old");
        assert_eq!(std::fs::read(src.join("ok")).unwrap(), b"new");
    }
}
