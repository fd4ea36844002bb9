//! The threads that runs execute on, kept between runs.
//!
//! Every run gets a thread of its own (so the caller can be the watchdog), but starting a thread
//! costs more than a short simulated trial. Finished threads wait here for the next run and end
//! after a few idle seconds. A run that never finishes keeps its thread, which simply never
//! comes back; the pool starts another when it needs one.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// Work for a pool thread.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long an idle thread waits for work before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(5);

struct Pool {
    jobs: Sender<Job>,
    waiting: Receiver<Job>,
    /// Threads waiting for a job and not yet promised one.
    idle: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, waiting) = crossbeam_channel::unbounded();
        Pool {
            jobs,
            waiting,
            idle: AtomicUsize::new(0),
        }
    })
}

/// Takes one idle thread's place, if there is one.
fn claim_idle(pool: &Pool) -> bool {
    pool.idle
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

/// Runs `job` on a pool thread: an idle one, or a new one when none is idle.
// The pool is what stands behind every run: the one place that starts run threads.
#[allow(clippy::disallowed_methods)]
pub(crate) fn execute(job: Job) -> std::io::Result<()> {
    let pool = pool();
    if claim_idle(pool) {
        // An idle thread was promised this job; the channel cannot be closed (the pool owns
        // both ends), so the send succeeds.
        let _ = pool.jobs.send(job);
        return Ok(());
    }
    std::thread::Builder::new()
        .name("lab-run".into())
        .spawn(move || worker(pool, job))
        .map(|_| ())
}

fn worker(pool: &'static Pool, first: Job) {
    let mut job = first;
    loop {
        // A job that panics outside the executor's own catch (it reports those) must not take
        // the thread's later runs with it; its caller sees the result channel close.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        pool.idle.fetch_add(1, Ordering::AcqRel);
        job = loop {
            match pool.waiting.recv_timeout(IDLE_EXIT) {
                Ok(next) => break next,
                Err(RecvTimeoutError::Timeout) => {
                    // Leave only if no job was promised to an idle thread meanwhile.
                    if claim_idle(pool) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
    }
}
