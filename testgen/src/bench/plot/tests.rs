use super::*;
use crate::bench::baseline::{compare, tests as sample};

/// A structural check of an XML document: tags balance, attribute values
/// are quoted, text and attributes hold no raw `<` and `&` only as an
/// entity; returns the element names in document order.
fn elements(doc: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = doc.trim();
    let entity_ok = |text: &str| {
        text.match_indices('&').all(|(i, _)| {
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| text[i..].starts_with(e))
        })
    };
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..lt];
        assert!(entity_ok(text) && !text.contains('>'), "bad text {text:?}");
        assert!(text.trim().is_empty() || !open.is_empty(), "text outside the root: {text:?}");
        rest = &rest[lt..];
        if rest.is_empty() {
            break;
        }
        // the tag ends at the first '>' outside quotes
        let mut quoted = false;
        let end = rest.char_indices().find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c == '>' && !quoted
        });
        let end = end.expect("tag closed").0;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        assert!(!tag.contains('<') && entity_ok(tag), "bad tag {tag:?}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "closing {name}");
            if open.is_empty() {
                assert!(rest.trim().is_empty(), "content after the root: {rest:?}");
            }
            continue;
        }
        let name =
            tag.split_whitespace().next().expect("element name").trim_end_matches('/').to_string();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "element {name:?}");
        assert!(tag.matches('"').count() % 2 == 0, "unbalanced quotes in {tag:?}");
        assert!(names.is_empty() || !open.is_empty(), "a second root {name}");
        names.push(name.clone());
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed {open:?}");
    names
}

#[test]
fn the_plot_pairs_baseline_and_current_bars_per_phase_with_the_threshold() {
    let cur = sample::default_report();
    let mut base = sample::default_report();
    base.scenarios[0].phases.iter_mut().find(|p| p.phase == "archive").unwrap().p50_ms = 40.0;
    let c = compare(&base, &cur, 50.0);
    let doc = svg(&c);
    let names = elements(&doc);
    assert_eq!(names[0], "svg");
    // background, 3 legend swatches, then two bars per phase (10 phases)
    assert_eq!(names.iter().filter(|n| *n == "rect").count(), 1 + 3 + 2 * 10);
    assert_eq!(names.iter().filter(|n| *n == "title").count(), 2 * 10);
    // one threshold line per phase and the legend's
    assert_eq!(names.iter().filter(|n| *n == "line").count(), 10 + 1);
    assert!(doc.contains(">profile default</text>"));
    assert!(doc.contains(">archive / zstd</text>") && doc.contains(">tables / sqlite3</text>"));
    // the regressed phase's current bar alone is drawn in the "worse" colour
    let worse: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("<rect") && l.contains("<title>") && l.contains(WORSE_FILL))
        .collect();
    assert_eq!(worse.len(), 1, "{worse:?}");
    assert!(worse[0].contains("<title>archive / zstd, this run: 1.154</title>"), "{}", worse[0]);
    // archive: baseline 40 / 65.4 = 0.612 (a gated phase: 40 ms of 366.4)
    assert!(doc.contains("<title>archive / zstd, baseline: 0.612</title>"));
}

#[test]
fn names_from_the_input_are_escaped() {
    let mut cur = sample::default_report();
    cur.scenarios[0].profile = "p<1>&\"2\"".into();
    cur.scenarios[0].phases[1].phase = "files</text><script>x'\u{7}".into();
    let base = cur.clone();
    let doc = svg(&compare(&base, &cur, 50.0));
    let names = elements(&doc);
    assert!(!names.iter().any(|n| n == "script"), "{doc}");
    assert!(doc.contains(">profile p&lt;1&gt;&amp;&quot;2&quot;</text>"), "{doc}");
    assert!(
        doc.contains(">files&lt;/text&gt;&lt;script&gt;x&apos;\\u{7} / sqlite3</text>"),
        "{doc}"
    );
    assert!(!doc.contains('\u{7}'));
}

#[test]
fn the_plot_is_written_through_a_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench.svg");
    std::fs::write(&out, "previous").unwrap();
    let r = sample::default_report();
    let c = compare(&r, &r, 50.0);
    write(&out, &c).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), svg(&c));
    let left: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("bench.svg")], "no temporary left");
    // a directory where the file should go: an error, the directory intact
    let taken = dir.path().join("taken.svg");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep"), "x").unwrap();
    assert!(write(&taken, &c).is_err());
    assert_eq!(std::fs::read_to_string(taken.join("keep")).unwrap(), "x");
}
