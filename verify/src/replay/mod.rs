//! The projection (docs/FORMAT.md section 4), implemented independently of
//! the generator: events are applied in replay order into a fresh in-memory
//! v13 database built from [`thrum_schemas::sql::V13`] with foreign keys on
//! (minus the named secondary indexes, which hold no constraint; see
//! [`fresh_v13_for_replay`]).
//!
//! How each event type projects: [`apply`] (`apply.rs`).
//!
//! Every event at which the daemon's own rebuild would stop (an apply that
//! fails, an edit of a missing message, a member added to a missing group, a
//! work context of a missing session) is recorded as a
//! [`crate::rebuild::Candidate`]; the earliest is kept in [`Replay::abort`].
//!
//! Each event is atomic (a savepoint where a later statement could fail
//! after an earlier one succeeded): an event the database rejects (e.g. a
//! duplicate `message.create`) is rolled back entirely and reported as
//! `replay_event_rejected`.

use crate::findings::{Finding, Findings, Kind};
use crate::rebuild::{Candidate, Rule};
use rusqlite::Connection;
use std::collections::HashSet;
use thrum_schemas::events::{Event, Payload};

mod apply;

pub use apply::apply;

/// A fresh in-memory v13 database with foreign keys on.
pub fn fresh_v13() -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    conn.execute_batch(thrum_schemas::sql::V13)?;
    Ok(conn)
}

/// [`fresh_v13`] without the 24 named secondary indexes (`idx_*`). They
/// only speed up the daemon's queries: they hold no constraint (primary
/// keys, UNIQUE constraints and foreign keys all stay), so projecting into
/// this database gives exactly the same rows, about a third faster.
pub fn fresh_v13_for_replay() -> rusqlite::Result<Connection> {
    let conn = fresh_v13()?;
    for (name, _) in thrum_schemas::sql::v13_index_names() {
        conn.execute_batch(&format!("DROP INDEX {name}"))?;
    }
    Ok(conn)
}

/// The page cache of a replay database once it is only read: SQLite's
/// default (2,000 KiB).
pub const READ_CACHE_KIB: i64 = 2000;

/// [`fresh_v13_for_replay`] in a new file at `path`, for inputs too large to
/// project in memory: SQLite keeps at most `cache_bytes` of it in memory.
/// The rollback journal is kept in memory (events are rolled back to
/// savepoints, which needs a journal) and nothing is synced: the file is
/// scratch space, deleted by the caller.
pub fn fresh_v13_on_disk(path: &std::path::Path, cache_bytes: i64) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; \
            PRAGMA temp_store=MEMORY; PRAGMA cache_size=-{};",
        (cache_bytes / 1024).max(1)
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    conn.execute_batch(thrum_schemas::sql::V13)?;
    for (name, _) in thrum_schemas::sql::v13_index_names() {
        conn.execute_batch(&format!("DROP INDEX {name}"))?;
    }
    Ok(conn)
}

/// Drops the `threads` table from a replay database: a database migrated from
/// v5 has none (step 11→12), so a rebuild there fails at `thread.create`.
pub fn without_threads(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DROP TABLE threads")
}

/// Result of a replay.
pub struct Replay {
    /// The replay database.
    pub conn: Connection,
    /// Events applied.
    pub applied: usize,
    /// Events of types the projection ignores.
    pub ignored: usize,
    /// Events whose application failed.
    pub rejected: usize,
    /// Agents removed by `agent.cleanup` (their local rows may legitimately remain).
    pub cleaned_agents: HashSet<String>,
    /// The first event in replay order at which the daemon's rebuild would stop.
    pub abort: Option<Candidate>,
    /// The directory of an on-disk replay database (see [`fresh_v13_on_disk`]),
    /// removed when the replay is dropped, after `conn` is closed.
    _dir: Option<crate::cleanup::TempDir>,
}

impl Replay {
    /// Keeps `dir` (holding the database file of `conn`) until the replay is dropped.
    pub fn keep_dir(&mut self, dir: crate::cleanup::TempDir) {
        self._dir = Some(dir);
    }

    /// Once the replay is done, an on-disk replay database
    /// ([`fresh_v13_on_disk`]) is only read, each table once in key order,
    /// beside another (arrival and rebuild order: the second replay runs
    /// while the first waits): its page cache goes back to SQLite's default
    /// size and gives back what it held (its pages stay in its file), and
    /// the sorts of those reads (its indexes were dropped) spill to
    /// temporary files instead of memory.
    pub fn shrink_cache(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch(&format!(
            "PRAGMA cache_size=-{READ_CACHE_KIB}; PRAGMA shrink_memory; PRAGMA temp_store=FILE;"
        ))
    }
}

fn has_duplicates(list: Option<&[thrum_schemas::events::TypedValue]>) -> bool {
    let Some(l) = list else { return false };
    let mut seen = HashSet::with_capacity(l.len());
    l.iter().any(|tv| !seen.insert((tv.kind.as_str(), tv.value.as_str())))
}

/// Whether an event can fail after a first statement already changed
/// something, so that it needs a savepoint to be rolled back as a whole.
/// A single statement that fails is undone by SQLite itself (ABORT), and a
/// `message.create` whose scope and ref lists hold no duplicate pair cannot
/// fail after its `messages` insert succeeded (the id is new, so its
/// scope/ref keys are too). Savepoints for every event would double the
/// replay time.
fn needs_savepoint(p: &Payload) -> bool {
    match p {
        Payload::MessageCreate(m) => {
            has_duplicates(m.scopes.as_deref()) || has_duplicates(m.refs.as_deref())
        }
        Payload::MessageEdit(_) | Payload::AgentUpdate(_) | Payload::GroupUpdate(_) => true,
        _ => false,
    }
}

/// The rule of section 4b an apply that the database rejected breaks.
fn failed_rule(p: &Payload, err: &rusqlite::Error) -> Rule {
    match p {
        Payload::MessageCreate(_) => Rule::MessageCreateDuplicate,
        Payload::SessionStart(_) => Rule::SessionStartDuplicate,
        Payload::ThreadCreate(_) if err.to_string().contains("no such table") => {
            Rule::ThreadCreateNoTable
        }
        Payload::ThreadCreate(_) => Rule::ThreadCreateDuplicate,
        Payload::GroupMemberAdd(_) => Rule::MemberAddToMissingGroup,
        Payload::AgentUpdate(_) => Rule::WorkContextOfMissingSession,
        _ => Rule::OtherConstraint,
    }
}

impl Replay {
    /// Records the event as where the daemon's rebuild stops, unless an
    /// earlier one already is (events arrive in replay order).
    fn note_abort(&mut self, ev: &Event, rel: &str, line: u64, rule: Rule, detail: String) {
        if self.abort.is_none() {
            self.abort = Some(Candidate {
                timestamp: ev.envelope.timestamp.clone(),
                event_id: ev.envelope.event_id.clone().unwrap_or_default(),
                rel: rel.to_owned(),
                line,
                event_type: ev.envelope.event_type.clone(),
                rule,
                detail,
            });
        }
    }
}

/// Applies events one at a time, in replay order, inside one transaction;
/// each event is atomic: it applies entirely or not at all.
pub struct Replayer {
    r: Replay,
}

impl Replayer {
    /// Starts replaying into `conn`, a fresh database (see [`fresh_v13_for_replay`]).
    pub fn new(conn: Connection) -> rusqlite::Result<Replayer> {
        conn.execute_batch("BEGIN")?;
        Ok(Replayer {
            r: Replay {
                conn,
                applied: 0,
                ignored: 0,
                rejected: 0,
                cleaned_agents: HashSet::new(),
                abort: None,
                _dir: None,
            },
        })
    }

    /// Applies one event read at `rel:line`; what it could not do is reported there.
    pub fn apply(
        &mut self,
        ev: &Event,
        rel: &str,
        line: u64,
        findings: &mut Findings,
    ) -> rusqlite::Result<()> {
        let r = &mut self.r;
        let at = |f: Finding| {
            f.at(rel, line)
                .key(format!("event_id={}", ev.envelope.event_id.as_deref().unwrap_or("")))
        };
        let sp = needs_savepoint(&ev.payload);
        if sp {
            r.conn.prepare_cached("SAVEPOINT ev")?.execute([])?;
        }
        match apply(&r.conn, ev) {
            Ok(out) => {
                if sp {
                    r.conn.prepare_cached("RELEASE ev")?.execute([])?;
                }
                if out.ignored {
                    r.ignored += 1;
                } else {
                    r.applied += 1;
                }
                if let Payload::AgentCleanup(c) = &ev.payload {
                    r.cleaned_agents.insert(c.agent_id.clone());
                }
                if let Some(rule) = out.fails {
                    let detail = out.missing.join("; ");
                    r.note_abort(ev, rel, line, rule, format!("{detail} does not exist"));
                }
                for m in out.missing {
                    findings.push(at(Finding::new(
                        Kind::EventTargetMissing,
                        format!(
                            "{} refers to {m}, which does not exist at this point of the replay",
                            ev.envelope.event_type
                        ),
                    )));
                }
            }
            Err(err) => {
                if sp {
                    r.conn.execute_batch("ROLLBACK TO ev; RELEASE ev;")?;
                }
                let rule = failed_rule(&ev.payload, &err);
                r.note_abort(ev, rel, line, rule, err.to_string());
                if rule == Rule::ThreadCreateNoTable {
                    // a database migrated from v5: the documented consequence
                    // of step 11→12, not a defect of this event
                    r.ignored += 1;
                } else {
                    r.rejected += 1;
                    findings.push(at(Finding::new(
                        Kind::ReplayEventRejected,
                        format!(
                            "{} rejected by the projection and rolled back: {err}",
                            ev.envelope.event_type
                        ),
                    )));
                }
            }
        }
        Ok(())
    }

    /// Commits the transaction.
    pub fn finish(self) -> rusqlite::Result<Replay> {
        self.r.conn.execute_batch("COMMIT")?;
        Ok(self.r)
    }
}

#[cfg(test)]
mod tests;
