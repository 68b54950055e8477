//! Ownership records: what a tool wrote below one directory, so that a
//! later run replaces that directory only when it holds exactly that.
//!
//! A record is canonical JSON (keys sorted, no spaces) followed by a
//! newline: `{"files":{"<path>":<bytes>,...},"generator":"<tool>
//! <version>","kind":"<kind>"}`, paths relative with `/`. A directory
//! [`matches()`] its record when its regular files are exactly the recorded
//! ones with the recorded sizes and nothing else is there but empty
//! directories (no link, no special file).

use crate::publish::{listing, Entries, Unrecognised};
use crate::text::{shown_name, shown_path};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;

/// Largest record (or marker file) read.
const MAX_READ: u64 = 64 << 20;

/// Reads `p` when it is a regular file (not a link) of at most 64 MiB.
pub fn read_small(p: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(p).ok()?;
    if !meta.is_file() || meta.len() > MAX_READ {
        return None;
    }
    let mut s = String::new();
    std::fs::File::open(p).ok()?.take(MAX_READ).read_to_string(&mut s).ok()?;
    Some(s)
}

/// `tool`, with any version (`tool` or `tool 1.2.3`).
pub fn is_generator(generator: &str, tool: &str) -> bool {
    generator == tool || generator.strip_prefix(tool).is_some_and(|v| v.starts_with(' '))
}

/// An ownership record: what a tool wrote below one directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Every regular file written, relative path (with `/`) to size in bytes.
    pub files: BTreeMap<String, u64>,
    /// `<tool> <version>`.
    pub generator: String,
    /// What kind of output it records (the tool's own names).
    pub kind: String,
}

impl Record {
    /// A record by `generator` (`<tool> <version>`) of `kind` for `files`.
    pub fn new(generator: &str, kind: &str, files: BTreeMap<String, u64>) -> Record {
        Record { files, generator: generator.to_string(), kind: kind.to_string() }
    }

    /// The canonical text: fields and paths sorted, no spaces, a newline.
    pub fn to_json(&self) -> String {
        // the fields are declared in sorted order and `files` is a BTreeMap
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }

    /// Parses `text` as a record of `tool` of `kind`; the error says why not.
    pub fn parse(text: &str, tool: &str, kind: &str) -> Result<Record, String> {
        let r: Record = serde_json::from_str(text)
            .map_err(|e| format!("is not a record {tool} writes ({e})"))?;
        if !is_generator(&r.generator, tool) {
            return Err(format!("names {:?}, not {tool}, as its generator", r.generator));
        }
        if r.kind != kind {
            return Err(format!("records an output of kind {:?}, not {kind:?}", r.kind));
        }
        if let Some(bad) = r.files.keys().find(|p| !is_plain_relative(p)) {
            return Err(format!(
                "records a path that is not plainly relative ({})",
                shown_name(bad)
            ));
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

/// A few of the entries directly in `dir` (directories end in `/`), or
/// `nothing`, for a message.
pub fn summary(dir: &Path) -> String {
    let mut e = Entries::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            e.add(if is_dir { format!("{name}/") } else { name });
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
/// and nothing else is there but empty directories; `tool` names the
/// writer in the reasons.
pub fn matches(
    dir: &Path,
    record: &Record,
    own: Option<&str>,
    tool: &str,
) -> Result<(), Unrecognised> {
    let mut set: HashSet<String> = record.files.keys().cloned().collect();
    set.extend(own.map(str::to_string));
    let mut foreign = Entries::new();
    listing::foreign_entries(dir, &set, &mut foreign).map_err(Unrecognised::Not)?;
    if !foreign.is_empty() {
        return Err(Unrecognised::Foreign(foreign));
    }
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
        return Err(Unrecognised::Not(format!("files {tool} wrote there are missing ({missing})")));
    }
    if !changed.is_empty() {
        return Err(Unrecognised::Not(format!(
            "files differ in size from what {tool} wrote ({changed})"
        )));
    }
    Ok(())
}

/// Reads the record at `path` of `tool` and `kind`; `absent` says what it
/// means when there is none.
pub fn read(
    path: &Path,
    tool: &str,
    kind: &str,
    absent: impl FnOnce() -> String,
) -> Result<Record, Unrecognised> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Unrecognised::Not(absent()))
        }
        Err(e) => return Err(Unrecognised::Not(format!("cannot read {}: {e}", shown_path(path)))),
        Ok(m) if !m.is_file() => {
            return Err(Unrecognised::Not(format!("its record {name} is not a regular file")))
        }
        Ok(_) => {}
    }
    let text = read_small(path)
        .ok_or_else(|| Unrecognised::Not(format!("its record {name} cannot be read")))?;
    Record::parse(&text, tool, kind)
        .map_err(|why| Unrecognised::Not(format!("its record {name} {why}")))
}

/// `Ok` when `dir` is owned by the record `name` inside it, of `tool` and
/// `kind` ([`read`], then [`matches`]); `what` names such a directory (`"a
/// crash state"`) in the reason given when it has no record.
pub fn owned_inside(
    dir: &Path,
    name: &str,
    tool: &str,
    kind: &str,
    what: &str,
) -> Result<(), Unrecognised> {
    let record = read(&dir.join(name), tool, kind, || {
        format!(
            "it has no {name}, the record of what {tool} wrote there, so it is not {what} or one \
             an older {tool} wrote (it holds {})",
            summary(dir)
        )
    })?;
    matches(dir, &record, Some(name), tool)
}

/// Writes `record` as `dir/name` in one step (a temporary file renamed
/// over the previous record; temporaries of dead runs are removed first:
/// [`crate::cleanup::write_replacing`]).
pub fn write_beside(dir: &Path, name: &str, record: &Record) -> std::io::Result<()> {
    crate::cleanup::write_replacing(&dir.join(name), record.to_json().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_canonical_json_and_parsed_strictly() {
        let r = Record::new(
            "tool 1.0",
            "tree",
            [("var/messages.db".to_string(), 7), ("config.json".to_string(), 2)].into(),
        );
        assert_eq!(
            r.to_json(),
            "{\"files\":{\"config.json\":2,\"var/messages.db\":7},\
            \"generator\":\"tool 1.0\",\"kind\":\"tree\"}\n"
        );
        assert_eq!(Record::parse(&r.to_json(), "tool", "tree"), Ok(r.clone()));
        assert!(Record::parse(&r.to_json(), "tool", "corrupt")
            .unwrap_err()
            .contains("of kind \"tree\""));
        assert!(Record::parse(&r.to_json(), "to", "tree").unwrap_err().contains("not to,"));
        for bad in ["../x", "/etc/passwd", "a//b", "./a", ""] {
            let t =
                format!("{{\"files\":{{{:?}:1}},\"generator\":\"tool\",\"kind\":\"tree\"}}", bad);
            assert!(
                Record::parse(&t, "tool", "tree").unwrap_err().starts_with("records a path"),
                "{bad}"
            );
        }
    }
}
