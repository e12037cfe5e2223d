//! Runs check instances: native ones in Rust, Python ones on the pinned executor, and collects
//! one report per run.

use std::sync::Arc;
use std::time::Instant;

use crate::aggregator::Aggregator;
use crate::config::{AgentConfig, InstanceConfig};
use crate::native;
use crate::report::{CheckError, ErrorKind, RunReport};

/// The agent: its configuration, the aggregator, and (when built with Python and needed) the
/// embedded interpreter.
pub struct Agent {
    cfg: Arc<AgentConfig>,
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
            aggregator,
            #[cfg(feature = "python")]
            python,
        }
    }

    /// Runs every instance once, concurrently (Python ones across the executor's workers), and
    /// returns the reports in the order given.
    pub fn run_all(&self, instances: &[&InstanceConfig]) -> Vec<RunReport> {
        let mut slots = Vec::with_capacity(instances.len());
        for inst in instances {
            if let Some(check) = native::find(&inst.check) {
                let start = Instant::now();
                let mut batch = crate::aggregator::Batch::default();
                let error = check
                    .run(&inst.instance, &self.cfg.hostname, &mut batch)
                    .err();
                slots.push(Slot::Done(Box::new(RunReport {
                    check: inst.check.clone(),
                    check_id: inst.check_id.clone(),
                    runtime: "native",
                    interpreter: None,
                    duration: start.elapsed(),
                    batch,
                    warnings: Vec::new(),
                    error,
                })));
                continue;
            }
            slots.push(self.start_python(inst));
        }
        slots
            .into_iter()
            .zip(instances)
            .map(|(slot, _inst)| match slot {
                Slot::Done(r) => *r,
                #[cfg(feature = "python")]
                Slot::Python(pending, start) => {
                    let ((warnings, error), interpreter) = pending.wait();
                    RunReport {
                        check: _inst.check.clone(),
                        check_id: _inst.check_id.clone(),
                        runtime: "python",
                        interpreter: Some(interpreter),
                        duration: start.elapsed(),
                        batch: self.aggregator.take(&_inst.check_id),
                        warnings,
                        error,
                    }
                }
            })
            .collect()
    }

    #[cfg(feature = "python")]
    fn start_python(&self, inst: &InstanceConfig) -> Slot {
        match &self.python {
            Ok(Some(rt)) => Slot::Python(Box::new(rt.submit(inst)), Instant::now()),
            Ok(None) => Slot::Done(Box::new(unavailable(inst, "Python was not started"))),
            Err(e) => Slot::Done(Box::new(RunReport {
                check: inst.check.clone(),
                check_id: inst.check_id.clone(),
                runtime: "python",
                interpreter: None,
                duration: Default::default(),
                batch: Default::default(),
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
    Python(Box<crate::python::PendingRun>, Instant),
}

fn unavailable(inst: &InstanceConfig, why: &str) -> RunReport {
    RunReport {
        check: inst.check.clone(),
        check_id: inst.check_id.clone(),
        runtime: "python",
        interpreter: None,
        duration: Default::default(),
        batch: Default::default(),
        warnings: Vec::new(),
        error: Some(CheckError::new(ErrorKind::Unavailable, why)),
    }
}
