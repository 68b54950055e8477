//! Hostile archives, built by hand, through every command that extracts:
//! `verify extract`, `verify replay` and `verify migrate`. Each is refused
//! with exit code 2 and a message naming the entry; nothing is written
//! outside DEST (or outside the private temporary directory replay and
//! migrate extract into), DEST is absent, and the temporary directory is
//! cleaned up.

use std::path::Path;
use std::process::Command;

use thrum_testkit::tar::header;

enum E<'a> {
    /// name, type, data, link
    Raw(&'a str, u8, Vec<u8>, &'a str),
    /// A header whose size field claims `size` bytes, followed by the data it has.
    Lying(&'a str, u64, Vec<u8>),
}

fn tar(entries: &[E]) -> Vec<u8> {
    let mut t = Vec::new();
    for e in entries {
        let (h, data) = match e {
            E::Raw(name, typ, data, link) => {
                (header(name.as_bytes(), *typ, data.len() as u64, link.as_bytes()), data)
            }
            E::Lying(name, size, data) => (header(name.as_bytes(), b'0', *size, b""), data),
        };
        t.extend_from_slice(&h);
        t.extend_from_slice(data);
        t.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
    }
    t.extend(std::iter::repeat_n(0u8, 1024));
    t
}

fn pax(records: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        let body = format!(" {k}={v}\n");
        let mut n = body.len() + 1;
        while format!("{n}{body}").len() != n {
            n += 1;
        }
        out.extend_from_slice(format!("{n}{body}").as_bytes());
    }
    out
}

fn zst(t: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(t, 19).unwrap()
}

fn good() -> E<'static> {
    E::Raw(".thrum/events.jsonl", b'0', b"{}\n".to_vec(), "")
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Text the error must contain (the entry, or the limit).
    names: &'static str,
    limits: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let c = |name, entries: Vec<E>, names, limits| Case {
        name,
        bytes: zst(&tar(&entries)),
        names,
        limits,
    };
    let big = vec![0u8; 64 << 20];
    vec![
        c(
            "absolute",
            vec![good(), E::Raw("/tmp/verify-hostile-evil", b'0', b"x".to_vec(), "")],
            "/tmp/verify-hostile-evil",
            &[],
        ),
        c(
            "parent",
            vec![good(), E::Raw(".thrum/../../evil", b'0', b"x".to_vec(), "")],
            ".thrum/../../evil",
            &[],
        ),
        c(
            "symlink",
            vec![good(), E::Raw(".thrum/var/messages.db", b'2', vec![], "/etc/passwd")],
            ".thrum/var/messages.db",
            &[],
        ),
        c("symlink-dir", vec![E::Raw(".thrum", b'2', vec![], "/tmp"), good()], "symlink", &[]),
        c(
            "hardlink",
            vec![good(), E::Raw(".thrum/var/messages.db", b'1', vec![], "/etc/passwd")],
            "hard link",
            &[],
        ),
        c(
            "char-device",
            vec![good(), E::Raw(".thrum/tty", b'3', vec![], "")],
            "character device",
            &[],
        ),
        c(
            "block-device",
            vec![good(), E::Raw(".thrum/sda", b'4', vec![], "")],
            "block device",
            &[],
        ),
        c("fifo", vec![good(), E::Raw(".thrum/pipe", b'6', vec![], "")], "FIFO", &[]),
        c(
            "duplicate",
            vec![good(), E::Raw("./.thrum//events.jsonl", b'0', b"y".to_vec(), "")],
            "appears twice",
            &[],
        ),
        c(
            "file-then-dir",
            vec![good(), E::Raw(".thrum/events.jsonl/x", b'0', b"y".to_vec(), "")],
            "conflicts",
            &[],
        ),
        c(
            "pax-path-parent",
            vec![
                good(),
                E::Raw("PaxHeaders/x", b'x', pax(&[("path", "../../pax-evil")]), ""),
                E::Raw(".thrum/innocent", b'0', b"x".to_vec(), ""),
            ],
            "pax-evil",
            &[],
        ),
        c(
            "gnu-longname-absolute",
            vec![
                good(),
                E::Raw("././@LongLink", b'L', b"/tmp/verify-hostile-long\0".to_vec(), ""),
                E::Raw(".thrum/innocent", b'0', b"x".to_vec(), ""),
            ],
            "verify-hostile-long",
            &[],
        ),
        c(
            "oversize-entry",
            vec![good(), E::Raw(".thrum/big", b'0', vec![7u8; 4096], "")],
            "per-entry limit of 1 KiB (raise with --max-entry-bytes)",
            &["--max-entry-bytes", "1K"],
        ),
        c(
            "total-expansion",
            vec![
                good(),
                E::Raw(".thrum/a", b'0', vec![1u8; 3000], ""),
                E::Raw(".thrum/b", b'0', vec![2u8; 3000], ""),
            ],
            "expanded size to 6003 bytes, over the limit of 5000 bytes (raise with \
                --max-total-bytes)",
            &["--max-total-bytes", "5000"],
        ),
        // 64 MiB of zeros: a few KiB compressed
        c(
            "compression-bomb",
            vec![good(), E::Raw(".thrum/bomb", b'0', big, "")],
            "limit",
            &["--max-entry-bytes", "1M", "--max-total-bytes", "2MiB"],
        ),
        c(
            "too-many-entries",
            vec![
                good(),
                E::Raw(".thrum/a", b'0', vec![], ""),
                E::Raw(".thrum/b", b'0', vec![], ""),
            ],
            "more than 2 entries (at entry \".thrum/b\"; raise with --max-entries)",
            &["--max-entries", "2"],
        ),
        c(
            "gnu-longname-huge",
            vec![
                good(),
                E::Raw("././@LongLink", b'L', vec![b'a'; 1 << 20], ""),
                E::Raw(".thrum/innocent", b'0', b"x".to_vec(), ""),
            ],
            "GNU long-name header at byte 1024 declares 1048576 bytes, over the fixed cap of 64 \
                KiB",
            &[],
        ),
        c(
            "pax-huge",
            vec![
                good(),
                E::Raw("PaxHeaders/x", b'x', pax(&[("comment", &"c".repeat(1 << 20))]), ""),
                E::Raw(".thrum/innocent", b'0', b"x".to_vec(), ""),
            ],
            "PAX header at byte 1024 declares",
            &[],
        ),
        c(
            "size-lies",
            vec![good(), E::Lying(".thrum/short", 100_000, vec![1u8; 10])],
            ".thrum/short",
            &[],
        ),
        Case {
            name: "garbage",
            bytes: vec![0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5],
            names: "corrupt",
            limits: &[],
        },
        Case {
            name: "not-an-archive",
            bytes: b"#!/bin/sh\nrm -rf /\n".to_vec(),
            names: ".tar.zst",
            limits: &[],
        },
    ]
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn hostile_archives_are_refused_by_every_command_and_leave_nothing_behind() {
    let bomb_len = cases().iter().find(|c| c.name == "compression-bomb").unwrap().bytes.len();
    assert!(bomb_len < 64 << 10, "the bomb must be small compressed ({bomb_len} bytes)");
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        let archive = work.join("evil.tar.zst");
        std::fs::write(&archive, &case.bytes).unwrap();
        let dest = work.join("dest");
        let runs: Vec<Vec<String>> = vec![
            vec!["extract".into(), archive.display().to_string(), dest.display().to_string()],
            vec!["replay".into(), archive.display().to_string()],
            vec![
                "migrate".into(),
                archive.display().to_string(),
                "--out".into(),
                dest.display().to_string(),
            ],
        ];
        for mut args in runs {
            args.extend(case.limits.iter().map(|s| s.to_string()));
            let o = Command::new(env!("CARGO_BIN_EXE_verify"))
                .args(&args)
                .env("TMPDIR", &tmp)
                .current_dir(&work)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{} {:?}: {err}", case.name, args[0]);
            assert!(
                err.contains(case.names),
                "{} {}: the error names {:?}: {err}",
                case.name,
                args[0],
                case.names
            );
            assert_eq!(
                listing(&work),
                vec!["evil.tar.zst".to_string()],
                "{} {}: nothing beside the archive, no DEST",
                case.name,
                args[0]
            );
            assert!(
                listing(&tmp).is_empty(),
                "{} {}: temporary extraction removed: {:?}",
                case.name,
                args[0],
                listing(&tmp)
            );
        }
        assert!(
            listing(dir.path()) == vec!["tmp".to_string(), "work".to_string()],
            "{}: nothing outside",
            case.name
        );
    }
    for p in ["/tmp/verify-hostile-evil", "/tmp/verify-hostile-long", "/tmp/pax-evil"] {
        assert!(!Path::new(p).exists(), "{p} was written");
    }
}

#[test]
fn extraction_of_a_good_archive_is_complete_and_only_inside_dest() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("ok.tar.zst");
    let files: Vec<(String, Vec<u8>)> =
        (0..50).map(|i| (format!(".thrum/d{}/f{i}", i % 7), vec![i as u8; i * 97])).collect();
    let mut entries = vec![E::Raw(".thrum/", b'5', vec![], "")];
    for (n, d) in &files {
        entries.push(E::Raw(n, b'0', d.clone(), ""));
    }
    // a PAX header that only sets an mtime is harmless
    entries.push(E::Raw("PaxHeaders/y", b'x', pax(&[("mtime", "1")]), ""));
    entries.push(E::Raw(".thrum/last", b'0', b"end".to_vec(), ""));
    std::fs::write(&a, zst(&tar(&entries))).unwrap();
    let dest = dir.path().join("dest");
    let got = thrum_io::extract::extract(&a, &dest, &thrum_io::extract::Limits::default()).unwrap();
    assert_eq!(
        got.iter().filter(|e| e.kind == thrum_io::extract::EntryKind::File).count(),
        files.len() + 1
    );
    for (n, d) in &files {
        assert_eq!(&std::fs::read(dest.join(n)).unwrap(), d, "{n}");
    }
    assert_eq!(std::fs::read(dest.join(".thrum/last")).unwrap(), b"end");
    let (all, other) = verify::internals::walk_files(&dest, &dest).unwrap();
    assert_eq!(all.len(), files.len() + 1);
    assert!(other.is_empty());
    assert_eq!(listing(dir.path()), vec!["dest".to_string(), "ok.tar.zst".to_string()]);
}
