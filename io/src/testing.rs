//! For the workspace's tests that need root (mounts, tmpfs): whether to
//! run them. As root they run, and a mount that fails fails the test; as
//! another user they are skipped with a note, unless
//! `THRUM_REQUIRE_ROOT_TESTS` is set (CI sets it), which makes the skip a
//! failure.

/// The variable that turns a skipped root test into a failure.
pub const REQUIRE_ROOT: &str = "THRUM_REQUIRE_ROOT_TESTS";

/// True when the process runs as root. Otherwise prints a note naming
/// `what` and returns false, or panics when [`REQUIRE_ROOT`] is set.
pub fn privileged(what: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    if std::env::var_os(REQUIRE_ROOT).is_some() {
        panic!("{what} needs root, and {REQUIRE_ROOT} is set: run the tests as root");
    }
    eprintln!("note: {what} needs root; not exercised (set {REQUIRE_ROOT} to make this a failure)");
    false
}

/// Runs `mount ARGS...`; panics with mount's message when it fails (the
/// caller is root: a mount that fails is a failure, never a skip).
pub fn mount(args: &[&std::ffi::OsStr]) {
    let o = std::process::Command::new("mount")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
    assert!(o.status.success(), "mount {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// Unmounts `at` (lazily, so a busy mount does not outlive the test).
pub fn unmount(at: &std::path::Path) {
    let _ = std::process::Command::new("umount").arg("-l").arg(at).status();
}
