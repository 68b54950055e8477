//! Progress on stderr, drawn only on a terminal and never with `--quiet`:
//! a bar per phase that counts (labelled by what it counts), then a status
//! line per phase that runs after the bars are full (finishing the
//! database, the archive, the Parquet files, the v5 fixture), as a spinner
//! while it runs and `done (time)` once it is over. Numbers use the
//! thousands separators of the summary line ([`count`]); rates are rounded
//! ([`rate`]) and the remaining time is shown only once it means something
//! ([`eta`]).

use indicatif::{
    HumanCount, HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState,
    ProgressStyle,
};
use std::io::IsTerminal;
use std::time::Duration;

/// `n` with thousands separated by commas, as the progress bars and the
/// summary lines write it (`310,926`).
pub fn count(n: u64) -> String {
    HumanCount(n).to_string()
}

/// A rate per second, rounded: whole units with separators up to 100,000
/// (`98,238/s`), then thousands or millions with one decimal (`108.2k/s`,
/// `2.4M/s`); below 10 one decimal (`3.5/s`).
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "0/s".into();
    }
    if per_sec < 10.0 {
        format!("{per_sec:.1}/s")
    } else if per_sec < 100_000.0 {
        format!("{}/s", count(per_sec.round() as u64))
    } else if per_sec < 1e6 {
        format!("{:.1}k/s", per_sec / 1e3)
    } else {
        format!("{:.1}M/s", per_sec / 1e6)
    }
}

/// The least elapsed time and share of the work done before the remaining
/// time is shown: before them the rate is not yet what it will be.
pub const ETA_AFTER: Duration = Duration::from_secs(1);
/// See [`ETA_AFTER`].
pub const ETA_AFTER_FRACTION: f32 = 0.05;

/// The remaining time of a bar `fraction` done after `elapsed`, `eta` by
/// the current rate: `None` until both [`ETA_AFTER`] and
/// [`ETA_AFTER_FRACTION`] are passed, and in its last second.
pub fn eta(elapsed: Duration, fraction: f32, eta: Duration) -> Option<String> {
    if elapsed < ETA_AFTER
        || !(ETA_AFTER_FRACTION..1.0).contains(&fraction)
        || eta < Duration::from_secs(1)
    {
        return None;
    }
    Some(format!("{} left", HumanDuration(eta)))
}

/// The bars of one run.
pub struct Bars {
    multi: Option<MultiProgress>,
}

/// One line; does nothing when progress is off.
pub struct Bar(Option<ProgressBar>);

/// The width of the label column (`parquet`, `database`).
const LABEL: usize = 8;

impl Bars {
    /// Bars drawn when `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> Bars {
        let on = wanted && std::io::stderr().is_terminal();
        Bars { multi: on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())) }
    }

    /// A bar of `len` steps of `unit` (`messages`, `lines`) labelled `phase`.
    pub fn bar(&self, phase: &'static str, len: u64, unit: &'static str) -> Bar {
        let Some(multi) = &self.multi else { return Bar(None) };
        let pb = multi.add(ProgressBar::new(len));
        let template = format!(
            "{{prefix:>{LABEL}}} [{{bar:40}}] {{human_pos}}/{{human_len}} \
            {{msg}} ({{rate}}{{eta}})"
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            let style = style
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&rate(s.per_sec()));
                })
                .with_key("eta", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if let Some(left) = eta(s.elapsed(), s.fraction(), s.eta()) {
                        let _ = write!(w, ", {left}");
                    }
                });
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_prefix(phase);
        pb.set_message(unit);
        Bar(Some(pb))
    }

    /// A status line for a phase that counts nothing: a spinner saying
    /// `doing` until [`Bar::finish`], then `done` with its time.
    pub fn step(&self, phase: &'static str, doing: &'static str) -> Bar {
        let Some(multi) = &self.multi else { return Bar(None) };
        let pb = multi.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{{prefix:>{LABEL}}} {{spinner}} {{msg}} ({{took}})"
        )) {
            let style = style.with_key("took", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}s", s.elapsed().as_secs_f64());
            });
            pb.set_style(style.tick_chars("|/-\\="));
        }
        pb.set_prefix(phase);
        pb.set_message(doing);
        pb.enable_steady_tick(Duration::from_millis(120));
        Bar(Some(pb))
    }
}

impl Bar {
    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }
    /// Moves to `n`.
    pub fn set(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.set_position(n);
        }
    }
    /// Ends the line where it is (a bar) or with `done` (a status line);
    /// a line already ended keeps its figures (its rate is that of its work).
    pub fn finish(&self) {
        if let Some(b) = self.0.as_ref().filter(|b| !b.is_finished()) {
            if b.length().is_none() {
                b.finish_with_message("done");
            } else {
                b.finish();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_rounded() {
        assert_eq!(rate(108_237.594_2), "108.2k/s");
        assert_eq!(rate(98_237.594_2), "98,238/s");
        assert_eq!(rate(1_234.4), "1,234/s");
        assert_eq!(rate(12.5), "13/s");
        assert_eq!(rate(3.54), "3.5/s");
        assert_eq!(rate(2_400_000.0), "2.4M/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(310_926), "310,926");
        assert_eq!(count(1_000_000_000), "1,000,000,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(0), "0");
    }

    #[test]
    fn the_remaining_time_waits_for_a_meaningful_rate() {
        let s = Duration::from_secs;
        // the first instants of a 13-second run: no guess of 2 minutes
        assert_eq!(eta(Duration::from_millis(200), 0.01, s(120)), None);
        assert_eq!(eta(Duration::from_millis(900), 0.20, s(4)), None);
        assert_eq!(eta(s(2), 0.04, s(50)), None);
        assert_eq!(eta(s(2), 0.20, s(8)).as_deref(), Some("8 seconds left"));
        assert_eq!(eta(s(13), 1.0, s(0)), None);
        assert_eq!(eta(s(12), 0.98, Duration::from_millis(300)), None, "no '0 seconds left'");
    }
}
