//! The floors a run is compared with: the `sqlite3` shell rebuilding the
//! same database from its `.dump`, and `zstd` compressing the same tar.

use super::child::{sh, time_cmd};
use super::{percentile, BenchOptions, Floor, PhaseStats, FLOOR_SQLITE, FLOOR_ZSTD};
use crate::error::Result;
use std::path::Path;

/// Times both floors on the tree of the last run in `dir` (`tree/`), with
/// their scratch files beside it; `phases` are the run's, to compare with.
pub(super) fn time_floors(
    o: &BenchOptions,
    dir: &Path,
    phases: &[PhaseStats],
) -> Result<Vec<Floor>> {
    let tree = dir.join("tree");
    let db = tree.join(".thrum/var/messages.db");
    let dump = dir.join("dump.sql");
    let rebuilt = dir.join("rebuilt.db");
    let tarball = dir.join("tree.tar");
    let mut prep = sh(&format!(
        "sqlite3 '{}' .dump > '{}' && tar -cf '{}' -C '{}' .thrum",
        db.display(),
        dump.display(),
        tarball.display(),
        tree.display()
    ));
    time_cmd(&mut prep, "sqlite3 .dump / tar")?;
    let ours = |names: &[&str]| -> f64 {
        phases.iter().filter(|p| names.contains(&p.phase.as_str())).map(|p| p.p50_ms).sum()
    };
    let rebuild =
        format!("rm -f '{0}' && sqlite3 '{0}' < '{1}'", rebuilt.display(), dump.display());
    let p50 = median_ms(o.runs, &rebuild, "sqlite3 rebuild")?;
    let sqlite = Floor {
        name: FLOOR_SQLITE.into(),
        command: "sqlite3 new.db < dump.sql".into(),
        p50_ms: p50,
        ratio: ours(&["tables", "events", "db-finish"]) / p50,
        compared_with: "tables+events+db-finish".into(),
    };
    let zcmd = format!(
        "zstd -q -f -3 -T{} '{}' -o '{}.zst'",
        o.jobs,
        tarball.display(),
        tarball.display()
    );
    let p50 = median_ms(o.runs, &zcmd, "zstd")?;
    let zstd = Floor {
        name: FLOOR_ZSTD.into(),
        command: format!("zstd -3 -T{} tree.tar", o.jobs),
        p50_ms: p50,
        ratio: ours(&["archive"]) / p50,
        compared_with: "archive".into(),
    };
    Ok(vec![sqlite, zstd])
}

/// The median of `runs` runs of the shell `script`, ms.
fn median_ms(runs: usize, script: &str, what: &str) -> Result<f64> {
    let mut s = Vec::with_capacity(runs);
    for _ in 0..runs {
        s.push(time_cmd(&mut sh(script), what)?);
    }
    s.sort_by(f64::total_cmp);
    Ok(percentile(&s, 50.0))
}
