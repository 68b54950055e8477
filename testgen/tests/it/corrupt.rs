//! `testgen corrupt`: deterministic, atomic, safe with hostile input, and a
//! thin CLI. (That `verify` reports every fault is `verify/tests/chaos.rs`.)

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use thrum_chaos::{self as corrupt, CorruptError, Fault, CATALOGUE};
use thrum_gen::Profile;

fn fixture(dir: &Path) -> PathBuf {
    generate(dir, 42, Profile::small(), 1).join(testgen::ARCHIVE)
}

fn stray(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn same_input_fault_and_seed_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = fixture(tmp.path());
    let mut moved = 0;
    for f in CATALOGUE {
        let a = tmp.path().join(format!("{}-a", f.name));
        let b = tmp.path().join(format!("{}-b", f.name));
        let ra = corrupt::corrupt(&archive, f.fault, 42, &a).unwrap();
        let rb = corrupt::corrupt(&archive, f.fault, 42, &b).unwrap();
        assert_eq!(ra, rb);
        assert_eq!(read_all(&a), read_all(&b), "{}", f.name);
        // another seed picks another target (for faults with a choice to make)
        let c = tmp.path().join(format!("{}-c", f.name));
        let rc = corrupt::corrupt(&archive, f.fault, 43, &c).unwrap();
        if (rc.file.as_deref(), rc.line, rc.key.as_deref())
            != (ra.file.as_deref(), ra.line, ra.key.as_deref())
            || read_all(&a) != read_all(&c)
        {
            moved += 1;
        }
    }
    // wrong-schema-version and truncated-db have a single target
    assert!(
        moved >= CATALOGUE.len() - 2,
        "{moved} of {} faults depend on the seed",
        CATALOGUE.len()
    );
    assert!(stray(tmp.path()).is_empty());
}

#[test]
fn directory_and_archive_inputs_give_the_same_bytes_and_output_is_replaced_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = fixture(tmp.path());
    let tree = tmp.path().join("tree");
    corrupt::extract(
        &archive,
        &{
            std::fs::create_dir_all(&tree).unwrap();
            tree.clone()
        },
        &thrum_io::extract::Limits::default(),
    )
    .unwrap();
    let out_a = tmp.path().join("from-archive");
    let out_d = tmp.path().join("from-dir");
    corrupt::corrupt(&archive, Fault::SequenceOutOfOrder, 5, &out_a).unwrap();
    corrupt::corrupt(&tree, Fault::SequenceOutOfOrder, 5, &out_d).unwrap();
    assert_eq!(read_all(&out_a), read_all(&out_d));
    // the .thrum directory itself, and a fixture output directory, are accepted too
    let out_t = tmp.path().join("from-thrum");
    corrupt::corrupt(&tree.join(".thrum"), Fault::SequenceOutOfOrder, 5, &out_t).unwrap();
    assert_eq!(read_all(&out_a), read_all(&out_t));
    let out_f = tmp.path().join("from-fixture-dir");
    corrupt::corrupt(archive.parent().unwrap(), Fault::SequenceOutOfOrder, 5, &out_f).unwrap();
    assert_eq!(read_all(&out_a), read_all(&out_f));
    // writing over an existing output replaces it entirely
    corrupt::corrupt(&archive, Fault::GarbageWal, 5, &out_a).unwrap();
    let files = read_all(&out_a);
    assert!(files.contains_key(".thrum/var/messages.db-wal"));
    assert!(std::str::from_utf8(&files["FAULT.json"]).unwrap().contains("garbage-wal"));
    // the input is never modified
    let again = tmp.path().join("again");
    corrupt::corrupt(&tree, Fault::SequenceOutOfOrder, 5, &again).unwrap();
    assert_eq!(read_all(&again), read_all(&out_d));
    assert!(stray(tmp.path()).is_empty());
}

/// (name, type, data, link target)
type RawEntry<'a> = (&'a str, u8, &'a [u8], &'a str);

/// A tar.zst with hand-made headers (the `tar` builder refuses hostile names).
fn hostile(entries: &[RawEntry]) -> Vec<u8> {
    let mut t = Vec::new();
    for (name, typ, data, link) in entries {
        t.extend(thrum_testkit::tar::member(name.as_bytes(), *typ, data, link.as_bytes()));
    }
    t.extend(std::iter::repeat_n(0u8, 1024));
    zstd::stream::encode_all(&t[..], 3).unwrap()
}

#[test]
fn hostile_archives_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let good = (".thrum/events.jsonl", b'0', &b"{}\n"[..], "");
    let cases: Vec<(&str, Vec<RawEntry>)> = vec![
        ("absolute", vec![good, ("/tmp/evil", b'0', b"x", "")]),
        ("parent", vec![good, (".thrum/../../evil", b'0', b"x", "")]),
        ("outside", vec![good, ("evil.txt", b'0', b"x", "")]),
        ("symlink", vec![good, (".thrum/var/messages.db", b'2', b"", "/etc/passwd")]),
        ("hardlink", vec![good, (".thrum/var/messages.db", b'1', b"", ".thrum/events.jsonl")]),
        ("fifo", vec![good, (".thrum/pipe", b'6', b"", "")]),
        ("device", vec![good, (".thrum/tty", b'3', b"", "")]),
        ("duplicate", vec![good, ("./.thrum/events.jsonl", b'0', b"y", "")]),
    ];
    for (name, entries) in cases {
        let a = tmp.path().join(format!("{name}.tar.zst"));
        std::fs::write(&a, hostile(&entries)).unwrap();
        let out = tmp.path().join(format!("out-{name}"));
        let e = corrupt::corrupt(&a, Fault::AlteredCell, 1, &out).unwrap_err();
        assert!(matches!(e, CorruptError::Extract(_)), "{name}: {e}");
        assert!(e.is_input_error());
        assert!(!out.exists(), "{name}: no output");
    }
    assert!(!tmp.path().join("evil").exists() && !Path::new("/tmp/evil").exists());
    assert!(stray(tmp.path()).is_empty());
    // not an archive, not a v13 tree
    std::fs::write(tmp.path().join("junk.tar.zst"), b"junk").unwrap();
    assert!(matches!(
        corrupt::corrupt(
            &tmp.path().join("junk.tar.zst"),
            Fault::AlteredCell,
            1,
            &tmp.path().join("o")
        ),
        Err(CorruptError::NotAFixture { .. })
    ));
    let only = tmp.path().join("only.tar.zst");
    std::fs::write(&only, hostile(&[(".thrum/config.json", b'0', b"{}", "")])).unwrap();
    assert!(matches!(
        corrupt::corrupt(&only, Fault::AlteredCell, 1, &tmp.path().join("o")),
        Err(CorruptError::NotV13 { .. })
    ));
    assert!(!tmp.path().join("o").exists());
}

#[test]
fn cli_lists_the_catalogue_corrupts_and_rejects_bad_arguments_with_exit_code_2() {
    let bin = env!("CARGO_BIN_EXE_testgen");
    let o = Command::new(bin).args(["corrupt", "--list"]).output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for f in CATALOGUE {
        assert!(
            text.contains(f.name) && text.contains(f.finding) && text.contains(f.does),
            "{}",
            f.name
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let archive = fixture(tmp.path());
    let out = tmp.path().join("cli");
    let o = Command::new(bin)
        .args(["corrupt", "--fault", "missing-row", "--seed", "9", "--in"])
        .arg(&archive)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("row_missing"));
    let lib = tmp.path().join("lib");
    corrupt::corrupt(&archive, Fault::MissingRow, 9, &lib).unwrap();
    assert_eq!(read_all(&out), read_all(&lib), "the CLI writes what the library writes");
    let a = archive.to_str().unwrap();
    for args in [
        &["corrupt"][..],
        &["corrupt", "--fault", "nope", "--in", a, "--out", "x"],
        &["corrupt", "--fault", "missing-row", "--in", a],
        &["corrupt", "--fault", "missing-row", "--in", "/nonexistent", "--out", "x"],
        &["corrupt", "--fault", "missing-row", "--in", "Cargo.toml", "--out", "x"],
    ] {
        let o = Command::new(bin).args(args).current_dir(tmp.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!o.stderr.is_empty());
    }
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn corrupt_uses_the_shared_bounded_extractor_and_its_limit_flags() {
    let tmp = tempfile::tempdir().unwrap();
    // a 512 MiB GNU long name, compressed to a few KB: refused at its header
    let bomb = tmp.path().join("bomb.tar.zst");
    {
        let mut enc =
            zstd::stream::write::Encoder::new(std::fs::File::create(&bomb).unwrap(), 3).unwrap();
        let h = thrum_testkit::tar::header(b"././@LongLink", b'L', 512 << 20, b"");
        std::io::Write::write_all(&mut enc, &h).unwrap();
        std::io::copy(&mut std::io::Read::take(std::io::repeat(b'a'), 512 << 20), &mut enc)
            .unwrap();
        enc.finish().unwrap();
    }
    let out = tmp.path().join("out");
    let e = corrupt::corrupt(&bomb, Fault::AlteredCell, 1, &out).unwrap_err();
    assert!(
        matches!(e, CorruptError::Extract(thrum_io::ExtractError::HeaderTooLarge { .. })),
        "{e}"
    );
    assert!(e.is_input_error() && e.to_string().len() < 1024, "{e}");
    assert!(!out.exists());
    // the CLI takes verify's limit flags (with suffixes) and names them in refusals
    let a = tmp.path().join("big.tar.zst");
    std::fs::write(&a, hostile(&[(".thrum/events.jsonl", b'0', &[b'x'; 2048], "")])).unwrap();
    let bin = env!("CARGO_BIN_EXE_testgen");
    let o = Command::new(bin)
        .args(["corrupt", "--fault", "missing-row", "--max-entry-bytes", "1K", "--in"])
        .arg(&a)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "is 2048 bytes, over the per-entry limit of 1 KiB (raise with --max-entry-bytes)"
        ),
        "{err}"
    );
    let o = Command::new(bin)
        .args(["corrupt", "--fault", "missing-row", "--max-total-bytes", "2X", "--in"])
        .arg(&a)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown suffix"), "{err}");
    assert!(!out.exists());
}

/// `--out` that is `--in` (by any spelling), holds it or lies in it is
/// refused before any work: the input is byte-identical afterwards.
#[test]
fn an_output_that_is_holds_or_lies_in_the_input_is_refused() {
    let bin = env!("CARGO_BIN_EXE_testgen");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let archive = fixture(d);
    let c = d.join("c");
    corrupt::corrupt(&archive, Fault::MissingRow, 9, &c).unwrap();
    std::os::unix::fs::symlink("c", d.join("lnk")).unwrap();
    let why = "(by device and inode); an output must not be, hold or lie in an input";
    let fx = archive.parent().unwrap().to_path_buf();
    let cases = [
        (c.clone(), c.clone(), "is the same as"),
        (d.join("lnk"), c.clone(), "is the same as"),
        (c.clone(), d.join("sub/../lnk"), "is the same as"),
        (c.join(".thrum"), c.clone(), "contains"),
        (archive.clone(), fx.clone(), "contains"),
        (c.clone(), d.join("lnk/.thrum/new"), "lies inside"),
    ];
    std::fs::create_dir(d.join("sub")).unwrap();
    for (input, out, relation) in cases {
        let before = snapshot(d);
        let o = Command::new(bin)
            .args(["corrupt", "--fault", "altered-cell", "--in"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let want = format!(
            "testgen: error: refusing --out {}: it {relation} --in {} {why}\n",
            out.display(),
            input.display()
        );
        assert_eq!(
            (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned()),
            (Some(2), want)
        );
        assert_eq!(
            snapshot(d),
            before,
            "--in {} --out {}: nothing written",
            input.display(),
            out.display()
        );
    }
}

/// Every path printed is escaped: a control character in `--out` cannot
/// forge a line of output.
#[test]
fn paths_in_the_summary_are_escaped() {
    let bin = env!("CARGO_BIN_EXE_testgen");
    let tmp = tempfile::tempdir().unwrap();
    let archive = fixture(tmp.path());
    let out = tmp.path().join("c\nresult: CONSISTENT\u{1b}[0m");
    let o = Command::new(bin)
        .args(["corrupt", "--fault", "missing-row", "--in"])
        .arg(&archive)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    let shown = format!("{}/c\\nresult: CONSISTENT\\u{{1b}}[0m", tmp.path().display());
    assert!(err.starts_with(&format!("testgen: wrote {shown} with missing-row at ")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// SQL that replaces `table` by a view with its column names that never
/// ends (1, 2, 3, ...).
fn endless_view(c: &rusqlite::Connection, table: &str) -> String {
    let mut st = c.prepare("SELECT name FROM pragma_table_info(?1)").unwrap();
    let cols: Vec<String> = st
        .query_map([table], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|n| format!("x AS {}", n.unwrap()))
        .collect();
    assert!(!cols.is_empty(), "{table} has columns");
    format!(
        "DROP TABLE {table}; CREATE VIEW {table} AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \
            SELECT x+1 FROM c) SELECT {} FROM c;",
        cols.join(", ")
    )
}

/// SQL that poisons a database, given a connection to it.
type Poison = fn(&rusqlite::Connection) -> String;

/// A poisoned input database (a table replaced by an endless view or a
/// virtual table, a generated column, a trigger) is refused before any
/// query, naming the object, with exit 2, for every fault that changes the
/// database: the input is unchanged and nothing is written.
#[test]
fn a_poisoned_input_database_is_refused_naming_the_object() {
    let bin = env!("CARGO_BIN_EXE_testgen");
    let tmp = tempfile::tempdir().unwrap();
    let archive = fixture(tmp.path());
    let cases: Vec<(Fault, &str, Poison)> = vec![
        (Fault::AlteredCell, "threads is a view; expected a table", |c| endless_view(c, "threads")),
        // altered-cell counts and reads `messages` first: an endless view would never end
        (Fault::AlteredCell, "messages is a view; expected a table", |c| {
            endless_view(c, "messages")
        }),
        (Fault::MissingRow, "message_refs is a virtual table; expected a table", |_| {
            "DROP TABLE message_refs; CREATE VIRTUAL TABLE message_refs USING fts5(message_id, \
                ref_type, ref_value);"
                .into()
        }),
        (
            Fault::ExtraRow,
            "message_scopes.spin is a generated column; expected a stored column",
            |_| {
                "ALTER TABLE message_scopes ADD COLUMN spin BLOB GENERATED ALWAYS AS \
                    (zeroblob(1000000000)) VIRTUAL;"
                    .into()
            },
        ),
        (
            Fault::WrongSchemaVersion,
            "trigger t_spin is a trigger; expected tables and indexes only",
            |_| {
                "CREATE TRIGGER t_spin AFTER UPDATE ON schema_version BEGIN DELETE FROM messages; \
                    END;"
                    .into()
            },
        ),
    ];
    for (i, (fault, what, poison)) in cases.iter().enumerate() {
        let lab = tmp.path().join(format!("lab-{i}"));
        let tree = lab.join("t");
        extract(&archive, &tree);
        let db = tree.join(".thrum/var/messages.db");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(&format!("PRAGMA foreign_keys=OFF; {}", poison(&c))).unwrap();
        drop(c);
        let before = snapshot(&lab);
        let out = lab.join("c");
        let t0 = std::time::Instant::now();
        let o = Command::new(bin)
            .args(["corrupt", "--fault", fault.name(), "--in"])
            .arg(&tree)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let want = format!(
            "testgen: error: {}: .thrum/var/messages.db: {what} (SQL an input database \
                defines is not run)\n",
            tree.display()
        );
        assert_eq!(
            (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned()),
            (Some(2), want),
            "{}",
            fault.name()
        );
        assert!(t0.elapsed() < std::time::Duration::from_secs(30), "{what}: {:?}", t0.elapsed());
        // the library refuses it the same way
        let e = corrupt::corrupt(&tree, *fault, 1, &out).unwrap_err();
        let unsafe_db = matches!(
            &e,
            CorruptError::Untrusted(thrum_io::untrusted::UntrustedError::Unsafe { .. })
        );
        assert!(unsafe_db && e.is_input_error() && e.exit_code() == 2, "{e}");
        assert!(e.to_string().contains(what), "{e}");
        assert_eq!(snapshot(&lab), before, "{what}: the input unchanged, nothing written");
    }
}
