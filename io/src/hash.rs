//! Hex and SHA-256 helpers.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 (lowercase hex) and size of the regular file at `path`, streamed.
/// Anything else (a FIFO, a device, a directory) is refused as
/// [`crate::regular::open_regular`] refuses it, without blocking.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    sha256_reader(crate::regular::open_regular(path)?)
}

/// SHA-256 (lowercase hex) and length of everything `r` yields.
pub fn sha256_reader(r: impl Read) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let size = update_from(&mut h, r)?;
    Ok((hex(&h.finalize()), size))
}

/// Feeds everything `r` yields into `h` (a hash already begun); returns
/// how many bytes that was.
pub fn update_from(h: &mut Sha256, mut r: impl Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sha256() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_reader(&b"abc"[..]).unwrap(), (sha256_hex(b"abc"), 3));
    }
}
