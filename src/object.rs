//! Object handles: [`Object`] (an owned reference bound to the GIL), [`Borrowed`] (a borrowed
//! reference) and [`Unbound`] (an owned reference that can be stored anywhere and sent to other
//! threads).
//!
//! `Object` is the one type that owns a `*mut PyObject` while the GIL is held; its `Drop` is the
//! only place that releases one. `Unbound` owns one without the GIL and hands the release to
//! [`crate::gil`], which defers it when the GIL is not held.

use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::raw::interp::InterpId;
use crate::types::{Any, PyTypeInfo};
use crate::{Error, Python, Result, ffi};

/// An owned reference to a Python object, valid while the GIL is held (`'py`).
///
/// `T` is the object's type as far as Rust knows: [`Any`] (the default) or a typed view such as
/// [`Dict`](crate::types::Dict) or [`Str`](crate::types::Str), which adds that type's methods.
/// Dropping it releases the reference; cloning adds one.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// use pyhost::types::Dict;
/// pyhost::with_gil(|py| {
///     let d = Dict::new(py);
///     d.set_item("answer", 42)?;
///     let any = d.as_any().clone();
///     assert_eq!(any.refcount(), 2);
///     let back = any.downcast::<Dict>()?;
///     assert_eq!(back.len(), 1);
///     Ok(())
/// })?;
/// # Ok::<(), pyhost::Error>(())
/// ```
#[repr(transparent)]
pub struct Object<'py, T = Any> {
    ptr: NonNull<ffi::PyObject>,
    _marker: PhantomData<(Python<'py>, T)>,
}

/// A borrowed reference: no reference count of its own, valid for `'a` (while whatever owns the
/// object keeps it alive) and `'py`. Derefs to [`Object`], so every method is available.
#[repr(transparent)]
pub struct Borrowed<'a, 'py, T = Any> {
    ptr: NonNull<ffi::PyObject>,
    _marker: PhantomData<(&'a Object<'py, T>, Python<'py>)>,
}

/// An owned reference that is not tied to the GIL: `Send + Sync`, storable in structs, statics
/// and other threads. Use it with the GIL through [`Unbound::bind`]. Dropping it on a thread
/// that does not hold the GIL defers the release to the next time any thread takes the GIL; it
/// never blocks.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// use pyhost::{Unbound, types::List};
/// let list: Unbound<List> = pyhost::with_gil(|py| Ok(List::new(py).unbind()))?;
/// std::thread::spawn(move || {
///     pyhost::with_gil(|py| {
///         list.bind(py).append("from another thread")?;
///         assert_eq!(list.bind(py).len(), 1);
///         Ok(())
///     })
/// })
/// .join()
/// .unwrap()?;
/// # Ok::<(), pyhost::Error>(())
/// ```
pub struct Unbound<T = Any> {
    ptr: NonNull<ffi::PyObject>,
    /// The interpreter the object belongs to.
    interp: InterpId,
    _marker: PhantomData<T>,
}

// SAFETY: an Unbound only touches its object's reference count with the GIL held (bind,
// clone_ref) or through gil::release_owned, which defers the release without the GIL.
unsafe impl<T> Send for Unbound<T> {}
// SAFETY: as above: no method reads or writes the object without the GIL.
unsafe impl<T> Sync for Unbound<T> {}

// ---------------------------------------------------------------------------------------------
// Object

impl<'py, T> Object<'py, T> {
    /// Takes ownership of a new (owned) reference.
    ///
    /// # Safety
    /// `ptr` is an owned reference to a live object of type `T`, and the GIL is held for `'py`.
    #[inline(always)]
    pub unsafe fn from_owned_ptr(_py: Python<'py>, ptr: NonNull<ffi::PyObject>) -> Self {
        Object {
            ptr,
            _marker: PhantomData,
        }
    }

    /// Takes ownership of the result of a C call returning a new reference: `NULL` becomes
    /// the Python exception that is set.
    ///
    /// # Safety
    /// A non-null `ptr` is an owned reference to a live object of type `T`; the GIL is held.
    #[inline(always)]
    pub unsafe fn from_owned_ptr_or_err(py: Python<'py>, ptr: *mut ffi::PyObject) -> Result<Self> {
        match NonNull::new(ptr) {
            // SAFETY: forwarded to the caller.
            Some(p) => Ok(unsafe { Self::from_owned_ptr(py, p) }),
            None => Err(Error::fetch(py)),
        }
    }

    /// Adds a reference to a borrowed pointer.
    ///
    /// # Safety
    /// `ptr` points to a live object of type `T`; the GIL is held.
    #[inline(always)]
    pub unsafe fn from_borrowed_ptr(py: Python<'py>, ptr: NonNull<ffi::PyObject>) -> Self {
        // SAFETY: live object, GIL held (caller).
        unsafe {
            ffi::Py_INCREF(ptr.as_ptr());
            Self::from_owned_ptr(py, ptr)
        }
    }

    /// The raw pointer, still owned by this handle.
    #[inline(always)]
    pub fn as_ptr(&self) -> *mut ffi::PyObject {
        self.ptr.as_ptr()
    }

    /// The raw pointer, known to be non-null.
    #[inline(always)]
    pub(crate) fn as_non_null(&self) -> NonNull<ffi::PyObject> {
        self.ptr
    }

    /// The raw pointer, with ownership passed to the caller.
    #[inline(always)]
    pub fn into_ptr(self) -> *mut ffi::PyObject {
        ManuallyDrop::new(self).ptr.as_ptr()
    }

    /// The GIL token this handle is bound to.
    #[inline(always)]
    pub fn py(&self) -> Python<'py> {
        // SAFETY: an Object exists only while the GIL is held for 'py.
        unsafe { Python::assume_gil_acquired() }
    }

    /// The object as an untyped handle.
    #[inline(always)]
    pub fn as_any(&self) -> &Object<'py, Any> {
        // SAFETY: same representation; Any accepts every object.
        unsafe { &*(self as *const Self).cast::<Object<'py, Any>>() }
    }

    /// Converts into an untyped handle.
    #[inline(always)]
    pub fn into_any(self) -> Object<'py, Any> {
        // SAFETY: the reference moves from self to the new handle.
        unsafe { Object::from_owned_ptr(self.py(), NonNull::new_unchecked(self.into_ptr())) }
    }

    /// A borrowed view of this handle.
    #[inline(always)]
    pub fn as_borrowed(&self) -> Borrowed<'_, 'py, T> {
        Borrowed {
            ptr: self.ptr,
            _marker: PhantomData,
        }
    }

    /// Detaches from the GIL lifetime, to store or send elsewhere.
    #[inline(always)]
    pub fn unbind(self) -> Unbound<T> {
        let interp = crate::raw::interp::current(self.py());
        Unbound {
            ptr: NonNull::new(self.into_ptr()).expect("non-null"),
            interp,
            _marker: PhantomData,
        }
    }

    /// Views the object as type `U` if it is one (an instance of `U` or a subclass).
    ///
    /// # Errors
    /// A Python `TypeError` naming the expected and the actual type.
    pub fn downcast<U: PyTypeInfo>(&self) -> Result<&Object<'py, U>> {
        if U::is_type_of(self.as_any()) {
            // SAFETY: same representation; the type was checked.
            Ok(unsafe { &*(self as *const Self).cast::<Object<'py, U>>() })
        } else {
            Err(Error::downcast(self.as_any(), U::NAME))
        }
    }

    /// Converts into type `U` if the object is one.
    ///
    /// # Errors
    /// As [`Object::downcast`].
    pub fn into_downcast<U: PyTypeInfo>(self) -> Result<Object<'py, U>> {
        if U::is_type_of(self.as_any()) {
            // SAFETY: the reference moves; the type was checked.
            Ok(unsafe { self.cast_unchecked() })
        } else {
            Err(Error::downcast(self.as_any(), U::NAME))
        }
    }

    /// Reinterprets the handle as type `U` without a check.
    ///
    /// # Safety
    /// The object is an instance of `U`.
    #[inline(always)]
    pub unsafe fn cast_unchecked<U>(self) -> Object<'py, U> {
        Object {
            ptr: ManuallyDrop::new(self).ptr,
            _marker: PhantomData,
        }
    }

    /// The current reference count (for tests and diagnostics; immortal objects on 3.12+
    /// report a large constant).
    pub fn refcount(&self) -> isize {
        // SAFETY: live object, GIL held.
        unsafe { ffi::Py_REFCNT(self.as_ptr()) }
    }

    /// Whether both handles refer to the same object (`is`).
    pub fn is<U>(&self, other: &Object<'py, U>) -> bool {
        self.as_ptr() == other.as_ptr()
    }
}

impl<T> Drop for Object<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: we own the reference and the GIL is held for 'py.
        unsafe { ffi::Py_DECREF(self.ptr.as_ptr()) }
    }
}

impl<T> Clone for Object<'_, T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        // SAFETY: live object, GIL held.
        unsafe { ffi::Py_INCREF(self.as_ptr()) };
        Object {
            ptr: self.ptr,
            _marker: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Object<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_any().repr() {
            Ok(r) => f.write_str(&r.to_string_lossy()),
            Err(_) => write!(f, "<object at {:p}>", self.as_ptr()),
        }
    }
}

impl<T> fmt::Display for Object<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_any().str() {
            Ok(s) => f.write_str(&s.to_string_lossy()),
            Err(_) => write!(f, "<object at {:p}>", self.as_ptr()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Borrowed

impl<'a, 'py, T> Borrowed<'a, 'py, T> {
    /// Borrows a pointer.
    ///
    /// # Safety
    /// `ptr` points to an object of type `T` kept alive for `'a`; the GIL is held for `'py`.
    #[inline(always)]
    pub unsafe fn from_ptr(_py: Python<'py>, ptr: NonNull<ffi::PyObject>) -> Self {
        Borrowed {
            ptr,
            _marker: PhantomData,
        }
    }

    /// Borrows a pointer returned by a C call that returns a borrowed reference: `NULL`
    /// becomes the Python exception that is set.
    ///
    /// # Safety
    /// As [`Borrowed::from_ptr`] for a non-null pointer.
    #[inline(always)]
    pub unsafe fn from_ptr_or_err(py: Python<'py>, ptr: *mut ffi::PyObject) -> Result<Self> {
        match NonNull::new(ptr) {
            // SAFETY: forwarded to the caller.
            Some(p) => Ok(unsafe { Self::from_ptr(py, p) }),
            None => Err(Error::fetch(py)),
        }
    }

    /// A new owned reference to the object.
    #[inline(always)]
    pub fn to_owned(self) -> Object<'py, T> {
        // SAFETY: live for 'a, GIL held.
        unsafe { Object::from_borrowed_ptr(Python::assume_gil_acquired(), self.ptr) }
    }

    /// Reinterprets as type `U` without a check.
    ///
    /// # Safety
    /// The object is an instance of `U`.
    #[inline(always)]
    pub unsafe fn cast_unchecked<U>(self) -> Borrowed<'a, 'py, U> {
        Borrowed {
            ptr: self.ptr,
            _marker: PhantomData,
        }
    }

    /// Views the object as type `U` if it is one (an instance of `U` or a subclass).
    ///
    /// # Errors
    /// A Python `TypeError` naming the expected and the actual type.
    #[inline]
    pub fn into_downcast<U: PyTypeInfo>(self) -> Result<Borrowed<'a, 'py, U>> {
        if U::is_type_of(self.as_any()) {
            // SAFETY: the type was checked.
            Ok(unsafe { self.cast_unchecked() })
        } else {
            Err(Error::downcast(self.as_any(), U::NAME))
        }
    }

    /// Views owned handles as borrowed ones, for as long as the handles are borrowed.
    #[inline(always)]
    pub(crate) fn slice_of(objs: &'a [Object<'py, T>]) -> &'a [Borrowed<'a, 'py, T>] {
        // Object and Borrowed are both transparent non-null pointers; the handles keep
        // the objects alive for 'a.
        // SAFETY: for the reasons above.
        unsafe { std::slice::from_raw_parts(objs.as_ptr().cast(), objs.len()) }
    }

    /// An untyped borrowed view.
    #[inline(always)]
    pub fn to_any(self) -> Borrowed<'a, 'py, Any> {
        // SAFETY: Any accepts every object.
        unsafe { self.cast_unchecked() }
    }
}

impl<T> Clone for Borrowed<'_, '_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Borrowed<'_, '_, T> {}

impl<'py, T> Deref for Borrowed<'_, 'py, T> {
    type Target = Object<'py, T>;

    #[inline(always)]
    fn deref(&self) -> &Object<'py, T> {
        // Object is a transparent NonNull, like the field; the reference does not own
        // the object (no Drop runs through a reference) and lives no longer than self.
        // SAFETY: for the reasons above.
        unsafe { &*(&self.ptr as *const NonNull<ffi::PyObject>).cast::<Object<'py, T>>() }
    }
}

impl<T> fmt::Debug for Borrowed<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// ---------------------------------------------------------------------------------------------
// Unbound

impl<T> Unbound<T> {
    /// Uses the object with the GIL held.
    ///
    /// # Panics
    /// When the object belongs to another interpreter than the one `py` is for (see
    /// [`Unbound::try_bind`]).
    #[inline(always)]
    pub fn bind<'a, 'py>(&'a self, py: Python<'py>) -> Borrowed<'a, 'py, T> {
        if let Err(e) = self.check_interp(py) {
            panic!("{e}");
        }
        Borrowed {
            ptr: self.ptr,
            _marker: PhantomData,
        }
    }

    /// Uses the object with the GIL held, if it belongs to the interpreter `py` is for.
    ///
    /// # Errors
    /// [`Error::WrongInterpreter`] when it was made in another interpreter (a
    /// [subinterpreter](crate::subinterpreter) or the main one): objects never cross
    /// interpreters; send Rust values instead.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// let list = pyhost::with_gil(|py| Ok(pyhost::types::List::new(py).unbind()))?;
    /// pyhost::with_gil(|py| Ok(assert_eq!(list.try_bind(py)?.len(), 0)))?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    #[inline(always)]
    pub fn try_bind<'a, 'py>(&'a self, py: Python<'py>) -> Result<Borrowed<'a, 'py, T>> {
        self.check_interp(py)?;
        Ok(Borrowed {
            ptr: self.ptr,
            _marker: PhantomData,
        })
    }

    #[inline(always)]
    fn check_interp(&self, py: Python<'_>) -> Result<()> {
        if self.interp.is_main() && !crate::raw::interp::subs_exist() {
            return Ok(());
        }
        let here = crate::raw::interp::current(py);
        if here == self.interp {
            return Ok(());
        }
        Err(Error::WrongInterpreter {
            message: format!(
                "an object of interpreter {} used in interpreter {}: objects never cross \
                 interpreters; send Rust values (IntoPython/FromPython, serde) instead",
                self.interp.0, here.0
            ),
        })
    }

    /// Converts back into a GIL-bound owned handle.
    ///
    /// # Panics
    /// As [`Unbound::bind`].
    #[inline(always)]
    pub fn into_bound<'py>(self, py: Python<'py>) -> Object<'py, T> {
        if let Err(e) = self.check_interp(py) {
            panic!("{e}");
        }
        let ptr = ManuallyDrop::new(self).ptr;
        // SAFETY: the reference moves from self; GIL held (token).
        unsafe { Object::from_owned_ptr(py, ptr) }
    }

    /// Another owned reference to the same object.
    pub fn clone_ref(&self, py: Python<'_>) -> Unbound<T> {
        self.bind(py).to_owned().unbind()
    }

    /// The raw pointer, still owned by this handle.
    pub fn as_ptr(&self) -> *mut ffi::PyObject {
        self.ptr.as_ptr()
    }

    /// An untyped handle.
    pub fn into_any(self) -> Unbound<Any> {
        let this = ManuallyDrop::new(self);
        Unbound {
            ptr: this.ptr,
            interp: this.interp,
            _marker: PhantomData,
        }
    }
}

impl<T> Drop for Unbound<T> {
    fn drop(&mut self) {
        crate::raw::release_owned(self.ptr, self.interp);
    }
}

impl<T> fmt::Debug for Unbound<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unbound({:p})", self.ptr.as_ptr())
    }
}
