//! The README's first command: every example check runs once, the failing, hanging and
//! exiting ones are reported, and the agent exits 0.

mod common;

use common::{agent, example_dir, metrics};

#[test]
fn once_runs_every_example_check_and_reports_the_failures() {
    let out = agent(&example_dir(), &["--once", "--json"]);
    assert!(
        out.status.success(),
        "exit {:?}\nstderr:\n{}",
        out.status,
        out.stderr
    );

    // Every check that works submitted metrics.
    for check in ["compute", "proc_stats", "uptime", "load"] {
        let runs = out.runs_of(check);
        assert!(!runs.is_empty(), "{check} did not run");
        for run in runs {
            assert!(run["error"].is_null(), "{check} failed: {}", run["error"]);
            assert!(!metrics(&run).is_empty(), "{check} submitted no metric");
        }
    }

    // compute: every metric type, with its value and tags.
    let compute = out.runs_of("compute");
    assert_eq!(compute.len(), 2, "two compute instances");
    let small = compute
        .iter()
        .find(|r| {
            r["check_id"]
                .as_str()
                .unwrap()
                .starts_with("compute:small:")
        })
        .unwrap();
    let m = metrics(small);
    let find = |name: &str| {
        m.iter()
            .find(|x| x.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {m:?}"))
    };
    assert_eq!(find("compute.primes").1, "gauge");
    assert_eq!(find("compute.primes").2, 15.0, "15 primes below 50");
    assert_eq!(find("compute.primes").3, vec!["source:compute".to_owned()]);
    assert_eq!(find("compute.runs").1, "count");
    assert_eq!(find("compute.total_runs").1, "monotonic_count");
    assert_eq!(find("compute.rate").1, "rate");
    assert_eq!(find("compute.prime").1, "histogram");
    assert_eq!(small["events"][0]["title"], "compute ran");
    assert_eq!(small["histogram_buckets"][0]["value"], 15);
    assert_eq!(small["metadata"][0]["name"], "version");

    // proc_stats reads /proc: the values are this machine's.
    let procs = out.runs_of("proc_stats");
    let m = metrics(&procs[0]);
    let total = m
        .iter()
        .find(|x| x.0 == "proc.mem.total")
        .expect("proc.mem.total");
    assert!(total.2 > 1e6, "memory total from /proc/meminfo: {total:?}");
    assert_eq!(procs[0]["service_checks"][0]["status"], 0);

    // failing: the exception, its traceback, and what it submitted before failing.
    let failing = &out.runs_of("failing")[0];
    assert_eq!(failing["error"]["kind"], "exception");
    let tb = failing["error"]["traceback"].as_str().unwrap();
    assert!(
        tb.contains("ConnectionError: cannot connect to db.invalid"),
        "{tb}"
    );
    assert!(tb.contains("failing.py"), "{tb}");
    assert_eq!(metrics(failing)[0].0, "failing.before_error");
    assert_eq!(failing["warnings"][0], "about to fail on purpose");

    // hanging: both instances (a sleep and a busy loop) are cancelled at their timeout.
    let hanging = out.runs_of("hanging");
    assert_eq!(hanging.len(), 2);
    for run in &hanging {
        assert_eq!(run["error"]["kind"], "timeout", "{run}");
        assert_eq!(metrics(run)[0].0, "hanging.started");
    }

    // exits: sys.exit is a reported error, not the end of the agent.
    let exits = &out.runs_of("exits")[0];
    assert_eq!(exits["error"]["kind"], "sys.exit");
    assert!(
        exits["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sys.exit(3)")
    );

    // Python logging reached the Rust logger at its level, with the check id and the caller.
    assert!(
        out.stderr.lines().any(|l| l.starts_with("WARN ")
            && l.contains("[python] failing:")
            && l.contains("(failing.py:")
            && l.contains("about to fail on purpose")),
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn the_table_shows_metrics_and_errors() {
    let out = agent(
        &example_dir(),
        &[
            "--once", "--check", "compute", "--check", "failing", "--check", "uptime",
        ],
    );
    assert!(out.status.success(), "stderr:\n{}", out.stderr);
    let t = &out.stdout;
    assert!(t.starts_with("4 check runs: 3 ok, 1 failed"), "{t}");
    // Aggregated series: name, type, value, host and timestamp.
    assert!(
        t.lines().any(|l| l.contains("compute.primes ")
            && l.contains(" gauge ")
            && l.contains("pyhost-example")),
        "{t}"
    );
    assert!(t.contains("compute.prime.95percentile"), "{t}");
    assert!(
        t.contains("== failing unversioned [python]") && t.contains("ERROR (exception)"),
        "{t}"
    );
    assert!(
        t.contains("ConnectionError: cannot connect to db.invalid"),
        "{t}"
    );
    assert!(t.contains("== uptime [native]"), "{t}");
}

#[test]
fn bad_arguments_and_configuration_are_clear_errors() {
    let out = agent(&example_dir(), &["--workers", "zero"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("--workers zero: not a positive number"),
        "{}",
        out.stderr
    );

    let out = agent(&example_dir(), &["--config", "/nonexistent/agent.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("cannot read /nonexistent/agent.yaml"),
        "{}",
        out.stderr
    );
}
