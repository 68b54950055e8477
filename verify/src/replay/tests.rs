//! Unit tests of the projection (`apply.rs`) and of the replayer.

use super::*;
use rusqlite::types::Value;
use serde_json::json;

fn ev(line: &str) -> Event {
    Event::parse(line).unwrap()
}

/// The event line of type `ty` at `ts` with the other fields of `fields` (an object), parsed.
fn evj(ty: &str, ts: &str, fields: serde_json::Value) -> Event {
    let mut line = json!({"type": ty, "timestamp": ts});
    if let (Some(o), serde_json::Value::Object(f)) = (line.as_object_mut(), fields) {
        o.extend(f);
    }
    ev(&line.to_string())
}

fn q(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut st = conn.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn message_create_maps_empty_optionals_to_null() {
    let c = fresh_v13().unwrap();
    let create = json!({
        "message_id": "m1", "thread_id": "", "agent_id": "a", "session_id": "s",
        "body": {"format": "markdown", "content": "hi", "structured": ""},
        "authored_by": "", "disclosed": true,
        "scopes": [{"type": "group", "value": "g"}],
        "refs": [{"type": "mention", "value": "b"}, {"type": "reply_to", "value": "m0"}]
    });
    apply(&c, &evj("message.create", "T1", create)).unwrap();
    let rows = q(
        &c,
        "SELECT thread_id, created_at, body_structured, authored_by, disclosed, \
        deleted, updated_at FROM messages",
    );
    assert_eq!(
        rows,
        vec![vec![
            Value::Null,
            t("T1"),
            Value::Null,
            Value::Null,
            Value::Integer(1),
            Value::Integer(0),
            Value::Null
        ]]
    );
    assert_eq!(q(&c, "SELECT count(*) FROM message_refs")[0][0], Value::Integer(2));
    assert_eq!(
        q(&c, "SELECT scope_type, scope_value FROM message_scopes"),
        vec![vec![t("group"), t("g")]]
    );
}

#[test]
fn edit_records_history_with_session_as_editor() {
    let c = fresh_v13().unwrap();
    let create = json!({
        "message_id": "m1", "agent_id": "a", "session_id": "ses_1",
        "body": {"format": "json", "content": "v1", "structured": "{\"a\":1}"}
    });
    apply(&c, &evj("message.create", "T1", create)).unwrap();
    apply(
        &c,
        &ev(
            r#"{"type":"message.edit","timestamp":"T2","message_id":"m1","body":{"content":"v2"}}"#,
        ),
    )
    .unwrap();
    let edit = json!({"message_id": "m1", "body": {"content": "v3", "structured": "{}"}});
    apply(&c, &evj("message.edit", "T3", edit)).unwrap();
    let edits = q(
        &c,
        "SELECT id, edited_at, edited_by, old_content, new_content, old_structured, \
            new_structured FROM message_edits ORDER BY id",
    );
    assert_eq!(
        edits,
        vec![
            vec![
                Value::Integer(1),
                t("T2"),
                t("ses_1"),
                t("v1"),
                t("v2"),
                t("{\"a\":1}"),
                Value::Null
            ],
            vec![Value::Integer(2), t("T3"), t("ses_1"), t("v2"), t("v3"), Value::Null, t("{}")],
        ]
    );
    assert_eq!(
        q(&c, "SELECT body_content, body_structured, updated_at FROM messages"),
        vec![vec![t("v3"), t("{}"), t("T3")]]
    );
    // an edit of an unknown message changes nothing and is reported
    let edit = json!({"message_id": "nope", "body": {"content": "x"}});
    let out = apply(&c, &evj("message.edit", "T4", edit)).unwrap();
    assert_eq!(out.missing, vec!["message nope".to_string()]);
    assert_eq!(q(&c, "SELECT count(*) FROM message_edits")[0][0], Value::Integer(2));
}

#[test]
fn delete_sets_flag_and_null_reason() {
    let c = fresh_v13().unwrap();
    let create =
        json!({"message_id": "m1", "agent_id": "a", "session_id": "s", "body": {"content": "x"}});
    apply(&c, &evj("message.create", "T1", create)).unwrap();
    apply(&c, &ev(r#"{"type":"message.delete","timestamp":"T2","message_id":"m1","reason":""}"#))
        .unwrap();
    assert_eq!(
        q(&c, "SELECT deleted, deleted_at, delete_reason FROM messages"),
        vec![vec![Value::Integer(1), t("T2"), Value::Null]]
    );
}

#[test]
fn register_is_or_replace_with_empty_strings_for_null() {
    let c = fresh_v13().unwrap();
    let first = json!({
        "agent_id": "a", "kind": "agent", "role": "r1", "module": "m", "display": "A",
        "hostname": "h"
    });
    apply(&c, &evj("agent.register", "T1", first)).unwrap();
    c.execute("UPDATE agents SET last_seen_at = 'T5'", []).unwrap();
    let again =
        json!({"agent_id": "a", "kind": "agent", "role": "r2", "module": "m", "display": ""});
    apply(&c, &evj("agent.register", "T2", again)).unwrap();
    assert_eq!(
        q(
            &c,
            "SELECT agent_id, kind, role, module, display, hostname, registered_at, \
            last_seen_at FROM agents"
        ),
        vec![vec![t("a"), t("agent"), t("r2"), t("m"), t(""), t(""), t("T2"), t("")]]
    );
}

#[test]
fn sessions_start_and_end() {
    let c = fresh_v13().unwrap();
    apply(
        &c,
        &ev(r#"{"type":"agent.session.start","timestamp":"T1","session_id":"s","agent_id":"a"}"#),
    )
    .unwrap();
    apply(
        &c,
        &ev(r#"{"type":"agent.session.end","timestamp":"T2","session_id":"s","reason":"done"}"#),
    )
    .unwrap();
    assert_eq!(
        q(&c, "SELECT started_at, last_seen_at, ended_at, end_reason FROM sessions"),
        vec![vec![t("T1"), t("T1"), t("T2"), t("done")]]
    );
}

fn wc_rows(c: &Connection) -> Vec<Vec<Value>> {
    q(
        c,
        "SELECT session_id, branch, git_updated_at, unmerged_commits, uncommitted_files, \
        file_changes FROM agent_work_contexts ORDER BY rowid",
    )
}

#[test]
fn agent_update_merge_keeps_newer_and_stored_on_ties() {
    let c = fresh_v13().unwrap();
    for s in ["s1", "s2", "s3"] {
        let start = json!({"session_id": s, "agent_id": "a"});
        apply(&c, &evj("agent.session.start", "T0", start)).unwrap();
    }
    let update = json!({"agent_id": "a", "work_contexts": [
        {
            "session_id": "s1", "branch": "b1", "git_updated_at": "2026-01-01T00:00:01.000001Z",
            "unmerged_commits": [{"sha": "x", "message": "<m>", "files": ["f"]}],
            "uncommitted_files": [], "file_changes": [{"path": "p"}]
        },
        {"session_id": "s2", "branch": "b2", "git_updated_at": "2026-01-01T00:00:05.000001Z"}
    ]});
    apply(&c, &evj("agent.update", "T1", update)).unwrap();
    // s1 newer -> replaced in place; s2 tie -> stored kept; s3 new -> appended
    let update = json!({"agent_id": "a", "work_contexts": [
        {"session_id": "s3", "branch": "b3", "git_updated_at": "2026-01-01T00:00:00.000001Z"},
        {"session_id": "s2", "branch": "tie", "git_updated_at": "2026-01-01T00:00:05.000001Z"},
        {"session_id": "s1", "branch": "new", "git_updated_at": "2026-01-01T00:00:02.000001Z"}
    ]});
    apply(&c, &evj("agent.update", "T2", update)).unwrap();
    assert_eq!(
        wc_rows(&c),
        vec![
            vec![
                t("s1"),
                t("new"),
                t("2026-01-01T00:00:02.000001Z"),
                t("null"),
                t("null"),
                t("[]")
            ],
            vec![t("s2"), t("b2"), t("2026-01-01T00:00:05.000001Z"), t("null"), t("null"), t("[]")],
            vec![t("s3"), t("b3"), t("2026-01-01T00:00:00.000001Z"), t("null"), t("null"), t("[]")],
        ]
    );
    // an older context never replaces; list fields survive a re-insert verbatim
    let update = json!({"agent_id": "a", "work_contexts": [
        {"session_id": "s1", "branch": "old", "git_updated_at": "2026-01-01T00:00:01.000001Z"}
    ]});
    apply(&c, &evj("agent.update", "T3", update)).unwrap();
    assert_eq!(wc_rows(&c)[0][1], t("new"));
}

#[test]
fn agent_update_list_columns_and_missing_sessions() {
    let c = fresh_v13().unwrap();
    apply(
        &c,
        &ev(r#"{"type":"agent.session.start","timestamp":"T0","session_id":"s1","agent_id":"a"}"#),
    )
    .unwrap();
    let update = json!({"agent_id": "a", "work_contexts": [
        {
            "session_id": "s1", "branch": "", "git_updated_at": "g",
            "unmerged_commits": [{"sha": "x", "message": "<m>", "files": ["f"]}],
            "uncommitted_files": []
        },
        {"session_id": "ghost", "git_updated_at": "g"}
    ]});
    let out = apply(&c, &evj("agent.update", "T1", update)).unwrap();
    assert_eq!(out.missing.len(), 1);
    assert!(out.missing[0].contains("ghost"));
    assert_eq!(
        wc_rows(&c),
        vec![vec![
            t("s1"),
            Value::Null,
            t("g"),
            t(r#"[{"sha":"x","message":"\u003cm\u003e","files":["f"]}]"#),
            t("[]"),
            t("[]")
        ]]
    );
}

#[test]
fn groups_and_cleanup() {
    let c = fresh_v13().unwrap();
    let create = json!({"group_id": "g1", "name": "n", "description": "", "created_by": "a"});
    apply(&c, &evj("group.create", "T1", create)).unwrap();
    // name conflict ignored
    let clash = json!({"group_id": "g2", "name": "n", "created_by": "a"});
    apply(&c, &evj("group.create", "T1", clash)).unwrap();
    let member = |group: &str, ty: &str, value: &str| {
        json!({
            "group_id": group, "member_type": ty, "member_value": value
        })
    };
    let mut add = member("g1", "agent", "x");
    add["added_by"] = json!("a");
    apply(&c, &evj("group.member.add", "T2", add)).unwrap();
    let mut add = member("g1", "agent", "x");
    add["added_by"] = json!("b");
    apply(&c, &evj("group.member.add", "T3", add)).unwrap();
    apply(&c, &evj("group.member.add", "T3", member("g1", "role", "r"))).unwrap();
    let out = apply(&c, &evj("group.member.add", "T3", member("nope", "role", "r"))).unwrap();
    assert_eq!(out.missing, vec!["group nope".to_string()]);
    assert_eq!(out.fails, Some(Rule::MemberAddToMissingGroup));
    // SQLite quirk reproduced as the daemon gets it: the ignored duplicate
    // still consumed AUTOINCREMENT id 2.
    assert_eq!(
        q(&c, "SELECT id, member_value, added_at, added_by FROM group_members ORDER BY id"),
        vec![
            vec![Value::Integer(1), t("x"), t("T2"), t("a")],
            vec![Value::Integer(3), t("r"), t("T3"), Value::Null]
        ]
    );
    let update = json!({"group_id": "g1", "updated_by": "a", "fields": {"description": "d"}});
    apply(&c, &evj("group.update", "T4", update)).unwrap();
    assert_eq!(
        q(&c, "SELECT group_id, name, description, updated_at FROM groups"),
        vec![vec![t("g1"), t("n"), t("d"), t("T4")]]
    );
    let mut remove = member("g1", "agent", "x");
    remove["removed_by"] = json!("a");
    apply(&c, &evj("group.member.remove", "T5", remove)).unwrap();
    assert_eq!(q(&c, "SELECT count(*) FROM group_members")[0][0], Value::Integer(1));
    apply(&c, &ev(r#"{"type":"group.delete","timestamp":"T6","group_id":"g1","deleted_by":"a"}"#))
        .unwrap();
    assert_eq!(q(&c, "SELECT count(*) FROM group_members")[0][0], Value::Integer(0));
    let register = json!({"agent_id": "a", "kind": "agent", "role": "r", "module": "m"});
    apply(&c, &evj("agent.register", "T1", register)).unwrap();
    apply(&c, &ev(r#"{"type":"agent.cleanup","timestamp":"T7","agent_id":"a"}"#)).unwrap();
    assert_eq!(q(&c, "SELECT count(*) FROM agents")[0][0], Value::Integer(0));
    // thread.create inserts into threads, as the daemon does; a repeated id fails
    let thread = json!({"thread_id": "t", "title": "", "created_by": "a"});
    let out = apply(&c, &evj("thread.create", "T1", thread)).unwrap();
    assert!(!out.ignored && out.fails.is_none());
    assert_eq!(
        q(&c, "SELECT thread_id, title, created_at, created_by FROM threads"),
        vec![vec![t("t"), t(""), t("T1"), t("a")]]
    );
    let again = json!({"thread_id": "t", "title": "x", "created_by": "b"});
    let e = apply(&c, &evj("thread.create", "T2", again)).unwrap_err();
    assert!(e.to_string().contains("UNIQUE"), "{e}");
    assert!(apply(&c, &ev(r#"{"type":"future.thing","timestamp":"T1"}"#)).unwrap().ignored);
}

/// Replays `events` (the lines of one file "f") in replay order.
fn replay_lines(events: Vec<Event>, findings: &mut Findings) -> rusqlite::Result<Replay> {
    let mut evs: Vec<(u64, Event)> =
        events.into_iter().enumerate().map(|(i, e)| (i as u64 + 1, e)).collect();
    evs.sort_by(|(_, a), (_, b)| {
        let key = |e: &Event| {
            (e.envelope.timestamp.clone(), e.envelope.event_id.clone().unwrap_or_default())
        };
        key(a).cmp(&key(b))
    });
    let mut r = Replayer::new(fresh_v13_for_replay()?)?;
    for (line, e) in &evs {
        r.apply(e, "f", *line, findings)?;
    }
    r.finish()
}

#[test]
fn rejected_events_are_rolled_back_entirely() {
    let mention = json!({"type": "mention", "value": "b"});
    let message = |event_id: &str, message_id: &str, content: &str| {
        json!({
            "event_id": event_id, "message_id": message_id, "agent_id": "a", "session_id": "s",
            "body": {"content": content}
        })
    };
    let group = |event_id: &str, group_id: &str, name: &str| {
        json!({
            "event_id": event_id, "group_id": group_id, "name": name, "created_by": "a"
        })
    };
    let mut m1 = message("a", "m1", "x");
    m1["refs"] = json!([mention, mention]);
    let mut m2 = message("b", "m2", "y");
    m2["refs"] = json!([mention]);
    let rename = json!({
        "event_id": "f", "group_id": "g2", "updated_by": "a",
        "fields": {"description": "new", "name": "n"}
    });
    let events = vec![
        evj("message.create", "T1", m1),
        evj("message.create", "T2", m2),
        evj("message.create", "T3", message("c", "m2", "z")),
        evj("group.create", "T4", group("d", "g1", "n")),
        evj("group.create", "T4", group("e", "g2", "o")),
        evj("group.update", "T5", rename),
    ];
    let mut f = Findings::new(0);
    let r = replay_lines(events, &mut f).unwrap();
    assert_eq!((r.applied, r.rejected), (3, 3));
    let lines: Vec<u64> = f
        .list()
        .iter()
        .filter(|x| x.kind == Kind::ReplayEventRejected)
        .map(|x| x.line.unwrap())
        .collect();
    assert_eq!(lines, vec![1, 3, 6]);
    // nothing of m1 survives its failed second ref insert; m2 keeps its first version
    assert_eq!(
        q(&r.conn, "SELECT message_id, body_content FROM messages"),
        vec![vec![t("m2"), t("y")]]
    );
    assert_eq!(q(&r.conn, "SELECT message_id FROM message_refs"), vec![vec![t("m2")]]);
    // the group update whose rename failed did not keep its description change either
    assert_eq!(
        q(&r.conn, "SELECT description, updated_at FROM groups WHERE group_id = 'g2'"),
        vec![vec![Value::Null, Value::Null]]
    );
}

#[test]
fn replay_database_differs_from_fresh_v13_only_by_secondary_indexes() {
    let full = crate::schema::snapshot(&fresh_v13().unwrap()).unwrap();
    let lean = crate::schema::snapshot(&fresh_v13_for_replay().unwrap()).unwrap();
    let d = crate::schema::diff(&full, &lean);
    assert_eq!(d.len(), 24);
    assert!(
        d.iter().all(|d| d.object.starts_with("index idx_")
            && d.attribute == "exists"
            && d.actual == "no"),
        "{d:?}"
    );
}
