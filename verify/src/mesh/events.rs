//! The events of every daemon, merged by `event_id`, and each origin's
//! order on every daemon.

use super::checkpoints::Checkpoints;
use super::Daemon;
use crate::checks::{daemon_id_of, first_difference};
use crate::findings::{Finding, Findings, Kind};
use crate::value::Val;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::HashMap;

/// The head of one daemon's cursor over `events` by `event_id`.
struct Head {
    id: String,
    seq: i64,
    origin: String,
    json: String,
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
    let by_id: HashMap<&str, usize> =
        daemons.iter().enumerate().map(|(i, d)| (d.spec.daemon_id.as_str(), i)).collect();
    let mesh = Mesh { daemons, cps, converged, by_id };
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
    let mut kinds: Vec<String> = vec![String::new(); n];
    let next = |i: usize,
                rows: &mut Vec<rusqlite::Rows<'_>>,
                kinds: &mut Vec<String>|
     -> rusqlite::Result<Option<Head>> {
        let Some(r) = rows[i].next()? else { return Ok(None) };
        let text = |k: usize| -> rusqlite::Result<String> {
            Ok(Val::from_ref(r.get_ref(k)?).as_str().unwrap_or("").to_owned())
        };
        kinds[i] = text(4)?;
        Ok(Some(Head {
            id: text(0)?,
            seq: Val::from_ref(r.get_ref(1)?).as_int().unwrap_or(0),
            origin: text(2)?,
            json: text(3)?,
        }))
    };
    let mut heads: Vec<Option<Head>> = Vec::with_capacity(n);
    for i in 0..n {
        heads.push(next(i, &mut rows, &mut kinds)?);
    }
    let (mut distinct, mut held) = (0u64, vec![0u64; n]);
    while let Some(id) = heads.iter().flatten().map(|h| h.id.as_str()).min().map(str::to_owned) {
        distinct += 1;
        let holders: Vec<usize> =
            (0..n).filter(|&i| heads[i].as_ref().is_some_and(|h| h.id == id)).collect();
        let first = holders[0];
        let (origin, json) =
            heads[first].as_ref().map(|h| (h.origin.clone(), h.json.clone())).unwrap_or_default();
        let event = Event {
            key: format!("event_id={id}"),
            holders: &holders,
            origin: &origin,
            kind: &kinds[first],
            json: &json,
        };
        mesh.same_json(&event, &heads, findings);
        let o = mesh.origin(&event, findings);
        mesh.presence(&event, o, &heads, findings);
        for &i in &holders {
            held[i] += 1;
            heads[i] = next(i, &mut rows, &mut kinds)?;
        }
    }
    Ok((distinct, held))
}

/// What the checks of one event read of the mesh.
struct Mesh<'a> {
    daemons: &'a [Daemon],
    cps: &'a Checkpoints,
    converged: bool,
    by_id: HashMap<&'a str, usize>,
}

/// One event id as its first holder has it.
struct Event<'a> {
    key: String,
    /// The daemons holding it, in index order.
    holders: &'a [usize],
    origin: &'a str,
    kind: &'a str,
    json: &'a str,
}

impl Mesh<'_> {
    /// The same JSON on every holder, except `sequence`.
    fn same_json(&self, e: &Event, heads: &[Option<Head>], findings: &mut Findings) {
        let daemons = self.daemons;
        let first = e.holders[0];
        let stripped0 = without_sequence(e.json).into_owned();
        for &i in &e.holders[1..] {
            let Some(h) = heads[i].as_ref() else { continue };
            let s = without_sequence(&h.json);
            if s != stripped0 || h.origin != e.origin {
                let (l0, l1) = (daemons[first].label(), daemons[i].label());
                let diff = first_difference(&stripped0, &s, (&l0, &l1));
                let what = format!(
                    "{l0} and {l1} hold different JSON for this event (beyond its \
                    sequence): {diff}"
                );
                findings.push(
                    Finding::new(Kind::MeshEventDiffers, what).table("events").key(e.key.clone()),
                );
            }
        }
    }

    /// Its origin is a daemon of the mesh (returned); a registration comes
    /// from its host's daemon.
    fn origin(&self, e: &Event, findings: &mut Findings) -> Option<usize> {
        let origin = e.origin;
        let o = self.by_id.get(origin).copied();
        if o.is_none() {
            let what = format!(
                "origin_daemon {origin:?} is no daemon of the mesh (held by {})",
                labels(self.daemons, e.holders)
            );
            findings
                .push(Finding::new(Kind::MeshOriginWrong, what).table("events").key(e.key.clone()));
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
                            .key(e.key.clone())
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
            |kind: Kind, what: String| Finding::new(kind, what).table("events").key(e.key.clone());
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
            while let Some(r) = ra.next()? {
                k += 1;
                let got = Val::from_ref(r.get_ref(0)?);
                let want = match rx.next()? {
                    Some(w) => Val::from_ref(w.get_ref(0)?),
                    None => Val::Null,
                };
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
