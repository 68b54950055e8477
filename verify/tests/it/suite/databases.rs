//! An input database is untrusted code: a table replaced by a view (an
//! endless recursive one included), a virtual table, or a table with a
//! generated column is refused (exit 2, naming it) before it is queried,
//! in bounded time and memory, by every command that reads the database.

use super::base::{base, copy};
use super::lab::{step, Bin, Expect, Lab, Row};
use std::path::Path;
use std::process::Command;

const CLASS: &str = "untrusted database";

/// An endless row source: 1, 2, 3, ...
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)";

fn sql(db: &Path, script: &str) {
    let o = Command::new("sqlite3").arg(db).arg(script).output().expect("sqlite3 is on the machine and in CI");
    assert!(o.status.success(), "sqlite3 {script}: {}", String::from_utf8_lossy(&o.stderr));
}

/// SQL that replaces TABLE by an endless view with the same column names.
fn endless_view(db: &Path, table: &str) -> String {
    let o = Command::new("sqlite3")
        .arg(db)
        .arg(format!("SELECT group_concat('x AS ' || name, ', ') FROM pragma_table_info('{table}')"))
        .output()
        .unwrap();
    let cols = String::from_utf8(o.stdout).unwrap();
    assert!(!cols.trim().is_empty(), "{table} has columns");
    format!("PRAGMA foreign_keys=OFF; DROP TABLE {table}; CREATE VIEW {table} AS {ENDLESS} SELECT {} FROM c;", cols.trim())
}

/// (case, table named in the refusal, SQL building it from a good database).
fn poisons(db: &Path) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("threads is an endless recursive view", "threads", endless_view(db, "threads")),
        ("schema_version is an endless recursive view", "schema_version", endless_view(db, "schema_version")),
        ("sync_checkpoints is an endless recursive view", "sync_checkpoints", endless_view(db, "sync_checkpoints")),
        ("messages is a view of a cross join", "messages", {
            let v = endless_view(db, "messages");
            v.replace(&format!("{ENDLESS} "), "").replace("FROM c", "FROM events a, events b, events c, events d")
                .replace("x AS", "a.sequence AS")
        }),
        ("sync_checkpoints is a virtual table", "sync_checkpoints", "DROP TABLE sync_checkpoints; CREATE VIRTUAL TABLE sync_checkpoints USING fts5(peer_daemon_id, last_synced_sequence, last_sync_timestamp, sync_status);".into()),
        ("agents has a generated column", "agents", "ALTER TABLE agents ADD COLUMN g BLOB GENERATED ALWAYS AS (zeroblob(1000000000)) VIRTUAL;".into()),
    ]
}

#[test]
fn untrusted_databases_are_refused_before_they_are_queried() {
    let mut all: Vec<Result<Row, String>> = Vec::new();
    let probe = tempfile::tempdir().unwrap();
    let probe_db = probe.path().join("m.db");
    std::fs::copy(base().tree.join(".thrum/var/messages.db"), &probe_db).unwrap();
    for (case, table, script) in poisons(&probe_db) {
        let lab = Lab::new();
        copy(&base().tree, &lab.at("t"));
        copy(&base().v13, &lab.at("o"));
        let db = lab.at("t/.thrum/var/messages.db");
        sql(&db, &script);
        let says = [table];
        let refused = || Expect { code: 2, says: &says, dest: None };
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["replay", "t"], refused()));
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["parquet", "o", "--db", &db], refused()));
        all.push(step(&lab, CLASS, case, Bin::Testgen, &args!["corrupt", "--fault", "altered-cell", "--in", "t", "--out", "c"], refused()));
    }
    // the v5 era: migrate reads schema_version first
    let lab = Lab::new();
    let o =
        Command::new(Bin::Verify.path()).arg("extract").arg(base().v5.join("thrum-fixture-v5.tar.zst")).arg(lab.at("t5")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = lab.at("t5/.thrum/var/messages.db");
    sql(&db, &endless_view(&db, "schema_version"));
    let want = Expect { code: 2, says: &["schema_version"], dest: None };
    all.push(step(&lab, CLASS, "v5 schema_version is an endless recursive view", Bin::Verify, &args!["migrate", "t5", "--out", "m"], want));
    super::finish(CLASS, all);
}
