//! `isolation: process`: checks that `os._exit`, segfault, abort, block in C or allocate
//! without bound each cost a worker process and are reported by name, while the agent and
//! every other check carry on.

mod common;

use std::time::Duration;

use common::{agent, example_dir, exit_within, metrics, output, scratch, setup, signal, start};
use serde_json::Value;

/// The one run of the instance of `crashes` named `name`.
fn run<'a>(runs: &'a [Value], name: &str) -> &'a Value {
    runs.iter()
        .find(|r| {
            r["check_id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("crashes:{name}:"))
        })
        .unwrap_or_else(|| panic!("no run of crashes:{name}"))
}

fn error_of(run: &Value) -> (String, String, String) {
    let e = &run["error"];
    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
    (s("kind"), s("message"), s("traceback"))
}

#[test]
fn crashing_checks_cost_a_worker_process_and_are_reported_by_name() {
    let out = agent(
        &example_dir(),
        &[
            "--once", "--json", "--check", "crashes", "--check", "compute",
        ],
    );
    assert!(out.status.success(), "{:?}\n{}", out.status, out.stderr);
    let runs = out.runs_of("crashes");
    assert_eq!(runs.len(), 6, "{}", out.stdout);
    for r in &runs {
        eprintln!(
            "{:<40} {:<12} {}",
            r["check_id"].as_str().unwrap(),
            r["interpreter"].as_str().unwrap_or("-"),
            r["error"]["message"].as_str().unwrap_or("OK")
        );
        assert_eq!(r["interpreter"], "process", "{r}");
        // What each check submitted before it died reached the agent.
        let started = metrics(r);
        assert!(
            started.iter().any(|m| m.0 == "crashes.started"),
            "{}: {started:?}",
            r["check_id"]
        );
    }

    let healthy = run(&runs, "healthy");
    assert!(healthy["error"].is_null(), "{healthy}");
    let pid_tag = metrics(healthy)
        .into_iter()
        .find(|m| m.0 == "crashes.survived")
        .expect("crashes.survived")
        .3[0]
        .clone();
    assert_ne!(pid_tag, "pid:0");

    let (kind, message, _) = error_of(run(&runs, "exit"));
    assert_eq!(kind, "crashed");
    assert!(message.contains("exited with status 3"), "{message}");

    // faulthandler's traceback, from the worker's stderr, names the check's line.
    let (kind, message, traceback) = error_of(run(&runs, "segfault"));
    assert_eq!(kind, "crashed");
    assert!(message.contains("signal 11 (SIGSEGV)"), "{message}");
    assert!(
        traceback
            .lines()
            .any(|l| l.contains("crashes.py\", line") && l.ends_with("in check")),
        "{traceback}"
    );

    let (kind, message, traceback) = error_of(run(&runs, "abort"));
    assert_eq!(kind, "crashed");
    assert!(message.contains("signal 6 (SIGABRT)"), "{message}");
    assert!(
        traceback.contains("Fatal Python error: Aborted"),
        "{traceback}"
    );

    // Blocked in C with SIGINT masked: the interrupt cannot land, the worker is killed after
    // the 2 s grace period; the timeout is 1 s.
    let blocked = run(&runs, "block_in_c");
    let (kind, message, _) = error_of(blocked);
    assert_eq!(kind, "timeout");
    assert!(message.contains("worker process replaced"), "{message}");
    let took = blocked["duration_ms"].as_f64().unwrap();
    assert!(took < 10_000.0, "killed after the grace period: {took} ms");

    // The worker's 1 GiB cap turns the unbounded allocation into a MemoryError of the check.
    let (kind, message, traceback) = error_of(run(&runs, "allocate"));
    assert_eq!(kind, "exception");
    if message.contains("no memory cap in force here") {
        eprintln!("the memory cap is not enforced here (qemu-user ignores RLIMIT_AS)");
    } else {
        assert_eq!(message, "MemoryError");
        assert!(traceback.contains("crashes.py"), "{traceback}");
    }

    // The in-process check ran as usual beside them.
    let compute = out.runs_of("compute");
    assert_eq!(compute.len(), 2);
    for r in compute {
        assert!(r["error"].is_null(), "{r}");
        assert_ne!(r["interpreter"], "process");
        assert!(!metrics(&r).is_empty());
    }
}

const FLAKY: &str = r#"
import ctypes
from datadog_checks.base import AgentCheck


class FlakyCheck(AgentCheck):
    def check(self, instance):
        self.gauge("flaky.runs", 1, tags=["mode:%s" % instance["mode"]])
        if instance["mode"] == "segfault":
            ctypes.string_at(0)
"#;

#[test]
fn a_check_crashing_every_round_leaves_the_others_on_schedule() {
    let dir = scratch("isolation-rounds");
    setup(
        &dir,
        "flaky",
        FLAKY,
        "init_config:\n  isolation: process\n  min_collection_interval: 1\ninstances:\n  \
         - mode: segfault\n  - mode: ok\n  - mode: ok\n    isolation: in_process\n",
        "process_workers: 1\n",
    );
    let mut agent = start(&dir);
    std::thread::sleep(Duration::from_secs(6));
    signal(&agent.0, libc::SIGTERM);
    exit_within(&mut agent.0, Duration::from_secs(20)).expect("the agent did not stop");
    let (stdout, _stderr) = output(&mut agent);
    // One JSON line per run (and the summary at the end); the runs the signal cancelled do
    // not count.
    let runs: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r.get("check_id").is_some() && r["error"]["kind"] != "cancelled")
        .collect();
    let mut crashes = 0;
    let mut healthy = 0;
    for r in &runs {
        let mode = metrics(r)
            .into_iter()
            .find(|m| m.0 == "flaky.runs")
            .map(|m| m.3[0].clone());
        match r["error"]["kind"].as_str() {
            // A crash, or the circuit breaker after five in a minute: fails fast.
            Some("crashed") => crashes += 1,
            Some(other) => panic!("{other}: {r}"),
            None => {
                assert_eq!(mode.as_deref(), Some("mode:ok"), "{r}");
                healthy += 1;
            }
        }
    }
    eprintln!("in 6 s: {crashes} crashed runs, {healthy} healthy runs");
    // Each instance runs every second, the crashing one beside the others, not in their way.
    assert!(crashes >= 4, "the segfaulting instance ran {crashes} times");
    assert!(healthy >= 8, "the healthy instances ran {healthy} times");
    assert!(
        healthy + 2 >= 2 * crashes,
        "both healthy instances, as often as the crashing one: {healthy} vs {crashes}"
    );
    if crashes > 5 {
        assert!(
            stdout.contains("not run: its worker process crashed 5 times within 60s"),
            "after 5 crashes within a minute the instance rests:\n{stdout}"
        );
    }
}
