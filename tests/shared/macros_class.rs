//! `#[pyhost::class]`: constructors, methods, static methods, properties, `__repr__` and
//! `__str__`, instances made and borrowed from Rust, borrow conflicts, and the value dropped
//! when Python frees the instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyhost::types::{Any, Dict, Module};
use pyhost::{Class, ClassRef, ClassRefMut, Object, Python, with_gil};

fn init() {
    pyhost::initialize_once().expect("starting Python");
}

/// A counter with a step.
///
/// Counts things.
#[pyhost::class]
struct Counter {
    value: i64,
    step: i64,
    label: Option<String>,
}

#[pyhost::class]
impl Counter {
    /// Makes a counter.
    #[new]
    fn new(
        #[pyhost(default = 0)] start: i64,
        #[pyhost(keyword_only, default = 1)] step: i64,
    ) -> Self {
        Counter {
            value: start,
            step,
            label: None,
        }
    }

    /// Adds `times` steps and returns the new value.
    fn incr(&mut self, #[pyhost(default = 1)] times: i64) -> i64 {
        self.value += self.step * times;
        self.value
    }

    /// Adds another counter's value to this one.
    fn absorb(&mut self, other: ClassRef<'_, Counter>) {
        self.value += other.value;
    }

    fn peek(&self) -> i64 {
        self.value
    }

    /// Adds `Counter::BIG` steps unless told otherwise.
    fn leap(&mut self, #[pyhost(default = Self::BIG)] steps: i64) -> i64 {
        self.incr(steps)
    }

    /// Sums `n` steps without the GIL.
    #[pyhost(release_gil)]
    fn project(&self, n: i64) -> i64 {
        assert!(!pyhost::gil_is_held());
        self.value + self.step * n
    }

    #[pyhost(name = "reset", error = ValueError)]
    fn rust_reset(&mut self, to: i64) -> Result<(), std::num::TryFromIntError> {
        self.value = u8::try_from(to)?.into();
        Ok(())
    }

    /// A counter starting at `start` with step 10.
    #[staticmethod]
    fn by_tens(start: i64) -> Counter {
        Counter {
            value: start,
            step: 10,
            label: None,
        }
    }

    /// The current value.
    #[getter]
    fn value(&self) -> i64 {
        self.value
    }

    #[setter]
    fn set_value(&mut self, v: i64) {
        self.value = v;
    }

    #[getter]
    fn get_step(&self) -> i64 {
        self.step
    }

    /// A label, if set.
    #[getter(label)]
    fn label_text(&self) -> Option<String> {
        self.label.clone()
    }

    #[setter(label)]
    fn set_label_text(&mut self, label: Option<String>) -> Result<(), pyhost::Error> {
        if label.as_deref() == Some("") {
            return Err(pyhost::Error::value_error("a label cannot be empty"));
        }
        self.label = label;
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("Counter(value={}, step={})", self.value, self.step)
    }

    fn __str__(&self) -> String {
        self.value.to_string()
    }
}

impl Counter {
    const BIG: i64 = 1000;
}

/// Counts drops of its instances.
#[pyhost::class(name = "Tracked", module = "tests.tracking")]
struct DropTracker {
    drops: Arc<AtomicUsize>,
}

impl Drop for DropTracker {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// No constructor and no methods.
#[pyhost::class]
struct Opaque(#[allow(dead_code)] u32);

#[pyhost::function]
fn make_counter(start: i64) -> Counter {
    Counter {
        value: start,
        step: 1,
        label: Some("made in Rust".into()),
    }
}

#[pyhost::function]
fn counter_value(c: ClassRef<'_, Counter>) -> i64 {
    c.value
}

#[pyhost::function]
fn bump(mut c: ClassRefMut<'_, Counter>) {
    c.value += 100;
}

fn namespace(py: Python<'_>) -> pyhost::Result<Object<'_, Dict>> {
    let m = Module::new(py, "shapes")?;
    m.add_class::<Counter>()?;
    m.add_class::<Opaque>()?;
    m.add_function(pyhost::wrap_function!(make_counter))?;
    m.add_function(pyhost::wrap_function!(counter_value))?;
    m.add_function(pyhost::wrap_function!(bump))?;
    let ns = py.new_namespace()?;
    ns.update(&m.dict().to_owned().into_any())?;
    ns.set_item("inspect", py.import("inspect")?)?;
    Ok(ns)
}

fn eval<'py>(ns: &Object<'py, Dict>, expr: &str) -> pyhost::Result<Object<'py, Any>> {
    ns.py().eval_with(expr, ns, None)
}

fn repr(expr: &str) -> String {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        Ok(eval(&ns, expr)?.repr()?.to_str()?.to_owned())
    })
    .unwrap_or_else(|e| panic!("{expr}: {e:#}"))
}

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

fn run(code: &str) {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        py.exec_with(code, &ns, None)
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn construct_and_call_methods() {
    assert_eq!(repr("Counter()"), "Counter(value=0, step=1)");
    assert_eq!(repr("Counter(5, step=2)"), "Counter(value=5, step=2)");
    assert_eq!(repr("Counter(start=3)"), "Counter(value=3, step=1)");
    assert_eq!(
        repr("(lambda c: (c.incr(), c.incr(3), c.peek()))(Counter(1, step=2))"),
        "(3, 9, 9)"
    );
    assert_eq!(repr("str(Counter(7))"), "'7'");
    assert_eq!(repr("Counter.by_tens(3).incr()"), "13");
    assert_eq!(repr("Counter().leap()"), "1000");
    assert_eq!(repr("Counter().leap(2)"), "2");
    assert_eq!(repr("Counter(3, step=2).project(4)"), "11");
    assert_eq!(
        repr("(lambda a, b: (a.absorb(b), a.peek()))(Counter(1), Counter(2))"),
        "(None, 3)"
    );
}

#[test]
fn constructor_and_method_errors() {
    assert_eq!(
        raises("Counter(1, 2)"),
        "TypeError: Counter() takes from 0 to 1 positional arguments but 2 were given"
    );
    assert_eq!(
        raises("Counter(x=1)"),
        "TypeError: Counter() got an unexpected keyword argument 'x'"
    );
    assert_eq!(
        raises("Counter('a')"),
        "TypeError: Counter() argument 'start': expected int (for i64), got str"
    );
    assert_eq!(
        raises("Counter().incr(1, 2)"),
        "TypeError: Counter.incr() takes from 0 to 1 positional arguments but 2 were given"
    );
    assert_eq!(
        raises("Counter().absorb(5)"),
        "TypeError: Counter.absorb() argument 'other': expected Counter, got int"
    );
    assert_eq!(
        raises("Counter().reset(300)"),
        "ValueError: out of range integral type conversion attempted"
    );
    assert_eq!(
        repr("(lambda c: (c.reset(200), c.value))(Counter())"),
        "(None, 200)"
    );
    // CPython checks the receiver of a method descriptor.
    let e = raises("Counter.incr(5)");
    assert!(e.starts_with("TypeError: descriptor 'incr'"), "{e}");
    assert_eq!(
        raises("Opaque()"),
        "TypeError: cannot create 'Opaque' instances: the class has no #[new] constructor"
    );
}

#[test]
fn properties() {
    run("c = Counter(1, step=3)\n\
         assert c.value == 1 and c.step == 3\n\
         c.value = 10\n\
         assert c.value == 10 and c.incr() == 13\n\
         assert c.label is None\n\
         c.label = 'hits'\n\
         assert c.label == 'hits'\n\
         c.label = None\n\
         assert c.label is None\n");
    assert_eq!(
        raises("setattr(Counter(), 'value', 'x')"),
        "TypeError: Counter.value: expected int (for i64), got str"
    );
    assert_eq!(
        raises("setattr(Counter(), 'label', '')"),
        "ValueError: a label cannot be empty"
    );
    assert_eq!(
        raises("delattr(Counter(), 'value')"),
        "AttributeError: cannot delete attribute Counter.value"
    );
    let e = raises("setattr(Counter(), 'step', 2)");
    assert!(
        e.starts_with("AttributeError: ") && e.contains("'step'"),
        "{e}"
    );
    let e = raises("setattr(Counter(), 'other', 2)");
    assert!(e.starts_with("AttributeError: "), "{e}");
}

#[test]
fn introspection() {
    assert_eq!(repr("Counter.__name__"), "'Counter'");
    assert_eq!(repr("Counter.__module__"), "'shapes'");
    assert_eq!(
        repr("Counter.__doc__"),
        "'A counter with a step.\\n\\nCounts things.'"
    );
    assert_eq!(
        repr("str(inspect.signature(Counter))"),
        "'(start=0, *, step=1)'"
    );
    assert_eq!(
        repr("Counter.incr.__doc__"),
        "'Adds `times` steps and returns the new value.'"
    );
    assert_eq!(
        repr("str(inspect.signature(Counter.incr))"),
        "'(self, /, times=1)'"
    );
    assert_eq!(
        repr("str(inspect.signature(Counter().incr))"),
        "'(times=1)'"
    );
    assert_eq!(repr("str(inspect.signature(Counter.by_tens))"), "'(start)'");
    assert_eq!(
        repr("str(inspect.signature(Counter.leap))"),
        "'(self, /, steps=Ellipsis)'"
    );
    assert_eq!(repr("Counter.value.__doc__"), "'The current value.'");
    assert_eq!(repr("Counter.label.__doc__"), "'A label, if set.'");
    assert_eq!(repr("isinstance(make_counter(1), Counter)"), "True");
    assert_eq!(repr("type(Counter()) is Counter"), "True");
}

#[test]
fn instances_from_rust() {
    init();
    with_gil(|py| {
        let c = Object::new(py, Counter::new(4, 2))?;
        assert_eq!(c.borrow().value, 4);
        c.borrow_mut().value = 6;
        assert_eq!(c.call_method0("incr")?.extract::<i64>()?, 8);
        assert_eq!(c.repr()?.to_str()?, "Counter(value=8, step=2)");

        // From an untyped object.
        let ns = namespace(py)?;
        let any = eval(&ns, "make_counter(9)")?;
        let typed = any.downcast::<Counter>()?;
        assert_eq!(typed.borrow().label.as_deref(), Some("made in Rust"));
        assert!(py.eval("1")?.downcast::<Counter>().is_err());
        assert_eq!(
            py.eval("'x'")?
                .downcast::<Counter>()
                .unwrap_err()
                .to_string(),
            "TypeError: expected Counter, got str"
        );

        // Rust functions taking instances.
        assert_eq!(
            eval(&ns, "counter_value")?.call1((&c,))?.extract::<i64>()?,
            8
        );
        eval(&ns, "bump")?.call1((&c,))?;
        assert_eq!(c.borrow().value, 108);

        // The type object.
        let ty = Counter::type_object(py)?;
        assert!(ty.is(&c.get_type()));
        let d = ty.call1((1,))?;
        assert_eq!(d.downcast::<Counter>()?.borrow().value, 1);
        Ok(())
    })
    .unwrap();
}

#[test]
fn borrow_conflicts_raise() {
    init();
    with_gil(|py| {
        let ns = namespace(py)?;
        // `absorb(&mut self, other)` with itself: the argument borrows it, so the method cannot.
        let err = eval(&ns, "(lambda c: c.absorb(c))(Counter(1))").unwrap_err();
        assert_eq!(
            err.to_string(),
            "RuntimeError: cannot borrow a Counter object mutably: it is already borrowed"
        );
        let c = Object::new(py, Counter::new(0, 1))?;
        let shared = c.borrow();
        let err = c.call_method0("incr").unwrap_err();
        assert_eq!(
            err.to_string(),
            "RuntimeError: cannot borrow a Counter object mutably: it is already borrowed"
        );
        assert_eq!(
            c.call_method0("peek")?.extract::<i64>()?,
            0,
            "shared borrows coexist"
        );
        drop(shared);
        let exclusive = c.borrow_mut();
        let err = c.call_method0("peek").unwrap_err();
        assert_eq!(
            err.to_string(),
            "RuntimeError: cannot borrow a Counter object: it is already mutably borrowed"
        );
        assert!(c.try_borrow().is_err());
        drop(exclusive);
        assert_eq!(c.call_method0("incr")?.extract::<i64>()?, 1);
        Ok(())
    })
    .unwrap();
}

#[test]
fn values_are_dropped_when_python_frees_the_instance() {
    init();
    let drops = Arc::new(AtomicUsize::new(0));
    with_gil(|py| {
        let t = Object::new(
            py,
            DropTracker {
                drops: drops.clone(),
            },
        )?;
        assert_eq!(
            t.get_type().getattr("__module__")?.extract::<String>()?,
            "tests.tracking"
        );
        assert_eq!(
            t.get_type().getattr("__name__")?.extract::<String>()?,
            "Tracked"
        );
        let list = pyhost::types::List::new(py);
        list.append(&t)?;
        list.append(&t)?;
        drop(t);
        assert_eq!(drops.load(Ordering::SeqCst), 0, "the list keeps it alive");
        drop(list);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once");
        for _ in 0..10 {
            let _ = Object::new(
                py,
                DropTracker {
                    drops: drops.clone(),
                },
            )?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 11);
    assert_eq!(Arc::strong_count(&drops), 1);
}

#[test]
fn method_calls_keep_refcounts_balanced() {
    init();
    with_gil(|py| {
        let c = Object::new(py, Counter::new(0, 1))?;
        let incr = c.getattr("incr")?;
        let before = c.refcount();
        for _ in 0..100 {
            incr.call0()?;
            c.getattr("value")?;
            c.repr()?;
        }
        assert_eq!(c.refcount(), before);
        assert_eq!(c.borrow().value, 100);
        Ok(())
    })
    .unwrap();
}
