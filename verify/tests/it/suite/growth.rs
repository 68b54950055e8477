//! Structures that grew with the input, bounded: a table whose keys cannot
//! be merged in order and whose rows are too many to load, tens of
//! thousands of distinct long `origin_daemon` ids, hundreds of thousands of
//! messages of agents whose shard files are absent, and `events` rows without a line
//! placed across every file. Each is reported as on an honest input (the
//! findings listed up to their ceiling, every one counted) while verify's
//! peak RSS stays under [`GROWTH_RSS_KIB`]. Held whole, each of the first
//! three inputs takes over 200 MiB; the fourth is small (the fixture's own
//! files) and proves the positions reported now that rows are placed one
//! file at a time.

use super::base::{base, copy};
use super::lab::{step_report, Bin, Expect, Lab, Row};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::path::Path;

const CLASS: &str = "growth";

/// The peak RSS `verify replay` stays under on each input.
const GROWTH_RSS_KIB: u64 = 96 << 10;

/// The bytes of each long value (origin, agent id, ref value).
const LONG: usize = 4000;

fn db_of(lab: &Lab) -> Connection {
    Connection::open(lab.at("t/.thrum/var/messages.db")).unwrap()
}

fn same(what: &str, got: &Value, want: Value) -> Result<(), String> {
    if *got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got}, expected {want}"))
    }
}

fn report(out: &str) -> Result<Value, String> {
    serde_json::from_str(out).map_err(|e| format!("no JSON report ({e})"))
}

/// The listed findings of `kind`.
fn listed<'a>(r: &'a Value, kind: &str) -> Vec<&'a Value> {
    r["findings"].as_array().into_iter().flatten().filter(|f| f["kind"] == kind).collect()
}

/// Runs `verify replay t --json` on the lab, checks the report with
/// `check` and the peak RSS against [`GROWTH_RSS_KIB`].
fn run(lab: &Lab, case: &str, check: impl FnOnce(&Value) -> Result<(), String>) {
    let args = args!["replay", "t", "--no-manifest", "--json", "--max-diffs", "0"];
    let want = Expect { code: 1, says: &[], dest: None };
    let row = step_report(lab, CLASS, case, Bin::Verify, &args, want, |out| check(&report(out)?));
    let row = row.and_then(|row: Row| {
        if row.peak_rss_kib < GROWTH_RSS_KIB {
            Ok(row)
        } else {
            Err(format!(
                "[{CLASS}] {case}: peak RSS {} KiB, over {GROWTH_RSS_KIB}",
                row.peak_rss_kib
            ))
        }
    });
    super::finish(CLASS, vec![row]);
}

/// Rows of `message_refs` with one key, after its primary key was dropped.
const DUP_ROWS: usize = 50_000;

#[test]
fn a_table_that_cannot_be_merged_is_reported_not_loaded() {
    let lab = Lab::new();
    copy(&base().tree, &lab.at("t"));
    let mut c = db_of(&lab);
    let honest: i64 = c.query_row("SELECT count(*) FROM message_refs", [], |r| r.get(0)).unwrap();
    c.execute_batch(
        "ALTER TABLE message_refs RENAME TO refs_before;
         CREATE TABLE message_refs (message_id TEXT NOT NULL, ref_type TEXT NOT NULL,
             ref_value TEXT NOT NULL);
         INSERT INTO message_refs SELECT * FROM refs_before; DROP TABLE refs_before;",
    )
    .unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut ins = tx.prepare("INSERT INTO message_refs VALUES ('m_dup', 'x', ?1)").unwrap();
        let long = "r".repeat(LONG);
        for _ in 0..DUP_ROWS {
            ins.execute([&long]).unwrap();
        }
    }
    tx.commit().unwrap();
    c.close().unwrap();
    run(&lab, "50,000 rows of 4 KB with one key", |r| {
        let found = listed(r, "table_unreadable");
        let refs: Vec<&&Value> = found.iter().filter(|f| f["table"] == "message_refs").collect();
        let said = "the table cannot be read in primary-key order (duplicate or NULL keys, an \
            order or an index that disagrees) and its rows take more than the 32 MiB compared \
            otherwise: its rows are not compared";
        same("findings on message_refs", &json!(refs.len()), json!(1))?;
        same("message", &refs[0]["message"], json!(said))?;
        let tables = r["tables"].as_array().map(Vec::as_slice).unwrap_or_default();
        let t = tables
            .iter()
            .find(|t| t["table"] == "message_refs" && t["check"] == "replay")
            .ok_or("no message_refs table")?;
        same("rows_db", &t["rows_db"], json!(honest + DUP_ROWS as i64))?;
        same("rows_expected", &t["rows_expected"], json!(honest))?;
        same("other", &t["other"], json!(1))?;
        same("missing", &t["missing"], json!(0))
    });
}

/// `events` rows with an origin of their own.
const ORIGINS: usize = 50_000;

#[test]
fn distinct_origins_are_streamed_and_the_first_named() {
    let lab = Lab::new();
    copy(&base().tree, &lab.at("t"));
    let mut c = db_of(&lab);
    let mut st = c.prepare("SELECT DISTINCT origin_daemon FROM events ORDER BY 1").unwrap();
    let honest: Vec<String> =
        st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    drop(st);
    let max_seq: i64 = c.query_row("SELECT max(sequence) FROM events", [], |r| r.get(0)).unwrap();
    // no hostname explains an origin; the hostile ones sort after the honest ones
    let hostile = |i: usize| format!("d_~{i:07}{}", "o".repeat(LONG));
    let tx = c.transaction().unwrap();
    tx.execute_batch("UPDATE agents SET hostname = 'nowhere.invalid'").unwrap();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO events VALUES (?1, ?2, 'x.extra', '2026-01-01T00:00:00Z', ?3, \
                '{\"type\":\"x.extra\"}')",
            )
            .unwrap();
        for i in 0..ORIGINS {
            let id = format!("evt_ZZ{i:024}");
            ins.execute(rusqlite::params![id, max_seq + 1 + i as i64, hostile(i)]).unwrap();
        }
    }
    tx.commit().unwrap();
    c.close().unwrap();
    let all = honest.len() + ORIGINS;
    let named: Vec<String> = honest.iter().cloned().chain((0..).map(hostile)).take(64).collect();
    let actual = format!("{}, and {} more ({all} in all)", named.join(", "), all - 64);
    run(&lab, "50,000 distinct origins of 4 KB", |r| {
        let found = listed(r, "origin_daemon_unexplained");
        same("listed", &json!(found.len()), json!(1))?;
        same("count", &r["finding_counts"]["origin_daemon_unexplained"], json!(1))?;
        same("actual", &found[0]["actual"], json!(actual))?;
        let said = "no origin_daemon of the events is the id of an agent's host (1 hostnames \
            checked): the daemon's host has no agent, or the ids were not derived from hostnames";
        same("message", &found[0]["message"], json!(said))
    });
}

/// Agents with messages, each agent's shard file absent: one message
/// each, two for the first. Held whole (a name and an agent id of 320
/// bytes each per shard), they take over 200 MiB.
const AGENTS: usize = 300_000;

fn agent(i: usize) -> String {
    format!("agent:hostile_{i:07}_{}", "a".repeat(300))
}

#[test]
fn missing_shards_are_streamed_in_name_order() {
    let lab = Lab::new();
    copy(&base().tree, &lab.at("t"));
    let mut c = db_of(&lab);
    let tx = c.transaction().unwrap();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO messages (message_id, agent_id, session_id, created_at, \
                body_format, body_content) VALUES (?1, ?2, 'ses_x', '2026-01-01T00:00:00Z', \
                'markdown', 'b')",
            )
            .unwrap();
        // the agents inserted in reverse order
        for i in (0..AGENTS).rev() {
            for m in 0..(1 + usize::from(i == 0)) {
                let id = format!("msg_ZZ{m}{i:023}");
                ins.execute([id, agent(i)]).unwrap();
            }
        }
    }
    tx.commit().unwrap();
    c.close().unwrap();
    let ceiling = verify::LIST_CEILING;
    run(&lab, "300,000 agents without a shard", |r| {
        same("shard_missing", &r["finding_counts"]["shard_missing"], json!(AGENTS))?;
        let found = listed(r, "shard_missing");
        let files: Vec<&str> = found.iter().map(|f| f["file"].as_str().unwrap_or("")).collect();
        let want: Vec<String> = (0..ceiling)
            .map(|i| format!(".thrum/messages/{}.jsonl", &agent(i)["agent:".len()..]))
            .collect();
        if files != want {
            return Err(format!(
                "listed shards: {} of {}, the first {:?}",
                files.len(),
                ceiling,
                files.first()
            ));
        }
        let said = format!(
            "2 message(s) of agent {} are in the database (the first: msg_ZZ0{:023}), but its \
            shard file is absent and no other file holds their message.create",
            agent(0),
            0
        );
        same("message", &found[0]["message"], json!(said))?;
        same("key", &found[0]["key"], json!(format!("agent_id={}", agent(0))))
    });
}

/// (sequence, line) of every event line of `path` with a sequence.
fn sequences(path: &Path) -> Vec<(i64, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter_map(|(n, l)| {
            Some((serde_json::from_str::<Value>(l).ok()?["sequence"].as_i64()?, n as u64 + 1))
        })
        .collect()
}

/// Rows without a line, and the shard no file holds that some name.
const PLACED: usize = 20_000;
const NO_FILE: &str = "no_such_shard";

#[test]
fn rows_without_a_line_are_placed_one_file_at_a_time() {
    let lab = Lab::new();
    copy(&base().tree, &lab.at("t"));
    let mut shards: Vec<String> = std::fs::read_dir(lab.at("t/.thrum/messages"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".jsonl").map(str::to_owned))
        .collect();
    shards.sort();
    shards.push(NO_FILE.into());
    let mut c = db_of(&lab);
    let max_seq: i64 = c.query_row("SELECT max(sequence) FROM events", [], |r| r.get(0)).unwrap();
    // each row names a shard in turn (or events.jsonl), its sequence anywhere in the
    // files' range: the sequence is no longer unique
    let place = |i: usize| -> (Option<&str>, i64) {
        (shards.get(i % (shards.len() + 1)).map(String::as_str), (i as i64 * 7919) % (max_seq + 2))
    };
    let tx = c.transaction().unwrap();
    tx.execute_batch(
        "CREATE TABLE events_copy AS SELECT * FROM events; DROP TABLE events;
         ALTER TABLE events_copy RENAME TO events;",
    )
    .unwrap();
    {
        let mut ins = tx
            .prepare("INSERT INTO events VALUES (?1, ?2, ?3, '2026-01-01T00:00:00Z', 'd_x', ?4)")
            .unwrap();
        for i in 0..PLACED {
            let (shard, seq) = place(i);
            let (ty, event) = match shard {
                Some(s) => ("message.create", json!({"type": "message.create", "agent_id": s})),
                None => ("agent.update", json!({"type": "agent.update"})),
            };
            ins.execute(rusqlite::params![format!("evt_ZZ{i:024}"), seq, ty, event.to_string()])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    c.close().unwrap();
    // where each listed row belongs, from each file's lines read here
    let mut want = Vec::new();
    for i in 0..verify::LIST_CEILING {
        let (shard, seq) = place(i);
        let rel = match shard {
            Some(s) => format!(".thrum/messages/{s}.jsonl"),
            None => ".thrum/events.jsonl".to_string(),
        };
        let path = lab.at("t").join(&rel);
        let lines = if path.is_file() { sequences(&path) } else { Vec::new() };
        let before = lines.into_iter().filter(|&(s, _)| s < seq).max();
        let (line, after) = match before {
            Some((s, n)) => (n + 1, format!("after line {n} with sequence {s}")),
            None => (1, "before every other event of the file".to_string()),
        };
        want.push((
            format!("event_id=evt_ZZ{i:024}"),
            rel.clone(),
            line,
            format!("; it belongs in {rel} at line {line} ({after})"),
        ));
    }
    run(&lab, "20,000 rows without a line across every file", |r| {
        same("event_log_extra", &r["finding_counts"]["event_log_extra"], json!(PLACED))?;
        let found = listed(r, "event_log_extra");
        same("listed", &json!(found.len()), json!(want.len()))?;
        for (f, (key, rel, line, tail)) in found.iter().zip(&want) {
            let msg = f["message"].as_str().unwrap_or("");
            if f["key"] != json!(key)
                || f["file"] != json!(rel)
                || f["line"] != json!(line)
                || !msg.ends_with(tail.as_str())
            {
                return Err(format!("{key}: {f}, expected {rel} line {line}{tail}"));
            }
        }
        Ok(())
    });
}
