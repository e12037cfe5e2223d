//! Subinterpreters with their own GIL (CPython 3.12+): Python on several cores in one process.
//!
//! A [`Subinterpreter`] is a separate Python world inside the process: its own modules,
//! `sys`, builtins and objects, and, by default, its own GIL, so code in two subinterpreters
//! runs in parallel on two threads. Most users want a pool of them:
//! [`Builder::subinterpreters`](crate::executor::Builder::subinterpreters) gives each Executor
//! worker its own, behind the same `run` / `spawn` / `run_timeout` API.
//!
//! # The model
//!
//! - **Ownership.** A subinterpreter is created on a thread, used on that thread and ended when
//!   dropped there (it is not `Send`). That thread keeps one thread state for it (entering is a
//!   restore/save pair, as for the main interpreter) besides its main one. Other threads reach
//!   it through an Executor pool, which also interrupts calls past their deadline.
//! - **One interpreter at a time.** [`Subinterpreter::with_gil`] refuses to run on a thread that
//!   holds a GIL already ([`Error::WrongInterpreter`]), so every token, and every value bound to
//!   one, belongs to exactly one interpreter. Inside, [`crate::with_gil`] nests in the
//!   interpreter the thread is in.
//! - **Objects never cross.** An [`Unbound`](crate::Unbound) remembers its interpreter:
//!   [`Unbound::try_bind`](crate::Unbound::try_bind) in another one fails with
//!   [`Error::WrongInterpreter`] (and `bind` panics with that message); dropped without the
//!   GIL, its release waits for that interpreter (and is forgotten once it has ended). Send
//!   Rust values between interpreters ([`IntoPython`](crate::IntoPython) /
//!   [`FromPython`](crate::FromPython), serde). A [`PyErr`](crate::PyErr) works everywhere: in
//!   another interpreter it is raised again as the same builtin class (or `Exception`) with
//!   the same message and cause chain.
//! - **Modules and classes.** `#[pyhost::module]` modules registered as builtins use
//!   multi-phase initialization and declare support for own-GIL interpreters, so each
//!   interpreter imports its own instance; `#[pyhost::class]` types and pyhost's own
//!   exception classes are created once per interpreter.
//! - **Extensions that refuse.** Extension modules with single-phase initialization (numpy,
//!   and PyO3-based ones such as pydantic-core and cryptography, today) cannot be imported in a
//!   subinterpreter that checks for it (the default): the `ImportError` becomes
//!   [`Error::RefusesSubinterpreters`], naming the module. Run that code in the main
//!   interpreter, or let the pool do it (`Refusal::MainInterpreter`).
//! - **Lifecycle.** Dropping a subinterpreter ends it (Python's `threading` threads in it are
//!   joined first), whatever other interpreters are doing. [`crate::shutdown`] ends those still
//!   alive before finalizing.
//!
//! # Versions
//!
//! Interpreters with their own GIL appeared in CPython 3.12. On 3.8–3.11,
//! [`Subinterpreter::new`] and pools built with subinterpreters fail with
//! [`Error::Unsupported`]; [`supported`] says which case applies.
//!
//! What CPython itself does, measured here:
//!
//! - **3.12 and 3.13 keep about 1.7 MiB of each ended interpreter** that had its own
//!   allocator (CPython's own `interpreters` module shows the same; 3.14 frees it). Keep
//!   interpreters for long (a pool does), rather than one per call.
//! - **3.12 still initializes `_decimal`, `_datetime` and `_ctypes` in single phase.**
//!   Imported first in a subinterpreter, their init runs there, and runs again in the next
//!   interpreter on types holding the first one's objects: a double free, in plain CPython
//!   too. pyhost has the main interpreter import them before it creates the first
//!   subinterpreter, so subinterpreters refuse them cleanly: `decimal` and `datetime` use
//!   their pure-Python versions, `ctypes` gives [`Error::RefusesSubinterpreters`].
//! - Parallelism: CPU-bound calls on two own-GIL workers run 2.0–2.1x as fast as on one GIL
//!   on two cores (`cargo xtask bench`, w9a/w9b), within a few percent of the C API doing
//!   the same.
//!
//! ```
//! # pyhost::initialize_once().unwrap();
//! use pyhost::subinterpreter::{InterpreterConfig, Subinterpreter};
//! if pyhost::subinterpreter::supported() {
//!     let sub = Subinterpreter::new(&InterpreterConfig::default())?;
//!     sub.with_gil(|py| py.exec("import sys; sys.marker = 'sub'"))?;
//!     let here: bool = sub.with_gil(|py| py.eval("hasattr(__import__('sys'), 'marker')")?.extract())?;
//!     let main: bool = pyhost::with_gil(|py| py.eval("hasattr(__import__('sys'), 'marker')")?.extract())?;
//!     assert!(here && !main, "each interpreter has its own sys");
//! }
//! # Ok::<(), pyhost::Error>(())
//! ```

use std::marker::PhantomData;

use crate::{Error, Python, Result};

/// How a subinterpreter is isolated (`PyInterpreterConfig`). The default is the isolated kind
/// CPython recommends: its own GIL and memory allocator, threads allowed but not daemon
/// threads, no `fork`/`exec`, and extension modules checked for multi-interpreter support.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpreterConfig {
    own_gil: bool,
    use_main_obmalloc: bool,
    allow_fork: bool,
    allow_exec: bool,
    allow_threads: bool,
    allow_daemon_threads: bool,
    check_multi_interp_extensions: bool,
}

impl Default for InterpreterConfig {
    fn default() -> Self {
        InterpreterConfig::isolated()
    }
}

impl InterpreterConfig {
    /// Own GIL, own allocator, extension modules checked (the default).
    pub fn isolated() -> Self {
        InterpreterConfig {
            own_gil: true,
            use_main_obmalloc: false,
            allow_fork: false,
            allow_exec: false,
            allow_threads: true,
            allow_daemon_threads: false,
            check_multi_interp_extensions: true,
        }
    }

    /// The legacy kind (`Py_NewInterpreter`): shares the main GIL and allocator, allows
    /// everything and loads any extension module. No parallelism, but no module refuses.
    pub fn legacy() -> Self {
        InterpreterConfig {
            own_gil: false,
            use_main_obmalloc: true,
            allow_fork: true,
            allow_exec: true,
            allow_threads: true,
            allow_daemon_threads: true,
            check_multi_interp_extensions: false,
        }
    }

    /// Its own GIL (true) or the main interpreter's (false). An own GIL needs its own
    /// allocator (`use_main_obmalloc(false)`).
    pub fn own_gil(mut self, on: bool) -> Self {
        self.own_gil = on;
        self
    }

    /// Share the main interpreter's object allocator. Needs a shared GIL, and
    /// `check_multi_interp_extensions(false)` is only allowed with it.
    pub fn use_main_obmalloc(mut self, on: bool) -> Self {
        self.use_main_obmalloc = on;
        self
    }

    /// Allow `os.fork()`.
    pub fn allow_fork(mut self, on: bool) -> Self {
        self.allow_fork = on;
        self
    }

    /// Allow `os.exec*()`.
    pub fn allow_exec(mut self, on: bool) -> Self {
        self.allow_exec = on;
        self
    }

    /// Allow `threading` threads.
    pub fn allow_threads(mut self, on: bool) -> Self {
        self.allow_threads = on;
        self
    }

    /// Allow daemon threads.
    pub fn allow_daemon_threads(mut self, on: bool) -> Self {
        self.allow_daemon_threads = on;
        self
    }

    /// Refuse extension modules that do not declare multi-interpreter support (needed with
    /// an own allocator).
    pub fn check_multi_interp_extensions(mut self, on: bool) -> Self {
        self.check_multi_interp_extensions = on;
        self
    }

    /// Whether it has its own GIL.
    pub fn has_own_gil(&self) -> bool {
        self.own_gil
    }
}

/// Whether this CPython has interpreters with their own GIL (3.12+).
pub fn supported() -> bool {
    cfg!(py_3_12)
}

/// The error for `what` on a CPython without interpreters that have their own GIL.
pub(crate) fn unsupported(what: &str, instead: &str) -> Error {
    Error::Unsupported {
        message: format!(
            "{what} needs CPython 3.12 or newer (interpreters with their own GIL); this build \
             uses {}. Build against 3.12+ (PYHOST_PYTHON=/path/to/python3.12), or {instead}",
            crate::ffi::build_info::PYTHON_VERSION
        ),
    }
}

/// A subinterpreter, owned by the thread that created it (see the [module docs](self)).
/// Dropping it ends it.
pub struct Subinterpreter {
    #[cfg(py_3_12)]
    raw: crate::raw::interp::SubInterp,
    _not_send: PhantomData<*mut ()>,
}

impl Subinterpreter {
    /// Creates a subinterpreter on this thread, which must not hold a GIL.
    ///
    /// # Errors
    /// [`Error::Unsupported`] before CPython 3.12; [`Error::WrongInterpreter`] when this thread
    /// holds a GIL, or CPython refuses the config (the message says why);
    /// [`Error::NotInitialized`] / [`Error::Finalized`].
    pub fn new(config: &InterpreterConfig) -> Result<Subinterpreter> {
        #[cfg(py_3_12)]
        {
            let raw = crate::raw::interp::SubInterp::create(&crate::raw::interp::SubConfig {
                own_gil: config.own_gil,
                use_main_obmalloc: config.use_main_obmalloc,
                allow_fork: config.allow_fork,
                allow_exec: config.allow_exec,
                allow_threads: config.allow_threads,
                allow_daemon_threads: config.allow_daemon_threads,
                check_multi_interp_extensions: config.check_multi_interp_extensions,
            })?;
            Ok(Subinterpreter {
                raw,
                _not_send: PhantomData,
            })
        }
        #[cfg(not(py_3_12))]
        {
            let _ = config;
            Err(unsupported(
                "a subinterpreter",
                "run the code in the main interpreter",
            ))
        }
    }

    /// The interpreter's id (`PyInterpreterState_GetID`; the main one is 0). Never reused.
    pub fn id(&self) -> i64 {
        #[cfg(py_3_12)]
        return self.raw.id().0;
        #[cfg(not(py_3_12))]
        unreachable!("no subinterpreter exists before 3.12")
    }

    /// Runs `f` in this interpreter, holding its GIL. An `ImportError` of an extension module
    /// that cannot load in a subinterpreter comes back as [`Error::RefusesSubinterpreters`].
    ///
    /// # Errors
    /// [`Error::WrongInterpreter`] when this thread already holds a GIL (of any interpreter);
    /// [`Error::Finalized`] once shutdown has begun; what `f` returns.
    pub fn with_gil<T, F>(&self, f: F) -> Result<T>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<T>,
    {
        #[cfg(py_3_12)]
        return self.raw.with_gil(f).map_err(refusal);
        #[cfg(not(py_3_12))]
        {
            let _ = f;
            unreachable!("no subinterpreter exists before 3.12")
        }
    }

    #[cfg(py_3_12)]
    pub(crate) fn remote(&mut self) -> Result<crate::raw::interp::Remote> {
        self.raw.remote()
    }
}

impl Drop for Subinterpreter {
    /// Ends the interpreter (joining its `threading` threads first).
    fn drop(&mut self) {}
}

impl std::fmt::Debug for Subinterpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(py_3_12)]
        return write!(f, "Subinterpreter({})", self.raw.id().0);
        #[cfg(not(py_3_12))]
        f.write_str("Subinterpreter")
    }
}

/// What CPython and PyO3 say when an extension module cannot load in a subinterpreter.
const REFUSALS: [&str; 3] = [
    "does not support loading in subinterpreters",
    "do not yet support subinterpreters",
    "cannot be used in subinterpreters",
];

/// Turns the `ImportError` of an extension module that refuses subinterpreters into
/// [`Error::RefusesSubinterpreters`]; other errors come back unchanged. [`Subinterpreter::with_gil`]
/// and the pool's setup hook do this for you; call it on an import error handled inside a
/// scope.
///
/// ```
/// use pyhost::{Error, ExceptionType, PyErr};
/// let e = Error::Python(PyErr::new(
///     ExceptionType::ImportError,
///     "module _sqlite3 does not support loading in subinterpreters",
/// ));
/// let Error::RefusesSubinterpreters { module, .. } = pyhost::subinterpreter::refusal(e) else {
///     panic!()
/// };
/// assert_eq!(module, "_sqlite3");
/// ```
pub fn refusal(e: Error) -> Error {
    let Error::Python(py_err) = &e else { return e };
    let refused = matches!(py_err.type_name(), "ImportError" | "ModuleNotFoundError")
        && REFUSALS.iter().any(|r| py_err.message().contains(r));
    if !refused {
        return e;
    }
    let module = refused_module(py_err);
    let Error::Python(py_err) = e else {
        unreachable!()
    };
    Error::RefusesSubinterpreters {
        module,
        error: Box::new(py_err),
    }
}

/// The module named in CPython's message (`module X does not support ...`, also when a
/// package quotes it in its own error, as numpy does), else the module of the innermost
/// Python file in the traceback (the package importing the extension).
fn refused_module(e: &crate::PyErr) -> String {
    let msg = e.message();
    if let Some(at) = msg.find(REFUSALS[0]) {
        let before = msg[..at].trim_end();
        if let Some(name) = before.rsplit(char::is_whitespace).next() {
            let name = name.trim_matches(|c| c == '\'' || c == '"');
            if !name.is_empty() && before.ends_with(name) {
                return name.to_owned();
            }
        }
    }
    let file = e.frames().iter().rev().find(|f| !f.file.starts_with('<'));
    let Some(file) = file else {
        return "(unknown)".to_owned();
    };
    let path = std::path::Path::new(&file.file);
    let name = if path.file_stem().is_some_and(|s| s == "__init__") {
        path.parent().and_then(|p| p.file_name())
    } else {
        path.file_stem()
    };
    name.map_or_else(
        || "(unknown)".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The id of the interpreter `py` is for (0: the main one).
pub fn interpreter_id(py: Python<'_>) -> i64 {
    crate::raw::interp::current(py).0
}
