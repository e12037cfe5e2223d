//! Python checks: the embedded interpreter, the builtin modules, and loading and running
//! `AgentCheck` subclasses the way the Datadog Agent's rtloader does.

mod builtins;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyhost::conversion::serde::to_python;
use pyhost::executor::{Call, ShutdownMode, block_on};
use pyhost::types::{Any, Module, Tuple};
use pyhost::{Error, ExceptionKind, Executor, Interpreter, Object, PyErr, Python, Unbound};

use crate::aggregator::Aggregator;
use crate::config::{AgentConfig, InstanceConfig};
use crate::report::{CheckError, ErrorKind};

/// The embedded Python of the agent.
pub struct Runtime {
    executor: Executor,
    /// Loaded check objects, by check id.
    checks: Arc<Mutex<HashMap<String, Unbound>>>,
}

/// What a run returns: the check's warnings and its error, if any.
type Outcome = (Vec<String>, Option<CheckError>);

/// A Python check run in progress.
pub struct PendingRun(Call<Outcome>, Duration);

impl PendingRun {
    /// Waits for the run to end.
    pub fn wait(self) -> Outcome {
        let timeout = self.1;
        match block_on(self.0) {
            Ok(outcome) => outcome,
            Err(Error::Timeout { .. }) => (
                Vec::new(),
                Some(CheckError::new(
                    ErrorKind::Timeout,
                    format!(
                        "the check ran longer than its timeout of {timeout:?} and was cancelled"
                    ),
                )),
            ),
            Err(e @ Error::Stuck { .. }) => (
                Vec::new(),
                Some(CheckError::new(ErrorKind::Internal, e.to_string())),
            ),
            Err(e) => (Vec::new(), Some(python_error(&e))),
        }
    }
}

impl Runtime {
    /// Starts the interpreter (with the configured venv), the executor and the builtin
    /// modules, and makes `datadog_checks.base` importable.
    pub fn start(cfg: Arc<AgentConfig>, aggregator: Arc<Aggregator>) -> Result<Runtime, String> {
        let state = builtins::AgentState::new(cfg.clone(), aggregator);
        let mut builder = builtins::register(Interpreter::builder(), &state)
            .program_name("pyhost-agent")
            .module_path(&cfg.checks_dir);
        if let Some(venv) = &cfg.venv {
            builder = builder.venv(venv);
        }
        builder.start().map_err(|e| e.to_string())?;
        let executor = Executor::builder()
            .workers(cfg.workers)
            .name("agent-python")
            .grace(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let base_dir = cfg.python_base_dir.clone();
        executor
            .run(move |py| ensure_base(py, &base_dir))
            .map_err(|e| format!("{e:#}"))?;
        log::info!("Python {} ready", pyhost::ffi::build_info::PYTHON_VERSION);
        Ok(Runtime {
            executor,
            checks: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Starts one run of an instance on the executor.
    pub fn submit(&self, inst: &InstanceConfig) -> PendingRun {
        let checks = self.checks.clone();
        let inst = inst.clone();
        let timeout = inst.timeout;
        let call = self
            .executor
            .spawn_timeout(timeout, move |py| run_instance(py, &checks, &inst));
        PendingRun(call, timeout)
    }

    /// Cancels what is still running and finalizes the interpreter.
    pub fn shutdown(self) {
        // Check objects are Python objects: drop them before the interpreter goes.
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if let Err(e) = self.executor.shutdown_and_finalize(ShutdownMode::Cancel) {
            log::warn!("Python did not shut down cleanly: {e}");
        }
    }
}

/// Starts the interpreter as for checks and describes it (`--python-info`).
pub fn info(cfg: AgentConfig) -> Result<serde_json::Value, String> {
    let rt = Runtime::start(Arc::new(cfg), Arc::new(Aggregator::default()))?;
    let info = rt
        .executor
        .run(|py| {
            let sys = py.import("sys")?;
            let s = |name: &str| -> pyhost::Result<String> { sys.getattr(name)?.extract() };
            Ok(serde_json::json!({
                "version": s("version")?,
                "built_against": pyhost::ffi::build_info::PYTHON_VERSION,
                "executable": s("executable")?,
                "prefix": s("prefix")?,
                "base_prefix": s("base_prefix")?,
                "path": sys.getattr("path")?.extract::<Vec<String>>()?,
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
    match py.import("datadog_checks.base") {
        Ok(m) => {
            log::info!(
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
            log::info!(
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
    checks: &Mutex<HashMap<String, Unbound>>,
    inst: &InstanceConfig,
) -> pyhost::Result<Outcome> {
    let existing = checks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&inst.check_id)
        .map(|c| c.clone_ref(py));
    let check = match existing {
        Some(c) => c.into_bound(py),
        None => match load_check(py, inst) {
            Ok(c) => {
                checks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(inst.check_id.clone(), c.clone().unbind());
                c
            }
            Err(e) => return Ok((Vec::new(), Some(e))),
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
            Some(CheckError::new(ErrorKind::Exception, message).with_traceback(traceback))
        }
        _ => Some(CheckError::new(ErrorKind::Exception, text)),
    }
}

/// Imports the check's module, finds its check class and instantiates it, as rtloader does.
fn load_check<'py>(py: Python<'py>, inst: &InstanceConfig) -> Result<Object<'py, Any>, CheckError> {
    let load_err = |what: String, e: &Error| {
        let mut ce = CheckError::new(ErrorKind::Load, format!("{what}: {e}"));
        if let Some(pe) = e.as_python() {
            ce = ce.with_traceback(pe.traceback());
        }
        ce
    };
    let module = import_check_module(py, &inst.check)
        .map_err(|e| load_err(format!("unable to import module '{}'", inst.check), &e))?;
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
            return python_error(&e);
        }
        load_err(
            format!("could not instantiate the check '{}'", inst.check),
            &e,
        )
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
