//! Work that needs the GIL, deferred from threads that do not hold it: reference releases
//! (per interpreter) and the deletion of the thread states of exited threads.

use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::interp::InterpId;
use super::runtime::{FINALIZED, FINALIZING, Python, STATE, gil_is_held};
use crate::ffi;

/// References released by threads that did not hold the GIL, applied at the next acquisition.
static PENDING: Mutex<Vec<PendingPtr>> = Mutex::new(Vec::new());
/// Thread states of exited threads, deleted at the next acquisition.
pub(crate) static DEAD_STATES: Mutex<Vec<DeadState>> = Mutex::new(Vec::new());
/// Set when either list has entries: one load on every outermost acquisition.
pub(crate) static MAINTENANCE: AtomicBool = AtomicBool::new(false);

struct PendingPtr(NonNull<ffi::PyObject>, InterpId);
// SAFETY: the pointer is only dereferenced (decref'd) with the GIL held.
unsafe impl Send for PendingPtr {}

pub(crate) struct DeadState(pub(crate) *mut ffi::PyThreadState);
// SAFETY: the thread that owned the state has exited; the state is only touched again with the
// GIL held, to clear and delete it.
unsafe impl Send for DeadState {}

/// Releases an owned reference to an object of interpreter `interp`: now when this thread
/// holds that interpreter's GIL, otherwise at the next acquisition of it by any thread. After
/// finalization (or once a subinterpreter has ended) the reference is simply forgotten: the
/// interpreter's memory is gone. Never blocks on the GIL.
#[inline]
pub(crate) fn release_owned(ptr: NonNull<ffi::PyObject>, interp: InterpId) {
    match STATE.load(Ordering::Acquire) {
        FINALIZING | FINALIZED => {}
        _ if gil_is_held() && holds(interp) => {
            // This thread holds the GIL of the object's interpreter and owns the reference.
            // SAFETY: for the reasons above.
            unsafe { ffi::Py_DECREF(ptr.as_ptr()) }
        }
        _ if !interp.is_main() && !super::interp::is_live(interp) => {}
        _ => {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.push(PendingPtr(ptr, interp));
            MAINTENANCE.store(true, Ordering::Release);
        }
    }
}

/// Whether the GIL this thread holds (it holds one) is `interp`'s.
#[inline(always)]
fn holds(interp: InterpId) -> bool {
    if !super::interp::subs_exist() {
        return interp.is_main();
    }
    // SAFETY: this thread holds a GIL (caller).
    super::interp::current(unsafe { Python::assume_gil_acquired() }) == interp
}

/// Applies the deferred releases of `interp`'s objects.
///
/// # Safety
/// The GIL of `interp` is held.
#[cfg(py_3_12)]
pub(crate) unsafe fn drain_pending_for(interp: InterpId) {
    MAINTENANCE.store(true, Ordering::Release);
    // SAFETY: forwarded to the caller.
    unsafe { drain_pending(interp) }
}

/// Forgets the deferred releases of an interpreter that has ended.
#[cfg(py_3_12)]
pub(crate) fn forget_pending_for(interp: InterpId) {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    pending.retain(|p| p.1 != interp);
}

/// Applies the deferred releases of `interp`'s objects and, in the main interpreter, deletes
/// the thread states of exited threads.
///
/// # Safety
/// The GIL of `interp` is held.
#[inline]
pub(crate) unsafe fn drain_pending(interp: InterpId) {
    if !MAINTENANCE.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: forwarded to the caller.
    unsafe { drain_pending_slow(interp) }
}

#[cold]
unsafe fn drain_pending_slow(interp: InterpId) {
    if !MAINTENANCE.swap(false, Ordering::AcqRel) {
        return;
    }
    let dead = if interp.is_main() {
        std::mem::take(&mut *DEAD_STATES.lock().unwrap_or_else(|e| e.into_inner()))
    } else {
        Vec::new()
    };
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
        // GIL held (caller). The state belonged to a thread that has exited without
        // holding the GIL; clearing it may run Python code (thread-local destructors) on this
        // thread, which is allowed with the GIL held, and a cleared state may be deleted from
        // any thread.
        // SAFETY: for the reasons above.
        unsafe {
            ffi::PyThreadState_Clear(d.0);
            ffi::PyThreadState_Delete(d.0);
        }
    }
    let taken: Vec<PendingPtr> = {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, others) = std::mem::take(&mut *pending)
            .into_iter()
            .partition(|p| p.1 == interp);
        *pending = others;
        let dead_left = !DEAD_STATES.lock().map(|d| d.is_empty()).unwrap_or(true);
        if !pending.is_empty() || dead_left {
            MAINTENANCE.store(true, Ordering::Release);
        }
        mine
    };
    for p in taken {
        // SAFETY: GIL held (caller); each pointer is an owned reference queued once.
        unsafe { ffi::Py_DECREF(p.0.as_ptr()) };
    }
}

/// Applies the deferred work now: `py` proves the GIL is held.
#[inline]
pub(crate) fn drain_pending_held(py: Python<'_>) {
    if !MAINTENANCE.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: the token proves the GIL of the current interpreter is held.
    unsafe { drain_pending_slow(super::interp::current(py)) }
}

/// How many releases are waiting for the GIL.
pub(crate) fn pending_decrefs() -> usize {
    PENDING.lock().map(|p| p.len()).unwrap_or(0)
}

/// How many thread states of exited threads wait to be deleted.
pub(crate) fn pending_thread_states() -> usize {
    DEAD_STATES.lock().map(|p| p.len()).unwrap_or(0)
}
