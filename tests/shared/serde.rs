//! Serde conversions (feature `serde`).
#![cfg(feature = "serde")]

use std::collections::BTreeMap;

use pyhost::conversion::serde::{Serde, from_python, to_python};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Kind {
    Gauge,
    Count(u32),
    Histogram { buckets: Vec<f64> },
    Pair(i8, String),
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Metric {
    name: String,
    value: f64,
    tags: Option<Vec<String>>,
    kind: Kind,
    raw: serde_bytes_like::Bytes,
    meta: BTreeMap<String, i64>,
    unit: (),
}

mod serde_bytes_like {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    #[derive(Debug, PartialEq, Clone)]
    pub struct Bytes(pub Vec<u8>);
    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Bytes;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                    Ok(Bytes(v))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }
}

#[test]
fn structs_enums_and_collections_round_trip() {
    pyhost::initialize_once().unwrap();
    let kinds = [
        (Kind::Gauge, "'Gauge'"),
        (Kind::Count(3), "{'Count': 3}"),
        (
            Kind::Histogram { buckets: vec![0.5] },
            "{'Histogram': {'buckets': [0.5]}}",
        ),
        (Kind::Pair(-1, "x".into()), "{'Pair': [-1, 'x']}"),
    ];
    pyhost::with_gil(|py| {
        for (kind, repr) in kinds {
            let m = Metric {
                name: "cpu".into(),
                value: 0.25,
                tags: Some(vec!["a:b".into()]),
                kind: kind.clone(),
                raw: serde_bytes_like::Bytes(vec![1, 2]),
                meta: BTreeMap::from([("n".to_owned(), i64::MIN)]),
                unit: (),
            };
            let obj = to_python(py, &m)?;
            assert_eq!(obj.get_item("kind")?.repr()?.to_str()?, repr);
            assert_eq!(obj.get_item("raw")?.repr()?.to_str()?, "b'\\x01\\x02'");
            assert!(obj.get_item("unit")?.is_none());
            let back: Metric = from_python(&obj)?;
            assert_eq!(back, m);
        }
        // From Python-written data, with a tuple standing for a sequence.
        let obj = py.eval(
            "{'name': 'mem', 'value': 3, 'tags': None, 'kind': 'Gauge', 'raw': b'', 'meta': {}, 'unit': None}",
        )?;
        let m: Metric = obj.extract::<Serde<Metric>>()?.0;
        assert_eq!((m.name.as_str(), m.value, m.tags), ("mem", 3.0, None));
        let t: Vec<u8> = from_python(&py.eval("(1, 2, 3)")?)?;
        assert_eq!(t, [1, 2, 3]);
        Ok(())
    })
    .unwrap();
}

#[test]
fn mismatches_are_clear_errors() {
    pyhost::initialize_once().unwrap();
    pyhost::with_gil(|py| {
        let e = from_python::<Metric>(&py.eval("[1, 2]")?)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read a map from a Python list"), "{e}");
        let e = from_python::<Kind>(&py.eval("'Nope'")?)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `Nope`"), "{e}");
        let e = from_python::<u8>(&py.eval("300")?).unwrap_err().to_string();
        assert!(e.contains("300"), "{e}");
        let e = from_python::<String>(&py.eval("object()")?)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot read a value from a Python object"),
            "{e}"
        );
        Ok(())
    })
    .unwrap();
}
