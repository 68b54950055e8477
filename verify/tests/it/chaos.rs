//! The whole fault catalogue of `testgen corrupt`, end to end: a small
//! fixture is generated, each fault is injected into a copy, and the
//! `verify` binary must report the fault's specific finding at the injected
//! place (file and line, or table and key) and exit with code 1. Each
//! corrupted copy is also compared with the original, independently of the
//! `Applied` record, to prove the fault is what the record says.

use rusqlite::Connection;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use thrum_chaos::{self as corrupt, Applied, Fault, CATALOGUE};
use thrum_gen::Profile;

struct Base {
    archive: PathBuf,
    /// The original tree, extracted.
    tree: PathBuf,
    /// Where both are: this process's own directory, never removed by another's run.
    _dir: thrum_io::cleanup::TempDir,
}

/// One small fixture for every test of this file, under cargo's scratch
/// directory for integration tests. A static is never dropped, so the
/// directory outlives the process; the next run collects it, and only it:
/// test processes of this file may run side by side (`cargo nextest`, two
/// checkouts' runs), each on its own base.
fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = crate::common::scratch("chaos-base-");
        let out = dir.path().join("fx");
        let mut opts = testgen::Options::new(&out);
        opts.profile = Profile::small();
        opts.v5 = false;
        testgen::generate(&opts).unwrap();
        let archive = out.join(testgen::ARCHIVE);
        let tree = dir.path().join("orig");
        thrum_io::extract::extract(&archive, &tree, &thrum_io::extract::Limits::default()).unwrap();
        Base { archive, tree, _dir: dir }
    })
}

fn run_verify(path: &Path) -> (i32, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(["replay", "--json", "--max-diffs", "0"])
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), v, stderr)
}

fn field<'a>(f: &'a Value, k: &str) -> Option<&'a str> {
    f.get(k).and_then(Value::as_str)
}

/// Does finding `f` name exactly the place `a` records?
fn names_the_place(f: &Value, a: &Applied, out: &Path) -> bool {
    let file_ok = match a.file.as_deref() {
        None => f.get("file").is_none(),
        // SHA256SUMS is named by its path on disk
        Some("SHA256SUMS") => {
            field(f, "file") == Some(out.join("SHA256SUMS").display().to_string().as_str())
        }
        Some(p) => field(f, "file") == Some(p),
    };
    file_ok
        && f.get("line").and_then(Value::as_u64) == a.line
        && field(f, "table") == a.table.as_deref()
        && field(f, "key") == a.key.as_deref()
        && field(f, "column") == a.column.as_deref()
}

fn lines(p: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(p).unwrap();
    let mut v: Vec<Vec<u8>> = b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
    if v.last().is_some_and(Vec::is_empty) {
        v.pop();
    }
    v
}

fn rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    // immutable: a read-only connection to a WAL database would leave -shm/-wal files
    let uri = format!("file:{}?mode=ro&immutable=1", db.display());
    let c = Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Independent check of the corrupted copy against the original.
fn check_the_damage(fault: Fault, a: &Applied, orig: &Path, out: &Path) {
    let changed = a.changed.clone();
    // every file but the changed one is byte-identical
    let list = |root: &Path| -> BTreeMap<String, Vec<u8>> {
        let (files, other) = verify::internals::walk_files(root, root).unwrap();
        assert!(other.is_empty());
        files.into_iter().map(|f| (f.clone(), std::fs::read(root.join(&f)).unwrap())).collect()
    };
    let (before, after) = (list(orig), list(out));
    // testgen's own files beside the tree: what was injected, and its ownership record
    let own = |k: &str| k == "FAULT.json" || k == testgen::recognise::CORRUPT_RECORD;
    for (k, v) in &before {
        if *k != changed && !own(k) {
            assert_eq!(after.get(k), Some(v), "{fault:?}: {k} must be untouched");
        }
    }
    for k in after.keys() {
        assert!(
            before.contains_key(k) || *k == changed || own(k),
            "{fault:?}: unexpected file {k}"
        );
    }
    let line_no = a.line.unwrap_or(0) as usize;
    let orig_file = orig.join(&changed);
    let out_file = out.join(&changed);
    match fault {
        Fault::MalformedJson | Fault::InvalidUtf8 | Fault::LineTooLong => {
            let (o, n) = (lines(&orig_file), lines(&out_file));
            assert_eq!(o.len(), n.len());
            let differing: Vec<usize> =
                (0..o.len()).filter(|&i| o[i] != n[i]).map(|i| i + 1).collect();
            assert_eq!(differing, vec![line_no], "{fault:?}: exactly the named line changed");
            let line = &n[line_no - 1];
            match fault {
                Fault::MalformedJson => assert!(serde_json::from_slice::<Value>(line).is_err()),
                Fault::InvalidUtf8 => assert!(std::str::from_utf8(line).is_err()),
                _ => {
                    assert!(line.len() > verify::internals::MAX_LINE_BYTES);
                    let v: Value = serde_json::from_slice(line).unwrap();
                    assert_eq!(v["type"], "message.create");
                }
            }
        }
        Fault::TornFinalLine => {
            let (o, n) = (std::fs::read(&orig_file).unwrap(), std::fs::read(&out_file).unwrap());
            assert!(
                n.len() < o.len() && o.starts_with(&n) && !n.ends_with(b"\n"),
                "a strict prefix without the final newline"
            );
            assert_eq!(lines(&out_file).len(), line_no);
            assert_eq!(lines(&orig_file).len(), line_no);
        }
        Fault::DuplicateEventId => {
            let n = lines(&out_file);
            assert_eq!(n[line_no - 1], n[line_no - 2]);
            assert_eq!(n.len(), lines(&orig_file).len() + 1);
        }
        Fault::UnknownEventType | Fault::EditMissingMessage => {
            let (o, n) = (lines(&orig_file), lines(&out_file));
            assert_eq!(&n[..o.len()], &o[..]);
            assert_eq!(n.len(), o.len() + 1);
            assert_eq!(line_no, n.len());
            let v: Value = serde_json::from_slice(&n[line_no - 1]).unwrap();
            if fault == Fault::UnknownEventType {
                assert!(!thrum_schemas::events::types::ALL.contains(&v["type"].as_str().unwrap()));
            } else {
                assert_eq!(v["type"], "message.edit");
                let mid = v["message_id"].as_str().unwrap();
                assert!(rows(
                    &orig.join(".thrum/var/messages.db"),
                    &format!("SELECT 1 FROM messages WHERE message_id = '{mid}'")
                )
                .is_empty());
            }
            assert_eq!(
                format!("event_id={}", v["event_id"].as_str().unwrap()),
                a.key.clone().unwrap()
            );
        }
        Fault::SequenceOutOfOrder => {
            let (o, n) = (lines(&orig_file), lines(&out_file));
            let v: Value = serde_json::from_slice(&n[line_no - 1]).unwrap();
            let w: Value = serde_json::from_slice(&o[line_no - 1]).unwrap();
            assert_eq!(
                v["sequence"].as_i64().unwrap(),
                w["sequence"].as_i64().unwrap() - 1,
                "the named line's sequence went down by one"
            );
            let mut v2 = v.clone();
            v2["sequence"] = w["sequence"].clone();
            assert_eq!(v2, w, "nothing else changed on the line");
        }
        Fault::MissingShard => {
            assert!(orig_file.is_file() && !out_file.exists());
            assert_eq!(Some(changed.clone()), a.file);
        }
        Fault::ReadMissingMessage
        | Fault::AlteredCell
        | Fault::MissingRow
        | Fault::ExtraRow
        | Fault::WrongSchemaVersion => {
            let (o, n) = (orig.join(".thrum/var/messages.db"), out.join(".thrum/var/messages.db"));
            let key = a.key.clone().unwrap_or_default();
            let kv: BTreeMap<&str, &str> =
                key.split(", ").filter_map(|p| p.split_once('=')).collect();
            match fault {
                Fault::ReadMissingMessage => {
                    let q = format!(
                        "SELECT 1 FROM message_reads WHERE message_id = '{}' AND session_id = '{}'",
                        kv["message_id"], kv["session_id"]
                    );
                    assert!(rows(&o, &q).is_empty() && rows(&n, &q).len() == 1);
                    assert!(rows(
                        &n,
                        &format!(
                            "SELECT 1 FROM messages WHERE message_id = '{}'",
                            kv["message_id"]
                        )
                    )
                    .is_empty());
                }
                Fault::AlteredCell => {
                    let q = format!(
                        "SELECT body_content FROM messages WHERE message_id = '{}'",
                        kv["message_id"]
                    );
                    assert_ne!(rows(&o, &q), rows(&n, &q));
                    let q = "SELECT * FROM messages WHERE message_id <> '".to_string()
                        + kv["message_id"]
                        + "' ORDER BY 1";
                    assert_eq!(rows(&o, &q), rows(&n, &q));
                }
                Fault::MissingRow | Fault::ExtraRow => {
                    let t = a.table.as_deref().unwrap();
                    let cond: Vec<String> =
                        kv.iter().map(|(k, v)| format!("{k} = '{v}'")).collect();
                    let q = format!("SELECT 1 FROM {t} WHERE {}", cond.join(" AND "));
                    let (was, is) = (rows(&o, &q).len(), rows(&n, &q).len());
                    assert_eq!((was, is), if fault == Fault::MissingRow { (1, 0) } else { (0, 1) });
                    let count = format!("SELECT count(*) FROM {t}");
                    let (co, cn) = (rows(&o, &count)[0][0].clone(), rows(&n, &count)[0][0].clone());
                    assert_ne!(co, cn);
                }
                _ => assert_eq!(
                    rows(&n, "SELECT version FROM schema_version"),
                    vec![vec!["Integer(14)".to_string()]]
                ),
            }
        }
        Fault::TruncatedDb => {
            let (o, n) = (std::fs::read(&orig_file).unwrap(), std::fs::read(&out_file).unwrap());
            assert_eq!(n.len(), o.len() - 2048);
            assert!(o.starts_with(&n));
        }
        Fault::GarbageWal => {
            assert!(!orig_file.exists());
            assert_eq!(std::fs::metadata(&out_file).unwrap().len(), 8272);
            assert!(matches!(
                verify::internals::inspect_wal(&out.join(".thrum/var/messages.db")),
                verify::internals::WalStatus::Invalid { .. }
            ));
        }
        Fault::IdentityWrongVersion => {
            let o: Value = serde_json::from_slice(&std::fs::read(&orig_file).unwrap()).unwrap();
            let mut n: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
            assert_eq!(n["version"], 3);
            n["version"] = o["version"].clone();
            assert_eq!(n, o);
        }
        Fault::ChecksumMismatch => {
            let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
            let listed: Vec<(&str, &str)> = sums.lines().map(|l| (&l[..64], &l[66..])).collect();
            let (files, _) = verify::internals::walk_files(orig, &orig.join(".thrum")).unwrap();
            assert_eq!(
                listed.iter().map(|(_, p)| p.to_string()).collect::<Vec<_>>(),
                files,
                "every file of the tree, sorted"
            );
            let wrong: Vec<usize> = listed
                .iter()
                .enumerate()
                .filter(|(_, (h, p))| thrum_io::hash::sha256_file(&out.join(p)).unwrap().0 != *h)
                .map(|(i, _)| i + 1)
                .collect();
            assert_eq!(wrong, vec![line_no]);
        }
    }
}

#[test]
fn every_fault_is_reported_specifically_at_its_place() {
    let b = base();
    let dir = tempfile::tempdir().unwrap();
    let mut summary = Vec::new();
    // (fault, kind) reported but not in the fault's "also" list
    let mut unnamed: Vec<(&str, String)> = Vec::new();
    for info in CATALOGUE {
        let out = dir.path().join(info.name);
        let a = corrupt::corrupt(&b.archive, info.fault, 42, &out)
            .unwrap_or_else(|e| panic!("{}: {e}", info.name));
        assert_eq!((a.fault, a.finding, a.exit_code), (info.name, info.finding, info.exit_code));
        // FAULT.json records the same
        let recorded: Value =
            serde_json::from_slice(&std::fs::read(out.join("FAULT.json")).unwrap()).unwrap();
        assert_eq!(recorded, serde_json::to_value(&a).unwrap());
        check_the_damage(info.fault, &a, &b.tree, &out);

        let (code, report, stderr) = run_verify(&out);
        assert_eq!(code, info.exit_code as i32, "{}: exit code\n{stderr}\n{report:#}", info.name);
        let findings = report["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no JSON report: {stderr}", info.name));
        let hits: Vec<&Value> =
            findings.iter().filter(|f| field(f, "kind") == Some(info.finding)).collect();
        assert!(
            hits.iter().any(|f| names_the_place(f, &a, &out)),
            "{}: no {} finding at {:?}; findings of that kind: {hits:#?}",
            info.name,
            info.finding,
            (a.file.as_deref(), a.line, a.table.as_deref(), a.key.as_deref(), a.column.as_deref())
        );
        assert!(report["errors"].as_u64().unwrap() >= 1);
        // every other kind reported (errors and warnings) is one the catalogue names
        for k in
            findings.iter().filter(|f| f["severity"] != "info").filter_map(|f| field(f, "kind"))
        {
            if k != info.finding
                && !info.consequences.contains(k)
                && !unnamed.contains(&(info.name, k.to_owned()))
            {
                unnamed.push((info.name, k.to_owned()));
            }
        }
        summary.push(format!(
            "{:<24} {:<26} {} finding(s) of {} kinds",
            info.name,
            info.finding,
            report["finding_counts"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>(),
            report["finding_counts"].as_object().unwrap().len()
        ));
    }
    eprintln!("{}", summary.join("\n"));
    assert_eq!(unnamed, vec![], "kinds reported that the catalogue does not name");
}

/// Faults whose only error is their own finding (they change one thing the
/// verifier compares, and nothing else follows from it).
#[test]
fn isolated_faults_cause_nothing_else() {
    let b = base();
    let dir = tempfile::tempdir().unwrap();
    for (fault, extra) in [
        (Fault::AlteredCell, &[][..]),
        (Fault::MissingRow, &[]),
        (Fault::ExtraRow, &[]),
        (Fault::WrongSchemaVersion, &[]),
        (Fault::GarbageWal, &[]),
        (Fault::IdentityWrongVersion, &[]),
        (Fault::ChecksumMismatch, &[]),
        (Fault::ReadMissingMessage, &["foreign_key_violation"]),
        (Fault::UnknownEventType, &["event_log_missing"]),
        (Fault::EditMissingMessage, &["event_log_missing", "event_target_missing"]),
        (Fault::SequenceOutOfOrder, &["event_log_differs"]),
        (Fault::InvalidUtf8, &["cell_differs", "event_log_differs"]),
        (Fault::LineTooLong, &["event_log_extra", "rebuild_aborts", "row_extra", "sequence_gap"]),
    ] {
        let out = dir.path().join(fault.name());
        corrupt::corrupt(&b.archive, fault, 42, &out).unwrap();
        let (_, report, _) = run_verify(&out);
        let mut kinds: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] != "info")
            .filter_map(|f| field(f, "kind"))
            .collect();
        kinds.sort();
        kinds.dedup();
        let mut want: Vec<&str> = extra.iter().copied().chain([fault.info().finding]).collect();
        want.sort();
        assert_eq!(kinds, want, "{}", fault.name());
    }
}

#[test]
fn the_unknown_type_alone_is_a_warning_and_a_valid_wal_is_reported_not_silently_applied() {
    let b = base();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("u");
    corrupt::corrupt(&b.archive, Fault::UnknownEventType, 7, &out).unwrap();
    let (_, report, _) = run_verify(&out);
    let w: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "event_type_unknown")
        .collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0]["severity"], "warning");
    assert_eq!(w[0]["actual"], "agent.hibernate");

    // a real WAL holding a committed change: reported, and its change is seen
    let copy = dir.path().join("wal");
    thrum_io::extract::extract(&b.archive, &copy, &thrum_io::extract::Limits::default()).unwrap();
    let db = copy.join(".thrum/var/messages.db");
    let c = Connection::open(&db).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.execute("UPDATE messages SET body_format = 'plain' WHERE rowid = 1", []).unwrap();
    // copy the tree while the WAL is still there (closing would checkpoint it)
    let snap = dir.path().join("snap");
    assert!(Command::new("cp").arg("-r").arg(&copy).arg(&snap).status().unwrap().success());
    drop(c);
    let (code, report, _) = run_verify(&snap);
    assert_eq!(code, 1);
    let kinds: Vec<&str> =
        report["findings"].as_array().unwrap().iter().filter_map(|f| field(f, "kind")).collect();
    assert!(kinds.contains(&"crash_wal_uncheckpointed"), "{kinds:?}");
    assert!(kinds.contains(&"cell_differs"), "the WAL's change was applied: {kinds:?}");
}

#[test]
fn an_invalid_byte_is_applied_as_u_fffd_and_shows_on_the_body() {
    let b = base();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("u");
    let a = corrupt::corrupt(&b.archive, Fault::InvalidUtf8, 42, &out).unwrap();
    let line = &lines(&out.join(&a.changed))[a.line.unwrap() as usize - 1];
    let offset = line.iter().position(|&c| c == 0xFF).unwrap();
    let (code, report, _) = run_verify(&out);
    assert_eq!(code, 1);
    let findings = report["findings"].as_array().unwrap();
    let of = |k: &str| findings.iter().filter(|f| f["kind"] == k).collect::<Vec<_>>();
    let w = of("jsonl_invalid_utf8");
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(
        (w[0]["severity"].as_str(), field(w[0], "file")),
        (Some("warning"), a.file.as_deref())
    );
    assert_eq!(
        (w[0]["line"].as_u64(), field(w[0], "actual")),
        (a.line, Some(format!("byte offset {offset}").as_str()))
    );
    // the body of the line's message, which differs by the replacement character alone
    let v: Value = serde_json::from_str(&String::from_utf8_lossy(line)).unwrap();
    let key = format!("message_id={}", v["message_id"].as_str().unwrap());
    let cells = of("cell_differs");
    assert_eq!(cells.len(), 1, "{cells:#?}");
    let c = cells[0];
    assert_eq!(
        (field(c, "table"), field(c, "key"), field(c, "column")),
        (Some("messages"), Some(key.as_str()), Some("body_content"))
    );
    let (exp, act) = (field(c, "expected").unwrap(), field(c, "actual").unwrap());
    assert!(exp.starts_with("\"\u{FFFD}"), "{c:#}");
    // values are shown shortened: compare their beginnings
    let head = |s: &str| s.chars().take(40).collect::<String>();
    assert_eq!(head(&exp.replacen('\u{FFFD}', "", 1)), head(act), "{c:#}");
    for k in ["row_extra", "row_missing", "sequence_gap", "event_log_extra", "jsonl_unparsable"] {
        assert!(of(k).is_empty(), "{k}: {report:#}");
    }
}
