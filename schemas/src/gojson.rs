//! JSON text exactly as the daemon's Go encoder writes an event built as a map:
//! compact, object keys in byte order, `<` `>` `&` U+2028 U+2029 escaped as
//! `\u003c` `\u003e` `\u0026` `\u2028` `\u2029`, control characters as `\n`,
//! `\r`, `\t`, `\b`, `\f` or `\u00XX` (lowercase hex).

use serde_json::Value;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes that may need escaping: controls, `"`, `\`, `<`, `>`, `&`, and
/// 0xE2 (the lead byte of U+2028 and U+2029).
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xE2] = true;
    t
};

/// Appends `s` as a quoted, Go-escaped JSON string.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !SPECIAL[c as usize] {
            i += 1;
            continue;
        }
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            b'<' => "\\u003c",
            b'>' => "\\u003e",
            b'&' => "\\u0026",
            0xE2 if b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0xA8) => "\\u2028",
            0xE2 if b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0xA9) => "\\u2029",
            0xE2 => {
                i += 1;
                continue;
            }
            _ => "",
        };
        // Every split point is an ASCII byte or the lead byte of a UTF-8
        // sequence, so the slices stay valid UTF-8.
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 15) as usize] as char);
        } else {
            out.push_str(esc);
        }
        i += if c == 0xE2 { 3 } else { 1 };
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends any JSON value canonically (keys sorted by bytes, Go escaping).
pub fn push_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
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
    }
}

/// Canonical text of a value.
pub fn to_string(v: &Value) -> String {
    let mut s = String::new();
    push_value(&mut s, v);
    s
}

/// Builds one JSON object in place. Keys must be given in byte order; debug
/// builds assert it, so a writer cannot silently emit non-canonical lines.
pub struct Obj<'a> {
    out: &'a mut String,
    first: bool,
    #[cfg(debug_assertions)]
    last: Option<String>,
}

impl<'a> Obj<'a> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj {
            out,
            first: true,
            #[cfg(debug_assertions)]
            last: None,
        }
    }
    fn key(&mut self, k: &str) {
        #[cfg(debug_assertions)]
        {
            if let Some(prev) = &self.last {
                debug_assert!(prev.as_bytes() < k.as_bytes(), "keys out of order: {prev} then {k}");
            }
            self.last = Some(k.to_string());
        }
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str(self.out, k);
        self.out.push(':');
    }
    /// Writes a string member.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        push_str(self.out, v);
        self
    }
    /// Writes the key only when `v` is `Some` and non-empty (Go `omitempty`).
    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            self.str(k, v);
        }
        self
    }
    /// Writes an integer member.
    pub fn int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        use std::fmt::Write as _;
        let _ = write!(self.out, "{v}");
        self
    }
    /// Writes a boolean member.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
        self
    }
    /// Writes a `null` member.
    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.push_str("null");
        self
    }
    /// Writes a nested value through a closure that appends raw JSON.
    pub fn raw(&mut self, k: &str, f: impl FnOnce(&mut String)) -> &mut Self {
        self.key(k);
        f(self.out);
        self
    }
    /// Closes the object.
    pub fn end(&mut self) {
        self.out.push('}');
    }
}

/// Appends a JSON array of strings.
pub fn push_str_array<S: AsRef<str>>(out: &mut String, items: &[S]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, s.as_ref());
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn escapes_like_go() {
        let mut s = String::new();
        push_str(&mut s, "a<b>&\"\\\n\t\u{1}\u{8}\u{2028}é\u{7f}");
        let want = String::from(r#""a\u003cb\u003e\u0026\"\\\n\t\u0001\b\u2028é"#) + "\u{7f}\"";
        assert_eq!(s, want);
    }
    #[test]
    fn roundtrips_and_keeps_other_e2_characters() {
        for text in [
            "",
            "plain",
            "€ → ≥ …",
            "a\u{2029}b\u{2028}",
            "\u{1f}\u{0}",
            "tab\tq\"",
            "日本語 <tag> & more",
            "\u{e2}",
        ] {
            let mut s = String::new();
            push_str(&mut s, text);
            let back: String = serde_json::from_str(&s).unwrap();
            assert_eq!(back, text);
            assert!(!s.contains('<') && !s.contains('\u{2028}'));
        }
        let mut s = String::new();
        push_str(&mut s, "€→");
        assert_eq!(s, "\"€→\"");
    }

    #[test]
    fn sorts_keys_by_bytes() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"z":[1,"<"],"B":null},"_":true}"#).unwrap();
        assert_eq!(to_string(&v), r#"{"_":true,"a":{"B":null,"z":[1,"\u003c"]},"b":1}"#);
    }
    #[test]
    fn obj_builder() {
        let mut s = String::new();
        let mut o = Obj::new(&mut s);
        o.str("a", "x").opt_str("b", Some("")).int("c", -3).bool("d", false);
        o.end();
        assert_eq!(s, r#"{"a":"x","c":-3,"d":false}"#);
    }
}
