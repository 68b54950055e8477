//! Tests of the extractor: one hostile archive per refusal, built byte by
//! byte (the archive builders here are shared with the submodules: the
//! compressed stream checked to its end, and modes).

use super::*;
use std::cell::Cell;
use std::io::BufReader;
use std::rc::Rc;

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
        matches!(e, ExtractError::TotalTooLarge { subject: Subject::Entry(ref entry), total: 16, .. } if entry == ".thrum/b"),
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
        matches!(e, ExtractError::TooManyEntries { subject: Subject::Entry(ref entry), limit: 3, .. } if entry == ".thrum/d"),
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

// --- bounded memory and work --------------------------------------------------

/// The compressed 512 MiB long name: about 20 KB on disk.
fn long_name_bomb(path: &Path) {
    zst_file(
        path,
        vec![
            Part::Bytes(header(b"././@LongLink", b'L', 512 << 20, b"").to_vec()),
            Part::Repeat(b'a', 512 << 20),
            Part::Bytes(member(".thrum/x", b'0', b"x")),
            Part::Bytes(END.to_vec()),
        ],
    );
}

#[test]
fn a_512_mib_gnu_long_name_is_refused_before_its_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar.zst");
    long_name_bomb(&a);
    let len = fs::metadata(&a).unwrap().len();
    assert!(len < 64 << 10, "the archive is small ({len} bytes)");
    let e = extract(&a, &dir.path().join("out"), &Limits::default()).unwrap_err();
    assert!(
        matches!(e, ExtractError::HeaderTooLarge { kind: HeaderKind::LongName, offset: 0, size, limit, .. } if size == 512 << 20 && limit == EXTENSION_HEADER_CAP),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.len() < 1024, "a short message: {} bytes", msg.len());
    assert_eq!(
        msg,
        format!(
            "{}: the GNU long-name header at byte 0 declares 536870912 bytes, over the fixed cap \
                of 64 KiB for extension headers",
            a.display()
        )
    );
    assert_eq!(listing(dir.path()), vec!["a.tar.zst".to_string()]);
    // only its header was decompressed
    let n = Rc::new(Cell::new(0));
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    let dec = zstd::stream::read::Decoder::new(fs::File::open(&a).unwrap()).unwrap();
    let e = unpack_tar(&a, Counting { inner: dec, n: n.clone() }, &root, &Limits::default())
        .unwrap_err();
    assert!(matches!(e, ExtractError::HeaderTooLarge { .. }), "{e}");
    assert_eq!(n.get(), 512);
    assert!(listing(&root).is_empty());
}

#[test]
fn a_64_mib_pax_header_is_refused_and_one_at_the_cap_is_read() {
    let (_d, r, read) = unpack_stream(
        vec![
            Part::Bytes(member(".thrum/a", b'0', b"a")),
            Part::Bytes(header(b"PaxHeaders/x", b'x', 64 << 20, b"").to_vec()),
            Part::Repeat(b'9', 64 << 20),
        ],
        Limits::default(),
    );
    let e = r.unwrap_err();
    assert!(
        matches!(e, ExtractError::HeaderTooLarge { kind: HeaderKind::Pax, offset: 1024, size, .. } if size == 64 << 20),
        "{e}"
    );
    assert_eq!(read, 1536, "nothing of the PAX data was read");
    // exactly 64 KiB of PAX records (a long comment and a path) is fine
    let mut records = pax(&[("path", b".thrum/from-pax")]);
    let filler = EXTENSION_HEADER_CAP as usize - records.len();
    let comment = vec![b'c'; filler - "99999 comment=\n".len()];
    records.extend(pax(&[("comment", &comment)]));
    assert_eq!(records.len() as u64, EXTENSION_HEADER_CAP);
    let t = tar_bytes(&[member("PaxHeaders/x", b'x', &records), member("ignored", b'0', b"p")]);
    let (dir, r, _) = unpack_stream(vec![Part::Bytes(t)], Limits::default());
    assert_eq!(r.unwrap()[0].path, ".thrum/from-pax");
    assert_eq!(fs::read(dir.path().join(".thrum/from-pax")).unwrap(), b"p");
}

#[test]
fn gnu_long_links_apply_to_the_next_entry_and_are_bounded() {
    let t = tar_bytes(&[
        member("././@LongLink", b'K', b"/etc/shadow\0"),
        member("././@LongLink", b'L', b".thrum/long-link\0"),
        {
            let mut m = header(b".thrum/short", b'2', 0, b"/etc/passwd").to_vec();
            m.truncate(512);
            m
        },
    ]);
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(
        matches!(e, ExtractError::Symlink { ref entry, ref target, .. } if entry == ".thrum/long-l\
            ink" && target == "/etc/shadow"),
        "{e}"
    );
    let (_d, r, read) = unpack_stream(
        vec![
            Part::Bytes(header(b"././@LongLink", b'K', 1 << 20, b"").to_vec()),
            Part::Repeat(b'k', 1 << 20),
        ],
        Limits::default(),
    );
    let e = r.unwrap_err();
    assert!(
        matches!(e, ExtractError::HeaderTooLarge { kind: HeaderKind::LongLink, offset: 0, .. }),
        "{e}"
    );
    assert_eq!(read, 512);
}

#[test]
fn pax_global_headers_count_as_entries_and_their_data_as_bytes() {
    let g = member("pax_global_header", b'g', &pax(&[("comment", b"hello")]));
    let chain: Vec<Vec<u8>> = std::iter::repeat_n(g.clone(), 5).collect();
    let limits = Limits { max_entries: 4, ..Limits::default() };
    let e = refused_bytes(compress(&tar_bytes(&chain), Compression::Zstd), limits);
    assert!(
        matches!(
            e,
            ExtractError::TooManyEntries {
                subject: Subject::Header { kind: HeaderKind::PaxGlobal, offset: 4096 },
                limit: 4,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains(
            "more than 4 entries (at the PAX global header at byte 4096; raise with --max-entries)"
        ),
        "{e}"
    );
    // four global headers and one file are five entries
    let mut five = chain[..4].to_vec();
    five.push(member(".thrum/a", b'0', b"a"));
    let e = refused_bytes(compress(&tar_bytes(&five), Compression::Zstd), limits);
    assert!(
        matches!(e, ExtractError::TooManyEntries { subject: Subject::Entry(ref n), .. } if n == ".\
            thrum/a"),
        "{e}"
    );
    // the data of global headers counts toward the total
    let g_len = pax(&[("comment", b"hello")]).len() as u64;
    let limits = Limits { max_total_bytes: 3 * g_len + 1, ..Limits::default() };
    let e = refused_bytes(compress(&tar_bytes(&five), Compression::Zstd), limits);
    assert!(
        matches!(e, ExtractError::TotalTooLarge { subject: Subject::Header { kind: HeaderKind::PaxGlobal, offset: 3072 }, total, .. } if total == 4 * g_len),
        "{e}"
    );
}

#[test]
fn directory_data_counts_toward_the_total_and_is_never_read_past_it() {
    // 16 GiB declared by a directory: refused at its header
    let limits = Limits { max_entry_bytes: u64::MAX, ..Limits::default() };
    let (dir, r, read) = unpack_stream(
        vec![
            Part::Bytes(member(".thrum/a", b'0', b"a")),
            Part::Bytes(header(b".thrum/d/", b'5', 16 << 30, b"").to_vec()),
            Part::Repeat(0, 16 << 30),
        ],
        limits,
    );
    let e = r.unwrap_err();
    assert!(
        matches!(e, ExtractError::TotalTooLarge { subject: Subject::Entry(ref n), total, .. } if n == ".thrum/d/" && total == (16 << 30) + 1),
        "{e}"
    );
    assert_eq!(read, 1536);
    assert!(!dir.path().join(".thrum/d").exists());
    // within the limits, a directory's data is skipped but counted: 3 MiB of
    // directory data leave 1 MiB of a 4 MiB budget
    let limits = Limits { max_entry_bytes: 8 << 20, max_total_bytes: 4 << 20, max_entries: 100 };
    let dir_with_data = || {
        vec![Part::Bytes(header(b".thrum/", b'5', 3 << 20, b"").to_vec()), Part::Repeat(7, 3 << 20)]
    };
    let mut parts = dir_with_data();
    parts.extend([
        Part::Bytes(member(".thrum/small", b'0', &[1u8; 1000])),
        Part::Bytes(END.to_vec()),
    ]);
    let (dir, r, _) = unpack_stream(parts, limits);
    let entries = r.unwrap();
    assert_eq!(
        entries.iter().map(|e| (e.path.as_str(), e.size)).collect::<Vec<_>>(),
        vec![(".thrum", 0), (".thrum/small", 1000)]
    );
    assert_eq!(fs::read(dir.path().join(".thrum/small")).unwrap(), vec![1u8; 1000]);
    let mut parts = dir_with_data();
    parts.extend([
        Part::Bytes(header(b".thrum/big", b'0', (1 << 20) + 1, b"").to_vec()),
        Part::Repeat(1, (1 << 20) + 1),
    ]);
    let (dir, r, _) = unpack_stream(parts, limits);
    let e = r.unwrap_err();
    assert!(
        matches!(e, ExtractError::TotalTooLarge { total, .. } if total == (4 << 20) + 1),
        "{e}"
    );
    assert!(!dir.path().join(".thrum/big").exists());
}

#[test]
fn an_entry_over_the_remaining_budget_is_refused_with_nothing_of_it_written() {
    let limits = Limits { max_entry_bytes: 8 << 20, max_total_bytes: 10 << 20, max_entries: 100 };
    let parts = || {
        vec![
            Part::Bytes(header(b".thrum/a", b'0', 6 << 20, b"").to_vec()),
            Part::Repeat(0, 6 << 20),
            Part::Bytes(header(b".thrum/b", b'0', 6 << 20, b"").to_vec()),
            Part::Repeat(0, 6 << 20),
            Part::Bytes(END.to_vec()),
        ]
    };
    // into a directory of ours: a is complete, b was never created
    let (dir, r, read) = unpack_stream(parts(), limits);
    let e = r.unwrap_err();
    assert!(
        matches!(e, ExtractError::TotalTooLarge { subject: Subject::Entry(ref n), total, .. } if n == ".thrum/b" && total == 12 << 20),
        "{e}"
    );
    assert_eq!(read, 512 + (6 << 20) + 512);
    assert_eq!(fs::metadata(dir.path().join(".thrum/a")).unwrap().len(), 6 << 20);
    assert!(!dir.path().join(".thrum/b").exists());
    // through `extract`: no destination, no temporary directory
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar.zst");
    zst_file(&a, parts());
    let e = extract(&a, &dir.path().join("out"), &limits).unwrap_err();
    assert!(matches!(e, ExtractError::TotalTooLarge { .. }), "{e}");
    assert_eq!(listing(dir.path()), vec!["a.tar.zst".to_string()]);
    // a PAX size over the per-entry limit is refused the same way
    let t = [
        member("x", b'x', &pax(&[("size", b"9999999999")])),
        header(b".thrum/c", b'0', 0, b"").to_vec(),
    ]
    .concat();
    let (_d, r, read) = unpack_stream(vec![Part::Bytes(t), Part::Repeat(0, 1 << 20)], limits);
    assert!(matches!(r, Err(ExtractError::EntryTooLarge { size: 9_999_999_999, .. })), "{r:?}");
    assert_eq!(read, 1536);
}

#[test]
fn a_pax_size_replaces_the_header_size() {
    let t = tar_bytes(&[member("x", b'x', &pax(&[("size", b"5")])), {
        let mut m = header(b".thrum/c", b'0', 0, b"").to_vec();
        m.extend_from_slice(b"hello");
        m.extend(std::iter::repeat_n(0u8, 507));
        m
    }]);
    let (dir, r, _) = unpack_stream(vec![Part::Bytes(t)], Limits::default());
    assert_eq!(r.unwrap()[0].size, 5);
    assert_eq!(fs::read(dir.path().join(".thrum/c")).unwrap(), b"hello");
}

// --- honest messages ----------------------------------------------------------

#[test]
fn names_in_messages_are_escaped_and_cut() {
    let evil = b".thrum/x\n\x1b[32mresult: CONSISTENT\x1b[0m/../../y";
    let t = tar_bytes(&[member("x", b'x', &pax(&[("path", evil)])), member("y", b'0', b"")]);
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(matches!(e, ExtractError::ParentComponent { .. }), "{e}");
    let msg = e.to_string();
    assert!(!msg.contains('\n') && !msg.contains('\x1b'), "{msg:?}");
    assert!(msg.contains(r#"".thrum/x\n\u{1b}[32mresult: CONSISTENT\u{1b}[0m/../../y""#), "{msg}");
    // a 10 KiB name: refused as over-long, shown cut with its length
    let long = vec![b'n'; 10 << 10];
    let t = tar_bytes(&[member("././@LongLink", b'L', &long), member("y", b'0', b"")]);
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(
        matches!(e, ExtractError::InvalidPath { reason: "a path longer than 4096 bytes", .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.len() < 1024 && msg.contains(&format!("{}… (10240 bytes)", "n".repeat(200))),
        "{msg}"
    );
}

#[test]
fn a_header_error_names_the_entry_before_it_and_its_offset() {
    let mut t = tar_bytes(&[member(".thrum/a", b'0', b"a"), member(".thrum/b", b'0', b"b")]);
    t[1024 + 148] = b'7'; // break the second header's checksum
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(
        matches!(e, ExtractError::Corrupt { at: Place::Header { offset: 1024, after: Some(ref a) }, .. } if a == ".thrum/a"),
        "{e}"
    );
    assert!(
        e.to_string().contains(
            "corrupt or truncated archive in the header at byte 1024, after \
                entry \".thrum/a\": header checksum mismatch"
        ),
        "{e}"
    );
    assert_eq!(e.entry(), Some(".thrum/a"));
    // the first header
    let e = refused_bytes(compress(&[7u8; 2048], Compression::Zstd), Limits::default());
    assert!(
        e.to_string().contains(
            "corrupt or truncated archive at the first header (byte 0): the header's \
                checksum field is not an octal number"
        ),
        "{e}"
    );
    // data cut short names its entry
    let t = header(b".thrum/short", b'0', 100_000, b"")
        .iter()
        .copied()
        .chain([1u8; 10])
        .collect::<Vec<_>>();
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(
        matches!(e, ExtractError::Corrupt { at: Place::Data { ref entry, offset: 0 }, .. } if entry == ".thrum/short"),
        "{e}"
    );
    assert!(
        e.to_string().contains(
            "the archive ends 10 bytes into the entry's data; its header declares 100000"
        ),
        "{e}"
    );
    // extension headers: twice for one entry, or with no entry after them
    let t = tar_bytes(&[
        member("././@LongLink", b'L', b"a\0"),
        member("././@LongLink", b'L', b"b\0"),
        member("c", b'0', b""),
    ]);
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(
        matches!(e, ExtractError::Corrupt { at: Place::Header { offset: 1024, after: None }, ref reason, .. } if reason == "a second GNU long-name header for the same entry"),
        "{e}"
    );
    let t = tar_bytes(&[member(".thrum/a", b'0', b""), member("x", b'x', &pax(&[("path", b"p")]))]);
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(e.to_string().contains("without the entry it describes"), "{e}");
    let t = tar_bytes(&[member("x", b'x', b"12 path=ab\n")]);
    let e = refused_bytes(compress(&t, Compression::Zstd), Limits::default());
    assert!(e.to_string().contains("malformed PAX record"), "{e}");
}

#[test]
fn a_full_disk_is_not_called_corruption() {
    let root = Path::new("/tmp/out/.x.partial-1");
    let limits = Limits::default();
    let u = Unpacker::new(Path::new("a.tar.zst"), root, &limits);
    let e = u.write_err(".thrum/var/messages.db", io::Error::from(io::ErrorKind::StorageFull));
    assert!(matches!(e, ExtractError::DiskFull { .. }) && !e.is_input_error(), "{e}");
    assert!(
        e.to_string().starts_with(
            "disk full while writing \
            /tmp/out/.x.partial-1/.thrum/var/messages.db (extracting a.tar.zst): "
        ),
        "{e}"
    );
    #[cfg(target_os = "linux")]
    for errno in [28, 122] {
        // ENOSPC, EDQUOT
        let e = u.write_err(".thrum/a", io::Error::from_raw_os_error(errno));
        assert!(matches!(e, ExtractError::DiskFull { .. }), "{errno}: {e}");
    }
    let e = u.write_err(".thrum/a", io::Error::from(io::ErrorKind::PermissionDenied));
    assert!(matches!(e, ExtractError::Write { .. }) && !e.is_input_error(), "{e}");
    let e = u.write_err(".thrum/a", io::Error::from(io::ErrorKind::AlreadyExists));
    assert!(matches!(e, ExtractError::PathConflict { .. }) && e.is_input_error(), "{e}");
}

/// Fails every read.
struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("the disk under the archive is failing"))
    }
}

#[test]
fn an_unreadable_archive_file_is_an_io_error_not_corruption() {
    for dec in [
        Box::new(zstd::stream::read::Decoder::new(tar::Source(Failing)).unwrap()) as Box<dyn Read>,
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(tar::Source(Failing)))),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let e =
            unpack_tar(Path::new("a.tar.zst"), dec, dir.path(), &Limits::default()).unwrap_err();
        assert!(
            matches!(e, ExtractError::Io { ref error, .. } if error.to_string() == "the disk \
                under the archive is failing"),
            "{e}"
        );
    }
    // while a decode error is corruption
    let dir = tempfile::tempdir().unwrap();
    let dec = zstd::stream::read::Decoder::new(tar::Source(io::Cursor::new(vec![
        0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff,
    ])))
    .unwrap();
    let e = unpack_tar(Path::new("a.tar.zst"), dec, dir.path(), &Limits::default()).unwrap_err();
    assert!(matches!(e, ExtractError::Corrupt { .. }), "{e}");
}

#[test]
fn header_fields_parse_as_tar_writers_write_them() {
    let h = tar::Header::from_bytes(header(b"n", b'0', 8 << 30, b""));
    assert_eq!(h.size(), Ok(8 << 30)); // base-256
    let mut b = header(b"n", b'0', 0, b"");
    b[124..136].copy_from_slice(b"  17\0       ");
    assert_eq!(tar::Header::from_bytes(b).size(), Ok(15));
    b[124..136].copy_from_slice(b"0000000008\0\0");
    assert!(tar::Header::from_bytes(b).size().is_err());
    b[124] = 0xc0; // negative base-256
    assert!(tar::Header::from_bytes(b).size().is_err());
    b[124..136].copy_from_slice(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(tar::Header::from_bytes(b).size().is_err(), "over u64");
    // ustar prefix + name
    let mut b = header(b"name", b'0', 0, b"");
    b[345..351].copy_from_slice(b"prefix");
    assert_eq!(tar::Header::from_bytes(b).path(), b"prefix/name");
    assert_eq!(
        tar::parse_pax(&pax(&[
            ("path", b"a=b"),
            ("linkpath", b"l"),
            ("size", b"12"),
            ("mtime", b"1.5")
        ])),
        Ok(tar::Pax {
            path: Some(b"a=b".to_vec()),
            linkpath: Some(b"l".to_vec()),
            size: Some(12),
            sparse: false
        })
    );
    assert!(tar::parse_pax(b"5 a=b\n").is_err());
    assert!(tar::parse_pax(b"99999999999999999999999 a=b\n").is_err());
    assert!(tar::parse_pax(b"11 size=x1\n").is_err());
    assert_eq!(tar::parse_pax(b"6 a=b\n\0\0\0"), Ok(tar::Pax::default()));
}
