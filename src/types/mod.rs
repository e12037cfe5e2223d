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
mod closure;
mod dict;
mod list;
mod module;
mod numbers;
mod set;
mod string;
mod tuple;

pub use any::{AttrName, Interned, Iter};
pub use closure::Function;
pub use dict::DictIter;
pub use list::ListIter;
pub use tuple::TupleIter;

use std::ops::Deref;

use crate::raw::{self, Check};
use crate::{Object, Python};

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
            fn is_type_of($o: &Object<'_, Any>) -> bool {
                $check
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
    Str, "str", |o| raw::is(o, Check::Unicode);
    /// `bytes`.
    Bytes, "bytes", |o| raw::is(o, Check::Bytes);
    /// `int` (`bool` included, as in Python).
    Int, "int", |o| raw::is(o, Check::Long);
    /// `float`.
    Float, "float", |o| raw::is(o, Check::Float);
    /// `bool`.
    Bool, "bool", |o| raw::is(o, Check::Bool);
    /// `None`'s type.
    NoneType, "None", |o| o.as_ptr() == raw::none_ptr();
    /// `tuple`.
    Tuple, "tuple", |o| raw::is(o, Check::Tuple);
    /// `list`.
    List, "list", |o| raw::is(o, Check::List);
    /// `dict`.
    Dict, "dict", |o| raw::is(o, Check::Dict);
    /// `set` or `frozenset`.
    Set, "set", |o| raw::is(o, Check::AnySet);
    /// A module.
    Module, "module", |o| raw::is(o, Check::Module);
    /// Anything callable.
    Callable, "callable", |o| raw::is(o, Check::Callable);
    /// A class (`type` or a subclass of it).
    Type, "type", |o| raw::is(o, Check::Type);
}

impl<'py> Python<'py> {
    /// `None`.
    #[inline]
    pub fn none(self) -> Object<'py, NoneType> {
        raw::singleton(self, raw::none_ptr())
    }
}
