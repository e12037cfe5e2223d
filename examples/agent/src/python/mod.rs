//! Python checks: the embedded interpreter, the builtin modules, and loading and running
//! `AgentCheck` subclasses the way the Datadog Agent's rtloader does.

mod builtins;
mod isolated;

pub use isolated::serve_if_worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    checks: Mutex<HashMap<(i64, String), Unbound>>,
    /// Which subinterpreter runs each instance, by check id.
    pinned: Mutex<HashMap<String, usize>>,
    /// Checks that must run on the main interpreter, with the reason.
    refused: Mutex<HashMap<String, String>>,
    next: AtomicUsize,
    /// Worker processes, for checks with `isolation: process` (started when one is
    /// configured).
    workers: Option<isolated::Workers>,
    /// Where checks run unless configured otherwise.
    isolation: Isolation,
}

/// What a run returns: the check's warnings and its error, if any.
type Outcome = (Vec<String>, Option<CheckError>);

/// A Python check run in progress.
pub struct PendingRun {
    call: Pending,
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
    pub fn wait(self) -> (Outcome, &'static str) {
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
                return (outcome, "process");
            }
            Pending::Failed(e) => return ((Vec::new(), Some(e)), "process"),
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
        (outcome(result, self.timeout), kind)
    }
}

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
        Err(e @ Error::Stuck { .. }) => (
            Vec::new(),
            Some(CheckError::new(ErrorKind::Internal, e.to_string())),
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
            .grace(Duration::from_secs(2))
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
            next: AtomicUsize::new(0),
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
            let mut pinned = rt.pinned.lock().unwrap_or_else(|e| e.into_inner());
            let n = rt.subs.len();
            Some(
                *pinned
                    .entry(inst.check_id.clone())
                    .or_insert_with(|| rt.next.fetch_add(1, Ordering::Relaxed) % n),
            )
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
        let call =
            executor.spawn_timeout(timeout, move |py| run_instance(py, &rt.checks, &job_inst));
        PendingRun {
            call: Pending::InProcess(call),
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
        .grace(Duration::from_secs(2))
        .subinterpreters(InterpreterConfig::default())
        .setup(move |py| {
            let ns = pyhost::types::Dict::new(py);
            ns.set_item("paths", path.clone())?;
            py.exec_with("import sys\nsys.path[:] = paths", &ns, None)?;
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

/// Imports `datadog_checks.base`; when the environment has none, uses the bundled one.
fn ensure_base(py: Python<'_>, bundled: &std::path::Path) -> pyhost::Result<()> {
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
            py.import("sys")?
                .getattr("path")?
                .call_method1("append", (bundled,))?;
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

/// Loads the check object of an instance (once) and runs it.
fn run_instance(
    py: Python<'_>,
    checks: &Mutex<HashMap<(i64, String), Unbound>>,
    inst: &InstanceConfig,
) -> pyhost::Result<Outcome> {
    let key = (subinterpreter::interpreter_id(py), inst.check_id.clone());
    let existing = checks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .map(|c| c.clone_ref(py));
    let check = match existing {
        Some(c) => c.into_bound(py),
        None => match load_check(py, inst) {
            Ok(c) => {
                checks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, c.clone().unbind());
                c
            }
            Err(Load::Refused(e)) => return Err(e),
            Err(Load::Failed(e)) => return Ok((Vec::new(), Some(e))),
        },
    };
    let _current = builtins::CurrentCheck::enter(&inst.check_id);
    let error = match check.call_method0("run") {
        Err(e @ (Error::Timeout { .. } | Error::Cancelled)) => return Err(e),
        Err(e) => Some(python_error(&e)),
        Ok(result) => run_result(&result),
    };
    let warnings = match check.getattr_opt("get_warnings")? {
        Some(f) => f
            .call0()
            .and_then(|w| w.extract::<Vec<String>>())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Ok((warnings, error))
}

/// What `AgentCheck.run()` returned: `""` for success, else a JSON list of
/// `{"message", "traceback"}`.
fn run_result(result: &Object<'_, Any>) -> Option<CheckError> {
    let Ok(text) = result.extract::<String>() else {
        return Some(CheckError::new(
            ErrorKind::Internal,
            format!(
                "run() returned {} instead of a str",
                result
                    .get_type()
                    .getattr("__name__")
                    .and_then(|n| n.extract::<String>())
                    .unwrap_or_default()
            ),
        ));
    };
    if text.is_empty() {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(errors)) if !errors.is_empty() => {
            let first = &errors[0];
            let message = first
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or(&text)
                .to_owned();
            let traceback = first
                .get("traceback")
                .and_then(|t| t.as_str())
                .unwrap_or("")
                .to_owned();
            // An exception without a message (`MemoryError()`) is named by its traceback's
            // last line.
            let message = if message.trim().is_empty() {
                traceback
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("an exception without a message")
                    .trim()
                    .to_owned()
            } else {
                message
            };
            Some(CheckError::new(ErrorKind::Exception, message).with_traceback(traceback))
        }
        _ => Some(CheckError::new(ErrorKind::Exception, text)),
    }
}

/// Why a check could not be loaded.
enum Load {
    /// Its imports refuse subinterpreters ([`Error::RefusesSubinterpreters`]).
    Refused(Error),
    /// Anything else, reported as the run's error.
    Failed(CheckError),
}

impl From<CheckError> for Load {
    fn from(e: CheckError) -> Load {
        Load::Failed(e)
    }
}

/// Imports the check's module, finds its check class and instantiates it, as rtloader does.
fn load_check<'py>(py: Python<'py>, inst: &InstanceConfig) -> Result<Object<'py, Any>, Load> {
    let load_err = |what: String, e: &Error| {
        let mut ce = CheckError::new(ErrorKind::Load, format!("{what}: {e}"));
        if let Some(pe) = e.as_python() {
            ce = ce.with_traceback(pe.traceback());
        }
        ce
    };
    let module =
        import_check_module(py, &inst.check).map_err(|e| match subinterpreter::refusal(e) {
            e @ Error::RefusesSubinterpreters { .. } => Load::Refused(e),
            e => Load::Failed(load_err(
                format!("unable to import module '{}'", inst.check),
                &e,
            )),
        })?;
    let base = py
        .import("datadog_checks.base")
        .and_then(|b| b.getattr("AgentCheck"))
        .map_err(|e| load_err("could not import base class".into(), &e))?;
    let class = find_check_class(&module, &base)
        .map_err(|e| {
            load_err(
                format!("looking for the check class in '{}'", inst.check),
                &e,
            )
        })?
        .ok_or_else(|| {
            CheckError::new(
                ErrorKind::Load,
                format!(
                    "unable to find a subclass of the base check in module '{}'",
                    inst.check
                ),
            )
        })?;
    let construct = || -> pyhost::Result<Object<'py, Any>> {
        let kwargs = pyhost::types::Dict::new(py);
        kwargs.set_item("name", &inst.check)?;
        kwargs.set_item("init_config", to_python(py, &inst.init_config)?)?;
        kwargs.set_item(
            "instances",
            Tuple::new(py, [to_python(py, &inst.instance)?])?,
        )?;
        let check = class.call((), Some(&kwargs))?;
        check.setattr("check_id", &inst.check_id)?;
        Ok(check)
    };
    construct().map_err(|e| {
        if e.exit_code().is_some() {
            return Load::Failed(python_error(&e));
        }
        Load::Failed(load_err(
            format!("could not instantiate the check '{}'", inst.check),
            &e,
        ))
    })
}

fn import_check_module<'py>(py: Python<'py>, name: &str) -> pyhost::Result<Object<'py, Module>> {
    match py.import(&format!("datadog_checks.{name}")) {
        Ok(m) => Ok(m),
        Err(Error::Python(e)) if e.type_name() == "ModuleNotFoundError" => py.import(name),
        Err(e) => Err(e),
    }
}

/// The first class in `dir(module)` that subclasses `base`, is not `base`, and has no
/// subclasses of its own (rtloader's rule).
fn find_check_class<'py>(
    module: &Object<'py, Module>,
    base: &Object<'py, Any>,
) -> pyhost::Result<Option<Object<'py, Any>>> {
    let py = module.py();
    let builtins = py.import("builtins")?;
    let issubclass = builtins.getattr("issubclass")?;
    let names: Vec<String> = builtins.getattr("dir")?.call1((module,))?.extract()?;
    for name in names {
        let Ok(attr) = module.getattr(name.as_str()) else {
            continue;
        };
        if !attr.is_instance_of::<pyhost::types::Type>() || attr.is(base) {
            continue;
        }
        if !issubclass.call1((&attr, base))?.is_truthy()? {
            continue;
        }
        if attr.call_method0("__subclasses__")?.len()? > 0 {
            continue;
        }
        return Ok(Some(attr));
    }
    Ok(None)
}

/// A Python error as a check error: `sys.exit` and timeouts told apart from exceptions.
fn python_error(e: &Error) -> CheckError {
    match e.as_python().map(PyErr::kind) {
        Some(ExceptionKind::SystemExit { code }) => {
            let pe = e.as_python().expect("a Python error");
            CheckError::new(
                ErrorKind::SystemExit,
                format!("the check called sys.exit({code})"),
            )
            .with_traceback(pe.traceback())
        }
        Some(_) => {
            let pe = e.as_python().expect("a Python error");
            CheckError::new(ErrorKind::Exception, pe.to_string()).with_traceback(pe.traceback())
        }
        None => CheckError::new(ErrorKind::Internal, e.to_string()),
    }
}
