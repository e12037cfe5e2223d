//! The pinned executor: throughput from async tasks, deadlines that stop loops and sleeps,
//! cancellation by dropping, back-pressure, stuck calls, shutdown, worker names in Python.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyhost::executor::{ShutdownMode, block_on};
use pyhost::{Error, Executor, Unbound};

fn init() {
    pyhost::initialize_once().expect("starting Python");
}

fn ident(ex: &Executor) -> u64 {
    ex.run(|py| py.import("threading")?.call_method0("get_ident")?.extract())
        .unwrap()
}

#[test]
fn ten_thousand_calls_from_64_tokio_tasks() {
    init();
    let ex = Executor::builder()
        .workers(4)
        .queue_capacity(128)
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let total = rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..64i64 {
            let ex = ex.clone();
            tasks.push(tokio::spawn(async move {
                let mut sum = 0i64;
                for i in 0..157i64 {
                    let n = t * 1000 + i;
                    let got = ex
                        .spawn(move |py| py.eval(&format!("{n} * 2 + 1"))?.extract::<i64>())
                        .await
                        .unwrap();
                    assert_eq!(got, n * 2 + 1);
                    sum += 1;
                }
                sum
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total
    });
    assert_eq!(total, 64 * 157);
    assert!(total >= 10_000);
    let stats = ex.stats();
    assert_eq!(stats.calls_run, total as u64);
    assert_eq!(stats.queue_depth, 0);
    assert!(stats.run_time > Duration::ZERO);
    ex.shutdown(ShutdownMode::Drain).unwrap();
}

#[test]
fn deadline_stops_a_busy_loop_and_the_worker_carries_on() {
    init();
    let ex = Executor::builder().workers(1).build().unwrap();
    let before = ident(&ex);
    let start = Instant::now();
    let err = ex
        .run_timeout(Duration::from_millis(200), |py| {
            py.exec("while True:\n    pass\n")
        })
        .unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(err, Error::Timeout { after } if after == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(ident(&ex), before, "the same worker runs the next call");
    assert_eq!(ex.run(|py| py.eval("1 + 1")?.extract::<i32>()).unwrap(), 2);
    assert_eq!(ex.stats().timeouts, 1);
}

#[test]
fn deadline_interrupts_time_sleep() {
    init();
    let ex = Executor::builder().workers(1).build().unwrap();
    let before = ident(&ex);
    let start = Instant::now();
    let err = ex
        .run_timeout(Duration::from_millis(200), |py| {
            py.exec("import time\ntime.sleep(60)\n")
        })
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(ident(&ex), before);
    // `except Exception` in the Python code does not swallow the interruption.
    let err = ex
        .run_timeout(Duration::from_millis(100), |py| {
            py.exec("import time\ntry:\n    time.sleep(30)\nexcept Exception:\n    pass\ntime.sleep(30)\n")
        })
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // Normal sleeps still sleep.
    let t = Instant::now();
    ex.run(|py| py.exec("import time\ntime.sleep(0.05)"))
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(50));
}

#[test]
fn dropping_a_future_cancels_its_call() {
    init();
    let ex = Executor::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    // A running call is interrupted when its future is dropped.
    let running = ex.spawn(|py| py.exec("while True:\n    pass\n"));
    let waiting = {
        let ran = ran.clone();
        ex.spawn(move |_py| {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Start both (poll once each), let the loop run a little, then drop them.
        let mut running = running;
        let mut waiting = waiting;
        assert!(
            tokio::time::timeout(Duration::from_millis(100), &mut running)
                .await
                .is_err()
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(10), &mut waiting)
                .await
                .is_err()
        );
        drop(waiting); // queued: never runs
        drop(running); // running: interrupted
    });
    let after = ex
        .run(|py| py.eval("'free again'")?.extract::<String>())
        .unwrap();
    assert_eq!(after, "free again");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "a cancelled queued call never runs"
    );
    assert!(ex.stats().cancelled >= 2);
}

#[test]
fn runtime_free_block_on_and_panics_reach_the_caller() {
    init();
    let ex = Executor::builder().workers(2).build().unwrap();
    let v = block_on(ex.spawn(|py| py.eval("[i * i for i in range(4)]")?.extract::<Vec<u32>>()))
        .unwrap();
    assert_eq!(v, [0, 1, 4, 9]);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.run(|_py| -> pyhost::Result<()> { panic!("panicked in a worker") })
    }));
    assert!(r.is_err(), "the panic is resumed in the caller");
    assert_eq!(
        ex.run(|py| py.eval("3")?.extract::<i32>()).unwrap(),
        3,
        "the worker survived"
    );
}

#[test]
fn full_queue_is_a_clear_error_or_an_await() {
    init();
    let ex = Executor::builder()
        .workers(1)
        .queue_capacity(2)
        .build()
        .unwrap();
    let gate = ex.spawn(|py| py.exec("import time\ntime.sleep(0.3)"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut gate = gate;
        let _ = tokio::time::timeout(Duration::from_millis(50), &mut gate).await; // worker busy now
        let a = ex.try_spawn(|_py| Ok(1)).unwrap();
        let b = ex.try_spawn(|_py| Ok(2)).unwrap();
        let err = ex.try_spawn(|_py| Ok(3)).err().expect("the queue is full");
        assert!(matches!(err, Error::QueueFull { capacity: 2 }), "{err:?}");
        assert!(err.to_string().contains("queue is full"));
        // spawn waits for room instead.
        let c = ex.spawn(|_py| Ok(3));
        assert_eq!(
            (a.await.unwrap(), b.await.unwrap(), c.await.unwrap()),
            (1, 2, 3)
        );
        gate.await.unwrap();
    });
}

#[test]
fn call_stuck_in_native_code_is_reported_and_its_worker_replaced() {
    init();
    let ex = Executor::builder()
        .workers(2)
        .grace(Duration::from_millis(300))
        .build()
        .unwrap();
    // A lock held by Python: acquiring it again blocks in C, out of the interpreter's reach.
    let lock: Unbound = ex
        .run(|py| {
            let l = py.import("threading")?.call_method0("Lock")?;
            l.call_method0("acquire")?;
            Ok(l.unbind())
        })
        .unwrap();
    let lock = Arc::new(lock);
    let l2 = lock.clone();
    let start = Instant::now();
    let err = ex
        .run_timeout(Duration::from_millis(100), move |py| {
            l2.bind(py).call_method0("acquire").map(drop)
        })
        .unwrap_err();
    assert!(matches!(err, Error::Stuck { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(err.to_string().contains("stuck in native code"), "{err}");
    let stats = ex.stats();
    assert_eq!(stats.workers, 2, "the pool kept its size");
    assert_eq!(stats.workers_replaced, 1);
    assert_eq!(stats.stuck, 1);
    // The pool still works; releasing the lock lets the old worker finish and exit.
    assert_eq!(ex.run(|py| py.eval("5")?.extract::<i32>()).unwrap(), 5);
    ex.run(move |py| lock.bind(py).call_method0("release").map(drop))
        .unwrap();
    ex.shutdown(ShutdownMode::Drain).unwrap();
}

#[test]
fn shutdown_with_calls_in_flight() {
    init();
    // Drain: every queued call completes.
    let ex = Executor::builder().workers(2).build().unwrap();
    let calls: Vec<_> = (0..20)
        .map(|i| ex.spawn(move |py| py.exec("import time\ntime.sleep(0.01)").map(|_| i)))
        .collect();
    ex.shutdown(ShutdownMode::Drain).unwrap();
    let done: Vec<i32> = calls.into_iter().map(|c| block_on(c).unwrap()).collect();
    assert_eq!(done, (0..20).collect::<Vec<_>>());
    assert!(matches!(ex.run(|_py| Ok(())), Err(Error::ExecutorClosed)));

    // Cancel: queued calls are cancelled, the running one interrupted; no deadlock.
    let ex = Executor::builder().workers(1).build().unwrap();
    let running = ex.spawn(|py| py.exec("while True:\n    pass\n"));
    let queued: Vec<_> = (0..5).map(|_| ex.spawn(|_py| Ok(()))).collect();
    let ex2 = ex.clone();
    let t = Instant::now();
    let (running, queued) = std::thread::spawn(move || {
        let mut running = running;
        let mut queued = queued;
        // Poll so that everything is queued before shutting down.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let _ = std::pin::Pin::new(&mut running).poll(&mut cx);
        for q in &mut queued {
            let _ = std::pin::Pin::new(q).poll(&mut cx);
        }
        std::thread::sleep(Duration::from_millis(50));
        ex2.shutdown(ShutdownMode::Cancel).unwrap();
        (running, queued)
    })
    .join()
    .unwrap();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(matches!(block_on(running), Err(Error::Cancelled)));
    for q in queued {
        assert!(matches!(block_on(q), Err(Error::Cancelled)));
    }
}

use std::future::Future;

#[test]
fn workers_have_their_rust_names_in_python() {
    init();
    let ex = Executor::builder()
        .workers(2)
        .name("checks")
        .build()
        .unwrap();
    let mut names: Vec<String> = (0..8)
        .map(|_| {
            ex.run(|py| {
                py.eval("__import__('threading').current_thread().name")?
                    .extract()
            })
            .unwrap()
        })
        .collect();
    names.sort();
    names.dedup();
    assert!(
        names.iter().all(|n| n == "checks-0" || n == "checks-1"),
        "{names:?}"
    );
    // logging's threadName comes from the same place.
    let logged: String = ex
        .run(|py| {
            let ns = py.new_namespace()?;
            py.exec_with(
                "import logging\nrecord = logging.makeLogRecord({})\nname = record.threadName",
                &ns,
                None,
            )?;
            ns.get_item("name")?.unwrap().extract()
        })
        .unwrap();
    assert!(logged.starts_with("checks-"), "{logged}");
}

/// A worker runs the calls queued behind one under a single acquisition of the GIL; calls
/// that release the GIL (a sleep, I/O) must still spread over every worker, not wait for that
/// worker's run to end.
#[test]
fn calls_that_release_the_gil_run_on_every_worker() {
    init();
    let ex = Executor::builder().workers(2).build().unwrap();
    // Warm both workers up (their first call sets them up).
    block_on(async {
        let (a, b) = (ex.spawn(|_| Ok(())), ex.spawn(|_| Ok(())));
        a.await.unwrap();
        b.await.unwrap();
    });
    let started = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|_| ex.spawn(|py| py.exec("import time\ntime.sleep(0.1)")))
        .collect();
    for c in calls {
        block_on(c).unwrap();
    }
    let took = started.elapsed();
    eprintln!("8 calls sleeping 0.1 s on 2 workers: {took:?} (one worker: 0.8 s)");
    assert!(
        took < Duration::from_millis(700),
        "the calls ran one after another: {took:?}"
    );
}
