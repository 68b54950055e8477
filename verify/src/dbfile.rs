//! Checks of the database *files*, before SQLite opens them: a torn or
//! truncated main file, and a `-wal` file beside it.
//!
//! * **Truncation.** The header (page size at offset 16, page count at 28,
//!   valid when the change counter at 24 equals the version-valid-for number
//!   at 92) says how long the file must be. A file that is shorter, or not a
//!   whole number of pages, is reported as `database_truncated`: SQLite reads
//!   the missing part as zeros, so what it returns for those pages is not
//!   what was written.
//! * **WAL.** A fixture is checkpointed and leaves no `-wal`. SQLite applies a
//!   valid WAL silently when it opens the database and silently ignores an
//!   invalid one, so neither may pass unnoticed: a valid WAL (magic, version,
//!   page size and header checksum as in the SQLite file format, section 4)
//!   is reported as `wal_present` and applied on a private copy, as the daemon
//!   would see it; anything else is reported as `wal_invalid` and never
//!   applied (the database is read without it).

use crate::error::InputError;
use crate::findings::{Finding, Findings, Kind};
use crate::input;
use crate::untrusted;
use rusqlite::Connection;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What is beside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalStatus {
    /// No `-wal` file.
    Absent,
    /// A WAL with a valid header; `frames` frames are valid (salts and
    /// cumulative checksums), of which the first `committed` end in a commit.
    Valid {
        /// Size of the file.
        bytes: u64,
        /// Page size its header declares.
        page_size: u32,
        /// Valid frames.
        frames: u64,
        /// Valid frames up to the last commit frame.
        committed: u64,
    },
    /// A WAL whose header is not valid.
    Invalid {
        /// Size of the file.
        bytes: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// The `-wal` path of a database path.
pub use thrum_io::uri::wal_path;

use thrum_io::wal::{
    be32, checksum as wal_checksum, MAGIC_BE as WAL_MAGIC_BE, MAGIC_LE as WAL_MAGIC_LE,
    VERSION as WAL_VERSION,
};

/// Validates WAL bytes (header, then frames until the first invalid one).
pub fn inspect_wal_bytes(b: &[u8], db_page_size: Option<u32>) -> WalStatus {
    let bytes = b.len() as u64;
    let invalid = |reason: String| WalStatus::Invalid { bytes, reason };
    if b.len() < 32 {
        return invalid(format!("{} bytes, shorter than the 32-byte WAL header", b.len()));
    }
    let magic = be32(b, 0);
    if magic != WAL_MAGIC_LE && magic != WAL_MAGIC_BE {
        return invalid(format!("bad magic {magic:#010x} (expected 0x377f0682 or 0x377f0683)"));
    }
    let big = magic == WAL_MAGIC_BE;
    let version = be32(b, 4);
    if version != WAL_VERSION {
        return invalid(format!("format version {version}, expected {WAL_VERSION}"));
    }
    let page_size = be32(b, 8);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return invalid(format!("page size {page_size} is not a power of two in 512..=65536"));
    }
    if let Some(p) = db_page_size {
        if p != page_size {
            return invalid(format!("page size {page_size} differs from the database's {p}"));
        }
    }
    let sum = wal_checksum(big, &b[..24], (0, 0));
    if sum != (be32(b, 24), be32(b, 28)) {
        return invalid("header checksum does not match".into());
    }
    let (salt1, salt2) = (be32(b, 16), be32(b, 20));
    let frame_len = 24 + page_size as usize;
    let (mut frames, mut committed, mut s) = (0u64, 0u64, sum);
    let mut at = 32usize;
    while at + frame_len <= b.len() {
        let f = &b[at..at + frame_len];
        if be32(f, 0) == 0 || be32(f, 8) != salt1 || be32(f, 12) != salt2 {
            break;
        }
        let s2 = wal_checksum(big, &f[24..], wal_checksum(big, &f[..8], s));
        if s2 != (be32(f, 16), be32(f, 20)) {
            break;
        }
        s = s2;
        frames += 1;
        if be32(f, 4) != 0 {
            committed = frames;
        }
        at += frame_len;
    }
    WalStatus::Valid { bytes, page_size, frames, committed }
}

/// Reads and validates the `-wal` file beside `db`, if any.
pub fn inspect_wal(db: &Path) -> WalStatus {
    let wal = wal_path(db);
    let Ok(meta) = std::fs::symlink_metadata(&wal) else { return WalStatus::Absent };
    if !meta.is_file() {
        let found = crate::input::describe(&wal).unwrap_or_default();
        return WalStatus::Invalid { bytes: 0, reason: format!("{found}, not a regular file") };
    }
    match thrum_io::regular::read_regular(&wal) {
        Ok(b) => inspect_wal_bytes(&b, header(db).map(|h| h.page_size)),
        Err(e) => WalStatus::Invalid { bytes: meta.len(), reason: format!("unreadable: {e}") },
    }
}

/// The fields of a database header this module needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub page_size: u32,
    /// The in-header page count, when the header marks it valid.
    pub pages: Option<u32>,
    /// File format write and read versions (bytes 18 and 19): 1 for the
    /// rollback journal, 2 for WAL.
    pub versions: (u8, u8),
}

/// Parses the first 100 bytes of a SQLite database file (`None` when they
/// are not a SQLite 3 header).
pub fn parse_header(h: &[u8]) -> Option<Header> {
    if h.len() < 100 || &h[..16] != b"SQLite format 3\0" {
        return None;
    }
    let raw = u16::from_be_bytes([h[16], h[17]]) as u32;
    let page_size = if raw == 1 { 65536 } else { raw };
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return None;
    }
    let pages = be32(h, 28);
    let valid = pages != 0 && be32(h, 24) == be32(h, 92);
    Some(Header { page_size, pages: valid.then_some(pages), versions: (h[18], h[19]) })
}

fn header(db: &Path) -> Option<Header> {
    let mut f = thrum_io::regular::open_regular(db).ok()?;
    let mut h = [0u8; 100];
    f.read_exact(&mut h).ok()?;
    parse_header(&h)
}

/// Why a database file of `len` bytes with header `h` is truncated, if it is:
/// (expected, found).
pub fn truncation(h: &Header, len: u64) -> Option<(String, String)> {
    let ps = h.page_size as u64;
    if let Some(p) = h.pages {
        let want = p as u64 * ps;
        if len < want {
            return Some((
                format!("{want} bytes ({p} pages of {ps} bytes, from the header)"),
                format!("{len} bytes"),
            ));
        }
    }
    if len % ps != 0 {
        return Some((
            format!("a whole number of {ps}-byte pages"),
            format!("{len} bytes ({} pages and {} bytes)", len / ps, len % ps),
        ));
    }
    None
}

/// Checks that the header of the database `db` (shown as `rel`) says WAL
/// (bytes 18 and 19 both 2), as a database a v13 daemon has opened does:
/// its `journal_mode=WAL` is persistent (docs/FORMAT.md section 5).
pub fn check_wal_mode(db: &Path, rel: &str, findings: &mut Findings) {
    let Some(h) = header(db) else { return };
    if h.versions != (2, 2) {
        let mode = |v: u8| match v {
            1 => "1 (rollback journal)".to_string(),
            2 => "2 (WAL)".to_string(),
            v => v.to_string(),
        };
        findings.push(
            Finding::new(
                Kind::DatabaseNotWal,
                "the database header does not say WAL: a v13 daemon opens its database with \
                    journal_mode=WAL, which the header keeps",
            )
            .file(rel)
            .column("header bytes 18-19")
            .values("2 (WAL), 2 (WAL)", format!("{}, {}", mode(h.versions.0), mode(h.versions.1))),
        );
    }
}

/// Checks the database file `db` (shown as `rel`) and its `-wal`; returns
/// the WAL status. A valid WAL is reported as `wal_present` when
/// `report_valid` (a v5 input); `verify replay` names it as a crash state
/// instead (`crate::crash`).
pub fn check(db: &Path, rel: &str, findings: &mut Findings, report_valid: bool) -> WalStatus {
    if let (Some(h), Ok(meta)) = (header(db), std::fs::metadata(db)) {
        if let Some((expected, actual)) = truncation(&h, meta.len()) {
            findings.push(
                Finding::new(
                    Kind::DatabaseTruncated,
                    "database file is truncated (a torn write): the missing part reads as zeros",
                )
                .file(rel)
                .values(expected, actual),
            );
        }
    }
    let wal = inspect_wal(db);
    let wal_rel = format!("{rel}-wal");
    match &wal {
        WalStatus::Absent => {}
        WalStatus::Valid { .. } if !report_valid => {}
        WalStatus::Valid { bytes, frames, committed, .. } => findings.push(
            Finding::new(
                Kind::WalPresent,
                format!(
                    "a valid WAL ({bytes} bytes, {frames} valid frames, {committed} \
                    committed) beside the database: a fixture is checkpointed and leaves none; \
                    its committed frames were applied on a private copy"
                ),
            )
            .file(wal_rel)
            .values("no -wal file", format!("{bytes} bytes")),
        ),
        WalStatus::Invalid { bytes, reason } => findings.push(
            Finding::new(
                Kind::WalInvalid,
                format!(
                    "not a valid WAL ({reason}); it was not \
                applied (SQLite would silently ignore it)"
                ),
            )
            .file(wal_rel)
            .values("no -wal file", format!("{bytes} bytes")),
        ),
    }
    wal
}

/// A private copy of the fixture database (plus its `-wal`, if any), so
/// verification never touches the input and never adds files to the tree.
pub struct DbCopy {
    _dir: crate::cleanup::TempDir,
    /// The copy of the database.
    pub path: PathBuf,
}

/// A private copy of the database `src` and its `-wal`.
pub fn copy_db(src: &Path) -> Result<DbCopy, InputError> {
    copy_db_with(src, true)
}

/// Like [`copy_db`]; the `-wal` is copied only when `with_wal`.
pub fn copy_db_with(src: &Path, with_wal: bool) -> Result<DbCopy, InputError> {
    let dir = input::temp_dir("verify-db-")?;
    let path = dir.path().join("messages.db");
    copy_regular(src, &path)?;
    let wal = wal_path(src);
    if with_wal && std::fs::symlink_metadata(&wal).is_ok_and(|m| m.is_file()) {
        copy_regular(&wal, &dir.path().join("messages.db-wal"))?;
    }
    Ok(DbCopy { _dir: dir, path })
}

/// Copies the regular file `src` to `dest` (created): never opens a FIFO
/// or device; an error names the file it is about, and a full disk is
/// "disk full while writing DEST".
pub fn copy_regular(src: &Path, dest: &Path) -> Result<u64, InputError> {
    let mut from =
        thrum_io::regular::open_regular(src).map_err(|e| input::db_file_error(src, src, e))?;
    let mut to = std::fs::File::create(dest).map_err(|e| InputError::write(dest, e))?;
    let n = copy_stream(&mut from, &mut to, src, dest)?;
    to.sync_data().map_err(|e| InputError::write(dest, e))?;
    Ok(n)
}

/// Copies `from` (read as `src`) into `to` (written as `dest`), telling
/// read errors from write errors.
fn copy_stream(
    from: &mut std::fs::File,
    to: &mut std::fs::File,
    src: &Path,
    dest: &Path,
) -> Result<u64, InputError> {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = match from.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InputError::io(src, e)),
        };
        to.write_all(&buf[..k]).map_err(|e| InputError::write(dest, e))?;
        n += k as u64;
    }
}

/// Opens an input database file (untrusted: see [`crate::untrusted`]) and
/// checks that it is one; the flag says whether a connection exceeded its
/// work budget (see [`crate::untrusted::settle`]).
pub fn open_db(path: &Path, shown_as: &Path) -> Result<(Connection, untrusted::Spent), InputError> {
    let spent = untrusted::Spent::default();
    let conn = untrusted::open(
        path,
        false,
        shown_as,
        untrusted::budget_for(untrusted::file_bytes(path)),
        &spent,
    )?;
    Ok((conn, spent))
}

/// How the fixture database is read: in place, read-only and immutable
/// (nothing is written, not even a lock or `-shm` file), or — when a `-wal`
/// file sits beside it, whose content SQLite must apply — through a private
/// copy. Every connection is opened as untrusted input
/// (`crate::untrusted::open`), under one work budget per connection.
pub struct FixtureDb {
    at: DbAt,
    budget: u64,
    spent: untrusted::Spent,
}

enum DbAt {
    /// Read where it is.
    InPlace(PathBuf),
    /// Read from a private copy.
    Copy(DbCopy),
}

impl FixtureDb {
    /// How the database `src` is to be read, judging its `-wal`.
    pub fn prepare(src: &Path) -> Result<FixtureDb, InputError> {
        FixtureDb::prepare_with(src, &inspect_wal(src))
    }

    /// A valid `-wal` is applied on a private copy; an invalid one is never
    /// applied (the database is copied without it); with none the database
    /// is read in place.
    pub fn prepare_with(src: &Path, wal: &WalStatus) -> Result<FixtureDb, InputError> {
        // SQLite would block on a FIFO and read a device
        thrum_io::regular::regular_metadata(src).map_err(|e| input::db_file_error(src, src, e))?;
        let budget = untrusted::budget_for(untrusted::file_bytes(src));
        let at = match wal {
            WalStatus::Absent => DbAt::InPlace(src.to_path_buf()),
            WalStatus::Valid { .. } => DbAt::Copy(copy_db_with(src, true)?),
            WalStatus::Invalid { .. } => DbAt::Copy(copy_db_with(src, false)?),
        };
        Ok(FixtureDb { at, budget, spent: untrusted::Spent::default() })
    }

    /// A read-only connection, its objects checked before any query.
    pub fn open(&self, shown_as: &Path) -> Result<Connection, InputError> {
        let conn = match &self.at {
            DbAt::InPlace(p) => {
                let uri = thrum_io::uri::immutable(p)
                    .ok_or_else(|| InputError::db(shown_as, "path is not valid UTF-8"))?;
                untrusted::open(uri, true, shown_as, self.budget, &self.spent)?
            }
            DbAt::Copy(c) => untrusted::open(&c.path, false, shown_as, self.budget, &self.spent)?,
        };
        // No memory map: pages mapped by the three connections count in the
        // resident size (up to the map size each), and reads through the
        // page cache measured as fast on `large`.
        let _ = conn.pragma_update(None, "mmap_size", 0i64);
        Ok(conn)
    }

    /// Unusable input when a connection exceeded its work budget: what it
    /// reported before it was interrupted does not stand.
    pub fn settle(&self, shown_as: &Path) -> Result<(), InputError> {
        untrusted::settle(&self.spent, shown_as, self.budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_wal_is_valid_and_garbage_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
            .unwrap();
        let b = std::fs::read(wal_path(&p)).unwrap();
        match inspect_wal_bytes(&b, Some(4096)) {
            WalStatus::Valid { frames, committed, page_size, .. } => {
                assert!(frames >= 3 && committed == frames, "{frames} {committed}");
                assert_eq!(page_size, 4096);
            }
            other => panic!("{other:?}"),
        }
        // a flipped bit in the header checksum, a wrong page size, garbage
        let mut bad = b.clone();
        bad[27] ^= 1;
        let reason = |s: WalStatus| match s {
            WalStatus::Invalid { reason, .. } => reason,
            other => format!("not invalid: {other:?}"),
        };
        assert!(reason(inspect_wal_bytes(&bad, None)).contains("checksum"));
        assert!(reason(inspect_wal_bytes(&b, Some(1024))).contains("differs"));
        assert!(matches!(inspect_wal_bytes(b"garbage", None), WalStatus::Invalid { bytes: 7, .. }));
        // a torn last frame only shortens the valid prefix
        let torn = &b[..b.len() - 100];
        assert!(matches!(inspect_wal_bytes(torn, None), WalStatus::Valid { .. }));
        drop(c);
    }

    #[test]
    fn truncation_from_header_and_page_multiple() {
        let mut h = [0u8; 100];
        h[..16].copy_from_slice(b"SQLite format 3\0");
        h[16..18].copy_from_slice(&4096u16.to_be_bytes());
        h[28..32].copy_from_slice(&10u32.to_be_bytes());
        let hd = parse_header(&h).unwrap();
        assert_eq!(hd, Header { page_size: 4096, pages: Some(10), versions: (0, 0) });
        assert_eq!(truncation(&hd, 40960), None);
        assert!(truncation(&hd, 40960 - 4096).is_some());
        assert!(truncation(&hd, 40960 + 100).unwrap().0.contains("whole number"));
        // an invalid in-header count (change counter differs) is not trusted
        h[24] = 1;
        let hd = parse_header(&h).unwrap();
        assert_eq!(hd.pages, None);
        assert_eq!(truncation(&hd, 4096), None);
        assert!(parse_header(b"not a database").is_none());
    }
}
