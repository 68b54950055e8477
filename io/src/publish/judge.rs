//! Judging a destination: may it be replaced, and why not.

use super::found::refused;
use super::{Accepted, Found, Policy, PublishContext, Result, Unrecognised};
use std::path::{Path, PathBuf};

/// Decides whether `dest` may be replaced under `policy`; touches nothing.
pub fn check(dest: &Path, policy: &Policy) -> Result<Accepted> {
    judge(&normalise(dest), policy, &|p: &Path| device_of(p))
}

/// `dest` without a trailing `/` or `/.` (with one, the system would
/// follow a link where the destination's own entry is meant).
pub(super) fn normalise(dest: &Path) -> PathBuf {
    dest.components().collect()
}

/// The device of the directory `p` resolves to.
pub(super) fn device_of(p: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).map(|m| m.dev())
}

/// [`check`] with the parent's device given by `parent_dev` (tests inject
/// another device to see a mount point). A refusal stands only when the
/// destination is still the same entry afterwards: when another run swapped
/// it meanwhile, what was read may have been the previous directory being
/// deleted, so the judgment is made again.
pub(super) fn judge(
    dest: &Path,
    policy: &Policy,
    parent_dev: &dyn Fn(&Path) -> std::io::Result<u64>,
) -> Result<Accepted> {
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

fn judge_once(
    dest: &Path,
    policy: &Policy,
    parent_dev: &dyn Fn(&Path) -> std::io::Result<u64>,
) -> Result<Accepted> {
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
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return refuse(Found::ParentNotDirectory(
                non_directory_ancestor(dest).unwrap_or(parent),
            ))
        }
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
    if is_mount_point(meta.dev(), pdev, crate::tree::mount_root(dest)) {
        return refuse(Found::MountPoint);
    }
    let mut rd = std::fs::read_dir(dest).ctx("read directory", dest)?;
    if rd.next().is_none() {
        return Ok(Accepted::Empty);
    }
    match (policy.recognise)(dest) {
        Ok(()) => Ok(Accepted::Ours),
        Err(Unrecognised::Foreign(entries)) => {
            refuse(Found::Foreign { tool: policy.tool, entries })
        }
        Err(Unrecognised::Not(reason)) => refuse(Found::NotOurs { tool: policy.tool, reason }),
    }
}

/// A previous output may be replaced only when nothing is mounted inside
/// it: deleting it would delete what lies on the other file system.
fn no_mount_below(dest: &Path, policy: &Policy, found: Result<Accepted>) -> Result<Accepted> {
    if let Ok(Accepted::Ours) = found {
        if let Some(m) = crate::tree::mount_point_below(dest).ctx("inspect", dest)? {
            return Err(refused(dest, Found::MountBelow(m), policy));
        }
    }
    found
}

/// The nearest existing ancestor of `dest` when it is not a directory.
fn non_directory_ancestor(dest: &Path) -> Option<PathBuf> {
    dest.ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find_map(|a| std::fs::metadata(a).ok().map(|m| (a, m)))
        .and_then(|(a, m)| (!m.is_dir()).then(|| a.to_path_buf()))
}

/// A directory is a mount point when its device differs from its parent's,
/// or when the kernel says so (`mount_root`: bind mounts of the same file
/// system share the device).
pub(super) fn is_mount_point(dev: u64, parent_dev: u64, mount_root: Option<bool>) -> bool {
    dev != parent_dev || mount_root == Some(true)
}

/// The directory that holds `dest`'s entry.
pub(super) fn parent_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `dest`'s entry name, for the temporaries beside it.
pub(super) fn name_of(dest: &Path) -> String {
    dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into())
}
