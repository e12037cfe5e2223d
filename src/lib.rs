//! Embed CPython in Rust programs, fast and safely.
//!
//! ```
//! pyhost::initialize_once()?; // or Interpreter::builder()...start()
//! let total: i64 = pyhost::with_gil(|py| {
//!     let statistics = py.import("statistics")?;
//!     statistics.call_method1("fsum", (vec![1.5, 2.5],))?.extract::<f64>().map(|f| f as i64)
//! })?;
//! assert_eq!(total, 4);
//! # Ok::<(), pyhost::Error>(())
//! ```
//!
//! | Python concept | pyhost |
//! |---|---|
//! | the interpreter | [`Interpreter::builder`], [`initialize`], [`shutdown`] |
//! | holding the GIL | [`Python`] token from [`with_gil`]; [`Python::allow_threads`] to release it |
//! | a reference | [`Object`] (owned, GIL-bound), [`Borrowed`], [`Unbound`] (`Send + Sync`) |
//! | `str`, `bytes`, `int`, `float`, `bool`, `None` | [`types::Str`], [`types::Bytes`], [`types::Int`], [`types::Float`], [`types::Bool`], [`types::NoneType`] |
//! | `tuple`, `list`, `dict`, `set` | [`types::Tuple`], [`types::List`], [`types::Dict`], [`types::Set`] |
//! | modules, callables, classes | [`types::Module`], [`types::Callable`] / [`types::Function`], [`types::Type`] |
//! | `import`, `eval`, `exec`, run a file | [`Python::import`], [`Python::eval`], [`Python::exec`], [`Python::run_file`] |
//! | converting values | [`IntoPython`], [`FromPython`] ([`conversion`]) |
//! | exceptions | [`Error`], [`PyErr`] (type, message, traceback, cause chain), [`ExceptionType`] |
//! | a Rust function called from Python | [`types::Function::new`], [`callback::trampoline`] |
//! | Python from any thread or async task, with deadlines | [`Executor`] ([`executor`]) |
//!
//! # Threads
//!
//! Any thread may call [`with_gil`]. Each thread gets one `PyThreadState`, created on its first
//! acquisition and kept until it exits, so taking the GIL again costs a restore/save pair and
//! `threading.local` data survives between calls. Nested `with_gil` calls are a thread-local
//! counter bump. [`Unbound`] handles may be dropped anywhere: without the GIL the release is
//! deferred to the next acquisition.
//!
//! # Safety
//!
//! Values bound to the GIL (`Python<'py>`, `Object<'py, _>`) are neither `Send` nor `Sync` and
//! cannot outlive the `with_gil` closure. Panics in Rust functions called from Python become
//! Python exceptions and never unwind into C. Python exceptions are fetched where they happen
//! and carried as [`PyErr`] values.

#![warn(missing_docs)]

pub use pyhost_sys as ffi;

mod arguments;
pub mod asyncio;
pub mod blocking;
pub mod callback;
mod class;
mod code;
pub mod conversion;
mod err;
pub mod executor;
mod function;
mod gil;
mod helper;
#[doc(hidden)]
pub mod impl_;
mod interpreter;
mod macros;
pub mod memory;
mod module_def;
mod object;
#[cfg(unix)]
pub mod process;
mod raw;
mod signature;
pub mod subinterpreter;
pub mod types;

pub use class::{Class, ClassRef, ClassRefMut};
pub use code::Mode;
pub use conversion::{FromPython, FromPythonOwned, IntoArgs, IntoPython};
pub use err::{
    CauseKind, CustomClass, Error, ExceptionKind, ExceptionType, Frame, PyErr, Result, ResultExt,
    SyntaxLocation,
};
pub use executor::Executor;
pub use function::FunctionDef;
pub use gil::{
    gil_is_held, pending_decrefs, pending_thread_states, release_thread_state, with_gil,
};
pub use interpreter::{
    Builder, Interpreter, ModuleInit, initialize, initialize_once, is_initialized, shutdown,
    shutdown_timeout,
};
#[cfg(feature = "macros")]
pub use macros::{FromPython, IntoPython, class, function, module};
pub use memory::Allocator;
pub use object::{Borrowed, Object, Unbound};
pub use raw::runtime::{GilGuard, Python};

/// The names most programs need: `use pyhost::prelude::*;`.
pub mod prelude {
    pub use crate::types::{
        Any, Bool, Bytes, Callable, Dict, Float, Int, List, Module, NoneType, Set, Str, Tuple, Type,
    };
    pub use crate::{
        Borrowed, Error, FromPython, IntoPython, Object, PyErr, Python, Result, ResultExt, Unbound,
        with_gil,
    };
}

/// The README's Rust code, compiled as doctests so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
