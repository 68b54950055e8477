//! The sink on its own: determinism, schema, layout, streaming limits and
//! input errors.

use crate::common;

use arrow_schema::{DataType, TimeUnit};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use thrum_parquet::mapping::{self, keys};
use thrum_parquet::{arrow_schema, Error, ParquetOptions, ParquetSink};
use thrum_schemas::catalogue::{self as cat, Cell, TABLES};

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_rows_give_identical_bytes() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let a = common::write_parquet(&plan, &tmp.path().join("a"), ParquetOptions::default());
    let b = common::write_parquet(&plan, &tmp.path().join("b"), ParquetOptions::default());
    assert_eq!(a, b);
    let ta = read_tree(&tmp.path().join("a"));
    let tb = read_tree(&tmp.path().join("b"));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs between two runs");
    }
    // Exactly the files reported and one Delta log per table, no temporaries left.
    let listed: Vec<&str> = a.iter().map(|f| f.rel_path.as_str()).collect();
    let logs: Vec<String> = ta.keys().filter(|k| k.contains("/_delta_log/")).cloned().collect();
    let mut want_logs: Vec<String> = thrum_schemas::catalogue::TABLES
        .iter()
        .map(|t| thrum_parquet::delta::log_path(t.name))
        .collect();
    want_logs.sort();
    assert_eq!(logs, want_logs);
    let mut on_disk: Vec<&str> =
        ta.keys().map(String::as_str).filter(|k| !k.contains("/_delta_log/")).collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk);
    for f in &a {
        assert_eq!(f.bytes, ta[&f.rel_path].len() as u64, "{}", f.rel_path);
    }
    // A different zstd level changes the bytes (the setting is really applied).
    let c = common::write_parquet(
        &plan,
        &tmp.path().join("c"),
        ParquetOptions { zstd_level: 19, ..Default::default() },
    );
    assert_ne!(read_tree(&tmp.path().join("c")), ta);
    assert_eq!(c.iter().map(|f| f.rows).sum::<u64>(), a.iter().map(|f| f.rows).sum::<u64>());
}

#[test]
fn layout_partitions_and_counts() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let files = common::write_parquet(&plan, tmp.path(), ParquetOptions::default());
    // Every table has a dataset.
    for t in TABLES {
        assert!(files.iter().any(|f| f.table == t.name), "no dataset for {}", t.name);
        assert!(tmp.path().join(t.name).is_dir());
    }
    let msg: Vec<_> = files.iter().filter(|f| f.table == "messages").collect();
    assert_eq!(msg.iter().map(|f| f.rows).sum::<u64>(), plan.profile.messages);
    // The small window spans two days and a bit: at least two partitions, in day order.
    assert!(msg.len() >= 2, "{msg:?}");
    let mut prev = String::new();
    for f in &msg {
        let parts: Vec<&str> = f.rel_path.split('/').collect();
        assert_eq!(parts.len(), 3, "{}", f.rel_path);
        assert!(
            parts[1].starts_with("date=") && parts[1].len() == "date=2026-03-02".len(),
            "{}",
            f.rel_path
        );
        assert_eq!(parts[2], "part-00000.parquet");
        assert!(parts[1] > prev.as_str());
        prev = parts[1].to_string();
    }
    let ev: u64 = files.iter().filter(|f| f.table == "events").map(|f| f.rows).sum();
    assert_eq!(ev, plan.total_events());
    for f in files.iter().filter(|f| f.table != "messages" && f.table != "events") {
        assert_eq!(f.rel_path, format!("{}/part-00000.parquet", f.table));
    }
    // File metadata: table, key, partition, sorting columns, zstd, stats.
    let f = msg[0];
    let r = SerializedFileReader::new(File::open(tmp.path().join(&f.rel_path)).unwrap()).unwrap();
    let md = r.metadata();
    let kv: BTreeMap<String, String> = md
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
        .collect();
    assert_eq!(kv[keys::TABLE], "messages");
    assert_eq!(kv[keys::PRIMARY_KEY], "[\"message_id\"]");
    assert_eq!(kv[keys::SCHEMA_VERSION], "13");
    assert_eq!(kv[keys::PARTITION], prev_first(&msg));
    assert!(kv[keys::PARTITIONING].contains("\"source\":\"created_at\""));
    assert!(kv.contains_key("ARROW:schema"));
    assert!(md.file_metadata().created_by().unwrap().starts_with("parquet-rs"));
    let rg = md.row_group(0);
    assert_eq!(rg.sorting_columns().unwrap()[0].column_idx, 0);
    for c in rg.columns() {
        // The level is not recorded in the file; the codec is.
        assert!(
            matches!(c.compression(), parquet::basic::Compression::ZSTD(_)),
            "{:?}",
            c.compression()
        );
        assert!(c.statistics().is_some(), "{} has no statistics", c.column_path());
    }
    // body_structured (Json) carries the Parquet JSON logical type.
    let schema = md.file_metadata().schema_descr();
    let col = schema.columns().iter().find(|c| c.name() == "body_structured").unwrap();
    assert_eq!(col.logical_type_ref(), Some(&parquet::basic::LogicalType::Json));
    let col = schema.columns().iter().find(|c| c.name() == "created_at").unwrap();
    let utc = |t: &parquet::basic::TimestampType| t.is_adjusted_to_u_t_c;
    assert!(
        matches!(col.logical_type_ref(), Some(parquet::basic::LogicalType::Timestamp(t)) if utc(t))
    );
    // No `date` column inside partition files (Hive: it is in the path).
    assert!(schema.columns().iter().all(|c| c.name() != "date"));
}

fn prev_first(msg: &[&thrum_parquet::WrittenFile]) -> String {
    msg[0].rel_path.split('/').nth(1).unwrap().to_string()
}

#[test]
fn row_groups_are_bounded() {
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let files = common::write_parquet(
        &plan,
        tmp.path(),
        ParquetOptions { row_group_rows: 100, ..Default::default() },
    );
    let mut seen_full = false;
    for f in &files {
        let r =
            SerializedFileReader::new(File::open(tmp.path().join(&f.rel_path)).unwrap()).unwrap();
        let md = r.metadata();
        let n: i64 = md.row_groups().iter().map(|g| g.num_rows()).sum();
        assert_eq!(n as u64, f.rows);
        for g in md.row_groups() {
            assert!(
                g.num_rows() <= 100 && g.num_rows() > 0,
                "{}: row group of {}",
                f.rel_path,
                g.num_rows()
            );
            seen_full |= g.num_rows() == 100;
        }
        assert_eq!(md.num_row_groups() as u64, f.rows.div_ceil(100), "{}", f.rel_path);
    }
    assert!(seen_full);
}

#[test]
fn arrow_schema_from_catalogue() {
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let s = arrow_schema(&cat::MESSAGES);
    let f = |n: &str| s.field_with_name(n).unwrap().clone();
    assert_eq!(s.fields().len(), cat::MESSAGES.columns.len());
    assert_eq!(
        (f("message_id").data_type().clone(), f("message_id").is_nullable()),
        (DataType::Utf8, false)
    );
    assert_eq!(
        (f("thread_id").data_type().clone(), f("thread_id").is_nullable()),
        (DataType::Utf8, true)
    );
    assert_eq!(
        (f("agent_id").data_type().clone(), f("agent_id").is_nullable()),
        (DataType::Utf8, false)
    );
    assert_eq!(
        (f("created_at").data_type().clone(), f("created_at").is_nullable()),
        (utc.clone(), false)
    );
    assert_eq!(
        (f("updated_at").data_type().clone(), f("updated_at").is_nullable()),
        (utc.clone(), true)
    );
    assert_eq!(
        (f("deleted").data_type().clone(), f("deleted").is_nullable()),
        (DataType::Boolean, true)
    );
    assert_eq!(
        (f("disclosed").data_type().clone(), f("disclosed").is_nullable()),
        (DataType::Boolean, true)
    );
    let js = f("body_structured");
    assert_eq!(js.data_type(), &DataType::Utf8);
    assert_eq!(js.metadata().get(keys::EXTENSION_NAME).map(String::as_str), Some("arrow.json"));
    assert_eq!(js.metadata().get(keys::FIELD_SEMANTIC).map(String::as_str), Some("json"));
    assert!(f("body_content").metadata().get(keys::EXTENSION_NAME).is_none());
    assert_eq!(
        f("created_at").metadata().get(keys::FIELD_SEMANTIC).map(String::as_str),
        Some("rfc3339")
    );
    assert_eq!(s.metadata().get(keys::TABLE).map(String::as_str), Some("messages"));
    assert_eq!(s.metadata().get(keys::PRIMARY_KEY).map(String::as_str), Some("[\"message_id\"]"));
    assert!(s.field_with_name("date").is_err());

    let a = arrow_schema(&cat::AGENTS);
    let last_seen = a.field_with_name("last_seen_at").unwrap();
    assert_eq!(last_seen.data_type(), &utc);
    assert!(last_seen.is_nullable(), "'' exception: nullable although NOT NULL");
    assert_eq!(
        last_seen.metadata().get(keys::FIELD_EMPTY_AS_NULL).map(String::as_str),
        Some("true")
    );
    assert!(!a.field_with_name("registered_at").unwrap().is_nullable());
    assert!(!a.field_with_name("display").unwrap().is_nullable());

    let sc = arrow_schema(&cat::SYNC_CHECKPOINTS);
    assert_eq!(sc.field_with_name("last_sync_timestamp").unwrap().data_type(), &utc);
    assert_eq!(
        sc.field_with_name("last_sync_timestamp").unwrap().metadata()[keys::FIELD_SEMANTIC],
        "unix_seconds"
    );
    assert_eq!(sc.field_with_name("last_synced_sequence").unwrap().data_type(), &DataType::Int64);

    let sv = arrow_schema(&cat::SCHEMA_VERSION);
    assert_eq!(sv.field_with_name("applied_at").unwrap().data_type(), &utc);
    assert_eq!(
        sv.field_with_name("applied_at").unwrap().metadata()[keys::FIELD_SEMANTIC],
        "sql_datetime"
    );

    let ev = arrow_schema(&cat::EVENTS);
    assert_eq!(
        ev.field_with_name("event_json").unwrap().metadata()[keys::EXTENSION_NAME],
        "arrow.json"
    );
    assert!(!ev.field_with_name("event_json").unwrap().is_nullable());
    assert!(!ev.field_with_name("sequence").unwrap().is_nullable());
    assert!(ev.metadata()[keys::PARTITIONING].contains("\"source\":\"timestamp\""));

    let gm = arrow_schema(&cat::GROUP_MEMBERS);
    assert!(!gm.field_with_name("id").unwrap().is_nullable(), "AUTOINCREMENT key is never null");
    assert_eq!(gm.metadata()[keys::PRIMARY_KEY], "[\"id\"]");
    assert_eq!(
        arrow_schema(&cat::MESSAGE_SCOPES).metadata()[keys::PRIMARY_KEY],
        "[\"message_id\",\"scope_type\",\"scope_value\"]"
    );
    // The same schema every time (metadata is ordered).
    assert_eq!(arrow_schema(&cat::MESSAGES), arrow_schema(&cat::MESSAGES));
    assert_eq!(mapping::exceptions().len(), 12);
}

fn msg_row<'a>(id: &'a str, created: &'a str) -> Vec<Cell<'a>> {
    vec![
        Cell::text(id),
        Cell::Null,
        Cell::text("agent:a"),
        Cell::text("ses_1"),
        Cell::text(created),
        Cell::Null,
        Cell::text("markdown"),
        Cell::text("hi"),
        Cell::Null,
        Cell::Int(0),
        Cell::Null,
        Cell::Null,
        Cell::Null,
        Cell::Int(0),
    ]
}

#[test]
fn input_errors_are_typed_and_leave_the_sink_usable() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sink = ParquetSink::create(tmp.path(), ParquetOptions::default()).unwrap();
    sink.push(&cat::MESSAGES, &msg_row("msg_02", "2026-03-02T10:00:00.000001Z")).unwrap();
    // Same key again, then a smaller key.
    assert!(matches!(
        sink.push(&cat::MESSAGES, &msg_row("msg_02", "2026-03-02T10:00:00.000002Z")),
        Err(Error::Unsorted { table: "messages", .. })
    ));
    assert!(matches!(
        sink.push(&cat::MESSAGES, &msg_row("msg_01", "2026-03-02T10:00:00.000002Z")),
        Err(Error::Unsorted { .. })
    ));
    // A bad value: the error names table, column and key.
    let mut bad = msg_row("msg_03", "2026-03-02T10:00:00.000003Z");
    bad[9] = Cell::Int(7);
    match sink.push(&cat::MESSAGES, &bad) {
        Err(Error::Value { table: "messages", column: "deleted", key, .. }) => {
            assert_eq!(key, "message_id=\"msg_03\"")
        }
        other => panic!("{other:?}"),
    }
    let mut bad = msg_row("msg_03", "2026-03-02 10:00:00");
    bad[1] = Cell::Null;
    assert!(matches!(
        sink.push(&cat::MESSAGES, &bad),
        Err(Error::Value { column: "created_at", .. })
    ));
    assert!(matches!(
        sink.push(&cat::MESSAGES, &msg_row("msg_03", "2026-03-02T10:00:00.000003Z")[..5]),
        Err(Error::Arity { got: 5, want: 14, .. })
    ));
    // Next day, then back to the previous day.
    sink.push(&cat::MESSAGES, &msg_row("msg_04", "2026-03-03T00:00:00.000001Z")).unwrap();
    assert!(matches!(
        sink.push(&cat::MESSAGES, &msg_row("msg_05", "2026-03-02T23:59:59.999999Z")),
        Err(Error::PartitionOrder { .. })
    ));
    sink.push(&cat::MESSAGES, &msg_row("msg_06", "2026-03-03T00:00:00.000002Z")).unwrap();
    static NOT_A_TABLE: cat::Table = cat::Table { name: "no_such_table", ..cat::MESSAGES };
    assert!(matches!(
        sink.push(&NOT_A_TABLE, &msg_row("msg_07", "2026-03-03T00:00:00.000003Z")),
        Err(Error::UnknownTable(_))
    ));
    let files = sink.finish().unwrap();
    let msg: Vec<(String, u64)> = files
        .iter()
        .filter(|f| f.table == "messages")
        .map(|f| (f.rel_path.clone(), f.rows))
        .collect();
    assert_eq!(
        msg,
        [
            ("messages/date=2026-03-02/part-00000.parquet".to_string(), 1),
            ("messages/date=2026-03-03/part-00000.parquet".to_string(), 2)
        ]
    );
    // A non-empty directory is refused.
    assert!(matches!(
        ParquetSink::create(tmp.path(), ParquetOptions::default()),
        Err(Error::NotEmpty(_))
    ));
    assert!(matches!(
        ParquetSink::create(
            &tmp.path().join("x"),
            ParquetOptions { row_group_rows: 0, ..Default::default() }
        ),
        Err(Error::Options(_))
    ));
    assert!(matches!(
        ParquetSink::create(
            &tmp.path().join("y"),
            ParquetOptions { zstd_level: 99, ..Default::default() }
        ),
        Err(Error::Options(_))
    ));
}

#[test]
fn every_table_gets_a_dataset_even_if_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = ParquetSink::create(tmp.path(), ParquetOptions::default()).unwrap();
    let files = sink.finish().unwrap();
    assert_eq!(files.len(), TABLES.len());
    for (f, t) in files.iter().zip(TABLES) {
        assert_eq!(f.table, t.name);
        assert_eq!(f.rel_path, format!("{}/part-00000.parquet", t.name));
        assert_eq!(f.rows, 0);
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            File::open(tmp.path().join(&f.rel_path)).unwrap(),
        )
        .unwrap();
        assert_eq!(r.schema().fields(), arrow_schema(t).fields(), "{}", t.name);
        assert_eq!(r.metadata().file_metadata().num_rows(), 0);
    }
}

/// Peak (rows, bytes) buffered while streaming a plan.
fn peak_buffered(plan: &thrum_gen::Plan, dir: &Path, opts: ParquetOptions) -> (usize, usize) {
    let mut sink = ParquetSink::create(dir, opts).unwrap();
    let mut peak = (0, 0);
    common::each_row(plan, |t, row| -> Result<(), Error> {
        sink.push(t, row)?;
        let (r, b) = sink.buffered();
        peak = (peak.0.max(r), peak.1.max(b));
        Ok(())
    })
    .unwrap();
    sink.finish().unwrap();
    peak
}

#[test]
fn memory_does_not_grow_with_the_number_of_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ParquetOptions { row_group_rows: 256, ..Default::default() };
    let small = common::small_plan();
    let default =
        thrum_gen::Plan::new(common::SEED, thrum_gen::Profile::default_profile()).unwrap();
    assert!(default.profile.messages >= 16 * small.profile.messages);
    let (rows_s, bytes_s) = peak_buffered(&small, &tmp.path().join("s"), opts.clone());
    let (rows_d, bytes_d) = peak_buffered(&default, &tmp.path().join("d"), opts.clone());
    eprintln!(
        "peak buffered: small {rows_s} rows / {bytes_s} B, default {rows_d} rows / {bytes_d} B"
    );
    // At most one row group plus one batch per table, at any moment.
    let bound = TABLES.len() * 2 * opts.row_group_rows;
    assert!(rows_s <= bound && rows_d <= bound, "{rows_s} {rows_d} > {bound}");
    // 16x the messages, about the same memory.
    assert!(bytes_d < 3 * bytes_s, "peak buffered bytes: small {bytes_s}, default {bytes_d}");
}

/// Columns without dictionary pages in a written file: exactly the ones the
/// mapping names (payloads, bodies, edit contents, unique text keys, and the
/// `BOOLEAN` flags, which Parquet never dictionary-encodes), read from each
/// column chunk's metadata (dictionary page offset and encodings).
#[test]
fn dictionary_only_where_values_repeat() {
    use parquet::basic::Encoding;
    let plan = common::small_plan();
    let tmp = tempfile::tempdir().unwrap();
    let files = common::write_parquet(&plan, tmp.path(), ParquetOptions::default());
    let mut plain = std::collections::BTreeSet::new();
    let mut dict = std::collections::BTreeSet::new();
    for f in files.iter().filter(|f| f.rows > 0) {
        let table = TABLES.iter().find(|t| t.name == f.table).unwrap();
        let r =
            SerializedFileReader::new(File::open(tmp.path().join(&f.rel_path)).unwrap()).unwrap();
        for g in r.metadata().row_groups() {
            for cc in g.columns() {
                let name = cc.column_path().string();
                let c = table.column(&name).unwrap();
                let has_dict_page = cc.dictionary_page_offset().is_some();
                let dict_encoded = cc
                    .encodings()
                    .any(|e| matches!(e, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY));
                assert_eq!(has_dict_page, dict_encoded, "{}.{name} in {}", f.table, f.rel_path);
                assert_eq!(
                    has_dict_page,
                    mapping::dictionary_encoded(table, c),
                    "{}.{name} in {}",
                    f.table,
                    f.rel_path
                );
                if has_dict_page {
                    dict.insert(format!("{}.{name}", f.table));
                } else {
                    plain.insert(format!("{}.{name}", f.table));
                }
            }
        }
    }
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    assert_eq!(
        plain,
        [
            "agent_work_contexts.changed_files",
            "agent_work_contexts.file_changes",
            "agent_work_contexts.session_id",
            "agent_work_contexts.uncommitted_files",
            "agent_work_contexts.unmerged_commits",
            "agents.agent_id",
            "events.event_id",
            "events.event_json",
            "groups.group_id",
            "groups.metadata",
            "message_edits.new_content",
            "message_edits.new_structured",
            "message_edits.old_content",
            "message_edits.old_structured",
            "messages.body_content",
            "messages.body_structured",
            "messages.deleted",
            "messages.disclosed",
            "messages.message_id",
            "sessions.session_id",
            "sync_checkpoints.peer_daemon_id",
        ]
    );
    for kept in [
        "messages.agent_id",
        "messages.session_id",
        "messages.body_format",
        "messages.created_at",
        "events.type",
        "message_edits.message_id",
    ] {
        assert!(dict.contains(kept), "{kept} lost its dictionary: {dict:?}");
    }
}
