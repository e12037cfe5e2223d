//! Borrowing the Rust value inside an instance: from an argument, from a method's `self`.

use super::Class;
use crate::raw::types::{self as raw_types, ClassRef, ClassRefMut};
use crate::types::Any;
use crate::{Borrowed, Error, FromPython, Result};

impl<'a, T: Class> ClassRef<'a, T> {
    /// Borrows from an instance.
    ///
    /// # Errors
    /// A `TypeError` if `obj` is not a `T`, a `RuntimeError` if it is mutably borrowed.
    pub fn try_from_object(obj: Borrowed<'a, '_, Any>) -> Result<Self> {
        raw_types::borrow(T::lazy_type().created(obj.py()), obj)
    }
}

impl<'a, T: Class> ClassRefMut<'a, T> {
    /// Borrows mutably from an instance.
    ///
    /// # Errors
    /// A `TypeError` if `obj` is not a `T`, a `RuntimeError` if it is borrowed.
    pub fn try_from_object(obj: Borrowed<'a, '_, Any>) -> Result<Self> {
        raw_types::borrow_mut(T::lazy_type().created(obj.py()), obj)
    }
}

impl<'a, 'py, T: Class> FromPython<'a, 'py> for ClassRef<'a, T> {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        ClassRef::try_from_object(obj)
    }

    fn expected() -> &'static str {
        T::NAME
    }
}

impl<'a, 'py, T: Class> FromPython<'a, 'py> for ClassRefMut<'a, T> {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        ClassRefMut::try_from_object(obj)
    }

    fn expected() -> &'static str {
        T::NAME
    }
}

/// Borrows the instance a method was called on.
///
/// # Errors
/// As [`ClassRef::try_from_object`].
#[inline]
pub fn self_ref<'a, T: Class>(slf: Option<Borrowed<'a, '_, Any>>) -> Result<ClassRef<'a, T>> {
    match slf {
        Some(s) => ClassRef::try_from_object(s),
        None => Err(Error::type_error(format!(
            "a {} method was called without an instance",
            T::NAME
        ))),
    }
}

/// Borrows mutably the instance a method was called on.
///
/// # Errors
/// As [`ClassRefMut::try_from_object`].
#[inline]
pub fn self_mut<'a, T: Class>(slf: Option<Borrowed<'a, '_, Any>>) -> Result<ClassRefMut<'a, T>> {
    match slf {
        Some(s) => ClassRefMut::try_from_object(s),
        None => Err(Error::type_error(format!(
            "a {} method was called without an instance",
            T::NAME
        ))),
    }
}
