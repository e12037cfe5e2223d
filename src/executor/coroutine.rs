//! Rust awaits Python: coroutines run on their worker's own asyncio event loop.
//!
//! Each worker that has run a coroutine keeps an event loop (made on its first one, closed
//! when the worker ends). A coroutine call becomes a task on that loop, and the worker runs the
//! loop while any of its tasks is pending: then it takes further coroutine calls from the
//! queue into the same loop (any number run at once), and steps out of the loop for a plain
//! call only when no idle worker can take it. The loop is woken without the GIL through a
//! socket pair it watches: for new calls, for cancelled ones (a dropped [`Call`](super::Call),
//! a shutdown) and to stop.
//!
//! A call's deadline is a timer on the loop that cancels the task; the caller gets
//! [`Error::Timeout`](crate::Error::Timeout). A coroutine that blocks its loop (a `time.sleep`,
//! a C call) blocks its timers too, and the other coroutines on that worker.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::call::{CANCELLED, CallCell, ControlRef, DONE, RUNNING, TIMED_OUT};
use super::{Job, Shared, Worker};
use crate::conversion::FromPython;
use crate::helper::Helper;
use crate::types::{Any, Function};
use crate::{Error, IntoPython, Object, PyErr, Python, Result, Unbound};

/// The loop side, in Python: tasks by key, their deadline timers, and the wake-up reader.
const LANE: &str = r#"
import asyncio

class Lane:
    def __init__(self, fd, pull):
        self.loop = asyncio.new_event_loop()
        self.tasks = {}
        self.fd = fd
        self.pull = pull
        self.loop.add_reader(fd, pull)

    def start(self, key, coro, timeout, expire, done):
        task = asyncio.ensure_future(coro, loop=self.loop)
        self.tasks[key] = task
        timer = None
        if timeout is not None:
            def on_deadline():
                if expire():
                    task.cancel()
            timer = self.loop.call_later(timeout, on_deadline)
        def finished(t):
            self.tasks.pop(key, None)
            if timer is not None:
                timer.cancel()
            done(t)
            if not self.tasks:
                self.loop.stop()
        task.add_done_callback(finished)

    def cancel(self, key):
        task = self.tasks.get(key)
        if task is not None:
            task.cancel()

    def run(self):
        # Calls queued before this worker said it loops are taken at once.
        self.loop.call_soon(self.pull)
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            asyncio.set_event_loop(None)

    def stop(self):
        self.loop.stop()

    def close(self):
        for task in self.tasks.values():
            task.cancel()
        if self.tasks:
            self.run()
        self.loop.remove_reader(self.fd)
        self.loop.close()
"#;

static HELPER: Helper = Helper::new(LANE);

/// A worker's coroutine lane, as other threads see it (no GIL needed).
pub(crate) struct Lane {
    wake_tx: UnixStream,
    wake_rx: UnixStream,
    /// Coroutine calls running on this worker's loop, by key.
    calls: Mutex<HashMap<usize, ControlRef>>,
    /// Keys of calls cancelled since the loop last looked.
    cancels: Mutex<Vec<usize>>,
    next_key: AtomicUsize,
    /// The worker runs its loop now.
    looping: AtomicBool,
}

impl Lane {
    fn new() -> std::io::Result<Lane> {
        let (wake_tx, wake_rx) = UnixStream::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        Ok(Lane {
            wake_tx,
            wake_rx,
            calls: Mutex::new(HashMap::new()),
            cancels: Mutex::new(Vec::new()),
            next_key: AtomicUsize::new(0),
            looping: AtomicBool::new(false),
        })
    }

    /// Wakes the loop. A full socket already holds a wake-up, so that write may fail.
    pub(crate) fn wake(&self) {
        let _ = (&self.wake_tx).write(&[1]);
    }

    pub(crate) fn pending(&self) -> usize {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub(crate) fn is_looping(&self) -> bool {
        self.looping.load(Ordering::SeqCst)
    }

    /// The controls of the calls running on this loop (to cancel them at shutdown).
    pub(crate) fn running(&self) -> Vec<ControlRef> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.values().cloned().collect()
    }

    fn drain_wakes(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
    }
}

thread_local! {
    /// This worker thread's loop (the Python `Lane`), once it ran a coroutine.
    static LOOP: RefCell<Option<Unbound<Any>>> = const { RefCell::new(None) };
}

/// The lane of `worker`, made on first use.
fn lane_of(worker: &Worker) -> Result<&Arc<Lane>> {
    if let Some(l) = worker.lane.get() {
        return Ok(l);
    }
    let lane = Lane::new().map_err(|e| {
        Error::runtime_error(format!(
            "cannot make the socket pair of a worker's event loop: {e}"
        ))
    })?;
    Ok(worker.lane.get_or_init(|| Arc::new(lane)))
}

/// This worker's Python `Lane`, made (with its loop) on first use.
fn loop_of<'py>(
    py: Python<'py>,
    shared: &Arc<Shared>,
    worker: &Arc<Worker>,
) -> Result<Object<'py, Any>> {
    if let Some(l) = LOOP.with(|l| l.borrow().as_ref().map(|l| l.bind(py).to_owned())) {
        return Ok(l);
    }
    let lane = lane_of(worker)?;
    let (shared, w) = (shared.clone(), worker.clone());
    let pull = Function::new(py, "_pyhost_pull", None, move |py, _, _| {
        pull(py, &shared, &w)?;
        Ok(py.none().into_any())
    })?;
    let l = HELPER
        .get(py, "Lane")?
        .call1((lane.wake_rx.as_raw_fd(), pull))?;
    LOOP.with(|slot| *slot.borrow_mut() = Some(l.clone().unbind()));
    Ok(l)
}

/// The loop's reader: cancels what was cancelled, takes queued coroutine calls, and steps out
/// of the loop for a plain call that no idle worker can take.
fn pull(py: Python<'_>, shared: &Arc<Shared>, worker: &Arc<Worker>) -> Result<()> {
    let lane = lane_of(worker)?;
    lane.drain_wakes();
    let l = loop_of(py, shared, worker)?;
    let cancels = std::mem::take(&mut *lane.cancels.lock().unwrap_or_else(|e| e.into_inner()));
    for key in cancels {
        l.call_method1("cancel", (key,))?;
    }
    loop {
        match shared.take_coroutine() {
            Taken::Job(job) => super::run_held(shared, worker, job, py),
            Taken::PlainWaiting => {
                l.call_method0("stop")?;
                return Ok(());
            }
            Taken::Nothing => return Ok(()),
        }
    }
}

/// What a looping worker finds at the front of the queue.
pub(crate) enum Taken {
    Job(Job),
    /// A plain call that no idle worker waits for.
    PlainWaiting,
    Nothing,
}

/// Runs this worker's loop until none of its coroutines is pending, or until a plain call
/// waits for it.
pub(crate) fn run_loop(shared: &Arc<Shared>, worker: &Arc<Worker>, place: &super::Place) {
    let Some(lane) = worker.lane.get() else {
        return;
    };
    lane.looping.store(true, Ordering::SeqCst);
    shared.looping.fetch_add(1, Ordering::SeqCst);
    let r = place.with_gil(|py| {
        loop_of(py, shared, worker)?.call_method0("run")?;
        Ok(())
    });
    shared.looping.fetch_sub(1, Ordering::SeqCst);
    lane.looping.store(false, Ordering::SeqCst);
    if let Err(e) = r {
        // Only pyhost's own code runs there (the tasks' errors go to their callers).
        eprintln!("pyhost: a worker's event loop failed: {e}");
        let calls = std::mem::take(&mut *lane.calls.lock().unwrap_or_else(|e| e.into_inner()));
        for c in calls.into_values() {
            if c.transition(RUNNING, DONE) {
                c.resolve(Error::runtime_error(format!(
                    "the worker's event loop failed: {e}"
                )));
            }
        }
    }
}

/// Cancels what still runs on this worker's loop and closes it (the worker ends).
pub(crate) fn close(place: &super::Place) {
    let Some(l) = LOOP.with(|l| l.borrow_mut().take()) else {
        return;
    };
    let r = place.with_gil(|py| {
        l.bind(py).call_method0("close")?;
        drop(l);
        Ok(())
    });
    if let Err(e) = r {
        eprintln!("pyhost: a worker's event loop did not close: {e}");
    }
}

/// The job of a coroutine call: `make` gives the coroutine, its result is extracted as `T`.
pub(crate) fn job<T, F>(shared: &Arc<Shared>, cell: Arc<CallCell<T>>, make: F) -> Job
where
    F: for<'py> FnOnce(Python<'py>) -> Result<Object<'py, Any>> + Send + 'static,
    T: for<'a, 'py> FromPython<'a, 'py> + Send + 'static,
{
    let shared = shared.clone();
    let control = ControlRef::of(&cell);
    let ctl = control.clone();
    let run = Box::new(move |py: Python<'_>, _: &super::Counters| {
        let started = catch_unwind(AssertUnwindSafe(|| {
            start(py, &shared, &ctl, cell.clone(), make)
        }));
        let failed = match started {
            Ok(Ok(())) => return,
            Ok(Err(e)) => Ok(Err(e)),
            Err(payload) => Err(payload),
        };
        if ctl.transition(RUNNING, DONE) {
            shared.stats.calls_run.fetch_add(1, Ordering::Relaxed);
            cell.slot.fill(failed);
        } else {
            cell.resolve(ctl.stop_error().unwrap_or(Error::Cancelled));
        }
    });
    Job {
        control,
        run: Some(run),
        coroutine: true,
    }
}

/// Makes the coroutine and its task on this worker's loop.
fn start<T, F>(
    py: Python<'_>,
    shared: &Arc<Shared>,
    control: &ControlRef,
    cell: Arc<CallCell<T>>,
    make: F,
) -> Result<()>
where
    F: for<'py> FnOnce(Python<'py>) -> Result<Object<'py, Any>>,
    T: for<'a, 'py> FromPython<'a, 'py> + Send + 'static,
{
    let worker = super::CURRENT_WORKER
        .with(|w| w.borrow().clone())
        .ok_or_else(|| Error::runtime_error("a coroutine call ran outside an executor worker"))?;
    let l = loop_of(py, shared, &worker)?;
    let lane = lane_of(&worker)?.clone();
    let coro = make(py)?;
    let key = lane.next_key.fetch_add(1, Ordering::Relaxed);
    let timeout = control.timeout.map(|t| {
        let spent = control.elapsed();
        t.saturating_sub(spent).as_secs_f64()
    });
    let ctl = control.clone();
    let expire = Function::new(py, "_pyhost_expire", None, move |py, _, _| {
        let expired = ctl.transition(RUNNING, TIMED_OUT);
        if expired {
            *ctl.interrupted_at.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(std::time::Instant::now());
        }
        expired.into_python(py)
    })?;
    let (ctl, sh, ln) = (control.clone(), shared.clone(), lane.clone());
    let done = Function::new(py, "_pyhost_done", None, move |py, args, _| {
        ln.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        let task = args.get_item(0)?;
        let outcome = catch_unwind(AssertUnwindSafe(|| result_of::<T>(&task)));
        if ctl.transition(RUNNING, DONE) {
            sh.stats.calls_run.fetch_add(1, Ordering::Relaxed);
            cell.slot.fill(outcome);
        } else {
            let stopped = ctl.stop_error().unwrap_or(Error::Cancelled);
            if matches!(stopped, Error::Timeout { .. }) {
                sh.stats.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            cell.resolve(stopped);
        }
        Ok(py.none().into_any())
    })?;
    lane.calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, control.clone());
    let started = l.call_method1("start", (key, coro, timeout, expire, done));
    if let Err(e) = started {
        lane.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        return Err(e);
    }
    let to_cancel = lane.clone();
    let _ = control.on_cancel.set(Box::new(move || {
        to_cancel
            .cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(key);
        to_cancel.wake();
    }));
    // Cancelled before the hook was there: cancel now.
    if control.state() == CANCELLED {
        l.call_method1("cancel", (key,))?;
    }
    Ok(())
}

/// The result of a finished task, as `T`.
fn result_of<T>(task: &Object<'_, Any>) -> Result<T>
where
    T: for<'a, 'py> FromPython<'a, 'py>,
{
    if task.call_method0("cancelled")?.is_truthy()? {
        // Cancelled from Python (the coroutine cancelled itself, or another task did).
        return Err(Error::Cancelled);
    }
    let exc = task.call_method0("exception")?;
    if !exc.is_none() {
        return Err(Error::Python(PyErr::from_value(&exc)?));
    }
    task.call_method0("result")?.extract::<T>()
}

/// Keeps [`Lane`] reachable from [`Worker`] without making it before it is needed.
pub(crate) type LaneCell = OnceLock<Arc<Lane>>;

impl super::Executor {
    /// Runs a Python coroutine on a worker's event loop and returns its [`Call`](super::Call)
    /// future, with the default deadline. `make` runs on the worker and returns the coroutine
    /// (or any awaitable); its result is converted to `T` there.
    ///
    /// Each worker keeps one event loop across calls, and runs any number of coroutines on it
    /// at once. Dropping the `Call` cancels the coroutine's task (`CancelledError` is raised
    /// in it); at the deadline it is cancelled the same way and the caller gets
    /// [`Error::Timeout`]. While a worker has coroutines pending, plain calls go to other
    /// workers, or run between the loop's steps when no other worker is idle.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use std::time::Duration;
    /// let ex = pyhost::Executor::builder().workers(1).build()?;
    /// // Ten coroutines on one worker, concurrently: about 10 ms in all.
    /// // (`asyncio.sleep(delay, result)` answers `result`.)
    /// let calls: Vec<_> = (0..10)
    ///     .map(|i| ex.spawn_coroutine(move |py| py.import("asyncio")?.call_method1("sleep", (0.01, 2 * i))))
    ///     .collect();
    /// let results: Vec<i64> = calls
    ///     .into_iter()
    ///     .map(pyhost::executor::block_on)
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(results, (0..10).map(|i| 2 * i).collect::<Vec<_>>());
    ///
    /// let slow = ex.spawn_coroutine_timeout::<(), _>(Duration::from_millis(50), |py| {
    ///     py.import("asyncio")?.call_method1("sleep", (10,))
    /// });
    /// let err = pyhost::executor::block_on(slow).unwrap_err();
    /// assert!(matches!(err, pyhost::Error::Timeout { .. }));
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn spawn_coroutine<T, F>(&self, make: F) -> super::Call<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<Object<'py, Any>> + Send + 'static,
        T: for<'a, 'py> FromPython<'a, 'py> + Send + 'static,
    {
        self.spawn_coroutine_inner(self.shared.default_timeout, make)
    }

    /// [`Executor::spawn_coroutine`](super::Executor::spawn_coroutine) with a deadline of
    /// `timeout` from the start of the coroutine.
    pub fn spawn_coroutine_timeout<T, F>(
        &self,
        timeout: std::time::Duration,
        make: F,
    ) -> super::Call<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<Object<'py, Any>> + Send + 'static,
        T: for<'a, 'py> FromPython<'a, 'py> + Send + 'static,
    {
        self.spawn_coroutine_inner(Some(timeout), make)
    }

    fn spawn_coroutine_inner<T, F>(
        &self,
        timeout: Option<std::time::Duration>,
        make: F,
    ) -> super::Call<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<Object<'py, Any>> + Send + 'static,
        T: for<'a, 'py> FromPython<'a, 'py> + Send + 'static,
    {
        let cell = CallCell::<T>::new(timeout);
        let job = job(&self.shared, cell.clone(), make);
        self.submit(job, cell)
    }
}
