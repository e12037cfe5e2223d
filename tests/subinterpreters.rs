//! Subinterpreters with their own GIL (CPython 3.12+): isolation, parallelism, objects that
//! must not cross interpreters, builtin modules and classes per interpreter, extension
//! modules that refuse, the pool on the Executor's API, and create/end cycles. On older
//! Pythons: the clear error.
//!
//! This binary starts its own interpreter (it registers a builtin module first).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use pyhost::executor::{Refusal, ShutdownMode};
use pyhost::subinterpreter::{self, InterpreterConfig, Subinterpreter};
use pyhost::types::Module;
use pyhost::{Error, Executor, Interpreter, Object, Unbound, with_gil};

/// Calls of `count()` from every interpreter (host state shared by all instances).
type Counter = Arc<AtomicUsize>;

#[pyhost::function]
fn count(#[pyhost(state)] c: &Counter) -> usize {
    c.fetch_add(1, Ordering::SeqCst) + 1
}

/// A class whose type exists once per interpreter.
#[pyhost::class]
struct Point {
    x: i64,
    y: i64,
}

#[pyhost::class]
impl Point {
    #[new]
    fn new(x: i64, y: i64) -> Self {
        Point { x, y }
    }

    fn norm1(&self) -> i64 {
        self.x.abs() + self.y.abs()
    }
}

#[pyhost::module(state = Counter)]
fn hostmod(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(count))?;
    m.add_class::<Point>()
}

static COUNTER: std::sync::OnceLock<Counter> = std::sync::OnceLock::new();

fn start() {
    static START: Once = Once::new();
    START.call_once(|| {
        let c = COUNTER.get_or_init(Counter::default).clone();
        Interpreter::builder()
            .builtin_module("hostmod", hostmod::builtin(c))
            .start()
            .expect("starting Python");
    });
}

/// The tests of this binary run one at a time: one of them measures parallelism, which other
/// tests running meanwhile would eat.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Skips (returning true) on CPython < 3.12 after checking the error is the clear one.
fn unsupported_here() -> bool {
    start();
    if subinterpreter::supported() {
        return false;
    }
    let err = Subinterpreter::new(&InterpreterConfig::default()).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("3.12"), "{err}");
    let err = Executor::builder()
        .subinterpreters(InterpreterConfig::default())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    true
}

#[test]
fn before_3_12_the_pool_and_the_handle_say_what_is_needed() {
    start();
    if subinterpreter::supported() {
        return;
    }
    assert!(unsupported_here());
}

#[test]
fn a_subinterpreter_has_its_own_modules_and_id() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    assert!(sub.id() > 0);
    sub.with_gil(|py| py.exec("import sys; sys.pyhost_marker = 'sub'"))
        .unwrap();
    let (in_sub, id_inside): (bool, i64) = sub
        .with_gil(|py| {
            Ok((
                py.eval("hasattr(__import__('sys'), 'pyhost_marker')")?
                    .extract()?,
                subinterpreter::interpreter_id(py),
            ))
        })
        .unwrap();
    let in_main: bool = with_gil(|py| {
        assert_eq!(subinterpreter::interpreter_id(py), 0);
        py.eval("hasattr(__import__('sys'), 'pyhost_marker')")?
            .extract()
    })
    .unwrap();
    assert!(in_sub && !in_main);
    assert_eq!(id_inside, sub.id());
}

#[test]
fn entering_a_subinterpreter_while_holding_a_gil_is_an_error() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let err = with_gil(|_py| sub.with_gil(|py| py.eval("1").map(drop))).unwrap_err();
    assert!(matches!(err, Error::WrongInterpreter { .. }), "{err}");
    assert!(
        err.to_string().contains("while this thread holds a GIL"),
        "{err}"
    );
    // Nested in itself too.
    let err = sub
        .with_gil(|_py| sub.with_gil(|py| py.eval("1").map(drop)))
        .unwrap_err();
    assert!(matches!(err, Error::WrongInterpreter { .. }), "{err}");
    // Creating one inside a GIL scope as well.
    let err =
        with_gil(|_py| Subinterpreter::new(&InterpreterConfig::default()).map(drop)).unwrap_err();
    assert!(matches!(err, Error::WrongInterpreter { .. }), "{err}");
    // Once the scope has ended, entering works.
    let n: i64 = sub.with_gil(|py| py.eval("40 + 2")?.extract()).unwrap();
    assert_eq!(n, 42);
}

#[test]
fn an_object_of_one_interpreter_is_refused_in_another() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let from_sub: Unbound = sub
        .with_gil(|py| Ok(py.eval("[1, 2, 3]")?.unbind()))
        .unwrap();
    let from_main: Unbound = with_gil(|py| Ok(py.eval("{'a': 1}")?.unbind())).unwrap();
    let err = with_gil(|py| from_sub.try_bind(py).map(drop)).unwrap_err();
    assert!(matches!(err, Error::WrongInterpreter { .. }), "{err}");
    assert!(err.to_string().contains("never cross"), "{err}");
    let err = sub
        .with_gil(|py| from_main.try_bind(py).map(drop))
        .unwrap_err();
    assert!(matches!(err, Error::WrongInterpreter { .. }), "{err}");
    // `bind` panics with the same message instead of touching the object.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        with_gil(|py| {
            let _ = from_sub.bind(py);
            Ok(())
        })
    }));
    let msg = panicked.unwrap_err();
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("never cross"), "{msg}");
    // Each still works at home.
    let n: usize = sub.with_gil(|py| from_sub.try_bind(py)?.len()).unwrap();
    assert_eq!(n, 3);
    // Dropped without the GIL: the release waits for its own interpreter.
    let before = pyhost::pending_decrefs();
    drop(from_sub);
    assert_eq!(pyhost::pending_decrefs(), before + 1);
    sub.with_gil(|_py| Ok(())).unwrap();
    assert_eq!(pyhost::pending_decrefs(), before);
    drop(from_main);
}

#[test]
fn an_object_outliving_its_interpreter_is_forgotten_not_touched() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let orphan: Unbound = sub
        .with_gil(|py| Ok(py.eval("object()")?.unbind()))
        .unwrap();
    drop(sub);
    let err = with_gil(|py| orphan.try_bind(py).map(drop)).unwrap_err();
    assert!(matches!(err, Error::WrongInterpreter { .. }), "{err}");
    let before = pyhost::pending_decrefs();
    drop(orphan);
    assert_eq!(
        pyhost::pending_decrefs(),
        before,
        "nothing queued for a dead interpreter"
    );
}

#[test]
fn errors_raised_in_a_subinterpreter_are_usable_everywhere() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let err = sub
        .with_gil(|py| py.exec("def f():\n    raise KeyError('gone')\nf()\n"))
        .unwrap_err();
    let Error::Python(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(e.type_name(), "KeyError");
    assert!(e.traceback().contains("in f"), "{}", e.traceback());
    // Raised again in the main interpreter: same class, same message.
    let (cls, msg): (String, String) = with_gil(|py| {
        let obj = e.to_object(py);
        Ok((
            obj.getattr("__class__")?.getattr("__name__")?.extract()?,
            obj.str()?.to_str()?.to_owned(),
        ))
    })
    .unwrap();
    assert_eq!(cls, "KeyError");
    assert!(msg.contains("gone"), "{msg}");
}

#[test]
fn builtin_modules_and_classes_exist_once_per_interpreter() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let code = "import hostmod\n\
                p = hostmod.Point(3, -4)\n\
                assert p.norm1() == 7\n\
                hostmod.mark = 'here'\n\
                result = (hostmod.count(), id(hostmod.Point))\n";
    let run = |py: pyhost::Python<'_>| -> pyhost::Result<(usize, u64)> {
        let globals = pyhost::types::Dict::new(py);
        py.exec_with(code, &globals, None)?;
        globals.get_item("result")?.unwrap().extract()
    };
    let (n_main, type_main) = with_gil(run).unwrap();
    // A fresh instance in the subinterpreter: the attribute set in main is not there, the
    // type object is another one, and the host state (a Rust value) is shared.
    let fresh: bool = sub
        .with_gil(|py| {
            py.eval("not hasattr(__import__('hostmod'), 'mark')")?
                .extract()
        })
        .unwrap();
    assert!(fresh, "module state must be per interpreter");
    let (n_sub, type_sub) = sub.with_gil(run).unwrap();
    assert_eq!(n_sub, n_main + 1, "host state is shared");
    assert_ne!(
        type_main, type_sub,
        "each interpreter has its own Point type"
    );
    // A Point made in the subinterpreter is not one in main's eyes.
    let sub_point: Unbound = sub
        .with_gil(|py| Ok(py.eval("__import__('hostmod').Point(1, 1)")?.unbind()))
        .unwrap();
    let ok: i64 = sub
        .with_gil(|py| {
            let p = sub_point.try_bind(py)?;
            Ok(p.extract::<pyhost::ClassRef<'_, Point>>()?.norm1())
        })
        .unwrap();
    assert_eq!(ok, 2);
}

#[test]
fn an_extension_that_refuses_subinterpreters_gives_a_clear_error() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    // `_testsinglephase` ships with CPython: a real extension module with single-phase
    // initialization, which CPython refuses in an isolated subinterpreter.
    let has_it: bool = with_gil(|py| {
        py.eval("__import__('importlib.util').util.find_spec('_testsinglephase') is not None")?
            .extract()
    })
    .unwrap();
    if !has_it {
        eprintln!("skipped: this CPython has no _testsinglephase");
        return;
    }
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let err = sub
        .with_gil(|py| py.import("_testsinglephase").map(drop))
        .unwrap_err();
    let Error::RefusesSubinterpreters { module, error } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(module, "_testsinglephase");
    assert_eq!(error.type_name(), "ImportError");
    assert!(err.to_string().contains("main interpreter"), "{err}");
    // The legacy kind loads it.
    let legacy = Subinterpreter::new(&InterpreterConfig::legacy()).unwrap();
    legacy
        .with_gil(|py| py.import("_testsinglephase").map(drop))
        .unwrap();
}

#[test]
fn a_pool_of_subinterpreters_runs_python_in_parallel() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    const WORK: &str = "sum(i * i for i in range(3_000_000))";
    let pool = Executor::builder()
        .workers(2)
        .subinterpreters(InterpreterConfig::default())
        .build()
        .unwrap();
    let main = Executor::builder().workers(2).build().unwrap();
    let timed = |ex: &Executor| {
        let t = Instant::now();
        let calls: Vec<_> = (0..4)
            .map(|_| ex.spawn(|py| py.eval(WORK)?.extract::<u64>()))
            .collect();
        for c in calls {
            pyhost::executor::block_on(c).unwrap();
        }
        t.elapsed()
    };
    // Warm both, then compare: on one GIL four calls take four times one; on two GILs, with
    // two cores, about two. A generous bound that only a lost parallelism breaks.
    // Another process busy on a core (a parallel build) hides the parallelism for a while:
    // measure up to three times; lost parallelism fails every time.
    timed(&pool);
    timed(&main);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (p, m) = (timed(&pool), timed(&main));
        eprintln!("own-GIL pool {p:?}, main-interpreter executor {m:?}");
        seen.push((p, m));
        if p.as_secs_f64() < m.as_secs_f64() * 0.8 {
            break;
        }
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
        assert!(
            seen.iter()
                .any(|(p, m)| p.as_secs_f64() < m.as_secs_f64() * 0.8),
            "pool vs one GIL, never below 0.8: {seen:?}"
        );
    }
    assert_eq!(pool.stats().subinterpreters, 2);
    assert_eq!(main.stats().subinterpreters, 0);
    pool.shutdown(ShutdownMode::Drain).unwrap();
    main.shutdown(ShutdownMode::Drain).unwrap();
}

#[test]
fn the_pool_keeps_deadlines_setup_and_worker_state() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let pool = Executor::builder()
        .workers(2)
        .subinterpreters(InterpreterConfig::default())
        .setup(|py| py.exec("import sys, math; sys.pyhost_setup = True"))
        .build()
        .unwrap();
    let ok: bool = pool
        .run(|py| py.eval("__import__('sys').pyhost_setup")?.extract())
        .unwrap();
    assert!(ok);
    // Interrupted by its deadline, in its own interpreter.
    let t = Instant::now();
    let err = pool
        .run_timeout(Duration::from_millis(200), |py| py.exec("while True: pass"))
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let err = pool
        .run_timeout(Duration::from_millis(200), |py| {
            py.exec("import time; time.sleep(30)")
        })
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // The worker keeps going.
    let n: i64 = pool
        .run(|py| py.eval("__import__('math').factorial(5)")?.extract())
        .unwrap();
    assert_eq!(n, 120);
    assert_eq!(pool.stats().stuck, 0);
    // A failing setup fails the build.
    let err = Executor::builder()
        .workers(1)
        .subinterpreters(InterpreterConfig::default())
        .setup(|py| py.exec("raise ValueError('bad setup')"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("bad setup"), "{err}");
    pool.shutdown(ShutdownMode::Cancel).unwrap();
}

#[test]
fn a_refusing_extension_fails_the_pool_or_routes_it_to_the_main_interpreter() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let setup = |py: pyhost::Python<'_>| py.import("_testsinglephase").map(drop);
    let has_it = with_gil(|py| Ok(py.import("_testsinglephase").is_ok())).unwrap();
    if !has_it {
        eprintln!("skipped: this CPython has no _testsinglephase");
        return;
    }
    let err = Executor::builder()
        .workers(1)
        .subinterpreters(InterpreterConfig::default())
        .setup(setup)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::RefusesSubinterpreters { .. }), "{err}");
    let pool = Executor::builder()
        .workers(2)
        .subinterpreters(InterpreterConfig::default())
        .setup(setup)
        .on_refusal(Refusal::MainInterpreter)
        .build()
        .unwrap();
    let id: i64 = pool
        .run(|py| Ok(subinterpreter::interpreter_id(py)))
        .unwrap();
    assert_eq!(id, 0);
    let stats = pool.stats();
    assert_eq!((stats.subinterpreters, stats.in_main_interpreter), (0, 2));
    assert!(pool.refusal().unwrap().contains("_testsinglephase"));
    pool.shutdown(ShutdownMode::Drain).unwrap();
}

#[test]
fn a_thousand_create_run_end_cycles_keep_memory_bounded() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let cycle = || {
        let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
        let n: i64 = sub
            .with_gil(|py| {
                py.eval(
                    "len([str(i) for i in range(200)]) + __import__('hostmod').Point(1, 2).norm1()",
                )?
                .extract()
            })
            .unwrap();
        assert_eq!(n, 203);
    };
    for _ in 0..50 {
        cycle();
    }
    let before = common::rss_bytes();
    for _ in 0..1000 {
        cycle();
    }
    let grown = common::rss_bytes().saturating_sub(before);
    eprintln!("RSS grew by {} KiB over 1000 cycles", grown / 1024);
    let new_enough: bool = with_gil(|py| {
        py.eval("__import__('sys').version_info >= (3, 14)")?
            .extract()
    })
    .unwrap();
    if new_enough {
        // A leaked interpreter costs well over 100 KiB: 1000 of them would be > 100 MiB.
        assert!(grown < 24 << 20, "RSS grew by {} MiB", grown >> 20);
        return;
    }
    // CPython 3.12 and 3.13 themselves keep about 1.7 MiB of each ended interpreter that had
    // its own allocator (its arenas; fixed in 3.14). Measure that with CPython's own
    // `interpreters` module in this process: pyhost must add nothing measurable to it.
    const CPYTHON_CYCLE: &str = "import sys
I = __import__('_interpreters' if sys.version_info >= (3, 13) else '_xxsubinterpreters')
def cycle(n):
    for _ in range(n):
        x = I.create()
        I.run_string(x, 'len([str(i) for i in range(200)])')
        I.destroy(x)
";
    let cpython_total: usize = with_gil(|py| {
        let ns = pyhost::types::Dict::new(py);
        py.exec_with(CPYTHON_CYCLE, &ns, None)?;
        py.exec_with("cycle(20)", &ns, None)?;
        let before = common::rss_bytes();
        py.exec_with("cycle(200)", &ns, None)?;
        Ok(common::rss_bytes().saturating_sub(before))
    })
    .unwrap();
    let (ours, theirs) = (grown / 1000, cpython_total / 200);
    eprintln!(
        "per cycle: pyhost {} KiB, CPython's own module {} KiB",
        ours / 1024,
        theirs / 1024
    );
    assert!(
        ours < theirs + theirs / 5 + (64 << 10),
        "pyhost grows {ours} B per cycle, CPython alone {theirs} B"
    );
}

#[test]
fn subinterpreters_end_while_others_run() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let long = std::thread::spawn(|| {
        let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
        sub.with_gil(|py| py.eval("sum(range(5_000_000))")?.extract::<u64>())
            .unwrap()
    });
    for _ in 0..20 {
        let s = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
        s.with_gil(|py| py.exec("import json; json.dumps([1])"))
            .unwrap();
    }
    assert_eq!(long.join().unwrap(), (0..5_000_000u64).sum::<u64>());
}

#[test]
fn shutdown_ends_the_subinterpreters_left_alive() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let out = common::run_child("child_shutdown_with_live_subinterpreters", &[]);
    let stdout = common::assert_child_ok(&out);
    assert!(
        stdout.contains("finalized with 3 subinterpreters alive"),
        "{stdout}"
    );
}

/// Run by the test above in its own process: a subinterpreter held by a parked thread and a
/// pool of two are alive when the interpreter shuts down.
#[test]
fn child_shutdown_with_live_subinterpreters() {
    if !common::is_child("child_shutdown_with_live_subinterpreters") {
        return;
    }
    start();
    let (made_tx, made_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
        sub.with_gil(|py| py.exec("import json, threading"))
            .unwrap();
        made_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        // Ended by shutdown meanwhile: entering fails cleanly, dropping does nothing.
        let err = sub.with_gil(|py| py.eval("1").map(drop)).unwrap_err();
        assert!(matches!(err, Error::Finalized), "{err}");
    });
    made_rx.recv().unwrap();
    let pool = Executor::builder()
        .workers(2)
        .subinterpreters(InterpreterConfig::default())
        .build()
        .unwrap();
    assert_eq!(
        pool.run(|py| py.eval("6 * 7")?.extract::<i64>()).unwrap(),
        42
    );
    pyhost::shutdown().unwrap();
    println!("finalized with 3 subinterpreters alive");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let err = pool.run(|py| py.eval("1").map(drop)).unwrap_err();
    assert!(matches!(err, Error::Finalized), "{err}");
    drop(pool);
}

#[test]
fn decimal_and_datetime_import_in_every_interpreter() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    // CPython 3.12 runs the single-phase init of `_decimal` in the first interpreter that
    // imports it and again in the next one, a double free; pyhost has the main interpreter
    // import these first, so subinterpreters refuse them cleanly and use the pure-Python
    // versions.
    let code = "import decimal, datetime\n\
                result = str(decimal.Decimal('1.10') + decimal.Decimal('2.205')), datetime.date(2026, 12, 1).isoformat()\n";
    let run = |py: pyhost::Python<'_>| -> pyhost::Result<(String, String)> {
        let ns = pyhost::types::Dict::new(py);
        py.exec_with(code, &ns, None)?;
        ns.get_item("result")?.unwrap().extract()
    };
    let a = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let b = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let expected = ("3.305".to_owned(), "2026-12-01".to_owned());
    assert_eq!(a.with_gil(run).unwrap(), expected);
    assert_eq!(b.with_gil(run).unwrap(), expected);
    assert_eq!(with_gil(run).unwrap(), expected);
    drop((a, b));
    let c = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    assert_eq!(c.with_gil(run).unwrap(), expected);
}

/// The site-packages of a venv of the linked Python with numpy from PyPI (binary wheels
/// only); the reason when there is no wheel for this Python.
fn numpy_site_packages() -> Result<std::path::PathBuf, String> {
    let venv = common::venv_with("numpy", &["numpy"])?;
    let out = std::process::Command::new(venv.join("bin").join("python"))
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().into())
}

#[test]
fn numpy_from_a_venv_is_refused_with_a_clear_error() {
    let _serial = serial();
    if unsupported_here() {
        return;
    }
    let site = match numpy_site_packages() {
        Ok(s) => s,
        Err(why) => {
            eprintln!("skipped: no numpy for this Python: {why}");
            return;
        }
    };
    let import = |py: pyhost::Python<'_>| -> pyhost::Result<()> {
        py.add_sys_path(&site)?;
        py.import("numpy").map(drop)
    };
    let sub = Subinterpreter::new(&InterpreterConfig::default()).unwrap();
    let err = sub.with_gil(import).unwrap_err();
    let Error::RefusesSubinterpreters { module, .. } = &err else {
        panic!("{err:#}")
    };
    assert!(module.starts_with("numpy."), "{module}: {err}");
    assert!(err.to_string().contains("main interpreter"), "{err}");
    // The main interpreter imports it, and a pool routes its workers there.
    with_gil(import).unwrap();
    let site2 = site.clone();
    let pool = Executor::builder()
        .workers(1)
        .subinterpreters(InterpreterConfig::default())
        .setup(move |py| {
            py.add_sys_path(&site2)?;
            py.import("numpy").map(drop)
        })
        .on_refusal(Refusal::MainInterpreter)
        .build()
        .unwrap();
    let n: i64 = pool
        .run(|py| {
            py.eval("int(__import__('numpy').arange(10).sum())")?
                .extract()
        })
        .unwrap();
    assert_eq!(n, 45);
    assert_eq!(pool.stats().in_main_interpreter, 1);
    assert!(pool.refusal().unwrap().contains("numpy"));
}
