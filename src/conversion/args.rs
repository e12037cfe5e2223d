//! Call arguments: tuples of convertible values, passed through vectorcall without building a
//! Python tuple.

use super::IntoPython;
use crate::Borrowed;
use crate::types::{Any, Dict, Str, Tuple};
use crate::{Object, Result, raw};

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

impl<'py> IntoArgs<'py> for () {
    #[inline]
    fn call(
        self,
        callable: &Object<'py, Any>,
        kwargs: Option<&Object<'py, Dict>>,
    ) -> Result<Object<'py, Any>> {
        match kwargs {
            None => callable.call0(),
            Some(_) => raw::vectorcall(callable, &mut [None], kwargs),
        }
    }

    #[inline]
    fn call_method(
        self,
        obj: &Object<'py, Any>,
        name: Borrowed<'_, 'py, Str>,
    ) -> Result<Object<'py, Any>> {
        raw::vectorcall_method(name, &mut [obj.as_borrowed()])
    }
}

impl<'py> IntoArgs<'py> for &Object<'py, Tuple> {
    fn call(
        self,
        callable: &Object<'py, Any>,
        kwargs: Option<&Object<'py, Dict>>,
    ) -> Result<Object<'py, Any>> {
        raw::call_tuple(callable, self, kwargs)
    }

    fn call_method(
        self,
        obj: &Object<'py, Any>,
        name: Borrowed<'_, 'py, Str>,
    ) -> Result<Object<'py, Any>> {
        self.call(&raw::getattr(obj, name)?, None)
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
                let mut args = [None, $(Some($v.as_borrowed())),+];
                raw::vectorcall(callable, &mut args, kwargs)
            }

            #[inline]
            fn call_method(self, obj: &Object<'py, Any>, name: Borrowed<'_, 'py, Str>) -> Result<Object<'py, Any>> {
                let py = obj.py();
                let ($($v,)+) = self;
                $(let $v = $v.into_python(py)?;)+
                let mut args = [obj.as_borrowed(), $($v.as_borrowed()),+];
                raw::vectorcall_method(name, &mut args)
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
