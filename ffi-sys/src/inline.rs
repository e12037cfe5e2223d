//! Rust versions of the hot C-API macros and `static inline` functions, so that reference
//! counting, type checks and tuple/list item access cost no function call.
//!
//! Each follows the header of the version it is compiled for: 3.12 made some objects immortal
//! (their count is never changed), 3.14 moved the count to 32 bits next to flags, debug builds
//! count every reference in a global total, and free-threaded builds split the count, so those
//! two call the exported functions instead. The tests in `tests/raw.rs` compare every function
//! here with the C macro it mirrors (`pyhost_sys_shim_*`), on every version.

#![allow(non_snake_case)]

use std::os::raw::{c_int, c_ulong};

use crate::bindings::{
    _Py_EllipsisObject, _Py_FalseStruct, _Py_NoneStruct, _Py_NotImplementedStruct, _Py_TrueStruct,
    Py_TPFLAGS_BASE_EXC_SUBCLASS, Py_TPFLAGS_BYTES_SUBCLASS, Py_TPFLAGS_DICT_SUBCLASS,
    Py_TPFLAGS_LIST_SUBCLASS, Py_TPFLAGS_LONG_SUBCLASS, Py_TPFLAGS_TUPLE_SUBCLASS,
    Py_TPFLAGS_TYPE_SUBCLASS, Py_TPFLAGS_UNICODE_SUBCLASS, Py_ssize_t, PyBool_Type,
    PyByteArray_Type, PyBytes_Type, PyBytesObject, PyDict_Type, PyFloat_Type, PyFloatObject,
    PyFrozenSet_Type, PyList_Type, PyListObject, PyLong_Type, PyModule_Type, PyObject, PySet_Type,
    PyTuple_Type, PyTupleObject, PyType_IsSubtype, PyTypeObject, PyUnicode_Type, PyVarObject,
};

// ---------------------------------------------------------------------------------------------
// Singletons

/// `Py_None`: a borrowed reference to `None`.
#[inline(always)]
pub fn Py_None() -> *mut PyObject {
    // Taking the address of an extern static reads nothing: safe.
    &raw mut _Py_NoneStruct
}

/// `Py_True`: a borrowed reference to `True`.
#[inline(always)]
pub fn Py_True() -> *mut PyObject {
    // Taking the address of an extern static reads nothing: safe.
    (&raw mut _Py_TrueStruct).cast()
}

/// `Py_False`: a borrowed reference to `False`.
#[inline(always)]
pub fn Py_False() -> *mut PyObject {
    // Taking the address of an extern static reads nothing: safe.
    (&raw mut _Py_FalseStruct).cast()
}

/// `Py_NotImplemented`: a borrowed reference to `NotImplemented`.
#[inline(always)]
pub fn Py_NotImplemented() -> *mut PyObject {
    // Taking the address of an extern static reads nothing: safe.
    &raw mut _Py_NotImplementedStruct
}

/// `Py_Ellipsis`: a borrowed reference to `...`.
#[inline(always)]
pub fn Py_Ellipsis() -> *mut PyObject {
    // Taking the address of an extern static reads nothing: safe.
    &raw mut _Py_EllipsisObject
}

// ---------------------------------------------------------------------------------------------
// Object header
//
// The field paths come from the bindings being compiled: pyhost-sys's build script reads the
// `PyObject` declaration and writes one accessor per field (`fields::ob_refcnt(op)` ...), and
// picks the counting rules (`pyhost_refcnt`) from the version and the fields it found
// (`pyhost_build::object_model`). Debug builds (`Py_REF_DEBUG`) and headers the build script
// does not know call libpython's functions instead.

/// The `PyObject` field accessors the build script wrote.
mod fields {
    #[allow(unused_imports)]
    use crate::bindings::*;
    include!(concat!(env!("OUT_DIR"), "/object_fields.rs"));
}

/// Where 3.14+ stops incrementing on 64-bit targets: `_Py_IMMORTAL_INITIAL_REFCNT`.
#[cfg(all(not(py_debug), pyhost_refcnt = "low32"))]
const IMMORTAL_INITIAL: u32 = 3 << 30;

/// 3.12-3.13 on 32-bit targets: `_Py_IMMORTAL_REFCNT`.
#[cfg(pyhost_refcnt = "imm32_exact")]
const IMMORTAL_EXACT: Py_ssize_t = (u32::MAX >> 2) as Py_ssize_t;

/// 3.14+ on 32-bit targets: `_Py_IMMORTAL_MINIMUM_REFCNT`.
#[cfg(pyhost_refcnt = "imm32_min")]
const IMMORTAL_MINIMUM: Py_ssize_t = 1 << 30;

/// The 32-bit half of a 3.12-3.13 count that saturates (`ob_refcnt_split[PY_BIG_ENDIAN]`).
///
/// # Safety
/// `op` points to a live object.
#[cfg(pyhost_refcnt = "split")]
#[inline(always)]
unsafe fn low_half(op: *mut PyObject) -> *mut u32 {
    // SAFETY: `op` is live (caller); the split view aliases the count.
    unsafe {
        fields::ob_refcnt_split(op)
            .cast::<u32>()
            .add(usize::from(cfg!(target_endian = "big")))
    }
}

/// `Py_REFCNT(op)`.
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn Py_REFCNT(op: *mut PyObject) -> Py_ssize_t {
    #[cfg(pyhost_refcnt = "functions")]
    {
        // SAFETY: `op` is live (caller).
        unsafe { crate::bindings::pyhost_sys_shim_Py_REFCNT(op) }
    }
    #[cfg(not(pyhost_refcnt = "functions"))]
    {
        // `op` is live (caller); the field holds the count (3.14+: its low 32 bits, which is
        // what the C macro returns).
        #[allow(clippy::unnecessary_cast)]
        // SAFETY: for the reasons above.
        unsafe {
            *fields::ob_refcnt(op) as Py_ssize_t
        }
    }
}

/// `_Py_IsImmortal(op)`: whether the object's count is never changed (3.12+; always false
/// before).
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn Py_IsImmortal(op: *mut PyObject) -> bool {
    #[cfg(pyhost_refcnt = "plain")]
    {
        let _ = op;
        false
    }
    #[cfg(pyhost_refcnt = "split")]
    {
        // SAFETY: `op` is live (caller).
        unsafe { (*low_half(op) as i32) < 0 }
    }
    #[cfg(pyhost_refcnt = "low32")]
    {
        // SAFETY: `op` is live (caller).
        unsafe { (*fields::ob_refcnt(op) as i32) < 0 }
    }
    #[cfg(pyhost_refcnt = "imm32_exact")]
    {
        // SAFETY: `op` is live (caller).
        unsafe { *fields::ob_refcnt(op) == IMMORTAL_EXACT }
    }
    #[cfg(pyhost_refcnt = "imm32_min")]
    {
        // SAFETY: `op` is live (caller).
        unsafe { *fields::ob_refcnt(op) >= IMMORTAL_MINIMUM }
    }
    #[cfg(pyhost_refcnt = "functions")]
    {
        // SAFETY: `op` is live (caller).
        unsafe { crate::bindings::pyhost_sys_shim_Py_IsImmortal(op) != 0 }
    }
}

/// `Py_INCREF(op)`.
///
/// # Safety
/// `op` points to a live object and the GIL is held.
#[inline(always)]
pub unsafe fn Py_INCREF(op: *mut PyObject) {
    #[cfg(any(py_debug, pyhost_refcnt = "functions"))]
    {
        // SAFETY: `op` is live and the GIL held (caller).
        unsafe { crate::bindings::Py_IncRef(op) }
    }
    #[cfg(all(not(py_debug), pyhost_refcnt = "plain"))]
    {
        // SAFETY: `op` is live and the GIL held (caller).
        unsafe { *fields::ob_refcnt(op) += 1 }
    }
    #[cfg(all(not(py_debug), pyhost_refcnt = "split"))]
    {
        // The low half saturates: an immortal object has it all set and is left alone.
        // SAFETY: `op` is live and the GIL held (caller).
        unsafe {
            let low = low_half(op);
            let new = (*low).wrapping_add(1);
            if new != 0 {
                *low = new;
            }
        }
    }
    #[cfg(all(not(py_debug), pyhost_refcnt = "low32"))]
    {
        // SAFETY: `op` is live and the GIL held (caller).
        unsafe {
            let rc = fields::ob_refcnt(op);
            let cur = *rc;
            if cur < IMMORTAL_INITIAL {
                *rc = cur + 1;
            }
        }
    }
    #[cfg(all(
        not(py_debug),
        any(pyhost_refcnt = "imm32_exact", pyhost_refcnt = "imm32_min")
    ))]
    {
        // SAFETY: `op` is live and the GIL held (caller).
        unsafe {
            if !Py_IsImmortal(op) {
                *fields::ob_refcnt(op) += 1;
            }
        }
    }
}

/// `Py_DECREF(op)`: deallocates the object when its count reaches zero.
///
/// # Safety
/// `op` points to a live object whose reference the caller owns, and the GIL is held.
#[inline(always)]
pub unsafe fn Py_DECREF(op: *mut PyObject) {
    #[cfg(any(py_debug, pyhost_refcnt = "functions"))]
    {
        // SAFETY: the caller owns a reference to `op` and holds the GIL.
        unsafe { crate::bindings::Py_DecRef(op) }
    }
    #[cfg(not(any(py_debug, pyhost_refcnt = "functions")))]
    {
        // The caller owns a reference to `op` and holds the GIL. The field is the one
        // the C macro decrements: the whole count, or (3.14+) its low 32 bits.
        // SAFETY: for the reasons above.
        unsafe {
            if Py_IsImmortal(op) {
                return;
            }
            let rc = fields::ob_refcnt(op);
            *rc -= 1;
            if *rc == 0 {
                crate::bindings::_Py_Dealloc(op);
            }
        }
    }
}

/// `Py_XINCREF(op)`: [`Py_INCREF`] unless `op` is null.
///
/// # Safety
/// `op` is null or points to a live object; the GIL is held.
#[inline(always)]
pub unsafe fn Py_XINCREF(op: *mut PyObject) {
    if !op.is_null() {
        // SAFETY: non-null and live (caller).
        unsafe { Py_INCREF(op) }
    }
}

/// `Py_XDECREF(op)`: [`Py_DECREF`] unless `op` is null.
///
/// # Safety
/// `op` is null or a live object whose reference the caller owns; the GIL is held.
#[inline(always)]
pub unsafe fn Py_XDECREF(op: *mut PyObject) {
    if !op.is_null() {
        // SAFETY: non-null, owned, GIL held (caller).
        unsafe { Py_DECREF(op) }
    }
}

/// `Py_NewRef(op)`: increments and returns `op`.
///
/// # Safety
/// As [`Py_INCREF`].
#[inline(always)]
pub unsafe fn Py_NewRef(op: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarded to the caller.
    unsafe { Py_INCREF(op) };
    op
}

/// `Py_TYPE(op)`.
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn Py_TYPE(op: *mut PyObject) -> *mut PyTypeObject {
    // SAFETY: `op` is live (caller); the accessor is the field the bindings declare.
    unsafe { *fields::ob_type(op) }
}

/// `Py_SIZE(op)`.
///
/// # Safety
/// `op` points to a live variable-size object.
#[inline(always)]
pub unsafe fn Py_SIZE(op: *mut PyObject) -> Py_ssize_t {
    // SAFETY: `op` is a live PyVarObject (caller).
    unsafe { (*op.cast::<PyVarObject>()).ob_size }
}

/// `Py_IS_TYPE(op, tp)`.
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn Py_IS_TYPE(op: *mut PyObject, tp: *mut PyTypeObject) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { Py_TYPE(op) == tp }
}

// ---------------------------------------------------------------------------------------------
// Tuples and lists

/// `PyTuple_GET_ITEM(op, i)`: a borrowed reference, no bounds check.
///
/// # Safety
/// `op` is a live tuple and `0 <= i < len`.
#[inline(always)]
pub unsafe fn PyTuple_GET_ITEM(op: *mut PyObject, i: Py_ssize_t) -> *mut PyObject {
    // `op` is a tuple with more than `i` items (caller); the item array runs past the
    // declared length of one, inside the same allocation.
    // SAFETY: for the reasons above.
    unsafe {
        *(&raw mut (*op.cast::<PyTupleObject>()).ob_item)
            .cast::<*mut PyObject>()
            .offset(i)
    }
}

/// `PyTuple_SET_ITEM(op, i, v)`: steals `v`, does not release the previous item.
///
/// # Safety
/// `op` is a live tuple, `0 <= i < len`, and the caller owns a reference to `v`.
#[inline(always)]
pub unsafe fn PyTuple_SET_ITEM(op: *mut PyObject, i: Py_ssize_t, v: *mut PyObject) {
    // SAFETY: as PyTuple_GET_ITEM.
    unsafe {
        *(&raw mut (*op.cast::<PyTupleObject>()).ob_item)
            .cast::<*mut PyObject>()
            .offset(i) = v;
    }
}

/// `PyTuple_GET_SIZE(op)`.
///
/// # Safety
/// `op` is a live tuple.
#[inline(always)]
pub unsafe fn PyTuple_GET_SIZE(op: *mut PyObject) -> Py_ssize_t {
    // SAFETY: forwarded to the caller.
    unsafe { Py_SIZE(op) }
}

/// `PyList_GET_ITEM(op, i)`: a borrowed reference, no bounds check.
///
/// # Safety
/// `op` is a live list and `0 <= i < len`.
#[inline(always)]
pub unsafe fn PyList_GET_ITEM(op: *mut PyObject, i: Py_ssize_t) -> *mut PyObject {
    // SAFETY: `op` is a list with more than `i` items (caller).
    unsafe { *(*op.cast::<PyListObject>()).ob_item.offset(i) }
}

/// `PyList_SET_ITEM(op, i, v)`: steals `v`, does not release the previous item.
///
/// # Safety
/// `op` is a live list, `0 <= i < len`, and the caller owns a reference to `v`.
#[inline(always)]
pub unsafe fn PyList_SET_ITEM(op: *mut PyObject, i: Py_ssize_t, v: *mut PyObject) {
    // SAFETY: as PyList_GET_ITEM.
    unsafe { *(*op.cast::<PyListObject>()).ob_item.offset(i) = v }
}

/// `PyList_GET_SIZE(op)`.
///
/// # Safety
/// `op` is a live list.
#[inline(always)]
pub unsafe fn PyList_GET_SIZE(op: *mut PyObject) -> Py_ssize_t {
    // SAFETY: forwarded to the caller.
    unsafe { Py_SIZE(op) }
}

// ---------------------------------------------------------------------------------------------
// Scalars

/// `PyFloat_AS_DOUBLE(op)`.
///
/// # Safety
/// `op` is a live float.
#[inline(always)]
pub unsafe fn PyFloat_AS_DOUBLE(op: *mut PyObject) -> f64 {
    // SAFETY: `op` is a float (caller).
    unsafe { (*op.cast::<PyFloatObject>()).ob_fval }
}

/// `PyBytes_AS_STRING(op)`: the buffer, NUL-terminated.
///
/// # Safety
/// `op` is a live bytes object.
#[inline(always)]
pub unsafe fn PyBytes_AS_STRING(op: *mut PyObject) -> *mut std::os::raw::c_char {
    // SAFETY: `op` is bytes (caller); the buffer runs past the declared length of one.
    unsafe { (&raw mut (*op.cast::<PyBytesObject>()).ob_sval).cast() }
}

/// `PyBytes_GET_SIZE(op)`.
///
/// # Safety
/// `op` is a live bytes object.
#[inline(always)]
pub unsafe fn PyBytes_GET_SIZE(op: *mut PyObject) -> Py_ssize_t {
    // SAFETY: forwarded to the caller.
    unsafe { Py_SIZE(op) }
}

/// `PyUnicode_IS_COMPACT_ASCII(op)`: whether the text of a str is ASCII stored right after its
/// header, where it is also its UTF-8. Always false with the limited API, which hides the
/// layout.
///
/// # Safety
/// `op` is a live str.
#[inline(always)]
pub unsafe fn PyUnicode_IS_COMPACT_ASCII(op: *mut PyObject) -> bool {
    #[cfg(py_limited_api)]
    {
        let _ = op;
        false
    }
    #[cfg(not(py_limited_api))]
    {
        // SAFETY: `op` is a str (caller), so it starts with a `PyASCIIObject`.
        let state = unsafe { &(*op.cast::<crate::bindings::PyASCIIObject>()).state };
        state.compact() != 0 && state.ascii() != 0
    }
}

/// The text of a compact ASCII str and its length in bytes (`_PyUnicode_COMPACT_DATA` and
/// `PyUnicode_GET_LENGTH`): what `PyUnicode_AsUTF8AndSize` returns for it, without the call.
///
/// # Safety
/// `op` is a live str for which [`PyUnicode_IS_COMPACT_ASCII`] holds.
#[cfg(not(py_limited_api))]
#[inline(always)]
pub unsafe fn compact_ascii_text(op: *mut PyObject) -> (*const u8, Py_ssize_t) {
    let ascii = op.cast::<crate::bindings::PyASCIIObject>();
    // A compact ASCII str (caller): its bytes follow the header, `length` of them and a NUL.
    // SAFETY: for the reason above.
    unsafe { (ascii.add(1).cast::<u8>().cast_const(), (*ascii).length) }
}

// ---------------------------------------------------------------------------------------------
// Type checks

/// The `tp_flags` of a type.
///
/// # Safety
/// `tp` is a live type object.
#[inline(always)]
pub unsafe fn type_flags(tp: *mut PyTypeObject) -> c_ulong {
    #[cfg(py_limited_api)]
    {
        // SAFETY: `tp` is a live type (caller).
        unsafe { crate::bindings::PyType_GetFlags(tp) }
    }
    #[cfg(not(py_limited_api))]
    {
        // SAFETY: `tp` is a live type (caller).
        unsafe { (*tp).tp_flags as c_ulong }
    }
}

/// `PyType_HasFeature(tp, flag)`.
///
/// # Safety
/// `tp` is a live type object.
#[inline(always)]
pub unsafe fn PyType_HasFeature(tp: *mut PyTypeObject, flag: c_ulong) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { type_flags(tp) & flag != 0 }
}

/// `PyType_FastSubclass(tp, flag)`.
///
/// # Safety
/// `tp` is a live type object.
#[inline(always)]
pub unsafe fn PyType_FastSubclass(tp: *mut PyTypeObject, flag: c_ulong) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { PyType_HasFeature(tp, flag) }
}

/// `PyObject_TypeCheck(op, tp)`: `op` is an instance of `tp` or of a subclass.
///
/// # Safety
/// `op` and `tp` are live; the GIL is held.
#[inline(always)]
pub unsafe fn PyObject_TypeCheck(op: *mut PyObject, tp: *mut PyTypeObject) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { Py_IS_TYPE(op, tp) || PyType_IsSubtype(Py_TYPE(op), tp) != 0 }
}

macro_rules! flag_checks {
    ($($check:ident, $exact:ident, $flag:ident, $type:ident;)*) => {$(
        #[doc = concat!("`", stringify!($check), "(op)`: an instance of the type or a subclass.")]
        ///
        /// # Safety
        /// `op` points to a live object.
        #[inline(always)]
        pub unsafe fn $check(op: *mut PyObject) -> bool {
            // SAFETY: forwarded to the caller.
            unsafe { PyType_FastSubclass(Py_TYPE(op), $flag as c_ulong) }
        }

        #[doc = concat!("`", stringify!($exact), "(op)`: exactly the type, not a subclass.")]
        ///
        /// # Safety
        /// `op` points to a live object.
        #[inline(always)]
        pub unsafe fn $exact(op: *mut PyObject) -> bool {
            // SAFETY: forwarded to the caller; taking a static's address reads nothing.
            unsafe { Py_IS_TYPE(op, &raw mut $type) }
        }
    )*};
}

flag_checks! {
    PyLong_Check, PyLong_CheckExact, Py_TPFLAGS_LONG_SUBCLASS, PyLong_Type;
    PyUnicode_Check, PyUnicode_CheckExact, Py_TPFLAGS_UNICODE_SUBCLASS, PyUnicode_Type;
    PyBytes_Check, PyBytes_CheckExact, Py_TPFLAGS_BYTES_SUBCLASS, PyBytes_Type;
    PyTuple_Check, PyTuple_CheckExact, Py_TPFLAGS_TUPLE_SUBCLASS, PyTuple_Type;
    PyList_Check, PyList_CheckExact, Py_TPFLAGS_LIST_SUBCLASS, PyList_Type;
    PyDict_Check, PyDict_CheckExact, Py_TPFLAGS_DICT_SUBCLASS, PyDict_Type;
}

/// `PyType_Check(op)`: `op` is a type object.
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn PyType_Check(op: *mut PyObject) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { PyType_FastSubclass(Py_TYPE(op), Py_TPFLAGS_TYPE_SUBCLASS as c_ulong) }
}

/// `PyExceptionInstance_Check(op)`: `op` is an exception (a `BaseException` instance).
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn PyExceptionInstance_Check(op: *mut PyObject) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { PyType_FastSubclass(Py_TYPE(op), Py_TPFLAGS_BASE_EXC_SUBCLASS as c_ulong) }
}

/// `PyExceptionClass_Check(op)`: `op` is an exception class.
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn PyExceptionClass_Check(op: *mut PyObject) -> bool {
    // SAFETY: forwarded to the caller; a type object is a PyTypeObject.
    unsafe {
        PyType_Check(op) && PyType_FastSubclass(op.cast(), Py_TPFLAGS_BASE_EXC_SUBCLASS as c_ulong)
    }
}

macro_rules! type_checks {
    ($($check:ident, $exact:ident, $type:ident;)*) => {$(
        #[doc = concat!("`", stringify!($check), "(op)`: an instance of the type or a subclass.")]
        ///
        /// # Safety
        /// `op` points to a live object; the GIL is held.
        #[inline(always)]
        pub unsafe fn $check(op: *mut PyObject) -> bool {
            // SAFETY: forwarded to the caller.
            unsafe { PyObject_TypeCheck(op, &raw mut $type) }
        }

        #[doc = concat!("`", stringify!($exact), "(op)`: exactly the type, not a subclass.")]
        ///
        /// # Safety
        /// `op` points to a live object.
        #[inline(always)]
        pub unsafe fn $exact(op: *mut PyObject) -> bool {
            // SAFETY: forwarded to the caller.
            unsafe { Py_IS_TYPE(op, &raw mut $type) }
        }
    )*};
}

type_checks! {
    PyFloat_Check, PyFloat_CheckExact, PyFloat_Type;
    PyModule_Check, PyModule_CheckExact, PyModule_Type;
    PyByteArray_Check, PyByteArray_CheckExact, PyByteArray_Type;
    PySet_Check, PySet_CheckExact, PySet_Type;
    PyFrozenSet_Check, PyFrozenSet_CheckExact, PyFrozenSet_Type;
}

/// `PyBool_Check(op)` (bool cannot be subclassed).
///
/// # Safety
/// `op` points to a live object.
#[inline(always)]
pub unsafe fn PyBool_Check(op: *mut PyObject) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { Py_IS_TYPE(op, &raw mut PyBool_Type) }
}

/// `PyAnySet_Check(op)`: a set or frozenset, or a subclass of either.
///
/// # Safety
/// `op` points to a live object; the GIL is held.
#[inline(always)]
pub unsafe fn PyAnySet_Check(op: *mut PyObject) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { PySet_Check(op) || PyFrozenSet_Check(op) }
}

/// The C convention for a check's result, for code that passes them on to C.
#[inline(always)]
pub fn c_bool(b: bool) -> c_int {
    b as c_int
}
