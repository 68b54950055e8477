//! The same plan as a schema-v5 daemon would have written it: one
//! `messages.jsonl` without event ids (some lines without `v`), only the
//! entity types of that era (agents without hostnames, sessions, messages,
//! threads), and the v5 tables.

use crate::plan::{Era, EventKey, FateKind, Message, Other, Plan};
use crate::render::Scratch;
use crate::rng::{Kind, Stream};
use crate::timeline::{PlanEvent, Timeline};
use thrum_schemas::catalogue::Cell;
use thrum_schemas::events::types;
use thrum_schemas::gojson::Obj;
use thrum_schemas::time::{rfc3339_nano, write_rfc3339_nano};

/// A conversation as v5 stored it (`thread.create`, `threads` row).
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    /// Key of its `thread.create` event (just after its first reply).
    pub key: EventKey,
    /// The conversation's `thr_` id.
    pub thread_id: String,
    /// The first line of the conversation's first message, cut to 60
    /// characters.
    pub title: String,
    /// Agent index of its creator (the first reply's sender).
    pub created_by: u32,
}

/// Threads of every conversation that got a reply, created with its first reply.
pub fn threads(plan: &Plan) -> Vec<Thread> {
    let mut first_reply: std::collections::BTreeMap<u64, Message> =
        std::collections::BTreeMap::new();
    for i in 0..plan.profile.messages {
        if plan.kind_of(i) != crate::plan::MsgKind::Reply {
            continue;
        }
        let m = plan.message(i);
        if let crate::plan::Addressing::Reply { root, .. } = m.addressing {
            first_reply.entry(root).or_insert(m);
        }
    }
    let mut sc = Scratch::default();
    let mut out: Vec<Thread> = first_reply
        .into_iter()
        .map(|(root, reply)| {
            let rm = plan.message(root);
            plan.content_after(&rm, 0, &mut sc);
            let first_line = sc.content.lines().next().unwrap_or("").trim_start_matches('#').trim();
            let title: String =
                first_line.chars().take(60).collect::<String>().trim_end().to_string();
            let mut r = Stream::sub(plan.seed, Kind::Thread, root, 5);
            Thread {
                key: EventKey { time: reply.key.time, rand: r.bits(70) },
                thread_id: plan.thread_id(&rm),
                title,
                created_by: reply.agent,
            }
        })
        .collect();
    out.sort_by_key(|t| t.key);
    out
}

/// One v5 event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum V5Event<'a> {
    /// An event of the v13 timeline that the v5 era also had.
    V13(PlanEvent<'a>),
    /// `thread.create` of this thread.
    Thread(&'a Thread),
}

/// The entity types v5 does not have: groups, their members and work-context updates.
fn is_later_entity(what: Other) -> bool {
    matches!(what, Other::GroupCreate(_) | Other::MemberAdd(_) | Other::Update(_))
}

/// v5 events in write order: the v13 timeline without the later entity
/// types, merged with `thread.create`.
pub fn timeline<'a>(
    plan: &'a Plan,
    threads: &'a [Thread],
) -> impl Iterator<Item = (EventKey, V5Event<'a>)> + 'a {
    let mut base = Timeline::new(plan)
        .filter(|e| !matches!(e.ev, PlanEvent::Other(o) if is_later_entity(o.what)))
        .peekable();
    let mut ti = 0;
    std::iter::from_fn(move || {
        let next_base = base.peek().map(|e| e.key);
        let next_thread = threads.get(ti).map(|t| t.key);
        match (next_base, next_thread) {
            (None, None) => None,
            (Some(b), Some(t)) if t < b => {
                ti += 1;
                Some((t, V5Event::Thread(&threads[ti - 1])))
            }
            (None, Some(t)) => {
                ti += 1;
                Some((t, V5Event::Thread(&threads[ti - 1])))
            }
            _ => base.next().map(|e| (e.key, V5Event::V13(e.ev))),
        }
    })
}

/// Older writers omitted `v`: lines in the first half of the window, about half of them.
fn has_v(plan: &Plan, key: &EventKey) -> bool {
    let mid = plan.profile.window_start + (plan.snapshot - plan.profile.window_start) / 2;
    key.time >= mid || key.rand & 1 == 1
}

/// Renders one v5 line (no event_id, origin_daemon or sequence).
pub fn line(plan: &Plan, key: &EventKey, ev: &V5Event, out: &mut String, sc: &mut Scratch) {
    let mut ts = String::with_capacity(27);
    write_rfc3339_nano(&mut ts, key.time);
    let v = has_v(plan, key);
    let mut o = Obj::new(out);
    let tail = |o: &mut Obj, ty: &str| {
        o.str("timestamp", &ts).str("type", ty);
        if v {
            o.int("v", 1);
        }
    };
    match ev {
        V5Event::Thread(t) => {
            o.str("created_by", &plan.agents[t.created_by as usize].agent_id);
            o.str("thread_id", &t.thread_id);
            // "thread_id" < "timestamp" < "title"
            o.str("timestamp", &ts).str("title", &t.title).str("type", types::THREAD_CREATE);
            if v {
                o.int("v", 1);
            }
        }
        V5Event::V13(PlanEvent::Create(m)) => {
            let format = plan.content_after(m, 0, sc);
            let tags = plan.tags_in(m, Era::V5);
            o.str("agent_id", &plan.agents[m.agent as usize].agent_id);
            if let Some(a) = m.authored_by {
                o.str("authored_by", &plan.agents[a as usize].agent_id);
            }
            o.raw("body", |w| {
                crate::render::body_json(w, &sc.content, format.as_str(), &sc.structured)
            });
            if let Some(d) = m.disclosed {
                o.bool("disclosed", d);
            }
            o.str("message_id", &plan.message_id(m));
            if !tags.refs.is_empty() {
                o.raw("refs", |w| crate::render::typed_list(w, &tags.refs));
            }
            if !tags.scopes.is_empty() {
                o.raw("scopes", |w| crate::render::typed_list(w, &tags.scopes));
            }
            o.str("session_id", &plan.sessions[m.session as usize].session_id);
            if let Some(t) = plan.thread_of(m) {
                o.str("thread_id", &t);
            }
            tail(&mut o, types::MESSAGE_CREATE);
        }
        V5Event::V13(PlanEvent::Fate(f)) => {
            let m = plan.message(f.message);
            match f.kind {
                FateKind::Edit { n, .. } => {
                    let format = plan.content_after(&m, n + 1, sc);
                    o.raw("body", |w| {
                        crate::render::body_json(w, &sc.content, format.as_str(), &sc.structured)
                    });
                    o.str("message_id", &plan.message_id(&m));
                    tail(&mut o, types::MESSAGE_EDIT);
                }
                FateKind::Delete => {
                    o.str("message_id", &plan.message_id(&m))
                        .opt_str("reason", Some(plan.delete_reason(f.message)));
                    tail(&mut o, types::MESSAGE_DELETE);
                }
            }
        }
        V5Event::V13(PlanEvent::Other(e)) => match e.what {
            Other::Register(a) => {
                let a = &plan.agents[a as usize];
                o.str("agent_id", &a.agent_id)
                    .opt_str("display", Some(&a.display))
                    .str("kind", a.kind)
                    .str("module", a.module);
                o.str("name", &a.name)
                    .str("role", a.role)
                    .str("timestamp", &ts)
                    .str("type", types::AGENT_REGISTER);
                if v {
                    o.int("v", 1);
                }
                o.str("worktree", &a.worktree);
            }
            Other::SessionStart(s) => {
                let s = &plan.sessions[s as usize];
                o.str("agent_id", &plan.agents[s.agent as usize].agent_id)
                    .str("session_id", &s.session_id);
                tail(&mut o, types::SESSION_START);
            }
            Other::SessionEnd(s) => {
                let s = &plan.sessions[s as usize];
                o.opt_str("reason", s.end_reason).str("session_id", &s.session_id);
                tail(&mut o, types::SESSION_END);
            }
            Other::GroupCreate(_) | Other::MemberAdd(_) | Other::Update(_) => {}
        },
    }
    o.end();
}

/// v5 `agents` rows (no hostname; empty display stored as NULL), key order.
pub fn agent_rows<E>(plan: &Plan, mut f: impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    let mut order: Vec<usize> = (0..plan.agents.len()).collect();
    order.sort_by(|&a, &b| plan.agents[a].agent_id.cmp(&plan.agents[b].agent_id));
    for a in order.into_iter().map(|i| &plan.agents[i]) {
        f(&[
            Cell::text(&a.agent_id),
            Cell::text(a.kind),
            Cell::text(a.role),
            Cell::text(a.module),
            if a.display.is_empty() { Cell::Null } else { Cell::text(&a.display) },
            Cell::owned(rfc3339_nano(a.registered.time)),
            Cell::owned(rfc3339_nano(a.last_seen)),
        ])?;
    }
    Ok(())
}

/// `threads` rows, key order.
pub fn thread_rows<E>(
    plan: &Plan,
    threads: &[Thread],
    mut f: impl FnMut(&[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    let mut order: Vec<&Thread> = threads.iter().collect();
    order.sort_by(|a, b| a.thread_id.cmp(&b.thread_id));
    for t in order {
        f(&[
            Cell::text(&t.thread_id),
            Cell::text(&t.title),
            Cell::owned(rfc3339_nano(t.key.time)),
            Cell::text(&plan.agents[t.created_by as usize].agent_id),
        ])?;
    }
    Ok(())
}

/// Columns of the v5 `agents` table (it differs from v13's).
pub const AGENTS_V5_COLUMNS: &[&str] =
    &["agent_id", "kind", "role", "module", "display", "registered_at", "last_seen_at"];
/// Columns of the v5 `threads` table (gone in v13).
pub const THREADS_COLUMNS: &[&str] = &["thread_id", "title", "created_at", "created_by"];
