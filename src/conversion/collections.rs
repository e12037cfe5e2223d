//! Sequences, tuples, maps and sets.
//!
//! Lists and tuples are built with `PyList_New`/`PyTuple_New` and direct item stores, and read
//! with direct item access: no per-element cost beyond converting the element.

use super::{FromPython, FromPythonOwned, IntoPython};
use crate::err::capture::type_name_of;
use crate::raw::{self, Check};
use crate::types::{Any, Dict, List, Set, Tuple};
use crate::{Borrowed, Error, Object, Python, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

/// Builds a list from exactly `len` items.
#[inline]
pub(crate) fn list_from_iter<'py, T: IntoPython<'py>>(
    py: Python<'py>,
    len: usize,
    items: impl Iterator<Item = T>,
) -> Result<Object<'py, Any>> {
    raw::list_from_exact(py, len, items, |v| v.into_python(py)).map(Object::into_any)
}

/// Reads a list, tuple or other sequence (not `str`, `bytes` or `bytearray`) into a `Vec`.
pub(crate) fn vec_from_sequence<'py, T: FromPythonOwned<'py>>(
    obj: Borrowed<'_, 'py, Any>,
) -> Result<Vec<T>> {
    if let Ok(t) = obj.downcast::<Tuple>() {
        // Tuples are immutable: each item stays alive while the tuple does.
        let items = t.as_slice();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(T::from_python(*item)?);
        }
        return Ok(out);
    }
    if let Ok(l) = obj.downcast::<List>() {
        // Converting an item may run Python code that changes the list: the length is read
        // again before each item, and an item gets its own reference while converted unless
        // the conversion promises to run no code for it (`NO_CODE`). The index of the
        // fallback is the output's length (one counter, not two, in the loop).
        let mut out = Vec::with_capacity(l.len());
        if let Some(promise) = T::NO_CODE {
            raw::list_for_each_borrowing(l, promise, |item| {
                out.push(T::from_python(item)?);
                Ok(())
            })?;
            return Ok(out);
        }
        while let Some(item) = raw::list_get(l, out.len()) {
            out.push(T::from_python(item.as_borrowed())?);
        }
        return Ok(out);
    }
    if raw::is(&obj, Check::Unicode)
        || raw::is(&obj, Check::Bytes)
        || raw::is(&obj, Check::ByteArray)
    {
        return Err(Error::type_error(format!(
            "expected a sequence of {}, got {}",
            T::expected(),
            type_name_of(&obj)
        )));
    }
    if !raw::is(&obj, Check::Sequence) {
        return Err(Error::type_error(format!(
            "expected a sequence, got {}",
            type_name_of(&obj)
        )));
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
        if let Some(v) = raw::bytes_like(&obj).and_then(T::vec_from_bytes) {
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
                let items = [$(self.$i.into_python(py)),+];
                raw::tuple_from_exact(py, $n, items.into_iter(), |r| r).map(Object::into_any)
            }
        }

        impl<'a, 'py, $($t: FromPython<'a, 'py>),+> FromPython<'a, 'py> for ($($t,)+) {
            /// A tuple of exactly this length (items borrowed from it, since tuples are
            /// immutable).
            fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
                let Some(items) = raw::tuple_items_of(obj) else {
                    return Err(Error::type_error(format!("expected tuple, got {}", type_name_of(&obj))));
                };
                if items.len() != $n {
                    return Err(Error::value_error(format!("expected a tuple of {} items, got {}", $n, items.len())));
                }
                Ok(($($t::from_python(items[$i])?,)+))
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
        Error::type_error(format!("expected a mapping, got {}", type_name_of(&obj)))
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
        let dict = obj.downcast::<Dict>().ok();
        let n = dict.map_or(0, |d| d.len());
        let mut out = HashMap::with_capacity_and_hasher(n, S::default());
        if let (Some(d), Some(key), Some(value)) = (dict, K::NO_CODE, V::NO_CODE) {
            raw::dict_for_each_borrowing(d, n, key, value, |k, v| {
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
    if raw::is(&obj, Check::Unicode) || raw::is(&obj, Check::Bytes) {
        return Err(Error::type_error(format!(
            "expected a set, got {}",
            type_name_of(&obj)
        )));
    }
    let it = obj
        .iter()
        .map_err(|_| Error::type_error(format!("expected a set, got {}", type_name_of(&obj))))?;
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
