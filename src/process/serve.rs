//! The worker side: a start of the host binary that serves calls.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::task::{marshal_dumps, run_payload};
use super::{MEMORY_VAR, WORKER_VAR, wire};
use crate::{Builder, Error, Interpreter, Result, with_gil};

/// In a worker process, starts Python (`configure` gets a builder with Python's signal
/// handlers on, so that a deadline's `SIGINT` interrupts the running call), serves calls
/// until the pool goes away, and exits the process. Elsewhere, returns `Ok(())` at once.
/// Call it first thing in `main`, before anything that should only run in the host.
///
/// # Errors
/// In a worker, only when it cannot connect to its pool or start Python (the pool then
/// reports the worker's exit with its stderr).
pub fn serve_if_worker(configure: impl FnOnce(Builder) -> Builder) -> Result<()> {
    let Some(path) = std::env::var_os(WORKER_VAR) else {
        return Ok(());
    };
    let mut channel = UnixStream::connect(&path).map_err(|source| Error::Io {
        path: PathBuf::from(&path),
        source,
    })?;
    // A worker never outlives its host: when the host's end of the channel closes (it exited,
    // crashed, or retires this worker), the worker has 5 s to end in order, then ends at once,
    // even if its main thread is stuck in C and never reads the end of the channel.
    if let Ok(watched) = channel.try_clone() {
        let _ = std::thread::Builder::new()
            .name("pyhost-worker-watch".into())
            .spawn(move || {
                crate::raw::os::wait_peer_closed(&watched);
                std::thread::sleep(Duration::from_secs(5));
                crate::raw::os::exit_now(70);
            });
    }
    if let Some(bytes) = std::env::var(MEMORY_VAR).ok().and_then(|v| v.parse().ok()) {
        if let Err(e) = crate::raw::os::limit_address_space(bytes) {
            eprintln!("pyhost worker: cannot cap its memory at {bytes} bytes: {e}");
        }
    }
    configure(Interpreter::builder().signal_handlers(true)).start()?;
    // Hello: the thread to interrupt at a deadline (the one running Python's calls).
    let tid = crate::raw::os::thread_id().unwrap_or(0);
    wire::write_frame(&mut channel, &[&u64::from(tid).to_le_bytes()]).map_err(|source| {
        Error::Io {
            path: PathBuf::from(&path),
            source,
        }
    })?;
    // Processes Python starts are not workers.
    with_gil(|py| {
        py.import("os")?
            .getattr("environ")?
            .call_method1("pop", (WORKER_VAR, ()))
            .map(drop)
    })?;
    let writer = channel.try_clone().map_err(|source| Error::Io {
        path: PathBuf::from(&path),
        source,
    })?;
    let host = HOST.get_or_init(|| Mutex::new(writer));
    // Until the pool closes the channel.
    while let Ok(frame) = wire::read_frame(&mut channel) {
        let (id, payload) = wire::split_id(&frame).map_err(|source| Error::Io {
            path: PathBuf::from(&path),
            source,
        })?;
        CALL.store(id, Ordering::Relaxed);
        let (status, data) = with_gil(|py| {
            Ok(
                match run_payload(py, payload).and_then(|r| marshal_dumps(py, r)) {
                    Ok(bytes) => (wire::OK, bytes),
                    Err(e) => (wire::RAISED, wire::encode_error(&e.into_py_err())),
                },
            )
        })?;
        let mut out = host.lock().unwrap_or_else(|e| e.into_inner());
        if wire::write_frame(&mut *out, &[&id.to_le_bytes(), &[status], &data]).is_err() {
            break;
        }
    }
    let _ = crate::shutdown_timeout(Duration::from_secs(5));
    std::process::exit(0);
}

/// The channel to the host, in a worker: answers and messages go out through it, one frame
/// at a time.
static HOST: OnceLock<Mutex<UnixStream>> = OnceLock::new();

/// The id of the call the worker runs (or ran last).
static CALL: AtomicU64 = AtomicU64::new(0);

/// Whether this process is a worker of a [`ProcessPool`](super::ProcessPool) serving calls.
pub fn in_worker() -> bool {
    HOST.get().is_some()
}

/// From a worker, sends `data` to the host's handler for `topic`
/// ([`ProcessBuilder::on_message`](super::ProcessBuilder::on_message)); it arrives before
/// the answer of the call running now. This is how a Rust function that runs in a worker
/// reaches the host, for example to hand over a metric.
///
/// ```no_run
/// // In a `#[pyhost::function]` that may run in a worker or in the host:
/// # let line = b"checked 3 hosts";
/// if pyhost::process::in_worker() {
///     pyhost::process::send_to_host("log", line)?;
/// }
/// # Ok::<(), pyhost::Error>(())
/// ```
///
/// # Errors
/// Outside a worker, for a topic with a NUL character, or when the host has gone.
pub fn send_to_host(topic: &str, data: &[u8]) -> Result<()> {
    let Some(host) = HOST.get() else {
        return Err(Error::runtime_error(
            "send_to_host works in a worker process of a ProcessPool only (see in_worker())",
        ));
    };
    if topic.contains('\0') {
        return Err(Error::value_error("a message topic has no NUL character"));
    }
    let id = CALL.load(Ordering::Relaxed);
    let mut out = host.lock().unwrap_or_else(|e| e.into_inner());
    wire::write_frame(
        &mut *out,
        &[
            &id.to_le_bytes(),
            &[wire::MESSAGE],
            topic.as_bytes(),
            &[0],
            data,
        ],
    )
    .map_err(|source| Error::Io {
        path: PathBuf::from("<the worker's channel to its host>"),
        source,
    })
}
