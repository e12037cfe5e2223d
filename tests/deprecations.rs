//! No deprecation warning at run time: with every `DeprecationWarning` and
//! `PendingDeprecationWarning` turned into an error from the first line Python runs
//! (`PYTHONWARNINGS`, read because the interpreter uses the environment here), what pyhost
//! does for its users still works: start-up with a venv-free `site`, imports and code,
//! errors captured with their traceback, a Rust function and class called from Python,
//! executor calls and a deadline interrupting `time.sleep`, and finalization. In its own
//! process (it starts and finalizes the interpreter).

mod common;

use std::time::Duration;

use pyhost::types::Module;
use pyhost::{Error, Executor, Object};

/// Doubles a number.
#[pyhost::function]
fn double(x: i64) -> i64 {
    2 * x
}

/// A counter kept in Rust.
#[pyhost::class]
struct Counter {
    n: i64,
}

#[pyhost::class]
impl Counter {
    #[new]
    fn new(start: i64) -> Counter {
        Counter { n: start }
    }

    fn bump(&mut self) -> i64 {
        self.n += 1;
        self.n
    }
}

#[pyhost::module(name = "deprecation_probe")]
fn probe(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(double))?;
    m.add_class::<Counter>()
}

const NAME: &str = "nothing_pyhost_does_raises_a_deprecation_warning";

#[test]
fn nothing_pyhost_does_raises_a_deprecation_warning() {
    if !common::is_child(NAME) {
        let out = common::run_child(
            NAME,
            &[(
                "PYTHONWARNINGS",
                "error::DeprecationWarning,error::PendingDeprecationWarning",
            )],
        );
        let stdout = common::assert_child_ok(&out);
        assert!(stdout.contains("all done"), "{stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("DeprecationWarning"), "{stderr}");
        return;
    }
    pyhost::Interpreter::builder()
        .use_environment(true)
        .builtin_module("deprecation_probe", probe::builtin())
        .start()
        .unwrap();
    pyhost::with_gil(|py| {
        // The filter is in force: a deprecated call fails.
        let filters: String = py
            .eval("repr([f[0] for f in __import__('warnings').filters[:2]])")?
            .extract()?;
        assert!(filters.contains("error"), "{filters}");
        py.exec(
            "import warnings\ntry:\n    warnings.warn('x', DeprecationWarning)\n    raise SystemExit('not enforced')\nexcept DeprecationWarning:\n    pass\n",
        )?;

        py.exec("import json, os, subprocess, threading, asyncio")?;
        let n: i64 = py
            .eval("__import__('deprecation_probe').double(21)")?
            .extract()?;
        assert_eq!(n, 42);
        let c: i64 = py
            .eval("(lambda c: (c.bump(), c.bump())[1])(__import__('deprecation_probe').Counter(1))")?
            .extract()?;
        assert_eq!(c, 3);
        let e = py.exec("def f():\n    raise ValueError('boom')\nf()\n").unwrap_err();
        let shown = format!("{e:#}");
        assert!(shown.contains("ValueError: boom"), "{shown}");
        Ok(())
    })
    .unwrap();

    let ex = Executor::builder().workers(2).build().unwrap();
    let v: i64 = ex.run(|py| py.eval("6 * 7")?.extract()).unwrap();
    assert_eq!(v, 42);
    let slept = ex.run_timeout(Duration::from_millis(200), |py| {
        py.exec("import time\ntime.sleep(30)")
    });
    assert!(matches!(slept, Err(Error::Timeout { .. })), "{slept:?}");
    ex.shutdown_and_finalize(pyhost::executor::ShutdownMode::Drain)
        .unwrap();
    println!("all done");
}
