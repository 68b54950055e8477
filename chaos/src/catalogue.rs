//! The fault catalogue: every fault `testgen corrupt` can inject, what it
//! does, the finding `verify` reports for it, and the record of what was
//! injected where ([`Applied`]).

/// One entry of the fault catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultInfo {
    /// The fault.
    pub fault: Fault,
    /// The `--fault` name.
    pub name: &'static str,
    /// What the fault does to the fixture.
    pub does: &'static str,
    /// The finding kind `verify replay` reports for it, at the injected place.
    pub finding: &'static str,
    /// Other findings that follow from it (not asserted one by one).
    pub consequences: &'static str,
    /// `verify replay` exit code.
    pub exit_code: u8,
}

macro_rules! faults {
    ($( $variant:ident = $name:literal, $finding:literal, $does:literal, $cons:literal; )*) => {
        /// A fault `testgen corrupt` can inject.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)] // each is described by its catalogue entry
        pub enum Fault { $( $variant, )* }
        /// Every fault, in catalogue order.
        pub const CATALOGUE: &[FaultInfo] = &[
            $( FaultInfo {
                fault: Fault::$variant,
                name: $name,
                does: $does,
                finding: $finding,
                consequences: $cons,
                exit_code: 1,
            }, )*
        ];
    };
}

faults! {
    MalformedJson = "malformed-json", "jsonl_unparsable",
        "deletes the first ':' of a line in a message shard (mid-file, newline kept), so the line \
            is not JSON",
        "its message's rows become row_extra; its events row event_log_extra; sequence_gap";
    TornFinalLine = "torn-final-line", "jsonl_unterminated_line",
        "cuts the last line of a message shard in the middle of the object and drops its newline \
            (a torn append)",
        "jsonl_unparsable on the same line; row_extra, event_log_extra, sequence_gap";
    InvalidUtf8 = "invalid-utf8", "jsonl_invalid_utf8",
        "inserts the byte 0xFF at the start of a message body's content (inside the JSON string)",
        "the finding is a warning with the byte offset: the line is applied as the daemon reads \
            it, the byte as U+FFFD, so cell_differs where that text is projected \
            (messages.body_content, or a message_edits content column when the message is edited) \
            and event_log_differs (event_json) on its events row; no row_extra, no sequence_gap";
    LineTooLong = "line-too-long", "jsonl_line_too_long",
        "grows a message.create's body content until its line is over 1 MiB (valid, canonical \
            JSON)",
        "rebuild_aborts on the same line (over the daemon's 64 KiB scanner: its rebuild fails \
            before applying anything); row_extra (the line is skipped), event_log_extra, \
            sequence_gap";
    DuplicateEventId = "duplicate-event-id", "event_id_duplicate",
        "writes a line of events.jsonl twice in a row (a retried append)",
        "sequence_duplicate, sequence_order; replay_event_rejected when the event inserts a key";
    UnknownEventType = "unknown-event-type", "event_type_unknown",
        "appends to events.jsonl an event of type agent.hibernate with a full envelope (next \
            sequence, later time) and no events row",
        "event_log_missing (error: the sync log lacks it; the unknown type alone is a warning)";
    EditMissingMessage = "edit-missing-message", "rebuild_aborts",
        "appends to a message shard a message.edit of a message id that exists nowhere (next \
            sequence, later time): the daemon's rebuild stops there",
        "event_target_missing on the same line, event_log_missing";
    SequenceOutOfOrder = "sequence-out-of-order", "sequence_order",
        "swaps the sequence numbers of two events of one file that are consecutive in replay order",
        "event_log_differs (sequence, event_json) for both lines";
    MissingShard = "missing-shard", "shard_missing",
        "deletes one agent's message shard messages/{name}.jsonl",
        "row_extra for its messages, event_log_extra, sequence_gap, cell_differs of rows its \
            edits and deletes changed; when another shard edits one of its messages, \
            event_target_missing and rebuild_aborts there";
    ReadMissingMessage = "read-missing-message", "dangling_reference",
        "inserts a message_reads row whose message_id is no message (foreign keys off), copied \
            from an existing read",
        "foreign_key_violation";
    AlteredCell = "altered-cell", "cell_differs",
        "appends ' [altered]' to one message's body_content in the database",
        "none";
    MissingRow = "missing-row", "row_missing",
        "deletes one message_refs row from the database",
        "none";
    ExtraRow = "extra-row", "row_extra",
        "inserts a message_scopes row (group 'ghosts') no event produced",
        "none";
    WrongSchemaVersion = "wrong-schema-version", "schema_version_wrong",
        "sets schema_version.version to 14",
        "none";
    TruncatedDb = "truncated-db", "database_truncated",
        "cuts var/messages.db in the middle of its last page (a torn page write)",
        "integrity_check_failed and unreadable rows where the lost page held any";
    GarbageWal = "garbage-wal", "wal_invalid",
        "writes 8,272 seeded random bytes as var/messages.db-wal (not a WAL; SQLite would ignore \
            it silently)",
        "none (it is never applied)";
    IdentityWrongVersion = "identity-wrong-version", "identity_invalid",
        "sets \"version\" of one identities/{name}.json to 3",
        "none";
    ChecksumMismatch = "checksum-mismatch", "checksum_mismatch",
        "writes DIR/SHA256SUMS for every file of the tree with one digest wrong (the tree itself \
            is intact)",
        "none";
}

impl Fault {
    /// The fault's catalogue entry.
    pub fn info(self) -> &'static FaultInfo {
        // CATALOGUE lists every variant once, in declaration order.
        &CATALOGUE[self as usize]
    }
    /// The `--fault` name.
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// The fault of a `--fault` name.
    pub fn from_name(s: &str) -> Option<Fault> {
        CATALOGUE.iter().find(|f| f.name == s).map(|f| f.fault)
    }
    /// Every fault, in catalogue order.
    pub fn all() -> impl Iterator<Item = Fault> {
        CATALOGUE.iter().map(|f| f.fault)
    }
}

/// What was injected, and where `verify` must point: `file`, `line`,
/// `table`, `key` and `column` are exactly the location fields of the
/// `finding` it reports (absent fields are absent there too). Paths are
/// relative to the output directory (`.thrum/...`, or `SHA256SUMS`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// The fault's name.
    pub fault: &'static str,
    /// The seed of the target choice.
    pub seed: u64,
    /// The finding kind `verify replay` reports.
    pub finding: &'static str,
    /// `verify replay`'s exit code.
    pub exit_code: u8,
    /// The file that was changed, created or deleted (relative to DIR).
    pub changed: String,
    /// The finding's file (relative to DIR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The finding's line (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The finding's table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The finding's key (`column=value, ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The finding's column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What exactly changed.
    pub detail: String,
}

impl Applied {
    pub(crate) fn new(fault: Fault, seed: u64, changed: String, detail: String) -> Applied {
        let i = fault.info();
        Applied {
            fault: i.name,
            seed,
            finding: i.finding,
            exit_code: i.exit_code,
            changed,
            file: None,
            line: None,
            table: None,
            key: None,
            column: None,
            detail,
        }
    }
    pub(crate) fn at(mut self, file: impl Into<String>, line: Option<u64>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }
    pub(crate) fn key(mut self, key: String) -> Self {
        self.key = Some(key);
        self
    }
    pub(crate) fn column(mut self, column: &str) -> Self {
        self.column = Some(column.into());
        self
    }
    pub(crate) fn row(mut self, table: &str, key: String, column: Option<&str>) -> Self {
        self.table = Some(table.into());
        self.key = Some(key);
        self.column = column.map(str::to_owned);
        self
    }
}

/// The catalogue as a text table (`testgen corrupt --list`).
pub fn render_list() -> String {
    let mut s =
        String::from("fault                   verify finding            exit  what it does\n");
    for f in CATALOGUE {
        s.push_str(&format!("{:<23} {:<25} {:<5} {}\n", f.name, f.finding, f.exit_code, f.does));
        s.push_str(&format!("{:<23} {:<25} {:<5} also: {}\n", "", "", "", f.consequences));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalogue_is_complete_and_in_declaration_order() {
        let mut names = HashSet::new();
        for (i, f) in CATALOGUE.iter().enumerate() {
            assert_eq!(f.fault as usize, i);
            assert_eq!(Fault::from_name(f.name), Some(f.fault));
            assert!(names.insert(f.name));
            assert!(f
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit()));
        }
        assert!(CATALOGUE.len() >= 18);
        assert_eq!(Fault::from_name("nope"), None);
    }
}
