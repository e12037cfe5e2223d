//! Modules: import, create, reload.

use super::{Any, Dict, Module, Str};
use crate::conversion::IntoPython;
use crate::{Borrowed, Object, Python, Result, raw};

impl<'py> Python<'py> {
    /// `import name` (dotted names return the leaf module, like `importlib.import_module`).
    ///
    /// # Errors
    /// `ModuleNotFoundError`, or what the module raises while it runs.
    ///
    /// ```
    /// # pyhost::initialize_once().unwrap();
    /// pyhost::with_gil(|py| {
    ///     let path = py.import("os.path")?;
    ///     assert_eq!(path.name()?, "posixpath");
    ///     Ok(())
    /// })?;
    /// # Ok::<(), pyhost::Error>(())
    /// ```
    pub fn import(self, name: &str) -> Result<Object<'py, Module>> {
        raw::import(&Str::new(self, name)?)
    }
}

impl Module {
    /// A new, empty module named `name` (not added to `sys.modules`).
    ///
    /// # Errors
    /// `MemoryError`, or a name with a NUL byte.
    pub fn new<'py>(py: Python<'py>, name: &str) -> Result<Object<'py, Module>> {
        raw::module_new(&Str::new(py, name)?)
    }
}

impl<'py> Object<'py, Module> {
    /// `module.__name__`.
    ///
    /// # Errors
    /// If the module has no usable name.
    pub fn name(&self) -> Result<String> {
        self.getattr("__name__")?.extract()
    }

    /// `module.__file__`, if it has one.
    ///
    /// # Errors
    /// If `__file__` is not a string.
    pub fn filename(&self) -> Result<Option<String>> {
        match self.getattr_opt("__file__")? {
            Some(f) if !f.is_none() => Ok(Some(f.extract()?)),
            _ => Ok(None),
        }
    }

    /// The module's namespace (`module.__dict__`), borrowed.
    pub fn dict(&self) -> Borrowed<'_, 'py, Dict> {
        raw::module_dict(self)
    }

    /// Sets a module attribute (`module.name = value`).
    ///
    /// # Errors
    /// A conversion failure.
    pub fn add(&self, name: &str, value: impl IntoPython<'py>) -> Result<()> {
        self.setattr(name, value)
    }

    /// `importlib.reload(module)`: runs the module's code again and returns it.
    ///
    /// # Errors
    /// What the module raises while it runs again.
    pub fn reload(&self) -> Result<Object<'py, Module>> {
        raw::reload(self)
    }

    /// Adds the module to `sys.modules` under its name, so `import` finds it.
    ///
    /// # Errors
    /// If `sys.modules` cannot be updated.
    pub fn register(&self) -> Result<()> {
        let py = self.py();
        let modules: Object<'py, Any> = py.import("sys")?.getattr("modules")?;
        modules.set_item(self.name()?, self)
    }
}
