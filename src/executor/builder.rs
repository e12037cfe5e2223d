//! The configuration of an [`Executor`]: pool size, queue, deadlines, and where workers run
//! Python (the main interpreter, or a subinterpreter each).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::place::{self, Placement, Setup};
use super::{Executor, Queue, Refusal, Shared, ShutdownMode, StatsInner, supervisor};
use crate::{Error, Python, Result, with_gil};

/// Configuration for [`Executor::builder`].
#[derive(Debug, Clone)]
#[must_use = "call .build() to start the workers"]
pub struct Builder {
    workers: usize,
    queue_capacity: usize,
    default_timeout: Option<Duration>,
    grace: Duration,
    name: String,
    placement: Placement,
}

impl Builder {
    /// Number of worker threads (default 2).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Calls that may wait in the queue (default 1024). Beyond that, [`Executor::try_spawn`]
    /// fails with [`Error::QueueFull`] and the other ways of submitting wait for room.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }

    /// The deadline of calls submitted without one (default: none).
    pub fn default_timeout(mut self, t: Duration) -> Self {
        self.default_timeout = Some(t);
        self
    }

    /// How long an interrupted call may take to stop before it is reported as stuck and its
    /// worker replaced (default 2 s).
    pub fn grace(mut self, t: Duration) -> Self {
        self.grace = t;
        self
    }

    /// The worker threads' name prefix (default `pyhost-worker`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Replace `time.sleep` with a version a deadline can interrupt (default true). On
    /// threads that are not executor workers it behaves exactly like the original.
    pub fn interruptible_sleep(mut self, on: bool) -> Self {
        self.placement.interruptible_sleep = on;
        self
    }

    /// Gives each worker its own [subinterpreter](crate::subinterpreter) made from `config`
    /// (CPython 3.12+): with an own GIL (the default config), the workers run Python in
    /// parallel, one core each. Calls, deadlines, cancellation and shutdown work as on the
    /// main interpreter; closures capture Rust values, and results come back as Rust values
    /// (an `Unbound` made in a worker's interpreter cannot be used elsewhere). Each worker
    /// imports what it needs itself: put common imports and `sys.path` changes in
    /// [`Builder::setup`].
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::subinterpreter::InterpreterConfig;
    /// if pyhost::subinterpreter::supported() {
    ///     let pool = pyhost::Executor::builder()
    ///         .workers(2)
    ///         .subinterpreters(InterpreterConfig::default())
    ///         .setup(|py| py.exec("import math"))
    ///         .build()?;
    ///     let calls: Vec<_> = (0..4).map(|i| pool.spawn(move |py| {
    ///         py.eval(&format!("sum(range({i} * 1000))"))?.extract::<u64>()
    ///     })).collect();
    ///     let sums: Vec<u64> = calls.into_iter().map(|c| pyhost::executor::block_on(c)).collect::<Result<_, _>>()?;
    ///     assert_eq!(sums[2], (0..2000).sum::<u64>());
    ///     assert_eq!(pool.stats().subinterpreters, 2);
    /// }
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn subinterpreters(mut self, config: crate::subinterpreter::InterpreterConfig) -> Self {
        self.placement.subinterpreters = Some(config);
        self
    }

    /// Runs `setup` in each worker's interpreter when the worker starts (and when a stuck one
    /// is replaced), before any call: imports, `sys.path`, configuration. With
    /// subinterpreters it runs once per interpreter; an `ImportError` of an extension module
    /// that refuses subinterpreters becomes [`Error::RefusesSubinterpreters`], handled as
    /// [`Builder::on_refusal`] says. Other errors make [`Builder::build`] fail.
    pub fn setup<F>(mut self, setup: F) -> Self
    where
        F: Fn(Python<'_>) -> Result<()> + Send + Sync + 'static,
    {
        self.placement.setup = Some(Setup(Arc::new(move |py| {
            setup(py).map_err(crate::subinterpreter::refusal)
        })));
        self
    }

    /// What a worker does when its setup fails because an extension module refuses
    /// subinterpreters (default [`Refusal::Fail`]).
    pub fn on_refusal(mut self, r: Refusal) -> Self {
        self.placement.on_refusal = r;
        self
    }

    /// Starts the workers, and waits until each has prepared its interpreter.
    ///
    /// # Errors
    /// [`Error::NotInitialized`] or [`Error::Finalized`] when the interpreter is not running;
    /// an error from installing the interruptible `time.sleep`; with subinterpreters,
    /// [`Error::Unsupported`] before CPython 3.12, and what creating an interpreter or the
    /// setup hook returns.
    pub fn build(self) -> Result<Executor> {
        if self.placement.subinterpreters.is_some() && !crate::subinterpreter::supported() {
            return Err(place::unsupported());
        }
        with_gil(|py| {
            supervisor::interrupt_exception(py)?;
            if self.placement.interruptible_sleep {
                supervisor::install_sleep(py)?;
            }
            Ok(())
        })?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
                space_wakers: Vec::new(),
                idle: 0,
                full_waiters: 0,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity: self.queue_capacity,
            workers: Mutex::new(Vec::new()),
            stats: StatsInner::default(),
            default_timeout: self.default_timeout,
            grace: self.grace,
            name: self.name,
            supervisor: supervisor::Supervisor::new(),
            worker_seq: AtomicUsize::new(0),
            placement: self.placement,
            refusal: Mutex::new(None),
            looping: AtomicUsize::new(0),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for _ in 0..self.workers {
            shared.spawn_worker(Some(ready_tx.clone()));
        }
        drop(ready_tx);
        supervisor::start(&shared);
        let executor = Executor {
            shared,
            shut_down: Arc::new(AtomicBool::new(false)),
        };
        // Every worker reports once; a worker that could not start reports by hanging up.
        let mut first_error = None;
        for _ in 0..self.workers {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert(Error::runtime_error(
                        "an executor worker thread could not start",
                    ));
                    break;
                }
            }
        }
        match first_error {
            None => Ok(executor),
            Some(e) => {
                let _ = executor.shutdown(ShutdownMode::Cancel);
                Err(e)
            }
        }
    }
}

impl Executor {
    /// A builder with the defaults: 2 workers, a queue of 1024, no default deadline, 2 s grace.
    pub fn builder() -> Builder {
        Builder {
            workers: 2,
            queue_capacity: 1024,
            default_timeout: None,
            grace: Duration::from_secs(2),
            name: "pyhost-worker".to_owned(),
            placement: Placement {
                interruptible_sleep: true,
                ..Placement::default()
            },
        }
    }
}
