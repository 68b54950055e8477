//! Counter-based randomness: every entity draws from its own stream, seeded
//! from (seed, entity kind, index). No global RNG is threaded through the
//! plan, so the order in which entities are generated (threads, shards)
//! cannot change a byte.

use rand_core::Rng;
use rand_pcg::Pcg64;

/// Entity kinds; each has its own family of streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Kind {
    /// Repository id and entity ids derived from event keys.
    Ids = 1,
    /// One agent: name, display, host, worktree, registration.
    Agent = 2,
    /// How sessions are shared out among agents.
    AgentSessions = 3,
    /// One agent's sessions: their times and end reasons.
    Session = 4,
    /// One group: creator and creation time.
    Group = 5,
    /// Ad-hoc membership and the time each member is added.
    Member = 6,
    /// The order of message kinds in one block of ten.
    Block = 7,
    /// One message: time, session, addressing, impersonation.
    Message = 8,
    /// The body of one message as created.
    Body = 9,
    /// Whether one message is edited or deleted, and when.
    Fate = 10,
    /// The text of one edit.
    Edit = 11,
    /// Read receipts: which messages of a block are read, by whom.
    Read = 12,
    /// Reply parents, `thr_` ids and v5 thread titles.
    Thread = 13,
    /// `agent.update` events: how many per session and their content.
    Update = 14,
    /// Subscriptions.
    Subscription = 15,
    /// Sync checkpoints of peer daemons.
    Checkpoint = 16,
    /// A session's work context: branch, task, intent.
    Context = 17,
    /// Entropy of event ids written by sinks.
    EventId = 18,
    /// Local-only session scopes and refs.
    Local = 19,
    /// A mesh of daemons: hosts, where agents live, pulls, conflicts.
    Mesh = 20,
    /// A daemon's first start (the `everyone` pair) and its pairings.
    Start = 21,
}

#[inline]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic random stream for one entity.
pub struct Stream(Pcg64);

impl Stream {
    /// The stream of entity `index` of `kind` under `seed`.
    pub fn new(seed: u64, kind: Kind, index: u64) -> Stream {
        let a = splitmix64(seed ^ splitmix64(kind as u64));
        let b = splitmix64(a ^ splitmix64(index.wrapping_add(0x5851_F42D_4C95_7F2D)));
        let c = splitmix64(b ^ 0xA076_1D64_78BD_642F);
        let state = ((b as u128) << 64) | c as u128;
        let stream = ((kind as u128) << 1) | 1;
        Stream(Pcg64::new(state, stream))
    }

    /// A sub-stream: (seed, kind, index, sub).
    pub fn sub(seed: u64, kind: Kind, index: u64, sub: u64) -> Stream {
        Stream::new(seed ^ splitmix64(sub.wrapping_mul(0x2545_F491_4F6C_DD1D)), kind, index)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (n > 0), unbiased enough for fixtures (128-bit multiply).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// Uniform float in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Picks one item.
    #[inline]
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `bits` random bits (≤ 128).
    pub fn bits(&mut self, bits: u32) -> u128 {
        let v = ((self.u64() as u128) << 64) | self.u64() as u128;
        if bits >= 128 {
            v
        } else {
            v & ((1u128 << bits) - 1)
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// Log-uniform integer in `lo..=hi` (lo ≥ 1): many small, some large.
    pub fn log_range(&mut self, lo: i64, hi: i64) -> i64 {
        let (l, h) = ((lo as f64).ln(), (hi as f64).ln());
        let v = (l + (h - l) * self.unit()).exp().round() as i64;
        v.clamp(lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn streams_are_independent_of_call_order() {
        let a1 = Stream::new(42, Kind::Message, 7).u64();
        let _ = Stream::new(42, Kind::Message, 8).u64();
        let a2 = Stream::new(42, Kind::Message, 7).u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, Stream::new(43, Kind::Message, 7).u64());
        assert_ne!(a1, Stream::new(42, Kind::Body, 7).u64());
        assert_ne!(a1, Stream::new(42, Kind::Message, 6).u64());
    }
    #[test]
    fn below_stays_in_range() {
        let mut s = Stream::new(1, Kind::Local, 0);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(s.below(n) < n);
            }
        }
    }
}
