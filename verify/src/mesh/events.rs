//! The events of every daemon, merged by `event_id`, and each origin's
//! order on every daemon.

use super::checkpoints::Checkpoints;
use super::Daemon;
use crate::checks::{daemon_id_of, first_difference};
use crate::findings::{Finding, Findings, Kind};
use crate::value::Val;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::Value;

/// The head of one daemon's cursor over `events` by `event_id`; its strings
/// are refilled in place as the cursor moves (no allocation per event).
#[derive(Default)]
struct Head {
    id: String,
    seq: i64,
    origin: String,
    json: String,
    kind: String,
}

/// `buf` holds the text of `v`, or nothing when it is not valid UTF-8 text.
fn set_text(buf: &mut String, v: ValueRef<'_>) {
    buf.clear();
    if let ValueRef::Text(t) = v {
        if let Ok(t) = std::str::from_utf8(t) {
            buf.push_str(t);
        }
    }
}

/// Moves daemon `i`'s cursor to its next event, into `slot` (`None` at the end).
fn advance(rows: &mut rusqlite::Rows<'_>, slot: &mut Option<Head>) -> rusqlite::Result<()> {
    let Some(r) = rows.next()? else {
        *slot = None;
        return Ok(());
    };
    let h = slot.get_or_insert_with(Head::default);
    set_text(&mut h.kind, r.get_ref(4)?);
    set_text(&mut h.id, r.get_ref(0)?);
    h.seq = match r.get_ref(1)? {
        ValueRef::Integer(i) => i,
        _ => 0,
    };
    set_text(&mut h.origin, r.get_ref(2)?);
    set_text(&mut h.json, r.get_ref(3)?);
    Ok(())
}

/// The event JSON without its `sequence` (the only member a pull changes).
fn without_sequence(json: &str) -> std::borrow::Cow<'_, str> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(mut m)) => {
            m.remove("sequence");
            std::borrow::Cow::Owned(Value::Object(m).to_string())
        }
        _ => std::borrow::Cow::Borrowed(json),
    }
}

/// Where the value of the first `sequence` member of the outermost object
/// or array of `json` starts and ends (its run of number characters); read
/// by bytes, right only for valid JSON.
fn sequence_value(json: &str) -> Option<(usize, usize)> {
    const KEY: &[u8] = b"\"sequence\":";
    let b = json.as_bytes();
    let (mut depth, mut i) = (0u32, 0);
    while i < b.len() {
        match b[i] {
            b'"' if depth == 1 && b[i..].starts_with(KEY) => {
                let start = i + KEY.len();
                let run = b[start..]
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                return Some((start, start + run));
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A JSON integer of at most 18 digits (an `i64`, whatever its value).
fn is_small_int(t: &[u8]) -> bool {
    let digits = t.strip_prefix(b"-").unwrap_or(t);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
}

/// Whether `b` is `a` with another integer as the value of its top-level
/// `sequence` member, `a` being a JSON object (so that both have the same
/// JSON without `sequence`, [`without_sequence`], without parsing `b`).
fn same_but_sequence(a: &str, b: &str) -> bool {
    let Some((start, end)) = sequence_value(a) else { return false };
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let tail = &a[end..];
    let Some(b_end) = b.len().checked_sub(tail.len()).filter(|&e| e >= start) else {
        return false;
    };
    a[..start] == b[..start]
        && b[b_end..] == *tail
        && is_small_int(&a[start..end])
        && is_small_int(&b[start..b_end])
}

/// The id of a cursor's head.
fn id_of(h: &Option<Head>) -> Option<&str> {
    h.as_ref().map(|h| h.id.as_str())
}

/// The events of every daemon, merged by `event_id`: same JSON but
/// `sequence`, origins, checkpoint coverage and explanation, presence
/// everywhere when converged. Returns the number of distinct ids and the
/// events held per daemon.
pub(super) fn check_events(
    daemons: &[Daemon],
    conns: &[Connection],
    cps: &Checkpoints,
    converged: bool,
    findings: &mut Findings,
) -> rusqlite::Result<(u64, Vec<u64>)> {
    let n = daemons.len();
    let mesh = Mesh { daemons, cps, converged };
    let mut stmts = conns
        .iter()
        .map(|c| {
            c.prepare(
                "SELECT event_id, sequence, origin_daemon, event_json, type FROM \
            events ORDER BY event_id COLLATE BINARY",
            )
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut rows = stmts.iter_mut().map(|s| s.query([])).collect::<rusqlite::Result<Vec<_>>>()?;
    let mut heads: Vec<Option<Head>> = (0..n).map(|_| None).collect();
    for (r, h) in rows.iter_mut().zip(heads.iter_mut()) {
        advance(r, h)?;
    }
    let (mut distinct, mut held) = (0u64, vec![0u64; n]);
    let mut holders: Vec<usize> = Vec::with_capacity(n);
    // the lowest id of the heads, first held by the daemon of the lowest index
    while let Some(first) = (0..n).filter(|&i| heads[i].is_some()).min_by_key(|&i| id_of(&heads[i]))
    {
        distinct += 1;
        let id = id_of(&heads[first]);
        holders.clear();
        holders.extend((first..n).filter(|&i| id_of(&heads[i]) == id));
        if let Some(h) = heads[first].as_ref() {
            let event = Event {
                id: &h.id,
                holders: &holders,
                origin: &h.origin,
                kind: &h.kind,
                json: &h.json,
            };
            mesh.same_json(&event, &heads, findings);
            let o = mesh.origin(&event, findings);
            mesh.presence(&event, o, &heads, findings);
        }
        for &i in &holders {
            held[i] += 1;
            advance(&mut rows[i], &mut heads[i])?;
        }
    }
    Ok((distinct, held))
}

/// What the checks of one event read of the mesh.
struct Mesh<'a> {
    daemons: &'a [Daemon],
    cps: &'a Checkpoints,
    converged: bool,
}

/// One event id as its first holder has it.
struct Event<'a> {
    id: &'a str,
    /// The daemons holding it, in index order.
    holders: &'a [usize],
    origin: &'a str,
    kind: &'a str,
    json: &'a str,
}

impl Event<'_> {
    /// The key of its findings.
    fn key(&self) -> String {
        format!("event_id={}", self.id)
    }
}

impl Mesh<'_> {
    /// The same JSON on every holder, except `sequence`. The first holder's
    /// JSON is parsed once (is it an object?); both are re-encoded without
    /// `sequence` only when another's is more than that JSON with another
    /// sequence (or another origin).
    fn same_json(&self, e: &Event, heads: &[Option<Head>], findings: &mut Findings) {
        let daemons = self.daemons;
        let first = e.holders[0];
        let (mut object, mut stripped0) = (None, None);
        for &i in &e.holders[1..] {
            let Some(h) = heads[i].as_ref() else { continue };
            if h.origin == e.origin {
                if h.json == e.json {
                    continue;
                }
                let object = *object.get_or_insert_with(|| {
                    matches!(serde_json::from_str::<Value>(e.json), Ok(Value::Object(_)))
                });
                if object && same_but_sequence(e.json, &h.json) {
                    continue;
                }
            }
            let stripped0: &str =
                stripped0.get_or_insert_with(|| without_sequence(e.json).into_owned());
            let s = without_sequence(&h.json);
            if s != stripped0 || h.origin != e.origin {
                let (l0, l1) = (daemons[first].label(), daemons[i].label());
                let diff = first_difference(stripped0, &s, (&l0, &l1));
                let what = format!(
                    "{l0} and {l1} hold different JSON for this event (beyond its \
                    sequence): {diff}"
                );
                findings
                    .push(Finding::new(Kind::MeshEventDiffers, what).table("events").key(e.key()));
            }
        }
    }

    /// Its origin is a daemon of the mesh (returned); a registration comes
    /// from its host's daemon.
    fn origin(&self, e: &Event, findings: &mut Findings) -> Option<usize> {
        let origin = e.origin;
        // the last daemon of that id, should mesh.json name it twice
        let o = self.daemons.iter().rposition(|d| d.spec.daemon_id == origin);
        if o.is_none() {
            let what = format!(
                "origin_daemon {origin:?} is no daemon of the mesh (held by {})",
                labels(self.daemons, e.holders)
            );
            findings.push(Finding::new(Kind::MeshOriginWrong, what).table("events").key(e.key()));
        }
        if e.kind == "agent.register" {
            let host = serde_json::from_str::<Value>(e.json)
                .ok()
                .and_then(|v| v.get("hostname").and_then(Value::as_str).map(str::to_owned));
            if let Some(h) = host.filter(|h| !h.is_empty()) {
                let want = daemon_id_of(&h);
                if want != origin {
                    let what = format!(
                        "agent.register of an agent on host {h:?} written by \
                        another daemon than that host's"
                    );
                    findings.push(
                        Finding::new(Kind::MeshOriginWrong, what)
                            .table("events")
                            .key(e.key())
                            .column("origin_daemon")
                            .values(want, origin.to_string()),
                    );
                }
            }
        }
        o
    }

    /// Every daemon that lacks it is allowed to (not converged, not below
    /// its checkpoint for a holder); every remote copy was pulled from a
    /// peer at or below the checkpoint for that peer.
    fn presence(
        &self,
        e: &Event,
        o: Option<usize>,
        heads: &[Option<Head>],
        findings: &mut Findings,
    ) {
        let (daemons, cps, kind0) = (self.daemons, self.cps, e.kind);
        let seq_of = |i: usize| heads[i].as_ref().map_or(0, |h| h.seq);
        let event =
            |kind: Kind, what: String| Finding::new(kind, what).table("events").key(e.key());
        for a in 0..daemons.len() {
            let la = daemons[a].label();
            if !e.holders.contains(&a) {
                if self.converged {
                    findings.push(event(
                        Kind::MeshEventMissing,
                        format!("converged, yet {la} lacks an event the others hold ({kind0})"),
                    ));
                }
                // a peer's event at or below the checkpoint for that peer
                for &p in e.holders.iter().filter(|&&p| seq_of(p) <= cps[a][p]) {
                    let what = format!(
                        "{la} lacks this {kind0} event, which {} holds at sequence {}, at or \
                            below {la}'s checkpoint {} for it",
                        daemons[p].label(),
                        seq_of(p),
                        cps[a][p]
                    );
                    findings.push(event(Kind::MeshCheckpointGap, what));
                }
            } else if o != Some(a) {
                // a remote event: pulled from a peer at or below its checkpoint
                let explained = e.holders.iter().any(|&p| p != a && seq_of(p) <= cps[a][p]);
                if !explained {
                    let what = format!(
                        "{la} holds this remote {kind0} event (sequence {}), yet no peer holds it \
                            at or below {la}'s checkpoint for that peer",
                        seq_of(a)
                    );
                    findings.push(event(Kind::MeshEventUnexplained, what));
                }
            }
        }
    }
}

pub(super) fn labels(daemons: &[Daemon], which: &[usize]) -> String {
    which.iter().map(|&i| daemons[i].label()).collect::<Vec<_>>().join(", ")
}

/// On every daemon, the events of each origin are the first events of that
/// origin's own log, in its order (pulls keep the peer's order and skip
/// only what is already held).
pub(super) fn check_origin_order(
    daemons: &[Daemon],
    conns: &[Connection],
    findings: &mut Findings,
) -> rusqlite::Result<()> {
    const SQL: &str = "SELECT event_id FROM events WHERE origin_daemon = ?1 ORDER BY sequence";
    for (x, dx) in daemons.iter().enumerate() {
        for (a, da) in daemons.iter().enumerate() {
            if a == x {
                continue;
            }
            let mut sx = conns[x].prepare(SQL)?;
            let mut sa = conns[a].prepare(SQL)?;
            let mut rx = sx.query([&dx.spec.daemon_id])?;
            let mut ra = sa.query([&dx.spec.daemon_id])?;
            let mut k = 0u64;
            let (mut got, mut want) = (Val::Null, Val::Null);
            while let Some(r) = ra.next()? {
                k += 1;
                got.set_from_ref(r.get_ref(0)?);
                match rx.next()? {
                    Some(w) => want.set_from_ref(w.get_ref(0)?),
                    None => want = Val::Null,
                }
                if got != want {
                    findings.push(
                        Finding::new(
                            Kind::MeshOriginOrder,
                            format!(
                                "the events of {} ({}) on {} are not the first events of {}'s own \
                                    log in its order: the {k}th differs",
                                dx.label(),
                                dx.spec.daemon_id,
                                da.label(),
                                dx.label()
                            ),
                        )
                        .table("events")
                        .values(
                            format!("{} (from {}'s log)", crate::value::plain(&want), dx.label()),
                            crate::value::plain(&got),
                        ),
                    );
                    break;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"{"event_id":"evt_1","origin_daemon":"d_a","sequence":12,"type":"x","v":1}"#;

    #[test]
    fn only_another_top_level_integer_sequence_is_taken_without_parsing() {
        let b = A.replace(":12,", ":7,");
        assert!(same_but_sequence(A, &b));
        assert!(same_but_sequence(A, &A.replace(":12,", ":-3,")));
        assert!(same_but_sequence(A, A));
        // anything else is left to the parse: another member, a non-integer,
        // a leading zero, spaces, too many digits, a nested or quoted sequence
        for other in [
            A.replace(":12,", ":12.0,"),
            A.replace(":12,", ":012,"),
            A.replace(":12,", ": 12,"),
            A.replace(":12,", ":1234567890123456789,"),
            A.replace(":12,", ":\"12\","),
            A.replace("\"v\":1", "\"v\":2"),
            A.replace(":12,", ":12,\"w\":0,"),
        ] {
            assert!(!same_but_sequence(A, &other), "{other}");
        }
        let nested = r#"{"data":{"sequence":1},"v":1}"#;
        assert_eq!(sequence_value(nested), None);
        assert!(!same_but_sequence(nested, &nested.replace(":1}", ":2}")));
        let quoted = r#"{"a":"\"sequence\":1","sequence":5}"#;
        assert_eq!(sequence_value(quoted), Some((quoted.len() - 2, quoted.len() - 1)));
        assert!(same_but_sequence(quoted, &quoted.replace(":5}", ":6}")));
        assert!(!same_but_sequence(quoted, &quoted.replace(":1\"", ":2\"")));
    }

    #[test]
    fn what_is_taken_without_parsing_has_the_same_json_without_sequence() {
        let others = [A.replace(":12,", ":7,"), A.replace(":12,", ":-0,"), A.to_string()];
        for b in &others {
            assert!(same_but_sequence(A, b));
            assert_eq!(without_sequence(A), without_sequence(b), "{b}");
        }
        assert_ne!(without_sequence(A), without_sequence(&A.replace("\"v\":1", "\"v\":2")));
    }
}
