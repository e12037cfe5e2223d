//! The interpreter's lifecycle state, and which threads are inside an outermost GIL
//! acquisition, so that `shutdown` can wait for them before finalizing.
//!
//! An acquisition announces itself, then reads the interpreter's state; shutdown changes the
//! state, then reads the announcements. Each side must see the other's write (a Dekker
//! handshake), which needs a full memory barrier between the write and the read on *both*
//! sides. A shared counter did that with two locked read-modify-writes per acquisition, and
//! its cache line bounced between threads. Here each thread announces in its own slot with
//! plain stores, and on Linux the barrier is paid by shutdown alone: `membarrier(2)` makes
//! every running thread of the process execute one, so an acquisition needs only a compiler
//! barrier. Where `membarrier` is not available, acquisitions use a real fence instead.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, compiler_fence, fence};

/// The interpreter's lifecycle states.
pub(crate) const UNINIT: u8 = 0;
pub(crate) const STARTING: u8 = 1;
pub(crate) const RUNNING: u8 = 2;
pub(crate) const FINALIZING: u8 = 3;
pub(crate) const FINALIZED: u8 = 4;

/// The interpreter's lifecycle state.
pub(crate) static STATE: AtomicU8 = AtomicU8::new(UNINIT);

/// One thread's count of outermost acquisitions in progress (more than one when a closure
/// given to `allow_threads` takes the GIL again). Written only by its thread.
#[repr(align(128))]
pub(crate) struct Slot {
    count: AtomicUsize,
    in_use: AtomicBool,
}

/// Every slot ever handed out; a slot is reused once its thread has exited.
static SLOTS: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());
/// Acquisitions of threads whose slot is gone (during thread-local destruction).
static EXTRA: AtomicUsize = AtomicUsize::new(0);
/// Whether shutdown issues `membarrier`, so that acquisitions need no fence of their own.
static ASYMMETRIC: AtomicBool = AtomicBool::new(false);

thread_local! {
    static MINE: SlotHandle = const { SlotHandle(Cell::new(None)) };
}

struct SlotHandle(Cell<Option<&'static Slot>>);

impl Drop for SlotHandle {
    fn drop(&mut self) {
        if let Some(slot) = self.0.get() {
            slot.in_use.store(false, Ordering::Release);
        }
    }
}

/// An announced acquisition; give it back with [`Entry::exit`], once.
#[derive(Clone, Copy)]
pub(crate) struct Entry(Option<&'static Slot>);

/// Announces an outermost acquisition on this thread. Read the interpreter's state after this.
#[inline]
pub(crate) fn enter() -> Entry {
    let slot = MINE.try_with(|m| match m.0.get() {
        Some(s) => s,
        None => {
            let s = claim();
            m.0.set(Some(s));
            s
        }
    });
    match slot {
        Ok(s) => {
            s.count
                .store(s.count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            if ASYMMETRIC.load(Ordering::Relaxed) {
                // Shutdown's `membarrier` stands for the fence of this side.
                compiler_fence(Ordering::SeqCst);
            } else {
                fence(Ordering::SeqCst);
            }
            Entry(Some(s))
        }
        Err(_) => {
            EXTRA.fetch_add(1, Ordering::SeqCst);
            Entry(None)
        }
    }
}

impl Entry {
    /// Ends the acquisition (after the GIL was given back).
    #[inline]
    pub(crate) fn exit(self) {
        match self.0 {
            Some(s) => s
                .count
                .store(s.count.load(Ordering::Relaxed) - 1, Ordering::Release),
            None => {
                EXTRA.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

#[cold]
fn claim() -> &'static Slot {
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    for s in slots.iter() {
        if s.in_use
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return s;
        }
    }
    let s: &'static Slot = Box::leak(Box::new(Slot {
        count: AtomicUsize::new(0),
        in_use: AtomicBool::new(true),
    }));
    slots.push(s);
    s
}

/// Called once, before the interpreter is marked running: sets up `membarrier` if the kernel
/// has it.
pub(crate) fn setup() {
    if sys::register() {
        ASYMMETRIC.store(true, Ordering::SeqCst);
    }
}

/// Called by shutdown after it changed the interpreter's state, before [`any_active`]: the
/// barrier of the handshake, on behalf of every thread.
pub(crate) fn publish() {
    fence(Ordering::SeqCst);
    if ASYMMETRIC.load(Ordering::SeqCst) && !sys::barrier() {
        // Cannot happen once registered (the kernel documents no failure); if it did, the
        // acquisitions from now on fence themselves, and the wait below gives any in flight
        // ample time to be seen.
        ASYMMETRIC.store(false, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Whether any thread is inside an outermost acquisition.
pub(crate) fn any_active() -> bool {
    EXTRA.load(Ordering::SeqCst) != 0
        || SLOTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|s| s.count.load(Ordering::Acquire) != 0)
}

/// How many threads are inside an outermost acquisition (for error messages).
pub(crate) fn count_active() -> usize {
    EXTRA.load(Ordering::SeqCst)
        + SLOTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.count.load(Ordering::Acquire) != 0)
            .count()
}

mod sys {
    pub(super) use crate::raw::runtime::{membarrier as barrier, membarrier_register as register};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquisitions_are_counted_per_thread_and_slots_are_reused() {
        assert!(!any_active());
        let outer = enter();
        let inner = enter(); // a closure given to allow_threads taking the GIL again
        assert!(any_active());
        outer.exit();
        assert!(any_active(), "one acquisition is still in progress");
        inner.exit();
        assert!(!any_active());

        let held = std::thread::spawn(|| {
            let e = enter();
            let busy = any_active();
            e.exit();
            busy
        })
        .join()
        .unwrap();
        assert!(held, "another thread's acquisition is seen");
        let before = SLOTS.lock().unwrap().len();
        for _ in 0..20 {
            std::thread::spawn(|| enter().exit()).join().unwrap();
        }
        assert!(
            SLOTS.lock().unwrap().len() <= before + 1,
            "exited threads' slots are reused"
        );
        assert!(!any_active());
    }
}
