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

pub use crate::raw::entry::{CallbackOutput, panic_exception, trampoline};
