//! Interpreters: which one a thread runs in, values cached once per interpreter, and (CPython
//! 3.12+) subinterpreters with their own GIL: creating, entering, helper threads and ending.
//!
//! [`crate::subinterpreter`] is the public face of this, with the model explained.
//!
//! # The rules this file keeps
//!
//! - A subinterpreter is made and ended on one thread (its owner), which keeps its thread
//!   state: entering is a restore/save pair, as for the main interpreter's kept state.
//! - A thread enters an interpreter only when it holds no GIL through pyhost, so a token and
//!   every value bound to it belong to exactly one interpreter.
//! - Other threads of pyhost reach a subinterpreter only through a [`Remote`]: a helper thread
//!   with its own thread state in that interpreter (and in no other), so `PyGILState`'s
//!   per-thread slot never points at a state another thread deletes.
//! - Ending deletes the helper's thread state first (`Py_EndInterpreter` needs the caller's to
//!   be the last one), then the interpreter; the deferred releases of its objects are applied
//!   before, and any that arrive after are forgotten (its memory is gone).

use std::sync::OnceLock;
#[cfg(py_3_12)]
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::types::Any;
use crate::{Borrowed, Object, Python, Result, Unbound, ffi};

/// The id CPython gives an interpreter (`PyInterpreterState_GetID`): 0 for the main one, and
/// never reused in a process.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub(crate) struct InterpId(pub(crate) i64);

impl InterpId {
    pub(crate) const MAIN: InterpId = InterpId(0);

    #[inline(always)]
    pub(crate) fn is_main(self) -> bool {
        self.0 == 0
    }
}

/// The main interpreter, recorded at initialization.
#[cfg(py_3_12)]
static MAIN: AtomicPtr<ffi::PyInterpreterState> = AtomicPtr::new(std::ptr::null_mut());
/// Whether a subinterpreter was ever created: until then every check is one load.
static SUBS_EXIST: AtomicBool = AtomicBool::new(false);

/// Records the main interpreter: called once, by the initializing thread, with the GIL held.
pub(crate) fn note_main(_py: Python<'_>) {
    #[cfg(py_3_12)]
    // SAFETY: the GIL is held (token), so there is a current interpreter.
    MAIN.store(unsafe { ffi::PyInterpreterState_Get() }, Ordering::Release);
}

/// Whether any subinterpreter was ever created in this process.
#[inline(always)]
pub(crate) fn subs_exist() -> bool {
    SUBS_EXIST.load(Ordering::Relaxed)
}

/// The interpreter this thread is running in (the token proves it runs in one).
#[inline]
pub(crate) fn current(_py: Python<'_>) -> InterpId {
    #[cfg(py_3_12)]
    if subs_exist() {
        // SAFETY: the GIL of the current interpreter is held (token).
        let p = unsafe { ffi::PyInterpreterState_Get() };
        if p != MAIN.load(Ordering::Acquire) {
            // SAFETY: `p` is the live current interpreter.
            return InterpId(unsafe { ffi::PyInterpreterState_GetID(p) });
        }
    }
    InterpId::MAIN
}

// ---------------------------------------------------------------------------------------------
// Values cached per interpreter

/// A Python object created once per interpreter (an interned name, an exception class, a
/// class's type object). The main interpreter's copy sits in a `OnceLock`; a subinterpreter's
/// in that interpreter's own dictionary (`PyInterpreterState_GetDict`), keyed by this cell's
/// address, so it goes away with the interpreter.
pub(crate) struct PerInterp<T> {
    main: OnceLock<Unbound<T>>,
}

impl<T> PerInterp<T> {
    pub(crate) const fn new() -> Self {
        PerInterp {
            main: OnceLock::new(),
        }
    }

    /// The value of the current interpreter, if created.
    #[inline]
    pub(crate) fn get<'a, 'py>(&'a self, py: Python<'py>) -> Option<Borrowed<'a, 'py, T>> {
        if current(py).is_main() {
            return self.main.get().map(|u| u.bind(py));
        }
        self.sub_get(py)
    }

    /// The value of the current interpreter, created with `init` if needed. `init` may run
    /// Python code (and so let another thread in): the first value stored wins.
    #[inline]
    pub(crate) fn get_or_try_init<'a, 'py>(
        &'a self,
        py: Python<'py>,
        init: impl FnOnce() -> Result<Object<'py, T>>,
    ) -> Result<Borrowed<'a, 'py, T>> {
        if current(py).is_main() {
            if let Some(u) = self.main.get() {
                return Ok(u.bind(py));
            }
            let made = init()?;
            let _ = self.main.set(made.unbind());
            return Ok(self.main.get().expect("set above").bind(py));
        }
        if let Some(b) = self.sub_get(py) {
            return Ok(b);
        }
        let made = init()?;
        self.sub_insert(py, made)
    }

    fn key<'py>(&self, py: Python<'py>) -> Result<Object<'py, Any>> {
        let addr = self as *const Self as *mut std::ffi::c_void;
        // SAFETY: GIL held (token); the result is checked.
        unsafe { Object::from_owned_ptr_or_err(py, ffi::PyLong_FromVoidPtr(addr)) }
    }

    /// The interpreter's dictionary (borrowed; it lives as long as the interpreter). Only
    /// subinterpreters use it, so only 3.12+.
    fn dict<'py>(py: Python<'py>) -> Option<Borrowed<'py, 'py, Any>> {
        #[cfg(not(py_3_12))]
        {
            let _ = py;
            None
        }
        #[cfg(py_3_12)]
        // GIL held (token). The dict belongs to the live current interpreter and is only
        // cleared when it is finalized, which cannot happen while a token for it exists.
        // SAFETY: for the reasons above.
        unsafe {
            let d = ffi::PyInterpreterState_GetDict(ffi::PyInterpreterState_Get());
            std::ptr::NonNull::new(d).map(|d| Borrowed::from_ptr(py, d))
        }
    }

    #[cold]
    fn sub_get<'a, 'py>(&'a self, py: Python<'py>) -> Option<Borrowed<'a, 'py, T>> {
        let dict = Self::dict(py)?;
        let key = self.key(py).ok()?;
        // GIL held; live dict and key. The value is borrowed from the interpreter's dict,
        // which keeps it until the interpreter ends (entries are never replaced: see
        // `sub_insert`), and the interpreter outlives the token. The value was stored by this
        // cell, so it is a `T`.
        // SAFETY: for the reasons above.
        unsafe {
            let v = ffi::PyDict_GetItemWithError(dict.as_ptr(), key.as_ptr());
            if v.is_null() {
                super::objects::err_clear(py);
                return None;
            }
            Some(
                Borrowed::<Any>::from_ptr(py, std::ptr::NonNull::new_unchecked(v)).cast_unchecked(),
            )
        }
    }

    #[cold]
    fn sub_insert<'a, 'py>(
        &'a self,
        py: Python<'py>,
        value: Object<'py, T>,
    ) -> Result<Borrowed<'a, 'py, T>> {
        let Some(dict) = Self::dict(py) else {
            return Err(crate::Error::runtime_error("interpreter has no state dict"));
        };
        let key = self.key(py)?;
        // GIL held; live dict, key and value. `PyDict_SetDefault` keeps an entry that
        // another thread stored first, and returns a borrowed reference to the entry, which
        // the dict keeps (as in `sub_get`).
        // SAFETY: for the reasons above.
        unsafe {
            let v = ffi::PyDict_SetDefault(dict.as_ptr(), key.as_ptr(), value.as_ptr());
            let v = Borrowed::<Any>::from_ptr_or_err(py, v)?;
            Ok(
                Borrowed::<Any>::from_ptr(py, std::ptr::NonNull::new_unchecked(v.as_ptr()))
                    .cast_unchecked(),
            )
        }
    }
}

/// Whether subinterpreter `id` has not ended.
pub(crate) fn is_live(id: InterpId) -> bool {
    #[cfg(py_3_12)]
    return sub::is_live(id);
    #[cfg(not(py_3_12))]
    {
        let _ = id;
        false
    }
}

/// Subinterpreters: only CPython 3.12+ has interpreters with their own GIL.
#[cfg(py_3_12)]
pub(crate) use sub::{Remote, SubConfig, SubInterp, end_remaining};

#[cfg(py_3_12)]
mod sub {
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex, mpsc};

    use std::marker::PhantomData;

    use super::{InterpId, SUBS_EXIST};
    use crate::raw::deferred;
    use crate::raw::runtime::{self, Acquired};
    use crate::{Error, Python, Result, ffi};

    /// What `PyInterpreterConfig` holds.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct SubConfig {
        pub own_gil: bool,
        pub use_main_obmalloc: bool,
        pub allow_fork: bool,
        pub allow_exec: bool,
        pub allow_threads: bool,
        pub allow_daemon_threads: bool,
        pub check_multi_interp_extensions: bool,
    }

    /// A thread state handed between threads: only used under the rules of this file.
    #[derive(Clone, Copy)]
    struct TState(*mut ffi::PyThreadState);
    // SAFETY: a thread state is only attached by the thread the rules above give it to.
    unsafe impl Send for TState {}

    type Job = Box<dyn for<'py> FnOnce(Python<'py>) + Send>;

    /// A subinterpreter, owned by the thread that made it (not `Send`).
    pub(crate) struct SubInterp {
        tstate: *mut ffi::PyThreadState,
        interp: *mut ffi::PyInterpreterState,
        id: InterpId,
        helper: Option<(mpsc::Sender<Job>, std::thread::JoinHandle<()>)>,
        /// Shared with the registry, so shutdown can end it if its owner did not.
        entry: Arc<Registered>,
        _not_send: PhantomData<*mut ()>,
    }

    /// A live subinterpreter, as shutdown sees it.
    struct Registered {
        id: InterpId,
        /// `None` once ended. Locked while ending, and by a helper while it runs a job.
        states: Mutex<Option<States>>,
    }

    struct States {
        interp: *mut ffi::PyInterpreterState,
        owner: TState,
        helper: Option<TState>,
    }
    // SAFETY: the pointers are only used under the `states` lock by the thread ending the
    // interpreter, when no other thread is attached to it.
    unsafe impl Send for States {}

    static LIVE: Mutex<Vec<Arc<Registered>>> = Mutex::new(Vec::new());

    pub(crate) fn is_live(id: InterpId) -> bool {
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|r| r.id == id)
    }

    impl SubInterp {
        /// Creates a subinterpreter owned by this thread, which must not hold a GIL through
        /// pyhost. The calling thread takes the main GIL for the creation, and holds no GIL
        /// afterwards.
        pub(crate) fn create(cfg: &SubConfig) -> Result<SubInterp> {
            if runtime::gil_is_held() {
                return Err(Error::WrongInterpreter {
                    message: "a subinterpreter is created outside any GIL scope; this thread \
                              holds one (leave it, or create it from Python::allow_threads)"
                        .into(),
                });
            }
            let c = ffi::PyInterpreterConfig {
                use_main_obmalloc: cfg.use_main_obmalloc.into(),
                allow_fork: cfg.allow_fork.into(),
                allow_exec: cfg.allow_exec.into(),
                allow_threads: cfg.allow_threads.into(),
                allow_daemon_threads: cfg.allow_daemon_threads.into(),
                check_multi_interp_extensions: cfg.check_multi_interp_extensions.into(),
                gil: if cfg.own_gil {
                    ffi::PyInterpreterConfig_OWN_GIL
                } else {
                    ffi::PyInterpreterConfig_SHARED_GIL
                } as _,
            };
            let main = Acquired::acquire()?;
            #[cfg(not(py_3_13))]
            prime_single_phase_extensions(main.python());
            let mut tstate: *mut ffi::PyThreadState = std::ptr::null_mut();
            // The main GIL is held through this thread's state `main_ts`. This is the
            // sequence CPython's own `interpreters` module uses: from 3.13 the caller detaches
            // first; on success the new interpreter's state is current (holding its GIL),
            // and swapping back to `main_ts` releases that GIL and takes the main one again.
            // On failure CPython 3.12 has already swapped back, and from 3.13 we do.
            // SAFETY: for the reasons above.
            let (status, interp) = unsafe {
                let main_ts = ffi::PyThreadState_Get();
                #[cfg(py_3_13)]
                ffi::PyThreadState_Swap(std::ptr::null_mut());
                let status = ffi::Py_NewInterpreterFromConfig(&mut tstate, &c);
                let failed = ffi::PyStatus_Exception(status) != 0;
                let interp = if failed {
                    std::ptr::null_mut()
                } else {
                    ffi::PyThreadState_GetInterpreter(tstate)
                };
                if !failed || cfg!(py_3_13) {
                    ffi::PyThreadState_Swap(main_ts);
                }
                (status, interp)
            };
            drop(main);
            runtime::check_status(status).map_err(|e| Error::WrongInterpreter {
                message: format!("could not create a subinterpreter: {e}"),
            })?;
            SUBS_EXIST.store(true, Ordering::Release);
            // SAFETY: a live interpreter (just created).
            let id = InterpId(unsafe { ffi::PyInterpreterState_GetID(interp) });
            let entry = Arc::new(Registered {
                id,
                states: Mutex::new(Some(States {
                    interp,
                    owner: TState(tstate),
                    helper: None,
                })),
            });
            LIVE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(entry.clone());
            Ok(SubInterp {
                tstate,
                interp,
                id,
                helper: None,
                entry,
                _not_send: PhantomData,
            })
        }

        pub(crate) fn id(&self) -> InterpId {
            self.id
        }

        /// Runs `f` in this interpreter, holding its GIL.
        pub(crate) fn with_gil<T>(
            &self,
            f: impl for<'py> FnOnce(Python<'py>) -> Result<T>,
        ) -> Result<T> {
            if runtime::gil_is_held() {
                return Err(Error::WrongInterpreter {
                    message: format!(
                        "cannot enter subinterpreter {} while this thread holds a GIL \
                         (values of one interpreter must not reach another): leave that scope \
                         first, or enter from Python::allow_threads",
                        self.id.0
                    ),
                });
            }
            let guard = Acquired::acquire_sub(self.tstate, self.id)?;
            f(guard.python())
        }

        /// A handle other threads use to run code in this interpreter, on a helper thread
        /// with its own thread state here. Made on first use.
        pub(crate) fn remote(&mut self) -> Result<Remote> {
            if let Some((tx, _)) = &self.helper {
                return Ok(Remote { tx: tx.clone() });
            }
            let (tx, rx) = mpsc::channel::<Job>();
            let (ready_tx, ready_rx) = mpsc::channel::<bool>();
            let entry = self.entry.clone();
            let interp = Interp(self.interp);
            let id = self.id;
            let handle = std::thread::Builder::new()
                .name(format!("pyhost-interp-{}", id.0))
                .spawn(move || {
                    let interp = interp;
                    helper_loop(&entry, interp.0, id, &rx, &ready_tx);
                })
                .map_err(|e| Error::runtime_error(format!("could not start a thread: {e}")))?;
            if ready_rx.recv() != Ok(true) {
                drop(tx);
                let _ = handle.join();
                return Err(Error::runtime_error("could not create a thread state"));
            }
            self.helper = Some((tx.clone(), handle));
            Ok(Remote { tx })
        }
    }

    /// An interpreter pointer handed to its helper thread.
    struct Interp(*mut ffi::PyInterpreterState);
    // SAFETY: the helper only uses it while the interpreter is live (under the registry lock,
    // before its owner ends it, which waits for the helper).
    unsafe impl Send for Interp {}

    /// CPython 3.12 still initializes `_decimal`, `_datetime` and `_ctypes` in single phase,
    /// with static types. The first import of such a module in an isolated subinterpreter runs
    /// its init function there before refusing it, and the next import anywhere runs it again
    /// on types that hold the first interpreter's objects: `import decimal` in two
    /// interpreters is a double free (also with CPython's own `interpreters` module). Once
    /// the main interpreter has imported them, subinterpreters refuse them from CPython's
    /// cache without running their init: `decimal` and `datetime` fall back to their
    /// pure-Python versions, and `ctypes` fails with a clear `ImportError`
    /// ([`Error::RefusesSubinterpreters`](crate::Error::RefusesSubinterpreters)). 3.13 made
    /// `_decimal`, `_datetime` and `_ctypes` multi-phase.
    ///
    /// Threads creating their first subinterpreters at once may each do it (imports are
    /// idempotent): waiting on a lock here, with the GIL held, while the thread holding it
    /// waits for the GIL inside an import, would deadlock.
    #[cfg(not(py_3_13))]
    fn prime_single_phase_extensions(py: Python<'_>) {
        static PRIMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if PRIMED.load(Ordering::Acquire) {
            return;
        }
        for name in ["_decimal", "_datetime", "_ctypes"] {
            // A module this CPython lacks (a build without libffi, say) is no hazard.
            if let Ok(n) = crate::types::Str::new(py, name) {
                let _ = crate::raw::objects::import(&n);
            }
        }
        PRIMED.store(true, Ordering::Release);
    }

    fn helper_loop(
        entry: &Registered,
        interp: *mut ffi::PyInterpreterState,
        id: InterpId,
        rx: &mpsc::Receiver<Job>,
        ready: &mpsc::Sender<bool>,
    ) {
        // The state is made on this thread, so it is this thread's (its thread id is the one
        // `PyThreadState_SetAsyncExc` and `threading` see), and registered so that shutdown
        // can delete it.
        let ts = {
            let mut states = entry.states.lock().unwrap_or_else(|e| e.into_inner());
            let Some(s) = states.as_mut() else {
                let _ = ready.send(false);
                return;
            };
            // A new thread state of this live interpreter (registered, and the lock keeps it
            // from being ended); it may be made without holding any GIL.
            // SAFETY: for the reasons above.
            let ts = TState(unsafe { ffi::PyThreadState_New(interp) });
            if ts.0.is_null() {
                let _ = ready.send(false);
                return;
            }
            s.helper = Some(ts);
            ts
        };
        let _ = ready.send(true);
        for job in rx {
            // Holding the lock keeps the interpreter from being ended meanwhile.
            let states = entry.states.lock().unwrap_or_else(|e| e.into_inner());
            if states.is_none() {
                continue;
            }
            if let Ok(guard) = Acquired::acquire_sub(ts.0, id) {
                job(guard.python());
            }
            drop(states);
        }
        // The owner is ending the interpreter and waits for this thread: delete its state.
        let states = entry.states.lock().unwrap_or_else(|e| e.into_inner());
        if states.is_some() {
            // `ts` is this thread's own state of the live interpreter, not attached (the
            // guards above detached it); attaching takes that interpreter's GIL, and
            // clearing then deleting the current state releases it.
            // SAFETY: for the reasons above.
            unsafe {
                ffi::PyEval_RestoreThread(ts.0);
                ffi::PyThreadState_Clear(ts.0);
                ffi::PyThreadState_DeleteCurrent();
            }
        }
    }

    impl Drop for SubInterp {
        fn drop(&mut self) {
            // Stop the helper: it deletes its own thread state before it exits.
            if let Some((tx, handle)) = self.helper.take() {
                drop(tx);
                let _ = handle.join();
            }
            let mut states = self.entry.states.lock().unwrap_or_else(|e| e.into_inner());
            if states.is_none() {
                return; // shutdown ended it
            }
            if let Some(s) = states.as_mut() {
                s.helper = None;
            }
            let Ok(entry) = runtime::enter_running() else {
                // Shutdown has begun, and ends what is left.
                return;
            };
            *states = None;
            drop(states);
            LIVE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|r| r.id != self.id);
            // `tstate` is this thread's own state of the interpreter, not attached (this
            // thread holds no GIL: a guard ended before this drop). The helper's state is
            // gone, so this is the interpreter's only one, as `Py_EndInterpreter` requires;
            // it leaves no current state.
            // SAFETY: for the reasons above.
            unsafe {
                ffi::PyEval_RestoreThread(self.tstate);
                runtime::enter_count(1);
                deferred::drain_pending_for(self.id);
                ffi::Py_EndInterpreter(self.tstate);
                runtime::enter_count(0);
            }
            deferred::forget_pending_for(self.id);
            crate::raw::alloc::interpreter_ended();
            entry.exit();
        }
    }

    /// Runs code in a subinterpreter from any thread (see [`SubInterp::remote`]).
    #[derive(Clone)]
    pub(crate) struct Remote {
        tx: mpsc::Sender<Job>,
    }

    impl Remote {
        /// Queues `f` to run on the helper thread, holding the interpreter's GIL. It does
        /// not run if the interpreter ends first.
        pub(crate) fn run(&self, f: impl for<'py> FnOnce(Python<'py>) + Send + 'static) {
            let _ = self.tx.send(Box::new(f));
        }
    }

    /// Ends the subinterpreters their owners have not ended, on this thread, which holds the
    /// main GIL for shutdown (no other thread is in Python). For each: a new thread state
    /// here, the owner's and helper's deleted, then `Py_EndInterpreter`; the main GIL is
    /// held again afterwards. Returns how many were ended.
    pub(crate) fn end_remaining(_py: Python<'_>) -> usize {
        let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
        let mut ended = 0;
        for r in live {
            let Some(s) = r.states.lock().unwrap_or_else(|e| e.into_inner()).take() else {
                continue;
            };
            // The main GIL is held through this thread's state (token), and no other thread
            // runs Python (shutdown waited for them). The interpreter is live; its other
            // thread states are attached to no thread. Detaching ours, attaching a new state
            // of the subinterpreter, deleting the others (unbound from their threads' GIL
            // state slots first, see `deferred::drain_pending`), ending it, then attaching
            // ours again is what CPython's finalization does for subinterpreters.
            // SAFETY: for the reasons above.
            unsafe {
                let main_ts = ffi::PyEval_SaveThread();
                let fresh = ffi::PyThreadState_New(s.interp);
                ffi::PyEval_RestoreThread(fresh);
                deferred::drain_pending_for(r.id);
                for other in std::iter::once(s.owner).chain(s.helper) {
                    (*other.0)._status.set_bound_gilstate(0);
                    ffi::PyThreadState_Clear(other.0);
                    ffi::PyThreadState_Delete(other.0);
                }
                ffi::Py_EndInterpreter(fresh);
                ffi::PyEval_RestoreThread(main_ts);
            }
            deferred::forget_pending_for(r.id);
            crate::raw::alloc::interpreter_ended();
            ended += 1;
        }
        ended
    }
}
