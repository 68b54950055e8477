//! Message bodies and context notes: realistic markdown of widely varied
//! length, written into a caller's buffer (no allocation per call beyond it).

use crate::rng::Stream;
use crate::vocab::*;
use std::fmt::Write as _;

/// Body formats as the daemon knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `markdown`.
    Markdown,
    /// `plain`.
    Plain,
    /// `json`: the content is JSON and the body has a structured value.
    Json,
}

impl Format {
    /// The format's name in a body (`markdown`, `plain`, `json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Plain => "plain",
            Format::Json => "json",
        }
    }
}

fn sentence(r: &mut Stream, out: &mut String, module: &str) {
    let verb = r.pick(VERBS);
    let noun = r.pick(NOUNS);
    match r.below(9) {
        0 => write!(out, "I'm going to {verb} the {noun} in `{module}` next."),
        1 => write!(out, "Can someone {verb} the {noun}? It blocks the {module} release."),
        2 => write!(
            out,
            "Finished: {verb} {noun} ({} files, +{} −{}).",
            r.range(1, 14),
            r.range(3, 420),
            r.range(0, 180)
        ),
        3 => write!(
            out,
            "Heads up: the {noun} fails when latency > {}ms & retries < {}.",
            r.range(50, 900),
            r.range(1, 5)
        ),
        4 => write!(
            out,
            "Status of {module}: tests {} — {} passed, {} failed.",
            r.pick(STATUS_WORDS),
            r.range(80, 2400),
            r.range(0, 7)
        ),
        5 => write!(
            out,
            "Re the {noun}: I prefer <option A> over <option B>, see {}.",
            r.pick(LINK_TARGETS)
        ),
        6 => write!(
            out,
            "Note for {}: the {noun} now handles {} correctly.",
            r.pick(PERSONAS),
            r.pick(NON_ASCII)
        ),
        7 => write!(
            out,
            "Blocked on the {noun}; waiting for review of [#{}]({}).",
            r.range(100, 999),
            r.pick(LINK_TARGETS)
        ),
        _ => write!(out, "Plan: {verb} the {noun}, then {} the {}.", r.pick(VERBS), r.pick(NOUNS)),
    }
    .ok();
}

/// Writes a body's content (and, for `Json`, its structured JSON string) for
/// message `index`. Lengths range from one line to several paragraphs.
pub fn body(r: &mut Stream, module: &str, content: &mut String, structured: &mut String) -> Format {
    content.clear();
    structured.clear();
    let roll = r.below(100);
    let format = if roll < 90 {
        Format::Markdown
    } else if roll < 96 {
        Format::Plain
    } else {
        Format::Json
    };
    match format {
        Format::Markdown => markdown(r, module, content),
        Format::Plain => {
            sentence(r, content, module);
            if r.chance(0.5) {
                write!(structured, "{{\"module\":\"{module}\",\"priority\":{}}}", r.range(1, 4))
                    .ok();
            }
        }
        Format::Json => {
            let passed = r.range(10, 3000);
            let failed = r.range(0, 9);
            write!(content, "CI report for {module}: {passed} passed, {failed} failed").ok();
            write!(
                structured,
                "{{\"build\":{},\"kind\":\"ci_report\",\"module\":\"{module}\",\"status\":\"{}\"\
                    ,\"tests\":{{\"failed\":{failed},\"passed\":{passed}}}}}",
                r.range(10_000, 99_999),
                if failed == 0 { "green" } else { "red" }
            )
            .ok();
        }
    }
    format
}

fn markdown(r: &mut Stream, module: &str, out: &mut String) {
    let shape = r.below(100);
    if shape < 40 {
        sentence(r, out, module);
        return;
    }
    let paragraphs = if shape < 70 {
        1
    } else if shape < 90 {
        r.range(2, 3)
    } else {
        r.range(3, 6)
    };
    if shape >= 70 && r.chance(0.6) {
        writeln!(out, "## {} {}\n", r.pick(TASK_PREFIX), r.pick(NOUNS)).ok();
    }
    for p in 0..paragraphs {
        if p > 0 {
            out.push_str("\n\n");
        }
        let sentences = r.range(1, 4);
        for s in 0..sentences {
            if s > 0 {
                out.push(' ');
            }
            sentence(r, out, module);
        }
        match r.below(6) {
            0 => {
                out.push_str("\n\n");
                for _ in 0..r.range(2, 6) {
                    writeln!(out, "- {} `{}`", r.pick(VERBS), r.pick(FILES)).ok();
                }
                out.pop();
            }
            1 if shape >= 70 => {
                let (lang, code) = r.pick(CODE_SNIPPETS);
                write!(out, "\n\n```{lang}\n{code}\n```").ok();
            }
            2 => {
                out.push_str("\n\n");
                for n in 1..=r.range(2, 4) {
                    writeln!(out, "{n}. **{}** the {}", r.pick(VERBS), r.pick(NOUNS)).ok();
                }
                out.pop();
            }
            3 => {
                write!(out, "\n\n> {} — {}", r.pick(NOUNS), r.pick(NON_ASCII)).ok();
            }
            _ => {}
        }
    }
}

/// An edit of `old`: a correction appended or a sentence rewritten.
pub fn edited(r: &mut Stream, module: &str, old: &str, out: &mut String) {
    out.clear();
    match r.below(3) {
        0 => {
            out.push_str(old);
            write!(
                out,
                "\n\n_Edit: {}_",
                r.pick(&[
                    "fixed a typo",
                    "added the PR link",
                    "clarified scope",
                    "tests are green now ✅"
                ])
            )
            .ok();
        }
        1 => {
            sentence(r, out, module);
            out.push_str(" (updated)");
        }
        _ => {
            out.push_str("~~");
            out.push_str(old.lines().next().unwrap_or(""));
            out.push_str("~~ ");
            sentence(r, out, module);
        }
    }
}

/// A context file: markdown session notes for one agent.
pub fn context_notes(
    r: &mut Stream,
    name: &str,
    role: &str,
    module: &str,
    display: &str,
    out: &mut String,
) {
    out.clear();
    let title = if display.is_empty() { name } else { display };
    writeln!(out, "# {title} — session notes\n").ok();
    writeln!(out, "Role: **{role}** · Module: `{module}`\n").ok();
    writeln!(out, "## Current focus\n").ok();
    for _ in 0..r.range(1, 3) {
        sentence(r, out, module);
        out.push(' ');
    }
    out.pop();
    out.push_str("\n\n## Open threads\n\n");
    for _ in 0..r.range(2, 6) {
        writeln!(
            out,
            "- [{}] {} the {} ({})",
            if r.chance(0.4) { "x" } else { " " },
            r.pick(VERBS),
            r.pick(NOUNS),
            r.pick(FILES)
        )
        .ok();
    }
    if r.chance(0.5) {
        out.push_str("\n## Decisions\n\n");
        for n in 1..=r.range(1, 4) {
            writeln!(
                out,
                "{n}. Keep {} behind a flag until {} signs off.",
                r.pick(NOUNS),
                r.pick(PERSONAS)
            )
            .ok();
        }
    }
    if r.chance(0.3) {
        let (lang, code) = r.pick(CODE_SNIPPETS);
        write!(out, "\n## Scratch\n\n```{lang}\n{code}\n```\n").ok();
    }
}
