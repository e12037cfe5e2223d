//! How an [`Error`] reads: sentences that say what went wrong and what to do.

use std::fmt;

use super::Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Python(e) => fmt::Display::fmt(e, f),
            Error::NotInitialized => f.write_str(
                "the Python interpreter is not initialized: call pyhost::initialize() or \
                 pyhost::Interpreter::builder().start() first",
            ),
            Error::AlreadyInitialized => f.write_str(
                "the Python interpreter was already initialized in this process (CPython \
                 supports one initialization per process)",
            ),
            Error::Finalized => f.write_str(
                "the Python interpreter has been shut down and cannot be used again in this process",
            ),
            Error::ShutdownInsideGil => f.write_str(
                "pyhost::shutdown() was called while this thread holds the GIL; call it outside \
                 any with_gil scope",
            ),
            Error::ShutdownOffThread { started_on } => write!(
                f,
                "pyhost::shutdown() was called on another thread than the one that started \
                 Python ({started_on}); CPython 3.13 and newer finalize only on that thread. \
                 Call it there (the interpreter is still running)"
            ),
            Error::Init { message } => write!(f, "the Python interpreter failed to start: {message}"),
            Error::PythonHome {
                home,
                searched,
                version,
            } => {
                write!(
                    f,
                    "the Python {version} standard library was not found (no `encodings` package \
                     in any of: "
                )?;
                for (i, p) in searched.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", p.display())?;
                }
                f.write_str(")")?;
                if let Some(h) = home {
                    write!(f, " with the Python home set to {}", h.display())?;
                }
                write!(
                    f,
                    ". Install Python {version} on this machine, or ship its standard library \
                     with the program and point Builder::home() at the directory holding \
                     lib/python{version} (PYTHONHOME is ignored by an isolated interpreter)."
                )
            }
            Error::Venv { path, problem } => {
                write!(f, "cannot use the virtual environment {}: {problem}", path.display())
            }
            Error::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::Context { context, source } => write!(f, "{context}: {source}"),
            Error::Timeout { after } => write!(f, "the call timed out after {after:?} and was interrupted"),
            Error::Cancelled => f.write_str("the call was cancelled before it finished"),
            Error::ShutdownTimeout {
                after,
                still_running,
            } => write!(
                f,
                "Python was not shut down: after {after:?} these were still running: {}. The \
                 interpreter keeps running; stop them (or make Python threads daemon threads) \
                 and shut down again, or end the process",
                still_running.join(", ")
            ),
            Error::Stuck { after } => write!(
                f,
                "the call did not return after being interrupted ({after:?}): it is stuck in \
                 native code, and its worker thread was replaced"
            ),
            Error::WorkerCrashed {
                code,
                signal,
                stderr,
            } => {
                match (code, signal) {
                    (_, Some(sig)) => write!(f, "the worker process was killed by signal {sig}")?,
                    (Some(c), None) => write!(f, "the worker process exited with status {c}")?,
                    (None, None) => f.write_str("the worker process closed its channel")?,
                }
                f.write_str(" while running the call; it was replaced")?;
                if !stderr.is_empty() {
                    write!(f, ". Its last lines on stderr:\n  {}", stderr.join("\n  "))?;
                }
                Ok(())
            }
            Error::CircuitOpen {
                crashes,
                window,
                retry_in,
            } => write!(
                f,
                "the worker processes crashed {crashes} times within {window:?}: calls fail at \
                 once for another {retry_in:?} (the errors before this one say why they crashed)"
            ),
            Error::QueueFull { capacity } => {
                write!(f, "the executor's queue is full ({capacity} calls waiting)")
            }
            Error::ExecutorClosed => f.write_str("the executor has been shut down"),
            Error::WrongInterpreter { message } | Error::Unsupported { message } => {
                f.write_str(message)
            }
            Error::RefusesSubinterpreters { module, error } => write!(
                f,
                "extension module '{module}' cannot be loaded in a subinterpreter ({}): run \
                 the code that needs it in the main interpreter (an Executor without \
                 subinterpreters, or `.on_refusal(Refusal::MainInterpreter)`)",
                error.message()
            ),
        }
    }
}
