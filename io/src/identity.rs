//! Path identity: is one path the same as, inside, or holding another?
//!
//! Path text says nothing about identity: `lnk -> s0`, `sub/../s0` and a
//! bind mount of `s0` all name `s0`. [`relation`] resolves both paths
//! (symbolic links and `..`; for a path that does not exist yet, its
//! deepest existing ancestor with the rest of the path appended) and
//! compares the device and inode of every existing ancestor, never the text.
//! [`apart`] refuses a destination that is, holds or lies in an input:
//! the check commands make before any work and again right before the swap
//! into place ([`crate::publish::Staging::apart_from`]).

use crate::text::shown_path;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// How path A stands to path B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// A and B are the same file or directory (or would be, once created).
    Same,
    /// A lies inside the directory B.
    Inside,
    /// A is a directory that holds B.
    Contains,
    /// Neither holds the other.
    Apart,
}

impl Relation {
    /// The relation as words between the two paths (`A is the same as B`).
    pub fn words(self) -> &'static str {
        match self {
            Relation::Same => "is the same as",
            Relation::Inside => "lies inside",
            Relation::Contains => "contains",
            Relation::Apart => "is apart from",
        }
    }
}

/// A path resolved: the (device, inode) of each existing directory from
/// the root down to the deepest existing entry, then the names that do not
/// exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    ids: Vec<(u64, u64)>,
    tail: Vec<OsString>,
}

impl Resolved {
    /// The ids of the strict ancestors: every existing entry when a tail
    /// follows, else all but the last.
    fn ancestors(&self) -> &[(u64, u64)] {
        if self.tail.is_empty() {
            &self.ids[..self.ids.len().saturating_sub(1)]
        } else {
            &self.ids
        }
    }

    /// Whether `self` lies strictly inside `outer`.
    fn inside(&self, outer: &Resolved) -> bool {
        let Some(last) = outer.ids.last() else { return false };
        if outer.tail.is_empty() {
            return self.ancestors().contains(last);
        }
        // nothing exists inside a directory that does not exist: both end
        // at the same existing entry, and `outer`'s names begin `self`'s
        self.ids.last() == Some(last)
            && self.tail.len() > outer.tail.len()
            && self.tail.starts_with(&outer.tail)
    }
}

/// Most symbolic links followed while resolving one path (as the kernel's
/// `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// How `a` stands to `b`, by device and inode (see the [module docs](self)).
/// An error names the path that could not be resolved.
pub fn relation(a: &Path, b: &Path) -> std::io::Result<Relation> {
    let (ra, rb) = (resolve(a)?, resolve(b)?);
    Ok(if ra.ids.last() == rb.ids.last() && ra.tail == rb.tail {
        Relation::Same
    } else if ra.inside(&rb) {
        Relation::Inside
    } else if rb.inside(&ra) {
        Relation::Contains
    } else {
        Relation::Apart
    })
}

fn with_path(p: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("resolving {}: {e}", shown_path(p)))
}

/// Resolves `p`: the longest prefix that exists, canonicalised, then the
/// rest (`.` dropped, `..` applied to the names). A dangling symbolic link
/// is followed to where it points.
fn resolve(p: &Path) -> std::io::Result<Resolved> {
    let mut path = std::path::absolute(p).map_err(|e| with_path(p, e))?;
    let mut links = 0;
    'again: loop {
        let mut rest: Vec<OsString> = Vec::new();
        let mut prefix = path.clone();
        loop {
            match std::fs::canonicalize(&prefix) {
                Ok(real) => return finish(real, rest, p),
                Err(_) => {
                    let is_link = std::fs::symlink_metadata(&prefix)
                        .is_ok_and(|m| m.file_type().is_symlink());
                    let Some(name) =
                        prefix.file_name().map(OsString::from).or_else(|| last_raw(&prefix))
                    else {
                        return Err(with_path(
                            p,
                            std::io::Error::from(std::io::ErrorKind::NotFound),
                        ));
                    };
                    prefix.pop();
                    if is_link {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(with_path(p, std::io::Error::from_raw_os_error(40)));
                        }
                        let target =
                            std::fs::read_link(prefix.join(&name)).map_err(|e| with_path(p, e))?;
                        let mut next = prefix.join(target);
                        next.extend(rest.iter().rev());
                        path = std::path::absolute(next).map_err(|e| with_path(p, e))?;
                        continue 'again;
                    }
                    rest.push(name);
                }
            }
        }
    }
}

/// The last component of `p` when it is `..` (which `file_name` hides).
fn last_raw(p: &Path) -> Option<OsString> {
    match p.components().next_back()? {
        Component::ParentDir => Some(OsString::from("..")),
        Component::CurDir => Some(OsString::from(".")),
        _ => None,
    }
}

/// The ids of `real` (canonical) and its ancestors, and the names of
/// `rest` (innermost last, given innermost first) with `.` and `..` applied.
fn finish(mut real: PathBuf, mut rest: Vec<OsString>, p: &Path) -> std::io::Result<Resolved> {
    let mut tail: Vec<OsString> = Vec::new();
    while let Some(name) = rest.pop() {
        match name.to_str() {
            Some(".") => {}
            Some("..") => {
                if tail.pop().is_none() {
                    real.pop();
                }
            }
            _ => tail.push(name),
        }
    }
    let mut ids = Vec::new();
    for a in real.ancestors().collect::<Vec<_>>().into_iter().rev() {
        let m = std::fs::metadata(a).map_err(|e| with_path(a, e))?;
        ids.push((m.dev(), m.ino()));
    }
    if ids.is_empty() {
        return Err(with_path(p, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    Ok(Resolved { ids, tail })
}

/// A path a command names, with the words that name its role in messages
/// (`--out`, `--in`, `the shard directory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The role (`--out`).
    pub role: String,
    /// The path as given.
    pub path: PathBuf,
}

impl Named {
    /// `path` in the role `role`.
    pub fn new(role: impl Into<String>, path: impl Into<PathBuf>) -> Named {
        Named { role: role.into(), path: path.into() }
    }
}

/// Why a destination may not be written.
#[derive(Debug, thiserror::Error)]
pub enum ApartError {
    /// The destination is, holds or lies in an input: refused, nothing written.
    #[error(
        "refusing {} {}: it {} {} {} (by device and inode); an output must not be, hold or lie in \
            an input",
        .dest.role, shown_path(&.dest.path), .relation.words(),
        .input.role, shown_path(&.input.path)
    )]
    Overlap {
        /// The destination.
        dest: Named,
        /// The input it overlaps.
        input: Named,
        /// How the destination stands to the input.
        relation: Relation,
    },
    /// A path could not be resolved (the error names it).
    #[error("{0}")]
    Io(#[source] std::io::Error),
}

/// Refuses `dest` when it is the same as, inside, or holding any of
/// `inputs` ([`relation`] other than [`Relation::Apart`]).
pub fn apart(dest: &Named, inputs: &[Named]) -> Result<(), ApartError> {
    for input in inputs {
        let relation = relation(&dest.path, &input.path).map_err(ApartError::Io)?;
        if relation != Relation::Apart {
            return Err(ApartError::Overlap { dest: dest.clone(), input: input.clone(), relation });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
