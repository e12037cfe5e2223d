//! Arbitrary positional and keyword arguments into `#[pyhost::function]`s: binding accepts
//! exactly what CPython accepts for the same signature and binds the same objects to the
//! same parameters; typed parameters give ordinary errors for what does not convert.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use pyhost::prelude::*;
use pyhost_fuzz::{Input, Values, assert_ordinary, exception_pending};

/// `def shaped(a, b=None, /, c=None, *args, d, e=None, **kwargs)`, every value as it comes.
#[pyhost::function]
#[allow(clippy::too_many_arguments)]
fn shaped<'py>(
    #[pyhost(positional_only)] a: Object<'py, Any>,
    #[pyhost(positional_only)] b: Option<Object<'py, Any>>,
    c: Option<Object<'py, Any>>,
    #[pyhost(args)] args: Vec<Object<'py, Any>>,
    d: Object<'py, Any>,
    e: Option<Object<'py, Any>>,
    #[pyhost(kwargs)] kwargs: HashMap<String, Object<'py, Any>>,
) -> Result<Object<'py, Any>> {
    let py = a.py();
    let kwargs: Vec<(String, Object<'py, Any>)> = kwargs.into_iter().collect();
    let none = || py.none().into_any();
    (
        a,
        b.unwrap_or_else(none),
        c.unwrap_or_else(none),
        args,
        d,
        e.unwrap_or_else(none),
        kwargs,
    )
        .into_python(py)
}

/// Typed parameters of every kind.
#[pyhost::function]
fn typed(
    a: i64,
    b: String,
    c: Option<f64>,
    #[pyhost(args)] rest: Vec<bool>,
    #[pyhost(keyword_only)] k: HashMap<String, Vec<i32>>,
    #[pyhost(keyword_only, default = 7)] n: u8,
) -> String {
    format!("{a} {b} {c:?} {rest:?} {} {n}", k.len())
}

/// CPython's binding of the same signature, and a comparison by identity.
const REFERENCE: &str = r#"
def shaped_ref(a, b=None, /, c=None, *args, d, e=None, **kwargs):
    return (a, b, c, list(args), d, e, kwargs)

def same(ours, theirs):
    a, b, c, args, d, e, kwargs = ours
    ra, rb, rc, rargs, rd, re, rkwargs = theirs
    return (a is ra and b is rb and c is rc and d is rd and e is re
            and len(args) == len(rargs) and all(x is y for x, y in zip(args, rargs))
            and dict(kwargs).keys() == rkwargs.keys()
            and all(dict(kwargs)[k] is rkwargs[k] for k in rkwargs))
"#;

/// Keyword names: the parameters' own, one more, and sometimes arbitrary ASCII.
fn name(input: &mut Input<'_>) -> String {
    const NAMES: [&str; 10] = ["a", "b", "c", "d", "e", "args", "kwargs", "k", "n", "zz"];
    match input.byte() % 12 {
        i @ 0..=9 => NAMES[usize::from(i)].to_owned(),
        _ => {
            let n = usize::from(input.byte() % 6);
            input
                .take(n)
                .iter()
                .map(|b| char::from(b'a' + b % 26))
                .collect()
        }
    }
}

/// `f(*args, **kwargs)`, which must leave no exception set.
fn call<'py>(
    f: &Object<'py, Any>,
    args: &Object<'py, Tuple>,
    kwargs: &Object<'py, Dict>,
) -> Result<Object<'py, Any>> {
    let r = f.call(args, Some(kwargs));
    assert!(!exception_pending(f.py()), "a call left an exception set");
    r
}

fuzz_target!(|data: &[u8]| {
    pyhost::initialize_once().expect("starting Python");
    pyhost::with_gil(|py| {
        let values = Values::new(py)?;
        let ns = py.new_namespace()?;
        py.exec_with(REFERENCE, &ns, None)?;
        let m = Module::new(py, "fuzzed")?;
        m.add_function(pyhost::wrap_function!(shaped))?;
        m.add_function(pyhost::wrap_function!(typed))?;
        let ours = m.getattr("shaped")?;
        let theirs = ns.get_item("shaped_ref")?.expect("defined above");
        let same = ns.get_item("same")?.expect("defined above");
        let typed = m.getattr("typed")?;

        let mut input = Input::new(data);
        while !input.is_empty() {
            let n = input.byte() % 7;
            let mut args = Vec::new();
            for _ in 0..n {
                args.push(values.value(&mut input, 1)?);
            }
            let args: Object<'_, Tuple> =
                values.helper("tuple")?.call1((args,))?.into_downcast()?;
            let kwargs = Dict::new(py);
            for _ in 0..input.byte() % 5 {
                kwargs.set_item(name(&mut input), values.value(&mut input, 1)?)?;
            }
            match (call(&ours, &args, &kwargs), call(&theirs, &args, &kwargs)) {
                (Ok(o), Ok(t)) => assert!(
                    same.call1((o, t))?.is_truthy()?,
                    "bound differently from CPython: args={} kwargs={}",
                    args.repr()?,
                    kwargs.repr()?
                ),
                (Err(o), Err(t)) => {
                    assert_ordinary("shaped", &o);
                    let (o, t) = (o.as_python().unwrap(), t.as_python().unwrap());
                    assert_eq!(o.type_name(), t.type_name(), "{o} vs CPython's {t}");
                }
                (o, t) => panic!(
                    "pyhost {} where CPython {}: args={} kwargs={}",
                    if o.is_ok() { "accepted" } else { "refused" },
                    if t.is_ok() { "accepted" } else { "refused" },
                    args.repr()?,
                    kwargs.repr()?
                ),
            }
            if let Err(e) = call(&typed, &args, &kwargs) {
                assert_ordinary("typed", &e);
            }
        }
        Ok(())
    })
    .expect("building the arguments");
});
