//! The sessions' time cut into segments in which the same sessions are
//! live, weighted by the hour of the day: where [`Plan::message`] places
//! message `i`.
//!
//! [`Plan::message`]: super::Plan::message

use super::{tick_of, Session, HOUR, TICK};
use thrum_schemas::time::Micros;

/// One elementary stretch of time in which the same sessions are live.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Segment {
    /// First tick messages may use (exclusive of the boundary).
    pub(super) lo_tick: Micros,
    /// Cumulative usable ticks before this segment.
    pub(super) cum: Micros,
    len: Micros,
    /// Number of live sessions.
    pub(super) live: u32,
    /// Messages per tick, relative: `live` times the hour's [`rhythm`].
    pub(super) weight: u32,
    /// The live sessions: a version of `Segments::live`.
    pub(super) root: u32,
}

/// The segments of the sessions' time, with their live sets.
#[derive(Debug, Default)]
pub(super) struct Segments {
    pub(super) segs: Vec<Segment>,
    pub(super) live: LiveSets,
}

/// Sets of session indices, one version per change, sharing what they have
/// in common (a persistent count tree): `n` changes over `s` sessions cost
/// `O(n log s)` nodes, however many sessions are live at once.
#[derive(Debug, Default)]
pub(super) struct LiveSets {
    /// (left child, right child, number of members); node 0 is the empty set.
    pub(super) nodes: Vec<[u32; 3]>,
    /// Members are below this.
    width: u32,
}

impl LiveSets {
    fn new(width: u32) -> LiveSets {
        LiveSets { nodes: vec![[0, 0, 0]], width: width.max(1) }
    }

    /// The version `root` with `member` added (or removed): its new root.
    fn with(&mut self, root: u32, member: u32, add: bool) -> u32 {
        self.change(root, 0, self.width, member, add)
    }

    fn change(&mut self, node: u32, lo: u32, hi: u32, member: u32, add: bool) -> u32 {
        let [mut left, mut right, count] = self.nodes[node as usize];
        let count = if add { count + 1 } else { count - 1 };
        if hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if member < mid {
                left = self.change(left, lo, mid, member, add);
            } else {
                right = self.change(right, mid, hi, member, add);
            }
        }
        self.nodes.push([left, right, count]);
        (self.nodes.len() - 1) as u32
    }

    /// The `k`-th smallest member (0-based) of version `root`.
    pub(super) fn kth(&self, mut node: u32, mut k: u32) -> u32 {
        let (mut lo, mut hi) = (0, self.width);
        while hi - lo > 1 {
            let [left, right, _] = self.nodes[node as usize];
            let mid = lo + (hi - lo) / 2;
            let in_left = self.nodes[left as usize][2];
            if k < in_left {
                node = left;
                hi = mid;
            } else {
                k -= in_left;
                node = right;
                lo = mid;
            }
        }
        lo
    }
}

/// Relative traffic in the hour of the day of `t` (UTC): working hours,
/// 07:00 to 19:00, carry three times the traffic of the night.
fn rhythm(t: Micros) -> u32 {
    let hour = t.div_euclid(HOUR).rem_euclid(24);
    if (7..19).contains(&hour) {
        3
    } else {
        1
    }
}

pub(super) fn build_segments(sessions: &[Session], snapshot: Micros) -> (Segments, Micros) {
    let mut bounds: Vec<(Micros, bool, u32)> = Vec::with_capacity(sessions.len() * 2);
    for (i, s) in sessions.iter().enumerate() {
        bounds.push((tick_of(s.start.time), true, i as u32));
        bounds.push((tick_of(s.until(snapshot)), false, i as u32));
    }
    bounds.sort();
    let mut live = LiveSets::new(sessions.len() as u32);
    let mut present = vec![false; sessions.len()];
    let (mut root, mut count) = (0u32, 0u32);
    let mut segs = Vec::new();
    let mut cum = 0;
    let hour_ticks = HOUR / TICK;
    for w in 0..bounds.len() {
        let (t, is_start, s) = bounds[w];
        // A session ending before it starts (never, with sessions of five
        // minutes or more) would stay live: the end finds nothing to remove.
        if is_start != present[s as usize] {
            present[s as usize] = is_start;
            root = live.with(root, s, is_start);
            count = if is_start { count + 1 } else { count - 1 };
        }
        if let Some(&(next, _, _)) = bounds.get(w + 1) {
            // Usable ticks strictly between the boundaries, cut at every
            // hour so that each piece has one weight.
            let (mut lo, hi) = (t + 1, next);
            while lo < hi && count > 0 {
                let cut = ((lo.div_euclid(hour_ticks) + 1) * hour_ticks).min(hi);
                let weight = count * rhythm(lo * TICK);
                let weighted = (cut - lo) * weight as Micros;
                segs.push(Segment { lo_tick: lo, cum, len: weighted, live: count, weight, root });
                cum += weighted;
                lo = cut;
            }
        }
    }
    (Segments { segs, live }, cum)
}
