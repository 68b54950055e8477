//! The default fixture holds exactly the design volumes. Everything here is
//! read back from the written archive (database and files), not from the
//! generator's own variables.

use crate::common::*;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use thrum_gen::Profile;
use thrum_schemas::time::parse_rfc3339;

fn count(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn default_fixture_matches_the_design() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate(tmp.path(), 42, Profile::default_profile(), 2);
    let tree = tmp.path().join("tree");
    extract(&out.join(testgen::ARCHIVE), &tree);
    let root = tree.join(".thrum");
    let dbp = root.join("var/messages.db");
    assert!(
        !root.join("var/messages.db-wal").exists() && !root.join("var/messages.db-shm").exists()
    );
    let db = Connection::open(&dbp).unwrap();
    assert_eq!(
        db.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap(),
        "ok"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
    assert_eq!(count(&db, "SELECT version FROM schema_version"), 13);
    // No wall-clock value: applied_at is the window start, not today.
    let applied: String =
        db.query_row("SELECT applied_at FROM schema_version", [], |r| r.get(0)).unwrap();
    assert_eq!(applied, "2026-03-02 06:00:00");
    // The database header says WAL (bytes 18 and 19), as a daemon leaves it;
    // a fresh v13 database has `threads` and idx_messages_thread.
    let header = std::fs::read(&dbp).unwrap();
    assert_eq!((header[18], header[19]), (2, 2));
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('threads', \
            'idx_messages_thread', 'sqlite_autoindex_threads_1')"
        ),
        3
    );

    // Traffic over the whole window, with a daily rhythm: no UTC day holds
    // more than 40 % of the messages, each day of the window at least 3 %,
    // and working hours (07-19 UTC) are busier than the night.
    let per_day: Vec<(String, i64)> = db
        .prepare("SELECT substr(created_at, 1, 10), COUNT(*) FROM messages GROUP BY 1 ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(per_day.len(), 6, "{per_day:?}");
    for (day, n) in &per_day {
        assert!(
            *n * 100 <= 40 * 10_000 && *n * 100 >= 3 * 10_000,
            "{day}: {n} of 10,000 messages ({per_day:?})"
        );
    }
    let day_hours = count(
        &db,
        "SELECT COUNT(*) FROM messages WHERE CAST(substr(created_at, 12, \
        2) AS INTEGER) BETWEEN 7 AND 18",
    );
    assert!(
        day_hours > 2 * (10_000 - day_hours),
        "working hours must carry twice the traffic of the night: {day_hours}"
    );
    // the manifest records the same messages per day
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let recorded: Vec<(String, i64)> = manifest["counts"]["messages_per_day"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
        .collect();
    assert_eq!(recorded, per_day);
    // ... while 50 sessions are still running at the snapshot
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL"), 50);

    // Agents: 40 role x module combinations + 10 extras, >= 2 humans.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM agents"), 50);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(DISTINCT role || '/' || module) FROM agents WHERE role IN \
        ('coordinator','implementer','reviewer','planner','tester')"
        ),
        40
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM agents WHERE role IN \
        ('researcher','documenter','deployer','monitor','orchestrator')"
        ),
        10
    );
    assert!(
        count(&db, "SELECT COUNT(*) FROM agents WHERE kind = 'human' AND agent_id LIKE 'user:%'")
            >= 2
    );
    assert!(count(&db, "SELECT COUNT(DISTINCT display) FROM agents") >= 40, "varied display names");
    let hosts = count(&db, "SELECT COUNT(DISTINCT hostname) FROM agents WHERE hostname != ''");
    assert!((3..=10).contains(&hosts), "a handful of hostnames, got {hosts}");

    // Sessions: 100, every agent has one, 50 active, 50 ended with a reason, 5 min .. 8 h.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions"), 100);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM agents WHERE agent_id NOT IN (SELECT agent_id FROM sessions)"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL"), 50);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM sessions WHERE ended_at IS NOT NULL AND end_reason IS NOT NULL"
        ),
        50
    );
    let snapshot = parse_rfc3339("2026-03-07T06:00:00Z").unwrap();
    let mut stmt = db.prepare("SELECT started_at, ended_at FROM sessions").unwrap();
    let spans: Vec<(String, Option<String>)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for (s, e) in &spans {
        let s = parse_rfc3339(s).unwrap();
        let e = e.as_deref().map_or(snapshot, |e| parse_rfc3339(e).unwrap());
        let minutes = (e - s) / 60_000_000;
        // ended sessions last 5 min to 8 h; a running one may have started days ago
        let most = if e == snapshot { 5 * 24 * 60 } else { 480 };
        assert!((5..=most).contains(&minutes), "session of {minutes} minutes");
        first = first.min(s);
        last = last.max(e);
    }
    assert!(last - first > 3 * 86_400_000_000, "multi-day window");

    // Messages: 10,000 = 6,000 broadcast + 3,000 directed + 1,000 replies.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM messages"), 10_000);
    let replies = count(
        &db,
        "SELECT COUNT(DISTINCT message_id) FROM message_refs WHERE ref_type = 'reply_to'",
    );
    let directed = count(
        &db,
        "SELECT COUNT(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM \
        message_refs r WHERE r.message_id = m.message_id AND r.ref_type = 'reply_to') AND (EXISTS \
        (SELECT 1 FROM message_refs r WHERE r.message_id = m.message_id AND r.ref_type IN \
        ('mention','group')))",
    );
    assert_eq!((replies, directed), (1000, 3000));
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_scopes s JOIN message_refs r ON r.message_id \
        = s.message_id AND r.ref_type = 'group' AND r.ref_value = s.scope_value WHERE \
        s.scope_type = 'group'"
        ) > 100,
        "group messages: scope + ref"
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_refs WHERE ref_type = 'mention' AND ref_value IN \
            (SELECT role FROM agents)"
        ) > 100,
        "role mentions"
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_refs WHERE ref_type = 'mention' AND ref_value IN \
            (SELECT agent_id FROM agents)"
        ) > 100,
        "agent mentions"
    );
    // replies: reply_to an earlier message, thread shared per conversation
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_refs r JOIN messages c ON c.message_id = \
        r.message_id JOIN messages p ON p.message_id = r.ref_value WHERE r.ref_type = 'reply_to' \
        AND p.created_at < c.created_at AND c.thread_id IS NOT NULL"
        ),
        1000
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_refs r JOIN messages c ON c.message_id = \
        r.message_id JOIN messages p ON p.message_id = r.ref_value WHERE r.ref_type = 'reply_to' \
        AND p.thread_id IS NOT NULL AND p.thread_id != c.thread_id"
        ),
        0
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM (SELECT thread_id FROM messages WHERE thread_id IS NOT NULL \
                GROUP BY thread_id HAVING COUNT(*) > 1)"
        ) > 50,
        "conversations longer than one reply"
    );
    // each message sent inside its author's session
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM messages m JOIN sessions s ON s.session_id = \
        m.session_id WHERE s.agent_id = COALESCE(m.authored_by, m.agent_id) AND m.created_at > \
        s.started_at AND (s.ended_at IS NULL OR m.created_at < s.ended_at)"
        ),
        10_000
    );
    // bodies: varied length, markdown features, escapes, non-ASCII, other formats
    let (min_len, max_len) = db
        .query_row(
            "SELECT MIN(LENGTH(body_content)), MAX(LENGTH(body_content)) FROM messages",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .unwrap();
    assert!(min_len < 80 && max_len > 1000, "lengths {min_len}..{max_len}");
    for pat in ["%```%", "%\n- %", "%](http%", "%<%", "%&%", "%ü%"] {
        assert!(
            count(&db, &format!("SELECT COUNT(*) FROM messages WHERE body_content LIKE '{pat}'"))
                > 5,
            "bodies with {pat:?}"
        );
    }
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM messages WHERE body_format = 'json' AND \
        body_structured IS NOT NULL"
        ) > 50
    );
    assert!(count(&db, "SELECT COUNT(*) FROM messages WHERE body_format = 'plain'") > 50);
    let imp = count(
        &db,
        "SELECT COUNT(*) FROM messages WHERE authored_by IS NOT NULL AND authored_by != agent_id",
    );
    assert!((20..=300).contains(&imp), "a few impersonated messages: {imp}");
    assert!(count(&db, "SELECT COUNT(*) FROM messages WHERE disclosed = 1") > 0);

    // Edits ~2 %, deletes ~1 %.
    let edited = count(&db, "SELECT COUNT(DISTINCT message_id) FROM message_edits");
    let deleted =
        count(&db, "SELECT COUNT(*) FROM messages WHERE deleted = 1 AND deleted_at IS NOT NULL");
    assert!((150..=260).contains(&edited), "edited {edited}");
    assert!((60..=160).contains(&deleted), "deleted {deleted}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM messages WHERE updated_at IS NOT NULL"), edited);

    // Groups: 20 (5 role, 8 module, 3 nested, 3 ad hoc and `everyone`), 80
    // member rows; the role groups and `everyone` have a role member.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM groups"), 20);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM group_members"), 80);
    assert_eq!(
        count(&db, "SELECT COUNT(DISTINCT group_id) FROM group_members WHERE member_type = 'role'"),
        6
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM groups WHERE name LIKE '%-team'"), 8);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(DISTINCT group_id) FROM group_members WHERE member_type = 'group'"
        ),
        3
    );

    // events.jsonl: exactly 500 events of the listed types.
    let events = jsonl(&root.join("events.jsonl"));
    assert_eq!(events.len(), 500);
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        *types.entry(e["type"].as_str().unwrap().to_string()).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = [
        ("agent.register", 50),
        ("agent.session.start", 100),
        ("agent.session.end", 50),
        ("group.create", 20),
        ("group.member.add", 80),
        ("agent.update", 200),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(types, want);
    the_first_start_is_first(&db, &events);
    peers_are_listed(&out.join(testgen::ARCHIVE), &root, &db);

    // Work contexts: one per active session, 40-hex SHAs.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM agent_work_contexts"), 50);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM agent_work_contexts w JOIN sessions s USING \
        (session_id) WHERE s.ended_at IS NULL"
        ),
        50
    );
    let mut stmt = db.prepare("SELECT unmerged_commits FROM agent_work_contexts").unwrap();
    let mut shas = 0;
    for c in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let v: serde_json::Value = serde_json::from_str(&c.unwrap()).unwrap();
        for commit in v.as_array().unwrap() {
            let sha = commit["sha"].as_str().unwrap();
            assert!(sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
            shas += 1;
        }
    }
    assert!(shas > 30);

    // Reads: ~70 %, once each, by a recipient other than the author, after creation, inside the
    // reader's session.
    let reads = count(&db, "SELECT COUNT(*) FROM message_reads");
    assert!((6900..=7100).contains(&reads), "{reads} reads");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_reads r JOIN messages m USING \
        (message_id) JOIN sessions s ON s.session_id = r.session_id WHERE r.read_at > \
        m.created_at AND s.agent_id = r.agent_id AND r.agent_id != m.agent_id AND r.read_at > \
        s.started_at AND (s.ended_at IS NULL OR r.read_at < s.ended_at)"
        ),
        reads
    );

    // Subscriptions: 150 of three shapes on existing sessions.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM subscriptions s JOIN sessions USING (session_id)"),
        150
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM subscriptions WHERE scope_type IS NOT NULL AND \
            scope_value IS NOT NULL AND mention_role IS NULL"
        ) > 10
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM subscriptions WHERE scope_type IS NULL AND \
        mention_role IS NOT NULL"
        ) > 10
    );
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM subscriptions WHERE scope_type IS NULL AND \
        scope_value IS NULL AND mention_role IS NULL"
        ) > 5
    );

    // Sync checkpoints: 3 peers, never beyond the last event.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM sync_checkpoints WHERE last_synced_sequence <= \
        (SELECT MAX(sequence) FROM events)"
        ),
        3
    );

    // The events table: one row per line of every file, identical JSON, sequence 1..N in replay
    // order.
    let mut lines: HashMap<String, String> = HashMap::new();
    let mut files = vec![root.join("events.jsonl")];
    files.extend(std::fs::read_dir(root.join("messages")).unwrap().map(|e| e.unwrap().path()));
    for f in &files {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            lines.insert(v["event_id"].as_str().unwrap().to_string(), l.to_string());
        }
    }
    let n = count(&db, "SELECT COUNT(*) FROM events");
    assert_eq!(n as usize, lines.len());
    let mut stmt = db
        .prepare(
            "SELECT event_id, sequence, timestamp, event_json FROM events ORDER \
        BY timestamp, event_id",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .unwrap();
    for (expect_seq, row) in (1i64..).zip(rows) {
        let (id, seq, _, json) = row.unwrap();
        assert_eq!(seq, expect_seq, "sequence follows replay order");
        assert_eq!(lines.get(&id), Some(&json), "event_json of {id}");
    }

    // Files: 50 identities (v2), 50 context files, config.json, empty thrum.db.
    let ids: Vec<_> =
        std::fs::read_dir(root.join("identities")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(ids.len(), 50);
    let mut agent_ids = HashSet::new();
    for p in &ids {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(v["version"], 2);
        let a = &v["agent"];
        let id = if a["Kind"] == "human" {
            format!("user:{}", a["Name"].as_str().unwrap())
        } else {
            a["Name"].as_str().unwrap().to_string()
        };
        agent_ids.insert(id);
        assert!(root.join(v["context_file"].as_str().unwrap()).exists());
    }
    assert_eq!(agent_ids.len(), 50);
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM agents WHERE agent_id IN ({})",
                agent_ids.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(",")
            )
        ),
        50
    );
    let ctx: Vec<_> = std::fs::read_dir(root.join("context"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(ctx.len(), 50);
    assert!(ctx.iter().collect::<HashSet<_>>().len() == 50, "context notes vary");
    assert_eq!(
        std::fs::read_to_string(root.join("config.json")).unwrap(),
        "{\n  \"local_only\": true,\n  \"version\": 1\n}"
    );
    assert_eq!(std::fs::metadata(root.join("thrum.db")).unwrap().len(), 0);
}

#[test]
fn manifest_and_sums_describe_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = generate(tmp.path(), 3, Profile::small(), 1);
    let tree = tmp.path().join("tree");
    extract(&out.join(testgen::ARCHIVE), &tree);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(testgen::MANIFEST)).unwrap())
            .unwrap();
    assert_eq!(m["seed"], 3);
    assert_eq!(m["profile"], "small");
    assert_eq!(m["schema_version"], 13);
    for f in m["files"].as_array().unwrap() {
        let bytes = std::fs::read(tree.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["size"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            thrum_io::hash::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes))
        );
    }
    let db = Connection::open(tree.join(".thrum/var/messages.db")).unwrap();
    for (t, n) in m["counts"]["tables"].as_object().unwrap() {
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) FROM \"{t}\"")),
            n.as_i64().unwrap(),
            "{t}"
        );
    }
    // SHA256SUMS covers every artifact, in `sha256sum -c` format.
    let sums = std::fs::read_to_string(out.join(testgen::SUMS)).unwrap();
    let listed: Vec<&str> = sums.lines().map(|l| l.split_once("  ").unwrap().1).collect();
    let mut all: Vec<String> = read_all(&out).into_keys().filter(|k| k != testgen::SUMS).collect();
    all.sort();
    assert_eq!(listed, all);
    let o = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg("--quiet")
        .arg(testgen::SUMS)
        .current_dir(&out)
        .output();
    if let Ok(o) = o {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

/// What the daemon wrote when it first started (docs/FORMAT.md section
/// 10): the `everyone` pair, the first two lines of `events.jsonl` and
/// sequences 1 and 2, at one moment of the window's first second, and
/// their rows.
fn the_first_start_is_first(db: &Connection, events: &[serde_json::Value]) {
    let (create, add) = (&events[0], &events[1]);
    let ts = create["timestamp"].as_str().unwrap();
    let (eid_c, eid_a) = (create["event_id"].as_str().unwrap(), add["event_id"].as_str().unwrap());
    let od = create["origin_daemon"].clone();
    let want_c = serde_json::json!({"created_by": "system", "description": "All agents",
        "event_id": eid_c, "group_id": "grp_everyone", "name": "everyone", "origin_daemon": od,
        "sequence": 1, "timestamp": ts, "type": "group.create", "v": 1});
    let want_a = serde_json::json!({"added_by": "system", "event_id": eid_a,
        "group_id": "grp_everyone", "member_type": "role", "member_value": "*",
        "origin_daemon": od, "sequence": 2, "timestamp": ts, "type": "group.member.add", "v": 1});
    assert_eq!((create, add), (&want_c, &want_a));
    assert!(eid_c < eid_a, "replay applies the create first");
    assert!(ts.starts_with("2026-03-02T06:00:00."), "{ts}");
    let first_other = parse_rfc3339(events[2]["timestamp"].as_str().unwrap()).unwrap();
    assert!(parse_rfc3339(ts).unwrap() < first_other);
    let seq = |id: &str| -> i64 {
        db.query_row("SELECT sequence FROM events WHERE event_id = ?1", [id], |r| r.get(0)).unwrap()
    };
    assert_eq!((seq(eid_c), seq(eid_a)), (1, 2));
    let group: (String, String, String, String, Option<String>) = db
        .query_row(
            "SELECT name, description, created_at, created_by, updated_at FROM groups \
            WHERE group_id = 'grp_everyone'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(group, ("everyone".into(), "All agents".into(), ts.into(), "system".into(), None));
    let member: (i64, String, String, String, String) = db
        .query_row(
            "SELECT id, member_type, member_value, added_at, added_by FROM group_members \
            WHERE group_id = 'grp_everyone'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(member, (1, "role".into(), "*".into(), ts.into(), "system".into()));
}

/// `var/peers.json` (docs/FORMAT.md section 8): private in the archive,
/// a 2-space indented array listing the peer of every sync checkpoint,
/// keys in the daemon's order, ids derived from the names, paired after
/// the first start, last pulled in the second the checkpoint records.
fn peers_are_listed(archive: &Path, root: &Path, db: &Connection) {
    assert_eq!(archived_mode(archive, ".thrum/var/peers.json"), 0o600);
    let text = std::fs::read_to_string(root.join("var/peers.json")).unwrap();
    assert!(text.starts_with("[\n  {\n    \"name\": \"") && text.ends_with("\n  }\n]"), "{text}");
    let peers: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&text).unwrap();
    let mut stmt = db
        .prepare("SELECT peer_daemon_id, last_sync_timestamp FROM sync_checkpoints ORDER BY 1")
        .unwrap();
    let checkpoints: BTreeMap<String, i64> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(peers.len(), 3);
    let start: String = db
        .query_row("SELECT created_at FROM groups WHERE group_id = 'grp_everyone'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut listed = BTreeMap::new();
    // the daemon's key order and indentation: the text is exactly the
    // entries' members written in that order
    const KEYS: [&str; 6] = ["name", "address", "daemon_id", "token", "paired_at", "last_sync"];
    let entry = |p: &serde_json::Map<String, serde_json::Value>| {
        let members: Vec<String> = KEYS.iter().map(|k| format!("    \"{k}\": {}", p[*k])).collect();
        format!("  {{\n{}\n  }}", members.join(",\n"))
    };
    assert_eq!(text, format!("[\n{}\n]", peers.iter().map(entry).collect::<Vec<_>>().join(",\n")));
    for p in &peers {
        assert_eq!(p.len(), KEYS.len());
        let s = |k: &str| p[k].as_str().unwrap();
        assert_eq!(s("daemon_id"), thrum_schemas::ids::daemon_id(s("name")));
        assert_eq!(s("address"), format!("{}:9473", s("name")));
        assert!(s("token").len() == 32 && s("token").bytes().all(|b| b.is_ascii_hexdigit()));
        let paired = parse_rfc3339(s("paired_at")).unwrap();
        assert!(
            parse_rfc3339(&start).unwrap() < paired
                && paired < parse_rfc3339("2026-03-02T06:01:00Z").unwrap(),
            "{p:?}"
        );
        listed.insert(
            s("daemon_id").to_string(),
            parse_rfc3339(s("last_sync")).unwrap().div_euclid(1_000_000),
        );
    }
    assert_eq!(listed, checkpoints);
}
