//! Findings: every problem (or noteworthy expected change) the verifier
//! reports, each with a stable machine-readable [`Kind`].

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How a finding affects the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The fixture is inconsistent (exit code 1).
    Error,
    /// Worth knowing (e.g. an event type this verifier does not know, which
    /// the projection ignores); never affects the verdict by itself.
    Warning,
    /// Expected and documented (e.g. a migration drop); never affects the verdict.
    Info,
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $sev:ident; )*) => {
        /// The stable machine-readable kind of a finding. The string form
        /// (`Kind::as_str`, and the JSON `kind` field) never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $( $(#[$doc])* $variant, )*
        }
        impl Kind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];
            /// The stable name (`cell_differs`, ...), as in the JSON report.
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $name,)* }
            }
            /// Whether a finding of this kind makes the fixture inconsistent.
            pub fn severity(self) -> Severity {
                match self { $(Kind::$variant => Severity::$sev,)* }
            }
            /// The kind of a stable name, `None` for an unknown one.
            pub fn from_name(s: &str) -> Option<Kind> {
                match s { $($name => Some(Kind::$variant),)* _ => None }
            }
        }
    };
}

kinds! {
    // --- layout ---------------------------------------------------------
    /// An archive entry outside `.thrum/`.
    ArchiveUnexpectedEntry = "archive_unexpected_entry", Error;
    /// A file the layout requires is absent (`events.jsonl`, `config.json`, `thrum.db`).
    FileMissing = "file_missing", Error;
    /// A file of the tree (`events.jsonl`, `config.json`, `thrum.db`, an
    /// identity, manifest or `messages/*.jsonl` entry) exists but is not a
    /// regular file (a FIFO, a device, a symbolic link, ...): never opened.
    FileNotRegular = "file_not_regular", Error;
    /// `thrum.db` must be an empty placeholder.
    PlaceholderNotEmpty = "placeholder_not_empty", Error;
    /// `config.json` is not `{"local_only": true, "version": 1}`-shaped JSON.
    ConfigInvalid = "config_invalid", Error;
    // --- JSONL ----------------------------------------------------------
    /// A line that does not decode as an event (skipped by the daemon).
    JsonlUnparsable = "jsonl_unparsable", Error;
    /// The last line of a file lacks its terminating newline.
    JsonlUnterminatedLine = "jsonl_unterminated_line", Error;
    /// A line that is not valid UTF-8, with the byte offset of the first
    /// invalid byte: read and applied as the daemon's JSON decoder reads it,
    /// each invalid byte as U+FFFD (docs/FORMAT.md 4b); what that changes
    /// shows in the projection, hence a warning.
    JsonlInvalidUtf8 = "jsonl_invalid_utf8", Warning;
    /// A line longer than the reader's limit ([`crate::jsonl::MAX_LINE_BYTES`], 1 MiB); skipped.
    JsonlLineTooLong = "jsonl_line_too_long", Error;
    /// An event type the format does not define; the projection ignores it (forward compatibility).
    EventTypeUnknown = "event_type_unknown", Warning;
    /// An envelope field is missing or malformed (`event_id`, `v`, `origin_daemon`, `sequence`,
    /// `timestamp`, `type`).
    EventEnvelopeInvalid = "event_envelope_invalid", Error;
    /// The line is not the canonical Go encoding of its own content (key order, escaping, spacing).
    EventNotCanonical = "event_not_canonical", Error;
    /// The same `event_id` on two lines.
    EventIdDuplicate = "event_id_duplicate", Error;
    /// A `message.*` event in `events.jsonl`, or another event in `messages/`.
    EventMisplaced = "event_misplaced", Error;
    /// A message event in a shard that is not its author's.
    ShardMismatch = "shard_mismatch", Error;
    /// Database messages whose author's shard file (`messages/{name}.jsonl`) is absent.
    ShardMissing = "shard_missing", Error;
    // --- replay ---------------------------------------------------------
    /// The projection could not apply an event (constraint violation); it was rolled back.
    ReplayEventRejected = "replay_event_rejected", Error;
    /// An event refers to a message/session/agent/group that does not exist at that point of the
    /// replay.
    EventTargetMissing = "event_target_missing", Error;
    /// The daemon's rebuild would stop at this event (docs/FORMAT.md 4b): the
    /// first event in replay order whose apply fails; nothing after it would be
    /// projected. Also each line its scanner cannot hold (64 KiB with the
    /// newline): reading that file fails, and the rebuild with it, before
    /// any event is applied.
    RebuildAborts = "rebuild_aborts", Error;
    /// After a v5 migration, the daemon's rebuild would stop at the first
    /// `thread.create` (the migration dropped `threads` at 11→12): a documented
    /// consequence of the migration, not a defect of the input.
    RebuildAbortsAfterMigration = "rebuild_aborts_after_migration", Warning;
    /// A daemon holding events of more than one origin (docs/FORMAT.md 4b):
    /// a row or value its database holds by arrival order (`sequence`) that a
    /// rebuild in (`timestamp`, `event_id`) order would project otherwise
    /// (an AUTOINCREMENT id, the winner of an `INSERT OR REPLACE` or of two
    /// updates). Expected after peer sync, hence a warning.
    RebuildOrderDiffers = "rebuild_order_differs", Warning;
    // --- projected tables ----------------------------------------------
    /// A row the replay produces is not in the database.
    RowMissing = "row_missing", Error;
    /// A database row the replay does not produce.
    RowExtra = "row_extra", Error;
    /// A cell whose database value differs from the replayed one.
    CellDiffers = "cell_differs", Error;
    /// A heartbeat column (`last_seen_at`) outside its plausible range.
    LastSeenImplausible = "last_seen_implausible", Error;
    /// A table could not be read with the catalogue's columns.
    TableUnreadable = "table_unreadable", Error;
    // --- events table (sync log) ----------------------------------------
    /// A JSONL event has no `events` row.
    EventLogMissing = "event_log_missing", Error;
    /// An `events` row has no JSONL line.
    EventLogExtra = "event_log_extra", Error;
    /// An `events` row differs from its line (`event_json`, type, timestamp, origin_daemon,
    /// sequence).
    EventLogDiffers = "event_log_differs", Error;
    /// `sequence` not strictly increasing (per origin daemon) in replay order.
    SequenceOrder = "sequence_order", Error;
    /// Two JSONL events carry the same `sequence`.
    SequenceDuplicate = "sequence_duplicate", Error;
    /// A daemon's sequences are not 1..=n (an event is missing).
    SequenceGap = "sequence_gap", Error;
    // --- local-only tables ----------------------------------------------
    /// A local row refers to a message/session/agent that does not exist.
    DanglingReference = "dangling_reference", Error;
    /// A local row's references disagree (e.g. a read's agent is not its session's agent).
    ReferenceMismatch = "reference_mismatch", Error;
    /// A read recorded before the message was created.
    ReadBeforeMessage = "read_before_message", Error;
    /// A read recorded outside the reading session's lifetime.
    ReadOutsideSession = "read_outside_session", Error;
    /// A subscription that is neither scope, mention nor "all" shaped.
    SubscriptionShapeInvalid = "subscription_shape_invalid", Error;
    /// A local timestamp column that is not RFC 3339.
    TimestampInvalid = "timestamp_invalid", Error;
    /// A sync checkpoint beyond the last event sequence.
    CheckpointAhead = "checkpoint_ahead", Error;
    /// `var/peers.json` is not a list of peers as the daemon writes it (id
    /// derived from the name, `name:port` address, times, keys, each peer once).
    PeersInvalid = "peers_invalid", Error;
    /// A sync checkpoint whose peer `var/peers.json` does not list (a peer
    /// removed after pulling leaves its checkpoint, hence a warning).
    CheckpointPeerUnlisted = "checkpoint_peer_unlisted", Warning;
    // --- identities and context -----------------------------------------
    /// An identity file that is not a valid version-2 identity.
    IdentityInvalid = "identity_invalid", Error;
    /// An agent row without an identity file.
    IdentityMissing = "identity_missing", Error;
    /// An identity file without an agent row.
    IdentityOrphan = "identity_orphan", Error;
    /// An identity field that differs from the agent row.
    IdentityDiffers = "identity_differs", Error;
    /// An identity without `context/{name}.md`.
    ContextMissing = "context_missing", Error;
    /// A context file without an identity.
    ContextOrphan = "context_orphan", Error;
    // --- database --------------------------------------------------------
    /// `schema_version` is not exactly one row with the expected version.
    SchemaVersionWrong = "schema_version_wrong", Error;
    /// Tables, columns, indexes or foreign keys differ from a fresh database.
    SchemaDiffers = "schema_differs", Error;
    /// A schema difference that the v5→v13 migration is documented to leave.
    SchemaMigrationKnownDiff = "schema_migration_known_diff", Info;
    /// `PRAGMA integrity_check` is not `ok`.
    IntegrityCheckFailed = "integrity_check_failed", Error;
    /// `PRAGMA foreign_key_check` reports a violation.
    ForeignKeyViolation = "foreign_key_violation", Error;
    /// The database file is shorter than its header says, or not a whole number of pages (a torn
    /// write).
    DatabaseTruncated = "database_truncated", Error;
    /// The database header does not say WAL (bytes 18 and 19 are not 2), as a
    /// database a v13 daemon has opened always does.
    DatabaseNotWal = "database_not_wal", Error;
    /// No `origin_daemon` of the events is derived from a hostname in
    /// `agents` (docs/FORMAT.md section 3); a fixture may come from a daemon
    /// whose host has no agent, hence a warning.
    OriginDaemonUnexplained = "origin_daemon_unexplained", Warning;
    /// A valid `-wal` file beside the database: a fixture is checkpointed and leaves none (its
    /// frames were applied on a private copy).
    WalPresent = "wal_present", Error;
    /// A `-wal` file beside the database that is not a valid WAL (never applied; SQLite would
    /// ignore it).
    WalInvalid = "wal_invalid", Error;
    // --- crash states (docs/FORMAT.md section 9; `testgen crash`) ----------
    /// A line only in `<file>.tmp`, not in its JSONL file: the daemon was
    /// killed before the append. Logs and database agree; that event is lost
    /// (a warning).
    CrashBeforeAppend = "crash_before_append", Warning;
    /// The last line of a JSONL file, its `<file>.tmp` still there, without
    /// an `events` row or projection: killed after the append.
    CrashAfterAppend = "crash_after_append", Error;
    /// The last `events` row without its projection: killed between the row
    /// and the projection.
    CrashAfterEventsRow = "crash_after_events_row", Error;
    /// A line without `events` row or projection whose sequence a later
    /// event carries again: killed after the append, then restarted.
    CrashRestarted = "crash_restarted", Error;
    /// A valid WAL of committed transactions beside the database, read with
    /// it on a private copy (the frames applied counted): a killed process's
    /// WAL, consistent when read with it (information).
    CrashWalUncheckpointed = "crash_wal_uncheckpointed", Info;
    /// A WAL whose last transaction is incomplete (a torn frame): SQLite
    /// discards it.
    CrashWalTornFrame = "crash_wal_torn_frame", Error;
    /// The last lines of the JSONL without `events` rows or projection, no
    /// `.tmp` and no `-wal`: a database copied without its WAL.
    CrashBackupWithoutWal = "crash_backup_without_wal", Error;
    /// The same with a `-wal` of its header only: the unsynced WAL frames
    /// lost with the power (`synchronous=NORMAL`).
    CrashPowerLoss = "crash_power_loss", Error;
    /// An event with its `events` row whose projection fails: the daemon
    /// wrote it and reported the error; a rebuild stops there.
    ApplyFailed = "apply_failed", Error;
    // --- mesh (`verify mesh`) ---------------------------------------------
    /// `mesh.json` describes something that cannot be checked (a conflict
    /// naming an unknown table, column or daemon).
    MeshSpecInvalid = "mesh_spec_invalid", Error;
    /// A daemon's id in `mesh.json` is not derived from its hostname (docs/FORMAT.md section 3).
    MeshDaemonIdWrong = "mesh_daemon_id_wrong", Error;
    /// An event whose `origin_daemon` is no daemon of the mesh, or an
    /// `agent.register` not written by the daemon of its `hostname`.
    MeshOriginWrong = "mesh_origin_wrong", Error;
    /// On a daemon, the events of an origin are not the first events of that
    /// origin's own log in its order (pulls keep the peer's order).
    MeshOriginOrder = "mesh_origin_order", Error;
    /// An event id whose JSON differs between two daemons beyond `sequence`.
    MeshEventDiffers = "mesh_event_differs", Error;
    /// Converged: an event some daemon lacks.
    MeshEventMissing = "mesh_event_missing", Error;
    /// A daemon lacks an event its peer holds at or below the daemon's checkpoint for that peer.
    MeshCheckpointGap = "mesh_checkpoint_gap", Error;
    /// A checkpoint beyond the last sequence of its peer's log.
    MeshCheckpointAhead = "mesh_checkpoint_ahead", Error;
    /// A checkpoint row missing, for a daemon that is not a peer, not
    /// `idle`, with an implausible time, or (converged) trailing its peer's log.
    MeshCheckpointInvalid = "mesh_checkpoint_invalid", Error;
    /// `var/peers.json` does not list exactly the other daemons (id, name, address, times).
    MeshPeersInvalid = "mesh_peers_invalid", Error;
    /// A remote event no peer held at or below the daemon's checkpoint for it (it could not have
    /// been pulled).
    MeshEventUnexplained = "mesh_event_unexplained", Error;
    /// Converged: a projected row or value that differs between daemons
    /// beyond AUTOINCREMENT ids, heartbeat columns and the declared conflicts.
    MeshRowsDiffer = "mesh_rows_differ", Error;
    /// A declared conflict of `mesh.json`, with every daemon's values.
    MeshConflict = "mesh_conflict", Info;
    // --- manifest and checksums -----------------------------------------
    /// No manifest beside the input (nothing to check).
    ManifestAbsent = "manifest_absent", Info;
    /// The manifest is not valid JSON of the expected shape.
    ManifestInvalid = "manifest_invalid", Error;
    /// A manifest value differs from the input (archive hash/size, file hash/size, counts, schema
    /// version, file list).
    ManifestMismatch = "manifest_mismatch", Error;
    /// No `SHA256SUMS` beside the archive.
    ChecksumsAbsent = "checksums_absent", Info;
    /// A `SHA256SUMS` line whose file has another digest.
    ChecksumMismatch = "checksum_mismatch", Error;
    /// A `SHA256SUMS` line whose file does not exist.
    ChecksumFileMissing = "checksum_file_missing", Error;
    /// `SHA256SUMS` has no line for the archive, or a malformed line.
    ChecksumEntryInvalid = "checksum_entry_invalid", Error;
    // --- Parquet snapshots ----------------------------------------------
    /// The Parquet snapshots (`parquet/` beside the archive) differ from the
    /// database: rows missing, extra, differing, under the wrong `date=`
    /// partition or out of key order, a layout or schema problem, or an entry
    /// that is not a catalogue table.
    ParquetDiffers = "parquet_differs", Error;
    /// A Parquet file or dataset directory that cannot be read (truncated or
    /// corrupt file); the tables after it are not compared.
    ParquetUnreadable = "parquet_unreadable", Error;
    /// A dataset without its Delta log (`<table>/_delta_log/00000000000000000000.json`).
    DeltaLogMissing = "delta_log_missing", Error;
    /// A dataset's Delta log disagrees with its files: an `add` of no file
    /// or of another size, a Parquet file not added, statistics that are
    /// not those of the rows, partition values not the path's, a schema,
    /// protocol or partition columns not the table's.
    DeltaLogDiffers = "delta_log_differs", Error;
    // --- migration -------------------------------------------------------
    /// A v5 row absent from the migrated database.
    V5RowLost = "v5_row_lost", Error;
    /// A v5 value changed by the migration beyond the documented changes.
    V5RowAltered = "v5_row_altered", Error;
    /// Documented value changes (NULL → '' in agents, schema_version 5 → 13), counted.
    V5ExpectedChange = "v5_expected_change", Info;
    /// The `threads` table is dropped at 11→12 (documented).
    ThreadDropped = "thread_dropped", Info;
    /// A dropped thread whose id no message carries any more (its title is gone).
    ThreadNotCarried = "thread_not_carried", Info;
    /// An edit/delete of an unknown message, dropped by the v7 sharding (documented).
    MigrationEventDropped = "migration_event_dropped", Info;
    /// Events written by the sharding differ in number from events read.
    MigrationCountMismatch = "migration_count_mismatch", Error;
    /// An event whose id could not be backfilled (missing type/timestamp, or unparsable timestamp).
    MigrationBackfillSkipped = "migration_backfill_skipped", Error;
    /// Running the migration a second time changed bytes or rows.
    MigrationNotIdempotent = "migration_not_idempotent", Error;
    /// The SQL migration failed (the transaction was rolled back); nothing further is proven.
    MigrationFailed = "migration_failed", Error;
    /// A message author whose shard name is not a safe file name (empty, `.`/`..`, or with a path
    /// separator); its events are not written.
    ShardNameInvalid = "shard_name_invalid", Error;
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding. Location fields are set when they apply: `table`/`key`/`column`
/// for database findings, `file`/`line` (1-based) for file findings.
/// `expected` is the replayed / fresh / manifest value, `actual` the one found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What was found.
    pub kind: Kind,
    /// The severity of its kind.
    pub severity: Severity,
    /// The database table it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The row: its primary key as `column=value` pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The column (or field) it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The file it is about, relative to the directory holding `.thrum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The 1-based line of `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// What was expected there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was found there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl Finding {
    /// A finding of `kind`, located nowhere yet.
    pub fn new(kind: Kind, message: impl Into<String>) -> Finding {
        Finding {
            kind,
            severity: kind.severity(),
            table: None,
            key: None,
            column: None,
            file: None,
            line: None,
            expected: None,
            actual: None,
            message: message.into(),
        }
    }
    /// Sets the table.
    pub fn table(mut self, t: impl Into<String>) -> Self {
        self.table = Some(t.into());
        self
    }
    /// Sets the row key.
    pub fn key(mut self, k: impl Into<String>) -> Self {
        self.key = Some(k.into());
        self
    }
    /// Sets the column.
    pub fn column(mut self, c: impl Into<String>) -> Self {
        self.column = Some(c.into());
        self
    }
    /// Sets the file.
    pub fn file(mut self, f: impl Into<String>) -> Self {
        self.file = Some(f.into());
        self
    }
    /// Sets the line.
    pub fn line(mut self, n: u64) -> Self {
        self.line = Some(n);
        self
    }
    /// Sets the file and line.
    pub fn at(self, file: impl Into<String>, line: u64) -> Self {
        self.file(file).line(line)
    }
    /// Sets the expected value.
    pub fn expected(mut self, v: impl Into<String>) -> Self {
        self.expected = Some(v.into());
        self
    }
    /// Sets the value found.
    pub fn actual(mut self, v: impl Into<String>) -> Self {
        self.actual = Some(v.into());
        self
    }
    /// Sets the expected value and the one found.
    pub fn values(self, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        self.expected(expected).actual(actual)
    }

    /// One line for people: `[kind] table key column file:line: message (expected …, found …)`.
    pub fn render(&self) -> String {
        let mut s = format!("[{}]", self.kind);
        if let Some(t) = &self.table {
            s.push(' ');
            s.push_str(t);
        }
        if let Some(k) = &self.key {
            s.push_str(&format!(" {{{k}}}"));
        }
        if let Some(c) = &self.column {
            s.push_str(&format!(" .{c}"));
        }
        match (&self.file, self.line) {
            (Some(f), Some(l)) => s.push_str(&format!(" {f}:{l}")),
            (Some(f), None) => s.push_str(&format!(" {f}")),
            _ => {}
        }
        s.push_str(": ");
        s.push_str(&self.message);
        match (&self.expected, &self.actual) {
            (Some(e), Some(a)) => s.push_str(&format!(" (expected {e}, found {a})")),
            (Some(e), None) => s.push_str(&format!(" (expected {e})")),
            (None, Some(a)) => s.push_str(&format!(" (found {a})")),
            _ => {}
        }
        s
    }
}

/// The most findings kept in detail per (kind, table), whatever the cap:
/// the memory of a report does not grow with the number of findings (each
/// is still counted: the totals, the verdict and the exit code are exact).
pub const LIST_CEILING: usize = 10_000;

/// Collects findings, keeping the first `cap` of each (kind, table) group in
/// detail and counting all of them.
#[derive(Debug, Clone)]
pub struct Findings {
    cap: usize,
    list: Vec<Finding>,
    counts: BTreeMap<Kind, usize>,
    groups: HashMap<(Kind, Option<String>), usize>,
    omitted: usize,
}
impl Findings {
    /// `cap` findings kept in detail per (kind, table); `cap == 0` (or a
    /// cap above it) keeps [`LIST_CEILING`].
    pub fn new(cap: usize) -> Findings {
        Findings {
            cap,
            list: Vec::new(),
            counts: BTreeMap::new(),
            groups: HashMap::new(),
            omitted: 0,
        }
    }
    /// Adds a finding: counted always, kept in detail up to the cap per (kind, table).
    pub fn push(&mut self, f: Finding) {
        *self.counts.entry(f.kind).or_default() += 1;
        let g = self.groups.entry((f.kind, f.table.clone())).or_default();
        *g += 1;
        if *g <= self.kept() {
            self.list.push(f);
        } else {
            self.omitted += 1;
        }
    }
    /// Findings kept in detail per (kind, table).
    fn kept(&self) -> usize {
        if self.cap == 0 {
            LIST_CEILING
        } else {
            self.cap.min(LIST_CEILING)
        }
    }
    /// The findings kept in detail, in order.
    pub fn list(&self) -> &[Finding] {
        &self.list
    }
    /// Number of findings of `kind`, including those not kept in detail.
    pub fn count(&self, kind: Kind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
    /// Findings per kind, including those not kept in detail.
    pub fn counts(&self) -> &BTreeMap<Kind, usize> {
        &self.counts
    }
    /// Findings counted but not kept in detail.
    pub fn omitted(&self) -> usize {
        self.omitted
    }
    /// Findings of error severity.
    pub fn errors(&self) -> usize {
        self.counts.iter().filter(|(k, _)| k.severity() == Severity::Error).map(|(_, n)| n).sum()
    }
    /// Every finding.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
    /// Adds every finding of `other` (those it kept, through `map`; those
    /// it only counted, as counted and omitted here), leaving out the
    /// kinds `keep` refuses.
    pub fn absorb(
        &mut self,
        other: Findings,
        keep: impl Fn(Kind) -> bool,
        mut map: impl FnMut(Finding) -> Finding,
    ) {
        let (list, counts, _) = other.into_parts();
        let mut listed: BTreeMap<Kind, usize> = BTreeMap::new();
        for f in list {
            if keep(f.kind) {
                *listed.entry(f.kind).or_default() += 1;
                self.push(map(f));
            }
        }
        for (k, n) in counts {
            let rest = n - listed.get(&k).copied().unwrap_or(0);
            if keep(k) && rest > 0 {
                *self.counts.entry(k).or_default() += rest;
                self.omitted += rest;
            }
        }
    }
    /// Counts `n` findings of `kind` that are not listed.
    pub fn count_unlisted(&mut self, kind: Kind, n: usize) {
        *self.counts.entry(kind).or_default() += n;
        self.omitted += n;
    }
    /// Every finding of `other`, after those already here: its listed ones
    /// pushed in order, the rest counted (see [`Findings::absorb`]).
    pub fn append(&mut self, other: Findings) {
        self.absorb(other, |_| true, |f| f);
    }
    /// The findings kept, the counts per kind and the number omitted.
    pub fn into_parts(self) -> (Vec<Finding>, BTreeMap<Kind, usize>, usize) {
        (self.list, self.counts, self.omitted)
    }
}

impl Extend<Finding> for Findings {
    fn extend<T: IntoIterator<Item = Finding>>(&mut self, iter: T) {
        for f in iter {
            self.push(f);
        }
    }
}

/// Findings that arrive out of order, each with a sort key: per (kind,
/// table) only the [`LIST_CEILING`] first in key order are kept, the others
/// are only counted. Pushed into a [`Findings`] in key order
/// ([`Ranked::into_findings`]), the listed findings and every count are
/// those of keeping them all and sorting them (ties stay in push order).
#[derive(Debug)]
pub struct Ranked<K: Ord> {
    groups: HashMap<(Kind, Option<String>), std::collections::BinaryHeap<RankedEntry<K>>>,
    dropped: BTreeMap<Kind, usize>,
    pushed: u64,
}

#[derive(Debug)]
struct RankedEntry<K: Ord> {
    key: K,
    seq: u64,
    finding: Finding,
}

impl<K: Ord> PartialEq for RankedEntry<K> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl<K: Ord> Eq for RankedEntry<K> {}
impl<K: Ord> PartialOrd for RankedEntry<K> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<K: Ord> Ord for RankedEntry<K> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (&self.key, self.seq).cmp(&(&o.key, o.seq))
    }
}

impl<K: Ord> Default for Ranked<K> {
    fn default() -> Self {
        Ranked { groups: HashMap::new(), dropped: BTreeMap::new(), pushed: 0 }
    }
}

impl<K: Ord> Ranked<K> {
    /// Adds `finding` at `key`: kept while among the first of its group.
    pub fn push(&mut self, key: K, finding: Finding) {
        self.pushed += 1;
        let (kind, group) = (finding.kind, (finding.kind, finding.table.clone()));
        let heap = self.groups.entry(group).or_default();
        heap.push(RankedEntry { key, seq: self.pushed, finding });
        if heap.len() > LIST_CEILING {
            heap.pop();
            *self.dropped.entry(kind).or_default() += 1;
        }
    }
    /// Adds every finding of `other`, after this one's on equal keys.
    pub fn merge(&mut self, other: Ranked<K>) {
        let mut entries: Vec<RankedEntry<K>> = other.groups.into_values().flatten().collect();
        entries.sort();
        for e in entries {
            self.push(e.key, e.finding);
        }
        for (k, n) in other.dropped {
            *self.dropped.entry(k).or_default() += n;
        }
    }
    /// Counts `n` findings of `kind` that are not listed: the caller kept
    /// their group's first [`LIST_CEILING`] in key order, whose keys come
    /// before theirs.
    pub fn count_unlisted(&mut self, kind: Kind, n: usize) {
        if n > 0 {
            *self.dropped.entry(kind).or_default() += n;
        }
    }
    /// The kept findings in key order, pushed into a [`Findings`] with
    /// `cap`, then those that were only counted.
    pub fn into_findings(self, cap: usize) -> Findings {
        let mut entries: Vec<RankedEntry<K>> = self.groups.into_values().flatten().collect();
        entries.sort();
        let mut out = Findings::new(cap);
        for e in entries {
            out.push(e.finding);
        }
        for (k, n) in self.dropped {
            out.count_unlisted(k, n);
        }
        out
    }
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
