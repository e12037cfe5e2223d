//! Aggregation like the Datadog Agent's check sampler (issue 17, item 6): series with the
//! configured hostname and a timestamp; histograms as aggregates and percentiles; a rate
//! from two runs; monotonic counts as increases, the first value dropped.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{agent, exit_within, output, scratch, setup, signal, start};
use serde_json::Value;

const COUNTER: &str = r#"
from datadog_checks.base import AgentCheck

TOTAL = [0]

class CounterCheck(AgentCheck):
    def check(self, instance):
        TOTAL[0] += 10
        self.gauge("demo.level", 7, tags=["b:2", "a:1"])
        self.gauge("demo.level", 8, tags=["a:1", "b:2"])
        for v in (1, 2, 3, 4, 100):
            self.histogram("demo.latency", v)
        self.monotonic_count("demo.requests", TOTAL[0])
        self.rate("demo.bytes", TOTAL[0] * 100)
        self.count("demo.errors", 2)
        self.count("demo.errors", 3)
        self.gauge("demo.remote", 1, hostname="db-1")
"#;

fn series<'a>(run: &'a Value, name: &str) -> Option<&'a Value> {
    run["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|s| s["metric"] == name)
}

fn value(run: &Value, name: &str) -> f64 {
    series(run, name).unwrap_or_else(|| panic!("no {name} in {}", run["series"]))["points"][0][1]
        .as_f64()
        .unwrap()
}

#[test]
fn once_prints_aggregated_series_with_hostname_and_timestamp() {
    let dir = scratch("aggregation-once");
    setup(
        &dir,
        "counter",
        COUNTER,
        "init_config:\ninstances:\n  - {}\n",
        "",
    );
    let out = agent(&dir, &["--config", "agent.yaml", "--once", "--json"]);
    assert!(out.status.success(), "{}", out.stderr);
    let run = &out.runs_of("counter")[0];
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let level = series(run, "demo.level").expect("demo.level");
    // One context for both samples (tags in any order), its last value.
    assert_eq!(level["points"][0][1], 8.0, "{level}");
    assert_eq!(
        level["host"], "test-host",
        "the configured hostname: {level}"
    );
    assert_eq!(level["tags"], serde_json::json!(["a:1", "b:2"]));
    let at = level["points"][0][0].as_f64().unwrap();
    assert!((now - at).abs() < 60.0, "timestamp {at}, now {now}");
    assert_eq!(series(run, "demo.remote").unwrap()["host"], "db-1");
    // Histogram: aggregates and the 95th percentile.
    assert_eq!(value(run, "demo.latency.avg"), 22.0);
    assert_eq!(value(run, "demo.latency.median"), 3.0);
    assert_eq!(value(run, "demo.latency.max"), 100.0);
    assert_eq!(value(run, "demo.latency.count"), 5.0);
    assert_eq!(value(run, "demo.latency.95percentile"), 100.0);
    assert!(series(run, "demo.latency").is_none());
    assert_eq!(value(run, "demo.errors"), 5.0);
    // First run: no rate yet, and the monotonic count's first value is dropped.
    assert!(series(run, "demo.bytes").is_none(), "{}", run["series"]);
    assert!(series(run, "demo.requests").is_none(), "{}", run["series"]);
}

#[test]
fn rates_and_monotonic_counts_come_from_consecutive_runs() {
    let dir = scratch("aggregation-runs");
    setup(
        &dir,
        "counter",
        COUNTER,
        "init_config:\ninstances:\n  - min_collection_interval: 0.5\n",
        "histogram_aggregates: [max, min]\nhistogram_percentiles: [0.5]\n",
    );
    let mut agent = start(&dir);
    std::thread::sleep(Duration::from_millis(1800));
    signal(&agent.0, libc::SIGTERM);
    exit_within(&mut agent.0, Duration::from_secs(20)).expect("the agent did not stop");
    let (stdout, stderr) = output(&mut agent);
    let runs: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r.get("check_id").is_some())
        .collect();
    assert!(runs.len() >= 3, "{stdout}\n{stderr}");
    let second = &runs[1];
    // +10 a run.
    assert_eq!(value(second, "demo.requests"), 10.0);
    // +1000 bytes over about 0.5 s.
    let rate = value(second, "demo.bytes");
    assert!((1000.0..2500.0).contains(&rate), "{rate}");
    // The configured aggregates and percentiles.
    assert_eq!(value(second, "demo.latency.min"), 1.0);
    assert_eq!(value(second, "demo.latency.50percentile"), 3.0);
    assert!(series(second, "demo.latency.avg").is_none());
}

#[test]
fn bad_histogram_settings_are_clear_errors() {
    let dir = scratch("aggregation-bad");
    setup(
        &dir,
        "counter",
        COUNTER,
        "init_config:\ninstances:\n  - {}\n",
        "histogram_percentiles: [95]\n",
    );
    let out = agent(&dir, &["--config", "agent.yaml", "--once"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("histogram_percentiles") && out.stderr.contains("0.95"),
        "{}",
        out.stderr
    );
}
