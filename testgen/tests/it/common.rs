//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testgen::Options;
use thrum_gen::Profile;

pub fn generate(dir: &Path, seed: u64, profile: Profile, jobs: usize) -> PathBuf {
    let out = dir.join(format!("out-{seed}-{}-{jobs}", profile.name));
    let opts = Options {
        seed,
        profile,
        out: out.clone(),
        tree: None,
        jobs,
        progress: false,
        v5: true,
        compression: testgen::Compression::Zstd,
    };
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

pub use thrum_testkit::snapshot;

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
