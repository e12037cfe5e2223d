//! Modules defined in Rust (`#[pyhost::module]`): their C definition, creation (as a builtin
//! module through the inittab, or at run time), the host state each module instance carries,
//! and adding functions and classes to a module.
//!
//! # Host state
//!
//! A module instance may carry one value of host state (for example an `Arc` of the host's
//! aggregator), stored in the module object's own state area (`PyModule_GetState`). Functions
//! of that module receive it through a `#[pyhost(state)] st: &T` parameter: the function's
//! `self` is its module, so two instances of the same module definition created with different
//! states serve their own functions, and no global is involved. The state is dropped with the
//! module.
//!
//! A builtin module is created by CPython calling `PyInit_<name>()`, which takes no argument:
//! its state is given beforehand with the generated `builtin(state)` function and shared by
//! every instance CPython creates (one per import after the module was removed from
//! `sys.modules`).

use std::any::Any as StdAny;
use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::sync::{Arc, Mutex, OnceLock};

use super::class::Class;
use super::function::FunctionDef;
use crate::callback::trampoline;
use crate::types::{Any, Module};
use crate::{Borrowed, Error, Object, Python, Result, ffi};

/// The host state stored in a module instance (shared by the builtin instances of a module).
type StateSlot = Option<Arc<dyn StdAny + Send + Sync>>;

/// A module defined with `#[pyhost::module]`, as the macro describes it to the runtime.
pub trait PyModule: 'static {
    /// The host state each instance carries (`()` for none).
    type State: Send + Sync + 'static;
    /// Whether the module was declared with a state type.
    const HAS_STATE: bool;
    /// The module name.
    const NAME: &'static CStr;
    /// The module docstring (may be empty).
    const DOC: &'static CStr;

    /// The definition (a static of the generated code).
    fn def() -> &'static ModuleDef;

    /// Fills a new instance: runs the function the attribute was put on.
    ///
    /// # Errors
    /// What that function returns.
    fn fill(module: &Object<'_, Module>) -> Result<()>;
}

/// The C definition of a module, built on first use, plus the state for builtin instances.
pub struct ModuleDef {
    raw: OnceLock<RawDef>,
    builtin_state: Mutex<StateSlot>,
}

struct RawDef(UnsafeCell<ffi::PyModuleDef>);

// SAFETY: CPython reads and updates the definition (m_index, m_copy) only with the GIL held,
// which serializes every access; Rust never touches it after building it.
unsafe impl Send for RawDef {}
// SAFETY: as above.
unsafe impl Sync for RawDef {}

impl Default for ModuleDef {
    fn default() -> Self {
        Self::new()
    }
}

impl ModuleDef {
    /// An empty definition, built on first use.
    pub const fn new() -> ModuleDef {
        ModuleDef {
            raw: OnceLock::new(),
            builtin_state: Mutex::new(None),
        }
    }

    /// The C definition (stable address: it lives in the static).
    fn raw<M: PyModule>(&'static self) -> *mut ffi::PyModuleDef {
        self.raw
            .get_or_init(|| {
                // SAFETY: PyModuleDef is a C struct for which all-zero is a valid (empty)
                // value; the header is PyModuleDef_HEAD_INIT but for the reference count,
                // set to 1 below as that macro does.
                let mut def: ffi::PyModuleDef = unsafe { std::mem::zeroed() };
                def.m_name = M::NAME.as_ptr();
                def.m_doc = if M::DOC.is_empty() {
                    std::ptr::null()
                } else {
                    M::DOC.as_ptr()
                };
                def.m_size = std::mem::size_of::<StateSlot>() as ffi::Py_ssize_t;
                def.m_free = Some(module_free);
                let raw = RawDef(UnsafeCell::new(def));
                // SAFETY: the header is a plain PyObject; no other reference exists yet. A
                // definition is never deallocated, so one reference keeps it alive for good.
                unsafe { ffi::Py_INCREF(raw.0.get().cast()) };
                raw
            })
            .0
            .get()
    }

    /// Sets the state that builtin instances (created by `PyInit_<name>`) share.
    pub fn set_builtin_state<S: Send + Sync + 'static>(&self, state: S) {
        *self.builtin_state.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(state));
    }

    fn builtin_state(&self) -> StateSlot {
        self.builtin_state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Creates an instance of module `M` holding `state`, and fills it.
///
/// # Errors
/// What creating or filling the module raises.
pub fn create<'py, M: PyModule>(py: Python<'py>, state: M::State) -> Result<Object<'py, Module>> {
    let slot: StateSlot = if M::HAS_STATE {
        Some(Arc::new(state))
    } else {
        None
    };
    create_with(py, M::def().raw::<M>(), slot, M::fill)
}

/// Creates a module from `def`, stores `state` in it and runs `fill`.
fn create_with<'py>(
    py: Python<'py>,
    def: *mut ffi::PyModuleDef,
    state: StateSlot,
    fill: fn(&Object<'_, Module>) -> Result<()>,
) -> Result<Object<'py, Module>> {
    // SAFETY: GIL held (token); `def` is a complete, 'static definition; the result is checked.
    let module: Object<'py, Module> = unsafe {
        Object::from_owned_ptr_or_err(py, ffi::PyModule_Create2(def, PYTHON_API_VERSION))
    }?;
    // SAFETY: a module of `def`, whose state area holds one zeroed (None) StateSlot, written
    // once here before anything can read it.
    unsafe {
        let area = ffi::PyModule_GetState(module.as_ptr()).cast::<StateSlot>();
        if area.is_null() {
            return Err(Error::fetch(py));
        }
        area.write(state);
    }
    fill(&module)?;
    Ok(module)
}

/// `PYTHON_API_VERSION`, unchanged since Python 2.
const PYTHON_API_VERSION: std::os::raw::c_int = 1013;

/// Creates and registers `sys.modules[name]`.
///
/// # Errors
/// As [`create`], or if `sys.modules` cannot be updated.
pub fn install<'py, M: PyModule>(py: Python<'py>, state: M::State) -> Result<Object<'py, Module>> {
    let m = create::<M>(py, state)?;
    m.register()?;
    Ok(m)
}

/// The body of `PyInit_<name>` for module `M`: creates a builtin instance (with the state set
/// by `builtin(state)`).
pub fn module_init<M: PyModule>() -> *mut ffi::PyObject {
    // SAFETY: these only read interpreter and thread globals. PyInit functions are called by
    // the import system, with the GIL held (a current thread state); a call from anywhere else
    // is refused rather than trusted.
    let ready = unsafe { ffi::Py_IsInitialized() != 0 && !current_thread_state().is_null() };
    if !ready {
        eprintln!(
            "pyhost: PyInit_{} was called without the GIL; it is meant for the import system",
            M::NAME.to_string_lossy()
        );
        return std::ptr::null_mut();
    }
    // SAFETY: the GIL is held (checked above).
    unsafe {
        trampoline(|py| {
            let state: StateSlot = if M::HAS_STATE {
                match M::def().builtin_state() {
                    Some(shared) => Some(shared),
                    None => {
                        return Err(Error::Python(crate::PyErr::new(
                            crate::ExceptionType::ImportError,
                            format!(
                                "module '{}' needs host state: register it with \
                                 Builder::builtin_module(\"{0}\", {0}::builtin(state))",
                                M::NAME.to_string_lossy()
                            ),
                        )));
                    }
                }
            } else {
                None
            };
            create_with(py, M::def().raw::<M>(), state, M::fill).map(Object::into_ptr)
        })
    }
}

/// The thread state attached to this thread (NULL when it does not hold the GIL), without
/// the fatal error `PyThreadState_Get` raises for none. (`PyGILState_Check` is not used: it
/// answers from the gilstate binding, which is not the attached state on every version.)
///
/// # Safety
/// The interpreter is initialized.
unsafe fn current_thread_state() -> *mut ffi::PyThreadState {
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

/// Frees a module's state (`m_free`).
unsafe extern "C" fn module_free(module: *mut std::os::raw::c_void) {
    // SAFETY: called by CPython with the GIL held while deallocating a module of one of our
    // definitions; its state area holds a StateSlot (None when creation failed before it was
    // written, the area being zeroed), read out once here. PyModule_GetState sets no error
    // for a module.
    let state = unsafe {
        let area = ffi::PyModule_GetState(module.cast()).cast::<StateSlot>();
        if area.is_null() {
            return;
        }
        area.replace(None)
    };
    if state.is_some() {
        // SAFETY: GIL held (CPython is deallocating the module); the module is still a valid
        // object to name in a report.
        unsafe { super::class::run_in_dealloc(module.cast(), move || drop(state)) };
    }
}

/// The host state of `module`, when it is a module of a pyhost definition.
pub(crate) fn state_of<'a>(
    module: Borrowed<'a, '_, Any>,
) -> Option<&'a (dyn StdAny + Send + Sync)> {
    let p = module.as_ptr();
    // SAFETY: a live object, GIL held. Only modules created from one of our definitions (told
    // apart by their m_free) have a StateSlot in their state area, initialized at creation and
    // alive as long as the module, which outlives the borrow 'a.
    unsafe {
        if !ffi::PyModule_Check(p) {
            return None;
        }
        let def = ffi::PyModule_GetDef(p);
        if def.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        // Our definitions are the ones freeing their state with `module_free`. Were the
        // compiler to give that function two addresses, this would fail closed (no state
        // found, a clear error), never open.
        let ours = (*def).m_size == std::mem::size_of::<StateSlot>() as ffi::Py_ssize_t
            && (*def).m_free.is_some_and(|f| {
                std::ptr::fn_addr_eq(
                    f,
                    module_free as unsafe extern "C" fn(*mut std::os::raw::c_void),
                )
            });
        if !ours {
            return None;
        }
        let area = ffi::PyModule_GetState(p).cast::<StateSlot>();
        if area.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        (*area).as_deref()
    }
}

impl<'py> Object<'py, Module> {
    /// Adds a Rust function (see [`wrap_function!`](crate::wrap_function)) as a module
    /// attribute under its Python name; the function's `self` is this module.
    ///
    /// # Errors
    /// A `TypeError` when the function needs host state that this module does not hold (a
    /// module made with `#[pyhost::module(state = T)]` holds a `T`).
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// use std::sync::{Arc, Mutex};
    ///
    /// /// Records a value.
    /// #[pyhost::function]
    /// fn record(#[pyhost(state)] log: &Arc<Mutex<Vec<i64>>>, value: i64) {
    ///     log.lock().unwrap().push(value);
    /// }
    ///
    /// #[pyhost::module(state = Arc<Mutex<Vec<i64>>>)]
    /// fn recorder(m: &pyhost::Object<'_, pyhost::types::Module>) -> pyhost::Result<()> {
    ///     m.add_function(pyhost::wrap_function!(record))
    /// }
    ///
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// pyhost::with_gil(|py| {
    ///     let m = recorder::create(py, log.clone())?;
    ///     m.getattr("record")?.call1((7,))?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(*log.lock().unwrap(), [7]);
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn add_function(&self, def: &'static FunctionDef) -> Result<()> {
        if let Some(needed) = def.state() {
            let held = state_of(self.as_borrowed().to_any());
            let ok = held.is_some_and(|s| (*s).type_id() == needed.type_id());
            if !ok {
                return Err(Error::type_error(format!(
                    "{}() needs host state of type `{}`, which module '{}' does not hold",
                    def.name(),
                    needed.type_name(),
                    self.name().unwrap_or_default()
                )));
            }
        }
        let f = def.to_module_callable(self)?;
        self.setattr(def.name(), f)
    }

    /// Adds a `#[pyhost::class]` type as a module attribute under its Python name. Its
    /// `__module__` becomes this module's name unless the class declared one.
    ///
    /// # Errors
    /// What creating the type object raises.
    pub fn add_class<T: Class>(&self) -> Result<()> {
        let name = self.getattr("__name__")?;
        let ty = T::lazy_type().get_or_create_in(self.py(), Some(&name.extract::<String>()?))?;
        if T::MODULE.is_none() {
            ty.setattr("__module__", name)?;
        }
        self.setattr(T::NAME, ty)
    }

    /// The host state this module carries, if it is a `#[pyhost::module]` instance holding a
    /// `T`.
    pub fn state<T: StdAny>(&self) -> Option<&T> {
        state_of(self.as_borrowed().to_any()).and_then(|s| s.downcast_ref::<T>())
    }
}
