//! The events of a mesh: the plan's and the extras (the `everyone` pair
//! of each daemon after the first, the declared conflicts), how each is
//! resolved from its reference and rendered, and which event a writer must
//! hold first.

use super::*;

/// An event of the mesh that is not in the plan: the `everyone` pairs of
/// the daemons after the first, and the declared conflicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extra {
    /// Its time and id.
    pub key: EventKey,
    /// The daemon that writes it.
    pub host: u32,
    /// What it is.
    pub what: ExtraKind,
}

/// The kinds of [`Extra`] events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraKind {
    /// The plan's `group.create` or `group.member.add` of `everyone`
    /// (the first daemon's), written again by another daemon when it
    /// first starts: same payload, its own time and id.
    Start {
        /// The plan's event.
        what: Other,
    },
    /// `agent.register` of this agent from a host that is not its own.
    Reregister {
        /// Index of the agent.
        agent: u32,
    },
    /// `group.update` of a group's description.
    GroupUpdate {
        /// Index of the group.
        group: u32,
        /// Index of the agent who updates it.
        by: u32,
        /// The new description.
        description: String,
    },
}

/// What an event of the mesh is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MeshEv<'a> {
    /// An event of the plan.
    Plan(PlanEvent<'a>),
    /// A declared conflict's event.
    Extra(&'a Extra),
}

/// An event of the mesh, resolved from its reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshEvent<'a> {
    /// Its time and id.
    pub key: EventKey,
    /// What it is.
    pub ev: MeshEv<'a>,
    /// Index of the daemon that wrote it.
    pub writer: u32,
}

impl Mesh {
    /// The event with reference `r` (references: `events.jsonl` events of
    /// the plan, then edits and deletes, then messages, then the extras).
    pub fn event(&self, r: u32) -> MeshEvent<'_> {
        let p = &self.plan;
        let (o, f, m) = (p.others.len() as u64, p.fates.len() as u64, p.profile.messages);
        let r64 = r as u64;
        let (key, ev) = if r64 < o {
            let e = &p.others[r as usize];
            (e.key, MeshEv::Plan(PlanEvent::Other(e)))
        } else if r64 < o + f {
            let e = &p.fates[(r64 - o) as usize];
            (e.key, MeshEv::Plan(PlanEvent::Fate(e)))
        } else if r64 < o + f + m {
            let msg = p.message(r64 - o - f);
            (msg.key, MeshEv::Plan(PlanEvent::Create(msg)))
        } else {
            let x = &self.extras[(r64 - o - f - m) as usize];
            return MeshEvent { key: x.key, ev: MeshEv::Extra(x), writer: x.host };
        };
        let writer = match &ev {
            MeshEv::Plan(pe) => self.plan_writer(pe),
            MeshEv::Extra(x) => x.host,
        };
        MeshEvent { key, ev, writer }
    }

    /// Renders `e` as daemon-held line with `sequence` into `out`.
    pub fn line(&self, e: &MeshEvent, sequence: u64, out: &mut String, sc: &mut Scratch) {
        let origin = &self.hosts[e.writer as usize].daemon_id;
        match e.ev {
            MeshEv::Plan(ev) => render::line_from(
                &self.plan,
                &TimelineEvent { sequence, key: e.key, ev },
                origin,
                out,
                sc,
            ),
            MeshEv::Extra(x) => self.extra_line(x, sequence, origin, out, sc),
        }
    }

    pub(super) fn extra_line(
        &self,
        x: &Extra,
        sequence: u64,
        od: &str,
        out: &mut String,
        sc: &mut Scratch,
    ) {
        if let ExtraKind::Start { what } = x.what {
            // the plan's event with this daemon's time and id
            let ev = OtherEvent { key: x.key, what };
            let e = TimelineEvent { sequence, key: x.key, ev: PlanEvent::Other(&ev) };
            return render::line_from(&self.plan, &e, od, out, sc);
        }
        let mut ts = String::new();
        write_rfc3339_nano(&mut ts, x.key.time);
        let eid = x.key.id("evt_");
        let mut o = Obj::new(out);
        match &x.what {
            ExtraKind::Reregister { agent } => {
                let a = &self.plan.agents[*agent as usize];
                render::register_fields(
                    &mut o,
                    a,
                    &self.hosts[x.host as usize].hostname,
                    &eid,
                    od,
                    sequence,
                    &ts,
                );
            }
            ExtraKind::Start { .. } => {}
            ExtraKind::GroupUpdate { group, by, description } => {
                o.str("event_id", &eid);
                o.raw("fields", |w| {
                    let mut f = Obj::new(w);
                    f.str("description", description);
                    f.end();
                });
                o.str("group_id", &self.plan.groups[*group as usize].group_id)
                    .str("origin_daemon", od);
                o.int("sequence", sequence as i64)
                    .str("timestamp", &ts)
                    .str("type", types::GROUP_UPDATE);
                o.str("updated_by", &self.plan.agents[*by as usize].agent_id).int("v", 1);
            }
        }
        o.end();
    }

    /// Event type of `e`.
    pub fn event_type(e: &MeshEvent) -> &'static str {
        match e.ev {
            MeshEv::Plan(ev) => {
                crate::rows::event_type(&TimelineEvent { sequence: 0, key: e.key, ev })
            }
            MeshEv::Extra(x) => match x.what {
                ExtraKind::Start { what } => {
                    let ev = OtherEvent { key: x.key, what };
                    crate::rows::event_type(&TimelineEvent {
                        sequence: 0,
                        key: x.key,
                        ev: PlanEvent::Other(&ev),
                    })
                }
                ExtraKind::Reregister { .. } => types::AGENT_REGISTER,
                ExtraKind::GroupUpdate { .. } => types::GROUP_UPDATE,
            },
        }
    }

    /// Every daemon after the first writes its own `everyone` pair when it
    /// first starts (the first daemon's is the plan's); the copies pulled
    /// later are no-ops, so each daemon keeps its own `created_at` and
    /// `added_at`: declared as conflicts.
    pub(super) fn place_starts(&mut self) {
        let p = &self.plan;
        let find = |what: &dyn Fn(Other) -> bool| p.others.iter().find(|e| what(e.what)).copied();
        let everyone = |g: u32| p.groups[g as usize].kind == GroupKind::Everyone;
        let create = find(&|o| matches!(o, Other::GroupCreate(g) if everyone(g)));
        let add =
            find(&|o| matches!(o, Other::MemberAdd(m) if p.members[m as usize].added_by.is_none()));
        let (Some(create), Some(add)) = (create, add) else { return };
        let (Other::GroupCreate(g), Other::MemberAdd(m)) = (create.what, add.what) else { return };
        let (group, member) = (&p.groups[g as usize], &p.members[m as usize]);
        // (key, daemon) of each daemon's create and add, in time order
        let mut creates = vec![(create.key, 0)];
        let mut adds = vec![(add.key, 0)];
        for d in 1..self.n() {
            let (kc, ka) = everyone_keys(p.seed, p.profile.window_start, d);
            creates.push((kc, d));
            adds.push((ka, d));
            self.extras.push(Extra {
                key: kc,
                host: d,
                what: ExtraKind::Start { what: create.what },
            });
            self.extras.push(Extra { key: ka, host: d, what: ExtraKind::Start { what: add.what } });
        }
        creates.sort();
        adds.sort();
        let conflict = |table, key, column, events: Vec<(EventKey, u32)>| Conflict {
            kind: "everyone_start",
            table,
            key,
            columns: vec![column],
            event_ids: events.iter().map(|(k, _)| k.id("evt_")).collect(),
            daemons: events.iter().map(|&(_, d)| d).collect(),
        };
        let member_key = vec![
            group.group_id.clone(),
            member.member_type.to_string(),
            member.member_value.clone(),
        ];
        let created = conflict("groups", vec![group.group_id.clone()], "created_at", creates);
        let added = conflict("group_members", member_key, "added_at", adds);
        self.conflicts.push(created);
        self.conflicts.push(added);
        self.extras.sort_by_key(|x| x.key);
    }

    /// The `group.create` a conflict's `group.update` (reference `r`)
    /// depends on.
    pub(super) fn extra_dependency(&self, r: u32) -> Option<u32> {
        let p = &self.plan;
        let first = p.others.len() as u64 + p.fates.len() as u64 + p.profile.messages;
        let x = self.extras.get((r as u64).checked_sub(first)? as usize)?;
        match x.what {
            ExtraKind::GroupUpdate { group, .. } => {
                p.others.iter().position(|e| e.what == Other::GroupCreate(group)).map(|i| i as u32)
            }
            ExtraKind::Start { what: Other::MemberAdd(_) } => self.own_start_create(x.host),
            ExtraKind::Start { .. } | ExtraKind::Reregister { .. } => None,
        }
    }

    /// Reference of daemon `d`'s own `group.create` of `everyone` among the
    /// extras (daemons after the first).
    pub(super) fn own_start_create(&self, d: u32) -> Option<u32> {
        let p = &self.plan;
        let first = p.others.len() as u64 + p.fates.len() as u64 + p.profile.messages;
        let i = self.extras.iter().position(|x| {
            x.host == d && matches!(x.what, ExtraKind::Start { what: Other::GroupCreate(_) })
        })?;
        Some((first + i as u64) as u32)
    }
}

/// Kinds of events whose writer must hold another event first, for the
/// tests: `(dependent, dependency)` references of the mesh.
pub fn dependency(mesh: &Mesh, r: u32) -> Option<u32> {
    let p = &mesh.plan;
    let (o, f) = (p.others.len() as u64, p.fates.len() as u64);
    match mesh.event(r).ev {
        MeshEv::Plan(PlanEvent::Other(e)) => match e.what {
            Other::MemberAdd(m) => {
                let g = p.members[m as usize].group;
                p.others.iter().position(|x| x.what == Other::GroupCreate(g)).map(|i| i as u32)
            }
            Other::SessionEnd(s) => {
                p.others.iter().position(|x| x.what == Other::SessionStart(s)).map(|i| i as u32)
            }
            _ => None,
        },
        MeshEv::Plan(PlanEvent::Fate(fa)) => match fa.kind {
            FateKind::Edit { .. } | FateKind::Delete => Some((o + f + fa.message) as u32),
        },
        MeshEv::Extra(x) => match x.what {
            ExtraKind::GroupUpdate { group, .. } => {
                p.others.iter().position(|e| e.what == Other::GroupCreate(group)).map(|i| i as u32)
            }
            ExtraKind::Start { what: Other::MemberAdd(_) } => mesh.own_start_create(x.host),
            ExtraKind::Start { .. } | ExtraKind::Reregister { .. } => None,
        },
        _ => None,
    }
}
