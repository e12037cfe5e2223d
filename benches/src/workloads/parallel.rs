//! w9: Python on two cores. CPU-bound calls on two workers with an own GIL each (pyhost's
//! pool of subinterpreters, and the raw C API's ceiling: two threads, each in a subinterpreter
//! of its own) against the same on one GIL (today's Executor, two C-API threads, PyO3), and
//! the cost of one tiny call through the pool and through the Executor.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use pyhost::executor::block_on;
use pyhost_sys as ffi;

use super::{Shared, here, workload};
use crate::harness::{Body, Column, Workload};
use crate::raw::check;

/// One CPU-bound call: about 10 ms of pure Python.
const WORK: &str = "sum(i * i for i in range(150_000))";
const WORK_C: &std::ffi::CStr = c"sum(i * i for i in range(150_000))";
/// Calls per operation, spread over the two workers.
const CALLS: u64 = 4;

/// A body whose batches run on two threads at once, each doing half of the calls: `make`
/// runs on each thread and returns its per-call function (dropped on that thread when the
/// workload ends, which joins them).
fn on_two_threads<M>(name: &str, make: M) -> Body
where
    M: Fn() -> Box<dyn FnMut()> + Send + Sync + 'static,
{
    struct Pair {
        txs: Vec<mpsc::Sender<u64>>,
        done: mpsc::Receiver<()>,
        handles: Vec<JoinHandle<()>>,
    }
    impl Drop for Pair {
        fn drop(&mut self) {
            self.txs.clear();
            for h in self.handles.drain(..) {
                let _ = h.join();
            }
        }
    }
    let make = Arc::new(make);
    let (done_tx, done) = mpsc::channel();
    let mut txs = Vec::new();
    let mut handles = Vec::new();
    for i in 0..2 {
        let (tx, rx) = mpsc::channel::<u64>();
        let (make, done_tx) = (make.clone(), done_tx.clone());
        handles.push(
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    let mut call = make();
                    for calls in rx {
                        for _ in 0..calls {
                            call();
                        }
                        let _ = done_tx.send(());
                    }
                })
                .expect("spawning a benchmark thread"),
        );
        txs.push(tx);
    }
    let pair = Pair { txs, done, handles };
    Box::new(move |n| {
        let t = Instant::now();
        for tx in &pair.txs {
            tx.send(n * CALLS / 2).expect("benchmark thread");
        }
        for _ in 0..2 {
            pair.done.recv().expect("benchmark thread");
        }
        t.elapsed()
    })
}

/// Runs `WORK` with the GIL held in the current interpreter, whose globals are `globals`.
///
/// # Safety
/// The GIL of the interpreter `globals` belongs to is held.
unsafe fn run_work(globals: *mut ffi::PyObject) {
    // SAFETY: forwarded to the caller; the result is checked and released.
    unsafe {
        let r = check(
            ffi::PyRun_StringFlags(
                WORK_C.as_ptr(),
                ffi::Py_eval_input as _,
                globals,
                globals,
                std::ptr::null_mut(),
            ),
            "w9 work",
        );
        ffi::Py_DECREF(r);
    }
}

/// A globals dict with builtins, for the current interpreter.
///
/// # Safety
/// The GIL is held.
unsafe fn new_globals() -> *mut ffi::PyObject {
    // SAFETY: forwarded to the caller; results checked.
    unsafe {
        let g = check(ffi::PyDict_New(), "dict");
        if ffi::PyDict_SetItemString(g, c"__builtins__".as_ptr(), ffi::PyEval_GetBuiltins()) != 0 {
            crate::raw::fail("globals");
        }
        g
    }
}

/// The raw C API's ceiling: a subinterpreter with its own GIL on each thread.
#[cfg(py_3_12)]
fn raw_own_gil() -> Body {
    struct Sub {
        ts: *mut ffi::PyThreadState,
        globals: *mut ffi::PyObject,
    }
    impl Drop for Sub {
        fn drop(&mut self) {
            // This thread's state of its live subinterpreter, not attached.
            // SAFETY: for the reasons above.
            unsafe {
                ffi::PyEval_RestoreThread(self.ts);
                ffi::Py_DECREF(self.globals);
                ffi::Py_EndInterpreter(self.ts);
            }
        }
    }
    on_two_threads("w9a-raw", || {
        let config = ffi::PyInterpreterConfig {
            use_main_obmalloc: 0,
            allow_fork: 0,
            allow_exec: 0,
            allow_threads: 1,
            allow_daemon_threads: 0,
            check_multi_interp_extensions: 1,
            gil: ffi::PyInterpreterConfig_OWN_GIL as _,
        };
        // The interpreter is running. The sequence CPython's `interpreters` module uses:
        // create from the main interpreter, swap back, release; then this thread attaches its
        // subinterpreter's state for each call.
        // SAFETY: for the reasons above.
        let sub = unsafe {
            let g = ffi::PyGILState_Ensure();
            let main_ts = ffi::PyThreadState_Get();
            #[cfg(py_3_13)]
            ffi::PyThreadState_Swap(std::ptr::null_mut());
            let mut ts = std::ptr::null_mut();
            let status = ffi::Py_NewInterpreterFromConfig(&mut ts, &config);
            assert!(
                ffi::PyStatus_Exception(status) == 0,
                "Py_NewInterpreterFromConfig failed"
            );
            let globals = new_globals();
            ffi::PyThreadState_Swap(main_ts);
            ffi::PyGILState_Release(g);
            Sub { ts, globals }
        };
        Box::new(move || {
            // The whole `Sub` is moved in (not just its fields), so it ends with the closure.
            let sub = &sub;
            // This thread's own state of its subinterpreter, attached for the call.
            // SAFETY: for the reasons above.
            unsafe {
                ffi::PyEval_RestoreThread(sub.ts);
                run_work(sub.globals);
                ffi::PyEval_SaveThread();
            }
        })
    })
}

/// Two C-API threads on the main interpreter's one GIL.
fn raw_one_gil() -> Body {
    on_two_threads("w9b-raw", || {
        // SAFETY: the interpreter is running; paired on this thread.
        let globals = unsafe {
            let g = ffi::PyGILState_Ensure();
            let d = new_globals();
            ffi::PyGILState_Release(g);
            crate::raw::Ptr(d)
        };
        Box::new(move || {
            // SAFETY: the interpreter is running; paired on this thread; `globals` is live.
            unsafe {
                let g = ffi::PyGILState_Ensure();
                run_work(globals.as_ptr());
                ffi::PyGILState_Release(g);
            }
        })
    })
}

/// Four CPU-bound calls through an executor, waited for together.
fn through(ex: pyhost::Executor) -> Body {
    here(move |n| {
        for _ in 0..n {
            let calls: Vec<_> = (0..CALLS)
                .map(|_| ex.spawn(|py| py.eval(WORK)?.extract::<u64>()))
                .collect();
            for c in calls {
                black_box(block_on(c).expect("w9 pyhost"));
            }
        }
    })
}

/// The pool of own-GIL subinterpreters (two workers), when this CPython has them.
fn pool() -> Option<pyhost::Executor> {
    if !pyhost::subinterpreter::supported() {
        return None;
    }
    Some(
        pyhost::Executor::builder()
            .workers(2)
            .subinterpreters(pyhost::subinterpreter::InterpreterConfig::default())
            .build()
            .expect("w9 pool"),
    )
}

pub(super) fn w9a() -> Workload {
    let mut columns = Vec::new();
    #[cfg(py_3_12)]
    columns.push((Column::Raw, raw_own_gil()));
    if let Some(p) = pool() {
        columns.push((Column::Pyhost, through(p)));
    }
    cpu_bound(workload(
        "w9a",
        "CPU-bound Python on 2 workers, own GIL each (3.12+)",
        "ms/call",
        1e6,
        columns,
    ))
}

pub(super) fn w9b(s: &Shared) -> Workload {
    let pyo3 = on_two_threads("w9b-pyo3", || {
        Box::new(|| {
            pyo3::Python::attach(|py| {
                let v = py.eval(WORK_C, None, None).expect("w9b pyo3");
                black_box(pyo3::types::PyAnyMethods::extract::<u64>(&v).expect("w9b pyo3 result"));
            });
        })
    });
    cpu_bound(workload(
        "w9b",
        "CPU-bound Python on 2 workers, one GIL",
        "ms/call",
        1e6,
        vec![
            (Column::Raw, raw_one_gil()),
            (Column::Pyhost, through(s.executor.clone())),
            (Column::Pyo3, pyo3),
        ],
    ))
}

fn cpu_bound(mut w: Workload) -> Workload {
    w.per_op = CALLS;
    w.fixed_batch = Some(2);
    w.callgrind = false;
    w
}

/// One tiny call, waited for, through `ex`.
fn tiny(ex: pyhost::Executor) -> Body {
    here(move |n| {
        for _ in 0..n {
            ex.run(|py| {
                black_box(py);
                Ok(())
            })
            .expect("w9 tiny call");
        }
    })
}

pub(super) fn w9c() -> Workload {
    let columns = pool()
        .map(|p| vec![(Column::Pyhost, tiny(p))])
        .unwrap_or_default();
    let mut w = workload(
        "w9c",
        "one tiny call through the pool of subinterpreters (3.12+)",
        "us/call",
        1e3,
        columns,
    );
    w.callgrind = false;
    w
}

pub(super) fn w9d(s: &Shared) -> Workload {
    let mut w = workload(
        "w9d",
        "one tiny call through the Executor (main interpreter)",
        "us/call",
        1e3,
        vec![(Column::Pyhost, tiny(s.executor.clone()))],
    );
    w.callgrind = false;
    w
}
