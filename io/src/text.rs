//! Text from input (archive entry names, arguments), made safe and short
//! for a terminal.

use std::path::Path;

/// `raw` for a message: invalid UTF-8 replaced, control characters, escape
/// sequences, quotes and backslashes escaped (as Rust's `{:?}` does, without
/// the surrounding quotes), and cut after `max` bytes of output with
/// `… (N bytes)` appended, N the length of `raw`. Only the first bytes of
/// `raw` are looked at, so a huge input costs nothing.
pub fn shown(raw: &[u8], max: usize) -> String {
    // an escaped character is at most 10 bytes (`\u{10ffff}`), a raw one at most 4
    let head = &raw[..raw.len().min(max.saturating_mul(4).saturating_add(4))];
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(max.min(text.len() * 2) + 24);
    for c in text.chars() {
        let start = out.len();
        out.extend(c.escape_debug());
        if out.len() > max {
            out.truncate(start);
            out.push_str(&format!("… ({} bytes)", raw.len()));
            return out;
        }
    }
    if head.len() < raw.len() {
        out.push_str(&format!("… ({} bytes)", raw.len()));
    }
    out
}

/// A name from the file system as it may be printed: control characters
/// escaped (a name with a newline or an ANSI escape cannot forge output).
pub fn shown_name(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    s
}

/// A path as it may be printed (see [`shown_name`]).
pub fn shown_path(p: &Path) -> String {
    shown_name(&p.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_only_escaped() {
        assert_eq!(shown(b".thrum/var/messages.db", 200), ".thrum/var/messages.db");
        assert_eq!(shown(b"a\nb\x1b[31mc\"d\\", 200), "a\\nb\\u{1b}[31mc\\\"d\\\\");
        assert_eq!(shown(b"caf\xc3\xa9", 200), "café");
        assert_eq!(shown(b"bad\xff", 200), "bad\u{fffd}");
    }

    #[test]
    fn long_names_are_cut_with_their_length() {
        let long = vec![b'a'; 512 << 20];
        let s = shown(&long, 200);
        assert_eq!(s, format!("{}… ({} bytes)", "a".repeat(200), 512u64 << 20));
        let ctl = vec![1u8; 1000];
        let s = shown(&ctl, 200);
        assert!(
            s.starts_with("\\u{1}\\u{1}") && s.ends_with("… (1000 bytes)") && s.len() < 230,
            "{s}"
        );
        assert_eq!(shown(&[b'x'; 201], 200), format!("{}… (201 bytes)", "x".repeat(200)));
        assert_eq!(shown(&[b'x'; 200], 200), "x".repeat(200));
    }
}
