//! Runtime support for the code `pyhost-macros` generates. Not a public API: its items may
//! change in any release. The public names defined here ([`Class`], [`ClassRef`],
//! [`ClassRefMut`], [`FunctionDef`], the module helpers on `Object<Module>`) are re-exported
//! at the crate root.
//!
//! Generated code only calls safe functions of this module: every C call, every raw pointer
//! and every `unsafe` block is here, behind a few entry points that all go through
//! [`crate::callback::trampoline`]:
//!
//! | entry point | C signature | used for |
//! |---|---|---|
//! | `fastcall_entry::<F>` | `METH_FASTCALL \| METH_KEYWORDS` | functions and methods |
//! | `noargs_entry::<F>` | `METH_NOARGS` | functions and methods without parameters |
//! | `new_entry::<C>` | `tp_new` | `#[new]` constructors |
//! | `unary_entry::<U>` / `getter_entry::<U>` | `tp_repr`, `tp_str`, getters | `__repr__`, `__str__`, `#[getter]` |
//! | `setter_entry::<S>` | setters | `#[setter]` |
//! | `dealloc::<T>` | `tp_dealloc` | dropping a class instance's value |
//! | `module_init::<M>` | `PyInit_<name>` | builtin modules |
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
