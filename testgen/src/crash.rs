//! `testgen crash`: what a killed v13 daemon leaves on disk, from a
//! fixture (the states are [`thrum_chaos::crash`]'s), as an expanded tree
//! or packed as the fixture's archive; and the crash fixtures the default
//! regeneration writes into `fixtures/crash/<state>/`.

pub use thrum_chaos::crash::{
    crash, crashed, render_states, CrashApplied, CrashOptions, State, StateInfo, WalRecord,
    Written, CRASH, CRASH_JSON, CRASH_RECORD, KIND_CRASH, MAX_EVENTS, STATES,
};

use crate::archive::{self, Compression};
use crate::error::{IoContext, Result};
use std::path::{Path, PathBuf};
use thrum_gen::{Naming, Profile};

/// Where the default regeneration writes its crash states, inside `fixtures/`.
pub const CRASH_SUBDIR: &str = "crash";
/// The seed of the crash fixtures' new events and WAL salts.
pub const FIXTURE_SEED: u64 = 26;

/// Packs a crash state's tree as the fixture's archive
/// (`thrum-fixture.tar.zst` or `.tar.gz`), its entries dated `mtime`.
pub fn packer(
    compression: Compression,
) -> impl Fn(&Path, &Path, u64) -> std::result::Result<(), String> {
    move |thrum: &Path, root: &Path, mtime: u64| {
        archive::write(thrum, &root.join(archive::archive_name(compression)), mtime, 1, compression)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// A fixture generated into a temporary directory (removed on drop), the
/// input of a crash state when `--in` is not given.
pub struct Generated {
    _dir: thrum_io::cleanup::TempDir,
    /// Its archive.
    pub archive: PathBuf,
}

/// Generates the fixture of `seed` and `profile` (no v5, zstd) into a
/// temporary directory.
pub fn generate_input(seed: u64, profile: Profile, jobs: usize) -> Result<Generated> {
    let tmp = std::env::temp_dir();
    let dir = thrum_io::cleanup::temp_dir("testgen-crash-").ctx("create a directory in", tmp)?;
    let out = dir.path().join("fixture");
    let opts = crate::Options {
        seed,
        profile,
        out: out.clone(),
        tree: None,
        jobs,
        progress: false,
        v5: false,
        compression: Compression::Zstd,
    };
    crate::generate(&opts)?;
    Ok(Generated { archive: out.join(crate::ARCHIVE), _dir: dir })
}

/// Messages of the crash fixtures' base fixture (few: the archives are checked in).
pub const FIXTURE_MESSAGES: u64 = 100;

/// The profile of the crash fixtures: `small` with [`FIXTURE_MESSAGES`]
/// messages, the names of the resilience suite (`coordinator_0000`, …) and
/// no extra agents or humans.
pub fn fixture_profile() -> Result<Profile> {
    let base = Profile { naming: Naming::Indexed, extra_agents: 0, humans: 0, ..Profile::small() };
    let o = thrum_gen::Overrides { messages: Some(FIXTURE_MESSAGES), ..Default::default() };
    Profile::with_overrides(base, &o).map_err(|e| crate::Error::Plan(e.into()))
}

/// Writes every crash state into `out/crash/<state>/`: K = 1, the fixture
/// of [`fixture_profile`] (seed `seed`), each packed as
/// `thrum-fixture.tar.gz`, the form the resilience suite loads.
pub fn write_fixtures(out: &Path, seed: u64, jobs: usize) -> Result<Vec<CrashApplied>> {
    let input = generate_input(seed, fixture_profile()?, jobs)?;
    let dir = out.join(CRASH_SUBDIR);
    std::fs::create_dir_all(&dir).ctx("create", &dir)?;
    let pack = packer(Compression::Gzip);
    let mut done = Vec::new();
    for s in STATES {
        let o = CrashOptions {
            state: s.state,
            seed: FIXTURE_SEED,
            events: 1,
            limits: Default::default(),
            pack: Some(&pack),
        };
        done.push(crash(&input.archive, &dir.join(s.name), &o)?);
    }
    Ok(done)
}
