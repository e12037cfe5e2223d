//! Loading a check (importing its module, finding its class, making the check object, with
//! its version) and running it once.

use super::*;

/// Loads the check object of an instance (once) and runs it.
pub(super) fn run_instance(
    py: Python<'_>,
    checks: &Mutex<HashMap<(i64, String), Loaded>>,
    inst: &InstanceConfig,
) -> pyhost::Result<Outcome> {
    let key = (subinterpreter::interpreter_id(py), inst.check_id.clone());
    let existing = checks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .map(|c| (c.check.clone_ref(py), c.version.clone()));
    let (check, version) = match existing {
        Some((c, v)) => (c.into_bound(py), v),
        None => match load_check(py, inst) {
            Ok((c, v)) => {
                checks.lock().unwrap_or_else(|e| e.into_inner()).insert(
                    key,
                    Loaded {
                        check: c.clone().unbind(),
                        version: v.clone(),
                    },
                );
                (c, v)
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
    // An extension module that refuses subinterpreters, imported while the check ran: the
    // base's `run()` turned the ImportError into its error report. Said as the refusal it is,
    // so that the run moves to the main interpreter (as a refusal while loading does).
    if let Some(e) = &error
        && subinterpreter::interpreter_id(py) != 0
        && let refusal @ Error::RefusesSubinterpreters { .. } =
            subinterpreter::refusal(Error::Python(PyErr::new(
                pyhost::ExceptionType::ImportError,
                e.message.clone(),
            )))
    {
        return Err(refusal);
    }
    // The version goes with the run's submissions (also from a worker process), as check
    // metadata.
    py.import("datadog_agent")?.call_method1(
        "set_check_metadata",
        (&inst.check_id, crate::report::VERSION_METADATA, &version),
    )?;

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

/// A loaded check object and its version.
pub(crate) struct Loaded {
    check: Unbound,
    version: String,
}

/// Imports the check's module, finds its check class and instantiates it, as rtloader does;
/// with the module's `__version__` (or `unversioned`).
fn load_check<'py>(
    py: Python<'py>,
    inst: &InstanceConfig,
) -> Result<(Object<'py, Any>, String), Load> {
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
    let version = module
        .getattr_opt("__version__")
        .ok()
        .flatten()
        .and_then(|v| v.extract::<String>().ok())
        .unwrap_or_else(|| "unversioned".to_owned());
    let check = construct().map_err(|e| {
        if e.exit_code().is_some() {
            return Load::Failed(python_error(&e));
        }
        Load::Failed(load_err(
            format!("could not instantiate the check '{}'", inst.check),
            &e,
        ))
    })?;
    Ok((check, version))
}

/// Imports `datadog_checks.<name>`, else `<name>` (rtloader's order). Only a missing
/// `datadog_checks.<name>` (or `datadog_checks`) moves on to `<name>`: a module missing
/// inside the check's package (a dependency not installed) is the check's error, reported
/// with its traceback.
///
/// One import at a time in the process: two workers importing one module at once see each
/// other's half-done (or failed) import (`KeyError: 'datadog_checks.http_check'`).
fn import_check_module<'py>(py: Python<'py>, name: &str) -> pyhost::Result<Object<'py, Module>> {
    static IMPORTS: Mutex<()> = Mutex::new(());
    // Waited for without the GIL (its holder may need the GIL to finish).
    let _one_at_a_time = loop {
        match IMPORTS.try_lock() {
            Ok(g) => break g,
            Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                py.allow_threads(|| drop(IMPORTS.lock()));
            }
        }
    };
    let full = format!("datadog_checks.{name}");
    match py.import(&full) {
        Ok(m) => Ok(m),
        Err(Error::Python(e)) if e.type_name() == "ModuleNotFoundError" => {
            let missing: Option<String> = e.to_object(py).getattr("name")?.extract()?;
            match missing {
                Some(m) if m == full || full.starts_with(&format!("{m}.")) => py.import(name),
                _ => Err(Error::Python(e)),
            }
        }
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
pub(super) fn python_error(e: &Error) -> CheckError {
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
