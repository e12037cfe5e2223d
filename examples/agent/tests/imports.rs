//! Loading checks installed as `datadog_checks.<name>` packages (issue 17, item 1): a
//! dependency the check's package lacks is reported as itself, with its traceback (not as
//! "No module named '<name>'"), and four workers loading one check at once all see the same
//! error (no `KeyError` from a half-done import) or all load it.

mod common;

use common::{agent, scratch, setup};

const PLACEHOLDER: &str = "from datadog_checks.base import AgentCheck\n";

/// A check package under `checks.d/datadog_checks/<name>/` (a namespace portion, as an
/// installed integration's package would be).
fn package(dir: &std::path::Path, name: &str, code: &str, instances: usize) {
    let pkg = dir.join("checks.d").join("datadog_checks").join(name);
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("__init__.py"), code).unwrap();
    let conf: String = (0..instances)
        .map(|i| format!("  - name: i{i}\n"))
        .collect();
    std::fs::write(
        dir.join("conf.d").join(format!("{name}.yaml")),
        format!("init_config:\ninstances:\n{conf}"),
    )
    .unwrap();
}

/// setup's agent.yaml, with 4 workers.
fn four_workers(dir: &std::path::Path) {
    let path = dir.join("agent.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, yaml.replace("workers: 2", "workers: 4")).unwrap();
}

#[test]
fn a_missing_dependency_is_reported_as_itself_by_every_worker() {
    let dir = scratch("imports-missing-dependency");
    setup(&dir, "placeholder", PLACEHOLDER, "instances: []\n", "");
    four_workers(&dir);
    package(
        &dir,
        "depcheck",
        "import time\ntime.sleep(0.1)\nimport socks_not_installed_here\n\
         from datadog_checks.base import AgentCheck\n\
         class DepCheck(AgentCheck):\n    def check(self, instance):\n        pass\n",
        4,
    );
    let out = agent(&dir, &["--config", "agent.yaml", "--once", "--json"]);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let runs = out.runs_of("depcheck");
    assert_eq!(runs.len(), 4, "{}", out.stdout);
    for run in &runs {
        let error = &run["error"];
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("unable to import module 'depcheck'")
                && message.contains("No module named 'socks_not_installed_here'"),
            "{error}"
        );
        let traceback = error["traceback"].as_str().unwrap_or_default();
        assert!(
            traceback.contains("datadog_checks/depcheck/__init__.py"),
            "{error}"
        );
        assert!(!message.contains("KeyError"), "{error}");
    }
}

#[test]
fn four_workers_loading_one_slow_check_all_load_it() {
    let dir = scratch("imports-slow-package");
    setup(&dir, "placeholder", PLACEHOLDER, "instances: []\n", "");
    four_workers(&dir);
    package(
        &dir,
        "slowload",
        "import time\ntime.sleep(0.2)\n\
         from datadog_checks.base import AgentCheck\n\
         class SlowLoad(AgentCheck):\n    def check(self, instance):\n        \
         self.gauge('slowload.up', 1, tags=['instance:' + instance['name']])\n",
        4,
    );
    let out = agent(&dir, &["--config", "agent.yaml", "--once", "--json"]);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let runs = out.runs_of("slowload");
    assert_eq!(runs.len(), 4, "{}", out.stdout);
    for run in &runs {
        assert!(run["error"].is_null(), "{}", run["error"]);
        assert_eq!(common::metrics(run)[0].0, "slowload.up");
    }
}
