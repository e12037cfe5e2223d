//! What crosses to a worker: a [`Task`], and running one.

use crate::types::{Any, Bytes};
use crate::{Error, Executor, IntoPython, Object, Python, Result, with_gil};

/// A call that can run in another process: `module:function` and marshallable arguments.
#[derive(Clone, Debug)]
pub struct Task {
    target: String,
    /// `marshal.dumps((module, function, args, kwargs))`.
    pub(super) payload: Vec<u8>,
}

impl Task {
    /// `module:function(*args)`. `args` becomes the arguments: a tuple gives them in order,
    /// `()` none, any other value is the only one. Needs the interpreter (the arguments are
    /// encoded now).
    ///
    /// # Errors
    /// A target without `:`, or arguments `marshal` cannot carry (`ValueError`).
    pub fn new(target: &str, args: impl for<'py> IntoPython<'py>) -> Result<Task> {
        let (module, function) = target.split_once(':').ok_or_else(|| {
            Error::value_error(format!(
                "a task names `module:function`, not `{target}` (for example `math:factorial`)"
            ))
        })?;
        let payload = with_gil(|py| {
            let args = args.into_python(py)?;
            let args = if args.is_instance_of::<crate::types::Tuple>() {
                args
            } else if args.is_none() {
                crate::types::Tuple::empty(py).into_any()
            } else {
                py.import("builtins")?.getattr("tuple")?.call1(((args,),))?
            };
            let request = (module, function, args, crate::types::Dict::new(py));
            marshal_dumps(py, request.into_python(py)?)
        })?;
        Ok(Task {
            target: target.to_owned(),
            payload,
        })
    }

    /// `module:function`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs the task here, in the calling thread's interpreter: what a worker does with it.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// let task = pyhost::process::Task::new("operator:add", (40, 2))?;
    /// let n: i64 = pyhost::with_gil(|py| task.run(py)?.extract())?;
    /// assert_eq!(n, 42);
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    ///
    /// # Errors
    /// What importing the module or calling the function raises.
    pub fn run<'py>(&self, py: Python<'py>) -> Result<Object<'py, Any>> {
        run_payload(py, &self.payload)
    }
}

/// `marshal.dumps(value)`.
pub(super) fn marshal_dumps(py: Python<'_>, value: Object<'_, Any>) -> Result<Vec<u8>> {
    let bytes = py
        .import("marshal")?
        .call_method1("dumps", (value,))
        .map_err(|e| Error::Context {
            context: "only None, bools, numbers, str, bytes, tuples, lists, dicts and sets \
                      cross to a worker process"
                .into(),
            source: Box::new(e),
        })?;
    Ok(bytes.extract::<&[u8]>()?.to_vec())
}

/// `marshal.loads(data)`.
pub(super) fn marshal_loads<'py>(py: Python<'py>, data: &[u8]) -> Result<Object<'py, Any>> {
    py.import("marshal")?
        .call_method1("loads", (Bytes::new(py, data)?,))
}

/// A worker's `marshal`led answer as `T`, converted on this thread.
pub(super) fn decode<T: for<'py> crate::FromPythonOwned<'py>>(data: &[u8]) -> Result<T> {
    with_gil(|py| marshal_loads(py, data)?.extract::<T>())
}

/// Imports the module and calls the function of a request.
pub(super) fn run_payload<'py>(py: Python<'py>, payload: &[u8]) -> Result<Object<'py, Any>> {
    let request = marshal_loads(py, payload)?;
    let (module, function, args, kwargs): (String, String, Object<'py, Any>, Object<'py, Any>) =
        request.extract()?;
    let f = py.import(&module)?.getattr(function.as_str())?;
    f.call(
        &args.into_downcast::<crate::types::Tuple>()?,
        Some(&kwargs.into_downcast::<crate::types::Dict>()?),
    )
}

/// The same task on an in-process [`Executor`]: one description of a call for every place
/// it can run.
impl Executor {
    /// Runs a [`Task`] (`module:function` and its arguments) on a worker: the call a
    /// [`ProcessPool`](crate::process::ProcessPool) runs in another process, here in this one.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// let ex = pyhost::Executor::builder().workers(1).build()?;
    /// let task = pyhost::process::Task::new("math:gcd", (12, 18))?;
    /// assert_eq!(ex.call::<i64>(&task)?, 6);
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Executor::run`].
    pub fn call<T>(&self, task: &Task) -> Result<T>
    where
        T: for<'py> crate::FromPythonOwned<'py> + Send + 'static,
    {
        let task = task.clone();
        self.run(move |py| task.run(py)?.extract())
    }
}
