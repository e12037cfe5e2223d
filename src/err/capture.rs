//! Taking the raised exception out of the interpreter and recording what a human needs to see
//! (type, message, traceback, cause chain) while the GIL is held, so that the resulting
//! [`PyErr`] can be displayed anywhere. Every step tolerates failure: an attribute that cannot
//! be read is skipped and the secondary error cleared, never left set.

use std::collections::HashSet;
use std::ptr::NonNull;

use super::{CauseKind, ExceptionKind, Frame, PyErr, PyErrInner, Raise, SyntaxLocation};
use crate::types::{Any, Interned};
use crate::{Object, Python, ffi};

/// Deepest cause chain recorded.
const MAX_CHAIN: usize = 16;
/// Most traceback entries recorded (the most recent ones are kept).
const MAX_FRAMES: usize = 256;

/// Takes the raised exception, normalized and with its traceback attached; `None` when no
/// exception is set.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn take_raised(py: Python<'_>) -> Option<Object<'_, Any>> {
    #[cfg(py_3_12)]
    {
        // SAFETY: GIL held (caller); returns an owned reference or NULL.
        let v = unsafe { ffi::PyErr_GetRaisedException() };
        // SAFETY: owned reference to an exception instance.
        NonNull::new(v).map(|v| unsafe { Object::from_owned_ptr(py, v) })
    }
    #[cfg(not(py_3_12))]
    {
        let mut t = std::ptr::null_mut();
        let mut v = std::ptr::null_mut();
        let mut tb = std::ptr::null_mut();
        // SAFETY: GIL held (caller). Fetch hands us owned references (or NULL); normalizing
        // turns them into an instance of the type; the traceback is attached to the instance
        // and the references to type and traceback released.
        unsafe {
            ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
            if t.is_null() {
                return None;
            }
            ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
            if !tb.is_null() && !v.is_null() {
                ffi::PyException_SetTraceback(v, tb);
            }
            ffi::Py_XDECREF(t);
            ffi::Py_XDECREF(tb);
            NonNull::new(v).map(|v| Object::from_owned_ptr(py, v))
        }
    }
}

/// Records an exception instance.
pub(crate) fn capture(value: Object<'_, Any>) -> PyErr {
    let mut seen = HashSet::new();
    capture_inner(value, 0, &mut seen)
}

fn capture_inner(value: Object<'_, Any>, depth: usize, seen: &mut HashSet<usize>) -> PyErr {
    seen.insert(value.as_ptr() as usize);
    let ptr = value.as_ptr();
    // SAFETY: live object, GIL held.
    let ty = unsafe { ffi::Py_TYPE(ptr) }.cast::<ffi::PyObject>();
    let type_name = qualified_name(ty);
    let message = str_of(ptr).unwrap_or_else(|| format!("<unprintable {type_name} object>"));
    let kind = kind_of(&value);
    let frames = frames_of(ptr);
    let syntax = syntax_of(ptr);
    let mut cause = None;
    if depth < MAX_CHAIN {
        let explicit = getattr(ptr, attr!("__cause__")).filter(|c| !is_none(c.as_ptr()));
        let chained = match explicit {
            Some(c) => Some((CauseKind::Cause, c)),
            None => {
                let suppress = getattr(ptr, attr!("__suppress_context__"))
                    // SAFETY: live object, GIL held.
                    .is_some_and(|s| unsafe { ffi::PyObject_IsTrue(s.as_ptr()) } == 1);
                clear();
                if suppress {
                    None
                } else {
                    getattr(ptr, attr!("__context__"))
                        .filter(|c| !is_none(c.as_ptr()))
                        .map(|c| (CauseKind::Context, c))
                }
            }
        };
        if let Some((k, c)) = chained {
            if !seen.contains(&(c.as_ptr() as usize)) {
                cause = Some((k, capture_inner(c, depth + 1, seen)));
            }
        }
    }
    PyErr(Box::new(PyErrInner {
        type_name,
        message,
        kind,
        frames,
        syntax,
        cause,
        raise: Raise::Object(value.unbind()),
    }))
}

fn kind_of(value: &Object<'_, Any>) -> ExceptionKind {
    let ptr = value.as_ptr();
    // SAFETY: live objects, GIL held; the class pointers are libpython's.
    let matches =
        |class: *mut ffi::PyObject| unsafe { ffi::PyErr_GivenExceptionMatches(ptr, class) != 0 };
    if crate::callback::is_panic_exception(value) {
        return ExceptionKind::RustPanic;
    }
    // SAFETY: reading libpython's class pointers.
    let (system_exit, keyboard, exception) = unsafe {
        (
            ffi::PyExc_SystemExit,
            ffi::PyExc_KeyboardInterrupt,
            ffi::PyExc_Exception,
        )
    };
    if matches(system_exit) {
        let code = match getattr(ptr, attr!("code")) {
            None => 0,
            Some(c) if is_none(c.as_ptr()) => 0,
            Some(c) => {
                // `sys.exit("message")` exits with 1, like the interpreter.
                int_of(c.as_ptr())
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(1)
            }
        };
        ExceptionKind::SystemExit { code }
    } else if matches(keyboard) {
        ExceptionKind::KeyboardInterrupt
    } else if matches(exception) {
        ExceptionKind::Exception
    } else {
        ExceptionKind::OtherBaseException
    }
}

fn frames_of(ptr: *mut ffi::PyObject) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut tb = getattr(ptr, attr!("__traceback__"));
    while let Some(t) = tb.take() {
        if is_none(t.as_ptr()) {
            break;
        }
        let line = getattr(t.as_ptr(), attr!("tb_lineno")).and_then(|l| int_of(l.as_ptr()));
        let code = getattr(t.as_ptr(), attr!("tb_frame"))
            .and_then(|f| getattr(f.as_ptr(), attr!("f_code")));
        let (file, function) = match &code {
            Some(c) => (
                getattr(c.as_ptr(), attr!("co_filename")).and_then(|f| str_of(f.as_ptr())),
                getattr(c.as_ptr(), attr!("co_name")).and_then(|f| str_of(f.as_ptr())),
            ),
            None => (None, None),
        };
        frames.push(Frame {
            file: file.unwrap_or_else(|| "<unknown>".into()),
            line: line.and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
            function: function.unwrap_or_else(|| "<unknown>".into()),
        });
        if frames.len() > MAX_FRAMES {
            frames.remove(0);
        }
        tb = getattr(t.as_ptr(), attr!("tb_next"));
    }
    clear();
    frames
}

fn syntax_of(ptr: *mut ffi::PyObject) -> Option<SyntaxLocation> {
    // SAFETY: live object, GIL held; reading libpython's class pointer.
    if unsafe { ffi::PyErr_GivenExceptionMatches(ptr, ffi::PyExc_SyntaxError) } == 0 {
        return None;
    }
    let field = |name: &'static Interned| getattr(ptr, name).filter(|v| !is_none(v.as_ptr()));
    let loc = SyntaxLocation {
        file: field(attr!("filename"))
            .and_then(|f| str_of(f.as_ptr()))
            .unwrap_or_default(),
        line: field(attr!("lineno"))
            .and_then(|l| int_of(l.as_ptr()))
            .and_then(|l| u32::try_from(l).ok())
            .unwrap_or(0),
        offset: field(attr!("offset"))
            .and_then(|l| int_of(l.as_ptr()))
            .and_then(|l| u32::try_from(l).ok()),
        text: field(attr!("text")).and_then(|t| str_of(t.as_ptr())),
        msg: field(attr!("msg")).and_then(|t| str_of(t.as_ptr())),
    };
    clear();
    Some(loc)
}

/// `module.QualName` of a class, without the module for builtins.
pub(crate) fn qualified_name(class: *mut ffi::PyObject) -> String {
    let qual = getattr(class, attr!("__qualname__")).and_then(|q| str_of(q.as_ptr()));
    let module = getattr(class, attr!("__module__")).and_then(|m| str_of(m.as_ptr()));
    clear();
    let qual = qual.unwrap_or_else(|| "<unknown>".into());
    match module.as_deref() {
        None | Some("builtins") | Some("__main__") => qual,
        Some(m) => format!("{m}.{qual}"),
    }
}

/// The type name of an object, for messages (`int`, `collections.OrderedDict`).
pub(crate) fn type_name_of(obj: *mut ffi::PyObject) -> String {
    // SAFETY: live object, GIL held (callers).
    qualified_name(unsafe { ffi::Py_TYPE(obj) }.cast())
}

/// An attribute name, interned once: lookups by an interned name hit CPython's type cache,
/// where a fresh string from `PyObject_GetAttrString` misses it every time (and the cache keeps
/// the last such string of each slot alive).
macro_rules! attr {
    ($name:literal) => {{
        static NAME: Interned = Interned::new($name);
        &NAME
    }};
}
use attr;

fn getattr<'a>(obj: *mut ffi::PyObject, name: &'static Interned) -> Option<Object<'a, Any>> {
    // SAFETY: GIL held (callers).
    let py = unsafe { Python::assume_gil_acquired() };
    let name = name.get(py);
    // SAFETY: live object, GIL held (callers). The returned handle is only used inside the
    // current capture, while the GIL stays held; a failure is cleared.
    unsafe {
        let v = ffi::PyObject_GetAttr(obj, name.as_ptr());
        match NonNull::new(v) {
            Some(v) => Some(Object::from_owned_ptr(Python::assume_gil_acquired(), v)),
            None => {
                ffi::PyErr_Clear();
                None
            }
        }
    }
}

fn str_of(obj: *mut ffi::PyObject) -> Option<String> {
    // SAFETY: live object, GIL held (callers); failures are cleared.
    unsafe {
        let s = ffi::PyObject_Str(obj);
        if s.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let mut len: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(s, &mut len);
        let out = if data.is_null() {
            ffi::PyErr_Clear();
            // Surrogates and the like: replace what cannot be encoded.
            let b =
                ffi::PyUnicode_AsEncodedString(s, c"utf-8".as_ptr(), c"backslashreplace".as_ptr());
            if b.is_null() {
                ffi::PyErr_Clear();
                None
            } else {
                let bytes = std::slice::from_raw_parts(
                    ffi::PyBytes_AS_STRING(b).cast::<u8>(),
                    ffi::PyBytes_GET_SIZE(b) as usize,
                );
                let r = String::from_utf8_lossy(bytes).into_owned();
                ffi::Py_DECREF(b);
                Some(r)
            }
        } else {
            let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len as usize);
            Some(String::from_utf8_lossy(bytes).into_owned())
        };
        ffi::Py_DECREF(s);
        out
    }
}

fn int_of(obj: *mut ffi::PyObject) -> Option<i64> {
    // SAFETY: live object, GIL held (callers); failures are cleared.
    unsafe {
        let n = ffi::PyLong_AsLongLong(obj);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(n)
    }
}

fn is_none(obj: *mut ffi::PyObject) -> bool {
    obj == ffi::Py_None()
}

fn clear() {
    // SAFETY: GIL held by every caller in this module.
    unsafe { ffi::PyErr_Clear() }
}
