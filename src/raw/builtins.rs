//! The builtin types: `int`, `float`, `str`, `bytes`, `tuple`, `list`, `dict` and `set`. Their
//! C calls, each wrapped once, and the direct access the conversions rely on for speed
//! (reading a tuple's items in place, filling a fresh list, walking a dict without taking
//! references to its builtin items, borrowing a `str`'s UTF-8).

use std::ptr::{NonNull, null_mut};

use std::os::raw::c_int;

use super::objects::{Check, err_occurred, is, owned, status};
use crate::types::{Any, Bytes, Dict, Float, Int, List, Set, Str, Tuple};
use crate::{Borrowed, Error, Object, Python, Result, ffi};

// ---------------------------------------------------------------------------------------------
// Numbers

/// `int(v)`.
#[inline]
pub(crate) fn long_from_i64(py: Python<'_>, v: i64) -> Result<Object<'_, Int>> {
    // SAFETY: GIL held (token).
    unsafe { owned(py, ffi::PyLong_FromLongLong(v)) }
}

/// `int(v)`.
#[inline]
pub(crate) fn long_from_u64(py: Python<'_>, v: u64) -> Result<Object<'_, Int>> {
    // SAFETY: GIL held (token).
    unsafe { owned(py, ffi::PyLong_FromUnsignedLongLong(v as _)) }
}

/// `int.from_bytes(bytes, 'little', signed=signed)`.
pub(crate) fn long_from_le_bytes<'py>(
    py: Python<'py>,
    bytes: &[u8; 16],
    signed: bool,
) -> Result<Object<'py, Int>> {
    // SAFETY: 16 readable bytes; GIL held (token).
    unsafe {
        owned(
            py,
            ffi::_PyLong_FromByteArray(bytes.as_ptr(), 16, 1, c_int::from(signed)),
        )
    }
}

/// An int as 16 little-endian bytes; `Err` (the `OverflowError`) when it does not fit.
pub(crate) fn long_to_le_bytes(int: &Object<'_, Int>, signed: bool) -> Result<[u8; 16]> {
    let mut out = [0u8; 16];
    // SAFETY: a live int (handle); `out` has room for 16 bytes.
    let rc = unsafe {
        #[cfg(py_3_13)]
        {
            ffi::_PyLong_AsByteArray(
                int.as_ptr().cast(),
                out.as_mut_ptr(),
                16,
                1,
                c_int::from(signed),
                1,
            )
        }
        #[cfg(not(py_3_13))]
        {
            ffi::_PyLong_AsByteArray(
                int.as_ptr().cast(),
                out.as_mut_ptr(),
                16,
                1,
                c_int::from(signed),
            )
        }
    };
    status(int.py(), rc).map(|_| out)
}

/// `PyLong_AsLongLong` on an int: `-1` may be a value or an overflow (see [`err_occurred`]).
#[inline(always)]
pub(crate) fn long_as_i64(int: &Object<'_, Any>) -> i64 {
    debug_assert!(is(int, Check::Long));
    // SAFETY: a live int (caller checked; handle).
    unsafe { ffi::PyLong_AsLongLong(int.as_ptr()) }
}

/// `PyLong_AsUnsignedLongLong` on an int: `u64::MAX` may be a value or an error.
#[inline(always)]
pub(crate) fn long_as_u64(int: &Object<'_, Any>) -> u64 {
    debug_assert!(is(int, Check::Long));
    // SAFETY: a live int (caller checked; handle).
    unsafe { ffi::PyLong_AsUnsignedLongLong(int.as_ptr()) as u64 }
}

/// `operator.index(obj)`.
#[inline]
pub(crate) fn number_index<'py>(obj: &Object<'py, Any>) -> Result<Object<'py, Int>> {
    // SAFETY: live object, GIL held (handle).
    unsafe { owned(obj.py(), ffi::PyNumber_Index(obj.as_ptr())) }
}

/// `float(v)`.
#[inline]
pub(crate) fn float_from_f64(py: Python<'_>, v: f64) -> Result<Object<'_, Float>> {
    // SAFETY: GIL held (token).
    unsafe { owned(py, ffi::PyFloat_FromDouble(v)) }
}

/// The value of an exact float, read directly.
#[inline(always)]
pub(crate) fn float_value_exact(f: &Object<'_, Any>) -> f64 {
    // Callers have just checked (a second check would cost on every float of a collection).
    debug_assert!(is(f, Check::FloatExact));
    // SAFETY: an exact float (checked), live (handle).
    unsafe { ffi::PyFloat_AS_DOUBLE(f.as_ptr()) }
}

/// `PyFloat_AsDouble`: ints and objects with `__float__`/`__index__` too; `-1.0` may be a
/// value or an error (see [`err_occurred`]).
#[inline]
pub(crate) fn float_as_f64(obj: &Object<'_, Any>) -> f64 {
    // SAFETY: live object, GIL held (handle).
    unsafe { ffi::PyFloat_AsDouble(obj.as_ptr()) }
}

// ---------------------------------------------------------------------------------------------
// Text and bytes

/// A `str` from UTF-8.
#[inline]
pub(crate) fn str_from_utf8<'py>(py: Python<'py>, s: &str) -> Result<Object<'py, Str>> {
    // SAFETY: `s` is valid UTF-8 of this length; GIL held (token).
    unsafe {
        owned(
            py,
            ffi::PyUnicode_FromStringAndSize(s.as_ptr().cast(), s.len() as ffi::Py_ssize_t),
        )
    }
}

/// The UTF-8 text of a `str`, in the object (CPython caches it there).
///
/// # Safety
/// `s` is a live object that stays alive for `'a`; GIL held.
#[inline(always)]
unsafe fn utf8_of<'a>(py: Python<'_>, s: *mut ffi::PyObject) -> Result<&'a str> {
    let mut len: ffi::Py_ssize_t = 0;
    // A live object (caller), checked to be a str here or by the call itself; the buffer
    // lives as long as the object, which lives for 'a (caller); CPython produced valid UTF-8
    // (ASCII is UTF-8).
    // SAFETY: for the reasons above.
    unsafe {
        #[cfg(not(py_limited_api))]
        if ffi::PyUnicode_Check(s) && ffi::PyUnicode_IS_COMPACT_ASCII(s) {
            let (data, len) = ffi::compact_ascii_text(s);
            return Ok(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                data,
                len as usize,
            )));
        }
        let data = ffi::PyUnicode_AsUTF8AndSize(s, &mut len);
        if data.is_null() {
            return Err(Error::fetch(py));
        }
        Ok(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
            data.cast::<u8>(),
            len as usize,
        )))
    }
}

/// The UTF-8 text of a `str`, borrowed from the object.
#[inline]
pub(crate) fn str_as_utf8<'a>(s: &'a Object<'_, Any>) -> Result<&'a str> {
    // Alive while borrowed (handle); on anything but a str, PyUnicode_AsUTF8AndSize
    // raises TypeError and returns NULL.
    // SAFETY: for the reasons above.
    unsafe { utf8_of(s.py(), s.as_ptr()) }
}

/// The UTF-8 text of a `str`, borrowed for as long as the object is.
#[inline]
pub(crate) fn str_as_utf8_borrowed<'a>(s: Borrowed<'a, '_, Any>) -> Result<&'a str> {
    // SAFETY: alive for 'a (the borrow); a non-str is a TypeError, as above.
    unsafe { utf8_of(s.py(), s.as_ptr()) }
}

/// The UTF-8 text of `s` if it is a `str` that has one (no lone surrogates), borrowed for as
/// long as the object is; `None`, with no exception left set, otherwise.
#[inline]
pub(crate) fn str_as_utf8_quiet<'a>(s: Borrowed<'a, '_, Any>) -> Option<&'a str> {
    if !is(&s, Check::Unicode) {
        return None;
    }
    let mut len: ffi::Py_ssize_t = 0;
    // A str (checked), alive for 'a (the borrow), GIL held (handle); the buffer is
    // cached in the object. A failure (lone surrogates) is cleared here, without building an
    // error value: this is on the path of every call with keyword arguments.
    // SAFETY: for the reasons above.
    unsafe {
        let data = ffi::PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len);
        if data.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
            data.cast::<u8>(),
            len as usize,
        )))
    }
}

/// A `str` encoded with `errors` (`surrogatepass`, `backslashreplace`) into UTF-8 bytes.
#[inline]
pub(crate) fn str_encode_utf8<'py>(
    s: &Object<'py, Any>,
    errors: &std::ffi::CStr,
) -> Result<Object<'py, Bytes>> {
    // SAFETY: live object, GIL held (handle); both C strings are NUL-terminated.
    unsafe {
        owned(
            s.py(),
            ffi::PyUnicode_AsEncodedString(s.as_ptr(), c"utf-8".as_ptr(), errors.as_ptr()),
        )
    }
}

/// The number of code points of a `str`.
#[inline]
pub(crate) fn str_char_len(s: &Object<'_, Str>) -> usize {
    // SAFETY: a live str (handle).
    unsafe { ffi::PyUnicode_GetLength(s.as_ptr()) as usize }
}

/// The interned `str` equal to `s` (CPython keeps it for the life of the interpreter).
pub(crate) fn intern(s: Object<'_, Str>) -> Object<'_, Str> {
    let py = s.py();
    let mut p = s.into_ptr();
    // `p` is an owned str; InternInPlace replaces it with the interned one, keeping
    // the reference owned.
    // SAFETY: for the reasons above.
    unsafe {
        ffi::PyUnicode_InternInPlace(&mut p);
        Object::from_owned_ptr(py, NonNull::new_unchecked(p))
    }
}

/// `bytes` from a slice.
#[inline]
pub(crate) fn bytes_new<'py>(py: Python<'py>, data: &[u8]) -> Result<Object<'py, Bytes>> {
    // SAFETY: `data` is valid for its length; GIL held (token).
    unsafe {
        owned(
            py,
            ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t),
        )
    }
}

/// The contents of a `bytes` object, borrowed for as long as the object is (bytes are
/// immutable).
#[inline]
pub(crate) fn bytes_borrowed<'a>(b: Borrowed<'a, '_, Any>) -> &'a [u8] {
    assert!(is(&b, Check::Bytes));
    // SAFETY: a bytes object (checked), alive for 'a (the borrow), immutable.
    unsafe {
        std::slice::from_raw_parts(
            ffi::PyBytes_AS_STRING(b.as_ptr()).cast(),
            ffi::PyBytes_GET_SIZE(b.as_ptr()) as usize,
        )
    }
}

/// The contents of a `bytes` (`Some`) or `bytearray` object, borrowed; `None` for anything
/// else.
#[inline]
pub(crate) fn bytes_like<'a>(obj: &'a Object<'_, Any>) -> Option<&'a [u8]> {
    let p = obj.as_ptr();
    // Live object, GIL held (handle). A bytes object is immutable and lives as long as
    // the borrow; a bytearray's buffer stays put until it is resized, which needs Python code
    // to run, which needs the GIL this thread holds for the borrow.
    // SAFETY: for the reasons above.
    unsafe {
        if ffi::PyBytes_Check(p) {
            Some(std::slice::from_raw_parts(
                ffi::PyBytes_AS_STRING(p).cast(),
                ffi::PyBytes_GET_SIZE(p) as usize,
            ))
        } else if ffi::PyByteArray_Check(p) {
            Some(std::slice::from_raw_parts(
                ffi::PyByteArray_AsString(p).cast(),
                ffi::PyByteArray_Size(p) as usize,
            ))
        } else {
            None
        }
    }
}

/// A path decoded as the filesystem encoding does (undecodable bytes round-trip).
pub(crate) fn str_from_fs_bytes<'py>(py: Python<'py>, b: &[u8]) -> Result<Object<'py, Str>> {
    // SAFETY: `b` is valid for its length; GIL held (token).
    unsafe {
        owned(
            py,
            ffi::PyUnicode_DecodeFSDefaultAndSize(b.as_ptr().cast(), b.len() as ffi::Py_ssize_t),
        )
    }
}

/// `os.fspath(obj)`: a `str` or `bytes`.
pub(crate) fn fspath<'py>(obj: &Object<'py, Any>) -> Result<Object<'py, Any>> {
    // SAFETY: live object, GIL held (handle).
    unsafe { owned(obj.py(), ffi::PyOS_FSPath(obj.as_ptr())) }
}

/// A `str` encoded with the filesystem encoding.
pub(crate) fn str_to_fs_bytes<'py>(s: &Object<'py, Any>) -> Result<Object<'py, Bytes>> {
    // SAFETY: live object, GIL held (handle).
    unsafe { owned(s.py(), ffi::PyUnicode_EncodeFSDefault(s.as_ptr())) }
}

// ---------------------------------------------------------------------------------------------
// Tuples and lists built from exactly `len` items

/// A tuple of exactly `len` items. On error the half-filled tuple (NULL slots are allowed in
/// a tuple being built) is released.
#[inline]
pub(crate) fn tuple_from_exact<'py, T>(
    py: Python<'py>,
    len: usize,
    items: impl Iterator<Item = T>,
    convert: impl FnMut(T) -> Result<Object<'py, Any>>,
) -> Result<Object<'py, Tuple>> {
    // SAFETY: GIL held (token).
    let tuple: Object<'py, Tuple> = unsafe { owned(py, ffi::PyTuple_New(len as ffi::Py_ssize_t)) }?;
    // SAFETY: `fill` stores into slots below `len` of the fresh tuple, each once.
    fill(len, items, convert, |i, v| unsafe {
        ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i, v)
    })?;
    Ok(tuple)
}

/// A list of exactly `len` items; as [`tuple_from_exact`].
#[inline]
pub(crate) fn list_from_exact<'py, T>(
    py: Python<'py>,
    len: usize,
    items: impl Iterator<Item = T>,
    convert: impl FnMut(T) -> Result<Object<'py, Any>>,
) -> Result<Object<'py, List>> {
    // SAFETY: GIL held (token).
    let list: Object<'py, List> = unsafe { owned(py, ffi::PyList_New(len as ffi::Py_ssize_t)) }?;
    // SAFETY: as for tuples: slots below `len` of the fresh list, each once.
    fill(len, items, convert, |i, v| unsafe {
        ffi::PyList_SET_ITEM(list.as_ptr(), i, v)
    })?;
    Ok(list)
}

/// Converts each item and stores it (stealing the reference) at the next slot of a fresh
/// container of `len` slots; the iterator must yield exactly `len`. The conversion happens
/// here, in the loop, rather than in the iterator: an iterator of `Result`s would go through
/// memory on every item.
#[inline(always)]
fn fill<'py, T>(
    len: usize,
    items: impl Iterator<Item = T>,
    mut convert: impl FnMut(T) -> Result<Object<'py, Any>>,
    mut store: impl FnMut(ffi::Py_ssize_t, *mut ffi::PyObject),
) -> Result<()> {
    let mut n = 0;
    for item in items {
        if n == len {
            return Err(Error::runtime_error(
                "an iterator yielded more items than its length",
            ));
        }
        store(n as ffi::Py_ssize_t, convert(item)?.into_ptr());
        n += 1;
    }
    if n != len {
        return Err(Error::runtime_error(
            "an iterator yielded fewer items than its length",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tuples

/// `()` (a singleton: cannot fail).
pub(crate) fn tuple_empty(py: Python<'_>) -> Object<'_, Tuple> {
    // SAFETY: GIL held (token); the empty tuple is a static singleton, never NULL.
    unsafe { Object::from_owned_ptr(py, NonNull::new_unchecked(ffi::PyTuple_New(0))) }
}

/// The items of a tuple, in place.
///
/// # Safety
/// `t` is a complete tuple that stays alive for `'a`.
#[inline(always)]
unsafe fn items_in_place<'a, 'py>(t: *mut ffi::PyObject) -> &'a [Borrowed<'a, 'py, Any>] {
    // A complete tuple (caller) holds `len` non-null item pointers inline; `Borrowed`
    // is a transparent NonNull; tuples are immutable, so they live as long as the tuple.
    // SAFETY: for the reasons above.
    unsafe {
        let first =
            (&raw mut (*t.cast::<ffi::PyTupleObject>()).ob_item).cast::<Borrowed<'a, 'py, Any>>();
        std::slice::from_raw_parts(first, ffi::PyTuple_GET_SIZE(t) as usize)
    }
}

/// The items of a tuple, borrowed from it in place.
#[inline(always)]
pub(crate) fn tuple_items<'a, 'py>(t: &'a Object<'py, Tuple>) -> &'a [Borrowed<'a, 'py, Any>] {
    // SAFETY: a tuple (handle type), alive while borrowed.
    unsafe { items_in_place(t.as_ptr()) }
}

/// The items of `obj` if it is a tuple, borrowed for as long as `obj` is (tuples are
/// immutable).
#[inline(always)]
pub(crate) fn tuple_items_of<'a, 'py>(
    obj: Borrowed<'a, 'py, Any>,
) -> Option<&'a [Borrowed<'a, 'py, Any>]> {
    if !is(&obj, Check::Tuple) {
        return None;
    }
    // SAFETY: a tuple (checked), alive for 'a (the borrow).
    Some(unsafe { items_in_place(obj.as_ptr()) })
}

// ---------------------------------------------------------------------------------------------
// Lists

/// An empty list.
pub(crate) fn list_new(py: Python<'_>) -> Result<Object<'_, List>> {
    // SAFETY: GIL held (token).
    unsafe { owned(py, ffi::PyList_New(0)) }
}

/// The current length of a list.
#[inline(always)]
pub(crate) fn list_len(l: &Object<'_, List>) -> usize {
    // SAFETY: a live list (handle).
    unsafe { ffi::PyList_GET_SIZE(l.as_ptr()) as usize }
}

/// Item `i` of a list, as a new reference; `None` past the end. The length is read again at
/// each call, so a list that Python code changes in between is never read out of bounds.
#[inline]
pub(crate) fn list_get<'py>(l: &Object<'py, List>, i: usize) -> Option<Object<'py, Any>> {
    if i >= list_len(l) {
        return None;
    }
    // Index in bounds of a live list (handle); the borrowed item gets its own
    // reference before any Python code can run.
    // SAFETY: for the reasons above.
    Some(unsafe {
        Object::from_borrowed_ptr(
            l.py(),
            NonNull::new_unchecked(ffi::PyList_GET_ITEM(l.as_ptr(), i as ffi::Py_ssize_t)),
        )
    })
}

/// Calls `f` with each item of a list: borrowed, without a reference of our own, when the
/// promise `item` holds for it, owned otherwise. The length is read again before each item,
/// so a conversion that changes the list never makes us read out of bounds.
///
/// The promise says that, for the items it holds for, `f` runs no Python code and releases
/// no reference before returning `Ok`: nothing can then change the list or free such an item
/// while `f` borrows it. After an error we return at once.
pub(crate) fn list_for_each_borrowing<'py>(
    l: &Object<'py, List>,
    item: NoCodeFor,
    mut f: impl FnMut(Borrowed<'_, 'py, Any>) -> Result<()>,
) -> Result<()> {
    let py = l.py();
    let mut i = 0;
    while i < list_len(l) {
        // Index in bounds of a live list (handle), read just now; the item is borrowed only
        // while `f` converts it, which by the promise runs no code, and is held by our own
        // reference otherwise.
        // SAFETY: for the reasons above.
        let b = unsafe {
            Borrowed::<Any>::from_ptr(
                py,
                NonNull::new_unchecked(ffi::PyList_GET_ITEM(l.as_ptr(), i as ffi::Py_ssize_t)),
            )
        };
        if item.holds(&b) {
            f(b)?;
        } else {
            let owned = b.to_owned();
            f(owned.as_borrowed())?;
        }
        i += 1;
    }
    Ok(())
}

/// `l[i] = v` (IndexError when out of range).
pub(crate) fn list_set<'py>(l: &Object<'py, List>, i: usize, v: Object<'py, Any>) -> Result<()> {
    // SAFETY: live list (handle); SetItem steals the reference and checks the index.
    status(l.py(), unsafe {
        ffi::PyList_SetItem(l.as_ptr(), i as ffi::Py_ssize_t, v.into_ptr())
    })
    .map(drop)
}

/// `l.append(v)`.
#[inline]
pub(crate) fn list_append<'py>(l: &Object<'py, List>, v: &Object<'py, Any>) -> Result<()> {
    // SAFETY: live objects (handles); Append adds its own reference.
    status(l.py(), unsafe {
        ffi::PyList_Append(l.as_ptr(), v.as_ptr())
    })
    .map(drop)
}

/// `l.insert(i, v)`.
pub(crate) fn list_insert<'py>(
    l: &Object<'py, List>,
    i: usize,
    v: &Object<'py, Any>,
) -> Result<()> {
    // SAFETY: live objects (handles); Insert adds its own reference.
    status(l.py(), unsafe {
        ffi::PyList_Insert(l.as_ptr(), i as ffi::Py_ssize_t, v.as_ptr())
    })
    .map(drop)
}

/// `l.sort()`.
pub(crate) fn list_sort(l: &Object<'_, List>) -> Result<()> {
    // SAFETY: live list (handle).
    status(l.py(), unsafe { ffi::PyList_Sort(l.as_ptr()) }).map(drop)
}

/// `tuple(l)`.
pub(crate) fn list_as_tuple<'py>(l: &Object<'py, List>) -> Result<Object<'py, Tuple>> {
    // SAFETY: live list (handle).
    unsafe { owned(l.py(), ffi::PyList_AsTuple(l.as_ptr())) }
}

// ---------------------------------------------------------------------------------------------
// Dicts

/// An empty dict.
pub(crate) fn dict_new(py: Python<'_>) -> Result<Object<'_, Dict>> {
    // SAFETY: GIL held (token).
    unsafe { owned(py, ffi::PyDict_New()) }
}

/// The number of items.
#[inline(always)]
pub(crate) fn dict_len(d: &Object<'_, Dict>) -> usize {
    // SAFETY: a live dict (handle).
    unsafe { ffi::PyDict_Size(d.as_ptr()) as usize }
}

/// `d[k] = v`.
#[inline]
pub(crate) fn dict_set_item<'py>(
    d: &Object<'py, Dict>,
    k: &Object<'py, Any>,
    v: &Object<'py, Any>,
) -> Result<()> {
    // SAFETY: live objects (handles); SetItem adds its own references.
    status(d.py(), unsafe {
        ffi::PyDict_SetItem(d.as_ptr(), k.as_ptr(), v.as_ptr())
    })
    .map(drop)
}

/// `d.get(k)`, as a new reference; `Ok(None)` when absent, `Err` when hashing or comparing
/// raised.
#[inline]
pub(crate) fn dict_get_item<'py>(
    d: &Object<'py, Dict>,
    k: &Object<'py, Any>,
) -> Result<Option<Object<'py, Any>>> {
    let py = d.py();
    // SAFETY: live objects (handles); a borrowed reference or NULL.
    let v = unsafe { ffi::PyDict_GetItemWithError(d.as_ptr(), k.as_ptr()) };
    match NonNull::new(v) {
        // SAFETY: borrowed from the dict; we take our own reference at once.
        Some(v) => Ok(Some(unsafe { Object::from_borrowed_ptr(py, v) })),
        None if err_occurred(py) => Err(Error::fetch(py)),
        None => Ok(None),
    }
}

/// `k in d`.
pub(crate) fn dict_contains<'py>(d: &Object<'py, Dict>, k: &Object<'py, Any>) -> Result<bool> {
    // SAFETY: live objects (handles).
    status(d.py(), unsafe {
        ffi::PyDict_Contains(d.as_ptr(), k.as_ptr())
    })
    .map(|r| r == 1)
}

/// `del d[k]`.
pub(crate) fn dict_del_item<'py>(d: &Object<'py, Dict>, k: &Object<'py, Any>) -> Result<()> {
    // SAFETY: live objects (handles).
    status(d.py(), unsafe {
        ffi::PyDict_DelItem(d.as_ptr(), k.as_ptr())
    })
    .map(drop)
}

/// `list(d.keys())`.
pub(crate) fn dict_keys<'py>(d: &Object<'py, Dict>) -> Result<Object<'py, List>> {
    // SAFETY: live dict (handle).
    unsafe { owned(d.py(), ffi::PyDict_Keys(d.as_ptr())) }
}

/// `list(d.values())`.
pub(crate) fn dict_values<'py>(d: &Object<'py, Dict>) -> Result<Object<'py, List>> {
    // SAFETY: live dict (handle).
    unsafe { owned(d.py(), ffi::PyDict_Values(d.as_ptr())) }
}

/// `d.copy()`.
pub(crate) fn dict_copy<'py>(d: &Object<'py, Dict>) -> Result<Object<'py, Dict>> {
    // SAFETY: live dict (handle).
    unsafe { owned(d.py(), ffi::PyDict_Copy(d.as_ptr())) }
}

/// `d.update(other)`.
pub(crate) fn dict_update<'py>(d: &Object<'py, Dict>, other: &Object<'py, Any>) -> Result<()> {
    // SAFETY: live objects (handles).
    status(d.py(), unsafe {
        ffi::PyDict_Update(d.as_ptr(), other.as_ptr())
    })
    .map(drop)
}

/// `d.clear()`.
pub(crate) fn dict_clear(d: &Object<'_, Dict>) {
    // SAFETY: live dict (handle).
    unsafe { ffi::PyDict_Clear(d.as_ptr()) }
}

/// The next item after position `pos` (0 to start), as new references; `None` at the end.
#[inline]
pub(crate) fn dict_next<'py>(
    d: &Object<'py, Dict>,
    pos: &mut isize,
) -> Option<(Object<'py, Any>, Object<'py, Any>)> {
    let (mut k, mut v) = (null_mut(), null_mut());
    // Live dict (handle); Next hands out borrowed references, which get their own
    // references before any Python code can run.
    // SAFETY: for the reasons above.
    unsafe {
        if ffi::PyDict_Next(d.as_ptr(), pos, &mut k, &mut v) == 0 {
            return None;
        }
        let py = d.py();
        Some((
            Object::from_borrowed_ptr(py, NonNull::new_unchecked(k)),
            Object::from_borrowed_ptr(py, NonNull::new_unchecked(v)),
        ))
    }
}

/// Calls `f` with each item of a dict of `len` items: borrowed, without a reference of our
/// own, when the promises `key` and `value` hold for the key and the value, owned otherwise.
/// Stops, as iterating a dict does, when a conversion changed its size.
///
/// Each promise says that, for the items it holds for, `f` runs no Python code and releases
/// no reference before returning `Ok` (the conversions of `conversion::scalars` make them):
/// nothing can then change the dict or free such an item while `f` borrows it. After an
/// error we return at once.
pub(crate) fn dict_for_each_borrowing<'py>(
    d: &Object<'py, Dict>,
    len: usize,
    key: NoCodeFor,
    value: NoCodeFor,
    mut f: impl FnMut(Borrowed<'_, 'py, Any>, Borrowed<'_, 'py, Any>) -> Result<()>,
) -> Result<()> {
    let py = d.py();
    let (mut pos, mut k, mut v) = (0, null_mut(), null_mut());
    // Live dict (handle); `PyDict_Next` hands out borrowed, non-null items. Items the
    // promises hold for are only borrowed while `f` converts them, which by the promises runs
    // no code; other items are held by our own references while converted, and the size is
    // checked after each, since only such a conversion can change the dict.
    // SAFETY: for the reasons above.
    unsafe {
        while ffi::PyDict_Next(d.as_ptr(), &mut pos, &mut k, &mut v) != 0 {
            let (kb, vb) = (
                Borrowed::<Any>::from_ptr(py, NonNull::new_unchecked(k)),
                Borrowed::<Any>::from_ptr(py, NonNull::new_unchecked(v)),
            );
            if key.holds(&kb) && value.holds(&vb) {
                f(kb, vb)?;
            } else {
                let (k, v) = (kb.to_owned(), vb.to_owned());
                f(k.as_borrowed(), v.as_borrowed())?;
                if dict_len(d) != len {
                    break;
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sets

/// An empty set.
pub(crate) fn set_new(py: Python<'_>) -> Result<Object<'_, Set>> {
    // SAFETY: GIL held (token).
    unsafe { owned(py, ffi::PySet_New(null_mut())) }
}

/// The number of items of a set or frozenset.
pub(crate) fn set_len(s: &Object<'_, Set>) -> usize {
    // SAFETY: a live set (handle).
    unsafe { ffi::PySet_Size(s.as_ptr()) as usize }
}

/// `s.add(v)`.
pub(crate) fn set_add<'py>(s: &Object<'py, Set>, v: &Object<'py, Any>) -> Result<()> {
    // SAFETY: live objects (handles).
    status(s.py(), unsafe { ffi::PySet_Add(s.as_ptr(), v.as_ptr()) }).map(drop)
}

/// `v in s`.
pub(crate) fn set_contains<'py>(s: &Object<'py, Set>, v: &Object<'py, Any>) -> Result<bool> {
    // SAFETY: live objects (handles).
    status(s.py(), unsafe {
        ffi::PySet_Contains(s.as_ptr(), v.as_ptr())
    })
    .map(|r| r == 1)
}

/// `s.discard(v)`, telling whether it was there.
pub(crate) fn set_discard<'py>(s: &Object<'py, Set>, v: &Object<'py, Any>) -> Result<bool> {
    // SAFETY: live objects (handles).
    status(s.py(), unsafe {
        ffi::PySet_Discard(s.as_ptr(), v.as_ptr())
    })
    .map(|r| r == 1)
}

/// The promise behind [`FromPython::NO_CODE`](crate::FromPython::NO_CODE): a test on an
/// object, true only when the conversion runs no Python code and releases no reference before
/// it returns `Ok` for that object (it may do anything once it fails: the caller stops reading
/// borrowed items after an error).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct NoCodeFor(fn(&Object<'_, Any>) -> bool);

impl NoCodeFor {
    /// Makes the promise, which `raw::dict_for_each_borrowing` and
    /// `raw::list_for_each_borrowing` rely on for soundness: `when` is true only for objects
    /// the conversion handles as above. Only the conversions of `scalars.rs` make it, each
    /// saying why it holds; it cannot be made outside this crate.
    pub(crate) const fn trusted(when: fn(&Object<'_, Any>) -> bool) -> NoCodeFor {
        NoCodeFor(when)
    }

    /// Whether the promise covers `obj`. A constant test once inlined: the promises are
    /// associated constants.
    #[inline(always)]
    pub(crate) fn holds(self, obj: &Object<'_, Any>) -> bool {
        (self.0)(obj)
    }
}
