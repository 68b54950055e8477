//! The harness of the hostile suite: a sandbox per case, both binaries run
//! under an address-space limit and a wall-clock limit, their peak RSS taken
//! from GNU time (`/usr/bin/time -f %M`), and the checks every case shares: nothing
//! written outside DEST, no temporary left, every input byte-identical.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use thrum_testkit::snapshot;

/// Address space every run gets (`prlimit --as`).
pub const AS_LIMIT: u64 = 512 << 20;
/// Peak RSS no run of `verify` may exceed.
pub const VERIFY_RSS_LIMIT_KIB: u64 = 256 << 10;
/// Wall-clock limit of one run.
pub const WALL_LIMIT: Duration = Duration::from_secs(60);

/// Which binary a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    Testgen,
    Verify,
}

impl Bin {
    pub fn path(self) -> PathBuf {
        let verify = PathBuf::from(env!("CARGO_BIN_EXE_verify"));
        match self {
            Bin::Verify => verify,
            Bin::Testgen => {
                let p = verify.with_file_name("testgen");
                assert!(
                    p.is_file(),
                    "{} is missing: the suite runs both binaries (cargo test --release \
                        --workspace builds them)",
                    p.display()
                );
                p
            }
        }
    }
    fn name(self) -> &'static str {
        match self {
            Bin::Testgen => "testgen",
            Bin::Verify => "verify",
        }
    }
}

/// What one run did.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub peak_rss_kib: u64,
    pub wall: Duration,
}

/// One line of the suite's table.
#[derive(Debug, Clone)]
pub struct Row {
    pub class: &'static str,
    pub case: String,
    pub command: String,
    pub code: Option<i32>,
    pub peak_rss_kib: u64,
    pub wall: Duration,
}

/// A sandbox: `work/` holds the inputs and destinations, `tmp/` is the
/// runs' TMPDIR, `log/` their captured output.
pub struct Lab {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub work: PathBuf,
    pub tmp: PathBuf,
    log: PathBuf,
}

impl Lab {
    pub fn new() -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let (work, tmp, log) = (root.join("work"), root.join("tmp"), root.join("log"));
        for d in [&work, &tmp, &log] {
            std::fs::create_dir(d).expect("sandbox dir");
        }
        Lab { _dir: dir, root, work, tmp, log }
    }

    /// A path in `work/`.
    pub fn at(&self, rel: &str) -> PathBuf {
        self.work.join(rel)
    }

    /// Runs BIN with ARGS in `work/` (relative paths resolve there) under
    /// the limits, and returns what it did. A run over the wall-clock
    /// limit is killed and reported as `code: None`.
    pub fn run(&self, bin: Bin, args: &[OsString]) -> Outcome {
        let (out, err, rss) =
            (self.log.join("stdout"), self.log.join("stderr"), self.log.join("rss"));
        // GNU time forks the run from a small process and reports its own
        // peak RSS: a child forked from this (large) test process would
        // inherit its high-water mark across exec.
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%M", "-o"])
            .arg(&rss)
            .arg(bin.path())
            .args(args)
            .current_dir(&self.work)
            .env("TMPDIR", &self.tmp)
            .env("MALLOC_ARENA_MAX", "2")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout log"))
            .stderr(std::fs::File::create(&err).expect("stderr log"));
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // its own process group: the deadline kills the run with it
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let lim = libc::rlimit { rlim_cur: AS_LIMIT, rlim_max: AS_LIMIT };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let start = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("run {} under /usr/bin/time (GNU time): {e}", bin.name()));
        let code = wait_with_limit(child, WALL_LIMIT);
        let peak_rss_kib = std::fs::read_to_string(&rss)
            .ok()
            .and_then(|s| s.lines().last()?.trim().parse().ok())
            .unwrap_or(u64::MAX);
        let read = |p: &Path| {
            let mut s = Vec::new();
            std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut s)).expect("log");
            String::from_utf8_lossy(&s).into_owned()
        };
        Outcome {
            code,
            stdout: read(&out),
            stderr: read(&err),
            peak_rss_kib,
            wall: start.elapsed(),
        }
    }
}

/// Waits for CHILD, killing its process group at the deadline; returns its
/// exit code (None when killed or signalled).
fn wait_with_limit(mut child: std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            // GNU time exits with its child's code, or 128 + the signal that ended it
            return status.code().filter(|c| *c < 128);
        }
        if Instant::now() > deadline {
            // SAFETY: a plain kill(2) of the process group the child leads
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What a step must do.
pub struct Expect<'a> {
    /// The exit code.
    pub code: i32,
    /// Texts stdout or stderr must contain.
    pub says: &'a [&'a str],
    /// Where the step may write when it succeeds (a refused step writes nothing anywhere).
    pub dest: Option<PathBuf>,
}

/// Runs one step of a case and checks everything the suite promises;
/// returns the table row, or the list of broken promises.
pub fn step(
    lab: &Lab,
    class: &'static str,
    case: &str,
    bin: Bin,
    args: &[OsString],
    want: Expect,
) -> Result<Row, String> {
    step_report(lab, class, case, bin, args, want, |_| Ok(()))
}

/// [`step`], and `report` judges the run's stdout (a JSON report, a help
/// text): its complaint is one more broken promise.
pub fn step_report(
    lab: &Lab,
    class: &'static str,
    case: &str,
    bin: Bin,
    args: &[OsString],
    want: Expect,
    report: impl FnOnce(&str) -> Result<(), String>,
) -> Result<Row, String> {
    let before = snapshot(&lab.work);
    let o = lab.run(bin, args);
    let after = snapshot(&lab.work);
    let shown = format!(
        "{} {}",
        bin.name(),
        args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    );
    // one line for the table, whatever the arguments hold
    let shown = shown.escape_debug().to_string();
    let mut broken = Vec::new();
    if o.code != Some(want.code) {
        broken.push(format!("exit {:?}, expected {}", o.code, want.code));
    }
    let text = format!("{}\n{}", o.stdout, o.stderr);
    for s in want.says {
        if !text.contains(s) {
            broken.push(format!("output does not say {s:?}"));
        }
    }
    if bin == Bin::Verify && o.peak_rss_kib > VERIFY_RSS_LIMIT_KIB {
        broken.push(format!("peak RSS {} MiB, over 256 MiB", o.peak_rss_kib >> 10));
    }
    // a refused step may write nothing at all; a step that succeeds, only below DEST
    let inside = |rel: &str| {
        want.code == 0 && want.dest.as_ref().is_some_and(|d| lab.work.join(rel).starts_with(d))
    };
    for (p, d) in &before {
        if !inside(p) && after.get(p) != Some(d) {
            broken.push(format!(
                "{} changed or vanished ({d} -> {:?})",
                lab.work.join(p).display(),
                after.get(p)
            ));
        }
    }
    for p in after.keys() {
        if !inside(p) && !before.contains_key(p) {
            broken.push(format!("{} written outside DEST", lab.work.join(p).display()));
        }
    }
    let left: Vec<_> =
        std::fs::read_dir(&lab.tmp).expect("tmp").map(|e| e.expect("entry").file_name()).collect();
    if !left.is_empty() {
        broken.push(format!("temporaries left in TMPDIR: {left:?}"));
    }
    let mut top: Vec<_> = std::fs::read_dir(&lab.root)
        .expect("root")
        .map(|e| e.expect("entry").file_name())
        .collect();
    top.sort();
    if top != ["log", "tmp", "work"] {
        broken.push(format!("written beside the sandbox: {top:?}"));
    }
    if o.stdout.contains('\x1b') || o.stderr.contains('\x1b') {
        broken.push("raw ESC on the terminal".into());
    }
    if let Err(e) = report(&o.stdout) {
        broken.push(e);
    }
    if broken.len() > 12 {
        let more = broken.len() - 12;
        broken.truncate(12);
        broken.push(format!("... and {more} more"));
    }
    let row = Row {
        class,
        case: case.to_string(),
        command: shown.clone(),
        code: o.code,
        peak_rss_kib: o.peak_rss_kib,
        wall: o.wall,
    };
    if broken.is_empty() {
        Ok(row)
    } else {
        Err(format!(
            "[{class}] {case}: `{shown}`\n    {}\n    stdout: {}\n    stderr: {}",
            broken.join("\n    "),
            clip(&o.stdout),
            clip(&o.stderr)
        ))
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(600) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// An array of `OsString` arguments from anything path-like.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => { [$(std::ffi::OsString::from($a)),*] };
}
