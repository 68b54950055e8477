//! The SQLite WAL file format (SQLite's `fileformat2`, section 4): a 32-byte
//! header (magic, format version, page size, checkpoint sequence, two salts,
//! a checksum of the first 24 bytes) and frames of a 24-byte header (page
//! number, database size in pages after a commit or 0, the two salts, a
//! checksum) and one page each. Checksums are cumulative: each frame's is
//! computed over its first 8 header bytes and its page, starting from the
//! previous frame's (the header's for the first frame), in 32-bit words of
//! the byte order the magic names.
//!
//! [`checksum`] is the one implementation of that checksum: `verify` checks
//! a WAL with it, and [`reseal`] rewrites one with chosen salts (SQLite picks
//! them at random), so a WAL written by SQLite becomes reproducible bytes
//! that SQLite still applies.

/// Magic of a WAL whose checksums use little-endian words.
pub const MAGIC_LE: u32 = 0x377f_0682;
/// Magic of a WAL whose checksums use big-endian words.
pub const MAGIC_BE: u32 = 0x377f_0683;
/// The only WAL format version.
pub const VERSION: u32 = 3_007_000;
/// Bytes of the WAL header.
pub const HEADER: usize = 32;
/// Bytes of a frame header (the page follows it).
pub const FRAME_HEADER: usize = 24;

/// The big-endian 32-bit integer at `at` (`b` holds at least `at + 4` bytes).
pub fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing
/// from `s`, in words of the byte order `big_endian` names.
pub fn checksum(big_endian: bool, data: &[u8], mut s: (u32, u32)) -> (u32, u32) {
    for w in data.chunks_exact(8) {
        let (x0, x1) = if big_endian {
            (
                u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
                u32::from_be_bytes([w[4], w[5], w[6], w[7]]),
            )
        } else {
            (
                u32::from_le_bytes([w[0], w[1], w[2], w[3]]),
                u32::from_le_bytes([w[4], w[5], w[6], w[7]]),
            )
        };
        s.0 = s.0.wrapping_add(x0).wrapping_add(s.1);
        s.1 = s.1.wrapping_add(x1).wrapping_add(s.0);
    }
    s
}

/// Why a WAL could not be resealed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a whole SQLite WAL: {0}")]
pub struct WalError(pub String);

/// What [`reseal`] rewrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    /// The page size of its frames.
    pub page_size: u32,
    /// Frames rewritten.
    pub frames: u64,
    /// Of which commit frames (a nonzero database size).
    pub commits: u64,
}

/// Rewrites the whole WAL `wal` (a header and complete frames) with the
/// salts `salt`, checkpoint sequence 0 and little-endian checksums (magic
/// [`MAGIC_LE`], whatever the machine that wrote it), recomputing the
/// header's checksum and every frame's, in order. The pages and frame
/// headers are kept; the result is valid wherever the input was.
pub fn reseal(wal: &mut [u8], salt: (u32, u32)) -> Result<Resealed, WalError> {
    if wal.len() < HEADER {
        return Err(WalError(format!("{} bytes, shorter than its header", wal.len())));
    }
    let magic = be32(wal, 0);
    if magic != MAGIC_LE && magic != MAGIC_BE {
        return Err(WalError(format!("bad magic {magic:#010x}")));
    }
    if be32(wal, 4) != VERSION {
        return Err(WalError(format!("format version {}", be32(wal, 4))));
    }
    let page_size = be32(wal, 8);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(WalError(format!("page size {page_size}")));
    }
    let frame = FRAME_HEADER + page_size as usize;
    if (wal.len() - HEADER) % frame != 0 {
        return Err(WalError(format!(
            "{} bytes after the header, not whole {frame}-byte frames",
            wal.len() - HEADER
        )));
    }
    put32(wal, 0, MAGIC_LE);
    put32(wal, 12, 0);
    put32(wal, 16, salt.0);
    put32(wal, 20, salt.1);
    let mut s = checksum(false, &wal[..24], (0, 0));
    put32(wal, 24, s.0);
    put32(wal, 28, s.1);
    let (mut frames, mut commits) = (0u64, 0u64);
    for f in wal[HEADER..].chunks_exact_mut(frame) {
        put32(f, 8, salt.0);
        put32(f, 12, salt.1);
        s = checksum(false, &f[FRAME_HEADER..], checksum(false, &f[..8], s));
        put32(f, 16, s.0);
        put32(f, 20, s.1);
        frames += 1;
        commits += u64::from(be32(f, 4) != 0);
    }
    Ok(Resealed { page_size, frames, commits })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAL header and `n` frames of `ps`-byte pages, checksummed big-endian.
    fn wal_be(ps: u32, n: u32) -> Vec<u8> {
        let mut w = vec![0u8; HEADER];
        put32(&mut w, 0, MAGIC_BE);
        put32(&mut w, 4, VERSION);
        put32(&mut w, 8, ps);
        put32(&mut w, 12, 7);
        put32(&mut w, 16, 0xdead_beef);
        put32(&mut w, 20, 0x0123_4567);
        let mut s = checksum(true, &w[..24], (0, 0));
        put32(&mut w, 24, s.0);
        put32(&mut w, 28, s.1);
        for i in 0..n {
            let mut f = vec![(i as u8).wrapping_mul(37); FRAME_HEADER + ps as usize];
            put32(&mut f, 0, i + 1);
            put32(&mut f, 4, if i + 1 == n { n } else { 0 });
            put32(&mut f, 8, 0xdead_beef);
            put32(&mut f, 12, 0x0123_4567);
            s = checksum(true, &f[FRAME_HEADER..], checksum(true, &f[..8], s));
            put32(&mut f, 16, s.0);
            put32(&mut f, 20, s.1);
            w.extend_from_slice(&f);
        }
        w
    }

    #[test]
    fn reseal_sets_salts_and_little_endian_checksums_in_chain() {
        let mut w = wal_be(512, 3);
        let r = reseal(&mut w, (1, 2)).unwrap();
        assert_eq!(r, Resealed { page_size: 512, frames: 3, commits: 1 });
        assert_eq!((be32(&w, 0), be32(&w, 12), be32(&w, 16), be32(&w, 20)), (MAGIC_LE, 0, 1, 2));
        // every checksum recomputed by hand, little-endian, in chain
        let mut s = checksum(false, &w[..24], (0, 0));
        assert_eq!((be32(&w, 24), be32(&w, 28)), s);
        for f in w[HEADER..].chunks_exact(FRAME_HEADER + 512) {
            assert_eq!((be32(f, 8), be32(f, 12)), (1, 2));
            let mut data = f[..8].to_vec();
            data.extend_from_slice(&f[FRAME_HEADER..]);
            s = checksum(false, &data, s);
            assert_eq!((be32(f, 16), be32(f, 20)), s);
        }
        // resealing is idempotent for the same salts
        let before = w.clone();
        reseal(&mut w, (1, 2)).unwrap();
        assert_eq!(w, before);
    }

    #[test]
    fn reseal_refuses_what_is_not_a_whole_wal() {
        assert!(reseal(&mut [0u8; 8], (1, 2)).unwrap_err().0.contains("shorter"));
        let mut w = wal_be(512, 2);
        w.truncate(w.len() - 10);
        assert!(reseal(&mut w, (1, 2)).unwrap_err().0.contains("whole"));
        let mut w = wal_be(512, 1);
        w[0] = 0;
        assert!(reseal(&mut w, (1, 2)).unwrap_err().0.contains("magic"));
    }
}
