//! Decoding a line once: a line the in-place check calls canonical
//! (`plainly_canonical`) is its own re-encoding, and decoding it straight
//! from its text (`decode_event`) gives the event `Event::parse` gives, or
//! the same error, on the checked-in fixture's lines and on damaged ones.

use proptest::prelude::*;
use serde_json::Value;
use thrum_schemas::events::{DecodeError, Event};
use verify::internals::{canonical_object, decode_event, plainly_canonical};

/// What `Event::parse` makes of `text`, but for the raw map.
fn parsed(text: &str) -> Result<String, DecodeError> {
    Event::parse(text).map(|e| format!("{:?} {:?}", e.envelope, e.payload))
}

/// What `decode_event` makes of `text`, but for the raw map.
fn decoded(text: &str) -> Result<String, DecodeError> {
    decode_event(text).map(|e| format!("{:?} {:?}", e.envelope, e.payload))
}

/// The re-encoding's verdict: `text` is the canonical form of its object.
fn reencodes_to_itself(text: &str) -> bool {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => canonical_object(&m, 0) == text,
        _ => false,
    }
}

/// Every line of the checked-in fixture's event logs.
fn fixture_lines() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let archive = crate::checked_in_copy::fixtures().join("thrum-fixture.tar.zst");
    verify::internals::unpack(&archive, dir.path(), &verify::Limits::default()).unwrap();
    let thrum = dir.path().join(".thrum");
    let mut files = vec![thrum.join("events.jsonl")];
    for e in std::fs::read_dir(thrum.join("messages")).unwrap() {
        files.push(e.unwrap().path());
    }
    files.sort();
    let mut lines = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        lines.extend(text.lines().map(str::to_owned));
    }
    lines
}

#[test]
fn the_fixtures_lines_are_decoded_once_as_parse_decodes_them() {
    let lines = fixture_lines();
    assert!(lines.len() > 10_000, "{}", lines.len());
    for line in &lines {
        // every line of a daemon's log takes the one-pass path ...
        assert!(plainly_canonical(line), "{line}");
        let event = decode_event(line).unwrap();
        assert!(event.raw.is_empty(), "{line}");
        // ... and decodes to what the whole object decodes to
        assert_eq!(decoded(line), parsed(line), "{line}");
    }
}

#[test]
fn lines_the_one_pass_path_leaves_are_decoded_whole() {
    let base = concat!(
        r#"{"agent_id":"a","body":{"content":"x","format":"plain"},"#,
        r#""event_id":"evt_01KJR75CYAM6NVAQ8V738Y3MWV","message_id":"m","#,
        r#""type":"message.create","v":1}"#,
    );
    assert!(plainly_canonical(base));
    for line in [
        // a duplicate key: the last one wins, as in the whole object
        base.replace(r#""message_id":"m","#, r#""message_id":"m","message_id":"n","#),
        base.replace(r#""v":1}"#, r#""v":1.0}"#),
        base.replace(r#""v":1}"#, r#""v":-0}"#),
        base.replace(r#""v":1}"#, r#""v":9223372036854775808}"#),
        base.replace(r#"{"agent_id""#, r#"{ "agent_id""#),
        base.replace(r#""content":"x""#, r#""content":"\u00e9\/""#),
        base.replace(r#""content":"x""#, r#""content":"x","content":"y""#),
        base.replace(r#""v":1}"#, r#""v":"1"}"#),
        base.replace(r#""body":{"#, r#""body":["#).replace(r#""plain"}"#, r#""plain"]"#),
    ] {
        assert!(!plainly_canonical(&line) || line.contains(r#""v":"1""#), "{line}");
        assert_eq!(decoded(&line), parsed(&line), "{line}");
    }
    // envelope fields of every kind: read in the scan's pass when plain, by
    // serde otherwise, with the same value or error either way
    let full = base.replace(
        r#""message_id":"m","#,
        concat!(
            r#""message_id":"m","origin_daemon":"d_1","sequence":7,"#,
            r#""timestamp":"2026-01-02T03:04:05.000000006Z","#
        ),
    );
    assert!(plainly_canonical(&full));
    assert_eq!(decoded(&full), parsed(&full));
    assert!(decoded(&full).unwrap().contains("sequence: Some(7)"), "{:?}", decoded(&full));
    for (from, to) in [
        (r#""v":1}"#, r#""v":null}"#),
        (r#""v":1}"#, r#""v":-3}"#),
        (r#""v":1}"#, r#""v":true}"#),
        (r#""v":1}"#, r#""v":{}}"#),
        (r#""sequence":7"#, r#""sequence":"7""#),
        (r#""sequence":7"#, r#""sequence":null"#),
        (r#""sequence":7"#, r#""sequence":[7]"#),
        (r#""origin_daemon":"d_1""#, r#""origin_daemon":null"#),
        (r#""origin_daemon":"d_1""#, r#""origin_daemon":"d\n1""#),
        (r#""origin_daemon":"d_1""#, r#""origin_daemon":1"#),
        (r#""event_id":"evt_01KJR75CYAM6NVAQ8V738Y3MWV""#, r#""event_id":null"#),
        (r#""event_id":"evt_01KJR75CYAM6NVAQ8V738Y3MWV""#, r#""event_id":"e\"1""#),
        (r#""timestamp":"2026-01-02T03:04:05.000000006Z","#, ""),
        (r#""timestamp":"2026-01-02T03:04:05.000000006Z""#, r#""timestamp":null"#),
        (r#""timestamp":"2026-01-02T03:04:05.000000006Z""#, r#""timestamp":"t\u003c""#),
        (r#""timestamp":"2026-01-02T03:04:05.000000006Z""#, r#""timestamp":5"#),
        (r#""type":"message.create""#, r#""type":null"#),
        (r#""type":"message.create""#, r#""type":"message\u003ccreate""#),
        (r#""type":"message.create","#, ""),
        (r#""body":{"content":"x","format":"plain"}"#, r#""body":{"type":"group.create"}"#),
    ] {
        let line = full.replace(from, to);
        assert_ne!(line, full, "{from}");
        assert!(plainly_canonical(&line), "{line}");
        assert_eq!(decoded(&line), parsed(&line), "{line}");
    }
    // an unknown type is decoded whole: its raw map is kept for its fields
    let unknown = base.replace("message.create", "message.react");
    assert!(plainly_canonical(&unknown));
    assert_eq!(decode_event(&unknown).unwrap().raw.get("message_id"), Some(&Value::from("m")));
}

/// Snippets that make a canonical line not canonical, or not JSON.
const SNIPPETS: &[&str] = &[
    " ", "\\/", "\\u00e9", "\\u003C", "\\u000a", ".0", "e1", "-0", "0", ",\"v\":1", "\"", "\\",
    "<", "\u{2028}", "{}", "[]", ",", ":", "null", "\\ud83d",
];

fn damaged_line() -> impl Strategy<Value = String> {
    let line = crate::no_panic::event_line()
        .prop_filter_map("utf-8", |bytes| String::from_utf8(bytes).ok());
    (line, prop::collection::vec((any::<prop::sample::Index>(), 0..SNIPPETS.len()), 0..3)).prop_map(
        |(mut line, edits)| {
            for (at, snippet) in edits {
                let mut i = at.index(line.len() + 1);
                while !line.is_char_boundary(i) {
                    i -= 1;
                }
                line.insert_str(i, SNIPPETS[snippet]);
            }
            line
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_line_called_canonical_is_its_own_reencoding_and_decodes_alike(line in damaged_line()) {
        if plainly_canonical(&line) {
            prop_assert!(reencodes_to_itself(&line), "{}", line);
        }
        prop_assert_eq!(decoded(&line), parsed(&line), "{}", line);
    }
}
