//! A tiny test-only fixture builder: hand-written events, canonical lines,
//! and a database built by applying the events with the verifier's own
//! projection (plus hand-written local rows). Also a v5 variant.
#![allow(dead_code)]

use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use thrum_schemas::{gojson, ids, time};

pub const DAEMON: &str = "d_0123456789ab";
/// 2026-03-02T09:00:00Z in µs.
pub const T0: i64 = 1_772_442_000_000_000;

/// An event line the builder wrote: its file, text, id and timestamp.
pub struct WrittenEvent {
    pub file: String,
    pub line: String,
    pub id: String,
    pub ts: String,
}

pub struct Builder {
    pub events: Vec<WrittenEvent>,
    seq: i64,
    t: i64,
    v5: bool,
}

pub fn ts(us: i64) -> String {
    time::rfc3339_nano(us)
}

impl Builder {
    pub fn new() -> Builder {
        Builder { events: Vec::new(), seq: 0, t: T0, v5: false }
    }
    pub fn v5() -> Builder {
        Builder { events: Vec::new(), seq: 0, t: T0, v5: true }
    }
    /// The next timestamp: 1.000001 s after the previous one (6 fractional digits).
    fn tick(&mut self) -> (i64, String) {
        self.t += 1_000_001;
        (self.t, ts(self.t))
    }
    /// Appends an event to `file` (relative to .thrum). Returns its event id.
    pub fn ev(&mut self, file: &str, ty: &str, payload: Value) -> String {
        let (us, stamp) = self.tick();
        self.seq += 1;
        let mut obj = match payload {
            Value::Object(m) => m,
            _ => panic!("payload must be an object"),
        };
        obj.insert("type".into(), json!(ty));
        obj.insert("timestamp".into(), json!(stamp));
        let id = ids::prefixed("evt_", (us / 1000) as u64, 0xABCD_0000 + self.seq as u128);
        if !self.v5 {
            obj.insert("event_id".into(), json!(id));
            obj.insert("v".into(), json!(1));
            obj.insert("origin_daemon".into(), json!(DAEMON));
            obj.insert("sequence".into(), json!(self.seq));
        } else if self.seq % 2 == 0 {
            obj.insert("v".into(), json!(1)); // v5 lines may lack v
        }
        let line = gojson::to_string(&Value::Object(obj));
        self.events.push(WrittenEvent { file: file.into(), line, id: id.clone(), ts: stamp });
        id
    }
    pub fn now(&self) -> i64 {
        self.t
    }
}

pub fn msg_id(n: u128) -> String {
    ids::prefixed("msg_", (T0 / 1000) as u64, n)
}
pub fn ses_id(n: u128) -> String {
    ids::prefixed("ses_", (T0 / 1000) as u64, n)
}
pub fn grp_id(n: u128) -> String {
    ids::prefixed("grp_", (T0 / 1000) as u64, n)
}

/// The standard small fixture's events: three agents (one human), sessions,
/// a group, messages in three shards, an edit, a delete, work contexts.
pub fn standard_events() -> Builder {
    let mut b = Builder::new();
    for (id, kind, role, display, host) in [
        ("alice", "agent", "coordinator", "Alice <lead>", "host-a"),
        ("bob", "agent", "implementer", "", ""),
        ("user:carol", "human", "reviewer", "Carol", "laptop"),
    ] {
        let mut p = json!({
            "agent_id": id, "kind": kind, "role": role, "module": "core", "worktree": "main"
        });
        if !display.is_empty() {
            p["display"] = json!(display);
        }
        if !host.is_empty() {
            p["hostname"] = json!(host);
        }
        b.ev("events.jsonl", "agent.register", p);
    }
    for (n, a) in [(1, "alice"), (2, "bob"), (3, "user:carol")] {
        b.ev(
            "events.jsonl",
            "agent.session.start",
            json!({"session_id": ses_id(n), "agent_id": a}),
        );
    }
    b.ev(
        "events.jsonl",
        "group.create",
        json!({
            "group_id": grp_id(1), "name": "reviewers", "description": "", "created_by": "alice"
        }),
    );
    b.ev(
        "events.jsonl",
        "group.member.add",
        json!({
            "group_id": grp_id(1), "member_type": "agent", "member_value": "bob",
            "added_by": "alice"
        }),
    );
    b.ev(
        "events.jsonl",
        "group.member.add",
        json!({
            "group_id": grp_id(1), "member_type": "role", "member_value": "reviewer",
            "added_by": "alice"
        }),
    );
    let thr = ids::prefixed("thr_", (T0 / 1000) as u64, 1);
    let m1 = json!({
        "message_id": msg_id(1), "thread_id": thr, "agent_id": "alice", "session_id": ses_id(1),
        "body": {"format": "markdown", "content": "hello & <welcome>"},
        "refs": [{"type": "mention", "value": "bob"}]
    });
    b.ev("messages/alice.jsonl", "message.create", m1);
    let m2 = json!({
        "message_id": msg_id(2), "thread_id": thr, "agent_id": "bob", "session_id": ses_id(2),
        "body": {"format": "markdown", "content": "hi"},
        "refs": [{"type": "reply_to", "value": msg_id(1)}, {"type": "mention", "value": "alice"}]
    });
    b.ev("messages/bob.jsonl", "message.create", m2);
    let m3 = json!({
        "message_id": msg_id(3), "agent_id": "alice", "session_id": ses_id(1),
        "body": {"format": "json", "content": "{}", "structured": "{\"k\":1}"},
        "scopes": [{"type": "group", "value": "reviewers"}],
        "refs": [{"type": "group", "value": "reviewers"}]
    });
    b.ev("messages/alice.jsonl", "message.create", m3);
    let m4 = json!({
        "message_id": msg_id(4), "agent_id": "user:carol", "session_id": ses_id(3),
        "body": {"format": "plain", "content": "broadcast"},
        "authored_by": "user:carol", "disclosed": false
    });
    b.ev("messages/user_carol.jsonl", "message.create", m4);
    let m5 = json!({
        "message_id": msg_id(5), "agent_id": "alice", "session_id": ses_id(1),
        "body": {"format": "markdown", "content": "to delete"}
    });
    b.ev("messages/alice.jsonl", "message.create", m5);
    b.ev(
        "messages/alice.jsonl",
        "message.edit",
        json!({"message_id": msg_id(1), "body": {"format": "markdown", "content": "hello again"}}),
    );
    b.ev(
        "messages/alice.jsonl",
        "message.delete",
        json!({"message_id": msg_id(5), "reason": "oops"}),
    );
    let g1 = ts(b.now());
    let context = json!({
        "session_id": ses_id(2), "branch": "feat/x", "worktree_path": "/w/x",
        "unmerged_commits": [{"sha": "abc", "message": "wip", "files": ["a.rs"]}],
        "uncommitted_files": ["b.rs"], "changed_files": ["a.rs", "b.rs"],
        "git_updated_at": g1, "current_task": "x", "task_updated_at": g1,
        "intent": "build", "intent_updated_at": g1
    });
    b.ev("events.jsonl", "agent.update", json!({"agent_id": "bob", "work_contexts": [context]}));
    let m6 = json!({
        "message_id": msg_id(6), "agent_id": "bob", "session_id": ses_id(2),
        "body": {"format": "markdown", "content": "done"},
        "refs": [{"type": "mention", "value": "reviewer"}]
    });
    b.ev("messages/bob.jsonl", "message.create", m6);
    b.ev(
        "events.jsonl",
        "agent.session.end",
        json!({"session_id": ses_id(2), "reason": "finished"}),
    );
    b.ev("events.jsonl", "future.event", json!({"x": 1}));
    // not written by a v13 daemon any more, but replayed into `threads`
    b.ev(
        "events.jsonl",
        "thread.create",
        json!({
            "thread_id": "thr_01KJPR7PVP71K30CHK69H32CSS", "title": "design review",
            "created_by": "alice"
        }),
    );
    b
}

pub struct Fixture {
    pub _tmp: tempfile::TempDir,
    /// The directory holding `.thrum`.
    pub root: PathBuf,
    pub builder: Builder,
}

impl Fixture {
    pub fn thrum(&self) -> PathBuf {
        self.root.join(".thrum")
    }
    pub fn db(&self) -> Connection {
        Connection::open(self.thrum().join("var/messages.db")).unwrap()
    }
    pub fn file(&self, rel: &str) -> PathBuf {
        self.thrum().join(rel)
    }
    pub fn lines(&self, rel: &str) -> Vec<String> {
        std::fs::read_to_string(self.file(rel)).unwrap().lines().map(str::to_owned).collect()
    }
    pub fn write_lines(&self, rel: &str, lines: &[String]) {
        let mut s = lines.join("\n");
        s.push('\n');
        std::fs::write(self.file(rel), s).unwrap();
    }
}

fn write_common(thrum: &Path, agents: &[(&str, &str, &str, &str, &str)]) {
    std::fs::create_dir_all(thrum.join("var")).unwrap();
    std::fs::create_dir_all(thrum.join("identities")).unwrap();
    std::fs::create_dir_all(thrum.join("context")).unwrap();
    std::fs::write(thrum.join("config.json"), "{\n  \"local_only\": true,\n  \"version\": 1\n}\n")
        .unwrap();
    std::fs::write(thrum.join("thrum.db"), b"").unwrap();
    for (kind, name, role, module, display) in agents {
        let ident = json!({
            "version": 2, "repo_id": "r_0123456789ab",
            "agent": {
                "Kind": kind, "Name": name, "Role": role, "Module": module, "Display": display
            },
            "worktree": "main", "confirmed_by": "", "context_file": format!("context/{name}.md"),
            "updated_at": "2026-03-02T09:00:00Z"
        });
        std::fs::write(
            thrum.join(format!("identities/{name}.json")),
            serde_json::to_string_pretty(&ident).unwrap(),
        )
        .unwrap();
        std::fs::write(thrum.join(format!("context/{name}.md")), format!("# {name}\n\nnotes\n"))
            .unwrap();
    }
}

const AGENTS: &[(&str, &str, &str, &str, &str)] = &[
    ("agent", "alice", "coordinator", "core", "Alice <lead>"),
    ("agent", "bob", "implementer", "core", ""),
    ("human", "carol", "reviewer", "core", "Carol"),
];

/// Builds the standard v13 fixture in a temporary directory.
/// The hostname of the hand-built fixture's one peer.
pub const PEER_HOST: &str = "peer-1.example.net";

/// `var/peers.json` listing the peer on `host` as the daemon writes it.
pub fn peers_json(host: &str) -> String {
    let id = thrum_schemas::ids::daemon_id(host);
    format!(
        "[\n  {{\n    \"name\": \"{host}\",\n    \"address\": \"{host}:9473\",\n    \"daemon_id\"\
            : \"{id}\",\n    \"token\": \"00ff\",\n    \"paired_at\": \"2026-03-02T05:59:00.5Z\"\
            ,\n    \"last_sync\": \"2026-03-02T09:01:40.25Z\"\n  }}\n]"
    )
}

pub fn build() -> Fixture {
    build_from(standard_events())
}

pub fn build_from(b: Builder) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fixture");
    let thrum = root.join(".thrum");
    write_common(&thrum, AGENTS);
    std::fs::create_dir_all(thrum.join("messages")).unwrap();
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    for e in &b.events {
        let f = files.entry(&e.file).or_default();
        f.push_str(&e.line);
        f.push('\n');
    }
    for (f, content) in &files {
        std::fs::write(thrum.join(f), content).unwrap();
    }
    let db = Connection::open(thrum.join("var/messages.db")).unwrap();
    db.execute_batch("PRAGMA foreign_keys=ON;").unwrap();
    db.execute_batch("BEGIN").unwrap();
    db.execute_batch(thrum_schemas::sql::V13).unwrap();
    db.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (13, '2026-03-02 09:00:00')",
        [],
    )
    .unwrap();
    for e in &b.events {
        let ev = thrum_schemas::events::Event::parse(&e.line).unwrap();
        verify::internals::apply(&db, &ev).unwrap();
        let env = &ev.envelope;
        db.execute(
            "INSERT INTO events (event_id, sequence, type, timestamp, origin_daemon, event_json) \
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                e.id,
                env.sequence,
                env.event_type,
                env.timestamp,
                env.origin_daemon,
                e.line
            ],
        )
        .unwrap();
    }
    // heartbeats (local columns), local tables
    let t = |us: i64| ts(us);
    let late = b.now() + 500_000_001;
    db.execute("UPDATE sessions SET last_seen_at = ?1 WHERE ended_at IS NULL", [t(late)]).unwrap();
    db.execute("UPDATE agents SET last_seen_at = ?1 WHERE agent_id = 'alice'", [t(late)]).unwrap();
    db.execute(
        "INSERT INTO message_reads VALUES (?1, ?2, 'bob', ?3)",
        [msg_id(1), ses_id(2), t(T0 + 14_000_000)],
    )
    .unwrap();
    db.execute(
        "INSERT INTO message_reads VALUES (?1, ?2, 'alice', ?3)",
        [msg_id(2), ses_id(1), t(late)],
    )
    .unwrap();
    db.execute(
        "INSERT INTO subscriptions (session_id, scope_type, scope_value, mention_role, \
        created_at) VALUES (?1, 'group', 'reviewers', NULL, ?2)",
        [ses_id(1), t(T0 + 7_000_000)],
    )
    .unwrap();
    db.execute(
        "INSERT INTO subscriptions (session_id, scope_type, scope_value, mention_role, \
        created_at) VALUES (?1, NULL, NULL, 'implementer', ?2)",
        [ses_id(2), t(T0 + 7_000_000)],
    )
    .unwrap();
    db.execute(
        "INSERT INTO subscriptions (session_id, scope_type, scope_value, mention_role, \
            created_at) VALUES (?1, NULL, NULL, NULL, ?2)",
        [ses_id(3), t(T0 + 7_000_000)],
    )
    .unwrap();
    db.execute(
        "INSERT INTO session_scopes VALUES (?1, 'module', 'core', ?2)",
        [ses_id(1), t(T0 + 5_000_000)],
    )
    .unwrap();
    db.execute(
        "INSERT INTO session_refs VALUES (?1, 'branch', 'feat/x', ?2)",
        [ses_id(2), t(T0 + 5_000_000)],
    )
    .unwrap();
    // a peer the daemon pulled from, registered in var/peers.json
    db.execute(
        "INSERT INTO sync_checkpoints VALUES (?1, 5, 1772442100, 'idle')",
        [thrum_schemas::ids::daemon_id(PEER_HOST)],
    )
    .unwrap();
    std::fs::write(thrum.join("var/peers.json"), peers_json(PEER_HOST)).unwrap();
    db.execute_batch("COMMIT").unwrap();
    // as a daemon leaves it: WAL mode in the header, no -wal/-shm after close
    db.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
    drop(db);
    Fixture { _tmp: tmp, root, builder: b }
}

/// Packs `fixture` as `{dir}/{name}` (.tar.zst, entries rooted at .thrum/)
/// and writes a manifest (`manifest_name`) and SHA256SUMS beside it.
pub fn pack(
    fx: &Fixture,
    dir: &Path,
    name: &str,
    manifest_name: &str,
    schema_version: i64,
) -> PathBuf {
    let (files, _) = verify::internals::walk_files(&fx.root, &fx.thrum()).unwrap();
    let contents: Vec<_> =
        files.iter().map(|f| (f, std::fs::read(fx.root.join(f)).unwrap())).collect();
    let mut entries = Vec::new();
    let mut line_counts = serde_json::Map::new();
    for (f, bytes) in &contents {
        entries.push(
            json!({"path": f, "sha256": thrum_io::hash::sha256_hex(bytes), "size": bytes.len()}),
        );
        if f.ends_with(".jsonl") {
            line_counts.insert(f.to_string(), json!(verify::internals::count_lines(bytes)));
        }
    }
    let tar_bytes = thrum_testkit::tar::regular_files(contents);
    let archive = zstd::stream::encode_all(&tar_bytes[..], 3).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &archive).unwrap();
    let db = fx.db();
    let mut tables = serde_json::Map::new();
    for t in ["messages", "agents", "sessions", "events"] {
        if let Ok(n) =
            db.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0))
        {
            tables.insert(t.into(), json!(n));
        }
    }
    let manifest = json!({
        "archive": {
            "path": name, "sha256": thrum_io::hash::sha256_hex(&archive), "size": archive.len()
        },
        "counts": {"files": line_counts, "tables": tables},
        "files": entries,
        "generator": "test-builder", "profile": "tiny", "schema_version": schema_version, "seed": 42
    });
    let mbytes = serde_json::to_string_pretty(&manifest).unwrap();
    std::fs::write(dir.join(manifest_name), &mbytes).unwrap();
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap_or_default();
    let sums = format!(
        "{sums}{}  {name}\n{}  {manifest_name}\n",
        thrum_io::hash::sha256_hex(&archive),
        thrum_io::hash::sha256_hex(mbytes.as_bytes())
    );
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
    path
}

/// A v5 fixture: one messages.jsonl (no event ids, `v` on half the lines),
/// a schema-5 database with threads, agents without hostname (NULL display).
pub fn build_v5() -> Fixture {
    let mut b = Builder::v5();
    for (id, role, display) in [("alice", "coordinator", "Alice"), ("bob", "implementer", "")] {
        let mut p = json!({"agent_id": id, "kind": "agent", "role": role, "module": "core"});
        if !display.is_empty() {
            p["display"] = json!(display);
        }
        b.ev("messages.jsonl", "agent.register", p);
    }
    b.ev(
        "messages.jsonl",
        "agent.session.start",
        json!({"session_id": ses_id(1), "agent_id": "alice"}),
    );
    b.ev(
        "messages.jsonl",
        "agent.session.start",
        json!({"session_id": ses_id(2), "agent_id": "bob"}),
    );
    let thr1 = ids::prefixed("thr_", (T0 / 1000) as u64, 1);
    let thr2 = ids::prefixed("thr_", (T0 / 1000) as u64, 2);
    b.ev(
        "messages.jsonl",
        "thread.create",
        json!({"thread_id": thr1, "title": "Plan", "created_by": "alice"}),
    );
    b.ev(
        "messages.jsonl",
        "thread.create",
        json!({"thread_id": thr2, "title": "Unused", "created_by": "bob"}),
    );
    b.ev(
        "messages.jsonl",
        "message.create",
        json!({
            "message_id": msg_id(1), "thread_id": thr1, "agent_id": "alice",
            "session_id": ses_id(1), "body": {"format": "markdown", "content": "plan <a>"}
        }),
    );
    let reply = json!({
        "message_id": msg_id(2), "thread_id": thr1, "agent_id": "bob", "session_id": ses_id(2),
        "body": {"format": "markdown", "content": "ok"},
        "refs": [{"type": "reply_to", "value": msg_id(1)}]
    });
    b.ev("messages.jsonl", "message.create", reply);
    b.ev(
        "messages.jsonl",
        "message.edit",
        json!({"message_id": msg_id(2), "body": {"format": "markdown", "content": "ok!"}}),
    );
    b.ev(
        "messages.jsonl",
        "message.edit",
        json!({"message_id": "msg_UNKNOWN", "body": {"content": "orphan"}}),
    );
    b.ev(
        "messages.jsonl",
        "message.delete",
        json!({"message_id": msg_id(1), "reason": "superseded"}),
    );
    b.ev("messages.jsonl", "agent.session.end", json!({"session_id": ses_id(2), "reason": "done"}));

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fixture-v5");
    let thrum = root.join(".thrum");
    write_common(
        &thrum,
        &[
            ("agent", "alice", "coordinator", "core", "Alice"),
            ("agent", "bob", "implementer", "core", ""),
        ],
    );
    let mut content = String::new();
    for e in &b.events {
        content.push_str(&e.line);
        content.push('\n');
    }
    std::fs::write(thrum.join("messages.jsonl"), content).unwrap();
    // project with v13 rules into memory, then copy into a v5 database
    let mem = verify::internals::fresh_v13().unwrap();
    for e in &b.events {
        verify::internals::apply(&mem, &thrum_schemas::events::Event::parse(&e.line).unwrap())
            .unwrap();
    }
    let db = Connection::open(thrum.join("var/messages.db")).unwrap();
    db.execute_batch("BEGIN").unwrap();
    db.execute_batch(thrum_schemas::sql::V5).unwrap();
    db.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (5, '2026-03-02 09:00:00')",
        [],
    )
    .unwrap();
    let copy = |table: &str, select: &str, cols: &str| {
        let mut st = mem.prepare(&format!("SELECT {select} FROM {table} ORDER BY rowid")).unwrap();
        let n = st.column_count();
        let rows: Vec<Vec<rusqlite::types::Value>> = st
            .query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let ph = (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(",");
        for r in rows {
            db.execute(
                &format!("INSERT INTO {table} ({cols}) VALUES ({ph})"),
                rusqlite::params_from_iter(r),
            )
            .unwrap();
        }
    };
    let all = |t: &str| {
        let st = db.prepare(&format!("SELECT * FROM {t} LIMIT 0")).unwrap();
        st.column_names().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
    };
    for t in ["messages", "message_scopes", "message_refs", "sessions", "message_edits"] {
        let cols = all(t);
        copy(t, &cols, &cols);
    }
    // the v5 agents table has no hostname and keeps NULL for empty display / last_seen_at
    copy(
        "agents",
        "agent_id, kind, role, module, NULLIF(display, ''), registered_at, NULLIF(last_seen_at, \
            '')",
        "agent_id, kind, role, module, display, registered_at, last_seen_at",
    );
    db.execute("INSERT INTO threads VALUES (?1, 'Plan', ?2, 'alice')", [&thr1, &b.events[4].ts])
        .unwrap();
    db.execute("INSERT INTO threads VALUES (?1, 'Unused', ?2, 'bob')", [&thr2, &b.events[5].ts])
        .unwrap();
    db.execute(
        "INSERT INTO message_reads VALUES (?1, ?2, 'bob', ?3)",
        [msg_id(1), ses_id(2), b.events[8].ts.clone()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO subscriptions (session_id, scope_type, scope_value, mention_role, \
        created_at) VALUES (?1, NULL, NULL, 'coordinator', ?2)",
        [ses_id(1), b.events[3].ts.clone()],
    )
    .unwrap();
    db.execute_batch("COMMIT").unwrap();
    drop(db);
    Fixture { _tmp: tmp, root, builder: b }
}

pub use thrum_testkit::snapshot;

/// How long a run of [`verify`] may take before it is killed and the test fails.
pub const RUN_DEADLINE: Duration = Duration::from_secs(300);

/// Runs `verify ARGS` (stdin empty): its exit code (-1 when a signal ended
/// it), stdout and stderr. Kills it and fails past [`RUN_DEADLINE`].
pub fn verify(args: &[&str]) -> (i32, String, String) {
    verify_within(args, RUN_DEADLINE)
}

/// [`verify`] with its own deadline: kills the run and fails past `deadline`.
pub fn verify_within(args: &[&str], deadline: Duration) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("verify {args:?} still running after {deadline:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (status.code().unwrap_or(-1), read(&out), read(&err))
}

/// A directory of this process in cargo's scratch directory for
/// integration tests, named `PREFIX<pid>-<random>`, after removing those
/// of processes that no longer run (`thrum_io::cleanup`).
pub fn scratch(prefix: &str) -> thrum_io::cleanup::TempDir {
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(parent).unwrap();
    thrum_io::cleanup::collect_stale(parent, prefix).unwrap();
    thrum_io::cleanup::temp_dir_in(parent, prefix).unwrap()
}
