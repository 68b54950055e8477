//! How the v13 daemon reads a log (docs/FORMAT.md section 4b), through the
//! binary: a line its 64 KiB scanner cannot hold makes the rebuild fail
//! (`rebuild_aborts` naming the file, the line and its length); CRLF line
//! endings read as LF; invalid UTF-8 is applied with U+FFFD in place of each
//! invalid byte, and the difference shows in the projection.

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// `verify replay --json`: exit code and report.
fn replay(root: &Path) -> (i32, Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(["replay", "--json", "--max-diffs", "0"])
        .arg(root)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap_or(-1), report)
}

/// The findings that are not informational, each as
/// (kind, severity, file, line, table, key, column, expected, actual).
fn notable(report: &Value) -> Vec<[String; 9]> {
    let s = |f: &Value, k: &str| match &f[k] {
        Value::Null => String::new(),
        Value::String(t) => t.clone(),
        v => v.to_string(),
    };
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            ["kind", "severity", "file", "line", "table", "key", "column", "expected", "actual"]
                .map(|k| s(f, k))
        })
        .collect()
}

/// The warnings every fixture of [`standard_events`] has: its `future.event`,
/// and its daemon's id, derived from no hostname of its agents.
fn baseline(fx: &Fixture) -> Vec<[String; 9]> {
    let lines = fx.lines("events.jsonl");
    let no = lines.iter().position(|l| l.contains("\"future.event\"")).unwrap() + 1;
    let v: Value = serde_json::from_str(&lines[no - 1]).unwrap();
    let id = v["event_id"].as_str().unwrap();
    let unknown = [
        "event_type_unknown",
        "warning",
        ".thrum/events.jsonl",
        &no.to_string(),
        "",
        &format!("event_id={id}"),
        "type",
        "",
        "future.event",
    ];
    let origin =
        ["origin_daemon_unexplained", "warning", "", "", "events", "", "origin_daemon", "", DAEMON];
    vec![unknown.map(str::to_owned), origin.map(str::to_owned)]
}

/// The standard events and one more message of alice whose line is `len`
/// bytes long (without its newline).
fn with_line_of(len: usize) -> Fixture {
    let build = |pad: usize| {
        let mut b = standard_events();
        let body = json!({"format": "plain", "content": "x".repeat(pad)});
        b.ev(
            "messages/alice.jsonl",
            "message.create",
            json!({
                "message_id": msg_id(7), "agent_id": "alice", "session_id": ses_id(1),
                "body": body
            }),
        );
        b
    };
    let bare = build(0).events.last().unwrap().line.len();
    let b = build(len - bare);
    assert_eq!(b.events.last().unwrap().line.len(), len);
    build_from(b)
}

#[test]
fn a_line_the_daemons_scanner_cannot_hold_aborts_the_rebuild() {
    let fx = with_line_of(70_000);
    let no = fx.lines("messages/alice.jsonl").len();
    let (code, report) = replay(&fx.root);
    assert_eq!(code, 1, "{report:#}");
    let stop = [
        "rebuild_aborts",
        "error",
        ".thrum/messages/alice.jsonl",
        &no.to_string(),
        "",
        "",
        "",
        "at most 65535 bytes",
        "70000 bytes",
    ]
    .map(str::to_owned);
    // the line is within verify's own 1 MiB bound: replayed, nothing else differs
    let mut want = baseline(&fx);
    want.insert(1, stop);
    assert_eq!(notable(&report), want, "{report:#}");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "rebuild_aborts")
        .unwrap();
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("70000 bytes") && msg.contains("65536 bytes"), "{msg}");

    // the largest line that fits: 65,535 bytes and its newline
    let fx = with_line_of(65_535);
    let (code, report) = replay(&fx.root);
    assert_eq!((code, notable(&report)), (0, baseline(&fx)), "{report:#}");
    // one byte more, a trailing `\r`, does not fit: the scanner holds it with the line
    let rel = "messages/alice.jsonl";
    let mut lines = fx.lines(rel);
    lines.last_mut().unwrap().push('\r');
    fx.write_lines(rel, &lines);
    let (code, report) = replay(&fx.root);
    assert_eq!(code, 1, "{report:#}");
    let kinds: Vec<(String, String, String)> =
        notable(&report).into_iter().map(|[k, _, f, l, ..]| (k, f, l)).collect();
    let at = (".thrum/messages/alice.jsonl".to_string(), lines.len().to_string());
    assert_eq!(kinds[1], ("rebuild_aborts".to_string(), at.0, at.1), "{report:#}");
    assert_eq!(kinds.len(), 3, "{report:#}");
}

#[test]
fn crlf_line_endings_read_as_lf() {
    let fx = build();
    let (code, lf) = replay(&fx.root);
    assert_eq!((code, notable(&lf)), (0, baseline(&fx)), "{lf:#}");
    let mut converted = 0;
    for rel in
        ["events.jsonl", "messages/alice.jsonl", "messages/bob.jsonl", "messages/user_carol.jsonl"]
    {
        let text = std::fs::read_to_string(fx.file(rel)).unwrap();
        assert!(!text.contains('\r'));
        converted += text.matches('\n').count();
        std::fs::write(fx.file(rel), text.replace('\n', "\r\n")).unwrap();
    }
    assert_eq!(converted, fx.builder.events.len());
    let (code, crlf) = replay(&fx.root);
    assert_eq!(code, 0, "{crlf:#}");
    assert_eq!(crlf["findings"], lf["findings"]);
    assert_eq!(crlf["finding_counts"], lf["finding_counts"]);
}

#[test]
fn invalid_utf8_in_a_body_is_applied_with_a_replacement_character() {
    let fx = build();
    let rel = "messages/bob.jsonl";
    let line: Value = serde_json::from_str(&fx.lines(rel)[0]).unwrap();
    let (mid, eid) = (line["message_id"].as_str().unwrap(), line["event_id"].as_str().unwrap());
    assert_eq!(mid, msg_id(2));
    let mut bytes = std::fs::read(fx.file(rel)).unwrap();
    const NEEDLE: &[u8] = b"\"content\":\"hi\"";
    let at =
        bytes.windows(NEEDLE.len()).position(|w| w == NEEDLE).unwrap() + b"\"content\":\"".len();
    assert!(!bytes[..at].contains(&b'\n'), "the first line of the shard");
    bytes.insert(at, 0xFF);
    std::fs::write(fx.file(rel), &bytes).unwrap();

    let (code, report) = replay(&fx.root);
    assert_eq!(code, 1, "{report:#}");
    let row = |kind: &str, table: &str, key: &str, column: &str, expected: &str, actual: &str| {
        [kind, "error", "", "", table, key, column, expected, actual].map(str::to_owned)
    };
    let warning = [
        "jsonl_invalid_utf8",
        "warning",
        ".thrum/messages/bob.jsonl",
        "1",
        "",
        "",
        "",
        "",
        &format!("byte offset {at}"),
    ];
    let mut got = notable(&report);
    got.sort();
    let mut want = baseline(&fx);
    want.push(warning.map(str::to_owned));
    // the replayed value is the expected one (values are shown as JSON)
    want.push(row(
        "cell_differs",
        "messages",
        &format!("message_id={mid}"),
        "body_content",
        "\"\u{FFFD}hi\"",
        "\"hi\"",
    ));
    want.sort();
    // the events row holds the line as the daemon wrote it, without the byte
    let (log, rest): (Vec<_>, Vec<_>) = got.into_iter().partition(|f| f[0] == "event_log_differs");
    assert_eq!(rest, want, "{report:#}");
    assert_eq!(log.len(), 1, "{report:#}");
    let key = format!("event_id={eid}");
    assert_eq!(
        (log[0][4].as_str(), log[0][5].as_str(), log[0][6].as_str()),
        ("events", key.as_str(), "event_json"),
        "{report:#}"
    );
    let counts = &report["finding_counts"];
    assert!(counts.get("row_extra").is_none() && counts.get("sequence_gap").is_none(), "{counts}");
}
