//! Safe extraction of `.tar.zst` / `.tar.gz` fixture archives.
//!
//! Refused (each a typed [`ExtractError`] naming the entry): absolute paths,
//! `..` components, empty or non-UTF-8 paths, symlinks, hard links, device
//! and FIFO entries (and any other non-file, non-directory type), duplicate
//! paths, an entry over [`Limits::max_entry_bytes`], a total expansion over
//! [`Limits::max_total_bytes`], more than [`Limits::max_entries`] entries.
//! PAX global headers carry no file and are skipped. File modes, owners and
//! times in the archive are ignored.
//!
//! [`extract`] unpacks into a temporary directory beside the destination and
//! renames it into place, so the destination is either complete or absent.

use crate::error::ExtractError;
use std::collections::HashSet;
use std::fs;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use tar::EntryType;

/// Extraction limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entry_bytes: u64,
    pub max_total_bytes: u64,
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_entry_bytes: 1 << 30, max_total_bytes: 4 << 30, max_entries: 1_000_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Zstd,
    Gzip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// One extracted entry: its normalised `/`-separated path, kind and size,
/// and for files the SHA-256 (lowercase hex) of the bytes written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub sha256: Option<String>,
}

/// Hashes what passes through it, so extracted files are never re-read.
struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W: io::Write> io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Detects the compression from the file's magic bytes.
pub fn detect(archive: &Path) -> Result<Compression, ExtractError> {
    let mut f = fs::File::open(archive).map_err(|e| ExtractError::Io { path: archive.to_path_buf(), source: e })?;
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ExtractError::Io { path: archive.to_path_buf(), source: e }),
        }
    }
    if n >= 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        Ok(Compression::Zstd)
    } else if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Ok(Compression::Gzip)
    } else {
        Err(ExtractError::UnsupportedFormat { archive: archive.to_path_buf() })
    }
}

/// True when the file starts with a zstd or gzip magic number.
pub fn looks_like_archive(path: &Path) -> bool {
    detect(path).is_ok()
}

fn open(archive: &Path) -> Result<Box<dyn Read>, ExtractError> {
    let comp = detect(archive)?;
    let f = fs::File::open(archive).map_err(|e| ExtractError::Io { path: archive.to_path_buf(), source: e })?;
    Ok(match comp {
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(f)
                .map_err(|e| ExtractError::Corrupt { archive: archive.to_path_buf(), at: None, source: e })?,
        ),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f))),
    })
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
    fs::create_dir_all(&parent).map_err(|e| ExtractError::Io { path: parent.clone(), source: e })?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "extract".into());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(&parent)
        .map_err(|e| ExtractError::Io { path: parent.clone(), source: e })?;
    let entries = unpack(archive, tmp.path(), limits)?;
    let tmp_path = tmp.keep();
    if let Err(e) = fs::rename(&tmp_path, dest) {
        let _ = fs::remove_dir_all(&tmp_path);
        return Err(ExtractError::Io { path: dest.to_path_buf(), source: e });
    }
    Ok(entries)
}

/// Extracts into an existing (empty) directory `root`. On error `root` may
/// hold a partial extraction; callers use a temporary `root`.
pub fn unpack(archive: &Path, root: &Path, limits: &Limits) -> Result<Vec<Entry>, ExtractError> {
    unpack_with(archive, root, limits, &mut |_| {})
}

/// [`unpack`], calling `before` with each entry's normalised path before
/// the entry is written (every earlier entry is then complete on disk).
pub fn unpack_with(archive: &Path, root: &Path, limits: &Limits, before: &mut dyn FnMut(&str)) -> Result<Vec<Entry>, ExtractError> {
    let reader = open(archive)?;
    unpack_reader(archive, reader, root, limits, before)
}

/// Unpacks an *uncompressed* tar stream into `root` (an existing, empty
/// directory) with every check of [`unpack`]; `archive` only names the input
/// in errors. (The fuzz target's entry point.)
pub fn unpack_tar<'a>(archive: &Path, tar: impl Read + 'a, root: &Path, limits: &Limits) -> Result<Vec<Entry>, ExtractError> {
    unpack_reader(archive, Box::new(tar), root, limits, &mut |_| {})
}

fn corrupt(archive: &Path, at: Option<&str>, e: io::Error) -> ExtractError {
    ExtractError::Corrupt { archive: archive.to_path_buf(), at: at.map(str::to_owned), source: e }
}

/// Normalises an entry path: `.` components dropped; absolute, `..`, empty
/// and non-UTF-8 paths refused.
fn normalise(archive: &Path, raw: &[u8], is_dir: bool) -> Result<Option<String>, ExtractError> {
    let entry = String::from_utf8_lossy(raw).into_owned();
    let Ok(s) = std::str::from_utf8(raw) else {
        return Err(ExtractError::InvalidPath { archive: archive.to_path_buf(), entry });
    };
    if s.is_empty() || s.contains('\0') {
        return Err(ExtractError::InvalidPath { archive: archive.to_path_buf(), entry });
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(s).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => {
                return Err(ExtractError::AbsolutePath { archive: archive.to_path_buf(), entry })
            }
            Component::ParentDir => return Err(ExtractError::ParentComponent { archive: archive.to_path_buf(), entry }),
            Component::CurDir => {}
            Component::Normal(p) => match p.to_str() {
                Some(p) => parts.push(p),
                None => return Err(ExtractError::InvalidPath { archive: archive.to_path_buf(), entry }),
            },
        }
    }
    if parts.is_empty() {
        // `./` itself: harmless for a directory, meaningless for anything else.
        return if is_dir { Ok(None) } else { Err(ExtractError::InvalidPath { archive: archive.to_path_buf(), entry }) };
    }
    Ok(Some(parts.join("/")))
}

fn conflict_or_io(archive: &Path, entry: &str, path: &Path, e: io::Error) -> ExtractError {
    match e.kind() {
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory => {
            ExtractError::PathConflict { archive: archive.to_path_buf(), entry: entry.to_owned() }
        }
        _ => ExtractError::Io { path: path.to_path_buf(), source: e },
    }
}

fn unpack_reader(archive: &Path, reader: Box<dyn Read + '_>, root: &Path, limits: &Limits, before: &mut dyn FnMut(&str)) -> Result<Vec<Entry>, ExtractError> {
    let mut ar = tar::Archive::new(reader);
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut total: u64 = 0;
    let mut count: u64 = 0;
    let iter = ar.entries().map_err(|e| corrupt(archive, None, e))?;
    let mut last: Option<String> = None;
    for entry in iter {
        let mut entry = entry.map_err(|e| corrupt(archive, last.as_deref(), e))?;
        let et = entry.header().entry_type();
        let raw = entry.path_bytes().into_owned();
        let display = String::from_utf8_lossy(&raw).into_owned();
        last = Some(display.clone());
        if et == EntryType::XGlobalHeader {
            continue;
        }
        count += 1;
        if count > limits.max_entries {
            return Err(ExtractError::TooManyEntries { archive: archive.to_path_buf(), entry: display, limit: limits.max_entries });
        }
        let link_target = || {
            entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
        };
        let kind = match et {
            EntryType::Regular => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => {
                return Err(ExtractError::Symlink { archive: archive.to_path_buf(), entry: display, target: link_target() })
            }
            EntryType::Link => {
                return Err(ExtractError::Hardlink { archive: archive.to_path_buf(), entry: display, target: link_target() })
            }
            other => {
                let kind = match other {
                    EntryType::Char => "character device".to_string(),
                    EntryType::Block => "block device".to_string(),
                    EntryType::Fifo => "FIFO".to_string(),
                    EntryType::Continuous => "contiguous file".to_string(),
                    EntryType::GNUSparse => "GNU sparse file".to_string(),
                    o => format!("entry of type {:?}", o.as_byte() as char),
                };
                return Err(ExtractError::SpecialFile { archive: archive.to_path_buf(), entry: display, kind });
            }
        };
        let Some(path) = normalise(archive, &raw, kind == EntryKind::Dir)? else { continue };
        if !seen.insert(path.clone()) {
            return Err(ExtractError::Duplicate { archive: archive.to_path_buf(), entry: display });
        }
        let size = if kind == EntryKind::File { entry.size() } else { 0 };
        if size > limits.max_entry_bytes {
            return Err(ExtractError::EntryTooLarge { archive: archive.to_path_buf(), entry: display, size, limit: limits.max_entry_bytes });
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(ExtractError::TotalTooLarge { archive: archive.to_path_buf(), entry: display, total, limit: limits.max_total_bytes });
        }
        before(&path);
        let target = root.join(&path);
        let mut sha = None;
        match kind {
            EntryKind::Dir => {
                if target.is_file() {
                    return Err(ExtractError::PathConflict { archive: archive.to_path_buf(), entry: display });
                }
                fs::create_dir_all(&target).map_err(|e| conflict_or_io(archive, &display, &target, e))?;
            }
            EntryKind::File => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(|e| conflict_or_io(archive, &display, parent, e))?;
                }
                let f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(|e| conflict_or_io(archive, &display, &target, e))?;
                let mut w = HashingWriter { inner: io::BufWriter::with_capacity(1 << 16, f), hasher: <sha2::Sha256 as sha2::Digest>::new() };
                let written = io::copy(&mut (&mut entry).take(limits.max_entry_bytes.saturating_add(1)), &mut w)
                    .map_err(|e| corrupt(archive, Some(&display), e))?;
                io::Write::flush(&mut w).map_err(|e| ExtractError::Io { path: target.clone(), source: e })?;
                sha = Some(crate::util::hex(&sha2::Digest::finalize(w.hasher)));
                if written != size {
                    return Err(corrupt(
                        archive,
                        Some(&display),
                        io::Error::new(io::ErrorKind::UnexpectedEof, format!("entry data is {written} bytes, header says {size}")),
                    ));
                }
            }
        }
        out.push(Entry { path, kind, size, sha256: sha });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw ustar header with any name/type (the `tar` builder refuses hostile names).
    fn header(name: &str, typ: u8, size: u64, link: &str) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        let s = format!("{size:011o}\0");
        h[124..136].copy_from_slice(s.as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = typ;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        let c = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(c.as_bytes());
        h
    }

    /// Builds a tar from (name, type, data, link) and compresses it.
    fn tar_of(entries: &[(&str, u8, &[u8], &str)], comp: Compression) -> Vec<u8> {
        let mut t = Vec::new();
        for (name, typ, data, link) in entries {
            t.extend_from_slice(&header(name, *typ, data.len() as u64, link));
            t.extend_from_slice(data);
            let pad = (512 - data.len() % 512) % 512;
            t.extend(std::iter::repeat_n(0u8, pad));
        }
        t.extend(std::iter::repeat_n(0u8, 1024));
        match comp {
            Compression::Zstd => zstd::stream::encode_all(&t[..], 3).unwrap(),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut e, &t).unwrap();
                e.finish().unwrap()
            }
        }
    }

    fn run(entries: &[(&str, u8, &[u8], &str)], limits: Limits) -> (tempfile::TempDir, Result<Vec<Entry>, ExtractError>) {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.tar.zst");
        fs::write(&a, tar_of(entries, Compression::Zstd)).unwrap();
        let r = extract(&a, &dir.path().join("out"), &limits);
        (dir, r)
    }

    fn refused(entries: &[(&str, u8, &[u8], &str)], limits: Limits) -> ExtractError {
        let (dir, r) = run(entries, limits);
        let e = r.expect_err("must be refused");
        // Nothing left behind: neither the destination nor a partial directory.
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("a.tar.zst")], "{e}");
        e
    }

    #[test]
    fn extracts_a_good_archive_and_renames_into_place() {
        let (dir, r) = run(
            &[(".thrum/", b'5', b"", ""), (".thrum/config.json", b'0', b"{}\n", ""), ("./.thrum/var/x", b'0', b"abc", "")],
            Limits::default(),
        );
        let entries = r.unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[2],
            Entry {
                path: ".thrum/var/x".into(),
                kind: EntryKind::File,
                size: 3,
                sha256: Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into())
            }
        );
        assert_eq!(fs::read(dir.path().join("out/.thrum/var/x")).unwrap(), b"abc");
        // a second extraction to the same destination is refused
        let e = extract(&dir.path().join("a.tar.zst"), &dir.path().join("out"), &Limits::default()).unwrap_err();
        assert!(matches!(e, ExtractError::DestinationExists { .. }));
    }

    #[test]
    fn gzip_works_too() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.tgz");
        fs::write(&a, tar_of(&[(".thrum/a", b'0', b"1", "")], Compression::Gzip)).unwrap();
        assert_eq!(detect(&a).unwrap(), Compression::Gzip);
        assert_eq!(extract(&a, &dir.path().join("o"), &Limits::default()).unwrap().len(), 1);
    }

    #[test]
    fn refuses_absolute_paths() {
        let e = refused(&[("/etc/passwd", b'0', b"x", "")], Limits::default());
        assert!(matches!(e, ExtractError::AbsolutePath { .. }), "{e}");
        assert_eq!(e.entry(), Some("/etc/passwd"));
    }

    #[test]
    fn refuses_parent_components() {
        let e = refused(&[(".thrum/ok", b'0', b"x", ""), (".thrum/../../evil", b'0', b"x", "")], Limits::default());
        assert!(matches!(e, ExtractError::ParentComponent { .. }), "{e}");
        assert_eq!(e.entry(), Some(".thrum/../../evil"));
    }

    #[test]
    fn refuses_symlinks() {
        let e = refused(&[(".thrum/link", b'2', b"", "/etc/passwd")], Limits::default());
        match &e {
            ExtractError::Symlink { entry, target, .. } => {
                assert_eq!(entry, ".thrum/link");
                assert_eq!(target, "/etc/passwd");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn refuses_hardlinks() {
        let e = refused(&[(".thrum/a", b'0', b"x", ""), (".thrum/b", b'1', b"", ".thrum/a")], Limits::default());
        assert!(matches!(e, ExtractError::Hardlink { ref entry, .. } if entry == ".thrum/b"), "{e}");
    }

    #[test]
    fn refuses_fifos_and_devices() {
        let e = refused(&[(".thrum/pipe", b'6', b"", "")], Limits::default());
        assert!(matches!(e, ExtractError::SpecialFile { ref kind, .. } if kind == "FIFO"), "{e}");
        let e = refused(&[(".thrum/tty", b'3', b"", "")], Limits::default());
        assert!(matches!(e, ExtractError::SpecialFile { ref kind, .. } if kind == "character device"), "{e}");
    }

    #[test]
    fn refuses_duplicates() {
        let e = refused(&[(".thrum/a", b'0', b"x", ""), ("./.thrum/a", b'0', b"y", "")], Limits::default());
        assert!(matches!(e, ExtractError::Duplicate { ref entry, .. } if entry == "./.thrum/a"), "{e}");
    }

    #[test]
    fn refuses_oversize_entries_and_totals() {
        let limits = Limits { max_entry_bytes: 10, max_total_bytes: 15, max_entries: 3 };
        let e = refused(&[(".thrum/big", b'0', &[7u8; 11], "")], limits);
        assert!(matches!(e, ExtractError::EntryTooLarge { size: 11, limit: 10, .. }), "{e}");
        let e = refused(&[(".thrum/a", b'0', &[7u8; 10], ""), (".thrum/b", b'0', &[7u8; 6], "")], limits);
        assert!(matches!(e, ExtractError::TotalTooLarge { ref entry, total: 16, .. } if entry == ".thrum/b"), "{e}");
        let e = refused(&[(".thrum/a", b'0', b"", ""), (".thrum/b", b'0', b"", ""), (".thrum/c", b'0', b"", ""), (".thrum/d", b'0', b"", "")], limits);
        assert!(matches!(e, ExtractError::TooManyEntries { .. }), "{e}");
    }

    #[test]
    fn refuses_file_dir_conflicts_and_garbage() {
        let e = refused(&[(".thrum/a", b'0', b"x", ""), (".thrum/a/b", b'0', b"y", "")], Limits::default());
        assert!(matches!(e, ExtractError::PathConflict { .. }), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("x.tar.zst");
        fs::write(&a, b"not an archive").unwrap();
        assert!(matches!(extract(&a, &dir.path().join("o"), &Limits::default()), Err(ExtractError::UnsupportedFormat { .. })));
        // a truncated zstd stream
        let mut bytes = tar_of(&[(".thrum/a", b'0', &[1u8; 5000], "")], Compression::Zstd);
        bytes.truncate(bytes.len() / 2);
        fs::write(&a, bytes).unwrap();
        let e = extract(&a, &dir.path().join("o"), &Limits::default()).unwrap_err();
        assert!(matches!(e, ExtractError::Corrupt { .. }), "{e}");
        assert!(!dir.path().join("o").exists());
    }
}
