//! Functions written in Rust and called from Python: what the macros describe
//! ([`PyFunction`]), its definition ([`FunctionDef`], whose entry points live in
//! `crate::raw::entry`), and the conversion of what the Rust function returns.

use std::ffi::CStr;

use crate::raw::entry::Body;
use crate::raw::entry::FastcallArgs;
use crate::types::{Any, Callable};
use crate::{Borrowed, Error, ExceptionType, IntoPython, Object, PyErr, Python, Result};

pub use crate::raw::types::{FunctionDef, StateInfo};

/// A Rust function callable from Python, as `#[pyhost::function]` (or a method in a
/// `#[pyhost::class]` impl block) describes it to the runtime.
pub trait PyFunction: 'static {
    /// The Python name (`__name__`).
    const NAME: &'static CStr;
    /// The docstring, starting with the text signature (`name(a, b=1)\n--\n\n`).
    const DOC: &'static CStr;
    /// Whether the function takes no arguments at all (`METH_NOARGS`).
    const NOARGS: bool;
    /// Whether it is a static method of a class (`METH_STATIC`).
    const STATIC: bool = false;
    /// The host state it needs from its module, if any.
    const STATE: Option<StateInfo> = None;

    /// Runs the function: binds and converts `args`, calls the Rust function, converts what it
    /// returns. `slf` is the function's `self`: its module, or the instance for a method.
    ///
    /// # Errors
    /// What binding, conversion or the function itself report.
    fn call<'a, 'py>(
        py: Python<'py>,
        slf: Option<Borrowed<'a, 'py, Any>>,
        args: FastcallArgs<'a, 'py>,
    ) -> Result<Object<'py, Any>>;
}

impl<F: PyFunction> Body for F {
    #[inline(always)]
    fn call<'a, 'py>(
        py: Python<'py>,
        slf: Option<Borrowed<'a, 'py, Any>>,
        args: FastcallArgs<'a, 'py>,
    ) -> Result<Object<'py, Any>> {
        <F as PyFunction>::call(py, slf, args)
    }
}

impl FunctionDef {
    /// The definition of `F`.
    pub const fn new<F: PyFunction>() -> FunctionDef {
        FunctionDef::of::<F>(F::NAME, F::DOC, F::NOARGS, F::STATIC, F::STATE)
    }

    /// A free-standing Python callable for this function (not attached to a module).
    ///
    /// # Errors
    /// A `TypeError` when the function needs host state (it must be added to a module built
    /// with that state), or `MemoryError`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// /// Doubles a number.
    /// #[pyhost::function]
    /// fn double(x: i64) -> i64 {
    ///     x * 2
    /// }
    ///
    /// pyhost::with_gil(|py| {
    ///     let f = pyhost::wrap_function!(double).to_callable(py)?;
    ///     assert_eq!(f.call1((21,))?.extract::<i64>()?, 42);
    ///     assert_eq!(f.getattr("__doc__")?.extract::<String>()?, "Doubles a number.");
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn to_callable<'py>(&'static self, py: Python<'py>) -> Result<Object<'py, Callable>> {
        if let Some(s) = self.state() {
            return Err(Error::type_error(format!(
                "{}() needs host state of type `{}`: add it to a module created with that state",
                self.name(),
                s.type_name()
            )));
        }
        self.new_callable(py, None)
    }
}

// ---------------------------------------------------------------------------------------------
// Results

/// What a Rust function called from Python may return: any [`IntoPython`] value, or a
/// `Result` of one whose error becomes a Python exception.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned to Python",
    label = "the return type",
    note = "return a type that implements `IntoPython`, or `Result<T, E>` where `E` is \
            `pyhost::Error`, `pyhost::PyErr` or converts `Into<PyErr>` (or choose a Python \
            exception class with `error = ValueError`)"
)]
pub trait IntoReturn<'py> {
    /// Converts the returned value.
    ///
    /// # Errors
    /// The function's error, or a conversion failure.
    fn into_return(self, py: Python<'py>) -> Result<Object<'py, Any>>;
}

impl<'py, T: IntoPython<'py>> IntoReturn<'py> for T {
    #[inline(always)]
    fn into_return(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        self.into_python(py)
    }
}

impl<'py, T: IntoPython<'py>, E: IntoPyErr> IntoReturn<'py> for std::result::Result<T, E> {
    #[inline(always)]
    fn into_return(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        match self {
            Ok(v) => v.into_python(py),
            Err(e) => Err(Error::Python(e.into_py_err())),
        }
    }
}

/// An error type a function may return: it becomes the Python exception raised.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be raised as a Python exception",
    note = "implement `From<{Self}> for pyhost::PyErr`, or choose the exception class with \
            `#[pyhost::function(error = ValueError)]` (any `std::error::Error`)"
)]
pub trait IntoPyErr {
    /// The exception.
    fn into_py_err(self) -> PyErr;
}

impl<E: Into<PyErr>> IntoPyErr for E {
    #[inline]
    fn into_py_err(self) -> PyErr {
        self.into()
    }
}

impl IntoPyErr for Error {
    #[inline]
    fn into_py_err(self) -> PyErr {
        Error::into_py_err(self)
    }
}

/// Converts what a function returned.
///
/// # Errors
/// As [`IntoReturn::into_return`].
#[inline(always)]
pub fn into_return<'py, R: IntoReturn<'py>>(py: Python<'py>, r: R) -> Result<Object<'py, Any>> {
    r.into_return(py)
}

/// Turns the error of a `Result` into an exception of `class` carrying the error's message and,
/// as `__cause__`, its `source()` chain (for `error = Class`).
#[inline(always)]
pub fn map_error<T, E: std::error::Error + 'static>(
    r: std::result::Result<T, E>,
    class: impl FnOnce() -> ExceptionType,
) -> std::result::Result<T, PyErr> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => Err(PyErr::from_error(class(), &e)),
    }
}

/// Runs `f` with the GIL released (for `release_gil`).
#[inline(always)]
pub fn detach<T: Send, F: Send + FnOnce() -> T>(py: Python<'_>, f: F) -> T {
    py.allow_threads(f)
}

/// The [`FunctionDef`] of a `#[pyhost::function]`: `wrap_function!(name)` or
/// `wrap_function!(path::to::name)`.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// #[pyhost::function]
/// fn greet(name: &str) -> String {
///     format!("hello {name}")
/// }
///
/// pyhost::with_gil(|py| {
///     let m = pyhost::types::Module::new(py, "greeter")?;
///     m.add_function(pyhost::wrap_function!(greet))?;
///     let out: String = m.getattr("greet")?.call1(("ada",))?.extract()?;
///     assert_eq!(out, "hello ada");
///     Ok(())
/// })?;
/// # Ok::<(), pyhost::Error>(())
/// ```
#[macro_export]
macro_rules! wrap_function {
    ($($segment:ident)::+) => {
        &$($segment)::+::__PYHOST_FUNCTION
    };
}
