//! The agent as a Prometheus target (issue 17): a real Prometheus server (Debian's
//! `prometheus` package, on loopback) scrapes the agent's `/metrics`, and its HTTP API answers
//! a PromQL query with the check's series, its value and its labels. `/status` says how each
//! instance ran.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Agent, scratch, setup, start};
use serde_json::Value;

const DEMO: &str = r#"
from datadog_checks.base import AgentCheck

__version__ = "2.5.0"


class DemoCheck(AgentCheck):
    def check(self, instance):
        self.gauge("demo.temperature", 21.5, tags=["room:lab", "env:test"])
        self.service_check("demo.up", AgentCheck.OK)
        if instance.get("fail"):
            raise ValueError("the sensor is unplugged")
"#;

/// `GET path` on `addr`: the status line's code and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_owned())
}

/// Starts the agent in `dir` and waits for the address it serves on (from its log).
fn agent_serving(dir: &std::path::Path) -> (Agent, String, mpsc::Receiver<String>) {
    let mut agent = start(dir);
    let stderr = agent.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let t = Instant::now();
    let mut seen = Vec::new();
    while t.elapsed() < Duration::from_secs(30) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if let Some(rest) = line.split("serving /metrics and /status on http://").nth(1) {
                return (agent, rest.trim().to_owned(), rx);
            }
            seen.push(line);
        }
    }
    panic!(
        "the agent did not say where it serves:\n{}",
        seen.join("\n")
    );
}

#[test]
fn metrics_and_status_endpoints() {
    let dir = scratch("http-endpoints");
    setup(
        &dir,
        "demo",
        DEMO,
        "init_config:\n  min_collection_interval: 1\ninstances:\n  - name: ok\n  - name: broken\n    fail: true\n",
        "",
    );
    let (_agent, addr, _log) = agent_serving(&dir);
    // The first runs end well within a few seconds.
    let t = Instant::now();
    let metrics = loop {
        let (code, body) = get(&addr, "/metrics");
        assert_eq!(code, 200, "{body}");
        if body.contains("demo_temperature{") || t.elapsed() > Duration::from_secs(20) {
            break body;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        metrics.contains("# TYPE demo_temperature gauge"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"demo_temperature{env="test",host="test-host",room="lab"} 21.5"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("pyhost_agent_check_errors_total{check=\"demo\""),
        "{metrics}"
    );
    // Both instances have run once (they run side by side; under qemu, slowly).
    let t = Instant::now();
    let (status, broken) = loop {
        let (code, status) = get(&addr, "/status");
        assert_eq!(code, 200);
        let status: Value = serde_json::from_str(&status).unwrap();
        let broken = status["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check_id"].as_str().unwrap().contains("broken"))
            .cloned();
        match broken {
            Some(b) => break (status, b),
            None if t.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            None => panic!("the broken instance never ran: {status}"),
        }
    };
    assert_eq!(status["hostname"], "test-host");
    assert!(broken["runs"].as_u64().unwrap() >= 1, "{broken}");
    assert_eq!(broken["version"], "2.5.0", "the check module's __version__");
    assert_eq!(broken["last_error"]["kind"], "exception", "{broken}");
    assert!(
        broken["last_error"]["traceback"]
            .as_str()
            .unwrap()
            .contains("the sensor is unplugged"),
        "{broken}"
    );
    assert_eq!(get(&addr, "/nothing").0, 404);
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_the_agent() {
    let Ok(prometheus) = which("prometheus") else {
        // `.ci/run` installs Debian's package: CI always runs this.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have prometheus (apt-get install prometheus)"
        );
        eprintln!("skipped: no `prometheus` on PATH (apt-get install prometheus)");
        return;
    };
    let dir = scratch("http-prometheus");
    setup(
        &dir,
        "demo",
        DEMO,
        "init_config:\n  min_collection_interval: 1\ninstances:\n  - name: ok\n",
        "",
    );
    let (_agent, addr, _log) = agent_serving(&dir);
    let web = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
             - job_name: pyhost-agent\n    static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let _prom = Killed(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting prometheus"),
    );
    let query = r#"demo_temperature{job="pyhost-agent",room="lab"}"#;
    let path = format!("/api/v1/query?query={}", url_encode(query));
    let t = Instant::now();
    let answer = loop {
        if let Ok(stream) = TcpStream::connect(&web) {
            drop(stream);
            let (code, body) = get(&web, &path);
            if code == 200 {
                let v: Value = serde_json::from_str(&body).unwrap();
                if v["data"]["result"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
                {
                    break v;
                }
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "Prometheus did not get the series within 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    // Straight to stderr, past libtest's capture: the suite's log shows the query and answer.
    let _ = writeln!(
        std::io::stderr(),
        "prometheus: PromQL {query} answered after {:?}: {answer}",
        t.elapsed()
    );
    let result = &answer["data"]["result"][0];
    assert_eq!(result["value"][1], "21.5", "{answer}");
    let labels = &result["metric"];
    assert_eq!(labels["host"], "test-host", "{answer}");
    assert_eq!(labels["env"], "test", "{answer}");
    assert_eq!(labels["instance"], addr.as_str(), "{answer}");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
