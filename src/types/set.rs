//! `set` and `frozenset`.

use super::Set;
use super::any::check_int;
use crate::conversion::IntoPython;
use crate::{Object, Python, Result, ffi};

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
        // SAFETY: GIL held; an empty set only fails to allocate when out of memory.
        unsafe { Object::from_owned_ptr_or_err(py, ffi::PySet_New(std::ptr::null_mut())) }
            .expect("allocating an empty set")
    }
}

impl<'py> Object<'py, Set> {
    /// The number of items.
    pub fn len(&self) -> usize {
        // SAFETY: live set, GIL held.
        unsafe { ffi::PySet_Size(self.as_ptr()) as usize }
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
        // SAFETY: live objects, GIL held.
        check_int(self.py(), unsafe {
            ffi::PySet_Add(self.as_ptr(), v.as_ptr())
        })
        .map(drop)
    }

    /// `value in set`.
    ///
    /// # Errors
    /// `TypeError` for an unhashable value.
    pub fn contains(&self, value: impl IntoPython<'py>) -> Result<bool> {
        let v = value.into_python(self.py())?;
        // SAFETY: live objects, GIL held.
        check_int(self.py(), unsafe {
            ffi::PySet_Contains(self.as_ptr(), v.as_ptr())
        })
        .map(|r| r == 1)
    }

    /// `set.discard(value)`; returns whether it was present.
    ///
    /// # Errors
    /// `TypeError` for an unhashable value.
    pub fn discard(&self, value: impl IntoPython<'py>) -> Result<bool> {
        let v = value.into_python(self.py())?;
        // SAFETY: live objects, GIL held.
        check_int(self.py(), unsafe {
            ffi::PySet_Discard(self.as_ptr(), v.as_ptr())
        })
        .map(|r| r == 1)
    }
}
