//! Runs check instances: native ones in Rust, Python ones on the pinned executor, and collects
//! one report per run.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::aggregator::Aggregator;
use crate::config::{AgentConfig, InstanceConfig};
use crate::native;
use crate::report::{CheckError, ErrorKind, RunReport};

/// The agent: its configuration, the aggregator, and (when built with Python and needed) the
/// embedded interpreter.
pub struct Agent {
    cfg: Arc<AgentConfig>,
    /// Each instance's check sampler, by check id.
    samplers: Mutex<std::collections::HashMap<String, crate::sampler::Sampler>>,
    aggregator: Arc<Aggregator>,
    #[cfg(feature = "python")]
    python: Result<Option<crate::python::Runtime>, String>,
}

impl Agent {
    /// Prepares the agent for `instances`: Python is started only if a Python check is
    /// configured. A Python that fails to start is reported on each Python check's run.
    pub fn new(cfg: AgentConfig, instances: &[InstanceConfig]) -> Agent {
        let cfg = Arc::new(cfg);
        let aggregator = Arc::new(Aggregator::default());
        let needs_python = instances.iter().any(|i| native::find(&i.check).is_none());
        #[cfg(feature = "python")]
        let python = if needs_python {
            let needs_workers = instances.iter().any(|i| {
                native::find(&i.check).is_none()
                    && i.isolation.unwrap_or(cfg.isolation) == crate::config::Isolation::Process
            });
            crate::python::Runtime::start(cfg.clone(), aggregator.clone(), needs_workers).map(Some)
        } else {
            Ok(None)
        };
        #[cfg(not(feature = "python"))]
        let _ = needs_python;
        Agent {
            cfg,
            samplers: Mutex::default(),
            aggregator,
            #[cfg(feature = "python")]
            python,
        }
    }

    /// Runs every instance once on `runners` threads (Python ones across the executor's
    /// workers) and returns the reports in the order given.
    pub fn run_all(&self, instances: &[&InstanceConfig], runners: usize) -> Vec<RunReport> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let reports: Vec<Mutex<Option<RunReport>>> =
            instances.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..runners.clamp(1, instances.len().max(1)) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(inst) = instances.get(i) else { break };
                        let r = self.run_one(inst);
                        *reports[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    }
                });
            }
        });
        reports
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("every instance ran")
            })
            .collect()
    }

    /// Runs one instance and waits for it. Its duration is the run's own (not the wait for a
    /// worker before it).
    pub fn run_one(&self, inst: &InstanceConfig) -> RunReport {
        let mut report = self.run_unsampled(inst);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let mut samplers = self.samplers.lock().unwrap_or_else(|e| e.into_inner());
        report.series = samplers.entry(inst.check_id.clone()).or_default().commit(
            &report.batch.metrics,
            now,
            inst.interval.as_secs_f64(),
            &self.cfg.hostname,
            &self.cfg.histograms,
        );
        report
    }

    fn run_unsampled(&self, inst: &InstanceConfig) -> RunReport {
        if let Some(check) = native::find(&inst.check) {
            let start = Instant::now();
            let mut batch = crate::aggregator::Batch::default();
            let error = check
                .run(&inst.instance, &self.cfg.hostname, &mut batch)
                .err();
            return RunReport {
                check: inst.check.clone(),
                check_id: inst.check_id.clone(),
                runtime: "native",
                interpreter: None,
                duration: start.elapsed(),
                batch,
                series: Vec::new(),
                warnings: Vec::new(),
                error,
            };
        }
        match self.start_python(inst) {
            Slot::Done(r) => *r,
            #[cfg(feature = "python")]
            Slot::Python(pending) => {
                let finished = pending.wait();
                let (warnings, error) = finished.outcome;
                RunReport {
                    check: inst.check.clone(),
                    check_id: inst.check_id.clone(),
                    runtime: "python",
                    interpreter: Some(finished.interpreter),
                    duration: finished.duration,
                    batch: self.aggregator.take(&inst.check_id),
                    series: Vec::new(),
                    warnings,
                    error,
                }
            }
        }
    }

    #[cfg(feature = "python")]
    fn start_python(&self, inst: &InstanceConfig) -> Slot {
        match &self.python {
            Ok(Some(rt)) => Slot::Python(Box::new(rt.submit(inst))),
            Ok(None) => Slot::Done(Box::new(unavailable(inst, "Python was not started"))),
            Err(e) => Slot::Done(Box::new(RunReport {
                check: inst.check.clone(),
                check_id: inst.check_id.clone(),
                runtime: "python",
                interpreter: None,
                duration: Default::default(),
                batch: Default::default(),
                series: Vec::new(),
                warnings: Vec::new(),
                error: Some(CheckError::new(
                    ErrorKind::Internal,
                    format!("Python could not start: {e}"),
                )),
            })),
        }
    }

    #[cfg(not(feature = "python"))]
    fn start_python(&self, inst: &InstanceConfig) -> Slot {
        Slot::Done(Box::new(unavailable(
            inst,
            "this agent was built without Python (cargo build --no-default-features); only native checks run",
        )))
    }

    /// Stops the Python workers and finalizes the interpreter.
    pub fn shutdown(self) {
        #[cfg(feature = "python")]
        if let Ok(Some(rt)) = self.python {
            rt.shutdown();
        }
    }
}

/// A run in progress.
enum Slot {
    Done(Box<RunReport>),
    #[cfg(feature = "python")]
    Python(Box<crate::python::PendingRun>),
}

fn unavailable(inst: &InstanceConfig, why: &str) -> RunReport {
    RunReport {
        check: inst.check.clone(),
        check_id: inst.check_id.clone(),
        runtime: "python",
        interpreter: None,
        duration: Default::default(),
        batch: Default::default(),
        series: Vec::new(),
        warnings: Vec::new(),
        error: Some(CheckError::new(ErrorKind::Unavailable, why)),
    }
}
