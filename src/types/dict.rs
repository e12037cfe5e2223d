//! `dict`.

use super::{Any, Dict, List};
use crate::conversion::IntoPython;
use crate::{Object, Python, Result, raw};

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
        // An empty dict only fails to allocate when out of memory.
        raw::dict_new(py).expect("allocating an empty dict")
    }
}

impl<'py> Object<'py, Dict> {
    /// The number of items.
    #[inline]
    pub fn len(&self) -> usize {
        raw::dict_len(self)
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
        raw::dict_set_item(self, &k, &v)
    }

    /// `d.get(key)`: `None` when the key is absent (no `KeyError` is raised and caught).
    ///
    /// # Errors
    /// `TypeError` for an unhashable key, or what the key's `__eq__`/`__hash__` raises.
    #[inline]
    pub fn get_item(&self, key: impl IntoPython<'py>) -> Result<Option<Object<'py, Any>>> {
        let py = self.py();
        let k = key.into_python(py)?;
        raw::dict_get_item(self, &k)
    }

    /// `key in d`.
    ///
    /// # Errors
    /// As [`Object::<Dict>::get_item`](Object::get_item).
    pub fn contains(&self, key: impl IntoPython<'py>) -> Result<bool> {
        let k = key.into_python(self.py())?;
        raw::dict_contains(self, &k)
    }

    /// `del d[key]`.
    ///
    /// # Errors
    /// `KeyError` when absent.
    pub fn del_item(&self, key: impl IntoPython<'py>) -> Result<()> {
        let k = key.into_python(self.py())?;
        raw::dict_del_item(self, &k)
    }

    /// `list(d.keys())`.
    pub fn keys(&self) -> Object<'py, List> {
        // Only fails when out of memory.
        raw::dict_keys(self).expect("listing dict keys")
    }

    /// `list(d.values())`.
    pub fn values(&self) -> Object<'py, List> {
        // Only fails when out of memory.
        raw::dict_values(self).expect("listing dict values")
    }

    /// `d.copy()`.
    ///
    /// # Errors
    /// `MemoryError`.
    pub fn copy(&self) -> Result<Object<'py, Dict>> {
        raw::dict_copy(self)
    }

    /// `d.update(other)` for any mapping.
    ///
    /// # Errors
    /// What reading `other` raises.
    pub fn update(&self, other: &Object<'py, Any>) -> Result<()> {
        raw::dict_update(self, other)
    }

    /// `d.clear()`.
    pub fn clear(&self) {
        raw::dict_clear(self)
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
    pos: isize,
    len: usize,
}

impl<'py> Iterator for DictIter<'_, 'py> {
    type Item = (Object<'py, Any>, Object<'py, Any>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.dict.len() != self.len {
            return None;
        }
        raw::dict_next(self.dict, &mut self.pos)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.len))
    }
}
