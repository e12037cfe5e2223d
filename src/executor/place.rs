//! Where a worker runs Python: the main interpreter, or a subinterpreter of its own (own GIL,
//! CPython 3.12+), prepared by the pool's setup hook.

use std::sync::Arc;

use super::{Shared, Worker, supervisor};
use crate::subinterpreter::InterpreterConfig;
use crate::{Error, Python, Result, with_gil};

/// What to do when a worker's subinterpreter cannot be prepared because an extension module
/// refuses subinterpreters ([`Error::RefusesSubinterpreters`], raised by the setup hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refusal {
    /// [`Builder::build`](super::Builder::build) fails with that error (the default).
    #[default]
    Fail,
    /// That worker runs its calls in the main interpreter instead (sharing the main GIL), and
    /// [`Stats::in_main_interpreter`](super::Stats::in_main_interpreter) counts it.
    MainInterpreter,
}

/// The per-worker setup hook of a pool.
#[derive(Clone)]
pub(crate) struct Setup(pub(crate) Arc<dyn Fn(Python<'_>) -> Result<()> + Send + Sync>);

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Setup(..)")
    }
}

/// How the workers of a pool run Python.
#[derive(Debug, Clone, Default)]
pub(crate) struct Placement {
    pub(crate) subinterpreters: Option<InterpreterConfig>,
    pub(crate) setup: Option<Setup>,
    pub(crate) on_refusal: Refusal,
    pub(crate) interruptible_sleep: bool,
}

/// The interpreter a worker runs in, owned by the worker's thread.
pub(crate) enum Place {
    Main,
    #[cfg(py_3_12)]
    Sub(crate::subinterpreter::Subinterpreter),
}

impl Place {
    /// Makes the worker's interpreter on this (the worker's) thread and prepares it.
    pub(crate) fn make(shared: &Shared, worker: &Worker) -> Result<Place> {
        let p = &shared.placement;
        if let Some(config) = &p.subinterpreters {
            match Place::sub(config, p, worker) {
                Err(e @ Error::RefusesSubinterpreters { .. })
                    if p.on_refusal == Refusal::MainInterpreter =>
                {
                    let mut why = shared.refusal.lock().unwrap_or_else(|e| e.into_inner());
                    if why.is_none() {
                        *why = Some(e.to_string());
                    }
                }
                other => return other,
            }
        }
        with_gil(|py| {
            name_in_python(py)?;
            match &p.setup {
                Some(setup) => (setup.0)(py),
                None => Ok(()),
            }
        })?;
        // Counted only for pools meant to run on subinterpreters.
        worker.in_main.store(
            p.subinterpreters.is_some(),
            std::sync::atomic::Ordering::Release,
        );
        Ok(Place::Main)
    }

    #[cfg(py_3_12)]
    fn sub(config: &InterpreterConfig, p: &Placement, worker: &Worker) -> Result<Place> {
        let mut sub = crate::subinterpreter::Subinterpreter::new(config)?;
        let remote = sub.remote()?;
        sub.with_gil(|py| {
            name_in_python(py)?;
            supervisor::interrupt_exception(py)?;
            if p.interruptible_sleep {
                supervisor::install_sleep(py)?;
            }
            match &p.setup {
                Some(setup) => (setup.0)(py),
                None => Ok(()),
            }
        })?;
        *worker.remote.lock().unwrap_or_else(|e| e.into_inner()) = Some(remote);
        Ok(Place::Sub(sub))
    }

    #[cfg(not(py_3_12))]
    fn sub(_: &InterpreterConfig, _: &Placement, _: &Worker) -> Result<Place> {
        let _ = supervisor::install_sleep;
        Err(unsupported())
    }

    /// Runs `f` in the worker's interpreter.
    #[inline]
    pub(crate) fn with_gil<T>(
        &self,
        f: impl for<'py> FnOnce(Python<'py>) -> Result<T>,
    ) -> Result<T> {
        match self {
            Place::Main => with_gil(f),
            #[cfg(py_3_12)]
            Place::Sub(s) => s.with_gil(f),
        }
    }
}

/// Gives this thread's Rust name to its Python side, so `threading.current_thread().name`
/// (and tracebacks, logging's `threadName`) show `pyhost-executor-0`, not `Dummy-1`.
fn name_in_python(py: Python<'_>) -> Result<()> {
    match std::thread::current().name() {
        Some(name) => py
            .import("threading")?
            .call_method0("current_thread")?
            .setattr("name", name),
        None => Ok(()),
    }
}

/// The error of a pool with subinterpreters on a CPython without them.
pub(crate) fn unsupported() -> Error {
    crate::subinterpreter::unsupported(
        "an Executor with subinterpreters",
        "drop `.subinterpreters(..)` to run every worker on the main interpreter's GIL",
    )
}
