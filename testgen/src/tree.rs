//! The small files of `.thrum/`: config, identities (v2), context notes,
//! the empty `thrum.db` placeholder and `var/peers.json`.

use crate::error::{IoContext, Result};
use std::fs;
use std::path::Path;
use thrum_gen::rng::{Kind, Stream};
use thrum_gen::{text, Peer, Plan};
use thrum_schemas::time::{rfc3339_nano, rfc3339_seconds};

/// `config.json`, 2-space indented like the daemon's.
pub const CONFIG_JSON: &str = "{\n  \"local_only\": true,\n  \"version\": 1\n}";

/// Identity file (version 2): the daemon serialises its struct with
/// MarshalIndent, so keys keep struct order and the agent keys are capitalised.
pub fn identity_json(plan: &Plan, a: &thrum_gen::Agent) -> String {
    use thrum_schemas::gojson::push_str;
    let mut s = String::with_capacity(320);
    s.push_str("{\n  \"version\": 2,\n  \"repo_id\": ");
    push_str(&mut s, &plan.repo_id);
    s.push_str(",\n  \"agent\": {\n    \"Kind\": ");
    push_str(&mut s, a.kind);
    s.push_str(",\n    \"Name\": ");
    push_str(&mut s, &a.name);
    s.push_str(",\n    \"Role\": ");
    push_str(&mut s, a.role);
    s.push_str(",\n    \"Module\": ");
    push_str(&mut s, a.module);
    s.push_str(",\n    \"Display\": ");
    push_str(&mut s, &a.display);
    s.push_str("\n  },\n  \"worktree\": ");
    push_str(&mut s, &a.worktree);
    s.push_str(",\n  \"confirmed_by\": ");
    push_str(&mut s, &a.confirmed_by);
    s.push_str(",\n  \"context_file\": ");
    push_str(&mut s, &format!("context/{}.md", a.file_name()));
    s.push_str(",\n  \"updated_at\": ");
    push_str(&mut s, &rfc3339_seconds(a.registered.time));
    s.push_str("\n}");
    s
}

/// Writes config.json, thrum.db, identities/ and context/ under `root`
/// (the `.thrum` dir), and at v13 `var/peers.json` (the peers of the sync
/// checkpoints; the v5 era had no peer sync).
pub fn write_small_files(plan: &Plan, root: &Path, era: thrum_gen::Era) -> Result<()> {
    write_layout(root, era)?;
    if era == thrum_gen::Era::V13 {
        write_peers(&root.join("var").join("peers.json"), &plan.peers)?;
    }
    write_agent_files(plan, root, |_| true)
}

/// An entry of `var/peers.json`, members in the daemon's order.
#[derive(serde::Serialize)]
struct PeerJson<'a> {
    name: &'a str,
    address: &'a str,
    daemon_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    token: &'a str,
    paired_at: String,
    last_sync: String,
}

/// Go's zero `time.Time` as RFC 3339: a peer never pulled from.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The text of `var/peers.json` listing `peers`: a JSON array indented by
/// two spaces (no newline at the end), times in RFC 3339 with nanoseconds.
pub fn peers_json(peers: &[Peer]) -> serde_json::Result<String> {
    let list: Vec<PeerJson> = peers
        .iter()
        .map(|p| PeerJson {
            name: &p.name,
            address: &p.address,
            daemon_id: &p.daemon_id,
            token: &p.token,
            paired_at: rfc3339_nano(p.paired_at),
            last_sync: p.last_sync.map_or_else(|| GO_ZERO_TIME.to_string(), rfc3339_nano),
        })
        .collect();
    serde_json::to_string_pretty(&list)
}

/// Writes `var/peers.json` at `path` with mode 0600 (it holds the tokens).
pub fn write_peers(path: &Path, peers: &[Peer]) -> Result<()> {
    let text = peers_json(peers).map_err(std::io::Error::other).ctx("encode", path)?;
    write(path, text.as_bytes())?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).ctx("set the mode of", path)
}

/// Writes the directories of `root` (the `.thrum` dir), config.json and
/// thrum.db.
pub fn write_layout(root: &Path, era: thrum_gen::Era) -> Result<()> {
    let dirs: &[&str] = match era {
        thrum_gen::Era::V13 => &["identities", "context", "messages", "var"],
        thrum_gen::Era::V5 => &["identities", "context", "var"],
    };
    for d in dirs {
        fs::create_dir_all(root.join(d)).ctx("create directory", root.join(d))?;
    }
    write(&root.join("config.json"), CONFIG_JSON.as_bytes())?;
    write(&root.join("thrum.db"), b"")
}

/// Writes the identity file and context notes of every agent of `plan`
/// that `keep` accepts under `root` (the `.thrum` dir).
pub fn write_agent_files(
    plan: &Plan,
    root: &Path,
    keep: impl Fn(&thrum_gen::Agent) -> bool,
) -> Result<()> {
    let mut notes = String::new();
    for (i, a) in plan.agents.iter().enumerate().filter(|(_, a)| keep(a)) {
        let name = a.file_name();
        write(
            &root.join("identities").join(format!("{name}.json")),
            identity_json(plan, a).as_bytes(),
        )?;
        let mut r = Stream::sub(plan.seed, Kind::Agent, i as u64, 7);
        text::context_notes(&mut r, &a.name, a.role, a.module, &a.display, &mut notes);
        write(&root.join("context").join(format!("{name}.md")), notes.as_bytes())?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).ctx("write", path)
}
