//! The event pass: walks the timeline once, renders every line once (in
//! parallel chunks), and hands each line to the JSONL shards and to the
//! SQLite `events` table.

use crate::error::{IoContext, Result};
use crate::sqlite::Inserter;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use thrum_gen::render::{self, Scratch};
use thrum_gen::rows;
use thrum_gen::timeline::{Ev, Timeline, TimelineEvent};
use thrum_gen::Plan;
use thrum_schemas::catalogue::EVENTS;

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

/// Writes events.jsonl, messages/*.jsonl under `root` and the `events` rows.
pub fn write(plan: &Plan, timeline: Timeline, jobs: usize, root: &Path, mut db: Option<&mut Inserter>, mut progress: impl FnMut(u64)) -> Result<LineCounts> {
    let mut counts = LineCounts::new();
    let events_path = root.join("events.jsonl");
    let mut events_file = BufWriter::with_capacity(1 << 16, File::create(&events_path).ctx("create", &events_path)?);
    let mut shards: Vec<Option<BufWriter<File>>> = (0..plan.agents.len()).map(|_| None).collect();
    let shard_names: Vec<String> = plan.agents.iter().map(|a| format!("messages/{}.jsonl", a.file_name())).collect();
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
        let mut k = 0;
        for part in &parts {
            let mut start = 0;
            for &(end, shard) in &part.ends {
                let line = &part.text[start..end];
                start = end;
                let e = &chunk[k];
                k += 1;
                let (w, path) = match shard {
                    None => (&mut events_file, "events.jsonl"),
                    Some(a) => {
                        let slot = &mut shards[a as usize];
                        if slot.is_none() {
                            let p = root.join(&shard_names[a as usize]);
                            *slot = Some(BufWriter::with_capacity(1 << 15, File::create(&p).ctx("create", &p)?));
                        }
                        (slot.as_mut().expect("opened above"), shard_names[a as usize].as_str())
                    }
                };
                w.write_all(line.as_bytes()).and_then(|_| w.write_all(b"\n")).ctx("write", root.join(path))?;
                *counts.entry(path.to_string()).or_insert(0) += 1;
                if let Some(db) = db.as_deref_mut() {
                    db.insert(&EVENTS, &rows::event_row(plan, e, rows::event_type(e), line))?;
                }
            }
        }
        progress(chunk.len() as u64);
    }
    events_file.flush().ctx("write", &events_path)?;
    for (a, w) in shards.iter_mut().enumerate() {
        if let Some(w) = w {
            w.flush().ctx("write", root.join(&shard_names[a]))?;
        }
    }
    Ok(counts)
}
