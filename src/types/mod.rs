//! Typed views of Python objects.
//!
//! Each type here is a marker used as the `T` of [`Object<'py, T>`](crate::Object): an
//! `Object<'py, Dict>` has the methods of a dict, and derefs to `Object<'py, Any>` for the
//! methods every object has (attributes, calls, `repr`, ...).
//!
//! | Python | marker | make one |
//! |---|---|---|
//! | any object | [`Any`] | |
//! | `str` | [`Str`] | [`Str::new`] |
//! | `bytes` | [`Bytes`] | [`Bytes::new`] |
//! | `int` | [`Int`] | [`Int::new`] |
//! | `float` | [`Float`] | [`Float::new`] |
//! | `bool` | [`Bool`] | [`Bool::new`] |
//! | `None` | [`NoneType`] | [`Python::none`](crate::Python::none) |
//! | `tuple` | [`Tuple`] | [`Tuple::new`] |
//! | `list` | [`List`] | [`List::new`] |
//! | `dict` | [`Dict`] | [`Dict::new`] |
//! | `set` | [`Set`] | [`Set::new`] |
//! | module | [`Module`] | [`Python::import`](crate::Python::import), [`Module::new`] |
//! | callables | [`Callable`] | [`Function::new`] |
//! | `type` | [`Type`] | [`Object::get_type`](crate::Object::get_type) |

mod any;
mod dict;
mod function;
mod list;
mod module;
mod scalars;
mod set;
mod string;
mod tuple;

pub use any::{AttrName, Interned, Iter};
pub use dict::DictIter;
pub use function::Function;
pub use list::ListIter;
pub use tuple::TupleIter;

use std::ops::Deref;

use crate::{Object, Python, ffi};

/// A Python type pyhost can check objects against.
pub trait PyTypeInfo {
    /// The name used in error messages (`dict`, `str`).
    const NAME: &'static str;

    /// Whether `obj` is an instance of this type (or a subclass).
    fn is_type_of(obj: &Object<'_, Any>) -> bool;
}

/// A typed view other than [`Any`]: its handles deref to `Object<'py, Any>`.
pub trait ConcreteType: PyTypeInfo {}

impl<'py, T: ConcreteType> Deref for Object<'py, T> {
    type Target = Object<'py, Any>;

    #[inline(always)]
    fn deref(&self) -> &Object<'py, Any> {
        self.as_any()
    }
}

macro_rules! markers {
    ($($(#[$doc:meta])* $name:ident, $py_name:literal, |$o:ident| $check:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {}

        impl PyTypeInfo for $name {
            const NAME: &'static str = $py_name;

            #[inline(always)]
            fn is_type_of(obj: &Object<'_, Any>) -> bool {
                let $o = obj.as_ptr();
                // SAFETY: live object, GIL held (the handle proves it).
                #[allow(unused_unsafe)]
                unsafe { $check }
            }
        }

        impl ConcreteType for $name {}
    )*};
}

/// Any Python object.
#[derive(Debug)]
pub enum Any {}

impl PyTypeInfo for Any {
    const NAME: &'static str = "object";

    #[inline(always)]
    fn is_type_of(_obj: &Object<'_, Any>) -> bool {
        true
    }
}

markers! {
    /// `str`.
    Str, "str", |o| ffi::PyUnicode_Check(o);
    /// `bytes`.
    Bytes, "bytes", |o| ffi::PyBytes_Check(o);
    /// `int` (`bool` included, as in Python).
    Int, "int", |o| ffi::PyLong_Check(o);
    /// `float`.
    Float, "float", |o| ffi::PyFloat_Check(o);
    /// `bool`.
    Bool, "bool", |o| ffi::PyBool_Check(o);
    /// `None`'s type.
    NoneType, "None", |o| o == ffi::Py_None();
    /// `tuple`.
    Tuple, "tuple", |o| ffi::PyTuple_Check(o);
    /// `list`.
    List, "list", |o| ffi::PyList_Check(o);
    /// `dict`.
    Dict, "dict", |o| ffi::PyDict_Check(o);
    /// `set` or `frozenset`.
    Set, "set", |o| ffi::PyAnySet_Check(o);
    /// A module.
    Module, "module", |o| ffi::PyModule_Check(o);
    /// Anything callable.
    Callable, "callable", |o| ffi::PyCallable_Check(o) != 0;
    /// A class (`type` or a subclass of it).
    Type, "type", |o| ffi::PyType_Check(o);
}

impl<'py> Python<'py> {
    /// `None`.
    #[inline]
    pub fn none(self) -> Object<'py, NoneType> {
        // SAFETY: None is always live; GIL held (token).
        unsafe { Object::from_borrowed_ptr(self, std::ptr::NonNull::new_unchecked(ffi::Py_None())) }
    }
}
