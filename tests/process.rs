//! Worker processes: calls and exceptions cross; a worker that exits, segfaults or aborts
//! fails only its call and is replaced; deadlines interrupt Python and kill what does not
//! answer; no call is lost while workers crash.

mod common;

use std::time::{Duration, Instant};

use common::{TempDir, is_child, run_child_within};
use pyhost::Error;
use pyhost::process::{ProcessPool, Task};

/// The worker processes of these tests: this binary started again on this entry, with a
/// Rust module that reaches the host.
#[test]
fn process_worker_entry() {
    pyhost::process::serve_if_worker(|b| b.builtin_module("to_host", to_host::builtin()))
        .expect("serving as a worker");
}

/// `to_host.send(topic, text)`: hands `text` to the host's handler for `topic`.
#[pyhost::function]
fn send(topic: &str, text: &str) -> pyhost::Result<()> {
    pyhost::process::send_to_host(topic, text.as_bytes())
}

#[pyhost::module]
fn to_host(m: &pyhost::Object<'_, pyhost::types::Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(send))
}

fn pool(workers: usize) -> ProcessPool {
    pool_with(workers, |b| b)
}

fn pool_with(
    workers: usize,
    configure: impl FnOnce(pyhost::process::ProcessBuilder) -> pyhost::process::ProcessBuilder,
) -> ProcessPool {
    pyhost::initialize_once().expect("starting Python");
    configure(ProcessPool::builder())
        .workers(workers)
        .grace(Duration::from_millis(500))
        .command(
            std::env::current_exe().unwrap(),
            [
                "process_worker_entry",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ],
        )
        .build()
        .unwrap()
}

/// A task that runs a Python file in the worker (`runpy.run_path`).
fn script(dir: &TempDir, name: &str, code: &str) -> Task {
    let path = dir.write(name, code);
    Task::new("runpy:run_path", (path.display().to_string(),)).unwrap()
}

#[test]
fn calls_and_exceptions_cross_to_a_worker_process() {
    let pool = pool(1);
    let n: u64 = pool
        .call(&Task::new("math:factorial", (20,)).unwrap())
        .unwrap();
    assert_eq!(n, 2_432_902_008_176_640_000);
    let theirs: u32 = pool.call(&Task::new("os:getpid", ()).unwrap()).unwrap();
    assert_ne!(theirs, std::process::id(), "it ran in another process");
    // Containers both ways.
    let sorted: Vec<(String, i64)> = pool
        .call(&Task::new("builtins:sorted", (vec![("b", 2), ("a", 1)],)).unwrap())
        .unwrap();
    assert_eq!(sorted, [("a".to_owned(), 1), ("b".to_owned(), 2)]);
    // An exception keeps its type, message and frames.
    let err = pool
        .call::<i64>(&Task::new("builtins:int", ("twelve",)).unwrap())
        .unwrap_err();
    let py = err.as_python().expect("a Python exception");
    assert_eq!(py.type_name(), "ValueError");
    assert!(py.message().contains("twelve"), "{err}");
    // The worker survived its exception.
    let same: u32 = pool.call(&Task::new("os:getpid", ()).unwrap()).unwrap();
    assert_eq!(same, theirs);
    assert_eq!(pool.stats().started, 1);
    // Shut down twice (then dropped: a third time): each returns, and calls are refused.
    pool.shutdown().unwrap();
    pool.shutdown().unwrap();
    let late = pool.call::<u32>(&Task::new("os:getpid", ()).unwrap());
    assert!(matches!(late, Err(Error::ExecutorClosed)), "{late:?}");
    assert!(pool.workers().is_empty(), "the worker was ended");
}

#[test]
fn a_worker_that_exits_segfaults_or_aborts_is_reported_and_replaced() {
    let dir = TempDir::new("crashes");
    let pool = pool(1);
    let exit = script(
        &dir,
        "exit.py",
        "import os, sys\nprint('check disk: giving up', file=sys.stderr, flush=True)\nos._exit(3)\n",
    );
    match pool.call::<()>(&exit).unwrap_err() {
        Error::WorkerCrashed {
            code,
            signal,
            stderr,
        } => {
            assert_eq!((code, signal), (Some(3), None));
            assert!(
                stderr.iter().any(|l| l.contains("check disk: giving up")),
                "{stderr:?}"
            );
        }
        other => panic!("expected WorkerCrashed, got {other:?}"),
    }
    let segfault = script(&dir, "segv.py", "import ctypes\nctypes.string_at(0)\n");
    let err = pool.call::<()>(&segfault).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WorkerCrashed {
                signal: Some(11),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("killed by signal 11"), "{err}");
    let abort = Task::new("os:abort", ()).unwrap();
    let err = pool.call::<()>(&abort).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WorkerCrashed {
                signal: Some(6),
                ..
            }
        ),
        "{err:?}"
    );
    // Each crash cost one worker; the next call gets a new one.
    let n: i64 = pool
        .call(&Task::new("operator:add", (40, 2)).unwrap())
        .unwrap();
    assert_eq!(n, 42);
    let s = pool.stats();
    assert_eq!((s.crashed, s.started), (3, 4), "{s:?}");
}

#[test]
fn a_deadline_interrupts_python_and_kills_what_does_not_answer() {
    let dir = TempDir::new("deadlines");
    let pool = pool(1);
    // Python code: interrupted (KeyboardInterrupt in the worker), the worker replaced.
    let t = Instant::now();
    let err = pool
        .call_timeout::<()>(
            Duration::from_millis(300),
            &Task::new("time:sleep", (30,)).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Code that no interruption reaches (SIGINT blocked): killed after the grace period.
    let deaf = script(
        &dir,
        "deaf.py",
        "import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\ntime.sleep(30)\n",
    );
    let t = Instant::now();
    let err = pool
        .call_timeout::<()>(Duration::from_millis(300), &deaf)
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // 300 ms + 500 ms of grace; serial waiting would be 30 s.
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(pool.stats().killed, 1);
    let n: i64 = pool
        .call(&Task::new("operator:mul", (6, 7)).unwrap())
        .unwrap();
    assert_eq!(n, 42);
}

#[test]
fn no_call_is_lost_while_workers_crash() {
    let pool = std::sync::Arc::new(pool(2));
    let calls: Vec<_> = (0..12)
        .map(|i| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let task = if i % 3 == 0 {
                    Task::new("os:_exit", (9,)).unwrap()
                } else {
                    Task::new("operator:add", (i, 1000)).unwrap()
                };
                (i, pool.call::<i64>(&task))
            })
        })
        .collect();
    let mut answered = 0;
    for c in calls {
        let (i, r) = c.join().unwrap();
        match r {
            Ok(n) => {
                assert_eq!(n, i + 1000);
                assert_ne!(i % 3, 0);
            }
            Err(Error::WorkerCrashed { code: Some(9), .. }) => assert_eq!(i % 3, 0),
            Err(e) => panic!("call {i}: {e:?}"),
        }
        answered += 1;
    }
    assert_eq!(answered, 12);
    assert_eq!(pool.stats().crashed, 4);
}

#[test]
fn rust_functions_in_a_worker_reach_the_host_in_order_up_to_a_crash() {
    use std::sync::{Arc, Mutex};
    let dir = TempDir::new("messages");
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    let pool = pool_with(1, |b| {
        b.on_message("metric", move |data| {
            sink.lock()
                .unwrap()
                .push(String::from_utf8(data.to_vec()).unwrap())
        })
    });
    let sent = script(
        &dir,
        "send.py",
        "import to_host\nfor i in range(500):\n    to_host.send('metric', f'm{i}')\n",
    );
    // run_path returns the script's globals, which hold modules: a clear error, no crash.
    let answer = pool.call::<()>(&sent);
    assert!(
        !matches!(answer, Err(Error::WorkerCrashed { .. })),
        "{answer:?}"
    );
    let got = seen.lock().unwrap().clone();
    let expected: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    assert_eq!(got, expected, "every message, in order, before the answer");
    // What a worker sent before it died arrives; the crash is still reported.
    seen.lock().unwrap().clear();
    let dying = script(
        &dir,
        "dying.py",
        "import os, to_host\nto_host.send('metric', 'last words')\nos._exit(3)\n",
    );
    let err = pool.call::<()>(&dying).unwrap_err();
    assert!(
        matches!(err, Error::WorkerCrashed { code: Some(3), .. }),
        "{err:?}"
    );
    assert_eq!(*seen.lock().unwrap(), ["last words"]);
    // In the host, outside a worker, sending is an error that says why.
    pyhost::initialize_once().unwrap();
    assert!(!pyhost::process::in_worker());
    let e = pyhost::process::send_to_host("metric", b"x").unwrap_err();
    assert!(e.to_string().contains("worker process"), "{e}");
    // A bad topic fails in the worker, as a Python exception of the call.
    let bad = script(
        &dir,
        "bad.py",
        "import to_host\nto_host.send('a\\0b', 'x')\n",
    );
    let e = pool.call::<()>(&bad).unwrap_err();
    assert!(e.to_string().contains("NUL"), "{e}");
}

#[test]
fn what_cannot_cross_is_a_clear_error() {
    pyhost::initialize_once().unwrap();
    let err = Task::new("math-factorial", (3,)).unwrap_err();
    assert!(err.to_string().contains("module:function"), "{err}");
    let err = pyhost::with_gil(|py| {
        let obj = py.eval("object()")?;
        Ok(Task::new("builtins:repr", (obj.unbind(),)).unwrap_err())
    })
    .unwrap();
    assert!(
        err.to_string().contains("cross to a worker process"),
        "{err}"
    );
}

#[test]
fn crashes_back_off_then_open_the_circuit_until_the_cooldown() {
    let pool = pool_with(1, |b| {
        b.restart_backoff(Duration::from_millis(200), Duration::from_secs(10))
            .max_restarts(2, Duration::from_secs(60))
            .cooldown(Duration::from_millis(1500))
    });
    let crash = Task::new("os:_exit", (5,)).unwrap();
    let good = Task::new("operator:add", (1, 1)).unwrap();
    let timed = |task: &Task| {
        let t = Instant::now();
        (pool.call::<i64>(task), t.elapsed())
    };
    let (r, _) = timed(&crash);
    assert!(
        matches!(r, Err(Error::WorkerCrashed { code: Some(5), .. })),
        "{r:?}"
    );
    // The next start waits 200 ms, then 400 ms: the backoff doubles.
    let (r, second) = timed(&crash);
    assert!(matches!(r, Err(Error::WorkerCrashed { .. })), "{r:?}");
    assert!(second >= Duration::from_millis(200), "{second:?}");
    let (r, third) = timed(&crash);
    assert!(matches!(r, Err(Error::WorkerCrashed { .. })), "{r:?}");
    assert!(third >= Duration::from_millis(400), "{third:?}");
    // Three crashes, more than two in the window: calls fail at once, no worker started.
    let started = pool.stats().started;
    let (r, _) = timed(&good);
    match r {
        Err(Error::CircuitOpen {
            crashes, retry_in, ..
        }) => {
            assert_eq!(crashes, 3);
            assert!(retry_in <= Duration::from_millis(1500), "{retry_in:?}");
        }
        other => panic!("expected CircuitOpen, got {other:?}"),
    }
    assert_eq!(pool.stats().started, started, "no worker was started");
    // After the cool-down, workers start again.
    std::thread::sleep(Duration::from_millis(1600));
    let (r, _) = timed(&good);
    assert_eq!(r.unwrap(), 2);
}

#[test]
fn a_memory_cap_is_a_memory_error_and_the_worker_carries_on() {
    let pool = pool_with(1, |b| b.memory_limit(1 << 30));
    // RLIMIT_AS is 9 on Linux.
    let (soft, _): (i64, i64) = pool
        .call(&Task::new("resource:getrlimit", (9,)).unwrap())
        .unwrap();
    if soft < 0 {
        eprintln!("skipped: the cap is not enforced here (qemu-user ignores RLIMIT_AS)");
        return;
    }
    assert_eq!(soft, 1 << 30);
    let before: u32 = pool.call(&Task::new("os:getpid", ()).unwrap()).unwrap();
    let err = pool
        .call::<()>(&Task::new("builtins:bytearray", (2_i64 << 30,)).unwrap())
        .unwrap_err();
    assert_eq!(
        err.as_python().map(|e| e.type_name()),
        Some("MemoryError"),
        "{err:?}"
    );
    let after: u32 = pool.call(&Task::new("os:getpid", ()).unwrap()).unwrap();
    assert_eq!(before, after, "the worker carried on");
}

#[test]
fn a_cgroup_memory_cap_kills_the_worker_or_says_why_it_cannot_be_had() {
    pyhost::initialize_once().unwrap();
    let built = ProcessPool::builder()
        .workers(1)
        .cgroup_memory_max(256 << 20)
        .command(
            std::env::current_exe().unwrap(),
            ["process_worker_entry", "--exact", "--nocapture"],
        )
        .build();
    let pool = match built {
        Ok(pool) => pool,
        Err(Error::Unsupported { message }) => {
            // This machine's memory controller is on cgroup v1: the reason is given.
            eprintln!("no cgroup cap here: {message}");
            assert!(message.contains("cgroup"), "{message}");
            return;
        }
        Err(e) => panic!("{e:?}"),
    };
    // 1 GiB touched against a 256 MiB cap: the kernel kills the worker, which is said.
    let err = pool
        .call::<()>(&Task::new("builtins:bytearray", (1_i64 << 30,)).unwrap())
        .unwrap_err();
    match &err {
        Error::WorkerCrashed {
            signal: Some(9),
            stderr,
            ..
        } => assert!(
            stderr.iter().any(|l| l.contains("memory cap")),
            "{stderr:?}"
        ),
        e => panic!("{e:?}"),
    }
    let n: i64 = pool
        .call(&Task::new("operator:add", (1, 2)).unwrap())
        .unwrap();
    assert_eq!(n, 3, "a new worker took over");
}

#[test]
fn workers_are_recycled_after_max_calls_and_report_their_memory() {
    let pool = pool_with(1, |b| b.max_calls_per_worker(3));
    let pids: Vec<u32> = (0..7)
        .map(|_| pool.call(&Task::new("os:getpid", ()).unwrap()).unwrap())
        .collect();
    assert!(pids[0] == pids[1] && pids[1] == pids[2], "{pids:?}");
    assert!(pids[3] != pids[2] && pids[3] == pids[5], "{pids:?}");
    assert!(pids[6] != pids[5], "{pids:?}");
    assert_eq!(pool.stats().recycled, 2);
    let live = pool.workers();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!((live[0].pid, live[0].calls), (pids[6], 1));
    let rss = live[0].rss_bytes.expect("Linux reports it");
    assert!(
        rss > 4 << 20,
        "a worker with Python holds more than 4 MiB: {rss}"
    );
}

#[test]
fn spawned_calls_run_in_parallel_and_dropping_one_cancels_it() {
    use pyhost::executor::block_on;
    let pool = pool(2);
    // Start both workers.
    let warm: Vec<_> = (0..2)
        .map(|_| pool.spawn::<u32>(&Task::new("os:getpid", ()).unwrap()))
        .collect();
    for w in warm {
        block_on(w).unwrap();
    }
    let sleep = Task::new("time:sleep", (1,)).unwrap();
    let t = Instant::now();
    let (a, b) = (pool.spawn::<()>(&sleep), pool.spawn::<()>(&sleep));
    block_on(a).unwrap();
    block_on(b).unwrap();
    // One worker would take 2 s.
    assert!(
        t.elapsed() < Duration::from_millis(1900),
        "{:?}",
        t.elapsed()
    );

    // A running call whose future is dropped is interrupted, and its worker replaced.
    let long = pool.spawn::<()>(&Task::new("time:sleep", (30,)).unwrap());
    // An idle worker takes it at once.
    std::thread::sleep(Duration::from_millis(300));
    let before = pool.workers().len();
    drop(long);
    let t = Instant::now();
    while pool.workers().len() == before {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the worker of the dropped call is still there"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let n: i64 = pool
        .call(&Task::new("operator:add", (2, 3)).unwrap())
        .unwrap();
    assert_eq!(n, 5);
}

/// A host that dies (here: `process::exit`, no shutdown) leaves no worker behind, even one
/// stuck in C with SIGINT masked, which never reads the end of its channel: the worker's
/// watcher ends it 5 s later. (Before, such a worker held the host's stdout open: the agent's
/// test waited forever for its output.)
#[test]
fn a_worker_never_outlives_its_host() {
    const NAME: &str = "a_worker_never_outlives_its_host";
    if is_child(NAME) {
        let dir = TempDir::new("orphan");
        let pool = pool(1);
        let stuck = script(
            &dir,
            "stuck.py",
            "import ctypes, signal\n\
             signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])\n\
             ctypes.CDLL(None).sleep(600)\n",
        );
        let call = pool.spawn::<()>(&stuck);
        let t = Instant::now();
        while pool.workers().is_empty() && t.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let it reach the sleep.
        std::thread::sleep(Duration::from_millis(500));
        println!("WORKER={}", pool.workers()[0].pid);
        std::mem::forget(call);
        std::process::exit(0);
    }
    let (out, ended) = run_child_within(NAME, &[], Duration::from_secs(30));
    assert!(
        ended,
        "the host's output stayed open: its worker outlived it"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pid: u32 = stdout
        .lines()
        .find_map(|l| l.split("WORKER=").nth(1))
        .unwrap_or_else(|| panic!("no worker pid in {stdout}"))
        .trim()
        .parse()
        .unwrap();
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    let t = Instant::now();
    while alive() && t.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !alive(),
        "worker {pid} still runs {:?} after its host",
        t.elapsed()
    );
}
