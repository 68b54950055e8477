//! The archive sink: a deterministic archive of the staged `.thrum/` tree
//! (sorted entries, fixed mtime, uid/gid 0, no owner names, modes 0644/0755),
//! compressed with zstd (`.tar.zst`) or gzip (`.tar.gz`).
//!
//! A zstd archive is one frame carrying the content checksum and the
//! content size (the tar stream's length), so `zstd -t` detects corruption
//! inside the frame and one-shot decoders that need the size up front
//! (python-zstandard's `decompress`) accept it. A gzip archive has a fixed
//! header: no file name, mtime 0, OS byte 255 ("unknown").

mod sink;

use crate::error::{IoContext, Result};
use sha2::{Digest, Sha256};
use sink::Sink;
use std::fs::File;
use std::io::{Read, Write};
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
/// gzip level of the archive: zlib's default.
pub const GZIP_LEVEL: u32 = 6;

/// How the archives are compressed (thrum-io's, the one the extractor detects).
pub use thrum_io::Compression;

/// File name of the v13 archive compressed with `c`.
pub fn archive_name(c: Compression) -> &'static str {
    match c {
        Compression::Zstd => crate::ARCHIVE,
        Compression::Gzip => crate::ARCHIVE_GZ,
    }
}

/// File name of the v5-era archive compressed with `c`.
pub fn archive_v5_name(c: Compression) -> &'static str {
    match c {
        Compression::Zstd => crate::ARCHIVE_V5,
        Compression::Gzip => crate::ARCHIVE_V5_GZ,
    }
}

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

/// SHA-256 and size of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    thrum_io::hash::sha256_file(path).ctx("read", path)
}

/// Archives `thrum_dir` as `.thrum/…` into `dest`; returns the files' hashes.
///
/// zstd always runs in its multi-threaded mode: its output there does not
/// depend on the number of workers, so `workers` (= `--jobs`) only changes
/// the speed. gzip runs on one thread.
pub fn write(
    thrum_dir: &Path,
    dest: &Path,
    mtime: u64,
    workers: usize,
    compression: Compression,
) -> Result<(Vec<FileEntry>, FileEntry)> {
    write_gated(thrum_dir, dest, mtime, workers, compression, None)
}

/// A file of the tree that is still being written when archiving starts:
/// the archive waits on `ready` before reading it. Entries are written in
/// path order: everything before it is compressed while it is finished,
/// and the few files after it (`var/peers.json`), complete before the
/// archive starts, are archived after the wait.
///
/// Until then the writer of that file is the critical path, and the
/// archive yields to it: its thread and zstd's workers run 10 nice levels
/// lower (their memory grows later, too, once SQLite's is released). When
/// the file is complete the archive is the critical path, and they take
/// the process's priority back ([`crate::priority::Lowered`]; best effort:
/// without the permission to raise a priority they stay lower).
pub struct Gate {
    /// Path as archived, e.g. `.thrum/var/messages.db`.
    pub rel: &'static str,
    /// Receives one message when the file is complete; a closed channel
    /// (the writer failed) stops the archive.
    pub ready: std::sync::mpsc::Receiver<()>,
}

/// [`write`], waiting at `gate` (if any) before its file. The tree is listed
/// again after the wait and must not have changed.
pub fn write_gated(
    thrum_dir: &Path,
    dest: &Path,
    mtime: u64,
    workers: usize,
    compression: Compression,
    gate: Option<Gate>,
) -> Result<(Vec<FileEntry>, FileEntry)> {
    let listing = walk(thrum_dir, ".thrum")?;
    if let Some(g) = &gate {
        if !listing.iter().any(|(rel, _, is_dir)| !is_dir && rel == g.rel) {
            return Err(crate::Error::Aborted(format!(
                "archive gate {} is not a file of the tree",
                g.rel
            )));
        }
    }
    // a new file (every caller archives into a directory of its own run,
    // so nothing there is replaced); read too: the zstd sink reads back,
    // through this descriptor, what it wrote before the content size was
    // known (see `Sink`)
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dest)
        .ctx("create", dest)?;
    let mut enc = match compression {
        Compression::Zstd => {
            // The tar stream's length, the frame's content size, is known
            // once the gated file is complete: the sink writes the header
            // then (see `Sink`).
            let out = Sink::zstd(file).ctx("write", dest)?;
            let mut e =
                zstd::stream::Encoder::new(out, ZSTD_LEVEL).ctx("start zstd stream", dest)?;
            e.multithread(workers.clamp(1, 64) as u32).ctx("start zstd workers", dest)?;
            e.include_checksum(true).ctx("start zstd stream", dest)?;
            Compressor::Zstd(e)
        }
        Compression::Gzip => Compressor::Gzip(
            flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(GZIP_OS_UNKNOWN)
                .write(Sink::plain(file), flate2::Compression::new(GZIP_LEVEL)),
        ),
    };
    if gate.is_none() {
        enc.sink().pledge(tar_length(&listing, mtime, dest)?).ctx("write", dest)?;
    }
    let mut tar_len = 0u64;
    let mut builder = tar::Builder::new(Counting { inner: &mut enc, n: &mut tar_len });
    let mut entries = Vec::new();
    let mut gate = gate;
    let mut buf = vec![0u8; COPY_BUF];
    let mut yielding = None;
    let before = crate::priority::threads();
    for (k, (rel, path, is_dir)) in listing.iter().cloned().enumerate() {
        if k == 1 && gate.is_some() {
            // the first entry started zstd's workers: they yield too
            yielding = Some(crate::priority::Lowered::start(&before));
        }
        if let Some(g) = gate.take_if(|g| g.rel == rel) {
            g.ready.recv().map_err(|_| {
                crate::Error::Aborted(format!("{rel} was not completed; archive abandoned"))
            })?;
            drop(yielding.take());
            let again = walk(thrum_dir, ".thrum")?;
            if again != listing {
                return Err(crate::Error::Aborted(format!(
                    "the tree under {} changed while it was archived",
                    thrum_io::text::shown_path(thrum_dir)
                )));
            }
            let total = *builder.get_mut().n + tar_length(&listing[k..], mtime, dest)?;
            builder.get_mut().inner.sink().pledge(total).ctx("write", dest)?;
        }
        let mut h = entry_header(&rel, is_dir, mtime);
        if is_dir {
            builder.append_data(&mut h, &rel, std::io::empty()).ctx("archive", &path)?;
        } else {
            entries.push(append_file(&mut builder, h, rel, &path, &mut buf)?);
        }
    }
    builder.finish().ctx("finish tar stream", dest)?;
    drop(builder);
    let w = enc.finish().ctx("finish compressed stream", dest)?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (sha256, size) = w.finish(tar_len).ctx("write", dest)?;
    Ok((entries, FileEntry { path: name, sha256, size }))
}

/// The header of the entry `rel` (its size is set when its file is read).
fn entry_header(rel: &str, is_dir: bool, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    if is_dir {
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
    } else {
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(if is_private(rel) { 0o600 } else { 0o644 });
    }
    h
}

/// The bytes `entries` take in the tar stream, with the two zero blocks
/// that end it: their headers as `tar` writes them (a long name's extra
/// entry included, counted by writing them to nowhere) and their files'
/// sizes (now) padded to whole blocks.
fn tar_length(entries: &[(String, PathBuf, bool)], mtime: u64, dest: &Path) -> Result<u64> {
    let (mut headers, mut data) = (0u64, 0u64);
    let mut dry = tar::Builder::new(Counting { inner: std::io::sink(), n: &mut headers });
    for (rel, path, is_dir) in entries {
        if !is_dir {
            data +=
                std::fs::metadata(path).ctx("stat", path)?.len().div_ceil(TAR_BLOCK) * TAR_BLOCK;
        }
        dry.append_data(&mut entry_header(rel, *is_dir, mtime), rel, std::io::empty())
            .ctx("archive", path)?;
    }
    dry.into_inner().ctx("write", dest)?;
    Ok(headers + data)
}

/// Bytes read from a file at a time and handed to the compressor in one
/// call.
const COPY_BUF: usize = 1 << 18;

/// Appends the regular file at `path` as `rel` (header `h`, its size
/// set here) and returns its manifest entry. The file is read once: each
/// chunk is hashed and handed to the compressor straight from `buf`, then
/// the entry is padded to a whole block. A file whose size changed while
/// it was read is refused (the header already holds its size).
fn append_file<W: Write>(
    builder: &mut tar::Builder<W>,
    mut h: tar::Header,
    rel: String,
    path: &Path,
    buf: &mut [u8],
) -> Result<FileEntry> {
    let mut file = File::open(path).ctx("open", path)?;
    let size = file.metadata().ctx("stat", path)?.len();
    h.set_size(size);
    // the header (and a long name's extra entry) only: the data follows
    builder.append_data(&mut h, &rel, std::io::empty()).ctx("archive", path)?;
    let out = builder.get_mut();
    let mut hash = Sha256::new();
    let mut n = 0u64;
    loop {
        let k = match file.read(buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).ctx("read", path),
        };
        n += k as u64;
        if n > size {
            break;
        }
        hash.update(&buf[..k]);
        out.write_all(&buf[..k]).ctx("archive", path)?;
    }
    if n != size {
        return Err(crate::Error::Aborted(format!(
            "{} changed size while it was archived",
            thrum_io::text::shown_path(path)
        )));
    }
    let pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
    out.write_all(&[0; TAR_BLOCK as usize][..pad as usize]).ctx("archive", path)?;
    Ok(FileEntry { path: rel, sha256: thrum_io::hash::hex(&hash.finalize()), size })
}

/// The tar block: an entry's data is padded to a multiple of it.
const TAR_BLOCK: u64 = 512;

/// Files archived with mode 0600 (the daemon keeps them private): the
/// paired peers and their tokens.
pub const PRIVATE: &[&str] = &[".thrum/var/peers.json"];

/// Whether the file `rel` is archived with mode 0600: the [`PRIVATE`]
/// files, and a JSONL file's temporary (`<file>.tmp`, which the daemon
/// creates with mode 0600; a crash state leaves one).
pub fn is_private(rel: &str) -> bool {
    PRIVATE.contains(&rel) || rel.ends_with(".jsonl.tmp")
}

/// gzip header OS byte "unknown": the same on every system.
const GZIP_OS_UNKNOWN: u8 = 255;

/// The compressor of the tar stream.
enum Compressor {
    Zstd(zstd::stream::Encoder<'static, Sink>),
    Gzip(flate2::write::GzEncoder<Sink>),
}

impl Compressor {
    fn finish(self) -> std::io::Result<Sink> {
        match self {
            Compressor::Zstd(e) => e.finish(),
            Compressor::Gzip(e) => e.finish(),
        }
    }

    fn sink(&mut self) -> &mut Sink {
        match self {
            Compressor::Zstd(e) => e.get_mut(),
            Compressor::Gzip(e) => e.get_mut(),
        }
    }
}

impl Write for Compressor {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Compressor::Zstd(e) => e.write(buf),
            Compressor::Gzip(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Compressor::Zstd(e) => e.flush(),
            Compressor::Gzip(e) => e.flush(),
        }
    }
}

/// Counts the bytes of the tar stream (the zstd frame's content size).
struct Counting<'a, W> {
    inner: W,
    n: &'a mut u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        *self.n += n as u64;
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
    /// archived (a file sorting after it, complete already, is archived
    /// after the wait); the archive equals the one made after everything
    /// was done.
    #[test]
    fn gated_archive_waits_for_its_file_and_equals_the_plain_one() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join(".thrum");
        tree(&t);
        std::fs::write(t.join("var/messages.db"), b"partial").unwrap();
        std::fs::write(t.join("var/peers.json"), b"[]").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let gated = std::thread::scope(|s| {
            let h = s.spawn(|| {
                write_gated(
                    &t,
                    &d.path().join("gated.tar.zst"),
                    7,
                    2,
                    Compression::Zstd,
                    Some(Gate { rel: ".thrum/var/messages.db", ready: rx }),
                )
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::fs::write(t.join("var/messages.db"), b"the finished database".repeat(100))
                .unwrap();
            tx.send(()).unwrap();
            h.join().unwrap().unwrap()
        });
        let plain = write(&t, &d.path().join("plain.tar.zst"), 7, 1, Compression::Zstd).unwrap();
        assert_eq!(gated, (plain.0, FileEntry { path: "gated.tar.zst".into(), ..plain.1.clone() }));
        assert_eq!(
            std::fs::read(d.path().join("gated.tar.zst")).unwrap(),
            std::fs::read(d.path().join("plain.tar.zst")).unwrap()
        );
        let db = gated.0.iter().find(|e| e.path == ".thrum/var/messages.db").unwrap();
        assert_eq!(db.size, 2100, "the finished file was archived, not the partial one");
        let last = gated.0.last().unwrap();
        assert_eq!((last.path.as_str(), last.size), (".thrum/var/peers.json", 2));
    }

    /// gzip: the same gated/plain equality, a fixed header, and the tar
    /// stream of the zstd archive.
    #[test]
    fn gzip_archive_is_fixed_and_holds_the_same_tar_stream() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join(".thrum");
        tree(&t);
        std::fs::write(t.join("var/messages.db"), b"db".repeat(300)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(()).unwrap();
        let gated = write_gated(
            &t,
            &d.path().join("g.tar.gz"),
            7,
            2,
            Compression::Gzip,
            Some(Gate { rel: ".thrum/var/messages.db", ready: rx }),
        )
        .unwrap();
        let plain = write(&t, &d.path().join("p.tar.gz"), 7, 1, Compression::Gzip).unwrap();
        assert_eq!(gated.0, plain.0);
        let gz = std::fs::read(d.path().join("g.tar.gz")).unwrap();
        assert_eq!(gz, std::fs::read(d.path().join("p.tar.gz")).unwrap());
        assert_eq!(
            plain.1,
            FileEntry {
                path: "p.tar.gz".into(),
                sha256: thrum_io::hash::hex(&Sha256::digest(&gz)),
                size: gz.len() as u64
            }
        );
        assert_eq!(gz[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, GZIP_OS_UNKNOWN]);
        write(&t, &d.path().join("z.tar.zst"), 7, 1, Compression::Zstd).unwrap();
        let mut from_gz = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut from_gz).unwrap();
        let from_zst =
            zstd::stream::decode_all(&std::fs::read(d.path().join("z.tar.zst")).unwrap()[..])
                .unwrap();
        assert_eq!(from_gz, from_zst);
    }

    /// The zstd archive's recorded checksum and size are those of the file
    /// as finally written (its header is rewritten at the end).
    #[test]
    fn zstd_archive_entry_describes_the_final_file() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join(".thrum");
        tree(&t);
        std::fs::write(t.join("var/messages.db"), b"db").unwrap();
        let (_, whole) = write(&t, &d.path().join("z.tar.zst"), 7, 1, Compression::Zstd).unwrap();
        let data = std::fs::read(d.path().join("z.tar.zst")).unwrap();
        assert_eq!(
            whole,
            FileEntry {
                path: "z.tar.zst".into(),
                sha256: thrum_io::hash::hex(&Sha256::digest(&data)),
                size: data.len() as u64
            }
        );
        let tar = zstd::stream::decode_all(&data[..]).unwrap();
        assert_eq!(data[4], 0xC4, "8-byte content size and checksum flag");
        assert_eq!(data[6..14], (tar.len() as u64).to_le_bytes());
    }

    /// The tar stream is the one `tar::Builder::append_data` makes of the
    /// same entries (files larger than the copy buffer and not a multiple
    /// of a block, an empty one, a path too long for a ustar name), and
    /// each entry's checksum and size are its content's.
    #[test]
    fn the_tar_stream_is_tars_own_and_entries_describe_the_content() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join(".thrum");
        let long = format!("var/{}", "n".repeat(120));
        std::fs::create_dir_all(t.join(&long)).unwrap();
        let big: Vec<u8> = (0..COPY_BUF * 2 + 777).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(t.join("big.db"), &big).unwrap();
        std::fs::write(t.join("empty.jsonl"), b"").unwrap();
        std::fs::write(t.join(&long).join("x.jsonl"), b"{}\n".repeat(300)).unwrap();
        let (files, _) = write(&t, &d.path().join("a.tar.zst"), 7, 2, Compression::Zstd).unwrap();
        let tar = zstd::stream::decode_all(&std::fs::read(d.path().join("a.tar.zst")).unwrap()[..])
            .unwrap();

        let mut expected = tar::Builder::new(Vec::new());
        for (rel, path, is_dir) in walk(&t, ".thrum").unwrap() {
            let mut h = tar::Header::new_ustar();
            h.set_mtime(7);
            h.set_uid(0);
            h.set_gid(0);
            let data = if is_dir { Vec::new() } else { std::fs::read(&path).unwrap() };
            h.set_entry_type(if is_dir {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            h.set_mode(if is_dir { 0o755 } else { 0o644 });
            h.set_size(data.len() as u64);
            expected.append_data(&mut h, &rel, &data[..]).unwrap();
        }
        assert_eq!(tar, expected.into_inner().unwrap());

        let listed: Vec<(&str, u64)> = files.iter().map(|f| (f.path.as_str(), f.size)).collect();
        let long_file = format!(".thrum/{long}/x.jsonl");
        assert_eq!(
            listed,
            [(".thrum/big.db", big.len() as u64), (".thrum/empty.jsonl", 0), (&long_file, 900)]
        );
        assert_eq!(files[0].sha256, thrum_io::hash::sha256_hex(&big));
        assert_eq!(files[1].sha256, thrum_io::hash::sha256_hex(b""));
    }

    /// A file that yields more bytes than its size said (as a file growing
    /// while it is read would) is refused, not archived past its header.
    #[test]
    fn a_file_that_changed_size_while_read_is_refused() {
        let proc_file = Path::new("/proc/self/stat");
        assert_eq!(std::fs::metadata(proc_file).unwrap().len(), 0);
        let mut b = tar::Builder::new(Vec::new());
        let mut buf = vec![0; 64];
        let e = append_file(&mut b, tar::Header::new_ustar(), "stat".into(), proc_file, &mut buf)
            .unwrap_err();
        assert!(e.to_string().contains("changed size while it was archived"), "{e}");
    }

    #[test]
    fn gate_refuses_a_file_that_is_not_in_the_tree_or_never_completed() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join(".thrum");
        tree(&t);
        std::fs::write(t.join("var/messages.db"), b"db").unwrap();
        let (_tx, rx) = std::sync::mpsc::channel();
        let e = write_gated(
            &t,
            &d.path().join("a.tar.zst"),
            7,
            1,
            Compression::Zstd,
            Some(Gate { rel: ".thrum/var/other.db", ready: rx }),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a file of the tree"), "{e}");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        drop(tx);
        let e = write_gated(
            &t,
            &d.path().join("b.tar.zst"),
            7,
            1,
            Compression::Zstd,
            Some(Gate { rel: ".thrum/var/messages.db", ready: rx }),
        )
        .unwrap_err();
        assert!(e.to_string().contains("was not completed"), "{e}");
        // a file appearing while waiting is refused
        let (tx, rx) = std::sync::mpsc::channel();
        let e = std::thread::scope(|s| {
            let h = s.spawn(|| {
                write_gated(
                    &t,
                    &d.path().join("c.tar.zst"),
                    7,
                    1,
                    Compression::Zstd,
                    Some(Gate { rel: ".thrum/var/messages.db", ready: rx }),
                )
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::fs::write(t.join("var/messages.db-journal"), b"j").unwrap();
            tx.send(()).unwrap();
            h.join().unwrap().unwrap_err()
        });
        assert!(e.to_string().contains("changed while it was archived"), "{e}");
    }
}
