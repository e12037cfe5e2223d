//! `set` and `frozenset`.

use super::Set;
use crate::conversion::IntoPython;
use crate::{Object, Python, Result, raw};

impl Set {
    /// An empty set.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Set;
    /// pyhost::with_gil(|py| {
    ///     let s = Set::new(py);
    ///     s.add("x")?;
    ///     s.add("x")?;
    ///     assert_eq!(s.len(), 1);
    ///     assert!(s.contains("x")?);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn new(py: Python<'_>) -> Object<'_, Set> {
        // An empty set only fails to allocate when out of memory.
        raw::set_new(py).expect("allocating an empty set")
    }
}

impl<'py> Object<'py, Set> {
    /// The number of items.
    pub fn len(&self) -> usize {
        raw::set_len(self)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `set.add(value)` (a `frozenset` refuses with `SystemError`).
    ///
    /// # Errors
    /// `TypeError` for an unhashable value, or a conversion failure.
    pub fn add(&self, value: impl IntoPython<'py>) -> Result<()> {
        let v = value.into_python(self.py())?;
        raw::set_add(self, &v)
    }

    /// `value in set`.
    ///
    /// # Errors
    /// `TypeError` for an unhashable value.
    pub fn contains(&self, value: impl IntoPython<'py>) -> Result<bool> {
        let v = value.into_python(self.py())?;
        raw::set_contains(self, &v)
    }

    /// `set.discard(value)`; returns whether it was present.
    ///
    /// # Errors
    /// `TypeError` for an unhashable value.
    pub fn discard(&self, value: impl IntoPython<'py>) -> Result<bool> {
        let v = value.into_python(self.py())?;
        raw::set_discard(self, &v)
    }
}
