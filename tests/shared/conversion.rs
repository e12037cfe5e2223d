//! Conversions both ways, their errors, and reference-count balance.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use pyhost::types::{Any, Dict, List, Tuple};
use pyhost::{FromPythonOwned, IntoPython, Object, Python, with_gil};

fn init() {
    pyhost::initialize_once().expect("starting Python");
}

/// Converts to Python, checks `repr`, converts back and compares.
fn round_trip<T>(value: T, repr: &str)
where
    T: for<'py> IntoPython<'py>
        + for<'py> FromPythonOwned<'py>
        + Clone
        + PartialEq
        + std::fmt::Debug,
{
    with_gil(|py| {
        let obj = value.clone().into_python(py)?;
        assert_eq!(obj.repr()?.to_str()?, repr);
        let back: T = obj.extract()?;
        assert_eq!(back, value);
        Ok(())
    })
    .unwrap();
}

fn extract_err<T: for<'py> FromPythonOwned<'py> + std::fmt::Debug>(expr: &str) -> String {
    with_gil(|py| Ok(py.eval(expr)?.extract::<T>().unwrap_err().to_string())).unwrap()
}

#[test]
fn integers_round_trip_and_overflow_is_an_error() {
    init();
    round_trip(0i8, "0");
    round_trip(i64::MIN, "-9223372036854775808");
    round_trip(u64::MAX, "18446744073709551615");
    round_trip(i128::MIN, "-170141183460469231731687303715884105728");
    round_trip(u128::MAX, "340282366920938463463374607431768211455");
    round_trip(usize::MAX, &usize::MAX.to_string());
    assert_eq!(
        extract_err::<i8>("300"),
        "OverflowError: int 300 does not fit in i8"
    );
    assert_eq!(
        extract_err::<u8>("-1"),
        "OverflowError: int -1 does not fit in u8"
    );
    assert_eq!(
        extract_err::<u64>("-1"),
        "OverflowError: int -1 does not fit in u64"
    );
    assert_eq!(
        extract_err::<i64>("2**64"),
        "OverflowError: int 18446744073709551616 does not fit in i64"
    );
    assert_eq!(
        extract_err::<u128>("-5"),
        "OverflowError: int -5 does not fit in u128"
    );
    assert_eq!(
        extract_err::<i32>("'12'"),
        "TypeError: expected int (for i32), got str"
    );
    assert_eq!(
        extract_err::<i32>("1.5"),
        "TypeError: expected int (for i32), got float"
    );
    // bool is an int in Python; objects with __index__ are accepted.
    with_gil(|py| {
        assert_eq!(py.eval("True")?.extract::<i64>()?, 1);
        let ns = py.new_namespace()?;
        py.exec_with(
            "class N:\n    def __index__(self):\n        return 7\nn = N()",
            &ns,
            None,
        )?;
        assert_eq!(ns.get_item("n")?.unwrap().extract::<u16>()?, 7);
        Ok(())
    })
    .unwrap();
}

#[test]
fn floats_and_bools() {
    init();
    round_trip(1.5f64, "1.5");
    round_trip(-0.25f32, "-0.25");
    round_trip(true, "True");
    with_gil(|py| {
        assert_eq!(py.eval("3")?.extract::<f64>()?, 3.0);
        assert!(py.eval("float('nan')")?.extract::<f64>()?.is_nan());
        Ok(())
    })
    .unwrap();
    assert_eq!(
        extract_err::<f64>("'x'"),
        "TypeError: expected float, got str"
    );
    assert_eq!(
        extract_err::<bool>("1"),
        "TypeError: expected bool, got int"
    );
}

#[test]
fn text_and_invalid_text() {
    init();
    round_trip(String::from("héllo wörld ✓"), "'héllo wörld ✓'");
    round_trip('ß', "'ß'");
    round_trip(String::new(), "''");
    assert_eq!(
        extract_err::<String>("b'x'"),
        "TypeError: expected str, got bytes"
    );
    assert_eq!(
        extract_err::<char>("'ab'"),
        "ValueError: expected a str of one character, got one of 2"
    );
    // A lone surrogate is not valid text: an error, never garbage.
    let e = extract_err::<String>("'\\ud800'");
    assert!(e.starts_with("UnicodeEncodeError"), "{e}");
    with_gil(|py| {
        let s = py.eval("'borrowed'")?;
        let b: &str = s.extract()?;
        assert_eq!(b, "borrowed");
        let lossy = py.eval("'a\\ud800b'")?.str()?;
        assert_eq!(lossy.to_string_lossy(), "a\u{fffd}\u{fffd}\u{fffd}b");
        Ok(())
    })
    .unwrap();
}

#[test]
fn bytes_vec_u8_and_slices() {
    init();
    round_trip(vec![0u8, 255, 10], "b'\\x00\\xff\\n'");
    with_gil(|py| {
        let slice: &[u8] = b"raw";
        assert_eq!(slice.into_python(py)?.repr()?.to_str()?, "b'raw'");
        assert_eq!(py.eval("bytearray(b'ab')")?.extract::<Vec<u8>>()?, b"ab");
        assert_eq!(py.eval("[1, 2]")?.extract::<Vec<u8>>()?, [1, 2]);
        let obj = py.eval("b'zero copy'")?;
        let borrowed: &[u8] = obj.extract()?;
        assert_eq!(borrowed, b"zero copy");
        assert!(py.eval("bytearray(b'x')")?.extract::<&[u8]>().is_err());
        Ok(())
    })
    .unwrap();
}

#[test]
fn options_sequences_tuples_arrays() {
    init();
    round_trip(Some(5i32), "5");
    round_trip(None::<i32>, "None");
    round_trip(vec![1i64, 2, 3], "[1, 2, 3]");
    round_trip(vec![Some("a".to_owned()), None], "['a', None]");
    round_trip((1i32, "two".to_owned(), 3.0f64), "(1, 'two', 3.0)");
    round_trip([1u16, 2, 3], "[1, 2, 3]");
    round_trip(vec![vec![1i32], vec![]], "[[1], []]");
    with_gil(|py| {
        assert_eq!(py.eval("(1, 2)")?.extract::<Vec<i32>>()?, [1, 2]);
        assert_eq!(py.eval("range(3)")?.extract::<Vec<i32>>()?, [0, 1, 2]);
        let t = py.eval("('a', 'b')")?;
        let (a, b): (&str, &str) = t.extract()?;
        assert_eq!((a, b), ("a", "b"));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        extract_err::<Vec<String>>("'abc'"),
        "TypeError: expected a sequence of str, got str"
    );
    assert_eq!(
        extract_err::<Vec<i32>>("5"),
        "TypeError: expected a sequence, got int"
    );
    assert_eq!(
        extract_err::<(i32, i32)>("(1, 2, 3)"),
        "ValueError: expected a tuple of 2 items, got 3"
    );
    assert_eq!(
        extract_err::<(i32, i32)>("[1, 2]"),
        "TypeError: expected tuple, got list"
    );
    assert_eq!(
        extract_err::<[i32; 2]>("[1]"),
        "ValueError: expected a sequence of 2 items, got 1"
    );
    assert_eq!(
        extract_err::<Vec<i32>>("[1, 'x']"),
        "TypeError: expected int (for i32), got str"
    );
}

#[test]
fn maps_and_sets() {
    init();
    round_trip(
        BTreeMap::from([("a".to_owned(), 1i32), ("b".to_owned(), 2)]),
        "{'a': 1, 'b': 2}",
    );
    round_trip(BTreeSet::from([3i64]), "{3}");
    let hm: HashMap<String, Vec<f64>> = HashMap::from([("x".to_owned(), vec![0.5])]);
    round_trip(hm, "{'x': [0.5]}");
    let hs: HashSet<String> = HashSet::from(["only".to_owned()]);
    round_trip(hs, "{'only'}");
    with_gil(|py| {
        let m: BTreeMap<String, i32> = py
            .eval("__import__('collections').OrderedDict(z=1)")?
            .extract()?;
        assert_eq!(m["z"], 1);
        let s: BTreeSet<i32> = py.eval("frozenset([2, 1])")?.extract()?;
        assert_eq!(s.into_iter().collect::<Vec<_>>(), [1, 2]);
        Ok(())
    })
    .unwrap();
    assert_eq!(
        extract_err::<HashMap<String, i32>>("[1]"),
        "TypeError: expected a mapping, got list"
    );
    assert_eq!(
        extract_err::<HashMap<String, i32>>("{'a': 'b'}"),
        "TypeError: expected int (for i32), got str"
    );
    assert_eq!(
        extract_err::<HashSet<i32>>("'ab'"),
        "TypeError: expected a set, got str"
    );
}

#[test]
fn paths_round_trip_even_when_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    init();
    round_trip(PathBuf::from("/tmp/x y"), "'/tmp/x y'");
    let odd = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/\xff"));
    with_gil(|py| {
        let back: PathBuf = odd.clone().into_python(py)?.extract()?;
        assert_eq!(back, odd);
        let p: PathBuf = py
            .eval("__import__('pathlib').PurePosixPath('/a/b')")?
            .extract()?;
        assert_eq!(p, PathBuf::from("/a/b"));
        Ok(())
    })
    .unwrap();
}

/// `sys.getrefcount` of `obj` as Python sees it.
fn py_refcount(py: Python<'_>, obj: &Object<'_, Any>) -> i64 {
    py.import("sys")
        .unwrap()
        .getattr("getrefcount")
        .unwrap()
        .call1((obj,))
        .unwrap()
        .extract()
        .unwrap()
}

#[test]
fn conversions_and_handle_operations_leave_refcounts_balanced() {
    init();
    with_gil(|py| {
        let ns = py.new_namespace()?;
        py.exec_with(
            "s = 'refcounted ' + str(id(object()))\nl = [s, s]\nd = {'k': s}\nt = (s,)\n",
            &ns,
            None,
        )?;
        let s = ns.get_item("s")?.unwrap();
        let l = ns.get_item("l")?.unwrap();
        let d = ns.get_item("d")?.unwrap().into_downcast::<Dict>()?;
        let t = ns.get_item("t")?.unwrap().into_downcast::<Tuple>()?;
        let before = py_refcount(py, &s);
        for _ in 0..100 {
            let _: String = s.extract()?;
            let _: Vec<String> = l.extract()?;
            let _: Vec<Object<'_, Any>> = l.extract()?;
            let _: HashMap<String, String> = d.extract()?;
            let _: (String,) = t.extract()?;
            let _ = d.get_item("k")?;
            let _ = t.get(0)?.to_owned();
            let _ = l.get_item(1)?;
            let _: Vec<_> = d.iter().collect();
            let _ = s.clone().unbind().into_bound(py);
            let _ = s.getattr("upper")?.call0()?;
            let _ = List::from_iter(py, [&s, &s])?;
            let _ = Tuple::new(py, [&s])?;
            let _ = d.copy()?;
        }
        assert_eq!(py_refcount(py, &s), before);
        Ok(())
    })
    .unwrap();
}

#[test]
fn dicts_with_builtin_and_other_items_convert_even_when_a_conversion_changes_the_dict() {
    init();
    with_gil(|py| {
        // Exact builtins (read without references) mixed with an int subclass and an object
        // with __index__ (read through references).
        let mixed: HashMap<String, i64> = py
            .eval("(lambda: (type('I', (int,), {}), type('X', (), {'__index__': lambda s: 7})))()")
            .and_then(|t| {
                let ns = py.new_namespace()?;
                ns.set_item("I", t.get_item(0)?)?;
                ns.set_item("X", t.get_item(1)?)?;
                py.eval_with("{'a': 1, 'b': I(2), 'c': X(), 'd': True}", &ns, None)?
                    .extract()
            })?;
        let mut got: Vec<_> = mixed.into_iter().collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("a".into(), 1),
                ("b".into(), 2),
                ("c".into(), 7),
                ("d".into(), 1)
            ]
        );

        // A value whose conversion empties the dict: no crash, no use of freed items; the
        // iteration stops where the dict changed.
        let ns = py.new_namespace()?;
        py.exec_with(
            "d = {}\nclass Clear:\n    def __index__(self):\n        d.clear()\n        return 5\n\
             d.update({'x': 1, 'y': Clear(), 'z': 3, 'w': 4})\n",
            &ns,
            None,
        )?;
        let d = ns.get_item("d")?.expect("d");
        let partial: HashMap<String, i64> = d.extract()?;
        assert!(partial.len() <= 2, "{partial:?}");
        assert_eq!(partial.get("y"), Some(&5), "{partial:?}");

        // Floats: a float subclass and a str subclass key are read in C (borrowed); an int
        // subclass whose __float__ empties the dict is read through references.
        let ns = py.new_namespace()?;
        py.exec_with(
            "class F(float): pass\nclass S(str): pass\nd = {}\n\
             class I(int):\n    def __float__(self):\n        d.clear()\n        return 9.5\n\
             d.update({S('a'): 1.5, 'b': F(2.5), 'c': True, 'd': 4, 'e': I(1), 'f': 6.0})\n",
            &ns,
            None,
        )?;
        let d = ns.get_item("d")?.expect("d");
        let floats: HashMap<String, f64> = d.extract()?;
        assert_eq!(floats.get("a"), Some(&1.5), "{floats:?}");
        assert_eq!(floats.get("b"), Some(&2.5), "{floats:?}");
        assert_eq!(floats.get("c"), Some(&1.0), "{floats:?}");
        assert_eq!(floats.get("d"), Some(&4.0), "{floats:?}");
        assert_eq!(floats.get("e"), Some(&9.5), "{floats:?}");
        assert_eq!(
            floats.get("f"),
            None,
            "stops where the dict changed: {floats:?}"
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn lists_convert_even_when_a_conversion_changes_the_list() {
    init();
    with_gil(|py| {
        // Ints and bools (read in C, borrowed) mixed with an int subclass and an object whose
        // __index__ empties the list (read through references): no crash, no use of a freed
        // item, and the conversion stops where the list ended.
        let ns = py.new_namespace()?;
        py.exec_with(
            "class I(int): pass\nl = []\n\
             class Clear:\n    def __index__(self):\n        l.clear()\n        return 5\n\
             l.extend([1, I(2), True, Clear(), 10 ** 3, 4])\n\
             big = [2 ** 70]\nfloats = [1.5, 2]\n",
            &ns,
            None,
        )?;
        let l = ns.get_item("l")?.expect("l");
        let got: Vec<i64> = l.extract()?;
        assert_eq!(got, [1, 2, 1, 5]);
        // Errors from borrowed items still say what went wrong.
        let big = ns.get_item("big")?.expect("big");
        let e = big.extract::<Vec<i64>>().unwrap_err();
        assert!(e.to_string().contains("int"), "{e}");
        let floats = ns.get_item("floats")?.expect("floats");
        assert_eq!(floats.extract::<Vec<f64>>()?, [1.5, 2.0]);
        assert!(floats.extract::<Vec<i64>>().is_err());
        Ok(())
    })
    .unwrap();
}
