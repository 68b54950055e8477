//! Crash safety and concurrency of the published output: `testgen` killed
//! with SIGKILL at many points of a regeneration leaves either the previous
//! fixture or the complete new one (byte for byte, checksums valid), the
//! temporaries of dead runs are removed by the next run, and concurrent
//! regenerations into one directory end with one complete fixture.

mod common;
use common::read_all;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Files = BTreeMap<String, Vec<u8>>;

fn spawn(out: &Path, seed: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args(["--profile", "small", "--seed", &seed.to_string(), "--jobs", "2", "--quiet", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn testgen")
}

fn run_to_end(out: &Path, seed: u64) -> Duration {
    let t = Instant::now();
    let st = spawn(out, seed).wait().unwrap();
    assert!(st.success(), "testgen --seed {seed} failed");
    t.elapsed()
}

/// Every line of SHA256SUMS matches its file, and it lists every other file.
fn sums_valid(files: &Files) -> bool {
    let Some(sums) = files.get(testgen::SUMS).and_then(|b| std::str::from_utf8(b).ok()) else { return false };
    let mut listed = BTreeSet::new();
    for line in sums.lines() {
        let Some((hash, name)) = line.split_once("  ") else { return false };
        let Some(bytes) = files.get(name) else { return false };
        if verify::util::sha256_hex(bytes) != hash {
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
    let r = verify::verify_path(&dir.join(testgen::ARCHIVE), &verify::Options::default()).expect("usable");
    assert!(r.consistent, "{}", r.render_text());
}

#[test]
fn sigkill_at_any_point_leaves_the_previous_or_the_complete_new_fixture() {
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
    run_to_end(&out, seed_a);
    let mut current = seed_a;

    let points = 24u32;
    let (mut kept, mut replaced, mut with_temp, mut removed) = (0, 0, 0, 0);
    let mut dead: BTreeSet<u32> = BTreeSet::new();
    // pids whose temporaries were left after the previous kill point
    let mut stale: BTreeSet<u32> = BTreeSet::new();
    for i in 0..points {
        let target = if current == seed_a { seed_b } else { seed_a };
        // kill points spread from the start to just past the end of a full run
        let delay = full.mul_f64(1.15 * i as f64 / (points - 1) as f64);
        let mut child = spawn(&out, target);
        let pid = child.id();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait(); // reap it: a zombie still has /proc/PID
        dead.insert(pid);

        let now = read_all(&out);
        if now == refs[&current] {
            kept += 1;
        } else if now == refs[&target] {
            replaced += 1;
            current = target;
        } else {
            panic!("kill point {i} ({delay:?}): the output is neither the previous nor the new fixture: {:?}", now.keys().collect::<Vec<_>>());
        }
        assert!(sums_valid(&now), "kill point {i}: SHA256SUMS");
        // only temporaries of killed runs remain, and none of a run before the
        // previous one once a later run got as far as staging
        let temps = temporaries(&work, "out");
        for (name, p) in &temps {
            assert!(dead.contains(p), "kill point {i}: temporary {name} of a live or unknown process");
        }
        if temps.iter().any(|(_, p)| *p == pid) {
            with_temp += 1;
        }
        let now_pids: BTreeSet<u32> = temps.iter().map(|(_, p)| *p).collect();
        removed += stale.difference(&now_pids).count();
        stale = now_pids;
        assert!(std::fs::read_dir(&work).unwrap().count() == 1 + temps.len(), "kill point {i}: nothing else beside the output");
    }
    // a complete run removes every temporary of the dead runs
    let target = if current == seed_a { seed_b } else { seed_a };
    run_to_end(&out, target);
    assert_eq!(read_all(&out), refs[&target]);
    assert!(temporaries(&work, "out").is_empty(), "stale temporaries survived a complete run");
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 1);
    eprintln!(
        "{points} kill points over {:?} (full run {full:?}): previous fixture kept {kept}, new fixture complete {replaced}; \
         the killed run left a temporary {with_temp} times; {removed} temporaries of dead runs removed by the next run",
        full.mul_f64(1.15)
    );
    assert!(kept > 0 && replaced > 0, "kill points must hit both before and after the publication");
    assert!(with_temp > 0, "some kill points must fall inside the run");
    assert!(removed > 0, "a later run removes the temporaries of dead ones");
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
        assert!(now == refs[&seeds[0]] || now == refs[&seeds[1]], "round {round}: one complete fixture");
        assert!(sums_valid(&now));
        assert!(temporaries(&work, "out").is_empty(), "round {round}: {:?}", temporaries(&work, "out"));
        assert_eq!(std::fs::read_dir(&work).unwrap().count(), 1, "round {round}: nothing but the output");
    }
}

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
                        testgen::publish::swap_into_place(&src, dest).map_err(|e| e.to_string())
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
        let left: Vec<String> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, vec!["out".to_string()], "round {round}: every source was moved or removed");
    }
}
