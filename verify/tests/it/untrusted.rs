//! Input databases whose schema runs SQL of its own: a table replaced by a
//! recursive view (which never ends), a virtual table, a generated column,
//! a trigger. Every command that opens an input database (replay, migrate,
//! parquet --db, mesh) refuses each with exit 2 naming the object, before
//! any query, in bounded time and memory: the binary runs under
//! `prlimit --as=512MiB` and `timeout`, its peak RSS measured by
//! `/usr/bin/time`.

use crate::checked_in_copy::fixtures;
use crate::common::{build, build_v5};
use rusqlite::Connection;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A view that never ends, with the given column names.
fn endless_view(name: &str, columns: &[&str]) -> String {
    let cols: Vec<String> = columns.iter().map(|c| format!("x AS {c}")).collect();
    format!(
        "DROP TABLE {name}; CREATE VIEW {name} AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT {} FROM c ORDER BY x DESC;",
        cols.join(", ")
    )
}

/// Rewrites the schema of the database at `db` with `sql` (foreign keys off).
fn rewrite(db: &Path, sql: &str) {
    let c = Connection::open(db).unwrap();
    c.execute_batch(&format!("PRAGMA foreign_keys=OFF; {sql}")).unwrap();
}

/// What a bounded run of the binary gave.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident size, KiB.
    pub peak_kib: u64,
}

/// `verify ARGS` under a 512 MiB address-space limit and a 120 s timeout.
pub fn bounded(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let rss = dir.path().join("rss");
    let t0 = Instant::now();
    let o = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .args(["prlimit", "--as=536870912", "--", "timeout", "120"])
        .arg(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .output()
        .expect("/usr/bin/time, prlimit and timeout are installed");
    let elapsed = t0.elapsed();
    let text = std::fs::read_to_string(&rss).unwrap();
    let peak_kib = text.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or_else(|| panic!("no peak RSS in {text:?}"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Run { code: o.status.code(), stdout: text(&o.stdout), stderr: text(&o.stderr), elapsed, peak_kib }
}

/// Refused as unusable input, naming `what`, quickly and in little memory.
fn refused(args: &[&str], what: &str) {
    let r = bounded(args);
    assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
    assert!(r.stderr.contains(what), "{args:?}: expected {what:?} in: {}", r.stderr);
    assert!(r.stderr.contains("verify does not run SQL an input database defines"), "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(60), "{args:?} took {:?}", r.elapsed);
    assert!(r.peak_kib < 256 * 1024, "{args:?}: peak RSS {} KiB", r.peak_kib);
}

#[test]
fn replay_refuses_views_virtual_tables_generated_columns_and_triggers() {
    let cases: Vec<(String, &str)> = vec![
        (endless_view("threads", &["thread_id", "title", "created_at", "created_by"]), "messages.db: threads is a view; expected a table"),
        (endless_view("schema_version", &["version", "applied_at"]), "messages.db: schema_version is a view; expected a table"),
        (
            endless_view("sync_checkpoints", &["peer_daemon_id", "last_synced_sequence", "last_sync_timestamp", "sync_status"]),
            "messages.db: sync_checkpoints is a view; expected a table",
        ),
        (
            "DROP TABLE threads; CREATE VIRTUAL TABLE threads USING fts5(thread_id, title, created_at, created_by);".into(),
            "messages.db: threads is a virtual table; expected a table",
        ),
        (
            "DROP TABLE sync_checkpoints; CREATE TABLE sync_checkpoints (peer_daemon_id TEXT PRIMARY KEY, \
             last_synced_sequence INTEGER, last_sync_timestamp INTEGER, sync_status TEXT, \
             spin AS (length(zeroblob(last_synced_sequence * 1000000))));"
                .into(),
            "messages.db: sync_checkpoints.spin is a generated column; expected a stored column",
        ),
        (
            "CREATE TRIGGER t_spin AFTER INSERT ON threads BEGIN SELECT 1; END;".into(),
            "messages.db: trigger t_spin is a trigger; expected tables and indexes only",
        ),
    ];
    for (sql, what) in cases {
        let fx = build();
        rewrite(&fx.thrum().join("var/messages.db"), &sql);
        let root = fx.root.to_str().unwrap();
        refused(&["replay", root, "--no-manifest"], what);
        refused(&["replay", root, "--no-manifest", "--migrated"], what);
    }
}

#[test]
fn migrate_refuses_a_v5_schema_version_view() {
    let fx = build_v5();
    rewrite(&fx.thrum().join("var/messages.db"), &endless_view("schema_version", &["version", "applied_at"]));
    let out = fx.root.parent().unwrap().join("migrated");
    refused(
        &["migrate", fx.root.to_str().unwrap(), "--no-manifest", "--out", out.to_str().unwrap()],
        "messages.db: schema_version is a view; expected a table",
    );
    assert!(!out.exists(), "nothing is written for a refused input");
}

#[test]
fn parquet_db_and_mesh_refuse_them_too() {
    let dir = tempfile::tempdir().unwrap();
    // parquet --db: the checked-in snapshots against a database with a view
    let fx = build();
    let db = fx.thrum().join("var/messages.db");
    rewrite(&db, &endless_view("agents", &["agent_id", "kind", "role", "module", "display", "hostname", "registered_at", "last_seen_at"]));
    let parquet = fixtures().join("parquet");
    refused(&["parquet", parquet.to_str().unwrap(), "--db", db.to_str().unwrap()], "messages.db: agents is a view; expected a table");

    // mesh: daemon-2 expanded, its sync_checkpoints a view
    let mesh = dir.path().join("mesh");
    let src = fixtures().join("mesh");
    for e in walk(&src) {
        let to = mesh.join(e.strip_prefix(&src).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&e, &to).unwrap();
    }
    let d2 = mesh.join("daemon-2");
    verify::input::unpack(&d2.join("thrum-fixture.tar.zst"), &d2, &verify::extract::Limits::default()).unwrap();
    std::fs::remove_file(d2.join("thrum-fixture.tar.zst")).unwrap();
    rewrite(
        &d2.join(".thrum/var/messages.db"),
        &endless_view("sync_checkpoints", &["peer_daemon_id", "last_synced_sequence", "last_sync_timestamp", "sync_status"]),
    );
    refused(&["mesh", mesh.to_str().unwrap(), "--no-manifest"], "daemon-2/.thrum/var/messages.db: sync_checkpoints is a view");
}

/// The files below `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_unmodified_fixtures_still_verify_under_the_same_bounds() {
    // the checks above refuse the hostile objects, not every database
    let fx = build();
    let r = bounded(&["replay", fx.root.to_str().unwrap(), "--no-manifest"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = bounded(&["mesh", fixtures().join("mesh").to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}
