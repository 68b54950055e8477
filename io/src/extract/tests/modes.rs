//! Extraction keeps each entry's permission bits, narrowed by the umask,
//! never widened, never setuid, setgid or sticky.

use super::*;
use std::os::unix::fs::PermissionsExt as _;

/// A member whose header carries `mode` (any bits, type bits included).
fn with_mode(name: &str, typ: u8, data: &[u8], mode: u32) -> Vec<u8> {
    let mut m = member(name, typ, data);
    m[100..108].copy_from_slice(format!("{mode:07o}\0").as_bytes());
    m[148..156].copy_from_slice(b"        ");
    let sum: u32 = m[..512].iter().map(|&b| b as u32).sum();
    m[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    m
}

/// This process's umask, as the kernel reports it (read, never changed:
/// the tests of this binary run in parallel).
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line =
        status.lines().find_map(|l| l.strip_prefix("Umask:")).expect("Umask in /proc/self/status");
    u32::from_str_radix(line.trim(), 8).unwrap()
}

fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn entries_keep_their_permission_bits_narrowed_by_the_umask() {
    let t = tar_bytes(&[
        with_mode(".thrum/", b'5', b"", 0o755),
        with_mode(".thrum/var/", b'5', b"", 0o750),
        with_mode(".thrum/var/peers.json", b'0', b"[]\n", 0o600),
        with_mode(".thrum/group.conf", b'0', b"g\n", 0o640),
        with_mode(".thrum/config.json", b'0', b"{}\n", 0o100644),
        // a directory its owner cannot write: its files are written first
        with_mode(".thrum/ro/", b'5', b"", 0o500),
        with_mode(".thrum/ro/f", b'0', b"r\n", 0o444),
        with_mode(".thrum/setuid", b'0', b"#!\n", 0o4755),
        with_mode(".thrum/setgid/", b'5', b"", 0o2775),
        with_mode(".thrum/sticky/", b'5', b"", 0o1777),
        // no entry of its own: the default mode
        with_mode(".thrum/implicit/f", b'0', b"i\n", 0o644),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar.zst");
    fs::write(&a, compress(&t, Compression::Zstd)).unwrap();
    let dest = dir.path().join("dest");
    extract(&a, &dest, &Limits::default()).unwrap();
    let mask = umask();
    for (rel, archived) in [
        (".thrum", 0o755),
        (".thrum/var", 0o750),
        (".thrum/var/peers.json", 0o600),
        (".thrum/group.conf", 0o640),
        (".thrum/config.json", 0o644),
        (".thrum/ro", 0o500),
        (".thrum/ro/f", 0o444),
        (".thrum/setuid", 0o755),
        (".thrum/setgid", 0o775),
        (".thrum/sticky", 0o777),
        (".thrum/implicit", 0o777),
        (".thrum/implicit/f", 0o644),
    ] {
        assert_eq!(mode_of(&dest.join(rel)), archived & !mask, "{rel} (umask {mask:03o})");
    }
    assert_eq!(fs::read(dest.join(".thrum/ro/f")).unwrap(), b"r\n");
}

#[test]
fn a_mode_field_that_is_not_octal_is_corrupt() {
    let mut m = with_mode(".thrum/a", b'0', b"x", 0o644);
    m[100..108].copy_from_slice(b"0000 9x\0");
    m[148..156].copy_from_slice(b"        ");
    let sum: u32 = m[..512].iter().map(|&b| b as u32).sum();
    m[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let e = refused_bytes(compress(&tar_bytes(&[m]), Compression::Zstd), Limits::default());
    assert!(
        matches!(e, ExtractError::Corrupt { ref reason, .. } if reason == "the header's mode \
            field is not an octal number"),
        "{e}"
    );
}
