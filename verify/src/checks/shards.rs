//! `shard_missing`: database messages whose shard file is absent.

use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use crate::value::for_each_row;
use rusqlite::Connection;
use std::collections::BTreeMap;
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
/// shard file exists. The messages are streamed in key order.
pub fn shards_missing(
    tree: &Tree,
    db: &Connection,
    created: impl Fn(&str) -> bool,
    findings: &mut Findings,
) {
    let safe = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']);
    let exists = |name: &str| safe(name) && tree.path(&format!("messages/{name}.jsonl")).is_file();
    // shard name -> (agent_id, messages, first message id)
    let mut missing: BTreeMap<String, (String, u64, String)> = BTreeMap::new();
    let read = for_each_row(
        db,
        "SELECT message_id, agent_id, authored_by FROM messages ORDER BY message_id",
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
            let e = missing.entry(own).or_insert_with(|| (agent.to_owned(), 0, mid.to_owned()));
            e.1 += 1;
        },
    );
    if read.is_err() {
        return; // reported as table_unreadable by the comparison
    }
    push_shard_missing(missing, findings);
}

fn push_shard_missing(missing: BTreeMap<String, (String, u64, String)>, findings: &mut Findings) {
    for (name, (agent, n, first)) in missing {
        findings.push(
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
            .values("present", "absent"),
        );
    }
}
