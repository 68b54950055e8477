//! The `tar.zst` sink: a deterministic archive of the staged `.thrum/` tree
//! (sorted entries, fixed mtime, uid/gid 0, no owner names, modes 0644/0755).

use crate::error::{IoContext, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// One regular file of the archive, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// zstd level of the archive: zstd's default, fast and small enough to check in.
pub const ZSTD_LEVEL: i32 = 3;

/// Lists `dir` recursively: (relative path with `/`, is_dir), sorted by path.
pub fn walk(base: &Path, prefix: &str) -> Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    let mut stack = vec![(base.to_path_buf(), prefix.to_string())];
    while let Some((dir, rel)) = stack.pop() {
        out.push((format!("{rel}/"), dir.clone(), true));
        for entry in std::fs::read_dir(&dir).ctx("read directory", &dir)? {
            let entry = entry.ctx("read directory", &dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let ft = entry.file_type().ctx("stat", &path)?;
            if ft.is_dir() {
                stack.push((path, format!("{rel}/{name}")));
            } else {
                out.push((format!("{rel}/{name}"), path, false));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

struct Hashing<R> {
    inner: R,
    hash: Sha256,
    n: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
}

/// Hex SHA-256 of a digest.
pub fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 and size of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut h = Hashing { inner: File::open(path).ctx("open", path)?, hash: Sha256::new(), n: 0 };
    std::io::copy(&mut h, &mut std::io::sink()).ctx("read", path)?;
    Ok((hex(&h.hash.finalize()), h.n))
}

/// Archives `thrum_dir` as `.thrum/…` into `dest`; returns the files' hashes.
///
/// zstd always runs in its multi-threaded mode: its output there does not
/// depend on the number of workers, so `workers` (= `--jobs`) only changes
/// the speed.
pub fn write(thrum_dir: &Path, dest: &Path, mtime: u64, workers: usize) -> Result<(Vec<FileEntry>, FileEntry)> {
    let file = File::create(dest).ctx("create", dest)?;
    let out = HashingWriter { inner: BufWriter::with_capacity(1 << 16, file), hash: Sha256::new(), n: 0 };
    let mut enc = zstd::stream::Encoder::new(out, ZSTD_LEVEL).ctx("start zstd stream", dest)?;
    enc.multithread(workers.clamp(1, 64) as u32).ctx("start zstd workers", dest)?;
    let mut builder = tar::Builder::new(enc);
    let mut entries = Vec::new();
    for (rel, path, is_dir) in walk(thrum_dir, ".thrum")? {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        if is_dir {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            builder.append_data(&mut h, &rel, std::io::empty()).ctx("archive", &path)?;
        } else {
            let size = std::fs::metadata(&path).ctx("stat", &path)?.len();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(size);
            let mut r = Hashing { inner: File::open(&path).ctx("open", &path)?, hash: Sha256::new(), n: 0 };
            builder.append_data(&mut h, &rel, &mut r).ctx("archive", &path)?;
            entries.push(FileEntry { path: rel, sha256: hex(&r.hash.finalize()), size: r.n });
        }
    }
    let enc = builder.into_inner().ctx("finish tar stream", dest)?;
    let mut w = enc.finish().ctx("finish zstd stream", dest)?;
    w.flush().ctx("write", dest)?;
    let archive = FileEntry { path: dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), sha256: hex(&w.hash.finalize()), size: w.n };
    w.inner.into_inner().map_err(|e| e.into_error()).ctx("write", dest)?.sync_all().ctx("sync", dest)?;
    Ok((entries, archive))
}

/// Hashes what passes through (the archive's checksum without re-reading it).
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    n: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
