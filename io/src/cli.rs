//! The extraction-limit flags, shared by every binary that reads archives
//! (`verify`, `testgen corrupt`), so that both spell and document them the
//! same way. Behind the `cli` feature (it needs clap).

use crate::extract::{Limit, Limits};

/// `--max-entry-bytes`, `--max-total-bytes`, `--max-entries`.
#[derive(clap::Args, Debug, Clone)]
pub struct LimitArgs {
    /// Refuse an archive entry larger than this. Bytes, with an optional suffix K, M, G or T
    /// (powers of 1024; KiB or KB alike): 512K, 64M, 8G.
    #[arg(
        long,
        default_value = Limit::EntryBytes.default_text(),
        value_name = "BYTES",
        value_parser = crate::parse_bytes
    )]
    pub max_entry_bytes: u64,
    /// Refuse an archive whose entries expand to more than this in total (every entry's data
    /// counts, directories and extension headers included). Bytes, suffixes as above.
    #[arg(
        long,
        default_value = Limit::TotalBytes.default_text(),
        value_name = "BYTES",
        value_parser = crate::parse_bytes
    )]
    pub max_total_bytes: u64,
    /// Refuse an archive with more entries than this (PAX global headers count). A count, with
    /// an optional decimal suffix k (x1000) or M (x1000000): 1M = 1000000.
    #[arg(
        long,
        default_value = Limit::Entries.default_text(),
        value_name = "N",
        value_parser = crate::parse_count
    )]
    pub max_entries: u64,
}

impl LimitArgs {
    /// The limits the flags give.
    pub fn limits(&self) -> Limits {
        Limits {
            max_entry_bytes: self.max_entry_bytes,
            max_total_bytes: self.max_total_bytes,
            max_entries: self.max_entries,
        }
    }
}
