//! The worker side: a start of the host binary that serves calls.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
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
    // Until the pool closes the channel.
    while let Ok(frame) = wire::read_frame(&mut channel) {
        let (id, payload) = wire::split_id(&frame).map_err(|source| Error::Io {
            path: PathBuf::from(&path),
            source,
        })?;
        let (status, data) = with_gil(|py| {
            Ok(
                match run_payload(py, payload).and_then(|r| marshal_dumps(py, r)) {
                    Ok(bytes) => (wire::OK, bytes),
                    Err(e) => (wire::RAISED, wire::encode_error(&e.into_py_err())),
                },
            )
        })?;
        if wire::write_frame(&mut channel, &[&id.to_le_bytes(), &[status], &data]).is_err() {
            break;
        }
    }
    let _ = crate::shutdown_timeout(Duration::from_secs(5));
    std::process::exit(0);
}
