//! `verify extract` (and every command that extracts) reads an archive to
//! its last byte: a wrong gzip CRC-32 or ISIZE, a missing trailer, garbage
//! after the last member, a flipped byte in a stored block, a wrong zstd
//! content checksum are refused with exit 2, the archive named and nothing
//! left (no DEST: what was written before the fault was found is in the
//! temporary directory). Skippable zstd frames, several frames and several
//! gzip members extract whole. Extraction keeps each entry's permission
//! bits, narrowed by the umask: the mesh fixtures' `var/peers.json` stays
//! 0600.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &[u8] = b"TOKEN-0123456789abcdef";

/// (path, mode, data; `None` for a directory), in archive order.
type Spec = Vec<(&'static str, u32, Option<Vec<u8>>)>;

fn spec() -> Spec {
    let events: Vec<u8> =
        (0..4000).map(|i| format!("{{\"n\":{i}}}\n")).collect::<String>().into_bytes();
    let peers = [b"[{\"token\":\"".as_slice(), TOKEN, b"\"}]\n"].concat();
    vec![
        (".thrum/", 0o755, None),
        (".thrum/events.jsonl", 0o644, Some(events)),
        (".thrum/group.conf", 0o640, Some(b"group\n".to_vec())),
        (".thrum/var/", 0o750, None),
        (".thrum/var/peers.json", 0o600, Some(peers)),
    ]
}

fn tar_of(spec: &Spec) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, mode, data) in spec {
        let mut h = tar::Header::new_ustar();
        h.set_mode(*mode);
        h.set_entry_type(if data.is_some() {
            tar::EntryType::Regular
        } else {
            tar::EntryType::Directory
        });
        let data = data.as_deref().unwrap_or_default();
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(t: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(t).unwrap();
    e.finish().unwrap()
}

fn zst(t: &[u8]) -> Vec<u8> {
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    e.write_all(t).unwrap();
    e.finish().unwrap()
}

fn skippable(n: u32) -> Vec<u8> {
    [0x184d_2a50u32.to_le_bytes().as_slice(), &n.to_le_bytes(), &vec![0x5a; n as usize]].concat()
}

fn flip(mut b: Vec<u8>, at: usize) -> Vec<u8> {
    b[at] ^= 0x01;
    b
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `verify ARGS` under `umask`, with its temporaries in `tmp`.
fn verify(umask: &str, args: &[&Path], tmp: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask \"$0\" && exec \"$@\"")
        .arg(umask)
        .arg(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .unwrap()
}

/// A work directory holding `name` with `bytes`, and an empty `tmp`.
fn setup(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (work, tmp) = (dir.path().join("work"), dir.path().join("tmp"));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let archive = work.join(name);
    std::fs::write(&archive, bytes).unwrap();
    (dir, work, tmp, archive)
}

#[test]
fn corrupt_trailers_and_checksums_are_refused_by_every_command_and_leave_nothing() {
    let t = tar_of(&spec());
    let ok_gz = gz(&t, flate2::Compression::default());
    let stored = gz(&t, flate2::Compression::none());
    let at = stored.windows(TOKEN.len()).position(|w| w == TOKEN).unwrap();
    let ok_zst = zst(&t);
    let (g, z) = (ok_gz.len(), ok_zst.len());
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("gzip CRC-32", "tar.gz", flip(ok_gz.clone(), g - 6), "CRC-32 or length (ISIZE)"),
        ("gzip ISIZE", "tar.gz", flip(ok_gz.clone(), g - 2), "CRC-32 or length (ISIZE)"),
        ("gzip trailer missing", "tar.gz", ok_gz[..g - 8].to_vec(), "gzip member 1 is cut short"),
        (
            "gzip garbage after the member",
            "tar.gz",
            [ok_gz.as_slice(), b"GARBAGE"].concat(),
            "not a gzip member",
        ),
        ("gzip stored block flipped", "tar.gz", flip(stored, at + 3), "CRC-32 or length (ISIZE)"),
        ("zstd content checksum", "tar.zst", flip(ok_zst.clone(), z - 3), "checksum"),
        (
            "zstd garbage after the frame",
            "tar.zst",
            [ok_zst.as_slice(), &[0u8; 8]].concat(),
            "the zstd stream is corrupt",
        ),
    ];
    for (name, ext, bytes, reason) in cases {
        let (_dir, work, tmp, archive) = setup(&format!("evil.{ext}"), &bytes);
        let dest = work.join("dest");
        for args in
            [vec![Path::new("extract"), &archive, &dest], vec![Path::new("replay"), &archive]]
        {
            let o = verify("022", &args, &tmp);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{name} {:?}: {err}", args[0]);
            let named = format!("{}: corrupt or truncated archive", archive.display());
            assert!(err.contains(&named) && err.contains(reason), "{name} {:?}: {err}", args[0]);
            assert_eq!(
                listing(&work),
                vec![format!("evil.{ext}")],
                "{name} {:?}: no DEST, no partial directory",
                args[0]
            );
            assert!(listing(&tmp).is_empty(), "{name} {:?}: temporaries removed", args[0]);
        }
    }
}

/// The files below `dir` with their bytes and modes, sorted.
fn tree(dir: &Path) -> Vec<(String, u32, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let mode = std::fs::symlink_metadata(&p).unwrap().permissions().mode() & 0o7777;
            if p.is_dir() {
                out.push((format!("{rel}/"), mode, None));
                stack.push(p);
            } else {
                out.push((rel, mode, Some(std::fs::read(&p).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// What extraction under `umask` must give for `spec`.
fn expected(spec: &Spec, umask: u32) -> Vec<(String, u32, Option<Vec<u8>>)> {
    let mut v: Vec<_> =
        spec.iter().map(|(p, m, d)| (p.to_string(), m & !umask, d.clone())).collect();
    v.sort();
    v
}

#[test]
fn frames_members_and_modes_survive_extraction() {
    let s = spec();
    let t = tar_of(&s);
    let half = t.len() / 2;
    let ok_zst = zst(&t);
    let archives: Vec<(&str, &str, Vec<u8>)> = vec![
        ("zstd", "tar.zst", ok_zst.clone()),
        ("zstd, a skippable frame first", "tar.zst", [skippable(16), ok_zst.clone()].concat()),
        (
            "zstd, two frames and a skippable frame between",
            "tar.zst",
            [zst(&t[..half]), skippable(0), zst(&t[half..])].concat(),
        ),
        (
            "gzip, two members",
            "tar.gz",
            [
                gz(&t[..half], flate2::Compression::fast()),
                gz(&t[half..], flate2::Compression::best()),
            ]
            .concat(),
        ),
    ];
    for (name, ext, bytes) in archives {
        for (umask, mask) in [("022", 0o022), ("077", 0o077)] {
            let (_dir, work, tmp, archive) = setup(&format!("ok.{ext}"), &bytes);
            let dest = work.join("dest");
            let o = verify(umask, &[Path::new("extract"), &archive, &dest], &tmp);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{name} (umask {umask}): {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(tree(&dest), expected(&s, mask), "{name} (umask {umask})");
        }
    }
    // what those modes are, spelled out
    let e = expected(&s, 0o077);
    let modes: Vec<(&str, u32)> = e.iter().map(|(p, m, _)| (p.as_str(), *m)).collect();
    assert_eq!(
        modes,
        [
            (".thrum/", 0o700),
            (".thrum/events.jsonl", 0o600),
            (".thrum/group.conf", 0o600),
            (".thrum/var/", 0o700),
            (".thrum/var/peers.json", 0o600)
        ]
    );
}

#[test]
fn the_mesh_fixtures_round_trip_their_modes() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mesh");
    for k in 1..=3 {
        let archive = fixtures.join(format!("daemon-{k}/thrum-fixture.tar.zst"));
        let mut tar_bytes = Vec::new();
        zstd::stream::read::Decoder::new(std::fs::File::open(&archive).unwrap())
            .unwrap()
            .read_to_end(&mut tar_bytes)
            .unwrap();
        let mut archived = Vec::new();
        for entry in tar::Archive::new(tar_bytes.as_slice()).entries().unwrap() {
            let entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            archived.push((
                path.trim_end_matches('/').to_string(),
                entry.header().mode().unwrap() & 0o777,
            ));
        }
        assert!(
            archived.contains(&(".thrum/var/peers.json".into(), 0o600)),
            "daemon-{k}: {archived:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        let o = verify("022", &[Path::new("extract"), &archive, &dest], dir.path());
        assert_eq!(o.status.code(), Some(0), "daemon-{k}: {}", String::from_utf8_lossy(&o.stderr));
        for (path, mode) in archived {
            let got =
                std::fs::symlink_metadata(dest.join(&path)).unwrap().permissions().mode() & 0o7777;
            assert_eq!(got, mode & !0o022, "daemon-{k}: {path}");
        }
    }
}
