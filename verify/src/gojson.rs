//! The verifier's own encoder of JSON text as the daemon's Go code writes it
//! (docs/FORMAT.md sections 3 and 4), written from the rules of Go's
//! `encoding/json`, independently of the generator's renderer:
//!
//! * compact: no space anywhere;
//! * object keys in byte order (the daemon encodes events built as maps);
//! * in strings, `"` and `\` escaped with a backslash; `\b`, `\f`, `\n`,
//!   `\r`, `\t` by their short forms; every other byte below 0x20 as
//!   `\u00xx` (lowercase hex); `<`, `>`, `&` as `\u003c`, `\u003e`,
//!   `\u0026`; U+2028 and U+2029 as `\u2028`, `\u2029`; everything else
//!   (all other non-ASCII text included) as is;
//! * integers as written; other numbers as Go's `float64` encoding prints
//!   them: the shortest text that reads back as the same value, in plain
//!   decimal, or in exponent form (`1e-7`, `1e+21`) when the magnitude is
//!   below 1e-6 or at least 1e21.
//!
//! [`canonical_object`] is the canonical form of an event line;
//! [`work_context`] holds the encodings of the list columns of
//! `agent_work_contexts` (`json.Marshal` of typed lists).

use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// Appends `s` as a JSON string escaped as Go escapes it. Runs of bytes
/// that need no escape are copied whole.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (escaped, len) = match bytes[i] {
            b'"' => ("\\\"", 1),
            b'\\' => ("\\\\", 1),
            0x08 => ("\\b", 1),
            0x0c => ("\\f", 1),
            b'\n' => ("\\n", 1),
            b'\r' => ("\\r", 1),
            b'\t' => ("\\t", 1),
            b'<' => ("\\u003c", 1),
            b'>' => ("\\u003e", 1),
            b'&' => ("\\u0026", 1),
            c if c < 0x20 => ("", 1),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                ("\\u2028", 3)
            }
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                ("\\u2029", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte or the lead byte of U+2028/U+2029: a
        // character boundary
        out.push_str(&s[run..i]);
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let b = bytes[i];
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        } else {
            out.push_str(escaped);
        }
        i += len;
        run = i;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Appends a number: an integer as is, a float as Go prints a `float64`.
fn push_number(out: &mut String, n: &Number) {
    if n.is_i64() || n.is_u64() {
        let _ = write!(out, "{n}");
        return;
    }
    let Some(f) = n.as_f64() else {
        out.push_str(&n.to_string());
        return;
    };
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // shortest digits in exponent form; Go writes the exponent's sign
        // always and at least one digit (`1e-07` is cleaned to `1e-7`)
        let text = format!("{f:e}");
        match text.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => {
                out.push_str(mantissa);
                out.push_str("e+");
                out.push_str(exp);
            }
            _ => out.push_str(&text),
        }
    } else {
        // shortest digits in plain decimal; a whole number has no fraction
        out.push_str(&format!("{f}"));
    }
}

/// Appends any JSON value in canonical form.
pub fn push_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => push_number(out, n),
        Value::String(s) => push_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => push_object(out, m),
    }
}

/// Appends an object, its keys in byte order.
fn push_object(out: &mut String, m: &Map<String, Value>) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, k);
        out.push(':');
        push_value(out, &m[k]);
    }
    out.push('}');
}

/// The canonical text of a top-level object: what the daemon writes for an
/// event holding exactly these fields, in a string of `capacity` bytes to
/// begin with (the length of the line it is compared with: one allocation).
pub fn canonical_object(m: &Map<String, Value>, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    push_object(&mut out, m);
    out
}

/// The list columns of `agent_work_contexts`: the projector stores
/// `json.Marshal` of the typed list, so struct fields come in their
/// declared order (`sha`, `message`, `files`), not sorted, and an absent
/// list is `null`.
pub mod work_context {
    use super::push_str;
    use thrum_schemas::events::Commit;

    fn push_strings(out: &mut String, items: &[String]) {
        out.push('[');
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(out, s);
        }
        out.push(']');
    }

    /// `unmerged_commits`.
    pub fn commits(list: Option<&[Commit]>) -> String {
        let Some(list) = list else { return "null".into() };
        let mut out = String::from("[");
        for (i, c) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"sha\":");
            push_str(&mut out, &c.sha);
            out.push_str(",\"message\":");
            push_str(&mut out, &c.message);
            out.push_str(",\"files\":");
            push_strings(&mut out, &c.files);
            out.push('}');
        }
        out.push(']');
        out
    }

    /// `uncommitted_files` and `changed_files`.
    pub fn strings(list: Option<&[String]>) -> String {
        let Some(list) = list else { return "null".into() };
        let mut out = String::new();
        push_strings(&mut out, list);
        out
    }
}

#[cfg(test)]
mod tests {
    //! Golden lines: each expected text is a line of the checked-in fixture
    //! `fixtures/thrum-fixture.tar.zst` (or a cell of its database), copied
    //! byte for byte; the value encoded is the line decoded.
    use super::*;
    use thrum_schemas::events::Commit;

    /// Lines of the fixture's event logs: HTML characters, non-ASCII text,
    /// quotes, newlines, nested objects and arrays, integers.
    const LINES: &[&str] = &[
        concat!(
            r#"{"created_by":"coordinator_main","#,
            r#""description":"Sync throughput \u0026 heartbeat latency","#,
            r#""event_id":"evt_01KJTHXMAHW0QZY6EZ2SZ48CRY","#,
            r#""group_id":"grp_01KJTHXMAHW09WYF5MAA7CCS55","name":"perf-taskforce","#,
            r#""origin_daemon":"d_hbev0wjtjpge","sequence":2287,"#,
            r#""timestamp":"2026-03-03T19:13:41.713896Z","type":"group.create","v":1}"#,
        ),
        concat!(
            r#"{"body":{"content":"Heads up: the mention resolver fails when latency "#,
            r#"\u003e 790ms \u0026 retries \u003c 5. (updated)","#,
            r#""format":"markdown"},"event_id":"evt_01KJSD3CB67BTWBJH37WN30V6M","#,
            r#""message_id":"msg_01KJSAWYGMD652EHT629G8Q1WJ","origin_daemon":"d_hbev0wjtjpge","#,
            r#""sequence":1164,"timestamp":"2026-03-03T08:30:12.838235Z","type":"message.edit","#,
            r#""v":1}"#,
        ),
        "{\"body\":{\"content\":\"Status of cli: tests green \u{2014} 672 passed, 7 failed. \
            (updated)\",\"format\":\"markdown\"},\"event_id\":\"evt_01KJPYCZXK2ANWH6V1Z4D31CDH\"\
            ,\"message_id\":\"msg_01KJPXXQKM2R31409RYVFS2913\",\"origin_daemon\":\"d_hbev0wjtjpg\
            e\",\"sequence\":129,\"timestamp\":\"2026-03-02T09:34:50.291074Z\",\"type\":\"message.\
            edit\",\"v\":1}",
        concat!(
            r#"{"body":{"content":"I'm going to harden the context file watcher in `main` "#,
            r#"next. (updated)","#,
            r#""format":"plain","#,
            r#""structured":"{\"module\":\"main\",\"priority\":4,\"revision\":2}"},"#,
            r#""event_id":"evt_01KJWD0C2GNQ2N5SEQ54G650ZE","#,
            r#""message_id":"msg_01KJWCBPB8FX93D945841HZG3K","origin_daemon":"d_hbev0wjtjpge","#,
            r#""sequence":3609,"timestamp":"2026-03-04T12:26:17.552695Z","type":"message.edit","#,
            r#""v":1}"#,
        ),
        "{\"body\":{\"content\":\"I'm going to add the rate limiter in `daemon` next.\\n\\n_Edit: \
            tests are green \
            now \u{2705}_\",\"format\":\"markdown\"},\"event_id\":\"evt_01KK0JY9DBHEDKHAF9QT5SGT5\
            T\",\"message_id\":\"msg_01KK0JP68NPJMJZY3JDYB69K2C\",\"origin_daemon\":\"d_hbev0wjtjp\
            ge\",\"sequence\":7702,\"timestamp\":\"2026-03-06T03:26:58.475558Z\",\"type\":\"messag\
            e.edit\",\"v\":1}",
    ];

    #[test]
    fn fixture_lines_are_their_own_canonical_form() {
        for line in LINES {
            let Value::Object(m) = serde_json::from_str::<Value>(line).unwrap() else {
                panic!("{line}")
            };
            assert_eq!(canonical_object(&m, 0), *line);
            // keys in another order, text unescaped: the same canonical form
            let shuffled: Map<String, Value> = m.clone().into_iter().rev().collect();
            assert_eq!(canonical_object(&shuffled, 0), *line);
        }
    }

    /// The generator's renderer (test code may use it) agrees.
    #[test]
    fn canonical_object_equals_gojson() {
        for line in [
            r#"{"b":1,"a":{"z":[1,"<&>"],"B":null},"_":true,"é":"\u2028"}"#,
            r#"{"type":"x","timestamp":"t","body":{"content":"a\nb","format":"markdown"},"v":1}"#,
        ] {
            let v: Value = serde_json::from_str(line).unwrap();
            let Value::Object(m) = &v else { panic!() };
            assert_eq!(canonical_object(m, 0), thrum_schemas::gojson::to_string(&v));
        }
    }

    #[test]
    fn runs_between_escapes_are_kept_and_other_e2_characters_are_not_escaped() {
        let cases = [
            ("", "\"\""),
            ("plain text", "\"plain text\""),
            ("€—\u{2027}\u{202a}", "\"€—\u{2027}\u{202a}\""),
            ("ab\u{2028}cd\u{2029}", "\"ab\\u2028cd\\u2029\""),
            ("\u{e2}\u{2028}<x>", "\"\u{e2}\\u2028\\u003cx\\u003e\""),
            ("x\u{0}y\u{1b}", "\"x\\u0000y\\u001b\""),
            ("<", "\"\\u003c\""),
        ];
        for (s, want) in cases {
            let mut out = String::from("[");
            push_str(&mut out, s);
            assert_eq!(out, format!("[{want}"), "{s:?}");
        }
    }

    #[test]
    fn strings_escape_as_go_does() {
        let mut out = String::new();
        push_str(
            &mut out,
            "a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}<>&\u{2028}\u{2029}\u{e9}\u{1f600}",
        );
        assert_eq!(
            out,
            r#""a\"b\\c\b\f\n\r\t\u0001\u001f"#.to_owned()
                + "\u{7f}"
                + r#"\u003c\u003e\u0026\u2028\u2029"#
                + "\u{e9}\u{1f600}\""
        );
    }

    #[test]
    fn numbers_print_as_go_prints_them() {
        let cases = [
            ("1", "1"),
            ("-0", "-0"),
            ("1.0", "1"),
            ("0.5", "0.5"),
            ("1e20", "100000000000000000000"),
            ("1e21", "1e+21"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("1.5e-7", "1.5e-7"),
            ("-2.5e300", "-2.5e+300"),
            ("9223372036854775807", "9223372036854775807"),
            ("18446744073709551615", "18446744073709551615"),
        ];
        for (input, go) in cases {
            let v: Value = serde_json::from_str(input).unwrap();
            let mut out = String::new();
            push_value(&mut out, &v);
            assert_eq!(out, go, "{input}");
        }
    }

    #[test]
    fn work_context_columns_equal_the_fixture_cells() {
        let c = |sha: &str, message: &str, files: &[&str]| Commit {
            sha: sha.into(),
            message: message.into(),
            files: files.iter().map(|f| f.to_string()).collect(),
        };
        let s = |items: &[&str]| items.iter().map(|f| f.to_string()).collect::<Vec<String>>();
        // agent_work_contexts of session ses_01KJSPTT4J90T3Y1XE1WARVDF4
        let commits = [
            c(
                "27e1b1ad77efad3e14ebc4e832ca156711abfa22",
                "daemon: add CLI flag parsing",
                &["docs/architecture.md"],
            ),
            c(
                "16b856cc76cde0b1c77d8b18ab547993ee30b989",
                "daemon: profile JSONL shard rotation",
                &["ui/src/components/Thread.tsx"],
            ),
        ];
        assert_eq!(
            work_context::commits(Some(&commits)),
            concat!(
                r#"[{"sha":"27e1b1ad77efad3e14ebc4e832ca156711abfa22","#,
                r#""message":"daemon: add CLI flag parsing","#,
                r#""files":["docs/architecture.md"]},"#,
                r#"{"sha":"16b856cc76cde0b1c77d8b18ab547993ee30b989","#,
                r#""message":"daemon: profile JSONL shard rotation","#,
                r#""files":["ui/src/components/Thread.tsx"]}]"#,
            )
        );
        assert_eq!(
            work_context::strings(Some(&s(&[
                "internal/daemon/heartbeat.go",
                "internal/groups/resolve.go"
            ]))),
            r#"["internal/daemon/heartbeat.go","internal/groups/resolve.go"]"#
        );
        // ses_01KJQN3MAKPZW76N0D03SQ7VA9: files in the commit's order, not sorted
        let commits = [c(
            "0f36e4a6bbbefbee4ba551f0482a091487ed5518",
            "daemon: migrate CLI flag parsing",
            &["go.mod", "Makefile"],
        )];
        assert_eq!(
            work_context::commits(Some(&commits)),
            concat!(
                r#"[{"sha":"0f36e4a6bbbefbee4ba551f0482a091487ed5518","#,
                r#""message":"daemon: migrate CLI flag parsing","files":["go.mod","Makefile"]}]"#,
            )
        );
        assert_eq!(work_context::strings(Some(&s(&[]))), "[]");
        assert_eq!(
            work_context::strings(Some(&s(&["Makefile", "go.mod"]))),
            r#"["Makefile","go.mod"]"#
        );
        assert_eq!(work_context::commits(Some(&[])), "[]");
        // an absent list, and text the fixture's lists do not hold
        assert_eq!(
            (work_context::commits(None), work_context::strings(None)),
            ("null".to_owned(), "null".to_owned())
        );
        assert_eq!(
            work_context::commits(Some(&[c("s", "fix <a> & \u{e9}", &["\u{2028}"])])),
            "[{\"sha\":\"s\",\"message\":\"fix \\u003ca\\u003e \\u0026 \u{e9}\",\"files\":[\"\\u20\
                28\"]}]"
        );
    }
}
