//! Python in worker processes: a crash, `os._exit()` or a call stuck in C costs a worker
//! process, never the host.
//!
//! A [`ProcessPool`] keeps N child processes, each embedding Python through pyhost, and runs
//! [`Task`]s on them. A task is what can cross a process boundary: a function named
//! `module:function` — Python code, or a Rust function of a `#[pyhost::module]` registered in
//! the workers — and arguments that Python's `marshal` carries (None, bools, ints, floats,
//! str, bytes, tuples, lists, dicts, sets). The same task runs in-process with
//! [`Task::run`], so a call moves between the host's interpreter and a worker without
//! rewriting the caller; a closure (`Executor::run(|py| ..)`) cannot move, as it may hold
//! anything.
//!
//! # The workers
//!
//! A worker is the host's own binary started again: the host calls [`serve_if_worker`] at the
//! start of `main`, which returns at once in the host and never returns in a worker. So the
//! workers have the host's Rust functions and builtin modules, and nothing else needs
//! shipping. (A separate worker binary would need its own build and its own copy of every
//! Rust function a check may call.) Calls and results cross a Unix socket in length-prefixed
//! frames; a worker's stdout is the host's, its stderr is passed through and its last lines
//! are kept for errors.
//!
//! # Failures
//!
//! - A worker that exits, is killed by a signal (segfault, abort, the OOM killer) or closes
//!   its channel fails the call it was running with [`Error::WorkerCrashed`] (exit status or
//!   signal, last lines of stderr) and is started again for the next call. Calls still queued
//!   are never lost: they wait for a worker.
//! - After a crash the next worker starts after a backoff that doubles with each crash in a
//!   row ([`ProcessBuilder::restart_backoff`]); past [`ProcessBuilder::max_restarts`]
//!   crashes within a window, a circuit breaker fails calls at once with
//!   [`Error::CircuitOpen`] until a cool-down has passed.
//! - A call past its deadline is interrupted as in-process (`SIGINT`, which the worker's
//!   Python turns into `KeyboardInterrupt` in the running code) and the caller gets
//!   [`Error::Timeout`]; if the worker has not answered after the grace period (code blocked
//!   in C, signals blocked), it is killed and replaced. No thread is left behind.
//!
//! ```no_run
//! fn main() -> pyhost::Result<()> {
//!     // In a worker this serves calls and exits; in the host it returns at once.
//!     pyhost::process::serve_if_worker(|b| b)?;
//!     pyhost::initialize()?;
//!     let pool = pyhost::process::ProcessPool::builder().workers(2).build()?;
//!     let n: u64 = pool.call(&pyhost::process::Task::new("math:factorial", (20,))?)?;
//!     assert_eq!(n, 2_432_902_008_176_640_000);
//!     Ok(())
//! }
//! ```

mod wire;

use std::collections::VecDeque;
use std::io::{BufRead, ErrorKind as IoKind};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::conversion::FromPythonOwned;
use crate::types::{Any, Bytes};
use crate::{Builder, Error, Interpreter, IntoPython, Object, Python, Result, with_gil};

/// The variable that makes a start of the host binary a worker: the socket to connect to.
const WORKER_VAR: &str = "PYHOST_PROCESS_WORKER";

/// The variable that carries a worker's address-space cap, in bytes.
const MEMORY_VAR: &str = "PYHOST_PROCESS_MEMORY";

/// How many lines of a worker's stderr are kept for [`Error::WorkerCrashed`].
const STDERR_LINES: usize = 20;

/// A call that can run in another process: `module:function` and marshallable arguments.
#[derive(Clone, Debug)]
pub struct Task {
    target: String,
    /// `marshal.dumps((module, function, args, kwargs))`.
    payload: Vec<u8>,
}

impl Task {
    /// `module:function(*args)`. `args` becomes the arguments: a tuple gives them in order,
    /// `()` none, any other value is the only one. Needs the interpreter (the arguments are
    /// encoded now).
    ///
    /// # Errors
    /// A target without `:`, or arguments `marshal` cannot carry (`ValueError`).
    pub fn new(target: &str, args: impl for<'py> IntoPython<'py>) -> Result<Task> {
        let (module, function) = target.split_once(':').ok_or_else(|| {
            Error::value_error(format!(
                "a task names `module:function`, not `{target}` (for example `math:factorial`)"
            ))
        })?;
        let payload = with_gil(|py| {
            let args = args.into_python(py)?;
            let args = if args.is_instance_of::<crate::types::Tuple>() {
                args
            } else if args.is_none() {
                crate::types::Tuple::empty(py).into_any()
            } else {
                py.import("builtins")?.getattr("tuple")?.call1(((args,),))?
            };
            let request = (module, function, args, crate::types::Dict::new(py));
            marshal_dumps(py, request.into_python(py)?)
        })?;
        Ok(Task {
            target: target.to_owned(),
            payload,
        })
    }

    /// `module:function`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs the task here, in the calling thread's interpreter: what a worker does with it.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// let task = pyhost::process::Task::new("operator:add", (40, 2))?;
    /// let n: i64 = pyhost::with_gil(|py| task.run(py)?.extract())?;
    /// assert_eq!(n, 42);
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    ///
    /// # Errors
    /// What importing the module or calling the function raises.
    pub fn run<'py>(&self, py: Python<'py>) -> Result<Object<'py, Any>> {
        run_payload(py, &self.payload)
    }
}

/// `marshal.dumps(value)`.
fn marshal_dumps(py: Python<'_>, value: Object<'_, Any>) -> Result<Vec<u8>> {
    let bytes = py
        .import("marshal")?
        .call_method1("dumps", (value,))
        .map_err(|e| Error::Context {
            context: "only None, bools, numbers, str, bytes, tuples, lists, dicts and sets \
                      cross to a worker process"
                .into(),
            source: Box::new(e),
        })?;
    Ok(bytes.extract::<&[u8]>()?.to_vec())
}

/// `marshal.loads(data)`.
fn marshal_loads<'py>(py: Python<'py>, data: &[u8]) -> Result<Object<'py, Any>> {
    py.import("marshal")?
        .call_method1("loads", (Bytes::new(py, data)?,))
}

/// Imports the module and calls the function of a request.
fn run_payload<'py>(py: Python<'py>, payload: &[u8]) -> Result<Object<'py, Any>> {
    let request = marshal_loads(py, payload)?;
    let (module, function, args, kwargs): (String, String, Object<'py, Any>, Object<'py, Any>) =
        request.extract()?;
    let f = py.import(&module)?.getattr(function.as_str())?;
    f.call(
        &args.into_downcast::<crate::types::Tuple>()?,
        Some(&kwargs.into_downcast::<crate::types::Dict>()?),
    )
}

// ---------------------------------------------------------------------------------------------
// The worker side

/// In a worker process, starts Python (`configure` gets a builder with Python's signal
/// handlers on, so that a deadline's `SIGINT` interrupts the running call), serves calls
/// until the pool goes away, and exits the process. Elsewhere, returns `Ok(())` at once.
/// Call it first thing in `main`, before anything that should only run in the host.
///
/// # Errors
/// In a worker, only when it cannot connect to its pool or start Python (the pool then
/// reports the worker's exit with its stderr).
pub fn serve_if_worker(configure: impl FnOnce(Builder) -> Builder) -> Result<()> {
    let Some(path) = std::env::var_os(WORKER_VAR) else {
        return Ok(());
    };
    let mut channel = UnixStream::connect(&path).map_err(|source| Error::Io {
        path: PathBuf::from(&path),
        source,
    })?;
    if let Some(bytes) = std::env::var(MEMORY_VAR).ok().and_then(|v| v.parse().ok()) {
        if let Err(e) = crate::raw::os::limit_address_space(bytes) {
            eprintln!("pyhost worker: cannot cap its memory at {bytes} bytes: {e}");
        }
    }
    configure(Interpreter::builder().signal_handlers(true)).start()?;
    // Hello: the thread to interrupt at a deadline (the one running Python's calls).
    let tid = crate::raw::os::thread_id().unwrap_or(0);
    wire::write_frame(&mut channel, &[&u64::from(tid).to_le_bytes()]).map_err(|source| {
        Error::Io {
            path: PathBuf::from(&path),
            source,
        }
    })?;
    // Processes Python starts are not workers.
    with_gil(|py| {
        py.import("os")?
            .getattr("environ")?
            .call_method1("pop", (WORKER_VAR, ()))
            .map(drop)
    })?;
    // Until the pool closes the channel.
    while let Ok(frame) = wire::read_frame(&mut channel) {
        let (id, payload) = wire::split_id(&frame).map_err(|source| Error::Io {
            path: PathBuf::from(&path),
            source,
        })?;
        let (status, data) = with_gil(|py| {
            Ok(
                match run_payload(py, payload).and_then(|r| marshal_dumps(py, r)) {
                    Ok(bytes) => (wire::OK, bytes),
                    Err(e) => (wire::RAISED, wire::encode_error(&e.into_py_err())),
                },
            )
        })?;
        if wire::write_frame(&mut channel, &[&id.to_le_bytes(), &[status], &data]).is_err() {
            break;
        }
    }
    let _ = crate::shutdown_timeout(Duration::from_secs(5));
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------------
// The pool side

/// Configuration for [`ProcessPool::builder`].
#[derive(Debug, Clone)]
#[must_use = "call .build() to start the pool"]
pub struct ProcessBuilder {
    workers: usize,
    grace: Duration,
    start_timeout: Duration,
    backoff: (Duration, Duration),
    max_restarts: (usize, Duration),
    cooldown: Duration,
    memory_limit: Option<u64>,
    max_calls: Option<usize>,
    program: Option<PathBuf>,
    args: Vec<String>,
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

    /// Replaces a worker after it has answered `n` calls (a leaking check is reset this way).
    pub fn max_calls_per_worker(mut self, n: usize) -> Self {
        self.max_calls = Some(n.max(1));
        self
    }

    /// How long a new worker may take to connect (default 30 s).
    pub fn start_timeout(mut self, t: Duration) -> Self {
        self.start_timeout = t;
        self
    }

    /// The program to start as a worker, with its arguments (default: this program, no
    /// arguments). It must call [`serve_if_worker`] before anything else; tests use it to
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
    /// When this program's path cannot be found (and none was given).
    pub fn build(self) -> Result<ProcessPool> {
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
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
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
                    .spawn(move || slot_loop(&shared, n))
                    .map_err(|e| Error::runtime_error(format!("cannot start a thread: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ProcessPool {
            shared,
            threads: Mutex::new(threads),
        })
    }
}

/// A pool of worker processes (see the [module docs](self)).
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
            max_calls: None,
            program: None,
            args: Vec::new(),
        }
    }

    /// Runs `task` on a worker and converts its result.
    ///
    /// # Errors
    /// What the function raised ([`Error::Python`], with its type, message and frames),
    /// [`Error::WorkerCrashed`], [`Error::ExecutorClosed`] after [`ProcessPool::shutdown`].
    pub fn call<T: for<'py> FromPythonOwned<'py>>(&self, task: &Task) -> Result<T> {
        self.call_inner(task, None)
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
        self.call_inner(task, Some(timeout))
    }

    fn call_inner<T: for<'py> FromPythonOwned<'py>>(
        &self,
        task: &Task,
        timeout: Option<Duration>,
    ) -> Result<T> {
        self.shared.check_circuit()?;
        let (tx, rx) = sync_channel(1);
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.closed {
                return Err(Error::ExecutorClosed);
            }
            q.jobs.push_back(Job {
                id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
                payload: task.payload.clone(),
                timeout,
                reply: tx,
            });
        }
        self.shared.ready.notify_one();
        let data = rx.recv().map_err(|_| Error::ExecutorClosed)??;
        with_gil(|py| marshal_loads(py, &data)?.extract::<T>())
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

struct Shared {
    config: ProcessBuilder,
    program: PathBuf,
    queue: Mutex<Queue>,
    ready: Condvar,
    next_id: AtomicU64,
    stats: Counters,
    health: Mutex<Health>,
    /// Per slot: the pid of its worker and the calls it answered.
    live: Mutex<Vec<Option<(u32, usize)>>>,
}

/// Crashes, for the backoff and the circuit breaker.
#[derive(Default)]
struct Health {
    /// When the workers crashed, within the window.
    crashes: VecDeque<Instant>,
    /// Crashes since the last call that succeeded.
    in_a_row: u32,
    open_until: Option<Instant>,
}

impl Shared {
    /// `Err` while the circuit is open; closes it once the cool-down is over.
    fn check_circuit(&self) -> Result<()> {
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
    fn crashed(&self) -> Duration {
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
                let _ = job.reply.send(Err(error()));
            }
        }
        let (base, cap) = self.config.backoff;
        let doubling = h.in_a_row.saturating_sub(1).min(20);
        base.saturating_mul(1 << doubling).min(cap)
    }

    /// A call succeeded: the backoff starts over.
    fn answered(&self) {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .in_a_row = 0;
    }
}

#[derive(Default)]
struct Counters {
    calls: AtomicUsize,
    started: AtomicUsize,
    crashed: AtomicUsize,
    killed: AtomicUsize,
    recycled: AtomicUsize,
}

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct Job {
    id: u64,
    payload: Vec<u8>,
    timeout: Option<Duration>,
    /// The marshalled result, or the error.
    reply: SyncSender<Result<Vec<u8>>>,
}

/// One running worker process.
struct Worker {
    child: Child,
    /// The worker's thread that runs calls (`None`: signal the process).
    tid: Option<u32>,
    channel: UnixStream,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Worker {
    /// Starts a worker and waits for it to connect.
    fn start(shared: &Shared, slot: usize) -> Result<Worker> {
        static SPAWNED: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "pyhost-worker-{}-{slot}-{}.sock",
            std::process::id(),
            SPAWNED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let listener = UnixListener::bind(&path).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let mut child = Command::new(&shared.program)
            .args(&shared.config.args)
            .env(WORKER_VAR, &path)
            .envs(
                shared
                    .config
                    .memory_limit
                    .map(|b| (MEMORY_VAR, b.to_string())),
            )
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Io {
                path: shared.program.clone(),
                source,
            })?;
        shared.stats.started.fetch_add(1, Ordering::Relaxed);
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(pipe) = child.stderr.take() {
            let kept = stderr.clone();
            let pid = child.id();
            let _ = std::thread::Builder::new()
                .name(format!("pyhost-worker-{pid}-stderr"))
                .spawn(move || {
                    for line in std::io::BufReader::new(pipe).lines().map_while(|l| l.ok()) {
                        eprintln!("[worker {pid}] {line}");
                        let mut k = kept.lock().unwrap_or_else(|e| e.into_inner());
                        if k.len() == STDERR_LINES {
                            k.pop_front();
                        }
                        k.push_back(line);
                    }
                });
        }
        let started = Instant::now();
        let channel = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                Err(e) => return Err(io(e)),
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = std::fs::remove_file(&path);
                return Err(crashed(status, &stderr));
            }
            if started.elapsed() > shared.config.start_timeout {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(&path);
                return Err(Error::runtime_error(format!(
                    "the worker process did not connect within {:?}: does `{}` call \
                     pyhost::process::serve_if_worker first thing in main?",
                    shared.config.start_timeout,
                    shared.program.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = std::fs::remove_file(&path);
        channel.set_nonblocking(false).map_err(io)?;
        // The hello frame, once Python is up.
        let mut channel = channel;
        let left = shared
            .config
            .start_timeout
            .saturating_sub(started.elapsed());
        channel
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(io)?;
        let tid =
            match wire::read_frame(&mut channel).and_then(|f| wire::split_id(&f).map(|(t, _)| t)) {
                Ok(t) => u32::try_from(t).ok().filter(|&t| t != 0),
                Err(_) => {
                    let _ = child.kill();
                    return Err(match child.wait() {
                        Ok(status) => crashed(status, &stderr),
                        Err(e) => io(e),
                    });
                }
            };
        Ok(Worker {
            child,
            tid,
            channel,
            stderr,
        })
    }

    /// Ends the worker in order: closing the channel makes it shut Python down and exit;
    /// killed if it has not within 5 s.
    fn retire(self) {
        drop(self.channel);
        let mut child = self.child;
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the process and reaps it.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The error for a worker that went away: waits for its exit and reads its stderr.
    fn crash_error(mut self) -> Error {
        let status = self.child.wait();
        // Give the stderr reader a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(50));
        match status {
            Ok(s) => crashed(s, &self.stderr),
            Err(_) => Error::WorkerCrashed {
                code: None,
                signal: None,
                stderr: Vec::new(),
            },
        }
    }
}

fn crashed(status: std::process::ExitStatus, stderr: &Mutex<VecDeque<String>>) -> Error {
    Error::WorkerCrashed {
        code: status.code(),
        signal: status.signal(),
        stderr: stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect(),
    }
}

/// How one call on a worker ended.
enum Outcome {
    /// The worker answered; it stays.
    Answer(u8, Vec<u8>),
    /// Interrupted at the deadline and answered within the grace period. The worker is
    /// replaced all the same: the interrupt may still be pending in it.
    Interrupted,
    /// No answer within the grace period: killed.
    Killed,
}

/// One slot of the pool: takes jobs, keeps a worker process for them.
fn slot_loop(shared: &Arc<Shared>, slot: usize) {
    let mut worker: Option<Worker> = None;
    // The wait before the next start, after a crash.
    let mut backoff = Duration::ZERO;
    loop {
        let job = {
            let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(j) = q.jobs.pop_front() {
                    break Some(j);
                }
                if q.closed {
                    break None;
                }
                q = shared.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(job) = job else { break };
        if let Err(e) = shared.check_circuit() {
            let _ = job.reply.send(Err(e));
            continue;
        }
        if !backoff.is_zero() {
            std::thread::sleep(std::mem::take(&mut backoff));
        }
        let mut w = match worker.take() {
            Some(w) => w,
            None => match Worker::start(shared, slot) {
                Ok(w) => w,
                Err(e) => {
                    backoff = shared.crashed();
                    let _ = job.reply.send(Err(e));
                    continue;
                }
            },
        };
        let result = run_job(shared, &mut w, &job);
        let pid = w.child.id();
        let calls = {
            let mut live = shared.live.lock().unwrap_or_else(|e| e.into_inner());
            let calls = match live[slot] {
                Some((p, n)) if p == pid => n + 1,
                _ => 1,
            };
            live[slot] = Some((pid, calls));
            calls
        };
        let result = match result {
            JobEnd::Keep(reply) if shared.config.max_calls.is_some_and(|m| calls >= m) => {
                shared.stats.recycled.fetch_add(1, Ordering::Relaxed);
                JobEnd::Retire(reply)
            }
            other => other,
        };
        if !matches!(result, JobEnd::Keep(_)) {
            shared.live.lock().unwrap_or_else(|e| e.into_inner())[slot] = None;
        }
        match result {
            JobEnd::Keep(reply) => {
                worker = Some(w);
                let _ = job.reply.send(reply);
            }
            JobEnd::Replace(reply) => {
                w.kill();
                let _ = job.reply.send(reply);
            }
            JobEnd::Retire(reply) => {
                let _ = job.reply.send(reply);
                w.retire();
            }
            JobEnd::Crashed => {
                shared.stats.crashed.fetch_add(1, Ordering::Relaxed);
                let error = w.crash_error();
                backoff = shared.crashed();
                let _ = job.reply.send(Err(error));
            }
        }
    }
    if let Some(w) = worker {
        w.retire();
    }
    shared.live.lock().unwrap_or_else(|e| e.into_inner())[slot] = None;
}

/// What becomes of the worker after a job.
enum JobEnd {
    /// It stays.
    Keep(Result<Vec<u8>>),
    /// Killed (interrupted or unresponsive).
    Replace(Result<Vec<u8>>),
    /// Ended in order (it answered its last call).
    Retire(Result<Vec<u8>>),
    /// It died.
    Crashed,
}

fn run_job(shared: &Shared, w: &mut Worker, job: &Job) -> JobEnd {
    let timed_out = || Error::Timeout {
        after: job.timeout.unwrap_or_default(),
    };
    match exchange(w, job, shared.config.grace) {
        Some(Outcome::Answer(status, data)) => {
            shared.stats.calls.fetch_add(1, Ordering::Relaxed);
            shared.answered();
            JobEnd::Keep(if status == wire::OK {
                Ok(data)
            } else {
                Err(Error::Python(wire::decode_error(&data)))
            })
        }
        Some(Outcome::Interrupted) => {
            shared.stats.calls.fetch_add(1, Ordering::Relaxed);
            JobEnd::Replace(Err(timed_out()))
        }
        Some(Outcome::Killed) => {
            shared.stats.killed.fetch_add(1, Ordering::Relaxed);
            JobEnd::Replace(Err(timed_out()))
        }
        None => JobEnd::Crashed,
    }
}

/// Sends a job to the worker and waits for its answer, interrupting it at the deadline and
/// giving up after the grace period; `None` when the worker went away.
fn exchange(worker: &mut Worker, job: &Job, grace: Duration) -> Option<Outcome> {
    wire::write_frame(&mut worker.channel, &[&job.id.to_le_bytes(), &job.payload]).ok()?;
    let started = Instant::now();
    let mut interrupted = false;
    loop {
        let wait = match (job.timeout, interrupted) {
            (None, _) => None,
            (Some(t), false) => Some(t.saturating_sub(started.elapsed())),
            (Some(t), true) => Some((t + grace).saturating_sub(started.elapsed())),
        };
        worker
            .channel
            .set_read_timeout(wait.map(|w| w.max(Duration::from_millis(1))))
            .ok()?;
        match wire::read_frame(&mut worker.channel) {
            Ok(frame) => {
                let (id, rest) = wire::split_id(&frame).ok()?;
                if id != job.id || rest.is_empty() {
                    return None;
                }
                return Some(if interrupted {
                    Outcome::Interrupted
                } else {
                    Outcome::Answer(rest[0], rest[1..].to_vec())
                });
            }
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {
                if interrupted {
                    return Some(Outcome::Killed);
                }
                interrupted = true;
                crate::raw::os::interrupt(worker.child.id(), worker.tid);
            }
            Err(_) => return None,
        }
    }
}
