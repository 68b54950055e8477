//! The files of the tree beside the event logs and the database.

use crate::findings::{Finding, Findings, Kind};
use crate::input::Tree;
use serde_json::Value;

/// The finding for `.thrum/REL` that cannot be read: absent
/// (`file_missing`), not a regular file (`file_not_regular`, saying what
/// it is), or unreadable.
fn unreadable_finding(rel: &str, e: &std::io::Error) -> Finding {
    let shown = format!(".thrum/{rel}");
    if let Some(nr) = thrum_io::regular::not_regular(e) {
        return crate::jsonl::not_regular_finding(&shown, &nr.found, "not read");
    }
    let what = if rel == "thrum.db" { "thrum.db placeholder" } else { rel };
    if e.kind() == std::io::ErrorKind::NotFound {
        return Finding::new(Kind::FileMissing, format!("{what} is missing")).file(shown);
    }
    Finding::new(Kind::FileMissing, format!("{what} cannot be read: {e}")).file(shown)
}

/// `config.json`, the `thrum.db` placeholder, and archive entries under `.thrum/`.
pub fn check_layout(tree: &Tree, findings: &mut Findings) {
    let cfg = tree.path("config.json");
    match thrum_io::regular::read_regular_at_most(&cfg, thrum_io::regular::DOCUMENT_MAX) {
        Err(e) => findings.push(unreadable_finding("config.json", &e)),
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(Value::Object(m)) => {
                if m.get("version").and_then(Value::as_i64) != Some(1) {
                    findings.push(
                        Finding::new(Kind::ConfigInvalid, "version must be 1")
                            .file(".thrum/config.json")
                            .column("version"),
                    );
                }
                if !m.get("local_only").is_some_and(Value::is_boolean) {
                    findings.push(
                        Finding::new(Kind::ConfigInvalid, "local_only must be a boolean")
                            .file(".thrum/config.json")
                            .column("local_only"),
                    );
                }
            }
            _ => findings.push(
                Finding::new(Kind::ConfigInvalid, "not a JSON object").file(".thrum/config.json"),
            ),
        },
    }
    match thrum_io::regular::regular_metadata(&tree.path("thrum.db")) {
        Err(e) => findings.push(unreadable_finding("thrum.db", &e)),
        Ok(m) if m.len() != 0 => findings.push(
            Finding::new(Kind::PlaceholderNotEmpty, "thrum.db must be an empty placeholder")
                .file(".thrum/thrum.db")
                .values("0 bytes", format!("{} bytes", m.len())),
        ),
        Ok(_) => {}
    }
    if let Some(entries) = &tree.entries {
        for e in entries {
            if e.path != ".thrum" && !e.path.starts_with(".thrum/") {
                findings.push(
                    Finding::new(
                        Kind::ArchiveUnexpectedEntry,
                        "archive entries must be rooted at .thrum/",
                    )
                    .file(e.path.clone()),
                );
            }
        }
    }
}
