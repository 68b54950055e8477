//! Findings bounded: an archive of a few KiB whose one entry holds millions
//! of bad lines gives exact counts (the verdict, the text, `--json` and the
//! exit code agree) while verify's memory stays under 256 MiB.

use super::base::base;
use super::lab::{step, Bin, Expect, Lab, Row};
use std::path::Path;

const CLASS: &str = "unbounded findings";

/// The base tree as a tar.zst, with LINES copies of LINE appended to its
/// first message shard.
fn archive(to: &Path, line: &[u8], lines: usize) {
    let thrum = base().tree.join(".thrum");
    let mut files: Vec<_> = Vec::new();
    collect(&thrum, &mut files);
    files.sort();
    let shard = files.iter().find(|p| p.starts_with(thrum.join("messages"))).expect("a message shard").clone();
    let mut t = tar::Builder::new(Vec::new());
    for p in &files {
        let mut data = std::fs::read(p).unwrap();
        if *p == shard {
            data.extend(line.repeat(lines));
        }
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        let name = Path::new(".thrum").join(p.strip_prefix(&thrum).unwrap());
        t.append_data(&mut h, name, &data[..]).unwrap();
    }
    let tar = t.into_inner().unwrap();
    std::fs::write(to, zstd::stream::encode_all(&tar[..], 19).unwrap()).unwrap();
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn millions_of_findings_are_counted_exactly_in_bounded_memory() {
    let mut all: Vec<Result<Row, String>> = Vec::new();
    for (case, line, kind) in [("3,000,000 junk lines", &b"junk\n"[..], "jsonl_unparsable"), ("3,000,000 blank lines", &b"\n"[..], "")] {
        let lab = Lab::new();
        archive(&lab.at("x.tar.zst"), line, 3_000_000);
        let size = std::fs::metadata(lab.at("x.tar.zst")).unwrap().len();
        assert!(size < 256 << 10, "{case}: the archive is small ({size} bytes)");
        let count = format!("\"{kind}\": 3000000");
        let says: Vec<&str> = if kind.is_empty() { vec!["\"jsonl_blank_lines\": 3000000"] } else { vec![&count, "\"exit_code\": 1"] };
        let code = if kind.is_empty() { 0 } else { 1 };
        let want = Expect { code, says: &says, dest: None };
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["replay", "--json", "x.tar.zst"], want));
        let text = if kind.is_empty() { vec![] } else { vec![kind] };
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["replay", "x.tar.zst"], Expect { code, says: &text, dest: None }));
    }
    super::finish(CLASS, all);
}
