//! `#[pyhost::function]`: every argument shape, return and error conversion, CPython's
//! `TypeError` messages, docstrings and `inspect.signature`, `release_gil`, panics, and
//! reference counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyhost::types::{Any, Dict, Module, Tuple};
use pyhost::{Borrowed, Error, ExceptionKind, Object, PyErr, Python, with_gil};

fn init() {
    pyhost::initialize_once().expect("starting Python");
}

// ---------------------------------------------------------------------------------------------
// The functions under test

/// Adds two integers.
///
/// The sum is exact.
#[pyhost::function]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Scales a value.
#[pyhost::function]
fn scale(x: f64, #[pyhost(default = 2.5)] factor: f64, offset: Option<f64>) -> f64 {
    x * factor + offset.unwrap_or(0.0)
}

#[pyhost::function]
fn greet(
    name: &str,
    #[pyhost(default = "hello")] greeting: &str,
    #[pyhost(default)] shout: bool,
) -> String {
    let s = format!("{greeting} {name}");
    if shout { s.to_uppercase() } else { s }
}

#[pyhost::function]
fn total(first: i64, #[pyhost(args)] rest: Vec<i64>) -> i64 {
    first + rest.iter().sum::<i64>()
}

#[pyhost::function]
fn count_args(#[pyhost(args)] all: &[Borrowed<'_, '_, Any>]) -> usize {
    all.len()
}

#[pyhost::function]
fn as_tuple<'py>(#[pyhost(args)] all: Object<'py, Tuple>) -> Object<'py, Tuple> {
    all
}

#[pyhost::function]
fn options<'py>(
    name: &str,
    #[pyhost(kwargs)] rest: Option<Object<'py, Dict>>,
) -> (String, Option<Object<'py, Dict>>) {
    (name.to_owned(), rest)
}

#[pyhost::function]
fn tally(#[pyhost(kwargs)] counts: HashMap<String, i64>) -> i64 {
    counts.values().sum()
}

/// `def shaped(a, b=1, /, c=2, *args, d, e=5, **kwargs)`.
#[pyhost::function]
#[allow(clippy::too_many_arguments)]
fn shaped(
    #[pyhost(positional_only)] a: i64,
    #[pyhost(positional_only, default = 1)] b: i64,
    #[pyhost(default = 2)] c: i64,
    #[pyhost(args)] args: Vec<i64>,
    d: i64,
    #[pyhost(default = 5)] e: i64,
    #[pyhost(kwargs)] kwargs: HashMap<String, i64>,
) -> String {
    let mut kw: Vec<_> = kwargs.into_iter().collect();
    kw.sort();
    format!("a={a} b={b} c={c} args={args:?} d={d} e={e} kwargs={kw:?}")
}

#[pyhost::function]
fn kwonly(
    a: i64,
    #[pyhost(keyword_only)] flag: bool,
    #[pyhost(keyword_only, name = "type")] kind: Option<String>,
) -> String {
    format!("{a} {flag} {kind:?}")
}

#[pyhost::function]
fn type_of<'py>(py: Python<'py>, value: Object<'py, Any>) -> pyhost::Result<String> {
    let _ = py;
    value.get_type().getattr("__name__")?.extract()
}

#[pyhost::function]
fn identity<'py>(value: Object<'py, Any>) -> Object<'py, Any> {
    value
}

#[pyhost::function]
fn borrow_bytes(data: &[u8]) -> usize {
    data.len()
}

static NOARGS_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Counts its calls.
#[pyhost::function]
fn ping() -> usize {
    NOARGS_CALLS.fetch_add(1, Ordering::SeqCst) + 1
}

#[pyhost::function]
fn nothing() {}

#[pyhost::function]
fn maybe(n: i64) -> Option<Vec<i64>> {
    (n >= 0).then(|| (0..n).collect())
}

#[pyhost::function]
fn checked_div(a: i64, b: i64) -> pyhost::Result<i64> {
    if b == 0 {
        return Err(Error::Python(PyErr::new(
            pyhost::ExceptionType::ZeroDivisionError,
            "division by zero in Rust",
        )));
    }
    Ok(a / b)
}

#[pyhost::function]
fn fails_with_context() -> pyhost::Result<()> {
    use pyhost::ResultExt;
    Err(Error::value_error("bad input")).context("loading check foo")
}

/// A Rust error with a source chain.
#[derive(Debug)]
struct ConfigError {
    file: String,
    source: std::num::ParseIntError,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid port in {}", self.file)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[pyhost::function(error = ValueError)]
fn parse_port(file: &str, text: &str) -> Result<u16, ConfigError> {
    text.parse::<u16>().map_err(|source| ConfigError {
        file: file.to_owned(),
        source,
    })
}

/// An error type converting into a Python exception by itself.
struct Denied(String);

impl From<Denied> for PyErr {
    fn from(d: Denied) -> PyErr {
        PyErr::new(pyhost::ExceptionType::PermissionError, d.0)
    }
}

#[pyhost::function]
fn guarded(user: &str) -> Result<&'static str, Denied> {
    if user == "root" {
        Ok("welcome")
    } else {
        Err(Denied(format!("{user} may not enter")))
    }
}

fn custom_error_class(py: Python<'_>) -> pyhost::ExceptionType {
    let cls = py
        .eval("__import__('configparser').Error")
        .expect("configparser is importable");
    pyhost::ExceptionType::custom(&cls).expect("an exception class")
}

#[pyhost::function(error = custom_error_class)]
fn custom_class(fail: bool) -> Result<i64, std::fmt::Error> {
    if fail { Err(std::fmt::Error) } else { Ok(1) }
}

#[pyhost::function(text_signature = "(timeout=DEFAULT_TIMEOUT)")]
fn with_signature(
    #[pyhost(default = std::time::Duration::from_secs(5).as_secs_f64())] timeout: f64,
) -> f64 {
    timeout
}

#[pyhost::function]
fn explode(message: &str) -> i64 {
    panic!("exploded: {message}")
}

#[pyhost::function(name = "renamed")]
fn rust_side_name(x: i64) -> i64 {
    -x
}

static FLAG: AtomicBool = AtomicBool::new(false);

#[pyhost::function]
fn set_flag() {
    FLAG.store(true, Ordering::SeqCst);
}

/// Waits (without the GIL) until `set_flag` is called or the timeout passes.
#[pyhost::function(release_gil)]
fn wait_for_flag(timeout_ms: u64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    while Instant::now() < deadline {
        if FLAG.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// Releases the GIL and sums a borrowed string's bytes.
#[pyhost::function(release_gil)]
fn checksum(text: &str) -> u64 {
    assert!(!pyhost::gil_is_held());
    text.bytes().map(u64::from).sum()
}

#[pyhost::function(release_gil)]
fn detached_panic() {
    panic!("panicked without the GIL");
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A namespace holding every function above (and `inspect`).
fn namespace(py: Python<'_>) -> pyhost::Result<Object<'_, Dict>> {
    let m = Module::new(py, "fns")?;
    for def in [
        pyhost::wrap_function!(add),
        pyhost::wrap_function!(scale),
        pyhost::wrap_function!(greet),
        pyhost::wrap_function!(total),
        pyhost::wrap_function!(count_args),
        pyhost::wrap_function!(as_tuple),
        pyhost::wrap_function!(options),
        pyhost::wrap_function!(tally),
        pyhost::wrap_function!(shaped),
        pyhost::wrap_function!(kwonly),
        pyhost::wrap_function!(type_of),
        pyhost::wrap_function!(identity),
        pyhost::wrap_function!(borrow_bytes),
        pyhost::wrap_function!(ping),
        pyhost::wrap_function!(nothing),
        pyhost::wrap_function!(maybe),
        pyhost::wrap_function!(checked_div),
        pyhost::wrap_function!(fails_with_context),
        pyhost::wrap_function!(parse_port),
        pyhost::wrap_function!(guarded),
        pyhost::wrap_function!(custom_class),
        pyhost::wrap_function!(explode),
        pyhost::wrap_function!(with_signature),
        pyhost::wrap_function!(rust_side_name),
        pyhost::wrap_function!(set_flag),
        pyhost::wrap_function!(wait_for_flag),
        pyhost::wrap_function!(checksum),
        pyhost::wrap_function!(detached_panic),
    ] {
        m.add_function(def)?;
    }
    let ns = py.new_namespace()?;
    ns.update(&m.dict().to_owned().into_any())?;
    ns.set_item("inspect", py.import("inspect")?)?;
    Ok(ns)
}

fn eval<'py>(ns: &Object<'py, Dict>, expr: &str) -> pyhost::Result<Object<'py, Any>> {
    ns.py().eval_with(expr, ns, None)
}

/// `repr(eval(expr))`.
fn repr(expr: &str) -> String {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        Ok(eval(&ns, expr)?.repr()?.to_str()?.to_owned())
    })
    .unwrap_or_else(|e| panic!("{expr}: {e:#}"))
}

/// The exception `expr` raises, as "TypeName: message".
fn raises(expr: &str) -> String {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        match eval(&ns, expr) {
            Ok(v) => panic!("{expr} returned {v:?}"),
            Err(e) => Ok(e.to_string()),
        }
    })
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Argument shapes

#[test]
fn positional_and_keyword_arguments() {
    assert_eq!(repr("add(2, 3)"), "5");
    assert_eq!(repr("add(2, b=3)"), "5");
    assert_eq!(repr("add(b=3, a=2)"), "5");
    assert_eq!(repr("add(*[2, 3])"), "5");
    assert_eq!(repr("add(**{'a': 2, 'b': 3})"), "5");
}

#[test]
fn defaults_and_optional_arguments() {
    assert_eq!(repr("scale(2.0)"), "5.0");
    assert_eq!(repr("scale(2.0, 3)"), "6.0");
    assert_eq!(repr("scale(2.0, offset=1.5)"), "6.5");
    assert_eq!(repr("scale(2.0, 1.0, None)"), "2.0");
    assert_eq!(repr("greet('ada')"), "'hello ada'");
    assert_eq!(repr("greet('ada', 'hi', True)"), "'HI ADA'");
    assert_eq!(repr("greet(shout=True, name='bob')"), "'HELLO BOB'");
}

#[test]
fn varargs_capture() {
    assert_eq!(repr("total(1)"), "1");
    assert_eq!(repr("total(1, 2, 3, 4)"), "10");
    assert_eq!(repr("count_args()"), "0");
    assert_eq!(repr("count_args(1, 'a', None)"), "3");
    assert_eq!(repr("as_tuple(1, 'a')"), "(1, 'a')");
    assert_eq!(repr("as_tuple()"), "()");
    assert_eq!(
        raises("total(1, 2, 'x')"),
        "TypeError: total() argument 'rest' item 1: expected int (for i64), got str"
    );
}

#[test]
fn varkw_capture() {
    assert_eq!(repr("options('a')"), "('a', None)");
    assert_eq!(
        repr("options('a', x=1, y='z')"),
        "('a', {'x': 1, 'y': 'z'})"
    );
    assert_eq!(repr("options(name='a', x=1)"), "('a', {'x': 1})");
    assert_eq!(repr("tally()"), "0");
    assert_eq!(repr("tally(a=1, b=2)"), "3");
}

#[test]
fn every_parameter_kind_together() {
    assert_eq!(
        repr("shaped(1, d=4)"),
        "'a=1 b=1 c=2 args=[] d=4 e=5 kwargs=[]'"
    );
    assert_eq!(
        repr("shaped(1, 2, 3, 9, 8, d=4, e=6, z=7)"),
        "'a=1 b=2 c=3 args=[9, 8] d=4 e=6 kwargs=[(\"z\", 7)]'"
    );
    // Positional-only names passed by keyword go to **kwargs, as in Python.
    assert_eq!(
        repr("shaped(1, d=4, a=10, c=3)"),
        "'a=1 b=1 c=3 args=[] d=4 e=5 kwargs=[(\"a\", 10)]'"
    );
    assert_eq!(repr("kwonly(1, flag=True)"), "'1 true None'");
    assert_eq!(
        repr("kwonly(1, flag=False, type='x')"),
        "'1 false Some(\"x\")'"
    );
}

#[test]
fn python_token_is_injected_and_objects_pass_through() {
    assert_eq!(repr("type_of([])"), "'list'");
    assert_eq!(repr("borrow_bytes(b'abc')"), "3");
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        let obj = py.eval("object()")?;
        let before = obj.refcount();
        let f = eval(&ns, "identity")?;
        for _ in 0..100 {
            let back = f.call1((&obj,))?;
            assert!(back.is(&obj));
        }
        assert_eq!(
            obj.refcount(),
            before,
            "arguments and results are not leaked"
        );
        let s = py.eval("'some text' * 3")?;
        let before = s.refcount();
        eval(&ns, "greet")?.call1((&s,))?;
        eval(&ns, "checksum")?.call1((&s,))?;
        assert_eq!(
            s.refcount(),
            before,
            "borrowed str arguments are not leaked"
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn zero_argument_functions_use_noargs() {
    assert_eq!(repr("nothing()"), "None");
    let before = NOARGS_CALLS.load(Ordering::SeqCst);
    let after: usize = repr("ping()").parse().unwrap();
    assert!(after > before);
    // METH_NOARGS: CPython checks the call itself (and names the function `fns.ping` on
    // 3.10+, `ping` before).
    let e = raises("ping(1)");
    assert!(
        e.starts_with("TypeError: ") && e.ends_with("ping() takes no arguments (1 given)"),
        "{e}"
    );
    let e = raises("ping(x=1)");
    assert!(
        e.starts_with("TypeError: ") && e.ends_with("ping() takes no keyword arguments"),
        "{e}"
    );
}

#[test]
fn return_values_convert() {
    assert_eq!(repr("maybe(3)"), "[0, 1, 2]");
    assert_eq!(repr("maybe(-1)"), "None");
    assert_eq!(repr("renamed(4)"), "-4");
    assert_eq!(repr("guarded('root')"), "'welcome'");
}

// ---------------------------------------------------------------------------------------------
// TypeError messages (CPython's wording for the same signature written in Python)

#[test]
fn missing_arguments() {
    assert_eq!(
        raises("add(1)"),
        "TypeError: add() missing 1 required positional argument: 'b'"
    );
    assert_eq!(
        raises("add()"),
        "TypeError: add() missing 2 required positional arguments: 'a' and 'b'"
    );
    assert_eq!(
        raises("shaped(1)"),
        "TypeError: shaped() missing 1 required keyword-only argument: 'd'"
    );
    assert_eq!(
        raises("kwonly(1)"),
        "TypeError: kwonly() missing 1 required keyword-only argument: 'flag'"
    );
}

#[test]
fn too_many_arguments() {
    assert_eq!(
        raises("add(1, 2, 3)"),
        "TypeError: add() takes 2 positional arguments but 3 were given"
    );
    assert_eq!(
        raises("scale(1, 2, 3, 4)"),
        "TypeError: scale() takes from 1 to 3 positional arguments but 4 were given"
    );
    assert_eq!(
        raises("kwonly(1, 2, flag=True)"),
        "TypeError: kwonly() takes 1 positional argument but 2 positional arguments (and 1 \
         keyword-only argument) were given"
    );
}

#[test]
fn keyword_errors() {
    assert_eq!(
        raises("add(1, c=2)"),
        "TypeError: add() got an unexpected keyword argument 'c'"
    );
    assert_eq!(
        raises("add(1, a=2)"),
        "TypeError: add() got multiple values for argument 'a'"
    );
    // The same checks as a function defined in Python gives.
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        py.exec_with("def py_add(a, b):\n    pass\n", &ns, None)?;
        for call in [
            "add(1, c=2)",
            "add(1, a=2)",
            "add(1)",
            "add()",
            "add(1, 2, 3)",
        ] {
            let ours = eval(&ns, call).unwrap_err().to_string();
            let theirs = eval(&ns, &format!("py_{call}"))
                .unwrap_err()
                .to_string()
                .replace("py_add", "add");
            assert_eq!(ours, theirs, "{call}");
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn conversion_errors_name_the_function_and_argument() {
    assert_eq!(
        raises("add('1', 2)"),
        "TypeError: add() argument 'a': expected int (for i64), got str"
    );
    assert_eq!(
        raises("greet(5)"),
        "TypeError: greet() argument 'name': expected str, got int"
    );
    assert_eq!(
        raises("scale('x')"),
        "TypeError: scale() argument 'x': expected float, got str"
    );
    assert_eq!(
        raises("add(2**70, 1)"),
        "OverflowError: add() argument 'a': int 1180591620717411303424 does not fit in i64"
    );
    assert_eq!(
        raises("kwonly(1, flag=1)"),
        "TypeError: kwonly() argument 'flag': expected bool, got int"
    );
    assert_eq!(
        raises("borrow_bytes('text')"),
        "TypeError: borrow_bytes() argument 'data': expected bytes, got str"
    );
}

// ---------------------------------------------------------------------------------------------
// Errors and panics

#[test]
fn returned_errors_become_exceptions() {
    assert_eq!(
        raises("checked_div(1, 0)"),
        "ZeroDivisionError: division by zero in Rust"
    );
    assert_eq!(repr("checked_div(7, 2)"), "3");
    assert_eq!(
        raises("fails_with_context()"),
        "RuntimeError: loading check foo: ValueError: bad input"
    );
    assert_eq!(
        raises("guarded('eve')"),
        "PermissionError: eve may not enter"
    );
    assert_eq!(
        raises("custom_class(True)"),
        "configparser.Error: an error occurred when formatting an argument"
    );
    assert_eq!(repr("custom_class(False)"), "1");
}

#[test]
fn chosen_error_class_carries_the_source_chain() {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        py.exec_with(
            "try:\n    parse_port('agent.yaml', 'http')\nexcept ValueError as e:\n    err = e\n",
            &ns,
            None,
        )?;
        let err = ns.get_item("err")?.expect("raised");
        assert_eq!(err.str()?.to_str()?, "invalid port in agent.yaml");
        let cause = err.getattr("__cause__")?;
        assert_eq!(
            cause.get_type().getattr("__name__")?.extract::<String>()?,
            "ValueError"
        );
        assert_eq!(cause.str()?.to_str()?, "invalid digit found in string");
        assert!(cause.getattr("__cause__")?.is_none());
        assert_eq!(
            eval(&ns, "parse_port('a', '8080')")?.extract::<u16>()?,
            8080
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn panics_become_panic_exceptions() {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        let err = eval(&ns, "explode('boom')").unwrap_err();
        let e = err.as_python().expect("a Python exception");
        assert_eq!(e.kind(), ExceptionKind::RustPanic);
        assert_eq!(e.type_name(), "pyhost.PanicException");
        assert_eq!(e.message(), "Rust panic: exploded: boom");
        // `except Exception` does not swallow it.
        py.exec_with(
            "try:\n    explode('x')\nexcept Exception:\n    caught = True\nexcept BaseException:\n    caught = False\n",
            &ns,
            None,
        )?;
        assert!(!ns.get_item("caught")?.unwrap().extract::<bool>()?);
        let err = eval(&ns, "detached_panic()").unwrap_err();
        assert_eq!(
            err.as_python().unwrap().message(),
            "Rust panic: panicked without the GIL"
        );
        // The interpreter is fine afterwards.
        assert_eq!(eval(&ns, "add(1, 1)")?.extract::<i64>()?, 2);
        Ok(())
    })
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Introspection

#[test]
fn docstrings_and_signatures() {
    assert_eq!(
        repr("add.__doc__"),
        "'Adds two integers.\\n\\nThe sum is exact.'"
    );
    assert_eq!(repr("add.__name__"), "'add'");
    assert_eq!(repr("add.__module__"), "'fns'");
    assert_eq!(repr("add.__text_signature__"), "'(a, b)'");
    assert_eq!(repr("str(inspect.signature(add))"), "'(a, b)'");
    assert_eq!(
        repr("str(inspect.signature(scale))"),
        "'(x, factor=2.5, offset=None)'"
    );
    assert_eq!(
        repr("str(inspect.signature(greet))"),
        "\"(name, greeting='hello', shout=False)\""
    );
    assert_eq!(repr("str(inspect.signature(total))"), "'(first, *rest)'");
    assert_eq!(
        repr("str(inspect.signature(shaped))"),
        "'(a, b=1, /, c=2, *args, d, e=5, **kwargs)'"
    );
    assert_eq!(
        repr("str(inspect.signature(kwonly))"),
        "'(a, *, flag, type=None)'"
    );
    assert_eq!(repr("str(inspect.signature(ping))"), "'()'");
    assert_eq!(repr("ping.__doc__"), "'Counts its calls.'");
    assert_eq!(
        repr("with_signature.__text_signature__"),
        "'(timeout=DEFAULT_TIMEOUT)'"
    );
    assert_eq!(repr("with_signature()"), "5.0");
    assert_eq!(repr("greet.__doc__"), "None");
    assert_eq!(repr("renamed.__name__"), "'renamed'");
    assert_eq!(
        repr("[p.kind.name for p in inspect.signature(shaped).parameters.values()]"),
        "['POSITIONAL_ONLY', 'POSITIONAL_ONLY', 'POSITIONAL_OR_KEYWORD', 'VAR_POSITIONAL', \
         'KEYWORD_ONLY', 'KEYWORD_ONLY', 'VAR_KEYWORD']"
    );
}

#[test]
fn standalone_callable() {
    init();
    with_gil(|py| {
        let f = pyhost::wrap_function!(add).to_callable(py)?;
        assert_eq!(f.call1((40, 2))?.extract::<i64>()?, 42);
        assert!(f.getattr("__module__")?.is_none());
        Ok(())
    })
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// release_gil

#[test]
fn release_gil_lets_python_threads_run() {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        FLAG.store(false, Ordering::SeqCst);
        // A Python thread sets the flag while this thread waits inside wait_for_flag: possible
        // only if the wait released the GIL.
        py.exec_with(
            "import threading, time\n\
             def setter():\n    time.sleep(0.05)\n    set_flag()\n\
             t = threading.Thread(target=setter)\n\
             t.start()\n\
             got = wait_for_flag(5000)\n\
             t.join()\n",
            &ns,
            None,
        )?;
        assert!(ns.get_item("got")?.unwrap().extract::<bool>()?);
        assert_eq!(eval(&ns, "checksum('ab')")?.extract::<u64>()?, 97 + 98);
        Ok(())
    })
    .unwrap();
}

#[test]
fn functions_are_plain_rust_functions_too() {
    assert_eq!(add(1, 2), 3);
    assert_eq!(rust_side_name(3), -3);
}
