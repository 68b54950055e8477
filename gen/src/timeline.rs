//! The global event order: every event of every file, in replay order
//! (timestamp, event_id), numbered with the daemon's `sequence`.
//!
//! It merges three sorted sources without materialising them: messages by
//! index (their times strictly increase), edits/deletes, and events.jsonl.

use crate::plan::{EventKey, Fate, Message, OtherEvent, Plan};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ev<'a> {
    Create(Message),
    Fate(&'a Fate),
    Other(&'a OtherEvent),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineEvent<'a> {
    /// 1-based, strictly increasing across all files.
    pub sequence: u64,
    pub key: EventKey,
    pub ev: Ev<'a>,
}

pub struct Timeline<'a> {
    plan: &'a Plan,
    next_msg: u64,
    msg: Option<Message>,
    fi: usize,
    oi: usize,
    seq: u64,
}

impl<'a> Timeline<'a> {
    pub fn new(plan: &'a Plan) -> Timeline<'a> {
        let msg = (plan.profile.messages > 0).then(|| plan.message(0));
        Timeline { plan, next_msg: 1, msg, fi: 0, oi: 0, seq: 0 }
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
        self.seq += 1;
        let ev = if Some(min) == ok {
            self.oi += 1;
            Ev::Other(&p.others[self.oi - 1])
        } else if Some(min) == fk {
            self.fi += 1;
            Ev::Fate(&p.fates[self.fi - 1])
        } else {
            let m = self.msg.take()?;
            if self.next_msg < p.profile.messages {
                self.msg = Some(p.message(self.next_msg));
                self.next_msg += 1;
            }
            Ev::Create(m)
        };
        Some(TimelineEvent { sequence: self.seq, key: min, ev })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.plan.total_events() - self.seq) as usize;
        (left, Some(left))
    }
}
