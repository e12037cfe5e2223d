//! Reference counts measured, not guessed. A debug build of CPython (`Py_REF_DEBUG`) counts
//! every reference in `sys.gettotalrefcount()`; a million mixed operations through the public
//! API must leave that total where it started: calls with arguments both ways, conversions
//! of str, int, float, bytes, list, dict, `Vec`, `HashMap` and serde values both ways, errors
//! raised and caught on both sides, and `Unbound` handles dropped on a thread without the GIL.
//!
//! Release builds have no total: there the test runs a shorter round and checks the values
//! only. The debug legs of `cargo xtask test` (3.14d, 3.15d) run it in full.
//!
//! Also here, in a binary of its own so that no other test allocates meanwhile: a million
//! conversions keep the resident memory flat.

mod common;

use std::collections::HashMap;
use std::sync::mpsc;

use pyhost::types::{Any, Dict, Module};
use pyhost::{Error, ExceptionType, IntoPython, Object, PyErr, Python, Unbound, with_gil};

/// Operations counted on a debug build.
const OPERATIONS: usize = 1_000_000;
/// On a release build (nothing to measure; the values are still checked).
const RELEASE_OPERATIONS: usize = 20_000;
/// How far the total may move over the measured operations: zero. Everything the operations
/// create is released; the warm-up round makes what CPython creates once and keeps; and each
/// reading first empties CPython's internal caches. (Its type-attribute cache keeps a strong
/// reference to the last name looked up in each of its slots, and which names stay depends on
/// the per-process string hash: without emptying it, readings drift by a few hundred.)
const SLACK: isize = 0;

/// Scales the values and names them: a list in, a dict out, an optional keyword.
#[pyhost::function]
fn scale(
    values: Vec<f64>,
    factor: f64,
    #[pyhost(default = "v".to_owned())] prefix: String,
) -> HashMap<String, f64> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{prefix}{i}"), v * factor))
        .collect()
}

/// Fails for odd numbers, with a Python exception made in Rust.
#[pyhost::function]
fn even(n: i64) -> pyhost::Result<i64> {
    if n % 2 == 0 {
        Ok(n / 2)
    } else {
        Err(Error::Python(PyErr::new(
            ExceptionType::ValueError,
            format!("{n} is odd"),
        )))
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
struct Sample {
    name: String,
    value: f64,
    tags: Vec<String>,
    meta: HashMap<String, i64>,
}

const HELPERS: &str = "\
import sys
def combine(a, b, *, sep='-'):
    return f'{a}{sep}{b}'
def raiser(n):
    raise KeyError(n)
def catch(f, n):
    try:
        return f(n)
    except ValueError:
        return -1
def total():
    if not hasattr(sys, 'gettotalrefcount'):
        return None
    clear = getattr(sys, '_clear_internal_caches', None) or sys._clear_type_cache
    clear()
    return sys.gettotalrefcount()
";

/// The objects the operations use.
struct Fixtures<'py> {
    combine: Object<'py, Any>,
    raiser: Object<'py, Any>,
    catch: Object<'py, Any>,
    scale: Object<'py, Any>,
    even: Object<'py, Any>,
}

impl<'py> Fixtures<'py> {
    fn bind(py: Python<'py>, ns: &Unbound<Dict>, module: &Unbound<Module>) -> pyhost::Result<Self> {
        let ns = ns.bind(py).to_owned();
        let get = |name: &str| -> pyhost::Result<Object<'py, Any>> {
            Ok(ns.get_item(name)?.expect("defined by HELPERS"))
        };
        let m = module.bind(py).to_owned();
        Ok(Fixtures {
            combine: get("combine")?,
            raiser: get("raiser")?,
            catch: get("catch")?,
            scale: m.getattr("scale")?,
            even: m.getattr("even")?,
        })
    }
}

/// What the dropping thread is sent.
enum ToDropper {
    /// Drop this handle (without the GIL).
    Drop(Unbound<Any>),
    /// Say when everything sent before has been dropped.
    Flush(mpsc::Sender<()>),
}

/// One round of operations, checking every value; returns how many it counted.
fn round(
    py: Python<'_>,
    f: &Fixtures<'_>,
    i: usize,
    dropper: &mpsc::Sender<ToDropper>,
) -> pyhost::Result<usize> {
    let n = i as i64;
    let mut ops = 0;

    // Python called from Rust, with positional and keyword arguments.
    let kwargs = Dict::new(py);
    kwargs.set_item("sep", "+")?;
    let s: String = f.combine.call((n, "x"), Some(&kwargs))?.extract()?;
    assert_eq!(s, format!("{n}+x"));
    ops += 3;

    // Rust called through Python's calling convention: a list in, a dict out, a default.
    let scaled: HashMap<String, f64> = f.scale.call1((vec![1.0, 2.0, n as f64], 0.5))?.extract()?;
    assert_eq!(scaled["v2"], n as f64 * 0.5);
    ops += 3;

    // Errors: a Python exception caught in Rust, a Rust error caught in Python.
    let e = f.raiser.call1((n,)).unwrap_err();
    assert!(e.to_string().contains("KeyError"), "{e}");
    let odd: i64 = f.catch.call1((&f.even, 2 * n + 1))?.extract()?;
    assert_eq!(odd, -1);
    let half: i64 = f.catch.call1((&f.even, 2 * n))?.extract()?;
    assert_eq!(half, n);
    ops += 3;

    // Scalars, text and bytes both ways.
    let v: i64 = n.into_python(py)?.extract()?;
    let x: f64 = (n as f64 + 0.25).into_python(py)?.extract()?;
    let t: String = format!("café {n}").into_python(py)?.extract()?;
    let last = (i % 256) as u8;
    let b: Vec<u8> = vec![0u8, 1, 2, last].into_python(py)?.extract()?;
    assert_eq!((v, x), (n, n as f64 + 0.25));
    assert_eq!((t, b[3]), (format!("café {n}"), last));
    ops += 8;

    // Collections both ways.
    let list: Vec<i64> = vec![n, n + 1, n + 2].into_python(py)?.extract()?;
    let map: HashMap<String, i64> = HashMap::from([("a".to_owned(), n), ("b".to_owned(), 2)])
        .into_python(py)?
        .extract()?;
    assert_eq!((list[2], map["a"]), (n + 2, n));
    ops += 4;

    #[cfg(feature = "serde")]
    {
        use pyhost::conversion::serde::{from_python, to_python};
        let sample = Sample {
            name: format!("m{n}"),
            value: n as f64,
            tags: vec!["a".into(), "b".into()],
            meta: HashMap::from([("k".to_owned(), n)]),
        };
        let back: Sample = from_python(&to_python(py, &sample)?)?;
        assert_eq!(back, sample);
        ops += 2;
    }

    // A handle dropped on another thread, which does not hold the GIL.
    let handle = vec![n, n].into_python(py)?.unbind();
    dropper
        .send(ToDropper::Drop(handle))
        .expect("the dropping thread is alive");
    ops += 1;
    Ok(ops)
}

/// `sys.gettotalrefcount()` once every handle sent to the dropping thread was dropped, the
/// deferred releases were applied and the cycle collector ran; `None` on a release build.
fn settled_total(ns: &Unbound<Dict>, dropper: &mpsc::Sender<ToDropper>) -> Option<isize> {
    let (ack, done) = mpsc::channel();
    dropper.send(ToDropper::Flush(ack)).unwrap();
    done.recv().unwrap();
    with_gil(|py| {
        // The acquisition applied the deferred releases.
        assert_eq!(pyhost::pending_decrefs(), 0);
        py.import("gc")?.call_method0("collect")?;
        py.eval_with("total()", &ns.bind(py).to_owned(), None)?
            .extract()
    })
    .unwrap()
}

#[test]
fn a_million_operations_leave_the_reference_total_unchanged() {
    pyhost::initialize_once().unwrap();
    let (tx, rx) = mpsc::channel::<ToDropper>();
    let dropping = std::thread::spawn(move || {
        for msg in rx {
            match msg {
                ToDropper::Drop(handle) => {
                    assert!(!pyhost::gil_is_held());
                    drop(handle);
                }
                ToDropper::Flush(ack) => ack.send(()).unwrap(),
            }
        }
    });
    let (ns, module) = with_gil(|py| {
        let ns = py.new_namespace()?;
        py.exec_with(HELPERS, &ns, None)?;
        let m = Module::new(py, "rc")?;
        m.add_function(pyhost::wrap_function!(scale))?;
        m.add_function(pyhost::wrap_function!(even))?;
        Ok((ns.unbind(), m.unbind()))
    })
    .unwrap();

    // Operations in chunks of one GIL acquisition each; at every acquisition the releases
    // deferred by the dropping thread are applied.
    let run = |count: usize, start: usize| -> usize {
        let mut done = 0;
        let mut i = start;
        while done < count {
            done += with_gil(|py| {
                let f = Fixtures::bind(py, &ns, &module)?;
                let mut ops = 0;
                for _ in 0..200 {
                    ops += round(py, &f, i, &tx)?;
                    i += 1;
                }
                Ok(ops)
            })
            .unwrap();
        }
        done
    };

    // Warm-up: CPython makes some objects on first use and keeps them (the first reading
    // included).
    run(10_000, 0);
    settled_total(&ns, &tx);
    let before = settled_total(&ns, &tx);
    let wanted = if before.is_some() {
        OPERATIONS
    } else {
        RELEASE_OPERATIONS
    };
    let done = run(wanted, 1_000);
    let after = settled_total(&ns, &tx);
    drop(tx);
    dropping.join().unwrap();
    match (before, after) {
        (Some(before), Some(after)) => {
            println!(
                "sys.gettotalrefcount(): {before} before, {after} after {done} operations \
                 (difference {})",
                after - before
            );
            assert!(
                (after - before).abs() <= SLACK,
                "{done} operations moved the reference total from {before} to {after}: \
                 something leaks (or over-releases) {} references",
                after - before
            );
        }
        _ => println!(
            "a release build of CPython: no reference total to measure ({done} operations \
             checked their values only; the debug legs of cargo xtask test measure it)"
        ),
    }
}

/// Resident memory, which catches leaks of Rust allocations that reference counts do not see.
#[test]
fn a_million_conversions_keep_memory_flat() {
    pyhost::initialize_once().unwrap();
    let run = |n: usize| {
        with_gil(|py| {
            let mut acc = 0i64;
            for i in 0..n {
                let obj = (i as i64, format!("item {i}"), vec![i as f64]).into_python(py)?;
                let (a, _b, c): (i64, String, Vec<f64>) = obj.extract()?;
                acc += a + c.len() as i64;
            }
            Ok(acc)
        })
        .unwrap()
    };
    run(100_000); // warm up allocator pools
    let before = common::rss_bytes();
    let acc = run(1_000_000);
    let after = common::rss_bytes();
    assert_eq!(acc, (0..1_000_000i64).sum::<i64>() + 1_000_000);
    let grown = after.saturating_sub(before);
    assert!(
        grown < 8 << 20,
        "RSS grew by {} KiB over 1,000,000 conversions",
        grown >> 10
    );
}
