//! The type object of a class: created on first use, from the class's items.

use std::ffi::CString;
use std::sync::OnceLock;

use super::Class;
use crate::raw::types::{ClassSpec, ClassType};
use crate::types::Type;
use crate::{Error, Object, Python, Result};

/// The type object of a class, created on first use and kept for the life of the process.
pub struct LazyType<T> {
    cell: OnceLock<ClassType<T>>,
}

impl<T> Default for LazyType<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> LazyType<T> {
    /// Not created yet.
    pub const fn new() -> Self {
        LazyType {
            cell: OnceLock::new(),
        }
    }

    /// The class type, if created.
    pub(crate) fn created(&self) -> Option<&ClassType<T>> {
        self.cell.get()
    }
}

impl<T: Class> LazyType<T> {
    /// The type object, created now if needed.
    pub(crate) fn get_or_create<'py>(&'static self, py: Python<'py>) -> Result<Object<'py, Type>> {
        self.class_type(py, None).map(|t| t.get(py))
    }

    /// As [`LazyType::get_or_create`]; a type created now is named after `module` (the one it
    /// is being added to) unless the class declares its own.
    pub(crate) fn get_or_create_in<'py>(
        &'static self,
        py: Python<'py>,
        module: Option<&str>,
    ) -> Result<Object<'py, Type>> {
        self.class_type(py, module).map(|t| t.get(py))
    }

    /// The class type, created now if needed.
    ///
    /// Creation runs Python code (allocation may trigger the garbage collector, which may
    /// switch threads), so it is not done under a lock: two threads may both create a type,
    /// and the first one stored wins. No instance of the losing type is ever made.
    pub(crate) fn class_type(
        &'static self,
        py: Python<'_>,
        module: Option<&str>,
    ) -> Result<&'static ClassType<T>> {
        if let Some(t) = self.cell.get() {
            return Ok(t);
        }
        let created = create_type::<T>(py, module)?;
        let _ = self.cell.set(created);
        Ok(self.cell.get().expect("set above"))
    }
}

/// Creates the heap type of `T`, named `module.Name`: the module the class declares, else
/// `module` (the one it is being added to), else `builtins`. CPython 3.12+ warns
/// (`DeprecationWarning`) about a type whose name has no module.
fn create_type<T: Class>(py: Python<'_>, module: Option<&str>) -> Result<ClassType<T>> {
    let items = T::items();
    let leak = |s: String| -> Result<&'static std::ffi::CStr> {
        let c =
            CString::new(s).map_err(|_| Error::value_error("class name or doc has a NUL byte"))?;
        Ok(Box::leak(c.into_boxed_c_str()))
    };
    let module = T::MODULE.or(module).unwrap_or("builtins");
    let doc = match items.new {
        Some((_, sig)) => format!("{}{sig}\n--\n\n{}", T::NAME, T::DOC),
        None => T::DOC.to_owned(),
    };
    let spec = ClassSpec {
        name: leak(format!("{module}.{}", T::NAME))?,
        doc: if doc.is_empty() {
            None
        } else {
            Some(leak(doc)?)
        },
        methods: items.methods,
        getset: items.getset,
        new: items.new.map(|(slot, _)| slot),
        repr: items.repr,
        str: items.str,
    };
    ClassType::create(py, &spec)
}
