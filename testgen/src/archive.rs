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

/// SHA-256 and size of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    thrum_io::hash::sha256_file(path).ctx("read", path)
}

/// Archives `thrum_dir` as `.thrum/…` into `dest`; returns the files' hashes.
///
/// zstd always runs in its multi-threaded mode: its output there does not
/// depend on the number of workers, so `workers` (= `--jobs`) only changes
/// the speed.
pub fn write(thrum_dir: &Path, dest: &Path, mtime: u64, workers: usize) -> Result<(Vec<FileEntry>, FileEntry)> {
    write_gated(thrum_dir, dest, mtime, workers, None)
}

/// A file of the tree that is still being written when archiving starts:
/// the archive waits on `ready` before reading it. It must sort after every
/// other file (entries are written in path order), so everything before it
/// is compressed while it is finished.
pub struct Gate {
    /// Path as archived, e.g. `.thrum/var/messages.db`.
    pub rel: &'static str,
    /// Receives one message when the file is complete; a closed channel
    /// (the writer failed) stops the archive.
    pub ready: std::sync::mpsc::Receiver<()>,
}

/// [`write`], waiting at `gate` (if any) before its file. The tree is listed
/// again after the wait and must not have changed.
pub fn write_gated(thrum_dir: &Path, dest: &Path, mtime: u64, workers: usize, gate: Option<Gate>) -> Result<(Vec<FileEntry>, FileEntry)> {
    let listing = walk(thrum_dir, ".thrum")?;
    if let Some(g) = &gate {
        let last_file = listing.iter().rev().find(|(_, _, is_dir)| !is_dir).map(|(rel, _, _)| rel.as_str());
        if last_file != Some(g.rel) {
            return Err(crate::Error::Aborted(format!("archive gate {} is not the last file of the tree (last: {last_file:?})", g.rel)));
        }
    }
    let file = File::create(dest).ctx("create", dest)?;
    let out = HashingWriter { inner: BufWriter::with_capacity(1 << 16, file), hash: Sha256::new(), n: 0 };
    let mut enc = zstd::stream::Encoder::new(out, ZSTD_LEVEL).ctx("start zstd stream", dest)?;
    enc.multithread(workers.clamp(1, 64) as u32).ctx("start zstd workers", dest)?;
    let mut builder = tar::Builder::new(enc);
    let mut entries = Vec::new();
    let mut gate = gate;
    for (rel, path, is_dir) in listing.iter().cloned() {
        if let Some(g) = gate.take_if(|g| g.rel == rel) {
            g.ready.recv().map_err(|_| crate::Error::Aborted(format!("{rel} was not completed; archive abandoned")))?;
            let again = walk(thrum_dir, ".thrum")?;
            if again != listing {
                return Err(crate::Error::Aborted(format!("the tree under {} changed while it was archived", thrum_dir.display())));
            }
        }
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
            entries.push(FileEntry { path: rel, sha256: thrum_io::hash::hex(&r.hash.finalize()), size: r.n });
        }
    }
    let enc = builder.into_inner().ctx("finish tar stream", dest)?;
    let mut w = enc.finish().ctx("finish zstd stream", dest)?;
    w.flush().ctx("write", dest)?;
    let archive = FileEntry {
        path: dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256: thrum_io::hash::hex(&w.hash.finalize()),
        size: w.n,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) {
        std::fs::create_dir_all(dir.join("messages")).unwrap();
        std::fs::create_dir_all(dir.join("var")).unwrap();
        std::fs::write(dir.join("events.jsonl"), b"{\"a\":1}\n").unwrap();
        std::fs::write(dir.join("messages/x.jsonl"), b"{\"b\":2}\n".repeat(1000)).unwrap();
    }

    /// The database is written while the rest of the tree is being
    /// archived; the archive equals the one made after everything was done.
    #[test]
    fn gated_archive_waits_for_the_last_file_and_equals_the_plain_one() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join(".thrum");
        tree(&t);
        std::fs::write(t.join("var/messages.db"), b"partial").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let gated = std::thread::scope(|s| {
            let h =
                s.spawn(|| write_gated(&t, &d.path().join("gated.tar.zst"), 7, 2, Some(Gate { rel: ".thrum/var/messages.db", ready: rx })));
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::fs::write(t.join("var/messages.db"), b"the finished database".repeat(100)).unwrap();
            tx.send(()).unwrap();
            h.join().unwrap().unwrap()
        });
        let plain = write(&t, &d.path().join("plain.tar.zst"), 7, 1).unwrap();
        assert_eq!(gated, (plain.0, FileEntry { path: "gated.tar.zst".into(), ..plain.1.clone() }));
        assert_eq!(std::fs::read(d.path().join("gated.tar.zst")).unwrap(), std::fs::read(d.path().join("plain.tar.zst")).unwrap());
        let db = gated.0.iter().find(|e| e.path == ".thrum/var/messages.db").unwrap();
        assert_eq!(db.size, 2100, "the finished file was archived, not the partial one");
    }

    #[test]
    fn gate_refuses_a_file_that_is_not_last_or_never_completed() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join(".thrum");
        tree(&t);
        std::fs::write(t.join("var/messages.db"), b"db").unwrap();
        let (_tx, rx) = std::sync::mpsc::channel();
        let e = write_gated(&t, &d.path().join("a.tar.zst"), 7, 1, Some(Gate { rel: ".thrum/events.jsonl", ready: rx })).unwrap_err();
        assert!(e.to_string().contains("not the last file"), "{e}");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        drop(tx);
        let e = write_gated(&t, &d.path().join("b.tar.zst"), 7, 1, Some(Gate { rel: ".thrum/var/messages.db", ready: rx })).unwrap_err();
        assert!(e.to_string().contains("was not completed"), "{e}");
        // a file appearing while waiting is refused
        let (tx, rx) = std::sync::mpsc::channel();
        let e = std::thread::scope(|s| {
            let h = s.spawn(|| write_gated(&t, &d.path().join("c.tar.zst"), 7, 1, Some(Gate { rel: ".thrum/var/messages.db", ready: rx })));
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::fs::write(t.join("var/messages.db-journal"), b"j").unwrap();
            tx.send(()).unwrap();
            h.join().unwrap().unwrap_err()
        });
        assert!(e.to_string().contains("changed while it was archived"), "{e}");
    }
}
