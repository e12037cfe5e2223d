//! w5, w7, w8a: taking the GIL on other threads, under contention, and from tokio tasks
//! through `spawn_blocking`.

use std::hint::black_box;
use std::sync::{Arc, Barrier};

use pyhost_sys as ffi;
use pyo3::types::PyAnyMethods;

use crate::harness::{Column, Workload};
use crate::raw::check;

use super::*;

// ---------------------------------------------------------------------------------------------
// w5: take and release the GIL on a thread Python did not create

pub(super) fn w5(s: &Shared) -> Workload {
    acquisitions(s, None)
}

/// w5b: the same with a call of a trivial Python function inside each acquisition, which
/// shows what `PyGILState_Ensure` costs once a frame runs (a fresh thread state each time).
pub(super) fn w5b(s: &Shared) -> Workload {
    acquisitions(s, Some(s.f0))
}

/// Takes and releases the GIL on a thread Python did not create, calling `f` inside each
/// acquisition when given. PyO3's column is its best idiom for a worker: attached once, and
/// detached (released and taken again) for each operation.
fn acquisitions(s: &Shared, f: Option<Ptr>) -> Workload {
    let raw = on_thread("w5-raw", move || {
        Box::new(move |n| {
            for _ in 0..n {
                // The interpreter is running; the pair is on this thread; `f` is live and
                // its result released.
                // SAFETY: for the reasons above.
                unsafe {
                    let g = ffi::PyGILState_Ensure();
                    if let Some(f) = f {
                        ffi::Py_DECREF(check(ffi::PyObject_CallNoArgs(f.as_ptr()), "f0()"));
                    }
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
                if let Some(f) = f {
                    // SAFETY: GIL held through `state`; `f` is live; the result is released.
                    unsafe {
                        ffi::Py_DECREF(check(ffi::PyObject_CallNoArgs(f.as_ptr()), "f0()"));
                    }
                }
                state.save();
            }
        })
    });
    let fp = f.map(|f| Arc::new(unbound(f)));
    let pyhost = on_thread("w5-pyhost", move || {
        Box::new(move |n| {
            for _ in 0..n {
                pyhost::with_gil(|py| {
                    match &fp {
                        Some(f) => {
                            black_box(f.bind(py).call0()?);
                        }
                        None => {
                            black_box(py);
                        }
                    }
                    Ok(())
                })
                .expect("w5 pyhost");
            }
        })
    });
    let f3 = f.map(|f| Arc::new(pyo3_handle(f)));
    let pyo3 = on_thread("w5-pyo3", move || {
        Box::new(move |n| {
            pyo3::Python::attach(|py| {
                for _ in 0..n {
                    if let Some(f) = &f3 {
                        black_box(f.bind(py).call0().expect("w5 pyo3"));
                    }
                    py.detach(|| black_box(()));
                }
            });
        })
    });
    let (id, title) = match f {
        None => ("w5", "take + release the GIL on a non-Python thread"),
        Some(_) => (
            "w5b",
            "take + release the GIL on a non-Python thread, a Python call inside",
        ),
    };
    workload(
        id,
        title,
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
// w7: two threads, each taking the GIL for each of its calls

pub(super) fn w7(s: &Shared, calls: u64) -> Workload {
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
                    // The interpreter is running; the Ensure/Release pair is on this
                    // thread; `f` is live and the result is released.
                    // SAFETY: for the reasons above.
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
    // PyO3's best idiom on a worker thread: attached once, detached between calls.
    let pyo3 = here(move |n| {
        for _ in 0..n {
            two_threads(|| {
                pyo3::Python::attach(|py| {
                    for _ in 0..calls {
                        black_box(f3.bind(py).call0().expect("w7 pyo3"));
                        py.detach(|| black_box(()));
                    }
                });
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
// w8a: short tasks from tokio through spawn_blocking (w8 runs them on pools)

pub(super) fn w8a(s: &Shared, tasks: u64) -> Workload {
    let f = s.f0;
    let rt = s.runtime.clone();
    let raw = here(move |n| {
        for _ in 0..n {
            rt.block_on(async {
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        tokio::spawn(async move {
                            tokio::task::spawn_blocking(move || {
                                // The interpreter is running; the pair is on this
                                // thread; `f` is live and the result is released.
                                // SAFETY: for the reasons above.
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
        "w8a",
        "short tasks from tokio (raw, pyo3: spawn_blocking; pyhost: Executor)",
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
