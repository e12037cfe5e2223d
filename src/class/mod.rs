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

mod cell;
mod slots;
mod type_object;

use std::marker::PhantomData;

use crate::types::{Any, Type};
use crate::{FunctionDef, Object, Python, Result};

pub use crate::raw::types::{ClassRef, ClassRefMut, GetSetDef, SlotDef};
pub use cell::{self_mut, self_ref};
pub use slots::{
    IntoNew, IntoSetterResult, PyConstructor, PySetter, PyUnary, into_new, setter_result,
    setter_value,
};
pub use type_object::LazyType;

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

/// Whether `obj` is an instance of `T`'s type.
pub fn is_instance<T: Class>(obj: &Object<'_, Any>) -> bool {
    T::lazy_type()
        .created(obj.py())
        .is_some_and(|t| t.is_instance(obj))
}

impl<'py, T: Class> Object<'py, T> {
    /// A new Python instance owning `value`.
    ///
    /// # Errors
    /// What creating the type object or allocating raises.
    pub fn new(py: Python<'py>, value: T) -> Result<Object<'py, T>> {
        T::lazy_type().class_type(py, None)?.instantiate(value)
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
