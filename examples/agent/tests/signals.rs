//! Stopping the agent: one SIGTERM or SIGINT cancels the runs in flight and ends it in
//! order, within the executor's grace period; a second one ends it at once.

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
        if instance.get("blocked_in_c"):
            # A C call that no interruption reaches.
            import select
            select.select([], [], [], instance["blocked_in_c"])
        time.sleep(instance.get("sleep", 0))
"#;

/// The agent, killed if a failed assertion leaves it running.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path) -> Agent {
    Agent(
        Command::new(env!("CARGO_BIN_EXE_pyhost-agent"))
            .args(["--config", "agent.yaml", "--json"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running pyhost-agent"),
    )
}

fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // kill(2) on our own child's pid with a valid signal number only sends the signal.
    // SAFETY: for the reasons above.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
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

/// What an agent that has exited printed: stdout and stderr.
fn output(agent: &mut Agent) -> (String, String) {
    use std::io::Read;
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = agent.0.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = agent.0.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    (out, err)
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
        "init_config:\ninstances:\n  - sleep: 120\n    timeout: 300\n",
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
        "init_config:\ninstances:\n  - blocked_in_c: 120\n    timeout: 300\n",
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
