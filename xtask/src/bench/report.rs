//! The results: rows, targets and their checks, the table, the JSON list, BENCHMARKS.md.

use crate::json::{self, Value};

use super::COLUMNS;

/// One row: a workload's medians (or instruction counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub unit: String,
    /// raw, limit, pyhost, pyo3.
    pub values: [Option<f64>; 4],
}

impl Row {
    fn get(&self, column: &str) -> Option<f64> {
        COLUMNS
            .iter()
            .position(|c| *c == column)
            .and_then(|i| self.values[i])
    }
}

/// What the issue asks of the pyhost column of a workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    /// pyhost / raw at most this.
    pub raw_max: Option<f64>,
    /// pyhost / limit at most this.
    pub limit_max: Option<f64>,
    /// pyo3 / pyhost at least this (pyhost this many times faster).
    pub pyo3_speedup: Option<f64>,
}

/// The targets of workload `id` (besides "no slower than PyO3", which applies to all).
pub fn targets(id: &str) -> Targets {
    let none = Targets {
        raw_max: None,
        limit_max: None,
        pyo3_speedup: None,
    };
    match id {
        "w1" | "w2" | "w6a" | "w6b" | "w6c" => Targets {
            raw_max: Some(1.05),
            ..none
        },
        "w3" => Targets {
            raw_max: Some(1.2),
            ..none
        },
        "w4" => Targets {
            raw_max: Some(1.1),
            ..none
        },
        "w5" | "w5b" => Targets {
            limit_max: Some(1.2),
            ..none
        },
        "w9a" => Targets {
            raw_max: Some(1.05),
            ..none
        },
        // The Executor at least as fast as a minimal pool of the same shape.
        "w8" | "w8b" | "w8c" | "w8d" | "w8e" | "w8f" | "w8g" => Targets {
            limit_max: Some(1.0),
            ..none
        },
        _ => none,
    }
}

/// Targets that compare two rows: `(row, what, measured, met)`. The own-GIL pool (w9a) must
/// be at least 1.8 times as fast as the same work on one GIL (w9b) on two cores.
pub fn cross_checks(rows: &[Row]) -> Vec<(String, Check)> {
    let pyhost = |id: &str| {
        rows.iter()
            .find(|r| r.id == id)
            .and_then(|r| r.get("pyhost"))
    };
    let mut out = Vec::new();
    if let (Some(own), Some(one)) = (pyhost("w9a"), pyhost("w9b")) {
        let r = one / own;
        out.push((
            "w9a".to_owned(),
            Check {
                what: "w9b/w9a (one GIL / own GIL, pyhost) >= 1.80".to_owned(),
                measured: format!("{r:.2}"),
                met: r >= 1.8,
            },
        ));
    }
    out
}

/// The cold-build target: pyhost with its default features builds in at most 1.2 times
/// PyO3's time with its default features.
pub fn build_check(builds: &[(String, f64)]) -> Option<Check> {
    let time = |label: &str| builds.iter().find(|(l, _)| l == label).map(|(_, s)| *s);
    let (pyhost, pyo3) = (
        time(super::build_times::DEFAULT_PYHOST)?,
        time(super::build_times::DEFAULT_PYO3)?,
    );
    let r = pyhost / pyo3;
    Some(Check {
        what: "cold build, default features: pyhost/PyO3 <= 1.20".to_owned(),
        measured: format!("{r:.2}"),
        met: r <= 1.2,
    })
}

/// One checked target: its text, the measured value, and whether it is met.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub what: String,
    pub measured: String,
    pub met: bool,
}

/// Checks a row against its targets; nothing when the pyhost column is missing.
pub fn check(row: &Row) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(p) = row.get("pyhost") else {
        return out;
    };
    // The kernel's counts explain times; the targets are on the times.
    if row.unit.starts_with("futex calls") || row.unit.starts_with("context switches") {
        return out;
    }
    let t = targets(&row.id);
    if let (Some(max), Some(raw)) = (t.raw_max, row.get("raw")) {
        let r = p / raw;
        out.push(Check {
            what: format!("pyhost/raw <= {max:.2}"),
            measured: format!("{r:.3}"),
            met: r <= max,
        });
    }
    if let (Some(max), Some(limit)) = (t.limit_max, row.get("limit")) {
        let r = p / limit;
        out.push(Check {
            what: format!("pyhost/limit <= {max:.2}"),
            measured: format!("{r:.3}"),
            met: r <= max,
        });
    }
    if let Some(pyo3) = row.get("pyo3") {
        match t.pyo3_speedup {
            Some(min) => {
                let r = pyo3 / p;
                out.push(Check {
                    what: format!("pyo3/pyhost >= {min:.1}"),
                    measured: format!("{r:.2}"),
                    met: r >= min,
                });
            }
            None => {
                let r = p / pyo3;
                out.push(Check {
                    what: "pyhost/pyo3 <= 1.00".to_owned(),
                    measured: format!("{r:.3}"),
                    met: r <= 1.0,
                });
            }
        }
    }
    out
}

/// A value with a precision that suits its size.
pub fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "-".to_owned(),
        Some(x) if x >= 1000.0 => format!("{x:.0}"),
        Some(x) if x >= 100.0 => format!("{x:.1}"),
        Some(x) if x >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.4}"),
    }
}

pub(super) fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".to_owned(),
    }
}

/// The verdict cell: `met` or the missed checks.
pub(super) fn verdict(checks: &[Check]) -> String {
    if checks.is_empty() {
        return "-".to_owned();
    }
    let missed: Vec<String> = checks
        .iter()
        .filter(|c| !c.met)
        .map(|c| format!("MISSED {} (is {})", c.what, c.measured))
        .collect();
    if missed.is_empty() {
        "met".to_owned()
    } else {
        missed.join("; ")
    }
}

/// The header and cells of the results table.
pub fn table_rows(rows: &[Row]) -> Vec<Vec<String>> {
    let mut out = vec![
        [
            "id",
            "workload",
            "unit",
            "raw",
            "limit",
            "pyhost",
            "pyo3",
            "pyhost/raw",
            "pyhost/limit",
            "pyhost/pyo3",
            "targets",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for r in rows {
        let p = r.get("pyhost");
        out.push(vec![
            r.id.clone(),
            r.title.clone(),
            r.unit.clone(),
            fmt_value(r.values[0]),
            fmt_value(r.values[1]),
            fmt_value(r.values[2]),
            fmt_value(r.values[3]),
            ratio(p, r.get("raw")),
            ratio(p, r.get("limit")),
            ratio(p, r.get("pyo3")),
            verdict(&check(r)),
        ]);
    }
    out
}

/// A Markdown table.
pub fn markdown_table(rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    for (i, r) in rows.iter().enumerate() {
        s.push_str("| ");
        s.push_str(&r.join(" | "));
        s.push_str(" |\n");
        if i == 0 {
            s.push('|');
            for _ in r {
                s.push_str("---|");
            }
            s.push('\n');
        }
    }
    s
}

/// The `--json` file: a list of `{"workload", "unit", "raw", "limit", "pyhost", "pyo3"}`.
pub fn json_list(rows: &[Row]) -> String {
    let mut s = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        s.push_str(&format!(
            "  {{\"workload\": {}, \"unit\": {}",
            json_str(&r.id),
            json_str(&r.unit)
        ));
        for (c, v) in COLUMNS.iter().zip(r.values) {
            let v = match v {
                Some(x) if x.is_finite() => format!("{x}"),
                _ => "null".to_owned(),
            };
            s.push_str(&format!(", \"{c}\": {v}"));
        }
        s.push('}');
        s.push_str(if i + 1 == rows.len() { "\n" } else { ",\n" });
    }
    s.push_str("]\n");
    s
}

pub(super) fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(super) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.parse().ok(),
        _ => None,
    }
}

/// The bench binary's metadata: `(key, value)` pairs.
pub type Meta = Vec<(String, String)>;

/// Reads the bench binary's report: its metadata and rows.
pub fn parse_report(text: &str) -> Result<(Meta, Vec<Row>), String> {
    let v = json::parse(text)?;
    let meta = match v.get("meta") {
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect(),
        _ => Vec::new(),
    };
    let rows = v
        .get("results")
        .items()
        .iter()
        .map(|r| Row {
            id: r.get("workload").as_str().unwrap_or_default().to_owned(),
            title: r.get("title").as_str().unwrap_or_default().to_owned(),
            unit: r.get("unit").as_str().unwrap_or_default().to_owned(),
            values: COLUMNS.map(|c| number(r.get(c))),
        })
        .collect();
    Ok((meta, rows))
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md

/// What the report header says about the run.
pub struct Info {
    pub command: String,
    pub date: String,
    pub machine: String,
    pub pyo3: String,
    pub rustc: String,
    pub meta: Meta,
}

impl Info {
    fn meta(&self, key: &str) -> &str {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    }
}

/// The whole BENCHMARKS.md.
pub fn benchmarks_md(
    info: &Info,
    rows: &[Row],
    counts: &[Row],
    kernel: &[Row],
    builds: &[(String, f64)],
) -> String {
    let mut s = String::new();
    s.push_str("# pyhost benchmarks\n\n");
    s.push_str(
        "<!-- Generated by `cargo xtask bench`: do not edit by hand, rerun the command. -->\n\n",
    );
    s.push_str(&format!(
        "Produced by `{}` on {}. Rerun it to reproduce (`--quick` for a run of under two \
         minutes that does not rewrite this file; `--callgrind` adds instruction counts, \
         `--syscalls` futex calls and context switches of the pool rows, `--build-times` the \
         cold build times; `--json FILE` writes the same data as JSON).\n\n",
        info.command, info.date
    ));
    s.push_str(&format!("- Machine: {}\n", info.machine));
    s.push_str(&format!(
        "- Python: {} (libpython {}; pyhost bindings: {})\n",
        info.meta("python"),
        info.meta("libpython"),
        info.meta("bindings")
    ));
    s.push_str(&format!(
        "- PyO3 {} against the same libpython (checked at start: one libpython mapped, same \
         `sys.version` seen through pyhost, PyO3 and `Py_GetVersion`)\n",
        info.pyo3
    ));
    s.push_str(&format!(
        "- {}, profile `bench-release` (release + fat LTO, 1 codegen unit)\n",
        info.rustc
    ));
    s.push_str(&format!(
        "- Method: {} rounds per workload (w7: 3), each running every column once in \
         rotating order (A B C, B C A, …) so noise reaches every column alike; batches of at \
         least {} ms after one warm-up batch per column; values are the median per operation. \
         w7: {} calls per thread; w8: {} tasks.\n\n",
        info.meta("rounds"),
        info.meta("batch_ms"),
        info.meta("w7_calls_per_thread"),
        info.meta("w8_tasks")
    ));
    s.push_str("## Results\n\n");
    s.push_str(&markdown_table(&table_rows(rows)));
    s.push_str("\n## Targets (pyhost column)\n\n");
    let mut all_met = true;
    let per_row = rows
        .iter()
        .flat_map(|r| check(r).into_iter().map(|c| (r.id.clone(), c)));
    for (id, c) in per_row.chain(cross_checks(rows)) {
        all_met &= c.met;
        s.push_str(&format!(
            "- {} {}: {} (measured {})\n",
            id,
            c.what,
            if c.met { "met" } else { "**missed**" },
            c.measured
        ));
    }
    if all_met {
        s.push_str("\nEvery target is met.\n");
    }
    if !counts.is_empty() {
        s.push_str(
            "\n## Instructions per operation (callgrind)\n\nStable on a noisy machine: one \
             valgrind run per cell, counting only the measured batch after a warm-up. The pool \
             rows (\"all threads\") count every thread of the process instead, over a run of 3N \
             operations less a run of N, so start-up and warm-up cancel out: the work a task \
             costs, submitting, running and waking included. Valgrind runs one thread at a \
             time, so these count work, not how threads overlap.\n\n",
        );
        s.push_str(&markdown_table(&table_rows(counts)));
    }
    if !kernel.is_empty() {
        s.push_str(
            "\n## Futex calls and context switches per operation (perf stat)\n\nCounted by the \
             kernel's tracepoints over a run of 3N operations less a run of N, so start-up and \
             warm-up cancel out. A futex call is how a thread sleeps or wakes another; a \
             context switch is a sleep that happened.\n\n",
        );
        s.push_str(&markdown_table(&table_rows(kernel)));
    }
    if !builds.is_empty() {
        s.push_str(
            "\n## Cold build of a \"hello embed\" binary\n\n`cargo build --release` of a \
             program that starts Python and prints a line, in a fresh target directory, one \
             after the other on this machine.\n\n| build | seconds |\n|---|---|\n",
        );
        for (what, secs) in builds {
            s.push_str(&format!("| {what} | {secs:.1} |\n"));
        }
        if let Some(c) = build_check(builds) {
            s.push_str(&format!(
                "\n- {}: {} (measured {})\n",
                c.what,
                if c.met { "met" } else { "**missed**" },
                c.measured
            ));
        }
    }
    s.push_str(WORKLOADS_MD);
    s
}

const WORKLOADS_MD: &str = "
## What is measured

Columns: **raw** is the plain C-API way (hand-written against `pyhost-sys`, every result
checked); **limit** is the best the C API allows where that differs (a thread state created
once, then `PyEval_RestoreThread`/`PyEval_SaveThread`); **pyhost**; **PyO3**. All run in one
process on one interpreter. On the main thread each batch takes the GIL its column's way
(`PyGILState_Ensure`, `pyhost::with_gil`, `Python::attach`) and keeps it for the batch.

- w1: `f()` for a Python `def f(): pass`; the result is released.
- w2: `f(1000003, \"hello\", 1.5)` with the three arguments converted from Rust on every call,
  and the int result converted back.
- w3: a Python loop (`for _ in repeat(None, n): f()`) calling a Rust function with no
  arguments: `#[pyhost::function]`, PyO3 `#[pyfunction]`, or a hand-written `METH_NOARGS`
  function. The loop's own cost is in every column.
- w4: the same loop calling `f(1, 2, 3)` of a Rust function taking 3 ints and returning their
  sum. Every column takes them by position or by name: raw is `METH_FASTCALL |
  METH_KEYWORDS` by hand, matching the names itself.
- w5: take and release the GIL on a Rust thread Python did not create, each column on a
  thread of its own: pyhost's kept thread state (`with_gil` per operation); PyO3 in its best
  idiom for a worker, attached once and detached (`py.detach`) for each operation; raw
  `PyGILState_Ensure`/`Release` (which create and delete a thread state each time); and the
  limit (one kept thread state, restored and saved).
- w5b: w5 with a call of a trivial Python function inside each acquisition. Once a frame
  runs, `PyGILState_Ensure`'s fresh thread state costs microseconds (its data stack is mapped
  and unmapped each time); the kept thread states of the other columns do not.
- w6a/b/c: Rust value -> Python object -> new Rust value. Each column converts the value its
  previous round trip produced, so by-value conversions consume an owned value. The str is
  ASCII text.
- w7: two fresh threads each making the calls of w1, taking the GIL for each call (PyO3:
  attached once per thread, detached between calls, its best idiom).
- w8: tokio tasks (1,000 spawned at once) each awaiting one call of `f0` on a pool of 2
  threads: pyhost's `Executor::spawn` (2 pinned workers); limit is a minimal pool written
  against the C API (each thread keeps one thread state and restores/saves it around a job;
  one queue under a mutex; a submitter wakes a thread only when one sleeps; results through
  tokio's oneshot channel); PyO3 is the same pool the PyO3 way (attached once per thread,
  `py.detach` while it waits for a job). The minimal pools have no deadlines, cancellation,
  stuck detection or statistics; the Executor keeps them all.
- w8a: w8 the `spawn_blocking` way: raw `PyGILState_Ensure` and PyO3 `Python::attach` on
  tokio's blocking threads (pyhost: the Executor again, for reference).
- w8b: tiny calls at saturation: 256 tokio tasks each awaiting 16 calls that do nothing with
  the GIL, one after another, on the pools of w8.
- w8c: the same with 10 µs tasks (a spin with the GIL held), 4 per tokio task: at most one
  runs at a time on one GIL, so what differs is the hand-over between jobs.
- w8d-w8g: the latency of one awaited no-op call, p50 and p99, with 1 client and with 16
  clients each calling back to back (4,096 calls a batch).
- The pools' futex calls and context switches per task come from `--syscalls` (`perf stat`
  on the kernel's tracepoints), the table above when it was run.
- w9a: CPU-bound pure Python (`sum(i * i for i in range(150_000))`, about 10 ms), 4 calls
  spread over 2 workers that each have a subinterpreter with its own GIL (CPython 3.12+):
  pyhost's `Executor` built with `.subinterpreters(..)`, and raw, two threads each creating
  its subinterpreter with `Py_NewInterpreterFromConfig` and running the code with
  `PyRun_StringFlags` (the ceiling). PyO3 has no subinterpreter support, so no column.
- w9b: the same on one GIL: pyhost's `Executor` (2 workers, main interpreter), two raw
  threads with `PyGILState_Ensure`, two PyO3 threads with `Python::attach`.
  The target compares w9b with w9a: one GIL / own GIL >= 1.8 on two cores.
- w9c, w9d: one call that runs no Python (`run(|py| Ok(()))`), waited for, through the pool of
  subinterpreters (w9c) and through the Executor on the main interpreter (w9d).
- w10a: one no-op call (`operator.truth(1)`) in a worker process, waited for: pyhost's
  `ProcessPool` (1 worker); raw is the classic persistent `python3` child reading JSON lines
  on stdin and answering on stdout; limit is the same `Task` in-process (`Executor::call`),
  what the process boundary costs. The caller and its child are bound to one CPU: left to
  the scheduler, two processes passing one message back and forth settle on one CPU (raw
  6.4-7 µs here) or on two, where each wait ends in waking an idle virtual CPU (raw 70 µs;
  this VM has no guest halt polling), and which happens varies from run to run. Unbound,
  pyhost's caller polls 50 µs before it sleeps and takes 13-20 µs either way.
- w10b: the same against a `python3` started per call with JSON in and out (raw).
- w10c: throughput, 64 calls in flight on 2 worker processes (`spawn`); raw is two JSON-lines
  children, each sent half of the calls as one pipelined burst.
- w11a, w11b: Python awaits Rust futures in a loop under `asyncio.run`: pyhost's
  `#[pyhost::function] async fn` against PyO3 with pyo3-async-runtimes' `future_into_py`,
  each on its own tokio runtime. w11a's future is ready at once: pyhost completes the asyncio
  future on the spot, pyo3-async-runtimes goes through a runtime thread. w11b's yields once,
  so both complete the asyncio future from a runtime thread and wake the loop (the cost of
  waking an idle CPU dominates on this VM). Raw is the floor without Rust: a Python coroutine
  (w11b: one that awaits `asyncio.sleep(0)`).
- w11c: Rust awaits a trivial Python coroutine (`async def trivial(): return 1`) on an event
  loop in another thread, one await at a time: pyhost's `Executor::spawn_coroutine` (the
  worker's kept loop), PyO3 with pyo3-async-runtimes' `into_future_with_locals` on a loop run
  by a Python thread (awaited on a tokio current-thread runtime), and raw as Python's own way
  across threads, `asyncio.run_coroutine_threadsafe(...).result()`. Every column wakes another
  thread twice an await.

## Where pyhost is behind, and why

From callgrind profiles of the rows above (instruction counts do not move from run to run; the
times of the multi-threaded rows move by up to 30% between runs on this VM, so a miss of a
few percent there is noise):

- w5, w5b, w7 (taking the GIL): pyhost's outermost `with_gil` does about 60 instructions more
  than PyO3's `detach`: it announces itself to shutdown (a per-thread slot, so that
  `shutdown` from another thread waits for it instead of finalizing under it), checks that
  the interpreter is running, looks for deferred reference releases, and picks how to take
  the GIL (kept state, foreign state, already held). The first is what makes finalizing from
  another thread safe, which PyO3 does not offer. The rest of the difference is the 72-byte
  `Result<T, Error>` returned through memory.
- w6a (list -> `Vec<i64>`): about 7 instructions an element more than the raw loop, which
  trusts the list. Each scalar conversion says for which objects it runs no Python code (an
  int's `__index__` in a subclass could change the list under the loop); pyhost tests that
  before borrowing an item without a reference of its own, and reads the length again before
  each item. w6b (dict -> `HashMap<String, f64>`) is at the raw count: a `str` key needs no
  test, and the text of an ASCII `str` is read in place instead of through
  `PyUnicode_AsUTF8AndSize`.
- w1 (time): the same work as raw. Callgrind's cache and branch simulation (`--cache-sim=yes
  --branch-sim=yes`) of the measured batch gives per call: raw 386 instructions, 104 reads,
  78 writes; pyhost 388, 105, 79; neither column has an instruction-cache miss or a
  mispredicted branch there. A gap of 1-4% in time (under 1 ns a call) is then how the CPU's
  front end fetches the two loops (their alignment), which this VM, without hardware
  counters, cannot show.
- w8-w8g (pools): in time the Executor is at the minimal pools' level (pyhost/limit moves
  between 0.5 and 1.2 from run to run on this VM). In instructions per call, every thread
  counted, it does about 8% more work (table above). The minimal pools hand the GIL over for
  every call (`PyEval_RestoreThread`/`SaveThread` and the GIL's own lock, about 250
  instructions) where the Executor runs the calls queued behind one under one acquisition,
  and a call costs the Executor one allocation where they make two (the job's closure lives
  in the call's cell). What it spends beyond them is what they do not have: seven
  uncontended lock/unlock pairs a call (the queue twice, the result slot three times, the
  worker's current call twice, which the supervisor reads to interrupt a call that is
  cancelled, late or stuck), the call's control block (state transitions, the start time
  deadlines and stuck detection use), the per-worker counters of `stats()`, a four-word
  future and the `Result<T, Error>` its poll returns (80 bytes, `Error` being 72). Earlier
  versions ran 1.20-1.41x the minimal pools' instructions; what brought that to 1.07-1.09x:
  per-call times as integer nanoseconds (no `Instant` arithmetic or `OnceLock`), the closure
  in the call's cell, a boxed failure in the result slot, and no work on a job's normal end.
- w6c (one 1 MiB string) runs the same instructions in every column.

Allocation counters (`Builder::track_allocations`, off by default) cost nothing where Python
allocates little and a lot where it allocates much. Instructions with them on against off
(`PYHOST_BENCH_TRACK_ALLOCATIONS=1` runs every row with them; callgrind, pyhost column,
CPython 3.11): w1, w3, w4, w5 and w6c +0.0%; w6b +7.3%; w2 +18.6%; w6a +35%. Each
allocation pays a thread-state read, a per-thread cache check and two atomic additions.
";
