//! Local-only state of the daemon: subscriptions, session scopes and refs,
//! and sync checkpoints with peer daemons.

use super::agents::{daemon_host, peer_hosts};
use super::{instant, Checkpoint, Peer, Plan, SessionTag, Subscription, GROUPS, MIN, SEC};
use crate::rng::{Kind, Stream};
use thrum_schemas::ids;
use thrum_schemas::time::Micros;

/// Distinct subscriptions a session can hold: its module, each group, its
/// role, its name, and everything.
pub const SUBSCRIPTION_SHAPES: u32 = 1 + GROUPS + 2 + 1;

impl Plan {
    pub(super) fn build_local(&mut self) {
        self.build_subscriptions();
        self.build_session_tags();
        self.build_checkpoints();
    }

    /// Subscriptions: scope, mention and "all" shapes on existing sessions.
    fn build_subscriptions(&mut self) {
        let seed = self.seed;
        let w1 = self.snapshot;
        let mut subs: Vec<Subscription> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut k = 0u64;
        while subs.len() < self.profile.subscriptions as usize
            && k < self.profile.subscriptions as u64 * 20
        {
            let mut r = Stream::new(seed, Kind::Subscription, k);
            k += 1;
            let s = (k as usize - 1) % self.sessions.len();
            let sess = &self.sessions[s];
            let agent = &self.agents[sess.agent as usize];
            let (scope_type, scope_value, mention_role) = match r.below(10) {
                0..=3 => {
                    if self.groups.is_empty() || r.chance(0.4) {
                        (Some("module"), Some(agent.module.to_string()), None)
                    } else {
                        (Some("group"), Some(r.pick(&self.groups).name.clone()), None)
                    }
                }
                4..=7 => (
                    None,
                    None,
                    Some(if r.chance(0.5) { agent.role.to_string() } else { agent.name.clone() }),
                ),
                _ => (None, None, None),
            };
            if !seen.insert((s, scope_type, scope_value.clone(), mention_role.clone())) {
                continue;
            }
            let until = sess.until(w1);
            let created_at =
                instant(&mut r, sess.start.time, (sess.start.time + 10 * MIN).min(until));
            subs.push(Subscription {
                id: 0,
                session: s as u32,
                scope_type,
                scope_value,
                mention_role,
                created_at,
            });
        }
        // Random draws rarely reach every shape of every session: when the
        // profile asks for more than they found, the shapes left are taken
        // in order (shape by shape, session by session), so the count is
        // always exact (`Profile::validate` keeps it within what exists).
        let target = self.profile.subscriptions as usize;
        let groups: Vec<String> = self.groups.iter().map(|g| g.name.clone()).collect();
        'fill: for shape in 0..SUBSCRIPTION_SHAPES as usize {
            for (s, sess) in self.sessions.iter().enumerate() {
                if subs.len() >= target {
                    break 'fill;
                }
                let agent = &self.agents[sess.agent as usize];
                let (scope_type, scope_value, mention_role) = match shape {
                    0 => (Some("module"), Some(agent.module.to_string()), None),
                    g if g <= groups.len() => (Some("group"), Some(groups[g - 1].clone()), None),
                    g if g == groups.len() + 1 => (None, None, Some(agent.role.to_string())),
                    g if g == groups.len() + 2 => (None, None, Some(agent.name.clone())),
                    _ => (None, None, None),
                };
                if !seen.insert((s, scope_type, scope_value.clone(), mention_role.clone())) {
                    continue;
                }
                let mut r = Stream::sub(seed, Kind::Subscription, s as u64, shape as u64 + 1);
                let created_at = instant(
                    &mut r,
                    sess.start.time,
                    (sess.start.time + 10 * MIN).min(sess.until(w1)),
                );
                subs.push(Subscription {
                    id: 0,
                    session: s as u32,
                    scope_type,
                    scope_value,
                    mention_role,
                    created_at,
                });
            }
        }
        subs.sort_by_key(|s| (s.created_at, s.session));
        for (i, s) in subs.iter_mut().enumerate() {
            s.id = i as i64 + 1;
        }
        self.subscriptions = subs;
    }

    /// Session scopes (module of every session) and refs (worktree of live ones).
    fn build_session_tags(&mut self) {
        let (seed, w1) = (self.seed, self.snapshot);
        for (i, s) in self.sessions.iter().enumerate() {
            let a = &self.agents[s.agent as usize];
            let mut r = Stream::sub(seed, Kind::Local, i as u64, 1);
            let at = instant(&mut r, s.start.time, (s.start.time + MIN).min(s.until(w1)));
            self.session_scopes.push(SessionTag {
                session: i as u32,
                tag_type: "module",
                value: a.module.to_string(),
                added_at: at,
            });
            if s.end.is_none() {
                self.session_refs.push(SessionTag {
                    session: i as u32,
                    tag_type: "worktree",
                    value: a.worktree.clone(),
                    added_at: at,
                });
            }
        }
    }

    /// Sync checkpoints: peers behind the last sequence by various amounts.
    fn build_checkpoints(&mut self) {
        let (seed, w1) = (self.seed, self.snapshot);
        let total = self.total_events() as i64;
        let mut r = Stream::new(seed, Kind::Checkpoint, 0);
        let statuses = ["idle", "idle", "syncing", "error"];
        let peer_hosts = peer_hosts(&daemon_host(&self.agents), self.profile.peers);
        for (p, host) in (0..self.profile.peers).zip(&peer_hosts) {
            let behind = match p {
                0 => 0,
                1 => r.range(1, 60),
                _ => r.range(100, (total / 3).max(101)),
            };
            let seq = (total - behind).max(0);
            let at = self.time_of_sequence(seq).unwrap_or(self.profile.window_start);
            // the pull's moment falls in the second the checkpoint records,
            // before the snapshot
            let ts = (at / SEC + r.range(1, 30)).min(w1 / SEC - 1);
            let last_sync = ts * SEC + r.range(1, SEC - 1);
            self.checkpoints.push(Checkpoint {
                peer: ids::daemon_id(host),
                last_synced_sequence: seq,
                last_sync_timestamp: ts,
                status: statuses[(p as usize).min(statuses.len() - 1)],
            });
            // the fixture's daemon is 0, its peers 1..
            self.peers.push(Peer::new(
                seed,
                self.profile.window_start,
                0,
                p + 1,
                host,
                Some(last_sync),
            ));
        }
        self.checkpoints.sort_by(|a, b| a.peer.cmp(&b.peer));
        self.peers.sort_by(|a, b| a.daemon_id.cmp(&b.daemon_id));
    }

    /// Time of the event with `sequence` (1-based).
    fn time_of_sequence(&self, seq: i64) -> Option<Micros> {
        crate::timeline::Timeline::event_at(self, u64::try_from(seq).ok()?).map(|e| e.key.time)
    }
}
