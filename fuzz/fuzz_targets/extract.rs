//! The archive extractor on arbitrary bytes: the first byte chooses a raw tar
//! stream (`unpack_tar`) or a file whose compression is detected (`extract`).
//! No panic; nothing but regular files and directories inside the
//! destination; nothing outside it; a refused archive leaves no destination.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use thrum_io::extract::{extract, unpack_tar, Limits};

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let limits = Limits { max_entry_bytes: 1 << 16, max_total_bytes: 1 << 18, max_entries: 256 };
    let dir = tempfile::tempdir().unwrap();
    if mode % 2 == 0 {
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let r = unpack_tar(Path::new("fuzz.tar"), data, &root, &limits);
        assert_eq!(names(dir.path()), vec!["root".to_string()]);
        let (_, other) = verify::internals::walk_files(&root, &root).unwrap();
        assert!(other.is_empty(), "{other:?}");
        if let Ok(entries) = r {
            assert!(entries.iter().map(|e| e.size).sum::<u64>() <= limits.max_total_bytes);
        }
    } else {
        let a = dir.path().join("a.tar.zst");
        std::fs::write(&a, data).unwrap();
        let dest = dir.path().join("dest");
        match extract(&a, &dest, &limits) {
            Ok(_) => {
                assert_eq!(names(dir.path()), vec!["a.tar.zst".to_string(), "dest".to_string()]);
                let (_, other) = verify::internals::walk_files(&dest, &dest).unwrap();
                assert!(other.is_empty(), "{other:?}");
            }
            Err(_) => assert_eq!(names(dir.path()), vec!["a.tar.zst".to_string()]),
        }
    }
});
