//! The agent's run deadline is its own setting (issue 17, items 2 and 9): `check_timeout`
//! (agent-wide, per check in `init_config`, per instance), never the check's own `timeout`
//! option; a check blocked in native code past it is reported as a timeout that says so.

mod common;

use common::{agent, metrics, scratch, setup};

const SLEEPER: &str = r#"
import threading, time
from datadog_checks.base import AgentCheck


class SleeperCheck(AgentCheck):
    def check(self, instance):
        if instance.get("block_in_c"):
            lock = threading.Lock()
            lock.acquire()
            lock.acquire()  # never returns, and runs no bytecode
        time.sleep(instance["sleep"])
        self.gauge("sleeper.done", 1, tags=["timeout:%s" % instance.get("timeout")])
"#;

#[test]
fn the_checks_own_timeout_option_is_not_the_run_deadline() {
    let dir = scratch("deadlines-own-option");
    setup(
        &dir,
        "sleeper",
        SLEEPER,
        "init_config:\n  check_timeout: 5\ninstances:\n  - name: own-option\n    sleep: 1.5\n    timeout: 1\n  - name: deadline\n    sleep: 30\n    check_timeout: 0.5\n",
        "",
    );
    let out = agent(&dir, &["--config", "agent.yaml", "--once", "--json"]);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let runs = out.runs_of("sleeper");
    assert_eq!(runs.len(), 2, "{}", out.stdout);
    let by_name = |name: &str| {
        runs.iter()
            .find(|r| r["check_id"].as_str().unwrap_or_default().contains(name))
            .unwrap_or_else(|| panic!("no run of {name}: {runs:?}"))
    };
    // `timeout: 1` is the check's (an HTTP timeout, say): the 1.5 s run ends normally.
    let own = by_name("own-option");
    assert!(own["error"].is_null(), "{own}");
    assert_eq!(metrics(own)[0].0, "sleeper.done");
    // `check_timeout: 0.5` is the agent's: the 30 s sleep is cancelled.
    let cut = by_name("deadline");
    assert_eq!(cut["error"]["kind"], "timeout", "{cut}");
    let message = cut["error"]["message"].as_str().unwrap();
    assert!(message.contains("500ms"), "{message}");
    let took = cut["duration_ms"].as_f64().unwrap();
    assert!(took < 1500.0, "{took} ms");
}

#[test]
fn a_check_blocked_in_native_code_is_a_timeout_that_says_so() {
    let dir = scratch("deadlines-blocked");
    setup(
        &dir,
        "sleeper",
        SLEEPER,
        "init_config:\ninstances:\n  - block_in_c: true\n    sleep: 0\n    check_timeout: 1\n",
        "subinterpreters: false\n",
    );
    let t = std::time::Instant::now();
    let out = agent(&dir, &["--config", "agent.yaml", "--once", "--json"]);
    let took = t.elapsed();
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let run = &out.runs_of("sleeper")[0];
    assert_eq!(run["error"]["kind"], "timeout", "{run}");
    let message = run["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("blocked in native code") && message.contains("isolation: process"),
        "{message}"
    );
    // Reported after the 1 s timeout and the 1 s grace; the agent then exits.
    let reported = run["duration_ms"].as_f64().unwrap();
    assert!((1000.0..3000.0).contains(&reported), "{reported} ms");
    println!("blocked check reported after {reported} ms; the agent exited after {took:?}");
    assert!(took.as_secs_f64() < 10.0, "{took:?}");
}
