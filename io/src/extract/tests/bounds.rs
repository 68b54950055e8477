//! Bounded memory and work: extension headers, PAX global headers and
//! directory data count against the limits before a byte is read or written.

use super::*;

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
        matches!(
            e,
            ExtractError::HeaderTooLarge { kind: HeaderKind::LongName, offset: 0, size, limit, .. }
                if size == 512 << 20 && limit == EXTENSION_HEADER_CAP
        ),
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
        matches!(
            e,
            ExtractError::HeaderTooLarge { kind: HeaderKind::Pax, offset: 1024, size, .. }
                if size == 64 << 20
        ),
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
        matches!(
            e,
            ExtractError::TotalTooLarge {
                subject: Subject::Header { kind: HeaderKind::PaxGlobal, offset: 3072 },
                total,
                ..
            }
                if total == 4 * g_len
        ),
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
        matches!(
            e,
            ExtractError::TotalTooLarge { subject: Subject::Entry(ref n), total, .. }
                if n == ".thrum/d/" && total == (16 << 30) + 1
        ),
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
        matches!(
            e,
            ExtractError::TotalTooLarge { subject: Subject::Entry(ref n), total, .. }
                if n == ".thrum/b" && total == 12 << 20
        ),
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
