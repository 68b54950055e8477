//! `verify mesh DIR`: a mesh of daemons that synced with each other
//! (docs/FORMAT.md sections 3, 4b and 8), as `testgen mesh` writes it:
//! `DIR/mesh.json` names the daemons (index, hostname, id, directory) and
//! the declared conflicts; `DIR/daemon-K/` holds each daemon's fixture (its
//! archive, or an expanded `.thrum/`).
//!
//! What is proven, each with its finding kind:
//! * every daemon's fixture is consistent on its own: the checks of `verify
//!   replay`, findings prefixed with the daemon (`daemon-K: `) and their
//!   files with its directory;
//! * each daemon's id derives from its hostname (`mesh_daemon_id_wrong`);
//!   every event's origin is a daemon of the mesh, and an `agent.register`
//!   comes from the daemon of its hostname (`mesh_origin_wrong`); on every
//!   daemon the events of an origin are the first events of that origin's
//!   own log, in its order (`mesh_origin_order`);
//! * an `event_id` has the same JSON on every daemon that holds it, except
//!   `sequence` (`mesh_event_differs`);
//! * checkpoints: one per other daemon, `idle`, its time plausible
//!   (`mesh_checkpoint_invalid`); never ahead of the peer's log
//!   (`mesh_checkpoint_ahead`); every event of peer P up to A's checkpoint
//!   for P is held by A (`mesh_checkpoint_gap`); `var/peers.json` lists
//!   exactly the other daemons (`mesh_peers_invalid`);
//! * every remote event a daemon holds was available from some peer at or
//!   below its checkpoint for that peer (`mesh_event_unexplained`);
//! * `converged`: every daemon holds every event (`mesh_event_missing`), its
//!   checkpoints are at its peers' last sequence (`mesh_checkpoint_invalid`),
//!   and the projected rows are the same on every daemon except
//!   AUTOINCREMENT ids, heartbeat columns and the declared conflicts
//!   (`mesh_rows_differ`); each declared conflict is reported with every
//!   daemon's values (`mesh_conflict`, info).
//!
//! Memory does not grow with the events: the cross-daemon checks are merge
//! joins of cursors over key-ordered queries (the `events` of every daemon
//! by `event_id`, the events of one origin by `sequence`, the projected
//! tables by key) and a few lookups by primary key.

use crate::checks::{self, daemon_id_of, first_difference, Mode};
use crate::compare::TableStats;
use crate::error::InputError;
use crate::extract::Limits;
use crate::findings::{Finding, Findings, Kind};
use crate::input::{self, Tree};
use crate::report::Report;
use crate::rowdiff::{self, RowDiff};
use crate::value::{quote_ident, Val};
use crate::verify::FixtureDb;
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path};
use thrum_schemas::catalogue;

/// The most daemons a `mesh.json` may declare (as `testgen mesh --daemons`):
/// more is refused before any daemon is opened.
pub const MAX_DAEMONS: usize = 64;
/// The most conflicts a `mesh.json` may declare (each is looked up on every
/// daemon).
pub const MAX_CONFLICTS: usize = 100_000;

/// What `verify mesh` checks and how.
#[derive(Debug, Clone)]
pub struct MeshOptions {
    /// Findings listed in detail per (kind, table); 0 = all.
    pub max_diffs: usize,
    /// Limits of each archive's extraction.
    pub limits: Limits,
    /// Check each daemon's manifest, and `DIR/SHA256SUMS`.
    pub check_manifest: bool,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions { max_diffs: 20, limits: Limits::default(), check_manifest: true }
    }
}

/// `mesh.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct MeshSpec {
    /// `mesh`.
    pub kind: String,
    /// `converged` or `lagging`.
    pub scenario: String,
    /// The daemons, by index.
    pub daemons: Vec<DaemonSpec>,
    /// The declared conflicts.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

/// One daemon of `mesh.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct DaemonSpec {
    /// 1..=N.
    pub index: u32,
    /// Its host.
    pub hostname: String,
    /// Its id (derived from the hostname).
    pub daemon_id: String,
    /// Its directory in DIR (one path component).
    pub dir: String,
    /// Its archive, relative to DIR (`daemon-K/thrum-fixture.tar.zst`).
    #[serde(default)]
    pub archive: Option<String>,
}

/// A declared conflict of `mesh.json`: a row whose value depends on arrival order.
#[derive(Debug, Clone, Deserialize)]
pub struct Conflict {
    /// `agent_reregister`, `group_update`.
    pub kind: String,
    /// The table of the row.
    pub table: String,
    /// The primary-key values of the row, in primary-key column order.
    pub key: Vec<String>,
    /// The columns whose values may differ between daemons.
    pub columns: Vec<String>,
    /// The conflicting events.
    #[serde(default)]
    pub event_ids: Vec<String>,
    /// The indexes of the daemons that wrote them.
    #[serde(default)]
    pub daemons: Vec<u32>,
}

fn bad_spec(path: &Path, reason: impl Into<String>) -> InputError {
    InputError::Unreadable { path: path.to_path_buf(), reason: reason.into() }
}

/// Reads and checks the shape of `DIR/mesh.json` (unusable input when it
/// cannot be used at all).
pub fn read_spec(dir: &Path) -> Result<MeshSpec, InputError> {
    let p = dir.join("mesh.json");
    if !thrum_io::regular::exists_at_all(dir) {
        return Err(InputError::NotFound { path: dir.to_path_buf() });
    }
    let bytes = thrum_io::regular::read_regular_at_most(&p, thrum_io::regular::DOCUMENT_MAX).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound if !thrum_io::regular::exists_at_all(&p) => InputError::WrongKind {
            path: dir.to_path_buf(),
            found: "a directory without mesh.json".into(),
            expected: "a mesh directory (mesh.json and daemon-K/)",
        },
        _ => InputError::io(&p, e),
    })?;
    let spec: MeshSpec = serde_json::from_slice(&bytes).map_err(|e| bad_spec(&p, format!("not a mesh description: {e}")))?;
    if spec.kind != "mesh" {
        return Err(bad_spec(&p, format!("kind is {:?}, expected \"mesh\"", spec.kind)));
    }
    if spec.scenario != "converged" && spec.scenario != "lagging" {
        return Err(bad_spec(&p, format!("scenario is {:?}, expected \"converged\" or \"lagging\"", spec.scenario)));
    }
    if !(2..=MAX_DAEMONS).contains(&spec.daemons.len()) {
        return Err(bad_spec(&p, format!("{} daemon(s); a mesh has 2 to {MAX_DAEMONS}", spec.daemons.len())));
    }
    if spec.conflicts.len() > MAX_CONFLICTS {
        return Err(bad_spec(&p, format!("{} declared conflicts; at most {MAX_CONFLICTS} are checked", spec.conflicts.len())));
    }
    let (mut ids, mut dirs) = (HashSet::new(), HashSet::new());
    for (i, d) in spec.daemons.iter().enumerate() {
        if d.index as usize != i + 1 {
            return Err(bad_spec(
                &p,
                format!("daemon {} has index {}; the daemons are listed by index 1..={}", i + 1, d.index, spec.daemons.len()),
            ));
        }
        let mut comps = Path::new(&d.dir).components();
        if !matches!((comps.next(), comps.next()), (Some(Component::Normal(_)), None)) {
            return Err(bad_spec(&p, format!("daemon {}: dir {:?} is not one directory name inside {}", d.index, d.dir, dir.display())));
        }
        if !ids.insert(d.daemon_id.as_str()) | !dirs.insert(d.dir.as_str()) {
            return Err(bad_spec(&p, format!("daemon {}: its daemon_id or dir is another daemon's", d.index)));
        }
    }
    Ok(spec)
}

/// One daemon, opened.
struct Daemon {
    spec: DaemonSpec,
    tree: Tree,
    db: FixtureDb,
}

impl Daemon {
    fn label(&self) -> String {
        format!("daemon-{}", self.spec.index)
    }
    fn open(&self) -> Result<Connection, InputError> {
        self.db.open(&self.tree.shown("var/messages.db"))
    }
}

/// A finding of one daemon's own verification, named as the daemon's.
fn prefixed(mut f: Finding, d: &DaemonSpec) -> Finding {
    f.message = format!("daemon-{}: {}", d.index, f.message);
    // paths inside the tree are relative to the directory holding `.thrum`;
    // others (a manifest beside the archive) are shown as they were found
    if let Some(file) = f.file.take() {
        f.file = Some(if file == ".thrum" || file.starts_with(".thrum/") { format!("{}/{file}", d.dir) } else { file });
    }
    f
}

/// Verifies the mesh in DIR.
pub fn verify_mesh(dir: &Path, opts: &MeshOptions) -> Result<Report, InputError> {
    let spec = read_spec(dir)?;
    let mut findings = Findings::new(opts.max_diffs);
    let mut summary: BTreeMap<String, Value> = BTreeMap::new();
    let mut tables: Vec<TableStats> = Vec::new();
    summary.insert("scenario".into(), json!(spec.scenario));
    summary.insert("daemons".into(), json!(spec.daemons.len()));
    // DIR/SHA256SUMS covers the daemons' files: none is expected beside their archives
    let mut sums = false;
    if opts.check_manifest {
        if let Some(p) = crate::manifest::check_sums_file(dir, "mesh.json", &mut findings) {
            summary.insert("sha256sums".into(), json!(p.display().to_string()));
            sums = true;
        }
    }
    // every daemon on its own, one at a time
    let mut daemons: Vec<Daemon> = Vec::with_capacity(spec.daemons.len());
    let mut version = None;
    for d in &spec.daemons {
        let ddir = dir.join(&d.dir);
        // one fixture per daemon (refused otherwise), the archive mesh.json names
        let path = input::resolve(&ddir, input::Generation::V13)?;
        let archive = (path != ddir).then(|| path.file_name().map(|n| n.to_string_lossy().into_owned())).flatten();
        if let (Some(name), Some(declared)) = (archive, &d.archive) {
            let found = format!("{}/{name}", d.dir);
            if *declared != found {
                findings.push(
                    Finding::new(
                        Kind::MeshSpecInvalid,
                        format!("daemon {}: its archive is {found}, not the {declared} mesh.json names", d.index),
                    )
                    .file("mesh.json"),
                );
            }
        }
        let tree = input::open(&path, &opts.limits)?;
        if tree.is_v5_layout() {
            return Err(InputError::V5Layout { path });
        }
        let ropts = crate::Options { max_diffs: 0, limits: opts.limits, mode: Mode::Fixture, check_manifest: opts.check_manifest };
        let mut own = Findings::new(opts.max_diffs);
        let mut own_summary = BTreeMap::new();
        let (own_tables, v, _) = crate::verify::verify_into(&tree, &ropts, &mut own, &mut own_summary)?;
        version = version.or(v);
        let errors = own.errors();
        findings.absorb(own, |k| !(sums && k == Kind::ChecksumsAbsent), |f| prefixed(f, d));
        for mut t in own_tables {
            t.table = format!("daemon-{}/{}", d.index, t.table);
            tables.push(t);
        }
        let events = own_summary.get("jsonl_events").cloned().unwrap_or(Value::Null);
        summary.insert(
            format!("daemon-{}", d.index),
            json!(format!(
                "{} ({}, {}): {events} events, {}",
                d.hostname,
                d.daemon_id,
                tree.display(),
                if errors == 0 { "consistent on its own".to_string() } else { format!("{errors} error finding(s) on its own") }
            )),
        );
        let db = FixtureDb::prepare(&tree.database()?)?;
        daemons.push(Daemon { spec: d.clone(), tree, db });
    }
    let conns: Vec<Connection> = daemons.iter().map(Daemon::open).collect::<Result<_, _>>()?;
    // the cross checks read these tables of every daemon
    for (d, c) in daemons.iter().zip(&conns) {
        for table in ["events", "sync_checkpoints"] {
            if let Err(e) = c.prepare(&format!("SELECT * FROM {table} LIMIT 0")) {
                return Err(InputError::Unreadable {
                    path: d.tree.shown("var/messages.db"),
                    reason: format!("{}: the table {table}, which the mesh checks read, cannot be read: {e}", d.label()),
                });
            }
        }
    }
    let unreadable = |what: &str, e: rusqlite::Error| InputError::Unreadable { path: dir.to_path_buf(), reason: format!("{what}: {e}") };

    check_ids(&daemons, &mut findings);
    let max_seq: Vec<i64> = conns
        .iter()
        .map(|c| c.query_row("SELECT coalesce(max(sequence), 0) FROM events", [], |r| r.get::<_, i64>(0)))
        .collect::<rusqlite::Result<_>>()
        .map_err(|e| unreadable("reading the events tables", e))?;
    let cps = check_checkpoints(&daemons, &conns, &max_seq, spec.scenario == "converged", &mut findings)
        .map_err(|e| unreadable("reading the sync checkpoints", e))?;
    check_peers(&daemons, &mut findings);
    let held = check_events(&daemons, &conns, &cps, spec.scenario == "converged", &mut findings)
        .map_err(|e| unreadable("reading the events tables", e))?;
    summary.insert("events".into(), json!(format!("{} distinct event ids; held per daemon: {:?}", held.0, held.1)));
    check_origin_order(&daemons, &conns, &mut findings).map_err(|e| unreadable("reading the events of each origin", e))?;
    check_conflicts(&spec, &daemons, &conns, &mut findings).map_err(|e| unreadable("reading the rows of the declared conflicts", e))?;
    if spec.scenario == "converged" {
        let n = check_rows(&spec, &daemons, &conns, &mut findings).map_err(|e| unreadable("comparing the daemons' rows", e))?;
        summary.insert("rows".into(), json!(format!("projected rows compared with daemon-1's: {n} undeclared difference(s)")));
    }
    drop(conns);
    // an interrupted read proves nothing, whatever it reported
    for d in &daemons {
        d.db.settle(&d.tree.shown("var/messages.db"))?;
    }
    Ok(Report::new("mesh", dir.display().to_string(), version, summary, tables, findings))
}

/// Each daemon's id is derived from its hostname.
fn check_ids(daemons: &[Daemon], findings: &mut Findings) {
    for d in daemons {
        let want = daemon_id_of(&d.spec.hostname);
        if d.spec.daemon_id != want {
            findings.push(
                Finding::new(
                    Kind::MeshDaemonIdWrong,
                    format!(
                        "{}: the daemon_id of mesh.json is not derived from its hostname {:?} (docs/FORMAT.md section 3)",
                        d.label(),
                        d.spec.hostname
                    ),
                )
                .file("mesh.json")
                .key(format!("index={}", d.spec.index))
                .values(want, d.spec.daemon_id.clone()),
            );
        }
    }
}

/// `cps[a][p]`: daemon a's checkpoint for daemon p (0 when it has none).
type Checkpoints = Vec<Vec<i64>>;

/// The unix second of an RFC 3339 timestamp (rounded down).
fn unix_second(s: &str) -> Option<i64> {
    crate::util::ts(s).map(|us| us.div_euclid(1_000_000))
}

/// The checkpoint rows of every daemon.
fn check_checkpoints(
    daemons: &[Daemon],
    conns: &[Connection],
    max_seq: &[i64],
    converged: bool,
    findings: &mut Findings,
) -> rusqlite::Result<Checkpoints> {
    let n = daemons.len();
    let by_id: HashMap<&str, usize> = daemons.iter().enumerate().map(|(i, d)| (d.spec.daemon_id.as_str(), i)).collect();
    let mut cps = vec![vec![0i64; n]; n];
    for (a, d) in daemons.iter().enumerate() {
        let mut seen = vec![false; n];
        let mut st = conns[a].prepare(
            "SELECT peer_daemon_id, last_synced_sequence, last_sync_timestamp, sync_status FROM sync_checkpoints ORDER BY peer_daemon_id",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let peer = Val::from_ref(r.get_ref(0)?);
            let (seq, at, status) = (Val::from_ref(r.get_ref(1)?), Val::from_ref(r.get_ref(2)?), Val::from_ref(r.get_ref(3)?));
            let key = format!("peer_daemon_id={}", crate::value::plain(&peer));
            let bad = |msg: String| {
                Finding::new(Kind::MeshCheckpointInvalid, format!("{}: {msg}", d.label())).table("sync_checkpoints").key(key.clone())
            };
            let Some(p) = peer.as_str().and_then(|p| by_id.get(p).copied()).filter(|&p| p != a) else {
                findings.push(bad("a checkpoint for a daemon that is not one of its peers in the mesh".into()));
                continue;
            };
            seen[p] = true;
            let (Some(seq), Some(at)) = (seq.as_int(), at.as_int()) else {
                findings.push(bad(format!("last_synced_sequence {seq} and last_sync_timestamp {at} must be integers")));
                continue;
            };
            cps[a][p] = seq.max(0);
            let peer_label = daemons[p].label();
            if status.as_str() != Some("idle") {
                findings.push(
                    bad("sync_status of a stopped daemon after good pulls".into()).column("sync_status").values("idle", status.to_string()),
                );
            }
            if seq < 0 {
                findings.push(bad("negative last_synced_sequence".into()).column("last_synced_sequence").values(">= 0", seq.to_string()));
            }
            if at < 0 {
                findings.push(bad("negative last_sync_timestamp".into()).column("last_sync_timestamp").values(">= 0", at.to_string()));
            }
            if seq > max_seq[p] {
                findings.push(
                    Finding::new(
                        Kind::MeshCheckpointAhead,
                        format!("{}: the checkpoint for {peer_label} is beyond the last sequence of {peer_label}'s log", d.label()),
                    )
                    .table("sync_checkpoints")
                    .key(key.clone())
                    .column("last_synced_sequence")
                    .values(format!("<= {}", max_seq[p]), seq.to_string()),
                );
            } else if seq > 0 {
                // the pull came after the peer held the event at that sequence
                let t: Option<String> = conns[p].query_row("SELECT timestamp FROM events WHERE sequence = ?1", [seq], |r| r.get(0)).ok();
                if let Some(min) = t.as_deref().and_then(unix_second) {
                    if at < min {
                        findings.push(
                            bad(format!(
                                "last_sync_timestamp is before the event at sequence {seq} of {peer_label} ({})",
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
                    bad(format!("converged, yet the checkpoint for {peer_label} trails its log (a last pull would bring something)"))
                        .column("last_synced_sequence")
                        .values(max_seq[p].to_string(), seq.to_string()),
                );
            }
        }
        for (p, s) in seen.iter().enumerate() {
            if !s && p != a {
                findings.push(
                    Finding::new(Kind::MeshCheckpointInvalid, format!("{}: no checkpoint for its peer {}", d.label(), daemons[p].label()))
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
fn check_peers(daemons: &[Daemon], findings: &mut Findings) {
    for (a, d) in daemons.iter().enumerate() {
        let file = format!("{}/.thrum/var/peers.json", d.spec.dir);
        let bad = |msg: String| Finding::new(Kind::MeshPeersInvalid, format!("{}: {msg}", d.label())).file(file.clone());
        let bytes = match thrum_io::regular::read_regular_at_most(&d.tree.path("var/peers.json"), thrum_io::regular::DOCUMENT_MAX) {
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
                None => findings.push(bad(format!("entry {} names daemon_id {id:?}, which is not one of its peers in the mesh", i + 1))),
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
fn check_events(
    daemons: &[Daemon],
    conns: &[Connection],
    cps: &Checkpoints,
    converged: bool,
    findings: &mut Findings,
) -> rusqlite::Result<(u64, Vec<u64>)> {
    let n = daemons.len();
    let by_id: HashMap<&str, usize> = daemons.iter().enumerate().map(|(i, d)| (d.spec.daemon_id.as_str(), i)).collect();
    let mut stmts = conns
        .iter()
        .map(|c| c.prepare("SELECT event_id, sequence, origin_daemon, event_json, type FROM events ORDER BY event_id COLLATE BINARY"))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut rows = stmts.iter_mut().map(|s| s.query([])).collect::<rusqlite::Result<Vec<_>>>()?;
    let mut kinds: Vec<String> = vec![String::new(); n];
    let next = |i: usize, rows: &mut Vec<rusqlite::Rows<'_>>, kinds: &mut Vec<String>| -> rusqlite::Result<Option<Head>> {
        let Some(r) = rows[i].next()? else { return Ok(None) };
        let text = |k: usize| -> rusqlite::Result<String> { Ok(Val::from_ref(r.get_ref(k)?).as_str().unwrap_or("").to_owned()) };
        kinds[i] = text(4)?;
        Ok(Some(Head { id: text(0)?, seq: Val::from_ref(r.get_ref(1)?).as_int().unwrap_or(0), origin: text(2)?, json: text(3)? }))
    };
    let mut heads: Vec<Option<Head>> = Vec::with_capacity(n);
    for i in 0..n {
        heads.push(next(i, &mut rows, &mut kinds)?);
    }
    let (mut distinct, mut held) = (0u64, vec![0u64; n]);
    while let Some(id) = heads.iter().flatten().map(|h| h.id.as_str()).min().map(str::to_owned) {
        distinct += 1;
        let holders: Vec<usize> = (0..n).filter(|&i| heads[i].as_ref().is_some_and(|h| h.id == id)).collect();
        let key = format!("event_id={id}");
        let first = holders[0];
        let (h0, kind0) = (heads[first].as_ref().map(|h| (h.origin.clone(), h.json.clone())), kinds[first].clone());
        let (origin, json0) = h0.unwrap_or_default();
        let stripped0 = without_sequence(&json0).into_owned();
        // the same JSON on every holder, except `sequence`
        for &i in &holders[1..] {
            let Some(h) = heads[i].as_ref() else { continue };
            let s = without_sequence(&h.json);
            if s != stripped0 || h.origin != origin {
                findings.push(
                    Finding::new(
                        Kind::MeshEventDiffers,
                        format!(
                            "{} and {} hold different JSON for this event (beyond its sequence): {}",
                            daemons[first].label(),
                            daemons[i].label(),
                            first_difference(&stripped0, &s, (&daemons[first].label(), &daemons[i].label()))
                        ),
                    )
                    .table("events")
                    .key(key.clone()),
                );
            }
        }
        // its origin is a daemon of the mesh; a registration comes from its host's daemon
        let o = by_id.get(origin.as_str()).copied();
        if o.is_none() {
            findings.push(
                Finding::new(
                    Kind::MeshOriginWrong,
                    format!("origin_daemon {origin:?} is no daemon of the mesh (held by {})", labels(daemons, &holders)),
                )
                .table("events")
                .key(key.clone()),
            );
        }
        if kind0 == "agent.register" {
            let host =
                serde_json::from_str::<Value>(&json0).ok().and_then(|v| v.get("hostname").and_then(Value::as_str).map(str::to_owned));
            if let Some(h) = host.filter(|h| !h.is_empty()) {
                let want = daemon_id_of(&h);
                if want != origin {
                    findings.push(
                        Finding::new(
                            Kind::MeshOriginWrong,
                            format!("agent.register of an agent on host {h:?} written by another daemon than that host's"),
                        )
                        .table("events")
                        .key(key.clone())
                        .column("origin_daemon")
                        .values(want, origin.clone()),
                    );
                }
            }
        }
        let seq_of = |i: usize| heads[i].as_ref().map_or(0, |h| h.seq);
        for a in 0..n {
            let holds = holders.contains(&a);
            if !holds {
                if converged {
                    findings.push(
                        Finding::new(
                            Kind::MeshEventMissing,
                            format!("converged, yet {} lacks an event the others hold ({kind0})", daemons[a].label()),
                        )
                        .table("events")
                        .key(key.clone()),
                    );
                }
                // a peer's event at or below the checkpoint for that peer
                for &p in &holders {
                    if seq_of(p) <= cps[a][p] {
                        findings.push(
                            Finding::new(
                                Kind::MeshCheckpointGap,
                                format!(
                                    "{} lacks this {kind0} event, which {} holds at sequence {}, at or below {}'s checkpoint {} for it",
                                    daemons[a].label(),
                                    daemons[p].label(),
                                    seq_of(p),
                                    daemons[a].label(),
                                    cps[a][p]
                                ),
                            )
                            .table("events")
                            .key(key.clone()),
                        );
                    }
                }
            } else if o != Some(a) {
                // a remote event: pulled from a peer at or below its checkpoint
                let explained = holders.iter().any(|&p| p != a && seq_of(p) <= cps[a][p]);
                if !explained {
                    findings.push(
                        Finding::new(
                            Kind::MeshEventUnexplained,
                            format!(
                                "{} holds this remote {kind0} event (sequence {}), yet no peer holds it at or below {}'s checkpoint for that peer",
                                daemons[a].label(),
                                seq_of(a),
                                daemons[a].label()
                            ),
                        )
                        .table("events")
                        .key(key.clone()),
                    );
                }
            }
        }
        for &i in &holders {
            held[i] += 1;
            heads[i] = next(i, &mut rows, &mut kinds)?;
        }
    }
    Ok((distinct, held))
}

fn labels(daemons: &[Daemon], which: &[usize]) -> String {
    which.iter().map(|&i| daemons[i].label()).collect::<Vec<_>>().join(", ")
}

/// On every daemon, the events of each origin are the first events of that
/// origin's own log, in its order (pulls keep the peer's order and skip
/// only what is already held).
fn check_origin_order(daemons: &[Daemon], conns: &[Connection], findings: &mut Findings) -> rusqlite::Result<()> {
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
                                "the events of {} ({}) on {} are not the first events of {}'s own log in its order: the {k}th differs",
                                dx.label(),
                                dx.spec.daemon_id,
                                da.label(),
                                dx.label()
                            ),
                        )
                        .table("events")
                        .values(format!("{} (from {}'s log)", crate::value::plain(&want), dx.label()), crate::value::plain(&got)),
                    );
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The catalogue table of a conflict and the indexes of its key and
/// columns, or why the conflict cannot be read.
fn conflict_shape(c: &Conflict) -> Result<(&'static catalogue::Table, Vec<&'static str>), String> {
    let t = catalogue::projected().find(|t| t.name == c.table).ok_or_else(|| format!("table {:?} is not a projected table", c.table))?;
    let key = conflict_key(t);
    if c.key.len() != key.len() {
        return Err(format!("key {:?} does not have the {} values of {}'s key {key:?}", c.key, key.len(), t.name));
    }
    if c.columns.is_empty() {
        return Err("names no column that may differ".into());
    }
    let mut cols = Vec::new();
    for col in &c.columns {
        if key.contains(&col.as_str()) {
            return Err(format!("column {col:?} is part of {}'s key, which a conflict cannot change", t.name));
        }
        match t.columns.iter().find(|x| x.name == col) {
            Some(x) => cols.push(x.name),
            None => return Err(format!("column {col:?} is not a column of {}", t.name)),
        }
    }
    Ok((t, cols))
}

/// The columns naming a conflict's row: the primary key, or for a table
/// with an AUTOINCREMENT id (which differs between daemons) its natural
/// key, the key rows are matched by.
fn conflict_key(t: &catalogue::Table) -> &'static [&'static str] {
    if t.autoincrement {
        t.natural_key
    } else {
        t.primary_key
    }
}

/// Each declared conflict, with every daemon's values (`mesh_conflict`).
fn check_conflicts(spec: &MeshSpec, daemons: &[Daemon], conns: &[Connection], findings: &mut Findings) -> rusqlite::Result<()> {
    for (i, c) in spec.conflicts.iter().enumerate() {
        let (t, cols) = match conflict_shape(c) {
            Ok(x) => x,
            Err(why) => {
                findings.push(Finding::new(Kind::MeshSpecInvalid, format!("conflict {}: {why}", i + 1)).file("mesh.json"));
                continue;
            }
        };
        if c.daemons.iter().any(|&k| k == 0 || k as usize > daemons.len()) {
            findings.push(
                Finding::new(Kind::MeshSpecInvalid, format!("conflict {}: daemons {:?} are not indexes of the mesh", i + 1, c.daemons))
                    .file("mesh.json"),
            );
        } else if c.event_ids.is_empty() || c.event_ids.len() != c.daemons.len() {
            findings.push(
                Finding::new(
                    Kind::MeshSpecInvalid,
                    format!(
                        "conflict {}: event_ids and daemons must name the conflicting events and, one for each, the daemon that wrote it",
                        i + 1
                    ),
                )
                .file("mesh.json"),
            );
        } else {
            // each declared event is held somewhere, written by the daemon named for it
            for (eid, &k) in c.event_ids.iter().zip(&c.daemons) {
                let mut origin = None;
                for conn in conns {
                    origin = conn
                        .query_row("SELECT origin_daemon FROM events WHERE event_id = ?1", [eid], |r| r.get::<_, String>(0))
                        .optional()?;
                    if origin.is_some() {
                        break;
                    }
                }
                let writer = &daemons[k as usize - 1];
                let why = match origin {
                    None => Some(format!("event {eid} is held by no daemon")),
                    Some(o) if o != writer.spec.daemon_id => Some(format!("event {eid} was written by {o}, not by {}", writer.label())),
                    Some(_) => None,
                };
                if let Some(why) = why {
                    findings.push(Finding::new(Kind::MeshSpecInvalid, format!("conflict {}: {why}", i + 1)).file("mesh.json"));
                }
            }
        }
        let show: Vec<&str> = if cols.is_empty() { t.columns.iter().map(|c| c.name).collect() } else { cols };
        let sql = format!(
            "SELECT {} FROM {} WHERE {}",
            show.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
            quote_ident(t.name),
            conflict_key(t).iter().enumerate().map(|(k, c)| format!("{} = ?{}", quote_ident(c), k + 1)).collect::<Vec<_>>().join(" AND ")
        );
        let mut values = Vec::new();
        let mut distinct: Vec<Vec<Val>> = Vec::new();
        for (d, conn) in daemons.iter().zip(conns) {
            let mut st = conn.prepare(&sql)?;
            let mut rows = st.query(rusqlite::params_from_iter(c.key.iter()))?;
            let text = match rows.next()? {
                Some(r) => {
                    let vals: Vec<Val> = (0..show.len()).map(|k| r.get_ref(k).map(Val::from_ref)).collect::<rusqlite::Result<_>>()?;
                    let s = show.iter().zip(&vals).map(|(c, v)| format!("{c}={v}")).collect::<Vec<_>>().join(", ");
                    if !distinct.contains(&vals) {
                        distinct.push(vals);
                    }
                    s
                }
                None => "no row".to_string(),
            };
            values.push(format!("{}: {text}", d.label()));
        }
        let outcome = if distinct.len() > 1 { "the daemons differ" } else { "every daemon holds the same values" };
        findings.push(
            Finding::new(
                Kind::MeshConflict,
                format!("declared conflict {} (events {}, written by daemons {:?}): {outcome}", c.kind, c.event_ids.join(", "), c.daemons),
            )
            .table(t.name)
            .key(crate::value::key_text(
                conflict_key(t),
                &c.key.iter().map(|k| Val::text(k)).collect::<Vec<_>>(),
                &(0..c.key.len()).collect::<Vec<_>>(),
            ))
            .actual(values.join("; ")),
        );
    }
    Ok(())
}

/// Converged: every projected table of each daemon against daemon-1's,
/// except AUTOINCREMENT ids, heartbeat columns and the declared conflicts;
/// returns the number of undeclared differences.
fn check_rows(spec: &MeshSpec, daemons: &[Daemon], conns: &[Connection], findings: &mut Findings) -> rusqlite::Result<usize> {
    // (table, key, column) of every declared conflict: one lookup per difference
    let declared: HashSet<(&str, Vec<&str>, &str)> = spec
        .conflicts
        .iter()
        .flat_map(|c| c.columns.iter().map(move |col| (c.table.as_str(), c.key.iter().map(String::as_str).collect(), col.as_str())))
        .collect();
    let is_declared = |table: &str, key: &[Val], column: Option<&str>| {
        let (Some(column), Some(key)) = (column, key.iter().map(Val::as_str).collect::<Option<Vec<&str>>>()) else { return false };
        declared.contains(&(table, key, column))
    };
    let mut n = 0;
    for t in catalogue::projected() {
        let mut ignore: Vec<&str> = t.local_columns.to_vec();
        if t.autoincrement {
            ignore.extend(t.primary_key.iter().copied());
        }
        for b in 1..daemons.len() {
            let (la, lb) = (daemons[0].label(), daemons[b].label());
            rowdiff::diff_table(t, &conns[0], &conns[b], &ignore, &mut |d| {
                let f = match d {
                    // a conflict names its row by the key rows are matched by
                    RowDiff::Cell { match_vals, column, .. } if is_declared(t.name, &match_vals, Some(column)) => return,
                    RowDiff::Cell { key, column, a, b, .. } => {
                        Finding::new(Kind::MeshRowsDiffer, format!("{la} and {lb} project another value (no declared conflict)"))
                            .key(key)
                            .column(column)
                            .values(format!("{a} ({la})"), format!("{b} ({lb})"))
                    }
                    RowDiff::OnlyA { key, row, .. } => {
                        Finding::new(Kind::MeshRowsDiffer, format!("row of {la} that {lb} does not project: {row}")).key(key)
                    }
                    RowDiff::OnlyB { key, row, .. } => {
                        Finding::new(Kind::MeshRowsDiffer, format!("row of {lb} that {la} does not project: {row}")).key(key)
                    }
                };
                n += 1;
                findings.push(f.table(t.name));
            })?;
        }
    }
    Ok(n)
}
