//! Raw tar headers and members, byte by byte: any name, type, size and
//! link, hostile ones included.

/// Octal fields hold sizes below 8 GiB; larger ones are written in base-256.
const OCTAL_LIMIT: u64 = 1 << 33;

/// A ustar header (mode 0644, owner 0, mtime 0) with `name`, type byte
/// `typ`, size field `size` (base-256 from 8 GiB on) and link `link`, its
/// checksum computed. Panics when `name` or `link` exceeds the 100 bytes
/// of its field (callers that make up names cut them first).
pub fn header(name: &[u8], typ: u8, size: u64, link: &[u8]) -> [u8; 512] {
    assert!(name.len() <= 100 && link.len() <= 100, "a ustar name or link holds 100 bytes");
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    if size < OCTAL_LIMIT {
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typ;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A header whose size is the data's, the data and the padding to the next
/// 512-byte block.
pub fn member(name: &[u8], typ: u8, data: &[u8], link: &[u8]) -> Vec<u8> {
    let mut t = header(name, typ, data.len() as u64, link).to_vec();
    t.extend_from_slice(data);
    t.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
    t
}

/// The end-of-archive marker: two zero blocks.
pub const END: [u8; 1024] = [0; 1024];

/// A whole tar of regular files (`name`, `data`), in the order given, with
/// the end marker: the honest archive most tests start from.
pub fn regular_files<N: AsRef<[u8]>, D: AsRef<[u8]>>(
    files: impl IntoIterator<Item = (N, D)>,
) -> Vec<u8> {
    let mut t = Vec::new();
    for (name, data) in files {
        t.extend(member(name.as_ref(), b'0', data.as_ref(), b""));
    }
    t.extend_from_slice(&END);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum and size fields as POSIX defines them, read back by hand.
    #[test]
    fn fields_are_where_posix_puts_them() {
        let h = header(b".thrum/a", b'0', 5, b"");
        assert_eq!(&h[..8], b".thrum/a");
        assert_eq!(&h[124..136], b"00000000005\0");
        assert_eq!(h[156], b'0');
        assert_eq!(&h[257..265], b"ustar\x0000");
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) })
            .sum();
        let field = std::str::from_utf8(&h[148..154]).unwrap();
        assert_eq!(u32::from_str_radix(field, 8).unwrap(), sum);
        let big = header(b"x", b'0', 1 << 40, b"");
        assert_eq!(big[124], 0x80);
        assert_eq!(u64::from_be_bytes(big[128..136].try_into().unwrap()), 1 << 40);
        let m = member(b"x", b'0', b"hello", b"");
        assert_eq!(m.len(), 1024);
        assert_eq!(&m[512..517], b"hello");
        assert!(m[517..].iter().all(|&b| b == 0));
    }

    /// Members follow each other on block boundaries, then the end marker.
    #[test]
    fn regular_files_are_members_then_the_end() {
        let t = regular_files([("a", &b"x"[..]), ("b/c", &b""[..])]);
        let mut want = member(b"a", b'0', b"x", b"");
        want.extend(member(b"b/c", b'0', b"", b""));
        want.extend_from_slice(&END);
        assert_eq!(t, want);
        assert_eq!(t.len(), 512 * 2 + 512 + 1024);
    }
}
