//! Shutting the executor and the interpreter down with calls in flight, in its own process.

use std::time::{Duration, Instant};

use pyhost::executor::{ShutdownMode, block_on};
use pyhost::{Error, Executor};

#[test]
fn shutdown_and_finalize_with_calls_in_flight() {
    pyhost::initialize().unwrap();
    let ex = Executor::builder()
        .workers(2)
        .grace(Duration::from_millis(500))
        .build()
        .unwrap();
    let busy = ex.spawn(|py| py.exec("while True:\n    pass\n"));
    let sleeping = ex.spawn(|py| py.exec("import time\ntime.sleep(60)\n"));
    let queued: Vec<_> = (0..10).map(|i| ex.spawn(move |_py| Ok(i))).collect();
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    ex.shutdown_and_finalize(ShutdownMode::Cancel).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert!(matches!(block_on(busy), Err(Error::Cancelled)));
    assert!(matches!(block_on(sleeping), Err(Error::Cancelled)));
    for q in queued {
        assert!(matches!(block_on(q), Err(Error::Cancelled)));
    }
    assert!(!pyhost::is_initialized());
    assert!(matches!(
        pyhost::with_gil(|_| Ok(())),
        Err(Error::Finalized)
    ));
    assert!(matches!(ex.run(|_py| Ok(())), Err(Error::ExecutorClosed)));
}
