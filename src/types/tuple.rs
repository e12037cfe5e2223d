//! `tuple`.

use super::{Any, Tuple};
use crate::conversion::IntoPython;
use crate::{Borrowed, Error, Object, Python, Result, raw};

impl Tuple {
    /// A tuple of the given items.
    ///
    /// # Errors
    /// A conversion failure, or `MemoryError`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Tuple;
    /// pyhost::with_gil(|py| {
    ///     let t = Tuple::new(py, [1, 2, 3])?;
    ///     assert_eq!(t.len(), 3);
    ///     assert_eq!(t.get(2)?.extract::<i32>()?, 3);
    ///     assert!(t.get(3).is_err());
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn new<'py, T, I>(py: Python<'py>, items: I) -> Result<Object<'py, Tuple>>
    where
        T: IntoPython<'py>,
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        let it = items.into_iter();
        raw::tuple_from_exact(py, it.len(), it, |v| v.into_python(py))
    }

    /// `()`.
    pub fn empty(py: Python<'_>) -> Object<'_, Tuple> {
        raw::tuple_empty(py)
    }
}

impl<'py> Object<'py, Tuple> {
    /// The number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the tuple is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The item at `index`, borrowed from the tuple.
    ///
    /// # Errors
    /// `IndexError` when out of range.
    #[inline]
    pub fn get(&self, index: usize) -> Result<Borrowed<'_, 'py, Any>> {
        self.as_slice().get(index).copied().ok_or_else(|| {
            Error::Python(crate::PyErr::new(
                crate::ExceptionType::IndexError,
                "tuple index out of range",
            ))
        })
    }

    /// The items, borrowed from the tuple.
    #[inline]
    pub fn as_slice(&self) -> &[Borrowed<'_, 'py, Any>] {
        raw::tuple_items(self)
    }

    /// An iterator over the items.
    pub fn iter(&self) -> TupleIter<'_, 'py> {
        TupleIter {
            inner: self.as_slice().iter(),
        }
    }
}

/// An iterator over a tuple's items, from [`Object::<Tuple>::iter`](Object::iter).
pub struct TupleIter<'a, 'py> {
    inner: std::slice::Iter<'a, Borrowed<'a, 'py, Any>>,
}

impl<'a, 'py> Iterator for TupleIter<'a, 'py> {
    type Item = Borrowed<'a, 'py, Any>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().copied()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for TupleIter<'_, '_> {}
