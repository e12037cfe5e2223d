//! Converting Rust values to and from Python objects.
//!
//! | Rust | Python |
//! |---|---|
//! | `bool` | `bool` |
//! | `i8`…`i128`, `u8`…`u128`, `isize`, `usize` | `int` (out of range is `OverflowError`, never truncation) |
//! | `f32`, `f64` | `float` (an `int` is accepted) |
//! | `String`, `&str`, `Cow<str>`, `char` | `str` (text that is not valid Unicode is an error) |
//! | `Vec<u8>`, `&[u8]` | `bytes` (`bytearray` accepted too) |
//! | `Option<T>` | `T` or `None` |
//! | `Vec<T>`, `[T; N]`, `&[T]` | `list` (any sequence but `str` accepted) |
//! | `(A, B, …)` | `tuple` (up to 12; a list of the right length accepted) |
//! | `HashMap`, `BTreeMap` | `dict` (any mapping accepted) |
//! | `HashSet`, `BTreeSet` | `set` (`frozenset` and other iterables accepted) |
//! | `Object`, `Borrowed`, `Unbound` | the object itself |
//!
//! With the `serde` feature, `serde::to_python` and `serde::from_python` convert any
//! `Serialize`/`Deserialize` type.
//!
//! ```
//! # pyhost::initialize_once().unwrap();
//! use std::collections::HashMap;
//! use pyhost::IntoPython;
//! pyhost::with_gil(|py| {
//!     let scores = HashMap::from([("ada".to_string(), 3.5f64)]);
//!     let obj = scores.clone().into_python(py)?;
//!     assert_eq!(obj.repr()?.to_string_lossy(), "{'ada': 3.5}");
//!     let back: HashMap<String, f64> = obj.extract()?;
//!     assert_eq!(back, scores);
//!     Ok(())
//! })?;
//! # Ok::<(), pyhost::Error>(())
//! ```

mod args;
mod collections;
pub(crate) mod derive;
mod scalars;
#[cfg(feature = "serde")]
pub mod serde;

pub use args::IntoArgs;

use crate::types::Any;
use crate::{Borrowed, Object, Python, Result};

/// A Rust value that can become a Python object.
pub trait IntoPython<'py>: Sized {
    /// Converts, consuming the value.
    ///
    /// # Errors
    /// A Python exception (usually `MemoryError`) if the object cannot be created.
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>>;

    /// How a `Vec` of this type converts: a `list` unless the element type says otherwise
    /// (`Vec<u8>` becomes `bytes`).
    #[doc(hidden)]
    fn vec_into_python(v: Vec<Self>, py: Python<'py>) -> Result<Object<'py, Any>> {
        collections::list_from_iter(py, v.len(), v.into_iter())
    }

    /// How a slice of this type converts (`&[u8]` becomes `bytes`).
    #[doc(hidden)]
    fn slice_into_python(s: &[Self], py: Python<'py>) -> Result<Object<'py, Any>>
    where
        Self: Clone,
    {
        collections::list_from_iter(py, s.len(), s.iter().cloned())
    }
}

/// A Rust value that can be read from a Python object, borrowing from it for `'a` if it likes
/// (`&str`, `&[u8]`).
pub trait FromPython<'a, 'py>: Sized {
    /// Converts.
    ///
    /// # Errors
    /// A Python `TypeError` when the object has the wrong type, `OverflowError` when a number is
    /// out of range, `UnicodeEncodeError` for text that is not valid Unicode; the message names
    /// what was expected and what was found.
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self>;

    /// How a `Vec` of this type is read from `bytes` or `bytearray` contents: `Vec<u8>`
    /// copies them; other types do not accept bytes (`None`).
    #[doc(hidden)]
    fn vec_from_bytes(_bytes: &[u8]) -> Option<Vec<Self>> {
        None
    }

    /// The Python type name used in error messages.
    #[doc(hidden)]
    fn expected() -> &'static str {
        std::any::type_name::<Self>()
    }

    /// Set by pyhost's own conversions: the objects for which they run no Python code before
    /// returning `Ok`. Collection conversions then read such items without taking a reference
    /// to each.
    #[doc(hidden)]
    const NO_CODE: Option<NoCodeFor> = None;
}

pub use crate::raw::builtins::NoCodeFor;

/// [`FromPython`] for every borrow lifetime: the bound for values that do not borrow from the
/// object (`i64`, `String`, `Vec<T>`, ...).
pub trait FromPythonOwned<'py>: for<'a> FromPython<'a, 'py> {}
impl<'py, T: for<'a> FromPython<'a, 'py>> FromPythonOwned<'py> for T {}

impl<'py, T> Object<'py, T> {
    /// Converts the object to a Rust value.
    ///
    /// # Errors
    /// As [`FromPython::from_python`].
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let v = py.eval("[1, 2, 3]")?;
    ///     assert_eq!(v.extract::<Vec<i32>>()?, [1, 2, 3]);
    ///     let err = v.extract::<String>().unwrap_err();
    ///     assert!(err.to_string().contains("expected str, got list"), "{err}");
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn extract<'a, R: FromPython<'a, 'py>>(&'a self) -> Result<R> {
        R::from_python(self.as_borrowed().to_any())
    }
}

impl<'py, T> IntoPython<'py> for Object<'py, T> {
    #[inline(always)]
    fn into_python(self, _py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(self.into_any())
    }
}

impl<'py, T> IntoPython<'py> for &Object<'py, T> {
    #[inline(always)]
    fn into_python(self, _py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(self.as_any().clone())
    }
}

impl<'py, T> IntoPython<'py> for Borrowed<'_, 'py, T> {
    #[inline(always)]
    fn into_python(self, _py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(self.to_owned().into_any())
    }
}

impl<'py, T> IntoPython<'py> for crate::Unbound<T> {
    #[inline(always)]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(self.into_bound(py).into_any())
    }
}

impl<'py, T> IntoPython<'py> for &crate::Unbound<T> {
    #[inline(always)]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(self.bind(py).to_owned().into_any())
    }
}

impl<'a, 'py, T: crate::types::PyTypeInfo> FromPython<'a, 'py> for Object<'py, T> {
    #[inline(always)]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        obj.to_owned().into_downcast::<T>()
    }
}

impl<'a, 'py, T: crate::types::PyTypeInfo> FromPython<'a, 'py> for Borrowed<'a, 'py, T> {
    #[inline(always)]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        obj.into_downcast()
    }
}

impl<'a, 'py, T: crate::types::PyTypeInfo> FromPython<'a, 'py> for crate::Unbound<T> {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        Ok(obj.to_owned().into_downcast::<T>()?.unbind())
    }
}
