//! Progress on stderr for long work (replaying the event logs, comparing
//! the tables, the Parquet snapshots): drawn only when the binary turned it
//! on ([`enable`]) and stderr is a terminal, so library callers and tests
//! never see it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns progress on when `wanted` (no `--quiet`) and stderr is a
/// terminal; returns whether it is on.
pub fn enable(wanted: bool) -> bool {
    let on = wanted && std::io::stderr().is_terminal();
    ON.store(on, Ordering::Relaxed);
    on
}

/// One line of progress; does nothing when progress is off.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar of `len` steps (tables, files) labelled `what`.
    pub fn steps(what: &'static str, len: u64) -> Bar {
        Bar::new(what, Some(len), "{prefix:>10} [{bar:40}] {pos}/{len} {msg}", "")
    }
    /// A counter without a known end (events replayed), labelled `what`.
    pub fn counter(what: &'static str, unit: &'static str) -> Bar {
        Bar::new(what, None, "{prefix:>10} {spinner} {human_pos} {msg} ({per_sec})", unit)
    }
    /// A spinner for work that reports no steps, labelled `what`, saying `doing`.
    pub fn spinner(what: &'static str, doing: &'static str) -> Bar {
        let bar = Bar::new(what, None, "{prefix:>10} {spinner} {msg} ({elapsed})", doing);
        if let Some(b) = &bar.0 {
            b.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        bar
    }
    fn new(what: &'static str, len: Option<u64>, template: &str, msg: &'static str) -> Bar {
        if !ON.load(Ordering::Relaxed) {
            return Bar(None);
        }
        // drawn once styled and labelled
        let pb = ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_prefix(what);
        pb.set_message(msg);
        pb.set_draw_target(ProgressDrawTarget::stderr());
        Bar(Some(pb))
    }
    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }
    /// The text after the bar (a table's name).
    pub fn message(&self, m: &'static str) {
        if let Some(b) = &self.0 {
            b.set_message(m);
        }
    }
}

impl Drop for Bar {
    /// The line is removed when the work is done (or abandoned).
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
