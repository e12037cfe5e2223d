//! The pool side: configuration, calls, the queue, crash accounting.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::Task;
use super::slot::{CallSpec, Slot, queue_loop};
use super::task::decode;
use crate::conversion::FromPythonOwned;
use crate::{Error, Result};

/// Configuration for [`ProcessPool::builder`].
#[derive(Debug, Clone)]
#[must_use = "call .build() to start the pool"]
pub struct ProcessBuilder {
    pub(super) workers: usize,
    pub(super) grace: Duration,
    pub(super) start_timeout: Duration,
    pub(super) backoff: (Duration, Duration),
    pub(super) max_restarts: (usize, Duration),
    pub(super) cooldown: Duration,
    pub(super) memory_limit: Option<u64>,
    pub(super) cgroup_memory: Option<u64>,
    pub(super) max_calls: Option<usize>,
    pub(super) program: Option<PathBuf>,
    pub(super) args: Vec<String>,
    pub(super) handlers: Vec<(String, MessageHandler)>,
}

/// What receives a worker's messages on one topic ([`ProcessBuilder::on_message`]).
#[derive(Clone)]
pub(super) struct MessageHandler(Arc<HandlerFn>);

type HandlerFn = dyn Fn(&[u8]) + Send + Sync;

impl std::fmt::Debug for MessageHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageHandler")
    }
}

impl ProcessBuilder {
    /// How many worker processes (default 2).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// How long a worker interrupted at a deadline may take to answer before it is killed
    /// (default 2 s).
    pub fn grace(mut self, t: Duration) -> Self {
        self.grace = t;
        self
    }

    /// The wait before starting a worker again after a crash: `base`, doubled with each
    /// crash in a row, at most `cap` (default 100 ms and 10 s). A call that succeeds resets it.
    pub fn restart_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff = (base, cap.max(base));
        self
    }

    /// The circuit breaker: more than `n` crashes within `window` (default 5 within 60 s)
    /// and calls fail at once with [`Error::CircuitOpen`] for the
    /// [cool-down](ProcessBuilder::cooldown); so do the calls queued then.
    pub fn max_restarts(mut self, n: usize, window: Duration) -> Self {
        self.max_restarts = (n, window);
        self
    }

    /// How long the circuit stays open (default 30 s); then calls start workers again.
    pub fn cooldown(mut self, t: Duration) -> Self {
        self.cooldown = t;
        self
    }

    /// Caps each worker's address space at `bytes` (`RLIMIT_AS`, set by the worker on itself
    /// before Python starts): an allocation past it raises `MemoryError` in the call, and the
    /// worker carries on. Address space counts more than the memory used (libraries, thread
    /// stacks, reserved arenas): leave room, a few hundred MiB above what Python itself needs.
    /// Emulators such as qemu-user ignore it.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Puts each worker in a cgroup v2 of its own with `memory.max` = `bytes`: the kernel
    /// counts everything the worker maps and kills it past the cap (the call fails with
    /// [`Error::WorkerCrashed`], signal 9, its stderr saying the cap was reached), where
    /// [`memory_limit`](ProcessBuilder::memory_limit) gives Python a `MemoryError` instead.
    /// Needs a cgroup2 hierarchy with the memory controller delegated to the host's cgroup
    /// (systemd: `Delegate=yes`; containers: a writable cgroup namespace).
    ///
    /// [`build`](ProcessBuilder::build) fails with [`Error::Unsupported`] saying what is
    /// missing when the host does not allow it.
    pub fn cgroup_memory_max(mut self, bytes: u64) -> Self {
        self.cgroup_memory = Some(bytes);
        self
    }

    /// Replaces a worker after it has answered `n` calls (a leaking check is reset this way).
    pub fn max_calls_per_worker(mut self, n: usize) -> Self {
        self.max_calls = Some(n.max(1));
        self
    }

    /// Receives what workers send on `topic` with [`send_to_host`](super::send_to_host),
    /// while they run a call: how a Rust function running in a worker reaches the host (the
    /// agent's `aggregator` hands each submission over this way). Messages arrive in the order
    /// a worker sent them, before the answer of the call that sent them; those of a worker
    /// that crashes are delivered up to the crash. `handler` runs on the thread waiting for
    /// the call: keep it short and never block in it.
    ///
    /// ```no_run
    /// # pyhost::initialize().unwrap();
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = seen.clone();
    /// let pool = pyhost::process::ProcessPool::builder()
    ///     .on_message("log", move |line| sink.lock().unwrap().push(line.to_vec()))
    ///     .build()?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn on_message(
        mut self,
        topic: &str,
        handler: impl Fn(&[u8]) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.retain(|(t, _)| t != topic);
        self.handlers
            .push((topic.to_owned(), MessageHandler(Arc::new(handler))));
        self
    }

    /// How long a new worker may take to connect (default 30 s).
    pub fn start_timeout(mut self, t: Duration) -> Self {
        self.start_timeout = t;
        self
    }

    /// The program to start as a worker, with its arguments (default: this program, no
    /// arguments). It must call [`serve_if_worker`](super::serve_if_worker) before anything
    /// else; tests use it to
    /// start their own binary on one test.
    pub fn command<I, S>(mut self, program: impl Into<PathBuf>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.program = Some(program.into());
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Starts the pool. Workers are started when calls need them.
    ///
    /// # Errors
    /// When this program's path cannot be found (and none was given);
    /// [`Error::Unsupported`] when a [cgroup memory cap](ProcessBuilder::cgroup_memory_max)
    /// was asked for and the host does not allow it.
    pub fn build(self) -> Result<ProcessPool> {
        let cgroup_parent = match self.cgroup_memory {
            Some(_) => Some(
                super::cgroup::Cgroup::parent().map_err(|why| Error::Unsupported {
                    message: format!("a cgroup memory cap for worker processes: {why}"),
                })?,
            ),
            None => None,
        };
        let program = match self.program.clone() {
            Some(p) => p,
            None => std::env::current_exe().map_err(|source| Error::Io {
                path: PathBuf::from("/proc/self/exe"),
                source,
            })?,
        };
        let shared = Arc::new(Shared {
            config: self.clone(),
            program,
            cgroup_parent,
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
                idle: (0..self.workers).rev().map(Slot::new).collect(),
                taken: 0,
            }),
            ready: Condvar::new(),
            returned: Condvar::new(),
            next_id: AtomicU64::new(1),
            stats: Counters::default(),
            health: Mutex::new(Health::default()),
            live: Mutex::new(vec![None; self.workers]),
        });
        let threads = (0..self.workers)
            .map(|n| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("pyhost-process-{n}"))
                    .spawn(move || queue_loop(&shared, n))
                    .map_err(|e| Error::runtime_error(format!("cannot start a thread: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ProcessPool {
            shared,
            threads: Mutex::new(threads),
        })
    }
}

/// A pool of worker processes (see the [module docs](crate::process)).
pub struct ProcessPool {
    shared: Arc<Shared>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// What a [`ProcessPool`] has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessStats {
    /// Calls answered (a result or an exception).
    pub calls: usize,
    /// Worker processes started.
    pub started: usize,
    /// Workers that died during a call.
    pub crashed: usize,
    /// Workers killed after a deadline and its grace period.
    pub killed: usize,
    /// Workers replaced after [`ProcessBuilder::max_calls_per_worker`] calls.
    pub recycled: usize,
}

impl ProcessPool {
    /// A builder with the defaults: 2 workers, 2 s grace.
    pub fn builder() -> ProcessBuilder {
        ProcessBuilder {
            workers: 2,
            grace: Duration::from_secs(2),
            start_timeout: Duration::from_secs(30),
            backoff: (Duration::from_millis(100), Duration::from_secs(10)),
            max_restarts: (5, Duration::from_secs(60)),
            cooldown: Duration::from_secs(30),
            memory_limit: None,
            cgroup_memory: None,
            max_calls: None,
            program: None,
            args: Vec::new(),
            handlers: Vec::new(),
        }
    }

    /// Runs `task` on a worker and converts its result.
    ///
    /// # Errors
    /// What the function raised ([`Error::Python`], with its type, message and frames),
    /// [`Error::WorkerCrashed`], [`Error::CircuitOpen`], [`Error::ExecutorClosed`] after
    /// [`ProcessPool::shutdown`].
    pub fn call<T: for<'py> FromPythonOwned<'py>>(&self, task: &Task) -> Result<T> {
        self.call_here(task, None)
    }

    /// [`ProcessPool::call`] with a deadline, from when a worker starts the call.
    ///
    /// # Errors
    /// As [`ProcessPool::call`], plus [`Error::Timeout`].
    pub fn call_timeout<T: for<'py> FromPythonOwned<'py>>(
        &self,
        timeout: Duration,
        task: &Task,
    ) -> Result<T> {
        self.call_here(task, Some(timeout))
    }

    /// A blocking call: run from this thread on an idle worker when there is one and nothing
    /// is queued (a call then costs two wake-ups, as with a bare pipe to a child), else queued.
    fn call_here<T: for<'py> FromPythonOwned<'py>>(
        &self,
        task: &Task,
        timeout: Option<Duration>,
    ) -> Result<T> {
        let slot = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.closed {
                return Err(Error::ExecutorClosed);
            }
            if q.jobs.is_empty() {
                q.take_slot()
            } else {
                None
            }
        };
        let Some(mut slot) = slot else {
            return crate::executor::block_on(self.submit(task, timeout));
        };
        let spec = CallSpec {
            id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
            payload: &task.payload,
            timeout,
            reply: None,
        };
        let result = slot.run(&self.shared, &spec);
        self.shared.give_back(slot);
        result.and_then(|data| decode::<T>(&data))
    }

    /// Queues `task` and returns its result as a future, for async callers; it never blocks
    /// the thread that polls it (but to convert the result). Dropping the future cancels the
    /// call: a queued one never runs, a running one is interrupted and its worker replaced.
    ///
    /// ```no_run
    /// # pyhost::initialize().unwrap();
    /// let pool = pyhost::process::ProcessPool::builder().build()?;
    /// let task = pyhost::process::Task::new("math:sqrt", (2.0,))?;
    /// let root: f64 = pyhost::executor::block_on(pool.spawn(&task))?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn spawn<T: for<'py> FromPythonOwned<'py>>(&self, task: &Task) -> ProcessCall<T> {
        self.submit(task, None)
    }

    /// [`ProcessPool::spawn`] with a deadline.
    pub fn spawn_timeout<T: for<'py> FromPythonOwned<'py>>(
        &self,
        timeout: Duration,
        task: &Task,
    ) -> ProcessCall<T> {
        self.submit(task, Some(timeout))
    }

    fn submit<T>(&self, task: &Task, timeout: Option<Duration>) -> ProcessCall<T> {
        let reply = Arc::new(Reply::default());
        let call = ProcessCall {
            reply: reply.clone(),
            _result: PhantomData,
        };
        if let Err(e) = self.shared.check_circuit() {
            reply.send(Err(e));
            return call;
        }
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.closed {
                drop(q);
                reply.send(Err(Error::ExecutorClosed));
                return call;
            }
            q.jobs.push_back(Job {
                id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
                payload: task.payload.clone(),
                timeout,
                reply,
            });
        }
        self.shared.ready.notify_one();
        call
    }

    /// The worker processes running now: pid, resident memory, calls answered.
    ///
    /// ```no_run
    /// # pyhost::initialize().unwrap();
    /// let pool = pyhost::process::ProcessPool::builder().workers(2).build()?;
    /// for w in pool.workers() {
    ///     println!("worker {}: {} MiB, {} calls", w.pid, w.rss_bytes.unwrap_or(0) >> 20, w.calls);
    /// }
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.shared
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .flatten()
            .map(|&(pid, calls)| WorkerInfo {
                pid,
                calls,
                rss_bytes: rss_of(pid),
            })
            .collect()
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> ProcessStats {
        let c = &self.shared.stats;
        ProcessStats {
            calls: c.calls.load(Ordering::Relaxed),
            started: c.started.load(Ordering::Relaxed),
            crashed: c.crashed.load(Ordering::Relaxed),
            killed: c.killed.load(Ordering::Relaxed),
            recycled: c.recycled.load(Ordering::Relaxed),
        }
    }

    /// Stops taking calls, lets the queued ones finish, and ends the workers.
    ///
    /// # Errors
    /// None today; kept for the backends to come.
    pub fn shutdown(&self) -> Result<()> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.shared.ready.notify_all();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
        // Callers running their own calls give their slots back when done.
        let idle = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            while q.taken > 0 {
                q = self
                    .shared
                    .returned
                    .wait(q)
                    .unwrap_or_else(|e| e.into_inner());
            }
            std::mem::take(&mut q.idle)
        };
        for slot in idle {
            slot.retire(&self.shared);
        }
        Ok(())
    }
}

/// One running worker process ([`ProcessPool::workers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// Its process id.
    pub pid: u32,
    /// Its resident memory (`/proc/<pid>/statm`), where the system tells.
    pub rss_bytes: Option<u64>,
    /// The calls it answered.
    pub calls: usize,
}

/// Resident memory of process `pid`, from `/proc` (Linux).
fn rss_of(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // The page size of every target pyhost's cross tables name.
    Some(pages * 4096)
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

pub(super) struct Shared {
    pub(super) config: ProcessBuilder,
    pub(super) program: PathBuf,
    /// Where workers' cgroups go, with a cgroup memory cap.
    pub(super) cgroup_parent: Option<PathBuf>,
    pub(super) queue: Mutex<Queue>,
    /// A call was queued, a slot came back, or the pool closed.
    pub(super) ready: Condvar,
    /// A slot came back (for the shutdown).
    pub(super) returned: Condvar,
    pub(super) next_id: AtomicU64,
    pub(super) stats: Counters,
    pub(super) health: Mutex<Health>,
    /// Per slot: the pid of its worker and the calls it answered.
    pub(super) live: Mutex<Vec<Option<(u32, usize)>>>,
}

/// Crashes, for the backoff and the circuit breaker.
#[derive(Default)]
pub(super) struct Health {
    /// When the workers crashed, within the window.
    pub(super) crashes: VecDeque<Instant>,
    /// Crashes since the last call that succeeded.
    pub(super) in_a_row: u32,
    pub(super) open_until: Option<Instant>,
}

impl Shared {
    /// `Err` while the circuit is open; closes it once the cool-down is over.
    pub(super) fn check_circuit(&self) -> Result<()> {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        match h.open_until {
            Some(until) if Instant::now() < until => Err(Error::CircuitOpen {
                crashes: h.crashes.len(),
                window: self.config.max_restarts.1,
                retry_in: until - Instant::now(),
            }),
            Some(_) => {
                h.open_until = None;
                h.crashes.clear();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a crash; opens the circuit (failing the queued calls) when there were too
    /// many. Returns the wait before the next start.
    pub(super) fn crashed(&self) -> Duration {
        let now = Instant::now();
        let (max, window) = self.config.max_restarts;
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        h.crashes.push_back(now);
        while h.crashes.front().is_some_and(|t| now - *t > window) {
            h.crashes.pop_front();
        }
        h.in_a_row = h.in_a_row.saturating_add(1);
        if h.crashes.len() > max && h.open_until.is_none() {
            h.open_until = Some(now + self.config.cooldown);
            let error = || Error::CircuitOpen {
                crashes: h.crashes.len(),
                window,
                retry_in: self.config.cooldown,
            };
            let queued =
                std::mem::take(&mut self.queue.lock().unwrap_or_else(|e| e.into_inner()).jobs);
            for job in queued {
                job.reply.send(Err(error()));
            }
        }
        let (base, cap) = self.config.backoff;
        let doubling = h.in_a_row.saturating_sub(1).min(20);
        base.saturating_mul(1 << doubling).min(cap)
    }

    /// Waits for a queued call and for slot `home` to be idle; `None` once the pool is
    /// closed and nothing is queued.
    pub(super) fn next_queued(&self, home: usize) -> Option<(Job, Slot)> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if !q.jobs.is_empty() {
                if let Some(slot) = q.take_home_slot(home) {
                    let job = q.jobs.pop_front()?;
                    return Some((job, slot));
                }
            } else if q.closed {
                return None;
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The next queued call, if there is one now.
    pub(super) fn next_queued_now(&self) -> Option<Job> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .jobs
            .pop_front()
    }

    /// Puts a slot back among the idle ones, and wakes the pool threads if calls wait (all of
    /// them: only the slot's own thread takes it).
    pub(super) fn give_back(&self, slot: Slot) {
        let waiting = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.idle.push(slot);
            q.taken -= 1;
            !q.jobs.is_empty()
        };
        if waiting {
            self.ready.notify_all();
        }
        self.returned.notify_all();
    }

    /// Passes a worker's message (`topic \0 data`) to its handler.
    pub(super) fn deliver(&self, message: &[u8]) {
        let (topic, data) = match message.iter().position(|&b| b == 0) {
            Some(i) => (&message[..i], &message[i + 1..]),
            None => (message, &[][..]),
        };
        match self
            .config
            .handlers
            .iter()
            .find(|(t, _)| t.as_bytes() == topic)
        {
            Some((_, handler)) => {
                // A panicking handler must not take the pool thread, and so the slot, down.
                let run = std::panic::AssertUnwindSafe(|| (handler.0)(data));
                if std::panic::catch_unwind(run).is_err() {
                    eprintln!(
                        "pyhost: the message handler for `{}` panicked",
                        String::from_utf8_lossy(topic)
                    );
                }
            }
            None => eprintln!(
                "pyhost: a worker sent a message on `{}`, which has no handler \
                 (ProcessBuilder::on_message)",
                String::from_utf8_lossy(topic)
            ),
        }
    }

    /// A call succeeded: the backoff starts over.
    pub(super) fn answered(&self) {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .in_a_row = 0;
    }
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) calls: AtomicUsize,
    pub(super) started: AtomicUsize,
    pub(super) crashed: AtomicUsize,
    pub(super) killed: AtomicUsize,
    pub(super) recycled: AtomicUsize,
}

pub(super) struct Queue {
    pub(super) jobs: VecDeque<Job>,
    pub(super) closed: bool,
    /// Slots no one is running a call on; the last one given back is taken first, so one
    /// warm worker serves calls made one at a time.
    pub(super) idle: Vec<Slot>,
    /// Slots taken out of `idle` by someone running a call on them.
    pub(super) taken: usize,
}

impl Queue {
    /// An idle slot, counted as taken until [`Shared::give_back`].
    fn take_slot(&mut self) -> Option<Slot> {
        let slot = self.idle.pop()?;
        self.taken += 1;
        Some(slot)
    }

    /// Slot `home`, if it is idle. Each pool thread keeps to its own slot, so that it keeps
    /// talking to one worker process: the scheduler learns the pair and keeps it on one CPU
    /// (measured: 64 calls on 2 workers took 6.5 µs a call this way, 13 to 19 µs with
    /// threads and workers paired anew for each burst).
    fn take_home_slot(&mut self, home: usize) -> Option<Slot> {
        let i = self.idle.iter().position(|s| s.index() == home)?;
        self.taken += 1;
        Some(self.idle.remove(i))
    }
}

pub(super) struct Job {
    pub(super) id: u64,
    pub(super) payload: Vec<u8>,
    pub(super) timeout: Option<Duration>,
    /// Where the marshalled result, or the error, goes.
    pub(super) reply: Arc<Reply>,
}

/// Where a call's answer lands: a blocking caller or a future waits on it.
#[derive(Default)]
pub(super) struct Reply {
    answer: Mutex<Answer>,
    /// The caller dropped the call: skip it, or interrupt the worker running it.
    cancelled: AtomicBool,
}

#[derive(Default)]
struct Answer {
    result: Option<Result<Vec<u8>>>,
    waker: Option<Waker>,
}

impl Reply {
    /// Delivers the answer (the first one counts) and wakes the caller.
    pub(super) fn send(&self, result: Result<Vec<u8>>) {
        let waker = {
            let mut a = self.answer.lock().unwrap_or_else(|e| e.into_inner());
            if a.result.is_none() {
                a.result = Some(result);
            }
            a.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(super) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// A call queued on a [`ProcessPool`], as a future ([`ProcessPool::spawn`]). Dropping it
/// cancels the call.
#[must_use = "a call is cancelled when its future is dropped"]
pub struct ProcessCall<T> {
    reply: Arc<Reply>,
    _result: PhantomData<fn() -> T>,
}

impl<T: for<'py> FromPythonOwned<'py>> Future for ProcessCall<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut a = self.reply.answer.lock().unwrap_or_else(|e| e.into_inner());
        match a.result.take() {
            Some(result) => {
                drop(a);
                Poll::Ready(result.and_then(|data| decode::<T>(&data)))
            }
            None => {
                a.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for ProcessCall<T> {
    fn drop(&mut self) {
        // After the answer this changes nothing: the job is done.
        self.reply.cancelled.store(true, Ordering::Release);
    }
}
