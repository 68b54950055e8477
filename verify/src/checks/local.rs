//! References and plausibility of the local-only tables (`message_reads`,
//! `subscriptions`, the sync tables).

use crate::compare::TableStats;
use crate::findings::{Finding, Findings, Kind};
use crate::util::ts;
use crate::value::{for_each_row, plain, Val};
use rusqlite::Connection;
use std::collections::HashSet;

/// The number of rows of `table`.
fn count(db: &Connection, table: &str) -> rusqlite::Result<u64> {
    db.query_row(&format!("SELECT count(*) FROM {}", crate::value::quote_ident(table)), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

/// One local table checked: its stats, the findings of its rows, and
/// whether it was read to the end.
struct Checked {
    table: &'static str,
    read: rusqlite::Result<()>,
    buf: Findings,
    st: TableStats,
}

/// References and plausibility of the local-only tables. Rows are read one
/// at a time; a table that cannot be read to the end is reported
/// `table_unreadable` instead of its rows' findings.
pub fn check_local(
    db: &Connection,
    cleaned_agents: &HashSet<String>,
    findings: &mut Findings,
) -> Vec<TableStats> {
    let mut out = Vec::new();
    // one table at a time: its findings are kept only until it is closed
    close(check_reads(db, cleaned_agents), findings, &mut out);
    close(check_subscriptions(db), findings, &mut out);
    close(check_tags(db, "session_scopes", "scope_type", "scope_value"), findings, &mut out);
    close(check_tags(db, "session_refs", "ref_type", "ref_value"), findings, &mut out);
    close(check_checkpoints(db), findings, &mut out);
    out
}

/// A table read to the end gives its findings and stats; one that could
/// not be read gives only `table_unreadable`.
fn close(
    Checked { table, read, buf, st }: Checked,
    findings: &mut Findings,
    out: &mut Vec<TableStats>,
) {
    match read {
        Ok(()) => {
            findings.append(buf);
            out.push(st);
        }
        Err(e) => {
            findings.push(
                Finding::new(Kind::TableUnreadable, format!("cannot check references: {e}"))
                    .table(table),
            );
            let mut st = TableStats::new(table, "local");
            st.other = 1;
            out.push(st);
        }
    }
}

/// `message_reads`: the message, session and agent exist, the agent is the
/// session's, and the read falls after the message and within the session.
fn check_reads(db: &Connection, cleaned_agents: &HashSet<String>) -> Checked {
    let mut st = TableStats::new("message_reads", "local");
    let counted = count(db, "message_reads").map(|n| st.rows_db = n);
    let mut buf = Findings::new(0);
    let read = for_each_row(
        db,
        "SELECT r.message_id, r.session_id, r.agent_id, r.read_at, m.created_at, s.agent_id, \
            s.started_at, s.ended_at, \
         m.message_id IS NOT NULL, s.session_id IS NOT NULL, EXISTS(SELECT 1 FROM agents a WHERE \
         a.agent_id = r.agent_id) \
         FROM message_reads r LEFT JOIN messages m ON m.message_id = r.message_id LEFT JOIN \
         sessions s ON s.session_id = r.session_id \
         ORDER BY r.message_id, r.session_id",
        |r| {
            let key = || format!("message_id={}, session_id={}", plain(&r[0]), plain(&r[1]));
            let mut bad = false;
            let mut push = |f: Finding| {
                bad = true;
                buf.push(f.table("message_reads").key(key()));
            };
            let has_msg = r[8] == Val::Int(1);
            let has_ses = r[9] == Val::Int(1);
            if !has_msg {
                push(
                    Finding::new(Kind::DanglingReference, "read of a message that does not exist")
                        .column("message_id"),
                );
            }
            if !has_ses {
                push(
                    Finding::new(Kind::DanglingReference, "read by a session that does not exist")
                        .column("session_id"),
                );
            }
            let agent = plain(&r[2]);
            if r[10] != Val::Int(1) && !cleaned_agents.contains(&agent) {
                push(
                    Finding::new(Kind::DanglingReference, "read by an agent that does not exist")
                        .column("agent_id"),
                );
            }
            if has_ses && r[5] != r[2] {
                push(
                    Finding::new(
                        Kind::ReferenceMismatch,
                        "the read's agent is not the reading \
                        session's agent",
                    )
                    .column("agent_id")
                    .values(r[5].to_string(), r[2].to_string()),
                );
            }
            let read = r[3].as_str().and_then(ts);
            match read {
                None => push(
                    Finding::new(Kind::TimestampInvalid, "read_at is not an RFC 3339 timestamp")
                        .column("read_at")
                        .actual(r[3].to_string()),
                ),
                Some(read) => {
                    if let Some(created) = r[4].as_str().and_then(ts) {
                        if read < created {
                            push(
                                Finding::new(
                                    Kind::ReadBeforeMessage,
                                    "message read before it was \
                                    created",
                                )
                                .column("read_at")
                                .values(format!(">= created_at {}", r[4]), r[3].to_string()),
                            );
                        }
                    }
                    let started = r[6].as_str().and_then(ts);
                    let ended = r[7].as_str().and_then(ts);
                    if has_ses
                        && (started.is_some_and(|s| read < s) || ended.is_some_and(|e| read > e))
                    {
                        push(
                            Finding::new(
                                Kind::ReadOutsideSession,
                                "read recorded outside the \
                                reading session's lifetime",
                            )
                            .column("read_at")
                            .values(
                                format!("between started_at {} and ended_at {}", r[6], r[7]),
                                r[3].to_string(),
                            ),
                        );
                    }
                }
            }
            if bad {
                st.other += 1;
            }
        },
    );
    Checked { table: "message_reads", read: counted.and(read), buf, st }
}

/// `subscriptions`: the session exists, the shape is one of three, the time parses.
fn check_subscriptions(db: &Connection) -> Checked {
    let mut st = TableStats::new("subscriptions", "local");
    let counted = count(db, "subscriptions").map(|n| st.rows_db = n);
    let mut buf = Findings::new(0);
    let read = for_each_row(
        db,
        "SELECT x.id, x.session_id, x.scope_type, x.scope_value, x.mention_role, x.created_at, \
         EXISTS(SELECT 1 FROM sessions s WHERE s.session_id = x.session_id) FROM subscriptions x \
         ORDER BY x.id",
        |r| {
            let key = || format!("id={} (session_id={})", plain(&r[0]), plain(&r[1]));
            let mut bad = false;
            let mut push = |f: Finding| {
                bad = true;
                buf.push(f.table("subscriptions").key(key()));
            };
            if r[6] != Val::Int(1) {
                push(
                    Finding::new(
                        Kind::DanglingReference,
                        "subscription of a session that does \
                    not exist",
                    )
                    .column("session_id"),
                );
            }
            let set = |v: &Val| !v.is_null();
            let shape_ok = matches!(
                (set(&r[2]), set(&r[3]), set(&r[4])),
                (true, true, false) | (false, false, true) | (false, false, false)
            );
            if !shape_ok {
                push(
                    Finding::new(
                        Kind::SubscriptionShapeInvalid,
                        "expected scope (type+value), \
                        mention (role) or all (all NULL)",
                    )
                    .actual(format!(
                        "scope_type={}, scope_value={}, mention_role={}",
                        r[2], r[3], r[4]
                    )),
                );
            }
            if r[5].as_str().and_then(ts).is_none() {
                push(
                    Finding::new(Kind::TimestampInvalid, "created_at is not an RFC 3339 timestamp")
                        .column("created_at")
                        .actual(r[5].to_string()),
                );
            }
            if bad {
                st.other += 1;
            }
        },
    );
    Checked { table: "subscriptions", read: counted.and(read), buf, st }
}

/// `session_scopes` or `session_refs` (`table`, its columns `a` and `b`):
/// the session exists and the time parses.
fn check_tags(db: &Connection, table: &'static str, a: &str, b: &str) -> Checked {
    let mut st = TableStats::new(table, "local");
    let counted = count(db, table).map(|n| st.rows_db = n);
    let sql = format!(
        "SELECT x.session_id, x.{a}, x.{b}, x.added_at, EXISTS(SELECT 1 FROM sessions s WHERE \
            s.session_id = x.session_id) FROM {table} x ORDER BY 1, 2, 3"
    );
    let mut buf = Findings::new(0);
    let read = for_each_row(db, &sql, |r| {
        let key =
            || format!("session_id={}, {a}={}, {b}={}", plain(&r[0]), plain(&r[1]), plain(&r[2]));
        let mut bad = false;
        if r[4] != Val::Int(1) {
            bad = true;
            buf.push(
                Finding::new(Kind::DanglingReference, "row of a session that does not exist")
                    .table(table)
                    .key(key())
                    .column("session_id"),
            );
        }
        if r[3].as_str().and_then(ts).is_none() {
            bad = true;
            buf.push(
                Finding::new(Kind::TimestampInvalid, "added_at is not an RFC 3339 timestamp")
                    .table(table)
                    .key(key())
                    .column("added_at")
                    .actual(r[3].to_string()),
            );
        }
        if bad {
            st.other += 1;
        }
    });
    Checked { table, read: counted.and(read), buf, st }
}

/// `sync_checkpoints`: no checkpoint beyond the last sequence; times are
/// integer seconds.
fn check_checkpoints(db: &Connection) -> Checked {
    let mut st = TableStats::new("sync_checkpoints", "local");
    let counted = count(db, "sync_checkpoints").map(|n| st.rows_db = n);
    // the highest sequence bounds the checkpoints: without it they are not checked
    let max_seq =
        db.query_row("SELECT coalesce(max(sequence), 0) FROM events", [], |r| r.get::<_, i64>(0));
    let mut buf = Findings::new(0);
    let read = counted.and(max_seq).and_then(|max_seq| {
        for_each_row(
            db,
            "SELECT peer_daemon_id, \
        last_synced_sequence, last_sync_timestamp, typeof(last_sync_timestamp) FROM \
        sync_checkpoints ORDER BY 1",
            |r| {
                let key = || format!("peer_daemon_id={}", plain(&r[0]));
                let mut bad = false;
                match r[1].as_int() {
                    Some(n) if n <= max_seq && n >= 0 => {}
                    _ => {
                        bad = true;
                        buf.push(
                            Finding::new(
                                Kind::CheckpointAhead,
                                "last_synced_sequence is beyond the last \
                        event sequence",
                            )
                            .table("sync_checkpoints")
                            .key(key())
                            .column("last_synced_sequence")
                            .values(format!("0..={max_seq}"), r[1].to_string()),
                        );
                    }
                }
                if r[3].as_str() != Some("integer") {
                    bad = true;
                    buf.push(
                        Finding::new(
                            Kind::TimestampInvalid,
                            "last_sync_timestamp is not integer unix \
                    seconds",
                        )
                        .table("sync_checkpoints")
                        .key(key())
                        .column("last_sync_timestamp")
                        .actual(r[2].to_string()),
                    );
                }
                if bad {
                    st.other += 1;
                }
            },
        )
    });
    Checked { table: "sync_checkpoints", read, buf, st }
}

/// A problem of one `var/peers.json`: what is wrong, and optionally the
/// expected and the found value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerProblem {
    /// What is wrong.
    pub message: String,
    /// The value expected, when one is.
    pub expected: Option<String>,
    /// The value found (its JSON text, or `absent`).
    pub actual: Option<String>,
}

impl PeerProblem {
    fn new(message: String) -> PeerProblem {
        PeerProblem { message, expected: None, actual: None }
    }
    /// The finding of `kind` this problem is, in the file `file`.
    pub fn finding(self, kind: Kind, file: &str) -> Finding {
        let mut f = Finding::new(kind, self.message).file(file.to_owned());
        f = match (self.expected, self.actual) {
            (Some(e), Some(a)) => f.values(e, a),
            (None, Some(a)) => f.actual(a),
            _ => f,
        };
        f
    }
}

/// A JSON value of `peers.json` as a finding shows it: its JSON text, or
/// `absent`.
fn shown(v: Option<&serde_json::Value>) -> String {
    v.map_or_else(|| "absent".to_owned(), serde_json::Value::to_string)
}

/// The keys of a `peers.json` entry (docs/FORMAT.md section 8).
const PEER_KEYS: [&str; 6] = ["name", "address", "daemon_id", "token", "paired_at", "last_sync"];

/// Reads the text of a `var/peers.json` as the daemon writes it (docs/FORMAT.md
/// section 8): a JSON array of objects, each naming a peer whose
/// `daemon_id` derives from its `name` (the peer's hostname, section 3),
/// at `address` `<name>:<port>`, with RFC 3339 `paired_at` and
/// `last_sync` (Go's zero time for a peer never pulled from) and no other
/// keys. Returns the `daemon_id` of every entry, in file order, and the
/// problems of each; `Err` when the text is not such an array.
pub fn read_peers(bytes: &[u8]) -> Result<(Vec<String>, Vec<PeerProblem>), String> {
    use serde_json::Value;
    let list: Vec<serde_json::Map<String, Value>> = serde_json::from_slice(bytes)
        .map_err(|e| format!("var/peers.json is not a JSON array of objects: {e}"))?;
    let mut ids = Vec::with_capacity(list.len());
    let mut problems = Vec::new();
    for (i, o) in list.iter().enumerate() {
        let s = |k: &str| o.get(k).and_then(Value::as_str);
        let id = s("daemon_id").unwrap_or("");
        let n = i + 1;
        let name = s("name").unwrap_or("");
        let derived = super::daemon_id_of(name);
        if name.is_empty() || derived != id {
            let p = PeerProblem::new(format!(
                "entry {n} ({id}): daemon_id is not derived from name (the peer's hostname)"
            ));
            problems.push(PeerProblem {
                expected: Some(derived),
                actual: Some(shown(o.get("daemon_id"))),
                ..p
            });
        }
        let addr_ok = s("address")
            .and_then(|x| x.rsplit_once(':'))
            .is_some_and(|(h, port)| h == name && port.parse::<u16>().is_ok());
        if !addr_ok {
            let p = PeerProblem::new(format!("entry {n} ({id}): address is not <name>:<port>"));
            problems.push(PeerProblem {
                expected: Some(format!("{name}:<port>")),
                actual: Some(shown(o.get("address"))),
                ..p
            });
        }
        for k in ["paired_at", "last_sync"] {
            if s(k)
                .and_then(|t| ts(t).or_else(|| (t == "0001-01-01T00:00:00Z").then_some(0)))
                .is_none()
            {
                let p = PeerProblem::new(format!("entry {n} ({id}): {k} is not an RFC 3339 time"));
                problems.push(PeerProblem { actual: Some(shown(o.get(k))), ..p });
            }
        }
        let extra: Vec<&String> = o.keys().filter(|k| !PEER_KEYS.contains(&k.as_str())).collect();
        if !extra.is_empty() {
            problems.push(PeerProblem::new(format!("entry {n} ({id}): unknown keys {extra:?}")));
        }
        if ids.iter().any(|x| x == id) {
            problems.push(PeerProblem::new(format!(
                "entry {n}: daemon_id {id:?} is listed more than once"
            )));
        }
        ids.push(id.to_owned());
    }
    Ok((ids, problems))
}

/// The file of the registered peers, beside the database.
const PEERS: &str = ".thrum/var/peers.json";

/// `var/peers.json` of a fixture, read as [`read_peers`] reads a mesh
/// daemon's (`peers_invalid`), and the peer of every sync checkpoint
/// listed in it (`checkpoint_peer_unlisted`: a warning, since removing a
/// peer edits only the file and leaves its checkpoint; docs/FORMAT.md
/// section 8). A fixture without checkpoints may have no file. Checkpoints
/// that cannot be read are reported by [`check_local`] (`table_unreadable`).
pub fn check_peers(tree: &crate::input::Tree, db: &Connection, findings: &mut Findings) {
    // whether there is a checkpoint (their peers are streamed below); a
    // peer that is not text leaves the peers unjudged
    let sql = "SELECT count(*), count(*) FILTER (WHERE typeof(peer_daemon_id) <> 'text') FROM \
        sync_checkpoints";
    let Ok((n, odd)) = db.query_row(sql, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
    else {
        return;
    };
    if odd > 0 {
        return;
    }
    let any = n > 0;
    let listed = match thrum_io::regular::read_regular_at_most(
        &tree.path("var/peers.json"),
        thrum_io::regular::DOCUMENT_MAX,
    ) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !any => return,
        Err(e) => {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "is missing".to_owned()
            } else {
                format!("cannot be read: {e}")
            };
            let f = Finding::new(
                Kind::CheckpointPeerUnlisted,
                format!("var/peers.json {why}, so no checkpointed peer is listed"),
            );
            findings.push(f.file(PEERS));
            return;
        }
        Ok(bytes) => match read_peers(&bytes) {
            Err(why) => {
                findings.push(Finding::new(Kind::PeersInvalid, why).file(PEERS));
                return;
            }
            Ok((ids, problems)) => {
                for p in problems {
                    findings.push(p.finding(Kind::PeersInvalid, PEERS));
                }
                ids
            }
        },
    };
    let listed: std::collections::HashSet<String> = listed.into_iter().collect();
    // one finding per unlisted peer: the checkpoints are streamed, never collected
    let _ = for_each_row(db, "SELECT peer_daemon_id FROM sync_checkpoints ORDER BY 1", |r| {
        let Some(p) = r[0].as_str() else { return };
        if !listed.contains(p) {
            let f = Finding::new(
                Kind::CheckpointPeerUnlisted,
                "a sync checkpoint's peer is not listed in var/peers.json",
            );
            findings
                .push(f.table("sync_checkpoints").key(format!("peer_daemon_id={p}")).file(PEERS));
        }
    });
}
