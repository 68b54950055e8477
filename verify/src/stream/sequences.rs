//! The sequence checks (duplicates, order, gaps per daemon), as the events
//! pass in replay order.
//!
//! A fixture whose events all have one origin numbers them with that
//! daemon's counter: per origin, sequences increase in replay order and
//! leave no gap. A daemon that also holds pulled events (more than one
//! origin) numbers every event it holds with its own counter in arrival
//! order (docs/FORMAT.md section 8): it is replayed in sequence order, its
//! sequences together leave no gap, and each file lists its events in
//! sequence order (lines are appended as events arrive).

use crate::findings::{Finding, Findings, Kind, LIST_CEILING};
use crate::index::Pos;
use crate::jsonl::Source;
use std::collections::{BTreeMap, HashMap};
use thrum_schemas::events::Event;

/// The sequence checks (in replay order), as events pass: a sequence used
/// twice, a sequence not above its daemon's previous one, gaps.
#[derive(Default)]
pub(super) struct Sequences {
    /// First holder (position + 1) of each sequence: dense for small values, else a map.
    pub(super) dense: Vec<u64>,
    pub(super) sparse: HashMap<i64, Pos>,
    pub(super) held: u64,
    /// Per daemon: the highest sequence so far, its event id and position.
    pub(super) last: HashMap<String, (i64, String, Pos)>,
    /// Per daemon: the sequences seen, as runs of consecutive values.
    pub(super) runs: BTreeMap<String, Vec<(i64, i64)>>,
    pub(super) out: SeqOut,
    /// Events of more than one origin, replayed in sequence order: the
    /// checks are per file and over all events (see the module documentation).
    pub(super) arrival: bool,
    /// Per file (arrival order): the last line seen, its sequence and event id.
    pub(super) file_last: HashMap<usize, (u64, i64, String)>,
}

/// The label of the one counter of a daemon holding events of several origins.
pub(super) const ALL_ORIGINS: &str = "(every origin: this daemon's own counter)";

/// The findings of [`Sequences`] in the order the events passed: the first
/// [`LIST_CEILING`] of each kind kept, the others only counted.
#[derive(Default)]
pub(super) struct SeqOut {
    list: Vec<SeqFinding>,
    kept: HashMap<Kind, usize>,
    dropped: BTreeMap<Kind, usize>,
}

impl SeqOut {
    fn push(&mut self, kind: Kind, f: SeqFinding) {
        let n = self.kept.entry(kind).or_default();
        if *n < LIST_CEILING {
            *n += 1;
            self.list.push(f);
        } else {
            *self.dropped.entry(kind).or_default() += 1;
        }
    }
}

pub(super) enum SeqFinding {
    Ready(Finding),
    /// `sequence_duplicate`; the first holder's id is read again at the end.
    Duplicate {
        seq: i64,
        holder: Pos,
        at: Pos,
        event_id: String,
    },
}

impl Sequences {
    pub(super) fn holder(&self, seq: i64) -> Option<Pos> {
        if seq >= 1 && (seq as u64) < self.dense.len() as u64 && self.dense[seq as usize] != 0 {
            return Some(Pos::from_raw(self.dense[seq as usize] - 1));
        }
        self.sparse.get(&seq).copied()
    }

    pub(super) fn hold(&mut self, seq: i64, p: Pos) {
        self.held += 1;
        let limit = (self.held * 4).max(1 << 20);
        if seq >= 1 && (seq as u64) < limit {
            let i = seq as usize;
            if i >= self.dense.len() {
                self.dense.resize((i + 1).max(self.dense.len() * 2), 0);
            }
            self.dense[i] = p.raw() + 1;
        } else {
            self.sparse.insert(seq, p);
        }
    }

    pub(super) fn see(&mut self, e: &Event, p: Pos, sources: &[Source]) {
        let env = &e.envelope;
        let Some(seq) = env.sequence else { return };
        let daemon = env.origin_daemon.as_deref().unwrap_or("");
        let id = env.event_id.as_deref().unwrap_or("");
        match self.holder(seq) {
            Some(holder) => self.out.push(
                Kind::SequenceDuplicate,
                SeqFinding::Duplicate { seq, holder, at: p, event_id: id.to_owned() },
            ),
            None => self.hold(seq, p),
        }
        if self.arrival {
            self.see_in_file(seq, id, p, sources);
            match self.runs.get_mut(ALL_ORIGINS) {
                Some(r) => add_to_runs(r, seq),
                None => add_to_runs(self.runs.entry(ALL_ORIGINS.to_owned()).or_default(), seq),
            }
            return;
        }
        match self.last.get_mut(daemon) {
            Some((prev, oid, op)) => {
                if seq <= *prev {
                    self.out.push(
                        Kind::SequenceOrder,
                        SeqFinding::Ready(
                            Finding::new(
                                Kind::SequenceOrder,
                                format!(
                                "sequence {seq} of daemon {daemon} does not increase in replay \
                                    order: the previous event {oid} ({}:{}) has {prev}",
                                sources[op.file()].rel,
                                op.line()
                            ),
                            )
                            .key(format!("event_id={id}"))
                            .values(format!("> {prev}"), seq.to_string())
                            .at(sources[p.file()].rel.clone(), p.line()),
                        ),
                    );
                } else {
                    *prev = seq;
                    oid.clear();
                    oid.push_str(id);
                    *op = p;
                }
            }
            None => {
                self.last.insert(daemon.to_owned(), (seq, id.to_owned(), p));
            }
        }
        match self.runs.get_mut(daemon) {
            Some(r) => add_to_runs(r, seq),
            None => add_to_runs(self.runs.entry(daemon.to_owned()).or_default(), seq),
        }
    }

    /// Arrival order: events come in sequence order, so a file's lines must
    /// come in line order; an event on a line before one already seen has a
    /// higher sequence than that later line.
    fn see_in_file(&mut self, seq: i64, id: &str, p: Pos, sources: &[Source]) {
        let file = p.file();
        match self.file_last.get_mut(&file) {
            Some((line, lseq, lid)) if p.line() < *line => {
                self.out.push(
                    Kind::SequenceOrder,
                    SeqFinding::Ready(
                        Finding::new(
                            Kind::SequenceOrder,
                            format!(
                                "the file is not in sequence (append) order: line {} has sequence \
                                {seq}, above the sequence {lseq} of the later line {line} ({lid})",
                                p.line(),
                                line = *line
                            ),
                        )
                        .key(format!("event_id={id}"))
                        .values(format!("< {lseq}"), seq.to_string())
                        .at(sources[file].rel.clone(), p.line()),
                    ),
                );
            }
            Some(last) => *last = (p.line(), seq, id.to_owned()),
            None => {
                self.file_last.insert(file, (p.line(), seq, id.to_owned()));
            }
        }
    }

    /// The findings in order: as the events passed, then the gaps by daemon.
    /// Bounded: see [`SeqOut`] (the gaps, one per run of missing values,
    /// too: [`Findings`] keeps the first of each kind).
    pub(super) fn finish(self, sources: &[Source], ids: &HashMap<Pos, String>) -> Findings {
        let mut out = Findings::new(0);
        for f in self.out.list {
            out.push(match f {
                SeqFinding::Ready(f) => f,
                SeqFinding::Duplicate { seq, holder, at, event_id } => {
                    let hid = ids.get(&holder).map_or("", String::as_str);
                    Finding::new(
                        Kind::SequenceDuplicate,
                        format!(
                            "sequence {seq} already used by {hid} at {}:{}",
                            sources[holder.file()].rel,
                            holder.line()
                        ),
                    )
                    .key(format!("event_id={event_id}"))
                    .at(sources[at.file()].rel.clone(), at.line())
                }
            });
        }
        for (k, n) in self.out.dropped {
            out.count_unlisted(k, n);
        }
        for (daemon, runs) in self.runs {
            gaps(&daemon, runs, &mut out);
        }
        out
    }

    pub(super) fn holders_to_fetch(&self) -> impl Iterator<Item = Pos> + '_ {
        self.out.list.iter().filter_map(|f| match f {
            SeqFinding::Duplicate { holder, .. } => Some(*holder),
            SeqFinding::Ready(_) => None,
        })
    }
}

/// Adds a value to runs of consecutive values (the last run is extended
/// when it can be; a value already in it is dropped).
pub(super) fn add_to_runs(runs: &mut Vec<(i64, i64)>, s: i64) {
    if let Some(last) = runs.last_mut() {
        if s >= last.0 && s <= last.1 {
            return;
        }
        if last.1.checked_add(1) == Some(s) {
            last.1 = s;
            return;
        }
    }
    runs.push((s, s));
}

/// `sequence_gap` findings of one daemon whose sequences are the union of
/// `runs`: what walking the sorted distinct values reports (`expect`
/// starts at 1; a value above it leaves a gap; then `expect = max(expect,
/// value + 1)`). No value follows `i64::MAX` (itself reported by the line
/// checks), so the walk ends there.
pub(crate) fn gaps(daemon: &str, mut runs: Vec<(i64, i64)>, out: &mut impl Extend<Finding>) {
    runs.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(runs.len());
    for (a, b) in runs {
        match merged.last_mut() {
            Some(m) if a <= m.1 || m.1.checked_add(1) == Some(a) => m.1 = m.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut expect = 1i64;
    for (a, b) in merged {
        if a > expect {
            let range =
                if a - 1 == expect { expect.to_string() } else { format!("{expect}..={}", a - 1) };
            let f = if daemon == ALL_ORIGINS {
                Finding::new(
                    Kind::SequenceGap,
                    format!(
                        "sequence {range} missing from the JSONL (an event was lost; the \
                        daemon numbers the events of every origin it holds)"
                    ),
                )
            } else {
                Finding::new(
                    Kind::SequenceGap,
                    format!(
                        "daemon {daemon}: sequence {range} \
                    missing from the JSONL (an event was lost)"
                    ),
                )
                .key(format!("origin_daemon={daemon}"))
            };
            out.extend([f.values(range.clone(), "absent")]);
        }
        match b.checked_add(1) {
            Some(next) => expect = expect.max(next),
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The gap findings of a loop over the sorted, distinct values.
    fn gaps_reference(daemon: &str, values: &[i64]) -> Vec<Finding> {
        let mut seqs = values.to_vec();
        seqs.sort_unstable();
        seqs.dedup();
        let mut out = Vec::new();
        let mut expect = 1i64;
        for s in seqs {
            if s > expect {
                let range = if s - 1 == expect {
                    expect.to_string()
                } else {
                    format!("{expect}..={}", s - 1)
                };
                out.push(
                    Finding::new(
                        Kind::SequenceGap,
                        format!(
                            "daemon {daemon}: sequence {range} missing from the JSONL (an \
                            event was lost)"
                        ),
                    )
                    .key(format!("origin_daemon={daemon}"))
                    .values(range.clone(), "absent"),
                );
            }
            match s.checked_add(1) {
                Some(next) => expect = expect.max(next),
                None => break,
            }
        }
        out
    }

    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => -2i64..30,
            1 => Just(i64::MAX),
            1 => Just(i64::MAX - 1),
            1 => Just(i64::MIN),
            1 => any::<i64>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn gaps_from_runs_equal_gaps_from_values(values in prop::collection::vec(value(), 0..30)) {
            let mut runs = Vec::new();
            for &v in &values {
                add_to_runs(&mut runs, v);
            }
            let mut got = Vec::new();
            gaps("d", runs, &mut got);
            prop_assert_eq!(got, gaps_reference("d", &values));
        }
    }
}
