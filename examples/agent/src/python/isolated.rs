//! Checks with `isolation: process`: they run in worker processes (this binary started again,
//! [`pyhost::process`]), so that `os._exit`, a segfault, an abort, memory without bound or
//! code stuck in C cost a worker process, never the agent, and the run reports what happened.
//!
//! A worker has the same builtin modules as the agent. Its `aggregator` keeps nothing: each
//! submission goes to the agent over the worker's channel as it is made
//! ([`pyhost::process::send_to_host`]), so what a check submitted before its worker died
//! still reaches the agent. Each worker keeps the check objects it loaded, so a check's state
//! lasts across runs as in-process, until its worker is replaced.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyhost::process::{ProcessCall, ProcessPool, Task};
use pyhost::types::Module;
use pyhost::{Error, Object};

use super::{Outcome, builtins, ensure_base, run_instance};
use crate::aggregator::{Aggregator, Batch};
use crate::config::{AgentConfig, InstanceConfig};
use crate::report::{CheckError, ErrorKind};

/// The channel topic of submissions.
const TOPIC: &str = "aggregator";

/// A run's outcome as it crosses from a worker: the warnings, and the error as its kind,
/// message and traceback.
pub(super) type Remote = (Vec<String>, Option<(String, String, Option<String>)>);

/// In a worker process of the agent, serves check runs until the agent goes away and exits;
/// in the agent, returns at once. Call before anything else that starts Python.
pub fn serve_if_worker(cfg: &AgentConfig) {
    let forward =
        Aggregator::forwarding(|check_id: &str, batch: &Batch| {
            match serde_json::to_vec(&(check_id, batch)) {
                Ok(data) => {
                    if let Err(e) = pyhost::process::send_to_host(TOPIC, &data) {
                        log::warn!("{check_id}: a submission could not reach the agent: {e}");
                    }
                }
                Err(e) => log::warn!("{check_id}: a submission could not be encoded: {e}"),
            }
        });
    let state = builtins::AgentState::new(Arc::new(cfg.clone()), Arc::new(forward));
    let worker = Arc::new(WorkerState {
        base_dir: cfg.python_base_dir.clone(),
        based: OnceLock::new(),
        checks: Mutex::new(HashMap::new()),
    });
    let served = pyhost::process::serve_if_worker(|b| {
        let mut b = builtins::register(b, &state)
            .builtin_module("_agent_worker", worker_module::builtin(worker))
            .program_name("pyhost-agent")
            .module_path(&cfg.checks_dir);
        if let Some(venv) = &cfg.venv {
            b = b.venv(venv);
        }
        b
    });
    if let Err(e) = served {
        eprintln!("pyhost-agent worker: {e:#}");
        std::process::exit(70);
    }
}

/// What the worker keeps across runs.
struct WorkerState {
    /// The bundled `datadog_checks.base`, used when the environment has none.
    base_dir: PathBuf,
    /// Whether the worker was made ready for checks (`datadog_checks.base` found).
    based: OnceLock<pyhost::Result<()>>,
    /// Loaded check objects, by interpreter id and check id.
    checks: Mutex<HashMap<(i64, String), super::Loaded>>,
}

/// `_agent_worker.run_check(check, check_id, init_config_json, instance_json)`: loads the
/// check (once per worker) and runs it; returns the warnings and the error, if any.
#[pyhost::function]
fn run_check(
    #[pyhost(state)] worker: &Arc<WorkerState>,
    py: pyhost::Python<'_>,
    check: &str,
    check_id: &str,
    init_config: &str,
    instance: &str,
) -> pyhost::Result<Remote> {
    let based = worker.based.get_or_init(|| {
        // A check that crashes the worker leaves its Python traceback on stderr, which the
        // agent reports with the crash.
        // (Without the C stack CPython 3.14 adds: the Python frames are the last lines.)
        py.exec(
            "import faulthandler\ntry:\n    faulthandler.enable(c_stack=False)\n\
             except TypeError:\n    faulthandler.enable()",
        )?;
        ensure_base(py, &worker.base_dir)
    });
    let based = based.as_ref().map_err(|e| format!("{e:#}"));
    if let Err(e) = based {
        return Ok(to_remote((
            Vec::new(),
            Some(CheckError::new(
                ErrorKind::Load,
                format!("datadog_checks.base cannot be imported in the worker: {e}"),
            )),
        )));
    }
    let json = |what: &str, text: &str| {
        serde_json::from_str(text)
            .map_err(|e| Error::value_error(format!("{what} is not JSON: {e}")))
    };
    let inst = InstanceConfig {
        check: check.to_owned(),
        check_id: check_id.to_owned(),
        init_config: json("init_config", init_config)?,
        instance: json("instance", instance)?,
        interval: Duration::ZERO,
        timeout: Duration::ZERO,
        isolation: None,
    };
    run_instance(py, &worker.checks, &inst).map(to_remote)
}

#[pyhost::module(name = "_agent_worker", state = Arc<WorkerState>)]
fn worker_module(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(run_check))
}

fn to_remote((warnings, error): Outcome) -> Remote {
    (
        warnings,
        error.map(|e| (e.kind.name().to_owned(), e.message, e.traceback)),
    )
}

/// The outcome of a run in a worker, or what became of the worker.
pub(super) fn outcome(result: pyhost::Result<Remote>, timeout: Duration) -> Outcome {
    match result {
        Ok((warnings, error)) => (
            warnings,
            error.map(|(kind, message, traceback)| CheckError {
                kind: ErrorKind::from_name(&kind).unwrap_or(ErrorKind::Internal),
                message,
                traceback,
            }),
        ),
        Err(Error::WorkerCrashed {
            code,
            signal,
            stderr,
        }) => {
            let how = match (code, signal) {
                (_, Some(sig)) => format!("was killed by signal {sig} ({})", signal_name(sig)),
                (Some(code), None) => format!("exited with status {code}"),
                (None, None) => "went away".to_owned(),
            };
            let mut e = CheckError::new(
                ErrorKind::Crashed,
                format!("the check's worker process {how}; the agent carries on"),
            );
            if !stderr.is_empty() {
                e = e.with_traceback(format!(
                    "last lines of the worker's stderr:\n{}",
                    stderr.join("\n")
                ));
            }
            (Vec::new(), Some(e))
        }
        Err(Error::Timeout { .. }) => (
            Vec::new(),
            Some(CheckError::new(
                ErrorKind::Timeout,
                format!(
                    "the check ran longer than its timeout of {timeout:?}: it was interrupted, \
                     and its worker process replaced"
                ),
            )),
        ),
        Err(e @ Error::CircuitOpen { .. }) => (
            Vec::new(),
            Some(CheckError::new(ErrorKind::Crashed, e.to_string())),
        ),
        Err(e) => super::outcome(Err(e), timeout),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL, the OOM killer or a deadline",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Crashes of one instance within this window ...
const CRASH_WINDOW: Duration = Duration::from_secs(60);
/// ... past this many ...
const MAX_CRASHES: usize = 5;
/// ... and the instance is not run for this long (its runs fail at once), so that a check in
/// a crash loop does not keep the workers restarting for the others.
const CRASH_COOLDOWN: Duration = Duration::from_secs(30);

/// The worker processes of the agent.
pub(super) struct Workers {
    pool: ProcessPool,
    /// Recent crashes, by check id: a circuit breaker per instance (the pool's own breaker,
    /// for all calls, is kept for workers that cannot start at all).
    crashes: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Workers {
    /// Starts the pool (the processes start with the first runs); submissions from workers
    /// go to `aggregator`.
    pub(super) fn start(cfg: &AgentConfig, aggregator: Arc<Aggregator>) -> pyhost::Result<Workers> {
        let program = std::env::current_exe().map_err(|source| Error::Io {
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?;
        let mut builder = ProcessPool::builder()
            .workers(cfg.process_workers)
            .grace(Duration::from_secs(2))
            .max_restarts(50, CRASH_WINDOW)
            // A worker reads the same settings as the agent: the same arguments.
            .command(program, std::env::args().skip(1))
            .on_message(TOPIC, move |data| {
                match serde_json::from_slice::<(String, Batch)>(data) {
                    Ok((check_id, batch)) => aggregator.merge(&check_id, batch),
                    Err(e) => log::warn!("a worker sent a submission that does not decode: {e}"),
                }
            });
        if let Some(bytes) = cfg.process_memory_limit {
            builder = builder.memory_limit(bytes);
        }
        if let Some(n) = cfg.process_max_runs {
            builder = builder.max_calls_per_worker(n);
        }
        Ok(Workers {
            pool: builder.build()?,
            crashes: Mutex::new(HashMap::new()),
        })
    }

    /// Starts one run of `inst` on a worker, unless the instance crashed its worker too
    /// often lately.
    pub(super) fn submit(
        &self,
        inst: &InstanceConfig,
        timeout: Duration,
    ) -> Result<ProcessCall<Remote>, CheckError> {
        {
            let mut crashes = self.crashes.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(times) = crashes.get_mut(&inst.check_id) {
                let now = Instant::now();
                while times.front().is_some_and(|t| now - *t > CRASH_WINDOW) {
                    times.pop_front();
                }
                let last = times.back().copied();
                if let Some(last) = last.filter(|_| times.len() >= MAX_CRASHES) {
                    if now - last < CRASH_COOLDOWN {
                        return Err(CheckError::new(
                            ErrorKind::Crashed,
                            format!(
                                "not run: its worker process crashed {} times within {}s; \
                                 next try in {}s",
                                times.len(),
                                CRASH_WINDOW.as_secs(),
                                (CRASH_COOLDOWN - (now - last)).as_secs() + 1
                            ),
                        ));
                    }
                    times.clear();
                }
            }
        }
        self.send(inst, timeout).map_err(|e| {
            CheckError::new(
                ErrorKind::Internal,
                format!("the run could not be sent to a worker process: {e}"),
            )
        })
    }

    /// Counts the run's crash, if it crashed its worker.
    pub(super) fn finished(&self, check_id: &str, outcome: &Outcome) {
        let crashed = outcome
            .1
            .as_ref()
            .is_some_and(|e| e.kind == ErrorKind::Crashed);
        if crashed {
            self.crashes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(check_id.to_owned())
                .or_default()
                .push_back(Instant::now());
        }
    }

    fn send(
        &self,
        inst: &InstanceConfig,
        timeout: Duration,
    ) -> pyhost::Result<ProcessCall<Remote>> {
        let task = Task::new(
            "_agent_worker:run_check",
            (
                inst.check.as_str(),
                inst.check_id.as_str(),
                inst.init_config.to_string(),
                inst.instance.to_string(),
            ),
        )?;
        Ok(self.pool.spawn_timeout(timeout, &task))
    }

    /// Ends the worker processes.
    pub(super) fn shutdown(&self) {
        if let Err(e) = self.pool.shutdown() {
            log::warn!("the worker processes did not shut down cleanly: {e}");
        }
    }
}
