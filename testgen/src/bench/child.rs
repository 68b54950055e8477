//! The child processes a benchmark times: `verify`, and the floors' shell commands.

use crate::error::{IoContext, Result};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Extraction limits far above any profile (a `large` database exceeds
/// verify's default entry cap).
const BIG_LIMITS: [&str; 4] =
    ["--max-entry-bytes", "1099511627776", "--max-total-bytes", "1099511627776"];

pub(super) fn time_cmd(cmd: &mut Command, what: &str) -> Result<f64> {
    let t0 = Instant::now();
    let st = cmd.status().ctx("run", what)?;
    if !st.success() {
        return Err(crate::Error::Child(format!("{what} failed: {st}")));
    }
    Ok(t0.elapsed().as_secs_f64() * 1e3)
}

pub(super) fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

/// Times `runs` runs of `verify ARGS` (with [`BIG_LIMITS`]), its report
/// discarded; ms each.
pub(super) fn time_verify(
    verify: &Path,
    runs: usize,
    args: &[&std::ffi::OsStr],
) -> Result<Vec<f64>> {
    let what = format!(
        "verify {}",
        args.first().map_or(String::new(), |a| a.to_string_lossy().into_owned())
    );
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut c = Command::new(verify);
        c.args(args).args(BIG_LIMITS).stdout(std::process::Stdio::null());
        samples.push(time_cmd(&mut c, &what)?);
    }
    Ok(samples)
}
