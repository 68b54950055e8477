//! Checkpoints and `var/peers.json`: what each daemon records of its peers.

use super::Daemon;
use crate::checks::{self};
use crate::findings::{Finding, Findings, Kind};
use crate::value::Val;
use rusqlite::Connection;
use std::collections::HashMap;

/// `cps[a][p]`: daemon a's checkpoint for daemon p (0 when it has none).
pub(super) type Checkpoints = Vec<Vec<i64>>;

/// The unix second of an RFC 3339 timestamp (rounded down).
fn unix_second(s: &str) -> Option<i64> {
    crate::util::ts(s).map(|us| us.div_euclid(1_000_000))
}

/// The checkpoint rows of every daemon.
pub(super) fn check_checkpoints(
    daemons: &[Daemon],
    conns: &[Connection],
    max_seq: &[i64],
    converged: bool,
    findings: &mut Findings,
) -> rusqlite::Result<Checkpoints> {
    let n = daemons.len();
    let by_id: HashMap<&str, usize> =
        daemons.iter().enumerate().map(|(i, d)| (d.spec.daemon_id.as_str(), i)).collect();
    let mut cps = vec![vec![0i64; n]; n];
    for (a, d) in daemons.iter().enumerate() {
        let mut seen = vec![false; n];
        let mut st = conns[a].prepare(
            "SELECT peer_daemon_id, last_synced_sequence, last_sync_timestamp, sync_status FROM \
                sync_checkpoints ORDER BY peer_daemon_id",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let peer = Val::from_ref(r.get_ref(0)?);
            let (seq, at, status) = (
                Val::from_ref(r.get_ref(1)?),
                Val::from_ref(r.get_ref(2)?),
                Val::from_ref(r.get_ref(3)?),
            );
            let key = format!("peer_daemon_id={}", crate::value::plain(&peer));
            let bad = |msg: String| {
                Finding::new(Kind::MeshCheckpointInvalid, format!("{}: {msg}", d.label()))
                    .table("sync_checkpoints")
                    .key(key.clone())
            };
            let Some(p) = peer.as_str().and_then(|p| by_id.get(p).copied()).filter(|&p| p != a)
            else {
                findings.push(bad(
                    "a checkpoint for a daemon that is not one of its peers in the mesh".into(),
                ));
                continue;
            };
            seen[p] = true;
            let (Some(seq), Some(at)) = (seq.as_int(), at.as_int()) else {
                findings.push(bad(format!(
                    "last_synced_sequence {seq} and last_sync_timestamp {at} must be integers"
                )));
                continue;
            };
            cps[a][p] = seq.max(0);
            let peer_label = daemons[p].label();
            if status.as_str() != Some("idle") {
                findings.push(
                    bad("sync_status of a stopped daemon after good pulls".into())
                        .column("sync_status")
                        .values("idle", status.to_string()),
                );
            }
            if seq < 0 {
                findings.push(
                    bad("negative last_synced_sequence".into())
                        .column("last_synced_sequence")
                        .values(">= 0", seq.to_string()),
                );
            }
            if at < 0 {
                findings.push(
                    bad("negative last_sync_timestamp".into())
                        .column("last_sync_timestamp")
                        .values(">= 0", at.to_string()),
                );
            }
            if seq > max_seq[p] {
                findings.push(
                    Finding::new(
                        Kind::MeshCheckpointAhead,
                        format!(
                            "{}: the checkpoint for {peer_label} is beyond the last sequence \
                            of {peer_label}'s log",
                            d.label()
                        ),
                    )
                    .table("sync_checkpoints")
                    .key(key.clone())
                    .column("last_synced_sequence")
                    .values(format!("<= {}", max_seq[p]), seq.to_string()),
                );
            } else if seq > 0 {
                // the pull came after the peer held the event at that sequence
                let t: Option<String> = conns[p]
                    .query_row("SELECT timestamp FROM events WHERE sequence = ?1", [seq], |r| {
                        r.get(0)
                    })
                    .ok();
                if let Some(min) = t.as_deref().and_then(unix_second) {
                    if at < min {
                        findings.push(
                            bad(format!(
                                "last_sync_timestamp is before the event at sequence {seq} of \
                                    {peer_label} ({})",
                                t.unwrap_or_default()
                            ))
                            .column("last_sync_timestamp")
                            .values(format!(">= {min}"), at.to_string()),
                        );
                    }
                }
            }
            if converged && seq != max_seq[p] && seq <= max_seq[p] {
                findings.push(
                    bad(format!(
                        "converged, yet the checkpoint for {peer_label} trails its log (a \
                        last pull would bring something)"
                    ))
                    .column("last_synced_sequence")
                    .values(max_seq[p].to_string(), seq.to_string()),
                );
            }
        }
        for (p, s) in seen.iter().enumerate() {
            if !s && p != a {
                findings.push(
                    Finding::new(
                        Kind::MeshCheckpointInvalid,
                        format!("{}: no checkpoint for its peer {}", d.label(), daemons[p].label()),
                    )
                    .table("sync_checkpoints")
                    .key(format!("peer_daemon_id={}", daemons[p].spec.daemon_id)),
                );
            }
        }
    }
    Ok(cps)
}

/// `var/peers.json` of every daemon lists exactly the other daemons, each
/// once. Each entry's own form is checked with the daemon's other checks
/// ([`checks::check_peers`], as a single fixture's: `peers_invalid`).
pub(super) fn check_peers(daemons: &[Daemon], findings: &mut Findings) {
    for (a, d) in daemons.iter().enumerate() {
        let file = format!("{}/.thrum/var/peers.json", d.spec.dir);
        let bad = |msg: String| {
            Finding::new(Kind::MeshPeersInvalid, format!("{}: {msg}", d.label())).file(file.clone())
        };
        let bytes = match thrum_io::regular::read_regular_at_most(
            &d.tree.path("var/peers.json"),
            thrum_io::regular::DOCUMENT_MAX,
        ) {
            Ok(b) => b,
            Err(e) => {
                findings.push(bad(format!("var/peers.json cannot be read: {e}")));
                continue;
            }
        };
        // what is not a list of peers is reported by the daemon's own check
        let Ok((ids, _)) = checks::read_peers(&bytes) else { continue };
        let mut listed = vec![0usize; daemons.len()];
        for (i, id) in ids.iter().enumerate() {
            match daemons.iter().position(|x| x.spec.daemon_id == *id).filter(|&p| p != a) {
                Some(p) => listed[p] += 1,
                None => findings.push(bad(format!(
                    "entry {} names daemon_id {id:?}, which is not one of its peers in the mesh",
                    i + 1
                ))),
            }
        }
        for (p, n) in listed.iter().enumerate() {
            if p != a && *n != 1 {
                findings.push(bad(format!(
                    "lists its peer {} ({}) {n} times; expected once",
                    daemons[p].label(),
                    daemons[p].spec.daemon_id
                )));
            }
        }
    }
}
