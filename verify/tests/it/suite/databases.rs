//! An input database is untrusted code: a table replaced by a view (an
//! endless recursive one included), a virtual table, a table with a
//! generated column, or a trigger is refused (exit 2, naming it, saying
//! that verify does not run such SQL) before it is queried, in bounded time
//! and memory, by every command that reads the database: replay (and
//! `--migrated`), parquet `--db`, migrate, mesh, testgen corrupt. The same
//! commands accept the good inputs under the same bounds.

use super::base::{base, copy};
use super::lab::{step, Bin, Expect, Lab, Row};
use crate::checked_in_copy::fixtures;
use std::path::Path;
use std::process::Command;

const CLASS: &str = "untrusted database";

/// An endless row source: 1, 2, 3, ...
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)";

fn sql(db: &Path, script: &str) {
    let o = Command::new("sqlite3")
        .arg(db)
        .arg(script)
        .output()
        .expect("sqlite3 is on the machine and in CI");
    assert!(o.status.success(), "sqlite3 {script}: {}", String::from_utf8_lossy(&o.stderr));
}

/// SQL that replaces TABLE by an endless view with the same column names.
fn endless_view(db: &Path, table: &str) -> String {
    let o = Command::new("sqlite3")
        .arg(db)
        .arg(format!(
            "SELECT group_concat('x AS ' || name, ', ') FROM pragma_table_info('{table}')"
        ))
        .output()
        .unwrap();
    let cols = String::from_utf8(o.stdout).unwrap();
    assert!(!cols.trim().is_empty(), "{table} has columns");
    format!(
        "PRAGMA foreign_keys=OFF; DROP TABLE {table}; CREATE VIEW {table} AS {ENDLESS} SELECT \
        {} FROM c;",
        cols.trim()
    )
}

/// What verify says of every refused database.
const NO_SQL: &str = "verify does not run SQL an input database defines";

/// (case, table named in the refusal, the refusal, SQL building it from a good database).
fn poisons(db: &Path) -> Vec<(&'static str, &'static str, &'static str, String)> {
    let cross = endless_view(db, "messages")
        .replace(&format!("{ENDLESS} "), "")
        .replace("FROM c", "FROM events a, events b, events c, events d");
    vec![
        (
            "threads is an endless recursive view",
            "threads",
            "threads is a view; expected a table",
            endless_view(db, "threads"),
        ),
        (
            "schema_version is an endless recursive view",
            "schema_version",
            "schema_version is a view; expected a table",
            endless_view(db, "schema_version"),
        ),
        (
            "sync_checkpoints is an endless recursive view",
            "sync_checkpoints",
            "sync_checkpoints is a view; expected a table",
            endless_view(db, "sync_checkpoints"),
        ),
        (
            "agents is an endless recursive view",
            "agents",
            "agents is a view; expected a table",
            endless_view(db, "agents"),
        ),
        (
            "messages is a view of a cross join",
            "messages",
            "messages is a view; expected a table",
            cross.replace("x AS", "a.sequence AS"),
        ),
        (
            "sync_checkpoints is a virtual table",
            "sync_checkpoints",
            "sync_checkpoints is a virtual table; expected a table",
            "DROP TABLE sync_checkpoints; CREATE VIRTUAL TABLE sync_checkpoints USING \
                fts5(peer_daemon_id, last_synced_sequence, last_sync_timestamp, sync_status);"
                .into(),
        ),
        (
            "threads is a virtual table",
            "threads",
            "threads is a virtual table; expected a table",
            "DROP TABLE threads; CREATE VIRTUAL TABLE threads USING fts5(thread_id, title, \
                created_at, created_by);"
                .into(),
        ),
        (
            "agents has a generated column",
            "agents",
            "agents.g is a generated column; expected a stored column",
            "ALTER TABLE agents ADD COLUMN g BLOB GENERATED ALWAYS AS (zeroblob(1000000000)) \
                VIRTUAL;"
                .into(),
        ),
        (
            "sync_checkpoints has a generated column",
            "sync_checkpoints",
            "sync_checkpoints.spin is a generated column; expected a stored column",
            "ALTER TABLE sync_checkpoints ADD COLUMN spin BLOB GENERATED ALWAYS AS \
             (zeroblob(last_synced_sequence * 1000000)) VIRTUAL;"
                .into(),
        ),
        (
            "a trigger on threads",
            "t_spin",
            "trigger t_spin is a trigger; expected tables and indexes only",
            "CREATE TRIGGER t_spin AFTER INSERT ON threads BEGIN SELECT 1; END;".into(),
        ),
    ]
}

#[test]
fn untrusted_databases_are_refused_before_they_are_queried() {
    let mut all: Vec<Result<Row, String>> = Vec::new();
    let probe = tempfile::tempdir().unwrap();
    let probe_db = probe.path().join("m.db");
    std::fs::copy(base().tree.join(".thrum/var/messages.db"), &probe_db).unwrap();
    for (case, table, refusal, script) in poisons(&probe_db) {
        let lab = Lab::new();
        copy(&base().tree, &lab.at("t"));
        copy(&base().v13, &lab.at("o"));
        let db = lab.at("t/.thrum/var/messages.db");
        sql(&db, &script);
        let says = [format!("messages.db: {refusal}"), NO_SQL.to_string()];
        let says: Vec<&str> = says.iter().map(String::as_str).collect();
        let refused = |says| Expect { code: 2, says, dest: None };
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["replay", "t"], refused(&says)));
        all.push(step(
            &lab,
            CLASS,
            case,
            Bin::Verify,
            &args!["replay", "t", "--no-manifest", "--migrated"],
            refused(&says),
        ));
        all.push(step(
            &lab,
            CLASS,
            case,
            Bin::Verify,
            &args!["parquet", "o", "--db", &db],
            refused(&says),
        ));
        let corrupt = args!["corrupt", "--fault", "altered-cell", "--in", "t", "--out", "c"];
        all.push(step(&lab, CLASS, case, Bin::Testgen, &corrupt, refused(&[table])));
    }
    // the v5 era: migrate reads schema_version first
    let lab = Lab::new();
    let o = Command::new(Bin::Verify.path())
        .arg("extract")
        .arg(base().v5.join("thrum-fixture-v5.tar.zst"))
        .arg(lab.at("t5"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = lab.at("t5/.thrum/var/messages.db");
    sql(&db, &endless_view(&db, "schema_version"));
    let want = Expect {
        code: 2,
        says: &["messages.db: schema_version is a view; expected a table", NO_SQL],
        dest: None,
    };
    all.push(step(
        &lab,
        CLASS,
        "v5 schema_version is an endless recursive view",
        Bin::Verify,
        &args!["migrate", "t5", "--out", "m"],
        want,
    ));
    mesh(&mut all);
    super::finish(CLASS, all);
}

/// A mesh whose daemon-2 database has an endless view is refused; the good
/// mesh and the good tree verify under the same bounds.
fn mesh(all: &mut Vec<Result<Row, String>>) {
    let lab = Lab::new();
    copy(&fixtures().join("mesh"), &lab.at("mesh"));
    let d2 = lab.at("mesh/daemon-2");
    let o = Command::new(Bin::Verify.path())
        .arg("extract")
        .arg(d2.join("thrum-fixture.tar.zst"))
        .arg(d2.join("x"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::rename(d2.join("x/.thrum"), d2.join(".thrum")).unwrap();
    std::fs::remove_dir(d2.join("x")).unwrap();
    std::fs::remove_file(d2.join("thrum-fixture.tar.zst")).unwrap();
    let db = d2.join(".thrum/var/messages.db");
    sql(&db, &endless_view(&db, "sync_checkpoints"));
    let says =
        ["daemon-2/.thrum/var/messages.db: sync_checkpoints is a view; expected a table", NO_SQL];
    let want = Expect { code: 2, says: &says, dest: None };
    all.push(step(
        &lab,
        CLASS,
        "daemon-2's sync_checkpoints is an endless view",
        Bin::Verify,
        &args!["mesh", "mesh", "--no-manifest"],
        want,
    ));

    // the checks refuse the hostile objects, not every database
    let lab = Lab::new();
    copy(&fixtures().join("mesh"), &lab.at("mesh"));
    copy(&base().tree, &lab.at("t"));
    let ok = || Expect { code: 0, says: &[], dest: None };
    all.push(step(&lab, CLASS, "the good mesh", Bin::Verify, &args!["mesh", "mesh"], ok()));
    all.push(step(
        &lab,
        CLASS,
        "the good tree",
        Bin::Verify,
        &args!["replay", "t", "--no-manifest"],
        ok(),
    ));
}
