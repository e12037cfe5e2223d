//! Python's memory: the allocator it uses ([`Allocator`]) and counters of its allocations.
//!
//! With [`Builder::track_allocations`](crate::Builder::track_allocations), pyhost wraps
//! Python's three allocator domains (raw, mem, object) and its arena allocator before the
//! interpreter starts, as the Datadog Agent's rtloader tracks its own allocations, and counts
//! every call for the interpreter of the calling thread. The counters are cumulative;
//! `arena_bytes` is what pymalloc holds mapped now (the bulk of the memory of small
//! objects). Blocks larger than 512 bytes come from the raw domain, whose frees carry no
//! size: counts of blocks, not bytes, say what is still live.
//!
//! ```no_run
//! pyhost::Interpreter::builder().track_allocations(true).start()?;
//! pyhost::with_gil(|py| py.exec("data = [str(i) for i in range(100_000)]"))?;
//! let here = pyhost::with_gil(|py| Ok(pyhost::memory::allocations_of(py)))?.unwrap();
//! println!(
//!     "{} allocations, {} live blocks, {} MiB in arenas",
//!     here.allocations,
//!     here.live_blocks(),
//!     here.arena_bytes >> 20
//! );
//! # Ok::<(), pyhost::Error>(())
//! ```

use std::sync::atomic::Ordering::Relaxed;

use crate::Python;
use crate::ffi;
use crate::raw::alloc::{self, Counters};

/// Python's memory allocator (`PYTHONMALLOC`), chosen with [`Builder::allocator`](crate::Builder::allocator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allocator {
    /// What this CPython uses by default (pymalloc on top of `malloc`).
    Default,
    /// Every allocation through the C library's `malloc`: what valgrind and sanitizers need
    /// to see Python objects (`PYTHONMALLOC=malloc`).
    Malloc,
    /// `malloc` with CPython's debug hooks (buffer overflows, use after free, calls without
    /// the GIL): `PYTHONMALLOC=malloc_debug`.
    MallocDebug,
    /// pymalloc (`PYTHONMALLOC=pymalloc`).
    Pymalloc,
    /// pymalloc with the debug hooks (`PYTHONMALLOC=pymalloc_debug`).
    PymallocDebug,
    /// The default allocator with the debug hooks (`PYTHONMALLOC=debug`).
    Debug,
}

impl Allocator {
    /// The allocator `PYTHONMALLOC` names (`malloc`, `malloc_debug`, `pymalloc`,
    /// `pymalloc_debug`, `debug`, `default`).
    ///
    /// ```
    /// use pyhost::Allocator;
    /// assert_eq!(Allocator::from_name("malloc"), Some(Allocator::Malloc));
    /// assert_eq!(Allocator::from_name("jemalloc"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Allocator> {
        Some(match name {
            "default" => Allocator::Default,
            "malloc" => Allocator::Malloc,
            "malloc_debug" => Allocator::MallocDebug,
            "pymalloc" => Allocator::Pymalloc,
            "pymalloc_debug" => Allocator::PymallocDebug,
            "debug" => Allocator::Debug,
            _ => return None,
        })
    }

    pub(crate) fn raw(self) -> ffi::PyMemAllocatorName {
        match self {
            Allocator::Default => ffi::PYMEM_ALLOCATOR_DEFAULT,
            Allocator::Malloc => ffi::PYMEM_ALLOCATOR_MALLOC,
            Allocator::MallocDebug => ffi::PYMEM_ALLOCATOR_MALLOC_DEBUG,
            Allocator::Pymalloc => ffi::PYMEM_ALLOCATOR_PYMALLOC,
            Allocator::PymallocDebug => ffi::PYMEM_ALLOCATOR_PYMALLOC_DEBUG,
            Allocator::Debug => ffi::PYMEM_ALLOCATOR_DEBUG,
        }
    }
}

/// Python's allocations as counted since the interpreter started
/// ([`Builder::track_allocations`](crate::Builder::track_allocations)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Allocations {
    /// The interpreter counted (`None`: all of them, or calls made with no interpreter).
    pub interpreter: Option<i64>,
    /// Blocks allocated (`malloc` and `calloc` of the three domains).
    pub allocations: u64,
    /// Blocks resized.
    pub reallocations: u64,
    /// Blocks freed.
    pub frees: u64,
    /// Bytes asked for, by allocations and resizes.
    pub allocated_bytes: u64,
    /// Bytes pymalloc holds in arenas now.
    pub arena_bytes: i64,
}

impl Allocations {
    /// Blocks allocated and not freed (those allocated before the counting started are
    /// freed uncounted, so this can dip below zero early on).
    pub fn live_blocks(&self) -> i64 {
        self.allocations as i64 - self.frees as i64
    }

    fn read(c: &Counters, interpreter: Option<i64>) -> Allocations {
        Allocations {
            interpreter,
            allocations: c.allocations.load(Relaxed),
            reallocations: c.reallocations.load(Relaxed),
            frees: c.frees.load(Relaxed),
            allocated_bytes: c.allocated_bytes.load(Relaxed),
            arena_bytes: c.arena_bytes.load(Relaxed),
        }
    }

    fn add(mut self, o: Allocations) -> Allocations {
        self.allocations += o.allocations;
        self.reallocations += o.reallocations;
        self.frees += o.frees;
        self.allocated_bytes += o.allocated_bytes;
        self.arena_bytes += o.arena_bytes;
        self
    }
}

/// Whether allocations are being counted.
pub fn tracking() -> bool {
    alloc::installed()
}

/// The counts of every interpreter, plus those of calls made with no interpreter attached;
/// `None` unless allocations are tracked.
pub fn allocations() -> Option<Allocations> {
    Some(
        by_interpreter()?
            .into_iter()
            .fold(Allocations::default(), Allocations::add),
    )
}

/// The counts of the interpreter `py` is for; `None` unless allocations are tracked.
pub fn allocations_of(py: Python<'_>) -> Option<Allocations> {
    let id = crate::subinterpreter::interpreter_id(py);
    by_interpreter()?
        .into_iter()
        .find(|a| a.interpreter == Some(id))
}

/// The counts per interpreter (those past the first 32 interpreters, and calls made with no
/// interpreter, under `interpreter: None`); `None` unless allocations are tracked.
pub fn by_interpreter() -> Option<Vec<Allocations>> {
    if !alloc::installed() {
        return None;
    }
    let mut out: Vec<Allocations> = alloc::slots()
        .filter_map(|c| c.owner().map(|id| Allocations::read(c, Some(id))))
        .collect();
    out.push(
        Allocations::read(&alloc::OUTSIDE, None).add(Allocations::read(&alloc::OVERFLOW, None)),
    );
    Some(out)
}
