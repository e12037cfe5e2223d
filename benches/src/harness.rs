//! The measuring loop, free of Python: columns, interleaved rounds, medians, and the JSON the
//! binary prints for `cargo xtask bench`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The four columns of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The plain C-API way of doing the same thing.
    Raw,
    /// The best the C API allows, where it differs from the plain way.
    Limit,
    /// pyhost.
    Pyhost,
    /// PyO3.
    Pyo3,
}

impl Column {
    /// Every column, in table order.
    pub const ALL: [Column; 4] = [Column::Raw, Column::Limit, Column::Pyhost, Column::Pyo3];

    /// The JSON key and command-line name.
    pub fn key(self) -> &'static str {
        match self {
            Column::Raw => "raw",
            Column::Limit => "limit",
            Column::Pyhost => "pyhost",
            Column::Pyo3 => "pyo3",
        }
    }

    /// The column named `key`.
    pub fn from_key(key: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// Runs a batch of `n` operations and returns how long the operations took (each
/// implementation times itself, so work handed to another thread is timed there).
pub type Body = Box<dyn FnMut(u64) -> Duration>;

/// One workload (or sub-case): its implementations, one per column that applies.
pub struct Workload {
    /// `w1` … `w9`, with a letter for sub-cases.
    pub id: &'static str,
    /// What one operation is, for the table.
    pub title: &'static str,
    /// The unit results are reported in (`ns/call`, `ms/round-trip`, …).
    pub unit: &'static str,
    /// Nanoseconds per reported unit (1 for ns, 1e3 for µs, 1e6 for ms).
    pub scale: f64,
    /// Reported operations per batch operation (w7 runs 2,000,000 calls per operation and
    /// reports per call).
    pub per_op: u64,
    /// A fixed batch size (for operations that are long already); `None` calibrates.
    pub fixed_batch: Option<u64>,
    /// Rounds for this workload when it is too long for the plan's count (w7).
    pub rounds: Option<usize>,
    /// Whether to run one warm-up batch per column first (off where a batch is already long
    /// and starts from fresh threads).
    pub warmup: bool,
    /// Whether the workload is meaningful under callgrind (single-threaded instruction counts).
    pub callgrind: bool,
    /// The implementations.
    pub columns: Vec<(Column, Body)>,
}

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Rounds per workload; each round runs every column once (A B C A B C …).
    pub rounds: usize,
    /// Target duration of one batch when calibrating.
    pub batch: Duration,
}

/// The medians of one workload, in its unit; `None` where a column does not apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The workload id.
    pub id: String,
    /// What one operation is.
    pub title: String,
    /// The unit.
    pub unit: String,
    /// One value per [`Column::ALL`] entry.
    pub values: [Option<f64>; 4],
}

/// The median of `xs` (mean of the two middle values for an even count); `None` when empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// The batch size whose run takes at least `target` (doubling from 1), measured on `body`.
pub fn calibrate(body: &mut Body, target: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let took = body(n);
        if took >= target || n >= 1 << 30 {
            // Scale to the target from the last measurement, so the batch is not up to 2×.
            let per = took.as_secs_f64() / n as f64;
            if per <= 0.0 {
                return n;
            }
            return ((target.as_secs_f64() / per).round() as u64).max(1);
        }
        n *= 2;
    }
}

/// Measures `w`: one warm-up batch per column, then `plan.rounds` rounds, each running every
/// column once in turn, so noise reaches every column alike. Returns medians in `w.unit`.
pub fn run(w: &mut Workload, plan: &Plan) -> Outcome {
    let n = match w.fixed_batch {
        Some(n) => n,
        None => {
            // Calibrate on the slowest column, so no batch is shorter than the target.
            let mut n = 1;
            for (_, body) in &mut w.columns {
                n = n.max(calibrate(body, plan.batch));
            }
            n
        }
    };
    if w.warmup {
        for (_, body) in &mut w.columns {
            body(n);
        }
    }
    let rounds = w.rounds.unwrap_or(plan.rounds);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); w.columns.len()];
    for round in 0..rounds {
        // Rotate the starting column each round: A B C, B C A, … so that no column always
        // follows the same one.
        let k = w.columns.len();
        for j in 0..k {
            let i = (round + j) % k;
            let took = (w.columns[i].1)(n);
            samples[i].push(took.as_nanos() as f64 / (n * w.per_op) as f64 / w.scale);
        }
    }
    let mut values = [None; 4];
    for ((column, _), s) in w.columns.iter().zip(&samples) {
        let slot = Column::ALL.iter().position(|c| c == column).unwrap_or(0);
        values[slot] = median(s);
    }
    Outcome {
        id: w.id.to_owned(),
        title: w.title.to_owned(),
        unit: w.unit.to_owned(),
        values,
    }
}

/// Times `f`.
#[inline(always)]
pub fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// The region callgrind counts (`--toggle-collect=pyhost_bench_measured`): every batch runs
/// through here, on the thread that does the work, so instruction counts cover the operations
/// and nothing of the set-up.
///
/// It also counts the batches it ran: besides being useful to check, the side effect keeps
/// the optimizer from merging it with the identical uncounted path (which would make
/// callgrind count warm-up batches too).
#[inline(never)]
#[unsafe(no_mangle)]
pub fn pyhost_bench_measured(n: u64, op: &mut dyn FnMut(u64)) -> Duration {
    COUNTED_BATCHES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    timed(|| op(n))
}

/// Batches run through [`pyhost_bench_measured`].
pub static COUNTED_BATCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number (four significant decimals are plenty), or `null`.
pub fn json_number(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let s = format!("{x:.4}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s.is_empty() || s == "-" {
                "0".to_owned()
            } else {
                s.to_owned()
            }
        }
        _ => "null".to_owned(),
    }
}

/// `{"workload": …, "title": …, "unit": …, "raw": …, "limit": …, "pyhost": …, "pyo3": …}`.
pub fn outcome_json(o: &Outcome) -> String {
    let mut s = format!(
        "{{\"workload\": {}, \"title\": {}, \"unit\": {}",
        json_string(&o.id),
        json_string(&o.title),
        json_string(&o.unit)
    );
    for (c, v) in Column::ALL.iter().zip(o.values) {
        let _ = write!(s, ", \"{}\": {}", c.key(), json_number(v));
    }
    s.push('}');
    s
}

/// The binary's output: `{"meta": {…}, "results": [ … ]}`.
pub fn report_json(meta: &[(&str, String)], outcomes: &[Outcome]) -> String {
    let mut s = String::from("{\n  \"meta\": {");
    for (i, (k, v)) in meta.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(s, "{sep}\n    {}: {}", json_string(k), json_string(v));
    }
    s.push_str("\n  },\n  \"results\": [");
    for (i, o) in outcomes.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(s, "{sep}\n    {}", outcome_json(o));
    }
    s.push_str("\n  ]\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        // One outlier does not move it.
        assert_eq!(median(&[10.0, 11.0, 10.5, 1000.0, 10.2]), Some(10.5));
    }

    #[test]
    fn json_values() {
        assert_eq!(json_number(Some(12.5)), "12.5");
        assert_eq!(json_number(Some(3.0)), "3");
        assert_eq!(json_number(Some(0.000_01)), "0");
        assert_eq!(json_number(Some(1.234_567)), "1.2346");
        assert_eq!(json_number(None), "null");
        assert_eq!(json_number(Some(f64::NAN)), "null");
        assert_eq!(json_string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
        let o = Outcome {
            id: "w5".into(),
            title: "GIL".into(),
            unit: "ns/acquire".into(),
            values: [Some(120.0), Some(40.25), Some(45.0), None],
        };
        assert_eq!(
            outcome_json(&o),
            r#"{"workload": "w5", "title": "GIL", "unit": "ns/acquire", "raw": 120, "limit": 40.25, "pyhost": 45, "pyo3": null}"#
        );
        let report = report_json(&[("python", "3.11.2".into())], &[o]);
        assert!(report.starts_with("{\n  \"meta\": {\n    \"python\": \"3.11.2\"\n  },"));
        assert!(report.contains("\"results\": [\n    {\"workload\": \"w5\""));
    }

    #[test]
    fn interleaved_rounds_and_medians() {
        use std::cell::RefCell;
        use std::rc::Rc;
        let order = Rc::new(RefCell::new(Vec::new()));
        let body = |col: Column, ns_per_op: u64, order: Rc<RefCell<Vec<Column>>>| -> Body {
            Box::new(move |n| {
                order.borrow_mut().push(col);
                Duration::from_nanos(ns_per_op * n)
            })
        };
        let mut w = Workload {
            id: "t",
            title: "test",
            unit: "ns/op",
            scale: 1.0,
            per_op: 2,
            fixed_batch: Some(10),
            rounds: None,
            warmup: true,
            callgrind: false,
            columns: vec![
                (Column::Raw, body(Column::Raw, 100, order.clone())),
                (Column::Pyo3, body(Column::Pyo3, 300, order.clone())),
            ],
        };
        let o = run(
            &mut w,
            &Plan {
                rounds: 3,
                batch: Duration::from_millis(1),
            },
        );
        // Per reported op: batch time / (10 × 2).
        assert_eq!(o.values, [Some(50.0), None, None, Some(150.0)]);
        // Warm-up (raw, pyo3), then rounds rotating the first column.
        use Column::{Pyo3, Raw};
        assert_eq!(
            *order.borrow(),
            [Raw, Pyo3, Raw, Pyo3, Pyo3, Raw, Raw, Pyo3]
        );
    }

    #[test]
    fn calibration_reaches_the_target() {
        // 1 µs per op: a 1 ms target needs 1000 ops.
        let mut body: Body = Box::new(Duration::from_micros);
        assert_eq!(calibrate(&mut body, Duration::from_millis(1)), 1000);
        let mut slow: Body = Box::new(|n| Duration::from_millis(50 * n));
        assert_eq!(calibrate(&mut slow, Duration::from_millis(10)), 1);
    }
}
