//! `shutdown()` from another thread than the one that started Python, after that thread
//! imported `threading` (so `threading` calls it its main thread, and it is still alive). In
//! its own process (it finalizes the interpreter).
//!
//! Up to 3.12 CPython finalizes with the calling thread's state, and pyhost makes that work.
//! From 3.13 CPython finalizes with the starting thread's state whichever thread calls (and
//! frees the caller's while still running on it: valgrind shows the use after free), so
//! pyhost refuses with a clear error and the starting thread finalizes.

use std::sync::mpsc;
use std::time::Duration;

use pyhost::Error;

#[test]
fn shutdown_from_another_thread_does_not_wait_for_the_initializing_one() {
    pyhost::initialize().unwrap();
    pyhost::with_gil(|py| {
        py.exec("import threading\nassert threading.main_thread().ident == threading.get_ident()")
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(pyhost::shutdown()));
    let result = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(result) => result,
        Err(_) => panic!("shutdown from another thread hangs waiting for the initializing thread"),
    };
    let py_3_13 = pyhost::ffi::PY_VERSION_HEX >= 0x030D_0000;
    if py_3_13 {
        let Err(e @ Error::ShutdownOffThread { .. }) = result else {
            panic!("3.13+ must refuse to finalize off the starting thread, got {result:?}");
        };
        let message = e.to_string();
        assert!(message.contains("CPython 3.13 and newer"), "{message}");
        // Nothing was torn down: Python still runs, and the starting thread finalizes.
        let n: i64 = pyhost::with_gil(|py| py.eval("6 * 7")?.extract()).unwrap();
        assert_eq!(n, 42);
        pyhost::shutdown().unwrap();
    } else {
        result.unwrap();
    }
    assert!(!pyhost::is_initialized());
}
