//! Python callables made from Rust closures.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;

use super::{Any, Callable, Dict, Tuple};
use crate::callback::trampoline;
use crate::{Borrowed, Error, Object, Python, Result, ffi};

/// Constructors for Python functions implemented by Rust closures. (For functions with typed
/// arguments, use `#[pyhost::function]` from `pyhost-macros`.)
pub enum Function {}

/// The closure signature: positional arguments as a tuple, keyword arguments as a dict (`None`
/// when there are none).
pub trait Closure:
    for<'a, 'py> Fn(
        Python<'py>,
        Borrowed<'a, 'py, Tuple>,
        Option<Borrowed<'a, 'py, Dict>>,
    ) -> Result<Object<'py, Any>>
    + Send
    + Sync
    + 'static
{
}

impl<F> Closure for F where
    F: for<'a, 'py> Fn(
            Python<'py>,
            Borrowed<'a, 'py, Tuple>,
            Option<Borrowed<'a, 'py, Dict>>,
        ) -> Result<Object<'py, Any>>
        + Send
        + Sync
        + 'static
{
}

/// What the capsule behind a closure function owns.
struct Boxed<F> {
    def: ffi::PyMethodDef,
    _name: CString,
    _doc: Option<CString>,
    f: F,
}

const CAPSULE_NAME: &CStr = c"pyhost.closure";

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
        let call: unsafe extern "C" fn(
            *mut ffi::PyObject,
            *mut ffi::PyObject,
            *mut ffi::PyObject,
        ) -> *mut ffi::PyObject = call_closure::<F>;
        let mut boxed = Box::new(Boxed {
            def: ffi::PyMethodDef {
                ml_name: name.as_ptr(),
                // SAFETY: with METH_VARARGS | METH_KEYWORDS, CPython calls the function with
                // the three-argument signature it really has; the field's type is the
                // two-argument one only by C convention.
                ml_meth: Some(unsafe {
                    std::mem::transmute::<
                        unsafe extern "C" fn(
                            *mut ffi::PyObject,
                            *mut ffi::PyObject,
                            *mut ffi::PyObject,
                        ) -> *mut ffi::PyObject,
                        unsafe extern "C" fn(
                            *mut ffi::PyObject,
                            *mut ffi::PyObject,
                        ) -> *mut ffi::PyObject,
                    >(call)
                }),
                ml_flags: (ffi::METH_VARARGS | ffi::METH_KEYWORDS) as std::os::raw::c_int,
                ml_doc: doc.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            },
            _name: name,
            _doc: doc,
            f,
        });
        let def: *mut ffi::PyMethodDef = &mut boxed.def;
        let raw = Box::into_raw(boxed);
        // SAFETY: GIL held (token). The capsule owns the box from here on (its destructor frees
        // it); on failure we free it ourselves. The method def lives inside the box, which the
        // function keeps alive through its `self` (the capsule).
        unsafe {
            let capsule =
                ffi::PyCapsule_New(raw.cast(), CAPSULE_NAME.as_ptr(), Some(drop_closure::<F>));
            if capsule.is_null() {
                drop(Box::from_raw(raw));
                return Err(Error::fetch(py));
            }
            let func = ffi::PyCFunction_NewEx(def, capsule, std::ptr::null_mut());
            ffi::Py_DECREF(capsule);
            Object::from_owned_ptr_or_err(py, func)
        }
    }
}

unsafe extern "C" fn call_closure<F: Closure>(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with the GIL held; `slf` is our capsule, `args` a tuple and
    // `kwargs` a dict or NULL, all borrowed for the duration of the call.
    unsafe {
        trampoline(|py| {
            let boxed = ffi::PyCapsule_GetPointer(slf, CAPSULE_NAME.as_ptr()).cast::<Boxed<F>>();
            let boxed = NonNull::new(boxed).ok_or_else(|| Error::fetch(py))?;
            let args = Borrowed::<Tuple>::from_ptr(
                py,
                NonNull::new(args).ok_or_else(|| Error::fetch(py))?,
            );
            let kwargs = NonNull::new(kwargs).map(|k| Borrowed::<Dict>::from_ptr(py, k));
            let out = (boxed.as_ref().f)(py, args, kwargs)?;
            Ok(out.into_ptr())
        })
    }
}

unsafe extern "C" fn drop_closure<F: Closure>(capsule: *mut ffi::PyObject) {
    // SAFETY: called by CPython, GIL held, when the capsule dies; the pointer is the box
    // created in Function::new and nothing else frees it.
    unsafe {
        let p = ffi::PyCapsule_GetPointer(capsule, CAPSULE_NAME.as_ptr());
        if p.is_null() {
            ffi::PyErr_Clear();
            return;
        }
        let boxed = Box::from_raw(p.cast::<Boxed<F>>());
        let _nested = crate::raw::Nested::enter(crate::Python::assume_gil_acquired());
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(boxed))).is_err() {
            eprintln!("pyhost: dropping a closure panicked; aborting");
            std::process::abort();
        }
    }
}
