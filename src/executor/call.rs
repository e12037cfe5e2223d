//! One call's shared state: its control block (lifecycle, deadline, interruption) and the typed
//! slot its result lands in, plus the [`Call`] future and a runtime-free [`block_on`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::Shared;
use crate::{Error, Result};

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

/// One call's shared state in one allocation: its control block and the slot of its result.
pub(crate) struct CallCell<T> {
    pub(crate) control: Control,
    pub(crate) slot: Slot<T>,
}

impl<T: Send> CallCell<T> {
    pub(crate) fn new(timeout: Option<Duration>) -> Arc<CallCell<T>> {
        Arc::new(CallCell {
            control: Control::new(timeout),
            slot: Slot::new(),
        })
    }
}

impl<T> CallCell<T> {
    /// Ends the call with `e` unless it has an outcome already.
    pub(crate) fn resolve(&self, e: Error) {
        self.slot.fill(Ok(Err(e)));
    }
}

/// A call's cell whatever its result type, as the queue, the workers and the supervisor see it.
trait AnyCall: Send + Sync {
    fn control(&self) -> &Control;
    /// Ends the call with `e` unless it has an outcome already.
    fn resolve(&self, e: Error);
}

impl<T: Send> AnyCall for CallCell<T> {
    fn control(&self) -> &Control {
        &self.control
    }

    fn resolve(&self, e: Error) {
        CallCell::resolve(self, e);
    }
}

/// A shared handle to a call's control block (it dereferences to [`Control`]), which can also
/// end the call with an error whatever its result type.
#[derive(Clone)]
pub(crate) struct ControlRef(Arc<dyn AnyCall>);

impl ControlRef {
    pub(crate) fn of<T: Send + 'static>(cell: &Arc<CallCell<T>>) -> ControlRef {
        ControlRef(cell.clone())
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

/// What a call produced: its result, or the panic it raised (resumed in the caller).
pub(crate) type Outcome<T> = std::thread::Result<Result<T>>;

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
    pub(crate) fn fill(&self, outcome: Outcome<T>) {
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
        Ok(r) => r,
        Err(payload) => std::panic::resume_unwind(payload),
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
        cell: Arc<CallCell<T>>,
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
    pub(crate) cell: Arc<CallCell<T>>,
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
                    return match cell.slot.poll(cx) {
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
            shared.cancel_with(&cell.control, &|e| cell.resolve(e));
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
    /// A call's future stays small: tokio moves it into each task.
    #[test]
    fn a_call_future_is_three_words() {
        assert!(
            std::mem::size_of::<super::Call<u64>>() <= 3 * std::mem::size_of::<usize>(),
            "Call<u64> is {} bytes",
            std::mem::size_of::<super::Call<u64>>()
        );
    }
}
