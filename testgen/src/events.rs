//! The JSONL files of a `.thrum/` tree: `events.jsonl` and one shard per
//! agent (`messages/NAME.jsonl`).
//!
//! [`JsonlFiles`] writes lines it is given. In a whole run it is fed by the
//! row pass ([`crate::pass`]), which renders each line once for the files,
//! the `events` table and Parquet alike. A `--shard` slice has no database
//! and no row pass: [`write`] walks the slice's timeline itself, renders
//! its lines in parallel chunks (in order) and writes them.

use crate::error::{IoContext, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use thrum_gen::render::{self, Scratch};
use thrum_gen::timeline::{Ev, Timeline, TimelineEvent};
use thrum_gen::Plan;

const CHUNK: usize = 8192;

/// Which file an event goes to: `None` for events.jsonl, else the agent
/// whose shard holds it (the message's `agent_id`).
fn shard_of(plan: &Plan, e: &TimelineEvent) -> Option<u32> {
    match e.ev {
        Ev::Create(m) => Some(m.agent),
        Ev::Fate(f) => Some(plan.message(f.message).agent),
        Ev::Other(_) => None,
    }
}

struct Rendered {
    text: String,
    /// End offset of each line in `text`, and its file.
    ends: Vec<(usize, Option<u32>)>,
}

fn render_part(plan: &Plan, events: &[TimelineEvent]) -> Rendered {
    let mut sc = Scratch::default();
    let mut text = String::with_capacity(events.len() * 400);
    let mut ends = Vec::with_capacity(events.len());
    for e in events {
        render::line(plan, e, &mut text, &mut sc);
        ends.push((text.len(), shard_of(plan, e)));
    }
    Rendered { text, ends }
}

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
            names: plan.agents.iter().map(|a| format!("messages/{}.jsonl", a.file_name())).collect(),
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
                    self.shards[a] = Some(BufWriter::with_capacity(1 << 15, File::create(&p).ctx("create", &p)?));
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

/// Writes the lines of `timeline` (a slice's) to events.jsonl and
/// messages/*.jsonl under `root`, rendered on up to `jobs` threads.
pub fn write(plan: &Plan, timeline: Timeline, jobs: usize, root: &Path, mut progress: impl FnMut(u64)) -> Result<LineCounts> {
    let mut files = JsonlFiles::create(plan, root)?;
    let mut timeline = timeline;
    let mut chunk: Vec<TimelineEvent> = Vec::with_capacity(CHUNK);
    let jobs = jobs.max(1);
    loop {
        chunk.clear();
        chunk.extend(timeline.by_ref().take(CHUNK));
        if chunk.is_empty() {
            break;
        }
        let per = chunk.len().div_ceil(jobs);
        let parts: Vec<Rendered> = if jobs == 1 {
            vec![render_part(plan, &chunk)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = chunk.chunks(per).map(|c| s.spawn(move || render_part(plan, c))).collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
            })
        };
        for part in &parts {
            let mut start = 0;
            for &(end, shard) in &part.ends {
                let line = &part.text[start..end];
                start = end;
                files.write(shard.map_or(crate::pass::File::Events, crate::pass::File::Shard), line)?;
            }
        }
        progress(chunk.len() as u64);
    }
    files.finish()
}
