//! The archive file: where the compressed stream goes, hashed on the way.
//!
//! For gzip every byte is hashed as it passes. For zstd the frame header
//! libzstd writes first carries no content size (the stream starts before
//! the database, archived last, is complete): the sink holds it back and
//! leaves room for the header with the content size. The archive pledges
//! that size as soon as it is known ([`Sink::pledge`]: at the start of an
//! archive with no gate, at the gate otherwise); the hash then starts with
//! the sized header, catches up with the bytes already written (read back
//! on a thread of its own, while the stream goes on, through the
//! descriptor they were written with: the bytes hashed are those written,
//! whatever happens to the path) and
//! follows the stream from there. The header is written over the reserved
//! bytes at the end; the file is never read back whole.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::thread::JoinHandle;

/// zstd frame magic number.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The frame header libzstd writes for a stream of unknown size: magic,
/// descriptor (checksum flag only), window descriptor.
const ZSTD_OPEN_HEADER: usize = 6;
/// The header written in its place: the same with an 8-byte content size
/// (descriptor's Frame_Content_Size_flag = 3).
const ZSTD_SIZED_HEADER: usize = ZSTD_OPEN_HEADER + 8;
/// Bytes of the stream kept while the bytes before them are read back and
/// hashed; beyond this the stream waits for the hash to catch up.
const PENDING_MAX: usize = 8 << 20;

/// Where the archive's hash stands.
enum Hashing {
    /// zstd, before the content size is known and the header is complete.
    Waiting,
    /// The bytes written before the pledge are being read back and hashed
    /// (after the sized header); the stream's bytes since then wait in
    /// `pending`.
    CatchingUp { reader: JoinHandle<std::io::Result<Sha256>>, pending: Vec<u8> },
    /// Every byte written so far is hashed.
    Following(Sha256),
}

/// The archive file (see the module's documentation).
pub(super) struct Sink {
    inner: BufWriter<File>,
    hashing: Hashing,
    /// Bytes written after the reserved header (all of them for gzip).
    n: u64,
    /// zstd: the frame header as libzstd wrote it (complete at 6 bytes).
    zstd_header: Option<Vec<u8>>,
    /// zstd: the content size, once pledged.
    pledged: Option<u64>,
}

impl Sink {
    /// A sink for a gzip stream: hashed as it passes.
    pub(super) fn plain(file: File) -> Sink {
        Sink {
            inner: BufWriter::with_capacity(1 << 16, file),
            hashing: Hashing::Following(Sha256::new()),
            n: 0,
            zstd_header: None,
            pledged: None,
        }
    }

    /// A sink for a zstd frame whose content size is pledged later: the
    /// room for the sized header is reserved. `file` is open for reading
    /// too: what is written before the pledge is read back from it.
    pub(super) fn zstd(file: File) -> std::io::Result<Sink> {
        let mut s = Sink::plain(file);
        s.inner.write_all(&[0; ZSTD_SIZED_HEADER])?;
        s.zstd_header = Some(Vec::with_capacity(ZSTD_OPEN_HEADER));
        s.hashing = Hashing::Waiting;
        Ok(s)
    }

    /// The zstd frame's content size (the tar stream's length) is `size`:
    /// the hash can start. Nothing for gzip.
    pub(super) fn pledge(&mut self, size: u64) -> std::io::Result<()> {
        if self.zstd_header.is_none() {
            return Ok(());
        }
        if self.pledged.is_some() {
            return Err(std::io::Error::other("the archive's size was pledged twice"));
        }
        self.pledged = Some(size);
        self.start_hash()
    }

    /// Starts the hash once both the size and libzstd's header are known.
    fn start_hash(&mut self) -> std::io::Result<()> {
        let (Some(size), Some(h)) = (self.pledged, &self.zstd_header) else { return Ok(()) };
        if h.len() < ZSTD_OPEN_HEADER || !matches!(self.hashing, Hashing::Waiting) {
            return Ok(());
        }
        let mut hash = Sha256::new();
        hash.update(sized_header(h, size)?);
        if self.n == 0 {
            self.hashing = Hashing::Following(hash);
            return Ok(());
        }
        // the bytes already written are read back through a second handle
        // of the same open file, at their offsets (the writer's offset
        // does not move)
        self.inner.flush()?;
        let (file, len) = (self.inner.get_ref().try_clone()?, self.n);
        let reader = std::thread::Builder::new().name("archive-hash".into()).spawn(move || {
            let read =
                thrum_io::hash::update_from(&mut hash, At::new(file, ZSTD_SIZED_HEADER, len))?;
            if read != len {
                return Err(std::io::Error::other("the archive is shorter than was written"));
            }
            Ok(hash)
        })?;
        self.hashing = Hashing::CatchingUp { reader, pending: Vec::new() };
        Ok(())
    }

    /// Hashes `bytes`, just written to the file.
    fn hash(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Hashing::CatchingUp { reader, pending } = &mut self.hashing {
            if !reader.is_finished() && pending.len() + bytes.len() <= PENDING_MAX {
                pending.extend_from_slice(bytes);
                return Ok(());
            }
            self.caught_up()?;
        }
        if let Hashing::Following(h) = &mut self.hashing {
            h.update(bytes);
        }
        Ok(())
    }

    /// Waits for the read-back and hashes the bytes written since.
    fn caught_up(&mut self) -> std::io::Result<()> {
        match std::mem::replace(&mut self.hashing, Hashing::Waiting) {
            Hashing::CatchingUp { reader, pending } => {
                let joined = reader
                    .join()
                    .map_err(|_| std::io::Error::other("the thread hashing the archive stopped"))?;
                let mut h = joined?;
                h.update(&pending);
                self.hashing = Hashing::Following(h);
            }
            other => self.hashing = other,
        }
        Ok(())
    }

    /// Completes and syncs the file (the sized header over the reserved
    /// bytes for zstd, whose stream was `content_size` bytes long); returns
    /// its SHA-256 and size.
    pub(super) fn finish(mut self, content_size: u64) -> std::io::Result<(String, u64)> {
        self.caught_up()?;
        let header = match (&self.zstd_header, self.pledged) {
            (None, _) => None,
            (Some(h), Some(size)) if size == content_size => Some(sized_header(h, size)?),
            (Some(_), pledged) => {
                return Err(std::io::Error::other(format!(
                    "the tar stream is {content_size} bytes long, {pledged:?} were pledged"
                )));
            }
        };
        let Hashing::Following(hash) = self.hashing else {
            return Err(std::io::Error::other("the archive's hash never started"));
        };
        let size = self.n + header.map_or(0, |h| h.len() as u64);
        let mut file = self.inner.into_inner().map_err(|e| e.into_error())?;
        if let Some(h) = header {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&h)?;
        }
        file.sync_all()?;
        Ok((thrum_io::hash::hex(&hash.finalize()), size))
    }
}

/// The header with the content size `size` in place of libzstd's `h`:
/// magic, then a descriptor with only the checksum flag (no content size,
/// not single-segment, no dictionary), then the window descriptor.
fn sized_header(h: &[u8], size: u64) -> std::io::Result<[u8; ZSTD_SIZED_HEADER]> {
    if h.len() != ZSTD_OPEN_HEADER || h[..4] != ZSTD_MAGIC || h[4] != 0x04 {
        return Err(std::io::Error::other(format!("unexpected zstd frame header {h:02x?}")));
    }
    let mut sized = [0; ZSTD_SIZED_HEADER];
    sized[..4].copy_from_slice(&ZSTD_MAGIC);
    sized[4] = 0xC0 | h[4];
    sized[5] = h[5];
    sized[6..].copy_from_slice(&size.to_le_bytes());
    Ok(sized)
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(h) = &mut self.zstd_header {
            if h.len() < ZSTD_OPEN_HEADER {
                let k = buf.len().min(ZSTD_OPEN_HEADER - h.len());
                h.extend_from_slice(&buf[..k]);
                self.start_hash()?;
                return Ok(k);
            }
        }
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        self.hash(&buf[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `len` bytes of a file from `offset`, read at their positions
/// (`pread`): the file's own offset, shared with every handle of the same
/// open file, is neither used nor moved.
struct At {
    file: File,
    offset: u64,
    end: u64,
}

impl At {
    fn new(file: File, offset: usize, len: u64) -> At {
        let offset = offset as u64;
        At { file, offset, end: offset + len }
    }
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min((self.end - self.offset).try_into().unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = std::os::unix::fs::FileExt::read_at(&self.file, &mut buf[..want], self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: [u8; ZSTD_OPEN_HEADER] = [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58];

    /// A new file at `path`, open for writing and reading (as the archive's).
    fn open_rw(path: &std::path::Path) -> File {
        std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(path).unwrap()
    }

    fn bytes(n: usize, salt: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect()
    }

    /// Writes `OPEN` in two pieces, then `before`, pledges `size`, writes
    /// `after` in chunks and finishes with `content`.
    fn run(
        before: &[u8],
        after: &[u8],
        size: u64,
        content: u64,
    ) -> (Vec<u8>, Result<(String, u64), String>) {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("a.zst");
        let mut s = Sink::zstd(open_rw(&path)).unwrap();
        s.write_all(&OPEN[..2]).unwrap();
        s.write_all(&OPEN[2..]).unwrap();
        s.write_all(before).unwrap();
        s.pledge(size).unwrap();
        for chunk in after.chunks(128 << 10) {
            s.write_all(chunk).unwrap();
        }
        let done = s.finish(content).map_err(|e| e.to_string());
        (std::fs::read(&path).unwrap(), done)
    }

    fn expected_file(size: u64, rest: &[&[u8]]) -> Vec<u8> {
        let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0xC4, 0x58];
        f.extend_from_slice(&size.to_le_bytes());
        rest.iter().for_each(|r| f.extend_from_slice(r));
        f
    }

    /// Bytes written before the pledge are read back and hashed after the
    /// sized header, those after it follow, whether they wait for the
    /// read-back (more than `PENDING_MAX` of them) or not: the hash and
    /// size are the final file's.
    #[test]
    fn the_hash_is_the_final_files_whatever_was_written_before_the_pledge() {
        for (before, after) in [
            (bytes(3 << 20, 1), bytes(PENDING_MAX + (5 << 20), 2)),
            (bytes(1000, 3), bytes(10, 4)),
            (Vec::new(), bytes(70_000, 5)),
            (bytes(70_000, 6), Vec::new()),
        ] {
            let (file, done) = run(&before, &after, 12345, 12345);
            assert_eq!(file, expected_file(12345, &[&before, &after]));
            let want = (thrum_io::hash::sha256_hex(&file), file.len() as u64);
            assert_eq!(done, Ok(want), "{} bytes before, {} after", before.len(), after.len());
        }
    }

    /// The pledge may come before libzstd's header (nothing compressed
    /// yet); a stream of another length than pledged is refused.
    #[test]
    fn pledge_before_the_header_and_a_broken_pledge() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("b.zst");
        let mut s = Sink::zstd(open_rw(&path)).unwrap();
        s.pledge(7).unwrap();
        assert!(s.pledge(7).unwrap_err().to_string().contains("pledged twice"));
        s.write_all(&OPEN).unwrap();
        s.write_all(b"frame").unwrap();
        let (sha, size) = s.finish(7).unwrap();
        let file = std::fs::read(&path).unwrap();
        assert_eq!(file, expected_file(7, &[b"frame"]));
        assert_eq!((sha, size), (thrum_io::hash::sha256_hex(&file), 19));

        let (_, done) = run(b"x", b"y", 10, 11);
        assert_eq!(done, Err("the tar stream is 11 bytes long, Some(10) were pledged".into()));
    }

    /// gzip: hashed as it passes, nothing reserved.
    #[test]
    fn a_plain_sink_hashes_what_passes() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("c.gz");
        let mut s = Sink::plain(open_rw(&path));
        s.pledge(99).unwrap();
        s.write_all(b"gzip bytes").unwrap();
        let done = s.finish(12).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"gzip bytes");
        assert_eq!(done, (thrum_io::hash::sha256_hex(b"gzip bytes"), 10));
    }

    /// The bytes hashed are those written to the open file: another file
    /// renamed over its path before the read-back is neither read nor
    /// touched.
    #[test]
    fn the_read_back_follows_the_open_file_not_its_path() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("a.zst");
        let mut s = Sink::zstd(open_rw(&path)).unwrap();
        let (before, after) = (bytes(200_000, 7), bytes(1000, 8));
        s.write_all(&OPEN).unwrap();
        s.write_all(&before).unwrap();
        s.flush().unwrap();
        let other = d.path().join("other");
        std::fs::write(&other, bytes(300_000, 9)).unwrap();
        std::fs::rename(&other, &path).unwrap();
        s.pledge(5).unwrap();
        s.write_all(&after).unwrap();
        let done = s.finish(5).unwrap();
        let written = expected_file(5, &[&before, &after]);
        assert_eq!(done, (thrum_io::hash::sha256_hex(&written), written.len() as u64));
        assert_eq!(std::fs::read(&path).unwrap(), bytes(300_000, 9));
    }
}
