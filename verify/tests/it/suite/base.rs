//! The good inputs the hostile ones are made from, generated once per test
//! process by the testgen binary: a small fixture (archive, manifest,
//! checksums, Parquet), its v5 twin, the two slices of a sharded run, and
//! the extracted `.thrum/` tree.

use super::lab::Bin;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Base {
    _dir: tempfile::TempDir,
    /// A v13 output (`thrum-fixture.tar.zst`, manifest, SHA256SUMS, parquet/).
    pub v13: PathBuf,
    /// A v5 output (`thrum-fixture-v5.tar.zst` and its manifest).
    pub v5: PathBuf,
    /// Slices 0 and 1 of a run in 2 slices.
    pub shards: [PathBuf; 2],
    /// The v13 archive's tree (holds `.thrum/`).
    pub tree: PathBuf,
}

const SMALL: [&str; 6] = ["--quiet", "--seed", "7", "--profile", "small", "--messages=40"];

fn testgen(args: &[&str], out: &Path) {
    let o = Command::new(Bin::Testgen.path())
        .args(SMALL)
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run testgen");
    assert!(o.status.success(), "testgen {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

pub fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = |n: &str| dir.path().join(n);
        testgen(&["--no-v5"], &at("v13"));
        testgen(&[], &at("v5"));
        testgen(&["--no-v5", "--shard", "0/2"], &at("s0"));
        testgen(&["--no-v5", "--shard", "1/2"], &at("s1"));
        let o = Command::new(Bin::Verify.path())
            .arg("extract")
            .arg(at("v13/thrum-fixture.tar.zst"))
            .arg(at("tree"))
            .output()
            .expect("verify");
        assert!(o.status.success(), "extract: {}", String::from_utf8_lossy(&o.stderr));
        Base {
            v13: at("v13"),
            v5: at("v5"),
            shards: [at("s0"), at("s1")],
            tree: at("tree"),
            _dir: dir,
        }
    })
}

/// Copies the directory SRC to DEST (regular files and directories).
pub fn copy(src: &Path, dest: &Path) {
    thrum_io::copy_tree(src, dest)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", src.display(), dest.display()));
}

/// The uncompressed tar of the base v13 archive.
pub fn tar_bytes() -> Vec<u8> {
    let z = std::fs::read(base().v13.join("thrum-fixture.tar.zst")).expect("archive");
    zstd::stream::decode_all(&z[..]).expect("zstd")
}
