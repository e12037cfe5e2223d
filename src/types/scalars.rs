//! `int`, `float` and `bool`.

use super::{Bool, Float, Int};
use crate::{Object, Python, Result, ffi};

impl Int {
    /// A new `int`.
    ///
    /// # Errors
    /// `MemoryError`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Int;
    /// pyhost::with_gil(|py| {
    ///     assert_eq!(Int::new(py, -5)?.extract::<i64>()?, -5);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn new(py: Python<'_>, v: i64) -> Result<Object<'_, Int>> {
        // SAFETY: GIL held; the result is checked.
        unsafe { Object::from_owned_ptr_or_err(py, ffi::PyLong_FromLongLong(v)) }
    }
}

impl Float {
    /// A new `float`.
    ///
    /// # Errors
    /// `MemoryError`.
    #[inline]
    pub fn new(py: Python<'_>, v: f64) -> Result<Object<'_, Float>> {
        // SAFETY: GIL held; the result is checked.
        unsafe { Object::from_owned_ptr_or_err(py, ffi::PyFloat_FromDouble(v)) }
    }
}

impl Object<'_, Float> {
    /// The value.
    #[inline]
    pub fn value(&self) -> f64 {
        // SAFETY: live float (or subclass), GIL held; a float subclass cannot fail here.
        unsafe { ffi::PyFloat_AsDouble(self.as_ptr()) }
    }
}

impl Bool {
    /// `True` or `False`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Bool;
    /// pyhost::with_gil(|py| {
    ///     assert!(Bool::new(py, true).is_true());
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn new(py: Python<'_>, v: bool) -> Object<'_, Bool> {
        let p = if v { ffi::Py_True() } else { ffi::Py_False() };
        // SAFETY: the singletons are always live; GIL held.
        unsafe { Object::from_borrowed_ptr(py, std::ptr::NonNull::new_unchecked(p)) }
    }
}

impl Object<'_, Bool> {
    /// Whether it is `True`.
    #[inline]
    pub fn is_true(&self) -> bool {
        self.as_ptr() == ffi::Py_True()
    }
}
