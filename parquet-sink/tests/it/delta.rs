//! The Delta log of every dataset: what it says of each file is what the
//! rows hold (counted here from the plan, not from the sink), and the check
//! finds exactly the log problems we introduce.

use crate::common;
use serde_json::Value;
use std::collections::BTreeMap;
use thrum_parquet::check;
use thrum_parquet::delta::check::DeltaKind;
use thrum_parquet::ParquetOptions;
use thrum_schemas::catalogue::{Cell, MESSAGES, TABLES};

fn log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of an RFC 3339 text, its fraction cut (`up`:
/// rounded up) to milliseconds.
fn ms(text: &str, up: bool) -> String {
    let us = thrum_schemas::time::parse_rfc3339(text).unwrap();
    let ms = us.div_euclid(1000) + i64::from(up && us % 1000 != 0);
    let secs = thrum_schemas::time::rfc3339_seconds(ms.div_euclid(1000) * 1_000_000);
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), ms.rem_euclid(1000))
}

#[test]
fn each_add_holds_the_rows_of_its_file() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("parquet");
    let files =
        common::write_both(&plan, &pq, &tmp.path().join("db"), ParquetOptions::default(), None);
    // messages by day, from the plan's rows
    let mut days: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    common::each_row(&plan, |t, row| -> Result<(), ()> {
        if t.name == "messages" {
            let (Cell::Text(id), Cell::Text(at)) =
                (&row[0], &row[MESSAGES.column_index("created_at").unwrap()])
            else {
                panic!()
            };
            days.entry(at[..10].to_string()).or_default().push((id.to_string(), at.to_string()));
        }
        Ok(())
    })
    .unwrap();
    let lines = log_lines(&pq.join("messages/_delta_log/00000000000000000000.json"));
    assert_eq!(
        lines[1],
        serde_json::json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}})
    );
    let meta = &lines[2]["metaData"];
    assert_eq!(meta["name"], "messages");
    assert_eq!(meta["partitionColumns"], serde_json::json!(["date"]));
    assert_eq!(meta["createdTime"], plan.snapshot / 1000);
    let schema: Value = serde_json::from_str(meta["schemaString"].as_str().unwrap()).unwrap();
    let fields: Vec<(String, String, bool)> = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                f["type"].as_str().unwrap().into(),
                f["nullable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(fields[0], ("message_id".into(), "string".into(), false));
    assert!(fields.contains(&("created_at".into(), "timestamp".into(), false)), "{fields:?}");
    assert!(fields.contains(&("deleted".into(), "boolean".into(), true)), "{fields:?}");
    assert_eq!(fields.last().unwrap(), &("date".into(), "date".into(), true));
    let adds: Vec<&Value> = lines[3..].iter().map(|l| &l["add"]).collect();
    assert_eq!(adds.len(), days.len());
    for (add, (day, rows)) in adds.iter().zip(&days) {
        assert_eq!(add["path"], format!("date={day}/part-00000.parquet"));
        assert_eq!(add["partitionValues"], serde_json::json!({ "date": day }));
        let written = files
            .iter()
            .find(|f| f.rel_path == format!("messages/{}", add["path"].as_str().unwrap()))
            .unwrap();
        assert_eq!(add["size"], std::fs::metadata(pq.join(&written.rel_path)).unwrap().len());
        assert_eq!(add["dataChange"], true);
        let stats: Value = serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
        assert_eq!(stats["numRecords"], rows.len());
        let min_id = rows.iter().map(|r| &r.0).min().unwrap();
        let max_id = rows.iter().map(|r| &r.0).max().unwrap();
        assert_eq!(
            (&stats["minValues"]["message_id"], &stats["maxValues"]["message_id"]),
            (&Value::from(&**min_id), &Value::from(&**max_id))
        );
        let first = rows.iter().map(|r| &r.1).min().unwrap();
        let last = rows.iter().map(|r| &r.1).max().unwrap();
        assert_eq!(stats["minValues"]["created_at"], ms(first, false));
        assert_eq!(stats["maxValues"]["created_at"], ms(last, true));
        assert_eq!(stats["nullCount"]["message_id"], 0);
        // booleans have no bounds; every column has its null count
        assert!(stats["minValues"].get("deleted").is_none());
        assert_eq!(stats["nullCount"].as_object().unwrap().len(), MESSAGES.columns.len());
    }
    // every table has its log, an empty one too
    for t in TABLES {
        assert!(
            pq.join(t.name).join("_delta_log/00000000000000000000.json").is_file(),
            "{}",
            t.name
        );
    }
}

#[test]
fn check_finds_each_log_problem_and_no_other() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let pq = tmp.path().join("parquet");
    let db = tmp.path().join("db");
    common::write_both(&plan, &pq, &db, ParquetOptions::default(), None);
    assert!(check::check(&pq, &db).unwrap().is_clean());

    let log = |t: &str| pq.join(t).join("_delta_log/00000000000000000000.json");
    // agents: the add's size and numRecords changed
    let text = std::fs::read_to_string(log("agents")).unwrap();
    let size = std::fs::metadata(pq.join("agents/part-00000.parquet")).unwrap().len();
    let text = text
        .replace(&format!("\"size\":{size},"), &format!("\"size\":{},", size + 1))
        .replace("numRecords\\\":", "numRecords\\\":1");
    std::fs::write(log("agents"), text).unwrap();
    // groups: no log at all
    std::fs::remove_file(log("groups")).unwrap();
    // messages: the last add dropped, an add of no file
    let text = std::fs::read_to_string(log("messages")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let dropped = lines.pop().unwrap().to_string();
    let ghost = dropped.replace("part-00000.parquet", "part-00009.parquet");
    lines.push(&ghost);
    std::fs::write(log("messages"), lines.join("\n") + "\n").unwrap();

    let report = check::check(&pq, &db).unwrap();
    let delta = |t: &str| {
        let r = report.table(t).unwrap();
        assert_eq!(r.delta_problems as usize, r.delta.len());
        r.delta.iter().map(|p| (p.kind, p.text.clone())).collect::<Vec<_>>()
    };
    let a = delta("agents");
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(
        a[0],
        (
            DeltaKind::Differs,
            format!(
                "agents/part-00000.parquet: the log says {} bytes, the file has {size}",
                size + 1
            )
        )
    );
    assert!(a[1].1.starts_with("agents/part-00000.parquet: stats \""), "{a:?}");
    assert_eq!(
        delta("groups"),
        [(
            DeltaKind::Missing,
            "no Delta log groups/_delta_log/00000000000000000000.json".to_string()
        )]
    );
    let m = delta("messages");
    let path = serde_json::from_str::<Value>(&dropped).unwrap()["add"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let ghost_path = path.replace("part-00000", "part-00009");
    assert_eq!(
        m,
        [
            (
                DeltaKind::Differs,
                format!(
                    "messages/{path}: a Parquet file of the table that \
                    messages/_delta_log/00000000000000000000.json does not add"
                )
            ),
            (
                DeltaKind::Differs,
                format!(
                    "messages/_delta_log/00000000000000000000.json adds {ghost_path}: no such \
                    Parquet file in the table"
                )
            ),
        ]
    );
    let unclean: Vec<&str> =
        report.tables.iter().filter(|t| !t.is_clean()).map(|t| t.table).collect();
    assert_eq!(unclean, ["messages", "agents", "groups"], "{report}");
    // the rows themselves still agree
    assert!(report.tables.iter().all(|t| t.missing + t.extra + t.differing == 0));
}
