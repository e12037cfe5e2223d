//! The slots of a class: constructor, `__repr__`/`__str__`, property getters and setters, and
//! the conversion of what they return.

use super::Class;
use crate::function::IntoPyErr;
use crate::raw::entry::{ConstructorBody, FastcallArgs, InstanceBody, SetterBody, UnaryBody};
use crate::raw::types::{ClassType, GetSetDef, SlotDef};
use crate::types::Any;
use crate::{Borrowed, Error, FromPython, Object, Python, Result};

impl SlotDef {
    /// The constructor `C`.
    pub const fn constructor<C: PyConstructor>() -> SlotDef {
        SlotDef::constructor_of::<C>()
    }

    /// A function of the instance alone (`__repr__`, `__str__`).
    pub const fn unary<U: PyUnary>() -> SlotDef {
        SlotDef::unary_of::<U>()
    }
}

impl GetSetDef {
    /// With the getter `G`.
    pub const fn getter<G: PyUnary>(self) -> Self {
        self.with_getter::<G>()
    }

    /// With the setter `S`.
    pub const fn setter<S: PySetter>(self) -> Self {
        self.with_setter::<S>()
    }
}

/// A function of the instance alone: a getter, `__repr__` or `__str__`.
pub trait PyUnary: 'static {
    /// Runs it.
    ///
    /// # Errors
    /// What the function reports, or a conversion failure.
    fn call<'py>(py: Python<'py>, slf: Borrowed<'_, 'py, Any>) -> Result<Object<'py, Any>>;
}

/// A property setter.
pub trait PySetter: 'static {
    /// `Class.attribute`, for messages.
    const NAME: &'static str;

    /// Sets `value`.
    ///
    /// # Errors
    /// What the setter reports, or a conversion failure.
    fn set<'py>(
        py: Python<'py>,
        slf: Borrowed<'_, 'py, Any>,
        value: Borrowed<'_, 'py, Any>,
    ) -> Result<()>;
}

/// A constructor (`#[new]`).
pub trait PyConstructor: 'static {
    /// The class it constructs.
    type Class: Class;

    /// Binds and converts the arguments and calls the constructor.
    ///
    /// # Errors
    /// What binding, conversion or the constructor report.
    fn construct<'a, 'py>(py: Python<'py>, args: FastcallArgs<'a, 'py>) -> Result<Self::Class>;
}

impl<T: Class> InstanceBody for T {
    const NAME: &'static str = <T as Class>::NAME;
}

impl<U: PyUnary> UnaryBody for U {
    #[inline(always)]
    fn call<'py>(py: Python<'py>, slf: Borrowed<'_, 'py, Any>) -> Result<Object<'py, Any>> {
        <U as PyUnary>::call(py, slf)
    }
}

impl<S: PySetter> SetterBody for S {
    const NAME: &'static str = <S as PySetter>::NAME;

    #[inline(always)]
    fn set<'py>(
        py: Python<'py>,
        slf: Borrowed<'_, 'py, Any>,
        value: Borrowed<'_, 'py, Any>,
    ) -> Result<()> {
        <S as PySetter>::set(py, slf, value)
    }
}

impl<C: PyConstructor> ConstructorBody for C {
    type Instance = C::Class;

    fn class_type(py: Python<'_>) -> Result<ClassType<'_, C::Class>> {
        <C::Class as Class>::lazy_type().class_type(py, None)
    }

    #[inline(always)]
    fn construct<'a, 'py>(py: Python<'py>, args: FastcallArgs<'a, 'py>) -> Result<C::Class> {
        <C as PyConstructor>::construct(py, args)
    }
}

/// What a constructor may return: the value, or a `Result` of it.
#[diagnostic::on_unimplemented(
    message = "a `#[new]` constructor must return `Self` or `Result<Self, E>`",
    label = "returns `{Self}`"
)]
pub trait IntoNew<T> {
    /// The value.
    ///
    /// # Errors
    /// The constructor's error.
    fn into_new(self) -> Result<T>;
}

impl<T: Class> IntoNew<T> for T {
    #[inline(always)]
    fn into_new(self) -> Result<T> {
        Ok(self)
    }
}

impl<T: Class, E: IntoPyErr> IntoNew<T> for std::result::Result<T, E> {
    #[inline(always)]
    fn into_new(self) -> Result<T> {
        self.map_err(|e| Error::Python(e.into_py_err()))
    }
}

/// Converts what a constructor returned.
///
/// # Errors
/// The constructor's error.
#[inline(always)]
pub fn into_new<T: Class, R: IntoNew<T>>(r: R) -> Result<T> {
    r.into_new()
}

/// What a setter may return: nothing, or a `Result`.
#[diagnostic::on_unimplemented(
    message = "a `#[setter]` must return `()` or `Result<(), E>`",
    label = "returns `{Self}`"
)]
pub trait IntoSetterResult {
    /// The outcome.
    ///
    /// # Errors
    /// The setter's error.
    fn into_setter_result(self) -> Result<()>;
}

impl IntoSetterResult for () {
    #[inline(always)]
    fn into_setter_result(self) -> Result<()> {
        Ok(())
    }
}

impl<E: IntoPyErr> IntoSetterResult for std::result::Result<(), E> {
    #[inline(always)]
    fn into_setter_result(self) -> Result<()> {
        self.map_err(|e| Error::Python(e.into_py_err()))
    }
}

/// Converts what a setter returned.
///
/// # Errors
/// The setter's error.
#[inline(always)]
pub fn setter_result<R: IntoSetterResult>(r: R) -> Result<()> {
    r.into_setter_result()
}

/// Converts the value assigned to a property.
///
/// # Errors
/// The conversion error, prefixed with `Class.attribute: `.
#[inline]
pub fn setter_value<'a, 'py, T: FromPython<'a, 'py>>(
    value: Borrowed<'a, 'py, Any>,
    name: &str,
) -> Result<T> {
    T::from_python(value).map_err(|e| crate::err::prefix_error(value.py(), e, &format!("{name}: ")))
}
