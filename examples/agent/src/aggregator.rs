//! What checks submit, collected per check instance (keyed by check id) until its run ends.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The metric types of the Datadog Agent, with its numbering (`aggregator.GAUGE` = 0 …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetricType {
    /// 0
    Gauge,
    /// 1
    Rate,
    /// 2
    Count,
    /// 3
    MonotonicCount,
    /// 4
    Counter,
    /// 5
    Histogram,
    /// 6
    Historate,
}

impl MetricType {
    /// All of them, in numbering order.
    pub const ALL: [MetricType; 7] = [
        MetricType::Gauge,
        MetricType::Rate,
        MetricType::Count,
        MetricType::MonotonicCount,
        MetricType::Counter,
        MetricType::Histogram,
        MetricType::Historate,
    ];

    /// From the Datadog numbering.
    pub fn from_code(code: i64) -> Option<MetricType> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The name used in the Python constants and in output.
    pub fn name(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Rate => "rate",
            MetricType::Count => "count",
            MetricType::MonotonicCount => "monotonic_count",
            MetricType::Counter => "counter",
            MetricType::Histogram => "histogram",
            MetricType::Historate => "historate",
        }
    }
}

/// A metric sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Its type.
    pub kind: MetricType,
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its tags.
    pub tags: Vec<String>,
    /// The host it is about (`""`: the agent's host).
    pub hostname: String,
    /// For monotonic counts: report the first value too.
    pub flush_first_value: bool,
}

/// A service check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceCheck {
    /// Its name.
    pub name: String,
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub status: i64,
    /// Its tags.
    pub tags: Vec<String>,
    /// The host it is about.
    pub hostname: String,
    /// A message.
    pub message: String,
}

/// An event (the fields `aggregator.submit_event` reads).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Event {
    /// `msg_title`.
    pub title: String,
    /// `msg_text`.
    pub text: String,
    /// `timestamp` (0: now).
    pub timestamp: i64,
    /// `priority`.
    pub priority: String,
    /// `host`.
    pub host: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `alert_type`.
    pub alert_type: String,
    /// `aggregation_key`.
    pub aggregation_key: String,
    /// `source_type_name`.
    pub source_type_name: String,
    /// `event_type`.
    pub event_type: String,
}

/// A histogram bucket (`aggregator.submit_histogram_bucket`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramBucket {
    /// Its name.
    pub name: String,
    /// The count in the bucket.
    pub value: i64,
    /// Lower bound.
    pub lower_bound: f32,
    /// Upper bound.
    pub upper_bound: f32,
    /// Whether the count is monotonic.
    pub monotonic: bool,
    /// The host it is about.
    pub hostname: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Report the first value too.
    pub flush_first_value: bool,
}

/// A log line a check emitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// The level.
    pub level: log::Level,
    /// The message as formatted by the check's logging handler.
    pub message: String,
}

/// Everything one check instance submitted in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Metric samples.
    pub metrics: Vec<Metric>,
    /// Service checks.
    pub service_checks: Vec<ServiceCheck>,
    /// Events.
    pub events: Vec<Event>,
    /// Histogram buckets.
    pub buckets: Vec<HistogramBucket>,
    /// Log lines.
    pub logs: Vec<LogLine>,
    /// Lines sent to the logs pipeline (`datadog_agent.send_log`).
    pub sent_logs: Vec<String>,
    /// Event-platform events (`aggregator.submit_event_platform_event`): type, raw payload.
    pub platform_events: Vec<(String, String)>,
    /// Check metadata (`set_check_metadata`).
    pub metadata: Vec<(String, String)>,
    /// External host tags (`set_external_tags`): hostname, source type, tags.
    pub external_tags: Vec<(String, String, Vec<String>)>,
}

impl Batch {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "metrics": self.metrics.iter().map(|m| json!({
                "name": m.name, "type": m.kind.name(), "value": m.value,
                "tags": m.tags, "hostname": m.hostname, "flush_first_value": m.flush_first_value,
            })).collect::<Vec<_>>(),
            "service_checks": self.service_checks.iter().map(|s| json!({
                "name": s.name, "status": s.status, "tags": s.tags, "hostname": s.hostname, "message": s.message,
            })).collect::<Vec<_>>(),
            "events": self.events.iter().map(|e| json!({
                "title": e.title, "text": e.text, "timestamp": e.timestamp, "priority": e.priority,
                "host": e.host, "tags": e.tags, "alert_type": e.alert_type,
                "aggregation_key": e.aggregation_key, "source_type_name": e.source_type_name,
                "event_type": e.event_type,
            })).collect::<Vec<_>>(),
            "histogram_buckets": self.buckets.iter().map(|b| json!({
                "name": b.name, "value": b.value, "lower_bound": b.lower_bound, "upper_bound": b.upper_bound,
                "monotonic": b.monotonic, "hostname": b.hostname, "tags": b.tags,
                "flush_first_value": b.flush_first_value,
            })).collect::<Vec<_>>(),
            "logs": self.logs.iter().map(|l| json!({"level": l.level.as_str(), "message": l.message})).collect::<Vec<_>>(),
            "sent_logs": self.sent_logs,
            "platform_events": self.platform_events.iter().map(|(t, raw)| json!({"event_type": t, "raw": raw})).collect::<Vec<_>>(),
            "metadata": self.metadata.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "external_tags": self.external_tags.iter().map(|(h, s, t)| json!({"hostname": h, "source_type": s, "tags": t})).collect::<Vec<_>>(),
        })
    }
}

/// Collects submissions from every check, keyed by check id.
#[derive(Default)]
pub struct Aggregator {
    batches: Mutex<HashMap<String, Batch>>,
    /// In a worker process: where each submission goes instead (to the agent).
    forward: Option<Forward>,
}

/// Hands one submission (a batch of one item) of a check id over.
type Forward = Box<dyn Fn(&str, &Batch) + Send + Sync>;

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("batches", &self.batches)
            .field("forwarding", &self.forward.is_some())
            .finish()
    }
}

impl Aggregator {
    /// An aggregator that keeps nothing and hands each submission to `forward` (in a worker
    /// process, to the agent).
    pub fn forwarding(forward: impl Fn(&str, &Batch) + Send + Sync + 'static) -> Aggregator {
        Aggregator {
            batches: Mutex::default(),
            forward: Some(Box::new(forward)),
        }
    }

    /// Adds to the batch of `check_id`.
    pub fn with_batch(&self, check_id: &str, f: impl FnOnce(&mut Batch)) {
        if let Some(forward) = &self.forward {
            let mut one = Batch::default();
            f(&mut one);
            forward(check_id, &one);
            return;
        }
        let mut b = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        f(b.entry(check_id.to_owned()).or_default());
    }

    /// Adds what a worker process forwarded to the batch of `check_id`.
    pub fn merge(&self, check_id: &str, mut from: Batch) {
        self.with_batch(check_id, |b| {
            b.metrics.append(&mut from.metrics);
            b.service_checks.append(&mut from.service_checks);
            b.events.append(&mut from.events);
            b.buckets.append(&mut from.buckets);
            b.logs.append(&mut from.logs);
            b.sent_logs.append(&mut from.sent_logs);
            b.platform_events.append(&mut from.platform_events);
            b.metadata.append(&mut from.metadata);
            b.external_tags.append(&mut from.external_tags);
        });
    }

    /// Takes what `check_id` submitted since the last take.
    pub fn take(&self, check_id: &str) -> Batch {
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(check_id)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_kept_per_check_id_and_taken_once() {
        let agg = Aggregator::default();
        agg.with_batch("a:1", |b| {
            b.metrics.push(Metric {
                kind: MetricType::Gauge,
                name: "x".into(),
                value: 1.0,
                tags: vec![],
                hostname: String::new(),
                flush_first_value: false,
            })
        });
        agg.with_batch("b:2", |b| {
            b.logs.push(LogLine {
                level: log::Level::Info,
                message: "hi".into(),
            })
        });
        assert_eq!(agg.take("a:1").metrics.len(), 1);
        assert!(agg.take("a:1").metrics.is_empty());
        assert_eq!(agg.take("b:2").logs.len(), 1);
        assert_eq!(MetricType::from_code(3), Some(MetricType::MonotonicCount));
    }

    #[test]
    fn a_forwarding_aggregator_hands_each_submission_over_and_merge_adds_it() {
        let home = std::sync::Arc::new(Aggregator::default());
        let to = home.clone();
        let worker = Aggregator::forwarding(move |id, batch| {
            // As over the channel: serialized and read back.
            let wire = serde_json::to_vec(batch).unwrap();
            to.merge(id, serde_json::from_slice(&wire).unwrap());
        });
        for value in [1.0, 2.0] {
            worker.with_batch("a:1", |b| {
                b.metrics.push(Metric {
                    kind: MetricType::Rate,
                    name: "x".into(),
                    value,
                    tags: vec!["t:1".into()],
                    hostname: String::new(),
                    flush_first_value: false,
                })
            });
        }
        assert!(
            worker.take("a:1").metrics.is_empty(),
            "a worker keeps nothing"
        );
        let got = home.take("a:1");
        assert_eq!(got.metrics.len(), 2);
        assert_eq!(got.metrics[1].value, 2.0);
        assert_eq!(got.metrics[1].kind, MetricType::Rate);
        assert_eq!(MetricType::from_code(7), None);
    }
}
