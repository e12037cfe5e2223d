//! Instruction counts under callgrind.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{COLUMNS, Row, per_op, read, target_dir};

// ---------------------------------------------------------------------------------------------
// callgrind

/// Operations counted per workload under callgrind (the single-threaded ones).
const COUNTED: [(&str, u64); 9] = [
    ("w1", 20_000),
    ("w2", 20_000),
    ("w3", 20_000),
    ("w4", 20_000),
    ("w5", 20_000),
    ("w5b", 20_000),
    ("w6a", 2),
    ("w6b", 2),
    ("w6c", 200),
];

/// Instructions per operation for every column of the single-threaded workloads: one
/// valgrind run per (workload, column), collecting only inside `pyhost_bench_measured` after
/// a warm-up, total divided by the operations.
pub(super) fn callgrind(bin: &Path, rows: &[Row]) -> Result<Vec<Row>, String> {
    if Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return Err(
            "--callgrind needs valgrind, which is not installed. Install it with \
                    `apt-get install -y valgrind` (Debian/Ubuntu) or `dnf install valgrind`, \
                    then rerun."
                .to_owned(),
        );
    }
    let dir = out_dir()?;
    each_cell(rows, &COUNTED, "", |row, column, ops| {
        eprintln!("bench: callgrind {} {column} ({ops} ops)", row.id);
        let file = dir.join(format!("callgrind.{}.{column}", row.id));
        let (total, per_op) = valgrind_run(bin, &file, &row.id, column, ops, true)?;
        Ok(total as f64 / (ops * per_op) as f64)
    })
}

/// Where the callgrind output files go.
fn out_dir() -> Result<std::path::PathBuf, String> {
    let dir = target_dir().join("bench-release").join("callgrind");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A row of instruction counts (unit `instructions/<per>` and `suffix`) for each row in
/// `counted`, with `count(row, column, ops)` in each of its measured columns.
fn each_cell(
    rows: &[Row],
    counted: &[(&str, u64)],
    suffix: &str,
    mut count: impl FnMut(&Row, &str, u64) -> Result<f64, String>,
) -> Result<Vec<Row>, String> {
    let mut out = Vec::new();
    for row in rows {
        let Some(&(_, ops)) = counted.iter().find(|(id, _)| *id == row.id) else {
            continue;
        };
        let mut values = [None; 4];
        for (i, column) in COLUMNS.iter().enumerate() {
            if row.values[i].is_some() {
                values[i] = Some(count(row, column, ops)?);
            }
        }
        let per = row.unit.split_once('/').map_or("op", |(_, p)| p);
        out.push(Row {
            id: row.id.clone(),
            title: row.title.clone(),
            unit: format!("instructions/{per}{suffix}"),
            values,
        });
    }
    Ok(out)
}

/// Pool rows counted over the whole process (every thread), with the batch each run measures:
/// the difference between a run of `3 * ops` and one of `ops` leaves out start-up and warm-up.
/// Left out: w8c, whose tasks spin for a time, which valgrind stretches; and the latency rows,
/// where one call at a time makes a worker sleep and wake or not depending on how valgrind
/// schedules its threads (their counts moved by 30% from run to run, these by 1%).
const POOLS_COUNTED: [(&str, u64); 2] = [("w8", 20), ("w8b", 4)];

/// Instructions per operation of the multi-threaded pool rows, counted in every thread (the
/// submitting tokio tasks, the pool's threads, the wake-ups): one run of `3 * ops` and one of
/// `ops` per (workload, column) under callgrind, whose difference is divided by `2 * ops`.
/// Valgrind runs one thread at a time, so this is the work a task costs, not how it overlaps.
pub(super) fn pool_callgrind(bin: &Path, rows: &[Row]) -> Result<Vec<Row>, String> {
    let dir = out_dir()?;
    each_cell(rows, &POOLS_COUNTED, ", all threads", |row, column, ops| {
        eprintln!("bench: callgrind, every thread, {} {column}", row.id);
        let run = |n: u64| {
            let file = dir.join(format!("callgrind.{}.{column}.{n}", row.id));
            valgrind_run(bin, &file, &row.id, column, n, false)
        };
        let (small, per_op) = run(ops)?;
        let (large, _) = run(3 * ops)?;
        Ok(large.saturating_sub(small) as f64 / (2 * ops * per_op) as f64)
    })
}

/// One valgrind run of `ops` operations of a column: its instruction total and the
/// operations per batch operation. `measured_only` counts inside `pyhost_bench_measured` on
/// the measuring thread (`--count`); otherwise everything, in every thread (`--run`).
fn valgrind_run(
    bin: &Path,
    file: &Path,
    id: &str,
    column: &str,
    ops: u64,
    measured_only: bool,
) -> Result<(u64, u64), String> {
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind");
    if measured_only {
        cmd.args([
            "--collect-atstart=no",
            "--toggle-collect=pyhost_bench_measured",
        ]);
    }
    let o = cmd
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(bin)
        .args([
            if measured_only { "--count" } else { "--run" },
            id,
            column,
            &ops.to_string(),
        ])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("running valgrind: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "callgrind run of {id} {column} failed ({})",
            o.status
        ));
    }
    let text = read(file)?;
    let total = callgrind_total(&text).ok_or(format!("no totals line in {}", file.display()))?;
    Ok((total, per_op(&o.stdout)))
}

/// The instruction total of a callgrind output file (`totals:` or `summary:` line).
pub fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
