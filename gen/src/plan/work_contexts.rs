//! `agent.update` events of the active sessions and the work contexts the
//! daemon's merge rule keeps from them.

use super::{instant, Agent, EventKey, Session, Update, MIN, SEC, TICK};
use crate::rng::{Kind, Stream};
use crate::vocab::*;
use thrum_schemas::events::{Commit, FileChange, WorkContext};
use thrum_schemas::time::{rfc3339_nano, Micros};

/// Most unmerged commits of a work context: when a session's list is
/// full, its branch is merged and the list starts over.
pub const MAX_UNMERGED_COMMITS: usize = 32;

fn sha40(r: &mut Stream) -> String {
    format!("{:032x}{:08x}", r.bits(128), r.bits(32))
}

pub(super) fn build_updates(
    seed: u64,
    agents: &[Agent],
    sessions: &[Session],
    total: u32,
    snapshot: Micros,
) -> (Vec<Update>, Vec<(u32, WorkContext)>) {
    let active: Vec<u32> = (0..sessions.len() as u32).filter(|&s| sessions[s as usize].end.is_none()).collect();
    let mut counts = vec![1u32; active.len()];
    let mut r = Stream::new(seed, Kind::Update, 0);
    for _ in 0..total.saturating_sub(active.len() as u32) {
        counts[r.below(active.len() as u64) as usize] += 1;
    }
    let mut updates = Vec::with_capacity(total as usize);
    let mut finals = Vec::with_capacity(active.len());
    for (k, &s) in active.iter().enumerate() {
        let sess = &sessions[s as usize];
        let agent = &agents[sess.agent as usize];
        let mut r = Stream::new(seed, Kind::Context, s as u64);
        let topic = r.pick(NOUNS).replace(' ', "-").to_lowercase();
        let branch = format!("{}/{}-{}", r.pick(&["feat", "fix", "chore", "perf", "docs"]), agent.module, topic);
        let worktree_path = if agent.worktree == "main" {
            "/home/dev/src/thrum".to_string()
        } else {
            format!("/home/dev/src/thrum/.worktrees/{}", agent.worktree)
        };
        let mut times: Vec<Micros> = (0..counts[k]).map(|_| instant(&mut r, sess.start.time + MIN, snapshot - MIN)).collect();
        times.sort();
        let mut stored: Option<WorkContext> = None;
        let mut commits: Vec<Commit> = Vec::new();
        let mut task = format!("{} the {}", r.pick(TASK_PREFIX), r.pick(NOUNS));
        let mut task_at = sess.start.time;
        let mut intent = format!("{} {}", r.pick(VERBS), r.pick(NOUNS));
        let mut intent_at = sess.start.time;
        for (u, &t) in times.iter().enumerate() {
            let mut r = Stream::sub(seed, Kind::Update, s as u64, u as u64 + 1);
            let mut git_at = t - r.range(1, 50) * SEC;
            // Some updates carry stale git state (a late resend): the merge
            // must keep the stored context for those.
            let stale = u > 0 && r.chance(0.15);
            if stale {
                if let Some(prev) = &stored {
                    let prev_t = thrum_schemas::time::parse_rfc3339(&prev.git_updated_at).unwrap_or(git_at);
                    git_at = if r.chance(0.5) { prev_t } else { prev_t - r.range(1, 600) * SEC };
                }
            } else if r.chance(0.6) {
                let files: Vec<String> = (0..r.range(1, 4)).map(|_| (*r.pick(FILES)).to_string()).collect();
                if commits.len() == MAX_UNMERGED_COMMITS {
                    // The branch is merged: its commits leave the list, so
                    // an update costs the same however many came before.
                    commits.clear();
                }
                commits.push(Commit {
                    sha: sha40(&mut r),
                    message: format!("{}: {} {}", agent.module, r.pick(VERBS), r.pick(NOUNS)),
                    files,
                });
            }
            if r.chance(0.2) {
                task = format!("{} the {}", r.pick(TASK_PREFIX), r.pick(NOUNS));
                task_at = t - r.range(1, 30) * SEC;
            }
            if r.chance(0.3) {
                intent = format!("{} {} ({})", r.pick(VERBS), r.pick(NOUNS), r.pick(NON_ASCII));
                intent_at = t - r.range(1, 30) * SEC;
            }
            let uncommitted: Vec<String> = (0..r.range(0, 3)).map(|_| (*r.pick(FILES)).to_string()).collect();
            let mut changed: Vec<String> =
                commits.iter().flat_map(|c| c.files.iter().cloned()).chain(uncommitted.iter().cloned()).collect();
            changed.sort();
            changed.dedup();
            let file_changes: Vec<FileChange> = changed
                .iter()
                .take(4)
                .map(|p| FileChange {
                    path: p.clone(),
                    last_modified: rfc3339_nano(git_at - r.range(1, 900) * SEC),
                    additions: r.range(0, 240),
                    deletions: r.range(0, 90),
                    status: (*r.pick(&["modified", "modified", "added", "deleted"])).to_string(),
                })
                .collect();
            let wc = WorkContext {
                session_id: sess.session_id.clone(),
                branch: branch.clone(),
                worktree_path: worktree_path.clone(),
                unmerged_commits: Some(commits.clone()),
                uncommitted_files: if r.chance(0.1) { None } else { Some(uncommitted) },
                changed_files: Some(changed),
                file_changes: Some(file_changes),
                git_updated_at: rfc3339_nano(git_at.max(sess.start.time + TICK) / TICK * TICK + 1 + r.range(0, 8)),
                current_task: task.clone(),
                task_updated_at: rfc3339_nano(task_at / TICK * TICK + 3),
                intent: intent.clone(),
                intent_updated_at: rfc3339_nano(intent_at / TICK * TICK + 7),
            };
            // The merge rule: keep the context with the greater git_updated_at
            // (string comparison); ties keep the stored one.
            let replace = match &stored {
                None => true,
                Some(prev) => wc.git_updated_at > prev.git_updated_at,
            };
            if replace {
                stored = Some(wc.clone());
            }
            updates.push(Update { agent: sess.agent, key: EventKey::new(&mut r, t), contexts: vec![wc] });
        }
        if let Some(wc) = stored {
            finals.push((s, wc));
        }
    }
    updates.sort_by_key(|u| u.key);
    finals.sort_by(|a, b| a.1.session_id.cmp(&b.1.session_id));
    (updates, finals)
}
