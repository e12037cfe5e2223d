//! Numbers, booleans, text, bytes, `Option` and `()`.

use std::borrow::Cow;
use std::ptr::NonNull;

use super::{FromPython, IntoPython};
use crate::err::capture::type_name_of;
use crate::types::{Any, Str};
use crate::{Borrowed, Error, ExceptionType, Object, Python, Result, ffi};

/// An owned reference from a C call, or the exception it raised.
#[inline(always)]
fn owned(py: Python<'_>, p: *mut ffi::PyObject) -> Result<Object<'_, Any>> {
    // SAFETY: callers pass the result of a C call returning a new reference (or NULL with an
    // exception set), with the GIL held.
    unsafe { Object::from_owned_ptr_or_err(py, p) }
}

#[cold]
fn wrong_type(obj: &Object<'_, Any>, expected: &str) -> Error {
    Error::type_error(format!(
        "expected {expected}, got {}",
        type_name_of(obj.as_ptr())
    ))
}

/// Whether a C call that returned its error value actually raised.
#[inline(always)]
fn raised() -> bool {
    // SAFETY: called right after a C call, with the GIL held (every caller holds a handle).
    !unsafe { ffi::PyErr_Occurred() }.is_null()
}

// ---------------------------------------------------------------------------------------------
// Integers

/// Reads any Python int (or object with `__index__`) as an `i64`: inlined for the common
/// case, an int that fits; the rest is out of line.
#[inline(always)]
fn to_i64(obj: &Object<'_, Any>, target: &str) -> Result<i64> {
    // SAFETY: live object, GIL held.
    if unsafe { ffi::PyLong_Check(obj.as_ptr()) } {
        // SAFETY: as above.
        let v = unsafe { ffi::PyLong_AsLongLong(obj.as_ptr()) };
        if v != -1 {
            return Ok(v);
        }
        return minus_one_or_overflow(obj, target);
    }
    index_to_i64(obj, target)
}

/// After `PyLong_AsLongLong` returned -1: the value, or the overflow it raised.
#[cold]
#[inline(never)]
fn minus_one_or_overflow(obj: &Object<'_, Any>, target: &str) -> Result<i64> {
    if raised() {
        return Err(overflow(obj.py(), obj, target));
    }
    Ok(-1)
}

/// [`to_i64`] for objects that are not ints but may have `__index__`.
#[cold]
#[inline(never)]
fn index_to_i64(obj: &Object<'_, Any>, target: &str) -> Result<i64> {
    let index = as_index(obj, target)?;
    to_i64(&index, target)
}

/// Reads any Python int (or object with `__index__`) as a `u64`.
#[inline]
fn to_u64(obj: &Object<'_, Any>, target: &str) -> Result<u64> {
    let py = obj.py();
    // SAFETY: live object, GIL held.
    if unsafe { ffi::PyLong_Check(obj.as_ptr()) } {
        // SAFETY: as above.
        let v = unsafe { ffi::PyLong_AsUnsignedLongLong(obj.as_ptr()) };
        if v == u64::MAX as _ && raised() {
            return Err(overflow(py, obj, target));
        }
        return Ok(v as u64);
    }
    let index = as_index(obj, target)?;
    to_u64(&index, target)
}

/// `operator.index(obj)`, with "expected int" for objects that are not integers.
fn as_index<'py>(obj: &Object<'py, Any>, target: &str) -> Result<Object<'py, Any>> {
    // SAFETY: live object, GIL held.
    if unsafe { ffi::PyIndex_Check(obj.as_ptr()) } == 0 {
        return Err(wrong_type(obj, &format!("int (for {target})")));
    }
    // SAFETY: as above; the result is checked.
    owned(obj.py(), unsafe { ffi::PyNumber_Index(obj.as_ptr()) })
}

/// Replaces CPython's overflow message with one naming the Rust type.
#[cold]
fn overflow(py: Python<'_>, obj: &Object<'_, Any>, target: &str) -> Error {
    let original = Error::fetch(py);
    if !matches!(&original, Error::Python(e) if e.is_instance(py, &ExceptionType::OverflowError)) {
        return original;
    }
    let shown = obj
        .repr()
        .map(|r| r.to_string_lossy().into_owned())
        .unwrap_or_default();
    Error::overflow_error(format!("int {shown} does not fit in {target}"))
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl<'py> IntoPython<'py> for $t {
            #[inline]
            fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
                // SAFETY: GIL held (token).
                owned(py, unsafe { ffi::PyLong_FromLongLong(self as i64) })
            }
        }

        impl<'a, 'py> FromPython<'a, 'py> for $t {
            #[inline]
            fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
                let v = to_i64(&obj, stringify!($t))?;
                <$t>::try_from(v).map_err(|_| Error::overflow_error(format!("int {v} does not fit in {}", stringify!($t))))
            }

            fn expected() -> &'static str {
                "int"
            }

            const NO_CODE_FOR_BUILTINS: Option<crate::conversion::NoCodeForBuiltins> =
                // SAFETY: for exact builtin scalars, `PyLong_AsLongLong`/`AsUnsignedLongLong` (or
                // a type error) only; `__index__` is only called on other types.
                Some(unsafe { crate::conversion::NoCodeForBuiltins::promise() });
        }
    )*};
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl<'py> IntoPython<'py> for $t {
            #[inline]
            fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
                // SAFETY: GIL held (token).
                owned(py, unsafe { ffi::PyLong_FromUnsignedLongLong(self as u64 as _) })
            }
        }

        impl<'a, 'py> FromPython<'a, 'py> for $t {
            #[inline]
            fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
                let v = to_u64(&obj, stringify!($t))?;
                <$t>::try_from(v).map_err(|_| Error::overflow_error(format!("int {v} does not fit in {}", stringify!($t))))
            }

            fn expected() -> &'static str {
                "int"
            }

            const NO_CODE_FOR_BUILTINS: Option<crate::conversion::NoCodeForBuiltins> =
                // SAFETY: for exact builtin scalars, `PyLong_AsLongLong`/`AsUnsignedLongLong` (or
                // a type error) only; `__index__` is only called on other types.
                Some(unsafe { crate::conversion::NoCodeForBuiltins::promise() });
        }
    )*};
}

signed!(i8, i16, i32, i64, isize);
unsigned!(u16, u32, u64, usize);

impl<'py> IntoPython<'py> for u8 {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        // SAFETY: GIL held (token).
        owned(py, unsafe { ffi::PyLong_FromLong(self.into()) })
    }

    /// `Vec<u8>` becomes `bytes`.
    fn vec_into_python(v: Vec<Self>, py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(crate::types::Bytes::new(py, &v)?.into_any())
    }

    /// `&[u8]` becomes `bytes`.
    fn slice_into_python(s: &[Self], py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(crate::types::Bytes::new(py, s)?.into_any())
    }
}

impl<'a, 'py> FromPython<'a, 'py> for u8 {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let v = to_u64(&obj, "u8")?;
        u8::try_from(v).map_err(|_| Error::overflow_error(format!("int {v} does not fit in u8")))
    }

    /// `Vec<u8>` reads `bytes` and `bytearray`.
    fn vec_from_bytes(bytes: &[u8]) -> Option<Vec<Self>> {
        Some(bytes.to_vec())
    }

    fn expected() -> &'static str {
        "int"
    }
}

/// The contents of a `bytes` or `bytearray`, borrowed.
pub(crate) fn bytes_like<'a>(obj: &'a Object<'_, Any>) -> Option<&'a [u8]> {
    // SAFETY: live object, GIL held; the buffers live as long as the object (a bytearray's
    // until it is resized, which cannot happen while Rust holds the GIL and this borrow).
    unsafe {
        let p = obj.as_ptr();
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

impl<'py> IntoPython<'py> for i128 {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        let bytes = self.to_le_bytes();
        // SAFETY: 16 readable bytes, little-endian, signed; GIL held.
        owned(py, unsafe {
            ffi::_PyLong_FromByteArray(bytes.as_ptr(), 16, 1, 1)
        })
    }
}

impl<'py> IntoPython<'py> for u128 {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        let bytes = self.to_le_bytes();
        // SAFETY: 16 readable bytes, little-endian, unsigned; GIL held.
        owned(py, unsafe {
            ffi::_PyLong_FromByteArray(bytes.as_ptr(), 16, 1, 0)
        })
    }
}

/// Reads an int into 16 little-endian bytes.
fn to_bytes16(obj: &Object<'_, Any>, signed: bool, target: &str) -> Result<[u8; 16]> {
    // SAFETY: live object, GIL held.
    let int = if unsafe { ffi::PyLong_Check(obj.as_ptr()) } {
        obj.clone()
    } else {
        as_index(obj, target)?
    };
    let mut out = [0u8; 16];
    // SAFETY: `int` is a live int; `out` has room for 16 bytes.
    let rc = unsafe {
        #[cfg(py_3_13)]
        {
            ffi::_PyLong_AsByteArray(int.as_ptr().cast(), out.as_mut_ptr(), 16, 1, signed as _, 1)
        }
        #[cfg(not(py_3_13))]
        {
            ffi::_PyLong_AsByteArray(int.as_ptr().cast(), out.as_mut_ptr(), 16, 1, signed as _)
        }
    };
    if rc == -1 {
        return Err(overflow(obj.py(), obj, target));
    }
    Ok(out)
}

impl<'a, 'py> FromPython<'a, 'py> for i128 {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        Ok(i128::from_le_bytes(to_bytes16(&obj, true, "i128")?))
    }

    fn expected() -> &'static str {
        "int"
    }
}

impl<'a, 'py> FromPython<'a, 'py> for u128 {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        Ok(u128::from_le_bytes(to_bytes16(&obj, false, "u128")?))
    }

    fn expected() -> &'static str {
        "int"
    }
}

// ---------------------------------------------------------------------------------------------
// Floats and bool

impl<'py> IntoPython<'py> for f64 {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        // SAFETY: GIL held (token).
        owned(py, unsafe { ffi::PyFloat_FromDouble(self) })
    }
}

impl<'py> IntoPython<'py> for f32 {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        f64::from(self).into_python(py)
    }
}

impl<'a, 'py> FromPython<'a, 'py> for f64 {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let p = obj.as_ptr();
        // SAFETY: live object, GIL held.
        if unsafe { ffi::PyFloat_CheckExact(p) } {
            // SAFETY: an exact float.
            return Ok(unsafe { ffi::PyFloat_AS_DOUBLE(p) });
        }
        // SAFETY: as above; accepts ints and objects with __float__/__index__.
        let v = unsafe { ffi::PyFloat_AsDouble(p) };
        if v == -1.0 && raised() {
            let e = Error::fetch(obj.py());
            return Err(match &e {
                Error::Python(pe) if pe.is_instance(obj.py(), &ExceptionType::TypeError) => {
                    wrong_type(&obj, "float")
                }
                _ => e,
            });
        }
        Ok(v)
    }

    fn expected() -> &'static str {
        "float"
    }

    const NO_CODE_FOR_BUILTINS: Option<crate::conversion::NoCodeForBuiltins> =
        // SAFETY: for exact builtin scalars `PyFloat_AsDouble` converts in C (int, float) or fails
        // (str, bytes); `__float__`/`__index__` are only called on other types.
        Some(unsafe { crate::conversion::NoCodeForBuiltins::promise() });
}

impl<'a, 'py> FromPython<'a, 'py> for f32 {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        Ok(f64::from_python(obj)? as f32)
    }

    fn expected() -> &'static str {
        "float"
    }
}

impl<'py> IntoPython<'py> for bool {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(crate::types::Bool::new(py, self).into_any())
    }
}

impl<'a, 'py> FromPython<'a, 'py> for bool {
    /// Only `True` and `False`: a truthy object is not a bool (use
    /// [`Object::is_truthy`](crate::Object::is_truthy) for that).
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let p = obj.as_ptr();
        if p == ffi::Py_True() {
            Ok(true)
        } else if p == ffi::Py_False() {
            Ok(false)
        } else {
            Err(wrong_type(&obj, "bool"))
        }
    }

    fn expected() -> &'static str {
        "bool"
    }
}

// ---------------------------------------------------------------------------------------------
// Text and bytes

impl<'py> IntoPython<'py> for &str {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(Str::new(py, self)?.into_any())
    }
}

impl<'py> IntoPython<'py> for String {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        self.as_str().into_python(py)
    }
}

impl<'py> IntoPython<'py> for &String {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        self.as_str().into_python(py)
    }
}

impl<'py> IntoPython<'py> for Cow<'_, str> {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        (*self).into_python(py)
    }
}

impl<'py> IntoPython<'py> for char {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        self.encode_utf8(&mut [0; 4]).into_python(py)
    }
}

impl<'py> IntoPython<'py> for &std::path::Path {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        use std::os::unix::ffi::OsStrExt;
        let b = self.as_os_str().as_bytes();
        // SAFETY: `b` is valid for its length; GIL held. Decoding with the filesystem
        // encoding (surrogateescape) round-trips any path.
        owned(py, unsafe {
            ffi::PyUnicode_DecodeFSDefaultAndSize(b.as_ptr().cast(), b.len() as ffi::Py_ssize_t)
        })
    }
}

impl<'py> IntoPython<'py> for std::path::PathBuf {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        self.as_path().into_python(py)
    }
}

impl<'a, 'py> FromPython<'a, 'py> for &'a str {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        // SAFETY: live object, GIL held.
        if !unsafe { ffi::PyUnicode_Check(obj.as_ptr()) } {
            return Err(wrong_type(&obj, "str"));
        }
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: a live str; the UTF-8 buffer is cached in the object and lives as long as it,
        // which the borrow 'a guarantees.
        unsafe {
            let data = ffi::PyUnicode_AsUTF8AndSize(obj.as_ptr(), &mut len);
            if data.is_null() {
                return Err(Error::fetch(obj.py()));
            }
            let bytes: &'a [u8] = std::slice::from_raw_parts(data.cast(), len as usize);
            Ok(std::str::from_utf8_unchecked(bytes))
        }
    }

    fn expected() -> &'static str {
        "str"
    }
}

impl<'a, 'py> FromPython<'a, 'py> for String {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        <&str>::from_python(obj).map(str::to_owned)
    }

    fn expected() -> &'static str {
        "str"
    }

    const NO_CODE_FOR_BUILTINS: Option<crate::conversion::NoCodeForBuiltins> =
        // SAFETY: `PyUnicode_AsUTF8AndSize` on a str, or a type error: no Python code.
        Some(unsafe { crate::conversion::NoCodeForBuiltins::promise() });
}

impl<'a, 'py> FromPython<'a, 'py> for Cow<'a, str> {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        <&str>::from_python(obj).map(Cow::Borrowed)
    }

    fn expected() -> &'static str {
        "str"
    }
}

impl<'a, 'py> FromPython<'a, 'py> for char {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        let s = <&str>::from_python(obj)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(Error::value_error(format!(
                "expected a str of one character, got one of {}",
                s.chars().count()
            ))),
        }
    }

    fn expected() -> &'static str {
        "str"
    }
}

impl<'a, 'py> FromPython<'a, 'py> for std::path::PathBuf {
    /// A `str` or any `os.PathLike`, decoded as the filesystem does (undecodable bytes
    /// round-trip).
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let py = obj.py();
        // SAFETY: live object, GIL held; results are checked.
        let path = owned(py, unsafe { ffi::PyOS_FSPath(obj.as_ptr()) })
            .map_err(|_| wrong_type(&obj, "str or os.PathLike"))?;
        // SAFETY: as above.
        let bytes = if unsafe { ffi::PyBytes_Check(path.as_ptr()) } {
            path
        } else {
            // SAFETY: as above.
            owned(py, unsafe { ffi::PyUnicode_EncodeFSDefault(path.as_ptr()) })?
        };
        let b = bytes_like(&bytes).unwrap_or_default();
        Ok(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b)))
    }

    fn expected() -> &'static str {
        "str"
    }
}

impl<'a, 'py> FromPython<'a, 'py> for &'a [u8] {
    /// `bytes` only, borrowed (copy a `bytearray` with `Vec<u8>`).
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        // SAFETY: live object, GIL held; bytes are immutable and live for 'a.
        unsafe {
            let p = obj.as_ptr();
            if !ffi::PyBytes_Check(p) {
                return Err(wrong_type(&obj, "bytes"));
            }
            Ok(std::slice::from_raw_parts(
                ffi::PyBytes_AS_STRING(p).cast(),
                ffi::PyBytes_GET_SIZE(p) as usize,
            ))
        }
    }

    fn expected() -> &'static str {
        "bytes"
    }
}

// ---------------------------------------------------------------------------------------------
// Option and ()

impl<'py, T: IntoPython<'py>> IntoPython<'py> for Option<T> {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        match self {
            Some(v) => v.into_python(py),
            None => Ok(py.none().into_any()),
        }
    }
}

impl<'a, 'py, T: FromPython<'a, 'py>> FromPython<'a, 'py> for Option<T> {
    #[inline]
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        if obj.is_none() {
            Ok(None)
        } else {
            T::from_python(obj).map(Some)
        }
    }

    fn expected() -> &'static str {
        T::expected()
    }
}

impl<'py> IntoPython<'py> for () {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        Ok(py.none().into_any())
    }
}

impl<'a, 'py> FromPython<'a, 'py> for () {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        if obj.is_none() {
            Ok(())
        } else {
            Err(wrong_type(&obj, "None"))
        }
    }

    fn expected() -> &'static str {
        "None"
    }
}

/// Wraps a borrowed pointer from a C call (for the collection code).
#[inline(always)]
pub(crate) fn borrowed<'a, 'py>(py: Python<'py>, p: *mut ffi::PyObject) -> Borrowed<'a, 'py, Any> {
    // SAFETY: callers pass a non-null pointer borrowed from a container that outlives 'a.
    unsafe { Borrowed::from_ptr(py, NonNull::new_unchecked(p)) }
}
