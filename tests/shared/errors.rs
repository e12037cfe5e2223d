//! Errors as values: SystemExit, SyntaxError with file and line, ImportError, panics and
//! exceptions in Rust callbacks, BaseException kinds, cause chains, and no exception left set.

use pyhost::types::{Dict, Function};
use pyhost::{Error, ExceptionKind, ExceptionType, IntoPython, Object, PyErr, ffi, with_gil};

fn init() {
    pyhost::initialize_once().expect("starting Python");
}

fn python_error(e: &Error) -> &PyErr {
    e.as_python()
        .unwrap_or_else(|| panic!("expected a Python exception, got {e:?}"))
}

/// No exception is left set after an error was returned.
fn assert_no_exception_set() {
    with_gil(|_| {
        // SAFETY: GIL held.
        let occurred = unsafe { ffi::PyErr_Occurred() };
        assert!(occurred.is_null(), "an exception was left set");
        Ok(())
    })
    .unwrap();
}

const _: () = {
    const fn send_sync<T: Send + Sync + std::error::Error + 'static>() {}
    send_sync::<Error>();
    send_sync::<PyErr>();
};

#[test]
fn sys_exit_is_an_error_holding_the_code() {
    init();
    for (code, expected) in [
        ("sys.exit(3)", 3),
        ("sys.exit()", 0),
        ("sys.exit(None)", 0),
        ("sys.exit('bye')", 1),
        ("raise SystemExit(7)", 7),
    ] {
        let e = with_gil(|py| py.exec(&format!("import sys\n{code}"))).unwrap_err();
        assert_eq!(e.exit_code(), Some(expected), "{code}");
        assert_eq!(
            python_error(&e).kind(),
            ExceptionKind::SystemExit { code: expected }
        );
        assert_no_exception_set();
    }
    // The process is still here, and Python still works.
    assert_eq!(
        with_gil(|py| py.eval("1 + 1")?.extract::<i32>()).unwrap(),
        2
    );
}

#[test]
fn syntax_error_points_at_file_and_line() {
    init();
    let dir = crate::common::TempDir::new("syntax");
    let path = dir.write("broken_check.py", "x = 1\ny = 2\ndef f(:\n    pass\n");
    let e = with_gil(|py| py.run_file(&path).map(drop)).unwrap_err();
    let pe = python_error(&e);
    assert_eq!(pe.type_name(), "SyntaxError");
    let loc = pe.syntax_location().expect("a location");
    assert_eq!(loc.file, path.display().to_string());
    assert_eq!(loc.line, 3);
    assert_eq!(loc.text.as_deref().map(str::trim), Some("def f(:"));
    let tb = pe.traceback();
    assert!(
        tb.contains(&format!("File \"{}\", line 3", path.display())),
        "{tb}"
    );
    assert!(tb.contains("SyntaxError: "), "{tb}");
    assert!(e.to_string().contains("line 3"), "{e}");
    assert_no_exception_set();
}

#[test]
fn missing_file_is_an_io_error() {
    init();
    let e = with_gil(|py| py.run_file("/nonexistent/check.py").map(drop)).unwrap_err();
    assert!(matches!(&e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/check.py"), "{e}");
}

#[test]
fn import_error_names_the_module() {
    init();
    let e = with_gil(|py| py.import("no_such_module_anywhere").map(drop)).unwrap_err();
    let pe = python_error(&e);
    assert_eq!(pe.type_name(), "ModuleNotFoundError");
    assert_eq!(pe.message(), "No module named 'no_such_module_anywhere'");
    assert!(with_gil(|py| Ok(pe.is_instance(py, &ExceptionType::ImportError))).unwrap());
    assert_no_exception_set();
}

#[test]
fn traceback_lists_python_frames_with_source() {
    init();
    let dir = crate::common::TempDir::new("tb");
    let path = dir.write(
        "check.py",
        "def inner():\n    raise ValueError('bad value')\n\ndef outer():\n    inner()\n\nouter()\n",
    );
    let e = with_gil(|py| py.run_file(&path).map(drop)).unwrap_err();
    let pe = python_error(&e);
    assert_eq!(e.to_string(), "ValueError: bad value");
    let names: Vec<&str> = pe.frames().iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["<module>", "outer", "inner"]);
    assert_eq!(pe.frames()[2].line, 2);
    let tb = format!("{e:#}");
    assert!(tb.starts_with("Traceback (most recent call last):"), "{tb}");
    assert!(
        tb.contains("    raise ValueError('bad value')"),
        "source lines are shown: {tb}"
    );
    assert!(tb.ends_with("ValueError: bad value"), "{tb}");
}

#[test]
fn cause_and_context_chains_are_kept() {
    init();
    let e = with_gil(|py| {
        py.exec(
            "try:\n    {}['k']\nexcept KeyError as e:\n    raise RuntimeError('lookup failed') from e\n",
        )
    })
    .unwrap_err();
    let pe = python_error(&e);
    let (kind, cause) = pe.cause().unwrap();
    assert_eq!(kind, pyhost::CauseKind::Cause);
    assert_eq!(cause.type_name(), "KeyError");
    assert!(std::error::Error::source(pe).is_some());
    let tb = pe.traceback();
    assert!(
        tb.contains("The above exception was the direct cause"),
        "{tb}"
    );

    let e = with_gil(|py| {
        py.exec("try:\n    1/0\nexcept ZeroDivisionError:\n    raise ValueError('during')\n")
    })
    .unwrap_err();
    let (kind, cause) = python_error(&e).cause().unwrap();
    assert_eq!(kind, pyhost::CauseKind::Context);
    assert_eq!(cause.type_name(), "ZeroDivisionError");
}

#[test]
fn base_exceptions_are_told_apart() {
    init();
    let kind = |code: &str| python_error(&with_gil(|py| py.exec(code)).unwrap_err()).kind();
    assert_eq!(
        kind("raise KeyboardInterrupt"),
        ExceptionKind::KeyboardInterrupt
    );
    assert_eq!(
        kind("raise GeneratorExit"),
        ExceptionKind::OtherBaseException
    );
    assert_eq!(
        kind("class Stop(BaseException): pass\nraise Stop()"),
        ExceptionKind::OtherBaseException
    );
    assert_eq!(kind("raise OSError(2, 'nope')"), ExceptionKind::Exception);
}

/// A namespace holding `fail` (returns a Rust error), `boom` (panics) and `call_back(f)` (calls
/// a Python function from Rust).
fn callbacks<'py>(py: pyhost::Python<'py>) -> pyhost::Result<Object<'py, Dict>> {
    let ns = py.new_namespace()?;
    ns.set_item(
        "fail",
        Function::new(py, "fail", None, |_py, _a, _k| {
            Err(PyErr::new(ExceptionType::ValueError, "rejected by Rust").into())
        })?,
    )?;
    ns.set_item(
        "boom",
        Function::new(
            py,
            "boom",
            None,
            |_py, _a, _k| -> pyhost::Result<Object<'_>> { panic!("index out of range in Rust") },
        )?,
    )?;
    ns.set_item(
        "call_back",
        Function::new(py, "call_back", None, |py, args, _k| {
            let f = args.get(0)?;
            let r = f.call0()?;
            r.into_python(py)
        })?,
    )?;
    Ok(ns)
}

#[test]
fn error_returned_by_a_callback_reaches_python_and_comes_back() {
    init();
    let e = with_gil(|py| {
        let ns = callbacks(py)?;
        py.exec_with(
            "def check():\n    try:\n        fail()\n    except ValueError as e:\n        caught = str(e)\n    assert caught == 'rejected by Rust'\n    fail()\ncheck()\n",
            &ns,
            None,
        )
    })
    .unwrap_err();
    let pe = python_error(&e);
    assert_eq!(pe.type_name(), "ValueError");
    assert_eq!(pe.message(), "rejected by Rust");
    assert_eq!(pe.frames().last().unwrap().function, "check");
    assert_no_exception_set();
}

#[test]
fn exception_in_python_called_by_rust_called_by_python_keeps_its_traceback() {
    init();
    let e = with_gil(|py| {
        let ns = callbacks(py)?;
        py.exec_with(
            "def deepest():\n    raise LookupError('from the bottom')\n\ndef top():\n    return call_back(deepest)\n\ntop()\n",
            &ns,
            None,
        )
    })
    .unwrap_err();
    let pe = python_error(&e);
    assert_eq!(pe.type_name(), "LookupError");
    let names: Vec<&str> = pe.frames().iter().map(|f| f.function.as_str()).collect();
    assert_eq!(
        names,
        ["<module>", "top", "deepest"],
        "the Rust frame is transparent"
    );
    assert!(pe.traceback().contains("in deepest"));
}

#[test]
fn panic_in_a_callback_becomes_an_exception_and_an_error() {
    init();
    let e = with_gil(|py| {
        let ns = callbacks(py)?;
        // `except Exception` does not swallow it: it is a BaseException.
        py.exec_with("try:\n    boom()\nexcept Exception:\n    pass\n", &ns, None)
    })
    .unwrap_err();
    let pe = python_error(&e);
    assert_eq!(pe.kind(), ExceptionKind::RustPanic);
    assert_eq!(pe.type_name(), "pyhost.PanicException");
    assert!(
        pe.message().contains("index out of range in Rust"),
        "{}",
        pe.message()
    );
    assert_no_exception_set();

    // Python code can still catch it explicitly, and the interpreter is fine afterwards.
    let caught: String = with_gil(|py| {
        let ns = callbacks(py)?;
        py.exec_with(
            "try:\n    boom()\nexcept BaseException as e:\n    msg = str(e)\n",
            &ns,
            None,
        )?;
        ns.get_item("msg")?.unwrap().extract()
    })
    .unwrap();
    assert!(caught.contains("Rust panic: index out of range in Rust"));
}

#[test]
fn errors_display_on_other_threads_without_the_gil() {
    init();
    let e = with_gil(|py| py.exec("raise TypeError('shown elsewhere')")).unwrap_err();
    let shown = std::thread::spawn(move || {
        assert!(!pyhost::gil_is_held());
        format!("{e}|{e:#}")
    })
    .join()
    .unwrap();
    assert!(
        shown.starts_with("TypeError: shown elsewhere|Traceback"),
        "{shown}"
    );
}

#[test]
fn rust_errors_carry_their_source_chain_into_python() {
    init();
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("config unreadable")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let err = Outer(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "conf.yaml missing",
    ));
    let pe = PyErr::from_error(ExceptionType::OSError, &err);
    let text = with_gil(|py| {
        let v = pe.to_object(py);
        let cause = v.getattr("__cause__")?;
        Ok((
            v.str()?.to_str()?.to_owned(),
            cause.str()?.to_str()?.to_owned(),
        ))
    })
    .unwrap();
    assert_eq!(
        text,
        (
            "config unreadable".to_owned(),
            "conf.yaml missing".to_owned()
        )
    );
}

#[test]
fn context_wraps_errors() {
    use pyhost::ResultExt;
    init();
    let e = with_gil(|py| py.import("nope_nope").map(drop))
        .context("loading check nope")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "loading check nope: ModuleNotFoundError: No module named 'nope_nope'"
    );
    assert_eq!(e.as_python().unwrap().type_name(), "ModuleNotFoundError");
}
