//! Every way into Rust from C: the [`trampoline`] all entry points go through, the arguments
//! of a call in CPython's fastcall layout, and the `extern "C"` functions CPython calls for
//! Rust functions and methods, class slots, module state and closures.
//!
//! The entry points are generic over small traits ([`Body`], [`UnaryBody`], [`SetterBody`],
//! [`ConstructorBody`], [`InstanceBody`]) that the macro runtime (`crate::function`,
//! `crate::class`) implements for its own, so that this layer depends on nothing above it.

use super::interp::PerInterp;
use std::ffi::{CStr, CString};
use std::os::raw::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use super::deferred::drain_pending_held;
use super::runtime::Nested;
use super::types::ClassType;
use crate::types::{Any, Callable, Dict, Module, Tuple, Type};
use crate::{Borrowed, Error, Object, Python, Result, ffi};

// ---------------------------------------------------------------------------------------------
// The trampoline

/// What an entry point returns to C, and its error value.
pub trait CallbackOutput: Copy {
    /// The value that tells C "an exception is set".
    const ERROR: Self;
}

impl CallbackOutput for *mut ffi::PyObject {
    const ERROR: Self = std::ptr::null_mut();
}

impl CallbackOutput for c_int {
    const ERROR: Self = -1;
}

impl CallbackOutput for ffi::Py_ssize_t {
    const ERROR: Self = -1;
}

/// Runs the body of an entry point called from Python with the GIL held.
///
/// # Safety
/// The calling thread holds the GIL (it was called by the interpreter).
#[inline]
pub unsafe fn trampoline<R: CallbackOutput>(body: impl FnOnce(Python<'_>) -> Result<R>) -> R {
    // SAFETY: the interpreter called us, so this thread holds the GIL (caller).
    let py = unsafe { Python::assume_gil_acquired() };
    let _nested = Nested::enter(py);
    drain_pending_held(py);
    let outcome = catch_unwind(AssertUnwindSafe(|| match body(py) {
        Ok(v) => v,
        Err(e) => {
            e.restore(py);
            R::ERROR
        }
    }));
    match outcome {
        Ok(v) => v,
        Err(payload) => {
            raise_panic(py, payload);
            R::ERROR
        }
    }
}

/// Sets `pyhost.PanicException(message)` for a caught panic. Never unwinds: a panic while
/// doing so (or while dropping the payload) aborts, since it cannot be reported any other way.
#[cold]
fn raise_panic(py: Python<'_>, payload: Box<dyn std::any::Any + Send>) {
    let message = panic_message(&*payload);
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    let raised = catch_unwind(AssertUnwindSafe(|| {
        let class = panic_exception(py);
        crate::PyErr::new(class, format!("Rust panic: {message}")).restore(py);
    }));
    if dropped.is_err() || raised.is_err() {
        eprintln!("pyhost: a panic occurred while reporting a panic ({message}); aborting");
        std::process::abort();
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

static PANIC_EXCEPTION: PerInterp<Any> = PerInterp::new();

/// `pyhost.PanicException`, created on first use (one per interpreter).
pub fn panic_exception(py: Python<'_>) -> crate::ExceptionType {
    let class = PANIC_EXCEPTION
        .get_or_try_init(py, || {
            super::objects::new_exception_class(
                &super::objects::exception_class!(py, PyExc_BaseException),
                c"pyhost.PanicException",
                c"A Rust panic inside a function called from Python.",
            )
        })
        .expect("creating pyhost.PanicException");
    crate::ExceptionType::custom(&class).expect("PanicException is an exception class")
}

/// Whether `value` is a `pyhost.PanicException`.
pub(crate) fn is_panic_exception(value: &Object<'_, Any>) -> bool {
    match PANIC_EXCEPTION.get(value.py()) {
        None => false,
        Some(class) => super::objects::exception_matches(value, &class),
    }
}

/// Runs Rust code while CPython deallocates an object (dropping a class value or a module's
/// state): through the trampoline, so a panic is reported with `PyErr_WriteUnraisable`
/// (naming `report`) instead of unwinding into C; an exception that was set when the object
/// died is kept.
///
/// # Safety
/// The GIL is held; `report` is a live object.
unsafe fn run_in_dealloc(report: *mut ffi::PyObject, f: impl FnOnce()) {
    // GIL held (caller). The taken exception (an owned reference, or NULL) is put
    // back unchanged after `f`; an error raised by `f` is consumed by WriteUnraisable first.
    // 3.12+ has the single-object API (PyErr_Fetch/Restore are deprecated there).
    // SAFETY: for the reasons above.
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

// ---------------------------------------------------------------------------------------------
// Arguments

/// A borrowed argument.
pub type Arg<'a, 'py> = Borrowed<'a, 'py, Any>;

/// The arguments of one call in CPython's "fastcall" layout: positional arguments, then the
/// values of the keyword arguments, with the keyword names apart. Everything is borrowed from
/// the caller for `'a`.
#[derive(Clone, Copy)]
pub struct FastcallArgs<'a, 'py> {
    pub(crate) positional: &'a [Arg<'a, 'py>],
    pub(crate) keyword_names: &'a [Arg<'a, 'py>],
    pub(crate) keyword_values: &'a [Arg<'a, 'py>],
}

/// A slice of object pointers as borrowed arguments.
///
/// # Safety
/// `ptr` is NULL with `len == 0`, or points to `len` live, non-null object pointers that stay
/// valid (and referenced) for `'a`; the GIL is held for `'py`.
#[inline(always)]
unsafe fn arg_slice<'a, 'py>(ptr: *const *mut ffi::PyObject, len: usize) -> &'a [Arg<'a, 'py>] {
    if len == 0 {
        return &[];
    }
    // `Borrowed` is a transparent non-null pointer, so `len` non-null object pointers
    // are `len` valid `Borrowed` values; they live for 'a (caller).
    // SAFETY: for the reasons above.
    unsafe { std::slice::from_raw_parts(ptr.cast::<Arg<'a, 'py>>(), len) }
}

impl<'a, 'py> FastcallArgs<'a, 'py> {
    /// The arguments of a `METH_FASTCALL | METH_KEYWORDS` call.
    ///
    /// # Safety
    /// As CPython passes them: `args` holds `nargs` positional arguments followed by one value
    /// per name in `kwnames` (a tuple of `str`, or NULL), all live for `'a`; the GIL is held.
    #[inline(always)]
    unsafe fn from_raw(
        py: Python<'py>,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> Self {
        let nargs = nargs as usize;
        let keyword_names = match NonNull::new(kwnames) {
            // SAFETY: a live tuple for 'a (caller).
            Some(k) => super::builtins::tuple_items_of(unsafe { Borrowed::from_ptr(py, k) })
                .unwrap_or_default(),
            None => &[],
        };
        // SAFETY: `args` holds `nargs + len(kwnames)` live pointers (caller).
        unsafe {
            FastcallArgs {
                positional: arg_slice(args, nargs),
                keyword_names,
                keyword_values: arg_slice(
                    if args.is_null() {
                        args
                    } else {
                        args.add(nargs)
                    },
                    keyword_names.len(),
                ),
            }
        }
    }

    /// No arguments at all.
    #[inline(always)]
    pub(crate) fn empty() -> Self {
        FastcallArgs {
            positional: &[],
            keyword_names: &[],
            keyword_values: &[],
        }
    }

    /// Arguments from separately held slices (the tuple-and-dict calling convention, after
    /// the dict's items were collected).
    #[inline(always)]
    pub(crate) fn from_parts(
        positional: &'a [Arg<'a, 'py>],
        keyword_names: &'a [Arg<'a, 'py>],
        keyword_values: &'a [Arg<'a, 'py>],
    ) -> Self {
        FastcallArgs {
            positional,
            keyword_names,
            keyword_values,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the entry points run

/// The body of a function or method: called with its `self` (module or instance) and the
/// arguments.
pub(crate) trait Body: 'static {
    fn call<'a, 'py>(
        py: Python<'py>,
        slf: Option<Arg<'a, 'py>>,
        args: FastcallArgs<'a, 'py>,
    ) -> Result<Object<'py, Any>>;
}

/// A slot of the instance alone: a getter, `__repr__`, `__str__`.
pub(crate) trait UnaryBody: 'static {
    fn call<'py>(py: Python<'py>, slf: Arg<'_, 'py>) -> Result<Object<'py, Any>>;
}

/// A property setter, and its `Class.attribute` name for messages.
pub(crate) trait SetterBody: 'static {
    const NAME: &'static str;
    fn set<'py>(py: Python<'py>, slf: Arg<'_, 'py>, value: Arg<'_, 'py>) -> Result<()>;
}

/// The Rust value inside instances of a class.
pub(crate) trait InstanceBody: Send + 'static {
    /// The class name, for messages.
    const NAME: &'static str;
}

/// A constructor (`tp_new`).
pub(crate) trait ConstructorBody: 'static {
    type Instance: InstanceBody;
    /// The class's type object, created now if needed.
    fn class_type(py: Python<'_>) -> Result<ClassType<'_, Self::Instance>>;
    /// Binds, converts and constructs.
    fn construct<'a, 'py>(py: Python<'py>, args: FastcallArgs<'a, 'py>) -> Result<Self::Instance>;
}

/// `PyCFunction` as stored in a method definition; the real signature depends on the flags.
pub(crate) type MethPtr =
    unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::PyObject) -> *mut ffi::PyObject;
type FastcallPtr = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;
type NewPtr = unsafe extern "C" fn(
    *mut ffi::PyTypeObject,
    *mut ffi::PyObject,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;
type UnaryPtr = unsafe extern "C" fn(*mut ffi::PyObject) -> *mut ffi::PyObject;

/// The method entry of `F`: `METH_NOARGS` or `METH_FASTCALL | METH_KEYWORDS`.
pub(super) const fn method_entry<F: Body>(noargs: bool) -> MethPtr {
    if noargs {
        noargs_entry::<F>
    } else {
        let f: FastcallPtr = fastcall_entry::<F>;
        // With METH_FASTCALL | METH_KEYWORDS, CPython calls the pointer with the
        // fastcall signature it really has; the field's type is the two-argument one by C
        // convention only. Function pointers have one size and representation.
        // SAFETY: for the reasons above.
        unsafe { std::mem::transmute::<FastcallPtr, MethPtr>(f) }
    }
}

/// The `tp_new` slot running constructor `C`.
pub(super) const fn new_slot<C: ConstructorBody>() -> *mut c_void {
    let f: NewPtr = new_entry::<C>;
    f as *mut c_void
}

/// The `tp_new` slot of a class without a constructor.
pub(super) const fn no_new_slot<T: InstanceBody>() -> *mut c_void {
    let f: NewPtr = no_constructor::<T>;
    f as *mut c_void
}

/// A unary slot (`tp_repr`, `tp_str`) running `U`.
pub(super) const fn unary_slot<U: UnaryBody>() -> *mut c_void {
    let f: UnaryPtr = unary_entry::<U>;
    f as *mut c_void
}

/// The getter running `G`.
pub(super) const fn getter_fn<G: UnaryBody>() -> ffi::getter {
    Some(getter_entry::<G>)
}

/// The setter running `S`.
pub(super) const fn setter_fn<S: SetterBody>() -> ffi::setter {
    Some(setter_entry::<S>)
}

/// The `tp_dealloc` slot of instances holding a `T`.
pub(super) const fn dealloc_slot<T: InstanceBody>() -> *mut c_void {
    let f: unsafe extern "C" fn(*mut ffi::PyObject) = dealloc::<T>;
    f as *mut c_void
}

// ---------------------------------------------------------------------------------------------
// Functions and methods

/// `METH_FASTCALL | METH_KEYWORDS` entry point of `F`.
///
/// # Safety
/// Called by CPython with the GIL held and arguments in the fastcall layout.
unsafe extern "C" fn fastcall_entry<F: Body>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // CPython calls this with the GIL held; `slf` (or NULL), the arguments and the
    // keyword names are borrowed for the duration of the call.
    // SAFETY: for the reasons above.
    unsafe {
        trampoline(|py| {
            let args = FastcallArgs::from_raw(py, args, nargs, kwnames);
            let slf = NonNull::new(slf).map(|p| Borrowed::from_ptr(py, p));
            F::call(py, slf, args).map(Object::into_ptr)
        })
    }
}

/// `METH_NOARGS` entry point of `F`.
///
/// # Safety
/// Called by CPython with the GIL held.
unsafe extern "C" fn noargs_entry<F: Body>(
    slf: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held; `slf` (or NULL) is borrowed for the call.
    unsafe {
        trampoline(|py| {
            let slf = NonNull::new(slf).map(|p| Borrowed::from_ptr(py, p));
            F::call(py, slf, FastcallArgs::empty()).map(Object::into_ptr)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Class slots

/// `tp_new` of a class without `#[new]`.
unsafe extern "C" fn no_constructor<T: InstanceBody>(
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
unsafe extern "C" fn new_entry<C: ConstructorBody>(
    subtype: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // Called by CPython with the GIL held; `subtype` is a live type, `args` a tuple
    // and `kwargs` a dict or NULL, borrowed for the call. The keyword names and values are
    // collected as owned references first (a dict passed by a C caller could change while
    // arguments convert).
    // SAFETY: for the reasons above.
    unsafe {
        trampoline(|py| {
            let subtype: Borrowed<'_, '_, Type> = Borrowed::from_ptr(
                py,
                NonNull::new(subtype.cast()).ok_or_else(|| Error::fetch(py))?,
            );
            let ty = C::class_type(py)?;
            let args: Borrowed<'_, '_, Any> =
                Borrowed::from_ptr(py, NonNull::new(args).ok_or_else(|| Error::fetch(py))?);
            let positional = super::builtins::tuple_items_of(args).unwrap_or_default();
            let (names, values): (Vec<Object<'_, Any>>, Vec<Object<'_, Any>>) =
                match NonNull::new(kwargs) {
                    Some(k) => Borrowed::<Dict>::from_ptr(py, k).iter().unzip(),
                    None => (Vec::new(), Vec::new()),
                };
            let value = C::construct(
                py,
                FastcallArgs::from_parts(
                    positional,
                    Borrowed::slice_of(&names),
                    Borrowed::slice_of(&values),
                ),
            )?;
            ty.instantiate_as(subtype, value).map(Object::into_ptr)
        })
    }
}

/// A getter.
unsafe extern "C" fn getter_entry<G: UnaryBody>(
    slf: *mut ffi::PyObject,
    _closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: the same as a unary slot.
    unsafe { unary_entry::<G>(slf) }
}

/// `__repr__`, `__str__`.
unsafe extern "C" fn unary_entry<U: UnaryBody>(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with the GIL held; `slf` is borrowed for the call.
    unsafe {
        trampoline(|py| {
            let slf = Borrowed::from_ptr(py, NonNull::new(slf).ok_or_else(|| Error::fetch(py))?);
            U::call(py, slf).map(Object::into_ptr)
        })
    }
}

/// A setter; deleting the attribute (`value` NULL) is refused.
unsafe extern "C" fn setter_entry<S: SetterBody>(
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

/// `tp_dealloc`: drops the Rust value (inside the trampoline, so a panic is reported as an
/// unraisable exception rather than unwinding into C), then frees the memory. An exception
/// that was set when the instance died is kept.
unsafe extern "C" fn dealloc<T: InstanceBody>(obj: *mut ffi::PyObject) {
    // Called by CPython with the GIL held, once, for an instance of T's type whose
    // value was initialized (instances are only made by create_instance). The value is
    // dropped exactly once; the memory is then released with the type's tp_free, and the
    // reference each heap-type instance holds on its type is released.
    // SAFETY: for the reasons above.
    unsafe {
        let ty = ffi::Py_TYPE(obj);
        run_in_dealloc(ty.cast(), || super::types::drop_instance_value::<T>(obj));
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

// ---------------------------------------------------------------------------------------------
// Modules

/// Frees a module's state (`m_free` of pyhost's module definitions).
pub(super) unsafe extern "C" fn module_free(module: *mut c_void) {
    // Called by CPython with the GIL held while deallocating a module of one of our
    // definitions; its state area holds a state slot, read out once here.
    // SAFETY: for the reasons above.
    let state = unsafe { super::modules::take_module_state(module.cast()) };
    if state.is_some() {
        // GIL held (CPython is deallocating the module); the module is still a valid
        // object to name in a report.
        // SAFETY: for the reasons above.
        unsafe { run_in_dealloc(module.cast(), move || drop(state)) };
    }
}

/// The body of a `PyInit_<name>` function (multi-phase initialization): returns the
/// definition, whose exec slot then fills each module object the import system creates from
/// it, in whichever interpreter imports it. Only when the calling thread holds the GIL, as
/// the import system's calls do; a call from anywhere else is refused (NULL, with a message
/// on stderr) rather than trusted.
pub(crate) fn module_init(
    name: &CStr,
    def: &'static super::modules::RawModuleDef,
) -> *mut ffi::PyObject {
    // SAFETY: these only read interpreter and thread globals.
    let ready = unsafe { ffi::Py_IsInitialized() != 0 && !current_thread_state().is_null() };
    if !ready {
        eprintln!(
            "pyhost: PyInit_{} was called without the GIL; it is meant for the import system",
            name.to_string_lossy()
        );
        return std::ptr::null_mut();
    }
    // SAFETY: the GIL is held (checked above).
    unsafe { trampoline(|py| Ok(def.init(py))) }
}

/// What a module's exec slot runs: fills a module object created from its definition.
pub(crate) trait ModuleExec: 'static {
    fn exec(module: &Object<'_, Module>) -> Result<()>;
}

/// `Py_mod_exec` of the builtin definition of module `M`.
unsafe extern "C" fn module_exec<M: ModuleExec>(module: *mut ffi::PyObject) -> c_int {
    // CPython calls exec slots with the GIL held, passing a live module object of the
    // definition.
    // SAFETY: for the reasons above.
    unsafe {
        trampoline(|py| {
            let m: Borrowed<'_, '_, Module> =
                Borrowed::from_ptr(py, NonNull::new(module).ok_or_else(|| Error::fetch(py))?);
            M::exec(&m.to_owned())?;
            Ok(0)
        })
    }
}

/// The exec slot of module `M`, for its definition.
pub(crate) fn module_exec_slot<M: ModuleExec>() -> *mut c_void {
    module_exec::<M> as *mut c_void
}

/// The thread state attached to this thread (NULL when it does not hold the GIL), without
/// the fatal error `PyThreadState_Get` raises for none. (`PyGILState_Check` is not used: it
/// answers from the gilstate binding, which is not the attached state on every version.)
///
/// # Safety
/// The interpreter is initialized.
pub(crate) unsafe fn current_thread_state() -> *mut ffi::PyThreadState {
    #[cfg(py_3_13)]
    {
        // SAFETY: forwarded to the caller.
        unsafe { ffi::PyThreadState_GetUnchecked() }
    }
    #[cfg(not(py_3_13))]
    {
        unsafe extern "C" {
            /// Exported by libpython 3.5 to 3.12 (the name of `PyThreadState_GetUnchecked`).
            fn _PyThreadState_UncheckedGet() -> *mut ffi::PyThreadState;
        }
        // SAFETY: forwarded to the caller; a plain read of the current thread state.
        unsafe { _PyThreadState_UncheckedGet() }
    }
}

// ---------------------------------------------------------------------------------------------
// Closures

/// The closure signature of [`Function::new`](crate::types::Function::new): positional
/// arguments as a tuple, keyword arguments as a dict (`None` when there are none).
pub trait Closure:
    for<'a, 'py> Fn(
        Python<'py>,
        Borrowed<'a, 'py, Tuple>,
        Option<Borrowed<'a, 'py, Dict>>,
    ) -> Result<Object<'py, Any>>
    + Send
    + Sync
    + 'static
{
}

impl<F> Closure for F where
    F: for<'a, 'py> Fn(
            Python<'py>,
            Borrowed<'a, 'py, Tuple>,
            Option<Borrowed<'a, 'py, Dict>>,
        ) -> Result<Object<'py, Any>>
        + Send
        + Sync
        + 'static
{
}

/// What the capsule behind a closure function owns.
struct Boxed<F> {
    def: ffi::PyMethodDef,
    _name: CString,
    _doc: Option<CString>,
    f: F,
}

const CAPSULE_NAME: &CStr = c"pyhost.closure";

/// A Python function named `name` that runs `f`, which lives as long as the function.
pub(crate) fn closure_function<'py, F: Closure>(
    py: Python<'py>,
    name: CString,
    doc: Option<CString>,
    f: F,
) -> Result<Object<'py, Callable>> {
    type VarargsPtr = unsafe extern "C" fn(
        *mut ffi::PyObject,
        *mut ffi::PyObject,
        *mut ffi::PyObject,
    ) -> *mut ffi::PyObject;
    let call: VarargsPtr = call_closure::<F>;
    let mut boxed = Box::new(Boxed {
        def: ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            // With METH_VARARGS | METH_KEYWORDS, CPython calls the function with the
            // three-argument signature it really has; the field's type is the two-argument one
            // only by C convention.
            // SAFETY: for the reasons above.
            ml_meth: Some(unsafe { std::mem::transmute::<VarargsPtr, MethPtr>(call) }),
            ml_flags: (ffi::METH_VARARGS | ffi::METH_KEYWORDS) as c_int,
            ml_doc: doc.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
        },
        _name: name,
        _doc: doc,
        f,
    });
    let def: *mut ffi::PyMethodDef = &mut boxed.def;
    let raw = Box::into_raw(boxed);
    // GIL held (token). The capsule owns the box from here on (its destructor frees
    // it); on failure we free it ourselves. The method def lives inside the box, which the
    // function keeps alive through its `self` (the capsule).
    // SAFETY: for the reasons above.
    unsafe {
        let capsule =
            ffi::PyCapsule_New(raw.cast(), CAPSULE_NAME.as_ptr(), Some(drop_closure::<F>));
        if capsule.is_null() {
            drop(Box::from_raw(raw));
            return Err(Error::fetch(py));
        }
        let func = ffi::PyCFunction_NewEx(def, capsule, std::ptr::null_mut());
        ffi::Py_DECREF(capsule);
        super::objects::owned(py, func)
    }
}

unsafe extern "C" fn call_closure<F: Closure>(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // Called by CPython with the GIL held; `slf` is our capsule, `args` a tuple and
    // `kwargs` a dict or NULL, all borrowed for the duration of the call.
    // SAFETY: for the reasons above.
    unsafe {
        trampoline(|py| {
            let boxed = ffi::PyCapsule_GetPointer(slf, CAPSULE_NAME.as_ptr()).cast::<Boxed<F>>();
            let boxed = NonNull::new(boxed).ok_or_else(|| Error::fetch(py))?;
            let args = Borrowed::<Tuple>::from_ptr(
                py,
                NonNull::new(args).ok_or_else(|| Error::fetch(py))?,
            );
            let kwargs = NonNull::new(kwargs).map(|k| Borrowed::<Dict>::from_ptr(py, k));
            let out = (boxed.as_ref().f)(py, args, kwargs)?;
            Ok(out.into_ptr())
        })
    }
}

unsafe extern "C" fn drop_closure<F: Closure>(capsule: *mut ffi::PyObject) {
    // Called by CPython, GIL held, when the capsule dies; the pointer is the box
    // created in `closure_function` and nothing else frees it.
    // SAFETY: for the reasons above.
    unsafe {
        let p = ffi::PyCapsule_GetPointer(capsule, CAPSULE_NAME.as_ptr());
        if p.is_null() {
            ffi::PyErr_Clear();
            return;
        }
        let boxed = Box::from_raw(p.cast::<Boxed<F>>());
        let _nested = Nested::enter(Python::assume_gil_acquired());
        if catch_unwind(AssertUnwindSafe(move || drop(boxed))).is_err() {
            eprintln!("pyhost: dropping a closure panicked; aborting");
            std::process::abort();
        }
    }
}
