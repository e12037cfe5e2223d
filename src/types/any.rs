//! What every object can do: attributes, calls, items, iteration, comparison, `repr`/`str`.

use crate::raw::interp::PerInterp;

use super::{Any, Dict, PyTypeInfo, Str, Type};
use crate::conversion::{IntoArgs, IntoPython};
use crate::{Borrowed, Error, Object, Python, Result, ffi, raw};

/// An attribute or method name: a `&str`, or an existing `str` object (an [`Interned`] one
/// avoids creating a string on every call).
pub trait AttrName<'py> {
    /// Runs `f` with the name as a `str` object.
    ///
    /// # Errors
    /// `MemoryError` if the name cannot be created.
    fn with_name<R>(
        self,
        py: Python<'py>,
        f: impl FnOnce(Borrowed<'_, 'py, Str>) -> R,
    ) -> Result<R>;
}

impl<'py> AttrName<'py> for &str {
    #[inline]
    fn with_name<R>(
        self,
        py: Python<'py>,
        f: impl FnOnce(Borrowed<'_, 'py, Str>) -> R,
    ) -> Result<R> {
        let s = Str::new(py, self)?;
        Ok(f(s.as_borrowed()))
    }
}

impl<'py> AttrName<'py> for &String {
    #[inline]
    fn with_name<R>(
        self,
        py: Python<'py>,
        f: impl FnOnce(Borrowed<'_, 'py, Str>) -> R,
    ) -> Result<R> {
        self.as_str().with_name(py, f)
    }
}

impl<'py> AttrName<'py> for &Object<'py, Str> {
    #[inline(always)]
    fn with_name<R>(
        self,
        _py: Python<'py>,
        f: impl FnOnce(Borrowed<'_, 'py, Str>) -> R,
    ) -> Result<R> {
        Ok(f(self.as_borrowed()))
    }
}

impl<'py> AttrName<'py> for Borrowed<'_, 'py, Str> {
    #[inline(always)]
    fn with_name<R>(
        self,
        _py: Python<'py>,
        f: impl FnOnce(Borrowed<'_, 'py, Str>) -> R,
    ) -> Result<R> {
        Ok(f(self))
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
    cell: PerInterp<Str>,
}

impl Interned {
    /// A name to intern on first use.
    pub const fn new(text: &'static str) -> Interned {
        Interned {
            text,
            cell: PerInterp::new(),
        }
    }

    /// The interned string (one per interpreter).
    ///
    /// # Panics
    /// If Python cannot allocate the string (out of memory).
    pub fn get<'a, 'py>(&'a self, py: Python<'py>) -> Borrowed<'a, 'py, Str> {
        self.cell
            .get_or_try_init(py, || Ok(raw::intern(Str::new(py, self.text)?)))
            .expect("interning a short string")
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
        raw::iter_next(&self.it)
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
        name.with_name(self.py(), |n| raw::getattr(self, n))?
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
        let value = value.into_python(self.py())?;
        name.with_name(self.py(), |n| raw::setattr(self, n, Some(&value)))?
    }

    /// `del self.name`.
    ///
    /// # Errors
    /// `AttributeError`, or what Python raises.
    pub fn delattr(&self, name: impl AttrName<'py>) -> Result<()> {
        name.with_name(self.py(), |n| raw::setattr(self, n, None))?
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
        raw::call0(self)
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
            None => name.with_name(self.py(), |n| args.call_method(self, n))?,
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
        raw::repr(self)
    }

    /// `str(self)`.
    ///
    /// # Errors
    /// What `__str__` raises.
    pub fn str(&self) -> Result<Object<'py, Str>> {
        raw::str(self)
    }

    /// `len(self)`.
    ///
    /// # Errors
    /// `TypeError` if the object has no length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> Result<usize> {
        raw::len(self)
    }

    /// `self is None`.
    #[inline]
    pub fn is_none(&self) -> bool {
        self.as_ptr() == raw::none_ptr()
    }

    /// `bool(self)`.
    ///
    /// # Errors
    /// What `__bool__` raises.
    pub fn is_truthy(&self) -> Result<bool> {
        raw::is_true(self)
    }

    /// `type(self)`.
    pub fn get_type(&self) -> Object<'py, Type> {
        raw::type_of(self)
    }

    /// `isinstance(self, class)`.
    ///
    /// # Errors
    /// `TypeError` if `class` is not a class (or tuple of classes).
    pub fn is_instance(&self, class: &Object<'py, Any>) -> Result<bool> {
        raw::is_instance(self, class)
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
        raw::get_item(self, &key)
    }

    /// `self[key] = value`.
    ///
    /// # Errors
    /// What `__setitem__` raises, or a conversion failure.
    pub fn set_item(&self, key: impl IntoPython<'py>, value: impl IntoPython<'py>) -> Result<()> {
        let py = self.py();
        let (key, value) = (key.into_python(py)?, value.into_python(py)?);
        raw::set_item(self, &key, Some(&value))
    }

    /// `del self[key]`.
    ///
    /// # Errors
    /// What `__delitem__` raises.
    pub fn del_item(&self, key: impl IntoPython<'py>) -> Result<()> {
        let py = self.py();
        let key = key.into_python(py)?;
        raw::set_item(self, &key, None)
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
        Ok(Iter {
            it: raw::iter(self)?,
        })
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
        raw::compare(self, &other, op)
    }

    /// `hash(self)`.
    ///
    /// # Errors
    /// `TypeError` for unhashable objects.
    pub fn hash(&self) -> Result<isize> {
        raw::hash(self)
    }
}
