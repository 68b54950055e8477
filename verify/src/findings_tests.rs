//! Tests of the findings: kind names, the README's table, the list
//! ceiling and caps, ranked findings.

use super::*;
#[test]
fn kind_names_are_unique_and_roundtrip() {
    let mut seen = std::collections::HashSet::new();
    for k in Kind::ALL {
        assert!(seen.insert(k.as_str()), "duplicate {}", k.as_str());
        assert_eq!(Kind::from_name(k.as_str()), Some(*k));
        assert!(k
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()));
    }
    assert_eq!(serde_json::to_string(&Kind::CellDiffers).unwrap(), "\"cell_differs\"");
}
#[test]
fn readme_documents_every_kind_with_its_severity() {
    let readme = include_str!("../README.md");
    for k in Kind::ALL {
        let sev = match k.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        assert!(
            readme.contains(&format!("| `{}` | {sev} |", k.as_str())),
            "README lacks {} ({sev})",
            k.as_str()
        );
    }
    // one row per kind: `| `name` | severity | ...` (other tables' rows may start with a name too)
    let rows = readme
        .lines()
        .filter(|l| {
            l.starts_with("| `")
                && l.split('|')
                    .nth(2)
                    .is_some_and(|c| ["error", "warning", "info"].contains(&c.trim()))
        })
        .count();
    assert_eq!(rows, Kind::ALL.len());
}

#[test]
fn every_list_stops_at_the_ceiling_and_counts_stay_exact() {
    let n = LIST_CEILING + 5;
    let mut part = Findings::new(0);
    for i in 0..n {
        part.push(Finding::new(Kind::JsonlUnparsable, format!("l{i}")).line(i as u64 + 1));
    }
    assert_eq!(
        (part.list().len(), part.count(Kind::JsonlUnparsable), part.omitted()),
        (LIST_CEILING, n, 5)
    );
    // appended to a report capped lower: its first ones listed, all counted
    let mut all = Findings::new(3);
    all.push(Finding::new(Kind::JsonlUnparsable, "first").line(0));
    all.append(part);
    let lines: Vec<Option<u64>> = all.list().iter().map(|f| f.line).collect();
    assert_eq!(lines, vec![Some(0), Some(1), Some(2)]);
    assert_eq!(
        (all.count(Kind::JsonlUnparsable), all.errors(), all.omitted()),
        (n + 1, n + 1, n - 2)
    );
}

#[test]
fn ranked_keeps_the_first_in_key_order_of_each_group() {
    let n = LIST_CEILING + 7;
    let (mut a, mut b) = (Ranked::default(), Ranked::default());
    // keys pushed backwards and split between two parts
    for i in (0..n).rev() {
        let part = if i % 2 == 0 { &mut a } else { &mut b };
        part.push((i, 0u8), Finding::new(Kind::EventNotCanonical, format!("e{i}")).line(i as u64));
    }
    a.push((3, 1), Finding::new(Kind::EventIdDuplicate, "dup"));
    a.merge(b);
    // counted by the caller beyond the ones it listed
    a.count_unlisted(Kind::EventNotCanonical, 3);
    a.count_unlisted(Kind::ShardMismatch, 0);
    let f = a.into_findings(4);
    let shown: Vec<&str> = f.list().iter().map(|x| x.message.as_str()).collect();
    assert_eq!(shown, vec!["e0", "e1", "e2", "e3", "dup"]);
    assert_eq!(
        (f.count(Kind::EventNotCanonical), f.count(Kind::EventIdDuplicate), f.omitted()),
        (n + 3, 1, n - 1)
    );
    assert!(!f.counts().contains_key(&Kind::ShardMismatch));
}

#[test]
fn cap_keeps_first_per_group_and_counts_all() {
    let mut f = Findings::new(2);
    for i in 0..5 {
        f.push(Finding::new(Kind::RowExtra, format!("r{i}")).table("messages"));
    }
    f.push(Finding::new(Kind::RowExtra, "other").table("agents"));
    f.push(Finding::new(Kind::ThreadDropped, "info"));
    assert_eq!(f.list().len(), 4);
    assert_eq!(f.count(Kind::RowExtra), 6);
    assert_eq!(f.omitted(), 3);
    assert_eq!(f.errors(), 6);
    assert_eq!(f.total(), 7);
    assert_eq!(f.list()[1].message, "r1");
    // absorbed: the kept ones pushed, the counted ones counted as omitted
    let mut all = Findings::new(3);
    all.absorb(
        f,
        |k| k != Kind::ThreadDropped,
        |x| Finding { message: format!("d: {}", x.message), ..x },
    );
    assert_eq!(all.count(Kind::RowExtra), 6);
    assert_eq!(all.count(Kind::ThreadDropped), 0);
    assert_eq!(
        all.list().iter().map(|x| x.message.as_str()).collect::<Vec<_>>(),
        vec!["d: r0", "d: r1", "d: other"]
    );
    assert_eq!(all.omitted(), 3);
    assert_eq!(all.errors(), 6);
}
