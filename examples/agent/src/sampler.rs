//! Aggregation like the Datadog Agent's check sampler: what an instance submitted in a run
//! becomes series, one point per context (name, tags, host) and run.
//!
//! - gauge: the last value of the run;
//! - count: the sum of the run's values; counter: that sum per second of the interval;
//! - rate: the change per second between the last values of two consecutive runs (none on
//!   the first run, none when the value went down: a reset);
//! - monotonic_count: the increases between consecutive values (across runs), the first
//!   value ever dropped unless `flush_first_value`, a decrease (a reset) counted as 0;
//! - histogram: the run's values as `.avg`, `.median`, `.max`, `.count` and `.95percentile`
//!   (the aggregates and percentiles are settings);
//! - historate: the rates between consecutive values, as a histogram.
//!
//! Every series has a timestamp (the end of the run, Unix seconds), the host (the metric's
//! own, else the agent's configured or detected hostname) and the metric's tags.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::aggregator::{Metric, MetricType};

/// Which histogram aggregates and percentiles are reported.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSettings {
    /// Among `avg`, `median`, `max`, `min`, `count`, `sum`.
    pub aggregates: Vec<String>,
    /// Fractions, each reported as `.<p*100>percentile`.
    pub percentiles: Vec<f64>,
}

impl Default for HistogramSettings {
    fn default() -> HistogramSettings {
        // The Datadog Agent's `histogram_aggregates` and `histogram_percentiles`.
        HistogramSettings {
            aggregates: ["max", "median", "avg", "count"].map(String::from).to_vec(),
            percentiles: vec![0.95],
        }
    }
}

/// One point of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The name (with a histogram's suffix).
    pub name: String,
    /// `gauge`, `rate` or `count`: how the value is to be read.
    pub kind: &'static str,
    /// The value.
    pub value: f64,
    /// Unix seconds.
    pub timestamp: f64,
    /// The host it is about.
    pub host: String,
    /// Its tags.
    pub tags: Vec<String>,
}

impl Series {
    /// As JSON (`points` as Datadog's series API has them).
    pub fn to_json(&self) -> Value {
        json!({
            "metric": self.name, "type": self.kind, "points": [[self.timestamp, self.value]],
            "host": self.host, "tags": self.tags,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Context {
    name: String,
    kind: MetricType,
    tags: Vec<String>,
    host: String,
}

/// What a context keeps from one run to the next.
#[derive(Debug, Clone, Copy)]
struct Last {
    value: f64,
    at: f64,
}

/// The sampler of one check instance.
#[derive(Debug, Default)]
pub struct Sampler {
    last: HashMap<Context, Last>,
}

impl Sampler {
    /// The series of one run's samples, ended at `now` (Unix seconds), for an instance run
    /// every `interval` seconds on `hostname`.
    pub fn commit(
        &mut self,
        samples: &[Metric],
        now: f64,
        interval: f64,
        hostname: &str,
        histograms: &HistogramSettings,
    ) -> Vec<Series> {
        // The run's values per context, in submission order.
        let mut runs: Vec<(Context, Vec<&Metric>)> = Vec::new();
        let mut index: HashMap<Context, usize> = HashMap::new();
        for m in samples {
            let mut tags = m.tags.clone();
            tags.sort();
            tags.dedup();
            let ctx = Context {
                name: m.name.clone(),
                kind: m.kind,
                tags,
                host: if m.hostname.is_empty() {
                    hostname.to_owned()
                } else {
                    m.hostname.clone()
                },
            };
            let i = *index.entry(ctx.clone()).or_insert_with(|| {
                runs.push((ctx, Vec::new()));
                runs.len() - 1
            });
            runs[i].1.push(m);
        }
        let mut out = Vec::new();
        for (ctx, values) in runs {
            let point = |name: String, kind: &'static str, value: f64| Series {
                name,
                kind,
                value,
                timestamp: now,
                host: ctx.host.clone(),
                tags: ctx.tags.clone(),
            };
            let last_value = values.last().map_or(0.0, |m| m.value);
            match ctx.kind {
                MetricType::Gauge => out.push(point(ctx.name.clone(), "gauge", last_value)),
                MetricType::Count => {
                    let sum = values.iter().map(|m| m.value).sum();
                    out.push(point(ctx.name.clone(), "count", sum));
                }
                MetricType::Counter => {
                    let sum: f64 = values.iter().map(|m| m.value).sum();
                    out.push(point(ctx.name.clone(), "rate", sum / interval.max(1e-9)));
                }
                MetricType::Rate => {
                    let previous = self.last.insert(
                        ctx.clone(),
                        Last {
                            value: last_value,
                            at: now,
                        },
                    );
                    if let Some(p) = previous {
                        let (dv, dt) = (last_value - p.value, now - p.at);
                        if dt > 0.0 && dv >= 0.0 {
                            out.push(point(ctx.name.clone(), "gauge", dv / dt));
                        }
                    }
                }
                MetricType::MonotonicCount => {
                    let mut previous = self.last.get(&ctx).map(|l| l.value);
                    let mut total = 0.0;
                    let mut any = false;
                    for m in &values {
                        match previous {
                            Some(p) => {
                                total += (m.value - p).max(0.0);
                                any = true;
                            }
                            None if m.flush_first_value => {
                                total += m.value;
                                any = true;
                            }
                            None => {}
                        }
                        previous = Some(m.value);
                    }
                    self.last.insert(
                        ctx.clone(),
                        Last {
                            value: last_value,
                            at: now,
                        },
                    );
                    if any {
                        out.push(point(ctx.name.clone(), "count", total));
                    }
                }
                MetricType::Histogram => {
                    let vs: Vec<f64> = values.iter().map(|m| m.value).collect();
                    for (suffix, v) in summarize(&vs, histograms) {
                        out.push(point(format!("{}.{suffix}", ctx.name), "gauge", v));
                    }
                }
                MetricType::Historate => {
                    // Consecutive values are read as a counter sampled at even steps over the
                    // run (the previous run's last value first).
                    let previous = self.last.get(&ctx).copied();
                    let mut rates = Vec::new();
                    let mut prev = previous.map(|p| (p.value, p.at));
                    let n = values.len() as f64;
                    for (k, m) in values.iter().enumerate() {
                        let at = now - interval * (n - 1.0 - k as f64) / n.max(1.0);
                        if let Some((pv, pt)) = prev
                            && at > pt
                        {
                            rates.push((m.value - pv) / (at - pt));
                        }
                        prev = Some((m.value, at));
                    }
                    self.last.insert(
                        ctx.clone(),
                        Last {
                            value: last_value,
                            at: now,
                        },
                    );
                    for (suffix, v) in summarize(&rates, histograms) {
                        out.push(point(format!("{}.{suffix}", ctx.name), "gauge", v));
                    }
                }
            }
        }
        out
    }
}

/// A histogram's aggregates and percentiles (nothing for no values).
fn summarize(values: &[f64], s: &HistogramSettings) -> Vec<(String, f64)> {
    if values.is_empty() {
        return Vec::new();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let sum: f64 = sorted.iter().sum();
    // The Datadog Agent's percentile: the value at rank ceil(p * n) (1-based).
    let rank = |p: f64| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    let mut out = Vec::new();
    for a in &s.aggregates {
        let v = match a.as_str() {
            "avg" => sum / n as f64,
            "median" => rank(0.5),
            "max" => sorted[n - 1],
            "min" => sorted[0],
            "count" => n as f64,
            "sum" => sum,
            _ => continue,
        };
        out.push((a.clone(), v));
    }
    for p in &s.percentiles {
        out.push((format!("{}percentile", (p * 100.0).round()), rank(*p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MetricType, name: &str, value: f64, tags: &[&str]) -> Metric {
        Metric {
            kind,
            name: name.into(),
            value,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            hostname: String::new(),
            flush_first_value: false,
        }
    }

    fn commit(s: &mut Sampler, samples: &[Metric], now: f64) -> Vec<(String, f64)> {
        s.commit(samples, now, 15.0, "host-a", &HistogramSettings::default())
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect()
    }

    #[test]
    fn gauges_keep_the_last_value_and_counts_sum() {
        let mut s = Sampler::default();
        let got = commit(
            &mut s,
            &[
                m(MetricType::Gauge, "g", 1.0, &[]),
                m(MetricType::Gauge, "g", 3.0, &[]),
                m(MetricType::Count, "c", 2.0, &["b:1", "a:1"]),
                m(MetricType::Count, "c", 5.0, &["a:1", "b:1"]),
                m(MetricType::Counter, "k", 30.0, &[]),
            ],
            100.0,
        );
        assert_eq!(
            got,
            [("g".into(), 3.0), ("c".into(), 7.0), ("k".into(), 2.0)]
        );
        let full = s.commit(
            &[m(MetricType::Gauge, "g", 1.0, &["z", "a"])],
            100.0,
            15.0,
            "host-a",
            &HistogramSettings::default(),
        );
        assert_eq!(full[0].host, "host-a");
        assert_eq!(full[0].tags, ["a", "z"]);
        assert_eq!(full[0].timestamp, 100.0);
    }

    #[test]
    fn rates_need_two_runs_and_skip_resets() {
        let mut s = Sampler::default();
        assert!(commit(&mut s, &[m(MetricType::Rate, "r", 100.0, &[])], 100.0).is_empty());
        assert_eq!(
            commit(&mut s, &[m(MetricType::Rate, "r", 130.0, &[])], 115.0),
            [("r".into(), 2.0)]
        );
        assert!(commit(&mut s, &[m(MetricType::Rate, "r", 5.0, &[])], 130.0).is_empty());
        assert_eq!(
            commit(&mut s, &[m(MetricType::Rate, "r", 20.0, &[])], 145.0),
            [("r".into(), 1.0)]
        );
    }

    #[test]
    fn monotonic_counts_report_increases_and_drop_the_first_value() {
        let mut s = Sampler::default();
        assert!(
            commit(
                &mut s,
                &[m(MetricType::MonotonicCount, "mc", 10.0, &[])],
                1.0
            )
            .is_empty()
        );
        assert_eq!(
            commit(
                &mut s,
                &[
                    m(MetricType::MonotonicCount, "mc", 14.0, &[]),
                    m(MetricType::MonotonicCount, "mc", 15.0, &[]),
                ],
                2.0
            ),
            [("mc".into(), 5.0)]
        );
        // A reset (3 < 15) counts 0, then the increases go on from it.
        assert_eq!(
            commit(
                &mut s,
                &[
                    m(MetricType::MonotonicCount, "mc", 3.0, &[]),
                    m(MetricType::MonotonicCount, "mc", 7.0, &[]),
                ],
                3.0
            ),
            [("mc".into(), 4.0)]
        );
        let mut first = m(MetricType::MonotonicCount, "f", 9.0, &[]);
        first.flush_first_value = true;
        assert_eq!(
            commit(&mut Sampler::default(), &[first], 1.0),
            [("f".into(), 9.0)]
        );
    }

    #[test]
    fn histograms_become_aggregates_and_percentiles() {
        let mut s = Sampler::default();
        let samples: Vec<Metric> = (1..=20)
            .map(|v| m(MetricType::Histogram, "h", f64::from(v), &[]))
            .collect();
        let got = commit(&mut s, &samples, 1.0);
        assert_eq!(
            got,
            [
                ("h.max".into(), 20.0),
                ("h.median".into(), 10.0),
                ("h.avg".into(), 10.5),
                ("h.count".into(), 20.0),
                ("h.95percentile".into(), 19.0),
            ]
        );
        let custom = HistogramSettings {
            aggregates: vec!["min".into(), "sum".into()],
            percentiles: vec![0.5, 0.99],
        };
        let got: Vec<String> = s
            .commit(&samples, 2.0, 15.0, "h", &custom)
            .into_iter()
            .map(|p| format!("{}={}", p.name, p.value))
            .collect();
        assert_eq!(
            got,
            [
                "h.min=1",
                "h.sum=210",
                "h.50percentile=10",
                "h.99percentile=20"
            ]
        );
    }

    #[test]
    fn historates_are_histograms_of_rates() {
        let mut s = Sampler::default();
        // Three values over a 10 s interval: steps of 10/3 s; increases of 10 each.
        let samples: Vec<Metric> = [0.0, 10.0, 20.0]
            .iter()
            .map(|v| m(MetricType::Historate, "hr", *v, &[]))
            .collect();
        let got = s.commit(&samples, 100.0, 10.0, "h", &HistogramSettings::default());
        let count = got.iter().find(|p| p.name == "hr.count").unwrap();
        assert_eq!(count.value, 2.0);
        let max = got.iter().find(|p| p.name == "hr.max").unwrap();
        assert!((max.value - 3.0).abs() < 1e-9, "{max:?}");
    }
}
