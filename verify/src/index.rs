//! Compact per-event records kept while the event logs stream past: what
//! the checks that need every event (duplicate ids, shard ownership, the
//! `events` table, `shard_missing`) must remember once the events themselves
//! are gone.
//!
//! * [`Key`]: an id, packed into 16 bytes when it is the canonical
//!   `evt_`/`msg_` + ULID, else kept as text. Keys order as their text does
//!   (byte order), whatever their representation.
//! * [`Pos`]: an event's file and line, packed into a `u64`.

use std::cmp::Ordering;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The value of a Crockford character (upper case only), or 32.
const fn decode_table() -> [u8; 256] {
    let mut t = [32u8; 256];
    let mut i = 0;
    while i < 32 {
        t[CROCKFORD[i] as usize] = i as u8;
        i += 1;
    }
    t
}
const DECODE: [u8; 256] = decode_table();

/// An id whose canonical form (`P` is `'e'` for `evt_`, `'m'` for `msg_`)
/// is packed. Two keys are equal exactly when their texts are, and compare
/// as their texts' bytes do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key<const P: char> {
    /// prefix + 26 upper-case Crockford characters, the first at most `7`:
    /// the 128-bit value, big-endian.
    Ulid([u8; 16]),
    /// Any other text.
    Other(Box<str>),
}

pub type EventKey = Key<'e'>;
pub type MessageKey = Key<'m'>;

impl<const P: char> Key<P> {
    pub const fn prefix() -> &'static str {
        match P {
            'e' => "evt_",
            'm' => "msg_",
            _ => "",
        }
    }

    pub fn new(s: &str) -> Key<P> {
        let pre = Self::prefix();
        let b = s.as_bytes();
        if b.len() == pre.len() + 26 && s.starts_with(pre) && b[pre.len()] <= b'7' {
            let mut v: u128 = 0;
            let mut ok = true;
            for &c in &b[pre.len()..] {
                let d = DECODE[c as usize];
                ok &= d < 32;
                v = (v << 5) | (d as u128 & 31);
            }
            if ok {
                return Key::Ulid(v.to_be_bytes());
            }
        }
        Key::Other(s.into())
    }

    /// The text, without allocating for a packed id.
    pub fn with_text<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        match self {
            Key::Other(s) => f(s.as_bytes()),
            Key::Ulid(v) => {
                let pre = Self::prefix().as_bytes();
                let mut out = [0u8; 34];
                out[..pre.len()].copy_from_slice(pre);
                let v = u128::from_be_bytes(*v);
                for i in 0..26 {
                    out[pre.len() + i] = CROCKFORD[((v >> ((25 - i) * 5)) & 31) as usize];
                }
                f(&out[..pre.len() + 26])
            }
        }
    }

    pub fn text(&self) -> String {
        self.with_text(|b| String::from_utf8_lossy(b).into_owned())
    }
}

impl<const P: char> Ord for Key<P> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Ulid(a), Key::Ulid(b)) => a.cmp(b),
            (Key::Other(a), Key::Other(b)) => a.as_bytes().cmp(b.as_bytes()),
            _ => self.with_text(|a| other.with_text(|b| a.cmp(b))),
        }
    }
}

impl<const P: char> PartialOrd for Key<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An event's place: file index (into the list of event files) and 1-based
/// line number, packed so that positions order as (file, line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos(u64);

const LINE_BITS: u32 = 40;

impl Pos {
    /// The number of files a position can name (indexes `0..MAX_FILES`).
    pub const MAX_FILES: usize = 1 << (64 - LINE_BITS);
    /// The highest line number a position can hold.
    pub const MAX_LINE: u64 = (1 << LINE_BITS) - 1;

    /// Files up to 2^24, lines up to 2^40; `None` beyond.
    pub fn new(file: usize, line: u64) -> Option<Pos> {
        (file < (1 << (64 - LINE_BITS)) && line < (1 << LINE_BITS))
            .then_some(Pos(((file as u64) << LINE_BITS) | line))
    }
    pub fn raw(self) -> u64 {
        self.0
    }
    pub fn from_raw(v: u64) -> Pos {
        Pos(v)
    }
    pub fn file(self) -> usize {
        (self.0 >> LINE_BITS) as usize
    }
    pub fn line(self) -> u64 {
        self.0 & ((1 << LINE_BITS) - 1)
    }
}

/// Index of the first element of `sorted` (by `key`) equal to `k`.
pub fn find<T, K: Ord>(sorted: &[T], k: &K, key: impl Fn(&T) -> &K) -> Option<usize> {
    let i = sorted.partition_point(|x| key(x) < k);
    (i < sorted.len() && key(&sorted[i]) == k).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            (any::<u64>(), any::<u128>()).prop_map(|(ms, e)| thrum_schemas::ids::prefixed(
                "evt_",
                ms & 0xFFFF_FFFF_FFFF,
                e
            )),
            "evt_[0-9A-Za-z]{24,27}",
            "[a-z_]{0,6}",
            "evt_[8-9][0-9A-Z]{25}",
            Just("evt_".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn keys_round_trip_and_order_as_text(a in id(), b in id()) {
            let (ka, kb) = (EventKey::new(&a), EventKey::new(&b));
            prop_assert_eq!(ka.text(), a.clone());
            prop_assert_eq!(ka.cmp(&kb), a.as_bytes().cmp(b.as_bytes()));
            prop_assert_eq!(ka == kb, a == b);
        }
    }

    #[test]
    fn canonical_ids_are_packed_and_positions_order() {
        let id = thrum_schemas::ids::prefixed("msg_", 1_772_442_000_000, 42);
        assert!(matches!(MessageKey::new(&id), Key::Ulid(_)));
        assert!(matches!(EventKey::new(&id), Key::Other(_)));
        assert!(matches!(MessageKey::new(&id.to_lowercase()), Key::Other(_)));
        let p = Pos::new(3, 17).unwrap();
        assert_eq!((p.file(), p.line()), (3, 17));
        assert!(Pos::new(3, 18).unwrap() > p && Pos::new(4, 1).unwrap() > p);
        assert!(Pos::new(1 << 24, 1).is_none());
        let v = [1, 3, 3, 5];
        assert_eq!(find(&v, &3, |x| x), Some(1));
        assert_eq!(find(&v, &4, |x| x), None);
    }
}
