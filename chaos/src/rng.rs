//! The seeded choice of targets: SplitMix64, seeded from `--seed` and the
//! fault's name, so the same input, fault and seed give the same bytes.

use crate::catalogue::Fault;

/// SplitMix64, seeded from the seed and the fault's name.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64, fault: Fault) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in fault.name().bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(seed ^ h)
    }
    /// The stream of entity `index` of `kind` under `seed`, independent of
    /// every other (counter-based: entity `i` is a function of `(seed, kind,
    /// i)` alone, never of the draws made before it).
    pub(crate) fn keyed(seed: u64, kind: &str, index: u64) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in kind.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut r = Rng(seed ^ h);
        let k = r.next();
        let mut r = Rng(k ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03));
        r.next();
        r
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform-enough index below `n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub(crate) fn entropy80(&mut self) -> u128 {
        ((self.next() as u128) << 16 | (self.next() & 0xffff) as u128) & ((1u128 << 80) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_depends_on_seed_and_fault() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(42, Fault::AlteredCell);
                move |_| r.next()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(42, Fault::AlteredCell);
                move |_| r.next()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            Rng::new(42, Fault::AlteredCell).next(),
            Rng::new(43, Fault::AlteredCell).next()
        );
        assert_ne!(Rng::new(42, Fault::AlteredCell).next(), Rng::new(42, Fault::MissingRow).next());
        assert!(Rng::new(1, Fault::GarbageWal).entropy80() < 1u128 << 80);
        // keyed streams: a function of (seed, kind, index) only
        assert_eq!(Rng::keyed(7, "a", 3).next(), Rng::keyed(7, "a", 3).next());
        assert_ne!(Rng::keyed(7, "a", 3).next(), Rng::keyed(7, "a", 4).next());
        assert_ne!(Rng::keyed(7, "a", 3).next(), Rng::keyed(7, "b", 3).next());
        assert_ne!(Rng::keyed(7, "a", 3).next(), Rng::keyed(8, "a", 3).next());
    }
}
