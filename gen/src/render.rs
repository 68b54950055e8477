//! Event lines, exactly as the daemon writes them (sorted keys, Go escaping,
//! full envelope). Rendering writes into caller buffers; nothing here
//! allocates per event beyond ids and the few nested values.

use crate::plan::{Addressing, FateKind, Message, Other, Plan};
use crate::timeline::{PlanEvent, TimelineEvent};
use thrum_schemas::events::types;
use thrum_schemas::gojson::{self, Obj};
use thrum_schemas::time::write_rfc3339_nano;

/// Reusable buffers for rendering.
#[derive(Default)]
pub struct Scratch {
    /// A message's content (see [`Plan::content_after`]).
    pub content: String,
    /// A message's structured value; empty when it has none.
    pub structured: String,
    tmp: String,
    ts: String,
    id: String,
}

/// Scopes and refs of a message, in PK order ((type, value) sorted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags {
    /// `(scope_type, scope_value)` rows of `message_scopes`.
    pub scopes: Vec<(&'static str, String)>,
    /// `(ref_type, ref_value)` rows of `message_refs`.
    pub refs: Vec<(&'static str, String)>,
}

impl Plan {
    /// The scopes and refs the daemon stores for message `m`.
    pub fn tags(&self, m: &Message) -> Tags {
        self.tags_in(m, crate::plan::Era::V13)
    }

    /// Tags as a daemon of `era` writes them: before groups existed (v5), a
    /// group message went out as a plain broadcast.
    pub fn tags_in(&self, m: &Message, era: crate::plan::Era) -> Tags {
        let mut t = Tags::default();
        match m.addressing {
            Addressing::Group(_) if era == crate::plan::Era::V5 => {}
            Addressing::Broadcast => {}
            Addressing::MentionAgent(a) => {
                t.refs.push(("mention", self.agents[a as usize].mention().to_string()))
            }
            Addressing::MentionRole(role) => t.refs.push(("mention", role.to_string())),
            Addressing::Group(g) => {
                let name = self.groups[g as usize].name.clone();
                t.scopes.push(("group", name.clone()));
                t.refs.push(("group", name));
            }
            Addressing::Reply { parent, mention_parent, .. } => {
                let p = self.message(parent);
                t.refs.push(("reply_to", self.message_id(&p)));
                if mention_parent && p.agent != m.agent {
                    t.refs.push(("mention", self.agents[p.agent as usize].mention().to_string()));
                }
            }
        }
        t.refs.sort();
        t.scopes.sort();
        t
    }

    /// Thread id of a reply (the conversation's root message), if any.
    pub fn thread_of(&self, m: &Message) -> Option<String> {
        match m.addressing {
            Addressing::Reply { root, .. } => Some(self.thread_id(&self.message(root))),
            _ => None,
        }
    }

    /// Content and structured value of `m` after its first `edits` edits.
    pub fn content_after(&self, m: &Message, edits: u8, sc: &mut Scratch) -> crate::text::Format {
        let f = self.body(m, &mut sc.content, &mut sc.structured);
        for n in 0..edits {
            self.apply_edit(m, n, &mut sc.content, &mut sc.structured, &mut sc.tmp);
        }
        f
    }
}

/// Renders event `e` as one JSON line (no newline) into `out`.
pub fn line(plan: &Plan, e: &TimelineEvent, out: &mut String, sc: &mut Scratch) {
    line_from(plan, e, &plan.origin_daemon, out, sc)
}

/// Renders event `e` as written first by the daemon `origin` (its
/// `origin_daemon`), with the `sequence` of `e`: the line a daemon of a
/// mesh holds (section 8: a pulled line keeps the writer's origin and
/// takes the puller's sequence).
pub fn line_from(plan: &Plan, e: &TimelineEvent, origin: &str, out: &mut String, sc: &mut Scratch) {
    sc.ts.clear();
    write_rfc3339_nano(&mut sc.ts, e.key.time);
    sc.id.clear();
    e.key.push_id(&mut sc.id, "evt_");
    let ts = std::mem::take(&mut sc.ts);
    let eid = std::mem::take(&mut sc.id);
    let env = Envelope { eid: &eid, od: origin, sequence: e.sequence as i64, ts: &ts };
    let mut o = Obj::new(out);
    match e.ev {
        PlanEvent::Create(m) => create_fields(&mut o, plan, &m, &env, sc),
        PlanEvent::Fate(f) => {
            let m = plan.message(f.message);
            match f.kind {
                FateKind::Edit { n, .. } => edit_fields(&mut o, plan, &m, n, &env, sc),
                FateKind::Delete => {
                    o.str("event_id", env.eid)
                        .str("message_id", &plan.message_id(&m))
                        .str("origin_daemon", env.od);
                    o.opt_str("reason", Some(plan.delete_reason(f.message)));
                    o.int("sequence", env.sequence);
                    o.str("timestamp", env.ts).str("type", types::MESSAGE_DELETE).int("v", 1);
                }
            }
        }
        PlanEvent::Other(ev) => other_fields(&mut o, plan, &ev.what, &env),
    }
    o.end();
    sc.ts = ts;
    sc.id = eid;
}

/// The members every event line has besides its own: its id, the daemon
/// that wrote it first, its sequence and its timestamp.
struct Envelope<'a> {
    eid: &'a str,
    od: &'a str,
    sequence: i64,
    ts: &'a str,
}

/// The members of the `message.create` line of `m`, in key order.
fn create_fields(o: &mut Obj, plan: &Plan, m: &Message, env: &Envelope, sc: &mut Scratch) {
    let format = plan.content_after(m, 0, sc);
    let tags = plan.tags(m);
    o.str("agent_id", &plan.agents[m.agent as usize].agent_id);
    if let Some(a) = m.authored_by {
        o.str("authored_by", &plan.agents[a as usize].agent_id);
    }
    o.raw("body", |w| body_json(w, &sc.content, format.as_str(), &sc.structured));
    if let Some(d) = m.disclosed {
        o.bool("disclosed", d);
    }
    o.str("event_id", env.eid).str("message_id", &plan.message_id(m)).str("origin_daemon", env.od);
    if !tags.refs.is_empty() {
        o.raw("refs", |w| typed_list(w, &tags.refs));
    }
    if !tags.scopes.is_empty() {
        o.raw("scopes", |w| typed_list(w, &tags.scopes));
    }
    o.int("sequence", env.sequence);
    o.str("session_id", &plan.sessions[m.session as usize].session_id);
    if let Some(t) = plan.thread_of(m) {
        o.str("thread_id", &t);
    }
    o.str("timestamp", env.ts).str("type", types::MESSAGE_CREATE).int("v", 1);
}

/// The members of the `message.edit` line of `m`'s edit `n` (from 0).
fn edit_fields(o: &mut Obj, plan: &Plan, m: &Message, n: u8, env: &Envelope, sc: &mut Scratch) {
    let format = plan.content_after(m, n + 1, sc);
    o.raw("body", |w| body_json(w, &sc.content, format.as_str(), &sc.structured));
    o.str("event_id", env.eid).str("message_id", &plan.message_id(m)).str("origin_daemon", env.od);
    o.int("sequence", env.sequence);
    o.str("timestamp", env.ts).str("type", types::MESSAGE_EDIT).int("v", 1);
}

/// The members of a line of `events.jsonl` (registrations, sessions,
/// groups, members, work-context updates), in key order.
fn other_fields(o: &mut Obj, plan: &Plan, what: &Other, env: &Envelope) {
    let (eid, od, ts) = (env.eid, env.od, env.ts);
    match *what {
        Other::Register(a) => {
            let a = &plan.agents[a as usize];
            register_fields(o, a, &a.hostname, eid, od, env.sequence as u64, ts);
        }
        Other::SessionStart(s) => {
            let s = &plan.sessions[s as usize];
            o.str("agent_id", &plan.agents[s.agent as usize].agent_id)
                .str("event_id", eid)
                .str("origin_daemon", od);
            o.int("sequence", env.sequence).str("session_id", &s.session_id);
            o.str("timestamp", ts).str("type", types::SESSION_START).int("v", 1);
        }
        Other::SessionEnd(s) => {
            let s = &plan.sessions[s as usize];
            o.str("event_id", eid).str("origin_daemon", od).opt_str("reason", s.end_reason);
            o.int("sequence", env.sequence).str("session_id", &s.session_id);
            o.str("timestamp", ts).str("type", types::SESSION_END).int("v", 1);
        }
        Other::GroupCreate(g) => {
            let g = &plan.groups[g as usize];
            o.str("created_by", plan.actor(g.created_by))
                .opt_str("description", g.description.as_deref());
            o.str("event_id", eid)
                .str("group_id", &g.group_id)
                .str("name", &g.name)
                .str("origin_daemon", od);
            o.int("sequence", env.sequence)
                .str("timestamp", ts)
                .str("type", types::GROUP_CREATE)
                .int("v", 1);
        }
        Other::MemberAdd(mi) => {
            let m = &plan.members[mi as usize];
            o.str("added_by", plan.actor(m.added_by)).str("event_id", eid);
            o.str("group_id", &plan.groups[m.group as usize].group_id)
                .str("member_type", m.member_type)
                .str("member_value", &m.member_value);
            o.str("origin_daemon", od).int("sequence", env.sequence).str("timestamp", ts);
            o.str("type", types::GROUP_MEMBER_ADD).int("v", 1);
        }
        Other::Update(u) => {
            let u = &plan.updates[u as usize];
            o.str("agent_id", &plan.agents[u.agent as usize].agent_id)
                .str("event_id", eid)
                .str("origin_daemon", od);
            o.int("sequence", env.sequence)
                .str("timestamp", ts)
                .str("type", types::AGENT_UPDATE)
                .int("v", 1);
            o.raw("work_contexts", |w| {
                let v = serde_json::to_value(&u.contexts).unwrap_or(serde_json::Value::Null);
                gojson::push_value(w, &v);
            });
        }
    }
}

/// The members of an `agent.register` line of agent `a` reporting
/// `hostname`.
pub(crate) fn register_fields(
    o: &mut Obj,
    a: &crate::plan::Agent,
    hostname: &str,
    eid: &str,
    od: &str,
    sequence: u64,
    ts: &str,
) {
    o.str("agent_id", &a.agent_id).opt_str("display", Some(&a.display)).str("event_id", eid);
    o.opt_str("hostname", Some(hostname))
        .str("kind", a.kind)
        .str("module", a.module)
        .str("name", &a.name);
    o.str("origin_daemon", od).str("role", a.role).int("sequence", sequence as i64);
    o.str("timestamp", ts)
        .str("type", types::AGENT_REGISTER)
        .int("v", 1)
        .str("worktree", &a.worktree);
}

pub(crate) fn body_json(w: &mut String, content: &str, format: &str, structured: &str) {
    let mut b = Obj::new(w);
    b.str("content", content).str("format", format).opt_str("structured", Some(structured));
    b.end();
}

pub(crate) fn typed_list(w: &mut String, items: &[(&str, String)]) {
    w.push('[');
    for (i, (t, v)) in items.iter().enumerate() {
        if i > 0 {
            w.push(',');
        }
        let mut o = Obj::new(w);
        o.str("type", t).str("value", v);
        o.end();
    }
    w.push(']');
}
