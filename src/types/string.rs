//! `str` and `bytes`.

use std::borrow::Cow;

use super::{Bytes, Str};
use crate::{Error, Object, Python, Result, ffi};

impl Str {
    /// A new `str` holding `s`.
    ///
    /// # Errors
    /// `MemoryError`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Str;
    /// pyhost::with_gil(|py| {
    ///     let s = Str::new(py, "héllo")?;
    ///     assert_eq!(s.to_str()?, "héllo");
    ///     assert_eq!(s.char_len(), 5);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn new<'py>(py: Python<'py>, s: &str) -> Result<Object<'py, Str>> {
        // SAFETY: `s` is valid UTF-8 of the given length; GIL held; the result is checked.
        unsafe {
            Object::from_owned_ptr_or_err(
                py,
                ffi::PyUnicode_FromStringAndSize(s.as_ptr().cast(), s.len() as ffi::Py_ssize_t),
            )
        }
    }
}

impl<'py> Object<'py, Str> {
    /// The text, borrowed from the object (CPython caches the UTF-8 form).
    ///
    /// # Errors
    /// `UnicodeEncodeError` if the string holds lone surrogates, which are not valid text.
    #[inline]
    pub fn to_str(&self) -> Result<&str> {
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: live str, GIL held; the buffer lives as long as the object, which `self`
        // keeps alive for the returned borrow.
        unsafe {
            let data = ffi::PyUnicode_AsUTF8AndSize(self.as_ptr(), &mut len);
            if data.is_null() {
                return Err(Error::fetch(self.py()));
            }
            let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len as usize);
            // CPython produced UTF-8.
            Ok(std::str::from_utf8_unchecked(bytes))
        }
    }

    /// The text, with anything that is not valid Unicode (lone surrogates) replaced.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        match self.to_str() {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                // SAFETY: live str, GIL held; the bytes object is checked and released.
                unsafe {
                    let b = ffi::PyUnicode_AsEncodedString(
                        self.as_ptr(),
                        c"utf-8".as_ptr(),
                        c"surrogatepass".as_ptr(),
                    );
                    if b.is_null() {
                        ffi::PyErr_Clear();
                        return Cow::Borrowed("\u{fffd}");
                    }
                    let bytes = std::slice::from_raw_parts(
                        ffi::PyBytes_AS_STRING(b).cast::<u8>(),
                        ffi::PyBytes_GET_SIZE(b) as usize,
                    );
                    let s = String::from_utf8_lossy(bytes).into_owned();
                    ffi::Py_DECREF(b);
                    Cow::Owned(s)
                }
            }
        }
    }

    /// The length in code points (`len(s)`).
    pub fn char_len(&self) -> usize {
        // SAFETY: live str, GIL held.
        unsafe { ffi::PyUnicode_GetLength(self.as_ptr()) as usize }
    }
}

impl Bytes {
    /// A new `bytes` holding a copy of `data`.
    ///
    /// # Errors
    /// `MemoryError`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Bytes;
    /// pyhost::with_gil(|py| {
    ///     let b = Bytes::new(py, b"\x00\xffraw")?;
    ///     assert_eq!(b.as_bytes(), b"\x00\xffraw");
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn new<'py>(py: Python<'py>, data: &[u8]) -> Result<Object<'py, Bytes>> {
        // SAFETY: `data` is valid for its length; GIL held; the result is checked.
        unsafe {
            Object::from_owned_ptr_or_err(
                py,
                ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t),
            )
        }
    }
}

impl Object<'_, Bytes> {
    /// The contents, borrowed from the object (bytes are immutable).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: live bytes object, GIL held; its buffer lives as long as the object.
        unsafe {
            std::slice::from_raw_parts(
                ffi::PyBytes_AS_STRING(self.as_ptr()).cast::<u8>(),
                ffi::PyBytes_GET_SIZE(self.as_ptr()) as usize,
            )
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
