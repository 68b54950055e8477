//! What testgen writes, recognised: the destination policies of its three
//! outputs. A destination is replaced only when it is absent, an empty
//! directory, or what one of these recognisers accepts: a previous output
//! of the same kind with nothing else in it ([`crate::publish`]).
//!
//! - `--out` ([`ARTIFACTS`]): every file below the directory is listed in
//!   its `SHA256SUMS` (or is `SHA256SUMS`), and `manifest.json` (a whole
//!   run) or `shard.json` (a `--shard` run) names testgen as its generator.
//!   Empty subdirectories pass (they hold nothing).
//! - `--tree TREE` ([`TREE`]): the destination is `TREE/.thrum`; it holds
//!   only the layout testgen writes (`config.json`, `thrum.db`,
//!   `events.jsonl`, `identities/*.json`, `context/*.md`,
//!   `messages/*.jsonl`, `var/messages.db`, all regular files), and TREE
//!   holds nothing but `.thrum` (and testgen's own temporaries): a `.thrum`
//!   beside other files is a project's, never replaced. When `TREE/.thrum`
//!   does not exist TREE may hold anything: nothing is replaced.
//! - `corrupt --out` ([`CORRUPT`]): `FAULT.json` names a fault of the
//!   catalogue, `.thrum/` holds only regular files and directories, and
//!   apart from an optional `SHA256SUMS` there is nothing else.

use crate::publish::{listing, temporary_pid, Entries, Policy, Unrecognised};
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

/// The artifacts of a generation run (`--out`).
pub const ARTIFACTS: Policy = Policy { tool: "testgen", flag: "--out", recognise: artifacts };
/// The expanded tree (`--tree TREE` writes `TREE/.thrum`).
pub const TREE: Policy = Policy { tool: "testgen", flag: "--tree", recognise: tree };
/// A corrupted copy (`testgen corrupt --out`).
pub const CORRUPT: Policy = Policy { tool: "testgen", flag: "--out", recognise: corrupted };

/// Marker of a `--shard` run.
pub const SHARD_JSON: &str = "shard.json";
/// Largest `SHA256SUMS` or marker file read.
const MAX_READ: u64 = 64 << 20;

/// Reads `p` when it is a regular file (not a link) of at most `MAX_READ` bytes.
fn read_small(p: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(p).ok()?;
    if !meta.is_file() || meta.len() > MAX_READ {
        return None;
    }
    let mut s = String::new();
    std::fs::File::open(p).ok()?.take(MAX_READ).read_to_string(&mut s).ok()?;
    Some(s)
}

/// True when the JSON object in `p` has a `field` that `accept` takes.
fn json_field(p: &Path, field: &str, accept: impl Fn(&str) -> bool) -> bool {
    read_small(p).and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok()).is_some_and(|v| v.get(field).and_then(|g| g.as_str()).is_some_and(accept))
}

/// `testgen`, with any version.
fn is_testgen(generator: &str) -> bool {
    generator == "testgen" || generator.starts_with("testgen ")
}

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
    let mut files: HashSet<String> = sums.iter().flat_map(|s| s.lines()).filter_map(|l| l.split_once("  ").map(|(_, name)| name.to_string())).collect();
    files.insert(crate::SUMS.to_string());
    let mut foreign = Entries::new();
    listing::foreign_entries(dir, &files, &mut foreign).map_err(Unrecognised::Not)?;
    foreign_or_ok(foreign)?;
    if sums.is_none() {
        return Err(Unrecognised::Not(format!("it has no {}", crate::SUMS)));
    }
    let named = |marker: &str| files.contains(marker) && json_field(&dir.join(marker), "generator", is_testgen);
    if named(crate::MANIFEST) || named(SHARD_JSON) {
        Ok(())
    } else {
        Err(Unrecognised::Not(format!("neither {} nor {SHARD_JSON} names testgen as its generator", crate::MANIFEST)))
    }
}

/// The files of `.thrum/` as testgen writes them: top-level files, and
/// directories with the suffix of the files they hold.
const TREE_FILES: &[&str] = &["config.json", "thrum.db", "events.jsonl"];
const TREE_DIRS: &[(&str, &str)] = &[("identities", ".json"), ("context", ".md"), ("messages", ".jsonl")];
const TREE_VAR: &[&str] = &["messages.db"];

/// `TREE/.thrum`, in a directory of its own.
pub fn tree(dir: &Path) -> Result<(), Unrecognised> {
    let unreadable = |p: &Path, e: std::io::Error| Unrecognised::Not(format!("cannot read {}: {e}", crate::publish::shown_path(p)));
    let mut foreign = Entries::new();
    for (name, ft, path) in entries(dir).map_err(|e| unreadable(dir, e))? {
        let sub = |suffix: Option<&str>, exact: &[&str], foreign: &mut Entries| -> Result<(), Unrecognised> {
            for (n, ft, _) in entries(&path).map_err(|e| unreadable(&path, e))? {
                let ok = ft.is_file() && (suffix.is_some_and(|s| n.len() > s.len() && n.ends_with(s)) || exact.contains(&n.as_str()));
                if !ok {
                    foreign.add(format!("{name}/{n}{}", if ft.is_dir() { "/" } else { "" }));
                }
            }
            Ok(())
        };
        if ft.is_file() && TREE_FILES.contains(&name.as_str()) {
            continue;
        }
        if ft.is_dir() {
            if let Some((_, suffix)) = TREE_DIRS.iter().find(|(d, _)| *d == name) {
                sub(Some(suffix), &[], &mut foreign)?;
                continue;
            }
            if name == "var" {
                sub(None, TREE_VAR, &mut foreign)?;
                continue;
            }
        }
        foreign.add(if ft.is_dir() { format!("{name}/") } else { name });
    }
    foreign_or_ok(foreign)?;
    let is_file = |rel: &str| std::fs::symlink_metadata(dir.join(rel)).is_ok_and(|m| m.is_file());
    if !is_file("config.json") || !is_file("var/messages.db") {
        return Err(Unrecognised::Not("it has no config.json and var/messages.db".into()));
    }
    // the directory that holds it: nothing but `.thrum` and temporaries
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut others = Entries::new();
    for (name, ft, _) in entries(parent).map_err(|e| unreadable(parent, e))? {
        if name != ".thrum" && temporary_pid(&name, ".thrum").is_none() {
            others.add(if ft.is_dir() { format!("{name}/") } else { name });
        }
    }
    if !others.is_empty() {
        return Err(Unrecognised::Not(format!(
            "beside it, {} holds other files ({others}), as a project's directory does; testgen replaces a .thrum only in a directory of its own",
            crate::publish::shown_path(parent)
        )));
    }
    Ok(())
}

/// A corrupted copy: `FAULT.json`, `.thrum/`, optionally `SHA256SUMS`.
pub fn corrupted(dir: &Path) -> Result<(), Unrecognised> {
    let unreadable = |p: &Path, e: std::io::Error| Unrecognised::Not(format!("cannot read {}: {e}", crate::publish::shown_path(p)));
    let mut foreign = Entries::new();
    let (mut fault, mut thrum) = (false, false);
    for (name, ft, path) in entries(dir).map_err(|e| unreadable(dir, e))? {
        match name.as_str() {
            "FAULT.json" if ft.is_file() => fault = true,
            crate::SUMS if ft.is_file() => {}
            ".thrum" if ft.is_dir() => {
                thrum = true;
                plain_tree(&path, ".thrum", &mut foreign).map_err(|e| unreadable(&path, e))?;
            }
            _ => foreign.add(if ft.is_dir() { format!("{name}/") } else { name }),
        }
    }
    foreign_or_ok(foreign)?;
    if !fault || !json_field(&dir.join("FAULT.json"), "fault", |f| crate::corrupt::Fault::from_name(f).is_some()) {
        return Err(Unrecognised::Not("it has no FAULT.json naming a fault of testgen's catalogue".into()));
    }
    if !thrum {
        return Err(Unrecognised::Not("it has no .thrum/".into()));
    }
    Ok(())
}

/// Adds every entry below `dir` that is neither a regular file nor a
/// directory (links are not followed).
fn plain_tree(dir: &Path, rel: &str, foreign: &mut Entries) -> std::io::Result<()> {
    for (name, ft, path) in entries(dir)? {
        let r = format!("{rel}/{name}");
        if ft.is_dir() {
            plain_tree(&path, &r, foreign)?;
        } else if !ft.is_file() {
            foreign.add(r);
        }
    }
    Ok(())
}

/// The entries of `dir`: name, type (of the entry itself) and path.
fn entries(dir: &Path) -> std::io::Result<Vec<(String, std::fs::FileType, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        out.push((e.file_name().to_string_lossy().into_owned(), e.file_type()?, e.path()));
    }
    Ok(out)
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
        std::fs::write(d.join("SHA256SUMS"), "aa  manifest.json\nbb  parquet/t/part-00000.parquet\n").unwrap();
        assert_eq!(artifacts(d), Ok(()));
        std::fs::write(d.join("parquet/t/notes.txt"), "mine").unwrap();
        std::fs::create_dir(d.join("data")).unwrap();
        std::fs::write(d.join("data/x"), "mine").unwrap();
        match artifacts(d) {
            Err(Unrecognised::Foreign(e)) => assert_eq!(e.to_string(), "data/, parquet/t/notes.txt"),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(d.join("data")).unwrap();
        std::fs::remove_file(d.join("parquet/t/notes.txt")).unwrap();
        std::fs::write(d.join("manifest.json"), "{\"generator\": \"other 1.0\"}\n").unwrap();
        assert_eq!(artifacts(d), Err(Unrecognised::Not("neither manifest.json nor shard.json names testgen as its generator".into())));
    }

    #[test]
    fn a_tree_must_sit_in_a_directory_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join(".thrum");
        std::fs::create_dir_all(t.join("var")).unwrap();
        std::fs::create_dir_all(t.join("identities")).unwrap();
        std::fs::write(t.join("config.json"), "{}").unwrap();
        std::fs::write(t.join("var/messages.db"), "").unwrap();
        std::fs::write(t.join("identities/a.json"), "{}").unwrap();
        std::fs::create_dir(tmp.path().join("..thrum.tmp-1")).unwrap();
        assert_eq!(tree(&t), Ok(()));
        std::fs::write(t.join("var/thrum.sock"), "").unwrap();
        assert!(matches!(tree(&t), Err(Unrecognised::Foreign(e)) if e.to_string() == "var/thrum.sock"));
        std::fs::remove_file(t.join("var/thrum.sock")).unwrap();
        std::fs::create_dir(tmp.path().join(".git")).unwrap();
        assert!(matches!(tree(&t), Err(Unrecognised::Not(r)) if r.starts_with("beside it, ") && r.contains(" holds other files (.git/)")));
    }
}
