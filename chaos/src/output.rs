//! Making and publishing a corrupted copy: the input is materialised in a
//! staging directory beside `DIR`, one fault injected, `FAULT.json` and the
//! ownership record written, and the whole swapped into place
//! ([`thrum_io::publish::Staging`]).

use crate::catalogue::{Applied, Fault};
use crate::error::{CorruptContext, CorruptError, Result};
use crate::inject::Injection;
use crate::input::materialise;
use std::path::Path;
use thrum_io::extract::Limits;
use thrum_io::publish::{Policy, Staging, Unrecognised};
use thrum_io::record::{self, Record};

/// The writer named in records and messages: corrupted copies are written
/// by `testgen corrupt`.
const TOOL: &str = "testgen";
/// The generator a record names (`testgen <version>`).
const GENERATOR: &str = concat!("testgen ", env!("CARGO_PKG_VERSION"));

/// The ownership record of a corrupted copy, inside `corrupt --out DIR`.
pub const CORRUPT_RECORD: &str = ".testgen-corrupt.json";
/// The record's kind of a corrupted copy.
pub const KIND_CORRUPT: &str = "corrupt";

/// The destination policy of a corrupted copy (`testgen corrupt --out`):
/// the directory holds its ownership record ([`CORRUPT_RECORD`], kind
/// `corrupt`) and apart from it exactly the recorded regular files
/// (`.thrum/...`, `FAULT.json`, `SHA256SUMS` when written) with the
/// recorded sizes.
pub const CORRUPT: Policy = Policy { tool: TOOL, flag: "--out", recognise: corrupted };

/// A corrupted copy, owned by the record inside it ([`CORRUPT_RECORD`]).
pub fn corrupted(dir: &Path) -> Result<(), Unrecognised> {
    record::owned_inside(dir, CORRUPT_RECORD, TOOL, KIND_CORRUPT, "a corrupted copy")
}

/// Writes `input` with `fault` injected into `out` (replaced atomically,
/// only when absent, empty or a previous corrupted copy: see [`CORRUPT`];
/// anything else, and an `out` that is, holds or lies in `input`, is
/// refused before any work), extracting an archive input
/// within the default [`Limits`].
pub fn corrupt(input: &Path, fault: Fault, seed: u64, out: &Path) -> Result<Applied> {
    corrupt_with(input, fault, seed, out, &Limits::default())
}

/// [`corrupt`], extracting an archive input within `limits`.
pub fn corrupt_with(
    input: &Path,
    fault: Fault,
    seed: u64,
    out: &Path,
    limits: &Limits,
) -> Result<Applied> {
    // by device and inode: `--out` may not be, hold or lie in `--in`
    let staging = Staging::apart_from(out, CORRUPT, &[thrum_io::Named::new("--in", input)])?;
    let root = staging.dir.clone();
    materialise(input, &root, limits)?;
    let thrum = root.join(".thrum");
    for need in ["events.jsonl", "var/messages.db"] {
        if !thrum.join(need).is_file() {
            return Err(CorruptError::NotV13 {
                path: input.to_path_buf(),
                reason: format!(".thrum/{need} is missing"),
            });
        }
    }
    let applied = Injection::new(input, &root, fault, seed).run()?;
    let json = serde_json::to_string_pretty(&applied).unwrap_or_default() + "\n";
    let p = root.join("FAULT.json");
    std::fs::write(&p, json).ctx("write", &p)?;
    // the ownership record, published with the rest in one swap
    let files = record::file_sizes(&root).ctx("read", &root)?;
    let p = root.join(CORRUPT_RECORD);
    std::fs::write(&p, Record::new(GENERATOR, KIND_CORRUPT, files).to_json()).ctx("write", &p)?;
    staging.publish()?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_of(dir: &Path, kind: &str) -> String {
        Record::new(GENERATOR, kind, record::file_sizes(dir).unwrap()).to_json()
    }

    #[test]
    fn a_corrupted_copy_is_ours_only_as_its_record_describes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join(".thrum/var")).unwrap();
        std::fs::write(d.join(".thrum/thrum.db"), "").unwrap();
        std::fs::write(d.join("FAULT.json"), "{\"fault\":\"altered-cell\"}").unwrap();
        assert!(matches!(corrupted(d), Err(Unrecognised::Not(r)) if r.starts_with("it has no \
                .testgen-corrupt.json") && r.ends_with("(it holds .thrum/, FAULT.json)")));
        std::fs::write(d.join(CORRUPT_RECORD), record_of(d, KIND_CORRUPT)).unwrap();
        assert_eq!(corrupted(d), Ok(()));
        std::fs::write(d.join(".thrum/precious.txt"), "mine").unwrap();
        std::fs::create_dir_all(d.join(".thrum/mywork")).unwrap();
        std::fs::write(d.join(".thrum/mywork/a"), "mine").unwrap();
        let foreign = ".thrum/mywork/, .thrum/precious.txt";
        assert!(matches!(corrupted(d), Err(Unrecognised::Foreign(e)) if e.to_string() == foreign));
    }
}
