//! The interpreter's lifecycle, in its own process: errors before start, one start per process,
//! 8 threads × 100,000 acquisitions with unbound handles dropped without the GIL, shutdown, and
//! `Err(Finalized)` afterwards on every thread.

use std::sync::Arc;

use pyhost::{Class, Error, Unbound, with_gil};

/// A class used before shutdown: finalization frees its type, and its name and doc must not
/// leak with it (`cargo xtask valgrind` runs this binary under memcheck).
#[pyhost::class]
struct Probe {
    n: i64,
}

#[pyhost::class]
impl Probe {
    /// Makes a probe.
    #[new]
    fn new(n: i64) -> Self {
        Probe { n }
    }

    /// Its number, doubled.
    fn twice(&self) -> i64 {
        2 * self.n
    }
}

#[test]
fn lifecycle_from_start_to_after_shutdown() {
    // Before start.
    assert!(matches!(with_gil(|_| Ok(())), Err(Error::NotInitialized)));
    assert!(matches!(pyhost::shutdown(), Err(Error::NotInitialized)));
    assert!(!pyhost::is_initialized());

    pyhost::initialize().unwrap();
    assert!(pyhost::is_initialized());
    assert!(matches!(
        pyhost::initialize(),
        Err(Error::AlreadyInitialized)
    ));
    assert!(pyhost::initialize_once().is_ok());

    // Shutdown is refused while this thread holds the GIL.
    let inside = with_gil(|_| Ok(pyhost::shutdown())).unwrap();
    assert!(matches!(inside, Err(Error::ShutdownInsideGil)));

    // 8 threads × 100,000 acquisitions and calls, dropping unbound clones without the GIL.
    let (target, func) = with_gil(|py| {
        let ns = py.new_namespace()?;
        py.exec_with("def f(x):\n    return x + 1\n", &ns, None)?;
        Ok((
            py.eval("object()")?.unbind(),
            ns.get_item("f")?.unwrap().unbind(),
        ))
    })
    .unwrap();
    let baseline = with_gil(|py| Ok(target.bind(py).refcount())).unwrap();
    let shared = Arc::new((target, func));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut pending: Vec<Unbound> = Vec::with_capacity(64);
                let mut sum = 0i64;
                for i in 0..100_000i64 {
                    with_gil(|py| {
                        let (target, func) = &*shared;
                        if i % 7 == 0 {
                            pending.push(target.clone_ref(py));
                        }
                        sum += func.bind(py).call1((i,))?.extract::<i64>()?;
                        Ok(())
                    })
                    .unwrap();
                    if pending.len() == 64 {
                        pending.clear(); // released without the GIL: deferred
                    }
                }
                assert_eq!(sum, (1..=100_000).sum::<i64>(), "thread {t}");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let after = with_gil(|py| Ok(shared.0.bind(py).refcount())).unwrap();
    assert_eq!(after, baseline, "no reference leaked");
    assert_eq!(
        pyhost::pending_decrefs(),
        0,
        "deferred releases were applied"
    );
    // The eight exited threads' states were deleted by the acquisitions since.
    with_gil(|_| Ok(())).unwrap();
    assert_eq!(pyhost::pending_thread_states(), 0);

    // A class instance, made and dropped.
    let twice: i64 = with_gil(|py| {
        Probe::type_object(py)?
            .call1((21,))?
            .call_method0("twice")?
            .extract()
    })
    .unwrap();
    assert_eq!(twice, 42);

    // An unbound handle dropped after shutdown must be harmless.
    let late: Unbound = with_gil(|py| Ok(py.eval("[1, 2, 3]")?.unbind())).unwrap();

    pyhost::shutdown().unwrap();
    assert!(!pyhost::is_initialized());
    assert!(matches!(with_gil(|_| Ok(())), Err(Error::Finalized)));
    let other = std::thread::spawn(|| matches!(with_gil(|_| Ok(())), Err(Error::Finalized)))
        .join()
        .unwrap();
    assert!(
        other,
        "another thread gets Err(Finalized) too, without hanging"
    );
    assert!(matches!(pyhost::shutdown(), Err(Error::Finalized)));
    assert!(matches!(pyhost::initialize(), Err(Error::Finalized)));
    drop(late);
    drop(shared);
    // The error reads well.
    assert!(Error::Finalized.to_string().contains("shut down"));
}
