//! Python exception classes, for raising errors from Rust.

use std::fmt;

use crate::raw::{self, Check};
use crate::{Object, Python, Unbound, types::Any};

macro_rules! exception_types {
    ($($name:ident => $ptr:ident, $doc:literal;)*) => {
        /// A Python exception class: a builtin one, or any class (`Custom`).
        ///
        /// ```
        /// # pyhost::initialize_once().unwrap();
        /// use pyhost::{ExceptionType, PyErr};
        /// let err = PyErr::new(ExceptionType::ValueError, "bad port: 99999");
        /// assert_eq!(err.to_string(), "ValueError: bad port: 99999");
        /// ```
        #[derive(Clone)]
        #[non_exhaustive]
        pub enum ExceptionType {
            $(#[doc = $doc] $name,)*
            /// Any exception class, for example one defined in Python or by a Rust module.
            Custom(std::sync::Arc<CustomClass>),
        }

        impl ExceptionType {
            /// The class as a Python object.
            pub fn to_object<'py>(&self, py: Python<'py>) -> Object<'py, Any> {
                match self {
                    $(ExceptionType::$name => raw::exception_class!(py, $ptr),)*
                    // A class of another interpreter: the nearest class that exists here.
                    ExceptionType::Custom(c) => match c.class.try_bind(py) {
                        Ok(class) => class.to_owned(),
                        Err(_) => raw::exception_class!(py, PyExc_Exception),
                    },
                }
            }

            /// The builtin exception class of this name, if there is one.
            pub(crate) fn builtin_named(name: &str) -> Option<ExceptionType> {
                match name {
                    $(stringify!($name) => Some(ExceptionType::$name),)*
                    _ => None,
                }
            }

            /// The class name as Python prints it.
            pub fn name(&self) -> String {
                match self {
                    $(ExceptionType::$name => stringify!($name).to_owned(),)*
                    ExceptionType::Custom(c) => c.name.clone(),
                }
            }
        }
    };
}

exception_types! {
    BaseException => PyExc_BaseException, "`BaseException`.";
    Exception => PyExc_Exception, "`Exception`.";
    ArithmeticError => PyExc_ArithmeticError, "`ArithmeticError`.";
    AssertionError => PyExc_AssertionError, "`AssertionError`.";
    AttributeError => PyExc_AttributeError, "`AttributeError`.";
    BufferError => PyExc_BufferError, "`BufferError`.";
    ConnectionError => PyExc_ConnectionError, "`ConnectionError`.";
    EOFError => PyExc_EOFError, "`EOFError`.";
    FileExistsError => PyExc_FileExistsError, "`FileExistsError`.";
    FileNotFoundError => PyExc_FileNotFoundError, "`FileNotFoundError`.";
    ImportError => PyExc_ImportError, "`ImportError`.";
    IndexError => PyExc_IndexError, "`IndexError`.";
    InterruptedError => PyExc_InterruptedError, "`InterruptedError`.";
    KeyError => PyExc_KeyError, "`KeyError`.";
    KeyboardInterrupt => PyExc_KeyboardInterrupt, "`KeyboardInterrupt`.";
    LookupError => PyExc_LookupError, "`LookupError`.";
    MemoryError => PyExc_MemoryError, "`MemoryError`.";
    ModuleNotFoundError => PyExc_ModuleNotFoundError, "`ModuleNotFoundError`.";
    NotImplementedError => PyExc_NotImplementedError, "`NotImplementedError`.";
    OSError => PyExc_OSError, "`OSError`.";
    OverflowError => PyExc_OverflowError, "`OverflowError`.";
    PermissionError => PyExc_PermissionError, "`PermissionError`.";
    RuntimeError => PyExc_RuntimeError, "`RuntimeError`.";
    StopIteration => PyExc_StopIteration, "`StopIteration`.";
    SystemError => PyExc_SystemError, "`SystemError`.";
    SystemExit => PyExc_SystemExit, "`SystemExit`.";
    TimeoutError => PyExc_TimeoutError, "`TimeoutError`.";
    TypeError => PyExc_TypeError, "`TypeError`.";
    UnicodeError => PyExc_UnicodeError, "`UnicodeError`.";
    ValueError => PyExc_ValueError, "`ValueError`.";
    ZeroDivisionError => PyExc_ZeroDivisionError, "`ZeroDivisionError`.";
}

impl ExceptionType {
    /// A custom class, given as a Python type object deriving from `BaseException`.
    ///
    /// # Errors
    /// `TypeError` if `class` is not an exception class.
    pub fn custom(class: &Object<'_, Any>) -> crate::Result<ExceptionType> {
        if raw::is(class, Check::ExceptionClass) {
            Ok(ExceptionType::Custom(std::sync::Arc::new(CustomClass {
                name: crate::err::capture::qualified_name(class),
                class: class.clone().unbind(),
            })))
        } else {
            Err(crate::Error::type_error(format!(
                "{} is not an exception class",
                crate::err::capture::type_name_of(class)
            )))
        }
    }
}

/// An exception class defined outside the builtins, with its qualified name.
pub struct CustomClass {
    pub(crate) class: Unbound<Any>,
    pub(crate) name: String,
}

impl fmt::Debug for ExceptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
