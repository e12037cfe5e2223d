//! The raw column: each operation written directly against the C API the way an experienced C
//! extension author would (every result checked, no private `_Py` functions), so the pyhost
//! column is compared with the honest best, not a strawman.

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr::null_mut;

use pyhost_sys as ffi;
use pyhost_sys::{Py_ssize_t, PyObject};

/// A Python object pointer shared between the columns and threads of a workload. The objects
/// are created once, at start, and intentionally never released; every use holds the GIL.
#[derive(Clone, Copy)]
pub struct Ptr(pub *mut PyObject);

// SAFETY: the pointer is only dereferenced by code that holds the GIL, and the object it
// points to lives until the process exits (its reference is never released).
unsafe impl Send for Ptr {}
// SAFETY: as above.
unsafe impl Sync for Ptr {}

impl Ptr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    #[inline(always)]
    pub fn as_ptr(self) -> *mut PyObject {
        self.0
    }
}

/// Prints the Python exception that is set and panics: the benchmarks never expect one.
///
/// # Safety
/// The GIL is held and an exception is set.
#[cold]
#[inline(never)]
pub unsafe fn fail(what: &str) -> ! {
    // SAFETY: GIL held, exception set (caller).
    unsafe { ffi::PyErr_Print() };
    panic!("{what}: a Python exception was raised (printed above)");
}

/// Checks a new reference: `NULL` means an exception.
///
/// # Safety
/// The GIL is held.
#[inline(always)]
pub unsafe fn check(p: *mut PyObject, what: &str) -> *mut PyObject {
    if p.is_null() {
        // SAFETY: NULL from the C API means an exception is set; GIL held (caller).
        unsafe { fail(what) }
    }
    p
}

/// `PyLong_AsLongLong` with the `-1`/`PyErr_Occurred` check.
///
/// # Safety
/// The GIL is held; `o` is live.
#[inline(always)]
pub unsafe fn as_i64(o: *mut PyObject, what: &str) -> i64 {
    // SAFETY: GIL held, live object (caller).
    unsafe {
        let v = ffi::PyLong_AsLongLong(o);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            fail(what)
        }
        v
    }
}

// ---------------------------------------------------------------------------------------------
// w3 / w4: functions called from Python

/// `noop()`: `METH_NOARGS`, returns `None`.
unsafe extern "C" fn noop(_slf: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: called by CPython with the GIL held; None is always live.
    unsafe { ffi::Py_NewRef(ffi::Py_None()) }
}

/// `add3(a, b, c)`: `METH_FASTCALL | METH_KEYWORDS`, three ints in (by position or by name,
/// as pyhost's and PyO3's functions take them), their sum out.
unsafe extern "C" fn add3(
    _slf: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: called by CPython with the GIL held; `args` holds `nargs` positional borrowed
    // references followed by one per name in `kwnames` (a tuple of str, or NULL).
    unsafe {
        let fail = |msg: &CStr| {
            ffi::PyErr_SetString(ffi::PyExc_TypeError, msg.as_ptr());
            null_mut()
        };
        if nargs > 3 {
            return fail(c"add3() takes at most 3 arguments");
        }
        let mut slots: [*mut PyObject; 3] = [null_mut(); 3];
        for (i, slot) in slots.iter_mut().enumerate().take(nargs as usize) {
            *slot = *args.add(i);
        }
        if !kwnames.is_null() {
            for k in 0..ffi::PyTuple_Size(kwnames) {
                let name = ffi::PyTuple_GetItem(kwnames, k);
                let Some(i) = [c"a", c"b", c"c"]
                    .iter()
                    .position(|n| ffi::PyUnicode_CompareWithASCIIString(name, n.as_ptr()) == 0)
                else {
                    return fail(c"add3() got an unexpected keyword argument");
                };
                if !slots[i].is_null() {
                    return fail(c"add3() got multiple values for an argument");
                }
                slots[i] = *args.add(nargs as usize + k as usize);
            }
        }
        let mut sum = 0i64;
        for slot in slots {
            if slot.is_null() {
                return fail(c"add3() missing a required argument");
            }
            let v = ffi::PyLong_AsLongLong(slot);
            if v == -1 && !ffi::PyErr_Occurred().is_null() {
                return null_mut();
            }
            sum = sum.wrapping_add(v);
        }
        ffi::PyLong_FromLongLong(sum)
    }
}

type FastcallKw = unsafe extern "C" fn(
    *mut PyObject,
    *const *mut PyObject,
    Py_ssize_t,
    *mut PyObject,
) -> *mut PyObject;
type Meth = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject;

/// A builtin function object from a method definition that lives for the rest of the process.
///
/// # Safety
/// The GIL is held; `meth` has the signature `flags` announce.
unsafe fn function(name: &'static CStr, meth: Meth, flags: u32) -> Ptr {
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: Some(meth),
        ml_flags: flags as c_int,
        ml_doc: std::ptr::null(),
    }));
    // SAFETY: GIL held (caller); the definition is leaked, so it outlives the function.
    Ptr(unsafe {
        check(
            ffi::PyCFunction_NewEx(def, null_mut(), null_mut()),
            "PyCFunction_NewEx",
        )
    })
}

/// The hand-written `METH_NOARGS` function of w3.
///
/// # Safety
/// The GIL is held.
pub unsafe fn noop_function() -> Ptr {
    // SAFETY: GIL held (caller); `noop` has the METH_NOARGS signature.
    unsafe { function(c"noop", noop, ffi::METH_NOARGS) }
}

/// The hand-written `METH_FASTCALL | METH_KEYWORDS` function of w4.
///
/// # Safety
/// The GIL is held.
pub unsafe fn add3_function() -> Ptr {
    let f: FastcallKw = add3;
    // SAFETY: with METH_FASTCALL | METH_KEYWORDS CPython calls the pointer with the
    // four-argument signature it really has; function pointers share one representation.
    // GIL held (caller).
    unsafe {
        function(
            c"add3",
            std::mem::transmute::<FastcallKw, Meth>(f),
            ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// w6: conversions

/// `Vec<i64>` → `list`: `PyList_New` and direct stores.
///
/// # Safety
/// The GIL is held.
pub unsafe fn list_from_vec(v: &[i64]) -> *mut PyObject {
    // SAFETY: GIL held (caller); each store goes to a slot of the fresh list and steals the
    // new reference; on failure the partly filled list (NULL slots allowed) is released.
    unsafe {
        let list = check(ffi::PyList_New(v.len() as Py_ssize_t), "PyList_New");
        for (i, &x) in v.iter().enumerate() {
            let item = ffi::PyLong_FromLongLong(x);
            if item.is_null() {
                ffi::Py_DECREF(list);
                fail("PyLong_FromLongLong");
            }
            ffi::PyList_SET_ITEM(list, i as Py_ssize_t, item);
        }
        list
    }
}

/// `list` → `Vec<i64>`: type check, then direct item access.
///
/// # Safety
/// The GIL is held; `list` is live.
pub unsafe fn vec_from_list(list: *mut PyObject) -> Vec<i64> {
    // SAFETY: GIL held, live object (caller). `PyLong_AsLongLong` on the items of a list of
    // exact ints runs no Python code, so the list cannot change under the loop.
    unsafe {
        if !ffi::PyList_Check(list) {
            panic!("expected a list");
        }
        let n = ffi::PyList_GET_SIZE(list);
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            out.push(as_i64(ffi::PyList_GET_ITEM(list, i), "list item"));
        }
        out
    }
}

/// `HashMap<String, f64>` → `dict` (consuming the map, as a by-value conversion does).
///
/// # Safety
/// The GIL is held.
pub unsafe fn dict_from_map(m: HashMap<String, f64>) -> *mut PyObject {
    // SAFETY: GIL held (caller); every new reference is checked and released after
    // `PyDict_SetItem` took its own.
    unsafe {
        let d = check(ffi::PyDict_New(), "PyDict_New");
        for (k, v) in m {
            let key = check(
                ffi::PyUnicode_FromStringAndSize(k.as_ptr().cast(), k.len() as Py_ssize_t),
                "PyUnicode_FromStringAndSize",
            );
            let value = check(ffi::PyFloat_FromDouble(v), "PyFloat_FromDouble");
            let r = ffi::PyDict_SetItem(d, key, value);
            ffi::Py_DECREF(key);
            ffi::Py_DECREF(value);
            if r < 0 {
                fail("PyDict_SetItem");
            }
        }
        d
    }
}

/// `dict` → `HashMap<String, f64>` with `PyDict_Next`.
///
/// # Safety
/// The GIL is held; `d` is live.
pub unsafe fn map_from_dict(d: *mut PyObject) -> HashMap<String, f64> {
    // SAFETY: GIL held, live object (caller). Keys and values are borrowed from the dict,
    // which nothing changes during the loop (no Python code runs for exact str/float).
    unsafe {
        if !ffi::PyDict_Check(d) {
            panic!("expected a dict");
        }
        let mut out = HashMap::with_capacity(ffi::PyDict_Size(d) as usize);
        let mut pos: Py_ssize_t = 0;
        let mut key = null_mut();
        let mut value = null_mut();
        while ffi::PyDict_Next(d, &mut pos, &mut key, &mut value) != 0 {
            let k = string_from_str(key);
            let v = ffi::PyFloat_AsDouble(value);
            if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
                fail("PyFloat_AsDouble");
            }
            out.insert(k, v);
        }
        out
    }
}

/// `str` → `String`: `PyUnicode_AsUTF8AndSize` and one copy.
///
/// # Safety
/// The GIL is held; `s` is live.
pub unsafe fn string_from_str(s: *mut PyObject) -> String {
    // SAFETY: GIL held, live object (caller). The UTF-8 buffer belongs to `s` and is valid
    // UTF-8 (CPython's encoder is strict; surrogates make it fail, which is checked).
    unsafe {
        let mut len: Py_ssize_t = 0;
        let p = ffi::PyUnicode_AsUTF8AndSize(s, &mut len);
        if p.is_null() {
            fail("PyUnicode_AsUTF8AndSize");
        }
        let bytes = std::slice::from_raw_parts(p.cast::<u8>(), len as usize);
        String::from_utf8_unchecked(bytes.to_vec())
    }
}

/// `&str` → `str`.
///
/// # Safety
/// The GIL is held.
pub unsafe fn str_from_string(s: &str) -> *mut PyObject {
    // SAFETY: GIL held (caller); the pointer and length describe `s`.
    unsafe {
        check(
            ffi::PyUnicode_FromStringAndSize(s.as_ptr().cast(), s.len() as Py_ssize_t),
            "PyUnicode_FromStringAndSize",
        )
    }
}
