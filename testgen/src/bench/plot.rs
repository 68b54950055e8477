//! `testgen bench --baseline FILE --plot OUT.svg`: each phase's ratio to
//! its floor, baseline against this run, as paired horizontal bars per
//! phase, grouped by profile, with the threshold marked on each pair. The
//! SVG is written directly; every name from the input is XML-escaped.

use super::baseline::{Comparison, Figure, Row};
use std::fmt::Write as _;
use std::path::Path;

const WIDTH: f64 = 960.0;
const LABEL_W: f64 = 230.0;
const BAR_W: f64 = 620.0;
const BAR_H: f64 = 11.0;
const PAIR_H: f64 = 34.0;
const HEAD_H: f64 = 30.0;
const TOP: f64 = 62.0;
const BASE_FILL: &str = "#9e9e9e";
const CUR_FILL: &str = "#3b78c8";
const WORSE_FILL: &str = "#c8423b";
/// The threshold lines' stroke.
const DASHED: &str = r#"stroke-width="2" stroke-dasharray="3,2""#;

/// Text for XML content and attribute values: control characters shown
/// as escapes (XML cannot hold most of them), then `& < > " '` escaped.
pub fn xml_escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in thrum_io::text::shown_name(text).chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            c => s.push(c),
        }
    }
    s
}

/// The phase rows of `c` (ratios to the floors), grouped by profile in
/// their order.
fn by_profile(c: &Comparison) -> Vec<(&str, Vec<&Row>)> {
    let mut groups: Vec<(&str, Vec<&Row>)> = Vec::new();
    for r in c.rows.iter().filter(|r| matches!(r.figure, Figure::Phase(_))) {
        match groups.iter_mut().find(|(p, _)| *p == r.profile) {
            Some((_, rows)) => rows.push(r),
            None => groups.push((&r.profile, vec![r])),
        }
    }
    groups
}

/// The SVG document of `c`.
pub fn svg(c: &Comparison) -> String {
    let groups = by_profile(c);
    let factor = 1.0 + c.max_pct / 100.0;
    let top = c.rows.iter().map(|r| r.current.max(r.baseline * factor)).fold(0.0_f64, f64::max);
    let scale = if top > 0.0 { BAR_W / top } else { 0.0 };
    let pairs: usize = groups.iter().map(|(_, rows)| rows.len()).sum();
    let height = TOP + groups.len() as f64 * HEAD_H + pairs as f64 * PAIR_H + 20.0;
    let mut s = String::new();
    let _ =
        write!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}""#);
    let _ =
        writeln!(s, r#" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#);
    let _ = writeln!(s, r#"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>"#);
    let _ = write!(s, r#"<text x="10" y="20" font-size="15">Phase time / floor time (median), "#);
    let _ = writeln!(s, "baseline against this run; threshold {:+.0} %</text>", c.max_pct);
    legend(&mut s);
    let mut y = TOP;
    for (profile, rows) in &groups {
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}" font-size="14" font-weight="bold">profile {}</text>"#,
            y + 18.0,
            xml_escape(profile)
        );
        y += HEAD_H;
        for r in rows {
            pair(&mut s, r, y, scale, factor, r.regressed(c.max_pct));
            y += PAIR_H;
        }
    }
    s.push_str("</svg>\n");
    s
}

fn legend(s: &mut String) {
    let items = [
        (BASE_FILL, "baseline"),
        (CUR_FILL, "this run"),
        (WORSE_FILL, "this run, beyond the threshold"),
    ];
    let mut x = 10.0;
    for (fill, text) in items {
        let _ = writeln!(s, r#"<rect x="{x}" y="32" width="12" height="12" fill="{fill}"/>"#);
        let _ = writeln!(s, r#"<text x="{}" y="42">{text}</text>"#, x + 16.0);
        x += 60.0 + 7.0 * text.len() as f64;
    }
    let _ =
        writeln!(s, r#"<line x1="{x}" y1="30" x2="{x}" y2="46" stroke="{WORSE_FILL}" {DASHED}/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="42">threshold (gated phases; grey: shown only)</text>"#,
        x + 6.0
    );
}

/// One phase: its label, the baseline bar, this run's bar and the
/// threshold line across both.
fn pair(s: &mut String, r: &Row, y: f64, scale: f64, factor: f64, worse: bool) {
    let label = xml_escape(&r.figure.label());
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#,
        LABEL_W - 8.0,
        y + BAR_H + 4.0
    );
    let fill = if worse { WORSE_FILL } else { CUR_FILL };
    for (i, (value, fill, who)) in
        [(r.baseline, BASE_FILL, "baseline"), (r.current, fill, "this run")].into_iter().enumerate()
    {
        let by = y + i as f64 * (BAR_H + 2.0);
        let w = (value * scale).max(0.5);
        let _ = write!(
            s,
            r#"<rect x="{LABEL_W}" y="{by:.1}" width="{w:.1}" height="{BAR_H}" fill="{fill}">"#
        );
        let _ = writeln!(s, "<title>{label}, {who}: {value:.3}</title></rect>");
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="10">{value:.3}</text>"#,
            LABEL_W + w + 4.0,
            by + BAR_H - 1.5
        );
    }
    let tx = LABEL_W + r.baseline * factor * scale;
    let stroke = if r.gated { WORSE_FILL } else { "#b0b0b0" };
    let _ = writeln!(
        s,
        r#"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="{stroke}" {DASHED}/>"#,
        y - 2.0,
        y + 2.0 * BAR_H + 4.0
    );
}

/// Writes the SVG of `c` to `path` through a temporary renamed into place.
pub fn write(path: &Path, c: &Comparison) -> std::io::Result<()> {
    thrum_io::cleanup::write_replacing(path, svg(c).as_bytes())
}

#[cfg(test)]
mod tests;
