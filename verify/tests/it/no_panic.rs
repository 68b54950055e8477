//! No input makes verify panic: arbitrary bytes and arbitrary JSON as event
//! lines (the JSONL reader, `Event::parse`, the line checks and the replay),
//! identity files, manifests, `SHA256SUMS`, WAL and database headers,
//! archives (the extractor), and random damage to whole fixtures (replay and
//! migrate end to end).

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use thrum_io::extract::{self, Limits};
use thrum_schemas::events::Event;
use verify::internals;
use verify::Findings;
use verify::Mode;
use verify::Tree;

// --- strategies ----------------------------------------------------------

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[a-z_:<>&\u{2028}\u{e9}\"\\\\\n ]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "2026-03-02T09:00:00.000001Z",
            "2026-03-02T09:00:00Z",
            "1969-12-31T23:59:59.999999Z",
            "not a time",
            "",
            "msg_01KJR75CYAM6NVAQ8V738Y3MWV",
            "ses_01KJR75CYAM6NVAQ8V738Y3MWV",
            "evt_01KJR75CYAM6NVAQ8V738Y3MWV",
            "d_0123456789ab",
            "alice",
            "user:bob",
            "agent:x:y",
            "../../etc",
        ])
        .prop_map(|s| Value::String(s.into())),
    ]
}

const KEYS: &[&str] = &[
    "type",
    "timestamp",
    "event_id",
    "v",
    "origin_daemon",
    "sequence",
    "message_id",
    "thread_id",
    "agent_id",
    "session_id",
    "body",
    "format",
    "content",
    "structured",
    "scopes",
    "refs",
    "value",
    "authored_by",
    "disclosed",
    "reason",
    "kind",
    "name",
    "role",
    "module",
    "display",
    "hostname",
    "work_contexts",
    "git_updated_at",
    "branch",
    "unmerged_commits",
    "files",
    "file_changes",
    "group_id",
    "description",
    "created_by",
    "member_type",
    "member_value",
    "added_by",
    "fields",
    "updated_by",
    "title",
];

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// An object that looks like an event: a type (known or not) and fields
/// from the format's vocabulary with arbitrary values.
fn event_object() -> impl Strategy<Value = Value> {
    let types = prop::sample::select(
        thrum_schemas::events::types::ALL
            .iter()
            .map(|s| s.to_string())
            .chain(["future.thing".into(), "".into(), "message.".into()])
            .collect::<Vec<_>>(),
    );
    (types, prop::collection::vec((prop::sample::select(KEYS), json_value()), 0..10), any::<bool>())
        .prop_map(|(ty, kv, keep_type)| {
            let mut m: Map<String, Value> =
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            if keep_type {
                m.insert("type".into(), Value::String(ty));
            }
            Value::Object(m)
        })
}

struct R {
    r: Vec<u64>,
    k: usize,
}

impl R {
    fn next(&mut self) -> u64 {
        self.k += 1;
        self.r[self.k % self.r.len()].rotate_left(self.k as u32 * 7)
    }
    fn pick(&mut self, xs: &[&str]) -> String {
        xs[(self.next() % xs.len() as u64) as usize].to_string()
    }
}

/// Well-typed events over small id pools, so that events meet (edits of
/// existing messages, duplicate ids, ties in time, groups renamed into each
/// other, contexts of ended sessions...): this reaches the projection's rules.
fn typed_event() -> impl Strategy<Value = Value> {
    let types = prop::sample::select(thrum_schemas::events::types::ALL.to_vec());
    (types, prop::collection::vec(any::<u64>(), 24)).prop_map(|(ty, r)| {
        let mut g = R { r, k: 0 };
        let pools: [&[&str]; 6] = [
            &["m1", "m2", "m3"],
            &["s1", "s2"],
            &["a1", "a2", "user:h"],
            &["g1", "g2"],
            &["n1", "n2", ""],
            &["", "x", "<&>", "2026-03-02T09:00:00.000001Z", "2026-03-02T09:00:00.5Z"],
        ];
        let [msg, ses, agent, grp, name, text] = pools;
        let times = [
            "2026-03-02T09:00:00.000001Z",
            "2026-03-02T09:00:00.000002Z",
            "2026-03-02T09:00:00Z",
            "bad",
        ];
        let ids = [
            "evt_01KJR75CYAM6NVAQ8V738Y3MWV",
            "evt_01KJR75CYAM6NVAQ8V738Y3MWW",
            "evt_01KJR75CYAM6NVAQ8V738Y3MWX",
        ];
        let mut o = serde_json::json!({
            "type": ty, "timestamp": g.pick(&times),
            "event_id": g.pick(&ids),
            "v": 1, "origin_daemon": "d_0123456789ab", "sequence": (g.next() % 5) as i64,
            "message_id": g.pick(msg), "session_id": g.pick(ses), "agent_id": g.pick(agent),
            "group_id": g.pick(grp), "name": g.pick(name),
            "kind": g.pick(&["agent", "human"]), "role": g.pick(text), "module": g.pick(text),
            "display": g.pick(text), "reason": g.pick(text),
            "created_by": g.pick(agent), "member_type": g.pick(&["agent", "role", "group"]),
            "member_value": g.pick(name), "added_by": g.pick(text),
            "removed_by": g.pick(text), "updated_by": g.pick(agent), "deleted_by": g.pick(agent),
            "thread_id": g.pick(text), "title": g.pick(text),
            "body": {
                "format": g.pick(&["markdown", "json", ""]), "content": g.pick(text),
                "structured": g.pick(text)
            },
            "scopes": [
                {"type": g.pick(&["group", "x"]), "value": g.pick(name)},
                {"type": "group", "value": g.pick(name)}
            ],
            "refs": [{"type": g.pick(&["mention", "reply_to"]), "value": g.pick(msg)}],
            "authored_by": g.pick(agent), "disclosed": g.next() % 2 == 0,
            "fields": {"description": g.pick(text), "name": g.pick(name)},
            "work_contexts": [
                {
                    "session_id": g.pick(ses), "branch": g.pick(text),
                    "git_updated_at": g.pick(text),
                    "unmerged_commits": [
                        {"sha": "abc", "message": g.pick(text), "files": [g.pick(text)]}
                    ],
                    "uncommitted_files": [g.pick(text)]
                },
                {
                    "session_id": g.pick(ses), "git_updated_at": g.pick(text),
                    "file_changes": [{"path": "p", "additions": 1}]
                }
            ],
        });
        // drop some fields at random, as real events omit optional ones
        if let Value::Object(m) = &mut o {
            let keys: Vec<String> = m.keys().cloned().collect();
            for key in keys {
                if key != "type" && g.next() % 4 == 0 {
                    m.remove(&key);
                }
            }
        }
        o
    })
}

pub(crate) fn event_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => typed_event().prop_map(|v| thrum_schemas::gojson::to_string(&v).into_bytes()),
        2 => event_object().prop_map(|v| thrum_schemas::gojson::to_string(&v).into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// The event file `bytes` (shard `x`), streamed and replayed as `verify
/// replay` reads event logs; the temporary directory holds the file.
fn streamed_from(
    bytes: &[u8],
    mode: Mode,
) -> (tempfile::TempDir, Result<internals::Streamed, String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    std::fs::write(&path, bytes).unwrap();
    let src =
        internals::Source { path, rel: ".thrum/messages/x.jsonl".into(), shard: Some("x".into()) };
    let r =
        internals::stream(vec![src], mode, u64::MAX, &std::sync::atomic::AtomicBool::new(false))
            .map_err(|e| match e {
                internals::Stop::Input(e) => e.to_string(),
                internals::Stop::Replay(e) => format!("replay database: {e}"),
                internals::Stop::Unsorted => "unsorted".into(),
                internals::Stop::Cancelled => "cancelled".into(),
                internals::Stop::MultiOrigin => "multi-origin".into(),
            });
    (dir, r)
}

fn tree_at(base: &Path) -> Tree {
    Tree {
        thrum: base.join(".thrum"),
        base: base.to_path_buf(),
        archive: None,
        entries: None,
        _tmp: None,
    }
}

fn v13_db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(thrum_schemas::sql::V13).unwrap();
    c.execute_batch(
        "INSERT INTO agents (agent_id, kind, role, module, registered_at) VALUES \
        ('alice', 'agent', 'r', 'm', 't'), ('user:bob', 'human', 'r', 'm', 't')",
    )
    .unwrap();
    c
}

// --- event lines -------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic_the_jsonl_reader(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let (_dir, s) = streamed_from(&bytes, Mode::Migrated);
        let s = s.map_err(TestCaseError::fail)?;
        // every non-blank line is either an event or a finding
        let lines = internals::split_lines(&bytes).len() as u64;
        let info = &s.files[0];
        prop_assert!(info.events + info.unparsable + info.blank <= lines);
        prop_assert!(s.read_findings.total() as u64 >= info.unparsable);
        for (_, raw, _) in internals::split_lines(&bytes) {
            let _ = Event::parse(&String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn event_like_lines_never_panic_the_checks_or_the_replay(
        lines in prop::collection::vec(event_line(), 0..24),
    ) {
        let mut bytes = Vec::new();
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.push(b'\n');
        }
        for mode in [Mode::Fixture, Mode::Migrated] {
            let (_dir, s) = streamed_from(&bytes, mode);
            let s = s.map_err(TestCaseError::fail)?;
            let rep = &s.replay;
            prop_assert_eq!(rep.applied + rep.ignored + rep.rejected, s.events as usize);
            let db = v13_db();
            let mut f = Findings::new(0);
            let _ = internals::compare_projected(&db, &rep.conn, &mut f);
            let log = internals::check_event_log(&db, &s.index, &mut f);
            prop_assert!(log.is_ok(), "{:?}", log.err());
        }
    }
}

// --- identities, manifests, checksums, database files ----------------------

fn bytes_or_json() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap()),
        // shaped like the real thing, with arbitrary values
        (json_value(), json_value(), json_value(), json_value()).prop_map(|(a, b, c, d)| {
            serde_json::to_vec(&serde_json::json!({
                "version": a, "repo_id": "r_x",
                "agent": {"Kind": b, "Name": c, "Role": "r", "Module": "m", "Display": d},
                "worktree": "main", "confirmed_by": "", "context_file": c,
                "updated_at": "2026-03-02T09:00:00Z",
                "archive": {"path": "x.tar.zst", "sha256": a, "size": b},
                "files": [
                    {"path": c, "sha256": d, "size": 1},
                    {"path": ".thrum/a", "sha256": "00", "size": a}
                ],
                "counts": {
                    "files": {".thrum/a": b, "../../etc/passwd": 1},
                    "tables": {"messages": c, "no such table": 1, "sqlite_master": 0}
                },
                "generator": a, "profile": b, "schema_version": c, "seed": d
            }))
            .unwrap()
        }),
    ]
}

fn sums_text() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop::sample::select(vec![
            "0".repeat(64),
            "A".repeat(64),
            "ff".repeat(31),
            "x".to_string(),
        ]),
        prop::sample::select(vec!["  ", " *", " ", "\t"]),
        prop::sample::select(vec![
            ".thrum/a",
            "../outside",
            "/etc/passwd",
            "x.tar.zst",
            ".thrum",
            "",
            "\u{e9}\u{0}",
            ".thrum/../.thrum/a",
        ]),
    )
        .prop_map(|(h, s, p)| format!("{h}{s}{p}").into_bytes());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        prop::collection::vec(line, 0..6).prop_map(|ls| ls.join(&b"\n"[..]))
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn identity_manifest_and_checksum_files_never_panic(
        identity in bytes_or_json(),
        manifest in bytes_or_json(),
        sums in sums_text(),
        name in "[a-z_.]{1,10}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let thrum = dir.path().join(".thrum");
        std::fs::create_dir_all(thrum.join("identities")).unwrap();
        std::fs::create_dir_all(thrum.join("context")).unwrap();
        std::fs::write(thrum.join("a"), b"a\n").unwrap();
        std::fs::write(thrum.join(format!("identities/{name}.json")), &identity).unwrap();
        std::fs::write(thrum.join("identities/alice.json"), &identity).unwrap();
        std::fs::write(thrum.join("context/alice.md"), b"x").unwrap();
        std::fs::write(dir.path().join("manifest.json"), &manifest).unwrap();
        std::fs::write(dir.path().join("SHA256SUMS"), &sums).unwrap();
        let db = v13_db();
        let tree = tree_at(dir.path());
        let mut f = Findings::new(0);
        internals::check_identities(&tree, &db, &mut f);
        internals::check_layout(&tree, &mut f);
        internals::check_manifest(&tree, &db, Some(13), &mut f);
        // the same files beside an archive
        std::fs::write(dir.path().join("x.tar.zst"), b"whatever").unwrap();
        std::fs::write(dir.path().join("manifest-x.json"), &manifest).unwrap();
        let tree = Tree { archive: Some(dir.path().join("x.tar.zst")), ..tree_at(dir.path()) };
        internals::check_manifest(&tree, &db, None, &mut f);
        // nothing outside the directory was named as checked
        for x in f.list() {
            if let Some(file) = &x.file {
                prop_assert!(
                    !file.contains("/etc/passwd") || x.kind != verify::Kind::ChecksumMismatch
                );
            }
        }
    }

    #[test]
    fn wal_and_database_headers_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..9000),
        page in prop::option::of(any::<u32>()),
        len in any::<u64>(),
    ) {
        let _ = internals::inspect_wal_bytes(&bytes, page);
        if let Some(h) = internals::parse_header(&bytes) {
            let _ = internals::truncation(&h, len);
        }
        let mut h = b"SQLite format 3\0".to_vec();
        h.extend_from_slice(&bytes);
        if let Some(hd) = internals::parse_header(&h) {
            prop_assert!(hd.page_size.is_power_of_two());
            let _ = internals::truncation(&hd, len);
        }
    }
}

// --- archives ------------------------------------------------------------------

fn entry() -> impl Strategy<Value = (Vec<u8>, u8, Vec<u8>, Vec<u8>)> {
    let names = prop_oneof![
        prop::sample::select(vec![
            ".thrum/",
            ".thrum/a",
            ".thrum/d/b",
            "./.thrum/a",
            "/abs",
            "../up",
            ".thrum/../../x",
            ".thrum/a/b",
            "x",
            "",
            ".",
            "./",
            ".thrum//c",
            "././@LongLink",
            "PaxHeaders/p",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    let types = prop::sample::select(vec![
        b'0', b'0', b'5', b'1', b'2', b'3', b'4', b'6', b'7', b'x', b'g', b'L', b'K', b'S', 0u8,
        b'Z',
    ]);
    let data = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        Just(b"20 path=../../evil\n".to_vec()),
        Just(b"../../evil\0".to_vec()),
        Just(b"30 size=99999999999999999999\n".to_vec()),
    ];
    (names, types, data, prop::collection::vec(any::<u8>(), 0..12))
}

fn small_limits() -> Limits {
    Limits { max_entry_bytes: 4096, max_total_bytes: 8192, max_entries: 16 }
}

/// Extracts `archive_bytes` into `dir/dest` and checks the outcome: DEST is
/// complete and holds only files and directories, or is absent; nothing else
/// appears in `dir`.
fn extract_and_check(archive_bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar.zst");
    std::fs::write(&a, archive_bytes).unwrap();
    let dest: PathBuf = dir.path().join("dest");
    let r = extract::extract(&a, &dest, &small_limits());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    match r {
        Ok(entries) => {
            prop_assert_eq!(names, vec!["a.tar.zst".to_string(), "dest".to_string()]);
            let (files, other) = internals::walk_files(&dest, &dest).unwrap();
            prop_assert!(other.is_empty(), "only files and directories: {:?}", other);
            let listed: Vec<&str> = entries
                .iter()
                .filter(|e| e.kind == extract::EntryKind::File)
                .map(|e| e.path.as_str())
                .collect();
            let mut listed_sorted = listed.clone();
            listed_sorted.sort();
            prop_assert_eq!(files, listed_sorted.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            let total: u64 = entries.iter().map(|e| e.size).sum();
            prop_assert!(total <= small_limits().max_total_bytes);
        }
        Err(_) => prop_assert_eq!(names, vec!["a.tar.zst".to_string()]),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_archives_never_panic_and_never_escape(
        entries in prop::collection::vec(entry(), 0..8),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        raw in prop::collection::vec(any::<u8>(), 0..300),
        gzip in any::<bool>(),
    ) {
        let mut t = Vec::new();
        for (name, typ, data, link) in &entries {
            // names and links cut to their 100-byte fields
            let (n, l) = (&name[..name.len().min(100)], &link[..link.len().min(100)]);
            t.extend_from_slice(&thrum_testkit::tar::header(n, *typ, data.len() as u64, l));
            t.extend_from_slice(data);
            t.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
        }
        t.extend(std::iter::repeat_n(0u8, 1024));
        for (i, b) in &flips {
            let at = i.index(t.len());
            t[at] ^= *b;
        }
        let compressed = if gzip {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &t).unwrap();
            e.finish().unwrap()
        } else {
            zstd::stream::encode_all(&t[..], 1).unwrap()
        };
        extract_and_check(&compressed)?;
        // raw bytes behind a zstd or gzip magic
        let mut z = vec![0x28, 0xb5, 0x2f, 0xfd];
        z.extend_from_slice(&raw);
        extract_and_check(&z)?;
        let mut g = vec![0x1f, 0x8b];
        g.extend_from_slice(&raw);
        extract_and_check(&g)?;
    }
}

// --- whole fixtures, damaged at random -----------------------------------------

/// One to five damage operations for `damage`: (operation, where, byte).
fn damage_ops() -> impl Strategy<Value = Vec<(u8, prop::sample::Index, u8)>> {
    prop::collection::vec((any::<u8>(), any::<prop::sample::Index>(), any::<u8>()), 1..6)
}

/// Random damage to one file: flip, insert or delete bytes, or truncate.
fn damage(bytes: &mut Vec<u8>, ops: &[(u8, prop::sample::Index, u8)]) {
    for (op, at, val) in ops {
        if bytes.is_empty() {
            bytes.push(*val);
            continue;
        }
        let i = at.index(bytes.len());
        match op % 4 {
            0 => bytes[i] ^= val | 1,
            1 => bytes.insert(i, *val),
            2 => {
                bytes.remove(i);
            }
            _ => bytes.truncate(i),
        }
    }
}

fn files_of(root: &Path) -> Vec<String> {
    internals::walk_files(root, root).unwrap().0
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn damaged_fixtures_never_panic_replay(
        pick in any::<prop::sample::Index>(),
        ops in damage_ops(),
    ) {
        let fx = crate::common::build();
        let files = files_of(&fx.root);
        let f = fx.root.join(pick.get(&files));
        let mut b = std::fs::read(&f).unwrap();
        damage(&mut b, &ops);
        std::fs::write(&f, &b).unwrap();
        match verify::verify_path(&fx.root, &verify::Options::default()) {
            Ok(r) => prop_assert!(r.exit_code == 0 || r.exit_code == 1),
            Err(e) => prop_assert!(!e.to_string().contains("panicked"), "{e}"),
        }
    }

    #[test]
    fn damaged_v5_fixtures_never_panic_migrate(
        pick in any::<prop::sample::Index>(),
        ops in damage_ops(),
    ) {
        let fx = crate::common::build_v5();
        let files = files_of(&fx.root);
        let f = fx.root.join(pick.get(&files));
        let mut b = std::fs::read(&f).unwrap();
        damage(&mut b, &ops);
        std::fs::write(&f, &b).unwrap();
        match verify::migrate_path(&fx.root, &verify::MigrateOptions::default()) {
            Ok(r) => prop_assert!(r.exit_code == 0 || r.exit_code == 1),
            Err(e) => prop_assert!(!e.to_string().contains("panicked"), "{e}"),
        }
    }
}
