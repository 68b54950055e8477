//! Parquet vs SQLite, both fed the same plan: `check` finds no difference,
//! then finds exactly the ones we introduce.

use crate::common;

use rusqlite::Connection;
use std::borrow::Cow;
use thrum_parquet::check::{self, DiffKind};
use thrum_parquet::ParquetOptions;
use thrum_schemas::catalogue::{Cell, Table, TABLES};

/// Humans have not sent a heartbeat yet: `agents.last_seen_at = ''` (the
/// listed exception, stored as null in Parquet).
fn no_heartbeat_for_humans(t: &'static Table, row: &mut [Cell<'static>]) {
    if t.name == "agents" && row[1] == Cell::text("human") {
        row[7] = Cell::Text(Cow::Borrowed(""));
    }
}

#[test]
fn check_is_clean_then_reports_exactly_the_tampering() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("parquet");
    let db = tmp.path().join("messages.db");
    // Small row groups so that several row groups and batches are crossed.
    let files = common::write_both(
        &plan,
        &pq,
        &db,
        ParquetOptions { row_group_rows: 128, ..Default::default() },
        Some(no_heartbeat_for_humans),
    );

    let conn = Connection::open(&db).unwrap();
    let empty_last_seen: i64 = conn
        .query_row("SELECT count(*) FROM agents WHERE last_seen_at = ''", [], |r| r.get(0))
        .unwrap();
    assert_eq!(empty_last_seen, plan.profile.humans as i64);

    let report = check::check(&pq, &db).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.tables.len(), TABLES.len());
    for t in &report.tables {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{}\"", t.table), [], |r| r.get(0))
            .unwrap();
        assert_eq!(t.sqlite_rows, n as u64, "{}", t.table);
        assert_eq!(t.parquet_rows, t.sqlite_rows, "{}", t.table);
        assert_eq!(
            files.iter().filter(|f| f.table == t.table).map(|f| f.rows).sum::<u64>(),
            t.parquet_rows
        );
        // `threads` is empty in every fixture (a v13 daemon no longer writes
        // thread.create); every other table must have rows to prove anything
        assert!(
            t.sqlite_rows > 0 || t.table == "threads",
            "{} is empty: the round trip would prove little",
            t.table
        );
    }

    // Tamper: one value of one message, one message_refs row deleted.
    let victim: String = conn
        .query_row(
            "SELECT message_id FROM messages ORDER BY message_id LIMIT 1 OFFSET 300",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE messages SET body_content = body_content || ' (edited)' WHERE message_id = ?1",
        [&victim],
    )
    .unwrap();
    let (rm, rt, rv): (String, String, String) = conn
        .query_row(
            "SELECT message_id, ref_type, ref_value FROM message_refs ORDER BY message_id, \
                ref_type, ref_value LIMIT 1 OFFSET 17",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    conn.execute(
        "DELETE FROM message_refs WHERE message_id = ?1 AND ref_type = ?2 AND ref_value = ?3",
        [&rm, &rt, &rv],
    )
    .unwrap();
    // And a timestamp that is the same instant written differently: the
    // mapping is exact, so this is a difference too.
    let agent: String = conn
        .query_row(
            "SELECT agent_id FROM agents WHERE kind = 'human' ORDER BY agent_id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE agents SET last_seen_at = '2026-03-02T06:00:00.000000Z' WHERE agent_id = ?1",
        [&agent],
    )
    .unwrap();

    let report = check::check(&pq, &db).unwrap();
    assert!(!report.is_clean());
    let dirty: Vec<&str> =
        report.tables.iter().filter(|t| !t.is_clean()).map(|t| t.table).collect();
    assert_eq!(dirty, ["messages", "message_refs", "agents"], "{report}");

    let m = report.table("messages").unwrap();
    assert_eq!((m.differing, m.missing, m.extra, m.misplaced, m.unsorted), (1, 0, 0, 0, 0));
    assert_eq!(m.differences.len(), 1);
    let d = &m.differences[0];
    assert_eq!(d.kind, DiffKind::Differs);
    assert_eq!(d.key, format!("message_id={victim:?}"));
    assert_eq!(d.column, Some("body_content"));
    assert!(d.sqlite.as_deref().unwrap().ends_with(" (edited)\""), "{d}");

    let r = report.table("message_refs").unwrap();
    assert_eq!((r.differing, r.missing, r.extra), (0, 0, 1));
    assert_eq!(r.parquet_rows, r.sqlite_rows + 1);
    assert_eq!(r.differences.len(), 1);
    assert_eq!(r.differences[0].kind, DiffKind::Extra);
    assert_eq!(
        r.differences[0].key,
        format!("message_id={rm:?}, ref_type={rt:?}, ref_value={rv:?}")
    );

    let a = report.table("agents").unwrap();
    assert_eq!((a.differing, a.missing, a.extra), (1, 0, 0));
    assert_eq!(a.differences[0].column, Some("last_seen_at"));
    assert_eq!(a.differences[0].parquet.as_deref(), Some("\"\""));
    assert_eq!(a.differences[0].key, format!("agent_id={agent:?}"));
}

#[test]
fn check_reports_layout_problems() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("parquet");
    let db = tmp.path().join("messages.db");
    let files = common::write_both(&plan, &pq, &db, ParquetOptions::default(), None);

    // Move the last messages partition to a later day: its rows are now
    // under the wrong `date=`.
    let last = files.iter().rfind(|f| f.table == "messages").unwrap();
    let part_dir = pq.join(last.rel_path.rsplit_once('/').unwrap().0);
    std::fs::rename(&part_dir, pq.join("messages/date=2099-01-01")).unwrap();
    // A stray file and an unknown dataset.
    std::fs::write(pq.join("agents/notes.txt"), "x").unwrap();
    std::fs::create_dir(pq.join("no_such_table")).unwrap();
    // A dataset missing altogether.
    std::fs::remove_dir_all(pq.join("sync_checkpoints")).unwrap();

    let report = check::check(&pq, &db).unwrap();
    let m = report.table("messages").unwrap();
    assert_eq!(m.misplaced, last.rows);
    assert_eq!((m.missing, m.extra, m.differing, m.unsorted), (0, 0, 0, 0));
    assert_eq!(m.differences[0].kind, DiffKind::Misplaced);
    assert_eq!(m.differences[0].parquet.as_deref(), Some("date=2099-01-01"));
    let a = report.table("agents").unwrap();
    assert_eq!(a.problems, ["unexpected file agents/notes.txt"]);
    assert_eq!(report.unexpected, ["no_such_table"]);
    let s = report.table("sync_checkpoints").unwrap();
    assert_eq!(s.parquet_rows, 0);
    assert_eq!(s.missing, s.sqlite_rows);
    assert!(s.problems[0].contains("no dataset directory"));
    assert_eq!(report.tables.iter().filter(|t| !t.is_clean()).count(), 3, "{report}");
}

/// Slices written by separate sinks with their own part numbers, moved into
/// one tree, form the whole dataset.
#[test]
fn slices_with_part_numbers_merge_into_the_whole_dataset() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("messages.db");
    common::write_both(&plan, &tmp.path().join("whole"), &db, ParquetOptions::default(), None);
    let merged = tmp.path().join("merged");
    let n = 3;
    let (mut names, mut all) = (Vec::new(), Vec::new());
    for i in 0..n {
        let dir = tmp.path().join(format!("slice{i}"));
        let mut sink = thrum_parquet::ParquetSink::create(
            &dir,
            ParquetOptions { part: i as u32, ..Default::default() },
        )
        .unwrap();
        common::each_row_of_slice(&plan, i, n, |t, row| sink.push(t, row)).unwrap();
        for f in sink.finish().unwrap() {
            assert!(f.rel_path.ends_with(&format!("part-0000{i}.parquet")), "{}", f.rel_path);
            let dest = merged.join(&f.rel_path);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::rename(dir.join(&f.rel_path), &dest).unwrap();
            names.push(f.rel_path.clone());
            all.push(f);
        }
    }
    // Some day is split between two slices: two parts in one partition.
    let msg_parts: Vec<&String> = names.iter().filter(|p| p.starts_with("messages/")).collect();
    let days: std::collections::BTreeSet<&str> =
        msg_parts.iter().map(|p| p.split('/').nth(1).unwrap()).collect();
    assert!(msg_parts.len() > days.len(), "{msg_parts:?}");
    // Slices 1 and 2 wrote no empty datasets for the small tables.
    assert_eq!(names.iter().filter(|p| p.starts_with("agents/")).count(), 1);
    thrum_parquet::delta::write_logs(&merged, &all, common::log_params(&plan)).unwrap();
    let report = check::check(&merged, &db).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.table("messages").unwrap().parquet_rows, plan.profile.messages);
    assert_eq!(report.table("events").unwrap().parquet_rows, plan.total_events());
}

/// The database `check` compares with is untrusted input: a table replaced
/// by an endless recursive view is refused, named, before any query, and
/// nothing is written beside the database.
#[test]
fn check_refuses_a_database_that_runs_sql_of_its_own() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("parquet");
    let db = tmp.path().join("messages.db");
    common::write_both(&plan, &pq, &db, ParquetOptions::default(), Some(no_heartbeat_for_humans));
    let conn = Connection::open(&db).unwrap();
    let cols: Vec<String> = {
        let mut st = conn.prepare("SELECT name FROM pragma_table_info('agents')").unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|n| format!("x AS {}", n.unwrap()))
            .collect()
    };
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys=OFF; DROP TABLE agents; \
         CREATE VIEW agents AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) \
         SELECT {} FROM c;",
        cols.join(", ")
    ))
    .unwrap();
    drop(conn);
    let before: Vec<_> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    let bytes = std::fs::read(&db).unwrap();
    let e = check::check(&pq, &db).unwrap_err();
    use thrum_io::untrusted::UntrustedError;
    assert!(
        matches!(
            &e,
            thrum_parquet::Error::Untrusted(UntrustedError::Unsafe { object, .. })
                if object == "agents"
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: agents is a view; expected a table (SQL an input database defines is not run)",
            db.display()
        )
    );
    let after: Vec<_> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!((after, std::fs::read(&db).unwrap()), (before, bytes), "nothing written");
}
