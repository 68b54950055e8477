//! The events a crash interrupts: what the fixture says about its daemon
//! (its id, its last sequence and time, its running sessions, its groups),
//! and new events of the fixture's kinds derived from the seed. Event `i`
//! comes from its own stream keyed by `(seed, "crash-event", i)`, so the
//! same seed gives the same events in every state.

use crate::error::{sql, CorruptError, Result};
use crate::rng::Rng;
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::path::Path;
use thrum_schemas::ids::{prefixed, shard_name};
use thrum_schemas::time::{parse_rfc3339, rfc3339_nano};

/// What the new events are built from: read from the fixture's database.
pub(crate) struct Facts {
    /// The daemon that wrote the fixture (`origin_daemon` of its last event).
    pub daemon: String,
    /// `MAX(events.sequence)`: the counter a starting daemon takes.
    pub max_seq: i64,
    /// The latest event time (microseconds).
    pub max_us: i64,
    /// Agents with a running session and a message shard: (agent, session).
    pub authors: Vec<(String, String)>,
    /// Every agent's name (mention targets).
    pub agents: Vec<String>,
    /// Every group's name.
    pub groups: Vec<String>,
}

/// How a new event is projected.
pub(crate) enum Projection {
    /// `message.create`: the message, its scopes and refs, one transaction.
    Message {
        id: String,
        agent: String,
        session: String,
        at: String,
        content: String,
        scopes: Vec<(String, String)>,
        refs: Vec<(String, String)>,
    },
    /// `group.member.add` (a single statement).
    MemberAdd { group: String, member: String, by: String, at: String },
}

/// A new event: its line (no newline), the file it goes to and its envelope.
pub(crate) struct NewEvent {
    /// The JSONL file, relative to `.thrum` (`messages/{name}.jsonl`).
    pub rel: String,
    pub line: Vec<u8>,
    pub seq: i64,
    pub id: String,
    pub ty: &'static str,
    pub ts: String,
    pub daemon: String,
    pub proj: Projection,
}

fn rows<T>(
    c: &Connection,
    q: &str,
    db: &Path,
    f: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut st = sql(c.prepare(q), db)?;
    let it = sql(st.query_map([], f), db)?;
    sql(it.collect::<rusqlite::Result<Vec<T>>>(), db)
}

impl Facts {
    /// Reads the facts of the fixture at `thrum` from its database `c`.
    pub(crate) fn read(c: &Connection, thrum: &Path, input: &Path) -> Result<Facts> {
        let db = thrum.join("var/messages.db");
        let none = |reason: &str| CorruptError::NoTarget {
            path: input.to_path_buf(),
            fault: "crash",
            reason: reason.into(),
        };
        let last = rows(
            c,
            "SELECT sequence, origin_daemon FROM events ORDER BY sequence DESC LIMIT 1",
            &db,
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )?;
        let (max_seq, daemon) =
            last.into_iter().next().ok_or_else(|| none("the events table is empty"))?;
        let times = rows(c, "SELECT timestamp FROM events", &db, |r| r.get::<_, String>(0))?;
        let max_us = times
            .iter()
            .filter_map(|t| parse_rfc3339(t))
            .max()
            .ok_or_else(|| none("no event has a timestamp"))?;
        let running = rows(
            c,
            "SELECT s.agent_id, s.session_id FROM sessions s JOIN agents a ON a.agent_id = \
                s.agent_id \
             WHERE s.ended_at IS NULL AND a.kind = 'agent' ORDER BY s.session_id",
            &db,
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )?;
        let authors: Vec<(String, String)> = running
            .into_iter()
            .filter(|(a, _)| {
                thrum.join("messages").join(format!("{}.jsonl", shard_name(a))).is_file()
            })
            .collect();
        if authors.is_empty() {
            return Err(none("no agent with a running session has a message shard"));
        }
        let agents = rows(
            c,
            "SELECT agent_id FROM agents WHERE kind = 'agent' ORDER BY agent_id",
            &db,
            |r| r.get(0),
        )?;
        let groups = rows(c, "SELECT name FROM groups ORDER BY name", &db, |r| r.get(0))?;
        Ok(Facts { daemon, max_seq, max_us, authors, agents, groups })
    }
}

const OPENERS: &[&str] = &[
    "Picking up where I left off",
    "Status update",
    "Heads up",
    "Quick note before the next step",
    "Back after a restart",
    "Checking in",
];
const TOPICS: &[&str] = &[
    "the JSONL shard rotation",
    "the sync checkpoint writer",
    "WAL checkpointing",
    "the projection rebuild",
    "the session heartbeat",
    "the group membership cache",
    "the event id backfill",
    "the relay reconnect backoff",
];
const STATUSES: &[&str] = &[
    "tests pass locally, opening the review next",
    "blocked on a flaky integration test",
    "half done; the migration path needs a second look",
    "finished, see the branch for details",
    "reproduced the bug, writing the fix now",
];

/// The `i`-th event time: after the fixture's last event, 2 to 90 seconds
/// after the previous new event.
fn time_of(seed: u64, facts: &Facts, i: u64) -> i64 {
    let mut t = facts.max_us;
    for j in 0..=i {
        let mut r = Rng::keyed(seed, "crash-time", j);
        t += 2_000_000 + r.below(88_000_000) as i64;
    }
    if t % 10 == 0 {
        t + 7
    } else {
        t
    }
}

fn envelope(
    facts: &Facts,
    ty: &'static str,
    seq: i64,
    us: i64,
    r: &mut Rng,
) -> (Map<String, Value>, String, String) {
    let ts = rfc3339_nano(us);
    let id = prefixed("evt_", (us / 1000) as u64, r.entropy80());
    let mut o = Map::new();
    o.insert("event_id".into(), Value::String(id.clone()));
    o.insert("origin_daemon".into(), Value::String(facts.daemon.clone()));
    o.insert("sequence".into(), Value::from(seq));
    o.insert("timestamp".into(), Value::String(ts.clone()));
    o.insert("type".into(), Value::String(ty.into()));
    o.insert("v".into(), Value::from(1));
    (o, id, ts)
}

fn pairs(v: &[(String, String)]) -> Value {
    Value::Array(
        v.iter()
            .map(|(t, x)| {
                let mut m = Map::new();
                m.insert("type".into(), Value::String(t.clone()));
                m.insert("value".into(), Value::String(x.clone()));
                Value::Object(m)
            })
            .collect(),
    )
}

fn line_of(o: Map<String, Value>) -> Vec<u8> {
    thrum_schemas::gojson::to_string(&Value::Object(o)).into_bytes()
}

/// The `i`-th new event, a `message.create` by an agent with a running
/// session (broadcast, to another agent, or to a group), with sequence `seq`.
pub(crate) fn message(seed: u64, facts: &Facts, i: u64, seq: i64) -> NewEvent {
    let mut r = Rng::keyed(seed, "crash-event", i);
    let us = time_of(seed, facts, i);
    let (mut o, id, ts) = envelope(facts, "message.create", seq, us, &mut r);
    let (agent, session) = facts.authors[r.below(facts.authors.len())].clone();
    let mid = prefixed("msg_", (us / 1000) as u64, r.entropy80());
    let (mut scopes, mut refs) = (Vec::new(), Vec::new());
    let others: Vec<&String> = facts.agents.iter().filter(|a| **a != agent).collect();
    match r.below(3) {
        1 if !others.is_empty() => {
            refs.push(("mention".to_string(), others[r.below(others.len())].clone()))
        }
        2 if !facts.groups.is_empty() => {
            let g = facts.groups[r.below(facts.groups.len())].clone();
            scopes.push(("group".to_string(), g.clone()));
            refs.push(("group".to_string(), g));
        }
        _ => {}
    }
    let content = format!(
        "{}: {} is {}.",
        OPENERS[r.below(OPENERS.len())],
        TOPICS[r.below(TOPICS.len())],
        STATUSES[r.below(STATUSES.len())]
    );
    let mut body = Map::new();
    body.insert("content".into(), Value::String(content.clone()));
    body.insert("format".into(), Value::String("markdown".into()));
    o.insert("agent_id".into(), Value::String(agent.clone()));
    o.insert("body".into(), Value::Object(body));
    o.insert("message_id".into(), Value::String(mid.clone()));
    o.insert("session_id".into(), Value::String(session.clone()));
    if !refs.is_empty() {
        o.insert("refs".into(), pairs(&refs));
    }
    if !scopes.is_empty() {
        o.insert("scopes".into(), pairs(&scopes));
    }
    let rel = format!("messages/{}.jsonl", shard_name(&agent));
    let proj =
        Projection::Message { id: mid, agent, session, at: ts.clone(), content, scopes, refs };
    NewEvent {
        rel,
        line: line_of(o),
        seq,
        id,
        ty: "message.create",
        ts,
        daemon: facts.daemon.clone(),
        proj,
    }
}

/// The `i`-th new event as a `group.member.add` of an agent to a group id
/// that no group has: written, but its projection fails (foreign key).
pub(crate) fn member_add_to_missing_group(seed: u64, facts: &Facts, i: u64, seq: i64) -> NewEvent {
    let mut r = Rng::keyed(seed, "crash-event", i);
    let us = time_of(seed, facts, i);
    let (mut o, id, ts) = envelope(facts, "group.member.add", seq, us, &mut r);
    let by = facts.authors[r.below(facts.authors.len())].0.clone();
    let member = facts.agents[r.below(facts.agents.len().max(1))].clone();
    let group = prefixed("grp_", (us / 1000) as u64, r.entropy80());
    o.insert("added_by".into(), Value::String(by.clone()));
    o.insert("group_id".into(), Value::String(group.clone()));
    o.insert("member_type".into(), Value::String("agent".into()));
    o.insert("member_value".into(), Value::String(member.clone()));
    let proj = Projection::MemberAdd { group, member, by, at: ts.clone() };
    NewEvent {
        rel: "events.jsonl".into(),
        line: line_of(o),
        seq,
        id,
        ty: "group.member.add",
        ts,
        daemon: facts.daemon.clone(),
        proj,
    }
}
