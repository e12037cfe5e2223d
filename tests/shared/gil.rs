//! The GIL and thread states: re-entrancy, kept thread states, thread-local Python state,
//! allow_threads, deferred releases, raw guards, Python-created threads calling Rust.

use std::sync::mpsc;
use std::time::Duration;

use pyhost::types::{Dict, Function};
use pyhost::{GilGuard, IntoPython, Object, Unbound, ffi, gil_is_held, with_gil};

fn init() {
    pyhost::initialize_once().expect("starting Python");
}

#[test]
fn with_gil_is_reentrant() {
    init();
    assert!(!gil_is_held());
    let n = with_gil(|py| {
        assert!(gil_is_held());
        let inner = with_gil(|py2| {
            assert!(gil_is_held());
            py2.eval("2")?.extract::<i32>()
        })?;
        Ok(inner + py.eval("3")?.extract::<i32>()?)
    })
    .unwrap();
    assert_eq!(n, 5);
    assert!(!gil_is_held());
}

#[test]
fn each_thread_keeps_one_thread_state() {
    init();
    std::thread::spawn(|| {
        let first = with_gil(|_| {
            // SAFETY: the GIL is held, so there is a current thread state.
            Ok(unsafe { ffi::PyThreadState_Get() } as usize)
        })
        .unwrap();
        for _ in 0..100 {
            let again = with_gil(|_| {
                // SAFETY: as above.
                Ok(unsafe { ffi::PyThreadState_Get() } as usize)
            })
            .unwrap();
            assert_eq!(again, first, "the thread state is kept, not recreated");
        }
        // And Python knows it as this thread's state.
        with_gil(|_| {
            // SAFETY: GIL held.
            let (state, check) = unsafe {
                (
                    ffi::PyGILState_GetThisThreadState(),
                    ffi::PyGILState_Check(),
                )
            };
            assert_eq!(state as usize, first);
            assert_eq!(check, 1);
            Ok(())
        })
        .unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn thread_local_python_state_survives_between_acquisitions() {
    init();
    let ns = with_gil(|py| {
        let ns = py.new_namespace()?;
        py.exec_with(
            "import threading, contextvars\nlocal = threading.local()\nvar = contextvars.ContextVar('v', default=0)\n",
            &ns,
            None,
        )?;
        Ok(ns.unbind())
    })
    .unwrap();
    let ns = std::sync::Arc::new(ns);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let ns = ns.clone();
            std::thread::spawn(move || {
                with_gil(|py| {
                    let g = ns.bind(py);
                    py.exec_with(&format!("local.value = {i}\nvar.set({i})"), &g, None)
                })
                .unwrap();
                // A later, separate acquisition on the same thread sees the same state.
                with_gil(|py| {
                    let g = ns.bind(py);
                    let (local, var): (i32, i32) = py
                        .eval_with("(local.value, var.get())", &g, None)?
                        .extract()?;
                    assert_eq!((local, var), (i, i));
                    Ok(())
                })
                .unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // The main test thread never set them.
    with_gil(|py| {
        let g = ns.bind(py);
        assert!(
            !py.eval_with("hasattr(local, 'value')", &g, None)?
                .extract::<bool>()?
        );
        assert_eq!(py.eval_with("var.get()", &g, None)?.extract::<i32>()?, 0);
        Ok(())
    })
    .unwrap();
}

#[test]
fn allow_threads_lets_other_threads_run_python() {
    init();
    let (to_main, from_helper) = mpsc::channel::<i64>();
    let done = with_gil(|py| {
        // While this thread holds the GIL, the helper cannot run Python; inside
        // allow_threads it can, and we wait for its answer there.
        let helper = std::thread::spawn(move || {
            let v = with_gil(|py| py.eval("sum(range(10))")?.extract::<i64>()).unwrap();
            to_main.send(v).unwrap();
        });
        let got = py.allow_threads(move || from_helper.recv_timeout(Duration::from_secs(20)));
        helper.join().unwrap();
        Ok(got.expect("the helper ran Python while the GIL was released"))
    })
    .unwrap();
    assert_eq!(done, 45);
}

#[test]
fn allow_threads_resumes_panics_after_taking_the_gil_back() {
    init();
    let r = std::panic::catch_unwind(|| {
        with_gil(|py| {
            py.allow_threads(|| panic!("boom in allow_threads"));
            Ok(())
        })
    });
    assert!(r.is_err());
    assert!(!gil_is_held());
    // The GIL is usable afterwards on this thread.
    assert_eq!(with_gil(|py| py.eval("1")?.extract::<i32>()).unwrap(), 1);
}

#[test]
fn unbound_dropped_without_the_gil_is_released_at_the_next_acquisition() {
    init();
    let (probe, handle) = with_gil(|py| {
        let obj = py.eval("object()")?;
        let handle = obj.clone().unbind();
        Ok((obj.unbind(), handle))
    })
    .unwrap();
    let before = with_gil(|py| Ok(probe.bind(py).refcount())).unwrap();
    std::thread::spawn(move || {
        assert!(!gil_is_held());
        drop(handle); // no GIL on this thread: deferred
    })
    .join()
    .unwrap();
    let after = with_gil(|py| Ok(probe.bind(py).refcount())).unwrap();
    assert_eq!(
        after,
        before - 1,
        "the deferred release was applied when the GIL was taken"
    );
}

#[test]
fn raw_guards_nest() {
    init();
    // SAFETY: guards are dropped in reverse order, on this thread.
    let outer = unsafe { GilGuard::acquire() }.unwrap();
    {
        // SAFETY: as above.
        let inner = unsafe { GilGuard::acquire() }.unwrap();
        assert_eq!(
            inner
                .python()
                .eval("3 * 3")
                .unwrap()
                .extract::<i32>()
                .unwrap(),
            9
        );
    }
    assert!(gil_is_held());
    drop(outer);
    assert!(!gil_is_held());
}

#[test]
fn python_threads_call_rust_which_takes_the_gil_and_releases_it() {
    init();
    with_gil(|py| {
        let ns: Object<Dict> = py.new_namespace()?;
        let f = Function::new(py, "rust_work", None, |py, args, _kw| {
            let (n,): (i64,) = args.extract()?;
            // Nested with_gil from a Python-created thread: just a count bump.
            let doubled = with_gil(|py2| py2.eval(&format!("{n} * 2"))?.extract::<i64>())?;
            // Release the GIL for "blocking" work, then take it back.
            let slept = py.allow_threads(move || {
                std::thread::sleep(Duration::from_millis(1));
                doubled + 1
            });
            slept.into_python(py)
        })?;
        ns.set_item("rust_work", f)?;
        py.exec_with(
            "import threading\nresults = []\n\
             def worker(i):\n    for _ in range(20):\n        results.append(rust_work(i))\n\
             ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]\n\
             [t.start() for t in ts]\n[t.join() for t in ts]\n",
            &ns,
            None,
        )?;
        let results: Vec<i64> = ns.get_item("results")?.unwrap().extract()?;
        assert_eq!(results.len(), 80);
        let mut sorted = results.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, [1, 3, 5, 7]);
        Ok(())
    })
    .unwrap();
}

#[test]
fn many_threads_acquire_and_drop_unbound_handles() {
    init();
    let target = with_gil(|py| Ok(py.eval("object()")?.unbind())).unwrap();
    let baseline = with_gil(|py| Ok(target.bind(py).refcount())).unwrap();
    let target = std::sync::Arc::new(target);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || {
                let mut keep: Vec<Unbound> = Vec::new();
                for i in 0..2_000 {
                    with_gil(|py| {
                        keep.push(target.clone_ref(py));
                        py.eval("1 + 1").map(drop)
                    })
                    .unwrap();
                    if i % 100 == 99 {
                        keep.clear(); // dropped without the GIL
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let after = with_gil(|py| Ok(target.bind(py).refcount())).unwrap();
    assert_eq!(after, baseline, "every clone was released");
}

#[test]
fn joining_a_finished_python_thread_while_holding_the_gil_does_not_deadlock() {
    init();
    for _ in 0..20 {
        with_gil(|py| {
            // The helper used Python and exits while this thread holds the GIL.
            let helper = std::thread::spawn(|| with_gil(|py| py.eval("1").map(drop)).unwrap());
            let done = py.allow_threads(|| {
                let t = std::time::Instant::now();
                while !helper.is_finished() && t.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                helper
            });
            done.join().unwrap(); // GIL held: the helper's exit must not need it
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn deleting_exited_threads_states_keeps_this_threads_own() {
    init();
    std::thread::spawn(|| {
        let mine = with_gil(|_| {
            // SAFETY: the GIL is held.
            Ok(unsafe { ffi::PyThreadState_Get() } as usize)
        })
        .unwrap();
        for _ in 0..20 {
            // A thread that used Python exits: its state waits for the next acquisition.
            std::thread::spawn(|| with_gil(|py| py.eval("1").map(drop)).unwrap())
                .join()
                .unwrap();
            // This acquisition (or another test's) deletes it; either way this thread's own
            // state must stay Python's state for this thread.
            with_gil(|_| {
                // SAFETY: GIL held.
                let this = unsafe { ffi::PyGILState_GetThisThreadState() } as usize;
                assert_eq!(
                    this, mine,
                    "deleting another thread's state unbound this thread's"
                );
                Ok(())
            })
            .unwrap();
        }
    })
    .join()
    .unwrap();
}
