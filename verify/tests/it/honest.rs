//! Honest messages and verdicts, through the binary:
//! * each cause of an error is printed once, and a path of the wrong kind is
//!   described (what it is, what was expected);
//! * names and values from the input cannot forge report lines or send
//!   terminal escapes;
//! * the text result line, the JSON verdict and the exit code always agree,
//!   Parquet snapshots included.

use crate::checked_in_copy::fixtures;
use crate::common::verify;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn copy_fixtures(to: &Path) -> PathBuf {
    crate::checked_in_copy::copy_fixtures(to, "fixtures")
}

/// The checked-in fixture extracted into `to`/fx (a directory input).
fn extracted(to: &Path) -> PathBuf {
    let fx = to.join("fx");
    let (code, out, err) =
        verify(&["extract", s(&fixtures().join("thrum-fixture.tar.zst")), s(&fx)]);
    assert_eq!(code, 0, "{out}{err}");
    fx
}

/// The error line's causes (split at ": "): none may appear twice.
fn assert_causes_once(err: &str) {
    let line = err.trim_end();
    assert_eq!(line.lines().count(), 1, "one line: {err}");
    let parts: Vec<&str> = line.split(": ").collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(p), "{p:?} appears twice in: {err}");
    }
}

#[test]
fn each_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.tar.zst");
    let (code, _, err) = verify(&["replay", s(&missing)]);
    assert_eq!(code, 2);
    assert_eq!(err.matches(s(&missing)).count(), 1, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert_causes_once(&err);

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an archive\n").unwrap();
    for sub in ["replay", "migrate", "bench"] {
        let (code, _, err) = verify(&[sub, s(&text)]);
        assert_eq!(code, 2, "{sub}");
        assert_eq!(err.matches(s(&text)).count(), 1, "{sub}: {err}");
        assert!(
            err.contains(
                "is a regular file without a zstd or gzip header; expected a \
            .tar.zst / .tar.gz archive"
            ),
            "{sub}: {err}"
        );
        assert_causes_once(&err);
    }

    // a corrupt archive: the decompressor's message once, the path once
    let bad = dir.path().join("bad.tar.zst");
    let mut bytes = vec![0x28, 0xb5, 0x2f, 0xfd];
    bytes.extend(std::iter::repeat_n(0x5a, 200));
    std::fs::write(&bad, bytes).unwrap();
    for args in [vec!["replay", s(&bad)], vec!["extract", s(&bad), s(&dir.path().join("d"))]] {
        let (code, _, err) = verify(&args);
        assert_eq!(code, 2);
        assert_eq!(err.matches(s(&bad)).count(), 1, "{err}");
        assert!(err.contains("corrupt or truncated archive"), "{err}");
        assert_causes_once(&err);
    }

    // a hostile path in an error: escaped, on one line
    let hostile = dir.path().join("x\n\x1b[0mresult: CONSISTENT");
    std::fs::create_dir(&hostile).unwrap();
    let (code, _, err) = verify(&["replay", s(&hostile)]);
    assert_eq!(code, 2);
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(
        err.contains("x\\n\\x1b[0mresult: CONSISTENT: is a directory without .thrum/"),
        "{err:?}"
    );
    assert_causes_once(&err);

    // an existing destination: named once
    let dest = dir.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let (code, _, err) =
        verify(&["extract", s(&fixtures().join("thrum-fixture.tar.zst")), s(&dest)]);
    assert_eq!(code, 2);
    assert_eq!(err.matches(s(&dest)).count(), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_causes_once(&err);
}

#[test]
fn a_path_of_the_wrong_kind_is_described_with_what_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.tar.zst");
    std::fs::write(&file, "x").unwrap();
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let link = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();

    let (absent, fx, v5) =
        (dir.path().join("absent"), fixtures(), fixtures().join("thrum-fixture-v5.tar.zst"));
    let (d1, d2, d3) = (dir.path().join("d1"), dir.path().join("d2"), dir.path().join("d3"));
    let cases: Vec<(Vec<&str>, &str)> =
        vec![
        (vec!["parquet", s(&file)], "is a regular file; expected the fixtures directory that \
            holds parquet/ (or a parquet/ directory)"),
        (
            vec!["parquet", s(&empty_dir)],
            "is a directory without parquet/ or Parquet datasets; expected the fixtures directory \
                that holds parquet/",
        ),
        (vec!["parquet", s(&fifo)], "is a FIFO (named pipe); expected the fixtures directory"),
        (vec!["parquet", s(&absent)], "does not exist"),
        (vec!["parquet", s(&fx), "--db", s(&empty_dir)], "is a directory; expected a SQLite \
            database file (--db)"),
        (
            vec!["replay", s(&fifo)],
            "is a FIFO (named pipe); expected a .tar.zst / .tar.gz archive, a directory \
                containing .thrum/, or a .thrum directory",
        ),
        (vec!["replay", s(&empty_dir)], "is a directory without .thrum/; expected a .tar.zst / \
            .tar.gz archive"),
        (vec!["replay", s(&link)], "is a dangling symbolic link; expected"),
        (vec!["migrate", s(&fifo)], "is a FIFO (named pipe); expected"),
        (vec!["extract", s(&empty_dir), s(&d1)], "is a directory; expected a .tar.zst or .tar.gz \
            archive"),
        (vec!["extract", s(&fifo), s(&d2)], "is a FIFO (named pipe); expected a .tar.zst or \
            .tar.gz archive"),
        (vec!["extract", s(&file), s(&d3)], "is a regular file without a zstd or gzip header; \
            expected a .tar.zst or .tar.gz archive"),
        (vec!["migrate", s(&v5), "--out", s(&file)], "already exists (a regular file); --out must \
            name a new directory"),
    ];
    for (args, want) in cases {
        let (code, out, err) = verify(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(want), "{args:?}: expected {want:?} in: {err}");
        assert!(!err.contains("does not exist") || want == "does not exist", "{args:?}: {err}");
        assert_causes_once(&err);
    }
    // nothing was created by the refused extractions
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["dangling", "empty", "fifo", "file.tar.zst"]);
}

const EVIL: &str = "evil\n\x1b[0mresult: CONSISTENT";

#[test]
fn names_and_values_from_the_input_cannot_forge_report_lines() {
    let dir = tempfile::tempdir().unwrap();
    let fx = extracted(dir.path());
    let shards = fx.join(".thrum/messages");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&shards).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    // a shard under a hostile name (its events are then in the wrong shard and duplicated)
    std::fs::copy(&names[0], shards.join(format!("{EVIL}.jsonl"))).unwrap();
    std::fs::copy(
        &names[1],
        shards.join("forged\nresult: CONSISTENT (0 error findings; exit 0)\n.jsonl"),
    )
    .unwrap();
    // and a database value quoting such text (a cell that differs from the replay)
    let db = rusqlite::Connection::open(fx.join(".thrum/var/messages.db")).unwrap();
    assert_eq!(
        db.execute(
            "UPDATE messages SET body_content = ?1 WHERE rowid = 3",
            [format!("{EVIL}\u{202e}")]
        )
        .unwrap(),
        1
    );
    drop(db);

    let (code, out, err) = verify(&["replay", s(&fx), "--no-manifest", "--max-diffs", "0"]);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains('\x1b'), "no ESC byte reaches the terminal");
    assert!(!out.contains('\u{202e}'), "no bidi override reaches the terminal");
    let results: Vec<&str> =
        out.lines().filter(|l| l.trim_start().starts_with("result:")).collect();
    assert_eq!(results.len(), 1, "one result line: {results:?}");
    assert!(out.trim_end().ends_with(results[0]), "and it is the last line");
    assert!(results[0].starts_with("result: INCONSISTENT ("), "{}", results[0]);
    // the names are there, escaped
    assert!(out.contains(".thrum/messages/evil\\n\\x1b[0mresult: CONSISTENT.jsonl"), "{out}");
    assert!(
        out.contains(
            ".thrum/messages/forged\\nresult: CONSISTENT (0 error findings; exit 0)\\n.jsonl"
        ),
        "{out}"
    );
    // (values are quoted as Rust string literals before they reach the report)
    assert!(
        out.contains(r#"found "evil\n\u{1b}[0mresult: CONSISTENT\u{202e}")"#),
        "the cell value, escaped: {out}"
    );

    // JSON carries the exact names (escaped by JSON itself)
    let (code, json, _) =
        verify(&["replay", s(&fx), "--no-manifest", "--max-diffs", "0", "--json"]);
    assert_eq!(code, 1);
    assert!(!json.contains('\x1b'));
    let r: Value = serde_json::from_str(&json).unwrap();
    let findings = r["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["file"].as_str() == Some(&format!(".thrum/messages/{EVIL}.jsonl"))),
        "{json}"
    );
    assert!(
        findings.iter().any(|f| f["kind"] == "cell_differs"
            && f["column"] == "body_content"
            && f["actual"]
                .as_str()
                .is_some_and(|a| a.contains(r"evil\n\u{1b}[0mresult: CONSISTENT"))),
        "{json}"
    );
}

/// One run in text and one in JSON: the result line, the JSON verdict and
/// both exit codes agree. Returns (exit code, text, JSON report).
fn agreeing(args: &[&str]) -> (i32, String, Value) {
    let (code, text, err) = verify(args);
    let mut j = args.to_vec();
    j.push("--json");
    let (jcode, json, jerr) = verify(&j);
    assert!(code == 0 || code == 1, "{args:?}: {err}");
    assert_eq!(code, jcode, "{args:?}: same exit code with --json: {jerr}");
    let r: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let (consistent, errors) = (r["consistent"].as_bool().unwrap(), r["errors"].as_u64().unwrap());
    assert_eq!(r["exit_code"].as_i64(), Some(code as i64), "{args:?}");
    assert_eq!(consistent, code == 0, "{args:?}: JSON consistent vs exit code");
    let errors_counted: u64 = r["finding_counts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            verify::Kind::from_name(k).is_some_and(|k| k.severity() == verify::Severity::Error)
        })
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert_eq!(errors, errors_counted, "{args:?}: errors are the error findings");
    let line = format!(
        "result: {} ({errors} error finding{}; exit {code})",
        if consistent { "CONSISTENT" } else { "INCONSISTENT" },
        if errors == 1 { "" } else { "s" }
    );
    let results: Vec<&str> = text.lines().filter(|l| l.starts_with("result:")).collect();
    assert_eq!(results, vec![line.as_str()], "{args:?}: text result line\n{text}");
    (code, text, r)
}

fn kinds(r: &Value) -> Vec<String> {
    r["finding_counts"].as_object().unwrap().keys().cloned().collect()
}

#[test]
fn a_bad_parquet_file_beside_the_archive_makes_replay_inconsistent_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(dir.path());
    let archive = fx.join("thrum-fixture.tar.zst");
    let (code, _, r) = agreeing(&["replay", s(&archive)]);
    assert_eq!(code, 0, "the copy is clean: {r}");

    let pq = fx.join("parquet/agents/part-00000.parquet");
    let bytes = std::fs::read(&pq).unwrap();
    std::fs::write(&pq, &bytes[..bytes.len() / 2]).unwrap();
    for extra in [&[][..], &["--no-manifest"][..]] {
        let mut args = vec!["replay", s(&archive)];
        args.extend_from_slice(extra);
        let (code, text, r) = agreeing(&args);
        assert_eq!(code, 1, "{args:?}\n{text}");
        assert!(text.contains("result: INCONSISTENT"), "{text}");
        assert_eq!(r["consistent"], false);
        let f = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "parquet_unreadable")
            .unwrap_or_else(|| panic!("{r}"));
        assert_eq!(f["file"], "parquet/agents/part-00000.parquet", "{f}");
        assert!(text.contains("[parquet_unreadable] parquet/agents/part-00000.parquet:"), "{text}");
    }
    // --no-parquet: the snapshots are not looked at
    let (code, _, r) = agreeing(&["replay", s(&archive), "--no-manifest", "--no-parquet"]);
    assert_eq!(code, 0, "{r}");
    // `verify parquet` on the same directory: the same finding, in every output
    let (code, text, r) = agreeing(&["parquet", s(&fx)]);
    assert_eq!(code, 1, "{text}");
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "parquet_unreadable")
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(f["file"], "parquet/agents/part-00000.parquet", "{f}");
    let line = text
        .lines()
        .find(|l| l.contains("[parquet_unreadable]"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(line.matches("part-00000.parquet").count(), 1, "{line}");
}

#[test]
fn text_json_and_exit_code_agree_for_clean_tampered_and_bad_parquet_inputs() {
    let dir = tempfile::tempdir().unwrap();
    // clean archive with snapshots
    let clean = copy_fixtures(&dir.path().join("clean"));
    let (code, text, r) = agreeing(&["replay", s(&clean.join("thrum-fixture.tar.zst"))]);
    assert_eq!(code, 0);
    assert!(text.contains("Parquet snapshots vs the fixture database"), "{text}");
    assert!(r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["check"] == "parquet" && t["table"] == "messages"));

    // a tampered JSONL line (directory input)
    let fx = extracted(dir.path());
    let log = fx.join(".thrum/events.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"not an event\n");
    std::fs::write(&log, text).unwrap();
    let (code, _, r) = agreeing(&["replay", s(&fx), "--no-manifest"]);
    assert_eq!(code, 1);
    assert!(kinds(&r).contains(&"jsonl_unparsable".to_string()), "{r}");

    // a Parquet dataset differing from the database: an entry that is no table
    let odd = copy_fixtures(&dir.path().join("odd"));
    std::fs::create_dir(odd.join("parquet/not_a_table")).unwrap();
    let (code, text, r) =
        agreeing(&["replay", s(&odd.join("thrum-fixture.tar.zst")), "--no-manifest"]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&r), vec!["parquet_differs".to_string()], "{r}");
    assert!(text.contains("[parquet_differs] parquet/not_a_table:"), "{text}");

    // a byte changed inside a data page: a difference or an unreadable file, named either way
    let flipped = copy_fixtures(&dir.path().join("flipped"));
    let pq = flipped.join("parquet/agents/part-00000.parquet");
    let mut bytes = std::fs::read(&pq).unwrap();
    bytes[200] ^= 0x55;
    std::fs::write(&pq, bytes).unwrap();
    let (code, _, r) =
        agreeing(&["replay", s(&flipped.join("thrum-fixture.tar.zst")), "--no-manifest"]);
    assert_eq!(code, 1, "{r}");
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "parquet_unreadable" || f["kind"] == "parquet_differs")
        .unwrap_or_else(|| panic!("{r}"));
    assert!(f["file"].as_str().unwrap().starts_with("parquet/agents"), "{f}");
}

/// A directory that `testgen --out` wrote (archives, manifests, SHA256SUMS,
/// parquet/; no .thrum/) is accepted by every command: replay, bench and
/// parquet read its v13 archive, migrate its v5 archive, with the manifest
/// and the snapshots beside them checked; every verdict agrees with the
/// JSON and the exit code.
#[test]
fn a_directory_testgen_wrote_is_accepted_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(&dir.path().join("out"));
    assert!(!fx.join(".thrum").exists());

    let (code, text, r) = agreeing(&["replay", s(&fx)]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(r["input"], s(&fx.join("thrum-fixture.tar.zst")), "{r}");
    assert!(text.contains(&format!("manifest: {}", s(&fx.join("manifest.json")))), "{text}");
    assert!(text.contains("Parquet snapshots vs the fixture database"), "{text}");

    let (code, text, r) = agreeing(&["migrate", s(&fx)]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(r["input"], s(&fx.join("thrum-fixture-v5.tar.zst")), "{r}");

    // `verify parquet` ends with the verdict line (checked by `agreeing`)
    let (code, text, _) = agreeing(&["parquet", s(&fx)]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text.lines().last(),
        Some("result: CONSISTENT (0 error findings; exit 0)"),
        "{text}"
    );

    let (code, out, err) = verify(&["bench", "--runs", "1", "--json", s(&fx)]);
    assert_eq!(code, 0, "{out}{err}");
    let b: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(b["input"], s(&fx.join("thrum-fixture.tar.zst")), "{b}");

    // the snapshots beside the archive count in replay's verdict
    let pq = fx.join("parquet/agents/part-00000.parquet");
    let bytes = std::fs::read(&pq).unwrap();
    std::fs::write(&pq, &bytes[..bytes.len() / 2]).unwrap();
    let (code, text, r) = agreeing(&["replay", s(&fx)]);
    assert_eq!(code, 1, "{text}");
    assert!(kinds(&r).contains(&"parquet_unreadable".to_string()), "{r}");

    // without the archive the command needs, the directory is refused as before
    std::fs::remove_file(fx.join("thrum-fixture-v5.tar.zst")).unwrap();
    let (code, _, err) = verify(&["migrate", s(&fx)]);
    assert_eq!(code, 2);
    assert!(err.contains("is a directory without .thrum/"), "{err}");
}

/// Progress is drawn only on a terminal: a run whose stderr is a pipe
/// writes nothing there, with or without --quiet (accepted before or after
/// the subcommand), and the report is the same.
#[test]
fn no_progress_when_stderr_is_not_a_terminal() {
    let archive = fixtures().join("thrum-fixture.tar.zst");
    let (code, plain, err) = verify(&["replay", s(&archive)]);
    assert_eq!((code, err.as_str()), (0, ""), "{plain}");
    for args in [vec!["replay", s(&archive), "--quiet"], vec!["-q", "replay", s(&archive)]] {
        let (code, out, err) = verify(&args);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        assert_eq!(out, plain, "{args:?}");
    }
    let (code, out, err) = verify(&["parquet", s(&fixtures()), "-q"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
}

#[test]
fn parquet_without_an_archive_points_to_db_and_db_works() {
    // the layout of a merged output: parquet/ with no archive beside it
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_fixtures(&dir.path().join("copy"));
    let merged = dir.path().join("merged");
    std::fs::create_dir(&merged).unwrap();
    std::fs::rename(copy.join("parquet"), merged.join("parquet")).unwrap();
    let (code, out, err) = verify(&["parquet", s(&merged)]);
    assert_eq!(code, 2, "{out}{err}");
    let archive = merged.join("thrum-fixture.tar.zst");
    assert!(
        err.contains(&format!("{} is absent (and so is thrum-fixture.tar.gz)", archive.display())),
        "{err}"
    );
    assert!(err.contains("a merged or sliced output has none: compare it with --db DB"), "{err}");
    // what the hint says to do succeeds
    let db = extracted(dir.path()).join(".thrum/var/messages.db");
    let (code, out, err) = verify(&["parquet", s(&merged), "--db", s(&db)]);
    assert_eq!(code, 0, "{out}{err}");
    // the help names both archives and the way to check a merged output
    let (code, help, _) = verify(&["parquet", "--help"]);
    assert_eq!(code, 0);
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("thrum-fixture.tar.zst or thrum-fixture.tar.gz"), "{words}");
    assert!(words.contains("the way to check a merged or sliced output"), "{words}");
}

/// A dataset's Delta log that is missing or disagrees with its files is a
/// finding of its own kind, naming the table and the log, in the text, the
/// JSON and the exit code alike (`verify parquet` and `verify replay`).
#[test]
fn a_delta_log_missing_or_differing_is_a_finding_of_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(&dir.path().join("out"));
    let (code, text, _) = agreeing(&["parquet", s(&fx)]);
    assert_eq!(code, 0, "{text}");
    std::fs::remove_file(fx.join("parquet/groups/_delta_log/00000000000000000000.json")).unwrap();
    let log = fx.join("parquet/agents/_delta_log/00000000000000000000.json");
    let changed = std::fs::read_to_string(&log)
        .unwrap()
        .replace("\\\"numRecords\\\":", "\\\"numRecords\\\":7");
    std::fs::write(&log, changed).unwrap();
    for args in [
        &["parquet", s(&fx)][..],
        &["replay", s(&fx.join("thrum-fixture.tar.zst")), "--no-manifest"][..],
    ] {
        let (code, text, r) = agreeing(args);
        assert_eq!(code, 1, "{text}");
        assert_eq!(kinds(&r), ["delta_log_differs", "delta_log_missing"], "{r}");
        let of = |kind: &str| {
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["kind"] == kind)
                .cloned()
                .collect::<Vec<_>>()
        };
        let missing = of("delta_log_missing");
        assert_eq!(missing.len(), 1, "{r}");
        assert_eq!(
            (&missing[0]["table"], &missing[0]["file"]),
            (&Value::from("groups"), &Value::from("parquet/groups/_delta_log"))
        );
        let differs = of("delta_log_differs");
        assert_eq!(differs.len(), 1, "{r}");
        assert_eq!(differs[0]["table"], "agents");
        assert!(
            differs[0]["message"]
                .as_str()
                .unwrap()
                .starts_with("agents/part-00000.parquet: stats "),
            "{r}"
        );
        let said = if args[0] == "parquet" {
            "    delta log: no Delta log groups/_delta_log/00000000000000000000.json\n"
        } else {
            "[delta_log_missing] groups parquet/groups/_delta_log: no Delta log \
                groups/_delta_log/00000000000000000000.json"
        };
        assert!(text.contains(said), "{text}");
    }
}

#[test]
fn replay_checks_the_snapshots_beside_an_archive_in_the_tree_it_already_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(dir.path());
    let archive = fx.join("thrum-fixture.tar.zst");
    let limits = thrum_io::extract::Limits::default();
    let opts = verify::Options::default();
    // the Parquet check extracting the archive once more for its database
    let mut again = verify::verify_path(&archive, &opts).unwrap();
    assert!(verify::parquet::add_snapshots(&mut again, &archive, &limits).unwrap());
    assert!(again.to_json().contains("parquet"), "the snapshots were checked: {}", again.to_json());

    let (mut kept, tree) = verify::verify_path_kept(&archive, &opts).unwrap();
    let db = tree.database().unwrap();
    assert!(db.is_file(), "the tree stays extracted while it is held");
    // with the archive gone, only the extracted tree can give the database
    std::fs::rename(&archive, fx.join("elsewhere.tar.zst")).unwrap();
    assert!(verify::parquet::add_snapshots_in(&mut kept, &archive, Some(&tree), &limits).unwrap());
    assert_eq!(kept.to_json(), again.to_json());
    assert_eq!(kept.render_text(), again.render_text());
    drop(tree);
    assert!(!db.exists(), "dropping the tree removes the extraction");
}

/// `verify replay` checks the Parquet snapshots beside an archive while it
/// replays: that outcome, added after everything else, makes the same
/// report (findings, order, verdict) as the check run after the replay.
#[test]
fn snapshots_checked_beside_the_replay_report_as_when_checked_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let fx = copy_fixtures(dir.path());
    let log = fx.join("parquet/agents/_delta_log/00000000000000000000.json");
    let changed = std::fs::read_to_string(&log)
        .unwrap()
        .replace("\\\"numRecords\\\":", "\\\"numRecords\\\":7");
    std::fs::write(&log, changed).unwrap();
    let archive = fx.join("thrum-fixture.tar.zst");
    let opts = verify::Options::default();
    let (mut after, tree) = verify::verify_path_kept(&archive, &opts).unwrap();
    assert!(
        verify::parquet::add_snapshots_in(&mut after, &archive, Some(&tree), &opts.limits).unwrap()
    );
    drop(tree);

    let (mut beside, tree, snapshots) = verify::verify_replay(&archive, &opts, true).unwrap();
    let db = tree.database().unwrap();
    assert!(db.is_file(), "the tree stays extracted while it is held");
    snapshots.unwrap().expect("the snapshots beside the archive were checked").add_to(&mut beside);
    assert_eq!(beside.to_json(), after.to_json());
    assert_eq!(beside.render_text(), after.render_text());
    assert_eq!(beside.count(verify::Kind::DeltaLogDiffers), 1, "{}", beside.to_json());
    assert_eq!(beside.verdict().exit_code, verify::EXIT_INCONSISTENT);

    // not asked for: nothing checked, the replay's report alone
    let (alone, _tree, snapshots) = verify::verify_replay(&archive, &opts, false).unwrap();
    assert!(snapshots.unwrap().is_none());
    assert_eq!(alone.to_json(), verify::verify_path(&archive, &opts).unwrap().to_json());
    assert_eq!(alone.count(verify::Kind::DeltaLogDiffers), 0);
    assert_ne!(alone.to_json(), after.to_json());
}
