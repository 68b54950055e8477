//! Copies of the checked-in `fixtures/` for tests that damage them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository's `fixtures/`.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// A copy of `fixtures/` (archives, manifests, checksums, parquet/) as `to`/`name`.
pub fn copy_fixtures(to: &Path, name: &str) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = to.join(name);
    copy(&fixtures(), &dir);
    dir
}
