use super::*;
use std::os::unix::fs::symlink;

fn rel(a: &Path, b: &Path) -> Relation {
    relation(a, b).unwrap()
}

/// Every pair both ways: the relation and its mirror.
fn both(a: &Path, b: &Path, want: Relation) {
    let mirror = match want {
        Relation::Inside => Relation::Contains,
        Relation::Contains => Relation::Inside,
        r => r,
    };
    assert_eq!((rel(a, b), rel(b, a)), (want, mirror), "{} vs {}", a.display(), b.display());
}

#[test]
fn text_does_not_decide_links_and_dotdot_do() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("s0/inner")).unwrap();
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::create_dir_all(d.join("s1")).unwrap();
    symlink("s0", d.join("lnk0")).unwrap();
    symlink("../s0", d.join("sub/l")).unwrap();
    both(&d.join("lnk0"), &d.join("s0"), Relation::Same);
    both(&d.join("sub/l"), &d.join("s0"), Relation::Same);
    both(&d.join("sub/../s0"), &d.join("s0"), Relation::Same);
    both(&d.join("s0/inner"), &d.join("lnk0"), Relation::Inside);
    both(&d.join("sub/l/inner/x"), &d.join("s0"), Relation::Inside);
    both(&d.join("s1"), &d.join("lnk0"), Relation::Apart);
    both(&d.join("s0/./inner/.."), &d.join("sub/l"), Relation::Same);
    // relative paths resolve from the working directory
    both(Path::new("."), &std::env::current_dir().unwrap(), Relation::Same);
}

#[test]
fn paths_that_do_not_exist_resolve_through_their_deepest_existing_ancestor() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("s0")).unwrap();
    symlink("s0", d.join("lnk0")).unwrap();
    both(&d.join("lnk0/new/deeper"), &d.join("s0"), Relation::Inside);
    both(&d.join("s0/new"), &d.join("lnk0/new"), Relation::Same);
    both(&d.join("s0/new/a"), &d.join("lnk0/new"), Relation::Inside);
    both(&d.join("s0/new/a"), &d.join("s0/new/b"), Relation::Apart);
    both(&d.join("s0/new/../x"), &d.join("s0/x"), Relation::Same);
    both(&d.join("new"), &d.join("s0"), Relation::Apart);
    // a dangling link is followed to where it points
    symlink("s0/later", d.join("dangling")).unwrap();
    both(&d.join("dangling"), &d.join("s0/later"), Relation::Same);
    both(&d.join("dangling/x"), &d.join("s0"), Relation::Inside);
    // a loop of links is an error that names the path
    symlink("loop-b", d.join("loop-a")).unwrap();
    symlink("loop-a", d.join("loop-b")).unwrap();
    let e = relation(&d.join("loop-a/x"), &d.join("s0")).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("resolving {}", d.join("loop-a/x").display())),
        "{e}"
    );
    // a name below a regular file: the file is its deepest existing ancestor
    std::fs::write(d.join("s0/file"), "x").unwrap();
    both(&d.join("s0/file/x"), &d.join("s0"), Relation::Inside);
}

#[test]
fn a_bind_mount_is_the_directory_it_shows() {
    if !crate::testing::privileged("a bind mount") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("data/s0/inner")).unwrap();
    std::fs::create_dir_all(d.join("mnt")).unwrap();
    crate::testing::mount(&[
        "--bind".as_ref(),
        d.join("data").as_os_str(),
        d.join("mnt").as_os_str(),
    ]);
    let found = [
        rel(&d.join("mnt/s0"), &d.join("data/s0")),
        rel(&d.join("mnt/s0/inner"), &d.join("data/s0")),
        rel(&d.join("data"), &d.join("mnt/s0/new")),
        rel(&d.join("mnt/s0/new"), &d.join("data/s0/new")),
        rel(&d.join("mnt"), &d.join("data/s1")),
    ];
    crate::testing::unmount(&d.join("mnt"));
    assert_eq!(
        found,
        [Relation::Same, Relation::Inside, Relation::Contains, Relation::Same, Relation::Contains]
    );
}

#[test]
fn apart_names_both_paths_and_the_relation() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("s0")).unwrap();
    std::fs::create_dir_all(d.join("s1")).unwrap();
    symlink("s0", d.join("lnk0")).unwrap();
    let out = Named::new("--out", d.join("s0"));
    let inputs = [
        Named::new("the shard directory", d.join("s1")),
        Named::new("the shard directory", d.join("lnk0")),
    ];
    let e = apart(&out, &inputs).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "refusing --out {}: it is the same as the shard directory {} (by device and inode); \
                an output must not be, hold or lie in an input",
            d.join("s0").display(),
            d.join("lnk0").display()
        )
    );
    assert!(apart(&Named::new("--out", d.join("m")), &inputs).is_ok());
    let e = apart(&Named::new("--out", d), &inputs[..1]).unwrap_err();
    assert!(matches!(e, ApartError::Overlap { relation: Relation::Contains, .. }), "{e}");
    // a name with a control character is escaped
    let e = apart(&Named::new("--out", d.join("s1/a\nb")), &inputs[..1]).unwrap_err();
    assert!(e.to_string().contains("s1/a\\nb: it lies inside"), "{e}");
}
