//! `pyhost-agent`: a small monitoring agent that runs Datadog-style checks.
//!
//! Python checks (`checks.d/<name>.py`, a subclass of `AgentCheck`) run on pyhost's pinned
//! executor and talk to the agent through builtin modules written in Rust with pyhost's macros
//! (`aggregator`, `datadog_agent`, `util`, `_util`, `tagger`, `containers`, `kubeutil`), named
//! and shaped like the Datadog Agent's, so checks written against the real
//! `datadog-checks-base` run unchanged. Rust checks (`uptime`, `load`) run in every build; built
//! with `--no-default-features` the agent has no Python at all.
//!
//! ```text
//! pyhost-agent [--config FILE] [--once] [--json] [--venv DIR] [--checks-dir DIR]
//!              [--confd DIR] [--workers N] [--log-level LEVEL] [--check NAME]...
//! ```

// Without Python, the parts of the data model only Python checks fill go unused.
#![cfg_attr(not(feature = "python"), allow(dead_code))]

mod aggregator;
mod config;
mod http;
mod logger;
mod native;
#[cfg(feature = "python")]
mod python;
mod report;
mod runner;
mod sampler;
mod scheduler;
mod yaml;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
#[cfg(feature = "python")]
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use config::{AgentConfig, InstanceConfig};

const USAGE: &str = "\
usage: pyhost-agent [options]

Runs the checks configured in conf.d/: once (--once) or on their intervals until Ctrl-C.

options:
  --config FILE      agent settings (default: ./agent.yaml, else the example's agent.yaml)
  --once             run every check instance once, print the results, exit
  --json             print results as JSON instead of a table
  --venv DIR         run Python checks in this virtual environment
  --checks-dir DIR   directory of Python checks (<name>.py)
  --confd DIR        directory of check configurations (<name>.yaml)
  --workers N        Python worker threads
  --log-level LEVEL  trace, debug, info, warn, error
  --check NAME       only run this check (repeatable)
  --python-info      print the embedded Python (version, executable, prefix, venv) as JSON
  -h, --help         this text
";

#[derive(Debug, Default)]
struct Args {
    config: Option<PathBuf>,
    once: bool,
    json: bool,
    venv: Option<PathBuf>,
    checks_dir: Option<PathBuf>,
    confd: Option<PathBuf>,
    workers: Option<usize>,
    log_level: Option<log::LevelFilter>,
    only: Vec<String>,
    python_info: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--config" => a.config = Some(value("--config")?.into()),
            "--once" => a.once = true,
            "--json" => a.json = true,
            "--venv" => a.venv = Some(value("--venv")?.into()),
            "--checks-dir" => a.checks_dir = Some(value("--checks-dir")?.into()),
            "--confd" => a.confd = Some(value("--confd")?.into()),
            "--workers" => {
                let v = value("--workers")?;
                a.workers = Some(
                    v.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--workers {v}: not a positive number"))?,
                );
            }
            "--log-level" => {
                let v = value("--log-level")?;
                a.log_level = Some(
                    config::parse_level(&v)
                        .ok_or_else(|| format!("--log-level {v}: unknown level"))?,
                );
            }
            "--check" => a.only.push(value("--check")?),
            "--python-info" => a.python_info = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(a)
}

/// The settings, and the file they came from.
fn load_config(args: &Args) -> Result<(AgentConfig, Option<PathBuf>), String> {
    let path = match &args.config {
        Some(p) => Some(p.clone()),
        None => [
            PathBuf::from("agent.yaml"),
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/agent.yaml")),
        ]
        .into_iter()
        .find(|p| p.is_file()),
    };
    let mut cfg = match &path {
        Some(p) => AgentConfig::load(p)?,
        None => AgentConfig::defaults(std::path::Path::new(".")),
    };
    if let Some(v) = &args.venv {
        cfg.venv = Some(v.clone());
    }
    if let Some(d) = &args.checks_dir {
        cfg.checks_dir = d.clone();
    }
    if let Some(d) = &args.confd {
        cfg.confd_dir = d.clone();
    }
    if let Some(n) = args.workers {
        cfg.workers = n;
    }
    if let Some(l) = args.log_level {
        cfg.log_level = l;
    }
    logger::init(cfg.log_level);
    Ok((cfg, path))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pyhost-agent: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (cfg, path) = match load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pyhost-agent: {e}");
            return ExitCode::from(2);
        }
    };
    // In a worker process (checks with `isolation: process`), this serves runs and exits.
    #[cfg(feature = "python")]
    python::serve_if_worker(&cfg);
    match &path {
        Some(p) => log::info!("configuration: {}", p.display()),
        None => log::info!("no agent.yaml found: using defaults"),
    }
    if args.python_info {
        return print_python_info(cfg);
    }
    let (mut instances, problems) = config::load_confd(&cfg.confd_dir, cfg.check_timeout);
    if !args.only.is_empty() {
        instances.retain(|i| args.only.contains(&i.check));
    }
    for (check, problem) in &problems {
        log::error!("{check}: {problem}");
    }
    log::info!(
        "{} check instances from {}",
        instances.len(),
        cfg.confd_dir.display()
    );
    let runners = cfg.check_runners;
    let (hostname, http_address) = (cfg.hostname.clone(), cfg.http_address);
    let agent = runner::Agent::new(cfg, &instances);
    if args.once {
        let all: Vec<&InstanceConfig> = instances.iter().collect();
        let reports = agent.run_all(&all, runners);
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report::to_json(&reports, &problems))
                    .unwrap_or_default()
            );
        } else {
            print!("{}", report::to_table(&reports, &problems));
        }
    } else {
        let exporter = Arc::new(http::Exporter::new(&hostname));
        if let Some(addr) = http_address {
            match http::serve(addr, exporter.clone()) {
                Ok(bound) => log::info!("serving /metrics and /status on http://{bound}"),
                Err(e) => {
                    eprintln!("pyhost-agent: {e}");
                    agent.shutdown();
                    return ExitCode::from(2);
                }
            }
        }
        run_forever(&agent, &instances, runners, args.json, &exporter);
    }
    agent.shutdown();
    ExitCode::SUCCESS
}

/// `--python-info`: what the embedded interpreter says about itself.
fn print_python_info(cfg: AgentConfig) -> ExitCode {
    #[cfg(feature = "python")]
    match python::info(cfg) {
        Ok(info) => {
            println!("{info}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pyhost-agent: Python could not start: {e}");
            ExitCode::FAILURE
        }
    }
    #[cfg(not(feature = "python"))]
    {
        let _ = cfg;
        println!(
            "{}",
            serde_json::json!({"python": null, "why": "built without the `python` feature"})
        );
        ExitCode::SUCCESS
    }
}

/// Runs each instance on its own interval until Ctrl-C or SIGTERM, printing each run as it
/// ends, then a summary per instance.
fn run_forever(
    agent: &runner::Agent,
    instances: &[InstanceConfig],
    runners: usize,
    json: bool,
    exporter: &http::Exporter,
) {
    let stopper = scheduler::SharedStopper::default();
    {
        let stopper = stopper.clone();
        // SIGINT or SIGTERM: the first cancels the runs in flight, stops the schedule and shuts
        // down in order (with the summary); a second one, while that is under way, ends the
        // process at once.
        if let Err(e) = ctrlc::set_handler(move || {
            if !stopper.stop() {
                eprintln!("pyhost-agent: second signal, exiting now");
                std::process::exit(130);
            }
            #[cfg(feature = "python")]
            python::STOPPING.store(true, Ordering::SeqCst);
        }) {
            log::warn!("cannot install the Ctrl-C handler: {e}");
        }
    }
    let start = Instant::now();
    log::info!(
        "running {} instances on {runners} runners until Ctrl-C or SIGTERM (a second one exits at once)",
        instances.len()
    );
    let stats = scheduler::run(agent, instances, runners, &stopper, |report, stats| {
        exporter.record(report, stats);
        print_run(start.elapsed(), report, stats, json);
    });
    log::info!("stopping");
    print_final_summary(start.elapsed(), instances, &stats, json);
}

/// One line per run: what it submitted, or why it failed.
fn print_run(at: Duration, r: &report::RunReport, stats: &scheduler::InstanceStats, json: bool) {
    if json {
        let mut v = r.to_json();
        v["run"] = serde_json::json!(stats.runs);
        println!("{v}");
        return;
    }
    let what = match &r.error {
        None => format!(
            "ok: {} metrics, {} service checks, {} events",
            r.batch.metrics.len(),
            r.batch.service_checks.len(),
            r.batch.events.len()
        ),
        Some(e) => format!("failed ({}): {}", e.kind.name(), e.message),
    };
    println!(
        "[+{:>7.1}s] {} run {}: {what} ({:.0} ms)",
        at.as_secs_f64(),
        r.check_id,
        stats.runs,
        r.duration.as_secs_f64() * 1000.0
    );
}

/// Runs, failures, skipped runs and durations of every instance.
fn print_final_summary(
    at: Duration,
    instances: &[InstanceConfig],
    stats: &[scheduler::InstanceStats],
    json: bool,
) {
    if json {
        let rows: Vec<serde_json::Value> = instances
            .iter()
            .zip(stats)
            .map(|(i, s)| {
                serde_json::json!({
                    "check_id": i.check_id, "runs": s.runs, "errors": s.errors,
                    "skipped": s.skipped,
                    "last_duration_ms": s.last_duration.as_secs_f64() * 1000.0,
                    "max_duration_ms": s.max_duration.as_secs_f64() * 1000.0,
                    "last_error": s.last_error.as_ref().map(|e| e.message.clone()),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"summary": rows, "seconds": at.as_secs_f64()})
        );
        return;
    }
    println!("summary after {:.1} s:", at.as_secs_f64());
    for (i, s) in instances.iter().zip(stats) {
        let avg = if s.runs > 0 {
            s.total_duration.as_secs_f64() * 1000.0 / s.runs as f64
        } else {
            0.0
        };
        println!(
            "  {}: {} runs, {} failed, {} skipped; {avg:.0} ms on average, {:.0} ms at most{}",
            i.check_id,
            s.runs,
            s.errors,
            s.skipped,
            s.max_duration.as_secs_f64() * 1000.0,
            s.last_error
                .as_ref()
                .map(|e| format!("; last error: {}", e.message))
                .unwrap_or_default()
        );
    }
}
