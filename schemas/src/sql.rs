//! DDL and migration steps, embedded from `schemas/sql/`.

/// Fresh v13 database.
pub const V13: &str = include_str!("../sql/v13.sql");
/// The `sqlite_master` of a fresh v13 database as the daemon's InitDB
/// leaves it: a JSON array of `{type, name, tbl_name, sql}` in rowid order
/// (`sql` is `null` for automatic indexes). A format fact, carried so the
/// tests can hold [`V13`] and the generated databases to it byte for byte.
pub const V13_SQLITE_MASTER: &str = include_str!("../facts/v13-sqlite-master.json");
/// v5 database (the layout migration starts from).
pub const V5: &str = include_str!("../sql/v5.sql");

/// One step of the v5→v13 migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version it starts from.
    pub from: i64,
    /// The schema version it leads to.
    pub to: i64,
    /// Its file name under `schemas/sql/migrations/`.
    pub file: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

macro_rules! step {
    ($from:expr, $to:expr, $file:literal) => {
        Migration {
            from: $from,
            to: $to,
            file: $file,
            sql: include_str!(concat!("../sql/migrations/", $file)),
        }
    };
}

/// The steps in order. The daemon runs them in one transaction and then sets
/// `schema_version` to 13 ([`FINISH`]).
pub const MIGRATIONS: &[Migration] = &[
    step!(5, 6, "005_to_006.sql"),
    step!(6, 7, "006_to_007.sql"),
    step!(7, 8, "007_to_008.sql"),
    step!(8, 9, "008_to_009.sql"),
    step!(9, 10, "009_to_010.sql"),
    step!(10, 11, "010_to_011.sql"),
    step!(11, 12, "011_to_012.sql"),
    step!(12, 13, "012_to_013.sql"),
];

/// Run after the last step.
pub const FINISH: &str = "UPDATE schema_version SET version = 13;";

/// Index names of a fresh v13 database with their table, in DDL order.
pub fn v13_index_names() -> Vec<(&'static str, &'static str)> {
    V13.lines()
        .filter_map(|l| l.strip_prefix("CREATE INDEX "))
        .filter_map(|rest| {
            let (name, rest) = rest.split_once(" ON ")?;
            let table = rest.split('(').next()?;
            Some((name, table))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn migration_chain_is_contiguous() {
        assert_eq!(MIGRATIONS.first().unwrap().from, 5);
        assert_eq!(MIGRATIONS.last().unwrap().to, 13);
        for w in MIGRATIONS.windows(2) {
            assert_eq!(w[0].to, w[1].from);
        }
    }
    /// Every statement of [`V13`], in order, is the daemon's own text of
    /// that object in [`V13_SQLITE_MASTER`] (SQLite adds `sqlite_sequence`
    /// and the automatic indexes itself).
    #[test]
    fn v13_ddl_is_the_daemons_statement_text() {
        let facts: Vec<serde_json::Value> = serde_json::from_str(V13_SQLITE_MASTER).unwrap();
        assert_eq!(facts.len(), 59);
        let expected: Vec<&str> = facts
            .iter()
            .filter(|o| o["name"] != "sqlite_sequence")
            .filter_map(|o| o["sql"].as_str())
            .collect();
        let body: String =
            V13.lines().filter(|l| !l.starts_with("--")).map(|l| format!("{l}\n")).collect();
        let ours: Vec<&str> =
            body.split(";\n").map(str::trim_start).filter(|s| !s.trim().is_empty()).collect();
        assert_eq!(ours.len(), expected.len());
        for (a, b) in ours.iter().zip(&expected) {
            assert_eq!(a, b);
        }
        assert!(expected
            .iter()
            .any(|s| s.contains("\tUNIQUE(group_id, member_type, member_value),")));
    }
    #[test]
    fn index_list_matches_format() {
        let idx = v13_index_names();
        assert_eq!(idx.len(), 24);
        assert!(idx.contains(&("idx_messages_not_deleted", "messages")));
        // a fresh v13 database has it; only a migrated one lacks it
        assert_eq!(idx.first(), Some(&("idx_messages_thread", "messages")));
    }
}
