//! Running Python source: `eval`, `exec`, files, and `sys.path`.
//!
//! None of this goes through `PyRun_SimpleString` or `PyErr_Print`, which exit the process on
//! `SystemExit`: `sys.exit(n)` in the code run here returns an error holding `n`.

use std::ffi::CString;
use std::path::Path;

use crate::types::{Any, Dict};
use crate::{Error, Object, Python, Result, ffi, raw};

/// How source is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A single expression (`eval`).
    Eval,
    /// A module's worth of statements (`exec`).
    Exec,
}

impl<'py> Python<'py> {
    /// A fresh namespace for running code: `{"__builtins__": builtins}`.
    ///
    /// # Errors
    /// If `builtins` cannot be imported (it always can in a working interpreter).
    pub fn new_namespace(self) -> Result<Object<'py, Dict>> {
        let ns = Dict::new(self);
        ns.set_item("__builtins__", self.import("builtins")?)?;
        Ok(ns)
    }

    /// Compiles `source`; `filename` appears in tracebacks and `SyntaxError`s.
    ///
    /// # Errors
    /// `SyntaxError` (with file and line), or `ValueError` for source with a NUL byte.
    pub fn compile(self, source: &str, filename: &str, mode: Mode) -> Result<Object<'py, Any>> {
        let src = CString::new(source)
            .map_err(|_| Error::value_error("source code contains a NUL byte"))?;
        let name = CString::new(filename)
            .map_err(|_| Error::value_error("file name contains a NUL byte"))?;
        let start = match mode {
            Mode::Eval => ffi::Py_eval_input,
            Mode::Exec => ffi::Py_file_input,
        };
        raw::compile(self, &src, &name, start as _)
    }

    /// Runs compiled code in `globals` (and `locals`, which default to `globals`).
    ///
    /// # Errors
    /// What the code raises.
    pub fn run_code(
        self,
        code: &Object<'py, Any>,
        globals: &Object<'py, Dict>,
        locals: Option<&Object<'py, Any>>,
    ) -> Result<Object<'py, Any>> {
        if !globals.contains("__builtins__")? {
            globals.set_item("__builtins__", self.import("builtins")?)?;
        }
        raw::eval_code(code, globals, locals.unwrap_or(globals.as_any()))
    }

    /// Evaluates an expression in a fresh namespace.
    ///
    /// # Errors
    /// `SyntaxError`, or what evaluating raises.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     assert_eq!(py.eval("sum(range(5))")?.extract::<i32>()?, 10);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn eval(self, expr: &str) -> Result<Object<'py, Any>> {
        self.eval_with(expr, &self.new_namespace()?, None)
    }

    /// Evaluates an expression with the given globals and locals.
    ///
    /// # Errors
    /// `SyntaxError`, or what evaluating raises.
    pub fn eval_with(
        self,
        expr: &str,
        globals: &Object<'py, Dict>,
        locals: Option<&Object<'py, Any>>,
    ) -> Result<Object<'py, Any>> {
        let code = self.compile(expr, "<string>", Mode::Eval)?;
        self.run_code(&code, globals, locals)
    }

    /// Runs statements in a fresh namespace.
    ///
    /// # Errors
    /// `SyntaxError`, or what the code raises (`sys.exit(n)` included: see
    /// [`Error::exit_code`]).
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// let err = pyhost::with_gil(|py| py.exec("import sys\nsys.exit(3)")).unwrap_err();
    /// assert_eq!(err.exit_code(), Some(3));
    /// ```
    pub fn exec(self, code: &str) -> Result<()> {
        self.exec_with(code, &self.new_namespace()?, None)
    }

    /// Runs statements with the given globals and locals.
    ///
    /// # Errors
    /// `SyntaxError`, or what the code raises.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let ns = py.new_namespace()?;
    ///     py.exec_with("x = 40\ny = x + 2", &ns, None)?;
    ///     assert_eq!(ns.get_item("y")?.unwrap().extract::<i32>()?, 42);
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn exec_with(
        self,
        code: &str,
        globals: &Object<'py, Dict>,
        locals: Option<&Object<'py, Any>>,
    ) -> Result<()> {
        let code = self.compile(code, "<string>", Mode::Exec)?;
        self.run_code(&code, globals, locals).map(drop)
    }

    /// Runs a Python file as a script (`__name__ == "__main__"`, `__file__` set) in a fresh
    /// namespace, and returns that namespace.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; `SyntaxError` pointing into the file; what the
    /// script raises.
    pub fn run_file(self, path: impl AsRef<Path>) -> Result<Object<'py, Dict>> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let ns = self.new_namespace()?;
        ns.set_item("__name__", "__main__")?;
        ns.set_item("__file__", path)?;
        let code = self.compile(&source, &path.to_string_lossy(), Mode::Exec)?;
        self.run_code(&code, &ns, None)?;
        Ok(ns)
    }

    /// Runs a Python file as `python3 path args…` would: in the real `__main__` module
    /// (`sys.modules["__main__"]`, so functions and classes it defines can be pickled and
    /// `multiprocessing` works with fork and with spawn), with `__file__` set,
    /// `sys.argv == [path, args…]` and the script's directory first on `sys.path`. Returns
    /// the `__main__` namespace. Use [`Python::run_file`] for a file that should not touch
    /// `sys` or `__main__`.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// # let dir = std::env::temp_dir().join(format!("pyhost-doc-run-script-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let script = dir.join("hello.py");
    /// std::fs::write(&script, "import sys\ndef twice(x):\n    return 2 * x\nwho = sys.argv[1]\n").unwrap();
    /// pyhost::with_gil(|py| {
    ///     let main = py.run_script(&script, ["world"])?;
    ///     assert_eq!(main.get_item("who")?.unwrap().extract::<String>()?, "world");
    ///     // A function of the script pickles by reference, as under python3.
    ///     let restored = py.eval("__import__('pickle').loads(__import__('pickle').dumps(__import__('__main__').twice))(21)")?;
    ///     assert_eq!(restored.extract::<i32>()?, 42);
    ///     Ok(())
    /// })?;
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; `SyntaxError` pointing into the file; what the
    /// script raises (`sys.exit(n)` included: see [`Error::exit_code`]).
    pub fn run_script<I, S>(self, path: impl AsRef<Path>, args: I) -> Result<Object<'py, Dict>>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let sys = self.import("sys")?;
        let mut argv = vec![path.to_string_lossy().into_owned()];
        argv.extend(args.into_iter().map(Into::into));
        sys.setattr("argv", argv)?;
        // python3 puts the script's real directory first (what `python3 -P` leaves out).
        let dir = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let sys_path = sys.getattr("path")?;
        let first: Option<String> = sys_path.get_item(0).ok().and_then(|f| f.extract().ok());
        if first.as_deref() != Some(dir.to_string_lossy().as_ref()) {
            sys_path.call_method1("insert", (0, dir.as_path()))?;
        }
        let main = self.import("__main__")?;
        let ns: Object<'py, Dict> = main.getattr("__dict__")?.into_downcast()?;
        ns.set_item("__file__", path)?;
        ns.set_item("__cached__", ())?;
        ns.set_item("__spec__", ())?;
        ns.set_item("__package__", ())?;
        let loader = self
            .import("importlib.machinery")?
            .getattr("SourceFileLoader")?
            .call1(("__main__", path))?;
        ns.set_item("__loader__", loader)?;
        let code = self.compile(&source, &path.to_string_lossy(), Mode::Exec)?;
        self.run_code(&code, &ns, None)?;
        Ok(ns)
    }

    /// Puts `dir` at the front of `sys.path` unless it is already there.
    ///
    /// # Errors
    /// If `sys.path` is not a list.
    pub fn add_sys_path(self, dir: impl AsRef<Path>) -> Result<()> {
        let path = self.import("sys")?.getattr("path")?;
        let dir = dir.as_ref();
        let entry = crate::IntoPython::into_python(dir, self)?;
        if !path.call_method1("__contains__", (&entry,))?.is_truthy()? {
            path.call_method1("insert", (0, entry))?;
        }
        Ok(())
    }
}
