//! One test per rule of docs/FORMAT.md section 4b: a valid line inserted
//! into a good fixture makes the daemon's rebuild stop there, and verify
//! names that line as `rebuild_aborts`, with the rule and the number of
//! events after it in replay order.

use crate::common::*;
use serde_json::{json, Value};
use thrum_schemas::{gojson, ids, time};
use verify::{Kind, Options, Report};

/// Appends one event to `file` whose time lies 0.5 ms after the `k`-th event
/// of the fixture (in replay order, which is the builder's order); returns
/// its 1-based line number and the number of fixture events after it.
fn insert(fx: &Fixture, file: &str, ty: &str, payload: Value, k: usize) -> (u64, u64) {
    let evs = &fx.builder.events;
    let at = time::parse_rfc3339(&evs[k].ts).unwrap() + 500;
    let stamp = time::rfc3339_nano(at);
    let mut obj = match payload {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    obj.insert("type".into(), json!(ty));
    obj.insert("timestamp".into(), json!(stamp));
    obj.insert("event_id".into(), json!(ids::prefixed("evt_", (at / 1000) as u64, 0xFEED)));
    obj.insert("v".into(), json!(1));
    obj.insert("origin_daemon".into(), json!(DAEMON));
    obj.insert("sequence".into(), json!(evs.len() as i64 + 1));
    let mut lines = fx.lines(file);
    lines.push(gojson::to_string(&Value::Object(obj)));
    fx.write_lines(file, &lines);
    let after = evs.iter().filter(|e| time::parse_rfc3339(&e.ts).unwrap() > at).count() as u64;
    (lines.len() as u64, after)
}

fn run(fx: &Fixture) -> Report {
    verify::verify_path(&fx.root, &Options { max_diffs: 0, ..Options::default() })
        .expect("usable input")
}

/// Asserts exactly one `rebuild_aborts`, at `.thrum/{file}:{line}`, naming
/// `rule`, with `after` events not projected; and that the report is not
/// consistent.
fn assert_stops(fx: &Fixture, file: &str, line: u64, after: u64, rule: &str) {
    let r = run(fx);
    assert!(!r.consistent, "{}", r.render_text());
    let stops = r.of(Kind::RebuildAborts);
    assert_eq!(stops.len(), 1, "{}", r.render_text());
    let f = stops[0];
    assert_eq!(
        (f.file.as_deref(), f.line),
        (Some(format!(".thrum/{file}").as_str()), Some(line)),
        "{}",
        f.render()
    );
    assert!(f.message.contains(rule), "{}", f.render());
    assert_eq!(
        f.actual.as_deref(),
        Some(format!("{after} events not projected").as_str()),
        "{}",
        f.render()
    );
    assert_eq!(r.count(Kind::RebuildAbortsAfterMigration), 0);
}

#[test]
fn a_good_fixture_has_no_stop() {
    let r = run(&build());
    assert!(r.consistent, "{}", r.render_text());
    assert_eq!(r.count(Kind::RebuildAborts), 0);
}

#[test]
fn rule_1_a_payload_that_does_not_decode() {
    let fx = build();
    // `body` must be an object
    let (line, after) = insert(
        &fx,
        "messages/alice.jsonl",
        "message.edit",
        json!({"message_id": msg_id(1), "body": "plain text"}),
        fx.builder.events.len() - 3,
    );
    assert_stops(&fx, "messages/alice.jsonl", line, after, "(rule 1)");
    assert!(after > 0);
}

#[test]
fn rule_2_a_repeated_message_id() {
    let fx = build();
    let create = json!({
        "message_id": msg_id(1), "agent_id": "alice", "session_id": ses_id(1),
        "body": {"format": "markdown", "content": "again"}
    });
    let (line, after) =
        insert(&fx, "messages/alice.jsonl", "message.create", create, fx.builder.events.len() - 3);
    assert_stops(&fx, "messages/alice.jsonl", line, after, "(rule 2)");
    assert!(after > 0);
}

/// An edit of a message no event creates.
fn missing_message_edit() -> serde_json::Value {
    json!({
        "message_id": "msg_01KJPR7PVP71K30CHK69H3NOPE",
        "body": {"format": "markdown", "content": "x"}
    })
}

#[test]
fn rule_3_an_edit_of_a_missing_message() {
    let fx = build();
    let edit = missing_message_edit();
    let (line, after) = insert(&fx, "messages/alice.jsonl", "message.edit", edit, 15);
    assert_stops(&fx, "messages/alice.jsonl", line, after, "(rule 3)");
    assert!(after > 0);
}

#[test]
fn rule_4_a_repeated_thread_id() {
    let fx = build();
    let last = fx.builder.events.len() - 1;
    let thread = json!({
        "thread_id": "thr_01KJPR7PVP71K30CHK69H32CSS", "title": "again", "created_by": "bob"
    });
    let (line, after) = insert(&fx, "events.jsonl", "thread.create", thread, last);
    assert_stops(&fx, "events.jsonl", line, after, "(rule 4)");
    assert_eq!(after, 0);
}

#[test]
fn rule_5_a_repeated_session_id() {
    let fx = build();
    let (line, after) = insert(
        &fx,
        "events.jsonl",
        "agent.session.start",
        json!({"session_id": ses_id(1), "agent_id": "alice"}),
        12,
    );
    assert_stops(&fx, "events.jsonl", line, after, "(rule 5)");
    assert!(after > 0);
}

#[test]
fn rule_6_a_member_added_to_a_missing_group() {
    let fx = build();
    let add = json!({
        "group_id": "grp_01KJPR7PVP71K30CHK69H3NOPE", "member_type": "agent",
        "member_value": "bob", "added_by": "alice"
    });
    let (line, after) = insert(&fx, "events.jsonl", "group.member.add", add, 12);
    assert_stops(&fx, "events.jsonl", line, after, "(rule 6)");
    assert!(after > 0);
}

#[test]
fn rule_7_a_work_context_of_a_missing_session() {
    let fx = build();
    let g = ts(T0 + 30_000_001);
    let ctx = json!({
        "session_id": "ses_01KJPR7PVP71K30CHK69H3NOPE", "branch": "b", "worktree_path": "/w",
        "unmerged_commits": [], "uncommitted_files": [], "changed_files": [],
        "git_updated_at": g, "current_task": "", "task_updated_at": "", "intent": "",
        "intent_updated_at": ""
    });
    let (line, after) = insert(
        &fx,
        "events.jsonl",
        "agent.update",
        json!({"agent_id": "bob", "work_contexts": [ctx]}),
        12,
    );
    assert_stops(&fx, "events.jsonl", line, after, "(rule 7)");
    assert!(after > 0);
}

#[test]
fn the_earliest_of_two_stops_is_named() {
    let fx = build();
    let edit = missing_message_edit();
    insert(&fx, "messages/alice.jsonl", "message.edit", edit, fx.builder.events.len() - 3);
    let (line, after) = insert(
        &fx,
        "events.jsonl",
        "agent.session.start",
        json!({"session_id": ses_id(1), "agent_id": "alice"}),
        10,
    );
    // the later line in file order, but the earlier in replay order; the
    // count includes the other inserted event
    assert_stops(&fx, "events.jsonl", line, after + 1, "(rule 5)");
}

#[test]
fn what_is_not_a_failure_does_not_stop_the_rebuild() {
    let fx = build();
    insert(
        &fx,
        "messages/alice.jsonl",
        "message.delete",
        json!({"message_id": "msg_01KJPR7PVP71K30CHK69H3NOPE"}),
        12,
    );
    insert(
        &fx,
        "events.jsonl",
        "agent.session.end",
        json!({"session_id": "ses_01KJPR7PVP71K30CHK69H3NOPE"}),
        13,
    );
    insert(
        &fx,
        "events.jsonl",
        "group.delete",
        json!({"group_id": "grp_01KJPR7PVP71K30CHK69H3NOPE", "deleted_by": "alice"}),
        14,
    );
    insert(&fx, "events.jsonl", "agent.cleanup", json!({"agent_id": "nobody"}), 15);
    let r = run(&fx);
    assert_eq!(r.count(Kind::RebuildAborts), 0, "{}", r.render_text());
    // still reported: the events table lacks the inserted lines, and the targets are missing
    assert!(r.count(Kind::EventTargetMissing) >= 4);
}
