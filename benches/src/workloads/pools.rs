//! w8a–w8g: the Executor from tokio at saturation, against minimal pools of the same shape.
//!
//! The `limit` column is the least a pool can do with the C API: 2 threads, each keeping its
//! own thread state (`PyEval_RestoreThread`/`PyEval_SaveThread` around a job), one queue under
//! a mutex, a worker woken only when it sleeps, results sent back through tokio's oneshot
//! channel. The `pyo3` column is the same pool written the PyO3 way (attached once, detached
//! while it waits for a job). Neither has deadlines, cancellation, stuck detection or
//! statistics; pyhost's `Executor` (2 workers) keeps all of them.

use std::collections::VecDeque;
use std::future::Future;
use std::hint::black_box;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyhost_sys as ffi;
use pyo3::types::PyAnyMethods;

use crate::harness::{Body, Column, Workload};

use super::{OwnState, Shared, here, pyo3_handle, unbound, workload};
use crate::raw::check;

// ---------------------------------------------------------------------------------------------
// The minimal pool

/// A pool of threads taking jobs from one queue. A worker sleeps only when the queue is
/// empty, and a submitter wakes one only when one sleeps.
pub(super) struct MiniPool<J> {
    queue: Arc<Jobs<J>>,
    threads: Vec<JoinHandle<()>>,
}

/// The queue of a [`MiniPool`].
pub(super) struct Jobs<J> {
    state: Mutex<JobsState<J>>,
    ready: Condvar,
}

struct JobsState<J> {
    jobs: VecDeque<J>,
    sleeping: usize,
    closed: bool,
}

impl<J: Send + 'static> MiniPool<J> {
    /// Starts `threads` threads, each running `main` with the queue.
    pub(super) fn new(threads: usize, main: impl Fn(&Jobs<J>) + Send + Sync + 'static) -> Self {
        let queue = Arc::new(Jobs {
            state: Mutex::new(JobsState {
                jobs: VecDeque::new(),
                sleeping: 0,
                closed: false,
            }),
            ready: Condvar::new(),
        });
        let main = Arc::new(main);
        let threads = (0..threads)
            .map(|i| {
                let (queue, main) = (queue.clone(), main.clone());
                std::thread::Builder::new()
                    .name(format!("mini-pool-{i}"))
                    .spawn(move || main(&queue))
                    .expect("starting a pool thread")
            })
            .collect();
        MiniPool { queue, threads }
    }

    pub(super) fn push(&self, job: J) {
        let mut s = self.queue.state.lock().expect("pool queue");
        s.jobs.push_back(job);
        let wake = s.sleeping > 0;
        drop(s);
        if wake {
            self.queue.ready.notify_one();
        }
    }
}

impl<J> Jobs<J> {
    /// The next job; `None` once the pool is dropped.
    pub(super) fn take(&self) -> Option<J> {
        let mut s = self.state.lock().expect("pool queue");
        loop {
            if let Some(j) = s.jobs.pop_front() {
                return Some(j);
            }
            if s.closed {
                return None;
            }
            s.sleeping += 1;
            s = self.ready.wait(s).expect("pool queue");
            s.sleeping -= 1;
        }
    }
}

impl<J> Drop for MiniPool<J> {
    fn drop(&mut self) {
        self.queue.state.lock().expect("pool queue").closed = true;
        self.queue.ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A job of the C-API pool, run with the GIL held.
type RawJob = Box<dyn FnOnce() + Send>;
/// A job of the PyO3 pool.
type Pyo3Job = Box<dyn for<'py> FnOnce(pyo3::Python<'py>) + Send>;

/// The C-API pool: a thread state per thread, made once.
pub(super) fn raw_pool(interp: usize) -> Arc<MiniPool<RawJob>> {
    Arc::new(MiniPool::new(2, move |jobs: &Jobs<RawJob>| {
        let state = OwnState::new(interp);
        while let Some(job) = jobs.take() {
            state.restore();
            job();
            state.save();
        }
    }))
}

/// The PyO3 pool: attached once per thread, detached while waiting.
pub(super) fn pyo3_pool() -> Arc<MiniPool<Pyo3Job>> {
    Arc::new(MiniPool::new(2, |jobs: &Jobs<Pyo3Job>| {
        pyo3::Python::attach(|py| {
            while let Some(job) = py.detach(|| jobs.take()) {
                job(py);
            }
        })
    }))
}

// ---------------------------------------------------------------------------------------------
// The work and the clients

/// What one call does with the GIL held.
#[derive(Clone, Copy)]
pub(super) enum Work {
    /// Nothing: what a call costs by itself.
    Nothing,
    /// Spins for this long (a short task).
    Spin(Duration),
    /// Calls the trivial Python function `f0` (each column through its own handle).
    CallF0,
}

impl Work {
    #[inline]
    fn run(self) {
        match self {
            Work::Nothing => black_box(()),
            Work::Spin(d) => {
                let end = Instant::now() + d;
                while Instant::now() < end {
                    std::hint::spin_loop();
                }
            }
            Work::CallF0 => unreachable!("each column calls f0 its own way"),
        }
    }
}

/// Runs `clients` tokio tasks, each awaiting `calls` calls one after another, and returns the
/// latency of each call when `record`.
fn drive<F, Fut>(
    rt: &tokio::runtime::Runtime,
    clients: u64,
    calls: u64,
    record: bool,
    call: F,
) -> Vec<Duration>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let call = call.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(if record { calls as usize } else { 0 });
                    for _ in 0..calls {
                        let started = record.then(Instant::now);
                        call().await;
                        if let Some(t) = started {
                            latencies.push(t.elapsed());
                        }
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.expect("a client task"));
        }
        all
    })
}

/// How a row measures: throughput of `clients` × `calls` per operation, or a latency
/// percentile over the calls of a batch.
#[derive(Clone, Copy)]
enum Measure {
    Throughput { clients: u64, calls: u64 },
    Latency { clients: u64, percentile: f64 },
}

/// A body that drives `call` from tokio as `measure` says.
fn body<F, Fut>(rt: Arc<tokio::runtime::Runtime>, measure: Measure, call: F) -> Body
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match measure {
        Measure::Throughput { clients, calls } => here(move |n| {
            for _ in 0..n {
                drive(&rt, clients, calls, false, call.clone());
            }
        }),
        Measure::Latency {
            clients,
            percentile,
        } => Box::new(move |n| {
            let mut l = drive(&rt, clients, n.div_ceil(clients), true, call.clone());
            l.sort_unstable();
            let at = ((l.len() as f64 * percentile) as usize).min(l.len() - 1);
            // Reported per operation: the percentile, times the batch.
            l[at] * n as u32
        }),
    }
}

/// The columns of a row: the C-API pool, the Executor and the PyO3 pool running `work`.
fn columns(s: &Shared, measure: Measure, work: Work) -> Vec<(Column, Body)> {
    let pool = raw_pool(s.interp);
    let f = s.f0;
    let limit = body(s.runtime.clone(), measure, move || {
        let (tx, rx) = tokio::sync::oneshot::channel();
        pool.push(Box::new(move || {
            match work {
                // The GIL is held through the pool's thread state, `f` is live, and the
                // result is released.
                // SAFETY: for the reasons above.
                Work::CallF0 => unsafe {
                    ffi::Py_DECREF(check(ffi::PyObject_CallNoArgs(f.as_ptr()), "f0()"));
                },
                other => other.run(),
            }
            let _ = tx.send(());
        }));
        async move { rx.await.expect("the C-API pool answers") }
    });
    let ex = s.executor.clone();
    let fp = Arc::new(unbound(f));
    let pyhost = body(s.runtime.clone(), measure, move || {
        // The function's handle, only for the rows that call it (the C-API pool copies a
        // pointer, which costs nothing).
        let fp = matches!(work, Work::CallF0).then(|| fp.clone());
        let call = ex.spawn(move |py| {
            match (work, fp) {
                (Work::CallF0, Some(fp)) => {
                    black_box(fp.bind(py).call0()?);
                }
                (other, _) => other.run(),
            }
            Ok(())
        });
        async move { call.await.expect("the Executor answers") }
    });
    let pool3 = pyo3_pool();
    let f3 = Arc::new(pyo3_handle(f));
    let pyo3 = body(s.runtime.clone(), measure, move || {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let f3 = matches!(work, Work::CallF0).then(|| f3.clone());
        pool3.push(Box::new(move |py| {
            match (work, f3) {
                (Work::CallF0, Some(f3)) => {
                    black_box(f3.bind(py).call0().expect("f0 through PyO3"));
                }
                (other, _) => other.run(),
            }
            let _ = tx.send(());
        }));
        async move { rx.await.expect("the PyO3 pool answers") }
    });
    vec![
        (Column::Limit, limit),
        (Column::Pyhost, pyhost),
        (Column::Pyo3, pyo3),
    ]
}

// ---------------------------------------------------------------------------------------------
// The rows

/// A throughput row: `clients` tokio tasks each awaiting `calls` calls doing `work`, reported
/// per call; `batch` operations a batch.
struct Throughput {
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    scale: f64,
    clients: u64,
    calls: u64,
    batch: u64,
}

impl Throughput {
    fn workload(self, s: &Shared, work: Work) -> Workload {
        let measure = Measure::Throughput {
            clients: self.clients,
            calls: self.calls,
        };
        let mut w = workload(
            self.id,
            self.title,
            self.unit,
            self.scale,
            columns(s, measure, work),
        );
        w.per_op = self.clients * self.calls;
        w.fixed_batch = Some(self.batch);
        w.callgrind = false;
        w
    }
}

/// w8: `tasks` tokio tasks, each awaiting one call of `f0`.
pub(super) fn w8(s: &Shared, tasks: u64) -> Workload {
    Throughput {
        id: "w8",
        title: "short tasks from tokio: each awaits a call of f0 on a pool",
        unit: "us/task",
        scale: 1e3,
        clients: tasks,
        calls: 1,
        batch: 1,
    }
    .workload(s, Work::CallF0)
}

/// Clients of w8b and w8c.
const CLIENTS: u64 = 256;

/// w8b: tiny calls at saturation.
pub(super) fn w8b(s: &Shared) -> Workload {
    Throughput {
        id: "w8b",
        title: "tiny calls at saturation: 256 tokio tasks x 16 awaited calls",
        unit: "ns/call",
        scale: 1.0,
        clients: CLIENTS,
        calls: 16,
        batch: 4,
    }
    .workload(s, Work::Nothing)
}

/// w8c: 10 µs tasks (the GIL held throughout) at saturation.
pub(super) fn w8c(s: &Shared) -> Workload {
    Throughput {
        id: "w8c",
        title: "10 us tasks at saturation: 256 tokio tasks x 4 awaited calls",
        unit: "us/task",
        scale: 1e3,
        clients: CLIENTS,
        calls: 4,
        batch: 1,
    }
    .workload(s, Work::Spin(Duration::from_micros(10)))
}

/// w8d–w8g: latency of one awaited no-op call, with 1 and with 16 clients calling back to
/// back.
pub(super) fn latency(s: &Shared, id: &str) -> Workload {
    let (id, title, clients, percentile) = match id {
        "w8d" => ("w8d", "latency of an awaited call, 1 client: p50", 1, 0.50),
        "w8e" => ("w8e", "latency of an awaited call, 1 client: p99", 1, 0.99),
        "w8f" => (
            "w8f",
            "latency of an awaited call, 16 clients: p50",
            16,
            0.50,
        ),
        _ => (
            "w8g",
            "latency of an awaited call, 16 clients: p99",
            16,
            0.99,
        ),
    };
    let measure = Measure::Latency {
        clients,
        percentile,
    };
    let mut w = workload(
        id,
        title,
        "us/call",
        1e3,
        columns(s, measure, Work::Nothing),
    );
    w.fixed_batch = Some(4096);
    w.callgrind = false;
    w
}
