//! Runs the agent binary and reads its JSON output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The example's directory (agent.yaml, checks.d, conf.d).
pub fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the agent printed.
pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout as JSON (the agent ran with `--json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The report of the runs of `check`.
    pub fn runs_of(&self, check: &str) -> Vec<Value> {
        let json = self.json();
        json["checks"]
            .as_array()
            .expect("a list of checks")
            .iter()
            .filter(|c| c["check"] == check)
            .cloned()
            .collect()
    }
}

/// Runs `pyhost-agent` with `args`, in `cwd`.
pub fn agent(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_pyhost-agent"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running pyhost-agent");
    Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh directory under the target dir, removed first if it exists.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

/// An agent setup in `dir`: agent.yaml, one check file and its conf.d file.
pub fn setup(dir: &Path, check: &str, code: &str, conf: &str, extra_settings: &str) {
    std::fs::create_dir_all(dir.join("checks.d")).unwrap();
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(dir.join("checks.d").join(format!("{check}.py")), code).unwrap();
    std::fs::write(dir.join("conf.d").join(format!("{check}.yaml")), conf).unwrap();
    let base = example_dir().join("python");
    std::fs::write(
        dir.join("agent.yaml"),
        format!(
            "hostname: test-host\ncluster_name: test-cluster\nchecks_dir: checks.d\nconfd_dir: conf.d\n\
             python_base_dir: {}\nrun_path: run\nworkers: 2\ncheck_timeout: 20\nhttp_address: 127.0.0.1:0\n{extra_settings}",
            base.display()
        ),
    )
    .unwrap();
}

/// The metrics of a run as `(name, type, value, tags, hostname)`.
pub fn metrics(run: &Value) -> Vec<(String, String, f64, Vec<String>, String)> {
    run["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["type"].as_str().unwrap().to_owned(),
                m["value"].as_f64().unwrap(),
                m["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
                m["hostname"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The agent, killed if a failed assertion leaves it running.
pub struct Agent(pub Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(dir: &std::path::Path) -> Agent {
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

pub fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // kill(2) on our own child's pid with a valid signal number only sends the signal.
    // SAFETY: for the reasons above.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

/// Waits up to `limit` for the agent to exit: its status and how long it took, or `None`
/// (and the agent killed) past the limit.
pub fn exit_within(
    child: &mut Child,
    limit: Duration,
) -> Option<(std::process::ExitStatus, Duration)> {
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
pub fn output(agent: &mut Agent) -> (String, String) {
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
