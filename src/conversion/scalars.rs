//! Numbers, booleans, text, bytes, `Option` and `()`.

use std::borrow::Cow;

use super::{FromPython, IntoPython};
use crate::err::capture::type_name_of;
use crate::raw::{self, Check};
use crate::types::{Any, Int, Str};
use crate::{Borrowed, Error, ExceptionType, Object, Python, Result};

#[cold]
fn wrong_type(obj: &Object<'_, Any>, expected: &str) -> Error {
    Error::type_error(format!("expected {expected}, got {}", type_name_of(obj)))
}

// ---------------------------------------------------------------------------------------------
// Integers

/// Reads any Python int (or object with `__index__`) as an `i64`: inlined for the common
/// case, an int that fits; the rest is out of line.
#[inline(always)]
fn to_i64(obj: &Object<'_, Any>, target: &str) -> Result<i64> {
    if raw::is(obj, Check::Long) {
        let v = raw::long_as_i64(obj);
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
    if raw::err_occurred(obj.py()) {
        return Err(overflow(Error::fetch(obj.py()), obj, target));
    }
    Ok(-1)
}

/// [`to_i64`] for objects that are not ints but may have `__index__`.
#[cold]
#[inline(never)]
fn index_to_i64(obj: &Object<'_, Any>, target: &str) -> Result<i64> {
    let index = as_index(obj, target)?;
    to_i64(index.as_any(), target)
}

/// Reads any Python int (or object with `__index__`) as a `u64`.
#[inline]
fn to_u64(obj: &Object<'_, Any>, target: &str) -> Result<u64> {
    let py = obj.py();
    if raw::is(obj, Check::Long) {
        let v = raw::long_as_u64(obj);
        if v == u64::MAX && raw::err_occurred(py) {
            return Err(overflow(Error::fetch(py), obj, target));
        }
        return Ok(v);
    }
    let index = as_index(obj, target)?;
    to_u64(index.as_any(), target)
}

/// `operator.index(obj)`, with "expected int" for objects that are not integers.
fn as_index<'py>(obj: &Object<'py, Any>, target: &str) -> Result<Object<'py, Int>> {
    if !raw::is(obj, Check::Index) {
        return Err(wrong_type(obj, &format!("int (for {target})")));
    }
    raw::number_index(obj)
}

/// Replaces CPython's overflow message (`original`) with one naming the Rust type.
#[cold]
fn overflow(original: Error, obj: &Object<'_, Any>, target: &str) -> Error {
    let py = obj.py();
    if !matches!(&original, Error::Python(e) if e.is_instance(py, &ExceptionType::OverflowError)) {
        return original;
    }
    let shown = obj
        .repr()
        .map(|r| r.to_string_lossy().into_owned())
        .unwrap_or_default();
    Error::overflow_error(format!("int {shown} does not fit in {target}"))
}

/// For ints (subclasses and bools too: `PyLong_AsLongLong` and `PyLong_AsUnsignedLongLong`
/// read their digits in C): no Python code. `__index__` of other types may run some.
const INT_NO_CODE: Option<crate::conversion::NoCodeFor> =
    Some(crate::conversion::NoCodeFor::trusted(|obj| {
        raw::is(obj, Check::Long)
    }));

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl<'py> IntoPython<'py> for $t {
            #[inline]
            fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
                raw::long_from_i64(py, self as i64).map(Object::into_any)
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

            const NO_CODE: Option<crate::conversion::NoCodeFor> = INT_NO_CODE;
        }
    )*};
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl<'py> IntoPython<'py> for $t {
            #[inline]
            fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
                raw::long_from_u64(py, self as u64).map(Object::into_any)
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

            const NO_CODE: Option<crate::conversion::NoCodeFor> = INT_NO_CODE;
        }
    )*};
}

signed!(i8, i16, i32, i64, isize);
unsigned!(u16, u32, u64, usize);

impl<'py> IntoPython<'py> for u8 {
    #[inline]
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        raw::long_from_i64(py, self.into()).map(Object::into_any)
    }

    /// `Vec<u8>` becomes `bytes`.
    fn vec_into_python(v: Vec<Self>, py: Python<'py>) -> Result<Object<'py, Any>> {
        crate::types::Bytes::new(py, &v).map(Object::into_any)
    }

    /// `&[u8]` becomes `bytes`.
    fn slice_into_python(s: &[Self], py: Python<'py>) -> Result<Object<'py, Any>> {
        crate::types::Bytes::new(py, s).map(Object::into_any)
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

impl<'py> IntoPython<'py> for i128 {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        raw::long_from_le_bytes(py, &self.to_le_bytes(), true).map(Object::into_any)
    }
}

impl<'py> IntoPython<'py> for u128 {
    fn into_python(self, py: Python<'py>) -> Result<Object<'py, Any>> {
        raw::long_from_le_bytes(py, &self.to_le_bytes(), false).map(Object::into_any)
    }
}

/// Reads an int into 16 little-endian bytes.
fn to_bytes16(obj: &Object<'_, Any>, signed: bool, target: &str) -> Result<[u8; 16]> {
    let int = match obj.downcast::<Int>() {
        Ok(i) => i.clone(),
        Err(_) => as_index(obj, target)?,
    };
    raw::long_to_le_bytes(&int, signed).map_err(|e| overflow(e, obj, target))
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
        raw::float_from_f64(py, self).map(Object::into_any)
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
        if raw::is(&obj, Check::FloatExact) {
            return Ok(raw::float_value_exact(&obj));
        }
        f64_from_other(obj)
    }

    fn expected() -> &'static str {
        "float"
    }

    const NO_CODE: Option<crate::conversion::NoCodeFor> = F64_NO_CODE;
}

/// `f64` from anything but an exact float: out of line, so the float case inlines small.
#[inline(never)]
fn f64_from_other(obj: Borrowed<'_, '_, Any>) -> Result<f64> {
    // Ints and objects with __float__/__index__ too.
    let v = raw::float_as_f64(&obj);
    if v == -1.0 && raw::err_occurred(obj.py()) {
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

/// For floats (subclasses too: `PyFloat_AsDouble` reads their value), exact ints and bools
/// (`int.__float__` in C): no Python code. `__float__`/`__index__` of other types, int
/// subclasses among them, may run some.
const F64_NO_CODE: Option<crate::conversion::NoCodeFor> =
    Some(crate::conversion::NoCodeFor::trusted(|obj| {
        raw::is(obj, Check::FloatExact)
            || raw::is(obj, Check::LongExact)
            || raw::is(obj, Check::Bool)
            || raw::is(obj, Check::Float)
    }));

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
        if p == raw::bool_ptr(true) {
            Ok(true)
        } else if p == raw::bool_ptr(false) {
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
        Str::new(py, self).map(Object::into_any)
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
        // Decoding with the filesystem encoding (surrogateescape) round-trips any path.
        raw::str_from_fs_bytes(py, self.as_os_str().as_bytes()).map(Object::into_any)
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
        if !raw::is(&obj, Check::Unicode) {
            return Err(wrong_type(&obj, "str"));
        }
        raw::str_as_utf8_borrowed(obj)
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

    const NO_CODE: Option<crate::conversion::NoCodeFor> =
        // For any object: `PyUnicode_AsUTF8AndSize` on a str (subclasses too, whose text it
        // reads in C), else a type error: no Python code.
        Some(crate::conversion::NoCodeFor::trusted(|_| true));
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
        let path = raw::fspath(&obj).map_err(|_| wrong_type(&obj, "str or os.PathLike"))?;
        let bytes = if raw::is(&path, Check::Bytes) {
            path
        } else {
            raw::str_to_fs_bytes(&path)?.into_any()
        };
        let b = raw::bytes_like(&bytes).unwrap_or_default();
        Ok(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b)))
    }

    fn expected() -> &'static str {
        "str"
    }
}

impl<'a, 'py> FromPython<'a, 'py> for &'a [u8] {
    /// `bytes` only, borrowed (copy a `bytearray` with `Vec<u8>`).
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        if !raw::is(&obj, Check::Bytes) {
            return Err(wrong_type(&obj, "bytes"));
        }
        Ok(raw::bytes_borrowed(obj))
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
