//! Runtime support for the code `pyhost-macros` generates. Not a public API: its items may
//! change in any release. The public names defined here ([`Class`], [`ClassRef`],
//! [`ClassRefMut`], [`FunctionDef`], the module helpers on `Object<Module>`) are re-exported
//! at the crate root.
//!
//! Generated code only calls safe functions: this module has no `unsafe` code. The entry
//! points CPython calls (`METH_FASTCALL` functions, `tp_new`, getters and setters,
//! `tp_dealloc`, `PyInit_<name>`), the class instance layout and the module definitions are in
//! `crate::raw::entry` and `crate::raw::types`, generic over small traits that the items here
//! implement for what the macros generate ([`PyFunction`], [`PyConstructor`], [`PyUnary`],
//! [`PySetter`], [`Class`]).
//!
//! Argument binding ([`args`]) is free of FFI and unit-tested without an interpreter.

pub mod args;
pub mod class;
pub mod derive;
pub mod extract;
pub mod function;
pub mod macros;
pub mod module;

pub use args::{ArgError, FunctionDescription, KeywordOnly};
pub use class::{
    Class, ClassItems, ClassMethods, ClassRef, ClassRefMut, Collector, GetSetDef, IntoNew,
    IntoSetterResult, LazyType, PyConstructor, PySetter, PyUnary, SlotDef, into_new, is_instance,
    self_mut, self_ref, setter_result, setter_value,
};
pub use extract::{
    Arg, FastcallArgs, FromArg, FromVarargs, FromVarkw, Rest, argument_error, required, state,
    varargs, varkw, with_default,
};
pub use function::{
    FunctionDef, IntoPyErr, IntoReturn, PyFunction, StateInfo, detach, into_return, map_error,
};
pub use module::{ModuleDef, PyModule, create, install, module_init};

/// A raw object pointer, the return type of `PyInit_<name>` functions.
pub type PyObjectPtr = *mut crate::ffi::PyObject;
