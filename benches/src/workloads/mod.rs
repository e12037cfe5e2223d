//! The workloads w1 … w11, each as one [`Workload`] with a body per column.
//!
//! All columns share the Python objects made in [`Shared::new`] and the one interpreter pyhost
//! started. On the main thread each batch takes the GIL the way its column normally does
//! (`PyGILState_Ensure`, `pyhost::with_gil`, `Python::attach`) and keeps it for the batch; the
//! workloads about taking the GIL (w5, w7) take it per operation, on threads of their own.

mod awaits;
mod calls;
mod conversions;
mod parallel;
mod pools;
mod processes;
mod threads;

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use pyhost::Unbound;
use pyhost::types::Any;
use pyhost_sys as ffi;

use crate::harness::{Body, Column, Workload, pyhost_bench_measured, timed};
use crate::raw::{self, Ptr};

use awaits::{w11a, w11b, w11c};
use calls::{w1, w2, w3, w4};
use conversions::{w6a, w6b, w6c};
use parallel::{w9a, w9b, w9c, w9d};
use pools::{latency, w8, w8b, w8c};
use processes::{w10a, w10b, w10c};
use threads::{w5, w5b, w7, w8a};

/// Set in callgrind mode once warm-up is over: batches then run through
/// [`pyhost_bench_measured`], the function callgrind collects.
pub static COUNTING: AtomicBool = AtomicBool::new(false);

/// Runs a batch: through the callgrind region when counting, else just timed.
#[inline(always)]
pub(super) fn measure(n: u64, op: &mut dyn FnMut(u64)) -> Duration {
    if COUNTING.load(Ordering::Relaxed) {
        pyhost_bench_measured(n, op)
    } else {
        timed(|| op(n))
    }
}

/// A body that runs its batch on the calling (main) thread.
pub(super) fn here(mut op: impl FnMut(u64) + 'static) -> Body {
    Box::new(move |n| measure(n, &mut op))
}

/// A body whose batches run on a thread of its own, made for it and kept for the whole
/// workload: `make` runs on that thread and returns the batch function (its captures are
/// dropped on that thread when the workload ends, which joins it).
pub(super) fn on_thread<M>(name: &str, make: M) -> Body
where
    M: FnOnce() -> Box<dyn FnMut(u64)> + Send + 'static,
{
    struct Worker {
        tx: Option<mpsc::Sender<u64>>,
        rx: mpsc::Receiver<Duration>,
        handle: Option<JoinHandle<()>>,
    }
    impl Drop for Worker {
        fn drop(&mut self) {
            drop(self.tx.take());
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
    }
    let (tx, batches) = mpsc::channel::<u64>();
    let (done, rx) = mpsc::channel::<Duration>();
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut op = make();
            for n in batches {
                if done.send(measure(n, &mut *op)).is_err() {
                    break;
                }
            }
        })
        .expect("spawning a benchmark thread");
    let w = Worker {
        tx: Some(tx),
        rx,
        handle: Some(handle),
    };
    Box::new(move |n| {
        w.tx.as_ref().expect("open").send(n).expect("worker alive");
        w.rx.recv().expect("worker alive")
    })
}

/// A thread state of our own, for the limit column: `PyThreadState_New` once, then only
/// `PyEval_RestoreThread`/`PyEval_SaveThread`. Deleted when dropped (on its thread).
struct OwnState(*mut ffi::PyThreadState);

impl OwnState {
    fn new(interp: usize) -> OwnState {
        // SAFETY: `interp` is the running main interpreter; the GIL need not be held.
        let ts = unsafe { ffi::PyThreadState_New(interp as *mut ffi::PyInterpreterState) };
        assert!(!ts.is_null(), "PyThreadState_New failed");
        OwnState(ts)
    }

    /// Takes the GIL through the state.
    #[inline(always)]
    fn restore(&self) {
        // SAFETY: the state belongs to this thread and is not current.
        unsafe { ffi::PyEval_RestoreThread(self.0) }
    }

    /// Releases the GIL.
    #[inline(always)]
    fn save(&self) {
        // SAFETY: this thread holds the GIL through the state.
        unsafe { ffi::PyEval_SaveThread() };
    }
}

impl Drop for OwnState {
    fn drop(&mut self) {
        // The state is this thread's and not current; taking the GIL through it makes
        // it current, which `PyThreadState_DeleteCurrent` requires (it also releases the GIL).
        // SAFETY: for the reasons above.
        unsafe {
            ffi::PyEval_RestoreThread(self.0);
            ffi::PyThreadState_Clear(self.0);
            ffi::PyThreadState_DeleteCurrent();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The functions Python calls (w3, w4)

/// w3 through pyhost.
#[pyhost::function]
pub(super) fn noop() {}

/// w4 through pyhost.
#[pyhost::function]
pub(super) fn add3(a: i64, b: i64, c: i64) -> i64 {
    a.wrapping_add(b).wrapping_add(c)
}

/// w3 through PyO3.
#[pyo3::pyfunction]
pub(super) fn noop_pyo3() {}

/// w4 through PyO3.
#[pyo3::pyfunction]
pub(super) fn add3_pyo3(a: i64, b: i64, c: i64) -> i64 {
    a.wrapping_add(b).wrapping_add(c)
}

pub(super) const PYTHON_SOURCE: &str = "\
from itertools import repeat

def f0():
    pass

def f3(a, s, x):
    return a + 1

def loop0(f, n):
    for _ in repeat(None, n):
        f()

def loop3(f, n):
    for _ in repeat(None, n):
        f(1, 2, 3)
";

/// The Python objects every column uses, created once (and never released).
pub struct Shared {
    f0: Ptr,
    f3: Ptr,
    loop0: Ptr,
    loop3: Ptr,
    noop: [Ptr; 3],
    add3: [Ptr; 3],
    interp: usize,
    runtime: Arc<tokio::runtime::Runtime>,
    executor: pyhost::Executor,
}

/// A pointer to an object, leaked so it lives for the rest of the process.
pub(super) fn leak(o: pyhost::Object<'_, Any>) -> Ptr {
    Ptr(o.into_ptr())
}

impl Shared {
    /// Compiles the Python side and creates the callables of w3 and w4 in every flavour.
    pub fn new() -> pyhost::Result<Shared> {
        let (f0, f3, loop0, loop3, raw_fns, pyhost_fns, interp) = pyhost::with_gil(|py| {
            let ns = py.new_namespace()?;
            py.exec_with(PYTHON_SOURCE, &ns, None)?;
            let get = |name: &str| -> pyhost::Result<Ptr> {
                Ok(leak(ns.get_item(name)?.ok_or_else(|| {
                    pyhost::Error::runtime_error(format!("{name} missing"))
                })?))
            };
            let pyhost_fns = (
                leak(pyhost::wrap_function!(noop).to_callable(py)?.into_any()),
                leak(pyhost::wrap_function!(add3).to_callable(py)?.into_any()),
            );
            // SAFETY: GIL held (token); the interpreter is running.
            let (raw_fns, interp) = unsafe {
                (
                    (raw::noop_function(), raw::add3_function()),
                    ffi::PyInterpreterState_Get() as usize,
                )
            };
            Ok((
                get("f0")?,
                get("f3")?,
                get("loop0")?,
                get("loop3")?,
                raw_fns,
                pyhost_fns,
                interp,
            ))
        })?;
        let pyo3_fns = pyo3::Python::attach(|py| {
            let n = pyo3::wrap_pyfunction!(noop_pyo3, py).expect("wrapping noop_pyo3");
            let a = pyo3::wrap_pyfunction!(add3_pyo3, py).expect("wrapping add3_pyo3");
            (
                Ptr(n.into_ptr().cast::<ffi::PyObject>()),
                Ptr(a.into_ptr().cast::<ffi::PyObject>()),
            )
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-tokio")
            .build()
            .expect("starting tokio");
        let executor = pyhost::Executor::builder().workers(2).build()?;
        Ok(Shared {
            f0,
            f3,
            loop0,
            loop3,
            noop: [raw_fns.0, pyhost_fns.0, pyo3_fns.0],
            add3: [raw_fns.1, pyhost_fns.1, pyo3_fns.1],
            interp,
            runtime: Arc::new(runtime),
            executor,
        })
    }
}

/// An [`Unbound`] handle to a shared object, for the pyhost column.
pub(super) fn unbound(p: Ptr) -> Unbound<Any> {
    pyhost::with_gil(|py| {
        // SAFETY: the object is live (leaked in Shared::new); GIL held (token).
        Ok(unsafe {
            pyhost::Object::<Any>::from_borrowed_ptr(py, NonNull::new_unchecked(p.as_ptr()))
        }
        .unbind())
    })
    .expect("taking the GIL")
}

/// A `Py<PyAny>` handle to a shared object, for the PyO3 column.
pub(super) fn pyo3_handle(p: Ptr) -> pyo3::Py<pyo3::PyAny> {
    pyo3::Python::attach(|py| {
        // SAFETY: the object is live (leaked in Shared::new); attached (token).
        unsafe { pyo3::Bound::from_borrowed_ptr(py, p.as_ptr().cast()) }.unbind()
    })
}

/// Raw column on the main thread: `PyGILState_Ensure` around the batch.
pub(super) fn raw_here(mut op: impl FnMut() + 'static) -> Body {
    here(move |n| {
        // SAFETY: the interpreter is running and this thread does not hold the GIL.
        let g = unsafe { ffi::PyGILState_Ensure() };
        for _ in 0..n {
            op();
        }
        // SAFETY: paired with the Ensure above, on this thread.
        unsafe { ffi::PyGILState_Release(g) };
    })
}

/// The workload ids, in order.
pub const IDS: [&str; 28] = [
    "w1", "w2", "w3", "w4", "w5", "w5b", "w6a", "w6b", "w6c", "w7", "w8", "w8a", "w8b", "w8c",
    "w8d", "w8e", "w8f", "w8g", "w9a", "w9b", "w9c", "w9d", "w10a", "w10b", "w10c", "w11a", "w11b",
    "w11c",
];

/// Sizes that `--quick` may shrink.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// w7: calls per thread.
    pub contention_calls: u64,
    /// w8: tasks per batch.
    pub tasks: u64,
}

/// Builds workload `id`.
pub fn build(id: &str, s: &Shared, sizes: Sizes) -> Option<Workload> {
    Some(match id {
        "w1" => w1(s),
        "w2" => w2(s),
        "w3" => w3(s),
        "w4" => w4(s),
        "w5" => w5(s),
        "w5b" => w5b(s),
        "w6a" => w6a(),
        "w6b" => w6b(),
        "w6c" => w6c(),
        "w7" => w7(s, sizes.contention_calls),
        "w8" => w8(s, sizes.tasks),
        "w8a" => w8a(s, sizes.tasks),
        "w8b" => w8b(s),
        "w8c" => w8c(s),
        "w8d" | "w8e" | "w8f" | "w8g" => latency(s, id),
        "w9a" => w9a(),
        "w9b" => w9b(s),
        "w9c" => w9c(),
        "w9d" => w9d(s),
        "w10a" => w10a(s),
        "w10b" => w10b(),
        "w10c" => w10c(),
        "w11a" => w11a(),
        "w11b" => w11b(),
        "w11c" => w11c(),
        _ => return None,
    })
}

pub(super) fn workload(
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    scale: f64,
    columns: Vec<(Column, Body)>,
) -> Workload {
    Workload {
        id,
        title,
        unit,
        scale,
        per_op: 1,
        fixed_batch: None,
        rounds: None,
        warmup: true,
        callgrind: true,
        columns,
    }
}
