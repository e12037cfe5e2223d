//! The type object of a class: created on first use in each interpreter, from the class's
//! items.

use std::ffi::CString;
use std::sync::OnceLock;

use super::Class;
use crate::raw::types::{ClassSpec, ClassType, TypeCell};
use crate::types::Type;
use crate::{Error, Object, Python, Result};

/// The type objects of a class, one per interpreter, each created on first use there.
pub struct LazyType<T> {
    cell: TypeCell<T>,
    /// The type's `module.Name` and docstring, made once and pointed to by the type of every
    /// interpreter (owned here, in a static, rather than leaked).
    texts: OnceLock<(CString, Option<CString>)>,
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
            cell: TypeCell::new(),
            texts: OnceLock::new(),
        }
    }
}

impl<T: Class> LazyType<T> {
    /// The class type of the current interpreter, if created.
    pub(crate) fn created<'py>(&'py self, py: Python<'py>) -> Option<ClassType<'py, T>> {
        self.cell.get(py)
    }

    /// The type object, created now if needed.
    pub(crate) fn get_or_create<'py>(&'static self, py: Python<'py>) -> Result<Object<'py, Type>> {
        self.class_type(py, None).map(ClassType::get)
    }

    /// As [`LazyType::get_or_create`]; a type created now is named after `module` (the one it
    /// is being added to) unless the class declares its own.
    pub(crate) fn get_or_create_in<'py>(
        &'static self,
        py: Python<'py>,
        module: Option<&str>,
    ) -> Result<Object<'py, Type>> {
        self.class_type(py, module).map(ClassType::get)
    }

    /// The class type of the current interpreter, created now if needed.
    ///
    /// Creation runs Python code (allocation may trigger the garbage collector, which may
    /// switch threads), so it is not done under a lock: two threads may both create a type,
    /// and the first one stored wins. No instance of the losing type is ever made.
    pub(crate) fn class_type<'py>(
        &'static self,
        py: Python<'py>,
        module: Option<&str>,
    ) -> Result<ClassType<'py, T>> {
        self.cell
            .get_or_create(py, || spec::<T>(&self.texts, module))
    }
}

/// The spec of `T`'s type, named `module.Name`: the module the class declares, else `module`
/// (the one it is being added to the first time), else `builtins`. CPython 3.12+ warns
/// (`DeprecationWarning`) about a type whose name has no module. The strings are made once,
/// in `texts`, and shared by the types of every interpreter.
fn spec<T: Class>(
    texts: &'static OnceLock<(CString, Option<CString>)>,
    module: Option<&str>,
) -> Result<ClassSpec> {
    let items = T::items();
    if texts.get().is_none() {
        let c = |s: String| {
            CString::new(s).map_err(|_| Error::value_error("class name or doc has a NUL byte"))
        };
        let module = T::MODULE.or(module).unwrap_or("builtins");
        let doc = match items.new {
            Some((_, sig)) => format!("{}{sig}\n--\n\n{}", T::NAME, T::DOC),
            None => T::DOC.to_owned(),
        };
        let doc = if doc.is_empty() { None } else { Some(c(doc)?) };
        // Another thread may have set it meanwhile: either value is the same text.
        let _ = texts.set((c(format!("{module}.{}", T::NAME))?, doc));
    }
    let (name, doc) = texts
        .get()
        .ok_or_else(|| Error::value_error("class texts were not set"))?;
    Ok(ClassSpec {
        name: name.as_c_str(),
        doc: doc.as_deref(),
        methods: items.methods,
        getset: items.getset,
        new: items.new.map(|(slot, _)| slot),
        repr: items.repr,
        str: items.str,
    })
}
