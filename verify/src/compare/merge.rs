//! The merge join: a projected table compared through two cursors in key
//! order, without loading either side.

use super::{col_names, compare_pair, idx, row_extra, row_missing, SessionSpan, TableStats};
use crate::findings::Findings;
use crate::value::{cmp_ref, eq_ref, quote_ident, Val};
use rusqlite::Connection;
use std::cmp::Ordering;
use thrum_schemas::catalogue::Table;

/// One side of a merge: a cursor in primary-key order that checks the
/// keys come strictly increasing.
struct Side<'s> {
    rows: rusqlite::Rows<'s>,
    pk: &'s [usize],
    last: Vec<Val>,
    n: u64,
}

impl<'s> Side<'s> {
    /// The next row, `Err` when it cannot be read or is out of order.
    fn next(&mut self) -> Result<Option<&rusqlite::Row<'s>>, ()> {
        let Some(r) = self.rows.next().map_err(|_| ())? else { return Ok(None) };
        let mut key = Vec::with_capacity(self.pk.len());
        for &i in self.pk {
            key.push(Val::from_ref(r.get_ref(i).map_err(|_| ())?));
        }
        if self.n > 0
            && self.last.iter().zip(&key).map(|(a, b)| a.cmp_sqlite(b)).find(|o| o.is_ne())
                != Some(Ordering::Less)
        {
            return Err(());
        }
        self.last = key;
        self.n += 1;
        Ok(Some(r))
    }
}

/// The next row of a side that may have no table.
fn next<'a, 's>(b: &'a mut Option<Side<'s>>) -> Result<Option<&'a rusqlite::Row<'s>>, ()> {
    b.as_mut().map_or(Ok(None), Side::next)
}

fn row_vals(r: &rusqlite::Row<'_>, n: usize) -> Result<Vec<Val>, ()> {
    (0..n).map(|i| r.get_ref(i).map(Val::from_ref).map_err(|_| ())).collect()
}

/// `compare_rows` of a table read through two cursors in key order (`rep`
/// `None`: a replay without the table, no rows): the table's stats and
/// findings, or `None` when a side cannot be read in a strictly increasing
/// key order, or the database side did not yield every row of its table
/// (the caller then loads both sides).
pub fn merge_table(
    t: &Table,
    db: &Connection,
    rep: Option<&Connection>,
    spans: &SessionSpan,
) -> Option<(TableStats, Findings)> {
    let cols = col_names(t);
    let pk = idx(t, t.primary_key);
    let local = idx(t, t.local_columns);
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
        quote_ident(t.name),
        pk.iter()
            .map(|&i| format!("{} COLLATE BINARY", quote_ident(cols[i])))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut sa = db.prepare(&sql).ok()?;
    let mut sb = match rep {
        Some(c) => Some(c.prepare(&sql).ok()?),
        None => None,
    };
    let n = cols.len();
    let mut a = Side { rows: sa.query([]).ok()?, pk: &pk, last: Vec::new(), n: 0 };
    let mut b = match sb.as_mut() {
        Some(s) => Some(Side { rows: s.query([]).ok()?, pk: &pk, last: Vec::new(), n: 0 }),
        None => None,
    };
    let mut st = TableStats::new(t.name, "replay");
    // bounded: the first ones kept, every one counted
    let mut found = Findings::new(0);
    let mut x = a.next().ok()?;
    let mut y = next(&mut b).ok()?;
    loop {
        let ord = match (x, y) {
            (Some(r), Some(s)) => {
                let mut o = Ordering::Equal;
                for &i in &pk {
                    o = cmp_ref(r.get_ref(i).ok()?, s.get_ref(i).ok()?);
                    if o != Ordering::Equal {
                        break;
                    }
                }
                o
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match ord {
            Ordering::Less => {
                st.extra += 1;
                found.push(row_extra(t, &row_vals(x?, n).ok()?));
                x = a.next().ok()?;
            }
            Ordering::Greater => {
                st.missing += 1;
                found.push(row_missing(t, &row_vals(y?, n).ok()?));
                y = next(&mut b).ok()?;
            }
            Ordering::Equal => {
                let (r, s) = (x?, y?);
                // rows are copied only when they differ or a local column is checked
                let mut copy = !local.is_empty();
                for ci in 0..n {
                    if copy {
                        break;
                    }
                    copy =
                        !local.contains(&ci) && !eq_ref(r.get_ref(ci).ok()?, s.get_ref(ci).ok()?);
                }
                if copy {
                    let (av, bv) = (row_vals(r, n).ok()?, row_vals(s, n).ok()?);
                    compare_pair(t, &local, &av, &bv, spans, &mut st, &mut |f| found.push(f));
                }
                x = a.next().ok()?;
                y = next(&mut b).ok()?;
            }
        }
    }
    // The key order came from an index: the rows seen must be the table's
    // (an index that disagrees with its table is left to the loading path).
    let in_table: i64 = db
        .query_row(&format!("SELECT count(*) FROM {} NOT INDEXED", quote_ident(t.name)), [], |r| {
            r.get(0)
        })
        .ok()?;
    if u64::try_from(in_table).ok()? != a.n {
        return None;
    }
    st.rows_db = a.n;
    st.rows_expected = Some(b.map_or(0, |s| s.n));
    Some((st, found))
}
