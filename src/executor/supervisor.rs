//! The supervisor: watches deadlines and cancellations, has running calls interrupted, reports
//! calls that do not stop as stuck and replaces their workers. Interruptions need the GIL, so
//! they are made by a separate interrupter thread: the supervisor itself never waits for the
//! GIL, and keeps its timing even if a call holds the GIL forever.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::call::{CANCELLED, ControlRef, RUNNING, STUCK, TIMED_OUT};
use super::{CURRENT_WORKER, Shared, Worker};
use crate::helper::Helper;
use crate::raw::interp::PerInterp;
use crate::types::{Any, Dict, Function, Tuple};
use crate::{Borrowed, Error, IntoPython, Object, PyErr, Python, Result, raw, with_gil};

pub(crate) struct Supervisor {
    state: Mutex<SupState>,
    cv: Condvar,
}

#[derive(Default)]
struct SupState {
    stop: bool,
    notified: bool,
}

impl Supervisor {
    pub(crate) fn new() -> Supervisor {
        Supervisor {
            state: Mutex::new(SupState::default()),
            cv: Condvar::new(),
        }
    }

    /// Something changed (a call started with a deadline, or was cancelled): look again.
    pub(crate) fn notify(&self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .notified = true;
        self.cv.notify_all();
    }

    pub(crate) fn stop(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.cv.notify_all();
    }
}

/// Starts the supervisor and interrupter threads of an executor.
pub(crate) fn start(shared: &Arc<Shared>) {
    let (tx, rx) = mpsc::channel::<(Arc<Worker>, ControlRef)>();
    let _ = std::thread::Builder::new()
        .name(format!("{}-interrupter", shared.name))
        .spawn(move || {
            for (worker, control) in rx {
                interrupt(&worker, &control);
                // Interrupts are rare, and the interpreter may be finalized before this
                // thread ends: keep no thread state between them.
                crate::gil::release_thread_state();
            }
        });
    let shared = shared.clone();
    let _ = std::thread::Builder::new()
        .name(format!("{}-supervisor", shared.name))
        .spawn(move || supervise(&shared, &tx));
}

fn supervise(shared: &Arc<Shared>, interrupter: &mpsc::Sender<(Arc<Worker>, ControlRef)>) {
    loop {
        let now = Instant::now();
        let mut next = now + Duration::from_secs(1);
        let workers: Vec<Arc<Worker>> = shared
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for w in workers {
            let current = w.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let Some(c) = current else { continue };
            if c.state() == RUNNING {
                match c.deadline() {
                    Some(d) if now >= d && c.transition(RUNNING, TIMED_OUT) => {
                        shared.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(d) => next = next.min(d),
                    None => {}
                }
            }
            if matches!(c.state(), TIMED_OUT | CANCELLED) {
                let mut at = c.interrupted_at.lock().unwrap_or_else(|e| e.into_inner());
                match *at {
                    None => {
                        *at = Some(now);
                        next = next.min(now + shared.grace);
                        let _ = interrupter.send((w.clone(), c.clone()));
                    }
                    Some(t) if now >= t + shared.grace => {
                        drop(at);
                        give_up(shared, &w, &c);
                    }
                    Some(t) => next = next.min(t + shared.grace),
                }
            }
        }
        let mut st = shared
            .supervisor
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if st.stop {
            return;
        }
        if !st.notified {
            let wait = next.saturating_duration_since(Instant::now());
            st = shared
                .supervisor
                .cv
                .wait_timeout(st, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.notified = false;
        if st.stop {
            return;
        }
    }
}

/// The call did not stop after being interrupted: report it stuck, retire its worker and start
/// another, so the pool keeps its size.
fn give_up(shared: &Arc<Shared>, worker: &Arc<Worker>, control: &ControlRef) {
    let after = control.elapsed();
    control.state.store(STUCK, Ordering::Release);
    shared.stats.stuck.fetch_add(1, Ordering::Relaxed);
    worker.retired.store(true, Ordering::Release);
    shared
        .workers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|w| !Arc::ptr_eq(w, worker));
    let closed = shared
        .queue
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .closed;
    if !closed {
        shared.spawn_worker(None);
        shared
            .stats
            .workers_replaced
            .fetch_add(1, Ordering::Relaxed);
    }
    // Last, so a caller that sees the error also sees the pool already repaired.
    control.resolve(Error::Stuck { after });
}

/// Raises `pyhost.CallInterrupted` in the worker's Python code and wakes an interruptible
/// sleep. Runs on the interrupter thread; for a worker in a subinterpreter, the exception is
/// raised from that interpreter's helper thread (a thread can only reach the threads of the
/// interpreter it runs in).
fn interrupt(worker: &Arc<Worker>, control: &ControlRef) {
    #[cfg(py_3_12)]
    {
        let remote = worker
            .remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(remote) = remote {
            let (w, c) = (worker.clone(), control.clone());
            remote.run(move |py| {
                let _ = raise_interruption(py, &w, &c);
            });
            wake(worker);
            return;
        }
    }
    let _ = with_gil(|py| raise_interruption(py, worker, control));
    wake(worker);
}

/// Raises `pyhost.CallInterrupted` in the worker, if `control` is still its current call.
fn raise_interruption(py: Python<'_>, worker: &Arc<Worker>, control: &ControlRef) -> Result<()> {
    let exc = interrupt_exception(py)?;
    // The worker publishes and clears its current call with its interpreter's GIL held, and
    // we hold that GIL now: if the call is still current, the exception lands in it and
    // nowhere else.
    if !is_current_call(worker, control) {
        return Ok(());
    }
    let ident = worker.ident.load(Ordering::Acquire);
    // A thread waiting in a green-thread hub (eventlet, gevent) or an asyncio selector runs no
    // bytecode, so an asynchronous exception would wait with it. Those waits are woken from
    // here, by the helper. Not once a subinterpreter exists: `sys._current_frames()` then
    // makes frame objects for the threads of every interpreter, in the calling one's
    // allocator, which corrupts the heaps of interpreters with their own (found on 3.12: a
    // double free).
    if !crate::raw::interp::subs_exist() {
        let (w, c) = (Arc::downgrade(worker), control.downgrade());
        let still = Function::new(py, "_pyhost_still_stopping", None, move |py, _, _| {
            let current = match (w.upgrade(), c.upgrade()) {
                (Some(w), Some(c)) => is_stopping(&w, &c),
                _ => false,
            };
            current.into_python(py)
        })?;
        let thrown: bool = WAKE
            .get(py, "wake")?
            .call1((ident, &exc, still))?
            .extract()?;
        if thrown {
            // The hub throws the exception into the call's greenlet itself.
            return Ok(());
        }
    }
    // The helper ran Python code, which may have let the worker run on: only if the call is
    // still current does the exception land in it.
    if is_current_call(worker, control) {
        raw::set_async_exc(py, ident, Some(&exc));
        control.async_exc_sent.store(true, Ordering::Release);
    }
    Ok(())
}

fn is_current_call(worker: &Worker, control: &ControlRef) -> bool {
    worker
        .current
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|c| c.same(control))
}

/// `control` is still the worker's current call, stopped (so an exception thrown later into
/// its greenlet cannot hit the next call).
fn is_stopping(worker: &Worker, control: &ControlRef) -> bool {
    is_current_call(worker, control) && matches!(control.state(), TIMED_OUT | CANCELLED)
}

/// Wakes an interruptible sleep (it re-checks the call's state).
fn wake(worker: &Worker) {
    let _guard = worker.current.lock().unwrap_or_else(|e| e.into_inner());
    worker.wake.notify_all();
}

/// Wakes what a thread waits in, found from its stack (nothing is imported to look):
/// - an asyncio loop (a `run_forever` frame): its tasks are cancelled from its own thread
///   (`call_soon_threadsafe` writes to the loop's self-pipe); the asynchronous exception is
///   raised too.
/// - a gevent hub (its `run` frame): `exc` is thrown into the hub's parent, the greenlet that
///   runs the call, by a callback (`run_callback_threadsafe` wakes the loop).
/// - an eventlet hub (its `wait` frame): the same with a timer of the hub, which a pipe
///   registered with its poller wakes; an idle hub sleeps in pyhost's interruptible sleep
///   (see [`install_sleep`]), which the interrupter wakes.
///
/// True when `exc` is thrown by the hub (no asynchronous exception then).
static WAKE: Helper = Helper::new(
    r#"
import sys

def wake(ident, exc, still):
    frame = sys._current_frames().get(ident)
    aio = sys.modules.get("asyncio")
    gevent_hub = sys.modules.get("gevent.hub")
    eventlet_hub = sys.modules.get("eventlet.hubs.hub")
    while frame is not None:
        name = frame.f_code.co_name
        if name in ("run_forever", "run", "wait"):
            owner = frame.f_locals.get("self")
            if name == "run_forever" and aio is not None:
                if isinstance(owner, aio.AbstractEventLoop) and not owner.is_closed():
                    _cancel_tasks(aio, owner)
                    return False
            if name == "run" and gevent_hub is not None and isinstance(owner, gevent_hub.Hub):
                return _gevent(owner, exc, still)
            if name == "wait" and eventlet_hub is not None:
                if isinstance(owner, eventlet_hub.BaseHub):
                    return _eventlet(owner, exc, still)
        frame = frame.f_back
    return False

def _cancel_tasks(aio, loop):
    def cancel():
        for task in aio.all_tasks(loop):
            task.cancel()
    loop.call_soon_threadsafe(cancel)

def _gevent(hub, exc, still):
    target = hub.parent
    if target is None:
        return False
    def throw():
        if still():
            target.throw(exc)
    hub.loop.run_callback_threadsafe(throw)
    return True

def _eventlet(hub, exc, still):
    target = hub.greenlet.parent
    if target is None:
        return False
    import posix
    poller = getattr(hub, "poll", None)
    pipe = None
    if poller is not None and hasattr(poller, "register"):
        pipe = posix.pipe()
    def throw():
        if pipe is not None:
            try:
                poller.unregister(pipe[0])
            except (OSError, ValueError, KeyError):
                pass
            posix.close(pipe[0])
            posix.close(pipe[1])
        if still():
            target.throw(exc)
    hub.schedule_call_global(0, throw)
    if pipe is not None:
        # Level-triggered readable until `throw` unregisters it: the poll ends now.
        poller.register(pipe[0], 1)
        posix.write(pipe[1], b"!")
    return True
"#,
);

static CALL_INTERRUPTED: PerInterp<Any> = PerInterp::new();

/// `pyhost.CallInterrupted`, the exception raised in calls stopped by a deadline or a
/// cancellation. It derives from `BaseException`, so `except Exception` does not swallow it.
pub(crate) fn interrupt_exception(py: Python<'_>) -> Result<Object<'_, Any>> {
    let class = CALL_INTERRUPTED.get_or_try_init(py, || {
        raw::new_exception_class(
            &raw::exception_class!(py, PyExc_BaseException),
            c"pyhost.CallInterrupted",
            c"Raised in Python code whose call was stopped by its deadline or cancelled.",
        )
    })?;
    Ok(class.to_owned())
}

impl Worker {
    /// Sleeps for `d` unless the current call is stopped first; true when interrupted.
    fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let stopped = current
                .as_ref()
                .is_some_and(|c| matches!(c.state(), TIMED_OUT | CANCELLED | STUCK));
            if stopped {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            current = self
                .wake
                .wait_timeout(current, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Replaces `time.sleep` with a version that executor workers can interrupt. Elsewhere it calls
/// the original.
///
/// It also gives eventlet an interruptible `time` for its hub: eventlet's hub sleeps with the
/// `time.sleep` of `eventlet.patcher.original("time")` when it has no file to watch, and that
/// function returns the module stored as `sys.modules["__original_module_time"]` when there is
/// one. There, the sleep of a worker whose call is stopped returns early (the hub then runs the
/// timer that throws the interruption into the call's greenlet).
pub(crate) fn install_sleep(py: Python<'_>) -> Result<()> {
    let time = py.import("time")?;
    if time.hasattr("_pyhost_original_sleep")? {
        return Ok(());
    }
    let current = time.getattr("sleep")?;
    let f = interruptible_sleep(py, &current, true)?;
    let modules = py.import("sys")?.getattr("modules")?;
    const ORIGINAL_TIME: &str = "__original_module_time";
    if !modules
        .call_method1("__contains__", (ORIGINAL_TIME,))?
        .is_truthy()?
    {
        let copy = py
            .import("types")?
            .getattr("ModuleType")?
            .call1(("time",))?;
        copy.getattr("__dict__")?
            .call_method1("update", (time.getattr("__dict__")?,))?;
        copy.setattr("sleep", interruptible_sleep(py, &current, false)?)?;
        modules.set_item(ORIGINAL_TIME, copy)?;
    }
    time.setattr("_pyhost_original_sleep", &current)?;
    time.setattr("sleep", f)
}

/// A `time.sleep` that an executor worker's stopped call wakes: it raises
/// `pyhost.CallInterrupted` then (`raise_it`), or returns early.
fn interruptible_sleep<'py>(
    py: Python<'py>,
    original: &Object<'py, Any>,
    raise_it: bool,
) -> Result<Object<'py, crate::types::Callable>> {
    let original = original.clone().unbind();
    Function::new(
        py,
        "sleep",
        Some(
            "sleep(seconds)\n--\n\nDelay execution for a given number of seconds (interruptible by a pyhost deadline).",
        ),
        move |py: Python<'_>,
              args: Borrowed<'_, '_, Tuple>,
              kwargs: Option<Borrowed<'_, '_, Dict>>| {
            let worker = CURRENT_WORKER.with(|w| w.borrow().clone());
            let Some(worker) = worker else {
                return original.bind(py).call(&*args, kwargs.as_deref());
            };
            if args.len() != 1 || kwargs.is_some_and(|k| !k.is_empty()) {
                return Err(Error::type_error(format!(
                    "sleep() takes exactly one argument ({} given)",
                    args.len()
                )));
            }
            let secs: f64 = args.get(0)?.extract()?;
            if secs.is_nan() {
                return Err(Error::value_error("Invalid value NaN (not a number)"));
            }
            if secs < 0.0 {
                return Err(Error::value_error("sleep length must be non-negative"));
            }
            let d = Duration::try_from_secs_f64(secs)
                .map_err(|_| Error::overflow_error("sleep length is too large"))?;
            let interrupted = py.allow_threads(|| worker.sleep(d));
            if interrupted && raise_it {
                // Raise it here, now, rather than leave the scheduled one pending.
                // Clears this thread's pending asynchronous exception.
                raw::set_async_exc(py, worker.ident.load(Ordering::Acquire), None);
                let class = crate::ExceptionType::custom(&interrupt_exception(py)?)?;
                return Err(
                    PyErr::new(class, "the call was stopped by its deadline or cancelled").into(),
                );
            }
            Ok(py.none().into_any())
        },
    )
}
