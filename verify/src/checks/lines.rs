//! The checks of one event line on its own: envelope, canonical form,
//! placement; and the findings of duplicate ids and shard ownership that
//! the streamed reader resolves from its records.

use super::Mode;
use crate::findings::{Finding, Kind};
use crate::util::is_utc_timestamp;
use thrum_schemas::events::{is_message_event, Envelope, Event, Payload};
use thrum_schemas::ids::{is_prefixed_ulid, shard_name};

pub(super) fn is_daemon_id(s: &str) -> bool {
    s.strip_prefix("d_").is_some_and(|r| {
        r.len() == 12 && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Where two strings first differ, with a little context from each.
pub fn first_difference(expected: &str, actual: &str, labels: (&str, &str)) -> String {
    let pos = expected
        .bytes()
        .zip(actual.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    let ctx = |s: &str| {
        let mut start = pos.saturating_sub(20);
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (pos + 20).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        s[start..end].to_string()
    };
    format!(
        "first difference at byte {pos}: {} …{}…, {} …{}…",
        labels.0,
        ctx(expected),
        labels.1,
        ctx(actual)
    )
}

/// Where a per-event finding goes among the findings of
/// its event: envelope checks of `type`, `timestamp` and `event_id` come
/// first, then the duplicate id, then the other envelope fields, the
/// canonical form and the placement, then shard ownership.
pub const SLOT_ENVELOPE: u8 = 0;
/// Slot of the duplicate-id finding.
pub const SLOT_DUPLICATE: u8 = 1;
/// Slot of the other envelope fields, the canonical form and the placement.
pub const SLOT_REST: u8 = 2;
/// Slot of shard ownership.
pub const SLOT_SHARD: u8 = 3;

/// The checks of one event line that need nothing but the line itself:
/// envelope, canonical form and placement (every check of a line but
/// duplicate ids, shard ownership and sequences), with their slots.
pub fn line_checks(
    rel: &str,
    line: u64,
    shard: Option<&str>,
    text: &str,
    event: &Event,
    mode: Mode,
    out: &mut Vec<(u8, Finding)>,
) {
    let env = &event.envelope;
    let id = env.event_id.as_deref().unwrap_or("");
    let key = || format!("event_id={id}");
    let inv = |col: &str, msg: String, found: String| {
        Finding::new(Kind::EventEnvelopeInvalid, msg)
            .key(key())
            .column(col)
            .actual(found)
            .at(rel, line)
    };
    envelope_checks(env, &inv, out);
    if mode == Mode::Fixture {
        origin_checks(env, &inv, out);
    }
    // an event of a type the format defines, decoded without its `raw` map,
    // is of a line `plainly_canonical` accepted (`crate::jsonl::decode_event`):
    // only the others are re-encoded
    let proven = event.raw.is_empty() && !matches!(event.payload, Payload::Unknown);
    let canonical = (!proven)
        .then(|| crate::gojson::canonical_object(&event.raw, text.len()))
        .filter(|c| c != text);
    if let Some(canonical) = canonical {
        out.push((
            SLOT_REST,
            Finding::new(
                Kind::EventNotCanonical,
                format!(
                    "line is not the daemon's canonical JSON (sorted keys, Go escaping); {}",
                    first_difference(&canonical, text, ("canonical", "line"))
                ),
            )
            .key(key())
            .at(rel, line),
        ));
    }
    match (shard, is_message_event(&env.event_type)) {
        (None, true) => out.push((
            SLOT_REST,
            Finding::new(
                Kind::EventMisplaced,
                format!("{} belongs in messages/, not events.jsonl", env.event_type),
            )
            .key(key())
            .at(rel, line),
        )),
        (Some(_), false) => out.push((
            SLOT_REST,
            Finding::new(
                Kind::EventMisplaced,
                format!("{:?} is not a message event and belongs in events.jsonl", env.event_type),
            )
            .key(key())
            .at(rel, line),
        )),
        _ => {}
    }
}

/// A finding of an envelope field: (column, message, value found).
type Invalid<'a> = dyn Fn(&str, String, String) -> Finding + 'a;

/// The envelope fields every event has: `type`, `timestamp`, `event_id`, `v`.
fn envelope_checks(env: &Envelope, inv: &Invalid<'_>, out: &mut Vec<(u8, Finding)>) {
    if env.event_type.is_empty() {
        out.push((SLOT_ENVELOPE, inv("type", "event has no type".into(), "\"\"".into())));
    }
    if !is_utc_timestamp(&env.timestamp) {
        out.push((
            SLOT_ENVELOPE,
            inv(
                "timestamp",
                "timestamp is not an RFC 3339 UTC time".into(),
                format!("{:?}", env.timestamp),
            ),
        ));
    }
    match env.event_id.as_deref() {
        None => out.push((
            SLOT_ENVELOPE,
            inv("event_id", "event has no event_id".into(), "absent".into()),
        )),
        Some(id) => {
            if !is_prefixed_ulid(id, "evt_") {
                out.push((
                    SLOT_ENVELOPE,
                    inv(
                        "event_id",
                        "event_id is not evt_ + a 26-character ULID".into(),
                        format!("{id:?}"),
                    ),
                ));
            }
        }
    }
    if env.v != Some(1) {
        out.push((
            SLOT_REST,
            inv("v", "v must be 1".into(), env.v.map_or("absent".into(), |v| v.to_string())),
        ));
    }
}

/// The envelope fields of a v13 daemon's event: `origin_daemon` and `sequence`.
fn origin_checks(env: &Envelope, inv: &Invalid<'_>, out: &mut Vec<(u8, Finding)>) {
    match env.origin_daemon.as_deref() {
        Some(d) if is_daemon_id(d) => {}
        Some(d) => out.push((
            SLOT_REST,
            inv(
                "origin_daemon",
                "origin_daemon is not d_ + 12 lowercase base32 characters".into(),
                format!("{d:?}"),
            ),
        )),
        None => out.push((
            SLOT_REST,
            inv("origin_daemon", "event has no origin_daemon".into(), "absent".into()),
        )),
    }
    match env.sequence {
        Some(i64::MAX) => out.push((
            SLOT_REST,
            inv(
                "sequence",
                "sequence is the largest 64-bit integer: no event can follow it".into(),
                i64::MAX.to_string(),
            ),
        )),
        Some(n) if n >= 1 => {}
        Some(n) => {
            out.push((SLOT_REST, inv("sequence", "sequence must be >= 1".into(), n.to_string())))
        }
        None => {
            out.push((SLOT_REST, inv("sequence", "event has no sequence".into(), "absent".into())))
        }
    }
}

/// The shard names a `message.create` allows its message's events in: its
/// agent's, and its real author's when it has one.
pub fn allowed_shards(m: &thrum_schemas::events::MessageCreate) -> Vec<String> {
    let mut allowed = vec![shard_name(&m.agent_id)];
    if let Some(a) = m.authored_by.as_deref().filter(|a| !a.is_empty()) {
        allowed.push(shard_name(a));
    }
    allowed
}

/// A message event in shard `s` whose message `mid` is authored elsewhere.
pub fn shard_mismatch(mid: &str, allowed: &[String], s: &str, event_id: &str) -> Finding {
    Finding::new(
        Kind::ShardMismatch,
        format!("message {mid} is authored by {}, but the event is in shard {s}", allowed[0]),
    )
    .key(format!("event_id={event_id}"))
    .values(format!("messages/{}.jsonl", allowed[0]), format!("messages/{s}.jsonl"))
}

/// The `event_id_duplicate` finding of a line whose id `id` is first used at
/// `first_rel:first_line`.
pub fn duplicate_id(id: &str, first_rel: &str, first_line: u64) -> Finding {
    Finding::new(
        Kind::EventIdDuplicate,
        format!("event_id already used at {first_rel}:{first_line}"),
    )
    .key(format!("event_id={id}"))
}
