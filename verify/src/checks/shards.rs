//! `shard_missing`: database messages whose shard file is absent.

use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use crate::value::for_each_row;
use rusqlite::Connection;
use thrum_schemas::ids::shard_name;

/// Database messages whose `message.create` is in no JSONL file and whose
/// author's shard (`messages/{shard_name(agent_id)}.jsonl`, or the one of
/// `authored_by`) does not exist: one `shard_missing` per absent shard file,
/// naming it and the agent, with the number of messages it should hold.
pub fn check_shards(
    tree: &Tree,
    db: &Connection,
    idx: &crate::stream::Index,
    findings: &mut Findings,
) {
    shards_missing(tree, db, |mid| idx.first_create(mid).is_some(), findings);
}

/// `shard_missing` for every database message that `created` says has no
/// `message.create` line, when neither its author's nor its `authored_by`
/// shard file exists. The messages are streamed in the order of their
/// author's shard name, then of their key: one shard is held at a time,
/// and the findings, listed up to their ceiling and counted exactly, come
/// in shard name order.
pub fn shards_missing(
    tree: &Tree,
    db: &Connection,
    created: impl Fn(&str) -> bool,
    findings: &mut Findings,
) {
    let safe = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']);
    let exists = |name: &str| safe(name) && tree.path(&format!("messages/{name}.jsonl")).is_file();
    if super::text_function(db, SHARD_FN, shard_name).is_err() {
        return; // the messages are then not read: the comparison reports them
    }
    // the shard being read: (shard name, agent_id, messages, first message id)
    let mut cur: Option<(String, String, u64, String)> = None;
    // kept until the table was read whole: none of them when it cannot be
    let mut found = Findings::new(0);
    let read = for_each_row(
        db,
        &format!(
            "SELECT message_id, agent_id, authored_by FROM messages \
            ORDER BY {SHARD_FN}(agent_id), message_id"
        ),
        |r| {
            let (Some(mid), Some(agent)) = (r[0].as_str(), r[1].as_str()) else { return };
            if created(mid) {
                return;
            }
            let own = shard_name(agent);
            let other = r[2].as_str().filter(|a| !a.is_empty()).map(shard_name);
            if !safe(&own) || exists(&own) || other.as_deref().is_some_and(exists) {
                return;
            }
            match &mut cur {
                Some((name, _, n, _)) if *name == own => *n += 1,
                _ => {
                    if let Some(done) = cur.replace((own, agent.to_owned(), 1, mid.to_owned())) {
                        found.push(shard_missing(done));
                    }
                }
            }
        },
    );
    if read.is_err() {
        return; // reported as table_unreadable by the comparison
    }
    if let Some(done) = cur {
        found.push(shard_missing(done));
    }
    findings.append(found);
}

/// The SQL function naming a message's shard, for ordering by it.
const SHARD_FN: &str = "thrum_shard_name";

fn shard_missing((name, agent, n, first): (String, String, u64, String)) -> Finding {
    Finding::new(
        Kind::ShardMissing,
        format!(
            "{n} message(s) of agent {agent} are in the database (the first: \
            {first}), but its shard file is absent and no other file holds their \
            message.create"
        ),
    )
    .file(format!(".thrum/messages/{name}.jsonl"))
    .table("messages")
    .key(format!("agent_id={agent}"))
    .values("present", "absent")
}
