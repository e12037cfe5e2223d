//! One slot of a pool: a worker process, started, fed and replaced.

use std::collections::VecDeque;
use std::io::{BufRead, ErrorKind as IoKind};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cgroup::Cgroup;
use super::pool::{Reply, Shared};
use super::{MEMORY_VAR, STDERR_LINES, WORKER_VAR, wire};
use crate::{Error, Result};

/// One running worker process.
struct Worker {
    child: Child,
    /// The worker's thread that runs calls (`None`: signal the process).
    tid: Option<u32>,
    /// Requests go out and answers come in here. An answer is read only once poll(2) says
    /// it has begun to arrive, so a wait that times out never cuts a frame.
    channel: UnixStream,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// The thread reading stderr: done once the pipe is closed.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    /// Its cgroup, with a cgroup memory cap (dropped, so removed, after the process).
    cgroup: Option<Cgroup>,
}

impl Worker {
    /// Starts a worker and waits for it to connect.
    fn start(shared: &Shared, slot: usize) -> Result<Worker> {
        static SPAWNED: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "pyhost-worker-{}-{slot}-{}.sock",
            std::process::id(),
            SPAWNED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let listener = UnixListener::bind(&path).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let mut child = Command::new(&shared.program)
            .args(&shared.config.args)
            .env(WORKER_VAR, &path)
            .envs(
                shared
                    .config
                    .memory_limit
                    .map(|b| (MEMORY_VAR, b.to_string())),
            )
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Io {
                path: shared.program.clone(),
                source,
            })?;
        shared.stats.started.fetch_add(1, Ordering::Relaxed);
        let cgroup = match (&shared.cgroup_parent, shared.config.cgroup_memory) {
            (Some(parent), Some(bytes)) => {
                let placed = Cgroup::create(
                    parent,
                    &format!("pyhost-worker-{}-{}", std::process::id(), child.id()),
                    bytes,
                )
                .and_then(|cg| cg.add(child.id()).map(|()| cg));
                match placed {
                    Ok(cg) => Some(cg),
                    Err(why) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        let _ = std::fs::remove_file(&path);
                        return Err(Error::runtime_error(format!(
                            "a worker process could not be given its memory cap: {why}"
                        )));
                    }
                }
            }
            _ => None,
        };
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let mut stderr_reader = None;
        if let Some(pipe) = child.stderr.take() {
            let kept = stderr.clone();
            let pid = child.id();
            stderr_reader = std::thread::Builder::new()
                .name(format!("pyhost-worker-{pid}-stderr"))
                .spawn(move || {
                    for line in std::io::BufReader::new(pipe).lines().map_while(|l| l.ok()) {
                        eprintln!("[worker {pid}] {line}");
                        let mut k = kept.lock().unwrap_or_else(|e| e.into_inner());
                        if k.len() == STDERR_LINES {
                            k.pop_front();
                        }
                        k.push_back(line);
                    }
                })
                .ok();
        }
        let started = Instant::now();
        let channel = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                Err(e) => return Err(io(e)),
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = std::fs::remove_file(&path);
                return Err(crashed(status, &stderr));
            }
            if started.elapsed() > shared.config.start_timeout {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(&path);
                return Err(Error::runtime_error(format!(
                    "the worker process did not connect within {:?}: does `{}` call \
                     pyhost::process::serve_if_worker first thing in main?",
                    shared.config.start_timeout,
                    shared.program.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = std::fs::remove_file(&path);
        channel.set_nonblocking(false).map_err(io)?;
        // The hello frame, once Python is up.
        let mut channel = channel;
        let left = shared
            .config
            .start_timeout
            .saturating_sub(started.elapsed());
        channel
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(io)?;
        let tid =
            match wire::read_frame(&mut channel).and_then(|f| wire::split_id(&f).map(|(t, _)| t)) {
                Ok(t) => u32::try_from(t).ok().filter(|&t| t != 0),
                Err(_) => {
                    let _ = child.kill();
                    return Err(match child.wait() {
                        Ok(status) => crashed(status, &stderr),
                        Err(e) => io(e),
                    });
                }
            };
        channel.set_read_timeout(None).map_err(io)?;
        Ok(Worker {
            child,
            tid,
            channel,
            stderr,
            stderr_reader,
            cgroup,
        })
    }

    /// Ends the worker in order: closing the channel makes it shut Python down and exit;
    /// killed if it has not within 5 s.
    fn retire(self) {
        let _ = self.channel.shutdown(std::net::Shutdown::Both);
        drop(self.channel);
        let mut child = self.child;
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the process and reaps it.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The error for a worker that went away: waits for its exit and reads its stderr.
    fn crash_error(mut self) -> Error {
        let status = self.child.wait();
        // The last lines are in once the reader has seen the pipe close; a process the worker
        // started may keep it open, so wait a second at most.
        if let Some(reader) = &self.stderr_reader {
            let until = Instant::now() + Duration::from_secs(1);
            while !reader.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if let Some(cg) = self.cgroup.as_ref().filter(|cg| cg.oom_killed()) {
            self.stderr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(format!(
                    "pyhost: the worker reached its memory cap (cgroup memory.max, {} bytes) \
                     and the kernel killed it",
                    cg.max()
                ));
        }
        match status {
            Ok(s) => crashed(s, &self.stderr),
            Err(_) => Error::WorkerCrashed {
                code: None,
                signal: None,
                stderr: Vec::new(),
            },
        }
    }
}

fn crashed(status: std::process::ExitStatus, stderr: &Mutex<VecDeque<String>>) -> Error {
    Error::WorkerCrashed {
        code: status.code(),
        signal: status.signal(),
        stderr: stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect(),
    }
}

/// How one call on a worker ended.
enum Outcome {
    /// The worker answered; it stays.
    Answer(u8, Vec<u8>),
    /// Interrupted at the deadline and answered within the grace period. The worker is
    /// replaced all the same: the interrupt may still be pending in it.
    Interrupted,
    /// No answer within the grace period: killed.
    Killed,
}

/// One call, as a slot runs it.
pub(super) struct CallSpec<'a> {
    pub(super) id: u64,
    pub(super) payload: &'a [u8],
    pub(super) timeout: Option<Duration>,
    /// Set when the caller dropped the call (queued calls only).
    pub(super) reply: Option<&'a Reply>,
}

impl CallSpec<'_> {
    fn is_cancelled(&self) -> bool {
        self.reply.is_some_and(Reply::is_cancelled)
    }
}

/// A place for one worker process: whoever holds it (a pool thread running a queued call,
/// or a caller running its own call) starts, feeds and replaces its worker. Idle slots wait
/// in the pool's queue.
pub(super) struct Slot {
    index: usize,
    worker: Option<Worker>,
    /// The wait before the next start, after a crash.
    backoff: Duration,
    /// Calls in a row whose answer did not come within the spin; past 3, a caller polls
    /// only on one call in 32, to see whether calls have become short again.
    spin_misses: u32,
    calls: u32,
}

impl Slot {
    pub(super) fn new(index: usize) -> Slot {
        Slot {
            index,
            worker: None,
            backoff: Duration::ZERO,
            spin_misses: 0,
            calls: 0,
        }
    }

    /// Its place in the pool.
    pub(super) fn index(&self) -> usize {
        self.index
    }

    /// Runs one call on this slot's worker, starting one first when needed; returns the
    /// `marshal`led result.
    pub(super) fn run(&mut self, shared: &Shared, call: &CallSpec<'_>) -> Result<Vec<u8>> {
        if call.is_cancelled() {
            return Err(Error::Cancelled);
        }
        shared.check_circuit()?;
        if !self.backoff.is_zero() {
            std::thread::sleep(std::mem::take(&mut self.backoff));
        }
        let mut w = match self.worker.take() {
            Some(w) => w,
            None => match Worker::start(shared, self.index) {
                Ok(w) => {
                    // Listed from its start (its first call may be a long one).
                    shared.live.lock().unwrap_or_else(|e| e.into_inner())[self.index] =
                        Some((w.child.id(), 0));
                    w
                }
                Err(e) => {
                    self.backoff = shared.crashed();
                    return Err(e);
                }
            },
        };
        // A caller waiting for its own call polls a while first, when the last call on this
        // worker answered within that while.
        self.calls = self.calls.wrapping_add(1);
        let spin = if call.reply.is_some() {
            Duration::ZERO
        } else if self.spin_misses < 3 || self.calls % 32 == 0 {
            SPIN
        } else {
            Duration::ZERO
        };
        let sent = Instant::now();
        let end = run_job(shared, &mut w, call, spin);
        if !spin.is_zero() {
            if sent.elapsed() <= SPIN {
                self.spin_misses = 0;
            } else {
                self.spin_misses = self.spin_misses.saturating_add(1);
            }
        }
        let pid = w.child.id();
        let calls = {
            let mut live = shared.live.lock().unwrap_or_else(|e| e.into_inner());
            let calls = match live[self.index] {
                Some((p, n)) if p == pid => n + 1,
                _ => 1,
            };
            live[self.index] = Some((pid, calls));
            calls
        };
        let end = match end {
            JobEnd::Keep(reply) if shared.config.max_calls.is_some_and(|m| calls >= m) => {
                shared.stats.recycled.fetch_add(1, Ordering::Relaxed);
                JobEnd::Retire(reply)
            }
            other => other,
        };
        if !matches!(end, JobEnd::Keep(_)) {
            shared.live.lock().unwrap_or_else(|e| e.into_inner())[self.index] = None;
        }
        match end {
            JobEnd::Keep(reply) => {
                self.worker = Some(w);
                reply
            }
            JobEnd::Replace(reply) => {
                w.kill();
                reply
            }
            JobEnd::Retire(reply) => {
                // It exits in order in the background; the answer is not held up.
                let _ = std::thread::Builder::new()
                    .name("pyhost-worker-retire".into())
                    .spawn(move || w.retire());
                reply
            }
            JobEnd::Crashed => {
                shared.stats.crashed.fetch_add(1, Ordering::Relaxed);
                let error = w.crash_error();
                self.backoff = shared.crashed();
                Err(error)
            }
        }
    }

    /// Ends this slot's worker in order (the pool is shutting down).
    pub(super) fn retire(mut self, shared: &Shared) {
        if let Some(w) = self.worker.take() {
            w.retire();
        }
        shared.live.lock().unwrap_or_else(|e| e.into_inner())[self.index] = None;
    }
}

/// A pool thread: runs queued calls on idle slots, until the pool closes.
pub(super) fn queue_loop(shared: &Arc<Shared>, home: usize) {
    while let Some((mut job, mut slot)) = shared.next_queued(home) {
        // The slot stays with this thread while calls are queued: no hand-over, no wake-up.
        loop {
            let spec = CallSpec {
                id: job.id,
                payload: &job.payload,
                timeout: job.timeout,
                reply: Some(&job.reply),
            };
            let result = slot.run(shared, &spec);
            job.reply.send(result);
            match shared.next_queued_now() {
                Some(next) => job = next,
                None => break,
            }
        }
        shared.give_back(slot);
    }
}

/// What becomes of the worker after a job.
enum JobEnd {
    /// It stays.
    Keep(Result<Vec<u8>>),
    /// Killed (interrupted or unresponsive).
    Replace(Result<Vec<u8>>),
    /// Ended in order (it answered its last call).
    Retire(Result<Vec<u8>>),
    /// It died.
    Crashed,
}

fn run_job(shared: &Shared, w: &mut Worker, call: &CallSpec<'_>, spin: Duration) -> JobEnd {
    let timed_out = || {
        if call.is_cancelled() {
            Error::Cancelled
        } else {
            Error::Timeout {
                after: call.timeout.unwrap_or_default(),
            }
        }
    };
    match exchange(shared, w, call, spin) {
        Some(Outcome::Answer(status, data)) => {
            shared.stats.calls.fetch_add(1, Ordering::Relaxed);
            shared.answered();
            JobEnd::Keep(if status == wire::OK {
                Ok(data)
            } else {
                Err(Error::Python(wire::decode_error(&data)))
            })
        }
        Some(Outcome::Interrupted) => {
            shared.stats.calls.fetch_add(1, Ordering::Relaxed);
            JobEnd::Replace(Err(timed_out()))
        }
        Some(Outcome::Killed) => {
            shared.stats.killed.fetch_add(1, Ordering::Relaxed);
            JobEnd::Replace(Err(timed_out()))
        }
        None => JobEnd::Crashed,
    }
}

/// How often a call's wait looks at whether its caller still wants it.
const POLL: Duration = Duration::from_millis(20);

/// How long a caller waiting for its own call polls before it sleeps, when the worker's
/// last answer came quickly. Between two processes on different CPUs, each sleep ends with
/// a wake-up of an idle CPU, which on a VM without halt polling costs tens of microseconds
/// (measured here: a no-op call took 70 µs sleeping, 19 µs polling first).
const SPIN: Duration = Duration::from_micros(50);

/// Waits for `fd` to be readable: polls until `until`, then sleeps for what is left of
/// `wait`.
fn spin_readable(
    fd: &impl std::os::fd::AsRawFd,
    until: Instant,
    wait: Duration,
) -> std::io::Result<bool> {
    let start = Instant::now();
    while Instant::now() < until {
        if crate::raw::os::wait_readable(fd, Duration::ZERO)? {
            return Ok(true);
        }
        std::thread::yield_now();
    }
    crate::raw::os::wait_readable(fd, wait.saturating_sub(start.elapsed()))
}

/// Sends a call to the worker and waits for its answer, passing on the messages the worker
/// sends meanwhile, interrupting it at the deadline (or when the caller drops the call) and
/// giving up after the grace period; `None` when the worker went away.
fn exchange(
    shared: &Shared,
    worker: &mut Worker,
    call: &CallSpec<'_>,
    spin: Duration,
) -> Option<Outcome> {
    let grace = shared.config.grace;
    wire::write_frame(&mut worker.channel, &[&call.id.to_le_bytes(), call.payload]).ok()?;
    let started = Instant::now();
    let deadline = call.timeout.map(|t| started + t);
    let mut interrupted_at: Option<Instant> = None;
    let mut spin_until = (!spin.is_zero()).then(|| started + spin);
    loop {
        let act_at = match interrupted_at {
            Some(t) => Some(t + grace),
            None => deadline,
        };
        let wait = act_at
            .map_or(POLL, |a| a.saturating_duration_since(Instant::now()))
            .min(POLL);
        let ready = match spin_until.take() {
            // Most short calls answer within the spin: no sleep, no wake-up.
            Some(until) => spin_readable(&worker.channel, until, wait),
            None => crate::raw::os::wait_readable(&worker.channel, wait),
        };
        match ready {
            Ok(true) => {
                let frame = wire::read_frame(&mut worker.channel).ok()?;
                let (id, rest) = wire::split_id(&frame).ok()?;
                match rest.split_first() {
                    // Sent by the worker while it runs (or by a thread of its after an
                    // earlier call): passed on whatever its id.
                    Some((&wire::MESSAGE, message)) => shared.deliver(message),
                    Some((&status, data)) if id == call.id => {
                        return Some(match interrupted_at {
                            Some(_) => Outcome::Interrupted,
                            None => Outcome::Answer(status, data.to_vec()),
                        });
                    }
                    _ => return None,
                }
            }
            Ok(false) => {}
            Err(_) => return None,
        }
        // Checked after messages too: a worker sending without end still meets its deadline.
        let now = Instant::now();
        match interrupted_at {
            Some(t) if now >= t + grace => return Some(Outcome::Killed),
            Some(_) => {}
            None if call.is_cancelled() || deadline.is_some_and(|d| now >= d) => {
                crate::raw::os::interrupt(worker.child.id(), worker.tid);
                interrupted_at = Some(now);
            }
            None => {}
        }
    }
}
