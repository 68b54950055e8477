//! Crash states (`testgen crash`): the exact bytes a v13 daemon leaves
//! when it is killed at one point of its write path while writing its next
//! K events (docs/FORMAT.md sections 9 and 10), from a consistent fixture.
//!
//! The input is any v13 fixture (as for `testgen corrupt`); the output is
//! published the same way, with the same ownership rules:
//!
//! ```text
//! DIR/.thrum/...          the tree as the daemon left it (or, packed,
//! DIR/thrum-fixture.tar.* the same tree as an archive)
//! DIR/CRASH.json          the state, every new line and how far it got
//!                         ([`CrashApplied`])
//! DIR/.testgen-crash.json the ownership record ([`CRASH`])
//! ```
//!
//! The K events are `message.create` events by agents with a running
//! session (and, for `apply-failed`, a last `group.member.add` of a group
//! that does not exist), a function of the seed alone: event `i` comes from
//! the stream keyed by `(seed, i)`, so every state of one seed writes the
//! same events. The daemon writes one event at a time: in the states that
//! stop inside a write, the first K-1 events are complete and the K-th is
//! the one interrupted.

mod catalogue;
mod daemon;
mod events;
mod wal;

pub use catalogue::{render_states, State, StateInfo, STATES};

use crate::error::{sql, CorruptContext, CorruptError, Result};
use crate::input::materialise;
use daemon::{append, complete, insert_row, project, remove_tmp, tmp_of, write_tmp};
use events::{Facts, NewEvent};
use std::path::{Path, PathBuf};
use thrum_io::extract::Limits;
use thrum_io::publish::{Policy, Staging, Unrecognised};
use thrum_io::record::{self, Record};
use thrum_io::untrusted::{budget_for, file_bytes, Spent};

/// The writer named in records and messages.
const TOOL: &str = "testgen";
/// The generator a record names (`testgen <version>`).
const GENERATOR: &str = concat!("testgen ", env!("CARGO_PKG_VERSION"));
/// The ownership record of a crash state, inside `crash --out DIR`.
pub const CRASH_RECORD: &str = ".testgen-crash.json";
/// The record's kind of a crash state.
pub const KIND_CRASH: &str = "crash";
/// The description of the state, inside `crash --out DIR`.
pub const CRASH_JSON: &str = "CRASH.json";
/// The most events `--events` accepts.
pub const MAX_EVENTS: u64 = 1000;

/// The destination policy of a crash state (`testgen crash --out`): the
/// directory holds its ownership record ([`CRASH_RECORD`], kind `crash`)
/// and apart from it exactly the recorded regular files.
pub const CRASH: Policy = Policy { tool: TOOL, flag: "--out", recognise: crashed };

/// A crash state, owned by the record inside it ([`CRASH_RECORD`]).
pub fn crashed(dir: &Path) -> Result<(), Unrecognised> {
    record::owned_inside(dir, CRASH_RECORD, TOOL, KIND_CRASH, "a crash state")
}

/// Packs a finished tree: called with `DIR/.thrum`, `DIR` in staging and
/// the time of the last new event (seconds, the entries' mtime), it writes
/// the archive into `DIR`; the tree is then removed.
pub type Pack<'a> = &'a dyn Fn(&Path, &Path, u64) -> std::result::Result<(), String>;

/// What `testgen crash` writes.
pub struct CrashOptions<'a> {
    /// The state.
    pub state: State,
    /// The seed of the new events and the WAL's salts.
    pub seed: u64,
    /// K: the events the daemon was writing (1..=[`MAX_EVENTS`]).
    pub events: u64,
    /// Limits of an archive input's extraction.
    pub limits: Limits,
    /// Write an archive instead of the tree.
    pub pack: Option<Pack<'a>>,
}

/// One new line and how far its write got.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    /// The JSONL file it belongs to, relative to DIR (`.thrum/...`).
    pub file: String,
    /// Its 1-based line there, when it reached the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Its `sequence`.
    pub sequence: i64,
    /// Its `event_id`.
    pub event_id: String,
    /// Its time (microseconds; not in CRASH.json: the line has it).
    #[serde(skip)]
    pub time_us: Option<i64>,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The last step finished: `tmp`, `jsonl`, `events_row`, `projected`,
    /// `apply_failed`, `wal` (committed in the WAL only), `wal_discarded`
    /// (its `events` row in the WAL, its projection the torn transaction),
    /// `lost` (committed, then gone with the WAL).
    pub reached: &'static str,
}

/// The WAL of a state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalRecord {
    /// Its path, relative to DIR.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Its page size.
    pub page_size: u32,
    /// Whole frames SQLite wrote (before a cut).
    pub frames: u64,
    /// Commit frames among them.
    pub commits: u64,
    /// The salts (from the seed).
    pub salt1: u32,
    /// The second salt.
    pub salt2: u32,
    /// Bytes of the last frame that were cut off (`wal-torn-frame`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<u64>,
}

/// What `testgen crash` wrote (`DIR/CRASH.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrashApplied {
    /// The state's name.
    pub state: &'static str,
    /// The seed.
    pub seed: u64,
    /// K.
    pub events: u64,
    /// The finding kind `verify replay` names the state by.
    pub finding: &'static str,
    /// `verify replay`'s exit code.
    pub exit_code: u8,
    /// `MAX(events.sequence)` of the database as left: a starting daemon's counter.
    pub max_events_sequence: i64,
    /// Every new line, in write order.
    pub written: Vec<Written>,
    /// The temporary left, relative to DIR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmp: Option<String>,
    /// `restarted`: the sequence two lines carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reused_sequence: Option<i64>,
    /// `apply-failed`: the error the write reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_error: Option<String>,
    /// The `-wal` written, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wal: Option<WalRecord>,
}

/// Writes the crash state `o.state` of the fixture `input` into `out`
/// (replaced atomically, only when absent, empty or a previous crash state:
/// see [`CRASH`]; an `out` that is, holds or lies in `input` is refused).
pub fn crash(input: &Path, out: &Path, o: &CrashOptions) -> Result<CrashApplied> {
    if o.events == 0 || o.events > MAX_EVENTS {
        return Err(CorruptError::Invalid(format!(
            "--events must be 1 to {MAX_EVENTS}, got {}",
            o.events
        )));
    }
    let staging = Staging::apart_from(out, CRASH, &[thrum_io::Named::new("--in", input)])?;
    let root = staging.dir.clone();
    materialise(input, &root, &o.limits)?;
    let thrum = root.join(".thrum");
    for need in ["events.jsonl", "var/messages.db"] {
        if !thrum.join(need).is_file() {
            return Err(CorruptError::NotV13 {
                path: input.to_path_buf(),
                reason: format!(".thrum/{need} is missing"),
            });
        }
    }
    let applied = Crash::open(input, &root, o)?.run()?;
    let json = serde_json::to_string_pretty(&applied).unwrap_or_default() + "\n";
    if let Some(pack) = o.pack {
        let mtime = applied.written.iter().filter_map(|w| w.time_us).max().unwrap_or(0) / 1_000_000;
        pack(&thrum, &root, mtime as u64).map_err(|reason| CorruptError::Pack { reason })?;
        thrum_io::tree::remove_dir_all(&thrum).ctx("remove", &thrum)?;
    }
    let p = root.join(CRASH_JSON);
    std::fs::write(&p, json).ctx("write", &p)?;
    let files = record::file_sizes(&root).ctx("read", &root)?;
    let p = root.join(CRASH_RECORD);
    std::fs::write(&p, Record::new(GENERATOR, KIND_CRASH, files).to_json()).ctx("write", &p)?;
    staging.publish()?;
    Ok(applied)
}

/// One crash state being written into a staged copy.
struct Crash<'a> {
    input: &'a Path,
    root: PathBuf,
    thrum: PathBuf,
    db: PathBuf,
    o: &'a CrashOptions<'a>,
    facts: Facts,
    conn: rusqlite::Connection,
    spent: Spent,
    budget: u64,
    a: CrashApplied,
}

impl<'a> Crash<'a> {
    fn open(input: &'a Path, root: &Path, o: &'a CrashOptions<'a>) -> Result<Crash<'a>> {
        let thrum = root.join(".thrum");
        let db = thrum.join("var/messages.db");
        let (spent, budget) = (Spent::default(), budget_for(file_bytes(&db)));
        let conn = thrum_io::untrusted::open_writable(&db, &shown_db(input), budget, &spent)?;
        sql(conn.execute_batch("PRAGMA foreign_keys=ON;"), &db)?;
        let facts = Facts::read(&conn, &thrum, input)?;
        let info = o.state.info();
        let a = CrashApplied {
            state: info.name,
            seed: o.seed,
            events: o.events,
            finding: info.finding,
            exit_code: info.exit_code,
            max_events_sequence: facts.max_seq,
            written: Vec::new(),
            tmp: None,
            reused_sequence: None,
            apply_error: None,
            wal: None,
        };
        Ok(Crash { input, root: root.to_path_buf(), thrum, db, o, facts, conn, spent, budget, a })
    }

    /// The K events of the state, in write order, from sequence `first`.
    fn events(&self, from: u64, first: i64) -> Vec<NewEvent> {
        let k = self.o.events;
        (0..k)
            .map(|j| {
                let (i, seq) = (from + j, first + j as i64);
                if self.o.state == State::ApplyFailed && j + 1 == k {
                    events::member_add_to_missing_group(self.o.seed, &self.facts, i, seq)
                } else {
                    events::message(self.o.seed, &self.facts, i, seq)
                }
            })
            .collect()
    }

    fn note(&mut self, e: &NewEvent, reached: &'static str, in_file: bool) -> Result<()> {
        let line = if in_file {
            // called right after the event's append: its line is the file's last
            let p = self.thrum.join(&e.rel);
            Some(thrum_io::regular::count_lines(&p).ctx("read", &p)?)
        } else {
            None
        };
        let file = format!(".thrum/{}", e.rel);
        let time_us = thrum_schemas::time::parse_rfc3339(&e.ts);
        self.a.written.push(Written {
            file,
            line,
            sequence: e.seq,
            event_id: e.id.clone(),
            time_us,
            ty: e.ty,
            reached,
        });
        Ok(())
    }

    fn complete(&mut self, e: &NewEvent) -> Result<()> {
        if let Err(why) = complete(&self.thrum, &mut self.conn, &self.db, e)? {
            return Err(CorruptError::NoTarget {
                path: self.input.to_path_buf(),
                fault: "crash",
                reason: why,
            });
        }
        self.note(e, "projected", true)
    }

    fn run(mut self) -> Result<CrashApplied> {
        let evs = self.events(0, self.facts.max_seq + 1);
        let unsynced = self.o.state.uses_wal()
            || matches!(self.o.state, State::BackupWithoutWal | State::PowerLoss);
        if !unsynced {
            self.interrupted(&evs)?;
        }
        let max: Option<i64> = sql(
            self.conn.query_row("SELECT MAX(sequence) FROM events", [], |r| r.get(0)),
            &self.db,
        )?;
        self.a.max_events_sequence = max.unwrap_or(0);
        // closed (checkpointed, its own -wal removed) before a WAL is written beside it
        let conn = std::mem::replace(
            &mut self.conn,
            sql(rusqlite::Connection::open_in_memory(), &self.db)?,
        );
        sql(conn.close().map_err(|(_, e)| e), &self.db)?;
        self.spent.settle(&shown_db(self.input), self.budget)?;
        if unsynced {
            self.unsynced(&evs)?;
        }
        Ok(self.a)
    }

    /// The states that stop inside the K-th write (and `restarted`).
    fn interrupted(&mut self, evs: &[NewEvent]) -> Result<()> {
        let (done, last) = evs.split_at(evs.len() - 1);
        for e in done {
            self.complete(e)?;
        }
        let e = &last[0];
        let tmp = format!(".thrum/{}", tmp_of(&e.rel));
        write_tmp(&self.thrum, e)?;
        match self.o.state {
            State::BeforeAppend => {
                self.a.tmp = Some(tmp);
                self.note(e, "tmp", false)?;
            }
            State::AfterAppend | State::Restarted => {
                append(&self.thrum, e)?;
                self.a.tmp = Some(tmp);
                self.note(e, "jsonl", true)?;
            }
            _ => {
                append(&self.thrum, e)?;
                remove_tmp(&self.thrum, &e.rel)?;
                insert_row(&self.conn, &self.db, e)?;
                if self.o.state == State::ApplyFailed {
                    self.a.apply_error = project(&mut self.conn, &self.db, e)?.err();
                    self.note(e, "apply_failed", true)?;
                } else {
                    self.note(e, "events_row", true)?;
                }
            }
        }
        if self.o.state == State::Restarted {
            // the counter is MAX(events.sequence): the lost line's sequence again
            for r in self.events(self.o.events, e.seq) {
                self.complete(&r)?;
                if r.rel == e.rel {
                    // its write truncated the temporary and removed it
                    self.a.tmp = None;
                }
            }
            self.a.reused_sequence = Some(e.seq);
        }
        Ok(())
    }

    /// The states of the WAL: every line appended and synced (no
    /// temporary), the database changes in a WAL, cut, lost or left behind.
    fn unsynced(&mut self, evs: &[NewEvent]) -> Result<()> {
        for (i, e) in evs.iter().enumerate() {
            append(&self.thrum, e)?;
            let reached = match self.o.state {
                State::WalTornFrame if i + 1 == evs.len() => "wal_discarded",
                State::WalUncheckpointed | State::WalTornFrame => "wal",
                _ => "lost",
            };
            self.note(e, reached, true)?;
        }
        if self.o.state == State::BackupWithoutWal {
            return Ok(());
        }
        let scratch = self.root.join(".crash-scratch");
        let mut w = wal::committed(&self.db, &scratch, &shown_db(self.input), evs, self.o.seed)?;
        let mut cut = None;
        match self.o.state {
            State::PowerLoss => {
                w = wal::seal(w.bytes[..thrum_io::wal::HEADER].to_vec(), self.o.seed)?
            }
            State::WalTornFrame => {
                let half = (thrum_io::wal::FRAME_HEADER as u64 + u64::from(w.sealed.page_size)) / 2;
                w.bytes.truncate(w.bytes.len() - half as usize);
                cut = Some(half);
            }
            _ => {}
        }
        let p = thrum_io::uri::wal_path(&self.db);
        std::fs::write(&p, &w.bytes).ctx("write", &p)?;
        if self.o.state.uses_wal() {
            // read with its WAL, the database holds every events row (a torn
            // frame loses the last projection only)
            self.a.max_events_sequence = evs.last().map_or(self.a.max_events_sequence, |e| e.seq);
        }
        self.a.wal = Some(WalRecord {
            file: ".thrum/var/messages.db-wal".into(),
            bytes: w.bytes.len() as u64,
            page_size: w.sealed.page_size,
            frames: w.sealed.frames,
            commits: w.sealed.commits,
            salt1: w.salt.0,
            salt2: w.salt.1,
            cut,
        });
        Ok(())
    }
}

/// The input's database as messages name it.
fn shown_db(input: &Path) -> PathBuf {
    PathBuf::from(format!("{}: .thrum/var/messages.db", input.display()))
}
