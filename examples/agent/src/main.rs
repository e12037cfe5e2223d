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
mod logger;
mod native;
#[cfg(feature = "python")]
mod python;
mod report;
mod runner;
mod yaml;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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
    let agent = runner::Agent::new(cfg, &instances);
    if args.once {
        let all: Vec<&InstanceConfig> = instances.iter().collect();
        let reports = agent.run_all(&all);
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
        run_forever(&agent, &instances, args.json);
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

/// Runs each instance on its interval until Ctrl-C, printing a summary after each round.
fn run_forever(agent: &runner::Agent, instances: &[InstanceConfig], json: bool) {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let flag = Arc::new(AtomicBool::new(false));
    {
        let (stop, flag) = (stop.clone(), flag.clone());
        // SIGINT or SIGTERM: the first cancels the runs in flight, stops the loop and shuts
        // down in order (the last round's summary is printed); a second one, while that is
        // under way, ends the process at once.
        if let Err(e) = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                eprintln!("pyhost-agent: second signal, exiting now");
                std::process::exit(130);
            }
            #[cfg(feature = "python")]
            python::STOPPING.store(true, Ordering::SeqCst);
            *stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
            stop.1.notify_all();
        }) {
            log::warn!("cannot install the Ctrl-C handler: {e}");
        }
    }
    let start = Instant::now();
    let mut next_due: Vec<Instant> = vec![start; instances.len()];
    log::info!("running until Ctrl-C or SIGTERM (a second one exits at once)");
    while !flag.load(Ordering::SeqCst) {
        let now = Instant::now();
        let due: Vec<usize> = (0..instances.len())
            .filter(|&i| next_due[i] <= now)
            .collect();
        if !due.is_empty() {
            let batch: Vec<&InstanceConfig> = due.iter().map(|&i| &instances[i]).collect();
            let reports = agent.run_all(&batch);
            for &i in &due {
                next_due[i] = now + instances[i].interval;
            }
            print_summary(start.elapsed(), &reports, json);
        }
        let wake = next_due
            .iter()
            .min()
            .copied()
            .unwrap_or(now + Duration::from_secs(15));
        let guard = stop.0.lock().unwrap_or_else(|e| e.into_inner());
        if !*guard {
            let _ = stop
                .1
                .wait_timeout(guard, wake.saturating_duration_since(Instant::now()));
        }
    }
    log::info!("stopping");
}

fn print_summary(at: Duration, reports: &[report::RunReport], json: bool) {
    if json {
        println!("{}", report::to_json(reports, &[]));
        return;
    }
    let failed: Vec<String> = reports
        .iter()
        .filter_map(|r| {
            r.error
                .as_ref()
                .map(|e| format!("{} ({})", r.check, e.kind.name()))
        })
        .collect();
    let count = |f: fn(&report::RunReport) -> usize| reports.iter().map(f).sum::<usize>();
    println!(
        "[+{:>6.1}s] ran {} checks: {} metrics, {} service checks, {} events{}",
        at.as_secs_f64(),
        reports.len(),
        count(|r| r.batch.metrics.len()),
        count(|r| r.batch.service_checks.len()),
        count(|r| r.batch.events.len()),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {}", failed.join(", "))
        }
    );
}
