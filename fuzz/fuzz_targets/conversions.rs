//! Arbitrary Python values into every `FromPython` conversion: each returns a value or an
//! ordinary exception, leaves no exception set, and what converts gives back an equal value.

#![no_main]

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use pyhost::prelude::*;
use pyhost_fuzz::{Input, Values, assert_ordinary, exception_pending};

/// Extracts `$obj` as each type: Ok or an ordinary error, and no exception left behind.
macro_rules! extract_each {
    ($py:expr, $obj:expr; $($t:ty),+ $(,)?) => {$(
        let r = $obj.extract::<$t>();
        assert!(!exception_pending($py), "{} left an exception set", stringify!($t));
        if let Err(e) = &r {
            assert_ordinary(stringify!($t), e);
        }
    )+};
}

/// Converting back what converted gives an equal Python value.
fn round_trips<'py>(obj: &Object<'py, Any>) -> Result<()> {
    let py = obj.py();
    if obj.is_instance_of::<Int>() {
        if let Ok(v) = obj.extract::<i64>() {
            assert!(obj.eq(v)?, "i64 {v} from {}", obj.repr()?);
        }
        if let Ok(v) = obj.extract::<u64>() {
            assert!(obj.eq(v)?, "u64 {v} from {}", obj.repr()?);
        }
        if let Ok(v) = obj.extract::<i128>() {
            assert!(obj.eq(v)?, "i128 {v} from {}", obj.repr()?);
        }
    }
    if obj.is_instance_of::<Float>() {
        if let Ok(v) = obj.extract::<f64>() {
            assert!(v.is_nan() || obj.eq(v)?, "f64 {v} from {}", obj.repr()?);
        }
    }
    if obj.is_instance_of::<Str>() {
        if let Ok(v) = obj.extract::<String>() {
            assert!(obj.eq(v.as_str())?, "{v:?} from {}", obj.repr()?);
        }
    }
    if obj.is_instance_of::<Bytes>() {
        if let Ok(v) = obj.extract::<&[u8]>() {
            let back = v.to_vec();
            let again = obj.extract::<&[u8]>()?;
            assert_eq!(back, again);
        }
    }
    if let (Ok(v), true) = (obj.extract::<Vec<i64>>(), obj.is_instance_of::<List>()) {
        // The list's real size, whatever a subclass's __len__ says.
        let list_len = py.import("builtins")?.getattr("list")?.getattr("__len__")?;
        let n: usize = list_len.call1((obj,))?.extract()?;
        assert_eq!(
            n,
            v.len(),
            "a list of {n} items gave {} ({})",
            v.len(),
            obj.repr()?
        );
    }
    assert!(!exception_pending(py));
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    pyhost::initialize_once().expect("starting Python");
    pyhost::with_gil(|py| {
        let values = Values::new(py)?;
        let mut input = Input::new(data);
        while !input.is_empty() {
            let obj = values.value(&mut input, 0)?;
            extract_each!(py, obj;
                i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize,
                f32, f64, bool, char, String, &str, Cow<str>, PathBuf, &[u8], (),
                Option<i64>, Option<String>, Vec<i64>, Vec<String>, Vec<Vec<f64>>,
                Vec<Option<bool>>, [i32; 2], (i64,), (i64, String), (bool, f64, Vec<u8>),
                HashMap<String, i64>, HashMap<i64, Vec<String>>, BTreeMap<String, f64>,
                HashSet<i64>, BTreeSet<String>, Option<Vec<Option<String>>>,
                Object<'_, Dict>, Object<'_, List>, Object<'_, Tuple>, Object<'_, Str>,
                Unbound<Any>,
            );
            round_trips(&obj)?;
        }
        Ok(())
    })
    .expect("building the values");
});
