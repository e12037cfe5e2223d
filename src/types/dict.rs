//! `dict`.

use std::ptr::NonNull;

use super::any::check_int;
use super::{Any, Dict, List};
use crate::conversion::IntoPython;
use crate::{Error, Object, Python, Result, ffi};

impl Dict {
    /// An empty dict.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Dict;
    /// pyhost::with_gil(|py| {
    ///     let d = Dict::new(py);
    ///     d.set_item("a", 1)?;
    ///     assert_eq!(d.get_item("a")?.unwrap().extract::<i32>()?, 1);
    ///     assert!(d.get_item("b")?.is_none());
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn new(py: Python<'_>) -> Object<'_, Dict> {
        // SAFETY: GIL held; an empty dict only fails to allocate when out of memory.
        unsafe { Object::from_owned_ptr_or_err(py, ffi::PyDict_New()) }
            .expect("allocating an empty dict")
    }
}

impl<'py> Object<'py, Dict> {
    /// The number of items.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: live dict, GIL held.
        unsafe { ffi::PyDict_Size(self.as_ptr()) as usize }
    }

    /// Whether the dict is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `d[key] = value`.
    ///
    /// # Errors
    /// `TypeError` for an unhashable key, or a conversion failure.
    #[inline]
    pub fn set_item(&self, key: impl IntoPython<'py>, value: impl IntoPython<'py>) -> Result<()> {
        let py = self.py();
        let (k, v) = (key.into_python(py)?, value.into_python(py)?);
        // SAFETY: live objects, GIL held; SetItem adds its own references.
        check_int(py, unsafe {
            ffi::PyDict_SetItem(self.as_ptr(), k.as_ptr(), v.as_ptr())
        })
        .map(drop)
    }

    /// `d.get(key)`: `None` when the key is absent (no `KeyError` is raised and caught).
    ///
    /// # Errors
    /// `TypeError` for an unhashable key, or what the key's `__eq__`/`__hash__` raises.
    #[inline]
    pub fn get_item(&self, key: impl IntoPython<'py>) -> Result<Option<Object<'py, Any>>> {
        let py = self.py();
        let k = key.into_python(py)?;
        // SAFETY: live objects, GIL held; the result is a borrowed reference or NULL.
        let v = unsafe { ffi::PyDict_GetItemWithError(self.as_ptr(), k.as_ptr()) };
        match NonNull::new(v) {
            // SAFETY: borrowed from the dict; we take our own reference.
            Some(v) => Ok(Some(unsafe { Object::from_borrowed_ptr(py, v) })),
            // SAFETY: GIL held.
            None if unsafe { ffi::PyErr_Occurred() }.is_null() => Ok(None),
            None => Err(Error::fetch(py)),
        }
    }

    /// `key in d`.
    ///
    /// # Errors
    /// As [`Object::<Dict>::get_item`](Object::get_item).
    pub fn contains(&self, key: impl IntoPython<'py>) -> Result<bool> {
        let k = key.into_python(self.py())?;
        // SAFETY: live objects, GIL held.
        check_int(self.py(), unsafe {
            ffi::PyDict_Contains(self.as_ptr(), k.as_ptr())
        })
        .map(|r| r == 1)
    }

    /// `del d[key]`.
    ///
    /// # Errors
    /// `KeyError` when absent.
    pub fn del_item(&self, key: impl IntoPython<'py>) -> Result<()> {
        let k = key.into_python(self.py())?;
        // SAFETY: live objects, GIL held.
        check_int(self.py(), unsafe {
            ffi::PyDict_DelItem(self.as_ptr(), k.as_ptr())
        })
        .map(drop)
    }

    /// `list(d.keys())`.
    pub fn keys(&self) -> Object<'py, List> {
        // SAFETY: live dict, GIL held; only fails when out of memory.
        unsafe { Object::from_owned_ptr_or_err(self.py(), ffi::PyDict_Keys(self.as_ptr())) }
            .expect("listing dict keys")
    }

    /// `list(d.values())`.
    pub fn values(&self) -> Object<'py, List> {
        // SAFETY: live dict, GIL held; only fails when out of memory.
        unsafe { Object::from_owned_ptr_or_err(self.py(), ffi::PyDict_Values(self.as_ptr())) }
            .expect("listing dict values")
    }

    /// `d.copy()`.
    ///
    /// # Errors
    /// `MemoryError`.
    pub fn copy(&self) -> Result<Object<'py, Dict>> {
        // SAFETY: live dict, GIL held; the result is checked.
        unsafe { Object::from_owned_ptr_or_err(self.py(), ffi::PyDict_Copy(self.as_ptr())) }
    }

    /// `d.update(other)` for any mapping.
    ///
    /// # Errors
    /// What reading `other` raises.
    pub fn update(&self, other: &Object<'py, Any>) -> Result<()> {
        // SAFETY: live objects, GIL held.
        check_int(self.py(), unsafe {
            ffi::PyDict_Update(self.as_ptr(), other.as_ptr())
        })
        .map(drop)
    }

    /// `d.clear()`.
    pub fn clear(&self) {
        // SAFETY: live dict, GIL held.
        unsafe { ffi::PyDict_Clear(self.as_ptr()) }
    }

    /// An iterator over `(key, value)` pairs, in insertion order.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let d = py.eval("{'a': 1, 'b': 2}")?.into_downcast::<pyhost::types::Dict>()?;
    ///     let pairs: Vec<(String, i32)> = d
    ///         .iter()
    ///         .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
    ///         .collect::<pyhost::Result<_>>()?;
    ///     assert_eq!(pairs, [("a".to_string(), 1), ("b".to_string(), 2)]);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn iter(&self) -> DictIter<'_, 'py> {
        DictIter {
            dict: self,
            pos: 0,
            len: self.len(),
        }
    }
}

/// An iterator over a dict's `(key, value)` pairs. It stops if the dict changes size while
/// iterating (Python raises `RuntimeError` in that case; Rust code cannot observe a
/// half-updated dict either way).
pub struct DictIter<'a, 'py> {
    dict: &'a Object<'py, Dict>,
    pos: ffi::Py_ssize_t,
    len: usize,
}

impl<'py> Iterator for DictIter<'_, 'py> {
    type Item = (Object<'py, Any>, Object<'py, Any>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.dict.len() != self.len {
            return None;
        }
        let mut k = std::ptr::null_mut();
        let mut v = std::ptr::null_mut();
        // SAFETY: live dict, GIL held; Next hands out borrowed references, which we own copies
        // of before any Python code can run.
        unsafe {
            if ffi::PyDict_Next(self.dict.as_ptr(), &mut self.pos, &mut k, &mut v) == 0 {
                return None;
            }
            let py = self.dict.py();
            Some((
                Object::from_borrowed_ptr(py, NonNull::new_unchecked(k)),
                Object::from_borrowed_ptr(py, NonNull::new_unchecked(v)),
            ))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.len))
    }
}
