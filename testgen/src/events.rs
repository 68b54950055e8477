//! The JSONL files of a `.thrum/` tree: `events.jsonl` and one shard per
//! agent (`messages/NAME.jsonl`).
//!
//! [`JsonlFiles`] writes lines it is given, fed by the row pass
//! ([`crate::pass`]), which renders each line once for the files, the
//! `events` table and Parquet alike. A whole run is slice 0 of 1 of that
//! pass; a `--shard I/N` slice is slice I of N of the same pass, written
//! under `jsonl/part-0000I/` (no database).

use crate::error::{IoContext, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use thrum_gen::Plan;

/// Lines written per file, keyed by path relative to `.thrum/`.
pub type LineCounts = BTreeMap<String, u64>;

/// The JSONL files of a tree: events.jsonl and one shard per agent (a shard
/// is created with its first line).
pub struct JsonlFiles {
    root: std::path::PathBuf,
    events: BufWriter<File>,
    shards: Vec<Option<BufWriter<File>>>,
    names: Vec<String>,
    /// Lines per file: events.jsonl, then the shards by agent.
    lines: Vec<u64>,
}

impl JsonlFiles {
    pub fn create(plan: &Plan, root: &Path) -> Result<JsonlFiles> {
        let p = root.join("events.jsonl");
        let events = BufWriter::with_capacity(1 << 16, File::create(&p).ctx("create", &p)?);
        Ok(JsonlFiles {
            root: root.to_path_buf(),
            events,
            shards: (0..plan.agents.len()).map(|_| None).collect(),
            names: plan
                .agents
                .iter()
                .map(|a| format!("messages/{}.jsonl", a.file_name()))
                .collect(),
            lines: vec![0; plan.agents.len() + 1],
        })
    }

    /// Appends `line` and a newline to `file`.
    pub fn write(&mut self, file: crate::pass::File, line: &str) -> Result<()> {
        let (w, k) = match file {
            crate::pass::File::Events => (&mut self.events, 0),
            crate::pass::File::Shard(a) => {
                let a = a as usize;
                if self.shards[a].is_none() {
                    let p = self.root.join(&self.names[a]);
                    self.shards[a] = Some(BufWriter::with_capacity(
                        1 << 15,
                        File::create(&p).ctx("create", &p)?,
                    ));
                }
                (self.shards[a].as_mut().expect("opened above"), a + 1)
            }
        };
        if let Err(e) = w.write_all(line.as_bytes()).and_then(|_| w.write_all(b"\n")) {
            let name = if k == 0 { "events.jsonl" } else { &self.names[k - 1] };
            return Err(e).ctx("write", self.root.join(name));
        }
        self.lines[k] += 1;
        Ok(())
    }

    /// Flushes every file; returns the lines per file.
    pub fn finish(mut self) -> Result<LineCounts> {
        self.events.flush().ctx("write", self.root.join("events.jsonl"))?;
        let mut counts = LineCounts::new();
        if self.lines[0] > 0 {
            counts.insert("events.jsonl".into(), self.lines[0]);
        }
        for (a, w) in self.shards.iter_mut().enumerate() {
            if let Some(w) = w {
                w.flush().ctx("write", self.root.join(&self.names[a]))?;
                counts.insert(self.names[a].clone(), self.lines[a + 1]);
            }
        }
        Ok(counts)
    }
}
