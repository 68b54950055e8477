//! Runs `scripts/interop_check.py` (DuckDB, and pyarrow, pandas, Polars and
//! fastparquet where installed) against a small fixture directory. Needs
//! `python3` with at least `duckdb` (`pip install -r scripts/requirements.txt`),
//! hence ignored by default: `cargo test -p thrum-parquet --test it interop -- --ignored`.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use thrum_parquet::ParquetOptions;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn run(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let root = repo_root();
    let out = Command::new("python3")
        .arg(root.join("scripts/interop_check.py"))
        .args(args)
        .output()
        .expect("run python3");
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
#[ignore = "needs python3 with duckdb"]
fn duckdb_reads_what_sqlite_holds() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    common::write_fixture_dir(&plan, tmp.path(), ParquetOptions::default()).unwrap();
    let readme = repo_root().join("parquet-sink/README.md");
    let (code, out) = run(&[tmp.path().as_os_str(), "--readme".as_ref(), readme.as_os_str()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all 17 tables equal"), "{out}");
    assert_eq!(out.matches("README query").count(), 3, "{out}");

    // Tamper with a copy of the database: the script must fail and name it.
    let db = tmp.path().join("tampered.db");
    let conn = {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "zstd -dc '{}' | tar -xO .thrum/var/messages.db > '{}'",
                tmp.path().join("thrum-fixture.tar.zst").display(),
                db.display()
            ))
            .status()
            .unwrap();
        assert!(status.success());
        rusqlite::Connection::open(&db).unwrap()
    };
    conn.execute(
        "UPDATE groups SET description = 'changed' WHERE group_id = (SELECT \
        min(group_id) FROM groups)",
        [],
    )
    .unwrap();
    drop(conn);
    let (code, out) = run(&[tmp.path().as_os_str(), "--db".as_ref(), db.as_os_str()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("groups") && out.contains("column description"), "{out}");
    assert!(out.contains("1 mismatch(es)"), "{out}");
}
