//! `util` (only `headers`) and `_util` (`get_subprocess_output`, `subprocess_output`).

use pyhost::types::{Any, Dict, List, Module, Tuple};
use pyhost::{Error, Object, Python};

/// The Datadog Agent's `util` module (only `headers`).
#[pyhost::module(name = "util")]
pub(super) fn module(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(super::datadog_agent::headers))
}

/// Runs `command` (a list of str, no shell) with the GIL released; see `get_subprocess_output`.
fn subprocess_output_impl<'py>(
    py: Python<'py>,
    command: &Object<'py, Any>,
    raise_on_empty: Option<&Object<'py, Any>>,
    env: Option<&Object<'py, Any>>,
) -> pyhost::Result<Object<'py, Tuple>> {
    let Ok(list) = command.downcast::<List>() else {
        return Err(Error::type_error("command args is not a list"));
    };
    if list.is_empty() {
        return Err(Error::type_error("invalid command: empty list"));
    }
    let argv: Vec<String> = list
        .iter()
        .map(|a| a.extract::<String>())
        .collect::<pyhost::Result<_>>()
        .map_err(|_| Error::type_error("command argument must be valid strings"))?;
    let mut vars: Vec<(String, String)> = Vec::new();
    if let Some(env) = env.filter(|e| !e.is_none()) {
        let Ok(env) = env.downcast::<Dict>() else {
            return Err(Error::type_error("env is not a dict"));
        };
        for (k, v) in env.iter() {
            let k = k
                .extract::<String>()
                .map_err(|_| Error::type_error("env key is not a string"))?;
            let v = v
                .extract::<String>()
                .map_err(|_| Error::type_error("env value is not a string"))?;
            vars.push((k, v));
        }
    }
    let raise_on_empty = match raise_on_empty {
        None => false,
        Some(r) if r.is_instance_of::<pyhost::types::Bool>() => r.is_truthy()?,
        Some(_) => {
            return Err(Error::type_error(
                "bad raise_on_empty argument: should be bool",
            ));
        }
    };
    let (stdout, stderr, code) = py.allow_threads(move || {
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).stdin(std::process::Stdio::null());
        if !vars.is_empty() {
            cmd.env_clear().envs(vars);
        }
        match cmd.output() {
            Ok(out) => (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                i64::from(out.status.code().unwrap_or(-1)),
            ),
            Err(e) => (String::new(), format!("cannot run {}: {e}", argv[0]), 127),
        }
    });
    if raise_on_empty && stdout.is_empty() {
        let class = py.import("_util")?.getattr("SubprocessOutputEmptyError")?;
        let class = pyhost::ExceptionType::custom(&class)?;
        return Err(pyhost::PyErr::new(
            class,
            "get_subprocess_output expected output but had none.",
        )
        .into());
    }
    Tuple::new(
        py,
        [
            stdout.into_python(py)?,
            stderr.into_python(py)?,
            code.into_python(py)?,
        ],
    )
}

use pyhost::IntoPython as _;

/// Runs a command (a list of str, no shell) and returns `(stdout, stderr, returncode)`.
#[pyhost::function(
    name = "get_subprocess_output",
    text_signature = "(command, raise_on_empty=False, *, env=None)"
)]
fn get_subprocess_output<'py>(
    py: Python<'py>,
    command: Object<'py, Any>,
    #[pyhost(default)] raise_on_empty: Option<Object<'py, Any>>,
    #[pyhost(keyword_only, default)] env: Option<Object<'py, Any>>,
) -> pyhost::Result<Object<'py, Tuple>> {
    subprocess_output_impl(py, &command, raise_on_empty.as_ref(), env.as_ref())
}

/// Runs a command (a list of str, no shell) and returns `(stdout, stderr, returncode)`.
#[pyhost::function(
    name = "subprocess_output",
    text_signature = "(command, raise_on_empty=False, *, env=None)"
)]
fn subprocess_output<'py>(
    py: Python<'py>,
    command: Object<'py, Any>,
    #[pyhost(default)] raise_on_empty: Option<Object<'py, Any>>,
    #[pyhost(keyword_only, default)] env: Option<Object<'py, Any>>,
) -> pyhost::Result<Object<'py, Tuple>> {
    subprocess_output_impl(py, &command, raise_on_empty.as_ref(), env.as_ref())
}

/// The Datadog Agent's `_util` module: running commands.
#[pyhost::module(name = "_util")]
pub(super) fn private(m: &Object<'_, Module>) -> pyhost::Result<()> {
    let py = m.py();
    let ns = py.new_namespace()?;
    py.exec_with(
        "class SubprocessOutputEmptyError(Exception):\n    pass\nSubprocessOutputEmptyError.__module__ = '_util'\n",
        &ns,
        None,
    )?;
    let class = ns
        .get_item("SubprocessOutputEmptyError")?
        .ok_or_else(|| Error::runtime_error("class not defined"))?;
    m.add("SubprocessOutputEmptyError", class)?;
    m.add_function(pyhost::wrap_function!(get_subprocess_output))?;
    m.add_function(pyhost::wrap_function!(subprocess_output))
}
