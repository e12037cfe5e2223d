//! `str` and `bytes`.

use std::borrow::Cow;

use super::{Bytes, Str};
use crate::{Object, Python, Result, raw};

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
        raw::str_from_utf8(py, s)
    }
}

impl<'py> Object<'py, Str> {
    /// The text, borrowed from the object (CPython caches the UTF-8 form).
    ///
    /// # Errors
    /// `UnicodeEncodeError` if the string holds lone surrogates, which are not valid text.
    #[inline]
    pub fn to_str(&self) -> Result<&str> {
        raw::str_as_utf8(self.as_any())
    }

    /// The text, with anything that is not valid Unicode (lone surrogates) replaced.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let s = py.eval("'a\\ud800b'")?.into_downcast::<pyhost::types::Str>()?;
    ///     assert!(s.to_str().is_err());
    ///     let lossy = s.to_string_lossy();
    ///     assert!(lossy.starts_with('a') && lossy.ends_with('b') && lossy.contains('\u{fffd}'));
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        match self.to_str() {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => match raw::str_encode_utf8(self.as_any(), c"surrogatepass") {
                Ok(b) => Cow::Owned(String::from_utf8_lossy(b.as_bytes()).into_owned()),
                Err(_) => Cow::Borrowed("\u{fffd}"),
            },
        }
    }

    /// The length in code points (`len(s)`).
    pub fn char_len(&self) -> usize {
        raw::str_char_len(self)
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
        raw::bytes_new(py, data)
    }
}

impl Object<'_, Bytes> {
    /// The contents, borrowed from the object (bytes are immutable).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        raw::bytes_like(self.as_any()).unwrap_or_default()
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
