//! Messages: message `i` as a pure function of (seed, i), its body, its
//! edits and delete, its final state and who reads it.

use super::segments::Segment;
use super::{instant, tick_of, EventKey, Plan, DAY, HOUR, MIN, TICK};
use crate::rng::{Kind, Stream};
use crate::text::{self, Format};
use crate::vocab::*;
use thrum_schemas::ids;
use thrum_schemas::time::Micros;

/// What happens to a message after it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FateKind {
    /// The `n`-th edit (0-based) of the message; `id` is its message_edits id.
    Edit {
        /// Which edit (0-based).
        n: u8,
        /// Its `message_edits` id.
        id: i64,
    },
    /// The message is deleted.
    Delete,
}

/// A `message.edit` or `message.delete` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fate {
    /// Its position in the replay order.
    pub key: EventKey,
    /// Index of the message.
    pub message: u64,
    /// Edit or delete.
    pub kind: FateKind,
}

/// How a message is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// To everyone: no scope, no ref.
    Broadcast,
    /// Mention of an agent (by name).
    MentionAgent(u32),
    /// Mention of a role.
    MentionRole(&'static str),
    /// Group scope + group ref.
    Group(u32),
    /// Reply to an earlier message; `root` is the conversation's first message.
    Reply {
        /// Index of the message it answers.
        parent: u64,
        /// Index of the conversation's first message.
        root: u64,
        /// Whether it also mentions the parent's author.
        mention_parent: bool,
    },
}

/// Message `index`, fully determined by (seed, index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Its index: messages are numbered in time order from 0.
    pub index: u64,
    /// Key of its `message.create` event.
    pub key: EventKey,
    /// Entropy of the `msg_` ULID.
    pub id_rand: u128,
    /// Index of the session it is sent from.
    pub session: u32,
    /// `agent_id`: the agent the message is sent as.
    pub agent: u32,
    /// The real author when impersonating.
    pub authored_by: Option<u32>,
    /// Whether an impersonation is disclosed; `None` when not impersonating.
    pub disclosed: Option<bool>,
    /// To whom it is addressed.
    pub addressing: Addressing,
}

/// Final state of a message after its edits and delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageState {
    /// Time of its last edit, if edited.
    pub updated_at: Option<Micros>,
    /// Time of its delete, if deleted.
    pub deleted_at: Option<Micros>,
    /// Reason given for its delete, if deleted (may be empty).
    pub delete_reason: Option<&'static str>,
    /// Number of edits.
    pub edits: u8,
}

/// A read receipt (local-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Index of the session it is read in.
    pub session: u32,
    /// Index of the reader.
    pub agent: u32,
    /// When it is read.
    pub at: Micros,
}

/// The three kinds of message, mixed in each block of ten by the
/// profile's `kind_block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    /// To everyone.
    Broadcast,
    /// To an agent, a role or a group.
    Directed,
    /// A reply to an earlier message.
    Reply,
}

impl Plan {
    /// Message `index` (0-based). Pure: depends on (seed, index) and the
    /// plan's small entities only.
    pub fn message(&self, index: u64) -> Message {
        let mut r = Stream::new(self.seed, Kind::Message, index);
        let (time, seg) = self.place(index, &mut r);
        let session = self.segments.live.kth(seg.root, r.below(seg.live as u64) as u32);
        let author = self.sessions[session as usize].agent;
        let key = EventKey::new(&mut r, time);
        let id_rand = r.bits(70);

        let addressing = match self.kind_of(index) {
            MsgKind::Broadcast => Addressing::Broadcast,
            MsgKind::Reply => {
                let parent = self.parent_of(index);
                Addressing::Reply {
                    parent,
                    root: self.root_of(parent),
                    mention_parent: r.chance(0.3),
                }
            }
            MsgKind::Directed => {
                let roll = r.below(100);
                let created = self.groups_by_time.partition_point(|&(t, _)| t < time);
                if roll < 25 && created > 0 {
                    Addressing::Group(self.groups_by_time[r.below(created as u64) as usize].1)
                } else if roll < 50 {
                    let (role, _) = self.by_role[r.below(self.by_role.len() as u64) as usize];
                    Addressing::MentionRole(role)
                } else {
                    let mut target = r.below(self.agents.len() as u64) as u32;
                    if target == author {
                        target = (target + 1) % self.agents.len() as u32;
                    }
                    Addressing::MentionAgent(target)
                }
            }
        };
        // A few messages are sent as another agent (impersonation).
        let (agent, authored_by, disclosed) = if r.chance(0.012) {
            let mut acted = r.below(self.agents.len() as u64) as u32;
            if acted == author {
                acted = (acted + 1) % self.agents.len() as u32;
            }
            (acted, Some(author), Some(r.chance(0.5)))
        } else {
            (author, None, None)
        };
        Message { index, key, id_rand, session, agent, authored_by, disclosed, addressing }
    }

    /// The time of message `index` and its segment: the first draws of its
    /// stream `r` (the rest of [`Plan::message`] continues with it).
    fn place(&self, index: u64, r: &mut Stream) -> (Micros, &Segment) {
        let n = self.profile.messages;
        // Position in the concatenation of usable ticks: slot `index` of n.
        let slot = self.covered / n as Micros;
        let pos = (index as i128 * self.covered as i128 / n as i128) as Micros
            + r.below((slot / 2).max(1) as u64) as Micros;
        let seg_i = match self.segments.segs.binary_search_by(|s| s.cum.cmp(&pos)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let seg = &self.segments.segs[seg_i];
        // Segments are weighted by their number of live sessions (each
        // session talks at a similar rate, so a session's messages follow
        // its length) and by the hour of the day (working hours are busier).
        let tick = seg.lo_tick + (pos - seg.cum) / seg.weight as Micros;
        (tick * TICK + r.range(1, 9), seg)
    }

    /// The time of message `index` alone (what [`Plan::message`] gives as
    /// its key's time, without deriving the rest).
    pub fn message_time(&self, index: u64) -> Micros {
        self.place(index, &mut Stream::new(self.seed, Kind::Message, index)).0
    }

    /// Messages per UTC day (`YYYY-MM-DD`) of the messages in `range`:
    /// consecutive messages have increasing times, so each day is found
    /// by a binary search, not a walk.
    pub fn messages_per_day(
        &self,
        range: std::ops::Range<u64>,
    ) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        let mut i = range.start;
        while i < range.end {
            let day = self.message_time(i).div_euclid(DAY);
            let next_day = (day + 1) * DAY;
            // first message at or after the next day
            let (mut lo, mut hi) = (i + 1, range.end);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.message_time(mid) < next_day {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            out.insert(thrum_schemas::time::date(day * DAY), lo - i);
            i = lo;
        }
        out
    }

    /// Kind of message `index`: each block of ten holds exactly
    /// `kind_block` broadcasts, directed messages and replies.
    pub fn kind_of(&self, index: u64) -> MsgKind {
        let block = index / 10;
        let pos = (index % 10) as usize;
        let mut slots = [MsgKind::Broadcast; 10];
        let [b, d, _] = self.profile.kind_block;
        for (i, s) in slots.iter_mut().enumerate() {
            *s = if i < b as usize {
                MsgKind::Broadcast
            } else if i < (b + d) as usize {
                MsgKind::Directed
            } else {
                MsgKind::Reply
            };
        }
        Stream::new(self.seed, Kind::Block, block).shuffle(&mut slots);
        if block == 0 && slots[0] == MsgKind::Reply {
            // The very first message cannot reply to anything.
            let j = slots.iter().position(|&k| k != MsgKind::Reply).unwrap_or(0);
            slots.swap(0, j);
        }
        slots[pos]
    }

    /// The message a reply answers: one of the 120 before it.
    fn parent_of(&self, index: u64) -> u64 {
        let mut r = Stream::sub(self.seed, Kind::Thread, index, 1);
        index - 1 - r.below(index.min(120))
    }

    /// First message of the conversation `index` belongs to.
    pub fn root_of(&self, mut index: u64) -> u64 {
        while self.kind_of(index) == MsgKind::Reply {
            index = self.parent_of(index);
        }
        index
    }

    /// `msg_` id of message `index`.
    pub fn message_id(&self, m: &Message) -> String {
        let ms = m.key.time.div_euclid(1000) as u64;
        let us = m.key.time.rem_euclid(1000) as u128;
        ids::prefixed("msg_", ms, (us << 70) | m.id_rand)
    }

    /// `thr_` id of a conversation rooted at message `root`.
    pub fn thread_id(&self, root: &Message) -> String {
        let mut r = Stream::new(self.seed, Kind::Thread, root.index);
        ids::prefixed("thr_", root.key.time.div_euclid(1000) as u64, r.bits(80))
    }

    /// The body as created. Returns its format; `structured` is left empty
    /// when the message has none.
    pub fn body(&self, m: &Message, content: &mut String, structured: &mut String) -> Format {
        let module = self.agents[m.agent as usize].module;
        let mut r = Stream::new(self.seed, Kind::Body, m.index);
        text::body(&mut r, module, content, structured)
    }

    /// Content and structured value after edit `n` (0-based) of message `m`,
    /// given the previous version in `content`/`structured` (updated in place).
    pub fn apply_edit(
        &self,
        m: &Message,
        n: u8,
        content: &mut String,
        structured: &mut String,
        scratch: &mut String,
    ) {
        let module = self.agents[m.agent as usize].module;
        let mut r = Stream::sub(self.seed, Kind::Edit, m.index, n as u64);
        text::edited(&mut r, module, content, scratch);
        std::mem::swap(content, scratch);
        if !structured.is_empty() && structured.ends_with('}') {
            structured.pop();
            use std::fmt::Write as _;
            let _ = write!(structured, ",\"revision\":{}}}", n as u32 + 2);
        }
    }

    /// Edits and deletes of message `index`, in replay order.
    pub fn fates_of(&self, index: u64) -> impl Iterator<Item = &Fate> {
        let start = self.fate_index.partition_point(|&(m, _)| m < index);
        self.fate_index[start..]
            .iter()
            .take_while(move |&&(m, _)| m == index)
            .map(|&(_, f)| &self.fates[f as usize])
    }

    /// Final state of message `index` after its edits and delete.
    pub fn state(&self, index: u64) -> MessageState {
        let mut st = MessageState::default();
        for f in self.fates_of(index) {
            match f.kind {
                FateKind::Edit { .. } => {
                    st.updated_at = Some(f.key.time);
                    st.edits += 1;
                }
                FateKind::Delete => {
                    st.deleted_at = Some(f.key.time);
                    st.delete_reason = Some(self.delete_reason(index));
                }
            }
        }
        st
    }

    /// The reason given when message `index` is deleted (may be empty).
    pub fn delete_reason(&self, index: u64) -> &'static str {
        let mut r = Stream::sub(self.seed, Kind::Fate, index, 99);
        DELETE_REASONS[r.below(DELETE_REASONS.len() as u64) as usize]
    }

    pub(super) fn build_fates(&mut self) {
        let mut fates = Vec::new();
        let (edit_pm, del_pm) =
            (self.profile.edit_permille as u64, self.profile.delete_permille as u64);
        for i in 0..self.profile.messages {
            let mut r = Stream::new(self.seed, Kind::Fate, i);
            let roll = r.below(1000);
            let (edits, delete) = if roll < edit_pm {
                (if r.chance(0.15) { 2 } else { 1 }, r.chance(0.1))
            } else if roll < edit_pm + del_pm {
                (0, true)
            } else {
                continue;
            };
            let m = self.message(i);
            let until = self.sessions[m.session as usize].until(self.snapshot);
            let mut t = m.key.time;
            for n in 0..edits + delete as u8 {
                // Edits happen while the message's session is still live.
                let hi = (t + 30 * MIN).min(until - TICK);
                if tick_of(hi) <= tick_of(t) + 1 {
                    break;
                }
                t = instant(&mut r, t, hi);
                let kind = if n < edits { FateKind::Edit { n, id: 0 } } else { FateKind::Delete };
                fates.push(Fate { key: EventKey::new(&mut r, t), message: i, kind });
            }
        }
        fates.sort_by_key(|f| f.key);
        let mut next_id = 1;
        for f in fates.iter_mut() {
            if let FateKind::Edit { n, .. } = f.kind {
                f.kind = FateKind::Edit { n, id: next_id };
                next_id += 1;
            }
        }
        let mut index: Vec<(u64, u32)> =
            fates.iter().enumerate().map(|(i, f)| (f.message, i as u32)).collect();
        index.sort();
        self.fates = fates;
        self.fate_index = index;
    }

    /// Who reads message `index`, if anyone: exactly `reads_per_10` of each
    /// block of ten, by a plausible recipient in one of its live sessions.
    pub fn read(&self, m: &Message) -> Option<Read> {
        let block = m.index / 10;
        let mut slots = [false; 10];
        for s in slots.iter_mut().take(self.profile.reads_per_10 as usize) {
            *s = true;
        }
        Stream::sub(self.seed, Kind::Read, block, 0).shuffle(&mut slots);
        if !slots[(m.index % 10) as usize] {
            return None;
        }
        let mut r = Stream::new(self.seed, Kind::Read, m.index);
        let sender = m.agent;
        let real = m.authored_by.unwrap_or(m.agent);
        let preferred: Option<u32> = match m.addressing {
            Addressing::MentionAgent(a) => Some(a),
            Addressing::MentionRole(role) => {
                self.by_role.iter().find(|(x, _)| *x == role).map(|(_, v)| *r.pick(v))
            }
            Addressing::Reply { parent, .. } => Some(self.message(parent).agent),
            Addressing::Group(_) | Addressing::Broadcast => None,
        };
        let n = self.agents.len() as u32;
        let start = r.below(n as u64) as u32;
        let candidates = preferred.into_iter().chain((0..n).map(|k| (start + k) % n));
        for reader in candidates {
            if reader == sender || reader == real {
                continue;
            }
            for &s in &self.agents[reader as usize].sessions {
                let sess = &self.sessions[s as usize];
                let until = sess.until(self.snapshot);
                let lo = m.key.time.max(sess.start.time);
                let hi = until.min(lo + 2 * HOUR);
                if tick_of(hi) > tick_of(lo) + 1 {
                    return Some(Read { session: s, agent: reader, at: instant(&mut r, lo, hi) });
                }
            }
        }
        None
    }
}
