//! Crash safety and concurrency of the published output: `testgen` killed
//! with SIGKILL at many points of a regeneration leaves either the previous
//! fixture or the complete new one (byte for byte, checksums valid), the
//! temporaries of dead runs are removed by the next run, and concurrent
//! regenerations into one directory end with one complete fixture.

use crate::common::read_all;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Files = BTreeMap<String, Vec<u8>>;

/// The small profile.
const SMALL: &[&str] = &["--profile", "small"];

fn spawn(out: &Path, seed: u64) -> Child {
    spawn_profile(out, seed, SMALL)
}

/// `testgen VOLUMES --seed SEED --jobs 2 --quiet --out OUT`.
fn spawn_profile(out: &Path, seed: u64, volumes: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args(volumes)
        .args(["--seed", &seed.to_string(), "--jobs", "2", "--quiet", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn testgen")
}

fn run_to_end(out: &Path, seed: u64) -> Duration {
    run_to_end_profile(out, seed, SMALL)
}

fn run_to_end_profile(out: &Path, seed: u64, volumes: &[&str]) -> Duration {
    let t = Instant::now();
    let st = spawn_profile(out, seed, volumes).wait().unwrap();
    assert!(st.success(), "testgen --seed {seed} failed");
    t.elapsed()
}

/// Every line of SHA256SUMS matches its file, and it lists every other file.
fn sums_valid(files: &Files) -> bool {
    let Some(sums) = files.get(testgen::SUMS).and_then(|b| std::str::from_utf8(b).ok()) else {
        return false;
    };
    let mut listed = BTreeSet::new();
    for line in sums.lines() {
        let Some((hash, name)) = line.split_once("  ") else { return false };
        let Some(bytes) = files.get(name) else { return false };
        if thrum_io::hash::sha256_hex(bytes) != hash {
            return false;
        }
        listed.insert(name.to_string());
    }
    files.keys().filter(|k| *k != testgen::SUMS).all(|k| listed.contains(k))
}

/// Temporaries beside the output: `.NAME.tmp-PID...` → PID.
fn temporaries(parent: &Path, name: &str) -> Vec<(String, u32)> {
    let prefix = format!(".{name}.tmp-");
    let mut v: Vec<(String, u32)> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| {
            let pid = n.strip_prefix(&prefix)?.split('.').next()?.parse().ok()?;
            Some((n, pid))
        })
        .collect();
    v.sort();
    v
}

fn replay_ok(dir: &Path) {
    let r = verify::verify_path(&dir.join(testgen::ARCHIVE), &verify::Options::default())
        .expect("usable");
    assert!(r.consistent, "{}", r.render_text());
}

#[test]
fn sigkill_at_any_point_leaves_the_previous_or_the_complete_new_fixture() {
    kill_points(SMALL, 24, 2);
}

/// The same with the default profile's volumes (50 agents, its sessions,
/// groups and rates) at 1,000 messages instead of 10,000: a run of wider
/// phases than the small profile's, each killed at its start and at 8
/// times spread over a run, in a few seconds.
#[test]
fn sigkill_during_a_default_profile_regeneration() {
    kill_points(&["--profile", "default", "--messages", "1000"], 8, 1);
}

/// When to kill a run.
#[derive(Debug, Clone, Copy)]
enum When {
    /// After a fixed delay from the start.
    After(Duration),
    /// As soon as the run reaches a phase, seen from outside (polled every
    /// 100 µs): a file appears in its staging directory, or the output has
    /// been swapped (the previous output is then being deleted).
    Staged(&'static str),
    Swapped,
}

/// Kills the child when `when` happens; false if it finished first.
fn kill_at(child: &mut Child, when: When, staging: &Path, out: &Path, new_sums: &[u8]) -> bool {
    let start = Instant::now();
    loop {
        let hit = match when {
            When::After(d) => start.elapsed() >= d,
            When::Staged(f) => staging.join(f).exists(),
            When::Swapped => std::fs::read(out.join(testgen::SUMS)).is_ok_and(|b| b == new_sums),
        };
        if hit {
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait(); // reap it: a zombie still has /proc/PID
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(match when {
            When::After(d) => (d.saturating_sub(start.elapsed())).min(Duration::from_millis(2)),
            _ => Duration::from_micros(100),
        });
    }
}

/// Kills regenerations with `volumes` at `timed` points spread over a run
/// and, `phase_rounds` times, as each phase starts.
fn kill_points(volumes: &[&str], timed: u32, phase_rounds: usize) {
    let profile = volumes.join(" ");
    let run_to_end = |out: &Path, seed: u64| run_to_end_profile(out, seed, volumes);
    let spawn = |out: &Path, seed: u64| spawn_profile(out, seed, volumes);
    let tmp = tempfile::tempdir().unwrap();
    let (seed_a, seed_b) = (101u64, 202u64);
    // the two complete fixtures the output may hold, proven consistent once
    let mut refs: BTreeMap<u64, Files> = BTreeMap::new();
    let mut full = Duration::ZERO;
    for seed in [seed_a, seed_b] {
        let d = tmp.path().join(format!("ref-{seed}"));
        full = full.max(run_to_end(&d, seed));
        replay_ok(&d);
        let files = read_all(&d);
        assert!(sums_valid(&files));
        refs.insert(seed, files);
    }
    assert_ne!(refs[&seed_a], refs[&seed_b]);
    let work = tmp.path().join("w");
    std::fs::create_dir(&work).unwrap();
    let out = work.join("out");
    full = full.max(run_to_end(&out, seed_a));
    let mut current = seed_a;

    // timed points spread from the start to past the end of a full run, then
    // points at each phase (twice), whatever the load of the machine
    let mut plan: Vec<When> = (0..timed)
        .map(|i| When::After(full.mul_f64(1.3 * i as f64 / (timed - 1) as f64)))
        .collect();
    for _ in 0..phase_rounds {
        plan.extend([
            When::Staged(""),
            When::Staged(".stage/.thrum/var/messages.db"),
            When::Staged(testgen::ARCHIVE),
            When::Staged(testgen::MANIFEST),
            When::Staged(testgen::ARCHIVE_V5),
            When::Staged(testgen::SUMS),
            When::Swapped,
        ]);
    }
    let (mut kept, mut replaced, mut finished, mut with_temp, mut removed) = (0, 0, 0, 0, 0);
    let mut outcomes: Vec<String> = Vec::new();
    let mut dead: BTreeSet<u32> = BTreeSet::new();
    // pids whose temporaries were left after the previous kill point
    let mut stale: BTreeSet<u32> = BTreeSet::new();
    for (i, when) in plan.iter().enumerate() {
        let target = if current == seed_a { seed_b } else { seed_a };
        let mut child = spawn(&out, target);
        let pid = child.id();
        let staging = work.join(format!(".out.tmp-{pid}"));
        let killed = kill_at(&mut child, *when, &staging, &out, &refs[&target][testgen::SUMS]);
        if killed {
            dead.insert(pid);
        } else {
            finished += 1;
        }

        let now = read_all(&out);
        let outcome = if now == refs[&current] {
            kept += 1;
            "kept"
        } else if now == refs[&target] {
            replaced += 1;
            current = target;
            "new"
        } else {
            panic!(
                "kill point {i} ({when:?}): the output is neither the previous nor the new \
                    fixture: {:?}",
                now.keys().collect::<Vec<_>>()
            );
        };
        outcomes.push(format!("{when:?}: {}{outcome}", if killed { "" } else { "finished, " }));
        assert!(sums_valid(&now), "kill point {i}: SHA256SUMS");
        if !killed {
            assert_eq!(outcome, "new", "kill point {i}: a run that finished published its output");
        }
        // only temporaries of killed runs remain
        let temps = temporaries(&work, "out");
        for (name, p) in &temps {
            assert!(
                dead.contains(p),
                "kill point {i}: temporary {name} of a live or unknown process"
            );
        }
        if temps.iter().any(|(_, p)| *p == pid) {
            with_temp += 1;
        }
        let now_pids: BTreeSet<u32> = temps.iter().map(|(_, p)| *p).collect();
        removed += stale.difference(&now_pids).count();
        stale = now_pids;
        assert!(
            std::fs::read_dir(&work).unwrap().count() == 1 + temps.len(),
            "kill point {i}: nothing else beside the output"
        );
    }
    // a complete run removes every temporary of the dead runs
    let target = if current == seed_a { seed_b } else { seed_a };
    run_to_end(&out, target);
    assert_eq!(read_all(&out), refs[&target]);
    assert!(temporaries(&work, "out").is_empty(), "stale temporaries survived a complete run");
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 1);
    if std::env::var("CRASH_TRACE").is_ok() {
        // CRASH_TRACE=1 cargo test -p testgen --test it crash:: -- --nocapture
        eprintln!("{}", outcomes.join("\n"));
    }
    eprintln!(
        "{profile}: {} kill points ({timed} timed over {:?}, full run {full:?}, and {} at \
            phases): previous fixture kept {kept}, \
         new fixture complete {replaced} (of which {finished} runs finished before their kill \
         point); the killed run left a temporary \
         {with_temp} times; {removed} temporaries of dead runs removed by the next run",
        plan.len(),
        full.mul_f64(1.3),
        plan.len() - timed as usize
    );
    assert!(kept > 0, "a kill at the start keeps the previous fixture");
    assert!(with_temp > 0, "some kill points must fall inside the run");
}

#[test]
fn concurrent_regenerations_end_with_one_complete_fixture_and_no_temporaries() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds = [303u64, 404u64];
    let mut refs: BTreeMap<u64, Files> = BTreeMap::new();
    for seed in seeds {
        let d = tmp.path().join(format!("ref-{seed}"));
        run_to_end(&d, seed);
        refs.insert(seed, read_all(&d));
    }
    for round in 0..4 {
        let work = tmp.path().join(format!("w{round}"));
        std::fs::create_dir(&work).unwrap();
        let out = work.join("out");
        // rounds 0 and 1 start from an existing fixture, 2 and 3 from nothing
        if round < 2 {
            run_to_end(&out, seeds[round % 2]);
        }
        let mut a = spawn(&out, seeds[0]);
        let mut b = spawn(&out, seeds[1]);
        let (sa, sb) = (a.wait().unwrap(), b.wait().unwrap());
        assert!(sa.success() && sb.success(), "round {round}: both runs succeed ({sa}, {sb})");
        let now = read_all(&out);
        assert!(
            now == refs[&seeds[0]] || now == refs[&seeds[1]],
            "round {round}: one complete fixture"
        );
        assert!(sums_valid(&now));
        assert!(
            temporaries(&work, "out").is_empty(),
            "round {round}: {:?}",
            temporaries(&work, "out")
        );
        assert_eq!(
            std::fs::read_dir(&work).unwrap().count(),
            1,
            "round {round}: nothing but the output"
        );
    }
}

/// The outputs of the race below: a directory holding only `who`.
const WHO: thrum_io::publish::Policy = thrum_io::publish::Policy {
    tool: "the test",
    flag: "--out",
    recognise: |dir| {
        let names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        if names == ["who"] {
            Ok(())
        } else {
            Err(thrum_io::publish::Unrecognised::Not(format!("{names:?}")))
        }
    },
};

/// Publications racing for a destination that does not exist yet: each one
/// either renames into place or, when another got there first, exchanges.
#[test]
fn racing_publications_into_a_new_destination_all_succeed() {
    // the race window is a few microseconds: many rounds (it failed about once
    // in 100 rounds before the exchange fallback)
    for round in 0..150 {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("out");
        let n = 16;
        let barrier = std::sync::Barrier::new(n);
        let results: Vec<Result<(), String>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..n)
                .map(|i| {
                    let (dest, barrier, base) = (&dest, &barrier, tmp.path());
                    s.spawn(move || {
                        let src = base.join(format!("src{i}"));
                        std::fs::create_dir(&src).unwrap();
                        std::fs::write(src.join("who"), i.to_string()).unwrap();
                        barrier.wait();
                        thrum_io::publish::swap_into_place(&src, dest, &WHO)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in &results {
            assert!(r.is_ok(), "round {round}: {r:?}");
        }
        let who: usize = std::fs::read_to_string(dest.join("who")).unwrap().parse().unwrap();
        assert!(who < n);
        let left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            vec!["out".to_string()],
            "round {round}: every source was moved or removed"
        );
    }
}
