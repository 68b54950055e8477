//! `mesh.json`: the daemons of a mesh and its declared conflicts, read and
//! checked before any daemon is opened.

use crate::error::InputError;
use crate::extract::Limits;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Component, Path};

/// The most daemons a `mesh.json` may declare (as `testgen mesh --daemons`):
/// more is refused before any daemon is opened.
pub const MAX_DAEMONS: usize = 64;
/// The most conflicts a `mesh.json` may declare (each is looked up on every
/// daemon).
pub const MAX_CONFLICTS: usize = 100_000;

/// What `verify mesh` checks and how.
#[derive(Debug, Clone)]
pub struct MeshOptions {
    /// Findings listed in detail per (kind, table); 0 = all.
    pub max_diffs: usize,
    /// Limits of each archive's extraction.
    pub limits: Limits,
    /// Check each daemon's manifest, and `DIR/SHA256SUMS`.
    pub check_manifest: bool,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions { max_diffs: 20, limits: Limits::default(), check_manifest: true }
    }
}

/// `mesh.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct MeshSpec {
    /// `mesh`.
    pub kind: String,
    /// `converged` or `lagging`.
    pub scenario: String,
    /// The daemons, by index.
    pub daemons: Vec<DaemonSpec>,
    /// The declared conflicts.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

/// One daemon of `mesh.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct DaemonSpec {
    /// 1..=N.
    pub index: u32,
    /// Its host.
    pub hostname: String,
    /// Its id (derived from the hostname).
    pub daemon_id: String,
    /// Its directory in DIR (one path component).
    pub dir: String,
    /// Its archive, relative to DIR (`daemon-K/thrum-fixture.tar.zst`).
    #[serde(default)]
    pub archive: Option<String>,
}

/// A declared conflict of `mesh.json`: a row whose value depends on arrival order.
#[derive(Debug, Clone, Deserialize)]
pub struct Conflict {
    /// `agent_reregister`, `group_update`.
    pub kind: String,
    /// The table of the row.
    pub table: String,
    /// The primary-key values of the row, in primary-key column order.
    pub key: Vec<String>,
    /// The columns whose values may differ between daemons.
    pub columns: Vec<String>,
    /// The conflicting events.
    #[serde(default)]
    pub event_ids: Vec<String>,
    /// The indexes of the daemons that wrote them.
    #[serde(default)]
    pub daemons: Vec<u32>,
}

fn bad_spec(path: &Path, reason: impl Into<String>) -> InputError {
    InputError::Unreadable { path: path.to_path_buf(), reason: reason.into() }
}

/// Reads and checks the shape of `DIR/mesh.json` (unusable input when it
/// cannot be used at all).
pub fn read_spec(dir: &Path) -> Result<MeshSpec, InputError> {
    let p = dir.join("mesh.json");
    if !thrum_io::regular::exists_at_all(dir) {
        return Err(InputError::NotFound { path: dir.to_path_buf() });
    }
    let bytes = thrum_io::regular::read_regular_at_most(&p, thrum_io::regular::DOCUMENT_MAX)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound if !thrum_io::regular::exists_at_all(&p) => {
                InputError::WrongKind {
                    path: dir.to_path_buf(),
                    found: "a directory without mesh.json".into(),
                    expected: "a mesh directory (mesh.json and daemon-K/)",
                }
            }
            _ => InputError::io(&p, e),
        })?;
    let spec: MeshSpec = serde_json::from_slice(&bytes)
        .map_err(|e| bad_spec(&p, format!("not a mesh description: {e}")))?;
    if spec.kind != "mesh" {
        return Err(bad_spec(&p, format!("kind is {:?}, expected \"mesh\"", spec.kind)));
    }
    if spec.scenario != "converged" && spec.scenario != "lagging" {
        return Err(bad_spec(
            &p,
            format!("scenario is {:?}, expected \"converged\" or \"lagging\"", spec.scenario),
        ));
    }
    if !(2..=MAX_DAEMONS).contains(&spec.daemons.len()) {
        return Err(bad_spec(
            &p,
            format!("{} daemon(s); a mesh has 2 to {MAX_DAEMONS}", spec.daemons.len()),
        ));
    }
    if spec.conflicts.len() > MAX_CONFLICTS {
        return Err(bad_spec(
            &p,
            format!(
                "{} declared conflicts; at most {MAX_CONFLICTS} are checked",
                spec.conflicts.len()
            ),
        ));
    }
    let (mut ids, mut dirs) = (HashSet::new(), HashSet::new());
    for (i, d) in spec.daemons.iter().enumerate() {
        if d.index as usize != i + 1 {
            return Err(bad_spec(
                &p,
                format!(
                    "daemon {} has index {}; the daemons are listed by index 1..={}",
                    i + 1,
                    d.index,
                    spec.daemons.len()
                ),
            ));
        }
        let mut comps = Path::new(&d.dir).components();
        if !matches!((comps.next(), comps.next()), (Some(Component::Normal(_)), None)) {
            return Err(bad_spec(
                &p,
                format!(
                    "daemon {}: dir {:?} is not one directory name inside {}",
                    d.index,
                    d.dir,
                    dir.display()
                ),
            ));
        }
        if !ids.insert(d.daemon_id.as_str()) | !dirs.insert(d.dir.as_str()) {
            return Err(bad_spec(
                &p,
                format!("daemon {}: its daemon_id or dir is another daemon's", d.index),
            ));
        }
    }
    Ok(spec)
}
