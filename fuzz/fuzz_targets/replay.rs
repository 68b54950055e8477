//! Whatever the JSONL reader decodes from arbitrary bytes is projected into a
//! fresh database: no panic, every event applied, ignored or rejected (and
//! rolled back), never an error of the replay database itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::atomic::AtomicBool;
use verify::internals::Source;
use verify::Mode;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("x.jsonl");
    std::fs::write(&path, data).expect("the event file is written");
    let src = Source { path, rel: ".thrum/messages/x.jsonl".into(), shard: Some("x".into()) };
    let Ok(s) =
        verify::internals::stream(vec![src], Mode::Migrated, u64::MAX, &AtomicBool::new(false))
    else {
        panic!("the replay database works")
    };
    assert_eq!(s.replay.applied + s.replay.ignored + s.replay.rejected, s.events as usize);
});
