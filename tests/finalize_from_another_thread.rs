//! `shutdown()` from another thread than the one that started Python, after that thread
//! imported `threading` (so `threading` calls it its main thread, and it is still alive). In
//! its own process (it finalizes the interpreter).

use std::sync::mpsc;
use std::time::Duration;

#[test]
fn shutdown_from_another_thread_does_not_wait_for_the_initializing_one() {
    pyhost::initialize().unwrap();
    pyhost::with_gil(|py| {
        py.exec("import threading\nassert threading.main_thread().ident == threading.get_ident()")
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(pyhost::shutdown()));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(result) => result.unwrap(),
        Err(_) => panic!("shutdown from another thread hangs waiting for the initializing thread"),
    }
    assert!(!pyhost::is_initialized());
}
