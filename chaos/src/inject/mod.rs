//! Injecting one fault into a materialised copy: the [`Injection`] of one
//! fault with its seeded choices, and the helpers the faults share. The
//! faults themselves are in [`jsonl`], [`sqlite`] and [`files`].

mod files;
mod jsonl;
mod sqlite;

use crate::catalogue::{Applied, Fault};
use crate::error::{CorruptError, Result};
use crate::rng::Rng;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use thrum_io::untrusted::{budget_for, file_bytes, Spent};
use thrum_schemas::time::rfc3339_nano;

/// The database, relative to the output directory.
const DB_REL: &str = ".thrum/var/messages.db";

/// The injection of one fault into one copy: where the copy is, the fault,
/// and the seeded stream its choices come from.
pub(crate) struct Injection {
    /// The input as given (for messages).
    pub(crate) input: PathBuf,
    /// The output directory being built (holds `.thrum/`).
    pub(crate) root: PathBuf,
    /// `root/.thrum`.
    pub(crate) thrum: PathBuf,
    pub(crate) fault: Fault,
    pub(crate) seed: u64,
    pub(crate) rng: Rng,
    /// The work budget of the copy's database, from its size before the
    /// fault ([`thrum_io::untrusted::budget_for`]), and whether a connection
    /// exceeded it.
    pub(crate) budget: u64,
    pub(crate) spent: Spent,
}

/// One JSONL file split into lines (without newlines).
pub(super) struct JsonlFile {
    /// Relative to `.thrum`, e.g. `messages/alice.jsonl`.
    rel: String,
    lines: Vec<Vec<u8>>,
}

/// One line of a JSONL file decoded as an event object.
pub(super) struct DecodedEvent {
    file: usize,
    line: usize,
    ts: String,
    id: String,
    seq: Option<i64>,
    daemon: Option<String>,
    obj: Map<String, Value>,
}

pub(super) fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if v.last().is_some_and(Vec::is_empty) {
        v.pop();
    }
    v
}

pub(super) fn canonical(obj: &Map<String, Value>) -> Vec<u8> {
    thrum_schemas::gojson::to_string(&Value::Object(obj.clone())).into_bytes()
}

/// A timestamp after `us` whose six fractional digits do not end in zero.
pub(super) fn later(us: i64, by: i64) -> String {
    let mut t = us + by;
    if t % 10 == 0 {
        t += 1;
    }
    rfc3339_nano(t)
}

impl Injection {
    /// The injection of `fault` into the copy at `root` (holding `.thrum/`)
    /// of `input`.
    pub(crate) fn new(input: &Path, root: &Path, fault: Fault, seed: u64) -> Injection {
        let thrum = root.join(".thrum");
        let budget = budget_for(file_bytes(&thrum.join("var/messages.db")));
        let (input, root) = (input.to_path_buf(), root.to_path_buf());
        Injection {
            input,
            root,
            thrum,
            fault,
            seed,
            rng: Rng::new(seed, fault),
            budget,
            spent: Spent::default(),
        }
    }

    /// The input's database as messages name it (the copy's directory is
    /// gone by the time they are read).
    pub(super) fn db_shown(&self) -> PathBuf {
        PathBuf::from(format!("{}: {DB_REL}", self.input.display()))
    }

    /// Applies the fault. Whatever it gave, a connection that exceeded its
    /// work budget makes the input refused: what it did does not stand.
    pub(crate) fn run(&mut self) -> Result<Applied> {
        let applied = self.apply();
        self.spent.settle(&self.db_shown(), self.budget)?;
        applied
    }

    pub(super) fn no_target(&self, reason: &str) -> CorruptError {
        CorruptError::NoTarget {
            path: self.input.clone(),
            fault: self.fault.name(),
            reason: reason.into(),
        }
    }

    /// A record for a change of `changed` (relative to DIR).
    pub(super) fn applied(&self, changed: impl Into<String>, detail: String) -> Applied {
        Applied::new(self.fault, self.seed, changed.into(), detail)
    }

    fn apply(&mut self) -> Result<Applied> {
        match self.fault {
            Fault::MalformedJson => self.malformed_json(),
            Fault::TornFinalLine => self.torn_final_line(),
            Fault::InvalidUtf8 => self.invalid_utf8(),
            Fault::LineTooLong => self.line_too_long(),
            Fault::DuplicateEventId => self.duplicate_event_id(),
            Fault::UnknownEventType => self.append_event(false),
            Fault::EditMissingMessage => self.append_event(true),
            Fault::SequenceOutOfOrder => self.sequence_out_of_order(),
            Fault::MissingShard => self.missing_shard(),
            Fault::ReadMissingMessage => self.read_missing_message(),
            Fault::AlteredCell => self.altered_cell(),
            Fault::MissingRow => self.missing_row(),
            Fault::ExtraRow => self.extra_row(),
            Fault::WrongSchemaVersion => self.wrong_schema_version(),
            Fault::TruncatedDb => self.truncated_db(),
            Fault::GarbageWal => self.garbage_wal(),
            Fault::IdentityWrongVersion => self.identity_wrong_version(),
            Fault::ChecksumMismatch => self.checksum_mismatch(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thrum_schemas::time::parse_rfc3339;

    #[test]
    fn later_keeps_six_digits_without_trailing_zero() {
        let t = later(parse_rfc3339("2026-03-04T06:09:28.397355Z").unwrap(), 1_000_005);
        assert_eq!(t, "2026-03-04T06:09:29.397361Z");
    }
}
