//! Call arguments: tuples of convertible values, passed through vectorcall without building a
//! Python tuple.

use std::ptr::null_mut;

use super::IntoPython;
use crate::Borrowed;
use crate::types::{Any, Dict, Str, Tuple};
use crate::{Object, Python, Result, ffi};

/// Positional arguments for [`Object::call`](crate::Object::call): `()`, `(a,)`, `(a, b)`, … up
/// to 12, or an existing tuple object.
pub trait IntoArgs<'py> {
    /// Calls `callable` with these arguments and `kwargs`.
    ///
    /// # Errors
    /// What the call raises, or a conversion failure.
    fn call(
        self,
        callable: &Object<'py, Any>,
        kwargs: Option<&Object<'py, Dict>>,
    ) -> Result<Object<'py, Any>>;

    /// Calls method `name` of `obj` with these arguments.
    ///
    /// # Errors
    /// What the call raises, or a conversion failure.
    fn call_method(
        self,
        obj: &Object<'py, Any>,
        name: Borrowed<'_, 'py, Str>,
    ) -> Result<Object<'py, Any>>;
}

/// Calls through vectorcall. `args[0]` is a free slot (callees may use it, per
/// `PY_VECTORCALL_ARGUMENTS_OFFSET`); the real arguments follow.
#[inline(always)]
fn vectorcall<'py>(
    py: Python<'py>,
    callable: *mut ffi::PyObject,
    args: &mut [*mut ffi::PyObject],
    kwargs: Option<&Object<'py, Dict>>,
) -> Result<Object<'py, Any>> {
    let n = args.len() - 1;
    // SAFETY: GIL held (token); `args[1..]` are live references owned by the caller for the
    // call; `args[0]` may be overwritten temporarily by the callee, as the offset flag allows.
    let r = unsafe {
        match kwargs {
            None => ffi::PyObject_Vectorcall(
                callable,
                args.as_mut_ptr().add(1),
                n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                null_mut(),
            ),
            Some(kw) => call_with_dict(callable, &args[1..], kw.as_ptr()),
        }
    };
    // SAFETY: the result is a new reference or NULL with an exception set.
    unsafe { Object::from_owned_ptr_or_err(py, r) }
}

/// `callable(*args, **kwargs)` with a dict of keyword arguments.
///
/// # Safety
/// GIL held; all pointers live.
unsafe fn call_with_dict(
    callable: *mut ffi::PyObject,
    args: &[*mut ffi::PyObject],
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    #[cfg(py_3_9)]
    {
        // SAFETY: forwarded to the caller.
        unsafe { ffi::PyObject_VectorcallDict(callable, args.as_ptr(), args.len(), kwargs) }
    }
    #[cfg(not(py_3_9))]
    {
        // SAFETY: forwarded to the caller; the tuple takes its own references.
        unsafe {
            let t = ffi::PyTuple_New(args.len() as ffi::Py_ssize_t);
            if t.is_null() {
                return null_mut();
            }
            for (i, a) in args.iter().enumerate() {
                ffi::PyTuple_SET_ITEM(t, i as ffi::Py_ssize_t, ffi::Py_NewRef(*a));
            }
            let r = ffi::PyObject_Call(callable, t, kwargs);
            ffi::Py_DECREF(t);
            r
        }
    }
}

/// `obj.name(*args)` through vectorcall: `args[0]` must be `obj`.
#[inline(always)]
fn vectorcall_method<'py>(
    py: Python<'py>,
    name: *mut ffi::PyObject,
    args: &mut [*mut ffi::PyObject],
) -> Result<Object<'py, Any>> {
    #[cfg(py_3_9)]
    {
        // SAFETY: GIL held; `args` are live for the call, `args[0]` being the object.
        let r = unsafe {
            ffi::PyObject_VectorcallMethod(
                name,
                args.as_mut_ptr(),
                args.len() | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                null_mut(),
            )
        };
        // SAFETY: new reference or NULL with an exception set.
        unsafe { Object::from_owned_ptr_or_err(py, r) }
    }
    #[cfg(not(py_3_9))]
    {
        // SAFETY: GIL held; `args[0]` is a live object; the method is checked.
        let m = unsafe {
            Object::<Any>::from_owned_ptr_or_err(py, ffi::PyObject_GetAttr(args[0], name))
        }?;
        let mut rest = args.to_vec();
        rest[0] = null_mut();
        vectorcall(py, m.as_ptr(), &mut rest, None)
    }
}

impl<'py> IntoArgs<'py> for () {
    #[inline]
    fn call(
        self,
        callable: &Object<'py, Any>,
        kwargs: Option<&Object<'py, Dict>>,
    ) -> Result<Object<'py, Any>> {
        match kwargs {
            None => callable.call0(),
            Some(_) => vectorcall(callable.py(), callable.as_ptr(), &mut [null_mut()], kwargs),
        }
    }

    #[inline]
    fn call_method(
        self,
        obj: &Object<'py, Any>,
        name: Borrowed<'_, 'py, Str>,
    ) -> Result<Object<'py, Any>> {
        vectorcall_method(obj.py(), name.as_ptr(), &mut [obj.as_ptr()])
    }
}

impl<'py> IntoArgs<'py> for &Object<'py, Tuple> {
    fn call(
        self,
        callable: &Object<'py, Any>,
        kwargs: Option<&Object<'py, Dict>>,
    ) -> Result<Object<'py, Any>> {
        let kw = kwargs.map_or(null_mut(), |k| k.as_ptr());
        // SAFETY: live objects, GIL held; the result is checked.
        unsafe {
            Object::from_owned_ptr_or_err(
                callable.py(),
                ffi::PyObject_Call(callable.as_ptr(), self.as_ptr(), kw),
            )
        }
    }

    fn call_method(
        self,
        obj: &Object<'py, Any>,
        name: Borrowed<'_, 'py, Str>,
    ) -> Result<Object<'py, Any>> {
        // SAFETY: live objects, GIL held; the method is checked.
        let m = unsafe {
            Object::<Any>::from_owned_ptr_or_err(
                obj.py(),
                ffi::PyObject_GetAttr(obj.as_ptr(), name.as_ptr()),
            )
        }?;
        self.call(&m, None)
    }
}

macro_rules! args {
    ($($n:literal => ($($t:ident $v:ident),+);)*) => {$(
        impl<'py, $($t: IntoPython<'py>),+> IntoArgs<'py> for ($($t,)+) {
            #[inline]
            fn call(self, callable: &Object<'py, Any>, kwargs: Option<&Object<'py, Dict>>) -> Result<Object<'py, Any>> {
                let py = callable.py();
                let ($($v,)+) = self;
                $(let $v = $v.into_python(py)?;)+
                let mut args = [null_mut(), $($v.as_ptr()),+];
                vectorcall(py, callable.as_ptr(), &mut args, kwargs)
            }

            #[inline]
            fn call_method(self, obj: &Object<'py, Any>, name: Borrowed<'_, 'py, Str>) -> Result<Object<'py, Any>> {
                let py = obj.py();
                let ($($v,)+) = self;
                $(let $v = $v.into_python(py)?;)+
                let mut args = [obj.as_ptr(), $($v.as_ptr()),+];
                vectorcall_method(py, name.as_ptr(), &mut args)
            }
        }
    )*};
}

args! {
    1 => (A a);
    2 => (A a, B b);
    3 => (A a, B b, C c);
    4 => (A a, B b, C c, D d);
    5 => (A a, B b, C c, D d, E e);
    6 => (A a, B b, C c, D d, E e, F f);
    7 => (A a, B b, C c, D d, E e, F f, G g);
    8 => (A a, B b, C c, D d, E e, F f, G g, H h);
    9 => (A a, B b, C c, D d, E e, F f, G g, H h, I i);
    10 => (A a, B b, C c, D d, E e, F f, G g, H h, I i, J j);
    11 => (A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k);
    12 => (A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l);
}
