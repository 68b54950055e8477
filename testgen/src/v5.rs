//! The v5-era fixture (`thrum-fixture-v5.tar.zst`) from the same plan: one
//! `messages.jsonl` without event ids and a schema-v5 database, the input of
//! `verify migrate`.

use crate::error::{IoContext, Result};
use crate::sqlite::Db;
use std::io::{BufWriter, Write};
use std::path::Path;
use thrum_gen::render::Scratch;
use thrum_gen::rows;
use thrum_gen::v5;
use thrum_gen::Era;
use thrum_gen::Plan;
use thrum_schemas::catalogue::{self as cat, Cell};

/// Writes the v5 `.thrum/` tree under `thrum_dir`; returns table counts and
/// the line count of messages.jsonl.
pub fn write_tree(
    plan: &Plan,
    thrum_dir: &Path,
    mut progress: impl FnMut(u64),
) -> Result<(Vec<(String, u64)>, u64)> {
    crate::tree::write_small_files(plan, thrum_dir, Era::V5)?;
    let threads = v5::threads(plan);

    let path = thrum_dir.join("messages.jsonl");
    let mut w =
        BufWriter::with_capacity(1 << 16, std::fs::File::create(&path).ctx("create", &path)?);
    let mut sc = Scratch::default();
    let mut line = String::with_capacity(4096);
    let mut lines = 0u64;
    for (key, ev) in v5::timeline(plan, &threads) {
        line.clear();
        v5::line(plan, &key, &ev, &mut line, &mut sc);
        line.push('\n');
        w.write_all(line.as_bytes()).ctx("write", &path)?;
        lines += 1;
        if lines % 4096 == 0 {
            progress(4096);
        }
    }
    w.flush().ctx("write", &path)?;

    let db = Db::create_with(&thrum_dir.join("var").join("messages.db"), thrum_schemas::sql::V5)?;
    db.insert(
        &cat::SCHEMA_VERSION,
        &[
            Cell::Int(thrum_schemas::LEGACY_SCHEMA_VERSION),
            Cell::owned(thrum_schemas::time::sqlite_datetime(plan.profile.window_start)),
        ],
    )?;
    let mut ins = db.inserter()?;
    rows::message_rows_in(plan, Era::V5, 0..plan.profile.messages, |t, row| ins.insert(t, row))?;
    v5::thread_rows(plan, &threads, |row| db.insert_into("threads", v5::THREADS_COLUMNS, row))?;
    v5::agent_rows(plan, |row| db.insert_into("agents", v5::AGENTS_V5_COLUMNS, row))?;
    for t in [
        &cat::SESSIONS,
        &cat::SUBSCRIPTIONS,
        &cat::MESSAGE_EDITS,
        &cat::SESSION_SCOPES,
        &cat::SESSION_REFS,
    ] {
        rows::small_rows(plan, t, |row| ins.insert(t, row))?;
    }
    drop(ins);
    let counts = db.finish()?;
    Ok((counts, lines))
}
