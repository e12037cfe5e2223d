//! What Rust defines for Python: function definitions, class types and their instances,
//! module definitions and the host state a module carries.
//!
//! The types here are built only from the entry points of [`super::entry`], so what CPython
//! calls through them is always a pyhost trampoline, and a class type is made only from the
//! layout of its Rust value ([`ClassType`]), so an instance it allocates always holds one.

use std::any::TypeId;
use std::cell::{Cell, UnsafeCell};
use std::ffi::CStr;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::os::raw::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::OnceLock;

use super::entry::{self, Body, ConstructorBody, InstanceBody, SetterBody, UnaryBody};
use super::interp::PerInterp;
use super::objects::owned;
use crate::types::{Any, Callable, Module, Type};
use crate::{Borrowed, Error, Object, Python, Result, ffi};

// ---------------------------------------------------------------------------------------------
// Functions

/// The type of host state a function needs.
#[derive(Clone, Copy)]
pub struct StateInfo {
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
}

impl StateInfo {
    /// State of type `T`.
    pub const fn of<T: 'static>() -> StateInfo {
        StateInfo {
            type_id: TypeId::of::<T>,
            type_name: std::any::type_name::<T>,
        }
    }

    pub(crate) fn type_id(&self) -> TypeId {
        (self.type_id)()
    }

    pub(crate) fn type_name(&self) -> &'static str {
        (self.type_name)()
    }
}

/// A Rust function ready to become a Python callable: add it to a module with
/// [`Object::<Module>::add_function`](crate::Object::add_function), or make a free-standing
/// callable with [`FunctionDef::to_callable`]. `#[pyhost::function]` creates one per function;
/// [`wrap_function!`](crate::wrap_function) names it.
pub struct FunctionDef {
    def: ffi::PyMethodDef,
    name: &'static CStr,
    state: Option<StateInfo>,
}

// SAFETY: the definition is immutable after construction; its pointers are to 'static C
// strings and to entry points that may be called from any thread holding the GIL.
unsafe impl Sync for FunctionDef {}
// SAFETY: as above.
unsafe impl Send for FunctionDef {}

impl FunctionDef {
    /// The definition of a function running `F`: `METH_NOARGS` when it takes no arguments,
    /// else `METH_FASTCALL | METH_KEYWORDS`; `METH_STATIC` for a static method.
    pub(crate) const fn of<F: Body>(
        name: &'static CStr,
        doc: &'static CStr,
        noargs: bool,
        is_static: bool,
        state: Option<StateInfo>,
    ) -> FunctionDef {
        let mut flags = if noargs {
            ffi::METH_NOARGS
        } else {
            ffi::METH_FASTCALL | ffi::METH_KEYWORDS
        };
        if is_static {
            flags |= ffi::METH_STATIC;
        }
        FunctionDef {
            def: ffi::PyMethodDef {
                ml_name: name.as_ptr(),
                ml_meth: Some(entry::method_entry::<F>(noargs)),
                ml_flags: flags as c_int,
                ml_doc: doc.as_ptr(),
            },
            name,
            state,
        }
    }

    /// The Python name.
    pub fn name(&self) -> &'static str {
        self.name.to_str().unwrap_or("<function>")
    }

    /// The host state the function needs, if any.
    pub(crate) fn state(&self) -> Option<StateInfo> {
        self.state
    }

    /// A callable for this function, bound to `module` (its `self` and `__module__`) when
    /// there is one.
    pub(crate) fn new_callable<'py>(
        &'static self,
        py: Python<'py>,
        module: Option<&Object<'py, Module>>,
    ) -> Result<Object<'py, Callable>> {
        let name = match module {
            Some(m) => Some(m.getattr("__name__")?),
            None => None,
        };
        let ptr = |o: Option<&Object<'py, Any>>| o.map_or(std::ptr::null_mut(), |o| o.as_ptr());
        // GIL held (token); the definition is 'static, as CPython requires; the new
        // function takes its own references to the module and the name.
        // SAFETY: for the reasons above.
        unsafe {
            super::objects::owned(
                py,
                ffi::PyCFunction_NewEx(
                    (&raw const self.def).cast_mut(),
                    ptr(module.map(|m| m.as_any())),
                    ptr(name.as_ref()),
                ),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Class slots and properties

/// A type slot function (constructor, `__repr__`, `__str__`).
#[derive(Clone, Copy)]
pub struct SlotDef(*mut c_void);

// SAFETY: a pointer to a function, callable from any thread holding the GIL.
unsafe impl Sync for SlotDef {}
// SAFETY: as above.
unsafe impl Send for SlotDef {}

impl SlotDef {
    /// The `tp_new` slot running constructor `C`.
    pub(crate) const fn constructor_of<C: ConstructorBody>() -> SlotDef {
        SlotDef(entry::new_slot::<C>())
    }

    /// A unary slot (`tp_repr`, `tp_str`) running `U`.
    pub(crate) const fn unary_of<U: UnaryBody>() -> SlotDef {
        SlotDef(entry::unary_slot::<U>())
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

    /// With the getter running `G`.
    pub(crate) const fn with_getter<G: UnaryBody>(self) -> Self {
        GetSetDef {
            get: entry::getter_fn::<G>(),
            ..self
        }
    }

    /// With the setter running `S`.
    pub(crate) const fn with_setter<S: SetterBody>(self) -> Self {
        GetSetDef {
            set: entry::setter_fn::<S>(),
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

// ---------------------------------------------------------------------------------------------
// Class types

/// Everything a class type is made of. The strings and tables are kept by the type, so they
/// are `'static`.
pub(crate) struct ClassSpec {
    /// `module.Name`.
    pub name: &'static CStr,
    /// The docstring, with the constructor's text signature first.
    pub doc: Option<&'static CStr>,
    pub methods: &'static [FunctionDef],
    pub getset: &'static [GetSetDef],
    pub new: Option<SlotDef>,
    pub repr: Option<SlotDef>,
    pub str: Option<SlotDef>,
}

/// The memory of an instance: the object header, a borrow flag, the Rust value.
#[repr(C)]
struct ClassObject<T> {
    ob_base: ffi::PyObject,
    borrow: Cell<isize>,
    value: UnsafeCell<ManuallyDrop<T>>,
}

/// The type objects of a Rust class holding a `T`, one per interpreter, all made from the
/// same slots (prepared once, so the tables each type points to are leaked once per process).
pub(crate) struct TypeCell<T> {
    types: PerInterp<Type>,
    prepared: OnceLock<Prepared>,
    _value: PhantomData<fn() -> T>,
}

/// The `PyType_Spec` of a class, built once.
struct Prepared {
    name: &'static CStr,
    #[cfg_attr(py_3_10, allow(dead_code))]
    doc: Option<&'static CStr>,
    slots: Vec<ffi::PyType_Slot>,
}

// SAFETY: the slots point to 'static entry points, strings and tables that are never
// written after they are built.
unsafe impl Send for Prepared {}
// SAFETY: as above.
unsafe impl Sync for Prepared {}

impl<T> TypeCell<T> {
    pub(crate) const fn new() -> Self {
        TypeCell {
            types: PerInterp::new(),
            prepared: OnceLock::new(),
            _value: PhantomData,
        }
    }
}

impl<T: InstanceBody> TypeCell<T> {
    /// The type of the current interpreter, if created.
    #[inline]
    pub(crate) fn get<'py>(&'py self, py: Python<'py>) -> Option<ClassType<'py, T>> {
        self.types.get(py).map(|ty| ClassType {
            ty,
            _value: PhantomData,
        })
    }

    /// The type of the current interpreter, created now if needed from the spec `spec`
    /// builds (on the first creation in the process only).
    pub(crate) fn get_or_create<'py>(
        &'py self,
        py: Python<'py>,
        spec: impl FnOnce() -> Result<ClassSpec>,
    ) -> Result<ClassType<'py, T>> {
        let ty = self.types.get_or_try_init(py, || {
            let prepared = match self.prepared.get() {
                Some(p) => p,
                None => {
                    let p = prepare::<T>(&spec()?);
                    let _ = self.prepared.set(p);
                    self.prepared.get().expect("set above")
                }
            };
            create_type::<T>(py, prepared)
        })?;
        Ok(ClassType {
            ty,
            _value: PhantomData,
        })
    }
}

/// The slots of `T`'s type.
fn prepare<T: InstanceBody>(spec: &ClassSpec) -> Prepared {
    const {
        assert!(
            std::mem::align_of::<ClassObject<T>>() <= 16,
            "a #[pyhost::class] type cannot need an alignment above 16 bytes"
        );
    }
    let mut slots: Vec<ffi::PyType_Slot> = Vec::new();
    let mut slot = |id: u32, p: *mut c_void| {
        slots.push(ffi::PyType_Slot {
            slot: id as c_int,
            pfunc: p,
        })
    };
    slot(ffi::Py_tp_dealloc, entry::dealloc_slot::<T>());
    slot(
        ffi::Py_tp_new,
        spec.new.map_or(entry::no_new_slot::<T>(), |s| s.0),
    );
    if let Some(d) = spec.doc {
        slot(ffi::Py_tp_doc, d.as_ptr().cast_mut().cast());
    }
    if !spec.methods.is_empty() {
        let defs = spec.methods.iter().map(|f| f.def);
        slot(ffi::Py_tp_methods, leak_table(defs).cast());
    }
    if !spec.getset.is_empty() {
        let defs = spec.getset.iter().map(GetSetDef::raw);
        slot(ffi::Py_tp_getset, leak_table(defs).cast());
    }
    if let Some(r) = spec.repr {
        slot(ffi::Py_tp_repr, r.0);
    }
    if let Some(s) = spec.str {
        slot(ffi::Py_tp_str, s.0);
    }
    slot(0, std::ptr::null_mut());
    Prepared {
        name: spec.name,
        doc: spec.doc,
        slots,
    }
}

/// Creates a heap type of instances of `ClassObject<T>`'s layout (the layout of the `T` the
/// slots were prepared for: a `TypeCell<T>` calls this).
fn create_type<'py, T>(py: Python<'py>, prepared: &Prepared) -> Result<Object<'py, Type>> {
    let mut slots = prepared.slots.clone();
    let mut raw_spec = ffi::PyType_Spec {
        name: prepared.name.as_ptr(),
        basicsize: std::mem::size_of::<ClassObject<T>>() as c_int,
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    };
    // GIL held (token). The spec and its slots are complete and every slot is one of
    // pyhost's entry points; the name and the method and property tables, which the type
    // keeps pointing to, are 'static; the doc is copied. The result is checked.
    // SAFETY: for the reasons above.
    let ty: Object<'_, Type> = unsafe { owned(py, ffi::PyType_FromSpec(&mut raw_spec)) }?;
    #[cfg(not(py_3_10))]
    if let Some(d) = prepared.doc {
        keep_signature_in_doc(&ty, d);
    }
    Ok(ty)
}

/// A class's type object in one interpreter: made only by a [`TypeCell<T>`], so from `T`'s
/// layout, and each of its instances (it has no subclasses: the type is not a base type)
/// holds an initialized `T`.
pub(crate) struct ClassType<'py, T> {
    ty: Borrowed<'py, 'py, Type>,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for ClassType<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ClassType<'_, T> {}

impl<'py, T: InstanceBody> ClassType<'py, T> {
    /// The type object.
    pub(crate) fn get(self) -> Object<'py, Type> {
        self.ty.to_owned()
    }

    /// Whether `obj` is an instance of this type.
    #[inline]
    pub(crate) fn is_instance(self, obj: &Object<'_, Any>) -> bool {
        // SAFETY: live object and type, GIL held (the handle proves it).
        unsafe { ffi::PyObject_TypeCheck(obj.as_ptr(), self.ty.as_ptr().cast()) }
    }

    /// A new instance owning `value`.
    pub(crate) fn instantiate(self, value: T) -> Result<Object<'py, T>> {
        self.instantiate_as(self.ty, value)
    }

    /// A new instance of `subtype` owning `value`: `tp_new` is called with the type being
    /// instantiated, which must be this one (or a subtype, were there any).
    pub(crate) fn instantiate_as(
        self,
        subtype: Borrowed<'_, 'py, Type>,
        value: T,
    ) -> Result<Object<'py, T>> {
        let py = subtype.py();
        let sub = subtype.as_ptr().cast::<ffi::PyTypeObject>();
        // SAFETY: live types, GIL held (handles).
        if unsafe { ffi::PyType_IsSubtype(sub, self.ty.as_ptr().cast()) } == 0 {
            return Err(Error::type_error(format!(
                "{}.__new__(X): X is not a subtype of {0}",
                T::NAME
            )));
        }
        // GIL held (token); `sub` is this type, whose instances have ClassObject<T>'s
        // layout. tp_alloc returns a zeroed object with its header set, or NULL with an
        // exception; the flag and the value are written before anything can read them.
        // SAFETY: for the reasons above.
        unsafe {
            let slot = ffi::PyType_GetSlot(sub, ffi::Py_tp_alloc as c_int);
            let obj = if slot.is_null() {
                ffi::PyType_GenericAlloc(sub, 0)
            } else {
                let alloc: unsafe extern "C" fn(
                    *mut ffi::PyTypeObject,
                    ffi::Py_ssize_t,
                ) -> *mut ffi::PyObject = std::mem::transmute(slot);
                alloc(sub, 0)
            };
            let obj: Object<'py, T> = super::objects::owned(py, obj)?;
            let p = obj.as_ptr().cast::<ClassObject<T>>();
            (&raw mut (*p).borrow).write(Cell::new(0));
            (&raw mut (*p).value).write(UnsafeCell::new(ManuallyDrop::new(value)));
            Ok(obj)
        }
    }
}

/// A table ending with the all-zero sentinel, leaked: a type points to its tables for good.
fn leak_table<D>(items: impl Iterator<Item = D>) -> *mut D {
    let mut defs: Vec<D> = items.collect();
    // Only used for PyMethodDef and PyGetSetDef, C structs whose all-zero value is the
    // sentinel ending a table.
    // SAFETY: for the reasons above.
    defs.push(unsafe { std::mem::zeroed() });
    Box::leak(defs.into_boxed_slice()).as_mut_ptr()
}

/// Before 3.10, `PyType_FromSpec` stores the docstring without its text signature, which
/// `__text_signature__` (and so `inspect.signature`) reads from `tp_doc`: put the full text
/// back. `tp_doc` of a heap type is freed with `PyObject_Free`.
#[cfg(not(py_3_10))]
fn keep_signature_in_doc(ty: &Object<'_, Type>, doc: &CStr) {
    let bytes = doc.to_bytes_with_nul();
    let ty = ty.as_ptr().cast::<ffi::PyTypeObject>();
    // A heap type just created and not yet shared; GIL held (handle). The copy is
    // complete before it is published; the old text was allocated with PyObject_Malloc.
    // SAFETY: for the reasons above.
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

/// Drops the value of an instance (its `tp_dealloc`).
///
/// # Safety
/// `obj` is an instance of a [`ClassType<T>`] being deallocated; its value is dropped once,
/// here, and never read again.
pub(crate) unsafe fn drop_instance_value<T>(obj: *mut ffi::PyObject) {
    // SAFETY: the instance holds an initialized T (ClassType), dropped only here (caller).
    unsafe { ManuallyDrop::drop(&mut *(*obj.cast::<ClassObject<T>>()).value.get()) }
}

// ---------------------------------------------------------------------------------------------
// Borrowing instances

/// A shared borrow of the Rust value inside an instance of `T` (like `std::cell::Ref`).
pub struct ClassRef<'a, T> {
    obj: NonNull<ClassObject<T>>,
    _marker: PhantomData<(&'a T, *mut ())>,
}

/// An exclusive borrow of the Rust value inside an instance of `T` (like
/// `std::cell::RefMut`).
pub struct ClassRefMut<'a, T> {
    obj: NonNull<ClassObject<T>>,
    _marker: PhantomData<(&'a mut T, *mut ())>,
}

/// The instance inside `obj`, when `ty` exists and `obj` is one of its instances.
fn instance<T: InstanceBody>(
    ty: Option<ClassType<'_, T>>,
    obj: Borrowed<'_, '_, Any>,
) -> Result<NonNull<ClassObject<T>>> {
    match ty {
        // An instance of a ClassType<T> has ClassObject<T>'s layout; the pointer is non-null.
        Some(ty) if ty.is_instance(&obj) => Ok(obj.as_non_null().cast()),
        _ => Err(Error::type_error(format!(
            "expected {}, got {}",
            T::NAME,
            crate::err::capture::type_name_of(&obj)
        ))),
    }
}

/// The borrow flag of an instance.
///
/// # Safety
/// `obj` is a live instance of a `ClassType<T>`, for `'a`; the GIL is held.
unsafe fn flag<'a, T>(obj: NonNull<ClassObject<T>>) -> &'a Cell<isize> {
    // SAFETY: a live instance (caller); the flag is a Cell, shared access is fine.
    unsafe { &(*obj.as_ptr()).borrow }
}

/// Borrows the value of `obj`, an instance of `ty` (`None`: the type was never created, so
/// `obj` cannot be one).
///
/// # Errors
/// A `TypeError` if `obj` is not an instance, a `RuntimeError` if it is mutably borrowed.
pub(crate) fn borrow<'a, T: InstanceBody>(
    ty: Option<ClassType<'_, T>>,
    obj: Borrowed<'a, '_, Any>,
) -> Result<ClassRef<'a, T>> {
    let p = instance(ty, obj)?;
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

/// Borrows the value of `obj` mutably.
///
/// # Errors
/// A `TypeError` if `obj` is not an instance, a `RuntimeError` if it is borrowed.
pub(crate) fn borrow_mut<'a, T: InstanceBody>(
    ty: Option<ClassType<'_, T>>,
    obj: Borrowed<'a, '_, Any>,
) -> Result<ClassRefMut<'a, T>> {
    let p = instance(ty, obj)?;
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

#[cold]
fn borrow_error<T: InstanceBody>(mutable: bool) -> Error {
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

impl<T> Deref for ClassRef<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // A live instance holding an initialized value; the shared borrow recorded in
        // the flag excludes exclusive borrows while this exists.
        // SAFETY: for the reasons above.
        unsafe { &*(*self.obj.as_ptr()).value.get() }
    }
}

impl<T> Drop for ClassRef<'_, T> {
    fn drop(&mut self) {
        // The instance is alive for 'a; GIL held (the guard is neither Send nor Sync
        // and was made with it).
        // SAFETY: for the reasons above.
        let flag = unsafe { flag(self.obj) };
        flag.set(flag.get() - 1);
    }
}

impl<T> Deref for ClassRefMut<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: as for ClassRef; this is the only borrow.
        unsafe { &*(*self.obj.as_ptr()).value.get() }
    }
}

impl<T> DerefMut for ClassRefMut<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the exclusive borrow recorded in the flag makes this the only reference.
        unsafe { &mut *(*self.obj.as_ptr()).value.get() }
    }
}

impl<T> Drop for ClassRefMut<'_, T> {
    fn drop(&mut self) {
        // SAFETY: as for ClassRef.
        unsafe { flag(self.obj) }.set(0);
    }
}
