//! Identifier formats: ULIDs (`evt_`, `msg_`, `ses_`, `grp_`, `thr_`), daemon
//! and repository ids, shard names, and the v7 event-id backfill.

use sha2::{Digest, Sha256};

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID: 48-bit millisecond time, 80 bits of entropy.
pub fn ulid(ms: u64, entropy: u128) -> String {
    let mut out = String::with_capacity(26);
    push_ulid(&mut out, ms, entropy);
    out
}

/// Appends a ULID to `out` without an intermediate allocation.
pub fn push_ulid(out: &mut String, ms: u64, entropy: u128) {
    let v: u128 = ((ms as u128 & 0xFFFF_FFFF_FFFF) << 80) | (entropy & ((1u128 << 80) - 1));
    for i in (0..26).rev() {
        let idx = ((v >> (i * 5)) & 31) as usize;
        out.push(CROCKFORD[idx] as char);
    }
}

/// Decodes a 26-character Crockford ULID into (ms, entropy).
pub fn parse_ulid(s: &str) -> Option<(u64, u128)> {
    if s.len() != 26 {
        return None;
    }
    let mut v: u128 = 0;
    for (i, c) in s.bytes().enumerate() {
        let d = CROCKFORD.iter().position(|&x| x == c.to_ascii_uppercase())? as u128;
        if i == 0 && d > 7 {
            return None;
        }
        v = (v << 5) | d;
    }
    Some(((v >> 80) as u64, v & ((1u128 << 80) - 1)))
}

/// `prefix` + ULID, e.g. `evt_01J...`.
pub fn prefixed(prefix: &str, ms: u64, entropy: u128) -> String {
    let mut s = String::with_capacity(prefix.len() + 26);
    s.push_str(prefix);
    push_ulid(&mut s, ms, entropy);
    s
}

/// Checks `prefix` + a well-formed ULID.
pub fn is_prefixed_ulid(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|u| parse_ulid(u).is_some())
}

/// The id of a daemon running on the machine `hostname`, as the daemon
/// derives it (docs/FORMAT.md section 3): `d_` and the first 12 characters,
/// lowercased, of the unpadded Crockford base32 of SHA-256 of the hostname.
/// Twelve characters are the first 60 bits of the digest.
pub fn daemon_id(hostname: &str) -> String {
    let d = Sha256::digest(hostname.as_bytes());
    let mut top = [0u8; 16];
    top[8..].copy_from_slice(&d[..8]);
    let bits = u128::from_be_bytes(top) >> 4; // the first 60 bits
    short_id("d_", bits, 12)
}

/// A short id of `n` lowercase Crockford characters (`d_…`, `r_…`).
pub fn short_id(prefix: &str, bits: u128, n: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + n);
    s.push_str(prefix);
    for i in (0..n).rev() {
        let idx = ((bits >> (i * 5)) & 31) as usize;
        s.push(CROCKFORD[idx].to_ascii_lowercase() as char);
    }
    s
}

/// Shard (and file) name of an agent id: legacy `agent:role:XYZ` drops the
/// `agent:` prefix, and every `:` becomes `_`.
pub fn shard_name(agent_id: &str) -> String {
    agent_id.strip_prefix("agent:").unwrap_or(agent_id).replace(':', "_")
}

/// Valid agent names: `^[a-z0-9_]+$` and not reserved.
pub fn is_valid_agent_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !RESERVED_NAMES.contains(&name)
}

/// Names the daemon reserves.
pub const RESERVED_NAMES: &[&str] = &["daemon", "system", "thrum", "all", "broadcast"];

/// The v7 backfill entity of an event: `message_id` for `message.*`,
/// `thread_id` for `thread.create`, `agent_id` for `agent.register` and
/// `agent.update`, `session_id` for other `agent.*`, else the timestamp.
pub fn backfill_entity<'a>(
    event_type: &str,
    timestamp: &'a str,
    get: impl Fn(&str) -> Option<&'a str>,
) -> &'a str {
    let field = if event_type.starts_with("message.") {
        Some("message_id")
    } else if event_type == "thread.create" {
        Some("thread_id")
    } else if event_type == "agent.register" || event_type == "agent.update" {
        Some("agent_id")
    } else if event_type.starts_with("agent.") {
        Some("session_id")
    } else {
        None
    };
    match field {
        Some(f) => get(f).unwrap_or(""),
        None => timestamp,
    }
}

/// The deterministic event id the v7 migration assigns: ULID time = the
/// timestamp in ms, entropy = the first 10 ASCII bytes of the lowercase hex
/// SHA-256 of `"{type}:{timestamp}:{entity}"`.
pub fn backfill_event_id(event_type: &str, timestamp: &str, entity: &str, ms: u64) -> String {
    let mut h = Sha256::new();
    h.update(event_type.as_bytes());
    h.update(b":");
    h.update(timestamp.as_bytes());
    h.update(b":");
    h.update(entity.as_bytes());
    let digest = h.finalize();
    let mut hex = [0u8; 10];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in 0..5 {
        hex[2 * i] = HEX[(digest[i] >> 4) as usize];
        hex[2 * i + 1] = HEX[(digest[i] & 15) as usize];
    }
    let mut entropy: u128 = 0;
    for b in hex {
        entropy = (entropy << 8) | b as u128;
    }
    prefixed("evt_", ms, entropy)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn daemon_ids_follow_the_hostname() {
        // computed independently from the rule (SHA-256, Crockford base32, 12 chars)
        assert_eq!(daemon_id("build-01.ci.internal"), "d_xtkd3cd83rwv");
        assert_eq!(daemon_id("mbp-alice.local"), "d_pkd6rjqjr0nf");
        assert_eq!(daemon_id(""), "d_werc8gmrzge1");
    }
    #[test]
    fn ulid_roundtrip_and_order() {
        let a = ulid(1_767_225_600_000, 5);
        let b = ulid(1_767_225_600_001, 0);
        assert_eq!(a.len(), 26);
        assert!(a < b);
        assert_eq!(parse_ulid(&a), Some((1_767_225_600_000, 5)));
        assert_eq!(ulid(0, 0), "00000000000000000000000000");
        assert_eq!(ulid((1 << 48) - 1, (1 << 80) - 1), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        assert!(parse_ulid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ").is_none());
    }
    #[test]
    fn shard_names() {
        assert_eq!(shard_name("agent:reviewer:ABC"), "reviewer_ABC");
        assert_eq!(shard_name("user:alice"), "user_alice");
        assert_eq!(shard_name("coordinator_main"), "coordinator_main");
    }
    #[test]
    fn backfill_uses_hex_ascii_bytes() {
        let id =
            backfill_event_id("agent.register", "2026-01-01T00:00:00Z", "a", 1_767_225_600_000);
        let (ms, ent) = parse_ulid(&id[4..]).unwrap();
        assert_eq!(ms, 1_767_225_600_000);
        let bytes = ent.to_be_bytes();
        // the 10 entropy bytes are ASCII hex digits
        assert!(bytes[6..].iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
