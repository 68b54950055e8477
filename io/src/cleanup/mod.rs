//! Temporaries that do not outlive their process.
//!
//! A run that is interrupted must leave nothing behind, and a run that was
//! killed (SIGKILL, power loss) must have its leftovers removed by the next
//! run. This module provides both, with no knowledge of what the temporaries
//! are for:
//!
//! * [`temp_dir`] / [`temp_dir_in`] create a directory, and [`temp_file_in`]
//!   a file, named `PREFIX<pid>-<16 hex digits>`: the creating process id is
//!   part of the name. Each is entered in a process-wide registry and
//!   returned as a guard ([`TempDir`], [`TempFile`]) that removes it on drop
//!   unless it is kept ([`TempDir::keep`]) or renamed into place
//!   ([`TempDir::persist`], [`TempFile::persist`]).
//! * [`install_signal_handlers`]: on SIGINT, SIGTERM or SIGHUP, every
//!   registered path is removed and the process exits with 128 + the signal
//!   number (130, 143, 129). The removal runs on a dedicated thread, not in
//!   the signal handler.
//! * Ownership markers: before a temporary `T` is created, the creating
//!   process writes beside it a marker file `T.thrum-io-owner` (see
//!   [`MARKER_SUFFIX`]) naming `T` and the pid; it is removed after `T`
//!   (removed, persisted or kept). The marker lives beside, never inside, so
//!   nothing that is renamed into place carries it.
//! * [`collect_stale`] removes the temporaries of processes that no longer
//!   exist: entries of a directory named exactly `PREFIX<pid>-<16 hex>` whose
//!   pid has no `/proc/<pid>` *and* whose marker is present and names them
//!   and that pid ([`is_marked`]). A look-alike without its marker was not
//!   made by us and is never touched.
//!
//! Limits, by design:
//! * A process killed between creating a marker and its temporary leaves
//!   only the marker (collected by the next run). The reverse order never
//!   happens, so a temporary of ours always has its marker, except one
//!   [`TempDir::keep`]t (no longer a temporary).
//! * Names without a pid (such as those of older versions, or of the
//!   `tempfile` crate: `PREFIX` + 6 random characters) cannot be attributed
//!   to a process and are never removed by [`collect_stale`].
//! * Where `/proc` is not mounted, nothing is collected (live runs cannot be
//!   told from dead ones). Processes in another pid namespace that share the
//!   directory (containers sharing `/tmp`) look dead from here: give them
//!   their own temporary directory (`TMPDIR`).
//! * A pid reused by an unrelated live process keeps the leftover of the
//!   dead run until that process exits.
//! * Removal never follows symbolic links: a registered directory is removed
//!   with [`crate::tree::remove_dir_all`], which deletes links, not their
//!   targets, and [`collect_stale`] skips entries that are links.
//!
//! Threads that write into registered directories can call [`checkpoint`]
//! before creating paths (for example before `create_dir_all`): once a
//! signal is being handled it blocks the calling thread until the process
//! exits, so no thread recreates a directory after it was removed.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

/// Number of hexadecimal digits of the random part of a name.
const RANDOM_DIGITS: usize = 16;

/// What a registered path is, so it is removed the right way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
}

struct Registry {
    next: u64,
    entries: BTreeMap<u64, (PathBuf, Kind)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { next: 0, entries: BTreeMap::new() });
/// The signal being handled, 0 when none.
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Longest stem [`temp_stem`] returns: room is left for the longest
/// decoration a temporary's name gets (`.STEM.partial-<pid>-<16 hex>`
/// with [`MARKER_SUFFIX`]) within the 255 bytes of a file name.
pub const STEM_MAX: usize = 200;

/// The part of a temporary's name taken from the name of what it stands
/// for (`.STEM.tmp-PID`, `.STEM.partial-...`): `name` itself up to
/// [`STEM_MAX`] bytes; a longer name is cut (at a character boundary) and
/// ends with `~` and 16 hex digits of its SHA-256, so the stem is the
/// same for the same name and differs for names that share the cut part.
pub fn temp_stem(name: &str) -> String {
    if name.len() <= STEM_MAX {
        return name.to_string();
    }
    let mut cut = STEM_MAX - 17;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{}", &name[..cut], &crate::hash::sha256_hex(name.as_bytes())[..16])
}

/// The name of a temporary: `PREFIX<pid>-<16 hex digits>`.
pub fn temp_name(prefix: &str, pid: u32, random: u64) -> String {
    format!("{prefix}{pid}-{random:0width$x}", width = RANDOM_DIGITS)
}

/// The pid embedded in `name` when it is exactly `PREFIX<pid>-<16 lowercase
/// hex digits>` (as made by [`temp_name`]); `None` for any other name.
pub fn parse_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let (pid, random) = rest.split_once('-')?;
    let digits = !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !(pid.len() > 1 && pid.starts_with('0'));
    let hex = random.len() == RANDOM_DIGITS
        && random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if digits && hex {
        pid.parse().ok()
    } else {
        None
    }
}

/// The suffix of the ownership marker of a temporary: `T` is proved ours
/// by the file `T.thrum-io-owner` beside it.
pub const MARKER_SUFFIX: &str = ".thrum-io-owner";

/// Where the ownership marker of the temporary `path` is.
pub fn marker_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(MARKER_SUFFIX);
    PathBuf::from(s)
}

/// The content of the ownership marker of the temporary named `name` made
/// by process `pid`.
pub fn marker_text(name: &str, pid: u32) -> String {
    format!("thrum-io temporary {name:?} of pid {pid}\n")
}

/// Creates the ownership marker of `path`, a temporary this process is
/// about to create (fails with `AlreadyExists` when the marker exists).
pub fn write_marker(path: &Path) -> io::Result<()> {
    use io::Write as _;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let marker = marker_path(path);
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&marker)?;
    if let Err(e) = f.write_all(marker_text(&name, std::process::id()).as_bytes()) {
        drop(f);
        let _ = fs::remove_file(&marker);
        return Err(e);
    }
    Ok(())
}

/// Whether the temporary `path` carries the proof that process `pid` of
/// ours created it: its marker is a regular file (not a link) whose
/// content names `path` and `pid` exactly.
pub fn is_marked(path: &Path, pid: u32) -> bool {
    use io::Read as _;
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    let marker = marker_path(path);
    let want = marker_text(name, pid);
    match fs::symlink_metadata(&marker) {
        Ok(m) if m.is_file() && m.len() == want.len() as u64 => {}
        _ => return false,
    }
    let mut got = Vec::new();
    // opened only as a regular file: a FIFO swapped in after the check never blocks
    match crate::regular::open_regular(&marker)
        .and_then(|f| f.take(want.len() as u64 + 1).read_to_end(&mut got))
    {
        Ok(_) => got == want.as_bytes(),
        Err(_) => false,
    }
}

/// Removes the marker of `path` (absent is fine).
pub fn remove_marker(path: &Path) -> io::Result<()> {
    match fs::remove_file(marker_path(path)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// Removes a registered path the way its kind requires. `remove_dir_all`
/// does not follow symbolic links inside the directory; a registered path
/// that is itself a link (replaced behind our back) is unlinked, never followed.
/// The marker goes last, once the path is gone: a temporary never loses its
/// marker before itself.
fn remove(path: &Path, kind: Kind) -> io::Result<()> {
    let r = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if kind == Kind::Dir && m.is_dir() => crate::tree::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    r?;
    remove_marker(path)
}

/// Releases a registered path: removes it on drop unless disarmed.
#[derive(Debug)]
struct Guard {
    id: u64,
    path: PathBuf,
    kind: Kind,
    armed: bool,
}

impl Guard {
    /// Creates a fresh entry in `parent` with `make` (which must fail with
    /// `AlreadyExists` when the name is taken), its ownership marker first,
    /// and registers it, under the registry lock: a signal handled meanwhile
    /// either sees it registered or finds it not yet created.
    fn create(
        parent: &Path,
        prefix: &str,
        kind: Kind,
        make: &mut dyn FnMut(&Path) -> io::Result<()>,
    ) -> io::Result<Guard> {
        let pid = std::process::id();
        let mut last = None;
        for _ in 0..64 {
            let path = parent.join(temp_name(prefix, pid, random()));
            let mut reg = registry();
            match write_marker(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            }
            let made = make(&path);
            if made.is_err() {
                let _ = remove_marker(&path);
            }
            match made {
                Ok(()) => {
                    let id = reg.next;
                    reg.next += 1;
                    let abs = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
                    reg.entries.insert(id, (abs, kind));
                    return Ok(Guard { id, path, kind, armed: true });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary name")
        }))
    }

    fn keep(mut self) -> PathBuf {
        let mut reg = registry();
        // no longer a temporary: without its marker no run collects it
        let _ = remove_marker(&self.path);
        reg.entries.remove(&self.id);
        drop(reg);
        self.armed = false;
        std::mem::take(&mut self.path)
    }

    /// Renames the entry to `dest` while it is registered, then forgets it:
    /// an interruption leaves either the temporary (removed) or `dest`.
    fn persist(self, dest: &Path) -> io::Result<PathBuf> {
        self.persist_by(dest, &mut |from, to| fs::rename(from, to)).map_err(|(e, _)| e)
    }

    /// [`Guard::persist`] with `rename` doing the move; on error the guard
    /// is given back, still armed.
    fn persist_by(
        mut self,
        dest: &Path,
        rename: &mut dyn FnMut(&Path, &Path) -> io::Result<()>,
    ) -> Result<PathBuf, (io::Error, Guard)> {
        let renamed = {
            let mut reg = registry();
            let r = rename(&self.path, dest);
            if r.is_ok() {
                reg.entries.remove(&self.id);
                // what was renamed never held the marker; a failure here
                // leaves a marker without its temporary (collected later)
                let _ = remove_marker(&self.path);
            }
            r
        };
        if let Err(e) = renamed {
            return Err((e, self));
        }
        self.armed = false;
        Ok(dest.to_path_buf())
    }

    fn close(mut self) -> io::Result<()> {
        self.armed = false;
        let mut reg = registry();
        let r = remove(&self.path, self.kind);
        reg.entries.remove(&self.id);
        r
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.armed {
            let mut reg = registry();
            let _ = remove(&self.path, self.kind);
            reg.entries.remove(&self.id);
        }
    }
}

/// A directory this process created under a name of its own (a staging
/// directory, say), registered so that an interrupt removes it (see
/// [`register_dir`]). Dropping it only takes it off the registry: its owner
/// removes or publishes the directory itself.
#[derive(Debug)]
pub struct Registration {
    id: u64,
}

/// Registers `path`, a directory this process has just created, for removal
/// on SIGINT/SIGTERM/SIGHUP while the returned [`Registration`] lives; its
/// ownership marker ([`write_marker`]), if any, is removed after it.
pub fn register_dir(path: &Path) -> Registration {
    let mut reg = registry();
    let id = reg.next;
    reg.next += 1;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    reg.entries.insert(id, (abs, Kind::Dir));
    Registration { id }
}

impl Drop for Registration {
    fn drop(&mut self) {
        registry().entries.remove(&self.id);
    }
}

/// A registered temporary directory, removed (with everything in it) when
/// dropped, unless [`keep`](TempDir::keep) or [`persist`](TempDir::persist)
/// was called.
#[derive(Debug)]
pub struct TempDir {
    guard: Guard,
}

impl TempDir {
    /// The directory (`parent` joined with its name, as given at creation).
    pub fn path(&self) -> &Path {
        &self.guard.path
    }
    /// Forgets the directory: it is no longer removed on drop or on a signal.
    pub fn keep(self) -> PathBuf {
        self.guard.keep()
    }
    /// Renames the directory to `dest` (see [`std::fs::rename`]) and forgets
    /// it. On error the directory stays registered and is removed on drop.
    pub fn persist(self, dest: &Path) -> io::Result<PathBuf> {
        self.guard.persist(dest)
    }
    /// Removes the directory now, reporting a failure (drop ignores it).
    pub fn close(self) -> io::Result<()> {
        self.guard.close()
    }
}

/// Creates a registered directory `PREFIX<pid>-<random>` in the system
/// temporary directory ([`std::env::temp_dir`], i.e. `TMPDIR` or `/tmp`).
pub fn temp_dir(prefix: &str) -> io::Result<TempDir> {
    temp_dir_in(&std::env::temp_dir(), prefix)
}

/// Creates a registered directory `PREFIX<pid>-<random>` in `parent`
/// (mode 0700 on Unix).
pub fn temp_dir_in(parent: &Path, prefix: &str) -> io::Result<TempDir> {
    let guard = Guard::create(parent, prefix, Kind::Dir, &mut |p| {
        let mut b = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(p)
    })?;
    Ok(TempDir { guard })
}

/// A registered temporary file, removed when dropped unless
/// [`persist`](TempFile::persist)ed or [`keep`](TempFile::keep)t.
#[derive(Debug)]
pub struct TempFile {
    file: File,
    guard: Guard,
}

impl TempFile {
    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.guard.path
    }
    /// The open file.
    pub fn as_file(&self) -> &File {
        &self.file
    }
    /// The open file, to write.
    pub fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }
    /// Renames the file to `dest` (replacing it) and forgets it; returns the
    /// open file. On error the file stays registered and is removed on drop.
    pub fn persist(self, dest: &Path) -> io::Result<File> {
        let TempFile { file, guard } = self;
        guard.persist(dest)?;
        Ok(file)
    }
    /// Renames the file to `dest` only when nothing is there (never
    /// replacing: [`crate::place::rename_new`]) and forgets it; returns the
    /// open file. On error (`AlreadyExists` when `dest` exists) the
    /// temporary is given back, still registered.
    pub fn persist_new(self, dest: &Path) -> Result<File, (io::Error, TempFile)> {
        let TempFile { file, guard } = self;
        match guard.persist_by(dest, &mut crate::place::rename_new) {
            Ok(_) => Ok(file),
            Err((e, guard)) => Err((e, TempFile { file, guard })),
        }
    }
    /// Forgets the file: it is no longer removed on drop or on a signal.
    pub fn keep(self) -> (File, PathBuf) {
        let TempFile { file, guard } = self;
        (file, guard.keep())
    }
}

impl io::Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Writes `bytes` as the file `path` in one step: a registered temporary
/// `.NAME.tmp-<pid>-<random>` beside it (the temporaries of dead runs are
/// collected first), synced, then renamed over `path`; the usual mode (0666
/// less the umask). A reader sees the previous file or the whole new one.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", path.display()))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.tmp-", temp_stem(&name.to_string_lossy()));
    let _ = collect_stale(dir, &prefix);
    let mut tmp = temp_file_in_mode(dir, &prefix, 0o666)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    let r = tmp.persist(path).map(drop);
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    r
}

/// Creates a registered file `PREFIX<pid>-<random>` in `parent`, open for
/// writing (mode 0600 on Unix).
pub fn temp_file_in(parent: &Path, prefix: &str) -> io::Result<TempFile> {
    temp_file_in_mode(parent, prefix, 0o600)
}

/// [`temp_file_in`] with the given creation mode (Unix; the umask applies).
pub fn temp_file_in_mode(parent: &Path, prefix: &str, mode: u32) -> io::Result<TempFile> {
    let _ = mode;
    let mut file = None;
    let guard = Guard::create(parent, prefix, Kind::File, &mut |p| {
        let mut o = fs::OpenOptions::new();
        o.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode);
        file = Some(o.open(p)?);
        Ok(())
    })?;
    match file {
        Some(file) => Ok(TempFile { file, guard }),
        None => Err(io::Error::other("temporary file not opened")),
    }
}

/// The registered paths (absolute), oldest first.
pub fn registered() -> Vec<PathBuf> {
    registry().entries.values().map(|(p, _)| p.clone()).collect()
}

/// Removes the registered paths for which `select` is true and forgets
/// them; returns how many were registered and selected. The registry stays
/// locked meanwhile (no entry is created or released concurrently).
/// Bounded: each path is removed at most three times (a writer may have
/// recreated part of it between the attempts).
pub fn remove_registered(select: &dyn Fn(&Path) -> bool) -> usize {
    let mut reg = registry();
    remove_locked(&mut reg, select)
}

fn remove_locked(reg: &mut Registry, select: &dyn Fn(&Path) -> bool) -> usize {
    let chosen: Vec<(u64, PathBuf, Kind)> = reg
        .entries
        .iter()
        .filter(|(_, (p, _))| select(p))
        .map(|(id, (p, k))| (*id, p.clone(), *k))
        .collect();
    for (id, path, kind) in &chosen {
        for _ in 0..3 {
            if remove(path, *kind).is_ok() {
                break;
            }
        }
        reg.entries.remove(id);
    }
    chosen.len()
}

/// The signal being handled, if any (only set by [`install_signal_handlers`]).
pub fn interrupted() -> Option<i32> {
    match INTERRUPTED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Blocks the calling thread for good when a signal is being handled (the
/// handling thread removes the temporaries and exits the process); returns
/// at once otherwise. Call it before creating paths inside a temporary, and
/// before printing a result or an error that an interruption may have caused.
pub fn checkpoint() {
    if interrupted().is_some() {
        loop {
            std::thread::park();
        }
    }
}

/// Installs the handlers of SIGINT, SIGTERM and SIGHUP (once; later calls do
/// nothing): on the first of them, a dedicated thread marks the process as
/// interrupted (see [`checkpoint`]), removes every registered temporary,
/// checks a few times over 50 ms that no writer recreated one (removing it
/// again), and exits the process with status 128 + the signal number.
/// The signal handler itself only records the signal (`signal-hook`).
#[cfg(unix)]
pub fn install_signal_handlers() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new().name("cleanup-on-signal".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            on_signal(sig);
        }
    })?;
    let _ = INSTALLED.set(());
    Ok(())
}

/// Without Unix signals there is nothing to install.
#[cfg(not(unix))]
pub fn install_signal_handlers() -> io::Result<()> {
    Ok(())
}

fn on_signal(sig: i32) -> ! {
    INTERRUPTED.store(sig, Ordering::SeqCst);
    let mut reg = registry();
    let all: Vec<(PathBuf, Kind)> = reg.entries.values().cloned().collect();
    remove_locked(&mut reg, &|_| true);
    // a thread between its last checkpoint and a create_dir_all may have
    // recreated a directory: look again, a bounded number of times
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(10));
        let left: Vec<&(PathBuf, Kind)> =
            all.iter().filter(|(p, _)| fs::symlink_metadata(p).is_ok()).collect();
        if left.is_empty() {
            break;
        }
        for (p, k) in left {
            let _ = remove(p, *k);
        }
    }
    // the registry stays locked: nothing new is created before the exit
    std::process::exit(128 + sig)
}

/// Whether a process with this pid exists; `None` when it cannot be told
/// (no `/proc`).
fn alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes the temporaries of `parent` named exactly `PREFIX<pid>-<16 hex>`
/// (see [`temp_name`]) whose process no longer exists and that carry the
/// proof that it created them ([`is_marked`]); returns the removed paths.
/// Their markers are removed after them, as are markers whose temporary is
/// already gone. Only directories and regular files are removed; symbolic
/// links and other file types are left, and removal never follows a link.
/// Entries without a valid marker, of this process, names without a pid,
/// and every entry when `/proc` is absent are left untouched. An unreadable
/// `parent` is an error; an entry that cannot be removed is skipped.
pub fn collect_stale(parent: &Path, prefix: &str) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let own = std::process::id();
    for e in fs::read_dir(parent)? {
        let Ok(e) = e else { continue };
        let name = e.file_name();
        // driven by the markers: a temporary is only ever removed with its proof
        let Some(temp) = name.to_str().and_then(|n| n.strip_suffix(MARKER_SUFFIX)) else {
            continue;
        };
        let Some(pid) = parse_pid(temp, prefix) else { continue };
        if pid == own || alive(pid) != Some(false) {
            continue;
        }
        let path = parent.join(temp);
        if !is_marked(&path, pid) {
            continue;
        }
        // symlink_metadata: the entry itself, never what a link points to
        let ok = match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let _ = remove_marker(&path);
                continue;
            }
            Err(_) => false,
            Ok(meta) if meta.is_dir() => crate::tree::remove_dir_all(&path).is_ok(),
            Ok(meta) if meta.is_file() => fs::remove_file(&path).is_ok(),
            Ok(_) => false,
        };
        if ok {
            let _ = remove_marker(&path);
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests;
