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
        || matches!(c, '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// Text from the input made safe for a terminal: `\n`, `\r` and `\t` as
/// those two-character escapes, other characters of [`needs_escape`] as
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
        let errors = counts.iter().filter(|(k, _)| Kind::from_name(k).is_none_or(|k| k.severity() == Severity::Error)).map(|(_, n)| n).sum();
        let consistent = errors == 0;
        Verdict { consistent, errors, exit_code: if consistent { EXIT_CONSISTENT } else { EXIT_INCONSISTENT } }
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

/// Exit codes.
pub const EXIT_CONSISTENT: i32 = 0;
pub const EXIT_INCONSISTENT: i32 = 1;
pub const EXIT_UNUSABLE: i32 = 2;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `replay` or `migrate`.
    pub command: String,
    pub input: String,
    /// From [`Report::verdict`] (kept equal to it by every constructor and
    /// [`Report::add`]; the outputs recompute it).
    pub consistent: bool,
    /// From [`Report::verdict`].
    pub exit_code: i32,
    pub schema_version: Option<i64>,
    /// Facts about the input (files, events, replay counts, manifest…).
    pub summary: BTreeMap<String, Value>,
    pub tables: Vec<TableStats>,
    /// Finding counts by kind, including findings not listed in detail.
    pub finding_counts: BTreeMap<String, usize>,
    /// From [`Report::verdict`].
    pub errors: usize,
    /// Findings counted but not listed (over the per-kind-and-table limit).
    pub findings_omitted: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(command: &str, input: String, schema_version: Option<i64>, summary: BTreeMap<String, Value>, tables: Vec<TableStats>, findings: Findings) -> Report {
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

    pub fn to_json(&self) -> String {
        let mut r = self.clone();
        r.seal();
        serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise report: {e}\"}}"))
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
        let sections: [(&str, &str, [&str; 6]); 5] = [
            ("replay", "projected tables: fixture database vs JSONL replay", ["rows in DB", "rows from replay", "missing", "extra", "differing", "other"]),
            ("event_log", "events table (sync log) vs JSONL lines", ["rows in DB", "JSONL events", "missing", "extra", "differing", "other"]),
            ("local", "local-only tables (references and plausibility)", ["rows in DB", "", "", "", "", "problems"]),
            ("v5_preserved", "v5 rows in the migrated database", ["rows migrated", "rows in v5", "lost", "extra", "altered", "other"]),
            ("parquet", "Parquet snapshots vs the fixture database", ["rows in DB", "rows in Parquet", "missing", "extra", "differing", "other"]),
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
        let errors: Vec<&Finding> = self.findings.iter().filter(|f| f.severity == Severity::Error).collect();
        let warnings: Vec<&Finding> = self.findings.iter().filter(|f| f.severity == Severity::Warning).collect();
        let infos: Vec<&Finding> = self.findings.iter().filter(|f| f.severity == Severity::Info).collect();
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
                let _ = writeln!(s, "  ({} findings counted but not listed; raise --max-diffs or use 0 for all)", self.findings_omitted);
            }
        }
        let _ = writeln!(s, "\n{}", self.verdict().result_line());
        s
    }
}
