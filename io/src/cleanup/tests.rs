use super::*;

/// The pid of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} was reused at once");
    pid
}

/// Writes the ownership marker of `path` as process `pid` would have.
fn mark(path: &Path, pid: u32) {
    let name = path.file_name().unwrap().to_str().unwrap();
    fs::write(marker_path(path), marker_text(name, pid)).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn names_embed_the_pid_and_parse_back_exactly() {
    let n = temp_name("verify-replay-", 4321, 0xabc);
    assert_eq!(n, "verify-replay-4321-0000000000000abc");
    assert_eq!(parse_pid(&n, "verify-replay-"), Some(4321));
    assert_eq!(parse_pid(&n, "verify-"), None, "another prefix's names are not this prefix's");
    for bad in [
        "verify-replay-4321-0000000000000ab",   // 15 digits
        "verify-replay-4321-0000000000000abcd", // 17
        "verify-replay-4321-0000000000000ABC",  // upper case
        "verify-replay--0000000000000abc",      // no pid
        "verify-replay-04321-0000000000000abc", // leading zero
        "verify-replay-43x1-0000000000000abc",
        "verify-replay-aB3dE9",                       // tempfile's style
        "verify-replay-99999999999-0000000000000abc", // over u32
        "other-4321-0000000000000abc",
    ] {
        assert_eq!(parse_pid(bad, "verify-replay-"), None, "{bad}");
    }
}

#[test]
fn a_temp_dir_is_registered_until_dropped_kept_or_persisted() {
    let base = tempfile::tempdir().unwrap();
    let d = temp_dir_in(base.path(), "t-").unwrap();
    let name = d.path().file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(parse_pid(&name, "t-"), Some(std::process::id()));
    let abs = std::path::absolute(d.path()).unwrap();
    assert!(registered().contains(&abs));
    fs::write(d.path().join("f"), b"x").unwrap();
    drop(d);
    assert!(!abs.exists(), "removed on drop");
    assert!(!registered().contains(&abs), "and forgotten");

    let d = temp_dir_in(base.path(), "t-").unwrap();
    let kept = d.keep();
    assert!(kept.is_dir());
    assert!(
        !registered().contains(&std::path::absolute(&kept).unwrap()),
        "kept: no longer registered"
    );

    let d = temp_dir_in(base.path(), "t-").unwrap();
    let abs = std::path::absolute(d.path()).unwrap();
    let dest = base.path().join("dest");
    d.persist(&dest).unwrap();
    assert!(dest.is_dir() && !abs.exists());
    assert!(!registered().contains(&abs));

    // a failed persist keeps it registered; drop removes it
    let d = temp_dir_in(base.path(), "t-").unwrap();
    let abs = std::path::absolute(d.path()).unwrap();
    fs::write(base.path().join("file"), b"").unwrap();
    assert!(d.persist(&base.path().join("file")).is_err());
    assert!(!abs.exists() && !registered().contains(&abs));
    let mut left = names(base.path());
    left.retain(|n| n.starts_with("t-"));
    assert_eq!(left, vec![kept.file_name().unwrap().to_str().unwrap().to_string()]);
}

#[test]
fn a_temp_file_is_removed_on_drop_and_renamed_by_persist() {
    use std::io::Write as _;
    let base = tempfile::tempdir().unwrap();
    let mut f = temp_file_in(base.path(), ".migrate-").unwrap();
    f.write_all(b"abc").unwrap();
    let abs = std::path::absolute(f.path()).unwrap();
    assert!(registered().contains(&abs));
    drop(f);
    assert!(!abs.exists() && !registered().contains(&abs));
    let mut f = temp_file_in(base.path(), ".migrate-").unwrap();
    f.write_all(b"abc").unwrap();
    let dest = base.path().join("events.jsonl");
    f.persist(&dest).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"abc");
    assert_eq!(names(base.path()), vec!["events.jsonl".to_string()]);
}

#[test]
fn write_replacing_replaces_a_file_in_one_step_and_leaves_nothing_else() {
    let base = tempfile::tempdir().unwrap();
    let dest = base.path().join("plot.svg");
    write_replacing(&dest, b"first").unwrap();
    write_replacing(&dest, b"second").unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"second");
    assert_eq!(names(base.path()), ["plot.svg"]);
    // a dead run's temporary, with its marker, is collected
    let pid = dead_pid();
    let stale = base.path().join(temp_name(".plot.svg.tmp-", pid, 7));
    fs::write(&stale, "half").unwrap();
    mark(&stale, pid);
    write_replacing(&dest, b"third").unwrap();
    assert_eq!(names(base.path()), ["plot.svg"]);
    // a directory in the way: refused, the directory and its file intact
    let dir = base.path().join("taken.svg");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("keep"), "x").unwrap();
    assert!(write_replacing(&dir, b"y").is_err());
    assert_eq!(fs::read(dir.join("keep")).unwrap(), b"x");
    assert_eq!(names(base.path()), ["plot.svg", "taken.svg"]);
}

#[test]
fn removing_registered_paths_never_follows_links() {
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("precious"), b"keep me").unwrap();
    let d = temp_dir_in(base.path(), "s-").unwrap();
    fs::create_dir(d.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(&outside, d.path().join("sub/link")).unwrap();
    std::os::unix::fs::symlink(outside.join("precious"), d.path().join("filelink")).unwrap();
    let f = temp_file_in(base.path(), "s-").unwrap();
    let (dp, fp) = (std::path::absolute(d.path()).unwrap(), std::path::absolute(f.path()).unwrap());
    let root = std::path::absolute(base.path()).unwrap();
    // only this test's entries (other tests run in parallel in this process)
    assert_eq!(remove_registered(&|p: &Path| p.starts_with(&root)), 2);
    assert!(!dp.exists() && !fp.exists());
    assert!(!registered().contains(&dp) && !registered().contains(&fp));
    assert_eq!(fs::read(outside.join("precious")).unwrap(), b"keep me");
    // the guards' drop finds nothing left to remove
    drop(d);
    drop(f);
    assert_eq!(names(base.path()), vec!["outside".to_string()]);
}

#[test]
fn collect_stale_removes_only_dead_runs_exact_names_and_no_links() {
    let base = tempfile::tempdir().unwrap();
    let p = base.path();
    let dead = dead_pid();
    let me = std::process::id();
    // a dead run's directory (with content) and file: removed
    let stale_dir = p.join(temp_name("verify-", dead, 1));
    fs::create_dir_all(stale_dir.join(".thrum/var")).unwrap();
    fs::write(stale_dir.join(".thrum/var/messages.db"), b"db").unwrap();
    mark(&stale_dir, dead);
    let stale_file = p.join(temp_name("verify-", dead, 2));
    fs::write(&stale_file, b"x").unwrap();
    mark(&stale_file, dead);
    // a live process (pid 1 always exists) and this one: kept
    let live = p.join(temp_name("verify-", 1, 3));
    fs::create_dir(&live).unwrap();
    mark(&live, 1);
    let mine = p.join(temp_name("verify-", me, 4));
    fs::create_dir(&mine).unwrap();
    mark(&mine, me);
    // names that cannot be attributed, or belong to another prefix: kept
    let old_style = p.join("verify-Ab3xYz");
    fs::create_dir(&old_style).unwrap();
    let other_prefix = p.join(temp_name("verify-db-", dead, 5));
    fs::create_dir(&other_prefix).unwrap();
    let near_miss = p.join(format!("verify-{dead}-123"));
    fs::create_dir(&near_miss).unwrap();
    // a link with a matching name, to a directory outside: kept, target intact
    let target = p.join("target");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("precious"), b"keep").unwrap();
    let link = p.join(temp_name("verify-", dead, 6));
    std::os::unix::fs::symlink(&target, &link).unwrap();
    mark(&link, dead);
    // a dead run's directory that holds a link to the outside: the link goes, not its target
    fs::create_dir(p.join(temp_name("verify-", dead, 7))).unwrap();
    std::os::unix::fs::symlink(&target, p.join(temp_name("verify-", dead, 7)).join("l")).unwrap();
    mark(&p.join(temp_name("verify-", dead, 7)), dead);

    let mut removed = collect_stale(p, "verify-").unwrap();
    removed.sort();
    let mut want =
        vec![stale_dir.clone(), stale_file.clone(), p.join(temp_name("verify-", dead, 7))];
    want.sort();
    assert_eq!(removed, want);
    for kept in [&live, &mine, &old_style, &other_prefix, &near_miss, &target] {
        assert!(kept.is_dir(), "{} must be kept", kept.display());
    }
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(fs::read(target.join("precious")).unwrap(), b"keep");
    for gone in &want {
        assert!(!marker_path(gone).exists(), "the marker goes with {}", gone.display());
    }
    assert!(collect_stale(p, "verify-").unwrap().is_empty(), "a second pass finds nothing");
    assert!(collect_stale(&p.join("absent"), "verify-").is_err());
}

#[test]
fn collect_stale_leaves_look_alikes_without_a_valid_marker_untouched() {
    let base = tempfile::tempdir().unwrap();
    let p = base.path();
    let dead = dead_pid();
    // the name of a dead run's temporary, but no marker: the user's
    let unmarked = p.join(temp_name("verify-", dead, 0x0123456789abcdef));
    fs::create_dir(&unmarked).unwrap();
    fs::write(unmarked.join("x"), b"mine").unwrap();
    let unmarked_file = p.join(temp_name("verify-", dead, 1));
    fs::write(&unmarked_file, b"mine too").unwrap();
    // markers that do not prove it: another pid, another name, a link, extra bytes
    let wrong_pid = p.join(temp_name("verify-", dead, 2));
    fs::create_dir(&wrong_pid).unwrap();
    mark(&wrong_pid, dead + 1);
    let wrong_name = p.join(temp_name("verify-", dead, 3));
    fs::create_dir(&wrong_name).unwrap();
    fs::write(marker_path(&wrong_name), marker_text(&temp_name("verify-", dead, 4), dead)).unwrap();
    let linked = p.join(temp_name("verify-", dead, 5));
    fs::create_dir(&linked).unwrap();
    let real_marker = p.join("real");
    fs::write(&real_marker, marker_text(linked.file_name().unwrap().to_str().unwrap(), dead))
        .unwrap();
    std::os::unix::fs::symlink(&real_marker, marker_path(&linked)).unwrap();
    let longer = p.join(temp_name("verify-", dead, 6));
    fs::create_dir(&longer).unwrap();
    let mut text = marker_text(longer.file_name().unwrap().to_str().unwrap(), dead);
    text.push('x');
    fs::write(marker_path(&longer), text).unwrap();
    // a marked one beside them: removed, with its marker
    let marked = p.join(temp_name("verify-", dead, 7));
    fs::create_dir(&marked).unwrap();
    fs::write(marked.join("f"), b"ours").unwrap();
    mark(&marked, dead);
    let before = names(p);

    assert_eq!(collect_stale(p, "verify-").unwrap(), vec![marked.clone()]);
    let mut want = before.clone();
    want.retain(|n| {
        *n != temp_name("verify-", dead, 7)
            && *n != format!("{}{MARKER_SUFFIX}", temp_name("verify-", dead, 7))
    });
    assert_eq!(names(p), want);
    assert_eq!(fs::read(unmarked.join("x")).unwrap(), b"mine");
    assert_eq!(names(&unmarked), vec!["x".to_string()]);
    assert_eq!(fs::read(&unmarked_file).unwrap(), b"mine too");
    for d in [&wrong_pid, &wrong_name, &linked, &longer] {
        assert!(d.is_dir(), "{} must be kept", d.display());
    }
}

#[test]
fn temporaries_are_created_after_their_marker_and_lose_it_when_done() {
    let base = tempfile::tempdir().unwrap();
    let me = std::process::id();
    let d = temp_dir_in(base.path(), "m-").unwrap();
    assert!(is_marked(d.path(), me));
    assert!(names(d.path()).is_empty(), "the marker is beside, not inside");
    let dest = base.path().join("published");
    d.persist(&dest).unwrap();
    assert!(names(&dest).is_empty());
    assert_eq!(names(base.path()), vec!["published".to_string()], "no marker left");

    let d = temp_dir_in(base.path(), "m-").unwrap();
    let kept = d.keep();
    assert!(!marker_path(&kept).exists(), "a kept directory is no longer a temporary");
    fs::remove_dir(&kept).unwrap();

    let f = temp_file_in(base.path(), "m-").unwrap();
    let path = f.path().to_path_buf();
    assert!(is_marked(&path, me));
    drop(f);
    assert_eq!(names(base.path()), vec!["published".to_string()]);
}

#[test]
fn a_long_name_gives_a_bounded_stem_that_tells_names_apart() {
    assert_eq!(temp_stem("out"), "out");
    let a = format!("{}a", "é".repeat(125));
    let b = format!("{}b", "é".repeat(125));
    let (sa, sb) = (temp_stem(&a), temp_stem(&b));
    assert!(sa.len() <= STEM_MAX && sb.len() <= STEM_MAX, "{sa}");
    assert_ne!(sa, sb);
    assert_eq!(sa, temp_stem(&a));
    assert!(sa.starts_with("éé") && sa.contains('~'), "{sa}");
    // the longest decoration fits in a file name
    let longest = format!(".{sa}.partial-4294967295-{}{MARKER_SUFFIX}", "f".repeat(16));
    assert!(longest.len() <= 255, "{}", longest.len());
}
