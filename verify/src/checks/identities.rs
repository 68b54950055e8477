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

/// `table_unreadable` on `table`: `what` cannot be read.
fn unreadable(what: &str, table: &str, e: &rusqlite::Error) -> Finding {
    Finding::new(Kind::TableUnreadable, format!("cannot read {what}: {e}")).table(table)
}

/// The origins a warning names; it says how many there are in all.
pub const ORIGINS_NAMED: usize = 64;

/// The SQL function giving the daemon id of a hostname, for ordering by it.
const DAEMON_ID_FN: &str = "thrum_daemon_id";

/// What streaming the distinct origins found: how many there are, the first
/// [`ORIGINS_NAMED`] of them, and whether one is the id of an agent's host.
#[derive(Default)]
struct Origins {
    n: u64,
    named: Vec<String>,
    explained: bool,
}

/// The distinct text origins of `events` in byte order, merged with the
/// distinct daemon ids of the agents' hostnames (`ids`, run when an origin
/// needs it) in the same order: nothing is held but a row of each and the
/// names kept. `Err` when the origins cannot be read; an error of the ids
/// (returned beside) leaves `explained` false.
fn read_origins(
    db: &Connection,
    ids: &mut rusqlite::Statement<'_>,
) -> rusqlite::Result<(Origins, Option<rusqlite::Error>)> {
    let mut so = db.prepare(
        "SELECT DISTINCT origin_daemon COLLATE BINARY FROM events \
        WHERE typeof(origin_daemon) = 'text' ORDER BY 1",
    )?;
    let mut origins = so.query([])?;
    let mut out = Origins::default();
    let (mut failed, mut id) = (None, None::<String>);
    // the ids are read (and sorted) only when a first origin needs them
    let mut cursor = ids.query([]).map_err(|e| failed = Some(e)).ok();
    let mut done = cursor.is_none();
    while let Some(r) = origins.next()? {
        let Some(o) = Val::from_ref(r.get_ref(0)?).as_str().map(str::to_owned) else { continue };
        out.n += 1;
        while !done && !out.explained && id.as_deref().is_none_or(|d| d < o.as_str()) {
            match cursor.as_mut().map(|q| q.next()) {
                Some(Ok(Some(row))) => match row.get_ref(0) {
                    Ok(v) => id = Val::from_ref(v).as_str().map(str::to_owned).or(id),
                    Err(e) => (failed, done) = (Some(e), true),
                },
                Some(Err(e)) => (failed, done) = (Some(e), true),
                _ => done = true,
            }
        }
        out.explained |= id.as_deref() == Some(o.as_str());
        if out.named.len() < ORIGINS_NAMED {
            out.named.push(o);
        }
    }
    Ok((out, failed))
}

/// The fixture's daemon runs on the host of its local agents, so one of the
/// `origin_daemon` ids in `events` should be derivable from a hostname in
/// `agents`. A warning otherwise: a fixture may come from a daemon whose
/// host has no agent. The origins and hostnames are streamed: the warning
/// names the first [`ORIGINS_NAMED`] origins and says how many there are.
pub fn check_origin_daemon(db: &Connection, findings: &mut Findings) {
    let hosts_what = "the agents' hostnames";
    let ids = format!(
        "SELECT DISTINCT {DAEMON_ID_FN}(hostname) FROM agents WHERE hostname <> '' ORDER BY 1"
    );
    let prepared =
        super::text_function(db, DAEMON_ID_FN, daemon_id_of).and_then(|()| db.prepare(&ids));
    let (origins, ids_failed) = match prepared {
        Ok(mut st) => match read_origins(db, &mut st) {
            Ok(read) => read,
            Err(e) => return findings.push(unreadable("the origin daemons", "events", &e)),
        },
        Err(e) => (Origins::default(), Some(e)),
    };
    let mut hosts = 0u64;
    let counted = crate::value::for_each_row(
        db,
        "SELECT DISTINCT hostname FROM agents WHERE hostname <> ''",
        |r| hosts += u64::from(r[0].as_str().is_some()),
    );
    if let Some(e) = counted.err().or(ids_failed) {
        return findings.push(unreadable(hosts_what, "agents", &e));
    }
    if origins.n == 0 || origins.explained {
        return;
    }
    let mut actual = origins.named.join(", ");
    if origins.n > origins.named.len() as u64 {
        actual.push_str(&format!(
            ", and {} more ({} in all)",
            origins.n - origins.named.len() as u64,
            origins.n
        ));
    }
    findings.push(
        Finding::new(
            Kind::OriginDaemonUnexplained,
            format!(
                "no origin_daemon of the events is the id of an agent's host ({hosts} \
                hostnames checked): the daemon's host has no agent, or the ids were not \
                derived from hostnames"
            ),
        )
        .table("events")
        .column("origin_daemon")
        .actual(actual),
    );
}

/// Identity files (version 2), context files and agents rows correspond.
pub fn check_identities(tree: &Tree, db: &Connection, findings: &mut Findings) {
    let agents: BTreeMap<String, Vec<Val>> =
        match query_rows(db, "SELECT agent_id, kind, role, module, display FROM agents") {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|r| r[0].as_str().map(str::to_owned).map(|id| (id, r)))
                .collect(),
            Err(e) => {
                findings.push(
                    Finding::new(
                        Kind::TableUnreadable,
                        format!("cannot read agents for the identity check: {e}"),
                    )
                    .table("agents"),
                );
                return;
            }
        };
    let contexts: HashSet<String> =
        list_files(tree, "context", ".md", findings).into_iter().collect();
    let mut covered_agents: HashSet<String> = HashSet::new();
    let mut covered_contexts: HashSet<String> = HashSet::new();
    for file in list_files(tree, "identities", ".json", findings) {
        let rel = format!(".thrum/identities/{file}");
        let Some(v) = read_identity(tree, &file, &rel, findings) else { continue };
        let Some(ident) = Identity::parse(&v, &file, &rel, findings) else { continue };
        let ctx_name = format!("{}.md", ident.stem);
        match v.get("context_file") {
            None => {}
            Some(Value::String(c)) if *c == format!("context/{ctx_name}") => {}
            Some(other) => findings.push(
                ident
                    .invalid("context_file", "must be context/{name}.md")
                    .values(format!("\"context/{ctx_name}\""), other.to_string()),
            ),
        }
        if contexts.contains(&ctx_name) {
            covered_contexts.insert(ctx_name.clone());
        } else {
            findings.push(
                Finding::new(
                    Kind::ContextMissing,
                    format!("identity {} has no context/{ctx_name}", ident.id),
                )
                .file(format!(".thrum/context/{ctx_name}")),
            );
        }
        if ident.check_row(agents.get(&ident.id), findings) {
            covered_agents.insert(ident.id.clone());
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
    let mut orphans: Vec<&String> =
        contexts.iter().filter(|c| !covered_contexts.contains(*c)).collect();
    orphans.sort();
    for c in orphans {
        findings.push(
            Finding::new(Kind::ContextOrphan, "context file without an identity")
                .file(format!(".thrum/context/{c}")),
        );
    }
}

/// The regular files named *`ext` of `dir`, sorted; an entry of that name
/// that is not a regular file (nor a directory) is reported, never opened.
fn list_files(tree: &Tree, dir: &str, ext: &str, findings: &mut Findings) -> Vec<String> {
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
            _ => odd.push((
                name,
                crate::input::describe(&e.path()).unwrap_or_else(|| "not a regular file".into()),
            )),
        }
    }
    v.sort();
    odd.sort();
    for (name, found) in odd {
        findings.push(crate::jsonl::not_regular_finding(
            &format!(".thrum/{dir}/{name}"),
            &found,
            "not read",
        ));
    }
    v
}

/// The JSON of identity `file`, bounded; `None` (reported) when it cannot be read.
fn read_identity(tree: &Tree, file: &str, rel: &str, findings: &mut Findings) -> Option<Value> {
    match thrum_io::regular::read_regular_at_most(
        &tree.path(&format!("identities/{file}")),
        thrum_io::regular::DOCUMENT_MAX,
    ) {
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            findings.push(Finding::new(Kind::IdentityInvalid, format!("not read: {e}")).file(rel));
            None
        }
        r => {
            let v = r.ok().and_then(|b| serde_json::from_slice(&b).ok());
            if v.is_none() {
                findings.push(Finding::new(Kind::IdentityInvalid, "not valid JSON").file(rel));
            }
            v
        }
    }
}

/// One identity file's agent: its id, the stem its context file takes,
/// and its fields.
struct Identity<'a> {
    rel: &'a str,
    id: String,
    stem: String,
    agent: &'a serde_json::Map<String, Value>,
}

impl<'a> Identity<'a> {
    /// Checks the file's fields; `None` when its agent cannot be named.
    fn parse(
        v: &'a Value,
        file: &str,
        rel: &'a str,
        findings: &mut Findings,
    ) -> Option<Identity<'a>> {
        let invalid = |col: &str, msg: &str| {
            Finding::new(Kind::IdentityInvalid, msg.to_string()).file(rel).column(col)
        };
        if v.get("version").and_then(Value::as_i64) != Some(2) {
            findings.push(
                invalid("version", "version must be 2")
                    .actual(v.get("version").map_or("absent".into(), |x| x.to_string())),
            );
        }
        for k in ["repo_id", "worktree", "confirmed_by"] {
            if !v.get(k).is_some_and(Value::is_string) {
                findings.push(invalid(k, "missing or not a string"));
            }
        }
        match v.get("updated_at").and_then(Value::as_str) {
            Some(t) if ts(t).is_some() => {}
            other => findings.push(
                invalid("updated_at", "not an RFC 3339 timestamp").actual(format!("{other:?}")),
            ),
        }
        let Some(agent) = v.get("agent").and_then(Value::as_object) else {
            findings.push(invalid("agent", "missing agent object"));
            return None;
        };
        let field = |k: &str| agent.get(k).and_then(Value::as_str);
        let missing: Vec<&str> = ["Kind", "Name", "Role", "Module", "Display"]
            .into_iter()
            .filter(|k| field(k).is_none())
            .collect();
        for k in &missing {
            findings.push(invalid(
                &format!("agent.{k}"),
                "missing or not a string (keys are capitalised)",
            ));
        }
        if !missing.is_empty() {
            return None;
        }
        let name = field("Name").unwrap_or_default().to_owned();
        let id = match field("Kind").unwrap_or_default() {
            "agent" => name.clone(),
            "human" => format!("user:{name}"),
            other => {
                findings.push(
                    invalid("agent.Kind", "Kind must be agent or human")
                        .actual(format!("{other:?}")),
                );
                name.clone()
            }
        };
        // The file name is the agent's {name} as section 1 uses it for shards:
        // shard_name(id) (`user_alice` for `user:alice`); the bare Name is accepted too.
        let stem = file.trim_end_matches(".json").to_owned();
        let file_name = shard_name(&id);
        let stem = if stem == file_name || stem == name {
            stem
        } else {
            findings.push(
                invalid("agent.Name", "file name must be {name}.json (the agent's shard name)")
                    .values(format!("{file_name}.json"), file.to_string()),
            );
            file_name
        };
        Some(Identity { rel, id, stem, agent })
    }

    fn invalid(&self, col: &str, msg: &str) -> Finding {
        Finding::new(Kind::IdentityInvalid, msg.to_string()).file(self.rel).column(col)
    }

    /// Compares the agent with its `agents` row; false when it has none.
    fn check_row(&self, row: Option<&Vec<Val>>, findings: &mut Findings) -> bool {
        let id = &self.id;
        let Some(row) = row else {
            findings.push(
                Finding::new(Kind::IdentityOrphan, format!("identity {id} has no agents row"))
                    .file(self.rel)
                    .table("agents")
                    .key(format!("agent_id={id}")),
            );
            return false;
        };
        for (col, k, i) in [
            ("kind", "Kind", 1),
            ("role", "Role", 2),
            ("module", "Module", 3),
            ("display", "Display", 4),
        ] {
            let f = self.agent.get(k).and_then(Value::as_str).unwrap_or_default();
            if row[i].as_str() != Some(f) {
                findings.push(
                    Finding::new(
                        Kind::IdentityDiffers,
                        format!("identity agent.{k} differs from agents.{col}"),
                    )
                    .file(self.rel)
                    .table("agents")
                    .key(format!("agent_id={id}"))
                    .column(col)
                    .values(format!("{f:?}"), row[i].to_string()),
                );
            }
        }
        true
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
        c.execute_batch(
            "CREATE TABLE events (origin_daemon TEXT); CREATE TABLE agents (hostname TEXT);",
        )
        .unwrap();
        c.execute_batch(
            "INSERT INTO events VALUES ('d_xtkd3cd83rwv'), ('d_0123456789ab'); INSERT INTO agents \
                VALUES ('build-01.ci.internal'), ('');",
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
