//! The input fixture, put in place: a `.tar.zst` or `.tar.gz` archive extracted with
//! thrum-io's bounded extractor, or a directory holding `.thrum/` copied.

use crate::error::{CorruptError, Result};
use std::path::Path;
use thrum_io::extract::{ExtractError, Limits};
use thrum_io::tree::CopyError;

/// File name of a fixture's v13 archive, as testgen writes it (a directory
/// holding it is accepted as input).
pub const FIXTURE_ARCHIVE: &str = "thrum-fixture.tar.zst";
/// The same with `testgen --compression gzip`.
pub const FIXTURE_ARCHIVE_GZ: &str = "thrum-fixture.tar.gz";

/// Puts the input's `.thrum/` tree at `root/.thrum`.
pub(crate) fn materialise(input: &Path, root: &Path, limits: &Limits) -> Result<()> {
    let meta = std::fs::metadata(input)
        .map_err(|_| CorruptError::NotAFixture { path: input.to_path_buf() })?;
    if meta.is_dir() {
        let src = if input.join(".thrum").is_dir() {
            input.join(".thrum")
        } else if input.file_name().is_some_and(|n| n == ".thrum") {
            input.to_path_buf()
        } else if let Some(archive) = [FIXTURE_ARCHIVE, FIXTURE_ARCHIVE_GZ]
            .iter()
            .map(|a| input.join(a))
            .find(|p| p.is_file())
        {
            return extract(&archive, root, limits);
        } else {
            return Err(CorruptError::NotAFixture { path: input.to_path_buf() });
        };
        return copy_tree(&src, &root.join(".thrum"));
    }
    if meta.is_file() {
        return extract(input, root, limits);
    }
    Err(CorruptError::NotAFixture { path: input.to_path_buf() })
}

/// Copies the `.thrum` tree `src` to `dest` with thrum-io's tree copy:
/// regular files and directories only, anything else refused.
fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    thrum_io::tree::copy_tree(src, dest).map_err(|e| match e {
        CopyError::Io { action, path, source } => CorruptError::Io { action, path, source },
        CopyError::NotRegular { path } => CorruptError::Refused {
            archive: src.to_path_buf(),
            entry: path.display().to_string(),
            reason: "not a regular file or directory".into(),
        },
    })
}

/// Extracts a `.tar.zst` or `.tar.gz` fixture into `root` (an existing, empty directory)
/// with the shared extractor ([`thrum_io::extract()`]): only regular files and
/// directories under `.thrum/`, relative, without `..`, each once, within
/// `limits`; anything else is refused before it is written.
pub fn extract(archive: &Path, root: &Path, limits: &Limits) -> Result<()> {
    match thrum_io::extract::detect(archive) {
        Ok(_) => {}
        Err(ExtractError::UnsupportedFormat { .. }) => {
            return Err(CorruptError::NotAFixture { path: archive.to_path_buf() })
        }
        Err(e) => return Err(CorruptError::Extract(e)),
    }
    thrum_io::extract::unpack_checked(archive, root, limits, &mut |path, _| {
        if path == ".thrum" || path.starts_with(".thrum/") {
            Ok(())
        } else {
            Err("entries must be under .thrum/")
        }
    })
    .map_err(CorruptError::Extract)?;
    if !root.join(".thrum").is_dir() {
        return Err(CorruptError::NotV13 {
            path: archive.to_path_buf(),
            reason: "the archive has no .thrum/ directory".into(),
        });
    }
    Ok(())
}
