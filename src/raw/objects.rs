//! The object protocol, numbers, text, errors, imports and code: one safe function per C call,
//! with its error check.
//!
//! Every function takes the handles it works on (which prove the objects are alive and the GIL
//! is held for `'py`) or a [`Python`] token, and turns the C convention for failure (`NULL`,
//! `-1` with an exception set) into `Err`. They are `#[inline]`: the wrapper costs nothing over
//! the call it wraps.

use std::os::raw::c_int;
use std::ptr::{NonNull, null_mut};

use super::builtins::bytes_like;
use crate::types::{Any, Dict, Module, Str, Type};
use crate::{Borrowed, Error, Object, Python, Result, ffi};

// ---------------------------------------------------------------------------------------------
// Results of C calls

/// A new reference returned by a C call, or the exception it raised.
///
/// # Safety
/// `p` is what a C call returning a new reference to an object of type `T` (or `NULL` with an
/// exception set) returned, with the GIL held for `'py`.
#[inline(always)]
pub(crate) unsafe fn owned<'py, T>(
    py: Python<'py>,
    p: *mut ffi::PyObject,
) -> Result<Object<'py, T>> {
    // SAFETY: forwarded to the caller.
    unsafe { Object::from_owned_ptr_or_err(py, p) }
}

/// `Ok` for a C status of `0` or more, the exception for `-1`.
#[inline(always)]
pub(crate) fn status(py: Python<'_>, rc: c_int) -> Result<c_int> {
    if rc == -1 {
        Err(Error::fetch(py))
    } else {
        Ok(rc)
    }
}

/// Whether an exception is set (after a C call that returned its ambiguous error value).
#[inline(always)]
pub(crate) fn err_occurred(_py: Python<'_>) -> bool {
    // SAFETY: GIL held (token).
    !unsafe { ffi::PyErr_Occurred() }.is_null()
}

/// Drops the exception that is set, if any.
#[inline]
pub(crate) fn err_clear(_py: Python<'_>) {
    // SAFETY: GIL held (token).
    unsafe { ffi::PyErr_Clear() }
}

// ---------------------------------------------------------------------------------------------
// Singletons, types and type checks

/// `None`, `True` or `False` as a pointer, for identity comparisons.
#[inline(always)]
pub(crate) fn none_ptr() -> *mut ffi::PyObject {
    ffi::Py_None()
}

/// `True` or `False`.
#[inline(always)]
pub(crate) fn bool_ptr(v: bool) -> *mut ffi::PyObject {
    if v { ffi::Py_True() } else { ffi::Py_False() }
}

/// A new reference to `None`, `True` or `False` (never fails: they are static).
#[inline]
pub(crate) fn singleton<'py, T>(py: Python<'py>, p: *mut ffi::PyObject) -> Object<'py, T> {
    debug_assert!(p == ffi::Py_None() || p == ffi::Py_True() || p == ffi::Py_False());
    // SAFETY: the singletons live for the whole interpreter; GIL held (token).
    unsafe { Object::from_borrowed_ptr(py, NonNull::new_unchecked(p)) }
}

/// `type(obj)`.
#[inline]
pub(crate) fn type_of<'py>(obj: &Object<'py, Any>) -> Object<'py, Type> {
    // SAFETY: every live object has a live type; GIL held (handle).
    unsafe {
        Object::from_borrowed_ptr(
            obj.py(),
            NonNull::new_unchecked(ffi::Py_TYPE(obj.as_ptr()).cast()),
        )
    }
}

/// The type checks of the C API, by name: `is(obj, Check::Unicode)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    Unicode,
    Bytes,
    ByteArray,
    Long,
    LongExact,
    Float,
    FloatExact,
    Bool,
    Tuple,
    List,
    Dict,
    AnySet,
    Module,
    Type,
    Callable,
    Sequence,
    Index,
    ExceptionInstance,
    ExceptionClass,
}

/// Whether `obj` passes the C API's check `c` (`PyUnicode_Check`, ...).
#[inline(always)]
pub(crate) fn is(obj: &Object<'_, Any>, c: Check) -> bool {
    let p = obj.as_ptr();
    // SAFETY: live object, GIL held (handle).
    unsafe {
        match c {
            Check::Unicode => ffi::PyUnicode_Check(p),
            Check::Bytes => ffi::PyBytes_Check(p),
            Check::ByteArray => ffi::PyByteArray_Check(p),
            Check::Long => ffi::PyLong_Check(p),
            Check::LongExact => ffi::PyLong_CheckExact(p),
            Check::Float => ffi::PyFloat_Check(p),
            Check::FloatExact => ffi::PyFloat_CheckExact(p),
            Check::Bool => ffi::PyBool_Check(p),
            Check::Tuple => ffi::PyTuple_Check(p),
            Check::List => ffi::PyList_Check(p),
            Check::Dict => ffi::PyDict_Check(p),
            Check::AnySet => ffi::PyAnySet_Check(p),
            Check::Module => ffi::PyModule_Check(p),
            Check::Type => ffi::PyType_Check(p),
            Check::Callable => ffi::PyCallable_Check(p) != 0,
            Check::Sequence => ffi::PySequence_Check(p) != 0,
            Check::Index => ffi::PyIndex_Check(p) != 0,
            Check::ExceptionInstance => ffi::PyExceptionInstance_Check(p),
            Check::ExceptionClass => ffi::PyExceptionClass_Check(p),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attributes, items and the object protocol

/// `getattr(obj, name)`.
#[inline]
pub(crate) fn getattr<'py>(
    obj: &Object<'py, Any>,
    name: Borrowed<'_, 'py, Str>,
) -> Result<Object<'py, Any>> {
    // SAFETY: live objects, GIL held (handles); new reference or NULL.
    unsafe { owned(obj.py(), ffi::PyObject_GetAttr(obj.as_ptr(), name.as_ptr())) }
}

/// `getattr(obj, name)`, `None` (with the exception cleared) when it fails: for code that
/// must not raise while it reports another error.
#[inline]
pub(crate) fn getattr_quiet<'py>(
    obj: &Object<'py, Any>,
    name: Borrowed<'_, 'py, Str>,
) -> Option<Object<'py, Any>> {
    // SAFETY: live objects, GIL held (handles); new reference or NULL.
    let v = unsafe { ffi::PyObject_GetAttr(obj.as_ptr(), name.as_ptr()) };
    match NonNull::new(v) {
        // SAFETY: a new reference.
        Some(v) => Some(unsafe { Object::from_owned_ptr(obj.py(), v) }),
        None => {
            err_clear(obj.py());
            None
        }
    }
}

/// `setattr(obj, name, value)`, or `delattr` for `None`.
#[inline]
pub(crate) fn setattr<'py>(
    obj: &Object<'py, Any>,
    name: Borrowed<'_, 'py, Str>,
    value: Option<&Object<'py, Any>>,
) -> Result<()> {
    let v = value.map_or(null_mut(), |v| v.as_ptr());
    // SAFETY: live objects, GIL held (handles); a NULL value deletes.
    status(obj.py(), unsafe {
        ffi::PyObject_SetAttr(obj.as_ptr(), name.as_ptr(), v)
    })
    .map(drop)
}

/// `obj[key]`.
#[inline]
pub(crate) fn get_item<'py>(
    obj: &Object<'py, Any>,
    key: &Object<'py, Any>,
) -> Result<Object<'py, Any>> {
    // SAFETY: live objects, GIL held (handles).
    unsafe { owned(obj.py(), ffi::PyObject_GetItem(obj.as_ptr(), key.as_ptr())) }
}

/// `obj[key] = value`, or `del obj[key]` for `None`.
#[inline]
pub(crate) fn set_item<'py>(
    obj: &Object<'py, Any>,
    key: &Object<'py, Any>,
    value: Option<&Object<'py, Any>>,
) -> Result<()> {
    // SAFETY: live objects, GIL held (handles).
    let rc = unsafe {
        match value {
            Some(v) => ffi::PyObject_SetItem(obj.as_ptr(), key.as_ptr(), v.as_ptr()),
            None => ffi::PyObject_DelItem(obj.as_ptr(), key.as_ptr()),
        }
    };
    status(obj.py(), rc).map(drop)
}

/// `repr(obj)`.
#[inline]
pub(crate) fn repr<'py>(obj: &Object<'py, Any>) -> Result<Object<'py, Str>> {
    // SAFETY: live object, GIL held (handle); a new str or NULL.
    unsafe { owned(obj.py(), ffi::PyObject_Repr(obj.as_ptr())) }
}

/// `str(obj)`.
#[inline]
pub(crate) fn str<'py>(obj: &Object<'py, Any>) -> Result<Object<'py, Str>> {
    // SAFETY: live object, GIL held (handle); a new str or NULL.
    unsafe { owned(obj.py(), ffi::PyObject_Str(obj.as_ptr())) }
}

/// `len(obj)`.
#[inline]
pub(crate) fn len(obj: &Object<'_, Any>) -> Result<usize> {
    // SAFETY: live object, GIL held (handle).
    let n = unsafe { ffi::PyObject_Size(obj.as_ptr()) };
    if n < 0 {
        Err(Error::fetch(obj.py()))
    } else {
        Ok(n as usize)
    }
}

/// `bool(obj)`.
#[inline]
pub(crate) fn is_true(obj: &Object<'_, Any>) -> Result<bool> {
    // SAFETY: live object, GIL held (handle).
    status(obj.py(), unsafe { ffi::PyObject_IsTrue(obj.as_ptr()) }).map(|r| r == 1)
}

/// `isinstance(obj, class)`.
#[inline]
pub(crate) fn is_instance(obj: &Object<'_, Any>, class: &Object<'_, Any>) -> Result<bool> {
    // SAFETY: live objects, GIL held (handles).
    status(obj.py(), unsafe {
        ffi::PyObject_IsInstance(obj.as_ptr(), class.as_ptr())
    })
    .map(|r| r == 1)
}

/// Rich comparison with one of `ffi::Py_LT` … `ffi::Py_GE`.
#[inline]
pub(crate) fn compare(a: &Object<'_, Any>, b: &Object<'_, Any>, op: u32) -> Result<bool> {
    // SAFETY: live objects, GIL held (handles).
    status(a.py(), unsafe {
        ffi::PyObject_RichCompareBool(a.as_ptr(), b.as_ptr(), op as c_int)
    })
    .map(|r| r == 1)
}

/// `hash(obj)`.
#[inline]
pub(crate) fn hash(obj: &Object<'_, Any>) -> Result<isize> {
    // SAFETY: live object, GIL held (handle).
    let h = unsafe { ffi::PyObject_Hash(obj.as_ptr()) };
    if h == -1 {
        Err(Error::fetch(obj.py()))
    } else {
        Ok(h)
    }
}

/// `iter(obj)`.
#[inline]
pub(crate) fn iter<'py>(obj: &Object<'py, Any>) -> Result<Object<'py, Any>> {
    // SAFETY: live object, GIL held (handle).
    unsafe { owned(obj.py(), ffi::PyObject_GetIter(obj.as_ptr())) }
}

/// `next(it)`: `None` when exhausted (no exception set), `Some(Err)` when it raised.
#[inline]
pub(crate) fn iter_next<'py>(it: &Object<'py, Any>) -> Option<Result<Object<'py, Any>>> {
    let py = it.py();
    // SAFETY: live iterator, GIL held (handle).
    let v = unsafe { ffi::PyIter_Next(it.as_ptr()) };
    match NonNull::new(v) {
        // SAFETY: a new reference.
        Some(v) => Some(Ok(unsafe { Object::from_owned_ptr(py, v) })),
        None if err_occurred(py) => Some(Err(Error::fetch(py))),
        None => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Calls

/// `callable()`.
#[inline]
pub(crate) fn call0<'py>(callable: &Object<'py, Any>) -> Result<Object<'py, Any>> {
    // SAFETY: live callable, GIL held (handle).
    unsafe { owned(callable.py(), ffi::PyObject_CallNoArgs(callable.as_ptr())) }
}

/// `callable(*args, **kwargs)` with a tuple and an optional dict.
#[inline]
pub(crate) fn call_tuple<'py>(
    callable: &Object<'py, Any>,
    args: &Object<'py, crate::types::Tuple>,
    kwargs: Option<&Object<'py, Dict>>,
) -> Result<Object<'py, Any>> {
    let kw = kwargs.map_or(null_mut(), |k| k.as_ptr());
    // SAFETY: live objects, GIL held (handles).
    unsafe {
        owned(
            callable.py(),
            ffi::PyObject_Call(callable.as_ptr(), args.as_ptr(), kw),
        )
    }
}

/// `callable(*args[1..], **kwargs)` through vectorcall. `args[0]` is a free slot the callee
/// may use while the call runs (`PY_VECTORCALL_ARGUMENTS_OFFSET`); whatever it holds is
/// restored, and it is never read as an argument.
#[inline(always)]
pub(crate) fn vectorcall<'py>(
    callable: &Object<'py, Any>,
    args: &mut [Option<Borrowed<'_, 'py, Any>>],
    kwargs: Option<&Object<'py, Dict>>,
) -> Result<Object<'py, Any>> {
    debug_assert!(args[1..].iter().all(Option::is_some));
    // `Option<Borrowed>` is a nullable object pointer (a transparent NonNull).
    let ptrs = args.as_mut_ptr().cast::<*mut ffi::PyObject>();
    let n = args.len() - 1;
    // GIL held (handle); `args[1..]` are live references borrowed for the call; the
    // callee may overwrite `args[0]` temporarily, as the offset flag allows.
    // SAFETY: for the reasons above.
    let r = unsafe {
        match kwargs {
            None => ffi::PyObject_Vectorcall(
                callable.as_ptr(),
                ptrs.add(1),
                n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                null_mut(),
            ),
            Some(kw) => call_with_dict(callable.as_ptr(), ptrs.add(1), n, kw.as_ptr()),
        }
    };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { owned(callable.py(), r) }
}

/// `callable(*args, **kwargs)` with a dict of keyword arguments.
///
/// # Safety
/// GIL held; `args` points to `n` live objects; `callable` and `kwargs` are live.
unsafe fn call_with_dict(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    n: usize,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    #[cfg(py_3_9)]
    {
        // SAFETY: forwarded to the caller.
        unsafe { ffi::PyObject_VectorcallDict(callable, args, n, kwargs) }
    }
    #[cfg(not(py_3_9))]
    {
        // SAFETY: forwarded to the caller; the tuple takes its own references.
        unsafe {
            let t = ffi::PyTuple_New(n as ffi::Py_ssize_t);
            if t.is_null() {
                return null_mut();
            }
            for i in 0..n {
                ffi::PyTuple_SET_ITEM(t, i as ffi::Py_ssize_t, ffi::Py_NewRef(*args.add(i)));
            }
            let r = ffi::PyObject_Call(callable, t, kwargs);
            ffi::Py_DECREF(t);
            r
        }
    }
}

/// `args[0].name(*args[1..])` through vectorcall.
#[inline(always)]
pub(crate) fn vectorcall_method<'py>(
    name: Borrowed<'_, 'py, Str>,
    args: &mut [Borrowed<'_, 'py, Any>],
) -> Result<Object<'py, Any>> {
    #[cfg_attr(not(py_3_9), allow(unused_variables))]
    let py = name.py();
    #[cfg(py_3_9)]
    {
        // SAFETY: GIL held (handle); `args` are live for the call, `args[0]` the object.
        unsafe {
            owned(
                py,
                ffi::PyObject_VectorcallMethod(
                    name.as_ptr(),
                    args.as_mut_ptr().cast(),
                    args.len() | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                    null_mut(),
                ),
            )
        }
    }
    #[cfg(not(py_3_9))]
    {
        let method = getattr(&args[0], name)?;
        let mut rest: Vec<Option<Borrowed<'_, 'py, Any>>> =
            args.iter().copied().map(Some).collect();
        rest[0] = None;
        vectorcall(&method, &mut rest, None)
    }
}

// ---------------------------------------------------------------------------------------------
// Exceptions

/// Takes the raised exception, normalized and with its traceback attached; `None` when none
/// is set.
pub(crate) fn take_raised(py: Python<'_>) -> Option<Object<'_, Any>> {
    #[cfg(py_3_12)]
    {
        // SAFETY: GIL held (token); an owned reference or NULL.
        NonNull::new(unsafe { ffi::PyErr_GetRaisedException() })
            // SAFETY: an owned exception instance.
            .map(|v| unsafe { Object::from_owned_ptr(py, v) })
    }
    #[cfg(not(py_3_12))]
    {
        let (mut t, mut v, mut tb) = (null_mut(), null_mut(), null_mut());
        // GIL held (token). Fetch hands over owned references (or NULL); normalizing
        // turns them into an instance of the type; the traceback is attached to it and the
        // references to type and traceback released.
        // SAFETY: for the reasons above.
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

/// Raises `value`, an exception instance: it becomes the exception that is set.
pub(crate) fn set_raised(value: Object<'_, Any>) {
    debug_assert!(is(&value, Check::ExceptionInstance));
    #[cfg(py_3_12)]
    // SAFETY: GIL held (handle); SetRaisedException steals the reference.
    unsafe {
        ffi::PyErr_SetRaisedException(value.into_ptr())
    };
    #[cfg(not(py_3_12))]
    // SAFETY: GIL held (handle); Restore steals the three references it is given.
    unsafe {
        let ty = ffi::Py_TYPE(value.as_ptr()).cast::<ffi::PyObject>();
        ffi::Py_INCREF(ty);
        let tb = ffi::PyException_GetTraceback(value.as_ptr());
        ffi::PyErr_Restore(ty, value.into_ptr(), tb);
    }
}

/// `str(obj)` as text, with what cannot be encoded replaced; `None` (the exception
/// cleared) when `str` fails. For code that must not raise while it reports another error.
pub(crate) fn str_quiet(obj: &Object<'_, Any>) -> Option<String> {
    let py = obj.py();
    // SAFETY: live object, GIL held (handle); every result is checked, every failure cleared.
    unsafe {
        let s = ffi::PyObject_Str(obj.as_ptr());
        if s.is_null() {
            err_clear(py);
            return None;
        }
        let s = Object::<Any>::from_owned_ptr(py, NonNull::new_unchecked(s));
        let mut len: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len);
        if !data.is_null() {
            let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len as usize);
            return Some(String::from_utf8_lossy(bytes).into_owned());
        }
        err_clear(py);
        // Surrogates and the like: replace what cannot be encoded.
        let b = ffi::PyUnicode_AsEncodedString(
            s.as_ptr(),
            c"utf-8".as_ptr(),
            c"backslashreplace".as_ptr(),
        );
        if b.is_null() {
            err_clear(py);
            return None;
        }
        let b = Object::<Any>::from_owned_ptr(py, NonNull::new_unchecked(b));
        Some(String::from_utf8_lossy(bytes_like(&b).unwrap_or_default()).into_owned())
    }
}

/// An int's value; `None` (the exception cleared) when it is not one or does not fit.
pub(crate) fn long_quiet(obj: &Object<'_, Any>) -> Option<i64> {
    // SAFETY: live object, GIL held (handle).
    let n = unsafe { ffi::PyLong_AsLongLong(obj.as_ptr()) };
    if n == -1 && err_occurred(obj.py()) {
        err_clear(obj.py());
        return None;
    }
    Some(n)
}

/// `bool(obj)`; `false` (the exception cleared) when it raises.
pub(crate) fn is_true_quiet(obj: &Object<'_, Any>) -> bool {
    // SAFETY: live object, GIL held (handle).
    match unsafe { ffi::PyObject_IsTrue(obj.as_ptr()) } {
        1 => true,
        0 => false,
        _ => {
            err_clear(obj.py());
            false
        }
    }
}

/// Whether exception instance (or class) `exc` matches `class` (a class or tuple of classes).
#[inline]
pub(crate) fn exception_matches(exc: &Object<'_, Any>, class: &Object<'_, Any>) -> bool {
    // SAFETY: live objects, GIL held (handles).
    unsafe { ffi::PyErr_GivenExceptionMatches(exc.as_ptr(), class.as_ptr()) != 0 }
}

/// Sets `value.__cause__` (`explicit`) or `value.__context__`.
pub(crate) fn exception_set_cause(value: &Object<'_, Any>, cause: Object<'_, Any>, explicit: bool) {
    // SAFETY: live exception instances (handles); both setters steal the reference.
    unsafe {
        if explicit {
            ffi::PyException_SetCause(value.as_ptr(), cause.into_ptr())
        } else {
            ffi::PyException_SetContext(value.as_ptr(), cause.into_ptr())
        }
    }
}

/// A new exception class `module.Name` deriving from `base`.
pub(crate) fn new_exception_class<'py>(
    base: &Object<'py, Any>,
    name: &std::ffi::CStr,
    doc: &std::ffi::CStr,
) -> Result<Object<'py, Any>> {
    // SAFETY: GIL held (handle); the C strings are NUL-terminated and copied; new reference.
    unsafe {
        owned(
            base.py(),
            ffi::PyErr_NewExceptionWithDoc(name.as_ptr(), doc.as_ptr(), base.as_ptr(), null_mut()),
        )
    }
}

/// libpython's builtin exception class `ffi::PyExc_<Name>`, as a new reference:
/// `raw::exception_class!(py, PyExc_TypeError)`.
macro_rules! exception_class {
    ($py:expr, $name:ident) => {
        // `ffi::$name` is one of libpython's `PyExc_*` statics, set to a class at
        // initialization (before any pyhost code runs) and never changed; the class lives as
        // long as the interpreter, whose GIL the token proves held.
        // SAFETY: for the reasons above.
        unsafe { $crate::raw::class_from_static($py, $crate::ffi::$name) }
    };
}
pub(crate) use exception_class;

/// A class held by one of libpython's statics, as a new reference.
///
/// # Safety
/// `class` is the value of a `PyExc_*` static (a live class for the interpreter's life).
#[inline]
pub(crate) unsafe fn class_from_static<'py>(
    py: Python<'py>,
    class: *mut ffi::PyObject,
) -> Object<'py, Any> {
    // SAFETY: a live class (caller); GIL held (token).
    unsafe { Object::from_borrowed_ptr(py, NonNull::new_unchecked(class)) }
}

// ---------------------------------------------------------------------------------------------
// Threads: identities and asynchronous exceptions

/// The Python thread identifier of the calling thread (`threading.get_ident()`).
pub(crate) fn thread_ident() -> u64 {
    // SAFETY: no precondition.
    unsafe { ffi::PyThread_get_thread_ident() as u64 }
}

/// Schedules `exc` (a class) to be raised in the thread `ident` at its next check, or
/// cancels a pending one (`None`). Returns how many thread states were changed.
pub(crate) fn set_async_exc(py: Python<'_>, ident: u64, exc: Option<&Object<'_, Any>>) -> usize {
    let _ = py;
    let e = exc.map_or(null_mut(), |e| e.as_ptr());
    // SAFETY: GIL held (token); `e` is NULL or a live class kept alive by the caller.
    unsafe { ffi::PyThreadState_SetAsyncExc(ident as _, e) as usize }
}

// ---------------------------------------------------------------------------------------------
// Imports and code

/// `import name` (the leaf module).
pub(crate) fn import<'py>(name: &Object<'py, Str>) -> Result<Object<'py, Module>> {
    // SAFETY: GIL held (handle).
    unsafe { owned(name.py(), ffi::PyImport_Import(name.as_ptr())) }
}

/// `importlib.reload(module)`.
pub(crate) fn reload<'py>(module: &Object<'py, Module>) -> Result<Object<'py, Module>> {
    // SAFETY: live module, GIL held (handle).
    unsafe { owned(module.py(), ffi::PyImport_ReloadModule(module.as_ptr())) }
}

/// A new, empty module object.
pub(crate) fn module_new<'py>(name: &Object<'py, Str>) -> Result<Object<'py, Module>> {
    // SAFETY: GIL held (handle).
    unsafe { owned(name.py(), ffi::PyModule_NewObject(name.as_ptr())) }
}

/// A module's `__dict__`, borrowed from it.
pub(crate) fn module_dict<'a, 'py>(module: &'a Object<'py, Module>) -> Borrowed<'a, 'py, Dict> {
    // A live module (handle); GetDict returns its dict, borrowed, never NULL for a
    // module object.
    // SAFETY: for the reasons above.
    unsafe {
        Borrowed::from_ptr(
            module.py(),
            NonNull::new_unchecked(ffi::PyModule_GetDict(module.as_ptr())),
        )
    }
}

/// Compiles source into a code object.
pub(crate) fn compile<'py>(
    py: Python<'py>,
    source: &std::ffi::CStr,
    filename: &std::ffi::CStr,
    start: c_int,
) -> Result<Object<'py, Any>> {
    // SAFETY: GIL held (token); both strings outlive the call.
    unsafe {
        owned(
            py,
            ffi::Py_CompileStringExFlags(source.as_ptr(), filename.as_ptr(), start, null_mut(), -1),
        )
    }
}

/// Runs a code object with these globals and locals.
pub(crate) fn eval_code<'py>(
    code: &Object<'py, Any>,
    globals: &Object<'py, Dict>,
    locals: &Object<'py, Any>,
) -> Result<Object<'py, Any>> {
    // SAFETY: GIL held; live code object and mappings (handles).
    unsafe {
        owned(
            code.py(),
            ffi::PyEval_EvalCode(code.as_ptr(), globals.as_ptr(), locals.as_ptr()),
        )
    }
}
