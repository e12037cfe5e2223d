//! What every object can do: attributes, calls, items, iteration, comparison, `repr`/`str`.

use std::ptr::NonNull;
use std::sync::OnceLock;

use super::{Any, Dict, PyTypeInfo, Str, Type};
use crate::conversion::{IntoArgs, IntoPython};
use crate::{Borrowed, Error, Object, Python, Result, Unbound, ffi};

/// An attribute or method name: a `&str`, or an existing `str` object (an [`Interned`] one
/// avoids creating a string on every call).
pub trait AttrName<'py> {
    /// Runs `f` with the name as a borrowed `str` pointer.
    ///
    /// # Errors
    /// `MemoryError` if the name cannot be created.
    fn with_name<R>(self, py: Python<'py>, f: impl FnOnce(*mut ffi::PyObject) -> R) -> Result<R>;
}

impl<'py> AttrName<'py> for &str {
    #[inline]
    fn with_name<R>(self, py: Python<'py>, f: impl FnOnce(*mut ffi::PyObject) -> R) -> Result<R> {
        let s = Str::new(py, self)?;
        Ok(f(s.as_ptr()))
    }
}

impl<'py> AttrName<'py> for &String {
    #[inline]
    fn with_name<R>(self, py: Python<'py>, f: impl FnOnce(*mut ffi::PyObject) -> R) -> Result<R> {
        self.as_str().with_name(py, f)
    }
}

impl<'py> AttrName<'py> for &Object<'py, Str> {
    #[inline(always)]
    fn with_name<R>(self, _py: Python<'py>, f: impl FnOnce(*mut ffi::PyObject) -> R) -> Result<R> {
        Ok(f(self.as_ptr()))
    }
}

impl<'py> AttrName<'py> for Borrowed<'_, 'py, Str> {
    #[inline(always)]
    fn with_name<R>(self, _py: Python<'py>, f: impl FnOnce(*mut ffi::PyObject) -> R) -> Result<R> {
        Ok(f(self.as_ptr()))
    }
}

/// A `str` created once (interned) and reused: for names used on hot paths.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// pyhost::with_gil(|py| {
///     let m = py.import("math")?;
///     let pi: f64 = m.getattr(pyhost::intern!(py, "pi"))?.extract()?;
///     assert!((pi - std::f64::consts::PI).abs() < 1e-12);
///     Ok(())
/// })?;
/// # Ok::<(), pyhost::Error>(())
/// ```
pub struct Interned {
    text: &'static str,
    cell: OnceLock<Unbound<Str>>,
}

impl Interned {
    /// A name to intern on first use.
    pub const fn new(text: &'static str) -> Interned {
        Interned {
            text,
            cell: OnceLock::new(),
        }
    }

    /// The interned string.
    ///
    /// # Panics
    /// If Python cannot allocate the string (out of memory).
    pub fn get<'a, 'py>(&'a self, py: Python<'py>) -> Borrowed<'a, 'py, Str> {
        self.cell
            .get_or_init(|| {
                let s = Str::new(py, self.text).expect("interning a short string");
                let mut p = s.into_ptr();
                // SAFETY: `p` is an owned str; InternInPlace replaces it with the interned one,
                // keeping the reference count owned.
                unsafe { ffi::PyUnicode_InternInPlace(&mut p) };
                // SAFETY: owned, non-null str.
                unsafe { Object::<Str>::from_owned_ptr(py, NonNull::new_unchecked(p)) }.unbind()
            })
            .bind(py)
    }
}

/// An interned Python `str` for `name`, created on first use: `intern!(py, "name")`.
#[macro_export]
macro_rules! intern {
    ($py:expr, $text:expr) => {{
        static INTERNED: $crate::types::Interned = $crate::types::Interned::new($text);
        INTERNED.get($py)
    }};
}

/// An iterator over a Python iterable, from [`Object::iter`].
pub struct Iter<'py> {
    it: Object<'py, Any>,
}

impl<'py> Iterator for Iter<'py> {
    type Item = Result<Object<'py, Any>>;

    fn next(&mut self) -> Option<Self::Item> {
        let py = self.it.py();
        // SAFETY: live iterator, GIL held.
        let v = unsafe { ffi::PyIter_Next(self.it.as_ptr()) };
        match NonNull::new(v) {
            // SAFETY: PyIter_Next returns an owned reference.
            Some(v) => Some(Ok(unsafe { Object::from_owned_ptr(py, v) })),
            None => {
                // SAFETY: GIL held.
                if unsafe { ffi::PyErr_Occurred() }.is_null() {
                    None
                } else {
                    Some(Err(Error::fetch(py)))
                }
            }
        }
    }
}

/// Checks the `-1`-on-error convention of the C API.
#[inline(always)]
pub(crate) fn check_int(py: Python<'_>, rc: std::os::raw::c_int) -> Result<std::os::raw::c_int> {
    if rc == -1 {
        Err(Error::fetch(py))
    } else {
        Ok(rc)
    }
}

impl<'py> Object<'py, Any> {
    /// `getattr(self, name)`.
    ///
    /// # Errors
    /// `AttributeError`, or what the attribute's getter raises.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let os = py.import("os")?;
    ///     assert_eq!(os.getattr("sep")?.extract::<String>()?, "/");
    ///     let e = os.getattr("nope").unwrap_err();
    ///     assert!(e.to_string().starts_with("AttributeError"));
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn getattr(&self, name: impl AttrName<'py>) -> Result<Object<'py, Any>> {
        let py = self.py();
        // SAFETY: live object and name, GIL held; the result is checked.
        let r = name.with_name(py, |n| unsafe { ffi::PyObject_GetAttr(self.as_ptr(), n) })?;
        // SAFETY: GetAttr returns an owned reference or NULL with an exception set.
        unsafe { Object::from_owned_ptr_or_err(py, r) }
    }

    /// `getattr(self, name, None)`, told apart: `Ok(None)` when the attribute does not exist.
    ///
    /// # Errors
    /// What the attribute's getter raises, other than `AttributeError`.
    pub fn getattr_opt(&self, name: impl AttrName<'py>) -> Result<Option<Object<'py, Any>>> {
        match self.getattr(name) {
            Ok(v) => Ok(Some(v)),
            Err(Error::Python(e))
                if e.is_instance(self.py(), &crate::ExceptionType::AttributeError) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `hasattr(self, name)`.
    ///
    /// # Errors
    /// What the attribute's getter raises, other than `AttributeError`.
    pub fn hasattr(&self, name: impl AttrName<'py>) -> Result<bool> {
        Ok(self.getattr_opt(name)?.is_some())
    }

    /// `setattr(self, name, value)`.
    ///
    /// # Errors
    /// What Python raises (read-only attribute, conversion failure).
    pub fn setattr(&self, name: impl AttrName<'py>, value: impl IntoPython<'py>) -> Result<()> {
        let py = self.py();
        let value = value.into_python(py)?;
        // SAFETY: live objects, GIL held.
        let rc = name.with_name(py, |n| unsafe {
            ffi::PyObject_SetAttr(self.as_ptr(), n, value.as_ptr())
        })?;
        check_int(py, rc).map(drop)
    }

    /// `del self.name`.
    ///
    /// # Errors
    /// `AttributeError`, or what Python raises.
    pub fn delattr(&self, name: impl AttrName<'py>) -> Result<()> {
        let py = self.py();
        // SAFETY: live objects, GIL held; a NULL value deletes.
        let rc = name.with_name(py, |n| unsafe {
            ffi::PyObject_SetAttr(self.as_ptr(), n, std::ptr::null_mut())
        })?;
        check_int(py, rc).map(drop)
    }

    /// `self(*args, **kwargs)`, through vectorcall. `args` is a tuple of convertible values
    /// (`()`, `(1,)`, `(1, "a", 2.5)`).
    ///
    /// # Errors
    /// What the call raises, or a conversion failure.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use pyhost::types::Dict;
    /// pyhost::with_gil(|py| {
    ///     let f = py.eval("lambda a, b=1, *, c=0: a * 100 + b * 10 + c")?;
    ///     assert_eq!(f.call((1, 2), None)?.extract::<i32>()?, 120);
    ///     let kw = Dict::new(py);
    ///     kw.set_item("c", 3)?;
    ///     assert_eq!(f.call((1,), Some(&kw))?.extract::<i32>()?, 113);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn call(
        &self,
        args: impl IntoArgs<'py>,
        kwargs: Option<&Object<'py, Dict>>,
    ) -> Result<Object<'py, Any>> {
        args.call(self, kwargs)
    }

    /// `self()`.
    ///
    /// # Errors
    /// What the call raises.
    #[inline]
    pub fn call0(&self) -> Result<Object<'py, Any>> {
        let py = self.py();
        // SAFETY: live callable, GIL held; the result is checked.
        unsafe { Object::from_owned_ptr_or_err(py, ffi::PyObject_CallNoArgs(self.as_ptr())) }
    }

    /// `self(*args)`.
    ///
    /// # Errors
    /// What the call raises, or a conversion failure.
    #[inline]
    pub fn call1(&self, args: impl IntoArgs<'py>) -> Result<Object<'py, Any>> {
        args.call(self, None)
    }

    /// `self.name(*args, **kwargs)`.
    ///
    /// # Errors
    /// `AttributeError`, what the call raises, or a conversion failure.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let s = py.eval("'a,b,c'")?;
    ///     let parts: Vec<String> = s.call_method("split", (",",), None)?.extract()?;
    ///     assert_eq!(parts, ["a", "b", "c"]);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline]
    pub fn call_method(
        &self,
        name: impl AttrName<'py>,
        args: impl IntoArgs<'py>,
        kwargs: Option<&Object<'py, Dict>>,
    ) -> Result<Object<'py, Any>> {
        match kwargs {
            None => {
                let py = self.py();
                name.with_name(py, |n| {
                    // SAFETY: `n` is a live str for the duration of the closure.
                    let n = unsafe { Borrowed::<Str>::from_ptr(py, NonNull::new_unchecked(n)) };
                    args.call_method(self, n)
                })?
            }
            Some(kw) => self.getattr(name)?.call(args, Some(kw)),
        }
    }

    /// `self.name()`.
    ///
    /// # Errors
    /// As [`Object::call_method`].
    #[inline]
    pub fn call_method0(&self, name: impl AttrName<'py>) -> Result<Object<'py, Any>> {
        self.call_method(name, (), None)
    }

    /// `self.name(*args)`.
    ///
    /// # Errors
    /// As [`Object::call_method`].
    #[inline]
    pub fn call_method1(
        &self,
        name: impl AttrName<'py>,
        args: impl IntoArgs<'py>,
    ) -> Result<Object<'py, Any>> {
        self.call_method(name, args, None)
    }

    /// `repr(self)`.
    ///
    /// # Errors
    /// What `__repr__` raises.
    pub fn repr(&self) -> Result<Object<'py, Str>> {
        // SAFETY: live object, GIL held; the result is a str or NULL.
        unsafe { Object::from_owned_ptr_or_err(self.py(), ffi::PyObject_Repr(self.as_ptr())) }
    }

    /// `str(self)`.
    ///
    /// # Errors
    /// What `__str__` raises.
    pub fn str(&self) -> Result<Object<'py, Str>> {
        // SAFETY: live object, GIL held; the result is a str or NULL.
        unsafe { Object::from_owned_ptr_or_err(self.py(), ffi::PyObject_Str(self.as_ptr())) }
    }

    /// `len(self)`.
    ///
    /// # Errors
    /// `TypeError` if the object has no length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> Result<usize> {
        // SAFETY: live object, GIL held.
        let n = unsafe { ffi::PyObject_Size(self.as_ptr()) };
        if n < 0 {
            Err(Error::fetch(self.py()))
        } else {
            Ok(n as usize)
        }
    }

    /// `self is None`.
    #[inline]
    pub fn is_none(&self) -> bool {
        self.as_ptr() == ffi::Py_None()
    }

    /// `bool(self)`.
    ///
    /// # Errors
    /// What `__bool__` raises.
    pub fn is_truthy(&self) -> Result<bool> {
        // SAFETY: live object, GIL held.
        check_int(self.py(), unsafe { ffi::PyObject_IsTrue(self.as_ptr()) }).map(|r| r == 1)
    }

    /// `type(self)`.
    pub fn get_type(&self) -> Object<'py, Type> {
        // SAFETY: every live object has a live type; GIL held.
        unsafe {
            Object::from_borrowed_ptr(
                self.py(),
                NonNull::new_unchecked(ffi::Py_TYPE(self.as_ptr()).cast()),
            )
        }
    }

    /// `isinstance(self, class)`.
    ///
    /// # Errors
    /// `TypeError` if `class` is not a class (or tuple of classes).
    pub fn is_instance(&self, class: &Object<'py, Any>) -> Result<bool> {
        // SAFETY: live objects, GIL held.
        check_int(self.py(), unsafe {
            ffi::PyObject_IsInstance(self.as_ptr(), class.as_ptr())
        })
        .map(|r| r == 1)
    }

    /// Whether the object is a `T` (an instance of it or of a subclass).
    #[inline]
    pub fn is_instance_of<T: PyTypeInfo>(&self) -> bool {
        T::is_type_of(self)
    }

    /// `self[key]`.
    ///
    /// # Errors
    /// `KeyError`, `IndexError`, `TypeError`, or what `__getitem__` raises.
    pub fn get_item(&self, key: impl IntoPython<'py>) -> Result<Object<'py, Any>> {
        let py = self.py();
        let key = key.into_python(py)?;
        // SAFETY: live objects, GIL held; the result is checked.
        unsafe {
            Object::from_owned_ptr_or_err(py, ffi::PyObject_GetItem(self.as_ptr(), key.as_ptr()))
        }
    }

    /// `self[key] = value`.
    ///
    /// # Errors
    /// What `__setitem__` raises, or a conversion failure.
    pub fn set_item(&self, key: impl IntoPython<'py>, value: impl IntoPython<'py>) -> Result<()> {
        let py = self.py();
        let (key, value) = (key.into_python(py)?, value.into_python(py)?);
        // SAFETY: live objects, GIL held.
        check_int(py, unsafe {
            ffi::PyObject_SetItem(self.as_ptr(), key.as_ptr(), value.as_ptr())
        })
        .map(drop)
    }

    /// `del self[key]`.
    ///
    /// # Errors
    /// What `__delitem__` raises.
    pub fn del_item(&self, key: impl IntoPython<'py>) -> Result<()> {
        let py = self.py();
        let key = key.into_python(py)?;
        // SAFETY: live objects, GIL held.
        check_int(py, unsafe {
            ffi::PyObject_DelItem(self.as_ptr(), key.as_ptr())
        })
        .map(drop)
    }

    /// `iter(self)`.
    ///
    /// # Errors
    /// `TypeError` if the object is not iterable.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let r = py.eval("range(3)")?;
    ///     let v: Vec<i64> = r.iter()?.map(|x| x?.extract()).collect::<pyhost::Result<_>>()?;
    ///     assert_eq!(v, [0, 1, 2]);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn iter(&self) -> Result<Iter<'py>> {
        // SAFETY: live object, GIL held; the result is checked.
        let it = unsafe {
            Object::from_owned_ptr_or_err(self.py(), ffi::PyObject_GetIter(self.as_ptr()))
        }?;
        Ok(Iter { it })
    }

    /// `self == other`.
    ///
    /// # Errors
    /// What `__eq__` raises, or a conversion failure.
    pub fn eq(&self, other: impl IntoPython<'py>) -> Result<bool> {
        self.compare(other, ffi::Py_EQ)
    }

    /// Rich comparison with one of `ffi::Py_LT` … `ffi::Py_GE`.
    ///
    /// # Errors
    /// What the comparison raises, or a conversion failure.
    pub fn compare(&self, other: impl IntoPython<'py>, op: u32) -> Result<bool> {
        let py = self.py();
        let other = other.into_python(py)?;
        // SAFETY: live objects, GIL held.
        check_int(py, unsafe {
            ffi::PyObject_RichCompareBool(self.as_ptr(), other.as_ptr(), op as std::os::raw::c_int)
        })
        .map(|r| r == 1)
    }

    /// `hash(self)`.
    ///
    /// # Errors
    /// `TypeError` for unhashable objects.
    pub fn hash(&self) -> Result<isize> {
        // SAFETY: live object, GIL held.
        let h = unsafe { ffi::PyObject_Hash(self.as_ptr()) };
        if h == -1 {
            Err(Error::fetch(self.py()))
        } else {
            Ok(h)
        }
    }
}
