//! Errors: [`Error`], the crate's one error type, and [`PyErr`], a Python exception as data.
//!
//! A Python exception is fetched in the GIL scope of the call that raised it and recorded as a
//! [`PyErr`]: qualified type name, message, traceback frames and cause chain, plus the
//! exception object itself so it can be raised again unchanged. A `PyErr` is `Send + Sync` and
//! displays without the GIL. No exception is ever left set in the interpreter or lost.
//!
//! ```
//! # pyhost::initialize_once().unwrap();
//! use pyhost::{Error, ExceptionKind};
//! let err = pyhost::with_gil(|py| {
//!     py.exec("def f():\n    raise KeyError('missing')\nf()\n")?;
//!     Ok(())
//! })
//! .unwrap_err();
//! let Error::Python(e) = &err else { panic!("{err}") };
//! assert_eq!(e.type_name(), "KeyError");
//! assert_eq!(e.kind(), ExceptionKind::Exception);
//! assert_eq!(e.frames().last().unwrap().function, "f");
//! assert!(e.traceback().contains("line 2, in f"));
//! ```

pub(crate) mod capture;
mod display;
mod exceptions;

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use exceptions::{CustomClass, ExceptionType};

use crate::raw::{self, Check};
use crate::types::Any;
use crate::{Object, Python, Unbound};

/// Everything that can go wrong in pyhost.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A Python exception (including `SystemExit`, `KeyboardInterrupt` and a Rust panic that
    /// crossed Python: see [`PyErr::kind`]).
    Python(PyErr),
    /// The interpreter has not been started: call [`crate::initialize`] (or use
    /// [`crate::Interpreter::builder`]) first.
    NotInitialized,
    /// The interpreter was already started in this process; CPython supports one
    /// initialization per process.
    AlreadyInitialized,
    /// The interpreter was shut down (or is shutting down); it cannot be used again in this
    /// process.
    Finalized,
    /// [`crate::shutdown`] was called while this thread holds the GIL; call it outside any
    /// [`crate::with_gil`] scope.
    ShutdownInsideGil,
    /// [`crate::shutdown`] was called on another thread than the one that started Python, on
    /// CPython 3.13 or newer, which finalizes only there (elsewhere it would free the calling
    /// thread's state while still using it). The interpreter keeps running.
    ShutdownOffThread {
        /// The thread that started Python: its name, or its id.
        started_on: String,
    },
    /// [`crate::shutdown_timeout`] gave up at its deadline: Python threads (or `with_gil`
    /// scopes on other threads) were still running. The interpreter was not finalized and
    /// keeps running, its standard streams flushed: stop those threads and call it again, or
    /// end the process (`std::process::exit`).
    ShutdownTimeout {
        /// How long it waited.
        after: Duration,
        /// What it waited for: the Python threads still running (`name (ident)`), or the
        /// number of `with_gil` scopes in progress on other threads.
        still_running: Vec<String>,
    },
    /// CPython refused to start.
    Init {
        /// What CPython reported.
        message: String,
    },
    /// The Python standard library (the `encodings` package) is not where the interpreter
    /// looks for it: typically a binary moved to a machine without that Python.
    PythonHome {
        /// The Python home in effect, if any.
        home: Option<PathBuf>,
        /// Every directory the interpreter would search.
        searched: Vec<PathBuf>,
        /// The version of the linked libpython.
        version: String,
    },
    /// A virtual environment given to the builder cannot be used.
    Venv {
        /// The venv directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Reading a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error with a description of what was being done.
    Context {
        /// What was being done, e.g. "loading check disk".
        context: String,
        /// What went wrong.
        source: Box<Error>,
    },
    /// A call ran past its deadline and was interrupted.
    Timeout {
        /// The deadline it had.
        after: Duration,
    },
    /// A call was cancelled before it finished (its future was dropped, or the executor shut
    /// down).
    Cancelled,
    /// A call did not return to the interpreter after being interrupted: it is stuck in native
    /// code. The executor replaced the worker running it.
    Stuck {
        /// How long the call had run when it was given up.
        after: Duration,
    },
    /// A process worker ([`crate::process`]) died while running the call: it exited, was
    /// killed by a signal (a segfault, an abort, the OOM killer) or closed its channel. The
    /// worker is replaced; the call is not retried.
    WorkerCrashed {
        /// Its exit code, if it exited.
        code: Option<i32>,
        /// The signal that killed it, if one did.
        signal: Option<i32>,
        /// The last lines it wrote to stderr.
        stderr: Vec<String>,
    },
    /// Process workers crashed too often ([`crate::process::ProcessBuilder::max_restarts`]):
    /// calls fail at once, without starting a worker, until the cool-down has passed.
    CircuitOpen {
        /// The crashes counted.
        crashes: usize,
        /// The window they happened in.
        window: Duration,
        /// How long calls keep failing.
        retry_in: Duration,
    },
    /// The executor's queue is full.
    QueueFull {
        /// Its capacity.
        capacity: usize,
    },
    /// The executor was shut down.
    ExecutorClosed,
    /// Interpreters were mixed up: an object of one interpreter used in another, or a thread
    /// entering an interpreter while it holds another one's GIL. Objects never cross
    /// interpreters; Rust values do.
    WrongInterpreter {
        /// What was attempted, and what to do instead.
        message: String,
    },
    /// What was asked needs a newer CPython (subinterpreters with their own GIL need 3.12).
    Unsupported {
        /// What, and since which version.
        message: String,
    },
    /// An extension module cannot be loaded in a subinterpreter (it uses single-phase
    /// initialization, or says it does not support several interpreters).
    RefusesSubinterpreters {
        /// The module that refused (as imported).
        module: String,
        /// The `ImportError` CPython raised.
        error: Box<PyErr>,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of `BaseException` a [`PyErr`] is: ordinary exceptions are told apart from the ones
/// that mean "stop".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExceptionKind {
    /// An `Exception` subclass: an ordinary error.
    Exception,
    /// `SystemExit`, with the exit code it carries (0 for `None`, 1 for a non-integer code).
    /// The process was not exited.
    SystemExit {
        /// The exit code.
        code: i32,
    },
    /// `KeyboardInterrupt`.
    KeyboardInterrupt,
    /// A Rust panic inside a function called from Python (`pyhost.PanicException`).
    RustPanic,
    /// Another `BaseException` subclass (`GeneratorExit`, or a user class).
    OtherBaseException,
}

/// One traceback entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The source file (`co_filename`).
    pub file: String,
    /// The line number.
    pub line: u32,
    /// The function (`co_name`).
    pub function: String,
}

/// Where a `SyntaxError` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxLocation {
    /// The file being compiled.
    pub file: String,
    /// The line.
    pub line: u32,
    /// The column (1-based), if known.
    pub offset: Option<u32>,
    /// The offending source line, if known.
    pub text: Option<String>,
    /// The bare message (`invalid syntax`).
    pub msg: Option<String>,
}

/// How an exception is linked to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseKind {
    /// `raise ... from cause`.
    Cause,
    /// Raised while handling another exception.
    Context,
}

/// A Python exception, recorded while the GIL was held.
///
/// `Display` gives `TypeName: message`; `{:#}` and [`PyErr::traceback`] give the full
/// traceback as Python prints it, cause chain included. [`std::error::Error::source`] returns
/// the cause.
pub struct PyErr(Box<PyErrInner>);

struct PyErrInner {
    type_name: String,
    message: String,
    kind: ExceptionKind,
    frames: Vec<Frame>,
    syntax: Option<SyntaxLocation>,
    cause: Option<(CauseKind, PyErr)>,
    raise: Raise,
}

/// How to put the exception (back) into the interpreter.
enum Raise {
    /// The original exception object.
    Object(Unbound<Any>),
    /// Not raised yet: a class and a message, created when needed.
    Lazy(ExceptionType),
}

impl PyErr {
    /// A new exception of `class` with `message`, not raised yet: it becomes a Python exception
    /// when returned to Python (or converted with [`PyErr::to_object`]).
    #[cold]
    pub fn new(class: ExceptionType, message: impl Into<String>) -> PyErr {
        let kind = match class {
            ExceptionType::SystemExit => ExceptionKind::SystemExit { code: 1 },
            ExceptionType::KeyboardInterrupt => ExceptionKind::KeyboardInterrupt,
            ExceptionType::BaseException => ExceptionKind::OtherBaseException,
            _ => ExceptionKind::Exception,
        };
        PyErr(Box::new(PyErrInner {
            type_name: class.name(),
            message: message.into(),
            kind,
            frames: Vec::new(),
            syntax: None,
            cause: None,
            raise: Raise::Lazy(class),
        }))
    }

    /// A new exception of `class` for a Rust error, carrying its message and, as the Python
    /// `__cause__` chain, its [`source`](std::error::Error::source) chain.
    #[cold]
    pub fn from_error(class: ExceptionType, error: &(dyn std::error::Error + 'static)) -> PyErr {
        let mut err = PyErr::new(class.clone(), error.to_string());
        if let Some(source) = error.source() {
            err.0.cause = Some((CauseKind::Cause, PyErr::from_error(class, source)));
        }
        err
    }

    /// An exception raised in another process (a [`crate::process`] worker), rebuilt from
    /// what crossed: class name, message, kind, frames (its cause chain stays there). Raised
    /// again here as the builtin class of that name, else `Exception`.
    #[cold]
    pub(crate) fn remote(
        type_name: String,
        message: String,
        kind: ExceptionKind,
        frames: Vec<Frame>,
    ) -> PyErr {
        let short = type_name.rsplit('.').next().unwrap_or_default();
        let class = ExceptionType::builtin_named(short).unwrap_or(ExceptionType::Exception);
        PyErr(Box::new(PyErrInner {
            type_name,
            message,
            kind,
            frames,
            syntax: None,
            cause: None,
            raise: Raise::Lazy(class),
        }))
    }

    /// Takes the exception currently raised in the interpreter. If none is set (a C call
    /// reported failure without one), returns a `SystemError` saying so.
    #[cold]
    pub fn fetch(py: Python<'_>) -> PyErr {
        match capture::take_raised(py) {
            Some(v) => capture::capture(v),
            None => PyErr::new(
                ExceptionType::SystemError,
                "a Python C-API call failed without setting an exception",
            ),
        }
    }

    /// Records an exception instance (for example one caught and passed to Rust).
    ///
    /// # Errors
    /// `TypeError` if `value` is not an exception instance.
    pub fn from_value(value: &Object<'_, Any>) -> crate::Result<PyErr> {
        if raw::is(value, Check::ExceptionInstance) {
            Ok(capture::capture(value.clone()))
        } else {
            Err(Error::type_error(format!(
                "exceptions must derive from BaseException, not {}",
                capture::type_name_of(value)
            )))
        }
    }

    /// The exception's class, qualified by its module unless it is a builtin
    /// (`ValueError`, `json.decoder.JSONDecodeError`).
    pub fn type_name(&self) -> &str {
        &self.0.type_name
    }

    /// `str(exception)`.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Ordinary exception, `SystemExit`, `KeyboardInterrupt`, Rust panic or other.
    pub fn kind(&self) -> ExceptionKind {
        self.0.kind
    }

    /// The traceback entries, oldest first (most recent call last).
    pub fn frames(&self) -> &[Frame] {
        &self.0.frames
    }

    /// Where a `SyntaxError` points.
    pub fn syntax_location(&self) -> Option<&SyntaxLocation> {
        self.0.syntax.as_ref()
    }

    /// The exception this one was raised from or while handling.
    pub fn cause(&self) -> Option<(CauseKind, &PyErr)> {
        self.0.cause.as_ref().map(|(k, e)| (*k, e))
    }

    /// Whether the exception is an instance of `class` (or a subclass).
    pub fn is_instance(&self, py: Python<'_>, class: &ExceptionType) -> bool {
        let class = class.to_object(py);
        match &self.0.raise {
            Raise::Object(v) => match v.try_bind(py) {
                Ok(v) => raw::exception_matches(&v, &class),
                Err(_) => raw::exception_matches(&self.builtin_class().to_object(py), &class),
            },
            Raise::Lazy(own) => raw::exception_matches(&own.to_object(py), &class),
        }
    }

    /// The full traceback, formatted as Python prints it, cause chain first. Source lines are
    /// read from the files when they can be.
    pub fn traceback(&self) -> String {
        let mut out = String::new();
        if let Some((kind, cause)) = &self.0.cause {
            out.push_str(&cause.traceback());
            out.push_str(match kind {
                CauseKind::Cause => {
                    "\nThe above exception was the direct cause of the following exception:\n\n"
                }
                CauseKind::Context => {
                    "\nDuring handling of the above exception, another exception occurred:\n\n"
                }
            });
        }
        if !self.0.frames.is_empty() {
            out.push_str("Traceback (most recent call last):\n");
            for f in &self.0.frames {
                out.push_str(&format!(
                    "  File \"{}\", line {}, in {}\n",
                    f.file, f.line, f.function
                ));
                if let Some(src) = source_line(&f.file, f.line) {
                    out.push_str(&format!("    {src}\n"));
                }
            }
        }
        if let Some(s) = &self.0.syntax {
            out.push_str(&format!("  File \"{}\", line {}\n", s.file, s.line));
            if let Some(text) = &s.text {
                let trimmed = text.trim_end();
                let indent = trimmed.len() - trimmed.trim_start().len();
                out.push_str(&format!("    {}\n", trimmed.trim_start()));
                if let Some(off) = s.offset {
                    let col = (off as usize).saturating_sub(1).saturating_sub(indent);
                    out.push_str(&format!("    {}^\n", " ".repeat(col)));
                }
            }
            let msg = s.msg.as_deref().unwrap_or(&self.0.message);
            out.push_str(&format!("{}: {msg}\n", self.0.type_name));
        } else {
            out.push_str(&format!("{self}\n"));
        }
        out
    }

    /// The exception as a Python object (creating it if it was made in Rust), with its cause
    /// chain attached.
    pub fn to_object<'py>(&self, py: Python<'py>) -> Object<'py, Any> {
        match &self.0.raise {
            Raise::Object(v) => match v.try_bind(py) {
                Ok(v) => v.to_owned(),
                // Raised in another interpreter: a new exception of the same builtin class
                // (or `Exception`), with the same message and cause chain.
                Err(_) => self.remade(py, &self.builtin_class()),
            },
            Raise::Lazy(class) => self.remade(py, class),
        }
    }

    /// The builtin class of this exception's name, else `Exception`: what it becomes in
    /// another interpreter than the one that raised it.
    fn builtin_class(&self) -> ExceptionType {
        let name = self.0.type_name.rsplit('.').next().unwrap_or_default();
        ExceptionType::builtin_named(name).unwrap_or(ExceptionType::Exception)
    }

    /// A new exception of `class` with this one's message and cause chain.
    fn remade<'py>(&self, py: Python<'py>, class: &ExceptionType) -> Object<'py, Any> {
        let value = instantiate(py, class, &self.0.message);
        if let Some((kind, cause)) = &self.0.cause {
            let c = cause.to_object(py);
            raw::exception_set_cause(&value, c, *kind == CauseKind::Cause);
        }
        value
    }

    /// Raises the exception in the interpreter (for a function returning to Python).
    pub fn restore(self, py: Python<'_>) {
        raw::set_raised(self.to_object(py));
    }
}

/// `class(message)`, or a `SystemError` describing why that failed.
fn instantiate<'py>(py: Python<'py>, class: &ExceptionType, message: &str) -> Object<'py, Any> {
    match class.to_object(py).call1((message,)) {
        Ok(v) if raw::is(&v, Check::ExceptionInstance) => return v,
        // A secondary error (fetched and so cleared), or not an exception at all.
        _ => {}
    }
    let system_error = raw::exception_class!(py, PyExc_SystemError);
    let fallback = format!("could not create {} for: {message}", class.name());
    match system_error.call1((fallback,)) {
        Ok(v) => v,
        // Out of memory: the class itself still says what happened.
        Err(_) => system_error,
    }
}

fn source_line(file: &str, line: u32) -> Option<String> {
    if line == 0 || file.starts_with('<') {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let l = text.lines().nth(line as usize - 1)?.trim();
    (!l.is_empty()).then(|| l.to_owned())
}

impl fmt::Display for PyErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f.write_str(self.traceback().trim_end());
        }
        if self.0.message.is_empty() {
            f.write_str(&self.0.type_name)
        } else {
            write!(f, "{}: {}", self.0.type_name, self.0.message)
        }
    }
}

impl fmt::Debug for PyErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyErr")
            .field("type_name", &self.0.type_name)
            .field("message", &self.0.message)
            .field("kind", &self.0.kind)
            .field("frames", &self.0.frames)
            .field("cause", &self.0.cause.as_ref().map(|(_, c)| c))
            .finish()
    }
}

impl std::error::Error for PyErr {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .cause
            .as_ref()
            .map(|(_, c)| c as &(dyn std::error::Error + 'static))
    }
}

// ---------------------------------------------------------------------------------------------
// Error

impl Error {
    /// Takes the exception currently raised in the interpreter.
    #[cold]
    pub fn fetch(py: Python<'_>) -> Error {
        Error::Python(PyErr::fetch(py))
    }

    /// A `TypeError` with `message`.
    #[cold]
    pub fn type_error(message: impl Into<String>) -> Error {
        Error::Python(PyErr::new(ExceptionType::TypeError, message))
    }

    /// A `ValueError` with `message`.
    #[cold]
    pub fn value_error(message: impl Into<String>) -> Error {
        Error::Python(PyErr::new(ExceptionType::ValueError, message))
    }

    /// An `OverflowError` with `message`.
    #[cold]
    pub fn overflow_error(message: impl Into<String>) -> Error {
        Error::Python(PyErr::new(ExceptionType::OverflowError, message))
    }

    /// A `RuntimeError` with `message`.
    #[cold]
    pub fn runtime_error(message: impl Into<String>) -> Error {
        Error::Python(PyErr::new(ExceptionType::RuntimeError, message))
    }

    /// "expected X, got Y" for an object of the wrong type.
    #[cold]
    pub(crate) fn downcast(obj: &Object<'_, Any>, expected: &str) -> Error {
        Error::type_error(format!(
            "expected {expected}, got {}",
            capture::type_name_of(obj)
        ))
    }

    /// The Python exception, if this is one.
    pub fn as_python(&self) -> Option<&PyErr> {
        match self {
            Error::Python(e) => Some(e),
            Error::Context { source, .. } => source.as_python(),
            _ => None,
        }
    }

    /// The exit code, if this is a `SystemExit`.
    pub fn exit_code(&self) -> Option<i32> {
        match self.as_python()?.kind() {
            ExceptionKind::SystemExit { code } => Some(code),
            _ => None,
        }
    }

    /// The error as a Python exception (for a Rust function returning to Python): a Python
    /// error is itself; [`Error::Timeout`] is `TimeoutError`; [`Error::Io`] is `OSError`; a
    /// [`Error::Context`] is a `RuntimeError` whose `__cause__` is the inner error; the rest
    /// are `RuntimeError`.
    pub fn into_py_err(self) -> PyErr {
        match self {
            Error::Python(e) => e,
            Error::Context { context, source } => {
                let inner = source.into_py_err();
                let mut e = PyErr::new(ExceptionType::RuntimeError, format!("{context}: {inner}"));
                e.0.cause = Some((CauseKind::Cause, inner));
                e
            }
            Error::Timeout { .. } => PyErr::new(ExceptionType::TimeoutError, self.to_string()),
            Error::Io { ref source, .. } => {
                let class = match source.kind() {
                    std::io::ErrorKind::NotFound => ExceptionType::FileNotFoundError,
                    std::io::ErrorKind::PermissionDenied => ExceptionType::PermissionError,
                    _ => ExceptionType::OSError,
                };
                PyErr::new(class, self.to_string())
            }
            other => PyErr::new(ExceptionType::RuntimeError, other.to_string()),
        }
    }

    /// Raises the error in the interpreter (see [`Error::into_py_err`]).
    pub fn restore(self, py: Python<'_>) {
        self.into_py_err().restore(py)
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Error {
        Error::Python(e)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Python(e) => e
                .cause()
                .map(|(_, c)| c as &(dyn std::error::Error + 'static)),
            Error::Io { source, .. } => Some(source),
            Error::Context { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// Adds a description of what was being done to an error.
///
/// ```
/// # pyhost::initialize_once().unwrap();
/// use pyhost::ResultExt;
/// let err = pyhost::with_gil(|py| py.import("no_such_module").map(drop))
///     .context("loading check disk")
///     .unwrap_err();
/// assert!(err.to_string().starts_with("loading check disk: ModuleNotFoundError"), "{err}");
/// ```
pub trait ResultExt<T> {
    /// Wraps the error in [`Error::Context`].
    ///
    /// # Errors
    /// The original error, wrapped.
    fn context(self, context: impl Into<Cow<'static, str>>) -> Result<T>;

    /// Like [`ResultExt::context`], computing the description only on error.
    ///
    /// # Errors
    /// The original error, wrapped.
    fn with_context<C: Into<String>>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<Cow<'static, str>>) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.into().into_owned(),
            source: Box::new(e.into()),
        })
    }

    fn with_context<C: Into<String>>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: f().into(),
            source: Box::new(e.into()),
        })
    }
}

/// Adds `prefix` to the message of a `TypeError`, `ValueError` or `OverflowError` (exactly
/// those classes); other errors pass unchanged.
#[cold]
pub(crate) fn prefix_error(py: Python<'_>, error: Error, prefix: &str) -> Error {
    let Error::Python(e) = error else {
        return error;
    };
    let ty = raw::type_of(&e.to_object(py));
    let class = if ty.is(&raw::exception_class!(py, PyExc_TypeError)) {
        ExceptionType::TypeError
    } else if ty.is(&raw::exception_class!(py, PyExc_ValueError)) {
        ExceptionType::ValueError
    } else if ty.is(&raw::exception_class!(py, PyExc_OverflowError)) {
        ExceptionType::OverflowError
    } else {
        return Error::Python(e);
    };
    Error::Python(PyErr::new(class, format!("{prefix}{}", e.message())))
}
