//! Rust structs as Python classes (`#[pyhost::class]`).
//!
//! # Layout and borrowing
//!
//! Each class is a heap type made with `PyType_FromSpec`. An instance is the Python object
//! header followed by a borrow flag and the Rust value:
//!
//! ```text
//! [ PyObject header | borrow flag: Cell<isize> | value: T ]
//! ```
//!
//! The instance owns the value: it is moved in when the instance is created (by the
//! constructor marked `#[new]`, [`Object::new`], or returning a `T` to Python) and dropped when
//! Python frees the instance (in `tp_dealloc`, with the GIL held, inside the trampoline).
//!
//! Methods take `&self` or `&mut self`. The borrow flag works like a `RefCell`'s: any number of
//! shared borrows, or one exclusive borrow. It is only read and written with the GIL held, so
//! it needs no atomics; a conflicting borrow (a `&mut self` method re-entered through Python
//! while a `&self` method runs, for example) raises `RuntimeError` instead of aliasing. A
//! `&self` method marked `release_gil` keeps its shared borrow while the GIL is released, so
//! its type must be `Sync` (the compiler checks it).
//!
//! Classes are not subclassable from Python and are not tracked by the cyclic garbage
//! collector: a value holding references to Python objects that refer back to the instance
//! forms a cycle that is never collected.

use std::cell::{Cell, UnsafeCell};
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::os::raw::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::OnceLock;

use super::extract::{Arg, FastcallArgs, tuple_items};
use super::function::{FunctionDef, IntoPyErr};
use crate::callback::trampoline;
use crate::types::{Any, Dict, Tuple, Type};
use crate::{Borrowed, Error, FromPython, Object, Python, Result, Unbound, ffi};

/// A Rust type exposed to Python as a class. Implemented by `#[pyhost::class]` on a struct;
/// the methods come from `#[pyhost::class]` on an `impl` block of the same type.
///
/// Instances are [`Object<'py, T>`](crate::Object) handles: create one with
/// [`Object::new`], borrow the Rust value with [`Object::borrow`] / [`Object::borrow_mut`],
/// and check or convert an untyped object with [`Object::downcast`]. Functions may take
/// [`ClassRef<'_, T>`] or [`ClassRefMut<'_, T>`] arguments, and return `T` (a new instance).
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// use pyhost::{Class, Object};
///
/// /// A counter.
/// #[pyhost::class]
/// struct Counter {
///     n: i64,
/// }
///
/// #[pyhost::class]
/// impl Counter {
///     #[new]
///     fn new(start: i64) -> Self {
///         Counter { n: start }
///     }
///
///     /// Adds `by` and returns the new value.
///     fn incr(&mut self, by: i64) -> i64 {
///         self.n += by;
///         self.n
///     }
///
///     #[getter]
///     fn value(&self) -> i64 {
///         self.n
///     }
///
///     fn __repr__(&self) -> String {
///         format!("Counter({})", self.n)
///     }
/// }
///
/// pyhost::with_gil(|py| {
///     let c = Object::new(py, Counter { n: 1 })?;
///     c.call_method1("incr", (2,))?;
///     assert_eq!(c.borrow().n, 3);
///     assert_eq!(c.repr()?.to_str()?, "Counter(3)");
///
///     let cls = Counter::type_object(py)?;
///     let d = cls.call1((10,))?;
///     assert_eq!(d.getattr("value")?.extract::<i64>()?, 10);
///     assert_eq!(d.downcast::<Counter>()?.borrow().n, 10);
///     Ok(())
/// })?;
/// # Ok::<(), pyhost::Error>(())
/// ```
pub trait Class: Sized + Send + 'static {
    /// The class name (`__name__`).
    const NAME: &'static str;
    /// The module named in `__module__`, when the class declares one (otherwise the module it
    /// is added to).
    const MODULE: Option<&'static str>;
    /// The class docstring.
    #[doc(hidden)]
    const DOC: &'static str;

    /// The type object, created on first use.
    ///
    /// # Errors
    /// What creating the type raises (`MemoryError`, or a name with a NUL byte).
    fn type_object(py: Python<'_>) -> Result<Object<'_, Type>> {
        Self::lazy_type().get_or_create(py)
    }

    #[doc(hidden)]
    fn lazy_type() -> &'static LazyType<Self>;

    #[doc(hidden)]
    fn items() -> ClassItems;
}

/// The type object of a class, created on first use and kept for the life of the process.
pub struct LazyType<T> {
    cell: OnceLock<Unbound<Type>>,
    _class: PhantomData<fn() -> T>,
}

impl<T> Default for LazyType<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> LazyType<T> {
    /// Not created yet.
    pub const fn new() -> Self {
        LazyType {
            cell: OnceLock::new(),
            _class: PhantomData,
        }
    }

    /// The type object pointer, if created.
    fn get_ptr(&self) -> Option<*mut ffi::PyTypeObject> {
        self.cell.get().map(|t| t.as_ptr().cast())
    }
}

impl<T: Class> LazyType<T> {
    /// The type object, created now if needed.
    ///
    /// Creation runs Python code (allocation may trigger the garbage collector, which may
    /// switch threads), so it is not done under a lock: two threads may both create a type,
    /// and the first one stored wins. No instance of the losing type is ever made.
    fn get_or_create<'py>(&'static self, py: Python<'py>) -> Result<Object<'py, Type>> {
        self.get_or_create_in(py, None)
    }

    /// As [`LazyType::get_or_create`]; a type created now is named after `module` (the one it
    /// is being added to) unless the class declares its own.
    pub(crate) fn get_or_create_in<'py>(
        &'static self,
        py: Python<'py>,
        module: Option<&str>,
    ) -> Result<Object<'py, Type>> {
        if let Some(t) = self.cell.get() {
            return Ok(t.bind(py).to_owned());
        }
        let created = create_type::<T>(py, module)?;
        let _ = self.cell.set(created.unbind());
        Ok(self.cell.get().expect("set above").bind(py).to_owned())
    }

    /// The type object pointer, created now if needed.
    fn ptr(&'static self, py: Python<'_>) -> Result<*mut ffi::PyTypeObject> {
        match self.get_ptr() {
            Some(p) => Ok(p),
            None => self.get_or_create(py).map(|t| t.as_ptr().cast()),
        }
    }
}

/// What the `impl` block of a class contributes.
pub struct ClassItems {
    /// Methods and static methods.
    pub methods: &'static [FunctionDef],
    /// Properties.
    pub getset: &'static [GetSetDef],
    /// The constructor, and its text signature (`(start=0)`).
    pub new: Option<(SlotDef, &'static str)>,
    /// `__repr__`.
    pub repr: Option<SlotDef>,
    /// `__str__`.
    pub str: Option<SlotDef>,
}

impl ClassItems {
    /// A class without methods.
    pub const EMPTY: ClassItems = ClassItems {
        methods: &[],
        getset: &[],
        new: None,
        repr: None,
        str: None,
    };
}

/// Finds the [`ClassItems`] of `T`: the `impl` block's when there is one (an impl of
/// [`ClassMethods`] for `Collector<T>`, found first by method resolution), else none (the
/// blanket impl for `&Collector<T>`).
pub struct Collector<T>(PhantomData<T>);

impl<T> Collector<T> {
    /// A collector.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Collector(PhantomData)
    }
}

/// See [`Collector`].
pub trait ClassMethods<T> {
    /// The items.
    fn items(self) -> ClassItems;
}

impl<T> ClassMethods<T> for &Collector<T> {
    fn items(self) -> ClassItems {
        ClassItems::EMPTY
    }
}

/// A type slot function (constructor, `__repr__`, `__str__`).
#[derive(Clone, Copy)]
pub struct SlotDef(*mut c_void);

// SAFETY: a pointer to a function, callable from any thread holding the GIL.
unsafe impl Sync for SlotDef {}
// SAFETY: as above.
unsafe impl Send for SlotDef {}

impl SlotDef {
    /// The constructor `C`.
    pub const fn constructor<C: PyConstructor>() -> SlotDef {
        let f: unsafe extern "C" fn(
            *mut ffi::PyTypeObject,
            *mut ffi::PyObject,
            *mut ffi::PyObject,
        ) -> *mut ffi::PyObject = new_entry::<C>;
        SlotDef(f as *mut c_void)
    }

    /// A function of the instance alone (`__repr__`, `__str__`).
    pub const fn unary<U: PyUnary>() -> SlotDef {
        let f: unsafe extern "C" fn(*mut ffi::PyObject) -> *mut ffi::PyObject = unary_entry::<U>;
        SlotDef(f as *mut c_void)
    }
}

/// A property: getter, setter or both.
pub struct GetSetDef {
    name: &'static CStr,
    doc: &'static CStr,
    get: ffi::getter,
    set: ffi::setter,
}

// SAFETY: immutable; 'static strings and functions callable from any thread holding the GIL.
unsafe impl Sync for GetSetDef {}
// SAFETY: as above.
unsafe impl Send for GetSetDef {}

impl GetSetDef {
    /// A property named `name`, without getter or setter yet.
    pub const fn new(name: &'static CStr, doc: &'static CStr) -> Self {
        GetSetDef {
            name,
            doc,
            get: None,
            set: None,
        }
    }

    /// With the getter `G`.
    pub const fn getter<G: PyUnary>(self) -> Self {
        GetSetDef {
            get: Some(getter_entry::<G>),
            ..self
        }
    }

    /// With the setter `S`.
    pub const fn setter<S: PySetter>(self) -> Self {
        GetSetDef {
            set: Some(setter_entry::<S>),
            ..self
        }
    }

    fn raw(&self) -> ffi::PyGetSetDef {
        ffi::PyGetSetDef {
            name: self.name.as_ptr() as _,
            get: self.get,
            set: self.set,
            doc: if self.doc.is_empty() {
                std::ptr::null()
            } else {
                self.doc.as_ptr() as _
            },
            closure: std::ptr::null_mut(),
        }
    }
}

/// A function of the instance alone: a getter, `__repr__` or `__str__`.
pub trait PyUnary: 'static {
    /// Runs it.
    ///
    /// # Errors
    /// What the function reports, or a conversion failure.
    fn call<'py>(py: Python<'py>, slf: Borrowed<'_, 'py, Any>) -> Result<Object<'py, Any>>;
}

/// A property setter.
pub trait PySetter: 'static {
    /// `Class.attribute`, for messages.
    const NAME: &'static str;

    /// Sets `value`.
    ///
    /// # Errors
    /// What the setter reports, or a conversion failure.
    fn set<'py>(
        py: Python<'py>,
        slf: Borrowed<'_, 'py, Any>,
        value: Borrowed<'_, 'py, Any>,
    ) -> Result<()>;
}

/// A constructor (`#[new]`).
pub trait PyConstructor: 'static {
    /// The class it constructs.
    type Class: Class;

    /// Binds and converts the arguments and calls the constructor.
    ///
    /// # Errors
    /// What binding, conversion or the constructor report.
    fn construct<'a, 'py>(py: Python<'py>, args: FastcallArgs<'a, 'py>) -> Result<Self::Class>;
}

/// What a constructor may return: the value, or a `Result` of it.
#[diagnostic::on_unimplemented(
    message = "a `#[new]` constructor must return `Self` or `Result<Self, E>`",
    label = "returns `{Self}`"
)]
pub trait IntoNew<T> {
    /// The value.
    ///
    /// # Errors
    /// The constructor's error.
    fn into_new(self) -> Result<T>;
}

impl<T: Class> IntoNew<T> for T {
    #[inline(always)]
    fn into_new(self) -> Result<T> {
        Ok(self)
    }
}

impl<T: Class, E: IntoPyErr> IntoNew<T> for std::result::Result<T, E> {
    #[inline(always)]
    fn into_new(self) -> Result<T> {
        self.map_err(|e| Error::Python(e.into_py_err()))
    }
}

/// Converts what a constructor returned.
///
/// # Errors
/// The constructor's error.
#[inline(always)]
pub fn into_new<T: Class, R: IntoNew<T>>(r: R) -> Result<T> {
    r.into_new()
}

/// What a setter may return: nothing, or a `Result`.
#[diagnostic::on_unimplemented(
    message = "a `#[setter]` must return `()` or `Result<(), E>`",
    label = "returns `{Self}`"
)]
pub trait IntoSetterResult {
    /// The outcome.
    ///
    /// # Errors
    /// The setter's error.
    fn into_setter_result(self) -> Result<()>;
}

impl IntoSetterResult for () {
    #[inline(always)]
    fn into_setter_result(self) -> Result<()> {
        Ok(())
    }
}

impl<E: IntoPyErr> IntoSetterResult for std::result::Result<(), E> {
    #[inline(always)]
    fn into_setter_result(self) -> Result<()> {
        self.map_err(|e| Error::Python(e.into_py_err()))
    }
}

/// Converts what a setter returned.
///
/// # Errors
/// The setter's error.
#[inline(always)]
pub fn setter_result<R: IntoSetterResult>(r: R) -> Result<()> {
    r.into_setter_result()
}

/// Converts the value assigned to a property.
///
/// # Errors
/// The conversion error, prefixed with `Class.attribute: `.
#[inline]
pub fn setter_value<'a, 'py, T: FromPython<'a, 'py>>(
    value: Borrowed<'a, 'py, Any>,
    name: &str,
) -> Result<T> {
    T::from_python(value)
        .map_err(|e| super::extract::prefix_error(value.py(), e, &format!("{name}: ")))
}

// ---------------------------------------------------------------------------------------------
// Instances

/// The memory of an instance.
#[repr(C)]
struct ClassObject<T> {
    ob_base: ffi::PyObject,
    borrow: Cell<isize>,
    value: UnsafeCell<ManuallyDrop<T>>,
}

/// The borrow flag of an instance.
///
/// # Safety
/// `obj` is a live instance of `T`'s type.
unsafe fn flag<'a, T>(obj: NonNull<ClassObject<T>>) -> &'a Cell<isize> {
    // SAFETY: a live instance (caller); the flag is a Cell, shared access is fine.
    unsafe { &(*obj.as_ptr()).borrow }
}

/// Whether `obj` is an instance of `T`'s type (or a subclass).
pub fn is_instance<T: Class>(obj: &Object<'_, Any>) -> bool {
    match T::lazy_type().get_ptr() {
        // SAFETY: live object and type, GIL held (the handle proves it).
        Some(ty) => unsafe { ffi::PyObject_TypeCheck(obj.as_ptr(), ty) },
        None => false,
    }
}

/// A shared borrow of the Rust value inside an instance of `T` (like `std::cell::Ref`).
pub struct ClassRef<'a, T: Class> {
    obj: NonNull<ClassObject<T>>,
    _marker: PhantomData<(&'a T, *mut ())>,
}

/// An exclusive borrow of the Rust value inside an instance of `T` (like
/// `std::cell::RefMut`).
pub struct ClassRefMut<'a, T: Class> {
    obj: NonNull<ClassObject<T>>,
    _marker: PhantomData<(&'a mut T, *mut ())>,
}

impl<'a, T: Class> ClassRef<'a, T> {
    /// Borrows from an instance.
    ///
    /// # Errors
    /// A `TypeError` if `obj` is not a `T`, a `RuntimeError` if it is mutably borrowed.
    pub fn try_from_object(obj: Borrowed<'a, '_, Any>) -> Result<Self> {
        let p = instance_ptr::<T>(obj)?;
        // SAFETY: `p` is a live instance for 'a; GIL held (the handle proves it).
        let flag = unsafe { flag(p) };
        let b = flag.get();
        if b < 0 {
            return Err(borrow_error::<T>(false));
        }
        flag.set(b + 1);
        Ok(ClassRef {
            obj: p,
            _marker: PhantomData,
        })
    }
}

impl<'a, T: Class> ClassRefMut<'a, T> {
    /// Borrows mutably from an instance.
    ///
    /// # Errors
    /// A `TypeError` if `obj` is not a `T`, a `RuntimeError` if it is borrowed.
    pub fn try_from_object(obj: Borrowed<'a, '_, Any>) -> Result<Self> {
        let p = instance_ptr::<T>(obj)?;
        // SAFETY: `p` is a live instance for 'a; GIL held (the handle proves it).
        let flag = unsafe { flag(p) };
        if flag.get() != 0 {
            return Err(borrow_error::<T>(true));
        }
        flag.set(-1);
        Ok(ClassRefMut {
            obj: p,
            _marker: PhantomData,
        })
    }
}

fn instance_ptr<T: Class>(obj: Borrowed<'_, '_, Any>) -> Result<NonNull<ClassObject<T>>> {
    if is_instance::<T>(&obj) {
        // SAFETY: an instance of T's type has T's layout; the pointer is non-null.
        Ok(unsafe { NonNull::new_unchecked(obj.as_ptr().cast()) })
    } else {
        Err(Error::type_error(format!(
            "expected {}, got {}",
            T::NAME,
            crate::err::capture::type_name_of(&obj)
        )))
    }
}

#[cold]
fn borrow_error<T: Class>(mutable: bool) -> Error {
    Error::runtime_error(if mutable {
        format!(
            "cannot borrow a {} object mutably: it is already borrowed",
            T::NAME
        )
    } else {
        format!(
            "cannot borrow a {} object: it is already mutably borrowed",
            T::NAME
        )
    })
}

impl<T: Class> Deref for ClassRef<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a live instance holding an initialized value; the shared borrow recorded in
        // the flag excludes exclusive borrows while this exists.
        unsafe { &*(*self.obj.as_ptr()).value.get() }
    }
}

impl<T: Class> Drop for ClassRef<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the instance is alive for 'a; GIL held (the guard is neither Send nor Sync
        // and was made with it).
        let flag = unsafe { flag(self.obj) };
        flag.set(flag.get() - 1);
    }
}

impl<T: Class> Deref for ClassRefMut<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: as for ClassRef; this is the only borrow.
        unsafe { &*(*self.obj.as_ptr()).value.get() }
    }
}

impl<T: Class> DerefMut for ClassRefMut<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the exclusive borrow recorded in the flag makes this the only reference.
        unsafe { &mut *(*self.obj.as_ptr()).value.get() }
    }
}

impl<T: Class> Drop for ClassRefMut<'_, T> {
    fn drop(&mut self) {
        // SAFETY: as for ClassRef.
        unsafe { flag(self.obj) }.set(0);
    }
}

impl<'a, 'py, T: Class> FromPython<'a, 'py> for ClassRef<'a, T> {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        ClassRef::try_from_object(obj)
    }

    fn expected() -> &'static str {
        T::NAME
    }
}

impl<'a, 'py, T: Class> FromPython<'a, 'py> for ClassRefMut<'a, T> {
    fn from_python(obj: Borrowed<'a, 'py, Any>) -> Result<Self> {
        ClassRefMut::try_from_object(obj)
    }

    fn expected() -> &'static str {
        T::NAME
    }
}

/// Borrows the instance a method was called on.
///
/// # Errors
/// As [`ClassRef::try_from_object`].
#[inline]
pub fn self_ref<'a, T: Class>(slf: Option<Borrowed<'a, '_, Any>>) -> Result<ClassRef<'a, T>> {
    match slf {
        Some(s) => ClassRef::try_from_object(s),
        None => Err(Error::type_error(format!(
            "a {} method was called without an instance",
            T::NAME
        ))),
    }
}

/// Borrows mutably the instance a method was called on.
///
/// # Errors
/// As [`ClassRefMut::try_from_object`].
#[inline]
pub fn self_mut<'a, T: Class>(slf: Option<Borrowed<'a, '_, Any>>) -> Result<ClassRefMut<'a, T>> {
    match slf {
        Some(s) => ClassRefMut::try_from_object(s),
        None => Err(Error::type_error(format!(
            "a {} method was called without an instance",
            T::NAME
        ))),
    }
}

impl<'py, T: Class> Object<'py, T> {
    /// A new Python instance owning `value`.
    ///
    /// # Errors
    /// What creating the type object or allocating raises.
    pub fn new(py: Python<'py>, value: T) -> Result<Object<'py, T>> {
        let ty = T::lazy_type().ptr(py)?;
        create_instance(py, ty, value)
    }

    /// Borrows the Rust value.
    ///
    /// # Panics
    /// If it is mutably borrowed (a `&mut self` method of it is running).
    pub fn borrow(&self) -> ClassRef<'_, T> {
        self.try_borrow().expect("borrowing a class instance")
    }

    /// Borrows the Rust value mutably.
    ///
    /// # Panics
    /// If it is borrowed.
    pub fn borrow_mut(&self) -> ClassRefMut<'_, T> {
        self.try_borrow_mut()
            .expect("borrowing a class instance mutably")
    }

    /// Borrows the Rust value.
    ///
    /// # Errors
    /// A `RuntimeError` if it is mutably borrowed.
    pub fn try_borrow(&self) -> Result<ClassRef<'_, T>> {
        ClassRef::try_from_object(self.as_borrowed().to_any())
    }

    /// Borrows the Rust value mutably.
    ///
    /// # Errors
    /// A `RuntimeError` if it is borrowed.
    pub fn try_borrow_mut(&self) -> Result<ClassRefMut<'_, T>> {
        ClassRefMut::try_from_object(self.as_borrowed().to_any())
    }
}

/// A new instance of `subtype` (the class of `T` or a subclass) owning `value`.
fn create_instance<'py, T: Class>(
    py: Python<'py>,
    subtype: *mut ffi::PyTypeObject,
    value: T,
) -> Result<Object<'py, T>> {
    // SAFETY: GIL held (token); `subtype` is a live type whose instances have T's layout
    // (callers). tp_alloc returns a zeroed object with its header set, or NULL with an
    // exception; the flag and the value are written before anything can read them.
    unsafe {
        let slot = ffi::PyType_GetSlot(subtype, ffi::Py_tp_alloc as c_int);
        let obj = if slot.is_null() {
            ffi::PyType_GenericAlloc(subtype, 0)
        } else {
            let alloc: unsafe extern "C" fn(
                *mut ffi::PyTypeObject,
                ffi::Py_ssize_t,
            ) -> *mut ffi::PyObject = std::mem::transmute(slot);
            alloc(subtype, 0)
        };
        let obj = Object::<T>::from_owned_ptr_or_err(py, obj)?;
        let p = obj.as_ptr().cast::<ClassObject<T>>();
        (&raw mut (*p).borrow).write(Cell::new(0));
        (&raw mut (*p).value).write(UnsafeCell::new(ManuallyDrop::new(value)));
        Ok(obj)
    }
}

// ---------------------------------------------------------------------------------------------
// The type object

/// Creates the heap type of `T`, named `module.Name`: the module the class declares, else
/// `module` (the one it is being added to), else `builtins`. CPython 3.12+ warns
/// (`DeprecationWarning`) about a type whose name has no module.
fn create_type<'py, T: Class>(py: Python<'py>, module: Option<&str>) -> Result<Object<'py, Type>> {
    const {
        assert!(
            std::mem::align_of::<ClassObject<T>>() <= 16,
            "a #[pyhost::class] type cannot need an alignment above 16 bytes"
        );
    }
    let items = T::items();
    let leak = |s: String| -> Result<&'static CStr> {
        let c =
            CString::new(s).map_err(|_| Error::value_error("class name or doc has a NUL byte"))?;
        Ok(Box::leak(c.into_boxed_c_str()))
    };
    let module = T::MODULE.or(module).unwrap_or("builtins");
    let name = leak(format!("{module}.{}", T::NAME))?;
    let doc = match items.new {
        Some((_, sig)) => format!("{}{sig}\n--\n\n{}", T::NAME, T::DOC),
        None => T::DOC.to_owned(),
    };
    let doc = if doc.is_empty() {
        None
    } else {
        Some(leak(doc)?)
    };

    let mut slots: Vec<ffi::PyType_Slot> = Vec::new();
    let mut slot = |id: u32, p: *mut c_void| {
        slots.push(ffi::PyType_Slot {
            slot: id as c_int,
            pfunc: p,
        })
    };
    let dealloc: unsafe extern "C" fn(*mut ffi::PyObject) = dealloc::<T>;
    slot(ffi::Py_tp_dealloc, dealloc as *mut c_void);
    let no_new: unsafe extern "C" fn(
        *mut ffi::PyTypeObject,
        *mut ffi::PyObject,
        *mut ffi::PyObject,
    ) -> *mut ffi::PyObject = no_constructor::<T>;
    slot(
        ffi::Py_tp_new,
        items.new.map_or(no_new as *mut c_void, |(s, _)| s.0),
    );
    if let Some(d) = doc {
        slot(ffi::Py_tp_doc, d.as_ptr().cast_mut().cast());
    }
    if !items.methods.is_empty() {
        let mut defs: Vec<ffi::PyMethodDef> = items.methods.iter().map(FunctionDef::raw).collect();
        // SAFETY: the all-zero PyMethodDef is the sentinel ending the table.
        defs.push(unsafe { std::mem::zeroed() });
        slot(
            ffi::Py_tp_methods,
            Box::leak(defs.into_boxed_slice()).as_mut_ptr().cast(),
        );
    }
    if !items.getset.is_empty() {
        let mut defs: Vec<ffi::PyGetSetDef> = items.getset.iter().map(GetSetDef::raw).collect();
        // SAFETY: the all-zero PyGetSetDef is the sentinel ending the table.
        defs.push(unsafe { std::mem::zeroed() });
        slot(
            ffi::Py_tp_getset,
            Box::leak(defs.into_boxed_slice()).as_mut_ptr().cast(),
        );
    }
    if let Some(r) = items.repr {
        slot(ffi::Py_tp_repr, r.0);
    }
    if let Some(s) = items.str {
        slot(ffi::Py_tp_str, s.0);
    }
    slot(0, std::ptr::null_mut());

    let mut spec = ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize: std::mem::size_of::<ClassObject<T>>() as c_int,
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: GIL held (token). The spec and its slots are complete; the name and the method
    // and property tables, which the type keeps pointing to, are leaked ('static); the doc is
    // copied by CPython. The result is checked.
    let ty = unsafe { Object::<Type>::from_owned_ptr_or_err(py, ffi::PyType_FromSpec(&mut spec)) }?;
    #[cfg(not(py_3_10))]
    if let Some(d) = doc {
        // SAFETY: a type we just created, not yet shared.
        unsafe { keep_signature_in_doc(ty.as_ptr().cast(), d) };
    }
    Ok(ty)
}

/// Before 3.10, `PyType_FromSpec` stores the docstring without its text signature, which
/// `__text_signature__` (and so `inspect.signature`) reads from `tp_doc`: put the full text
/// back. `tp_doc` of a heap type is freed with `PyObject_Free`.
///
/// # Safety
/// `ty` is a heap type just created by `PyType_FromSpec`; GIL held.
#[cfg(not(py_3_10))]
unsafe fn keep_signature_in_doc(ty: *mut ffi::PyTypeObject, doc: &CStr) {
    let bytes = doc.to_bytes_with_nul();
    // SAFETY: GIL held (caller); the copy is checked and complete before it is published;
    // the old text was allocated by CPython with PyObject_Malloc.
    unsafe {
        let p = ffi::PyObject_Malloc(bytes.len()).cast::<u8>();
        if p.is_null() {
            return;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        let old = (*ty).tp_doc;
        (*ty).tp_doc = p.cast();
        ffi::PyObject_Free(old as *mut c_void);
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/// `tp_dealloc`: drops the Rust value (inside the trampoline, so a panic is reported as an
/// unraisable exception rather than unwinding into C), then frees the memory. An exception
/// that was set when the instance died is kept.
unsafe extern "C" fn dealloc<T: Class>(obj: *mut ffi::PyObject) {
    // SAFETY: called by CPython with the GIL held, once, for an instance of T's type whose
    // value was initialized (instances are only made by create_instance). The value is
    // dropped exactly once; the memory is then released with the type's tp_free, and the
    // reference each heap-type instance holds on its type is released.
    unsafe {
        let ty = ffi::Py_TYPE(obj);
        let value = (*obj.cast::<ClassObject<T>>()).value.get();
        run_in_dealloc(ty.cast(), || ManuallyDrop::drop(&mut *value));
        let free = ffi::PyType_GetSlot(ty, ffi::Py_tp_free as c_int);
        if free.is_null() {
            ffi::PyObject_Free(obj.cast());
        } else {
            let free: unsafe extern "C" fn(*mut c_void) = std::mem::transmute(free);
            free(obj.cast());
        }
        ffi::Py_DECREF(ty.cast());
    }
}

/// Runs Rust code while CPython deallocates an object (dropping a class value or a module's
/// state): through the trampoline, so a panic is caught and reported with
/// `PyErr_WriteUnraisable` (naming `report`) instead of unwinding into C; an exception that
/// was set when the object died is kept.
///
/// # Safety
/// The GIL is held; `report` is a live object.
pub(crate) unsafe fn run_in_dealloc(report: *mut ffi::PyObject, f: impl FnOnce()) {
    // SAFETY: GIL held (caller). The taken exception (an owned reference, or NULL) is put
    // back unchanged after `f`; an error raised by `f` is consumed by WriteUnraisable first.
    // 3.12+ has the single-object API (PyErr_Fetch/Restore are deprecated there).
    unsafe {
        #[cfg(py_3_12)]
        let saved = ffi::PyErr_GetRaisedException();
        #[cfg(not(py_3_12))]
        let mut saved = [std::ptr::null_mut(); 3];
        #[cfg(not(py_3_12))]
        ffi::PyErr_Fetch(&mut saved[0], &mut saved[1], &mut saved[2]);
        let rc: c_int = trampoline(|_py| {
            f();
            Ok(0)
        });
        if rc != 0 {
            ffi::PyErr_WriteUnraisable(report);
        }
        #[cfg(py_3_12)]
        ffi::PyErr_SetRaisedException(saved);
        #[cfg(not(py_3_12))]
        ffi::PyErr_Restore(saved[0], saved[1], saved[2]);
    }
}

/// `tp_new` of a class without `#[new]`.
unsafe extern "C" fn no_constructor<T: Class>(
    _subtype: *mut ffi::PyTypeObject,
    _args: *mut ffi::PyObject,
    _kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with the GIL held.
    unsafe {
        trampoline(|_py| -> Result<*mut ffi::PyObject> {
            Err(Error::type_error(format!(
                "cannot create '{}' instances: the class has no #[new] constructor",
                T::NAME
            )))
        })
    }
}

/// `tp_new` running constructor `C`.
unsafe extern "C" fn new_entry<C: PyConstructor>(
    subtype: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with the GIL held; `args` is a tuple and `kwargs` a dict or
    // NULL, borrowed for the call. The keyword names and values are collected as owned
    // references first (a dict passed by a C caller could change while arguments convert).
    unsafe {
        trampoline(|py| {
            let ty = <C::Class as Class>::lazy_type().ptr(py)?;
            if ffi::PyType_IsSubtype(subtype, ty) == 0 {
                return Err(Error::type_error(format!(
                    "{}.__new__(X): X is not a subtype of {0}",
                    <C::Class as Class>::NAME
                )));
            }
            let positional = tuple_items(Borrowed::<Tuple>::from_ptr(
                py,
                NonNull::new(args).ok_or_else(|| Error::fetch(py))?,
            ));
            let (names, values): (Vec<Object<'_, Any>>, Vec<Object<'_, Any>>) =
                match NonNull::new(kwargs) {
                    Some(k) => Borrowed::<Dict>::from_ptr(py, k).iter().unzip(),
                    None => (Vec::new(), Vec::new()),
                };
            let value = C::construct(
                py,
                FastcallArgs::from_parts(positional, as_args(&names), as_args(&values)),
            )?;
            create_instance(py, subtype, value).map(Object::into_ptr)
        })
    }
}

/// Views owned handles as borrowed arguments.
fn as_args<'a, 'py>(objs: &'a [Object<'py, Any>]) -> &'a [Arg<'a, 'py>] {
    // SAFETY: Object and Borrowed are both transparent non-null pointers; the handles keep
    // the objects alive for 'a.
    unsafe { std::slice::from_raw_parts(objs.as_ptr().cast(), objs.len()) }
}

/// A getter.
unsafe extern "C" fn getter_entry<G: PyUnary>(
    slf: *mut ffi::PyObject,
    _closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: the same as a unary slot.
    unsafe { unary_entry::<G>(slf) }
}

/// `__repr__`, `__str__`.
unsafe extern "C" fn unary_entry<U: PyUnary>(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with the GIL held; `slf` is borrowed for the call.
    unsafe {
        trampoline(|py| {
            let slf = Borrowed::from_ptr(py, NonNull::new(slf).ok_or_else(|| Error::fetch(py))?);
            U::call(py, slf).map(Object::into_ptr)
        })
    }
}

/// A setter; deleting the attribute (`value` NULL) is refused.
unsafe extern "C" fn setter_entry<S: PySetter>(
    slf: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    _closure: *mut c_void,
) -> c_int {
    // SAFETY: called by CPython with the GIL held; `slf` and `value` are borrowed for the call.
    unsafe {
        trampoline(|py| {
            let slf = Borrowed::from_ptr(py, NonNull::new(slf).ok_or_else(|| Error::fetch(py))?);
            let Some(value) = NonNull::new(value) else {
                return Err(Error::Python(crate::PyErr::new(
                    crate::ExceptionType::AttributeError,
                    format!("cannot delete attribute {}", S::NAME),
                )));
            };
            S::set(py, slf, Borrowed::from_ptr(py, value))?;
            Ok(0)
        })
    }
}
