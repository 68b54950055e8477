//! The `testgen mesh` command and its neighbours: the default run writes the mesh beside the
//! fixture, a gzip mesh names its archives, bad requests are refused, `bench --mesh` times it,
//! and a look-alike of a staging directory is left untouched.

use super::{make, mesh_opts};
use crate::common::*;
use testgen::mesh::{generate_mesh, MeshOptions};
use thrum_gen::mesh::Scenario;

#[test]
fn the_default_regeneration_writes_the_mesh_beside_the_fixture_and_replaces_both() {
    let tmp = tempfile::tempdir().unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_testgen"))
            .args(["--quiet", "--no-v5", "--messages", "2000"])
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fixtures = tmp.path().join("fixtures");
    let sums = std::fs::read_to_string(fixtures.join("SHA256SUMS")).unwrap();
    assert!(!sums.contains("mesh"), "the fixture's SHA256SUMS does not list the mesh");
    let mesh = read_all(&fixtures.join("mesh"));
    assert!(mesh.contains_key("mesh.json") && mesh.contains_key("daemon-3/thrum-fixture.tar.zst"));
    let direct = read_all(&make(tmp.path(), "direct", 3, Scenario::Converged, 1));
    assert_eq!(mesh, direct, "fixtures/mesh is the small 3-daemon converged mesh of seed 42");
    // a second run recognises both as its own output and replaces them
    let o = run();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read_all(&fixtures.join("mesh")), mesh);
    // a foreign file inside the mesh makes fixtures foreign
    std::fs::write(fixtures.join("mesh/notes.txt"), "mine").unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("mesh/"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_gzip_mesh_names_its_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gz");
    let opts = MeshOptions {
        compression: testgen::Compression::Gzip,
        ..mesh_opts(out.clone(), 2, Scenario::Converged, 2)
    };
    generate_mesh(&opts).unwrap();
    let files = read_all(&out);
    let mut names: Vec<&str> = files.keys().map(|k| k.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "daemon-1/manifest.json",
            "daemon-1/thrum-fixture.tar.gz",
            "daemon-2/manifest.json",
            "daemon-2/thrum-fixture.tar.gz",
            "mesh.json"
        ]
    );
    let mesh: serde_json::Value = serde_json::from_slice(&files["mesh.json"]).unwrap();
    assert_eq!(mesh["daemons"][1]["archive"], "daemon-2/thrum-fixture.tar.gz");
    let manifest: serde_json::Value =
        serde_json::from_slice(&files["daemon-2/manifest.json"]).unwrap();
    assert_eq!(manifest["archive"]["path"], "thrum-fixture.tar.gz");
    assert_eq!(
        manifest["archive"]["sha256"],
        thrum_io::hash::sha256_hex(&files["daemon-2/thrum-fixture.tar.gz"]).as_str()
    );
    // the same trees as with zstd: the projection does not depend on the compression
    let zst = make(tmp.path(), "zst", 2, Scenario::Converged, 1);
    let z: serde_json::Value =
        serde_json::from_slice(&std::fs::read(zst.join("daemon-2/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["files"], z["files"]);
}

#[test]
fn the_mesh_command_refuses_bad_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let mesh = |args: &[&str]| {
        let mut all = vec!["mesh"];
        all.extend_from_slice(args);
        std::process::Command::new(env!("CARGO_BIN_EXE_testgen"))
            .args(&all)
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let o = mesh(&["--daemons", "1", "--out", "m"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--daemons"));
    std::fs::create_dir_all(tmp.path().join("mine")).unwrap();
    std::fs::write(tmp.path().join("mine/keep.txt"), "keep").unwrap();
    let o = mesh(&["--profile", "small", "--out", "mine", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("refusing to replace mine"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(tmp.path().join("mine/keep.txt")).unwrap(), "keep");
    let o = mesh(&["--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--daemons",
        "--out",
        "--profile",
        "--seed",
        "--sync",
        "--compression",
        "--jobs",
        "--quiet",
        "Examples:",
    ] {
        assert!(help.contains(flag), "{flag} in testgen mesh --help");
    }
}

#[test]
fn bench_times_the_mesh_as_a_table_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    // the lines the bench's mesh writes: every daemon's, of the same seed
    let same = generate_mesh(&MeshOptions {
        seed: 5,
        ..mesh_opts(tmp.path().join("same"), 2, Scenario::Converged, 1)
    })
    .unwrap();
    let run = |json: bool| {
        let mut args = vec![
            "bench",
            "--profile",
            "small",
            "--runs",
            "2",
            "--seed",
            "5",
            "-j",
            "1",
            "--no-floors",
            "--no-verify",
            "--mesh",
            "2",
        ];
        if json {
            args.push("--json");
        }
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_testgen"))
            .args(&args)
            .arg("--work")
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let r: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    let m = &r["scenarios"][0]["mesh"];
    assert_eq!(m["daemons"], 2);
    let phases: Vec<&str> =
        m["phases"].as_array().unwrap().iter().map(|p| p["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["mesh"]);
    assert_eq!(m["phases"][0]["rows"].as_u64().unwrap(), same.held.iter().sum::<u64>());
    assert!(m["phases"][0]["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(m["peak_rss_mib"].as_f64().unwrap() > 0.0);
    assert_eq!(m["bytes_written"].as_u64().unwrap(), same.bytes);
    // the table says the same
    let table = run(false);
    assert!(table.contains("mesh of 2 daemons — peak RSS"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("mesh ")
            && l.split_whitespace().nth(1) == Some(&same.held.iter().sum::<u64>().to_string())),
        "{table}"
    );
}

#[test]
fn a_look_alike_of_a_staging_directory_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    // above the kernel's pid limit: no such process; no marker: not ours
    let lookalike = tmp.path().join(".prev.tmp-4194305");
    std::fs::create_dir(&lookalike).unwrap();
    std::fs::write(lookalike.join("a"), "mine\n").unwrap();
    make(tmp.path(), "prev", 2, Scenario::Converged, 1);
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".prev.tmp-4194305", "prev"]);
    let inside: Vec<_> =
        std::fs::read_dir(&lookalike).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(inside, ["a"]);
    assert_eq!(std::fs::read(lookalike.join("a")).unwrap(), b"mine\n");
}
