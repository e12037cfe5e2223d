//! Checks written in Rust: available in every build, with or without Python.

use serde_json::Value;

use crate::aggregator::{Batch, Metric, MetricType, ServiceCheck};
use crate::report::{CheckError, ErrorKind};

/// A check implemented in Rust.
pub trait NativeCheck: Send + Sync {
    /// Runs once for `instance`, adding what it measures to `batch`.
    ///
    /// # Errors
    /// Why the run failed.
    fn run(&self, instance: &Value, hostname: &str, batch: &mut Batch) -> Result<(), CheckError>;
}

/// The native check named `name`, if there is one.
pub fn find(name: &str) -> Option<Box<dyn NativeCheck>> {
    match name {
        "uptime" => Some(Box::new(Uptime)),
        "load" => Some(Box::new(Load)),
        _ => None,
    }
}

fn gauge(name: &str, value: f64, instance: &Value, hostname: &str) -> Metric {
    Metric {
        kind: MetricType::Gauge,
        name: name.to_owned(),
        value,
        tags: instance_tags(instance),
        hostname: hostname.to_owned(),
        flush_first_value: false,
    }
}

fn instance_tags(instance: &Value) -> Vec<String> {
    instance
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn read(path: &str) -> Result<String, CheckError> {
    std::fs::read_to_string(path)
        .map_err(|e| CheckError::new(ErrorKind::Exception, format!("cannot read {path}: {e}")))
}

/// `system.uptime` from `/proc/uptime`.
struct Uptime;

impl NativeCheck for Uptime {
    fn run(&self, instance: &Value, hostname: &str, batch: &mut Batch) -> Result<(), CheckError> {
        let text = read("/proc/uptime")?;
        let secs: f64 = text
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                CheckError::new(
                    ErrorKind::Exception,
                    format!("unexpected /proc/uptime: {text:?}"),
                )
            })?;
        batch
            .metrics
            .push(gauge("system.uptime", secs, instance, hostname));
        Ok(())
    }
}

/// `system.load.{1,5,15}` from `/proc/loadavg`, and a service check.
struct Load;

impl NativeCheck for Load {
    fn run(&self, instance: &Value, hostname: &str, batch: &mut Batch) -> Result<(), CheckError> {
        let text = read("/proc/loadavg")?;
        let fields: Vec<f64> = text
            .split_whitespace()
            .take(3)
            .filter_map(|s| s.parse().ok())
            .collect();
        let [one, five, fifteen] = fields[..] else {
            return Err(CheckError::new(
                ErrorKind::Exception,
                format!("unexpected /proc/loadavg: {text:?}"),
            ));
        };
        for (name, v) in [
            ("system.load.1", one),
            ("system.load.5", five),
            ("system.load.15", fifteen),
        ] {
            batch.metrics.push(gauge(name, v, instance, hostname));
        }
        batch.service_checks.push(ServiceCheck {
            name: "system.load.can_read".into(),
            status: 0,
            tags: instance_tags(instance),
            hostname: hostname.to_owned(),
            message: String::new(),
        });
        Ok(())
    }
}
