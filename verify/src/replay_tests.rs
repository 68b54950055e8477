//! Unit tests of the projection (`replay.rs`).

use super::*;

fn ev(line: &str) -> Event {
    Event::parse(line).unwrap()
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
    apply(&c, &ev(r#"{"type":"message.create","timestamp":"T1","message_id":"m1","thread_id":"","agent_id":"a","session_id":"s","body":{"format":"markdown","content":"hi","structured":""},"authored_by":"","disclosed":true,"scopes":[{"type":"group","value":"g"}],"refs":[{"type":"mention","value":"b"},{"type":"reply_to","value":"m0"}]}"#)).unwrap();
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
    apply(&c, &ev(r#"{"type":"message.create","timestamp":"T1","message_id":"m1","agent_id":"a","session_id":"ses_1","body":{"format":"json","content":"v1","structured":"{\"a\":1}"}}"#)).unwrap();
    apply(
        &c,
        &ev(
            r#"{"type":"message.edit","timestamp":"T2","message_id":"m1","body":{"content":"v2"}}"#,
        ),
    )
    .unwrap();
    apply(&c, &ev(r#"{"type":"message.edit","timestamp":"T3","message_id":"m1","body":{"content":"v3","structured":"{}"}}"#)).unwrap();
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
    let out = apply(&c, &ev(r#"{"type":"message.edit","timestamp":"T4","message_id":"nope","body":{"content":"x"}}"#)).unwrap();
    assert_eq!(out.missing, vec!["message nope".to_string()]);
    assert_eq!(q(&c, "SELECT count(*) FROM message_edits")[0][0], Value::Integer(2));
}

#[test]
fn delete_sets_flag_and_null_reason() {
    let c = fresh_v13().unwrap();
    apply(
        &c,
        &ev(r#"{"type":"message.create","timestamp":"T1","message_id":"m1","agent_id":"a","session_id":"s","body":{"content":"x"}}"#),
    )
    .unwrap();
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
    apply(&c, &ev(r#"{"type":"agent.register","timestamp":"T1","agent_id":"a","kind":"agent","role":"r1","module":"m","display":"A","hostname":"h"}"#)).unwrap();
    c.execute("UPDATE agents SET last_seen_at = 'T5'", []).unwrap();
    apply(&c, &ev(r#"{"type":"agent.register","timestamp":"T2","agent_id":"a","kind":"agent","role":"r2","module":"m","display":""}"#))
        .unwrap();
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
        apply(&c, &ev(&format!(r#"{{"type":"agent.session.start","timestamp":"T0","session_id":"{s}","agent_id":"a"}}"#))).unwrap();
    }
    apply(&c, &ev(r#"{"type":"agent.update","timestamp":"T1","agent_id":"a","work_contexts":[{"session_id":"s1","branch":"b1","git_updated_at":"2026-01-01T00:00:01.000001Z","unmerged_commits":[{"sha":"x","message":"<m>","files":["f"]}],"uncommitted_files":[],"file_changes":[{"path":"p"}]},{"session_id":"s2","branch":"b2","git_updated_at":"2026-01-01T00:00:05.000001Z"}]}"#)).unwrap();
    // s1 newer -> replaced in place; s2 tie -> stored kept; s3 new -> appended
    apply(&c, &ev(r#"{"type":"agent.update","timestamp":"T2","agent_id":"a","work_contexts":[{"session_id":"s3","branch":"b3","git_updated_at":"2026-01-01T00:00:00.000001Z"},{"session_id":"s2","branch":"tie","git_updated_at":"2026-01-01T00:00:05.000001Z"},{"session_id":"s1","branch":"new","git_updated_at":"2026-01-01T00:00:02.000001Z"}]}"#)).unwrap();
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
    apply(&c, &ev(r#"{"type":"agent.update","timestamp":"T3","agent_id":"a","work_contexts":[{"session_id":"s1","branch":"old","git_updated_at":"2026-01-01T00:00:01.000001Z"}]}"#)).unwrap();
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
    let out = apply(&c, &ev(r#"{"type":"agent.update","timestamp":"T1","agent_id":"a","work_contexts":[{"session_id":"s1","branch":"","git_updated_at":"g","unmerged_commits":[{"sha":"x","message":"<m>","files":["f"]}],"uncommitted_files":[]},{"session_id":"ghost","git_updated_at":"g"}]}"#)).unwrap();
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
    apply(&c, &ev(r#"{"type":"group.create","timestamp":"T1","group_id":"g1","name":"n","description":"","created_by":"a"}"#)).unwrap();
    apply(&c, &ev(r#"{"type":"group.create","timestamp":"T1","group_id":"g2","name":"n","created_by":"a"}"#)).unwrap(); // name conflict ignored
    apply(
        &c,
        &ev(r#"{"type":"group.member.add","timestamp":"T2","group_id":"g1","member_type":"agent","member_value":"x","added_by":"a"}"#),
    )
    .unwrap();
    apply(
        &c,
        &ev(r#"{"type":"group.member.add","timestamp":"T3","group_id":"g1","member_type":"agent","member_value":"x","added_by":"b"}"#),
    )
    .unwrap();
    apply(&c, &ev(r#"{"type":"group.member.add","timestamp":"T3","group_id":"g1","member_type":"role","member_value":"r"}"#)).unwrap();
    let out = apply(&c, &ev(r#"{"type":"group.member.add","timestamp":"T3","group_id":"nope","member_type":"role","member_value":"r"}"#))
        .unwrap();
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
    apply(&c, &ev(r#"{"type":"group.update","timestamp":"T4","group_id":"g1","updated_by":"a","fields":{"description":"d"}}"#)).unwrap();
    assert_eq!(
        q(&c, "SELECT group_id, name, description, updated_at FROM groups"),
        vec![vec![t("g1"), t("n"), t("d"), t("T4")]]
    );
    apply(
        &c,
        &ev(r#"{"type":"group.member.remove","timestamp":"T5","group_id":"g1","member_type":"agent","member_value":"x","removed_by":"a"}"#),
    )
    .unwrap();
    assert_eq!(q(&c, "SELECT count(*) FROM group_members")[0][0], Value::Integer(1));
    apply(&c, &ev(r#"{"type":"group.delete","timestamp":"T6","group_id":"g1","deleted_by":"a"}"#))
        .unwrap();
    assert_eq!(q(&c, "SELECT count(*) FROM group_members")[0][0], Value::Integer(0));
    apply(&c, &ev(r#"{"type":"agent.register","timestamp":"T1","agent_id":"a","kind":"agent","role":"r","module":"m"}"#)).unwrap();
    apply(&c, &ev(r#"{"type":"agent.cleanup","timestamp":"T7","agent_id":"a"}"#)).unwrap();
    assert_eq!(q(&c, "SELECT count(*) FROM agents")[0][0], Value::Integer(0));
    // thread.create inserts into threads, as the daemon does; a repeated id fails
    let out = apply(&c, &ev(r#"{"type":"thread.create","timestamp":"T1","thread_id":"t","title":"","created_by":"a"}"#)).unwrap();
    assert!(!out.ignored && out.fails.is_none());
    assert_eq!(
        q(&c, "SELECT thread_id, title, created_at, created_by FROM threads"),
        vec![vec![t("t"), t(""), t("T1"), t("a")]]
    );
    let e = apply(&c, &ev(r#"{"type":"thread.create","timestamp":"T2","thread_id":"t","title":"x","created_by":"b"}"#)).unwrap_err();
    assert!(e.to_string().contains("UNIQUE"), "{e}");
    assert!(apply(&c, &ev(r#"{"type":"future.thing","timestamp":"T1"}"#)).unwrap().ignored);
}

/// Replays `lines` (of one file "f") in replay order.
fn replay_lines(lines: &[&str], findings: &mut Findings) -> rusqlite::Result<Replay> {
    let mut evs: Vec<(u64, Event)> =
        lines.iter().enumerate().map(|(i, l)| (i as u64 + 1, ev(l))).collect();
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
    let l = [
        r#"{"type":"message.create","timestamp":"T1","event_id":"a","message_id":"m1","agent_id":"a","session_id":"s","body":{"content":"x"},"refs":[{"type":"mention","value":"b"},{"type":"mention","value":"b"}]}"#,
        r#"{"type":"message.create","timestamp":"T2","event_id":"b","message_id":"m2","agent_id":"a","session_id":"s","body":{"content":"y"},"refs":[{"type":"mention","value":"b"}]}"#,
        r#"{"type":"message.create","timestamp":"T3","event_id":"c","message_id":"m2","agent_id":"a","session_id":"s","body":{"content":"z"}}"#,
        r#"{"type":"group.create","timestamp":"T4","event_id":"d","group_id":"g1","name":"n","created_by":"a"}"#,
        r#"{"type":"group.create","timestamp":"T4","event_id":"e","group_id":"g2","name":"o","created_by":"a"}"#,
        r#"{"type":"group.update","timestamp":"T5","event_id":"f","group_id":"g2","updated_by":"a","fields":{"description":"new","name":"n"}}"#,
    ];
    let mut f = Findings::new(0);
    let r = replay_lines(&l, &mut f).unwrap();
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
