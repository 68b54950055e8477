//! `testgen bench --mesh N`: the mesh of each profile and `verify mesh` of it.

use super::child::{time_cmd, time_verify};
use super::{stats, BenchOptions, MeshScenario, RunReport};
use crate::error::Result;
use std::path::Path;
use std::process::Command;

/// Times `o.runs` runs of `testgen mesh --daemons N` of `profile` in
/// `dir/mesh`, and `verify mesh` of it when `o.verify` is set.
pub(super) fn time_mesh(
    exe: &Path,
    o: &BenchOptions,
    profile: &str,
    daemons: u32,
    dir: &Path,
) -> Result<MeshScenario> {
    let out = dir.join("mesh");
    let report_path = dir.join("mesh-report.json");
    let mut reports: Vec<RunReport> = Vec::new();
    for _ in 0..o.runs {
        let mut c = Command::new(exe);
        c.args([
            "mesh",
            "--quiet",
            "--profile",
            profile,
            "--seed",
            &o.seed.to_string(),
            "--jobs",
            &o.jobs.to_string(),
        ])
        .args(o.volume_args())
        .args(["--daemons", &daemons.to_string()])
        .arg("--out")
        .arg(&out)
        .arg("--report-json")
        .arg(&report_path);
        time_cmd(&mut c, "testgen mesh")?;
        reports.push(RunReport::read(&report_path)?);
    }
    let events = reports.first().map_or(0, |r| r.events);
    let walls = reports.iter().filter_map(|r| r.phases.first().map(|(_, ms)| *ms)).collect();
    let mut phases = vec![stats("mesh", events, walls)];
    if let Some(verify) = &o.verify {
        let args: [&std::ffi::OsStr; 3] = ["mesh".as_ref(), "--quiet".as_ref(), out.as_ref()];
        phases.push(stats("verify-mesh", events, time_verify(verify, o.runs, &args)?));
        // what `verify mesh` is measured against: `verify replay` of each
        // daemon's archive, one after another (the sum per run)
        let mut sums = vec![0.0; o.runs];
        for k in 1..=daemons as usize {
            let archive = out.join(crate::mesh::daemon_dir(k)).join(crate::ARCHIVE);
            let args: [&std::ffi::OsStr; 3] =
                ["replay".as_ref(), "--no-parquet".as_ref(), archive.as_ref()];
            for (sum, ms) in sums.iter_mut().zip(time_verify(verify, o.runs, &args)?) {
                *sum += ms;
            }
        }
        phases.push(stats("verify-daemons", events, sums));
    }
    Ok(MeshScenario {
        daemons,
        phases,
        peak_rss_mib: reports.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0,
        bytes_written: reports.first().map_or(0, |r| r.bytes),
    })
}
