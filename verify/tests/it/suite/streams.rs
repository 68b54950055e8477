//! Corruption never passed as good: every compressed stream is read to its
//! end and every checksum it carries is checked, by every command that
//! reads an archive. Valid streams of unusual shape (skippable zstd frames
//! anywhere, several frames, several gzip members) are accepted.

use super::base::tar_bytes;
use super::lab::{step, Bin, Expect, Lab, Row};
use flate2::{write::GzEncoder, Compression};
use std::io::Write;

const CLASS: &str = "corrupt stream";

fn gz(tar: &[u8], level: Compression) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), level);
    e.write_all(tar).unwrap();
    e.finish().unwrap()
}

fn zst_frame(data: &[u8], checksum: bool) -> Vec<u8> {
    let mut e = zstd::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(checksum).unwrap();
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn skippable(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x50, 0x2a, 0x4d, 0x18];
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(payload);
    f
}

fn flip(mut b: Vec<u8>, at: usize) -> Vec<u8> {
    b[at] ^= 0x20;
    b
}

/// (name, bytes, valid) for each case.
fn archives() -> Vec<(&'static str, &'static str, Vec<u8>, bool)> {
    let tar = tar_bytes();
    let good = gz(&tar, Compression::default());
    let n = good.len();
    let stored = gz(&tar, Compression::none());
    let inside =
        stored.windows(10).position(|w| w == b"\"event_id\"").expect("a stored event line");
    let z = zst_frame(&tar, true);
    let half = tar.len() / 2;
    let two = [zst_frame(&tar[..half], true), zst_frame(&tar[half..], true)].concat();
    let two_gz =
        [gz(&tar[..half], Compression::default()), gz(&tar[half..], Compression::default())]
            .concat();
    vec![
        ("gzip: CRC32 wrong", "a.tar.gz", flip(good.clone(), n - 8), false),
        ("gzip: ISIZE wrong", "a.tar.gz", flip(good.clone(), n - 4), false),
        ("gzip: trailer missing", "a.tar.gz", good[..n - 8].to_vec(), false),
        (
            "gzip: garbage after the member",
            "a.tar.gz",
            [good.clone(), b"garbage!".to_vec()].concat(),
            false,
        ),
        ("gzip: zeros after the member", "a.tar.gz", [good.clone(), vec![0; 512]].concat(), false),
        ("gzip: a byte flipped in a stored block", "a.tar.gz", flip(stored, inside + 2), false),
        ("zstd: content checksum wrong", "a.tar.zst", flip(z.clone(), z.len() - 1), false),
        ("zstd: frame cut short", "a.tar.zst", z[..z.len() - 3].to_vec(), false),
        (
            "zstd: garbage after the frame",
            "a.tar.zst",
            [z.clone(), b"garbage!".to_vec()].concat(),
            false,
        ),
        (
            "zstd: a skippable frame first",
            "a.tar.zst",
            [skippable(b"hello"), z.clone()].concat(),
            true,
        ),
        (
            "zstd: skippable frames between and after",
            "a.tar.zst",
            [two[..].to_vec(), skippable(b"x")].concat(),
            true,
        ),
        ("zstd: two frames", "a.tar.zst", two, true),
        ("gzip: two members", "a.tar.gz", two_gz, true),
        ("zstd: no checksum flag", "a.tar.zst", zst_frame(&tar, false), true),
    ]
}

#[test]
fn corrupt_streams_are_refused_by_every_reader() {
    let mut all: Vec<Result<Row, String>> = Vec::new();
    for (case, name, bytes, valid) in archives() {
        let lab = Lab::new();
        std::fs::write(lab.at(name), &bytes).unwrap();
        if valid {
            let want = Expect { code: 0, says: &[], dest: Some(lab.at("dest")) };
            all.push(step(&lab, CLASS, case, Bin::Verify, &args!["extract", name, "dest"], want));
            continue;
        }
        let says = [name];
        let refused = || Expect { code: 2, says: &says, dest: None };
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["extract", name, "dest"], refused()));
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["replay", name], refused()));
        all.push(step(
            &lab,
            CLASS,
            case,
            Bin::Verify,
            &args!["migrate", name, "--out", "dest"],
            refused(),
        ));
        all.push(step(&lab, CLASS, case, Bin::Verify, &args!["parquet", name], refused()));
        all.push(step(
            &lab,
            CLASS,
            case,
            Bin::Testgen,
            &args!["corrupt", "--fault", "altered-cell", "--in", name, "--out", "dest"],
            refused(),
        ));
    }
    super::finish(CLASS, all);
}
