//! Starting and stopping the interpreter: a builder over PEP 587's `PyConfig`, one start per
//! process, and an explicit [`shutdown`].
//!
//! The interpreter is **isolated by default**: `PYTHONPATH`, `PYTHONHOME`, `PYTHONSTARTUP`,
//! the other `PYTHON*` variables and the user site directory are ignored unless
//! [`Builder::use_environment`] or [`Builder::user_site`] opts in, so a hostile environment
//! cannot inject code into the host. Python's signal handlers are not installed (the host owns
//! `SIGINT`) unless [`Builder::signal_handlers`] asks for them.

use std::ffi::{CString, c_char};
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::thread::ThreadId;

use crate::gil::{Acquired, FINALIZED, FINALIZING, Nested, RUNNING, STARTING, STATE, UNINIT};
use crate::{Error, Python, Result, ffi};

/// The signature of a builtin module's init function (`PyInit_<name>`).
pub type ModuleInit = unsafe extern "C" fn() -> *mut ffi::PyObject;

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

    /// `sys.argv` (default `[""]`). Not parsed as interpreter options.
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

    /// Add the user site directory (`~/.local/lib/python3.X/site-packages`) to `sys.path`
    /// (off by default).
    pub fn user_site(mut self, on: bool) -> Self {
        self.user_site = on;
        self
    }

    /// Install Python's signal handlers, `SIGINT` → `KeyboardInterrupt` among them (off by
    /// default: the host owns its signals).
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
        match STATE.compare_exchange(UNINIT, STARTING, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => {}
            Err(FINALIZING | FINALIZED) => return Err(Error::Finalized),
            Err(_) => return Err(Error::AlreadyInitialized),
        }
        // SAFETY: STARTING excludes every other start; nothing else touches the interpreter.
        match unsafe { self.start_inner() } {
            Ok(()) => Ok(()),
            Err(e) => {
                STATE.store(UNINIT, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    /// # Safety
    /// Called once, by the thread that moved the state to `STARTING`.
    unsafe fn start_inner(self) -> Result<()> {
        let venv = self.venv.as_deref().map(check_venv).transpose()?;
        let mut config = MaybeUninit::<ffi::PyConfig>::zeroed();
        // SAFETY: the config is initialized by the Init call before any other use and cleared
        // on every path out of this block; strings are NUL-terminated copies that outlive the
        // calls they are passed to.
        unsafe {
            let c = config.as_mut_ptr();
            if self.use_environment {
                ffi::PyConfig_InitPythonConfig(c);
            } else {
                ffi::PyConfig_InitIsolatedConfig(c);
            }
            let cfg = &mut *c;
            cfg.install_signal_handlers = self.signal_handlers.into();
            cfg.buffered_stdio = self.buffered_stdio.into();
            cfg.user_site_directory = self.user_site.into();
            cfg.site_import = self.site_import.into();
            cfg.parse_argv = 0;
            cfg.configure_c_stdio = 0;
            let result = (|| -> Result<()> {
                if let Some(name) = &self.program_name {
                    set_string(c, &raw mut (*c).program_name, name)?;
                }
                if let Some(home) = &self.home {
                    set_string(c, &raw mut (*c).home, &home.to_string_lossy())?;
                }
                let argv: Vec<CString> = if self.argv.is_empty() {
                    vec![CString::default()]
                } else {
                    self.argv
                        .iter()
                        .map(|a| cstring(a))
                        .collect::<Result<_>>()?
                };
                let mut ptrs: Vec<*mut c_char> =
                    argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
                check_status(ffi::PyConfig_SetBytesArgv(
                    c,
                    ptrs.len() as ffi::Py_ssize_t,
                    ptrs.as_mut_ptr(),
                ))?;
                check_status(ffi::PyConfig_Read(c))?;
                check_stdlib(&*c)?;
                for (name, init) in &self.builtins {
                    // The inittab keeps the name pointer for the life of the process.
                    let leaked: &'static std::ffi::CStr =
                        Box::leak(name.clone().into_boxed_c_str());
                    if ffi::PyImport_AppendInittab(leaked.as_ptr(), Some(*init)) != 0 {
                        return Err(Error::Init {
                            message: format!("could not register builtin module {name:?}"),
                        });
                    }
                }
                check_status(ffi::Py_InitializeFromConfig(c))
            })();
            ffi::PyConfig_Clear(c);
            result?;
        }

        // Running, with the GIL held by this thread's main thread state.
        // SAFETY: initialization just succeeded on this thread, which holds the GIL.
        let tstate = unsafe { ffi::PyThreadState_Get() };
        crate::gil::adopt_main_thread_state(tstate);
        let me = std::thread::current();
        *STARTED_ON.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            me.id(),
            me.name()
                .map_or_else(|| format!("{:?}", me.id()), str::to_owned),
        ));
        let setup = {
            let _n = Nested::enter();
            // SAFETY: this thread holds the GIL.
            let py = unsafe { Python::assume_gil_acquired() };
            post_init(py, &self.paths, venv.as_ref(), self.executable.as_deref())
        };
        crate::active::setup();
        STATE.store(RUNNING, Ordering::SeqCst);
        // SAFETY: release the GIL held since initialization; the state is kept for this thread.
        unsafe { ffi::PyEval_SaveThread() };
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
    paths: &[PathBuf],
    venv: Option<&Venv>,
    executable: Option<&Path>,
) -> Result<()> {
    let sys = py.import("sys")?;
    let sys_path = sys.getattr("path")?;
    for (i, p) in paths.iter().enumerate() {
        sys_path.call_method1("insert", (i, p.as_path()))?;
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
        if exe.is_none() {
            exe = v.python.clone();
        }
    }
    if exe.is_none() {
        let base: PathBuf = sys.getattr("base_prefix")?.extract()?;
        let minor: String = ffi::build_info::PYTHON_VERSION
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        exe = [format!("bin/python{minor}"), "bin/python3".to_owned()]
            .iter()
            .map(|n| base.join(n))
            .find(|p| p.exists());
    }
    if let Some(e) = exe {
        sys.setattr("executable", e.as_path())?;
    }
    Ok(())
}

/// Checks that the standard library is on the computed search path, so a moved binary gets a
/// clear error instead of CPython's fatal "No module named 'encodings'".
///
/// # Safety
/// `config` was read with `PyConfig_Read`.
unsafe fn check_stdlib(config: &ffi::PyConfig) -> Result<()> {
    let list = &config.module_search_paths;
    // SAFETY: after PyConfig_Read the list holds `length` valid wide strings (caller).
    let searched: Vec<PathBuf> = (0..list.length)
        .map(|i| PathBuf::from(unsafe { wide_to_string(*list.items.offset(i)) }))
        .collect();
    // SAFETY: home is NULL or a valid wide string (caller).
    let home =
        (!config.home.is_null()).then(|| PathBuf::from(unsafe { wide_to_string(config.home) }));
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

/// Converts a NUL-terminated `wchar_t` string.
///
/// # Safety
/// `w` is NULL or a valid NUL-terminated wide string.
unsafe fn wide_to_string(w: *const ffi::wchar_t) -> String {
    let mut out = String::new();
    if w.is_null() {
        return out;
    }
    let mut i = 0;
    loop {
        // SAFETY: within the string, up to and including its terminator (caller).
        let c = unsafe { *w.offset(i) } as u32;
        if c == 0 {
            break;
        }
        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
        i += 1;
    }
    out
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Init {
        message: format!("{s:?} contains a NUL byte"),
    })
}

/// Sets a `PyConfig` string field from UTF-8 text.
///
/// # Safety
/// `config` is initialized and `field` points into it.
unsafe fn set_string(
    config: *mut ffi::PyConfig,
    field: *mut *mut ffi::wchar_t,
    value: &str,
) -> Result<()> {
    let v = cstring(value)?;
    // SAFETY: forwarded to the caller; `v` outlives the call, which copies it.
    check_status(unsafe { ffi::PyConfig_SetBytesString(config, field, v.as_ptr()) })
}

/// Turns a failed `PyStatus` into [`Error::Init`].
fn check_status(status: ffi::PyStatus) -> Result<()> {
    // SAFETY: the status was returned by CPython; its strings are static or NULL.
    unsafe {
        if ffi::PyStatus_Exception(status) == 0 {
            return Ok(());
        }
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let (func, msg) = (text(status.func), text(status.err_msg));
        Err(Error::Init {
            message: if func.is_empty() {
                msg
            } else {
                format!("{func}: {msg}")
            },
        })
    }
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
/// progress on other threads to end, runs Python's `atexit` handlers and joins non-daemon
/// Python threads. Afterwards every attempt to take the GIL returns [`Error::Finalized`]; it
/// never hangs. Call it outside any `with_gil` scope.
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

/// [`shutdown`], giving up when the `with_gil` scopes in progress on other threads have not
/// ended within `wait`: the interpreter is then left running, and the error says so.
///
/// # Errors
/// As [`shutdown`], plus [`Error::Stuck`] when other threads did not leave Python in time.
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

fn shutdown_inner(wait: Option<std::time::Duration>) -> Result<()> {
    if crate::gil::gil_is_held() {
        return Err(Error::ShutdownInsideGil);
    }
    if STATE.load(Ordering::SeqCst) == RUNNING {
        check_finalizing_thread()?;
    }
    match STATE.compare_exchange(RUNNING, FINALIZING, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {}
        Err(UNINIT | STARTING) => return Err(Error::NotInitialized),
        Err(_) => return Err(Error::Finalized),
    }
    // New acquisitions now fail; wait for the ones in progress to end.
    let start = std::time::Instant::now();
    crate::active::publish();
    while crate::active::any_active() {
        if wait.is_some_and(|w| start.elapsed() >= w) {
            STATE.store(RUNNING, Ordering::SeqCst);
            return Err(Error::Stuck {
                after: start.elapsed(),
            });
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let held = Acquired::acquire_for_shutdown();
    // SAFETY: the GIL is held (just taken above) on this thread.
    let py = unsafe { Python::assume_gil_acquired() };
    // Finalizing from another thread than the one `threading` calls its main thread: from
    // 3.9 to 3.12, `threading._shutdown` would wait for that (live) thread's state and hang.
    // Leave it out of the threads to wait for, as CPython means to ("ignore _main_thread").
    if let Err(e) = py.exec(FORGET_OTHER_MAIN_THREAD) {
        drop(e);
    }
    // SAFETY: the GIL is held and no other thread is inside a pyhost acquisition.
    let rc = unsafe {
        crate::gil::drain_pending();
        ffi::Py_FinalizeEx()
    };
    STATE.store(FINALIZED, Ordering::SeqCst);
    held.forget_after_finalize();
    if rc < 0 {
        return Err(Error::Init {
            message: "Py_FinalizeEx reported an error (often a failed flush of sys.stdout)".into(),
        });
    }
    Ok(())
}
