//! Python callables made from Rust closures.

use std::ffi::CString;

use super::Callable;
use crate::{Error, Object, Python, Result, raw};

pub use crate::raw::entry::Closure;

/// Constructors for Python functions implemented by Rust closures. (For functions with typed
/// arguments, use `#[pyhost::function]` from `pyhost-macros`.)
pub enum Function {}

// `Function` only names the constructor; what it makes is a callable object.
#[allow(clippy::new_ret_no_self)]
impl Function {
    /// A Python function named `name` that runs `f`. The closure lives as long as the function
    /// object; errors it returns are raised in Python, and a panic becomes
    /// `pyhost.PanicException`.
    ///
    /// # Errors
    /// A name or doc with a NUL byte (`ValueError`), or `MemoryError`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::{IntoPython, types::Function};
    /// pyhost::with_gil(|py| {
    ///     let add = Function::new(py, "add", None, |py, args, _kw| {
    ///         let (a, b): (i64, i64) = args.extract()?;
    ///         (a + b).into_python(py)
    ///     })?;
    ///     let ns = py.new_namespace()?;
    ///     ns.set_item("add", &add)?;
    ///     assert_eq!(py.eval_with("add(2, 3)", &ns, None)?.extract::<i64>()?, 5);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn new<'py, F: Closure>(
        py: Python<'py>,
        name: &str,
        doc: Option<&str>,
        f: F,
    ) -> Result<Object<'py, Callable>> {
        let name = CString::new(name)
            .map_err(|_| Error::value_error("function name contains a NUL byte"))?;
        let doc = doc
            .map(CString::new)
            .transpose()
            .map_err(|_| Error::value_error("function doc contains a NUL byte"))?;
        raw::entry::closure_function(py, name, doc, f)
    }
}
