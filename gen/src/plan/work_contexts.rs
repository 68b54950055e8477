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
    let active: Vec<u32> =
        (0..sessions.len() as u32).filter(|&s| sessions[s as usize].end.is_none()).collect();
    let mut counts = vec![1u32; active.len()];
    let mut r = Stream::new(seed, Kind::Update, 0);
    for _ in 0..total.saturating_sub(active.len() as u32) {
        counts[r.below(active.len() as u64) as usize] += 1;
    }
    let mut updates = Vec::with_capacity(total as usize);
    let mut finals = Vec::with_capacity(active.len());
    for (k, &s) in active.iter().enumerate() {
        let sess = &sessions[s as usize];
        let mut r = Stream::new(seed, Kind::Context, s as u64);
        let (mut track, times) =
            Track::new(&mut r, sess, &agents[sess.agent as usize], counts[k], snapshot);
        for (u, &t) in times.iter().enumerate() {
            let mut r = Stream::sub(seed, Kind::Update, s as u64, u as u64 + 1);
            let wc = track.update(&mut r, u, t);
            updates.push(Update {
                agent: sess.agent,
                key: EventKey::new(&mut r, t),
                contexts: vec![wc],
            });
        }
        if let Some(wc) = track.stored {
            finals.push((s, wc));
        }
    }
    updates.sort_by_key(|u| u.key);
    finals.sort_by(|a, b| a.1.session_id.cmp(&b.1.session_id));
    (updates, finals)
}

/// One active session's work state as its updates go by.
struct Track<'a> {
    sess: &'a Session,
    module: &'a str,
    branch: String,
    worktree_path: String,
    commits: Vec<Commit>,
    task: String,
    task_at: Micros,
    intent: String,
    intent_at: Micros,
    /// The context the daemon's merge rule keeps so far.
    stored: Option<WorkContext>,
}

impl<'a> Track<'a> {
    /// The session's branch, worktree, first task and intent, and the
    /// times of its `count` updates.
    fn new(
        r: &mut Stream,
        sess: &'a Session,
        agent: &'a Agent,
        count: u32,
        snapshot: Micros,
    ) -> (Track<'a>, Vec<Micros>) {
        let topic = r.pick(NOUNS).replace(' ', "-").to_lowercase();
        let branch = format!(
            "{}/{}-{}",
            r.pick(&["feat", "fix", "chore", "perf", "docs"]),
            agent.module,
            topic
        );
        let worktree_path = if agent.worktree == "main" {
            "/home/dev/src/thrum".to_string()
        } else {
            format!("/home/dev/src/thrum/.worktrees/{}", agent.worktree)
        };
        let mut times: Vec<Micros> =
            (0..count).map(|_| instant(r, sess.start.time + MIN, snapshot - MIN)).collect();
        times.sort();
        let task = format!("{} the {}", r.pick(TASK_PREFIX), r.pick(NOUNS));
        let intent = format!("{} {}", r.pick(VERBS), r.pick(NOUNS));
        let at = sess.start.time;
        let track = Track {
            sess,
            module: agent.module,
            branch,
            worktree_path,
            commits: Vec::new(),
            task,
            task_at: at,
            intent,
            intent_at: at,
            stored: None,
        };
        (track, times)
    }

    /// Update `u`, at `t`: the context it carries; the stored one follows
    /// the merge rule.
    fn update(&mut self, r: &mut Stream, u: usize, t: Micros) -> WorkContext {
        let git_at = self.git_state(r, u, t);
        if r.chance(0.2) {
            self.task = format!("{} the {}", r.pick(TASK_PREFIX), r.pick(NOUNS));
            self.task_at = t - r.range(1, 30) * SEC;
        }
        if r.chance(0.3) {
            self.intent = format!("{} {} ({})", r.pick(VERBS), r.pick(NOUNS), r.pick(NON_ASCII));
            self.intent_at = t - r.range(1, 30) * SEC;
        }
        let uncommitted: Vec<String> =
            (0..r.range(0, 3)).map(|_| (*r.pick(FILES)).to_string()).collect();
        let mut changed: Vec<String> = self
            .commits
            .iter()
            .flat_map(|c| c.files.iter().cloned())
            .chain(uncommitted.iter().cloned())
            .collect();
        changed.sort();
        changed.dedup();
        let file_changes = file_changes(r, &changed, git_at);
        let wc = WorkContext {
            session_id: self.sess.session_id.clone(),
            branch: self.branch.clone(),
            worktree_path: self.worktree_path.clone(),
            unmerged_commits: Some(self.commits.clone()),
            uncommitted_files: if r.chance(0.1) { None } else { Some(uncommitted) },
            changed_files: Some(changed),
            file_changes: Some(file_changes),
            git_updated_at: rfc3339_nano(
                git_at.max(self.sess.start.time + TICK) / TICK * TICK + 1 + r.range(0, 8),
            ),
            current_task: self.task.clone(),
            task_updated_at: rfc3339_nano(self.task_at / TICK * TICK + 3),
            intent: self.intent.clone(),
            intent_updated_at: rfc3339_nano(self.intent_at / TICK * TICK + 7),
        };
        // The merge rule: keep the context with the greater git_updated_at
        // (string comparison); ties keep the stored one.
        let replace = match &self.stored {
            None => true,
            Some(prev) => wc.git_updated_at > prev.git_updated_at,
        };
        if replace {
            self.stored = Some(wc.clone());
        }
        wc
    }

    /// The git time of update `u` at `t`, and a new commit on some updates.
    fn git_state(&mut self, r: &mut Stream, u: usize, t: Micros) -> Micros {
        let mut git_at = t - r.range(1, 50) * SEC;
        // Some updates carry stale git state (a late resend): the merge
        // must keep the stored context for those.
        let stale = u > 0 && r.chance(0.15);
        if stale {
            if let Some(prev) = &self.stored {
                let prev_t =
                    thrum_schemas::time::parse_rfc3339(&prev.git_updated_at).unwrap_or(git_at);
                git_at = if r.chance(0.5) { prev_t } else { prev_t - r.range(1, 600) * SEC };
            }
        } else if r.chance(0.6) {
            let files: Vec<String> =
                (0..r.range(1, 4)).map(|_| (*r.pick(FILES)).to_string()).collect();
            if self.commits.len() == MAX_UNMERGED_COMMITS {
                // The branch is merged: its commits leave the list, so
                // an update costs the same however many came before.
                self.commits.clear();
            }
            let sha = sha40(r);
            let message = format!("{}: {} {}", self.module, r.pick(VERBS), r.pick(NOUNS));
            self.commits.push(Commit { sha, message, files });
        }
        git_at
    }
}

/// Up to four of the `changed` files with their modification details.
fn file_changes(r: &mut Stream, changed: &[String], git_at: Micros) -> Vec<FileChange> {
    changed
        .iter()
        .take(4)
        .map(|p| FileChange {
            path: p.clone(),
            last_modified: rfc3339_nano(git_at - r.range(1, 900) * SEC),
            additions: r.range(0, 240),
            deletions: r.range(0, 90),
            status: (*r.pick(&["modified", "modified", "added", "deleted"])).to_string(),
        })
        .collect()
}
