//! The v13 daemon's write path, one step at a time (docs/FORMAT.md section
//! 9): the line to `<file>.tmp` (mode 0600), appended to the JSONL file and
//! the temporary removed, the `events` row (`INSERT OR IGNORE`,
//! autocommit), the projection (one transaction per event, or a single
//! statement). A crash state is these steps stopped at one point.

use super::events::{NewEvent, Projection};
use crate::error::{sql, CorruptContext, Result};
use rusqlite::{params, Connection};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The temporary of a JSONL file: `<file>.tmp` beside it.
pub(crate) fn tmp_of(rel: &str) -> String {
    format!("{rel}.tmp")
}

/// Step 1: the line with its newline to `<file>.tmp`, created with mode
/// 0600 and truncated first.
pub(crate) fn write_tmp(thrum: &Path, ev: &NewEvent) -> Result<()> {
    let p = thrum.join(tmp_of(&ev.rel));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&p)
        .ctx("create", &p)?;
    f.write_all(&ev.line).ctx("write", &p)?;
    f.write_all(b"\n").ctx("write", &p)?;
    // the mode as the daemon creates it, whatever the umask or a previous file
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .ctx("chmod", &p)
}

/// Step 2 without its last part: the line appended to its JSONL file.
pub(crate) fn append(thrum: &Path, ev: &NewEvent) -> Result<()> {
    let p = thrum.join(&ev.rel);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(&p)
        .ctx("open", &p)?;
    f.write_all(&ev.line).ctx("write", &p)?;
    f.write_all(b"\n").ctx("write", &p)
}

/// The end of step 2: the temporary removed, if there.
pub(crate) fn remove_tmp(thrum: &Path, rel: &str) -> Result<()> {
    let p = thrum.join(tmp_of(rel));
    match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).ctx("remove", &p),
        _ => Ok(()),
    }
}

/// Step 3: the `events` row.
pub(crate) fn insert_row(c: &Connection, db: &Path, ev: &NewEvent) -> Result<()> {
    let line = String::from_utf8_lossy(&ev.line);
    sql(
        c.execute(
            "INSERT OR IGNORE INTO events (event_id, sequence, type, timestamp, origin_daemon, \
                event_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![ev.id, ev.seq, ev.ty, ev.ts, ev.daemon, line],
        ),
        db,
    )
    .map(drop)
}

/// Step 4: the projection. `Ok(Err(text))` when the daemon's apply fails
/// (nothing is projected, the write reports the error).
pub(crate) fn project(c: &mut Connection, db: &Path, ev: &NewEvent) -> Result<Result<(), String>> {
    match &ev.proj {
        Projection::Message { id, agent, session, at, content, scopes, refs } => {
            let tx = sql(c.transaction(), db)?;
            sql(
                tx.execute(
                    "INSERT INTO messages (message_id, thread_id, agent_id, session_id, \
                        created_at, body_format, body_content, \
                     body_structured, authored_by, disclosed) VALUES (?1, NULL, ?2, ?3, ?4, \
                     'markdown', ?5, NULL, NULL, 0)",
                    params![id, agent, session, at, content],
                ),
                db,
            )?;
            for (t, v) in scopes {
                sql(
                    tx.execute(
                        "INSERT INTO message_scopes (message_id, scope_type, scope_value) \
                    VALUES (?1, ?2, ?3)",
                        params![id, t, v],
                    ),
                    db,
                )?;
            }
            for (t, v) in refs {
                sql(
                    tx.execute(
                        "INSERT INTO message_refs (message_id, ref_type, ref_value) VALUES \
                    (?1, ?2, ?3)",
                        params![id, t, v],
                    ),
                    db,
                )?;
            }
            sql(tx.commit(), db)?;
            Ok(Ok(()))
        }
        Projection::MemberAdd { group, member, by, at } => Ok(c
            .execute(
                "INSERT OR IGNORE INTO group_members (group_id, member_type, member_value, \
                    added_at, added_by) VALUES (?1, 'agent', ?2, ?3, ?4)",
                params![group, member, at, by],
            )
            .map(drop)
            .map_err(|e| e.to_string())),
    }
}

/// A complete write of `ev`: line appended (no temporary left), `events`
/// row, projection; returns the apply's error, if it failed.
pub(crate) fn complete(
    thrum: &Path,
    c: &mut Connection,
    db: &Path,
    ev: &NewEvent,
) -> Result<Result<(), String>> {
    append(thrum, ev)?;
    remove_tmp(thrum, &ev.rel)?;
    insert_row(c, db, ev)?;
    project(c, db, ev)
}
