//! `list`.

use super::{Any, List, Tuple};
use crate::conversion::IntoPython;
use crate::{Error, Object, Python, Result, raw};

impl List {
    /// An empty list.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::List;
    /// pyhost::with_gil(|py| {
    ///     let l = List::new(py);
    ///     l.append(1)?;
    ///     l.append("two")?;
    ///     assert_eq!(l.repr()?.to_str()?, "[1, 'two']");
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn new(py: Python<'_>) -> Object<'_, List> {
        // An empty list only fails to allocate when out of memory.
        raw::list_new(py).expect("allocating an empty list")
    }

    /// A list of the given items.
    ///
    /// # Errors
    /// A conversion failure, or `MemoryError`.
    pub fn from_iter<'py, T, I>(py: Python<'py>, items: I) -> Result<Object<'py, List>>
    where
        T: IntoPython<'py>,
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        let it = items.into_iter();
        raw::list_from_exact(py, it.len(), it, |v| v.into_python(py))
    }
}

impl<'py> Object<'py, List> {
    /// The number of items.
    #[inline]
    pub fn len(&self) -> usize {
        raw::list_len(self)
    }

    /// Whether the list is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The item at `index`.
    ///
    /// # Errors
    /// `IndexError` when out of range.
    #[inline]
    pub fn get(&self, index: usize) -> Result<Object<'py, Any>> {
        raw::list_get(self, index).ok_or_else(|| {
            Error::Python(crate::PyErr::new(
                crate::ExceptionType::IndexError,
                "list index out of range",
            ))
        })
    }

    /// Replaces the item at `index`.
    ///
    /// # Errors
    /// `IndexError` when out of range, or a conversion failure.
    pub fn set(&self, index: usize, value: impl IntoPython<'py>) -> Result<()> {
        let v = value.into_python(self.py())?;
        raw::list_set(self, index, v)
    }

    /// `list.append(value)`.
    ///
    /// # Errors
    /// A conversion failure, or `MemoryError`.
    #[inline]
    pub fn append(&self, value: impl IntoPython<'py>) -> Result<()> {
        let v = value.into_python(self.py())?;
        raw::list_append(self, &v)
    }

    /// `list.insert(index, value)`.
    ///
    /// # Errors
    /// A conversion failure, or `MemoryError`.
    pub fn insert(&self, index: usize, value: impl IntoPython<'py>) -> Result<()> {
        let v = value.into_python(self.py())?;
        raw::list_insert(self, index, &v)
    }

    /// `list.sort()`.
    ///
    /// # Errors
    /// What comparing the items raises.
    pub fn sort(&self) -> Result<()> {
        raw::list_sort(self)
    }

    /// `tuple(list)`.
    pub fn to_tuple(&self) -> Object<'py, Tuple> {
        // Only fails when out of memory.
        raw::list_as_tuple(self).expect("copying a list into a tuple")
    }

    /// An iterator over the items; it sees changes made to the list while iterating, as
    /// Python's does.
    pub fn iter(&self) -> ListIter<'_, 'py> {
        ListIter {
            list: self,
            index: 0,
        }
    }
}

/// An iterator over a list's items.
pub struct ListIter<'a, 'py> {
    list: &'a Object<'py, List>,
    index: usize,
}

impl<'py> Iterator for ListIter<'_, 'py> {
    type Item = Object<'py, Any>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.list.get(self.index).ok()?;
        self.index += 1;
        Some(item)
    }
}
