//! Allocation counters: hooks over Python's raw, mem and object allocators and its arena
//! allocator, each wrapping the allocator in place (`PyMem_SetAllocator`), in the spirit of
//! the Datadog Agent's rtloader memory tracker. Installed once, before the interpreter
//! starts, and never removed: `PyMem_SetAllocator` is not safe while other threads allocate.
//!
//! Each event is counted for the interpreter of the calling thread's attached thread state,
//! in one of [`SLOTS`] cache-line-sized slots claimed by interpreter id; calls made with no
//! thread state attached (the raw domain allows that) go to the `outside` slot, and
//! interpreters past the slots to the `overflow` one. The hooks only touch atomics: they
//! cannot panic, allocate or take a lock.

use std::os::raw::c_void;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

use pyhost_sys as ffi;

/// Interpreters counted apart.
pub(crate) const SLOTS: usize = 32;

/// No interpreter holds the slot.
const FREE: i64 = i64::MIN;

/// One interpreter's counters, on a cache line of its own (interpreters with their own GIL
/// allocate in parallel).
#[repr(align(128))]
pub(crate) struct Counters {
    /// The interpreter's id, or [`FREE`].
    owner: AtomicI64,
    pub(crate) allocations: AtomicU64,
    pub(crate) reallocations: AtomicU64,
    pub(crate) frees: AtomicU64,
    pub(crate) allocated_bytes: AtomicU64,
    /// Arena bytes mapped and not yet unmapped (pymalloc's footprint).
    pub(crate) arena_bytes: AtomicI64,
}

impl Counters {
    const fn new() -> Counters {
        Counters {
            owner: AtomicI64::new(FREE),
            allocations: AtomicU64::new(0),
            reallocations: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            allocated_bytes: AtomicU64::new(0),
            arena_bytes: AtomicI64::new(0),
        }
    }

    /// The interpreter id this slot counts, if claimed.
    pub(crate) fn owner(&self) -> Option<i64> {
        Some(self.owner.load(Relaxed)).filter(|&o| o != FREE)
    }
}

static BY_INTERPRETER: [Counters; SLOTS] = [const { Counters::new() }; SLOTS];
/// Calls with no thread state attached.
pub(crate) static OUTSIDE: Counters = Counters::new();
/// Interpreters that found no free slot.
pub(crate) static OVERFLOW: Counters = Counters::new();

/// The slots claimed so far.
pub(crate) fn slots() -> impl Iterator<Item = &'static Counters> {
    BY_INTERPRETER.iter()
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether the hooks are in place.
pub(crate) fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// The allocators wrapped, per domain (raw, mem, object), and the arena allocator. Written
/// once by [`install`] before the hooks that read them are in place.
static mut WRAPPED: [ffi::PyMemAllocatorEx; 3] = [EMPTY; 3];
static mut WRAPPED_ARENA: ffi::PyObjectArenaAllocator = ffi::PyObjectArenaAllocator {
    ctx: std::ptr::null_mut(),
    alloc: None,
    free: None,
};
const EMPTY: ffi::PyMemAllocatorEx = ffi::PyMemAllocatorEx {
    ctx: std::ptr::null_mut(),
    malloc: None,
    calloc: None,
    realloc: None,
    free: None,
};

thread_local! {
    /// The thread state seen last on this thread and its counters: most allocations follow
    /// one another under the same state. (Const, without a destructor: usable at any point
    /// of the thread's life, its end included.)
    static LAST: std::cell::Cell<(usize, u64, usize)> =
        const { std::cell::Cell::new((0, 0, 0)) };
}

/// Bumped when an interpreter ends: a thread state made later at the address of one of its
/// own may belong to another interpreter, so the per-thread caches start over.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// An interpreter ended (its thread states are gone).
#[cfg_attr(not(py_3_12), allow(dead_code))]
pub(crate) fn interpreter_ended() {
    GENERATION.fetch_add(1, Relaxed);
}

/// The counters of the calling thread's interpreter.
fn counters() -> &'static Counters {
    // A read of this thread's attached state.
    // SAFETY: the hooks run inside a started (or starting) runtime.
    let tstate = unsafe { super::entry::current_thread_state() };
    if tstate.is_null() {
        return &OUTSIDE;
    }
    let generation = GENERATION.load(Relaxed);
    let (seen, seen_generation, slot) = LAST.get();
    if seen == tstate as usize && seen_generation == generation {
        // Stored below from a `&'static Counters`.
        // SAFETY: for the reason above.
        return unsafe { &*(slot as *const Counters) };
    }
    let found = slot_of(tstate);
    LAST.set((
        tstate as usize,
        generation,
        std::ptr::from_ref(found) as usize,
    ));
    found
}

/// The counters of the interpreter of `tstate`, claiming a slot for it if it has none.
fn slot_of(tstate: *mut ffi::PyThreadState) -> &'static Counters {
    // Two getters that read fields of the live state of the calling thread.
    // SAFETY: `tstate` is the attached state of this thread, not NULL.
    let id = unsafe { ffi::PyInterpreterState_GetID(interpreter_of(tstate)) };
    let start = (id as u64 % SLOTS as u64) as usize;
    for i in 0..4 {
        let slot = &BY_INTERPRETER[(start + i) % SLOTS];
        let owner = slot.owner.load(Relaxed);
        if owner == id {
            return slot;
        }
        if owner == FREE {
            match slot.owner.compare_exchange(FREE, id, Relaxed, Relaxed) {
                Ok(_) => return slot,
                Err(now) if now == id => return slot,
                Err(_) => {}
            }
        }
    }
    &OVERFLOW
}

/// The interpreter of thread state `tstate`.
///
/// # Safety
/// `tstate` is a live thread state.
unsafe fn interpreter_of(tstate: *mut ffi::PyThreadState) -> *mut ffi::PyInterpreterState {
    #[cfg(py_3_9)]
    {
        // SAFETY: forwarded to the caller.
        unsafe { ffi::PyThreadState_GetInterpreter(tstate) }
    }
    #[cfg(not(py_3_9))]
    {
        // SAFETY: forwarded to the caller; 3.8 has no getter, the field is public.
        unsafe { (*tstate).interp }
    }
}

/// The wrapped allocator of the domain `ctx` names (the hooks' context is the domain index).
fn wrapped(ctx: *mut c_void) -> &'static ffi::PyMemAllocatorEx {
    // Written once by `install`, before any hook could run; only read afterwards.
    // SAFETY: for the reason above; the index is one `install` gave.
    unsafe { &*std::ptr::addr_of!(WRAPPED[ctx as usize]) }
}

unsafe extern "C" fn hook_malloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    let c = counters();
    c.allocations.fetch_add(1, Relaxed);
    c.allocated_bytes.fetch_add(size as u64, Relaxed);
    let w = wrapped(ctx);
    // SAFETY: the allocator in place before ours, with its own context.
    unsafe { w.malloc.map_or(std::ptr::null_mut(), |f| f(w.ctx, size)) }
}

unsafe extern "C" fn hook_calloc(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    let c = counters();
    c.allocations.fetch_add(1, Relaxed);
    c.allocated_bytes
        .fetch_add(nelem.saturating_mul(elsize) as u64, Relaxed);
    let w = wrapped(ctx);
    // SAFETY: as in `hook_malloc`.
    unsafe {
        w.calloc
            .map_or(std::ptr::null_mut(), |f| f(w.ctx, nelem, elsize))
    }
}

unsafe extern "C" fn hook_realloc(ctx: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void {
    let c = counters();
    c.reallocations.fetch_add(1, Relaxed);
    c.allocated_bytes.fetch_add(size as u64, Relaxed);
    let w = wrapped(ctx);
    // SAFETY: as in `hook_malloc`; `ptr` is the caller's, passed on.
    unsafe {
        w.realloc
            .map_or(std::ptr::null_mut(), |f| f(w.ctx, ptr, size))
    }
}

unsafe extern "C" fn hook_free(ctx: *mut c_void, ptr: *mut c_void) {
    if !ptr.is_null() {
        counters().frees.fetch_add(1, Relaxed);
    }
    let w = wrapped(ctx);
    if let Some(f) = w.free {
        // SAFETY: as in `hook_malloc`; `ptr` is the caller's, passed on.
        unsafe { f(w.ctx, ptr) }
    }
}

unsafe extern "C" fn hook_arena_alloc(_ctx: *mut c_void, size: usize) -> *mut c_void {
    // Written once by `install` before this hook is in place.
    // SAFETY: for the reason above.
    let w = unsafe { &*std::ptr::addr_of!(WRAPPED_ARENA) };
    // SAFETY: the arena allocator in place before ours, with its own context.
    let p = unsafe { w.alloc.map_or(std::ptr::null_mut(), |f| f(w.ctx, size)) };
    if !p.is_null() {
        counters().arena_bytes.fetch_add(size as i64, Relaxed);
    }
    p
}

unsafe extern "C" fn hook_arena_free(_ctx: *mut c_void, ptr: *mut c_void, size: usize) {
    counters().arena_bytes.fetch_sub(size as i64, Relaxed);
    // SAFETY: as in `hook_arena_alloc`.
    let w = unsafe { &*std::ptr::addr_of!(WRAPPED_ARENA) };
    if let Some(f) = w.free {
        // SAFETY: as in `hook_arena_alloc`; `ptr` and `size` are the caller's.
        unsafe { f(w.ctx, ptr, size) }
    }
}

/// Puts the counting hooks around the allocators in place. Call once, after
/// `Py_PreInitialize` (which picks the allocators) and before `Py_InitializeFromConfig`,
/// on the starting thread; later calls do nothing.
pub(crate) fn install() {
    if INSTALLED.swap(true, Relaxed) {
        return;
    }
    let domains = [
        ffi::PYMEM_DOMAIN_RAW,
        ffi::PYMEM_DOMAIN_MEM,
        ffi::PYMEM_DOMAIN_OBJ,
    ];
    // Before the interpreter starts, on the one thread starting it (the lifecycle state is
    // STARTING): nothing else reads the allocators or `WRAPPED` yet. The hooks' context is
    // the domain's index into `WRAPPED`; the structs are copied by CPython.
    // SAFETY: for the reasons above.
    unsafe {
        for (i, &domain) in domains.iter().enumerate() {
            let slot = std::ptr::addr_of_mut!(WRAPPED[i]);
            ffi::PyMem_GetAllocator(domain, slot);
            let mut hook = ffi::PyMemAllocatorEx {
                ctx: i as *mut c_void,
                malloc: Some(hook_malloc),
                calloc: Some(hook_calloc),
                realloc: Some(hook_realloc),
                free: Some(hook_free),
            };
            ffi::PyMem_SetAllocator(domain, &mut hook);
        }
        ffi::PyObject_GetArenaAllocator(std::ptr::addr_of_mut!(WRAPPED_ARENA));
        let mut arena = ffi::PyObjectArenaAllocator {
            ctx: std::ptr::null_mut(),
            alloc: Some(hook_arena_alloc),
            free: Some(hook_arena_free),
        };
        ffi::PyObject_SetArenaAllocator(&mut arena);
    }
}
