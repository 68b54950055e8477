//! Table rows straight from the plan, in primary-key order, as catalogue
//! cells. Every table sink (SQLite, Parquet) consumes these; none derives
//! rows on its own.

use crate::plan::{FateKind, Plan};
use crate::render::Scratch;
use crate::timeline::TimelineEvent;
use std::borrow::Cow;
use thrum_schemas::catalogue::{self as cat, Cell, Table};
use thrum_schemas::events::columns;
use thrum_schemas::time::{rfc3339_nano, sqlite_datetime};

fn ts<'a>(t: i64) -> Cell<'a> {
    Cell::owned(rfc3339_nano(t))
}
fn opt_ts<'a>(t: Option<i64>) -> Cell<'a> {
    t.map_or(Cell::Null, ts)
}
fn nonempty(s: &str) -> Cell<'_> {
    if s.is_empty() {
        Cell::Null
    } else {
        Cell::text(s)
    }
}

/// Tables filled by the message pass (one pass over all messages).
pub const MESSAGE_TABLES: [&Table; 4] =
    [&cat::MESSAGES, &cat::MESSAGE_SCOPES, &cat::MESSAGE_REFS, &cat::MESSAGE_READS];

/// Rows of messages, message_scopes, message_refs and message_reads for
/// messages in `range`, in one pass. `f(table, row)` receives each row; rows
/// of one table arrive in primary-key order.
pub fn message_rows<E>(
    plan: &Plan,
    range: std::ops::Range<u64>,
    f: impl FnMut(&'static Table, &[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    message_rows_in(plan, crate::plan::Era::V13, range, f)
}

/// [`message_rows`] as a daemon of `era` stores them.
pub fn message_rows_in<E>(
    plan: &Plan,
    era: crate::plan::Era,
    range: std::ops::Range<u64>,
    mut f: impl FnMut(&'static Table, &[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    let mut sc = Scratch::default();
    for i in range {
        let m = plan.message(i);
        let st = plan.state(i);
        let format = plan.content_after(&m, st.edits, &mut sc);
        let id = plan.message_id(&m);
        let thread = plan.thread_of(&m);
        let tags = plan.tags_in(&m, era);
        f(
            &cat::MESSAGES,
            &[
                Cell::text(&id),
                Cell::opt_text(thread.as_deref()),
                Cell::text(&plan.agents[m.agent as usize].agent_id),
                Cell::text(&plan.sessions[m.session as usize].session_id),
                ts(m.key.time),
                opt_ts(st.updated_at),
                Cell::text(format.as_str()),
                Cell::text(&sc.content),
                nonempty(&sc.structured),
                Cell::Int(st.deleted_at.is_some() as i64),
                opt_ts(st.deleted_at),
                st.delete_reason.map_or(Cell::Null, nonempty),
                m.authored_by.map_or(Cell::Null, |a| Cell::text(&plan.agents[a as usize].agent_id)),
                Cell::Int(m.disclosed.unwrap_or(false) as i64),
            ],
        )?;
        for (t, v) in &tags.scopes {
            f(&cat::MESSAGE_SCOPES, &[Cell::text(&id), Cell::text(t), Cell::text(v)])?;
        }
        for (t, v) in &tags.refs {
            f(&cat::MESSAGE_REFS, &[Cell::text(&id), Cell::text(t), Cell::text(v)])?;
        }
        if let Some(r) = plan.read(&m) {
            f(
                &cat::MESSAGE_READS,
                &[
                    Cell::text(&id),
                    Cell::text(&plan.sessions[r.session as usize].session_id),
                    Cell::text(&plan.agents[r.agent as usize].agent_id),
                    ts(r.at),
                ],
            )?;
        }
    }
    Ok(())
}

/// The `events` row of a rendered event line.
pub fn event_row<'a>(
    plan: &'a Plan,
    e: &TimelineEvent,
    ty: &'static str,
    line: &'a str,
) -> [Cell<'a>; 6] {
    [
        Cell::owned(e.key.id("evt_")),
        Cell::Int(e.sequence as i64),
        Cell::text(ty),
        ts(e.key.time),
        Cell::text(&plan.origin_daemon),
        Cell::text(line),
    ]
}

/// Event type of a timeline event.
pub fn event_type(e: &TimelineEvent) -> &'static str {
    use crate::plan::Other;
    use crate::timeline::PlanEvent;
    use thrum_schemas::events::types::*;
    match e.ev {
        PlanEvent::Create(_) => MESSAGE_CREATE,
        PlanEvent::Fate(f) => match f.kind {
            FateKind::Edit { .. } => MESSAGE_EDIT,
            FateKind::Delete => MESSAGE_DELETE,
        },
        PlanEvent::Other(o) => match o.what {
            Other::Register(_) => AGENT_REGISTER,
            Other::SessionStart(_) => SESSION_START,
            Other::SessionEnd(_) => SESSION_END,
            Other::GroupCreate(_) => GROUP_CREATE,
            Other::MemberAdd(_) => GROUP_MEMBER_ADD,
            Other::Update(_) => AGENT_UPDATE,
        },
    }
}

/// Rows of every table that is neither a message table nor `events`, in
/// primary-key order.
pub fn small_rows<E>(
    plan: &Plan,
    table: &Table,
    mut f: impl FnMut(&[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    let p = plan;
    match table.name {
        "schema_version" => f(&[
            Cell::Int(thrum_schemas::SCHEMA_VERSION),
            Cell::owned(sqlite_datetime(p.profile.window_start)),
        ])?,
        "agents" => agent_rows(p, &mut f)?,
        "sessions" => session_rows(p, &mut f)?,
        "subscriptions" => subscription_rows(p, &mut f)?,
        "message_edits" => edit_rows(p, &mut f)?,
        "session_scopes" | "session_refs" => tag_rows(p, table.name, &mut f)?,
        "groups" => group_rows(p, &mut f)?,
        "group_members" => member_rows(p, &mut f)?,
        "sync_checkpoints" => checkpoint_rows(p, &mut f)?,
        "agent_work_contexts" => work_context_rows(p, &mut f)?,
        _ => {}
    }
    Ok(())
}

/// `agents`, by id.
fn agent_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    let mut order: Vec<usize> = (0..p.agents.len()).collect();
    order.sort_by(|&a, &b| p.agents[a].agent_id.cmp(&p.agents[b].agent_id));
    for a in order.into_iter().map(|i| &p.agents[i]) {
        f(&[
            Cell::text(&a.agent_id),
            Cell::text(a.kind),
            Cell::text(a.role),
            Cell::text(a.module),
            Cell::text(&a.display),
            Cell::text(&a.hostname),
            ts(a.registered.time),
            ts(a.last_seen),
        ])?;
    }
    Ok(())
}

/// `sessions`, by id.
fn session_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    for s in &p.sessions {
        f(&[
            Cell::text(&s.session_id),
            Cell::text(&p.agents[s.agent as usize].agent_id),
            ts(s.start.time),
            opt_ts(s.end.map(|e| e.time)),
            Cell::opt_text(s.end_reason),
            ts(s.last_seen),
        ])?;
    }
    Ok(())
}

/// `subscriptions`, by id.
fn subscription_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    for s in &p.subscriptions {
        f(&[
            Cell::Int(s.id),
            Cell::text(&p.sessions[s.session as usize].session_id),
            Cell::opt_text(s.scope_type),
            Cell::opt_text(s.scope_value.as_deref()),
            Cell::opt_text(s.mention_role.as_deref()),
            ts(s.created_at),
        ])?;
    }
    Ok(())
}

/// `message_edits`: each edit with the content before and after it.
fn edit_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    let mut sc = Scratch::default();
    let mut old = String::new();
    let mut old_structured = String::new();
    let mut tmp = String::new();
    for fate in &p.fates {
        let FateKind::Edit { n, id } = fate.kind else { continue };
        let m = p.message(fate.message);
        p.content_after(&m, n, &mut sc);
        old.clone_from(&sc.content);
        old_structured.clone_from(&sc.structured);
        // Apply edit n on top of the previous version (not the whole chain again).
        p.apply_edit(&m, n, &mut sc.content, &mut sc.structured, &mut tmp);
        f(&[
            Cell::Int(id),
            Cell::owned(p.message_id(&m)),
            ts(fate.key.time),
            Cell::text(&p.sessions[m.session as usize].session_id),
            Cell::text(&old),
            Cell::text(&sc.content),
            nonempty(&old_structured),
            nonempty(&sc.structured),
        ])?;
    }
    Ok(())
}

/// `session_scopes` or `session_refs` (`table`), by session, type and value.
fn tag_rows<E>(
    p: &Plan,
    table: &str,
    f: &mut impl FnMut(&[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    let tags = if table == "session_scopes" { &p.session_scopes } else { &p.session_refs };
    let mut order: Vec<&crate::plan::SessionTag> = tags.iter().collect();
    order.sort_by(|a, b| {
        (&p.sessions[a.session as usize].session_id, a.tag_type, &a.value).cmp(&(
            &p.sessions[b.session as usize].session_id,
            b.tag_type,
            &b.value,
        ))
    });
    for t in order {
        f(&[
            Cell::text(&p.sessions[t.session as usize].session_id),
            Cell::text(t.tag_type),
            Cell::text(&t.value),
            ts(t.added_at),
        ])?;
    }
    Ok(())
}

/// `groups`, by id.
fn group_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    let mut order: Vec<&crate::plan::Group> = p.groups.iter().collect();
    order.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    for g in order {
        f(&[
            Cell::text(&g.group_id),
            Cell::text(&g.name),
            Cell::opt_text(g.description.as_deref()),
            ts(g.created.time),
            Cell::text(p.actor(g.created_by)),
            Cell::Null,
            Cell::Null,
        ])?;
    }
    Ok(())
}

/// `group_members`, by id.
fn member_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    for m in &p.members {
        f(&[
            Cell::Int(m.id),
            Cell::text(&p.groups[m.group as usize].group_id),
            Cell::text(m.member_type),
            Cell::text(&m.member_value),
            ts(m.added.time),
            Cell::text(p.actor(m.added_by)),
        ])?;
    }
    Ok(())
}

/// `sync_checkpoints`, by peer.
fn checkpoint_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    for c in &p.checkpoints {
        f(&[
            Cell::text(&c.peer),
            Cell::Int(c.last_synced_sequence),
            Cell::Int(c.last_sync_timestamp),
            Cell::text(c.status),
        ])?;
    }
    Ok(())
}

/// `agent_work_contexts`, by session.
fn work_context_rows<E>(p: &Plan, f: &mut impl FnMut(&[Cell]) -> Result<(), E>) -> Result<(), E> {
    for (s, wc) in &p.work_contexts {
        f(&[
            Cell::text(&wc.session_id),
            Cell::text(&p.agents[p.sessions[*s as usize].agent as usize].agent_id),
            Cell::text(&wc.branch),
            Cell::text(&wc.worktree_path),
            Cell::owned(columns::commits(wc.unmerged_commits.as_deref())),
            Cell::owned(columns::strings(wc.uncommitted_files.as_deref())),
            Cell::owned(columns::strings(wc.changed_files.as_deref())),
            Cell::Text(Cow::Borrowed("[]")),
            Cell::text(&wc.git_updated_at),
            Cell::text(&wc.current_task),
            Cell::text(&wc.task_updated_at),
            Cell::text(&wc.intent),
            Cell::text(&wc.intent_updated_at),
        ])?;
    }
    Ok(())
}
