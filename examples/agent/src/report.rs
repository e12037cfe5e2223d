//! The outcome of check runs, as a readable table or as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::aggregator::Batch;

/// Why a check run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The check raised (or returned an error from `run()`).
    Exception,
    /// The check ran past its timeout and was cancelled.
    Timeout,
    /// The check called `sys.exit`.
    SystemExit,
    /// The check could not be loaded (import error, no check class, bad config).
    Load,
    /// The check is a Python check and this agent was built without Python.
    Unavailable,
    /// Anything else (a stuck worker, the interpreter failing).
    Internal,
    /// The agent was stopping (SIGINT or SIGTERM) and cancelled the run.
    Cancelled,
    /// The worker process running the check died (`isolation: process`).
    Crashed,
}

impl ErrorKind {
    /// Its name in output.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Exception => "exception",
            ErrorKind::Timeout => "timeout",
            ErrorKind::SystemExit => "sys.exit",
            ErrorKind::Load => "load error",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Crashed => "crashed",
        }
    }

    /// The kind [`ErrorKind::name`] names.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        [
            ErrorKind::Exception,
            ErrorKind::Timeout,
            ErrorKind::SystemExit,
            ErrorKind::Load,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
            ErrorKind::Cancelled,
            ErrorKind::Crashed,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// A failed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    /// Why.
    pub kind: ErrorKind,
    /// A one-line message.
    pub message: String,
    /// The Python traceback, when there is one.
    pub traceback: Option<String>,
}

impl CheckError {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CheckError {
        CheckError {
            kind,
            message: message.into(),
            traceback: None,
        }
    }

    /// With a traceback.
    pub fn with_traceback(mut self, tb: impl Into<String>) -> CheckError {
        let tb = tb.into();
        if !tb.trim().is_empty() {
            self.traceback = Some(tb);
        }
        self
    }
}

/// One run of one check instance.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The check's name.
    pub check: String,
    /// Its check id.
    pub check_id: String,
    /// `native` or `python`.
    pub runtime: &'static str,
    /// For Python checks, the interpreter that ran it: `main` or `subinterpreter`.
    pub interpreter: Option<&'static str>,
    /// How long it took.
    pub duration: Duration,
    /// What it submitted.
    pub batch: Batch,
    /// Its metrics aggregated ([`crate::sampler`]).
    pub series: Vec<crate::sampler::Series>,
    /// Warnings it reported (`self.warning(...)`).
    pub warnings: Vec<String>,
    /// Its failure, if it failed.
    pub error: Option<CheckError>,
}

/// The name of the check metadata that carries a Python check's version (its module's
/// `__version__`, or `unversioned`).
pub const VERSION_METADATA: &str = "check_version";

impl RunReport {
    /// The check's version, for Python checks that loaded.
    pub fn version(&self) -> Option<&str> {
        self.batch
            .metadata
            .iter()
            .rev()
            .find(|(k, _)| k == VERSION_METADATA)
            .map(|(_, v)| v.as_str())
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        let mut v = self.batch.to_json();
        let obj = v.as_object_mut().expect("a batch is an object");
        obj.insert("check".into(), json!(self.check));
        obj.insert("check_id".into(), json!(self.check_id));
        obj.insert("runtime".into(), json!(self.runtime));
        obj.insert("interpreter".into(), json!(self.interpreter));
        obj.insert("version".into(), json!(self.version()));
        obj.insert(
            "duration_ms".into(),
            json!(self.duration.as_secs_f64() * 1000.0),
        );
        obj.insert(
            "series".into(),
            json!(self.series.iter().map(|p| p.to_json()).collect::<Vec<_>>()),
        );
        obj.insert("warnings".into(), json!(self.warnings));
        obj.insert(
            "error".into(),
            match &self.error {
                None => Value::Null,
                Some(e) => {
                    json!({"kind": e.kind.name(), "message": e.message, "traceback": e.traceback})
                }
            },
        );
        v
    }
}

/// Everything a run of the agent produced: the reports, plus configuration problems.
pub fn to_json(reports: &[RunReport], problems: &[(String, String)]) -> Value {
    json!({
        "checks": reports.iter().map(RunReport::to_json).collect::<Vec<_>>(),
        "config_errors": problems.iter().map(|(c, m)| json!({"check": c, "message": m})).collect::<Vec<_>>(),
    })
}

/// A readable table: metrics, service checks, events and errors, check by check.
pub fn to_table(reports: &[RunReport], problems: &[(String, String)]) -> String {
    let mut out = String::new();
    let ok = reports.iter().filter(|r| r.error.is_none()).count();
    let _ = writeln!(
        out,
        "{} check runs: {ok} ok, {} failed",
        reports.len(),
        reports.len() - ok
    );
    for r in reports {
        let status = match &r.error {
            None => "OK".to_owned(),
            Some(e) => format!("ERROR ({})", e.kind.name()),
        };
        let runtime = match r.interpreter {
            Some("process") => format!("{}, worker process", r.runtime),
            _ => r.runtime.to_owned(),
        };
        let _ = writeln!(
            out,
            "\n== {}{} [{}] {} — {} in {:.0} ms",
            r.check,
            r.version().map(|v| format!(" {v}")).unwrap_or_default(),
            runtime,
            r.check_id,
            status,
            r.duration.as_secs_f64() * 1000.0
        );
        if !r.series.is_empty() {
            let width = r
                .series
                .iter()
                .map(|m| m.name.len())
                .max()
                .unwrap_or(0)
                .max(6);
            let _ = writeln!(
                out,
                "  {:<width$}  {:<5}  {:>14}  {:<20}  {:<10}  tags",
                "series", "type", "value", "host", "timestamp"
            );
            for m in &r.series {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:<5}  {:>14}  {:<20}  {:<10.0}  {}",
                    m.name,
                    m.kind,
                    format_value(m.value),
                    m.host,
                    m.timestamp,
                    m.tags.join(",")
                );
            }
        }
        for b in &r.batch.buckets {
            let _ = writeln!(
                out,
                "  bucket {} [{}, {}) = {} {}",
                b.name,
                b.lower_bound,
                b.upper_bound,
                b.value,
                b.tags.join(",")
            );
        }
        for s in &r.batch.service_checks {
            let status = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
                .get(s.status as usize)
                .copied()
                .unwrap_or("?");
            let _ = writeln!(
                out,
                "  service check {} = {status} {} {}",
                s.name,
                s.tags.join(","),
                s.message
            );
        }
        for e in &r.batch.events {
            let _ = writeln!(out, "  event \"{}\" ({}) {}", e.title, e.alert_type, e.text);
        }
        for w in &r.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  error: {}", e.message);
            if let Some(tb) = &e.traceback {
                for line in tb.trim_end().lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    for (check, message) in problems {
        let _ = writeln!(out, "\n== {check} — configuration error: {message}");
    }
    out
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}
