//! One call's shared state: its control block (lifecycle, deadline, interruption) and the typed
//! slot its result lands in, plus the [`Call`] future and a runtime-free [`block_on`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
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
    /// When the call started running.
    started: std::sync::OnceLock<Instant>,
    /// When an interruption was requested (deadline passed or cancelled).
    pub(crate) interrupted_at: Mutex<Option<Instant>>,
    /// Set (with the GIL held) once an asynchronous exception was scheduled for the call.
    pub(crate) async_exc_sent: AtomicBool,
    /// The caller's slot, filled with an error whatever the result type (the slot itself
    /// behind a trait object: no allocation of its own).
    resolve: Arc<dyn Resolve>,
    /// Cancels a running coroutine call on its worker's loop.
    pub(crate) on_cancel: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl Control {
    pub(crate) fn new(timeout: Option<Duration>, resolve: Arc<dyn Resolve>) -> Control {
        Control {
            state: AtomicU8::new(QUEUED),
            timeout,
            started: std::sync::OnceLock::new(),
            interrupted_at: Mutex::new(None),
            async_exc_sent: AtomicBool::new(false),
            resolve,
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
        Some(*self.started.get()? + self.timeout?)
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.get().map(Instant::elapsed).unwrap_or_default()
    }

    /// Records when the call started running (once: a call runs once).
    pub(crate) fn start(&self, at: Instant) {
        let _ = self.started.set(at);
    }

    pub(crate) fn resolve(&self, e: Error) {
        self.resolve.resolve(e)
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

/// A slot of any result type, as the control block fills it with an error.
pub(crate) trait Resolve: Send + Sync {
    /// Ends the call with `e` unless it has an outcome already.
    fn resolve(&self, e: Error);
}

impl<T: Send> Resolve for Slot<T> {
    fn resolve(&self, e: Error) {
        self.fill(Ok(Err(e)));
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
    pub(crate) fn new() -> Arc<Slot<T>> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                outcome: None,
                waker: None,
                blocked: false,
            }),
            ready: Condvar::new(),
        })
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
    Submitting {
        shared: Arc<Shared>,
        job: Option<super::Job>,
        control: Arc<Control>,
        slot: Arc<Slot<T>>,
    },
    /// Queued or running.
    Waiting {
        control: Arc<Control>,
        slot: Arc<Slot<T>>,
        shared: Arc<Shared>,
    },
    /// Finished (the outcome was taken) or failed to submit.
    Done(Option<Error>),
}

impl<T> Unpin for Call<T> {}

impl<T> Future for Call<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        loop {
            match &mut self.phase {
                Phase::Submitting {
                    shared,
                    job,
                    control,
                    slot,
                } => match shared.try_enqueue_or_wait(job, cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        self.phase = Phase::Done(None);
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(Ok(())) => {
                        let (control, slot, shared) =
                            (control.clone(), slot.clone(), shared.clone());
                        self.phase = Phase::Waiting {
                            control,
                            slot,
                            shared,
                        };
                    }
                },
                Phase::Waiting { slot, .. } => {
                    return match slot.poll(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(o) => {
                            self.phase = Phase::Done(None);
                            Poll::Ready(finish(o))
                        }
                    };
                }
                Phase::Done(e) => {
                    return Poll::Ready(Err(e.take().unwrap_or(Error::Cancelled)));
                }
            }
        }
    }
}

impl<T> Drop for Call<T> {
    fn drop(&mut self) {
        if let Phase::Waiting {
            control, shared, ..
        } = &self.phase
        {
            shared.cancel(control);
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
