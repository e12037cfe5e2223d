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
//! The host's own interpreter encodes the arguments and decodes the results (`marshal`):
//! start it before making tasks or calling a pool.
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
//!   its channel fails the call it was running with [`Error::WorkerCrashed`](crate::Error::WorkerCrashed) (exit status or
//!   signal, last lines of stderr) and is started again for the next call. Calls still queued
//!   are never lost: they wait for a worker.
//! - After a crash the next worker starts after a backoff that doubles with each crash in a
//!   row ([`ProcessBuilder::restart_backoff`]); past [`ProcessBuilder::max_restarts`]
//!   crashes within a window, a circuit breaker fails calls at once with
//!   [`Error::CircuitOpen`](crate::Error::CircuitOpen) until a cool-down has passed.
//! - A call past its deadline is interrupted as in-process (`SIGINT`, which the worker's
//!   Python turns into `KeyboardInterrupt` in the running code) and the caller gets
//!   [`Error::Timeout`](crate::Error::Timeout); if the worker has not answered after the grace period (code blocked
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
mod cgroup;
mod pool;
mod serve;
mod slot;
mod task;
mod wire;

pub use pool::{ProcessBuilder, ProcessCall, ProcessPool, ProcessStats, WorkerInfo};
pub use serve::{in_worker, send_to_host, serve_if_worker};
pub use task::Task;

/// The variable that makes a start of the host binary a worker: the socket to connect to.
const WORKER_VAR: &str = "PYHOST_PROCESS_WORKER";

/// The variable that carries a worker's address-space cap, in bytes.
const MEMORY_VAR: &str = "PYHOST_PROCESS_MEMORY";

/// How many lines of a worker's stderr are kept for [`Error::WorkerCrashed`](crate::Error::WorkerCrashed)(crate::Error::WorkerCrashed).
const STDERR_LINES: usize = 20;
