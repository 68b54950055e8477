//! The declared conflicts of a mesh: rows whose value on each daemon
//! depends on the order it received their events in.

use super::*;

/// A declared conflict: a row whose value on each daemon depends on the
/// order in which the daemon received `event_ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// `agent_reregister`, `group_update` or `everyone_start`.
    pub kind: &'static str,
    /// The table of the row.
    pub table: &'static str,
    /// Its key values: the primary key, or the natural key of a table
    /// with an AUTOINCREMENT id.
    pub key: Vec<String>,
    /// The columns that may differ.
    pub columns: Vec<&'static str>,
    /// The conflicting events, in time order.
    pub event_ids: Vec<String>,
    /// The daemons that wrote them (0-based, in the order of `event_ids`).
    pub daemons: Vec<u32>,
}

impl Mesh {
    /// Places the declared conflicts: an agent registering from a second
    /// host right after its own registration, and a group updated on two
    /// daemons in the same minute, each pair of events with no pull in
    /// between, so each writer applies its own first.
    pub(super) fn place_conflicts(&mut self, pulls: &Schedule) -> Result<(), MeshError> {
        self.place_reregister(pulls)?;
        self.place_group_update(pulls)?;
        self.extras.sort_by_key(|x| x.key);
        Ok(())
    }

    /// An agent re-registers from a second host, more than a second after
    /// its registration and before the next pull.
    fn place_reregister(&mut self, pulls: &Schedule) -> Result<(), MeshError> {
        let n = self.n();
        let w1 = self.plan.snapshot;
        let mut r = Stream::new(self.plan.seed, Kind::Mesh, 4);
        let mut agents: Vec<u32> = (0..self.plan.agents.len() as u32).collect();
        r.shuffle(&mut agents);
        let mut rereg = None;
        for &a in &agents {
            let t_reg = self.plan.agents[a as usize].registered.time;
            // the next pull comes at least 3 s after the registration
            let next = pulls.clock(t_reg).peek().map_or(w1, |p| p.at);
            if next - t_reg > 3 * SEC {
                let home = self.agent_host[a as usize];
                let other = (home + 1 + r.below(n as u64 - 1) as u32) % n;
                let jitter = r.below(SEC as u64) as Micros;
                let t = instant(&mut r, t_reg + SEC + jitter);
                rereg = Some((a, home, other, t));
                break;
            }
        }
        let (a, home, other, t) = rereg.ok_or(MeshError::NoRoomForConflict("agent_reregister"))?;
        let key = EventKey::new(&mut r, t);
        let agent = &self.plan.agents[a as usize];
        self.conflicts.push(Conflict {
            kind: "agent_reregister",
            table: "agents",
            key: vec![agent.agent_id.clone()],
            columns: vec!["hostname", "registered_at"],
            event_ids: vec![agent.registered.id("evt_"), key.id("evt_")],
            daemons: vec![home, other],
        });
        self.extras.push(Extra { key, host: other, what: ExtraKind::Reregister { agent: a } });
        Ok(())
    }

    /// A group an agent created, updated on two daemons in the same minute
    /// with no pull in between.
    fn place_group_update(&mut self, pulls: &Schedule) -> Result<(), MeshError> {
        let n = self.n();
        let (w0, w1) = (self.plan.profile.window_start, self.plan.snapshot);
        let mut r = Stream::new(self.plan.seed, Kind::Mesh, 5);
        let span = w1 - w0;
        // a group an agent created (each daemon creates `everyone` itself)
        let agents_groups = || {
            (0..self.plan.groups.len() as u32)
                .filter(|&g| self.plan.groups[g as usize].kind != GroupKind::Everyone)
        };
        let early: Vec<u32> = agents_groups()
            .filter(|&g| self.plan.groups[g as usize].created.time < w0 + span / 2)
            .collect();
        let g = if early.is_empty() {
            let mut all: Vec<u32> = agents_groups().collect();
            all.sort_by_key(|&g| self.plan.groups[g as usize].created.time);
            *all.first().ok_or(MeshError::NoRoomForConflict("group_update"))?
        } else {
            *r.pick(&early)
        };
        let x = r.below(n as u64) as u32;
        let y = (x + 1 + r.below(n as u64 - 1) as u32) % n;
        let from = (w0 + span * 3 / 5).max(self.plan.groups[g as usize].created.time + HOUR);
        let mut found = None;
        let mut at = from;
        while let Some(t1) = Mesh::quiet(pulls, at, w1 - MIN, 3 * SEC) {
            let t1 = instant(&mut r, t1);
            let t2 = instant(&mut r, t1 + SEC);
            if t1 / MIN == t2 / MIN {
                found = Some((t1, t2));
                break;
            }
            at = t1 + SEC;
        }
        let (t1, t2) = found.ok_or(MeshError::NoRoomForConflict("group_update"))?;
        let pick_on = |r: &mut Stream, h: u32| {
            let on: Vec<u32> = (0..self.agent_host.len() as u32)
                .filter(|&a| self.agent_host[a as usize] == h)
                .collect();
            *r.pick(&on)
        };
        let (bx, by) = (pick_on(&mut r, x), pick_on(&mut r, y));
        let group = &self.plan.groups[g as usize];
        let base = group.description.clone().unwrap_or_else(|| group.name.clone());
        let (k1, k2) = (EventKey::new(&mut r, t1), EventKey::new(&mut r, t2));
        self.conflicts.push(Conflict {
            kind: "group_update",
            table: "groups",
            key: vec![group.group_id.clone()],
            columns: vec!["description", "updated_at"],
            event_ids: vec![k1.id("evt_"), k2.id("evt_")],
            daemons: vec![x, y],
        });
        let desc = |h: u32| format!("{base} (updated on {})", self.hosts[h as usize].hostname);
        let (d1, d2) = (desc(x), desc(y));
        self.extras.push(Extra {
            key: k1,
            host: x,
            what: ExtraKind::GroupUpdate { group: g, by: bx, description: d1 },
        });
        self.extras.push(Extra {
            key: k2,
            host: y,
            what: ExtraKind::GroupUpdate { group: g, by, description: d2 },
        });
        Ok(())
    }
}

/// A moment 1 to 9 µs after the start of the tick of `t` (never on the tick itself).
fn instant(r: &mut Stream, t: Micros) -> Micros {
    t / TICK * TICK + r.range(1, 9)
}
