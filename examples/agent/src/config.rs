//! The agent's configuration (`agent.yaml`) and the checks' configuration (`conf.d/<name>.yaml`,
//! Datadog's layout: `init_config` and a list of `instances`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::yaml;

/// Default collection interval of a check instance (Datadog's).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

/// The agent's own settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The hostname reported to checks (`datadog_agent.get_hostname()`).
    pub hostname: String,
    /// The cluster name (`datadog_agent.get_clustername()`).
    pub cluster_name: String,
    /// Directory of Python checks (`<name>.py`).
    pub checks_dir: PathBuf,
    /// Directory of check configurations (`<name>.yaml`).
    pub confd_dir: PathBuf,
    /// Directory of the bundled `datadog_checks.base` package, used when the environment has
    /// none.
    pub python_base_dir: PathBuf,
    /// A virtual environment to run checks in (its packages, `datadog-checks-base` among them).
    pub venv: Option<PathBuf>,
    /// Where `write_persistent_cache` keeps its files.
    pub run_path: PathBuf,
    /// Python worker threads.
    pub workers: usize,
    /// Runs in flight at once (`check_runners`, the Datadog Agent's setting): each runner runs
    /// one instance at a time.
    pub check_runners: usize,
    /// Run checks on subinterpreters with their own GIL (`Some(true)`), on the main
    /// interpreter (`Some(false)`), or the former when CPython has them (`None`, the default).
    pub subinterpreters: Option<bool>,
    /// How long a check run may take before it is cancelled (overridable per instance, or in
    /// a check's `init_config`, with `check_timeout`). Instances run on their own intervals
    /// (`min_collection_interval`).
    pub check_timeout: Duration,
    /// The log level.
    pub log_level: log::LevelFilter,
    /// Where continuous mode serves `/metrics` and `/status` (`http_address`; `None`: not at
    /// all). Loopback by default.
    pub http_address: Option<std::net::SocketAddr>,
    /// Histogram aggregates and percentiles (`histogram_aggregates`,
    /// `histogram_percentiles`).
    pub histograms: crate::sampler::HistogramSettings,
    /// Where Python checks run unless their configuration says otherwise (`isolation`).
    pub isolation: Isolation,
    /// Worker processes for checks with `isolation: process`.
    pub process_workers: usize,
    /// Each worker process's memory cap (`process_memory_limit_mb`), as bytes.
    pub process_memory_limit: Option<u64>,
    /// Runs a worker process serves before it is replaced (`process_max_runs`).
    pub process_max_runs: Option<usize>,
    /// Every setting of the file, as `datadog_agent.get_config(key)` returns them.
    pub raw: serde_json::Map<String, Value>,
}

impl AgentConfig {
    /// The defaults, with paths relative to `base` (the directory holding `agent.yaml`).
    pub fn defaults(base: &Path) -> AgentConfig {
        AgentConfig {
            hostname: default_hostname(),
            cluster_name: String::new(),
            checks_dir: base.join("checks.d"),
            confd_dir: base.join("conf.d"),
            python_base_dir: base.join("python"),
            venv: None,
            run_path: std::env::temp_dir().join("pyhost-agent-run"),
            workers: 4,
            check_runners: 4,
            subinterpreters: None,
            check_timeout: Duration::from_secs(10),
            log_level: log::LevelFilter::Info,
            histograms: Default::default(),
            http_address: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 5099))),
            isolation: Isolation::InProcess,
            process_workers: 2,
            process_memory_limit: None,
            process_max_runs: None,
            raw: serde_json::Map::new(),
        }
    }

    /// Reads `agent.yaml`; relative paths in it are relative to its directory.
    pub fn load(path: &Path) -> Result<AgentConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let value = yaml::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut cfg = AgentConfig::defaults(base);
        let Value::Object(map) = value else {
            if value.is_null() {
                return Ok(cfg);
            }
            return Err(format!(
                "{}: expected a mapping of settings",
                path.display()
            ));
        };
        let path_of = |v: &Value| v.as_str().map(|s| base.join(s));
        for (key, v) in &map {
            let bad = || format!("{}: `{key}` has an invalid value {v}", path.display());
            match key.as_str() {
                "hostname" => cfg.hostname = v.as_str().ok_or_else(bad)?.to_owned(),
                "cluster_name" => cfg.cluster_name = v.as_str().ok_or_else(bad)?.to_owned(),
                "checks_dir" => cfg.checks_dir = path_of(v).ok_or_else(bad)?,
                "confd_dir" => cfg.confd_dir = path_of(v).ok_or_else(bad)?,
                "python_base_dir" => cfg.python_base_dir = path_of(v).ok_or_else(bad)?,
                "venv" => {
                    cfg.venv = if v.is_null() {
                        None
                    } else {
                        Some(path_of(v).ok_or_else(bad)?)
                    }
                }
                "run_path" => cfg.run_path = path_of(v).ok_or_else(bad)?,
                "workers" => cfg.workers = v.as_u64().filter(|n| *n > 0).ok_or_else(bad)? as usize,
                "check_runners" => {
                    cfg.check_runners = v.as_u64().filter(|n| *n > 0).ok_or_else(bad)? as usize
                }
                "subinterpreters" => {
                    cfg.subinterpreters = match v {
                        Value::Bool(b) => Some(*b),
                        Value::String(s) if s == "auto" => None,
                        _ => return Err(bad()),
                    }
                }
                "check_timeout" => cfg.check_timeout = seconds(v).ok_or_else(bad)?,
                "http_address" => {
                    cfg.http_address = match v {
                        Value::Null => None,
                        Value::Bool(false) => None,
                        Value::String(a) => Some(a.parse().map_err(|e| {
                            format!(
                                "{}: `http_address` {a}: {e} (an IP address and port, such as \
                                 127.0.0.1:5099; null turns the endpoints off)",
                                path.display()
                            )
                        })?),
                        _ => return Err(bad()),
                    }
                }
                "histogram_aggregates" => {
                    const KNOWN: [&str; 6] = ["avg", "median", "max", "min", "count", "sum"];
                    let list: Option<Vec<String>> = v.as_array().and_then(|a| {
                        a.iter()
                            .map(|x| x.as_str().filter(|s| KNOWN.contains(s)).map(String::from))
                            .collect()
                    });
                    cfg.histograms.aggregates = list.ok_or_else(|| {
                        format!(
                            "{}: `{key}`: a list of {}",
                            path.display(),
                            KNOWN.join(", ")
                        )
                    })?;
                }
                "histogram_percentiles" => {
                    let list: Option<Vec<f64>> = v.as_array().and_then(|a| {
                        a.iter()
                            .map(|x| x.as_f64().filter(|p| *p > 0.0 && *p < 1.0))
                            .collect()
                    });
                    cfg.histograms.percentiles = list.ok_or_else(|| {
                        format!(
                            "{}: `{key}`: a list of fractions between 0 and 1 (0.95)",
                            path.display()
                        )
                    })?;
                }
                "isolation" => cfg.isolation = Isolation::parse(v).ok_or_else(bad)?,
                "process_workers" => {
                    cfg.process_workers = v.as_u64().filter(|n| *n > 0).ok_or_else(bad)? as usize
                }
                "process_memory_limit_mb" => {
                    cfg.process_memory_limit = match v {
                        Value::Null => None,
                        _ => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(bad)? << 20),
                    }
                }
                "process_max_runs" => {
                    cfg.process_max_runs = match v {
                        Value::Null => None,
                        _ => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(bad)? as usize),
                    }
                }
                "log_level" => {
                    cfg.log_level = parse_level(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?
                }
                _ => {}
            }
        }
        cfg.raw = map;
        Ok(cfg)
    }

    /// `datadog_agent.get_config(key)`: the setting, or `None` when unset. The agent's own
    /// settings are visible under their names too.
    pub fn get(&self, key: &str) -> Option<Value> {
        if let Some(v) = self.raw.get(key) {
            return Some(v.clone());
        }
        match key {
            "hostname" => Some(Value::from(self.hostname.clone())),
            "run_path" => Some(Value::from(self.run_path.display().to_string())),
            "log_level" => Some(Value::from(self.log_level.as_str().to_ascii_lowercase())),
            "enable_metadata_collection" => Some(Value::Bool(true)),
            _ => None,
        }
    }
}

/// Parses a level name as Datadog spells them.
pub fn parse_level(s: &str) -> Option<log::LevelFilter> {
    Some(match s.to_ascii_lowercase().as_str() {
        "trace" => log::LevelFilter::Trace,
        "debug" => log::LevelFilter::Debug,
        "info" => log::LevelFilter::Info,
        "warn" | "warning" => log::LevelFilter::Warn,
        "error" | "err" | "critical" | "crit" => log::LevelFilter::Error,
        "off" => log::LevelFilter::Off,
        _ => return None,
    })
}

fn seconds(v: &Value) -> Option<Duration> {
    v.as_f64()
        .filter(|s| *s > 0.0 && s.is_finite())
        .map(Duration::from_secs_f64)
}

fn default_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Where a Python check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// In the agent's process, on its interpreters (`in_process`, the default).
    InProcess,
    /// In a worker process (`process`): `os._exit`, a segfault, an abort, memory without
    /// bound or code stuck in C cost a worker, never the agent.
    Process,
}

impl Isolation {
    fn parse(v: &Value) -> Option<Isolation> {
        match v.as_str()? {
            "in_process" => Some(Isolation::InProcess),
            "process" => Some(Isolation::Process),
            _ => None,
        }
    }
}

/// One configured instance of a check.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// The check's name (the conf.d file name without `.yaml`).
    pub check: String,
    /// The check's `init_config`.
    pub init_config: Value,
    /// This instance's settings.
    pub instance: Value,
    /// `min_collection_interval` (default 15 s).
    pub interval: Duration,
    /// The run's deadline: `check_timeout` of the instance, else of `init_config`, else the
    /// agent's. A check's own `timeout` option (an HTTP timeout, for example) is the check's
    /// business, as in the Datadog Agent.
    pub timeout: Duration,
    /// `isolation` of the instance, else of `init_config`; `None`: the agent's default.
    pub isolation: Option<Isolation>,
    /// `"<check>[:<instance name>]:<hash>"`, as the Datadog Agent builds it.
    pub check_id: String,
}

/// Reads every `conf.d/<name>.yaml` (sorted by name). A broken file is reported, not fatal.
pub fn load_confd(
    dir: &Path,
    default_timeout: Duration,
) -> (Vec<InstanceConfig>, Vec<(String, String)>) {
    let mut instances = Vec::new();
    let mut problems = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect(),
        Err(e) => {
            problems.push((
                "conf.d".to_owned(),
                format!("cannot read {}: {e}", dir.display()),
            ));
            return (instances, problems);
        }
    };
    files.sort();
    for file in files {
        let check = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match load_check_file(&file, &check, default_timeout) {
            Ok(mut v) => instances.append(&mut v),
            Err(e) => problems.push((check, e)),
        }
    }
    (instances, problems)
}

fn load_check_file(
    file: &Path,
    check: &str,
    default_timeout: Duration,
) -> Result<Vec<InstanceConfig>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let doc = yaml::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let init_config = match doc.get("init_config") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            return Err(format!(
                "{}: `init_config` must be a mapping",
                file.display()
            ));
        }
    };
    let Some(Value::Array(list)) = doc.get("instances") else {
        return Err(format!("{}: `instances` must be a list", file.display()));
    };
    let mut out = Vec::new();
    for (index, instance) in list.iter().enumerate() {
        if !instance.is_object() {
            return Err(format!(
                "{}: instance {index} must be a mapping",
                file.display()
            ));
        }
        let number = |key: &str| {
            instance
                .get(key)
                .or_else(|| init_config.get(key))
                .and_then(seconds)
        };
        let isolation = match instance
            .get("isolation")
            .or_else(|| init_config.get("isolation"))
        {
            None => None,
            Some(v) => Some(Isolation::parse(v).ok_or_else(|| {
                format!(
                    "{}: instance {index}: `isolation` is `process` or `in_process`, not {v}",
                    file.display()
                )
            })?),
        };
        out.push(InstanceConfig {
            check: check.to_owned(),
            isolation,
            interval: number("min_collection_interval").unwrap_or(DEFAULT_INTERVAL),
            timeout: number("check_timeout").unwrap_or(default_timeout),
            check_id: check_id(check, instance, &init_config),
            init_config: init_config.clone(),
            instance: instance.clone(),
        });
    }
    Ok(out)
}

/// `"<check>:<hex fnv64>"` or `"<check>:<instance name>:<hex fnv64>"`, the hash over the
/// instance and init_config, as the Datadog Agent does.
pub fn check_id(check: &str, instance: &Value, init_config: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in instance
        .to_string()
        .bytes()
        .chain(init_config.to_string().bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    match instance.get("name").and_then(Value::as_str) {
        Some(name) => format!("{check}:{name}:{h:x}"),
        None => format!("{check}:{h:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_stable_and_name_aware() {
        let a = serde_json::json!({"host": "x"});
        let b = serde_json::json!({"host": "y", "name": "main"});
        let ic = serde_json::json!({});
        assert_eq!(check_id("disk", &a, &ic), check_id("disk", &a, &ic));
        assert_ne!(check_id("disk", &a, &ic), check_id("disk", &b, &ic));
        assert!(check_id("disk", &b, &ic).starts_with("disk:main:"));
    }

    #[test]
    fn confd_files_give_instances_with_intervals_and_timeouts() {
        let dir = std::env::temp_dir().join(format!("agent-confd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("web.yaml"),
            "init_config:\n  check_timeout: 3\ninstances:\n  - url: a\n    min_collection_interval: 30\n  - url: b\n    check_timeout: 1.5\n    timeout: 60\n    isolation: process\n",
        )
        .unwrap();
        std::fs::write(dir.join("broken.yaml"), "instances: 5\n").unwrap();
        std::fs::write(
            dir.join("odd.yaml"),
            "instances:\n  - isolation: container\n",
        )
        .unwrap();
        let (inst, problems) = load_confd(&dir, Duration::from_secs(10));
        assert_eq!(inst.len(), 2);
        assert_eq!(inst[0].isolation, None);
        assert_eq!(inst[1].isolation, Some(Isolation::Process));
        assert_eq!(inst[0].interval, Duration::from_secs(30));
        assert_eq!(inst[0].timeout, Duration::from_secs(3));
        assert_eq!(inst[1].interval, DEFAULT_INTERVAL);
        assert_eq!(inst[1].timeout, Duration::from_millis(1500));
        assert_eq!(problems.len(), 2);
        assert!(problems[0].1.contains("`instances` must be a list"));
        assert!(
            problems[1].1.contains("`isolation` is `process` or"),
            "{problems:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
