//! w10: Python in another process. One no-op call (`operator:truth(1)`) waited for, through
//! pyhost's `ProcessPool`, against the two classic ways: a persistent `python3` child
//! speaking JSON lines on its stdin and stdout (raw), and a `python3` started per call with
//! JSON in and out (w10b's raw). The `limit` column is the same call in-process (the
//! Executor): what the process boundary costs. w10c: 64 calls in flight on 2 workers.
//!
//! w10a runs the caller and its child on one CPU. Left to the scheduler, two processes
//! passing one message back and forth settle either on one CPU (a round trip of 7 µs here)
//! or on two, where every wait ends with waking an idle virtual CPU (70 µs here, as this VM
//! has no guest halt polling); which one happens varies from run to run, for the JSON-lines
//! child as for pyhost's worker, and would make the row a coin toss. (pyhost's caller polls
//! for 50 µs before it sleeps, so that unpinned it stays at 13–20 µs.)

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use pyhost::executor::block_on;
use pyhost::process::{ProcessPool, Task};

use super::{Shared, here, on_thread, workload};
use crate::harness::{Body, Column, Workload};

/// The classic worker: reads `[module, function, args]` lines, answers with the result.
const JSON_LINES_WORKER: &str = "\
import importlib, json, sys
for line in sys.stdin:
    module, function, args = json.loads(line)
    result = getattr(importlib.import_module(module), function)(*args)
    sys.stdout.write(json.dumps(result) + '\\n')
    sys.stdout.flush()
";

/// The request every column sends.
const REQUEST: &str = "[\"operator\", \"truth\", [1]]\n";

/// The Python the embedded interpreter names as its executable.
fn python3() -> String {
    pyhost::with_gil(|py| py.import("sys")?.getattr("executable")?.extract())
        .expect("sys.executable")
}

/// A pool of worker processes: this benchmark binary started again.
fn pool(workers: usize) -> ProcessPool {
    ProcessPool::builder()
        .workers(workers)
        .build()
        .expect("w10 pool")
}

fn task() -> Task {
    Task::new("operator:truth", (1,)).expect("w10 task")
}

/// One call at a time through `pool`.
fn through_pool(pool: ProcessPool) -> Body {
    let task = task();
    here(move |n| {
        for _ in 0..n {
            black_box(pool.call::<bool>(&task).expect("w10 pool call"));
        }
    })
}

/// A persistent child speaking JSON lines.
struct JsonChild {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl JsonChild {
    fn start(python: &str) -> JsonChild {
        let mut child = Command::new(python)
            .args(["-c", JSON_LINES_WORKER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("w10 json child");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        JsonChild {
            child,
            stdin,
            stdout,
        }
    }

    fn call(&mut self) -> bool {
        self.stdin.write_all(REQUEST.as_bytes()).expect("w10 write");
        self.stdin.flush().expect("w10 flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("w10 read");
        line.trim() == "true"
    }
}

impl Drop for JsonChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Binds the calling thread to the CPU it runs on; the processes it starts inherit that.
fn stay_on_this_cpu() {
    // sched_getcpu(3) takes nothing; sched_setaffinity(2) reads the set, which lives on this
    // frame, for the calling thread (pid 0).
    // SAFETY: for the reasons above; `set` is a plain bit set, valid zeroed.
    unsafe {
        let cpu = libc::sched_getcpu().max(0) as usize;
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

pub(super) fn w10a(s: &Shared) -> Workload {
    let python = python3();
    let raw = on_thread("w10a-raw", move || {
        stay_on_this_cpu();
        let mut json = JsonChild::start(&python);
        Box::new(move |n| {
            for _ in 0..n {
                black_box(json.call());
            }
        })
    });
    let ex = s.executor.clone();
    let in_process = task();
    let limit = here(move |n| {
        for _ in 0..n {
            black_box(ex.call::<bool>(&in_process).expect("w10 executor call"));
        }
    });
    let mut w = workload(
        "w10a",
        "no-op call in a worker process, round trip, caller and child on one CPU (raw: persistent python3, JSON lines)",
        "us/call",
        1e3,
        vec![
            (Column::Raw, raw),
            (Column::Limit, limit),
            (
                Column::Pyhost,
                on_thread("w10a-pyhost", || {
                    stay_on_this_cpu();
                    let pool = pool(1);
                    let task = task();
                    Box::new(move |n| {
                        for _ in 0..n {
                            black_box(pool.call::<bool>(&task).expect("w10 pool call"));
                        }
                    })
                }),
            ),
        ],
    );
    w.callgrind = false;
    w
}

pub(super) fn w10b() -> Workload {
    let python = python3();
    let raw = here(move |n| {
        for _ in 0..n {
            let out = Command::new(&python)
                .args([
                    "-c",
                    "import importlib, json, sys\n\
                     m, f, a = json.loads(sys.argv[1])\n\
                     print(json.dumps(getattr(importlib.import_module(m), f)(*a)))",
                    REQUEST.trim(),
                ])
                .output()
                .expect("w10b python3");
            black_box(out.stdout);
        }
    });
    let mut w = workload(
        "w10b",
        "no-op call in another process (raw: a python3 started per call, JSON)",
        "ms/call",
        1e6,
        vec![(Column::Raw, raw), (Column::Pyhost, through_pool(pool(1)))],
    );
    w.callgrind = false;
    w
}

/// Calls kept in flight by w10c.
const IN_FLIGHT: usize = 64;

pub(super) fn w10c() -> Workload {
    let python = python3();
    let mut children = [JsonChild::start(&python), JsonChild::start(&python)];
    // Two children, each given half of the calls as one pipelined burst.
    let raw = here(move |n| {
        for _ in 0..n {
            for c in children.iter_mut() {
                for _ in 0..IN_FLIGHT / 2 {
                    c.stdin.write_all(REQUEST.as_bytes()).expect("w10c write");
                }
                c.stdin.flush().expect("w10c flush");
            }
            for c in children.iter_mut() {
                for _ in 0..IN_FLIGHT / 2 {
                    let mut line = String::new();
                    c.stdout.read_line(&mut line).expect("w10c read");
                    black_box(line);
                }
            }
        }
    });
    let pool = pool(2);
    let task = task();
    let pyhost = here(move |n| {
        for _ in 0..n {
            let calls: Vec<_> = (0..IN_FLIGHT).map(|_| pool.spawn::<bool>(&task)).collect();
            for c in calls {
                black_box(block_on(c).expect("w10c call"));
            }
        }
    });
    let mut w = workload(
        "w10c",
        "throughput: 64 no-op calls in flight on 2 worker processes (raw: 2 JSON-lines children)",
        "us/call",
        1e3,
        vec![(Column::Raw, raw), (Column::Pyhost, pyhost)],
    );
    w.per_op = IN_FLIGHT as u64;
    w.callgrind = false;
    w
}
