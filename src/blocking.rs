//! Blocking Rust calls that never stall Python's other work: `#[pyhost::function(blocking)]`.
//!
//! A Rust function marked `blocking` waits for something (a database driver, a lock, a
//! socket, a sleep). How its caller waits depends on what the calling Python code runs in:
//!
//! | the caller | the body runs | the caller waits |
//! |---|---|---|
//! | a thread | on the calling thread, the GIL released (as `release_gil`) | other threads run Python meanwhile |
//! | a green thread of eventlet or gevent (monkey patched, or spawned by them) | on a thread of pyhost's blocking pool | on a pipe, through the hub (`eventlet.hubs.trampoline`, `gevent.socket.wait_read`): the other green threads run meanwhile |
//! | a coroutine of a running asyncio loop | on the calling thread, the GIL released | the loop's thread is blocked: Python warns (`RuntimeWarning`, once per place); give the coroutine `await loop.run_in_executor(None, f, ...)` instead |
//!
//! So 50 green threads each making a 50 ms blocking call take about 50 ms, not 2.5 s, under
//! `eventlet.monkey_patch()` as under gevent's. A `blocking` function takes owned arguments
//! (`String`, not `&str`): its body may outlive the caller's wait (a green thread killed
//! while it waits gets its exception at once; the body finishes on the pool, unobserved).
//!
//! ```
//! # pyhost::initialize_once().unwrap();
//! #[pyhost::function(blocking)]
//! fn fetch(key: String) -> String {
//!     std::thread::sleep(std::time::Duration::from_millis(5)); // a slow driver
//!     format!("value of {key}")
//! }
//!
//! pyhost::with_gil(|py| {
//!     let m = pyhost::types::Module::new(py, "store")?;
//!     m.add_function(pyhost::wrap_function!(fetch))?;
//!     let v: String = m.getattr("fetch")?.call1(("k",))?.extract()?;
//!     assert_eq!(v, "value of k");
//!     Ok(())
//! })?;
//! # Ok::<(), pyhost::Error>(())
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::helper::Helper;
use crate::types::Any;
use crate::{Object, Python, Result};

/// What the calling code runs in, as the helper's `how()` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Thread,
    Gevent,
    Eventlet,
    Asyncio,
}

/// The Python side: which framework the caller runs in, and waiting for a file descriptor
/// through its hub. Only modules already imported are looked at: nothing is imported to ask.
const HELPER: &str = r#"
import sys

def _in_greenlet():
    g = sys.modules.get("greenlet")
    return g is not None and g.getcurrent().parent is not None

def how():
    m = sys.modules
    gm = m.get("gevent.monkey")
    if gm is not None and (gm.is_module_patched("threading") or _in_greenlet()):
        return 1
    ep = m.get("eventlet.patcher")
    if ep is not None and (ep.is_monkey_patched("thread") or _in_greenlet()):
        return 2
    aio = m.get("asyncio")
    if aio is not None and aio._get_running_loop() is not None:
        return 3
    return 0

def wait_gevent(fd):
    from gevent.socket import wait_read
    wait_read(fd)

def wait_eventlet(fd):
    from eventlet.hubs import trampoline
    trampoline(fd, read=True)

def warn_asyncio(name):
    import warnings
    warnings.warn(
        f"{name}() blocks the running asyncio event loop until it returns; call it as "
        f"`await loop.run_in_executor(None, {name}, ...)`, or make it an async fn",
        RuntimeWarning,
        stacklevel=3,
    )
"#;

static PY: Helper = Helper::new(HELPER);

fn helper<'py>(py: Python<'py>, name: &str) -> Result<Object<'py, Any>> {
    PY.get(py, name)
}

fn caller(py: Python<'_>) -> Result<Caller> {
    Ok(match helper(py, "how")?.call0()?.extract::<u8>()? {
        1 => Caller::Gevent,
        2 => Caller::Eventlet,
        3 => Caller::Asyncio,
        _ => Caller::Thread,
    })
}

/// Runs the body of a `blocking` function `name` (see the [module docs](self)).
///
/// # Errors
/// What waiting through the hub raises (a green thread killed, a framework timeout).
pub fn run<T, F>(py: Python<'_>, name: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let wait = match caller(py)? {
        Caller::Thread => return Ok(py.allow_threads(f)),
        Caller::Asyncio => {
            helper(py, "warn_asyncio")?.call1((name,))?;
            return Ok(py.allow_threads(f));
        }
        Caller::Gevent => "wait_gevent",
        Caller::Eventlet => "wait_eventlet",
    };
    on_the_pool(py, wait, f)
}

#[cfg(unix)]
fn on_the_pool<T, F>(py: Python<'_>, wait: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    let io = |source| crate::Error::Io {
        path: "<the socket pair of a blocking call>".into(),
        source,
    };
    let (rx, tx) = UnixStream::pair().map_err(io)?;
    rx.set_nonblocking(true).map_err(io)?;
    let done = Arc::new(Mutex::new(None));
    let slot = done.clone();
    POOL.submit(Box::new(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        // The waiter may be gone (killed): then nobody reads, and that is fine.
        let _ = (&tx).write(&[1]);
    }));
    let wait = helper(py, wait)?;
    let fd = rx.as_raw_fd();
    loop {
        // Returns when the pipe is readable; the hub runs the other green threads meanwhile.
        wait.call1((fd,))?;
        let _ = (&rx).read(&mut [0u8; 8]);
        if let Some(r) = done.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return match r {
                Ok(v) => Ok(v),
                // Re-raised here, inside the function's trampoline: a Python exception.
                Err(payload) => std::panic::resume_unwind(payload),
            };
        }
    }
}

#[cfg(not(unix))]
fn on_the_pool<T, F>(py: Python<'_>, _wait: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    Ok(py.allow_threads(f))
}

// ---------------------------------------------------------------------------------------------
// The pool

/// A job of the blocking pool.
type Job = Box<dyn FnOnce() + Send>;

/// Threads for the bodies of blocking calls made from green threads: one more is started
/// whenever every thread is busy (up to [`MAX_THREADS`]), and a thread idle for
/// [`IDLE_EXIT`] ends.
struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

struct PoolState {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

/// The most threads the pool runs: past it, calls wait their turn.
const MAX_THREADS: usize = 512;
/// How long a thread waits for work before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(10);

static POOL: Pool = Pool {
    state: Mutex::new(PoolState {
        jobs: VecDeque::new(),
        threads: 0,
        idle: 0,
    }),
    work: Condvar::new(),
};

impl Pool {
    fn submit(&'static self, job: Job) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.jobs.push_back(job);
        if s.idle > s.jobs.len() - 1 {
            drop(s);
            self.work.notify_one();
            return;
        }
        if s.threads < MAX_THREADS {
            let started = std::thread::Builder::new()
                .name("pyhost-blocking".into())
                .spawn(move || self.serve());
            if started.is_ok() {
                s.threads += 1;
            }
        }
    }

    fn serve(&'static self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = s.jobs.pop_front() {
                drop(s);
                job();
                s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.idle += 1;
            let (next, waited) = self
                .work
                .wait_timeout(s, IDLE_EXIT)
                .unwrap_or_else(|e| e.into_inner());
            s = next;
            s.idle -= 1;
            if waited.timed_out() && s.jobs.is_empty() {
                s.threads -= 1;
                return;
            }
        }
    }
}
