//! Owned SQLite values with a total order, and row loading.

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::cmp::Ordering;

/// One SQLite value as stored (storage class kept: `1` and `'1'` differ).
#[derive(Debug, Clone)]
pub enum Val {
    /// NULL.
    Null,
    /// INTEGER.
    Int(i64),
    /// REAL.
    Real(f64),
    /// TEXT, valid UTF-8.
    Text(String),
    /// TEXT that is not valid UTF-8.
    BadText(Vec<u8>),
    /// BLOB.
    Blob(Vec<u8>),
}

impl Val {
    /// The value as SQLite returned it.
    pub fn from_ref(v: ValueRef<'_>) -> Val {
        match v {
            ValueRef::Null => Val::Null,
            ValueRef::Integer(i) => Val::Int(i),
            ValueRef::Real(f) => Val::Real(f),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => Val::Text(s.to_owned()),
                Err(_) => Val::BadText(t.to_vec()),
            },
            ValueRef::Blob(b) => Val::Blob(b.to_vec()),
        }
    }
    /// Becomes [`Val::from_ref`] of `v`, reusing its own text's allocation.
    pub fn set_from_ref(&mut self, v: ValueRef<'_>) {
        if let (Val::Text(s), ValueRef::Text(t)) = (&mut *self, v) {
            if let Ok(t) = std::str::from_utf8(t) {
                s.clear();
                s.push_str(t);
                return;
            }
        }
        *self = Val::from_ref(v);
    }
    /// TEXT `s`.
    pub fn text(s: &str) -> Val {
        Val::Text(s.to_owned())
    }
    /// The text of a TEXT value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The integer of an INTEGER value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    fn class(&self) -> u8 {
        match self {
            Val::Null => 0,
            Val::Int(_) | Val::Real(_) => 1,
            Val::Text(_) | Val::BadText(_) => 2,
            Val::Blob(_) => 3,
        }
    }
    /// SQLite's order (NULL < numbers < TEXT (binary) < BLOB), total.
    pub fn cmp_sqlite(&self, other: &Val) -> Ordering {
        match self.class().cmp(&other.class()) {
            Ordering::Equal => {}
            o => return o,
        }
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            (Val::Real(a), Val::Real(b)) => a.total_cmp(b),
            (Val::Int(a), Val::Real(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
            (Val::Real(a), Val::Int(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
            (a, b) => a.bytes().cmp(b.bytes()),
        }
    }
    fn bytes(&self) -> &[u8] {
        match self {
            Val::Text(s) => s.as_bytes(),
            Val::BadText(b) | Val::Blob(b) => b,
            _ => &[],
        }
    }
}

impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Null, Val::Null) => true,
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::Real(a), Val::Real(b)) => a.to_bits() == b.to_bits(),
            (Val::Text(a), Val::Text(b)) => a == b,
            (Val::BadText(a), Val::BadText(b)) | (Val::Blob(a), Val::Blob(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Null => f.write_str("NULL"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Real(x) => write!(f, "{x:?}"),
            Val::Text(s) => {
                if s.chars().count() > 120 {
                    let cut: String = s.chars().take(117).collect();
                    write!(f, "{:?}…", cut)
                } else {
                    write!(f, "{s:?}")
                }
            }
            Val::BadText(b) => write!(f, "text(invalid UTF-8, {} bytes)", b.len()),
            Val::Blob(b) => write!(f, "x'{}'", crate::util::hex(b)),
        }
    }
}

fn class_ref(v: &ValueRef<'_>) -> u8 {
    match v {
        ValueRef::Null => 0,
        ValueRef::Integer(_) | ValueRef::Real(_) => 1,
        ValueRef::Text(_) => 2,
        ValueRef::Blob(_) => 3,
    }
}

/// [`Val::cmp_sqlite`] of two borrowed values.
pub fn cmp_ref(a: ValueRef<'_>, b: ValueRef<'_>) -> Ordering {
    match class_ref(&a).cmp(&class_ref(&b)) {
        Ordering::Equal => {}
        o => return o,
    }
    match (a, b) {
        (ValueRef::Integer(a), ValueRef::Integer(b)) => a.cmp(&b),
        (ValueRef::Real(a), ValueRef::Real(b)) => a.total_cmp(&b),
        (ValueRef::Integer(a), ValueRef::Real(b)) => (a as f64).total_cmp(&b).then(Ordering::Less),
        (ValueRef::Real(a), ValueRef::Integer(b)) => {
            a.total_cmp(&(b as f64)).then(Ordering::Greater)
        }
        (ValueRef::Text(a), ValueRef::Text(b)) | (ValueRef::Blob(a), ValueRef::Blob(b)) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

/// `Val` equality of two borrowed values (storage class kept, reals by bits).
pub fn eq_ref(a: ValueRef<'_>, b: ValueRef<'_>) -> bool {
    match (a, b) {
        (ValueRef::Null, ValueRef::Null) => true,
        (ValueRef::Integer(a), ValueRef::Integer(b)) => a == b,
        (ValueRef::Real(a), ValueRef::Real(b)) => a.to_bits() == b.to_bits(),
        (ValueRef::Text(a), ValueRef::Text(b)) | (ValueRef::Blob(a), ValueRef::Blob(b)) => a == b,
        _ => false,
    }
}

/// Compares rows by the given key column indexes.
pub fn cmp_keys(a: &[Val], b: &[Val], key: &[usize]) -> Ordering {
    for &i in key {
        match a[i].cmp_sqlite(&b[i]) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// Every row of `SELECT {cols} FROM {table}`, sorted by `key` (column indexes).
pub fn load_rows(
    conn: &Connection,
    table: &str,
    cols: &[&str],
    key: &[usize],
) -> rusqlite::Result<Vec<Vec<Val>>> {
    Ok(load_rows_within(conn, table, cols, key, usize::MAX)?.unwrap_or_default())
}

/// Bytes a loaded row takes beside its values, and a value beside its bytes.
const ROW_BYTES: usize = 48;
const VAL_BYTES: usize = 32;

/// [`load_rows`] holding at most `budget` bytes (values and their
/// overhead): `None`, with nothing held, as soon as the rows would take more.
pub fn load_rows_within(
    conn: &Connection,
    table: &str,
    cols: &[&str],
    key: &[usize],
    budget: usize,
) -> rusqlite::Result<Option<Vec<Vec<Val>>>> {
    let sql = format!(
        "SELECT {} FROM {}",
        cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
        quote_ident(table)
    );
    let mut stmt = conn.prepare(&sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query([])?;
    let (mut out, mut held) = (Vec::new(), 0usize);
    while let Some(r) = rows.next()? {
        held = held.saturating_add(ROW_BYTES);
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let x = r.get_ref(i)?;
            let len = match x {
                ValueRef::Text(b) | ValueRef::Blob(b) => b.len(),
                _ => 0,
            };
            held = held.saturating_add(VAL_BYTES + len);
            if held > budget {
                return Ok(None);
            }
            v.push(Val::from_ref(x));
        }
        out.push(v);
    }
    out.sort_by(|a, b| cmp_keys(a, b, key));
    Ok(Some(out))
}

/// Every row of a query, as values.
pub fn query_all(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<Vec<Val>>> {
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            v.push(Val::from_ref(r.get_ref(i)?));
        }
        out.push(v);
    }
    Ok(out)
}

/// Calls `f` with every row of a query, as values, one row at a time.
pub fn for_each_row(
    conn: &Connection,
    sql: &str,
    mut f: impl FnMut(&[Val]),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut v = Vec::with_capacity(n);
    while let Some(r) = rows.next()? {
        v.clear();
        for i in 0..n {
            v.push(Val::from_ref(r.get_ref(i)?));
        }
        f(&v);
    }
    Ok(())
}

/// `"name"` with embedded quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Key text for reports: `col=value, col=value`.
pub fn key_text(cols: &[&str], row: &[Val], key: &[usize]) -> String {
    key.iter().map(|&i| format!("{}={}", cols[i], plain(&row[i]))).collect::<Vec<_>>().join(", ")
}

/// A value without quotes when it is plain text (for keys).
pub fn plain(v: &Val) -> String {
    match v {
        Val::Text(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn order_and_equality_follow_sqlite() {
        let mut v = vec![
            Val::text("b"),
            Val::Null,
            Val::Int(3),
            Val::Blob(vec![0]),
            Val::text("a"),
            Val::Real(2.5),
        ];
        v.sort_by(|a, b| a.cmp_sqlite(b));
        assert_eq!(
            v,
            vec![
                Val::Null,
                Val::Real(2.5),
                Val::Int(3),
                Val::text("a"),
                Val::text("b"),
                Val::Blob(vec![0])
            ]
        );
        assert_ne!(Val::Int(1), Val::text("1"));
        assert_ne!(Val::Null, Val::text(""));
        assert_eq!(Val::text("x").to_string(), "\"x\"");
    }
    #[test]
    fn borrowed_comparisons_equal_owned_ones() {
        let vals = [
            Val::Null,
            Val::Int(1),
            Val::Int(2),
            Val::Real(1.0),
            Val::Real(1.5),
            Val::Real(f64::NAN),
            Val::text(""),
            Val::text("a"),
            Val::text("b"),
            Val::BadText(vec![0xff]),
            Val::Blob(vec![]),
            Val::Blob(vec![0]),
        ];
        fn as_ref(v: &Val) -> ValueRef<'_> {
            match v {
                Val::Null => ValueRef::Null,
                Val::Int(i) => ValueRef::Integer(*i),
                Val::Real(f) => ValueRef::Real(*f),
                Val::Text(s) => ValueRef::Text(s.as_bytes()),
                Val::BadText(b) => ValueRef::Text(b),
                Val::Blob(b) => ValueRef::Blob(b),
            }
        }
        for a in &vals {
            assert_eq!(&Val::from_ref(as_ref(a)), a);
            for b in &vals {
                assert_eq!(cmp_ref(as_ref(a), as_ref(b)), a.cmp_sqlite(b), "{a:?} {b:?}");
                assert_eq!(eq_ref(as_ref(a), as_ref(b)), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn loads_sorted_rows() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t(a TEXT, b INTEGER); INSERT INTO t VALUES ('z', 1), ('a', \
            NULL), ('m', 2);",
        )
        .unwrap();
        let rows = load_rows(&c, "t", &["a", "b"], &[0]).unwrap();
        assert_eq!(rows[0], vec![Val::text("a"), Val::Null]);
        assert_eq!(rows[2][1], Val::Int(1));
        assert_eq!(key_text(&["a", "b"], &rows[1], &[0, 1]), "a=m, b=2");
    }
}
