//! Faults in the SQLite database (`var/messages.db` and its `-wal`).

use super::{Injection, DB_REL};
use crate::catalogue::Applied;
use crate::error::{sql, CorruptContext, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::PathBuf;
use thrum_schemas::ids::prefixed;
use thrum_schemas::time::parse_rfc3339;

impl Injection {
    fn dbg(&self) -> PathBuf {
        self.thrum.join("var/messages.db")
    }

    /// The copy's database, opened as the untrusted input it is
    /// ([`thrum_io::untrusted::open_writable`]): a view, virtual table,
    /// trigger or generated column is refused, named, before any query.
    fn db(&self) -> Result<Connection> {
        let p = self.dbg();
        let c = thrum_io::untrusted::open_writable(&p, &self.db_shown(), self.budget, &self.spent)?;
        sql(c.execute_batch("PRAGMA foreign_keys=OFF;"), &p)?;
        Ok(c)
    }

    /// The `k`-th (seeded) row of `query` (which must select one row per
    /// candidate, in a fixed order).
    fn pick_row(
        &mut self,
        c: &Connection,
        table: &str,
        order: &str,
        cols: &str,
    ) -> Result<Vec<String>> {
        let p = self.dbg();
        let n: i64 =
            sql(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)), &p)?;
        if n == 0 {
            return Err(self.no_target(&format!("table {table} is empty")));
        }
        let k = self.rng.below(n as usize) as i64;
        let ncols = cols.split(',').count();
        let row = sql(
            c.query_row(
                &format!("SELECT {cols} FROM {table} ORDER BY {order} LIMIT 1 OFFSET ?1"),
                [k],
                |r| {
                    (0..ncols)
                        .map(|i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default))
                        .collect::<rusqlite::Result<Vec<String>>>()
                },
            ),
            &p,
        )?;
        Ok(row)
    }

    pub(super) fn read_missing_message(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(
            &c,
            "message_reads",
            "message_id, session_id",
            "message_id, session_id, agent_id, read_at",
        )?;
        let ms = parse_rfc3339(&r[3]).map_or(0, |us| (us / 1000) as u64);
        let mid = loop {
            let m = prefixed("msg_", ms, self.rng.entropy80());
            let exists: Option<i64> = sql(
                c.query_row("SELECT 1 FROM messages WHERE message_id = ?1", [&m], |r| r.get(0))
                    .optional(),
                &p,
            )?;
            if exists.is_none() {
                break m;
            }
        };
        sql(
            c.execute(
                "INSERT INTO message_reads (message_id, session_id, agent_id, read_at) VALUES \
                    (?1, ?2, ?3, ?4)",
                params![mid, r[1], r[2], r[3]],
            ),
            &p,
        )?;
        drop(c);
        Ok(self
            .applied(
                DB_REL,
                format!("read of {mid} by session {} (copied from the read of {})", r[1], r[0]),
            )
            .row(
                "message_reads",
                format!("message_id={mid}, session_id={}", r[1]),
                Some("message_id"),
            ))
    }

    pub(super) fn altered_cell(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(&c, "messages", "message_id", "message_id")?;
        sql(
            c.execute(
                "UPDATE messages SET body_content = body_content || ' [altered]' WHERE \
            message_id = ?1",
                [&r[0]],
            ),
            &p,
        )?;
        drop(c);
        Ok(self.applied(DB_REL, "appended ' [altered]' to body_content".into()).row(
            "messages",
            format!("message_id={}", r[0]),
            Some("body_content"),
        ))
    }

    pub(super) fn missing_row(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(
            &c,
            "message_refs",
            "message_id, ref_type, ref_value",
            "message_id, ref_type, ref_value",
        )?;
        sql(
            c.execute(
                "DELETE FROM message_refs WHERE message_id = ?1 AND ref_type = ?2 AND \
                ref_value = ?3",
                params![r[0], r[1], r[2]],
            ),
            &p,
        )?;
        drop(c);
        Ok(self.applied(DB_REL, "deleted one message_refs row".into()).row(
            "message_refs",
            format!("message_id={}, ref_type={}, ref_value={}", r[0], r[1], r[2]),
            None,
        ))
    }

    pub(super) fn extra_row(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let r = self.pick_row(&c, "messages", "message_id", "message_id")?;
        let n = sql(
            c.execute(
                "INSERT OR IGNORE INTO message_scopes (message_id, scope_type, scope_value) \
                VALUES (?1, 'group', 'ghosts')",
                [&r[0]],
            ),
            &p,
        )?;
        if n != 1 {
            return Err(self.no_target("the chosen message already has the scope"));
        }
        drop(c);
        Ok(self.applied(DB_REL, "inserted a message_scopes row".into()).row(
            "message_scopes",
            format!("message_id={}, scope_type=group, scope_value=ghosts", r[0]),
            None,
        ))
    }

    pub(super) fn wrong_schema_version(&mut self) -> Result<Applied> {
        let c = self.db()?;
        let p = self.dbg();
        let n = sql(c.execute("UPDATE schema_version SET version = 14", []), &p)?;
        if n == 0 {
            return Err(self.no_target("schema_version has no row"));
        }
        drop(c);
        let mut a =
            self.applied(DB_REL, "schema_version.version 13 -> 14".into()).column("version");
        a.table = Some("schema_version".into());
        Ok(a)
    }

    pub(super) fn truncated_db(&mut self) -> Result<Applied> {
        let p = self.dbg();
        let bytes = std::fs::read(&p).ctx("read", &p)?;
        if bytes.len() < 100 || &bytes[..16] != b"SQLite format 3\0" {
            return Err(self.no_target("var/messages.db is not a SQLite database"));
        }
        let raw = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
        let ps = if raw == 1 { 65536 } else { raw };
        if bytes.len() < 2 * ps {
            return Err(self.no_target("the database has a single page"));
        }
        let keep = bytes.len() - ps / 2;
        let f = std::fs::OpenOptions::new().write(true).open(&p).ctx("open", &p)?;
        f.set_len(keep as u64).ctx("truncate", &p)?;
        Ok(self
            .applied(
                DB_REL,
                format!(
                    "cut from {} to {keep} bytes: the last {ps}-byte page is torn in half",
                    bytes.len()
                ),
            )
            .at(DB_REL, None))
    }

    pub(super) fn garbage_wal(&mut self) -> Result<Applied> {
        let p = self.thrum.join("var/messages.db-wal");
        let mut b = Vec::with_capacity(8272);
        while b.len() < 8272 {
            b.extend_from_slice(&self.rng.next().to_le_bytes());
        }
        b.truncate(8272);
        // never a WAL magic (0x377f0682 / 0x377f0683), whatever the seed
        if b[..3] == [0x37, 0x7f, 0x06] {
            b[0] = 0;
        }
        std::fs::write(&p, &b).ctx("write", &p)?;
        Ok(self
            .applied(".thrum/var/messages.db-wal", "8272 random bytes as the -wal file".into())
            .at(".thrum/var/messages.db-wal", None))
    }
}
