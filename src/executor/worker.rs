//! A worker thread's life: its loop over the queue, and running a job with the GIL held (a
//! run of queued jobs under one acquisition).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::call::{ControlRef, DONE, QUEUED, RUNNING};
use super::place::Place;
use super::{Job, Ready, Shared, Worker, coroutine};
use crate::{Error, Python, Result, raw};

thread_local! {
    /// The worker running on this thread, for the interruptible sleep.
    pub(crate) static CURRENT_WORKER: std::cell::RefCell<Option<Arc<Worker>>> = const { std::cell::RefCell::new(None) };
}

pub(super) fn worker_loop(shared: &Arc<Shared>, worker: &Arc<Worker>, ready: Ready) {
    worker.ident.store(raw::thread_ident(), Ordering::Release);
    CURRENT_WORKER.with(|w| *w.borrow_mut() = Some(worker.clone()));
    match Place::make(shared, worker) {
        Ok(place) => {
            worker
                .in_sub
                .store(!matches!(place, Place::Main), Ordering::Release);
            if let Some(r) = ready {
                let _ = r.send(Ok(()));
            }
            loop {
                // While coroutines of this worker are pending, it runs their loop, and takes
                // plain calls only when the loop steps out for one.
                let looping = worker.lane.get().is_some_and(|l| l.pending() > 0);
                if looping {
                    coroutine::run_loop(shared, worker, &place);
                }
                let Some(job) = shared.next_job(worker, !looping) else {
                    if looping && !worker.retired.load(Ordering::Acquire) {
                        continue;
                    }
                    break;
                };
                run_job(shared, worker, &place, job);
                if worker.retired.load(Ordering::Acquire) {
                    break;
                }
            }
            coroutine::close(&place);
            #[cfg(py_3_12)]
            worker
                .remote
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            // The worker's subinterpreter, if it has one, ends here, with `place`.
        }
        Err(e) => match ready {
            Some(r) => {
                let _ = r.send(Err(e));
            }
            None => eprintln!("pyhost: an executor worker could not start: {e}"),
        },
    }
    worker.in_sub.store(false, Ordering::Release);
    CURRENT_WORKER.with(|w| *w.borrow_mut() = None);
    // Delete this worker's thread state before saying it exited: the interpreter may be
    // finalized right after, and `threading` waits there for the state of a thread that
    // imported it.
    crate::gil::release_thread_state();
    worker.counters.move_to(&shared.stats);
    *worker.exited.lock().unwrap_or_else(|e| e.into_inner()) = true;
    worker.exited_cv.notify_all();
}

/// How long a worker keeps the GIL for the jobs queued behind the one it took it for. Taking
/// the GIL once for a run of queued calls saves a hand-over per call at saturation; the bound
/// keeps other threads' waits for the GIL short (CPython's own switch interval is 5 ms).
const KEEP_GIL_FOR: u64 = Duration::from_micros(200).as_nanos() as u64;

fn run_job(shared: &Shared, worker: &Worker, place: &Place, job: Job) {
    if !job.control.transition(QUEUED, RUNNING) {
        return; // cancelled while queued: already resolved
    }
    let waited = raw::os::monotonic_nanos();
    let (control, coroutine) = (job.control.clone(), job.coroutine);
    let outcome = place.with_gil(|py| {
        let got_gil = raw::os::monotonic_nanos();
        add_nanos(&worker.counters.gil_wait_ns, got_gil.saturating_sub(waited));
        let (ran, ended) = run_started(shared, worker, job, got_gil, py);
        finish_job(shared, &control, coroutine, Ok(ran));
        if !coroutine {
            run_queued(shared, worker, ended, py);
        }
        Ok(())
    });
    if let Err(e) = outcome {
        finish_job(shared, &control, coroutine, Err(e));
    }
}

/// Runs the calls queued behind the one the GIL was taken for, under the same acquisition,
/// until the queue is empty, a coroutine call comes (the worker's loop takes over from
/// there), or [`KEEP_GIL_FOR`] has passed since `since`. Each call starts when the one
/// before it ended: one clock read a call.
fn run_queued(shared: &Shared, worker: &Worker, since: u64, py: Python<'_>) {
    let mut now = since;
    while now.saturating_sub(since) < KEEP_GIL_FOR && !worker.retired.load(Ordering::Acquire) {
        let Some(next) = shared.next_job(worker, false) else {
            return;
        };
        let coroutine = next.coroutine;
        match run_held_at(shared, worker, next, now, py) {
            Some(ended) if !coroutine => now = ended,
            Some(_) => return,
            None => {}
        }
    }
}

/// Runs a job on a worker that holds the GIL already (its event loop took the job).
pub(crate) fn run_held(shared: &Shared, worker: &Worker, job: Job, py: Python<'_>) {
    run_held_at(shared, worker, job, raw::os::monotonic_nanos(), py);
}

/// [`run_held`] for a job starting at `now`; when it ended, unless it was cancelled before
/// (times in [`raw::os::monotonic_nanos`]).
fn run_held_at(
    shared: &Shared,
    worker: &Worker,
    job: Job,
    now: u64,
    py: Python<'_>,
) -> Option<u64> {
    if !job.control.transition(QUEUED, RUNNING) {
        return None;
    }
    let (control, coroutine) = (job.control.clone(), job.coroutine);
    let (ran, ended) = run_started(shared, worker, job, now, py);
    finish_job(shared, &control, coroutine, Ok(ran));
    Some(ended)
}

type Ran = std::thread::Result<()>;

fn add_nanos(counter: &std::sync::atomic::AtomicU64, nanos: u64) {
    counter.fetch_add(nanos, Ordering::Relaxed);
}

/// The part of running a job that needs the GIL: the worker's current call, and its run time
/// from `started` (now) to when it ended. Returns how it ran and when it ended.
fn run_started(
    shared: &Shared,
    worker: &Worker,
    job: Job,
    started: u64,
    py: Python<'_>,
) -> (Ran, u64) {
    let Job { control, run, .. } = job;
    control.start(started);
    // Published with the GIL held: the interrupter checks it with the GIL held too.
    *worker.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(control.clone());
    if control.timeout.is_some() {
        shared.supervisor.notify();
    }
    // A coroutine call's body is boxed in its job; a plain call's closure is in its cell.
    let r = catch_unwind(AssertUnwindSafe(|| match run {
        Some(run) => run(py, &worker.counters),
        None => control.run(py, &worker.counters),
    }));
    *worker.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    if control.async_exc_sent.load(Ordering::Acquire) {
        // An interruption may still be pending for this thread: clear it so it cannot hit
        // the next call.
        raw::set_async_exc(py, worker.ident.load(Ordering::Acquire), None);
    }
    let ended = raw::os::monotonic_nanos();
    add_nanos(&worker.counters.run_ns, ended.saturating_sub(started));
    (r, ended)
}

/// Ends a job's run: a panic of pyhost's own, or the interpreter's error, goes to the caller.
/// A plain call's job ended it already (its result, or the error of a deadline or a
/// cancellation); a coroutine call goes on in its worker's loop (or its job ended it).
#[inline]
fn finish_job(shared: &Shared, control: &ControlRef, coroutine: bool, outcome: Result<Ran>) {
    if !matches!(outcome, Ok(Ok(()))) {
        job_failed(shared, control, coroutine, outcome);
    }
}

/// [`finish_job`] when the job did not return normally.
#[cold]
#[inline(never)]
fn job_failed(shared: &Shared, control: &ControlRef, coroutine: bool, outcome: Result<Ran>) {
    let ends_here = !coroutine || outcome.is_err();
    match outcome {
        Ok(Ok(())) => return,
        // The job's own closure catches its panics; this is a panic in pyhost itself.
        Ok(Err(payload)) => control.resolve(Error::runtime_error(format!(
            "executor worker failed: {}",
            crate::raw::entry::panic_message(&*payload)
        ))),
        Err(e) => control.resolve(e),
    }
    if ends_here && control.transition(RUNNING, DONE) {
        shared.stats.calls_run.fetch_add(1, Ordering::Relaxed);
    }
}
