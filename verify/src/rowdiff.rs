//! The projected rows of two databases compared by a key that does not
//! depend on arrival order: a merge join of two cursors in key order, one
//! row of each side at a time.
//!
//! The key of a table is its primary key, except for the AUTOINCREMENT
//! tables (`message_edits`, `group_members`), whose `id` depends on the
//! order the rows were inserted in: their natural key when the catalogue
//! names one other than `id` (`group_members`), else every column but `id`
//! (`message_edits`). The `id` is then compared like any other column,
//! unless it is ignored.
//!
//! Used for what a rebuild in time order would project otherwise than the
//! arrival order (`rebuild_order_differs`) and for the rows of the daemons
//! of a mesh (`verify mesh`).

use crate::compare::{col_names, idx};
use crate::value::{cmp_keys, key_text, quote_ident, Val};
use std::cmp::Ordering;
use thrum_schemas::catalogue::Table;

/// One difference between side `a` and side `b` of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum RowDiff {
    /// A row of `a` without a row of the same key in `b`.
    OnlyA { key: String, key_vals: Vec<Val>, row: String },
    /// A row of `b` without a row of the same key in `a`.
    OnlyB { key: String, key_vals: Vec<Val>, row: String },
    /// A column whose value differs between the rows of one key;
    /// `match_vals` are the values of the key the rows were matched by.
    Cell {
        key: String,
        key_vals: Vec<Val>,
        match_vals: Vec<Val>,
        column: &'static str,
        a: Val,
        b: Val,
    },
}

/// The column indexes rows of `t` are matched by (see the module documentation).
pub fn match_key(t: &Table) -> Vec<usize> {
    if !t.autoincrement {
        return idx(t, t.primary_key);
    }
    if t.natural_key != t.primary_key {
        return idx(t, t.natural_key);
    }
    let pk = idx(t, t.primary_key);
    (0..t.columns.len()).filter(|i| !pk.contains(i)).collect()
}

/// The primary-key values of a row (in primary-key column order).
fn pk_vals(t: &Table, row: &[Val]) -> Vec<Val> {
    idx(t, t.primary_key).into_iter().map(|i| row[i].clone()).collect()
}

fn row_text(t: &Table, row: &[Val]) -> String {
    t.columns
        .iter()
        .zip(row)
        .map(|(c, v)| format!("{}={}", c.name, v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares table `t` of `a` and `b`: `out` gets each difference, in key
/// order. Columns named in `ignore` are not compared. `key_vals` of a
/// difference are the row's primary-key values.
pub fn diff_table(
    t: &Table,
    a: &rusqlite::Connection,
    b: &rusqlite::Connection,
    ignore: &[&str],
    out: &mut dyn FnMut(RowDiff),
) -> rusqlite::Result<()> {
    let cols = col_names(t);
    let key = match_key(t);
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
        quote_ident(t.name),
        key.iter()
            .map(|&i| format!("{} COLLATE BINARY", quote_ident(cols[i])))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut sa = a.prepare(&sql)?;
    let mut sb = b.prepare(&sql)?;
    let mut ra = sa.query([])?;
    let mut rb = sb.query([])?;
    let n = cols.len();
    // each side's current row, refilled in place (no allocation per row)
    let fill = |rows: &mut rusqlite::Rows<'_>, row: &mut Vec<Val>| -> rusqlite::Result<bool> {
        let Some(r) = rows.next()? else { return Ok(false) };
        row.resize(n, Val::Null);
        for (i, v) in row.iter_mut().enumerate() {
            v.set_from_ref(r.get_ref(i)?);
        }
        Ok(true)
    };
    let compared: Vec<usize> = (0..n).filter(|i| !ignore.contains(&cols[*i])).collect();
    let (mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut has_x, mut has_y) = (fill(&mut ra, &mut x)?, fill(&mut rb, &mut y)?);
    loop {
        let ord = match (has_x, has_y) {
            (true, true) => cmp_keys(&x, &y, &key),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => return Ok(()),
        };
        match ord {
            Ordering::Less => {
                out(RowDiff::OnlyA {
                    key: key_text(&cols, &x, &key),
                    key_vals: pk_vals(t, &x),
                    row: row_text(t, &x),
                });
                has_x = fill(&mut ra, &mut x)?;
            }
            Ordering::Greater => {
                out(RowDiff::OnlyB {
                    key: key_text(&cols, &y, &key),
                    key_vals: pk_vals(t, &y),
                    row: row_text(t, &y),
                });
                has_y = fill(&mut rb, &mut y)?;
            }
            Ordering::Equal => {
                for &i in &compared {
                    if x[i] != y[i] {
                        out(RowDiff::Cell {
                            key: key_text(&cols, &x, &key),
                            key_vals: pk_vals(t, &x),
                            match_vals: key.iter().map(|&k| x[k].clone()).collect(),
                            column: t.columns[i].name,
                            a: x[i].clone(),
                            b: y[i].clone(),
                        });
                    }
                }
                has_x = fill(&mut ra, &mut x)?;
                has_y = fill(&mut rb, &mut y)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thrum_schemas::catalogue;

    fn db(sql: &str) -> rusqlite::Connection {
        let c = crate::replay::fresh_v13().unwrap();
        c.execute_batch(sql).unwrap();
        c
    }

    fn diffs(
        table: &str,
        a: &rusqlite::Connection,
        b: &rusqlite::Connection,
        ignore: &[&str],
    ) -> Vec<RowDiff> {
        let t = catalogue::projected().find(|t| t.name == table).unwrap();
        let mut v = Vec::new();
        diff_table(t, a, b, ignore, &mut |d| v.push(d)).unwrap();
        v
    }

    #[test]
    fn autoincrement_rows_are_matched_by_their_natural_key_and_ids_compared() {
        let g = "INSERT INTO groups (group_id, name, created_at, created_by) VALUES ('g', 'n', \
            't', 'a');";
        let a = db(&format!(
            "{g} INSERT INTO group_members (id, group_id, member_type, \
            member_value, added_at) VALUES (1, 'g', 'agent', 'x', 't1'), (2, 'g', 'agent', 'y', \
            't2');"
        ));
        let b = db(&format!(
            "{g} INSERT INTO group_members (id, group_id, member_type, \
            member_value, added_at) VALUES (1, 'g', 'agent', 'y', 't2'), (2, 'g', 'agent', 'x', \
            't1'), (3, 'g', 'role', 'r', 't3');"
        ));
        let d = diffs("group_members", &a, &b, &[]);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(matches!(
            &d[0],
            RowDiff::Cell { column: "id", a: Val::Int(1), b: Val::Int(2), key, match_vals, .. }
                if key == "group_id=g, member_type=agent, member_value=x"
                    && match_vals == &vec![Val::text("g"), Val::text("agent"), Val::text("x")]
        ));
        assert!(matches!(
            &d[2],
            RowDiff::OnlyB { key, key_vals, .. }
                if key.contains("member_value=r") && key_vals == &vec![Val::Int(3)]
        ));
        assert!(diffs("group_members", &a, &b, &["id"])
            .iter()
            .all(|d| matches!(d, RowDiff::OnlyB { .. })));
        // message_edits: every column but id is the key
        let m = "INSERT INTO messages (message_id, agent_id, session_id, created_at, body_format, \
            body_content) VALUES ('m', 'a', 's', 't', 'markdown', 'x');";
        let e = |id1: i64, id2: i64| {
            db(&format!(
                "{m} INSERT INTO message_edits (id, message_id, edited_at, edited_by, \
                old_content, new_content) VALUES ({id1}, 'm', 't1', 's', 'x', 'y'), ({id2}, 'm', \
                't2', 's', 'y', 'z');"
            ))
        };
        assert_eq!(diffs("message_edits", &e(1, 2), &e(1, 2), &[]), vec![]);
        assert_eq!(diffs("message_edits", &e(1, 2), &e(2, 1), &[]).len(), 2);
        assert_eq!(diffs("message_edits", &e(1, 2), &e(2, 1), &["id"]), vec![]);
    }
}
