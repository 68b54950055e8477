//! Whatever the JSONL reader decodes from arbitrary bytes is projected into a
//! fresh database: no panic, every event applied, ignored or rejected (and
//! rolled back), never an error of the replay database itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verify::findings::Findings;
use verify::jsonl::{parse_file, sort, Loaded};

fuzz_target!(|data: &[u8]| {
    let (info, events, _) = parse_file(data, 0, ".thrum/messages/x.jsonl", Some("x".into()));
    if events.is_empty() {
        return;
    }
    let mut loaded = Loaded { files: vec![info], events, order: Vec::new() };
    sort(&mut loaded);
    let mut f = Findings::new(0);
    let r = verify::replay::replay(&loaded, &mut f).expect("the in-memory replay database works");
    assert_eq!(r.applied + r.ignored + r.rejected, loaded.events.len());
});
