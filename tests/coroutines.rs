//! Rust awaits Python: coroutines on the Executor's workers, each worker with one asyncio event
//! loop kept across calls. 100 coroutines run at once on one worker; a deadline or a dropped
//! future cancels the task; plain calls are not held up by pending coroutines; errors carry
//! the Python traceback.

use std::time::{Duration, Instant};

use pyhost::executor::{ShutdownMode, block_on};
use pyhost::{Error, Executor};

const CODE: &str = r#"
import asyncio

events = []

async def nap(seconds, value):
    await asyncio.sleep(seconds)
    return value

async def watched(name, seconds):
    events.append(("started", name))
    try:
        await asyncio.sleep(seconds)
        events.append(("finished", name))
    except asyncio.CancelledError:
        events.append(("cancelled", name))
        raise

async def loop_id():
    await asyncio.sleep(0)
    return id(asyncio.get_running_loop())

async def fails():
    await asyncio.sleep(0)
    raise LookupError("no such key: 'x'")
"#;

fn executor(workers: usize) -> Executor {
    pyhost::initialize_once().expect("starting Python");
    let ex = Executor::builder()
        .workers(workers)
        .build()
        .expect("an executor");
    // Tests run in parallel in one interpreter: the module is made once (event names differ).
    static MODULE: std::sync::Once = std::sync::Once::new();
    MODULE.call_once(|| {
        ex.run(|py| {
            let m = pyhost::types::Module::new(py, "coros")?;
            py.exec_with(CODE, &m.dict(), None)?;
            py.import("sys")?.getattr("modules")?.set_item("coros", &m)
        })
        .expect("the test's coroutines");
    });
    ex
}

/// `coros.<call>`, evaluated on the worker.
fn co<'py>(
    py: pyhost::Python<'py>,
    call: &str,
) -> pyhost::Result<pyhost::Object<'py, pyhost::types::Any>> {
    let ns = py.new_namespace()?;
    ns.set_item("coros", py.import("coros")?)?;
    py.eval_with(call, &ns, None)
}

fn events(ex: &Executor) -> Vec<(String, String)> {
    ex.run(|py| co(py, "list(coros.events)")?.extract())
        .expect("events")
}

/// Waits until `event` shows up in `events` (the loop runs on its own thread).
fn wait_for_event(ex: &Executor, event: (&str, &str)) -> Duration {
    let t = Instant::now();
    while !events(ex)
        .iter()
        .any(|(a, b)| (a.as_str(), b.as_str()) == event)
    {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "no {event:?} in {:?}",
            events(ex)
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    t.elapsed()
}

/// Waits for every call, in order; panics on the first error.
fn wait_all<T>(calls: Vec<pyhost::executor::Call<T>>) -> Vec<T> {
    calls
        .into_iter()
        .map(|c| block_on(c).unwrap_or_else(|e| panic!("{e:#}")))
        .collect()
}

#[test]
fn a_hundred_coroutines_at_once_on_one_worker() {
    let ex = executor(1);
    let before = ex.stats().calls_run;
    let t = Instant::now();
    let calls: Vec<_> = (0..100u64)
        .map(|i| ex.spawn_coroutine(move |py| co(py, &format!("coros.nap(0.05, {i})"))))
        .collect();
    let got: Vec<u64> = wait_all(calls);
    let took = t.elapsed();
    println!("100 coroutines sleeping 50 ms each, on one worker: {took:?}");
    assert_eq!(got, (0..100).collect::<Vec<u64>>());
    // Serially they would take 5 s.
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert_eq!(ex.stats().calls_run - before, 100);
    ex.shutdown(ShutdownMode::Drain).unwrap();
}

#[test]
fn one_loop_per_worker_kept_across_calls() {
    let ex = executor(1);
    let first: u64 = block_on(ex.spawn_coroutine(|py| co(py, "coros.loop_id()"))).unwrap();
    // A plain call in between, then coroutines again: still the same loop.
    ex.run(|py| py.eval("1 + 1")?.extract::<i32>()).unwrap();
    let second: u64 = block_on(ex.spawn_coroutine(|py| co(py, "coros.loop_id()"))).unwrap();
    assert_eq!(first, second);
    // Outside a coroutine, no loop runs on the worker.
    let running = ex
        .run(|py| {
            let ns = py.new_namespace()?;
            py.exec_with(
                "import asyncio\ntry:\n    asyncio.get_running_loop()\n    running = True\nexcept RuntimeError:\n    running = False",
                &ns,
                None,
            )?;
            ns.get_item("running")?.expect("set").extract::<bool>()
        })
        .unwrap();
    assert!(!running);
}

#[test]
fn a_deadline_cancels_the_task_and_the_worker_carries_on() {
    let ex = executor(1);
    let deadline = Duration::from_millis(200);
    let t = Instant::now();
    let err = block_on(
        ex.spawn_coroutine_timeout::<(), _>(deadline, |py| co(py, "coros.watched('slow', 10)")),
    )
    .unwrap_err();
    let took = t.elapsed();
    println!("asyncio.sleep(10) under a 200 ms deadline ended after {took:?}: {err}");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    let slack = if cfg!(target_arch = "x86_64") {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(500) // under qemu
    };
    assert!(took >= deadline && took < deadline + slack, "{took:?}");
    // The coroutine saw CancelledError, and the worker is the same one.
    wait_for_event(&ex, ("cancelled", "slow"));
    assert_eq!(ex.stats().timeouts, 1);
    assert_eq!(ex.stats().workers_replaced, 0);
    let v: String = block_on(ex.spawn_coroutine(|py| co(py, "coros.nap(0, 'next')"))).unwrap();
    assert_eq!(v, "next");
}

#[test]
fn dropping_the_future_cancels_the_task() {
    let ex = executor(1);
    let call = ex.spawn_coroutine::<(), _>(|py| co(py, "coros.watched('dropped', 10)"));
    wait_for_event(&ex, ("started", "dropped"));
    drop(call);
    let took = wait_for_event(&ex, ("cancelled", "dropped"));
    println!("the task saw its cancellation {took:?} after the drop");
    assert!(!events(&ex).contains(&("finished".into(), "dropped".into())));
    assert_eq!(ex.stats().cancelled, 1);
}

#[test]
fn plain_calls_run_while_coroutines_wait() {
    // One worker, its loop busy with a 3 s sleep: a plain call still runs at once.
    let ex = executor(1);
    let long = ex.spawn_coroutine::<(), _>(|py| co(py, "coros.watched('long', 3)"));
    wait_for_event(&ex, ("started", "long"));
    let t = Instant::now();
    let n: i32 = ex.run(|py| py.eval("6 * 7")?.extract()).unwrap();
    let took = t.elapsed();
    assert_eq!(n, 42);
    println!("a plain call beside a pending coroutine took {took:?}");
    assert!(took < Duration::from_millis(500), "{took:?}");
    // And the coroutine goes on after it: cancel it by shutting down.
    let t = Instant::now();
    ex.shutdown(ShutdownMode::Cancel).unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(matches!(block_on(long), Err(Error::Cancelled)));
}

#[test]
fn python_errors_carry_their_traceback() {
    let ex = executor(2);
    let err = block_on(ex.spawn_coroutine::<(), _>(|py| co(py, "coros.fails()"))).unwrap_err();
    let Error::Python(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.type_name(), "LookupError");
    assert!(e.traceback().contains("in fails"), "{}", e.traceback());
    // Not a coroutine: a clear error from asyncio, the worker fine.
    let err = block_on(ex.spawn_coroutine::<i64, _>(|py| py.eval("42"))).unwrap_err();
    assert!(err.to_string().contains("awaitable"), "{err}");
    // A result of the wrong type.
    let err =
        block_on(ex.spawn_coroutine::<i64, _>(|py| co(py, "coros.nap(0, 'text')"))).unwrap_err();
    assert!(err.to_string().contains("int"), "{err}");
    assert_eq!(ex.run(|py| py.eval("1")?.extract::<i32>()).unwrap(), 1);
}

#[test]
fn coroutines_from_tokio_tasks_spread_over_workers() {
    let ex = executor(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    let total: u64 = rt.block_on(async {
        let tasks: Vec<_> = (0..50u64)
            .map(|i| {
                let ex = ex.clone();
                tokio::spawn(async move {
                    ex.spawn_coroutine::<u64, _>(move |py| co(py, &format!("coros.nap(0.02, {i})")))
                        .await
                })
            })
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap().unwrap();
        }
        sum
    });
    assert_eq!(total, (0..50).sum::<u64>());
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn coroutines_on_workers_with_their_own_gil() {
    pyhost::initialize_once().expect("starting Python");
    if !pyhost::subinterpreter::supported() {
        println!("skipped: subinterpreters need CPython 3.12+");
        return;
    }
    let ex = Executor::builder()
        .workers(2)
        .subinterpreters(pyhost::subinterpreter::InterpreterConfig::default())
        .build()
        .expect("a pool of subinterpreters");
    let t = Instant::now();
    let calls: Vec<_> = (0..40u64)
        .map(|i| {
            ex.spawn_coroutine(move |py| py.import("asyncio")?.call_method1("sleep", (0.05, i)))
        })
        .collect();
    let got: Vec<u64> = wait_all(calls);
    assert_eq!(got, (0..40).collect::<Vec<u64>>());
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    let err = block_on(
        ex.spawn_coroutine_timeout::<(), _>(Duration::from_millis(100), |py| {
            py.import("asyncio")?.call_method1("sleep", (10,))
        }),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    ex.shutdown(ShutdownMode::Drain).unwrap();
}
