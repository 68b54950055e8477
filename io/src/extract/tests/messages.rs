//! Honest messages: names escaped and cut, the entry and offset of a
//! header error, a full disk and an unreadable file told from corruption.

use super::*;

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
        matches!(
            e,
            ExtractError::Corrupt { at: Place::Header { offset: 1024, after: Some(ref a) }, .. }
                if a == ".thrum/a"
        ),
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
        matches!(
            e,
            ExtractError::Corrupt { at: Place::Data { ref entry, offset: 0 }, .. }
                if entry == ".thrum/short"
        ),
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
        matches!(
            e,
            ExtractError::Corrupt {
                at: Place::Header { offset: 1024, after: None },
                ref reason,
                ..
            }
                if reason == "a second GNU long-name header for the same entry"
        ),
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
