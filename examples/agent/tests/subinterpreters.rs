//! Checks on subinterpreters with their own GIL (CPython 3.12+): two CPU-bound checks run in
//! parallel, a check whose imports refuse subinterpreters runs on the main interpreter (said
//! once), and `subinterpreters: false` keeps everything on one GIL.

mod common;

use std::time::{Duration, Instant};

use common::{agent, scratch, setup};

const BURN: &str = r#"
from datadog_checks.base import AgentCheck


class BurnCheck(AgentCheck):
    def check(self, instance):
        total = 0
        for i in range(instance["n"]):
            total += i * i
        self.gauge("burn.total", total % 1000)
"#;

const BURN_CONF: &str =
    "init_config:\ninstances:\n  - n: 15000000\n  - n: 15000000\n    name: second\n";

/// Runs the agent once in `dir`; returns the runs of `check` and the wall time.
fn once(dir: &std::path::Path, check: &str) -> (Vec<serde_json::Value>, Duration, String) {
    let t = Instant::now();
    let out = agent(dir, &["--config", "agent.yaml", "--once", "--json"]);
    let took = t.elapsed();
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    (out.runs_of(check), took, out.stderr)
}

/// The tests of this file run one at a time: one measures parallelism.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn supported(runs: &[serde_json::Value]) -> bool {
    runs.iter().all(|r| r["interpreter"] == "subinterpreter")
}

#[test]
fn two_cpu_bound_checks_run_in_parallel_on_their_own_gils() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let on = scratch("subinterp-on");
    setup(&on, "burn", BURN, BURN_CONF, "subinterpreters: true\n");
    let off = scratch("subinterp-off");
    setup(&off, "burn", BURN, BURN_CONF, "subinterpreters: false\n");

    // Another process busy on a core (a parallel build) hides the parallelism for a while:
    // measure up to three times; lost parallelism fails every time.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (runs_off, t_off, _) = once(&off, "burn");
        assert_eq!(runs_off.len(), 2);
        assert!(
            runs_off
                .iter()
                .all(|r| r["interpreter"] == "main" && r["error"].is_null())
        );
        let (runs_on, t_on, stderr) = once(&on, "burn");
        assert_eq!(runs_on.len(), 2);
        assert!(runs_on.iter().all(|r| r["error"].is_null()), "{runs_on:?}");
        if !supported(&runs_on) {
            // CPython < 3.12: the setting is explained, and the checks still run.
            assert!(stderr.contains("needs CPython 3.12"), "{stderr}");
            return;
        }
        for r in &runs_on {
            let metric = &r["metrics"][0];
            assert_eq!(metric["name"], "burn.total");
        }
        eprintln!("own GILs: {t_on:?}, one GIL: {t_off:?}");
        seen.push((t_on, t_off));
        // About half: a generous bound that only lost parallelism breaks.
        if t_on.as_secs_f64() < t_off.as_secs_f64() * 0.75 {
            break;
        }
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
        assert!(
            seen.iter()
                .any(|(on, off)| on.as_secs_f64() < off.as_secs_f64() * 0.75),
            "subinterpreters vs one GIL, never below 0.75: {seen:?}"
        );
    }
}

#[test]
fn a_check_whose_imports_refuse_subinterpreters_runs_on_the_main_interpreter() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("subinterp-refused");
    let code = r#"
import _testsinglephase
from datadog_checks.base import AgentCheck


class SinglePhaseCheck(AgentCheck):
    def check(self, instance):
        self.gauge("single.ok", 1)
"#;
    setup(
        &dir,
        "single",
        code,
        "init_config:\ninstances:\n  - {}\n  - name: two\n",
        "subinterpreters: true\n",
    );
    let (runs, _, stderr) = once(&dir, "single");
    assert_eq!(runs.len(), 2);
    if runs.iter().any(|r| {
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("No module named '_testsinglephase'"))
    }) {
        eprintln!("skipped: this CPython has no _testsinglephase");
        return;
    }
    assert!(
        runs.iter().all(|r| r["error"].is_null()),
        "{runs:?}\n{stderr}"
    );
    assert!(runs.iter().all(|r| r["interpreter"] == "main"), "{runs:?}");
    if stderr.contains("needs CPython 3.12") {
        return;
    }
    let said = stderr.matches("runs on the main interpreter").count();
    assert_eq!(said, 1, "the reason is logged once per check:\n{stderr}");
    assert!(stderr.contains("_testsinglephase"), "{stderr}");
}
