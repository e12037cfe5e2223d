//! Scheduling like the Datadog Agent's (issue 17, items 3, 4, 5 and 7): every instance on its
//! own interval, a slow one never holding up a fast one; a run due while the previous one is
//! still going is skipped and counted; durations are the runs' own; each run's line says why
//! it failed; the first SIGTERM ends with a summary per instance.

mod common;

use std::time::Duration;

use common::{agent, exit_within, output, scratch, setup, signal, start};
use serde_json::Value;

const NAPPER: &str = r#"
import time
from datadog_checks.base import AgentCheck


class NapperCheck(AgentCheck):
    def check(self, instance):
        if instance.get("fail"):
            raise RuntimeError("no such directory: /nowhere")
        time.sleep(instance["nap"])
        self.gauge("napper.done", 1)
"#;

/// The JSON lines the agent printed in continuous mode.
fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn runs_of<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["check_id"].as_str().is_some_and(|id| id.contains(name)))
        .collect()
}

#[test]
fn instances_run_on_their_own_intervals_and_late_runs_are_skipped() {
    let dir = scratch("schedule-intervals");
    setup(
        &dir,
        "napper",
        NAPPER,
        "init_config:\n  min_collection_interval: 0.25\ninstances:\n  - name: fast\n    nap: 0.01\n  \
         - name: slow\n    nap: 1.0\n  - name: broken\n    nap: 0\n    fail: true\n    min_collection_interval: 1\n",
        "",
    );
    // On subinterpreters (3.12+) each instance stays on one worker's interpreter: one worker
    // per instance, so that the slow one shares its worker with nobody.
    let yaml = std::fs::read_to_string(dir.join("agent.yaml")).unwrap();
    std::fs::write(
        dir.join("agent.yaml"),
        yaml.replace("workers: 2", "workers: 3"),
    )
    .unwrap();
    let mut agent = start(&dir);
    std::thread::sleep(Duration::from_millis(2600));
    signal(&agent.0, libc::SIGTERM);
    let (status, took) =
        exit_within(&mut agent.0, Duration::from_secs(20)).expect("the agent did not stop");
    let (stdout, stderr) = output(&mut agent);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    let lines = lines(&stdout);
    let (fast, slow) = (runs_of(&lines, "fast"), runs_of(&lines, "slow"));
    // The fast instance keeps its 250 ms cadence beside a 1 s run (about 10 runs; rounds
    // waiting for the slow one would give 3).
    println!(
        "in 2.6 s: fast ran {} times, slow {} times; stopped {took:?} after SIGTERM",
        fast.len().saturating_sub(1),
        slow.len().saturating_sub(1)
    );
    assert!(fast.len() >= 7, "{} fast runs:\n{stdout}", fast.len());
    // The run's own duration, not the wait behind another.
    for r in &fast {
        if let Some(ms) = r["duration_ms"].as_f64() {
            assert!(ms < 200.0, "fast run took {ms} ms: {r}");
        }
    }
    let summary = lines
        .iter()
        .find(|l| l.get("summary").is_some())
        .unwrap_or_else(|| panic!("no summary after SIGTERM:\n{stdout}"));
    let row = |name: &str| {
        summary["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["check_id"].as_str().unwrap().contains(name))
            .unwrap_or_else(|| panic!("{name} not in {summary}"))
            .clone()
    };
    // The slow instance: due every 250 ms, it runs 1 s: the runs due meanwhile are skipped.
    let slow_row = row("slow");
    assert!(slow_row["skipped"].as_u64().unwrap() >= 4, "{slow_row}");
    assert!(row("fast")["skipped"].as_u64().unwrap() == 0, "{summary}");
    // The failing instance's line and summary say why.
    let broken = runs_of(&lines, "broken");
    assert!(
        broken[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no such directory: /nowhere"),
        "{}",
        broken[0]
    );
    let broken_row = row("broken");
    assert!(
        broken_row["last_error"]
            .as_str()
            .unwrap()
            .contains("no such directory"),
        "{broken_row}"
    );
}

#[test]
fn the_table_says_why_a_run_failed_and_sums_up_on_sigint() {
    let dir = scratch("schedule-table");
    setup(
        &dir,
        "napper",
        NAPPER,
        "init_config:\ninstances:\n  - name: broken\n    nap: 0\n    fail: true\n  - name: long\n    nap: 120\n",
        "",
    );
    let mut agent = common::Agent(
        std::process::Command::new(env!("CARGO_BIN_EXE_pyhost-agent"))
            .args(["--config", "agent.yaml"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    signal(&agent.0, libc::SIGINT);
    let (status, took) =
        exit_within(&mut agent.0, Duration::from_secs(20)).expect("the agent did not stop");
    let (stdout, stderr) = output(&mut agent);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    println!("stopped {took:?} after SIGINT with a 120 s run in flight");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        stdout.contains("failed (exception): no such directory: /nowhere"),
        "{stdout}"
    );
    // The run in flight was cancelled, and the summary lists both instances.
    assert!(stdout.contains("failed (cancelled)"), "{stdout}");
    assert!(stdout.contains("summary after"), "{stdout}");
    assert!(
        stdout.contains("1 runs, 1 failed, 0 skipped") && stdout.contains("last error"),
        "{stdout}"
    );
}

#[test]
fn once_reports_each_runs_own_duration() {
    let dir = scratch("schedule-durations");
    setup(
        &dir,
        "napper",
        NAPPER,
        "init_config:\ninstances:\n  - name: first\n    nap: 1.0\n  - name: second\n    nap: 0.1\n",
        "",
    );
    let out = agent(&dir, &["--config", "agent.yaml", "--once", "--json"]);
    assert!(out.status.success(), "{}", out.stderr);
    let runs = out.runs_of("napper");
    let ms = |i: usize| runs[i]["duration_ms"].as_f64().unwrap();
    println!("durations: {} ms and {} ms", ms(0), ms(1));
    assert!((950.0..1500.0).contains(&ms(0)), "{}", ms(0));
    assert!((90.0..500.0).contains(&ms(1)), "{}", ms(1));
}
