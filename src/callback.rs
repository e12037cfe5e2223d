//! The one way into Rust from Python: [`trampoline`] wraps every `extern "C"` entry point
//! pyhost creates (closures made callable with [`Function::new`](crate::types::Function::new)
//! and everything `pyhost-macros` generates). It marks the GIL as held for nested
//! [`with_gil`](crate::with_gil) calls, turns an `Err` into the Python exception it describes,
//! and catches panics: a panic never unwinds into C; it becomes a `pyhost.PanicException`
//! (a `BaseException`, so `except Exception` does not swallow it) carrying the panic message.
//!
//! When that exception propagates back out to Rust, it arrives as an
//! [`Error::Python`](crate::Error::Python) whose [`kind`](crate::PyErr::kind) is
//! [`ExceptionKind::RustPanic`](crate::ExceptionKind::RustPanic); the panic is not resumed.

use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use std::sync::OnceLock;

use crate::raw::{Nested, drain_pending_held};
use crate::types::Any;
use crate::{Object, Python, Result, Unbound, ffi, raw};

/// What an entry point returns to C, and its error value.
pub trait CallbackOutput: Copy {
    /// The value that tells C "an exception is set".
    const ERROR: Self;
}

impl CallbackOutput for *mut ffi::PyObject {
    const ERROR: Self = std::ptr::null_mut();
}

impl CallbackOutput for c_int {
    const ERROR: Self = -1;
}

impl CallbackOutput for ffi::Py_ssize_t {
    const ERROR: Self = -1;
}

/// Runs the body of an entry point called from Python with the GIL held.
///
/// # Safety
/// The calling thread holds the GIL (it was called by the interpreter).
#[inline]
pub unsafe fn trampoline<R: CallbackOutput>(body: impl FnOnce(Python<'_>) -> Result<R>) -> R {
    // SAFETY: the interpreter called us, so this thread holds the GIL (caller).
    let py = unsafe { Python::assume_gil_acquired() };
    let _nested = Nested::enter(py);
    drain_pending_held(py);
    let outcome = catch_unwind(AssertUnwindSafe(|| match body(py) {
        Ok(v) => v,
        Err(e) => {
            e.restore(py);
            R::ERROR
        }
    }));
    match outcome {
        Ok(v) => v,
        Err(payload) => {
            raise_panic(py, payload);
            R::ERROR
        }
    }
}

/// Sets `pyhost.PanicException(message)` for a caught panic. Never unwinds: a panic while
/// doing so (or while dropping the payload) aborts, since it cannot be reported any other way.
#[cold]
fn raise_panic(py: Python<'_>, payload: Box<dyn std::any::Any + Send>) {
    let message = panic_message(&*payload);
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    let raised = catch_unwind(AssertUnwindSafe(|| {
        let class = panic_exception(py);
        let err = crate::PyErr::new(class, format!("Rust panic: {message}"));
        err.restore(py);
    }));
    if dropped.is_err() || raised.is_err() {
        eprintln!("pyhost: a panic occurred while reporting a panic ({message}); aborting");
        std::process::abort();
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

static PANIC_EXCEPTION: OnceLock<Unbound<Any>> = OnceLock::new();

/// `pyhost.PanicException`, created on first use.
pub fn panic_exception(py: Python<'_>) -> crate::ExceptionType {
    let class = PANIC_EXCEPTION.get_or_init(|| {
        raw::new_exception_class(
            &raw::exception_class!(py, PyExc_BaseException),
            c"pyhost.PanicException",
            c"A Rust panic inside a function called from Python.",
        )
        .expect("creating pyhost.PanicException")
        .unbind()
    });
    crate::ExceptionType::custom(&class.bind(py)).expect("PanicException is an exception class")
}

/// Whether `value` is a `pyhost.PanicException`.
pub(crate) fn is_panic_exception(value: &Object<'_, Any>) -> bool {
    match PANIC_EXCEPTION.get() {
        None => false,
        Some(class) => raw::exception_matches(value, &class.bind(value.py())),
    }
}
