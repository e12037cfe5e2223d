//! A builtin module defined with the macros, used at the same time by threads started by
//! Python's `threading` module and by Rust threads calling into Python: no crash, no deadlock,
//! and every call counted.
//!
//! This binary starts its own interpreter (with the builtin module), so it never calls
//! `initialize_once`. Every scenario runs under a watchdog that fails the test instead of
//! hanging.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock, mpsc};
use std::time::Duration;

use pyhost::types::{Any, Module};
use pyhost::{Interpreter, Object, Python, with_gil};

#[derive(Default)]
struct Stats {
    totals: Mutex<HashMap<String, f64>>,
    calls: AtomicU64,
    detached: AtomicU64,
    /// The metric names in call order, to see that the callers interleaved.
    order: Mutex<Vec<String>>,
}

type Shared = Arc<Stats>;

/// Adds `value` to metric `name`.
#[pyhost::function]
fn submit(#[pyhost(state)] stats: &Shared, name: &str, value: f64) {
    stats.calls.fetch_add(1, Ordering::Relaxed);
    *stats
        .totals
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_default() += value;
    stats.order.lock().unwrap().push(name.to_owned());
}

/// Blocking work without the GIL: holds the stats lock for a while.
#[pyhost::function(release_gil)]
fn flush(#[pyhost(state)] stats: &Shared, micros: u64) -> usize {
    let totals = stats.totals.lock().unwrap();
    std::thread::sleep(Duration::from_micros(micros));
    stats.detached.fetch_add(1, Ordering::Relaxed);
    totals.len()
}

/// Calls back into Python, and nests `with_gil` (which must be the cheap re-entrant path).
#[pyhost::function]
fn call_back<'py>(py: Python<'py>, callback: Object<'py, Any>, arg: i64) -> pyhost::Result<i64> {
    let doubled: i64 = callback.call1((arg,))?.extract()?;
    let nested: i64 = with_gil(|py2| py2.eval("1")?.extract())?;
    let _ = py;
    Ok(doubled + nested)
}

/// Sleeps without the GIL.
#[pyhost::function(release_gil)]
fn nap(millis: u64) {
    std::thread::sleep(Duration::from_millis(millis));
}

#[pyhost::module(state = Shared)]
fn metrics(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(submit))?;
    m.add_function(pyhost::wrap_function!(flush))?;
    m.add_function(pyhost::wrap_function!(call_back))?;
    m.add_function(pyhost::wrap_function!(nap))?;
    Ok(())
}

static STATS: OnceLock<Shared> = OnceLock::new();

fn start() -> Shared {
    static START: Once = Once::new();
    START.call_once(|| {
        let stats = STATS.get_or_init(Shared::default).clone();
        Interpreter::builder()
            .builtin_module("metrics", metrics::builtin(stats))
            .start()
            .expect("starting Python");
    });
    STATS.get().unwrap().clone()
}

/// Runs `f` on another thread and fails if it does not finish within `limit`.
fn watchdog<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => {
            eprintln!("deadlock: the scenario did not finish within {limit:?}");
            std::process::abort();
        }
    }
}

const PY_THREADS: usize = 8;
const PY_CALLS: usize = 1500;
const RUST_THREADS: usize = 6;
const RUST_CALLS: usize = 1000;

#[test]
fn python_threads_and_rust_threads_share_a_builtin_module() {
    let stats = start();
    let calls_before = stats.calls.load(Ordering::SeqCst);
    watchdog(Duration::from_secs(120), move || {
        // Python threads, started from Python with `threading`, hammering the module.
        with_gil(|py| {
            py.exec(&format!(
                "import threading, metrics, builtins\n\
                 def work(i):\n\
                 \x20   for n in range({PY_CALLS}):\n\
                 \x20       metrics.submit('py', 1.0)\n\
                 \x20       if n % 50 == 0:\n\
                 \x20           metrics.flush(200)\n\
                 \x20       if n % 97 == 0:\n\
                 \x20           assert metrics.call_back(lambda x: x * 2, n) == 2 * n + 1\n\
                 builtins._pyhost_threads = [threading.Thread(target=work, args=(i,)) for i in range({PY_THREADS})]\n\
                 for t in builtins._pyhost_threads:\n\
                 \x20   t.start()\n"
            ))
        })
        .unwrap();

        // Meanwhile, Rust threads call into Python (which calls the module).
        let rust: Vec<_> = (0..RUST_THREADS)
            .map(|i| {
                std::thread::spawn(move || {
                    for n in 0..RUST_CALLS {
                        with_gil(|py| {
                            let m = py.import("metrics")?;
                            m.getattr("submit")?.call1(("rust", 0.5))?;
                            if n % 25 == 0 {
                                // Python code run from a Rust thread, calling the module.
                                py.exec("import metrics\nmetrics.flush(100)\n")?;
                            }
                            if n % 40 == i {
                                // Blocking Rust work with the GIL released.
                                py.allow_threads(|| std::thread::sleep(Duration::from_micros(300)));
                            }
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in rust {
            t.join().expect("a Rust thread panicked");
        }

        // Join the Python threads (joining releases the GIL while waiting).
        with_gil(|py| {
            py.exec(
                "import builtins\n\
                 for t in builtins._pyhost_threads:\n\
                 \x20   t.join()\n\
                 del builtins._pyhost_threads\n",
            )
        })
        .unwrap();
    });

    let totals = stats.totals.lock().unwrap();
    assert_eq!(totals["py"], (PY_THREADS * PY_CALLS) as f64);
    assert_eq!(totals["rust"], (RUST_THREADS * RUST_CALLS) as f64 * 0.5);
    assert!(
        stats.calls.load(Ordering::SeqCst) - calls_before
            >= (PY_THREADS * PY_CALLS + RUST_THREADS * RUST_CALLS) as u64
    );
    assert!(stats.detached.load(Ordering::SeqCst) > 0);
    // The two kinds of callers really ran at the same time: their calls interleave.
    let order = stats.order.lock().unwrap();
    assert_eq!(
        order.iter().filter(|n| *n == "py").count(),
        PY_THREADS * PY_CALLS
    );
    assert_eq!(
        order.iter().filter(|n| *n == "rust").count(),
        RUST_THREADS * RUST_CALLS
    );
    let switches = order
        .windows(2)
        .filter(|w| (w[0] == "py") != (w[1] == "py"))
        .count();
    assert!(
        switches > 20,
        "only {switches} switches between Python and Rust callers"
    );
}

#[test]
fn rust_threads_calling_a_release_gil_function_run_in_parallel() {
    start();
    // Four threads each call a function that sleeps 100 ms without the GIL: together they
    // finish in far less than the 400 ms a serialized run would take.
    let elapsed = watchdog(Duration::from_secs(60), || {
        let started = std::time::Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    with_gil(|py| {
                        let m = py.import("metrics")?;
                        m.getattr("nap")?.call1((100,))?;
                        m.getattr("submit")?.call1(("parallel", 1.0))?;
                        Ok(())
                    })
                    .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        started.elapsed()
    });
    assert!(elapsed < Duration::from_millis(350), "took {elapsed:?}");
}
