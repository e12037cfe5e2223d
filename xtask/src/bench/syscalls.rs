//! Futex calls and context switches per operation of the multi-threaded pool rows, counted
//! by `perf stat` (the kernel's tracepoints: stable where times are not).

use std::path::Path;
use std::process::{Command, Stdio};

use super::{COLUMNS, Row, per_op, read, target_dir};

/// Rows counted, with the batch each run measures (the difference between a run of
/// `3 * ops` and one of `ops` leaves out start-up and warm-up).
const COUNTED: [(&str, u64); 5] = [
    ("w8", 20),
    ("w8b", 4),
    ("w8c", 4),
    ("w8d", 4096),
    ("w8f", 4096),
];

/// The events, as `perf stat -e` names them, and the unit of their rows.
const EVENTS: [(&str, &str); 2] = [
    ("syscalls:sys_enter_futex", "futex calls"),
    ("context-switches", "context switches"),
];

/// Per operation of each counted row and column: one row per event.
pub(super) fn syscalls(bin: &Path, rows: &[Row]) -> Result<Vec<Row>, String> {
    let events = EVENTS.map(|(e, _)| e).join(",");
    let probe = Command::new("perf")
        .args(["stat", "-x,", "-e", &events, "--", "true"])
        .stdout(Stdio::null())
        .output();
    match probe {
        Err(_) => {
            return Err(
                "--syscalls needs perf, which is not installed. Install it with \
                        `apt-get install -y linux-perf` (Debian) or `linux-tools-generic` \
                        (Ubuntu), then rerun."
                    .to_owned(),
            );
        }
        Ok(o) if !o.status.success() || parse(&String::from_utf8_lossy(&o.stderr)).is_none() => {
            return Err(format!(
                "--syscalls: `perf stat -e {events}` does not work here (it needs root or \
                 kernel.perf_event_paranoid <= -1, and tracefs): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(_) => {}
    }
    let dir = target_dir().join("bench-release").join("perf");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut out: Vec<Row> = Vec::new();
    for row in rows {
        let Some(&(_, ops)) = COUNTED.iter().find(|(id, _)| *id == row.id) else {
            continue;
        };
        let mut values = [[None; 4]; EVENTS.len()];
        for (i, column) in COLUMNS.iter().enumerate() {
            if row.values[i].is_none() {
                continue;
            }
            eprintln!("bench: perf stat {} {column}", row.id);
            let (small, per_op) = counted_run(bin, &dir, &row.id, column, ops)?;
            let (large, _) = counted_run(bin, &dir, &row.id, column, 3 * ops)?;
            for (e, v) in values.iter_mut().enumerate() {
                let diff = large[e].saturating_sub(small[e]) as f64;
                v[i] = Some(diff / (2 * ops * per_op) as f64);
            }
        }
        let per = row.unit.split_once('/').map_or("op", |(_, p)| p);
        for (e, (_, unit)) in EVENTS.iter().enumerate() {
            out.push(Row {
                id: row.id.clone(),
                title: row.title.clone(),
                unit: format!("{unit}/{per}"),
                values: values[e],
            });
        }
    }
    Ok(out)
}

/// One run of `ops` operations of a column under `perf stat`: the event counts and the
/// operations per batch operation.
fn counted_run(
    bin: &Path,
    dir: &Path,
    id: &str,
    column: &str,
    ops: u64,
) -> Result<(Vec<u64>, u64), String> {
    let file = dir.join(format!("perf.{id}.{column}.{ops}"));
    let events = EVENTS.map(|(e, _)| e).join(",");
    let o = Command::new("perf")
        .args(["stat", "-x,", "-e", &events, "-o"])
        .arg(&file)
        .arg("--")
        .arg(bin)
        .args(["--run", id, column, &ops.to_string()])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("running perf: {e}"))?;
    if !o.status.success() {
        return Err(format!("perf run of {id} {column} failed ({})", o.status));
    }
    let text = read(&file)?;
    let counts = parse(&text).ok_or(format!("no event counts in {}", file.display()))?;
    Ok((counts, per_op(&o.stdout)))
}

/// The counts of [`EVENTS`] in `perf stat -x,` output, in order (`None` when one is missing
/// or not counted).
pub fn parse(text: &str) -> Option<Vec<u64>> {
    EVENTS
        .iter()
        .map(|(event, _)| {
            text.lines().find_map(|l| {
                let mut fields = l.split(',');
                let value = fields.next()?;
                let name = fields.nth(1)?;
                (name == *event).then(|| value.parse().ok()).flatten()
            })
        })
        .collect()
}
