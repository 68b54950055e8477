//! Tests of the extractor: one hostile archive per refusal, built byte by
//! byte (the archive builders here are shared with the submodules: bounded
//! memory and work, honest messages, the compressed stream checked to its
//! end, and modes).

use super::*;
use std::cell::Cell;
use std::io::BufReader;
use std::rc::Rc;

mod bounds;
mod messages;
mod modes;
mod streams;

use thrum_testkit::tar::header;

/// A header, its data and the padding after it.
fn member(name: &str, typ: u8, data: &[u8]) -> Vec<u8> {
    thrum_testkit::tar::member(name.as_bytes(), typ, data, b"")
}

/// PAX records, each `LEN KEY=VALUE\n`.
fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        let body_len = 1 + k.len() + 1 + v.len() + 1;
        let mut n = body_len + 1;
        while format!("{n}").len() + body_len != n {
            n += 1;
        }
        out.extend_from_slice(format!("{n} {k}=").as_bytes());
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out
}

const END: [u8; 1024] = [0u8; 1024];

/// Builds a tar from (name, type, data, link) and compresses it.
fn tar_of(entries: &[(&str, u8, &[u8], &str)], comp: Compression) -> Vec<u8> {
    let mut t = Vec::new();
    for (name, typ, data, link) in entries {
        t.extend_from_slice(&header(name.as_bytes(), *typ, data.len() as u64, link.as_bytes()));
        t.extend_from_slice(data);
        t.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
    }
    t.extend_from_slice(&END);
    compress(&t, comp)
}

fn compress(t: &[u8], comp: Compression) -> Vec<u8> {
    match comp {
        Compression::Zstd => zstd::stream::encode_all(t, 3).unwrap(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, t).unwrap();
            e.finish().unwrap()
        }
    }
}

/// A piece of a streamed tar: bytes, or a byte repeated (never held in memory).
enum Part {
    Bytes(Vec<u8>),
    Repeat(u8, u64),
}

fn stream(parts: Vec<Part>) -> Box<dyn Read> {
    let mut r: Box<dyn Read> = Box::new(io::empty());
    for p in parts {
        r = match p {
            Part::Bytes(b) => Box::new(r.chain(io::Cursor::new(b))),
            Part::Repeat(b, n) => Box::new(r.chain(io::repeat(b).take(n))),
        };
    }
    r
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    n: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.set(self.n.get() + k as u64);
        Ok(k)
    }
}

/// Unpacks a streamed tar into a fresh directory; returns the result and
/// the bytes of the stream read.
fn unpack_stream(
    parts: Vec<Part>,
    limits: Limits,
) -> (tempfile::TempDir, Result<Vec<Entry>, ExtractError>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let n = Rc::new(Cell::new(0));
    let r = unpack_tar(
        Path::new("s.tar"),
        Counting { inner: stream(parts), n: n.clone() },
        dir.path(),
        &limits,
    );
    (dir, r, n.get())
}

/// Writes a streamed tar as a zstd file, without holding it in memory.
fn zst_file(path: &Path, parts: Vec<Part>) {
    let mut enc = zstd::stream::write::Encoder::new(fs::File::create(path).unwrap(), 3).unwrap();
    io::copy(&mut stream(parts), &mut enc).unwrap();
    enc.finish().unwrap();
}

fn run(
    entries: &[(&str, u8, &[u8], &str)],
    limits: Limits,
) -> (tempfile::TempDir, Result<Vec<Entry>, ExtractError>) {
    run_bytes(tar_of(entries, Compression::Zstd), limits)
}

fn run_bytes(
    bytes: Vec<u8>,
    limits: Limits,
) -> (tempfile::TempDir, Result<Vec<Entry>, ExtractError>) {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar.zst");
    fs::write(&a, bytes).unwrap();
    let r = extract(&a, &dir.path().join("out"), &limits);
    (dir, r)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The refusal, after checking nothing is left: neither the destination
/// nor a partial directory.
fn refused_bytes(bytes: Vec<u8>, limits: Limits) -> ExtractError {
    let (dir, r) = run_bytes(bytes, limits);
    let e = r.expect_err("must be refused");
    assert_eq!(listing(dir.path()), vec!["a.tar.zst".to_string()], "{e}");
    e
}

fn refused(entries: &[(&str, u8, &[u8], &str)], limits: Limits) -> ExtractError {
    refused_bytes(tar_of(entries, Compression::Zstd), limits)
}

fn tar_bytes(members: &[Vec<u8>]) -> Vec<u8> {
    let mut t: Vec<u8> = members.concat();
    t.extend_from_slice(&END);
    t
}

// --- the extractor's rules --------------------------------------------------

#[test]
fn extracts_a_good_archive_and_renames_into_place() {
    let (dir, r) = run(
        &[
            (".thrum/", b'5', b"", ""),
            (".thrum/config.json", b'0', b"{}\n", ""),
            ("./.thrum/var/x", b'0', b"abc", ""),
        ],
        Limits::default(),
    );
    let entries = r.unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries[2],
        Entry {
            path: ".thrum/var/x".into(),
            kind: EntryKind::File,
            size: 3,
            sha256: Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into())
        }
    );
    assert_eq!(fs::read(dir.path().join("out/.thrum/var/x")).unwrap(), b"abc");
    assert_eq!(listing(dir.path()), vec!["a.tar.zst".to_string(), "out".to_string()]);
    // a second extraction to the same destination is refused
    let e = extract(&dir.path().join("a.tar.zst"), &dir.path().join("out"), &Limits::default())
        .unwrap_err();
    assert!(matches!(e, ExtractError::DestinationExists { .. }));
}

#[test]
fn gzip_works_too() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tgz");
    fs::write(&a, tar_of(&[(".thrum/a", b'0', b"1", "")], Compression::Gzip)).unwrap();
    assert_eq!(detect(&a).unwrap(), Compression::Gzip);
    assert_eq!(extract(&a, &dir.path().join("o"), &Limits::default()).unwrap().len(), 1);
}

#[test]
fn archives_of_the_tar_crate_builder_extract_with_long_paths() {
    // what testgen writes: ustar headers, prefix/name splits and GNU long names
    let mut b = ::tar::Builder::new(Vec::new());
    let deep = format!(".thrum/{}/{}", "d".repeat(120), "f".repeat(60)); // ustar prefix + name
    let long = format!(".thrum/{}", "n".repeat(250)); // one component: a GNU long name
    let mut want = Vec::new();
    for (path, data) in
        [(".thrum/a.json", &b"{}"[..]), (deep.as_str(), b"deep"), (long.as_str(), b"long")]
    {
        let mut h = ::tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, data).unwrap();
        want.push((path.to_string(), data.to_vec()));
    }
    let t = b.into_inner().unwrap();
    let (dir, r) = run_bytes(compress(&t, Compression::Zstd), Limits::default());
    let entries = r.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.path.clone()).collect::<Vec<_>>(),
        want.iter().map(|w| w.0.clone()).collect::<Vec<_>>()
    );
    for (path, data) in want {
        assert_eq!(fs::read(dir.path().join("out").join(path)).unwrap(), data);
    }
}

#[test]
fn refuses_absolute_paths() {
    let e = refused(&[("/etc/passwd", b'0', b"x", "")], Limits::default());
    assert!(matches!(e, ExtractError::AbsolutePath { .. }), "{e}");
    assert_eq!(e.entry(), Some("/etc/passwd"));
}

#[test]
fn refuses_parent_components() {
    let e = refused(
        &[(".thrum/ok", b'0', b"x", ""), (".thrum/../../evil", b'0', b"x", "")],
        Limits::default(),
    );
    assert!(matches!(e, ExtractError::ParentComponent { .. }), "{e}");
    assert_eq!(e.entry(), Some(".thrum/../../evil"));
}

#[test]
fn refuses_symlinks() {
    let e = refused(&[(".thrum/link", b'2', b"", "/etc/passwd")], Limits::default());
    match &e {
        ExtractError::Symlink { entry, target, .. } => {
            assert_eq!(entry, ".thrum/link");
            assert_eq!(target, "/etc/passwd");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn refuses_hardlinks() {
    let e = refused(
        &[(".thrum/a", b'0', b"x", ""), (".thrum/b", b'1', b"", ".thrum/a")],
        Limits::default(),
    );
    assert!(matches!(e, ExtractError::Hardlink { ref entry, .. } if entry == ".thrum/b"), "{e}");
}

#[test]
fn refuses_fifos_devices_and_sparse_files() {
    let e = refused(&[(".thrum/pipe", b'6', b"", "")], Limits::default());
    assert!(matches!(e, ExtractError::SpecialFile { ref kind, .. } if kind == "FIFO"), "{e}");
    let e = refused(&[(".thrum/tty", b'3', b"", "")], Limits::default());
    assert!(
        matches!(e, ExtractError::SpecialFile { ref kind, .. } if kind == "character device"),
        "{e}"
    );
    let e = refused(&[(".thrum/s", b'S', b"", "")], Limits::default());
    assert!(
        matches!(e, ExtractError::SpecialFile { ref kind, .. } if kind == "GNU sparse file"),
        "{e}"
    );
    // a PAX-format sparse file is a regular entry with GNU.sparse records
    let t = tar_bytes(&[
        member("x", b'x', &pax(&[("GNU.sparse.major", b"1")])),
        member(".thrum/s", b'0', b"x"),
    ]);
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(
        matches!(e, ExtractError::SpecialFile { ref kind, ref entry, .. } if kind == "GNU sparse \
            file" && entry == ".thrum/s"),
        "{e}"
    );
}

#[test]
fn refuses_duplicates() {
    let e =
        refused(&[(".thrum/a", b'0', b"x", ""), ("./.thrum/a", b'0', b"y", "")], Limits::default());
    assert!(matches!(e, ExtractError::Duplicate { ref entry, .. } if entry == "./.thrum/a"), "{e}");
}

#[test]
fn refuses_oversize_entries_and_totals() {
    let limits = Limits { max_entry_bytes: 10, max_total_bytes: 15, max_entries: 3 };
    let e = refused(&[(".thrum/big", b'0', &[7u8; 11], "")], limits);
    assert!(matches!(e, ExtractError::EntryTooLarge { size: 11, limit: 10, .. }), "{e}");
    assert_eq!(e.limit(), Some(Limit::EntryBytes));
    let e =
        refused(&[(".thrum/a", b'0', &[7u8; 10], ""), (".thrum/b", b'0', &[7u8; 6], "")], limits);
    assert!(
        matches!(
            e,
            ExtractError::TotalTooLarge { subject: Subject::Entry(ref entry), total: 16, .. }
                if entry == ".thrum/b"
        ),
        "{e}"
    );
    assert_eq!(e.limit(), Some(Limit::TotalBytes));
    let e = refused(
        &[
            (".thrum/a", b'0', b"", ""),
            (".thrum/b", b'0', b"", ""),
            (".thrum/c", b'0', b"", ""),
            (".thrum/d", b'0', b"", ""),
        ],
        limits,
    );
    assert!(
        matches!(
            e,
            ExtractError::TooManyEntries { subject: Subject::Entry(ref entry), limit: 3, .. }
                if entry == ".thrum/d"
        ),
        "{e}"
    );
    assert_eq!(e.limit(), Some(Limit::Entries));
}

#[test]
fn refusals_over_a_limit_name_the_flag_that_raises_it() {
    let limits = Limits { max_entry_bytes: 1 << 20, max_total_bytes: 4 << 20, max_entries: 2 };
    let e = refused(&[(".thrum/big", b'0', &vec![1u8; (1 << 20) + 1], "")], limits);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: entry \".thrum/big\" is 1048577 bytes, over the per-entry limit of 1 MiB (raise \
                with --max-entry-bytes)",
            e_archive(&e)
        )
    );
    let big = vec![1u8; 1 << 20];
    let e = refused(
        &[
            (".thrum/a", b'0', &big, ""),
            (".thrum/b", b'0', &big, ""),
            (".thrum/c", b'0', &big[..10], ""),
        ],
        Limits { max_entries: 9, max_total_bytes: 2 << 20, ..limits },
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: entry \".thrum/c\" brings the expanded size to 2097162 bytes, over the limit of \
                2 MiB (raise with --max-total-bytes)",
            e_archive(&e)
        )
    );
    let e = refused(
        &[(".thrum/a", b'0', b"", ""), (".thrum/b", b'0', b"", ""), (".thrum/c", b'0', b"", "")],
        limits,
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: more than 2 entries (at entry \".thrum/c\"; raise with --max-entries)",
            e_archive(&e)
        )
    );
    for limit in [Limit::EntryBytes, Limit::TotalBytes, Limit::Entries] {
        let text = limit.default_text();
        let parsed = if limit == Limit::Entries {
            crate::size::parse_count(text)
        } else {
            crate::size::parse_bytes(text)
        };
        assert_eq!(parsed, Ok(Limits::default().get(limit)), "{}", limit.flag());
    }
}

fn e_archive(e: &ExtractError) -> String {
    match e {
        ExtractError::EntryTooLarge { archive, .. }
        | ExtractError::TotalTooLarge { archive, .. }
        | ExtractError::TooManyEntries { archive, .. } => archive.display().to_string(),
        other => panic!("{other}"),
    }
}

#[test]
fn refuses_file_dir_conflicts_and_garbage() {
    let e =
        refused(&[(".thrum/a", b'0', b"x", ""), (".thrum/a/b", b'0', b"y", "")], Limits::default());
    assert!(matches!(e, ExtractError::PathConflict { .. }), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("x.tar.zst");
    fs::write(&a, b"not an archive").unwrap();
    assert!(matches!(
        extract(&a, &dir.path().join("o"), &Limits::default()),
        Err(ExtractError::UnsupportedFormat { .. })
    ));
    // a truncated zstd stream
    let mut bytes = tar_of(&[(".thrum/a", b'0', &[1u8; 5000], "")], Compression::Zstd);
    bytes.truncate(bytes.len() / 2);
    fs::write(&a, bytes).unwrap();
    let e = extract(&a, &dir.path().join("o"), &Limits::default()).unwrap_err();
    assert!(matches!(e, ExtractError::Corrupt { .. }), "{e}");
    assert!(!dir.path().join("o").exists());
}

#[test]
fn a_caller_check_refuses_entries_before_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar.zst");
    fs::write(
        &a,
        tar_of(&[(".thrum/a", b'0', b"x", ""), ("evil.txt", b'0', b"y", "")], Compression::Zstd),
    )
    .unwrap();
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    let mut seen = Vec::new();
    let e = unpack_checked(&a, &root, &Limits::default(), &mut |p, k| {
        seen.push((p.to_string(), k));
        if p.starts_with(".thrum/") {
            Ok(())
        } else {
            Err("entries must be under .thrum/")
        }
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: entry \"evil.txt\" is not allowed: entries must be under .thrum/",
            a.display()
        )
    );
    assert_eq!(
        seen,
        vec![(".thrum/a".to_string(), EntryKind::File), ("evil.txt".to_string(), EntryKind::File)]
    );
    assert_eq!(listing(&root), vec![".thrum".to_string()]);
}
