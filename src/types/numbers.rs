//! `int`, `float` and `bool`.

use super::{Bool, Float, Int};
use crate::{Object, Python, Result, raw};

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
        raw::long_from_i64(py, v)
    }
}

impl Float {
    /// A new `float`.
    ///
    /// # Errors
    /// `MemoryError`.
    #[inline]
    pub fn new(py: Python<'_>, v: f64) -> Result<Object<'_, Float>> {
        raw::float_from_f64(py, v)
    }
}

impl Object<'_, Float> {
    /// The value.
    #[inline]
    pub fn value(&self) -> f64 {
        // A float or float subclass: the conversion cannot fail.
        raw::float_as_f64(self.as_any())
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
        raw::singleton(py, raw::bool_ptr(v))
    }
}

impl Object<'_, Bool> {
    /// Whether it is `True`.
    #[inline]
    pub fn is_true(&self) -> bool {
        self.as_ptr() == raw::bool_ptr(true)
    }
}
