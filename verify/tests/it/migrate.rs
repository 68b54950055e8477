//! `verify migrate` on a hand-built v5 fixture.

use crate::common::*;
use rusqlite::Connection;
use serde_json::Value;
use verify::internals::{check_preserved, digest, migrate_db, migrate_jsonl};
use verify::MigrateOptions;
use verify::Mode;
use verify::{Findings, Severity};
use verify::{Kind, Options};

fn migrate_to(fx: &Fixture, out: &std::path::Path) -> verify::Report {
    verify::migrate_path(
        &fx.root,
        &MigrateOptions { out: Some(out.to_path_buf()), max_diffs: 0, ..MigrateOptions::default() },
    )
    .expect("usable v5 input")
}

#[test]
fn migrates_a_v5_fixture_and_proves_it() {
    let fx = build_v5();
    let original = std::fs::read(fx.file("messages.jsonl")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("migrated");
    let r = migrate_to(&fx, &out);
    assert!(r.consistent, "{}", r.render_text());
    assert!(r.summary["idempotent"].as_str().unwrap().starts_with("yes"), "{}", r.render_text());

    // the input is untouched
    assert!(fx.file("messages.jsonl").is_file());
    assert!(!fx.file("events.jsonl").exists());

    // layout of the output
    let t = out.join(".thrum");
    assert!(!t.join("messages.jsonl").exists());
    assert_eq!(std::fs::read(t.join("messages.jsonl.v6.bak")).unwrap(), original);
    let read = |rel: &str| -> Vec<Value> {
        std::fs::read_to_string(t.join(rel))
            .unwrap()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                assert_eq!(thrum_schemas::gojson::to_string(&v), l, "canonical");
                v
            })
            .collect()
    };
    let types =
        |v: &[Value]| v.iter().map(|e| e["type"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let events = read("events.jsonl");
    assert_eq!(
        types(&events),
        [
            "agent.register",
            "agent.register",
            "agent.session.start",
            "agent.session.start",
            "thread.create",
            "thread.create",
            "agent.session.end"
        ]
    );
    let alice = read("messages/alice.jsonl");
    let bob = read("messages/bob.jsonl");
    assert_eq!(types(&alice), ["message.create", "message.delete"]);
    assert_eq!(types(&bob), ["message.create", "message.edit"]);
    let names: Vec<String> = std::fs::read_dir(t.join("messages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // every event id is the deterministic backfill, every v is 1
    for e in events.iter().chain(&alice).chain(&bob) {
        let ty = e["type"].as_str().unwrap();
        let stamp = e["timestamp"].as_str().unwrap();
        let field = match ty {
            t if t.starts_with("message.") => "message_id",
            "thread.create" => "thread_id",
            "agent.register" | "agent.update" => "agent_id",
            _ => "session_id",
        };
        let ms = (thrum_schemas::time::parse_rfc3339(stamp).unwrap() / 1000) as u64;
        let want = thrum_schemas::ids::backfill_event_id(ty, stamp, e[field].as_str().unwrap(), ms);
        assert_eq!(e["event_id"].as_str(), Some(want.as_str()), "{e}");
        assert_eq!(e["v"], Value::from(1));
    }

    // documented consequences, reported as notes
    let dropped = r.of(Kind::MigrationEventDropped);
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        (dropped[0].file.as_deref(), dropped[0].line),
        (Some(".thrum/messages.jsonl"), Some(10))
    );
    assert_eq!(r.count(Kind::ThreadDropped), 1);
    let nc = r.of(Kind::ThreadNotCarried);
    assert_eq!(nc.len(), 1);
    assert!(nc[0].key.as_deref().unwrap().contains(&thrum_schemas::ids::prefixed(
        "thr_",
        (T0 / 1000) as u64,
        2
    )));
    // 8 column differences, and threads, its automatic index and idx_messages_thread dropped
    assert_eq!(r.count(Kind::SchemaMigrationKnownDiff), 11);
    let changes: Vec<(Option<&str>, Option<&str>)> = r
        .of(Kind::V5ExpectedChange)
        .iter()
        .map(|f| (f.table.as_deref(), f.column.as_deref()))
        .collect();
    assert!(changes.contains(&(Some("agents"), Some("display"))), "{changes:?}");
    assert!(changes.contains(&(Some("agents"), Some("hostname"))), "{changes:?}");
    assert!(changes.contains(&(Some("schema_version"), Some("version"))), "{changes:?}");
    // the daemon's rebuild of the migrated tree would stop at the first
    // thread.create (no threads table after 11→12): one warning, at that line
    let stops = r.of(Kind::RebuildAbortsAfterMigration);
    assert_eq!(stops.len(), 1, "{}", r.render_text());
    assert_eq!((stops[0].file.as_deref(), stops[0].line), (Some(".thrum/events.jsonl"), Some(5)));
    assert_eq!(stops[0].actual.as_deref(), Some("6 events not projected"));
    assert!(
        r.findings
            .iter()
            .all(|f| f.severity == Severity::Info || f.kind == Kind::RebuildAbortsAfterMigration),
        "{}",
        r.render_text()
    );
    for t in r.tables.iter().filter(|t| t.check == "v5_preserved") {
        assert!(t.clean(), "{t:?}");
    }
    let msgs = r.tables.iter().find(|t| t.check == "replay" && t.table == "messages").unwrap();
    assert_eq!((msgs.rows_db, msgs.rows_expected), (2, Some(2)));

    // the written tree verifies as a migrated tree, and is not a fresh-schema fixture
    let again =
        verify::verify_path(&out, &Options { mode: Mode::Migrated, ..Options::default() }).unwrap();
    assert!(again.consistent, "{}", again.render_text());
    let strict = verify::verify_path(&out, &Options::default()).unwrap();
    assert_eq!(strict.count(Kind::SchemaDiffers), 11);
}

#[test]
fn second_run_changes_nothing() {
    let fx = build_v5();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join(".thrum");
    std::process::Command::new("cp").arg("-r").arg(fx.thrum()).arg(&t).status().unwrap();
    let db = t.join("var/messages.db");
    let mut f = Findings::new(0);
    assert_eq!(migrate_db(&db).unwrap().steps, 8);
    let first = migrate_jsonl(&t, &mut f).unwrap();
    assert!(first.sharded);
    assert_eq!((first.read, first.written, first.dropped, first.unparsable), (12, 11, 1, 0));
    assert_eq!(first.ids_backfilled, 11);
    assert_eq!(first.v_filled, 6);
    let before = digest(&t).unwrap();
    assert_eq!(migrate_db(&db).unwrap().steps, 0);
    let second = migrate_jsonl(&t, &mut f).unwrap();
    assert!(second.is_noop(), "{second:?}");
    assert_eq!(digest(&t).unwrap(), before);
}

#[test]
fn a_damaged_v5_database_is_caught_by_the_replay() {
    let fx = build_v5();
    fx.db().execute("DELETE FROM messages WHERE message_id = ?1", [msg_id(2)]).unwrap();
    fx.db()
        .execute("UPDATE sessions SET end_reason = 'other' WHERE session_id = ?1", [ses_id(2)])
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let r = migrate_to(&fx, &tmp.path().join("m"));
    let errors: Vec<(Kind, Option<&str>, Option<&str>)> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.kind, f.table.as_deref(), f.column.as_deref()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (Kind::RowMissing, Some("messages"), None),
            (Kind::CellDiffers, Some("sessions"), Some("end_reason"))
        ],
        "{}",
        r.render_text()
    );
    assert_eq!(r.exit_code, 1);
    assert!(tmp.path().join("m/.thrum/events.jsonl").is_file(), "the tree is still written");
}

#[test]
fn lost_and_altered_v5_rows_are_reported() {
    let fx = build_v5();
    let v5 = Connection::open(fx.file("var/messages.db")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.db");
    std::fs::copy(fx.file("var/messages.db"), &m).unwrap();
    migrate_db(&m).unwrap();
    let mig = Connection::open(&m).unwrap();
    mig.execute("DELETE FROM message_refs", []).unwrap();
    mig.execute("UPDATE agents SET role = 'boss' WHERE agent_id = 'alice'", []).unwrap();
    mig.execute("UPDATE agents SET hostname = 'h' WHERE agent_id = 'bob'", []).unwrap();
    let mut f = Findings::new(0);
    let mut summary = Default::default();
    let stats = check_preserved(&v5, &mig, &mut f, &mut summary);
    let lost: Vec<_> = f.list().iter().filter(|x| x.kind == Kind::V5RowLost).collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].table.as_deref(), Some("message_refs"));
    assert_eq!(
        lost[0].key.as_deref(),
        Some(
            format!("message_id={}, ref_type=reply_to, ref_value={}", msg_id(2), msg_id(1))
                .as_str()
        )
    );
    let altered: Vec<(&str, &str, &str)> = f
        .list()
        .iter()
        .filter(|x| x.kind == Kind::V5RowAltered)
        .map(|x| {
            (x.key.as_deref().unwrap(), x.column.as_deref().unwrap(), x.actual.as_deref().unwrap())
        })
        .collect();
    assert_eq!(
        altered,
        vec![("agent_id=alice", "role", "\"boss\""), ("agent_id=bob", "hostname", "\"h\"")]
    );
    let agents = stats.iter().find(|s| s.table == "agents").unwrap();
    assert_eq!((agents.rows_db, agents.rows_expected, agents.differing), (2, Some(2), 2));
}

#[test]
fn unsafe_shard_names_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join(".thrum");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(
        t.join("messages.jsonl"),
        concat!(
            r#"{"type":"message.create","timestamp":"2026-03-02T09:00:00.000001Z","#,
            r#""message_id":"m1","agent_id":"../../evil","session_id":"s","body":{"content":"x"}}"#,
            "\n\n",
            r#"{"type":"message.edit","timestamp":"2026-03-02T09:00:01.000001Z","#,
            r#""message_id":"m1","body":{"content":"y"}}"#,
            "\nnot json\n"
        ),
    )
    .unwrap();
    let mut f = Findings::new(0);
    let st = migrate_jsonl(&t, &mut f).unwrap();
    assert_eq!((st.read, st.written, st.dropped, st.unparsable), (3, 0, 2, 1));
    assert_eq!(f.count(Kind::ShardNameInvalid), 2);
    assert_eq!(f.count(Kind::JsonlUnparsable), 1);
    assert_eq!(f.count(Kind::MigrationCountMismatch), 0);
    assert!(!dir.path().join("evil.jsonl").exists());
    assert_eq!(std::fs::read_dir(t.join("messages")).unwrap().count(), 0);
}

#[test]
fn a_v13_tree_is_not_migratable_input() {
    let fx = build();
    let e = verify::migrate_path(&fx.root, &MigrateOptions::default()).unwrap_err();
    assert!(matches!(e, verify::InputError::NotV5 { .. }), "{e}");
}

#[test]
fn v5_archive_with_its_manifest() {
    let fx = build_v5();
    let dir = tempfile::tempdir().unwrap();
    let archive = pack(&fx, dir.path(), "thrum-fixture-v5.tar.zst", "manifest-v5.json", 5);
    let r = verify::migrate_path(&archive, &MigrateOptions::default()).unwrap();
    assert!(r.consistent, "{}", r.render_text());
    assert!(r.summary["manifest"].as_str().unwrap().contains("manifest-v5.json"));
    assert_eq!(r.count(Kind::ChecksumsAbsent) + r.count(Kind::ManifestAbsent), 0);
}

#[test]
fn a_wal_beside_the_v5_database_is_reported_and_garbage_is_never_applied() {
    let fx = build_v5();
    std::fs::write(fx.file("var/messages.db-wal"), vec![0xAB; 5000]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let r = migrate_to(&fx, &tmp.path().join("m"));
    let errs: Vec<(Kind, Option<&str>)> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.kind, f.file.as_deref()))
        .collect();
    assert_eq!(
        errs,
        vec![(Kind::WalInvalid, Some(".thrum/var/messages.db-wal"))],
        "{}",
        r.render_text()
    );
    assert_eq!(r.exit_code, 1);
}

/// The schema objects of a database, `(type, name)` in `sqlite_master` order.
fn objects(db: &std::path::Path) -> Vec<(String, String)> {
    // immutable: a plain read-only connection to a WAL database would leave -shm and -wal files
    let uri = thrum_io::uri::immutable(db).unwrap();
    let c = Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let mut st = c.prepare("SELECT type, name FROM sqlite_master ORDER BY rowid").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(t, n)| (t.to_string(), n.to_string())).collect()
}

/// The v5 input's objects in order of creation (the fixture's database,
/// from the v5 DDL): each table with the automatic indexes of its keys,
/// then the indexes.
const V5_OBJECTS: &[(&str, &str)] = &[
    ("table", "schema_version"),
    ("table", "messages"),
    ("index", "sqlite_autoindex_messages_1"),
    ("table", "message_scopes"),
    ("index", "sqlite_autoindex_message_scopes_1"),
    ("table", "message_refs"),
    ("index", "sqlite_autoindex_message_refs_1"),
    ("table", "threads"),
    ("index", "sqlite_autoindex_threads_1"),
    ("table", "agents"),
    ("index", "sqlite_autoindex_agents_1"),
    ("table", "sessions"),
    ("index", "sqlite_autoindex_sessions_1"),
    ("table", "subscriptions"),
    ("index", "sqlite_autoindex_subscriptions_1"),
    ("table", "sqlite_sequence"),
    ("table", "message_reads"),
    ("index", "sqlite_autoindex_message_reads_1"),
    ("table", "message_edits"),
    ("table", "session_scopes"),
    ("index", "sqlite_autoindex_session_scopes_1"),
    ("table", "session_refs"),
    ("index", "sqlite_autoindex_session_refs_1"),
    ("index", "idx_messages_thread"),
    ("index", "idx_messages_time"),
    ("index", "idx_messages_agent"),
    ("index", "idx_messages_session"),
    ("index", "idx_messages_not_deleted"),
    ("index", "idx_scopes_lookup"),
    ("index", "idx_refs_lookup"),
    ("index", "idx_sessions_agent"),
    ("index", "idx_subscriptions_session"),
    ("index", "idx_subscriptions_scope"),
    ("index", "idx_subscriptions_mention"),
    ("index", "idx_edits_message"),
    ("index", "idx_session_scopes_lookup"),
    ("index", "idx_session_refs_lookup"),
    ("index", "idx_message_reads_agent"),
    ("index", "idx_message_reads_message"),
];

/// What the migration adds, step by step (docs/FORMAT.md section 7): 5→6
/// agent_work_contexts and its two indexes; 7→8 groups, group_members and
/// their three indexes; 8→9 events, its three indexes, then
/// sync_checkpoints. The ALTERs of 9→10 and 10→11 add no object; 11→12
/// drops threads (with its key's index) and idx_messages_thread.
const MIGRATION_ADDS: &[(&str, &str)] = &[
    ("table", "agent_work_contexts"),
    ("index", "sqlite_autoindex_agent_work_contexts_1"),
    ("index", "idx_work_contexts_agent"),
    ("index", "idx_work_contexts_branch"),
    ("table", "groups"),
    ("index", "sqlite_autoindex_groups_1"),
    ("index", "sqlite_autoindex_groups_2"),
    ("table", "group_members"),
    ("index", "sqlite_autoindex_group_members_1"),
    ("index", "idx_groups_name"),
    ("index", "idx_group_members_group"),
    ("index", "idx_group_members_lookup"),
    ("table", "events"),
    ("index", "sqlite_autoindex_events_1"),
    ("index", "sqlite_autoindex_events_2"),
    ("index", "idx_events_sequence"),
    ("index", "idx_events_type"),
    ("index", "idx_events_origin"),
    ("table", "sync_checkpoints"),
    ("index", "sqlite_autoindex_sync_checkpoints_1"),
];

#[test]
fn the_migrated_tree_is_what_the_daemon_leaves() {
    use std::os::unix::fs::PermissionsExt;
    let fx = build_v5();
    let v5_db = fx.thrum().join("var/messages.db");
    assert_eq!(objects(&v5_db), owned(V5_OBJECTS), "the input");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("migrated");
    let r = migrate_to(&fx, &out);
    assert!(r.consistent, "{}", r.render_text());
    let t = out.join(".thrum");

    // WAL mode, closed cleanly: the header says WAL, no -wal or -shm beside it
    let db = t.join("var/messages.db");
    let header = std::fs::read(&db).unwrap();
    assert_eq!((header[18], header[19]), (2, 2), "write and read versions");
    let mut var: Vec<String> = std::fs::read_dir(t.join("var"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    var.sort();
    assert_eq!(var, ["messages.db"]);

    // sqlite_master: the input's objects in place, the dropped ones gone, the new ones in the
    // daemon's order
    let dropped = ["threads", "sqlite_autoindex_threads_1", "idx_messages_thread"];
    let mut want: Vec<(String, String)> =
        owned(V5_OBJECTS).into_iter().filter(|(_, n)| !dropped.contains(&n.as_str())).collect();
    want.extend(owned(MIGRATION_ADDS));
    assert_eq!(objects(&db), want);

    // messages/ is created with mode 0750
    let mode = std::fs::metadata(t.join("messages")).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o750, "{mode:o}");
}

/// `--out` is compared with PATH by device and inode, before any work:
/// inside the input (also through a link) is refused with exit 2, the
/// input byte-identical, nothing written.
#[test]
fn an_out_inside_the_input_is_refused_before_any_work() {
    let fx = build_v5();
    let links = tempfile::tempdir().unwrap();
    let lnk = links.path().join("lnk");
    std::os::unix::fs::symlink(&fx.root, &lnk).unwrap();
    let why = "(by device and inode); an output must not be, hold or lie in an input";
    let cases = [
        (fx.root.clone(), fx.root.join("migrated"), "lies inside"),
        (fx.root.clone(), lnk.join("migrated"), "lies inside"),
        (lnk.clone(), fx.root.join(".thrum/new"), "lies inside"),
        (fx.root.join(".thrum"), fx.root.clone(), "contains"),
    ];
    for (path, out, relation) in cases {
        let before = (snapshot(&fx.root), snapshot(links.path()));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_verify"))
            .arg("migrate")
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let want = format!(
            "refusing --out {}: it {relation} PATH {} {why}\n",
            out.display(),
            path.display()
        );
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.starts_with("verify: error: cannot migrate ") && err.ends_with(&want), "{err}");
        assert_eq!((snapshot(&fx.root), snapshot(links.path())), before, "nothing written");
    }
}
