//! A thread that yields, with the helper threads it started, to the rest of
//! the process for a while: the archive yields to SQLite until the
//! database is complete (see [`crate::archive::Gate`]).
//!
//! Linux scheduling priority is per thread and a new thread inherits its
//! creator's. The helpers (zstd's workers, started by the thread's first
//! write to the compressor) are found as the threads of the process that
//! were not there before they started and carry the thread's name, which
//! they inherit. Best effort throughout: lowering a priority is always
//! allowed, raising it back needs the permission (root, or `RLIMIT_NICE`);
//! without it the threads stay lower, as they would have without
//! [`Lowered`] ending.

use rustix::process::{getpid, getpriority_process, setpriority_process, Pid};
use std::collections::BTreeSet;

/// Nice levels by which a yielding thread is lowered.
pub const YIELD: i32 = 10;

/// The process's threads, by id (empty when `/proc` cannot be read).
pub fn threads() -> BTreeSet<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return BTreeSet::new() };
    dir.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect()
}

fn name_of(tid: i32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).ok()?;
    Some(comm.trim_end_matches('\n').to_string())
}

/// The calling thread and the helpers it started since `before` was
/// taken ([`threads`]), [`YIELD`] nice levels below the process until this
/// is dropped.
#[derive(Debug)]
pub struct Lowered {
    tids: Vec<Pid>,
    /// The process's priority (its main thread's), given back on drop.
    base: i32,
}

impl Lowered {
    /// Lowers the calling thread and its helpers started since `before`.
    pub fn start(before: &BTreeSet<i32>) -> Lowered {
        let me = rustix::thread::gettid();
        let name = name_of(me.as_raw_nonzero().get());
        let helpers = threads()
            .into_iter()
            .filter(|t| !before.contains(t) && *t != me.as_raw_nonzero().get())
            .filter(|t| name.is_some() && name_of(*t) == name)
            .filter_map(Pid::from_raw);
        let tids: Vec<Pid> = std::iter::once(me).chain(helpers).collect();
        let base = getpriority_process(Some(getpid())).unwrap_or(0);
        for t in &tids {
            let _ = setpriority_process(Some(*t), (base + YIELD).min(19));
        }
        Lowered { tids, base }
    }

    /// The threads lowered: the caller first.
    #[cfg(test)]
    pub fn threads(&self) -> &[Pid] {
        &self.tids
    }
}

impl Drop for Lowered {
    fn drop(&mut self) {
        for t in &self.tids {
            // a helper that ended meanwhile is no longer there: ignored
            let _ = setpriority_process(Some(*t), self.base);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn nice(t: Pid) -> i32 {
        getpriority_process(Some(t)).unwrap()
    }

    /// A thread lowers itself and the helper it started (which inherited
    /// its name), not a thread that was there before nor one of another
    /// name; dropping gives the priority back where that is permitted
    /// (root), and leaves both lowered where it is not.
    #[test]
    fn lowers_the_thread_and_its_helpers_then_gives_their_priority_back() {
        // a thread of the same name that was there before
        let (other_tx, other_rx) = mpsc::channel::<()>();
        let (older_tx, older_rx) = mpsc::channel();
        let older = std::thread::Builder::new()
            .name("yielder".into())
            .spawn(move || {
                older_tx.send(rustix::thread::gettid()).unwrap();
                let _ = other_rx.recv();
            })
            .unwrap();
        let older_tid = older_rx.recv().unwrap();
        let base = nice(getpid());
        let report = std::thread::Builder::new()
            .name("yielder".into())
            .spawn(move || {
                let before = threads();
                let (stop_tx, stop_rx) = mpsc::channel::<()>();
                let (tid_tx, tid_rx) = mpsc::channel();
                // a helper inherits the creator's name, as zstd's workers do
                let helper = std::thread::spawn(move || {
                    tid_tx.send(rustix::thread::gettid()).unwrap();
                    let _ = stop_rx.recv();
                });
                let helper_tid = tid_rx.recv().unwrap();
                let me = rustix::thread::gettid();
                let lowered = Lowered::start(&before);
                let during = (lowered.threads().to_vec(), nice(me), nice(helper_tid));
                drop(lowered);
                let after = (nice(me), nice(helper_tid));
                stop_tx.send(()).unwrap();
                helper.join().unwrap();
                (me, helper_tid, during, after)
            })
            .unwrap()
            .join()
            .unwrap();
        let (me, helper, (lowered, me_during, helper_during), after) = report;
        assert_eq!(lowered, vec![me, helper]);
        assert_eq!((me_during, helper_during), (base + YIELD, base + YIELD));
        if thrum_io::testing::privileged("giving a thread's priority back") {
            assert_eq!(after, (base, base));
        } else {
            assert_eq!(after, (base + YIELD, base + YIELD), "without the permission, still lower");
        }
        assert_eq!(nice(older_tid), base, "a thread that was there before is untouched");
        other_tx.send(()).unwrap();
        older.join().unwrap();
    }
}
