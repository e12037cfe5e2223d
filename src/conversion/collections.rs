//! Sequences, tuples, maps and sets.
//!
//! Lists and tuples are built with `PyList_New`/`PyTuple_New` and direct item stores, and read
//! with direct item access: no per-element cost beyond converting the element.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::ptr::NonNull;

use super::scalars::borrowed;
use super::{FromPython, FromPythonOwned, IntoPython};
use crate::err::capture::type_name_of;
use crate::types::{Any, Dict, Set};
use crate::{Borrowed, Error, Object, Python, Result, ffi};

/// Builds a list from exactly `len` items.
pub(crate) fn list_from_iter<'py, T: IntoPython<'py>>(
    py: Python<'py>,
    len: usize,
    items: impl Iterator<Item = T>,
) -> Result<Object<'py, Any>> {
    // SAFETY: GIL held (token); the result is checked.
    let list = unsafe {
        Object::<Any>::from_owned_ptr_or_err(py, ffi::PyList_New(len as ffi::Py_ssize_t))
    }?;
    // SAFETY: the store goes to a slot of the fresh list (see `fill`).
    fill(py, &list, len, items, |c, i, v| unsafe {
        ffi::PyList_SET_ITEM(c, i, v)
    })?;
    Ok(list)
}

/// Builds a tuple from exactly `len` items.
pub(crate) fn tuple_from_iter<'py, T: IntoPython<'py>>(
    py: Python<'py>,
    len: usize,
    items: impl Iterator<Item = T>,
) -> Result<Object<'py, crate::types::Tuple>> {
    // SAFETY: GIL held (token); the result is checked.
    let tuple = unsafe {
        Object::<Any>::from_owned_ptr_or_err(py, ffi::PyTuple_New(len as ffi::Py_ssize_t))
    }?;
    // SAFETY: the store goes to a slot of the fresh tuple (see `fill`).
    fill(py, &tuple, len, items, |c, i, v| unsafe {
        ffi::PyTuple_SET_ITEM(c, i, v)
    })?;
    // SAFETY: built as a tuple above.
    Ok(unsafe { tuple.cast_unchecked() })
}

/// Stores converted items into a fresh list or tuple of length `len`. On error the container
/// (with some slots still NULL, which list and tuple deallocation accept) is released by the
/// caller's handle.
fn fill<'py, T: IntoPython<'py>>(
    py: Python<'py>,
    container: &Object<'py, Any>,
    len: usize,
    items: impl Iterator<Item = T>,
    set: impl Fn(*mut ffi::PyObject, ffi::Py_ssize_t, *mut ffi::PyObject),
) -> Result<()> {
    let mut n = 0;
    for item in items {
        if n == len {
            return Err(Error::runtime_error(
                "an iterator yielded more items than its length",
            ));
        }
        let v = item.into_python(py)?;
        // `n < len` slots exist in the fresh container; the store steals `v`.
        set(container.as_ptr(), n as ffi::Py_ssize_t, v.into_ptr());
        n += 1;
    }
    if n != len {
        return Err(Error::runtime_error(
            "an iterator yielded fewer items than its length",
        ));
    }
    Ok(())
}

/// Reads a list, tuple or other sequence (not `str`, `bytes` or `bytearray`) into a `Vec`.
pub(crate) fn vec_from_sequence<'py, T: FromPythonOwned<'py>>(
    obj: Borrowed<'_, 'py, Any>,
) -> Result<Vec<T>> {
    let py = obj.py();
    let p = obj.as_ptr();
    // SAFETY: live object, GIL held.
    unsafe {
        if ffi::PyTuple_Check(p) {
            let n = ffi::PyTuple_GET_SIZE(p);
            let mut out = Vec::with_capacity(n as usize);
            for i in 0..n {
                // Tuples are immutable: the item stays alive while the tuple does.
                out.push(T::from_python(borrowed(py, ffi::PyTuple_GET_ITEM(p, i)))?);
            }
            return Ok(out);
        }
        if ffi::PyList_Check(p) {
            let mut out = Vec::with_capacity(ffi::PyList_GET_SIZE(p) as usize);
            let mut i = 0;
            // Converting an item may run Python code that changes the list: re-read the
            // length and hold our own reference to each item while converting it.
            while i < ffi::PyList_GET_SIZE(p) {
                let item = Object::<Any>::from_borrowed_ptr(
                    py,
                    NonNull::new_unchecked(ffi::PyList_GET_ITEM(p, i)),
                );
                out.push(T::from_python(item.as_borrowed())?);
                i += 1;
            }
            return Ok(out);
        }
        if ffi::PyUnicode_Check(p) || ffi::PyBytes_Check(p) || ffi::PyByteArray_Check(p) {
            return Err(Error::type_error(format!(
                "expected a sequence of {}, got {}",
                T::expected(),
                type_name_of(p)
            )));
        }
        if ffi::PySequence_Check(p) == 0 {
            return Err(Error::type_error(format!(
                "expected a sequence, got {}",
                type_name_of(p)
            )));
        }
    }
    let mut out = Vec::new();
    for item in obj.iter()? {
        out.push(T::from_python(item?.as_borrowed())?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Vec, slices, arrays

impl<'py, T: IntoPython<'py>> IntoPython<'py> for Vec<T> {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        T::vec_into_python(self, py)
    }
}

impl<'py, T: IntoPython<'py> + Clone> IntoPython<'py> for &[T] {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        T::slice_into_python(self, py)
    }
}

impl<'py, T: IntoPython<'py> + Clone> IntoPython<'py> for &Vec<T> {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        T::slice_into_python(self, py)
    }
}

impl<'py, T: IntoPython<'py>, const N: usize> IntoPython<'py> for [T; N] {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        T::vec_into_python(Vec::from(self), py)
    }
}

impl<'a, 'py, T: FromPythonOwned<'py>> FromPython<'a, 'py> for Vec<T> {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        if let Some(v) = super::scalars::bytes_like(&obj).and_then(T::vec_from_bytes) {
            return Ok(v);
        }
        vec_from_sequence(obj)
    }

    fn expected() -> &'static str {
        "list"
    }
}

impl<'a, 'py, T: FromPythonOwned<'py>, const N: usize> FromPython<'a, 'py> for [T; N] {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let v = Vec::<T>::from_python(obj)?;
        let len = v.len();
        v.try_into()
            .map_err(|_| Error::value_error(format!("expected a sequence of {N} items, got {len}")))
    }

    fn expected() -> &'static str {
        "list"
    }
}

// ---------------------------------------------------------------------------------------------
// Tuples

macro_rules! tuples {
    ($($n:literal => ($($t:ident $i:tt),+);)*) => {$(
        impl<'py, $($t: IntoPython<'py>),+> IntoPython<'py> for ($($t,)+) {
            fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
                // SAFETY: GIL held (token); the result is checked.
                let t = unsafe { Object::<Any>::from_owned_ptr_or_err(py, ffi::PyTuple_New($n)) }?;
                $(
                    let v = self.$i.into_python(py)?;
                    // SAFETY: slot $i of the fresh tuple; the store steals `v`.
                    unsafe { ffi::PyTuple_SET_ITEM(t.as_ptr(), $i, v.into_ptr()) };
                )+
                Ok(t)
            }
        }

        impl<'a, 'py, $($t: FromPython<'a, 'py>),+> FromPython<'a, 'py> for ($($t,)+) {
            /// A tuple of exactly this length (items borrowed from it, since tuples are
            /// immutable).
            fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
                let p = obj.as_ptr();
                // SAFETY: live object, GIL held.
                if !unsafe { ffi::PyTuple_Check(p) } {
                    return Err(Error::type_error(format!("expected tuple, got {}", type_name_of(p))));
                }
                // SAFETY: a live tuple.
                let len = unsafe { ffi::PyTuple_GET_SIZE(p) };
                if len != $n {
                    return Err(Error::value_error(format!("expected a tuple of {} items, got {len}", $n)));
                }
                let py = obj.py();
                // SAFETY: indices below the checked length; the tuple outlives 'a.
                Ok(($($t::from_python(borrowed(py, unsafe { ffi::PyTuple_GET_ITEM(p, $i) }))?,)+))
            }

            fn expected() -> &'static str {
                "tuple"
            }
        }
    )*};
}

tuples! {
    1 => (A 0);
    2 => (A 0, B 1);
    3 => (A 0, B 1, C 2);
    4 => (A 0, B 1, C 2, D 3);
    5 => (A 0, B 1, C 2, D 3, E 4);
    6 => (A 0, B 1, C 2, D 3, E 4, F 5);
    7 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    8 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    9 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    10 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    11 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    12 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
}

// ---------------------------------------------------------------------------------------------
// Maps

fn dict_from_pairs<'py, K: IntoPython<'py>, V: IntoPython<'py>>(
    py: Python<'py>,
    pairs: impl Iterator<Item = (K, V)>,
) -> Result<Object<'py, Any>> {
    let d = Dict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v)?;
    }
    Ok(d.into_any())
}

/// Calls `f` with each `(key, value)` of a dict or other mapping, as owned objects.
/// The items of a dict of `len` items, borrowed when both are of exact builtin scalar types
/// (for conversions that promised
/// [`NoCodeForBuiltins`](crate::conversion::NoCodeForBuiltins)), owned otherwise. Stops, as
/// `Dict::iter` does, if a conversion changed the dict's size.
fn read_dict_borrowing_builtins<'py>(
    obj: Borrowed<'_, 'py, Any>,
    len: ffi::Py_ssize_t,
    mut f: impl FnMut(Borrowed<'_, 'py, Any>, Borrowed<'_, 'py, Any>) -> Result<()>,
) -> Result<()> {
    let py = obj.py();
    let d = obj.as_ptr();
    // SAFETY: `obj` is a live dict (caller), GIL held. `PyDict_Next` hands out borrowed
    // items. Items of exact builtin scalar types go to conversions that run no Python code
    // before succeeding, so nothing can change the dict or free them meanwhile; after a
    // failure we return at once. Other items are held by our own references while converted;
    // only such a conversion can change the dict, so the size is checked after it.
    unsafe {
        let (mut pos, mut k, mut v) = (0, std::ptr::null_mut(), std::ptr::null_mut());
        while ffi::PyDict_Next(d, &mut pos, &mut k, &mut v) != 0 {
            if crate::conversion::is_builtin_scalar(k) && crate::conversion::is_builtin_scalar(v) {
                f(borrowed(py, k), borrowed(py, v))?;
            } else {
                let k = Object::<Any>::from_borrowed_ptr(py, NonNull::new_unchecked(k));
                let v = Object::<Any>::from_borrowed_ptr(py, NonNull::new_unchecked(v));
                f(k.as_borrowed(), v.as_borrowed())?;
                if ffi::PyDict_Size(d) != len {
                    break;
                }
            }
        }
    }
    Ok(())
}

fn for_each_pair<'py>(
    obj: Borrowed<'_, 'py, Any>,
    mut f: impl FnMut(Object<'py, Any>, Object<'py, Any>) -> Result<()>,
) -> Result<()> {
    if let Ok(d) = obj.downcast::<Dict>() {
        for (k, v) in d.iter() {
            f(k, v)?;
        }
        return Ok(());
    }
    let items = obj.getattr("items").map_err(|_| {
        Error::type_error(format!(
            "expected a mapping, got {}",
            type_name_of(obj.as_ptr())
        ))
    })?;
    for pair in items.call0()?.iter()? {
        let pair = pair?;
        let (k, v): (Object<'py, Any>, Object<'py, Any>) = pair.extract()?;
        f(k, v)?;
    }
    Ok(())
}

impl<'py, K: IntoPython<'py>, V: IntoPython<'py>, S> IntoPython<'py> for HashMap<K, V, S> {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        dict_from_pairs(py, self.into_iter())
    }
}

impl<'py, K: IntoPython<'py>, V: IntoPython<'py>> IntoPython<'py> for BTreeMap<K, V> {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        dict_from_pairs(py, self.into_iter())
    }
}

impl<'a, 'py, K, V, S> FromPython<'a, 'py> for HashMap<K, V, S>
where
    K: FromPythonOwned<'py> + Eq + Hash,
    V: FromPythonOwned<'py>,
    S: BuildHasher + Default,
{
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        // Sized once: growing would hash every key again.
        // SAFETY: live object, GIL held; `PyDict_Size` is only called on a dict.
        let n = unsafe {
            if ffi::PyDict_Check(obj.as_ptr()) {
                ffi::PyDict_Size(obj.as_ptr())
            } else {
                0
            }
        };
        let mut out =
            HashMap::with_capacity_and_hasher(usize::try_from(n).unwrap_or(0), S::default());
        if K::NO_CODE_FOR_BUILTINS.is_some() && V::NO_CODE_FOR_BUILTINS.is_some() && n > 0 {
            read_dict_borrowing_builtins(obj, n, |k, v| {
                out.insert(K::from_python(k)?, V::from_python(v)?);
                Ok(())
            })?;
            return Ok(out);
        }
        for_each_pair(obj, |k, v| {
            out.insert(k.extract()?, v.extract()?);
            Ok(())
        })?;
        Ok(out)
    }

    fn expected() -> &'static str {
        "dict"
    }
}

impl<'a, 'py, K, V> FromPython<'a, 'py> for BTreeMap<K, V>
where
    K: FromPythonOwned<'py> + Ord,
    V: FromPythonOwned<'py>,
{
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let mut out = BTreeMap::new();
        for_each_pair(obj, |k, v| {
            out.insert(k.extract()?, v.extract()?);
            Ok(())
        })?;
        Ok(out)
    }

    fn expected() -> &'static str {
        "dict"
    }
}

// ---------------------------------------------------------------------------------------------
// Sets

fn set_from_iter<'py, T: IntoPython<'py>>(
    py: Python<'py>,
    items: impl Iterator<Item = T>,
) -> Result<Object<'py, Any>> {
    let s = Set::new(py);
    for item in items {
        s.add(item)?;
    }
    Ok(s.into_any())
}

/// Reads a set, frozenset or any other iterable but `str`/`bytes`.
fn from_iterable<'py, T: FromPythonOwned<'py>>(
    obj: Borrowed<'_, 'py, Any>,
    mut f: impl FnMut(T),
) -> Result<()> {
    let p = obj.as_ptr();
    // SAFETY: live object, GIL held.
    if unsafe { ffi::PyUnicode_Check(p) || ffi::PyBytes_Check(p) } {
        return Err(Error::type_error(format!(
            "expected a set, got {}",
            type_name_of(p)
        )));
    }
    let it = obj
        .iter()
        .map_err(|_| Error::type_error(format!("expected a set, got {}", type_name_of(p))))?;
    for item in it {
        f(item?.extract()?);
    }
    Ok(())
}

impl<'py, T: IntoPython<'py>, S> IntoPython<'py> for HashSet<T, S> {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        set_from_iter(py, self.into_iter())
    }
}

impl<'py, T: IntoPython<'py>> IntoPython<'py> for BTreeSet<T> {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        set_from_iter(py, self.into_iter())
    }
}

impl<'a, 'py, T, S> FromPython<'a, 'py> for HashSet<T, S>
where
    T: FromPythonOwned<'py> + Eq + Hash,
    S: BuildHasher + Default,
{
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let mut out = HashSet::with_hasher(S::default());
        from_iterable(obj, |v| {
            out.insert(v);
        })?;
        Ok(out)
    }

    fn expected() -> &'static str {
        "set"
    }
}

impl<'a, 'py, T: FromPythonOwned<'py> + Ord> FromPython<'a, 'py> for BTreeSet<T> {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let mut out = BTreeSet::new();
        from_iterable(obj, |v| {
            out.insert(v);
        })?;
        Ok(out)
    }

    fn expected() -> &'static str {
        "set"
    }
}
