//! The tests that share one interpreter (started with `initialize_once`) in one binary: one
//! build and one link for all of them. Tests that configure or stop the interpreter, that
//! need their own process (lifecycle, isolation, builtin modules registered before the
//! start), or that measure the whole process (reference totals, memory, timing under load)
//! have binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod conversion;
mod errors;
mod gil;
mod macros_class;
mod macros_derive;
mod macros_function;
mod serde;
