//! Per-file statistics of a Delta `add` action, computed from the Arrow
//! batches of the file (by the sink as it writes them, by the check as it
//! reads them back).
//!
//! The rules (the Delta protocol leaves a writer free to leave a column's
//! minimum or maximum out; a reader then cannot skip on it):
//! * `numRecords`: the rows of the file;
//! * `nullCount`: every column of the file;
//! * `minValues` / `maxValues`: `long` columns as JSON numbers; `timestamp`
//!   columns as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the minimum rounded down and the
//!   maximum rounded up to the millisecond (the protocol's form has
//!   milliseconds, the data microseconds: the bounds stay bounds); `string`
//!   columns when the value has at most [`MAX_STRING_CHARS`] characters
//!   (strings compare by their UTF-8 bytes); `boolean` columns never; a
//!   column with no non-null value never.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use std::fmt::Write as _;

/// Longest string (in characters) written as a minimum or maximum.
pub const MAX_STRING_CHARS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Long,
    Timestamp,
    Text,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Int(i64),
    Text(String),
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
    nulls: u64,
    min: Option<Bound>,
    max: Option<Bound>,
}

/// The statistics of one file, accumulated batch by batch.
#[derive(Debug, Clone)]
pub struct FileStats {
    rows: u64,
    columns: Vec<Column>,
}

impl FileStats {
    /// No row yet, for files of `schema`.
    pub fn new(schema: &Schema) -> FileStats {
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let kind = match f.data_type() {
                    DataType::Int64 => Kind::Long,
                    DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _) => Kind::Timestamp,
                    DataType::Utf8 => Kind::Text,
                    _ => Kind::Other,
                };
                Column { name: f.name().clone(), kind, nulls: 0, min: None, max: None }
            })
            .collect();
        FileStats { rows: 0, columns }
    }

    /// Rows counted so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds a batch (its columns in the schema's order; a column of another
    /// type than the schema's counts its nulls only).
    pub fn add(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as u64;
        for (col, a) in self.columns.iter_mut().zip(batch.columns()) {
            col.nulls += a.null_count() as u64;
            match (col.kind, a.data_type()) {
                (Kind::Long, DataType::Int64) => {
                    for v in a.as_primitive::<Int64Type>().iter().flatten() {
                        widen_int(col, v);
                    }
                }
                (Kind::Timestamp, DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _)) => {
                    for v in a.as_primitive::<TimestampMicrosecondType>().iter().flatten() {
                        widen_int(col, v);
                    }
                }
                (Kind::Text, DataType::Utf8) => widen_text(col, a.as_string::<i32>()),
                _ => {}
            }
        }
    }

    /// The `stats` JSON of a Delta `add` action, keys in the protocol's
    /// order and columns in the schema's.
    pub fn to_json(&self) -> String {
        let mut s = format!("{{\"numRecords\":{}", self.rows);
        for (key, pick) in [("minValues", true), ("maxValues", false)] {
            let _ = write!(s, ",\"{key}\":{{");
            let mut first = true;
            for c in &self.columns {
                let Some(v) = render_bound(c, pick) else { continue };
                if !first {
                    s.push(',');
                }
                first = false;
                let _ = write!(s, "{}:{v}", quote(&c.name));
            }
            s.push('}');
        }
        s.push_str(",\"nullCount\":{");
        let counts: Vec<String> =
            self.columns.iter().map(|c| format!("{}:{}", quote(&c.name), c.nulls)).collect();
        s.push_str(&counts.join(","));
        s.push_str("}}");
        s
    }
}

fn widen_int(col: &mut Column, v: i64) {
    if col.min.as_ref().is_none_or(|m| matches!(m, Bound::Int(x) if v < *x)) {
        col.min = Some(Bound::Int(v));
    }
    if col.max.as_ref().is_none_or(|m| matches!(m, Bound::Int(x) if v > *x)) {
        col.max = Some(Bound::Int(v));
    }
}

fn widen_text(col: &mut Column, a: &arrow_array::StringArray) {
    for v in a.iter().flatten() {
        match &mut col.min {
            Some(Bound::Text(m)) if v.as_bytes() >= m.as_bytes() => {}
            Some(Bound::Text(m)) => {
                m.clear();
                m.push_str(v);
            }
            _ => col.min = Some(Bound::Text(v.to_string())),
        }
        match &mut col.max {
            Some(Bound::Text(m)) if v.as_bytes() <= m.as_bytes() => {}
            Some(Bound::Text(m)) => {
                m.clear();
                m.push_str(v);
            }
            _ => col.max = Some(Bound::Text(v.to_string())),
        }
    }
}

/// The JSON of a column's minimum (`min`) or maximum, when written.
fn render_bound(c: &Column, min: bool) -> Option<String> {
    let b = if min { c.min.as_ref()? } else { c.max.as_ref()? };
    match (c.kind, b) {
        (Kind::Long, Bound::Int(v)) => Some(v.to_string()),
        (Kind::Timestamp, Bound::Int(us)) => {
            let ms = if min {
                us.div_euclid(1000)
            } else {
                us.div_euclid(1000) + i64::from(us.rem_euclid(1000) != 0)
            };
            Some(quote(&timestamp_ms(ms)))
        }
        (Kind::Text, Bound::Text(t)) if t.chars().count() <= MAX_STRING_CHARS => Some(quote(t)),
        _ => None,
    }
}

/// A JSON string.
pub(crate) fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch (UTC).
pub fn timestamp_ms(ms: i64) -> String {
    let day = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = thrum_schemas::time::civil_from_days(day);
    let (h, min, sec, milli) =
        (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{sec:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow_schema::{Field, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn bounds_of_every_type_from_two_batches() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::Boolean, false),
        ]));
        let long = "x".repeat(33);
        let batch = |n: Vec<Option<i64>>, t: Vec<i64>, s: Vec<Option<&str>>| {
            let b = BooleanArray::from(vec![true; t.len()]);
            let t = TimestampMicrosecondArray::from(t).with_timezone("UTC");
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(n)),
                    Arc::new(t),
                    Arc::new(StringArray::from(s)),
                    Arc::new(b),
                ],
            )
            .unwrap()
        };
        let mut st = FileStats::new(&schema);
        st.add(&batch(vec![Some(5), None], vec![1_500_123, 1_000_000], vec![Some("b"), None]));
        st.add(&batch(
            vec![Some(-2), Some(9)],
            vec![86_400_000_001, 2_000_000],
            vec![Some("a\"é"), Some(&long)],
        ));
        assert_eq!(
            st.to_json(),
            concat!(
                r#"{"numRecords":4,"#,
                r#""minValues":{"n":-2,"t":"1970-01-01T00:00:01.000Z","s":"a\"é"},"#,
                r#""maxValues":{"n":9,"t":"1970-01-02T00:00:00.001Z"},"#,
                r#""nullCount":{"n":1,"t":0,"s":1,"b":0}}"#
            )
        );
        assert_eq!(
            FileStats::new(&schema).to_json(),
            concat!(
                r#"{"numRecords":0,"minValues":{},"maxValues":{},"#,
                r#""nullCount":{"n":0,"t":0,"s":0,"b":0}}"#
            )
        );
    }

    #[test]
    fn milliseconds_before_the_epoch() {
        assert_eq!(timestamp_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(timestamp_ms(1_772_442_904_123), "2026-03-02T09:15:04.123Z");
    }
}
