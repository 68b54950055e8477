//! Safe extraction of `.tar.zst` / `.tar.gz` fixture archives, in bounded
//! memory and bounded work whatever the archive declares.
//!
//! Refused (each a typed [`ExtractError`] naming the entry): absolute paths,
//! `..` components, empty, over-long ([`MAX_PATH_BYTES`]) or non-UTF-8
//! paths, symlinks, hard links, device and FIFO entries (and any other
//! non-file, non-directory type, sparse files included), duplicate paths, an
//! entry over [`Limits::max_entry_bytes`], a total expansion over
//! [`Limits::max_total_bytes`], more than [`Limits::max_entries`] entries.
//!
//! Modes: every file and directory gets the permission bits (`0o777`) of its
//! entry, narrowed by the umask and never widened (a `0600` file stays
//! `0600`); setuid, setgid and sticky bits are never set. Owners and times
//! in the archive are ignored.
//!
//! The whole file is read and checked, not only the tar entries: after the
//! end-of-archive marker the rest of the uncompressed stream is read to its
//! end (zeros only, counted against the total limit beyond the marker's two
//! blocks), so the decompressor checks every gzip member's CRC-32 and ISIZE
//! and every zstd frame's content checksum, and refuses a stream cut short
//! or followed by bytes that are not a member or frame (see `decode.rs`).
//! A failure found there, after entries were written, still leaves nothing:
//! they were written in the temporary directory [`extract`] renames only
//! when everything passed.
//!
//! Bounds, whatever the archive says:
//! * GNU long-name / long-link (`L`, `K`) and PAX (`x`, `g`) extension
//!   headers are refused before their data is read when they declare more
//!   than [`EXTENSION_HEADER_CAP`] bytes; an entry has at most one of each,
//!   so every counted entry costs at most four 512-byte header blocks.
//! * Every entry's declared data counts against the total before a byte of
//!   it is read or written: files, directories, extension headers and PAX
//!   global headers alike (PAX global headers also count as entries). An
//!   entry that would go over the per-entry limit or the rest of the total
//!   is refused with nothing of it written. A PAX `size` record replaces the
//!   header's size and is bounded the same way.
//! * Entry names and link targets in messages are escaped and cut to 200
//!   bytes ([`crate::text::shown`]).
//!
//! A full disk is reported as [`ExtractError::DiskFull`], an unreadable
//! archive file as [`ExtractError::Io`]; only a decode or format error is
//! [`ExtractError::Corrupt`], and it says where: the header's byte offset in
//! the uncompressed stream and the entry before it, or the entry whose data
//! is cut short.
//!
//! [`extract`] unpacks into a temporary directory beside the destination and
//! renames it into place, so the destination is either complete or absent.

mod decode;
mod dirs;
mod error;
mod names;
mod tar;
#[cfg(test)]
mod tests;

pub use error::{ExtractError, HeaderKind, Limit, Place, Subject};

use crate::hash::hex;
use dirs::DirModes;
use names::{normalise, strip_nuls, Pending};
use sha2::Digest as _;
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use tar::{Fault, Stream};

/// The most data a GNU long-name / long-link or PAX header may declare
/// (a fixed limit: real archives need a few hundred bytes).
pub const EXTENSION_HEADER_CAP: u64 = 64 << 10;

/// The longest entry path accepted (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

/// Bytes of an entry name shown in a message.
const NAME_SHOWN: usize = 200;

fn shown(raw: &[u8]) -> String {
    crate::text::shown(raw, NAME_SHOWN)
}

/// Extraction limits. The defaults are [`Limit::default_text`] parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest data of one entry.
    pub max_entry_bytes: u64,
    /// Largest sum of the data of all entries and extension headers.
    pub max_total_bytes: u64,
    /// Most entries (PAX global headers included).
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_entry_bytes: 1 << 30, max_total_bytes: 4 << 30, max_entries: 1_000_000 }
    }
}

impl Limits {
    /// The value of one limit.
    pub fn get(&self, limit: Limit) -> u64 {
        match limit {
            Limit::EntryBytes => self.max_entry_bytes,
            Limit::TotalBytes => self.max_total_bytes,
            Limit::Entries => self.max_entries,
        }
    }
}

/// The compression of an archive: the one the writers choose (zstd unless
/// told otherwise) and the one [`detect`] tells by the magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// zstd (`.tar.zst`; `28 b5 2f fd`, or a skippable frame `5? 2a 4d 18`
    /// first): smaller and much faster to write and read.
    #[default]
    Zstd,
    /// gzip (`.tar.gz`; `1f 8b`): for readers without zstd (Go's standard
    /// library, Python's `tarfile` before 3.14).
    Gzip,
}

/// The kind of an extracted entry (nothing else is ever extracted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// One extracted entry: its normalised `/`-separated path, kind and size
/// (0 for a directory), and for files the SHA-256 (lowercase hex) of the
/// bytes written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Normalised, `/`-separated, relative.
    pub path: String,
    /// File or directory.
    pub kind: EntryKind,
    /// Bytes written (0 for a directory).
    pub size: u64,
    /// SHA-256 of a file's bytes, lowercase hex (`None` for a directory).
    pub sha256: Option<String>,
}

/// Detects the compression from the file's magic bytes.
pub fn detect(archive: &Path) -> Result<Compression, ExtractError> {
    let io_err = |error| ExtractError::Io { path: archive.to_path_buf(), error };
    let mut f = fs::File::open(archive).map_err(io_err)?;
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    if n >= 4 && (magic == decode::ZSTD_MAGIC || decode::is_skippable(&magic)) {
        Ok(Compression::Zstd)
    } else if n >= 2 && magic[..2] == decode::GZIP_MAGIC {
        Ok(Compression::Gzip)
    } else {
        Err(ExtractError::UnsupportedFormat { archive: archive.to_path_buf() })
    }
}

/// True when the file starts with a zstd or gzip magic number.
pub fn looks_like_archive(path: &Path) -> bool {
    detect(path).is_ok()
}

/// The uncompressed tar stream of `archive`.
fn open(archive: &Path) -> Result<Box<dyn Read>, ExtractError> {
    let comp = detect(archive)?;
    let f = fs::File::open(archive)
        .map_err(|error| ExtractError::Io { path: archive.to_path_buf(), error })?;
    decode::decoder(archive, comp, f)
}

/// Extracts `archive` to `dest`, which must not exist. Unpacks into a
/// temporary directory beside `dest` and renames it, so `dest` is complete or
/// absent.
pub fn extract(archive: &Path, dest: &Path, limits: &Limits) -> Result<Vec<Entry>, ExtractError> {
    if dest.symlink_metadata().is_ok() {
        return Err(ExtractError::DestinationExists { dest: dest.to_path_buf() });
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .map_err(|error| ExtractError::Io { path: parent.clone(), error })?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "extract".into());
    // `.DEST.partial-<pid>-<random>`: removed on drop and on an interrupt
    // ([`crate::cleanup`]); a dead run's is collected here
    let prefix = format!(".{}.partial-", crate::cleanup::temp_stem(&name));
    let _ = crate::cleanup::collect_stale(&parent, &prefix);
    let tmp = crate::cleanup::temp_dir_in(&parent, &prefix)
        .map_err(|error| ExtractError::Io { path: parent.clone(), error })?;
    let entries = unpack(archive, tmp.path(), limits)?;
    tmp.persist(dest).map_err(|error| ExtractError::Io { path: dest.to_path_buf(), error })?;
    Ok(entries)
}

/// Extracts into an existing (empty) directory `root`. On error `root` may
/// hold a partial extraction; callers use a temporary `root`.
pub fn unpack(archive: &Path, root: &Path, limits: &Limits) -> Result<Vec<Entry>, ExtractError> {
    unpack_checked(archive, root, limits, &mut |_, _| Ok(()))
}

/// [`unpack`], calling `before` with each entry's normalised path before
/// the entry is written (every earlier entry is then complete on disk).
pub fn unpack_with(
    archive: &Path,
    root: &Path,
    limits: &Limits,
    before: &mut dyn FnMut(&str),
) -> Result<Vec<Entry>, ExtractError> {
    unpack_checked(archive, root, limits, &mut |path, _| {
        before(path);
        Ok(())
    })
}

/// [`unpack`], asking `check` about each entry (normalised path, kind)
/// before it is written: `Err(reason)` refuses the archive with
/// [`ExtractError::NotAllowed`]. Every earlier entry is complete on disk
/// when `check` is called.
pub fn unpack_checked(
    archive: &Path,
    root: &Path,
    limits: &Limits,
    check: &mut dyn FnMut(&str, EntryKind) -> Result<(), &'static str>,
) -> Result<Vec<Entry>, ExtractError> {
    let reader = open(archive)?;
    Unpacker::new(archive, root, limits).run(reader, check)
}

/// Unpacks an *uncompressed* tar stream into `root` (an existing, empty
/// directory) with every check of [`unpack`]; `archive` only names the input
/// in errors. (The fuzz target's entry point.)
pub fn unpack_tar<'a>(
    archive: &Path,
    tar: impl Read + 'a,
    root: &Path,
    limits: &Limits,
) -> Result<Vec<Entry>, ExtractError> {
    Unpacker::new(archive, root, limits).run(Box::new(tar), &mut |_, _| Ok(()))
}

struct Unpacker<'a> {
    archive: &'a Path,
    root: &'a Path,
    limits: &'a Limits,
    /// Data bytes declared so far (entries and extension headers).
    total: u64,
    /// Entries so far (PAX global headers included).
    count: u64,
    /// The previous entry, as shown in messages.
    last: Option<String>,
}

impl<'a> Unpacker<'a> {
    fn new(archive: &'a Path, root: &'a Path, limits: &'a Limits) -> Self {
        Unpacker { archive, root, limits, total: 0, count: 0, last: None }
    }

    fn err(&self, fault: Fault, at: Place) -> ExtractError {
        match fault {
            Fault::Source(error) => ExtractError::Io { path: self.archive.to_path_buf(), error },
            Fault::Corrupt(reason) => {
                ExtractError::Corrupt { archive: self.archive.to_path_buf(), at, reason }
            }
        }
    }

    fn at_header(&self, offset: u64) -> Place {
        Place::Header { offset, after: self.last.clone() }
    }

    /// Counts one entry against the entry limit.
    fn count_entry(&mut self, subject: impl FnOnce() -> Subject) -> Result<(), ExtractError> {
        self.count += 1;
        if self.count > self.limits.max_entries {
            return Err(ExtractError::TooManyEntries {
                archive: self.archive.to_path_buf(),
                subject: subject(),
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// Charges `size` declared bytes against the total, before any is read.
    fn charge(&mut self, size: u64, subject: impl FnOnce() -> Subject) -> Result<(), ExtractError> {
        let total = self.total.saturating_add(size);
        if total > self.limits.max_total_bytes {
            return Err(ExtractError::TotalTooLarge {
                archive: self.archive.to_path_buf(),
                subject: subject(),
                total,
                limit: self.limits.max_total_bytes,
            });
        }
        self.total = total;
        Ok(())
    }

    /// An error while writing `entry` below the root.
    fn write_err(&self, entry: &str, error: io::Error) -> ExtractError {
        match error.kind() {
            _ if crate::regular::is_disk_full(&error) => ExtractError::DiskFull {
                archive: self.archive.to_path_buf(),
                path: format!("{}/{entry}", self.root.display()),
                error,
            },
            io::ErrorKind::AlreadyExists
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::IsADirectory => ExtractError::PathConflict {
                archive: self.archive.to_path_buf(),
                entry: entry.to_owned(),
            },
            _ => ExtractError::Write {
                archive: self.archive.to_path_buf(),
                entry: entry.to_owned(),
                dir: self.root.to_path_buf(),
                error,
            },
        }
    }

    fn run<R: Read>(
        mut self,
        reader: R,
        check: &mut dyn FnMut(&str, EntryKind) -> Result<(), &'static str>,
    ) -> Result<Vec<Entry>, ExtractError> {
        let archive = || self.archive.to_path_buf();
        let mut st = Stream::new(reader);
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        let mut pending = Pending::default();
        let mut buf = vec![0u8; 1 << 16];
        let mut modes = DirModes::default();
        let end = loop {
            let offset = st.pos;
            let header = match st.header() {
                Ok(Some(h)) => h,
                Ok(None) if pending.is_empty() => break offset,
                Ok(None) => {
                    return Err(self.err(
                        Fault::Corrupt(
                            "the archive ends after an extension header, without the \
                            entry it describes"
                                .into(),
                        ),
                        self.at_header(offset),
                    ))
                }
                Err(f) => return Err(self.err(f, self.at_header(offset))),
            };
            let declared = header
                .check()
                .and_then(|()| header.size())
                .map_err(|r| self.err(Fault::Corrupt(r), self.at_header(offset)))?;
            let ext = match header.typeflag() {
                b'L' => Some(HeaderKind::LongName),
                b'K' => Some(HeaderKind::LongLink),
                b'x' => Some(HeaderKind::Pax),
                b'g' => Some(HeaderKind::PaxGlobal),
                _ => None,
            };
            if let Some(kind) = ext {
                if declared > EXTENSION_HEADER_CAP {
                    return Err(ExtractError::HeaderTooLarge {
                        archive: archive(),
                        kind,
                        offset,
                        size: declared,
                        limit: EXTENSION_HEADER_CAP,
                    });
                }
                let subject = || Subject::Header { kind, offset };
                if kind == HeaderKind::PaxGlobal {
                    self.count_entry(subject)?;
                }
                self.charge(declared, subject)?;
                let twice = match kind {
                    HeaderKind::LongName => pending.long_name.is_some(),
                    HeaderKind::LongLink => pending.long_link.is_some(),
                    HeaderKind::Pax => pending.pax.is_some(),
                    HeaderKind::PaxGlobal => false,
                };
                if twice {
                    return Err(self.err(
                        Fault::Corrupt(format!("a second {kind} for the same entry")),
                        self.at_header(offset),
                    ));
                }
                // bounded by EXTENSION_HEADER_CAP above
                let mut data = vec![0u8; declared as usize];
                let complete = st
                    .read_exact(&mut data)
                    .and_then(|ok| Ok(ok && st.skip(tar::padding(declared))?));
                match complete {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(self.err(
                            Fault::Corrupt(format!("the archive ends inside the {kind}'s data")),
                            self.at_header(offset),
                        ))
                    }
                    Err(f) => return Err(self.err(f, self.at_header(offset))),
                }
                match kind {
                    HeaderKind::LongName => pending.long_name = Some(strip_nuls(data)),
                    HeaderKind::LongLink => pending.long_link = Some(strip_nuls(data)),
                    HeaderKind::Pax => {
                        pending.pax = Some(
                            tar::parse_pax(&data)
                                .map_err(|r| self.err(Fault::Corrupt(r), self.at_header(offset)))?,
                        )
                    }
                    HeaderKind::PaxGlobal => {}
                }
                continue;
            }

            // An entry, with the extension headers before it applied.
            let Pending { long_name, long_link, pax } = std::mem::take(&mut pending);
            let pax = pax.unwrap_or_default();
            let raw = pax.path.or(long_name).unwrap_or_else(|| header.path());
            let entry = shown(&raw);
            self.count_entry(|| Subject::Entry(entry.clone()))?;
            let size = pax.size.unwrap_or(declared);
            let link_target = || {
                shown(
                    &pax.linkpath
                        .clone()
                        .or_else(|| long_link.clone())
                        .unwrap_or_else(|| header.link()),
                )
            };
            let special = |kind: &str| ExtractError::SpecialFile {
                archive: archive(),
                entry: entry.clone(),
                kind: kind.to_owned(),
            };
            let kind = match header.typeflag() {
                _ if pax.sparse => return Err(special("GNU sparse file")),
                b'0' | b'\0' => EntryKind::File,
                b'5' => EntryKind::Dir,
                b'2' => {
                    return Err(ExtractError::Symlink {
                        archive: archive(),
                        entry,
                        target: link_target(),
                    })
                }
                b'1' => {
                    return Err(ExtractError::Hardlink {
                        archive: archive(),
                        entry,
                        target: link_target(),
                    })
                }
                b'3' => return Err(special("character device")),
                b'4' => return Err(special("block device")),
                b'6' => return Err(special("FIFO")),
                b'7' => return Err(special("contiguous file")),
                b'S' => return Err(special("GNU sparse file")),
                other => {
                    return Err(special(&format!("entry of unknown type {:?}", other as char)))
                }
            };
            let path = normalise(self.archive, &raw, &entry, kind == EntryKind::Dir)?;
            // the permission bits only: never setuid, setgid or sticky
            let perm =
                header.mode().map_err(|r| self.err(Fault::Corrupt(r), self.at_header(offset)))?
                    as u32
                    & 0o777;
            if size > self.limits.max_entry_bytes {
                return Err(ExtractError::EntryTooLarge {
                    archive: archive(),
                    entry,
                    size,
                    limit: self.limits.max_entry_bytes,
                });
            }
            self.charge(size, || Subject::Entry(entry.clone()))?;
            self.last = Some(entry.clone());
            let data_place = || Place::Data { entry: entry.clone(), offset };
            let Some(path) = path else {
                // `./`: nothing to write; its data (if any) is skipped, and counted above
                match st.skip(size.saturating_add(tar::padding(size))) {
                    Ok(true) => continue,
                    Ok(false) => {
                        return Err(self.err(
                            Fault::Corrupt("the archive ends inside the entry's data".into()),
                            data_place(),
                        ))
                    }
                    Err(f) => return Err(self.err(f, data_place())),
                }
            };
            if !seen.insert(path.clone()) {
                return Err(ExtractError::Duplicate { archive: archive(), entry });
            }
            check(&path, kind).map_err(|reason| ExtractError::NotAllowed {
                archive: archive(),
                entry: entry.clone(),
                reason,
            })?;
            // once an interrupt is being handled, write nothing more (the
            // handler is removing the registered temporary we write into)
            crate::cleanup::checkpoint();
            let target = self.root.join(&path);
            let mut sha = None;
            let mut to_skip = size;
            match kind {
                EntryKind::Dir => {
                    if target.is_file() {
                        return Err(ExtractError::PathConflict { archive: archive(), entry });
                    }
                    modes.create(&target, perm, &entry).map_err(|e| self.write_err(&entry, e))?;
                }
                EntryKind::File => {
                    if let Some(parent) = target.parent() {
                        fs::create_dir_all(parent).map_err(|e| self.write_err(&entry, e))?;
                    }
                    // created with the archive's bits, which the umask narrows
                    let mut f = fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(perm)
                        .open(&target)
                        .map_err(|e| self.write_err(&entry, e))?;
                    let mut hasher = sha2::Sha256::new();
                    while to_skip > 0 {
                        let want = to_skip.min(buf.len() as u64) as usize;
                        let n = st
                            .read_some(&mut buf[..want])
                            .map_err(|f| self.err(f, data_place()))?;
                        if n == 0 {
                            let reason = format!(
                                "the archive ends {} bytes into the entry's data; its \
                                    header declares {size}",
                                size - to_skip
                            );
                            return Err(self.err(Fault::Corrupt(reason), data_place()));
                        }
                        hasher.update(&buf[..n]);
                        f.write_all(&buf[..n]).map_err(|e| self.write_err(&entry, e))?;
                        to_skip -= n as u64;
                    }
                    f.flush().map_err(|e| self.write_err(&entry, e))?;
                    sha = Some(hex(&hasher.finalize()));
                }
            }
            match st.skip(to_skip.saturating_add(tar::padding(size))) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(self.err(
                        Fault::Corrupt("the archive ends inside the entry's data".into()),
                        data_place(),
                    ))
                }
                Err(f) => return Err(self.err(f, data_place())),
            }
            out.push(Entry {
                path,
                kind,
                size: if kind == EntryKind::File { size } else { 0 },
                sha256: sha,
            });
        };
        self.finish(&mut st, end, &mut buf)?;
        modes.apply().map_err(|(entry, e)| self.write_err(&entry, e))?;
        Ok(out)
    }

    /// Reads the rest of the uncompressed stream after the end-of-archive
    /// marker at `end`, in `buf`-sized chunks, to its end: only zeros may
    /// follow the marker (tar writers pad the archive to their record size),
    /// and they count against the total limit beyond the marker's two
    /// blocks. Reaching the end runs the decompressor's last checks (the
    /// last gzip trailer, the last zstd checksum, bytes after the last
    /// member or frame).
    fn finish<R: Read>(
        &mut self,
        st: &mut Stream<R>,
        end: u64,
        buf: &mut [u8],
    ) -> Result<(), ExtractError> {
        let place = || Place::End { offset: end };
        let mut free = (end + 2 * tar::BLOCK).saturating_sub(st.pos);
        loop {
            let at = st.pos;
            let n = st.read_some(buf).map_err(|f| self.err(f, place()))?;
            if n == 0 {
                return Ok(());
            }
            if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
                let reason = format!(
                    "a non-zero byte at byte {} of the uncompressed stream; only zeros \
                        may follow the marker",
                    at + i as u64
                );
                return Err(self.err(Fault::Corrupt(reason), place()));
            }
            let charged = (n as u64).saturating_sub(free);
            free = free.saturating_sub(n as u64);
            self.charge(charged, || Subject::Padding { offset: end })?;
        }
    }
}
