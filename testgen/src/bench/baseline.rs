//! `testgen bench --baseline FILE`: a run compared with an earlier one.
//!
//! Absolute times do not travel between machines (or between the hours of
//! one machine); the ratio of a phase to a floor timed in the same run does
//! much better ([`super::phase_ratio`]). So the figures compared are, per
//! profile: each phase's ratio to its floor, the two floors' own ratios
//! (our comparable phases against `sqlite3` and `zstd`) and the peak RSS.
//!
//! Not every figure gates: a phase shorter than [`GATE_MIN_SHARE`] of the
//! run's wall time (in the baseline) is a few milliseconds whose ratio
//! moves by tens of percent between identical runs; it is shown, not
//! judged. A gated figure worse than the baseline by more than the
//! threshold is a regression. Everything here is pure: reading the file is
//! [`load`], the rest works on parsed reports.

use super::{phase_ratio, BenchReport, BenchSettings, PhaseStats, Scenario};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use thrum_io::text::shown_name;

/// The largest baseline read: far above the JSON of any benchmark (a few KiB).
pub const MAX_BASELINE_BYTES: u64 = 1 << 20;

/// Default of `--max-regression`, percent: above the spread of every gated
/// figure measured on a loaded machine (BENCHMARKS.md), below the +100 % of
/// a phase that takes twice as long.
pub const DEFAULT_MAX_REGRESSION_PCT: u16 = 50;

/// A phase gates when its baseline median is at least this share of the
/// baseline's wall time.
pub const GATE_MIN_SHARE: f64 = 0.10;

/// Why a baseline is not compared. Exit code 2, except an input/output
/// error while reading a file that is there (1).
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read (absent, not a regular file, too large,
    /// unreadable).
    #[error("baseline {}: {source}", shown_name(&path.to_string_lossy()))]
    Read {
        /// The baseline.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not the JSON of `testgen bench --json`.
    #[error(
        "baseline {} is not the JSON of `testgen bench --json`: {detail}",
        shown_name(&path.to_string_lossy())
    )]
    Malformed {
        /// The baseline.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Measured with another seed or other options.
    #[error(
        "baseline {} was measured with other options ({}): rerun with its options, or regenerate \
            it",
        shown_name(&path.to_string_lossy()),
        differences.join("; ")
    )]
    OtherOptions {
        /// The baseline.
        path: PathBuf,
        /// Each option that differs: baseline against this run.
        differences: Vec<String>,
    },
}

impl BaselineError {
    /// 2 (the baseline given is at fault), or 1 for an input/output error
    /// on a file that is there and regular.
    pub fn exit_code(&self) -> u8 {
        match self {
            BaselineError::Read { source, .. } => {
                let refused = thrum_io::regular::not_regular(source).is_some();
                let bad = matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData
                );
                if refused || bad {
                    2
                } else {
                    1
                }
            }
            _ => 2,
        }
    }
}

/// Reads and checks a baseline: at most [`MAX_BASELINE_BYTES`] (the size
/// is checked before reading), a regular file, the JSON of `testgen bench
/// --json` with finite, non-negative figures.
pub fn load(path: &Path) -> Result<BenchReport, BaselineError> {
    let bytes = thrum_io::regular::read_regular_at_most(path, MAX_BASELINE_BYTES)
        .map_err(|source| BaselineError::Read { path: path.to_path_buf(), source })?;
    parse(path, &bytes)
}

/// [`load`] of bytes already read (`path` names them in errors).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<BenchReport, BaselineError> {
    let malformed = |detail: String| BaselineError::Malformed { path: path.to_path_buf(), detail };
    let r: BenchReport = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if r.scenarios.is_empty() {
        return Err(malformed("no profile".into()));
    }
    for sc in &r.scenarios {
        let mesh = sc.mesh.iter().flat_map(|m| m.phases.iter());
        let mut figures =
            sc.phases.iter().chain(mesh).map(|p| (p.phase.as_str(), p.p50_ms)).collect::<Vec<_>>();
        figures.extend(sc.floors.iter().map(|f| (f.name.as_str(), f.p50_ms)));
        figures.push(("peak_rss_mib", sc.peak_rss_mib));
        if let Some((name, v)) = figures.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
            return Err(malformed(format!(
                "profile {}: {} is {v}",
                shown_name(&sc.profile),
                shown_name(name)
            )));
        }
        if r.scenarios.iter().filter(|o| o.profile == sc.profile).count() > 1 {
            return Err(malformed(format!("profile {} appears twice", shown_name(&sc.profile))));
        }
    }
    Ok(r)
}

/// Refuses a baseline measured with another seed or other options than
/// `current` (each difference named, baseline against this run).
pub fn check_settings(
    path: &Path,
    baseline: &BenchSettings,
    current: &BenchSettings,
) -> Result<(), BaselineError> {
    let mut differences = Vec::new();
    let mut differ = |what: &str, b: String, c: String| {
        if b != c {
            differences.push(format!("{what} {b} in the baseline, {c} here"));
        }
    };
    let flags = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(" ") };
    let mesh = |m: Option<u32>| m.map_or("none".to_string(), |n| n.to_string());
    differ("--seed", baseline.seed.to_string(), current.seed.to_string());
    differ("--jobs", baseline.jobs.to_string(), current.jobs.to_string());
    differ("volumes", flags(&baseline.volumes), flags(&current.volumes));
    differ("floors timed", baseline.floors.to_string(), current.floors.to_string());
    differ("verify timed", baseline.verify.to_string(), current.verify.to_string());
    differ("--mesh", mesh(baseline.mesh), mesh(current.mesh));
    if differences.is_empty() {
        Ok(())
    } else {
        Err(BaselineError::OtherOptions { path: path.to_path_buf(), differences })
    }
}

/// What a compared figure is.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// A phase's median over its floor's ([`super::phase_ratio`]).
    Phase(String),
    /// A floor's ratio: our comparable phases over the floor (its name).
    Floor(String),
    /// Peak RSS of the generation runs, MiB.
    PeakRss,
    /// Peak RSS of the `testgen mesh` runs, MiB.
    MeshPeakRss,
}

impl Figure {
    /// As printed.
    pub fn label(&self) -> String {
        match self {
            Figure::Phase(p) => format!(
                "{} / {}",
                shown_name(p),
                super::floor_of(p).split(' ').next().unwrap_or("")
            ),
            Figure::Floor(f) => format!("floor {}", shown_name(f)),
            Figure::PeakRss => "peak RSS MiB".into(),
            Figure::MeshPeakRss => "mesh peak RSS MiB".into(),
        }
    }
}

/// One figure on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Profile.
    pub profile: String,
    /// What is compared.
    pub figure: Figure,
    /// In the baseline.
    pub baseline: f64,
    /// In this run.
    pub current: f64,
    /// Whether it can fail the comparison (see the module documentation).
    pub gated: bool,
}

impl Row {
    /// Change against the baseline, percent (positive: worse).
    pub fn change_pct(&self) -> f64 {
        if self.baseline > 0.0 {
            (self.current / self.baseline - 1.0) * 100.0
        } else {
            0.0
        }
    }

    /// A gated figure worse than the baseline by more than `max_pct` percent.
    pub fn regressed(&self, max_pct: f64) -> bool {
        self.gated && self.baseline > 0.0 && self.current > self.baseline * (1.0 + max_pct / 100.0)
    }
}

/// Which side lacks something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Only this run has it.
    Baseline,
    /// Only the baseline has it.
    Current,
}

/// A profile, or a phase of a profile, present on one side only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Profile.
    pub profile: String,
    /// The phase, or `None` for the whole profile.
    pub phase: Option<String>,
    /// The side that lacks it.
    pub missing_from: Side,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = match self.missing_from {
            Side::Baseline => "not in the baseline",
            Side::Current => "not in this run",
        };
        match &self.phase {
            Some(p) => write!(
                f,
                "profile {}: phase {} is {side}",
                shown_name(&self.profile),
                shown_name(p)
            ),
            None => write!(f, "profile {} is {side}", shown_name(&self.profile)),
        }
    }
}

/// A run against its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `--max-regression`, percent.
    pub max_pct: f64,
    /// Every figure present on both sides, by profile in this run's order.
    pub rows: Vec<Row>,
    /// What one side lacks.
    pub missing: Vec<Missing>,
}

impl Comparison {
    /// The gated figures worse than the baseline by more than the threshold.
    pub fn regressions(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.regressed(self.max_pct)).collect()
    }

    /// One line naming each regression (profile, figure, change).
    pub fn regression_summary(&self) -> String {
        let named: Vec<String> = self
            .regressions()
            .iter()
            .map(|r| {
                format!("{} {} {:+.0} %", shown_name(&r.profile), r.figure.label(), r.change_pct())
            })
            .collect();
        named.join(", ")
    }
}

fn all_phases(sc: &Scenario) -> impl Iterator<Item = &PhaseStats> {
    sc.phases.iter().chain(sc.mesh.iter().flat_map(|m| m.phases.iter()))
}

/// Compares `current` with `baseline` (settings already checked with
/// [`check_settings`]); `max_pct` is the threshold, percent.
pub fn compare(baseline: &BenchReport, current: &BenchReport, max_pct: f64) -> Comparison {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for sc in &current.scenarios {
        let Some(base) = baseline.scenarios.iter().find(|b| b.profile == sc.profile) else {
            missing.push(Missing {
                profile: sc.profile.clone(),
                phase: None,
                missing_from: Side::Baseline,
            });
            continue;
        };
        compare_scenario(base, sc, &mut rows, &mut missing);
    }
    for b in &baseline.scenarios {
        if !current.scenarios.iter().any(|c| c.profile == b.profile) {
            missing.push(Missing {
                profile: b.profile.clone(),
                phase: None,
                missing_from: Side::Current,
            });
        }
    }
    Comparison { max_pct, rows, missing }
}

fn compare_scenario(
    base: &Scenario,
    cur: &Scenario,
    rows: &mut Vec<Row>,
    missing: &mut Vec<Missing>,
) {
    let row = |figure, baseline, current, gated| Row {
        profile: cur.profile.clone(),
        figure,
        baseline,
        current,
        gated,
    };
    let wall = base.phases.iter().find(|p| p.phase == "wall").map(|p| p.p50_ms);
    for p in all_phases(cur) {
        let Some(b) = all_phases(base).find(|b| b.phase == p.phase) else {
            missing.push(Missing {
                profile: cur.profile.clone(),
                phase: Some(p.phase.clone()),
                missing_from: Side::Baseline,
            });
            continue;
        };
        if let (Some(rb), Some(rc)) = (phase_ratio(base, b), phase_ratio(cur, p)) {
            let gated = wall.is_none_or(|w| b.p50_ms >= GATE_MIN_SHARE * w);
            rows.push(row(Figure::Phase(p.phase.clone()), rb, rc, gated));
        }
    }
    for b in all_phases(base) {
        if !all_phases(cur).any(|p| p.phase == b.phase) {
            missing.push(Missing {
                profile: cur.profile.clone(),
                phase: Some(b.phase.clone()),
                missing_from: Side::Current,
            });
        }
    }
    for f in &cur.floors {
        if let Some(b) = base.floors.iter().find(|b| b.name == f.name) {
            rows.push(row(Figure::Floor(f.name.clone()), b.ratio, f.ratio, true));
        }
    }
    rows.push(row(Figure::PeakRss, base.peak_rss_mib, cur.peak_rss_mib, true));
    if let (Some(b), Some(c)) = (&base.mesh, &cur.mesh) {
        rows.push(row(Figure::MeshPeakRss, b.peak_rss_mib, c.peak_rss_mib, true));
    }
}

/// The comparison as a table: per profile and figure, baseline, this run,
/// the change and its verdict (`gate`: judged and within the threshold,
/// `WORSE`: beyond it, blank: shown only); then what one side lacks.
pub fn render(c: &Comparison, baseline_path: &Path) -> String {
    let mut s = format!(
        "\ncompared with {} (ratios to the floors and peak RSS; a gated figure fails beyond \
            {:+.0} %)\n",
        thrum_io::text::shown_path(baseline_path),
        c.max_pct
    );
    let _ = writeln!(
        s,
        "{:<10} {:<34} {:>10} {:>10} {:>9}  verdict",
        "profile", "figure", "baseline", "current", "change"
    );
    for r in &c.rows {
        let verdict = match (r.gated, r.regressed(c.max_pct)) {
            (_, true) => "WORSE",
            (true, false) => "gate",
            (false, false) => "",
        };
        let _ = writeln!(
            s,
            "{:<10} {:<34} {:>10.3} {:>10.3} {:>+8.1}%  {verdict}",
            shown_name(&r.profile),
            r.figure.label(),
            r.baseline,
            r.current,
            r.change_pct()
        );
    }
    for m in &c.missing {
        let _ = writeln!(s, "missing: {m}");
    }
    let worse = c.regressions().len();
    if worse == 0 {
        let _ = writeln!(
            s,
            "no gated figure is worse than the baseline by more than {:.0} %",
            c.max_pct
        );
    } else {
        let _ = writeln!(
            s,
            "{worse} gated figure(s) worse than the baseline by more than {:.0} %: {}",
            c.max_pct,
            c.regression_summary()
        );
    }
    s
}

#[cfg(test)]
pub(crate) mod tests;
