//! w6: round trips of a big list, dict and str.

use std::collections::HashMap;

use pyhost_sys as ffi;
use pyo3::types::PyAnyMethods;

use crate::harness::{Body, Column, Workload};
use crate::raw::{self};

use super::*;

// ---------------------------------------------------------------------------------------------
// w6: conversions, Rust -> Python -> Rust. Each column converts the value its previous round
// trip produced, so every conversion consumes an owned value as a by-value API does.

pub(super) const W6_LEN: usize = 1_000_000;
pub(super) const W6_MAP: usize = 100_000;
pub(super) const W6_STR: usize = 1 << 20;

pub(super) fn w6_vec() -> Vec<i64> {
    (0..W6_LEN as i64).map(|i| i * 7 - 3_000_000).collect()
}

pub(super) fn w6_map() -> HashMap<String, f64> {
    (0..W6_MAP)
        .map(|i| (format!("key{i}"), i as f64 * 0.5))
        .collect()
}

pub(super) fn w6_string() -> String {
    let line = "The quick brown fox jumps over the lazy dog. ";
    let mut s = line.repeat(W6_STR / line.len() + 1);
    s.truncate(W6_STR);
    s
}

pub(super) fn w6_workload(
    id: &'static str,
    title: &'static str,
    columns: Vec<(Column, Body)>,
) -> Workload {
    let mut w = workload(id, title, "ms/round-trip", 1e6, columns);
    w.fixed_batch = Some(1);
    w
}

/// A w6 workload: `make` the value, then each column round-trips it (Rust -> Python -> Rust)
/// and `check`s the result. `raw` is the C-API round trip (called with the GIL held).
pub(super) fn w6_round_trip<T>(
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

pub(super) fn w6a() -> Workload {
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

pub(super) fn w6b() -> Workload {
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

pub(super) fn w6c() -> Workload {
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
