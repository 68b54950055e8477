//! The whole compressed stream is read and checked: every corrupt archive
//! here is built from a valid one (a flipped CRC, ISIZE or checksum byte, a
//! cut trailer, bytes appended, a flipped byte in a stored block), refused
//! as corrupt with nothing left beside it, and judged as `gzip -t` /
//! `zstd -t` judge it (the tools must be installed: a missing tool fails).

use super::*;
use std::process::Command;

const SECRET: &[u8] = b"[{\"peer\":\"daemon-2\",\"token\":\"TOKEN-0123456789abcdef\"}]\n";

fn body() -> Vec<u8> {
    (0..3000).map(|i| format!("{{\"n\":{i}}}\n")).collect::<String>().into_bytes()
}

/// A valid tar stream (ending with the two-block end-of-archive marker).
fn valid_tar() -> Vec<u8> {
    tar_bytes(&[
        member(".thrum/", b'5', b""),
        member(".thrum/var/peers.json", b'0', SECRET),
        member(".thrum/events.jsonl", b'0', &body()),
    ])
}

/// The files of [`valid_tar`], as extracted.
fn valid_files() -> Vec<(String, Vec<u8>)> {
    vec![(".thrum/events.jsonl".into(), body()), (".thrum/var/peers.json".into(), SECRET.to_vec())]
}

fn gz(t: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    io::Write::write_all(&mut e, t).unwrap();
    e.finish().unwrap()
}

/// One zstd frame with the content-checksum flag.
fn zst_checked(t: &[u8]) -> Vec<u8> {
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    io::Write::write_all(&mut e, t).unwrap();
    e.finish().unwrap()
}

/// A skippable zstd frame holding `n` bytes.
fn skippable(n: u32) -> Vec<u8> {
    let mut f = 0x184d_2a53u32.to_le_bytes().to_vec();
    f.extend_from_slice(&n.to_le_bytes());
    f.extend(std::iter::repeat_n(0xa5, n as usize));
    f
}

fn flip(mut b: Vec<u8>, at: usize) -> Vec<u8> {
    b[at] ^= 0x01;
    b
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The files below `dir`, with their bytes, sorted.
fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Extracts `bytes`, written as `name`, to a fresh DEST: the files
/// extracted, or the refusal after checking that it names the archive and
/// that nothing but the archive is left (no DEST, no partial directory).
fn outcome(
    name: &str,
    bytes: &[u8],
    limits: Limits,
) -> Result<Vec<(String, Vec<u8>)>, ExtractError> {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join(name);
    fs::write(&a, bytes).unwrap();
    let dest = dir.path().join("dest");
    match extract(&a, &dest, &limits) {
        Ok(_) => Ok(files_below(&dest)),
        Err(e) => {
            assert!(
                e.to_string().starts_with(&format!("{}: ", a.display())),
                "the archive is named: {e}"
            );
            assert_eq!(listing(dir.path()), vec![name.to_string()], "{e}");
            Err(e)
        }
    }
}

/// `tool -t FILE`: true when the tool accepts `bytes`.
fn tool_accepts(tool: &str, bytes: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a");
    fs::write(&p, bytes).unwrap();
    let o = Command::new(tool)
        .arg("-t")
        .arg(&p)
        .output()
        .unwrap_or_else(|e| panic!("{tool} must be installed to run this test: {e}"));
    o.status.success()
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// `None`: extracted, equal to the valid archive; `Some(text)`: refused
    /// as corrupt, the reason holding `text`.
    refused: Option<&'static str>,
    /// Where it is refused: `None` after the end-of-archive marker.
    at: Option<Place>,
    /// What `gzip -t` / `zstd -t` says (true: accepted).
    tool_accepts: bool,
}

fn judge(ext: &str, tool: &str, cases: Vec<Case>) {
    let end = valid_tar().len() as u64 - 1024;
    for c in cases {
        assert_eq!(tool_accepts(tool, &c.bytes), c.tool_accepts, "{}: {tool} -t", c.name);
        let got = outcome(&format!("a.tar.{ext}"), &c.bytes, Limits::default());
        match (c.refused, got) {
            (None, Ok(files)) => assert_eq!(files, valid_files(), "{}", c.name),
            (Some(text), Err(ExtractError::Corrupt { at, reason, .. })) => {
                assert_eq!(at, c.at.unwrap_or(Place::End { offset: end }), "{}: {reason}", c.name);
                assert!(reason.contains(text), "{}: {reason:?} lacks {text:?}", c.name);
            }
            (want, got) => panic!("{}: expected {want:?}, got {got:?}", c.name),
        }
    }
}

#[test]
fn gzip_members_are_checked_to_their_last_byte() {
    let t = valid_tar();
    let ok = gz(&t, flate2::Compression::fast());
    let n = ok.len();
    // a stored block: the file's bytes are in the archive as they are
    let stored = gz(&t, flate2::Compression::none());
    let at = stored.windows(6).position(|w| w == b"TOKEN-").expect("stored bytes");
    let (first, second) =
        (gz(&t[..700], flate2::Compression::fast()), gz(&t[700..], flate2::Compression::best()));
    let case =
        |name, bytes, refused, tool_accepts| Case { name, bytes, refused, at: None, tool_accepts };
    judge(
        "gz",
        "gzip",
        vec![
            case("valid", ok.clone(), None, true),
            case("two members", cat(&[&first, &second]), None, true),
            case(
                "CRC-32 flipped",
                flip(ok.clone(), n - 8),
                Some("gzip member 1: the CRC-32 or length (ISIZE)"),
                false,
            ),
            case(
                "ISIZE flipped",
                flip(ok.clone(), n - 1),
                Some("gzip member 1: the CRC-32 or length (ISIZE)"),
                false,
            ),
            case(
                "trailer missing",
                ok[..n - 8].to_vec(),
                Some("gzip member 1 is cut short"),
                false,
            ),
            case(
                "trailer cut in half",
                ok[..n - 4].to_vec(),
                Some("gzip member 1 is cut short"),
                false,
            ),
            case(
                "garbage appended",
                cat(&[&ok, b"junk"]),
                Some("not a gzip member follow member 1 (byte 0x6a"),
                false,
            ),
            // gzip -t passes zero padding; here any trailing byte is refused
            case(
                "zeros appended",
                cat(&[&ok, &[0u8; 512]]),
                Some("not a gzip member follow member 1 (byte 0x00"),
                true,
            ),
            case(
                "one byte of a header appended",
                cat(&[&ok, &[0x1f]]),
                Some("gzip member 2 is cut short"),
                false,
            ),
            case(
                "a stored byte flipped",
                flip(stored, at),
                Some("gzip member 1: the CRC-32"),
                false,
            ),
            case(
                "the second member's CRC flipped",
                cat(&[&first, &flip(second.clone(), second.len() - 8)]),
                Some("gzip member 2: the CRC-32"),
                false,
            ),
        ],
    );
}

#[test]
fn zstd_frames_are_checked_to_their_last_byte() {
    let t = valid_tar();
    let ok = zst_checked(&t);
    let n = ok.len();
    let (first, second) = (zst_checked(&t[..700]), compress(&t[700..], Compression::Zstd));
    let case =
        |name, bytes, refused, tool_accepts| Case { name, bytes, refused, at: None, tool_accepts };
    judge(
        "zst",
        "zstd",
        vec![
            case("valid", ok.clone(), None, true),
            case("skippable frame first", cat(&[&skippable(9), &ok]), None, true),
            case(
                "two frames, a skippable frame between them",
                cat(&[&first, &skippable(0), &second]),
                None,
                true,
            ),
            case("skippable frame last", cat(&[&ok, &skippable(3)]), None, true),
            case("content checksum flipped", flip(ok.clone(), n - 1), Some("checksum"), false),
            // found when the first frame ends, inside the second entry's header
            Case {
                name: "the first frame's checksum flipped",
                bytes: cat(&[&flip(first.clone(), first.len() - 2), &second]),
                refused: Some("checksum"),
                at: Some(Place::Header { offset: 512, after: Some(".thrum/".into()) }),
                tool_accepts: false,
            },
            case("frame cut short", ok[..n - 3].to_vec(), Some("incomplete frame"), false),
            case(
                "garbage appended",
                cat(&[&ok, b"junk"]),
                Some("the zstd stream is corrupt"),
                false,
            ),
            case(
                "zeros appended",
                cat(&[&ok, &[0u8; 16]]),
                Some("the zstd stream is corrupt"),
                false,
            ),
        ],
    );
}

#[test]
fn detect_takes_a_skippable_frame_for_zstd() {
    let dir = tempfile::tempdir().unwrap();
    for low in [0x50u8, 0x5f] {
        let p = dir.path().join(format!("{low:x}.tar.zst"));
        let mut f = skippable(0);
        f[0] = low;
        fs::write(&p, &f).unwrap();
        assert_eq!(detect(&p).unwrap(), Compression::Zstd, "{low:x}");
    }
    let p = dir.path().join("x");
    fs::write(&p, [0x60, 0x2a, 0x4d, 0x18]).unwrap();
    assert!(matches!(detect(&p), Err(ExtractError::UnsupportedFormat { .. })));
}

#[test]
fn only_zeros_follow_the_end_of_archive_marker() {
    let t = valid_tar();
    let end = t.len() as u64 - 1024;
    // tar writers pad to their record size (10240 bytes by default)
    let padded = cat(&[&t, &vec![0u8; 10240 - t.len() % 10240]]);
    assert_eq!(
        outcome("a.tar.zst", &compress(&padded, Compression::Zstd), Limits::default()).unwrap(),
        valid_files()
    );
    // a non-zero byte anywhere after the marker: the valid archive followed
    // by another archive's entry, or one stray byte
    for (tail, at) in [
        (member(".thrum/hidden", b'0', b"x"), t.len()),
        ([vec![0u8; 700], vec![1]].concat(), t.len() + 700),
    ] {
        for comp in [Compression::Zstd, Compression::Gzip] {
            let e = outcome("a.tar", &compress(&cat(&[&t, &tail]), comp), Limits::default())
                .unwrap_err();
            let ExtractError::Corrupt { at: place, reason, .. } = &e else { panic!("{e}") };
            assert_eq!(*place, Place::End { offset: end }, "{e}");
            assert_eq!(
                *reason,
                format!(
                    "a non-zero byte at byte {at} of the uncompressed stream; \
                only zeros may follow the marker"
                )
            );
        }
    }
}

#[test]
fn zero_padding_counts_against_the_total_beyond_the_markers_two_blocks() {
    let data = vec![7u8; 1000];
    let t = tar_bytes(&[member(".thrum/a", b'0', &data)]);
    let limits = Limits { max_total_bytes: 1000, ..Limits::default() };
    // the marker's two blocks are free: the total is the entry's data
    assert_eq!(
        outcome("a.tar.zst", &compress(&t, Compression::Zstd), limits).unwrap(),
        vec![(".thrum/a".into(), data.clone())]
    );
    let one_more = cat(&[&t, &[0u8; 512]]);
    let e = outcome("a.tar.zst", &compress(&one_more, Compression::Zstd), limits).unwrap_err();
    let ExtractError::TotalTooLarge { subject, total, .. } = &e else { panic!("{e}") };
    assert_eq!((subject, *total), (&Subject::Padding { offset: 1536 }, 1512), "{e}");
    assert!(
        e.to_string()
            .contains("the zero padding after the end-of-archive marker at byte 1536 brings"),
        "{e}"
    );
    // a zero bomb after the marker is read only up to the limit
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("bomb.tar.zst");
    zst_file(&a, vec![Part::Bytes(t), Part::Repeat(0, 1 << 28)]);
    let small = Limits { max_total_bytes: 1 << 20, ..Limits::default() };
    let e = extract(&a, &dir.path().join("dest"), &small).unwrap_err();
    let padding_over = match &e {
        ExtractError::TotalTooLarge { subject: Subject::Padding { .. }, total, .. } => {
            *total <= (1 << 20) + (1 << 16)
        }
        _ => false,
    };
    assert!(padding_over, "{e}");
}
