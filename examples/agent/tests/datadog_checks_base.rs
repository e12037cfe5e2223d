//! A check written against the real `datadog-checks-base` from PyPI runs unchanged in the
//! agent: a venv made with the Python the agent links gets the package (and the dependencies
//! it imports, unpinned: its `[deps]` extra pins versions the registry may not serve), and the
//! agent runs the check in that venv.
//!
//! Needs PyPI (or a wheel mirror through pip's usual settings). The venv is kept under the
//! target directory and reused while it works.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{agent, metrics, scratch, setup};

const PACKAGES: &[&str] = &[
    "datadog-checks-base",
    "lazy-loader",
    "cachetools",
    "pyyaml",
    "requests",
    "wrapt",
    "binary",
    "python-dateutil",
    "pydantic",
    "jellyfish",
    // What HTTP checks need besides the base (its `http` wrapper imports the first two; a
    // proxy setting needs pysocks), OpenMetrics checks (prometheus-client) and system checks
    // (psutil).
    "requests-unixsocket2",
    "requests-toolbelt",
    "pysocks",
    "prometheus-client",
    "psutil",
];

const CHECK: &str = r#"
from datadog_checks.base import AgentCheck, ConfigurationError
from datadog_checks.base.utils.subprocess_output import get_subprocess_output


class RealBaseCheck(AgentCheck):
    __NAMESPACE__ = "realbase"

    def check(self, instance):
        if "port" not in instance:
            raise ConfigurationError("port is required")
        tags = ["port:%d" % instance["port"]] + instance.get("tags", [])
        self.gauge("connections", 12, tags=tags)
        self.count("requests", 3, tags=tags, hostname="web-1")
        self.monotonic_count("bytes", 4096, tags=tags)
        self.rate("load", 0.25, tags=tags)
        self.histogram("latency", 7, tags=tags)
        self.service_check("can_connect", AgentCheck.OK, tags=tags, hostname="web-1", message="fine")
        self.event({
            "timestamp": 1700000000,
            "event_type": "deploy",
            "msg_title": "deployed",
            "msg_text": "version 2",
            "tags": tags,
            "host": "web-1",
        })
        self.set_metadata("version", "2.1.0")
        out, _, rc = get_subprocess_output(["echo", "from a subprocess"], self.log)
        self.gauge("subprocess_rc", rc, tags=[out.strip().replace(" ", "_")])
        self.log.info("real base check ran on %s", self.hostname)
        import datadog_checks.base
        self.gauge("base_is_real", 1 if "site-packages" in datadog_checks.base.__file__ else 0)
"#;

/// The Python the agent links, from `--python-info`.
fn linked_python(dir: &Path) -> (PathBuf, String) {
    let out = agent(dir, &["--python-info"]);
    assert!(
        out.status.success(),
        "--python-info failed:\n{}",
        out.stderr
    );
    let info: serde_json::Value =
        serde_json::from_str(out.stdout.trim()).expect("--python-info prints JSON");
    let exe = PathBuf::from(info["executable"].as_str().expect("executable"));
    let version = info["built_against"]
        .as_str()
        .expect("built_against")
        .to_owned();
    (exe, version)
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A venv with datadog-checks-base, made with `python` (reused when it already works). The
/// tests of this file run in parallel and share it: one makes it while the others wait.
fn venv_with_base(python: &Path, version: &str) -> PathBuf {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ddcb-venv-{version}"));
    let vpython = venv.join("bin").join("python");
    let works = Command::new(&vpython)
        .args([
            "-c",
            "import datadog_checks.base, lazy_loader, cachetools, yaml, requests, pydantic, \
             requests_unixsocket, requests_toolbelt, socks, prometheus_client, psutil",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if works {
        return venv;
    }
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new(python).args(["-m", "venv"]).arg(&venv),
        &format!(
            "{} -m venv (Debian: apt-get install python3-venv)",
            python.display()
        ),
    );
    run(
        Command::new(&vpython)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PACKAGES),
        "pip install datadog-checks-base and the packages it imports",
    );
    venv
}

#[test]
fn a_check_written_against_the_real_base_runs_unchanged() {
    let dir = scratch("real-base");
    setup(
        &dir,
        "realbase",
        CHECK,
        "init_config:\ninstances:\n  - port: 8080\n    tags: [\"env:test\"]\n  - {}\n",
        "",
    );
    let (python, version) = linked_python(&dir);
    let venv = venv_with_base(&python, &version);

    let out = agent(
        &dir,
        &["--once", "--json", "--venv", venv.to_str().unwrap()],
    );
    assert!(out.status.success(), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("using datadog_checks.base from")
            && out.stderr.contains("site-packages"),
        "the venv's datadog_checks.base is used:\n{}",
        out.stderr
    );
    let runs = out.runs_of("realbase");
    assert_eq!(runs.len(), 2);
    let ok = runs
        .iter()
        .find(|r| r["error"].is_null())
        .unwrap_or_else(|| panic!("no run succeeded: {runs:?}"));
    let failed = runs
        .iter()
        .find(|r| !r["error"].is_null())
        .expect("the instance without a port fails");
    assert_eq!(failed["error"]["kind"], "exception");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("port is required"),
        "{}",
        failed["error"]
    );
    assert!(
        failed["error"]["traceback"]
            .as_str()
            .unwrap()
            .contains("ConfigurationError"),
        "{}",
        failed["error"]
    );

    let tags = vec!["port:8080".to_owned(), "env:test".to_owned()];
    let m = metrics(ok);
    let find = |name: &str| {
        m.iter()
            .find(|x| x.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {m:?}"))
    };
    for (name, kind, value, host) in [
        ("realbase.connections", "gauge", 12.0, ""),
        ("realbase.requests", "count", 3.0, "web-1"),
        ("realbase.bytes", "monotonic_count", 4096.0, ""),
        ("realbase.load", "rate", 0.25, ""),
        ("realbase.latency", "histogram", 7.0, ""),
    ] {
        let got = find(name);
        assert_eq!(
            (got.1.as_str(), got.2, &got.3, got.4.as_str()),
            (kind, value, &tags, host),
            "{name}"
        );
    }
    assert_eq!(
        find("realbase.subprocess_rc").3,
        vec!["from_a_subprocess".to_owned()]
    );
    assert_eq!(
        find("realbase.base_is_real").2,
        1.0,
        "the check imported the PyPI package"
    );

    let sc = &ok["service_checks"][0];
    assert_eq!(sc["name"], "realbase.can_connect");
    assert_eq!(sc["status"], 0);
    assert_eq!(sc["hostname"], "web-1");
    assert_eq!(sc["message"], "fine");
    assert_eq!(sc["tags"], serde_json::json!(tags));

    let ev = &ok["events"][0];
    assert_eq!(ev["title"], "deployed");
    assert_eq!(ev["text"], "version 2");
    assert_eq!(ev["timestamp"], 1_700_000_000);
    assert_eq!(ev["host"], "web-1");
    assert_eq!(ev["event_type"], "deploy");
    assert_eq!(
        ev["source_type_name"], "realbase",
        "the namespace names the source"
    );
    assert_eq!(ev["tags"], serde_json::json!(tags));

    let metadata: Vec<(String, String)> = ok["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        metadata.contains(&("version.raw".to_owned(), "2.1.0".to_owned())),
        "{metadata:?}"
    );
    assert!(
        metadata.contains(&("version.major".to_owned(), "2".to_owned())),
        "{metadata:?}"
    );

    let id = ok["check_id"].as_str().unwrap();
    assert!(
        ok["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["level"] == "INFO"
                && l["message"].as_str().unwrap().starts_with(id)
                && l["message"]
                    .as_str()
                    .unwrap()
                    .ends_with("real base check ran on test-host")),
        "{}",
        ok["logs"]
    );
}

const WEB: &str = r#"
import requests
from datadog_checks.base import AgentCheck


class WebCheck(AgentCheck):
    __NAMESPACE__ = "web"

    def check(self, instance):
        tags = ["url:" + instance["url"]]
        try:
            # The base's HTTP wrapper: it reads the instance's `timeout` (the HTTP timeout).
            response = self.http.get(instance["url"])
            response.raise_for_status()
        except requests.exceptions.RequestException as e:
            # Network errors only: an ImportError (an extension module that refuses
            # subinterpreters, on 3.12+) reaches the agent, which moves the check to the main
            # interpreter.
            self.service_check("can_connect", AgentCheck.CRITICAL, tags=tags, message=str(e))
            return
        self.service_check("can_connect", AgentCheck.OK, tags=tags)
        self.gauge("body_bytes", len(response.content), tags=tags)
"#;

const OPENMETRICS: &str = r#"
from datadog_checks.base import OpenMetricsBaseCheckV2


class DemoOpenMetrics(OpenMetricsBaseCheckV2):
    __NAMESPACE__ = "demo_om"

    def get_default_config(self):
        return {"metrics": [{"demo_jobs": "jobs"}, {"demo_requests": "requests"}]}
"#;

const SYSTEM: &str = r#"
import psutil
from datadog_checks.base import AgentCheck


class SystemCheck(AgentCheck):
    __NAMESPACE__ = "system_ps"

    def check(self, instance):
        self.gauge("cpu_count", psutil.cpu_count())
        self.gauge("memory_total", psutil.virtual_memory().total)
        # The agent's own process: the check runs inside it.
        self.gauge("agent_rss", psutil.Process().memory_info().rss)
"#;

/// A loopback HTTP server: `/slow` answers after 3 s, anything else at once.
fn web_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                use std::io::{BufRead, BufReader, Write};
                let mut reader = BufReader::new(&stream);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                if first.contains("/slow") {
                    std::thread::sleep(std::time::Duration::from_secs(3));
                }
                let body = "hello pyhost";
                let _ = write!(
                    &stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    addr
}

/// A `prometheus_client` exporter in the venv's Python: `demo_jobs` 3, `demo_requests` 5.
fn exporter(venv: &Path) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(venv.join("bin").join("python"))
        .args([
            "-c",
            &format!(
                "import time\nfrom prometheus_client import start_http_server, Gauge, Counter\n\
                 Gauge('demo_jobs', 'jobs').set(3)\nCounter('demo_requests', 'requests').inc(5)\n\
                 start_http_server({port}, addr='127.0.0.1')\ntime.sleep(120)"
            ),
        ])
        .spawn()
        .expect("starting the exporter");
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed().as_secs() < 30, "the exporter did not listen");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, port)
}

/// Integrations as users install them (their packages in the agent's venv): an HTTP check
/// through the base's HTTP wrapper, an OpenMetrics V2 check scraping a `prometheus_client`
/// exporter, and a psutil-based check, all against loopback.
#[test]
fn http_openmetrics_and_psutil_checks_run_from_the_venv() {
    let dir = scratch("real-base-integrations");
    let web = web_server();
    setup(
        &dir,
        "web",
        WEB,
        &format!(
            "init_config:\ninstances:\n  - url: http://{web}/\n  - url: http://{web}/slow\n    timeout: 1\n"
        ),
        "",
    );
    let (python, version) = linked_python(&dir);
    let venv = venv_with_base(&python, &version);
    let (mut exporter, port) = exporter(&venv);
    for (name, code, conf) in [
        (
            "demo_om",
            OPENMETRICS,
            format!(
                "init_config:\ninstances:\n  - openmetrics_endpoint: http://127.0.0.1:{port}/metrics\n"
            ),
        ),
        (
            "system_ps",
            SYSTEM,
            "init_config:\ninstances:\n  - {}\n".to_owned(),
        ),
    ] {
        std::fs::write(dir.join("checks.d").join(format!("{name}.py")), code).unwrap();
        std::fs::write(dir.join("conf.d").join(format!("{name}.yaml")), conf).unwrap();
    }
    let out = agent(
        &dir,
        &["--once", "--json", "--venv", venv.to_str().unwrap()],
    );
    let _ = exporter.kill();
    let _ = exporter.wait();
    assert!(out.status.success(), "stderr:\n{}", out.stderr);

    // HTTP: the fast URL answers; the slow one hits the check's own 1 s HTTP timeout and is
    // reported CRITICAL by the check (the agent's run deadline is another setting).
    let web_runs = out.runs_of("web");
    assert_eq!(web_runs.len(), 2);
    for r in &web_runs {
        assert!(r["error"].is_null(), "{r}");
        let sc = &r["service_checks"][0];
        assert_eq!(sc["name"], "web.can_connect");
        if sc["tags"][0].as_str().unwrap().ends_with("/slow") {
            assert_eq!(sc["status"], 2, "{sc}");
            assert!(
                sc["message"].as_str().unwrap().contains("timed out"),
                "{sc}"
            );
        } else {
            assert_eq!(sc["status"], 0, "{sc}");
            assert_eq!(metrics(r)[0].2, 12.0, "{r}");
        }
    }

    // OpenMetrics: the exporter's gauge and counter, renamed and typed by the base.
    let om = &out.runs_of("demo_om")[0];
    assert!(om["error"].is_null(), "{om}");
    let m = metrics(om);
    let find = |name: &str| {
        m.iter()
            .find(|x| x.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {m:?}"))
    };
    assert_eq!(find("demo_om.jobs").2, 3.0);
    assert_eq!(find("demo_om.requests.count").1, "monotonic_count");
    assert_eq!(find("demo_om.requests.count").2, 5.0);

    // psutil, inside the agent's process.
    let ps = &out.runs_of("system_ps")[0];
    assert!(ps["error"].is_null(), "{ps}");
    let m = metrics(ps);
    let value = |name: &str| m.iter().find(|x| x.0 == name).map(|x| x.2).unwrap();
    let mem_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert_eq!(value("system_ps.memory_total"), mem_kib * 1024.0);
    assert!(value("system_ps.cpu_count") >= 1.0);
    assert!(value("system_ps.agent_rss") > 1e6);
}
