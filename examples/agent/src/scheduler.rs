//! Continuous mode, scheduled like the Datadog Agent's collector: every instance on its own
//! interval, `check_runners` runner threads each running one instance at a time, an instance
//! never run twice at once (a run due while the previous one is still going, or still queued,
//! is skipped and counted), and each run reported as it ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::config::InstanceConfig;
use crate::report::{CheckError, RunReport};
use crate::runner::Agent;

/// What happened to one instance so far.
#[derive(Debug, Clone, Default)]
pub struct InstanceStats {
    /// Runs that ended.
    pub runs: u64,
    /// Of those, runs that failed.
    pub errors: u64,
    /// Runs skipped because the previous one was still going when they were due.
    pub skipped: u64,
    /// When the last run ended.
    pub last_run: Option<SystemTime>,
    /// The last run's duration.
    pub last_duration: Duration,
    /// The longest run.
    pub max_duration: Duration,
    /// All runs' durations added up.
    pub total_duration: Duration,
    /// The last failure (with its traceback), if the last run failed.
    pub last_error: Option<CheckError>,
}

impl InstanceStats {
    fn record(&mut self, r: &RunReport) {
        self.runs += 1;
        self.last_run = Some(SystemTime::now());
        self.last_duration = r.duration;
        self.max_duration = self.max_duration.max(r.duration);
        self.total_duration += r.duration;
        if r.error.is_some() {
            self.errors += 1;
        }
        self.last_error = r.error.clone();
    }
}

/// Messages to the dispatcher.
enum Msg {
    /// A run ended.
    Done(usize, Box<RunReport>),
    /// A queued run was not started: the agent is stopping.
    NotRun(usize),
}

/// Runs `instances` on their intervals until `stop` is set (and `wake` called), calling
/// `on_report` for each run as it ends. Returns each instance's stats, in order. The runs in
/// flight when `stop` is set are waited for (the caller cancels them); queued ones are
/// dropped.
pub fn run(
    agent: &Agent,
    instances: &[InstanceConfig],
    runners: usize,
    stop: &Stopper,
    mut on_report: impl FnMut(&RunReport, &InstanceStats),
) -> Vec<InstanceStats> {
    let n = instances.len();
    let mut book = Book {
        stats: vec![InstanceStats::default(); n],
        in_flight: vec![false; n],
        pending: 0,
    };
    let (job_tx, job_rx) = mpsc::channel::<usize>();
    let job_rx = Mutex::new(job_rx);
    let done_tx = stop.sender();
    let done_rx = stop.receiver();
    std::thread::scope(|s| {
        for _ in 0..runners.max(1) {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            s.spawn(move || {
                loop {
                    let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(i) = job else { break };
                    let msg = if stop.is_set() {
                        Msg::NotRun(i)
                    } else {
                        Msg::Done(i, Box::new(agent.run_one(&instances[i])))
                    };
                    if done_tx.send(Some(msg)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let start = Instant::now();
        let mut next_due = vec![start; n];
        while !stop.is_set() {
            let now = Instant::now();
            for i in 0..n {
                if next_due[i] > now {
                    continue;
                }
                if book.in_flight[i] {
                    book.stats[i].skipped += 1;
                    log::warn!(
                        "{}: the previous run is still going ({} s interval): this run is skipped",
                        instances[i].check_id,
                        instances[i].interval.as_secs_f64()
                    );
                } else if job_tx.send(i).is_ok() {
                    book.in_flight[i] = true;
                    book.pending += 1;
                }
                // The next slot on the instance's own cadence; slots the agent itself slept
                // through are skipped too.
                let interval = instances[i].interval.max(Duration::from_millis(10));
                next_due[i] += interval;
                while next_due[i] <= now {
                    next_due[i] += interval;
                    book.stats[i].skipped += 1;
                }
            }
            let wake = next_due
                .iter()
                .min()
                .copied()
                .unwrap_or(now + Duration::from_secs(15));
            match done_rx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv_timeout(wake.saturating_duration_since(Instant::now()))
            {
                Ok(Some(msg)) => book.handle(msg, &mut on_report),
                Ok(None) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        // Stopping: no new runs; the ones in flight end (cancelled by the caller) and are
        // reported.
        drop(job_tx);
        let rx = done_rx.lock().unwrap_or_else(|e| e.into_inner());
        while book.pending > 0 {
            match rx.recv() {
                Ok(Some(msg)) => book.handle(msg, &mut on_report),
                Ok(None) => {}
                Err(_) => break,
            }
        }
    });
    book.stats
}

/// The dispatcher's account of the instances: stats, runs in flight, how many.
struct Book {
    stats: Vec<InstanceStats>,
    in_flight: Vec<bool>,
    pending: usize,
}

impl Book {
    /// A run ended (reported) or was not started.
    fn handle(&mut self, msg: Msg, on_report: &mut impl FnMut(&RunReport, &InstanceStats)) {
        let i = match msg {
            Msg::Done(i, report) => {
                self.stats[i].record(&report);
                on_report(&report, &self.stats[i]);
                i
            }
            Msg::NotRun(i) => i,
        };
        self.in_flight[i] = false;
        self.pending -= 1;
    }
}

/// The stop signal of [`run`]: a flag, and a wake-up for the dispatcher's wait.
pub struct Stopper {
    flag: AtomicBool,
    tx: Mutex<mpsc::Sender<Option<Msg>>>,
    rx: Mutex<mpsc::Receiver<Option<Msg>>>,
}

impl Default for Stopper {
    fn default() -> Stopper {
        let (tx, rx) = mpsc::channel();
        Stopper {
            flag: AtomicBool::new(false),
            tx: Mutex::new(tx),
            rx: Mutex::new(rx),
        }
    }
}

impl Stopper {
    /// Stops the schedule (from a signal handler's thread, say). True the first time.
    pub fn stop(&self) -> bool {
        let first = !self.flag.swap(true, Ordering::SeqCst);
        let _ = self.tx.lock().unwrap_or_else(|e| e.into_inner()).send(None);
        first
    }

    /// Set once [`Stopper::stop`] was called.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    fn sender(&self) -> mpsc::Sender<Option<Msg>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn receiver(&self) -> &Mutex<mpsc::Receiver<Option<Msg>>> {
        &self.rx
    }
}

/// Shared between the signal handler and the main thread.
pub type SharedStopper = Arc<Stopper>;
