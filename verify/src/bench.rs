//! `verify bench`: times the full verification of one input over several runs.

use crate::error::InputError;
use crate::input;
use crate::verify::{verify_tree, Options};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
/// What `verify bench` measured: the extraction once, then every run of
/// the verification of the extracted tree.
pub struct Bench {
    /// The input as given.
    pub input: String,
    /// Timed runs of the verification.
    pub runs: usize,
    /// Extracting the archive (0 for a directory).
    pub extract_ms: f64,
    /// The fastest run.
    pub min_ms: f64,
    /// The median run.
    pub median_ms: f64,
    /// The 95th percentile of the runs.
    pub p95_ms: f64,
    /// The slowest run.
    pub max_ms: f64,
    /// Every run, in the order run.
    pub samples_ms: Vec<f64>,
    /// Median per phase over the runs.
    pub phases_median_ms: Vec<(String, f64)>,
    /// Whether the last run found the input consistent.
    pub consistent: bool,
    /// Errors the last run found.
    pub errors: usize,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Opens `path` once, then runs one warm-up and `runs` timed verifications.
pub fn run(path: &Path, opts: &Options, runs: usize) -> Result<Bench, InputError> {
    let resolved = input::resolve(path, input::Generation::V13)?;
    let path = resolved.as_path();
    let runs = runs.max(1);
    let t0 = Instant::now();
    let tree = input::open(path, &opts.limits)?;
    if tree.is_v5_layout() {
        return Err(InputError::V5Layout { path: path.to_path_buf() });
    }
    let extract = t0.elapsed();
    let (warm, _) = verify_tree(&tree, opts)?;
    let mut samples = Vec::with_capacity(runs);
    let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let (_, timings) = verify_tree(&tree, opts)?;
        samples.push(ms(start.elapsed()));
        for (i, (name, d)) in timings.phases.iter().enumerate() {
            if phases.len() <= i {
                phases.push((name.to_string(), Vec::new()));
            }
            phases[i].1.push(ms(*d));
        }
    }
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(Bench {
        input: tree.display(),
        runs,
        extract_ms: ms(extract),
        min_ms: sorted[0],
        median_ms: median(&sorted),
        p95_ms: percentile(&sorted, 95.0),
        max_ms: sorted[sorted.len() - 1],
        samples_ms: samples,
        phases_median_ms: phases
            .into_iter()
            .map(|(n, mut v)| {
                v.sort_by(f64::total_cmp);
                (n, median(&v))
            })
            .collect(),
        consistent: warm.consistent,
        errors: warm.errors,
    })
}

impl Bench {
    /// The measurement as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
    /// The measurement as text tables.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "verify bench: {}", crate::report::escape(&self.input));
        let _ = writeln!(s, "  extraction (once, untimed below): {:.1} ms", self.extract_ms);
        let _ = writeln!(
            s,
            "  verdict: {} ({} error findings)",
            if self.consistent { "consistent" } else { "INCONSISTENT" },
            self.errors
        );
        let _ = writeln!(
            s,
            "\n  {:>5}  {:>10}  {:>10}  {:>10}  {:>10}",
            "runs", "min ms", "median ms", "p95 ms", "max ms"
        );
        let _ = writeln!(
            s,
            "  {:>5}  {:>10.1}  {:>10.1}  {:>10.1}  {:>10.1}",
            self.runs, self.min_ms, self.median_ms, self.p95_ms, self.max_ms
        );
        let _ = writeln!(s, "\n  median per phase:");
        for (n, v) in &self.phases_median_ms {
            let _ = writeln!(s, "    {n:<18} {v:>8.1} ms");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&v, 100.0), 20.0);
        assert_eq!(median(&v), 10.5);
        assert_eq!(median(&[3.0]), 3.0);
    }
}
