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

/// A `mesh_checkpoint_invalid` finding of daemon `d`'s checkpoint row `key`.
fn invalid(d: &Daemon, key: &str, msg: String) -> Finding {
    Finding::new(Kind::MeshCheckpointInvalid, format!("{}: {msg}", d.label()))
        .table("sync_checkpoints")
        .key(key)
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
    let mesh = Mesh { daemons, conns, max_seq, converged };
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
            let Some(p) = peer.as_str().and_then(|p| by_id.get(p).copied()).filter(|&p| p != a)
            else {
                let why = "a checkpoint for a daemon that is not one of its peers in the mesh";
                findings.push(invalid(d, &key, why.into()));
                continue;
            };
            seen[p] = true;
            let (Some(seq), Some(at)) = (seq.as_int(), at.as_int()) else {
                findings.push(invalid(
                    d,
                    &key,
                    format!(
                        "last_synced_sequence {seq} and last_sync_timestamp {at} must be integers"
                    ),
                ));
                continue;
            };
            cps[a][p] = seq.max(0);
            mesh.check_row(d, &Row { p, seq, at, status: &status, key: &key }, findings);
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

/// What a checkpoint row is checked against: the daemons, their databases,
/// the last sequence of each one's log and whether the mesh has converged.
struct Mesh<'m> {
    daemons: &'m [Daemon],
    conns: &'m [Connection],
    max_seq: &'m [i64],
    converged: bool,
}

/// A checkpoint row with integer values, for the peer at index `p`.
struct Row<'r> {
    p: usize,
    seq: i64,
    at: i64,
    status: &'r Val,
    key: &'r str,
}

impl Mesh<'_> {
    /// The checkpoint `row` of daemon `d`: its status and signs, and its
    /// sequence and time against the peer's log.
    fn check_row(&self, d: &Daemon, row: &Row<'_>, findings: &mut Findings) {
        let (p, seq, at, key) = (row.p, row.seq, row.at, row.key);
        let bad = |msg: String| invalid(d, key, msg);
        let peer_label = self.daemons[p].label();
        let max_seq = self.max_seq[p];
        if row.status.as_str() != Some("idle") {
            findings.push(
                bad("sync_status of a stopped daemon after good pulls".into())
                    .column("sync_status")
                    .values("idle", row.status.to_string()),
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
        if seq > max_seq {
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
                .key(key)
                .column("last_synced_sequence")
                .values(format!("<= {max_seq}"), seq.to_string()),
            );
        } else if seq > 0 {
            // the pull came after the peer held the event at that sequence
            let t: Option<String> = self.conns[p]
                .query_row("SELECT timestamp FROM events WHERE sequence = ?1", [seq], |r| r.get(0))
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
        if self.converged && seq != max_seq && seq <= max_seq {
            findings.push(
                bad(format!(
                    "converged, yet the checkpoint for {peer_label} trails its log (a \
                    last pull would bring something)"
                ))
                .column("last_synced_sequence")
                .values(max_seq.to_string(), seq.to_string()),
            );
        }
    }
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
