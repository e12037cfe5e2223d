//! Starting and stopping the interpreter: a builder over PEP 587's `PyConfig`, one start per
//! process, and an explicit [`shutdown`].
//!
//! The interpreter is **isolated by default**: `PYTHONPATH`, `PYTHONHOME`, `PYTHONSTARTUP`,
//! the other `PYTHON*` variables and the user site directory are ignored unless
//! [`Builder::use_environment`] or [`Builder::user_site`] opts in, so a hostile environment
//! cannot inject code into the host. Python's signal handlers are not installed (the host owns
//! `SIGINT` and `SIGTERM`, even after Python code imports `signal`) unless
//! [`Builder::signal_handlers`] asks for them.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::thread::ThreadId;

use crate::memory::Allocator;
use crate::raw::runtime::{
    Acquired, Config, FINALIZED, FINALIZING, RUNNING, STARTING, STATE, Starting, UNINIT,
};
use crate::{Error, Python, Result, ffi};

pub use crate::raw::modules::ModuleInit;

/// Entry point to configure and start the interpreter.
///
/// ```no_run
/// pyhost::Interpreter::builder()
///     .program_name("my-agent")
///     .module_path("/opt/my-agent/plugins")
///     .venv("/opt/my-agent/venv")
///     .start()?;
/// let n: usize = pyhost::with_gil(|py| py.eval("len([1, 2, 3])")?.extract())?;
/// pyhost::shutdown()?;
/// # Ok::<(), pyhost::Error>(())
/// ```
pub struct Interpreter;

impl Interpreter {
    /// A builder with the defaults: isolated, no signal handlers, buffered stdio, the `site`
    /// module imported.
    pub fn builder() -> Builder {
        Builder {
            program_name: None,
            home: None,
            paths: Vec::new(),
            venv: None,
            argv: Vec::new(),
            buffered_stdio: true,
            use_environment: false,
            user_site: false,
            signal_handlers: false,
            site_import: true,
            executable: None,
            builtins: Vec::new(),
            utf8_mode: None,
            allocator: None,
            track_allocations: false,
        }
    }
}

/// Configuration for [`Interpreter::builder`].
#[must_use = "call .start() to start the interpreter"]
pub struct Builder {
    program_name: Option<String>,
    home: Option<PathBuf>,
    paths: Vec<PathBuf>,
    venv: Option<PathBuf>,
    argv: Vec<String>,
    buffered_stdio: bool,
    use_environment: bool,
    user_site: bool,
    signal_handlers: bool,
    site_import: bool,
    executable: Option<PathBuf>,
    builtins: Vec<(CString, ModuleInit)>,
    utf8_mode: Option<bool>,
    allocator: Option<Allocator>,
    track_allocations: bool,
}

impl Builder {
    /// The program name (`argv[0]` as the interpreter sees it).
    pub fn program_name(mut self, name: impl Into<String>) -> Self {
        self.program_name = Some(name.into());
        self
    }

    /// The Python home: the prefix holding `lib/python3.X`. Needed when the standard library
    /// is not where the linked libpython expects it (a Python shipped with the program).
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// A directory to put at the front of `sys.path` (may be called several times; earlier
    /// calls come first).
    pub fn module_path(mut self, dir: impl Into<PathBuf>) -> Self {
        self.paths.push(dir.into());
        self
    }

    /// A virtual environment to use: its `site-packages` (with `.pth` files) are added as that
    /// venv's `python` would add them, `sys.prefix` points at it and `sys.executable` is its
    /// interpreter. The venv must have been made with the same `major.minor` Python as the one
    /// linked.
    pub fn venv(mut self, dir: impl Into<PathBuf>) -> Self {
        self.venv = Some(dir.into());
        self
    }

    /// `sys.argv` (default `[""]`), and `sys.orig_argv` (3.10+; default `[]`) to the same
    /// list: the command line the host was given, as a program started with it would see.
    /// Not parsed as interpreter options.
    pub fn argv<I, S>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv = argv.into_iter().map(Into::into).collect();
        self
    }

    /// Whether stdout/stderr are buffered (default true; false is `python -u`).
    pub fn buffered_stdio(mut self, on: bool) -> Self {
        self.buffered_stdio = on;
        self
    }

    /// Honour `PYTHONPATH`, `PYTHONHOME` and the other `PYTHON*` variables (off by default).
    pub fn use_environment(mut self, on: bool) -> Self {
        self.use_environment = on;
        self
    }

    /// Python's UTF-8 mode (PEP 540): file names, `open()`, the standard streams and
    /// `subprocess` use UTF-8 whatever the locale. On by default, so the embedded interpreter
    /// behaves like `python3` under a UTF-8 locale even where the process runs with the C
    /// locale (the isolated configuration does not read the locale); `false` turns it off
    /// (the locale's encoding, ASCII under C). With [`Builder::use_environment`] and no call
    /// to this, Python decides as `python3` does (`PYTHONUTF8`, the C locale).
    ///
    /// ```no_run
    /// pyhost::Interpreter::builder().utf8_mode(true).start()?;
    /// let enc: String = pyhost::with_gil(|py| py.eval("__import__('sys').getfilesystemencoding()")?.extract())?;
    /// assert_eq!(enc, "utf-8");
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn utf8_mode(mut self, on: bool) -> Self {
        self.utf8_mode = Some(on);
        self
    }

    /// Python's memory allocator. Without this call, `PYTHONMALLOC` is honoured even by the
    /// isolated configuration (it changes how memory is allocated, not what code runs), so
    /// `PYTHONMALLOC=malloc valgrind ./my-program` sees Python's objects; otherwise CPython's
    /// default.
    ///
    /// ```no_run
    /// pyhost::Interpreter::builder()
    ///     .allocator(pyhost::Allocator::Malloc)
    ///     .start()?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn allocator(mut self, allocator: Allocator) -> Self {
        self.allocator = Some(allocator);
        self
    }

    /// Counts Python's allocations, per interpreter ([`crate::memory`]). Off by default: each
    /// allocation then pays a thread-state read and two atomic additions, which costs
    /// nothing measurable where Python allocates little and up to +35% instructions where
    /// it allocates for every value (converting a large list; BENCHMARKS.md).
    ///
    /// ```no_run
    /// pyhost::Interpreter::builder().track_allocations(true).start()?;
    /// assert!(pyhost::memory::tracking());
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn track_allocations(mut self, on: bool) -> Self {
        self.track_allocations = on;
        self
    }

    /// Add the user site directory (`~/.local/lib/python3.X/site-packages`) to `sys.path`
    /// (off by default).
    pub fn user_site(mut self, on: bool) -> Self {
        self.user_site = on;
        self
    }

    /// Who owns `SIGINT` and `SIGTERM`. By default (`false`) the host does: Python installs
    /// no handler, neither at start nor when Python code imports `signal` (as subprocess,
    /// asyncio or pytest do), so they never raise `KeyboardInterrupt` in Python code; what
    /// the host installed (or the default action) stays in force. `true` gives Python its
    /// default handlers, as `python3` has: `SIGINT` raises `KeyboardInterrupt` in the main
    /// thread.
    ///
    /// ```no_run
    /// pyhost::Interpreter::builder().signal_handlers(true).start()?;
    /// let handler: String = pyhost::with_gil(|py| {
    ///     py.eval("__import__('signal').getsignal(2).__name__")?.extract()
    /// })?;
    /// assert_eq!(handler, "default_int_handler");
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn signal_handlers(mut self, on: bool) -> Self {
        self.signal_handlers = on;
        self
    }

    /// Import the `site` module at start (default true).
    pub fn site_import(mut self, on: bool) -> Self {
        self.site_import = on;
        self
    }

    /// What `sys.executable` reports. Defaults to the venv's interpreter, else the linked
    /// Python's own interpreter when it exists, so that Python code starting
    /// `sys.executable` as a subprocess starts Python and not the host program.
    pub fn executable(mut self, path: impl Into<PathBuf>) -> Self {
        self.executable = Some(path.into());
        self
    }

    /// Registers a builtin module created by `init` (a `PyInit_*` function, as
    /// `#[pyhost::module]` generates) under `name`, importable from the start.
    ///
    /// # Panics
    /// If `name` contains a NUL byte.
    pub fn builtin_module(mut self, name: &str, init: ModuleInit) -> Self {
        self.builtins.push((
            CString::new(name).expect("module names have no NUL byte"),
            init,
        ));
        self
    }

    /// Starts the interpreter. On success the calling thread has released the GIL, so any
    /// thread can take it with [`crate::with_gil`].
    ///
    /// # Errors
    /// [`Error::AlreadyInitialized`] on a second start, [`Error::Finalized`] after
    /// [`shutdown`], [`Error::PythonHome`] when the standard library cannot be found,
    /// [`Error::Venv`] for an unusable venv, [`Error::Init`] when CPython refuses to start.
    pub fn start(self) -> Result<()> {
        let starting = Starting::begin()?;
        let venv = self.venv.as_deref().map(check_venv).transpose()?;
        let utf8 = match (self.utf8_mode, self.use_environment) {
            (Some(on), _) => Some(on),
            (None, false) => Some(true),
            (None, true) => None,
        };
        let allocator = match self.allocator {
            Some(a) => Some(a),
            None => match std::env::var("PYTHONMALLOC") {
                Ok(name) if !name.is_empty() => {
                    Some(Allocator::from_name(&name).ok_or_else(|| Error::Init {
                        message: format!(
                            "PYTHONMALLOC={name} names no allocator; use malloc, malloc_debug, \
                             pymalloc, pymalloc_debug, debug or default, or unset it"
                        ),
                    })?)
                }
                _ => None,
            },
        };
        crate::raw::runtime::preinitialize(
            !self.use_environment,
            utf8,
            allocator.map(Allocator::raw),
        )?;
        if self.track_allocations {
            crate::raw::alloc::install();
        }
        let mut config = Config::new(!self.use_environment);
        config.set_flags(
            self.signal_handlers,
            self.buffered_stdio,
            self.user_site,
            self.site_import,
        );
        if let Some(name) = &self.program_name {
            config.set_string(false, name)?;
        }
        if let Some(home) = &self.home {
            config.set_string(true, &home.to_string_lossy())?;
        }
        let argv = if self.argv.is_empty() {
            vec![String::new()]
        } else {
            self.argv.clone()
        };
        config.set_argv(&argv)?;
        config.read()?;
        check_stdlib(&config)?;
        for (name, init) in &self.builtins {
            // The inittab keeps the name pointer for the life of the process.
            let leaked: &'static std::ffi::CStr = Box::leak(name.clone().into_boxed_c_str());
            crate::raw::modules::append_inittab(leaked, *init)?;
        }
        let started = config.initialize(starting)?;
        let me = std::thread::current();
        *STARTED_ON.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            me.id(),
            me.name()
                .map_or_else(|| format!("{:?}", me.id()), str::to_owned),
        ));
        let setup = post_init(
            started.python(),
            self.signal_handlers,
            &self.argv,
            &self.paths,
            venv.as_ref(),
            self.executable.as_deref(),
        );
        // Running; the GIL is released.
        drop(started);
        if let Err(e) = setup {
            // The interpreter is up but not configured as asked: do not leave it half-done.
            let _ = shutdown();
            return Err(Error::Context {
                context: "configuring the interpreter after start".into(),
                source: Box::new(e),
            });
        }
        Ok(())
    }
}

/// What a checked venv contributes.
struct Venv {
    root: PathBuf,
    site_packages: PathBuf,
    python: Option<PathBuf>,
    system_site_packages: bool,
}

/// Checks a venv against the linked Python before starting.
fn check_venv(dir: &Path) -> Result<Venv> {
    let fail = |problem: String| Error::Venv {
        path: dir.to_path_buf(),
        problem,
    };
    let cfg = std::fs::read_to_string(dir.join("pyvenv.cfg")).map_err(|e| {
        fail(format!(
            "no readable pyvenv.cfg ({e}); create it with `python3 -m venv {}`",
            dir.display()
        ))
    })?;
    let linked = ffi::build_info::PYTHON_VERSION;
    let linked_minor: String = linked.split('.').take(2).collect::<Vec<_>>().join(".");
    let version = cfg.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        matches!(k.trim(), "version" | "version_info").then(|| v.trim().to_owned())
    });
    if let Some(v) = &version {
        let minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
        if minor != linked_minor {
            return Err(fail(format!(
                "it was created by Python {v}, but this program embeds Python {linked}; recreate \
                 it with `python{linked_minor} -m venv {}`",
                dir.display()
            )));
        }
    }
    let site_packages = dir.join(format!("lib/python{linked_minor}/site-packages"));
    if !site_packages.is_dir() {
        return Err(fail(format!("{} does not exist", site_packages.display())));
    }
    let python = ["python3", "python"]
        .iter()
        .map(|n| dir.join("bin").join(n))
        .find(|p| p.exists());
    let system_site_packages = cfg.lines().any(|l| {
        l.split_once('=').is_some_and(|(k, v)| {
            k.trim() == "include-system-site-packages" && v.trim().eq_ignore_ascii_case("true")
        })
    });
    Ok(Venv {
        root: dir.to_path_buf(),
        site_packages,
        python,
        system_site_packages,
    })
}

/// Applies what `PyConfig` cannot express without changing how the standard library is found.
fn post_init(
    py: Python<'_>,
    signal_handlers: bool,
    argv: &[String],
    paths: &[PathBuf],
    venv: Option<&Venv>,
    executable: Option<&Path>,
) -> Result<()> {
    if !signal_handlers {
        // The host owns SIGINT and SIGTERM: see `raw::os`.
        let saved = crate::raw::os::save();
        let imported = py.import("signal");
        saved.restore();
        imported?;
    }
    let sys = py.import("sys")?;
    // `PyConfig.orig_argv` is what CPython's own command line parsed; pyhost parses none.
    if !argv.is_empty() && sys.hasattr("orig_argv")? {
        sys.setattr("orig_argv", argv.to_vec())?;
    }
    let sys_path = sys.getattr("path")?;
    for (i, p) in paths.iter().enumerate() {
        sys_path.call_method1("insert", (i, p.as_path()))?;
    }
    // The linked Python's own interpreter: what `venv` builds new environments from
    // (`sys._base_executable`), so a venv made from inside runs this Python, not the first
    // `python3` on PATH.
    let base: PathBuf = sys.getattr("base_prefix")?.extract()?;
    let minor: String = ffi::build_info::PYTHON_VERSION
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    // `python3.14d` first for a debug build, and never another version's `python3`.
    let abiflags: String = match sys.getattr_opt("abiflags")? {
        Some(f) => f.extract()?,
        None => String::new(),
    };
    let base_exe = [
        format!("bin/python{minor}{abiflags}"),
        format!("bin/python{minor}"),
    ]
    .iter()
    .map(|n| base.join(n))
    .find(|p| p.exists());
    if let Some(b) = &base_exe {
        if sys.hasattr("_base_executable")? {
            sys.setattr("_base_executable", b.as_path())?;
        }
    }
    let mut exe = executable.map(Path::to_path_buf);
    if let Some(v) = venv {
        let site = py.import("site")?;
        if !v.system_site_packages {
            // A venv's python does not see the base installation's site-packages (Debian's
            // dist-packages included) unless its pyvenv.cfg says so.
            let base_sites = site.call_method0("getsitepackages")?;
            for dir in base_sites.iter()? {
                let dir = dir?;
                while sys_path
                    .call_method1("__contains__", (&dir,))?
                    .is_truthy()?
                {
                    sys_path.call_method1("remove", (&dir,))?;
                }
            }
        }
        site.call_method1("addsitedir", (v.site_packages.as_path(),))?;
        sys.setattr("prefix", v.root.as_path())?;
        sys.setattr("exec_prefix", v.root.as_path())?;
        // What the venv's python reports: `site.getsitepackages()` is its own site-packages
        // (and the base's with include-system-site-packages).
        let mut prefixes = vec![v.root.clone()];
        if v.system_site_packages {
            prefixes.push(base.clone());
        }
        site.setattr("PREFIXES", prefixes)?;
        if exe.is_none() {
            exe = v.python.clone();
        }
    }
    if let Some(e) = exe.or(base_exe) {
        sys.setattr("executable", e.as_path())?;
    }
    Ok(())
}

/// Checks that the standard library is on the computed search path, so a moved binary gets a
/// clear error instead of CPython's fatal "No module named 'encodings'".
fn check_stdlib(config: &Config) -> Result<()> {
    let searched = config.module_search_paths();
    let home = config.home();
    let searched = if searched.is_empty() {
        // Python 3.11+ computes the search path during initialization, not in PyConfig_Read:
        // check the places it looks for the standard library.
        default_stdlib_dirs(home.as_deref())
    } else {
        searched
    };
    let found = searched.iter().any(|p| {
        p.join("encodings/__init__.py").is_file()
            || p.join("encodings/__init__.pyc").is_file()
            || p.is_file()
    });
    if found {
        return Ok(());
    }
    Err(Error::PythonHome {
        home,
        searched,
        version: ffi::build_info::PYTHON_VERSION.to_owned(),
    })
}

/// Where CPython 3.11+ looks for `lib/python3.X`: under the home when one is set, else under
/// the prefix libpython was built for and next to the program.
fn default_stdlib_dirs(home: Option<&Path>) -> Vec<PathBuf> {
    let minor: String = ffi::build_info::PYTHON_VERSION
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let lib = format!("lib/python{minor}");
    let mut prefixes: Vec<PathBuf> = Vec::new();
    match home {
        // `home` may be `prefix:exec_prefix`.
        Some(h) => prefixes.extend(std::env::split_paths(h.as_os_str())),
        None => {
            if !ffi::build_info::PREFIX.is_empty() {
                prefixes.push(PathBuf::from(ffi::build_info::PREFIX));
            }
            if let Some(dir) = std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf))
            {
                prefixes.push(dir.clone());
                if let Some(up) = dir.parent() {
                    prefixes.push(up.to_path_buf());
                }
            }
        }
    }
    prefixes.iter().map(|p| p.join(&lib)).collect()
}

/// Starts the interpreter with the defaults ([`Interpreter::builder`]).
///
/// # Errors
/// As [`Builder::start`].
pub fn initialize() -> Result<()> {
    Interpreter::builder().start()
}

/// Starts the interpreter with the defaults unless it is already running: for tests, examples
/// and libraries that may be the first to need Python.
///
/// # Errors
/// As [`Builder::start`], except that a running interpreter is not an error.
pub fn initialize_once() -> Result<()> {
    match initialize() {
        Err(Error::AlreadyInitialized) => {
            // Another thread may be starting it: wait until it is up (or failed).
            while STATE.load(Ordering::SeqCst) == STARTING {
                std::thread::yield_now();
            }
            match STATE.load(Ordering::SeqCst) {
                RUNNING => Ok(()),
                UNINIT => initialize_once(),
                _ => Err(Error::Finalized),
            }
        }
        other => other,
    }
}

/// Whether the interpreter is running (started and not shut down).
pub fn is_initialized() -> bool {
    STATE.load(Ordering::SeqCst) == RUNNING
}

/// The thread that started the interpreter, and how to name it in an error.
static STARTED_ON: Mutex<Option<(ThreadId, String)>> = Mutex::new(None);

/// `Err` when finalizing on this thread is not possible: CPython 3.13+ takes the state of the
/// thread that initialized it as the one to finalize with, whichever thread calls, and deletes
/// the caller's own state while still running on it.
fn check_finalizing_thread() -> Result<()> {
    if !cfg!(py_3_13) {
        return Ok(());
    }
    let started = STARTED_ON.lock().unwrap_or_else(|e| e.into_inner());
    match &*started {
        Some((id, name)) if *id != std::thread::current().id() => Err(Error::ShutdownOffThread {
            started_on: name.clone(),
        }),
        _ => Ok(()),
    }
}

/// Shuts the interpreter down (`Py_FinalizeEx`): waits for the [`crate::with_gil`] scopes in
/// progress on other threads to end, joins non-daemon Python threads (as `python3` does at
/// exit, for as long as they run), runs Python's `atexit` handlers and flushes the standard
/// streams. Afterwards every attempt to take the GIL returns [`Error::Finalized`]. Call it
/// outside any `with_gil` scope. To bound the wait, use [`shutdown_timeout`].
///
/// Up to CPython 3.12 any thread may call it. From 3.13, CPython finalizes only on the thread
/// that started Python: call it there (another thread gets [`Error::ShutdownOffThread`] and
/// the interpreter keeps running).
///
/// # Errors
/// [`Error::ShutdownInsideGil`] when called with the GIL held, [`Error::ShutdownOffThread`]
/// on another thread than the starting one (3.13+), [`Error::NotInitialized`] or
/// [`Error::Finalized`] when there is nothing to shut down, [`Error::Init`] when CPython
/// reports an error while finalizing (for example a failed flush of `sys.stdout`).
pub fn shutdown() -> Result<()> {
    shutdown_inner(None)
}

/// [`shutdown`] with a deadline that holds whatever Python threads do. It waits up to `wait`
/// for non-daemon Python threads to end and for the `with_gil` scopes in progress on other
/// threads to leave; if any is still running then, it does not finalize (finalizing would
/// block until they end) and returns [`Error::ShutdownTimeout`] naming them. The interpreter
/// is then left running, with `sys.stdout` and `sys.stderr` flushed, in the state it had
/// before the call: stop those threads and call it again, or end the process.
///
/// ```no_run
/// # pyhost::initialize().unwrap();
/// pyhost::with_gil(|py| py.exec("import threading, time\nthreading.Thread(target=time.sleep, args=(60,), name='slow').start()"))?;
/// match pyhost::shutdown_timeout(std::time::Duration::from_secs(1)) {
///     Err(pyhost::Error::ShutdownTimeout { still_running, .. }) => {
///         eprintln!("still running: {still_running:?}");
///         std::process::exit(1);
///     }
///     other => other?,
/// }
/// # Ok::<(), pyhost::Error>(())
/// ```
///
/// # Errors
/// As [`shutdown`], plus [`Error::ShutdownTimeout`] at the deadline.
pub fn shutdown_timeout(wait: std::time::Duration) -> Result<()> {
    shutdown_inner(Some(wait))
}

/// Run before finalizing: see `shutdown_inner`. Touches only what exists (3.9-3.12 keep
/// `_shutdown_locks`; 3.8 and 3.13 do not need this).
const FORGET_OTHER_MAIN_THREAD: &str = "\
def _pyhost_forget_other_main_thread():
    import sys
    t = sys.modules.get('threading')
    if t is None or not hasattr(t, '_shutdown_locks') or t._main_thread.ident == t.get_ident():
        return
    lock = getattr(t._main_thread, '_tstate_lock', None)
    if lock is not None:
        with t._shutdown_locks_lock:
            t._shutdown_locks.discard(lock)
_pyhost_forget_other_main_thread()
del _pyhost_forget_other_main_thread
";

/// Joins the non-daemon Python threads `Py_FinalizeEx` would wait for (not this thread, not
/// `threading`'s main thread, not threads `threading` did not start), each until the deadline
/// (a `time.monotonic()` value); evaluates to those still alive, as `name (ident)`.
const JOIN_PYTHON_THREADS: &str = "\
def _pyhost_join(deadline):
    import sys, time
    t = sys.modules.get('threading')
    if t is None:
        return []
    def waited_for():
        me = t.current_thread()
        return [th for th in t.enumerate()
                if th is not me and th is not t.main_thread() and not th.daemon
                and not isinstance(th, t._DummyThread) and th.is_alive()]
    for th in waited_for():
        th.join(max(0.0, deadline - time.monotonic()))
    return ['%s (%s)' % (th.name, th.ident) for th in waited_for()]
";

/// Flushes `sys.stdout` and `sys.stderr`, ignoring errors (closed or replaced streams).
const FLUSH_STDIO: &str = "\
import sys
for _s in (sys.stdout, sys.stderr):
    try:
        _s.flush()
    except Exception:
        pass
";

/// The Python threads still running at `deadline` after joining them (empty when none).
fn join_python_threads(deadline: std::time::Instant) -> Result<Vec<String>> {
    crate::with_gil(|py| {
        let ns = py.new_namespace()?;
        py.exec_with(JOIN_PYTHON_THREADS, &ns, None)?;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let now: f64 = py.import("time")?.call_method0("monotonic")?.extract()?;
        let join = ns.get_item("_pyhost_join")?.ok_or_else(|| Error::Init {
            message: "the thread-joining helper did not define itself".into(),
        })?;
        let alive: Vec<String> = join.call1((now + left.as_secs_f64(),))?.extract()?;
        if !alive.is_empty() {
            // The process may end right after this error: lose no output.
            py.exec(FLUSH_STDIO)?;
        }
        Ok(alive)
    })
}

fn shutdown_inner(wait: Option<std::time::Duration>) -> Result<()> {
    if crate::gil::gil_is_held() {
        return Err(Error::ShutdownInsideGil);
    }
    let start = std::time::Instant::now();
    if STATE.load(Ordering::SeqCst) == RUNNING {
        check_finalizing_thread()?;
        if let Some(w) = wait {
            // Py_FinalizeEx joins these without a deadline: wait for them here, with one.
            let alive = join_python_threads(start + w)?;
            if !alive.is_empty() {
                return Err(Error::ShutdownTimeout {
                    after: start.elapsed(),
                    still_running: alive,
                });
            }
        }
    }
    match STATE.compare_exchange(RUNNING, FINALIZING, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {}
        Err(UNINIT | STARTING) => return Err(Error::NotInitialized),
        Err(_) => return Err(Error::Finalized),
    }
    // New acquisitions now fail; wait for the ones in progress to end.
    crate::raw::active::publish();
    while crate::raw::active::any_active() {
        if wait.is_some_and(|w| start.elapsed() >= w) {
            // No flush here: a scope still running may hold the GIL as long as it likes.
            STATE.store(RUNNING, Ordering::SeqCst);
            return Err(Error::ShutdownTimeout {
                after: start.elapsed(),
                still_running: vec![format!(
                    "{} with_gil scope(s) on other threads",
                    crate::raw::active::count_active()
                )],
            });
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let Some(held) = Acquired::acquire_for_shutdown() else {
        // Another thread entered meanwhile (it cannot: acquisitions fail in FINALIZING).
        STATE.store(RUNNING, Ordering::SeqCst);
        return Err(Error::Stuck {
            after: start.elapsed(),
        });
    };
    let py = held.python();
    // Subinterpreters their owners did not end go first, on this thread.
    #[cfg(py_3_12)]
    crate::raw::interp::end_remaining(py);
    // Finalizing from another thread than the one `threading` calls its main thread: from
    // 3.9 to 3.12, `threading._shutdown` would wait for that (live) thread's state and hang.
    // Leave it out of the threads to wait for, as CPython means to ("ignore _main_thread").
    if let Err(e) = py.exec(FORGET_OTHER_MAIN_THREAD) {
        drop(e);
    }
    let rc = held.finalize();
    STATE.store(FINALIZED, Ordering::SeqCst);
    if rc < 0 {
        return Err(Error::Init {
            message: "Py_FinalizeEx reported an error (often a failed flush of sys.stdout)".into(),
        });
    }
    Ok(())
}
