//! Runtime support for `#[derive(FromPython, IntoPython)]`: reading a struct's fields from a
//! dict or from an object's attributes, and reading enum variants from a `str` or a tagged
//! dict, with messages that name the Rust type and the field.

use crate::err::capture::type_name_of;
use crate::types::{Any, Dict, Str};
use crate::{Borrowed, Error, ExceptionType, FromPythonOwned, Object, PyErr, Python, Result};

/// Where a struct's fields are read from.
pub struct Fields<'py> {
    obj: Object<'py, Any>,
    dict: bool,
    type_name: &'static str,
}

impl<'py> Fields<'py> {
    /// The fields of `obj`: its items if it is a dict, its attributes otherwise.
    pub fn new(obj: Borrowed<'_, 'py, Any>, type_name: &'static str) -> Fields<'py> {
        Fields {
            dict: obj.is_instance_of::<Dict>(),
            obj: obj.to_owned(),
            type_name,
        }
    }

    /// The items of `obj`, which must be a dict.
    ///
    /// # Errors
    /// A `TypeError` if it is not a dict.
    pub fn dict(obj: Borrowed<'_, 'py, Any>, type_name: &'static str) -> Result<Fields<'py>> {
        if !obj.is_instance_of::<Dict>() {
            return Err(Error::type_error(format!(
                "cannot convert {} to {type_name}: expected dict",
                type_name_of(&obj)
            )));
        }
        Ok(Fields::new(obj, type_name))
    }

    fn get(&self, key: &str) -> Result<Option<Object<'py, Any>>> {
        if self.dict {
            self.obj.downcast::<Dict>()?.get_item(key)
        } else {
            self.obj.getattr_opt(key)
        }
    }

    fn convert<T: FromPythonOwned<'py>>(&self, key: &str, value: Object<'py, Any>) -> Result<T> {
        value.extract::<T>().map_err(|e| {
            crate::err::prefix_error(self.obj.py(), e, &format!("{}.{key}: ", self.type_name))
        })
    }

    /// A field that must be present.
    ///
    /// # Errors
    /// A `TypeError` naming the key or attribute when it is missing; the conversion error,
    /// prefixed with `Type.field: `, when it has the wrong type.
    pub fn required<T: FromPythonOwned<'py>>(&self, key: &str) -> Result<T> {
        match self.get(key)? {
            Some(v) => self.convert(key, v),
            None => Err(self.missing(key)),
        }
    }

    /// A field that takes `default()` when missing.
    ///
    /// # Errors
    /// As [`Fields::required`] for a present field.
    pub fn with_default<T: FromPythonOwned<'py>>(
        &self,
        key: &str,
        default: impl FnOnce() -> T,
    ) -> Result<T> {
        match self.get(key)? {
            Some(v) => self.convert(key, v),
            None => Ok(default()),
        }
    }

    #[cold]
    fn missing(&self, key: &str) -> Error {
        Error::type_error(format!(
            "cannot convert {} to {}: missing {} '{key}'",
            type_name_of(&self.obj),
            self.type_name,
            if self.dict { "key" } else { "attribute" }
        ))
    }
}

/// Reads the tag of a tagged dict: the dict's fields and the variant name under `tag`.
///
/// # Errors
/// A `TypeError` when `obj` is not a dict or lacks the tag, or the tag is not a `str`.
pub fn tagged<'py>(
    obj: Borrowed<'_, 'py, Any>,
    type_name: &'static str,
    tag: &str,
) -> Result<(Fields<'py>, String)> {
    let fields = Fields::dict(obj, type_name)?;
    let name: String = fields.required(tag)?;
    Ok((fields, name))
}

/// The name of a unit variant given as a `str`.
///
/// # Errors
/// The conversion error, prefixed with the type name.
pub fn variant_name<'a>(obj: Borrowed<'a, '_, Any>, type_name: &'static str) -> Result<&'a str> {
    <&'a str as crate::FromPython<'a, '_>>::from_python(obj)
        .map_err(|e| crate::err::prefix_error(obj.py(), e, &format!("{type_name}: ")))
}

/// A `ValueError` for a variant name that is not one of `expected`.
#[cold]
pub fn unknown_variant(type_name: &str, got: &str, expected: &[&str]) -> Error {
    let list: Vec<String> = expected.iter().map(|e| format!("'{e}'")).collect();
    Error::Python(PyErr::new(
        ExceptionType::ValueError,
        format!(
            "{type_name}: expected one of {}, got '{got}'",
            list.join(", ")
        ),
    ))
}

/// A dict for a struct or a tagged variant.
pub fn new_dict(py: Python<'_>) -> Object<'_, Dict> {
    Dict::new(py)
}

/// A `str` for a unit variant.
///
/// # Errors
/// `MemoryError`.
pub fn variant_str<'py>(py: Python<'py>, name: &str) -> Result<Object<'py, Any>> {
    Str::new(py, name).map(Object::into_any)
}
