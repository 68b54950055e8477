//! What testgen writes, recognised: the destination policies of its three
//! outputs. A destination is replaced only when it is absent, an empty
//! directory, or what one of these recognisers accepts: a previous output
//! of the same kind with nothing else in it ([`thrum_io::publish`]).
//!
//! - `--out` ([`ARTIFACTS`]): every file below the directory is listed in
//!   its `SHA256SUMS` (or is `SHA256SUMS`), and `manifest.json` (a whole
//!   run or a merged one) or `shard.json` (a `--shard` run of an earlier
//!   version) names testgen as its generator; or (a `--shard` run) the one
//!   file in `shards/` is a shard manifest naming testgen that lists every
//!   other file. Empty subdirectories pass (they hold nothing).
//! - `--tree TREE` ([`TREE`]): the destination is `TREE/.thrum`. Beside it,
//!   testgen writes an ownership record, `TREE/.thrum.testgen.json`
//!   ([`TREE_RECORD`]), listing every regular file it wrote under `.thrum`
//!   with its size. `TREE/.thrum` is recognised only when that record
//!   names testgen and the kind `tree`, and the regular files below
//!   `.thrum` are exactly the recorded ones with the recorded sizes
//!   (nothing else but empty directories: no link, no special file). A
//!   `.thrum` without a record (a project's own, or an older testgen's) is
//!   never replaced. TREE itself may hold anything: only `TREE/.thrum` and
//!   the record are ever replaced.
//! - `corrupt --out`: the policy of a corrupted copy lives with the chaos
//!   catalogue ([`thrum_chaos::CORRUPT`], record [`CORRUPT_RECORD`]).
//!
//! A record ([`thrum_io::record`]) is canonical JSON (keys sorted, no
//! spaces) followed by a newline: `{"files":{"<path>":<bytes>,...},
//! "generator":"testgen <version>","kind":"tree"}`, paths relative to
//! `.thrum` with `/`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use thrum_io::publish::{listing, Entries, Found, Policy, PublishError, Unrecognised};
use thrum_io::record::{self, read_small};

pub use thrum_chaos::{CORRUPT_RECORD, KIND_CORRUPT};

/// The artifacts of a generation run (`--out`).
pub const ARTIFACTS: Policy = Policy { tool: "testgen", flag: "--out", recognise: artifacts };
/// The expanded tree (`--tree TREE` writes `TREE/.thrum`).
pub const TREE: Policy = Policy { tool: "testgen", flag: "--tree", recognise: tree };

/// The output of `testgen mesh --out DIR`.
pub const MESH: Policy = Policy { tool: "testgen", flag: "--out", recognise: mesh };
/// Where the default regeneration writes its mesh, inside `fixtures/`.
pub const MESH_SUBDIR: &str = "mesh";

/// Marker of a `--shard` run of earlier versions.
pub const SHARD_JSON: &str = "shard.json";
/// True when the JSON object in `p` has a `field` that `accept` takes.
fn json_field(p: &Path, field: &str, accept: impl Fn(&str) -> bool) -> bool {
    read_small(p)
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v.get(field).and_then(|g| g.as_str()).is_some_and(accept))
}

/// `testgen`, with any version.
fn is_testgen(generator: &str) -> bool {
    record::is_generator(generator, TOOL)
}

/// The writer's name in records and messages.
const TOOL: &str = "testgen";

fn foreign_or_ok(foreign: Entries) -> Result<(), Unrecognised> {
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(Unrecognised::Foreign(foreign))
    }
}

/// The artifact directory of a whole or sharded run.
pub fn artifacts(dir: &Path) -> Result<(), Unrecognised> {
    let sums = read_small(&dir.join(crate::SUMS));
    if sums.is_none() {
        // a slice's output: its one shard manifest lists every other file
        if let Some((rel, m)) = crate::shard::only_manifest(dir) {
            let mut files: HashSet<String> = m.files.into_iter().map(|f| f.path).collect();
            files.insert(rel);
            let mut foreign = Entries::new();
            listing::foreign_entries(dir, &files, &mut foreign).map_err(Unrecognised::Not)?;
            return foreign_or_ok(foreign);
        }
    }
    let mut files: HashSet<String> = sums
        .iter()
        .flat_map(|s| s.lines())
        .filter_map(|l| l.split_once("  ").map(|(_, name)| name.to_string()))
        .collect();
    files.insert(crate::SUMS.to_string());
    // the default regeneration's mesh, a self-contained output of its own
    let sub = dir.join(MESH_SUBDIR);
    if std::fs::symlink_metadata(&sub).is_ok_and(|m| m.is_dir()) && mesh(&sub).is_ok() {
        files.extend(listed(&sub).into_iter().map(|f| format!("{MESH_SUBDIR}/{f}")));
    }
    // and its crash states, each a self-contained output with its record
    files.extend(crash_states(&dir.join(crate::crash::CRASH_SUBDIR)));
    let mut foreign = Entries::new();
    listing::foreign_entries(dir, &files, &mut foreign).map_err(Unrecognised::Not)?;
    foreign_or_ok(foreign)?;
    if sums.is_none() {
        return Err(Unrecognised::Not(format!("it has no {}", crate::SUMS)));
    }
    let named = |marker: &str| {
        files.contains(marker) && json_field(&dir.join(marker), "generator", is_testgen)
    };
    if named(crate::MANIFEST) || named(SHARD_JSON) {
        Ok(())
    } else {
        Err(Unrecognised::Not(format!(
            "neither {} nor {SHARD_JSON} names testgen as its generator",
            crate::MANIFEST
        )))
    }
}

/// The files of the crash states in `dir` (`crash/<state>/...`, relative
/// to its parent), for each subdirectory that is a crash state
/// ([`crate::crash::crashed`]); nothing when `dir` is not a directory.
fn crash_states(dir: &Path) -> Vec<String> {
    let sub = crate::crash::CRASH_SUBDIR;
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files = Vec::new();
    for e in entries.flatten() {
        let (p, name) = (e.path(), e.file_name().to_string_lossy().into_owned());
        if !e.file_type().is_ok_and(|t| t.is_dir()) || crate::crash::crashed(&p).is_err() {
            continue;
        }
        let own = read_small(&p.join(crate::crash::CRASH_RECORD))
            .and_then(|t| record::Record::parse(&t, TOOL, crate::crash::KIND_CRASH).ok());
        if let Some(r) = own {
            files.extend(r.files.keys().map(|f| format!("{sub}/{name}/{f}")));
            files.push(format!("{sub}/{name}/{}", crate::crash::CRASH_RECORD));
        }
    }
    files
}

/// The files `dir/SHA256SUMS` lists, and `SHA256SUMS` itself.
fn listed(dir: &Path) -> HashSet<String> {
    let sums = read_small(&dir.join(crate::SUMS));
    let mut files: HashSet<String> = sums
        .iter()
        .flat_map(|s| s.lines())
        .filter_map(|l| l.split_once("  ").map(|(_, name)| name.to_string()))
        .collect();
    files.insert(crate::SUMS.to_string());
    files
}

/// The output of `testgen mesh`: every file below the directory is listed
/// in its `SHA256SUMS` (or is `SHA256SUMS`), and `mesh.json` names testgen
/// as its generator and `mesh` as its kind.
pub fn mesh(dir: &Path) -> Result<(), Unrecognised> {
    if read_small(&dir.join(crate::SUMS)).is_none() {
        return Err(Unrecognised::Not(format!("it has no {}", crate::SUMS)));
    }
    let files = listed(dir);
    let mut foreign = Entries::new();
    listing::foreign_entries(dir, &files, &mut foreign).map_err(Unrecognised::Not)?;
    foreign_or_ok(foreign)?;
    let marker = crate::mesh::MESH_JSON;
    if files.contains(marker)
        && json_field(&dir.join(marker), "generator", is_testgen)
        && json_field(&dir.join(marker), "kind", |k| k == "mesh")
    {
        Ok(())
    } else {
        Err(Unrecognised::Not(format!(
            "its {marker} does not name testgen as its generator and mesh as its kind"
        )))
    }
}

/// The ownership record of `--tree TREE`, beside `TREE/.thrum`.
pub const TREE_RECORD: &str = ".thrum.testgen.json";
/// The record's kind of a `--tree` output.
pub const KIND_TREE: &str = "tree";

/// An ownership record of testgen ([`thrum_io::record::Record`]).
pub type Record = record::Record;

/// A record of this testgen of `kind` for `files`.
pub fn new_record(kind: &str, files: BTreeMap<String, u64>) -> Record {
    Record::new(crate::GENERATOR, kind, files)
}

pub use thrum_io::record::file_sizes;

/// The directory that holds `dir`'s entry.
fn parent_dir(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `TREE/.thrum`, owned by the record beside it ([`TREE_RECORD`]). Called
/// on the moved-aside directory too (`TREE/..thrum.tmp-PID`): the record
/// is looked up beside whatever `dir` names.
pub fn tree(dir: &Path) -> Result<(), Unrecognised> {
    let record = record::read(&parent_dir(dir).join(TREE_RECORD), TOOL, KIND_TREE, || {
        format!(
            "no {TREE_RECORD} beside it records it as testgen's, so it is a project's own .thrum \
                or one an older testgen wrote (it holds {})",
            record::summary(dir)
        )
    })?;
    record::matches(dir, &record, None, TOOL)
}

/// Refuses (exit 2) a `TREE/.thrum.testgen.json` that testgen may not
/// overwrite: anything but an absent entry or a readable record of a
/// `--tree` run.
pub fn check_tree_record(tree: &Path) -> Result<(), PublishError> {
    let path = tree.join(TREE_RECORD);
    let found = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Found::NotOurs { tool: "testgen", reason: format!("cannot be inspected: {e}") },
        Ok(m) if m.file_type().is_symlink() => {
            Found::Symlink { target: std::fs::read_link(&path).ok() }
        }
        Ok(m) if !m.is_file() => {
            Found::NotOurs { tool: "testgen", reason: "it is not a regular file".into() }
        }
        Ok(_) => match read_small(&path)
            .ok_or_else(|| "cannot be read".to_string())
            .and_then(|t| Record::parse(&t, TOOL, KIND_TREE))
        {
            Ok(_) => return Ok(()),
            Err(why) => Found::NotOurs { tool: "testgen", reason: format!("it {why}") },
        },
    };
    Err(PublishError::Refused {
        path,
        found,
        advice: "choose another --tree or remove it yourself".into(),
    })
}

/// Writes the record of `--tree` beside `TREE/.thrum` in one step (a
/// temporary file renamed over the previous record).
pub fn write_tree_record(tree: &Path, record: &Record) -> std::io::Result<()> {
    record::write_beside(tree, TREE_RECORD, record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artifact_directory_needs_every_file_listed_and_a_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("parquet/t")).unwrap();
        std::fs::create_dir_all(d.join("parquet/empty")).unwrap();
        std::fs::write(d.join("parquet/t/part-00000.parquet"), "p").unwrap();
        std::fs::write(d.join("manifest.json"), "{\"generator\": \"testgen 9.9.9\"}\n").unwrap();
        std::fs::write(
            d.join("SHA256SUMS"),
            "aa  manifest.json\nbb  parquet/t/part-00000.parquet\n",
        )
        .unwrap();
        assert_eq!(artifacts(d), Ok(()));
        std::fs::write(d.join("parquet/t/notes.txt"), "mine").unwrap();
        std::fs::create_dir(d.join("data")).unwrap();
        std::fs::write(d.join("data/x"), "mine").unwrap();
        match artifacts(d) {
            Err(Unrecognised::Foreign(e)) => {
                assert_eq!(e.to_string(), "data/, parquet/t/notes.txt")
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(d.join("data")).unwrap();
        std::fs::remove_file(d.join("parquet/t/notes.txt")).unwrap();
        std::fs::write(d.join("manifest.json"), "{\"generator\": \"other 1.0\"}\n").unwrap();
        assert_eq!(
            artifacts(d),
            Err(Unrecognised::Not(
                "neither manifest.json nor shard.json names testgen as its generator".into()
            ))
        );
    }

    fn record_of(dir: &Path, kind: &str) -> String {
        new_record(kind, file_sizes(dir).unwrap()).to_json()
    }

    #[test]
    fn a_record_is_canonical_json() {
        let r = new_record(
            KIND_TREE,
            [("var/messages.db".to_string(), 7), ("config.json".to_string(), 2)].into(),
        );
        assert_eq!(
            r.to_json(),
            format!(
                "{{\"files\":{{\"config.json\":2,\"var/messages.db\":7}},\"generator\":\"{}\"\
                ,\"kind\":\"tree\"}}\n",
                crate::GENERATOR
            )
        );
        assert_eq!(Record::parse(&r.to_json(), TOOL, KIND_TREE), Ok(r.clone()));
        assert!(Record::parse(&r.to_json(), TOOL, KIND_CORRUPT)
            .unwrap_err()
            .contains("of kind \"tree\""));
        for bad in ["../x", "/etc/passwd", "a//b", "./a", ""] {
            let t = format!(
                "{{\"files\":{{{:?}:1}},\"generator\":\"testgen\",\"kind\":\"tree\"}}",
                bad
            );
            assert!(
                Record::parse(&t, TOOL, KIND_TREE).unwrap_err().starts_with("records a path"),
                "{bad}"
            );
        }
        let other = "{\"files\":{},\"generator\":\"othergen 1\",\"kind\":\"tree\"}";
        assert!(Record::parse(other, TOOL, KIND_TREE).unwrap_err().contains("not testgen"));
    }

    #[test]
    fn a_tree_is_ours_only_as_its_record_describes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join(".thrum");
        std::fs::create_dir_all(t.join("var")).unwrap();
        std::fs::create_dir_all(t.join("identities")).unwrap();
        std::fs::write(t.join("config.json"), "{}").unwrap();
        std::fs::write(t.join("var/messages.db"), "db").unwrap();
        std::fs::write(t.join("identities/a.json"), "{}").unwrap();
        // no record: never ours
        assert!(
            matches!(tree(&t), Err(Unrecognised::Not(r)) if r.starts_with("no .thrum.testgen.json \
                beside it") && r.ends_with("(it holds config.json, identities/, var/)"))
        );
        std::fs::write(tmp.path().join(TREE_RECORD), record_of(&t, KIND_TREE)).unwrap();
        // anything else may lie beside it
        std::fs::create_dir(tmp.path().join(".git")).unwrap();
        std::fs::write(tmp.path().join("README.md"), "# mine").unwrap();
        assert_eq!(tree(&t), Ok(()));
        // the same tree moved aside is judged by the record beside it
        let aside = tmp.path().join("..thrum.tmp-1");
        std::fs::rename(&t, &aside).unwrap();
        assert_eq!(tree(&aside), Ok(()));
        std::fs::rename(&aside, &t).unwrap();
        std::fs::create_dir(t.join("context")).unwrap();
        assert_eq!(tree(&t), Ok(()), "an empty directory holds nothing");
        std::fs::write(t.join("identities/precious.json"), "{}").unwrap();
        std::fs::write(t.join("var/thrum.sock"), "").unwrap();
        let foreign = "identities/precious.json, var/thrum.sock";
        assert!(matches!(tree(&t), Err(Unrecognised::Foreign(e)) if e.to_string() == foreign));
        std::fs::remove_file(t.join("identities/precious.json")).unwrap();
        std::fs::remove_file(t.join("var/thrum.sock")).unwrap();
        std::fs::write(t.join("var/messages.db"), "their data").unwrap();
        assert_eq!(
            tree(&t),
            Err(Unrecognised::Not(
                "files differ in size from what testgen wrote (var/messages.db)".into()
            ))
        );
        std::fs::remove_file(t.join("var/messages.db")).unwrap();
        assert_eq!(
            tree(&t),
            Err(Unrecognised::Not(
                "files testgen wrote there are missing (var/messages.db)".into()
            ))
        );
        std::os::unix::fs::symlink("/etc/hostname", t.join("var/messages.db")).unwrap();
        assert!(
            matches!(tree(&t), Err(Unrecognised::Foreign(e)) if e.to_string() == "var/messages.db")
        );
        std::fs::remove_file(t.join("var/messages.db")).unwrap();
        std::fs::write(t.join("var/messages.db"), "db").unwrap();
        assert_eq!(tree(&t), Ok(()));
        // a record of another kind, or a link to a record
        std::fs::write(tmp.path().join(TREE_RECORD), record_of(&t, KIND_CORRUPT)).unwrap();
        assert!(matches!(tree(&t), Err(Unrecognised::Not(r)) if r.starts_with("its record \
                .thrum.testgen.json records an output of kind \"corrupt\"")));
        std::fs::write(tmp.path().join("elsewhere.json"), record_of(&t, KIND_TREE)).unwrap();
        std::fs::remove_file(tmp.path().join(TREE_RECORD)).unwrap();
        std::os::unix::fs::symlink("elsewhere.json", tmp.path().join(TREE_RECORD)).unwrap();
        assert_eq!(
            tree(&t),
            Err(Unrecognised::Not("its record .thrum.testgen.json is not a regular file".into()))
        );
        let e = check_tree_record(tmp.path()).unwrap_err();
        assert!(matches!(&e, PublishError::Refused { found: Found::Symlink { .. }, .. }), "{e:?}");
    }
}
