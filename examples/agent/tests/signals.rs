//! Stopping the agent: one SIGTERM or SIGINT ends it in order, a second one at once.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{scratch, setup};

const SLOW: &str = r#"
import time
from datadog_checks.base import AgentCheck


class SlowCheck(AgentCheck):
    def check(self, instance):
        self.gauge("slow.started", 1)
        time.sleep(instance.get("sleep", 0))
"#;

fn start(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pyhost-agent"))
        .args(["--config", "agent.yaml", "--json"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running pyhost-agent")
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

/// Waits up to `limit` for the agent to exit: its status and how long it took, or `None`
/// (and the agent killed) past the limit.
fn exit_within(child: &mut Child, limit: Duration) -> Option<(std::process::ExitStatus, Duration)> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some((status, t.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn one_sigterm_stops_the_agent_cleanly() {
    let dir = scratch("signals-one");
    setup(
        &dir,
        "slow",
        SLOW,
        "init_config:\ninstances:\n  - sleep: 0\n",
        "",
    );
    let mut agent = start(&dir);
    // Python started and the first round ran (a generous wait: it takes well under a second).
    std::thread::sleep(Duration::from_secs(3));
    signal(&agent, "-TERM");
    let (status, took) =
        exit_within(&mut agent, Duration::from_secs(20)).expect("the agent did not stop");
    let out = agent.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "{status}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("slow.started"),
        "the round before the signal was reported:\n{stdout}"
    );
    eprintln!("stopped {took:?} after SIGTERM");
}

#[test]
fn a_second_signal_ends_the_agent_at_once() {
    let dir = scratch("signals-two");
    // A check that sleeps far longer than the test waits, with a deadline longer still.
    setup(
        &dir,
        "slow",
        SLOW,
        "init_config:\ninstances:\n  - sleep: 120\n    timeout: 300\n",
        "",
    );
    let mut agent = start(&dir);
    std::thread::sleep(Duration::from_secs(3));
    signal(&agent, "-INT");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        agent.try_wait().unwrap().is_none(),
        "the first signal waits for the check in flight"
    );
    signal(&agent, "-INT");
    let (status, took) = exit_within(&mut agent, Duration::from_secs(10))
        .expect("the second signal did not end the agent");
    assert_eq!(status.code(), Some(130), "{status}");
    let out = agent.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("second signal"), "{stderr}");
    eprintln!("ended {took:?} after the second signal");
}
