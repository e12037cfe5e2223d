//! Pinned Python workers: run Python from any Rust thread or async task, with deadlines,
//! cancellation and back-pressure.
//!
//! An [`Executor`] owns N OS threads dedicated to Python. Each keeps its own thread state (so
//! taking the GIL costs a restore/save pair) and runs one call at a time; calls wait in a
//! bounded queue. [`Executor::run`] blocks the calling thread; [`Executor::spawn`] returns a
//! [`Call`] future that works on any async runtime and never blocks the runtime's threads.
//!
//! # Deadlines and cancellation
//!
//! A call has a deadline (measured from when it starts running). When it passes — or when its
//! [`Call`] is dropped — the worker is interrupted: an asynchronous `pyhost.CallInterrupted`
//! exception (a `BaseException`, so `except Exception` does not swallow it) is raised in the
//! worker's Python code, which stops pure-Python loops within one switch interval, and
//! `time.sleep` (replaced at start by an interruptible version, see
//! [`Builder::interruptible_sleep`]) wakes at once. The caller gets [`Error::Timeout`] (or
//! [`Error::Cancelled`]) and the worker takes the next call.
//!
//! Waits that run no bytecode are woken too: an asyncio loop waiting in its selector has its
//! tasks cancelled, and a green thread of eventlet or gevent (after monkey patching) waiting
//! in its hub, in a sleep or on a socket, gets the exception thrown in by the hub. (Not in a
//! process that has subinterpreters: finding the wait means reading the worker's stack from
//! another thread, which is unsafe there.) [`Executor::spawn_coroutine`] runs coroutines on
//! a loop of the worker's own, where deadlines are timers.
//!
//! Code blocked in a C call that does not return to the interpreter (a lock, a socket without
//! timeout) cannot be interrupted: after a grace period the caller gets [`Error::Stuck`], the
//! worker is retired (it exits whenever its call returns) and a new worker takes its place, so
//! the pool keeps its size. Code that may block that way belongs in a worker process
//! ([`crate::process`]), which a deadline ends for certain.
//!
//! ```
//! # pyhost::initialize_once().unwrap();
//! use std::time::Duration;
//! let ex = pyhost::Executor::builder().workers(2).build()?;
//! assert_eq!(ex.run(|py| py.eval("6 * 7")?.extract::<i32>())?, 42);
//! let err = ex.run_timeout(Duration::from_millis(100), |py| py.exec("while True: pass")).unwrap_err();
//! assert!(matches!(err, pyhost::Error::Timeout { .. }));
//! ex.shutdown(pyhost::executor::ShutdownMode::Drain)?;
//! # Ok::<(), pyhost::Error>(())
//! ```

mod builder;
mod call;
mod coroutine;
mod place;
mod supervisor;
mod worker;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub use builder::Builder;
use call::{CANCELLED, CallCell, CallOf, Control, ControlRef, Phase, QUEUED, RUNNING, finish};
pub use call::{Call, block_on};
pub use place::Refusal;
use place::{Place, Placement};
use worker::worker_loop;
pub(crate) use worker::{CURRENT_WORKER, run_held};

use crate::{Error, Python, Result};

/// What [`Executor::shutdown`] does with calls that have not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Run every queued call, then stop.
    Drain,
    /// Cancel queued calls ([`Error::Cancelled`]) and interrupt running ones.
    Cancel,
}

/// A pool of threads dedicated to running Python. Cheap to clone (all clones share the pool);
/// the pool stops (cancelling what is left) when the last clone is dropped, or explicitly with
/// [`Executor::shutdown`].
#[derive(Clone)]
pub struct Executor {
    shared: Arc<Shared>,
    shut_down: Arc<AtomicBool>,
}

/// Counters and gauges an executor keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Worker threads in the pool.
    pub workers: usize,
    /// Calls waiting in the queue.
    pub queue_depth: usize,
    /// Calls running now.
    pub running: usize,
    /// Calls that ran to the end (successfully or not).
    pub calls_run: u64,
    /// Calls stopped at their deadline.
    pub timeouts: u64,
    /// Calls cancelled before or while running.
    pub cancelled: u64,
    /// Calls given up as stuck in native code.
    pub stuck: u64,
    /// Workers replaced because they were stuck.
    pub workers_replaced: u64,
    /// Total time workers waited for the GIL before running a call.
    pub gil_wait: Duration,
    /// Total time spent running calls.
    pub run_time: Duration,
    /// Workers running in a subinterpreter of their own.
    pub subinterpreters: usize,
    /// Workers of a pool with subinterpreters that run in the main interpreter instead
    /// ([`Refusal::MainInterpreter`]; [`Executor::refusal`] says why).
    pub in_main_interpreter: usize,
}

/// A worker's own counters: written by its thread alone, so two workers never contend for a
/// cache line; [`Executor::stats`] adds them up, and a worker adds them to the executor's
/// when it exits.
#[derive(Default)]
pub(crate) struct Counters {
    calls_run: AtomicU64,
    gil_wait_ns: AtomicU64,
    run_ns: AtomicU64,
}

impl Counters {
    /// Moves the counts to `into` (at the worker's exit).
    fn move_to(&self, into: &StatsInner) {
        let take = |c: &AtomicU64| c.swap(0, Ordering::Relaxed);
        into.calls_run
            .fetch_add(take(&self.calls_run), Ordering::Relaxed);
        into.gil_wait_ns
            .fetch_add(take(&self.gil_wait_ns), Ordering::Relaxed);
        into.run_ns.fetch_add(take(&self.run_ns), Ordering::Relaxed);
    }
}

#[derive(Default)]
struct StatsInner {
    calls_run: AtomicU64,
    timeouts: AtomicU64,
    cancelled: AtomicU64,
    stuck: AtomicU64,
    workers_replaced: AtomicU64,
    gil_wait_ns: AtomicU64,
    run_ns: AtomicU64,
}

/// A job's body: it runs with the GIL held, counting what it ran in its worker's counters.
type RunJob = Box<dyn FnOnce(Python<'_>, &Counters) + Send>;

/// A queued call, type-erased.
pub(crate) struct Job {
    control: ControlRef,
    /// A coroutine call's body; a plain call's closure is in its cell (`control.run`).
    run: Option<RunJob>,
    /// It starts a coroutine on the worker's event loop (and ends there, later).
    coroutine: bool,
}

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
    space_wakers: Vec<Waker>,
    /// Workers waiting for a job: a submitter wakes one only when there is one (a
    /// `notify_one` is a futex system call even when nobody waits).
    idle: usize,
    /// Submitters blocked in `enqueue_blocking` until there is room.
    full_waiters: usize,
}

/// What the executor's handles, workers and supervisor share.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    not_empty: Condvar,
    not_full: Condvar,
    capacity: usize,
    workers: Mutex<Vec<Arc<Worker>>>,
    stats: StatsInner,
    default_timeout: Option<Duration>,
    grace: Duration,
    name: String,
    supervisor: supervisor::Supervisor,
    worker_seq: AtomicUsize,
    placement: Placement,
    /// Why the first worker that fell back to the main interpreter did.
    refusal: Mutex<Option<String>>,
    /// Workers running their event loop now.
    looping: AtomicUsize,
}

/// One worker thread, as the supervisor sees it.
pub(crate) struct Worker {
    /// `PyThread_get_thread_ident()` of the thread, for `PyThreadState_SetAsyncExc`.
    ident: AtomicU64,
    /// The call running now.
    current: Mutex<Option<ControlRef>>,
    /// Woken to interrupt an interruptible sleep.
    wake: Condvar,
    /// Stuck: exit after the current call returns.
    retired: AtomicBool,
    /// The thread ended.
    exited: Mutex<bool>,
    exited_cv: Condvar,
    /// The thread, joined at shutdown once it exited: its thread-local destructors (CPython's
    /// extension modules', OpenSSL's) must be done before the process may exit, or they race
    /// with the libraries' exit handlers (found: `OPENSSL_cleanup` against a worker's
    /// thread-exit cleanup, a heap corruption at exit after asyncio ran on a worker).
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Runs code in the worker's subinterpreter from other threads (the interrupter).
    #[cfg(py_3_12)]
    remote: Mutex<Option<crate::raw::interp::Remote>>,
    /// It runs in its own subinterpreter.
    in_sub: AtomicBool,
    /// It belongs to a pool with subinterpreters but runs in the main interpreter.
    in_main: AtomicBool,
    /// Its event loop's wake-ups and running coroutine calls, once it ran one.
    lane: coroutine::LaneCell,
    /// What it ran, and how long it waited for the GIL and ran.
    counters: Counters,
}

/// Where a new worker reports that it is ready (or why it is not).
type Ready = Option<std::sync::mpsc::Sender<Result<()>>>;

impl Shared {
    fn spawn_worker(self: &Arc<Self>, ready: Ready) {
        let worker = Arc::new(Worker {
            ident: AtomicU64::new(0),
            current: Mutex::new(None),
            wake: Condvar::new(),
            retired: AtomicBool::new(false),
            exited: Mutex::new(false),
            exited_cv: Condvar::new(),
            thread: Mutex::new(None),
            #[cfg(py_3_12)]
            remote: Mutex::new(None),
            in_sub: AtomicBool::new(false),
            in_main: AtomicBool::new(false),
            lane: coroutine::LaneCell::new(),
            counters: Counters::default(),
        });
        self.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(worker.clone());
        let shared = self.clone();
        let n = self.worker_seq.fetch_add(1, Ordering::Relaxed);
        let w = worker.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{}-{n}", self.name))
            .spawn(move || worker_loop(&shared, &worker, ready));
        match spawned {
            Ok(handle) => *w.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle),
            Err(e) => eprintln!("pyhost: could not start an executor worker thread: {e}"),
        }
    }

    /// Queues a job if there is room; otherwise registers `cx`'s waker for when there is.
    fn try_enqueue_or_wait(&self, job: &mut Option<Job>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.closed {
            return Poll::Ready(Err(Error::ExecutorClosed));
        }
        if q.jobs.len() >= self.capacity {
            q.space_wakers.push(cx.waker().clone());
            return Poll::Pending;
        }
        if let Some(j) = job.take() {
            self.push(q, j);
        }
        Poll::Ready(Ok(()))
    }

    /// Queues `job` (the queue has room) and wakes a worker for it: an idle one, and the
    /// looping ones when it is a coroutine call or nobody else could take it.
    fn push(&self, mut q: std::sync::MutexGuard<'_, Queue>, job: Job) {
        let coroutine = job.coroutine;
        q.jobs.push_back(job);
        let idle = q.idle;
        drop(q);
        if idle > 0 {
            self.not_empty.notify_one();
        }
        if self.looping.load(Ordering::SeqCst) > 0 && (coroutine || idle == 0) {
            let workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            for lane in workers.iter().filter_map(|w| w.lane.get()) {
                if lane.is_looping() {
                    lane.wake();
                }
            }
        }
    }

    /// For a worker running its loop: the coroutine call at the front of the queue.
    fn take_coroutine(&self) -> coroutine::Taken {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        match q.jobs.front() {
            Some(j) if j.coroutine => {
                let job = q.jobs.pop_front().expect("a front job");
                self.took(q);
                coroutine::Taken::Job(job)
            }
            Some(_) if q.idle == 0 => coroutine::Taken::PlainWaiting,
            _ => coroutine::Taken::Nothing,
        }
    }

    /// After a job left the queue: room for the next.
    #[inline]
    fn took(&self, mut q: std::sync::MutexGuard<'_, Queue>) {
        if q.full_waiters == 0 && q.space_wakers.is_empty() {
            return; // nobody waits for room: the common case
        }
        let wakers = std::mem::take(&mut q.space_wakers);
        let blocked = q.full_waiters > 0;
        drop(q);
        if blocked {
            self.not_full.notify_one();
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Queues a job, blocking while the queue is full.
    fn enqueue_blocking(&self, job: Job) -> Result<()> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if q.closed {
                return Err(Error::ExecutorClosed);
            }
            if q.jobs.len() < self.capacity {
                break;
            }
            q.full_waiters += 1;
            q = self.not_full.wait(q).unwrap_or_else(|e| e.into_inner());
            q.full_waiters -= 1;
        }
        self.push(q, job);
        Ok(())
    }

    /// Takes the next job, waiting for one when `wait`; `None` once the queue is closed and
    /// empty (or, without `wait`, when it is empty).
    fn next_job(&self, worker: &Worker, wait: bool) -> Option<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if worker.retired.load(Ordering::Acquire) {
                return None;
            }
            if let Some(job) = q.jobs.pop_front() {
                self.took(q);
                return Some(job);
            }
            if q.closed || !wait {
                return None;
            }
            q.idle += 1;
            q = self.not_empty.wait(q).unwrap_or_else(|e| e.into_inner());
            q.idle -= 1;
        }
    }

    /// Cancels a call (its `Call` was dropped, or the executor shuts down).
    pub(crate) fn cancel(&self, control: &ControlRef) {
        self.cancel_with(control, &|e| control.resolve(e));
    }

    /// [`Shared::cancel`] with the control block and the way to end the call apart (a typed
    /// call ends itself).
    pub(crate) fn cancel_with(&self, control: &Control, resolve: &dyn Fn(Error)) {
        if control.transition(QUEUED, CANCELLED) {
            // The worker that dequeues it skips it.
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
            resolve(Error::Cancelled);
        } else if control.transition(RUNNING, CANCELLED) {
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
            match control.on_cancel.get() {
                Some(cancel_task) => cancel_task(),
                None => self.supervisor.notify(),
            }
        }
    }

    fn stats(&self) -> Stats {
        let workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        let running = workers
            .iter()
            .filter(|w| {
                w.current
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some()
            })
            .count();
        let s = &self.stats;
        let sum = |own: &AtomicU64, of: fn(&Counters) -> &AtomicU64| {
            own.load(Ordering::Relaxed)
                + workers
                    .iter()
                    .map(|w| of(&w.counters).load(Ordering::Relaxed))
                    .sum::<u64>()
        };
        Stats {
            workers: workers.len(),
            queue_depth: self
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .jobs
                .len(),
            running,
            calls_run: sum(&s.calls_run, |c| &c.calls_run),
            timeouts: s.timeouts.load(Ordering::Relaxed),
            cancelled: s.cancelled.load(Ordering::Relaxed),
            stuck: s.stuck.load(Ordering::Relaxed),
            workers_replaced: s.workers_replaced.load(Ordering::Relaxed),
            gil_wait: Duration::from_nanos(sum(&s.gil_wait_ns, |c| &c.gil_wait_ns)),
            run_time: Duration::from_nanos(sum(&s.run_ns, |c| &c.run_ns)),
            subinterpreters: workers
                .iter()
                .filter(|w| w.in_sub.load(Ordering::Acquire))
                .count(),
            in_main_interpreter: workers
                .iter()
                .filter(|w| w.in_main.load(Ordering::Acquire))
                .count(),
        }
    }
}

impl Executor {
    fn make<T, F>(&self, timeout: Option<Duration>, f: F) -> (Job, Arc<dyn CallOf<T>>)
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let cell = CallCell::plain(timeout, f);
        let job = Job {
            control: ControlRef::of(&cell),
            run: None,
            coroutine: false,
        };
        (job, cell)
    }

    /// Runs `f` on a worker and blocks until it returns, with the default deadline. Not for
    /// async code: use [`Executor::spawn`] there.
    ///
    /// # Errors
    /// What `f` returns; [`Error::Timeout`], [`Error::Stuck`], [`Error::ExecutorClosed`].
    ///
    /// # Panics
    /// If `f` panics, the panic is resumed here.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run_inner(self.shared.default_timeout, f)
    }

    /// [`Executor::run`] with a deadline of `timeout` from the start of the call.
    ///
    /// # Errors
    /// As [`Executor::run`].
    pub fn run_timeout<T, F>(&self, timeout: Duration, f: F) -> Result<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run_inner(Some(timeout), f)
    }

    fn run_inner<T, F>(&self, timeout: Option<Duration>, f: F) -> Result<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (job, cell) = self.make(timeout, f);
        self.shared.enqueue_blocking(job)?;
        finish(cell.slot().wait())
    }

    /// Submits `f` with the default deadline and returns its [`Call`] future. The call is
    /// queued at once; when the queue is full, the future waits for room (when polled) before
    /// queuing it.
    pub fn spawn<T, F>(&self, f: F) -> Call<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_inner(self.shared.default_timeout, f)
    }

    /// [`Executor::spawn`] with a deadline of `timeout` from the start of the call.
    pub fn spawn_timeout<T, F>(&self, timeout: Duration, f: F) -> Call<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_inner(Some(timeout), f)
    }

    fn spawn_inner<T, F>(&self, timeout: Option<Duration>, f: F) -> Call<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (job, cell) = self.make(timeout, f);
        self.submit(job, cell)
    }

    /// Queues `job` now when there is room; otherwise its future waits for room when polled.
    fn submit<T>(&self, job: Job, cell: Arc<dyn CallOf<T>>) -> Call<T> {
        let q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if !q.closed && q.jobs.len() < self.shared.capacity {
            self.shared.push(q, job);
            return Call {
                phase: Phase::Waiting {
                    cell,
                    shared: self.shared.clone(),
                },
            };
        }
        drop(q);
        Call {
            phase: Phase::Submitting(Box::new(call::Submitting {
                shared: self.shared.clone(),
                job: Some(job),
                cell,
            })),
        }
    }

    /// Queues `f` now, or fails at once with [`Error::QueueFull`] when the queue is full.
    ///
    /// # Errors
    /// [`Error::QueueFull`], [`Error::ExecutorClosed`].
    pub fn try_spawn<T, F>(&self, f: F) -> Result<Call<T>>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (job, cell) = self.make(self.shared.default_timeout, f);
        {
            let q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.closed {
                return Err(Error::ExecutorClosed);
            }
            if q.jobs.len() >= self.shared.capacity {
                return Err(Error::QueueFull {
                    capacity: self.shared.capacity,
                });
            }
            self.shared.push(q, job);
        }
        Ok(Call {
            phase: Phase::Waiting {
                cell,
                shared: self.shared.clone(),
            },
        })
    }

    /// The executor's counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Why workers of this pool run in the main interpreter instead of their own
    /// subinterpreter ([`Refusal::MainInterpreter`]), if any does.
    pub fn refusal(&self) -> Option<String> {
        self.shared
            .refusal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the executor: refuses new calls, drains or cancels the queued ones, interrupts
    /// running ones when cancelling, and joins the workers. A worker stuck in native code is
    /// left behind (detached) after the grace period rather than waited for. Idempotent.
    ///
    /// # Errors
    /// [`Error::Stuck`] when a worker did not stop within the grace period.
    pub fn shutdown(&self, mode: ShutdownMode) -> Result<()> {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let cancelled: Vec<Job> = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.closed = true;
            let wakers = std::mem::take(&mut q.space_wakers);
            wakers.into_iter().for_each(Waker::wake);
            match mode {
                ShutdownMode::Drain => Vec::new(),
                ShutdownMode::Cancel => q.jobs.drain(..).collect(),
            }
        };
        for job in cancelled {
            self.shared.cancel(&job.control);
        }
        self.shared.not_empty.notify_all();
        self.shared.not_full.notify_all();
        let workers: Vec<Arc<Worker>> = self
            .shared
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if mode == ShutdownMode::Cancel {
            for w in &workers {
                let current = w.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(c) = current {
                    self.shared.cancel(&c);
                }
                for c in w.lane.get().map(|l| l.running()).unwrap_or_default() {
                    self.shared.cancel(&c);
                }
            }
        }
        // Draining may take as long as the queued calls do; cancelling at most the grace.
        let limit = match mode {
            ShutdownMode::Drain => None,
            ShutdownMode::Cancel => Some(Instant::now() + self.shared.grace * 2),
        };
        let mut stuck = None;
        for w in &workers {
            let mut exited = w.exited.lock().unwrap_or_else(|e| e.into_inner());
            while !*exited {
                match limit {
                    None => exited = w.exited_cv.wait(exited).unwrap_or_else(|e| e.into_inner()),
                    Some(l) => {
                        let now = Instant::now();
                        if now >= l {
                            stuck = Some(Error::Stuck {
                                after: self.shared.grace * 2,
                            });
                            break;
                        }
                        exited = w
                            .exited_cv
                            .wait_timeout(exited, l - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
            }
        }
        // Threads that exited are joined; a stuck one stays detached.
        for w in &workers {
            if !*w.exited.lock().unwrap_or_else(|e| e.into_inner()) {
                continue;
            }
            let handle = w.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(h) = handle
                && h.thread().id() != std::thread::current().id()
            {
                let _ = h.join();
            }
        }
        self.shared.supervisor.stop();
        stuck.map_or(Ok(()), Err)
    }

    /// [`Executor::shutdown`], then [`crate::shutdown`] (finalizes the interpreter).
    ///
    /// # Errors
    /// As both; when a worker is stuck the interpreter is not finalized (that would hang).
    pub fn shutdown_and_finalize(&self, mode: ShutdownMode) -> Result<()> {
        self.shutdown(mode)?;
        crate::shutdown_timeout(self.shared.grace * 2)
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // The last handle: stop the pool (the supervisor holds no handle).
        if Arc::strong_count(&self.shut_down) == 1 {
            let _ = self.shutdown(ShutdownMode::Cancel);
        }
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("stats", &self.stats())
            .finish()
    }
}
