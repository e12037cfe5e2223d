//! The GIL: the [`Python`] token that proves it is held, [`with_gil`], [`Python::allow_threads`],
//! and the per-thread thread states that make taking it cheap.
//!
//! # Thread states
//!
//! CPython needs a `PyThreadState` for every OS thread that runs Python code. The C API's
//! `PyGILState_Ensure`/`Release` creates one on a thread Python did not start and destroys it
//! again when the outermost `Release` returns, so a Rust thread that takes the GIL in a loop pays
//! a create/destroy each time and loses its `threading.local` and contextvars state between
//! calls. pyhost creates the thread state on the first acquisition and keeps it until the
//! thread exits: later acquisitions are a `PyEval_RestoreThread`/`PyEval_SaveThread` pair.
//! When the thread exits, its state is handed to the next thread that takes the GIL, which
//! deletes it: a thread never waits for the GIL while exiting, so joining it while holding the
//! GIL is safe.
//!
//! Nested acquisitions on a thread that already holds the GIL only bump a thread-local count.
//!
//! # Finalization
//!
//! A global state word tells whether the interpreter is running. Every outermost acquisition
//! registers itself before checking it, and [`crate::shutdown`] waits for registered
//! acquisitions to end before finalizing, so no thread can be caught inside
//! `PyEval_RestoreThread` while the interpreter finalizes (which on CPython ≤ 3.13 would
//! terminate that thread, and from 3.14 hang it for ever). After finalization every
//! acquisition returns [`Error::Finalized`](crate::Error::Finalized).
//!
//! # What it calls, per CPython version
//!
//! | step | 3.8-3.11 | 3.12-3.13 | 3.14-3.15 |
//! |---|---|---|---|
//! | first acquisition on a thread | `PyGILState_Ensure`, its count of 1 kept | same | same |
//! | later acquisitions, and release | `PyEval_RestoreThread` / `PyEval_SaveThread` | same | same |
//! | a thread Python already knows (a C callback) | `PyGILState_Ensure` / `Release` | same | same |
//! | an exited thread's state | `PyThreadState_Clear` + `Delete` at the next acquisition | the same, after marking it unbound from its `PyGILState` slot | same |
//! | [`crate::shutdown`] | waits for acquisitions, `Py_FinalizeEx` on any thread | the same up to 3.12; from 3.13 only on the starting thread | starting thread only |
//!
//! CPython 3.15 adds PEP 788's interpreter guards and `PyThreadState_Ensure`. pyhost does not
//! use them for its kept states: an acquisition through them is a create-or-reuse like
//! `PyGILState_Ensure` plus a guard, which blocks finalization while held, so a guard kept with
//! a thread's state would hold `Py_FinalizeEx` until every thread that ever used Python has
//! exited, and one taken per acquisition adds an interpreter-wide atomic count to the two calls
//! a kept state costs. What the guards protect against, a thread entering while the
//! interpreter finalizes, pyhost's own registry of acquisitions already rules out for every
//! acquisition made through it: shutdown waits for those in progress, and later ones fail
//! with `Error::Finalized` instead of entering.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::{NonNull, null_mut};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::active;

use crate::{Error, Result, ffi};

/// A token proving that the current thread holds the GIL.
///
/// It is `Copy`, zero-sized, and neither `Send` nor `Sync`: values bound to `'py` cannot leave
/// the thread or outlive the scope that took the GIL. Get one from [`with_gil`].
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// let n: i64 = pyhost::with_gil(|py| py.eval("6 * 7")?.extract())?;
/// assert_eq!(n, 42);
/// # Ok::<(), pyhost::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Python<'py>(PhantomData<(&'py (), *mut ())>);

// The token must never become Send or Sync through a refactor.
const _: () = {
    trait AmbiguousIfSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    trait AmbiguousIfSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}
    // These resolve only while `Python` is neither Send nor Sync.
    let _ = <Python<'static> as AmbiguousIfSend<_>>::check;
    let _ = <Python<'static> as AmbiguousIfSync<_>>::check;
};

impl<'py> Python<'py> {
    /// A token without checking that the GIL is held.
    ///
    /// # Safety
    /// The current thread holds the GIL for all of `'py`.
    #[inline(always)]
    pub unsafe fn assume_gil_acquired() -> Python<'py> {
        Python(PhantomData)
    }

    /// Runs `f` with the GIL released, so other threads can run Python while this one does
    /// blocking Rust work (I/O, locks, long computations). `f` must be `Send`, which keeps the
    /// token and every GIL-bound value out of it. A panic in `f` is resumed after the GIL is
    /// taken back.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// let total = pyhost::with_gil(|py| {
    ///     let data = vec![1u64, 2, 3];
    ///     Ok(py.allow_threads(move || data.iter().sum::<u64>()))
    /// })?;
    /// assert_eq!(total, 6);
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn allow_threads<T, F>(self, f: F) -> T
    where
        F: Send + FnOnce() -> T,
        T: Send,
    {
        let count = GIL_COUNT.with(|c| c.replace(0));
        // SAFETY: the token proves this thread holds the GIL through its current thread state.
        let tstate = unsafe { ffi::PyEval_SaveThread() };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        // SAFETY: `tstate` is the state saved above, on this same thread. The enclosing
        // acquisition is still registered as active, so shutdown has not finalized.
        unsafe { ffi::PyEval_RestoreThread(tstate) };
        GIL_COUNT.with(|c| c.set(count));
        match result {
            Ok(v) => v,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }
}

/// Runs `f` with the GIL held and returns what it returns.
///
/// Re-entrant: when this thread already holds the GIL, it only bumps a thread-local count (no
/// C call). Otherwise it takes the GIL through this thread's kept thread state (created on the
/// first call, kept until the thread exits).
///
/// # Errors
/// [`Error::NotInitialized`] before [`crate::initialize`], [`Error::Finalized`] once
/// [`crate::shutdown`] has begun; otherwise whatever `f` returns.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// let version = pyhost::with_gil(|py| {
///     let sys = py.import("sys")?;
///     sys.getattr("version_info")?.getattr("major")?.extract::<u32>()
/// })?;
/// assert_eq!(version, 3);
/// # Ok::<(), pyhost::Error>(())
/// ```
#[inline]
pub fn with_gil<T, F>(f: F) -> Result<T>
where
    F: for<'py> FnOnce(Python<'py>) -> Result<T>,
{
    let depth = GIL_COUNT.with(Cell::get);
    if depth > 0 {
        // Fast path: the GIL is already held by this thread.
        let _nested = Nested::enter();
        // SAFETY: a positive count means this thread holds the GIL.
        return f(unsafe { Python::assume_gil_acquired() });
    }
    let guard = Acquired::acquire()?;
    // SAFETY: `guard` holds the GIL until it is dropped after `f`.
    let r = f(unsafe { Python::assume_gil_acquired() });
    drop(guard);
    r
}

// ---------------------------------------------------------------------------------------------
// Global interpreter state

pub(crate) const UNINIT: u8 = 0;
pub(crate) const STARTING: u8 = 1;
pub(crate) const RUNNING: u8 = 2;
pub(crate) const FINALIZING: u8 = 3;
pub(crate) const FINALIZED: u8 = 4;

/// The interpreter's lifecycle state.
pub(crate) static STATE: AtomicU8 = AtomicU8::new(UNINIT);

thread_local! {
    /// How many nested GIL scopes this thread is in (0: it does not hold the GIL through
    /// pyhost). No destructor, so it stays usable while other thread-locals are destroyed.
    static GIL_COUNT: Cell<usize> = const { Cell::new(0) };
    /// This thread's kept thread state.
    static KEPT: KeptState = const { KeptState { tstate: Cell::new(null_mut()), owned: Cell::new(None) } };
}

/// Whether this thread holds the GIL through pyhost (a [`with_gil`] scope or a call from
/// Python into Rust).
pub fn gil_is_held() -> bool {
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

/// How an outermost acquisition got the GIL, and so how to give it back.
enum Mode {
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

impl Acquired {
    /// Takes the GIL on this thread (which does not hold it through pyhost).
    pub(crate) fn acquire() -> Result<Acquired> {
        let entry = active::enter();
        let state = STATE.load(Ordering::SeqCst);
        if state != RUNNING {
            entry.exit();
            return Err(match state {
                UNINIT | STARTING => Error::NotInitialized,
                _ => Error::Finalized,
            });
        }
        // SAFETY: the interpreter is running and stays so while we are registered as active.
        let mode = unsafe { take_gil() };
        GIL_COUNT.with(|c| c.set(1));
        // SAFETY: the GIL is held.
        unsafe { drain_pending() };
        Ok(Acquired {
            mode,
            entry,
            _not_send: PhantomData,
        })
    }

    /// Takes the GIL for shutdown, which has already moved the state to `FINALIZING`.
    pub(crate) fn acquire_for_shutdown() -> Acquired {
        let entry = active::enter();
        // SAFETY: only the shutting-down thread gets here, after every other acquisition ended.
        let mode = unsafe { take_gil() };
        GIL_COUNT.with(|c| c.set(1));
        Acquired {
            mode,
            entry,
            _not_send: PhantomData,
        }
    }

    /// Ends the acquisition without releasing the GIL (finalization consumed the thread state).
    pub(crate) fn forget_after_finalize(self) {
        GIL_COUNT.with(|c| c.set(0));
        KEPT.with(|k| {
            k.tstate.set(null_mut());
            k.owned.set(None);
        });
        self.entry.exit();
        std::mem::forget(self);
    }
}

impl Drop for Acquired {
    fn drop(&mut self) {
        GIL_COUNT.with(|c| c.set(0));
        match self.mode {
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
unsafe fn take_gil() -> Mode {
    let kept = KEPT.try_with(|k| k.tstate.get()).unwrap_or(null_mut());
    if !kept.is_null() {
        // SAFETY: `kept` is this thread's own state and is not current (the count was 0).
        unsafe { ffi::PyEval_RestoreThread(kept) };
        return Mode::Kept;
    }
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
    // SAFETY: as above. Ensure creates the thread state and takes the GIL; the count of 1 it
    // leaves keeps the state alive until the thread-local destructor releases it.
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

/// Deletes this thread's kept thread state now (waiting for the GIL), instead of when the
/// thread exits.
///
/// pyhost normally deletes a thread's state after the thread has exited, at the next GIL
/// acquisition by any thread. Call this at the end of a thread that used Python when the
/// interpreter may be finalized right after the thread ends: Python's `threading` module can
/// wait at finalization for the state of a thread that imported it, and a state deleted only
/// after the thread exits could be too late. The next acquisition on this thread creates a
/// new state. Returns whether a state was deleted: nothing happens when this thread holds the
/// GIL, keeps no state of its own (the initializing thread's belongs to finalization), or the
/// interpreter is not running.
///
/// ```
/// # pyhost::initialize_once()?;
/// std::thread::spawn(|| {
///     pyhost::with_gil(|py| py.exec("import threading; threading.local().x = 1")).unwrap();
///     assert!(pyhost::release_thread_state());
///     assert!(!pyhost::release_thread_state(), "nothing left to delete");
/// })
/// .join()
/// .unwrap();
/// # Ok::<(), pyhost::Error>(())
/// ```
pub fn release_thread_state() -> bool {
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
    let entry = active::enter();
    if STATE.load(Ordering::SeqCst) != RUNNING {
        entry.exit();
        return false;
    }
    // SAFETY: `tstate` is this thread's own kept state, not current (the count is 0), and the
    // interpreter stays running while this thread is registered as active.
    unsafe { ffi::PyEval_RestoreThread(tstate) };
    let _ = KEPT.try_with(|k| {
        k.tstate.set(null_mut());
        k.owned.set(None);
    });
    // SAFETY: the GIL is held through `tstate`, the state `PyGILState_Ensure` created with
    // `gstate`; releasing that last count clears and deletes the state and releases the GIL.
    unsafe {
        drain_pending();
        ffi::PyGILState_Release(gstate);
    }
    entry.exit();
    true
}

/// Records the initializing thread's state (created by `Py_InitializeFromConfig`) as this
/// thread's kept state, not owned: finalization deletes it.
pub(crate) fn adopt_main_thread_state(tstate: *mut ffi::PyThreadState) {
    KEPT.with(|k| {
        k.tstate.set(tstate);
        k.owned.set(None);
    });
}

/// A nested scope on a thread that already holds the GIL.
pub(crate) struct Nested(PhantomData<*mut ()>);

impl Nested {
    #[inline(always)]
    pub(crate) fn enter() -> Nested {
        GIL_COUNT.with(|c| c.set(c.get() + 1));
        Nested(PhantomData)
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
    /// The guard is dropped on this thread, after every guard and [`with_gil`] scope entered
    /// after it has ended (LIFO).
    ///
    /// # Errors
    /// As [`with_gil`].
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

// ---------------------------------------------------------------------------------------------
// Deferred work: reference releases and thread-state deletions that need the GIL

/// References released by threads that did not hold the GIL, applied at the next acquisition.
static PENDING: Mutex<Vec<PendingPtr>> = Mutex::new(Vec::new());
/// Thread states of exited threads, deleted at the next acquisition.
static DEAD_STATES: Mutex<Vec<DeadState>> = Mutex::new(Vec::new());
/// Set when either list has entries: one load on every outermost acquisition.
static MAINTENANCE: AtomicBool = AtomicBool::new(false);

struct PendingPtr(NonNull<ffi::PyObject>);
// SAFETY: the pointer is only dereferenced (decref'd) with the GIL held.
unsafe impl Send for PendingPtr {}

struct DeadState(*mut ffi::PyThreadState);
// SAFETY: the thread that owned the state has exited; the state is only touched again with the
// GIL held, to clear and delete it.
unsafe impl Send for DeadState {}

/// Releases an owned reference: now when this thread holds the GIL, otherwise at the next
/// acquisition by any thread. After finalization the reference is simply forgotten (the
/// interpreter's memory is gone). Never blocks on the GIL.
pub(crate) fn release_owned(ptr: NonNull<ffi::PyObject>) {
    match STATE.load(Ordering::Acquire) {
        FINALIZING | FINALIZED => {}
        _ if gil_is_held() => {
            // SAFETY: this thread holds the GIL and owns the reference.
            unsafe { ffi::Py_DECREF(ptr.as_ptr()) }
        }
        _ => {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.push(PendingPtr(ptr));
            MAINTENANCE.store(true, Ordering::Release);
        }
    }
}

/// Applies the deferred releases and deletes the thread states of exited threads.
///
/// # Safety
/// The GIL is held.
#[inline]
pub(crate) unsafe fn drain_pending() {
    if !MAINTENANCE.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: forwarded to the caller.
    unsafe { drain_pending_slow() }
}

#[cold]
unsafe fn drain_pending_slow() {
    if !MAINTENANCE.swap(false, Ordering::AcqRel) {
        return;
    }
    let dead = std::mem::take(&mut *DEAD_STATES.lock().unwrap_or_else(|e| e.into_inner()));
    for d in dead {
        // From 3.12, deleting a state still marked as bound to its thread's `PyGILState` slot
        // clears that slot of the *calling* thread (CPython assumes the owner deletes it), so
        // this thread would lose its own `PyGILState_GetThisThreadState()` and a later
        // `PyGILState_Release` would abort. The owner has exited and its slot is gone with it:
        // mark the state unbound first.
        #[cfg(py_3_12)]
        // SAFETY: GIL held; the state is live until deleted below and no other thread uses it.
        unsafe {
            (*d.0)._status.set_bound_gilstate(0);
        }
        // SAFETY: GIL held (caller). The state belonged to a thread that has exited without
        // holding the GIL; clearing it may run Python code (thread-local destructors) on this
        // thread, which is allowed with the GIL held, and a cleared state may be deleted from
        // any thread.
        unsafe {
            ffi::PyThreadState_Clear(d.0);
            ffi::PyThreadState_Delete(d.0);
        }
    }
    let taken = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    for p in taken {
        // SAFETY: GIL held (caller); each pointer is an owned reference queued once.
        unsafe { ffi::Py_DECREF(p.0.as_ptr()) };
    }
}

/// How many releases are waiting for the GIL (for tests and diagnostics).
pub fn pending_decrefs() -> usize {
    PENDING.lock().map(|p| p.len()).unwrap_or(0)
}

/// How many thread states of exited threads wait to be deleted (for tests and diagnostics).
pub fn pending_thread_states() -> usize {
    DEAD_STATES.lock().map(|p| p.len()).unwrap_or(0)
}
