//! Modules defined in Rust: their C definitions (one for instances made at run time, one with
//! multi-phase initialization for builtin ones), the host state a module object carries, and
//! registration in the inittab.

use std::any::Any as StdAny;
use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::os::raw::{c_int, c_void};
use std::sync::Arc;

use super::entry;
use crate::types::{Any, Module};
use crate::{Borrowed, Error, Object, Python, Result, ffi};

/// The host state stored in a module instance (shared by the builtin instances of a module).
pub(crate) type StateSlot = Option<Arc<dyn StdAny + Send + Sync>>;

/// The C definition of a module (`PyModuleDef`), whose instances hold a [`StateSlot`].
pub(crate) struct RawModuleDef(UnsafeCell<ffi::PyModuleDef>);

// SAFETY: CPython reads and updates the definition (m_index, m_copy) only with the GIL held,
// which serializes every access; Rust never touches it after building it.
unsafe impl Send for RawModuleDef {}
// SAFETY: as above.
unsafe impl Sync for RawModuleDef {}

/// `PYTHON_API_VERSION`, unchanged since Python 2.
const PYTHON_API_VERSION: c_int = 1013;

impl RawModuleDef {
    /// The definition of module `name` (`doc` may be empty).
    pub(crate) fn new(name: &'static CStr, doc: &'static CStr) -> RawModuleDef {
        // PyModuleDef is a C struct for which all-zero is a valid (empty) value; the
        // header is PyModuleDef_HEAD_INIT but for the reference count, set to 1 below as that
        // macro does.
        // SAFETY: for the reasons above.
        let mut def: ffi::PyModuleDef = unsafe { std::mem::zeroed() };
        def.m_name = name.as_ptr();
        def.m_doc = if doc.is_empty() {
            std::ptr::null()
        } else {
            doc.as_ptr()
        };
        def.m_size = std::mem::size_of::<StateSlot>() as ffi::Py_ssize_t;
        def.m_free = Some(entry::module_free);
        let raw = RawModuleDef(UnsafeCell::new(def));
        // The header is a plain PyObject; no other reference exists yet. A definition
        // is never deallocated, so one reference keeps it alive for good.
        // SAFETY: for the reasons above.
        unsafe { ffi::Py_INCREF(raw.0.get().cast()) };
        raw
    }

    /// The definition of module `name` for multi-phase initialization, with `exec` (an
    /// entry point made by `entry::module_exec_slot`) as its exec slot, declaring that it
    /// supports subinterpreters with their own GIL: it keeps no Python object outside its
    /// module objects, and its host state is `Send + Sync`.
    pub(crate) fn new_multi(
        name: &'static CStr,
        doc: &'static CStr,
        exec: *mut c_void,
    ) -> RawModuleDef {
        // The slot numbers and value of the stable ABI, which every CPython accepts (3.15
        // renumbers them for its own headers, and still takes these).
        const MOD_EXEC: c_int = 2;
        #[cfg(py_3_12)]
        const MOD_MULTIPLE_INTERPRETERS: c_int = 3;
        #[cfg(py_3_12)]
        const PER_INTERPRETER_GIL_SUPPORTED: usize = 2;
        let mut slots = vec![ffi::PyModuleDef_Slot {
            slot: MOD_EXEC,
            value: exec,
        }];
        #[cfg(py_3_12)]
        slots.push(ffi::PyModuleDef_Slot {
            slot: MOD_MULTIPLE_INTERPRETERS,
            value: PER_INTERPRETER_GIL_SUPPORTED as *mut c_void,
        });
        slots.push(ffi::PyModuleDef_Slot {
            slot: 0,
            value: std::ptr::null_mut(),
        });
        let def = RawModuleDef::new(name, doc);
        // Not shared yet; the table is leaked, as the definition points to it for good.
        // SAFETY: for the reasons above.
        unsafe { (*def.0.get()).m_slots = Box::leak(slots.into_boxed_slice()).as_mut_ptr() };
        def
    }

    /// `PyModuleDef_Init`: the definition as the object `PyInit_<name>` returns.
    pub(crate) fn init(&'static self, _py: Python<'_>) -> *mut ffi::PyObject {
        // SAFETY: GIL held (token); a complete, 'static definition (made by `new_multi`).
        unsafe { ffi::PyModuleDef_Init(self.0.get()) }
    }

    /// A new module of this definition holding `state`.
    pub(crate) fn create<'py>(
        &'static self,
        py: Python<'py>,
        state: StateSlot,
    ) -> Result<Object<'py, Module>> {
        // SAFETY: GIL held (token); a complete, 'static definition; the result is checked.
        let module: Object<'py, Module> = unsafe {
            super::objects::owned(py, ffi::PyModule_Create2(self.0.get(), PYTHON_API_VERSION))
        }?;
        set_module_state(&module, state)?;
        Ok(module)
    }
}

/// Writes the state of a module object just created from one of pyhost's definitions (by
/// [`RawModuleDef::create`], or by the import system before calling the exec slot).
pub(crate) fn set_module_state(module: &Object<'_, Module>, state: StateSlot) -> Result<()> {
    let py = module.py();
    // GIL held (handle). A module made from one of our definitions, whose state area
    // holds one StateSlot, zeroed (None) until written here, once, before anything reads it
    // (an exec slot runs once per module object).
    // SAFETY: for the reasons above.
    unsafe {
        if !ours(module.as_ptr()) {
            return Err(Error::type_error("not a module of a pyhost definition"));
        }
        let area = ffi::PyModule_GetState(module.as_ptr()).cast::<StateSlot>();
        if area.is_null() {
            return Err(Error::fetch(py));
        }
        area.write(state);
    }
    Ok(())
}

/// Whether `p`, a module, was made from one of pyhost's definitions (told apart by their
/// `m_free`). Were the compiler to give that function two addresses, this would fail closed.
///
/// # Safety
/// `p` is a live module object; the GIL is held.
unsafe fn ours(p: *mut ffi::PyObject) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe {
        let def = ffi::PyModule_GetDef(p);
        !def.is_null()
            && (*def).m_size == std::mem::size_of::<StateSlot>() as ffi::Py_ssize_t
            && (*def).m_free.is_some_and(|f| {
                std::ptr::fn_addr_eq(f, entry::module_free as unsafe extern "C" fn(*mut c_void))
            })
    }
}

/// Takes the state out of a module being deallocated (`m_free`).
///
/// # Safety
/// `module` is a module of a [`RawModuleDef`] being deallocated, with the GIL held.
pub(crate) unsafe fn take_module_state(module: *mut ffi::PyObject) -> StateSlot {
    // The state area holds a StateSlot (None when creation failed before it was
    // written, the area being zeroed) (caller). PyModule_GetState sets no error for a module.
    // SAFETY: for the reasons above.
    unsafe {
        let area = ffi::PyModule_GetState(module).cast::<StateSlot>();
        if area.is_null() {
            return None;
        }
        area.replace(None)
    }
}

/// The host state of `module`, when it is a module of a pyhost definition.
pub(crate) fn state_of<'a>(
    module: Borrowed<'a, '_, Any>,
) -> Option<&'a (dyn StdAny + Send + Sync)> {
    let py = module.py();
    let p = module.as_ptr();
    // A live object, GIL held (handle). Only modules created from one of our
    // definitions (`ours`) have a StateSlot in their state area, initialized at creation and
    // alive as long as the module, which outlives the borrow 'a. `PyModule_GetDef` sets no
    // error for a module.
    // SAFETY: for the reasons above.
    unsafe {
        if !ffi::PyModule_Check(p) || !ours(p) {
            return None;
        }
        let area = ffi::PyModule_GetState(p).cast::<StateSlot>();
        if area.is_null() {
            super::objects::err_clear(py);
            return None;
        }
        (*area).as_deref()
    }
}

/// The signature of a builtin module's init function (`PyInit_<name>`).
pub type ModuleInit = unsafe extern "C" fn() -> *mut ffi::PyObject;

/// Registers a builtin module (before initialization, as CPython requires).
pub(crate) fn append_inittab(name: &'static CStr, init: ModuleInit) -> Result<()> {
    // SAFETY: no precondition.
    if unsafe { ffi::Py_IsInitialized() } != 0 {
        return Err(Error::Init {
            message: format!("builtin module {name:?} registered after initialization"),
        });
    }
    // SAFETY: not initialized (checked); the inittab keeps the 'static name pointer.
    if unsafe { ffi::PyImport_AppendInittab(name.as_ptr(), Some(init)) } != 0 {
        return Err(Error::Init {
            message: format!("could not register builtin module {name:?}"),
        });
    }
    Ok(())
}
