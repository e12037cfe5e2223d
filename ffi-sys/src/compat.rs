//! Names that moved between CPython versions, under one spelling for every supported version.

#![allow(non_snake_case)]

use crate::bindings::Py_ssize_t;
#[cfg(not(py_3_9))]
use crate::bindings::PyObject;

/// `PY_VECTORCALL_ARGUMENTS_OFFSET`: the flag a caller adds to `nargsf` to allow the callee to
/// use `args[-1]`. (A macro using `sizeof`, which bindgen cannot evaluate.)
pub const PY_VECTORCALL_ARGUMENTS_OFFSET: usize = 1 << (usize::BITS - 1);

/// `PyVectorcall_NARGS(nargsf)`: the argument count without the offset flag.
#[inline(always)]
pub const fn PyVectorcall_NARGS(nargsf: usize) -> Py_ssize_t {
    (nargsf & !PY_VECTORCALL_ARGUMENTS_OFFSET) as Py_ssize_t
}

/// `PyObject_Vectorcall` (3.9+; `_PyObject_Vectorcall` in 3.8).
///
/// # Safety
/// As the C function: GIL held, `callable` live, `args` valid for `PyVectorcall_NARGS(nargsf)`
/// items plus the keyword values named by `kwnames`.
#[cfg(not(py_3_9))]
#[inline(always)]
pub unsafe fn PyObject_Vectorcall(
    callable: *mut PyObject,
    args: *const *mut PyObject,
    nargsf: usize,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: forwarded to the caller.
    unsafe { crate::bindings::_PyObject_Vectorcall(callable, args, nargsf, kwnames) }
}

/// `PyObject_CallNoArgs` (3.9+; `_PyObject_CallNoArg` in 3.8).
///
/// # Safety
/// GIL held, `callable` live.
#[cfg(not(py_3_9))]
#[inline(always)]
pub unsafe fn PyObject_CallNoArgs(callable: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarded to the caller.
    unsafe { crate::bindings::_PyObject_CallNoArg(callable) }
}

/// `Py_IsFinalizing()` (3.13+; `_Py_IsFinalizing` before).
///
/// # Safety
/// The interpreter was initialized.
#[cfg(not(py_3_13))]
#[inline(always)]
pub unsafe fn Py_IsFinalizing() -> std::os::raw::c_int {
    // SAFETY: forwarded to the caller.
    unsafe { crate::bindings::_Py_IsFinalizing() }
}

/// `PY_VERSION_HEX`, from its parts: 3.14's headers define it through a function-like macro
/// that bindgen cannot evaluate, so it is computed here on every version.
pub const PY_VERSION_HEX: u32 = (crate::bindings::PY_MAJOR_VERSION << 24)
    | (crate::bindings::PY_MINOR_VERSION << 16)
    | (crate::bindings::PY_MICRO_VERSION << 8)
    | (crate::bindings::PY_RELEASE_LEVEL << 4)
    | crate::bindings::PY_RELEASE_SERIAL;
