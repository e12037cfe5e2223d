//! `pyhost-bench`: the workloads of the benchmark suite through pyhost, the raw C API and PyO3,
//! interleaved, in one process and one interpreter. Run it with `cargo xtask bench`, which
//! builds it against the Python pyhost-build discovers (and points PyO3 at the same one),
//! formats the table and writes BENCHMARKS.md.
//!
//! ```text
//! pyhost-bench [--quick] [--only w1,w5,...] [--out FILE]
//! pyhost-bench --count ID COLUMN OPS      (one column of one workload, for callgrind)
//! pyhost-bench --run ID COLUMN OPS        (the same without callgrind's region, for perf)
//! ```

mod harness;
mod raw;
mod workloads;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::{Column, Plan};
use pyhost_sys as ffi;
use workloads::{IDS, Shared, Sizes};

struct Args {
    quick: bool,
    only: Option<Vec<String>>,
    out: Option<String>,
    /// One column of one workload: `(id, column, ops, under callgrind)`.
    count: Option<(String, Column, u64, bool)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        quick: false,
        only: None,
        out: None,
        count: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--only" => {
                let list = it.next().ok_or("--only needs a list of workload ids")?;
                args.only = Some(list.split(',').map(str::to_owned).collect());
            }
            "--out" => args.out = Some(it.next().ok_or("--out needs a file")?),
            "--count" | "--run" => {
                let usage = format!("{a} needs ID COLUMN OPS");
                let id = it.next().ok_or(&usage)?;
                let col = it.next().ok_or(&usage)?;
                let col = Column::from_key(&col).ok_or(format!("unknown column `{col}`"))?;
                let ops = it.next().and_then(|n| n.parse().ok()).ok_or(&usage)?;
                args.count = Some((id, col, ops, a == "--count"));
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if let Some(only) = &args.only {
        for id in only {
            if !IDS.contains(&id.as_str()) {
                return Err(format!(
                    "unknown workload `{id}` (known: {})",
                    IDS.join(", ")
                ));
            }
        }
    }
    Ok(args)
}

/// The distinct libpython files mapped into this process.
fn loaded_libpythons() -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut libs: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains("libpython"))
        .map(str::to_owned)
        .collect();
    libs.sort();
    libs.dedup();
    libs
}

/// Checks that pyhost and PyO3 run on one interpreter from one libpython, and describes it.
fn check_one_python() -> Result<Vec<(&'static str, String)>, String> {
    let libs = loaded_libpythons();
    if libs.len() > 1 {
        return Err(format!(
            "more than one libpython is loaded ({}): PyO3 was built against another Python. \
             Build with PYO3_PYTHON set to the executable pyhost-build found (cargo xtask bench \
             does this).",
            libs.join(", ")
        ));
    }
    let pyhost_version: String =
        pyhost::with_gil(|py| py.import("sys")?.getattr("version")?.extract())
            .map_err(|e| e.to_string())?;
    let pyo3_version: String = pyo3::Python::attach(|py| {
        use pyo3::types::PyAnyMethods;
        py.import("sys")?.getattr("version")?.extract()
    })
    .map_err(|e: pyo3::PyErr| e.to_string())?;
    if pyhost_version != pyo3_version {
        return Err(format!(
            "pyhost sees Python {pyhost_version:?} but PyO3 sees {pyo3_version:?}"
        ));
    }
    // SAFETY: Py_GetVersion returns a static NUL-terminated string once Python is running.
    let c_version = unsafe { std::ffi::CStr::from_ptr(ffi::Py_GetVersion()) }
        .to_string_lossy()
        .into_owned();
    if c_version != pyhost_version {
        return Err(format!(
            "sys.version {pyhost_version:?} differs from Py_GetVersion() {c_version:?}"
        ));
    }
    let first_line = pyhost_version.lines().next().unwrap_or_default().to_owned();
    Ok(vec![
        ("python", first_line),
        (
            "python_built_against",
            ffi::build_info::PYTHON_VERSION.to_owned(),
        ),
        ("bindings", ffi::build_info::BINDINGS_ORIGIN.to_owned()),
        (
            "libpython",
            libs.first().cloned().unwrap_or_else(|| "(static)".into()),
        ),
        (
            "python_executable",
            env!("PYHOST_BENCH_PYTHON_EXECUTABLE").to_owned(),
        ),
    ])
}

fn main() -> ExitCode {
    // w10's worker processes are this binary started again.
    if let Err(e) = pyhost::process::serve_if_worker(|b| b) {
        eprintln!("pyhost-bench worker: {e}");
        return ExitCode::FAILURE;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pyhost-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    // With PYHOST_BENCH_TRACK_ALLOCATIONS=1 every row runs with allocation counters on:
    // compare with a run without it to see what they cost.
    let track = std::env::var_os("PYHOST_BENCH_TRACK_ALLOCATIONS").is_some_and(|v| v == "1");
    pyhost::Interpreter::builder()
        .track_allocations(track)
        .start()
        .map_err(|e| format!("starting Python: {e}"))?;
    // PyO3 finds the interpreter running and only records that.
    pyo3::Python::initialize();
    let mut meta = check_one_python()?;
    let shared = Shared::new().map_err(|e| format!("setting up the workloads: {e}"))?;
    let sizes = Sizes {
        contention_calls: if args.quick { 100_000 } else { 1_000_000 },
        tasks: 1_000,
    };

    if let Some((id, column, ops, callgrind)) = &args.count {
        return count(&shared, sizes, id, *column, *ops, *callgrind);
    }

    let plan = if args.quick {
        Plan {
            rounds: 9,
            batch: Duration::from_millis(10),
        }
    } else {
        Plan {
            rounds: 31,
            batch: Duration::from_millis(20),
        }
    };
    meta.push(("mode", if args.quick { "quick" } else { "full" }.into()));
    meta.push(("rounds", plan.rounds.to_string()));
    meta.push(("batch_ms", plan.batch.as_millis().to_string()));
    meta.push(("w7_calls_per_thread", sizes.contention_calls.to_string()));
    meta.push(("w8_tasks", sizes.tasks.to_string()));

    let mut outcomes = Vec::new();
    for id in IDS {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|x| x == id))
        {
            continue;
        }
        let mut w = workloads::build(id, &shared, sizes).expect("known id");
        eprint!("{id:<4} {:<62}", w.title);
        let started = std::time::Instant::now();
        let o = harness::run(&mut w, &plan);
        eprintln!(
            " {:>6.1}s  {}",
            started.elapsed().as_secs_f64(),
            Column::ALL
                .iter()
                .zip(o.values)
                .filter_map(|(c, v)| v.map(|v| format!("{}={v:.3}", c.key())))
                .collect::<Vec<_>>()
                .join(" ")
        );
        outcomes.push(o);
        drop(w);
    }
    let json = harness::report_json(&meta, &outcomes);
    match &args.out {
        Some(path) => std::fs::write(path, json).map_err(|e| format!("writing {path}: {e}"))?,
        None => print!("{json}"),
    }
    Ok(())
}

/// Counting mode: warms `column` of workload `id` up, then runs `ops` operations (under
/// callgrind: through the collected region) and exits.
fn count(
    shared: &Shared,
    sizes: Sizes,
    id: &str,
    column: Column,
    ops: u64,
    callgrind: bool,
) -> Result<(), String> {
    let mut w = workloads::build(id, shared, sizes).ok_or(format!("unknown workload `{id}`"))?;
    if callgrind && !w.callgrind {
        return Err(format!(
            "{id} is not counted under callgrind (it is multi-threaded)"
        ));
    }
    let body = w
        .columns
        .iter_mut()
        .find(|(c, _)| *c == column)
        .map(|(_, b)| b)
        .ok_or(format!("{id} has no {} column", column.key()))?;
    let warm = w.fixed_batch.unwrap_or(ops).min(ops).max(1);
    body(warm);
    if !callgrind {
        body(ops);
        println!("{id} {} {ops} {}", column.key(), w.per_op);
        return Ok(());
    }
    workloads::COUNTING.store(true, Ordering::SeqCst);
    body(ops);
    workloads::COUNTING.store(false, Ordering::SeqCst);
    let counted = harness::COUNTED_BATCHES.load(Ordering::SeqCst);
    if counted != 1 {
        return Err(format!("expected 1 counted batch, ran {counted}"));
    }
    println!("{id} {} {ops} {}", column.key(), w.per_op);
    Ok(())
}
