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
