//! `#[pyhost::module]`: builtin modules registered in the inittab before the interpreter
//! starts, modules created at run time (and put in `sys.modules`), constants, classes, and
//! host state carried per module instance.
//!
//! This binary starts its own interpreter (builtin modules must be registered before the
//! start), so it never calls `initialize_once`.

use std::sync::{Arc, Mutex, Once, OnceLock};

use pyhost::types::{Any, Module};
use pyhost::{Interpreter, Object, with_gil};

// ---------------------------------------------------------------------------------------------
// A module in the spirit of the Datadog Agent's `aggregator`

#[derive(Default)]
struct Aggregator {
    name: String,
    samples: Mutex<Vec<(String, f64, Vec<String>)>>,
}

type Agg = Arc<Aggregator>;

/// Submits a metric sample.
#[pyhost::function]
fn submit_metric(
    #[pyhost(state)] agg: &Agg,
    name: &str,
    value: f64,
    #[pyhost(default)] tags: Vec<String>,
) {
    agg.samples
        .lock()
        .unwrap()
        .push((name.to_owned(), value, tags));
}

/// How many samples this module's aggregator holds.
#[pyhost::function]
fn sample_count(#[pyhost(state)] agg: &Agg) -> usize {
    agg.samples.lock().unwrap().len()
}

#[pyhost::function]
fn aggregator_name(#[pyhost(state)] agg: &Agg) -> String {
    agg.name.clone()
}

/// The aggregator's API for checks.
///
/// Samples go to the host.
#[pyhost::module(state = Agg)]
fn aggregator(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(submit_metric))?;
    m.add_function(pyhost::wrap_function!(sample_count))?;
    m.add_function(pyhost::wrap_function!(aggregator_name))?;
    m.add("GAUGE", 0)?;
    m.add("RATE", 1)?;
    m.add("VERSION", "7.50")?;
    m.add_class::<Tag>()?;
    Ok(())
}

/// A tag.
#[pyhost::class]
struct Tag {
    key: String,
    value: String,
}

#[pyhost::class]
impl Tag {
    #[new]
    fn new(key: String, value: String) -> Self {
        Tag { key, value }
    }

    fn __str__(&self) -> String {
        format!("{}:{}", self.key, self.value)
    }
}

#[pyhost::function]
fn get_version() -> &'static str {
    "7.50.0"
}

#[pyhost::function]
fn get_hostname() -> String {
    "test-host".to_owned()
}

/// The `datadog_agent` module: no host state.
#[pyhost::module(name = "datadog_agent")]
fn agent_module(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(get_version))?;
    m.add_function(pyhost::wrap_function!(get_hostname))
}

/// Another state type, to check that functions refuse modules holding the wrong one.
#[pyhost::module(state = String)]
fn wrong_state(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(sample_count))
}

/// A module whose filling fails.
#[pyhost::module]
fn broken(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add("ok", 1)?;
    Err(pyhost::Error::runtime_error("cannot build this module"))
}

/// A module function named `module`, as a file per module invites (`aggregator::module`): the
/// generated code must not shadow it.
mod named_module {
    use pyhost::Object;
    use pyhost::types::Module;

    #[pyhost::module(name = "named_module")]
    pub fn module(m: &Object<'_, Module>) -> pyhost::Result<()> {
        m.add("answer", 42)
    }
}

// ---------------------------------------------------------------------------------------------
// The interpreter of this binary

static BUILTIN_AGG: OnceLock<Agg> = OnceLock::new();

fn start() {
    static START: Once = Once::new();
    START.call_once(|| {
        let agg = BUILTIN_AGG
            .get_or_init(|| {
                Arc::new(Aggregator {
                    name: "builtin".into(),
                    ..Default::default()
                })
            })
            .clone();
        Interpreter::builder()
            .builtin_module("aggregator", aggregator::builtin(agg))
            .builtin_module("datadog_agent", agent_module::PyInit_datadog_agent)
            .builtin_module("broken", broken::builtin())
            .builtin_module("named_module", named_module::module::builtin())
            .start()
            .expect("starting Python with builtin modules");
    });
}

fn run(code: &str) {
    start();
    with_gil(|py| py.exec(code)).unwrap_or_else(|e| panic!("{e:#}"));
}

fn eval_str(expr: &str) -> String {
    start();
    with_gil(|py| Ok(py.eval(expr)?.repr()?.to_str()?.to_owned()))
        .unwrap_or_else(|e| panic!("{expr}: {e:#}"))
}

// ---------------------------------------------------------------------------------------------
// Builtin modules

#[test]
fn builtin_module_is_importable_and_uses_the_host_state() {
    run("import sys\nassert 'aggregator' in sys.builtin_module_names, sys.builtin_module_names");
    let agg = BUILTIN_AGG.get().unwrap();
    let before = agg.samples.lock().unwrap().len();
    run("import aggregator\n\
         aggregator.submit_metric('checks.disk', 1.5)\n\
         aggregator.submit_metric('checks.cpu', 2.0, tags=['env:prod', 'role:db'])\n\
         assert aggregator.aggregator_name() == 'builtin'\n");
    let samples = agg.samples.lock().unwrap();
    assert_eq!(samples.len(), before + 2);
    assert!(samples.contains(&("checks.disk".to_owned(), 1.5, vec![])));
    assert!(samples.contains(&(
        "checks.cpu".to_owned(),
        2.0,
        vec!["env:prod".to_owned(), "role:db".to_owned()]
    )));
}

#[test]
fn a_module_function_may_be_named_module() {
    assert_eq!(eval_str("__import__('named_module').answer"), "42");
}

#[test]
fn builtin_module_has_doc_constants_and_classes() {
    assert_eq!(
        eval_str("__import__('aggregator').__doc__"),
        "\"The aggregator's API for checks.\\n\\nSamples go to the host.\""
    );
    assert_eq!(
        eval_str("(lambda m: (m.GAUGE, m.RATE, m.VERSION))(__import__('aggregator'))"),
        "(0, 1, '7.50')"
    );
    assert_eq!(
        eval_str("__import__('aggregator').submit_metric.__module__"),
        "'aggregator'"
    );
    assert_eq!(
        eval_str("__import__('aggregator').submit_metric.__doc__"),
        "'Submits a metric sample.'"
    );
    assert_eq!(
        eval_str("str(__import__('inspect').signature(__import__('aggregator').submit_metric))"),
        "'(name, value, tags=[])'"
    );
    assert_eq!(
        eval_str("str(__import__('aggregator').Tag('env', 'prod'))"),
        "'env:prod'"
    );
    assert_eq!(
        eval_str("__import__('aggregator').Tag.__module__"),
        "'aggregator'"
    );
    assert_eq!(eval_str("__import__('aggregator').Tag.__name__"), "'Tag'");
}

#[test]
fn builtin_module_without_state() {
    assert_eq!(
        eval_str("__import__('datadog_agent').get_version()"),
        "'7.50.0'"
    );
    assert_eq!(
        eval_str("__import__('datadog_agent').get_hostname()"),
        "'test-host'"
    );
    assert_eq!(
        eval_str("__import__('datadog_agent').__doc__"),
        "'The `datadog_agent` module: no host state.'"
    );
}

#[test]
fn reimported_builtin_shares_the_host_state() {
    run("import sys, aggregator\n\
         first = aggregator\n\
         del sys.modules['aggregator']\n\
         import aggregator\n\
         assert aggregator is not first\n\
         n = aggregator.sample_count()\n\
         first.submit_metric('again', 1.0)\n\
         assert aggregator.sample_count() == n + 1\n");
}

#[test]
fn a_failing_module_function_fails_the_import() {
    start();
    let err = with_gil(|py| py.import("broken").map(drop)).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: cannot build this module");
    let err = with_gil(|py| broken::create(py).map(drop)).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: cannot build this module");
}

// ---------------------------------------------------------------------------------------------
// Modules created at run time

fn new_agg(name: &str) -> Agg {
    Arc::new(Aggregator {
        name: name.into(),
        ..Default::default()
    })
}

#[test]
fn each_instance_carries_its_own_state() {
    start();
    let (a, b) = (new_agg("a"), new_agg("b"));
    with_gil(|py| {
        let ma = aggregator::create(py, a.clone())?;
        let mb = aggregator::create(py, b.clone())?;
        ma.getattr("submit_metric")?.call1(("x", 1.0))?;
        ma.getattr("submit_metric")?.call1(("y", 2.0))?;
        mb.getattr("submit_metric")?.call1(("z", 3.0))?;
        assert_eq!(
            ma.getattr("aggregator_name")?
                .call0()?
                .extract::<String>()?,
            "a"
        );
        assert_eq!(
            mb.getattr("aggregator_name")?
                .call0()?
                .extract::<String>()?,
            "b"
        );
        assert_eq!(ma.state::<Agg>().map(|s| s.name.as_str()), Some("a"));
        assert!(ma.state::<String>().is_none());
        // Not in sys.modules.
        let modules = py.import("sys")?.getattr("modules")?;
        assert!(
            modules
                .get_item("aggregator")?
                .is(&*py.import("aggregator")?)
        );
        assert!(!modules.get_item("aggregator")?.is(&*ma));
        Ok(())
    })
    .unwrap();
    assert_eq!(a.samples.lock().unwrap().len(), 2);
    assert_eq!(b.samples.lock().unwrap().len(), 1);
}

#[test]
fn state_is_dropped_with_its_module() {
    start();
    let agg = new_agg("dropped");
    with_gil(|py| {
        let m = aggregator::create(py, agg.clone())?;
        let f = m.getattr("submit_metric")?;
        assert_eq!(Arc::strong_count(&agg), 2);
        drop(m);
        // The function keeps its module (its `self`) alive.
        f.call1(("late", 1.0))?;
        assert_eq!(Arc::strong_count(&agg), 2);
        drop(f);
        py.import("gc")?.call_method0("collect")?;
        Ok(())
    })
    .unwrap();
    assert_eq!(Arc::strong_count(&agg), 1);
    assert_eq!(agg.samples.lock().unwrap().len(), 1);
}

#[test]
fn install_puts_the_module_in_sys_modules() {
    start();
    with_gil(|py| {
        let m = agent_module::install(py)?;
        let again = py.import("datadog_agent")?;
        assert!(again.is(&m));
        // Put the builtin one back for the other tests.
        let sys = py.import("sys")?;
        sys.getattr("modules")?.del_item("datadog_agent")?;
        Ok(())
    })
    .unwrap();
}

#[test]
fn functions_check_the_state_type() {
    start();
    with_gil(|py| {
        // Adding a function that needs `Agg` to a module without that state fails.
        let err = wrong_state::create(py, "text".to_owned()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TypeError: sample_count() needs host state of type \
             `alloc::sync::Arc<macros_module::Aggregator>`, which module 'wrong_state' does not \
             hold"
        );
        let plain = Module::new(py, "plain")?;
        let err = plain
            .add_function(pyhost::wrap_function!(submit_metric))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TypeError: submit_metric() needs host state"),
            "{err}"
        );
        // A free-standing callable cannot have state either.
        let err = pyhost::wrap_function!(sample_count)
            .to_callable(py)
            .unwrap_err();
        assert!(err.to_string().contains("needs host state"), "{err}");
        Ok(())
    })
    .unwrap();
}

#[test]
fn module_functions_take_a_borrowed_self() {
    start();
    with_gil(|py| {
        let agg = new_agg("rc");
        let m = aggregator::create(py, agg)?;
        let f: Object<'_, Any> = m.getattr("sample_count")?;
        assert!(
            f.getattr("__self__")?.is(&*m),
            "the function's self is its module"
        );
        let before = m.refcount();
        for _ in 0..50 {
            f.call0()?;
        }
        assert_eq!(m.refcount(), before, "calls borrow the module");
        Ok(())
    })
    .unwrap();
}
