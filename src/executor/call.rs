//! One call's shared state: its control block (lifecycle, deadline, interruption) and the typed
//! slot its result lands in, plus the [`Call`] future and a runtime-free [`block_on`].

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{Counters, Shared};
use crate::{Error, Python, Result};

pub(crate) const QUEUED: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const TIMED_OUT: u8 = 2;
pub(crate) const CANCELLED: u8 = 3;
pub(crate) const STUCK: u8 = 4;
pub(crate) const DONE: u8 = 5;

/// The lifecycle of one call, shared by the caller, the worker and the supervisor.
pub(crate) struct Control {
    pub(crate) state: AtomicU8,
    pub(crate) timeout: Option<Duration>,
    /// When the call started running, in [`raw::os::monotonic_nanos`](crate::raw::os::monotonic_nanos)
    /// (0 before).
    started: AtomicU64,
    /// When an interruption was requested (deadline passed or cancelled).
    pub(crate) interrupted_at: Mutex<Option<Instant>>,
    /// Set (with the GIL held) once an asynchronous exception was scheduled for the call.
    pub(crate) async_exc_sent: AtomicBool,
    /// Cancels a running coroutine call on its worker's loop.
    pub(crate) on_cancel: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl Control {
    pub(crate) fn new(timeout: Option<Duration>) -> Control {
        Control {
            state: AtomicU8::new(QUEUED),
            timeout,
            started: AtomicU64::new(0),
            interrupted_at: Mutex::new(None),
            async_exc_sent: AtomicBool::new(false),
            on_cancel: std::sync::OnceLock::new(),
        }
    }

    /// Moves from `from` to `to`; false if the state was something else.
    pub(crate) fn transition(&self, from: u8, to: u8) -> bool {
        self.state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// The deadline, once running.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let timeout = self.timeout?;
        let now = Instant::now();
        let started = now.checked_sub(self.running_for()?).unwrap_or(now);
        Some(started + timeout)
    }

    /// How long the call has run, once it started.
    fn running_for(&self) -> Option<Duration> {
        match self.started.load(Ordering::Acquire) {
            0 => None,
            at => Some(Duration::from_nanos(
                crate::raw::os::monotonic_nanos().saturating_sub(at),
            )),
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.running_for().unwrap_or_default()
    }

    /// Records when the call started running, in
    /// [`raw::os::monotonic_nanos`](crate::raw::os::monotonic_nanos) (a call runs once).
    pub(crate) fn start(&self, at: u64) {
        self.started.store(at.max(1), Ordering::Release);
    }

    /// The error a call ends with when it was stopped, if it was.
    pub(crate) fn stop_error(&self) -> Option<Error> {
        match self.state() {
            TIMED_OUT => Some(Error::Timeout {
                after: self.timeout.unwrap_or_default(),
            }),
            CANCELLED => Some(Error::Cancelled),
            STUCK => Some(Error::Stuck {
                after: self.elapsed(),
            }),
            _ => None,
        }
    }
}

/// One call's shared state in one allocation: its control block, the slot of its result and,
/// for a plain call, its closure until a worker takes it to run it (so that a call costs one
/// allocation, not a second one for a boxed closure).
pub(crate) struct CallCell<T, J = NoJob> {
    pub(crate) control: Control,
    pub(crate) slot: Slot<T>,
    job: Mutex<Option<J>>,
}

/// The cell of a call whose job is not in it (a coroutine call's, boxed in its [`Job`](super::Job)).
pub(crate) struct NoJob;

/// A plain call's closure, in its cell.
pub(crate) struct Plain<F>(F);

impl<T: Send> CallCell<T> {
    pub(crate) fn new(timeout: Option<Duration>) -> Arc<CallCell<T>> {
        CallCell::with_job(timeout, None)
    }
}

impl<T: Send, F> CallCell<T, Plain<F>>
where
    F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
{
    /// The cell of a plain call running `f`.
    pub(crate) fn plain(timeout: Option<Duration>, f: F) -> Arc<CallCell<T, Plain<F>>> {
        CallCell::with_job(timeout, Some(Plain(f)))
    }
}

impl<T: Send, J> CallCell<T, J> {
    fn with_job(timeout: Option<Duration>, job: Option<J>) -> Arc<CallCell<T, J>> {
        Arc::new(CallCell {
            control: Control::new(timeout),
            slot: Slot::new(),
            job: Mutex::new(job),
        })
    }

    /// Ends the call with `e` unless it has an outcome already.
    pub(crate) fn resolve(&self, e: Error) {
        self.slot.fill(Ok(Err(e)));
    }
}

/// A call's cell whatever its result type, as the queue, the workers and the supervisor see it.
pub(crate) trait AnyCall: Send + Sync {
    fn control(&self) -> &Control;
    /// Ends the call with `e` unless it has an outcome already.
    fn resolve(&self, e: Error);
    /// Runs a plain call's closure (once; nothing for other calls), with the GIL held.
    fn run(&self, py: Python<'_>, counters: &Counters);
}

/// A call's cell as its caller sees it: typed by its result, whatever its closure.
pub(crate) trait CallOf<T>: AnyCall {
    fn slot(&self) -> &Slot<T>;
}

/// What a worker runs from a call's cell: a plain call's closure, or nothing.
pub(crate) trait RunIn<T>: Send + Sized {
    fn run(cell: &CallCell<T, Self>, py: Python<'_>, counters: &Counters);
}

impl<T> RunIn<T> for NoJob {
    fn run(_: &CallCell<T, NoJob>, _: Python<'_>, _: &Counters) {}
}

impl<T: Send, F> RunIn<T> for Plain<F>
where
    F: for<'py> FnOnce(Python<'py>) -> Result<T> + Send + 'static,
{
    fn run(cell: &CallCell<T, Plain<F>>, py: Python<'_>, counters: &Counters) {
        let job = cell.job.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(Plain(f)) = job else {
            return;
        };
        let r = catch_unwind(AssertUnwindSafe(|| f(py)));
        // A call stopped by its deadline or cancelled ends with that error, whatever the
        // Python code did with the interruption. A finished one is counted before its caller
        // can see the result, so that `stats()` agrees with what callers saw.
        if cell.control.transition(RUNNING, DONE) {
            counters.calls_run.fetch_add(1, Ordering::Relaxed);
            cell.slot.fill(r);
        } else {
            let e = cell.control.stop_error().unwrap_or(Error::Cancelled);
            cell.resolve(e);
        }
    }
}

impl<T: Send, J: RunIn<T>> AnyCall for CallCell<T, J> {
    fn control(&self) -> &Control {
        &self.control
    }

    fn resolve(&self, e: Error) {
        CallCell::resolve(self, e);
    }

    fn run(&self, py: Python<'_>, counters: &Counters) {
        J::run(self, py, counters);
    }
}

impl<T: Send, J: RunIn<T>> CallOf<T> for CallCell<T, J> {
    fn slot(&self) -> &Slot<T> {
        &self.slot
    }
}

/// A shared handle to a call's control block (it dereferences to [`Control`]), which can also
/// end the call with an error whatever its result type.
#[derive(Clone)]
pub(crate) struct ControlRef(Arc<dyn AnyCall>);

impl ControlRef {
    pub(crate) fn of<C: AnyCall + 'static>(cell: &Arc<C>) -> ControlRef {
        ControlRef(cell.clone())
    }

    /// Runs a plain call's closure (see [`AnyCall::run`]).
    pub(crate) fn run(&self, py: Python<'_>, counters: &Counters) {
        self.0.run(py, counters);
    }

    /// Ends the call with `e` unless it has an outcome already.
    pub(crate) fn resolve(&self, e: Error) {
        self.0.resolve(e)
    }

    /// Whether both are the same call.
    pub(crate) fn same(&self, other: &ControlRef) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn downgrade(&self) -> WeakControl {
        WeakControl(Arc::downgrade(&self.0))
    }
}

impl std::ops::Deref for ControlRef {
    type Target = Control;

    fn deref(&self) -> &Control {
        self.0.control()
    }
}

/// A [`ControlRef`] that does not keep the call alive.
pub(crate) struct WeakControl(std::sync::Weak<dyn AnyCall>);

impl WeakControl {
    pub(crate) fn upgrade(&self) -> Option<ControlRef> {
        self.0.upgrade().map(ControlRef)
    }
}

/// What running a call produced: its result, or the panic it raised (resumed in the caller).
pub(crate) type Produced<T> = std::thread::Result<Result<T>>;

/// A [`Produced`] as its slot keeps it: the value, or what went wrong, boxed. An [`Error`] is
/// large and rare; a small outcome keeps a successful call's moves (into the slot, out of it,
/// to its caller) short.
pub(crate) type Outcome<T> = std::result::Result<T, Box<Failure>>;

/// How a call failed.
pub(crate) enum Failure {
    Error(Error),
    Panic(Box<dyn std::any::Any + Send>),
}

fn outcome<T>(produced: Produced<T>) -> Outcome<T> {
    match produced {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Box::new(Failure::Error(e))),
        Err(payload) => Err(Box::new(Failure::Panic(payload))),
    }
}

/// Where a call's result lands.
pub(crate) struct Slot<T> {
    state: Mutex<SlotState<T>>,
    ready: Condvar,
}

struct SlotState<T> {
    outcome: Option<Outcome<T>>,
    waker: Option<Waker>,
    /// A thread waits in [`Slot::wait`]: only then is `ready` notified (a notification is a
    /// futex system call even when nobody waits).
    blocked: bool,
}

impl<T> Slot<T> {
    fn new() -> Slot<T> {
        Slot {
            state: Mutex::new(SlotState {
                outcome: None,
                waker: None,
                blocked: false,
            }),
            ready: Condvar::new(),
        }
    }

    /// Stores the outcome unless one is already there (the first writer wins).
    pub(crate) fn fill(&self, produced: Produced<T>) {
        let outcome = outcome(produced);
        let (waker, blocked) = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.outcome.is_some() {
                return;
            }
            s.outcome = Some(outcome);
            (s.waker.take(), s.blocked)
        };
        if blocked {
            self.ready.notify_all();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Blocks until the outcome is there.
    pub(crate) fn wait(&self) -> Outcome<T> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(o) = s.outcome.take() {
                return o;
            }
            s.blocked = true;
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match s.outcome.take() {
            Some(o) => Poll::Ready(o),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Unwraps an outcome, resuming a panic of the call in the caller.
pub(crate) fn finish<T>(o: Outcome<T>) -> Result<T> {
    match o {
        Ok(v) => Ok(v),
        Err(failure) => match *failure {
            Failure::Error(e) => Err(e),
            Failure::Panic(payload) => std::panic::resume_unwind(payload),
        },
    }
}

/// A call submitted to an [`Executor`](super::Executor): a future of its result. It needs no
/// particular async runtime. Dropping it before it completes cancels the call: a queued call
/// never runs, a running one is interrupted.
#[must_use = "dropping a Call cancels it"]
pub struct Call<T> {
    pub(crate) phase: Phase<T>,
}

pub(crate) enum Phase<T> {
    /// Not queued yet: waiting for room in the queue.
    /// (Boxed: rare, and it would make every call's future larger.)
    Submitting(Box<Submitting<T>>),
    /// Queued or running.
    Waiting {
        cell: Arc<dyn CallOf<T>>,
        shared: Arc<Shared>,
    },
    /// Finished (the outcome was taken) or failed to submit (boxed: rare, and an `Error` is
    /// large).
    Done(Option<Box<Error>>),
}

/// A call waiting for room in the queue.
pub(crate) struct Submitting<T> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) job: Option<super::Job>,
    pub(crate) cell: Arc<dyn CallOf<T>>,
}

impl<T> Unpin for Call<T> {}

impl<T> Future for Call<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        loop {
            match &mut self.phase {
                Phase::Submitting(sub) => match sub.shared.try_enqueue_or_wait(&mut sub.job, cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        self.phase = Phase::Done(None);
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(Ok(())) => {
                        let (cell, shared) = (sub.cell.clone(), sub.shared.clone());
                        self.phase = Phase::Waiting { cell, shared };
                    }
                },
                Phase::Waiting { cell, .. } => {
                    return match cell.slot().poll(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(o) => {
                            self.phase = Phase::Done(None);
                            Poll::Ready(finish(o))
                        }
                    };
                }
                Phase::Done(e) => {
                    return Poll::Ready(Err(e.take().map_or(Error::Cancelled, |e| *e)));
                }
            }
        }
    }
}

impl<T> Drop for Call<T> {
    fn drop(&mut self) {
        if let Phase::Waiting { cell, shared } = &self.phase {
            shared.cancel_with(cell.control(), &|e| cell.resolve(e));
        }
    }
}

/// Runs a future to completion on the current thread, without an async runtime.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// let ex = pyhost::Executor::builder().workers(1).build()?;
/// let n = pyhost::executor::block_on(ex.spawn(|py| py.eval("2 ** 10")?.extract::<u32>()))?;
/// assert_eq!(n, 1024);
/// # Ok::<(), pyhost::Error>(())
/// ```
pub fn block_on<F: Future>(fut: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    /// A call's future stays small: tokio moves it into each task. Four words: the call's
    /// cell (a pointer and the vtable that erases its closure) and the executor.
    #[test]
    fn a_call_future_is_four_words() {
        assert!(
            std::mem::size_of::<super::Call<u64>>() <= 4 * std::mem::size_of::<usize>(),
            "Call<u64> is {} bytes",
            std::mem::size_of::<super::Call<u64>>()
        );
    }
}
