//! Timestamps. The daemon writes UTC RFC 3339 with Go's RFC3339Nano trimming
//! (trailing fractional zeros dropped). Fixtures keep every instant at
//! microsecond precision with a non-zero last digit, so every timestamp has
//! exactly six fractional digits and string order equals time order.

/// Microseconds since the Unix epoch.
pub type Micros = i64;

const US_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn split(us: Micros) -> (i64, i64, i64) {
    let secs = us.div_euclid(US_PER_SEC);
    let frac = us.rem_euclid(US_PER_SEC);
    (secs.div_euclid(SECS_PER_DAY), secs.rem_euclid(SECS_PER_DAY), frac)
}

/// Go `time.RFC3339Nano` rendering of a UTC instant (trailing zeros trimmed).
pub fn rfc3339_nano(us: Micros) -> String {
    let mut s = String::with_capacity(27);
    write_rfc3339_nano(&mut s, us);
    s
}

/// Appends [`rfc3339_nano`] to `out` without allocating.
pub fn write_rfc3339_nano(out: &mut String, us: Micros) {
    let (days, sod, frac) = split(us);
    let (y, mo, d) = civil_from_days(days);
    push_num(out, y, 4);
    out.push('-');
    push_num(out, mo as i64, 2);
    out.push('-');
    push_num(out, d as i64, 2);
    out.push('T');
    push_num(out, sod / 3600, 2);
    out.push(':');
    push_num(out, sod / 60 % 60, 2);
    out.push(':');
    push_num(out, sod % 60, 2);
    if frac != 0 {
        let mut f = frac;
        let mut width = 6;
        while f % 10 == 0 {
            f /= 10;
            width -= 1;
        }
        out.push('.');
        push_num(out, f, width);
    }
    out.push('Z');
}

/// RFC 3339 without fraction (`2026-03-02T09:15:04Z`), as identity files use.
pub fn rfc3339_seconds(us: Micros) -> String {
    rfc3339_nano(us.div_euclid(US_PER_SEC) * US_PER_SEC)
}

/// SQLite `CURRENT_TIMESTAMP` rendering (`2026-03-02 09:15:04`).
pub fn sqlite_datetime(us: Micros) -> String {
    let (days, sod, _) = split(us);
    let (y, mo, d) = civil_from_days(days);
    format!("{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60)
}

/// `YYYY-MM-DD` of an instant (Hive partition values).
pub fn date(us: Micros) -> String {
    let (y, mo, d) = civil_from_days(split(us).0);
    format!("{y:04}-{mo:02}-{d:02}")
}

fn push_num(out: &mut String, v: i64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    if v < 0 {
        out.push('-');
    }
    for _ in digits..width {
        out.push('0');
    }
    // SAFETY-free: ASCII digits only.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// Parses RFC 3339 (`Z` or `±hh:mm` offset, optional fraction up to 9 digits)
/// to microseconds; sub-microsecond digits are truncated. `None` if malformed.
pub fn parse_rfc3339(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d, h, mi, se) =
        (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_us = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        let mut padded = digits.to_string();
        while padded.len() < 6 {
            padded.push('0');
        }
        frac_us = padded[..6].parse().ok()?;
    }
    let offset_secs = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign) if (sign == b'+' || sign == b'-') && i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let o = oh * 3600 + om * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * SECS_PER_DAY + h * 3600 + mi * 60 + se - offset_secs;
    Some(secs * US_PER_SEC + frac_us)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_like_go_rfc3339nano() {
        let t = parse_rfc3339("2026-03-02T09:15:04.123456Z").unwrap();
        assert_eq!(rfc3339_nano(t), "2026-03-02T09:15:04.123456Z");
        assert_eq!(rfc3339_nano(t - 456), "2026-03-02T09:15:04.123Z");
        assert_eq!(rfc3339_nano(t - 123_456), "2026-03-02T09:15:04Z");
        assert_eq!(rfc3339_nano(t - 23_456), "2026-03-02T09:15:04.1Z");
        assert_eq!(rfc3339_seconds(t), "2026-03-02T09:15:04Z");
        assert_eq!(sqlite_datetime(t), "2026-03-02 09:15:04");
        assert_eq!(date(t), "2026-03-02");
    }
    #[test]
    fn civil_roundtrip() {
        for days in [-800_000i64, -1, 0, 1, 59, 365, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00.5Z"), Some(1_767_225_600_500_000));
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}
