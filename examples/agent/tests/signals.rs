//! Stopping the agent: one SIGTERM or SIGINT cancels the runs in flight and ends it in
//! order, within the executor's grace period; a second one ends it at once.

mod common;

use std::time::Duration;

use common::{exit_within, output, scratch, setup, signal, start};

const SLOW: &str = r#"
import time
from datadog_checks.base import AgentCheck


class SlowCheck(AgentCheck):
    def check(self, instance):
        self.gauge("slow.started", 1)
        if instance.get("blocked_in_c"):
            # A C call that no interruption reaches.
            import select
            select.select([], [], [], instance["blocked_in_c"])
        time.sleep(instance.get("sleep", 0))
"#;

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
    signal(&agent.0, libc::SIGTERM);
    let (status, took) =
        exit_within(&mut agent.0, Duration::from_secs(20)).expect("the agent did not stop");
    let (stdout, stderr) = output(&mut agent);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("slow.started"),
        "the round before the signal was reported:\n{stdout}"
    );
    eprintln!("stopped {took:?} after SIGTERM");
}

#[test]
fn the_first_signal_cancels_a_check_in_flight() {
    let dir = scratch("signals-cancel");
    // A check that sleeps far longer than the test waits, with a deadline longer still.
    setup(
        &dir,
        "slow",
        SLOW,
        "init_config:\ninstances:\n  - sleep: 120\n    check_timeout: 300\n",
        "",
    );
    let mut agent = start(&dir);
    std::thread::sleep(Duration::from_secs(3));
    signal(&agent.0, libc::SIGTERM);
    // Cancelled at once; the executor's grace period (2 s) bounds the rest.
    let (status, took) = exit_within(&mut agent.0, Duration::from_secs(15))
        .expect("the agent did not stop within its grace period");
    let (stdout, stderr) = output(&mut agent);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("\"cancelled\"") && stdout.contains("the agent is stopping"),
        "the interrupted round is reported, its run cancelled:\n{stdout}"
    );
    eprintln!("stopped {took:?} after SIGTERM, a 120 s check cancelled");
}

#[test]
fn a_second_signal_ends_the_agent_at_once() {
    let dir = scratch("signals-two");
    // A check blocked in C, which no interruption reaches: the first signal waits for the
    // grace periods.
    setup(
        &dir,
        "slow",
        SLOW,
        "init_config:\ninstances:\n  - blocked_in_c: 120\n    check_timeout: 300\n",
        "",
    );
    let mut agent = start(&dir);
    std::thread::sleep(Duration::from_secs(3));
    signal(&agent.0, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        agent.0.try_wait().unwrap().is_none(),
        "the first signal waits for the grace period of a check blocked in C"
    );
    signal(&agent.0, libc::SIGINT);
    let (status, took) = exit_within(&mut agent.0, Duration::from_secs(10))
        .expect("the second signal did not end the agent");
    assert_eq!(status.code(), Some(130), "{status}");
    let (_, stderr) = output(&mut agent);
    assert!(stderr.contains("second signal"), "{stderr}");
    eprintln!("ended {took:?} after the second signal");
}
