//! Declared conflicts and the projected rows compared across daemons.

use super::spec::{Conflict, MeshSpec};
use super::Daemon;
use crate::findings::{Finding, Findings, Kind};
use crate::rowdiff::{self, RowDiff};
use crate::value::{quote_ident, Val};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashSet;
use thrum_schemas::catalogue;

/// The catalogue table of a conflict and the indexes of its key and
/// columns, or why the conflict cannot be read.
fn conflict_shape(c: &Conflict) -> Result<(&'static catalogue::Table, Vec<&'static str>), String> {
    let t = catalogue::projected()
        .find(|t| t.name == c.table)
        .ok_or_else(|| format!("table {:?} is not a projected table", c.table))?;
    let key = conflict_key(t);
    if c.key.len() != key.len() {
        return Err(format!(
            "key {:?} does not have the {} values of {}'s key {key:?}",
            c.key,
            key.len(),
            t.name
        ));
    }
    if c.columns.is_empty() {
        return Err("names no column that may differ".into());
    }
    let mut cols = Vec::new();
    for col in &c.columns {
        if key.contains(&col.as_str()) {
            return Err(format!(
                "column {col:?} is part of {}'s key, which a conflict cannot change",
                t.name
            ));
        }
        match t.columns.iter().find(|x| x.name == col) {
            Some(x) => cols.push(x.name),
            None => return Err(format!("column {col:?} is not a column of {}", t.name)),
        }
    }
    Ok((t, cols))
}

/// The columns naming a conflict's row: the primary key, or for a table
/// with an AUTOINCREMENT id (which differs between daemons) its natural
/// key, the key rows are matched by.
fn conflict_key(t: &catalogue::Table) -> &'static [&'static str] {
    if t.autoincrement {
        t.natural_key
    } else {
        t.primary_key
    }
}

/// Each declared conflict, with every daemon's values (`mesh_conflict`).
pub(super) fn check_conflicts(
    spec: &MeshSpec,
    daemons: &[Daemon],
    conns: &[Connection],
    findings: &mut Findings,
) -> rusqlite::Result<()> {
    for (i, c) in spec.conflicts.iter().enumerate() {
        let (t, cols) = match conflict_shape(c) {
            Ok(x) => x,
            Err(why) => {
                findings.push(
                    Finding::new(Kind::MeshSpecInvalid, format!("conflict {}: {why}", i + 1))
                        .file("mesh.json"),
                );
                continue;
            }
        };
        check_declared_events(i, c, daemons, conns, findings)?;
        let show: Vec<&str> =
            if cols.is_empty() { t.columns.iter().map(|c| c.name).collect() } else { cols };
        let (values, distinct) = conflict_values(t, &show, c, daemons, conns)?;
        let outcome =
            if distinct > 1 { "the daemons differ" } else { "every daemon holds the same values" };
        findings.push(
            Finding::new(
                Kind::MeshConflict,
                format!(
                    "declared conflict {} (events {}, written by daemons {:?}): {outcome}",
                    c.kind,
                    c.event_ids.join(", "),
                    c.daemons
                ),
            )
            .table(t.name)
            .key(crate::value::key_text(
                conflict_key(t),
                &c.key.iter().map(|k| Val::text(k)).collect::<Vec<_>>(),
                &(0..c.key.len()).collect::<Vec<_>>(),
            ))
            .actual(values.join("; ")),
        );
    }
    Ok(())
}

/// Conflict `i`'s daemons are indexes of the mesh and name, one for each,
/// the daemon that wrote each declared event, held by some daemon.
fn check_declared_events(
    i: usize,
    c: &Conflict,
    daemons: &[Daemon],
    conns: &[Connection],
    findings: &mut Findings,
) -> rusqlite::Result<()> {
    if c.daemons.iter().any(|&k| k == 0 || k as usize > daemons.len()) {
        findings.push(
            Finding::new(
                Kind::MeshSpecInvalid,
                format!("conflict {}: daemons {:?} are not indexes of the mesh", i + 1, c.daemons),
            )
            .file("mesh.json"),
        );
    } else if c.event_ids.is_empty() || c.event_ids.len() != c.daemons.len() {
        findings.push(
            Finding::new(
                Kind::MeshSpecInvalid,
                format!(
                    "conflict {}: event_ids and daemons must name the conflicting events and, \
                        one for each, the daemon that wrote it",
                    i + 1
                ),
            )
            .file("mesh.json"),
        );
    } else {
        // each declared event is held somewhere, written by the daemon named for it
        for (eid, &k) in c.event_ids.iter().zip(&c.daemons) {
            let mut origin = None;
            for conn in conns {
                origin = conn
                    .query_row("SELECT origin_daemon FROM events WHERE event_id = ?1", [eid], |r| {
                        r.get::<_, String>(0)
                    })
                    .optional()?;
                if origin.is_some() {
                    break;
                }
            }
            let writer = &daemons[k as usize - 1];
            let why = match origin {
                None => Some(format!("event {eid} is held by no daemon")),
                Some(o) if o != writer.spec.daemon_id => {
                    Some(format!("event {eid} was written by {o}, not by {}", writer.label()))
                }
                Some(_) => None,
            };
            if let Some(why) = why {
                findings.push(
                    Finding::new(Kind::MeshSpecInvalid, format!("conflict {}: {why}", i + 1))
                        .file("mesh.json"),
                );
            }
        }
    }
    Ok(())
}

/// Every daemon's values of the columns `show` in the row of conflict `c`
/// (`no row` when it has none), and how many distinct rows they hold.
fn conflict_values(
    t: &catalogue::Table,
    show: &[&str],
    c: &Conflict,
    daemons: &[Daemon],
    conns: &[Connection],
) -> rusqlite::Result<(Vec<String>, usize)> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {}",
        show.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
        quote_ident(t.name),
        conflict_key(t)
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{} = ?{}", quote_ident(c), k + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    );
    let mut values = Vec::new();
    let mut distinct: Vec<Vec<Val>> = Vec::new();
    for (d, conn) in daemons.iter().zip(conns) {
        let mut st = conn.prepare(&sql)?;
        let mut rows = st.query(rusqlite::params_from_iter(c.key.iter()))?;
        let text = match rows.next()? {
            Some(r) => {
                let vals: Vec<Val> = (0..show.len())
                    .map(|k| r.get_ref(k).map(Val::from_ref))
                    .collect::<rusqlite::Result<_>>()?;
                let s = show
                    .iter()
                    .zip(&vals)
                    .map(|(c, v)| format!("{c}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if !distinct.contains(&vals) {
                    distinct.push(vals);
                }
                s
            }
            None => "no row".to_string(),
        };
        values.push(format!("{}: {text}", d.label()));
    }
    Ok((values, distinct.len()))
}

/// Converged: every projected table of each daemon against daemon-1's,
/// except AUTOINCREMENT ids, heartbeat columns and the declared conflicts;
/// returns the number of undeclared differences.
pub(super) fn check_rows(
    spec: &MeshSpec,
    daemons: &[Daemon],
    conns: &[Connection],
    findings: &mut Findings,
) -> rusqlite::Result<usize> {
    // (table, key, column) of every declared conflict: one lookup per difference
    let declared: HashSet<(&str, Vec<&str>, &str)> = spec
        .conflicts
        .iter()
        .flat_map(|c| {
            c.columns.iter().map(move |col| {
                (c.table.as_str(), c.key.iter().map(String::as_str).collect(), col.as_str())
            })
        })
        .collect();
    let is_declared = |table: &str, key: &[Val], column: Option<&str>| {
        let (Some(column), Some(key)) =
            (column, key.iter().map(Val::as_str).collect::<Option<Vec<&str>>>())
        else {
            return false;
        };
        declared.contains(&(table, key, column))
    };
    let mut n = 0;
    for t in catalogue::projected() {
        let mut ignore: Vec<&str> = t.local_columns.to_vec();
        if t.autoincrement {
            ignore.extend(t.primary_key.iter().copied());
        }
        for b in 1..daemons.len() {
            let (la, lb) = (daemons[0].label(), daemons[b].label());
            rowdiff::diff_table(t, &conns[0], &conns[b], &ignore, &mut |d| {
                let f = match d {
                    // a conflict names its row by the key rows are matched by
                    RowDiff::Cell { match_vals, column, .. }
                        if is_declared(t.name, &match_vals, Some(column)) =>
                    {
                        return
                    }
                    RowDiff::Cell { key, column, a, b, .. } => Finding::new(
                        Kind::MeshRowsDiffer,
                        format!("{la} and {lb} project another value (no declared conflict)"),
                    )
                    .key(key)
                    .column(column)
                    .values(format!("{a} ({la})"), format!("{b} ({lb})")),
                    RowDiff::OnlyA { key, row, .. } => Finding::new(
                        Kind::MeshRowsDiffer,
                        format!("row of {la} that {lb} does not project: {row}"),
                    )
                    .key(key),
                    RowDiff::OnlyB { key, row, .. } => Finding::new(
                        Kind::MeshRowsDiffer,
                        format!("row of {lb} that {la} does not project: {row}"),
                    )
                    .key(key),
                };
                n += 1;
                findings.push(f.table(t.name));
            })?;
        }
    }
    Ok(n)
}
