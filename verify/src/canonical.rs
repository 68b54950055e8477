//! The canonical form of an event line checked in place: one pass over
//! the line's bytes, nothing decoded and nothing re-encoded.
//!
//! [`plainly_canonical`] accepts a line only when it is, byte for byte,
//! what [`crate::gojson::canonical_object`] makes of the object it holds
//! (the rules are listed in [`crate::gojson`]). It is sound but not
//! complete: it also refuses canonical text it does not take in (numbers
//! other than integers of at most [`MAX_DIGITS`] digits, `-0`, keys with
//! an escape, nesting deeper than [`MAX_DEPTH`]), and the caller then
//! compares the line with the re-encoding, as for any line it refuses. A
//! line it accepts has no duplicate key (keys strictly increase), no
//! whitespace outside strings, and only the escapes the encoder writes.

/// The most digits of an integer taken in: any such integer fits in an
/// `i64`, so it reads back and prints as written.
pub const MAX_DIGITS: usize = 18;

/// The deepest nesting taken in (serde_json's reader allows 128).
pub const MAX_DEPTH: usize = 64;

use thrum_schemas::events::Envelope;

/// Whether `text` is plainly the canonical form of the JSON object it
/// holds (see the module's documentation). `false` says only that the
/// line must be compared with its re-encoding.
pub fn plainly_canonical(text: &str) -> bool {
    canonical_top(text).is_some()
}

/// The top-level keys of the envelope whose values [`canonical_top`]
/// locates, in key order.
pub const ENVELOPE_KEYS: [&str; 6] =
    ["event_id", "origin_daemon", "sequence", "timestamp", "type", "v"];

/// Where the value of each of [`ENVELOPE_KEYS`] lies in a line (byte
/// range), `None` for a key the line does not have.
pub type TopSpans = [Option<(usize, usize)>; ENVELOPE_KEYS.len()];

/// [`plainly_canonical`], and for a line it accepts, where the values of
/// its top-level envelope keys lie: the same single pass.
pub fn canonical_top(text: &str) -> Option<TopSpans> {
    let b = text.as_bytes();
    let mut s = Scan { b, i: 0, top: [None; ENVELOPE_KEYS.len()] };
    (b.first() == Some(&b'{') && s.object(0) && s.i == b.len()).then_some(s.top)
}

/// The envelope of a line [`canonical_top`] accepted, read from its text
/// when every envelope field it has is of the plain kind: a string
/// without an escape (or `null` for an optional one), an integer (or
/// `null`). `None` otherwise: the caller decodes the envelope with serde,
/// whose verdict (a value or an error) this never differs from.
pub fn envelope(text: &str, top: &TopSpans) -> Option<Envelope> {
    let raw = |k: usize| top[k].map(|(a, b)| &text[a..b]);
    let string = |k: usize| -> Option<Option<String>> {
        match raw(k) {
            None | Some("null") => Some(None),
            Some(v) => {
                let inner = v.strip_prefix('"')?.strip_suffix('"')?;
                (!inner.contains('\\')).then(|| Some(inner.to_owned()))
            }
        }
    };
    let integer = |k: usize| -> Option<Option<i64>> {
        match raw(k) {
            None | Some("null") => Some(None),
            Some(v) => v.parse().ok().map(Some),
        }
    };
    // `type` and `timestamp` are plain strings: absent is empty, `null` is refused
    let required = |k: usize| match raw(k) {
        Some("null") => None,
        _ => string(k).map(Option::unwrap_or_default),
    };
    Some(Envelope {
        event_type: required(4)?,
        timestamp: required(3)?,
        event_id: string(0)?,
        v: integer(5)?,
        origin_daemon: string(1)?,
        sequence: integer(2)?,
    })
}

/// Bytes a string holds as they are: all but `"`, `\`, controls, `<`, `>`,
/// `&` and the lead byte 0xE2 of U+2028 and U+2029 (which the scan looks at).
const PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = false;
        c += 1;
    }
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    t[b'<' as usize] = false;
    t[b'>' as usize] = false;
    t[b'&' as usize] = false;
    t[0xE2] = false;
    t
};

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    /// The spans of the envelope's values, filled at depth 0.
    top: TopSpans,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// An object at `self.i` (its `{`), keys strictly increasing.
    fn object(&mut self, depth: usize) -> bool {
        if depth >= MAX_DEPTH || !self.eat(b'{') {
            return false;
        }
        if self.eat(b'}') {
            return true;
        }
        let mut last: Option<&[u8]> = None;
        loop {
            let start = self.i + 1;
            if !self.string(true) {
                return false;
            }
            let key = &self.b[start..self.i - 1];
            if last.is_some_and(|l| l >= key) {
                return false;
            }
            last = Some(key);
            if !self.eat(b':') {
                return false;
            }
            let at = self.i;
            if !self.value(depth + 1) {
                return false;
            }
            if depth == 0 {
                if let Some(k) = ENVELOPE_KEYS.iter().position(|e| e.as_bytes() == key) {
                    self.top[k] = Some((at, self.i));
                }
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        if depth >= MAX_DEPTH || !self.eat(b'[') {
            return false;
        }
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string(false),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    /// `-?(0|[1-9][0-9]*)` of at most [`MAX_DIGITS`] digits, not `-0`,
    /// followed by no fraction or exponent.
    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        let plain = match digits {
            [] => false,
            [b'0'] => !negative,
            [b'0', ..] => false,
            _ => digits.len() <= MAX_DIGITS,
        };
        plain && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))
    }

    /// A string at `self.i` (its `"`), each character as the encoder
    /// writes it; a key (`key`) must have no escape at all, so that its
    /// bytes are the key compared.
    fn string(&mut self, key: bool) -> bool {
        if !self.eat(b'"') {
            return false;
        }
        loop {
            while self.peek().is_some_and(|c| PLAIN[c as usize]) {
                self.i += 1;
            }
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return true;
                }
                Some(b'\\') if !key => {
                    if !self.escape() {
                        return false;
                    }
                }
                // U+2028 and U+2029 are escaped; other characters of lead byte E2 are not
                Some(0xE2) => {
                    if self.b.get(self.i + 1) == Some(&0x80)
                        && matches!(self.b.get(self.i + 2), Some(0xA8 | 0xA9))
                    {
                        return false;
                    }
                    self.i += 1;
                }
                _ => return false,
            }
        }
    }

    /// An escape at `self.i` (its `\`), one the encoder writes: the short
    /// forms of `"`, `\`, and of the controls that have one; `\u00xx`
    /// (lowercase hex) for the other controls; `\u003c`, `\u003e`,
    /// `\u0026`, `\u2028`, `\u2029`.
    fn escape(&mut self) -> bool {
        let Some(&c) = self.b.get(self.i + 1) else { return false };
        if matches!(c, b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') {
            self.i += 2;
            return true;
        }
        let Some(hex) = self.b.get(self.i + 2..self.i + 6) else { return false };
        let lower = hex.iter().all(|h| matches!(h, b'0'..=b'9' | b'a'..=b'f'));
        let code = std::str::from_utf8(hex).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
        let written = match code {
            Some(0x08 | 0x09 | 0x0a | 0x0c | 0x0d) => false,
            Some(0..=0x1f | 0x3c | 0x3e | 0x26 | 0x2028 | 0x2029) => true,
            _ => false,
        };
        if c == b'u' && lower && written {
            self.i += 6;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gojson::canonical_object;
    use serde_json::Value;

    /// The re-encoding's verdict: the line is the canonical form of what it holds.
    fn reencoded(text: &str) -> bool {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => canonical_object(&m, 0) == text,
            _ => false,
        }
    }

    #[test]
    fn canonical_lines_are_taken_in() {
        for line in [
            r#"{}"#,
            r#"{"a":1,"b":[true,false,null,{},[]],"c":{"x":-12,"y":"z"}}"#,
            r#"{"body":{"content":"a\"b\\c\b\f\n\r\t\u0001\u001f","format":"plain"}}"#,
            r#"{"s":"\u003c\u003e\u0026\u2028\u2029 é € ✅ 😀","v":0}"#,
            "{\"e2\":\"\u{2027}\u{202a}\u{2014}\",\"n\":999999999999999999}",
        ] {
            assert!(plainly_canonical(line), "{line}");
            assert!(reencoded(line), "{line}");
        }
    }

    #[test]
    fn plain_envelope_fields_are_read_from_the_text_and_others_left_to_serde() {
        let line = r#"{"b":{"type":"x"},"event_id":"e","sequence":-4,"type":"t","v":null}"#;
        let top = canonical_top(line).unwrap();
        let e = envelope(line, &top).unwrap();
        assert_eq!(e, serde_json::from_str::<Envelope>(line).unwrap());
        assert_eq!((e.event_type.as_str(), e.timestamp.as_str()), ("t", ""));
        assert_eq!(
            (e.event_id.as_deref(), e.sequence, e.v, e.origin_daemon),
            (Some("e"), Some(-4), None, None)
        );
        for other in [
            r#"{"type":"a\nb"}"#,
            r#"{"type":null}"#,
            r#"{"timestamp":1}"#,
            r#"{"v":"1"}"#,
            r#"{"sequence":true}"#,
            r#"{"origin_daemon":{}}"#,
        ] {
            let top = canonical_top(other).unwrap();
            assert_eq!(envelope(other, &top), None, "{other}");
        }
    }

    #[test]
    fn lines_that_are_not_canonical_are_refused() {
        for line in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a":{"y":1,"x":2}}"#,
            r#"{"a":[{"k":1,"k":2}]}"#,
            r#"{ "a":1}"#,
            r#"{"a": 1}"#,
            r#"{"a":1} "#,
            r#"{"a":[1, 2]}"#,
            r#"{"s":"<"}"#,
            r#"{"s":"&"}"#,
            "{\"s\":\"\u{2028}\"}",
            r#"{"s":"\/"}"#,
            r#"{"s":"\u00e9"}"#,
            r#"{"s":"\u003C"}"#,
            r#"{"s":"\u000a"}"#,
            r#"{"s":"\u0008"}"#,
            r#"{"s":"\ud83d\ude00"}"#,
            r#"{"n":1.0}"#,
            r#"{"n":1e2}"#,
            r#"{"n":01}"#,
            r#"{"n":+1}"#,
        ] {
            assert!(!plainly_canonical(line), "{line}");
            assert!(!reencoded(line), "{line}");
        }
    }

    #[test]
    fn canonical_text_outside_its_reach_is_left_to_the_reencoding() {
        // canonical, but refused: the caller compares with the re-encoding
        for line in [
            r#"{"n":0.5}"#,
            r#"{"n":-0}"#,
            r#"{"n":1234567890123456789}"#,
            r#"{"\u003c":1}"#,
            r#"{"a\"b":1}"#,
        ] {
            assert!(!plainly_canonical(line), "{line}");
            assert!(reencoded(line), "{line}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(!plainly_canonical(&deep));
        assert!(reencoded(&deep));
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH - 2), "]".repeat(MAX_DEPTH - 2));
        assert!(plainly_canonical(&deep));
    }

    #[test]
    fn text_that_is_not_an_object_is_refused() {
        for text in [
            "",
            "[]",
            "\"s\"",
            "1",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":tru}",
            "{\"a\":1}}",
            "{\"a\":\"x}",
            "{\"a\":\"\\u00\"}",
            "{a:1}",
            "{\"a\":[1,]}",
            "{\"a\":\"\t\"}",
        ] {
            assert!(!plainly_canonical(text), "{text:?}");
        }
    }
}
