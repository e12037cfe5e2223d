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
//! | [`deferred`] | releases and thread-state deletions waiting for their interpreter's GIL |
//! | [`entry`] | every way into Rust from C: the trampoline and the `extern "C"` entry points |
//! | [`types`] | function definitions, class types and instances |
//! | [`modules`] | module definitions (run-time and multi-phase), module state, the inittab |
//! | [`interp`] | which interpreter a thread runs in, values cached per interpreter, subinterpreters |
//! | [`alloc`] | the allocation counters: hooks around Python's allocators |
//! | [`os`] | the host's `SIGINT`/`SIGTERM` kept when Python imports `signal`; signals to and limits of worker processes |
//!
//! The files of this folder and `object.rs` (the handle types) are the only ones of the crate
//! with `unsafe` code.

pub(crate) mod active;
pub(crate) mod alloc;
pub(crate) mod builtins;
pub(crate) mod deferred;
pub(crate) mod entry;
pub(crate) mod interp;
pub(crate) mod modules;
pub(crate) mod objects;
pub(crate) mod os;
pub(crate) mod runtime;
pub(crate) mod types;

pub(crate) use builtins::*;
pub(crate) use deferred::{pending_decrefs, pending_thread_states, release_owned};
pub(crate) use objects::*;
pub(crate) use runtime::{gil_is_held, release_thread_state, with_gil, without_gil};
