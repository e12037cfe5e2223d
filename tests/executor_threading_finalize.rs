//! Finalizing after other threads imported `threading`. Python then waits, at finalization,
//! for the thread state of the thread that imported it: that state must be deleted before the
//! thread is reported gone. In its own process (it finalizes the interpreter).

use std::sync::mpsc;
use std::time::Duration;

use pyhost::Executor;
use pyhost::executor::ShutdownMode;

/// Whether `threading` waits for a thread state that is still alive (the locks finalization
/// acquires; Python 3.13 tracks threads differently and has none of them).
fn threading_waits_for_a_state() -> bool {
    pyhost::with_gil(|py| {
        py.eval("any(l.locked() for l in getattr(__import__('threading'), '_shutdown_locks', ()))")?
            .extract()
    })
    .unwrap()
}

#[test]
fn finalize_after_other_threads_imported_threading_does_not_hang() {
    pyhost::initialize().unwrap();
    let imported_first = pyhost::with_gil(|py| {
        py.eval("'threading' not in __import__('sys').modules")?
            .extract::<bool>()
    })
    .unwrap();
    // `site` may import threading at startup (a .pth file of the Python in use): then the main
    // thread owns threading and the lock checks below are vacuous; the release itself and the
    // finalization are still checked.
    if !imported_first {
        eprintln!("note: threading was imported at startup");
    }

    // A thread imports threading, then deletes its state explicitly while it is still alive.
    let (go, wait) = mpsc::channel::<()>();
    let (done, released) = mpsc::channel();
    let t = std::thread::spawn(move || {
        pyhost::with_gil(|py| py.exec("import threading")).unwrap();
        wait.recv().unwrap();
        done.send(pyhost::release_thread_state()).unwrap();
        wait.recv().unwrap();
    });
    std::thread::sleep(Duration::from_millis(50));
    let versioned = pyhost::with_gil(|py| {
        py.eval("__import__('sys').version_info < (3, 13)")?
            .extract::<bool>()
    })
    .unwrap();
    // When the main thread imported threading, its own (live) state is what threading waits
    // for, and the lock checks say nothing about the other threads.
    let check_locks = versioned && imported_first;
    if check_locks {
        assert!(
            threading_waits_for_a_state(),
            "the importing thread's state is alive"
        );
    }
    go.send(()).unwrap();
    assert!(released.recv().unwrap(), "a kept state was deleted");
    if check_locks {
        assert!(
            !threading_waits_for_a_state(),
            "deleting the state released threading's lock"
        );
    }
    go.send(()).unwrap();
    t.join().unwrap();

    // Executor workers do the same when they stop.
    let ex = Executor::builder().workers(2).build().unwrap();
    for _ in 0..4 {
        ex.run(|py| py.exec("import threading\nthreading.local().x = 1\n"))
            .unwrap();
    }
    ex.shutdown(ShutdownMode::Drain).unwrap();
    if check_locks {
        assert!(!threading_waits_for_a_state());
    }

    // Finalize under a watchdog so that a regression fails the test instead of hanging it.
    // (On this thread: CPython 3.13+ finalizes only on the thread that started it.)
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            eprintln!("finalization hangs: threading waits for a thread state");
            std::process::exit(101);
        }
    });
    pyhost::shutdown().unwrap();
    done_tx.send(()).unwrap();
    assert!(!pyhost::is_initialized());
}
