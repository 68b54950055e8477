//! The JSONL reader, `Event::parse` and the line checks on arbitrary file
//! contents: no panic, and every line is accounted for. (The projection of
//! what it decodes is the `replay` target.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use verify::checks::{check_lines, Mode};
use verify::findings::Findings;
use verify::jsonl::{parse_file, sort, split_lines, Loaded};

fuzz_target!(|data: &[u8]| {
    let (info, events, found) = parse_file(data, 0, ".thrum/messages/x.jsonl", Some("x".into()));
    let lines = split_lines(data);
    assert!(info.events + info.unparsable + info.blank <= lines.len() as u64);
    assert!(found.len() as u64 >= info.unparsable);
    for (_, raw, _) in &lines {
        if let Ok(s) = std::str::from_utf8(raw) {
            let _ = thrum_schemas::events::Event::parse(s);
        }
    }
    let mut loaded = Loaded { files: vec![info], events, order: Vec::new() };
    sort(&mut loaded);
    let mut f = Findings::new(0);
    check_lines(&loaded, Mode::Fixture, &mut f);
    check_lines(&loaded, Mode::Migrated, &mut f);
});
