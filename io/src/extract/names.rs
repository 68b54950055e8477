//! Entry names: a path normalised or refused, and the extension headers
//! (GNU long name and link, PAX) waiting for the entry they name.

use super::tar::Pax;
use super::{ExtractError, MAX_PATH_BYTES};
use std::path::{Component, Path};

/// Normalises an entry path: `.` components dropped; absolute, `..`, empty,
/// over-long and non-UTF-8 paths refused. `None` is the root itself (`./`),
/// allowed for a directory only.
pub(super) fn normalise(
    archive: &Path,
    raw: &[u8],
    entry: &str,
    is_dir: bool,
) -> Result<Option<String>, ExtractError> {
    let invalid = |reason| ExtractError::InvalidPath {
        archive: archive.to_path_buf(),
        entry: entry.to_owned(),
        reason,
    };
    if raw.len() > MAX_PATH_BYTES {
        return Err(invalid("a path longer than 4096 bytes"));
    }
    let Ok(s) = std::str::from_utf8(raw) else {
        return Err(invalid("a non-UTF-8 path"));
    };
    if s.is_empty() {
        return Err(invalid("an empty path"));
    }
    if s.contains('\0') {
        return Err(invalid("a NUL byte in its path"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(s).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => {
                return Err(ExtractError::AbsolutePath {
                    archive: archive.to_path_buf(),
                    entry: entry.to_owned(),
                })
            }
            Component::ParentDir => {
                return Err(ExtractError::ParentComponent {
                    archive: archive.to_path_buf(),
                    entry: entry.to_owned(),
                })
            }
            Component::CurDir => {}
            Component::Normal(p) => match p.to_str() {
                Some(p) => parts.push(p),
                None => return Err(invalid("a non-UTF-8 path")),
            },
        }
    }
    if parts.is_empty() {
        // `./` itself: harmless for a directory, meaningless for anything else.
        return if is_dir { Ok(None) } else { Err(invalid("no name (the path is only '.')")) };
    }
    Ok(Some(parts.join("/")))
}

/// Extension headers waiting for the entry they describe.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) long_name: Option<Vec<u8>>,
    pub(super) long_link: Option<Vec<u8>>,
    pub(super) pax: Option<Pax>,
}

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        self.long_name.is_none() && self.long_link.is_none() && self.pax.is_none()
    }
}

/// Strips the NUL terminator(s) GNU writes after a long name.
pub(super) fn strip_nuls(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}
