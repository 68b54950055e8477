//! The global event order: every event of every file, in replay order
//! (timestamp, event_id), numbered with the daemon's `sequence`.
//!
//! It merges three sorted sources without materialising them: messages by
//! index (their times strictly increase), edits/deletes, and events.jsonl.

use crate::plan::{EventKey, Fate, Message, OtherEvent, Plan};

/// What an event of the plan is: a message creation, an edit or delete of
/// a message, or an event of `events.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlanEvent<'a> {
    /// `message.create` of this message.
    Create(Message),
    /// `message.edit` or `message.delete`.
    Fate(&'a Fate),
    /// An event of `events.jsonl` (registrations, sessions, groups,
    /// members, work-context updates).
    Other(&'a OtherEvent),
}

/// An event of the timeline with its daemon `sequence`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineEvent<'a> {
    /// 1-based, strictly increasing across all files.
    pub sequence: u64,
    /// Its position in the replay order.
    pub key: EventKey,
    /// What the event is.
    pub ev: PlanEvent<'a>,
}

/// Every event of a plan (or of a slice of it) in replay order: an
/// iterator of [`TimelineEvent`]s.
pub struct Timeline<'a> {
    plan: &'a Plan,
    next_msg: u64,
    msg: Option<Message>,
    fi: usize,
    oi: usize,
    seq: u64,
    /// Exclusive upper bound of the slice (key of its first message after).
    end: Option<EventKey>,
}

/// Message index range of slice `i` of `n`.
pub fn slice_messages(messages: u64, i: u64, n: u64) -> std::ops::Range<u64> {
    let lo = (messages as u128 * i as u128 / n as u128) as u64;
    let hi = (messages as u128 * (i as u128 + 1) / n as u128) as u64;
    lo..hi
}

impl<'a> Timeline<'a> {
    /// The whole timeline of `plan`.
    pub fn new(plan: &'a Plan) -> Timeline<'a> {
        Timeline::slice(plan, 0, 1)
    }

    /// Slice `i` of `n`: the events from the key of message
    /// `slice_messages(..).start` (the very beginning for slice 0) up to the
    /// next slice's first message. Sequences stay global, so the slices
    /// concatenated in order are exactly the whole timeline. Positioning
    /// costs two binary searches, not a walk.
    pub fn slice(plan: &'a Plan, i: u64, n: u64) -> Timeline<'a> {
        let n = n.max(1);
        let range = slice_messages(plan.profile.messages, i, n);
        let mut t = if i == 0 {
            Timeline::at_message(plan, 0, false)
        } else {
            Timeline::at_message(plan, range.start, true)
        };
        t.end =
            (i + 1 < n && range.end < plan.profile.messages).then(|| plan.message(range.end).key);
        t
    }

    /// Positioned just before message `m` (or at the very beginning when
    /// `skip_earlier` is false), with the global sequence count of what lies
    /// before: two binary searches, no walk.
    fn at_message(plan: &'a Plan, m: u64, skip_earlier: bool) -> Timeline<'a> {
        let msg = (m < plan.profile.messages).then(|| plan.message(m));
        let (fi, oi) = match (skip_earlier, msg) {
            (true, Some(first)) => (
                plan.fates.partition_point(|f| f.key < first.key),
                plan.others.partition_point(|o| o.key < first.key),
            ),
            (true, None) => (plan.fates.len(), plan.others.len()),
            (false, _) => (0, 0),
        };
        let seq = m + fi as u64 + oi as u64;
        Timeline { plan, next_msg: m + 1, msg, fi, oi, seq, end: None }
    }

    /// The event with global `sequence` (1-based), found by a binary search
    /// over message indices and a short walk.
    pub fn event_at(plan: &'a Plan, sequence: u64) -> Option<TimelineEvent<'a>> {
        if sequence == 0 {
            return None;
        }
        let seq_of = |m: u64| {
            let k = plan.message(m).key;
            m + plan.fates.partition_point(|f| f.key < k) as u64
                + plan.others.partition_point(|o| o.key < k) as u64
                + 1
        };
        // Largest message index whose sequence is <= `sequence`.
        let (mut lo, mut hi) = (0u64, plan.profile.messages);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if seq_of(mid) <= sequence {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut t = if lo == 0 {
            Timeline::at_message(plan, 0, false)
        } else {
            Timeline::at_message(plan, lo - 1, true)
        };
        let skip = sequence - t.seq - 1;
        t.nth(skip as usize)
    }
}

impl<'a> Iterator for Timeline<'a> {
    type Item = TimelineEvent<'a>;

    fn next(&mut self) -> Option<TimelineEvent<'a>> {
        let p = self.plan;
        let mk = self.msg.map(|m| m.key);
        let fk = p.fates.get(self.fi).map(|f| f.key);
        let ok = p.others.get(self.oi).map(|o| o.key);
        let min = [mk, fk, ok].into_iter().flatten().min()?;
        if self.end.is_some_and(|end| min >= end) {
            return None;
        }
        self.seq += 1;
        let ev = if Some(min) == ok {
            self.oi += 1;
            PlanEvent::Other(&p.others[self.oi - 1])
        } else if Some(min) == fk {
            self.fi += 1;
            PlanEvent::Fate(&p.fates[self.fi - 1])
        } else {
            let m = self.msg.take()?;
            if self.next_msg < p.profile.messages {
                self.msg = Some(p.message(self.next_msg));
                self.next_msg += 1;
            }
            PlanEvent::Create(m)
        };
        Some(TimelineEvent { sequence: self.seq, key: min, ev })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.plan.total_events() - self.seq) as usize;
        (0, Some(left))
    }
}
