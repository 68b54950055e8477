//! The rules that depend on how the event logs are read, over the whole
//! loaded list: duplicate ids and shard ownership in file order, and the
//! sequence checks (duplicates, order, the numbers a counter starting at 1
//! skipped), written from the format (docs/FORMAT.md section 3).

use super::Loaded;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use thrum_schemas::events::{is_message_event, Payload};
use verify::internals::{
    allowed_shards, duplicate_id, line_checks, shard_mismatch, SLOT_ENVELOPE, SLOT_REST,
};
use verify::Mode;
use verify::{Finding, Findings, Kind};

/// Envelope, canonical form, duplicate ids, file placement, shard ownership
/// and (in [`Mode::Fixture`]) sequence order, uniqueness and gaps.
pub fn check_lines(loaded: &Loaded, mode: Mode, findings: &mut Findings) {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    // message_id -> shard names allowed (agent_id's and authored_by's)
    let mut authors: HashMap<&str, Vec<String>> = HashMap::new();
    for e in &loaded.events {
        if let Payload::MessageCreate(m) = &e.event.payload {
            authors.entry(m.message_id.as_str()).or_insert_with(|| allowed_shards(m));
        }
    }
    let mut local = Vec::new();
    for (i, e) in loaded.events.iter().enumerate() {
        let rel = loaded.file_of(e);
        let shard = loaded.files[e.file].shard.as_deref();
        local.clear();
        line_checks(rel, e.line, shard, &e.text, &e.event, mode, &mut local);
        for (_, f) in local.iter().filter(|(s, _)| *s == SLOT_ENVELOPE) {
            findings.push(f.clone());
        }
        if let Some(id) = e.event.envelope.event_id.as_deref() {
            if let Some(&j) = first_seen.get(id) {
                let first = &loaded.events[j];
                findings.push(loaded.at(e, duplicate_id(id, loaded.file_of(first), first.line)));
            } else {
                first_seen.insert(id, i);
            }
        }
        for (_, f) in local.drain(..).filter(|(s, _)| *s == SLOT_REST) {
            findings.push(f);
        }
        if let (Some(s), true) = (shard, is_message_event(&e.event.envelope.event_type)) {
            // from the line's text: the event decoded may hold no raw map
            let whole: Value = serde_json::from_str(&e.text).unwrap_or(Value::Null);
            let mid = whole.get("message_id").and_then(Value::as_str).unwrap_or("");
            if let Some(allowed) = authors.get(mid) {
                if !allowed.iter().any(|a| a == s) {
                    findings.push(loaded.at(e, shard_mismatch(mid, allowed, s, e.event_id())));
                }
            }
        }
    }
    if mode == Mode::Fixture {
        check_sequences(loaded, findings);
    }
}

fn check_sequences(loaded: &Loaded, findings: &mut Findings) {
    if loaded.arrival {
        return check_sequences_arrival(loaded, findings);
    }
    let mut by_seq: HashMap<i64, usize> = HashMap::new();
    let mut last: HashMap<&str, (i64, usize)> = HashMap::new();
    let mut per_daemon: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for &i in &loaded.order {
        let e = &loaded.events[i];
        let Some(seq) = e.event.envelope.sequence else { continue };
        let daemon = e.event.envelope.origin_daemon.as_deref().unwrap_or("");
        let key = || format!("event_id={}", e.event_id());
        if let Some(&j) = by_seq.get(&seq) {
            let o = &loaded.events[j];
            findings.push(
                loaded.at(
                    e,
                    Finding::new(
                        Kind::SequenceDuplicate,
                        format!(
                            "sequence {seq} already used by {} at {}:{}",
                            o.event_id(),
                            loaded.file_of(o),
                            o.line
                        ),
                    )
                    .key(key()),
                ),
            );
        } else {
            by_seq.insert(seq, i);
        }
        if let Some(&(prev, j)) = last.get(daemon) {
            if seq <= prev {
                let o = &loaded.events[j];
                findings.push(
                    loaded.at(
                        e,
                        Finding::new(
                            Kind::SequenceOrder,
                            format!(
                                "sequence {seq} of daemon {daemon} does not increase in replay \
                            order: the previous event {} ({}:{}) has {prev}",
                                o.event_id(),
                                loaded.file_of(o),
                                o.line
                            ),
                        )
                        .key(key())
                        .values(format!("> {prev}"), seq.to_string()),
                    ),
                );
            }
        }
        if last.get(daemon).is_none_or(|&(p, _)| seq > p) {
            last.insert(daemon, (seq, i));
        }
        per_daemon.entry(daemon).or_default().push(seq);
    }
    for (daemon, seqs) in per_daemon {
        for range in missing(&seqs) {
            findings.push(
                Finding::new(
                    Kind::SequenceGap,
                    format!(
                        "daemon {daemon}: sequence {range} \
                    missing from the JSONL (an event was lost)"
                    ),
                )
                .key(format!("origin_daemon={daemon}"))
                .values(range.clone(), "absent"),
            );
        }
    }
}

/// The numbers a counter starting at 1 skipped (section 3: `sequence` is
/// strictly increasing per daemon, starting at 1): between each two
/// neighbours of the sorted numbers held, with 0 in front, every number in
/// between, as `N` or `A..=B`. Numbers below 1 skip nothing.
fn missing(held: &[i64]) -> Vec<String> {
    let set: std::collections::BTreeSet<i64> = held.iter().copied().filter(|&s| s >= 1).collect();
    let with_start: Vec<i64> = std::iter::once(0).chain(set).collect();
    with_start
        .windows(2)
        .filter(|w| w[1] - w[0] >= 2)
        .map(|w| {
            if w[1] - w[0] == 2 {
                (w[0] + 1).to_string()
            } else {
                format!("{}..={}", w[0] + 1, w[1] - 1)
            }
        })
        .collect()
}

/// The sequences of a daemon holding events of several origins: one
/// counter for all of them (no duplicate, no gap), and each file in
/// sequence order.
fn check_sequences_arrival(loaded: &Loaded, findings: &mut Findings) {
    let mut by_seq: HashMap<i64, usize> = HashMap::new();
    let mut file_last: HashMap<usize, usize> = HashMap::new();
    let mut all: Vec<i64> = Vec::new();
    for &i in &loaded.order {
        let e = &loaded.events[i];
        let Some(seq) = e.event.envelope.sequence else { continue };
        let key = || format!("event_id={}", e.event_id());
        if let Some(&j) = by_seq.get(&seq) {
            let o = &loaded.events[j];
            findings.push(
                loaded.at(
                    e,
                    Finding::new(
                        Kind::SequenceDuplicate,
                        format!(
                            "sequence {seq} already used by {} at {}:{}",
                            o.event_id(),
                            loaded.file_of(o),
                            o.line
                        ),
                    )
                    .key(key()),
                ),
            );
        } else {
            by_seq.insert(seq, i);
        }
        match file_last.get(&e.file).map(|&j| &loaded.events[j]) {
            Some(l) if e.line < l.line => {
                let lseq = l.event.envelope.sequence.unwrap_or(0);
                findings.push(
                    loaded.at(
                        e,
                        Finding::new(
                            Kind::SequenceOrder,
                            format!(
                                "the file is not in sequence (append) order: line {} has sequence \
                                {seq}, above the sequence {lseq} of the later line {} ({})",
                                e.line,
                                l.line,
                                l.event_id()
                            ),
                        )
                        .key(key())
                        .values(format!("< {lseq}"), seq.to_string()),
                    ),
                );
            }
            _ => {
                file_last.insert(e.file, i);
            }
        }
        all.push(seq);
    }
    for range in missing(&all) {
        let why = "an event was lost; the daemon numbers the events of every origin it holds";
        findings.push(
            Finding::new(
                Kind::SequenceGap,
                format!("sequence {range} missing from the JSONL ({why})"),
            )
            .values(range.clone(), "absent"),
        );
    }
}
