//! The raw bindings against a real interpreter: initialization, running code, reference counts,
//! tuple and list access, and the Rust versions of the C macros compared with the C macros
//! themselves (`pyhost_sys_shim_*`).

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::sync::Once;

use pyhost_sys as ffi;

/// Initializes Python once for this test binary, releases the GIL, and runs `f` with the GIL
/// held on the calling test thread.
fn with_gil<R>(f: impl FnOnce() -> R) -> R {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // First and only initialization in this process; the initializing thread then
        // releases the GIL so other test threads can take it.
        // SAFETY: for the reasons above.
        unsafe {
            ffi::Py_InitializeEx(0);
            assert_ne!(ffi::Py_IsInitialized(), 0);
            ffi::PyEval_SaveThread();
        }
    });
    /// Releases the GIL even when the test body panics, so one failing test does not
    /// deadlock the others.
    struct Release(ffi::PyGILState_STATE);
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: paired with the Ensure below, on the same thread.
            unsafe { ffi::PyGILState_Release(self.0) };
        }
    }
    // SAFETY: the interpreter is initialized; Ensure/Release are paired on this thread.
    let _gil = Release(unsafe { ffi::PyGILState_Ensure() });
    f()
}

/// Runs `code` in a fresh namespace and returns the namespace (an owned dict).
///
/// # Safety
/// GIL held.
unsafe fn run(code: &str) -> *mut ffi::PyObject {
    let code = CString::new(code).unwrap();
    // SAFETY: GIL held (caller); every object is checked for NULL and released.
    unsafe {
        let globals = ffi::PyDict_New();
        let builtins = ffi::PyEval_GetBuiltins();
        assert_eq!(
            ffi::PyDict_SetItemString(globals, c"__builtins__".as_ptr(), builtins),
            0
        );
        let r = ffi::PyRun_String(code.as_ptr(), ffi::Py_file_input as c_int, globals, globals);
        if r.is_null() {
            ffi::PyErr_Print();
            panic!("running {code:?} failed");
        }
        ffi::Py_DECREF(r);
        globals
    }
}

/// A borrowed item of a namespace dict.
///
/// # Safety
/// GIL held, `ns` a live dict.
unsafe fn item(ns: *mut ffi::PyObject, name: &CStr) -> *mut ffi::PyObject {
    // SAFETY: GIL held, `ns` a dict (caller).
    let v = unsafe { ffi::PyDict_GetItemString(ns, name.as_ptr()) };
    assert!(!v.is_null(), "{name:?} is not defined");
    v
}

#[test]
fn interpreter_runs_code_and_reports_the_built_version() {
    with_gil(|| {
        // SAFETY: GIL held by with_gil.
        unsafe {
            let ns = run(
                "import sys\nv = '%d.%d.%d' % sys.version_info[:3]\nhexv = sys.hexversion\nr = 6 * 7\n",
            );
            let r = item(ns, c"r");
            assert_eq!(ffi::PyLong_AsLong(r), 42);
            let v = ffi::PyUnicode_AsUTF8(item(ns, c"v"));
            let v = CStr::from_ptr(v).to_str().unwrap();
            // Headers and runtime are the same minor version (patch may differ).
            let built = ffi::build_info::PYTHON_VERSION;
            assert_eq!(
                v.rsplit_once('.').unwrap().0,
                built.rsplit_once('.').unwrap().0,
                "built for {built}, running {v}"
            );
            let hexv = ffi::PyLong_AsUnsignedLong(item(ns, c"hexv"));
            assert_eq!(
                hexv >> 16,
                (ffi::PY_VERSION_HEX as std::os::raw::c_ulong) >> 16
            );
            assert_eq!(
                ffi::pyhost_sys_shim_PY_VERSION_HEX(),
                ffi::PY_VERSION_HEX as _
            );
            ffi::Py_DECREF(ns);
        }
    });
}

#[test]
fn incref_and_decref_match_the_c_macros() {
    with_gil(|| {
        // SAFETY: GIL held; every reference taken is released.
        unsafe {
            let list = ffi::PyList_New(0);
            assert_eq!(ffi::Py_REFCNT(list), 1);
            ffi::Py_INCREF(list);
            assert_eq!(ffi::pyhost_sys_shim_Py_REFCNT(list), 2);
            ffi::pyhost_sys_shim_Py_INCREF(list);
            assert_eq!(ffi::Py_REFCNT(list), 3);
            ffi::Py_DECREF(list);
            ffi::pyhost_sys_shim_Py_DECREF(list);
            assert_eq!(ffi::Py_REFCNT(list), 1);
            ffi::Py_XINCREF(std::ptr::null_mut());
            ffi::Py_XDECREF(std::ptr::null_mut());

            // Immortal objects (3.12+) keep their count under both versions; mortal ones
            // move by one.
            for obj in [ffi::Py_None(), ffi::Py_True(), list] {
                let before = ffi::Py_REFCNT(obj);
                ffi::Py_INCREF(obj);
                let after_rust = ffi::Py_REFCNT(obj);
                ffi::pyhost_sys_shim_Py_INCREF(obj);
                let after_c = ffi::Py_REFCNT(obj);
                assert_eq!(after_rust - before, after_c - after_rust);
                assert_eq!(ffi::Py_IsImmortal(obj), after_rust == before);
                ffi::Py_DECREF(obj);
                ffi::pyhost_sys_shim_Py_DECREF(obj);
                assert_eq!(ffi::Py_REFCNT(obj), before);
            }
            assert_eq!(ffi::Py_IsImmortal(ffi::Py_None()), cfg!(py_3_12));
            ffi::Py_DECREF(list);
        }
    });
}

/// The counts where the C rules change: immortality (3.12+: the low 32 bits negative as an
/// `i32`; 3.14+: increments stop at `3 << 30`; 32-bit targets: their own thresholds) and the
/// saturation of the low half.
const EDGE_COUNTS: [u32; 10] = [
    2,
    0x3FFF_FFFE,
    0x3FFF_FFFF,
    0x4000_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xBFFF_FFFF,
    0xC000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

#[test]
fn refcount_rules_match_the_c_macros_at_every_threshold() {
    with_gil(|| {
        // GIL held. The list is private to this test; its count is set by hand to
        // each edge value, moved once by the Rust and once by the C version, then set back to
        // 1 before the last reference is released. No decrement reaches zero.
        // SAFETY: for the reasons above.
        unsafe {
            let obj = ffi::PyList_New(0);
            for count in EDGE_COUNTS {
                ffi::pyhost_sys_shim_test_set_refcnt_low(obj, count);
                let start = ffi::pyhost_sys_shim_Py_REFCNT(obj);
                assert_eq!(ffi::Py_REFCNT(obj), start, "Py_REFCNT at {count:#x}");
                assert_eq!(
                    ffi::Py_IsImmortal(obj),
                    ffi::pyhost_sys_shim_Py_IsImmortal(obj) != 0,
                    "_Py_IsImmortal at {count:#x}"
                );

                ffi::Py_INCREF(obj);
                let rust = ffi::pyhost_sys_shim_Py_REFCNT(obj);
                ffi::pyhost_sys_shim_test_set_refcnt_low(obj, count);
                ffi::pyhost_sys_shim_Py_INCREF(obj);
                let c = ffi::pyhost_sys_shim_Py_REFCNT(obj);
                assert_eq!(rust, c, "Py_INCREF at {count:#x}");

                // Debug builds call the same function both ways, and it aborts on counts it
                // takes for a freed object's: nothing to compare there.
                if cfg!(py_debug) && count > u32::MAX - (1 << 20) {
                    continue;
                }
                ffi::pyhost_sys_shim_test_set_refcnt_low(obj, count);
                ffi::Py_DECREF(obj);
                let rust = ffi::pyhost_sys_shim_Py_REFCNT(obj);
                ffi::pyhost_sys_shim_test_set_refcnt_low(obj, count);
                ffi::pyhost_sys_shim_Py_DECREF(obj);
                let c = ffi::pyhost_sys_shim_Py_REFCNT(obj);
                assert_eq!(rust, c, "Py_DECREF at {count:#x}");
            }
            ffi::pyhost_sys_shim_test_set_refcnt_low(obj, 1);
            ffi::Py_DECREF(obj);
        }
    });
}

#[test]
fn the_hand_written_target_types_match_the_c_compiler() {
    // SAFETY: a pure function of the C compiler's types; it touches no Python state.
    let info = unsafe { ffi::pyhost_sys_shim_wchar_t_info() };
    assert_eq!(
        (info / 2) as usize,
        std::mem::size_of::<ffi::wchar_t>(),
        "sizeof(wchar_t)"
    );
    #[allow(unused_comparisons)]
    let signed = ffi::wchar_t::MIN < 0;
    assert_eq!(info % 2 == 1, signed, "wchar_t signedness");
}

#[test]
fn decref_to_zero_deallocates() {
    with_gil(|| {
        // SAFETY: GIL held; `obj` is the only reference to the instance when released.
        unsafe {
            let ns = run(
                "freed = []\nclass T:\n    def __del__(self):\n        freed.append(1)\nobj = T()\n",
            );
            let obj = item(ns, c"obj");
            ffi::Py_INCREF(obj);
            assert_eq!(ffi::PyDict_DelItemString(ns, c"obj".as_ptr()), 0);
            assert_eq!(ffi::Py_REFCNT(obj), 1);
            let freed = item(ns, c"freed");
            assert_eq!(ffi::PyList_GET_SIZE(freed), 0);
            ffi::Py_DECREF(obj);
            assert_eq!(ffi::PyList_GET_SIZE(freed), 1, "__del__ ran");
            ffi::Py_DECREF(ns);
        }
    });
}

#[test]
fn tuple_and_list_access_match_the_c_macros() {
    with_gil(|| {
        // SAFETY: GIL held; indices are within bounds; stolen references are owned.
        unsafe {
            let ns = run("t = (1, 'a', None, 2.5)\nl = [b'x', (), 7]\n");
            let t = item(ns, c"t");
            assert_eq!(ffi::PyTuple_GET_SIZE(t), 4);
            assert_eq!(
                ffi::PyTuple_GET_SIZE(t),
                ffi::pyhost_sys_shim_PyTuple_GET_SIZE(t)
            );
            for i in 0..4 {
                assert_eq!(
                    ffi::PyTuple_GET_ITEM(t, i),
                    ffi::pyhost_sys_shim_PyTuple_GET_ITEM(t, i)
                );
            }
            assert_eq!(ffi::PyTuple_GET_ITEM(t, 2), ffi::Py_None());
            assert_eq!(ffi::PyFloat_AS_DOUBLE(ffi::PyTuple_GET_ITEM(t, 3)), 2.5);
            let l = item(ns, c"l");
            assert_eq!(
                ffi::PyList_GET_SIZE(l),
                ffi::pyhost_sys_shim_PyList_GET_SIZE(l)
            );
            for i in 0..3 {
                assert_eq!(
                    ffi::PyList_GET_ITEM(l, i),
                    ffi::pyhost_sys_shim_PyList_GET_ITEM(l, i)
                );
            }
            let b = ffi::PyList_GET_ITEM(l, 0);
            assert_eq!(ffi::PyBytes_GET_SIZE(b), 1);
            assert_eq!(*ffi::PyBytes_AS_STRING(b) as u8, b'x');
            assert_eq!(
                ffi::PyBytes_AS_STRING(b),
                ffi::pyhost_sys_shim_PyBytes_AS_STRING(b)
            );

            // SET_ITEM steals: a fresh tuple filled by Rust and by C compares equal.
            let a = ffi::PyTuple_New(2);
            let c = ffi::PyTuple_New(2);
            for i in 0..2 {
                ffi::PyTuple_SET_ITEM(a, i, ffi::PyLong_FromSsize_t(i * 10));
                ffi::pyhost_sys_shim_PyTuple_SET_ITEM(c, i, ffi::PyLong_FromSsize_t(i * 10));
            }
            assert_eq!(ffi::PyObject_RichCompareBool(a, c, ffi::Py_EQ as c_int), 1);
            let la = ffi::PyList_New(1);
            ffi::PyList_SET_ITEM(la, 0, ffi::Py_NewRef(ffi::Py_True()));
            assert_eq!(ffi::PyList_GET_ITEM(la, 0), ffi::Py_True());
            for o in [a, c, la, ns] {
                ffi::Py_DECREF(o);
            }
        }
    });
}

#[test]
fn singletons_match_the_c_macros() {
    with_gil(|| {
        // SAFETY: GIL held.
        unsafe {
            assert_eq!(ffi::Py_None(), ffi::pyhost_sys_shim_Py_None());
            assert_eq!(ffi::Py_True(), ffi::pyhost_sys_shim_Py_True());
            assert_eq!(ffi::Py_False(), ffi::pyhost_sys_shim_Py_False());
            assert_eq!(
                ffi::Py_NotImplemented(),
                ffi::pyhost_sys_shim_Py_NotImplemented()
            );
            assert_eq!(ffi::Py_Ellipsis(), ffi::pyhost_sys_shim_Py_Ellipsis());
            assert_eq!(
                ffi::Py_TYPE(ffi::Py_None()),
                ffi::pyhost_sys_shim_Py_TYPE(ffi::Py_None())
            );
        }
    });
}

#[test]
fn compact_ascii_text_matches_what_python_gives_as_utf8() {
    with_gil(|| {
        // GIL held; the namespace keeps every tested object alive; every item of `texts` is
        // a str.
        // SAFETY: for the reasons above.
        unsafe {
            let ns = run("import sys\nclass S(str): pass\n\
                 texts = ['', 'a', 'hello', 'x' * 10_000, sys.intern('interned_name'), \
                 str(12345), 'caf\\u00e9', '\\u20ac', '\\U0001F600', 'a\\udc80', S('sub'), \
                 S(''), 'key%d' % 7]\n\
                 ascii = [s.isascii() and type(s) is str for s in texts]\n");
            let texts = item(ns, c"texts");
            let expected = item(ns, c"ascii");
            for i in 0..ffi::PyList_GET_SIZE(texts) {
                let s = ffi::PyList_GET_ITEM(texts, i);
                let compact = ffi::PyUnicode_IS_COMPACT_ASCII(s);
                // Exact ASCII strs are compact ASCII; others (non-ASCII, subclass instances,
                // whose text is stored apart) are not.
                let want = ffi::PyList_GET_ITEM(expected, i) == ffi::Py_True();
                assert_eq!(compact, want, "item {i}");
                // The C function, a static inline one since 3.11.
                #[cfg(py_3_11)]
                assert_eq!(compact, ffi::bindings::PyUnicode_IS_COMPACT_ASCII(s) != 0);
                if !compact {
                    ffi::PyErr_Clear();
                    continue;
                }
                // Same bytes at the same address as the UTF-8 CPython hands out.
                let (data, len) = ffi::compact_ascii_text(s);
                let mut c_len = 0;
                let c_data = ffi::PyUnicode_AsUTF8AndSize(s, &mut c_len);
                assert_eq!((data, len), (c_data.cast::<u8>(), c_len), "item {i}");
                assert_eq!(*data.add(len as usize), 0, "NUL-terminated");
            }
            ffi::Py_DECREF(ns);
        }
    });
}

/// The C `PyObject_TypeCheck` against float, as a check function.
unsafe extern "C" fn c_float_check(o: *mut ffi::PyObject) -> c_int {
    // SAFETY: `o` is live and the GIL held (the caller is the test below).
    unsafe { ffi::pyhost_sys_shim_PyObject_TypeCheck(o, &raw mut ffi::PyFloat_Type) }
}

#[test]
fn type_checks_match_the_c_macros_on_many_objects() {
    with_gil(|| {
        // SAFETY: GIL held; the namespace keeps every tested object alive.
        unsafe {
            let ns = run("import sys\n\
                 class I(int): pass\nclass S(str): pass\nclass B(bytes): pass\n\
                 class T(tuple): pass\nclass L(list): pass\nclass D(dict): pass\n\
                 class F(float): pass\nclass St(set): pass\nclass Fz(frozenset): pass\n\
                 class E(ValueError): pass\nclass M(type(sys)): pass\n\
                 objs = [None, 0, 1 << 100, True, 1.5, 'x', b'y', bytearray(b'z'), (), [], {},\n\
                         set(), frozenset(), sys, int, ValueError, ValueError('v'), E, E('e'),\n\
                         I(3), S('s'), B(b'b'), T(), L(), D(), F(1.0), St(), Fz(), M('m'),\n\
                         object(), len, type]\n");
            let objs = item(ns, c"objs");
            type Check = (
                &'static str,
                unsafe fn(*mut ffi::PyObject) -> bool,
                unsafe extern "C" fn(*mut ffi::PyObject) -> c_int,
            );
            let checks: [Check; 24] = [
                (
                    "PyLong_Check",
                    ffi::PyLong_Check,
                    ffi::pyhost_sys_shim_PyLong_Check,
                ),
                (
                    "PyLong_CheckExact",
                    ffi::PyLong_CheckExact,
                    ffi::pyhost_sys_shim_PyLong_CheckExact,
                ),
                (
                    "PyFloat_Check",
                    ffi::PyFloat_Check,
                    ffi::pyhost_sys_shim_PyFloat_Check,
                ),
                (
                    "PyFloat_CheckExact",
                    ffi::PyFloat_CheckExact,
                    ffi::pyhost_sys_shim_PyFloat_CheckExact,
                ),
                (
                    "PyBool_Check",
                    ffi::PyBool_Check,
                    ffi::pyhost_sys_shim_PyBool_Check,
                ),
                (
                    "PyUnicode_Check",
                    ffi::PyUnicode_Check,
                    ffi::pyhost_sys_shim_PyUnicode_Check,
                ),
                (
                    "PyUnicode_CheckExact",
                    ffi::PyUnicode_CheckExact,
                    ffi::pyhost_sys_shim_PyUnicode_CheckExact,
                ),
                (
                    "PyBytes_Check",
                    ffi::PyBytes_Check,
                    ffi::pyhost_sys_shim_PyBytes_Check,
                ),
                (
                    "PyBytes_CheckExact",
                    ffi::PyBytes_CheckExact,
                    ffi::pyhost_sys_shim_PyBytes_CheckExact,
                ),
                (
                    "PyByteArray_Check",
                    ffi::PyByteArray_Check,
                    ffi::pyhost_sys_shim_PyByteArray_Check,
                ),
                (
                    "PyTuple_Check",
                    ffi::PyTuple_Check,
                    ffi::pyhost_sys_shim_PyTuple_Check,
                ),
                (
                    "PyTuple_CheckExact",
                    ffi::PyTuple_CheckExact,
                    ffi::pyhost_sys_shim_PyTuple_CheckExact,
                ),
                (
                    "PyList_Check",
                    ffi::PyList_Check,
                    ffi::pyhost_sys_shim_PyList_Check,
                ),
                (
                    "PyList_CheckExact",
                    ffi::PyList_CheckExact,
                    ffi::pyhost_sys_shim_PyList_CheckExact,
                ),
                (
                    "PyDict_Check",
                    ffi::PyDict_Check,
                    ffi::pyhost_sys_shim_PyDict_Check,
                ),
                (
                    "PyDict_CheckExact",
                    ffi::PyDict_CheckExact,
                    ffi::pyhost_sys_shim_PyDict_CheckExact,
                ),
                (
                    "PySet_Check",
                    ffi::PySet_Check,
                    ffi::pyhost_sys_shim_PySet_Check,
                ),
                (
                    "PyFrozenSet_Check",
                    ffi::PyFrozenSet_Check,
                    ffi::pyhost_sys_shim_PyFrozenSet_Check,
                ),
                (
                    "PyAnySet_Check",
                    ffi::PyAnySet_Check,
                    ffi::pyhost_sys_shim_PyAnySet_Check,
                ),
                (
                    "PyModule_Check",
                    ffi::PyModule_Check,
                    ffi::pyhost_sys_shim_PyModule_Check,
                ),
                (
                    "PyType_Check",
                    ffi::PyType_Check,
                    ffi::pyhost_sys_shim_PyType_Check,
                ),
                (
                    "PyExceptionInstance_Check",
                    ffi::PyExceptionInstance_Check,
                    ffi::pyhost_sys_shim_PyExceptionInstance_Check,
                ),
                (
                    "PyExceptionClass_Check",
                    ffi::PyExceptionClass_Check,
                    ffi::pyhost_sys_shim_PyExceptionClass_Check,
                ),
                (
                    "PyObject_TypeCheck(float)",
                    |o| ffi::PyObject_TypeCheck(o, &raw mut ffi::PyFloat_Type),
                    c_float_check,
                ),
            ];
            let n = ffi::PyList_GET_SIZE(objs);
            let mut positives = 0;
            for i in 0..n {
                let o = ffi::PyList_GET_ITEM(objs, i);
                for (name, rust, c) in &checks {
                    let (r, c) = (rust(o), c(o) != 0);
                    assert_eq!(r, c, "{name} disagrees on objs[{i}]");
                    positives += r as usize;
                }
            }
            // The table exercises both answers of every check.
            assert!(positives > 40, "{positives}");
            ffi::Py_DECREF(ns);
        }
    });
}

#[test]
fn vectorcall_under_one_name_on_every_version() {
    with_gil(|| {
        // SAFETY: GIL held; the argument array outlives the call.
        unsafe {
            let ns = run("def f(a, b, *, c=0):\n    return a * 100 + b * 10 + c\n");
            let f = item(ns, c"f");
            let args = [
                ffi::PyLong_FromLong(1),
                ffi::PyLong_FromLong(2),
                ffi::PyLong_FromLong(3),
            ];
            let kw = ffi::PyTuple_New(1);
            ffi::PyTuple_SET_ITEM(kw, 0, ffi::PyUnicode_FromString(c"c".as_ptr()));
            let r = ffi::PyObject_Vectorcall(f, args.as_ptr(), 2, kw);
            assert!(!r.is_null());
            assert_eq!(ffi::PyLong_AsLong(r), 123);
            assert_eq!(
                ffi::PyVectorcall_NARGS(2 | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET),
                2
            );
            ffi::Py_DECREF(r);
            let g = run("def g():\n    return 'ok'\n");
            let r = ffi::PyObject_CallNoArgs(item(g, c"g"));
            assert_eq!(
                CStr::from_ptr(ffi::PyUnicode_AsUTF8(r)).to_str().unwrap(),
                "ok"
            );
            for o in args.into_iter().chain([kw, r, g, ns]) {
                ffi::Py_DECREF(o);
            }
        }
    });
}

#[test]
fn c_extension_modules_load() {
    // `_ctypes` is a shared extension module in every CPython build here: with a static
    // libpython it resolves its C-API symbols from the executable itself.
    with_gil(|| {
        // SAFETY: GIL held.
        unsafe {
            let ns = run("import ctypes, _asyncio, platform\n\
                 n = ctypes.sizeof(ctypes.c_void_p)\n\
                 machine = platform.machine()\n");
            let n = ffi::PyLong_AsLong(item(ns, c"n"));
            assert_eq!(n as usize, std::mem::size_of::<*const u8>());
            let machine = CStr::from_ptr(ffi::PyUnicode_AsUTF8(item(ns, c"machine")));
            println!("embedded interpreter reports platform.machine() = {machine:?}");
            assert_eq!(machine.to_str().unwrap(), std::env::consts::ARCH);
            ffi::Py_DECREF(ns);
        }
    });
}
