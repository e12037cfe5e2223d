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

use crate::{Result, raw};

use crate::raw::runtime::Python;

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

impl Python<'_> {
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
        raw::without_gil(self, f)
    }
}

/// Runs `f` with the GIL held and returns what it returns.
///
/// Re-entrant: when this thread already holds the GIL, it only bumps a thread-local count (no
/// C call). Otherwise it takes the GIL through this thread's kept thread state (created on the
/// first call, kept until the thread exits).
///
/// # Errors
/// [`Error::NotInitialized`](crate::Error::NotInitialized) before [`crate::initialize`],
/// [`Error::Finalized`](crate::Error::Finalized) once [`crate::shutdown`] has begun; otherwise
/// whatever `f` returns.
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
    raw::with_gil(f)
}

/// Whether this thread holds the GIL through pyhost (a [`with_gil`] scope or a call from
/// Python into Rust).
pub fn gil_is_held() -> bool {
    raw::gil_is_held()
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
    raw::release_thread_state()
}

/// How many releases are waiting for the GIL (for tests and diagnostics).
pub fn pending_decrefs() -> usize {
    raw::pending_decrefs()
}

/// How many thread states of exited threads wait to be deleted (for tests and diagnostics).
pub fn pending_thread_states() -> usize {
    raw::pending_thread_states()
}
