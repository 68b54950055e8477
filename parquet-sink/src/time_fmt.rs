//! Small time helpers on top of `thrum_schemas::time`.

use thrum_schemas::time::{civil_from_days, parse_rfc3339, sqlite_datetime};

/// Parses SQLite `CURRENT_TIMESTAMP` text (`YYYY-MM-DD HH:MM:SS`, UTC) to
/// microseconds; `None` unless the text is exactly in that form.
pub(crate) fn parse_sql_datetime(s: &str, scratch: &mut String) -> Option<i64> {
    if s.len() != 19 || s.as_bytes()[10] != b' ' {
        return None;
    }
    scratch.clear();
    scratch.push_str(s.get(..10)?);
    scratch.push('T');
    scratch.push_str(s.get(11..)?);
    scratch.push('Z');
    let us = parse_rfc3339(scratch)?;
    (sqlite_datetime(us) == s).then_some(us)
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub(crate) fn day_name(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Day number of a `YYYY-MM-DD` name; `None` unless canonical.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    let mut scratch = String::new();
    let us = parse_sql_datetime(&format!("{s} 00:00:00"), &mut scratch)?;
    let days = us.div_euclid(crate::mapping::US_PER_DAY);
    (day_name(days) == s).then_some(days)
}
