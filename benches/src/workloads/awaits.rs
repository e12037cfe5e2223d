//! w11: Python awaits Rust futures in a loop under `asyncio.run`: pyhost's
//! `#[pyhost::function] async fn` (on its tokio runtime) against PyO3 with
//! pyo3-async-runtimes' `future_into_py` (on its tokio runtime). w11a: the future is ready at
//! once (pyhost completes the asyncio future on the spot; pyo3-async-runtimes always goes
//! through a runtime thread). w11b: the future yields once, so both complete the asyncio
//! future from a runtime thread and wake the loop. The raw column is the floor without Rust:
//! awaiting a Python coroutine (w11b: one that yields once with `asyncio.sleep(0)`).

use std::hint::black_box;

use pyo3::prelude::*;

use super::{here, leak, pyo3_handle, unbound, workload};
use crate::harness::{Column, Workload};
use crate::raw::Ptr;

const DRIVER: &str = "\
import asyncio

async def ready_py():
    return 1

async def yielding_py():
    await asyncio.sleep(0)
    return 1

def awaits(f, n):
    async def main():
        for _ in range(n):
            await f()
    asyncio.run(main())
";

/// Answers at once.
#[pyhost::function]
async fn ready_pyhost() -> u64 {
    1
}

/// Yields to the runtime once, then answers.
#[pyhost::function]
async fn yielding_pyhost() -> u64 {
    tokio::task::yield_now().await;
    1
}

/// Yields to the runtime once, then answers, through pyo3-async-runtimes.
#[pyo3::pyfunction]
fn yielding_pyo3(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async {
        tokio::task::yield_now().await;
        Ok(1u64)
    })
}

/// Answers at once, through pyo3-async-runtimes.
#[pyo3::pyfunction]
fn ready_pyo3(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async { Ok(1u64) })
}

pub(super) fn w11a() -> Workload {
    awaits(
        "w11a",
        "Python awaits a ready Rust future under asyncio (raw: a ready Python coroutine)",
        ("ready_py", pyhost::wrap_function!(ready_pyhost)),
        |py| pyo3::wrap_pyfunction!(ready_pyo3, py),
    )
}

pub(super) fn w11b() -> Workload {
    awaits(
        "w11b",
        "Python awaits a Rust future that yields once (raw: a Python coroutine, sleep(0))",
        ("yielding_py", pyhost::wrap_function!(yielding_pyhost)),
        |py| pyo3::wrap_pyfunction!(yielding_pyo3, py),
    )
}

/// The three columns: the driver awaiting the Python coroutine, pyhost's and PyO3's.
fn awaits(
    id: &'static str,
    title: &'static str,
    (raw_name, pyhost_def): (&str, &'static pyhost::FunctionDef),
    pyo3_def: fn(Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyCFunction>>,
) -> Workload {
    let (driver, raw_f, pyhost_f) = pyhost::with_gil(|py| {
        let ns = py.new_namespace()?;
        py.exec_with(DRIVER, &ns, None)?;
        let get = |k: &str| -> pyhost::Result<Ptr> { Ok(leak(ns.get_item(k)?.expect("defined"))) };
        Ok((
            get("awaits")?,
            get(raw_name)?,
            leak(pyhost_def.to_callable(py)?.into_any()),
        ))
    })
    .expect("w11 setup");
    let run = |f: Ptr| {
        let (d, f) = (unbound(driver), unbound(f));
        here(move |n| {
            pyhost::with_gil(|py| {
                black_box(d.bind(py).call1((f.bind(py), n))?);
                Ok(())
            })
            .expect("w11 batch")
        })
    };
    let d3 = pyo3_handle(driver);
    let f3 = Python::attach(|py| pyo3_def(py).expect("wrapping").into_any().unbind());
    let pyo3_body = here(move |n| {
        Python::attach(|py| {
            black_box(d3.bind(py).call1((f3.bind(py), n)).expect("w11 pyo3 batch"));
        })
    });
    let mut w = workload(
        id,
        title,
        "us/await",
        1e3,
        vec![
            (Column::Raw, run(raw_f)),
            (Column::Pyhost, run(pyhost_f)),
            (Column::Pyo3, pyo3_body),
        ],
    );
    w.callgrind = false;
    w
}

/// The loop w11c awaits on, in a Python thread of its own, and the coroutine function.
const LOOP_THREAD: &str = "\
import asyncio, threading

async def trivial():
    return 1

loop = asyncio.new_event_loop()
threading.Thread(target=loop.run_forever, name='w11c-loop', daemon=True).start()

def submit_and_wait():
    return asyncio.run_coroutine_threadsafe(trivial(), loop).result()
";

static TRIVIAL: std::sync::OnceLock<pyhost::Unbound<pyhost::types::Any>> =
    std::sync::OnceLock::new();

/// w11c: Rust awaits a trivial Python coroutine on an event loop in another thread, one at a
/// time. raw: `asyncio.run_coroutine_threadsafe(...).result()` from the caller (Python's own
/// way across threads); pyhost: `Executor::spawn_coroutine` on a 1-worker executor (the
/// worker's kept loop); PyO3: pyo3-async-runtimes' `into_future_with_locals` on a loop running
/// in a Python thread, awaited on a tokio current-thread runtime.
pub(super) fn w11c() -> Workload {
    let (submit, trivial, event_loop) = pyhost::with_gil(|py| {
        let ns = py.new_namespace()?;
        py.exec_with(LOOP_THREAD, &ns, None)?;
        let get = |k: &str| -> pyhost::Result<Ptr> { Ok(leak(ns.get_item(k)?.expect("defined"))) };
        Ok((get("submit_and_wait")?, get("trivial")?, get("loop")?))
    })
    .expect("w11c setup");
    let _ = TRIVIAL.set(unbound(trivial));
    let raw = {
        let submit = unbound(submit);
        here(move |n| {
            pyhost::with_gil(|py| {
                let f = submit.bind(py);
                for _ in 0..n {
                    black_box(f.call0()?);
                }
                Ok(())
            })
            .expect("w11c raw batch")
        })
    };
    let ex = pyhost::Executor::builder()
        .workers(1)
        .name("w11c")
        .build()
        .expect("w11c executor");
    let pyhost_body = here(move |n| {
        for _ in 0..n {
            let call = ex
                .spawn_coroutine::<u64, _>(|py| TRIVIAL.get().expect("set above").bind(py).call0());
            black_box(pyhost::executor::block_on(call).expect("w11c pyhost await"));
        }
    });
    let (f3, loop3) = (pyo3_handle(trivial), pyo3_handle(event_loop));
    let locals = Python::attach(|py| pyo3_async_runtimes::TaskLocals::new(loop3.into_bound(py)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let pyo3_body = here(move |n| {
        rt.block_on(async {
            for _ in 0..n {
                let fut = Python::attach(|py| {
                    pyo3_async_runtimes::into_future_with_locals(&locals, f3.bind(py).call0()?)
                })
                .expect("w11c pyo3 submit");
                black_box(fut.await.expect("w11c pyo3 await"));
            }
        })
    });
    let mut w = workload(
        "w11c",
        "Rust awaits a trivial Python coroutine on a loop in another thread",
        "us/await",
        1e3,
        vec![
            (Column::Raw, raw),
            (Column::Pyhost, pyhost_body),
            (Column::Pyo3, pyo3_body),
        ],
    );
    w.callgrind = false;
    w
}
