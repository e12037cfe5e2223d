//! Turning the arguments of a call into the Rust values a function takes: binding them to
//! parameter slots (through [`FunctionDescription::bind`]) and converting each slot with
//! [`FromPython`], with the function and parameter named in conversion errors.
//!
//! The arguments stay borrowed from the caller for the whole call: nothing is copied or
//! reference-counted on the common path, and the slots live in a fixed-size array on the
//! stack of the generated function.

use std::any::Any as StdAny;
use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::err::prefix_error;
use crate::signature::{ArgError, FunctionDescription, KeywordName};
use crate::types::{Dict, Tuple};
use crate::{Error, FromPython, FromPythonOwned, Object, Python, Result, raw};

pub use crate::raw::entry::{Arg, FastcallArgs};

/// What [`FastcallArgs::bind`] leaves besides the slots.
pub struct Rest<'a, 'py> {
    /// Positional arguments beyond the positional parameters (for `*args`).
    pub varargs: &'a [Arg<'a, 'py>],
    /// Keyword arguments that matched no parameter (for `**kwargs`), if any.
    pub varkw: Option<Object<'py, Dict>>,
}

impl<'a, 'py> FastcallArgs<'a, 'py> {
    /// How many positional arguments were passed.
    pub fn positional_len(&self) -> usize {
        self.positional.len()
    }

    /// Binds the arguments to `desc`'s parameters: slot `i` of `slots` receives the argument
    /// for parameter `i`.
    ///
    /// # Errors
    /// A `TypeError` with CPython's message when the arguments do not fit the signature.
    #[inline]
    pub fn bind(
        &self,
        py: Python<'py>,
        desc: &FunctionDescription,
        slots: &mut [Option<Arg<'a, 'py>>],
    ) -> Result<Rest<'a, 'py>> {
        let mut varkw: Option<Object<'py, Dict>> = None;
        let varargs = desc.bind(
            self.positional,
            self.keyword_names,
            self.keyword_values,
            slots,
            |k: &Arg<'a, 'py>, v: Arg<'a, 'py>| -> Result<()> {
                varkw.get_or_insert_with(|| Dict::new(py)).set_item(*k, v)
            },
        )?;
        Ok(Rest { varargs, varkw })
    }
}

impl KeywordName for Arg<'_, '_> {
    #[inline]
    fn as_str(&self) -> Option<&str> {
        raw::str_as_utf8_quiet(*self)
    }
}

impl From<ArgError> for Error {
    #[cold]
    fn from(e: ArgError) -> Error {
        Error::type_error(e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Converting slots

/// A type a parameter can have: any [`FromPython`] type. (A separate trait only to explain a
/// missing conversion in terms of the function being written.)
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be converted from a Python argument",
    label = "this parameter's type does not implement `FromPython`",
    note = "implement `FromPython` for it (or derive it: `#[derive(pyhost::FromPython)]`), or \
            take `Object<'py, Any>` and convert in the function body"
)]
pub trait FromArg<'a, 'py>: Sized {
    /// Converts.
    ///
    /// # Errors
    /// As [`FromPython::from_python`].
    fn from_arg(obj: Arg<'a, 'py>) -> Result<Self>;
}

impl<'a, 'py, T: FromPython<'a, 'py>> FromArg<'a, 'py> for T {
    #[inline(always)]
    fn from_arg(obj: Arg<'a, 'py>) -> Result<Self> {
        T::from_python(obj)
    }
}

/// Converts the argument for a required parameter.
///
/// # Errors
/// The conversion error, prefixed with `f() argument 'x': `.
#[inline(always)]
pub fn required<'a, 'py, T: FromArg<'a, 'py>>(
    slot: Option<Arg<'a, 'py>>,
    desc: &FunctionDescription,
    index: usize,
) -> Result<T> {
    match slot {
        Some(obj) => convert(obj, desc, index),
        None => Err(unbound(desc, index)),
    }
}

/// Converts the argument for an optional parameter, or uses `default()` when the call did not
/// pass one. (An `Option<T>` parameter is one with `|| None` as default.)
///
/// # Errors
/// As [`required`].
#[inline(always)]
pub fn with_default<'a, 'py, T: FromArg<'a, 'py>>(
    slot: Option<Arg<'a, 'py>>,
    desc: &FunctionDescription,
    index: usize,
    default: impl FnOnce() -> T,
) -> Result<T> {
    match slot {
        Some(obj) => convert(obj, desc, index),
        None => Ok(default()),
    }
}

#[inline(always)]
fn convert<'a, 'py, T: FromArg<'a, 'py>>(
    obj: Arg<'a, 'py>,
    desc: &FunctionDescription,
    index: usize,
) -> Result<T> {
    match T::from_arg(obj) {
        Ok(v) => Ok(v),
        Err(e) => Err(argument_error(
            obj.py(),
            e,
            desc.name,
            desc.parameter_name(index),
        )),
    }
}

#[cold]
fn unbound(desc: &FunctionDescription, index: usize) -> Error {
    Error::runtime_error(format!(
        "{}() argument '{}' was not bound (pyhost internal error)",
        desc.name,
        desc.parameter_name(index)
    ))
}

/// Adds `f() argument 'x': ` to a conversion error. The message of a `TypeError`,
/// `ValueError` or `OverflowError` (exactly those classes, whose constructor takes a message)
/// is prefixed; other errors pass unchanged.
#[cold]
pub fn argument_error(py: Python<'_>, error: Error, function: &str, argument: &str) -> Error {
    prefix_error(py, error, &format!("{function}() argument '{argument}': "))
}

// ---------------------------------------------------------------------------------------------
// *args and **kwargs

/// A type that can receive the extra positional arguments of a call (`*args`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot receive `*args`",
    label = "not a type for `*args`",
    note = "`*args` can be received as `Object<'py, Tuple>`, `Vec<T>` (T: FromPython) or \
            `&[Borrowed<'_, 'py, Any>]`"
)]
pub trait FromVarargs<'a, 'py>: Sized {
    /// Converts the extra positional arguments.
    ///
    /// # Errors
    /// A conversion failure, naming the function and the parameter.
    fn from_varargs(
        py: Python<'py>,
        items: &'a [Arg<'a, 'py>],
        function: &str,
        parameter: &str,
    ) -> Result<Self>;
}

impl<'a, 'py> FromVarargs<'a, 'py> for &'a [Arg<'a, 'py>] {
    #[inline]
    fn from_varargs(_: Python<'py>, items: &'a [Arg<'a, 'py>], _: &str, _: &str) -> Result<Self> {
        Ok(items)
    }
}

impl<'a, 'py> FromVarargs<'a, 'py> for Object<'py, Tuple> {
    #[inline]
    fn from_varargs(py: Python<'py>, items: &'a [Arg<'a, 'py>], _: &str, _: &str) -> Result<Self> {
        Tuple::new(py, items.iter().copied())
    }
}

impl<'a, 'py, T: FromPython<'a, 'py>> FromVarargs<'a, 'py> for Vec<T> {
    fn from_varargs(
        py: Python<'py>,
        items: &'a [Arg<'a, 'py>],
        function: &str,
        parameter: &str,
    ) -> Result<Self> {
        items
            .iter()
            .enumerate()
            .map(|(i, obj)| {
                T::from_python(*obj).map_err(|e| {
                    prefix_error(
                        py,
                        e,
                        &format!("{function}() argument '{parameter}' item {i}: "),
                    )
                })
            })
            .collect()
    }
}

/// Converts the extra positional arguments for a `*args` parameter.
///
/// # Errors
/// As [`FromVarargs::from_varargs`].
#[inline(always)]
pub fn varargs<'a, 'py, T: FromVarargs<'a, 'py>>(
    py: Python<'py>,
    rest: &Rest<'a, 'py>,
    desc: &FunctionDescription,
    parameter: &str,
) -> Result<T> {
    T::from_varargs(py, rest.varargs, desc.name, parameter)
}

/// A type that can receive the unmatched keyword arguments of a call (`**kwargs`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot receive `**kwargs`",
    label = "not a type for `**kwargs`",
    note = "`**kwargs` can be received as `Option<Object<'py, Dict>>` (None when there are \
            none), `Object<'py, Dict>` or `HashMap<String, T>` (T: FromPython)"
)]
pub trait FromVarkw<'py>: Sized {
    /// Converts the unmatched keyword arguments (`None` when there were none).
    ///
    /// # Errors
    /// A conversion failure, naming the function and the parameter.
    fn from_varkw(
        py: Python<'py>,
        kwargs: Option<Object<'py, Dict>>,
        function: &str,
        parameter: &str,
    ) -> Result<Self>;
}

impl<'py> FromVarkw<'py> for Option<Object<'py, Dict>> {
    #[inline]
    fn from_varkw(
        _: Python<'py>,
        kwargs: Option<Object<'py, Dict>>,
        _: &str,
        _: &str,
    ) -> Result<Self> {
        Ok(kwargs)
    }
}

impl<'py> FromVarkw<'py> for Object<'py, Dict> {
    #[inline]
    fn from_varkw(
        py: Python<'py>,
        kwargs: Option<Object<'py, Dict>>,
        _: &str,
        _: &str,
    ) -> Result<Self> {
        Ok(kwargs.unwrap_or_else(|| Dict::new(py)))
    }
}

impl<'py, T: FromPythonOwned<'py>, S: BuildHasher + Default> FromVarkw<'py>
    for HashMap<String, T, S>
{
    fn from_varkw(
        py: Python<'py>,
        kwargs: Option<Object<'py, Dict>>,
        function: &str,
        parameter: &str,
    ) -> Result<Self> {
        let mut out = HashMap::with_hasher(S::default());
        if let Some(d) = kwargs {
            for (k, v) in d.iter() {
                let key: String = k.extract()?;
                let value = v.extract::<T>().map_err(|e| {
                    prefix_error(
                        py,
                        e,
                        &format!("{function}() argument '{parameter}' item '{key}': "),
                    )
                })?;
                out.insert(key, value);
            }
        }
        Ok(out)
    }
}

/// Converts the unmatched keyword arguments for a `**kwargs` parameter.
///
/// # Errors
/// As [`FromVarkw::from_varkw`].
#[inline(always)]
pub fn varkw<'py, T: FromVarkw<'py>>(
    py: Python<'py>,
    rest: Rest<'_, 'py>,
    desc: &FunctionDescription,
    parameter: &str,
) -> Result<T> {
    T::from_varkw(py, rest.varkw, desc.name, parameter)
}

// ---------------------------------------------------------------------------------------------
// Host state

/// The host state of the module a function belongs to, for a `#[pyhost(state)]` parameter.
///
/// # Errors
/// A `RuntimeError` when the function is not attached to a pyhost module holding a `T`.
#[inline]
pub fn state<'a, T: StdAny + Send + Sync>(
    slf: Option<Arg<'a, '_>>,
    desc: &FunctionDescription,
) -> Result<&'a T> {
    let found = slf.and_then(|m| crate::raw::modules::state_of(m));
    match found.and_then(|s| s.downcast_ref::<T>()) {
        Some(v) => Ok(v),
        None => Err(missing_state::<T>(desc, found.is_some())),
    }
}

#[cold]
fn missing_state<T>(desc: &FunctionDescription, other: bool) -> Error {
    Error::runtime_error(format!(
        "{}() needs host state of type `{}`, but {}",
        desc.name,
        std::any::type_name::<T>(),
        if other {
            "its module holds state of another type"
        } else {
            "it is not attached to a pyhost module created with that state"
        }
    ))
}
