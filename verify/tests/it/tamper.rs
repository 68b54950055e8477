//! End-to-end: a hand-built fixture verifies clean, and each tampering is
//! reported precisely (kind, table, key, column or file and line).

use crate::common::*;
use verify::Severity;
use verify::{Finding, Kind, Options, Report};

fn run(fx: &Fixture) -> Report {
    verify::verify_path(&fx.root, &Options { max_diffs: 0, ..Options::default() })
        .expect("usable input")
}

fn errors(r: &Report) -> Vec<&Finding> {
    r.findings.iter().filter(|f| f.severity == Severity::Error).collect()
}

fn kinds(r: &Report) -> Vec<Kind> {
    let mut k: Vec<Kind> = errors(r).iter().map(|f| f.kind).collect();
    k.sort();
    k.dedup();
    k
}

#[test]
fn clean_fixture_is_consistent_and_covers_every_projected_table() {
    let fx = build();
    let r = run(&fx);
    assert!(r.consistent, "{}", r.render_text());
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.errors, 0);
    for t in r.tables.iter().filter(|t| t.check == "replay") {
        assert!(t.rows_db > 0, "the test fixture must exercise {}", t.table);
        assert_eq!(Some(t.rows_db), t.rows_expected, "{}", t.table);
    }
    let ev = r.tables.iter().find(|t| t.table == "events").unwrap();
    assert_eq!(
        (ev.rows_db, ev.rows_expected),
        (fx.builder.events.len() as u64, Some(fx.builder.events.len() as u64))
    );
    // the unknown event type is ignored, not an error
    assert!(r.summary["replay"].as_str().unwrap().contains("1 ignored"));
    assert_eq!(r.count(Kind::ManifestAbsent), 1);
}

#[test]
fn one_changed_cell_is_reported_with_table_key_and_column() {
    let fx = build();
    fx.db()
        .execute("UPDATE messages SET body_content = 'tampered' WHERE message_id = ?1", [msg_id(2)])
        .unwrap();
    let r = run(&fx);
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{}", r.render_text());
    let f = e[0];
    assert_eq!(f.kind, Kind::CellDiffers);
    assert_eq!(f.table.as_deref(), Some("messages"));
    assert_eq!(f.key.as_deref(), Some(format!("message_id={}", msg_id(2)).as_str()));
    assert_eq!(f.column.as_deref(), Some("body_content"));
    assert_eq!(f.expected.as_deref(), Some("\"hi\""));
    assert_eq!(f.actual.as_deref(), Some("\"tampered\""));
    assert_eq!(r.exit_code, 1);
    let stats = r.tables.iter().find(|t| t.table == "messages").unwrap();
    assert_eq!((stats.missing, stats.extra, stats.differing), (0, 0, 1));
}

#[test]
fn one_deleted_row_is_reported_missing() {
    let fx = build();
    let n = fx
        .db()
        .execute(
            "DELETE FROM message_refs WHERE message_id = ?1 AND ref_type = 'mention'",
            [msg_id(2)],
        )
        .unwrap();
    assert_eq!(n, 1);
    let r = run(&fx);
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{}", r.render_text());
    assert_eq!(e[0].kind, Kind::RowMissing);
    assert_eq!(e[0].table.as_deref(), Some("message_refs"));
    assert_eq!(
        e[0].key.as_deref(),
        Some(format!("message_id={}, ref_type=mention, ref_value=alice", msg_id(2)).as_str())
    );
}

#[test]
fn one_extra_row_is_reported_extra() {
    let fx = build();
    fx.db()
        .execute("INSERT INTO message_scopes VALUES (?1, 'broadcast', 'all')", [msg_id(4)])
        .unwrap();
    let r = run(&fx);
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{}", r.render_text());
    assert_eq!(e[0].kind, Kind::RowExtra);
    assert_eq!(e[0].table.as_deref(), Some("message_scopes"));
    assert_eq!(
        e[0].key.as_deref(),
        Some(format!("message_id={}, scope_type=broadcast, scope_value=all", msg_id(4)).as_str())
    );
}

fn event_of(fx: &Fixture, needle: &str) -> (usize, String) {
    let i = fx.builder.events.iter().position(|e| e.line.contains(needle)).unwrap();
    (i, fx.builder.events[i].id.clone())
}

#[test]
fn one_dropped_jsonl_line_is_reported() {
    let fx = build();
    let (i, id) = event_of(&fx, &format!("\"message_id\":\"{}\"", msg_id(6)));
    let mut lines = fx.lines("messages/bob.jsonl");
    assert_eq!(lines.remove(1), fx.builder.events[i].line);
    fx.write_lines("messages/bob.jsonl", &lines);
    let r = run(&fx);
    assert_eq!(
        kinds(&r),
        vec![Kind::RowExtra, Kind::EventLogExtra, Kind::SequenceGap],
        "{}",
        r.render_text()
    );
    let extra: Vec<(&str, &str)> = r
        .of(Kind::RowExtra)
        .iter()
        .map(|f| (f.table.as_deref().unwrap(), f.key.as_deref().unwrap()))
        .collect();
    let m = format!("message_id={}", msg_id(6));
    let rf = format!("message_id={}, ref_type=mention, ref_value=reviewer", msg_id(6));
    assert_eq!(extra, vec![("messages", m.as_str()), ("message_refs", rf.as_str())]);
    let log = r.of(Kind::EventLogExtra);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].key.as_deref(), Some(format!("event_id={id}").as_str()));
    // where the dropped line belongs, from its events row
    assert_eq!(
        (log[0].file.as_deref(), log[0].line),
        (Some(".thrum/messages/bob.jsonl"), Some(2)),
        "{}",
        log[0].render()
    );
    let gap = r.of(Kind::SequenceGap);
    assert_eq!(gap.len(), 1);
    assert_eq!(gap[0].expected.as_deref(), Some((i + 1).to_string().as_str()));
}

#[test]
fn one_duplicated_jsonl_line_is_reported_at_its_line() {
    let fx = build();
    let mut lines = fx.lines("messages/alice.jsonl");
    let dup = lines[1].clone(); // the create of msg 3
    lines.insert(2, dup);
    fx.write_lines("messages/alice.jsonl", &lines);
    let r = run(&fx);
    // the daemon's rebuild stops at the repeated create (rule 2)
    assert_eq!(
        kinds(&r),
        vec![
            Kind::EventIdDuplicate,
            Kind::ReplayEventRejected,
            Kind::RebuildAborts,
            Kind::SequenceOrder,
            Kind::SequenceDuplicate
        ],
        "{}",
        r.render_text()
    );
    for f in errors(&r) {
        assert_eq!(
            (f.file.as_deref(), f.line),
            (Some(".thrum/messages/alice.jsonl"), Some(3)),
            "{}",
            f.render()
        );
    }
    assert!(r.of(Kind::EventIdDuplicate)[0].message.contains(".thrum/messages/alice.jsonl:2"));
    assert!(r.of(Kind::ReplayEventRejected)[0].message.contains("UNIQUE"));
    // the rolled-back duplicate changed no table
    assert!(r.tables.iter().filter(|t| t.check == "replay").all(|t| t.clean()));
}

#[test]
fn one_malformed_jsonl_line_is_reported_at_its_line() {
    let fx = build();
    let mut lines = fx.lines("messages/bob.jsonl");
    let half = lines[0].len() / 2;
    lines[0].truncate(half);
    fx.write_lines("messages/bob.jsonl", &lines);
    let r = run(&fx);
    let u = r.of(Kind::JsonlUnparsable);
    assert_eq!(u.len(), 1, "{}", r.render_text());
    assert_eq!((u[0].file.as_deref(), u[0].line), (Some(".thrum/messages/bob.jsonl"), Some(1)));
    assert!(u[0].message.contains("not valid JSON"));
    // and its consequences: msg 2 is in the database but no longer replayed
    let m = format!("message_id={}", msg_id(2));
    assert!(r
        .of(Kind::RowExtra)
        .iter()
        .any(|f| f.table.as_deref() == Some("messages") && f.key.as_deref() == Some(m.as_str())));
    assert_eq!(r.count(Kind::EventLogExtra), 1);
    assert_eq!(r.count(Kind::SequenceGap), 1);
    assert!(!r.consistent);
}

#[test]
fn heartbeat_columns_are_checked_for_plausibility_not_equality() {
    let fx = build();
    // a later heartbeat inside the session's life is fine
    fx.db()
        .execute(
            "UPDATE sessions SET last_seen_at = ?1 WHERE session_id = ?2",
            [ts(T0 + 30_000_000), ses_id(3)],
        )
        .unwrap();
    assert!(run(&fx).consistent);
    // a heartbeat before the session started is not
    fx.db()
        .execute("UPDATE sessions SET last_seen_at = ?1 WHERE session_id = ?2", [ts(T0), ses_id(3)])
        .unwrap();
    // an agent seen before any of its sessions started is not either
    fx.db()
        .execute("UPDATE agents SET last_seen_at = ?1 WHERE agent_id = 'bob'", [ts(T0)])
        .unwrap();
    let r = run(&fx);
    let l = r.of(Kind::LastSeenImplausible);
    assert_eq!(kinds(&r), vec![Kind::LastSeenImplausible], "{}", r.render_text());
    let keys: Vec<(&str, &str)> =
        l.iter().map(|f| (f.table.as_deref().unwrap(), f.key.as_deref().unwrap())).collect();
    let s3 = format!("session_id={}", ses_id(3));
    assert_eq!(keys, vec![("agents", "agent_id=bob"), ("sessions", s3.as_str())]);
}

#[test]
fn events_table_rows_must_equal_the_lines() {
    let fx = build();
    let (_, id) = event_of(&fx, "\"group.create\"");
    fx.db()
        .execute(
            "UPDATE events SET event_json = replace(event_json, 'reviewers', 'Reviewers') \
        WHERE event_id = ?1",
            [&id],
        )
        .unwrap();
    fx.db().execute("UPDATE events SET sequence = 1000 WHERE sequence = 3", []).unwrap();
    let r = run(&fx);
    assert_eq!(kinds(&r), vec![Kind::EventLogDiffers], "{}", r.render_text());
    let cols: Vec<(String, &str)> = r
        .of(Kind::EventLogDiffers)
        .iter()
        .map(|f| (f.key.clone().unwrap(), f.column.as_deref().unwrap()))
        .collect();
    assert_eq!(cols.len(), 2);
    assert!(cols.contains(&(format!("event_id={id}"), "event_json")));
    assert!(cols.contains(&(format!("event_id={}", fx.builder.events[2].id), "sequence")));
}

#[test]
fn local_tables_are_checked_for_references_and_times() {
    let fx = build();
    let db = fx.db();
    db.execute("UPDATE message_reads SET read_at = ?1 WHERE message_id = ?2", [ts(T0), msg_id(1)])
        .unwrap();
    db.execute(
        "INSERT INTO subscriptions (session_id, scope_type, scope_value, mention_role, \
        created_at) VALUES ('ses_GHOST', 'group', NULL, NULL, ?1)",
        [ts(T0)],
    )
    .unwrap();
    db.execute("UPDATE sync_checkpoints SET last_synced_sequence = 999", []).unwrap();
    db.execute("INSERT INTO session_refs VALUES (?1, 'branch', 'x', 'yesterday')", [ses_id(1)])
        .unwrap();
    drop(db);
    let r = run(&fx);
    assert_eq!(
        kinds(&r),
        vec![
            Kind::DanglingReference,
            Kind::ReadBeforeMessage,
            Kind::ReadOutsideSession,
            Kind::SubscriptionShapeInvalid,
            Kind::TimestampInvalid,
            Kind::CheckpointAhead
        ],
        "{}",
        r.render_text()
    );
    assert_eq!(r.of(Kind::DanglingReference)[0].table.as_deref(), Some("subscriptions"));
    assert_eq!(
        r.of(Kind::CheckpointAhead)[0].expected.as_deref(),
        Some(format!("0..={}", fx.builder.events.len()).as_str())
    );
    assert_eq!(r.of(Kind::TimestampInvalid)[0].table.as_deref(), Some("session_refs"));
}

#[test]
fn identities_and_context_files_must_match_agents() {
    let fx = build();
    let p = fx.file("identities/bob.json");
    std::fs::write(&p, std::fs::read_to_string(&p).unwrap().replace("implementer", "tester"))
        .unwrap();
    std::fs::remove_file(fx.file("context/carol.md")).unwrap();
    std::fs::write(fx.file("context/zed.md"), "x").unwrap();
    let r = run(&fx);
    assert_eq!(
        kinds(&r),
        vec![Kind::IdentityDiffers, Kind::ContextMissing, Kind::ContextOrphan],
        "{}",
        r.render_text()
    );
    let d = r.of(Kind::IdentityDiffers)[0];
    assert_eq!((d.key.as_deref(), d.column.as_deref()), (Some("agent_id=bob"), Some("role")));
    assert_eq!(r.of(Kind::ContextMissing)[0].file.as_deref(), Some(".thrum/context/carol.md"));
}

#[test]
fn schema_and_layout_are_checked() {
    let fx = build();
    fx.db()
        .execute_batch(
            "CREATE INDEX idx_extra ON messages(body_format); UPDATE schema_version \
        SET version = 12;",
        )
        .unwrap();
    std::fs::write(fx.file("thrum.db"), b"x").unwrap();
    let r = run(&fx);
    assert_eq!(
        kinds(&r),
        vec![Kind::PlaceholderNotEmpty, Kind::SchemaVersionWrong, Kind::SchemaDiffers],
        "{}",
        r.render_text()
    );
    assert_eq!(r.of(Kind::SchemaDiffers)[0].key.as_deref(), Some("index idx_extra"));
}

#[test]
fn misplaced_and_non_canonical_lines_are_reported() {
    let fx = build();
    let mut lines = fx.lines("messages/bob.jsonl");
    // move bob's first create to alice's shard, and re-encode another line with spaces
    let moved = lines.remove(0);
    fx.write_lines("messages/bob.jsonl", &lines);
    let mut a = fx.lines("messages/alice.jsonl");
    a.push(moved);
    a[0] = a[0].replacen(",", ", ", 1);
    fx.write_lines("messages/alice.jsonl", &a);
    let r = run(&fx);
    // the re-encoded line also no longer equals its events row
    assert_eq!(
        kinds(&r),
        vec![Kind::EventNotCanonical, Kind::ShardMismatch, Kind::EventLogDiffers],
        "{}",
        r.render_text()
    );
    let s = r.of(Kind::ShardMismatch)[0];
    assert_eq!((s.file.as_deref(), s.line), (Some(".thrum/messages/alice.jsonl"), Some(6)));
    assert_eq!(s.expected.as_deref(), Some("messages/bob.jsonl"));
    let c = r.of(Kind::EventNotCanonical)[0];
    assert_eq!((c.file.as_deref(), c.line), (Some(".thrum/messages/alice.jsonl"), Some(1)));
}

#[test]
fn unusable_inputs_are_errors_naming_the_file() {
    let fx = build();
    std::fs::remove_file(fx.file("var/messages.db")).unwrap();
    let e = verify::verify_path(&fx.root, &Options::default()).unwrap_err();
    assert!(matches!(e, verify::InputError::MissingDatabase { .. }), "{e}");
    assert!(e.to_string().contains("var/messages.db"));
    std::fs::write(fx.file("var/messages.db"), vec![b'z'; 4096]).unwrap();
    let e = verify::verify_path(&fx.root, &Options::default()).unwrap_err();
    assert!(matches!(e, verify::InputError::NotADatabase { .. }), "{e}");
    let e = verify::verify_path(&fx.root.join("nope"), &Options::default()).unwrap_err();
    assert!(matches!(e, verify::InputError::NotFound { .. }), "{e}");
    let e = verify::verify_path(&fx.file("config.json"), &Options::default()).unwrap_err();
    assert!(matches!(e, verify::InputError::NotAFixture { .. }), "{e}");
    let v5 = build_v5();
    let e = verify::verify_path(&v5.root, &Options::default()).unwrap_err();
    assert!(matches!(e, verify::InputError::V5Layout { .. }), "{e}");
}

#[test]
fn archive_with_manifest_and_checksums_verifies_and_tampering_is_seen() {
    let fx = build();
    let dir = tempfile::tempdir().unwrap();
    let archive = pack(&fx, dir.path(), "thrum-fixture.tar.zst", "manifest.json", 13);
    // a manifest for another archive beside it is ignored
    std::fs::write(
        dir.path().join("manifest-v5.json"),
        r#"{"archive":{"path":"thrum-fixture-v5.tar.zst"}}"#,
    )
    .unwrap();
    let r = verify::verify_path(&archive, &Options::default()).unwrap();
    assert!(r.consistent, "{}", r.render_text());
    assert!(r.summary["manifest"].as_str().unwrap().contains("manifest.json"));
    assert_eq!(r.count(Kind::ManifestAbsent) + r.count(Kind::ChecksumsAbsent), 0);

    // a wrong line count and a wrong checksum line
    let mp = dir.path().join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&mp).unwrap()).unwrap();
    m["counts"]["files"][".thrum/events.jsonl"] = serde_json::json!(99);
    m["counts"]["tables"]["messages"] = serde_json::json!(7);
    std::fs::write(&mp, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
    let first = sums.lines().next().unwrap().to_string();
    let bad = format!("{}{}", if first.starts_with('0') { "1" } else { "0" }, &first[1..]);
    std::fs::write(dir.path().join("SHA256SUMS"), sums.replacen(&first, &bad, 1)).unwrap();
    let r = verify::verify_path(&archive, &Options::default()).unwrap();
    let mm: Vec<&str> =
        r.of(Kind::ManifestMismatch).iter().map(|f| f.column.as_deref().unwrap()).collect();
    assert_eq!(
        mm,
        vec!["counts.files[.thrum/events.jsonl]", "counts.tables[messages]"],
        "{}",
        r.render_text()
    );
    let cm: Vec<(Option<&str>, Option<u64>)> = r
        .of(Kind::ChecksumMismatch)
        .iter()
        .map(|f| (f.message.split(':').next(), f.line))
        .collect();
    // line 1 (the archive) was altered; line 2 (the manifest) no longer matches the edited manifest
    assert_eq!(
        cm,
        vec![(Some("thrum-fixture.tar.zst"), Some(1)), (Some("manifest.json"), Some(2))]
    );
    assert_eq!(kinds(&r), vec![Kind::ManifestMismatch, Kind::ChecksumMismatch]);
}

#[test]
fn hostile_archive_is_unusable_input_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut ar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    ar.append_link(&mut h, ".thrum/var/messages.db", "/etc/passwd").unwrap();
    let bytes = zstd::stream::encode_all(&ar.into_inner().unwrap()[..], 1).unwrap();
    let p = dir.path().join("evil.tar.zst");
    std::fs::write(&p, bytes).unwrap();
    let e = verify::verify_path(&p, &Options::default()).unwrap_err();
    assert!(matches!(e, verify::InputError::Extract(verify::ExtractError::Symlink { .. })), "{e}");
    assert!(e.to_string().contains(".thrum/var/messages.db"));
}

#[test]
fn a_directory_input_is_read_without_writing_anything_even_with_odd_path_characters() {
    let fx = build();
    let odd = fx.root.parent().unwrap().join("odd dir #1 ?&%é");
    std::fs::rename(&fx.root, &odd).unwrap();
    let before = verify::internals::walk_files(&odd, &odd).unwrap();
    let sums: Vec<String> =
        before.0.iter().map(|f| thrum_io::hash::sha256_file(&odd.join(f)).unwrap().0).collect();
    let r = verify::verify_path(&odd.join(".thrum"), &Options::default()).unwrap();
    assert!(r.consistent, "{}", r.render_text());
    let after = verify::internals::walk_files(&odd, &odd).unwrap();
    assert_eq!(before, after, "no file may appear (no -wal, -shm or journal)");
    let sums2: Vec<String> =
        after.0.iter().map(|f| thrum_io::hash::sha256_file(&odd.join(f)).unwrap().0).collect();
    assert_eq!(sums, sums2);
}

#[test]
fn a_wal_file_beside_the_database_is_applied_through_a_private_copy() {
    let fx = build();
    // put the database in WAL mode and leave a committed change in the -wal file
    let db = fx.db();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    db.execute("UPDATE messages SET body_format = 'plain' WHERE message_id = ?1", [msg_id(6)])
        .unwrap();
    let wal = fx.file("var/messages.db-wal");
    assert!(wal.is_file());
    let wal_bytes = std::fs::read(&wal).unwrap();
    // copy the files as they are while the connection is still open
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new("cp")
        .arg("-r")
        .arg(&fx.root)
        .arg(dir.path().join("copy"))
        .status()
        .unwrap();
    drop(db);
    let copy = dir.path().join("copy");
    assert_eq!(std::fs::read(copy.join(".thrum/var/messages.db-wal")).unwrap(), wal_bytes);
    let r = verify::verify_path(&copy, &Options::default()).unwrap();
    let c = r.of(Kind::CellDiffers);
    assert_eq!(c.len(), 1, "{}", r.render_text());
    assert_eq!(c[0].column.as_deref(), Some("body_format"));
}

#[test]
fn a_sequence_at_the_largest_integer_is_a_finding() {
    let fx = build();
    let mut lines = fx.lines("events.jsonl");
    let mut v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    v["sequence"] = serde_json::json!(i64::MAX);
    lines[0] = thrum_schemas::gojson::to_string(&v);
    fx.write_lines("events.jsonl", &lines);
    let r = run(&fx);
    let f: Vec<&Finding> = r
        .of(Kind::EventEnvelopeInvalid)
        .into_iter()
        .filter(|f| f.column.as_deref() == Some("sequence"))
        .collect();
    assert_eq!(f.len(), 1, "{}", r.render_text());
    assert_eq!(f[0].actual.as_deref(), Some("9223372036854775807"));
    assert_eq!((f[0].file.as_deref(), f[0].line), (Some(".thrum/events.jsonl"), Some(1)));
    assert!(f[0].message.contains("no event can follow it"), "{}", f[0].message);
    assert_eq!(r.exit_code, 1);
}

#[test]
fn an_unreadable_table_is_a_finding_in_the_report_the_json_and_the_exit_code() {
    let fx = build();
    fx.db().execute_batch("ALTER TABLE schema_version RENAME TO schema_version_old").unwrap();
    let r = run(&fx);
    let f = r.of(Kind::TableUnreadable);
    assert_eq!(f.len(), 1, "{}", r.render_text());
    assert_eq!(f[0].table.as_deref(), Some("schema_version"));
    assert_eq!(f[0].message, "cannot read the schema version: no such table: schema_version");
    assert_eq!(r.exit_code, 1);
    let bin = |json: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_verify"));
        c.args(["replay", "--max-diffs", "0"]);
        if json {
            c.arg("--json");
        }
        let o = c.arg(&fx.root).output().unwrap();
        (o.status.code(), String::from_utf8(o.stdout).unwrap())
    };
    let (code, text) = bin(false);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("table_unreadable")
            && text.contains("cannot read the schema version: no such table: schema_version"),
        "{text}"
    );
    let (code, json) = bin(true);
    assert_eq!(code, Some(1), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let found: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "table_unreadable")
        .collect();
    assert_eq!(found.len(), 1, "{json}");
    assert_eq!(found[0]["table"], "schema_version");
    assert_eq!(
        found[0]["message"],
        "cannot read the schema version: no such table: schema_version"
    );
    assert_eq!(json.trim_end(), r.to_json().trim_end());
}

/// `var/peers.json` is read as a mesh daemon's is (docs/FORMAT.md section
/// 8): each problem of an entry is named (`peers_invalid`, in the file),
/// and a checkpoint whose peer is not listed is a warning (a removed peer
/// keeps its checkpoint).
#[test]
fn the_peers_of_the_checkpoints_are_checked() {
    let fx = build();
    let peers = fx.root.join(".thrum/var/peers.json");
    let r = run(&fx);
    assert_eq!(
        (r.count(Kind::PeersInvalid), r.count(Kind::CheckpointPeerUnlisted)),
        (0, 0),
        "{}",
        r.render_text()
    );

    // a renamed peer (its id is no longer its name's), an unknown key and
    // a second entry of the same id
    let good: serde_json::Value = serde_json::from_str(&peers_json(PEER_HOST)).unwrap();
    let mut bad = good.clone();
    bad[0]["name"] = "elsewhere".into();
    bad[0]["colour"] = "blue".into();
    bad.as_array_mut().unwrap().push(good[0].clone());
    std::fs::write(&peers, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
    let r = run(&fx);
    assert_eq!(kinds(&r), vec![Kind::PeersInvalid], "{}", r.render_text());
    let msgs: Vec<&str> = r.of(Kind::PeersInvalid).iter().map(|f| f.message.as_str()).collect();
    assert_eq!(msgs.len(), 4, "{msgs:?}");
    let has = |a: &str, b: &str| msgs.iter().any(|m| m.starts_with(a) && m.contains(b));
    assert!(has("entry 1 (", "daemon_id is not derived from name"), "{msgs:?}");
    assert!(has("entry 1 (", "address is not <name>:<port>"), "{msgs:?}");
    assert!(has("entry 1 (", "unknown keys [\"colour\"]"), "{msgs:?}");
    assert!(has("entry 2: daemon_id", "listed more than once"), "{msgs:?}");
    let id = thrum_schemas::ids::daemon_id(PEER_HOST);
    let renamed =
        r.of(Kind::PeersInvalid).into_iter().find(|f| f.message.contains("not derived")).unwrap();
    assert_eq!(renamed.actual.as_deref(), Some(format!("\"{id}\"").as_str()));
    assert!(r
        .of(Kind::PeersInvalid)
        .iter()
        .all(|f| f.file.as_deref() == Some(".thrum/var/peers.json")));

    // the checkpoint's peer removed from the list: a warning naming it
    std::fs::write(&peers, "[]").unwrap();
    let r = run(&fx);
    assert!(r.consistent, "{}", r.render_text());
    let w = r.of(Kind::CheckpointPeerUnlisted);
    assert_eq!(w.len(), 1, "{}", r.render_text());
    assert_eq!(
        (w[0].severity, w[0].key.as_deref()),
        (Severity::Warning, Some(format!("peer_daemon_id={id}").as_str()))
    );

    // not a list of peers; absent
    std::fs::write(&peers, "{\"name\": 1}").unwrap();
    let r = run(&fx);
    assert_eq!(kinds(&r), vec![Kind::PeersInvalid], "{}", r.render_text());
    assert!(r.of(Kind::PeersInvalid)[0].message.contains("not a JSON array of objects"));
    std::fs::remove_file(&peers).unwrap();
    let r = run(&fx);
    assert!(r.consistent);
    assert!(
        r.of(Kind::CheckpointPeerUnlisted)[0].message.contains("var/peers.json is missing"),
        "{}",
        r.render_text()
    );
}
