//! The data contract beside the archives: `schema/v13.sql` is the
//! `sqlite_master` SQL of the archived database, listed in SHA256SUMS and
//! in the manifest.

use crate::common::*;
use rusqlite::Connection;
use thrum_gen::Profile;

#[test]
fn v13_sql_is_the_sqlite_master_of_the_archived_database() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate(tmp.path(), 7, Profile::small(), 2);
    let tree = tmp.path().join("tree");
    extract(&out.join(testgen::ARCHIVE), &tree);
    let db = Connection::open(tree.join(".thrum/var/messages.db")).unwrap();
    let rows: Vec<Option<String>> = db
        .prepare("SELECT sql FROM sqlite_master ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // every object, in order, is what the daemon's InitDB creates: type,
    // name, table and statement text byte for byte (the committed facts)
    let master: Vec<serde_json::Value> = db
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
        .unwrap()
        .query_map([], |r| {
            let (t, n, tb, sql): (String, String, String, Option<String>) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            Ok(serde_json::json!({ "type": t, "name": n, "tbl_name": tb, "sql": sql }))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let facts: Vec<serde_json::Value> =
        serde_json::from_str(thrum_schemas::sql::V13_SQLITE_MASTER).unwrap();
    assert_eq!(master.len(), 59);
    for (ours, daemon) in master.iter().zip(&facts) {
        assert_eq!(ours, daemon);
    }
    assert_eq!(master, facts);
    // internal indexes (sqlite_autoindex_*) have no SQL and no statement
    let expected: String = rows.iter().flatten().map(|s| format!("{s};\n")).collect();
    let written = std::fs::read_to_string(out.join(testgen::contract::V13_SQL)).unwrap();
    assert_eq!(written, expected);
    assert!(rows.iter().flatten().count() > 20, "{rows:?}");
    assert!(written.starts_with("CREATE TABLE schema_version ("), "{written}");

    // without SQLite's own sqlite_sequence (created by the first
    // AUTOINCREMENT table), the file builds a database of the same schema
    let own = "CREATE TABLE sqlite_sequence(name,seq);\n";
    assert!(written.contains(own), "{written}");
    let fresh = Connection::open_in_memory().unwrap();
    fresh.execute_batch(&written.replace(own, "")).unwrap();
    let sorted = |c: &Connection| {
        let mut v: Vec<Option<String>> = c
            .prepare("SELECT sql FROM sqlite_master")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&fresh), sorted(&db));

    // listed in SHA256SUMS and in the manifest with its checksum
    let sha = thrum_io::hash::sha256_file(&out.join(testgen::contract::V13_SQL)).unwrap();
    let sums = std::fs::read_to_string(out.join(testgen::SUMS)).unwrap();
    assert!(sums.lines().any(|l| l == format!("{}  schema/v13.sql", sha.0)), "{sums}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(testgen::MANIFEST)).unwrap())
            .unwrap();
    let listed = m["schema"].as_array().unwrap();
    let paths: Vec<&str> = listed.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["schema/DATA-DICTIONARY.md", "schema/events.schema.json", "schema/v13.sql"]);
    assert_eq!(
        listed[2],
        serde_json::json!({ "path": "schema/v13.sql", "sha256": sha.0, "size": sha.1 })
    );
}

#[test]
fn the_data_dictionary_covers_every_column_with_its_parquet_type_and_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate(tmp.path(), 42, Profile::small(), 1);
    let dict = std::fs::read_to_string(out.join(testgen::contract::DICTIONARY)).unwrap();
    let tree = tmp.path().join("tree");
    extract(&out.join(testgen::ARCHIVE), &tree);
    let db = Connection::open(tree.join(".thrum/var/messages.db")).unwrap();
    let tables: Vec<String> = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != \
            'sqlite_sequence' ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tables.len(), 17);
    for t in &tables {
        let start =
            dict.find(&format!("\n## `{t}`\n")).unwrap_or_else(|| panic!("no section for {t}"));
        let section = &dict[start + 1..];
        let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
        let cols: Vec<String> = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(rows.len(), cols.len(), "{t}: {rows:?}");
        for (row, c) in rows.iter().zip(&cols) {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 6, "{row}");
            assert_eq!(cells[0], format!("`{c}`"));
            assert!(cells[2].len() > 3, "{t}.{c} has no meaning: {row}");
            assert!(
                cells[3] == "projected"
                    || cells[3].starts_with("local-only")
                    || cells[3].starts_with("sync log"),
                "{row}"
            );
            assert!(
                cells[4].starts_with("required ") || cells[4].starts_with("optional "),
                "{row}"
            );
        }
    }
    // examples come from the database, in primary-key order
    let first: String = db
        .query_row("SELECT message_id FROM messages ORDER BY message_id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(
        dict.contains(&format!(
            "| `message_id` | TEXT key | Message id (`msg_` + ULID), from \
        `message.create`. | projected | required BYTE_ARRAY (STRING) | `{first}` |"
        )),
        "{dict}"
    );
    assert!(
        dict.contains(
            "| `body_structured` | TEXT | Structured body (JSON text); NULL when none. | \
                projected | optional BYTE_ARRAY (JSON) |"
        ),
        "{dict}"
    );
    assert!(
        dict.contains(
            "| `deleted` | INTEGER DEFAULT 0 | 1 once a `message.delete` applied, else \
            0. | projected | optional BOOLEAN |"
        ),
        "{dict}"
    );
}

/// What `schemas/sql/v13.sql` declares for each column, read from its text:
/// (table, column, `TYPE[ key][ UNIQUE][ NOT NULL][ DEFAULT value]`).
fn declared_in_v13_sql() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for block in thrum_schemas::sql::V13.split("CREATE TABLE ").skip(1) {
        let (table, body) = block.split_once(" (\n").unwrap();
        // the statement ends at its only `);` (the daemon indents it)
        let body = body[..body.find(");").unwrap()].trim_end();
        let lines: Vec<&str> = body.lines().map(|l| l.trim().trim_end_matches(',')).collect();
        let table_key: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("PRIMARY KEY ("))
            .flat_map(|l| l.trim_end_matches(')').split(", "))
            .collect();
        for l in lines
            .iter()
            .filter(|l| !["PRIMARY KEY", "UNIQUE", "FOREIGN KEY"].iter().any(|p| l.starts_with(p)))
        {
            let mut words = l.split_whitespace();
            let (name, ty) = (words.next().unwrap(), words.next().unwrap());
            let rest = words.collect::<Vec<_>>().join(" ");
            let mut cell = ty.to_string();
            if rest.contains("PRIMARY KEY") || table_key.contains(&name) {
                cell.push_str(" key");
            }
            if rest.contains("UNIQUE") {
                cell.push_str(" UNIQUE");
            }
            if rest.contains("NOT NULL") {
                cell.push_str(" NOT NULL");
            }
            if let Some(d) = rest.split("DEFAULT ").nth(1) {
                cell.push_str(&format!(" DEFAULT {d}"));
            }
            out.push((table.to_string(), name.to_string(), cell));
        }
    }
    out
}

#[test]
fn the_data_dictionary_states_each_column_as_v13_sql_declares_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate(tmp.path(), 7, Profile::small(), 1);
    let dict = std::fs::read_to_string(out.join(testgen::contract::DICTIONARY)).unwrap();
    let declared = declared_in_v13_sql();
    assert_eq!(declared.len(), 102);
    let mut table = "";
    let mut rows = Vec::new();
    for line in dict.lines() {
        if let Some(t) = line.strip_prefix("## `") {
            table = t.trim_end_matches('`');
        } else if line.starts_with("| `") {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            rows.push((
                table.to_string(),
                cells[0].trim_matches('`').to_string(),
                cells[1].to_string(),
            ));
        }
    }
    assert_eq!(rows, declared);
    // schema_version has no key in the DDL; a few cells spelled out
    for cell in [
        "| `version` | INTEGER NOT NULL | Schema version applied (13).",
        "| `id` | INTEGER key | AUTOINCREMENT id.",
        "| `name` | TEXT UNIQUE NOT NULL | Group name",
        "| `sequence` | INTEGER UNIQUE NOT NULL |",
        "| `file_changes` | TEXT DEFAULT '[]' |",
        "| `scope_value` | TEXT key NOT NULL | Scope value (e.g. the group's name).",
    ] {
        assert!(dict.contains(cell), "{cell}");
    }
    assert!(!dict.contains("INTEGER key NOT NULL"), "{dict}");
}

/// The event schema as a compiled validator.
fn event_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: serde_json::Value =
        serde_json::from_str(testgen::contract::EVENTS_SCHEMA_JSON).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("urn:thrum:events", schema).unwrap();
    let index = compiler.compile("urn:thrum:events", &mut schemas).unwrap();
    (schemas, index)
}

/// Every line of every JSONL file below `.thrum`; returns how many were checked.
fn validate_tree(
    root: &std::path::Path,
    schemas: &boon::Schemas,
    index: boon::SchemaIndex,
) -> usize {
    let mut files = vec![root.join("events.jsonl")];
    files.extend(std::fs::read_dir(root.join("messages")).unwrap().map(|e| e.unwrap().path()));
    let mut n = 0;
    for f in files {
        for (i, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Err(e) = schemas.validate(&v, index) {
                panic!("{}:{}: {e}", f.display(), i + 1);
            }
            n += 1;
        }
    }
    n
}

#[test]
fn every_jsonl_line_validates_against_the_shipped_event_schema() {
    let (schemas, index) = event_schema();
    let tmp = tempfile::tempdir().unwrap();
    let out = generate(tmp.path(), 42, Profile::small(), 1);
    assert_eq!(
        std::fs::read_to_string(out.join(testgen::contract::EVENTS_SCHEMA)).unwrap(),
        testgen::contract::EVENTS_SCHEMA_JSON
    );
    let tree = tmp.path().join("tree");
    extract(&out.join(testgen::ARCHIVE), &tree);
    let n = validate_tree(&tree.join(".thrum"), &schemas, index);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(testgen::MANIFEST)).unwrap())
            .unwrap();
    let lines: u64 =
        m["counts"]["files"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(n as u64, lines);

    // the checked-in default fixture too
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let tree = tmp.path().join("default");
    extract(&fixtures.join(testgen::ARCHIVE), &tree);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures.join(testgen::MANIFEST)).unwrap()).unwrap();
    let lines: u64 =
        m["counts"]["files"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(validate_tree(&tree.join(".thrum"), &schemas, index) as u64, lines);
    // and a daemon of the checked-in mesh (remote origins, the conflicts' events)
    for k in 1..=3 {
        let tree = tmp.path().join(format!("mesh-{k}"));
        extract(&fixtures.join(format!("mesh/daemon-{k}")).join(testgen::ARCHIVE), &tree);
        let m: serde_json::Value = serde_json::from_slice(
            &std::fs::read(fixtures.join(format!("mesh/daemon-{k}/manifest.json"))).unwrap(),
        )
        .unwrap();
        let lines: u64 =
            m["counts"]["files"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(
            validate_tree(&tree.join(".thrum"), &schemas, index) as u64,
            lines,
            "daemon {k}: every line validated"
        );
    }

    // and it does reject: a wrong envelope, a payload without a required key
    let good: serde_json::Value = serde_json::from_str(concat!(
        r#"{"event_id":"evt_01KJPNJEXRSKQHYVF9V0JSP12P","#,
        r#""message_id":"msg_01KJPNJEXRSKZP4G4JNNZE2XB7","origin_daemon":"d_hbev0wjtjpge","#,
        r#""sequence":3,"timestamp":"2026-03-02T07:00:32.312819Z","type":"message.delete","v":1}"#
    ))
    .unwrap();
    assert!(schemas.validate(&good, index).is_ok());
    for (key, value) in [
        ("v", serde_json::json!(2)),
        ("event_id", serde_json::json!("evt_x")),
        ("sequence", serde_json::json!(0)),
    ] {
        let mut bad = good.clone();
        bad[key] = value;
        assert!(schemas.validate(&bad, index).is_err(), "{bad}");
    }
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("message_id");
    assert!(schemas.validate(&bad, index).is_err(), "{bad}");
}
