//! Findings bounded: an archive of a few KiB whose one entry holds millions
//! of bad lines gives exact counts (the verdict, the text, `--json` and the
//! exit code agree) while verify's memory stays under 256 MiB; so does a
//! database whose `events` table holds hundreds of thousands of large rows
//! that no line explains.

use super::base::base;
use super::base::copy;
use super::lab::{step, step_report, Bin, Expect, Lab, Row};
use serde_json::{json, Value};
use std::path::Path;

const CLASS: &str = "unbounded findings";

/// The base tree as a tar.zst, with LINES copies of LINE appended to its
/// first message shard.
fn archive(to: &Path, line: &[u8], lines: usize) {
    let thrum = base().tree.join(".thrum");
    let mut files: Vec<_> = Vec::new();
    collect(&thrum, &mut files);
    files.sort();
    let shard = files
        .iter()
        .find(|p| p.starts_with(thrum.join("messages")))
        .expect("a message shard")
        .clone();
    let tar = thrum_testkit::tar::regular_files(files.iter().map(|p| {
        let mut data = std::fs::read(p).unwrap();
        if *p == shard {
            data.extend(line.repeat(lines));
        }
        let name = Path::new(".thrum").join(p.strip_prefix(&thrum).unwrap());
        (name.into_os_string().into_encoded_bytes(), data)
    }));
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
    for (case, line, kind) in [
        ("3,000,000 junk lines", &b"junk\n"[..], "jsonl_unparsable"),
        ("3,000,000 blank lines", &b"\n"[..], ""),
    ] {
        let lab = Lab::new();
        archive(&lab.at("x.tar.zst"), line, 3_000_000);
        let size = std::fs::metadata(lab.at("x.tar.zst")).unwrap().len();
        assert!(size < 256 << 10, "{case}: the archive is small ({size} bytes)");
        let count = format!("\"{kind}\": 3000000");
        let says: Vec<&str> = if kind.is_empty() {
            vec!["\"jsonl_blank_lines\": 3000000"]
        } else {
            vec![&count, "\"exit_code\": 1"]
        };
        let code = if kind.is_empty() { 0 } else { 1 };
        let want = Expect { code, says: &says, dest: None };
        all.push(step(
            &lab,
            CLASS,
            case,
            Bin::Verify,
            &args!["replay", "--json", "x.tar.zst"],
            want,
        ));
        let text = if kind.is_empty() { vec![] } else { vec![kind] };
        all.push(step(
            &lab,
            CLASS,
            case,
            Bin::Verify,
            &args!["replay", "x.tar.zst"],
            Expect { code, says: &text, dest: None },
        ));
    }
    super::finish(CLASS, all);
}

/// Rows of the `events` table no line explains, and the bytes of each one's event_json.
const EXTRA_ROWS: usize = 100_000;
const EXTRA_JSON: usize = 4096;
/// The peak RSS `verify replay` stays under on them: the findings listed
/// and the index of the lines, not the rows (kept whole, they take over 390 MiB).
const EXTRA_RSS_KIB: u64 = 64 << 10;

/// Adds the extra rows to `db` in one transaction: ids after every event
/// id of the fixture, sequences after every sequence; returns the event
/// id and sequence of the first, and the number of rows before.
fn add_extra_rows(db: &Path) -> (String, i64, u64) {
    let mut c = rusqlite::Connection::open(db).unwrap();
    let (max_seq, ts, origin): (i64, String, String) = c
        .query_row(
            "SELECT sequence, timestamp, origin_daemon FROM events ORDER BY sequence DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let before: i64 = c.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
    let pad = "x".repeat(EXTRA_JSON - 32);
    let tx = c.transaction().unwrap();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO events (event_id, sequence, type, timestamp, origin_daemon, \
                event_json) VALUES (?1, ?2, 'x.extra', ?3, ?4, ?5)",
            )
            .unwrap();
        for i in 0..EXTRA_ROWS {
            let json = format!("{{\"pad\":\"{pad}\",\"type\":\"x.extra\"}}");
            ins.execute(rusqlite::params![extra_id(i), max_seq + 1 + i as i64, ts, origin, json])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    c.close().unwrap();
    (extra_id(0), max_seq + 1, before as u64)
}

/// The event id of extra row `i`: after every ULID, in the order of `i`.
fn extra_id(i: usize) -> String {
    format!("evt_ZZ{i:024}")
}

#[test]
fn rows_no_line_explains_are_counted_exactly_in_bounded_memory() {
    let lab = Lab::new();
    copy(&base().tree, &lab.at("t"));
    let (first_id, first_seq, before) = add_extra_rows(&lab.at("t/.thrum/var/messages.db"));
    // the line the extra rows belong after: the one of events.jsonl with the highest sequence
    let text = std::fs::read_to_string(lab.at("t/.thrum/events.jsonl")).unwrap();
    let (last_seq, last_line) = text
        .lines()
        .enumerate()
        .filter_map(|(n, l)| {
            Some((serde_json::from_str::<Value>(l).ok()?["sequence"].as_i64()?, n as u64 + 1))
        })
        .max()
        .unwrap();
    let ceiling = verify::LIST_CEILING;
    let check = |out: &str| {
        let r: Value = serde_json::from_str(out).map_err(|e| format!("no JSON report ({e})"))?;
        let same = |what: &str, got: &Value, want: Value| {
            if *got == want {
                Ok(())
            } else {
                Err(format!("{what}: {got}, expected {want}"))
            }
        };
        same("event_log_extra", &r["finding_counts"]["event_log_extra"], json!(EXTRA_ROWS))?;
        same("errors", &r["errors"], json!(EXTRA_ROWS))?;
        same("findings_omitted", &r["findings_omitted"], json!(EXTRA_ROWS - ceiling))?;
        same("exit_code", &r["exit_code"], json!(1))?;
        let tables = r["tables"].as_array().map(Vec::as_slice).unwrap_or_default();
        let events =
            tables.iter().find(|t| t["check"] == "event_log").ok_or("no event_log table")?;
        same("events.rows_db", &events["rows_db"], json!(before + EXTRA_ROWS as u64))?;
        same("events.extra", &events["extra"], json!(EXTRA_ROWS))?;
        same("events.missing", &events["missing"], json!(0))?;
        same("events.differing", &events["differing"], json!(0))?;
        let listed: Vec<&Value> = r["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["kind"] == "event_log_extra")
            .collect();
        let keys: Vec<&str> = listed.iter().map(|f| f["key"].as_str().unwrap_or("")).collect();
        let want: Vec<String> = (0..ceiling).map(|i| format!("event_id={}", extra_id(i))).collect();
        if keys != want {
            return Err(format!(
                "listed extras: {} of {}, the first {:?}",
                keys.len(),
                want.len(),
                keys.first()
            ));
        }
        let said = format!(
            "events row (sequence {first_seq}, type \"x.extra\") has no JSONL line; it belongs in \
                .thrum/events.jsonl at line {} (after line {last_line} with sequence {last_seq})",
            last_line + 1
        );
        same("message", &listed[0]["message"], json!(said))?;
        same("key", &listed[0]["key"], json!(format!("event_id={first_id}")))
    };
    let args = args!["replay", "t", "--no-manifest", "--json", "--max-diffs", "0"];
    let want = Expect { code: 1, says: &[], dest: None };
    let row = step_report(
        &lab,
        CLASS,
        "100,000 events rows of 4 KiB without a line",
        Bin::Verify,
        &args,
        want,
        check,
    );
    let row = row.and_then(|row| {
        if row.peak_rss_kib < EXTRA_RSS_KIB {
            Ok(row)
        } else {
            Err(format!("[{CLASS}] peak RSS {} KiB, over {EXTRA_RSS_KIB} KiB", row.peak_rss_kib))
        }
    });
    super::finish(CLASS, vec![row]);
}
