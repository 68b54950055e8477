//! The report: per-table counts, findings, verdict; as text or JSON.

use crate::compare::TableStats;
use crate::findings::{Finding, Findings, Severity};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Exit codes.
pub const EXIT_CONSISTENT: i32 = 0;
pub const EXIT_INCONSISTENT: i32 = 1;
pub const EXIT_UNUSABLE: i32 = 2;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `replay` or `migrate`.
    pub command: String,
    pub input: String,
    pub consistent: bool,
    pub exit_code: i32,
    pub schema_version: Option<i64>,
    /// Facts about the input (files, events, replay counts, manifest…).
    pub summary: BTreeMap<String, Value>,
    pub tables: Vec<TableStats>,
    /// Finding counts by kind, including findings not listed in detail.
    pub finding_counts: BTreeMap<String, usize>,
    pub errors: usize,
    /// Findings counted but not listed (over the per-kind-and-table limit).
    pub findings_omitted: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(command: &str, input: String, schema_version: Option<i64>, summary: BTreeMap<String, Value>, tables: Vec<TableStats>, findings: Findings) -> Report {
        let errors = findings.errors();
        let (list, counts, omitted) = findings.into_parts();
        let consistent = errors == 0;
        Report {
            command: command.into(),
            input,
            consistent,
            exit_code: if consistent { EXIT_CONSISTENT } else { EXIT_INCONSISTENT },
            schema_version,
            summary,
            tables,
            finding_counts: counts.into_iter().map(|(k, n)| (k.as_str().to_string(), n)).collect(),
            errors,
            findings_omitted: omitted,
            findings: list,
        }
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
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise report: {e}\"}}"))
    }

    /// The person-readable report.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "verify {}: {}", self.command, self.input);
        if let Some(v) = self.schema_version {
            let _ = writeln!(s, "schema_version: {v}");
        }
        for (k, v) in &self.summary {
            let v = match v {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            let _ = writeln!(s, "  {k}: {v}");
        }
        let sections: [(&str, &str, [&str; 6]); 4] = [
            ("replay", "projected tables: fixture database vs JSONL replay", ["rows in DB", "rows from replay", "missing", "extra", "differing", "other"]),
            ("event_log", "events table (sync log) vs JSONL lines", ["rows in DB", "JSONL events", "missing", "extra", "differing", "other"]),
            ("local", "local-only tables (references and plausibility)", ["rows in DB", "", "", "", "", "problems"]),
            ("v5_preserved", "v5 rows in the migrated database", ["rows migrated", "rows in v5", "lost", "extra", "altered", "other"]),
        ];
        for (check, title, heads) in sections {
            let rows: Vec<&TableStats> = self.tables.iter().filter(|t| t.check == check).collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title}");
            let w = rows.iter().map(|t| t.table.len()).max().unwrap_or(5).max(5);
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
                let _ = write!(s, "  {:<w$}", t.table);
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
                let _ = writeln!(s, "  {}", f.render());
            }
        }
        if !warnings.is_empty() {
            let _ = writeln!(s, "\nwarnings (do not change the verdict by themselves):");
            for f in warnings {
                let _ = writeln!(s, "  {}", f.render());
            }
        }
        if !infos.is_empty() {
            let _ = writeln!(s, "\nnotes (expected, not errors):");
            for f in infos {
                let _ = writeln!(s, "  {}", f.render());
            }
        }
        if !self.finding_counts.is_empty() {
            let _ = writeln!(s, "\ncounts by kind:");
            for (k, n) in &self.finding_counts {
                let _ = writeln!(s, "  {k:<32} {n}");
            }
            if self.findings_omitted > 0 {
                let _ = writeln!(s, "  ({} findings counted but not listed; raise --max-diffs or use 0 for all)", self.findings_omitted);
            }
        }
        let _ = writeln!(
            s,
            "\nresult: {} ({} error finding{}; exit {})",
            if self.consistent { "CONSISTENT" } else { "INCONSISTENT" },
            self.errors,
            if self.errors == 1 { "" } else { "s" },
            self.exit_code
        );
        s
    }
}
