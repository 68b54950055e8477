//! Faults in the JSONL event logs (`events.jsonl`, `messages/*.jsonl`).

use super::{canonical, later, split, DecodedEvent, Injection, JsonlFile};
use crate::catalogue::Applied;
use crate::error::{CorruptContext, Result};
use crate::LINE_LIMIT;
use serde_json::{Map, Value};
use std::collections::HashSet;
use thrum_schemas::ids::{prefixed, shard_name};
use thrum_schemas::time::parse_rfc3339;

impl Injection {
    /// `events.jsonl`, then `messages/*.jsonl` by name (verify's order).
    fn jsonl_files(&self) -> Result<Vec<JsonlFile>> {
        let mut rels = vec!["events.jsonl".to_string()];
        let dir = self.thrum.join("messages");
        if dir.is_dir() {
            let mut names: Vec<String> = Vec::new();
            for e in std::fs::read_dir(&dir).ctx("read directory", &dir)? {
                let e = e.ctx("read directory", &dir)?;
                let name = e.file_name().to_string_lossy().into_owned();
                if e.file_type().ctx("stat", &e.path())?.is_file() && name.ends_with(".jsonl") {
                    names.push(name);
                }
            }
            names.sort();
            rels.extend(names.into_iter().map(|n| format!("messages/{n}")));
        }
        rels.into_iter()
            .map(|rel| {
                let p = self.thrum.join(&rel);
                let bytes = std::fs::read(&p).ctx("read", &p)?;
                Ok(JsonlFile { rel, lines: split(&bytes) })
            })
            .collect()
    }

    fn write_file(&self, f: &JsonlFile, last_terminated: bool) -> Result<()> {
        let mut out = Vec::with_capacity(f.lines.iter().map(|l| l.len() + 1).sum());
        for (i, l) in f.lines.iter().enumerate() {
            out.extend_from_slice(l);
            if i + 1 < f.lines.len() || last_terminated {
                out.push(b'\n');
            }
        }
        let p = self.thrum.join(&f.rel);
        std::fs::write(&p, out).ctx("write", &p)
    }

    fn events(files: &[JsonlFile]) -> Vec<DecodedEvent> {
        let mut out = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (li, l) in f.lines.iter().enumerate() {
                let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(l) else { continue };
                let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
                out.push(DecodedEvent {
                    file: fi,
                    line: li,
                    ts: s("timestamp").unwrap_or_default(),
                    id: s("event_id").unwrap_or_default(),
                    seq: obj.get("sequence").and_then(Value::as_i64),
                    daemon: s("origin_daemon"),
                    obj,
                });
            }
        }
        out
    }

    /// A message shard (seeded) with at least one line matching `want`;
    /// returns (file index, matching line indexes).
    fn pick_shard_lines(
        &mut self,
        files: &[JsonlFile],
        want: impl Fn(&[u8]) -> bool,
    ) -> Result<(usize, Vec<usize>)> {
        let candidates: Vec<(usize, Vec<usize>)> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.rel.starts_with("messages/"))
            .map(|(i, f)| {
                (
                    i,
                    f.lines
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| want(l))
                        .map(|(j, _)| j)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if candidates.is_empty() {
            return Err(self.no_target("no message shard has a suitable line"));
        }
        Ok(candidates[self.rng.below(candidates.len())].clone())
    }

    pub(super) fn malformed_json(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let (fi, lines) = self.pick_shard_lines(&files, |l| l.contains(&b':'))?;
        let li = lines[self.rng.below(lines.len())];
        let line = &mut files[fi].lines[li];
        let at = line.iter().position(|&b| b == b':').unwrap_or(0);
        line.remove(at);
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self
            .applied(rel.clone(), format!("removed the ':' at byte {at} of the line"))
            .at(rel, Some(li as u64 + 1)))
    }

    pub(super) fn torn_final_line(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let (fi, _) = self.pick_shard_lines(&files, |l| l.len() >= 8)?;
        let li = files[fi].lines.len() - 1;
        let line = &mut files[fi].lines[li];
        if line.len() < 8 {
            return Err(self.no_target("the last line of the shard is too short to tear"));
        }
        let quarter = line.len() / 4;
        let mut cut = quarter + self.rng.below(line.len() / 2);
        // cut between characters: a torn write of this fixture, not an encoding fault
        while cut > 1 && (line[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        let len = line.len();
        line.truncate(cut);
        self.write_file(&files[fi], false)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self
            .applied(rel.clone(), format!("kept {cut} of {len} bytes of the last line, no newline"))
            .at(rel, Some(li as u64 + 1)))
    }

    pub(super) fn invalid_utf8(&mut self) -> Result<Applied> {
        const NEEDLE: &[u8] = b"\"content\":\"";
        let find = |l: &[u8]| l.windows(NEEDLE.len()).position(|w| w == NEEDLE);
        let mut files = self.jsonl_files()?;
        let (fi, lines) = self.pick_shard_lines(&files, |l| find(l).is_some())?;
        let li = lines[self.rng.below(lines.len())];
        let line = &mut files[fi].lines[li];
        let at = find(line).map_or(0, |p| p + NEEDLE.len());
        line.insert(at, 0xFF);
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self
            .applied(rel.clone(), format!("inserted byte 0xFF at byte offset {at}"))
            .at(rel, Some(li as u64 + 1)))
    }

    pub(super) fn line_too_long(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let (fi, lines) =
            self.pick_shard_lines(&files, |l| l.windows(16).any(|w| w == b"\"message.create\""))?;
        let li = lines[self.rng.below(lines.len())];
        let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(&files[fi].lines[li])
        else {
            return Err(self.no_target("the chosen message.create line is not JSON"));
        };
        let content = obj
            .get("body")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let old = files[fi].lines[li].len();
        let pad = LINE_LIMIT + 4096 - old.min(LINE_LIMIT);
        let filler: String =
            "All work and no play makes a very long message. ".chars().cycle().take(pad).collect();
        if let Some(Value::Object(body)) = obj.get_mut("body") {
            body.insert("content".into(), Value::String(format!("{content}\n\n{filler}")));
        }
        let line = canonical(&obj);
        let new = line.len();
        files[fi].lines[li] = line;
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self
            .applied(
                rel.clone(),
                format!("line grown from {old} to {new} bytes (limit {LINE_LIMIT})"),
            )
            .at(rel, Some(li as u64 + 1)))
    }

    pub(super) fn duplicate_event_id(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let evs = Self::events(&files);
        let cands: Vec<&DecodedEvent> =
            evs.iter().filter(|e| e.file == 0 && !e.id.is_empty()).collect();
        if cands.is_empty() {
            return Err(self.no_target("events.jsonl has no event with an event_id"));
        }
        let e = cands[self.rng.below(cands.len())];
        let (li, id) = (e.line, e.id.clone());
        let copy = files[0].lines[li].clone();
        files[0].lines.insert(li + 1, copy);
        self.write_file(&files[0], true)?;
        Ok(self
            .applied(
                ".thrum/events.jsonl",
                format!("line {} written again as line {}", li + 1, li + 2),
            )
            .at(".thrum/events.jsonl", Some(li as u64 + 2))
            .key(format!("event_id={id}")))
    }

    /// Appends a new event after every other one: an unknown type to
    /// `events.jsonl`, or an edit of a message that does not exist to a shard.
    pub(super) fn append_event(&mut self, edit: bool) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let evs = Self::events(&files);
        let max_ts = evs
            .iter()
            .filter_map(|e| parse_rfc3339(&e.ts))
            .max()
            .ok_or_else(|| self.no_target("no event has a timestamp"))?;
        let max_seq = evs.iter().filter_map(|e| e.seq).max().unwrap_or(0);
        let daemon = evs
            .iter()
            .rev()
            .find_map(|e| e.daemon.clone())
            .ok_or_else(|| self.no_target("no event has an origin_daemon"))?;
        let ts = later(max_ts, 1_000_000 + self.rng.below(1_000_000) as i64);
        let ms = (parse_rfc3339(&ts).unwrap_or(max_ts) / 1000) as u64;
        let event_id = prefixed("evt_", ms, self.rng.entropy80());
        let mut obj = Map::new();
        obj.insert("event_id".into(), Value::String(event_id.clone()));
        obj.insert("origin_daemon".into(), Value::String(daemon));
        obj.insert("sequence".into(), Value::from(max_seq + 1));
        obj.insert("timestamp".into(), Value::String(ts));
        obj.insert("v".into(), Value::from(1));
        let (fi, detail) = if edit {
            let shards: Vec<usize> = files
                .iter()
                .enumerate()
                .filter(|(_, f)| f.rel.starts_with("messages/"))
                .map(|(i, _)| i)
                .collect();
            if shards.is_empty() {
                return Err(self.no_target("no message shard"));
            }
            let fi = shards[self.rng.below(shards.len())];
            let known: HashSet<&str> = evs
                .iter()
                .filter_map(|e| e.obj.get("message_id").and_then(Value::as_str))
                .collect();
            let mid = loop {
                let m = prefixed("msg_", ms, self.rng.entropy80());
                if !known.contains(m.as_str()) {
                    break m;
                }
            };
            let mut body = Map::new();
            body.insert(
                "content".into(),
                Value::String(
                    "Edited after the fact: this message never reached this daemon.".into(),
                ),
            );
            body.insert("format".into(), Value::String("markdown".into()));
            obj.insert("body".into(), Value::Object(body));
            obj.insert("message_id".into(), Value::String(mid.clone()));
            obj.insert("type".into(), Value::String("message.edit".into()));
            (fi, format!("message.edit of {mid}, which no file or table holds"))
        } else {
            let agents: Vec<&str> = evs
                .iter()
                .filter(|e| e.obj.get("type").and_then(Value::as_str) == Some("agent.register"))
                .filter_map(|e| e.obj.get("agent_id").and_then(Value::as_str))
                .collect();
            if agents.is_empty() {
                return Err(self.no_target("no agent.register event"));
            }
            let agent = agents[self.rng.below(agents.len())].to_owned();
            obj.insert("agent_id".into(), Value::String(agent));
            obj.insert("type".into(), Value::String("agent.hibernate".into()));
            (0, "event of type agent.hibernate appended".to_string())
        };
        files[fi].lines.push(canonical(&obj));
        let line = files[fi].lines.len() as u64;
        self.write_file(&files[fi], true)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        let a = self
            .applied(rel.clone(), detail)
            .at(rel, Some(line))
            .key(format!("event_id={event_id}"));
        Ok(if edit { a } else { a.column("type") })
    }

    pub(super) fn sequence_out_of_order(&mut self) -> Result<Applied> {
        let mut files = self.jsonl_files()?;
        let evs = Self::events(&files);
        let mut order: Vec<usize> = (0..evs.len()).collect();
        order.sort_by(|&a, &b| {
            evs[a]
                .ts
                .as_bytes()
                .cmp(evs[b].ts.as_bytes())
                .then_with(|| evs[a].id.as_bytes().cmp(evs[b].id.as_bytes()))
        });
        let pairs: Vec<(usize, usize)> = order
            .windows(2)
            .filter(|w| {
                let (a, b) = (&evs[w[0]], &evs[w[1]]);
                // in one file: the fault changes exactly one file
                a.file == b.file
                    && a.daemon == b.daemon
                    && a.seq.is_some()
                    && b.seq == a.seq.map(|s| s + 1)
                    && a.ts != b.ts
            })
            .map(|w| (w[0], w[1]))
            .collect();
        if pairs.is_empty() {
            return Err(self.no_target(
                "no two events of one file are consecutive in both replay order and sequence",
            ));
        }
        let (a, b) = pairs[self.rng.below(pairs.len())];
        let (sa, sb) = (evs[a].seq.unwrap_or(0), evs[b].seq.unwrap_or(0));
        for (e, s) in [(&evs[a], sb), (&evs[b], sa)] {
            let mut obj = e.obj.clone();
            obj.insert("sequence".into(), Value::from(s));
            files[e.file].lines[e.line] = canonical(&obj);
        }
        for fi in [evs[a].file, evs[b].file].into_iter().collect::<std::collections::BTreeSet<_>>()
        {
            self.write_file(&files[fi], true)?;
        }
        let e = &evs[b];
        let rel = format!(".thrum/{}", files[e.file].rel);
        Ok(self
            .applied(
                rel.clone(),
                format!(
                    "sequences {sa} and {sb} swapped: {}:{} now has {sb}, {}:{} has {sa}",
                    files[evs[a].file].rel,
                    evs[a].line + 1,
                    files[e.file].rel,
                    e.line + 1
                ),
            )
            .at(rel, Some(e.line as u64 + 1))
            .key(format!("event_id={}", e.id)))
    }

    pub(super) fn missing_shard(&mut self) -> Result<Applied> {
        let files = self.jsonl_files()?;
        let evs = Self::events(&files);
        // shards holding at least one create by their own agent
        let mut cands: Vec<(usize, String)> = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            let Some(stem) = f.rel.strip_prefix("messages/").and_then(|r| r.strip_suffix(".jsonl"))
            else {
                continue;
            };
            let owner = evs
                .iter()
                .filter(|e| {
                    e.file == fi
                        && e.obj.get("type").and_then(Value::as_str) == Some("message.create")
                })
                .find_map(|e| {
                    e.obj
                        .get("agent_id")
                        .and_then(Value::as_str)
                        .filter(|a| shard_name(a) == stem)
                        .map(str::to_owned)
                });
            if let Some(agent) = owner {
                cands.push((fi, agent));
            }
        }
        if cands.is_empty() {
            return Err(self.no_target("no shard holds its own agent's messages"));
        }
        let (fi, agent) = cands[self.rng.below(cands.len())].clone();
        let p = self.thrum.join(&files[fi].rel);
        std::fs::remove_file(&p).ctx("remove", &p)?;
        let rel = format!(".thrum/{}", files[fi].rel);
        Ok(self
            .applied(
                rel.clone(),
                format!("deleted {} ({} lines)", files[fi].rel, files[fi].lines.len()),
            )
            .at(rel, None)
            .row("messages", format!("agent_id={agent}"), None))
    }
}
