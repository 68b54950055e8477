//! `manifest*.json` and `SHA256SUMS` checks.
//!
//! Where they are looked for:
//! * archive input `DIR/X.tar.zst`: every `DIR/manifest*.json` is read and the
//!   one whose `archive.path` equals `X.tar.zst` is checked (archive hash and
//!   size, every file, counts, schema version); `DIR/SHA256SUMS` (the
//!   `sha256sum -c` format, paths relative to `DIR`) is checked line by line
//!   and must list the archive.
//! * directory input (`BASE/.thrum`): `BASE/manifest.json`, if present, is
//!   checked without its `archive` section; `BASE/SHA256SUMS`, if present, is
//!   checked line by line (paths relative to `BASE`, e.g. `.thrum/events.jsonl`).
//!
//! Manifest shape: `{"archive":{"path","sha256","size"},
//! "counts":{"files":{path: lines},"tables":{table: rows}},
//! "files":[{"path","sha256","size"}, … every regular file, sorted by path],
//! "generator", "profile", "schema_version", "seed"}`; paths are relative to
//! the directory holding `.thrum`.

use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use crate::util::{sha256_file, walk_files};
use crate::value::quote_ident;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// What was checked, for the report.
#[derive(Debug, Default, Clone)]
pub struct ManifestOutcome {
    pub manifest: Option<PathBuf>,
    pub checksums: Option<PathBuf>,
    pub files_checked: usize,
}

/// The `manifest*.json` files of `dir` that are regular files (a symbolic
/// link followed); one of that name that is something else is reported.
fn manifest_candidates(dir: &Path, findings: &mut Findings) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("manifest") && n.ends_with(".json"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.retain(|p| match thrum_io::regular::regular_metadata(p) {
        Ok(_) => true,
        Err(e) => {
            if let Some(nr) = thrum_io::regular::not_regular(&e) {
                findings.push(not_regular(p, &nr.found, "not read as a manifest"));
            }
            false
        }
    });
    v
}

/// The finding for a file beside the input that is not a regular file.
fn not_regular(p: &Path, found: &str, consequence: &str) -> Finding {
    Finding::new(Kind::FileNotRegular, format!("{found}; expected a regular file ({consequence})"))
        .file(p.display().to_string())
}

/// SHA-256 and size of files, each computed at most once; extracted files
/// come with the digest computed while they were written.
#[derive(Default)]
struct Digests(std::collections::HashMap<PathBuf, (String, u64)>);

impl Digests {
    fn get(&mut self, p: &Path) -> std::io::Result<(String, u64)> {
        if let Some(d) = self.0.get(p) {
            return Ok(d.clone());
        }
        let d = sha256_file(p)?;
        self.0.insert(p.to_path_buf(), d.clone());
        Ok(d)
    }
}

/// Checks the manifest and checksums that belong to `tree`. `db` is the
/// fixture database (for table counts).
pub fn check(
    tree: &Tree,
    db: &Connection,
    schema_version: Option<i64>,
    findings: &mut Findings,
) -> ManifestOutcome {
    let mut out = ManifestOutcome::default();
    let mut digests = Digests::default();
    if let Some(entries) = &tree.entries {
        for e in entries {
            if let Some(sha) = &e.sha256 {
                digests.0.insert(tree.base.join(&e.path), (sha.clone(), e.size));
            }
        }
    }
    let found = match &tree.archive {
        Some(archive) => archive_manifest(archive, findings, &mut out, &mut digests),
        None => match tree_manifest(tree, findings, &mut out, &mut digests) {
            TreeManifest::Read(path, m) => Some((path, m)),
            TreeManifest::Absent => None,
            TreeManifest::Invalid => return out,
        },
    };
    let Some((path, m)) = found else {
        findings.push(Finding::new(
            Kind::ManifestAbsent,
            "no manifest found for this input; nothing to check",
        ));
        return out;
    };
    let say = Say(path.display().to_string());
    out.manifest = Some(path);
    say.header(&m, schema_version, findings);
    if let Some(archive) = &tree.archive {
        say.archive(archive, &m, &mut digests, findings);
    }
    say.files(tree, &m, &mut digests, &mut out, findings);
    say.file_counts(tree, &m, findings);
    say.table_counts(db, &m, findings);
    say.messages_per_day(db, &m, findings);
    out
}

/// The manifest beside `archive` that names it, if any; checks the
/// checksums beside it.
fn archive_manifest(
    archive: &Path,
    findings: &mut Findings,
    out: &mut ManifestOutcome,
    digests: &mut Digests,
) -> Option<(PathBuf, Value)> {
    let dir = archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = archive.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut found = None;
    let mut broken = Vec::new();
    for c in manifest_candidates(dir, findings) {
        match thrum_io::regular::read_regular_at_most(&c, thrum_io::regular::DOCUMENT_MAX)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        {
            Some(v) => {
                if v.pointer("/archive/path").and_then(Value::as_str) == Some(name.as_str()) {
                    found = Some((c, v));
                    break;
                }
            }
            None => broken.push(c),
        }
    }
    if found.is_none() {
        for b in &broken {
            findings.push(
                Finding::new(
                    Kind::ManifestInvalid,
                    "manifest is not valid JSON (it may be this archive's)",
                )
                .file(b.display().to_string()),
            );
        }
    }
    check_checksums(dir, Some(&name), findings, out, digests);
    found
}

/// A tree's manifest: read, absent, or not valid JSON (reported: then
/// nothing else is checked).
enum TreeManifest {
    Read(PathBuf, Value),
    Absent,
    Invalid,
}

/// The manifest of an extracted or plain tree; checks its checksums.
fn tree_manifest(
    tree: &Tree,
    findings: &mut Findings,
    out: &mut ManifestOutcome,
    digests: &mut Digests,
) -> TreeManifest {
    check_checksums(&tree.base, None, findings, out, digests);
    let p = tree.base.join("manifest.json");
    match thrum_io::regular::read_regular_at_most(&p, thrum_io::regular::DOCUMENT_MAX) {
        Err(e) => {
            if let Some(nr) = thrum_io::regular::not_regular(&e) {
                findings.push(not_regular(&p, &nr.found, "not read as a manifest"));
            } else if e.kind() == std::io::ErrorKind::InvalidData {
                findings.push(
                    Finding::new(Kind::ManifestInvalid, format!("not read: {e}"))
                        .file(p.display().to_string()),
                );
            }
            TreeManifest::Absent
        }
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(v) => TreeManifest::Read(p, v),
            Err(e) => {
                findings.push(
                    Finding::new(Kind::ManifestInvalid, format!("not valid JSON: {e}"))
                        .file(p.display().to_string()),
                );
                TreeManifest::Invalid
            }
        },
    }
}

/// The findings about one manifest file.
struct Say(String);

impl Say {
    fn mismatch(&self, field: String, msg: &str) -> Finding {
        Finding::new(Kind::ManifestMismatch, msg.to_string()).file(self.0.clone()).column(field)
    }

    fn invalid(&self, field: &str, msg: &str) -> Finding {
        Finding::new(Kind::ManifestInvalid, msg.to_string())
            .file(self.0.clone())
            .column(field.to_string())
    }

    /// The generator fields, and the schema version against the database's.
    fn header(&self, m: &Value, schema_version: Option<i64>, findings: &mut Findings) {
        for (k, is_ok) in [
            ("generator", m.get("generator").is_some_and(Value::is_string)),
            ("profile", m.get("profile").is_some_and(Value::is_string)),
            ("seed", m.get("seed").is_some_and(Value::is_u64)),
            ("schema_version", m.get("schema_version").is_some_and(Value::is_i64)),
        ] {
            if !is_ok {
                findings.push(self.invalid(k, "missing or of the wrong type"));
            }
        }
        if let (Some(want), Some(have)) =
            (m.get("schema_version").and_then(Value::as_i64), schema_version)
        {
            if want != have {
                findings.push(
                    self.mismatch(
                        "schema_version".into(),
                        "schema version differs from the database's",
                    )
                    .values(want.to_string(), have.to_string()),
                );
            }
        }
    }

    /// The archive's digest and size.
    fn archive(&self, archive: &Path, m: &Value, digests: &mut Digests, findings: &mut Findings) {
        {
            match (
                m.pointer("/archive/sha256").and_then(Value::as_str),
                m.pointer("/archive/size").and_then(Value::as_u64),
            ) {
                (Some(sha), Some(size)) => match digests.get(archive) {
                    Ok((have, have_size)) => {
                        if have != sha {
                            findings.push(
                                self.mismatch("archive.sha256".into(), "archive digest differs")
                                    .values(sha, have),
                            );
                        }
                        if have_size != size {
                            findings.push(
                                self.mismatch("archive.size".into(), "archive size differs")
                                    .values(size.to_string(), have_size.to_string()),
                            );
                        }
                    }
                    Err(e) => findings.push(
                        self.mismatch("archive".into(), &format!("cannot read the archive: {e}")),
                    ),
                },
                _ => {
                    findings.push(self.invalid("archive", "archive.sha256 / archive.size missing"))
                }
            }
        }
    }

    /// Every file of the input is listed with its digest and size, and
    /// every listed file is there.
    fn files(
        &self,
        tree: &Tree,
        m: &Value,
        digests: &mut Digests,
        out: &mut ManifestOutcome,
        findings: &mut Findings,
    ) {
        let actual: Vec<String> = if tree.archive.is_some() {
            walk_files(&tree.base, &tree.base).map(|(f, _)| f).unwrap_or_default()
        } else {
            walk_files(&tree.base, &tree.thrum).map(|(f, _)| f).unwrap_or_default()
        };
        match m.get("files").and_then(Value::as_array) {
            None => findings.push(self.invalid("files", "missing or not an array")),
            Some(list) => {
                let mut listed: BTreeMap<String, (String, u64)> = BTreeMap::new();
                let mut prev: Option<String> = None;
                for (i, f) in list.iter().enumerate() {
                    let (Some(p), Some(sha), Some(size)) = (
                        f.get("path").and_then(Value::as_str),
                        f.get("sha256").and_then(Value::as_str),
                        f.get("size").and_then(Value::as_u64),
                    ) else {
                        findings.push(
                            self.invalid(
                                &format!("files[{i}]"),
                                "entry needs path, sha256 and size",
                            ),
                        );
                        continue;
                    };
                    if prev.as_deref().is_some_and(|q| q >= p) {
                        findings.push(
                            self.mismatch(
                                format!("files[{i}]"),
                                "files are not sorted by path (or repeat one)",
                            )
                            .actual(p.to_string()),
                        );
                    }
                    prev = Some(p.to_string());
                    listed.insert(p.to_string(), (sha.to_string(), size));
                }
                for p in &actual {
                    if !listed.contains_key(p) {
                        findings.push(self.mismatch(
                            format!("files[{p}]"),
                            "file in the input is not listed in the manifest",
                        ));
                    }
                }
                // one lookup per listed file (both lists come from the input)
                let present: std::collections::HashSet<&str> =
                    actual.iter().map(String::as_str).collect();
                for (p, (sha, size)) in &listed {
                    if !present.contains(p.as_str()) {
                        findings.push(self.mismatch(
                            format!("files[{p}]"),
                            "listed file is absent from the input",
                        ));
                        continue;
                    }
                    out.files_checked += 1;
                    match digests.get(&tree.base.join(p)) {
                        Ok((have, have_size)) => {
                            if &have != sha {
                                findings.push(
                                    self.mismatch(
                                        format!("files[{p}].sha256"),
                                        "file digest differs",
                                    )
                                    .values(sha.clone(), have),
                                );
                            }
                            if have_size != *size {
                                findings.push(
                                    self.mismatch(format!("files[{p}].size"), "file size differs")
                                        .values(size.to_string(), have_size.to_string()),
                                );
                            }
                        }
                        Err(e) => findings.push(
                            self.mismatch(format!("files[{p}]"), &format!("cannot read: {e}")),
                        ),
                    }
                }
            }
        }
    }

    /// Line counts of the counted files.
    fn file_counts(&self, tree: &Tree, m: &Value, findings: &mut Findings) {
        match m.pointer("/counts/files").and_then(Value::as_object) {
            None => findings.push(self.invalid("counts.files", "missing or not an object")),
            Some(files) => {
                for (p, n) in files {
                    let Some(n) = n.as_u64() else {
                        findings.push(self.invalid(&format!("counts.files[{p}]"), "not a number"));
                        continue;
                    };
                    match thrum_io::regular::count_lines(&tree.base.join(p)) {
                        Ok(have) => {
                            if have != n {
                                findings.push(
                                    self.mismatch(
                                        format!("counts.files[{p}]"),
                                        "line count differs",
                                    )
                                    .values(n.to_string(), have.to_string()),
                                );
                            }
                        }
                        Err(e) => match thrum_io::regular::not_regular(&e) {
                            Some(nr) => findings.push(self.mismatch(
                                format!("counts.files[{p}]"),
                                &format!("counted file is {}; expected a regular file", nr.found),
                            )),
                            None => {
                                findings.push(self.mismatch(
                                    format!("counts.files[{p}]"),
                                    "counted file is absent",
                                ))
                            }
                        },
                    }
                }
            }
        }
    }

    /// Row counts of the counted tables.
    fn table_counts(&self, db: &Connection, m: &Value, findings: &mut Findings) {
        match m.pointer("/counts/tables").and_then(Value::as_object) {
            None => findings.push(self.invalid("counts.tables", "missing or not an object")),
            Some(tables) => {
                for (t, n) in tables {
                    let Some(n) = n.as_u64() else {
                        findings.push(self.invalid(&format!("counts.tables[{t}]"), "not a number"));
                        continue;
                    };
                    match db.query_row(
                        &format!("SELECT count(*) FROM {}", quote_ident(t)),
                        [],
                        |r| r.get::<_, i64>(0),
                    ) {
                        Ok(have) if have as u64 == n => {}
                        Ok(have) => findings.push(
                            self.mismatch(format!("counts.tables[{t}]"), "row count differs")
                                .table(t.clone())
                                .values(n.to_string(), have.to_string()),
                        ),
                        Err(_) => findings.push(
                            self.mismatch(
                                format!("counts.tables[{t}]"),
                                "counted table does not exist",
                            )
                            .table(t.clone()),
                        ),
                    }
                }
            }
        }
    }

    /// Optional (manifests of older generators lack it): messages per UTC
    /// day of created_at, which is RFC 3339 text starting with the date.
    fn messages_per_day(&self, db: &Connection, m: &Value, findings: &mut Findings) {
        if let Some(v) = m.pointer("/counts/messages_per_day") {
            match v.as_object() {
                None => findings.push(self.invalid("counts.messages_per_day", "not an object")),
                Some(days) => {
                    let have: std::collections::BTreeMap<String, u64> = match db
                        .prepare(
                            "SELECT substr(created_at, 1, 10), count(*) FROM messages GROUP BY 1",
                        )
                        .and_then(|mut st| {
                            st.query_map([], |r| {
                                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                            })?
                            .collect()
                        }) {
                        Ok(h) => h,
                        Err(e) => {
                            findings.push(
                                self.mismatch(
                                    "counts.messages_per_day".into(),
                                    &format!("messages per day cannot be counted: {e}"),
                                )
                                .table("messages"),
                            );
                            return;
                        }
                    };
                    let mut want = std::collections::BTreeMap::new();
                    for (d, n) in days {
                        match n.as_u64() {
                            Some(n) => {
                                want.insert(d.clone(), n);
                            }
                            None => {
                                findings.push(self.invalid(
                                    &format!("counts.messages_per_day[{d}]"),
                                    "not a number",
                                ))
                            }
                        }
                    }
                    for d in
                        want.keys().chain(have.keys()).collect::<std::collections::BTreeSet<_>>()
                    {
                        let (w, h) =
                            (want.get(d).copied().unwrap_or(0), have.get(d).copied().unwrap_or(0));
                        if w != h {
                            findings.push(
                                self.mismatch(
                                    format!("counts.messages_per_day[{d}]"),
                                    "messages on that day differ",
                                )
                                .table("messages")
                                .values(w.to_string(), h.to_string()),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Checks `dir/SHA256SUMS` as for an archive named `must_list` (it must be
/// listed; an absent file is `checksums_absent`); returns its path when it was read.
pub fn check_sums_file(dir: &Path, must_list: &str, findings: &mut Findings) -> Option<PathBuf> {
    let mut out = ManifestOutcome::default();
    check_checksums(dir, Some(must_list), findings, &mut out, &mut Digests::default());
    out.checksums
}

/// Checks `dir/SHA256SUMS` (if present): every line's file and digest, and
/// for an archive input that `archive_name` is listed. For a directory input
/// (`archive_name` = `None`) the file is optional and its paths are relative
/// to the directory holding `.thrum`.
fn check_checksums(
    dir: &Path,
    archive_name: Option<&str>,
    findings: &mut Findings,
    out: &mut ManifestOutcome,
    digests: &mut Digests,
) {
    let p = dir.join("SHA256SUMS");
    let Some(bytes) = read_sums(&p, archive_name.is_some(), findings) else {
        return;
    };
    let file = p.display().to_string();
    out.checksums = Some(p);
    let mut listed_archive = false;
    for (no, raw, _) in crate::jsonl::split_lines(&bytes) {
        let at = (file.as_str(), no);
        let Some((hash, rel)) = sum_line(raw, at, findings) else {
            continue;
        };
        if archive_name.is_some_and(|a| rel.trim_start_matches("./") == a) {
            listed_archive = true;
        }
        check_sum(dir, hash, rel, at, digests, findings);
    }
    if let Some(name) = archive_name {
        if !listed_archive {
            findings.push(
                Finding::new(
                    Kind::ChecksumEntryInvalid,
                    format!("SHA256SUMS has no line for {name}"),
                )
                .file(file),
            );
        }
    }
}

/// The bytes of the checksums file `p`, or `None` (reported) when it is
/// not a regular file or cannot be read; an absent one is reported only
/// when `required` (beside an archive).
fn read_sums(p: &Path, required: bool, findings: &mut Findings) -> Option<Vec<u8>> {
    match thrum_io::regular::read_regular_at_most(p, thrum_io::regular::DOCUMENT_MAX) {
        Ok(b) => Some(b),
        Err(e) if thrum_io::regular::not_regular(&e).is_some() => {
            let found =
                thrum_io::regular::not_regular(&e).map(|nr| nr.found.clone()).unwrap_or_default();
            findings.push(not_regular(p, &found, "not read as SHA256SUMS"));
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            findings.push(
                Finding::new(Kind::ChecksumEntryInvalid, format!("not read: {e}"))
                    .file(p.display().to_string()),
            );
            None
        }
        Err(_) => {
            if required {
                findings
                    .push(Finding::new(Kind::ChecksumsAbsent, "no SHA256SUMS beside the archive"));
            }
            None
        }
    }
}

/// A line of a checksums file: the file's path and the line's number.
type At<'a> = (&'a str, u64);

/// The finding `kind` about the checksums line `at`.
fn at_line(at: At, kind: Kind, message: impl Into<String>) -> Finding {
    Finding::new(kind, message).at(at.0, at.1)
}

/// One line of a checksums file as `(digest, path)`: `None` for a blank
/// line, and (reported at `at`) for one that is not `<64 lowercase hex>
/// <path>` or whose path is not relative without `..`.
fn sum_line<'a>(raw: &'a [u8], at: At, findings: &mut Findings) -> Option<(&'a str, &'a str)> {
    let Ok(line) = std::str::from_utf8(raw) else {
        findings.push(at_line(at, Kind::ChecksumEntryInvalid, "line is not valid UTF-8"));
        return None;
    };
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return None;
    }
    let parsed = (line.len() > 66 && line.is_char_boundary(64) && line.is_char_boundary(66))
        .then(|| (&line[..64], &line[64..66], &line[66..]))
        .filter(|(h, sep, _)| {
            h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                && (*sep == "  " || *sep == " *")
        });
    let Some((hash, _, rel)) = parsed else {
        findings.push(at_line(
            at,
            Kind::ChecksumEntryInvalid,
            "expected `<64 lowercase hex>  <path>`",
        ));
        return None;
    };
    let rp = Path::new(rel);
    if rel.contains('\0')
        || rp.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        findings.push(
            at_line(at, Kind::ChecksumEntryInvalid, "path must be relative without '..'")
                .actual(rel.to_string()),
        );
        return None;
    }
    Some((hash, rel))
}

/// The file `rel` of a checksums line (at `at`) below `dir`: a regular
/// file whose digest is `hash`.
fn check_sum(
    dir: &Path,
    hash: &str,
    rel: &str,
    at: At,
    digests: &mut Digests,
    findings: &mut Findings,
) {
    let target = dir.join(rel);
    if let Err(e) = thrum_io::regular::regular_metadata(&target) {
        let f = match thrum_io::regular::not_regular(&e) {
            Some(nr) => at_line(
                at,
                Kind::FileNotRegular,
                format!("{rel} is {}; expected a regular file (not hashed)", nr.found),
            ),
            None => at_line(at, Kind::ChecksumFileMissing, format!("{rel} does not exist")),
        };
        findings.push(f);
        return;
    }
    let f = match digests.get(&target) {
        Err(_) => at_line(at, Kind::ChecksumFileMissing, format!("{rel} cannot be read")),
        Ok((have, _)) if have != hash => {
            at_line(at, Kind::ChecksumMismatch, format!("{rel}: digest differs"))
                .key(format!("path={rel}"))
                .values(hash.to_string(), have)
        }
        Ok(_) => return,
    };
    findings.push(f);
}
