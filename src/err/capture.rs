//! Taking the raised exception out of the interpreter and recording what a human needs to see
//! (type, message, traceback, cause chain) while the GIL is held, so that the resulting
//! [`PyErr`] can be displayed anywhere. Every step tolerates failure: an attribute that cannot
//! be read is skipped and the secondary error cleared, never left set.

use std::collections::HashSet;

use super::{CauseKind, ExceptionKind, Frame, PyErr, PyErrInner, Raise, SyntaxLocation};
use crate::raw;
use crate::types::{Any, Interned};
use crate::{Object, Python};

/// Deepest cause chain recorded.
const MAX_CHAIN: usize = 16;
/// Most traceback entries recorded (the most recent ones are kept).
const MAX_FRAMES: usize = 256;

/// An attribute name, interned once: lookups by an interned name hit CPython's type cache,
/// where a fresh string misses it every time (and the cache keeps the last such string of
/// each slot alive).
macro_rules! attr {
    ($name:literal) => {{
        static NAME: Interned = Interned::new($name);
        &NAME
    }};
}

/// Takes the raised exception; `None` when no exception is set.
pub(crate) fn take_raised(py: Python<'_>) -> Option<Object<'_, Any>> {
    raw::take_raised(py)
}

/// Records an exception instance.
pub(crate) fn capture(value: Object<'_, Any>) -> PyErr {
    let mut seen = HashSet::new();
    capture_inner(value, 0, &mut seen)
}

fn capture_inner(value: Object<'_, Any>, depth: usize, seen: &mut HashSet<usize>) -> PyErr {
    seen.insert(value.as_ptr() as usize);
    let type_name = qualified_name(&raw::type_of(&value));
    let message =
        raw::str_quiet(&value).unwrap_or_else(|| format!("<unprintable {type_name} object>"));
    let kind = kind_of(&value);
    let frames = frames_of(&value);
    let syntax = syntax_of(&value);
    let mut cause = None;
    if depth < MAX_CHAIN {
        let explicit = getattr(&value, attr!("__cause__")).filter(|c| !c.is_none());
        let chained = match explicit {
            Some(c) => Some((CauseKind::Cause, c)),
            None => {
                let suppress = getattr(&value, attr!("__suppress_context__"))
                    .is_some_and(|s| raw::is_true_quiet(&s));
                if suppress {
                    None
                } else {
                    getattr(&value, attr!("__context__"))
                        .filter(|c| !c.is_none())
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
    let py = value.py();
    let matches = |class: Object<'_, Any>| raw::exception_matches(value, &class);
    if crate::raw::entry::is_panic_exception(value) {
        return ExceptionKind::RustPanic;
    }
    if matches(raw::exception_class!(py, PyExc_SystemExit)) {
        let code = match getattr(value, attr!("code")) {
            None => 0,
            Some(c) if c.is_none() => 0,
            Some(c) => {
                // `sys.exit("message")` exits with 1, like the interpreter.
                raw::long_quiet(&c)
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(1)
            }
        };
        ExceptionKind::SystemExit { code }
    } else if matches(raw::exception_class!(py, PyExc_KeyboardInterrupt)) {
        ExceptionKind::KeyboardInterrupt
    } else if matches(raw::exception_class!(py, PyExc_Exception)) {
        ExceptionKind::Exception
    } else {
        ExceptionKind::OtherBaseException
    }
}

fn frames_of(value: &Object<'_, Any>) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut tb = getattr(value, attr!("__traceback__"));
    while let Some(t) = tb.take() {
        if t.is_none() {
            break;
        }
        let line = getattr(&t, attr!("tb_lineno")).and_then(|l| raw::long_quiet(&l));
        let code = getattr(&t, attr!("tb_frame")).and_then(|f| getattr(&f, attr!("f_code")));
        let (file, function) = match &code {
            Some(c) => (
                getattr(c, attr!("co_filename")).and_then(|f| raw::str_quiet(&f)),
                getattr(c, attr!("co_name")).and_then(|f| raw::str_quiet(&f)),
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
        tb = getattr(&t, attr!("tb_next"));
    }
    frames
}

fn syntax_of(value: &Object<'_, Any>) -> Option<SyntaxLocation> {
    let syntax_error = raw::exception_class!(value.py(), PyExc_SyntaxError);
    if !raw::exception_matches(value, &syntax_error) {
        return None;
    }
    let field = |name: &'static Interned| getattr(value, name).filter(|v| !v.is_none());
    let number = |name: &'static Interned| {
        field(name)
            .and_then(|l| raw::long_quiet(&l))
            .and_then(|l| u32::try_from(l).ok())
    };
    Some(SyntaxLocation {
        file: field(attr!("filename"))
            .and_then(|f| raw::str_quiet(&f))
            .unwrap_or_default(),
        line: number(attr!("lineno")).unwrap_or(0),
        offset: number(attr!("offset")),
        text: field(attr!("text")).and_then(|t| raw::str_quiet(&t)),
        msg: field(attr!("msg")).and_then(|t| raw::str_quiet(&t)),
    })
}

/// `module.QualName` of a class, without the module for builtins.
pub(crate) fn qualified_name(class: &Object<'_, Any>) -> String {
    let qual = getattr(class, attr!("__qualname__")).and_then(|q| raw::str_quiet(&q));
    let module = getattr(class, attr!("__module__")).and_then(|m| raw::str_quiet(&m));
    let qual = qual.unwrap_or_else(|| "<unknown>".into());
    match module.as_deref() {
        None | Some("builtins") | Some("__main__") => qual,
        Some(m) => format!("{m}.{qual}"),
    }
}

/// The type name of an object, for messages (`int`, `collections.OrderedDict`).
pub(crate) fn type_name_of(obj: &Object<'_, Any>) -> String {
    qualified_name(&raw::type_of(obj))
}

/// `getattr(obj, name)`, `None` (with the exception cleared) when it fails.
fn getattr<'py>(obj: &Object<'py, Any>, name: &'static Interned) -> Option<Object<'py, Any>> {
    raw::getattr_quiet(obj, name.get(obj.py()))
}
