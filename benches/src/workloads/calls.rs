//! w1 … w4: calls from Rust into Python and from Python into Rust.

use std::hint::black_box;

use pyhost_sys as ffi;
use pyo3::types::PyAnyMethods;

use crate::harness::{Body, Column, Workload};
use crate::raw::{self, Ptr, check};

use super::*;

// ---------------------------------------------------------------------------------------------
// w1, w2: Rust calls Python

pub(super) fn w1(s: &Shared) -> Workload {
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
pub(super) const W2_STR: &str = "hello";
pub(super) const W2_FLOAT: f64 = 1.5;
pub(super) const W2_INT: i64 = 1_000_003;

pub(super) fn w2(s: &Shared) -> Workload {
    let f = s.f3;
    let raw = raw_here(move || {
        // GIL held (raw_here); `f` is live; the argument array holds the three new
        // references, released after the call; the slot before them is scratch space as
        // PY_VECTORCALL_ARGUMENTS_OFFSET allows.
        // SAFETY: for the reasons above.
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
pub(super) fn python_loop(driver: Ptr, fns: [Ptr; 3]) -> Vec<(Column, Body)> {
    let [raw_f, pyhost_f, pyo3_f] = fns;
    let raw = here(move |n| {
        // The interpreter is running and this thread does not hold the GIL; then GIL
        // held; `driver` and `raw_f` are live; every new reference is released.
        // SAFETY: for the reasons above.
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

pub(super) fn w3(s: &Shared) -> Workload {
    workload(
        "w3",
        "Python calls a Rust function, no arguments",
        "ns/call",
        1.0,
        python_loop(s.loop0, s.noop),
    )
}

pub(super) fn w4(s: &Shared) -> Workload {
    workload(
        "w4",
        "Python calls a Rust function (3 ints) -> int",
        "ns/call",
        1.0,
        python_loop(s.loop3, s.add3),
    )
}
