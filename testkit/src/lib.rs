//! Test support shared by the workspace's tests, used only as a
//! dev-dependency:
//!
//! * [`tar`]: raw tar headers and members with any name, type, size and
//!   link (the `tar` crate's builder refuses the hostile ones the tests need);
//! * [`snapshot`]: everything below a directory, to prove that a run left
//!   it as it was (or changed exactly what it should).

#![deny(missing_docs)]

pub mod tar;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

/// Everything below `root`, `root` itself included (as `""`), links and
/// special files not followed: `/`-separated relative path -> [`entry`].
/// Panics when the tree cannot be read (a test helper).
pub fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let rel = p.strip_prefix(root).expect("below the root");
        let rel =
            rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        let what = entry(&p);
        if what.starts_with("dir ") {
            for e in std::fs::read_dir(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())) {
                stack.push(e.unwrap_or_else(|e| panic!("read {}: {e}", p.display())).path());
            }
        }
        out.insert(rel, what);
    }
    out
}

/// What is at `path`, not following a link: `dir MODE`, `file MODE SHA256`
/// (of its bytes), `link -> TARGET`, `fifo MODE`, `socket MODE`,
/// `char device MODE`, `block device MODE`; the mode in octal, permission
/// and setuid/setgid/sticky bits.
pub fn entry(path: &Path) -> String {
    let m =
        std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    let t = m.file_type();
    let mode = m.permissions().mode() & 0o7777;
    if t.is_symlink() {
        let to =
            std::fs::read_link(path).unwrap_or_else(|e| panic!("readlink {}: {e}", path.display()));
        return format!("link -> {}", to.display());
    }
    let kind = if t.is_dir() {
        "dir"
    } else if t.is_file() {
        let (sha, _) =
            thrum_io::sha256_file(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        return format!("file {mode:o} {sha}");
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "char device"
    } else if t.is_block_device() {
        "block device"
    } else {
        "other"
    };
    format!("{kind} {mode:o}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{set_permissions, write, Permissions};

    #[test]
    fn a_snapshot_sees_content_modes_links_and_special_files() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir(root.join("d")).unwrap();
        write(root.join("d/f"), b"abc").unwrap();
        set_permissions(root.join("d/f"), Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink("d/f", root.join("l")).unwrap();
        let st = std::process::Command::new("mkfifo").arg(root.join("p")).status().unwrap();
        assert!(st.success());
        let s = snapshot(root);
        let keys: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(keys, ["", "d", "d/f", "l", "p"]);
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(s["d/f"], format!("file 644 {abc}"));
        assert_eq!(s["l"], "link -> d/f");
        assert!(s["p"].starts_with("fifo "), "{}", s["p"]);
        // one byte, one mode bit, one link target: each is seen
        write(root.join("d/f"), b"abd").unwrap();
        assert_ne!(snapshot(root), s);
        write(root.join("d/f"), b"abc").unwrap();
        assert_eq!(snapshot(root), s);
        set_permissions(root.join("d/f"), Permissions::from_mode(0o600)).unwrap();
        assert_eq!(snapshot(root)["d/f"], format!("file 600 {abc}"));
        set_permissions(root.join("d"), Permissions::from_mode(0o700)).unwrap();
        assert_eq!(snapshot(root)["d"], "dir 700");
        std::fs::remove_file(root.join("l")).unwrap();
        std::os::unix::fs::symlink("d", root.join("l")).unwrap();
        assert_eq!(snapshot(root)["l"], "link -> d");
    }
}
