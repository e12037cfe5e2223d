//! `#[derive(FromPython, IntoPython)]`: structs from and to dicts (and from attributes), with
//! renames and defaults; newtypes and tuple structs; enums from and to a `str` or a tagged
//! dict; the messages of conversion errors; and derived types as function arguments.

use std::collections::BTreeMap;

use pyhost::types::Module;
use pyhost::{FromPython, FromPythonOwned, IntoPython, with_gil};

fn init() {
    pyhost::initialize_once().expect("starting Python");
}

#[derive(Debug, Clone, PartialEq, FromPython, IntoPython)]
struct Instance {
    host: String,
    port: u16,
    #[pyhost(rename = "min_collection_interval", default = 15)]
    interval: u32,
    #[pyhost(default)]
    tags: Vec<String>,
    timeout: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, FromPython, IntoPython)]
#[pyhost(rename_all = "camelCase")]
struct Camel {
    first_name: String,
    is_admin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, FromPython, IntoPython)]
struct Meters(f64);

#[derive(Debug, Clone, PartialEq, FromPython, IntoPython)]
struct Pair(String, i64);

#[derive(Debug, Clone, Copy, PartialEq, FromPython, IntoPython)]
#[pyhost(rename_all = "lowercase")]
enum Level {
    Debug,
    Info,
    #[pyhost(rename = "warn")]
    Warning,
}

#[derive(Debug, Clone, PartialEq, FromPython, IntoPython)]
enum Shape {
    Circle { radius: f64 },
    Rect { w: f64, h: f64 },
    Empty,
}

#[derive(Debug, Clone, PartialEq, FromPython, IntoPython)]
#[pyhost(tag = "kind", rename_all = "snake_case")]
enum Event {
    MetricSubmitted {
        name: String,
        #[pyhost(default)]
        value: f64,
    },
    CheckFinished,
}

#[derive(Debug, Clone, PartialEq, FromPython, IntoPython)]
struct Wrapper<T> {
    items: Vec<T>,
}

fn round_trip<T>(value: T, repr: &str)
where
    T: for<'py> IntoPython<'py>
        + for<'py> FromPythonOwned<'py>
        + Clone
        + PartialEq
        + std::fmt::Debug,
{
    init();
    with_gil(|py| {
        let obj = value.clone().into_python(py)?;
        assert_eq!(obj.repr()?.to_str()?, repr);
        let back: T = obj.extract()?;
        assert_eq!(back, value);
        Ok(())
    })
    .unwrap();
}

fn extract<T: for<'py> FromPythonOwned<'py>>(expr: &str) -> pyhost::Result<T> {
    init();
    with_gil(|py| py.eval(expr)?.extract::<T>())
}

#[test]
fn structs_round_trip_through_dicts() {
    round_trip(
        Instance {
            host: "db".into(),
            port: 5432,
            interval: 30,
            tags: vec!["env:prod".into()],
            timeout: None,
        },
        "{'host': 'db', 'port': 5432, 'min_collection_interval': 30, 'tags': ['env:prod'], \
         'timeout': None}",
    );
    round_trip(
        Camel {
            first_name: "Ada".into(),
            is_admin: true,
        },
        "{'firstName': 'Ada', 'isAdmin': True}",
    );
    round_trip(Meters(2.5), "2.5");
    round_trip(Pair("a".into(), 1), "('a', 1)");
    round_trip(
        Wrapper {
            items: vec![1u8, 2],
        },
        "{'items': b'\\x01\\x02'}",
    );
    round_trip(
        Wrapper {
            items: vec![Level::Info],
        },
        "{'items': ['info']}",
    );
}

#[test]
fn defaults_and_missing_fields() {
    let i: Instance = extract("{'host': 'h', 'port': 1}").unwrap();
    assert_eq!(
        i,
        Instance {
            host: "h".into(),
            port: 1,
            interval: 15,
            tags: vec![],
            timeout: None,
        }
    );
    assert_eq!(
        extract::<Instance>("{'host': 'h'}")
            .unwrap_err()
            .to_string(),
        "TypeError: cannot convert dict to Instance: missing key 'port'"
    );
    assert_eq!(
        extract::<Instance>("{'host': 'h', 'port': 'x'}")
            .unwrap_err()
            .to_string(),
        "TypeError: Instance.port: expected int (for u16), got str"
    );
    assert_eq!(
        extract::<Instance>("{'host': 'h', 'port': 70000}")
            .unwrap_err()
            .to_string(),
        "OverflowError: Instance.port: int 70000 does not fit in u16"
    );
}

#[test]
fn structs_from_object_attributes() {
    let i: Instance = extract(
        "__import__('types').SimpleNamespace(host='web', port=80, min_collection_interval=5, \
         timeout=1.5)",
    )
    .unwrap();
    assert_eq!(i.host, "web");
    assert_eq!(i.interval, 5);
    assert_eq!(i.timeout, Some(1.5));
    assert_eq!(
        extract::<Instance>("__import__('types').SimpleNamespace(host='web')")
            .unwrap_err()
            .to_string(),
        "TypeError: cannot convert types.SimpleNamespace to Instance: missing attribute 'port'"
    );
}

#[test]
fn unit_enums_are_strings() {
    round_trip(Level::Debug, "'debug'");
    round_trip(Level::Warning, "'warn'");
    assert_eq!(
        extract::<Level>("'loud'").unwrap_err().to_string(),
        "ValueError: Level: expected one of 'debug', 'info', 'warn', got 'loud'"
    );
    assert_eq!(
        extract::<Level>("3").unwrap_err().to_string(),
        "TypeError: Level: expected str, got int"
    );
}

#[test]
fn data_enums_are_tagged_dicts() {
    round_trip(
        Shape::Circle { radius: 1.0 },
        "{'type': 'Circle', 'radius': 1.0}",
    );
    round_trip(
        Shape::Rect { w: 2.0, h: 3.0 },
        "{'type': 'Rect', 'w': 2.0, 'h': 3.0}",
    );
    round_trip(Shape::Empty, "{'type': 'Empty'}");
    round_trip(
        Event::MetricSubmitted {
            name: "cpu".into(),
            value: 0.5,
        },
        "{'kind': 'metric_submitted', 'name': 'cpu', 'value': 0.5}",
    );
    round_trip(Event::CheckFinished, "{'kind': 'check_finished'}");
    assert_eq!(
        extract::<Event>("{'kind': 'metric_submitted', 'name': 'x'}").unwrap(),
        Event::MetricSubmitted {
            name: "x".into(),
            value: 0.0
        }
    );
    assert_eq!(
        extract::<Shape>("{'type': 'Triangle'}")
            .unwrap_err()
            .to_string(),
        "ValueError: Shape: expected one of 'Circle', 'Rect', 'Empty', got 'Triangle'"
    );
    assert_eq!(
        extract::<Shape>("{'radius': 1}").unwrap_err().to_string(),
        "TypeError: cannot convert dict to Shape: missing key 'type'"
    );
    assert_eq!(
        extract::<Shape>("[1]").unwrap_err().to_string(),
        "TypeError: cannot convert list to Shape: expected dict"
    );
    assert_eq!(
        extract::<Shape>("{'type': 'Circle', 'radius': 'big'}")
            .unwrap_err()
            .to_string(),
        "TypeError: Shape.radius: expected float, got str"
    );
}

/// Derived types work as function arguments and results.
#[pyhost::function]
fn describe(instance: Instance, level: Level) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "host".to_owned(),
            format!("{}:{}", instance.host, instance.port),
        ),
        ("level".to_owned(), format!("{level:?}")),
    ])
}

#[pyhost::function]
fn grow(shape: Shape, by: f64) -> Shape {
    match shape {
        Shape::Circle { radius } => Shape::Circle {
            radius: radius + by,
        },
        Shape::Rect { w, h } => Shape::Rect {
            w: w + by,
            h: h + by,
        },
        Shape::Empty => Shape::Empty,
    }
}

#[test]
fn derived_types_as_arguments() {
    init();
    with_gil(|py| {
        let m = Module::new(py, "derived")?;
        m.add_function(pyhost::wrap_function!(describe))?;
        m.add_function(pyhost::wrap_function!(grow))?;
        let ns = py.new_namespace()?;
        ns.set_item("m", &m)?;
        let r = py.eval_with("m.describe({'host': 'db', 'port': 1}, 'info')", &ns, None)?;
        assert_eq!(r.repr()?.to_str()?, "{'host': 'db:1', 'level': 'Info'}");
        let r = py.eval_with("m.grow({'type': 'Circle', 'radius': 1.0}, 0.5)", &ns, None)?;
        assert_eq!(r.repr()?.to_str()?, "{'type': 'Circle', 'radius': 1.5}");
        let err = py
            .eval_with("m.describe({'host': 'db'}, 'info')", &ns, None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "TypeError: describe() argument 'instance': cannot convert dict to Instance: \
             missing key 'port'"
        );
        let err = py
            .eval_with("m.describe({'host': 'db', 'port': 1}, 'x')", &ns, None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ValueError: describe() argument 'level': Level: expected one of 'debug', 'info', \
             'warn', got 'x'"
        );
        Ok(())
    })
    .unwrap();
}
