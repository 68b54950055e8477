//! The crash-state catalogue: every state `testgen crash` can write, what a
//! v13 daemon killed at that point leaves (docs/FORMAT.md section 9), the
//! finding `verify` reports for it and its exit code.

/// One entry of the crash-state catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateInfo {
    /// The state.
    pub state: State,
    /// The `--state` name.
    pub name: &'static str,
    /// The finding kind `verify replay` names it by.
    pub finding: &'static str,
    /// `verify replay`'s exit code.
    pub exit_code: u8,
    /// What the output holds, of the K events written.
    pub leaves: &'static str,
}

macro_rules! states {
    ($( $variant:ident = $name:literal, $finding:literal, $exit:literal, $leaves:literal; )*) => {
        /// A state `testgen crash` can write.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)] // each is described by its catalogue entry
        pub enum State { $( $variant, )* }
        /// Every state, in catalogue order.
        pub const STATES: &[StateInfo] = &[
            $( StateInfo {
                state: State::$variant,
                name: $name,
                finding: $finding,
                exit_code: $exit,
                leaves: $leaves,
            }, )*
        ];
    };
}

states! {
    BeforeAppend = "before-append", "crash_before_append", 0,
        "K-1 events complete; the K-th line only in <file>.tmp (mode 0600), not in the JSONL, no \
            events row";
    AfterAppend = "after-append", "crash_after_append", 1,
        "K-1 events complete; the K-th line appended to the JSONL, its <file>.tmp still there, no \
            events row, not projected";
    AfterEventsRow = "after-events-row", "crash_after_events_row", 1,
        "K-1 events complete; the K-th line in the JSONL and its events row, not projected";
    Restarted = "restarted", "crash_restarted", 1,
        "after-append, then a restart (counter = MAX(events.sequence)) and K more events: the \
            first reuses the lost line's sequence";
    WalUncheckpointed = "wal-uncheckpointed", "crash_wal_uncheckpointed", 0,
        "K events complete, their transactions only in a real -wal beside the database (seeded \
            salts, no -shm)";
    WalTornFrame = "wal-torn-frame", "crash_wal_torn_frame", 1,
        "wal-uncheckpointed with its last frame cut: SQLite discards the last transaction (the \
            K-th projection)";
    BackupWithoutWal = "backup-without-wal", "crash_backup_without_wal", 1,
        "wal-uncheckpointed without its -wal: the K lines in the JSONL, no events rows, not \
            projected";
    PowerLoss = "power-loss", "crash_power_loss", 1,
        "K lines appended and synced, no .tmp; the unsynced WAL frames lost: a -wal of its synced \
            header only";
    ApplyFailed = "apply-failed", "apply_failed", 1,
        "K-1 events complete; the K-th a group.member.add of a group that does not exist: line \
            and events row, projection failed";
}

impl State {
    /// The state's catalogue entry.
    pub fn info(self) -> &'static StateInfo {
        // STATES lists every variant once, in declaration order.
        &STATES[self as usize]
    }
    /// The `--state` name.
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// The state of a `--state` name.
    pub fn from_name(s: &str) -> Option<State> {
        STATES.iter().find(|f| f.name == s).map(|f| f.state)
    }
    /// Every state, in catalogue order.
    pub fn all() -> impl Iterator<Item = State> {
        STATES.iter().map(|f| f.state)
    }
    /// Whether the state's database changes are kept in a WAL.
    pub fn uses_wal(self) -> bool {
        matches!(self, State::WalUncheckpointed | State::WalTornFrame)
    }
}

/// The catalogue as a text table (`testgen crash --list`).
pub fn render_states() -> String {
    let mut s =
        String::from("state                verify finding             exit  what it leaves\n");
    for f in STATES {
        s.push_str(&format!("{:<20} {:<26} {:<5} {}\n", f.name, f.finding, f.exit_code, f.leaves));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete_and_in_declaration_order() {
        for (i, f) in STATES.iter().enumerate() {
            assert_eq!(f.state as usize, i);
            assert_eq!(State::from_name(f.name), Some(f.state));
        }
        let names: Vec<&str> = STATES.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "before-append",
                "after-append",
                "after-events-row",
                "restarted",
                "wal-uncheckpointed",
                "wal-torn-frame",
                "backup-without-wal",
                "power-loss",
                "apply-failed"
            ]
        );
        assert_eq!(State::from_name("nope"), None);
        assert!(render_states().lines().count() == STATES.len() + 1);
    }
}
