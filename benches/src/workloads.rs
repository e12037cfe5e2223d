//! The workloads w1 … w8, each as one [`Workload`] with a body per column.
//!
//! All columns share the Python objects made in [`Shared::new`] and the one interpreter pyhost
//! started. On the main thread each batch takes the GIL the way its column normally does
//! (`PyGILState_Ensure`, `pyhost::with_gil`, `Python::attach`) and keeps it for the batch; the
//! workloads about taking the GIL (w5, w7) take it per operation, on threads of their own.

use std::collections::HashMap;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use pyhost::Unbound;
use pyhost::types::Any;
use pyhost_sys as ffi;
use pyo3::types::PyAnyMethods;

use crate::harness::{Body, Column, Workload, pyhost_bench_measured, timed};
use crate::raw::{self, Ptr, check};

/// Set in callgrind mode once warm-up is over: batches then run through
/// [`pyhost_bench_measured`], the function callgrind collects.
pub static COUNTING: AtomicBool = AtomicBool::new(false);

/// Runs a batch: through the callgrind region when counting, else just timed.
#[inline(always)]
fn measure(n: u64, op: &mut dyn FnMut(u64)) -> Duration {
    if COUNTING.load(Ordering::Relaxed) {
        pyhost_bench_measured(n, op)
    } else {
        timed(|| op(n))
    }
}

/// A body that runs its batch on the calling (main) thread.
fn here(mut op: impl FnMut(u64) + 'static) -> Body {
    Box::new(move |n| measure(n, &mut op))
}

/// A body whose batches run on a thread of its own, made for it and kept for the whole
/// workload: `make` runs on that thread and returns the batch function (its captures are
/// dropped on that thread when the workload ends, which joins it).
fn on_thread<M>(name: &str, make: M) -> Body
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
        // SAFETY: the state is this thread's and not current; taking the GIL through it makes
        // it current, which `PyThreadState_DeleteCurrent` requires (it also releases the GIL).
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
fn noop() {}

/// w4 through pyhost.
#[pyhost::function]
fn add3(a: i64, b: i64, c: i64) -> i64 {
    a.wrapping_add(b).wrapping_add(c)
}

/// w3 through PyO3.
#[pyo3::pyfunction]
fn noop_pyo3() {}

/// w4 through PyO3.
#[pyo3::pyfunction]
fn add3_pyo3(a: i64, b: i64, c: i64) -> i64 {
    a.wrapping_add(b).wrapping_add(c)
}

const PYTHON_SOURCE: &str = "\
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
fn leak(o: pyhost::Object<'_, Any>) -> Ptr {
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
fn unbound(p: Ptr) -> Unbound<Any> {
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
fn pyo3_handle(p: Ptr) -> pyo3::Py<pyo3::PyAny> {
    pyo3::Python::attach(|py| {
        // SAFETY: the object is live (leaked in Shared::new); attached (token).
        unsafe { pyo3::Bound::from_borrowed_ptr(py, p.as_ptr().cast()) }.unbind()
    })
}

/// Raw column on the main thread: `PyGILState_Ensure` around the batch.
fn raw_here(mut op: impl FnMut() + 'static) -> Body {
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
pub const IDS: [&str; 10] = [
    "w1", "w2", "w3", "w4", "w5", "w6a", "w6b", "w6c", "w7", "w8",
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
        "w6a" => w6a(),
        "w6b" => w6b(),
        "w6c" => w6c(),
        "w7" => w7(s, sizes.contention_calls),
        "w8" => w8(s, sizes.tasks),
        _ => return None,
    })
}

fn workload(
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

// ---------------------------------------------------------------------------------------------
// w1, w2: Rust calls Python

fn w1(s: &Shared) -> Workload {
    let f = s.f0;
    let raw = raw_here(move || {
        // SAFETY: GIL held (raw_here); `f` is live.
        unsafe {
            let r = check(ffi::PyObject_CallNoArgs(f.as_ptr()), "f0()");
            ffi::Py_DECREF(r);
        }
    });
    let fp = unbound(f);
    let pyhost = here(move |n| {
        pyhost::with_gil(|py| {
            let f = fp.bind(py);
            for _ in 0..n {
                black_box(f.call0()?);
            }
            Ok(())
        })
        .expect("w1 pyhost")
    });
    let f3 = pyo3_handle(f);
    let pyo3 = here(move |n| {
        pyo3::Python::attach(|py| {
            let f = f3.bind(py);
            for _ in 0..n {
                black_box(f.call0().expect("w1 pyo3"));
            }
        })
    });
    workload(
        "w1",
        "call a Python function, no arguments (GIL held)",
        "ns/call",
        1.0,
        vec![
            (Column::Raw, raw),
            (Column::Pyhost, pyhost),
            (Column::Pyo3, pyo3),
        ],
    )
}

/// The arguments of w2's calls: an int that is not a cached small int, a str, a float.
const W2_STR: &str = "hello";
const W2_FLOAT: f64 = 1.5;
const W2_INT: i64 = 1_000_003;

fn w2(s: &Shared) -> Workload {
    let f = s.f3;
    let raw = raw_here(move || {
        // SAFETY: GIL held (raw_here); `f` is live; the argument array holds the three new
        // references, released after the call; the slot before them is scratch space as
        // PY_VECTORCALL_ARGUMENTS_OFFSET allows.
        unsafe {
            let a = check(ffi::PyLong_FromLongLong(black_box(W2_INT)), "int");
            let b = raw::str_from_string(black_box(W2_STR));
            let c = check(ffi::PyFloat_FromDouble(black_box(W2_FLOAT)), "float");
            let mut args = [std::ptr::null_mut(), a, b, c];
            let r = ffi::PyObject_Vectorcall(
                f.as_ptr(),
                args.as_mut_ptr().add(1),
                3 | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                std::ptr::null_mut(),
            );
            ffi::Py_DECREF(a);
            ffi::Py_DECREF(b);
            ffi::Py_DECREF(c);
            let r = check(r, "f3()");
            let v = raw::as_i64(r, "f3() result");
            ffi::Py_DECREF(r);
            black_box(v);
        }
    });
    let fp = unbound(f);
    let pyhost = here(move |n| {
        pyhost::with_gil(|py| {
            let f = fp.bind(py);
            for _ in 0..n {
                let r = f.call1((black_box(W2_INT), black_box(W2_STR), black_box(W2_FLOAT)))?;
                black_box(r.extract::<i64>()?);
            }
            Ok(())
        })
        .expect("w2 pyhost")
    });
    let f3 = pyo3_handle(f);
    let pyo3 = here(move |n| {
        pyo3::Python::attach(|py| {
            let f = f3.bind(py);
            for _ in 0..n {
                let r = f
                    .call1((black_box(W2_INT), black_box(W2_STR), black_box(W2_FLOAT)))
                    .expect("w2 pyo3");
                black_box(r.extract::<i64>().expect("w2 pyo3 result"));
            }
        })
    });
    workload(
        "w2",
        "call with (int, str, float), convert the int result",
        "ns/call",
        1.0,
        vec![
            (Column::Raw, raw),
            (Column::Pyhost, pyhost),
            (Column::Pyo3, pyo3),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// w3, w4: Python calls Rust

/// Bodies that run `driver(function, n)` (a Python loop making `n` calls) for each flavour of
/// the function.
fn python_loop(driver: Ptr, fns: [Ptr; 3]) -> Vec<(Column, Body)> {
    let [raw_f, pyhost_f, pyo3_f] = fns;
    let raw = here(move |n| {
        // SAFETY: the interpreter is running and this thread does not hold the GIL; then GIL
        // held; `driver` and `raw_f` are live; every new reference is released.
        unsafe {
            let g = ffi::PyGILState_Ensure();
            let count = check(ffi::PyLong_FromUnsignedLongLong(n), "n");
            let r = check(
                ffi::PyObject_CallFunctionObjArgs(
                    driver.as_ptr(),
                    raw_f.as_ptr(),
                    count,
                    std::ptr::null_mut::<ffi::PyObject>(),
                ),
                "loop",
            );
            ffi::Py_DECREF(r);
            ffi::Py_DECREF(count);
            ffi::PyGILState_Release(g);
        }
    });
    let (d, f) = (unbound(driver), unbound(pyhost_f));
    let pyhost = here(move |n| {
        pyhost::with_gil(|py| {
            d.bind(py).call1((f.bind(py), n))?;
            Ok(())
        })
        .expect("python loop, pyhost")
    });
    let (d3, f3) = (pyo3_handle(driver), pyo3_handle(pyo3_f));
    let pyo3 = here(move |n| {
        pyo3::Python::attach(|py| {
            d3.bind(py)
                .call1((f3.bind(py), n))
                .expect("python loop, pyo3");
        })
    });
    vec![
        (Column::Raw, raw),
        (Column::Pyhost, pyhost),
        (Column::Pyo3, pyo3),
    ]
}

fn w3(s: &Shared) -> Workload {
    workload(
        "w3",
        "Python calls a Rust function, no arguments",
        "ns/call",
        1.0,
        python_loop(s.loop0, s.noop),
    )
}

fn w4(s: &Shared) -> Workload {
    workload(
        "w4",
        "Python calls a Rust function (3 ints) -> int",
        "ns/call",
        1.0,
        python_loop(s.loop3, s.add3),
    )
}

// ---------------------------------------------------------------------------------------------
// w5: take and release the GIL on a thread Python did not create

fn w5(s: &Shared) -> Workload {
    let raw = on_thread("w5-raw", || {
        Box::new(|n| {
            for _ in 0..n {
                // SAFETY: the interpreter is running; paired on this thread.
                unsafe {
                    let g = ffi::PyGILState_Ensure();
                    ffi::PyGILState_Release(g);
                }
            }
        })
    });
    let interp = s.interp;
    let limit = on_thread("w5-limit", move || {
        let state = OwnState::new(interp);
        Box::new(move |n| {
            for _ in 0..n {
                state.restore();
                state.save();
            }
        })
    });
    let pyhost = on_thread("w5-pyhost", || {
        Box::new(|n| {
            for _ in 0..n {
                pyhost::with_gil(|py| {
                    black_box(py);
                    Ok(())
                })
                .expect("w5 pyhost");
            }
        })
    });
    let pyo3 = on_thread("w5-pyo3", || {
        Box::new(|n| {
            for _ in 0..n {
                pyo3::Python::attach(|py| {
                    black_box(py);
                });
            }
        })
    });
    workload(
        "w5",
        "take + release the GIL on a non-Python thread",
        "ns/acquire",
        1.0,
        vec![
            (Column::Raw, raw),
            (Column::Limit, limit),
            (Column::Pyhost, pyhost),
            (Column::Pyo3, pyo3),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// w6: conversions, Rust -> Python -> Rust. Each column converts the value its previous round
// trip produced, so every conversion consumes an owned value as a by-value API does.

const W6_LEN: usize = 1_000_000;
const W6_MAP: usize = 100_000;
const W6_STR: usize = 1 << 20;

fn w6_vec() -> Vec<i64> {
    (0..W6_LEN as i64).map(|i| i * 7 - 3_000_000).collect()
}

fn w6_map() -> HashMap<String, f64> {
    (0..W6_MAP)
        .map(|i| (format!("key{i}"), i as f64 * 0.5))
        .collect()
}

fn w6_string() -> String {
    let line = "The quick brown fox jumps over the lazy dog. ";
    let mut s = line.repeat(W6_STR / line.len() + 1);
    s.truncate(W6_STR);
    s
}

fn w6_workload(id: &'static str, title: &'static str, columns: Vec<(Column, Body)>) -> Workload {
    let mut w = workload(id, title, "ms/round-trip", 1e6, columns);
    w.fixed_batch = Some(1);
    w
}

/// A w6 workload: `make` the value, then each column round-trips it (Rust -> Python -> Rust)
/// and `check`s the result. `raw` is the C-API round trip (called with the GIL held).
fn w6_round_trip<T>(
    id: &'static str,
    title: &'static str,
    make: fn() -> T,
    check: fn(&T),
    raw: unsafe fn(T) -> T,
) -> Workload
where
    T: 'static
        + for<'py> pyhost::IntoPython<'py>
        + for<'py> pyhost::FromPythonOwned<'py>
        + for<'py> pyo3::IntoPyObject<'py>
        + for<'a, 'py> pyo3::FromPyObject<'a, 'py>,
{
    let mut state = Some(make());
    let raw = raw_here(move || {
        // SAFETY: GIL held (raw_here); `raw` releases the objects it creates.
        let back = unsafe { raw(state.take().expect("state")) };
        check(&back);
        state = Some(back);
    });
    let mut state = Some(make());
    let pyhost = here(move |n| {
        pyhost::with_gil(|py| {
            for _ in 0..n {
                let o = state.take().expect("state").into_python(py)?;
                let back = o.extract::<T>()?;
                check(&back);
                state = Some(back);
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{id} pyhost: {e}"))
    });
    let mut state = Some(make());
    let pyo3 = here(move |n| {
        pyo3::Python::attach(|py| {
            for _ in 0..n {
                let o = match state.take().expect("state").into_pyobject(py) {
                    Ok(o) => pyo3::BoundObject::into_bound(o).into_any(),
                    Err(_) => panic!("{id} pyo3: conversion to Python failed"),
                };
                let back = o
                    .extract::<T>()
                    .unwrap_or_else(|_| panic!("{id} pyo3: conversion back failed"));
                check(&back);
                state = Some(back);
            }
        })
    });
    w6_workload(
        id,
        title,
        vec![
            (Column::Raw, raw),
            (Column::Pyhost, pyhost),
            (Column::Pyo3, pyo3),
        ],
    )
}

fn w6a() -> Workload {
    w6_round_trip(
        "w6a",
        "Vec<i64> of 1,000,000 -> list -> Vec",
        w6_vec,
        |v| assert!(v.len() == W6_LEN && v[W6_LEN - 1] == 6_999_993 - 3_000_000),
        |v| {
            // SAFETY: GIL held (caller); the list is a new reference released here.
            unsafe {
                let list = raw::list_from_vec(&v);
                drop(v);
                let back = raw::vec_from_list(list);
                ffi::Py_DECREF(list);
                back
            }
        },
    )
}

fn w6b() -> Workload {
    w6_round_trip(
        "w6b",
        "HashMap<String, f64> of 100,000 -> dict -> HashMap",
        w6_map,
        |m| assert!(m.len() == W6_MAP && m["key7"] == 3.5),
        |m| {
            // SAFETY: GIL held (caller); the dict is a new reference released here.
            unsafe {
                let d = raw::dict_from_map(m);
                let back = raw::map_from_dict(d);
                ffi::Py_DECREF(d);
                back
            }
        },
    )
}

fn w6c() -> Workload {
    let mut w = w6_round_trip(
        "w6c",
        "String of 1 MiB -> str -> String",
        w6_string,
        |s| assert!(s.len() == W6_STR && s.starts_with("The quick")),
        |s| {
            // SAFETY: GIL held (caller); the str is a new reference released here.
            unsafe {
                let o = raw::str_from_string(&s);
                drop(s);
                let back = raw::string_from_str(o);
                ffi::Py_DECREF(o);
                back
            }
        },
    );
    // One round trip is ~0.1 ms: calibrate batches instead.
    w.fixed_batch = None;
    w
}

// ---------------------------------------------------------------------------------------------
// w7: two threads, each taking the GIL for each of its calls

fn w7(s: &Shared, calls: u64) -> Workload {
    /// Runs `per_thread` on two fresh threads started together, and waits for both.
    fn two_threads(per_thread: impl Fn() + Sync) {
        let start = Barrier::new(2);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    start.wait();
                    per_thread();
                });
            }
        });
    }
    let f = s.f0;
    let raw = here(move |n| {
        for _ in 0..n {
            two_threads(|| {
                for _ in 0..calls {
                    // SAFETY: the interpreter is running; the Ensure/Release pair is on this
                    // thread; `f` is live and the result is released.
                    unsafe {
                        let g = ffi::PyGILState_Ensure();
                        let r = check(ffi::PyObject_CallNoArgs(f.as_ptr()), "f0()");
                        ffi::Py_DECREF(r);
                        ffi::PyGILState_Release(g);
                    }
                }
            });
        }
    });
    let interp = s.interp;
    let limit = here(move |n| {
        for _ in 0..n {
            two_threads(|| {
                let state = OwnState::new(interp);
                for _ in 0..calls {
                    state.restore();
                    // SAFETY: GIL held through `state`; `f` is live; the result is released.
                    unsafe {
                        let r = check(ffi::PyObject_CallNoArgs(f.as_ptr()), "f0()");
                        ffi::Py_DECREF(r);
                    }
                    state.save();
                }
            });
        }
    });
    let fp = Arc::new(unbound(f));
    let pyhost = here(move |n| {
        for _ in 0..n {
            two_threads(|| {
                for _ in 0..calls {
                    pyhost::with_gil(|py| {
                        black_box(fp.bind(py).call0()?);
                        Ok(())
                    })
                    .expect("w7 pyhost");
                }
            });
        }
    });
    let f3 = Arc::new(pyo3_handle(f));
    let pyo3 = here(move |n| {
        for _ in 0..n {
            two_threads(|| {
                for _ in 0..calls {
                    pyo3::Python::attach(|py| {
                        black_box(f3.bind(py).call0().expect("w7 pyo3"));
                    });
                }
            });
        }
    });
    let mut w = workload(
        "w7",
        "2 threads x calls, GIL taken per call (contention)",
        "ns/call",
        1.0,
        vec![
            (Column::Raw, raw),
            (Column::Limit, limit),
            (Column::Pyhost, pyhost),
            (Column::Pyo3, pyo3),
        ],
    );
    w.per_op = 2 * calls;
    w.fixed_batch = Some(1);
    // A round of the raw and PyO3 columns takes ~17 µs × 2,000,000 calls: three rounds.
    w.rounds = Some(3);
    w.warmup = false;
    w.callgrind = false;
    w
}

// ---------------------------------------------------------------------------------------------
// w8: short tasks from tokio

fn w8(s: &Shared, tasks: u64) -> Workload {
    let f = s.f0;
    let rt = s.runtime.clone();
    let raw = here(move |n| {
        for _ in 0..n {
            rt.block_on(async {
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        tokio::spawn(async move {
                            tokio::task::spawn_blocking(move || {
                                // SAFETY: the interpreter is running; the pair is on this
                                // thread; `f` is live and the result is released.
                                unsafe {
                                    let g = ffi::PyGILState_Ensure();
                                    let r = check(ffi::PyObject_CallNoArgs(f.as_ptr()), "f0()");
                                    ffi::Py_DECREF(r);
                                    ffi::PyGILState_Release(g);
                                }
                            })
                            .await
                            .expect("w8 raw task")
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.expect("w8 raw");
                }
            });
        }
    });
    let rt = s.runtime.clone();
    let ex = s.executor.clone();
    let fp = Arc::new(unbound(f));
    let pyhost = here(move |n| {
        for _ in 0..n {
            rt.block_on(async {
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        let (ex, fp) = (ex.clone(), fp.clone());
                        tokio::spawn(async move {
                            ex.spawn(move |py| {
                                black_box(fp.bind(py).call0()?);
                                Ok(())
                            })
                            .await
                            .expect("w8 pyhost task")
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.expect("w8 pyhost");
                }
            });
        }
    });
    let rt = s.runtime.clone();
    let f3 = Arc::new(pyo3_handle(f));
    let pyo3 = here(move |n| {
        for _ in 0..n {
            rt.block_on(async {
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        let f3 = f3.clone();
                        tokio::spawn(async move {
                            tokio::task::spawn_blocking(move || {
                                pyo3::Python::attach(|py| {
                                    black_box(f3.bind(py).call0().expect("w8 pyo3 call"));
                                })
                            })
                            .await
                            .expect("w8 pyo3 task")
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.expect("w8 pyo3");
                }
            });
        }
    });
    let mut w = workload(
        "w8",
        "short tasks from tokio (pyhost Executor; others spawn_blocking)",
        "us/task",
        1e3,
        vec![
            (Column::Raw, raw),
            (Column::Pyhost, pyhost),
            (Column::Pyo3, pyo3),
        ],
    );
    w.per_op = tasks;
    w.fixed_batch = Some(1);
    w.callgrind = false;
    w
}
