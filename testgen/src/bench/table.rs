//! The human-readable table of a benchmark.

use super::{BenchReport, PhaseStats};

/// The human-readable table.
pub fn render(r: &BenchReport) -> String {
    let mut s = format!("machine: {} ({} cores)\n", r.machine, r.cores);
    for sc in &r.scenarios {
        s.push_str(&format!(
            "\nprofile {} — {} runs, --jobs {}, peak RSS {:.1} MiB, {:.1} MB written\n",
            sc.profile,
            sc.runs,
            sc.jobs,
            sc.peak_rss_mib,
            sc.bytes_written as f64 / 1e6
        ));
        s.push_str(&format!(
            "{:<15} {:>10} {:>10} {:>10} {:>10} {:>14} {:>8}\n",
            "phase", "rows", "p50 ms", "p95 ms", "p99 ms", "rows/s", "/floor"
        ));
        for p in &sc.phases {
            s.push_str(&phase_line(p));
        }
        for f in &sc.floors {
            s.push_str(&format!(
                "floor: {:<28} p50 {:>9.1} ms; ours ({}) / floor = {:.2}\n",
                f.name, f.p50_ms, f.compared_with, f.ratio
            ));
        }
        if let Some(m) = &sc.mesh {
            s.push_str(&format!(
                "mesh of {} daemons — peak RSS {:.1} MiB, {:.1} MB written\n",
                m.daemons,
                m.peak_rss_mib,
                m.bytes_written as f64 / 1e6
            ));
            for p in &m.phases {
                s.push_str(&phase_line(p));
            }
            let p50 = |name: &str| m.phases.iter().find(|p| p.phase == name).map(|p| p.p50_ms);
            if let (Some(mesh), Some(daemons)) = (p50("verify-mesh"), p50("verify-daemons")) {
                if daemons > 0.0 {
                    let r = mesh / daemons;
                    s.push_str(&format!(
                        "verify-mesh / verify-daemons (each daemon's verify replay) = {r:.2}\n"
                    ));
                }
            }
        }
    }
    s
}

/// One row of the table: the phase's figures and its ratio to its floor
/// (`-` without floors).
fn phase_line(p: &PhaseStats) -> String {
    let ratio = p.ratio.map_or("-".to_string(), |r| format!("{r:.2}x"));
    format!(
        "{:<15} {:>10} {:>10.1} {:>10.1} {:>10.1} {:>14.0} {:>8}\n",
        p.phase, p.rows, p.p50_ms, p.p95_ms, p.p99_ms, p.rows_per_s, ratio
    )
}
