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

use std::ffi::CString;
use std::marker::PhantomData;
use std::sync::OnceLock;

use super::extract::FastcallArgs;
use super::function::{FunctionDef, IntoPyErr};
use crate::raw::entry::{ConstructorBody, InstanceBody, SetterBody, UnaryBody};
use crate::raw::types::{self as raw_types, ClassSpec, ClassType};
use crate::types::{Any, Type};
use crate::{Borrowed, Error, FromPython, Object, Python, Result};

pub use crate::raw::types::{ClassRef, ClassRefMut, GetSetDef, SlotDef};

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
    cell: OnceLock<ClassType<T>>,
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
        }
    }
}

impl<T: Class> LazyType<T> {
    /// The type object, created now if needed.
    fn get_or_create<'py>(&'static self, py: Python<'py>) -> Result<Object<'py, Type>> {
        self.class_type(py, None).map(|t| t.get(py))
    }

    /// As [`LazyType::get_or_create`]; a type created now is named after `module` (the one it
    /// is being added to) unless the class declares its own.
    pub(crate) fn get_or_create_in<'py>(
        &'static self,
        py: Python<'py>,
        module: Option<&str>,
    ) -> Result<Object<'py, Type>> {
        self.class_type(py, module).map(|t| t.get(py))
    }

    /// The class type, created now if needed.
    ///
    /// Creation runs Python code (allocation may trigger the garbage collector, which may
    /// switch threads), so it is not done under a lock: two threads may both create a type,
    /// and the first one stored wins. No instance of the losing type is ever made.
    fn class_type(
        &'static self,
        py: Python<'_>,
        module: Option<&str>,
    ) -> Result<&'static ClassType<T>> {
        if let Some(t) = self.cell.get() {
            return Ok(t);
        }
        let created = create_type::<T>(py, module)?;
        let _ = self.cell.set(created);
        Ok(self.cell.get().expect("set above"))
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

impl SlotDef {
    /// The constructor `C`.
    pub const fn constructor<C: PyConstructor>() -> SlotDef {
        SlotDef::constructor_of::<C>()
    }

    /// A function of the instance alone (`__repr__`, `__str__`).
    pub const fn unary<U: PyUnary>() -> SlotDef {
        SlotDef::unary_of::<U>()
    }
}

impl GetSetDef {
    /// With the getter `G`.
    pub const fn getter<G: PyUnary>(self) -> Self {
        self.with_getter::<G>()
    }

    /// With the setter `S`.
    pub const fn setter<S: PySetter>(self) -> Self {
        self.with_setter::<S>()
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

impl<T: Class> InstanceBody for T {
    const NAME: &'static str = <T as Class>::NAME;
}

impl<U: PyUnary> UnaryBody for U {
    #[inline(always)]
    fn call<'py>(py: Python<'py>, slf: Borrowed<'_, 'py, Any>) -> Result<Object<'py, Any>> {
        <U as PyUnary>::call(py, slf)
    }
}

impl<S: PySetter> SetterBody for S {
    const NAME: &'static str = <S as PySetter>::NAME;

    #[inline(always)]
    fn set<'py>(
        py: Python<'py>,
        slf: Borrowed<'_, 'py, Any>,
        value: Borrowed<'_, 'py, Any>,
    ) -> Result<()> {
        <S as PySetter>::set(py, slf, value)
    }
}

impl<C: PyConstructor> ConstructorBody for C {
    type Instance = C::Class;

    fn class_type(py: Python<'_>) -> Result<&'static ClassType<C::Class>> {
        <C::Class as Class>::lazy_type().class_type(py, None)
    }

    #[inline(always)]
    fn construct<'a, 'py>(py: Python<'py>, args: FastcallArgs<'a, 'py>) -> Result<C::Class> {
        <C as PyConstructor>::construct(py, args)
    }
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

/// Whether `obj` is an instance of `T`'s type.
pub fn is_instance<T: Class>(obj: &Object<'_, Any>) -> bool {
    T::lazy_type()
        .cell
        .get()
        .is_some_and(|t| t.is_instance(obj))
}

impl<'a, T: Class> ClassRef<'a, T> {
    /// Borrows from an instance.
    ///
    /// # Errors
    /// A `TypeError` if `obj` is not a `T`, a `RuntimeError` if it is mutably borrowed.
    pub fn try_from_object(obj: Borrowed<'a, '_, Any>) -> Result<Self> {
        raw_types::borrow(T::lazy_type().cell.get(), obj)
    }
}

impl<'a, T: Class> ClassRefMut<'a, T> {
    /// Borrows mutably from an instance.
    ///
    /// # Errors
    /// A `TypeError` if `obj` is not a `T`, a `RuntimeError` if it is borrowed.
    pub fn try_from_object(obj: Borrowed<'a, '_, Any>) -> Result<Self> {
        raw_types::borrow_mut(T::lazy_type().cell.get(), obj)
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
        T::lazy_type().class_type(py, None)?.instantiate(py, value)
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

// ---------------------------------------------------------------------------------------------
// The type object

/// Creates the heap type of `T`, named `module.Name`: the module the class declares, else
/// `module` (the one it is being added to), else `builtins`. CPython 3.12+ warns
/// (`DeprecationWarning`) about a type whose name has no module.
fn create_type<T: Class>(py: Python<'_>, module: Option<&str>) -> Result<ClassType<T>> {
    let items = T::items();
    let leak = |s: String| -> Result<&'static std::ffi::CStr> {
        let c =
            CString::new(s).map_err(|_| Error::value_error("class name or doc has a NUL byte"))?;
        Ok(Box::leak(c.into_boxed_c_str()))
    };
    let module = T::MODULE.or(module).unwrap_or("builtins");
    let doc = match items.new {
        Some((_, sig)) => format!("{}{sig}\n--\n\n{}", T::NAME, T::DOC),
        None => T::DOC.to_owned(),
    };
    let spec = ClassSpec {
        name: leak(format!("{module}.{}", T::NAME))?,
        doc: if doc.is_empty() {
            None
        } else {
            Some(leak(doc)?)
        },
        methods: items.methods,
        getset: items.getset,
        new: items.new.map(|(slot, _)| slot),
        repr: items.repr,
        str: items.str,
    };
    ClassType::create(py, &spec)
}
