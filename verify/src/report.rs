//! The report: per-table counts, findings, verdict; as text or JSON.
//!
//! The verdict (consistent or not, the number of error findings, the exit
//! code) is computed in one place, [`Verdict::of`], from the finding counts
//! of the report; the text result line, the JSON `consistent` / `errors` /
//! `exit_code` fields and the exit code of the binary are all read from it.
//! Findings added later ([`Report::add`], e.g. the Parquet snapshots) change
//! all of them together.
//!
//! Every string of the text report that comes from the input (file and entry
//! names, keys, cell values, messages quoting them, paths) goes through
//! [`escape`], so no input can start a line or send a terminal escape.

use crate::compare::TableStats;
use crate::findings::{Finding, Findings, Kind, Severity};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Whether `c` is escaped by [`escape`]: control characters (C0, DEL, C1:
/// newline, carriage return, tab, ESC…) and the invisible format characters
/// that reorder or hide text on a terminal (bidirectional overrides and
/// isolates, zero-width characters, line and paragraph separators, BOM).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// Text from the input made safe for a terminal: `\n`, `\r` and `\t` as
/// those two-character escapes, other characters of `needs_escape` as
/// `\xHH` (below U+0080) or `\u{HHHH}`. Everything else, backslashes
/// included, is unchanged, so ordinary names read as they are.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The verdict, from the error findings alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// No error finding.
    pub consistent: bool,
    /// Error findings (counted, listed or not).
    pub errors: usize,
    /// [`EXIT_CONSISTENT`] or [`EXIT_INCONSISTENT`].
    pub exit_code: i32,
}

impl Verdict {
    /// The verdict of finding counts by kind name (a name this verifier does
    /// not know counts as an error).
    pub fn of(counts: &BTreeMap<String, usize>) -> Verdict {
        let errors = counts
            .iter()
            .filter(|(k, _)| Kind::from_name(k).is_none_or(|k| k.severity() == Severity::Error))
            .map(|(_, n)| n)
            .sum();
        let consistent = errors == 0;
        Verdict {
            consistent,
            errors,
            exit_code: if consistent { EXIT_CONSISTENT } else { EXIT_INCONSISTENT },
        }
    }

    /// The text result line (without newline).
    pub fn result_line(&self) -> String {
        format!(
            "result: {} ({} error finding{}; exit {})",
            if self.consistent { "CONSISTENT" } else { "INCONSISTENT" },
            self.errors,
            if self.errors == 1 { "" } else { "s" },
            self.exit_code
        )
    }
}

/// Exit code: the input is consistent.
pub const EXIT_CONSISTENT: i32 = 0;
/// Exit code: the input is inconsistent (an error-severity finding).
pub const EXIT_INCONSISTENT: i32 = 1;
/// Exit code: the input cannot be verified at all.
pub const EXIT_UNUSABLE: i32 = 2;

/// The outcome of one verification: what was checked, every finding, and
/// the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `replay` or `migrate`.
    pub command: String,
    /// The input as given (an archive, or the directory holding `.thrum`).
    pub input: String,
    /// From [`Report::verdict`] (kept equal to it by every constructor and
    /// [`Report::add`]; the outputs recompute it).
    pub consistent: bool,
    /// From [`Report::verdict`].
    pub exit_code: i32,
    /// The database's `schema_version`, when it could be read.
    pub schema_version: Option<i64>,
    /// Facts about the input (files, events, replay counts, manifest…).
    pub summary: BTreeMap<String, Value>,
    /// Row counts and differences per table and check.
    pub tables: Vec<TableStats>,
    /// Finding counts by kind, including findings not listed in detail.
    pub finding_counts: BTreeMap<String, usize>,
    /// From [`Report::verdict`].
    pub errors: usize,
    /// Findings counted but not listed (over the per-kind-and-table limit).
    pub findings_omitted: usize,
    /// The findings listed in detail, in a fixed order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report of `command` on `input`; the verdict is computed from the findings.
    pub fn new(
        command: &str,
        input: String,
        schema_version: Option<i64>,
        summary: BTreeMap<String, Value>,
        tables: Vec<TableStats>,
        findings: Findings,
    ) -> Report {
        let (list, counts, omitted) = findings.into_parts();
        let mut r = Report {
            command: command.into(),
            input,
            consistent: false,
            exit_code: EXIT_INCONSISTENT,
            schema_version,
            summary,
            tables,
            finding_counts: counts.into_iter().map(|(k, n)| (k.as_str().to_string(), n)).collect(),
            errors: 0,
            findings_omitted: omitted,
            findings: list,
        };
        r.seal();
        r
    }

    /// The verdict: the one computation behind the text result line, the
    /// JSON fields and the exit code.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(&self.finding_counts)
    }

    fn seal(&mut self) {
        let v = self.verdict();
        self.consistent = v.consistent;
        self.errors = v.errors;
        self.exit_code = v.exit_code;
    }

    /// Adds findings (and per-table counts) of a further check, e.g. the
    /// Parquet snapshots; the verdict follows.
    pub fn add(&mut self, findings: Findings, tables: Vec<TableStats>) {
        let (list, counts, omitted) = findings.into_parts();
        for (k, n) in counts {
            *self.finding_counts.entry(k.as_str().to_string()).or_default() += n;
        }
        self.findings.extend(list);
        self.findings_omitted += omitted;
        self.tables.extend(tables);
        self.seal();
    }

    /// Number of findings of a kind (by its stable name).
    pub fn count(&self, kind: crate::findings::Kind) -> usize {
        self.finding_counts.get(kind.as_str()).copied().unwrap_or(0)
    }

    /// Listed findings of a kind.
    pub fn of(&self, kind: crate::findings::Kind) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.kind == kind).collect()
    }

    /// The report as pretty-printed JSON (the `--json` output).
    pub fn to_json(&self) -> String {
        let mut r = self.clone();
        r.seal();
        serde_json::to_string_pretty(&r)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise report: {e}\"}}"))
    }

    /// The person-readable report.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "verify {}: {}", self.command, escape(&self.input));
        if let Some(v) = self.schema_version {
            let _ = writeln!(s, "schema_version: {v}");
        }
        for (k, v) in &self.summary {
            let v = match v {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            let _ = writeln!(s, "  {}: {}", escape(k), escape(&v));
        }
        self.render_tables(&mut s);
        self.render_findings(&mut s);
        let _ = writeln!(s, "\n{}", self.verdict().result_line());
        s
    }

    /// The table of each check that has rows.
    fn render_tables(&self, s: &mut String) {
        let sections: [(&str, &str, [&str; 6]); 5] = [
            (
                "replay",
                "projected tables: fixture database vs JSONL replay",
                ["rows in DB", "rows from replay", "missing", "extra", "differing", "other"],
            ),
            (
                "event_log",
                "events table (sync log) vs JSONL lines",
                ["rows in DB", "JSONL events", "missing", "extra", "differing", "other"],
            ),
            (
                "local",
                "local-only tables (references and plausibility)",
                ["rows in DB", "", "", "", "", "problems"],
            ),
            (
                "v5_preserved",
                "v5 rows in the migrated database",
                ["rows migrated", "rows in v5", "lost", "extra", "altered", "other"],
            ),
            (
                "parquet",
                "Parquet snapshots vs the fixture database",
                ["rows in DB", "rows in Parquet", "missing", "extra", "differing", "other"],
            ),
        ];
        for (check, title, heads) in sections {
            let rows: Vec<&TableStats> = self.tables.iter().filter(|t| t.check == check).collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title}");
            let w = rows.iter().map(|t| escape(&t.table).chars().count()).max().unwrap_or(5).max(5);
            let _ = write!(s, "  {:<w$}", "table");
            for h in heads {
                if !h.is_empty() {
                    let _ = write!(s, "  {h:>width$}", width = h.len().max(6));
                }
            }
            s.push('\n');
            for t in rows {
                let vals = [
                    t.rows_db.to_string(),
                    t.rows_expected.map_or("-".into(), |n| n.to_string()),
                    t.missing.to_string(),
                    t.extra.to_string(),
                    t.differing.to_string(),
                    t.other.to_string(),
                ];
                let _ = write!(s, "  {:<w$}", escape(&t.table));
                for (h, v) in heads.iter().zip(vals) {
                    if !h.is_empty() {
                        let _ = write!(s, "  {v:>width$}", width = h.len().max(6));
                    }
                }
                let _ = writeln!(s, "{}", if t.clean() { "" } else { "  <-" });
            }
        }
    }

    /// The findings by severity, then the counts by kind.
    fn render_findings(&self, s: &mut String) {
        let errors: Vec<&Finding> =
            self.findings.iter().filter(|f| f.severity == Severity::Error).collect();
        let warnings: Vec<&Finding> =
            self.findings.iter().filter(|f| f.severity == Severity::Warning).collect();
        let infos: Vec<&Finding> =
            self.findings.iter().filter(|f| f.severity == Severity::Info).collect();
        if !errors.is_empty() {
            let _ = writeln!(s, "\nfindings (first of each kind and table):");
            for f in errors {
                let _ = writeln!(s, "  {}", escape(&f.render()));
            }
        }
        if !warnings.is_empty() {
            let _ = writeln!(s, "\nwarnings (do not change the verdict by themselves):");
            for f in warnings {
                let _ = writeln!(s, "  {}", escape(&f.render()));
            }
        }
        if !infos.is_empty() {
            let _ = writeln!(s, "\nnotes (expected, not errors):");
            for f in infos {
                let _ = writeln!(s, "  {}", escape(&f.render()));
            }
        }
        if !self.finding_counts.is_empty() {
            let _ = writeln!(s, "\ncounts by kind:");
            for (k, n) in &self.finding_counts {
                let _ = writeln!(s, "  {:<32} {n}", escape(k));
            }
            if self.findings_omitted > 0 {
                let _ = writeln!(
                    s,
                    "  ({} findings counted but not listed; raise --max-diffs (0 lists the most, \
                        10000 per kind and table))",
                    self.findings_omitted
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_ordinary_text_and_escapes_every_control_and_invisible_character() {
        for plain in ["messages/alice.jsonl", "naïve 同期 — ok", "back\\slash \"quoted\"", ""]
        {
            assert!(matches!(escape(plain), Cow::Borrowed(_)), "{plain}");
        }
        assert_eq!(escape("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(escape("\x1b[0mresult: CONSISTENT"), "\\x1b[0mresult: CONSISTENT");
        assert_eq!(escape("\0\x7f\u{85}\u{9b}"), "\\x00\\x7f\\u{0085}\\u{009b}");
        assert_eq!(
            escape("abc\u{202e}fed\u{2066}\u{200b}\u{2028}\u{feff}"),
            "abc\\u{202e}fed\\u{2066}\\u{200b}\\u{2028}\\u{feff}"
        );
        // every character below U+0020 and from U+007F to U+009F is escaped
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let e = escape(&c.to_string()).into_owned();
            assert!(e.starts_with('\\') && e.chars().all(|c| !c.is_control()), "{c:?} -> {e}");
        }
    }

    fn report(findings: &[Kind]) -> Report {
        let mut f = Findings::new(1);
        for k in findings {
            f.push(Finding::new(*k, "m").table("t"));
        }
        Report::new("replay", "in\nput".into(), Some(13), BTreeMap::new(), Vec::new(), f)
    }

    /// The text result line, the JSON fields and the verdict agree.
    fn assert_agree(r: &Report, consistent: bool, errors: usize) {
        let v = r.verdict();
        assert_eq!(
            (v.consistent, v.errors, v.exit_code),
            (consistent, errors, if consistent { 0 } else { 1 })
        );
        assert_eq!((r.consistent, r.errors, r.exit_code), (v.consistent, v.errors, v.exit_code));
        let j: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            (j["consistent"].as_bool(), j["errors"].as_u64(), j["exit_code"].as_i64()),
            (Some(consistent), Some(errors as u64), Some(v.exit_code as i64))
        );
        let text = r.render_text();
        let results: Vec<&str> = text.lines().filter(|l| l.starts_with("result:")).collect();
        assert_eq!(results, vec![v.result_line()]);
        assert!(text.starts_with("verify replay: in\\nput\n"), "the input is escaped: {text}");
    }

    #[test]
    fn one_verdict_behind_text_json_and_exit_code_also_after_adding_findings() {
        let mut r = report(&[Kind::EventTypeUnknown, Kind::ThreadDropped]);
        assert_agree(&r, true, 0);
        // warnings and notes added later leave it consistent
        let mut more = Findings::new(0);
        more.push(Finding::new(Kind::ManifestAbsent, "none"));
        r.add(more, Vec::new());
        assert_agree(&r, true, 0);
        // a Parquet difference added later makes every output inconsistent
        let mut pq = Findings::new(0);
        pq.push(Finding::new(Kind::ParquetDiffers, "row missing from Parquet").table("agents"));
        pq.push(
            Finding::new(Kind::ParquetUnreadable, "truncated")
                .file("parquet/agents/part-00000.parquet"),
        );
        r.add(pq, vec![TableStats::new("agents", "parquet")]);
        assert_agree(&r, false, 2);
        assert_eq!(r.count(Kind::ParquetDiffers), 1);
        assert!(r.render_text().contains("Parquet snapshots vs the fixture database"));
        // errors counted but not listed (over --max-diffs) count in the verdict
        let r = report(&[Kind::RowExtra, Kind::RowExtra, Kind::RowExtra]);
        assert_eq!(r.findings.len(), 1);
        assert_agree(&r, false, 3);
        // fields changed by hand do not change what is printed
        let mut r = report(&[Kind::RowExtra]);
        r.consistent = true;
        r.exit_code = 0;
        assert!(r.render_text().contains("result: INCONSISTENT (1 error finding; exit 1)"));
        assert_eq!(serde_json::from_str::<Value>(&r.to_json()).unwrap()["consistent"], false);
    }
}
