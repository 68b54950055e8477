//! Limits as people write them.
//!
//! * Byte sizes ([`parse_bytes`]): a whole number with an optional suffix
//!   `K`, `M`, `G` or `T`, powers of 1024, case-insensitive, optionally
//!   followed by `iB` or `B` (`64M` = `64MiB` = `64mb` = 67108864). A bare
//!   `B` means bytes.
//! * Counts ([`parse_count`]): a whole number with an optional suffix `k`
//!   (×1000), `M` (×1,000,000) or `G` (×1,000,000,000), case-insensitive:
//!   counts are decimal, sizes binary.
//!
//! Anything else (a fraction, a sign, an unknown suffix, a value over
//! `u64::MAX`) is a [`SizeError`] that quotes the input and says what is
//! expected.

use crate::text::shown;

/// What [`parse_bytes`] accepts, as said in its errors.
pub const BYTES_EXPECTED: &str = "a whole number of bytes with an optional suffix K, M, G or T \
    (powers of 1024, e.g. 512K, 64M, 8G)";
/// What [`parse_count`] accepts, as said in its errors.
pub const COUNT_EXPECTED: &str =
    "a whole number with an optional suffix k (x1000), M (x1000000) or G (x1000000000)";

/// A limit that could not be parsed. The input is quoted escaped and
/// truncated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Nothing was given.
    #[error("empty value; expected {expected}")]
    Empty {
        /// What a value looks like.
        expected: &'static str,
    },
    /// The digits are not a number.
    #[error("\"{input}\" is not a number; expected {expected}")]
    NotANumber {
        /// The input, shown.
        input: String,
        /// What a value looks like.
        expected: &'static str,
    },
    /// The suffix is not one of the units.
    #[error("\"{input}\" has an unknown suffix \"{suffix}\"; expected {expected}")]
    UnknownSuffix {
        /// The input, shown.
        input: String,
        /// The suffix, shown.
        suffix: String,
        /// What a value looks like.
        expected: &'static str,
    },
    /// The value does not fit in 64 bits.
    #[error("\"{input}\" is too large (the largest value is {max})", max = u64::MAX)]
    Overflow {
        /// The input, shown.
        input: String,
    },
}

/// Splits `s` into its digits and its suffix (spaces between them allowed).
fn split(s: &str, expected: &'static str) -> Result<(u64, String), SizeError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SizeError::Empty { expected });
    }
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, suffix) = s.split_at(end);
    let input = || shown(s.as_bytes(), 64);
    if digits.is_empty() {
        return Err(SizeError::NotANumber { input: input(), expected });
    }
    // only ASCII digits: the one possible failure is overflow
    let n: u64 = digits.parse().map_err(|_| SizeError::Overflow { input: input() })?;
    Ok((n, suffix.trim_start().to_owned()))
}

fn scale(s: &str, n: u64, by: u64) -> Result<u64, SizeError> {
    n.checked_mul(by).ok_or_else(|| SizeError::Overflow { input: shown(s.trim().as_bytes(), 64) })
}

/// Parses a byte size: `4096`, `512K`, `64M`, `8G`, `1T`, `64MiB`, `64mb`.
pub fn parse_bytes(s: &str) -> Result<u64, SizeError> {
    let (n, suffix) = split(s, BYTES_EXPECTED)?;
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(SizeError::UnknownSuffix {
                input: shown(s.trim().as_bytes(), 64),
                suffix: shown(suffix.as_bytes(), 16),
                expected: BYTES_EXPECTED,
            })
        }
    };
    scale(s, n, 1 << shift)
}

/// Parses a count: `1000`, `10k`, `1M`, `2G` (decimal multiples).
pub fn parse_count(s: &str) -> Result<u64, SizeError> {
    let (n, suffix) = split(s, COUNT_EXPECTED)?;
    let by = match suffix.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        _ => {
            return Err(SizeError::UnknownSuffix {
                input: shown(s.trim().as_bytes(), 64),
                suffix: shown(suffix.as_bytes(), 16),
                expected: COUNT_EXPECTED,
            })
        }
    };
    scale(s, n, by)
}

/// A byte count for messages: `1 GiB` when it is a whole number of KiB,
/// MiB, GiB or TiB, else `N bytes`.
pub fn format_bytes(n: u64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if n >= 1 << shift && n % (1 << shift) == 0 {
            return format!("{} {unit}", n >> shift);
        }
    }
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_with_and_without_suffixes() {
        for (s, want) in [
            ("0", 0),
            ("4096", 4096),
            ("512K", 512 << 10),
            ("512k", 512 << 10),
            ("64M", 64 << 20),
            ("64MiB", 64 << 20),
            ("64mib", 64 << 20),
            ("64MB", 64 << 20),
            ("8G", 8 << 30),
            ("8g", 8 << 30),
            ("1T", 1 << 40),
            ("1TiB", 1 << 40),
            ("100B", 100),
            (" 64 M ", 64 << 20),
            ("16777215T", 16_777_215 << 40),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(parse_bytes(s), Ok(want), "{s:?}");
        }
    }

    #[test]
    fn counts_are_decimal() {
        for (s, want) in [
            ("0", 0),
            ("1000000", 1_000_000),
            ("10k", 10_000),
            ("10K", 10_000),
            ("1M", 1_000_000),
            ("1m", 1_000_000),
            ("2G", 2_000_000_000),
        ] {
            assert_eq!(parse_count(s), Ok(want), "{s:?}");
        }
    }

    #[test]
    fn garbage_and_overflow_are_clear_errors() {
        assert_eq!(parse_bytes(""), Err(SizeError::Empty { expected: BYTES_EXPECTED }));
        assert_eq!(parse_bytes("  "), Err(SizeError::Empty { expected: BYTES_EXPECTED }));
        assert!(
            matches!(parse_bytes("M"), Err(SizeError::NotANumber { ref input, .. }) if input == "M")
        );
        assert!(matches!(parse_bytes("-1"), Err(SizeError::NotANumber { .. })));
        let e = parse_bytes("1.5G");
        assert!(matches!(e, Err(SizeError::UnknownSuffix { ref suffix, .. }) if suffix == ".5G"));
        let e = parse_bytes("64X");
        assert!(matches!(e, Err(SizeError::UnknownSuffix { ref suffix, .. }) if suffix == "X"));
        assert!(matches!(parse_bytes("64KiBs"), Err(SizeError::UnknownSuffix { .. })));
        assert!(matches!(parse_bytes("18446744073709551616"), Err(SizeError::Overflow { .. })));
        assert!(matches!(parse_bytes("16777216T"), Err(SizeError::Overflow { .. })));
        assert!(matches!(parse_count("64K B"), Err(SizeError::UnknownSuffix { .. })));
        assert!(matches!(parse_count("1KiB"), Err(SizeError::UnknownSuffix { .. })));
        assert!(matches!(parse_count("18446744073709551615k"), Err(SizeError::Overflow { .. })));
        let e = parse_bytes("64X").unwrap_err().to_string();
        assert_eq!(e, format!("\"64X\" has an unknown suffix \"X\"; expected {BYTES_EXPECTED}"));
        // hostile input is escaped and truncated in the message
        let e = parse_bytes(&format!("\x1b[31m{}", "9".repeat(10_000))).unwrap_err().to_string();
        assert!(
            e.len() < 400 && e.starts_with("\"\\u{1b}[31m99") && e.contains("(10005 bytes)"),
            "{e}"
        );
    }

    #[test]
    fn byte_counts_print_in_whole_units() {
        assert_eq!(format_bytes(1 << 30), "1 GiB");
        assert_eq!(format_bytes(4 << 30), "4 GiB");
        assert_eq!(format_bytes(64 << 10), "64 KiB");
        assert_eq!(format_bytes(1 << 40), "1 TiB");
        assert_eq!(format_bytes(1536 << 20), "1536 MiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
        assert_eq!(format_bytes(1), "1 byte");
        assert_eq!(format_bytes(0), "0 bytes");
    }
}
