//! `list`.

use std::ptr::NonNull;

use super::any::check_int;
use super::{Any, List, Tuple};
use crate::conversion::IntoPython;
use crate::{Error, Object, Python, Result, ffi};

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
        // SAFETY: GIL held; an empty list allocation only fails when out of memory, which
        // CPython treats as fatal at this size.
        unsafe { Object::from_owned_ptr_or_err(py, ffi::PyList_New(0)) }
            .expect("allocating an empty list")
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
        let l = crate::conversion::list_from_iter(py, it.len(), it)?;
        // SAFETY: list_from_iter builds a list.
        Ok(unsafe { l.cast_unchecked() })
    }
}

impl<'py> Object<'py, List> {
    /// The number of items.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: live list, GIL held.
        unsafe { ffi::PyList_GET_SIZE(self.as_ptr()) as usize }
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
        if index >= self.len() {
            return Err(Error::Python(crate::PyErr::new(
                crate::ExceptionType::IndexError,
                "list index out of range",
            )));
        }
        // SAFETY: index in bounds, live list, GIL held; the borrowed item gets its own reference.
        unsafe {
            Ok(Object::from_borrowed_ptr(
                self.py(),
                NonNull::new_unchecked(ffi::PyList_GET_ITEM(
                    self.as_ptr(),
                    index as ffi::Py_ssize_t,
                )),
            ))
        }
    }

    /// Replaces the item at `index`.
    ///
    /// # Errors
    /// `IndexError` when out of range, or a conversion failure.
    pub fn set(&self, index: usize, value: impl IntoPython<'py>) -> Result<()> {
        let v = value.into_python(self.py())?;
        // SAFETY: live list, GIL held; SetItem steals the reference and checks the index.
        check_int(self.py(), unsafe {
            ffi::PyList_SetItem(self.as_ptr(), index as ffi::Py_ssize_t, v.into_ptr())
        })
        .map(drop)
    }

    /// `list.append(value)`.
    ///
    /// # Errors
    /// A conversion failure, or `MemoryError`.
    #[inline]
    pub fn append(&self, value: impl IntoPython<'py>) -> Result<()> {
        let v = value.into_python(self.py())?;
        // SAFETY: live objects, GIL held; Append adds its own reference.
        check_int(self.py(), unsafe {
            ffi::PyList_Append(self.as_ptr(), v.as_ptr())
        })
        .map(drop)
    }

    /// `list.insert(index, value)`.
    ///
    /// # Errors
    /// A conversion failure, or `MemoryError`.
    pub fn insert(&self, index: usize, value: impl IntoPython<'py>) -> Result<()> {
        let v = value.into_python(self.py())?;
        // SAFETY: live objects, GIL held; Insert adds its own reference.
        check_int(self.py(), unsafe {
            ffi::PyList_Insert(self.as_ptr(), index as ffi::Py_ssize_t, v.as_ptr())
        })
        .map(drop)
    }

    /// `list.sort()`.
    ///
    /// # Errors
    /// What comparing the items raises.
    pub fn sort(&self) -> Result<()> {
        // SAFETY: live list, GIL held.
        check_int(self.py(), unsafe { ffi::PyList_Sort(self.as_ptr()) }).map(drop)
    }

    /// `tuple(list)`.
    pub fn to_tuple(&self) -> Object<'py, Tuple> {
        // SAFETY: live list, GIL held; AsTuple only fails when out of memory.
        unsafe { Object::from_owned_ptr_or_err(self.py(), ffi::PyList_AsTuple(self.as_ptr())) }
            .expect("copying a list into a tuple")
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
