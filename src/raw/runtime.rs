//! The interpreter's lifecycle and the GIL's mechanism: the lifecycle state, kept thread
//! states, outermost and nested acquisitions, releases deferred until the GIL is held, the
//! `PyConfig` used to start Python, and finalization.
//!
//! [`crate::gil`] is the public face of this (with its documentation of the design);
//! [`crate::interpreter`] decides what to configure and when to start or stop.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::os::raw::c_char;
use std::path::PathBuf;
use std::ptr::null_mut;
use std::sync::atomic::Ordering;

use super::active;
pub(crate) use super::active::{FINALIZED, FINALIZING, RUNNING, STARTING, STATE, UNINIT};
use super::deferred::{DEAD_STATES, DeadState, MAINTENANCE, drain_pending};
use super::interp::InterpId;
use crate::{Error, Result, ffi};

/// A token proving that the current thread holds the GIL.
///
/// It is `Copy`, zero-sized, and neither `Send` nor `Sync`: values bound to `'py` cannot leave
/// the thread or outlive the scope that took the GIL. Get one from [`with_gil`](crate::with_gil).
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// let n: i64 = pyhost::with_gil(|py| py.eval("6 * 7")?.extract())?;
/// assert_eq!(n, 42);
/// # Ok::<(), pyhost::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Python<'py>(PhantomData<(&'py (), *mut ())>);

impl<'py> Python<'py> {
    /// A token without checking that the GIL is held.
    ///
    /// # Safety
    /// The current thread holds the GIL for all of `'py`.
    #[inline(always)]
    pub unsafe fn assume_gil_acquired() -> Python<'py> {
        Python(PhantomData)
    }
}

// ---------------------------------------------------------------------------------------------
// Kept thread states and acquisitions

thread_local! {
    /// How many nested GIL scopes this thread is in (0: it does not hold the GIL through
    /// pyhost). No destructor, so it stays usable while other thread-locals are destroyed.
    static GIL_COUNT: Cell<usize> = const { Cell::new(0) };
    /// This thread's kept thread state.
    static KEPT: KeptState = const { KeptState { tstate: Cell::new(null_mut()), owned: Cell::new(None) } };
}

/// Whether this thread holds the GIL through pyhost.
#[inline(always)]
pub(crate) fn gil_is_held() -> bool {
    GIL_COUNT.with(Cell::get) > 0
}

/// A thread's kept `PyThreadState`.
struct KeptState {
    tstate: Cell<*mut ffi::PyThreadState>,
    /// The `PyGILState_Ensure` result when pyhost created the state (and must release it when
    /// the thread exits); `None` for the state of the thread that initialized Python, which
    /// finalization deletes.
    owned: Cell<Option<ffi::PyGILState_STATE>>,
}

impl Drop for KeptState {
    fn drop(&mut self) {
        let tstate = self.tstate.get();
        if self.owned.get().is_none() || tstate.is_null() {
            return;
        }
        // The thread is exiting. Deleting its thread state needs the GIL, and waiting for it
        // here would deadlock a thread that joins this one while holding the GIL; so the state
        // is handed to the next thread that takes the GIL (see `drain_pending`).
        if matches!(STATE.load(Ordering::Acquire), STARTING | RUNNING) {
            let mut dead = DEAD_STATES.lock().unwrap_or_else(|e| e.into_inner());
            dead.push(DeadState(tstate));
            MAINTENANCE.store(true, Ordering::Release);
        }
    }
}

/// Runs `f` with the GIL held: nested in this thread's hold, or as an outermost acquisition.
#[inline]
pub(crate) fn with_gil<T>(f: impl for<'py> FnOnce(Python<'py>) -> Result<T>) -> Result<T> {
    if gil_is_held() {
        let _nested = Nested::enter_held();
        // SAFETY: a positive count means this thread holds the GIL.
        return f(unsafe { Python::assume_gil_acquired() });
    }
    let guard = Acquired::acquire()?;
    // SAFETY: `guard` holds the GIL until it is dropped after `f`.
    let r = f(unsafe { Python::assume_gil_acquired() });
    drop(guard);
    r
}

/// Runs `f` with the GIL released, then takes it back: `py` proves this thread holds it
/// through its current thread state. A panic in `f` is resumed after the GIL is taken back.
pub(crate) fn without_gil<T: Send>(_py: Python<'_>, f: impl Send + FnOnce() -> T) -> T {
    let count = GIL_COUNT.with(|c| c.replace(0));
    // SAFETY: the token proves this thread holds the GIL through its current thread state.
    let tstate = unsafe { ffi::PyEval_SaveThread() };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    // `tstate` is the state saved above, on this same thread. The enclosing
    // acquisition is still registered as active, so shutdown has not finalized.
    // SAFETY: for the reasons above.
    unsafe { ffi::PyEval_RestoreThread(tstate) };
    GIL_COUNT.with(|c| c.set(count));
    match result {
        Ok(v) => v,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// How an outermost acquisition got the GIL, and so how to give it back.
enum Mode {
    /// Restored the owning thread's state of a subinterpreter; release with
    /// `PyEval_SaveThread`.
    #[cfg(py_3_12)]
    Sub,
    /// Restored this thread's kept state; release with `PyEval_SaveThread`.
    Kept,
    /// Python already has a thread state here that pyhost does not own; paired
    /// `PyGILState_Ensure`/`Release`.
    Foreign(ffi::PyGILState_STATE),
    /// The GIL was already held by this thread outside pyhost (a C callback): nothing to do.
    AlreadyHeld,
}

/// An outermost acquisition.
pub(crate) struct Acquired {
    mode: Mode,
    entry: active::Entry,
    _not_send: PhantomData<*mut ()>,
}

/// Registers an acquisition in progress (so shutdown waits for it) and checks that the
/// interpreter is running; the entry ends the registration.
#[inline(always)]
pub(crate) fn enter_running() -> Result<active::Entry> {
    let entry = active::enter();
    let state = STATE.load(Ordering::SeqCst);
    if state != RUNNING {
        entry.exit();
        return Err(match state {
            UNINIT | STARTING => Error::NotInitialized,
            _ => Error::Finalized,
        });
    }
    Ok(entry)
}

impl Acquired {
    /// Takes the GIL on this thread (which does not hold it through pyhost).
    #[inline(always)]
    pub(crate) fn acquire() -> Result<Acquired> {
        let entry = enter_running()?;
        // SAFETY: the interpreter is running and stays so while we are registered as active.
        let mode = unsafe { take_gil() };
        GIL_COUNT.with(|c| c.set(1));
        // SAFETY: the GIL is held.
        unsafe { drain_pending(InterpId::MAIN) };
        Ok(Acquired {
            mode,
            entry,
            _not_send: PhantomData,
        })
    }

    /// Takes the GIL of subinterpreter `id` through `tstate`, a state of it that is this
    /// thread's to attach and is not attached now (see `raw::interp`). This thread holds no
    /// GIL through pyhost.
    #[cfg(py_3_12)]
    pub(crate) fn acquire_sub(tstate: *mut ffi::PyThreadState, id: InterpId) -> Result<Acquired> {
        let entry = enter_running()?;
        // The interpreter is live: it ends only on its owner thread (not inside a scope of
        // it) or at shutdown, which waits for this registered acquisition. `tstate` is
        // this thread's to attach (caller).
        // SAFETY: for the reasons above.
        unsafe { ffi::PyEval_RestoreThread(tstate) };
        GIL_COUNT.with(|c| c.set(1));
        // SAFETY: the GIL of `id` is held.
        unsafe { drain_pending(id) };
        Ok(Acquired {
            mode: Mode::Sub,
            entry,
            _not_send: PhantomData,
        })
    }

    /// Takes the GIL for shutdown: `None` unless the state is `FINALIZING` (set by the
    /// caller, so no new acquisition can start) and no other acquisition is in progress.
    pub(crate) fn acquire_for_shutdown() -> Option<Acquired> {
        if STATE.load(Ordering::SeqCst) != FINALIZING || gil_is_held() || active::any_active() {
            return None;
        }
        let entry = active::enter();
        // The interpreter is initialized (FINALIZING follows RUNNING) and only this
        // thread can be inside it until it finalizes.
        // SAFETY: for the reasons above.
        let mode = unsafe { take_gil() };
        GIL_COUNT.with(|c| c.set(1));
        Some(Acquired {
            mode,
            entry,
            _not_send: PhantomData,
        })
    }

    /// The token of this acquisition.
    #[inline(always)]
    pub(crate) fn python(&self) -> Python<'_> {
        // SAFETY: the acquisition holds the GIL while borrowed.
        unsafe { Python::assume_gil_acquired() }
    }

    /// Finalizes the interpreter (`Py_FinalizeEx`), ending this acquisition without releasing
    /// the GIL (finalization consumes the thread state). Returns what `Py_FinalizeEx` did.
    pub(crate) fn finalize(self) -> std::os::raw::c_int {
        // The GIL is held by this acquisition, the only one left (the caller waited for
        // the others and no new one can start in FINALIZING).
        // SAFETY: for the reasons above.
        let rc = unsafe {
            drain_pending(InterpId::MAIN);
            ffi::Py_FinalizeEx()
        };
        GIL_COUNT.with(|c| c.set(0));
        KEPT.with(|k| {
            k.tstate.set(null_mut());
            k.owned.set(None);
        });
        self.entry.exit();
        std::mem::forget(self);
        rc
    }
}

impl Drop for Acquired {
    fn drop(&mut self) {
        GIL_COUNT.with(|c| c.set(0));
        match self.mode {
            #[cfg(py_3_12)]
            Mode::Sub => {
                // SAFETY: this thread holds the subinterpreter's GIL through its state.
                unsafe { ffi::PyEval_SaveThread() };
            }
            Mode::Kept => {
                // SAFETY: this thread holds the GIL through its kept state.
                let saved = unsafe { ffi::PyEval_SaveThread() };
                KEPT.with(|k| k.tstate.set(saved));
            }
            // SAFETY: paired with the Ensure in take_gil, on this thread.
            Mode::Foreign(s) => unsafe { ffi::PyGILState_Release(s) },
            Mode::AlreadyHeld => {}
        }
        self.entry.exit();
    }
}

/// Takes the GIL for an outermost acquisition.
///
/// # Safety
/// The interpreter is initialized and will not finalize before the matching release.
#[inline(always)]
unsafe fn take_gil() -> Mode {
    let kept = KEPT.try_with(|k| k.tstate.get()).unwrap_or(null_mut());
    if !kept.is_null() {
        // SAFETY: `kept` is this thread's own state and is not current (the count was 0).
        unsafe { ffi::PyEval_RestoreThread(kept) };
        return Mode::Kept;
    }
    // SAFETY: forwarded to the caller.
    unsafe { take_gil_first() }
}

/// [`take_gil`] on a thread without a kept state: one Python knows already, or a new one.
///
/// # Safety
/// As [`take_gil`].
#[cold]
#[inline(never)]
unsafe fn take_gil_first() -> Mode {
    // SAFETY: the interpreter is initialized (caller).
    let existing = unsafe { ffi::PyGILState_GetThisThreadState() };
    if !existing.is_null() {
        // SAFETY: as above.
        if unsafe { ffi::PyGILState_Check() } != 0 {
            return Mode::AlreadyHeld;
        }
        // SAFETY: as above; released in Acquired::drop.
        return Mode::Foreign(unsafe { ffi::PyGILState_Ensure() });
    }
    // First acquisition on a thread Python does not know: create the state and keep it.
    // Ensure creates the thread state and takes the GIL; the count of 1 it leaves keeps the
    // state alive until the thread-local destructor releases it.
    // SAFETY: as above, and for these reasons.
    let gstate = unsafe { ffi::PyGILState_Ensure() };
    // SAFETY: the GIL is held, so there is a current thread state.
    let tstate = unsafe { ffi::PyThreadState_Get() };
    let stored = KEPT
        .try_with(|k| {
            k.tstate.set(tstate);
            k.owned.set(Some(gstate));
        })
        .is_ok();
    if stored {
        Mode::Kept
    } else {
        // The thread is exiting and its thread-locals are gone: do not keep anything.
        Mode::Foreign(gstate)
    }
}

/// Deletes this thread's kept thread state now (see [`crate::release_thread_state`]).
pub(crate) fn release_thread_state() -> bool {
    if gil_is_held() {
        return false;
    }
    let (tstate, owned) = KEPT
        .try_with(|k| (k.tstate.get(), k.owned.get()))
        .unwrap_or((null_mut(), None));
    let Some(gstate) = owned else { return false };
    if tstate.is_null() {
        return false;
    }
    let Ok(entry) = enter_running() else {
        return false;
    };
    // `tstate` is this thread's own kept state, not current (the count is 0), and the
    // interpreter stays running while this thread is registered as active.
    // SAFETY: for the reasons above.
    unsafe { ffi::PyEval_RestoreThread(tstate) };
    let _ = KEPT.try_with(|k| {
        k.tstate.set(null_mut());
        k.owned.set(None);
    });
    // The GIL is held through `tstate`, the state `PyGILState_Ensure` created with
    // `gstate`; releasing that last count clears and deletes the state and releases the GIL.
    // SAFETY: for the reasons above.
    unsafe {
        drain_pending(InterpId::MAIN);
        ffi::PyGILState_Release(gstate);
    }
    entry.exit();
    true
}

/// A nested scope on a thread that holds the GIL.
pub(crate) struct Nested(PhantomData<*mut ()>);

impl Nested {
    /// Enters a nested scope on a thread that already holds the GIL through pyhost.
    #[inline(always)]
    fn enter_held() -> Nested {
        GIL_COUNT.with(|c| c.set(c.get() + 1));
        Nested(PhantomData)
    }

    /// Enters a scope on a thread that holds the GIL, through pyhost or not (a call from the
    /// interpreter into Rust): `py` proves it.
    #[inline(always)]
    pub(crate) fn enter(_py: Python<'_>) -> Nested {
        Nested::enter_held()
    }
}

impl Drop for Nested {
    #[inline(always)]
    fn drop(&mut self) {
        GIL_COUNT.with(|c| c.set(c.get() - 1));
    }
}

/// A raw GIL guard, for code that cannot be written as a closure. Guards must be dropped in the
/// reverse order of their creation on the thread that created them; a violation aborts the
/// process rather than corrupt the interpreter.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// // SAFETY: the guard is dropped on this thread, before any guard created earlier.
/// let guard = unsafe { pyhost::GilGuard::acquire() }?;
/// let py = guard.python();
/// assert!(py.eval("1 + 1")?.extract::<i32>()? == 2);
/// drop(guard);
/// # Ok::<(), pyhost::Error>(())
/// ```
pub struct GilGuard {
    outer: Option<Acquired>,
    depth: usize,
    _not_send: PhantomData<*mut ()>,
}

impl GilGuard {
    /// Takes the GIL (or nests in this thread's current hold).
    ///
    /// # Safety
    /// The guard is dropped on this thread, after every guard and [`with_gil`](crate::with_gil)
    /// scope entered after it has ended (LIFO).
    ///
    /// # Errors
    /// As [`with_gil`](crate::with_gil).
    pub unsafe fn acquire() -> Result<GilGuard> {
        let depth = GIL_COUNT.with(Cell::get);
        let outer = if depth > 0 {
            GIL_COUNT.with(|c| c.set(depth + 1));
            None
        } else {
            Some(Acquired::acquire()?)
        };
        Ok(GilGuard {
            outer,
            depth: depth + 1,
            _not_send: PhantomData,
        })
    }

    /// The token for this guard's scope.
    pub fn python(&self) -> Python<'_> {
        // SAFETY: the guard holds the GIL while borrowed.
        unsafe { Python::assume_gil_acquired() }
    }
}

impl Drop for GilGuard {
    fn drop(&mut self) {
        let now = GIL_COUNT.with(Cell::get);
        if now != self.depth {
            eprintln!(
                "pyhost: GilGuard dropped out of order (depth {} expected, {now} current); aborting",
                self.depth
            );
            std::process::abort();
        }
        match self.outer.take() {
            Some(a) => drop(a),
            None => GIL_COUNT.with(|c| c.set(now - 1)),
        }
    }
}

/// Sets this thread's GIL scope count (the ending of a subinterpreter holds its GIL without a
/// guard).
#[cfg(py_3_12)]
pub(crate) fn enter_count(n: usize) {
    GIL_COUNT.with(|c| c.set(n));
}

// ---------------------------------------------------------------------------------------------
// Starting: the configuration

/// Pre-initializes Python (`Py_PreInitialize`): the isolated pre-configuration or Python's
/// default one (which reads the locale and `PYTHONUTF8`), with UTF-8 mode forced on or off
/// when `utf8` says so, and the memory allocator when `allocator` names one. Must come before anything that decodes a string for the
/// configuration; CPython ignores a second call (a start retried after an error).
pub(crate) fn preinitialize(
    isolated: bool,
    utf8: Option<bool>,
    allocator: Option<ffi::PyMemAllocatorName>,
) -> Result<()> {
    let mut pre = MaybeUninit::<ffi::PyPreConfig>::zeroed();
    // The Init functions initialize every field of the (zeroed) struct; the one set after
    // is a plain integer; Py_PreInitialize only reads the struct.
    // SAFETY: for the reasons above.
    check_status(unsafe {
        if isolated {
            ffi::PyPreConfig_InitIsolatedConfig(pre.as_mut_ptr());
        } else {
            ffi::PyPreConfig_InitPythonConfig(pre.as_mut_ptr());
        }
        if let Some(on) = utf8 {
            (*pre.as_mut_ptr()).utf8_mode = on.into();
        }
        if let Some(a) = allocator {
            (*pre.as_mut_ptr()).allocator = a as _;
        }
        ffi::Py_PreInitialize(pre.as_ptr())
    })
}

/// A `PyConfig`, initialized, cleared when dropped. Only what pyhost sets is exposed.
pub(crate) struct Config {
    inner: Box<MaybeUninit<ffi::PyConfig>>,
}

impl Config {
    /// The isolated configuration (ignores the environment), or Python's default one.
    pub(crate) fn new(isolated: bool) -> Config {
        let mut inner = Box::new(MaybeUninit::<ffi::PyConfig>::zeroed());
        // SAFETY: the Init functions initialize every field of the (zeroed) struct.
        unsafe {
            if isolated {
                ffi::PyConfig_InitIsolatedConfig(inner.as_mut_ptr());
            } else {
                ffi::PyConfig_InitPythonConfig(inner.as_mut_ptr());
            }
        }
        Config { inner }
    }

    fn get(&self) -> &ffi::PyConfig {
        // SAFETY: initialized in `new`.
        unsafe { self.inner.assume_init_ref() }
    }

    fn ptr(&mut self) -> *mut ffi::PyConfig {
        self.inner.as_mut_ptr()
    }

    /// Sets the integer options pyhost exposes: signal handlers, buffered stdio, the user
    /// site directory, `import site`; argv parsing and C stdio configuration are off.
    pub(crate) fn set_flags(
        &mut self,
        signal_handlers: bool,
        buffered_stdio: bool,
        user_site: bool,
        site_import: bool,
    ) {
        // SAFETY: plain integer fields of the initialized struct.
        let c = unsafe { self.inner.assume_init_mut() };
        c.install_signal_handlers = signal_handlers.into();
        c.buffered_stdio = buffered_stdio.into();
        c.user_site_directory = user_site.into();
        c.site_import = site_import.into();
        c.parse_argv = 0;
        c.configure_c_stdio = 0;
    }

    /// Sets `program_name` (`home` when `home`) from UTF-8 text (CPython copies it).
    pub(crate) fn set_string(&mut self, home: bool, value: &str) -> Result<()> {
        let v = cstring(value)?;
        let c = self.ptr();
        // SAFETY: initialized config; the field is one of its own; `v` outlives the call.
        check_status(unsafe {
            let field = if home {
                &raw mut (*c).home
            } else {
                &raw mut (*c).program_name
            };
            ffi::PyConfig_SetBytesString(c, field, v.as_ptr())
        })
    }

    /// `argv` (CPython copies it).
    pub(crate) fn set_argv(&mut self, argv: &[String]) -> Result<()> {
        let owned: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
        let mut ptrs: Vec<*mut c_char> = owned.iter().map(|a| a.as_ptr().cast_mut()).collect();
        // Initialized config; `ptrs` holds `len` NUL-terminated strings that outlive
        // the call, which copies them.
        // SAFETY: for the reasons above.
        check_status(unsafe {
            ffi::PyConfig_SetBytesArgv(self.ptr(), ptrs.len() as ffi::Py_ssize_t, ptrs.as_mut_ptr())
        })
    }

    /// `PyConfig_Read`: computes what the other fields imply (the search path, up to 3.10).
    pub(crate) fn read(&mut self) -> Result<()> {
        // SAFETY: initialized config.
        check_status(unsafe { ffi::PyConfig_Read(self.ptr()) })
    }

    /// The module search path computed by [`Config::read`] (empty from 3.11, which computes
    /// it during initialization).
    pub(crate) fn module_search_paths(&self) -> Vec<PathBuf> {
        let list = &self.get().module_search_paths;
        (0..list.length)
            .map(|i| {
                // SAFETY: the list holds `length` valid wide strings.
                PathBuf::from(unsafe { wide_to_string(*list.items.offset(i)) })
            })
            .collect()
    }

    /// The Python home, if set.
    pub(crate) fn home(&self) -> Option<PathBuf> {
        let home = self.get().home;
        // SAFETY: NULL or a valid wide string owned by the config.
        (!home.is_null()).then(|| PathBuf::from(unsafe { wide_to_string(home) }))
    }

    /// `Py_InitializeFromConfig`. On success the calling thread holds the GIL through the
    /// main thread state; the returned guard says so, and when dropped marks the interpreter
    /// running and releases the GIL.
    pub(crate) fn initialize(mut self, starting: Starting) -> Result<Started> {
        // SAFETY: initialized config; `starting` proves this is the one start of the process.
        check_status(unsafe { ffi::Py_InitializeFromConfig(self.ptr()) })?;
        std::mem::forget(starting);
        // SAFETY: initialization just succeeded on this thread, which holds the GIL.
        let tstate = unsafe { ffi::PyThreadState_Get() };
        // SAFETY: as above.
        super::interp::note_main(unsafe { Python::assume_gil_acquired() });
        // The initializing thread's state belongs to finalization: kept, not owned.
        KEPT.with(|k| {
            k.tstate.set(tstate);
            k.owned.set(None);
        });
        Ok(Started {
            nested: Some(Nested::enter_held()),
        })
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: initialized in `new`; frees the strings CPython copied into it.
        unsafe { ffi::PyConfig_Clear(self.ptr()) }
    }
}

/// The right to start the interpreter: the lifecycle state is `STARTING` while it lives, and
/// goes back to `UNINIT` if it is dropped without a successful start.
pub(crate) struct Starting(());

impl Starting {
    /// Moves the state from `UNINIT` to `STARTING`.
    pub(crate) fn begin() -> Result<Starting> {
        match STATE.compare_exchange(UNINIT, STARTING, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => Ok(Starting(())),
            Err(FINALIZING | FINALIZED) => Err(Error::Finalized),
            Err(_) => Err(Error::AlreadyInitialized),
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        STATE.store(UNINIT, Ordering::SeqCst);
    }
}

/// The GIL held by the thread that just initialized Python. Dropping it marks the
/// interpreter running and releases the GIL (the state is kept for that thread).
pub(crate) struct Started {
    /// Marks the GIL held through pyhost on this thread until the drop releases it.
    nested: Option<Nested>,
}

impl Started {
    /// The token, while the GIL is held.
    pub(crate) fn python(&self) -> Python<'_> {
        // SAFETY: held since initialization, until drop.
        unsafe { Python::assume_gil_acquired() }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        active::setup();
        STATE.store(RUNNING, Ordering::SeqCst);
        drop(self.nested.take());
        GIL_COUNT.with(|c| c.set(0));
        // The GIL is held through this thread's main state since initialization; the
        // saved state stays this thread's kept one.
        // SAFETY: for the reasons above.
        let saved = unsafe { ffi::PyEval_SaveThread() };
        KEPT.with(|k| k.tstate.set(saved));
    }
}

/// Converts a NUL-terminated `wchar_t` string.
///
/// # Safety
/// `w` is NULL or a valid NUL-terminated wide string.
unsafe fn wide_to_string(w: *const ffi::wchar_t) -> String {
    if w.is_null() {
        return String::new();
    }
    (0..)
        // SAFETY: within the string, up to and including its terminator (caller).
        .map(|i| unsafe { *w.offset(i) } as u32)
        .take_while(|&c| c != 0)
        .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
        .collect()
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Init {
        message: format!("{s:?} contains a NUL byte"),
    })
}

/// Turns a failed `PyStatus` into [`Error::Init`].
pub(crate) fn check_status(status: ffi::PyStatus) -> Result<()> {
    // SAFETY: the status was returned by CPython; its strings are static or NULL.
    unsafe {
        if ffi::PyStatus_Exception(status) == 0 {
            return Ok(());
        }
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let (func, msg) = (text(status.func), text(status.err_msg));
        Err(Error::Init {
            message: if func.is_empty() {
                msg
            } else {
                format!("{func}: {msg}")
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The process-wide memory barrier behind the acquisition registry (`crate::active`)

#[cfg(target_os = "linux")]
mod barrier {
    use std::os::raw::{c_int, c_long};

    unsafe extern "C" {
        fn syscall(number: c_long, ...) -> c_long;
    }

    #[cfg(target_arch = "x86_64")]
    const SYS_MEMBARRIER: c_long = 324;
    #[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
    const SYS_MEMBARRIER: c_long = 283;
    #[cfg(target_arch = "arm")]
    const SYS_MEMBARRIER: c_long = 389;
    #[cfg(target_arch = "x86")]
    const SYS_MEMBARRIER: c_long = 375;
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "arm",
        target_arch = "x86"
    )))]
    const SYS_MEMBARRIER: c_long = -1;

    const CMD_PRIVATE_EXPEDITED: c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: c_int = 1 << 4;

    /// Registers the process for expedited private barriers (`membarrier(2)`).
    pub(crate) fn register() -> bool {
        if SYS_MEMBARRIER < 0 {
            return false;
        }
        // Membarrier(2) with a command and flags 0 only reads its arguments; an
        // unknown command or a kernel without it returns -1.
        // SAFETY: for the reasons above.
        unsafe { syscall(SYS_MEMBARRIER, CMD_REGISTER_PRIVATE_EXPEDITED, 0 as c_int) == 0 }
    }

    /// A full memory barrier on every running thread of the process.
    pub(crate) fn run() -> bool {
        // SAFETY: as above; the process registered first (`register` returned true).
        unsafe { syscall(SYS_MEMBARRIER, CMD_PRIVATE_EXPEDITED, 0 as c_int) == 0 }
    }
}

#[cfg(not(target_os = "linux"))]
mod barrier {
    pub(crate) fn register() -> bool {
        false
    }
    pub(crate) fn run() -> bool {
        false
    }
}

pub(crate) use barrier::{register as membarrier_register, run as membarrier};
