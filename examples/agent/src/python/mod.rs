//! Python checks: the embedded interpreter, the builtin modules, and loading and running
//! `AgentCheck` subclasses the way the Datadog Agent's rtloader does.

mod builtins;
mod isolated;
mod load;

use load::{Loaded, python_error, run_instance};

pub use isolated::serve_if_worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyhost::conversion::serde::to_python;
use pyhost::executor::{Call, ShutdownMode};
use pyhost::subinterpreter::{self, InterpreterConfig};
use pyhost::types::{Any, Module, Tuple};
use pyhost::{Error, ExceptionKind, Executor, Interpreter, Object, PyErr, Python, Unbound};

use crate::aggregator::Aggregator;
use crate::config::{AgentConfig, InstanceConfig, Isolation};
use crate::report::{CheckError, ErrorKind};

/// The embedded Python of the agent.
///
/// Checks run on interpreters with their own GIL when CPython has them (3.12+) and the
/// configuration allows (`subinterpreters`): one subinterpreter per worker, each instance
/// pinned to one of them (its check object, and so its state between runs, lives there). A
/// check whose imports refuse subinterpreters (an extension module with single-phase
/// initialization, such as psutil or pydantic-core today) runs on the main interpreter's
/// workers instead, and the reason is logged once per check.
pub struct Runtime(Arc<Inner>);

struct Inner {
    /// Workers on the main interpreter.
    main: Executor,
    /// One single-worker pool per subinterpreter (empty when subinterpreters are off).
    subs: Vec<Executor>,
    /// Loaded check objects, by interpreter id and check id.
    checks: Mutex<HashMap<(i64, String), Loaded>>,
    /// Which subinterpreter runs each instance, by check id.
    pinned: Mutex<HashMap<String, usize>>,
    /// Checks that must run on the main interpreter, with the reason.
    refused: Mutex<HashMap<String, String>>,
    /// Worker processes, for checks with `isolation: process` (started when one is
    /// configured).
    workers: Option<isolated::Workers>,
    /// Where checks run unless configured otherwise.
    isolation: Isolation,
}

/// What a run returns: the check's warnings and its error, if any.
type Outcome = (Vec<String>, Option<CheckError>);

/// When a run started and ended on its worker: the run's own duration, whatever its caller
/// waited for before or after.
#[derive(Default)]
struct Timing(Mutex<(Option<Instant>, Option<Instant>)>);

impl Timing {
    fn mark(&self, end: bool) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Some(Instant::now());
        if end { t.1 = now } else { t.0 = now }
    }

    /// From the start to the end (or to now, for a run that never ended: stuck, cancelled).
    fn duration(&self) -> Duration {
        match *self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            (Some(s), Some(e)) => e.duration_since(s),
            (Some(s), None) => s.elapsed(),
            (None, _) => Duration::ZERO,
        }
    }
}

/// A finished run.
pub struct Finished {
    /// The check's warnings and error.
    pub outcome: Outcome,
    /// Where it ran: `main`, `subinterpreter` or `process`.
    pub interpreter: &'static str,
    /// How long it ran (in a worker process: from its submission).
    pub duration: Duration,
}

/// A Python check run in progress.
pub struct PendingRun {
    call: Pending,
    timing: Arc<Timing>,
    submitted: Instant,
    timeout: Duration,
    /// The subinterpreter pool it runs on (`None`: the main interpreter).
    sub: Option<usize>,
    inst: InstanceConfig,
    rt: Arc<Inner>,
}

/// Set when the agent starts stopping (the first SIGINT or SIGTERM): the runs still waited
/// for are cancelled, so that the agent exits within the executor's grace period instead of
/// after the slowest check.
pub static STOPPING: AtomicBool = AtomicBool::new(false);

/// Where a run runs.
enum Pending {
    /// On an interpreter of the agent.
    InProcess(Call<Outcome>),
    /// In a worker process.
    Process(pyhost::process::ProcessCall<isolated::Remote>),
    /// It could not start.
    Failed(CheckError),
}

/// Waits for `call` like `block_on`, but cancels it (by dropping it) once [`STOPPING`] is set.
fn wait_unless_stopping<T>(
    call: impl std::future::Future<Output = pyhost::Result<T>>,
) -> pyhost::Result<T> {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut call = std::pin::pin!(call);
    loop {
        if let Poll::Ready(v) = call.as_mut().poll(&mut cx) {
            return v;
        }
        if STOPPING.load(Ordering::SeqCst) {
            // Dropping the call cancels it: the worker interrupts what it runs.
            return Err(Error::Cancelled);
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

impl PendingRun {
    /// Waits for the run to end; returns its outcome and the kind of interpreter that ran it.
    pub fn wait(self) -> Finished {
        let started = Instant::now();
        let kind = if self.sub.is_some() {
            "subinterpreter"
        } else {
            "main"
        };
        let call = match self.call {
            Pending::InProcess(call) => call,
            Pending::Process(call) => {
                let outcome = isolated::outcome(wait_unless_stopping(call), self.timeout);
                if let Some(w) = &self.rt.workers {
                    w.finished(&self.inst.check_id, &outcome);
                }
                return Finished {
                    outcome,
                    interpreter: "process",
                    duration: self.submitted.elapsed(),
                };
            }
            Pending::Failed(e) => {
                return Finished {
                    outcome: (Vec::new(), Some(e)),
                    interpreter: "process",
                    duration: Duration::ZERO,
                };
            }
        };
        let result = wait_unless_stopping(call);
        if let Err(Error::RefusesSubinterpreters { module, .. }) = &result {
            // First run of a check that cannot live in a subinterpreter: from now on it
            // runs on the main interpreter. Said once per check.
            let why = format!(
                "check '{}' runs on the main interpreter: extension module '{module}' cannot \
                 be loaded in a subinterpreter",
                self.inst.check
            );
            let mut refused = self.rt.refused.lock().unwrap_or_else(|e| e.into_inner());
            if refused
                .insert(self.inst.check.clone(), why.clone())
                .is_none()
            {
                log::info!("{why}");
            }
            drop(refused);
            let rest = self.timeout.saturating_sub(started.elapsed());
            let again = self
                .rt
                .submit_to(&self.inst, None, rest.max(Duration::from_millis(1)));
            return again.wait();
        }
        Finished {
            outcome: outcome(result, self.timeout),
            interpreter: kind,
            duration: self.timing.duration(),
        }
    }
}

/// How long an interrupted check has to stop before its worker thread is given up as stuck.
const GRACE: Duration = Duration::from_secs(1);

/// The outcome of a finished run.
fn outcome(result: pyhost::Result<Outcome>, timeout: Duration) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(Error::Timeout { .. }) => (
            Vec::new(),
            Some(CheckError::new(
                ErrorKind::Timeout,
                format!("the check ran longer than its timeout of {timeout:?} and was cancelled"),
            )),
        ),
        Err(Error::Cancelled) if STOPPING.load(Ordering::SeqCst) => (
            Vec::new(),
            Some(CheckError::new(
                ErrorKind::Cancelled,
                "the agent is stopping: the run was cancelled".to_owned(),
            )),
        ),
        Err(Error::Stuck { after }) => (
            Vec::new(),
            Some(CheckError::new(
                ErrorKind::Timeout,
                format!(
                    "the check ran longer than its timeout of {timeout:?} and did not stop when \
                     interrupted: it is blocked in native code ({after:?} in all), so its worker \
                     thread was left to it and replaced; `isolation: process` ends such a check \
                     for certain"
                ),
            )),
        ),
        Err(e) => (Vec::new(), Some(python_error(&e))),
    }
}

/// Whether checks run on subinterpreters: the `subinterpreters` setting (default: when this
/// CPython has them).
fn use_subinterpreters(cfg: &AgentConfig) -> bool {
    let wanted = cfg.subinterpreters.unwrap_or(true);
    if wanted && !subinterpreter::supported() {
        if cfg.subinterpreters == Some(true) {
            log::warn!(
                "`subinterpreters: true` needs CPython 3.12+; this agent runs Python {}: checks \
                 share the main interpreter's GIL",
                pyhost::ffi::build_info::PYTHON_VERSION
            );
        }
        return false;
    }
    wanted
}

impl Runtime {
    /// Starts the interpreter (with the configured venv), the executor and the builtin
    /// modules, and makes `datadog_checks.base` importable.
    pub fn start(
        cfg: Arc<AgentConfig>,
        aggregator: Arc<Aggregator>,
        needs_workers: bool,
    ) -> Result<Runtime, String> {
        let state = builtins::AgentState::new(cfg.clone(), aggregator.clone());
        let mut builder = builtins::register(Interpreter::builder(), &state)
            .program_name("pyhost-agent")
            .module_path(&cfg.checks_dir);
        if let Some(venv) = &cfg.venv {
            builder = builder.venv(venv);
        }
        builder.start().map_err(|e| e.to_string())?;
        let main = Executor::builder()
            .workers(cfg.workers)
            .name("agent-python")
            .grace(GRACE)
            .build()
            .map_err(|e| e.to_string())?;
        let base_dir = cfg.python_base_dir.clone();
        let path: Vec<String> = main
            .run(move |py| {
                ensure_base(py, &base_dir)?;
                py.import("sys")?.getattr("path")?.extract()
            })
            .map_err(|e| format!("{e:#}"))?;
        let mut subs = Vec::new();
        if use_subinterpreters(&cfg) {
            for i in 0..cfg.workers {
                subs.push(sub_pool(i, &path).map_err(|e| format!("{e:#}"))?);
            }
        }
        log::info!(
            "Python {} ready ({})",
            pyhost::ffi::build_info::PYTHON_VERSION,
            if subs.is_empty() {
                format!("{} workers on one GIL", cfg.workers)
            } else {
                format!("{} subinterpreters with their own GIL", subs.len())
            }
        );
        let workers = if needs_workers {
            let w = isolated::Workers::start(&cfg, aggregator).map_err(|e| format!("{e:#}"))?;
            log::info!(
                "checks with `isolation: process` run in {} worker processes{}",
                cfg.process_workers,
                cfg.process_memory_limit
                    .map(|b| format!(" of at most {} MiB each", b >> 20))
                    .unwrap_or_default()
            );
            Some(w)
        } else {
            None
        };
        Ok(Runtime(Arc::new(Inner {
            main,
            subs,
            checks: Mutex::new(HashMap::new()),
            pinned: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            workers,
            isolation: cfg.isolation,
        })))
    }

    /// Starts one run of an instance: on its subinterpreter, or on the main interpreter when
    /// there are none or its check refuses them.
    pub fn submit(&self, inst: &InstanceConfig) -> PendingRun {
        let rt = &self.0;
        if inst.isolation.unwrap_or(rt.isolation) == Isolation::Process {
            let call = match &rt.workers {
                Some(w) => match w.submit(inst, inst.timeout) {
                    Ok(call) => Pending::Process(call),
                    Err(e) => Pending::Failed(e),
                },
                None => Pending::Failed(CheckError::new(
                    ErrorKind::Internal,
                    "no worker processes were started".to_owned(),
                )),
            };
            return PendingRun {
                call,
                timing: Arc::default(),
                submitted: Instant::now(),
                timeout: inst.timeout,
                sub: None,
                inst: inst.clone(),
                rt: rt.clone(),
            };
        }
        let sub = if rt.subs.is_empty()
            || rt
                .refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(&inst.check)
        {
            None
        } else {
            // An instance stays on one subinterpreter (its check object lives there); a new
            // one goes to the subinterpreter with the fewest instances.
            let mut pinned = rt.pinned.lock().unwrap_or_else(|e| e.into_inner());
            let n = rt.subs.len();
            let next = match pinned.get(&inst.check_id) {
                Some(i) => *i,
                None => {
                    let mut load = vec![0usize; n];
                    for i in pinned.values() {
                        load[*i] += 1;
                    }
                    let least = (0..n).min_by_key(|i| load[*i]).unwrap_or(0);
                    pinned.insert(inst.check_id.clone(), least);
                    least
                }
            };
            Some(next)
        };
        rt.submit_to(inst, sub, inst.timeout)
    }

    /// Cancels what is still running and finalizes the interpreter.
    pub fn shutdown(self) {
        let rt = &self.0;
        if let Some(w) = &rt.workers {
            w.shutdown();
        }
        // Check objects are Python objects: drop them before their interpreters go.
        rt.checks.lock().unwrap_or_else(|e| e.into_inner()).clear();
        for pool in &rt.subs {
            if let Err(e) = pool.shutdown(ShutdownMode::Cancel) {
                log::warn!("a subinterpreter did not shut down cleanly: {e}");
            }
        }
        if let Err(e) = rt.main.shutdown_and_finalize(ShutdownMode::Cancel) {
            log::warn!("Python did not shut down cleanly: {e}");
        }
    }
}

impl Inner {
    fn submit_to(
        self: &Arc<Self>,
        inst: &InstanceConfig,
        sub: Option<usize>,
        timeout: Duration,
    ) -> PendingRun {
        let rt = self.clone();
        let job_inst = inst.clone();
        let executor = match sub {
            Some(i) => &self.subs[i],
            None => &self.main,
        };
        let timing = Arc::new(Timing::default());
        let t = timing.clone();
        let call = executor.spawn_timeout(timeout, move |py| {
            t.mark(false);
            let r = run_instance(py, &rt.checks, &job_inst);
            t.mark(true);
            r
        });
        PendingRun {
            call: Pending::InProcess(call),
            timing,
            submitted: Instant::now(),
            timeout,
            sub,
            inst: inst.clone(),
            rt: self.clone(),
        }
    }
}

/// A pool of one worker with its own subinterpreter, whose `sys.path` is the main one's
/// (with `datadog_checks.base` and the venv's packages).
fn sub_pool(i: usize, path: &[String]) -> pyhost::Result<Executor> {
    let path = path.to_vec();
    Executor::builder()
        .workers(1)
        .name(format!("agent-sub{i}"))
        .grace(GRACE)
        .subinterpreters(InterpreterConfig::default())
        .setup(move |py| {
            let ns = pyhost::types::Dict::new(py);
            ns.set_item("paths", path.clone())?;
            py.exec_with("import sys\nsys.path[:] = paths", &ns, None)?;
            warm_up(py)?;
            py.import("datadog_checks.base").map(drop)
        })
        .build()
}

/// Starts the interpreter as for checks and describes it (`--python-info`).
pub fn info(cfg: AgentConfig) -> Result<serde_json::Value, String> {
    let rt = Runtime::start(Arc::new(cfg), Arc::new(Aggregator::default()), false)?;
    let subs = rt.0.subs.len();
    let info =
        rt.0.main
            .run(move |py| {
                let sys = py.import("sys")?;
                let s = |name: &str| -> pyhost::Result<String> { sys.getattr(name)?.extract() };
                Ok(serde_json::json!({
                    "version": s("version")?,
                    "built_against": pyhost::ffi::build_info::PYTHON_VERSION,
                    "executable": s("executable")?,
                    "prefix": s("prefix")?,
                    "base_prefix": s("base_prefix")?,
                    "path": sys.getattr("path")?.extract::<Vec<String>>()?,
                    "subinterpreters": subs,
                "datadog_checks_base": py
                        .import("datadog_checks.base")?
                        .filename()?
                        .unwrap_or_default(),
                }))
            })
            .map_err(|e| format!("{e:#}"));
    rt.shutdown();
    info
}

/// Formats a traceback once, so that what formatting imports lazily (`_colorize` and
/// `dataclasses` on 3.15) is imported now: under a memory cap, a check's `MemoryError` would
/// otherwise fail again while its traceback is formatted.
fn warm_up(py: Python<'_>) -> pyhost::Result<()> {
    let ns = py.new_namespace()?;
    py.exec_with(
        "import traceback\ntry:\n    raise ValueError('warm-up')\nexcept ValueError:\n    traceback.format_exc()",
        &ns,
        None,
    )
}

/// Imports `datadog_checks.base`; when the environment has none, uses the bundled one.
fn ensure_base(py: Python<'_>, bundled: &std::path::Path) -> pyhost::Result<()> {
    warm_up(py)?;
    // Said once by the agent, not again by each worker process.
    let level = if pyhost::process::in_worker() {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    match py.import("datadog_checks.base") {
        Ok(m) => {
            log::log!(
                level,
                "using datadog_checks.base from {}",
                m.filename()?.unwrap_or_default()
            );
            Ok(())
        }
        Err(Error::Python(e)) if e.type_name() == "ModuleNotFoundError" => {
            let sys = py.import("sys")?;
            sys.getattr("path")?.call_method1("append", (bundled,))?;
            // A `datadog_checks` made of namespace portions only (check packages in checks.d,
            // no base) would not take in the bundled package: import it afresh.
            let modules = sys.getattr("modules")?;
            let dc = modules.call_method1("get", ("datadog_checks",))?;
            let namespace_only =
                !dc.is_none() && dc.getattr_opt("__file__")?.is_none_or(|f| f.is_none());
            if namespace_only {
                modules.del_item("datadog_checks")?;
            }
            let m = py.import("datadog_checks.base")?;
            log::log!(
                level,
                "using the bundled datadog_checks.base ({})",
                m.filename()?.unwrap_or_default()
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}
