//! What testgen writes, recognised: the destination policies of its three
//! outputs. A destination is replaced only when it is absent, an empty
//! directory, or what one of these recognisers accepts: a previous output
//! of the same kind with nothing else in it ([`crate::publish`]).
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
//! - `corrupt --out` ([`CORRUPT`]): the directory holds its ownership
//!   record, `.testgen-corrupt.json` ([`CORRUPT_RECORD`], kind `corrupt`),
//!   and apart from it exactly the recorded regular files (`.thrum/...`,
//!   `FAULT.json`, `SHA256SUMS` when written) with the recorded sizes.
//!
//! A record is canonical JSON (keys sorted, no spaces) followed by a
//! newline: `{"files":{"<path>":<bytes>,...},"generator":"testgen
//! <version>","kind":"tree"}`, paths relative (to `.thrum`, or to the
//! corrupted copy) with `/`.

use crate::publish::{listing, shown_path, Entries, Found, Policy, PublishError, Unrecognised};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The artifacts of a generation run (`--out`).
pub const ARTIFACTS: Policy = Policy { tool: "testgen", flag: "--out", recognise: artifacts };
/// The expanded tree (`--tree TREE` writes `TREE/.thrum`).
pub const TREE: Policy = Policy { tool: "testgen", flag: "--tree", recognise: tree };
/// A corrupted copy (`testgen corrupt --out`).
pub const CORRUPT: Policy = Policy { tool: "testgen", flag: "--out", recognise: corrupted };

/// Marker of a `--shard` run of earlier versions.
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

/// The ownership record of `--tree TREE`, beside `TREE/.thrum`.
pub const TREE_RECORD: &str = ".thrum.testgen.json";
/// The ownership record of a corrupted copy, inside `corrupt --out DIR`.
pub const CORRUPT_RECORD: &str = ".testgen-corrupt.json";
/// The record's kind of a `--tree` output.
pub const KIND_TREE: &str = "tree";
/// The record's kind of a corrupted copy.
pub const KIND_CORRUPT: &str = "corrupt";

/// An ownership record: what testgen wrote below one directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Every regular file written, relative path (with `/`) to size in bytes.
    pub files: BTreeMap<String, u64>,
    /// `testgen <version>`.
    pub generator: String,
    /// [`KIND_TREE`] or [`KIND_CORRUPT`].
    pub kind: String,
}

impl Record {
    /// A record of this testgen for `files`.
    pub fn new(kind: &str, files: BTreeMap<String, u64>) -> Record {
        Record { files, generator: crate::GENERATOR.to_string(), kind: kind.to_string() }
    }

    /// The canonical text: fields and paths sorted, no spaces, a newline.
    pub fn to_json(&self) -> String {
        // the fields are declared in sorted order and `files` is a BTreeMap
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }

    /// Parses `text` as a record of testgen of `kind`; the error says why not.
    fn parse(text: &str, kind: &str) -> Result<Record, String> {
        let r: Record = serde_json::from_str(text).map_err(|e| format!("is not a record testgen writes ({e})"))?;
        if !is_testgen(&r.generator) {
            return Err(format!("names {:?}, not testgen, as its generator", r.generator));
        }
        if r.kind != kind {
            return Err(format!("records an output of kind {:?}, not {kind:?}", r.kind));
        }
        if let Some(bad) = r.files.keys().find(|p| !is_plain_relative(p)) {
            return Err(format!("records a path that is not plainly relative ({})", crate::publish::shown_name(bad)));
        }
        Ok(r)
    }
}

/// `a/b/c`: non-empty components, none `.` or `..`, no NUL, not absolute.
fn is_plain_relative(p: &str) -> bool {
    !p.contains('\0') && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Every regular file below `dir` (links not followed) with its size, by
/// relative path with `/`.
pub fn file_sizes(dir: &Path) -> std::io::Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push((e.path(), r));
            } else if ft.is_file() {
                out.insert(r, e.metadata()?.len());
            }
        }
    }
    Ok(out)
}

/// The directory that holds `dir`'s entry.
fn parent_dir(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A few of the entries directly in `dir`, for a message.
fn summary(dir: &Path) -> String {
    let mut e = Entries::new();
    if let Ok(entries) = entries(dir) {
        for (name, ft, _) in entries {
            e.add(if ft.is_dir() { format!("{name}/") } else { name });
        }
    }
    if e.is_empty() {
        "nothing".into()
    } else {
        e.to_string()
    }
}

/// `Ok` when the regular files below `dir` are exactly those of `record`
/// with their sizes (plus `own`, the record itself when it lies inside),
/// and nothing else is there but empty directories.
fn matches_record(dir: &Path, record: &Record, own: Option<&str>) -> Result<(), Unrecognised> {
    let mut set: HashSet<String> = record.files.keys().cloned().collect();
    set.extend(own.map(str::to_string));
    let mut foreign = Entries::new();
    listing::foreign_entries(dir, &set, &mut foreign).map_err(Unrecognised::Not)?;
    foreign_or_ok(foreign)?;
    let (mut missing, mut changed) = (Entries::new(), Entries::new());
    for (rel, size) in &record.files {
        match std::fs::symlink_metadata(dir.join(rel)) {
            Ok(m) if m.is_file() => {
                if m.len() != *size {
                    changed.add(rel.as_str());
                }
            }
            _ => missing.add(rel.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(Unrecognised::Not(format!("files testgen wrote there are missing ({missing})")));
    }
    if !changed.is_empty() {
        return Err(Unrecognised::Not(format!("files differ in size from what testgen wrote ({changed})")));
    }
    Ok(())
}

/// Reads the record at `path` of `kind`; `absent` says what it means when
/// there is none.
fn read_record(path: &Path, kind: &str, absent: impl FnOnce() -> String) -> Result<Record, Unrecognised> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unrecognised::Not(absent())),
        Err(e) => return Err(Unrecognised::Not(format!("cannot read {}: {e}", shown_path(path)))),
        Ok(m) if !m.is_file() => return Err(Unrecognised::Not(format!("its record {name} is not a regular file"))),
        Ok(_) => {}
    }
    let text = read_small(path).ok_or_else(|| Unrecognised::Not(format!("its record {name} cannot be read")))?;
    Record::parse(&text, kind).map_err(|why| Unrecognised::Not(format!("its record {name} {why}")))
}

/// `TREE/.thrum`, owned by the record beside it ([`TREE_RECORD`]). Called
/// on the moved-aside directory too (`TREE/..thrum.tmp-PID`): the record
/// is looked up beside whatever `dir` names.
pub fn tree(dir: &Path) -> Result<(), Unrecognised> {
    let record = read_record(&parent_dir(dir).join(TREE_RECORD), KIND_TREE, || {
        format!(
            "no {TREE_RECORD} beside it records it as testgen's, so it is a project's own .thrum or one an older testgen wrote (it holds {})",
            summary(dir)
        )
    })?;
    matches_record(dir, &record, None)
}

/// A corrupted copy, owned by the record inside it ([`CORRUPT_RECORD`]).
pub fn corrupted(dir: &Path) -> Result<(), Unrecognised> {
    let record = read_record(&dir.join(CORRUPT_RECORD), KIND_CORRUPT, || {
        format!("it has no {CORRUPT_RECORD}, the record of what testgen wrote there, so it is not a corrupted copy or one an older testgen wrote (it holds {})", summary(dir))
    })?;
    matches_record(dir, &record, Some(CORRUPT_RECORD))
}

/// Refuses (exit 2) a `TREE/.thrum.testgen.json` that testgen may not
/// overwrite: anything but an absent entry or a readable record of a
/// `--tree` run.
pub fn check_tree_record(tree: &Path) -> Result<(), PublishError> {
    let path = tree.join(TREE_RECORD);
    let found = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Found::NotOurs { tool: "testgen", reason: format!("cannot be inspected: {e}") },
        Ok(m) if m.file_type().is_symlink() => Found::Symlink { target: std::fs::read_link(&path).ok() },
        Ok(m) if !m.is_file() => Found::NotOurs { tool: "testgen", reason: "it is not a regular file".into() },
        Ok(_) => match read_small(&path).ok_or_else(|| "cannot be read".to_string()).and_then(|t| Record::parse(&t, KIND_TREE)) {
            Ok(_) => return Ok(()),
            Err(why) => Found::NotOurs { tool: "testgen", reason: format!("it {why}") },
        },
    };
    Err(PublishError::Refused { path, found, advice: "choose another --tree or remove it yourself".into() })
}

/// Writes the record of `--tree` beside `TREE/.thrum` in one step (a
/// temporary file renamed over the previous record).
pub fn write_tree_record(tree: &Path, record: &Record) -> std::io::Result<()> {
    use std::io::Write;
    crate::publish::remove_stale_files(tree, TREE_RECORD);
    let tmp = tree.join(format!(".{TREE_RECORD}.tmp-{}", std::process::id()));
    if std::fs::symlink_metadata(&tmp).is_ok_and(|m| m.is_file()) {
        // left by a dead process that had our pid
        std::fs::remove_file(&tmp)?;
    }
    let r = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(record.to_json().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, tree.join(TREE_RECORD))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    if let Ok(d) = std::fs::File::open(tree) {
        let _ = d.sync_all();
    }
    r
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

    fn record_of(dir: &Path, kind: &str) -> String {
        Record::new(kind, file_sizes(dir).unwrap()).to_json()
    }

    #[test]
    fn a_record_is_canonical_json() {
        let r = Record::new(KIND_TREE, [("var/messages.db".to_string(), 7), ("config.json".to_string(), 2)].into());
        assert_eq!(r.to_json(), format!("{{\"files\":{{\"config.json\":2,\"var/messages.db\":7}},\"generator\":\"{}\",\"kind\":\"tree\"}}\n", crate::GENERATOR));
        assert_eq!(Record::parse(&r.to_json(), KIND_TREE), Ok(r.clone()));
        assert!(Record::parse(&r.to_json(), KIND_CORRUPT).unwrap_err().contains("of kind \"tree\""));
        for bad in ["../x", "/etc/passwd", "a//b", "./a", ""] {
            let t = format!("{{\"files\":{{{:?}:1}},\"generator\":\"testgen\",\"kind\":\"tree\"}}", bad);
            assert!(Record::parse(&t, KIND_TREE).unwrap_err().starts_with("records a path"), "{bad}");
        }
        let other = "{\"files\":{},\"generator\":\"othergen 1\",\"kind\":\"tree\"}";
        assert!(Record::parse(other, KIND_TREE).unwrap_err().contains("not testgen"));
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
        assert!(matches!(tree(&t), Err(Unrecognised::Not(r)) if r.starts_with("no .thrum.testgen.json beside it") && r.ends_with("(it holds config.json, identities/, var/)")));
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
        assert!(matches!(tree(&t), Err(Unrecognised::Foreign(e)) if e.to_string() == "identities/precious.json, var/thrum.sock"));
        std::fs::remove_file(t.join("identities/precious.json")).unwrap();
        std::fs::remove_file(t.join("var/thrum.sock")).unwrap();
        std::fs::write(t.join("var/messages.db"), "their data").unwrap();
        assert_eq!(tree(&t), Err(Unrecognised::Not("files differ in size from what testgen wrote (var/messages.db)".into())));
        std::fs::remove_file(t.join("var/messages.db")).unwrap();
        assert_eq!(tree(&t), Err(Unrecognised::Not("files testgen wrote there are missing (var/messages.db)".into())));
        std::os::unix::fs::symlink("/etc/hostname", t.join("var/messages.db")).unwrap();
        assert!(matches!(tree(&t), Err(Unrecognised::Foreign(e)) if e.to_string() == "var/messages.db"));
        std::fs::remove_file(t.join("var/messages.db")).unwrap();
        std::fs::write(t.join("var/messages.db"), "db").unwrap();
        assert_eq!(tree(&t), Ok(()));
        // a record of another kind, or a link to a record
        std::fs::write(tmp.path().join(TREE_RECORD), record_of(&t, KIND_CORRUPT)).unwrap();
        assert!(matches!(tree(&t), Err(Unrecognised::Not(r)) if r.starts_with("its record .thrum.testgen.json records an output of kind \"corrupt\"")));
        std::fs::write(tmp.path().join("elsewhere.json"), record_of(&t, KIND_TREE)).unwrap();
        std::fs::remove_file(tmp.path().join(TREE_RECORD)).unwrap();
        std::os::unix::fs::symlink("elsewhere.json", tmp.path().join(TREE_RECORD)).unwrap();
        assert_eq!(tree(&t), Err(Unrecognised::Not("its record .thrum.testgen.json is not a regular file".into())));
        let e = check_tree_record(tmp.path()).unwrap_err();
        assert!(matches!(&e, PublishError::Refused { found: Found::Symlink { .. }, .. }), "{e:?}");
    }

    #[test]
    fn a_corrupted_copy_is_ours_only_as_its_record_describes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join(".thrum/var")).unwrap();
        std::fs::write(d.join(".thrum/thrum.db"), "").unwrap();
        std::fs::write(d.join("FAULT.json"), "{\"fault\":\"altered-cell\"}").unwrap();
        assert!(matches!(corrupted(d), Err(Unrecognised::Not(r)) if r.starts_with("it has no .testgen-corrupt.json") && r.ends_with("(it holds .thrum/, FAULT.json)")));
        std::fs::write(d.join(CORRUPT_RECORD), record_of(d, KIND_CORRUPT)).unwrap();
        assert_eq!(corrupted(d), Ok(()));
        std::fs::write(d.join(".thrum/precious.txt"), "mine").unwrap();
        std::fs::create_dir_all(d.join(".thrum/mywork")).unwrap();
        std::fs::write(d.join(".thrum/mywork/a"), "mine").unwrap();
        assert!(matches!(corrupted(d), Err(Unrecognised::Foreign(e)) if e.to_string() == ".thrum/mywork/, .thrum/precious.txt"));
    }
}
