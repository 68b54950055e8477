use super::*;

fn db_with(sql: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.db");
    let c = Connection::open(&p).unwrap();
    c.execute_batch("CREATE TABLE threads (thread_id TEXT PRIMARY KEY, title TEXT);").unwrap();
    c.execute_batch(sql).unwrap();
    drop(c);
    (dir, p)
}

/// The refusal of a database built with `sql`, opened read-only and
/// read-write: the same error both ways.
fn refused(sql: &str) -> String {
    let (_d, p) = db_with(sql);
    let ro = match open(&p, false, Path::new("in.db"), budget_for(0), &Spent::default()) {
        Err(e @ UntrustedError::Unsafe { .. }) => e,
        other => panic!("not refused as unsafe: {:?}", other.map(|_| ())),
    };
    assert!(ro.is_input_error());
    let before = std::fs::read(&p).unwrap();
    let rw = open_writable(&p, Path::new("in.db"), budget_for(0), &Spent::default())
        .map(|_| ())
        .unwrap_err();
    assert_eq!(rw.to_string(), ro.to_string());
    assert_eq!(std::fs::read(&p).unwrap(), before, "nothing written");
    ro.to_string()
}

#[test]
fn objects_that_run_sql_are_refused_by_name() {
    let view = "CREATE VIEW sync_checkpoints AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT \
        x+1 FROM c) SELECT x FROM c;";
    assert_eq!(
        refused(view),
        "in.db: sync_checkpoints is a view; expected a table (SQL an input \
        database defines is not run)"
    );
    assert!(refused("CREATE VIRTUAL TABLE agents USING fts5(name);")
        .starts_with("in.db: agents is a virtual table; expected a table"));
    let gen = "CREATE TABLE groups (group_id TEXT, n AS (length(group_id) * 2));";
    assert!(
        refused(gen).starts_with("in.db: groups.n is a generated column; expected a stored column")
    );
    let trig = "CREATE TRIGGER t_ins AFTER INSERT ON threads BEGIN SELECT 1; END;";
    assert!(refused(trig)
        .starts_with("in.db: trigger t_ins is a trigger; expected tables and indexes only"));
    assert!(is_virtual(Some("  create\n virtual\ttable x USING fts5(a)")));
    assert!(!is_virtual(Some("CREATE TABLE virtual (a)")));
}

#[test]
fn names_from_the_database_are_escaped_in_the_refusal() {
    let msg = refused("CREATE VIEW \"v\nresult: CONSISTENT\" AS SELECT 1;");
    assert_eq!(
        msg,
        "in.db: v\\nresult: CONSISTENT is a view; expected a table (SQL an input \
        database defines is not run)"
    );
}

/// The settings every connection to an input gets.
fn assert_hardened(c: &Connection) {
    assert!(c.db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE).unwrap());
    assert!(!c.db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA).unwrap());
    assert!(!c.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW).unwrap());
    assert!(!c.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER).unwrap());
    let trusted: i64 = c.query_row("PRAGMA trusted_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(trusted, 0);
    // SQLite's heap bounded, for the whole process
    let heap: i64 = c.query_row("PRAGMA hard_heap_limit", [], |r| r.get(0)).unwrap();
    assert_eq!(heap, HEAP_LIMIT);
}

#[test]
fn plain_tables_and_indexes_open() {
    let (_d, p) =
        db_with("CREATE INDEX idx_t ON threads(title); INSERT INTO threads VALUES ('t1', 'x');");
    let c = open(&p, false, Path::new("in.db"), budget_for(0), &Spent::default()).unwrap();
    let n: i64 = c.query_row("SELECT count(*) FROM threads", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
    // read-only: nothing is written
    assert!(c.execute("INSERT INTO threads VALUES ('t2', 'y')", []).is_err());
    assert_hardened(&c);
    // the same through an immutable file: URI
    let uri = crate::uri::immutable(&p).unwrap();
    let c = open(uri, true, Path::new("in.db"), budget_for(0), &Spent::default()).unwrap();
    assert_hardened(&c);
}

#[test]
fn a_writable_copy_is_hardened_and_changes_stay_in_it() {
    let (_d, p) = db_with("INSERT INTO threads VALUES ('t1', 'x');");
    let c = open_writable(&p, Path::new("copy.db"), budget_for(0), &Spent::default()).unwrap();
    assert_hardened(&c);
    c.execute("UPDATE threads SET title = 'y' WHERE thread_id = 't1'", []).unwrap();
    drop(c);
    let c = Connection::open(&p).unwrap();
    let title: String = c.query_row("SELECT title FROM threads", [], |r| r.get(0)).unwrap();
    assert_eq!(title, "y");
    // never created: a missing copy is an error, and stays missing
    let missing = p.with_file_name("missing.db");
    let e = open_writable(&missing, Path::new("missing.db"), budget_for(0), &Spent::default())
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, UntrustedError::Sqlite { .. }) && !e.is_input_error(), "{e}");
    assert!(!missing.exists());
}

#[test]
fn a_file_that_is_not_a_database_is_input_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.db");
    std::fs::write(&p, vec![b'x'; 4096]).unwrap();
    let e = open(&p, false, Path::new("junk.db"), budget_for(0), &Spent::default())
        .map(|_| ())
        .unwrap_err();
    assert!(e.to_string().starts_with("junk.db: expected a SQLite database: "), "{e}");
    assert!(e.is_input_error(), "{e}");
}

#[test]
fn work_beyond_the_budget_is_interrupted_and_flagged() {
    let (_d, p) = db_with("");
    let spent = Spent::default();
    let c = open(&p, false, Path::new("in.db"), 1_000_000, &spent).unwrap();
    assert!(!spent.exceeded());
    spent.settle(Path::new("in.db"), 1_000_000).unwrap();
    let endless =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";
    let e = c.query_row(endless, [], |r| r.get::<_, i64>(0)).unwrap_err();
    assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::OperationInterrupted), "{e}");
    assert!(spent.exceeded());
    let e = spent.settle(Path::new("in.db"), 1_000_000).unwrap_err();
    assert!(e.is_input_error());
    let msg = e.to_string();
    assert!(
        msg.starts_with("in.db: reading it took more than 1000000 SQLite instructions"),
        "{msg}"
    );
}

#[test]
fn the_budget_grows_with_the_file() {
    assert_eq!(budget_for(0), MIN_BUDGET);
    assert_eq!(budget_for(10), MIN_BUDGET + 10 * BUDGET_PER_BYTE);
    assert_eq!(budget_for(u64::MAX), u64::MAX);
    let (_d, p) = db_with("");
    let db = std::fs::metadata(&p).unwrap().len();
    assert_eq!(file_bytes(&p), db);
    std::fs::write(crate::uri::wal_path(&p), [0u8; 100]).unwrap();
    assert_eq!(file_bytes(&p), db + 100);
}
