use super::found::*;
use super::judge::*;
use super::swap::*;
use super::*;
use std::collections::HashSet;

fn only_ok(dir: &Path) -> Result<(), Unrecognised> {
    let mut foreign = Entries::new();
    let files: HashSet<String> = ["ok".to_string()].into();
    listing::foreign_entries(dir, &files, &mut foreign).map_err(Unrecognised::Not)?;
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(Unrecognised::Foreign(foreign))
    }
}

/// Writes the ownership marker of `path` as process `pid` would have.
fn mark(path: &Path, pid: u32) {
    let name = path.file_name().unwrap().to_str().unwrap();
    std::fs::write(crate::cleanup::marker_path(path), crate::cleanup::marker_text(name, pid))
        .unwrap();
    assert!(crate::cleanup::is_marked(path, pid));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const POLICY: Policy = Policy { tool: "tool", flag: "--out", recognise: only_ok };

#[test]
fn a_directory_on_another_device_than_its_parent_is_a_mount_point() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("d");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("ok"), "x").unwrap();
    assert_eq!(judge(&dest, &POLICY, &|p: &Path| device_of(p)).unwrap(), Accepted::Ours);
    let real = device_of(tmp.path()).unwrap();
    let e = judge(&dest, &POLICY, &|_: &Path| Ok(real + 1)).unwrap_err();
    match &e {
        PublishError::Refused { found: Found::MountPoint, path, .. } => assert_eq!(path, &dest),
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().ends_with(
            "it is a mount point (another file system is mounted there); choose another --out (a \
                directory inside the mount point will do)"
        ),
        "{e}"
    );
    assert!(is_mount_point(5, 5, Some(true)));
    assert!(!is_mount_point(5, 5, Some(false)));
    assert!(!is_mount_point(5, 5, None));
    assert_eq!(std::fs::read(dest.join("ok")).unwrap(), b"x");
}

#[test]
fn temporaries_match_the_naming_pattern_exactly() {
    assert_eq!(temporary_pid(".out.tmp-123", "out"), Some(123));
    assert_eq!(temporary_pid(".out.tmp-123.old", "out"), Some(123));
    for other in [
        ".out.tmp-",
        ".out.tmp-12a",
        ".out.tmp-123.x",
        ".out.tmp-123.old.old",
        "out.tmp-1",
        ".outx.tmp-1",
        ".out.tmp-+1",
        ".out.tmp-01",
        ".out.tmp-99999999999",
    ] {
        assert_eq!(temporary_pid(other, "out"), None, "{other}");
    }
    assert_eq!(temporary_pid("..thrum.tmp-7", ".thrum"), Some(7));
}

#[test]
fn stale_temporaries_are_removed_only_when_they_are_directories_of_dead_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    // a pid that does not exist: above the kernel's limit
    let dead = 4_194_305u32;
    std::fs::create_dir(p.join(format!(".out.tmp-{dead}"))).unwrap();
    std::fs::write(p.join(format!(".out.tmp-{dead}/f")), "x").unwrap();
    std::fs::create_dir(p.join(format!(".out.tmp-{dead}.old"))).unwrap();
    mark(&p.join(format!(".out.tmp-{dead}")), dead);
    for n in [dead + 1, dead + 2] {
        mark(&p.join(format!(".out.tmp-{n}")), n);
    }
    std::fs::write(p.join(format!(".out.tmp-{}", dead + 1)), "a file").unwrap();
    let target = p.join("keep");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("precious"), "y").unwrap();
    std::os::unix::fs::symlink(&target, p.join(format!(".out.tmp-{}", dead + 2))).unwrap();
    std::fs::create_dir(p.join(format!(".out.tmp-{dead}x"))).unwrap();
    let live = std::process::id();
    std::fs::create_dir(p.join(format!(".out.tmp-{live}"))).unwrap();
    mark(&p.join(format!(".out.tmp-{live}")), live);
    remove_stale(p, "out");
    let mut left: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let m = crate::cleanup::MARKER_SUFFIX;
    let mut want = vec![
        format!(".out.tmp-{}", dead + 1),
        format!(".out.tmp-{}{m}", dead + 1),
        format!(".out.tmp-{}", dead + 2),
        format!(".out.tmp-{}{m}", dead + 2),
        format!(".out.tmp-{dead}x"),
        format!(".out.tmp-{live}"),
        format!(".out.tmp-{live}{m}"),
        "keep".to_string(),
    ];
    want.sort();
    assert_eq!(left, want);
    assert_eq!(std::fs::read(target.join("precious")).unwrap(), b"y");
}

#[test]
fn entries_show_three_names_or_two_and_a_count() {
    let mut e = Entries::new();
    for n in ["c", "a", "b"] {
        e.add(n);
    }
    assert_eq!(e.to_string(), "a, b, c");
    e.add("data/");
    e.add("README.md");
    assert_eq!(e.to_string(), "README.md, a, and 3 more");
    let mut e = Entries::new();
    e.add("bad\nname\u{1b}[0m");
    assert_eq!(e.to_string(), "bad\\nname\\u{1b}[0m");
}

#[test]
fn a_destination_that_changed_during_the_run_is_refused_at_the_swap() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let staging = Staging::new(&dest, POLICY).unwrap();
    std::fs::write(staging.dir.join("ok"), "new").unwrap();
    let staged = staging.dir.clone();
    // absent at the start; someone else's directory appears meanwhile
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("theirs"), "keep me").unwrap();
    let e = staging.publish().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "refusing to replace {}: it holds files tool did not write (theirs); choose another \
                --out or remove it yourself",
            dest.display()
        )
    );
    assert_eq!(e.exit_code(), 2);
    assert_eq!(std::fs::read(dest.join("theirs")).unwrap(), b"keep me");
    assert!(!staged.exists(), "the staging directory is removed");
    let left: Vec<_> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["dest"]);
}

#[test]
fn a_refused_destination_gets_no_staging_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("sub").join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("theirs"), "keep me").unwrap();
    assert!(Staging::new(&dest, POLICY).is_err());
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["dest"]);
    // a path through a file: refused, and no directory is created
    let file = tmp.path().join("file");
    std::fs::write(&file, "f").unwrap();
    let e = Staging::new(&file.join("a").join("b"), POLICY).err().unwrap();
    assert!(
        matches!(
            &e,
            PublishError::Refused { found: Found::ParentNotDirectory(p), .. } if *p == file
        ),
        "{e:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"f");
}

#[test]
fn what_cannot_be_put_back_is_kept_under_a_name_no_run_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let prev = tmp.path().join(temporary_name("dest", std::process::id()));
    std::fs::create_dir(&prev).unwrap();
    std::fs::write(prev.join("theirs"), "keep me").unwrap();
    let e = remove_previous(&prev, &dest, &POLICY, || Err(std::io::Error::other("no way back")))
        .unwrap_err();
    let kept = tmp.path().join(format!("dest.kept-{}", std::process::id()));
    match &e {
        PublishError::Displaced { now_at, .. } => assert_eq!(now_at, &kept),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.exit_code(), 1);
    assert_eq!(std::fs::read(kept.join("theirs")).unwrap(), b"keep me");
    remove_stale(tmp.path(), "dest");
    assert_eq!(std::fs::read(kept.join("theirs")).unwrap(), b"keep me");
}

#[test]
fn what_the_swap_moved_aside_is_put_back_when_it_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dest) = (tmp.path().join("src"), tmp.path().join("dest"));
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("ok"), "new").unwrap();
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("ok"), "old").unwrap();
    // the destination changes after the check: a foreign file appears
    assert_eq!(check(&dest, &POLICY).unwrap(), Accepted::Ours);
    std::fs::write(dest.join("theirs"), "keep me").unwrap();
    let e = exchange(&src, &dest, &POLICY).unwrap_err();
    assert!(matches!(&e, PublishError::Refused { found: Found::Foreign { .. }, .. }), "{e:?}");
    assert_eq!(std::fs::read(dest.join("theirs")).unwrap(), b"keep me");
    assert_eq!(std::fs::read(dest.join("ok")).unwrap(), b"old");
    assert_eq!(std::fs::read(src.join("ok")).unwrap(), b"new");
}

#[test]
fn a_look_alike_staging_directory_without_its_marker_is_never_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let dead = 4_194_305u32;
    // the user's directories that happen to have a staging name
    for n in [format!(".prev.tmp-{dead}"), format!(".prev.tmp-{dead}.old")] {
        std::fs::create_dir(p.join(&n)).unwrap();
        std::fs::write(p.join(&n).join("a"), "mine").unwrap();
    }
    // a marker for another pid proves nothing
    std::fs::create_dir(p.join(format!(".prev.tmp-{}", dead + 1))).unwrap();
    mark(&p.join(format!(".prev.tmp-{}", dead + 1)), dead + 2);
    let before = names(p);
    remove_stale(p, "prev");
    assert_eq!(names(p), before);
    // publishing beside them leaves them as they were
    let dest = p.join("prev");
    let staging = Staging::new(&dest, POLICY).unwrap();
    assert!(crate::cleanup::is_marked(&staging.dir, std::process::id()));
    assert!(
        names(&staging.dir).is_empty(),
        "the marker is beside the staging directory, not in it"
    );
    std::fs::write(staging.dir.join("ok"), "new").unwrap();
    staging.publish().unwrap();
    assert_eq!(names(&dest), ["ok"], "nothing but the output is published");
    let mut want = before.clone();
    want.push("prev".to_string());
    want.sort();
    assert_eq!(names(p), want, "the staging directory and its marker are gone");
    for n in [format!(".prev.tmp-{dead}"), format!(".prev.tmp-{dead}.old")] {
        assert_eq!(std::fs::read(p.join(&n).join("a")).unwrap(), b"mine");
        assert_eq!(names(&p.join(&n)), ["a"]);
    }
}

#[test]
fn a_look_alike_with_this_process_pid_is_refused_not_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let mine = tmp.path().join(temporary_name("dest", std::process::id()));
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("a"), "mine").unwrap();
    let e = Staging::new(&dest, POLICY).err().unwrap();
    assert!(e.to_string().contains(&mine.display().to_string()), "{e}");
    assert_eq!(std::fs::read(mine.join("a")).unwrap(), b"mine");
    assert_eq!(names(tmp.path()), [temporary_name("dest", std::process::id())]);
    // once marked as a dead run of this pid would have, it is collected
    mark(&mine, std::process::id());
    let staging = Staging::new(&dest, POLICY).unwrap();
    assert!(names(&staging.dir).is_empty());
    drop(staging);
    assert!(names(tmp.path()).is_empty(), "dropped: the staging directory and its marker are gone");
}

#[test]
fn a_destination_with_a_250_byte_name_is_staged_and_published() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "n".repeat(250);
    let dest = tmp.path().join(&long);
    let s = Staging::new(&dest, POLICY).unwrap();
    let staged = s.dir.file_name().unwrap().to_str().unwrap().to_string();
    assert!(staged.len() + crate::cleanup::MARKER_SUFFIX.len() + ".old".len() <= 255, "{staged}");
    assert_eq!(temporary_pid(&staged, &long), Some(std::process::id()));
    std::fs::write(s.dir.join("ok"), "1").unwrap();
    s.publish().unwrap();
    // and replaced: the swap, the previous output's removal
    let s = Staging::new(&dest, POLICY).unwrap();
    std::fs::write(s.dir.join("ok"), "2").unwrap();
    s.publish().unwrap();
    assert_eq!(std::fs::read(dest.join("ok")).unwrap(), b"2");
    assert_eq!(names(tmp.path()), [long]);
}

#[test]
fn a_destination_that_is_an_input_is_refused_before_the_staging_and_before_the_swap() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("in")).unwrap();
    std::fs::write(d.join("in/ok"), "input").unwrap();
    std::os::unix::fs::symlink("in", d.join("lnk")).unwrap();
    let inputs = [crate::identity::Named::new("--in", d.join("lnk"))];
    let e = Staging::apart_from(&d.join("in"), POLICY, &inputs).err().unwrap();
    assert!(e.is_refusal() && e.exit_code() == 2, "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "refusing --out {}: it is the same as --in",
            d.join("in").display()
        )),
        "{e}"
    );
    assert_eq!(names(d), ["in", "lnk"], "nothing written");
    // apart at the start, the same by the swap: refused, the input kept
    let s = Staging::apart_from(&d.join("out"), POLICY, &inputs).unwrap();
    std::fs::write(s.dir.join("ok"), "output").unwrap();
    std::fs::remove_file(d.join("lnk")).unwrap();
    std::os::unix::fs::symlink("out", d.join("lnk")).unwrap();
    let e = s.publish().unwrap_err();
    assert!(
        matches!(
            e,
            PublishError::Apart(crate::identity::ApartError::Overlap {
                relation: crate::identity::Relation::Same,
                ..
            })
        ),
        "{e}"
    );
    assert_eq!(names(d), ["in", "lnk"], "the staging directory removed, nothing published");
    assert_eq!(std::fs::read(d.join("in/ok")).unwrap(), b"input");
}
