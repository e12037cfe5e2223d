//! The agent's HTTP endpoints (continuous mode, `http_address`, loopback by default):
//!
//! - `/metrics`: the latest series of every instance in the Prometheus text format, for a
//!   Prometheus server (or anything that reads it) to scrape. Names have `.` and other
//!   characters Prometheus does not allow turned into `_`; a `key:value` tag becomes the label
//!   `key="value"`, a bare tag the label `tag_<tag>="true"`, the host the label `host`. Every
//!   series is a `gauge`: a Datadog count or rate is a value per run or per second, not a
//!   running total. The agent's own counters follow (`pyhost_agent_check_*`).
//! - `/status`: the agent and each instance as JSON: runs, failures, skipped runs, durations,
//!   the last run's time and the last error with its traceback.
//!
//! Served by hyper on a thread of its own (a tokio current-thread runtime).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::report::RunReport;
use crate::sampler::Series;
use crate::scheduler::InstanceStats;

/// What the endpoints show, updated after each run.
pub struct Exporter {
    hostname: String,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Each instance's check name, latest series and stats, by check id (sorted, so that the
    /// output is stable).
    instances: BTreeMap<String, Instance>,
}

struct Instance {
    check: String,
    version: Option<String>,
    series: Vec<Series>,
    stats: InstanceStats,
}

impl Exporter {
    /// An exporter for an agent on `hostname`.
    pub fn new(hostname: &str) -> Exporter {
        Exporter {
            hostname: hostname.to_owned(),
            started: Instant::now(),
            state: Mutex::default(),
        }
    }

    /// Records a run: its series replace the instance's previous ones, unless it failed
    /// without any.
    pub fn record(&self, report: &RunReport, stats: &InstanceStats) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let entry = state
            .instances
            .entry(report.check_id.clone())
            .or_insert_with(|| Instance {
                check: report.check.clone(),
                version: None,
                series: Vec::new(),
                stats: InstanceStats::default(),
            });
        if report.error.is_none() || !report.series.is_empty() {
            entry.series = report.series.clone();
        }
        entry.stats = stats.clone();
        if let Some(v) = report.version() {
            entry.version = Some(v.to_owned());
        }
    }

    /// `/metrics`.
    pub fn metrics(&self) -> String {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Samples grouped by metric name (the format wants one TYPE line per name).
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in state.instances.values().flat_map(|i| &i.series) {
            if !s.value.is_finite() {
                continue;
            }
            by_name
                .entry(metric_name(&s.name))
                .or_default()
                .push(format!("{}{} {}", metric_name(&s.name), labels(s), s.value));
        }
        let mut out = String::new();
        for (name, lines) in &by_name {
            let _ = writeln!(out, "# TYPE {name} gauge");
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
        let own: [(&str, &str, Stat); 4] = [
            ("pyhost_agent_check_runs_total", "counter", |s| {
                s.runs as f64
            }),
            ("pyhost_agent_check_errors_total", "counter", |s| {
                s.errors as f64
            }),
            ("pyhost_agent_check_skipped_total", "counter", |s| {
                s.skipped as f64
            }),
            ("pyhost_agent_check_last_duration_seconds", "gauge", |s| {
                s.last_duration.as_secs_f64()
            }),
        ];
        for (name, kind, get) in own {
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (id, i) in &state.instances {
                let _ = writeln!(
                    out,
                    "{name}{{check=\"{}\",check_id=\"{}\"}} {}",
                    escape(&i.check),
                    escape(id),
                    get(&i.stats)
                );
            }
        }
        out
    }

    /// `/status`.
    pub fn status(&self) -> Value {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let checks: Vec<Value> = state
            .instances
            .iter()
            .map(|(id, i)| {
                let s = &i.stats;
                json!({
                    "check": i.check,
                    "check_id": id,
                    "version": i.version,
                    "runs": s.runs,
                    "errors": s.errors,
                    "skipped": s.skipped,
                    "last_run": s.last_run.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs_f64()),
                    "last_duration_ms": s.last_duration.as_secs_f64() * 1000.0,
                    "average_duration_ms": if s.runs > 0 { s.total_duration.as_secs_f64() * 1000.0 / s.runs as f64 } else { 0.0 },
                    "max_duration_ms": s.max_duration.as_secs_f64() * 1000.0,
                    "series": i.series.len(),
                    "last_error": s.last_error.as_ref().map(|e| json!({
                        "kind": e.kind.name(), "message": e.message, "traceback": e.traceback,
                    })),
                })
            })
            .collect();
        json!({
            "hostname": self.hostname,
            "uptime_seconds": self.started.elapsed().as_secs_f64(),
            "checks": checks,
        })
    }

    fn answer(&self, req: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let (status, kind, body) = match (req.method().as_str(), req.uri().path()) {
            ("GET", "/metrics") => (
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                self.metrics(),
            ),
            ("GET", "/status") => (
                StatusCode::OK,
                "application/json",
                serde_json::to_string_pretty(&self.status()).unwrap_or_default(),
            ),
            ("GET", _) => (
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found: the agent serves /metrics and /status\n".to_owned(),
            ),
            _ => (
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                "only GET\n".to_owned(),
            ),
        };
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        if let Ok(v) = hyper::header::HeaderValue::from_str(kind) {
            resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        resp
    }
}

/// Serves `exporter` on `addr` from a thread of its own; returns the address bound (its port
/// chosen by the system for port 0).
///
/// # Errors
/// The address cannot be bound (in use, not local), or the thread not started.
pub fn serve(addr: SocketAddr, exporter: Arc<Exporter>) -> Result<SocketAddr, String> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("http_address {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("http_address {addr}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("http_address {addr}: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("cannot start the HTTP server's runtime: {e}"))?;
    std::thread::Builder::new()
        .name("agent-http".into())
        .spawn(move || {
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        log::error!("the HTTP server cannot listen: {e}");
                        return;
                    }
                };
                loop {
                    let (stream, _) = match listener.accept().await {
                        Ok(c) => c,
                        Err(e) => {
                            log::warn!("HTTP accept: {e}");
                            continue;
                        }
                    };
                    let exporter = exporter.clone();
                    tokio::task::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let resp = exporter.answer(&req);
                            async move { Ok::<_, Infallible>(resp) }
                        });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        if let Err(e) = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await
                        {
                            log::debug!("HTTP connection: {e}");
                        }
                    });
                }
            });
        })
        .map_err(|e| format!("cannot start the HTTP server's thread: {e}"))?;
    Ok(bound)
}

/// One of the agent's own numbers about an instance.
type Stat = fn(&InstanceStats) -> f64;

/// A Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*` (and not starting with `__`).
fn label_name(name: &str) -> String {
    let mut out = metric_name(name).replace(':', "_");
    while out.starts_with("__") {
        out.remove(0);
    }
    out
}

/// `{key="value",...,host="..."}` of a series: tags with one key joined by `,`.
fn labels(s: &Series) -> String {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for t in &s.tags {
        let (k, v) = match t.split_once(':') {
            Some((k, v)) => (label_name(k), v.to_owned()),
            None => (format!("tag_{}", label_name(t)), "true".to_owned()),
        };
        map.entry(k).or_default().push(v);
    }
    map.entry("host".into()).or_default().push(s.host.clone());
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{k}=\"{}\"", escape(&map[k].join(","))))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// A label value escaped: `\`, `"` and newlines.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_follow_the_prometheus_format() {
        assert_eq!(metric_name("http.can_connect"), "http_can_connect");
        assert_eq!(metric_name("9lives"), "_9lives");
        let s = Series {
            name: "x".into(),
            kind: "gauge",
            value: 1.0,
            timestamp: 0.0,
            host: "h\"1".into(),
            tags: vec![
                "env:prod".into(),
                "role:a".into(),
                "role:b".into(),
                "canary".into(),
                "url:http://x/y".into(),
            ],
        };
        assert_eq!(
            labels(&s),
            r#"{env="prod",host="h\"1",role="a,b",tag_canary="true",url="http://x/y"}"#
        );
    }
}
