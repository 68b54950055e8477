//! The archives' compression: zstd frames carry the content checksum and
//! the content size; `--compression gzip` writes `.tar.gz` archives with a
//! fixed header, named by SHA256SUMS and the manifests, byte-reproducible,
//! readable by the verifier and replaceable by the next run.

use crate::common::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use testgen::Compression;
use thrum_gen::Profile;

fn generate_with(out: &Path, compression: Compression, jobs: usize) {
    let opts = testgen::Options {
        seed: 11,
        profile: Profile::small(),
        jobs,
        compression,
        ..testgen::Options::new(out)
    };
    testgen::generate(&opts).expect("generation succeeds");
}

fn unzstd(data: &[u8]) -> std::io::Result<Vec<u8>> {
    zstd::stream::decode_all(data)
}

fn gunzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

/// The frame header fields a one-shot decoder reads.
struct FrameHeader {
    checksum: bool,
    content_size: Option<u64>,
}

/// Parses the header of the zstd frame at the start of `data` (RFC 8878).
fn frame_header(data: &[u8]) -> FrameHeader {
    assert_eq!(data[..4], [0x28, 0xb5, 0x2f, 0xfd], "zstd magic");
    let fhd = data[4];
    let single_segment = fhd & 0x20 != 0;
    let dict_len = [0, 1, 2, 4][usize::from(fhd & 3)];
    let fcs_len = match fhd >> 6 {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let at = 5 + usize::from(!single_segment) + dict_len;
    let mut v = [0u8; 8];
    v[..fcs_len].copy_from_slice(&data[at..at + fcs_len]);
    let n = u64::from_le_bytes(v) + if fcs_len == 2 { 256 } else { 0 };
    FrameHeader { checksum: fhd & 4 != 0, content_size: (fcs_len > 0).then_some(n) }
}

#[test]
fn zstd_frames_carry_the_content_size_and_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("z");
    generate_with(&out, Compression::Zstd, 2);
    for name in [testgen::ARCHIVE, testgen::ARCHIVE_V5] {
        let data = std::fs::read(out.join(name)).unwrap();
        let tar = unzstd(&data).unwrap();
        let h = frame_header(&data);
        assert!(h.checksum, "{name}: no content checksum");
        assert_eq!(h.content_size, Some(tar.len() as u64), "{name}: content size");
        // what one-shot decoders ask of the frame (ZSTD_getFrameContentSize)
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&data).ok(),
            Some(Some(tar.len() as u64)),
            "{name}"
        );
        assert_eq!(
            zstd::bulk::decompress(&data, tar.len()).unwrap(),
            tar,
            "{name}: one-shot decompression"
        );
        // one frame: nothing after it
        assert_eq!(zstd::zstd_safe::find_frame_compressed_size(&data), Ok(data.len()), "{name}");
        // a flipped bit inside the frame is detected (by the block's
        // structure or by the checksum, depending on where it falls), and
        // the checksum the frame ends with is verified
        let mut bad = data.clone();
        bad[data.len() / 2] ^= 0x01;
        unzstd(&bad).expect_err("corruption goes unnoticed");
        let mut bad = data.clone();
        bad[data.len() - 1] ^= 0x01;
        let err = unzstd(&bad).expect_err("a wrong checksum goes unnoticed");
        assert!(err.to_string().contains("checksum"), "{name}: {err}");
    }
}

/// `zstd -t` (the command-line tool: it must be installed, a missing tool
/// fails the test) accepts the archive and rejects it with one flipped bit
/// in the middle of the frame, and so does the extractor.
#[test]
fn zstd_test_detects_corruption_inside_the_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("z");
    generate_with(&out, Compression::Zstd, 1);
    let archive = out.join(testgen::ARCHIVE);
    let t = |p: &Path| {
        Command::new("zstd")
            .arg("-q")
            .arg("-t")
            .arg(p)
            .output()
            .unwrap_or_else(|e| panic!("zstd must be installed to run this test: {e}"))
    };
    let ok = t(&archive);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let mut data = std::fs::read(&archive).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x01;
    let bad = tmp.path().join("bad.tar.zst");
    std::fs::write(&bad, &data).unwrap();
    let r = t(&bad);
    assert!(!r.status.success(), "zstd -t accepted a corrupted frame");
    let limits = thrum_io::extract::Limits::default();
    let e = thrum_io::extract::extract(&bad, &tmp.path().join("dest"), &limits)
        .expect_err("the extractor accepted a corrupted frame");
    assert!(matches!(e, thrum_io::extract::ExtractError::Corrupt { .. }), "{e}");
    assert!(!tmp.path().join("dest").exists());
}

/// Runs the testgen binary.
fn testgen_cli(args: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_testgen")).args(args).arg("--out").arg(out).output().unwrap()
}

fn gzip_run(dir: &Path, name: &str, jobs: &str) -> PathBuf {
    let out = dir.join(name);
    let r = testgen_cli(
        &["--quiet", "--profile", "small", "--seed", "11", "--compression", "gzip", "--jobs", jobs],
        &out,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    out
}

#[test]
fn gzip_archives_are_deterministic_and_named_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let g1 = gzip_run(tmp.path(), "g1", "1");
    let g2 = gzip_run(tmp.path(), "g2", "2");
    let (a, b) = (read_all(&g1), read_all(&g2));
    assert_eq!(a, b, "--jobs 1 and --jobs 2 differ");
    assert!(a.contains_key(testgen::ARCHIVE_GZ) && a.contains_key(testgen::ARCHIVE_V5_GZ));
    assert!(
        !a.contains_key(testgen::ARCHIVE) && !a.contains_key(testgen::ARCHIVE_V5),
        "a .tar.zst beside the .tar.gz"
    );
    // fixed header: deflate, no flags (no name), mtime 0, XFL 0, OS 255
    for name in [testgen::ARCHIVE_GZ, testgen::ARCHIVE_V5_GZ] {
        assert_eq!(a[name][..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], "{name} header");
    }
    // the manifests and SHA256SUMS name the .tar.gz
    let sums = String::from_utf8(a[testgen::SUMS].clone()).unwrap();
    for name in [testgen::ARCHIVE_GZ, testgen::ARCHIVE_V5_GZ] {
        let hash = thrum_io::hash::sha256_hex(&a[name]);
        assert!(sums.contains(&format!("{hash}  {name}\n")), "{name} not in SHA256SUMS:\n{sums}");
    }
    assert!(!sums.contains(".tar.zst"), "{sums}");
    for (manifest, name) in
        [(testgen::MANIFEST, testgen::ARCHIVE_GZ), (testgen::MANIFEST_V5, testgen::ARCHIVE_V5_GZ)]
    {
        let m: serde_json::Value = serde_json::from_slice(&a[manifest]).unwrap();
        assert_eq!(m["archive"]["path"], name, "{manifest}");
        assert_eq!(m["archive"]["size"], a[name].len() as u64, "{manifest}");
    }
    // the same tar streams as the zstd archives of the same seed
    let z = tmp.path().join("z");
    generate_with(&z, Compression::Zstd, 2);
    for (gz, zst) in
        [(testgen::ARCHIVE_GZ, testgen::ARCHIVE), (testgen::ARCHIVE_V5_GZ, testgen::ARCHIVE_V5)]
    {
        let zst = unzstd(&std::fs::read(z.join(zst)).unwrap()).unwrap();
        assert!(gunzip(&a[gz]).unwrap() == zst, "{gz} holds another tar stream than its .tar.zst");
    }
    // the rest of the output is the same as with zstd, but the names
    let zall = read_all(&z);
    for (k, v) in &zall {
        if k.starts_with("parquet/") {
            assert!(a.get(k) == Some(v), "{k} differs");
        }
    }
}

#[test]
fn the_verifier_reads_the_gzip_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("g");
    generate_with(&out, Compression::Gzip, 2);
    // verify replay: manifest and SHA256SUMS found beside the archive
    let r = verify::verify_path(&out.join(testgen::ARCHIVE_GZ), &verify::Options::default())
        .expect("usable");
    assert!(r.consistent, "{}", r.render_text());
    assert_eq!(r.errors, 0);
    let text = r.render_text();
    assert!(text.contains("manifest.json (") && text.contains("SHA256SUMS"), "{text}");
    // verify migrate
    let m =
        verify::migrate_path(&out.join(testgen::ARCHIVE_V5_GZ), &verify::MigrateOptions::default())
            .expect("usable");
    assert!(m.consistent, "{}", m.render_text());
    // extraction: the tree the manifest lists
    let tree = tmp.path().join("x");
    extract(&out.join(testgen::ARCHIVE_GZ), &tree);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(testgen::MANIFEST)).unwrap()).unwrap();
    let files = m["files"].as_array().unwrap();
    assert!(!files.is_empty());
    for f in files {
        let path = f["path"].as_str().unwrap();
        let bytes = std::fs::read(tree.join(path)).unwrap();
        assert_eq!(thrum_io::hash::sha256_hex(&bytes), f["sha256"].as_str().unwrap(), "{path}");
    }
}

#[test]
fn a_gzip_output_is_a_previous_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gzip_run(tmp.path(), "g", "1");
    assert_eq!(testgen::recognise::artifacts(&out), Ok(()));
    // replaced by a zstd run and back: each one's files only
    let r = testgen_cli(&["--quiet", "--profile", "small", "--seed", "11"], &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let z = read_all(&out);
    assert!(z.contains_key(testgen::ARCHIVE) && !z.contains_key(testgen::ARCHIVE_GZ));
    let before = read_all(&gzip_run(tmp.path(), "g", "2"));
    assert!(before.contains_key(testgen::ARCHIVE_GZ) && !before.contains_key(testgen::ARCHIVE));
    // a file that is not listed still makes it someone else's
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let r = testgen_cli(&["--quiet", "--profile", "small", "--compression", "gzip"], &out);
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("notes.txt"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn help_explains_the_compression_option() {
    let r = Command::new(env!("CARGO_BIN_EXE_testgen")).arg("--help").output().unwrap();
    // the words, whatever the wrapping
    let help =
        String::from_utf8(r.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("--compression <COMPRESSION>"), "{help}");
    assert!(
        help.contains("[default: zstd]")
            && help.contains("Go's standard library")
            && help.contains("Python's tarfile before 3.14"),
        "{help}"
    );
    let r = testgen_cli(&["--compression", "xz"], &tmp_path());
    assert_eq!(r.status.code(), Some(2));
}

fn tmp_path() -> PathBuf {
    std::env::temp_dir().join("testgen-never-written")
}
