//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testgen::Options;
use thrum_gen::Profile;

pub fn generate(dir: &Path, seed: u64, profile: Profile, jobs: usize) -> PathBuf {
    let out = dir.join(format!("out-{seed}-{}-{jobs}", profile.name));
    let opts =
        Options { seed, profile, out: out.clone(), tree: None, jobs, progress: false, v5: true, compression: testgen::Compression::Zstd };
    testgen::generate(&opts).expect("generation succeeds");
    out
}

/// Every file below `dir` with its bytes, by relative path.
pub fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Extracts a tar.zst archive into `dest` (created if absent) with the
/// shared safe extractor.
pub fn extract(archive: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    thrum_io::extract::unpack(archive, dest, &thrum_io::extract::Limits::default()).unwrap();
}

/// Thousands separated by commas, as `--help` writes them.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Everything below `root`, links and special files not followed: relative
/// path -> what it is (bytes of a file, target of a link, kind otherwise).
pub fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let ft = e.file_type().unwrap();
            let what = if ft.is_dir() {
                stack.push(e.path());
                "dir".to_string()
            } else if ft.is_symlink() {
                format!("link -> {}", std::fs::read_link(e.path()).unwrap().display())
            } else if ft.is_file() {
                format!("file {:?}", std::fs::read(e.path()).unwrap())
            } else if std::os::unix::fs::FileTypeExt::is_fifo(&ft) {
                "fifo".to_string()
            } else if std::os::unix::fs::FileTypeExt::is_char_device(&ft) {
                "char device".to_string()
            } else {
                "other".to_string()
            };
            out.insert(rel, what);
        }
    }
    out
}

/// The mode of the entry `path` of the tar.zst `archive`.
pub fn archived_mode(archive: &Path, path: &str) -> u32 {
    let dec = zstd::stream::read::Decoder::new(std::fs::File::open(archive).unwrap()).unwrap();
    let mut tar = tar::Archive::new(dec);
    for e in tar.entries().unwrap() {
        let e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == path {
            return e.header().mode().unwrap();
        }
    }
    panic!("{path} not in {}", archive.display());
}
