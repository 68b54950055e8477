//! The daemon id (`origin_daemon`) and the identity and context files
//! against the `agents` table.

use super::query_rows;
use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use crate::util::ts;
use crate::value::Val;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use thrum_schemas::ids::shard_name;

/// The id a daemon on `hostname` gives itself (docs/FORMAT.md section 3),
/// computed here from the rule, independently of the generator: SHA-256 of
/// the hostname, its first 60 bits as 12 Crockford base32 digits, lowercase.
pub fn daemon_id_of(hostname: &str) -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let d = <sha2::Sha256 as sha2::Digest>::digest(hostname.as_bytes());
    let mut out = String::from("d_");
    let (mut acc, mut have) = (0u32, 0u32);
    for &b in d.iter() {
        acc = (acc << 8) | b as u32;
        have += 8;
        while have >= 5 && out.len() < 14 {
            have -= 5;
            out.push(DIGITS[((acc >> have) & 31) as usize] as char);
        }
        acc &= (1 << have) - 1;
        if out.len() == 14 {
            break;
        }
    }
    out
}

/// The fixture's daemon runs on the host of its local agents, so one of the
/// `origin_daemon` ids in `events` should be derivable from a hostname in
/// `agents`. A warning otherwise: a fixture may come from a daemon whose
/// host has no agent.
pub fn check_origin_daemon(db: &Connection, findings: &mut Findings) {
    let origins: Vec<String> = match crate::value::query_all(db, "SELECT DISTINCT origin_daemon FROM events ORDER BY 1") {
        Ok(rows) => rows.into_iter().filter_map(|r| r.into_iter().next().and_then(|v| v.as_str().map(str::to_owned))).collect(),
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the origin daemons: {e}")).table("events"));
            return;
        }
    };
    let hosts: Vec<String> = match crate::value::query_all(db, "SELECT DISTINCT hostname FROM agents WHERE hostname <> '' ORDER BY 1") {
        Ok(rows) => rows.into_iter().filter_map(|r| r.into_iter().next().and_then(|v| v.as_str().map(str::to_owned))).collect(),
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read the agents' hostnames: {e}")).table("agents"));
            return;
        }
    };
    if origins.is_empty() {
        return;
    }
    let derived: HashSet<String> = hosts.iter().map(|h| daemon_id_of(h)).collect();
    if !origins.iter().any(|o| derived.contains(o)) {
        findings.push(
            Finding::new(
                Kind::OriginDaemonUnexplained,
                format!("no origin_daemon of the events is the id of an agent's host ({} hostnames checked): the daemon's host has no agent, or the ids were not derived from hostnames", hosts.len()),
            )
            .table("events")
            .column("origin_daemon")
            .actual(origins.join(", ")),
        );
    }
}

/// Identity files (version 2), context files and agents rows correspond.
pub fn check_identities(tree: &Tree, db: &Connection, findings: &mut Findings) {
    let agents: BTreeMap<String, Vec<Val>> = match query_rows(db, "SELECT agent_id, kind, role, module, display FROM agents") {
        Ok(rows) => rows.into_iter().filter_map(|r| r[0].as_str().map(str::to_owned).map(|id| (id, r))).collect(),
        Err(e) => {
            findings.push(Finding::new(Kind::TableUnreadable, format!("cannot read agents for the identity check: {e}")).table("agents"));
            return;
        }
    };
    // the regular files named *EXT of DIR; an entry of that name that is
    // not a regular file (nor a directory) is reported, never opened
    let mut list = |dir: &str, ext: &str| -> Vec<String> {
        let mut v = Vec::new();
        let mut odd = Vec::new();
        for e in std::fs::read_dir(tree.path(dir)).into_iter().flatten().filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(ext) {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_file() => v.push(name),
                Ok(t) if t.is_dir() => {}
                _ => odd.push((name, crate::input::describe(&e.path()).unwrap_or_else(|| "not a regular file".into()))),
            }
        }
        v.sort();
        odd.sort();
        for (name, found) in odd {
            findings.push(crate::jsonl::not_regular_finding(&format!(".thrum/{dir}/{name}"), &found, "not read"));
        }
        v
    };
    let contexts: HashSet<String> = list("context", ".md").into_iter().collect();
    let mut covered_agents: HashSet<String> = HashSet::new();
    let mut covered_contexts: HashSet<String> = HashSet::new();
    for file in list("identities", ".json") {
        let rel = format!(".thrum/identities/{file}");
        let stem = file.trim_end_matches(".json").to_owned();
        let invalid = |col: &str, msg: &str| Finding::new(Kind::IdentityInvalid, msg.to_string()).file(rel.clone()).column(col);
        let v: Value =
            match thrum_io::regular::read_regular_at_most(&tree.path(&format!("identities/{file}")), thrum_io::regular::DOCUMENT_MAX) {
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    findings.push(Finding::new(Kind::IdentityInvalid, format!("not read: {e}")).file(rel.clone()));
                    continue;
                }
                r => match r.ok().and_then(|b| serde_json::from_slice(&b).ok()) {
                    Some(v) => v,
                    None => {
                        findings.push(Finding::new(Kind::IdentityInvalid, "not valid JSON").file(rel.clone()));
                        continue;
                    }
                },
            };
        if v.get("version").and_then(Value::as_i64) != Some(2) {
            findings.push(invalid("version", "version must be 2").actual(v.get("version").map_or("absent".into(), |x| x.to_string())));
        }
        for k in ["repo_id", "worktree", "confirmed_by"] {
            if !v.get(k).is_some_and(Value::is_string) {
                findings.push(invalid(k, "missing or not a string"));
            }
        }
        match v.get("updated_at").and_then(Value::as_str) {
            Some(t) if ts(t).is_some() => {}
            other => findings.push(invalid("updated_at", "not an RFC 3339 timestamp").actual(format!("{other:?}"))),
        }
        let Some(agent) = v.get("agent").and_then(Value::as_object) else {
            findings.push(invalid("agent", "missing agent object"));
            continue;
        };
        let field = |k: &str| agent.get(k).and_then(Value::as_str);
        let mut ok = true;
        for k in ["Kind", "Name", "Role", "Module", "Display"] {
            if field(k).is_none() {
                ok = false;
                findings.push(invalid(&format!("agent.{k}"), "missing or not a string (keys are capitalised)"));
            }
        }
        if !ok {
            continue;
        }
        let name = field("Name").unwrap_or_default().to_owned();
        let kind = field("Kind").unwrap_or_default();
        let id = match kind {
            "agent" => name.clone(),
            "human" => format!("user:{name}"),
            other => {
                findings.push(invalid("agent.Kind", "Kind must be agent or human").actual(format!("{other:?}")));
                name.clone()
            }
        };
        // The file name is the agent's {name} as section 1 uses it for shards:
        // shard_name(id) (`user_alice` for `user:alice`); the bare Name is accepted too.
        let file_name = shard_name(&id);
        let stem = if stem == file_name || stem == name {
            stem
        } else {
            findings.push(
                invalid("agent.Name", "file name must be {name}.json (the agent's shard name)")
                    .values(format!("{file_name}.json"), file.clone()),
            );
            file_name
        };
        let ctx_name = format!("{stem}.md");
        match v.get("context_file") {
            None => {}
            Some(Value::String(c)) if *c == format!("context/{ctx_name}") => {}
            Some(other) => findings
                .push(invalid("context_file", "must be context/{name}.md").values(format!("\"context/{ctx_name}\""), other.to_string())),
        }
        if contexts.contains(&ctx_name) {
            covered_contexts.insert(ctx_name.clone());
        } else {
            findings.push(
                Finding::new(Kind::ContextMissing, format!("identity {id} has no context/{ctx_name}"))
                    .file(format!(".thrum/context/{ctx_name}")),
            );
        }
        match agents.get(&id) {
            None => findings.push(
                Finding::new(Kind::IdentityOrphan, format!("identity {id} has no agents row"))
                    .file(rel.clone())
                    .table("agents")
                    .key(format!("agent_id={id}")),
            ),
            Some(row) => {
                covered_agents.insert(id.clone());
                for (col, k, i) in [("kind", "Kind", 1), ("role", "Role", 2), ("module", "Module", 3), ("display", "Display", 4)] {
                    let f = field(k).unwrap_or_default();
                    if row[i].as_str() != Some(f) {
                        findings.push(
                            Finding::new(Kind::IdentityDiffers, format!("identity agent.{k} differs from agents.{col}"))
                                .file(rel.clone())
                                .table("agents")
                                .key(format!("agent_id={id}"))
                                .column(col)
                                .values(format!("{f:?}"), row[i].to_string()),
                        );
                    }
                }
            }
        }
    }
    for id in agents.keys() {
        if !covered_agents.contains(id) {
            findings.push(
                Finding::new(Kind::IdentityMissing, format!("agent {id} has no identity file"))
                    .table("agents")
                    .key(format!("agent_id={id}"))
                    .file(format!(".thrum/identities/{}.json", shard_name(id))),
            );
        }
    }
    let mut orphans: Vec<&String> = contexts.iter().filter(|c| !covered_contexts.contains(*c)).collect();
    orphans.sort();
    for c in orphans {
        findings.push(Finding::new(Kind::ContextOrphan, "context file without an identity").file(format!(".thrum/context/{c}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Findings;

    #[test]
    fn daemon_ids_are_derived_from_hostnames() {
        // golden values computed from the rule outside this code base
        assert_eq!(daemon_id_of("build-01.ci.internal"), "d_xtkd3cd83rwv");
        assert_eq!(daemon_id_of("mbp-alice.local"), "d_pkd6rjqjr0nf");
        assert_eq!(daemon_id_of(""), "d_werc8gmrzge1");
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE events (origin_daemon TEXT); CREATE TABLE agents (hostname TEXT);").unwrap();
        c.execute_batch(
            "INSERT INTO events VALUES ('d_xtkd3cd83rwv'), ('d_0123456789ab'); INSERT INTO agents VALUES ('build-01.ci.internal'), ('');",
        )
        .unwrap();
        let mut f = Findings::new(0);
        check_origin_daemon(&c, &mut f);
        assert_eq!(f.total(), 0);
        c.execute_batch("DELETE FROM events WHERE origin_daemon = 'd_xtkd3cd83rwv'").unwrap();
        check_origin_daemon(&c, &mut f);
        assert_eq!(f.count(Kind::OriginDaemonUnexplained), 1);
        assert_eq!(f.list()[0].actual.as_deref(), Some("d_0123456789ab"));
    }
}
