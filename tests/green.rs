//! `#[pyhost::function(blocking)]` under the real green-thread frameworks from PyPI: 50 green
//! threads each making a 50 ms blocking Rust call finish in well under 0.5 s under eventlet's
//! and gevent's monkey patching (2.5 s if the call held its green thread's hub), and as fast
//! on plain threads; inside a running asyncio loop Python warns. Each case runs in its own
//! process: monkey patching is for a whole process.

mod common;

use std::time::{Duration, Instant};

use common::{assert_child_ok, is_child, run_child, venv_with};
use pyhost::{Error, Interpreter, with_gil};

/// Sleeps `ms` milliseconds without the GIL, keeping the caller's other green threads running.
#[pyhost::function(blocking)]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// The same sleep, only releasing the GIL: what stalls every green thread.
#[pyhost::function(release_gil)]
fn sleep_ms_holding_the_hub(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// A blocking body that panics.
#[pyhost::function(blocking)]
fn explode(what: String) -> u64 {
    panic!("{what}")
}

#[pyhost::module]
fn slow(m: &pyhost::Object<'_, pyhost::types::Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(sleep_ms))?;
    m.add_function(pyhost::wrap_function!(sleep_ms_holding_the_hub))?;
    m.add_function(pyhost::wrap_function!(explode))
}

const VENV: &str = "GREEN_VENV";

/// Starts Python in the venv of the green-thread packages, with the `slow` module.
fn start() {
    let venv = std::env::var(VENV).expect("the venv");
    Interpreter::builder()
        .venv(venv)
        .builtin_module("slow", slow::builtin())
        .start()
        .expect("starting Python");
}

/// The venv with greenlet, eventlet and gevent (binary wheels from PyPI), or the reason
/// there is none for this Python.
fn green_venv() -> Result<String, String> {
    venv_with("green", &["greenlet", "eventlet", "gevent"]).map(|p| p.display().to_string())
}

/// Runs a green-thread case (`blocking`, `holding` and `cut` set by `code`), checks the
/// overlap, the contrast and the cut wait, and returns the namespace.
fn run_green(code: &str, framework: &str) -> pyhost::Unbound<pyhost::types::Dict> {
    let ns = with_gil(|py| {
        let ns = pyhost::types::Dict::new(py);
        py.exec_with(code, &ns, None)?;
        Ok(ns.unbind())
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    let (took, holding): (f64, f64) = (var(&ns, "blocking"), var(&ns, "holding"));
    println!(
        "timing: {framework}: 50 green threads x 50 ms blocking call: {took:.3} s; \
         10 x 50 ms holding the hub: {holding:.3} s"
    );
    assert!(took < 0.5, "{took} s: the calls did not overlap");
    assert!(
        holding >= 0.45,
        "{holding} s: without `blocking` the calls are serial"
    );
    let cut: Option<f64> = var(&ns, "cut");
    let cut = cut.unwrap_or_else(|| panic!("{framework}'s Timeout did not cut the wait"));
    assert!(cut < 0.2, "the timed-out wait ended after {cut} s");
    ns
}

/// Variable `key` of `ns`.
fn var<T: for<'py> pyhost::FromPythonOwned<'py>>(
    ns: &pyhost::Unbound<pyhost::types::Dict>,
    key: &str,
) -> T {
    with_gil(|py| {
        ns.bind(py)
            .get_item(key)?
            .expect("set by the code")
            .extract()
    })
    .unwrap_or_else(|e| panic!("{key}: {e:#}"))
}

/// Passes on the `timing:` lines of a child's output (libtest prints them after the test's
/// name).
fn show_timings(out: &str) {
    for line in out.lines() {
        if let Some(i) = line.find("timing:") {
            eprintln!("{}", &line[i..]);
        }
    }
}

/// Runs case `name` in a child process in the venv; skipped (and said) without one.
fn run_case(name: &str) {
    match green_venv() {
        Ok(venv) => {
            let out = assert_child_ok(&run_child(name, &[(VENV, &venv)]));
            show_timings(&out);
        }
        Err(why) => eprintln!("skipped: no green-thread packages for this Python: {why}"),
    }
}

const EVENTLET: &str = r#"
import eventlet
eventlet.monkey_patch()
import time, slow

def run(f, n):
    pool = eventlet.GreenPool(100)
    t = time.monotonic()
    for _ in range(n):
        pool.spawn(f, 50)
    pool.waitall()
    return time.monotonic() - t

blocking = run(slow.sleep_ms, 50)
holding = run(slow.sleep_ms_holding_the_hub, 10)

# A green thread whose wait is cut short gets its exception at once; the others carry on.
t = time.monotonic()
try:
    with eventlet.Timeout(0.02):
        slow.sleep_ms(300)
    cut = None
except eventlet.Timeout:
    cut = time.monotonic() - t
after = run(slow.sleep_ms, 5)

try:
    slow.explode("boom")
    panicked = None
except BaseException as e:
    panicked = f"{type(e).__name__}: {e}"
"#;

#[test]
fn fifty_blocking_calls_under_eventlet_overlap() {
    if is_child("fifty_blocking_calls_under_eventlet_overlap") {
        start();
        let ns = run_green(EVENTLET, "eventlet");
        let after: f64 = var(&ns, "after");
        assert!(after < 0.3, "5 calls after the cut took {after} s");
        let panicked: Option<String> = var(&ns, "panicked");
        let panicked = panicked.expect("the panic became an exception");
        assert!(panicked.contains("boom"), "{panicked}");
        return;
    }
    run_case("fifty_blocking_calls_under_eventlet_overlap");
}

const GEVENT: &str = r#"
from gevent import monkey
monkey.patch_all()
import gevent, time, slow

def run(f, n):
    t = time.monotonic()
    gevent.joinall([gevent.spawn(f, 50) for _ in range(n)])
    return time.monotonic() - t

blocking = run(slow.sleep_ms, 50)
holding = run(slow.sleep_ms_holding_the_hub, 10)
t = time.monotonic()
try:
    with gevent.Timeout(0.02):
        slow.sleep_ms(300)
    cut = None
except gevent.Timeout:
    cut = time.monotonic() - t
"#;

#[test]
fn fifty_blocking_calls_under_gevent_overlap() {
    if is_child("fifty_blocking_calls_under_gevent_overlap") {
        start();
        run_green(GEVENT, "gevent");
        return;
    }
    run_case("fifty_blocking_calls_under_gevent_overlap");
}

const THREADS_AND_ASYNCIO: &str = r#"
import asyncio, threading, time, warnings, slow

t = time.monotonic()
threads = [threading.Thread(target=slow.sleep_ms, args=(50,)) for _ in range(50)]
for th in threads:
    th.start()
for th in threads:
    th.join()
elapsed = time.monotonic() - t

async def main():
    return slow.sleep_ms(1)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    asyncio.run(main())
warned = [str(w.message) for w in caught if w.category is RuntimeWarning]
"#;

#[test]
fn plain_threads_overlap_and_asyncio_is_warned() {
    if is_child("plain_threads_overlap_and_asyncio_is_warned") {
        // No venv needed: the standard library only.
        pyhost::Interpreter::builder()
            .builtin_module("slow", slow::builtin())
            .start()
            .unwrap();
        let (took, warned): (f64, Vec<String>) = with_gil(|py| {
            let ns = pyhost::types::Dict::new(py);
            py.exec_with(THREADS_AND_ASYNCIO, &ns, None)?;
            let get = |k: &str| ns.get_item(k).map(|v| v.expect("set"));
            Ok((get("elapsed")?.extract()?, get("warned")?.extract()?))
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
        println!("timing: threads: 50 threads x 50 ms blocking call: {took:.3} s");
        assert!(took < 0.5, "{took} s");
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].contains("blocks the running asyncio event loop")
                && warned[0].contains("run_in_executor"),
            "{warned:?}"
        );
        return;
    }
    let out = assert_child_ok(&run_child(
        "plain_threads_overlap_and_asyncio_is_warned",
        &[],
    ));
    show_timings(&out);
}

const GREENLETS: &str = r#"
import greenlet
trace = []

def worker(n):
    while True:
        trace.append(n)
        n = greenlet.getcurrent().parent.switch(n + 1)

g = greenlet.greenlet(worker)
"#;

/// `expr` evaluated in `__main__`'s namespace.
fn in_main<T: for<'py> pyhost::FromPythonOwned<'py>>(
    py: pyhost::Python<'_>,
    expr: &str,
) -> pyhost::Result<T> {
    let main = py.import("__main__")?;
    py.eval_with(expr, &main.dict().to_owned(), None)?.extract()
}

/// Greenlets made in Python live on across `with_gil` scopes and across Executor calls: a
/// worker keeps its thread, so a greenlet made in one call is switched into in the next.
#[test]
fn greenlets_survive_gil_scopes_and_executor_calls() {
    if is_child("greenlets_survive_gil_scopes_and_executor_calls") {
        start();
        let ns = with_gil(|py| {
            let ns = pyhost::types::Dict::new(py);
            py.exec_with(GREENLETS, &ns, None)?;
            Ok(ns.unbind())
        })
        .unwrap();
        // Three scopes, each switching into the greenlet made in the first.
        let mut n = 0u64;
        for _ in 0..3 {
            n = with_gil(|py| {
                ns.bind(py)
                    .get_item("g")?
                    .expect("g")
                    .call_method1("switch", (n,))?
                    .extract()
            })
            .unwrap_or_else(|e| panic!("{e:#}"));
        }
        assert_eq!(n, 3);
        drop(ns);
        // The same on an Executor worker, across calls.
        let ex = pyhost::Executor::builder().workers(1).build().unwrap();
        ex.run(|py| {
            let main = py.import("__main__")?;
            py.exec_with(GREENLETS, &main.dict().to_owned(), None)
        })
        .unwrap();
        let mut n = 10u64;
        for _ in 0..3 {
            n = ex
                .run(move |py| in_main(py, &format!("g.switch({n})")))
                .unwrap_or_else(|e| panic!("{e:#}"));
        }
        assert_eq!(n, 13);
        let trace: Vec<u64> = ex.run(|py| in_main(py, "trace")).unwrap();
        assert_eq!(trace, [10, 11, 12]);
        return;
    }
    run_case("greenlets_survive_gil_scopes_and_executor_calls");
}

/// Patches the process for `framework` on an executor worker, then stops green waits at
/// their deadline: a sleep while the hub has nothing else to watch, and a socket read that
/// the hub waits for in its poller. Both end as `Error::Timeout` near the deadline, and the
/// worker carries on.
fn deadlines_stop_green_waits(framework: &str, patch: &'static str) {
    start();
    let ex = pyhost::Executor::builder()
        .workers(1)
        .grace(Duration::from_secs(2))
        .build()
        .unwrap();
    ex.run(move |py| {
        let main = py.import("__main__")?;
        py.exec_with(patch, &main.dict().to_owned(), None)
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    let deadline = Duration::from_millis(200);
    let slack = if cfg!(target_arch = "x86_64") {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(500) // under qemu
    };
    for (what, code) in [
        ("time.sleep(10)", "import time\ntime.sleep(10)"),
        (
            "a socket read",
            "import socket\na, b = socket.socketpair()\ntry:\n    a.recv(1)\nfinally:\n    a.close()\n    b.close()",
        ),
    ] {
        let t = Instant::now();
        let err = ex
            .run_timeout(deadline, move |py| {
                let main = py.import("__main__")?;
                py.exec_with(code, &main.dict().to_owned(), None)
            })
            .unwrap_err();
        let took = t.elapsed();
        println!("timing: {framework}: {what} under a 200 ms deadline: {took:?}: {err}");
        assert!(matches!(err, Error::Timeout { .. }), "{what}: {err:?}");
        assert!(took < deadline + slack, "{what}: {took:?}");
        // The worker and its hub carry on: a green thread runs, and a short sleep ends.
        let n: i64 = ex
            .run(|py| in_main(py, "spawn_and_wait(lambda: 6 * 7)"))
            .unwrap_or_else(|e| panic!("after {what}: {e:#}"));
        assert_eq!(n, 42);
    }
    let stats = ex.stats();
    assert_eq!(
        (stats.timeouts, stats.stuck, stats.workers_replaced),
        (2, 0, 0)
    );
}

#[test]
fn deadlines_stop_green_waits_under_eventlet() {
    if is_child("deadlines_stop_green_waits_under_eventlet") {
        deadlines_stop_green_waits(
            "eventlet",
            "import eventlet\neventlet.monkey_patch()\n\
             def spawn_and_wait(f):\n    eventlet.sleep(0.01)\n    return eventlet.spawn(f).wait()",
        );
        return;
    }
    run_case("deadlines_stop_green_waits_under_eventlet");
}

#[test]
fn deadlines_stop_green_waits_under_gevent() {
    if is_child("deadlines_stop_green_waits_under_gevent") {
        deadlines_stop_green_waits(
            "gevent",
            "from gevent import monkey\nmonkey.patch_all()\nimport gevent\n\
             def spawn_and_wait(f):\n    gevent.sleep(0.01)\n    return gevent.spawn(f).get()",
        );
        return;
    }
    run_case("deadlines_stop_green_waits_under_gevent");
}
