//! The raw layer: every call pyhost makes into libpython, each wrapped once, so that the rest
//! of the crate holds no `unsafe`.
//!
//! A function here does "call, check `NULL` or `-1`, fetch the exception" and returns a
//! `Result`; it takes handles ([`Object`](crate::Object), [`Borrowed`](crate::Borrowed)) or a
//! [`Python`](crate::Python) token, which prove that the objects are alive and that the GIL is
//! held, so it is safe to call. What needs more than that (thread states, type objects,
//! the entry points C calls) is kept behind types whose methods uphold it.
//!
//! | module | what |
//! |---|---|
//! | [`objects`] | type checks, the object protocol, calls, exceptions, imports, code |
//! | [`builtins`] | `int`, `float`, `str`, `bytes`, `tuple`, `list`, `dict`, `set` |
//! | [`runtime`] | the lifecycle, the GIL and thread states, `PyConfig`, asynchronous exceptions |
//! | [`entry`] | every way into Rust from C: the trampoline and the `extern "C"` entry points |
//! | [`types`] | function definitions, class types and instances, module definitions and state |
//!
//! The files of this folder and `object.rs` (the handle types) are the only ones of the crate
//! with `unsafe` code.

pub(crate) mod active;
pub(crate) mod builtins;
pub(crate) mod entry;
pub(crate) mod objects;
pub(crate) mod runtime;
pub(crate) mod types;

pub(crate) use builtins::*;
pub(crate) use objects::*;
pub(crate) use runtime::{
    gil_is_held, pending_decrefs, pending_thread_states, release_owned, release_thread_state,
    with_gil, without_gil,
};
