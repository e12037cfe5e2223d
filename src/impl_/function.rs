//! Functions written in Rust and called from Python: the method definition
//! ([`FunctionDef`]), the C entry points (all through [`trampoline`]), and the conversion of
//! what the Rust function returns.

use std::any::TypeId;
use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr::NonNull;

use super::extract::FastcallArgs;
use crate::callback::trampoline;
use crate::types::{Any, Callable, Module};
use crate::{Borrowed, Error, ExceptionType, IntoPython, Object, PyErr, Python, Result, ffi};

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

/// The type of host state a function needs.
#[derive(Clone, Copy)]
pub struct StateInfo {
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
}

impl StateInfo {
    /// State of type `T`.
    pub const fn of<T: 'static>() -> StateInfo {
        StateInfo {
            type_id: TypeId::of::<T>,
            type_name: std::any::type_name::<T>,
        }
    }

    pub(crate) fn type_id(&self) -> TypeId {
        (self.type_id)()
    }

    pub(crate) fn type_name(&self) -> &'static str {
        (self.type_name)()
    }
}

/// A Rust function ready to become a Python callable: add it to a module with
/// [`Object::<Module>::add_function`](crate::Object::add_function), or make a free-standing
/// callable with [`FunctionDef::to_callable`]. `#[pyhost::function]` creates one per function;
/// [`wrap_function!`](crate::wrap_function) names it.
pub struct FunctionDef {
    def: ffi::PyMethodDef,
    state: Option<StateInfo>,
}

// SAFETY: the definition is immutable after construction; its pointers are to 'static C
// strings and to entry points that may be called from any thread holding the GIL.
unsafe impl Sync for FunctionDef {}
// SAFETY: as above.
unsafe impl Send for FunctionDef {}

/// `PyCFunction` as stored in a method definition; the real signature depends on the flags.
type MethPtr = unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::PyObject) -> *mut ffi::PyObject;
type FastcallPtr = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

impl FunctionDef {
    /// The definition of `F`.
    pub const fn new<F: PyFunction>() -> FunctionDef {
        let mut flags = if F::NOARGS {
            ffi::METH_NOARGS
        } else {
            ffi::METH_FASTCALL | ffi::METH_KEYWORDS
        };
        if F::STATIC {
            flags |= ffi::METH_STATIC;
        }
        let meth: MethPtr = if F::NOARGS {
            noargs_entry::<F>
        } else {
            let f: FastcallPtr = fastcall_entry::<F>;
            // SAFETY: with METH_FASTCALL | METH_KEYWORDS, CPython calls the pointer with the
            // fastcall signature it really has; the field's type is the two-argument one by C
            // convention only. Function pointers have one size and representation.
            unsafe { std::mem::transmute::<FastcallPtr, MethPtr>(f) }
        };
        FunctionDef {
            def: ffi::PyMethodDef {
                ml_name: F::NAME.as_ptr(),
                ml_meth: Some(meth),
                ml_flags: flags as c_int,
                ml_doc: F::DOC.as_ptr(),
            },
            state: F::STATE,
        }
    }

    /// The Python name.
    pub fn name(&self) -> &'static str {
        // SAFETY: `ml_name` comes from a 'static C string (FunctionDef::new).
        unsafe { CStr::from_ptr(self.def.ml_name) }
            .to_str()
            .unwrap_or("<function>")
    }

    /// The host state the function needs, if any.
    pub(crate) fn state(&self) -> Option<StateInfo> {
        self.state
    }

    /// The C method definition (for class method tables).
    pub(crate) fn raw(&self) -> ffi::PyMethodDef {
        self.def
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
        if let Some(s) = self.state {
            return Err(Error::type_error(format!(
                "{}() needs host state of type `{}`: add it to a module created with that state",
                self.name(),
                s.type_name()
            )));
        }
        // SAFETY: GIL held (token); the definition is 'static, as CPython requires.
        unsafe {
            Object::from_owned_ptr_or_err(
                py,
                ffi::PyCFunction_NewEx(
                    (&raw const self.def).cast_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                ),
            )
        }
    }

    /// A callable bound to `module` (its `self`, and `__module__`).
    pub(crate) fn to_module_callable<'py>(
        &'static self,
        module: &Object<'py, Module>,
    ) -> Result<Object<'py, Callable>> {
        let py = module.py();
        let name = module.getattr("__name__")?;
        // SAFETY: GIL held; the definition is 'static; the new function takes its own
        // references to the module and the name.
        unsafe {
            Object::from_owned_ptr_or_err(
                py,
                ffi::PyCFunction_NewEx(
                    (&raw const self.def).cast_mut(),
                    module.as_ptr(),
                    name.as_ptr(),
                ),
            )
        }
    }
}

/// `METH_FASTCALL | METH_KEYWORDS` entry point of `F`.
///
/// # Safety
/// Called by CPython with the GIL held and arguments in the fastcall layout.
unsafe extern "C" fn fastcall_entry<F: PyFunction>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held; `slf` (or NULL), the arguments and the
    // keyword names are borrowed for the duration of the call.
    unsafe {
        trampoline(|py| {
            let args = FastcallArgs::from_raw(py, args, nargs, kwnames);
            let slf = NonNull::new(slf).map(|p| Borrowed::from_ptr(py, p));
            F::call(py, slf, args).map(Object::into_ptr)
        })
    }
}

/// `METH_NOARGS` entry point of `F`.
///
/// # Safety
/// Called by CPython with the GIL held.
unsafe extern "C" fn noargs_entry<F: PyFunction>(
    slf: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held; `slf` (or NULL) is borrowed for the call.
    unsafe {
        trampoline(|py| {
            let slf = NonNull::new(slf).map(|p| Borrowed::from_ptr(py, p));
            F::call(py, slf, FastcallArgs::empty()).map(Object::into_ptr)
        })
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
