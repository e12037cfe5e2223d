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
//! A builtin module uses multi-phase initialization: `PyInit_<name>()` returns its
//! definition, and CPython creates one module object per interpreter that imports it (and per
//! import after it was removed from `sys.modules`), filled by the module's function. It
//! declares support for subinterpreters with their own GIL: it keeps no Python object
//! outside its module objects. Its state is given beforehand with the generated
//! `builtin(state)` function and shared by every instance (it is `Send + Sync`).

use std::any::Any as StdAny;
use std::ffi::CStr;
use std::sync::{Arc, Mutex, OnceLock};

use crate::class::Class;
use crate::function::FunctionDef;
use crate::raw::entry::{self, ModuleExec};
use crate::raw::modules::{RawModuleDef, StateSlot, set_module_state, state_of};
use crate::types::Module;
use crate::{Error, Object, Python, Result};

/// A raw object pointer, the return type of `PyInit_<name>` functions.
pub type PyObjectPtr = *mut crate::ffi::PyObject;

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
    /// For instances made at run time (`create`, `install`).
    raw: OnceLock<RawModuleDef>,
    /// For builtin instances (multi-phase initialization, one per importing interpreter).
    multi: OnceLock<RawModuleDef>,
    builtin_state: Mutex<StateSlot>,
}

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
            multi: OnceLock::new(),
            builtin_state: Mutex::new(None),
        }
    }

    /// Creates an instance of `M` (whose definition this is) holding `state`, and fills it.
    fn create<'py, M: PyModule>(
        &'static self,
        py: Python<'py>,
        state: StateSlot,
    ) -> Result<Object<'py, Module>> {
        let module = self
            .raw
            .get_or_init(|| RawModuleDef::new(M::NAME, M::DOC))
            .create(py, state)?;
        M::fill(&module)?;
        Ok(module)
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
    M::def().create::<M>(py, slot)
}

/// Creates and registers `sys.modules[name]`.
///
/// # Errors
/// As [`create`], or if `sys.modules` cannot be updated.
pub fn install<'py, M: PyModule>(py: Python<'py>, state: M::State) -> Result<Object<'py, Module>> {
    let m = create::<M>(py, state)?;
    m.register()?;
    Ok(m)
}

/// The body of `PyInit_<name>` for module `M`: its multi-phase definition. Each interpreter
/// that imports it gets its own instance, filled by its `exec` slot, holding the state
/// set by `builtin(state)` (shared by all of them: it is `Send + Sync`).
pub fn module_init<M: PyModule>() -> PyObjectPtr {
    let def = M::def()
        .multi
        .get_or_init(|| RawModuleDef::new_multi(M::NAME, M::DOC, entry::module_exec_slot::<M>()));
    entry::module_init(M::NAME, def)
}

impl<M: PyModule> ModuleExec for M {
    fn exec(module: &Object<'_, Module>) -> Result<()> {
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
        set_module_state(module, state)?;
        M::fill(module)
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
        let f = def.new_callable(self.py(), Some(self))?;
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
