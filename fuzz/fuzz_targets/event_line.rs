//! The JSONL reader, `Event::parse` and the line checks on arbitrary file
//! contents: no panic, and every line is accounted for. (The projection of
//! what it decodes is the `replay` target.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::atomic::AtomicBool;
use verify::internals::{split_lines, Source};
use verify::Mode;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("x.jsonl");
    std::fs::write(&path, data).expect("the event file is written");
    let lines = split_lines(data);
    for (_, raw, _) in &lines {
        if let Ok(s) = std::str::from_utf8(raw) {
            let _ = thrum_schemas::events::Event::parse(s);
        }
    }
    for mode in [Mode::Fixture, Mode::Migrated] {
        let src = Source {
            path: path.clone(),
            rel: ".thrum/messages/x.jsonl".into(),
            shard: Some("x".into()),
        };
        let Ok(s) = verify::internals::stream(vec![src], mode, u64::MAX, &AtomicBool::new(false))
        else {
            panic!("reading one event file failed")
        };
        let info = &s.files[0];
        assert!(info.events + info.unparsable + info.blank <= lines.len() as u64);
        assert!(s.read_findings.total() as u64 >= info.unparsable);
    }
});
